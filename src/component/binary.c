/*
 * The component decoder's frame: preamble, the section loop, nested
 * components, core modules, imports and exports, and the bookkeeping the
 * other binary*.c files share (errors, reads, allocation, scopes).
 * Binary.md "Component Definitions", "Import and Export Definitions".
 */
#include "component/binary_impl.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "wasm/decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    SEC_CUSTOM = 0,
    SEC_CORE_MODULE = 1,
    SEC_CORE_INSTANCE = 2,
    SEC_CORE_TYPE = 3,
    SEC_COMPONENT = 4,
    SEC_INSTANCE = 5,
    SEC_ALIAS = 6,
    SEC_TYPE = 7,
    SEC_CANON = 8,
    SEC_START = 9,
    SEC_IMPORT = 10,
    SEC_EXPORT = 11,
    SEC_VALUE = 12,
};

static const char *const sort_names[CBIN_SORTS] = {
    "core func",     "core table", "core memory", "core global", "core type", "core module",
    "core instance", "func",       "value",       "type",        "component", "instance",
};

const char *cbin_sort_name(unsigned sort)
{
    return sort < CBIN_SORTS ? sort_names[sort] : "?";
}

/* ---- errors ----------------------------------------------------------- */

int cdec_fail(struct cdec *d, int code, size_t at, const char *fmt, ...)
{
    char msg[SPRY_REPORT_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return spry_report_set(d->report, code, "%s at offset 0x%zx", msg, at);
}

int cdec_nomem(struct cdec *d)
{
    if (d->over_limit)
        return cdec_fail(d, SPRY_ETOOBIG, cdec_offset(d),
                         "decoded component exceeds its memory limit (%zu bytes)",
                         d->bin->arena.limit);
    return cdec_fail(d, SPRY_ENOMEM, cdec_offset(d), "out of memory decoding component");
}

/* ---- reads ------------------------------------------------------------ */

static int read_fail(struct cdec *d, int rc, size_t at)
{
    switch (rc) {
    case READER_TOO_LONG:
        return cdec_fail(d, SPRY_EMALFORMED, at, "integer representation too long");
    case READER_TOO_LARGE:
        return cdec_fail(d, SPRY_EMALFORMED, at, "integer too large");
    default:
        return cdec_fail(d, SPRY_EMALFORMED, (size_t)(d->r.end - d->base),
                         "unexpected end of section");
    }
}

int cdec_u8(struct cdec *d, uint8_t *out)
{
    *out = 0; /* also on failure: callers test rc first, but compilers cannot tell */
    int rc = reader_u8(&d->r, out);
    return rc == READER_OK ? 0 : read_fail(d, rc, cdec_offset(d));
}

int cdec_u32(struct cdec *d, uint32_t *out)
{
    *out = 0;
    size_t at = cdec_offset(d);
    int rc = reader_u32(&d->r, out);
    return rc == READER_OK ? 0 : read_fail(d, rc, at);
}

int cdec_count(struct cdec *d, uint32_t *out)
{
    size_t at = cdec_offset(d);
    uint32_t n;
    int rc = cdec_u32(d, &n);
    if (rc != 0)
        return rc;
    if (n > reader_left(&d->r))
        return cdec_fail(d, SPRY_EMALFORMED, at, "count %u exceeds the %zu bytes left", n,
                         reader_left(&d->r));
    if (n > CBIN_MAX_COUNT)
        return cdec_fail(d, SPRY_ETOOBIG, at, "count %u exceeds the limit of %u", n,
                         (unsigned)CBIN_MAX_COUNT);
    *out = n;
    return 0;
}

int cdec_name(struct cdec *d, const char **out, uint32_t *len)
{
    size_t at = cdec_offset(d);
    uint32_t n;
    const uint8_t *bytes;
    int rc = cdec_count(d, &n);
    if (rc != 0)
        return rc;
    rc = reader_bytes(&d->r, n, &bytes);
    if (rc != READER_OK)
        return read_fail(d, rc, at);
    if (!decode_utf8_valid(bytes, n))
        return cdec_fail(d, SPRY_EMALFORMED, at, "malformed UTF-8 encoding");
    if (memchr(bytes, 0, n) != NULL)
        return cdec_fail(d, SPRY_EINVALID, at, "name contains a NUL character");
    char *copy = cdec_alloc(d, (size_t)n + 1);
    if (copy == NULL)
        return cdec_nomem(d);
    memcpy(copy, bytes, n);
    *out = copy;
    *len = n;
    return 0;
}

int cdec_sort(struct cdec *d, uint8_t *out)
{
    size_t at = cdec_offset(d);
    uint8_t b;
    int rc = cdec_u8(d, &b);
    if (rc != 0)
        return rc;
    switch (b) {
    case 0x00:
        return cdec_core_sort(d, out);
    case 0x01:
        *out = CBIN_FUNC;
        return 0;
    case 0x02:
        return cdec_fail(d, SPRY_EUNSUPPORTED, at, "the value sort is not supported");
    case 0x03:
        *out = CBIN_TYPE;
        return 0;
    case 0x04:
        *out = CBIN_COMPONENT;
        return 0;
    case 0x05:
        *out = CBIN_INSTANCE;
        return 0;
    default:
        return cdec_fail(d, SPRY_EMALFORMED, at, "invalid sort 0x%02x", b);
    }
}

int cdec_core_sort(struct cdec *d, uint8_t *out)
{
    size_t at = cdec_offset(d);
    uint8_t b;
    int rc = cdec_u8(d, &b);
    if (rc != 0)
        return rc;
    switch (b) {
    case 0x00:
        *out = CBIN_CORE_FUNC;
        return 0;
    case 0x01:
        *out = CBIN_CORE_TABLE;
        return 0;
    case 0x02:
        *out = CBIN_CORE_MEMORY;
        return 0;
    case 0x03:
        *out = CBIN_CORE_GLOBAL;
        return 0;
    case 0x04:
        return cdec_fail(d, SPRY_EUNSUPPORTED, at, "core tags are not supported");
    case 0x10:
        *out = CBIN_CORE_TYPE;
        return 0;
    case 0x11:
        *out = CBIN_CORE_MODULE;
        return 0;
    case 0x12:
        *out = CBIN_CORE_INSTANCE;
        return 0;
    default:
        return cdec_fail(d, SPRY_EMALFORMED, at, "invalid core sort 0x%02x", b);
    }
}

/* ---- allocation ------------------------------------------------------- */

void *cdec_alloc(struct cdec *d, size_t size)
{
    struct spry_arena *a = &d->bin->arena;
    size_t used;
    if (size == 0)
        size = 1; /* an empty vector's array is not NULL either */
    d->over_limit = spry_add_overflow(a->used, size, &used) || used > a->limit;
    return d->over_limit ? NULL : spry_arena_alloc(a, size);
}

void *cdec_alloc_array(struct cdec *d, size_t count, size_t size)
{
    size_t total;
    if (spry_mul_overflow(count, size, &total)) {
        d->over_limit = true;
        return NULL;
    }
    return cdec_alloc(d, total);
}

int cdec_push(struct cdec *d, struct cvec *v, size_t size, void **out)
{
    if (v->n == v->cap) {
        if (v->n >= CBIN_MAX_COUNT)
            return cdec_fail(d, SPRY_ETOOBIG, cdec_offset(d), "more than %u entries in a list",
                             (unsigned)CBIN_MAX_COUNT);
        uint32_t cap = v->cap == 0 ? 8 : v->cap * 2;
        void *p = cdec_alloc_array(d, cap, size);
        if (p == NULL)
            return cdec_nomem(d);
        if (v->n > 0)
            memcpy(p, v->p, (size_t)v->n * size);
        v->p = p;
        v->cap = cap;
    }
    *out = (char *)v->p + (size_t)v->n * size;
    v->n++;
    return 0;
}

int cdec_push_u32(struct cdec *d, struct cvec *v, uint32_t value)
{
    uint32_t *slot;
    int rc = cdec_push(d, v, sizeof *slot, (void **)&slot);
    if (rc == 0)
        *slot = value;
    return rc;
}

int cdec_work(struct cdec *d, uint64_t units)
{
    d->work += units;
    if (d->work > d->max_work)
        return cdec_fail(d, SPRY_ETOOBIG, cdec_offset(d),
                         "type checking needs more than %llu steps",
                         (unsigned long long)d->max_work);
    return 0;
}

static const struct cscope *component_scope(const struct cscope *s)
{
    while (s != NULL && s->kind != SCOPE_COMPONENT)
        s = s->outer;
    return s;
}

int cdec_resource_new(struct cdec *d, uint8_t kind, const char *name, uint32_t index, uint32_t *out)
{
    if (d->resources.n >= CBIN_MAX_RESOURCES)
        return cdec_fail(d, SPRY_ETOOBIG, cdec_offset(d), "more than %u resource types",
                         (unsigned)CBIN_MAX_RESOURCES);
    struct cbin_resource *res;
    int rc = cdec_push(d, &d->resources, sizeof *res, (void **)&res);
    if (rc != 0)
        return rc;
    const struct cscope *cs = component_scope(d->scope);
    res->kind = kind;
    res->owner = cs != NULL ? cs->comp->serial : 0;
    res->index = index;
    res->name = name;
    res->named = kind != CBIN_RES_DEFINED && kind != CBIN_RES_INSTANCE;
    *out = d->resources.n - 1;
    return 0;
}

int cdec_def(struct cdec *d, uint8_t op, uint8_t sort, uint32_t index, size_t offset,
             struct cbin_def **out)
{
    SPRY_ASSERT(d->scope->kind == SCOPE_COMPONENT);
    struct cbin_def *def;
    int rc = cdec_push(d, &d->scope->defs, sizeof *def, (void **)&def);
    if (rc != 0)
        return rc;
    def->op = op;
    def->sort = sort;
    def->index = index;
    def->offset = (uint32_t)offset;
    if (out != NULL)
        *out = def;
    return 0;
}

struct cscope *cdec_scope_out(struct cdec *d, uint32_t count)
{
    struct cscope *s = d->scope;
    while (s != NULL && count > 0) {
        s = s->outer;
        count--;
    }
    return s;
}

uint32_t cdec_space_count(const struct cscope *s, uint8_t sort)
{
    switch (sort) {
    case CBIN_CORE_FUNC:
        return s->core_funcs.n;
    case CBIN_CORE_TABLE:
        return s->core_tables.n;
    case CBIN_CORE_MEMORY:
        return s->core_memories.n;
    case CBIN_CORE_GLOBAL:
        return s->core_globals.n;
    case CBIN_CORE_TYPE:
        return s->core_types.n;
    case CBIN_CORE_MODULE:
        return s->core_modules.n;
    case CBIN_CORE_INSTANCE:
        return s->core_instances.n;
    case CBIN_FUNC:
        return s->funcs.n;
    case CBIN_TYPE:
        return s->types.n;
    case CBIN_COMPONENT:
        return s->components.n;
    case CBIN_INSTANCE:
        return s->instances.n;
    default:
        return 0;
    }
}

/* ---- lookups ---------------------------------------------------------- */

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return alen < blen ? -1 : 1;
    return memcmp(a, b, alen);
}

const struct cbin_extern *cbin_externs_find(const struct cbin_externs *list, const char *name,
                                            size_t len)
{
    uint32_t lo = 0, hi = list->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const struct cbin_extern *e = &list->v[list->by_name[mid]];
        int c = name_cmp(e->name, e->name_len, name, len);
        if (c == 0)
            return e;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct spry_externtype *cbin_coreexterns_find(const struct cbin_coreexterns *list,
                                                    const char *name, size_t len)
{
    uint32_t lo = 0, hi = list->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const struct spry_externtype *e = &list->v[list->by_name[mid]];
        int c = name_cmp(e->name, e->name_len, name, len);
        if (c == 0)
            return e;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- index spaces ------------------------------------------------------ */

int cdec_space_add(struct cdec *d, struct cscope *s, const struct cbin_extern *e, uint32_t *index)
{
    int rc;
    *index = cdec_space_count(s, e->sort);
    switch (e->sort) {
    case CBIN_FUNC: {
        const struct cfunctype **slot;
        rc = cdec_push(d, &s->funcs, sizeof *slot, (void **)&slot);
        if (rc == 0)
            *slot = e->type.u.func;
        return rc;
    }
    case CBIN_TYPE: {
        struct cbin_type *slot;
        rc = cdec_push(d, &s->types, sizeof *slot, (void **)&slot);
        if (rc == 0)
            *slot = e->type;
        return rc;
    }
    case CBIN_INSTANCE: {
        const struct cbin_insttype **slot;
        rc = cdec_push(d, &s->instances, sizeof *slot, (void **)&slot);
        if (rc == 0)
            *slot = e->type.u.instance;
        return rc;
    }
    case CBIN_COMPONENT: {
        struct cbin_componentref *slot;
        rc = cdec_push(d, &s->components, sizeof *slot, (void **)&slot);
        if (rc == 0)
            slot->type = e->type.u.component;
        return rc;
    }
    case CBIN_CORE_MODULE: {
        struct cbin_module *slot;
        rc = cdec_push(d, &s->core_modules, sizeof *slot, (void **)&slot);
        if (rc == 0)
            slot->type = e->module;
        return rc;
    }
    default:
        SPRY_ASSERT(!"cdec_space_add: sort");
        return SPRY_EINVAL;
    }
}

/* ---- sections: core modules ------------------------------------------- */

/* Builds the type of a loaded module from its imports and exports. */
static int module_type(struct cdec *d, const struct spry_module *m, size_t at,
                       const struct cbin_moduletype **out)
{
    *out = NULL;
    struct cbin_moduletype *t = cdec_alloc(d, sizeof *t);
    if (t == NULL)
        return cdec_nomem(d);
    size_t ni = spry_module_import_count(m), ne = spry_module_export_count(m);
    struct spry_externtype *imports = cdec_alloc_array(d, ni, sizeof *imports);
    struct spry_externtype *exports = cdec_alloc_array(d, ne, sizeof *exports);
    if ((imports == NULL && ni > 0) || (exports == NULL && ne > 0))
        return cdec_nomem(d);
    for (size_t i = 0; i < ni; i++)
        spry_module_import(m, i, &imports[i]);
    for (size_t i = 0; i < ne; i++)
        spry_module_export(m, i, &exports[i]);
    t->imports.n = (uint32_t)ni;
    t->imports.v = imports;
    t->exports.n = (uint32_t)ne;
    t->exports.v = exports;
    int rc = cnames_index_coreexterns(d, &t->exports, at, "core module export");
    if (rc != 0)
        return rc;
    *out = t;
    return 0;
}

static int core_module_section(struct cdec *d, size_t at)
{
    struct cscope *s = d->scope;
    const uint8_t *bytes = d->r.pos;
    size_t size = reader_left(&d->r);
    struct spry_module_options opts = {.max_bytes = d->len};
    struct spry_report mrep;
    spry_report_init(&mrep);
    struct spry_module *m = NULL;
    int rc = spry_module_load(bytes, size, &opts, &m, &mrep);
    if (rc != 0)
        return spry_report_set(d->report, rc, "%s (in the core module at offset 0x%zx)",
                               mrep.message, at);
    struct spry_module **owned;
    rc = cdec_push(d, &d->modules, sizeof *owned, (void **)&owned);
    if (rc != 0) {
        spry_module_destroy(m);
        return rc;
    }
    *owned = m;
    d->r.pos = d->r.end;

    const struct cbin_moduletype *type;
    rc = module_type(d, m, at, &type);
    if (rc != 0)
        return rc;
    struct cbin_module *def, *slot;
    rc = cdec_push(d, &s->modules_defined, sizeof *def, (void **)&def);
    if (rc != 0)
        return rc;
    def->module = m;
    def->type = type;
    uint32_t index = s->core_modules.n;
    rc = cdec_push(d, &s->core_modules, sizeof *slot, (void **)&slot);
    if (rc != 0)
        return rc;
    *slot = *def;
    struct cbin_def *cd;
    rc = cdec_def(d, CBIN_OP_CORE_MODULE, CBIN_CORE_MODULE, index, at, &cd);
    if (rc == 0)
        cd->u.index = s->modules_defined.n - 1;
    return rc;
}

/* ---- sections: nested components -------------------------------------- */

static int component_section(struct cdec *d, size_t at)
{
    struct cscope *s = d->scope;
    if (d->nesting >= CBIN_MAX_NESTING)
        return cdec_fail(d, SPRY_ETOOBIG, at, "components nested deeper than %u",
                         (unsigned)CBIN_MAX_NESTING);
    d->nesting++;
    struct cbin_component *child = NULL;
    int rc = cdec_component(d, (size_t)(d->r.end - d->base), &child);
    d->nesting--;
    if (rc != 0)
        return rc;
    struct cbin_component **cslot;
    rc = cdec_push(d, &s->children, sizeof *cslot, (void **)&cslot);
    if (rc != 0)
        return rc;
    *cslot = child;
    struct cbin_componentref *slot;
    uint32_t index = s->components.n;
    rc = cdec_push(d, &s->components, sizeof *slot, (void **)&slot);
    if (rc != 0)
        return rc;
    slot->def = child;
    slot->type = child->type;
    struct cbin_def *cd;
    rc = cdec_def(d, CBIN_OP_COMPONENT, CBIN_COMPONENT, index, at, &cd);
    if (rc == 0)
        cd->u.index = s->children.n - 1;
    return rc;
}

/* ---- sections: imports and exports ------------------------------------ */

static int import_section(struct cdec *d)
{
    struct cscope *s = d->scope;
    uint32_t n;
    int rc = cdec_count(d, &n);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        size_t at = cdec_offset(d);
        struct cbin_import *imp;
        struct cbin_extern e = {0};
        rc = cnames_read_extern_name(d, &e);
        if (rc == 0)
            rc = cnames_add_unique(d, &s->import_names, at, e.name, e.name_len, "import");
        if (rc == 0)
            rc = ctypes_externtype(d, &e, CBIN_RES_IMPORTED, s->imports.n, &s->bound_imports);
        if (rc == 0 && e.sort == CBIN_TYPE && e.type.kind == CBIN_T_RESOURCE)
            cdec_resource(d, e.type.u.resource)->name = e.name;
        if (rc == 0)
            rc = cnames_check_annotation(d, at, s, &e);
        if (rc == 0)
            rc = cnames_note_resource(d, s, &e);
        if (rc == 0)
            rc = cdec_push(d, &s->imports, sizeof *imp, (void **)&imp);
        if (rc != 0)
            return rc;
        imp->ext = e;
        rc = cdec_space_add(d, s, &e, &imp->index);
        struct cbin_def *cd;
        if (rc == 0)
            rc = cdec_def(d, CBIN_OP_IMPORT, e.sort, imp->index, at, &cd);
        if (rc == 0)
            cd->u.index = s->imports.n - 1;
    }
    return rc;
}

struct visible_ctx {
    size_t at;
    const char *name;
};

/* An exported type may only use resources that are imported or exported by
 * name (Explainer.md "External Visibility of Types"). */
static int check_visible(struct cdec *d, uint32_t id, void *arg)
{
    const struct visible_ctx *v = arg;
    const struct cbin_resource *res = cdec_resource(d, id);
    if (res->named)
        return 0;
    return cdec_fail(d, SPRY_EINVALID, v->at,
                     "export \"%s\" uses resource type %u, which is neither imported nor "
                     "exported",
                     v->name, id);
}

/* An exported instance names the resources it exports as types (and so do
 * the instances it exports): its own functions may use them. */
static void name_instance_resources(struct cdec *d, const struct cbin_insttype *t)
{
    for (uint32_t i = 0; i < t->exports.n; i++) {
        const struct cbin_extern *x = &t->exports.v[i];
        if (x->sort == CBIN_TYPE && x->type.kind == CBIN_T_RESOURCE)
            cdec_resource(d, x->type.u.resource)->named = true;
        else if (x->sort == CBIN_INSTANCE)
            name_instance_resources(d, x->type.u.instance);
    }
}

/* The component type a parent sees: exported DEFINED and INSTANCE resources
 * become abstract (fresh per instance). */
static int collect_bound_export(struct cdec *d, uint32_t id, void *arg)
{
    struct cvec *bound = arg;
    uint8_t kind = cdec_resource(d, id)->kind;
    if (kind != CBIN_RES_DEFINED && kind != CBIN_RES_INSTANCE)
        return 0;
    const uint32_t *v = bound->p;
    for (uint32_t i = 0; i < bound->n; i++)
        if (v[i] == id)
            return 0;
    return cdec_push_u32(d, bound, id);
}

static int export_section(struct cdec *d)
{
    struct cscope *s = d->scope;
    uint32_t n;
    int rc = cdec_count(d, &n);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        size_t at = cdec_offset(d);
        struct cbin_extern e = {0}, inferred = {0};
        uint8_t sort, has_type;
        uint32_t item;
        struct cbin_export *exp;
        rc = cnames_read_extern_name(d, &e);
        if (rc == 0)
            rc = cnames_add_unique(d, &s->export_names, at, e.name, e.name_len, "export");
        size_t sort_at = cdec_offset(d);
        if (rc == 0)
            rc = cdec_sort(d, &sort);
        if (rc == 0)
            rc = cdec_u32(d, &item);
        if (rc != 0)
            return rc;
        if (sort < CBIN_FUNC && sort != CBIN_CORE_MODULE)
            return cdec_fail(d, SPRY_EINVALID, sort_at, "a component cannot export a %s",
                             cbin_sort_name(sort));
        if (item >= cdec_space_count(s, sort))
            return cdec_fail(d, SPRY_EINVALID, sort_at, "%s index %u out of range (%u defined)",
                             cbin_sort_name(sort), item, cdec_space_count(s, sort));
        rc = cdec_item_extern(d, s, sort, item, &inferred);
        size_t type_at = cdec_offset(d);
        if (rc == 0)
            rc = cdec_u8(d, &has_type);
        if (rc != 0)
            return rc;
        if (has_type == 0x01) {
            struct cvec bound = {0};
            struct cmap map = {0};
            rc = ctypes_externtype(d, &e, CBIN_RES_ABSTRACT, 0, &bound);
            if (rc == 0 && e.sort != sort)
                rc = cdec_fail(d, SPRY_EINVALID, type_at,
                               "export \"%s\": ascribed type is a %s, the item a %s", e.name,
                               cbin_sort_name(e.sort), cbin_sort_name(sort));
            if (rc == 0)
                rc = cmatch_extern(d, type_at, &e, &inferred, &map, "export");
            if (rc == 0 && e.sort != CBIN_CORE_MODULE)
                rc = csubst_type(d, &map, &e.type, &e.type);
            if (rc == 0)
                rc = cconcrete_extern(d, &e);
            cmap_fini(&map);
            if (rc != 0)
                return rc;
        } else if (has_type == 0x00) {
            e.sort = inferred.sort;
            e.type = inferred.type;
            e.module = inferred.module;
        } else {
            return cdec_fail(d, SPRY_EMALFORMED, type_at, "invalid export type flag 0x%02x",
                             has_type);
        }
        struct visible_ctx vis = {at, e.name};
        rc = cnames_note_resource(d, s, &e);
        if (rc == 0 && e.sort == CBIN_INSTANCE)
            name_instance_resources(d, e.type.u.instance);
        if (rc == 0)
            rc = cwalk_resources(d, &e, check_visible, &vis);
        if (rc == 0)
            rc = cnames_check_annotation(d, at, s, &e);
        if (rc == 0)
            rc = cwalk_resources(d, &e, collect_bound_export, &s->bound_exports);
        if (rc == 0)
            rc = cdec_push(d, &s->exports, sizeof *exp, (void **)&exp);
        if (rc != 0)
            return rc;
        exp->ext = e;
        exp->item = item;
        rc = cdec_space_add(d, s, &e, &exp->index);
        struct cbin_def *cd;
        if (rc == 0)
            rc = cdec_def(d, CBIN_OP_EXPORT, e.sort, exp->index, at, &cd);
        if (rc == 0)
            cd->u.index = s->exports.n - 1;
    }
    return rc;
}

/* ---- components ------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Publishes a finished component scope's vectors into its struct. */
static int component_finish(struct cdec *d, struct cscope *s, size_t at)
{
    struct cbin_component *c = s->comp;
#define PUBLISH(field, vec)     \
    do {                        \
        c->field = s->vec.p;    \
        c->n##field = s->vec.n; \
    } while (0)
    PUBLISH(defs, defs);
    PUBLISH(imports, imports);
    PUBLISH(exports, exports);
    PUBLISH(children, children);
    PUBLISH(modules_defined, modules_defined);
    PUBLISH(core_funcs, core_funcs);
    PUBLISH(core_tables, core_tables);
    PUBLISH(core_memories, core_memories);
    PUBLISH(core_globals, core_globals);
    PUBLISH(core_types, core_types);
    PUBLISH(core_modules, core_modules);
    PUBLISH(core_instances, core_instances);
    PUBLISH(funcs, funcs);
    PUBLISH(types, types);
    PUBLISH(instances, instances);
    PUBLISH(components, components);
#undef PUBLISH

    /* The parent sees the imported resources and the exported defined or
     * instance resources as abstract: fresh ids, bound by the type. */
    struct cmap map = {0};
    struct cvec bimp = {0}, bexp = {0};
    int rc = 0;
    if (s->bound_exports.n > 1)
        qsort(s->bound_exports.p, s->bound_exports.n, sizeof(uint32_t), cmp_u32);
    for (uint32_t pass = 0; pass < 2 && rc == 0; pass++) {
        const struct cvec *from = pass == 0 ? &s->bound_imports : &s->bound_exports;
        struct cvec *to = pass == 0 ? &bimp : &bexp;
        for (uint32_t i = 0; rc == 0 && i < from->n; i++) {
            uint32_t old = ((const uint32_t *)from->p)[i], id;
            rc = cdec_resource_new(d, CBIN_RES_ABSTRACT, cdec_resource(d, old)->name, 0, &id);
            if (rc == 0)
                rc = cmap_put(d, &map, old, id);
            if (rc == 0)
                rc = cdec_push_u32(d, to, id);
        }
    }
    struct cbin_comptype *t = cdec_alloc(d, sizeof *t);
    struct cbin_extern *imports = cdec_alloc_array(d, c->nimports, sizeof *imports);
    struct cbin_extern *exports = cdec_alloc_array(d, c->nexports, sizeof *exports);
    if (rc == 0 &&
        (t == NULL || (imports == NULL && c->nimports > 0) || (exports == NULL && c->nexports > 0)))
        rc = cdec_nomem(d);
    for (uint32_t i = 0; rc == 0 && i < c->nimports; i++) {
        imports[i] = c->imports[i].ext;
        if (imports[i].sort != CBIN_CORE_MODULE)
            rc = csubst_type(d, &map, &imports[i].type, &imports[i].type);
    }
    for (uint32_t i = 0; rc == 0 && i < c->nexports; i++) {
        exports[i] = c->exports[i].ext;
        if (exports[i].sort != CBIN_CORE_MODULE)
            rc = csubst_type(d, &map, &exports[i].type, &exports[i].type);
    }
    cmap_fini(&map);
    if (rc != 0)
        return rc;
    t->imports.n = c->nimports;
    t->imports.v = imports;
    t->exports.n = c->nexports;
    t->exports.v = exports;
    rc = cnames_index_externs(d, &t->imports);
    if (rc == 0)
        rc = cnames_index_externs(d, &t->exports);
    if (rc == SPRY_EINVALID) /* cannot happen: names were checked strongly unique */
        return cdec_fail(d, SPRY_EINVALID, at, "component has duplicate import or export names");
    if (rc != 0)
        return rc;
    t->nbound_imports = bimp.n;
    t->bound_imports = bimp.p;
    t->nbound_exports = bexp.n;
    t->bound_exports = bexp.p;
    c->type = t;
    return 0;
}

static int custom_section(struct cdec *d)
{
    const char *name;
    uint32_t len;
    int rc = cdec_name(d, &name, &len);
    if (rc == 0)
        d->r.pos = d->r.end; /* "component-name" and the rest: not needed */
    return rc;
}

static int section(struct cdec *d, uint8_t id, size_t at)
{
    switch (id) {
    case SEC_CUSTOM:
        return custom_section(d);
    case SEC_CORE_MODULE:
        return core_module_section(d, at);
    case SEC_CORE_INSTANCE:
        return cinst_core_section(d);
    case SEC_CORE_TYPE:
        return ctypes_core_section(d);
    case SEC_COMPONENT:
        return component_section(d, at);
    case SEC_INSTANCE:
        return cinst_section(d);
    case SEC_ALIAS:
        return calias_section(d);
    case SEC_TYPE:
        return ctypes_section(d);
    case SEC_CANON:
        return ccanon_section(d);
    case SEC_START:
        return cdec_fail(d, SPRY_EUNSUPPORTED, at,
                         "start sections are not supported (component values are gated)");
    case SEC_IMPORT:
        return import_section(d);
    case SEC_EXPORT:
        return export_section(d);
    case SEC_VALUE:
        return cdec_fail(d, SPRY_EUNSUPPORTED, at,
                         "value sections are not supported (component values are gated)");
    default:
        return cdec_fail(d, SPRY_EMALFORMED, at, "unknown section id %u", id);
    }
}

static int preamble(struct cdec *d, size_t at)
{
    const uint8_t *p;
    if (reader_bytes(&d->r, 8, &p) != READER_OK)
        return cdec_fail(d, SPRY_EMALFORMED, at, "unexpected end (component preamble)");
    if (memcmp(p, "\0asm", 4) != 0)
        return cdec_fail(d, SPRY_EMALFORMED, at, "magic header not detected");
    unsigned version = p[4] | (unsigned)p[5] << 8, layer = p[6] | (unsigned)p[7] << 8;
    if (layer == 0)
        return cdec_fail(d, SPRY_EMALFORMED, at + 6,
                         "a core module (layer 0) where a component was expected");
    if (layer != 1)
        return cdec_fail(d, SPRY_EMALFORMED, at + 6, "unknown binary layer %u", layer);
    if (version != 0x0d)
        return cdec_fail(d, SPRY_EUNSUPPORTED, at + 4,
                         "component binary version 0x%x (Spry reads version 0xd)", version);
    return 0;
}

int cdec_component(struct cdec *d, size_t end, struct cbin_component **out)
{
    size_t at = cdec_offset(d);
    const uint8_t *saved_end = d->r.end;
    d->r.end = d->base + end;
    int rc = preamble(d, at);
    struct cbin_component *c = NULL;
    struct cscope *s = NULL;
    struct cbin_component **slot;
    if (rc == 0) {
        c = cdec_alloc(d, sizeof *c);
        s = cdec_alloc(d, sizeof *s);
        if (c == NULL || s == NULL)
            rc = cdec_nomem(d);
    }
    if (rc == 0)
        rc = cdec_push(d, &d->components, sizeof *slot, (void **)&slot);
    if (rc != 0)
        return rc;
    *slot = c;
    c->serial = d->components.n - 1;
    c->offset = (uint32_t)at;
    const struct cscope *parent = component_scope(d->scope);
    c->parent = parent != NULL ? parent->comp : NULL;
    s->kind = SCOPE_COMPONENT;
    s->comp = c;
    s->outer = d->scope;
    d->scope = s;

    while (rc == 0 && d->r.pos < d->r.end) {
        size_t sec_at = cdec_offset(d);
        uint8_t id;
        uint32_t size;
        rc = cdec_u8(d, &id);
        if (rc == 0)
            rc = cdec_u32(d, &size);
        if (rc != 0)
            break;
        if (size > reader_left(&d->r)) {
            rc = cdec_fail(d, SPRY_EMALFORMED, sec_at, "section size out of bounds");
            break;
        }
        const uint8_t *component_end = d->r.end;
        d->r.end = d->r.pos + size;
        rc = section(d, id, sec_at);
        if (rc == 0 && d->r.pos != d->r.end)
            rc = cdec_fail(d, SPRY_EMALFORMED, cdec_offset(d), "section size mismatch");
        d->r.end = component_end;
    }
    if (rc == 0)
        rc = component_finish(d, s, at);
    d->scope = s->outer;
    d->r.end = saved_end;
    if (rc == 0)
        *out = c;
    return rc;
}

/* ---- the API ------------------------------------------------------------ */

bool cbin_is_component(const uint8_t *bytes, size_t len)
{
    return len >= 8 && memcmp(bytes, "\0asm", 4) == 0 && bytes[6] == 1 && bytes[7] == 0;
}

void cbin_destroy(struct cbin *bin)
{
    if (bin == NULL)
        return;
    for (uint32_t i = 0; i < bin->nmodules; i++)
        spry_module_destroy(bin->modules[i]);
    spry_arena_fini(&bin->arena);
    spry_free(bin);
}

enum {
    DEFAULT_MAX_BYTES = 1 << 30,
    DEFAULT_MAX_MEMORY = 256 << 20,
};

int cbin_decode(const uint8_t *bytes, size_t len, const struct cbin_limits *limits,
                struct cbin **out, struct spry_report *report)
{
    struct spry_report local;
    if (report == NULL) {
        spry_report_init(&local);
        report = &local;
    }
    size_t max_bytes =
        limits != NULL && limits->max_bytes != 0 ? limits->max_bytes : DEFAULT_MAX_BYTES;
    if (len > max_bytes || len > UINT32_MAX)
        return spry_report_set(report, SPRY_ETOOBIG,
                               "component of %zu bytes exceeds the limit of %zu bytes", len,
                               max_bytes);
    size_t max_memory = limits != NULL ? limits->max_memory : 0;
    if (max_memory == 0) {
        /* Decoded types take a few times their encoding; allow 16x. */
        max_memory = DEFAULT_MAX_MEMORY;
        if (len <= (SIZE_MAX - max_memory) / 16)
            max_memory += 16 * len;
    }
    struct cbin *bin = spry_calloc(1, sizeof *bin);
    if (bin == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory decoding component");
    spry_arena_init(&bin->arena, max_memory);

    struct cdec d = {
        .bin = bin,
        .report = report,
        .base = bytes,
        .len = len,
        .r = {.start = bytes, .pos = bytes, .end = bytes + len},
        .max_work = limits != NULL && limits->max_work != 0 ? limits->max_work : 50000000,
    };
    struct cbin_component *root = NULL;
    int rc = cdec_component(&d, len, &root);
    /* Modules are owned by bin from the moment they load. */
    bin->modules = d.modules.p;
    bin->nmodules = d.modules.n;
    if (rc != 0) {
        if (report->code == 0) /* every failure path reports; this is a backstop */
            spry_report_set(report, rc, "component decoding failed");
        cbin_destroy(bin);
        return rc;
    }
    bin->root = root;
    bin->components = d.components.p;
    bin->ncomponents = d.components.n;
    bin->resources = d.resources.p;
    bin->nresources = d.resources.n;
    *out = bin;
    return 0;
}

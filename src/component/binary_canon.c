/*
 * The definitions that wire a component together: canonical functions
 * (section 8; Binary.md "Canonical Definitions", CanonicalABI.md
 * "canonopt Validation", "canon lift", "canon lower", resource built-ins),
 * aliases (section 6), core instances (section 2) and component instances
 * (section 5).
 *
 * The flattening that lift and lower signatures are checked against is the
 * canonical ABI's own (layout.h, CanonicalABI.md "Flattening"), so the
 * decoder and the calls agree by construction.
 */
#include "component/binary_impl.h"

#include "base/assert.h"
#include "component/layout.h"

#include <stdio.h>
#include <string.h>

/* ---- index operands ------------------------------------------------------- */

static int index_in(struct cdec *d, uint8_t sort, uint32_t *out)
{
    size_t at = cdec_offset(d);
    int rc = cdec_u32(d, out);
    if (rc != 0)
        return rc;
    uint32_t n = cdec_space_count(d->scope, sort);
    if (*out >= n)
        return cdec_fail(d, SPRY_EINVALID, at, "%s index %u out of range (%u defined)",
                         cbin_sort_name(sort), *out, n);
    return 0;
}

static const struct spry_functype *core_func_type(const struct cscope *s, uint32_t i)
{
    return ((const struct spry_functype **)s->core_funcs.p)[i];
}

static int push_core_func(struct cdec *d, const struct spry_functype *t, uint32_t *index)
{
    const struct spry_functype **slot;
    *index = d->scope->core_funcs.n;
    int rc = cdec_push(d, &d->scope->core_funcs, sizeof *slot, (void **)&slot);
    if (rc == 0)
        *slot = t;
    return rc;
}

static void format_functype(char *buf, size_t size, const struct spry_functype *f)
{
    size_t n = 0;
    n += (size_t)snprintf(buf + n, size - n, "[");
    for (uint32_t i = 0; i < f->nparams && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s0x%02x", i ? " " : "", f->params[i]);
    if (n < size)
        n += (size_t)snprintf(buf + n, size - n, "] -> [");
    for (uint32_t i = 0; i < f->nresults && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s0x%02x", i ? " " : "", f->results[i]);
    if (n < size)
        snprintf(buf + n, size - n, "]");
}

static bool functype_eq(const struct spry_functype *a, const struct spry_functype *b)
{
    return a->nparams == b->nparams && a->nresults == b->nresults &&
           memcmp(a->params, b->params, a->nparams) == 0 &&
           memcmp(a->results, b->results, a->nresults) == 0;
}

/* ---- canon ------------------------------------------------------------------ */

static const uint8_t i32s[4] = {SPRY_I32, SPRY_I32, SPRY_I32, SPRY_I32};
static const struct spry_functype realloc_type = {4, 1, i32s, i32s};
static const struct spry_functype i32_to_i32 = {1, 1, i32s, i32s};
static const struct spry_functype i32_to_none = {1, 0, i32s, i32s};

/* canonopt* (Binary.md); lift tells whether post-return is allowed. */
static int canon_opts(struct cdec *d, bool lift, struct cbin_canon_opts *o)
{
    struct cscope *s = d->scope;
    uint32_t n;
    bool has_encoding = false;
    int rc = cdec_count(d, &n);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        size_t at = cdec_offset(d);
        uint8_t b;
        rc = cdec_u8(d, &b);
        if (rc != 0)
            return rc;
        switch (b) {
        case 0x00:
        case 0x01:
        case 0x02:
            if (has_encoding)
                return cdec_fail(d, SPRY_EINVALID, at, "more than one string-encoding option");
            has_encoding = true;
            o->encoding = b == 0x00 ? CBIN_UTF8 : b == 0x01 ? CBIN_UTF16 : CBIN_LATIN1_UTF16;
            break;
        case 0x03:
            if (o->has_memory)
                return cdec_fail(d, SPRY_EINVALID, at, "duplicate memory option");
            o->has_memory = true;
            rc = index_in(d, CBIN_CORE_MEMORY, &o->memory);
            break;
        case 0x04:
            if (o->has_realloc)
                return cdec_fail(d, SPRY_EINVALID, at, "duplicate realloc option");
            o->has_realloc = true;
            rc = index_in(d, CBIN_CORE_FUNC, &o->realloc);
            if (rc == 0 && !functype_eq(core_func_type(s, o->realloc), &realloc_type))
                return cdec_fail(d, SPRY_EINVALID, at,
                                 "realloc must have type (i32 i32 i32 i32) -> i32");
            break;
        case 0x05:
            if (!lift)
                return cdec_fail(d, SPRY_EINVALID, at, "post-return is only allowed on lift");
            if (o->has_post_return)
                return cdec_fail(d, SPRY_EINVALID, at, "duplicate post-return option");
            o->has_post_return = true;
            rc = index_in(d, CBIN_CORE_FUNC, &o->post_return);
            break;
        case 0x06:
        case 0x07:
            return cdec_fail(d, SPRY_EUNSUPPORTED, at,
                             "the async and callback canon options are not supported");
        case 0x08:
        case 0x09:
            return cdec_fail(d, SPRY_EUNSUPPORTED, at, "GC canon options are not supported");
        default:
            return cdec_fail(d, SPRY_EMALFORMED, at, "invalid canon option 0x%02x", b);
        }
    }
    if (rc == 0 && o->has_realloc && !o->has_memory)
        rc = cdec_fail(d, SPRY_EINVALID, cdec_offset(d),
                       "a realloc option requires a memory option");
    return rc;
}

/* Builds the flat core signature of `c` (layout_flatten_functype) and
 * checks the options the function type needs (CanonicalABI.md "canonopt
 * Validation", "canon lift", "canon lower"). */
static int canon_signature(struct cdec *d, size_t at, bool lift, struct cbin_canon *c)
{
    const struct cft *f = cft_of(c->type);
    int rc = cdec_work(d, f->size); /* flattening walks the types */
    if (rc != 0)
        return rc;
    struct layout_corefunc cf;
    layout_flatten_functype(c->type, lift ? LAYOUT_LIFT : LAYOUT_LOWER, &cf);
    bool params_mem = false;
    for (uint32_t i = 0; i < c->type->nparams; i++)
        params_mem |= (cvt_of(c->type->params[i].type)->flags & CVT_MEMORY) != 0;
    bool result_mem = c->type->result != NULL && (cvt_of(c->type->result)->flags & CVT_MEMORY);
    c->params_in_memory = cf.params_in_memory;
    c->results_in_memory = cf.results_in_memory;
    const char *what = lift ? "lift" : "lower";
    /* lift: arguments are written into the callee's memory (realloc) and
     * results read from it; lower: the reverse. */
    bool need_realloc = lift ? params_mem || cf.params_in_memory : result_mem;
    bool need_memory =
        need_realloc || params_mem || result_mem || cf.params_in_memory || cf.results_in_memory;
    if (need_memory && !c->opts.has_memory)
        return cdec_fail(d, SPRY_EINVALID, at, "canon %s needs a memory option for this type",
                         what);
    if (need_realloc && !c->opts.has_realloc)
        return cdec_fail(d, SPRY_EINVALID, at, "canon %s needs a realloc option for this type",
                         what);
    uint8_t *params = cdec_alloc(d, cf.nparams + 1), *results = cdec_alloc(d, cf.nresults + 1);
    if (params == NULL || results == NULL)
        return cdec_nomem(d);
    memcpy(params, cf.params, cf.nparams);
    memcpy(results, cf.results, cf.nresults);
    c->core = (struct spry_functype){cf.nparams, cf.nresults, params, results};
    return 0;
}

static int canon_lift(struct cdec *d, size_t at, struct cbin_canon *c)
{
    struct cscope *s = d->scope;
    size_t sort_at = cdec_offset(d);
    uint8_t b;
    int rc = cdec_u8(d, &b);
    if (rc == 0 && b != 0x00)
        return cdec_fail(d, SPRY_EMALFORMED, sort_at, "canon lift: invalid sort 0x%02x", b);
    size_t func_at = cdec_offset(d);
    if (rc == 0)
        rc = index_in(d, CBIN_CORE_FUNC, &c->func);
    if (rc == 0)
        rc = canon_opts(d, true, &c->opts);
    size_t type_at = cdec_offset(d);
    uint32_t ti;
    if (rc == 0)
        rc = index_in(d, CBIN_TYPE, &ti);
    if (rc != 0)
        return rc;
    const struct cbin_type *t = &((const struct cbin_type *)s->types.p)[ti];
    if (t->kind != CBIN_T_FUNC)
        return cdec_fail(d, SPRY_EINVALID, type_at, "canon lift: type %u is not a function type",
                         ti);
    c->type = t->u.func;
    rc = canon_signature(d, at, true, c);
    if (rc != 0)
        return rc;
    const struct spry_functype *callee = core_func_type(s, c->func);
    if (!functype_eq(callee, &c->core)) {
        char have[160], want[160];
        format_functype(have, sizeof have, callee);
        format_functype(want, sizeof want, &c->core);
        return cdec_fail(d, SPRY_EINVALID, func_at,
                         "canon lift: core func %u has type %s, the function type needs %s",
                         c->func, have, want);
    }
    if (c->opts.has_post_return) {
        const struct spry_functype *pr = core_func_type(s, c->opts.post_return);
        struct spry_functype want = {c->core.nresults, 0, c->core.results, c->core.results};
        if (!functype_eq(pr, &want)) {
            char have[160], need[160];
            format_functype(have, sizeof have, pr);
            format_functype(need, sizeof need, &want);
            return cdec_fail(d, SPRY_EINVALID, at,
                             "canon lift: post-return func %u has type %s, expected %s",
                             c->opts.post_return, have, need);
        }
    }
    const struct cfunctype **slot;
    uint32_t index = s->funcs.n;
    struct cbin_def *def;
    rc = cdec_push(d, &s->funcs, sizeof *slot, (void **)&slot);
    if (rc == 0) {
        *slot = c->type;
        rc = cdec_def(d, CBIN_OP_LIFT, CBIN_FUNC, index, at, &def);
    }
    if (rc == 0)
        def->u.canon = c;
    return rc;
}

static int canon_lower(struct cdec *d, size_t at, struct cbin_canon *c)
{
    struct cscope *s = d->scope;
    size_t sort_at = cdec_offset(d);
    uint8_t b;
    int rc = cdec_u8(d, &b);
    if (rc == 0 && b != 0x00)
        return cdec_fail(d, SPRY_EMALFORMED, sort_at, "canon lower: invalid sort 0x%02x", b);
    if (rc == 0)
        rc = index_in(d, CBIN_FUNC, &c->func);
    if (rc == 0)
        rc = canon_opts(d, false, &c->opts);
    if (rc != 0)
        return rc;
    c->type = ((const struct cfunctype **)s->funcs.p)[c->func];
    rc = canon_signature(d, at, false, c);
    uint32_t index;
    struct cbin_def *def;
    if (rc == 0)
        rc = push_core_func(d, &c->core, &index);
    if (rc == 0)
        rc = cdec_def(d, CBIN_OP_LOWER, CBIN_CORE_FUNC, index, at, &def);
    if (rc == 0)
        def->u.canon = c;
    return rc;
}

static int canon_resource(struct cdec *d, size_t at, uint8_t op)
{
    struct cscope *s = d->scope;
    size_t type_at = cdec_offset(d);
    uint32_t ti;
    int rc = index_in(d, CBIN_TYPE, &ti);
    if (rc != 0)
        return rc;
    const struct cbin_type *t = &((const struct cbin_type *)s->types.p)[ti];
    if (t->kind != CBIN_T_RESOURCE)
        return cdec_fail(d, SPRY_EINVALID, type_at, "type %u is not a resource type", ti);
    const struct cbin_resource *res = cdec_resource(d, t->u.resource);
    static const char *const names[] = {"resource.new", "resource.drop", "resource.rep"};
    uint8_t which = op == 0x02 ? 0 : op == 0x03 ? 1 : 2;
    if (which != 1 && (res->kind != CBIN_RES_DEFINED || res->owner != s->comp->serial))
        return cdec_fail(d, SPRY_EINVALID, type_at,
                         "%s: type %u is not a resource type defined by this component",
                         names[which], ti);
    uint32_t index;
    struct cbin_def *def;
    rc = push_core_func(d, which == 1 ? &i32_to_none : &i32_to_i32, &index);
    if (rc == 0)
        rc = cdec_def(d,
                      which == 0   ? CBIN_OP_RESOURCE_NEW
                      : which == 1 ? CBIN_OP_RESOURCE_DROP
                                   : CBIN_OP_RESOURCE_REP,
                      CBIN_CORE_FUNC, index, at, &def);
    if (rc == 0)
        def->u.index = t->u.resource;
    return rc;
}

int ccanon_section(struct cdec *d)
{
    uint32_t n;
    int rc = cdec_count(d, &n);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        size_t at = cdec_offset(d);
        uint8_t op;
        rc = cdec_u8(d, &op);
        if (rc != 0)
            break;
        if (op == 0x00 || op == 0x01) {
            struct cbin_canon *c = cdec_alloc(d, sizeof *c);
            if (c == NULL)
                return cdec_nomem(d);
            rc = op == 0x00 ? canon_lift(d, at, c) : canon_lower(d, at, c);
        } else if (op >= 0x02 && op <= 0x04) {
            rc = canon_resource(d, at, op);
        } else if ((op >= 0x05 && op <= 0x2d) || (op >= 0x40 && op <= 0x42)) {
            rc = cdec_fail(d, SPRY_EUNSUPPORTED, at,
                           "canon built-in 0x%02x (async, threads or error-context) is not "
                           "supported",
                           op);
        } else {
            rc = cdec_fail(d, SPRY_EMALFORMED, at, "invalid canon opcode 0x%02x", op);
        }
    }
    return rc;
}

/* ---- aliases --------------------------------------------------------------- */

static int no_free_resource(struct cdec *d, uint32_t id, void *arg)
{
    size_t at = *(const size_t *)arg;
    if (cdec_resource(d, id)->kind == CBIN_RES_ABSTRACT)
        return 0;
    return cdec_fail(d, SPRY_EINVALID, at,
                     "an outer alias cannot reach a type that refers to a resource across a "
                     "component");
}

static int alias_outer(struct cdec *d, size_t at, bool in_type, uint8_t sort)
{
    struct cscope *s = d->scope;
    if (in_type ? sort != CBIN_CORE_TYPE && sort != CBIN_TYPE
                : sort != CBIN_CORE_TYPE && sort != CBIN_TYPE && sort != CBIN_CORE_MODULE &&
                      sort != CBIN_COMPONENT)
        return cdec_fail(d, SPRY_EINVALID, at, "outer aliases of a %s are not allowed here",
                         cbin_sort_name(sort));
    size_t idx_at = cdec_offset(d);
    uint32_t count, index;
    int rc = cdec_u32(d, &count);
    if (rc == 0)
        rc = cdec_u32(d, &index);
    if (rc != 0)
        return rc;
    struct cscope *o = cdec_scope_out(d, count);
    if (o == NULL)
        return cdec_fail(d, SPRY_EINVALID, idx_at, "outer alias count %u out of range", count);
    if (index >= cdec_space_count(o, sort))
        return cdec_fail(d, SPRY_EINVALID, idx_at, "outer alias: %s index %u out of range",
                         cbin_sort_name(sort), index);
    bool crosses_component = false;
    for (struct cscope *x = s; x != o; x = x->outer)
        crosses_component |= x->kind == SCOPE_COMPONENT;
    struct cbin_extern e = {0};
    e.sort = sort;
    uint32_t new_index = cdec_space_count(s, sort);
    switch (sort) {
    case CBIN_TYPE: {
        struct cbin_type *slot;
        e.type = ((const struct cbin_type *)o->types.p)[index];
        if (crosses_component)
            rc = cwalk_resources(d, &e, no_free_resource, &idx_at);
        if (rc == 0)
            rc = cdec_push(d, &s->types, sizeof *slot, (void **)&slot);
        if (rc == 0)
            *slot = e.type;
        break;
    }
    case CBIN_CORE_TYPE: {
        struct cbin_coretype *slot;
        rc = cdec_push(d, &s->core_types, sizeof *slot, (void **)&slot);
        if (rc == 0)
            *slot = ((const struct cbin_coretype *)o->core_types.p)[index];
        break;
    }
    case CBIN_CORE_MODULE: {
        struct cbin_module *slot;
        rc = cdec_push(d, &s->core_modules, sizeof *slot, (void **)&slot);
        if (rc == 0)
            *slot = ((const struct cbin_module *)o->core_modules.p)[index];
        break;
    }
    case CBIN_COMPONENT: {
        struct cbin_componentref *slot;
        rc = cdec_push(d, &s->components, sizeof *slot, (void **)&slot);
        if (rc == 0)
            *slot = ((const struct cbin_componentref *)o->components.p)[index];
        break;
    }
    default:
        SPRY_ASSERT(!"alias_outer: sort");
    }
    struct cbin_def *def;
    if (rc == 0 && s->kind == SCOPE_COMPONENT)
        rc = cdec_def(d, CBIN_OP_ALIAS_OUTER, sort, new_index, at, &def);
    if (rc == 0 && s->kind == SCOPE_COMPONENT) {
        def->u.outer.count = count;
        def->u.outer.index = index;
    }
    return rc;
}

static int alias_export(struct cdec *d, size_t at, bool in_type, uint8_t sort)
{
    struct cscope *s = d->scope;
    if (in_type && sort != CBIN_TYPE && sort != CBIN_INSTANCE)
        return cdec_fail(d, SPRY_EINVALID, at,
                         "export aliases in types may only alias types and instances");
    uint32_t inst;
    const char *name;
    uint32_t len;
    int rc = index_in(d, CBIN_INSTANCE, &inst);
    size_t name_at = cdec_offset(d);
    if (rc == 0)
        rc = cdec_name(d, &name, &len);
    if (rc != 0)
        return rc;
    const struct cbin_insttype *t = ((const struct cbin_insttype **)s->instances.p)[inst];
    const struct cbin_extern *e = cbin_externs_find(&t->exports, name, len);
    if (e == NULL)
        return cdec_fail(d, SPRY_EINVALID, name_at, "instance %u has no export \"%s\"", inst, name);
    if (e->sort != sort)
        return cdec_fail(d, SPRY_EINVALID, name_at,
                         "export \"%s\" of instance %u is a %s, not a %s", name, inst,
                         cbin_sort_name(e->sort), cbin_sort_name(sort));
    uint32_t index;
    rc = cdec_space_add(d, s, e, &index);
    struct cbin_def *def;
    if (rc == 0 && s->kind == SCOPE_COMPONENT)
        rc = cdec_def(d, CBIN_OP_ALIAS, sort, index, at, &def);
    if (rc == 0 && s->kind == SCOPE_COMPONENT) {
        def->u.alias.instance = inst;
        def->u.alias.name = name;
    }
    return rc;
}

static int alias_core_export(struct cdec *d, size_t at, bool in_type, uint8_t sort)
{
    struct cscope *s = d->scope;
    if (in_type)
        return cdec_fail(d, SPRY_EINVALID, at, "core export aliases are not allowed in types");
    if (sort > CBIN_CORE_GLOBAL)
        return cdec_fail(d, SPRY_EINVALID, at, "core export aliases cannot alias a %s",
                         cbin_sort_name(sort));
    uint32_t inst;
    const char *name;
    uint32_t len;
    int rc = index_in(d, CBIN_CORE_INSTANCE, &inst);
    size_t name_at = cdec_offset(d);
    if (rc == 0)
        rc = cdec_name(d, &name, &len);
    if (rc != 0)
        return rc;
    const struct cbin_coreexterns *x =
        ((const struct cbin_coreexterns **)s->core_instances.p)[inst];
    const struct spry_externtype *e = cbin_coreexterns_find(x, name, len);
    if (e == NULL)
        return cdec_fail(d, SPRY_EINVALID, name_at, "core instance %u has no export \"%s\"", inst,
                         name);
    if (e->kind != sort - CBIN_CORE_FUNC)
        return cdec_fail(d, SPRY_EINVALID, name_at,
                         "export \"%s\" of core instance %u is a %s, not a %s", name, inst,
                         cbin_sort_name(CBIN_CORE_FUNC + e->kind), cbin_sort_name(sort));
    uint32_t index = cdec_space_count(s, sort);
    switch (sort) {
    case CBIN_CORE_FUNC:
        rc = push_core_func(d, &e->type.func, &index);
        break;
    case CBIN_CORE_TABLE: {
        struct spry_tabletype *slot;
        rc = cdec_push(d, &s->core_tables, sizeof *slot, (void **)&slot);
        if (rc == 0)
            *slot = (struct spry_tabletype){e->type.table.elem, e->type.table.limits};
        break;
    }
    case CBIN_CORE_MEMORY: {
        struct spry_limits *slot;
        rc = cdec_push(d, &s->core_memories, sizeof *slot, (void **)&slot);
        if (rc == 0)
            *slot = e->type.memory;
        break;
    }
    default: {
        struct spry_globaltype *slot;
        rc = cdec_push(d, &s->core_globals, sizeof *slot, (void **)&slot);
        if (rc == 0)
            *slot = (struct spry_globaltype){e->type.global.type, e->type.global.mutable_};
        break;
    }
    }
    struct cbin_def *def;
    if (rc == 0)
        rc = cdec_def(d, CBIN_OP_CORE_ALIAS, sort, index, at, &def);
    if (rc == 0) {
        def->u.alias.instance = inst;
        def->u.alias.name = name;
    }
    return rc;
}

int calias_read(struct cdec *d, bool in_type)
{
    size_t at = cdec_offset(d);
    uint8_t sort, target;
    int rc = cdec_sort(d, &sort);
    size_t target_at = cdec_offset(d);
    if (rc == 0)
        rc = cdec_u8(d, &target);
    if (rc != 0)
        return rc;
    switch (target) {
    case 0x00:
        if (sort < CBIN_FUNC && sort != CBIN_CORE_MODULE)
            return cdec_fail(d, SPRY_EINVALID, at, "an instance cannot export a %s",
                             cbin_sort_name(sort));
        return alias_export(d, at, in_type, sort);
    case 0x01:
        return alias_core_export(d, at, in_type, sort);
    case 0x02:
        return alias_outer(d, at, in_type, sort);
    default:
        return cdec_fail(d, SPRY_EMALFORMED, target_at, "invalid alias target 0x%02x", target);
    }
}

int calias_section(struct cdec *d)
{
    uint32_t n;
    int rc = cdec_count(d, &n);
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        rc = calias_read(d, false);
    return rc;
}

/* ---- core instances ------------------------------------------------------ */

static const struct cbin_arg *find_arg(const struct cbin_arg *args, uint32_t n, const char *name,
                                       size_t len)
{
    for (uint32_t i = 0; i < n; i++)
        if (args[i].name_len == len && memcmp(args[i].name, name, len) == 0)
            return &args[i];
    return NULL;
}

/* Reads instantiation arguments: name, sort, index; names unique. */
static int read_args(struct cdec *d, bool core, struct cbin_arg **out, uint32_t *nout)
{
    struct cscope *s = d->scope;
    struct cnames names = {0};
    uint32_t n;
    int rc = cdec_count(d, &n);
    if (rc != 0)
        return rc;
    struct cbin_arg *args = cdec_alloc_array(d, n, sizeof *args);
    if (args == NULL)
        return cdec_nomem(d);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        struct cbin_arg *a = &args[i];
        size_t at = cdec_offset(d);
        uint32_t ignored;
        rc = cdec_name(d, &a->name, &a->name_len);
        if (rc != 0)
            break;
        if (cnames_map_get(&names, a->name, a->name_len, &ignored))
            return cdec_fail(d, SPRY_EINVALID, at, "duplicate instantiation argument \"%s\"",
                             a->name);
        rc = cnames_map_put(d, &names, a->name, i);
        size_t sort_at = cdec_offset(d);
        uint8_t b;
        if (rc == 0 && core) {
            rc = cdec_u8(d, &b);
            if (rc == 0 && b != 0x12)
                return cdec_fail(d, SPRY_EMALFORMED, sort_at,
                                 "core instantiation arguments must be instances (0x12), not "
                                 "0x%02x",
                                 b);
            a->sort = CBIN_CORE_INSTANCE;
        } else if (rc == 0) {
            rc = cdec_sort(d, &a->sort);
            if (rc == 0 && a->sort < CBIN_FUNC && a->sort != CBIN_CORE_MODULE)
                return cdec_fail(d, SPRY_EINVALID, sort_at, "a %s cannot be passed to a component",
                                 cbin_sort_name(a->sort));
        }
        if (rc == 0)
            rc = index_in(d, a->sort, &a->index);
    }
    (void)s;
    *out = args;
    *nout = n;
    return rc;
}

static int core_instantiate(struct cdec *d, size_t at, uint32_t index)
{
    struct cscope *s = d->scope;
    uint32_t m, nargs;
    struct cbin_arg *args;
    int rc = index_in(d, CBIN_CORE_MODULE, &m);
    if (rc == 0)
        rc = read_args(d, true, &args, &nargs);
    if (rc != 0)
        return rc;
    const struct cbin_moduletype *t = ((const struct cbin_module *)s->core_modules.p)[m].type;
    const struct cbin_coreexterns **insts = s->core_instances.p;
    for (uint32_t i = 0; i < t->imports.n; i++) {
        const struct spry_externtype *imp = &t->imports.v[i];
        const struct cbin_arg *a = find_arg(args, nargs, imp->module, imp->module_len);
        if (a == NULL)
            return cdec_fail(d, SPRY_EINVALID, at,
                             "core instantiation of module %u: no argument \"%.*s\" for its "
                             "import \"%.*s\" \"%.*s\"",
                             m, (int)imp->module_len, imp->module, (int)imp->module_len,
                             imp->module, (int)imp->name_len, imp->name);
        const struct spry_externtype *e =
            cbin_coreexterns_find(insts[a->index], imp->name, imp->name_len);
        if (e == NULL || !cmatch_core(imp, e))
            return cdec_fail(d, SPRY_EINVALID, at,
                             "core instantiation of module %u: import \"%.*s\" \"%.*s\" %s", m,
                             (int)imp->module_len, imp->module, (int)imp->name_len, imp->name,
                             e == NULL ? "is not exported by the argument instance"
                                       : "has a different type in the argument instance");
    }
    const struct cbin_coreexterns **slot;
    struct cbin_def *def;
    rc = cdec_push(d, &s->core_instances, sizeof *slot, (void **)&slot);
    if (rc == 0) {
        *slot = &t->exports;
        rc = cdec_def(d, CBIN_OP_CORE_INSTANTIATE, CBIN_CORE_INSTANCE, index, at, &def);
    }
    if (rc == 0) {
        def->u.inst.of = m;
        def->u.inst.nargs = nargs;
        def->u.inst.args = args;
    }
    return rc;
}

/* The core extern describing core item (sort, i). */
static void core_item(const struct cscope *s, uint8_t sort, uint32_t i, struct spry_externtype *e)
{
    e->kind = (uint8_t)(sort - CBIN_CORE_FUNC);
    switch (sort) {
    case CBIN_CORE_FUNC:
        e->type.func = *core_func_type(s, i);
        break;
    case CBIN_CORE_TABLE: {
        const struct spry_tabletype *t = &((const struct spry_tabletype *)s->core_tables.p)[i];
        e->type.table.elem = t->elem;
        e->type.table.limits = t->limits;
        break;
    }
    case CBIN_CORE_MEMORY:
        e->type.memory = ((const struct spry_limits *)s->core_memories.p)[i];
        break;
    default: {
        const struct spry_globaltype *g = &((const struct spry_globaltype *)s->core_globals.p)[i];
        e->type.global.type = g->type;
        e->type.global.mutable_ = g->mutable_;
    }
    }
}

static int core_bundle(struct cdec *d, size_t at, uint32_t index)
{
    struct cscope *s = d->scope;
    uint32_t n;
    int rc = cdec_count(d, &n);
    if (rc != 0)
        return rc;
    struct cbin_arg *items = cdec_alloc_array(d, n, sizeof *items);
    struct spry_externtype *v = cdec_alloc_array(d, n, sizeof *v);
    struct cbin_coreexterns *x = cdec_alloc(d, sizeof *x);
    if (items == NULL || v == NULL || x == NULL)
        return cdec_nomem(d);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        size_t sort_at;
        rc = cdec_name(d, &items[i].name, &items[i].name_len);
        sort_at = cdec_offset(d);
        if (rc == 0)
            rc = cdec_core_sort(d, &items[i].sort);
        if (rc == 0 && items[i].sort > CBIN_CORE_GLOBAL)
            return cdec_fail(d, SPRY_EINVALID, sort_at, "a core instance cannot export a %s",
                             cbin_sort_name(items[i].sort));
        if (rc == 0)
            rc = index_in(d, items[i].sort, &items[i].index);
        if (rc == 0) {
            core_item(s, items[i].sort, items[i].index, &v[i]);
            v[i].name = items[i].name;
            v[i].name_len = items[i].name_len;
        }
    }
    if (rc != 0)
        return rc;
    x->n = n;
    x->v = v;
    rc = cnames_index_coreexterns(d, x, at, "core instance export");
    const struct cbin_coreexterns **slot;
    struct cbin_def *def;
    if (rc == 0)
        rc = cdec_push(d, &s->core_instances, sizeof *slot, (void **)&slot);
    if (rc == 0) {
        *slot = x;
        rc = cdec_def(d, CBIN_OP_CORE_BUNDLE, CBIN_CORE_INSTANCE, index, at, &def);
    }
    if (rc == 0) {
        def->u.bundle.n = n;
        def->u.bundle.items = items;
    }
    return rc;
}

int cinst_core_section(struct cdec *d)
{
    uint32_t n;
    int rc = cdec_count(d, &n);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        size_t at = cdec_offset(d);
        uint8_t b;
        uint32_t index = d->scope->core_instances.n;
        rc = cdec_u8(d, &b);
        if (rc != 0)
            break;
        if (b == 0x00)
            rc = core_instantiate(d, at, index);
        else if (b == 0x01)
            rc = core_bundle(d, at, index);
        else
            rc = cdec_fail(d, SPRY_EMALFORMED, at, "invalid core instance kind 0x%02x", b);
    }
    return rc;
}

/* ---- component instances ---------------------------------------------- */

static int push_instance(struct cdec *d, const struct cbin_insttype *t)
{
    const struct cbin_insttype **slot;
    int rc = cdec_push(d, &d->scope->instances, sizeof *slot, (void **)&slot);
    if (rc == 0)
        *slot = t;
    return rc;
}

static int instantiate(struct cdec *d, size_t at, uint32_t index)
{
    struct cscope *s = d->scope;
    uint32_t c, nargs;
    struct cbin_arg *args;
    int rc = index_in(d, CBIN_COMPONENT, &c);
    if (rc == 0)
        rc = read_args(d, false, &args, &nargs);
    if (rc != 0)
        return rc;
    const struct cbin_comptype *t = ((const struct cbin_componentref *)s->components.p)[c].type;
    struct cmap map = {0};
    for (uint32_t i = 0; rc == 0 && i < t->imports.n; i++) {
        const struct cbin_extern *imp = &t->imports.v[i];
        const struct cbin_arg *a = find_arg(args, nargs, imp->name, imp->name_len);
        struct cbin_extern actual;
        if (a == NULL) {
            rc = cdec_fail(d, SPRY_EINVALID, at,
                           "instantiation of component %u: missing argument \"%s\"", c, imp->name);
            break;
        }
        rc = cdec_item_extern(d, s, a->sort, a->index, &actual);
        if (rc == 0)
            rc = cmatch_extern(d, at, imp, &actual, &map, "instantiation argument");
    }
    /* Exported resources are fresh for every instance. */
    for (uint32_t i = 0; rc == 0 && i < t->nbound_exports; i++) {
        uint32_t id, old = t->bound_exports[i];
        rc = cdec_resource_new(d, CBIN_RES_INSTANCE, cdec_resource(d, old)->name, index, &id);
        if (rc == 0)
            rc = cmap_put(d, &map, old, id);
    }
    struct cbin_insttype *it = cdec_alloc(d, sizeof *it);
    struct cbin_extern *v = cdec_alloc_array(d, t->exports.n, sizeof *v);
    if (rc == 0 && (it == NULL || v == NULL))
        rc = cdec_nomem(d);
    for (uint32_t i = 0; rc == 0 && i < t->exports.n; i++) {
        v[i] = t->exports.v[i];
        if (v[i].sort != CBIN_CORE_MODULE)
            rc = csubst_type(d, &map, &t->exports.v[i].type, &v[i].type);
    }
    cmap_fini(&map);
    if (rc != 0)
        return rc;
    it->exports = t->exports;
    it->exports.v = v;
    struct cbin_def *def;
    rc = push_instance(d, it);
    if (rc == 0)
        rc = cdec_def(d, CBIN_OP_INSTANTIATE, CBIN_INSTANCE, index, at, &def);
    if (rc == 0) {
        def->u.inst.of = c;
        def->u.inst.nargs = nargs;
        def->u.inst.args = args;
    }
    return rc;
}

static int bundle(struct cdec *d, size_t at, uint32_t index)
{
    struct cscope *s = d->scope;
    struct cnames names = {0};
    uint32_t n;
    int rc = cdec_count(d, &n);
    if (rc != 0)
        return rc;
    struct cbin_arg *items = cdec_alloc_array(d, n, sizeof *items);
    struct cbin_extern *v = cdec_alloc_array(d, n, sizeof *v);
    struct cbin_insttype *it = cdec_alloc(d, sizeof *it);
    if (items == NULL || v == NULL || it == NULL)
        return cdec_nomem(d);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        size_t item_at = cdec_offset(d);
        struct cbin_extern e = {0};
        rc = cnames_read_extern_name(d, &e);
        if (rc == 0)
            rc = cnames_add_unique(d, &names, item_at, e.name, e.name_len, "instance export");
        size_t sort_at = cdec_offset(d);
        if (rc == 0)
            rc = cdec_sort(d, &items[i].sort);
        if (rc == 0 && items[i].sort < CBIN_FUNC && items[i].sort != CBIN_CORE_MODULE)
            return cdec_fail(d, SPRY_EINVALID, sort_at, "an instance cannot export a %s",
                             cbin_sort_name(items[i].sort));
        if (rc == 0)
            rc = index_in(d, items[i].sort, &items[i].index);
        if (rc == 0)
            rc = cdec_item_extern(d, s, items[i].sort, items[i].index, &v[i]);
        items[i].name = v[i].name = e.name;
        items[i].name_len = v[i].name_len = e.name_len;
        v[i].interface = e.interface;
    }
    if (rc != 0)
        return rc;
    it->exports.n = n;
    it->exports.v = v;
    rc = cnames_index_externs(d, &it->exports);
    struct cbin_def *def;
    if (rc == 0)
        rc = push_instance(d, it);
    if (rc == 0)
        rc = cdec_def(d, CBIN_OP_BUNDLE, CBIN_INSTANCE, index, at, &def);
    if (rc == 0) {
        def->u.bundle.n = n;
        def->u.bundle.items = items;
    }
    return rc;
}

int cinst_section(struct cdec *d)
{
    uint32_t n;
    int rc = cdec_count(d, &n);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        size_t at = cdec_offset(d);
        uint8_t b;
        uint32_t index = d->scope->instances.n;
        rc = cdec_u8(d, &b);
        if (rc != 0)
            break;
        if (b == 0x00)
            rc = instantiate(d, at, index);
        else if (b == 0x01)
            rc = bundle(d, at, index);
        else
            rc = cdec_fail(d, SPRY_EMALFORMED, at, "invalid instance kind 0x%02x", b);
    }
    return rc;
}

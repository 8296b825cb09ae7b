/*
 * Type definitions and declarators: the type section (7) and the core type
 * section (3), value types, function types, resource types, instance,
 * component and core module types, externtypes (Binary.md "Type
 * Definitions", Explainer.md "Type Definitions" and "Declarators").
 *
 * Type indices are resolved as they are read: what a scope's type space
 * holds are struct cbin_type values whose value types are finished struct
 * cvt nodes, so nothing downstream ever sees an index.
 */
#include "component/binary_impl.h"

#include <string.h>

enum { WASM_PAGES_MAX = 65536 };

/* The ctype's cached layout (32-bit pointers) beside the cvt's (64-bit). */
#define PRIM(k, sz)                                               \
    [k] = {.t = {.kind = k, .align = sz, .nflat = 1, .size = sz}, \
           .size = 1,                                             \
           .elem_size = sz,                                       \
           .align = sz,                                           \
           .depth = 1}

const struct cvt ctypes_prims[CT_STRING + 1] = {
    PRIM(CT_BOOL, 1),
    PRIM(CT_S8, 1),
    PRIM(CT_U8, 1),
    PRIM(CT_S16, 2),
    PRIM(CT_U16, 2),
    PRIM(CT_S32, 4),
    PRIM(CT_U32, 4),
    PRIM(CT_S64, 8),
    PRIM(CT_U64, 8),
    PRIM(CT_F32, 4),
    PRIM(CT_F64, 8),
    PRIM(CT_CHAR, 4),
    [CT_STRING] = {.t = {.kind = CT_STRING, .align = 4, .nflat = 2, .size = 8},
                   .size = 1,
                   .elem_size = 16,
                   .align = 8,
                   .depth = 1,
                   .flags = CVT_MEMORY},
};
#undef PRIM

static bool is_prim(uint8_t b)
{
    return b >= 0x73 && b <= 0x7f;
}

static int peek(struct cdec *d, uint8_t *out)
{
    *out = 0;
    if (reader_eof(&d->r))
        return cdec_fail(d, SPRY_EMALFORMED, (size_t)(d->r.end - d->base),
                         "unexpected end of section");
    *out = *d->r.pos;
    return 0;
}

/* A type index of the current scope, of kind `kind` (or any when
 * CBIN_T_COMPONENT + 1). */
static int type_index(struct cdec *d, int kind, const struct cbin_type **out)
{
    static const char *const kind_names[] = {"value type", "function type", "resource type",
                                             "instance type", "component type"};
    size_t at = cdec_offset(d);
    uint32_t i;
    int rc = cdec_u32(d, &i);
    if (rc != 0)
        return rc;
    const struct cvec *types = &d->scope->types;
    if (i >= types->n)
        return cdec_fail(d, SPRY_EINVALID, at, "type index %u out of range (%u defined)", i,
                         types->n);
    const struct cbin_type *t = &((const struct cbin_type *)types->p)[i];
    if (kind <= CBIN_T_COMPONENT && t->kind != kind)
        return cdec_fail(d, SPRY_EINVALID, at, "type %u is a %s, not a %s", i, kind_names[t->kind],
                         kind_names[kind]);
    *out = t;
    return 0;
}

int ctypes_valtype(struct cdec *d, const struct ctype **out)
{
    size_t at = cdec_offset(d);
    uint8_t b;
    int rc = peek(d, &b);
    if (rc != 0)
        return rc;
    if (is_prim(b)) {
        d->r.pos++;
        *out = &ctypes_prims[0x7f - b].t;
        return 0;
    }
    if (b == 0x64)
        return cdec_fail(d, SPRY_EUNSUPPORTED, at, "error-context types are not supported");
    int64_t v;
    rc = reader_s33(&d->r, &v);
    if (rc != READER_OK)
        return cdec_fail(d, SPRY_EMALFORMED, at, "malformed value type");
    if (v < 0)
        return cdec_fail(d, SPRY_EMALFORMED, at, "invalid value type 0x%02x", b);
    const struct cvec *types = &d->scope->types;
    if ((uint64_t)v >= types->n)
        return cdec_fail(d, SPRY_EINVALID, at, "type index %lld out of range (%u defined)",
                         (long long)v, types->n);
    const struct cbin_type *t = &((const struct cbin_type *)types->p)[v];
    if (t->kind != CBIN_T_VALUE)
        return cdec_fail(d, SPRY_EINVALID, at, "type %lld is not a value type", (long long)v);
    *out = t->u.value;
    return 0;
}

static int opt_valtype(struct cdec *d, const struct ctype **out)
{
    size_t at = cdec_offset(d);
    uint8_t b;
    int rc = cdec_u8(d, &b);
    if (rc != 0)
        return rc;
    *out = NULL;
    if (b == 0x01)
        return ctypes_valtype(d, out);
    if (b != 0x00)
        return cdec_fail(d, SPRY_EMALFORMED, at, "invalid optional value type flag 0x%02x", b);
    return 0;
}

/* A label that is strongly-unique in `set`. */
static int label(struct cdec *d, struct cnames *set, const char *what, const char **out)
{
    size_t at = cdec_offset(d);
    uint32_t len;
    int rc = cdec_name(d, out, &len);
    if (rc != 0)
        return rc;
    if (!cnames_is_label(*out, len))
        return cdec_fail(d, SPRY_EINVALID, at, "invalid %s label \"%s\"", what, *out);
    return cnames_add_unique(d, set, at, *out, len, what);
}

static int nonempty_count(struct cdec *d, const char *what, uint32_t *n)
{
    size_t at = cdec_offset(d);
    int rc = cdec_count(d, n);
    if (rc == 0 && *n == 0)
        rc = cdec_fail(d, SPRY_EINVALID, at, "%s with no %s", what,
                       strcmp(what, "record") == 0 ? "fields" : "cases");
    return rc;
}

static int fields(struct cdec *d, struct cvt *n, bool named)
{
    uint32_t count;
    struct cnames set = {0};
    int rc = nonempty_count(d, named ? "record" : "tuple", &count);
    if (rc != 0)
        return rc;
    struct ctype_field *f = cdec_alloc_array(d, count, sizeof *f);
    if (f == NULL)
        return cdec_nomem(d);
    n->t.u.record.n = count;
    n->t.u.record.fields = f;
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        if (named)
            rc = label(d, &set, "record field", &f[i].name);
        if (rc == 0)
            rc = ctypes_valtype(d, &f[i].type);
    }
    return rc;
}

static int cases(struct cdec *d, struct cvt *n, bool payloads)
{
    uint32_t count;
    struct cnames set = {0};
    int rc = nonempty_count(d, payloads ? "variant" : "enum", &count);
    if (rc != 0)
        return rc;
    struct ctype_case *c = cdec_alloc_array(d, count, sizeof *c);
    if (c == NULL)
        return cdec_nomem(d);
    n->t.u.variant.n = count;
    n->t.u.variant.cases = c;
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        rc = label(d, &set, payloads ? "variant case" : "enum case", &c[i].name);
        if (rc != 0 || !payloads)
            continue;
        rc = opt_valtype(d, &c[i].type);
        size_t at = cdec_offset(d);
        uint8_t refines;
        if (rc == 0)
            rc = cdec_u8(d, &refines);
        if (rc == 0 && refines != 0)
            rc = cdec_fail(d, SPRY_EMALFORMED, at, "invalid variant case trailer 0x%02x", refines);
    }
    return rc;
}

static int flags(struct cdec *d, struct cvt *n)
{
    size_t at = cdec_offset(d);
    uint32_t count;
    struct cnames set = {0};
    int rc = nonempty_count(d, "flags", &count);
    if (rc != 0)
        return rc;
    if (count > CTYPE_MAX_FLAGS)
        return cdec_fail(d, SPRY_EINVALID, at, "flags with %u labels (at most %u)", count,
                         (unsigned)CTYPE_MAX_FLAGS);
    const char **names = cdec_alloc_array(d, count, sizeof *names);
    if (names == NULL)
        return cdec_nomem(d);
    n->t.u.flags.n = count;
    n->t.u.flags.names = names;
    for (uint32_t i = 0; rc == 0 && i < count; i++)
        rc = label(d, &set, "flag", &names[i]);
    return rc;
}

/* defvaltype (Binary.md) after its opcode byte b. */
static int defvaltype(struct cdec *d, uint8_t b, size_t at, const struct ctype **out)
{
    if (is_prim(b)) {
        *out = &ctypes_prims[0x7f - b].t;
        return 0;
    }
    struct cvt *n = cdec_alloc(d, sizeof *n);
    if (n == NULL)
        return cdec_nomem(d);
    const struct cbin_type *rt;
    int rc;
    switch (b) {
    case 0x72:
        n->t.kind = CT_RECORD;
        rc = fields(d, n, true);
        break;
    case 0x71:
        n->t.kind = CT_VARIANT;
        rc = cases(d, n, true);
        break;
    case 0x70:
        n->t.kind = CT_LIST;
        rc = ctypes_valtype(d, &n->t.u.elem);
        break;
    case 0x6f:
        n->t.kind = CT_TUPLE;
        rc = fields(d, n, false);
        break;
    case 0x6e:
        n->t.kind = CT_FLAGS;
        rc = flags(d, n);
        break;
    case 0x6d:
        n->t.kind = CT_ENUM;
        rc = cases(d, n, false);
        break;
    case 0x6b:
        n->t.kind = CT_OPTION;
        rc = ctypes_valtype(d, &n->t.u.elem);
        break;
    case 0x6a:
        n->t.kind = CT_RESULT;
        rc = opt_valtype(d, &n->t.u.result.ok);
        if (rc == 0)
            rc = opt_valtype(d, &n->t.u.result.err);
        break;
    case 0x69:
    case 0x68:
        n->t.kind = b == 0x69 ? CT_OWN : CT_BORROW;
        rc = type_index(d, CBIN_T_RESOURCE, &rt);
        if (rc == 0)
            n->t.u.resource = rt->u.resource;
        break;
    case 0x67:
        return cdec_fail(d, SPRY_EUNSUPPORTED, at, "fixed-length lists are not supported");
    case 0x66:
    case 0x65:
        return cdec_fail(d, SPRY_EUNSUPPORTED, at, "%s types are not supported (async)",
                         b == 0x66 ? "stream" : "future");
    case 0x64:
        return cdec_fail(d, SPRY_EUNSUPPORTED, at, "error-context types are not supported");
    case 0x63:
        return cdec_fail(d, SPRY_EUNSUPPORTED, at, "map types are not supported");
    default:
        return cdec_fail(d, SPRY_EMALFORMED, at, "invalid type opcode 0x%02x", b);
    }
    if (rc == 0)
        rc = ctypes_finish(d, at, n);
    if (rc == 0)
        *out = &n->t;
    return rc;
}

static int functype(struct cdec *d, const struct cfunctype **out)
{
    uint32_t count;
    struct cnames set = {0};
    int rc = cdec_count(d, &count);
    if (rc != 0)
        return rc;
    struct cft *f = cdec_alloc(d, sizeof *f);
    struct ctype_field *params = cdec_alloc_array(d, count, sizeof *params);
    if (f == NULL || params == NULL)
        return cdec_nomem(d);
    f->f.nparams = count;
    f->f.params = params;
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        rc = label(d, &set, "parameter", &params[i].name);
        if (rc == 0)
            rc = ctypes_valtype(d, &params[i].type);
    }
    size_t res_at = cdec_offset(d);
    uint8_t b, n;
    if (rc == 0)
        rc = cdec_u8(d, &b);
    if (rc != 0)
        return rc;
    if (b == 0x00) {
        rc = ctypes_valtype(d, &f->f.result);
    } else if (b == 0x01) {
        rc = cdec_u8(d, &n);
        if (rc == 0 && n != 0)
            rc = cdec_fail(d, SPRY_EUNSUPPORTED, res_at,
                           "named function results are not supported (pre-0.2 encoding)");
    } else {
        rc = cdec_fail(d, SPRY_EMALFORMED, res_at, "invalid function result flag 0x%02x", b);
    }
    if (rc == 0 && f->f.result != NULL && (cvt_of(f->f.result)->flags & CVT_BORROW))
        rc = cdec_fail(d, SPRY_EINVALID, res_at, "a function result may not contain a borrow");
    if (rc == 0) {
        ctypes_finish_func(f);
        *out = &f->f;
    }
    return rc;
}

static int resourcetype(struct cdec *d, size_t at, uint32_t *out)
{
    struct cscope *s = d->scope;
    if (s->kind != SCOPE_COMPONENT)
        return cdec_fail(d, SPRY_EINVALID, at,
                         "resource types cannot be defined in component or instance types");
    size_t rep_at = cdec_offset(d);
    uint8_t rep, has_dtor;
    int rc = cdec_u8(d, &rep);
    if (rc != 0)
        return rc;
    if (rep == SPRY_I64)
        return cdec_fail(d, SPRY_EUNSUPPORTED, rep_at, "resource representation i64");
    if (rep != SPRY_I32)
        return cdec_fail(d, SPRY_EINVALID, rep_at, "resource representation must be i32");
    uint32_t dtor = 0;
    size_t dtor_at = cdec_offset(d);
    rc = cdec_u8(d, &has_dtor);
    if (rc == 0 && has_dtor == 0x01) {
        dtor_at = cdec_offset(d);
        rc = cdec_u32(d, &dtor);
        if (rc != 0)
            return rc;
        if (dtor >= s->core_funcs.n)
            return cdec_fail(d, SPRY_EINVALID, dtor_at,
                             "destructor: core func index %u out of range (%u defined)", dtor,
                             s->core_funcs.n);
        const struct spry_functype *ft = ((const struct spry_functype **)s->core_funcs.p)[dtor];
        if (ft->nparams != 1 || ft->params[0] != SPRY_I32 || ft->nresults != 0)
            return cdec_fail(d, SPRY_EINVALID, dtor_at, "a destructor must have type [i32] -> []");
    } else if (rc == 0 && has_dtor != 0x00) {
        return cdec_fail(d, SPRY_EMALFORMED, dtor_at, "invalid destructor flag 0x%02x", has_dtor);
    }
    if (rc != 0)
        return rc;
    rc = cdec_resource_new(d, CBIN_RES_DEFINED, NULL, 0, out);
    if (rc != 0)
        return rc;
    struct cbin_resource *res = cdec_resource(d, *out);
    res->rep = SPRY_I32;
    res->has_dtor = has_dtor == 0x01;
    res->dtor = dtor;
    return 0;
}

/* ---- instance and component types -------------------------------------- */

static int core_type(struct cdec *d, struct cbin_coretype *out);
static int deftype(struct cdec *d, struct cbin_type *out);

static int push_type(struct cdec *d, struct cscope *s, struct cbin_type t)
{
    struct cbin_type *slot;
    int rc = cdec_push(d, &s->types, sizeof *slot, (void **)&slot);
    if (rc == 0)
        *slot = t;
    return rc;
}

/* An import or export declarator of a type scope. */
static int extern_decl(struct cdec *d, bool import)
{
    struct cscope *s = d->scope;
    size_t at = cdec_offset(d);
    struct cbin_extern e = {0}, *slot;
    int rc = cnames_read_extern_name(d, &e);
    if (rc == 0)
        rc = cnames_add_unique(d, import ? &s->import_names : &s->export_names, at, e.name,
                               e.name_len, import ? "import" : "export");
    if (rc == 0)
        rc = ctypes_externtype(d, &e, CBIN_RES_ABSTRACT, 0,
                               import ? &s->bound_imports : &s->bound_exports);
    if (rc == 0)
        rc = cnames_check_annotation(d, at, s, &e);
    if (rc == 0)
        rc = cnames_note_resource(d, s, &e);
    if (rc == 0)
        rc = cdec_push(d, import ? &s->imports : &s->exports, sizeof *slot, (void **)&slot);
    if (rc != 0)
        return rc;
    *slot = e;
    uint32_t index;
    return cdec_space_add(d, s, &e, &index);
}

static int externs_of(struct cdec *d, const struct cvec *v, struct cbin_externs *out)
{
    out->n = v->n;
    out->v = v->p;
    return cnames_index_externs(d, out);
}

/* componenttype (0x41) or instancetype (0x42), after the opcode. */
static int decl_type(struct cdec *d, bool component, size_t at, struct cbin_type *out)
{
    if (d->type_nesting >= CBIN_MAX_TYPE_NESTING)
        return cdec_fail(d, SPRY_ETOOBIG, at, "component and instance types nested deeper than %u",
                         (unsigned)CBIN_MAX_TYPE_NESTING);
    struct cscope *s = cdec_alloc(d, sizeof *s);
    if (s == NULL)
        return cdec_nomem(d);
    s->kind = component ? SCOPE_COMPTYPE : SCOPE_INSTTYPE;
    s->outer = d->scope;
    d->scope = s;
    d->type_nesting++;
    uint32_t n;
    int rc = cdec_count(d, &n);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        size_t decl_at = cdec_offset(d);
        uint8_t b;
        rc = cdec_u8(d, &b);
        if (rc != 0)
            break;
        switch (b) {
        case 0x00: {
            struct cbin_coretype *ct;
            rc = cdec_push(d, &s->core_types, sizeof *ct, (void **)&ct);
            if (rc == 0)
                rc = core_type(d, ct);
            break;
        }
        case 0x01: {
            struct cbin_type t;
            rc = deftype(d, &t);
            if (rc == 0)
                rc = push_type(d, s, t);
            break;
        }
        case 0x02:
            rc = calias_read(d, true);
            break;
        case 0x03:
            if (!component)
                rc =
                    cdec_fail(d, SPRY_EINVALID, decl_at, "an instance type cannot declare imports");
            else
                rc = extern_decl(d, true);
            break;
        case 0x04:
            rc = extern_decl(d, false);
            break;
        default:
            rc = cdec_fail(d, SPRY_EMALFORMED, decl_at, "invalid %s type declarator 0x%02x",
                           component ? "component" : "instance", b);
        }
    }
    d->type_nesting--;
    d->scope = s->outer;
    if (rc != 0)
        return rc;
    if (component) {
        struct cbin_comptype *t = cdec_alloc(d, sizeof *t);
        if (t == NULL)
            return cdec_nomem(d);
        rc = externs_of(d, &s->imports, &t->imports);
        if (rc == 0)
            rc = externs_of(d, &s->exports, &t->exports);
        t->nbound_imports = s->bound_imports.n;
        t->bound_imports = s->bound_imports.p;
        t->nbound_exports = s->bound_exports.n;
        t->bound_exports = s->bound_exports.p;
        out->kind = CBIN_T_COMPONENT;
        out->u.component = t;
    } else {
        struct cbin_insttype *t = cdec_alloc(d, sizeof *t);
        if (t == NULL)
            return cdec_nomem(d);
        rc = externs_of(d, &s->exports, &t->exports);
        t->nbound = s->bound_exports.n;
        t->bound = s->bound_exports.p;
        out->kind = CBIN_T_INSTANCE;
        out->u.instance = t;
    }
    return rc; /* names were strongly unique, so indexing cannot fail */
}

/* deftype (Binary.md); a resource type returns its new id. */
static int deftype(struct cdec *d, struct cbin_type *out)
{
    size_t at = cdec_offset(d);
    uint8_t b;
    int rc = cdec_u8(d, &b);
    if (rc != 0)
        return rc;
    switch (b) {
    case 0x40:
        out->kind = CBIN_T_FUNC;
        return functype(d, &out->u.func);
    case 0x43:
        return cdec_fail(d, SPRY_EUNSUPPORTED, at, "async function types are not supported");
    case 0x41:
    case 0x42:
        return decl_type(d, b == 0x41, at, out);
    case 0x3f:
        out->kind = CBIN_T_RESOURCE;
        return resourcetype(d, at, &out->u.resource);
    default:
        out->kind = CBIN_T_VALUE;
        return defvaltype(d, b, at, &out->u.value);
    }
}

int ctypes_section(struct cdec *d)
{
    struct cscope *s = d->scope;
    uint32_t n;
    int rc = cdec_count(d, &n);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        size_t at = cdec_offset(d);
        struct cbin_type t;
        struct cbin_def *def;
        rc = deftype(d, &t);
        if (rc == 0)
            rc = push_type(d, s, t);
        if (rc != 0)
            break;
        bool res = t.kind == CBIN_T_RESOURCE;
        rc =
            cdec_def(d, res ? CBIN_OP_RESOURCE : CBIN_OP_TYPE, CBIN_TYPE, s->types.n - 1, at, &def);
        if (rc == 0 && res)
            def->u.index = t.u.resource;
    }
    return rc;
}

/* ---- externtypes -------------------------------------------------------- */

int ctypes_externtype(struct cdec *d, struct cbin_extern *e, uint8_t kind, uint32_t index,
                      struct cvec *bound)
{
    size_t at = cdec_offset(d);
    uint8_t b, b2;
    const struct cbin_type *t;
    int rc = cdec_u8(d, &b);
    if (rc != 0)
        return rc;
    switch (b) {
    case 0x00: {
        size_t sort_at = cdec_offset(d);
        rc = cdec_u8(d, &b2);
        if (rc == 0 && b2 != 0x11)
            return cdec_fail(d, SPRY_EINVALID, sort_at,
                             "only core modules can be imported or exported, not core sort "
                             "0x%02x",
                             b2);
        size_t idx_at = cdec_offset(d);
        uint32_t i;
        if (rc == 0)
            rc = cdec_u32(d, &i);
        if (rc != 0)
            return rc;
        const struct cvec *ct = &d->scope->core_types;
        if (i >= ct->n)
            return cdec_fail(d, SPRY_EINVALID, idx_at,
                             "core type index %u out of range (%u defined)", i, ct->n);
        const struct cbin_coretype *c = &((const struct cbin_coretype *)ct->p)[i];
        if (c->kind != CBIN_CT_MODULE)
            return cdec_fail(d, SPRY_EINVALID, idx_at, "core type %u is not a module type", i);
        e->sort = CBIN_CORE_MODULE;
        e->module = c->u.module;
        return 0;
    }
    case 0x01:
        e->sort = CBIN_FUNC;
        rc = type_index(d, CBIN_T_FUNC, &t);
        break;
    case 0x02:
        return cdec_fail(d, SPRY_EUNSUPPORTED, at, "value imports and exports are not supported");
    case 0x03: {
        size_t bound_at = cdec_offset(d);
        e->sort = CBIN_TYPE;
        rc = cdec_u8(d, &b2);
        if (rc != 0)
            return rc;
        if (b2 == 0x00) {
            rc = type_index(d, CBIN_T_COMPONENT + 1, &t);
            break;
        }
        if (b2 != 0x01)
            return cdec_fail(d, SPRY_EMALFORMED, bound_at, "invalid type bound 0x%02x", b2);
        e->type.kind = CBIN_T_RESOURCE;
        rc = cdec_resource_new(d, kind, e->name, index, &e->type.u.resource);
        if (rc == 0 && bound != NULL)
            rc = cdec_push_u32(d, bound, e->type.u.resource);
        return rc;
    }
    case 0x04:
        e->sort = CBIN_COMPONENT;
        rc = type_index(d, CBIN_T_COMPONENT, &t);
        break;
    case 0x05:
        e->sort = CBIN_INSTANCE;
        rc = type_index(d, CBIN_T_INSTANCE, &t);
        break;
    default:
        return cdec_fail(d, SPRY_EMALFORMED, at, "invalid extern type 0x%02x", b);
    }
    if (rc != 0)
        return rc;
    e->type = *t;
    return cfresh_extern(d, e, kind, index, bound);
}

/* ---- core types ----------------------------------------------------------- */

static int core_valtype(struct cdec *d, uint8_t *out)
{
    size_t at = cdec_offset(d);
    int rc = cdec_u8(d, out);
    if (rc != 0)
        return rc;
    switch (*out) {
    case SPRY_I32:
    case SPRY_I64:
    case SPRY_F32:
    case SPRY_F64:
    case SPRY_V128:
    case SPRY_FUNCREF:
    case SPRY_EXTERNREF:
        return 0;
    case 0x63:
    case 0x64:
        return cdec_fail(d, SPRY_EUNSUPPORTED, at, "GC reference types are not supported");
    default:
        return cdec_fail(d, SPRY_EMALFORMED, at, "invalid core value type 0x%02x", *out);
    }
}

/* vec(core:valtype): the parameters or the results of a core function type. */
static int core_valtypes(struct cdec *d, uint32_t *n, const uint8_t **out)
{
    uint32_t count;
    int rc = cdec_count(d, &count);
    if (rc != 0)
        return rc;
    uint8_t *v = cdec_alloc(d, count);
    if (v == NULL)
        return cdec_nomem(d);
    for (uint32_t i = 0; rc == 0 && i < count; i++)
        rc = core_valtype(d, &v[i]);
    if (rc == 0) {
        *n = count;
        *out = v;
    }
    return rc;
}

static int core_functype(struct cdec *d, const struct spry_functype **out)
{
    struct spry_functype f;
    int rc = core_valtypes(d, &f.nparams, &f.params);
    if (rc == 0)
        rc = core_valtypes(d, &f.nresults, &f.results);
    if (rc != 0)
        return rc;
    struct spry_functype *copy = cdec_alloc(d, sizeof *copy);
    if (copy == NULL)
        return cdec_nomem(d);
    *copy = f;
    *out = copy;
    return 0;
}

static int limits(struct cdec *d, bool memory, struct spry_limits *out)
{
    size_t at = cdec_offset(d);
    uint8_t flags;
    uint32_t min, max = 0;
    int rc = cdec_u8(d, &flags);
    if (rc != 0)
        return rc;
    if (flags > 0x01)
        return cdec_fail(d, flags <= 0x07 ? SPRY_EUNSUPPORTED : SPRY_EMALFORMED, at,
                         "%s limits flags 0x%02x (shared or 64-bit) are not supported",
                         memory ? "memory" : "table", flags);
    rc = cdec_u32(d, &min);
    if (rc == 0 && flags == 0x01)
        rc = cdec_u32(d, &max);
    if (rc != 0)
        return rc;
    if (flags == 0x01 && max < min)
        return cdec_fail(d, SPRY_EINVALID, at, "size minimum must not be greater than maximum");
    if (memory && (min > WASM_PAGES_MAX || (flags == 0x01 && max > WASM_PAGES_MAX)))
        return cdec_fail(d, SPRY_EINVALID, at, "memory size must be at most 65536 pages (4GiB)");
    out->min = min;
    out->max = max;
    out->has_max = flags == 0x01;
    return 0;
}

int ctypes_core_externtype(struct cdec *d, const struct cscope *types, struct spry_externtype *out)
{
    size_t at = cdec_offset(d);
    uint8_t b;
    int rc = cdec_u8(d, &b);
    if (rc != 0)
        return rc;
    switch (b) {
    case 0x00: {
        size_t idx_at = cdec_offset(d);
        uint32_t i;
        rc = cdec_u32(d, &i);
        if (rc != 0)
            return rc;
        if (i >= types->core_types.n)
            return cdec_fail(d, SPRY_EINVALID, idx_at,
                             "core type index %u out of range (%u defined)", i,
                             types->core_types.n);
        const struct cbin_coretype *c = &((const struct cbin_coretype *)types->core_types.p)[i];
        if (c->kind != CBIN_CT_FUNC)
            return cdec_fail(d, SPRY_EINVALID, idx_at, "core type %u is not a function type", i);
        out->kind = SPRY_EXTERN_FUNC;
        out->type.func = *c->u.func;
        return 0;
    }
    case 0x01:
        out->kind = SPRY_EXTERN_TABLE;
        rc = cdec_u8(d, &out->type.table.elem);
        if (rc == 0 && out->type.table.elem != SPRY_FUNCREF &&
            out->type.table.elem != SPRY_EXTERNREF)
            return cdec_fail(d, SPRY_EMALFORMED, at + 1, "invalid table element type 0x%02x",
                             out->type.table.elem);
        return rc != 0 ? rc : limits(d, false, &out->type.table.limits);
    case 0x02:
        out->kind = SPRY_EXTERN_MEMORY;
        return limits(d, true, &out->type.memory);
    case 0x03: {
        uint8_t mut;
        out->kind = SPRY_EXTERN_GLOBAL;
        rc = core_valtype(d, &out->type.global.type);
        size_t mut_at = cdec_offset(d);
        if (rc == 0)
            rc = cdec_u8(d, &mut);
        if (rc == 0 && mut > 1)
            return cdec_fail(d, SPRY_EMALFORMED, mut_at, "malformed mutability");
        out->type.global.mutable_ = mut == 1;
        return rc;
    }
    case 0x04:
        return cdec_fail(d, SPRY_EUNSUPPORTED, at, "core tags are not supported");
    default:
        return cdec_fail(d, SPRY_EMALFORMED, at, "invalid core extern type 0x%02x", b);
    }
}

static int core_name(struct cdec *d, const char **name, size_t *len)
{
    uint32_t n;
    int rc = cdec_name(d, name, &n);
    *len = n;
    return rc;
}

/* core:moduletype (0x50), after the opcode. */
static int module_type(struct cdec *d, size_t at, const struct cbin_moduletype **out)
{
    if (d->type_nesting >= CBIN_MAX_TYPE_NESTING)
        return cdec_fail(d, SPRY_ETOOBIG, at, "types nested deeper than %u",
                         (unsigned)CBIN_MAX_TYPE_NESTING);
    struct cscope *s = cdec_alloc(d, sizeof *s);
    struct cbin_moduletype *t = cdec_alloc(d, sizeof *t);
    if (s == NULL || t == NULL)
        return cdec_nomem(d);
    s->kind = SCOPE_MODULETYPE;
    s->outer = d->scope;
    d->scope = s;
    d->type_nesting++;
    uint32_t n;
    int rc = cdec_count(d, &n);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        size_t decl_at = cdec_offset(d);
        uint8_t b;
        struct spry_externtype *x;
        struct cbin_coretype *ct;
        rc = cdec_u8(d, &b);
        if (rc != 0)
            break;
        switch (b) {
        case 0x00:
            rc = cdec_push(d, &s->core_imports, sizeof *x, (void **)&x);
            if (rc == 0)
                rc = core_name(d, &x->module, &x->module_len);
            if (rc == 0)
                rc = core_name(d, &x->name, &x->name_len);
            if (rc == 0)
                rc = ctypes_core_externtype(d, s, x);
            break;
        case 0x01:
            rc = cdec_push(d, &s->core_types, sizeof *ct, (void **)&ct);
            if (rc == 0)
                rc = core_type(d, ct);
            if (rc == 0 && ct->kind == CBIN_CT_MODULE)
                rc = cdec_fail(d, SPRY_EINVALID, decl_at,
                               "a module type cannot define a module type");
            break;
        case 0x02: {
            uint8_t sort, target;
            uint32_t count, index;
            rc = cdec_u8(d, &sort);
            if (rc == 0)
                rc = cdec_u8(d, &target);
            if (rc == 0 && (sort != 0x10 || target != 0x01))
                return cdec_fail(d, SPRY_EMALFORMED, decl_at + 1,
                                 "invalid module type alias 0x%02x 0x%02x", sort, target);
            size_t idx_at = cdec_offset(d);
            if (rc == 0)
                rc = cdec_u32(d, &count);
            if (rc == 0)
                rc = cdec_u32(d, &index);
            if (rc != 0)
                break;
            const struct cscope *o = cdec_scope_out(d, count);
            if (o == NULL)
                return cdec_fail(d, SPRY_EINVALID, idx_at, "outer alias count %u out of range",
                                 count);
            if (index >= o->core_types.n)
                return cdec_fail(d, SPRY_EINVALID, idx_at,
                                 "outer alias: core type index %u out of range (%u defined)", index,
                                 o->core_types.n);
            const struct cbin_coretype *src =
                &((const struct cbin_coretype *)o->core_types.p)[index];
            if (src->kind == CBIN_CT_MODULE)
                return cdec_fail(d, SPRY_EINVALID, idx_at,
                                 "a module type cannot alias a module type");
            rc = cdec_push(d, &s->core_types, sizeof *ct, (void **)&ct);
            if (rc == 0)
                *ct = *src;
            break;
        }
        case 0x03:
            rc = cdec_push(d, &s->core_exports, sizeof *x, (void **)&x);
            if (rc == 0)
                rc = core_name(d, &x->name, &x->name_len);
            if (rc == 0)
                rc = ctypes_core_externtype(d, s, x);
            break;
        default:
            rc = cdec_fail(d, SPRY_EMALFORMED, decl_at, "invalid module type declarator 0x%02x", b);
        }
    }
    d->type_nesting--;
    d->scope = s->outer;
    if (rc != 0)
        return rc;
    t->imports.n = s->core_imports.n;
    t->imports.v = s->core_imports.p;
    t->exports.n = s->core_exports.n;
    t->exports.v = s->core_exports.p;
    rc = cnames_index_coreexterns(d, &t->exports, at, "module type export");
    if (rc == 0)
        *out = t;
    return rc;
}

static int core_type(struct cdec *d, struct cbin_coretype *out)
{
    size_t at = cdec_offset(d);
    uint8_t b;
    int rc = cdec_u8(d, &b);
    if (rc != 0)
        return rc;
    switch (b) {
    case 0x60:
        out->kind = CBIN_CT_FUNC;
        return core_functype(d, &out->u.func);
    case 0x50:
        out->kind = CBIN_CT_MODULE;
        return module_type(d, at, &out->u.module);
    case 0x00:
    case 0x4e:
    case 0x4f:
    case 0x5e:
    case 0x5f:
        return cdec_fail(d, SPRY_EUNSUPPORTED, at, "GC core types are not supported");
    default:
        return cdec_fail(d, SPRY_EMALFORMED, at, "invalid core type opcode 0x%02x", b);
    }
}

int ctypes_core_section(struct cdec *d)
{
    struct cscope *s = d->scope;
    uint32_t n;
    int rc = cdec_count(d, &n);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        size_t at = cdec_offset(d);
        struct cbin_coretype *ct;
        rc = cdec_push(d, &s->core_types, sizeof *ct, (void **)&ct);
        if (rc == 0)
            rc = core_type(d, ct);
        if (rc == 0)
            rc = cdec_def(d, CBIN_OP_TYPE, CBIN_CORE_TYPE, s->core_types.n - 1, at, NULL);
    }
    return rc;
}

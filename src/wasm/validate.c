/*
 * Module validation (https://webassembly.github.io/spec/core/valid/modules.html)
 * for WebAssembly 2.0 without SIMD, plus the tail-call instructions.
 *
 * The decoder has already checked the encoding of everything outside the
 * function bodies; this file checks the rules the spec states on the
 * abstract syntax: index spaces, limits, constant expressions, segment and
 * global types, the start function, export names. Function bodies are
 * checked by validate_expr.c.
 *
 * Precedence of errors: the spec decodes the whole module before validating
 * any of it, so when a body holds bytes that do not decode, that is the error
 * to report even if a validation rule failed earlier. Only the error path
 * pays for this: after a validation error every body is decoded again
 * (validate_skim_body) and a decoding error found there replaces it.
 */
#include "wasm/validate.h"

#include "base/alloc.h"
#include "spry/error.h"

#include <stdbool.h>
#include <string.h>

static bool is_ref(uint8_t t)
{
    return t == SPRY_FUNCREF || t == SPRY_EXTERNREF;
}

/* https://webassembly.github.io/spec/core/valid/types.html#limits: n <= k,
 * m <= k, n <= m. */
static int check_limits(const struct spry_limits *l, uint64_t k, const char *too_big,
                        const char *what, uint32_t index, struct spry_report *report)
{
    if (l->min > k || (l->has_max && l->max > k))
        return spry_report_set(report, SPRY_EINVALID, "%s (%s %u)", too_big, what, index);
    if (l->has_max && l->min > l->max)
        return spry_report_set(report, SPRY_EINVALID,
                               "size minimum must not be greater than maximum (%s %u)", what,
                               index);
    return 0;
}

/* The type one constant instruction pushes, or 0 after reporting why it is
 * not a constant instruction of Wasm 2.0. */
static uint8_t const_instr_type(const struct wasm_module *m, const struct wasm_constexpr *e,
                                const struct wasm_const_instr *in, struct spry_report *report)
{
    switch ((enum wasm_const_op)in->op) {
    case WASM_CONST_I32:
        return SPRY_I32;
    case WASM_CONST_I64:
        return SPRY_I64;
    case WASM_CONST_F32:
        return SPRY_F32;
    case WASM_CONST_F64:
        return SPRY_F64;
    case WASM_CONST_REF_NULL:
        if (!is_ref(in->value.reftype)) {
            spry_report_set(report, SPRY_EMALFORMED, "malformed reference type at offset 0x%x",
                            e->offset);
            return 0;
        }
        return in->value.reftype;
    case WASM_CONST_REF_FUNC:
        if (in->value.index >= m->nfuncs) {
            spry_report_set(report, SPRY_EINVALID, "unknown function %u at offset 0x%x",
                            in->value.index, e->offset);
            return 0;
        }
        return SPRY_FUNCREF;
    case WASM_CONST_GLOBAL_GET: {
        uint32_t g = in->value.index;
        if (g >= m->num_imported_globals || g >= m->nglobals) {
            spry_report_set(report, SPRY_EINVALID, "unknown global %u at offset 0x%x", g,
                            e->offset);
            return 0;
        }
        if (m->globals[g].type.mutable_) {
            spry_report_set(report, SPRY_EINVALID,
                            "constant expression required at offset 0x%x: global %u is mutable",
                            e->offset, g);
            return 0;
        }
        return m->globals[g].type.type;
    }
    default: /* the extended-const proposal's arithmetic is not Wasm 2.0 */
        spry_report_set(report, SPRY_EINVALID, "constant expression required at offset 0x%x",
                        e->offset);
        return 0;
    }
}

/*
 * A constant expression of type `want`
 * (https://webassembly.github.io/spec/core/valid/instructions.html#constant-expressions):
 * constant instructions only (a constant, ref.null, ref.func, or global.get of
 * an imported immutable global: in Wasm 2.0 the only globals in scope for
 * constant expressions, even those of data and element segments), typed like
 * any instruction sequence, so that it leaves exactly one value of type `want`.
 */
static int check_const(const struct wasm_module *m, const struct wasm_constexpr *e, uint8_t want,
                       struct spry_report *report)
{
    uint8_t got = 0;
    for (uint32_t i = 0; i < e->count; i++) {
        const struct wasm_const_instr *in = i == 0 ? &e->first : &e->rest[i - 1];
        got = const_instr_type(m, e, in, report);
        if (got == 0)
            return report->code;
    }
    if (e->count != 1)
        return spry_report_set(report, SPRY_EINVALID,
                               "type mismatch at offset 0x%x: constant expression leaves %u "
                               "values, expected one %s",
                               e->offset, e->count, validate_type_name(want));
    if (got != want)
        return spry_report_set(report, SPRY_EINVALID,
                               "type mismatch at offset 0x%x: constant expression of type %s, "
                               "expected %s",
                               e->offset, validate_type_name(got), validate_type_name(want));
    return 0;
}

/* The imported prefix of each index space lies inside it. The decoder
 * guarantees this; checked because everything below indexes by it. */
static int check_shape(const struct wasm_module *m, struct spry_report *report)
{
    if (m->num_imported_funcs > m->nfuncs || m->num_imported_tables > m->ntables ||
        m->num_imported_memories > m->nmemories || m->num_imported_globals > m->nglobals)
        return spry_report_set(report, SPRY_EINVAL,
                               "inconsistent module: imports past index space");
    if (m->nfuncs != 0 && m->declared_refs == NULL)
        return spry_report_set(report, SPRY_EINVAL, "inconsistent module: no declared_refs");
    return 0;
}

static int check_functions(const struct wasm_module *m, struct spry_report *report)
{
    for (uint32_t i = 0; i < m->nfuncs; i++) {
        if (m->funcs[i].type_index >= m->ntypes)
            return spry_report_set(report, SPRY_EINVALID, "unknown type %u (function %u)",
                                   m->funcs[i].type_index, i);
    }
    return 0;
}

static int check_tables(const struct wasm_module *m, struct spry_report *report)
{
    for (uint32_t i = 0; i < m->ntables; i++) {
        const struct wasm_tabletype *t = &m->tables[i].type;
        if (!is_ref(t->elem))
            return spry_report_set(report, SPRY_EMALFORMED, "malformed reference type (table %u)",
                                   i);
        int rc = check_limits(&t->limits, UINT32_MAX, "table size must be at most 2^32-1", "table",
                              i, report);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int check_memories(const struct wasm_module *m, struct spry_report *report)
{
    for (uint32_t i = 0; i < m->nmemories; i++) {
        int rc =
            check_limits(&m->memories[i].limits, WASM_MAX_PAGES,
                         "memory size must be at most 65536 pages (4GiB)", "memory", i, report);
        if (rc != 0)
            return rc;
    }
    if (m->nmemories > 1)
        return spry_report_set(report, SPRY_EINVALID, "multiple memories (%u)", m->nmemories);
    return 0;
}

static int check_globals(const struct wasm_module *m, struct spry_report *report)
{
    for (uint32_t i = m->num_imported_globals; i < m->nglobals; i++) {
        int rc = check_const(m, &m->globals[i].init, m->globals[i].type.type, report);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int check_elems(const struct wasm_module *m, struct spry_report *report)
{
    for (uint32_t i = 0; i < m->nelems; i++) {
        const struct wasm_elem *e = &m->elems[i];
        if (!is_ref(e->reftype))
            return spry_report_set(report, SPRY_EMALFORMED,
                                   "malformed reference type (elem segment %u)", i);
        for (uint32_t j = 0; j < e->count; j++) {
            int rc = check_const(m, &e->items[j], e->reftype, report);
            if (rc != 0)
                return rc;
        }
        if (e->mode != WASM_SEG_ACTIVE)
            continue;
        if (e->table >= m->ntables)
            return spry_report_set(report, SPRY_EINVALID, "unknown table %u (elem segment %u)",
                                   e->table, i);
        if (m->tables[e->table].type.elem != e->reftype)
            return spry_report_set(report, SPRY_EINVALID,
                                   "type mismatch: elem segment %u of %s for table %u of %s", i,
                                   validate_type_name(e->reftype), e->table,
                                   validate_type_name(m->tables[e->table].type.elem));
        int rc = check_const(m, &e->offset, SPRY_I32, report);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int check_datas(const struct wasm_module *m, struct spry_report *report)
{
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const struct wasm_data *d = &m->datas[i];
        if (d->mode != WASM_SEG_ACTIVE)
            continue;
        if (d->memory >= m->nmemories)
            return spry_report_set(report, SPRY_EINVALID, "unknown memory %u (data segment %u)",
                                   d->memory, i);
        int rc = check_const(m, &d->offset, SPRY_I32, report);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int check_start(const struct wasm_module *m, struct spry_report *report)
{
    if (!m->has_start)
        return 0;
    if (m->start >= m->nfuncs)
        return spry_report_set(report, SPRY_EINVALID, "unknown function %u (start function)",
                               m->start);
    const struct wasm_functype *ft = module_func_type(m, m->start);
    if (ft->nparams != 0 || ft->nresults != 0)
        return spry_report_set(report, SPRY_EINVALID,
                               "start function %u must have type [] -> [], not [%u params] -> "
                               "[%u results]",
                               m->start, ft->nparams, ft->nresults);
    return 0;
}

static uint32_t name_hash(const char *name, uint32_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (uint32_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)name[i]) * 16777619u;
    return h;
}

/* Export names are unique: a hash set of export indices, open addressing. */
static int check_export_names(const struct wasm_module *m, struct spry_report *report)
{
    if (m->nexports < 2)
        return 0;
    size_t cap = 16;
    while (cap < (size_t)m->nexports * 2)
        cap *= 2;
    uint32_t *slots = spry_calloc(cap, sizeof *slots); /* export index + 1; 0 = empty */
    if (slots == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory checking export names");
    int rc = 0;
    for (uint32_t i = 0; i < m->nexports && rc == 0; i++) {
        const struct wasm_export *e = &m->exports[i];
        size_t at = name_hash(e->name, e->name_len) & (cap - 1);
        for (; slots[at] != 0; at = (at + 1) & (cap - 1)) {
            const struct wasm_export *o = &m->exports[slots[at] - 1];
            if (o->name_len == e->name_len &&
                (e->name_len == 0 || memcmp(o->name, e->name, e->name_len) == 0)) {
                rc = spry_report_set(report, SPRY_EINVALID, "duplicate export name \"%.*s\"",
                                     (int)(e->name_len > 100 ? 100 : e->name_len), e->name);
                break;
            }
        }
        slots[at] = i + 1;
    }
    spry_free(slots);
    return rc;
}

static int check_exports(const struct wasm_module *m, struct spry_report *report)
{
    for (uint32_t i = 0; i < m->nexports; i++) {
        const struct wasm_export *e = &m->exports[i];
        const char *what;
        uint32_t n;
        switch (e->kind) {
        case SPRY_EXTERN_FUNC:
            what = "unknown function";
            n = m->nfuncs;
            break;
        case SPRY_EXTERN_TABLE:
            what = "unknown table";
            n = m->ntables;
            break;
        case SPRY_EXTERN_MEMORY:
            what = "unknown memory";
            n = m->nmemories;
            break;
        case SPRY_EXTERN_GLOBAL:
            what = "unknown global";
            n = m->nglobals;
            break;
        default:
            return spry_report_set(report, SPRY_EMALFORMED, "malformed export kind (export %u)", i);
        }
        if (e->index >= n)
            return spry_report_set(report, SPRY_EINVALID, "%s %u (export %u)", what, e->index, i);
    }
    return check_export_names(m, report);
}

static int check_bodies(const struct wasm_module *m, struct spry_report *report)
{
    struct validate_stacks stacks;
    validate_stacks_init(&stacks);
    int rc = 0;
    for (uint32_t i = m->num_imported_funcs; i < m->nfuncs && rc == 0; i++)
        rc = validate_func_body(&stacks, m, i, report);
    validate_stacks_fini(&stacks);
    return rc;
}

/* After a validation error: the first body that does not decode, if any. */
static int find_malformed_body(const struct wasm_module *m, struct spry_report *report)
{
    for (uint32_t i = m->num_imported_funcs; i < m->nfuncs; i++) {
        int rc = validate_skim_body(m, i, report);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int validate_module(const struct wasm_module *m, struct spry_report *report)
{
    struct spry_report first;
    spry_report_init(&first);
    int rc = check_shape(m, &first);
    if (rc == 0)
        rc = check_functions(m, &first);
    if (rc == 0)
        rc = check_tables(m, &first);
    if (rc == 0)
        rc = check_memories(m, &first);
    if (rc == 0)
        rc = check_globals(m, &first);
    if (rc == 0)
        rc = check_elems(m, &first);
    if (rc == 0)
        rc = check_datas(m, &first);
    if (rc == 0)
        rc = check_start(m, &first);
    if (rc == 0)
        rc = check_exports(m, &first);
    if (rc == 0)
        rc = check_bodies(m, &first);
    if (rc == SPRY_EINVALID) {
        struct spry_report decoding;
        spry_report_init(&decoding);
        if (find_malformed_body(m, &decoding) != 0)
            first = decoding;
    }
    if (first.code != 0)
        spry_report_set(report, first.code, "%s", first.message);
    return first.code;
}

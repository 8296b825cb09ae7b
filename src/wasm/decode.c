/*
 * The WebAssembly 2.0 binary decoder
 * (https://webassembly.github.io/spec/core/binary/modules.html).
 *
 * The input is hostile. Rules every function here keeps:
 *  - All reads go through the bounds-checked reader (reader.h). The reader
 *    spans the whole input, not one section: like the reference interpreter,
 *    a section that overruns its declared size is caught afterwards by the
 *    "section size mismatch" check, which keeps our messages equal to the
 *    ones the spec test suite expects.
 *  - A count is checked against the bytes that remain before anything is
 *    allocated for it (every entry takes at least one byte, so a count
 *    larger than what remains is "length out of bounds") and against the
 *    WASM_MAX_* limits (SPRY_ETOOBIG).
 *  - Sizes are added and multiplied with overflow checks; the input is at
 *    most UINT32_MAX bytes, so offsets fit the uint32_t fields of the module.
 *  - Nothing recurses on input depth.
 *  - A count in struct wasm_module is set right after its zeroed array is
 *    allocated, so module_free() can free a module abandoned at any point.
 *
 * Errors are SPRY_EMALFORMED with a message that starts with the text the
 * spec test suite expects, then " at offset 0x..". The one validation error
 * found here, a non-constant instruction in a constant expression, is
 * remembered and reported (SPRY_EINVALID) only once the whole module decoded,
 * so that a malformed module is always reported as malformed.
 */
#include "base/alloc.h"
#include "wasm/decode.h"
#include "wasm/module.h"
#include "wasm/opcodes.h"
#include "wasm/reader.h"

#include <string.h>

/* Sum of declared locals over all functions of a module: bounds the memory
 * the expanded local_types arrays take (a few bytes of input can declare
 * WASM_MAX_LOCALS locals). */
enum { DECODE_MAX_TOTAL_LOCALS = 1 << 26 };

/* Items of all element segments of a module: each costs a struct
 * wasm_constexpr (40 bytes) for as little as one byte of input. */
enum { DECODE_MAX_TOTAL_ELEM_ITEMS = WASM_MAX_TABLE_ELEMS };

/* The decoder accepts any number of memories; the validator enforces the
 * Wasm 2.0 limit of one with the spec's "multiple memories" error. */
enum { DECODE_MAX_MEMORIES = WASM_MAX_TABLES };

enum { KIND_COUNT = 4 }; /* enum spry_extern_kind */

/* The type of an import, kept until its index space is built. */
union import_type {
    uint32_t type_index;
    struct wasm_tabletype table;
    struct spry_limits memory;
    struct wasm_globaltype global;
};

struct decoder {
    struct wasm_reader r;
    struct wasm_module *m;
    struct spry_report *report;

    union import_type *import_types; /* m->nimports entries */
    uint32_t nimported[KIND_COUNT];  /* imports per kind */
    bool space_built[KIND_COUNT];    /* index space of a kind allocated */

    uint32_t ndefined_funcs; /* from the function section */
    bool have_code;
    uint64_t total_locals;
    uint64_t total_elem_items;

    uint32_t customs_cap;
    const struct wasm_custom *name_section; /* first "name" custom section */

    bool const_error; /* a non-constant instruction in a constant expression */
    size_t const_error_offset;
};

/* ---- errors and reads ------------------------------------------------- */

static size_t offset(const struct decoder *d)
{
    return reader_offset(&d->r);
}

static int fail(struct decoder *d, size_t at, const char *msg)
{
    return spry_report_set(d->report, SPRY_EMALFORMED, "%s at offset 0x%zx", msg, at);
}

static int fail_nomem(struct decoder *d)
{
    return spry_report_set(d->report, SPRY_ENOMEM, "out of memory decoding module at offset 0x%zx",
                           offset(d));
}

static int fail_limit(struct decoder *d, size_t at, const char *what, unsigned long limit)
{
    return spry_report_set(d->report, SPRY_ETOOBIG, "too many %s (limit %lu) at offset 0x%zx", what,
                           limit, at);
}

/* Reports a reader failure in the words of the spec tests. End of input
 * inside a section or function is "unexpected end of section or function";
 * the tests that expect plain "unexpected end" accept it as a prefix. */
static int fail_read(struct decoder *d, int rc, size_t at)
{
    switch (rc) {
    case READER_TOO_LONG:
        return fail(d, at, "integer representation too long");
    case READER_TOO_LARGE:
        return fail(d, at, "integer too large");
    default:
        return fail(d, d->m->len, "unexpected end of section or function");
    }
}

static int read_u8(struct decoder *d, uint8_t *out)
{
    int rc = reader_u8(&d->r, out);
    return rc == READER_OK ? 0 : fail_read(d, rc, offset(d));
}

static int read_u32(struct decoder *d, uint32_t *out)
{
    size_t at = offset(d);
    int rc = reader_u32(&d->r, out);
    return rc == READER_OK ? 0 : fail_read(d, rc, at);
}

static int read_s32(struct decoder *d, int32_t *out)
{
    size_t at = offset(d);
    int rc = reader_s32(&d->r, out);
    return rc == READER_OK ? 0 : fail_read(d, rc, at);
}

static int read_s64(struct decoder *d, int64_t *out)
{
    size_t at = offset(d);
    int rc = reader_s64(&d->r, out);
    return rc == READER_OK ? 0 : fail_read(d, rc, at);
}

static int read_bytes(struct decoder *d, size_t n, const uint8_t **out)
{
    int rc = reader_bytes(&d->r, n, out);
    return rc == READER_OK ? 0 : fail_read(d, rc, offset(d));
}

/* A length or count: at most the number of bytes from its own first byte to
 * the end of the input, as the reference interpreter checks it. */
static int read_len(struct decoder *d, uint32_t *out)
{
    size_t at = offset(d);
    uint32_t n;
    int rc = read_u32(d, &n);
    if (rc != 0)
        return rc;
    if (n > d->m->len - at)
        return fail(d, at, "length out of bounds");
    *out = n;
    return 0;
}

/* A vector count, also bounded by an implementation limit. */
static int read_count(struct decoder *d, uint32_t *out, uint32_t max, const char *what)
{
    size_t at = offset(d);
    int rc = read_len(d, out);
    if (rc != 0)
        return rc;
    if (*out > max)
        return fail_limit(d, at, what, max);
    return 0;
}

static int read_name(struct decoder *d, const char **name, uint32_t *len)
{
    size_t at = offset(d);
    const uint8_t *bytes = NULL;
    int rc = read_len(d, len);
    if (rc == 0)
        rc = read_bytes(d, *len, &bytes);
    if (rc != 0)
        return rc;
    if (!decode_utf8_valid(bytes, *len))
        return fail(d, at, "malformed UTF-8 encoding");
    *name = (const char *)bytes;
    return 0;
}

/* ---- types ------------------------------------------------------------ */

static int read_reftype(struct decoder *d, uint8_t *out)
{
    size_t at = offset(d);
    uint8_t t = 0;
    int rc = read_u8(d, &t);
    if (rc != 0)
        return rc;
    if (t & 0x80) /* a longer s7 LEB128 to the reference interpreter */
        return fail(d, at, "integer representation too long");
    if (t != SPRY_FUNCREF && t != SPRY_EXTERNREF)
        return fail(d, at, "malformed reference type");
    *out = t;
    return 0;
}

static int read_valtype(struct decoder *d, uint8_t *out)
{
    size_t at = offset(d);
    uint8_t t = 0;
    int rc = read_u8(d, &t);
    if (rc != 0)
        return rc;
    switch (t) {
    case SPRY_I32:
    case SPRY_I64:
    case SPRY_F32:
    case SPRY_F64:
    case SPRY_FUNCREF:
    case SPRY_EXTERNREF:
        *out = t;
        return 0;
    case SPRY_V128:
        return spry_report_set(d->report, SPRY_EUNSUPPORTED,
                               "v128 (SIMD) is not supported at offset 0x%zx", at);
    default:
        /* Value types are s7 LEB128s to the reference interpreter, and the
         * values below the vector type are read as reference types. */
        if (t & 0x80)
            return fail(d, at, "integer representation too long");
        return fail(d, at, "malformed reference type");
    }
}

/* limits ::= 0x00 min | 0x01 min max. The flag is a 1-bit LEB128 to the
 * reference interpreter, hence its messages. */
static int read_limits(struct decoder *d, struct spry_limits *out)
{
    size_t at = offset(d);
    uint8_t flag = 0;
    uint32_t min, max = 0;
    int rc = read_u8(d, &flag);
    if (rc != 0)
        return rc;
    if ((flag & 0x7f) > 1)
        return fail(d, at, "integer too large");
    if (flag & 0x80)
        return fail(d, at, "integer representation too long");
    rc = read_u32(d, &min);
    if (rc == 0 && flag == 1)
        rc = read_u32(d, &max);
    if (rc != 0)
        return rc;
    *out = (struct spry_limits){min, max, flag == 1};
    return 0;
}

static int read_tabletype(struct decoder *d, struct wasm_tabletype *out)
{
    int rc = read_reftype(d, &out->elem);
    if (rc == 0)
        rc = read_limits(d, &out->limits);
    return rc;
}

static int read_globaltype(struct decoder *d, struct wasm_globaltype *out)
{
    int rc = read_valtype(d, &out->type);
    if (rc != 0)
        return rc;
    size_t at = offset(d);
    uint8_t mut = 0;
    rc = read_u8(d, &mut);
    if (rc != 0)
        return rc;
    if (mut > 1)
        return fail(d, at, "malformed mutability");
    out->mutable_ = mut == 1;
    return 0;
}

/* ---- index spaces ----------------------------------------------------- */

static void mark_ref(struct decoder *d, uint32_t func)
{
    /* An unknown index is the validator's to report. */
    if (d->m->declared_refs != NULL && func < d->m->nfuncs)
        d->m->declared_refs[func] = 1;
}

/* Allocates the whole index space of `kind`: imports first, then `ndefined`
 * definitions (zeroed, filled by their section). */
static int build_space(struct decoder *d, uint8_t kind, uint32_t ndefined)
{
    static const uint32_t max[KIND_COUNT] = {WASM_MAX_FUNCS, WASM_MAX_TABLES, DECODE_MAX_MEMORIES,
                                             WASM_MAX_GLOBALS};
    static const char *const what[KIND_COUNT] = {"functions", "tables", "memories", "globals"};
    struct wasm_module *m = d->m;
    uint32_t nimp = d->nimported[kind];
    uint64_t total = (uint64_t)nimp + ndefined;
    if (total > max[kind])
        return fail_limit(d, offset(d), what[kind], max[kind]);
    uint32_t n = (uint32_t)total;

    switch (kind) {
    case SPRY_EXTERN_FUNC:
        m->funcs = spry_calloc(n, sizeof *m->funcs);
        if (m->funcs == NULL)
            return fail_nomem(d);
        m->nfuncs = n;
        m->num_imported_funcs = nimp;
        m->declared_refs = spry_calloc(n, 1);
        if (m->declared_refs == NULL)
            return fail_nomem(d);
        break;
    case SPRY_EXTERN_TABLE:
        m->tables = spry_calloc(n, sizeof *m->tables);
        if (m->tables == NULL)
            return fail_nomem(d);
        m->ntables = n;
        m->num_imported_tables = nimp;
        break;
    case SPRY_EXTERN_MEMORY:
        m->memories = spry_calloc(n, sizeof *m->memories);
        if (m->memories == NULL)
            return fail_nomem(d);
        m->nmemories = n;
        m->num_imported_memories = nimp;
        break;
    case SPRY_EXTERN_GLOBAL:
        m->globals = spry_calloc(n, sizeof *m->globals);
        if (m->globals == NULL)
            return fail_nomem(d);
        m->nglobals = n;
        m->num_imported_globals = nimp;
        break;
    }

    for (uint32_t i = 0; i < m->nimports; i++) {
        const struct wasm_import *imp = &m->imports[i];
        const union import_type *t = &d->import_types[i];
        if (imp->kind != kind)
            continue;
        switch (kind) {
        case SPRY_EXTERN_FUNC:
            m->funcs[imp->index].type_index = t->type_index;
            m->funcs[imp->index].imported = true;
            break;
        case SPRY_EXTERN_TABLE:
            m->tables[imp->index].type = t->table;
            m->tables[imp->index].imported = true;
            break;
        case SPRY_EXTERN_MEMORY:
            m->memories[imp->index].limits = t->memory;
            m->memories[imp->index].imported = true;
            break;
        case SPRY_EXTERN_GLOBAL:
            m->globals[imp->index].type = t->global;
            m->globals[imp->index].imported = true;
            break;
        }
    }
    d->space_built[kind] = true;
    return 0;
}

/* Position of each section id in the required order (datacount sits
 * between element and code). */
static int section_rank(uint8_t id)
{
    static const uint8_t rank[] = {
        [WASM_SEC_TYPE] = 1,   [WASM_SEC_IMPORT] = 2, [WASM_SEC_FUNCTION] = 3,
        [WASM_SEC_TABLE] = 4,  [WASM_SEC_MEMORY] = 5, [WASM_SEC_GLOBAL] = 6,
        [WASM_SEC_EXPORT] = 7, [WASM_SEC_START] = 8,  [WASM_SEC_ELEMENT] = 9,
        [WASM_SEC_CODE] = 11,  [WASM_SEC_DATA] = 12,  [WASM_SEC_DATACOUNT] = 10,
    };
    return rank[id];
}

/* Builds, with no definitions, the index spaces whose defining section would
 * have come before a section of rank `rank`. */
static int build_spaces_before(struct decoder *d, int rank)
{
    static const uint8_t defining[KIND_COUNT] = {WASM_SEC_FUNCTION, WASM_SEC_TABLE, WASM_SEC_MEMORY,
                                                 WASM_SEC_GLOBAL};
    for (uint8_t kind = 0; kind < KIND_COUNT; kind++) {
        if (d->space_built[kind] || section_rank(defining[kind]) >= rank)
            continue;
        int rc = build_space(d, kind, 0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- constant expressions --------------------------------------------- */

static int const_append(struct wasm_constexpr *ce, size_t *cap, const struct wasm_const_instr *ins)
{
    if (ce->count == 0) {
        ce->first = *ins;
        ce->count = 1;
        return 0;
    }
    size_t nrest = ce->count - 1;
    if (nrest == *cap) {
        size_t new_cap = *cap == 0 ? 4 : *cap * 2;
        struct wasm_const_instr *grown = spry_realloc_array(ce->rest, new_cap, sizeof *grown);
        if (grown == NULL)
            return SPRY_ENOMEM;
        ce->rest = grown;
        *cap = new_cap;
    }
    ce->rest[nrest] = *ins;
    ce->count++;
    return 0;
}

static int expect_zero(struct decoder *d)
{
    size_t at = offset(d);
    uint8_t b = 0;
    int rc = read_u8(d, &b);
    if (rc == 0 && b != 0)
        rc = fail(d, at, "zero byte expected");
    return rc;
}

/* Skips the immediates of instruction `op` (at offset `at`), which is not
 * `end`, counting the blocks it opens in *depth. */
static int skip_instr(struct decoder *d, size_t at, uint8_t op, uint32_t *depth)
{
    uint32_t code = op, u;
    int rc = 0;
    if (op == 0xfc) {
        rc = read_u32(d, &u);
        if (rc != 0)
            return rc;
        if (u > 0xff)
            return fail(d, at, "illegal opcode");
        code = 0xfc00 | u;
    }
    const struct wasm_opinfo *info = opcode_info(code);
    if (info == NULL)
        return fail(d, at, "illegal opcode");
    if (op == OP_ELSE && *depth == 0)
        return fail(d, at, "END opcode expected");

    int64_t s;
    int32_t s32;
    uint8_t b = 0;
    const uint8_t *bytes;
    switch ((enum wasm_imm)info->imm) {
    case IMM_NONE:
        break;
    case IMM_BLOCKTYPE:
        rc = reader_s33(&d->r, &s);
        rc = rc == READER_OK ? 0 : fail_read(d, rc, at);
        (*depth)++;
        break;
    case IMM_LABEL:
    case IMM_FUNC:
    case IMM_LOCAL:
    case IMM_GLOBAL:
    case IMM_TABLE:
    case IMM_ELEM:
    case IMM_DATA:
        rc = read_u32(d, &u);
        break;
    case IMM_CALL_INDIRECT:
    case IMM_TABLE_TABLE:
    case IMM_ELEM_TABLE:
    case IMM_MEMARG:
        rc = read_u32(d, &u);
        if (rc == 0)
            rc = read_u32(d, &u);
        break;
    case IMM_BR_TABLE: {
        uint32_t n;
        rc = read_len(d, &n);
        for (uint64_t i = 0; rc == 0 && i <= n; i++)
            rc = read_u32(d, &u);
        break;
    }
    case IMM_DATA_MEM:
        rc = read_u32(d, &u);
        if (rc == 0)
            rc = expect_zero(d);
        break;
    case IMM_MEM:
        rc = expect_zero(d);
        break;
    case IMM_MEM_MEM:
        rc = expect_zero(d);
        if (rc == 0)
            rc = expect_zero(d);
        break;
    case IMM_I32:
        rc = read_s32(d, &s32);
        break;
    case IMM_I64:
        rc = read_s64(d, &s);
        break;
    case IMM_F32:
        rc = read_bytes(d, 4, &bytes);
        break;
    case IMM_F64:
        rc = read_bytes(d, 8, &bytes);
        break;
    case IMM_SELECT_T: {
        uint32_t n;
        rc = read_len(d, &n);
        for (uint32_t i = 0; rc == 0 && i < n; i++)
            rc = read_valtype(d, &b);
        break;
    }
    case IMM_REFTYPE:
        rc = read_reftype(d, &b);
        break;
    }
    return rc;
}

/* Records that the constant expression has a non-constant instruction at
 * `at` (opcode `op`, already read) and skips to the expression's `end`,
 * checking only that the instructions decode. */
static int skip_nonconst(struct decoder *d, size_t at, uint8_t op)
{
    if (!d->const_error) {
        d->const_error = true;
        d->const_error_offset = at;
    }
    uint32_t depth = 0;
    for (;;) {
        int rc;
        if (op == OP_END) {
            if (depth == 0)
                return 0;
            depth--;
        } else {
            rc = skip_instr(d, at, op, &depth);
            if (rc != 0)
                return rc;
        }
        at = offset(d);
        rc = read_u8(d, &op);
        if (rc != 0)
            return rc;
    }
}

/* expr ::= instr* 0x0b, of the instructions allowed in constant
 * expressions
 * (https://webassembly.github.io/spec/core/valid/instructions.html#constant-expressions) plus
 * extended-const arithmetic. */
static int decode_const(struct decoder *d, struct wasm_constexpr *ce)
{
    size_t cap = 0;
    ce->offset = (uint32_t)offset(d);
    for (;;) {
        size_t at = offset(d);
        uint8_t op = 0;
        int rc = read_u8(d, &op);
        if (rc != 0)
            return rc;
        struct wasm_const_instr ins = {0};
        switch (op) {
        case OP_END:
            return 0;
        case OP_I32_CONST:
            ins.op = WASM_CONST_I32;
            rc = read_s32(d, &ins.value.i32);
            break;
        case OP_I64_CONST:
            ins.op = WASM_CONST_I64;
            rc = read_s64(d, &ins.value.i64);
            break;
        case OP_F32_CONST: {
            uint32_t bits = 0;
            ins.op = WASM_CONST_F32;
            rc = reader_fixed32(&d->r, &bits);
            rc = rc == READER_OK ? 0 : fail_read(d, rc, at);
            ins.value.bits = bits;
            break;
        }
        case OP_F64_CONST:
            ins.op = WASM_CONST_F64;
            rc = reader_fixed64(&d->r, &ins.value.bits);
            rc = rc == READER_OK ? 0 : fail_read(d, rc, at);
            break;
        case OP_REF_NULL:
            ins.op = WASM_CONST_REF_NULL;
            rc = read_reftype(d, &ins.value.reftype);
            break;
        case OP_REF_FUNC:
            ins.op = WASM_CONST_REF_FUNC;
            rc = read_u32(d, &ins.value.index);
            if (rc == 0)
                mark_ref(d, ins.value.index);
            break;
        case OP_GLOBAL_GET:
            ins.op = WASM_CONST_GLOBAL_GET;
            rc = read_u32(d, &ins.value.index);
            break;
        case OP_I32_ADD:
            ins.op = WASM_CONST_I32_ADD;
            break;
        case OP_I32_SUB:
            ins.op = WASM_CONST_I32_SUB;
            break;
        case OP_I32_MUL:
            ins.op = WASM_CONST_I32_MUL;
            break;
        case OP_I64_ADD:
            ins.op = WASM_CONST_I64_ADD;
            break;
        case OP_I64_SUB:
            ins.op = WASM_CONST_I64_SUB;
            break;
        case OP_I64_MUL:
            ins.op = WASM_CONST_I64_MUL;
            break;
        default:
            return skip_nonconst(d, at, op);
        }
        if (rc != 0)
            return rc;
        if (const_append(ce, &cap, &ins) != 0)
            return fail_nomem(d);
    }
}

/* ---- sections --------------------------------------------------------- */

static int decode_types(struct decoder *d)
{
    struct wasm_module *m = d->m;
    uint32_t n;
    int rc = read_count(d, &n, WASM_MAX_TYPES, "types");
    if (rc != 0)
        return rc;
    m->types = spry_calloc(n, sizeof *m->types);
    if (m->types == NULL)
        return fail_nomem(d);
    m->ntypes = n;
    for (uint32_t i = 0; i < n; i++) {
        struct wasm_functype *ft = &m->types[i];
        size_t at = offset(d);
        uint8_t form = 0;
        rc = read_u8(d, &form);
        if (rc != 0)
            return rc;
        if (form & 0x80) /* an s7 LEB128 to the reference interpreter */
            return fail(d, at, "integer representation too long");
        if (form != 0x60)
            return fail(d, at, "malformed function type");

        /* Value types are single bytes, so params and results are copied
         * straight from the input once both are known to be well-formed. */
        const uint8_t *params, *results;
        uint8_t t;
        rc = read_count(d, &ft->nparams, WASM_MAX_PARAMS, "parameters");
        params = d->r.pos;
        for (uint32_t j = 0; rc == 0 && j < ft->nparams; j++)
            rc = read_valtype(d, &t);
        if (rc == 0)
            rc = read_count(d, &ft->nresults, WASM_MAX_RESULTS, "results");
        results = d->r.pos;
        for (uint32_t j = 0; rc == 0 && j < ft->nresults; j++)
            rc = read_valtype(d, &t);
        if (rc != 0)
            return rc;

        /* Never NULL, even for [] -> [], so that `types + nparams` is
         * defined for every consumer. */
        ft->types = spry_malloc((size_t)ft->nparams + ft->nresults);
        if (ft->types == NULL)
            return fail_nomem(d);
        memcpy(ft->types, params, ft->nparams);
        memcpy(ft->types + ft->nparams, results, ft->nresults);
        ft->type_id = functype_intern(ft->types, ft->nparams, ft->nresults);
        if (ft->type_id == 0)
            return fail_nomem(d);
    }
    return 0;
}

static int decode_imports(struct decoder *d)
{
    struct wasm_module *m = d->m;
    uint32_t n;
    int rc = read_count(d, &n, WASM_MAX_IMPORTS, "imports");
    if (rc != 0)
        return rc;
    d->import_types = spry_calloc(n, sizeof *d->import_types);
    if (d->import_types == NULL)
        return fail_nomem(d);
    m->imports = spry_calloc(n, sizeof *m->imports);
    if (m->imports == NULL)
        return fail_nomem(d);
    m->nimports = n;
    for (uint32_t i = 0; i < n; i++) {
        struct wasm_import *imp = &m->imports[i];
        union import_type *t = &d->import_types[i];
        rc = read_name(d, &imp->module, &imp->module_len);
        if (rc == 0)
            rc = read_name(d, &imp->name, &imp->name_len);
        if (rc != 0)
            return rc;
        size_t at = offset(d);
        rc = read_u8(d, &imp->kind);
        if (rc != 0)
            return rc;
        switch (imp->kind) {
        case SPRY_EXTERN_FUNC:
            rc = read_u32(d, &t->type_index);
            break;
        case SPRY_EXTERN_TABLE:
            rc = read_tabletype(d, &t->table);
            break;
        case SPRY_EXTERN_MEMORY:
            rc = read_limits(d, &t->memory);
            break;
        case SPRY_EXTERN_GLOBAL:
            rc = read_globaltype(d, &t->global);
            break;
        default:
            return fail(d, at, "malformed import kind");
        }
        if (rc != 0)
            return rc;
        imp->index = d->nimported[imp->kind]++;
    }
    return 0;
}

static int decode_functions(struct decoder *d)
{
    uint32_t n;
    int rc = read_count(d, &n, WASM_MAX_FUNCS, "functions");
    if (rc == 0)
        rc = build_space(d, SPRY_EXTERN_FUNC, n);
    if (rc != 0)
        return rc;
    d->ndefined_funcs = n;
    struct wasm_func *defined = d->m->funcs + d->m->num_imported_funcs;
    for (uint32_t i = 0; i < n; i++) {
        rc = read_u32(d, &defined[i].type_index);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int decode_tables(struct decoder *d)
{
    uint32_t n;
    int rc = read_count(d, &n, WASM_MAX_TABLES, "tables");
    if (rc == 0)
        rc = build_space(d, SPRY_EXTERN_TABLE, n);
    if (rc != 0)
        return rc;
    struct wasm_table *defined = d->m->tables + d->m->num_imported_tables;
    for (uint32_t i = 0; i < n; i++) {
        rc = read_tabletype(d, &defined[i].type);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int decode_memories(struct decoder *d)
{
    uint32_t n;
    int rc = read_count(d, &n, DECODE_MAX_MEMORIES, "memories");
    if (rc == 0)
        rc = build_space(d, SPRY_EXTERN_MEMORY, n);
    if (rc != 0)
        return rc;
    struct wasm_memory *defined = d->m->memories + d->m->num_imported_memories;
    for (uint32_t i = 0; i < n; i++) {
        rc = read_limits(d, &defined[i].limits);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int decode_globals(struct decoder *d)
{
    uint32_t n;
    int rc = read_count(d, &n, WASM_MAX_GLOBALS, "globals");
    if (rc == 0)
        rc = build_space(d, SPRY_EXTERN_GLOBAL, n);
    if (rc != 0)
        return rc;
    struct wasm_global *defined = d->m->globals + d->m->num_imported_globals;
    for (uint32_t i = 0; i < n; i++) {
        rc = read_globaltype(d, &defined[i].type);
        if (rc == 0)
            rc = decode_const(d, &defined[i].init);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int decode_exports(struct decoder *d)
{
    struct wasm_module *m = d->m;
    uint32_t n;
    int rc = read_count(d, &n, WASM_MAX_EXPORTS, "exports");
    if (rc != 0)
        return rc;
    m->exports = spry_calloc(n, sizeof *m->exports);
    if (m->exports == NULL)
        return fail_nomem(d);
    m->nexports = n;
    for (uint32_t i = 0; i < n; i++) {
        struct wasm_export *exp = &m->exports[i];
        rc = read_name(d, &exp->name, &exp->name_len);
        if (rc != 0)
            return rc;
        size_t at = offset(d);
        rc = read_u8(d, &exp->kind);
        if (rc != 0)
            return rc;
        if (exp->kind >= KIND_COUNT)
            return fail(d, at, "malformed export kind");
        rc = read_u32(d, &exp->index);
        if (rc != 0)
            return rc;
        if (exp->kind == SPRY_EXTERN_FUNC)
            mark_ref(d, exp->index);
    }
    return 0;
}

static int decode_start(struct decoder *d)
{
    int rc = read_u32(d, &d->m->start);
    if (rc == 0)
        d->m->has_start = true;
    return rc;
}

/*
 * elem ::= flags:u32 then, by the bits of flags
 * (https://webassembly.github.io/spec/core/binary/modules.html#element-section):
 *   bit 0: passive or declarative (else active), bit 1 with bit 0 clear:
 *   explicit table index; bit 1 with bit 0 set: declarative; bit 2: items
 *   are expressions (with a reftype) instead of function indices (with an
 *   elemkind). Flags 0 and 4 have neither table index nor type.
 */
static int decode_elem(struct decoder *d, struct wasm_elem *e)
{
    size_t at = offset(d);
    uint32_t flags;
    int rc = read_u32(d, &flags);
    if (rc != 0)
        return rc;
    if (flags > 7)
        return fail(d, at, "malformed elements segment kind");
    bool exprs = flags & 4;
    e->mode = (flags & 1) == 0 ? WASM_SEG_ACTIVE
              : (flags & 2)    ? WASM_SEG_DECLARATIVE
                               : WASM_SEG_PASSIVE;
    e->reftype = SPRY_FUNCREF;
    if (e->mode == WASM_SEG_ACTIVE) {
        if (flags & 2)
            rc = read_u32(d, &e->table);
        if (rc == 0)
            rc = decode_const(d, &e->offset);
        if (rc != 0)
            return rc;
    }
    if (flags & 3) {
        if (exprs) {
            rc = read_reftype(d, &e->reftype);
        } else {
            at = offset(d);
            uint8_t kind = 0;
            rc = read_u8(d, &kind);
            if (rc == 0 && kind != 0x00)
                rc = fail(d, at, "malformed element kind");
        }
        if (rc != 0)
            return rc;
    }

    uint32_t n;
    at = offset(d);
    rc = read_count(d, &n, WASM_MAX_TABLE_ELEMS, "element segment items");
    if (rc != 0)
        return rc;
    d->total_elem_items += n;
    if (d->total_elem_items > DECODE_MAX_TOTAL_ELEM_ITEMS)
        return fail_limit(d, at, "element segment items in all segments",
                          DECODE_MAX_TOTAL_ELEM_ITEMS);
    e->items = spry_calloc(n, sizeof *e->items);
    if (e->items == NULL)
        return fail_nomem(d);
    e->count = n;
    for (uint32_t i = 0; i < n; i++) {
        struct wasm_constexpr *item = &e->items[i];
        if (exprs) {
            rc = decode_const(d, item);
        } else {
            item->offset = (uint32_t)offset(d);
            item->count = 1;
            item->first.op = WASM_CONST_REF_FUNC;
            rc = read_u32(d, &item->first.value.index);
            if (rc == 0)
                mark_ref(d, item->first.value.index);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int decode_elems(struct decoder *d)
{
    struct wasm_module *m = d->m;
    uint32_t n;
    int rc = read_count(d, &n, WASM_MAX_ELEMS, "element segments");
    if (rc != 0)
        return rc;
    m->elems = spry_calloc(n, sizeof *m->elems);
    if (m->elems == NULL)
        return fail_nomem(d);
    m->nelems = n;
    for (uint32_t i = 0; i < n; i++) {
        rc = decode_elem(d, &m->elems[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int decode_datacount(struct decoder *d)
{
    int rc = read_u32(d, &d->m->datacount);
    if (rc == 0)
        d->m->has_datacount = true;
    return rc;
}

/* The declared locals of one body: vec(count:u32 valtype). Read twice: once
 * to check and sum the counts, once to expand them. */
static int decode_locals(struct decoder *d, struct wasm_func *f)
{
    size_t at = offset(d);
    uint32_t nentries;
    int rc = read_len(d, &nentries);
    if (rc != 0)
        return rc;
    struct wasm_reader entries = d->r;
    uint64_t total = 0;
    for (uint32_t i = 0; i < nentries; i++) {
        uint32_t count;
        uint8_t t;
        rc = read_u32(d, &count);
        if (rc == 0)
            rc = read_valtype(d, &t);
        if (rc != 0)
            return rc;
        total += count;
        if (total > WASM_MAX_LOCALS)
            return fail(d, at, "too many locals");
    }
    if (f->type_index < d->m->ntypes &&
        total + d->m->types[f->type_index].nparams > WASM_MAX_LOCALS)
        return fail(d, at, "too many locals");
    d->total_locals += total;
    if (d->total_locals > DECODE_MAX_TOTAL_LOCALS)
        return fail_limit(d, at, "locals in all functions", DECODE_MAX_TOTAL_LOCALS);
    if (total == 0)
        return 0;

    f->local_types = spry_malloc((size_t)total);
    if (f->local_types == NULL)
        return fail_nomem(d);
    f->nlocals = (uint32_t)total;
    size_t filled = 0;
    for (uint32_t i = 0; i < nentries; i++) {
        uint32_t count = 0;
        uint8_t t = 0;
        /* Checked by the first pass. */
        (void)reader_u32(&entries, &count);
        (void)reader_u8(&entries, &t);
        memset(f->local_types + filled, t, count);
        filled += count;
    }
    return 0;
}

static int decode_code(struct decoder *d)
{
    struct wasm_module *m = d->m;
    size_t at = offset(d);
    uint32_t n;
    int rc = read_len(d, &n);
    if (rc != 0)
        return rc;
    if (n != d->ndefined_funcs)
        return fail(d, at, "function and code section have inconsistent lengths");
    d->have_code = true;
    struct wasm_func *defined = m->funcs + m->num_imported_funcs;
    for (uint32_t i = 0; i < n; i++) {
        struct wasm_func *f = &defined[i];
        at = offset(d);
        uint32_t size;
        rc = read_len(d, &size);
        if (rc != 0)
            return rc;
        if (size > WASM_MAX_BODY)
            return fail_limit(d, at, "bytes in a function body", WASM_MAX_BODY);
        size_t body = offset(d);
        if (size > reader_left(&d->r))
            return fail(d, m->len, "unexpected end of section or function");
        rc = decode_locals(d, f);
        if (rc != 0)
            return rc;
        if (offset(d) > body + size)
            return fail(d, body, "section size mismatch");
        f->body_offset = (uint32_t)body;
        f->body_size = size;
        f->expr_offset = (uint32_t)offset(d);
        d->r.pos = d->r.start + body + size;
    }
    return 0;
}

static int decode_data(struct decoder *d, struct wasm_data *seg)
{
    size_t at = offset(d);
    uint32_t flags;
    int rc = read_u32(d, &flags);
    if (rc != 0)
        return rc;
    if (flags > 2)
        return fail(d, at, "malformed data segment kind");
    seg->mode = flags == 1 ? WASM_SEG_PASSIVE : WASM_SEG_ACTIVE;
    if (flags == 2)
        rc = read_u32(d, &seg->memory);
    if (rc == 0 && flags != 1)
        rc = decode_const(d, &seg->offset);
    if (rc == 0)
        rc = read_len(d, &seg->size);
    if (rc == 0)
        rc = read_bytes(d, seg->size, &seg->bytes);
    return rc;
}

static int decode_datas(struct decoder *d)
{
    struct wasm_module *m = d->m;
    uint32_t n;
    int rc = read_count(d, &n, WASM_MAX_DATAS, "data segments");
    if (rc != 0)
        return rc;
    m->datas = spry_calloc(n, sizeof *m->datas);
    if (m->datas == NULL)
        return fail_nomem(d);
    m->ndatas = n;
    for (uint32_t i = 0; i < n; i++) {
        rc = decode_data(d, &m->datas[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* custom ::= name byte*, the bytes running to the end of the section. */
static int decode_custom(struct decoder *d, size_t end)
{
    struct wasm_module *m = d->m;
    struct wasm_custom c;
    int rc = read_name(d, &c.name, &c.name_len);
    if (rc != 0)
        return rc;
    if (offset(d) > end || end > m->len)
        return fail(d, m->len, "unexpected end of section or function");
    c.data = d->r.pos;
    c.size = (uint32_t)(end - offset(d));
    d->r.pos = d->r.start + end;

    if (m->ncustoms == d->customs_cap) {
        /* Each custom section takes at least two bytes: no overflow. */
        uint32_t cap = d->customs_cap == 0 ? 4 : d->customs_cap * 2;
        struct wasm_custom *grown = spry_realloc_array(m->customs, cap, sizeof *grown);
        if (grown == NULL)
            return fail_nomem(d);
        m->customs = grown;
        d->customs_cap = cap;
    }
    m->customs[m->ncustoms++] = c;
    return 0;
}

static int decode_section(struct decoder *d, uint8_t id)
{
    switch (id) {
    case WASM_SEC_TYPE:
        return decode_types(d);
    case WASM_SEC_IMPORT:
        return decode_imports(d);
    case WASM_SEC_FUNCTION:
        return decode_functions(d);
    case WASM_SEC_TABLE:
        return decode_tables(d);
    case WASM_SEC_MEMORY:
        return decode_memories(d);
    case WASM_SEC_GLOBAL:
        return decode_globals(d);
    case WASM_SEC_EXPORT:
        return decode_exports(d);
    case WASM_SEC_START:
        return decode_start(d);
    case WASM_SEC_ELEMENT:
        return decode_elems(d);
    case WASM_SEC_DATACOUNT:
        return decode_datacount(d);
    case WASM_SEC_CODE:
        return decode_code(d);
    default:
        return decode_datas(d);
    }
}

static int decode_header(struct decoder *d)
{
    static const uint8_t magic[4] = {0x00, 'a', 's', 'm'};
    uint32_t version;
    const uint8_t *bytes;
    if (reader_bytes(&d->r, 4, &bytes) != READER_OK)
        return fail(d, 0, "unexpected end");
    if (memcmp(bytes, magic, 4) != 0)
        return fail(d, 0, "magic header not detected");
    if (reader_fixed32(&d->r, &version) != READER_OK)
        return fail(d, 4, "unexpected end");
    if (version != 1)
        return fail(d, 4, "unknown binary version");
    return 0;
}

static int decode_sections(struct decoder *d)
{
    struct wasm_module *m = d->m;
    int rc = decode_header(d);
    if (rc != 0)
        return rc;

    int last_rank = 0;
    while (!reader_eof(&d->r)) {
        size_t at = offset(d);
        uint8_t id;
        uint32_t size;
        rc = read_u8(d, &id);
        if (rc != 0)
            return rc;
        if (id > WASM_SEC_DATACOUNT)
            return fail(d, at, "malformed section id");
        rc = read_len(d, &size);
        if (rc != 0)
            return rc;
        size_t start = offset(d);
        size_t end = start + size; /* both below 2^32 */
        if (id == WASM_SEC_CUSTOM) {
            rc = decode_custom(d, end);
            if (rc != 0)
                return rc;
            continue;
        }
        int rank = section_rank(id);
        if (rank <= last_rank)
            return fail(d, at, "unexpected content after last section");
        last_rank = rank;
        rc = build_spaces_before(d, rank);
        if (rc == 0)
            rc = decode_section(d, id);
        if (rc != 0)
            return rc;
        if (offset(d) != end)
            return fail(d, start, "section size mismatch");
    }

    rc = build_spaces_before(d, 13);
    if (rc != 0)
        return rc;
    if (!d->have_code && d->ndefined_funcs != 0)
        return fail(d, m->len, "function and code section have inconsistent lengths");
    if (m->has_datacount && m->datacount != m->ndatas)
        return fail(d, m->len, "data count and data section have inconsistent lengths");

    for (uint32_t i = 0; i < m->ncustoms; i++) {
        const struct wasm_custom *c = &m->customs[i];
        if (c->name_len == 4 && memcmp(c->name, "name", 4) == 0) {
            if (decode_name_section(m, c->data, c->size) != 0)
                return fail_nomem(d);
            break;
        }
    }

    if (d->const_error)
        return spry_report_set(d->report, SPRY_EINVALID,
                               "constant expression required at offset 0x%zx",
                               d->const_error_offset);
    return 0;
}

int decode_module(uint8_t *bytes, size_t len, struct wasm_module **out, struct spry_report *report)
{
    if (len > UINT32_MAX) {
        spry_free(bytes);
        return spry_report_set(report, SPRY_ETOOBIG, "module of %zu bytes is too large", len);
    }
    static const uint8_t empty[1];
    const uint8_t *input = bytes != NULL ? bytes : empty;
    if (bytes == NULL)
        len = 0;
    struct wasm_module *m = spry_calloc(1, sizeof *m);
    if (m == NULL) {
        spry_free(bytes);
        return spry_report_set(report, SPRY_ENOMEM, "out of memory decoding module");
    }
    m->bytes = bytes;
    m->len = len;

    struct decoder d = {
        .r = {input, input, input + len},
        .m = m,
        .report = report,
    };
    int rc = decode_sections(&d);
    spry_free(d.import_types);
    if (rc != 0) {
        module_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

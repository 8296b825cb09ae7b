/*
 * Validation of function bodies
 * (https://webassembly.github.io/spec/core/valid/instructions.html), with
 * the algorithm of the spec's appendix
 * (https://webassembly.github.io/spec/core/appendix/algorithm.html).
 *
 * The decoder does not decode bodies, so this file also decodes them: one
 * pass reads each instruction and its immediates with the bounds-checked
 * reader and types it at once. Bytes that do not decode are SPRY_EMALFORMED,
 * typing errors SPRY_EINVALID. Instructions are looked up in the shared
 * opcode table; those with a fixed signature are typed from the table alone.
 *
 * No recursion: nesting lives on the control stack (a heap array), so depth
 * is bounded by the body's size (each block/loop/if takes at least two bytes)
 * and never by the C stack.
 */
#include "wasm/validate.h"

#include "base/alloc.h"
#include "spry/error.h"
#include "wasm/opcodes.h"
#include "wasm/reader.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

enum validate_frame_kind {
    FRAME_FUNC,
    FRAME_BLOCK,
    FRAME_LOOP,
    FRAME_IF,
    FRAME_ELSE,
};

/* The spec's "Unknown" operand type, found only under a polymorphic stack. */
enum { VAL_UNKNOWN = 0 };

/* Upper bound on the operand stack, an implementation limit. A body of
 * WASM_MAX_BODY bytes that only pushes needs under 4 Mi entries; only calls
 * with hundreds of results can go further, and no real module does. */
enum { VALIDATE_MAX_VALS = 1 << 24 };

/* single_type[t] == t for every value type, so &single_type[t] is the result
 * list [t] of a block typed by one value type, with a lifetime independent of
 * the stacks. */
static const uint8_t single_type[256] = {
    [SPRY_I32] = SPRY_I32, [SPRY_I64] = SPRY_I64,         [SPRY_F32] = SPRY_F32,
    [SPRY_F64] = SPRY_F64, [SPRY_FUNCREF] = SPRY_FUNCREF, [SPRY_EXTERNREF] = SPRY_EXTERNREF,
};

static bool is_valtype(uint8_t t)
{
    /* Wasm 2.0 without SIMD: no v128. */
    return t != VAL_UNKNOWN && single_type[t] == t;
}

static bool is_num(uint8_t t)
{
    return t == SPRY_I32 || t == SPRY_I64 || t == SPRY_F32 || t == SPRY_F64;
}

static bool is_ref(uint8_t t)
{
    return t == SPRY_FUNCREF || t == SPRY_EXTERNREF;
}

const char *validate_type_name(uint8_t type)
{
    switch (type) {
    case SPRY_I32:
        return "i32";
    case SPRY_I64:
        return "i64";
    case SPRY_F32:
        return "f32";
    case SPRY_F64:
        return "f64";
    case SPRY_V128:
        return "v128";
    case SPRY_FUNCREF:
        return "funcref";
    case SPRY_EXTERNREF:
        return "externref";
    case VAL_UNKNOWN:
        return "any";
    }
    return "?";
}

/* ---- decoding ------------------------------------------------------------ */

/* The immediates of one instruction, as read by read_imm. */
struct imm {
    uint32_t a, b;      /* indices, label, or memarg align (a) and offset (b) */
    int64_t blocktype;  /* IMM_BLOCKTYPE: -64 empty, -1..-17 a value type, >= 0 a type index */
    const uint8_t *vec; /* IMM_BR_TABLE: first label (already well-formed) */
    uint32_t count;     /* IMM_BR_TABLE: labels before the default; IMM_SELECT_T: types */
    uint8_t type;       /* IMM_SELECT_T: the first type; IMM_REFTYPE: the type */
};

static int malformed(struct spry_report *report, size_t at, const char *what)
{
    return spry_report_set(report, SPRY_EMALFORMED, "%s at offset 0x%zx", what, at);
}

static int reader_fail(struct spry_report *report, const struct wasm_reader *r, int why)
{
    const char *what = "unexpected end";
    if (why == READER_TOO_LONG)
        what = "integer representation too long";
    else if (why == READER_TOO_LARGE)
        what = "integer too large";
    return malformed(report, reader_offset(r), what);
}

/* opcode_info() for every code, looked up once per process so that the
 * per-instruction lookup is one load: [0, 256) single-byte opcodes, [256,
 * 512) 0xFC-prefixed ones. */
static const struct wasm_opinfo *op_table[512];
static pthread_once_t op_table_once = PTHREAD_ONCE_INIT;

static void fill_op_table(void)
{
    for (uint32_t code = 0; code < 256; code++) {
        op_table[code] = opcode_info(code);
        op_table[256 + code] = opcode_info(0xfc00 | code);
    }
}

/* Reads an opcode: one byte, or 0xFC and a u32 sub-opcode. */
static int read_opcode_slow(struct wasm_reader *r, const struct wasm_opinfo **out,
                            struct spry_report *report)
{
    size_t at = reader_offset(r);
    uint8_t byte;
    int rc = reader_u8(r, &byte);
    if (rc != READER_OK)
        return reader_fail(report, r, rc);
    uint32_t code = byte;
    if (byte == 0xfc) {
        uint32_t sub;
        rc = reader_u32(r, &sub);
        if (rc != READER_OK)
            return reader_fail(report, r, rc);
        if (sub > 0xff)
            return spry_report_set(report, SPRY_EMALFORMED,
                                   "illegal opcode 0xfc 0x%x at offset 0x%zx", sub, at);
        code = 0xfc00 | sub;
    }
    const struct wasm_opinfo *info = op_table[code < 0x100 ? code : 0x100 + (code & 0xff)];
    if (info == NULL) {
        if (code > 0xff)
            return spry_report_set(report, SPRY_EMALFORMED,
                                   "illegal opcode 0xfc 0x%x at offset 0x%zx", code & 0xff, at);
        return spry_report_set(report, SPRY_EMALFORMED, "illegal opcode 0x%x at offset 0x%zx", code,
                               at);
    }
    *out = info;
    return 0;
}

static inline int read_opcode(struct wasm_reader *r, const struct wasm_opinfo **out,
                              struct spry_report *report)
{
    if (r->pos < r->end && *r->pos != 0xfc) {
        const struct wasm_opinfo *info = op_table[*r->pos];
        if (info != NULL) {
            r->pos++;
            *out = info;
            return 0;
        }
    }
    return read_opcode_slow(r, out, report);
}

static int read_zero(struct wasm_reader *r, struct spry_report *report)
{
    size_t at = reader_offset(r);
    uint8_t byte;
    int rc = reader_u8(r, &byte);
    if (rc != READER_OK)
        return reader_fail(report, r, rc);
    if (byte != 0)
        return malformed(report, at, "zero byte expected");
    return 0;
}

static inline int read_u32(struct wasm_reader *r, uint32_t *out, struct spry_report *report)
{
    if (r->pos < r->end && *r->pos < 0x80) { /* the common one-byte case */
        *out = *r->pos++;
        return 0;
    }
    int rc = reader_u32(r, out);
    return rc == READER_OK ? 0 : reader_fail(report, r, rc);
}

/* A vector length: each element takes at least one byte, so a length beyond
 * the bytes left cannot be right (and is never used to size anything). */
static int read_len(struct wasm_reader *r, uint32_t *out, struct spry_report *report)
{
    size_t at = reader_offset(r);
    int rc = read_u32(r, out, report);
    if (rc == 0 && *out > reader_left(r))
        return malformed(report, at, "length out of bounds");
    return rc;
}

/* Block types (https://webassembly.github.io/spec/core/binary/instructions.html#binary-blocktype):
 * 0x40, a value type byte, or a non-negative s33 type index. */
static int read_blocktype(struct wasm_reader *r, int64_t *out, struct spry_report *report)
{
    size_t at = reader_offset(r);
    if (reader_eof(r))
        return reader_fail(report, r, READER_EOF);
    uint8_t first = *r->pos;
    if (first == 0x40 || is_valtype(first)) {
        r->pos++;
        *out = (int64_t)first - 0x80;
        return 0;
    }
    int rc = reader_s33(r, out);
    if (rc != READER_OK)
        return reader_fail(report, r, rc);
    if (*out < 0)
        return malformed(report, at, "malformed block type");
    return 0;
}

/* Reads the immediates of an instruction of immediate layout `kind`,
 * checking everything the binary format requires of them. */
static int read_imm(struct wasm_reader *r, const struct wasm_module *m, unsigned kind,
                    struct imm *imm, struct spry_report *report, size_t at)
{
    int rc = 0;
    switch ((enum wasm_imm)kind) {
    case IMM_NONE:
        return 0;
    case IMM_BLOCKTYPE:
        return read_blocktype(r, &imm->blocktype, report);
    case IMM_LABEL:
    case IMM_FUNC:
    case IMM_LOCAL:
    case IMM_GLOBAL:
    case IMM_TABLE:
    case IMM_ELEM:
        return read_u32(r, &imm->a, report);
    case IMM_CALL_INDIRECT: /* type index, table index */
    case IMM_TABLE_TABLE:
    case IMM_ELEM_TABLE:
    case IMM_MEMARG: /* align, offset */
        rc = read_u32(r, &imm->a, report);
        if (rc == 0)
            rc = read_u32(r, &imm->b, report);
        return rc;
    case IMM_BR_TABLE:
        rc = read_len(r, &imm->count, report);
        imm->vec = r->pos;
        for (uint32_t i = 0; rc == 0 && i < imm->count; i++)
            rc = read_u32(r, &imm->a, report);
        if (rc == 0)
            rc = read_u32(r, &imm->a, report); /* the default label */
        return rc;
    case IMM_DATA_MEM:
    case IMM_DATA:
        /* https://webassembly.github.io/spec/core/binary/modules.html#data-count-section
         * Without data segments every data index is unknown anyway, which is
         * what validation reports: wast2json (wabt) omits the section then. */
        if (!m->has_datacount && m->ndatas != 0)
            return malformed(report, at, "data count section required");
        rc = read_u32(r, &imm->a, report);
        if (rc == 0 && kind == IMM_DATA_MEM)
            rc = read_zero(r, report);
        return rc;
    case IMM_MEM:
        return read_zero(r, report);
    case IMM_MEM_MEM:
        rc = read_zero(r, report);
        if (rc == 0)
            rc = read_zero(r, report);
        return rc;
    case IMM_I32: {
        int32_t v;
        rc = reader_s32(r, &v);
        return rc == READER_OK ? 0 : reader_fail(report, r, rc);
    }
    case IMM_I64: {
        int64_t v;
        rc = reader_s64(r, &v);
        return rc == READER_OK ? 0 : reader_fail(report, r, rc);
    }
    case IMM_F32: {
        uint32_t v;
        rc = reader_fixed32(r, &v);
        return rc == READER_OK ? 0 : reader_fail(report, r, rc);
    }
    case IMM_F64: {
        uint64_t v;
        rc = reader_fixed64(r, &v);
        return rc == READER_OK ? 0 : reader_fail(report, r, rc);
    }
    case IMM_SELECT_T:
        rc = read_len(r, &imm->count, report);
        imm->type = VAL_UNKNOWN;
        for (uint32_t i = 0; rc == 0 && i < imm->count; i++) {
            size_t type_at = reader_offset(r);
            uint8_t t;
            rc = reader_u8(r, &t);
            if (rc != READER_OK)
                return reader_fail(report, r, rc);
            if (!is_valtype(t))
                return malformed(report, type_at, "malformed value type");
            if (i == 0)
                imm->type = t;
        }
        return rc;
    case IMM_REFTYPE: {
        size_t type_at = reader_offset(r);
        rc = reader_u8(r, &imm->type);
        if (rc != READER_OK)
            return reader_fail(report, r, rc);
        if (!is_ref(imm->type))
            return malformed(report, type_at, "malformed reference type");
        return 0;
    }
    }
    return malformed(report, at, "illegal opcode");
}

/* Checks the body's bytes lie inside the module and sets up a reader over
 * its instructions. */
static int body_reader(const struct wasm_module *m, const struct wasm_func *f,
                       struct wasm_reader *r, struct spry_report *report)
{
    size_t end;
    if (spry_add_overflow(f->body_offset, f->body_size, &end) || end > m->len ||
        f->expr_offset < f->body_offset || f->expr_offset > end)
        return spry_report_set(report, SPRY_EMALFORMED,
                               "function body out of bounds at offset 0x%x", f->body_offset);
    r->start = m->bytes;
    r->pos = m->bytes + f->expr_offset;
    r->end = m->bytes + end;
    return 0;
}

/* The body ran out before its final `end`. The spec's decoder reads on into
 * whatever follows, so what it reports depends on those bytes: the next body
 * (a missing `end`), nothing (the code section was cut short), or the next
 * section (its size no longer adds up). */
static int body_ended(const struct wasm_module *m, uint32_t func_index, const struct wasm_reader *r,
                      struct spry_report *report)
{
    const char *what = "END opcode expected";
    if (func_index + 1 == m->nfuncs)
        what = reader_offset(r) < m->len ? "section size mismatch"
                                         : "unexpected end of section or function";
    return malformed(report, reader_offset(r), what);
}

int validate_skim_body(const struct wasm_module *m, uint32_t func_index, struct spry_report *report)
{
    pthread_once(&op_table_once, fill_op_table);
    struct wasm_reader r;
    int rc = body_reader(m, &m->funcs[func_index], &r, report);
    if (rc != 0)
        return rc;
    uint64_t depth = 0;
    for (;;) {
        size_t at = reader_offset(&r);
        if (reader_eof(&r))
            return body_ended(m, func_index, &r, report);
        const struct wasm_opinfo *info;
        rc = read_opcode(&r, &info, report);
        if (rc != 0)
            return rc;
        struct imm imm;
        rc = read_imm(&r, m, info->imm, &imm, report, at);
        if (rc != 0)
            return rc;
        if (info->code == OP_BLOCK || info->code == OP_LOOP || info->code == OP_IF) {
            depth++;
        } else if (info->code == OP_END) {
            if (depth == 0)
                return reader_eof(&r)
                           ? 0
                           : malformed(report, reader_offset(&r), "section size mismatch");
            depth--;
        }
    }
}

int validate_table_writes(const struct wasm_module *m, uint32_t func_index, uint8_t *written)
{
    pthread_once(&op_table_once, fill_op_table);
    struct spry_report report;
    spry_report_init(&report);
    struct wasm_reader r;
    int rc = body_reader(m, &m->funcs[func_index], &r, &report);
    while (rc == 0 && !reader_eof(&r)) {
        size_t at = reader_offset(&r);
        const struct wasm_opinfo *info;
        struct imm imm;
        rc = read_opcode(&r, &info, &report);
        if (rc == 0)
            rc = read_imm(&r, m, info->imm, &imm, &report, at);
        if (rc != 0)
            break;
        uint32_t t = UINT32_MAX;
        switch (info->code) {
        case OP_TABLE_SET:
        case OP_TABLE_GROW:
        case OP_TABLE_FILL:
        case OP_TABLE_COPY: /* table.copy dst src */
            t = imm.a;
            break;
        case OP_TABLE_INIT: /* table.init elem table */
            t = imm.b;
            break;
        default:
            break;
        }
        if (t != UINT32_MAX) {
            if (t >= m->ntables)
                return SPRY_EINVALID;
            written[t] = 1;
        }
    }
    return rc;
}

/* ---- typing -------------------------------------------------------------- */

/* One body being validated. */
struct body {
    struct validate_stacks *s;
    const struct wasm_module *m;
    struct spry_report *report;
    size_t at; /* offset of the instruction being validated */
    const uint8_t *params;
    uint32_t nparams;
    const uint8_t *locals; /* declared locals, after the params */
    uint64_t nlocals;      /* params + declared locals */
    const uint8_t *results;
    uint32_t nresults;
    uint32_t br_tables; /* br_table instructions so far, numbering frame marks */
};

static int fail(struct body *b, const char *what)
{
    return spry_report_set(b->report, SPRY_EINVALID, "%s at offset 0x%zx", what, b->at);
}

static int fail_index(struct body *b, const char *what, uint64_t index)
{
    return spry_report_set(b->report, SPRY_EINVALID, "%s %llu at offset 0x%zx", what,
                           (unsigned long long)index, b->at);
}

/* got < 0: the stack had nothing left for this frame. */
static int mismatch(struct body *b, uint8_t want, int got)
{
    if (got < 0)
        return spry_report_set(b->report, SPRY_EINVALID,
                               "type mismatch at offset 0x%zx: expected %s, found empty stack",
                               b->at, validate_type_name(want));
    return spry_report_set(b->report, SPRY_EINVALID,
                           "type mismatch at offset 0x%zx: expected %s, found %s", b->at,
                           validate_type_name(want), validate_type_name((uint8_t)got));
}

static int grow_vals(struct body *b, uint32_t more)
{
    struct validate_stacks *s = b->s;
    uint64_t want = (uint64_t)s->nvals + more;
    if (want <= s->cap_vals)
        return 0;
    if (want > VALIDATE_MAX_VALS)
        return spry_report_set(b->report, SPRY_ETOOBIG,
                               "operand stack deeper than %u values at offset 0x%zx",
                               (unsigned)VALIDATE_MAX_VALS, b->at);
    uint64_t cap = s->cap_vals != 0 ? s->cap_vals : 256;
    while (cap < want)
        cap *= 2;
    if (cap > VALIDATE_MAX_VALS)
        cap = VALIDATE_MAX_VALS;
    uint8_t *vals = spry_realloc(s->vals, (size_t)cap);
    if (vals == NULL)
        return spry_report_set(b->report, SPRY_ENOMEM, "out of memory validating offset 0x%zx",
                               b->at);
    s->vals = vals;
    s->cap_vals = (uint32_t)cap;
    return 0;
}

static inline int push(struct body *b, uint8_t type)
{
    struct validate_stacks *s = b->s;
    if (s->nvals == s->cap_vals) {
        int rc = grow_vals(b, 1);
        if (rc != 0)
            return rc;
    }
    s->vals[s->nvals++] = type;
    return 0;
}

static int push_n(struct body *b, const uint8_t *types, uint32_t n)
{
    int rc = grow_vals(b, n);
    if (rc != 0)
        return rc;
    if (n != 0)
        memcpy(b->s->vals + b->s->nvals, types, n);
    b->s->nvals += n;
    return 0;
}

static inline struct validate_frame *top_frame(struct body *b)
{
    return &b->s->frames[b->s->nframes - 1];
}

/* Pops one operand of any type: returns its type (VAL_UNKNOWN under a
 * polymorphic stack) or a negative error. */
static inline int pop_any(struct body *b, uint8_t want_for_message)
{
    struct validate_stacks *s = b->s;
    const struct validate_frame *f = top_frame(b);
    if (s->nvals == f->height) {
        if (f->unreachable)
            return VAL_UNKNOWN;
        return mismatch(b, want_for_message, -1);
    }
    return s->vals[--s->nvals];
}

static inline int pop_expect(struct body *b, uint8_t want)
{
    struct validate_stacks *s = b->s;
    const struct validate_frame *f = top_frame(b);
    if (s->nvals == f->height) {
        if (f->unreachable)
            return 0;
        return mismatch(b, want, -1);
    }
    uint8_t got = s->vals[--s->nvals];
    if (got != want && got != VAL_UNKNOWN && want != VAL_UNKNOWN)
        return mismatch(b, want, got);
    return 0;
}

/* Pops operands of the given types (the last one on top). */
static int pop_n(struct body *b, const uint8_t *types, uint32_t n)
{
    for (uint32_t i = n; i-- > 0;) {
        int rc = pop_expect(b, types[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The spec's push_vals(pop_vals(types)): checks the top n operands against
 * `types` and leaves them on the stack as they were, materialising Unknown
 * operands where a polymorphic stack had none (br_table). */
static int peek_n(struct body *b, const uint8_t *types, uint32_t n)
{
    struct validate_stacks *s = b->s;
    const struct validate_frame *f = top_frame(b);
    uint32_t avail = s->nvals - f->height;
    uint32_t have = avail < n ? avail : n;
    for (uint32_t i = 0; i < have; i++) {
        uint8_t got = s->vals[s->nvals - have + i];
        uint8_t want = types[n - have + i];
        if (got != want && got != VAL_UNKNOWN)
            return mismatch(b, want, got);
    }
    if (have < n) {
        if (!f->unreachable)
            return mismatch(b, types[n - have - 1], -1);
        uint32_t missing = n - have;
        int rc = grow_vals(b, missing);
        if (rc != 0)
            return rc;
        uint8_t *base = s->vals + f->height;
        memmove(base + missing, base, have);
        memset(base, VAL_UNKNOWN, missing);
        s->nvals += missing;
    }
    return 0;
}

static int push_frame(struct body *b, uint8_t kind, const uint8_t *params, uint32_t nparams,
                      const uint8_t *results, uint32_t nresults)
{
    struct validate_stacks *s = b->s;
    if (s->nframes == s->cap_frames) {
        /* Depth is bounded by the body size, itself bounded by the module's. */
        uint32_t cap = s->cap_frames != 0 ? s->cap_frames * 2 : 64;
        if (cap < s->cap_frames)
            return spry_report_set(b->report, SPRY_ETOOBIG, "nesting too deep at offset 0x%zx",
                                   b->at);
        struct validate_frame *frames = spry_realloc_array(s->frames, cap, sizeof *frames);
        if (frames == NULL)
            return spry_report_set(b->report, SPRY_ENOMEM, "out of memory validating offset 0x%zx",
                                   b->at);
        s->frames = frames;
        s->cap_frames = cap;
    }
    s->frames[s->nframes++] = (struct validate_frame){
        .params = params,
        .results = results,
        .nparams = nparams,
        .nresults = nresults,
        .height = s->nvals,
        .mark = 0,
        .kind = kind,
        .unreachable = false,
    };
    return push_n(b, params, nparams);
}

/* Pops the innermost frame, checking its operands are exactly its results. */
static int pop_frame(struct body *b, struct validate_frame *out)
{
    struct validate_stacks *s = b->s;
    struct validate_frame *f = top_frame(b);
    int rc = pop_n(b, f->results, f->nresults);
    if (rc != 0)
        return rc;
    if (s->nvals != f->height)
        return spry_report_set(b->report, SPRY_EINVALID,
                               "type mismatch at offset 0x%zx: %u values left at end of block",
                               b->at, s->nvals - f->height);
    *out = *f;
    s->nframes--;
    return 0;
}

static void set_unreachable(struct body *b)
{
    struct validate_frame *f = top_frame(b);
    b->s->nvals = f->height;
    f->unreachable = true;
}

/* The types a branch to `label` carries. */
static int label_types(struct body *b, uint32_t label, const uint8_t **types, uint32_t *n)
{
    if (label >= b->s->nframes)
        return fail_index(b, "unknown label", label);
    const struct validate_frame *f = &b->s->frames[b->s->nframes - 1 - label];
    if (f->kind == FRAME_LOOP) {
        *types = f->params;
        *n = f->nparams;
    } else {
        *types = f->results;
        *n = f->nresults;
    }
    return 0;
}

static int block_type(struct body *b, int64_t bt, const uint8_t **params, uint32_t *nparams,
                      const uint8_t **results, uint32_t *nresults)
{
    if (bt < 0) {
        *params = NULL;
        *nparams = 0;
        if (bt == -64) {
            *results = NULL;
            *nresults = 0;
        } else {
            *results = &single_type[(uint8_t)(bt + 0x80)];
            *nresults = 1;
        }
        return 0;
    }
    if ((uint64_t)bt >= b->m->ntypes)
        return fail_index(b, "unknown type", (uint64_t)bt);
    const struct wasm_functype *ft = &b->m->types[bt];
    *params = ft->types;
    *nparams = ft->nparams;
    *results = ft->types + ft->nparams;
    *nresults = ft->nresults;
    return 0;
}

static bool same_types(const uint8_t *a, uint32_t na, const uint8_t *b, uint32_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na) == 0);
}

static int check_memory(struct body *b)
{
    if (b->m->nmemories == 0)
        return fail_index(b, "unknown memory", 0);
    return 0;
}

static int check_table(struct body *b, uint32_t table, uint8_t *elem)
{
    if (table >= b->m->ntables)
        return fail_index(b, "unknown table", table);
    *elem = b->m->tables[table].type.elem;
    return 0;
}

static int check_func(struct body *b, uint32_t func, const struct wasm_functype **type)
{
    if (func >= b->m->nfuncs)
        return fail_index(b, "unknown function", func);
    uint32_t ti = b->m->funcs[func].type_index;
    if (ti >= b->m->ntypes) /* checked by validate_module; kept for safety */
        return fail_index(b, "unknown type", ti);
    *type = &b->m->types[ti];
    return 0;
}

static int check_data(struct body *b, uint32_t data)
{
    /* C.datas has datacount entries; the decoder checked it equals ndatas.
     * Without the section there are no data segments here (read_imm). */
    if (!b->m->has_datacount || data >= b->m->datacount || data >= b->m->ndatas)
        return fail_index(b, "unknown data segment", data);
    return 0;
}

static int check_elem(struct body *b, uint32_t elem, uint8_t *type)
{
    if (elem >= b->m->nelems)
        return fail_index(b, "unknown elem segment", elem);
    *type = b->m->elems[elem].reftype;
    return 0;
}

static inline int check_local(struct body *b, uint32_t local, uint8_t *type)
{
    if (local >= b->nlocals)
        return fail_index(b, "unknown local", local);
    *type = local < b->nparams ? b->params[local] : b->locals[local - b->nparams];
    return 0;
}

static int check_global(struct body *b, uint32_t global, const struct wasm_globaltype **type)
{
    if (global >= b->m->nglobals)
        return fail_index(b, "unknown global", global);
    *type = &b->m->globals[global].type;
    return 0;
}

/* log2 of the access size of a load or store. */
static unsigned natural_alignment(uint32_t code)
{
    switch (code) {
    case OP_I64_LOAD:
    case OP_F64_LOAD:
    case OP_I64_STORE:
    case OP_F64_STORE:
        return 3;
    case OP_I32_LOAD:
    case OP_F32_LOAD:
    case OP_I64_LOAD32_S:
    case OP_I64_LOAD32_U:
    case OP_I32_STORE:
    case OP_F32_STORE:
    case OP_I64_STORE32:
        return 2;
    case OP_I32_LOAD16_S:
    case OP_I32_LOAD16_U:
    case OP_I64_LOAD16_S:
    case OP_I64_LOAD16_U:
    case OP_I32_STORE16:
    case OP_I64_STORE16:
        return 1;
    default:
        return 0;
    }
}

/* Immediates of instructions with a fixed signature that still need checks. */
static int check_fixed_imm(struct body *b, const struct wasm_opinfo *info, const struct imm *imm)
{
    int rc;
    switch (info->imm) {
    case IMM_MEMARG:
        rc = check_memory(b);
        if (rc == 0 && imm->a > natural_alignment(info->code))
            rc = fail(b, "alignment must not be larger than natural");
        return rc;
    case IMM_MEM:
    case IMM_MEM_MEM:
        return check_memory(b);
    case IMM_DATA_MEM:
        rc = check_memory(b);
        if (rc == 0)
            rc = check_data(b, imm->a);
        return rc;
    default:
        return 0;
    }
}

static int validate_br_table(struct body *b, const struct imm *imm, const struct wasm_reader *r)
{
    int rc = pop_expect(b, SPRY_I32);
    if (rc != 0)
        return rc;
    const uint8_t *def;
    uint32_t arity;
    rc = label_types(b, imm->a, &def, &arity);
    if (rc != 0)
        return rc;
    /* A label checked once by this br_table needs no second look: the
     * operands it was checked against stay as they are. This keeps a table of
     * millions of labels to the same few targets linear in its size. Each
     * br_table takes 3 bytes or more, so the count cannot wrap in a body. */
    uint32_t mark = ++b->br_tables;
    /* The labels were read once already: they are well-formed and end at or before r->pos. */
    struct wasm_reader labels = {r->start, imm->vec, r->pos};
    for (uint32_t i = 0; i < imm->count; i++) {
        uint32_t label = 0;
        (void)reader_u32(&labels, &label);
        const uint8_t *types;
        uint32_t n;
        rc = label_types(b, label, &types, &n);
        if (rc != 0)
            return rc;
        if (n != arity)
            return spry_report_set(b->report, SPRY_EINVALID,
                                   "type mismatch at offset 0x%zx: br_table label %u carries %u "
                                   "values, the default %u",
                                   b->at, label, n, arity);
        struct validate_frame *target = &b->s->frames[b->s->nframes - 1 - label];
        if (target->mark == mark)
            continue;
        target->mark = mark;
        rc = peek_n(b, types, n);
        if (rc != 0)
            return rc;
    }
    rc = pop_n(b, def, arity);
    if (rc == 0)
        set_unreachable(b);
    return rc;
}

static int validate_select(struct body *b, const struct imm *imm, bool typed)
{
    if (typed) {
        if (imm->count != 1)
            return fail(b, "invalid result arity");
        int rc = pop_expect(b, SPRY_I32);
        if (rc == 0)
            rc = pop_expect(b, imm->type);
        if (rc == 0)
            rc = pop_expect(b, imm->type);
        if (rc == 0)
            rc = push(b, imm->type);
        return rc;
    }
    int rc = pop_expect(b, SPRY_I32);
    if (rc != 0)
        return rc;
    int t1 = pop_any(b, SPRY_I32);
    if (t1 < 0)
        return t1;
    int t2 = pop_any(b, (uint8_t)t1);
    if (t2 < 0)
        return t2;
    /* Untyped select only takes numeric (or vector) operands. */
    if (t1 != VAL_UNKNOWN && !is_num((uint8_t)t1))
        return mismatch(b, SPRY_I32, t1);
    if (t2 != VAL_UNKNOWN && !is_num((uint8_t)t2))
        return mismatch(b, SPRY_I32, t2);
    if (t1 != t2 && t1 != VAL_UNKNOWN && t2 != VAL_UNKNOWN)
        return mismatch(b, (uint8_t)t1, t2);
    return push(b, (uint8_t)(t1 == VAL_UNKNOWN ? t2 : t1));
}

/* call / call_indirect and their tail-call forms: pops the arguments; a
 * tail call's callee must return exactly what the caller returns. */
static int validate_call(struct body *b, const struct wasm_functype *ft, bool tail)
{
    const uint8_t *results = ft->types + ft->nparams;
    if (tail && !same_types(results, ft->nresults, b->results, b->nresults))
        return spry_report_set(b->report, SPRY_EINVALID,
                               "type mismatch at offset 0x%zx: tail call's results differ from "
                               "the function's",
                               b->at);
    int rc = pop_n(b, ft->types, ft->nparams);
    if (rc != 0)
        return rc;
    if (tail) {
        set_unreachable(b);
        return 0;
    }
    return push_n(b, results, ft->nresults);
}

static int validate_call_indirect(struct body *b, const struct imm *imm, bool tail)
{
    uint8_t elem = VAL_UNKNOWN;
    int rc = check_table(b, imm->b, &elem);
    if (rc != 0)
        return rc;
    if (imm->a >= b->m->ntypes)
        return fail_index(b, "unknown type", imm->a);
    if (elem != SPRY_FUNCREF)
        return mismatch(b, SPRY_FUNCREF, elem);
    rc = pop_expect(b, SPRY_I32);
    if (rc != 0)
        return rc;
    return validate_call(b, &b->m->types[imm->a], tail);
}

/* Instructions typed by hand (SIG_SPECIAL) other than control. */
static int validate_special(struct body *b, uint32_t code, const struct imm *imm)
{
    const struct wasm_functype *ft = NULL;
    const struct wasm_globaltype *gt = NULL;
    uint8_t t = VAL_UNKNOWN, t2 = VAL_UNKNOWN;
    int rc;
    switch (code) {
    case OP_CALL:
    case OP_RETURN_CALL:
        rc = check_func(b, imm->a, &ft);
        if (rc == 0)
            rc = validate_call(b, ft, code == OP_RETURN_CALL);
        return rc;
    case OP_CALL_INDIRECT:
    case OP_RETURN_CALL_INDIRECT:
        return validate_call_indirect(b, imm, code == OP_RETURN_CALL_INDIRECT);
    case OP_DROP:
        rc = pop_any(b, VAL_UNKNOWN);
        return rc < 0 ? rc : 0;
    case OP_SELECT:
    case OP_SELECT_T:
        return validate_select(b, imm, code == OP_SELECT_T);
    case OP_LOCAL_GET:
        rc = check_local(b, imm->a, &t);
        if (rc == 0)
            rc = push(b, t);
        return rc;
    case OP_LOCAL_SET:
        rc = check_local(b, imm->a, &t);
        if (rc == 0)
            rc = pop_expect(b, t);
        return rc;
    case OP_LOCAL_TEE:
        rc = check_local(b, imm->a, &t);
        if (rc == 0)
            rc = pop_expect(b, t);
        if (rc == 0)
            rc = push(b, t);
        return rc;
    case OP_GLOBAL_GET:
        rc = check_global(b, imm->a, &gt);
        if (rc == 0)
            rc = push(b, gt->type);
        return rc;
    case OP_GLOBAL_SET:
        rc = check_global(b, imm->a, &gt);
        if (rc == 0 && !gt->mutable_)
            rc = spry_report_set(b->report, SPRY_EINVALID,
                                 "global is immutable: global.set %u at offset 0x%zx", imm->a,
                                 b->at);
        if (rc == 0)
            rc = pop_expect(b, gt->type);
        return rc;
    case OP_TABLE_GET:
        rc = check_table(b, imm->a, &t);
        if (rc == 0)
            rc = pop_expect(b, SPRY_I32);
        if (rc == 0)
            rc = push(b, t);
        return rc;
    case OP_TABLE_SET:
        rc = check_table(b, imm->a, &t);
        if (rc == 0)
            rc = pop_expect(b, t);
        if (rc == 0)
            rc = pop_expect(b, SPRY_I32);
        return rc;
    case OP_TABLE_SIZE:
        rc = check_table(b, imm->a, &t);
        if (rc == 0)
            rc = push(b, SPRY_I32);
        return rc;
    case OP_TABLE_GROW:
        rc = check_table(b, imm->a, &t);
        if (rc == 0)
            rc = pop_expect(b, SPRY_I32);
        if (rc == 0)
            rc = pop_expect(b, t);
        if (rc == 0)
            rc = push(b, SPRY_I32);
        return rc;
    case OP_TABLE_FILL:
        rc = check_table(b, imm->a, &t);
        if (rc == 0)
            rc = pop_expect(b, SPRY_I32);
        if (rc == 0)
            rc = pop_expect(b, t);
        if (rc == 0)
            rc = pop_expect(b, SPRY_I32);
        return rc;
    case OP_TABLE_COPY: /* table.copy dst src */
        rc = check_table(b, imm->a, &t);
        if (rc == 0)
            rc = check_table(b, imm->b, &t2);
        if (rc == 0 && t != t2)
            rc = mismatch(b, t, t2);
        if (rc == 0)
            rc = pop_n(b, (const uint8_t[]){SPRY_I32, SPRY_I32, SPRY_I32}, 3);
        return rc;
    case OP_TABLE_INIT: /* table.init elem table */
        rc = check_table(b, imm->b, &t);
        if (rc == 0)
            rc = check_elem(b, imm->a, &t2);
        if (rc == 0 && t != t2)
            rc = mismatch(b, t, t2);
        if (rc == 0)
            rc = pop_n(b, (const uint8_t[]){SPRY_I32, SPRY_I32, SPRY_I32}, 3);
        return rc;
    case OP_ELEM_DROP:
        return check_elem(b, imm->a, &t);
    case OP_DATA_DROP:
        return check_data(b, imm->a);
    case OP_REF_NULL:
        return push(b, imm->type);
    case OP_REF_IS_NULL:
        rc = pop_any(b, SPRY_FUNCREF);
        if (rc < 0)
            return rc;
        if (rc != VAL_UNKNOWN && !is_ref((uint8_t)rc))
            return mismatch(b, SPRY_FUNCREF, rc);
        return push(b, SPRY_I32);
    case OP_REF_FUNC:
        rc = check_func(b, imm->a, &ft);
        if (rc == 0 && (b->m->declared_refs == NULL || !b->m->declared_refs[imm->a]))
            rc = fail_index(b, "undeclared function reference to function", imm->a);
        if (rc == 0)
            rc = push(b, SPRY_FUNCREF);
        return rc;
    }
    return spry_report_set(b->report, SPRY_EMALFORMED, "illegal opcode 0x%x at offset 0x%zx", code,
                           b->at);
}

/* Control instructions. Returns 1 after the function's final `end`. */
static int validate_control(struct body *b, uint32_t code, const struct imm *imm,
                            const struct wasm_reader *r)
{
    const uint8_t *params = NULL, *results = NULL;
    uint32_t nparams = 0, nresults = 0;
    struct validate_frame f;
    int rc;
    switch (code) {
    case OP_UNREACHABLE:
        set_unreachable(b);
        return 0;
    case OP_NOP:
        return 0;
    case OP_BLOCK:
    case OP_LOOP:
    case OP_IF:
        rc = block_type(b, imm->blocktype, &params, &nparams, &results, &nresults);
        if (rc == 0 && code == OP_IF)
            rc = pop_expect(b, SPRY_I32);
        if (rc == 0)
            rc = pop_n(b, params, nparams);
        if (rc == 0)
            rc = push_frame(b,
                            code == OP_BLOCK  ? FRAME_BLOCK
                            : code == OP_LOOP ? FRAME_LOOP
                                              : FRAME_IF,
                            params, nparams, results, nresults);
        return rc;
    case OP_ELSE:
        /* The binary format only has `else` inside `if` (anything else ends
         * the instruction sequence where `end` was expected). */
        if (top_frame(b)->kind != FRAME_IF)
            return spry_report_set(b->report, SPRY_EMALFORMED,
                                   "END opcode expected at offset 0x%zx", b->at);
        rc = pop_frame(b, &f);
        if (rc == 0)
            rc = push_frame(b, FRAME_ELSE, f.params, f.nparams, f.results, f.nresults);
        return rc;
    case OP_END:
        rc = pop_frame(b, &f);
        if (rc != 0)
            return rc;
        /* An `if` without `else` has an empty else branch: [t1*] -> [t1*]. */
        if (f.kind == FRAME_IF && !same_types(f.params, f.nparams, f.results, f.nresults))
            return spry_report_set(b->report, SPRY_EINVALID,
                                   "type mismatch at offset 0x%zx: if without else must leave "
                                   "its parameters as results",
                                   b->at);
        if (b->s->nframes == 0) {
            if (!reader_eof(r))
                return spry_report_set(b->report, SPRY_EMALFORMED,
                                       "section size mismatch at offset 0x%zx: bytes after the "
                                       "function's end",
                                       reader_offset(r));
            return 1;
        }
        return push_n(b, f.results, f.nresults);
    case OP_BR:
        rc = label_types(b, imm->a, &results, &nresults);
        if (rc == 0)
            rc = pop_n(b, results, nresults);
        if (rc == 0)
            set_unreachable(b);
        return rc;
    case OP_BR_IF:
        rc = label_types(b, imm->a, &results, &nresults);
        if (rc == 0)
            rc = pop_expect(b, SPRY_I32);
        if (rc == 0)
            rc = pop_n(b, results, nresults);
        if (rc == 0)
            rc = push_n(b, results, nresults);
        return rc;
    case OP_BR_TABLE:
        return validate_br_table(b, imm, r);
    case OP_RETURN:
        rc = pop_n(b, b->results, b->nresults);
        if (rc == 0)
            set_unreachable(b);
        return rc;
    }
    return validate_special(b, code, imm);
}

int validate_func_body(struct validate_stacks *s, const struct wasm_module *m, uint32_t func_index,
                       struct spry_report *report)
{
    const struct wasm_func *func = &m->funcs[func_index];
    const struct wasm_functype *ft = &m->types[func->type_index];
    pthread_once(&op_table_once, fill_op_table);
    struct wasm_reader r;
    int rc = body_reader(m, func, &r, report);
    if (rc != 0)
        return rc;
    struct body b = {
        .s = s,
        .m = m,
        .report = report,
        .at = func->expr_offset,
        .params = ft->types,
        .nparams = ft->nparams,
        .locals = func->local_types,
        .nlocals = (uint64_t)ft->nparams + func->nlocals,
        .results = ft->types + ft->nparams,
        .nresults = ft->nresults,
    };
    s->nvals = 0;
    s->nframes = 0;
    rc = push_frame(&b, FRAME_FUNC, NULL, 0, b.results, b.nresults);
    if (rc != 0)
        return rc;
    for (;;) {
        b.at = reader_offset(&r);
        if (reader_eof(&r))
            return body_ended(m, func_index, &r, report);
        const struct wasm_opinfo *info;
        rc = read_opcode(&r, &info, report);
        if (rc != 0)
            return rc;
        struct imm imm;
        if (info->imm != IMM_NONE) {
            rc = read_imm(&r, m, info->imm, &imm, report, b.at);
            if (rc != 0)
                return rc;
        }
        if (info->sig != SIG_SPECIAL) {
            if (info->imm != IMM_NONE) {
                rc = check_fixed_imm(&b, info, &imm);
                if (rc != 0)
                    return rc;
            }
            const struct wasm_siginfo *sig = &wasm_sig_table[info->sig];
            for (unsigned i = sig->nparams; i-- > 0;) {
                rc = pop_expect(&b, sig->params[i]);
                if (rc != 0)
                    return rc;
            }
            if (sig->result != 0) {
                rc = push(&b, sig->result);
                if (rc != 0)
                    return rc;
            }
            continue;
        }
        rc = validate_control(&b, info->code, &imm, &r);
        if (rc == 1)
            return 0;
        if (rc != 0)
            return rc;
    }
}

void validate_stacks_init(struct validate_stacks *s)
{
    memset(s, 0, sizeof *s);
}

void validate_stacks_fini(struct validate_stacks *s)
{
    spry_free(s->vals);
    spry_free(s->frames);
    memset(s, 0, sizeof *s);
}

/*
 * The native tier's emitter: a validated module's defined functions as one
 * C translation unit (docs/native.md).
 *
 * Scheme: wasm locals become C locals l<i>; the operand stack at height h
 * becomes a<h> (32-bit values: i32, f32 as bits) or b<h> (64-bit: i64, f64
 * as bits), so a value keeps its wasm type and floats keep their bits
 * exactly. Blocks become labels and gotos; a branch assigns the values it
 * carries to the variables at the target's base height (the same place the
 * block's fall-through leaves them) and jumps. Dead code after br, return
 * and unreachable is skipped to the matching else/end.
 *
 * Everything printed into the C text is either fixed text of this file or a
 * number (indices, heights, constants, offsets): no byte of the module is
 * ever printed as text. A function using an instruction or type this slice
 * does not compile (references, tables, tail calls) is left out and stays
 * with the interpreter.
 */
#include "wasm/native.h"

#include "base/alloc.h"
#include "wasm/opcodes.h"
#include "wasm/reader.h"
#include "wasm/runtime.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define NATIVE_STR_(x) #x
#define NATIVE_STR(x)  NATIVE_STR_(x)

enum { T_I32 = 0x7f, T_I64 = 0x7e, T_F32 = 0x7d, T_F64 = 0x7c };

static bool num_type(uint8_t t)
{
    return t == T_I32 || t == T_I64 || t == T_F32 || t == T_F64;
}

/* What a one-result block type's rtypes points to. */
static const uint8_t one_type[] = {T_I32, T_I64, T_F32, T_F64};

static bool wide(uint8_t t)
{
    return t == T_I64 || t == T_F64;
}

enum ekind { K_FUNC, K_BLOCK, K_LOOP, K_IF };

struct ectrl {
    uint8_t kind;
    bool unreachable;
    bool has_else;
    uint32_t base; /* stack height below the block's params */
    uint32_t np, nr;
    const uint8_t *ptypes, *rtypes; /* never into the ectrl: push_ctrl may move it */
    uint32_t label;
};

struct em {
    const struct wasm_module *m;
    const uint8_t *compiled; /* pass 2: which functions are native */
    struct wasm_reader r;
    struct spry_buf *b; /* the function's body */
    uint8_t *ty;        /* the operand stack's types */
    uint32_t h, capty, maxh;
    struct ectrl *ctl;
    uint32_t nctl, capctl;
    uint32_t nlabels;
    uint32_t fn;
    uint32_t frame;     /* this function's own frame: max(nparams, nresults) */
    uint32_t maxcallee; /* the largest callee frame at its call sites */
    uint8_t *ltypes;
    uint32_t nlocals;
    bool has_mem;
    bool bad; /* unsupported or malformed: leave the function to the interpreter */
    bool oom;
};

static void out(struct em *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(struct em *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (spry_buf_vprintf(e->b, fmt, ap) != 0)
        e->oom = true;
    va_end(ap);
}

/* The C variable of the stack value of type t at height h. */
static void vname(char *buf, uint8_t t, uint32_t h)
{
    snprintf(buf, 16, "%c%u", wide(t) ? 'b' : 'a', h);
}

static bool push(struct em *e, uint8_t t)
{
    if (!num_type(t)) {
        e->bad = true;
        return false;
    }
    if (e->h == e->capty) {
        uint32_t cap = e->capty < 16 ? 16 : e->capty * 2;
        uint8_t *n = spry_realloc(e->ty, cap);
        if (n == NULL) {
            e->oom = true;
            return false;
        }
        e->ty = n;
        e->capty = cap;
    }
    e->ty[e->h++] = t;
    if (e->h > e->maxh)
        e->maxh = e->h;
    return true;
}

/* Expands a template: $d, $x, $y, $z name the result and operands. */
static void expand(struct em *e, const char *tpl, const char *d, const char *x, const char *y,
                   const char *z)
{
    for (const char *p = tpl; *p != '\0'; p++) {
        if (*p == '$' && (p[1] == 'd' || p[1] == 'x' || p[1] == 'y' || p[1] == 'z')) {
            const char *s = p[1] == 'd' ? d : p[1] == 'x' ? x : p[1] == 'y' ? y : z;
            if (spry_buf_append_str(e->b, s) != 0)
                e->oom = true;
            p++;
        } else if (spry_buf_append_byte(e->b, (uint8_t)*p) != 0) {
            e->oom = true;
        }
    }
    if (spry_buf_append_byte(e->b, '\n') != 0)
        e->oom = true;
}

/* The C text of each numeric instruction with a fixed signature. */
static const char *numeric_template(uint32_t op)
{
    switch (op) {
#define BIN32(name, expr) \
    case OP_##name:       \
        return "$d = (u32)(" expr ");";
#define BIN64(name, expr) \
    case OP_##name:       \
        return "$d = (u64)(" expr ");";
        BIN32(I32_EQZ, "$x == 0")
        BIN32(I32_EQ, "$x == $y")
        BIN32(I32_NE, "$x != $y")
        BIN32(I32_LT_S, "(i32)$x < (i32)$y")
        BIN32(I32_LT_U, "$x < $y")
        BIN32(I32_GT_S, "(i32)$x > (i32)$y")
        BIN32(I32_GT_U, "$x > $y")
        BIN32(I32_LE_S, "(i32)$x <= (i32)$y")
        BIN32(I32_LE_U, "$x <= $y")
        BIN32(I32_GE_S, "(i32)$x >= (i32)$y")
        BIN32(I32_GE_U, "$x >= $y")
        BIN32(I64_EQZ, "$x == 0")
        BIN32(I64_EQ, "$x == $y")
        BIN32(I64_NE, "$x != $y")
        BIN32(I64_LT_S, "(i64)$x < (i64)$y")
        BIN32(I64_LT_U, "$x < $y")
        BIN32(I64_GT_S, "(i64)$x > (i64)$y")
        BIN32(I64_GT_U, "$x > $y")
        BIN32(I64_LE_S, "(i64)$x <= (i64)$y")
        BIN32(I64_LE_U, "$x <= $y")
        BIN32(I64_GE_S, "(i64)$x >= (i64)$y")
        BIN32(I64_GE_U, "$x >= $y")
        BIN32(F32_EQ, "F32($x) == F32($y)")
        BIN32(F32_NE, "F32($x) != F32($y)")
        BIN32(F32_LT, "F32($x) < F32($y)")
        BIN32(F32_GT, "F32($x) > F32($y)")
        BIN32(F32_LE, "F32($x) <= F32($y)")
        BIN32(F32_GE, "F32($x) >= F32($y)")
        BIN32(F64_EQ, "F64($x) == F64($y)")
        BIN32(F64_NE, "F64($x) != F64($y)")
        BIN32(F64_LT, "F64($x) < F64($y)")
        BIN32(F64_GT, "F64($x) > F64($y)")
        BIN32(F64_LE, "F64($x) <= F64($y)")
        BIN32(F64_GE, "F64($x) >= F64($y)")
        BIN32(I32_CLZ, "$x ? (u32)__builtin_clz($x) : 32")
        BIN32(I32_CTZ, "$x ? (u32)__builtin_ctz($x) : 32")
        BIN32(I32_POPCNT, "popcnt64($x)")
        BIN32(I32_ADD, "$x + $y")
        BIN32(I32_SUB, "$x - $y")
        BIN32(I32_MUL, "$x * $y")
        BIN32(I32_AND, "$x & $y")
        BIN32(I32_OR, "$x | $y")
        BIN32(I32_XOR, "$x ^ $y")
        BIN32(I32_SHL, "$x << ($y & 31)")
        BIN32(I32_SHR_S, "(i32)$x >> ($y & 31)")
        BIN32(I32_SHR_U, "$x >> ($y & 31)")
        BIN32(I32_ROTL, "rotl32($x, $y)")
        BIN32(I32_ROTR, "rotr32($x, $y)")
        BIN64(I64_CLZ, "$x ? (u64)__builtin_clzll($x) : 64")
        BIN64(I64_CTZ, "$x ? (u64)__builtin_ctzll($x) : 64")
        BIN64(I64_POPCNT, "popcnt64($x)")
        BIN64(I64_ADD, "$x + $y")
        BIN64(I64_SUB, "$x - $y")
        BIN64(I64_MUL, "$x * $y")
        BIN64(I64_AND, "$x & $y")
        BIN64(I64_OR, "$x | $y")
        BIN64(I64_XOR, "$x ^ $y")
        BIN64(I64_SHL, "$x << ($y & 63)")
        BIN64(I64_SHR_S, "(i64)$x >> ($y & 63)")
        BIN64(I64_SHR_U, "$x >> ($y & 63)")
        BIN64(I64_ROTL, "rotl64($x, $y)")
        BIN64(I64_ROTR, "rotr64($x, $y)")
    case OP_I32_DIV_S:
        return "if (UNLIKELY($y == 0)) TRAP(T_DIV0);\n"
               "if (UNLIKELY($x == 0x80000000u && $y == 0xffffffffu)) TRAP(T_OVF);\n"
               "$d = (u32)((i32)$x / (i32)$y);";
    case OP_I32_DIV_U:
        return "if (UNLIKELY($y == 0)) TRAP(T_DIV0);\n$d = $x / $y;";
    case OP_I32_REM_S:
        return "if (UNLIKELY($y == 0)) TRAP(T_DIV0);\n"
               "$d = $y == 0xffffffffu ? 0 : (u32)((i32)$x % (i32)$y);";
    case OP_I32_REM_U:
        return "if (UNLIKELY($y == 0)) TRAP(T_DIV0);\n$d = $x % $y;";
    case OP_I64_DIV_S:
        return "if (UNLIKELY($y == 0)) TRAP(T_DIV0);\n"
               "if (UNLIKELY($x == 0x8000000000000000ull && $y == ~0ull)) TRAP(T_OVF);\n"
               "$d = (u64)((i64)$x / (i64)$y);";
    case OP_I64_DIV_U:
        return "if (UNLIKELY($y == 0)) TRAP(T_DIV0);\n$d = $x / $y;";
    case OP_I64_REM_S:
        return "if (UNLIKELY($y == 0)) TRAP(T_DIV0);\n"
               "$d = $y == ~0ull ? 0 : (u64)((i64)$x % (i64)$y);";
    case OP_I64_REM_U:
        return "if (UNLIKELY($y == 0)) TRAP(T_DIV0);\n$d = $x % $y;";

        /* floats, on their bits */
    case OP_F32_ABS:
        return "$d = $x & 0x7fffffffu;";
    case OP_F32_NEG:
        return "$d = $x ^ 0x80000000u;";
    case OP_F32_COPYSIGN:
        return "$d = ($x & 0x7fffffffu) | ($y & 0x80000000u);";
    case OP_F64_ABS:
        return "$d = $x & 0x7fffffffffffffffull;";
    case OP_F64_NEG:
        return "$d = $x ^ 0x8000000000000000ull;";
    case OP_F64_COPYSIGN:
        return "$d = ($x & 0x7fffffffffffffffull) | ($y & 0x8000000000000000ull);";
    case OP_F32_CEIL:
    case OP_F32_FLOOR:
    case OP_F32_TRUNC:
    case OP_F32_NEAREST:
        return "$d = (u32)c->fround($x, $z);";
    case OP_F64_CEIL:
    case OP_F64_FLOOR:
    case OP_F64_TRUNC:
    case OP_F64_NEAREST:
        return "$d = c->fround($x, $z);";
    case OP_F32_SQRT:
        return "$d = FB32(__builtin_sqrtf(F32($x)));";
    case OP_F64_SQRT:
        return "$d = FB64(__builtin_sqrt(F64($x)));";
    case OP_F32_ADD:
        return "$d = FB32(F32($x) + F32($y));";
    case OP_F32_SUB:
        return "$d = FB32(F32($x) - F32($y));";
    case OP_F32_MUL:
        return "$d = FB32(F32($x) * F32($y));";
    case OP_F32_DIV:
        return "$d = FB32(F32($x) / F32($y));";
    case OP_F32_MIN:
        return "$d = fmin32($x, $y);";
    case OP_F32_MAX:
        return "$d = fmax32($x, $y);";
    case OP_F64_ADD:
        return "$d = FB64(F64($x) + F64($y));";
    case OP_F64_SUB:
        return "$d = FB64(F64($x) - F64($y));";
    case OP_F64_MUL:
        return "$d = FB64(F64($x) * F64($y));";
    case OP_F64_DIV:
        return "$d = FB64(F64($x) / F64($y));";
    case OP_F64_MIN:
        return "$d = fmin64($x, $y);";
    case OP_F64_MAX:
        return "$d = fmax64($x, $y);";

        /* conversions */
    case OP_I32_WRAP_I64:
        return "$d = (u32)$x;";
#define TRUNC(name, from, lo, hi, cast)                                    \
    case OP_##name:                                                        \
        return "{ double t_ = (double)" from "($x);\n"                     \
               "if (UNLIKELY(t_ != t_)) TRAP(T_CONV);\n"                   \
               "if (UNLIKELY(!(t_ " lo " && t_ < " hi "))) TRAP(T_OVF);\n" \
               "$d = " cast "t_; }";
        TRUNC(I32_TRUNC_F32_S, "F32", "> -2147483649.0", "2147483648.0", "(u32)(i32)")
        TRUNC(I32_TRUNC_F32_U, "F32", "> -1.0", "4294967296.0", "(u32)")
        TRUNC(I32_TRUNC_F64_S, "F64", "> -2147483649.0", "2147483648.0", "(u32)(i32)")
        TRUNC(I32_TRUNC_F64_U, "F64", "> -1.0", "4294967296.0", "(u32)")
        TRUNC(I64_TRUNC_F32_S, "F32", ">= -9223372036854775808.0", "9223372036854775808.0",
              "(u64)(i64)")
        TRUNC(I64_TRUNC_F32_U, "F32", "> -1.0", "18446744073709551616.0", "(u64)")
        TRUNC(I64_TRUNC_F64_S, "F64", ">= -9223372036854775808.0", "9223372036854775808.0",
              "(u64)(i64)")
        TRUNC(I64_TRUNC_F64_U, "F64", "> -1.0", "18446744073709551616.0", "(u64)")
#undef TRUNC
    case OP_I32_TRUNC_SAT_F32_S:
        return "$d = (u32)sat_i32((double)F32($x));";
    case OP_I32_TRUNC_SAT_F32_U:
        return "$d = sat_u32((double)F32($x));";
    case OP_I32_TRUNC_SAT_F64_S:
        return "$d = (u32)sat_i32(F64($x));";
    case OP_I32_TRUNC_SAT_F64_U:
        return "$d = sat_u32(F64($x));";
    case OP_I64_TRUNC_SAT_F32_S:
        return "$d = (u64)sat_i64((double)F32($x));";
    case OP_I64_TRUNC_SAT_F32_U:
        return "$d = sat_u64((double)F32($x));";
    case OP_I64_TRUNC_SAT_F64_S:
        return "$d = (u64)sat_i64(F64($x));";
    case OP_I64_TRUNC_SAT_F64_U:
        return "$d = sat_u64(F64($x));";
    case OP_I64_EXTEND_I32_S:
        return "$d = (u64)(i64)(i32)$x;";
    case OP_I64_EXTEND_I32_U:
        return "$d = (u64)$x;";
    case OP_F32_CONVERT_I32_S:
        return "$d = FB32((float)(i32)$x);";
    case OP_F32_CONVERT_I32_U:
        return "$d = FB32((float)$x);";
    case OP_F32_CONVERT_I64_S:
        return "$d = FB32((float)(i64)$x);";
    case OP_F32_CONVERT_I64_U:
        return "$d = FB32((float)$x);";
    case OP_F32_DEMOTE_F64:
        return "$d = FB32((float)F64($x));";
    case OP_F64_CONVERT_I32_S:
        return "$d = FB64((double)(i32)$x);";
    case OP_F64_CONVERT_I32_U:
        return "$d = FB64((double)$x);";
    case OP_F64_CONVERT_I64_S:
        return "$d = FB64((double)(i64)$x);";
    case OP_F64_CONVERT_I64_U:
        return "$d = FB64((double)$x);";
    case OP_F64_PROMOTE_F32:
        return "$d = promote32($x);";
    case OP_I32_REINTERPRET_F32:
    case OP_I64_REINTERPRET_F64:
    case OP_F32_REINTERPRET_I32:
    case OP_F64_REINTERPRET_I64:
        return "$d = $x;";
        BIN32(I32_EXTEND8_S, "(i32)(int8_t)$x")
        BIN32(I32_EXTEND16_S, "(i32)(int16_t)$x")
        BIN64(I64_EXTEND8_S, "(i64)(int8_t)$x")
        BIN64(I64_EXTEND16_S, "(i64)(int16_t)$x")
        BIN64(I64_EXTEND32_S, "(i64)(int32_t)$x")
#undef BIN32
#undef BIN64
    default:
        return NULL;
    }
}

/* Loads and stores: the C type in memory and the conversion to the slot. */
static bool memory_access(uint32_t op, const char **ctype, const char **conv, unsigned *bytes)
{
    switch (op) {
#define M(name, t, cv, n) \
    case OP_##name:       \
        *ctype = t;       \
        *conv = cv;       \
        *bytes = n;       \
        return true;
        M(I32_LOAD, "u32", "(u32)", 4)
        M(I64_LOAD, "u64", "(u64)", 8)
        M(F32_LOAD, "u32", "(u32)", 4)
        M(F64_LOAD, "u64", "(u64)", 8)
        M(I32_LOAD8_S, "int8_t", "(u32)(i32)", 1)
        M(I32_LOAD8_U, "uint8_t", "(u32)", 1)
        M(I32_LOAD16_S, "int16_t", "(u32)(i32)", 2)
        M(I32_LOAD16_U, "uint16_t", "(u32)", 2)
        M(I64_LOAD8_S, "int8_t", "(u64)(i64)", 1)
        M(I64_LOAD8_U, "uint8_t", "(u64)", 1)
        M(I64_LOAD16_S, "int16_t", "(u64)(i64)", 2)
        M(I64_LOAD16_U, "uint16_t", "(u64)", 2)
        M(I64_LOAD32_S, "int32_t", "(u64)(i64)", 4)
        M(I64_LOAD32_U, "uint32_t", "(u64)", 4)
        M(I32_STORE, "u32", "", 4)
        M(I64_STORE, "u64", "", 8)
        M(F32_STORE, "u32", "", 4)
        M(F64_STORE, "u64", "", 8)
        M(I32_STORE8, "uint8_t", "", 1)
        M(I32_STORE16, "uint16_t", "", 2)
        M(I64_STORE8, "uint8_t", "", 1)
        M(I64_STORE16, "uint16_t", "", 2)
        M(I64_STORE32, "uint32_t", "", 4)
#undef M
    default:
        return false;
    }
}

static struct ectrl *push_ctrl(struct em *e, uint8_t kind, int64_t bt)
{
    if (e->nctl == e->capctl) {
        uint32_t cap = e->capctl < 8 ? 8 : e->capctl * 2;
        struct ectrl *n = spry_realloc(e->ctl, cap * sizeof *n);
        if (n == NULL) {
            e->oom = true;
            return NULL;
        }
        e->ctl = n;
        e->capctl = cap;
    }
    struct ectrl *c = &e->ctl[e->nctl++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->label = e->nlabels++;
    if (bt == -64) { /* 0x40: empty */
        c->np = c->nr = 0;
    } else if (bt < 0) {
        uint8_t t = (uint8_t)(bt & 0x7f);
        for (size_t i = 0; i < sizeof one_type; i++) {
            if (one_type[i] == t)
                c->rtypes = &one_type[i];
        }
        if (c->rtypes == NULL) {
            e->bad = true;
            return NULL;
        }
        c->nr = 1;
    } else {
        if ((uint64_t)bt >= e->m->ntypes) {
            e->bad = true;
            return NULL;
        }
        const struct wasm_functype *ft = &e->m->types[bt];
        c->np = ft->nparams;
        c->nr = ft->nresults;
        c->ptypes = ft->types;
        c->rtypes = ft->types + ft->nparams;
        for (uint32_t i = 0; i < c->np + c->nr; i++) {
            if (!num_type(ft->types[i])) {
                e->bad = true;
                return NULL;
            }
        }
    }
    if (e->h < c->np) {
        e->bad = true;
        return NULL;
    }
    c->base = e->h - c->np;
    return c;
}

/* Resets the operand stack to base followed by n values of types. */
static void reset_stack(struct em *e, uint32_t base, uint32_t n, const uint8_t *types)
{
    e->h = base;
    for (uint32_t i = 0; i < n; i++)
        push(e, types[i]);
}

/* Writes the top n values (types) as results to fp[0..n) and returns. */
static void emit_return(struct em *e, uint32_t n, const uint8_t *types)
{
    char v[16];
    for (uint32_t i = 0; i < n; i++) {
        vname(v, types[i], e->h - n + i);
        out(e, "fp[%u] = (u64)%s;\n", i, v);
    }
    out(e, "return;\n");
}

/* A branch to label depth l: moves the values it carries into place and
 * jumps (a branch to the function's label returns). */
static void emit_branch(struct em *e, uint32_t l)
{
    if (l >= e->nctl) {
        e->bad = true;
        return;
    }
    struct ectrl *t = &e->ctl[e->nctl - 1 - l];
    if (t->kind == K_FUNC) {
        emit_return(e, t->nr, t->rtypes);
        return;
    }
    uint32_t n = t->kind == K_LOOP ? t->np : t->nr;
    const uint8_t *types = t->kind == K_LOOP ? t->ptypes : t->rtypes;
    if (e->h < n) {
        e->bad = true;
        return;
    }
    char d[16], s[16];
    for (uint32_t i = 0; i < n; i++) {
        uint32_t src = e->h - n + i, dst = t->base + i;
        if (src == dst)
            continue;
        vname(d, types[i], dst);
        vname(s, types[i], src);
        out(e, "%s = %s;\n", d, s);
    }
    out(e, "goto L%u;\n", t->label);
}

static void emit_reload(struct em *e)
{
    if (e->has_mem)
        out(e, "RELOAD();\n");
}

/* A call of a callee of type ft: arguments from the stack into the callee
 * frame at fp + frame, `call` (printf text), results back. */
static void emit_call(struct em *e, const struct wasm_functype *ft, const char *call)
{
    char v[16];
    if (e->h < ft->nparams) {
        e->bad = true;
        return;
    }
    for (uint32_t i = 0; i < ft->nparams + ft->nresults; i++) {
        if (!num_type(ft->types[i])) {
            e->bad = true;
            return;
        }
    }
    uint32_t base = e->h - ft->nparams;
    for (uint32_t i = 0; i < ft->nparams; i++) {
        vname(v, ft->types[i], base + i);
        out(e, "fp[%u] = (u64)%s;\n", e->frame + i, v);
    }
    out(e, "%s\n", call);
    e->h = base;
    for (uint32_t i = 0; i < ft->nresults; i++) {
        uint8_t t = ft->types[ft->nparams + i];
        vname(v, t, e->h);
        out(e, "%s = (%s)fp[%u];\n", v, wide(t) ? "u64" : "u32", e->frame + i);
        push(e, t);
    }
    uint32_t callee = ft->nparams > ft->nresults ? ft->nparams : ft->nresults;
    if (callee > e->maxcallee)
        e->maxcallee = callee;
    emit_reload(e);
}

/* One instruction (the opcode was read; the function is reachable here). */
static void emit_instr(struct em *e, uint32_t op)
{
    struct wasm_reader *r = &e->r;
    const struct wasm_module *m = e->m;
    char d[16], x[16], y[16], z[16];
    uint32_t u, u2;
    int64_t s;
    uint8_t byte;

    const char *tpl = numeric_template(op);
    if (tpl != NULL) {
        const struct wasm_opinfo *info = opcode_info(op);
        const struct wasm_siginfo *sig = &wasm_sig_table[info->sig];
        if (e->h < sig->nparams) {
            e->bad = true;
            return;
        }
        uint32_t base = e->h - sig->nparams;
        vname(x, sig->params[0], base);
        if (sig->nparams > 1)
            vname(y, sig->params[1], base + 1);
        else
            y[0] = '\0';
        snprintf(z, sizeof z, "%uu", op);
        e->h = base;
        vname(d, sig->result, base);
        push(e, sig->result);
        expand(e, tpl, d, x, y, z);
        return;
    }
    const char *ctype, *conv;
    unsigned bytes;
    if (memory_access(op, &ctype, &conv, &bytes)) {
        uint32_t align, offset;
        if (reader_u32(r, &align) != 0 || reader_u32(r, &offset) != 0 || !e->has_mem) {
            e->bad = true;
            return;
        }
        const struct wasm_siginfo *sig = &wasm_sig_table[opcode_info(op)->sig];
        if (sig->result != 0) { /* a load: [i32] -> [t] */
            if (e->h < 1) {
                e->bad = true;
                return;
            }
            vname(x, T_I32, e->h - 1);
            e->h--;
            vname(d, sig->result, e->h);
            push(e, sig->result);
            out(e, "LOAD(%s, %s, %s, %s, %uull);\n", d, ctype, conv, x, offset);
        } else { /* a store: [i32 t] -> [] */
            if (e->h < 2) {
                e->bad = true;
                return;
            }
            vname(x, T_I32, e->h - 2);
            vname(y, sig->params[1], e->h - 1);
            e->h -= 2;
            out(e, "STORE(%s, %s, %uull, %s);\n", ctype, x, offset, y);
        }
        return;
    }

    switch (op) {
    case OP_NOP:
        return;
    case OP_UNREACHABLE:
        out(e, "TRAP(T_UNREACHABLE);\n");
        e->ctl[e->nctl - 1].unreachable = true;
        return;
    case OP_BLOCK:
    case OP_LOOP:
    case OP_IF: {
        if (reader_s33(r, &s) != 0) {
            e->bad = true;
            return;
        }
        if (op == OP_IF) {
            if (e->h < 1) {
                e->bad = true;
                return;
            }
            e->h--;
            vname(x, T_I32, e->h);
        }
        struct ectrl *c = push_ctrl(e, op == OP_BLOCK ? K_BLOCK : op == OP_LOOP ? K_LOOP : K_IF, s);
        if (c == NULL)
            return;
        if (op == OP_IF)
            out(e, "if (!%s) goto E%u;\n", x, c->label);
        if (op == OP_LOOP)
            out(e, "L%u:;\nCHECK_INTERRUPT();\n", c->label);
        return;
    }
    case OP_ELSE: {
        struct ectrl *c = &e->ctl[e->nctl - 1];
        if (c->kind != K_IF) {
            e->bad = true;
            return;
        }
        if (!c->unreachable)
            out(e, "goto L%u;\n", c->label);
        out(e, "E%u:;\n", c->label);
        c->has_else = true;
        c->unreachable = false;
        reset_stack(e, c->base, c->np, c->ptypes);
        return;
    }
    case OP_END: {
        struct ectrl *c = &e->ctl[e->nctl - 1];
        if (c->kind == K_FUNC) {
            if (!c->unreachable)
                emit_return(e, c->nr, c->rtypes);
            e->nctl--;
            return;
        }
        if (c->kind == K_IF && !c->has_else)
            out(e, "E%u:;\n", c->label);
        if (c->kind != K_LOOP)
            out(e, "L%u:;\n", c->label);
        reset_stack(e, c->base, c->nr, c->rtypes);
        e->nctl--;
        return;
    }
    case OP_BR:
        if (reader_u32(r, &u) != 0) {
            e->bad = true;
            return;
        }
        emit_branch(e, u);
        e->ctl[e->nctl - 1].unreachable = true;
        return;
    case OP_BR_IF:
        if (reader_u32(r, &u) != 0 || e->h < 1) {
            e->bad = true;
            return;
        }
        e->h--;
        vname(x, T_I32, e->h);
        out(e, "if (%s) {\n", x);
        emit_branch(e, u);
        out(e, "}\n");
        return;
    case OP_BR_TABLE: {
        uint32_t n;
        if (reader_u32(r, &n) != 0 || e->h < 1) {
            e->bad = true;
            return;
        }
        e->h--;
        vname(x, T_I32, e->h);
        out(e, "switch (%s) {\n", x);
        for (uint64_t k = 0; k <= n; k++) {
            if (reader_u32(r, &u) != 0) {
                e->bad = true;
                return;
            }
            if (k < n)
                out(e, "case %lluu: {\n", (unsigned long long)k);
            else
                out(e, "default: {\n");
            emit_branch(e, u);
            out(e, "}\n");
        }
        out(e, "}\n");
        e->ctl[e->nctl - 1].unreachable = true;
        return;
    }
    case OP_RETURN:
        emit_return(e, e->ctl[0].nr, e->ctl[0].rtypes);
        e->ctl[e->nctl - 1].unreachable = true;
        return;
    case OP_CALL: {
        if (reader_u32(r, &u) != 0 || u >= m->nfuncs) {
            e->bad = true;
            return;
        }
        char call[96];
        if (e->compiled != NULL && e->compiled[u])
            snprintf(call, sizeof call, "DCALL(f%u);", u);
        else
            snprintf(call, sizeof call, "c->call(c, %uu, fp + %uu, FN);", u, e->frame);
        emit_call(e, module_func_type(m, u), call);
        return;
    }
    case OP_CALL_INDIRECT: {
        if (reader_u32(r, &u) != 0 || reader_u32(r, &u2) != 0 || u >= m->ntypes ||
            u2 >= m->ntables || e->h < 1) {
            e->bad = true;
            return;
        }
        e->h--;
        vname(x, T_I32, e->h);
        char call[128];
        snprintf(call, sizeof call, "ICALL(%uu, %uu, %s);", u2, u, x);
        emit_call(e, &m->types[u], call);
        return;
    }
    case OP_DROP:
        if (e->h < 1) {
            e->bad = true;
            return;
        }
        e->h--;
        return;
    case OP_SELECT_T:
        if (reader_u32(r, &u) != 0 || u != 1 || reader_u8(r, &byte) != 0 || !num_type(byte)) {
            e->bad = true;
            return;
        }
        /* fall through */
    case OP_SELECT: {
        if (e->h < 3) {
            e->bad = true;
            return;
        }
        uint8_t t = e->ty[e->h - 3];
        if (!num_type(t)) {
            e->bad = true;
            return;
        }
        vname(d, t, e->h - 3);
        vname(y, t, e->h - 2);
        vname(z, T_I32, e->h - 1);
        out(e, "if (!%s) %s = %s;\n", z, d, y);
        e->h -= 2;
        return;
    }
    case OP_LOCAL_GET:
        if (reader_u32(r, &u) != 0 || u >= e->nlocals) {
            e->bad = true;
            return;
        }
        vname(d, e->ltypes[u], e->h);
        out(e, "%s = l%u;\n", d, u);
        push(e, e->ltypes[u]);
        return;
    case OP_LOCAL_SET:
    case OP_LOCAL_TEE:
        if (reader_u32(r, &u) != 0 || u >= e->nlocals || e->h < 1) {
            e->bad = true;
            return;
        }
        vname(x, e->ltypes[u], e->h - 1);
        out(e, "l%u = %s;\n", u, x);
        if (op == OP_LOCAL_SET)
            e->h--;
        return;
    case OP_GLOBAL_GET: {
        if (reader_u32(r, &u) != 0 || u >= m->nglobals || !num_type(m->globals[u].type.type)) {
            e->bad = true;
            return;
        }
        uint8_t t = m->globals[u].type.type;
        vname(d, t, e->h);
        out(e, "%s = (%s)G(%u);\n", d, wide(t) ? "u64" : "u32", u);
        push(e, t);
        return;
    }
    case OP_GLOBAL_SET:
        if (reader_u32(r, &u) != 0 || u >= m->nglobals || !num_type(m->globals[u].type.type) ||
            e->h < 1) {
            e->bad = true;
            return;
        }
        vname(x, m->globals[u].type.type, e->h - 1);
        out(e, "G(%u) = (u64)%s;\n", u, x);
        e->h--;
        return;
    case OP_MEMORY_SIZE:
        if (reader_u8(r, &byte) != 0 || !e->has_mem) {
            e->bad = true;
            return;
        }
        vname(d, T_I32, e->h);
        out(e, "%s = (u32)(ms >> 16);\n", d);
        push(e, T_I32);
        return;
    case OP_MEMORY_GROW:
        if (reader_u8(r, &byte) != 0 || !e->has_mem || e->h < 1) {
            e->bad = true;
            return;
        }
        vname(x, T_I32, e->h - 1);
        out(e, "%s = c->memory_grow(c, %s);\n", x, x);
        emit_reload(e);
        return;
    case OP_I32_CONST:
        if (reader_sleb(r, 32, &s) != 0) {
            e->bad = true;
            return;
        }
        vname(d, T_I32, e->h);
        out(e, "%s = %uu;\n", d, (uint32_t)s);
        push(e, T_I32);
        return;
    case OP_I64_CONST:
        if (reader_sleb(r, 64, &s) != 0) {
            e->bad = true;
            return;
        }
        vname(d, T_I64, e->h);
        out(e, "%s = %lluull;\n", d, (unsigned long long)(uint64_t)s);
        push(e, T_I64);
        return;
    case OP_F32_CONST:
        if (reader_fixed32(r, &u) != 0) {
            e->bad = true;
            return;
        }
        vname(d, T_F32, e->h);
        out(e, "%s = %uu;\n", d, u);
        push(e, T_F32);
        return;
    case OP_F64_CONST: {
        uint64_t v;
        if (reader_fixed64(r, &v) != 0) {
            e->bad = true;
            return;
        }
        vname(d, T_F64, e->h);
        out(e, "%s = %lluull;\n", d, (unsigned long long)v);
        push(e, T_F64);
        return;
    }
    case OP_MEMORY_FILL:
    case OP_MEMORY_COPY:
    case OP_MEMORY_INIT: {
        u = 0;
        if (op == OP_MEMORY_INIT && (reader_u32(r, &u) != 0 || u >= m->ndatas)) {
            e->bad = true;
            return;
        }
        if (reader_u8(r, &byte) != 0 || (op == OP_MEMORY_COPY && reader_u8(r, &byte) != 0) ||
            !e->has_mem || e->h < 3) {
            e->bad = true;
            return;
        }
        vname(x, T_I32, e->h - 3);
        vname(y, T_I32, e->h - 2);
        vname(z, T_I32, e->h - 1);
        e->h -= 3;
        if (op == OP_MEMORY_FILL)
            out(e, "c->memory_fill(c, %s, %s, %s, FN);\n", x, y, z);
        else if (op == OP_MEMORY_COPY)
            out(e, "c->memory_copy(c, %s, %s, %s, FN);\n", x, y, z);
        else
            out(e, "c->memory_init(c, %uu, %s, %s, %s, FN);\n", u, x, y, z);
        emit_reload(e);
        return;
    }
    case OP_DATA_DROP:
        if (reader_u32(r, &u) != 0 || u >= m->ndatas) {
            e->bad = true;
            return;
        }
        out(e, "c->data_drop(c, %uu);\n", u);
        return;
    default:
        /* references, tables, tail calls: the interpreter's */
        e->bad = true;
        return;
    }
}

/* Emits function `fi` into fb (its definition); false when it is left to
 * the interpreter. */
static bool emit_func(struct em *e, uint32_t fi, struct spry_buf *fb, struct spry_buf *body)
{
    const struct wasm_module *m = e->m;
    const struct wasm_func *f = &m->funcs[fi];
    const struct wasm_functype *ft = &m->types[f->type_index];
    e->fn = fi;
    e->h = e->maxh = 0;
    e->nctl = 0;
    e->nlabels = 0;
    e->maxcallee = 0;
    e->bad = e->oom = false;
    e->frame = ft->nparams > ft->nresults ? ft->nparams : ft->nresults;
    e->nlocals = ft->nparams + f->nlocals;
    spry_free(e->ltypes);
    e->ltypes = spry_malloc(e->nlocals + 1);
    if (e->ltypes == NULL)
        return false;
    memcpy(e->ltypes, ft->types, ft->nparams);
    if (f->nlocals > 0) /* local_types is NULL without declared locals */
        memcpy(e->ltypes + ft->nparams, f->local_types, f->nlocals);
    for (uint32_t i = 0; i < e->nlocals; i++) {
        if (!num_type(e->ltypes[i]))
            return false;
    }
    for (uint32_t i = 0; i < ft->nresults; i++) {
        if (!num_type(ft->types[ft->nparams + i]))
            return false;
    }
    spry_buf_reset(body);
    e->b = body;
    e->r.start = m->bytes;
    e->r.pos = m->bytes + f->expr_offset;
    e->r.end = m->bytes + f->body_offset + f->body_size;
    struct ectrl *fc = push_ctrl(e, K_FUNC, -64);
    if (fc == NULL)
        return false;
    fc->nr = ft->nresults;
    fc->rtypes = ft->types + ft->nparams;

    uint32_t nesting = 0;
    while (e->nctl > 0 && !e->bad && !e->oom) {
        uint32_t op;
        if (opcode_read(&e->r, &op) != 0) {
            e->bad = true;
            break;
        }
        if (e->ctl[e->nctl - 1].unreachable) {
            if (op == OP_BLOCK || op == OP_LOOP || op == OP_IF) {
                nesting++;
                if (opcode_skip_immediates(&e->r, op) != 0)
                    e->bad = true;
                continue;
            }
            if ((op == OP_END || op == OP_ELSE) && nesting > 0) {
                if (op == OP_END)
                    nesting--;
                continue;
            }
            if (op != OP_END && op != OP_ELSE) {
                if (opcode_skip_immediates(&e->r, op) != 0)
                    e->bad = true;
                continue;
            }
        }
        emit_instr(e, op);
    }
    if (e->bad || e->oom || e->nctl != 0)
        return false;

    /* The definition: header, variables, checks, then the body. */
    struct spry_buf *keep = e->b;
    e->b = fb;
    out(e, "static void f%u(struct nctx *c, u64 *fp)\n{\n#undef FN\n#define FN %uu\n", fi, fi);
    for (uint32_t i = 0; i < e->nlocals; i++) {
        const char *t = wide(e->ltypes[i]) ? "u64" : "u32";
        if (i < ft->nparams)
            out(e, "%s l%u = (%s)fp[%u];\n", t, i, t, i);
        else
            out(e, "%s l%u = 0;\n", t, i);
    }
    for (uint32_t h = 0; h < e->maxh; h++)
        out(e, "u32 a%u; u64 b%u;\n", h, h);
    if (e->has_mem)
        out(e, "u8 *mb = *c->mem_base; u64 ms = *c->mem_size; u8 *mw = *c->mem_written;\n");
    out(e, "ENTRY_CHECKS(%uu);\n", e->frame + e->maxcallee);
    e->b = keep;
    if (spry_buf_append(fb, body->data, body->len) != 0)
        e->oom = true;
    e->b = fb;
    out(e, "}\n\n");
    e->b = keep;
    return !e->oom;
}

/* The prelude every generated file starts with. */
static void emit_prelude(struct em *e)
{
    out(e,
        "/* Generated by Spry's native tier (docs/native.md); do not edit. */\n"
        "#include <stdint.h>\n"
        "typedef uint8_t u8; typedef uint32_t u32; typedef uint64_t u64;\n"
        "typedef int32_t i32; typedef int64_t i64;\n"
        "%s;\n"
        "#define LIKELY(x) __builtin_expect(!!(x), 1)\n"
        "#define UNLIKELY(x) __builtin_expect(!!(x), 0)\n",
        NATIVE_STR(NATIVE_CTX_DEF));
    out(e,
        "enum { T_UNREACHABLE = %d, T_OOB = %d, T_DIV0 = %d, T_OVF = %d, T_CONV = %d,\n"
        "       T_STACK = %d, T_INT = %d };\n",
        SPRY_TRAP_UNREACHABLE, SPRY_TRAP_MEMORY_OOB, SPRY_TRAP_DIV_ZERO, SPRY_TRAP_INT_OVERFLOW,
        SPRY_TRAP_INVALID_CONVERSION, SPRY_TRAP_STACK_EXHAUSTED, SPRY_TRAP_INTERRUPTED);
    out(e, "#define G(i) (*(u64 *)((char *)c->globals[i] + %zu))\n",
        offsetof(struct spry_global, value));
    out(e, "#define WRITTEN_SHIFT %d\n", WRITTEN_SHIFT);
    out(e,
        "#define TBL_SIZE(t) (*(u32 *)((char *)(t) + %zu))\n"
        "#define TBL_ELEMS(t) (*(void ***)((char *)(t) + %zu))\n"
        "#define FN_TYPE_ID(f) (*(u32 *)((char *)(f) + %zu))\n"
        "#define FN_INST(f) (*(void **)((char *)(f) + %zu))\n"
        "#define FN_INDEX(f) (*(u32 *)((char *)(f) + %zu))\n",
        offsetof(struct spry_table, size), offsetof(struct spry_table, elems),
        offsetof(struct spry_func, type_id), offsetof(struct spry_func, inst),
        offsetof(struct spry_func, index));
    out(e, "extern void (*const spry_native_funcs[%u])(struct nctx *, u64 *);\n",
        e->m->nfuncs > 0 ? e->m->nfuncs : 1);
    out(e, "%s",
        "#define TRAP(k) c->trap(c, (k), FN)\n"
        "#define CHECK_INTERRUPT() do { if (UNLIKELY(*c->interrupt)) TRAP(T_INT); } while (0)\n"
        "#define ENTRY_CHECKS(frame) do { \\\n"
        "    if (UNLIKELY((char *)__builtin_frame_address(0) < c->cstack_limit || \\\n"
        "                 (u64)(c->stack_end - fp) < (frame))) TRAP(T_STACK); \\\n"
        "    CHECK_INTERRUPT(); } while (0)\n"
        "#define DCALL(f) do { if (UNLIKELY(c->depth >= c->max_depth)) TRAP(T_STACK); \\\n"
        "    c->depth++; f(c, fp + FRAME_OF_CALLER); c->depth--; } while (0)\n"
        /* call_indirect: inline when the entry is a compiled function of
         * this instance of the right type (bounds, null and type checked
         * here as in the helper), else the helper, which checks again and
         * reports the trap. A function whose instance is this one is one of
         * the module's, so its index is within spry_native_funcs. */
        "#define ICALL(tbl, type, elem) do { void *t_ = c->tables[tbl], *f_; u32 i_ = (elem); \\\n"
        "    void (*n_)(struct nctx *, u64 *); \\\n"
        "    if (LIKELY(i_ < TBL_SIZE(t_)) && (f_ = TBL_ELEMS(t_)[i_]) != 0 && \\\n"
        "        FN_TYPE_ID(f_) == c->type_ids[type] && FN_INST(f_) == c->inst && \\\n"
        "        (n_ = spry_native_funcs[FN_INDEX(f_)]) != 0) { \\\n"
        "        if (UNLIKELY(c->depth >= c->max_depth)) TRAP(T_STACK); \\\n"
        "        c->depth++; n_(c, fp + FRAME_OF_CALLER); c->depth--; \\\n"
        "    } else c->call_indirect(c, (tbl), (type), i_, fp + FRAME_OF_CALLER, FN); } while (0)\n"
        "#define RELOAD() do { mb = *c->mem_base; ms = *c->mem_size; mw = *c->mem_written; } "
        "while (0)\n"
        /* ea < 2^33 and ms <= 2^32: no overflow in ea + n. */
        "#define LOAD(d, T, conv, addr, off) do { u64 ea_ = (u64)(addr) + (off); \\\n"
        "    if (UNLIKELY(ea_ + sizeof(T) > ms)) TRAP(T_OOB); \\\n"
        "    T v_; __builtin_memcpy(&v_, mb + ea_, sizeof(T)); d = conv v_; } while (0)\n"
        "#define STORE(T, addr, off, val) do { u64 ea_ = (u64)(addr) + (off); \\\n"
        "    if (UNLIKELY(ea_ + sizeof(T) > ms)) TRAP(T_OOB); \\\n"
        "    T v_ = (T)(val); __builtin_memcpy(mb + ea_, &v_, sizeof(T)); \\\n"
        "    mw[ea_ >> WRITTEN_SHIFT] = 1; } while (0)\n"
        "static inline float F32(u32 b) { float f; __builtin_memcpy(&f, &b, 4); return f; }\n"
        "static inline u32 FB32(float f) { u32 b; __builtin_memcpy(&b, &f, 4); return b; }\n"
        "static inline double F64(u64 b) { double f; __builtin_memcpy(&f, &b, 8); return f; }\n"
        "static inline u64 FB64(double f) { u64 b; __builtin_memcpy(&b, &f, 8); return b; }\n"
        /* An opaque promotion: the compiler must not fold demote(promote(x))
         * into x, which would keep a signalling NaN. */
        "static inline u64 promote32(u32 x) { double d = (double)F32(x);\n"
        "    __asm__(\"\" : \"+g\"(d)); return FB64(d); }\n"
        "static inline u32 rotl32(u32 x, u32 n) { n &= 31; return (x << n) | (x >> ((32 - n) & "
        "31)); }\n"
        "static inline u32 rotr32(u32 x, u32 n) { n &= 31; return (x >> n) | (x << ((32 - n) & "
        "31)); }\n"
        "static inline u64 rotl64(u64 x, u64 n) { n &= 63; return (x << n) | (x >> ((64 - n) & "
        "63)); }\n"
        "static inline u64 rotr64(u64 x, u64 n) { n &= 63; return (x >> n) | (x << ((64 - n) & "
        "63)); }\n"
        "static inline u64 popcnt64(u64 x) { x = x - ((x >> 1) & 0x5555555555555555ull);\n"
        "    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);\n"
        "    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full; return (x * 0x0101010101010101ull) >> "
        "56; }\n"
        /* min/max: a NaN operand gives a quiet NaN (x + y), -0 < +0. */
        "static inline u32 fmin32(u32 a, u32 b) { float x = F32(a), y = F32(b);\n"
        "    if (x != x || y != y) return FB32(x + y);\n"
        "    if (x == 0 && y == 0) return a | b; return x < y ? a : b; }\n"
        "static inline u32 fmax32(u32 a, u32 b) { float x = F32(a), y = F32(b);\n"
        "    if (x != x || y != y) return FB32(x + y);\n"
        "    if (x == 0 && y == 0) return a & b; return x > y ? a : b; }\n"
        "static inline u64 fmin64(u64 a, u64 b) { double x = F64(a), y = F64(b);\n"
        "    if (x != x || y != y) return FB64(x + y);\n"
        "    if (x == 0 && y == 0) return a | b; return x < y ? a : b; }\n"
        "static inline u64 fmax64(u64 a, u64 b) { double x = F64(a), y = F64(b);\n"
        "    if (x != x || y != y) return FB64(x + y);\n"
        "    if (x == 0 && y == 0) return a & b; return x > y ? a : b; }\n"
        "static inline i32 sat_i32(double t) { if (t != t) return 0;\n"
        "    if (t <= -2147483649.0) return INT32_MIN; if (t >= 2147483648.0) return INT32_MAX;\n"
        "    return (i32)t; }\n"
        "static inline u32 sat_u32(double t) { if (t != t || t <= -1.0) return 0;\n"
        "    if (t >= 4294967296.0) return UINT32_MAX; return (u32)t; }\n"
        "static inline i64 sat_i64(double t) { if (t != t) return 0;\n"
        "    if (t < -9223372036854775808.0) return INT64_MIN;\n"
        "    if (t >= 9223372036854775808.0) return INT64_MAX; return (i64)t; }\n"
        "static inline u64 sat_u64(double t) { if (t != t || t <= -1.0) return 0;\n"
        "    if (t >= 18446744073709551616.0) return UINT64_MAX; return (u64)t; }\n");
}

int native_emit(const struct wasm_module *m, struct spry_buf *outbuf, uint8_t *compiled,
                struct spry_report *report)
{
    struct em e;
    memset(&e, 0, sizeof e);
    e.m = m;
    e.has_mem = m->nmemories > 0;
    struct spry_buf body, fb;
    spry_buf_init(&body, (size_t)1 << 30);
    spry_buf_init(&fb, (size_t)1 << 30);
    int rc = 0;

    /* Pass 1: which functions compile (a call to one that does not goes
     * through the generic call helper). */
    memset(compiled, 0, m->nfuncs);
    for (uint32_t i = m->num_imported_funcs; i < m->nfuncs; i++) {
        spry_buf_reset(&fb);
        compiled[i] = emit_func(&e, i, &fb, &body) ? 1 : 0;
        if (e.oom)
            break;
    }
    /* Pass 2: the file. */
    e.compiled = compiled;
    e.b = outbuf;
    if (!e.oom)
        emit_prelude(&e);
    for (uint32_t i = m->num_imported_funcs; i < m->nfuncs && !e.oom; i++) {
        if (compiled[i])
            out(&e, "static void f%u(struct nctx *c, u64 *fp);\n", i);
    }
    for (uint32_t i = m->num_imported_funcs; i < m->nfuncs && !e.oom; i++) {
        if (!compiled[i])
            continue;
        spry_buf_reset(&fb);
        if (!emit_func(&e, i, &fb, &body)) {
            compiled[i] = 0; /* cannot differ from pass 1, but never emit a half */
            rc = spry_report_set(report, SPRY_EINVAL, "native: function %u changed between passes",
                                 i);
            break;
        }
        /* DCALL's callee frame: this function's own frame size. */
        e.b = outbuf;
        out(&e, "#undef FRAME_OF_CALLER\n#define FRAME_OF_CALLER %uu\n", e.frame);
        if (spry_buf_append(outbuf, fb.data, fb.len) != 0)
            e.oom = true;
    }
    e.b = outbuf;
    if (rc == 0 && !e.oom) {
        out(&e,
            "__attribute__((visibility(\"default\"))) const uint32_t spry_native_count = "
            "%uu;\n",
            m->nfuncs);
        out(&e,
            "__attribute__((visibility(\"default\"))) void (*const spry_native_funcs[%u])"
            "(struct nctx *, u64 *) = {\n",
            m->nfuncs > 0 ? m->nfuncs : 1);
        for (uint32_t i = m->num_imported_funcs; i < m->nfuncs; i++) {
            if (compiled[i])
                out(&e, "[%u] = f%u,\n", i, i);
        }
        out(&e, "};\n");
    }
    if (rc == 0 && e.oom)
        rc = spry_report_set(report, SPRY_ENOMEM, "native: out of memory emitting C");
    spry_buf_fini(&body);
    spry_buf_fini(&fb);
    spry_free(e.ty);
    spry_free(e.ctl);
    spry_free(e.ltypes);
    return rc;
}

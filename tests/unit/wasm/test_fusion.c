/*
 * The translator's peepholes must not change results. Each test computes
 * the same expression twice: once in the shape the translator fuses, and
 * once with a local.tee in between, which keeps the two instructions apart
 * (a teed value must reach its local). Results are compared over inputs
 * chosen to hit shifts past the width, wrap-around, and sign bits.
 */
#include "harness/test.h"
#include "wat.h"

#include "spry/wasm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint64_t inputs[] = {0,          1,          2,          7,
                                  31,         32,         33,         63,
                                  64,         0x80000000, 0xffffffff, 0x123456789abcdef0ull,
                                  UINT64_MAX, 0x7fffffff, 0xdeadbeef, 0x8000000000000000ull};

/* Pairs the interpreter fuses (src/wasm/iops.h): first with an immediate
 * feeding a second operator, and first (two operands) feeding a second with
 * an immediate. */
static const char *const imm_first[][3] = {
    {"i32", "shl", "or"},    {"i32", "shr_u", "or"}, {"i32", "shl", "xor"},
    {"i32", "shr_u", "xor"}, {"i32", "shl", "add"},  {"i32", "and", "or"},
    {"i32", "and", "add"},   {"i64", "shl", "xor"},  {"i64", "shr_u", "xor"},
    {"i64", "shl", "or"},    {"i64", "shr_u", "or"},
};
static const char *const imm_second[][3] = {
    {"i32", "xor", "rotl"}, {"i32", "xor", "rotr"}, {"i32", "add", "rotl"}, {"i32", "add", "and"},
    {"i32", "xor", "and"},  {"i64", "xor", "mul"},  {"i64", "xor", "rotl"}, {"i64", "add", "mul"},
};

static void check_pair_module(const char *wat)
{
    struct spry_store *store;
    struct spry_instance *inst = wat_instantiate(wat, &store);
    const char *names[] = {"fused_right", "fused_left"};
    for (size_t n = 0; n < 2; n++) {
        for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
            for (size_t j = 0; j < sizeof inputs / sizeof inputs[0]; j++) {
                struct spry_val args[2] = {{.type = SPRY_I64, .of.i64 = (int64_t)inputs[i]},
                                           {.type = SPRY_I64, .of.i64 = (int64_t)inputs[j]}};
                struct spry_val fused, apart;
                ASSERT_OK(spry_instance_call(inst, names[n], args, 2, &fused, 1, NULL));
                ASSERT_OK(spry_instance_call(inst, "apart", args, 2, &apart, 1, NULL));
                if (fused.of.i64 != apart.of.i64)
                    fprintf(stderr, "%s: inputs %zu,%zu\n%s\n", names[n], i, j, wat);
                ASSERT_EQ_UINT(fused.of.i64, apart.of.i64);
            }
        }
    }
    spry_store_destroy(store);
}

/* Arguments arrive as i64; i32 pairs wrap them first. */
static void arg_exprs(const char *ty, char *a, char *b, size_t cap)
{
    if (strcmp(ty, "i32") == 0) {
        snprintf(a, cap, "(i32.wrap_i64 (local.get 0))");
        snprintf(b, cap, "(i32.wrap_i64 (local.get 1))");
    } else {
        snprintf(a, cap, "(local.get 0)");
        snprintf(b, cap, "(local.get 1)");
    }
}

static const char *result_expr(const char *ty)
{
    return strcmp(ty, "i32") == 0 ? "i64.extend_i32_u" : "nop";
}

TEST(wasm_fusion, immediate_first_pairs_match_unfused)
{
    for (size_t p = 0; p < sizeof imm_first / sizeof imm_first[0]; p++) {
        const char *ty = imm_first[p][0], *f = imm_first[p][1], *s = imm_first[p][2];
        char a[64], b[64], wat[4096];
        arg_exprs(ty, a, b, sizeof a);
        for (int k = 0; k < 3; k++) {
            const char *imm = k == 0 ? "5" : k == 1 ? "0x35" : "-3";
            snprintf(wat, sizeof wat,
                     "(module\n"
                     " (func (export \"fused_right\") (param i64 i64) (result i64)\n"
                     "  (%s.%s %s (%s.%s %s (%s.const %s))) (%s))\n"
                     " (func (export \"fused_left\") (param i64 i64) (result i64)\n"
                     "  (%s.%s (%s.%s %s (%s.const %s)) %s) (%s))\n"
                     " (func (export \"apart\") (param i64 i64) (result i64) (local %s)\n"
                     "  (%s.%s (local.tee 2 (%s.%s %s (%s.const %s))) %s) (%s)))\n",
                     ty, s, b, ty, f, a, ty, imm, result_expr(ty), ty, s, ty, f, a, ty, imm, b,
                     result_expr(ty), ty, ty, s, ty, f, a, ty, imm, b, result_expr(ty));
            check_pair_module(wat);
        }
    }
}

TEST(wasm_fusion, immediate_second_pairs_match_unfused)
{
    for (size_t p = 0; p < sizeof imm_second / sizeof imm_second[0]; p++) {
        const char *ty = imm_second[p][0], *f = imm_second[p][1], *s = imm_second[p][2];
        char a[64], b[64], wat[4096];
        arg_exprs(ty, a, b, sizeof a);
        for (int k = 0; k < 3; k++) {
            const char *imm = k == 0 ? "7" : k == 1 ? "0x4c1d" : "-1";
            snprintf(wat, sizeof wat,
                     "(module\n"
                     " (func (export \"fused_right\") (param i64 i64) (result i64)\n"
                     "  (%s.%s (%s.%s %s %s) (%s.const %s)) (%s))\n"
                     " (func (export \"fused_left\") (param i64 i64) (result i64)\n"
                     "  (%s.%s (%s.%s %s %s) (%s.const %s)) (%s))\n"
                     " (func (export \"apart\") (param i64 i64) (result i64) (local %s)\n"
                     "  (%s.%s (local.tee 2 (%s.%s %s %s)) (%s.const %s)) (%s)))\n",
                     ty, s, ty, f, a, b, ty, imm, result_expr(ty), ty, s, ty, f, b, a, ty, imm,
                     result_expr(ty), ty, ty, s, ty, f, a, b, ty, imm, result_expr(ty));
            /* "fused_left" swaps the first operator's operands: for these
             * commutative first operators the result must not change. */
            check_pair_module(wat);
        }
    }
}

TEST(wasm_fusion, loop_step_compare_and_branch)
{
    /* i += k; if (i <op> n) continue — fused into one instruction. */
    struct spry_store *store;
    struct spry_instance *inst = wat_instantiate(
        "(module (func (export \"count\") (param i32) (result i32) (local i32 i32)\n"
        "  (loop\n"
        "    (local.set 2 (i32.add (local.get 2) (i32.const 1)))\n"
        "    (br_if 0 (i32.lt_u (local.tee 1 (i32.add (local.get 1) (i32.const 3)))\n"
        "                       (local.get 0))))\n"
        "  (i32.add (i32.mul (local.get 2) (i32.const 1000)) (local.get 1))))",
        &store);
    int32_t r;
    ASSERT_OK(call_i32(inst, "count", 10, &r, NULL)); /* i = 3, 6, 9, 12 */
    ASSERT_EQ_INT(r, 4 * 1000 + 12);
    ASSERT_OK(call_i32(inst, "count", 0, &r, NULL));
    ASSERT_EQ_INT(r, 1 * 1000 + 3);
    ASSERT_OK(call_i32(inst, "count", 1000, &r, NULL)); /* i = 3 .. 999, 1002 */
    ASSERT_EQ_INT(r, 334 * 1000 + 1002);
    spry_store_destroy(store);
}

static const char *const float_chains[][3] = {
    {"f64", "mul", "add"}, {"f64", "mul", "sub"}, {"f64", "mul", "mul"}, {"f64", "sub", "mul"},
    {"f64", "add", "mul"}, {"f32", "mul", "add"}, {"f32", "mul", "sub"}, {"f32", "mul", "mul"},
    {"f32", "sub", "mul"}, {"f32", "add", "mul"},
};

static const uint64_t float_inputs[] = {
    0x3ff0000000000000ull, /* 1.0 */
    0xc00921fb54442d18ull, /* -pi */
    0x7ff8000000000001ull, /* a NaN with payload */
    0x0000000000000001ull, /* the smallest subnormal */
    0x7fefffffffffffffull, /* the largest double */
    0x8000000000000000ull, /* -0.0 */
    0x3fb999999999999aull, /* 0.1 */
    0x40490fdb3fb33333ull, /* as f32 halves: 3.14159 and 1.4 */
};

TEST(wasm_fusion, float_chains_round_like_separate_instructions)
{
    for (size_t p = 0; p < sizeof float_chains / sizeof float_chains[0]; p++) {
        const char *ty = float_chains[p][0], *f = float_chains[p][1], *s = float_chains[p][2];
        bool f32 = strcmp(ty, "f32") == 0;
        /* Arguments are i64 bit patterns (f32 takes the low half), moved
         * into locals 4-6 first so that nothing is emitted between the two
         * operators of the chain. */
        const char *conv = f32 ? "(f32.reinterpret_i32 (i32.wrap_i64 (local.get %d)))"
                               : "(f64.reinterpret_i64 (local.get %d))";
        char setup[400], c0[100], c1[100], c2[100];
        snprintf(c0, sizeof c0, conv, 0);
        snprintf(c1, sizeof c1, conv, 1);
        snprintf(c2, sizeof c2, conv, 2);
        snprintf(setup, sizeof setup, "(local.set 4 %s) (local.set 5 %s) (local.set 6 %s)", c0, c1,
                 c2);
        const char *a = "(local.get 4)", *b = "(local.get 5)", *c = "(local.get 6)";
        const char *back =
            f32 ? "(i64.extend_i32_u (i32.reinterpret_f32 %s))" : "(i64.reinterpret_f64 %s)";
        char exprs[4][512], body[4][1100], wat[6000];
        snprintf(exprs[0], sizeof exprs[0], "(%s.%s (%s.%s %s %s) %s)", ty, s, ty, f, a, b, c);
        snprintf(exprs[1], sizeof exprs[1], "(%s.%s %s (%s.%s %s %s))", ty, s, c, ty, f, a, b);
        snprintf(exprs[2], sizeof exprs[2], "(%s.%s (local.tee 3 (%s.%s %s %s)) %s)", ty, s, ty, f,
                 a, b, c);
        snprintf(exprs[3], sizeof exprs[3], "(%s.%s %s (local.tee 3 (%s.%s %s %s)))", ty, s, c, ty,
                 f, a, b);
        for (int k = 0; k < 4; k++) {
            char result[600];
            snprintf(result, sizeof result, back, exprs[k]);
            snprintf(body[k], sizeof body[k], "(local %s %s %s %s) %s %s", ty, ty, ty, ty, setup,
                     result);
        }
        snprintf(wat, sizeof wat,
                 "(module\n"
                 " (func (export \"l\") (param i64 i64 i64) (result i64) %s)\n"
                 " (func (export \"r\") (param i64 i64 i64) (result i64) %s)\n"
                 " (func (export \"la\") (param i64 i64 i64) (result i64) %s)\n"
                 " (func (export \"ra\") (param i64 i64 i64) (result i64) %s))\n",
                 body[0], body[1], body[2], body[3]);
        struct spry_store *store;
        struct spry_instance *inst = wat_instantiate(wat, &store);
        size_t n = sizeof float_inputs / sizeof float_inputs[0];
        for (size_t i = 0; i < n * n * n; i++) {
            struct spry_val args[3], r[4];
            for (int k = 0; k < 3; k++) {
                args[k].type = SPRY_I64;
                args[k].of.i64 = (int64_t)float_inputs[(i / (k == 0 ? 1 : k == 1 ? n : n * n)) % n];
            }
            const char *names[4] = {"l", "r", "la", "ra"};
            for (int k = 0; k < 4; k++)
                ASSERT_OK(spry_instance_call(inst, names[k], args, 3, &r[k], 1, NULL));
            ASSERT_EQ_UINT(r[0].of.i64, r[2].of.i64);
            ASSERT_EQ_UINT(r[1].of.i64, r[3].of.i64);
        }
        spry_store_destroy(store);
    }
}

TEST(wasm_fusion, f64_load_feeding_an_operator)
{
    /* dst = x OP load and dst = load OP x, with the address in a local or
     * a local plus a constant, against the same with a tee in between. */
    const char *ops[] = {"add", "sub", "mul"};
    for (size_t o = 0; o < 3; o++) {
        char wat[4096];
        const char *op = ops[o];
        snprintf(wat, sizeof wat,
                 "(module (memory 1)\n"
                 " (data (i32.const 0) \"\\00\\00\\00\\00\\00\\00\\f8\\3f\\01\\00\\00\\00\\00\\00"
                 "\\f8\\7f\\00\\00\\00\\00\\00\\00\\00\\80\")\n"
                 " (func (export \"r\") (param i32 f64) (result f64)\n"
                 "  (f64.%s (local.get 1) (f64.load (local.get 0))))\n"
                 " (func (export \"l\") (param i32 f64) (result f64)\n"
                 "  (f64.%s (f64.load (local.get 0)) (local.get 1)))\n"
                 " (func (export \"ri\") (param i32 f64) (result f64)\n"
                 "  (f64.%s (local.get 1) (f64.load (i32.add (local.get 0) (i32.const 8)))))\n"
                 " (func (export \"li\") (param i32 f64) (result f64)\n"
                 "  (f64.%s (f64.load offset=8 (local.get 0)) (local.get 1)))\n"
                 " (func (export \"r_apart\") (param i32 f64) (result f64) (local f64)\n"
                 "  (f64.%s (local.get 1) (local.tee 2 (f64.load (local.get 0)))))\n"
                 " (func (export \"l_apart\") (param i32 f64) (result f64) (local f64)\n"
                 "  (f64.%s (local.tee 2 (f64.load (local.get 0))) (local.get 1))))\n",
                 op, op, op, op, op, op);
        struct spry_store *store;
        struct spry_instance *inst = wat_instantiate(wat, &store);
        const double xs[] = {2.5, -0.0, 1e308};
        for (int addr = 0; addr <= 16; addr += 8) {
            for (size_t k = 0; k < 3; k++) {
                struct spry_val args[2] = {{.type = SPRY_I32, .of.i32 = addr}, {.type = SPRY_F64}};
                memcpy(&args[1].of.f64_bits, &xs[k], 8);
                struct spry_val r, ra, l, la, ri, li;
                ASSERT_OK(spry_instance_call(inst, "r", args, 2, &r, 1, NULL));
                ASSERT_OK(spry_instance_call(inst, "r_apart", args, 2, &ra, 1, NULL));
                ASSERT_OK(spry_instance_call(inst, "l", args, 2, &l, 1, NULL));
                ASSERT_OK(spry_instance_call(inst, "l_apart", args, 2, &la, 1, NULL));
                ASSERT_EQ_UINT(r.of.f64_bits, ra.of.f64_bits);
                ASSERT_EQ_UINT(l.of.f64_bits, la.of.f64_bits);
                if (addr <= 8) { /* +8 reads the next value */
                    struct spry_val next = args[0];
                    next.of.i32 = addr + 8;
                    struct spry_val args2[2] = {next, args[1]};
                    ASSERT_OK(spry_instance_call(inst, "ri", args, 2, &ri, 1, NULL));
                    ASSERT_OK(spry_instance_call(inst, "li", args, 2, &li, 1, NULL));
                    ASSERT_OK(spry_instance_call(inst, "r_apart", args2, 2, &ra, 1, NULL));
                    ASSERT_OK(spry_instance_call(inst, "l_apart", args2, 2, &la, 1, NULL));
                    ASSERT_EQ_UINT(ri.of.f64_bits, ra.of.f64_bits);
                    ASSERT_EQ_UINT(li.of.f64_bits, la.of.f64_bits);
                }
            }
        }
        /* The fused load still traps out of bounds. */
        struct spry_val oob[2] = {{.type = SPRY_I32, .of.i32 = 65532}, {.type = SPRY_F64}};
        struct spry_val r;
        struct spry_trap trap;
        ASSERT_EQ_INT(spry_instance_call(inst, "r", oob, 2, &r, 1, &trap), SPRY_ETRAP);
        ASSERT_EQ_INT(trap.kind, SPRY_TRAP_MEMORY_OOB);
        ASSERT_EQ_INT(spry_instance_call(inst, "li", oob, 2, &r, 1, &trap), SPRY_ETRAP);
        spry_store_destroy(store);
    }
}

/* A store of a constant value (the _V forms, with a sign-extended 32-bit
 * immediate; wider i64/f64 constants keep a constant slot) writes the same
 * bytes as the same store of that value from a local, at an address from a
 * local (the _V form) or from an i32.add just before (which fuses into the
 * address instead), and traps alike out of bounds. */
TEST(wasm_fusion, stores_of_constants_match_stores_from_a_local)
{
    static const struct {
        const char *store, *ty, *value;
    } cases[] = {
        {"i32.store", "i32", "0"},
        {"i32.store", "i32", "-1"},
        {"i32.store", "i32", "0x80000000"},
        {"i32.store", "i32", "0x7fffffff"},
        {"i32.store8", "i32", "0x1ff"},
        {"i32.store16", "i32", "-2"},
        {"i64.store", "i64", "0"},
        {"i64.store", "i64", "-1"},
        {"i64.store", "i64", "-2147483648"},
        {"i64.store", "i64", "2147483647"},
        {"i64.store", "i64", "2147483648"}, /* does not fit: a constant slot */
        {"i64.store", "i64", "0x123456789abcdef0"},
        {"i64.store8", "i64", "-1"},
        {"i64.store16", "i64", "0x12345"},
        {"i64.store32", "i64", "0xfedcba9876543210"},
        {"f32.store", "f32", "-0.0"},
        {"f32.store", "f32", "1.5"},
        {"f64.store", "f64", "0.0"},
        {"f64.store", "f64", "-0.0"}, /* the sign bit alone: a constant slot */
        {"f64.store", "f64", "-nan:0x7ffff00000000"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char wat[2048];
        const char *st = cases[c].store, *ty = cases[c].ty, *v = cases[c].value;
        snprintf(
            wat, sizeof wat,
            "(module (memory 1)\n"
            " (func $read (param i32) (result i64)\n"
            "  (i64.xor (i64.load (local.get 0)) (i64.rotl (i64.load offset=8 (local.get 0))\n"
            "   (i64.const 1))))\n"
            " (func (export \"const\") (param i32) (result i64)\n"
            "  (memory.fill (local.get 0) (i32.const 0xa5) (i32.const 16))\n"
            "  (%s offset=3 (local.get 0) (%s.const %s)) (call $read (local.get 0)))\n"
            " (func (export \"added\") (param i32) (result i64)\n"
            "  (memory.fill (local.get 0) (i32.const 0xa5) (i32.const 16))\n"
            "  (%s offset=1 (i32.add (local.get 0) (i32.const 2)) (%s.const %s))\n"
            "  (call $read (local.get 0)))\n"
            " (func (export \"apart\") (param i32) (result i64) (local %s)\n"
            "  (local.set 1 (%s.const %s))\n"
            "  (memory.fill (local.get 0) (i32.const 0xa5) (i32.const 16))\n"
            "  (%s offset=3 (local.get 0) (local.get 1)) (call $read (local.get 0)))\n"
            " (func (export \"only\") (param i32) (%s offset=3 (local.get 0) (%s.const %s))))\n",
            st, ty, v, st, ty, v, ty, ty, v, st, st, ty, v);
        struct spry_store *store;
        struct spry_instance *inst = wat_instantiate(wat, &store);
        for (int32_t addr = 0; addr < 64; addr += 21) {
            struct spry_val arg = {.type = SPRY_I32, .of.i32 = addr}, k, a, r;
            ASSERT_OK(spry_instance_call(inst, "const", &arg, 1, &k, 1, NULL));
            ASSERT_OK(spry_instance_call(inst, "added", &arg, 1, &a, 1, NULL));
            ASSERT_OK(spry_instance_call(inst, "apart", &arg, 1, &r, 1, NULL));
            if (k.of.i64 != r.of.i64 || a.of.i64 != r.of.i64)
                fprintf(stderr, "%s %s\n", st, v);
            ASSERT_EQ_UINT(k.of.i64, r.of.i64);
            ASSERT_EQ_UINT(a.of.i64, r.of.i64);
        }
        /* Out of bounds (the last byte of the store past the end). */
        struct spry_val oob = {.type = SPRY_I32, .of.i32 = 65536 - 3}, r;
        struct spry_trap trap;
        ASSERT_EQ_INT(spry_instance_call(inst, "only", &oob, 1, &r, 0, &trap), SPRY_ETRAP);
        ASSERT_EQ_INT(trap.kind, SPRY_TRAP_MEMORY_OOB);
        ASSERT_EQ_UINT(trap.func_index, 4);
        spry_store_destroy(store);
    }
}

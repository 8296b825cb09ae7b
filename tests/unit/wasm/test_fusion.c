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

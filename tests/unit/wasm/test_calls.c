/*
 * Wasm-to-wasm calls (interp.c do_call, the CALL_ARGS forms, the frame
 * stack) and the stack-pointer fusions (ADDI_GLOBAL_SET, GLOBAL_ADD_I):
 * arguments taken from locals, constants and computed values arrive in
 * order, the call-depth limit is exact, traps inside callees name the
 * callee and the trapping instruction, and fused global updates keep
 * every value a separate instruction sequence would.
 */
#include "harness/test.h"
#include "wat.h"

#include "spry/wasm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* $mix weighs each argument by a distinct power of ten, so a swapped or
 * missing argument changes the result. Callers pass locals, constants and
 * computed values in every position, directly and through call_indirect. */
static const char *const ARGS_WAT =
    "(module\n"
    "  (type $t5 (func (param i32 i32 i32 i32 i32) (result i32)))\n"
    "  (type $t3 (func (param i32 i32 i32) (result i32)))\n"
    "  (table 2 funcref) (elem (i32.const 0) $mix $mix3)\n"
    "  (func $mix (type $t5)\n"
    "    (i32.add (i32.add (i32.add (i32.add (local.get 0)\n"
    "      (i32.mul (local.get 1) (i32.const 10)))\n"
    "      (i32.mul (local.get 2) (i32.const 100)))\n"
    "      (i32.mul (local.get 3) (i32.const 1000)))\n"
    "      (i32.mul (local.get 4) (i32.const 10000))))\n"
    "  (func $mix3 (type $t3) (local i32 i32)\n"
    "    (i32.add (i32.add (local.get 0) (i32.mul (local.get 1) (i32.const 10)))\n"
    "      (i32.add (i32.mul (local.get 2) (i32.const 100)) (i32.add (local.get 3) (local.get "
    "4)))))\n"
    "  (func $one (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))\n"
    "  (func $two (param i32 i32) (result i32) (i32.sub (local.get 0) (local.get 1)))\n"
    "  (func (export \"direct\") (param $a i32) (param $b i32) (result i32)\n"
    "    (call $mix (local.get $b) (i32.const 7) (i32.add (local.get $a) (i32.const 1))\n"
    "      (local.get $a) (i32.const 2)))\n"
    "  (func (export \"indirect\") (param $a i32) (param $b i32) (result i32)\n"
    "    (call_indirect (type $t5) (local.get $a) (local.get $b) (i32.const 1)\n"
    "      (local.get $b) (i32.const 3) (i32.const 0)))\n"
    "  (func (export \"indirect3\") (param $a i32) (param $b i32) (result i32)\n"
    "    (call_indirect (type $t3) (local.get $b) (i32.const 5) (local.get $a) (i32.const 1)))\n"
    "  (func (export \"small\") (param $a i32) (param $b i32) (result i32)\n"
    "    (i32.add (call $one (local.get $a))\n"
    "      (i32.mul (call $two (local.get $b) (local.get $a)) (i32.const 1000))))\n"
    "  (func (export \"nested\") (param $a i32) (param $b i32) (result i32)\n"
    "    (call $mix (call $one (local.get $a)) (local.get $a) (call $two (local.get $b) (i32.const "
    "1))\n"
    "      (local.get $b) (local.get $a))))\n";

static int32_t call2(struct spry_instance *inst, const char *name, int32_t a, int32_t b)
{
    struct spry_val args[2] = {{.type = SPRY_I32, .of.i32 = a}, {.type = SPRY_I32, .of.i32 = b}};
    struct spry_val r;
    ASSERT_OK(spry_instance_call(inst, name, args, 2, &r, 1, NULL));
    return r.of.i32;
}

static int32_t mix(int32_t a, int32_t b, int32_t c, int32_t d, int32_t e)
{
    return a + b * 10 + c * 100 + d * 1000 + e * 10000;
}

TEST(wasm_calls, arguments_from_locals_constants_and_values_arrive_in_order)
{
    struct spry_store *store;
    struct spry_instance *inst = wat_instantiate(ARGS_WAT, &store);
    static const int32_t in[][2] = {{1, 2}, {3, 4}, {9, 0}, {-5, 8}};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        int32_t a = in[i][0], b = in[i][1];
        ASSERT_EQ_INT(call2(inst, "direct", a, b), mix(b, 7, a + 1, a, 2));
        ASSERT_EQ_INT(call2(inst, "indirect", a, b), mix(a, b, 1, b, 3));
        /* $mix3's declared locals start at zero on every call. */
        ASSERT_EQ_INT(call2(inst, "indirect3", a, b), b + 5 * 10 + a * 100);
        ASSERT_EQ_INT(call2(inst, "small", a, b), a * 3 + (b - a) * 1000);
        ASSERT_EQ_INT(call2(inst, "nested", a, b), mix(a * 3, a, b - 1, b, a));
    }
    spry_store_destroy(store);
}

/* Recursion to depth n: f(n) = f(n - 1) + 1, f(0) = 0; n + 1 frames. */
static const char *const DEPTH_WAT =
    "(module (func $f (export \"f\") (param i32) (result i32)\n"
    "  (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))\n"
    "    (else (i32.add (call $f (i32.sub (local.get 0) (i32.const 1))) (i32.const 1))))))\n";

TEST(wasm_calls, the_call_depth_limit_is_exact)
{
    struct spry_module *m = wat_load(DEPTH_WAT);
    struct spry_store_limits limits = {.max_call_depth = 100};
    struct spry_store *store;
    ASSERT_OK(spry_store_create(&limits, &store));
    struct spry_instance *inst;
    ASSERT_OK(spry_instance_create(store, m, NULL, 0, &inst, NULL, NULL));
    int32_t r;
    ASSERT_OK(call_i32(inst, "f", 99, &r, NULL)); /* 100 frames */
    ASSERT_EQ_INT(r, 99);
    struct spry_trap trap;
    ASSERT_EQ_INT(call_i32(inst, "f", 100, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_STACK_EXHAUSTED);
    /* The frame stack is whole again after the trap. */
    ASSERT_OK(call_i32(inst, "f", 99, &r, NULL));
    ASSERT_EQ_INT(r, 99);
    spry_store_destroy(store);
    spry_module_destroy(m);
}

TEST(wasm_calls, the_default_depth_limit_holds_for_deep_recursion)
{
    struct spry_store *store;
    struct spry_instance *inst = wat_instantiate(DEPTH_WAT, &store);
    int32_t r;
    ASSERT_OK(call_i32(inst, "f", 9999, &r, NULL)); /* 10000 frames: the default */
    ASSERT_EQ_INT(r, 9999);
    struct spry_trap trap;
    ASSERT_EQ_INT(call_i32(inst, "f", 10000, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_STACK_EXHAUSTED);
    ASSERT_EQ_STR(trap.message, "call stack exhausted");
    spry_store_destroy(store);
}

TEST(wasm_calls, a_trap_in_a_callee_names_the_callee_and_its_instruction)
{
    static const char *const wat =
        "(module\n"
        "  (func $inner (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1)))\n"
        "  (func $middle (param i32) (result i32) (call $inner (i32.const 10) (local.get 0)))\n"
        "  (func (export \"outer\") (param i32) (result i32)\n"
        "    (i32.add (call $middle (local.get 0)) (i32.const 1))))\n";
    uint8_t *bytes;
    size_t len;
    wat_compile(wat, &bytes, &len);
    struct spry_store *store;
    struct spry_instance *inst = wat_instantiate(wat, &store);
    int32_t r;
    ASSERT_OK(call_i32(inst, "outer", 5, &r, NULL));
    ASSERT_EQ_INT(r, 3);
    struct spry_trap trap;
    ASSERT_EQ_INT(call_i32(inst, "outer", 0, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_DIV_ZERO);
    ASSERT_EQ_UINT(trap.func_index, 0);
    ASSERT_TRUE(trap.code_offset < len);
    ASSERT_EQ_UINT(bytes[trap.code_offset], 0x6e); /* i32.div_u */
    /* The caller still runs after the trap unwound its frames. */
    ASSERT_OK(call_i32(inst, "outer", 2, &r, NULL));
    ASSERT_EQ_INT(r, 6);
    spry_store_destroy(store);
    free(bytes);
}

/* The shapes compilers emit around a shadow stack pointer: "prologue" and
 * "epilogue" fuse; "kept" tees the global's old value into a local first,
 * which must survive; "apart" is the unfused reference. */
static const char *const SP_WAT =
    "(module (global $sp (mut i32) (i32.const 1000))\n"
    "  (func (export \"prologue\") (param i32) (result i32) (local $fp i32)\n"
    "    global.get $sp local.get 0 i32.sub local.tee $fp global.set $sp\n"
    "    global.get $sp i32.const 16 i32.sub local.tee $fp global.set $sp\n"
    "    (i32.add (i32.mul (local.get $fp) (i32.const 100000)) (global.get $sp)))\n"
    "  (func (export \"epilogue\") (param i32) (result i32) (local $fp i32)\n"
    "    (local.set $fp (i32.sub (global.get $sp) (local.get 0)))\n"
    "    local.get $fp i32.const 16 i32.add global.set $sp\n"
    "    global.get $sp i32.const -3 i32.sub global.set $sp\n"
    "    (global.get $sp))\n"
    "  (func (export \"kept\") (param i32) (result i32) (local $old i32)\n"
    "    global.get $sp local.tee $old i32.const 8 i32.sub global.set $sp\n"
    "    (i32.add (i32.mul (local.get $old) (i32.const 100000)) (global.get $sp)))\n"
    "  (func (export \"wraps\") (param i32) (result i32)\n"
    "    (global.set $sp (local.get 0))\n"
    "    global.get $sp i32.const 16 i32.sub global.set $sp (global.get $sp))\n"
    "  (func (export \"get\") (param i32) (result i32) (global.get $sp)))\n";

TEST(wasm_calls, stack_pointer_updates_keep_every_value)
{
    struct spry_store *store;
    struct spry_instance *inst = wat_instantiate(SP_WAT, &store);
    int32_t r;
    ASSERT_OK(call_i32(inst, "prologue", 4, &r, NULL));
    /* sp 1000 -> 996 -> 980; $fp last 980. */
    ASSERT_EQ_INT(r, 980 * 100000 + 980);
    ASSERT_OK(call_i32(inst, "get", 0, &r, NULL));
    ASSERT_EQ_INT(r, 980);
    ASSERT_OK(call_i32(inst, "epilogue", 20, &r, NULL));
    /* $fp = 960; sp = 976; sp = 979. */
    ASSERT_EQ_INT(r, 979);
    ASSERT_OK(call_i32(inst, "kept", 0, &r, NULL));
    ASSERT_EQ_INT(r, 979 * 100000 + 971);
    /* i32 arithmetic wraps: 8 - 16 is 0xfffffff8. */
    ASSERT_OK(call_i32(inst, "wraps", 8, &r, NULL));
    ASSERT_EQ_INT(r, -8);
    ASSERT_OK(call_i32(inst, "get", 0, &r, NULL));
    ASSERT_EQ_INT(r, -8);
    spry_store_destroy(store);
}

/* Trivial callees (translate.c, call_inline) of every shape: empty, a
 * constant, global.get, local.get 0 + global.set; "plus" reads a global but
 * is not trivial (an add), so it is a real call. */
static const char *const TRIVIAL_WAT =
    "(module (global $g (mut i32) (i32.const 7)) (global $h (mut i64) (i64.const 0))\n"
    "  (func $empty (param i32 i64))\n"
    "  (func $c32 (result i32) (i32.const -5))\n"
    "  (func $c64 (param i32) (result i64) (i64.const -4294967296))\n"
    "  (func $get (result i32) (global.get $g))\n"
    "  (func $set (param i32) (global.set $g (local.get 0)))\n"
    "  (func $set64 (param i64) (global.set $h (local.get 0)))\n"
    "  (func $get64 (result i64) (global.get $h))\n"
    "  (func $plus (result i32) (i32.add (global.get $g) (i32.const 1)))\n"
    "  (func (export \"run\") (param $x i32) (result i32) (local $t i32)\n"
    "    (call $empty (local.get $x) (i64.const 3))\n"
    "    (call $set (i32.add (local.get $x) (i32.const 16)))\n"
    "    (local.set $t (call $get))\n"
    "    (call $set (i32.const 100))\n"
    "    (call $set64 (i64.add (call $c64 (local.get $x)) (i64.extend_i32_u (local.get $x))))\n"
    "    (if (i64.ne (call $get64) (i64.sub (i64.extend_i32_u (local.get $x))\n"
    "                                       (i64.const 4294967296))) (then unreachable))\n"
    "    (i32.add (i32.add (i32.mul (local.get $t) (i32.const 1000)) (call $get))\n"
    "      (call $c32)))\n"
    "  (func (export \"get\") (param i32) (result i32) (call $get))\n"
    "  (func (export \"plus\") (param i32) (result i32) (call $plus))\n"
    /* $f recurses n deep, calling trivial callees in every frame. */
    "  (func $f (export \"f\") (param i32) (result i32)\n"
    "    (call $set (i32.add (call $get) (call $c32)))\n"
    "    (if (result i32) (i32.eqz (local.get 0)) (then (call $c32))\n"
    "      (else (i32.add (call $f (i32.sub (local.get 0) (i32.const 1))) (i32.const 1))))))\n";

TEST(wasm_calls, trivial_callees_of_every_shape_keep_their_results_and_effects)
{
    struct spry_store *store;
    struct spry_instance *inst = wat_instantiate(TRIVIAL_WAT, &store);
    int32_t r;
    for (int32_t x = 0; x < 3; x++) {
        ASSERT_OK(call_i32(inst, "run", x, &r, NULL));
        ASSERT_EQ_INT(r, (x + 16) * 1000 + 100 - 5);
        ASSERT_OK(call_i32(inst, "get", 0, &r, NULL));
        ASSERT_EQ_INT(r, 100);
    }
    spry_store_destroy(store);
}

TEST(wasm_calls, a_trivial_callee_takes_no_frame_and_a_real_one_does)
{
    struct spry_module *m = wat_load(TRIVIAL_WAT);
    struct spry_store_limits limits = {.max_call_depth = 1}; /* the entry frame only */
    struct spry_store *store;
    ASSERT_OK(spry_store_create(&limits, &store));
    struct spry_instance *inst;
    ASSERT_OK(spry_instance_create(store, m, NULL, 0, &inst, NULL, NULL));
    int32_t r;
    ASSERT_OK(call_i32(inst, "get", 0, &r, NULL)); /* runs inline */
    ASSERT_EQ_INT(r, 7);
    struct spry_trap trap;
    ASSERT_EQ_INT(call_i32(inst, "plus", 0, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_STACK_EXHAUSTED);
    spry_store_destroy(store);
    spry_module_destroy(m);
}

TEST(wasm_calls, the_depth_limit_stays_exact_for_recursion_through_trivial_callees)
{
    struct spry_module *m = wat_load(TRIVIAL_WAT);
    struct spry_store_limits limits = {.max_call_depth = 100};
    struct spry_store *store;
    ASSERT_OK(spry_store_create(&limits, &store));
    struct spry_instance *inst;
    ASSERT_OK(spry_instance_create(store, m, NULL, 0, &inst, NULL, NULL));
    int32_t r;
    ASSERT_OK(call_i32(inst, "f", 99, &r, NULL)); /* 100 frames */
    ASSERT_EQ_INT(r, 99 - 5);
    struct spry_trap trap;
    ASSERT_EQ_INT(call_i32(inst, "f", 100, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_STACK_EXHAUSTED);
    ASSERT_EQ_UINT(trap.func_index, 11); /* $f, at its call of itself */
    ASSERT_OK(call_i32(inst, "f", 99, &r, NULL));
    spry_store_destroy(store);
    spry_module_destroy(m);
}

TEST(wasm_calls, a_trap_after_inlined_calls_names_the_callee_and_its_instruction)
{
    static const char *const wat = "(module (global $g (mut i32) (i32.const 10))\n"
                                   "  (func $get (result i32) (global.get $g))\n"
                                   "  (func $set (param i32) (global.set $g (local.get 0)))\n"
                                   "  (func $inner (param i32) (result i32)\n"
                                   "    (call $set (i32.add (call $get) (i32.const 1)))\n"
                                   "    (i32.div_u (call $get) (local.get 0)))\n"
                                   "  (func (export \"outer\") (param i32) (result i32)\n"
                                   "    (i32.add (call $inner (local.get 0)) (call $get))))\n";
    uint8_t *bytes;
    size_t len;
    wat_compile(wat, &bytes, &len);
    struct spry_store *store;
    struct spry_instance *inst = wat_instantiate(wat, &store);
    int32_t r;
    ASSERT_OK(call_i32(inst, "outer", 1, &r, NULL));
    ASSERT_EQ_INT(r, 11 + 11);
    struct spry_trap trap;
    ASSERT_EQ_INT(call_i32(inst, "outer", 0, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_DIV_ZERO);
    ASSERT_EQ_UINT(trap.func_index, 2); /* $inner */
    ASSERT_TRUE(trap.code_offset < len);
    ASSERT_EQ_UINT(bytes[trap.code_offset], 0x6e); /* i32.div_u */
    /* The set before the trap happened; the store runs on. */
    ASSERT_OK(call_i32(inst, "outer", 3, &r, NULL));
    ASSERT_EQ_INT(r, 13 / 3 + 13);
    spry_store_destroy(store);
    free(bytes);
}

/* Instance B imports A's trivial-looking accessors: an imported function
 * is a real call into A, which reads and writes A's global and memory,
 * not B's (B has its own at the same indices). */
TEST(wasm_calls, imported_accessors_are_real_calls_into_their_instance)
{
    static const char *const a_wat =
        "(module (global $g (mut i32) (i32.const 1)) (memory 1)\n"
        "  (func (export \"get\") (result i32) (global.get $g))\n"
        "  (func (export \"set\") (param i32) (global.set $g (local.get 0)))\n"
        "  (func (export \"poke\") (param i32) (i32.store (i32.const 8) (local.get 0))))\n";
    static const char *const b_wat =
        "(module (import \"a\" \"get\" (func $get (result i32)))\n"
        "  (import \"a\" \"set\" (func $set (param i32)))\n"
        "  (import \"a\" \"poke\" (func $poke (param i32)))\n"
        "  (global $g (mut i32) (i32.const 2)) (memory 1)\n"
        "  (func (export \"run\") (param i32) (result i32)\n"
        "    (i32.store (i32.const 8) (i32.const 5))\n"
        "    (call $set (local.get 0)) (call $poke (i32.const 9))\n"
        "    (i32.add (i32.add (i32.mul (call $get) (i32.const 100)) (global.get $g))\n"
        "      (i32.mul (i32.load (i32.const 8)) (i32.const 10)))))\n";
    struct spry_store *store;
    struct spry_instance *a = wat_instantiate(a_wat, &store);
    struct spry_module *bm = wat_load(b_wat);
    struct spry_extern imports[3];
    ASSERT_OK(spry_instance_export(a, "get", &imports[0]));
    ASSERT_OK(spry_instance_export(a, "set", &imports[1]));
    ASSERT_OK(spry_instance_export(a, "poke", &imports[2]));
    struct spry_instance *b;
    ASSERT_OK(spry_instance_create(store, bm, imports, 3, &b, NULL, NULL));
    int32_t r;
    ASSERT_OK(call_i32(b, "run", 4, &r, NULL));
    ASSERT_EQ_INT(r, 4 * 100 + 2 + 5 * 10);
    spry_store_destroy(store);
    spry_module_destroy(bm);
}

/* Declared locals start at zero on every call, whether the prologue zeroes
 * them with straight stores (up to four, or eight) or memset, with constants above
 * them, entered by call, by return_call or from the host: each function
 * adds its argument to every local and returns a weighted sum, then leaves
 * its locals dirty for the next call on the same stack slots. */
static const char *const LOCALS_WAT =
    "(module\n"
    "  (func $one (export \"one\") (param i32) (result i32) (local i32)\n"
    "    (local.set 1 (i32.add (local.get 1) (local.get 0)))\n"
    "    (i32.add (local.get 1) (i32.const 1000)))\n"
    "  (func $four (export \"four\") (param i32) (result i32) (local i32 i64 i32 i32)\n"
    "    (local.set 1 (i32.add (local.get 1) (local.get 0)))\n"
    "    (local.set 2 (i64.add (local.get 2) (i64.extend_i32_u (local.get 0))))\n"
    "    (local.set 3 (i32.add (local.get 3) (local.get 0)))\n"
    "    (local.set 4 (i32.add (local.get 4) (local.get 0)))\n"
    "    (i32.add (i32.add (local.get 1) (i32.wrap_i64 (local.get 2)))\n"
    "      (i32.add (i32.add (local.get 3) (local.get 4)) (i32.add (i32.const 2000)\n"
    "        (i32.shl (i32.const 3) (i32.const 20))))))\n"
    "  (func $nine (export \"nine\") (param i32) (result i32) (local i32 i32 i32 i32 i32 i32 i32 "
    "i32 i32)\n"
    "    (local.set 1 (i32.add (local.get 1) (local.get 0)))\n"
    "    (local.set 5 (i32.add (local.get 5) (local.get 0)))\n"
    "    (local.set 9 (i32.add (local.get 9) (local.get 0)))\n"
    "    (i32.add (i32.add (local.get 1) (local.get 5)) (i32.add (local.get 9)\n"
    "      (i32.sub (i32.const 4000) (i32.const 1000)))))\n"
    "  (func $six (export \"six\") (param i32) (result i32) (local i32 i32 i32 i32 i32 i64)\n"
    "    (local.set 3 (i32.add (local.get 3) (local.get 0)))\n"
    "    (local.set 6 (i64.add (local.get 6) (i64.extend_i32_u (local.get 0))))\n"
    "    (i32.add (i32.add (local.get 3) (i32.wrap_i64 (local.get 6))) (local.get 5)))\n"
    "  (func (export \"calls\") (param i32) (result i32)\n"
    "    (i32.add (i32.add (call $one (local.get 0)) (call $four (local.get 0)))\n"
    "      (call $nine (local.get 0))))\n"
    "  (func (export \"tail\") (param i32) (result i32) (return_call $nine (local.get 0)))\n"
    "  (func (export \"tail1\") (param i32) (result i32) (return_call $one (local.get 0))))\n";

TEST(wasm_calls, declared_locals_start_at_zero_on_every_call)
{
    struct spry_store *store;
    struct spry_instance *inst = wat_instantiate(LOCALS_WAT, &store);
    int32_t r;
    for (int i = 0; i < 3; i++) {
        int32_t x = 5 + i;
        ASSERT_OK(call_i32(inst, "one", x, &r, NULL));
        ASSERT_EQ_INT(r, x + 1000);
        ASSERT_OK(call_i32(inst, "four", x, &r, NULL));
        ASSERT_EQ_INT(r, 4 * x + 2000 + (3 << 20));
        ASSERT_OK(call_i32(inst, "nine", x, &r, NULL));
        ASSERT_EQ_INT(r, 3 * x + 3000);
        ASSERT_OK(call_i32(inst, "six", x, &r, NULL));
        ASSERT_EQ_INT(r, 2 * x);
        ASSERT_OK(call_i32(inst, "calls", x, &r, NULL));
        ASSERT_EQ_INT(r, 8 * x + 6000 + (3 << 20));
        ASSERT_OK(call_i32(inst, "tail", x, &r, NULL));
        ASSERT_EQ_INT(r, 3 * x + 3000);
        ASSERT_OK(call_i32(inst, "tail1", x, &r, NULL));
        ASSERT_EQ_INT(r, x + 1000);
    }
    spry_store_destroy(store);
}

/* A host function that asks the store to stop, as another thread would. */
static int host_interrupt(void *user, struct spry_instance *caller, uint64_t *slots)
{
    (void)caller;
    (void)slots;
    spry_store_interrupt(user);
    return 0;
}

/* Calls without loops: "rec" recurses, "tails" bounces between two
 * functions by return_call. Once the host function has asked for
 * interruption, the next function entered stops, before its body runs, and
 * the trap names it. */
TEST(wasm_calls, recursion_without_loops_stops_at_the_next_function_entry)
{
    struct spry_module *m =
        wat_load("(module (import \"env\" \"stop\" (func $stop))\n"
                 "  (global $n (mut i32) (i32.const 0))\n"
                 "  (func $count (global.set $n (i32.add (global.get $n) (i32.const 1))))\n"
                 "  (func $rec (param i32) (result i32) (local i32)\n"
                 "    (call $count)\n"
                 "    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 12345))\n"
                 "      (else (local.set 1 (call $rec (i32.sub (local.get 0) (i32.const 1))))\n"
                 "        (i32.add (local.get 1) (i32.const 7)))))\n"
                 "  (func $ping (param i32) (result i32) (call $count)\n"
                 "    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))\n"
                 "      (else (return_call $pong (i32.sub (local.get 0) (i32.const 1))))))\n"
                 "  (func $pong (param i32) (result i32) (call $count) (call $stop)\n"
                 "    (return_call $ping (local.get 0)))\n"
                 "  (func (export \"rec\") (param i32) (result i32) (call $stop) (call $rec "
                 "(local.get 0)))\n"
                 "  (func (export \"tails\") (param i32) (result i32) (call $ping (local.get 0)))\n"
                 "  (func (export \"count\") (param i32) (result i32) (global.get $n)))\n");
    struct spry_store *store;
    ASSERT_OK(spry_store_create(NULL, &store));
    struct spry_functype type = {0, 0, NULL, NULL};
    struct spry_func *host;
    ASSERT_OK(spry_func_new_host(store, &type, host_interrupt, store, &host));
    struct spry_extern imports[1] = {{.kind = SPRY_EXTERN_FUNC, .of.func = host}};
    struct spry_instance *inst;
    ASSERT_OK(spry_instance_create(store, m, imports, 1, &inst, NULL, NULL));
    int32_t r;
    struct spry_trap trap;
    ASSERT_EQ_INT(call_i32(inst, "rec", 50, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_INTERRUPTED);
    ASSERT_EQ_UINT(trap.func_index, 2); /* $rec, stopped on entry */
    spry_store_clear_interrupt(store);
    ASSERT_OK(call_i32(inst, "count", 0, &r, NULL));
    ASSERT_EQ_INT(r, 0); /* $rec's first $count never ran */
    ASSERT_EQ_INT(call_i32(inst, "tails", 50, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_INTERRUPTED);
    ASSERT_EQ_UINT(trap.func_index, 3); /* $ping, entered by $pong's return_call */
    spry_store_clear_interrupt(store);
    ASSERT_OK(call_i32(inst, "count", 0, &r, NULL));
    ASSERT_EQ_INT(r, 2); /* $ping's, then $pong's */
    spry_store_destroy(store);
    spry_module_destroy(m);
}

/* A loop whose body only calls tiny functions, two of them inlined (no
 * entry of theirs to check at): the loop's backward jump still stops it. */
TEST(wasm_calls, a_loop_calling_tiny_functions_is_interrupted)
{
    struct spry_store *store;
    struct spry_instance *inst = wat_instantiate(
        "(module (global $g (mut i32) (i32.const 0))\n"
        "  (func $get (result i32) (global.get $g))\n"
        "  (func $set (param i32) (global.set $g (local.get 0)))\n"
        "  (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))\n"
        "  (func (export \"spin\") (param i32) (result i32)\n"
        "    (loop (call $set (call $inc (call $get))) (br 0))\n"
        "    (call $get)))",
        &store);
    struct spry_trap trap;
    double ms;
    ASSERT_EQ_INT(call_i32_interrupted(store, inst, "spin", &trap, &ms), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_INTERRUPTED);
    ASSERT_LT_INT((long long)ms, 100); /* slack for a sanitizer build, as test_engine.c */
    spry_store_clear_interrupt(store);
    spry_store_destroy(store);
}

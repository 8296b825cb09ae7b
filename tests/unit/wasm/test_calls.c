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

/*
 * The native tier (src/wasm/native*.c, docs/native.md): the same module run
 * interpreted and native gives the same results; functions the emitter
 * does not handle fall back to the interpreter; the cache is hit the second
 * time; a missing compiler leaves the module interpreted; traps cross
 * between native and interpreted code in both directions; deep recursion
 * ends in "call stack exhausted" (the depth limit, and the C stack limit on
 * a small thread stack); a native loop is interruptible; a pool slot's
 * reset undoes a data.drop made by native code.
 *
 * Each test compiles into its own fresh cache directory (SPRY_CACHE_DIR).
 * The tests need a C compiler (`cc`), which the build has.
 */
#include "harness/test.h"
#include "wat.h"

#include "spry/pool.h"
#include "spry/wasm.h"
#include "wasm/module.h"
#include "wasm/native.h"
#include "wasm/runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct spry_instance *instantiate(struct spry_module *m, struct spry_store **store,
                                         const struct spry_store_limits *limits)
{
    ASSERT_OK(spry_store_create(limits, store));
    struct spry_instance *inst;
    ASSERT_OK(spry_instance_create(*store, m, NULL, 0, &inst, NULL, NULL));
    return inst;
}

/* Integer and float arithmetic, locals, every kind of block and branch,
 * direct and indirect calls, globals, memory (loads and stores of every
 * width, size, grow, fill, copy). Each export folds many operations into
 * one i64, so any difference between the tiers shows. */
static const char *const MIX_WAT =
    "(module\n"
    "  (type $bin (func (param i64 i64) (result i64)))\n"
    "  (memory 1 4) (global $g (mut i64) (i64.const 7))\n"
    "  (table 3 funcref) (elem (i32.const 0) $add $mul $rot)\n"
    "  (func $add (type $bin) (i64.add (local.get 0) (local.get 1)))\n"
    "  (func $mul (type $bin) (i64.mul (local.get 0) (local.get 1)))\n"
    "  (func $rot (type $bin) (i64.rotl (local.get 0) (local.get 1)))\n"
    "  (func $mix (export \"mix\") (param $x i64) (result i64) (local $i i32) (local $acc i64)\n"
    "    (local.set $acc (local.get $x))\n"
    "    (block $out (loop $top\n"
    "      (br_if $out (i32.ge_u (local.get $i) (i32.const 40)))\n"
    "      (local.set $acc (call_indirect (type $bin) (local.get $acc)\n"
    "        (i64.extend_i32_u (local.get $i)) (i32.rem_u (local.get $i) (i32.const 3))))\n"
    "      (local.set $acc (i64.xor (local.get $acc)\n"
    "        (i64.div_s (local.get $acc) (i64.or (i64.extend_i32_s (local.get $i)) (i64.const "
    "1)))))\n"
    "      (block $b (block $a\n"
    "        (br_table $a $b $out (i32.and (local.get $i) (i32.const 1)))\n"
    "      ) (local.set $acc (i64.add (local.get $acc) (i64.const 3))))\n"
    "      (global.set $g (i64.add (global.get $g) (local.get $acc)))\n"
    "      (i64.store (i32.mul (local.get $i) (i32.const 8)) (local.get $acc))\n"
    "      (i32.store8 offset=1000 (local.get $i) (i32.wrap_i64 (local.get $acc)))\n"
    "      (local.set $i (i32.add (local.get $i) (i32.const 1)))\n"
    "      (br $top)))\n"
    "    (i64.add (global.get $g)\n"
    "      (i64.add (i64.load offset=16 (i32.const 0))\n"
    "        (i64.add (i64.load16_s (i32.const 1003)) (i64.load32_u (i32.const 5))))))\n"
    "  (func (export \"floats\") (param $x i64) (result i64) (local $f f64) (local $s f32)\n"
    "    (local.set $f (f64.convert_i64_s (local.get $x)))\n"
    "    (local.set $f (f64.div (f64.sqrt (f64.abs (local.get $f))) (f64.const 3.25)))\n"
    "    (local.set $s (f32.demote_f64 (f64.nearest (f64.mul (local.get $f) (f64.const 10.5)))))\n"
    "    (local.set $s (f32.max (f32.min (local.get $s) (f32.const 1e6)) (f32.const -0.0)))\n"
    "    (f32.store (i32.const 64) (local.get $s))\n"
    "    (i64.add (i64.reinterpret_f64 (f64.floor (local.get $f)))\n"
    "      (i64.add (i64.trunc_sat_f64_s (f64.ceil (f64.promote_f32 (f32.load (i32.const 64)))))\n"
    "        (i64.extend_i32_u (i32.trunc_f32_u (f32.copysign (local.get $s) (f32.const 1)))))))\n"
    "  (func (export \"mem\") (param $x i64) (result i64)\n"
    "    (memory.fill (i32.const 2000) (i32.wrap_i64 (local.get $x)) (i32.const 100))\n"
    "    (memory.copy (i32.const 3000) (i32.const 1990) (i32.const 50))\n"
    "    (drop (memory.grow (i32.const 1)))\n"
    "    (i64.store (i32.const 70000) (local.get $x))\n"
    "    (i64.add (i64.load (i32.const 3008))\n"
    "      (i64.add (i64.load (i32.const 70000)) (i64.extend_i32_u (memory.size)))))\n"
    "  (func (export \"multi\") (param $x i64) (result i64)\n"
    "    local.get $x\n"
    "    block (param i64) (result i64 i64)\n"
    "      i64.const 5\n"
    "      local.get $x i64.const 1 i64.and i64.eqz\n"
    "      br_if 0\n"
    "      drop i64.const 9\n"
    "    end\n"
    "    i64.mul\n"
    "    local.get $x i64.const 100 i64.gt_s\n"
    "    if (param i64) (result i64)\n"
    "      i64.const 1 i64.sub\n"
    "    else\n"
    "      i64.clz i64.const 1 i64.const 2 i32.const 0 select i64.add\n"
    "    end))\n";

static int64_t call64(struct spry_instance *inst, const char *name, int64_t x)
{
    int64_t r;
    ASSERT_OK(call_i64(inst, name, x, &r, NULL));
    return r;
}

TEST(native, a_module_gives_the_same_results_interpreted_and_native)
{
    native_cache_fresh();
    struct spry_module *mi = wat_load_tier(MIX_WAT, false), *mn = wat_load_tier(MIX_WAT, true);
    ASSERT_NULL(runtime_module(mi)->native);
    for (uint32_t f = 0; f < 7; f++)
        ASSERT_TRUE(func_is_native(mn, f));
    static const char *const names[] = {"mix", "floats", "mem", "multi"};
    static const int64_t inputs[] = {0, 1, -1, 2, 99, 101, 12345, -987654321, INT64_MAX, INT64_MIN};
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
        for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
            /* A fresh instance each time: "mem" grows the memory. */
            struct spry_store *si, *sn;
            struct spry_instance *ii = instantiate(mi, &si, NULL), *in = instantiate(mn, &sn, NULL);
            int64_t want = call64(ii, names[n], inputs[k]);
            int64_t got = call64(in, names[n], inputs[k]);
            if (want != got)
                fprintf(stderr, "%s(%lld): interpreted %lld, native %lld\n", names[n],
                        (long long)inputs[k], (long long)want, (long long)got);
            ASSERT_EQ_INT(got, want);
            ASSERT_EQ_MEM(spry_memory_data(spry_instance_memory(in, 0)),
                          spry_memory_data(spry_instance_memory(ii, 0)), 65536);
            spry_store_destroy(si);
            spry_store_destroy(sn);
        }
    }
    spry_module_destroy(mi);
    spry_module_destroy(mn);
    native_cache_drop();
}

/* $uses_table uses table.get (not compiled this slice): it stays
 * interpreted, and calls between it and native functions work both ways. */
static const char *const FALLBACK_WAT =
    "(module\n"
    "  (table $t 1 funcref) (elem (i32.const 0) $leaf)\n"
    "  (func $leaf (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))\n"
    "  (func $uses_table (param i32) (result i32)\n"
    "    (if (ref.is_null (table.get $t (i32.const 0))) (then unreachable))\n"
    "    (call $leaf (i32.add (local.get 0) (i32.const 1))))\n"
    "  (func (export \"top\") (param i32) (result i32)\n"
    "    (i32.add (call $uses_table (local.get 0)) (i32.const 1000)))\n"
    "  (func (export \"div\") (param i32) (result i32) (i32.div_u (i32.const 7) (local.get 0)))\n"
    "  (func (export \"via_interp\") (param i32) (result i32)\n"
    "    (if (ref.is_null (table.get $t (i32.const 0))) (then unreachable))\n"
    "    (call $divn (local.get 0)))\n"
    "  (func $divn (param i32) (result i32) (i32.div_s (i32.const 7) (local.get 0)))\n"
    "  (func (export \"native_calls_trapper\") (param i32) (result i32)\n"
    "    (i32.add (call $trapper (local.get 0)) (i32.const 1)))\n"
    "  (func $trapper (param i32) (result i32)\n"
    "    (if (ref.is_null (table.get $t (i32.const 0))) (then unreachable))\n"
    "    (i32.rem_s (i32.const 1) (local.get 0))))\n";

TEST(native, functions_it_cannot_compile_stay_interpreted_and_calls_cross_both_ways)
{
    native_cache_fresh();
    struct spry_module *m = wat_load_tier(FALLBACK_WAT, true);
    ASSERT_TRUE(func_is_native(m, 0));
    ASSERT_FALSE(func_is_native(m, 1));
    ASSERT_TRUE(func_is_native(m, 2));
    struct spry_store *store;
    struct spry_instance *inst = instantiate(m, &store, NULL);
    int32_t r;
    ASSERT_OK(call_i32(inst, "top", 4, &r, NULL)); /* native -> interpreted -> native */
    ASSERT_EQ_INT(r, (4 + 1) * 3 + 1000);

    /* A trap in native code called from the API: the kind, the function. */
    struct spry_trap trap;
    ASSERT_EQ_INT(call_i32(inst, "div", 0, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_DIV_ZERO);
    ASSERT_EQ_STR(trap.message, "integer divide by zero");
    ASSERT_EQ_UINT(trap.func_index, 3);
    /* In native code called from the interpreter ($divn from via_interp). */
    ASSERT_EQ_INT(call_i32(inst, "via_interp", 0, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_DIV_ZERO);
    ASSERT_EQ_UINT(trap.func_index, 5);
    /* In interpreted code called from native code ($trapper). */
    ASSERT_EQ_INT(call_i32(inst, "native_calls_trapper", 0, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_DIV_ZERO);
    ASSERT_EQ_UINT(trap.func_index, 7);
    /* The store is whole after each trap. */
    ASSERT_OK(call_i32(inst, "via_interp", 7, &r, NULL));
    ASSERT_EQ_INT(r, 1);
    ASSERT_OK(call_i32(inst, "native_calls_trapper", 5, &r, NULL));
    ASSERT_EQ_INT(r, 2);
    spry_store_destroy(store);
    spry_module_destroy(m);
    native_cache_drop();
}

TEST(native, the_second_load_hits_the_cache)
{
    native_cache_fresh();
    struct native_stats a, b, c;
    native_stats_get(&a);
    struct spry_module *m1 = wat_load_tier(FALLBACK_WAT, true);
    native_stats_get(&b);
    ASSERT_EQ_UINT(b.compiled, a.compiled + 1);
    ASSERT_EQ_UINT(b.cache_hits, a.cache_hits);
    struct spry_module *m2 = wat_load_tier(FALLBACK_WAT, true);
    native_stats_get(&c);
    ASSERT_EQ_UINT(c.compiled, b.compiled);
    ASSERT_EQ_UINT(c.cache_hits, b.cache_hits + 1);
    ASSERT_TRUE(func_is_native(m2, 0));
    struct spry_store *store;
    struct spry_instance *inst = instantiate(m2, &store, NULL);
    int32_t r;
    ASSERT_OK(call_i32(inst, "top", 1, &r, NULL));
    ASSERT_EQ_INT(r, 1006);
    spry_store_destroy(store);
    spry_module_destroy(m1);
    spry_module_destroy(m2);
    native_cache_drop();
}

TEST(native, without_a_compiler_the_module_runs_interpreted)
{
    native_cache_fresh();
    ASSERT_EQ_INT(setenv("SPRY_CC", "/nonexistent/spry-no-cc", 1), 0);
    struct native_stats a, b;
    native_stats_get(&a);
    struct spry_module *m = wat_load_tier(FALLBACK_WAT, true);
    native_stats_get(&b);
    unsetenv("SPRY_CC");
    ASSERT_NULL(runtime_module(m)->native);
    ASSERT_EQ_UINT(b.failures, a.failures + 1);
    struct spry_store *store;
    struct spry_instance *inst = instantiate(m, &store, NULL);
    int32_t r;
    ASSERT_OK(call_i32(inst, "top", 2, &r, NULL));
    ASSERT_EQ_INT(r, 1009);
    spry_store_destroy(store);
    spry_module_destroy(m);
    native_cache_drop();
}

/* f(n) = f(n - 1) + 1: n + 1 frames, each native. */
static const char *const DEPTH_WAT =
    "(module (func $f (export \"f\") (param i32) (result i32)\n"
    "  (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))\n"
    "    (else (i32.add (call $f (i32.sub (local.get 0) (i32.const 1))) (i32.const 1))))))\n";

TEST(native, the_call_depth_limit_is_exact_in_native_code)
{
    native_cache_fresh();
    struct spry_module *m = wat_load_tier(DEPTH_WAT, true);
    ASSERT_TRUE(func_is_native(m, 0));
    struct spry_store_limits limits = {.max_call_depth = 100};
    struct spry_store *store;
    struct spry_instance *inst = instantiate(m, &store, &limits);
    int32_t r;
    ASSERT_OK(call_i32(inst, "f", 99, &r, NULL));
    ASSERT_EQ_INT(r, 99);
    struct spry_trap trap;
    ASSERT_EQ_INT(call_i32(inst, "f", 100, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_STACK_EXHAUSTED);
    ASSERT_EQ_STR(trap.message, "call stack exhausted");
    ASSERT_OK(call_i32(inst, "f", 99, &r, NULL));
    spry_store_destroy(store);
    spry_module_destroy(m);
    native_cache_drop();
}

struct deep_args {
    struct spry_module *m;
    int rc;
    int kind;
    int32_t result;
};

/* Runs f(1000000) with a depth limit that does not stop it: only the C
 * stack limit can. */
static void *deep_thread(void *p)
{
    struct deep_args *a = p;
    struct spry_store_limits limits = {.max_call_depth = 2000000, .max_stack_slots = 1u << 24};
    struct spry_store *store;
    if (spry_store_create(&limits, &store) != 0)
        return NULL;
    struct spry_instance *inst;
    if (spry_instance_create(store, a->m, NULL, 0, &inst, NULL, NULL) == 0) {
        struct spry_trap trap;
        memset(&trap, 0, sizeof trap);
        a->rc = call_i32(inst, "f", 1000000, &a->result, &trap);
        a->kind = trap.kind;
    }
    spry_store_destroy(store);
    return NULL;
}

TEST(native, deep_recursion_on_a_small_thread_stack_traps_instead_of_overflowing)
{
    native_cache_fresh();
    struct spry_module *m = wat_load_tier(DEPTH_WAT, true);
    ASSERT_TRUE(func_is_native(m, 0));
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 << 10);
    struct deep_args a = {.m = m, .rc = -1};
    pthread_t t;
    ASSERT_EQ_INT(pthread_create(&t, &attr, deep_thread, &a), 0);
    ASSERT_EQ_INT(pthread_join(t, NULL), 0);
    pthread_attr_destroy(&attr);
    ASSERT_EQ_INT(a.rc, SPRY_ETRAP);
    ASSERT_EQ_INT(a.kind, SPRY_TRAP_STACK_EXHAUSTED);
    spry_module_destroy(m);
    native_cache_drop();
}

static const char *const SPIN_WAT = "(module (func (export \"spin\") (param i32) (result i32)\n"
                                    "  (loop $l (br $l)) (i32.const 0)))\n";

TEST(native, a_native_loop_is_interruptible)
{
    native_cache_fresh();
    struct spry_module *m = wat_load_tier(SPIN_WAT, true);
    ASSERT_TRUE(func_is_native(m, 0));
    struct spry_store *store;
    struct spry_instance *inst = instantiate(m, &store, NULL);
    struct spry_trap trap;
    ASSERT_EQ_INT(call_i32_interrupted(store, inst, "spin", &trap, NULL), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_INTERRUPTED);
    spry_store_destroy(store);
    spry_module_destroy(m);
    native_cache_drop();
}

TEST(native, out_of_bounds_accesses_trap_at_the_exact_boundary)
{
    native_cache_fresh();
    struct spry_module *m = wat_load_tier(
        "(module (memory 1)\n"
        "  (func (export \"ld\") (param i32) (result i32) (i32.load offset=1 (local.get 0)))\n"
        "  (func (export \"st\") (param i32) (result i32)\n"
        "    (i64.store (local.get 0) (i64.const -1)) (i32.const 0)))\n",
        true);
    ASSERT_TRUE(func_is_native(m, 0));
    struct spry_store *store;
    struct spry_instance *inst = instantiate(m, &store, NULL);
    int32_t r;
    struct spry_trap trap;
    ASSERT_OK(call_i32(inst, "ld", 65536 - 5, &r, NULL));
    ASSERT_EQ_INT(call_i32(inst, "ld", 65536 - 4, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_MEMORY_OOB);
    ASSERT_EQ_INT(call_i32(inst, "ld", -1, &r, &trap), SPRY_ETRAP); /* 0xffffffff + 1: no wrap */
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_MEMORY_OOB);
    ASSERT_OK(call_i32(inst, "st", 65536 - 8, &r, NULL));
    ASSERT_EQ_INT(call_i32(inst, "st", 65536 - 7, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_MEMORY_OOB);
    spry_store_destroy(store);
    spry_module_destroy(m);
    native_cache_drop();
}

/* Regression: a one-result block's result type pointed into the emitter's
 * control stack, which moves when it grows past 8 entries; the blocks
 * around the ninth then read freed memory (ASan: heap-use-after-free in
 * reset_stack) and could get the wrong result types. Ten nested blocks,
 * i64 and i32 alternating, run native and interpreted. */
TEST(native, one_result_blocks_nested_past_the_control_stack_s_growth)
{
    native_cache_fresh();
    char wat[2048];
    int n = snprintf(wat, sizeof wat, "(module (func (export \"f\") (param i64) (result i64)\n");
    for (int i = 0; i < 10; i++)
        n += snprintf(wat + n, sizeof wat - (size_t)n, "block (result %s)\n",
                      i % 2 == 0 ? "i64" : "i32");
    n += snprintf(wat + n, sizeof wat - (size_t)n, "local.get 0\n");
    for (int i = 9; i >= 0; i--)
        n += snprintf(wat + n, sizeof wat - (size_t)n, "%s end\n",
                      i % 2 == 0 ? "i64.extend_i32_u i64.const 3 i64.add"
                                 : "i32.wrap_i64 i32.const 5 i32.mul");
    snprintf(wat + n, sizeof wat - (size_t)n, "))\n");
    struct spry_module *mi = wat_load_tier(wat, false), *mn = wat_load_tier(wat, true);
    ASSERT_TRUE(func_is_native(mn, 0));
    struct spry_store *si, *sn;
    struct spry_instance *ii = instantiate(mi, &si, NULL), *in = instantiate(mn, &sn, NULL);
    static const int64_t inputs[] = {0, 1, 7, -1, 123456789};
    for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++)
        ASSERT_EQ_INT(call64(in, "f", inputs[k]), call64(ii, "f", inputs[k]));
    spry_store_destroy(si);
    spry_store_destroy(sn);
    spry_module_destroy(mi);
    spry_module_destroy(mn);
    native_cache_drop();
}

/* A pooled slot's reset copies the dropped-segment flags back only when an
 * elem.drop or data.drop ran (prepared.c): native code's data.drop must
 * say so too, or the next instance finds the segment dropped. */
TEST(native, a_pool_slot_gets_back_a_segment_native_code_dropped)
{
    native_cache_fresh();
    struct spry_module *m = wat_load_tier(
        "(module (memory 1) (data $pd \"passive\")\n"
        "  (func (export \"drop\") (param i32) (result i32) (data.drop $pd) (i32.const 0))\n"
        "  (func (export \"init\") (param i32) (result i32)\n"
        "    (memory.init $pd (i32.const 0) (i32.const 0) (i32.const 7))\n"
        "    (i32.load8_u (i32.const 0))))\n",
        true);
    ASSERT_TRUE(func_is_native(m, 0));
    ASSERT_TRUE(func_is_native(m, 1));
    struct spry_pool_config pc;
    spry_pool_config_init(&pc);
    pc.slots = 1;
    struct spry_report report;
    spry_report_init(&report);
    struct spry_pool *pool;
    ASSERT_OK(spry_pool_create(&pc, &pool, &report));
    struct spry_prepared *p;
    ASSERT_OK(spry_prepared_create(pool, m, NULL, 0, NULL, 0, &p, &report));
    for (int round = 0; round < 3; round++) {
        struct spry_instance *inst;
        struct spry_trap trap;
        ASSERT_OK(spry_pool_acquire(p, &inst, &report, &trap));
        int32_t r;
        ASSERT_OK(call_i32(inst, "init", 0, &r, &trap));
        ASSERT_EQ_INT(r, 'p');
        ASSERT_OK(call_i32(inst, "drop", 0, &r, NULL));
        ASSERT_EQ_INT(call_i32(inst, "init", 0, &r, &trap), SPRY_ETRAP);
        ASSERT_EQ_INT(trap.kind, SPRY_TRAP_MEMORY_OOB);
        spry_pool_release(inst);
    }
    spry_prepared_destroy(p);
    spry_pool_destroy(pool);
    spry_module_destroy(m);
    native_cache_drop();
}

/*
 * Calls between natively compiled functions of different instances of one
 * store (src/wasm/native.c, call_func; docs/native.md): a component's core
 * instances call each other this way (the preview-1 adapter calls the main
 * module's _start, the main module calls the adapter's fd_write). Such a
 * call stays in native code, with no nested interpreter activation, and
 * keeps everything the interpreter's cross-instance call keeps: results,
 * each instance's own memory and globals, traps naming the callee, the
 * exact call-depth limit, interruption, and calls through functions left
 * to the interpreter.
 *
 * Each case runs twice, every module interpreted and every module native,
 * with the same expectations, so the native tier is held to the
 * interpreter's behaviour. Each test compiles into its own fresh cache
 * directory (SPRY_CACHE_DIR); the tests need `cc`, which the build has.
 */
#include "harness/test.h"
#include "wat.h"

#include "spry/wasm.h"
#include "wasm/interp.h"
#include "wasm/module.h"
#include "wasm/native.h"
#include "wasm/runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct spry_extern export_of(struct spry_instance *inst, const char *name)
{
    struct spry_extern ext;
    ASSERT_OK(spry_instance_export(inst, name, &ext));
    return ext;
}

static int32_t mem_i32(struct spry_instance *inst, uint32_t addr)
{
    int32_t v;
    memcpy(&v, spry_memory_data(spry_instance_memory(inst, 0)) + addr, sizeof v);
    return v;
}

/* The C-level activations (interp_run entries) on this thread now. */
static int32_t activations(void)
{
    int32_t n = 0;
    for (struct interp_activation *a = interp_current_activation(); a != NULL; a = a->prev)
        n++;
    return n;
}

static int probe(void *user, struct spry_instance *caller, uint64_t *slots)
{
    (void)user;
    (void)caller;
    slots[0] = (uint32_t)activations();
    return 0;
}

/* B: the callee instance. It imports a host probe (how many activations
 * are running), has its own memory and global, and exports functions that
 * write them, trap, and spin. */
static const char *const B_WAT =
    "(module\n"
    "  (import \"env\" \"probe\" (func $probe (result i32)))\n"
    "  (memory 1) (global $g (mut i32) (i32.const 0))\n"
    "  (func $leaf (export \"leaf\") (param i32) (result i32)\n"
    "    (i32.store (i32.const 16) (i32.add (local.get 0) (i32.const 100)))\n"
    "    (global.set $g (i32.add (global.get $g) (i32.const 1)))\n"
    "    (i32.add (i32.load (i32.const 16)) (global.get $g)))\n"
    "  (func $acts (export \"acts\") (param i32) (result i32) (call $probe))\n"
    "  (func $div (export \"div\") (param i32) (result i32) (i32.div_s (i32.const 7) (local.get "
    "0)))\n"
    "  (func $spin (export \"spin\") (param i32) (result i32) (loop $l (br $l)) (i32.const "
    "0)))\n";

/* A: the caller instance, importing B's functions. Its memory and global
 * sit at the same addresses and indices as B's. */
static const char *const A_WAT =
    "(module\n"
    "  (import \"b\" \"leaf\" (func $leaf (param i32) (result i32)))\n"
    "  (import \"b\" \"acts\" (func $acts (param i32) (result i32)))\n"
    "  (import \"b\" \"div\" (func $div (param i32) (result i32)))\n"
    "  (import \"b\" \"spin\" (func $spin (param i32) (result i32)))\n"
    "  (memory 1) (global $g (mut i32) (i32.const 1000))\n"
    "  (func $run (export \"run\") (param i32) (result i32) (local $r i32)\n"
    "    (i32.store (i32.const 16) (i32.const 5))\n"
    "    (global.set $g (i32.add (global.get $g) (i32.const 1)))\n"
    "    (local.set $r (call $leaf (local.get 0)))\n"
    "    (i32.add (local.get $r) (i32.add (i32.load (i32.const 16)) (global.get $g))))\n"
    "  (func $a_acts (export \"acts\") (param i32) (result i32) (call $acts (local.get 0)))\n"
    "  (func $a_div (export \"div\") (param i32) (result i32)\n"
    "    (i32.add (call $div (local.get 0)) (i32.const 1)))\n"
    "  (func $a_spin (export \"spin\") (param i32) (result i32) (call $spin (local.get 0))))\n";

struct pair {
    struct spry_module *ma, *mb;
    struct spry_store *store;
    struct spry_instance *a, *b;
};

static void pair_create(struct pair *p, bool native)
{
    p->mb = wat_load_tier(B_WAT, native);
    p->ma = wat_load_tier(A_WAT, native);
    for (uint32_t f = 1; f <= 4; f++) {
        ASSERT_EQ_INT(func_is_native(p->mb, f), native);
        ASSERT_EQ_INT(func_is_native(p->ma, f + 3), native);
    }
    ASSERT_OK(spry_store_create(NULL, &p->store));
    static const uint8_t results[] = {SPRY_I32};
    struct spry_functype ft = {.nresults = 1, .results = results};
    struct spry_extern bi = {.kind = SPRY_EXTERN_FUNC};
    ASSERT_OK(spry_func_new_host(p->store, &ft, probe, NULL, &bi.of.func));
    ASSERT_OK(spry_instance_create(p->store, p->mb, &bi, 1, &p->b, NULL, NULL));
    struct spry_extern ai[4] = {export_of(p->b, "leaf"), export_of(p->b, "acts"),
                                export_of(p->b, "div"), export_of(p->b, "spin")};
    ASSERT_OK(spry_instance_create(p->store, p->ma, ai, 4, &p->a, NULL, NULL));
}

static void pair_destroy(struct pair *p)
{
    spry_store_destroy(p->store);
    spry_module_destroy(p->ma);
    spry_module_destroy(p->mb);
}

TEST(native_calls, a_call_to_another_instance_stays_in_native_code)
{
    native_cache_fresh();
    struct pair p;
    pair_create(&p, true);
    int32_t r;
    /* The API's activation only: no nested interp_run for A -> B. */
    ASSERT_OK(call_i32(p.a, "acts", 0, &r, NULL));
    ASSERT_EQ_INT(r, 1);
    ASSERT_NULL(interp_current_activation());
    pair_destroy(&p);
    native_cache_drop();
}

TEST(native_calls, results_memories_and_globals_are_each_instances_own)
{
    native_cache_fresh();
    for (int native = 0; native <= 1; native++) {
        struct pair p;
        pair_create(&p, native);
        int32_t r;
        /* B stores 101 at its 16 and counts its global to 1; A stored 5 at
         * its own 16 before the call and reads it back after; A's global
         * is 1001. */
        ASSERT_OK(call_i32(p.a, "run", 1, &r, NULL));
        ASSERT_EQ_INT(r, (101 + 1) + 5 + 1001);
        ASSERT_EQ_INT(mem_i32(p.b, 16), 101);
        ASSERT_EQ_INT(mem_i32(p.a, 16), 5);
        ASSERT_OK(call_i32(p.a, "run", 7, &r, NULL));
        ASSERT_EQ_INT(r, (107 + 2) + 5 + 1002);
        ASSERT_EQ_INT(mem_i32(p.b, 16), 107);
        ASSERT_EQ_INT(mem_i32(p.a, 16), 5);
        /* B called directly sees its own state. */
        ASSERT_OK(call_i32(p.b, "leaf", 0, &r, NULL));
        ASSERT_EQ_INT(r, 100 + 3);
        pair_destroy(&p);
    }
    native_cache_drop();
}

TEST(native_calls, a_trap_in_the_other_instance_names_its_function_and_leaves_the_store_whole)
{
    native_cache_fresh();
    for (int native = 0; native <= 1; native++) {
        struct pair p;
        pair_create(&p, native);
        int32_t r;
        struct spry_trap trap;
        ASSERT_EQ_INT(call_i32(p.a, "div", 0, &r, &trap), SPRY_ETRAP);
        ASSERT_EQ_INT(trap.kind, SPRY_TRAP_DIV_ZERO);
        ASSERT_EQ_STR(trap.message, "integer divide by zero");
        ASSERT_EQ_UINT(trap.func_index, 3); /* B's $div, not A's caller */
        ASSERT_EQ_STR(trap.func_name, "div");
        ASSERT_EQ_UINT(p.store->depth, 0);
        ASSERT_EQ_UINT(p.store->sp, 0);
        ASSERT_NULL(interp_current_activation());
        /* Both instances run again. */
        ASSERT_OK(call_i32(p.a, "div", 7, &r, NULL));
        ASSERT_EQ_INT(r, 2);
        ASSERT_OK(call_i32(p.a, "run", 1, &r, NULL));
        ASSERT_EQ_INT(r, (101 + 1) + 5 + 1001);
        ASSERT_OK(call_i32(p.b, "div", 1, &r, NULL));
        ASSERT_EQ_INT(r, 7);
        pair_destroy(&p);
    }
    native_cache_drop();
}

TEST(native_calls, a_loop_in_the_other_instance_is_interruptible)
{
    native_cache_fresh();
    for (int native = 0; native <= 1; native++) {
        struct pair p;
        pair_create(&p, native);
        struct spry_trap trap;
        ASSERT_EQ_INT(call_i32_interrupted(p.store, p.a, "spin", &trap, NULL), SPRY_ETRAP);
        ASSERT_EQ_INT(trap.kind, SPRY_TRAP_INTERRUPTED);
        ASSERT_EQ_UINT(trap.func_index, 4); /* B's $spin */
        spry_store_clear_interrupt(p.store);
        int32_t r;
        ASSERT_OK(call_i32(p.a, "run", 1, &r, NULL));
        ASSERT_EQ_INT(r, (101 + 1) + 5 + 1001);
        pair_destroy(&p);
    }
    native_cache_drop();
}

/* Recursion alternating between two instances: B's f calls A's g through
 * a table A filled, A's g calls B's f through an import; g(n) takes n + 1
 * frames, every other one in the other instance. */
static const char *const DEPTH_B_WAT =
    "(module\n"
    "  (type $t (func (param i32) (result i32)))\n"
    "  (table (export \"t\") 1 funcref)\n"
    "  (func $f (export \"f\") (param i32) (result i32)\n"
    "    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))\n"
    "      (else (i32.add (call_indirect (type $t) (i32.sub (local.get 0) (i32.const 1))\n"
    "        (i32.const 0)) (i32.const 1))))))\n";
static const char *const DEPTH_A_WAT =
    "(module\n"
    "  (import \"b\" \"f\" (func $f (param i32) (result i32)))\n"
    "  (import \"b\" \"t\" (table 1 funcref))\n"
    "  (elem (i32.const 0) $g)\n"
    "  (func $g (export \"g\") (param i32) (result i32)\n"
    "    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))\n"
    "      (else (i32.add (call $f (i32.sub (local.get 0) (i32.const 1))) (i32.const 1))))))\n";

TEST(native_calls, the_call_depth_limit_is_exact_across_instances)
{
    native_cache_fresh();
    for (int native = 0; native <= 1; native++) {
        struct spry_module *mb = wat_load_tier(DEPTH_B_WAT, native),
                           *ma = wat_load_tier(DEPTH_A_WAT, native);
        ASSERT_EQ_INT(func_is_native(mb, 0), native);
        ASSERT_EQ_INT(func_is_native(ma, 1), native);
        struct spry_store_limits limits = {.max_call_depth = 100};
        struct spry_store *store;
        ASSERT_OK(spry_store_create(&limits, &store));
        struct spry_instance *b, *a;
        ASSERT_OK(spry_instance_create(store, mb, NULL, 0, &b, NULL, NULL));
        struct spry_extern ai[2] = {export_of(b, "f"), export_of(b, "t")};
        ASSERT_OK(spry_instance_create(store, ma, ai, 2, &a, NULL, NULL));
        int32_t r;
        ASSERT_OK(call_i32(a, "g", 99, &r, NULL));
        ASSERT_EQ_INT(r, 99);
        struct spry_trap trap;
        ASSERT_EQ_INT(call_i32(a, "g", 100, &r, &trap), SPRY_ETRAP);
        ASSERT_EQ_INT(trap.kind, SPRY_TRAP_STACK_EXHAUSTED);
        ASSERT_EQ_STR(trap.message, "call stack exhausted");
        /* Entered from B: the frames count the same. */
        ASSERT_OK(call_i32(b, "f", 99, &r, NULL));
        ASSERT_EQ_INT(r, 99);
        ASSERT_EQ_INT(call_i32(b, "f", 100, &r, &trap), SPRY_ETRAP);
        ASSERT_EQ_INT(trap.kind, SPRY_TRAP_STACK_EXHAUSTED);
        ASSERT_EQ_UINT(store->depth, 0);
        ASSERT_OK(call_i32(a, "g", 99, &r, NULL));
        ASSERT_EQ_INT(r, 99);
        spry_store_destroy(store);
        spry_module_destroy(ma);
        spry_module_destroy(mb);
    }
    native_cache_drop();
}

/* B's $mid uses table.get and return_call (not compiled this slice), so
 * it stays interpreted: A (native) -> B's mid (interpreted) -> A's leaf
 * (native, through the table A filled) and back. */
static const char *const MIX_B_WAT =
    "(module\n"
    "  (type $t (func (param i32) (result i32)))\n"
    "  (table (export \"t\") 1 funcref)\n"
    "  (func $twice (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))\n"
    "  (func $mid (export \"mid\") (param i32) (result i32)\n"
    "    (if (ref.is_null (table.get 0 (i32.const 0))) (then unreachable))\n"
    "    (return_call $twice (call_indirect (type $t) (i32.sub (local.get 0) (i32.const 1))\n"
    "      (i32.const 0)))))\n";
static const char *const MIX_A_WAT =
    "(module\n"
    "  (import \"b\" \"mid\" (func $mid (param i32) (result i32)))\n"
    "  (import \"b\" \"t\" (table 1 funcref))\n"
    "  (elem (i32.const 0) $leaf)\n"
    "  (memory 1)\n"
    "  (func $leaf (param i32) (result i32)\n"
    "    (i32.store (i32.const 8) (local.get 0))\n"
    "    (i32.div_s (i32.const 1000) (local.get 0)))\n"
    "  (func (export \"top\") (param i32) (result i32)\n"
    "    (i32.add (call $mid (local.get 0)) (i32.load (i32.const 8)))))\n";

TEST(native_calls, native_code_calls_an_interpreted_function_of_another_instance_and_back)
{
    native_cache_fresh();
    for (int native = 0; native <= 1; native++) {
        struct spry_module *mb = wat_load_tier(MIX_B_WAT, native),
                           *ma = wat_load_tier(MIX_A_WAT, native);
        ASSERT_EQ_INT(func_is_native(mb, 0), native); /* $twice */
        ASSERT_FALSE(func_is_native(mb, 1));          /* $mid */
        ASSERT_EQ_INT(func_is_native(ma, 1), native); /* $leaf */
        ASSERT_EQ_INT(func_is_native(ma, 2), native); /* top */
        struct spry_store *store;
        ASSERT_OK(spry_store_create(NULL, &store));
        struct spry_instance *b, *a;
        ASSERT_OK(spry_instance_create(store, mb, NULL, 0, &b, NULL, NULL));
        struct spry_extern ai[2] = {export_of(b, "mid"), export_of(b, "t")};
        ASSERT_OK(spry_instance_create(store, ma, ai, 2, &a, NULL, NULL));
        int32_t r;
        ASSERT_OK(call_i32(a, "top", 5, &r, NULL));
        ASSERT_EQ_INT(r, (1000 / 4) * 2 + 4);
        /* A trap in A's leaf, reached through B's interpreted mid. */
        struct spry_trap trap;
        ASSERT_EQ_INT(call_i32(a, "top", 1, &r, &trap), SPRY_ETRAP);
        ASSERT_EQ_INT(trap.kind, SPRY_TRAP_DIV_ZERO);
        ASSERT_EQ_UINT(trap.func_index, 1);
        ASSERT_EQ_STR(trap.func_name, "leaf");
        ASSERT_EQ_UINT(store->depth, 0);
        ASSERT_OK(call_i32(a, "top", 11, &r, NULL));
        ASSERT_EQ_INT(r, (1000 / 10) * 2 + 10);
        spry_store_destroy(store);
        spry_module_destroy(ma);
        spry_module_destroy(mb);
    }
    native_cache_drop();
}

struct deep_args {
    struct spry_module *ma, *mb;
    int rc;
    int kind;
};

/* g(1000000) alternating between the instances with a depth limit that
 * does not stop it: only the C-stack limit can. */
static void *deep_thread(void *arg)
{
    struct deep_args *d = arg;
    struct spry_store_limits limits = {.max_call_depth = 2000000, .max_stack_slots = 1u << 24};
    struct spry_store *store;
    if (spry_store_create(&limits, &store) != 0)
        return NULL;
    struct spry_instance *a, *b;
    struct spry_extern ai[2];
    if (spry_instance_create(store, d->mb, NULL, 0, &b, NULL, NULL) == 0 &&
        spry_instance_export(b, "f", &ai[0]) == 0 && spry_instance_export(b, "t", &ai[1]) == 0 &&
        spry_instance_create(store, d->ma, ai, 2, &a, NULL, NULL) == 0) {
        struct spry_trap trap;
        memset(&trap, 0, sizeof trap);
        int32_t r;
        d->rc = call_i32(a, "g", 1000000, &r, &trap);
        d->kind = trap.kind;
    }
    spry_store_destroy(store);
    return NULL;
}

TEST(native_calls, deep_recursion_across_instances_on_a_small_thread_stack_traps)
{
    native_cache_fresh();
    struct deep_args d = {
        .mb = wat_load_tier(DEPTH_B_WAT, true), .ma = wat_load_tier(DEPTH_A_WAT, true), .rc = -1};
    ASSERT_TRUE(func_is_native(d.mb, 0));
    ASSERT_TRUE(func_is_native(d.ma, 1));
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 << 10);
    pthread_t t;
    ASSERT_EQ_INT(pthread_create(&t, &attr, deep_thread, &d), 0);
    ASSERT_EQ_INT(pthread_join(t, NULL), 0);
    pthread_attr_destroy(&attr);
    ASSERT_EQ_INT(d.rc, SPRY_ETRAP);
    ASSERT_EQ_INT(d.kind, SPRY_TRAP_STACK_EXHAUSTED);
    spry_module_destroy(d.ma);
    spry_module_destroy(d.mb);
    native_cache_drop();
}

/* A host function that calls back into wasm and absorbs the callback's
 * trap: `absorb(m)` calls the instance's `inner(m)` (m = 0 divides by
 * zero) and answers -1 when it trapped. */
static struct spry_func *absorb_inner;

static int absorb(void *user, struct spry_instance *caller, uint64_t *slots)
{
    (void)user;
    (void)caller;
    struct spry_trap trap;
    if (spry_func_call_slots(absorb_inner, slots, 1, &trap) != 0)
        slots[0] = (uint32_t)-1;
    return 0;
}

/* After a host function absorbed a trap of a nested call, a later trap of
 * the caller is recorded as itself (its kind, message and function), in
 * both tiers: the record the nested trap left is dropped when the host
 * returns success. */
TEST(native_calls, a_trap_after_a_host_absorbed_a_nested_trap_is_recorded_as_itself)
{
    static const char *const wat =
        "(module\n"
        "  (import \"env\" \"absorb\" (func $absorb (param i32) (result i32)))\n"
        "  (func $inner (export \"inner\") (param i32) (result i32)\n"
        "    (i32.div_u (i32.const 7) (local.get 0)))\n"
        "  (func $outer (export \"outer\") (param i32) (result i32)\n"
        "    (if (i32.ne (call $absorb (local.get 0)) (i32.const -1)) (then (return (i32.const "
        "1))))\n"
        "    unreachable))\n";
    native_cache_fresh();
    for (int native = 0; native <= 1; native++) {
        struct spry_module *m = wat_load_tier(wat, native);
        ASSERT_EQ_INT(func_is_native(m, 2), native);
        struct spry_store *store;
        ASSERT_OK(spry_store_create(NULL, &store));
        static const uint8_t i32[] = {SPRY_I32};
        struct spry_functype ft = {1, 1, i32, i32};
        struct spry_extern imp = {.kind = SPRY_EXTERN_FUNC};
        ASSERT_OK(spry_func_new_host(store, &ft, absorb, NULL, &imp.of.func));
        struct spry_instance *inst;
        ASSERT_OK(spry_instance_create(store, m, &imp, 1, &inst, NULL, NULL));
        absorb_inner = export_of(inst, "inner").of.func;
        int32_t r;
        ASSERT_OK(call_i32(inst, "outer", 1, &r, NULL));
        ASSERT_EQ_INT(r, 1);
        struct spry_trap trap;
        ASSERT_EQ_INT(call_i32(inst, "outer", 0, &r, &trap), SPRY_ETRAP);
        ASSERT_EQ_INT(trap.kind, SPRY_TRAP_UNREACHABLE);
        ASSERT_EQ_STR(trap.message, spry_trap_kind_text(SPRY_TRAP_UNREACHABLE));
        ASSERT_EQ_UINT(trap.func_index, 2);
        ASSERT_NULL(interp_current_activation());
        spry_store_destroy(store);
        spry_module_destroy(m);
    }
    native_cache_drop();
}

/* h1(m) calls the instance's w1(0) (a division by zero: the record now
 * holds it), then w2, which calls h2 (success), then fails: the trap
 * recorded before h2 was called is the one reported. */
static struct spry_func *h1_w1, *h1_w2;

static int h2_ok(void *user, struct spry_instance *caller, uint64_t *slots)
{
    (void)user;
    (void)caller;
    slots[0] = 5;
    return 0;
}

static int h1_fails_after_callbacks(void *user, struct spry_instance *caller, uint64_t *slots)
{
    (void)user;
    (void)caller;
    uint64_t s[1] = {0};
    struct spry_trap trap;
    ASSERT_EQ_INT(spry_func_call_slots(h1_w1, s, 1, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_DIV_ZERO);
    ASSERT_OK(spry_func_call_slots(h1_w2, s, 1, NULL));
    ASSERT_EQ_INT(s[0], 5);
    (void)slots;
    return SPRY_ETRAP;
}

/* A host call that succeeds while a trap is recorded (a host function
 * failing after its own callbacks) leaves that record alone. */
TEST(native_calls, a_trap_recorded_before_a_host_call_is_kept_when_it_succeeds)
{
    static const char *const wat =
        "(module\n"
        "  (import \"env\" \"h1\" (func $h1 (param i32) (result i32)))\n"
        "  (import \"env\" \"h2\" (func $h2 (result i32)))\n"
        "  (func (export \"w1\") (param i32) (result i32) (i32.div_u (i32.const 7) (local.get "
        "0)))\n"
        "  (func (export \"w2\") (result i32) (call $h2))\n"
        "  (func (export \"outer\") (param i32) (result i32) (call $h1 (local.get 0))))\n";
    native_cache_fresh();
    for (int native = 0; native <= 1; native++) {
        struct spry_module *m = wat_load_tier(wat, native);
        ASSERT_EQ_INT(func_is_native(m, 3), native);
        struct spry_store *store;
        ASSERT_OK(spry_store_create(NULL, &store));
        static const uint8_t i32[] = {SPRY_I32};
        struct spry_functype ft1 = {1, 1, i32, i32}, ft2 = {0, 1, NULL, i32};
        struct spry_extern imp[2] = {{.kind = SPRY_EXTERN_FUNC}, {.kind = SPRY_EXTERN_FUNC}};
        ASSERT_OK(spry_func_new_host(store, &ft1, h1_fails_after_callbacks, NULL, &imp[0].of.func));
        ASSERT_OK(spry_func_new_host(store, &ft2, h2_ok, NULL, &imp[1].of.func));
        struct spry_instance *inst;
        ASSERT_OK(spry_instance_create(store, m, imp, 2, &inst, NULL, NULL));
        h1_w1 = export_of(inst, "w1").of.func;
        h1_w2 = export_of(inst, "w2").of.func;
        int32_t r;
        struct spry_trap trap;
        ASSERT_EQ_INT(call_i32(inst, "outer", 0, &r, &trap), SPRY_ETRAP);
        ASSERT_EQ_INT(trap.kind, SPRY_TRAP_DIV_ZERO);
        ASSERT_EQ_STR(trap.message, spry_trap_kind_text(SPRY_TRAP_DIV_ZERO));
        ASSERT_EQ_UINT(trap.func_index, 2);
        ASSERT_NULL(interp_current_activation());
        spry_store_destroy(store);
        spry_module_destroy(m);
    }
    native_cache_drop();
}

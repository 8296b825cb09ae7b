/*
 * A host function calling back into wasm (runtime_call from inside an
 * activation, as the canonical ABI's realloc does): results come back,
 * a trap in the nested activation (a trap instruction, a memory fault, the
 * call-depth limit) unwinds only that activation, the activation chain and
 * the frame stack are whole again afterwards, and nesting goes several
 * levels deep. Also spry_func_call_slots, the raw-slot call the nested
 * path uses.
 */
#include "harness/test.h"
#include "wat.h"

#include "spry/wasm.h"
#include "wasm/interp.h"

#include <string.h>

/* outer(m) = back(m) + 1000, back being the host function below, which
 * calls inner(m) and answers its result, or -1 when inner trapped.
 * inner: m = 0 answers 7; 1 traps (unreachable); 2 reads past memory;
 * 3 and 4 call back(0) / back(1) again and add 100; m >= 100 recurses
 * m - 100 deep through $f (f(n) takes n + 1 frames). fault_after_callback
 * (function 6) calls back(m), then reads past memory. */
static const char *const WAT =
    "(module\n"
    "  (import \"host\" \"back\" (func $back (param i32) (result i32)))\n"
    "  (memory 1)\n"
    "  (func $f (export \"f\") (param i32) (result i32)\n"
    "    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))\n"
    "      (else (i32.add (call $f (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))))\n"
    "  (func (export \"outer\") (param i32) (result i32)\n"
    "    (i32.add (call $back (local.get 0)) (i32.const 1000)))\n"
    "  (func (export \"inner\") (param $m i32) (result i32)\n"
    "    (if (i32.eq (local.get $m) (i32.const 1)) (then unreachable))\n"
    "    (if (i32.eq (local.get $m) (i32.const 2))\n"
    "      (then (return (i32.load (i32.const 65534)))))\n"
    "    (if (i32.eq (local.get $m) (i32.const 3))\n"
    "      (then (return (i32.add (call $back (i32.const 0)) (i32.const 100)))))\n"
    "    (if (i32.eq (local.get $m) (i32.const 4))\n"
    "      (then (return (i32.add (call $back (i32.const 1)) (i32.const 100)))))\n"
    "    (if (i32.ge_u (local.get $m) (i32.const 100))\n"
    "      (then (return (call $f (i32.sub (local.get $m) (i32.const 100))))))\n"
    "    (i32.const 7))\n"
    "  (func (export \"takes_ref\") (param funcref) (result i32) (i32.const 1))\n"
    "  (func (export \"wide\") (param i64 f64) (result i64 f64 i32)\n"
    "    (i64.add (local.get 0) (i64.const 1)) (f64.neg (local.get 1)) (i32.const 3))\n"
    "  (func $after (export \"fault_after_callback\") (param i32) (result i32)\n"
    "    (drop (call $back (local.get 0)))\n"
    "    (i32.load (i32.const 65534))))\n";

static struct {
    struct spry_func *inner;
    struct spry_trap trap[4]; /* the nested traps, innermost last */
    int rc[4];
    unsigned calls, depth;
    bool chain_kept; /* every nested call left the activation it found */
} r;

static int back(void *user, struct spry_instance *caller, uint64_t *slots)
{
    (void)user;
    (void)caller;
    unsigned level = r.depth++;
    ASSERT_TRUE(level < 4);
    unsigned k = r.calls++;
    struct interp_activation *before = interp_current_activation();
    ASSERT_NOT_NULL(before); /* called from wasm: an activation runs */
    struct spry_trap trap;
    memset(&trap, 0, sizeof trap);
    int rc = spry_func_call_slots(r.inner, slots, 1, &trap);
    if (interp_current_activation() != before)
        r.chain_kept = false;
    r.rc[k] = rc;
    r.trap[k] = trap;
    if (rc != 0)
        slots[0] = (uint32_t)-1; /* the host absorbs the trap */
    r.depth--;
    return 0;
}

static struct spry_instance *setup(struct spry_store **store, struct spry_module **m,
                                   uint32_t max_depth)
{
    memset(&r, 0, sizeof r);
    r.chain_kept = true;
    *m = wat_load(WAT);
    struct spry_store_limits limits = {.max_call_depth = max_depth};
    ASSERT_OK(spry_store_create(&limits, store));
    static const uint8_t i32[1] = {SPRY_I32};
    struct spry_functype ft = {1, 1, i32, i32};
    struct spry_func *hf;
    ASSERT_OK(spry_func_new_host(*store, &ft, back, NULL, &hf));
    struct spry_extern imp = {.kind = SPRY_EXTERN_FUNC, .of.func = hf};
    struct spry_instance *inst;
    ASSERT_OK(spry_instance_create(*store, *m, &imp, 1, &inst, NULL, NULL));
    struct spry_extern e;
    ASSERT_OK(spry_instance_export(inst, "inner", &e));
    r.inner = e.of.func;
    return inst;
}

TEST(wasm_reentry, a_nested_call_returns_its_result)
{
    struct spry_store *store;
    struct spry_module *m;
    struct spry_instance *inst = setup(&store, &m, 0);
    int32_t v;
    ASSERT_OK(call_i32(inst, "outer", 0, &v, NULL));
    ASSERT_EQ_INT(v, 1007);
    ASSERT_EQ_INT(r.rc[0], 0);
    ASSERT_TRUE(r.chain_kept);
    ASSERT_NULL(interp_current_activation());
    spry_store_destroy(store);
    spry_module_destroy(m);
}

TEST(wasm_reentry, a_trap_in_a_nested_call_unwinds_only_that_call)
{
    struct spry_store *store;
    struct spry_module *m;
    struct spry_instance *inst = setup(&store, &m, 0);
    int32_t v;
    ASSERT_OK(call_i32(inst, "outer", 1, &v, NULL));
    ASSERT_EQ_INT(v, 999); /* the outer wasm went on after the host absorbed it */
    ASSERT_EQ_INT(r.rc[0], SPRY_ETRAP);
    ASSERT_EQ_INT(r.trap[0].kind, SPRY_TRAP_UNREACHABLE);
    ASSERT_TRUE(r.chain_kept);
    ASSERT_NULL(interp_current_activation());
    /* The store runs calls as before. */
    ASSERT_OK(call_i32(inst, "outer", 0, &v, NULL));
    ASSERT_EQ_INT(v, 1007);
    spry_store_destroy(store);
    spry_module_destroy(m);
}

TEST(wasm_reentry, a_memory_fault_in_a_nested_call_unwinds_only_that_call)
{
    struct spry_store *store;
    struct spry_module *m;
    struct spry_instance *inst = setup(&store, &m, 0);
    int32_t v;
    for (int i = 0; i < 3; i++) { /* and again: nothing was left behind */
        r.calls = 0;
        ASSERT_OK(call_i32(inst, "outer", 2, &v, NULL));
        ASSERT_EQ_INT(v, 999);
        ASSERT_EQ_INT(r.rc[0], SPRY_ETRAP);
        ASSERT_EQ_INT(r.trap[0].kind, SPRY_TRAP_MEMORY_OOB);
        ASSERT_TRUE(r.chain_kept);
        ASSERT_NULL(interp_current_activation());
    }
    spry_store_destroy(store);
    spry_module_destroy(m);
}

TEST(wasm_reentry, host_wasm_host_wasm_nesting)
{
    struct spry_store *store;
    struct spry_module *m;
    struct spry_instance *inst = setup(&store, &m, 0);
    int32_t v;
    ASSERT_OK(call_i32(inst, "outer", 3, &v, NULL));
    ASSERT_EQ_INT(v, 1000 + 100 + 7);
    ASSERT_EQ_UINT(r.calls, 2);
    ASSERT_EQ_INT(r.rc[0], 0);
    ASSERT_EQ_INT(r.rc[1], 0);
    /* The innermost traps: the middle wasm goes on with -1. */
    r.calls = 0;
    ASSERT_OK(call_i32(inst, "outer", 4, &v, NULL));
    ASSERT_EQ_INT(v, 1000 + 100 - 1);
    ASSERT_EQ_INT(r.rc[0], 0);
    ASSERT_EQ_INT(r.rc[1], SPRY_ETRAP);
    ASSERT_EQ_INT(r.trap[1].kind, SPRY_TRAP_UNREACHABLE);
    ASSERT_TRUE(r.chain_kept);
    ASSERT_NULL(interp_current_activation());
    spry_store_destroy(store);
    spry_module_destroy(m);
}

TEST(wasm_reentry, the_depth_limit_counts_the_frames_of_every_activation)
{
    struct spry_store *store;
    struct spry_module *m;
    struct spry_instance *inst = setup(&store, &m, 100);
    /* outer and inner take a frame each (the host function none), f(n)
     * n + 1: n = 97 fills the 100 frames exactly. */
    int32_t v;
    ASSERT_OK(call_i32(inst, "outer", 100 + 97, &v, NULL));
    ASSERT_EQ_INT(v, 1000 + 97);
    ASSERT_EQ_INT(r.rc[0], 0);
    r.calls = 0;
    ASSERT_OK(call_i32(inst, "outer", 100 + 98, &v, NULL));
    ASSERT_EQ_INT(v, 999);
    ASSERT_EQ_INT(r.rc[0], SPRY_ETRAP);
    ASSERT_EQ_INT(r.trap[0].kind, SPRY_TRAP_STACK_EXHAUSTED);
    /* The frames are all free again: a direct call may use the 100. */
    ASSERT_OK(call_i32(inst, "f", 99, &v, NULL));
    ASSERT_EQ_INT(v, 99);
    ASSERT_TRUE(r.chain_kept);
    spry_store_destroy(store);
    spry_module_destroy(m);
}

TEST(wasm_reentry, call_slots_passes_raw_slots_and_checks_what_it_can)
{
    struct spry_store *store;
    struct spry_module *m;
    struct spry_instance *inst = setup(&store, &m, 0);
    struct spry_extern e;
    ASSERT_OK(spry_instance_export(inst, "wide", &e));
    double x = 2.5, y;
    uint64_t slots[3] = {41, 0, 0};
    memcpy(&slots[1], &x, sizeof x);
    ASSERT_EQ_INT(spry_func_call_slots(e.of.func, slots, 2, NULL), SPRY_EINVAL); /* 3 results */
    ASSERT_OK(spry_func_call_slots(e.of.func, slots, 3, NULL));
    ASSERT_EQ_UINT(slots[0], 42);
    memcpy(&y, &slots[1], sizeof y);
    ASSERT_TRUE(y == -2.5);
    ASSERT_EQ_UINT((uint32_t)slots[2], 3);
    /* A reference parameter cannot come from a raw slot. */
    ASSERT_OK(spry_instance_export(inst, "takes_ref", &e));
    uint64_t one[1] = {0};
    ASSERT_EQ_INT(spry_func_call_slots(e.of.func, one, 1, NULL), SPRY_EINVAL);
    /* From the host (no activation running), a trap comes back too. */
    uint64_t m1[1] = {1};
    struct spry_trap trap;
    ASSERT_EQ_INT(spry_func_call_slots(r.inner, m1, 1, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_UNREACHABLE);
    ASSERT_NULL(interp_current_activation());
    spry_store_destroy(store);
    spry_module_destroy(m);
}

/* A memory fault after a host function called back into wasm is located in
 * the function that faulted, not in the callback's entry: the nested
 * activation puts back the function it found running. */
TEST(wasm_reentry, a_fault_after_a_callback_names_the_function_that_faulted)
{
    struct spry_store *store;
    struct spry_module *m;
    struct spry_instance *inst = setup(&store, &m, 0);
    for (int32_t mode = 0; mode <= 1; mode++) { /* the callback returns, or traps */
        int32_t v;
        struct spry_trap trap;
        memset(&trap, 0, sizeof trap);
        ASSERT_EQ_INT(call_i32(inst, "fault_after_callback", mode, &v, &trap), SPRY_ETRAP);
        ASSERT_EQ_INT(trap.kind, SPRY_TRAP_MEMORY_OOB);
        ASSERT_EQ_INT(trap.func_index, 6);
        ASSERT_EQ_INT(r.rc[mode], mode == 0 ? 0 : SPRY_ETRAP);
    }
    ASSERT_NULL(interp_current_activation());
    spry_store_destroy(store);
    spry_module_destroy(m);
}

/* A host function's trap message is spent by the failure it was set for:
 * a later failure without one reports the default text, whether the first
 * trap reached the API or was absorbed by a host further out (the message
 * of an instance other than the absorbing host's caller included), in both
 * tiers. "run" calls host "fail" (1: fails with a message, 2: fails
 * without one, 0: succeeds); "outer" calls host "absorb", which calls the
 * other instance's "run"(1) and swallows its trap. */
static const char *const MESSAGE_WAT =
    "(module\n"
    "  (import \"host\" \"fail\" (func $fail (param i32) (result i32)))\n"
    "  (import \"host\" \"absorb\" (func $absorb (param i32) (result i32)))\n"
    "  (func (export \"run\") (param i32) (result i32) (call $fail (local.get 0)))\n"
    "  (func (export \"outer\") (param i32) (result i32) (call $absorb (local.get 0))))\n";

static struct spry_func *absorb_target;

static int host_fail(void *user, struct spry_instance *caller, uint64_t *slots)
{
    (void)user;
    if (slots[0] == 1)
        spry_instance_set_trap_message(caller, "the first failure's message");
    return slots[0] != 0 ? SPRY_ETRAP : 0;
}

static int host_absorb(void *user, struct spry_instance *caller, uint64_t *slots)
{
    (void)user;
    (void)caller;
    uint64_t s[1] = {1};
    struct spry_trap trap;
    memset(&trap, 0, sizeof trap);
    int rc = spry_func_call_slots(absorb_target, s, 1, &trap);
    ASSERT_EQ_INT(rc, SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "the first failure's message");
    slots[0] = 5;
    return 0;
}

TEST(wasm_reentry, a_host_trap_message_is_spent_by_its_failure)
{
    native_cache_fresh();
    for (int native = 0; native <= 1; native++) {
        struct spry_module *m = wat_load_tier(MESSAGE_WAT, native);
        struct spry_store *store;
        ASSERT_OK(spry_store_create(NULL, &store));
        static const uint8_t i32[1] = {SPRY_I32};
        struct spry_functype ft = {1, 1, i32, i32};
        struct spry_func *hf[2];
        ASSERT_OK(spry_func_new_host(store, &ft, host_fail, NULL, &hf[0]));
        ASSERT_OK(spry_func_new_host(store, &ft, host_absorb, NULL, &hf[1]));
        struct spry_extern imps[2] = {{.kind = SPRY_EXTERN_FUNC, .of.func = hf[0]},
                                      {.kind = SPRY_EXTERN_FUNC, .of.func = hf[1]}};
        struct spry_instance *a, *b;
        ASSERT_OK(spry_instance_create(store, m, imps, 2, &a, NULL, NULL));
        ASSERT_OK(spry_instance_create(store, m, imps, 2, &b, NULL, NULL));
        ASSERT_TRUE(func_is_native(m, 2) == (native != 0));
        int32_t v;
        struct spry_trap trap;
        /* Failures reaching the API, one after the other. */
        ASSERT_EQ_INT(call_i32(a, "run", 1, &v, &trap), SPRY_ETRAP);
        ASSERT_EQ_STR(trap.message, "the first failure's message");
        ASSERT_EQ_INT(call_i32(a, "run", 2, &v, &trap), SPRY_ETRAP);
        ASSERT_EQ_STR(trap.message, "host function failed");
        ASSERT_OK(call_i32(a, "run", 0, &v, NULL));
        /* A's host absorbs B's trap; B's next failure has no message. */
        struct spry_extern e;
        ASSERT_OK(spry_instance_export(b, "run", &e));
        absorb_target = e.of.func;
        ASSERT_OK(call_i32(a, "outer", 0, &v, NULL));
        ASSERT_EQ_INT(v, 5);
        ASSERT_EQ_INT(call_i32(b, "run", 2, &v, &trap), SPRY_ETRAP);
        ASSERT_EQ_STR(trap.message, "host function failed");
        ASSERT_EQ_INT(call_i32(a, "run", 2, &v, &trap), SPRY_ETRAP);
        ASSERT_EQ_STR(trap.message, "host function failed");
        spry_store_destroy(store);
        spry_module_destroy(m);
    }
    native_cache_drop();
}

/* End-to-end engine tests: execution, traps, limits, interruption, host calls. */
#include "harness/test.h"
#include "wat.h"

#include "spry/wasm.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* Also under clang's UBSan alone (make ubsan), whose runtime handles
 * SIGSEGV as AddressSanitizer's does. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static const char *const FAC_WAT =
    "(module\n"
    "  (func $fac_rec (export \"fac_rec\") (param i64) (result i64)\n"
    "    (if (result i64) (i64.eqz (local.get 0))\n"
    "      (then (i64.const 1))\n"
    "      (else (i64.mul (local.get 0) (call $fac_rec (i64.sub (local.get 0) (i64.const 1)))))))\n"
    "  (func (export \"fac_iter\") (param i64) (result i64) (local i64)\n"
    "    (local.set 1 (i64.const 1))\n"
    "    (block (loop\n"
    "      (br_if 1 (i64.eqz (local.get 0)))\n"
    "      (local.set 1 (i64.mul (local.get 0) (local.get 1)))\n"
    "      (local.set 0 (i64.sub (local.get 0) (i64.const 1)))\n"
    "      (br 0)))\n"
    "    (local.get 1)))\n";

TEST(wasm_engine, factorial_recursive_and_iterative)
{
    struct spry_store *store;
    struct spry_instance *inst = wat_instantiate(FAC_WAT, &store);
    int64_t r;
    ASSERT_OK(call_i64(inst, "fac_rec", 20, &r, NULL));
    ASSERT_EQ_INT(r, 2432902008176640000LL);
    ASSERT_OK(call_i64(inst, "fac_iter", 20, &r, NULL));
    ASSERT_EQ_INT(r, 2432902008176640000LL);
    ASSERT_OK(call_i64(inst, "fac_iter", 0, &r, NULL));
    ASSERT_EQ_INT(r, 1);
    spry_store_destroy(store);
}

TEST(wasm_engine, division_by_zero_traps_with_location)
{
    struct spry_store *store;
    struct spry_instance *inst =
        wat_instantiate("(module (func $divide (export \"div\") (param i32) (result i32)\n"
                        "  (i32.div_s (i32.const 100) (local.get 0))))",
                        &store);
    int32_t r;
    ASSERT_OK(call_i32(inst, "div", 7, &r, NULL));
    ASSERT_EQ_INT(r, 14);
    struct spry_trap trap;
    ASSERT_EQ_INT(call_i32(inst, "div", 0, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_DIV_ZERO);
    ASSERT_EQ_STR(trap.message, "integer divide by zero");
    ASSERT_EQ_STR(trap.func_name, "divide");
    ASSERT_EQ_UINT(trap.func_index, 0);
    ASSERT_GT_UINT(trap.code_offset, 0);
    /* The store stays usable after a trap. */
    ASSERT_OK(call_i32(inst, "div", -5, &r, NULL));
    ASSERT_EQ_INT(r, -20);
    spry_store_destroy(store);
}

TEST(wasm_engine, out_of_bounds_memory_access_traps)
{
    struct spry_store *store;
    struct spry_instance *inst = wat_instantiate(
        "(module (memory 1)\n"
        "  (func (export \"load\") (param i32) (result i32) (i32.load (local.get 0)))\n"
        "  (func (export \"load_far\") (param i32) (result i32)\n"
        "    (i32.load offset=0xffffffff (local.get 0))))",
        &store);
    int32_t r;
    ASSERT_OK(call_i32(inst, "load", 65532, &r, NULL));
    struct spry_trap trap;
    ASSERT_EQ_INT(call_i32(inst, "load", 65533, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "out of bounds memory access");
    ASSERT_EQ_INT(call_i32(inst, "load", -1, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_MEMORY_OOB);
    ASSERT_EQ_INT(call_i32(inst, "load_far", -1, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_MEMORY_OOB);
    ASSERT_OK(call_i32(inst, "load", 0, &r, NULL));
    spry_store_destroy(store);
}

TEST(wasm_engine, fault_outside_wasm_memory_still_crashes)
{
    pid_t pid = fork();
    ASSERT_GE_INT(pid, 0);
    if (pid == 0) {
        struct spry_store *store;
        struct spry_instance *inst =
            wat_instantiate("(module (memory 1) (func (export \"load\") (param i32) (result i32)"
                            " (i32.load (local.get 0))))",
                            &store);
        int32_t r;
        struct spry_trap trap;
        /* The handler is installed and has turned a guest fault into a trap... */
        if (call_i32(inst, "load", 70000, &r, &trap) != SPRY_ETRAP)
            _exit(3);
        /* ...but a host bug outside any wasm memory must still kill us. */
        volatile int *bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if ((void *)bad == MAP_FAILED)
            _exit(5);
        *bad = 1;
        _exit(4);
    }
    int status;
    ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
#if UNDER_ASAN
    /* The handler found before ours is the sanitizer runtime's: it reports the
     * SEGV and exits 1, exactly as without Spry. */
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ_INT(WEXITSTATUS(status), 1);
#else
    ASSERT_TRUE(WIFSIGNALED(status));
    ASSERT_EQ_INT(WTERMSIG(status), SIGSEGV);
#endif
}

TEST(wasm_engine, infinite_recursion_exhausts_the_stack_without_crashing)
{
    struct spry_store *store;
    struct spry_instance *inst =
        wat_instantiate("(module (func $f (export \"f\") (param i32) (result i32)\n"
                        "  (i32.add (call $f (local.get 0)) (i32.const 1))))",
                        &store);
    int32_t r;
    struct spry_trap trap;
    ASSERT_EQ_INT(call_i32(inst, "f", 1, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_STACK_EXHAUSTED);
    ASSERT_EQ_STR(trap.message, "call stack exhausted");
    spry_store_destroy(store);
}

TEST(wasm_engine, memory_grow_stops_at_the_store_limit)
{
    struct spry_module *m = wat_load("(module (memory 1)\n"
                                     "  (func (export \"grow\") (param i32) (result i32)\n"
                                     "    (memory.grow (local.get 0))))");
    struct spry_store_limits limits = {.max_memory_bytes = 3 * 65536};
    struct spry_store *store;
    ASSERT_OK(spry_store_create(&limits, &store));
    struct spry_instance *inst;
    ASSERT_OK(spry_instance_create(store, m, NULL, 0, &inst, NULL, NULL));
    int32_t r;
    ASSERT_OK(call_i32(inst, "grow", 2, &r, NULL));
    ASSERT_EQ_INT(r, 1);
    ASSERT_OK(call_i32(inst, "grow", 1, &r, NULL));
    ASSERT_EQ_INT(r, -1);
    ASSERT_OK(call_i32(inst, "grow", 0, &r, NULL));
    ASSERT_EQ_INT(r, 3);
    spry_store_destroy(store);

    /* A module whose minimum exceeds the limit fails to instantiate. */
    struct spry_module *big = wat_load("(module (memory 4))");
    ASSERT_OK(spry_store_create(&limits, &store));
    struct spry_report report;
    spry_report_init(&report);
    ASSERT_NE_INT(spry_instance_create(store, big, NULL, 0, &inst, &report, NULL), 0);
    ASSERT_NOT_NULL(strstr(report.message, "memory"));
    spry_store_destroy(store);
    spry_module_destroy(big);
    spry_module_destroy(m);
}

TEST(wasm_engine, another_thread_interrupts_an_infinite_loop)
{
    struct spry_store *store;
    struct spry_instance *inst =
        wat_instantiate("(module (func (export \"spin\") (param i32) (result i32)\n"
                        "  (loop (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br 0))\n"
                        "  (local.get 0)))",
                        &store);
    struct spry_trap trap;
    double ms;
    ASSERT_EQ_INT(call_i32_interrupted(store, inst, "spin", &trap, &ms), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_INTERRUPTED);
    printf("stopped after %.3f ms of CPU time past the interrupt\n", ms);
    /* The design bound is a loop iteration; 10 ms is the promise. Allow a
     * sanitizer build slack beyond that before calling it broken. */
    ASSERT_LT_INT((long long)ms, 100);
    /* Pending until cleared; then the store runs again. */
    int32_t r;
    ASSERT_EQ_INT(call_i32(inst, "spin", 0, &r, &trap), SPRY_ETRAP);
    spry_store_clear_interrupt(store);
    spry_store_destroy(store);
}

/* A host function that reads the caller's memory and calls back into it. */
static int host_sum_and_call(void *user, struct spry_instance *caller, uint64_t *slots)
{
    int *calls = user;
    (*calls)++;
    struct spry_memory *mem = spry_instance_memory(caller, 0);
    uint32_t ptr = (uint32_t)slots[0], len = (uint32_t)slots[1];
    if ((uint64_t)ptr + len > spry_memory_size(mem)) {
        spry_instance_set_trap_message(caller, "host: bad pointer");
        return SPRY_ETRAP;
    }
    uint32_t sum = 0;
    for (uint32_t i = 0; i < len; i++)
        sum += spry_memory_data(mem)[ptr + i];
    struct spry_val arg = {.type = SPRY_I32, .of.i32 = (int32_t)sum}, res;
    struct spry_extern ext;
    if (spry_instance_export(caller, "double", &ext) != 0)
        return SPRY_ETRAP;
    int rc = spry_func_call(ext.of.func, &arg, 1, &res, 1, NULL);
    if (rc != 0)
        return rc;
    slots[0] = (uint32_t)res.of.i32;
    return 0;
}

TEST(wasm_engine, host_function_reads_memory_and_reenters)
{
    struct spry_module *m =
        wat_load("(module (import \"env\" \"sum\" (func $sum (param i32 i32) (result i32)))\n"
                 "  (memory (export \"memory\") 1) (data (i32.const 16) \"\\01\\02\\03\\04\")\n"
                 "  (func (export \"double\") (param i32) (result i32)\n"
                 "    (i32.mul (local.get 0) (i32.const 2)))\n"
                 "  (func (export \"run\") (param i32) (result i32)\n"
                 "    (i32.add (call $sum (i32.const 16) (local.get 0)) (i32.const 1000))))");
    struct spry_store *store;
    ASSERT_OK(spry_store_create(NULL, &store));
    int calls = 0;
    uint8_t params[2] = {SPRY_I32, SPRY_I32}, results[1] = {SPRY_I32};
    struct spry_functype type = {2, 1, params, results};
    struct spry_func *host;
    ASSERT_OK(spry_func_new_host(store, &type, host_sum_and_call, &calls, &host));
    struct spry_extern imports[1] = {{.kind = SPRY_EXTERN_FUNC, .of.func = host}};
    struct spry_instance *inst;
    ASSERT_OK(spry_instance_create(store, m, imports, 1, &inst, NULL, NULL));
    int32_t r;
    ASSERT_OK(call_i32(inst, "run", 4, &r, NULL));
    ASSERT_EQ_INT(r, 1020);
    ASSERT_EQ_INT(calls, 1);
    struct spry_trap trap;
    ASSERT_EQ_INT(call_i32(inst, "run", 70000, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "host: bad pointer");
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_HOST);
    ASSERT_EQ_UINT(trap.func_index, 2); /* "run", the wasm caller of the host function */
    spry_store_destroy(store);
    spry_module_destroy(m);
}

TEST(wasm_engine, unlinkable_import_names_the_import)
{
    struct spry_module *m = wat_load("(module (import \"env\" \"f\" (func (param i32))))");
    struct spry_store *store;
    ASSERT_OK(spry_store_create(NULL, &store));
    uint8_t params[1] = {SPRY_I64};
    struct spry_functype type = {1, 0, params, NULL};
    struct spry_func *host;
    ASSERT_OK(spry_func_new_host(store, &type, host_sum_and_call, NULL, &host));
    struct spry_extern imports[1] = {{.kind = SPRY_EXTERN_FUNC, .of.func = host}};
    struct spry_instance *inst;
    struct spry_report report;
    spry_report_init(&report);
    ASSERT_EQ_INT(spry_instance_create(store, m, imports, 1, &inst, &report, NULL),
                  SPRY_EUNLINKABLE);
    ASSERT_EQ_STR(report.message, "incompatible import type: env.f");
    spry_store_destroy(store);
    spry_module_destroy(m);
}

TEST(wasm_engine, branches_carry_values_through_blocks)
{
    struct spry_store *store;
    struct spry_instance *inst =
        wat_instantiate("(module\n"
                        "  (func (export \"pick\") (param i32) (result i32)\n"
                        "    (block (result i32)\n"
                        "      (block (result i32)\n"
                        "        (block (result i32)\n"
                        "          (br_table 0 1 2 (i32.const 10) (local.get 0)))\n"
                        "        (i32.add (i32.const 100)) (br 1))\n"
                        "      (i32.add (i32.const 1000))))\n"
                        "  (func (export \"swap\") (param i32) (result i32) (local i32)\n"
                        "    (local.set 1 (i32.const 7))\n"
                        "    (local.get 1) (local.get 0) (local.set 1) (local.set 0)\n"
                        "    (i32.sub (i32.mul (local.get 0) (i32.const 100)) (local.get 1)))\n"
                        "  (func (export \"multi\") (param i32) (result i32)\n"
                        "    (call $two (local.get 0)) (i32.sub))\n"
                        "  (func $two (param i32) (result i32 i32)\n"
                        "    (local.get 0) (i32.const 1)\n"
                        "    (br_if 0 (i32.gt_s (local.get 0) (i32.const 5)))\n"
                        "    (drop) (drop) (i32.const 50) (local.get 0)))\n",
                        &store);
    int32_t r;
    ASSERT_OK(call_i32(inst, "pick", 0, &r, NULL));
    ASSERT_EQ_INT(r, 10 + 100);
    ASSERT_OK(call_i32(inst, "pick", 1, &r, NULL));
    ASSERT_EQ_INT(r, 10 + 1000);
    ASSERT_OK(call_i32(inst, "pick", 2, &r, NULL));
    ASSERT_EQ_INT(r, 10);
    ASSERT_OK(call_i32(inst, "pick", 99, &r, NULL));
    ASSERT_EQ_INT(r, 10);
    /* local.get 1 is read before local.set 1 overwrites it. */
    ASSERT_OK(call_i32(inst, "swap", 3, &r, NULL));
    ASSERT_EQ_INT(r, 700 - 3);
    ASSERT_OK(call_i32(inst, "multi", 9, &r, NULL));
    ASSERT_EQ_INT(r, 8);
    ASSERT_OK(call_i32(inst, "multi", 2, &r, NULL));
    ASSERT_EQ_INT(r, 48);
    spry_store_destroy(store);
}

TEST(wasm_engine, fused_address_add_wraps_at_32_bits)
{
    /* The translator fuses i32.add into the load/store; the sum must wrap
     * before the offset is added, exactly as two instructions would. */
    struct spry_store *store;
    struct spry_instance *inst =
        wat_instantiate("(module (memory 1) (data (i32.const 8) \"\\2a\\00\\00\\00\")\n"
                        "  (func (export \"imm\") (param i32) (result i32)\n"
                        "    (i32.load (i32.add (local.get 0) (i32.const 16))))\n"
                        "  (func (export \"slots\") (param i32) (result i32) (local i32)\n"
                        "    (local.set 1 (i32.const 16))\n"
                        "    (i32.load offset=4 (i32.add (local.get 0) (local.get 1))))\n"
                        "  (func (export \"store\") (param i32) (result i32)\n"
                        "    (i32.store (i32.add (local.get 0) (i32.const 16)) (i32.const 7))\n"
                        "    (i32.load (i32.const 8))))",
                        &store);
    int32_t r;
    ASSERT_OK(call_i32(inst, "imm", -8, &r, NULL)); /* 0xfffffff8 + 16 = 8 */
    ASSERT_EQ_INT(r, 42);
    ASSERT_OK(call_i32(inst, "slots", -12, &r, NULL)); /* (0xfffffff4 + 16) + 4 = 8 */
    ASSERT_EQ_INT(r, 42);
    struct spry_trap trap;
    ASSERT_EQ_INT(call_i32(inst, "imm", 65536 - 16, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_MEMORY_OOB);
    ASSERT_OK(call_i32(inst, "store", -8, &r, NULL));
    ASSERT_EQ_INT(r, 7);
    spry_store_destroy(store);
}

struct shared_module_run {
    struct spry_module *module;
    int mismatches;
    int rc;
};

static void *run_fac_in_own_store(void *arg)
{
    struct shared_module_run *run = arg;
    struct spry_store *store;
    struct spry_instance *inst;
    run->rc = spry_store_create(NULL, &store);
    if (run->rc == 0)
        run->rc = spry_instance_create(store, run->module, NULL, 0, &inst, NULL, NULL);
    for (int i = 0; run->rc == 0 && i < 200; i++) {
        int n = 15 + i % 6;
        int64_t got = 0, want = 1;
        for (int k = 2; k <= n; k++)
            want *= k;
        run->rc = call_i64(inst, i % 2 ? "fac_rec" : "fac_iter", n, &got, NULL);
        run->mismatches += got != want;
    }
    spry_store_destroy(store);
    return NULL;
}

TEST(wasm_engine, one_module_runs_on_many_threads_with_lazy_translation)
{
    /* Every thread's first call races to translate the same functions;
     * each must see complete code and the right answers. */
    struct spry_module *m = wat_load(FAC_WAT);
    enum { THREADS = 8 };
    pthread_t threads[THREADS];
    struct shared_module_run runs[THREADS];
    for (int i = 0; i < THREADS; i++) {
        runs[i] = (struct shared_module_run){.module = m};
        ASSERT_EQ_INT(pthread_create(&threads[i], NULL, run_fac_in_own_store, &runs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        ASSERT_OK(runs[i].rc);
        ASSERT_EQ_INT(runs[i].mismatches, 0);
    }
    spry_module_destroy(m);
}

TEST(wasm_engine, objects_of_another_store_cannot_be_imported)
{
    /* Another store's memory is unknown to this store's fault handling and
     * may be freed under it: linking refuses it. */
    struct spry_module *m = wat_load("(module (import \"env\" \"mem\" (memory 1)))");
    struct spry_store *a, *b;
    ASSERT_OK(spry_store_create(NULL, &a));
    ASSERT_OK(spry_store_create(NULL, &b));
    struct spry_memory *mem;
    struct spry_limits limits = {.min = 1};
    ASSERT_OK(spry_memory_new(b, limits, &mem));
    struct spry_extern imports[1] = {{.kind = SPRY_EXTERN_MEMORY, .of.memory = mem}};
    struct spry_instance *inst;
    struct spry_report report;
    spry_report_init(&report);
    ASSERT_EQ_INT(spry_instance_create(a, m, imports, 1, &inst, &report, NULL), SPRY_EUNLINKABLE);
    ASSERT_EQ_STR(report.message, "import from another store: env.mem");
    ASSERT_OK(spry_instance_create(b, m, imports, 1, &inst, NULL, NULL));
    spry_store_destroy(a);
    spry_store_destroy(b);
    spry_module_destroy(m);
}

/* A host function that answers with the per-store datum under its key. */
static int host_store_datum(void *user, struct spry_instance *caller, uint64_t *slots)
{
    (void)user;
    const int *datum = spry_store_data(spry_instance_store(caller), SPRY_STORE_DATA_EMBEDDER);
    slots[0] = datum != NULL ? (uint32_t)*datum : 0xdead;
    return 0;
}

TEST(wasm_engine, host_functions_reach_per_store_data)
{
    struct spry_module *m = wat_load("(module (import \"env\" \"datum\" (func $d (result i32)))\n"
                                     "  (func (export \"run\") (result i32) (call $d)))");
    struct spry_store *store;
    ASSERT_OK(spry_store_create(NULL, &store));
    ASSERT_NULL(spry_store_data(store, SPRY_STORE_DATA_EMBEDDER));
    ASSERT_NULL(spry_store_data(store, SPRY_STORE_DATA_KEYS));
    uint8_t results[1] = {SPRY_I32};
    struct spry_functype type = {0, 1, NULL, results};
    struct spry_func *host;
    ASSERT_OK(spry_func_new_host(store, &type, host_store_datum, NULL, &host));
    struct spry_extern imports[1] = {{.kind = SPRY_EXTERN_FUNC, .of.func = host}};
    struct spry_instance *inst;
    ASSERT_OK(spry_instance_create(store, m, imports, 1, &inst, NULL, NULL));
    struct spry_val r;
    ASSERT_OK(spry_instance_call(inst, "run", NULL, 0, &r, 1, NULL));
    ASSERT_EQ_INT(r.of.i32, 0xdead);
    int first = 7, second = 9;
    spry_store_set_data(store, SPRY_STORE_DATA_EMBEDDER, &first);
    spry_store_set_data(store, SPRY_STORE_DATA_KEYS, &second); /* ignored: out of range */
    ASSERT_OK(spry_instance_call(inst, "run", NULL, 0, &r, 1, NULL));
    ASSERT_EQ_INT(r.of.i32, 7);
    spry_store_set_data(store, SPRY_STORE_DATA_EMBEDDER, &second);
    ASSERT_OK(spry_instance_call(inst, "run", NULL, 0, &r, 1, NULL));
    ASSERT_EQ_INT(r.of.i32, 9);
    spry_store_destroy(store);
    spry_module_destroy(m);
}

static int host_add(void *user, struct spry_instance *caller, uint64_t *slots)
{
    (void)caller;
    slots[0] = (uint32_t)slots[0] + (uint32_t)slots[1] + *(const uint32_t *)user;
    return 0;
}

TEST(wasm_engine, host_link_matches_imports_by_name_and_type)
{
    static const uint8_t ii[2] = {SPRY_I32, SPRY_I32}, i[1] = {SPRY_I32};
    uint32_t bias = 100;
    const struct spry_host_def defs[] = {
        {"env", "other", {0, 0, NULL, NULL}, host_add, &bias},
        {"env", "add", {2, 1, ii, i}, host_add, &bias},
    };
    struct spry_module *m = wat_load("(module (import \"env\" \"add\" (func $a (param i32 i32) "
                                     "(result i32)))\n"
                                     "  (func (export \"run\") (param i32) (result i32)\n"
                                     "    (call $a (local.get 0) (i32.const 2))))");
    struct spry_store *store;
    ASSERT_OK(spry_store_create(NULL, &store));
    struct spry_extern imports[1];
    ASSERT_OK(spry_host_link(store, m, defs, 2, imports, NULL));
    struct spry_instance *inst;
    ASSERT_OK(spry_instance_create(store, m, imports, 1, &inst, NULL, NULL));
    int32_t r;
    ASSERT_OK(call_i32(inst, "run", 5, &r, NULL));
    ASSERT_EQ_INT(r, 107);

    struct spry_report report;
    spry_report_init(&report);
    ASSERT_EQ_INT(spry_host_link(store, m, defs, 1, imports, &report), SPRY_EUNLINKABLE);
    ASSERT_EQ_STR(report.message, "unknown import: env.add (function)");
    const struct spry_host_def wrong[] = {{"env", "add", {1, 1, ii, i}, host_add, &bias}};
    spry_report_init(&report);
    ASSERT_EQ_INT(spry_host_link(store, m, wrong, 1, imports, &report), SPRY_EUNLINKABLE);
    ASSERT_EQ_STR(report.message, "incompatible import type: env.add is (i32 i32) -> (i32) in "
                                  "the module, (i32) -> (i32) on the host");
    struct spry_module *mem_import = wat_load("(module (import \"env\" \"add\" (memory 1)))");
    spry_report_init(&report);
    ASSERT_EQ_INT(spry_host_link(store, mem_import, defs, 2, imports, &report), SPRY_EUNLINKABLE);
    ASSERT_EQ_STR(report.message, "unknown import: env.add (memory)");
    spry_store_destroy(store);
    spry_module_destroy(m);
    spry_module_destroy(mem_import);
}

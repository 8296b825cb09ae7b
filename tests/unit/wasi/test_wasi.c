/* The wasi layer's API: the host-def table, context creation and its
 * failures, and calls from a store without a context or a memory. */
#include "base/alloc.h"
#include "harness/test.h"
#include "unit/wasi/wasi_fixture.h"
#include "unit/wasm/wat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

TEST(wasi_api, host_defs_cover_preview1_with_witx_signatures)
{
    size_t n;
    const struct spry_host_def *defs = spry_wasi_host_defs(&n);
    ASSERT_EQ_UINT(n, 46);
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ_STR(defs[i].module, "wasi_snapshot_preview1");
        for (size_t k = 0; k < i; k++)
            ASSERT_FALSE(strcmp(defs[i].name, defs[k].name) == 0);
    }
    /* Spot checks against wasi_snapshot_preview1.witx. */
    const struct spry_host_def *d =
        spry_host_def_find(defs, n, "wasi_snapshot_preview1", 22, "path_open", 9);
    ASSERT_NOT_NULL(d);
    static const uint8_t open_params[] = {SPRY_I32, SPRY_I32, SPRY_I32, SPRY_I32, SPRY_I32,
                                          SPRY_I64, SPRY_I64, SPRY_I32, SPRY_I32};
    ASSERT_EQ_UINT(d->type.nparams, 9);
    ASSERT_EQ_MEM(d->type.params, open_params, 9);
    ASSERT_EQ_UINT(d->type.nresults, 1);
    ASSERT_EQ_UINT(d->type.results[0], SPRY_I32);
    d = spry_host_def_find(defs, n, "wasi_snapshot_preview1", 22, "proc_exit", 9);
    ASSERT_NOT_NULL(d);
    ASSERT_EQ_UINT(d->type.nresults, 0);
    d = spry_host_def_find(defs, n, "wasi_snapshot_preview1", 22, "fd_seek", 7);
    ASSERT_NOT_NULL(d);
    static const uint8_t seek_params[] = {SPRY_I32, SPRY_I64, SPRY_I32, SPRY_I32};
    ASSERT_EQ_UINT(d->type.nparams, 4);
    ASSERT_EQ_MEM(d->type.params, seek_params, 4);
    d = spry_host_def_find(defs, n, "wasi_snapshot_preview1", 22, "sched_yield", 11);
    ASSERT_NOT_NULL(d);
    ASSERT_EQ_UINT(d->type.nparams, 0);
}

TEST(wasi_api, missing_preopen_is_reported)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/does-not-exist", test_tmpdir());
    struct spry_wasi_preopen pre = {dir, "/x", false};
    struct spry_wasi_config config = {.preopens = &pre, .npreopens = 1};
    struct spry_report report;
    spry_report_init(&report);
    struct spry_wasi *w = NULL;
    ASSERT_EQ_INT(spry_wasi_create(&config, &w, &report), SPRY_ENOTFOUND);
    ASSERT_NULL(w);
    ASSERT_NOT_NULL(strstr(report.message, "does-not-exist"));
    spry_wasi_destroy(NULL);
}

/* Every allocation of spry_wasi_create failed in turn: each run fails with
 * SPRY_ENOMEM and frees what it built (ASan checks for leaks). */
TEST(wasi_api, allocation_failure_torture)
{
    const char *dir = test_tmpdir();
    struct spry_wasi_preopen pre[2] = {{dir, "/a", false}, {dir, "/b", true}};
    const char *args[] = {"prog", "x"};
    const char *env[] = {"A=1", "B=2"};
    struct spry_wasi_config config = {
        .args = args, .nargs = 2, .env = env, .nenv = 2, .preopens = pre, .npreopens = 2};
    config.stdio[1].kind = SPRY_WASI_STDIO_BUFFER;
    int runs = 0;
    for (long n = 0;; n++) {
        struct spry_report report;
        spry_report_init(&report);
        struct spry_wasi *w = NULL;
        spry_alloc_fail_after(n);
        int rc = spry_wasi_create(&config, &w, &report);
        spry_alloc_fail_after(-1);
        if (rc == 0) {
            spry_wasi_destroy(w);
            break;
        }
        ASSERT_EQ_INT(rc, SPRY_ENOMEM);
        ASSERT_NULL(w);
        ASSERT_LT_INT(n, 1000);
        runs++;
    }
    ASSERT_GT_INT(runs, 5);
}

static const char *const no_memory_wat =
    "(module\n"
    "  (import \"wasi_snapshot_preview1\" \"args_sizes_get\"\n"
    "    (func $sizes (param i32 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"sched_yield\" (func $yield (result i32)))\n"
    "  (func (export \"sizes\") (result i32) (call $sizes (i32.const 0) (i32.const 4)))\n"
    "  (func (export \"yield\") (result i32) (call $yield)))";

static struct spry_instance *link_no_memory(struct spry_store *store, struct spry_wasi *wasi)
{
    struct spry_module *m = wat_load(no_memory_wat);
    if (wasi != NULL)
        spry_wasi_attach(wasi, store);
    size_t ndefs;
    const struct spry_host_def *defs = spry_wasi_host_defs(&ndefs);
    struct spry_extern imports[2];
    struct spry_report report;
    spry_report_init(&report);
    ASSERT_OK(spry_host_link(store, m, defs, ndefs, imports, &report));
    struct spry_instance *inst;
    ASSERT_OK(spry_instance_create(store, m, imports, 2, &inst, &report, NULL));
    return inst;
}

TEST(wasi_api, calls_without_context_trap_and_without_memory_fault)
{
    struct spry_store *store;
    ASSERT_OK(spry_store_create(NULL, &store));
    struct spry_instance *inst = link_no_memory(store, NULL);
    struct spry_val r;
    struct spry_trap trap;
    ASSERT_EQ_INT(spry_instance_call(inst, "yield", NULL, 0, &r, 1, &trap), SPRY_ETRAP);
    ASSERT_NOT_NULL(strstr(trap.message, "WASI"));
    spry_store_destroy(store);

    struct spry_wasi_config config = {0};
    struct spry_wasi *wasi;
    ASSERT_OK(spry_wasi_create(&config, &wasi, NULL));
    ASSERT_OK(spry_store_create(NULL, &store));
    inst = link_no_memory(store, wasi);
    ASSERT_OK(spry_instance_call(inst, "sizes", NULL, 0, &r, 1, &trap));
    ASSERT_EQ_INT(r.of.i32, E_FAULT);
    ASSERT_OK(spry_instance_call(inst, "yield", NULL, 0, &r, 1, &trap));
    ASSERT_EQ_INT(r.of.i32, 0);
    spry_store_destroy(store);
    spry_wasi_destroy(wasi);
}

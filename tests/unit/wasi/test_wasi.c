/* The wasi layer's API: the host-def table, context creation and its
 * failures, and calls from a store without a context or a memory. */
#include "base/alloc.h"
#include "harness/test.h"
#include "unit/wasi/wasi_fixture.h"
#include "unit/wasm/wat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
 * SPRY_ENOMEM and frees what it built (ASan checks for leaks). Enough
 * preopens that the fd table outgrows the context. */
TEST(wasi_api, allocation_failure_torture)
{
    const char *dir = test_tmpdir();
    struct spry_wasi_preopen pre[12];
    char names[12][8];
    for (int i = 0; i < 12; i++) {
        snprintf(names[i], sizeof names[i], "/p%d", i);
        pre[i] = (struct spry_wasi_preopen){dir, names[i], i % 2 == 1};
    }
    const char *args[] = {"prog", "x"};
    const char *env[] = {"A=1", "B=2"};
    struct spry_wasi_config config = {
        .args = args, .nargs = 2, .env = env, .nenv = 2, .preopens = pre, .npreopens = 12};
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
    ASSERT_GT_INT(runs, 1); /* the context, then its fd table */
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

/* ---- the context's life: fd table limits, isolation, output at destroy ---- */

enum { P = 2048, IOV = 3000, BUF = 3100, OUT = 4096 };

/* Opens box/f for reading and writing; the errno, the fd in *fd. */
static int open_f(struct wt *t, uint32_t *fd)
{
    return wt_open(t, 3, 0, "f", 0, R_ALL, 0, fd);
}

/* fd_read of up to n bytes from fd into BUF; returns the count read. */
static uint32_t read_fd(struct wt *t, uint32_t fd, uint32_t n)
{
    wt_set_u32(t, IOV, BUF);
    wt_set_u32(t, IOV + 4, n);
    ASSERT_EQ_INT(WCALL(t, "fd_read", fd, IOV, 1, OUT), 0);
    return wt_u32(t, OUT);
}

/* The guest name of preopen fd (prestat), NUL-terminated in a static buffer. */
static const char *prestat_name(struct wt *t, uint32_t fd)
{
    static char name[64];
    ASSERT_EQ_INT(WCALL(t, "fd_prestat_get", fd, OUT), 0);
    uint32_t len = wt_u32(t, OUT + 4);
    ASSERT_LT_INT(len, sizeof name);
    ASSERT_EQ_INT(WCALL(t, "fd_prestat_dir_name", fd, P, len), 0);
    memcpy(name, t->mem + P, len);
    name[len] = '\0';
    return name;
}

TEST(wasi_ctx, fd_table_grows_up_to_max_fds_and_keeps_its_fds)
{
    struct wt t;
    struct wt_options o = {.max_fds = 20};
    wt_setup(&t, &o);
    sandbox_write_file(t.box, "f", "0123456789");
    /* stdio and the two preopens hold fds 0-4: the rest of max_fds opens,
     * each taking the lowest free number. */
    uint32_t fd, expect = 5;
    int e;
    while ((e = open_f(&t, &fd)) == 0) {
        ASSERT_EQ_UINT(fd, expect);
        expect++;
    }
    ASSERT_EQ_INT(e, E_MFILE);
    ASSERT_EQ_UINT(expect, 20);
    /* The first fds, opened before the table grew, still work. */
    ASSERT_EQ_UINT(read_fd(&t, 5, 4), 4);
    ASSERT_EQ_MEM(t.mem + BUF, "0123", 4);
    ASSERT_EQ_UINT(read_fd(&t, 6, 2), 2);
    ASSERT_EQ_MEM(t.mem + BUF, "01", 2); /* its own offset */
    ASSERT_EQ_UINT(read_fd(&t, 5, 3), 3);
    ASSERT_EQ_MEM(t.mem + BUF, "456", 3);
    ASSERT_EQ_STR(prestat_name(&t, 3), "/box");
    ASSERT_EQ_STR(prestat_name(&t, 4), "/box2");
    /* A closed number is reused; the limit still holds after. */
    ASSERT_EQ_INT(WCALL(&t, "fd_close", 7), 0);
    ASSERT_EQ_INT(open_f(&t, &fd), 0);
    ASSERT_EQ_UINT(fd, 7);
    ASSERT_EQ_INT(open_f(&t, &fd), E_MFILE);
    wt_teardown(&t);
}

TEST(wasi_ctx, max_fds_holds_below_the_inline_slots)
{
    struct wt t;
    struct wt_options o = {.max_fds = 6}; /* stdio, two preopens, one more */
    wt_setup(&t, &o);
    sandbox_write_file(t.box, "f", "x");
    uint32_t fd;
    ASSERT_EQ_INT(open_f(&t, &fd), 0);
    ASSERT_EQ_UINT(fd, 5);
    ASSERT_EQ_INT(open_f(&t, &fd), E_MFILE);
    ASSERT_EQ_INT(WCALL(&t, "fd_close", 5), 0);
    ASSERT_EQ_INT(open_f(&t, &fd), 0);
    ASSERT_EQ_INT(open_f(&t, &fd), E_MFILE);
    wt_teardown(&t);

    struct spry_wasi_config config = {.max_fds = 2}; /* below stdio's three */
    struct spry_wasi *w = NULL;
    struct spry_report report;
    spry_report_init(&report);
    ASSERT_EQ_INT(spry_wasi_create(&config, &w, &report), SPRY_EINVAL);
    ASSERT_NULL(w);
    ASSERT_NOT_NULL(strstr(report.message, "max_fds"));
}

/* A context made after another (its memory likely the last one's) sees
 * none of the last one's fds, preopen changes or environment: once with
 * the fds inside the context's own slots, once past them. */
TEST(wasi_ctx, a_new_context_sees_nothing_of_the_last_one)
{
    static const char *const secret_env[] = {"SECRET=1"};
    for (int opens = 3; opens <= 12; opens += 9) {
        struct wt t;
        struct wt_options first = {.env = secret_env, .nenv = 1};
        wt_setup(&t, &first);
        sandbox_write_file(t.box, "f", "data");
        uint32_t fd;
        for (int i = 0; i < opens; i++)
            ASSERT_EQ_INT(open_f(&t, &fd), 0);
        ASSERT_EQ_UINT(fd, 4 + (uint32_t)opens);
        ASSERT_EQ_INT(WCALL(&t, "fd_renumber", 5, 4), 0); /* replaces preopen /box2 */
        ASSERT_EQ_INT(WCALL(&t, "fd_close", 3), 0);
        wt_teardown(&t);

        wt_setup(&t, NULL);
        for (uint32_t k = 5; k <= 4 + (uint32_t)opens; k++)
            ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_get", k, OUT), E_BADF);
        ASSERT_EQ_STR(prestat_name(&t, 3), "/box");
        ASSERT_EQ_STR(prestat_name(&t, 4), "/box2");
        ASSERT_EQ_INT(WCALL(&t, "environ_sizes_get", OUT, OUT + 4), 0);
        ASSERT_EQ_UINT(wt_u32(&t, OUT), 0);
        ASSERT_EQ_UINT(wt_u32(&t, OUT + 4), 0);
        sandbox_write_file(t.box, "f", "data");
        ASSERT_EQ_INT(open_f(&t, &fd), 0);
        ASSERT_EQ_UINT(fd, 5);
        wt_teardown(&t);
    }
}

TEST(wasi_ctx, borrowed_arguments_and_copied_preopen_names)
{
    static const char *const env[] = {"A=1", "B=two"};
    struct wt t;
    struct wt_options o = {.env = env, .nenv = 2, .borrow_strings = true};
    wt_setup(&t, &o);
    ASSERT_EQ_INT(WCALL(&t, "args_get", OUT, BUF), 0);
    ASSERT_EQ_STR((char *)t.mem + wt_u32(&t, OUT + 8), "two words");
    ASSERT_EQ_INT(WCALL(&t, "environ_get", OUT, BUF), 0);
    ASSERT_EQ_STR((char *)t.mem + wt_u32(&t, OUT + 4), "B=two");
    /* The fixture overwrote its preopen names after create: copies are served. */
    ASSERT_EQ_STR(prestat_name(&t, 3), "/box");
    ASSERT_EQ_STR(prestat_name(&t, 4), "/box2");
    wt_teardown(&t);
}

/* What the guest wrote to a host fd (a pipe: fully buffered) and never
 * flushed arrives at destroy; a stream never written writes nothing. */
TEST(wasi_ctx, output_buffered_for_a_host_fd_arrives_at_destroy)
{
    int out[2], err[2];
    ASSERT_OK(pipe(out));
    ASSERT_OK(pipe(err));
    ASSERT_OK(fcntl(out[0], F_SETFL, O_NONBLOCK));
    struct spry_wasi_stdio stdio[3] = {{.kind = SPRY_WASI_STDIO_NULL},
                                       {.kind = SPRY_WASI_STDIO_HOST_FD, .fd = out[1]},
                                       {.kind = SPRY_WASI_STDIO_HOST_FD, .fd = err[1]}};
    struct wt t;
    struct wt_options o = {.stdio = stdio};
    wt_setup(&t, &o);
    uint32_t len = wt_put(&t, BUF, "unflushed");
    wt_set_u32(&t, IOV, BUF);
    wt_set_u32(&t, IOV + 4, len);
    ASSERT_EQ_INT(WCALL(&t, "fd_write", 1, IOV, 1, OUT), 0);
    char buf[32];
    ASSERT_EQ_INT(read(out[0], buf, sizeof buf), -1); /* still buffered */
    ASSERT_EQ_INT(errno, EAGAIN);
    wt_teardown(&t);
    close(out[1]);
    close(err[1]);
    ASSERT_EQ_INT(read(out[0], buf, sizeof buf), (int)len);
    ASSERT_EQ_MEM(buf, "unflushed", len);
    ASSERT_EQ_INT(read(err[0], buf, sizeof buf), 0);
    close(out[0]);
    close(err[0]);
}

static uint16_t fdstat_flags(struct wt *t, uint32_t fd)
{
    ASSERT_EQ_INT(WCALL(t, "fd_fdstat_get", fd, OUT), 0);
    return (uint16_t)(t->mem[OUT + 2] | t->mem[OUT + 3] << 8);
}

/* Two contexts given the same open directory as a preopen (preopen_fds), as
 * spry up's requests are: both work beneath it, neither sees the other's
 * fdflags, closing it in a guest closes nothing of the host's, and the fd
 * outlives both. */
TEST(wasi_ctx, contexts_share_a_preopen_fd_without_sharing_state)
{
    struct wt first;
    wt_setup(&first, NULL); /* makes the sandbox */
    int dir = open(first.box, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GT_INT(dir, 0);
    int host_flags = fcntl(dir, F_GETFL);
    struct wt a, b;
    struct wt_options o = {.box_fd = dir};
    wt_setup(&a, &o);
    wt_setup(&b, &o);
    ASSERT_EQ_STR(prestat_name(&a, 3), "/box");
    uint32_t fd;
    ASSERT_EQ_INT(wt_open(&a, 3, 0, "made-by-a", O_CREAT_, R_ALL, 0, &fd), 0);
    ASSERT_EQ_INT(wt_open(&b, 3, 0, "made-by-a", 0, R_ALL, 0, &fd), 0);
    ASSERT_TRUE(sandbox_exists(first.box, "made-by-a"));

    ASSERT_EQ_INT(WCALL(&a, "fd_fdstat_set_flags", 3, FD_NONBLOCK), 0);
    ASSERT_EQ_UINT(fdstat_flags(&a, 3), FD_NONBLOCK);
    ASSERT_EQ_UINT(fdstat_flags(&b, 3), 0);
    ASSERT_EQ_INT(fcntl(dir, F_GETFL), host_flags);

    /* Listings are each context's own. */
    ASSERT_EQ_INT(WCALL(&a, "fd_readdir", 3, BUF, 40, 0, OUT), 0); /* part of one entry */
    ASSERT_EQ_INT(WCALL(&b, "fd_readdir", 3, BUF, 512, 0, OUT), 0);
    ASSERT_GT_INT(wt_u32(&b, OUT), 40);

    ASSERT_EQ_INT(WCALL(&a, "fd_close", 3), 0);
    ASSERT_EQ_INT(WCALL(&a, "fd_fdstat_get", 3, OUT), E_BADF);
    ASSERT_EQ_INT(wt_open(&b, 3, 0, "made-by-b", O_CREAT_, R_ALL, 0, &fd), 0);
    wt_teardown(&a);
    wt_teardown(&b);
    ASSERT_GT_INT(fcntl(dir, F_GETFD), -1); /* still open */
    ASSERT_TRUE(sandbox_exists(first.box, "made-by-b"));
    close(dir);
    wt_teardown(&first);
}

/*
 * Process-level calls and stdio: args, environ, clocks, random,
 * poll_oneoff, proc_exit, and stdio from/to memory buffers.
 */
#include "harness/test.h"
#include "unit/wasi/wasi_fixture.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { SUBS = 4096, EVENTS = 6144, OUT = 8000, BUF = 9000, IOV = 8500 };

TEST(wasi_env, args_and_environ_as_configured)
{
    struct wt t;
    const char *env[] = {"A=1", "EMPTY=", "K=v=w"};
    struct wt_options o = {.env = env, .nenv = 3};
    wt_setup(&t, &o);
    ASSERT_EQ_INT(WCALL(&t, "args_sizes_get", OUT, OUT + 4), 0);
    ASSERT_EQ_UINT(wt_u32(&t, OUT), 3);
    ASSERT_EQ_UINT(wt_u32(&t, OUT + 4), sizeof "prog" + sizeof "one" + sizeof "two words");
    ASSERT_EQ_INT(WCALL(&t, "args_get", OUT, BUF), 0);
    ASSERT_EQ_UINT(wt_u32(&t, OUT), BUF);
    ASSERT_EQ_STR((char *)t.mem + wt_u32(&t, OUT + 8), "two words");
    ASSERT_EQ_INT(WCALL(&t, "environ_sizes_get", OUT, OUT + 4), 0);
    ASSERT_EQ_UINT(wt_u32(&t, OUT), 3);
    ASSERT_EQ_UINT(wt_u32(&t, OUT + 4), 4 + 7 + 6);
    ASSERT_EQ_INT(WCALL(&t, "environ_get", OUT, BUF), 0);
    ASSERT_EQ_STR((char *)t.mem + wt_u32(&t, OUT + 4), "EMPTY=");
    ASSERT_EQ_STR((char *)t.mem + wt_u32(&t, OUT + 8), "K=v=w");
    wt_teardown(&t);
}

TEST(wasi_env, nothing_is_inherited_from_the_host)
{
    struct wt t;
    setenv("SPRY_LEAK_CHECK", "secret", 1);
    wt_setup(&t, NULL);
    ASSERT_EQ_INT(WCALL(&t, "environ_sizes_get", OUT, OUT + 4), 0);
    ASSERT_EQ_UINT(wt_u32(&t, OUT), 0);
    ASSERT_EQ_UINT(wt_u32(&t, OUT + 4), 0);
    wt_teardown(&t);
}

TEST(wasi_env, clocks_and_random)
{
    struct wt t;
    wt_setup(&t, NULL);
    for (uint32_t id = 0; id < 4; id++) {
        ASSERT_EQ_INT(WCALL(&t, "clock_res_get", id, OUT), 0);
        ASSERT_GT_UINT(wt_u64(&t, OUT), 0);
        ASSERT_EQ_INT(WCALL(&t, "clock_time_get", id, 1, OUT), 0);
    }
    ASSERT_EQ_INT(WCALL(&t, "clock_time_get", 4, 1, OUT), E_INVAL);
    ASSERT_EQ_INT(WCALL(&t, "clock_res_get", 99, OUT), E_INVAL);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ASSERT_EQ_INT(WCALL(&t, "clock_time_get", 0, 1, OUT), 0);
    uint64_t guest = wt_u64(&t, OUT), host = (uint64_t)ts.tv_sec * 1000000000u;
    ASSERT_GE_UINT(guest, host);
    ASSERT_LT_UINT(guest - host, 5000000000ull);
    ASSERT_EQ_INT(WCALL(&t, "clock_time_get", 1, 1, OUT), 0);
    uint64_t m1 = wt_u64(&t, OUT);
    ASSERT_EQ_INT(WCALL(&t, "clock_time_get", 1, 1, OUT), 0);
    ASSERT_GE_UINT(wt_u64(&t, OUT), m1);
    memset(t.mem + BUF, 0, 64);
    ASSERT_EQ_INT(WCALL(&t, "random_get", BUF, 64), 0);
    int zeros = 0;
    for (int i = 0; i < 64; i++)
        zeros += t.mem[BUF + i] == 0;
    ASSERT_LT_INT(zeros, 16);
    ASSERT_EQ_INT(WCALL(&t, "random_get", BUF, 0), 0);
    wt_teardown(&t);
}

static void clock_sub(struct wt *t, int i, uint64_t userdata, uint32_t id, uint64_t timeout,
                      uint16_t flags)
{
    uint8_t *s = t->mem + SUBS + i * 48;
    memset(s, 0, 48);
    memcpy(s, &userdata, 8);
    s[8] = 0;
    memcpy(s + 16, &id, 4);
    memcpy(s + 24, &timeout, 8);
    memcpy(s + 40, &flags, 2);
}

static void fd_sub(struct wt *t, int i, uint64_t userdata, uint8_t type, uint32_t fd)
{
    uint8_t *s = t->mem + SUBS + i * 48;
    memset(s, 0, 48);
    memcpy(s, &userdata, 8);
    s[8] = type;
    memcpy(s + 16, &fd, 4);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

TEST(wasi_env, poll_oneoff_clock_timeouts)
{
    struct wt t;
    wt_setup(&t, NULL);
    ASSERT_EQ_INT(WCALL(&t, "poll_oneoff", SUBS, EVENTS, 0, OUT), E_INVAL);
    /* Two relative clocks: the earlier one fires, after at least its
     * timeout, long before the later one (10 s: no stall of a loaded
     * machine comes near it). */
    clock_sub(&t, 0, 111, 1, 10000000000ull, 0);
    clock_sub(&t, 1, 222, 1, 30000000, 0);
    uint64_t t0 = mono_ms();
    ASSERT_EQ_INT(WCALL(&t, "poll_oneoff", SUBS, EVENTS, 2, OUT), 0);
    uint64_t took = mono_ms() - t0;
    ASSERT_GE_UINT(took, 30);
    ASSERT_LT_UINT(took, 5000);
    ASSERT_EQ_UINT(wt_u32(&t, OUT), 1);
    ASSERT_EQ_UINT(wt_u64(&t, EVENTS), 222);
    ASSERT_EQ_UINT(wt_u32(&t, EVENTS + 8) & 0xffff, 0); /* error */
    ASSERT_EQ_INT(t.mem[EVENTS + 10], 0);               /* type clock */
    /* Absolute monotonic deadline in the past: immediate. */
    clock_sub(&t, 0, 333, 1, 1, 1);
    ASSERT_EQ_INT(WCALL(&t, "poll_oneoff", SUBS, EVENTS, 1, OUT), 0);
    ASSERT_EQ_UINT(wt_u32(&t, OUT), 1);
    ASSERT_EQ_UINT(wt_u64(&t, EVENTS), 333);
    /* Absolute realtime deadline 20 ms ahead (of a time read after t0, so
     * that a delay before the poll shortens nothing). */
    t0 = mono_ms();
    ASSERT_EQ_INT(WCALL(&t, "clock_time_get", 0, 1, OUT + 100), 0);
    clock_sub(&t, 0, 444, 0, wt_u64(&t, OUT + 100) + 20000000, 1);
    ASSERT_EQ_INT(WCALL(&t, "poll_oneoff", SUBS, EVENTS, 1, OUT), 0);
    ASSERT_GE_UINT(mono_ms() - t0, 19);
    ASSERT_EQ_UINT(wt_u64(&t, EVENTS), 444);
    /* CPU-time clocks cannot be waited on; unknown tags are invalid. */
    clock_sub(&t, 0, 1, 2, 1000, 0);
    ASSERT_EQ_INT(WCALL(&t, "poll_oneoff", SUBS, EVENTS, 1, OUT), E_INVAL);
    fd_sub(&t, 0, 1, 7, 1);
    ASSERT_EQ_INT(WCALL(&t, "poll_oneoff", SUBS, EVENTS, 1, OUT), E_INVAL);
    wt_teardown(&t);
}

TEST(wasi_env, poll_oneoff_fd_subscriptions)
{
    struct wt t;
    struct spry_wasi_stdio stdio[3] = {
        {.kind = SPRY_WASI_STDIO_BUFFER, .data = (const uint8_t *)"abc", .len = 3},
        {.kind = SPRY_WASI_STDIO_BUFFER},
        {.kind = SPRY_WASI_STDIO_NULL}};
    struct wt_options o = {.stdio = stdio};
    wt_setup(&t, &o);
    sandbox_write_file(t.box, "f", "12345");
    uint32_t fd;
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "f", 0, R_ALL, 0, &fd), 0);
    /* A bad fd is an event carrying EBADF, not a failed call; a long clock
     * does not delay ready fds. */
    fd_sub(&t, 0, 10, 1, 77);
    fd_sub(&t, 1, 11, 1, 0);
    fd_sub(&t, 2, 12, 1, fd);
    clock_sub(&t, 3, 13, 1, 10000000000ull, 0);
    uint64_t t0 = mono_ms();
    ASSERT_EQ_INT(WCALL(&t, "poll_oneoff", SUBS, EVENTS, 4, OUT), 0);
    ASSERT_LT_UINT(mono_ms() - t0, 1000);
    ASSERT_EQ_UINT(wt_u32(&t, OUT), 3);
    ASSERT_EQ_UINT(wt_u64(&t, EVENTS), 10);
    ASSERT_EQ_UINT(wt_u32(&t, EVENTS + 8) & 0xffff, E_BADF);
    ASSERT_EQ_UINT(wt_u64(&t, EVENTS + 32), 11);
    ASSERT_EQ_INT(t.mem[EVENTS + 32 + 10], 1);
    ASSERT_EQ_UINT(wt_u64(&t, EVENTS + 32 + 16), 3); /* stdin bytes left */
    ASSERT_EQ_UINT(wt_u64(&t, EVENTS + 64), 12);
    ASSERT_EQ_UINT(wt_u64(&t, EVENTS + 64 + 16), 5); /* file bytes left */
    wt_teardown(&t);
}

static int write_str(struct wt *t, uint32_t fd, const char *s, uint32_t *n)
{
    uint32_t len = wt_put(t, BUF, s);
    wt_set_u32(t, IOV, BUF);
    wt_set_u32(t, IOV + 4, len);
    int e = WCALL(t, "fd_write", fd, IOV, 1, OUT);
    *n = wt_u32(t, OUT);
    return e;
}

TEST(wasi_env, stdio_from_and_to_memory_with_a_bound)
{
    struct wt t;
    struct spry_wasi_stdio stdio[3] = {
        {.kind = SPRY_WASI_STDIO_BUFFER, .data = (const uint8_t *)"input!", .len = 6},
        {.kind = SPRY_WASI_STDIO_BUFFER, .max = 10},
        {.kind = SPRY_WASI_STDIO_BUFFER}};
    struct wt_options o = {.stdio = stdio};
    wt_setup(&t, &o);
    uint32_t n;
    ASSERT_EQ_INT(write_str(&t, 1, "0123456", &n), 0);
    ASSERT_EQ_UINT(n, 7);
    ASSERT_EQ_INT(write_str(&t, 1, "789abc", &n), 0);
    ASSERT_EQ_UINT(n, 3); /* what fits */
    ASSERT_EQ_INT(write_str(&t, 1, "d", &n), E_NOSPC);
    ASSERT_EQ_INT(write_str(&t, 2, "err", &n), 0);
    size_t len;
    bool truncated;
    const uint8_t *out = spry_wasi_output(t.wasi, 1, &len, &truncated);
    ASSERT_EQ_UINT(len, 10);
    ASSERT_EQ_MEM(out, "0123456789", 10);
    ASSERT_TRUE(truncated);
    out = spry_wasi_output(t.wasi, 2, &len, &truncated);
    ASSERT_EQ_UINT(len, 3);
    ASSERT_FALSE(truncated);
    /* stdin: two reads, then end of file */
    wt_set_u32(&t, IOV, BUF);
    wt_set_u32(&t, IOV + 4, 4);
    ASSERT_EQ_INT(WCALL(&t, "fd_read", 0, IOV, 1, OUT), 0);
    ASSERT_EQ_UINT(wt_u32(&t, OUT), 4);
    ASSERT_EQ_MEM(t.mem + BUF, "inpu", 4);
    ASSERT_EQ_INT(WCALL(&t, "fd_read", 0, IOV, 1, OUT), 0);
    ASSERT_EQ_UINT(wt_u32(&t, OUT), 2);
    ASSERT_EQ_INT(WCALL(&t, "fd_read", 0, IOV, 1, OUT), 0);
    ASSERT_EQ_UINT(wt_u32(&t, OUT), 0);
    ASSERT_EQ_INT(WCALL(&t, "fd_write", 0, IOV, 1, OUT), E_NOTCAPABLE);
    ASSERT_EQ_INT(WCALL(&t, "fd_seek", 1, 0, 0, OUT), E_NOTCAPABLE);
    wt_teardown(&t);
}

TEST(wasi_env, proc_exit_ends_the_call_with_the_code)
{
    struct wt t;
    wt_setup(&t, NULL);
    struct spry_extern ext;
    ASSERT_OK(spry_instance_export(t.inst, "proc_exit", &ext));
    struct spry_val arg = {.type = SPRY_I32, .of.i32 = 42};
    struct spry_trap trap;
    ASSERT_EQ_INT(spry_func_call(ext.of.func, &arg, 1, NULL, 0, &trap), SPRY_EEXIT);
    ASSERT_EQ_INT(trap.exit_code, 42);
    wt_teardown(&t);
}

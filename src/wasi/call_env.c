/*
 * Process-level calls: args, environ, clocks, random, proc_exit,
 * proc_raise, sched_yield.
 */
#include "wasi/ctx.h"
#include "wasi/funcs.h"

#include <errno.h>
#include <sched.h>
#include <sys/random.h>
#include <time.h>

/* Writes `n` strings as the pointer array at vec and the bytes at buf
 * (args_get/environ_get). Both ranges are checked first. */
static int put_strings(struct wasi_call *c, char **v, size_t n, size_t bytes, uint32_t vec,
                       uint32_t buf)
{
    if (!wasi_mem_ok(c, vec, (uint64_t)n * 4) || !wasi_mem_ok(c, buf, bytes))
        return WASI_EFAULT;
    uint32_t at = buf;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(v[i]) + 1;
        wasi_store32(c, vec + (uint32_t)i * 4, at);
        memcpy(c->mem + at, v[i], len);
        wasi_mark(c, at, len);
        at += (uint32_t)len;
    }
    return 0;
}

static int put_sizes(struct wasi_call *c, size_t n, size_t bytes)
{
    uint32_t count_ptr = wasi_arg32(c, 0), size_ptr = wasi_arg32(c, 1);
    if (!wasi_mem_ok(c, count_ptr, 4) || !wasi_mem_ok(c, size_ptr, 4))
        return WASI_EFAULT;
    wasi_store32(c, count_ptr, (uint32_t)n);
    wasi_store32(c, size_ptr, (uint32_t)bytes);
    return 0;
}

int wasi_args_get(struct wasi_call *c)
{
    struct spry_wasi *w = c->wasi;
    return put_strings(c, w->args, w->nargs, w->args_bytes, wasi_arg32(c, 0), wasi_arg32(c, 1));
}

int wasi_args_sizes_get(struct wasi_call *c)
{
    return put_sizes(c, c->wasi->nargs, c->wasi->args_bytes);
}

int wasi_environ_get(struct wasi_call *c)
{
    struct spry_wasi *w = c->wasi;
    return put_strings(c, w->env, w->nenv, w->env_bytes, wasi_arg32(c, 0), wasi_arg32(c, 1));
}

int wasi_environ_sizes_get(struct wasi_call *c)
{
    return put_sizes(c, c->wasi->nenv, c->wasi->env_bytes);
}

/* The host clock for a WASI clock id (realtime, monotonic, process and
 * thread CPU time), or -1. */
static int host_clock(uint32_t id, clockid_t *out)
{
    static const clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
                                       CLOCK_THREAD_CPUTIME_ID};
    if (id >= sizeof clocks / sizeof clocks[0])
        return -1;
    *out = clocks[id];
    return 0;
}

int wasi_clock_res_get(struct wasi_call *c)
{
    clockid_t clk;
    struct timespec ts;
    if (host_clock(wasi_arg32(c, 0), &clk) != 0)
        return WASI_EINVAL;
    if (wasi_out_ok(c, wasi_arg32(c, 1), 8) != 0)
        return WASI_EFAULT;
    if (clock_getres(clk, &ts) != 0)
        return wasi_errno_from_host(errno);
    wasi_store64(c, wasi_arg32(c, 1), (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
    return 0;
}

int wasi_clock_time_get(struct wasi_call *c)
{
    clockid_t clk;
    struct timespec ts;
    if (host_clock(wasi_arg32(c, 0), &clk) != 0)
        return WASI_EINVAL;
    if (wasi_out_ok(c, wasi_arg32(c, 2), 8) != 0)
        return WASI_EFAULT;
    if (clock_gettime(clk, &ts) != 0)
        return wasi_errno_from_host(errno);
    wasi_store64(c, wasi_arg32(c, 2), (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
    return 0;
}

int wasi_random_get(struct wasi_call *c)
{
    uint32_t buf = wasi_arg32(c, 0), len = wasi_arg32(c, 1);
    if (!wasi_mem_ok(c, buf, len))
        return WASI_EFAULT;
    uint32_t done = 0;
    while (done < len) {
        wasi_mark(c, buf + done, len - done);
        ssize_t got = getrandom(c->mem + buf + done, len - done, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return wasi_errno_from_host(errno);
        }
        done += (uint32_t)got;
    }
    return 0;
}

int wasi_proc_exit(struct wasi_call *c)
{
    spry_store_set_exit(spry_instance_store(c->caller), (int)wasi_arg32(c, 0));
    return SPRY_EEXIT;
}

/* Signals are not part of the sandbox: wasmtime answers ENOSYS too. */
int wasi_proc_raise(struct wasi_call *c)
{
    (void)c;
    return WASI_ENOSYS;
}

int wasi_sched_yield(struct wasi_call *c)
{
    (void)c;
    sched_yield();
    return 0;
}

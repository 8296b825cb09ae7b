/*
 * wasi:clocks/monotonic-clock and wasi:clocks/wall-clock (CLOCK_MONOTONIC
 * and CLOCK_REALTIME, nanoseconds; resolutions from clock_getres).
 * subscribe-instant/-duration make pollables with a monotonic deadline
 * (an instant already past is ready at once; a duration saturates).
 */
#include "component/wasip2/p2.h"

#include <time.h>

static uint64_t ns_of(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

static int mono_now(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)call;
    (void)args;
    p2_u64(result, p2_monotonic_now());
    return 0;
}

static int mono_resolution(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)call;
    (void)args;
    struct timespec ts = {0, 1};
    clock_getres(CLOCK_MONOTONIC, &ts);
    p2_u64(result, ns_of(&ts));
    return 0;
}

static int subscribe_at(struct ccall *call, uint64_t deadline, struct cval *result)
{
    struct wasip2 *ctx;
    uint32_t slot;
    int rc = p2_ctx(call, &ctx);
    if (rc == 0)
        rc = p2_new_own(call, ctx, P2_POLLABLE, 0, &slot, result);
    if (rc != 0)
        return rc;
    ctx->objs[slot].u.poll.how = P2_POLL_CLOCK;
    ctx->objs[slot].u.poll.deadline = deadline;
    return 0;
}

static int mono_subscribe_instant(struct ccall *call, const struct cval *args, struct cval *result)
{
    return subscribe_at(call, args[0].of.u, result);
}

static int mono_subscribe_duration(struct ccall *call, const struct cval *args, struct cval *result)
{
    uint64_t now = p2_monotonic_now(), d = args[0].of.u;
    return subscribe_at(call, d > UINT64_MAX - now ? UINT64_MAX : now + d, result);
}

static const struct chost_func mono_funcs[] = {
    {"now", mono_now},
    {"resolution", mono_resolution},
    {"subscribe-instant", mono_subscribe_instant},
    {"subscribe-duration", mono_subscribe_duration},
};

const struct chost_iface p2_iface_clocks_monotonic = {
    .name = "wasi:clocks/monotonic-clock",
    .version = WASIP2_VERSION,
    .wit = "use wasi:io/poll@0.2.12.{pollable};\n"
           "type instant = u64;\n"
           "type duration = u64;\n"
           "now: func() -> instant;\n"
           "resolution: func() -> duration;\n"
           "subscribe-instant: func(when: instant) -> pollable;\n"
           "subscribe-duration: func(when: duration) -> pollable;\n",
    .funcs = mono_funcs,
    .nfuncs = sizeof mono_funcs / sizeof mono_funcs[0],
};

/* A wall-clock datetime record { seconds: u64, nanoseconds: u32 }. */
static int datetime(struct ccall *call, const struct timespec *ts, struct cval *result)
{
    struct cval *f = p2_vals(call, 2);
    if (f == NULL)
        return p2_oom(call);
    p2_u64(&f[0], ts->tv_sec < 0 ? 0 : (uint64_t)ts->tv_sec);
    f[1].kind = CT_U32;
    f[1].of.u = (uint64_t)ts->tv_nsec;
    result->kind = CT_RECORD;
    result->of.list.v = f;
    result->of.list.n = 2;
    return 0;
}

static int wall_now(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)args;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return datetime(call, &ts, result);
}

static int wall_resolution(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)args;
    struct timespec ts = {0, 1};
    clock_getres(CLOCK_REALTIME, &ts);
    return datetime(call, &ts, result);
}

static const struct chost_func wall_funcs[] = {
    {"now", wall_now},
    {"resolution", wall_resolution},
};

const struct chost_iface p2_iface_clocks_wall = {
    .name = "wasi:clocks/wall-clock",
    .version = WASIP2_VERSION,
    .wit = "record datetime {\n"
           "    seconds: u64,\n"
           "    nanoseconds: u32,\n"
           "}\n"
           "now: func() -> datetime;\n"
           "resolution: func() -> datetime;\n",
    .funcs = wall_funcs,
    .nfuncs = sizeof wall_funcs / sizeof wall_funcs[0],
};

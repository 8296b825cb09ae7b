/*
 * wasi:io/poll: pollables and waiting.
 *
 * A pollable is ready
 *  - at its deadline (monotonic-clock subscribe-instant/-duration),
 *  - when its stream is: stdin that is a host fd when poll(2) says so
 *    (readable, hung up or in error); every other stream always (files,
 *    memory stdin, and output, which Spry writes synchronously),
 *  - always, when made ready (a stream already gone).
 * A pollable of the embedder's (a custom stream's, or one of
 * wasip2_pollable_create's) is ready when its ready() says so; while a wait
 * sleeps it is asked again every millisecond, or, when it has a wake fd,
 * only once that fd polls readable: every wake fd is re-armed before any
 * ready() is asked, so a change after the asking wakes the wait at once.
 * Waiting checks everything once without blocking; if nothing is ready it
 * writes buffered stdio out (as preview 1 does before the guest sleeps)
 * and blocks in ppoll for the earliest deadline or fd event, in slices of
 * at most P2_SLICE_NS, checking between slices whether the store was
 * interrupted (the request deadline): then the call traps `interrupted`.
 * Semantics as wasmtime: poll traps on an empty list, returns the indexes
 * of every ready pollable, and a pollable may appear more than once.
 */
#include "base/alloc.h"
#include "component/wasip2/p2.h"

#include <errno.h>
#include <poll.h>
#include <time.h>

uint64_t p2_monotonic_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The host fd guest stdin reads from, or -1 when stdin is in memory. */
static int stdin_fd(struct wasip2 *ctx)
{
    struct spry_wasi *w = ctx->wasi;
    if (w->nfds == 0 || !w->fds[0].used || w->fds[0].stream != NULL)
        return -1;
    return w->fds[0].host;
}

enum { NOT_READY = 0, READY = 1, WAIT_FD = 2, WAIT_CLOCK = 3 };

/* A stream with the embedder's backend has no fd to wait on: its readiness
 * is asked again this often while a poll waits. */
#define CUSTOM_RECHECK_NS (1000 * 1000)

static bool custom_ready(const struct wasip2 *ctx, const struct p2_obj *o)
{
    if (o->u.poll.how == P2_POLL_FN)
        return o->u.poll.ready(o->u.poll.user);
    if (o->u.poll.how != P2_POLL_PARENT)
        return false;
    const struct p2_obj *s = &ctx->objs[o->parent - 1];
    return s->u.stream.how == P2_STREAM_CUSTOM &&
           (s->u.stream.closed || s->u.stream.ops->ready == NULL ||
            s->u.stream.ops->ready(s->u.stream.user));
}

/* Re-arms and returns the wake fd of a pollable of the embedder's, or -1. */
static int wake_fd(const struct wasip2 *ctx, uint32_t slot)
{
    const struct p2_obj *o = &ctx->objs[slot];
    if (o->u.poll.how == P2_POLL_FN)
        return o->u.poll.wake_fd != NULL ? o->u.poll.wake_fd(o->u.poll.user) : -1;
    if (o->u.poll.how != P2_POLL_PARENT)
        return -1;
    const struct p2_obj *s = &ctx->objs[o->parent - 1];
    if (s->u.stream.how != P2_STREAM_CUSTOM || s->u.stream.closed ||
        s->u.stream.ops->wake_fd == NULL)
        return -1;
    return s->u.stream.ops->wake_fd(s->u.stream.user);
}

/* What pollable slot waits for: READY, WAIT_FD (*fd) or WAIT_CLOCK. wfd:
 * its wake fd (re-armed), or -1. */
static int classify(struct wasip2 *ctx, uint32_t slot, int wfd, int *fd, uint64_t *deadline)
{
    const struct p2_obj *o = &ctx->objs[slot];
    switch (o->u.poll.how) {
    case P2_POLL_CLOCK:
        *deadline = o->u.poll.deadline;
        return WAIT_CLOCK;
    case P2_POLL_FN:
        if (o->u.poll.ready(o->u.poll.user))
            return READY;
        break;
    case P2_POLL_PARENT: {
        const struct p2_obj *s = &ctx->objs[o->parent - 1];
        if (s->u.stream.how == P2_STREAM_CUSTOM && !s->u.stream.closed &&
            s->u.stream.ops->ready != NULL) {
            if (s->u.stream.ops->ready(s->u.stream.user))
                return READY;
            break;
        }
        if (s->kind == P2_INPUT && s->u.stream.how == P2_STREAM_STDIO && !s->u.stream.closed) {
            *fd = stdin_fd(ctx);
            if (*fd >= 0)
                return WAIT_FD;
        }
        return READY;
    }
    default:
        return READY;
    }
    /* The embedder's, not ready: woken by its fd, or looked at again soon. */
    if (wfd >= 0) {
        *fd = wfd;
        return WAIT_FD;
    }
    *deadline = p2_monotonic_now() + CUSTOM_RECHECK_NS;
    return WAIT_CLOCK;
}

static int wait_slice(struct pollfd *pfd, size_t npfd, uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    int r = ppoll(npfd > 0 ? pfd : NULL, (nfds_t)npfd, &ts, NULL);
    return r < 0 && errno != EINTR ? -errno : 0;
}

int p2_wait(struct ccall *call, struct wasip2 *ctx, const uint32_t *slots, size_t n, bool block,
            bool *ready)
{
    struct pollfd *pfd = spry_alloc_array(n == 0 ? 1 : n, sizeof *pfd);
    size_t *pidx = spry_alloc_array(n == 0 ? 1 : n, sizeof *pidx); /* pfd of slot i, or SIZE_MAX */
    int *wfd = spry_alloc_array(n == 0 ? 1 : n, sizeof *wfd);      /* wake fd of slot i, or -1 */
    int rc = 0;
    if (pfd == NULL || pidx == NULL || wfd == NULL) {
        rc = p2_oom(call);
        goto done;
    }
    bool flushed = false;
    for (uint64_t wait_ns = 0;;) {
        size_t npfd = 0;
        uint64_t earliest = UINT64_MAX;
        for (size_t i = 0; i < n; i++) /* every one re-armed before any is asked */
            wfd[i] = wake_fd(ctx, slots[i]);
        for (size_t i = 0; i < n; i++) {
            int fd = -1;
            uint64_t deadline = 0;
            ready[i] = false;
            pidx[i] = SIZE_MAX;
            switch (classify(ctx, slots[i], wfd[i], &fd, &deadline)) {
            case READY:
                ready[i] = true;
                wait_ns = 0;
                break;
            case WAIT_FD:
                pidx[i] = npfd;
                pfd[npfd].fd = fd;
                pfd[npfd].events = POLLIN;
                pfd[npfd].revents = 0;
                npfd++;
                break;
            default:
                if (deadline < earliest)
                    earliest = deadline;
                break;
            }
        }
        uint64_t now = p2_monotonic_now();
        if (earliest <= now)
            wait_ns = 0;
        else if (wait_ns > 0 && earliest - now < wait_ns)
            wait_ns = earliest - now;
        int err = wait_slice(pfd, npfd, wait_ns);
        if (err != 0) {
            rc = ccall_trap(call, "wasi: poll failed: %s", strerror(-err));
            goto done;
        }
        now = p2_monotonic_now();
        bool any = false;
        for (size_t i = 0; i < n; i++) {
            const struct p2_obj *o = &ctx->objs[slots[i]];
            if (pidx[i] != SIZE_MAX && pfd[pidx[i]].revents != 0 && wfd[i] < 0)
                ready[i] = true; /* stdin; a wake fd only says to ask again */
            else if (o->u.poll.how == P2_POLL_CLOCK && o->u.poll.deadline <= now)
                ready[i] = true;
            else if (custom_ready(ctx, o))
                ready[i] = true;
            any |= ready[i];
        }
        if (any || !block)
            goto done;
        if (!flushed && ctx->on_block != NULL && (rc = ctx->on_block(ctx->on_block_user)) != 0)
            goto done;
        if (!flushed) {
            wasi_streams_flush(ctx->wasi, NULL); /* output shows before the guest sleeps */
            flushed = true;
        }
        if (call->store != NULL && (rc = spry_store_check_interrupt(call->store)) != 0)
            goto done;
        wait_ns = P2_SLICE_NS;
    }
done:
    spry_free(wfd);
    spry_free(pidx);
    spry_free(pfd);
    return rc;
}

int p2_wait_stdin(struct ccall *call, struct wasip2 *ctx)
{
    int fd = stdin_fd(ctx);
    if (fd < 0)
        return 0;
    if (ctx->on_block != NULL) {
        struct pollfd now = {.fd = fd, .events = POLLIN};
        int rc =
            wait_slice(&now, 1, 0) == 0 && now.revents == 0 ? ctx->on_block(ctx->on_block_user) : 0;
        if (rc != 0)
            return rc;
    }
    wasi_streams_flush(ctx->wasi, NULL); /* a prompt shows before stdin blocks */
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int err = wait_slice(&pfd, 1, P2_SLICE_NS);
        if (err != 0 || pfd.revents != 0)
            return 0; /* the read that follows reports any error */
        if (call->store != NULL) {
            int rc = spry_store_check_interrupt(call->store);
            if (rc != 0)
                return rc;
        }
    }
}

/* ---- wasi:io/poll ---- */

static int pollable_slot(struct ccall *call, struct wasip2 *ctx, const struct cval *v,
                         uint32_t *slot)
{
    if (p2_get(ctx, v->of.rep, P2_POLLABLE, slot) == NULL)
        return p2_bad_handle(call, "pollable");
    return 0;
}

static int pollable_ready(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasip2 *ctx;
    uint32_t slot;
    bool ready;
    int rc = p2_ctx(call, &ctx);
    if (rc == 0)
        rc = pollable_slot(call, ctx, &args[0], &slot);
    if (rc == 0)
        rc = p2_wait(call, ctx, &slot, 1, false, &ready);
    if (rc != 0)
        return rc;
    result->kind = CT_BOOL;
    result->of.b = ready;
    return 0;
}

static int pollable_block(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)result;
    struct wasip2 *ctx;
    uint32_t slot;
    bool ready;
    int rc = p2_ctx(call, &ctx);
    if (rc == 0)
        rc = pollable_slot(call, ctx, &args[0], &slot);
    if (rc == 0)
        rc = p2_wait(call, ctx, &slot, 1, true, &ready);
    return rc;
}

static int poll_list(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasip2 *ctx;
    int rc = p2_ctx(call, &ctx);
    if (rc != 0)
        return rc;
    size_t n = args[0].of.list.n;
    if (n == 0)
        return ccall_trap(call, "wasi: poll of an empty list");
    if (n > P2_POLL_MAX)
        return ccall_trap(call, "wasi: poll of more than %d pollables", P2_POLL_MAX);
    uint32_t *slots = spry_alloc_array(n, sizeof *slots);
    bool *ready = spry_alloc_array(n, sizeof *ready);
    if (slots == NULL || ready == NULL) {
        rc = p2_oom(call);
        goto done;
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = pollable_slot(call, ctx, &args[0].of.list.v[i], &slots[i]);
    if (rc == 0)
        rc = p2_wait(call, ctx, slots, n, true, ready);
    if (rc != 0)
        goto done;
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += ready[i];
    uint8_t *out = spry_arena_alloc(call->arena, count * 4);
    if (out == NULL) {
        rc = p2_oom(call);
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ready[i])
            continue;
        for (int b = 0; b < 4; b++) /* list<u32> is carried little-endian (ctype.h) */
            out[k * 4 + (size_t)b] = (uint8_t)(i >> (8 * b));
        k++;
    }
    result->kind = CT_LIST;
    result->of.raw.ptr = out;
    result->of.raw.n = count;
done:
    spry_free(ready);
    spry_free(slots);
    return rc;
}

static const struct chost_resource poll_resources[] = {{"pollable", p2_drop}};

static const struct chost_func poll_funcs[] = {
    {"[method]pollable.ready", pollable_ready},
    {"[method]pollable.block", pollable_block},
    {"poll", poll_list},
};

const struct chost_iface p2_iface_io_poll = {
    .name = "wasi:io/poll",
    .version = WASIP2_VERSION,
    .wit = "resource pollable {\n"
           "    ready: func() -> bool;\n"
           "    block: func();\n"
           "}\n"
           "poll: func(in: list<borrow<pollable>>) -> list<u32>;\n",
    .resources = poll_resources,
    .nresources = 1,
    .funcs = poll_funcs,
    .nfuncs = sizeof poll_funcs / sizeof poll_funcs[0],
};

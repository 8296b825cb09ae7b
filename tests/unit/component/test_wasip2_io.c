/*
 * wasi:io through the host functions: stdio streams over preview 1's
 * stdio (captured output and its bound, input from bytes and from a pipe),
 * errors and their debug strings, pollables on clocks and streams, poll,
 * interruption of a blocked guest, and the object table (drop order,
 * stale handles, the handle limit).
 */
#include "harness/test.h"
#include "component/wasip2/p2.h"
#include "unit/component/wasip2_fixture.h"
#include "wasm/runtime.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define IO   "wasi:io/streams"
#define POLL "wasi:io/poll"
#define MONO "wasi:clocks/monotonic-clock"

static uint32_t get_stdio(struct p2t *t, int index)
{
    static const char *const ifaces[] = {"wasi:cli/stdin", "wasi:cli/stdout", "wasi:cli/stderr"};
    static const char *const funcs[] = {"get-stdin", "get-stdout", "get-stderr"};
    struct cval r;
    ASSERT_OK(P2CALL0(t, ifaces[index], funcs[index], &r));
    ASSERT_EQ_INT(r.kind, CT_OWN);
    return r.of.rep;
}

static const char *captured(struct p2t *t, int fd, bool *cut)
{
    static char buf[4096];
    size_t len;
    const uint8_t *p = spry_wasi_output(wasip2_wasi(t->p2), fd, &len, cut);
    ASSERT_NOT_NULL(p);
    ASSERT_LT_UINT(len, sizeof buf);
    memcpy(buf, p, len);
    buf[len] = '\0';
    return buf;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

TEST(wasip2_io, stdout_and_stderr_are_captured_as_in_preview_1)
{
    struct p2t t;
    p2t_setup(&t, NULL);
    uint32_t out = get_stdio(&t, 1), err = get_stdio(&t, 2);
    struct cval r;
    ASSERT_OK(P2CALL(&t, IO, "[method]output-stream.blocking-write-and-flush", &r, cv_borrow(out),
                     cv_bytes("hello ", 6)));
    ASSERT_TRUE(r_ok(&r));
    ASSERT_OK(P2CALL(&t, IO, "[method]output-stream.check-write", &r, cv_borrow(out)));
    ASSERT_GE_UINT(r_val(&r)->of.u, 4096);
    ASSERT_OK(
        P2CALL(&t, IO, "[method]output-stream.write", &r, cv_borrow(out), cv_bytes("world", 5)));
    ASSERT_TRUE(r_ok(&r));
    ASSERT_OK(P2CALL(&t, IO, "[method]output-stream.write-zeroes", &r, cv_borrow(out), cv_u64(2)));
    ASSERT_TRUE(r_ok(&r));
    ASSERT_OK(P2CALL(&t, IO, "[method]output-stream.flush", &r, cv_borrow(out)));
    ASSERT_TRUE(r_ok(&r));
    ASSERT_OK(P2CALL(&t, IO, "[method]output-stream.blocking-write-and-flush", &r, cv_borrow(err),
                     cv_bytes("oops", 4)));
    bool cut;
    size_t len;
    const uint8_t *o = spry_wasi_output(wasip2_wasi(t.p2), 1, &len, &cut);
    ASSERT_EQ_UINT(len, 13);
    ASSERT_EQ_MEM(o, "hello world\0\0", 13);
    ASSERT_FALSE(cut);
    ASSERT_EQ_STR(captured(&t, 2, &cut), "oops");
    /* Every get-stdout is a new handle on the same stream. */
    uint32_t out2 = get_stdio(&t, 1);
    ASSERT_NE_UINT(out, out2);
    ASSERT_OK(P2CALL(&t, IO, "[method]output-stream.write", &r, cv_borrow(out2), cv_bytes("!", 1)));
    spry_wasi_output(wasip2_wasi(t.p2), 1, &len, &cut);
    ASSERT_EQ_UINT(len, 14);
    p2t_teardown(&t);
}

TEST(wasip2_io, blocking_writes_are_bounded_by_the_wit)
{
    struct p2t t;
    p2t_setup(&t, NULL);
    uint32_t out = get_stdio(&t, 1);
    static uint8_t big[4097];
    struct cval r;
    ASSERT_EQ_INT(P2CALL(&t, IO, "[method]output-stream.blocking-write-and-flush", &r,
                         cv_borrow(out), cv_bytes(big, sizeof big)),
                  SPRY_ETRAP);
    ASSERT_NOT_NULL(strstr(t.trap, "blocking-write-and-flush of 4097 bytes"));
    ASSERT_EQ_INT(P2CALL(&t, IO, "[method]output-stream.blocking-write-zeroes-and-flush", &r,
                         cv_borrow(out), cv_u64(4097)),
                  SPRY_ETRAP);
    ASSERT_EQ_INT(P2CALL(&t, IO, "[method]output-stream.write-zeroes", &r, cv_borrow(out),
                         cv_u64((uint64_t)1 << 40)),
                  SPRY_ETRAP);
    ASSERT_OK(P2CALL(&t, IO, "[method]output-stream.blocking-write-zeroes-and-flush", &r,
                     cv_borrow(out), cv_u64(4096)));
    ASSERT_TRUE(r_ok(&r));
    p2t_teardown(&t);
}

TEST(wasip2_io, captured_output_stops_at_its_bound_with_an_error)
{
    struct p2t t;
    struct spry_wasi_stdio stdio[3] = {{.kind = SPRY_WASI_STDIO_NULL},
                                       {.kind = SPRY_WASI_STDIO_BUFFER, .max = 8},
                                       {.kind = SPRY_WASI_STDIO_NULL}};
    struct p2t_options o = {.stdio = stdio};
    p2t_setup(&t, &o);
    uint32_t out = get_stdio(&t, 1);
    struct cval r;
    ASSERT_OK(P2CALL(&t, IO, "[method]output-stream.check-write", &r, cv_borrow(out)));
    ASSERT_EQ_UINT(r_val(&r)->of.u, 8);
    ASSERT_OK(P2CALL(&t, IO, "[method]output-stream.write", &r, cv_borrow(out),
                     cv_bytes("0123456789", 10)));
    uint32_t err;
    ASSERT_EQ_INT(r_stream_err(&r, &err), 0);
    bool cut;
    ASSERT_EQ_STR(captured(&t, 1, &cut), "01234567");
    ASSERT_TRUE(cut);
    /* The error says what happened, and is a filesystem error too. */
    ASSERT_OK(P2CALL(&t, "wasi:io/error", "[method]error.to-debug-string", &r, cv_borrow(err)));
    ASSERT_EQ_UINT(r.of.str.len, 6);
    ASSERT_EQ_MEM(r.of.str.ptr, "ENOSPC", 6);
    ASSERT_OK(P2CALL(&t, "wasi:filesystem/types", "filesystem-error-code", &r, cv_borrow(err)));
    ASSERT_EQ_UINT(r.of.var.disc, 1);
    ASSERT_EQ_UINT(r.of.var.payload->of.var.disc, FS_INSUFFICIENT_SPACE);
    ASSERT_OK(P2CALL(&t, "wasi:sockets/network", "network-error-code", &r, cv_borrow(err)));
    ASSERT_EQ_UINT(r.of.var.disc, 0);
    /* After a failure the stream is closed. */
    ASSERT_OK(P2CALL(&t, IO, "[method]output-stream.write", &r, cv_borrow(out), cv_bytes("x", 1)));
    ASSERT_EQ_INT(r_stream_err(&r, NULL), 1);
    ASSERT_OK(P2CALL(&t, IO, "[method]output-stream.check-write", &r, cv_borrow(out)));
    ASSERT_EQ_INT(r_stream_err(&r, NULL), 1);
    /* A new stream on the full buffer: check-write reports it. */
    uint32_t out2 = get_stdio(&t, 1);
    ASSERT_OK(P2CALL(&t, IO, "[method]output-stream.check-write", &r, cv_borrow(out2)));
    ASSERT_EQ_INT(r_stream_err(&r, NULL), 0);
    p2t_drop(&t, "wasi:io/error", "error", err);
    p2t_teardown(&t);
}

TEST(wasip2_io, stdin_from_bytes_reads_skips_and_closes)
{
    static const uint8_t input[] = "line one\nline two\n";
    struct p2t t;
    struct spry_wasi_stdio stdio[3] = {
        {.kind = SPRY_WASI_STDIO_BUFFER, .data = input, .len = sizeof input - 1},
        {.kind = SPRY_WASI_STDIO_BUFFER},
        {.kind = SPRY_WASI_STDIO_BUFFER}};
    struct p2t_options o = {.stdio = stdio};
    p2t_setup(&t, &o);
    uint32_t in = get_stdio(&t, 0), out = get_stdio(&t, 1);
    struct cval r;
    ASSERT_OK(P2CALL(&t, IO, "[method]input-stream.read", &r, cv_borrow(in), cv_u64(5)));
    ASSERT_EQ_UINT(r_val(&r)->of.raw.n, 5);
    ASSERT_EQ_MEM(r_val(&r)->of.raw.ptr, "line ", 5);
    ASSERT_OK(P2CALL(&t, IO, "[method]input-stream.read", &r, cv_borrow(in), cv_u64(0)));
    ASSERT_EQ_UINT(r_val(&r)->of.raw.n, 0);
    ASSERT_OK(P2CALL(&t, IO, "[method]input-stream.blocking-skip", &r, cv_borrow(in), cv_u64(4)));
    ASSERT_EQ_UINT(r_val(&r)->of.u, 4);
    /* splice moves the rest to stdout; a huge length is just a bound. */
    ASSERT_OK(P2CALL(&t, IO, "[method]output-stream.splice", &r, cv_borrow(out), cv_borrow(in),
                     cv_u64(UINT64_MAX)));
    ASSERT_EQ_UINT(r_val(&r)->of.u, 9);
    bool cut;
    ASSERT_EQ_STR(captured(&t, 1, &cut), "line two\n");
    ASSERT_OK(P2CALL(&t, IO, "[method]input-stream.blocking-read", &r, cv_borrow(in),
                     cv_u64(UINT64_MAX)));
    ASSERT_EQ_INT(r_stream_err(&r, NULL), 1);
    ASSERT_OK(P2CALL(&t, IO, "[method]output-stream.blocking-splice", &r, cv_borrow(out),
                     cv_borrow(in), cv_u64(10)));
    ASSERT_EQ_INT(r_stream_err(&r, NULL), 1);
    /* Input streams from memory are always ready. */
    ASSERT_OK(P2CALL(&t, IO, "[method]input-stream.subscribe", &r, cv_borrow(in)));
    uint32_t p = r.of.rep;
    ASSERT_OK(P2CALL(&t, POLL, "[method]pollable.ready", &r, cv_borrow(p)));
    ASSERT_TRUE(r.of.b);
    p2t_teardown(&t);
}

struct writer {
    int fd;
    unsigned delay_ms;
    const char *text;
};

static void *write_later(void *arg)
{
    const struct writer *w = arg;
    usleep(w->delay_ms * 1000u);
    ssize_t n = write(w->fd, w->text, strlen(w->text));
    (void)n;
    close(w->fd);
    return NULL;
}

TEST(wasip2_io, stdin_from_a_pipe_waits_for_data)
{
    int fds[2];
    ASSERT_EQ_INT(pipe(fds), 0);
    struct p2t t;
    struct spry_wasi_stdio stdio[3] = {{.kind = SPRY_WASI_STDIO_HOST_FD, .fd = fds[0]},
                                       {.kind = SPRY_WASI_STDIO_BUFFER},
                                       {.kind = SPRY_WASI_STDIO_BUFFER}};
    struct p2t_options o = {.stdio = stdio};
    p2t_setup(&t, &o);
    uint32_t in = get_stdio(&t, 0);
    struct cval r;
    /* Nothing there yet: an empty read, a pollable not ready. */
    ASSERT_OK(P2CALL(&t, IO, "[method]input-stream.read", &r, cv_borrow(in), cv_u64(100)));
    ASSERT_EQ_UINT(r_val(&r)->of.raw.n, 0);
    ASSERT_OK(P2CALL(&t, IO, "[method]input-stream.subscribe", &r, cv_borrow(in)));
    uint32_t p = r.of.rep;
    ASSERT_OK(P2CALL(&t, POLL, "[method]pollable.ready", &r, cv_borrow(p)));
    ASSERT_FALSE(r.of.b);
    /* A writer that shows up later: block, then read what it wrote. */
    struct writer w = {fds[1], 50, "data"};
    pthread_t th;
    uint64_t start = now_ns(); /* before the writer's sleep can begin */
    ASSERT_EQ_INT(pthread_create(&th, NULL, write_later, &w), 0);
    ASSERT_OK(P2CALL(&t, POLL, "[method]pollable.block", &r, cv_borrow(p)));
    ASSERT_GE_UINT(now_ns() - start, 50000000u);
    ASSERT_OK(P2CALL(&t, IO, "[method]input-stream.blocking-read", &r, cv_borrow(in), cv_u64(100)));
    ASSERT_EQ_UINT(r_val(&r)->of.raw.n, 4);
    ASSERT_EQ_MEM(r_val(&r)->of.raw.ptr, "data", 4);
    pthread_join(th, NULL);
    /* The writer closed its end: end of input. */
    ASSERT_OK(P2CALL(&t, IO, "[method]input-stream.blocking-read", &r, cv_borrow(in), cv_u64(100)));
    ASSERT_EQ_INT(r_stream_err(&r, NULL), 1);
    p2t_teardown(&t);
    close(fds[0]);
}

static uint32_t subscribe_duration(struct p2t *t, uint64_t ns)
{
    struct cval r;
    ASSERT_OK(P2CALL(t, MONO, "subscribe-duration", &r, cv_u64(ns)));
    return r.of.rep;
}

TEST(wasip2_io, poll_returns_the_ready_pollables)
{
    struct p2t t;
    p2t_setup(&t, NULL);
    /* Times are taken from before the subscription, so that a machine
     * slow to get from one line to the next shortens no bound. */
    uint64_t start = now_ns();
    uint32_t soon = subscribe_duration(&t, 30 * 1000000u);
    uint32_t later = subscribe_duration(&t, 60ull * 1000000000u);
    struct cval r;
    ASSERT_OK(P2CALL(&t, POLL, "[method]pollable.ready", &r, cv_borrow(soon)));
    if (now_ns() - start < 30 * 1000000u) /* asked before it was due (so, but on a stalled run) */
        ASSERT_FALSE(r.of.b);
    uint32_t list[] = {later, soon, later, soon};
    ASSERT_OK(P2CALL(&t, POLL, "poll", &r, cv_borrows(&t, list, 4)));
    ASSERT_GE_UINT(now_ns() - start, 30000000u);
    ASSERT_LT_UINT(now_ns() - start, 5000000000u);
    ASSERT_EQ_UINT(r.of.raw.n, 2); /* indexes 1 and 3, as u32 little-endian */
    const uint8_t *ix = r.of.raw.ptr;
    ASSERT_EQ_UINT(ix[0] | ix[1] << 8, 1);
    ASSERT_EQ_UINT(ix[4] | ix[5] << 8, 3);
    ASSERT_OK(P2CALL(&t, POLL, "[method]pollable.ready", &r, cv_borrow(soon)));
    ASSERT_TRUE(r.of.b);
    /* An instant in the past is ready at once; so is an output stream. */
    ASSERT_OK(P2CALL(&t, MONO, "subscribe-instant", &r, cv_u64(0)));
    uint32_t past = r.of.rep;
    ASSERT_OK(P2CALL(&t, POLL, "[method]pollable.block", &r, cv_borrow(past)));
    ASSERT_OK(P2CALL(&t, "wasi:io/streams", "[method]output-stream.subscribe", &r,
                     cv_borrow(get_stdio(&t, 1))));
    uint32_t outp = r.of.rep;
    uint32_t list2[] = {later, outp};
    ASSERT_OK(P2CALL(&t, POLL, "poll", &r, cv_borrows(&t, list2, 2)));
    ASSERT_EQ_UINT(r.of.raw.n, 1);
    ASSERT_EQ_UINT(((const uint8_t *)r.of.raw.ptr)[0], 1);
    /* A duration that would overflow saturates (never ready). */
    uint32_t never = subscribe_duration(&t, UINT64_MAX);
    ASSERT_OK(P2CALL(&t, POLL, "[method]pollable.ready", &r, cv_borrow(never)));
    ASSERT_FALSE(r.of.b);
    /* poll of nothing traps (as wasmtime). */
    ASSERT_EQ_INT(P2CALL(&t, POLL, "poll", &r, cv_borrows(&t, NULL, 0)), SPRY_ETRAP);
    ASSERT_NOT_NULL(strstr(t.trap, "empty list"));
    p2t_teardown(&t);
}

struct interrupter {
    struct spry_store *store;
    unsigned delay_ms;
};

static void *interrupt_later(void *arg)
{
    const struct interrupter *i = arg;
    usleep(i->delay_ms * 1000u);
    spry_store_interrupt(i->store);
    return NULL;
}

TEST(wasip2_io, a_blocked_guest_is_interrupted)
{
    struct p2t t;
    p2t_setup(&t, NULL);
    uint32_t hour = subscribe_duration(&t, 3600ull * 1000000000u);
    struct interrupter in = {t.store, 50};
    pthread_t th;
    uint64_t start = now_ns(); /* before the interrupter's sleep can begin */
    ASSERT_EQ_INT(pthread_create(&th, NULL, interrupt_later, &in), 0);
    struct cval r;
    ASSERT_EQ_INT(P2CALL(&t, POLL, "[method]pollable.block", &r, cv_borrow(hour)), SPRY_ETRAP);
    uint64_t took = now_ns() - start;
    pthread_join(th, NULL);
    ASSERT_GE_UINT(took, 50000000u);
    ASSERT_LT_UINT(took, 1000000000u);
    ASSERT_EQ_INT(t.store->trap.kind, SPRY_TRAP_INTERRUPTED);
    /* So is one blocked on stdin (a pipe nobody writes). */
    spry_store_clear_interrupt(t.store);
    p2t_teardown(&t);
    char cmd[13000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s'", t.box, t.box2, t.outside);
    ASSERT_EQ_INT(system(cmd), 0);

    int fds[2];
    ASSERT_EQ_INT(pipe(fds), 0);
    struct spry_wasi_stdio stdio[3] = {{.kind = SPRY_WASI_STDIO_HOST_FD, .fd = fds[0]},
                                       {.kind = SPRY_WASI_STDIO_BUFFER},
                                       {.kind = SPRY_WASI_STDIO_BUFFER}};
    struct p2t_options o = {.stdio = stdio};
    p2t_setup(&t, &o);
    uint32_t stdin_rep = get_stdio(&t, 0);
    in.store = t.store;
    ASSERT_EQ_INT(pthread_create(&th, NULL, interrupt_later, &in), 0);
    ASSERT_EQ_INT(
        P2CALL(&t, IO, "[method]input-stream.blocking-read", &r, cv_borrow(stdin_rep), cv_u64(10)),
        SPRY_ETRAP);
    pthread_join(th, NULL);
    ASSERT_EQ_INT(t.store->trap.kind, SPRY_TRAP_INTERRUPTED);
    p2t_teardown(&t);
    close(fds[0]);
    close(fds[1]);
}

TEST(wasip2_io, dropping_in_any_order_frees_everything)
{
    struct p2t t;
    p2t_setup(&t, NULL);
    ASSERT_EQ_UINT(wasip2_live_objects(t.p2), 0);
    uint32_t out = get_stdio(&t, 1);
    struct cval r;
    ASSERT_OK(P2CALL(&t, IO, "[method]output-stream.subscribe", &r, cv_borrow(out)));
    uint32_t p = r.of.rep;
    /* The stream goes first: the pollable keeps working. */
    p2t_drop(&t, IO, "output-stream", out);
    ASSERT_EQ_UINT(wasip2_live_objects(t.p2), 2);
    ASSERT_OK(P2CALL(&t, POLL, "[method]pollable.ready", &r, cv_borrow(p)));
    ASSERT_TRUE(r.of.b);
    /* ...but the stream's handle is gone. */
    ASSERT_EQ_INT(P2CALL(&t, IO, "[method]output-stream.flush", &r, cv_borrow(out)), SPRY_ETRAP);
    p2t_drop(&t, POLL, "pollable", p);
    ASSERT_EQ_UINT(wasip2_live_objects(t.p2), 0);
    /* A stale handle names nothing, even when its slot is reused. */
    uint32_t out2 = get_stdio(&t, 1);
    ASSERT_EQ_UINT(out2 & 0xffff, out & 0xffff);
    ASSERT_NE_UINT(out2, out);
    ASSERT_EQ_INT(P2CALL(&t, IO, "[method]output-stream.flush", &r, cv_borrow(out)), SPRY_ETRAP);
    ASSERT_NOT_NULL(strstr(t.trap, "invalid output-stream handle"));
    /* A handle of another type names nothing either. */
    ASSERT_EQ_INT(P2CALL(&t, POLL, "[method]pollable.ready", &r, cv_borrow(out2)), SPRY_ETRAP);
    /* A double drop changes nothing. */
    p2t_drop(&t, IO, "output-stream", out2);
    p2t_drop(&t, IO, "output-stream", out2);
    ASSERT_EQ_UINT(wasip2_live_objects(t.p2), 0);
    p2t_teardown(&t);
}

TEST(wasip2_io, the_handle_table_is_bounded)
{
    struct p2t t;
    p2t_setup(&t, NULL);
    t.p2->max_objs = 4;
    get_stdio(&t, 1);
    get_stdio(&t, 1);
    uint32_t third = get_stdio(&t, 1);
    struct cval r;
    /* get-directories needs two: it traps, leaving nothing behind. */
    ASSERT_EQ_INT(P2CALL0(&t, "wasi:filesystem/preopens", "get-directories", &r), SPRY_ETRAP);
    ASSERT_NOT_NULL(strstr(t.trap, "more than 4 live handles"));
    ASSERT_EQ_UINT(wasip2_live_objects(t.p2), 3);
    p2t_drop(&t, IO, "output-stream", third);
    uint32_t box = p2t_preopen(&t, 0);
    ASSERT_EQ_UINT(wasip2_live_objects(t.p2), 4);
    /* Functions with an error case report it instead of trapping. */
    ASSERT_OK(P2CALL(&t, "wasi:filesystem/types", "[method]descriptor.open-at", &r, cv_borrow(box),
                     cv_flags(0), cv_str("."), cv_flags(OF_DIRECTORY), cv_flags(DF_READ)));
    ASSERT_EQ_UINT(r_err(&r), FS_INSUFFICIENT_MEMORY);
    ASSERT_EQ_INT(P2CALL0(&t, "wasi:cli/stdout", "get-stdout", &r), SPRY_ETRAP);
    p2t_teardown(&t);
}

/* The first P2_INLINE_OBJECTS slots live inside the context; past them the
 * table moves to the heap, and every handle made before still names its
 * object (slots are kept, not pointers). */
TEST(wasip2_io, the_object_table_outgrows_its_inline_slots)
{
    struct p2t t;
    p2t_setup(&t, NULL);
    enum { N = 3 * P2_INLINE_OBJECTS + 1 };
    uint32_t reps[N];
    for (uint32_t i = 0; i < N; i++) {
        if (i == P2_INLINE_OBJECTS)
            ASSERT_TRUE(t.p2->objs == t.p2->inline_objs);
        reps[i] = get_stdio(&t, 1 + (int)(i % 2));
        ASSERT_EQ_UINT(reps[i] & 0xffff, i + 1);
    }
    ASSERT_TRUE(t.p2->objs != t.p2->inline_objs);
    ASSERT_EQ_UINT(wasip2_live_objects(t.p2), N);
    for (uint32_t i = 0; i < N; i++) {
        struct p2_obj *o = p2_get(t.p2, reps[i], P2_OUTPUT, NULL);
        ASSERT_NOT_NULL(o);
        ASSERT_EQ_UINT(o->u.stream.stdio, 1 + i % 2);
    }
    /* Dropping one frees its slot for the next object, with a new rep. */
    p2t_drop(&t, IO, "output-stream", reps[3]);
    ASSERT_NULL(p2_get(t.p2, reps[3], P2_OUTPUT, NULL));
    uint32_t again = get_stdio(&t, 1);
    ASSERT_EQ_UINT(again & 0xffff, reps[3] & 0xffff);
    ASSERT_NE_UINT(again, reps[3]);
    p2t_teardown(&t); /* frees the heap table (asan) */
}

/* An embedder's pollable with a wake fd: a waiting poll sleeps on the fd
 * (asking ready() once per wake-up or per 10 ms interrupt check) instead
 * of every millisecond, a wake-up with nothing ready puts it back to
 * sleep, and a change it is woken for ends the wait. */
struct waker {
    int fd;
    atomic_bool flag;
    atomic_uint asked;
    atomic_uint armed;
};

static bool waker_ready(void *user)
{
    struct waker *w = user;
    atomic_fetch_add(&w->asked, 1);
    return atomic_load(&w->flag);
}

static int waker_fd(void *user)
{
    struct waker *w = user;
    uint64_t v;
    ssize_t n = read(w->fd, &v, sizeof v); /* re-armed: emptied */
    (void)n;
    atomic_fetch_add(&w->armed, 1);
    return w->fd;
}

static void *wake_later(void *arg)
{
    struct waker *w = arg;
    uint64_t one = 1;
    /* From when the poll has armed the fd (it waits), not from when this
     * thread started: a loaded machine may start the poll late. */
    while (atomic_load(&w->armed) == 0)
        usleep(1000);
    usleep(60 * 1000);
    ssize_t n = write(w->fd, &one, sizeof one); /* nothing changed: asleep again */
    usleep(140 * 1000);
    atomic_store(&w->flag, true);
    n = write(w->fd, &one, sizeof one);
    (void)n;
    return NULL;
}

TEST(wasip2_io, a_pollable_with_a_wake_fd_sleeps_until_it_is_woken)
{
    struct p2t t;
    p2t_setup(&t, NULL);
    struct waker w = {.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    ASSERT_GE_INT(w.fd, 0);
    atomic_init(&w.flag, false);
    atomic_init(&w.asked, 0);
    atomic_init(&w.armed, 0);
    uint32_t p;
    ASSERT_OK(wasip2_pollable_create_fd(t.p2, waker_ready, waker_fd, &w, &p));
    struct cval r;
    ASSERT_OK(P2CALL(&t, POLL, "[method]pollable.ready", &r, cv_borrow(p)));
    ASSERT_FALSE(r.of.b);
    atomic_store(&w.asked, 0);
    atomic_store(&w.armed, 0);
    pthread_t th;
    uint64_t start = now_ns();
    ASSERT_EQ_INT(pthread_create(&th, NULL, wake_later, &w), 0);
    ASSERT_OK(P2CALL(&t, POLL, "[method]pollable.block", &r, cv_borrow(p)));
    uint64_t elapsed = now_ns() - start;
    pthread_join(th, NULL);
    ASSERT_TRUE(atomic_load(&w.flag)); /* it returned for the change */
    ASSERT_GE_UINT(atomic_load(&w.armed), 2);
    /* Two questions a wake-up (the stale one, the real one) or a 10 ms
     * slice, and the first look: asked every millisecond it would be
     * about 2 * elapsed / 1 ms. */
    unsigned bound = 2 * (unsigned)(elapsed / (10 * 1000000u)) + 8;
    if (atomic_load(&w.asked) > bound)
        fprintf(stderr, "asked %u times in %llu ms\n", atomic_load(&w.asked),
                (unsigned long long)(elapsed / 1000000u));
    ASSERT_LE_UINT(atomic_load(&w.asked), bound);
    p2t_drop(&t, POLL, "pollable", p);
    close(w.fd);
    p2t_teardown(&t);
}

/*
 * wasi:io/error and wasi:io/streams.
 *
 * Streams are stdio (the preview-1 context's guest fds 0-2, so buffering,
 * capture and its bound are preview 1's, docs/wasi.md "Stdio") or a file
 * descriptor's data at an offset (read-via-stream, write-via-stream) or
 * at its end (append-via-stream).
 *  - Reads return at most P2_READ_CHUNK bytes. A non-blocking read of
 *    stdin from a host fd returns what poll(2) says is there (possibly
 *    nothing); a blocking one waits (interruptibly). End of input is
 *    `closed`.
 *  - Writes happen at once (files with pwrite; stdio into preview 1's
 *    buffer), so output streams are always ready and check-write grants
 *    P2_WRITE_BUDGET (for captured output: at most the room left).
 *    `flush`/`blocking-write-and-flush` keep preview 1's buffering rules
 *    for stdio (a terminal is written at once; otherwise when the buffer
 *    fills, before stdin is read or the guest blocks, and at exit);
 *    `blocking-flush` writes the buffer out.
 *  - An error is reported once as last-operation-failed(error); the
 *    stream is closed after it (as wasmtime). Captured output that does not
 *    fit fails with ENOSPC after keeping what fits.
 *  - blocking-write-and-flush and blocking-write-zeroes-and-flush of more
 *    than 4096 bytes trap (the WIT's limit; wasmtime traps too), and so
 *    does write-zeroes beyond what check-write grants.
 */
#include "base/alloc.h"
#include "component/wasip2/p2.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *const errno_names[] = {
#define P2_ERRNO_NAME(name, value) [value] = "E" #name,
    WASI_ERRNO_LIST(P2_ERRNO_NAME)
#undef P2_ERRNO_NAME
};

/* ---- wasi:io/error ---- */

static int error_to_debug_string(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasip2 *ctx;
    int rc = p2_ctx(call, &ctx);
    if (rc != 0)
        return rc;
    struct p2_obj *o = p2_get(ctx, args[0].of.rep, P2_ERROR, NULL);
    if (o == NULL)
        return p2_bad_handle(call, "error");
    char text[160];
    int we = o->u.error.wasi_errno;
    const char *name = we >= 0 && (size_t)we < sizeof errno_names / sizeof errno_names[0] &&
                               errno_names[we] != NULL
                           ? errno_names[we]
                           : "EIO";
    if (o->u.error.host_errno != 0)
        snprintf(text, sizeof text, "%s (os error %d, %s)", strerror(o->u.error.host_errno),
                 o->u.error.host_errno, name);
    else
        snprintf(text, sizeof text, "%s", name);
    return p2_string(call, text, strlen(text), result);
}

static const struct chost_resource error_resources[] = {{"error", p2_drop}};
static const struct chost_func error_funcs[] = {
    {"[method]error.to-debug-string", error_to_debug_string},
};

const struct chost_iface p2_iface_io_error = {
    .name = "wasi:io/error",
    .version = WASIP2_VERSION,
    .wit = "resource error {\n"
           "    to-debug-string: func() -> string;\n"
           "}\n",
    .resources = error_resources,
    .nresources = 1,
    .funcs = error_funcs,
    .nfuncs = 1,
};

/* ---- stream errors ---- */

int p2_stream_closed(struct ccall *call, struct cval *result)
{
    struct cval *e = p2_vals(call, 1);
    if (e == NULL)
        return p2_oom(call);
    e->kind = CT_VARIANT;
    e->of.var.disc = 1; /* closed */
    result->kind = CT_RESULT;
    result->of.var.disc = 1;
    result->of.var.payload = e;
    return 0;
}

int p2_stream_failed(struct ccall *call, struct wasip2 *ctx, struct cval *result, int wasi_errno,
                     int host_errno)
{
    struct cval *v = p2_vals(call, 2);
    if (v == NULL)
        return p2_oom(call);
    uint32_t slot;
    int rc = p2_new_own(call, ctx, P2_ERROR, 0, &slot, &v[1]);
    if (rc != 0)
        return rc;
    ctx->objs[slot].u.error.wasi_errno = wasi_errno;
    ctx->objs[slot].u.error.host_errno = host_errno;
    v[0].kind = CT_VARIANT;
    v[0].of.var.disc = 0; /* last-operation-failed(error) */
    v[0].of.var.payload = &v[1];
    result->kind = CT_RESULT;
    result->of.var.disc = 1;
    result->of.var.payload = &v[0];
    return 0;
}

/* ---- reading and writing ---- */

enum { IO_OK, IO_CLOSED, IO_FAILED };

struct io_res {
    int status; /* IO_* */
    size_t n;   /* IO_OK: bytes moved */
    int wasi_errno, host_errno;
};

static void io_fail_host(struct io_res *r, int e)
{
    r->status = IO_FAILED;
    r->host_errno = e;
    r->wasi_errno = wasi_errno_from_host(e);
}

/* Reads at most cap bytes from input stream `slot` into buf. Returns 0 or
 * a trap (interrupted while blocking). */
static int in_read(struct ccall *call, struct wasip2 *ctx, uint32_t slot, uint8_t *buf, size_t cap,
                   bool block, struct io_res *r)
{
    memset(r, 0, sizeof *r);
    struct p2_obj *s = &ctx->objs[slot];
    if (s->u.stream.closed) {
        r->status = IO_CLOSED;
        return 0;
    }
    ssize_t got;
    if (s->u.stream.how == P2_STREAM_CUSTOM) {
        size_t n = 0;
        int st = s->u.stream.ops->read(s->u.stream.user, buf, cap, block, &n);
        if (block && call->store != NULL) {
            int rc = spry_store_check_interrupt(call->store);
            if (rc != 0)
                return rc;
        }
        s = &ctx->objs[slot];
        if (st != WASIP2_IO_OK) {
            r->status = st == WASIP2_IO_CLOSED ? IO_CLOSED : IO_FAILED;
            r->wasi_errno = WASI_EIO;
            s->u.stream.closed = true;
            return 0;
        }
        r->n = n;
        return 0;
    }
    if (s->u.stream.how == P2_STREAM_STDIO) {
        struct spry_wasi *w = ctx->wasi;
        struct wasi_fd *f = &w->fds[0];
        if (f->stream != NULL) {
            struct iovec iov = {.iov_base = buf, .iov_len = cap};
            size_t n = 0;
            int e = wasi_stream_read(w, f->stream, &iov, 1, &n);
            if (e != 0) {
                r->status = IO_FAILED;
                r->wasi_errno = e;
                return 0;
            }
            got = (ssize_t)n;
        } else {
            if (block) {
                int rc = p2_wait_stdin(call, ctx);
                if (rc != 0)
                    return rc;
            } else {
                wasi_streams_flush(w, NULL);
                struct pollfd pfd = {.fd = f->host, .events = POLLIN};
                if (cap > 0 && poll(&pfd, 1, 0) == 0)
                    return 0; /* nothing there yet */
            }
            do
                got = read(f->host, buf, cap);
            while (got < 0 && errno == EINTR && block);
            if (got < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        }
    } else {
        const struct p2_obj *d = &ctx->objs[s->parent - 1];
        do
            got = pread(d->u.desc.fd, buf, cap, (off_t)s->u.stream.offset);
        while (got < 0 && errno == EINTR);
    }
    s = &ctx->objs[slot];
    if (got < 0) {
        io_fail_host(r, errno);
        s->u.stream.closed = true;
        return 0;
    }
    if (got == 0 && cap > 0) {
        r->status = IO_CLOSED;
        s->u.stream.closed = true;
        return 0;
    }
    if (s->u.stream.how == P2_STREAM_FILE)
        s->u.stream.offset += (uint64_t)got;
    r->n = (size_t)got;
    return 0;
}

/* pwrite (or an append) of all of [p, p+n); host errno or 0. */
static int file_write(int fd, const uint8_t *p, size_t n, bool append, uint64_t *offset)
{
    while (n > 0) {
        ssize_t put;
        if (append) {
            struct iovec iov = {.iov_base = (void *)p, .iov_len = n};
            put = pwritev2(fd, &iov, 1, -1, RWF_APPEND);
            if (put < 0 && (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL)) {
                /* Older kernels: position at the end, then write there. */
                off_t end = lseek(fd, 0, SEEK_END);
                put = end < 0 ? -1 : pwrite(fd, p, n, end);
            }
        } else {
            if (*offset > INT64_MAX)
                return EFBIG;
            put = pwrite(fd, p, n, (off_t)*offset);
        }
        if (put < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        p += put;
        n -= (size_t)put;
        if (!append)
            *offset += (uint64_t)put;
    }
    return 0;
}

static int out_write(struct wasip2 *ctx, uint32_t slot, const uint8_t *p, size_t n,
                     struct io_res *r)
{
    memset(r, 0, sizeof *r);
    struct p2_obj *s = &ctx->objs[slot];
    if (s->u.stream.closed) {
        r->status = IO_CLOSED;
        return 0;
    }
    if (s->u.stream.how == P2_STREAM_CUSTOM) {
        int st = n == 0 ? WASIP2_IO_OK : s->u.stream.ops->write(s->u.stream.user, p, n);
        if (st != WASIP2_IO_OK) {
            r->status = st == WASIP2_IO_CLOSED ? IO_CLOSED : IO_FAILED;
            r->wasi_errno = WASI_EIO;
            s->u.stream.closed = true;
            return 0;
        }
        r->n = n;
        return 0;
    }
    if (s->u.stream.how == P2_STREAM_STDIO) {
        struct spry_wasi *w = ctx->wasi;
        struct iovec iov = {.iov_base = (void *)p, .iov_len = n};
        size_t written = 0;
        int e =
            n == 0 ? 0 : wasi_stream_write(w, &w->streams[s->u.stream.stdio], &iov, 1, &written);
        if (e == 0 && written < n)
            e = WASI_ENOSPC; /* captured output is full: what fit was kept */
        if (e != 0) {
            r->status = IO_FAILED;
            r->wasi_errno = e;
            s->u.stream.closed = true;
        }
        r->n = written;
        return 0;
    }
    const struct p2_obj *d = &ctx->objs[s->parent - 1];
    int e =
        file_write(d->u.desc.fd, p, n, s->u.stream.how == P2_STREAM_APPEND, &s->u.stream.offset);
    if (e != 0) {
        io_fail_host(r, e);
        s->u.stream.closed = true;
    }
    r->n = n;
    return 0;
}

/* The stream-error result for a failed or closed io_res. */
static int io_error(struct ccall *call, struct wasip2 *ctx, const struct io_res *r,
                    struct cval *result)
{
    if (r->status == IO_CLOSED)
        return p2_stream_closed(call, result);
    return p2_stream_failed(call, ctx, result, r->wasi_errno, r->host_errno);
}

static int stream_arg(struct ccall *call, struct wasip2 **ctx, const struct cval *arg, uint8_t kind,
                      uint32_t *slot)
{
    int rc = p2_ctx(call, ctx);
    if (rc != 0)
        return rc;
    if (p2_get(*ctx, arg->of.rep, kind, slot) == NULL)
        return p2_bad_handle(call, kind == P2_INPUT ? "input-stream" : "output-stream");
    return 0;
}

static size_t chunk(uint64_t len)
{
    return len < P2_READ_CHUNK ? (size_t)len : P2_READ_CHUNK;
}

/* ---- input-stream ---- */

static int read_common(struct ccall *call, const struct cval *args, struct cval *result, bool block)
{
    struct wasip2 *ctx;
    uint32_t slot;
    int rc = stream_arg(call, &ctx, &args[0], P2_INPUT, &slot);
    if (rc != 0)
        return rc;
    size_t cap = chunk(args[1].of.u);
    uint8_t *buf = spry_arena_alloc(call->arena, cap == 0 ? 1 : cap);
    if (buf == NULL)
        return p2_oom(call);
    struct io_res r;
    rc = in_read(call, ctx, slot, buf, cap, block, &r);
    if (rc != 0)
        return rc;
    if (r.status != IO_OK)
        return io_error(call, ctx, &r, result);
    struct cval list = {.kind = CT_LIST, .of.raw = {buf, r.n}};
    return p2_ok(call, result, &list);
}

static int input_read(struct ccall *call, const struct cval *args, struct cval *result)
{
    return read_common(call, args, result, false);
}

static int input_blocking_read(struct ccall *call, const struct cval *args, struct cval *result)
{
    return read_common(call, args, result, true);
}

static int skip_common(struct ccall *call, const struct cval *args, struct cval *result, bool block)
{
    struct wasip2 *ctx;
    uint32_t slot;
    int rc = stream_arg(call, &ctx, &args[0], P2_INPUT, &slot);
    if (rc != 0)
        return rc;
    size_t cap = chunk(args[1].of.u);
    uint8_t *buf = spry_malloc(cap == 0 ? 1 : cap);
    if (buf == NULL)
        return p2_oom(call);
    struct io_res r;
    rc = in_read(call, ctx, slot, buf, cap, block, &r);
    spry_free(buf);
    if (rc != 0)
        return rc;
    if (r.status != IO_OK)
        return io_error(call, ctx, &r, result);
    struct cval n;
    p2_u64(&n, r.n);
    return p2_ok(call, result, &n);
}

static int input_skip(struct ccall *call, const struct cval *args, struct cval *result)
{
    return skip_common(call, args, result, false);
}

static int input_blocking_skip(struct ccall *call, const struct cval *args, struct cval *result)
{
    return skip_common(call, args, result, true);
}

static int subscribe(struct ccall *call, const struct cval *args, struct cval *result, uint8_t kind)
{
    struct wasip2 *ctx;
    uint32_t slot, p;
    int rc = stream_arg(call, &ctx, &args[0], kind, &slot);
    if (rc == 0)
        rc = p2_new_own(call, ctx, P2_POLLABLE, slot + 1, &p, result);
    if (rc == 0)
        ctx->objs[p].u.poll.how = P2_POLL_PARENT;
    return rc;
}

static int input_subscribe(struct ccall *call, const struct cval *args, struct cval *result)
{
    return subscribe(call, args, result, P2_INPUT);
}

/* ---- output-stream ---- */

/* What check-write grants now: 0 and *r set when the stream cannot take
 * more. */
static uint64_t budget(struct wasip2 *ctx, uint32_t slot, struct io_res *r)
{
    memset(r, 0, sizeof *r);
    struct p2_obj *s = &ctx->objs[slot];
    if (s->u.stream.closed) {
        r->status = IO_CLOSED;
        return 0;
    }
    if (s->u.stream.how == P2_STREAM_CUSTOM && s->u.stream.ops->check_write != NULL) {
        uint64_t n = s->u.stream.ops->check_write(s->u.stream.user);
        return n < P2_WRITE_BUDGET ? n : P2_WRITE_BUDGET;
    }
    if (s->u.stream.how == P2_STREAM_STDIO) {
        struct wasi_stream *ws = &ctx->wasi->streams[s->u.stream.stdio];
        if (ws->kind == WASI_STREAM_OUT_CAPTURE) {
            size_t room = ws->buf.max - ws->buf.len;
            if (room == 0) {
                ws->truncated = true;
                r->status = IO_FAILED;
                r->wasi_errno = WASI_ENOSPC;
                s->u.stream.closed = true;
                return 0;
            }
            return room < P2_WRITE_BUDGET ? room : P2_WRITE_BUDGET;
        }
    }
    return P2_WRITE_BUDGET;
}

static int output_check_write(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasip2 *ctx;
    uint32_t slot;
    int rc = stream_arg(call, &ctx, &args[0], P2_OUTPUT, &slot);
    if (rc != 0)
        return rc;
    struct io_res r;
    uint64_t n = budget(ctx, slot, &r);
    if (r.status != IO_OK)
        return io_error(call, ctx, &r, result);
    struct cval v;
    p2_u64(&v, n);
    return p2_ok(call, result, &v);
}

static int write_common(struct ccall *call, const struct cval *args, struct cval *result,
                        bool blocking)
{
    struct wasip2 *ctx;
    uint32_t slot;
    int rc = stream_arg(call, &ctx, &args[0], P2_OUTPUT, &slot);
    if (rc != 0)
        return rc;
    size_t n = args[1].of.raw.n;
    if (blocking && n > P2_BLOCKING_MAX)
        return ccall_trap(call,
                          "wasi: blocking-write-and-flush of %zu bytes (at most %d are allowed)", n,
                          P2_BLOCKING_MAX);
    struct io_res r;
    out_write(ctx, slot, args[1].of.raw.ptr, n, &r);
    if (r.status != IO_OK)
        return io_error(call, ctx, &r, result);
    return p2_ok(call, result, NULL);
}

static int output_write(struct ccall *call, const struct cval *args, struct cval *result)
{
    return write_common(call, args, result, false);
}

static int output_blocking_write_and_flush(struct ccall *call, const struct cval *args,
                                           struct cval *result)
{
    return write_common(call, args, result, true);
}

static int flush_common(struct ccall *call, const struct cval *args, struct cval *result,
                        bool blocking)
{
    struct wasip2 *ctx;
    uint32_t slot;
    int rc = stream_arg(call, &ctx, &args[0], P2_OUTPUT, &slot);
    if (rc != 0)
        return rc;
    const struct p2_obj *s = &ctx->objs[slot];
    if (s->u.stream.closed)
        return p2_stream_closed(call, result);
    if (blocking && s->u.stream.how == P2_STREAM_STDIO)
        wasi_streams_flush(ctx->wasi, NULL); /* a failure shows at the next write */
    return p2_ok(call, result, NULL);
}

static int output_flush(struct ccall *call, const struct cval *args, struct cval *result)
{
    return flush_common(call, args, result, false);
}

static int output_blocking_flush(struct ccall *call, const struct cval *args, struct cval *result)
{
    return flush_common(call, args, result, true);
}

static int output_subscribe(struct ccall *call, const struct cval *args, struct cval *result)
{
    return subscribe(call, args, result, P2_OUTPUT);
}

static int zeroes_common(struct ccall *call, const struct cval *args, struct cval *result,
                         bool blocking)
{
    static const uint8_t zeroes[4096];
    struct wasip2 *ctx;
    uint32_t slot;
    int rc = stream_arg(call, &ctx, &args[0], P2_OUTPUT, &slot);
    if (rc != 0)
        return rc;
    uint64_t len = args[1].of.u;
    uint64_t max = blocking ? P2_BLOCKING_MAX : P2_WRITE_BUDGET;
    if (len > max)
        return ccall_trap(call, "wasi: %s of %llu bytes (at most %llu are allowed)",
                          blocking ? "blocking-write-zeroes-and-flush" : "write-zeroes",
                          (unsigned long long)len, (unsigned long long)max);
    if (ctx->objs[slot].u.stream.closed)
        return p2_stream_closed(call, result);
    struct io_res r = {0};
    while (len > 0 && r.status == IO_OK) {
        size_t n = len < sizeof zeroes ? (size_t)len : sizeof zeroes;
        out_write(ctx, slot, zeroes, n, &r);
        len -= n;
    }
    if (r.status != IO_OK)
        return io_error(call, ctx, &r, result);
    return p2_ok(call, result, NULL);
}

static int output_write_zeroes(struct ccall *call, const struct cval *args, struct cval *result)
{
    return zeroes_common(call, args, result, false);
}

static int output_blocking_write_zeroes_and_flush(struct ccall *call, const struct cval *args,
                                                  struct cval *result)
{
    return zeroes_common(call, args, result, true);
}

/* splice: read up to min(len, check-write's grant, P2_READ_CHUNK) from the
 * input, write it all; errors of either stream are reported (wasmtime). */
static int splice_common(struct ccall *call, const struct cval *args, struct cval *result,
                         bool block)
{
    struct wasip2 *ctx;
    uint32_t out, in;
    int rc = stream_arg(call, &ctx, &args[0], P2_OUTPUT, &out);
    if (rc == 0)
        rc = stream_arg(call, &ctx, &args[1], P2_INPUT, &in);
    if (rc != 0)
        return rc;
    struct io_res r;
    uint64_t grant = budget(ctx, out, &r);
    if (r.status != IO_OK)
        return io_error(call, ctx, &r, result);
    uint64_t len = args[2].of.u < grant ? args[2].of.u : grant;
    size_t cap = chunk(len);
    uint8_t *buf = spry_malloc(cap == 0 ? 1 : cap);
    if (buf == NULL)
        return p2_oom(call);
    rc = in_read(call, ctx, in, buf, cap, block, &r);
    if (rc == 0 && r.status == IO_OK && r.n > 0)
        out_write(ctx, out, buf, r.n, &r);
    spry_free(buf);
    if (rc != 0)
        return rc;
    if (r.status != IO_OK)
        return io_error(call, ctx, &r, result);
    struct cval v;
    p2_u64(&v, r.n);
    return p2_ok(call, result, &v);
}

static int output_splice(struct ccall *call, const struct cval *args, struct cval *result)
{
    return splice_common(call, args, result, false);
}

static int output_blocking_splice(struct ccall *call, const struct cval *args, struct cval *result)
{
    return splice_common(call, args, result, true);
}

static const struct chost_resource stream_resources[] = {
    {"input-stream", p2_drop},
    {"output-stream", p2_drop},
};

static const struct chost_func stream_funcs[] = {
    {"[method]input-stream.read", input_read},
    {"[method]input-stream.blocking-read", input_blocking_read},
    {"[method]input-stream.skip", input_skip},
    {"[method]input-stream.blocking-skip", input_blocking_skip},
    {"[method]input-stream.subscribe", input_subscribe},
    {"[method]output-stream.check-write", output_check_write},
    {"[method]output-stream.write", output_write},
    {"[method]output-stream.blocking-write-and-flush", output_blocking_write_and_flush},
    {"[method]output-stream.flush", output_flush},
    {"[method]output-stream.blocking-flush", output_blocking_flush},
    {"[method]output-stream.subscribe", output_subscribe},
    {"[method]output-stream.write-zeroes", output_write_zeroes},
    {"[method]output-stream.blocking-write-zeroes-and-flush",
     output_blocking_write_zeroes_and_flush},
    {"[method]output-stream.splice", output_splice},
    {"[method]output-stream.blocking-splice", output_blocking_splice},
};

const struct chost_iface p2_iface_io_streams = {
    .name = "wasi:io/streams",
    .version = WASIP2_VERSION,
    .wit = "use error.{error};\n"
           "use poll.{pollable};\n"
           "variant stream-error {\n"
           "    last-operation-failed(error),\n"
           "    closed,\n"
           "}\n"
           "resource input-stream {\n"
           "    read: func(len: u64) -> result<list<u8>, stream-error>;\n"
           "    blocking-read: func(len: u64) -> result<list<u8>, stream-error>;\n"
           "    skip: func(len: u64) -> result<u64, stream-error>;\n"
           "    blocking-skip: func(len: u64) -> result<u64, stream-error>;\n"
           "    subscribe: func() -> pollable;\n"
           "}\n"
           "resource output-stream {\n"
           "    check-write: func() -> result<u64, stream-error>;\n"
           "    write: func(contents: list<u8>) -> result<_, stream-error>;\n"
           "    blocking-write-and-flush: func(contents: list<u8>) -> result<_, stream-error>;\n"
           "    flush: func() -> result<_, stream-error>;\n"
           "    blocking-flush: func() -> result<_, stream-error>;\n"
           "    subscribe: func() -> pollable;\n"
           "    write-zeroes: func(len: u64) -> result<_, stream-error>;\n"
           "    blocking-write-zeroes-and-flush: func(len: u64) -> result<_, stream-error>;\n"
           "    splice: func(src: borrow<input-stream>, len: u64) -> result<u64, stream-error>;\n"
           "    blocking-splice: func(src: borrow<input-stream>, len: u64)\n"
           "        -> result<u64, stream-error>;\n"
           "}\n",
    .resources = stream_resources,
    .nresources = 2,
    .funcs = stream_funcs,
    .nfuncs = sizeof stream_funcs / sizeof stream_funcs[0],
};

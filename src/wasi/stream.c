/*
 * Guest stdio that is not a plain host fd: output buffered for a host fd,
 * output captured in memory (bounded), input from a byte buffer.
 *
 * Buffering rule (docs/wasi.md): output to a host fd waits in an 8 KiB
 * buffer and is written when the buffer would overflow, when another
 * stream is written (so stdout and stderr interleave as the guest wrote
 * them), before the guest reads stdin or blocks in poll_oneoff, after
 * every fd_write when the fd is a terminal, and at spry_wasi_flush (exit,
 * trap, destroy).
 */
#include "base/alloc.h"
#include "wasi/abi.h"
#include "wasi/ctx.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Writes all of [p, p+n) to fd; host errno or 0. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t got = write(fd, p, n);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

static int stream_flush(struct wasi_stream *s)
{
    if (s->kind != WASI_STREAM_OUT_HOST || s->buf.len == 0)
        return 0;
    int err = write_all(s->fd, s->buf.data, s->buf.len);
    spry_buf_reset(&s->buf);
    if (err != 0 && s->error == 0)
        s->error = err;
    return err;
}

int wasi_streams_flush(struct spry_wasi *w, const struct wasi_stream *keep)
{
    int first = 0;
    for (int i = 0; i < 3; i++) {
        if (&w->streams[i] == keep)
            continue;
        int err = stream_flush(&w->streams[i]);
        if (err != 0 && first == 0)
            first = err;
    }
    return first;
}

static size_t iov_total(const struct iovec *iov, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len; /* wasi_iovecs caps the sum at WASI_IO_MAX */
    return total;
}

static int write_host(struct wasi_stream *s, const struct iovec *iov, int n, size_t *written)
{
    size_t total = iov_total(iov, n);
    if (s->buf.len + total > WASI_STREAM_BUFFER) {
        int err = stream_flush(s);
        if (err != 0) {
            s->error = 0; /* reported now */
            return wasi_errno_from_host(err);
        }
    }
    if (total > WASI_STREAM_BUFFER) {
        for (int i = 0; i < n; i++) {
            int err = write_all(s->fd, iov[i].iov_base, iov[i].iov_len);
            if (err != 0)
                return wasi_errno_from_host(err);
        }
    } else {
        for (int i = 0; i < n; i++) {
            if (spry_buf_append(&s->buf, iov[i].iov_base, iov[i].iov_len) != 0)
                return WASI_ENOMEM;
        }
        if (s->tty) {
            /* The bytes are accepted; a failure is reported by the next write. */
            stream_flush(s);
        }
    }
    *written = total;
    return 0;
}

static int write_capture(struct wasi_stream *s, const struct iovec *iov, int n, size_t *written)
{
    size_t room = s->buf.max - s->buf.len, total = 0;
    if (room == 0 && iov_total(iov, n) > 0) {
        s->truncated = true;
        return WASI_ENOSPC;
    }
    for (int i = 0; i < n && room > 0; i++) {
        size_t take = iov[i].iov_len < room ? iov[i].iov_len : room;
        if (spry_buf_append(&s->buf, iov[i].iov_base, take) != 0)
            break;
        room -= take;
        total += take;
        if (take < iov[i].iov_len)
            s->truncated = true;
    }
    if (total == 0 && iov_total(iov, n) > 0)
        return WASI_ENOMEM;
    *written = total;
    return 0;
}

int wasi_stream_write(struct spry_wasi *w, struct wasi_stream *s, const struct iovec *iov, int n,
                      size_t *written)
{
    if (s->kind == WASI_STREAM_IN_BYTES)
        return WASI_EBADF;
    if (s->kind == WASI_STREAM_NULL) {
        *written = iov_total(iov, n);
        return 0;
    }
    /* Output written earlier to the other stream goes first. */
    wasi_streams_flush(w, s);
    if (s->kind == WASI_STREAM_OUT_CAPTURE)
        return write_capture(s, iov, n, written);
    if (s->error != 0) {
        int err = s->error;
        s->error = 0;
        return wasi_errno_from_host(err);
    }
    return write_host(s, iov, n, written);
}

int wasi_stream_read(struct spry_wasi *w, struct wasi_stream *s, const struct iovec *iov, int n,
                     size_t *nread)
{
    if (s->kind == WASI_STREAM_OUT_HOST || s->kind == WASI_STREAM_OUT_CAPTURE)
        return WASI_EBADF;
    wasi_streams_flush(w, NULL);
    size_t total = 0;
    if (s->kind == WASI_STREAM_IN_BYTES) {
        for (int i = 0; i < n && s->in_pos < s->in_len; i++) {
            size_t left = s->in_len - s->in_pos;
            size_t take = iov[i].iov_len < left ? iov[i].iov_len : left;
            memcpy(iov[i].iov_base, s->in + s->in_pos, take);
            s->in_pos += take;
            total += take;
        }
    }
    *nread = total;
    return 0;
}

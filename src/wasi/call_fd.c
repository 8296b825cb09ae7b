/*
 * fd_* calls on open descriptors: I/O, seeking, flags, rights, filestat,
 * sync, close and renumber. Directory listing and prestat are in
 * call_dir.c.
 */
#include "wasi/ctx.h"
#include "wasi/funcs.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* The WASI errno for the host errno of the call that just failed. */
static int host_errno(void)
{
    return wasi_errno_from_host(errno);
}

int wasi_fd_read(struct wasi_call *c)
{
    struct wasi_fd *f;
    struct iovec iov[WASI_IOV_MAX];
    uint64_t total;
    uint32_t n = wasi_arg32(c, 2), out = wasi_arg32(c, 3);
    int rc = wasi_fd_get(c->wasi, wasi_arg32(c, 0), WASI_RIGHT_FD_READ, &f);
    if (rc == 0)
        rc = wasi_iovecs(c, wasi_arg32(c, 1), n, iov, &total);
    if (rc == 0)
        rc = wasi_out_ok(c, out, 4);
    if (rc != 0)
        return rc;
    size_t got;
    if (f->stream != NULL) {
        rc = wasi_stream_read(c->wasi, f->stream, iov, (int)n, &got);
        if (rc != 0)
            return rc;
    } else {
        if (!f->owned)
            wasi_streams_flush(c->wasi, NULL); /* a prompt shows before stdin blocks */
        ssize_t r;
        do
            r = readv(f->host, iov, (int)n);
        while (r < 0 && errno == EINTR);
        if (r < 0)
            return host_errno();
        got = (size_t)r;
    }
    wasi_iovecs_mark(c, iov, n, got);
    wasi_store32(c, out, (uint32_t)got);
    return 0;
}

int wasi_fd_write(struct wasi_call *c)
{
    struct wasi_fd *f;
    struct iovec iov[WASI_IOV_MAX];
    uint64_t total;
    uint32_t n = wasi_arg32(c, 2), out = wasi_arg32(c, 3);
    int rc = wasi_fd_get(c->wasi, wasi_arg32(c, 0), WASI_RIGHT_FD_WRITE, &f);
    if (rc == 0)
        rc = wasi_iovecs(c, wasi_arg32(c, 1), n, iov, &total);
    if (rc == 0)
        rc = wasi_out_ok(c, out, 4);
    if (rc != 0)
        return rc;
    size_t put;
    if (f->stream != NULL) {
        rc = wasi_stream_write(c->wasi, f->stream, iov, (int)n, &put);
        if (rc != 0)
            return rc;
    } else {
        ssize_t r;
        do {
            if (f->filetype == WASI_FILETYPE_SOCKET_STREAM) {
                struct msghdr msg = {.msg_iov = iov, .msg_iovlen = n};
                r = sendmsg(f->host, &msg, MSG_NOSIGNAL);
            } else {
                r = writev(f->host, iov, (int)n);
            }
        } while (r < 0 && errno == EINTR);
        if (r < 0)
            return host_errno();
        put = (size_t)r;
    }
    wasi_store32(c, out, (uint32_t)put);
    return 0;
}

static int positioned(struct wasi_call *c, bool write)
{
    struct wasi_fd *f;
    struct iovec iov[WASI_IOV_MAX];
    uint64_t total, off = wasi_arg64(c, 3);
    uint32_t n = wasi_arg32(c, 2), out = wasi_arg32(c, 4);
    uint64_t need = (write ? WASI_RIGHT_FD_WRITE : WASI_RIGHT_FD_READ) | WASI_RIGHT_FD_SEEK;
    int rc = wasi_fd_get(c->wasi, wasi_arg32(c, 0), need, &f);
    if (rc == 0)
        rc = wasi_iovecs(c, wasi_arg32(c, 1), n, iov, &total);
    if (rc == 0)
        rc = wasi_out_ok(c, out, 4);
    if (rc != 0)
        return rc;
    if (f->stream != NULL)
        return WASI_ESPIPE;
    if (off > INT64_MAX)
        return WASI_EINVAL;
    ssize_t r;
    do
        r = write ? pwritev(f->host, iov, (int)n, (off_t)off)
                  : preadv(f->host, iov, (int)n, (off_t)off);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return host_errno();
    if (!write)
        wasi_iovecs_mark(c, iov, n, (uint64_t)r);
    wasi_store32(c, out, (uint32_t)r);
    return 0;
}

int wasi_fd_pread(struct wasi_call *c)
{
    return positioned(c, false);
}

int wasi_fd_pwrite(struct wasi_call *c)
{
    return positioned(c, true);
}

int wasi_fd_seek(struct wasi_call *c)
{
    int64_t off = (int64_t)wasi_arg64(c, 1);
    uint32_t whence = wasi_arg32(c, 2), out = wasi_arg32(c, 3);
    /* Asking for the position only needs the tell right (wasi-libc's ftell). */
    uint64_t need = off == 0 && whence == 1 ? WASI_RIGHT_FD_TELL : WASI_RIGHT_FD_SEEK;
    struct wasi_fd *f;
    int rc = wasi_fd_get(c->wasi, wasi_arg32(c, 0), need, &f);
    if (rc != 0)
        return rc;
    if (whence > 2)
        return WASI_EINVAL;
    if (wasi_out_ok(c, out, 8) != 0)
        return WASI_EFAULT;
    if (f->stream != NULL)
        return WASI_ESPIPE;
    static const int whences[] = {SEEK_SET, SEEK_CUR, SEEK_END};
    off_t pos = lseek(f->host, (off_t)off, whences[whence]);
    if (pos < 0)
        return host_errno();
    wasi_store64(c, out, (uint64_t)pos);
    return 0;
}

int wasi_fd_tell(struct wasi_call *c)
{
    struct wasi_fd *f;
    uint32_t out = wasi_arg32(c, 1);
    int rc = wasi_fd_get(c->wasi, wasi_arg32(c, 0), WASI_RIGHT_FD_TELL, &f);
    if (rc != 0)
        return rc;
    if (wasi_out_ok(c, out, 8) != 0)
        return WASI_EFAULT;
    if (f->stream != NULL)
        return WASI_ESPIPE;
    off_t pos = lseek(f->host, 0, SEEK_CUR);
    if (pos < 0)
        return host_errno();
    wasi_store64(c, out, (uint64_t)pos);
    return 0;
}

/* Whether the fd's append/nonblock flags are the host fd's. A directory's
 * are kept in the slot only: they change nothing for a directory, and a
 * preopen's host fd may be shared by contexts (spry_wasi_config.preopen_fds). */
static bool host_fdflags(const struct wasi_fd *f)
{
    return f->host >= 0 && f->stream == NULL && f->filetype != WASI_FILETYPE_DIRECTORY;
}

static uint16_t current_fdflags(const struct wasi_fd *f)
{
    uint16_t flags = f->fdflags;
    if (host_fdflags(f)) {
        int fl = fcntl(f->host, F_GETFL);
        if (fl >= 0) {
            flags &= (uint16_t) ~(WASI_FDFLAG_APPEND | WASI_FDFLAG_NONBLOCK);
            if (fl & O_APPEND)
                flags |= WASI_FDFLAG_APPEND;
            if (fl & O_NONBLOCK)
                flags |= WASI_FDFLAG_NONBLOCK;
        }
    }
    return flags;
}

int wasi_fd_fdstat_get(struct wasi_call *c)
{
    struct wasi_fd *f;
    uint32_t out = wasi_arg32(c, 1);
    int rc = wasi_fd_get(c->wasi, wasi_arg32(c, 0), 0, &f);
    if (rc != 0)
        return rc;
    if (wasi_out_ok(c, out, WASI_FDSTAT_SIZE) != 0)
        return WASI_EFAULT;
    memset(c->mem + out, 0, WASI_FDSTAT_SIZE);
    wasi_mark(c, out, WASI_FDSTAT_SIZE);
    c->mem[out] = f->filetype;
    wasi_store16(c, out + 2, current_fdflags(f));
    wasi_store64(c, out + 8, f->rights);
    wasi_store64(c, out + 16, f->inheriting);
    return 0;
}

int wasi_fd_fdstat_set_flags(struct wasi_call *c)
{
    struct wasi_fd *f;
    uint32_t flags = wasi_arg32(c, 1);
    int rc = wasi_fd_get(c->wasi, wasi_arg32(c, 0), WASI_RIGHT_FD_FDSTAT_SET_FLAGS, &f);
    if (rc != 0)
        return rc;
    if (flags & ~(uint32_t)WASI_FDFLAGS_ALL)
        return WASI_EINVAL;
    /* Linux cannot change O_DSYNC/O_SYNC after open (F_SETFL ignores them). */
    uint32_t syncs = WASI_FDFLAG_DSYNC | WASI_FDFLAG_RSYNC | WASI_FDFLAG_SYNC;
    if ((flags & syncs) != (f->fdflags & syncs))
        return WASI_ENOTSUP;
    if (host_fdflags(f)) {
        int fl = fcntl(f->host, F_GETFL);
        if (fl < 0)
            return host_errno();
        fl &= ~(O_APPEND | O_NONBLOCK);
        if (flags & WASI_FDFLAG_APPEND)
            fl |= O_APPEND;
        if (flags & WASI_FDFLAG_NONBLOCK)
            fl |= O_NONBLOCK;
        if (fcntl(f->host, F_SETFL, fl) != 0)
            return host_errno();
    }
    f->fdflags = (uint16_t)flags;
    return 0;
}

int wasi_fd_fdstat_set_rights(struct wasi_call *c)
{
    struct wasi_fd *f;
    uint64_t base = wasi_arg64(c, 1), inh = wasi_arg64(c, 2);
    int rc = wasi_fd_get(c->wasi, wasi_arg32(c, 0), 0, &f);
    if (rc != 0)
        return rc;
    if ((base & ~f->rights) != 0 || (inh & ~f->inheriting) != 0)
        return WASI_ENOTCAPABLE; /* rights can only be dropped */
    f->rights = base;
    f->inheriting = inh;
    return 0;
}

int wasi_fd_filestat_get(struct wasi_call *c)
{
    struct wasi_fd *f;
    uint32_t out = wasi_arg32(c, 1);
    int rc = wasi_fd_get(c->wasi, wasi_arg32(c, 0), WASI_RIGHT_FD_FILESTAT_GET, &f);
    if (rc != 0)
        return rc;
    if (wasi_out_ok(c, out, WASI_FILESTAT_SIZE) != 0)
        return WASI_EFAULT;
    struct stat st;
    if (f->host < 0) {
        memset(&st, 0, sizeof st);
        st.st_mode = S_IFCHR;
    } else if (fstat(f->host, &st) != 0) {
        return host_errno();
    }
    wasi_put_filestat(c, out, &st);
    if (f->host < 0)
        c->mem[out + 16] = f->filetype; /* marked by wasi_put_filestat */
    return 0;
}

/* The fd with `rights`, refusing writes beneath a read-only preopen. */
static int writable_fd(struct wasi_call *c, uint64_t rights, struct wasi_fd **out)
{
    struct wasi_fd *f;
    int rc = wasi_fd_get(c->wasi, wasi_arg32(c, 0), 0, &f);
    if (rc != 0)
        return rc;
    if (f->readonly)
        return WASI_EROFS;
    if ((f->rights & rights) != rights)
        return WASI_ENOTCAPABLE;
    *out = f;
    return 0;
}

int wasi_fd_filestat_set_size(struct wasi_call *c)
{
    struct wasi_fd *f;
    int rc = writable_fd(c, WASI_RIGHT_FD_FILESTAT_SET_SIZE, &f);
    if (rc != 0)
        return rc;
    uint64_t size = wasi_arg64(c, 1);
    if (size > INT64_MAX)
        return WASI_EINVAL;
    if (f->host < 0)
        return WASI_EINVAL;
    return ftruncate(f->host, (off_t)size) == 0 ? 0 : host_errno();
}

int wasi_fd_filestat_set_times(struct wasi_call *c)
{
    struct wasi_fd *f;
    struct timespec ts[2];
    int rc = writable_fd(c, WASI_RIGHT_FD_FILESTAT_SET_TIMES, &f);
    if (rc == 0)
        rc = wasi_times(wasi_arg64(c, 1), wasi_arg64(c, 2), wasi_arg32(c, 3), ts);
    if (rc != 0)
        return rc;
    if (f->host < 0)
        return WASI_EINVAL;
    return futimens(f->host, ts) == 0 ? 0 : host_errno();
}

int wasi_fd_allocate(struct wasi_call *c)
{
    struct wasi_fd *f;
    int rc = writable_fd(c, WASI_RIGHT_FD_ALLOCATE, &f);
    if (rc != 0)
        return rc;
    uint64_t off = wasi_arg64(c, 1), len = wasi_arg64(c, 2);
    if (off > INT64_MAX || len > INT64_MAX || off + len > INT64_MAX)
        return WASI_EFBIG;
    if (f->host < 0)
        return WASI_ESPIPE;
    int err = posix_fallocate(f->host, (off_t)off, (off_t)len);
    return wasi_errno_from_host(err);
}

int wasi_fd_advise(struct wasi_call *c)
{
    struct wasi_fd *f;
    int rc = wasi_fd_get(c->wasi, wasi_arg32(c, 0), WASI_RIGHT_FD_ADVISE, &f);
    if (rc != 0)
        return rc;
    static const int advice[] = {POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                                 POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED,   POSIX_FADV_NOREUSE};
    uint32_t a = wasi_arg32(c, 3);
    uint64_t off = wasi_arg64(c, 1), len = wasi_arg64(c, 2);
    if (a >= sizeof advice / sizeof advice[0] || off > INT64_MAX || len > INT64_MAX)
        return WASI_EINVAL;
    if (f->host < 0)
        return WASI_ESPIPE;
    return wasi_errno_from_host(posix_fadvise(f->host, (off_t)off, (off_t)len, advice[a]));
}

static int sync_fd(struct wasi_call *c, uint64_t right, bool data_only)
{
    struct wasi_fd *f;
    int rc = wasi_fd_get(c->wasi, wasi_arg32(c, 0), right, &f);
    if (rc != 0)
        return rc;
    if (f->stream != NULL) {
        int err = wasi_streams_flush(c->wasi, NULL);
        return wasi_errno_from_host(err);
    }
    int r = data_only ? fdatasync(f->host) : fsync(f->host);
    return r == 0 ? 0 : host_errno();
}

int wasi_fd_sync(struct wasi_call *c)
{
    return sync_fd(c, WASI_RIGHT_FD_SYNC, false);
}

int wasi_fd_datasync(struct wasi_call *c)
{
    return sync_fd(c, WASI_RIGHT_FD_DATASYNC, true);
}

int wasi_fd_close(struct wasi_call *c)
{
    struct wasi_fd *f;
    int rc = wasi_fd_get(c->wasi, wasi_arg32(c, 0), 0, &f);
    if (rc != 0)
        return rc;
    if (f->stream != NULL)
        wasi_streams_flush(c->wasi, NULL);
    return wasi_fd_release(f);
}

int wasi_fd_renumber(struct wasi_call *c)
{
    struct wasi_fd *from, *to;
    int rc = wasi_fd_get(c->wasi, wasi_arg32(c, 0), 0, &from);
    if (rc == 0)
        rc = wasi_fd_get(c->wasi, wasi_arg32(c, 1), 0, &to);
    if (rc != 0)
        return rc;
    if (from == to)
        return 0;
    wasi_fd_release(to);
    *to = *from;
    memset(from, 0, sizeof *from);
    from->host = -1;
    return 0;
}

/*
 * sock_* calls on pre-opened sockets (--tcplisten) and the connections
 * accepted from them. Creating, binding or connecting sockets is not part
 * of preview 1.
 */
#include "wasi/ctx.h"
#include "wasi/funcs.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    WASI_RIFLAG_PEEK = 1 << 0,
    WASI_RIFLAG_WAITALL = 1 << 1,
    WASI_ROFLAG_DATA_TRUNCATED = 1 << 0,
    WASI_SDFLAG_RD = 1 << 0,
    WASI_SDFLAG_WR = 1 << 1,
};

static int socket_fd(struct wasi_call *c, uint64_t rights, struct wasi_fd **out)
{
    struct wasi_fd *f;
    int rc = wasi_fd_get(c->wasi, wasi_arg32(c, 0), 0, &f);
    if (rc != 0)
        return rc;
    if (f->filetype != WASI_FILETYPE_SOCKET_STREAM && f->filetype != WASI_FILETYPE_SOCKET_DGRAM)
        return WASI_ENOTSOCK;
    if ((f->rights & rights) != rights)
        return WASI_ENOTCAPABLE;
    *out = f;
    return 0;
}

int wasi_sock_accept(struct wasi_call *c)
{
    uint32_t flags = wasi_arg32(c, 1), out = wasi_arg32(c, 2);
    struct wasi_fd *f;
    int rc = socket_fd(c, WASI_RIGHT_SOCK_ACCEPT, &f);
    if (rc != 0)
        return rc;
    if (flags & ~(uint32_t)WASI_FDFLAG_NONBLOCK)
        return WASI_EINVAL;
    if (wasi_out_ok(c, out, 4) != 0)
        return WASI_EFAULT;
    int host;
    do
        host = accept4(f->host, NULL, NULL,
                       SOCK_CLOEXEC | (flags & WASI_FDFLAG_NONBLOCK ? SOCK_NONBLOCK : 0));
    while (host < 0 && errno == EINTR);
    if (host < 0)
        return wasi_errno_from_host(errno);
    uint32_t fd;
    rc = wasi_fd_alloc(c->wasi, &fd);
    if (rc != 0) {
        close(host);
        return rc;
    }
    struct wasi_fd *conn = &c->wasi->fds[fd];
    conn->used = true;
    conn->owned = true;
    conn->host = host;
    conn->filetype = WASI_FILETYPE_SOCKET_STREAM;
    conn->fdflags = (uint16_t)flags;
    conn->rights = WASI_RIGHTS_SOCKET & ~(uint64_t)WASI_RIGHT_SOCK_ACCEPT;
    wasi_store32(c, out, fd);
    return 0;
}

int wasi_sock_recv(struct wasi_call *c)
{
    uint32_t n = wasi_arg32(c, 2), riflags = wasi_arg32(c, 3);
    uint32_t len_out = wasi_arg32(c, 4), flags_out = wasi_arg32(c, 5);
    struct wasi_fd *f;
    struct iovec iov[WASI_IOV_MAX];
    uint64_t total;
    int rc = socket_fd(c, WASI_RIGHT_FD_READ, &f);
    if (rc != 0)
        return rc;
    if (riflags & ~(uint32_t)(WASI_RIFLAG_PEEK | WASI_RIFLAG_WAITALL))
        return WASI_EINVAL;
    rc = wasi_iovecs(c, wasi_arg32(c, 1), n, iov, &total);
    if (rc != 0)
        return rc;
    if (wasi_out_ok(c, len_out, 4) != 0 || wasi_out_ok(c, flags_out, 2) != 0)
        return WASI_EFAULT;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = n};
    int flags = (riflags & WASI_RIFLAG_PEEK ? MSG_PEEK : 0) |
                (riflags & WASI_RIFLAG_WAITALL ? MSG_WAITALL : 0);
    ssize_t got;
    do
        got = recvmsg(f->host, &msg, flags);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return wasi_errno_from_host(errno);
    wasi_iovecs_mark(c, iov, n, (uint64_t)got);
    wasi_store32(c, len_out, (uint32_t)got);
    wasi_store16(c, flags_out, msg.msg_flags & MSG_TRUNC ? WASI_ROFLAG_DATA_TRUNCATED : 0);
    return 0;
}

int wasi_sock_send(struct wasi_call *c)
{
    uint32_t n = wasi_arg32(c, 2), out = wasi_arg32(c, 4);
    struct wasi_fd *f;
    struct iovec iov[WASI_IOV_MAX];
    uint64_t total;
    int rc = socket_fd(c, WASI_RIGHT_FD_WRITE, &f);
    if (rc != 0)
        return rc;
    if (wasi_arg32(c, 3) != 0)
        return WASI_EINVAL; /* siflags: none are defined */
    rc = wasi_iovecs(c, wasi_arg32(c, 1), n, iov, &total);
    if (rc != 0)
        return rc;
    if (wasi_out_ok(c, out, 4) != 0)
        return WASI_EFAULT;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = n};
    ssize_t put;
    do
        put = sendmsg(f->host, &msg, MSG_NOSIGNAL);
    while (put < 0 && errno == EINTR);
    if (put < 0)
        return wasi_errno_from_host(errno);
    wasi_store32(c, out, (uint32_t)put);
    return 0;
}

int wasi_sock_shutdown(struct wasi_call *c)
{
    static const int how[] = {-1, SHUT_RD, SHUT_WR, SHUT_RDWR};
    uint32_t sd = wasi_arg32(c, 1);
    struct wasi_fd *f;
    int rc = socket_fd(c, WASI_RIGHT_SOCK_SHUTDOWN, &f);
    if (rc != 0)
        return rc;
    if (sd == 0 || sd > (WASI_SDFLAG_RD | WASI_SDFLAG_WR))
        return WASI_EINVAL;
    return shutdown(f->host, how[sd]) == 0 ? 0 : wasi_errno_from_host(errno);
}

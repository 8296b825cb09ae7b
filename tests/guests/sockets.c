/*
 * A pre-opened listening socket (--tcplisten, fd 4 after /sb at fd 3):
 * fdstat says SOCKET_STREAM, a non-blocking accept with nobody waiting is
 * EAGAIN, poll_oneoff reports the listener readable once the runner's
 * client connects (the guest creates /sb/ready to let it), then sock_accept,
 * sock_recv (with and without MSG_PEEK), sock_send, sock_shutdown, and the
 * socket calls on descriptors that are not sockets (ENOTSOCK).
 */
#include "guest.h"

#include <fcntl.h>
#include <unistd.h>

#define LISTENER 4

static const char *ftype(__wasi_fd_t fd)
{
    __wasi_fdstat_t st;
    if (__wasi_fd_fdstat_get(fd, &st) != 0)
        return "fdstat failed";
    return st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM ? "SOCKET_STREAM" : "other";
}

/* Receives until a newline or end of stream; returns the bytes. */
static size_t recv_line(__wasi_fd_t fd, char *buf, size_t cap)
{
    size_t got = 0;
    while (got < cap - 1) {
        __wasi_iovec_t iov = {(uint8_t *)buf + got, cap - 1 - got};
        __wasi_size_t n = 0;
        __wasi_roflags_t flags;
        int e = __wasi_sock_recv(fd, &iov, 1, 0, &n, &flags);
        if (e == __WASI_ERRNO_AGAIN)
            continue;
        if (e != 0) {
            printf("sock_recv: %s\n", errname(e));
            break;
        }
        if (n == 0)
            break;
        got += n;
        if (memchr(buf, '\n', got) != NULL)
            break;
    }
    buf[got] = 0;
    return got;
}

int main(void)
{
    printf("fd 4 is %s\n", ftype(LISTENER));
    __wasi_prestat_t ps;
    report("fd_prestat_get on the socket", __wasi_fd_prestat_get(LISTENER, &ps));
    __wasi_fd_t conn;
    /* Zeroed: where fd 4 is no descriptor (the component form), fdstat
     * fails and the flags below must still be defined. */
    __wasi_fdstat_t st = {0};
    __wasi_fd_fdstat_get(LISTENER, &st);
    report("fd_fdstat_set_flags NONBLOCK",
           __wasi_fd_fdstat_set_flags(LISTENER, st.fs_flags | __WASI_FDFLAGS_NONBLOCK));
    report("sock_accept with nobody waiting", __wasi_sock_accept(LISTENER, 0, &conn));

    int ready = open("/sb/ready", O_WRONLY | O_CREAT, 0644);
    close(ready);

    __wasi_subscription_t sub[2];
    memset(sub, 0, sizeof sub);
    sub[0].userdata = 1;
    sub[0].u.tag = __WASI_EVENTTYPE_FD_READ;
    sub[0].u.u.fd_read.file_descriptor = LISTENER;
    sub[1].userdata = 2;
    sub[1].u.tag = __WASI_EVENTTYPE_CLOCK;
    sub[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    sub[1].u.u.clock.timeout = 10000000000ull;
    __wasi_event_t ev[2];
    __wasi_size_t n = 0;
    int e = __wasi_poll_oneoff(sub, ev, 2, &n);
    printf("poll for a connection: %s, first event userdata %llu\n", errname(e),
           n > 0 ? (unsigned long long)ev[0].userdata : 0ull);

    e = __wasi_sock_accept(LISTENER, 0, &conn);
    report("sock_accept", e);
    if (e != 0)
        return 1;
    printf("accepted fd is %s\n", ftype(conn));

    char peek[4] = {0};
    __wasi_iovec_t piov = {(uint8_t *)peek, sizeof peek};
    __wasi_roflags_t rf;
    do
        e = __wasi_sock_recv(conn, &piov, 1, __WASI_RIFLAGS_RECV_PEEK, &n, &rf);
    while (e == __WASI_ERRNO_AGAIN);
    printf("sock_recv PEEK: %s, starts with p: %s\n", errname(e), yes(n > 0 && peek[0] == 'p'));
    char line[64];
    recv_line(conn, line, sizeof line);
    printf("received [%.*s]\n", (int)strcspn(line, "\n"), line);

    __wasi_ciovec_t out[2] = {{(const uint8_t *)"po", 2}, {(const uint8_t *)"ng\n", 3}};
    __wasi_size_t sent = 0;
    report("sock_send 2 iovecs", __wasi_sock_send(conn, out, 2, 0, &sent));
    printf("sent %u bytes\n", (unsigned)sent);
    report("sock_shutdown WR", __wasi_sock_shutdown(conn, __WASI_SDFLAGS_WR));
    size_t rest = recv_line(conn, line, sizeof line);
    printf("after the client closed: %zu bytes\n", rest);
    report("fd_close connection", __wasi_fd_close(conn));

    int fd = open("/sb/hello.txt", O_RDONLY);
    report("sock_shutdown on a file", __wasi_sock_shutdown(fd, __WASI_SDFLAGS_RD));
    report("sock_send on a file", __wasi_sock_send(fd, out, 1, 0, &sent));
    report("sock_recv on a file", __wasi_sock_recv(fd, &piov, 1, 0, &n, &rf));
    report("sock_accept on a file", __wasi_sock_accept(fd, 0, &conn));
    report("sock_accept on a closed fd", __wasi_sock_accept(1000, 0, &conn));
    return 0;
}

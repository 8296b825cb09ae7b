/*
 * sock_accept/recv/send/shutdown on a pre-opened listener the test creates
 * on 127.0.0.1 (loopback only).
 */
#include "harness/test.h"
#include "unit/wasi/wasi_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { IOV = 3000, BUF = 3100, OUT = 4096 };

static int listener(struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE_INT(fd, 0);
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ_INT(bind(fd, (struct sockaddr *)addr, sizeof *addr), 0);
    ASSERT_EQ_INT(listen(fd, 4), 0);
    socklen_t len = sizeof *addr;
    ASSERT_EQ_INT(getsockname(fd, (struct sockaddr *)addr, &len), 0);
    return fd;
}

TEST(wasi_sock, accept_recv_send_shutdown_on_loopback)
{
    struct sockaddr_in addr;
    int lfd = listener(&addr);
    struct wt t;
    struct wt_options o = {.sockets = &lfd, .nsockets = 1};
    wt_setup(&t, &o);
    const uint32_t sock = 5; /* after stdio and the two preopens */
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_get", sock, OUT), 0);
    ASSERT_EQ_INT(t.mem[OUT], FT_SOCKET_STREAM);
    /* Nothing pending on a non-blocking listener: EAGAIN. */
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_set_flags", sock, FD_NONBLOCK), 0);
    ASSERT_EQ_INT(WCALL(&t, "sock_accept", sock, 0, OUT), E_AGAIN);
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_set_flags", sock, 0), 0);
    ASSERT_EQ_INT(WCALL(&t, "sock_accept", sock, 1, OUT), E_INVAL);
    int client = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ_INT(connect(client, (struct sockaddr *)&addr, sizeof addr), 0);
    ASSERT_EQ_INT(WCALL(&t, "sock_accept", sock, FD_NONBLOCK, OUT), 0);
    uint32_t conn = wt_u32(&t, OUT);
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_get", conn, OUT + 100), 0);
    ASSERT_EQ_UINT(wt_u32(&t, OUT + 102) & 0xffff, FD_NONBLOCK);
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_set_flags", conn, 0), 0);
    ASSERT_EQ_UINT(conn, 6);
    /* guest -> client */
    uint32_t len = wt_put(&t, BUF, "ping");
    wt_set_u32(&t, IOV, BUF);
    wt_set_u32(&t, IOV + 4, len);
    ASSERT_EQ_INT(WCALL(&t, "sock_send", conn, IOV, 1, 0, OUT), 0);
    ASSERT_EQ_UINT(wt_u32(&t, OUT), 4);
    char buf[16] = {0};
    ASSERT_EQ_INT(recv(client, buf, sizeof buf, 0), 4);
    ASSERT_EQ_STR(buf, "ping");
    /* client -> guest, with a peek first */
    ASSERT_EQ_INT(send(client, "pong!", 5, 0), 5);
    wt_set_u32(&t, IOV + 4, 16);
    ASSERT_EQ_INT(WCALL(&t, "sock_recv", conn, IOV, 1, 1 /* peek */, OUT, OUT + 4), 0);
    ASSERT_EQ_UINT(wt_u32(&t, OUT), 5);
    wt_set_u32(&t, IOV + 4, 5); /* waitall on exactly what is there */
    ASSERT_EQ_INT(WCALL(&t, "sock_recv", conn, IOV, 1, 2 /* waitall */, OUT, OUT + 4), E_SUCCESS);
    ASSERT_EQ_UINT(wt_u32(&t, OUT), 5);
    ASSERT_EQ_MEM(t.mem + BUF, "pong!", 5);
    ASSERT_EQ_INT(WCALL(&t, "sock_recv", conn, IOV, 1, 4, OUT, OUT + 4), E_INVAL);
    /* shutdown(WR): the client sees end of stream */
    ASSERT_EQ_INT(WCALL(&t, "sock_shutdown", conn, 0), E_INVAL);
    ASSERT_EQ_INT(WCALL(&t, "sock_shutdown", conn, 2), 0);
    ASSERT_EQ_INT(recv(client, buf, sizeof buf, 0), 0);
    /* Socket calls on non-sockets, and accept on a connection. */
    ASSERT_EQ_INT(WCALL(&t, "sock_shutdown", 3, 3), E_NOTSOCK);
    ASSERT_EQ_INT(WCALL(&t, "sock_accept", 3, 0, OUT), E_NOTSOCK);
    ASSERT_EQ_INT(WCALL(&t, "sock_accept", conn, 0, OUT), E_NOTCAPABLE);
    ASSERT_EQ_INT(WCALL(&t, "sock_send", 99, IOV, 1, 0, OUT), E_BADF);
    /* Bad pointers */
    ASSERT_EQ_INT(WCALL(&t, "sock_recv", conn, IOV, 1, 0, OUT, (uint32_t)t.mem_size - 1), E_FAULT);
    close(client);
    wt_teardown(&t);
    close(lfd);
}

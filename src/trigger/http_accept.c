/*
 * Accepting a connection, up to the point where h2o takes it over: the TLS
 * handshake (ALPN picks HTTP/2 or HTTP/1), then, for HTTP/1, the first
 * request head read here and checked with head_scan (http_head.h) before
 * h2o's HTTP/1 code has seen a byte of it.
 *
 * Why not h2o_accept: its HTTP/1 parser answers a head of more than 100
 * fields with its own 400 before any handler runs, buffers up to ~417 KiB
 * of head, and lets one framing field win over another (Content-Length vs
 * Transfer-Encoding). Reading the first head here gives 431 for too many
 * fields, bounds the buffered head by our limits, and rejects bad framing
 * before h2o reads any body. A good head is left in the socket's input
 * buffer and the socket handed to h2o_http1_accept, which parses what is
 * already buffered at once; HTTP/2 (ALPN "h2", or the h2c preface, which is
 * a well-formed head for head_scan) goes to h2o_http2_accept unchanged.
 * This is the only way into h2c: h2o's HTTP/1 code neither upgrades on
 * `Upgrade: h2c` nor switches on a preface after the first head
 * (globalconf.http1.upgrade_to_http2 is off, http_server.c).
 *
 * Only the first head: later heads on a keep-alive connection are read by
 * h2o, and checked in the request handler (http_server.c). One timer
 * (header_timeout_ms) covers the handshake and the first head; after the
 * hand-over h2o's own timers apply.
 */
#include "trigger/http_internal.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "trigger/http_head.h"
#include "trigger/http_status.h"

#include <stdio.h>
#include <string.h>

/* The start of the HTTP/2 connection preface. */
#define H2C_PREFACE "PRI * HTTP/2.0\r\n\r\n"

/* A connection between accept and the hand-over to h2o (sock->data). */
struct first_head {
    h2o_timeout_entry_t timer; /* loop->head_timeout; unlinked once a rejection is written */
    struct http_loop *loop;
    h2o_socket_t *sock;
    struct timeval connected_at;
    char response[256]; /* a rejection, kept until written */
};

static void first_head_free(struct first_head *fh)
{
    if (h2o_timeout_is_linked(&fh->timer))
        h2o_timeout_unlink(&fh->timer);
    fh->sock->data = NULL;
    spry_free(fh);
}

static void drop(struct first_head *fh)
{
    h2o_socket_t *sock = fh->sock;
    first_head_free(fh);
    h2o_socket_close(sock);
}

static void on_timeout(h2o_timeout_entry_t *entry)
{
    drop(H2O_STRUCT_FROM_MEMBER(struct first_head, timer, entry));
}

static void hand_over(struct first_head *fh, bool http2)
{
    struct http_loop *loop = fh->loop;
    h2o_socket_t *sock = fh->sock;
    struct timeval at = fh->connected_at;
    first_head_free(fh);
    if (http2)
        h2o_http2_accept(&loop->accept_ctx, sock, at);
    else
        h2o_http1_accept(&loop->accept_ctx, sock, at);
}

static void on_rejection_written(h2o_socket_t *sock, const char *err)
{
    (void)err;
    drop(sock->data);
}

/* Answers like h2o's own 400 for a head it cannot parse: a complete
 * response with "Connection: close", then the close. */
static void reject(struct first_head *fh, const struct head_verdict *v)
{
    h2o_socket_read_stop(fh->sock);
    h2o_timeout_unlink(&fh->timer);
    int n = snprintf(fh->response, sizeof(fh->response),
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Connection: close\r\nContent-Length: %zu\r\n\r\n%s",
                     v->status, http_status_reason(v->status), strlen(v->why), v->why);
    SPRY_ASSERT(n > 0 && (size_t)n < sizeof(fh->response)); /* our phrases are short */
    h2o_iovec_t buf = h2o_iovec_init(fh->response, (size_t)n);
    h2o_socket_write(fh->sock, &buf, 1, on_rejection_written);
}

static void examine(struct first_head *fh)
{
    h2o_buffer_t *in = fh->sock->input;
    struct head_verdict v;
    switch (head_scan(in->bytes, in->size, &fh->loop->server->config.limits, &v)) {
    case HEAD_PARTIAL:
        return;
    case HEAD_COMPLETE:
        /* The h2c preface ("prior knowledge", RFC 9113 section 3.3) is a
         * well-formed head for the scanner; it goes to h2o's HTTP/2 code,
         * which reads the rest of the preface from the buffer. h2o's own
         * HTTP/1 code no longer switches on it (upgrade_to_http2 is off). */
        h2o_socket_read_stop(fh->sock);
        hand_over(fh, in->size >= sizeof(H2C_PREFACE) - 1 &&
                          memcmp(in->bytes, H2C_PREFACE, sizeof(H2C_PREFACE) - 1) == 0);
        return;
    case HEAD_REJECT:
        reject(fh, &v);
        return;
    }
}

static void on_read(h2o_socket_t *sock, const char *err)
{
    struct first_head *fh = sock->data;
    if (err != NULL) {
        drop(fh);
        return;
    }
    examine(fh);
}

static void on_handshake(h2o_socket_t *sock, const char *err)
{
    struct first_head *fh = sock->data;
    if (err != NULL) {
        drop(fh);
        return;
    }
    h2o_iovec_t proto = h2o_socket_ssl_get_selected_protocol(sock);
    for (const h2o_iovec_t *id = h2o_http2_alpn_protocols; id->len != 0; id++) {
        if (proto.len == id->len && memcmp(proto.base, id->base, proto.len) == 0) {
            hand_over(fh, true);
            return;
        }
    }
    h2o_socket_read_start(sock, on_read);
    if (sock->input->size != 0)
        examine(fh);
}

void accept_connection(struct http_loop *loop, h2o_socket_t *sock)
{
    struct first_head *fh = spry_calloc(1, sizeof(*fh));
    if (fh == NULL) {
        h2o_socket_close(sock);
        return;
    }
    fh->loop = loop;
    fh->sock = sock;
    fh->connected_at = *h2o_get_timestamp(&loop->ctx, NULL, NULL);
    fh->timer.cb = on_timeout;
    h2o_timeout_link(loop->ctx.loop, &loop->head_timeout, &fh->timer);
    sock->data = fh;
    if (loop->server->ssl_ctx != NULL)
        h2o_socket_ssl_handshake(sock, loop->server->ssl_ctx, NULL, on_handshake);
    else
        h2o_socket_read_start(sock, on_read);
}

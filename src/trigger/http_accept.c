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
#include "base/log.h"
#include "trigger/http_head.h"
#include "trigger/http_status.h"

#include <stdio.h>
#include <string.h>

/* The start of the HTTP/2 connection preface. */
#define H2C_PREFACE "PRI * HTTP/2.0\r\n\r\n"
#define WELL_KNOWN  "/.well-known/spin/"

/* A connection between accept and the hand-over to h2o (sock->data). */
struct first_head {
    h2o_timeout_entry_t timer; /* loop->head_timeout; unlinked once a rejection is written */
    struct http_loop *loop;
    h2o_socket_t *sock;
    struct timeval connected_at;
    struct stream_claim claim; /* a body to stream, while 100 Continue is written */
    char response[256];        /* a rejection, kept until written */
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
    struct stream_claim claim = fh->claim;
    first_head_free(fh);
    if (http2) {
        h2o_http2_accept(&loop->accept_ctx, sock, at);
        return;
    }
    /* h2o parses the buffered head and runs the handler before returning,
     * which takes the claim (stream_claim_take). */
    loop->claim = claim;
    h2o_http1_accept(&loop->accept_ctx, sock, at);
    if (loop->claim.sock != NULL)
        spry_log(SPRY_LOG_ERROR, "a request whose body was to be streamed did not reach the "
                                 "handler at once (an h2o other than 2.2?)");
    loop->claim.sock = NULL;
}

/*
 * Streaming request bodies (docs/http.md): when the head's route goes to
 * an executor that reads its body as it arrives, and the body is framed by
 * a Content-Length within the limit or by chunked coding, the framing
 * fields are renamed in the buffered head so that h2o sees no body, and the
 * body is read by http_exchange.c instead. Anything else stays h2o's to
 * read (and to refuse: 413 for a declared length over the limit, before
 * reading it).
 */
static bool claim_body(struct first_head *fh, const struct head_verdict *v)
{
    const struct http_server *s = fh->loop->server;
    h2o_buffer_t *in = fh->sock->input;
    const char *target = in->bytes + v->target_at;
    const char *q = memchr(target, '?', v->target_len);
    size_t plen = q != NULL ? (size_t)(q - target) : v->target_len;
    if (plen >= sizeof(WELL_KNOWN) - 1 && memcmp(target, WELL_KNOWN, sizeof(WELL_KNOWN) - 1) == 0)
        return false;
    struct http_match m;
    if (s->config.router == NULL || http_router_match(s->config.router, target, plen, &m) != 0)
        return false;
    const struct http_executor *e = m.route->executor;
    if (m.route->kind != HTTP_TARGET_COMPONENT || e == NULL || !e->stream_body)
        return false;
    struct body_framing f;
    body_framing_of(in->bytes, v->length, s->config.limits.max_body_bytes, false, &f);
    if (f.kind != BODY_LENGTH && f.kind != BODY_CHUNKED)
        return false;
    body_framing_of(in->bytes, v->length, s->config.limits.max_body_bytes, true, &f);
    fh->claim = (struct stream_claim){fh->sock, v->length, f, 0};
    return true;
}

static void on_continue_written(h2o_socket_t *sock, const char *err)
{
    struct first_head *fh = sock->data;
    if (err != NULL) {
        drop(fh);
        return;
    }
    hand_over(fh, false);
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
        if (in->size >= sizeof(H2C_PREFACE) - 1 &&
            memcmp(in->bytes, H2C_PREFACE, sizeof(H2C_PREFACE) - 1) == 0) {
            hand_over(fh, true);
            return;
        }
        if (claim_body(fh, &v) && fh->claim.framing.expect_continue && in->size == v.length) {
            /* The client waits for this before sending the body (h2o would
             * send it, but it no longer sees a body). */
            static const h2o_iovec_t cont = {H2O_STRLIT("HTTP/1.1 100 Continue\r\n\r\n")};
            h2o_socket_write(fh->sock, (h2o_iovec_t *)&cont, 1, on_continue_written);
            return;
        }
        hand_over(fh, false);
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

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
 * Later heads on a keep-alive connection are read by h2o, but checked by
 * the connection's guard before h2o parses them (below), and again in the
 * request handler (http_server.c). One timer (header_timeout_ms) covers
 * the handshake and the first head; after the hand-over h2o's own timers
 * apply.
 */
#include "trigger/http_internal.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "base/log.h"
#include "trigger/http_head.h"
#include "trigger/http_status.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
    size_t head_len;
    char response[320]; /* a rejection, kept until written */
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

/* ---- later heads: the guard ------------------------------------------
 *
 * h2o 2.2 reads a keep-alive connection's later heads itself: after a
 * response it consumes the request from the socket's input buffer, parses
 * what follows at once (pipelining) and then reads with its own callback
 * (lib/http1.c, on_send_complete / reqread_start). Its parser answers more
 * than 100 fields with its own 400, buffers up to ~417 KiB of head and
 * reads a body its own way before our handler can look at the framing. So
 * every later head is checked with head_scan before h2o parses it:
 *
 *  - When a request ends with the connection kept alive, h2o disposes it
 *    first, which calls request_ended: the bytes after the request (a
 *    pipelined head) are checked there, before h2o's immediate parse.
 *  - Then the guard's read callback (guard_on_read) replaces h2o's, which
 *    h2o has just installed: on the wrap timer, a zero timeout that runs in
 *    the same pass of the event loop, after the socket callbacks and
 *    before the next poll, so before any more bytes are read. It checks the
 *    buffered head on every read and calls h2o's callback only with a head
 *    that passed (or with a read error).
 *
 * A head that passes may get its framing renamed for a streamed body
 * (claim_body). A refused one is replaced in the buffer by a stand-in head
 * that h2o parses instead; the handler finds the refusal for its socket
 * (http1_request_seen) and answers it with the connection closed, as h2o's
 * own 400 does. h2o's HTTP/1 read callback is learned at loop start from a
 * connection of our own (accept_init_loop), so the guard never takes over
 * another callback (a TLS shutdown's, our body reader's).
 */

static void guard_closed(void *data)
{
    struct http1_guard *g = data;
    if (h2o_timeout_is_linked(&g->wrap))
        h2o_timeout_unlink(&g->wrap);
    if (g->loop->claim.sock == g->sock)
        g->loop->claim.sock = NULL;
    if (g->loop->refusal.sock == g->sock)
        g->loop->refusal.sock = NULL;
    void (*cb)(void *) = g->close_cb;
    void *cb_data = g->close_data;
    spry_free(g);
    if (cb != NULL)
        cb(cb_data);
}

struct http1_guard *http1_guard_of(h2o_socket_t *sock)
{
    return sock->on_close.cb == guard_closed ? sock->on_close.data : NULL;
}

static bool claim_body(struct http_loop *loop, h2o_socket_t *sock, char *head,
                       const struct head_verdict *v, bool later);

/* Replaces buf[at, size) by a head h2o parses without complaint. h2o may
 * remember how much of a partial head it looked at already (less than
 * H2O_MAX_REQLEN, or it would have refused it): the stand-in is as long as
 * what it replaces, up to just under that. */
static void stand_in(h2o_socket_t *sock, size_t at)
{
    static const char start[] = "GET / HTTP/1.1\r\nx-spry-refused: ";
    h2o_buffer_t *in = sock->input;
    size_t old = in->size - at;
    if (old > H2O_MAX_REQLEN - 1)
        old = H2O_MAX_REQLEN - 1;
    size_t pad = old > sizeof(start) + 3 ? old - (sizeof(start) - 1) - 4 : 1;
    size_t total = (sizeof(start) - 1) + pad + 4;
    in->size = at;
    h2o_iovec_t room = h2o_buffer_reserve(&sock->input, total);
    SPRY_ASSERT(room.base != NULL); /* h2o aborts on allocation failure itself */
    memcpy(room.base, start, sizeof(start) - 1);
    memset(room.base + sizeof(start) - 1, 'x', pad);
    memcpy(room.base + sizeof(start) - 1 + pad, "\r\n\r\n", 4);
    sock->input->size += total;
}

/* The head at buf[at, size): true when h2o may parse what is there (a
 * head that passed, or a stand-in for a refused one), false while it is
 * incomplete. */
static bool check_next_head(struct http1_guard *g, size_t at)
{
    struct http_loop *loop = g->loop;
    h2o_buffer_t *in = g->sock->input;
    struct head_verdict v;
    switch (head_scan(in->bytes + at, in->size - at, &loop->server->config.limits, &v)) {
    case HEAD_PARTIAL:
        return false;
    case HEAD_COMPLETE:
        g->head_len = v.length;
        g->head_known = true;
        claim_body(loop, g->sock, in->bytes + at, &v, true);
        return true;
    case HEAD_REJECT:
        loop->refusal = (struct head_refusal){g->sock, v.status, v.why};
        stand_in(g->sock, at);
        g->head_len = in->size - at;
        g->head_known = true;
        return true;
    }
    return false;
}

static void guard_on_read(h2o_socket_t *sock, const char *err)
{
    struct http1_guard *g = http1_guard_of(sock);
    struct http_loop *loop = g->loop;
    h2o_socket_cb h2o_read = loop->h2o_http1_read;
    if (err == NULL && g->wait_head) {
        if (!check_next_head(g, 0))
            return; /* h2o's request timer still runs */
        g->wait_head = false;
    }
    h2o_read(sock, err); /* parses; the handler takes the claim or refusal */
    loop->claim.sock = NULL;
    loop->refusal.sock = NULL;
}

static void on_wrap(h2o_timeout_entry_t *entry)
{
    struct http1_guard *g = H2O_STRUCT_FROM_MEMBER(struct http1_guard, wrap, entry);
    if (g->wait_head && g->loop->h2o_http1_read != NULL &&
        g->sock->_cb.read == g->loop->h2o_http1_read)
        g->sock->_cb.read = guard_on_read;
}

struct ended_link {
    struct http1_guard *guard;
    h2o_req_t *req;
};

/* h2o disposes an HTTP/1 request: when the connection goes on, h2o will
 * next consume the request and parse what follows it at once. */
static void request_ended(void *p)
{
    struct ended_link *l = p;
    struct http1_guard *g = l->guard;
    h2o_req_t *req = l->req;
    if (!req->http1_is_persistent || g->stream != NULL)
        return;
    h2o_buffer_t *in = g->sock->input;
    /* What h2o consumes: the head, and the body it read (decoded in place
     * when chunked); a body we read was cut out of the buffer already. */
    size_t at = g->head_len + (req->entity.base != NULL ? req->entity.len : 0);
    if (at > in->size) {
        spry_log(SPRY_LOG_ERROR, "the HTTP/1 request is not where expected in the buffer (an h2o "
                                 "other than 2.2?): the next head is left to h2o");
        return;
    }
    g->wait_head = !(in->size > at && check_next_head(g, at));
    if (g->wait_head && !h2o_timeout_is_linked(&g->wrap))
        h2o_timeout_link(g->loop->ctx.loop, &g->loop->wrap_timeout, &g->wrap);
}

int http1_request_seen(struct http_loop *loop, h2o_req_t *req, const char **why)
{
    h2o_socket_t *sock = req->conn->callbacks->get_socket != NULL
                             ? req->conn->callbacks->get_socket(req->conn)
                             : NULL;
    h2o_socket_t *refused = loop->refusal.sock;
    loop->refusal.sock = NULL; /* this request's, or stale */
    if (sock != NULL && refused == sock) {
        *why = loop->refusal.why;
        return loop->refusal.status;
    }
    struct http1_guard *g = sock != NULL ? http1_guard_of(sock) : NULL;
    if (g != NULL && !g->head_known) { /* not seen before h2o parsed it: find its end */
        struct head_verdict v;
        if (head_scan(sock->input->bytes, sock->input->size, &loop->server->config.limits, &v) ==
            HEAD_COMPLETE)
            g->head_len = v.length;
        else
            g = NULL; /* check_http1_head refuses it */
    }
    if (g != NULL) {
        g->head_known = false;
        struct ended_link *l = h2o_mem_alloc_shared(&req->pool, sizeof(*l), request_ended);
        l->guard = g;
        l->req = req;
    }
    return 0;
}

static void hand_over(struct first_head *fh, bool http2)
{
    struct http_loop *loop = fh->loop;
    h2o_socket_t *sock = fh->sock;
    struct timeval at = fh->connected_at;
    struct stream_claim claim = fh->claim;
    size_t head_len = fh->head_len;
    first_head_free(fh);
    if (http2) {
        (void)at;
        h2_accept(loop, sock);
        return;
    }
    struct http1_guard *g = spry_calloc(1, sizeof(*g));
    if (g == NULL) {
        h2o_socket_close(sock);
        return;
    }
    g->loop = loop;
    g->sock = sock;
    g->head_len = head_len;
    g->head_known = true;
    g->wrap.cb = on_wrap;
    g->close_cb = sock->on_close.cb;
    g->close_data = sock->on_close.data;
    sock->on_close.cb = guard_closed;
    sock->on_close.data = g;
    /* h2o parses the buffered head and runs the handler before returning,
     * which takes the claim (stream_claim_take). */
    loop->claim = claim;
    h2o_http1_accept(&loop->accept_ctx, sock, at);
    if (loop->claim.sock != NULL)
        spry_log(SPRY_LOG_ERROR, "a request whose body was to be streamed did not reach the "
                                 "handler at once (an h2o other than 2.2?)");
    loop->claim.sock = NULL;
}

/* h2o's HTTP/1 read callback is static in lib/http1.c; it is what a new
 * connection with nothing buffered waits with. One such connection, on a
 * socket pair whose other end is closed at once, shows it (h2o closes the
 * connection on the next loop pass). */
void accept_init_loop(struct http_loop *loop)
{
    h2o_timeout_init(loop->ctx.loop, &loop->wrap_timeout, 0);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        spry_log(SPRY_LOG_WARN, "socketpair: later HTTP/1 heads are left to h2o's parser");
        return;
    }
    h2o_socket_t *sock = h2o_evloop_socket_create(loop->ctx.loop, sv[0], 0);
    h2o_http1_accept(&loop->accept_ctx, sock, *h2o_get_timestamp(&loop->ctx, NULL, NULL));
    loop->h2o_http1_read = sock->_cb.read;
    close(sv[1]);
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
static bool claim_body(struct http_loop *loop, h2o_socket_t *sock, char *head,
                       const struct head_verdict *v, bool later)
{
    const struct http_server *s = loop->server;
    const char *target = head + v->target_at;
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
    body_framing_of(head, v->length, s->config.limits.max_body_bytes, false, &f);
    if (f.kind != BODY_LENGTH && f.kind != BODY_CHUNKED)
        return false;
    /* A later head's 100 Continue would have to be written in the middle
     * of h2o's connection: that body stays h2o's to read (whole). */
    if (later && f.expect_continue)
        return false;
    body_framing_of(head, v->length, s->config.limits.max_body_bytes, true, &f);
    loop->claim = (struct stream_claim){sock, v->length, f, 0};
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
 * response with "Connection: close" and h2o's date, then the close. */
static void reject(struct first_head *fh, const struct head_verdict *v)
{
    h2o_socket_read_stop(fh->sock);
    h2o_timeout_unlink(&fh->timer);
    h2o_context_t *ctx = &fh->loop->ctx;
    h2o_get_timestamp(ctx, NULL, NULL); /* refreshes the cached date */
    int n = snprintf(fh->response, sizeof(fh->response),
                     "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Connection: close\r\nContent-Length: %zu\r\n\r\n%s",
                     v->status, http_status_reason(v->status), ctx->_timestamp_cache.value->rfc1123,
                     strlen(v->why), v->why);
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
        fh->head_len = v.length;
        if (claim_body(fh->loop, fh->sock, in->bytes, &v, false)) {
            fh->claim = fh->loop->claim;
            fh->loop->claim.sock = NULL;
        }
        if (fh->claim.sock != NULL && fh->claim.framing.expect_continue && in->size == v.length) {
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

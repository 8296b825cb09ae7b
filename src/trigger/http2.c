/*
 * HTTP/2 with nghttp2 (docs/http.md, "Libraries"): one server session per
 * connection, driven on the loop's h2o event loop over the connection's
 * h2o_socket_t (so TLS, timers and the loop's message queues are shared
 * with the HTTP/1 side, which stays on h2o).
 *
 * Reading: every read is given to nghttp2_session_mem_recv, whose
 * callbacks collect a stream's head, check it (limits, routing) and then
 * answer it on the loop (errors, /.well-known, static routes) or hand it
 * to an executor as an exchange (http_exchange.c). nghttp2 checks the
 * HTTP/2 message rules itself (RFC 9113 section 8: pseudo-header fields,
 * connection-specific and upper-case field names, content-length against
 * the DATA received) and resets a stream that breaks them with
 * PROTOCOL_ERROR.
 *
 * Flow control is ours (NGHTTP2_OPT_NO_AUTO_WINDOW_UPDATE): the
 * connection's window is given back as DATA arrives, a stream's only as
 * its body is used: at once for a body we hold whole, and for a body the
 * executor streams, as the worker reads it (http_exchange_read_body counts
 * the bytes, the pump gives them back). A stream's window starts at
 * H2_STREAM_WINDOW and grows to HTTP_BODY_WINDOW once its body is being
 * read (a worker runs its executor) or held whole. So a streamed body
 * never has more than HTTP_BODY_WINDOW waiting in the exchange, and one
 * whose executor has not started reading (queued) no more than
 * H2_STREAM_WINDOW: a connection holds at most H2_MAX_STREAMS x
 * H2_STREAM_WINDOW plus HTTP_BODY_WINDOW per stream being read
 * (docs/http.md, "Streaming request bodies").
 *
 * Writing: a response goes out through a data provider that reads the
 * exchange's pending bytes; with nothing to send it defers, and the pump
 * resumes it when the worker wrote more (the worker -> loop messages are
 * those of HTTP/1). Trailers follow the last DATA frame as a HEADERS frame
 * with END_STREAM. nghttp2_session_mem_send fills one buffer per
 * connection, written with h2o_socket_write, one write at a time.
 */
#include "trigger/http_internal.h"

#include "base/alloc.h"
#include "base/log.h"
#include "trigger/http_status.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>

#define WELL_KNOWN "/.well-known/spin/"
/* Streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
#define H2_MAX_STREAMS 100
/* The connection's receive window: DATA of many streams in flight. */
#define H2_CONN_WINDOW (16 * 1024 * 1024)
/* A stream's receive window until its body is read or held whole. */
#define H2_STREAM_WINDOW (16 * 1024)
/* One socket write gathers at most about this much of nghttp2's output. */
#define H2_WRITE_CHUNK (256 * 1024)
/* A connection in memory holds at most this much output not yet taken
 * (then it closes, as on a failed write). */
#define H2_MEM_OUT_MAX (64 * 1024 * 1024)

struct h2_conn {
    struct http_loop *loop;
    /* The transport: an h2o socket (h2_accept), or memory (h2_mem_open),
     * exactly one of them. */
    h2o_socket_t *sock;
    struct h2_mem *mem;
    nghttp2_session *session;
    h2o_linklist_t link;    /* loop->h2_conns */
    h2o_linklist_t streams; /* struct h2_stream.link */
    size_t nstreams;
    h2o_timeout_entry_t idle; /* loop->h2_idle */
    struct spry_buf out;      /* being written while `writing` */
    bool writing, in_recv, closed, tls;
};

struct h2_stream {
    struct h2_conn *conn;
    int32_t id;
    h2o_linklist_t link;
    /* The request head: pseudo-header fields, and the others as
     * "name\0value\0" pairs, with the limits' accounting. */
    char *method, *path, *authority, *host;
    struct spry_buf fields;
    size_t nfields, block;
    uint16_t refuse; /* a status to answer instead (a limit), or 0 */
    const char *refuse_why;
    int64_t declared; /* content-length, or -1 */
    bool head_done, remote_end, in_trailers;
    /* A body held whole until END_STREAM (an executor that does not stream
     * it), its trailers, and how much of a body came in all. */
    bool whole, discard;
    struct spry_buf body, trailers;
    uint64_t received;
    bool window_raised; /* to HTTP_BODY_WINDOW */
    const struct http_route *route;
    /* A response answered on the loop (errors, static, well-known). */
    struct spry_buf simple;
    size_t simple_off;
    struct http_exchange *ex; /* the executor's exchange, until the stream closes */
    bool deferred;            /* the data provider waits for the pump */
    struct spry_buf nvbuf;    /* names and values of an nv array being built */
    nghttp2_nv *nv;           /* that array */
    size_t nv_cap;
};

static void conn_flush(struct h2_conn *c);
static void conn_close(struct h2_conn *c);

/* ---- responses answered on the loop ---------------------------------- */

/* A header list for nghttp2 being built in st->nv (grown as needed). */
struct nv_list {
    struct h2_stream *st;
    nghttp2_nv *nv; /* st->nv once complete */
    size_t n;
    bool failed; /* out of memory: not submitted */
};

static void nv_add(struct nv_list *l, const char *name, size_t nl, const char *value, size_t vl)
{
    struct h2_stream *st = l->st;
    if (l->n == st->nv_cap) {
        size_t cap = st->nv_cap ? 2 * st->nv_cap : 16;
        nghttp2_nv *nv = spry_realloc_array(st->nv, cap, sizeof(*nv));
        if (nv == NULL) {
            l->failed = true;
            return;
        }
        st->nv = nv;
        st->nv_cap = cap;
    }
    st->nv[l->n++] = (nghttp2_nv){(uint8_t *)name, (uint8_t *)value, nl, vl, NGHTTP2_NV_FLAG_NONE};
    l->nv = st->nv;
}

/* The response's date (RFC 9110 section 6.6.1), as h2o's HTTP/1 writes
 * it: the loop's cached IMF-fixdate, updated once per loop pass (an
 * executor's own is dropped: reserved_response_header). nghttp2 copies
 * the value when the response is submitted. */
static void nv_add_date(struct nv_list *l)
{
    h2o_context_t *ctx = &l->st->conn->loop->ctx;
    h2o_get_timestamp(ctx, NULL, NULL); /* refreshes the cache */
    const char *date = ctx->_timestamp_cache.value->rfc1123;
    nv_add(l, "date", 4, date, strlen(date));
}

/* Lower-cased copies of "name\0value\0" pairs, into st->nvbuf (the nv
 * entries point into it once it is complete; nghttp2 copies them). */
static int pairs_to_nv(struct h2_stream *st, const struct spry_buf *pairs, struct nv_list *l)
{
    spry_buf_reset(&st->nvbuf);
    if (spry_buf_reserve(&st->nvbuf, pairs->len + 1) != 0)
        return SPRY_ENOMEM;
    spry_buf_append(&st->nvbuf, pairs->data, pairs->len);
    char *p = (char *)st->nvbuf.data, *end = p + st->nvbuf.len;
    while (p < end) {
        size_t nl = strlen(p);
        char *value = p + nl + 1;
        size_t vl = strlen(value);
        for (size_t i = 0; i < nl; i++)
            if (p[i] >= 'A' && p[i] <= 'Z')
                p[i] = (char)(p[i] - 'A' + 'a');
        if (!reserved_response_header(p) && !connection_specific_header(p))
            nv_add(l, p, nl, value, vl);
        p = value + vl + 1;
    }
    return 0;
}

static ssize_t simple_read(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
                           uint32_t *flags, nghttp2_data_source *source, void *user)
{
    (void)session, (void)id, (void)user;
    struct h2_stream *st = source->ptr;
    size_t n = st->simple.len - st->simple_off;
    if (n > length)
        n = length;
    if (n > 0)
        memcpy(buf, st->simple.data + st->simple_off, n);
    st->simple_off += n;
    if (st->simple_off == st->simple.len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static bool is_head(const struct h2_stream *st)
{
    return st->method != NULL && strcmp(st->method, "HEAD") == 0;
}

/* Answers with a complete response; headers are name/value pairs (lower
 * case), content-type first when given. */
static void respond(struct h2_stream *st, uint16_t status, const char *ctype,
                    const struct http_header_pair *headers, size_t n, const void *body, size_t len)
{
    struct nv_list l = {.st = st};
    char code[8], clen[24];
    snprintf(code, sizeof(code), "%03u", status);
    int cl = snprintf(clen, sizeof(clen), "%zu", len);
    nv_add(&l, ":status", 7, code, 3);
    if (ctype != NULL)
        nv_add(&l, "content-type", 12, ctype, strlen(ctype));
    spry_buf_reset(&st->simple);
    st->simple_off = 0;
    struct spry_buf pairs;
    spry_buf_init(&pairs, 64 * 1024);
    for (size_t i = 0; i < n; i++) {
        spry_buf_append(&pairs, headers[i].name, strlen(headers[i].name) + 1);
        spry_buf_append(&pairs, headers[i].value, strlen(headers[i].value) + 1);
    }
    pairs_to_nv(st, &pairs, &l);
    spry_buf_fini(&pairs);
    nv_add_date(&l);
    nv_add(&l, "content-length", 14, clen, (size_t)cl);
    bool no_body = len == 0 || is_head(st) || status == 204 || status == 304;
    if (!no_body && spry_buf_append(&st->simple, body, len) != 0)
        no_body = true;
    nghttp2_data_provider dp = {.source.ptr = st, .read_callback = simple_read};
    if (l.failed ||
        nghttp2_submit_response(st->conn->session, st->id, l.nv, l.n, no_body ? NULL : &dp) != 0)
        nghttp2_submit_rst_stream(st->conn->session, NGHTTP2_FLAG_NONE, st->id,
                                  NGHTTP2_INTERNAL_ERROR);
}

static void respond_error(struct h2_stream *st, uint16_t status, const char *msg)
{
    respond(st, status, "text/plain; charset=utf-8", NULL, 0, msg, strlen(msg));
    st->discard = true; /* the rest of the request's body is not wanted */
}

/* ---- the exchange's response ------------------------------------------ */

/* The data provider of an exchange's response: the bytes the worker wrote,
 * then the end (with trailers, or a reset when the response was broken
 * off), or a deferral until the pump resumes it. */
static ssize_t exchange_read(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
                             uint32_t *flags, nghttp2_data_source *source, void *user)
{
    (void)id, (void)user;
    struct h2_stream *st = source->ptr;
    struct http_exchange *ex = st->ex;
    if (ex == NULL)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    pthread_mutex_lock(&ex->mu);
    if (ex->send_off == ex->sending.len && ex->pending.len > 0) {
        struct spry_buf t = ex->sending;
        ex->sending = ex->pending;
        ex->pending = t;
        spry_buf_reset(&ex->pending);
        ex->send_off = 0;
        pthread_cond_broadcast(&ex->space);
    }
    size_t n = ex->sending.len - ex->send_off;
    if (n > length)
        n = length;
    if (n > 0) /* sending.data is NULL until first used */
        memcpy(buf, ex->sending.data + ex->send_off, n);
    ex->send_off += n;
    bool drained = ex->send_off == ex->sending.len && ex->pending.len == 0;
    if (drained && ex->abort) {
        ex->final_sent = true;
        pthread_mutex_unlock(&ex->mu);
        /* What was written went out; the stream is reset (INTERNAL_ERROR):
         * the client sees a broken response, not a short one. */
        return n > 0 ? (ssize_t)n : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    if (drained && ex->finished) {
        ex->final_sent = true;
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        struct nv_list l = {.st = st};
        if (ex->trailers.len > 0 && pairs_to_nv(st, &ex->trailers, &l) == 0 && l.n > 0 &&
            !l.failed && nghttp2_submit_trailer(session, st->id, l.nv, l.n) == 0)
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    } else if (n == 0) {
        st->deferred = true;
        pthread_mutex_unlock(&ex->mu);
        return NGHTTP2_ERR_DEFERRED;
    }
    pthread_mutex_unlock(&ex->mu);
    return (ssize_t)n;
}

/* The response head (mu held: it is fixed once started). */
static void submit_head_locked(struct h2_stream *st, struct http_exchange *ex)
{
    struct nv_list l = {.st = st};
    char code[8], clen[24];
    snprintf(code, sizeof(code), "%03u", ex->status);
    nv_add(&l, ":status", 7, code, 3);
    pairs_to_nv(st, &ex->head, &l);
    nv_add_date(&l);
    uint16_t status = ex->status;
    bool no_body = is_head(st) || status == 204 || status == 304 || status < 200;
    if (ex->content_length >= 0 && status != 204 && status != 304 && status >= 200) {
        int k = snprintf(clen, sizeof(clen), "%lld", (long long)ex->content_length);
        nv_add(&l, "content-length", 14, clen, (size_t)k);
    }
    /* Nothing can follow: the head ends the stream. */
    if (!no_body && ex->finished && !ex->abort && ex->pending.len == 0 && ex->trailers.len == 0)
        no_body = true;
    nghttp2_data_provider dp = {.source.ptr = st, .read_callback = exchange_read};
    st->deferred = false;
    if (l.failed ||
        nghttp2_submit_response(st->conn->session, st->id, l.nv, l.n, no_body ? NULL : &dp) != 0)
        nghttp2_submit_rst_stream(st->conn->session, NGHTTP2_FLAG_NONE, st->id,
                                  NGHTTP2_INTERNAL_ERROR);
    if (no_body)
        ex->final_sent = true;
}

/* The stream's body is read (or held whole): its window grows from
 * H2_STREAM_WINDOW to HTTP_BODY_WINDOW. */
static void stream_window_raise(struct h2_stream *st)
{
    if (st->window_raised)
        return;
    st->window_raised = true;
    nghttp2_session_set_local_window_size(st->conn->session, NGHTTP2_FLAG_NONE, st->id,
                                          HTTP_BODY_WINDOW);
}

void h2_stream_pump(struct h2_stream *st)
{
    struct h2_conn *c = st->conn;
    struct http_exchange *ex = st->ex;
    if (ex == NULL)
        return;
    pthread_mutex_lock(&ex->mu);
    size_t ack = ex->body_unacked;
    ex->body_unacked = 0;
    if (ex->started && !ex->final_sent) {
        if (!ex->head_sent) {
            ex->head_sent = true;
            submit_head_locked(st, ex);
        } else if (st->deferred) {
            st->deferred = false;
            nghttp2_session_resume_data(c->session, st->id);
        }
    }
    pthread_mutex_unlock(&ex->mu);
    /* The bytes the worker read: the client may send as many more, and,
     * now that the body is being read, a full window's worth. */
    if (ack > 0) {
        nghttp2_session_consume_stream(c->session, st->id, ack);
        stream_window_raise(st);
    }
    if (!c->in_recv)
        conn_flush(c);
}

/* ---- requests ---------------------------------------------------------- */

/* Copies the stream's request into ex (as http_server.c's fill_request
 * does for h2o's). */
static int fill_request(struct http_exchange *ex, struct h2_stream *st, const struct http_match *m,
                        bool streamed)
{
    struct h2_conn *c = st->conn;
    struct spry_arena *a = &ex->arena;
    struct http_request *r = &ex->req;
    char client[NI_MAXHOST + 16];
    struct sockaddr_storage peer;
    socklen_t peer_len =
        c->sock != NULL ? h2o_socket_getpeername(c->sock, (struct sockaddr *)&peer) : 0;
    http_peer_text(&peer, peer_len, client, sizeof(client));
    const char *target = st->path, *q = strchr(target, '?');
    size_t tlen = strlen(target), plen = q != NULL ? (size_t)(q - target) : tlen;
    const char *authority = st->authority != NULL ? st->authority : st->host ? st->host : "";
    r->method = http_arena_strndup(a, st->method, strlen(st->method));
    r->target = http_arena_strndup(a, target, tlen);
    r->path = http_arena_strndup(a, target, plen);
    r->query =
        q != NULL ? http_arena_strndup(a, q + 1, tlen - plen - 1) : http_arena_strndup(a, "", 0);
    r->scheme = c->tls ? "https" : "http";
    r->authority = http_arena_strndup(a, authority, strlen(authority));
    r->client_addr = http_arena_strndup(a, client, strlen(client));
    r->server_addr = c->loop->server->server_addr;
    r->http_version = 0x200;
    r->route = m->route;
    r->matched_route = m->matched_route;
    r->raw_route = m->raw_route;
    r->component_route = m->component_route;
    r->base = m->base;
    r->path_info = http_arena_strndup(a, m->path_info, m->path_info_len);
    if (!r->method || !r->target || !r->path || !r->query || !r->authority || !r->client_addr ||
        !r->path_info)
        return SPRY_ENOMEM;
    struct http_header_list hl = {a, NULL, 0, st->nfields + 2 + 8 + HTTP_ROUTE_MAX_PARAMS};
    hl.items = spry_arena_alloc_array(a, hl.cap, sizeof(*hl.items));
    if (hl.items == NULL)
        return SPRY_ENOMEM;
    int rc = 0;
    if (authority[0] != '\0')
        rc = http_header_add(&hl, "host", 4, authority, strlen(authority));
    /* fields.data is NULL while empty (no field besides the pseudo-header
     * ones). */
    const char *p = (const char *)st->fields.data, *end = spry_buf_end(&st->fields);
    while (rc == 0 && p < end) {
        const char *value = p + strlen(p) + 1;
        rc = http_header_add(&hl, p, strlen(p), value, strlen(value));
        p = value + strlen(value) + 1;
    }
    /* The body's length: declared (a streamed body), or what came. */
    int64_t length = streamed                                ? st->declared
                     : st->received > 0 || st->declared >= 0 ? (int64_t)st->body.len
                                                             : -1;
    if (rc == 0 && length >= 0) {
        char len[24];
        int n = snprintf(len, sizeof(len), "%lld", (long long)length);
        rc = http_header_add(&hl, "content-length", 14, len, (size_t)n);
    }
    r->nclient_headers = hl.n;
    struct http_request_facts f = {r->scheme, r->authority, r->target, tlen, r->client_addr};
    if (rc == 0)
        rc = http_router_spin_headers(m, &f, http_header_add, &hl);
    if (rc != 0)
        return rc;
    r->headers = hl.items;
    r->nheaders = hl.n;
    r->body = (const uint8_t *)"";
    r->body_len = 0;
    if (!streamed) {
        uint8_t *body = spry_arena_alloc(a, st->body.len + 1);
        if (body == NULL)
            return SPRY_ENOMEM;
        if (st->body.len > 0)
            memcpy(body, st->body.data, st->body.len);
        ex->copy = body;
        ex->copy_len = st->body.len;
        if (!ex->executor->stream_body) {
            r->body = body;
            r->body_len = st->body.len;
        }
        if (st->trailers.len > 0 &&
            spry_buf_append(&ex->req_trailers, st->trailers.data, st->trailers.len) != 0)
            return SPRY_ENOMEM;
    }
    ex->body_end = !streamed;
    return 0;
}

/* Hands the request to its executor: now with `streamed` (the body comes
 * as it arrives), else with the whole body, which is here. */
static void dispatch(struct h2_stream *st, bool streamed)
{
    struct h2_conn *c = st->conn;
    struct http_loop *loop = c->loop;
    struct http_server *s = loop->server;
    struct http_match m;
    if (http_router_match(s->config.router, st->path, strcspn(st->path, "?"), &m) != 0) {
        respond_error(st, 404, "Not Found\n");
        return;
    }
    const struct http_executor *executor = m.route->executor;
    size_t arena_max = st->body.len + 2 * (size_t)s->config.limits.max_header_block +
                       4 * strlen(st->path) + 64 * 1024;
    struct http_exchange *ex;
    if (exchange_create(loop, executor, arena_max, &ex) != 0) {
        respond_error(st, 503, "Service Unavailable\n");
        return;
    }
    int rc = fill_request(ex, st, &m, streamed);
    if (rc != 0) {
        exchange_release(ex);
        exchange_release(ex);
        respond_error(st, 500, "Internal Server Error\n");
        return;
    }
    if (executor->speculate && !streamed &&
        workers_run_inline(s->workers, (uint32_t)(loop - s->loops), ex)) {
        st->ex = ex;
        exchange_attach_h2(ex, st, false);
        return;
    }
    if (workers_push(s->workers, ex) != 0) {
        spry_log(SPRY_LOG_WARN, "request queue full (%u): 503 for %s", s->config.queue_max,
                 ex->req.path);
        exchange_release(ex);
        exchange_release(ex);
        respond_error(st, 503, "Service Unavailable: request queue full\n");
        return;
    }
    st->ex = ex;
    exchange_attach_h2(ex, st, streamed);
}

/* The request's head is complete (END_HEADERS of its first HEADERS). */
static void head_done(struct h2_stream *st, bool end_stream)
{
    struct http_server *s = st->conn->loop->server;
    const struct http_limits *l = &s->config.limits;
    st->head_done = true;
    if (st->method == NULL || st->path == NULL) { /* CONNECT: no :path */
        respond_error(st, 405, "Method Not Allowed\n");
        return;
    }
    if (st->refuse != 0) {
        respond_error(st, st->refuse, st->refuse_why);
        return;
    }
    /* The limits of docs/http.md, on the fields as an HTTP/1 head would
     * carry them (http_server.c, admit). */
    const char *authority = st->authority != NULL ? st->authority : st->host;
    size_t alen = authority != NULL ? strlen(authority) : 0;
    if (strlen(st->method) + 1 + strlen(st->path) + sizeof(" HTTP/1.1") - 1 > l->max_request_line) {
        respond_error(st, 414, "request line too long\n");
        return;
    }
    size_t block = st->block + (alen ? sizeof("host: \r\n") - 1 + alen : 0);
    if (block > l->max_header_block) {
        respond_error(st, 431, "header too large\n");
        return;
    }
    if (st->nfields + (alen ? 1 : 0) > l->max_header_fields) {
        respond_error(st, 431, "too many fields\n");
        return;
    }
    const char *path = st->path;
    size_t plen = strcspn(path, "?");
    if (plen >= sizeof(WELL_KNOWN) - 1 && memcmp(path, WELL_KNOWN, sizeof(WELL_KNOWN) - 1) == 0) {
        struct spry_buf body;
        spry_buf_init(&body, 64 * 1024);
        const char *ctype = "text/plain";
        int status = well_known_answer(s, path, plen, &ctype, &body);
        if (status == 200)
            respond(st, 200, ctype, NULL, 0, body.data, body.len);
        else
            respond_error(st, (uint16_t)status, "Not Found\n");
        spry_buf_fini(&body);
        st->discard = true;
        return;
    }
    struct http_match m;
    if (s->config.router == NULL || http_router_match(s->config.router, path, plen, &m) != 0) {
        respond_error(st, 404, "Not Found\n");
        return;
    }
    if (m.route->kind == HTTP_TARGET_STATIC) {
        const struct http_static_response *sr = &m.route->static_response;
        respond(st, sr->status, NULL, sr->headers, sr->nheaders, sr->body ? sr->body : "",
                sr->body_len);
        st->discard = true;
        return;
    }
    const struct http_executor *executor = m.route->executor;
    if (executor == NULL || executor->handle == NULL) {
        spry_log(SPRY_LOG_ERROR, "route '%s' has no executor", m.raw_route);
        respond_error(st, 500, "Internal Server Error\n");
        return;
    }
    if (st->declared > (int64_t)l->max_body_bytes) {
        respond_error(st, 413, "Request Entity Too Large\n");
        return;
    }
    if (executor->stream_body && !end_stream) {
        dispatch(st, true);
        return;
    }
    if (end_stream) {
        dispatch(st, false);
        return;
    }
    st->whole = true; /* dispatched at END_STREAM */
    stream_window_raise(st);
}

/* ---- nghttp2 callbacks ------------------------------------------------- */

static struct h2_stream *stream_of(struct h2_conn *c, int32_t id)
{
    return nghttp2_session_get_stream_user_data(c->session, id);
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
    struct h2_conn *c = user;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
        struct h2_stream *st = stream_of(c, frame->hd.stream_id);
        if (st != NULL)
            st->in_trailers = true;
        return 0;
    }
    struct h2_stream *st = spry_calloc(1, sizeof(*st));
    if (st == NULL)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    const struct http_limits *l = &c->loop->server->config.limits;
    st->conn = c;
    st->id = frame->hd.stream_id;
    st->declared = -1;
    spry_buf_init(&st->fields, 2 * (size_t)l->max_header_block);
    spry_buf_init(&st->body, l->max_body_bytes);
    spry_buf_init(&st->trailers, BODY_TRAILER_MAX);
    spry_buf_init(&st->simple, l->max_body_bytes + 64 * 1024);
    spry_buf_init(&st->nvbuf, 4 * 64 * 1024);
    h2o_linklist_insert(&c->streams, &st->link);
    c->nstreams++;
    nghttp2_session_set_stream_user_data(session, st->id, st);
    return 0;
}

static char *dup_field(const uint8_t *v, size_t n)
{
    return spry_strndup((const char *)v, n);
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t nl, const uint8_t *value, size_t vl, uint8_t flags, void *user)
{
    (void)session, (void)flags;
    struct h2_conn *c = user;
    struct h2_stream *st = stream_of(c, frame->hd.stream_id);
    if (st == NULL || frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    const struct http_limits *l = &c->loop->server->config.limits;
    if (st->in_trailers) {
        /* Request trailers (nghttp2 checked them as fields; pseudo-header
         * fields are not allowed there). */
        bool ok;
        if (st->ex != NULL) {
            ok = exchange_h2_trailer(st->ex, name, nl, value, vl);
        } else {
            ok = st->trailers.len + nl + vl + 2 <= BODY_TRAILER_MAX &&
                 spry_buf_append(&st->trailers, name, nl) == 0 &&
                 spry_buf_append_byte(&st->trailers, 0) == 0 &&
                 spry_buf_append(&st->trailers, value, vl) == 0 &&
                 spry_buf_append_byte(&st->trailers, 0) == 0;
        }
        if (!ok && st->ex != NULL)
            exchange_h2_body_fail(st->ex, SPRY_EMALFORMED);
        else if (!ok && !st->discard)
            respond_error(st, 400, "request trailers too large\n");
        return 0;
    }
    if (st->refuse != 0)
        return 0;
    if (nl > 0 && name[0] == ':') {
        char **slot = NULL;
        if (nl == 7 && memcmp(name, ":method", 7) == 0)
            slot = &st->method;
        else if (nl == 5 && memcmp(name, ":path", 5) == 0)
            slot = &st->path;
        else if (nl == 10 && memcmp(name, ":authority", 10) == 0)
            slot = &st->authority;
        if (slot != NULL && *slot == NULL && (*slot = dup_field(value, vl)) == NULL)
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        return 0; /* :scheme: the connection says (TLS or not) */
    }
    size_t one = nl + 2 + vl;
    if (one > l->max_header_line) {
        st->refuse = 431, st->refuse_why = "field too long\n";
        return 0;
    }
    st->block += one + 2;
    st->nfields++;
    if (st->block > l->max_header_block) {
        st->refuse = 431, st->refuse_why = "header too large\n";
        return 0;
    }
    if (st->nfields > l->max_header_fields) {
        st->refuse = 431, st->refuse_why = "too many fields\n";
        return 0;
    }
    if (nl == 14 && memcmp(name, "content-length", 14) == 0) {
        /* nghttp2 checked it is a number and holds the DATA to it. */
        st->declared = 0;
        for (size_t i = 0; i < vl && st->declared <= (int64_t)l->max_body_bytes; i++)
            st->declared = st->declared * 10 + (value[i] - '0');
        st->nfields--, st->block -= one + 2; /* written again from the body */
        return 0;
    }
    if (nl == 4 && memcmp(name, "host", 4) == 0) {
        if (st->host == NULL && (st->host = dup_field(value, vl)) == NULL)
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        st->nfields--, st->block -= one + 2; /* written as the first field */
        return 0;
    }
    if (spry_buf_append(&st->fields, name, nl) != 0 || spry_buf_append_byte(&st->fields, 0) != 0 ||
        spry_buf_append(&st->fields, value, vl) != 0 || spry_buf_append_byte(&st->fields, 0) != 0)
        st->refuse = 431, st->refuse_why = "header too large\n";
    return 0;
}

/* The request's body ended (END_STREAM). */
static void body_ended(struct h2_stream *st)
{
    st->remote_end = true;
    if (st->ex != NULL) {
        if (st->ex->h2_body)
            exchange_h2_body_end(st->ex);
    } else if (st->whole && !st->discard) {
        st->whole = false;
        dispatch(st, false);
    }
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
    (void)session;
    struct h2_conn *c = user;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    struct h2_stream *st = stream_of(c, frame->hd.stream_id);
    if (st == NULL)
        return 0;
    bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_HEADERS && !st->head_done) {
        head_done(st, end);
        if (end)
            st->remote_end = true;
        return 0;
    }
    if (end)
        body_ended(st);
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *user)
{
    (void)flags;
    struct h2_conn *c = user;
    nghttp2_session_consume_connection(session, len);
    struct h2_stream *st = stream_of(c, id);
    if (st == NULL) {
        nghttp2_session_consume_stream(session, id, len);
        return 0;
    }
    uint64_t max = c->loop->server->config.limits.max_body_bytes;
    st->received += len;
    if (st->ex != NULL && st->ex->h2_body && !st->discard) {
        if (st->received > max) {
            st->discard = true;
            exchange_h2_body_fail(st->ex, SPRY_ETOOBIG);
        } else {
            exchange_h2_body(st->ex, data, len);
            return 0; /* the window opens as the worker reads */
        }
    } else if (st->whole && !st->discard) {
        if (st->received > max || spry_buf_append(&st->body, data, len) != 0)
            respond_error(st, 413, "Request Entity Too Large\n");
    }
    nghttp2_session_consume_stream(session, id, len);
    return 0;
}

static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
    struct h2_conn *c = user;
    if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
        !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    struct h2_stream *st = stream_of(c, frame->hd.stream_id);
    /* The response is complete while the request's body still comes: the
     * rest is not wanted (RFC 9113 section 8.1). */
    if (st != NULL && !st->remote_end &&
        nghttp2_session_get_stream_remote_close(session, st->id) == 0)
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_NO_ERROR);
    return 0;
}

static void stream_free(struct h2_stream *st)
{
    h2o_linklist_unlink(&st->link);
    st->conn->nstreams--;
    spry_free(st->method);
    spry_free(st->path);
    spry_free(st->authority);
    spry_free(st->host);
    spry_buf_fini(&st->fields);
    spry_buf_fini(&st->body);
    spry_buf_fini(&st->trailers);
    spry_buf_fini(&st->simple);
    spry_buf_fini(&st->nvbuf);
    spry_free(st->nv);
    spry_free(st);
}

static void stream_end(struct h2_stream *st)
{
    struct http_exchange *ex = st->ex;
    st->ex = NULL;
    if (ex != NULL)
        exchange_detach(ex); /* cancels it if it still runs */
    stream_free(st);
}

static int on_stream_close(nghttp2_session *session, int32_t id, uint32_t error, void *user)
{
    (void)error;
    struct h2_conn *c = user;
    if (c->closed)
        return 0;
    struct h2_stream *st = stream_of(c, id);
    if (st != NULL) {
        nghttp2_session_set_stream_user_data(session, id, NULL);
        stream_end(st);
    }
    return 0;
}

/* ---- the connection ----------------------------------------------------- */

static void on_written(h2o_socket_t *sock, const char *err)
{
    struct h2_conn *c = sock->data;
    c->writing = false;
    spry_buf_reset(&c->out);
    if (err != NULL) {
        conn_close(c);
        return;
    }
    conn_flush(c);
}

/* Writes what nghttp2 has to send, a chunk at a time: on a socket one
 * write is in flight at once (on_written flushes again), in memory each
 * chunk is taken at once. */
static void conn_flush(struct h2_conn *c)
{
    while (!c->writing && !c->closed) {
        while (c->out.len < H2_WRITE_CHUNK) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(c->session, &data);
            if (n < 0) {
                conn_close(c);
                return;
            }
            if (n == 0)
                break;
            if (spry_buf_append(&c->out, data, (size_t)n) != 0) {
                conn_close(c);
                return;
            }
        }
        if (c->out.len == 0) {
            if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session))
                conn_close(c);
            return;
        }
        if (c->mem != NULL) {
            if (spry_buf_append(&c->mem->out, c->out.data, c->out.len) != 0) {
                conn_close(c);
                return;
            }
            spry_buf_reset(&c->out);
            continue;
        }
        c->writing = true;
        h2o_iovec_t buf = h2o_iovec_init(c->out.data, c->out.len);
        h2o_socket_write(c->sock, &buf, 1, on_written);
    }
}

static void idle_arm(struct h2_conn *c)
{
    if (h2o_timeout_is_linked(&c->idle))
        h2o_timeout_unlink(&c->idle);
    h2o_timeout_link(c->loop->ctx.loop, &c->loop->h2_idle, &c->idle);
}

static void on_idle(h2o_timeout_entry_t *entry)
{
    struct h2_conn *c = H2O_STRUCT_FROM_MEMBER(struct h2_conn, idle, entry);
    if (c->nstreams != 0) {
        idle_arm(c);
        return;
    }
    nghttp2_session_terminate_session(c->session, NGHTTP2_NO_ERROR);
    conn_flush(c);
}

/* Gives bytes read off the connection to the session: the count it took
 * (all of them), or < 0 for a connection error, after which nothing more
 * is read. */
static ssize_t conn_recv(struct h2_conn *c, const uint8_t *data, size_t len)
{
    c->in_recv = true;
    ssize_t n = nghttp2_session_mem_recv(c->session, data, len);
    c->in_recv = false;
    /* A connection error nghttp2 did not answer with GOAWAY itself (e.g.
     * no client preface): close after what is queued. */
    if (n < 0 && n != NGHTTP2_ERR_BAD_CLIENT_MAGIC)
        nghttp2_session_terminate_session(c->session, NGHTTP2_PROTOCOL_ERROR);
    return n;
}

/* After conn_recv (its result n), the input consumed: the answer goes out. */
static void conn_received(struct h2_conn *c, ssize_t n)
{
    if (n == NGHTTP2_ERR_BAD_CLIENT_MAGIC) {
        conn_close(c);
        return;
    }
    if (n >= 0)
        idle_arm(c);
    conn_flush(c);
}

static void on_read(h2o_socket_t *sock, const char *err)
{
    struct h2_conn *c = sock->data;
    if (err != NULL) {
        conn_close(c);
        return;
    }
    ssize_t n = conn_recv(c, (const uint8_t *)sock->input->bytes, sock->input->size);
    if (n < 0) {
        h2o_socket_read_stop(sock);
        h2o_buffer_consume(&sock->input, sock->input->size);
    } else {
        h2o_buffer_consume(&sock->input, (size_t)n);
    }
    conn_received(c, n);
}

static void conn_close(struct h2_conn *c)
{
    if (c->closed)
        return;
    c->closed = true;
    /* The session first (it may not call back: `closed`), then our streams. */
    nghttp2_session_del(c->session);
    while (!h2o_linklist_is_empty(&c->streams))
        stream_end(H2O_STRUCT_FROM_MEMBER(struct h2_stream, link, c->streams.next));
    if (h2o_timeout_is_linked(&c->idle))
        h2o_timeout_unlink(&c->idle);
    h2o_linklist_unlink(&c->link);
    if (c->sock != NULL) {
        c->sock->data = NULL;
        h2o_socket_close(c->sock);
    } else {
        c->mem->conn = NULL;
    }
    spry_buf_fini(&c->out);
    spry_free(c);
}

/* A server session as every connection has one: our callbacks, our flow
 * control, our settings (queued, with GOAWAY when the loop drains); the
 * transport is the caller's to set. NULL when out of memory. */
static struct h2_conn *conn_create(struct http_loop *loop)
{
    struct h2_conn *c = spry_calloc(1, sizeof(*c));
    nghttp2_session_callbacks *cb = NULL;
    nghttp2_option *opt = NULL;
    if (c == NULL || nghttp2_session_callbacks_new(&cb) != 0 || nghttp2_option_new(&opt) != 0) {
        if (cb != NULL)
            nghttp2_session_callbacks_del(cb);
        spry_free(c);
        return NULL;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    int rc = nghttp2_session_server_new2(&c->session, cb, c, opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_option_del(opt);
    if (rc != 0) {
        spry_free(c);
        return NULL;
    }
    const struct http_limits *l = &loop->server->config.limits;
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW},
        /* The block limit as HTTP/2 counts it: 32 bytes more per field. */
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, l->max_header_block + 32 * l->max_header_fields},
    };
    nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings,
                            sizeof(settings) / sizeof(settings[0]));
    nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, H2_CONN_WINDOW);
    c->loop = loop;
    c->tls = loop->server->ssl_ctx != NULL;
    spry_buf_init(&c->out, 2 * H2_WRITE_CHUNK);
    h2o_linklist_init_anchor(&c->streams);
    h2o_linklist_insert(&loop->h2_conns, &c->link);
    c->idle.cb = on_idle;
    if (loop->draining)
        nghttp2_submit_goaway(c->session, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, NULL, 0);
    return c;
}

void h2_accept(struct http_loop *loop, h2o_socket_t *sock)
{
    struct h2_conn *c = conn_create(loop);
    if (c == NULL) {
        h2o_socket_close(sock);
        return;
    }
    c->sock = sock;
    sock->data = c;
    h2o_socket_read_start(sock, on_read);
    if (sock->input->size > 0)
        on_read(sock, NULL); /* the preface, or more, is buffered already */
    else {
        idle_arm(c);
        conn_flush(c);
    }
}

int h2_mem_open(struct http_loop *loop, struct h2_mem *m)
{
    spry_buf_init(&m->out, H2_MEM_OUT_MAX);
    m->stopped = false;
    m->conn = conn_create(loop);
    if (m->conn == NULL)
        return SPRY_ENOMEM;
    m->conn->mem = m;
    idle_arm(m->conn);
    conn_flush(m->conn);
    return 0;
}

void h2_mem_recv(struct h2_mem *m, const uint8_t *data, size_t len)
{
    if (m->conn == NULL || m->stopped)
        return;
    ssize_t n = conn_recv(m->conn, data, len);
    m->stopped = n < 0;
    conn_received(m->conn, n);
}

void h2_mem_close(struct h2_mem *m)
{
    if (m->conn != NULL)
        conn_close(m->conn);
    spry_buf_fini(&m->out);
}

void h2_init_loop(struct http_loop *loop)
{
    h2o_linklist_init_anchor(&loop->h2_conns);
    h2o_timeout_init(loop->ctx.loop, &loop->h2_idle, loop->server->config.limits.idle_timeout_ms);
}

void h2_loop_shutdown(struct http_loop *loop)
{
    loop->draining = true;
    h2o_linklist_t *node = loop->h2_conns.next;
    while (node != &loop->h2_conns) {
        struct h2_conn *c = H2O_STRUCT_FROM_MEMBER(struct h2_conn, link, node);
        node = node->next; /* conn_flush may close c */
        /* Streams begun so far are served; later ones are refused. */
        nghttp2_submit_goaway(c->session, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(c->session), NGHTTP2_NO_ERROR,
                              NULL, 0);
        conn_flush(c);
    }
}

void h2_loop_close(struct http_loop *loop)
{
    while (!h2o_linklist_is_empty(&loop->h2_conns))
        conn_close(H2O_STRUCT_FROM_MEMBER(struct h2_conn, link, loop->h2_conns.next));
}

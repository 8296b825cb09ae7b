/*
 * The HTTP server: loops, listeners, request admission and dispatch, and
 * the drain on stop. Exchanges (executor requests) live in
 * http_exchange.c, the worker queue in http_workers.c.
 *
 * Every loop thread owns its h2o context, its listener and its connections;
 * nothing else touches them except through h2o's thread-safe message queues
 * (`exchanges`, `control`). There is no global state: a process may run
 * several servers.
 */
#include "trigger/http_internal.h"

#include "base/alloc.h"
#include "base/log.h"
#include "trigger/http_head.h"
#include "trigger/http_status.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define WELL_KNOWN "/.well-known/spin/"

void http_limits_init(struct http_limits *l)
{
    l->max_request_line = 8 * 1024;
    l->max_header_line = 8 * 1024;
    l->max_header_block = 64 * 1024;
    l->max_header_fields = 100;
    l->max_body_bytes = 16u * 1024 * 1024;
    l->header_timeout_ms = 10 * 1000;
    l->idle_timeout_ms = 60 * 1000;
    l->request_timeout_ms = 30 * 1000;
    l->drain_timeout_ms = 30 * 1000;
}

void http_server_config_init(struct http_server_config *c)
{
    memset(c, 0, sizeof(*c));
    c->listen = "127.0.0.1:3000";
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    c->loops = n > 0 ? (uint32_t)n : 1;
    c->workers = 2 * c->loops;
    c->queue_max = 1024;
    http_limits_init(&c->limits);
}

/* ---- admission: limits the library does not enforce itself ----------- */

struct verdict {
    int status; /* 0: admitted */
    const char *body;
};

/*
 * HTTP/1: the request's head as it came off the connection, checked with
 * head_scan (http_head.h: bare LF, conflicting framing fields, limits).
 * h2o 2.2 parses a head in place at the start of the socket's input buffer
 * and consumes it only once the response is done (lib/http1.c), so the
 * buffer still starts with this request's head here; the method and target
 * are compared with h2o's to be sure of it. If they differ (an h2o that
 * works otherwise), the request is refused, not let through unchecked.
 * The connection's first head was already checked before h2o saw it
 * (http_accept.c); this covers the heads after it.
 */
static struct verdict check_http1_head(const struct http_limits *l, h2o_req_t *req)
{
    h2o_socket_t *sock = req->conn->callbacks->get_socket != NULL
                             ? req->conn->callbacks->get_socket(req->conn)
                             : NULL;
    struct head_verdict v;
    enum head_state st = sock != NULL && sock->input != NULL
                             ? head_scan(sock->input->bytes, sock->input->size, l, &v)
                             : HEAD_PARTIAL;
    if (st == HEAD_REJECT)
        return (struct verdict){v.status, v.why};
    if (st == HEAD_COMPLETE &&
        h2o_memis(sock->input->bytes + v.method_at, v.method_len, req->input.method.base,
                  req->input.method.len) &&
        h2o_memis(sock->input->bytes + v.target_at, v.target_len, req->input.path.base,
                  req->input.path.len))
        return (struct verdict){0, NULL};
    spry_log(SPRY_LOG_ERROR, "the HTTP/1 request head is not at the start of the connection's "
                             "buffer (an h2o other than 2.2?): request refused");
    return (struct verdict){500, "Internal Server Error\n"};
}

/*
 * h2o 2.2 parses with picohttpparser and enforces: request head size (about
 * 400 KiB in all), 100 fields, the body limit (413, before reading a
 * declared length), bare CR (400). The rest of docs/http.md's limits are
 * checked here, after parsing and before any executor runs, on h2o's view
 * of the request (HTTP/2 has no other; for HTTP/1 check_http1_head ran
 * first). An obs-fold continuation line reaches us as a field with an empty
 * name.
 */
static struct verdict admit(const struct http_limits *l, h2o_req_t *req)
{
    size_t line = req->input.method.len + 1 + req->input.path.len + sizeof(" HTTP/1.1") - 1;
    if (line > l->max_request_line)
        return (struct verdict){414, "request line too long\n"};
    size_t fields = req->headers.size + (req->input.authority.len ? 1 : 0);
    size_t block =
        req->input.authority.len ? sizeof("host: \r\n") - 1 + req->input.authority.len : 0;
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];
        if (h->name->len == 0)
            return (struct verdict){400, "obsolete line folding\n"};
        for (size_t k = 0; k < h->value.len; k++) {
            char c = h->value.base[k];
            if (c == '\r' || c == '\n' || c == '\0')
                return (struct verdict){400, "bad character in a field\n"};
        }
        size_t one = h->name->len + 2 + h->value.len;
        if (one > l->max_header_line)
            return (struct verdict){431, "field too long\n"};
        block += one + 2;
    }
    if (block > l->max_header_block)
        return (struct verdict){431, "header too large\n"};
    if (fields > l->max_header_fields)
        return (struct verdict){431, "too many fields\n"};
    return (struct verdict){0, NULL};
}

/* h2o 2.2 keeps an HTTP/1.1 connection open only without a `Connection`
 * field or with `keep-alive` in it; RFC 9112 section 9.3 keeps it open
 * unless `close` is there (e.g. `Connection: Upgrade` from an ignored h2c
 * upgrade). */
static void keep_http11_alive(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONNECTION, -1);
    if (i < 0 || req->http1_is_persistent || req->conn->ctx->shutdown_requested)
        return;
    const h2o_iovec_t *v = &req->headers.entries[i].value;
    if (!h2o_contains_token(v->base, v->len, H2O_STRLIT("close"), ','))
        req->http1_is_persistent = 1;
}

static void send_error(h2o_req_t *req, int status, const char *body, bool close)
{
    if (close)
        req->http1_is_persistent = 0;
    h2o_send_error_generic(req, status, http_status_reason(status), body,
                           close ? H2O_SEND_ERROR_HTTP1_CLOSE_CONNECTION : 0);
}

/* ---- responses served on the loop ------------------------------------ */

static void send_text(h2o_req_t *req, int status, const char *ctype, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = http_status_reason(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype,
                   strlen(ctype));
    req->res.content_length = len;
    h2o_send_inline(req, body, len);
}

static void json_string(struct spry_buf *b, const char *s)
{
    spry_buf_append_byte(b, '"');
    for (; s != NULL && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            spry_buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            spry_buf_printf(b, "\\u%04x", c);
        else
            spry_buf_append_byte(b, c);
    }
    spry_buf_append_byte(b, '"');
}

int well_known_answer(struct http_server *s, const char *path, size_t len,
                      const char **content_type, struct spry_buf *body)
{
    const char *rest = path + sizeof(WELL_KNOWN) - 1;
    size_t rl = len - (sizeof(WELL_KNOWN) - 1);
    if (rl == 6 && memcmp(rest, "health", 6) == 0) {
        *content_type = "text/plain";
        spry_buf_append_str(body, "OK");
        return 200;
    }
    if (rl == 4 && memcmp(rest, "info", 4) == 0) {
        *content_type = "application/json";
        spry_buf_append_str(body, "{\"name\":");
        json_string(body, s->config.app_name ? s->config.app_name : "");
        spry_buf_append_str(body, ",\"version\":");
        json_string(body, s->config.app_version ? s->config.app_version : "");
        spry_buf_append_str(body, "}");
        return 200;
    }
    return 404;
}

static void serve_well_known(struct http_server *s, h2o_req_t *req, const char *path, size_t len)
{
    struct spry_buf b;
    spry_buf_init(&b, 64 * 1024);
    const char *ctype = "text/plain";
    if (well_known_answer(s, path, len, &ctype, &b) == 200) {
        h2o_iovec_t body = h2o_strdup(&req->pool, (const char *)b.data, b.len);
        send_text(req, 200, ctype, body.base, body.len);
    } else {
        send_error(req, 404, "Not Found\n", false);
    }
    spry_buf_fini(&b);
}

static void serve_static(h2o_req_t *req, const struct http_static_response *sr)
{
    req->res.status = sr->status;
    req->res.reason = http_status_reason(sr->status);
    for (size_t i = 0; i < sr->nheaders; i++) {
        const struct http_header_pair *h = &sr->headers[i];
        if (reserved_response_header(h->name))
            continue;
        h2o_iovec_t name = h2o_strdup(&req->pool, h->name, strlen(h->name));
        h2o_strtolower(name.base, name.len);
        h2o_add_header_by_str(&req->pool, &req->res.headers, name.base, name.len, 1, NULL, h->value,
                              strlen(h->value));
    }
    req->res.content_length = sr->body_len;
    h2o_send_inline(req, sr->body ? sr->body : "", sr->body_len);
}

/* ---- dispatch to an executor ----------------------------------------- */

/* n in decimal at p; returns the end. */
static char *put_decimal(char *p, unsigned n)
{
    char digits[10];
    int k = 0;
    do {
        digits[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n != 0);
    while (k > 0)
        *p++ = digits[--k];
    return p;
}

void http_peer_text(struct sockaddr_storage *ss, socklen_t sl, char *out, size_t cap)
{
    if (sl >= sizeof(struct sockaddr_in) && ss->ss_family == AF_INET && cap >= 22) {
        /* "a.b.c.d:port" without printf (every request formats it). */
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        uint32_t a = ntohl(sin->sin_addr.s_addr);
        char *p = out;
        for (int shift = 24; shift >= 0; shift -= 8) {
            p = put_decimal(p, (a >> shift) & 0xff);
            *p++ = shift > 0 ? '.' : ':';
        }
        p = put_decimal(p, ntohs(sin->sin_port));
        *p = '\0';
        return;
    }
    char host[NI_MAXHOST];
    size_t hl = sl ? h2o_socket_getnumerichost((struct sockaddr *)ss, sl, host) : SIZE_MAX;
    if (hl == SIZE_MAX) {
        snprintf(out, cap, "unknown:0");
        return;
    }
    int32_t port = h2o_socket_getport((struct sockaddr *)ss);
    if (ss->ss_family == AF_INET6)
        snprintf(out, cap, "[%.*s]:%d", (int)hl, host, (int)port);
    else
        snprintf(out, cap, "%.*s:%d", (int)hl, host, (int)port);
}

/* Copies the request off h2o into ex (loop thread). */
static int fill_request(struct http_exchange *ex, h2o_req_t *req, const struct http_match *m,
                        const char *client, bool tls, const struct stream_claim *claim)
{
    struct spry_arena *a = &ex->arena;
    struct http_request *r = &ex->req;
    size_t qa = req->input.query_at;
    size_t plen = qa == SIZE_MAX ? req->input.path.len : qa;
    r->method = http_arena_strndup(a, req->input.method.base, req->input.method.len);
    r->target = http_arena_strndup(a, req->input.path.base, req->input.path.len);
    r->path = http_arena_strndup(a, req->input.path.base, plen);
    r->query = qa == SIZE_MAX ? http_arena_strndup(a, "", 0)
                              : http_arena_strndup(a, req->input.path.base + qa + 1,
                                                   req->input.path.len - qa - 1);
    r->scheme = tls ? "https" : "http";
    r->authority = http_arena_strndup(a, req->input.authority.base, req->input.authority.len);
    r->client_addr = http_arena_strndup(a, client, strlen(client));
    r->server_addr = ex->loop->server->server_addr;
    r->http_version = req->version;
    r->route = m->route;
    r->matched_route = m->matched_route;
    r->raw_route = m->raw_route;
    r->component_route = m->component_route;
    r->base = m->base;
    r->path_info = http_arena_strndup(a, m->path_info, m->path_info_len);
    if (!r->method || !r->target || !r->path || !r->query || !r->authority || !r->client_addr ||
        !r->path_info)
        return SPRY_ENOMEM;
    /* Room for the client's fields, host and content-length, and the spin-*
     * fields (7 and one per capture): sized exactly, so that a usual
     * request fits in the arena's first block. */
    struct http_header_list hl = {a, NULL, 0, req->headers.size + 2 + 8 + m->ncaptures};
    hl.items = spry_arena_alloc_array(a, hl.cap, sizeof(*hl.items));
    if (hl.items == NULL)
        return SPRY_ENOMEM;
    int rc = 0;
    if (req->input.authority.len)
        rc = http_header_add(&hl, "host", 4, req->input.authority.base, req->input.authority.len);
    for (size_t i = 0; rc == 0 && i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];
        if (claim != NULL &&
            (h2o_memis(h->name->base, h->name->len, H2O_STRLIT(HEAD_STRIPPED_LENGTH)) ||
             h2o_memis(h->name->base, h->name->len, H2O_STRLIT(HEAD_STRIPPED_CODING))))
            continue; /* our renamed framing fields (http_body.h) */
        rc = http_header_add(&hl, h->name->base, h->name->len, h->value.base, h->value.len);
    }
    if (rc == 0 && claim != NULL && claim->framing.kind == BODY_LENGTH) {
        char len[24];
        int n = snprintf(len, sizeof(len), "%llu", (unsigned long long)claim->framing.length);
        rc = http_header_add(&hl, "content-length", 14, len, (size_t)n);
    } else if (rc == 0 && req->entity.base != NULL) {
        char len[24];
        int n = snprintf(len, sizeof(len), "%zu", req->entity.len);
        rc = http_header_add(&hl, "content-length", 14, len, (size_t)n);
    }
    r->nclient_headers = hl.n;
    struct http_request_facts f = {r->scheme, r->authority, r->target, req->input.path.len,
                                   r->client_addr};
    if (rc == 0)
        rc = http_router_spin_headers(m, &f, http_header_add, &hl);
    if (rc != 0)
        return rc;
    r->headers = hl.items;
    r->nheaders = hl.n;
    if (req->entity.base != NULL) {
        uint8_t *body = spry_arena_alloc(a, req->entity.len + 1);
        if (body == NULL)
            return SPRY_ENOMEM;
        memcpy(body, req->entity.base, req->entity.len);
        ex->copy = body;
        ex->copy_len = req->entity.len;
    }
    /* The body comes off the connection later (claim), or is here whole. */
    ex->body_end = claim == NULL;
    bool whole = ex->copy != NULL && !ex->executor->stream_body;
    r->body = whole ? ex->copy : (const uint8_t *)"";
    r->body_len = whole ? ex->copy_len : 0;
    return 0;
}

static void dispatch(struct http_loop *loop, h2o_req_t *req, const struct http_match *m,
                     const struct stream_claim *claim)
{
    struct http_server *s = loop->server;
    const struct http_executor *executor = m->route->executor;
    if (executor == NULL || executor->handle == NULL || (claim != NULL && !executor->stream_body)) {
        spry_log(SPRY_LOG_ERROR, "route '%s' has no executor", m->raw_route);
        send_error(req, 500, "Internal Server Error\n", false);
        return;
    }
    char client[NI_MAXHOST + 16];
    struct sockaddr_storage peer;
    socklen_t peer_len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&peer);
    http_peer_text(&peer, peer_len, client, sizeof(client));
    /* Everything copied is bounded by the limits admit() checked. */
    size_t arena_max = req->entity.len + 2 * (size_t)s->config.limits.max_header_block +
                       4 * req->input.path.len + 64 * 1024;
    struct http_exchange *ex;
    if (exchange_create(loop, executor, arena_max, &ex) != 0) {
        send_error(req, 503, "Service Unavailable\n", false);
        return;
    }
    int rc =
        fill_request(ex, req, m, client, req->conn->ctx == &loop->ctx && s->ssl_ctx != NULL, claim);
    if (rc != 0) {
        exchange_release(ex);
        exchange_release(ex);
        send_error(req, 500, "Internal Server Error\n", false);
        return;
    }
    /* Only a whole body can be speculated on (a streamed one would block):
     * one here with the head, or none. */
    if (executor->speculate && claim == NULL &&
        workers_run_inline(s->workers, (uint32_t)(loop - s->loops), ex)) {
        exchange_attach_answered(ex, req); /* answered on this loop: sends it */
        return;
    }
    if (workers_push(s->workers, ex) != 0) {
        spry_log(SPRY_LOG_WARN, "request queue full (%u): 503 for %s", s->config.queue_max,
                 ex->req.path);
        exchange_release(ex);
        exchange_release(ex);
        send_error(req, 503, "Service Unavailable: request queue full\n", false);
        return;
    }
    exchange_attach(ex, req, claim);
}

struct spry_handler {
    h2o_handler_t super;
    struct http_server *server;
};

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct http_server *s = ((struct spry_handler *)self)->server;
    struct http_loop *loop = H2O_STRUCT_FROM_MEMBER(struct http_loop, ctx, req->conn->ctx);
    struct verdict v = {0, NULL};
    if (req->version < 0x200) {
        /* A later head refused before h2o parsed it (http_accept.c), or
         * the check of this one. */
        v.status = http1_request_seen(loop, req, &v.body);
        if (v.status == 0)
            v = check_http1_head(&s->config.limits, req);
    }
    if (req->version == 0x101)
        keep_http11_alive(req);
    /* A streamed body's request (http_accept.c) closes its connection
     * unless the body is read whole (http_exchange.c). */
    struct stream_claim taken;
    const struct stream_claim *claim = stream_claim_take(loop, req, &taken);
    if (v.status == 0)
        v = admit(&s->config.limits, req);
    if (v.status != 0) {
        send_error(req, v.status, v.body, true);
        return 0;
    }
    const char *path = req->input.path.base;
    size_t len = req->input.query_at == SIZE_MAX ? req->input.path.len : req->input.query_at;
    if (len >= sizeof(WELL_KNOWN) - 1 && memcmp(path, WELL_KNOWN, sizeof(WELL_KNOWN) - 1) == 0) {
        serve_well_known(s, req, path, len);
        return 0;
    }
    struct http_match m;
    if (s->config.router == NULL || http_router_match(s->config.router, path, len, &m) != 0) {
        send_error(req, 404, "Not Found\n", false);
        return 0;
    }
    if (m.route->kind == HTTP_TARGET_STATIC) {
        serve_static(req, &m.route->static_response);
        return 0;
    }
    dispatch(loop, req, &m, claim);
    return 0;
}

/* ---- loops ------------------------------------------------------------ */

enum control_kind { CONTROL_SHUTDOWN, CONTROL_STOP };

struct control_msg {
    h2o_multithread_message_t super;
    enum control_kind kind;
};

static void on_conn_close(void *data)
{
    struct http_loop *loop = data;
    atomic_fetch_sub(&loop->connections, 1);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    struct http_loop *loop = listener->data;
    if (err != NULL)
        return;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock == NULL)
        return;
    atomic_fetch_add(&loop->connections, 1);
    sock->on_close.cb = on_conn_close;
    sock->on_close.data = loop;
    accept_connection(loop, sock);
}

static void close_listener(struct http_loop *loop)
{
    if (loop->listener != NULL) {
        h2o_socket_read_stop(loop->listener);
        h2o_socket_close(loop->listener);
        loop->listener = NULL;
    }
}

static void on_control(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    struct http_loop *loop = H2O_STRUCT_FROM_MEMBER(struct http_loop, control, receiver);
    while (!h2o_linklist_is_empty(messages)) {
        struct control_msg *m =
            H2O_STRUCT_FROM_MEMBER(struct control_msg, super.link, messages->next);
        h2o_linklist_unlink(&m->super.link);
        if (m->kind == CONTROL_SHUTDOWN) {
            close_listener(loop);
            h2o_context_request_shutdown(&loop->ctx);
            h2_loop_shutdown(loop);
        } else {
            atomic_store(&loop->stop, true);
        }
        spry_free(m);
    }
}

static int post_control(struct http_loop *loop, enum control_kind kind)
{
    struct control_msg *m = spry_calloc(1, sizeof(*m));
    if (m == NULL)
        return SPRY_ENOMEM;
    m->kind = kind;
    h2o_multithread_send_message(&loop->control, &m->super);
    return 0;
}

/*
 * The h2o context is made on the loop's own thread: h2o's evloop keeps
 * per-thread state (the socket buffer prototype and its recycled chunks,
 * `__thread` in socket.h) that every socket created by a thread uses for
 * its life. Made on the main thread, every loop's message-queue socket
 * shared the main thread's free list without a lock, and two loops reading
 * their queues at once corrupted the heap (found by make bench-http; test:
 * up.many_concurrent_wagi_requests_on_two_loops).
 */
static void init_loop_context(struct http_loop *loop)
{
    struct http_server *s = loop->server;
    h2o_context_init(&loop->ctx, h2o_evloop_create(), &s->globalconf);
    loop->accept_ctx.ctx = &loop->ctx;
    loop->accept_ctx.hosts = s->globalconf.hosts;
    /* No ssl_ctx: the handshake is ours (accept_connection), not h2o_accept's. */
    h2o_multithread_register_receiver(loop->ctx.queue, &loop->exchanges, exchange_on_message);
    h2o_multithread_register_receiver(loop->ctx.queue, &loop->control, on_control);
    h2o_timeout_init(loop->ctx.loop, &loop->deadline, s->config.limits.request_timeout_ms);
    h2o_timeout_init(loop->ctx.loop, &loop->head_timeout, s->config.limits.header_timeout_ms);
    h2_init_loop(loop);
    accept_init_loop(loop);     /* last: its zero timer runs after the others */
    if (loop->listen_fd >= 0) { /* none for http_server_start_local */
        loop->listener =
            h2o_evloop_socket_create(loop->ctx.loop, loop->listen_fd, H2O_SOCKET_FLAG_DONT_READ);
        loop->listen_fd = -1;
        loop->listener->data = loop;
        h2o_socket_read_start(loop->listener, on_accept);
    }
    loop->ctx_ready = true;
}

static void *loop_main(void *arg)
{
    struct http_loop *loop = arg;
    init_loop_context(loop);
    sem_post(&loop->server->loops_ready); /* http_server_start waits for it */
    while (!atomic_load(&loop->stop))
        h2o_evloop_run(loop->ctx.loop, INT32_MAX);
    h2_loop_close(loop);
    close_listener(loop);
    return NULL;
}

static int init_loop(struct http_server *s, struct http_loop *loop,
                     const struct sockaddr_storage *addr, socklen_t alen,
                     struct spry_report *report)
{
    loop->server = s;
    loop->listen_fd = -1;
    return listen_socket(addr, alen, &loop->listen_fd, report);
}

static void fini_loop(struct http_loop *loop)
{
    if (loop->listen_fd >= 0)
        close(loop->listen_fd);
    loop->listen_fd = -1;
}

/* ---- lifecycle -------------------------------------------------------- */

static char *dup_opt(struct http_server *s, int slot, const char *text)
{
    if (text == NULL)
        return NULL;
    s->strings[slot] = spry_strdup(text);
    return s->strings[slot];
}

int http_server_create(const struct http_server_config *config, struct http_server **out,
                       struct spry_report *report)
{
    struct sockaddr_storage addr;
    socklen_t alen;
    int rc =
        http_listen_parse(config->listen ? config->listen : "127.0.0.1:3000", &addr, &alen, report);
    if (rc != 0)
        return rc;
    if ((config->tls_cert == NULL) != (config->tls_key == NULL))
        return spry_report_set(report, SPRY_EINVAL, "--tls-cert and --tls-key go together");
    if (config->loops == 0 || config->workers == 0 || config->limits.request_timeout_ms == 0)
        return spry_report_set(report, SPRY_EINVAL,
                               "loops, workers and the request timeout must be positive");
    struct http_server *s = spry_calloc(1, sizeof(*s));
    if (s == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory");
    s->config = *config;
    s->stop_fd = -1;
    s->config.listen = dup_opt(s, 0, config->listen);
    s->config.tls_cert = dup_opt(s, 1, config->tls_cert);
    s->config.tls_key = dup_opt(s, 2, config->tls_key);
    s->config.app_name = dup_opt(s, 3, config->app_name);
    s->config.app_version = dup_opt(s, 4, config->app_version);

    h2o_config_init(&s->globalconf);
    const struct http_limits *l = &config->limits;
    s->globalconf.max_request_entity_size = l->max_body_bytes;
    /* h2o 2.2 has one HTTP/1 timer for an idle connection and a request
     * being read: the stricter of the two limits applies to both. */
    s->globalconf.http1.req_timeout =
        l->header_timeout_ms < l->idle_timeout_ms ? l->header_timeout_ms : l->idle_timeout_ms;
    s->globalconf.http2.idle_timeout = l->idle_timeout_ms;
    /* No h2c by `Upgrade:` (deprecated by RFC 9113 section 3.1; hyper, and
     * so Spin, does not offer it either): such a request is served as the
     * HTTP/1.1 request it is. h2c with prior knowledge is recognised on a
     * connection's first bytes by accept_connection. */
    s->globalconf.http1.upgrade_to_http2 = 0;
    s->globalconf.http2.graceful_shutdown_timeout = l->drain_timeout_ms;
    /* No `server` field (h2o's default is "h2o/2.2.5"): HTTP/2 (nghttp2,
     * http2.c) has none either, nor has Spin (hyper); docs/http.md. */
    s->globalconf.server_name = h2o_iovec_init(NULL, 0);
    h2o_hostconf_t *host =
        h2o_config_register_host(&s->globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    struct spry_handler *h = (void *)h2o_create_handler(path, sizeof(*h));
    h->super.on_req = on_req;
    h->server = s;

    if (config->tls_cert != NULL) {
        rc = tls_context_create(config->tls_cert, config->tls_key, &s->ssl_ctx, report);
        if (rc != 0)
            goto fail;
    }
    s->stop_fd = eventfd(0, EFD_CLOEXEC);
    s->sem_ready = sem_init(&s->loops_ready, 0, 0) == 0;
    s->loops = spry_calloc(config->loops, sizeof(*s->loops));
    if (s->stop_fd < 0 || !s->sem_ready || s->loops == NULL) {
        rc = spry_report_set(report, SPRY_ENOMEM, "out of resources");
        goto fail;
    }
    for (uint32_t i = 0; i < config->loops; i++) {
        s->nloops = i + 1;
        rc = init_loop(s, &s->loops[i], &addr, alen, report);
        if (rc != 0)
            goto fail;
        if (i == 0) {
            /* Port 0 binds a free port; the other loops share it. */
            struct sockaddr_storage bound;
            socklen_t bl = sizeof(bound);
            getsockname(s->loops[0].listen_fd, (struct sockaddr *)&bound, &bl);
            s->port = (uint16_t)h2o_socket_getport((struct sockaddr *)&bound);
            if (addr.ss_family == AF_INET6)
                ((struct sockaddr_in6 *)&addr)->sin6_port = htons(s->port);
            else
                ((struct sockaddr_in *)&addr)->sin_port = htons(s->port);
            char numeric[NI_MAXHOST];
            size_t nl = h2o_socket_getnumerichost((struct sockaddr *)&bound, bl, numeric);
            snprintf(s->server_addr, sizeof(s->server_addr),
                     addr.ss_family == AF_INET6 ? "[%.*s]:%u" : "%.*s:%u",
                     (int)(nl == SIZE_MAX ? 0 : nl), numeric, s->port);
        }
    }
    *out = s;
    return 0;
fail:
    http_server_destroy(s);
    return rc;
}

uint16_t http_server_port(const struct http_server *s)
{
    return s->port;
}

int http_server_start(struct http_server *s, struct spry_report *report)
{
    int rc = workers_create(s->config.workers, s->config.queue_max, s->nloops, &s->workers);
    if (rc != 0)
        return spry_report_set(report, rc, "cannot start %u workers", s->config.workers);
    rc = 0;
    uint32_t started = 0;
    for (uint32_t i = 0; i < s->nloops; i++) {
        if (pthread_create(&s->loops[i].thread, NULL, loop_main, &s->loops[i]) != 0) {
            rc = spry_report_set(report, SPRY_EIO, "cannot start event loop %u", i);
            break;
        }
        s->loops[i].thread_started = true;
        started++;
    }
    /* Messages may be posted to a loop only once its context exists. */
    for (uint32_t i = 0; i < started; i++)
        while (sem_wait(&s->loops_ready) != 0 && errno == EINTR)
            ;
    s->started = true;
    return rc;
}

struct http_loop *http_server_start_local(struct http_server *s)
{
    if (s->started || workers_create(0, s->config.queue_max, 0, &s->workers) != 0)
        return NULL;
    struct http_loop *loop = &s->loops[0];
    fini_loop(loop); /* connections come from memory (h2_mem_open) */
    init_loop_context(loop);
    s->started = true;
    return loop;
}

void http_server_stop(struct http_server *s)
{
    uint64_t one = 1;
    ssize_t n = write(s->stop_fd, &one, sizeof(one));
    (void)n;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t open_connections(const struct http_server *s)
{
    size_t n = 0;
    for (uint32_t i = 0; i < s->nloops; i++)
        n += atomic_load(&s->loops[i].connections);
    return n;
}

int http_server_wait(struct http_server *s)
{
    uint64_t v;
    while (read(s->stop_fd, &v, sizeof(v)) < 0 && errno == EINTR)
        ;
    int rc = 0;
    for (uint32_t i = 0; i < s->nloops; i++)
        if (s->loops[i].thread_started)
            post_control(&s->loops[i], CONTROL_SHUTDOWN);
    uint64_t deadline = now_ms() + s->config.limits.drain_timeout_ms;
    while (atomic_load(&s->active) != 0 && now_ms() < deadline)
        poll(NULL, 0, 5);
    if (atomic_load(&s->active) != 0) {
        spry_log(SPRY_LOG_WARN, "drain: %zu requests still running after %u ms",
                 (size_t)atomic_load(&s->active), s->config.limits.drain_timeout_ms);
        rc = SPRY_ETIMEOUT;
    }
    /* Give clients a moment to close connections whose last response was
     * just written (they were told to: "connection: close", GOAWAY). */
    uint64_t grace = now_ms() + 500;
    while (open_connections(s) != 0 && now_ms() < grace)
        poll(NULL, 0, 5);
    for (uint32_t i = 0; i < s->nloops; i++)
        if (s->loops[i].thread_started)
            post_control(&s->loops[i], CONTROL_STOP);
    for (uint32_t i = 0; i < s->nloops; i++)
        if (s->loops[i].thread_started) {
            pthread_join(s->loops[i].thread, NULL);
            s->loops[i].thread_started = false;
        }
    workers_destroy(s->workers);
    s->workers = NULL;
    return rc;
}

void http_server_destroy(struct http_server *s)
{
    if (s == NULL)
        return;
    if (s->started && s->loops != NULL && s->loops[0].thread_started) {
        http_server_stop(s);
        http_server_wait(s);
    }
    workers_destroy(s->workers);
    s->workers = NULL;
    for (uint32_t i = 0; i < s->nloops; i++)
        fini_loop(&s->loops[i]);
    /* h2o 2.2 cannot dispose a context whose connections or timers are
     * still linked (it asserts), and idle keep-alive connections may remain
     * after the drain. Once a loop was created its h2o state, and so the
     * server that its handler points to, stays allocated until the process
     * exits: a server is made once per process (docs/http.md). */
    for (uint32_t i = 0; i < s->nloops; i++)
        if (s->loops[i].ctx_ready)
            return;
    h2o_config_dispose(&s->globalconf);
    if (s->ssl_ctx != NULL)
        SSL_CTX_free(s->ssl_ctx);
    if (s->stop_fd >= 0)
        close(s->stop_fd);
    if (s->sem_ready)
        sem_destroy(&s->loops_ready);
    for (size_t i = 0; i < sizeof(s->strings) / sizeof(s->strings[0]); i++)
        spry_free(s->strings[i]);
    spry_free(s->loops);
    spry_free(s);
}

/*
 * Service chaining (see http_chain.h): a local exchange (http_internal.h,
 * `local`) run by the target's executor on a thread of its own, its
 * request body fed and its response drained by the caller under the
 * exchange's mutex.
 */
#include "trigger/http_chain.h"

#include "trigger/http_internal.h"

#include "base/alloc.h"
#include "base/log.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum {
    WINDOW = 256 * 1024,         /* request body waiting for the target (as the server's) */
    WRITE_AFTER_END = 64 * 1024, /* what body_write drops at once once the target ended */
    DEFAULT_MAX_BODY = 16 << 20, /* a WAGI target's whole body, unless configured */
    READ_CHUNK = 64 * 1024,      /* collecting a WAGI target's body */
    MAX_SPIN_HEADERS = 8,        /* what http_router_spin_headers emits without captures */
};

static const char CLIENT_ADDR[] = "0.0.0.0:0"; /* Spin's for a chained request */

/* Outbound HTTP's defaults (host/http_client.c) for what the caller left
 * unset. */
static const uint64_t DEFAULT_IO_NS = 60000u * 1000000u;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct http_chain_app {
    pthread_mutex_t mu;
    pthread_cond_t idle;
    size_t running; /* threads not yet ended */
    size_t max_running;
    const struct http_route *routes;
    size_t nroutes;
    uint64_t max_body;
};

struct http_chain {
    struct http_chain_app *app;
    struct http_exchange *ex; /* the caller's reference (the loop side's) */
    uint64_t seen;            /* ex->version at the last clear */
    size_t send_off;          /* read so far of ex->sending */
    struct spry_buf head_text;
    struct http_header_pair *head;
    size_t nhead;
    char length[24];
    struct http_header_pair *trailers; /* the response's, once asked for */
    size_t ntrailers;
    uint64_t first_byte_ns, between_ns; /* the caller's timeouts */
    uint64_t t_start, t_last;           /* CLOCK_MONOTONIC: started; head or bytes last taken */
    int failed;                         /* SPRY_ETIMEOUT once a timeout passed, else 0 */
};

struct chain_run {
    struct http_chain_app *app;
    struct http_exchange *ex; /* the thread's reference (the worker side's) */
};

/* ---- the app ---- */

int http_chain_app_create(uint64_t max_body_bytes, size_t max_running, struct http_chain_app **out)
{
    struct http_chain_app *app = spry_calloc(1, sizeof *app);
    if (app == NULL)
        return SPRY_ENOMEM;
    pthread_mutex_init(&app->mu, NULL);
    pthread_cond_init(&app->idle, NULL);
    app->max_body = max_body_bytes != 0 ? max_body_bytes : DEFAULT_MAX_BODY;
    app->max_running = max_running;
    *out = app;
    return 0;
}

void http_chain_app_set_routes(struct http_chain_app *app, const struct http_route *routes,
                               size_t n)
{
    app->routes = routes;
    app->nroutes = n;
}

void http_chain_app_destroy(struct http_chain_app *app)
{
    if (app == NULL)
        return;
    pthread_mutex_lock(&app->mu);
    while (app->running > 0)
        pthread_cond_wait(&app->idle, &app->mu);
    pthread_mutex_unlock(&app->mu);
    pthread_mutex_destroy(&app->mu);
    pthread_cond_destroy(&app->idle);
    spry_free(app);
}

/* ---- the target's thread ---- */

static void thread_ended(struct http_chain_app *app)
{
    pthread_mutex_lock(&app->mu);
    if (--app->running == 0)
        pthread_cond_broadcast(&app->idle);
    pthread_mutex_unlock(&app->mu);
}

/* A WAGI target takes its body whole (stdin): read it off the window. */
static int take_body(struct http_exchange *ex, uint64_t max, struct spry_buf *body)
{
    uint8_t chunk[READ_CHUNK];
    for (;;) {
        ssize_t k = http_exchange_read_body(ex, chunk, sizeof chunk);
        if (k < 0)
            return (int)k;
        if (k == 0)
            break;
        if (body->len + (size_t)k > max)
            return SPRY_ETOOBIG;
        int rc = spry_buf_append(body, chunk, (size_t)k);
        if (rc != 0)
            return rc;
    }
    pthread_mutex_lock(&ex->mu);
    ex->req.body = body->len > 0 ? body->data : (const uint8_t *)"";
    ex->req.body_len = body->len;
    pthread_mutex_unlock(&ex->mu);
    return 0;
}

static void answer(struct http_exchange *ex, uint16_t status, const char *msg)
{
    static const struct http_header_pair ct = {"content-type", "text/plain"};
    if (http_exchange_start(ex, status, &ct, 1, (int64_t)strlen(msg)) == 0 &&
        http_exchange_write(ex, msg, strlen(msg)) == 0)
        http_exchange_finish(ex);
}

static void *chain_main(void *arg)
{
    struct chain_run *run = arg;
    struct http_chain_app *app = run->app;
    struct http_exchange *ex = run->ex;
    spry_free(run);
    struct spry_buf body;
    spry_buf_init(&body, app->max_body + 1);
    int rc = ex->executor->stream_body ? 0 : take_body(ex, app->max_body, &body);
    if (rc == 0) {
        exchange_run(ex); /* handle(), the ending; drops the thread's reference */
    } else {
        if (rc == SPRY_ETOOBIG)
            answer(ex, 413, "request body too large\n");
        else if (rc != SPRY_EINTERRUPTED)
            answer(ex, 500, "Internal Server Error\n");
        exchange_release(ex);
    }
    spry_buf_fini(&body);
    thread_ended(app);
    return NULL;
}

/* ---- starting ---- */

/* The caller's headers that the chained request replaces: the authority
 * chooses the Host, and the spin-* metadata is the target's own. */
static bool replaced(const char *name)
{
    return strcasecmp(name, "host") == 0 || strncasecmp(name, "spin-", 5) == 0;
}

static char *arena_str(struct spry_arena *a, const char *s, size_t n)
{
    char *d = spry_arena_alloc(a, n + 1);
    if (d != NULL && n > 0)
        memcpy(d, s, n);
    return d;
}

/* The component's last route: as Spin, whose settings for a component
 * are those of its last [[trigger.http]] entry. */
static const struct http_route *find_route(const struct http_chain_app *app, const char *id)
{
    const struct http_route *found = NULL;
    for (size_t i = 0; i < app->nroutes; i++) {
        const struct http_route *r = &app->routes[i];
        if (r->kind == HTTP_TARGET_COMPONENT && r->component_id != NULL &&
            strcmp(r->component_id, id) == 0 && r->executor != NULL)
            found = r;
    }
    return found;
}

static bool line_ok(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s == '\r' || *s == '\n')
            return false;
    return true;
}

/* RFC 9110's tchar. */
static bool tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A control character a field value may not hold (HTAB may). */
static bool ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* ex->req from r (the arena is sized for it). */
static int fill(struct http_exchange *ex, const struct http_exchange *from,
                const struct http_route *route, const struct http_chain_request *r)
{
    struct spry_arena *a = &ex->arena;
    struct http_request *q = &ex->req;
    const char *pq =
        r->path_with_query != NULL && r->path_with_query[0] != '\0' ? r->path_with_query : "/";
    bool slash = pq[0] != '/';
    size_t pql = strlen(pq);
    char *target = spry_arena_alloc(a, pql + 2);
    if (target == NULL)
        return SPRY_ENOMEM;
    snprintf(target, pql + 2, "%s%s", slash ? "/" : "", pq);
    const char *qm = strchr(target, '?');
    size_t plen = qm != NULL ? (size_t)(qm - target) : strlen(target);
    q->method = arena_str(a, r->method, strlen(r->method));
    q->target = target;
    q->path = arena_str(a, target, plen);
    q->query = qm != NULL ? arena_str(a, qm + 1, strlen(qm + 1)) : "";
    q->scheme = "http";
    q->authority = arena_str(a, r->authority, strlen(r->authority));
    q->client_addr = CLIENT_ADDR;
    q->server_addr = from != NULL ? from->req.server_addr : "";
    q->http_version = 0x101;
    q->route = route;
    q->matched_route = "/...";
    q->raw_route = "/...";
    q->component_route = "";
    q->base = "/";
    q->path_info = q->path;
    q->body = (const uint8_t *)"";
    q->body_len = 0;
    if (q->method == NULL || q->path == NULL || q->query == NULL || q->authority == NULL)
        return SPRY_ENOMEM;
    struct http_header_list hl = {a, NULL, 0, r->nheaders + 1 + MAX_SPIN_HEADERS};
    hl.items = spry_arena_alloc_array(a, hl.cap, sizeof *hl.items);
    if (hl.items == NULL)
        return SPRY_ENOMEM;
    int rc = http_header_add(&hl, "host", 4, q->authority, strlen(q->authority));
    for (size_t i = 0; rc == 0 && i < r->nheaders; i++) {
        const struct http_header_pair *h = &r->headers[i];
        if (!replaced(h->name))
            rc = http_header_add(&hl, h->name, strlen(h->name), h->value, strlen(h->value));
    }
    q->nclient_headers = hl.n;
    struct http_match m = {
        .route = route,
        .matched_route = q->matched_route,
        .raw_route = q->raw_route,
        .component_route = q->component_route,
        .base = q->base,
        .path_info = q->path,
        .path_info_len = plen,
    };
    struct http_request_facts f = {q->scheme, q->authority, target, strlen(target), CLIENT_ADDR};
    if (rc == 0)
        rc = http_router_spin_headers(&m, &f, http_header_add, &hl);
    q->headers = hl.items;
    q->nheaders = hl.n;
    ex->body_end = !r->has_body;
    return rc;
}

static int start(struct http_chain_app *app, const struct http_exchange *from,
                 const struct http_route *route, const struct http_chain_request *r,
                 struct http_chain **out, char *why, size_t cap);

int http_chain_start(struct http_chain_app *app, const struct http_exchange *from,
                     const struct http_chain_request *r, struct http_chain **out, char *why,
                     size_t cap)
{
    uint32_t depth = (from != NULL ? http_exchange_depth(from) : 0) + 1;
    if (depth > HTTP_CHAIN_MAX_DEPTH) {
        snprintf(why, cap, "service chaining to '%s' would be %u requests deep (at most %d)",
                 r->component_id, depth, HTTP_CHAIN_MAX_DEPTH);
        return HTTP_CHAIN_LOOP;
    }
    const struct http_route *route = find_route(app, r->component_id);
    if (route == NULL) {
        snprintf(why, cap, "component '%s' has no HTTP route to serve a chained request",
                 r->component_id);
        return HTTP_CHAIN_NO_ROUTE;
    }
    pthread_mutex_lock(&app->mu);
    bool room = app->running < app->max_running;
    if (room)
        app->running++; /* this one's, from here on */
    pthread_mutex_unlock(&app->mu);
    if (!room) {
        snprintf(why, cap,
                 "%zu chained requests run already, as many as the instance pool leaves room "
                 "for (--max-instances)",
                 app->max_running);
        return HTTP_CHAIN_BUSY;
    }
    int rc = start(app, from, route, r, out, why, cap);
    if (rc != HTTP_CHAIN_OK)
        thread_ended(app);
    return rc;
}

/* http_chain_start once a slot is counted for it. */
static int start(struct http_chain_app *app, const struct http_exchange *from,
                 const struct http_route *route, const struct http_chain_request *r,
                 struct http_chain **out, char *why, size_t cap)
{
    const struct http_executor *executor = route->executor;
    const char *pq = r->path_with_query != NULL ? r->path_with_query : "/";
    size_t need = strlen(r->method) + 2 * strlen(r->authority) + 4 * strlen(pq) + 256;
    bool ok = line_ok(r->method) && line_ok(pq) && line_ok(r->authority);
    for (size_t i = 0; i < r->nheaders; i++) {
        ok = ok && line_ok(r->headers[i].name) && line_ok(r->headers[i].value);
        need += strlen(r->headers[i].name) + strlen(r->headers[i].value) + 2 +
                sizeof(struct http_header_pair);
    }
    if (!ok) {
        snprintf(why, cap, "a method, path or header of the request has a line break");
        return HTTP_CHAIN_INVALID;
    }
    struct http_chain *c = spry_calloc(1, sizeof *c);
    struct chain_run *run = spry_calloc(1, sizeof *run);
    struct http_exchange *ex = NULL;
    if (c == NULL || run == NULL ||
        exchange_create(NULL, executor, 2 * need + 64 * 1024, &ex) != 0) {
        spry_free(c);
        spry_free(run);
        snprintf(why, cap, "out of memory");
        return HTTP_CHAIN_RESOURCES;
    }
    ex->depth = (from != NULL ? http_exchange_depth(from) : 0) + 1;
    if (fill(ex, from, route, r) != 0) {
        exchange_release(ex);
        exchange_release(ex);
        spry_free(c);
        spry_free(run);
        snprintf(why, cap, "out of memory");
        return HTTP_CHAIN_RESOURCES;
    }
    /* Without them a guest's poll asks every millisecond instead. */
    ex->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ex->body_wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    c->app = app;
    c->ex = ex;
    c->first_byte_ns = r->first_byte_timeout_ns != 0 ? r->first_byte_timeout_ns : DEFAULT_IO_NS;
    c->between_ns = r->between_bytes_timeout_ns != 0 ? r->between_bytes_timeout_ns : DEFAULT_IO_NS;
    c->t_start = now_ns();
    spry_buf_init(&c->head_text, 1 << 20);
    *run = (struct chain_run){app, ex};
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int err = pthread_create(&t, &attr, chain_main, run);
    pthread_attr_destroy(&attr);
    if (err != 0) {
        exchange_release(ex);
        exchange_release(ex);
        spry_buf_fini(&c->head_text);
        spry_free(c);
        spry_free(run);
        snprintf(why, cap, "cannot start a thread: %s", strerror(err));
        return HTTP_CHAIN_RESOURCES;
    }
    *out = c;
    return HTTP_CHAIN_OK;
}

/* ---- the caller's side ---- */

/* The target answered and handle() returned (mu held). */
static bool ended_locked(const struct http_exchange *ex)
{
    return ex->finished && !ex->running;
}

int64_t http_chain_body_capacity(struct http_chain *c)
{
    struct http_exchange *ex = c->ex;
    pthread_mutex_lock(&ex->mu);
    int64_t cap;
    if (ex->cancelled || ex->body_end) {
        cap = SPRY_EINTERRUPTED;
    } else if (ended_locked(ex)) {
        cap = WRITE_AFTER_END;
    } else {
        cap = (int64_t)WINDOW - (int64_t)(ex->window.len - ex->window_off);
        if (cap <= 0) {
            cap = 0;
            ex->body_blocked = true; /* read_body posts once half of it is free */
        }
    }
    pthread_mutex_unlock(&ex->mu);
    return cap;
}

int http_chain_body_write(struct http_chain *c, const void *p, size_t n)
{
    struct http_exchange *ex = c->ex;
    int rc = 0;
    pthread_mutex_lock(&ex->mu);
    if (ex->cancelled || ex->body_end) {
        rc = SPRY_EINTERRUPTED;
    } else if (!ended_locked(ex)) { /* else nobody reads it: dropped */
        if (ex->window_off > 0) {
            size_t keep = ex->window.len - ex->window_off;
            memmove(ex->window.data, ex->window.data + ex->window_off, keep);
            ex->window.len = keep;
            ex->window_off = 0;
        }
        if (ex->window.len + n > WINDOW)
            rc = SPRY_EINVAL; /* more than body_capacity allowed */
        else
            rc = spry_buf_append(&ex->window, p, n);
        if (rc == 0) {
            pthread_cond_broadcast(&ex->body_cv);
            exchange_wake_locked(ex->body_wake_fd, &ex->body_wake_armed);
        }
    }
    pthread_mutex_unlock(&ex->mu);
    return rc;
}

static bool ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Appends one request trailer field as the network's chunked decoder
 * keeps it: the name lower case, the value without the whitespace around
 * it (mu held; the buffer holds twice BODY_TRAILER_MAX). */
static int add_req_trailer(struct spry_buf *b, const char *name, const char *value)
{
    size_t at = b->len, vl = strlen(value);
    while (ows(*value))
        value++, vl--;
    while (vl > 0 && ows(value[vl - 1]))
        vl--;
    int rc = spry_buf_append(b, name, strlen(name) + 1);
    for (size_t k = at; rc == 0 && b->data[k] != 0; k++)
        if (b->data[k] >= 'A' && b->data[k] <= 'Z')
            b->data[k] = (uint8_t)(b->data[k] - 'A' + 'a');
    if (rc == 0)
        rc = spry_buf_append(b, value, vl);
    if (rc == 0)
        rc = spry_buf_append_byte(b, 0);
    return rc;
}

/* Checks trailer fields as the chunked decoder checks a request's trailer
 * section: token names, no control characters in values, at most
 * BODY_TRAILER_MAX bytes of "name: value\r\n" lines. */
static int trailers_check(const struct http_header_pair *trailers, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = trailers[i].name, *value = trailers[i].value;
        if (name == NULL || value == NULL || name[0] == '\0')
            return SPRY_EINVAL;
        for (const char *p = name; *p != '\0'; p++)
            if (!tchar((unsigned char)*p))
                return SPRY_EINVAL;
        for (const char *p = value; *p != '\0'; p++)
            if (ctl((unsigned char)*p))
                return SPRY_EINVAL;
        bytes += strlen(name) + strlen(value) + 4;
        if (bytes > BODY_TRAILER_MAX)
            return SPRY_ETOOBIG;
    }
    return 0;
}

int http_chain_body_finish(struct http_chain *c, const struct http_header_pair *trailers, size_t n)
{
    int bad = trailers_check(trailers, n);
    struct http_exchange *ex = c->ex;
    pthread_mutex_lock(&ex->mu);
    if (bad != 0) { /* as the server refuses such a body: the target is cancelled */
        if (!ended_locked(ex))
            exchange_cancel_locked(ex);
        pthread_mutex_unlock(&ex->mu);
        return bad;
    }
    int rc = ex->cancelled ? SPRY_EINTERRUPTED : 0;
    if (!ex->body_end) {
        spry_buf_reset(&ex->req_trailers);
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = add_req_trailer(&ex->req_trailers, trailers[i].name, trailers[i].value);
        if (rc != 0)
            spry_buf_reset(&ex->req_trailers);
    }
    ex->body_end = true;
    pthread_cond_broadcast(&ex->body_cv);
    exchange_wake_locked(ex->body_wake_fd, &ex->body_wake_armed);
    pthread_mutex_unlock(&ex->mu);
    return rc;
}

/* Copies the head the target started (mu held; the head is immutable once
 * started). */
static int take_head(struct http_chain *c, const struct http_exchange *ex)
{
    size_t nuls = 0;
    for (size_t i = 0; i < ex->head.len; i++)
        nuls += ex->head.data[i] == '\0';
    size_t n = nuls / 2 + (ex->content_length >= 0 ? 1 : 0); /* "name\0value\0" a field */
    int rc = spry_buf_append(&c->head_text, ex->head.data, ex->head.len);
    struct http_header_pair *h = spry_alloc_array(n == 0 ? 1 : n, sizeof *h);
    if (rc != 0 || h == NULL) {
        spry_free(h);
        return SPRY_ENOMEM;
    }
    size_t k = 0;
    const char *p = (const char *)c->head_text.data, *end = spry_buf_end(&c->head_text);
    while (p != NULL && p < end) {
        const char *value = p + strlen(p) + 1;
        h[k++] = (struct http_header_pair){p, value};
        p = value + strlen(value) + 1;
    }
    if (ex->content_length >= 0) {
        snprintf(c->length, sizeof c->length, "%lld", (long long)ex->content_length);
        h[k++] = (struct http_header_pair){"content-length", c->length};
    }
    c->head = h;
    c->nhead = k;
    return 0;
}

/* Whether a timeout passed while the caller waits (mu held). */
static bool overdue_locked(const struct http_chain *c)
{
    const struct http_exchange *ex = c->ex;
    if (ex->cancelled || ex->abort)
        return false;
    if (!ex->started)
        return now_ns() - c->t_start >= c->first_byte_ns;
    bool waiting =
        c->head != NULL && c->send_off == ex->sending.len && ex->pending.len == 0 && !ex->finished;
    return waiting && now_ns() - c->t_last >= c->between_ns;
}

/* A timeout passed: the target is cancelled, the request fails (mu held). */
static int time_out_locked(struct http_chain *c)
{
    if (!ended_locked(c->ex))
        exchange_cancel_locked(c->ex);
    c->failed = SPRY_ETIMEOUT;
    return SPRY_ETIMEOUT;
}

int http_chain_head(struct http_chain *c, uint16_t *status, const struct http_header_pair **headers,
                    size_t *n)
{
    struct http_exchange *ex = c->ex;
    if (c->failed != 0)
        return c->failed;
    pthread_mutex_lock(&ex->mu);
    int rc = 0;
    if (!ex->started)
        rc = ex->cancelled ? SPRY_EINTERRUPTED : SPRY_EBUSY;
    else if (c->head == NULL && (rc = take_head(c, ex)) == 0)
        c->t_last = now_ns();
    if (rc == SPRY_EBUSY && now_ns() - c->t_start >= c->first_byte_ns)
        rc = time_out_locked(c);
    if (rc == 0) {
        *status = ex->status;
        *headers = c->head;
        *n = c->nhead;
    }
    pthread_mutex_unlock(&ex->mu);
    return rc;
}

int64_t http_chain_body_read(struct http_chain *c, void *buf, size_t cap, bool *eof)
{
    struct http_exchange *ex = c->ex;
    *eof = false;
    if (c->failed != 0)
        return c->failed;
    pthread_mutex_lock(&ex->mu);
    if (c->send_off == ex->sending.len && ex->pending.len > 0) {
        struct spry_buf t = ex->sending; /* take what waits; the writer may go on */
        ex->sending = ex->pending;
        ex->pending = t;
        spry_buf_reset(&ex->pending);
        c->send_off = 0;
        pthread_cond_broadcast(&ex->space);
    }
    int64_t k = 0;
    if (c->send_off < ex->sending.len) {
        size_t left = ex->sending.len - c->send_off;
        k = (int64_t)(left < cap ? left : cap);
        memcpy(buf, ex->sending.data + c->send_off, (size_t)k);
        c->send_off += (size_t)k;
        c->t_last = now_ns();
    } else if (ex->abort) {
        k = SPRY_EIO;
    } else if (ex->cancelled) {
        k = SPRY_EINTERRUPTED;
    } else if (ex->finished) {
        *eof = true;
    } else if (overdue_locked(c)) {
        k = time_out_locked(c);
    }
    pthread_mutex_unlock(&ex->mu);
    return k;
}

/* Whether HTTP/1.1 would carry the response's trailers: chunked, a body
 * of unknown length, not for HEAD, 1xx, 204 or 304 (mu held). */
static bool chunked_locked(const struct http_exchange *ex)
{
    uint16_t st = ex->status;
    return ex->content_length < 0 && !(st >= 100 && st < 200) && st != 204 && st != 304 &&
           strcmp(ex->req.method, "HEAD") != 0;
}

int http_chain_trailers(struct http_chain *c, const struct http_header_pair **t, size_t *n)
{
    struct http_exchange *ex = c->ex;
    *t = NULL;
    *n = 0;
    pthread_mutex_lock(&ex->mu);
    int rc = 0;
    if (!ex->finished || c->send_off < ex->sending.len || ex->pending.len > 0) {
        rc = SPRY_EBUSY;
    } else if (c->trailers == NULL && chunked_locked(ex) && ex->trailers.len > 0) {
        /* Fixed once finished: the pairs point into the buffer. */
        const char *p = (const char *)ex->trailers.data, *end = spry_buf_end(&ex->trailers);
        size_t k = 0;
        for (const char *q = p; q < end; q += strlen(q) + 1)
            k++;
        c->trailers = spry_alloc_array(k / 2, sizeof *c->trailers);
        if (c->trailers == NULL)
            rc = SPRY_ENOMEM;
        for (size_t i = 0; rc == 0 && i < k / 2; i++) {
            const char *value = p + strlen(p) + 1;
            c->trailers[i] = (struct http_header_pair){p, value};
            p = value + strlen(value) + 1;
        }
        if (rc == 0)
            c->ntrailers = k / 2;
    }
    if (rc == 0) {
        *t = c->trailers;
        *n = c->ntrailers;
    }
    pthread_mutex_unlock(&ex->mu);
    return rc;
}

void http_chain_clear(struct http_chain *c)
{
    pthread_mutex_lock(&c->ex->mu);
    c->seen = c->ex->version;
    pthread_mutex_unlock(&c->ex->mu);
}

bool http_chain_changed(struct http_chain *c)
{
    pthread_mutex_lock(&c->ex->mu);
    bool changed = c->ex->version != c->seen || overdue_locked(c);
    pthread_mutex_unlock(&c->ex->mu);
    return changed;
}

void http_chain_wait(struct http_chain *c, uint64_t ns)
{
    struct http_exchange *ex = c->ex;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(ns / 1000000000u);
    until.tv_nsec += (long)(ns % 1000000000u);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&ex->mu);
    while (ex->version == c->seen &&
           pthread_cond_timedwait(&ex->space, &ex->mu, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&ex->mu);
}

/* Empties fd and arms it (mu held). */
static int rearm_locked(int fd, bool *armed)
{
    if (fd < 0)
        return -1;
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v); /* EAGAIN: it was empty */
    (void)r;
    *armed = true;
    return fd;
}

int http_chain_wake_fd(struct http_chain *c)
{
    struct http_exchange *ex = c->ex;
    pthread_mutex_lock(&ex->mu);
    int fd = rearm_locked(ex->wake_fd, &ex->wake_armed);
    pthread_mutex_unlock(&ex->mu);
    return fd;
}

int http_chain_body_wake_fd(struct http_exchange *ex)
{
    if (!ex->local)
        return -1;
    pthread_mutex_lock(&ex->mu);
    int fd = rearm_locked(ex->body_wake_fd, &ex->body_wake_armed);
    pthread_mutex_unlock(&ex->mu);
    return fd;
}

void http_chain_destroy(struct http_chain *c)
{
    if (c == NULL)
        return;
    struct http_exchange *ex = c->ex;
    pthread_mutex_lock(&ex->mu);
    if (!ended_locked(ex))
        exchange_cancel_locked(ex);
    pthread_mutex_unlock(&ex->mu);
    exchange_release(ex);
    spry_buf_fini(&c->head_text);
    spry_free(c->head);
    spry_free(c->trailers);
    spry_free(c);
}

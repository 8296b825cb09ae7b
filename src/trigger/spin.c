/*
 * The spin executor (see spin.h).
 */
#include "trigger/spin.h"

#include "base/alloc.h"
#include "base/log.h"
#include "component/binary.h"
#include "component/canon.h"
#include "component/link.h"
#include "component/wasihttp/wasihttp.h"
#include "component/wasip2/wasip2.h"
#include "trigger/http_body.h"
#include "trigger/spin_spec.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

enum {
    MAX_OUTPUT = 1 << 20, /* guest stdout and stderr kept per request, for the logs */
    SPEC_BACKOFF = 64,    /* requests sent straight to a worker after a deferral */
};

/* The handler interface; any 0.2.x export is served (clink_export_find). */
static const char HANDLER[] = "wasi:http/incoming-handler@0.2.0";

struct spin_executor {
    struct spin_config config; /* strings borrowed from the caller */
    struct cbin *bin;
    struct clink *link;
    const struct clink_export *handle;
    struct http_executor http;
    struct wasihttp_outgoing outgoing;
    atomic_uint spec_skip; /* speculative runs still to decline (SPEC_BACKOFF) */
};

/* Per request: what the wasi:http callbacks need. */
struct spin_req {
    struct spin_executor *s;
    struct http_exchange *ex;
    const struct http_request *req;
    struct wasihttp_outgoing outgoing; /* s->outgoing with this request as user */
    struct spin_spec *spec;            /* a speculative run's (spin_spec.h); NULL on a worker */
    struct wasihttp_header *trailers;  /* the request's, converted once */
};

/* ---- the request body ----
 *
 * Streamed from the connection as it arrives (the executor sets
 * stream_body): the guest's reads block until bytes come, with the
 * server's bounded window as back-pressure on the client. */
static int read_body(void *user, uint8_t *buf, size_t cap, size_t *n)
{
    struct spin_req *r = user;
    if (r->spec != NULL && !http_exchange_body_ready(r->ex)) {
        *n = 0;
        return spin_spec_veto(r->spec, "its request body has not arrived");
    }
    ssize_t k = http_exchange_read_body(r->ex, buf, cap);
    if (k < 0) {
        *n = 0;
        return (int)k;
    }
    *n = (size_t)k;
    return 0;
}

static bool body_ready(void *user)
{
    return http_exchange_body_ready(((struct spin_req *)user)->ex);
}

static int body_wake_fd(void *user)
{
    return http_chain_body_wake_fd(((struct spin_req *)user)->ex);
}

static int request_trailers(void *user, const struct wasihttp_header **t, size_t *n)
{
    struct spin_req *r = user;
    const struct http_header_pair *p;
    int rc = http_exchange_request_trailers(r->ex, &p, n);
    if (rc != 0 || *n == 0) {
        *t = NULL;
        return rc;
    }
    if (r->trailers == NULL) {
        r->trailers = spry_alloc_array(*n, sizeof *r->trailers);
        if (r->trailers == NULL)
            return SPRY_ENOMEM;
        for (size_t i = 0; i < *n; i++)
            r->trailers[i] = (struct wasihttp_header){p[i].name, p[i].value};
    }
    *t = r->trailers;
    return 0;
}

/* ---- the response ---- */

static int respond(void *user, uint16_t status, const struct wasihttp_header *headers, size_t n,
                   int64_t content_length)
{
    struct spin_req *r = user;
    if (r->spec != NULL)
        return spin_spec_respond(r->spec, status, headers, n, content_length);
    struct http_header_pair *h = spry_alloc_array(n == 0 ? 1 : n, sizeof *h);
    if (h == NULL)
        return SPRY_ENOMEM;
    for (size_t i = 0; i < n; i++)
        h[i] = (struct http_header_pair){headers[i].name, headers[i].value};
    int rc = http_exchange_start(r->ex, status, h, n, content_length);
    spry_free(h);
    return rc;
}

static int write_body(void *user, const uint8_t *p, size_t n)
{
    struct spin_req *r = user;
    if (r->spec != NULL)
        return spin_spec_write(r->spec, p, n);
    return http_exchange_write(r->ex, p, n);
}

/* Trailers follow an HTTP/1.1 chunked body and are dropped otherwise (the
 * exchange's rules; docs/http.md, "Trailers"). */
static int finish(void *user, const struct wasihttp_header *trailers, size_t n)
{
    struct spin_req *r = user;
    if (r->spec != NULL)
        return n == 0 ? spin_spec_finish(r->spec) : spin_spec_veto(r->spec, "it sends trailers");
    struct http_exchange *ex = r->ex;
    if (n == 0)
        return http_exchange_finish(ex);
    struct http_header_pair *t = spry_alloc_array(n, sizeof *t);
    if (t == NULL)
        return SPRY_ENOMEM;
    for (size_t i = 0; i < n; i++)
        t[i] = (struct http_header_pair){trailers[i].name, trailers[i].value};
    int rc = http_exchange_finish_trailers(ex, t, n);
    spry_free(t);
    return rc;
}

/* ---- outbound HTTP: wasihttp's hook on the http_client ---- */

struct spin_out {
    struct spin_executor *s;
    struct http_client_request *r;
    struct http_chain *chain;                /* instead of r: a chained request (http_chain.h) */
    struct wasihttp_header *head, *trailers; /* converted once */
    size_t nhead, ntrailers;
};

static void copy_error(const struct http_client_error *e, struct wasihttp_error *err)
{
    err->code = (uint32_t)e->code;
    snprintf(err->message, sizeof err->message, "%s", e->message);
}

static void deny(struct wasihttp_error *err, const char *why)
{
    err->code = WASIHTTP_EC_HTTP_REQUEST_DENIED;
    snprintf(err->message, sizeof err->message, "%s", why);
}

/* A relative request may reach the app's own origin and nothing else. */
static bool allow_self(void *ctx, const char *scheme, const char *host, int port, char *why,
                       size_t why_size)
{
    const struct spin_executor *s = ctx;
    char target[320];
    bool v6 = strchr(host, ':') != NULL;
    snprintf(target, sizeof target, "%s://%s%s%s:%d", scheme, v6 ? "[" : "", host, v6 ? "]" : "",
             port);
    if (s->config.self_origin != NULL && strcmp(target, s->config.self_origin) == 0)
        return true;
    snprintf(why, why_size, "a relative request goes to the app itself only");
    return false;
}

static struct http_client_header *client_headers(const struct wasihttp_header *h, size_t n)
{
    struct http_client_header *v = spry_alloc_array(n == 0 ? 1 : n, sizeof *v);
    if (v != NULL)
        for (size_t i = 0; i < n; i++)
            v[i] = (struct http_client_header){h[i].name, strlen(h[i].name), h[i].value,
                                               strlen(h[i].value)};
    return v;
}

/* Service chaining: the component named by "<id>.spin.internal[:port]"
 * serves the request in-process. */
static int chain_start(struct spin_req *sr, const struct wasihttp_outgoing_request *q,
                       const char *authority, void **req, struct wasihttp_error *err)
{
    struct spin_executor *s = sr->s;
    static const char suffix[] = ".spin.internal";
    char id[256];
    size_t n = strcspn(authority, ":"), k = sizeof suffix - 1;
    if (s->config.chain == NULL || n <= k || n - k >= sizeof id ||
        strncasecmp(authority + n - k, suffix, k) != 0) {
        err->code = WASIHTTP_EC_INTERNAL_ERROR;
        snprintf(err->message, sizeof err->message, "service chaining (%s) is not available here",
                 authority);
        return SPRY_EUNSUPPORTED;
    }
    for (size_t i = 0; i < n - k; i++)
        id[i] = (char)tolower((unsigned char)authority[i]);
    id[n - k] = '\0';
    struct http_header_pair *hd = spry_alloc_array(q->nheaders == 0 ? 1 : q->nheaders, sizeof *hd);
    struct spin_out *o = spry_calloc(1, sizeof *o);
    if (hd == NULL || o == NULL) {
        spry_free(hd);
        spry_free(o);
        err->code = WASIHTTP_EC_INTERNAL_ERROR;
        snprintf(err->message, sizeof err->message, "out of memory");
        return SPRY_ENOMEM;
    }
    for (size_t i = 0; i < q->nheaders; i++)
        hd[i] = (struct http_header_pair){q->headers[i].name, q->headers[i].value};
    struct http_chain_request cr = {
        .component_id = id,
        .method = q->method,
        .authority = authority,
        .path_with_query = q->path_with_query,
        .headers = hd,
        .nheaders = q->nheaders,
        .has_body = q->has_body,
        .first_byte_timeout_ns = q->first_byte_timeout_ns,
        .between_bytes_timeout_ns = q->between_bytes_timeout_ns,
    };
    char why[sizeof err->message];
    int rc = http_chain_start(s->config.chain, sr->ex, &cr, &o->chain, why, sizeof why);
    spry_free(hd);
    if (rc != HTTP_CHAIN_OK) {
        spry_log(SPRY_LOG_WARN, "component %s: chained request to %s failed: %s",
                 s->config.component_id, authority, why);
        spry_free(o);
        err->code = rc == HTTP_CHAIN_LOOP   ? HTTP_ERR_LOOP_DETECTED
                    : rc == HTTP_CHAIN_BUSY ? HTTP_ERR_CONNECTION_LIMIT_REACHED
                                            : WASIHTTP_EC_INTERNAL_ERROR;
        snprintf(err->message, sizeof err->message, "%s", why);
        return rc == HTTP_CHAIN_RESOURCES ? SPRY_ENOMEM : SPRY_EINVALID;
    }
    o->s = s;
    *req = o;
    return 0;
}

static int out_start(void *user, const struct wasihttp_outgoing_request *q, void **req,
                     struct wasihttp_error *err)
{
    struct spin_req *sr = user;
    struct spin_executor *s = sr->s;
    const char *id = s->config.component_id;
    const char *authority = q->authority != NULL && q->authority[0] != '\0' ? q->authority : NULL;
    /* No scheme: http for the app itself, else https (the safer guess). */
    const char *scheme = q->scheme != NULL ? q->scheme : authority == NULL ? "http" : "https";
    char why[160] = "";
    enum spin_route route =
        s->config.route(s->config.outbound_ctx, scheme, authority, why, sizeof why);
    if (route == SPIN_ROUTE_DENIED) {
        spry_log(SPRY_LOG_WARN, "component %s: outbound request to %s://%s denied: %s", id, scheme,
                 authority != NULL ? authority : "(self)", why);
        deny(err, why);
        return SPRY_EINVALID;
    }
    if (route == SPIN_ROUTE_CHAIN)
        return chain_start(sr, q, authority != NULL ? authority : "", req, err);
    if (route == SPIN_ROUTE_SELF && s->config.self_origin == NULL) {
        deny(err, "the app's own address is not known");
        return SPRY_EINVALID;
    }
    const char *path = q->path_with_query != NULL ? q->path_with_query : "/";
    size_t cap = strlen(scheme) + (authority != NULL ? strlen(authority) : 0) + strlen(path) +
                 (s->config.self_origin != NULL ? strlen(s->config.self_origin) : 0) + 8;
    char *url = spry_malloc(cap);
    struct http_client_header *hd = client_headers(q->headers, q->nheaders);
    struct spin_out *o = spry_calloc(1, sizeof *o);
    if (url == NULL || hd == NULL || o == NULL) {
        spry_free(url);
        spry_free(hd);
        spry_free(o);
        err->code = WASIHTTP_EC_INTERNAL_ERROR;
        snprintf(err->message, sizeof err->message, "out of memory");
        return SPRY_ENOMEM;
    }
    const char *slash = path[0] == '/' ? "" : "/";
    if (route == SPIN_ROUTE_SELF)
        snprintf(url, cap, "%s%s%s", s->config.self_origin, slash, path);
    else
        snprintf(url, cap, "%s://%s%s%s", scheme, authority, slash, path);
    struct http_client_request_options ro = {
        .method = q->method,
        .url = url,
        .headers = hd,
        .n_headers = q->nheaders,
        .has_body = q->has_body,
        .content_length = q->content_length,
        .connect_timeout_ns = q->connect_timeout_ns,
        .first_byte_timeout_ns = q->first_byte_timeout_ns,
        .between_bytes_timeout_ns = q->between_bytes_timeout_ns,
        .allow = route == SPIN_ROUTE_SELF ? allow_self : s->config.allow,
        .allow_ctx = route == SPIN_ROUTE_SELF ? (void *)s : s->config.outbound_ctx,
    };
    struct http_client_error e;
    int rc = http_client_submit(s->config.client, &ro, &o->r, &e);
    spry_free(hd);
    if (rc != 0) {
        if (e.code == HTTP_ERR_HTTP_REQUEST_DENIED)
            spry_log(SPRY_LOG_WARN, "component %s: outbound request to %s denied: %s", id, url,
                     e.message);
        spry_free(url);
        spry_free(o);
        copy_error(&e, err);
        return rc;
    }
    spry_free(url);
    o->s = s;
    *req = o;
    return 0;
}

static int64_t out_body_capacity(void *req)
{
    struct spin_out *o = req;
    return o->chain != NULL ? http_chain_body_capacity(o->chain) : http_client_body_capacity(o->r);
}

static int out_body_write(void *req, const uint8_t *p, size_t n)
{
    struct spin_out *o = req;
    return o->chain != NULL ? http_chain_body_write(o->chain, p, n)
                            : http_client_body_write(o->r, p, n);
}

/* A chained request's body ends with the caller's trailers. */
static int chain_body_finish(struct spin_out *o, const struct wasihttp_header *trailers, size_t n,
                             struct wasihttp_error *err)
{
    struct http_header_pair *t = spry_alloc_array(n == 0 ? 1 : n, sizeof *t);
    if (t == NULL) {
        err->code = WASIHTTP_EC_INTERNAL_ERROR;
        snprintf(err->message, sizeof err->message, "out of memory");
        return SPRY_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        t[i] = (struct http_header_pair){trailers[i].name, trailers[i].value};
    int rc = http_chain_body_finish(o->chain, t, n);
    spry_free(t);
    if (rc == SPRY_ETOOBIG) {
        err->code = HTTP_ERR_HTTP_REQUEST_TRAILER_SECTION_SIZE;
        snprintf(err->message, sizeof err->message,
                 "the request trailers pass %u bytes (the chained request was cancelled)",
                 BODY_TRAILER_MAX);
    } else if (rc == SPRY_EINVAL) {
        err->code = WASIHTTP_EC_INTERNAL_ERROR;
        snprintf(err->message, sizeof err->message,
                 "a request trailer is not a valid field (the chained request was cancelled)");
    } else if (rc != 0) {
        err->code = HTTP_ERR_CONNECTION_TERMINATED;
        snprintf(err->message, sizeof err->message, "the chained request was cancelled");
    }
    return rc;
}

/* Trailers reach a chained request only: the client sends none. */
static int out_body_finish(void *req, const struct wasihttp_header *trailers, size_t n,
                           struct wasihttp_error *err)
{
    struct spin_out *o = req;
    if (o->chain != NULL)
        return chain_body_finish(o, trailers, n, err);
    struct http_client_error e;
    int rc = http_client_body_finish(o->r, &e);
    if (rc != 0)
        copy_error(&e, err);
    return rc;
}

static struct wasihttp_header *convert(const struct http_client_header *h, size_t n)
{
    struct wasihttp_header *v = spry_alloc_array(n == 0 ? 1 : n, sizeof *v);
    if (v != NULL)
        for (size_t i = 0; i < n; i++)
            v[i] = (struct wasihttp_header){h[i].name, h[i].value};
    return v;
}

/* The head of a chained request's response. */
static int chain_head(struct spin_out *o, uint16_t *status, const struct wasihttp_header **headers,
                      size_t *n, struct wasihttp_error *err)
{
    const struct http_header_pair *h;
    size_t k;
    int rc = http_chain_head(o->chain, status, &h, &k);
    if (rc == SPRY_EBUSY)
        return rc;
    if (rc == SPRY_ETIMEOUT) {
        err->code = HTTP_ERR_CONNECTION_READ_TIMEOUT;
        snprintf(err->message, sizeof err->message,
                 "no response within the first-byte timeout (the chained request was cancelled)");
        return rc;
    }
    if (rc != 0) {
        err->code = HTTP_ERR_CONNECTION_TERMINATED;
        snprintf(err->message, sizeof err->message, "the chained request was cancelled");
        return rc;
    }
    if (o->head == NULL) {
        o->head = spry_alloc_array(k == 0 ? 1 : k, sizeof *o->head);
        if (o->head == NULL) {
            err->code = WASIHTTP_EC_INTERNAL_ERROR;
            snprintf(err->message, sizeof err->message, "out of memory");
            return SPRY_ENOMEM;
        }
        for (size_t i = 0; i < k; i++)
            o->head[i] = (struct wasihttp_header){h[i].name, h[i].value};
        o->nhead = k;
    }
    *headers = o->head;
    *n = o->nhead;
    return 0;
}

static int out_head(void *req, uint16_t *status, const struct wasihttp_header **headers, size_t *n,
                    struct wasihttp_error *err)
{
    struct spin_out *o = req;
    if (o->chain != NULL)
        return chain_head(o, status, headers, n, err);
    struct http_client_response resp;
    struct http_client_error e;
    int rc = http_client_head(o->r, &resp, &e);
    if (rc == SPRY_EBUSY)
        return rc;
    if (rc != 0) {
        copy_error(&e, err);
        return rc;
    }
    if (o->head == NULL && (o->head = convert(resp.headers, resp.n_headers)) == NULL) {
        err->code = WASIHTTP_EC_INTERNAL_ERROR;
        snprintf(err->message, sizeof err->message, "out of memory");
        return SPRY_ENOMEM;
    }
    o->nhead = resp.n_headers;
    *status = (uint16_t)resp.status;
    *headers = o->head;
    *n = o->nhead;
    return 0;
}

static int64_t out_body_read(void *req, uint8_t *buf, size_t cap, bool *eof,
                             struct wasihttp_error *err)
{
    struct spin_out *o = req;
    if (o->chain != NULL) {
        int64_t k = http_chain_body_read(o->chain, buf, cap, eof);
        if (k == SPRY_ETIMEOUT) {
            err->code = HTTP_ERR_CONNECTION_READ_TIMEOUT;
            snprintf(err->message, sizeof err->message,
                     "no data within the between-bytes timeout (the chained request was "
                     "cancelled)");
        } else if (k < 0) {
            err->code = HTTP_ERR_HTTP_RESPONSE_INCOMPLETE;
            snprintf(err->message, sizeof err->message,
                     "the chained component broke its response off");
        }
        return k;
    }
    struct http_client_error e;
    int64_t k = http_client_body_read(o->r, buf, cap, eof, &e);
    if (k < 0)
        copy_error(&e, err);
    return k;
}

static void out_trailers(void *req, const struct wasihttp_header **t, size_t *n)
{
    struct spin_out *o = req;
    const struct http_client_header *h;
    size_t k;
    if (o->chain != NULL) {
        const struct http_header_pair *ch;
        if (http_chain_trailers(o->chain, &ch, &k) != 0)
            k = 0; /* not at the end, or out of memory: none */
        if (o->trailers == NULL && k > 0 &&
            (o->trailers = spry_alloc_array(k, sizeof *o->trailers)) != NULL)
            for (size_t i = 0; i < k; i++)
                o->trailers[i] = (struct wasihttp_header){ch[i].name, ch[i].value};
    } else {
        http_client_trailers(o->r, &h, &k);
        if (o->trailers == NULL && k > 0)
            o->trailers = convert(h, k);
    }
    o->ntrailers = o->trailers != NULL ? k : 0;
    *t = o->trailers;
    *n = o->ntrailers;
}

static void out_clear(void *req)
{
    struct spin_out *o = req;
    if (o->chain != NULL)
        http_chain_clear(o->chain);
    else
        http_client_request_clear(o->r);
}

static bool out_changed(void *req)
{
    if (((struct spin_out *)req)->chain != NULL)
        return http_chain_changed(((struct spin_out *)req)->chain);
    struct pollfd p = {.fd = http_client_request_fd(((struct spin_out *)req)->r), .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

static void out_wait(void *req, uint64_t ns)
{
    if (((struct spin_out *)req)->chain != NULL) {
        http_chain_wait(((struct spin_out *)req)->chain, ns);
        return;
    }
    struct pollfd p = {.fd = http_client_request_fd(((struct spin_out *)req)->r), .events = POLLIN};
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    ppoll(&p, 1, &ts, NULL);
}

static int out_wake_fd(void *req)
{
    struct spin_out *o = req;
    return o->chain != NULL ? http_chain_wake_fd(o->chain) : -1;
}

static void out_destroy(void *req)
{
    struct spin_out *o = req;
    if (o->chain != NULL)
        http_chain_destroy(o->chain);
    else
        http_client_request_destroy(o->r);
    spry_free(o->head);
    spry_free(o->trailers);
    spry_free(o);
}

/* ---- logs ---- */

static void write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

static void pass_output(const struct spin_executor *s, struct spry_wasi *wasi)
{
    spry_wasi_flush(wasi);
    for (int fd = 1; fd <= 2; fd++) {
        size_t len;
        bool truncated;
        const uint8_t *out = spry_wasi_output(wasi, fd, &len, &truncated);
        if (out == NULL || len == 0)
            continue;
        int log = fd == 1 ? s->config.stdout_log_fd : s->config.stderr_log_fd;
        if (log >= 0)
            write_all(log, out, len);
        if (s->config.echo)
            write_all(fd, out, len);
    }
}

/* ---- a request ---- */

/* Runs the handler; failures are logged unless `quiet` (a speculative
 * run, which the worker's run repeats). */
static int run(struct spin_executor *s, struct http_exchange *ex, struct cinst *ci,
               struct wasihttp *h, bool quiet, struct spry_trap *trap)
{
    const struct http_request *req = http_exchange_request(ex);
    const char *id = s->config.component_id;
    struct wasihttp_header *hd =
        spry_alloc_array(req->nheaders == 0 ? 1 : req->nheaders, sizeof *hd);
    if (hd == NULL)
        return SPRY_ENOMEM;
    for (size_t i = 0; i < req->nheaders; i++)
        hd[i] = (struct wasihttp_header){req->headers[i].name, req->headers[i].value};
    struct wasihttp_request wr = {
        .method = req->method,
        .path_with_query = req->target,
        .scheme = req->scheme,
        .authority = req->authority != NULL ? req->authority : "",
        .headers = hd,
        .nheaders = req->nheaders,
    };
    uint32_t request, outparam;
    int rc = wasihttp_incoming(h, &wr, &request, &outparam);
    spry_free(hd);
    if (rc != 0)
        return rc;

    struct cval args[2] = {{.kind = CT_OWN, .of.rep = request},
                           {.kind = CT_OWN, .of.rep = outparam}};
    struct spry_arena arena;
    spry_arena_init(&arena, CANON_ARENA_LIMIT);
    struct cval result;
    memset(trap, 0, sizeof *trap);
    rc = clink_call(ci, s->handle, args, &arena, &result, trap);
    spry_arena_fini(&arena);
    if (rc != 0 && quiet)
        return rc;
    if (rc != 0 && http_exchange_cancelled(ex))
        return SPRY_EINTERRUPTED; /* the deadline passed: the server answered 504 */
    if (rc == SPRY_ETRAP) {
        spry_log(SPRY_LOG_ERROR, "component %s: trap in %s: %s", id,
                 trap->func_name[0] != '\0' ? trap->func_name : "wasi:http/incoming-handler.handle",
                 trap->message);
        return rc;
    }
    if (rc == SPRY_EEXIT) {
        spry_log(SPRY_LOG_ERROR, "component %s: exited with status %d while handling a request", id,
                 trap->exit_code);
        return rc;
    }
    if (rc != 0) {
        spry_log(SPRY_LOG_ERROR, "component %s: %s", id, spry_strerror(rc));
        return rc;
    }
    char why[200];
    enum wasihttp_outcome outcome = wasihttp_outcome(h, why, sizeof why);
    if (quiet && outcome != WASIHTTP_DONE)
        return SPRY_ENORESPONSE;
    switch (outcome) {
    case WASIHTTP_DONE:
        return 0;
    case WASIHTTP_NOT_SET:
        spry_log(SPRY_LOG_ERROR,
                 "component %s: the handler returned without setting the response-outparam", id);
        return SPRY_ENORESPONSE;
    case WASIHTTP_ERROR:
    case WASIHTTP_INCOMPLETE:
    default:
        if (http_exchange_cancelled(ex))
            return SPRY_EINTERRUPTED;
        spry_log(SPRY_LOG_ERROR, "component %s: %s", id, why);
        return SPRY_ENORESPONSE;
    }
}

/* For the debug timing line (SPRY_LOG=debug). */
static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Whether this speculative request is to be declined at once (backing off
 * after a deferral). */
static bool spec_declined(struct spin_executor *s)
{
    unsigned n = atomic_load_explicit(&s->spec_skip, memory_order_relaxed);
    while (n > 0 && !atomic_compare_exchange_weak(&s->spec_skip, &n, n - 1))
        ;
    return n > 0;
}

/* Ends a speculative run that may not answer: the request goes to a worker
 * (and the next SPEC_BACKOFF ones straight there). */
static int spec_defer(struct spin_executor *s, const struct spin_spec *spec, int rc,
                      const struct spry_trap *trap)
{
    atomic_store_explicit(&s->spec_skip, SPEC_BACKOFF, memory_order_relaxed);
    if (spry_log_enabled(SPRY_LOG_DEBUG)) {
        const char *id = s->config.component_id;
        if (spec->cause[0] != '\0')
            spry_log(SPRY_LOG_DEBUG, "component %s: speculative run deferred to a worker: %s", id,
                     spec->cause);
        else if (trap != NULL && trap->kind == SPRY_TRAP_INTERRUPTED)
            spry_log(SPRY_LOG_DEBUG,
                     "component %s: speculative run deferred to a worker: it was interrupted "
                     "(its CPU budget on the loop ran out)",
                     id);
        else
            spry_log(SPRY_LOG_DEBUG,
                     "component %s: speculative run deferred to a worker: it failed (%s)", id,
                     rc != 0 ? spry_strerror(rc) : "no complete response");
    }
    return HTTP_EXCHANGE_DEFER;
}

static int handle(void *data, struct http_exchange *ex)
{
    struct spin_executor *s = data;
    const char *id = s->config.component_id;
    /* A speculative run (on the I/O loop: spin_spec.h) logs nothing and
     * answers nothing unless the handler succeeded within the gate;
     * otherwise it defers, and the worker's run does what the request
     * deserves. */
    const bool speculative = s->config.speculate && http_exchange_speculative(ex);
    if (speculative && spec_declined(s))
        return HTTP_EXCHANGE_DEFER;
    struct spin_spec spec_state;
    struct spin_spec *spec = NULL;
    if (speculative) {
        spin_spec_init(&spec_state);
        spec = &spec_state;
    }
    bool deferred = false;
    /* With SPRY_LOG=debug every request logs where its time went: making
     * the WASI and wasi:http contexts, taking an instance from the pool
     * (instantiating it the first time a slot serves this component),
     * the handler's call, and giving everything back (the pool's reset of
     * the instance, the output to the logs). bench/http.sh reads it. */
    const bool timed = spry_log_enabled(SPRY_LOG_DEBUG);
    double t_start = timed ? now_us() : 0, t_ctx = 0, t_acq = 0, t_run = 0;
    struct spry_report report;
    spry_report_init(&report);
    struct spin_req sr = {.s = s, .ex = ex, .req = http_exchange_request(ex), .spec = spec};
    sr.outgoing = s->outgoing;
    sr.outgoing.user = &sr;
    struct wasihttp_server server = {
        .user = &sr,
        .read_body = read_body,
        .body_ready = body_ready,
        .body_wake_fd = body_wake_fd,
        .trailers = request_trailers,
        .respond = respond,
        .write = write_body,
        .finish = finish,
        .outgoing = s->config.client != NULL && s->config.route != NULL && s->config.allow != NULL
                        ? &sr.outgoing
                        : NULL,
    };
    static const char *const no_args[] = {""};
    struct spry_wasi_config wc = {
        .args = no_args,
        .nargs = 0,
        .env = s->config.env,
        .nenv = s->config.nenv,
        .preopens = s->config.preopens,
        .npreopens = s->config.npreopens,
        .preopen_fds = s->config.preopen_fds,
    };
    wc.stdio[0] = (struct spry_wasi_stdio){.kind = SPRY_WASI_STDIO_NULL};
    wc.stdio[1] = (struct spry_wasi_stdio){.kind = SPRY_WASI_STDIO_BUFFER, .max = MAX_OUTPUT};
    wc.stdio[2] = (struct spry_wasi_stdio){.kind = SPRY_WASI_STDIO_BUFFER, .max = MAX_OUTPUT};
    struct wasip2 *p2 = NULL;
    struct wasihttp *h = NULL;
    struct cinst *ci = NULL;
    struct spry_trap trap;
    memset(&trap, 0, sizeof trap);
    int rc = wasip2_create(&wc, &p2, &report);
    if (rc == 0 && (rc = wasihttp_create(&server, &h)) != 0)
        spry_report_set(&report, rc, "out of memory");
    if (rc != 0 && spec != NULL) {
        rc = spec_defer(s, spec, rc, NULL);
        deferred = true;
        goto done;
    }
    if (rc != 0) {
        spry_log(SPRY_LOG_ERROR, "component %s: %s", id, report.message);
        goto done;
    }
    if (timed)
        t_ctx = now_us();
    /* On the loop only a slot that holds the component already: a cold
     * one would instantiate there, outside the run's CPU budget. None free
     * is nothing the guest did: deferred without the back-off. */
    rc = spec != NULL ? clink_acquire_warm(s->link, &ci, &report, &trap)
                      : clink_acquire(s->link, &ci, &report, &trap);
    if (timed)
        t_acq = now_us();
    if (rc == SPRY_EBUSY && spec != NULL) {
        if (timed)
            spry_log(SPRY_LOG_DEBUG,
                     "component %s: speculative run deferred to a worker: no warm instance "
                     "(instantiating is a worker's job)",
                     id);
        rc = HTTP_EXCHANGE_DEFER;
        deferred = true;
        goto done;
    }
    if (rc != 0 && spec != NULL) {
        rc = spec_defer(s, spec, rc, NULL);
        deferred = true;
        goto done;
    }
    if (rc == SPRY_EBUSY || rc == SPRY_ETIMEOUT) {
        /* No instance free (spry up runs no more workers than instances,
         * so this is for embedders that share a pool): 503, as WAGI. */
        spry_log(SPRY_LOG_WARN, "component %s: %s: 503", id, report.message);
        static const struct http_header_pair ct = {"content-type", "text/plain"};
        static const char msg[] = "Service Unavailable: no instance free\n";
        if (http_exchange_start(ex, 503, &ct, 1, (int64_t)sizeof msg - 1) == 0 &&
            http_exchange_write(ex, msg, sizeof msg - 1) == 0)
            http_exchange_finish(ex);
        rc = 0;
        goto done;
    }
    if (rc != 0) {
        spry_log(SPRY_LOG_ERROR, "component %s: %s", id,
                 rc == SPRY_ETRAP ? trap.message : report.message);
        goto done;
    }
    if (http_exchange_cancelled(ex)) { /* the deadline passed while queued */
        rc = SPRY_EINTERRUPTED;
        goto done;
    }
    struct spry_store *store = clink_store(ci);
    wasip2_attach(p2, store);
    wasihttp_attach(h, store);
    http_exchange_set_user(ex, store);
    if (spec != NULL) {
        spec->store = store;
        wasip2_set_block_hook(p2, spin_spec_on_block, spec);
        const struct canon_gate gate = {spin_spec_allow, spec};
        canon_gate_set(&gate);
        rc = run(s, ex, ci, h, true, &trap);
        canon_gate_set(NULL);
    } else {
        rc = run(s, ex, ci, h, false, &trap);
    }
    http_exchange_set_user(ex, NULL); /* before the store serves someone else */
    if (spec != NULL) {
        if (rc != 0 || spec->cause[0] != '\0' || !spec->finished) {
            rc = spec_defer(s, spec, rc, &trap);
            deferred = true;
            goto done;
        }
        rc = spin_spec_commit(spec, ex);
        if (timed)
            spry_log(SPRY_LOG_DEBUG, "component %s: answered from the I/O loop (speculative run)",
                     id);
    }
    if (timed)
        t_run = now_us();
done:
    if (ci != NULL)
        clink_release(ci); /* drops what the guest still holds, contexts attached */
    if (p2 != NULL && !deferred)
        pass_output(s, wasip2_wasi(p2));
    wasip2_destroy(p2); /* closes body streams, which point into h */
    wasihttp_destroy(h);
    if (spec != NULL)
        spin_spec_fini(spec);
    spry_free(sr.trailers);
    if (timed && t_run > 0)
        spry_log(SPRY_LOG_DEBUG,
                 "component %s: request timing: contexts %.1f us, acquire %.1f us, "
                 "handler %.1f us, release %.1f us",
                 id, t_ctx - t_start, t_acq - t_ctx, t_run - t_acq, now_us() - t_run);
    return rc;
}

static void interrupt(void *data, void *user)
{
    (void)data;
    if (user != NULL)
        spry_store_interrupt(user);
}

/* "a, b, c" of the component's exported interfaces, for the message. */
static void list_exports(const struct clink *link, char *out, size_t cap)
{
    size_t n, len = 0;
    const struct clink_export *e = clink_exports(link, &n);
    out[0] = '\0';
    for (size_t i = 0; i < n && len < cap; i++) {
        const char *name = e[i].iface != NULL ? e[i].iface : e[i].name;
        bool seen = false;
        for (size_t k = 0; k < i; k++)
            seen |= strcmp(e[k].iface != NULL ? e[k].iface : e[k].name, name) == 0;
        if (!seen)
            len += (size_t)snprintf(out + len, cap - len, "%s%s", len > 0 ? ", " : "", name);
    }
    if (out[0] == '\0')
        snprintf(out, cap, "nothing");
}

int spin_executor_create(const struct spin_config *config, struct spin_executor **out,
                         struct spry_report *report)
{
    const char *id = config->component_id;
    const struct clink_host *host = wasihttp_host();
    if (host == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory setting up wasi:http");
    struct spin_executor *s = spry_calloc(1, sizeof *s);
    if (s == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory");
    s->config = *config;
    s->config.bytes = NULL;
    struct spry_report inner;
    spry_report_init(&inner);
    int rc = cbin_decode(config->bytes, config->len, NULL, &s->bin, &inner);
    if (rc == 0)
        rc = clink_create(config->pool, host, s->bin, NULL, &s->link, &inner);
    if (rc != 0) {
        spry_report_set(report, rc, "component '%s': %s: %s", id, config->source, inner.message);
        spin_executor_destroy(s);
        return rc;
    }
    s->handle = clink_export_find(s->link, HANDLER, "handle");
    if (s->handle == NULL) {
        char exports[512];
        list_exports(s->link, exports, sizeof exports);
        rc = spry_report_set(report, SPRY_ENOTFOUND,
                             "component '%s': %s exports no known HTTP handler: it needs "
                             "wasi:http/incoming-handler@0.2.x (it exports %s)",
                             id, config->source, exports);
        spin_executor_destroy(s);
        return rc;
    }
    const struct cfunctype *t = s->handle->type;
    if (t->nparams != 2 || t->result != NULL || t->params[0].type->kind != CT_OWN ||
        t->params[1].type->kind != CT_OWN) {
        rc = spry_report_set(report, SPRY_EINVALID,
                             "component '%s': %s: wasi:http/incoming-handler's 'handle' is not "
                             "func(request: incoming-request, response-out: response-outparam)",
                             id, config->source);
        spin_executor_destroy(s);
        return rc;
    }
    s->outgoing = (struct wasihttp_outgoing){
        .user = NULL, /* per request: its spin_req (handle) */
        .start = out_start,
        .body_capacity = out_body_capacity,
        .body_write = out_body_write,
        .body_finish = out_body_finish,
        .head = out_head,
        .body_read = out_body_read,
        .trailers = out_trailers,
        .clear = out_clear,
        .changed = out_changed,
        .wait = out_wait,
        .wake_fd = out_wake_fd,
        .destroy = out_destroy,
    };
    s->http.data = s;
    s->http.handle = handle;
    s->http.interrupt = interrupt;
    s->http.stream_body = true;
    s->http.speculate = config->speculate;
    atomic_init(&s->spec_skip, 0);
    *out = s;
    return 0;
}

void spin_executor_destroy(struct spin_executor *s)
{
    if (s == NULL)
        return;
    clink_destroy(s->link);
    cbin_destroy(s->bin);
    spry_free(s);
}

const struct http_executor *spin_executor_http(const struct spin_executor *executor)
{
    return &executor->http;
}

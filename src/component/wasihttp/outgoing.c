/*
 * wasi:http/outgoing-handler through the embedder's hook (struct
 * wasihttp_outgoing): handle, future-incoming-response, incoming-response,
 * and the backends of a response body's stream and of a request body once
 * the request went out.
 *
 * Nothing here blocks but the stream functions the guest asked to block
 * (blocking-read, blocking-write-and-flush) and a request body written
 * before handle (sent at handle, with back-pressure); they wait on the
 * embedder in slices and give up when the store is interrupted.
 * Readiness is asked of the embedder without blocking: the future is
 * ready once head() answers, a body stream once changed() says so (or the
 * last read returned bytes).
 */
#include "component/wasihttp/wh.h"

#include "base/alloc.h"
#include "component/wasip2/wasip2.h"

#include <stdio.h>
#include <string.h>

enum { WAIT_SLICE_NS = 10 * 1000 * 1000 };

static const char *const method_names[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                           "CONNECT", "OPTIONS", "TRACE", "PATCH"};

static const struct wasihttp_outgoing *hook(const struct wh_out *o)
{
    return o->h->server.outgoing;
}

static bool interrupted(const struct wasihttp *h)
{
    return h->store != NULL && spry_store_check_interrupt(h->store) != 0;
}

/* An error-code value for e, with the payload its case carries (empty). */
static int error_value(struct ccall *call, const struct wasihttp_error *e, struct cval *out)
{
    uint32_t code = e->code < WH_EC_COUNT ? e->code : WH_EC_INTERNAL_ERROR;
    struct cval *p = wh_vals(call, 2);
    if (p == NULL)
        return wh_oom(call);
    switch (code) {
    case WH_EC_DNS_ERROR:
    case WH_EC_TLS_ALERT_RECEIVED:
    case WH_EC_HTTP_REQUEST_TRAILER_SIZE:
    case WH_EC_HTTP_RESPONSE_HEADER_SIZE:
    case WH_EC_HTTP_RESPONSE_TRAILER_SIZE: {
        wh_none(&p[0]);
        wh_none(&p[1]);
        struct cval rec = {.kind = CT_RECORD, .of.list = {p, 2}};
        return wh_error_code(call, code, &rec, out);
    }
    case WH_EC_HTTP_REQUEST_BODY_SIZE:
    case WH_EC_HTTP_REQUEST_HEADER_SECTION_SIZE:
    case WH_EC_HTTP_REQUEST_HEADER_SIZE:
    case WH_EC_HTTP_REQUEST_TRAILER_SECTION_SIZE:
    case WH_EC_HTTP_RESPONSE_HEADER_SECTION_SIZE:
    case WH_EC_HTTP_RESPONSE_BODY_SIZE:
    case WH_EC_HTTP_RESPONSE_TRAILER_SECTION_SIZE:
    case WH_EC_HTTP_RESPONSE_TRANSFER_CODING:
    case WH_EC_HTTP_RESPONSE_CONTENT_CODING:
        wh_none(&p[0]);
        return wh_error_code(call, code, &p[0], out);
    case WH_EC_INTERNAL_ERROR:
        return wh_internal_error(call, e->message[0] != '\0' ? e->message : "internal error", out);
    default:
        return wh_error_code(call, code, NULL, out);
    }
}

static int64_t content_length(const struct wh_fields *f)
{
    int64_t found = -1;
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->v[i].name, "content-length") != 0)
            continue;
        const uint8_t *s = f->v[i].value;
        size_t n = f->v[i].vlen;
        if (n == 0 || n > 18)
            return -1;
        int64_t v = 0;
        for (size_t k = 0; k < n; k++) {
            if (s[k] < '0' || s[k] > '9')
                return -1;
            v = v * 10 + (s[k] - '0');
        }
        if (found >= 0 && found != v)
            return -1;
        found = v;
    }
    return found;
}

/* ---- a request body once the request is out ---- */

int wh_out_write(struct wh_obody *b, const uint8_t *p, size_t n)
{
    struct wh_out *o = b->out;
    const struct wasihttp_outgoing *og = hook(o);
    if (o->req == NULL)
        return WASIP2_IO_FAILED;
    while (n > 0) {
        og->clear(o->req);
        int64_t cap = og->body_capacity(o->req);
        if (cap < 0)
            return WASIP2_IO_FAILED;
        if (cap == 0) {
            og->wait(o->req, WAIT_SLICE_NS);
            if (interrupted(o->h))
                return WASIP2_IO_FAILED;
            continue;
        }
        size_t k = (uint64_t)cap < n ? (size_t)cap : n;
        if (og->body_write(o->req, p, k) != 0)
            return WASIP2_IO_FAILED;
        b->written += k;
        p += k;
        n -= k;
    }
    return WASIP2_IO_OK;
}

int wh_out_wake_fd(struct wh_out *o)
{
    return o->req != NULL && hook(o)->wake_fd != NULL ? hook(o)->wake_fd(o->req) : -1;
}

static int out_wake_fd(void *user)
{
    return wh_out_wake_fd(user);
}

uint64_t wh_out_check_write(struct wh_obody *b)
{
    if (b->out->req == NULL)
        return 1; /* given back: let the write report it */
    int64_t cap = hook(b->out)->body_capacity(b->out->req);
    return cap < 0 ? 1 : (uint64_t)cap; /* failed: let the write report it */
}

/* body_finish with the guest's trailers; 0 or nonzero with err. */
static int finish_body(struct wh_out *o, const struct wh_fields *trailers,
                       struct wasihttp_error *err)
{
    if (o->req == NULL) {
        err->code = WH_EC_INTERNAL_ERROR;
        snprintf(err->message, sizeof err->message, "the request was given back");
        return SPRY_EINVAL;
    }
    struct wasihttp_header *t = NULL;
    if (trailers->n > 0) {
        t = spry_alloc_array(trailers->n, sizeof *t);
        if (t == NULL) {
            err->code = WH_EC_INTERNAL_ERROR;
            snprintf(err->message, sizeof err->message, "out of memory");
            return SPRY_ENOMEM;
        }
        for (size_t i = 0; i < trailers->n; i++)
            t[i] =
                (struct wasihttp_header){trailers->v[i].name, (const char *)trailers->v[i].value};
    }
    int rc = hook(o)->body_finish(o->req, t, trailers->n, err);
    spry_free(t);
    return rc;
}

int wh_out_finish(struct ccall *call, struct wh_obody *b, const struct wh_fields *trailers,
                  struct cval *result)
{
    struct wasihttp_error err = {0};
    if (finish_body(b->out, trailers, &err) == 0)
        return wh_result(call, result, 0, NULL);
    b->failed = true;
    struct cval ec;
    int rc = error_value(call, &err, &ec);
    return rc == 0 ? wh_result(call, result, 1, &ec) : rc;
}

/* ---- outgoing-handler.handle ---- */

static void out_free(struct wh_out *o)
{
    if (o->req != NULL)
        hook(o)->destroy(o->req);
    spry_free(o);
}

void wh_outs_free(struct wasihttp *h)
{
    while (h->outs != NULL) {
        struct wh_out *o = h->outs;
        h->outs = o->next;
        out_free(o);
    }
    while (h->spent != NULL) {
        struct wh_out *o = h->spent;
        h->spent = o->next;
        out_free(o);
    }
}

static void reach(struct wh_out *o)
{
    if (o != NULL)
        o->reached = true;
}

void wh_outs_sweep(struct wasihttp *h)
{
    if (h->outs == NULL)
        return;
    for (struct wh_out *o = h->outs; o != NULL; o = o->next)
        o->reached = false;
    for (uint32_t i = 0; i < h->n; i++) {
        void *obj = h->slots[i].obj;
        switch (h->slots[i].kind) {
        case WH_FUTURE_RESPONSE:
            reach(((struct wh_future_response *)obj)->o);
            break;
        case WH_IN_RESPONSE:
            reach(((struct wh_in_response *)obj)->o);
            break;
        case WH_FUTURE_TRAILERS:
            reach(((struct wh_future_trailers *)obj)->out);
            break;
        case WH_IN_BODY:
            if (((struct wh_body *)obj)->in != NULL)
                reach(((struct wh_body *)obj)->in->out);
            break;
        case WH_OUT_BODY:
            if (((struct wh_body *)obj)->out != NULL)
                reach(((struct wh_body *)obj)->out->out);
            break;
        default:
            break;
        }
    }
    for (struct wh_ibody *b = h->ibodies; b != NULL; b = b->next)
        if (b->stream_alive)
            reach(b->out);
    for (struct wh_obody *b = h->obodies; b != NULL; b = b->next)
        if (b->stream_alive)
            reach(b->out);
    struct wh_out **link = &h->outs;
    while (*link != NULL) {
        struct wh_out *o = *link;
        if (o->reached) {
            link = &o->next;
            continue;
        }
        *link = o->next;
        hook(o)->destroy(o->req);
        o->req = NULL;
        o->next = h->spent;
        h->spent = o;
    }
}

/* Starts r's request: 0 with *out, or nonzero with err (nothing started). */
static int start(struct wasihttp *h, struct wh_out_request *r, const struct wh_options *opt,
                 struct wh_out **out, struct wasihttp_error *err)
{
    const struct wasihttp_outgoing *og = h->server.outgoing;
    struct wasihttp_header *hd = spry_alloc_array(r->headers.n == 0 ? 1 : r->headers.n, sizeof *hd);
    struct wh_out *o = spry_calloc(1, sizeof *o);
    if (hd == NULL || o == NULL) {
        spry_free(hd);
        spry_free(o);
        err->code = WH_EC_INTERNAL_ERROR;
        snprintf(err->message, sizeof err->message, "out of memory");
        return SPRY_ENOMEM;
    }
    for (size_t i = 0; i < r->headers.n; i++)
        hd[i] = (struct wasihttp_header){r->headers.v[i].name, (const char *)r->headers.v[i].value};
    const char *scheme = NULL;
    if (r->has_scheme)
        scheme = r->scheme == WH_SCHEME_HTTP    ? "http"
                 : r->scheme == WH_SCHEME_HTTPS ? "https"
                                                : r->scheme_other;
    struct wasihttp_outgoing_request q = {
        .method = r->method < WH_METHOD_OTHER ? method_names[r->method] : r->method_other,
        .scheme = scheme,
        .authority = r->authority.some ? r->authority.s : NULL,
        .path_with_query = r->path.some ? r->path.s : NULL,
        .headers = hd,
        .nheaders = r->headers.n,
        .has_body = r->body != NULL,
        .content_length = content_length(&r->headers),
    };
    if (opt != NULL) {
        q.connect_timeout_ns = opt->has[0] ? opt->ns[0] : 0;
        q.first_byte_timeout_ns = opt->has[1] ? opt->ns[1] : 0;
        q.between_bytes_timeout_ns = opt->has[2] ? opt->ns[2] : 0;
    }
    o->h = h;
    int rc = og->start(og->user, &q, &o->req, err);
    spry_free(hd);
    if (rc != 0) {
        spry_free(o);
        return rc;
    }
    o->next = h->outs;
    h->outs = o;
    *out = o;
    return 0;
}

/* A body written (or finished) before handle: sent now. */
static int send_early_body(struct ccall *call, struct wh_obody *b, struct cval *err_result,
                           bool *failed)
{
    *failed = false;
    if (b->pending.len > 0) {
        uint64_t before = b->written;
        int rc = wh_out_write(b, b->pending.data, b->pending.len);
        b->written = before; /* counted when queued */
        spry_buf_fini(&b->pending);
        if (rc != WASIP2_IO_OK)
            b->failed = true;
    }
    spry_buf_fini(&b->pending);
    if (!b->finished || b->failed)
        return 0;
    struct wasihttp_error err = {0};
    int rc = finish_body(b->out, &b->trailers, &err);
    wh_fields_fini(&b->trailers);
    if (rc == 0)
        return 0;
    *failed = true;
    return error_value(call, &err, err_result);
}

int wh_outgoing_handle(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_out_request *r;
    struct wh_options *opt = NULL;
    int rc = wh_ctx(call, &h);
    if (rc == 0)
        rc = wh_take(call, h, args[0].of.rep, WH_OUT_REQUEST, "outgoing-request", (void **)&r);
    if (rc != 0)
        return rc;
    if (args[1].of.var.disc == 1) {
        rc = wh_take(call, h, args[1].of.var.payload->of.rep, WH_OPTIONS, "request-options",
                     (void **)&opt);
        if (rc != 0) {
            wh_free_obj(WH_OUT_REQUEST, r);
            return rc;
        }
    }
    struct wasihttp_error err = {0};
    struct wh_out *o = NULL;
    wh_outs_sweep(h); /* what the guest let go of no longer counts */
    if (h->server.outgoing == NULL) {
        err.code = WH_EC_INTERNAL_ERROR;
        snprintf(err.message, sizeof err.message, "outbound HTTP is not available here");
        rc = SPRY_EUNSUPPORTED;
    } else {
        rc = start(h, r, opt, &o, &err);
    }
    struct wh_obody *body = r->body;
    wh_free_obj(WH_OUT_REQUEST, r);
    wh_free_obj(WH_OPTIONS, opt);
    struct cval ec;
    if (rc != 0) {
        rc = error_value(call, &err, &ec);
        return rc == 0 ? wh_result(call, result, 1, &ec) : rc;
    }
    if (body != NULL) {
        body->out = o;
        bool failed;
        rc = send_early_body(call, body, &ec, &failed);
        if (rc != 0)
            return rc;
        if (failed)
            return wh_result(call, result, 1, &ec);
    }
    struct wh_future_response *f = spry_calloc(1, sizeof *f);
    if (f == NULL)
        return wh_oom(call);
    f->o = o;
    struct cval own;
    rc = wh_new(call, h, WH_FUTURE_RESPONSE, f, &own);
    return rc == 0 ? wh_result(call, result, 0, &own) : rc;
}

/* ---- future-incoming-response ---- */

static bool head_ready(void *user)
{
    struct wh_out *o = user;
    uint16_t status;
    const struct wasihttp_header *hd;
    size_t n;
    struct wasihttp_error err;
    return o->head_taken || o->req == NULL ||
           hook(o)->head(o->req, &status, &hd, &n, &err) != SPRY_EBUSY;
}

static int p2_of(struct ccall *call, struct wasip2 **p2)
{
    *p2 = wasip2_of_store(call->store);
    return *p2 != NULL ? 0
                       : ccall_trap(call, "wasi:http: no WASI 0.2 context attached to the store");
}

/* A pollable on ready(o), woken through o's wake fd. */
static int pollable(struct ccall *call, bool (*ready)(void *), struct wh_out *user,
                    struct cval *result)
{
    struct wasip2 *p2;
    int rc = p2_of(call, &p2);
    if (rc != 0)
        return rc;
    uint32_t rep;
    rc = wasip2_pollable_create_fd(p2, ready, out_wake_fd, user, &rep);
    if (rc == SPRY_EEXHAUSTED)
        return ccall_trap(call, "wasi:http: too many live handles");
    if (rc != 0)
        return wh_oom(call);
    *result = (struct cval){.kind = CT_OWN, .of.rep = rep};
    return 0;
}

static int future_subscribe(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_future_response *f;
    int rc = wh_ctx(call, &h);
    if (rc == 0)
        rc = wh_get(call, h, args[0].of.rep, WH_FUTURE_RESPONSE, "future-incoming-response",
                    (void **)&f);
    return rc == 0 ? pollable(call, head_ready, f->o, result) : rc;
}

static int future_get(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_future_response *f;
    int rc = wh_ctx(call, &h);
    if (rc == 0)
        rc = wh_get(call, h, args[0].of.rep, WH_FUTURE_RESPONSE, "future-incoming-response",
                    (void **)&f);
    if (rc != 0)
        return rc;
    struct wh_out *o = f->o;
    struct cval *v = wh_vals(call, 3);
    if (v == NULL)
        return wh_oom(call);
    if (o->head_taken) { /* some(err(())) */
        v[0] = (struct cval){.kind = CT_RESULT, .of.var = {1, NULL}};
        return wh_some(call, result, &v[0]);
    }
    uint16_t status;
    const struct wasihttp_header *hd;
    size_t n;
    struct wasihttp_error err = {0};
    rc = hook(o)->head(o->req, &status, &hd, &n, &err);
    if (rc == SPRY_EBUSY) {
        wh_none(result);
        return 0;
    }
    o->head_taken = true;
    if (rc != 0) {
        rc = error_value(call, &err, &v[2]);
        if (rc == 0)
            rc = wh_result(call, &v[1], 1, &v[2]);
    } else {
        struct wh_in_response *resp = spry_calloc(1, sizeof *resp);
        if (resp == NULL)
            return wh_oom(call);
        resp->o = o;
        resp->status = status;
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = wh_fields_add(&resp->headers, hd[i].name, strlen(hd[i].name),
                               (const uint8_t *)hd[i].value, strlen(hd[i].value));
        resp->headers.immutable = true;
        if (rc != 0) {
            wh_free_obj(WH_IN_RESPONSE, resp);
            return wh_oom(call);
        }
        rc = wh_new(call, h, WH_IN_RESPONSE, resp, &v[2]);
        if (rc == 0)
            rc = wh_result(call, &v[1], 0, &v[2]);
    }
    if (rc == 0)
        rc = wh_result(call, &v[0], 0, &v[1]);
    return rc == 0 ? wh_some(call, result, &v[0]) : rc;
}

/* ---- incoming-response ---- */

static int in_response(struct ccall *call, const struct cval *arg, struct wasihttp **h,
                       struct wh_in_response **r)
{
    int rc = wh_ctx(call, h);
    return rc == 0 ? wh_get(call, *h, arg->of.rep, WH_IN_RESPONSE, "incoming-response", (void **)r)
                   : rc;
}

static int in_response_status(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_in_response *r;
    int rc = in_response(call, &args[0], &h, &r);
    if (rc == 0)
        *result = (struct cval){.kind = CT_U16, .of.u = r->status};
    return rc;
}

static int in_response_headers(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_in_response *r;
    int rc = in_response(call, &args[0], &h, &r);
    return rc == 0 ? wh_fields_handle(call, h, &r->headers, true, result) : rc;
}

static int in_response_consume(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_in_response *r;
    int rc = in_response(call, &args[0], &h, &r);
    if (rc != 0)
        return rc;
    if (r->consumed)
        return wh_result(call, result, 1, NULL);
    struct wh_body *body = spry_calloc(1, sizeof *body);
    if (body == NULL || wh_ibody_new(h, &body->in) != 0) {
        spry_free(body);
        return wh_oom(call);
    }
    body->in->out = r->o;
    struct cval own;
    rc = wh_new(call, h, WH_IN_BODY, body, &own);
    if (rc != 0)
        return rc;
    r->consumed = true;
    return wh_result(call, result, 0, &own);
}

/* ---- the response body ---- */

static int client_read(void *user, uint8_t *buf, size_t cap, bool block, size_t *n)
{
    struct wh_ibody *b = user;
    struct wh_out *o = b->out;
    const struct wasihttp_outgoing *og = hook(o);
    *n = 0;
    if (b->eof)
        return WASIP2_IO_CLOSED;
    for (;;) {
        og->clear(o->req);
        bool eof = false;
        struct wasihttp_error err = {0};
        int64_t k = og->body_read(o->req, buf, cap, &eof, &err);
        if (k < 0)
            return WASIP2_IO_FAILED;
        o->more = k > 0;
        if (k > 0) {
            *n = (size_t)k;
            return WASIP2_IO_OK;
        }
        if (eof) {
            b->eof = true;
            return WASIP2_IO_CLOSED;
        }
        if (!block || cap == 0)
            return WASIP2_IO_OK;
        og->wait(o->req, WAIT_SLICE_NS);
        if (interrupted(o->h))
            return WASIP2_IO_FAILED;
    }
}

static bool client_ready(void *user)
{
    struct wh_ibody *b = user;
    return b->eof || b->out->more || b->out->req == NULL || hook(b->out)->changed(b->out->req);
}

static void client_close(void *user)
{
    struct wh_ibody *b = user;
    b->stream_alive = false;
    wh_outs_sweep(b->h);
}

static int client_wake_fd(void *user)
{
    return wh_out_wake_fd(((struct wh_ibody *)user)->out);
}

const struct wasip2_stream_ops wh_client_in_ops = {
    .read = client_read, .ready = client_ready, .close = client_close, .wake_fd = client_wake_fd};

/* future-trailers of a response: the rest of the body is read (and
 * dropped) until its end, then the trailers are there. */
static bool trailers_ready(void *user)
{
    struct wh_out *o = user;
    if (o->req == NULL)
        return true; /* a pollable kept after its future was dropped */
    uint8_t sink[4096];
    for (;;) {
        bool eof = false;
        struct wasihttp_error err;
        hook(o)->clear(o->req);
        int64_t k = hook(o)->body_read(o->req, sink, sizeof sink, &eof, &err);
        if (k < 0 || eof)
            return true;
        if (k == 0)
            return false;
    }
}

int wh_out_trailers(struct ccall *call, struct wh_future_trailers *ft, struct cval *result)
{
    struct wh_out *o = ft->out;
    struct cval *v = wh_vals(call, 4);
    if (v == NULL)
        return wh_oom(call);
    if (ft->taken) {
        v[0] = (struct cval){.kind = CT_RESULT, .of.var = {1, NULL}};
        return wh_some(call, result, &v[0]);
    }
    uint8_t sink[4096];
    bool eof = false;
    struct wasihttp_error err = {0};
    int64_t k;
    do {
        hook(o)->clear(o->req);
        k = hook(o)->body_read(o->req, sink, sizeof sink, &eof, &err);
    } while (k > 0 && !eof);
    if (k == 0 && !eof) {
        wh_none(result);
        return 0;
    }
    ft->taken = true;
    int rc;
    if (k < 0) {
        rc = error_value(call, &err, &v[2]);
        if (rc == 0)
            rc = wh_result(call, &v[1], 1, &v[2]);
    } else {
        const struct wasihttp_header *t;
        size_t n;
        hook(o)->trailers(o->req, &t, &n);
        if (n == 0) {
            wh_none(&v[2]);
        } else {
            struct wh_fields f = {0};
            rc = 0;
            for (size_t i = 0; rc == 0 && i < n; i++)
                rc = wh_fields_add(&f, t[i].name, strlen(t[i].name), (const uint8_t *)t[i].value,
                                   strlen(t[i].value));
            if (rc == 0)
                rc = wh_fields_handle(call, o->h, &f, true, &v[3]);
            wh_fields_fini(&f);
            if (rc != 0)
                return rc == SPRY_ENOMEM || rc == SPRY_ETOOBIG ? wh_oom(call) : rc;
            rc = wh_some(call, &v[2], &v[3]);
            if (rc != 0)
                return rc;
        }
        rc = wh_result(call, &v[1], 0, &v[2]);
    }
    if (rc == 0)
        rc = wh_result(call, &v[0], 0, &v[1]);
    return rc == 0 ? wh_some(call, result, &v[0]) : rc;
}

int wh_out_trailers_subscribe(struct ccall *call, struct wh_future_trailers *ft,
                              struct cval *result)
{
    return pollable(call, trailers_ready, ft->out, result);
}

const struct chost_func wh_outgoing_funcs[] = {
    {"[method]incoming-response.status", in_response_status},
    {"[method]incoming-response.headers", in_response_headers},
    {"[method]incoming-response.consume", in_response_consume},
    {"[method]future-incoming-response.subscribe", future_subscribe},
    {"[method]future-incoming-response.get", future_get},
};
const size_t wh_noutgoing_funcs = sizeof wh_outgoing_funcs / sizeof wh_outgoing_funcs[0];

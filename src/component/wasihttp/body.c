/*
 * wasi:http bodies and the response path: incoming-body (the request body
 * as an input-stream), outgoing-body (an output-stream), future-trailers,
 * and response-outparam.set, which sends the response head and from then
 * on streams the body to the embedder.
 *
 * Rules (wasi:http's, enforced as wasmtime does):
 *  - incoming-request.consume and outgoing-*.body succeed once (then
 *    err), incoming-body.stream and outgoing-body.write too;
 *  - a body's stream must be dropped before the body is finished: finish
 *    with a live stream traps;
 *  - an outgoing-body dropped without finish leaves the response
 *    incomplete (the embedder aborts it);
 *  - a content-length set on the response is a promise: writing more
 *    fails the stream, finishing with less is
 *    error-code.HTTP-response-body-size and leaves the response incomplete.
 *
 * The request body source is one function of the embedder
 * (server.read_body): today it hands out the body the server holds; with
 * a streaming server it reads as the bytes arrive, and nothing here
 * changes.
 */
#include "component/wasihttp/wh.h"

#include "base/alloc.h"
#include "component/wasip2/wasip2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- state lists ---- */

int wh_ibody_new(struct wasihttp *h, struct wh_ibody **out)
{
    struct wh_ibody *b = spry_calloc(1, sizeof *b);
    if (b == NULL)
        return SPRY_ENOMEM;
    b->h = h;
    b->next = h->ibodies;
    h->ibodies = b;
    *out = b;
    return 0;
}

int wh_obody_new(struct wasihttp *h, bool response, struct wh_obody **out)
{
    struct wh_obody *b = spry_calloc(1, sizeof *b);
    if (b == NULL)
        return SPRY_ENOMEM;
    b->h = h;
    b->response = response;
    b->declared = -1;
    spry_buf_init(&b->pending, WH_MAX_PENDING);
    b->next = h->obodies;
    h->obodies = b;
    *out = b;
    return 0;
}

/* ---- stream backends ---- */

static int in_read(void *user, uint8_t *buf, size_t cap, bool block, size_t *n)
{
    struct wh_ibody *b = user;
    *n = 0;
    if (b->eof)
        return WASIP2_IO_CLOSED;
    if (cap == 0)
        return WASIP2_IO_OK;
    if (b->h->server.read_body == NULL) {
        b->eof = true;
        return WASIP2_IO_CLOSED;
    }
    /* A non-blocking read finds nothing while no bytes have arrived. */
    if (!block && b->h->server.body_ready != NULL && !b->h->server.body_ready(b->h->server.user))
        return WASIP2_IO_OK;
    int rc = b->h->server.read_body(b->h->server.user, buf, cap, n);
    if (rc != 0)
        return WASIP2_IO_FAILED;
    if (*n == 0) {
        b->eof = true;
        return WASIP2_IO_CLOSED;
    }
    return WASIP2_IO_OK;
}

static void in_close(void *user)
{
    ((struct wh_ibody *)user)->stream_alive = false;
}

static bool in_ready(void *user)
{
    struct wh_ibody *b = user;
    if (b->eof || b->h->server.body_ready == NULL)
        return true;
    return b->h->server.body_ready(b->h->server.user);
}

static int in_wake_fd(void *user)
{
    const struct wh_ibody *b = user;
    return b->h->server.body_wake_fd != NULL ? b->h->server.body_wake_fd(b->h->server.user) : -1;
}

static const struct wasip2_stream_ops in_ops = {
    .read = in_read, .close = in_close, .ready = in_ready, .wake_fd = in_wake_fd};

static int out_write(void *user, const uint8_t *p, size_t n)
{
    struct wh_obody *b = user;
    if (b->finished || b->failed)
        return WASIP2_IO_CLOSED;
    if (b->out != NULL) { /* a request body, its request sent */
        int rc = wh_out_write(b, p, n);
        if (rc != WASIP2_IO_OK)
            b->failed = true;
        return rc;
    }
    if (b->declared >= 0 && b->written + n > (uint64_t)b->declared) {
        b->failed = true;
        return WASIP2_IO_FAILED;
    }
    b->written += n;
    if (!b->sent) {
        if (spry_buf_append(&b->pending, p, n) != 0) {
            b->failed = true;
            return WASIP2_IO_FAILED;
        }
        return WASIP2_IO_OK;
    }
    if (b->h->server.write(b->h->server.user, p, n) != 0) {
        b->failed = true;
        return WASIP2_IO_FAILED;
    }
    return WASIP2_IO_OK;
}

static uint64_t out_check_write(void *user)
{
    struct wh_obody *b = user;
    if (b->out != NULL)
        return b->finished || b->failed ? 1 : wh_out_check_write(b);
    if (b->sent)
        return 1u << 20;
    return b->pending.max - b->pending.len;
}

static void out_close(void *user)
{
    struct wh_obody *b = user;
    b->stream_alive = false;
    if (b->out != NULL)
        wh_outs_sweep(b->h); /* a request body's stream: its request may be done */
}

static bool out_ready(void *user)
{
    return out_check_write(user) > 0;
}

static int out_wake_fd(void *user)
{
    struct wh_obody *b = user;
    return b->out != NULL ? wh_out_wake_fd(b->out) : -1;
}

static const struct wasip2_stream_ops out_ops = {.write = out_write,
                                                 .check_write = out_check_write,
                                                 .ready = out_ready,
                                                 .close = out_close,
                                                 .wake_fd = out_wake_fd};

static int p2_of(struct ccall *call, struct wasip2 **p2)
{
    *p2 = wasip2_of_store(call->store);
    if (*p2 == NULL)
        return ccall_trap(call, "wasi:http: no WASI 0.2 context attached to the store");
    return 0;
}

/* An own<stream> result for a new stream object. */
static int stream_result(struct ccall *call, bool output, const struct wasip2_stream_ops *ops,
                         void *state, struct cval *result)
{
    struct wasip2 *p2;
    int rc = p2_of(call, &p2);
    if (rc != 0)
        return rc;
    uint32_t rep;
    rc = wasip2_stream_create(p2, output, ops, state, &rep);
    if (rc == SPRY_EEXHAUSTED)
        return ccall_trap(call, "wasi:http: too many live handles");
    if (rc != 0)
        return wh_oom(call);
    struct cval own = {.kind = CT_OWN, .of.rep = rep};
    return wh_result(call, result, 0, &own);
}

/* ---- incoming-body ---- */

static int ibody_stream(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_body *body;
    int rc = wh_ctx(call, &h);
    if (rc == 0)
        rc = wh_get(call, h, args[0].of.rep, WH_IN_BODY, "incoming-body", (void **)&body);
    if (rc != 0)
        return rc;
    if (body->in->stream_taken)
        return wh_result(call, result, 1, NULL);
    rc = stream_result(call, false, body->in->out != NULL ? &wh_client_in_ops : &in_ops, body->in,
                       result);
    if (rc == 0) {
        body->in->stream_taken = true;
        body->in->stream_alive = true;
    }
    return rc;
}

static int ibody_finish(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_body *body;
    int rc = wh_ctx(call, &h);
    if (rc == 0)
        rc = wh_get(call, h, args[0].of.rep, WH_IN_BODY, "incoming-body", (void **)&body);
    if (rc != 0)
        return rc;
    if (body->in->stream_alive)
        return ccall_trap(call, "wasi:http: incoming-body.finish while its input-stream is "
                                "still alive (drop the stream first)");
    rc = wh_take(call, h, args[0].of.rep, WH_IN_BODY, "incoming-body", (void **)&body);
    if (rc != 0)
        return rc;
    struct wh_out *out = body->in->out;
    spry_free(body);
    struct wh_future_trailers *ft = spry_calloc(1, sizeof *ft);
    if (ft == NULL)
        return wh_oom(call);
    ft->out = out;
    return wh_new(call, h, WH_FUTURE_TRAILERS, ft, result);
}

/* ---- future-trailers ---- */

static int ready_pollable(struct ccall *call, struct cval *result)
{
    struct wasip2 *p2;
    int rc = p2_of(call, &p2);
    if (rc != 0)
        return rc;
    uint32_t rep;
    rc = wasip2_pollable_ready(p2, &rep);
    if (rc == SPRY_EEXHAUSTED)
        return ccall_trap(call, "wasi:http: too many live handles");
    if (rc != 0)
        return wh_oom(call);
    result->kind = CT_OWN;
    result->of.rep = rep;
    return 0;
}

/* The request's trailers are there once its body ended: what is left of
 * the body is read and dropped (as far as it has arrived) first. */
static int request_trailers_wake_fd(void *user)
{
    const struct wasihttp *h = user;
    return h->server.body_wake_fd != NULL ? h->server.body_wake_fd(h->server.user) : -1;
}

static bool request_trailers_ready(void *user)
{
    struct wasihttp *h = user;
    return h->server.body_ready == NULL || h->server.body_ready(h->server.user);
}

static int trailers_subscribe(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_future_trailers *ft;
    int rc = wh_ctx(call, &h);
    if (rc == 0)
        rc = wh_get(call, h, args[0].of.rep, WH_FUTURE_TRAILERS, "future-trailers", (void **)&ft);
    if (rc != 0)
        return rc;
    if (ft->out != NULL)
        return wh_out_trailers_subscribe(call, ft, result);
    if (ft->taken || h->server.trailers == NULL)
        return ready_pollable(call, result);
    struct wasip2 *p2;
    if ((rc = p2_of(call, &p2)) != 0)
        return rc;
    uint32_t rep;
    rc = wasip2_pollable_create_fd(p2, request_trailers_ready, request_trailers_wake_fd, h, &rep);
    if (rc == SPRY_EEXHAUSTED)
        return ccall_trap(call, "wasi:http: too many live handles");
    if (rc != 0)
        return wh_oom(call);
    *result = (struct cval){.kind = CT_OWN, .of.rep = rep};
    return 0;
}

/* Reads the rest of the request body without blocking: 1 at its end, 0
 * when more is to come, < 0 when it failed. */
static int drain_request_body(struct wasihttp *h)
{
    if (h->server.read_body == NULL)
        return 1;
    uint8_t sink[4096];
    for (;;) {
        if (h->server.body_ready != NULL && !h->server.body_ready(h->server.user))
            return 0;
        size_t n = 0;
        int rc = h->server.read_body(h->server.user, sink, sizeof sink, &n);
        if (rc != 0)
            return rc < 0 ? rc : SPRY_EIO;
        if (n == 0)
            return 1;
    }
}

/* The request's trailers: none until the body ended (the future is not
 * ready), then some(ok(ok(trailers))) once, or some(ok(err)) when the body
 * failed; a second get is some(err). */
static int trailers_get(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_future_trailers *ft;
    int rc = wh_ctx(call, &h);
    if (rc == 0)
        rc = wh_get(call, h, args[0].of.rep, WH_FUTURE_TRAILERS, "future-trailers", (void **)&ft);
    if (rc != 0)
        return rc;
    if (ft->out != NULL)
        return wh_out_trailers(call, ft, result);
    struct cval *v = wh_vals(call, 4);
    if (v == NULL)
        return wh_oom(call);
    if (ft->taken) {
        v[0] = (struct cval){.kind = CT_RESULT, .of.var = {1, NULL}};
        return wh_some(call, result, &v[0]);
    }
    const struct wasihttp_header *t = NULL;
    size_t n = 0;
    int end = 1;
    if (h->server.trailers != NULL) {
        end = drain_request_body(h);
        if (end == 0) {
            wh_none(result);
            return 0;
        }
        if (end > 0 && (rc = h->server.trailers(h->server.user, &t, &n)) != 0)
            end = rc;
    }
    ft->taken = true;
    if (end < 0) {
        rc = wh_internal_error(call, "the request body failed", &v[2]);
        if (rc == 0)
            rc = wh_result(call, &v[1], 1, &v[2]);
    } else {
        if (n == 0) {
            wh_none(&v[2]);
        } else {
            struct wh_fields f = {0};
            rc = 0;
            for (size_t i = 0; rc == 0 && i < n; i++)
                rc = wh_fields_add(&f, t[i].name, strlen(t[i].name), (const uint8_t *)t[i].value,
                                   strlen(t[i].value));
            if (rc == 0)
                rc = wh_fields_handle(call, h, &f, true, &v[3]);
            wh_fields_fini(&f);
            if (rc != 0)
                return rc == SPRY_ENOMEM || rc == SPRY_ETOOBIG ? wh_oom(call) : rc;
            if ((rc = wh_some(call, &v[2], &v[3])) != 0)
                return rc;
        }
        rc = wh_result(call, &v[1], 0, &v[2]);
    }
    if (rc == 0)
        rc = wh_result(call, &v[0], 0, &v[1]);
    return rc == 0 ? wh_some(call, result, &v[0]) : rc;
}

/* ---- outgoing-body ---- */

static int obody_write(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_body *body;
    int rc = wh_ctx(call, &h);
    if (rc == 0)
        rc = wh_get(call, h, args[0].of.rep, WH_OUT_BODY, "outgoing-body", (void **)&body);
    if (rc != 0)
        return rc;
    if (body->out->stream_taken)
        return wh_result(call, result, 1, NULL);
    rc = stream_result(call, true, &out_ops, body->out, result);
    if (rc == 0) {
        body->out->stream_taken = true;
        body->out->stream_alive = true;
    }
    return rc;
}

static void trailers_free(struct wasihttp_header *t, size_t n)
{
    (void)n;
    spry_free(t);
}

static int obody_finish(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_body *body;
    int rc = wh_ctx(call, &h);
    if (rc == 0)
        rc = wh_get(call, h, args[0].of.rep, WH_OUT_BODY, "outgoing-body", (void **)&body);
    if (rc != 0)
        return rc;
    struct wh_obody *ob = body->out;
    if (ob->stream_alive)
        return ccall_trap(call, "wasi:http: outgoing-body.finish while its output-stream is "
                                "still alive (drop the stream first)");
    struct wh_fields trailers = {0};
    bool has_trailers = args[1].of.var.disc == 1;
    if (has_trailers) {
        rc = wh_fields_take(call, h, args[1].of.var.payload->of.rep, &trailers);
        if (rc != 0)
            return rc;
    }
    rc = wh_take(call, h, args[0].of.rep, WH_OUT_BODY, "outgoing-body", (void **)&body);
    if (rc != 0) {
        wh_fields_fini(&trailers);
        return rc;
    }
    spry_free(body);
    if (!ob->response) { /* a request body: ends the request's, or at handle */
        if (ob->out == NULL || ob->failed) {
            if (ob->out == NULL && !ob->failed)
                ob->trailers = trailers; /* sent at handle */
            else
                wh_fields_fini(&trailers);
            ob->finished = true;
            return wh_result(call, result, 0, NULL);
        }
        ob->finished = true;
        rc = wh_out_finish(call, ob, &trailers, result);
        wh_fields_fini(&trailers);
        return rc;
    }
    if (ob->declared >= 0 && ob->written != (uint64_t)ob->declared) {
        ob->failed = true;
        wh_fields_fini(&trailers);
        snprintf(h->why, sizeof h->why,
                 "the response body has %llu bytes where content-length said %lld",
                 (unsigned long long)ob->written, (long long)ob->declared);
        struct cval size, ec;
        size.kind = CT_U64;
        size.of.u = ob->written;
        struct cval opt;
        rc = wh_some(call, &opt, &size);
        if (rc == 0)
            rc = wh_error_code(call, WH_EC_HTTP_RESPONSE_BODY_SIZE, &opt, &ec);
        if (rc == 0)
            rc = wh_result(call, result, 1, &ec);
        return rc;
    }
    ob->finished = true;
    rc = 0;
    if (ob->sent) {
        struct wasihttp_header *t = NULL;
        if (trailers.n > 0) {
            t = spry_alloc_array(trailers.n, sizeof *t);
            if (t == NULL) {
                wh_fields_fini(&trailers);
                return wh_oom(call);
            }
            for (size_t i = 0; i < trailers.n; i++)
                t[i] =
                    (struct wasihttp_header){trailers.v[i].name, (const char *)trailers.v[i].value};
        }
        rc = h->server.finish(h->server.user, t, trailers.n);
        trailers_free(t, trailers.n);
        if (rc == 0)
            h->body_done = true;
        else
            ob->failed = true;
    }
    wh_fields_fini(&trailers);
    if (rc != 0) {
        struct cval ec;
        rc = wh_error_code(call, WH_EC_CONNECTION_TERMINATED, NULL, &ec);
        return rc == 0 ? wh_result(call, result, 1, &ec) : rc;
    }
    return wh_result(call, result, 0, NULL);
}

/* ---- the response ---- */

/* content-length of the headers: its value, -1 when absent or not one
 * plain decimal number. */
static int64_t content_length(const struct wh_fields *f)
{
    int64_t found = -1;
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->v[i].name, "content-length") != 0)
            continue;
        const char *s = (const char *)f->v[i].value;
        if (f->v[i].vlen == 0 || f->v[i].vlen > 18 || strspn(s, "0123456789") != f->v[i].vlen)
            return -1;
        int64_t v = strtoll(s, NULL, 10);
        if (found >= 0 && found != v)
            return -1;
        found = v;
    }
    return found;
}

int wh_response_send(struct wasihttp *h, struct wh_out_response *resp)
{
    const struct wh_fields *f = &resp->headers;
    struct wasihttp_header *hd = spry_alloc_array(f->n == 0 ? 1 : f->n, sizeof *hd);
    if (hd == NULL)
        return SPRY_ENOMEM;
    for (size_t i = 0; i < f->n; i++)
        hd[i] = (struct wasihttp_header){f->v[i].name, (const char *)f->v[i].value};
    int64_t len = content_length(f);
    int rc = h->server.respond(h->server.user, resp->status, hd, f->n, len);
    spry_free(hd);
    h->responded = rc == 0;
    struct wh_obody *ob = resp->body;
    if (rc != 0) {
        if (ob != NULL)
            ob->failed = true; /* the client is gone: writes fail from now on */
        return rc;
    }
    h->resp_body = ob;
    if (ob == NULL) { /* the guest never asked for a body: it is empty */
        rc = h->server.finish(h->server.user, NULL, 0);
        h->body_done = rc == 0;
        return rc;
    }
    ob->declared = len;
    if (len >= 0 && ob->written > (uint64_t)len) {
        ob->failed = true;
        return SPRY_EINVAL;
    }
    ob->sent = true;
    if (ob->pending.len > 0)
        rc = h->server.write(h->server.user, ob->pending.data, ob->pending.len);
    spry_buf_fini(&ob->pending);
    if (rc == 0 && ob->finished) {
        if (len >= 0 && ob->written != (uint64_t)len) {
            ob->failed = true;
            return SPRY_EINVAL;
        }
        rc = h->server.finish(h->server.user, NULL, 0);
        h->body_done = rc == 0;
    }
    if (rc != 0)
        ob->failed = true;
    return rc;
}

static int outparam_set(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)result;
    struct wasihttp *h;
    void *op;
    int rc = wh_ctx(call, &h);
    if (rc == 0)
        rc = wh_take(call, h, args[0].of.rep, WH_OUTPARAM, "response-outparam", &op);
    if (rc != 0)
        return rc;
    spry_free(op);
    const struct cval *r = &args[1];
    if (h->set) /* a second outparam: only the host makes them, one per request */
        return ccall_trap(call, "wasi:http: the response was already set");
    h->set = true;
    if (r->of.var.disc == 1) {
        h->set_error = true;
        uint32_t code = r->of.var.payload->of.var.disc;
        snprintf(h->why, sizeof h->why, "the handler answered error-code.%s",
                 code < WH_EC_COUNT ? wh_error_code_names[code] : "?");
        const struct cval *p = r->of.var.payload->of.var.payload;
        if (code == WH_EC_INTERNAL_ERROR && p != NULL && p->of.var.disc == 1) {
            size_t len = strlen(h->why);
            snprintf(
                h->why + len, sizeof h->why - len, "(\"%.*s\")",
                (int)(p->of.var.payload->of.str.len > 100 ? 100 : p->of.var.payload->of.str.len),
                p->of.var.payload->of.str.ptr);
        }
        return 0;
    }
    struct wh_out_response *resp;
    rc = wh_take(call, h, r->of.var.payload->of.rep, WH_OUT_RESPONSE, "outgoing-response",
                 (void **)&resp);
    if (rc != 0)
        return rc;
    /* A failure to send is the client's or the deadline's: the guest goes
     * on (its writes fail) and the embedder sees the outcome. */
    wh_response_send(h, resp);
    wh_free_obj(WH_OUT_RESPONSE, resp);
    return 0;
}

static int outparam_informational(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)args;
    struct cval ec;
    int rc = wh_internal_error(call, "informational responses are not supported", &ec);
    return rc == 0 ? wh_result(call, result, 1, &ec) : rc;
}

const struct chost_func wh_body_funcs[] = {
    {"[method]incoming-body.stream", ibody_stream},
    {"[static]incoming-body.finish", ibody_finish},
    {"[method]future-trailers.subscribe", trailers_subscribe},
    {"[method]future-trailers.get", trailers_get},
    {"[method]outgoing-body.write", obody_write},
    {"[static]outgoing-body.finish", obody_finish},
    {"[static]response-outparam.set", outparam_set},
    {"[method]response-outparam.send-informational", outparam_informational},
};
const size_t wh_nbody_funcs = sizeof wh_body_funcs / sizeof wh_body_funcs[0];

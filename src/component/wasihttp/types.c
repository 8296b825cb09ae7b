/*
 * wasi:http/types (requests, responses, request-options, http-error-code,
 * the WIT) and wasi:http/outgoing-handler. Fields are in fields.c, bodies
 * and the outparam in body.c.
 *
 * outgoing-request validates what wasmtime validates: a method must be a
 * token, a scheme `other` must be a valid URI scheme, path-with-query and
 * authority must not contain whitespace or control characters; invalid
 * values are err(). outgoing-handler.handle and the response it brings
 * are in outgoing.c.
 */
#include "component/wasihttp/wh.h"

#include "base/alloc.h"

#include <string.h>

const char *const wh_error_code_names[WH_EC_COUNT] = {
#define WH_EC_NAME(name, text) text,
    WH_ERROR_CODES(WH_EC_NAME)
#undef WH_EC_NAME
};

/* ---- values ---- */

struct cval *wh_vals(struct ccall *call, size_t n)
{
    return spry_arena_alloc_array(call->arena, n == 0 ? 1 : n, sizeof(struct cval));
}

int wh_oom(struct ccall *call)
{
    return ccall_trap(call, "wasi:http: out of memory");
}

static int boxed(struct ccall *call, const struct cval *payload, struct cval **out)
{
    *out = NULL;
    if (payload == NULL)
        return 0;
    *out = wh_vals(call, 1);
    if (*out == NULL)
        return wh_oom(call);
    **out = *payload;
    return 0;
}

int wh_result(struct ccall *call, struct cval *result, uint32_t disc, const struct cval *payload)
{
    struct cval *p;
    int rc = boxed(call, payload, &p);
    if (rc != 0)
        return rc;
    *result = (struct cval){.kind = CT_RESULT, .of.var = {disc, p}};
    return 0;
}

int wh_some(struct ccall *call, struct cval *out, const struct cval *payload)
{
    struct cval *p;
    int rc = boxed(call, payload, &p);
    if (rc != 0)
        return rc;
    *out = (struct cval){.kind = CT_OPTION, .of.var = {1, p}};
    return 0;
}

void wh_none(struct cval *out)
{
    *out = (struct cval){.kind = CT_OPTION, .of.var = {0, NULL}};
}

int wh_string(struct ccall *call, const char *s, size_t n, struct cval *out)
{
    char *copy = spry_arena_alloc(call->arena, n + 1);
    if (copy == NULL)
        return wh_oom(call);
    memcpy(copy, s, n);
    copy[n] = '\0';
    out->kind = CT_STRING;
    out->of.str.ptr = copy;
    out->of.str.len = n;
    return 0;
}

int wh_error_code(struct ccall *call, uint32_t code, const struct cval *payload, struct cval *out)
{
    struct cval *p;
    int rc = boxed(call, payload, &p);
    if (rc != 0)
        return rc;
    *out = (struct cval){.kind = CT_VARIANT, .of.var = {code, p}};
    return 0;
}

int wh_internal_error(struct ccall *call, const char *text, struct cval *out)
{
    struct cval s, opt;
    int rc = wh_string(call, text, strlen(text), &s);
    if (rc == 0)
        rc = wh_some(call, &opt, &s);
    if (rc == 0)
        rc = wh_error_code(call, WH_EC_INTERNAL_ERROR, &opt, out);
    return rc;
}

static int opt_string(struct ccall *call, const struct wh_optstr *s, struct cval *out)
{
    if (!s->some) {
        wh_none(out);
        return 0;
    }
    struct cval v;
    int rc = wh_string(call, s->s, strlen(s->s), &v);
    return rc == 0 ? wh_some(call, out, &v) : rc;
}

/* method: a case, or other(string). */
static int method_value(struct ccall *call, uint32_t method, const char *other, struct cval *out)
{
    if (method != WH_METHOD_OTHER) {
        *out = (struct cval){.kind = CT_VARIANT, .of.var = {method, NULL}};
        return 0;
    }
    struct cval s;
    int rc = wh_string(call, other, strlen(other), &s);
    return rc == 0 ? wh_error_code(call, WH_METHOD_OTHER, &s, out) : rc;
}

static int scheme_value(struct ccall *call, uint32_t scheme, const char *other, struct cval *out)
{
    struct cval v, s;
    int rc = 0;
    if (scheme != WH_SCHEME_OTHER)
        v = (struct cval){.kind = CT_VARIANT, .of.var = {scheme, NULL}};
    else if ((rc = wh_string(call, other, strlen(other), &s)) == 0)
        rc = wh_error_code(call, WH_SCHEME_OTHER, &s, &v);
    return rc == 0 ? wh_some(call, out, &v) : rc;
}

/* ---- incoming-request ---- */

static int in_request(struct ccall *call, const struct cval *arg, struct wasihttp **h,
                      struct wh_in_request **r)
{
    int rc = wh_ctx(call, h);
    return rc == 0 ? wh_get(call, *h, arg->of.rep, WH_IN_REQUEST, "incoming-request", (void **)r)
                   : rc;
}

static int in_request_method(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_in_request *r;
    int rc = in_request(call, &args[0], &h, &r);
    return rc == 0 ? method_value(call, r->method, r->method_other, result) : rc;
}

static int in_request_path(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_in_request *r;
    int rc = in_request(call, &args[0], &h, &r);
    return rc == 0 ? opt_string(call, &r->path, result) : rc;
}

static int in_request_scheme(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_in_request *r;
    int rc = in_request(call, &args[0], &h, &r);
    return rc == 0 ? scheme_value(call, r->scheme, r->scheme_other, result) : rc;
}

static int in_request_authority(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_in_request *r;
    int rc = in_request(call, &args[0], &h, &r);
    return rc == 0 ? opt_string(call, &r->authority, result) : rc;
}

static int in_request_headers(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_in_request *r;
    int rc = in_request(call, &args[0], &h, &r);
    return rc == 0 ? wh_fields_handle(call, h, &r->headers, true, result) : rc;
}

static int in_request_consume(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_in_request *r;
    int rc = in_request(call, &args[0], &h, &r);
    if (rc != 0)
        return rc;
    if (r->consumed)
        return wh_result(call, result, 1, NULL);
    struct wh_body *body = spry_calloc(1, sizeof *body);
    if (body == NULL || wh_ibody_new(h, &body->in) != 0) {
        spry_free(body);
        return wh_oom(call);
    }
    struct cval own;
    rc = wh_new(call, h, WH_IN_BODY, body, &own);
    if (rc != 0)
        return rc;
    r->consumed = true;
    return wh_result(call, result, 0, &own);
}

/* ---- outgoing-request ---- */

static bool token(const char *s, size_t n)
{
    return wasihttp_name_valid(s, n); /* the same tchar rule */
}

/* No whitespace, controls or DEL (a URI component, loosely). */
static bool uri_part(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return false;
    return n <= WH_MAX_URL;
}

static bool scheme_ok(const char *s, size_t n)
{
    if (n == 0 || n > 64 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

static char *dup_n(const char *s, size_t n)
{
    char *p = spry_malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int out_request(struct ccall *call, const struct cval *arg, struct wasihttp **h,
                       struct wh_out_request **r)
{
    int rc = wh_ctx(call, h);
    return rc == 0 ? wh_get(call, *h, arg->of.rep, WH_OUT_REQUEST, "outgoing-request", (void **)r)
                   : rc;
}

static int out_request_new(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    int rc = wh_ctx(call, &h);
    if (rc != 0)
        return rc;
    struct wh_out_request *r = spry_calloc(1, sizeof *r);
    if (r == NULL)
        return wh_oom(call);
    rc = wh_fields_take(call, h, args[0].of.rep, &r->headers);
    if (rc != 0) {
        spry_free(r);
        return rc;
    }
    r->headers.immutable = true;
    r->method = 0; /* get; no scheme, authority or path until set (wasmtime) */
    return wh_new(call, h, WH_OUT_REQUEST, r, result);
}

static int out_request_body(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_out_request *r;
    int rc = out_request(call, &args[0], &h, &r);
    if (rc != 0)
        return rc;
    if (r->body != NULL)
        return wh_result(call, result, 1, NULL);
    struct wh_body *body = spry_calloc(1, sizeof *body);
    if (body == NULL || wh_obody_new(h, false, &body->out) != 0) {
        spry_free(body);
        return wh_oom(call);
    }
    r->body = body->out;
    struct cval own;
    rc = wh_new(call, h, WH_OUT_BODY, body, &own);
    return rc == 0 ? wh_result(call, result, 0, &own) : rc;
}

static int out_request_method(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_out_request *r;
    int rc = out_request(call, &args[0], &h, &r);
    return rc == 0 ? method_value(call, r->method, r->method_other, result) : rc;
}

static int out_request_set_method(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_out_request *r;
    int rc = out_request(call, &args[0], &h, &r);
    if (rc != 0)
        return rc;
    const struct cval *m = &args[1];
    char *other = NULL;
    if (m->of.var.disc == WH_METHOD_OTHER) {
        const struct cval *s = m->of.var.payload;
        if (!token(s->of.str.ptr, s->of.str.len))
            return wh_result(call, result, 1, NULL);
        if ((other = dup_n(s->of.str.ptr, s->of.str.len)) == NULL)
            return wh_oom(call);
    }
    spry_free(r->method_other);
    r->method = m->of.var.disc;
    r->method_other = other;
    return wh_result(call, result, 0, NULL);
}

/* Sets an option<string> member after `ok` accepted it. */
static int set_optstr(struct ccall *call, const struct cval *opt, struct wh_optstr *to,
                      struct cval *result)
{
    char *s = NULL;
    if (opt->of.var.disc == 1) {
        const struct cval *v = opt->of.var.payload;
        if (!uri_part(v->of.str.ptr, v->of.str.len))
            return wh_result(call, result, 1, NULL);
        if ((s = dup_n(v->of.str.ptr, v->of.str.len)) == NULL)
            return wh_oom(call);
    }
    spry_free(to->s);
    to->some = s != NULL;
    to->s = s;
    return wh_result(call, result, 0, NULL);
}

static int out_request_path(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_out_request *r;
    int rc = out_request(call, &args[0], &h, &r);
    return rc == 0 ? opt_string(call, &r->path, result) : rc;
}

static int out_request_set_path(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_out_request *r;
    int rc = out_request(call, &args[0], &h, &r);
    return rc == 0 ? set_optstr(call, &args[1], &r->path, result) : rc;
}

static int out_request_authority(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_out_request *r;
    int rc = out_request(call, &args[0], &h, &r);
    return rc == 0 ? opt_string(call, &r->authority, result) : rc;
}

static int out_request_set_authority(struct ccall *call, const struct cval *args,
                                     struct cval *result)
{
    struct wasihttp *h;
    struct wh_out_request *r;
    int rc = out_request(call, &args[0], &h, &r);
    return rc == 0 ? set_optstr(call, &args[1], &r->authority, result) : rc;
}

static int out_request_scheme(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_out_request *r;
    int rc = out_request(call, &args[0], &h, &r);
    if (rc != 0)
        return rc;
    if (!r->has_scheme) {
        wh_none(result);
        return 0;
    }
    return scheme_value(call, r->scheme, r->scheme_other, result);
}

static int out_request_set_scheme(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_out_request *r;
    int rc = out_request(call, &args[0], &h, &r);
    if (rc != 0)
        return rc;
    const struct cval *opt = &args[1];
    char *other = NULL;
    uint32_t scheme = 0;
    if (opt->of.var.disc == 1) {
        scheme = opt->of.var.payload->of.var.disc;
        if (scheme == WH_SCHEME_OTHER) {
            const struct cval *s = opt->of.var.payload->of.var.payload;
            if (!scheme_ok(s->of.str.ptr, s->of.str.len))
                return wh_result(call, result, 1, NULL);
            if ((other = dup_n(s->of.str.ptr, s->of.str.len)) == NULL)
                return wh_oom(call);
        }
    }
    spry_free(r->scheme_other);
    r->has_scheme = opt->of.var.disc == 1;
    r->scheme = scheme;
    r->scheme_other = other;
    return wh_result(call, result, 0, NULL);
}

static int out_request_headers(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_out_request *r;
    int rc = out_request(call, &args[0], &h, &r);
    return rc == 0 ? wh_fields_handle(call, h, &r->headers, true, result) : rc;
}

/* ---- request-options ---- */

static int options_new(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)args;
    struct wasihttp *h;
    int rc = wh_ctx(call, &h);
    if (rc != 0)
        return rc;
    struct wh_options *o = spry_calloc(1, sizeof *o);
    if (o == NULL)
        return wh_oom(call);
    return wh_new(call, h, WH_OPTIONS, o, result);
}

static int option_get(struct ccall *call, const struct cval *args, struct cval *result, int which)
{
    struct wasihttp *h;
    struct wh_options *o;
    int rc = wh_ctx(call, &h);
    if (rc == 0)
        rc = wh_get(call, h, args[0].of.rep, WH_OPTIONS, "request-options", (void **)&o);
    if (rc != 0)
        return rc;
    if (!o->has[which]) {
        wh_none(result);
        return 0;
    }
    struct cval v = {.kind = CT_U64, .of.u = o->ns[which]};
    return wh_some(call, result, &v);
}

static int option_set(struct ccall *call, const struct cval *args, struct cval *result, int which)
{
    struct wasihttp *h;
    struct wh_options *o;
    int rc = wh_ctx(call, &h);
    if (rc == 0)
        rc = wh_get(call, h, args[0].of.rep, WH_OPTIONS, "request-options", (void **)&o);
    if (rc != 0)
        return rc;
    o->has[which] = args[1].of.var.disc == 1;
    o->ns[which] = o->has[which] ? args[1].of.var.payload->of.u : 0;
    return wh_result(call, result, 0, NULL);
}

#define OPTION_FUNCS(name, index)                                                           \
    static int name##_get(struct ccall *call, const struct cval *args, struct cval *result) \
    {                                                                                       \
        return option_get(call, args, result, index);                                       \
    }                                                                                       \
    static int name##_set(struct ccall *call, const struct cval *args, struct cval *result) \
    {                                                                                       \
        return option_set(call, args, result, index);                                       \
    }
OPTION_FUNCS(connect_timeout, 0)
OPTION_FUNCS(first_byte_timeout, 1)
OPTION_FUNCS(between_bytes_timeout, 2)
#undef OPTION_FUNCS

/* ---- outgoing-response ---- */

static int out_response(struct ccall *call, const struct cval *arg, struct wasihttp **h,
                        struct wh_out_response **r)
{
    int rc = wh_ctx(call, h);
    return rc == 0 ? wh_get(call, *h, arg->of.rep, WH_OUT_RESPONSE, "outgoing-response", (void **)r)
                   : rc;
}

static int out_response_new(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    int rc = wh_ctx(call, &h);
    if (rc != 0)
        return rc;
    struct wh_out_response *r = spry_calloc(1, sizeof *r);
    if (r == NULL)
        return wh_oom(call);
    rc = wh_fields_take(call, h, args[0].of.rep, &r->headers);
    if (rc != 0) {
        spry_free(r);
        return rc;
    }
    r->headers.immutable = true;
    r->status = 200;
    return wh_new(call, h, WH_OUT_RESPONSE, r, result);
}

static int out_response_status(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_out_response *r;
    int rc = out_response(call, &args[0], &h, &r);
    if (rc != 0)
        return rc;
    *result = (struct cval){.kind = CT_U16, .of.u = r->status};
    return 0;
}

static int out_response_set_status(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_out_response *r;
    int rc = out_response(call, &args[0], &h, &r);
    if (rc != 0)
        return rc;
    uint64_t s = args[1].of.u;
    if (s < 100 || s > 599) /* http::StatusCode accepts 100-999; HTTP/1.1 servers 100-599 */
        return wh_result(call, result, 1, NULL);
    r->status = (uint16_t)s;
    return wh_result(call, result, 0, NULL);
}

static int out_response_headers(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_out_response *r;
    int rc = out_response(call, &args[0], &h, &r);
    return rc == 0 ? wh_fields_handle(call, h, &r->headers, true, result) : rc;
}

static int out_response_body(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_out_response *r;
    int rc = out_response(call, &args[0], &h, &r);
    if (rc != 0)
        return rc;
    if (r->body != NULL)
        return wh_result(call, result, 1, NULL);
    struct wh_body *body = spry_calloc(1, sizeof *body);
    if (body == NULL || wh_obody_new(h, true, &body->out) != 0) {
        spry_free(body);
        return wh_oom(call);
    }
    r->body = body->out;
    struct cval own;
    rc = wh_new(call, h, WH_OUT_BODY, body, &own);
    return rc == 0 ? wh_result(call, result, 0, &own) : rc;
}

/* http-error-code: Spry's stream errors never carry an HTTP error. */
static int http_error_code(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)call;
    (void)args;
    wh_none(result);
    return 0;
}

/* ---- the interfaces ---- */

static const struct chost_resource types_resources[] = {
    {"fields", wh_drop},
    {"incoming-request", wh_drop},
    {"outgoing-request", wh_drop},
    {"request-options", wh_drop},
    {"response-outparam", wh_drop},
    {"incoming-response", wh_drop},
    {"incoming-body", wh_drop},
    {"future-trailers", wh_drop},
    {"outgoing-response", wh_drop},
    {"outgoing-body", wh_drop},
    {"future-incoming-response", wh_drop},
};

/* fields.c and body.c have their own lists; wasihttp_ifaces joins them
 * with this one into the interface's table. */
const struct chost_func wh_types_funcs[] = {
    {"http-error-code", http_error_code},
    {"[method]incoming-request.method", in_request_method},
    {"[method]incoming-request.path-with-query", in_request_path},
    {"[method]incoming-request.scheme", in_request_scheme},
    {"[method]incoming-request.authority", in_request_authority},
    {"[method]incoming-request.headers", in_request_headers},
    {"[method]incoming-request.consume", in_request_consume},
    {"[constructor]outgoing-request", out_request_new},
    {"[method]outgoing-request.body", out_request_body},
    {"[method]outgoing-request.method", out_request_method},
    {"[method]outgoing-request.set-method", out_request_set_method},
    {"[method]outgoing-request.path-with-query", out_request_path},
    {"[method]outgoing-request.set-path-with-query", out_request_set_path},
    {"[method]outgoing-request.scheme", out_request_scheme},
    {"[method]outgoing-request.set-scheme", out_request_set_scheme},
    {"[method]outgoing-request.authority", out_request_authority},
    {"[method]outgoing-request.set-authority", out_request_set_authority},
    {"[method]outgoing-request.headers", out_request_headers},
    {"[constructor]request-options", options_new},
    {"[method]request-options.connect-timeout", connect_timeout_get},
    {"[method]request-options.set-connect-timeout", connect_timeout_set},
    {"[method]request-options.first-byte-timeout", first_byte_timeout_get},
    {"[method]request-options.set-first-byte-timeout", first_byte_timeout_set},
    {"[method]request-options.between-bytes-timeout", between_bytes_timeout_get},
    {"[method]request-options.set-between-bytes-timeout", between_bytes_timeout_set},
    {"[constructor]outgoing-response", out_response_new},
    {"[method]outgoing-response.status-code", out_response_status},
    {"[method]outgoing-response.set-status-code", out_response_set_status},
    {"[method]outgoing-response.headers", out_response_headers},
    {"[method]outgoing-response.body", out_response_body},
};
const size_t wh_ntypes_funcs = sizeof wh_types_funcs / sizeof wh_types_funcs[0];

/* The WIT of wasi:http/types (v0.2.12, types and signatures only). */
const struct chost_iface wh_iface_types = {
    .name = "wasi:http/types",
    .version = WASIHTTP_VERSION,
    .wit = "use wasi:clocks/monotonic-clock@0.2.12.{duration};\n"
           "use wasi:io/streams@0.2.12.{input-stream, output-stream};\n"
           "use wasi:io/error@0.2.12.{error as io-error};\n"
           "use wasi:io/poll@0.2.12.{pollable};\n"
           "variant method { get, head, post, put, delete, connect, options, trace, patch,\n"
           "    other(string) }\n"
           "variant scheme { HTTP, HTTPS, other(string) }\n"
           "record DNS-error-payload { rcode: option<string>, info-code: option<u16> }\n"
           "record TLS-alert-received-payload { alert-id: option<u8>,\n"
           "    alert-message: option<string> }\n"
           "record field-size-payload { field-name: option<string>,\n"
           "    field-size: option<u32> }\n"
           "variant error-code {\n"
           "    DNS-timeout,\n"
           "    DNS-error(DNS-error-payload),\n"
           "    destination-not-found,\n"
           "    destination-unavailable,\n"
           "    destination-IP-prohibited,\n"
           "    destination-IP-unroutable,\n"
           "    connection-refused,\n"
           "    connection-terminated,\n"
           "    connection-timeout,\n"
           "    connection-read-timeout,\n"
           "    connection-write-timeout,\n"
           "    connection-limit-reached,\n"
           "    TLS-protocol-error,\n"
           "    TLS-certificate-error,\n"
           "    TLS-alert-received(TLS-alert-received-payload),\n"
           "    HTTP-request-denied,\n"
           "    HTTP-request-length-required,\n"
           "    HTTP-request-body-size(option<u64>),\n"
           "    HTTP-request-method-invalid,\n"
           "    HTTP-request-URI-invalid,\n"
           "    HTTP-request-URI-too-long,\n"
           "    HTTP-request-header-section-size(option<u32>),\n"
           "    HTTP-request-header-size(option<field-size-payload>),\n"
           "    HTTP-request-trailer-section-size(option<u32>),\n"
           "    HTTP-request-trailer-size(field-size-payload),\n"
           "    HTTP-response-incomplete,\n"
           "    HTTP-response-header-section-size(option<u32>),\n"
           "    HTTP-response-header-size(field-size-payload),\n"
           "    HTTP-response-body-size(option<u64>),\n"
           "    HTTP-response-trailer-section-size(option<u32>),\n"
           "    HTTP-response-trailer-size(field-size-payload),\n"
           "    HTTP-response-transfer-coding(option<string>),\n"
           "    HTTP-response-content-coding(option<string>),\n"
           "    HTTP-response-timeout,\n"
           "    HTTP-upgrade-failed,\n"
           "    HTTP-protocol-error,\n"
           "    loop-detected,\n"
           "    configuration-error,\n"
           "    internal-error(option<string>),\n"
           "}\n"
           "http-error-code: func(err: borrow<io-error>) -> option<error-code>;\n"
           "variant header-error { invalid-syntax, forbidden, immutable }\n"
           "type field-key = string;\n"
           "type field-name = field-key;\n"
           "type field-value = list<u8>;\n"
           "resource fields {\n"
           "    constructor();\n"
           "    from-list: static func(entries: list<tuple<field-name, field-value>>)\n"
           "        -> result<fields, header-error>;\n"
           "    get: func(name: field-name) -> list<field-value>;\n"
           "    has: func(name: field-name) -> bool;\n"
           "    set: func(name: field-name, value: list<field-value>) -> result<_, header-error>;\n"
           "    delete: func(name: field-name) -> result<_, header-error>;\n"
           "    append: func(name: field-name, value: field-value) -> result<_, header-error>;\n"
           "    entries: func() -> list<tuple<field-name, field-value>>;\n"
           "    clone: func() -> fields;\n"
           "}\n"
           "type headers = fields;\n"
           "type trailers = fields;\n"
           "resource incoming-request {\n"
           "    method: func() -> method;\n"
           "    path-with-query: func() -> option<string>;\n"
           "    scheme: func() -> option<scheme>;\n"
           "    authority: func() -> option<string>;\n"
           "    headers: func() -> headers;\n"
           "    consume: func() -> result<incoming-body>;\n"
           "}\n"
           "resource outgoing-request {\n"
           "    constructor(headers: headers);\n"
           "    body: func() -> result<outgoing-body>;\n"
           "    method: func() -> method;\n"
           "    set-method: func(method: method) -> result;\n"
           "    path-with-query: func() -> option<string>;\n"
           "    set-path-with-query: func(path-with-query: option<string>) -> result;\n"
           "    scheme: func() -> option<scheme>;\n"
           "    set-scheme: func(scheme: option<scheme>) -> result;\n"
           "    authority: func() -> option<string>;\n"
           "    set-authority: func(authority: option<string>) -> result;\n"
           "    headers: func() -> headers;\n"
           "}\n"
           "resource request-options {\n"
           "    constructor();\n"
           "    connect-timeout: func() -> option<duration>;\n"
           "    set-connect-timeout: func(duration: option<duration>) -> result;\n"
           "    first-byte-timeout: func() -> option<duration>;\n"
           "    set-first-byte-timeout: func(duration: option<duration>) -> result;\n"
           "    between-bytes-timeout: func() -> option<duration>;\n"
           "    set-between-bytes-timeout: func(duration: option<duration>) -> result;\n"
           "}\n"
           "resource response-outparam {\n"
           "    send-informational: func(status: u16, headers: headers) -> result<_, error-code>;\n"
           "    set: static func(param: response-outparam,\n"
           "        response: result<outgoing-response, error-code>);\n"
           "}\n"
           "type status-code = u16;\n"
           "resource incoming-response {\n"
           "    status: func() -> status-code;\n"
           "    headers: func() -> headers;\n"
           "    consume: func() -> result<incoming-body>;\n"
           "}\n"
           "resource incoming-body {\n"
           "    %stream: func() -> result<input-stream>;\n"
           "    finish: static func(this: incoming-body) -> future-trailers;\n"
           "}\n"
           "resource future-trailers {\n"
           "    subscribe: func() -> pollable;\n"
           "    get: func() -> option<result<result<option<trailers>, error-code>>>;\n"
           "}\n"
           "resource outgoing-response {\n"
           "    constructor(headers: headers);\n"
           "    status-code: func() -> status-code;\n"
           "    set-status-code: func(status-code: status-code) -> result;\n"
           "    headers: func() -> headers;\n"
           "    body: func() -> result<outgoing-body>;\n"
           "}\n"
           "resource outgoing-body {\n"
           "    write: func() -> result<output-stream>;\n"
           "    finish: static func(this: outgoing-body, trailers: option<trailers>)\n"
           "        -> result<_, error-code>;\n"
           "}\n"
           "resource future-incoming-response {\n"
           "    subscribe: func() -> pollable;\n"
           "    get: func() -> option<result<result<incoming-response, error-code>>>;\n"
           "}\n",
    .resources = types_resources,
    .nresources = sizeof types_resources / sizeof types_resources[0],
    .funcs = wh_types_funcs, /* joined with fields and bodies by wasihttp_ifaces */
    .nfuncs = sizeof wh_types_funcs / sizeof wh_types_funcs[0],
};

static const struct chost_func handler_funcs[] = {{"handle", wh_outgoing_handle}};

const struct chost_iface wh_iface_outgoing_handler = {
    .name = "wasi:http/outgoing-handler",
    .version = WASIHTTP_VERSION,
    .wit = "use types.{outgoing-request, request-options, future-incoming-response, "
           "error-code};\n"
           "handle: func(request: outgoing-request, options: option<request-options>)\n"
           "    -> result<future-incoming-response, error-code>;\n",
    .resources = NULL,
    .nresources = 0,
    .funcs = handler_funcs,
    .nfuncs = 1,
};

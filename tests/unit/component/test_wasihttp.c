/*
 * wasi:http through the host functions (the WASI 0.2 fixture, with a
 * wasi:http context and a recording server attached): fields validation,
 * immutability and forbidden names; the incoming request; bodies as
 * streams with their once-only rules; response-outparam.set streaming to
 * the server; and each misuse that must trap or fail.
 */
#include "harness/test.h"
#include "component/wasihttp/wasihttp.h"
#include "component/wasihttp/wh.h"
#include "component/wit.h"
#include "unit/component/wasip2_fixture.h"

#include <stdio.h>
#include <string.h>

#define T  "wasi:http/types"
#define IO "wasi:io/streams"

/* What the server side saw. */
struct rec {
    const uint8_t *body;
    size_t body_len, body_pos;
    size_t read_chunk; /* most bytes one read_body returns (0: all) */
    int responds, finishes;
    uint16_t status;
    char headers[1024];
    int64_t content_length;
    char out[1 << 16];
    size_t out_len;
    size_t ntrailers;
    int fail_writes, fail_respond;
};

static int rec_read(void *user, uint8_t *buf, size_t cap, size_t *n)
{
    struct rec *r = user;
    size_t left = r->body_len - r->body_pos;
    size_t k = left < cap ? left : cap;
    if (r->read_chunk != 0 && k > r->read_chunk)
        k = r->read_chunk;
    memcpy(buf, r->body + r->body_pos, k);
    r->body_pos += k;
    *n = k;
    return 0;
}

static int rec_respond(void *user, uint16_t status, const struct wasihttp_header *h, size_t n,
                       int64_t len)
{
    struct rec *r = user;
    if (r->fail_respond)
        return SPRY_EINTERRUPTED;
    r->responds++;
    r->status = status;
    r->content_length = len;
    for (size_t i = 0; i < n; i++) {
        size_t at = strlen(r->headers);
        snprintf(r->headers + at, sizeof r->headers - at, "%s=%s;", h[i].name, h[i].value);
    }
    return 0;
}

static int rec_write(void *user, const uint8_t *p, size_t n)
{
    struct rec *r = user;
    if (r->fail_writes)
        return SPRY_EINTERRUPTED;
    ASSERT_LE_UINT(r->out_len + n, sizeof r->out);
    memcpy(r->out + r->out_len, p, n);
    r->out_len += n;
    return 0;
}

static int rec_finish(void *user, const struct wasihttp_header *t, size_t n)
{
    (void)t;
    struct rec *r = user;
    r->finishes++;
    r->ntrailers = n;
    return 0;
}

struct ht {
    struct p2t p2;
    struct wasihttp *h;
    struct rec rec;
    uint32_t request, outparam;
};

/* The outbound hook the next ht_setup gives the context (then NULL). */
static const struct wasihttp_outgoing *next_outgoing;

static void ht_setup(struct ht *t, const char *body)
{
    const struct wasihttp_outgoing *outgoing = next_outgoing;
    next_outgoing = NULL;
    memset(t, 0, sizeof *t);
    p2t_setup(&t->p2, NULL);
    t->rec.body = (const uint8_t *)body;
    t->rec.body_len = body != NULL ? strlen(body) : 0;
    struct wasihttp_server server = {.user = &t->rec,
                                     .read_body = rec_read,
                                     .respond = rec_respond,
                                     .write = rec_write,
                                     .finish = rec_finish,
                                     .outgoing = outgoing};
    ASSERT_OK(wasihttp_create(&server, &t->h));
    wasihttp_attach(t->h, t->p2.store);
    static const struct wasihttp_header headers[] = {
        {"host", "example.com:3000"},
        {"x-one", "1"},
        {"spin-path-info", "/rest"},
        {"x-one", "again"},
    };
    struct wasihttp_request req = {"POST", "/echo/rest?x=1", "http", "example.com:3000", headers,
                                   4};
    ASSERT_OK(wasihttp_incoming(t->h, &req, &t->request, &t->outparam));
}

static void ht_teardown(struct ht *t)
{
    wasip2_destroy(t->p2.p2);
    t->p2.p2 = NULL;
    wasihttp_destroy(t->h);
    p2t_teardown(&t->p2);
}

static struct cval cv_own(uint32_t rep)
{
    return (struct cval){.kind = CT_OWN, .of.rep = rep};
}

static struct cval cv_none(void)
{
    return (struct cval){.kind = CT_OPTION, .of.var = {0, NULL}};
}

static uint32_t new_fields(struct ht *t)
{
    struct cval r;
    ASSERT_OK(P2CALL0(&t->p2, T, "[constructor]fields", &r));
    return r.of.rep;
}

/* result<_, header-error>: -1 for ok, else the case. */
static int header_result(const struct cval *r)
{
    ASSERT_EQ_INT(r->kind, CT_RESULT);
    return r->of.var.disc == 0 ? -1 : (int)r->of.var.payload->of.var.disc;
}

static int append(struct ht *t, uint32_t f, const char *name, const void *value, size_t n)
{
    struct cval r;
    ASSERT_OK(P2CALL(&t->p2, T, "[method]fields.append", &r, cv_borrow(f), cv_str(name),
                     cv_bytes(value, n)));
    return header_result(&r);
}

/* "name=value;" for every entry. */
static const char *entries(struct ht *t, uint32_t f)
{
    static char out[2048];
    struct cval r;
    ASSERT_OK(P2CALL(&t->p2, T, "[method]fields.entries", &r, cv_borrow(f)));
    out[0] = '\0';
    for (size_t i = 0; i < r.of.list.n; i++) {
        const struct cval *e = r.of.list.v[i].of.list.v;
        size_t at = strlen(out);
        snprintf(out + at, sizeof out - at, "%.*s=%.*s;", (int)e[0].of.str.len, e[0].of.str.ptr,
                 (int)e[1].of.raw.n, (const char *)e[1].of.raw.ptr);
    }
    return out;
}

TEST(wasihttp, every_wit_function_has_an_implementation_and_the_host_links)
{
    ASSERT_NOT_NULL(wasihttp_host());
    struct ht t;
    ht_setup(&t, NULL);
    size_t n;
    const struct chost_iface *ifaces = wasihttp_ifaces(&n);
    for (size_t k = 0; k < n; k++) {
        const struct wit_iface *wi = wit_host_iface(&t.p2.host, ifaces[k].name);
        ASSERT_NOT_NULL(wi);
        ASSERT_EQ_UINT(wi->nfuncs, ifaces[k].nfuncs);
        for (size_t i = 0; i < wi->nfuncs; i++) {
            bool found = false;
            for (size_t j = 0; j < ifaces[k].nfuncs; j++)
                found |= strcmp(ifaces[k].funcs[j].name, wi->funcs[i].name) == 0;
            if (!found)
                fprintf(stderr, "no C function for %s\n", wi->funcs[i].name);
            ASSERT_TRUE(found);
        }
    }
    ht_teardown(&t);
}

TEST(wasihttp, field_names_and_values_are_validated_as_wasmtime_does)
{
    ASSERT_TRUE(wasihttp_name_valid("x-ok_name.1~", 12));
    ASSERT_FALSE(wasihttp_name_valid("", 0));
    ASSERT_FALSE(wasihttp_name_valid("bad name", 8));
    ASSERT_FALSE(wasihttp_name_valid("a:b", 3));
    ASSERT_FALSE(wasihttp_name_valid("caf\xc3\xa9", 5));
    ASSERT_TRUE(wasihttp_value_valid((const uint8_t *)"tab\there \x80\xff", 11));
    ASSERT_FALSE(wasihttp_value_valid((const uint8_t *)"a\nb", 3));
    ASSERT_FALSE(wasihttp_value_valid((const uint8_t *)"a\rb", 3));
    ASSERT_FALSE(wasihttp_value_valid((const uint8_t *)"a\0b", 3));
    ASSERT_FALSE(wasihttp_value_valid((const uint8_t *)"a\x7f", 2));

    struct ht t;
    ht_setup(&t, NULL);
    uint32_t f = new_fields(&t);
    ASSERT_EQ_INT(append(&t, f, "malformed header name", "ok", 2), WH_HE_INVALID_SYNTAX);
    ASSERT_EQ_INT(append(&t, f, "ok-header-name", "bad\nvalue", 9), WH_HE_INVALID_SYNTAX);
    ASSERT_EQ_INT(append(&t, f, "Connection", "keep-alive", 10), WH_HE_FORBIDDEN);
    ASSERT_EQ_INT(append(&t, f, "Keep-Alive", "x", 1), WH_HE_FORBIDDEN);
    ASSERT_EQ_INT(append(&t, f, "HOST", "x", 1), WH_HE_FORBIDDEN);
    ASSERT_EQ_INT(append(&t, f, "transfer-encoding", "chunked", 7), WH_HE_FORBIDDEN);
    ASSERT_EQ_INT(append(&t, f, "X-Mixed-Case", "v1", 2), -1);
    ASSERT_EQ_INT(append(&t, f, "x-mixed-case", "v2", 2), -1);
    ASSERT_EQ_INT(append(&t, f, "other", "", 0), -1);
    ASSERT_EQ_STR(entries(&t, f), "x-mixed-case=v1;x-mixed-case=v2;other=;");

    /* get and has are case-insensitive; an invalid name finds nothing. */
    struct cval r;
    ASSERT_OK(P2CALL(&t.p2, T, "[method]fields.get", &r, cv_borrow(f), cv_str("X-MIXED-CASE")));
    ASSERT_EQ_UINT(r.of.list.n, 2);
    ASSERT_EQ_MEM(r.of.list.v[1].of.raw.ptr, "v2", 2);
    ASSERT_OK(P2CALL(&t.p2, T, "[method]fields.has", &r, cv_borrow(f), cv_str("Other")));
    ASSERT_TRUE(r.of.b);
    ASSERT_OK(P2CALL(&t.p2, T, "[method]fields.has", &r, cv_borrow(f), cv_str("bad name")));
    ASSERT_FALSE(r.of.b);

    /* set replaces every value; delete removes them; both validate. */
    struct cval vals[2] = {cv_bytes("a", 1), cv_bytes("b", 1)};
    struct cval list = {.kind = CT_LIST, .of.list = {vals, 2}};
    ASSERT_OK(
        P2CALL(&t.p2, T, "[method]fields.set", &r, cv_borrow(f), cv_str("x-mixed-case"), list));
    ASSERT_EQ_INT(header_result(&r), -1);
    ASSERT_EQ_STR(entries(&t, f), "other=;x-mixed-case=a;x-mixed-case=b;");
    struct cval badvals[1] = {cv_bytes("a\rb", 3)};
    struct cval badlist = {.kind = CT_LIST, .of.list = {badvals, 1}};
    ASSERT_OK(P2CALL(&t.p2, T, "[method]fields.set", &r, cv_borrow(f), cv_str("other"), badlist));
    ASSERT_EQ_INT(header_result(&r), WH_HE_INVALID_SYNTAX);
    ASSERT_EQ_STR(entries(&t, f), "other=;x-mixed-case=a;x-mixed-case=b;");
    ASSERT_OK(P2CALL(&t.p2, T, "[method]fields.delete", &r, cv_borrow(f), cv_str("upgrade")));
    ASSERT_EQ_INT(header_result(&r), WH_HE_FORBIDDEN);
    ASSERT_OK(P2CALL(&t.p2, T, "[method]fields.delete", &r, cv_borrow(f), cv_str("X-Mixed-Case")));
    ASSERT_EQ_INT(header_result(&r), -1);
    ASSERT_EQ_STR(entries(&t, f), "other=;");

    /* clone is a mutable copy. */
    ASSERT_OK(P2CALL(&t.p2, T, "[method]fields.clone", &r, cv_borrow(f)));
    uint32_t c = r.of.rep;
    ASSERT_EQ_INT(append(&t, c, "x-c", "1", 1), -1);
    ASSERT_EQ_STR(entries(&t, f), "other=;");
    ASSERT_EQ_STR(entries(&t, c), "other=;x-c=1;");
    ht_teardown(&t);
}

TEST(wasihttp, from_list_rejects_invalid_and_forbidden_entries)
{
    struct ht t;
    ht_setup(&t, NULL);
    struct cval pairs[2][2] = {{cv_str("Content-Type"), cv_bytes("text/plain", 10)},
                               {cv_str("x-b"), cv_bytes("2", 1)}};
    struct cval tuples[2];
    for (int i = 0; i < 2; i++)
        tuples[i] = (struct cval){.kind = CT_TUPLE, .of.list = {pairs[i], 2}};
    struct cval list = {.kind = CT_LIST, .of.list = {tuples, 2}};
    struct cval r;
    ASSERT_OK(P2CALL(&t.p2, T, "[static]fields.from-list", &r, list));
    ASSERT_EQ_UINT(r.of.var.disc, 0);
    ASSERT_EQ_STR(entries(&t, r.of.var.payload->of.rep), "content-type=text/plain;x-b=2;");
    pairs[1][0] = cv_str("proxy-authorization");
    ASSERT_OK(P2CALL(&t.p2, T, "[static]fields.from-list", &r, list));
    ASSERT_EQ_INT(header_result(&r), WH_HE_FORBIDDEN);
    pairs[1][0] = cv_str("x-b");
    pairs[1][1] = cv_bytes("\0", 1);
    ASSERT_OK(P2CALL(&t.p2, T, "[static]fields.from-list", &r, list));
    ASSERT_EQ_INT(header_result(&r), WH_HE_INVALID_SYNTAX);
    ht_teardown(&t);
}

TEST(wasihttp, the_incoming_request_is_what_the_server_received)
{
    struct ht t;
    ht_setup(&t, NULL);
    struct cval r;
    ASSERT_OK(P2CALL(&t.p2, T, "[method]incoming-request.method", &r, cv_borrow(t.request)));
    ASSERT_EQ_UINT(r.of.var.disc, 2); /* post */
    ASSERT_OK(
        P2CALL(&t.p2, T, "[method]incoming-request.path-with-query", &r, cv_borrow(t.request)));
    ASSERT_EQ_UINT(r.of.var.disc, 1);
    ASSERT_EQ_MEM(r.of.var.payload->of.str.ptr, "/echo/rest?x=1", 14);
    ASSERT_OK(P2CALL(&t.p2, T, "[method]incoming-request.scheme", &r, cv_borrow(t.request)));
    ASSERT_EQ_UINT(r.of.var.payload->of.var.disc, 0); /* HTTP */
    ASSERT_OK(P2CALL(&t.p2, T, "[method]incoming-request.authority", &r, cv_borrow(t.request)));
    ASSERT_EQ_MEM(r.of.var.payload->of.str.ptr, "example.com:3000", 16);
    ASSERT_OK(P2CALL(&t.p2, T, "[method]incoming-request.headers", &r, cv_borrow(t.request)));
    uint32_t h = r.of.rep;
    ASSERT_EQ_STR(entries(&t, h),
                  "host=example.com:3000;x-one=1;spin-path-info=/rest;x-one=again;");
    /* Immutable: every mutation says so first, whatever the name. */
    ASSERT_EQ_INT(append(&t, h, "x-new", "1", 1), WH_HE_IMMUTABLE);
    ASSERT_EQ_INT(append(&t, h, "bad name", "1", 1), WH_HE_IMMUTABLE);
    ASSERT_OK(P2CALL(&t.p2, T, "[method]fields.delete", &r, cv_borrow(h), cv_str("x-one")));
    ASSERT_EQ_INT(header_result(&r), WH_HE_IMMUTABLE);
    ht_teardown(&t);
}

/* Reads the whole request body through an input-stream. */
static size_t read_all(struct ht *t, uint32_t stream, char *out, size_t cap)
{
    size_t n = 0;
    for (;;) {
        struct cval r;
        ASSERT_OK(P2CALL(&t->p2, IO, "[method]input-stream.blocking-read", &r, cv_borrow(stream),
                         cv_u64(7)));
        if (r.of.var.disc == 1) {
            ASSERT_EQ_UINT(r.of.var.payload->of.var.disc, 1); /* closed */
            return n;
        }
        size_t k = r.of.var.payload->of.raw.n;
        ASSERT_LE_UINT(k, 7);
        ASSERT_LE_UINT(n + k, cap);
        memcpy(out + n, r.of.var.payload->of.raw.ptr, k);
        n += k;
    }
}

TEST(wasihttp, the_request_body_is_an_input_stream_consumed_once)
{
    struct ht t;
    ht_setup(&t, "the body of the request, in pieces");
    t.rec.read_chunk = 5;
    struct cval r;
    ASSERT_OK(P2CALL(&t.p2, T, "[method]incoming-request.consume", &r, cv_borrow(t.request)));
    ASSERT_EQ_UINT(r.of.var.disc, 0);
    uint32_t body = r.of.var.payload->of.rep;
    /* consume twice: err */
    ASSERT_OK(P2CALL(&t.p2, T, "[method]incoming-request.consume", &r, cv_borrow(t.request)));
    ASSERT_EQ_UINT(r.of.var.disc, 1);
    ASSERT_OK(P2CALL(&t.p2, T, "[method]incoming-body.stream", &r, cv_borrow(body)));
    ASSERT_EQ_UINT(r.of.var.disc, 0);
    uint32_t stream = r.of.var.payload->of.rep;
    ASSERT_OK(P2CALL(&t.p2, T, "[method]incoming-body.stream", &r, cv_borrow(body)));
    ASSERT_EQ_UINT(r.of.var.disc, 1);
    char buf[100];
    size_t n = read_all(&t, stream, buf, sizeof buf);
    ASSERT_EQ_UINT(n, strlen("the body of the request, in pieces"));
    ASSERT_EQ_MEM(buf, "the body of the request, in pieces", n);
    /* The stream's pollable is ready (the end is there). */
    ASSERT_OK(P2CALL(&t.p2, IO, "[method]input-stream.subscribe", &r, cv_borrow(stream)));
    uint32_t p = r.of.rep;
    ASSERT_OK(P2CALL(&t.p2, "wasi:io/poll", "[method]pollable.ready", &r, cv_borrow(p)));
    ASSERT_TRUE(r.of.b);
    p2t_drop(&t.p2, "wasi:io/poll", "pollable", p);

    /* finish while the stream lives: trap */
    ASSERT_EQ_INT(P2CALL(&t.p2, T, "[static]incoming-body.finish", &r, cv_own(body)), SPRY_ETRAP);
    ASSERT_TRUE(strstr(t.p2.trap, "input-stream is still alive") != NULL);
    p2t_drop(&t.p2, IO, "input-stream", stream);
    ASSERT_OK(P2CALL(&t.p2, T, "[static]incoming-body.finish", &r, cv_own(body)));
    uint32_t ft = r.of.rep;
    ASSERT_OK(P2CALL(&t.p2, T, "[method]future-trailers.get", &r, cv_borrow(ft)));
    ASSERT_EQ_UINT(r.of.var.disc, 1);                                                 /* some */
    ASSERT_EQ_UINT(r.of.var.payload->of.var.disc, 0);                                 /* ok */
    ASSERT_EQ_UINT(r.of.var.payload->of.var.payload->of.var.disc, 0);                 /* ok */
    ASSERT_EQ_UINT(r.of.var.payload->of.var.payload->of.var.payload->of.var.disc, 0); /* none */
    ASSERT_OK(P2CALL(&t.p2, T, "[method]future-trailers.get", &r, cv_borrow(ft)));
    ASSERT_EQ_UINT(r.of.var.payload->of.var.disc, 1); /* some(err): taken */
    /* The body handle was taken by finish: using it again traps. */
    ASSERT_EQ_INT(P2CALL(&t.p2, T, "[method]incoming-body.stream", &r, cv_borrow(body)),
                  SPRY_ETRAP);
    ht_teardown(&t);
}

/* An outgoing-response with headers, its body and the body's stream. */
static void new_response(struct ht *t, uint32_t *resp, uint32_t *body, uint32_t *stream,
                         const char *clen)
{
    uint32_t f = new_fields(t);
    ASSERT_EQ_INT(append(t, f, "x-custom", "yes", 3), -1);
    if (clen != NULL)
        ASSERT_EQ_INT(append(t, f, "content-length", clen, strlen(clen)), -1);
    struct cval r;
    ASSERT_OK(P2CALL(&t->p2, T, "[constructor]outgoing-response", &r, cv_own(f)));
    *resp = r.of.rep;
    /* The fields handle was taken by the constructor. */
    ASSERT_EQ_INT(P2CALL(&t->p2, T, "[method]fields.entries", &r, cv_borrow(f)), SPRY_ETRAP);
    ASSERT_OK(P2CALL(&t->p2, T, "[method]outgoing-response.set-status-code", &r, cv_borrow(*resp),
                     (struct cval){.kind = CT_U16, .of.u = 201}));
    ASSERT_EQ_UINT(r.of.var.disc, 0);
    ASSERT_OK(P2CALL(&t->p2, T, "[method]outgoing-response.set-status-code", &r, cv_borrow(*resp),
                     (struct cval){.kind = CT_U16, .of.u = 99}));
    ASSERT_EQ_UINT(r.of.var.disc, 1);
    ASSERT_OK(P2CALL(&t->p2, T, "[method]outgoing-response.headers", &r, cv_borrow(*resp)));
    ASSERT_EQ_INT(append(t, r.of.rep, "x-late", "1", 1), WH_HE_IMMUTABLE);
    ASSERT_OK(P2CALL(&t->p2, T, "[method]outgoing-response.body", &r, cv_borrow(*resp)));
    ASSERT_EQ_UINT(r.of.var.disc, 0);
    *body = r.of.var.payload->of.rep;
    ASSERT_OK(P2CALL(&t->p2, T, "[method]outgoing-response.body", &r, cv_borrow(*resp)));
    ASSERT_EQ_UINT(r.of.var.disc, 1); /* once */
    ASSERT_OK(P2CALL(&t->p2, T, "[method]outgoing-body.write", &r, cv_borrow(*body)));
    ASSERT_EQ_UINT(r.of.var.disc, 0);
    *stream = r.of.var.payload->of.rep;
    ASSERT_OK(P2CALL(&t->p2, T, "[method]outgoing-body.write", &r, cv_borrow(*body)));
    ASSERT_EQ_UINT(r.of.var.disc, 1); /* once */
}

static void put(struct ht *t, uint32_t stream, const char *s, bool ok)
{
    struct cval r;
    ASSERT_OK(P2CALL(&t->p2, IO, "[method]output-stream.write", &r, cv_borrow(stream),
                     cv_bytes(s, strlen(s))));
    ASSERT_EQ_UINT(r.of.var.disc, ok ? 0 : 1);
}

static void set_ok(struct ht *t, uint32_t resp)
{
    struct cval own = cv_own(resp);
    struct cval res = {.kind = CT_RESULT, .of.var = {0, &own}};
    struct cval r;
    ASSERT_OK(P2CALL(&t->p2, T, "[static]response-outparam.set", &r, cv_own(t->outparam), res));
}

TEST(wasihttp, the_response_streams_to_the_server_once_the_outparam_is_set)
{
    struct ht t;
    ht_setup(&t, NULL);
    uint32_t resp, body, stream;
    new_response(&t, &resp, &body, &stream, NULL);
    put(&t, stream, "before set, ", true); /* buffered */
    ASSERT_EQ_INT(t.rec.responds, 0);
    ASSERT_EQ_INT(wasihttp_outcome(t.h, NULL, 0), WASIHTTP_NOT_SET);
    set_ok(&t, resp);
    ASSERT_EQ_INT(t.rec.responds, 1);
    ASSERT_EQ_UINT(t.rec.status, 201);
    ASSERT_EQ_STR(t.rec.headers, "x-custom=yes;");
    ASSERT_EQ_INT(t.rec.content_length, -1);
    put(&t, stream, "after set", true);
    ASSERT_EQ_UINT(t.rec.out_len, strlen("before set, after set"));
    ASSERT_EQ_MEM(t.rec.out, "before set, after set", t.rec.out_len);
    ASSERT_EQ_INT(wasihttp_outcome(t.h, NULL, 0), WASIHTTP_INCOMPLETE);

    /* Setting again: the outparam handle is gone, so this traps. */
    struct cval r;
    struct cval none_resp = {.kind = CT_RESULT, .of.var = {1, NULL}};
    struct cval ec = {.kind = CT_VARIANT, .of.var = {WH_EC_HTTP_RESPONSE_TIMEOUT, NULL}};
    none_resp.of.var.payload = &ec;
    ASSERT_EQ_INT(
        P2CALL(&t.p2, T, "[static]response-outparam.set", &r, cv_own(t.outparam), none_resp),
        SPRY_ETRAP);
    ASSERT_TRUE(strstr(t.p2.trap, "invalid response-outparam handle") != NULL);

    /* finish with the stream alive traps; after the drop it ends the body. */
    struct cval nt = cv_none();
    ASSERT_EQ_INT(P2CALL(&t.p2, T, "[static]outgoing-body.finish", &r, cv_own(body), nt),
                  SPRY_ETRAP);
    ASSERT_TRUE(strstr(t.p2.trap, "output-stream is still alive") != NULL);
    p2t_drop(&t.p2, IO, "output-stream", stream);
    ASSERT_EQ_INT(t.rec.finishes, 0);
    ASSERT_OK(P2CALL(&t.p2, T, "[static]outgoing-body.finish", &r, cv_own(body), nt));
    ASSERT_EQ_UINT(r.of.var.disc, 0);
    ASSERT_EQ_INT(t.rec.finishes, 1);
    ASSERT_EQ_INT(wasihttp_outcome(t.h, NULL, 0), WASIHTTP_DONE);
    ht_teardown(&t);
}

TEST(wasihttp, a_content_length_is_a_promise)
{
    struct ht t;
    ht_setup(&t, NULL);
    uint32_t resp, body, stream;
    new_response(&t, &resp, &body, &stream, "5");
    set_ok(&t, resp);
    ASSERT_EQ_INT(t.rec.content_length, 5);
    put(&t, stream, "abc", true);
    put(&t, stream, "def", false); /* 6 > 5: the stream fails */
    p2t_drop(&t.p2, IO, "output-stream", stream);
    struct cval r;
    ASSERT_OK(P2CALL(&t.p2, T, "[static]outgoing-body.finish", &r, cv_own(body), cv_none()));
    ASSERT_EQ_UINT(r.of.var.disc, 1);
    ASSERT_EQ_UINT(r.of.var.payload->of.var.disc, WH_EC_HTTP_RESPONSE_BODY_SIZE);
    ASSERT_EQ_INT(t.rec.finishes, 0);
    char why[200];
    ASSERT_EQ_INT(wasihttp_outcome(t.h, why, sizeof why), WASIHTTP_INCOMPLETE);
    ASSERT_TRUE(strstr(why, "content-length said 5") != NULL);
    ht_teardown(&t);
}

TEST(wasihttp, a_response_without_a_body_is_complete_at_set)
{
    struct ht t;
    ht_setup(&t, NULL);
    struct cval r;
    ASSERT_OK(P2CALL(&t.p2, T, "[constructor]outgoing-response", &r, cv_own(new_fields(&t))));
    set_ok(&t, r.of.rep);
    ASSERT_EQ_INT(t.rec.responds, 1);
    ASSERT_EQ_UINT(t.rec.status, 200);
    ASSERT_EQ_INT(t.rec.finishes, 1);
    ASSERT_EQ_INT(wasihttp_outcome(t.h, NULL, 0), WASIHTTP_DONE);
    ht_teardown(&t);
}

TEST(wasihttp, an_error_code_in_the_outparam_is_reported)
{
    struct ht t;
    ht_setup(&t, NULL);
    struct cval text = cv_str("no luck");
    struct cval opt = {.kind = CT_OPTION, .of.var = {1, &text}};
    struct cval ec = {.kind = CT_VARIANT, .of.var = {WH_EC_INTERNAL_ERROR, &opt}};
    struct cval res = {.kind = CT_RESULT, .of.var = {1, &ec}};
    struct cval r;
    ASSERT_OK(P2CALL(&t.p2, T, "[static]response-outparam.set", &r, cv_own(t.outparam), res));
    char why[200];
    ASSERT_EQ_INT(wasihttp_outcome(t.h, why, sizeof why), WASIHTTP_ERROR);
    ASSERT_EQ_STR(why, "the handler answered error-code.internal-error(\"no luck\")");
    ASSERT_EQ_INT(t.rec.responds, 0);
    ht_teardown(&t);
}

TEST(wasihttp, a_body_dropped_without_finish_leaves_the_response_incomplete)
{
    struct ht t;
    ht_setup(&t, NULL);
    uint32_t resp, body, stream;
    new_response(&t, &resp, &body, &stream, NULL);
    set_ok(&t, resp);
    put(&t, stream, "partial", true);
    p2t_drop(&t.p2, IO, "output-stream", stream);
    p2t_drop(&t.p2, T, "outgoing-body", body);
    ASSERT_EQ_INT(wasihttp_outcome(t.h, NULL, 0), WASIHTTP_INCOMPLETE);
    ASSERT_EQ_INT(t.rec.finishes, 0);
    ht_teardown(&t);
}

TEST(wasihttp, a_write_the_server_refuses_fails_the_stream)
{
    struct ht t;
    ht_setup(&t, NULL);
    uint32_t resp, body, stream;
    new_response(&t, &resp, &body, &stream, NULL);
    set_ok(&t, resp);
    t.rec.fail_writes = 1;
    put(&t, stream, "lost", false);
    put(&t, stream, "again", false);
    char why[200];
    ASSERT_EQ_INT(wasihttp_outcome(t.h, why, sizeof why), WASIHTTP_INCOMPLETE);
    ASSERT_EQ_STR(why, "writing the response body failed");
    ht_teardown(&t);
}

TEST(wasihttp, outgoing_requests_build_and_the_handler_answers_an_error_code)
{
    struct ht t;
    ht_setup(&t, NULL);
    struct cval r;
    ASSERT_OK(P2CALL(&t.p2, T, "[constructor]outgoing-request", &r, cv_own(new_fields(&t))));
    uint32_t req = r.of.rep;
    struct cval put = {.kind = CT_VARIANT, .of.var = {3, NULL}};
    ASSERT_OK(P2CALL(&t.p2, T, "[method]outgoing-request.set-method", &r, cv_borrow(req), put));
    ASSERT_EQ_UINT(r.of.var.disc, 0);
    struct cval bad = cv_str("BAD METHOD");
    struct cval other = {.kind = CT_VARIANT, .of.var = {WH_METHOD_OTHER, &bad}};
    ASSERT_OK(P2CALL(&t.p2, T, "[method]outgoing-request.set-method", &r, cv_borrow(req), other));
    ASSERT_EQ_UINT(r.of.var.disc, 1);
    ASSERT_OK(P2CALL(&t.p2, T, "[method]outgoing-request.method", &r, cv_borrow(req)));
    ASSERT_EQ_UINT(r.of.var.disc, 3);
    struct cval path = cv_str("/a b");
    struct cval some = {.kind = CT_OPTION, .of.var = {1, &path}};
    ASSERT_OK(
        P2CALL(&t.p2, T, "[method]outgoing-request.set-path-with-query", &r, cv_borrow(req), some));
    ASSERT_EQ_UINT(r.of.var.disc, 1);
    path = cv_str("/a?b=c");
    ASSERT_OK(
        P2CALL(&t.p2, T, "[method]outgoing-request.set-path-with-query", &r, cv_borrow(req), some));
    ASSERT_EQ_UINT(r.of.var.disc, 0);
    ASSERT_OK(P2CALL(&t.p2, T, "[method]outgoing-request.path-with-query", &r, cv_borrow(req)));
    ASSERT_EQ_MEM(r.of.var.payload->of.str.ptr, "/a?b=c", 6);
    ASSERT_OK(P2CALL(&t.p2, T, "[method]outgoing-request.scheme", &r, cv_borrow(req)));
    ASSERT_EQ_UINT(r.of.var.disc, 0);

    ASSERT_OK(P2CALL0(&t.p2, T, "[constructor]request-options", &r));
    uint32_t opts = r.of.rep;
    struct cval d = cv_u64(5000000);
    struct cval dsome = {.kind = CT_OPTION, .of.var = {1, &d}};
    ASSERT_OK(P2CALL(&t.p2, T, "[method]request-options.set-connect-timeout", &r, cv_borrow(opts),
                     dsome));
    ASSERT_OK(P2CALL(&t.p2, T, "[method]request-options.connect-timeout", &r, cv_borrow(opts)));
    ASSERT_EQ_UINT(r.of.var.payload->of.u, 5000000);

    struct cval oopt = {.kind = CT_OPTION, .of.var = {1, NULL}};
    struct cval oown = cv_own(opts);
    oopt.of.var.payload = &oown;
    ASSERT_OK(P2CALL(&t.p2, "wasi:http/outgoing-handler", "handle", &r, cv_own(req), oopt));
    ASSERT_EQ_UINT(r.of.var.disc, 1);
    ASSERT_EQ_UINT(r.of.var.payload->of.var.disc, WH_EC_INTERNAL_ERROR);
    /* Both handles were taken. */
    ASSERT_EQ_INT(P2CALL(&t.p2, T, "[method]outgoing-request.method", &r, cv_borrow(req)),
                  SPRY_ETRAP);
    ht_teardown(&t);
}

TEST(wasihttp, every_handle_is_freed_when_dropped)
{
    struct ht t;
    ht_setup(&t, "x");
    size_t base = wasihttp_live_objects(t.h); /* the request and the outparam */
    ASSERT_EQ_UINT(base, 2);
    uint32_t f = new_fields(&t);
    struct cval r;
    ASSERT_OK(P2CALL(&t.p2, T, "[method]incoming-request.headers", &r, cv_borrow(t.request)));
    uint32_t h = r.of.rep;
    ASSERT_OK(P2CALL(&t.p2, T, "[method]incoming-request.consume", &r, cv_borrow(t.request)));
    uint32_t body = r.of.var.payload->of.rep;
    ASSERT_EQ_UINT(wasihttp_live_objects(t.h), base + 3);
    p2t_drop(&t.p2, T, "fields", f);
    p2t_drop(&t.p2, T, "fields", h);
    p2t_drop(&t.p2, T, "incoming-body", body);
    p2t_drop(&t.p2, T, "incoming-request", t.request);
    p2t_drop(&t.p2, T, "response-outparam", t.outparam);
    ASSERT_EQ_UINT(wasihttp_live_objects(t.h), 0);
    /* A stale rep finds nothing. */
    ASSERT_EQ_INT(P2CALL(&t.p2, T, "[method]fields.entries", &r, cv_borrow(f)), SPRY_ETRAP);
    ht_teardown(&t);
}

/* The client went away before the head could go out: the body's writes
 * fail instead of piling up. */
TEST(wasihttp, writes_fail_when_the_head_could_not_be_sent)
{
    struct ht t;
    ht_setup(&t, NULL);
    uint32_t resp, body, stream;
    new_response(&t, &resp, &body, &stream, NULL);
    t.rec.fail_respond = 1;
    set_ok(&t, resp);
    put(&t, stream, "nobody listens", false);
    ASSERT_EQ_UINT(t.rec.out_len, 0);
    ASSERT_EQ_INT(wasihttp_outcome(t.h, NULL, 0), WASIHTTP_INCOMPLETE);
    ht_teardown(&t);
}

/* ---- outgoing-handler through a fake embedder hook ---------------------- */

/* What the fake embedder saw and answers. One request at a time. */
static struct fake {
    int starts, destroys;
    char seen[512];    /* "METHOD scheme authority path" of the last start */
    char headers[256]; /* "name=value;" */
    bool has_body;
    int64_t content_length;
    uint64_t connect_ns;
    char body[256]; /* the request body as written */
    size_t body_len;
    size_t capacity; /* body_capacity answers at most this (0: 1 MiB) */
    bool finished;
    char trailers[128]; /* "name=value;" given to body_finish */
    bool head_ready;    /* head() answers EBUSY until then */
    const char *resp;   /* the response body */
    size_t resp_pos;
} fake;

static int fake_start(void *user, const struct wasihttp_outgoing_request *q, void **req,
                      struct wasihttp_error *err)
{
    (void)user;
    fake.starts++;
    snprintf(fake.seen, sizeof fake.seen, "%s %s %s %s", q->method,
             q->scheme != NULL ? q->scheme : "-", q->authority != NULL ? q->authority : "-",
             q->path_with_query != NULL ? q->path_with_query : "-");
    fake.headers[0] = '\0';
    for (size_t i = 0; i < q->nheaders; i++) {
        size_t at = strlen(fake.headers);
        snprintf(fake.headers + at, sizeof fake.headers - at, "%s=%s;", q->headers[i].name,
                 q->headers[i].value);
    }
    fake.has_body = q->has_body;
    fake.content_length = q->content_length;
    fake.connect_ns = q->connect_timeout_ns;
    if (q->authority != NULL && strcmp(q->authority, "denied.example") == 0) {
        err->code = WASIHTTP_EC_HTTP_REQUEST_DENIED;
        snprintf(err->message, sizeof err->message, "not allowed");
        return SPRY_EINVALID;
    }
    *req = &fake;
    return 0;
}

static int64_t fake_capacity(void *req)
{
    (void)req;
    return fake.capacity != 0 ? (int64_t)fake.capacity : 1 << 20;
}

static int fake_write(void *req, const uint8_t *p, size_t n)
{
    (void)req;
    ASSERT_LE_UINT(n, (size_t)fake_capacity(req));
    ASSERT_LE_UINT(fake.body_len + n, sizeof fake.body - 1);
    memcpy(fake.body + fake.body_len, p, n);
    fake.body_len += n;
    return 0;
}

static int fake_finish(void *req, const struct wasihttp_header *trailers, size_t n,
                       struct wasihttp_error *err)
{
    (void)req;
    (void)err;
    for (size_t i = 0; i < n; i++) {
        size_t at = strlen(fake.trailers);
        snprintf(fake.trailers + at, sizeof fake.trailers - at, "%s=%s;", trailers[i].name,
                 trailers[i].value);
    }
    fake.finished = true;
    return 0;
}

static int fake_head(void *req, uint16_t *status, const struct wasihttp_header **headers, size_t *n,
                     struct wasihttp_error *err)
{
    (void)req;
    (void)err;
    static const struct wasihttp_header h[] = {{"content-type", "text/plain"}, {"x-up", "1"}};
    if (!fake.head_ready)
        return SPRY_EBUSY;
    *status = 203;
    *headers = h;
    *n = 2;
    return 0;
}

/* Three bytes at a time, then the end. */
static int64_t fake_read(void *req, uint8_t *buf, size_t cap, bool *eof, struct wasihttp_error *err)
{
    (void)req;
    (void)err;
    size_t left = strlen(fake.resp) - fake.resp_pos;
    size_t k = left < 3 ? left : 3;
    if (k > cap)
        k = cap;
    memcpy(buf, fake.resp + fake.resp_pos, k);
    fake.resp_pos += k;
    *eof = fake.resp_pos == strlen(fake.resp);
    return (int64_t)k;
}

static void fake_trailers(void *req, const struct wasihttp_header **t, size_t *n)
{
    (void)req;
    static const struct wasihttp_header tr[] = {{"x-checksum", "abc"}};
    *t = tr;
    *n = 1;
}

static void fake_clear(void *req)
{
    (void)req;
}

static bool fake_changed(void *req)
{
    (void)req;
    return true;
}

static void fake_wait(void *req, uint64_t ns)
{
    (void)req;
    (void)ns;
}

static void fake_destroy(void *req)
{
    ASSERT_TRUE(req == &fake);
    fake.destroys++;
}

static const struct wasihttp_outgoing fake_hook = {
    .start = fake_start,
    .body_capacity = fake_capacity,
    .body_write = fake_write,
    .body_finish = fake_finish,
    .head = fake_head,
    .body_read = fake_read,
    .trailers = fake_trailers,
    .clear = fake_clear,
    .changed = fake_changed,
    .wait = fake_wait,
    .destroy = fake_destroy,
};

/* A request POST http://example.com:81/p?q with headers; its body and
 * the body's stream. */
static uint32_t out_request(struct ht *t, const char *authority, uint32_t *body, uint32_t *stream)
{
    struct cval r;
    uint32_t f = new_fields(t);
    ASSERT_EQ_INT(append(t, f, "x-a", "1", 1), -1);
    ASSERT_EQ_INT(append(t, f, "content-length", "5", 1), -1);
    ASSERT_OK(P2CALL(&t->p2, T, "[constructor]outgoing-request", &r, cv_own(f)));
    uint32_t req = r.of.rep;
    struct cval post = {.kind = CT_VARIANT, .of.var = {2, NULL}};
    ASSERT_OK(P2CALL(&t->p2, T, "[method]outgoing-request.set-method", &r, cv_borrow(req), post));
    struct cval http = {.kind = CT_VARIANT, .of.var = {WH_SCHEME_HTTP, NULL}};
    struct cval some_http = {.kind = CT_OPTION, .of.var = {1, &http}};
    ASSERT_OK(
        P2CALL(&t->p2, T, "[method]outgoing-request.set-scheme", &r, cv_borrow(req), some_http));
    struct cval auth = cv_str(authority);
    struct cval some_auth = {.kind = CT_OPTION, .of.var = {1, &auth}};
    ASSERT_OK(
        P2CALL(&t->p2, T, "[method]outgoing-request.set-authority", &r, cv_borrow(req), some_auth));
    struct cval path = cv_str("/p?q");
    struct cval some_path = {.kind = CT_OPTION, .of.var = {1, &path}};
    ASSERT_OK(P2CALL(&t->p2, T, "[method]outgoing-request.set-path-with-query", &r, cv_borrow(req),
                     some_path));
    ASSERT_OK(P2CALL(&t->p2, T, "[method]outgoing-request.body", &r, cv_borrow(req)));
    *body = r.of.var.payload->of.rep;
    ASSERT_OK(P2CALL(&t->p2, T, "[method]outgoing-body.write", &r, cv_borrow(*body)));
    *stream = r.of.var.payload->of.rep;
    return req;
}

static bool pollable_is_ready(struct ht *t, uint32_t p)
{
    struct cval r;
    ASSERT_OK(P2CALL(&t->p2, "wasi:io/poll", "[method]pollable.ready", &r, cv_borrow(p)));
    return r.of.b;
}

TEST(wasihttp, outgoing_handle_sends_through_the_hook_and_reads_the_response)
{
    memset(&fake, 0, sizeof fake);
    fake.resp = "response body";
    fake.capacity = 2; /* the request body goes out in pieces */
    next_outgoing = &fake_hook;
    struct ht t;
    ht_setup(&t, NULL);
    struct cval r;
    uint32_t body, stream;
    uint32_t req = out_request(&t, "example.com:81", &body, &stream);
    put(&t, stream, "he", true); /* before handle: queued */
    ASSERT_EQ_UINT(fake.starts, 0);

    ASSERT_OK(P2CALL0(&t.p2, T, "[constructor]request-options", &r));
    uint32_t opts = r.of.rep;
    struct cval d = cv_u64(7000);
    struct cval dsome = {.kind = CT_OPTION, .of.var = {1, &d}};
    ASSERT_OK(P2CALL(&t.p2, T, "[method]request-options.set-connect-timeout", &r, cv_borrow(opts),
                     dsome));
    struct cval oown = cv_own(opts);
    struct cval oopt = {.kind = CT_OPTION, .of.var = {1, &oown}};
    ASSERT_OK(P2CALL(&t.p2, "wasi:http/outgoing-handler", "handle", &r, cv_own(req), oopt));
    ASSERT_EQ_UINT(r.of.var.disc, 0);
    uint32_t future = r.of.var.payload->of.rep;
    ASSERT_EQ_UINT(fake.starts, 1);
    ASSERT_EQ_STR(fake.seen, "POST http example.com:81 /p?q");
    ASSERT_EQ_STR(fake.headers, "x-a=1;content-length=5;");
    ASSERT_TRUE(fake.has_body);
    ASSERT_EQ_INT(fake.content_length, 5);
    ASSERT_EQ_UINT(fake.connect_ns, 7000);
    ASSERT_EQ_MEM(fake.body, "he", 2); /* the queued bytes went out at handle */

    /* After handle, writes go to the hook (in pieces of its capacity). */
    ASSERT_OK(P2CALL(&t.p2, IO, "[method]output-stream.check-write", &r, cv_borrow(stream)));
    ASSERT_EQ_UINT(r.of.var.payload->of.u, 2);
    put(&t, stream, "ll", true);
    put(&t, stream, "o", true);
    ASSERT_EQ_UINT(fake.body_len, 5);
    ASSERT_EQ_MEM(fake.body, "hello", 5);
    ASSERT_FALSE(fake.finished);
    p2t_drop(&t.p2, IO, "output-stream", stream);
    ASSERT_OK(P2CALL(&t.p2, T, "[static]outgoing-body.finish", &r, cv_own(body), cv_none()));
    ASSERT_EQ_UINT(r.of.var.disc, 0);
    ASSERT_TRUE(fake.finished);

    /* The future: not ready until the head arrived. */
    ASSERT_OK(
        P2CALL(&t.p2, T, "[method]future-incoming-response.subscribe", &r, cv_borrow(future)));
    uint32_t p = r.of.rep;
    ASSERT_FALSE(pollable_is_ready(&t, p));
    ASSERT_OK(P2CALL(&t.p2, T, "[method]future-incoming-response.get", &r, cv_borrow(future)));
    ASSERT_EQ_UINT(r.of.var.disc, 0); /* none */
    fake.head_ready = true;
    ASSERT_TRUE(pollable_is_ready(&t, p));
    p2t_drop(&t.p2, "wasi:io/poll", "pollable", p);
    ASSERT_OK(P2CALL(&t.p2, T, "[method]future-incoming-response.get", &r, cv_borrow(future)));
    ASSERT_EQ_UINT(r.of.var.disc, 1);                                 /* some */
    ASSERT_EQ_UINT(r.of.var.payload->of.var.disc, 0);                 /* ok */
    ASSERT_EQ_UINT(r.of.var.payload->of.var.payload->of.var.disc, 0); /* ok(response) */
    uint32_t resp = r.of.var.payload->of.var.payload->of.var.payload->of.rep;
    ASSERT_OK(P2CALL(&t.p2, T, "[method]future-incoming-response.get", &r, cv_borrow(future)));
    ASSERT_EQ_UINT(r.of.var.disc, 1);
    ASSERT_EQ_UINT(r.of.var.payload->of.var.disc, 1); /* taken: some(err) */

    ASSERT_OK(P2CALL(&t.p2, T, "[method]incoming-response.status", &r, cv_borrow(resp)));
    ASSERT_EQ_UINT(r.of.u, 203);
    ASSERT_OK(P2CALL(&t.p2, T, "[method]incoming-response.headers", &r, cv_borrow(resp)));
    uint32_t h = r.of.rep;
    ASSERT_EQ_STR(entries(&t, h), "content-type=text/plain;x-up=1;");
    ASSERT_EQ_INT(append(&t, h, "x-new", "1", 1), WH_HE_IMMUTABLE);
    p2t_drop(&t.p2, T, "fields", h);
    ASSERT_OK(P2CALL(&t.p2, T, "[method]incoming-response.consume", &r, cv_borrow(resp)));
    uint32_t ibody = r_own(&r);
    ASSERT_OK(P2CALL(&t.p2, T, "[method]incoming-response.consume", &r, cv_borrow(resp)));
    ASSERT_EQ_UINT(r.of.var.disc, 1); /* once */
    ASSERT_OK(P2CALL(&t.p2, T, "[method]incoming-body.stream", &r, cv_borrow(ibody)));
    uint32_t in = r_own(&r);
    char got[64];
    size_t n = read_all(&t, in, got, sizeof got);
    ASSERT_EQ_UINT(n, strlen("response body"));
    ASSERT_EQ_MEM(got, "response body", n);
    p2t_drop(&t.p2, IO, "input-stream", in);
    ASSERT_OK(P2CALL(&t.p2, T, "[static]incoming-body.finish", &r, cv_own(ibody)));
    uint32_t ft = r.of.rep;
    ASSERT_OK(P2CALL(&t.p2, T, "[method]future-trailers.get", &r, cv_borrow(ft)));
    ASSERT_EQ_UINT(r.of.var.disc, 1);
    const struct cval *tr = r.of.var.payload->of.var.payload->of.var.payload; /* option */
    ASSERT_EQ_UINT(tr->of.var.disc, 1);
    ASSERT_EQ_STR(entries(&t, tr->of.var.payload->of.rep), "x-checksum=abc;");
    p2t_drop(&t.p2, T, "incoming-response", resp);
    ht_teardown(&t);
    ASSERT_EQ_UINT(fake.destroys, 1);
}

/* outgoing-body.finish(some(trailers)) of a request body gives the hook
 * its trailers, whether the body was finished after handle or before it
 * (then at handle). */
TEST(wasihttp, request_trailers_reach_the_hook_at_finish_or_at_handle)
{
    for (int early = 0; early < 2; early++) {
        memset(&fake, 0, sizeof fake);
        fake.resp = "";
        next_outgoing = &fake_hook;
        struct ht t;
        ht_setup(&t, NULL);
        struct cval r;
        uint32_t body, stream;
        uint32_t req = out_request(&t, "example.com:81", &body, &stream);
        put(&t, stream, "hello", true);
        p2t_drop(&t.p2, IO, "output-stream", stream);
        uint32_t f = new_fields(&t);
        ASSERT_EQ_INT(append(&t, f, "x-digest", "abc", 3), -1);
        ASSERT_EQ_INT(append(&t, f, "x-count", "2", 1), -1);
        struct cval fo = cv_own(f);
        struct cval fsome = {.kind = CT_OPTION, .of.var = {1, &fo}};
        if (early) {
            ASSERT_OK(P2CALL(&t.p2, T, "[static]outgoing-body.finish", &r, cv_own(body), fsome));
            ASSERT_EQ_UINT(r.of.var.disc, 0);
            ASSERT_FALSE(fake.finished);
        }
        ASSERT_OK(
            P2CALL(&t.p2, "wasi:http/outgoing-handler", "handle", &r, cv_own(req), cv_none()));
        ASSERT_EQ_UINT(r.of.var.disc, 0);
        uint32_t future = r.of.var.payload->of.rep;
        if (!early) {
            ASSERT_FALSE(fake.finished);
            ASSERT_OK(P2CALL(&t.p2, T, "[static]outgoing-body.finish", &r, cv_own(body), fsome));
            ASSERT_EQ_UINT(r.of.var.disc, 0);
        }
        ASSERT_TRUE(fake.finished);
        ASSERT_EQ_MEM(fake.body, "hello", 5);
        ASSERT_EQ_STR(fake.trailers, "x-digest=abc;x-count=2;");
        p2t_drop(&t.p2, T, "future-incoming-response", future);
        ht_teardown(&t);
        ASSERT_EQ_UINT(fake.destroys, 1);
    }
}

TEST(wasihttp, a_request_the_hook_denies_answers_http_request_denied)
{
    memset(&fake, 0, sizeof fake);
    fake.resp = "";
    next_outgoing = &fake_hook;
    struct ht t;
    ht_setup(&t, NULL);
    struct cval r;
    uint32_t body, stream;
    uint32_t req = out_request(&t, "denied.example", &body, &stream);
    ASSERT_OK(P2CALL(&t.p2, "wasi:http/outgoing-handler", "handle", &r, cv_own(req), cv_none()));
    ASSERT_EQ_UINT(r.of.var.disc, 1);
    ASSERT_EQ_UINT(r.of.var.payload->of.var.disc, WH_EC_HTTP_REQUEST_DENIED);
    ASSERT_EQ_UINT(fake.starts, 1);
    ASSERT_EQ_UINT(fake.body_len, 0);
    ht_teardown(&t);
    ASSERT_EQ_UINT(fake.destroys, 0); /* nothing was started */
}

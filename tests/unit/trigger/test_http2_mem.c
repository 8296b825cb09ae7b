/*
 * The HTTP/2 server driven from memory (struct h2_mem, on a local server:
 * http_server_start_local), as the fuzz harness drives it: the client's
 * bytes are written here frame by frame, the server's output is read back
 * with an nghttp2 client session, and the executors run on this thread
 * when the test takes their exchanges off the queue (workers_take). The
 * regression tests of what fuzz/fuzz_http2.c found are here.
 */
#include "harness/test.h"

#include "trigger/http_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- executors ---------------------------------------------------------- */

/* Reads the whole body (it is here), answers 200 with its length and the
 * request trailers' count. */
static int echo_handle(void *data, struct http_exchange *ex)
{
    (void)data;
    uint8_t buf[512];
    ssize_t n;
    size_t got = 0;
    while (http_exchange_body_ready(ex) && (n = http_exchange_read_body(ex, buf, sizeof buf)) > 0)
        got += (size_t)n;
    const struct http_header_pair *t;
    size_t nt = 0;
    http_exchange_request_trailers(ex, &t, &nt);
    char text[64];
    int k = snprintf(text, sizeof text, "%zu %zu", got, nt);
    static const struct http_header_pair ct = {"content-type", "text/plain"};
    http_exchange_start(ex, 200, &ct, 1, k);
    http_exchange_write(ex, text, (size_t)k);
    return http_exchange_finish(ex);
}

static struct http_executor echo_streamed = {.handle = echo_handle, .stream_body = true};
static struct http_executor echo_whole = {.handle = echo_handle};

static struct http_route routes[] = {
    {.pattern = "/s/...",
     .kind = HTTP_TARGET_COMPONENT,
     .component_id = "s",
     .executor = &echo_streamed},
    {.pattern = "/w/...",
     .kind = HTTP_TARGET_COMPONENT,
     .component_id = "w",
     .executor = &echo_whole},
};

/* ---- the server and the connection -------------------------------------- */

struct fixture {
    struct http_router *router;
    struct http_server *server;
    struct http_loop *loop;
    struct h2_mem mem;
    nghttp2_session *client; /* reads the server's output */
    struct response {
        int status;
        char body[256];
        size_t body_len;
        int ntrailers;
        bool closed;
        uint32_t error;
    } r[16]; /* by stream id / 2 */
    bool goaway;
};

static struct response *resp(struct fixture *f, int32_t id)
{
    return id > 0 && id / 2 < 16 ? &f->r[id / 2] : NULL;
}

static int c_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name, size_t nl,
                    const uint8_t *value, size_t vl, uint8_t flags, void *user)
{
    (void)s, (void)flags, (void)vl;
    struct response *r = resp(user, frame->hd.stream_id);
    if (r == NULL)
        return 0;
    if (nl == 7 && memcmp(name, ":status", 7) == 0)
        r->status = atoi((const char *)value);
    else if (frame->headers.cat == NGHTTP2_HCAT_HEADERS && r->status != 0)
        r->ntrailers++;
    return 0;
}

static int c_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                  void *user)
{
    (void)s, (void)flags;
    struct response *r = resp(user, id);
    if (r != NULL && r->body_len + len < sizeof r->body) {
        memcpy(r->body + r->body_len, data, len);
        r->body_len += len;
    }
    return 0;
}

static int c_close(nghttp2_session *s, int32_t id, uint32_t error, void *user)
{
    (void)s;
    struct response *r = resp(user, id);
    if (r != NULL) {
        r->closed = true;
        r->error = error;
    }
    return 0;
}

static int c_frame(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
    (void)s;
    if (frame->hd.type == NGHTTP2_GOAWAY)
        ((struct fixture *)user)->goaway = true;
    return 0;
}

static void fixture_open(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    if (http_router_create(routes, sizeof routes / sizeof routes[0], "/", &f->router, NULL) != 0)
        abort();
    struct http_server_config config;
    http_server_config_init(&config);
    config.listen = "127.0.0.1:0";
    config.loops = 1;
    config.workers = 1;
    config.router = f->router;
    if (http_server_create(&config, &f->server, NULL) != 0 ||
        (f->loop = http_server_start_local(f->server)) == NULL ||
        h2_mem_open(f->loop, &f->mem) != 0)
        abort();
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, c_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, c_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, c_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, c_frame);
    nghttp2_session_client_new(&f->client, cb, f);
    nghttp2_session_callbacks_del(cb);
}

/* The server's output so far, given to the client session. */
static void client_read(struct fixture *f)
{
    if (f->mem.out.len > 0)
        nghttp2_session_mem_recv(f->client, f->mem.out.data, f->mem.out.len);
    spry_buf_reset(&f->mem.out);
}

/* Runs what the loop and the workers would: messages, then every queued
 * exchange, then the messages that wrote. */
static void serve(struct fixture *f)
{
    h2o_evloop_run(f->loop->ctx.loop, 0);
    struct http_exchange *ex;
    while ((ex = workers_take(f->server->workers)) != NULL)
        exchange_run(ex);
    h2o_evloop_run(f->loop->ctx.loop, 0);
    client_read(f);
}

static void send_bytes(struct fixture *f, const void *data, size_t len)
{
    h2_mem_recv(&f->mem, data, len);
}

/* A frame of the client's (RFC 9113 section 4.1). */
static void send_frame(struct fixture *f, uint8_t type, uint8_t flags, int32_t id,
                       const void *payload, size_t len)
{
    uint8_t hd[9] = {
        (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len,       type,       flags,
        (uint8_t)(id >> 24),  (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id};
    send_bytes(f, hd, sizeof hd);
    if (len > 0)
        send_bytes(f, payload, len);
}

/* A header block of literal fields without indexing (RFC 7541 6.2.2):
 * fields are name, value, ..., NULL; returns its length. */
static size_t hpack(uint8_t *out, const char *const *fields)
{
    size_t n = 0;
    for (size_t i = 0; fields[i] != NULL; i += 2) {
        size_t nl = strlen(fields[i]), vl = strlen(fields[i + 1]);
        out[n++] = 0;
        out[n++] = (uint8_t)nl;
        memcpy(out + n, fields[i], nl);
        n += nl;
        out[n++] = (uint8_t)vl;
        memcpy(out + n, fields[i + 1], vl);
        n += vl;
    }
    return n;
}

static void send_headers(struct fixture *f, int32_t id, uint8_t flags, const char *const *fields)
{
    uint8_t block[2048];
    size_t n = hpack(block, fields);
    send_frame(f, NGHTTP2_HEADERS, (uint8_t)(flags | NGHTTP2_FLAG_END_HEADERS), id, block, n);
}

/* The client's preface and empty SETTINGS, as a client session writes
 * them (so that the session reading the server's output is in step). */
static void client_start(struct fixture *f)
{
    nghttp2_submit_settings(f->client, NGHTTP2_FLAG_NONE, NULL, 0);
    const uint8_t *out;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(f->client, &out)) > 0)
        send_bytes(f, out, (size_t)n);
    serve(f);
}

/* The client session learns of stream `id` (for the responses to it). */
static void client_stream(struct fixture *f, int32_t id)
{
    static const nghttp2_nv nv[] = {
        {(uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0},
        {(uint8_t *)":path", (uint8_t *)"/", 5, 1, 0},
        {(uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0},
        {(uint8_t *)":authority", (uint8_t *)"a", 10, 1, 0},
    };
    /* Submitted, not sent: the stream exists in the client session, and
     * the frame the test writes itself goes to the server instead. */
    int32_t got = nghttp2_submit_request(f->client, NULL, nv, 4, NULL, NULL);
    if (got != id)
        abort();
    const uint8_t *out;
    while (nghttp2_session_mem_send(f->client, &out) > 0)
        ; /* dropped */
}

static void fixture_close(struct fixture *f)
{
    h2_mem_close(&f->mem);
    serve(f);
    nghttp2_session_del(f->client);
}

/* ---- tests ----------------------------------------------------------------- */

TEST(trigger_http2_mem, get_answers_from_the_executor)
{
    struct fixture f;
    fixture_open(&f);
    client_start(&f);
    client_stream(&f, 1);
    send_headers(&f, 1, NGHTTP2_FLAG_END_STREAM,
                 (const char *const[]){":method", "GET", ":scheme", "http", ":path", "/w/x",
                                       ":authority", "a", NULL});
    serve(&f);
    struct response *r = resp(&f, 1);
    ASSERT_TRUE(r->closed);
    ASSERT_EQ_INT(r->status, 200);
    ASSERT_EQ_UINT(r->body_len, 3);
    ASSERT_EQ_MEM(r->body, "0 0", 3);
    fixture_close(&f);
    ASSERT_EQ_UINT(atomic_load(&f.server->active), 0);
}

/* Found by fuzz/fuzz_http2.c (clang's UBSan: "applying zero offset to null
 * pointer"; gcc's, in `make asan`, does not check that, so this fails
 * without the fix only in a clang sanitizer build, e.g. `make
 * BUILD=build-asan-clang SANITIZE=1 CC=clang`): a request of pseudo-header
 * fields only left the field buffer unallocated, and fill_request added
 * its length to its NULL data; the executor asking for request trailers
 * when there were none did the same in http_exchange_request_trailers. */
TEST(trigger_http2_mem, request_of_pseudo_header_fields_only_without_trailers)
{
    struct fixture f;
    fixture_open(&f);
    client_start(&f);
    client_stream(&f, 1);
    client_stream(&f, 3);
    send_headers(&f, 1, NGHTTP2_FLAG_END_STREAM,
                 (const char *const[]){":method", "GET", ":scheme", "http", ":path", "/s/x",
                                       ":authority", "a", NULL});
    send_headers(&f, 3, NGHTTP2_FLAG_END_STREAM,
                 (const char *const[]){":method", "GET", ":scheme", "http", ":path", "/w/x",
                                       ":authority", "a", NULL});
    serve(&f);
    for (int32_t id = 1; id <= 3; id += 2) {
        struct response *r = resp(&f, id);
        ASSERT_TRUE(r->closed);
        ASSERT_EQ_INT(r->status, 200);
        ASSERT_EQ_UINT(r->body_len, 3);
        ASSERT_EQ_MEM(r->body, "0 0", 3);
    }
    fixture_close(&f);
    ASSERT_EQ_UINT(atomic_load(&f.server->active), 0);
}

TEST(trigger_http2_mem, streamed_body_and_trailers_reach_the_executor)
{
    struct fixture f;
    fixture_open(&f);
    client_start(&f);
    client_stream(&f, 1);
    send_headers(&f, 1, 0,
                 (const char *const[]){":method", "POST", ":scheme", "http", ":path", "/s/x",
                                       ":authority", "a", NULL});
    send_frame(&f, NGHTTP2_DATA, 0, 1, "hello", 5);
    send_headers(&f, 1, NGHTTP2_FLAG_END_STREAM, (const char *const[]){"x-t", "1", NULL});
    serve(&f);
    struct response *r = resp(&f, 1);
    ASSERT_TRUE(r->closed);
    ASSERT_EQ_INT(r->status, 200);
    ASSERT_EQ_UINT(r->body_len, 3);
    ASSERT_EQ_MEM(r->body, "5 1", 3);
    fixture_close(&f);
    ASSERT_EQ_UINT(atomic_load(&f.server->active), 0);
}

/*
 * libFuzzer harness for the HTTP/2 server (src/trigger/http2.c): the
 * input is what a client sends on one connection, given to a server
 * session made as h2_accept makes it (same callbacks, settings and
 * limits), in memory (struct h2_mem) on a local server
 * (http_server_start_local) whose loop and executors this thread runs.
 *
 * Byte 0 picks the run:
 *   bits 0-1  0: the input is sent as it is; else the client connection
 *             preface goes first (so most inputs get past it)
 *   bits 2-4  0: the input in one read; k: in reads of 4^(k-1) bytes
 *   bit 5     the small limits (a 64-byte body, 256 bytes of fields...)
 *             instead of the defaults
 *   bit 6     the loop starts draining (GOAWAY) after the first read
 * Byte 1 seeds the executor's choices; the rest is the client's bytes.
 *
 * Routes: /s/... an executor that streams the request body, /w/... one
 * that gets it whole, /static a static response; /.well-known/spin/...
 * as always; anything else 404. The executor runs on this thread when the
 * harness takes its exchange off the queue: at once, or (a choice) held
 * while it reads the body as it arrives (which returns flow-control
 * credit) and run once the body ended. It answers with a canned response:
 * a choice of status, fields (some the server must drop), a known or
 * unknown length, the body in pieces, and trailers, or a failure part way.
 * At the end the connection is closed as a vanished client's is, held
 * exchanges run (cancelled), and every exchange must have been freed.
 */
#include "trigger/http_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* The executor's choices for the current input: a small LCG. */
static uint32_t rng;

static uint32_t choose(uint32_t n)
{
    rng = rng * 1103515245u + 12345u;
    return (rng >> 16) % n;
}

static int handle(void *data, struct http_exchange *ex)
{
    (void)data;
    const struct http_request *req = http_exchange_request(ex);
    uint8_t buf[1024];
    ssize_t n = 1;
    uint64_t got = 0;
    /* Whatever has come (never waiting: this thread feeds the body). */
    while (http_exchange_body_ready(ex) && (n = http_exchange_read_body(ex, buf, sizeof buf)) > 0)
        got += (uint64_t)n;
    if (got > ex->loop->server->config.limits.max_body_bytes)
        __builtin_trap();
    if (n == 0) {
        const struct http_header_pair *t;
        size_t nt;
        if (http_exchange_request_trailers(ex, &t, &nt) != 0)
            __builtin_trap();
        for (size_t i = 0; i < nt; i++)
            if (t[i].name == NULL || t[i].value == NULL)
                __builtin_trap();
    }
    static const uint16_t statuses[] = {200, 204, 304, 404, 500, 103, 200, 201};
    uint16_t status = statuses[choose(sizeof statuses / sizeof statuses[0])];
    const struct http_header_pair fields[] = {
        {"content-type", "text/plain"}, {"x-path", req->path},   {"Upper-Case", "v"},
        {"content-length", "5"},        {"connection", "close"}, {"te", "trailers"},
        {"date", "yesterday"},          {"keep-alive", "1"},
    };
    size_t nfields = choose(sizeof fields / sizeof fields[0] + 1);
    static const char body[] = "hello, HTTP/2 fuzzer";
    size_t len = choose(sizeof body);
    bool known = choose(2) == 0;
    if (choose(8) != 0 &&
        http_exchange_start(ex, status, fields, nfields, known ? (int64_t)len : -1) != 0)
        return 0; /* cancelled: the server finishes it */
    for (size_t off = 0; off < len;) {
        size_t k = 1 + choose((uint32_t)(len - off));
        if (http_exchange_write(ex, body + off, k) != 0)
            return 0;
        off += k;
    }
    switch (choose(4)) {
    case 0:
        return http_exchange_finish(ex);
    case 1: {
        const struct http_header_pair trailers[] = {
            {"x-sum", "1"}, {"Content-Length", "3"}, {"x-req", req->method}};
        return http_exchange_finish_trailers(ex, trailers, 1 + choose(3));
    }
    case 2:
        return SPRY_ETRAP; /* broken off (or a 500 when nothing was started) */
    default:
        return 0; /* the server finishes it */
    }
}

static struct http_executor streamed = {.handle = handle, .stream_body = true};
static struct http_executor whole = {.handle = handle};
static const struct http_header_pair static_fields[] = {{"content-type", "text/plain"},
                                                        {"x-static", "1"}};
static struct http_route routes[] = {
    {.pattern = "/s/...",
     .kind = HTTP_TARGET_COMPONENT,
     .component_id = "s",
     .executor = &streamed},
    {.pattern = "/w/...", .kind = HTTP_TARGET_COMPONENT, .component_id = "w", .executor = &whole},
    {.pattern = "/static",
     .kind = HTTP_TARGET_STATIC,
     .static_response = {200, static_fields, 2, "static body", 11}},
};

static struct http_server *server;
static struct http_loop *loop;
static struct http_limits defaults;

static void setup(void)
{
    struct http_router *router;
    if (http_router_create(routes, sizeof routes / sizeof routes[0], "/", &router, NULL) != 0)
        abort();
    struct http_server_config config;
    http_server_config_init(&config);
    config.listen = "127.0.0.1:0";
    config.loops = 1;
    config.workers = 1;
    config.queue_max = 8;
    config.app_name = "fuzz";
    config.router = router;
    if (http_server_create(&config, &server, NULL) != 0 ||
        (loop = http_server_start_local(server)) == NULL)
        abort();
    defaults = config.limits;
}

/* Exchanges taken off the queue and held: their bodies are still coming. */
#define HELD_MAX 256
static struct http_exchange *held[HELD_MAX];
static size_t nheld;

/* A held exchange's body, as far as it came; true once it ended (or
 * failed, or the exchange was cancelled). */
static bool read_on(struct http_exchange *ex)
{
    uint8_t buf[4096];
    while (http_exchange_body_ready(ex)) {
        if (http_exchange_read_body(ex, buf, sizeof buf) <= 0)
            return true;
    }
    return false;
}

/* What the loop would do next: messages from "workers", then the queue. */
static void service(bool hold)
{
    h2o_evloop_run(loop->ctx.loop, 0);
    struct http_exchange *ex;
    while ((ex = workers_take(server->workers)) != NULL) {
        if (http_exchange_cancelled(ex))
            exchange_skip(ex); /* as a worker does */
        else if (hold && nheld < HELD_MAX && choose(2) == 0)
            held[nheld++] = ex;
        else
            exchange_run(ex);
    }
    for (size_t i = 0; i < nheld;) {
        if (!hold || read_on(held[i])) {
            exchange_run(held[i]);
            held[i] = held[--nheld];
        } else {
            i++;
        }
    }
    h2o_evloop_run(loop->ctx.loop, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (server == NULL)
        setup();
    if (size < 2)
        return 0;
    uint8_t mode = data[0];
    rng = data[1];
    data += 2, size -= 2;
    struct http_limits *l = &server->config.limits;
    *l = defaults;
    if (mode & 0x20) {
        l->max_request_line = 64;
        l->max_header_line = 64;
        l->max_header_block = 256;
        l->max_header_fields = 8;
        l->max_body_bytes = 64;
    }
    size_t step = (mode >> 2) & 7;
    step = step == 0 ? size : (size_t)1 << (2 * (step - 1));
    struct h2_mem m;
    if (h2_mem_open(loop, &m) != 0)
        abort();
    if (mode & 3)
        h2_mem_recv(&m, (const uint8_t *)preface, sizeof preface - 1);
    /* The loop's turn after each read, for the first reads (with 1-byte
     * reads of a large input, running it after every read would pass the
     * smoke run's 1 s per input). */
    size_t reads = 0;
    for (size_t off = 0; off < size;) {
        size_t k = size - off < step ? size - off : step;
        h2_mem_recv(&m, data + off, k);
        off += k;
        if ((mode & 0x40) && !loop->draining)
            h2_loop_shutdown(loop);
        if (++reads <= 256)
            service(true);
        spry_buf_reset(&m.out); /* what the server wrote is not read */
    }
    service(true);
    h2_mem_close(&m); /* the client goes away */
    service(false);
    loop->draining = false;
    for (int i = 0; i < 100 && atomic_load(&server->active) != 0; i++)
        h2o_evloop_run(loop->ctx.loop, 0);
    if (atomic_load(&server->active) != 0)
        __builtin_trap(); /* an exchange was not freed */
    return 0;
}

/*
 * The HTTP server with a test executor instead of WebAssembly, for the
 * end-to-end tests in tests/unit/trigger/test_http_server.c.
 *
 * Usage: http_test_server [--listen A] [--loops N] [--workers N] [--queue N]
 *        [--timeout MS] [--max-body N] [--idle MS] [--tls-cert F --tls-key F]
 *        [--speculate 1] [--events FILE]
 * Prints "port N" once listening; SIGINT/SIGTERM drain and exit 0.
 * With --events, every call of the test executor's handle() first appends
 * "begin COMPONENT spec=0|1\n" to FILE (one write each, O_APPEND), so a
 * test can wait until a handler runs (on a worker: spec=0) instead of
 * sleeping and hoping it does.
 *
 * Routes (the test executor's behaviour is chosen by the route):
 *   /echo/...        200, body lists method, target, query, headers, body
 *   /users/:id       echo;  /users/admin  echo (exact beats :id)
 *   /dup             two routes; the later ("dup-second") wins
 *   /sleep           sleeps ?ms=N (stops early when cancelled)
 *   /loop            spins until interrupt() sets its flag (a looping guest)
 *   /chunks          ?n=N chunks of "chunk-I\n" without a content length;
 *                    ?status=S answers S; ?trailers=1 ends with the
 *                    trailers x-chunks: N and x-end: yes; ?abort=1 fails
 *                    (SPRY_ETRAP) after the chunks instead of finishing;
 *                    ?field=1 starts with the field x-chunked: yes (else
 *                    none)
 *   /fail            returns SPRY_ETRAP without a response (-> 500)
 *   /status/:code    answers that status
 *   /static          static response 201, x-static: yes, "static body" (and
 *                    framing fields and a date the server must drop)
 *   /stream/...      an executor that streams the body (stream_body): reads
 *                    it ?piece=N bytes at a time (sleeping ?sleep=MS after
 *                    each read) and answers "len=L sum=S reads=R" (S: FNV-1a
 *                    64 of the body, hex); with ?progress=1 it starts the
 *                    response after its first read, with "first=N" at once;
 *                    the request's trailers follow as " name=value" each,
 *                    and are sent back as response trailers named echo-NAME
 *   /stream-last     the outcome of the last /stream request: its answer,
 *                    or "error=SPRY_E..." when a read failed
 *   private          component "secret", unreachable
 * With --speculate 1 the executor speculates (http_exchange.h): echo, fail
 * and status answer from the loop (echo's body says `speculative=1`), sleep
 * and chunks defer at once, and loop spins on the loop until interrupted,
 * then defers (and spins again on a worker).
 */
#include "base/log.h"
#include "trigger/http_exchange.h"
#include "trigger/http_server.h"
#include "trigger/router.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct http_server *server;
static int events_fd = -1; /* --events */

/* One line to the events file, in one write so lines never interleave. */
static void event(const char *component, bool speculative)
{
    if (events_fd < 0)
        return;
    char line[256];
    int n = snprintf(line, sizeof line, "begin %s spec=%d\n", component, speculative ? 1 : 0);
    if (n > 0 && write(events_fd, line, (size_t)n) != n)
        fprintf(stderr, "events: short write\n");
}

static void on_signal(int sig)
{
    (void)sig;
    http_server_stop(server);
}

struct guest {
    atomic_bool interrupted;
};

static void test_interrupt(void *data, void *user)
{
    (void)data;
    struct guest *g = user;
    if (g != NULL)
        atomic_store(&g->interrupted, true);
}

static long query_num(const char *query, const char *key, long dflt)
{
    size_t kl = strlen(key);
    for (const char *p = query; p && *p;) {
        if (strncmp(p, key, kl) == 0 && p[kl] == '=')
            return atol(p + kl + 1);
        p = strchr(p, '&');
        if (p)
            p++;
    }
    return dflt;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int echo(struct http_exchange *ex, const struct http_request *r)
{
    size_t cap = 65536 + r->body_len;
    char *out = malloc(cap);
    if (out == NULL)
        return SPRY_ENOMEM;
    size_t n = (size_t)snprintf(
        out, cap, "method=%s\ntarget=%s\npath=%s\nquery=%s\ncomponent=%s\nspeculative=%d\n",
        r->method, r->target, r->path, r->query, r->route->component_id,
        http_exchange_speculative(ex));
    for (size_t i = 0; i < r->nheaders && n < cap; i++)
        n +=
            (size_t)snprintf(out + n, cap - n, "%s: %s\n", r->headers[i].name, r->headers[i].value);
    if (n < cap)
        n += (size_t)snprintf(out + n, cap - n, "body=");
    if (n + r->body_len <= cap) {
        memcpy(out + n, r->body, r->body_len);
        n += r->body_len;
    }
    static const struct http_header_pair ct = {"Content-Type", "text/plain"};
    int rc = http_exchange_start(ex, 200, &ct, 1, (int64_t)n);
    if (rc == 0)
        rc = http_exchange_write(ex, out, n);
    if (rc == 0)
        rc = http_exchange_finish(ex);
    free(out);
    return rc;
}

static int test_handle(void *data, struct http_exchange *ex)
{
    (void)data;
    const struct http_request *r = http_exchange_request(ex);
    const char *id = r->route->component_id;
    bool spec = http_exchange_speculative(ex);
    event(id, spec);
    if (spec && (strcmp(id, "sleep") == 0 || strcmp(id, "chunks") == 0))
        return HTTP_EXCHANGE_DEFER; /* they block */
    struct guest g;
    atomic_init(&g.interrupted, false);
    http_exchange_set_user(ex, &g);
    int rc = 0;
    if (strcmp(id, "echo") == 0 || strcmp(id, "users-id") == 0 || strcmp(id, "users-admin") == 0 ||
        strncmp(id, "dup-", 4) == 0) {
        rc = echo(ex, r);
    } else if (strcmp(id, "sleep") == 0) {
        long ms = query_num(r->query, "ms", 100);
        for (long t = 0; t < ms && !http_exchange_cancelled(ex); t += 5)
            sleep_ms(5);
        rc = http_exchange_write(ex, "slept", 5);
        if (rc == 0)
            rc = http_exchange_finish(ex);
    } else if (strcmp(id, "loop") == 0) {
        volatile unsigned long spin = 0;
        while (!atomic_load(&g.interrupted))
            spin++;
        rc = spec ? HTTP_EXCHANGE_DEFER : SPRY_EINTERRUPTED;
    } else if (strcmp(id, "chunks") == 0) {
        long n = query_num(r->query, "n", 3);
        static const struct http_header_pair field = {"x-chunked", "yes"};
        rc = http_exchange_start(ex, (uint16_t)query_num(r->query, "status", 200), &field,
                                 query_num(r->query, "field", 0) != 0 ? 1 : 0, -1);
        for (long i = 0; rc == 0 && i < n; i++) {
            char line[32];
            int len = snprintf(line, sizeof line, "chunk-%ld\n", i);
            rc = http_exchange_write(ex, line, (size_t)len);
            sleep_ms(2);
        }
        char count[32];
        snprintf(count, sizeof count, "%ld", n);
        const struct http_header_pair trailers[] = {{"x-chunks", count}, {"X-End", "yes"}};
        if (rc == 0 && query_num(r->query, "abort", 0) != 0)
            rc = SPRY_ETRAP;
        else if (rc == 0 && query_num(r->query, "trailers", 0) != 0)
            rc = http_exchange_finish_trailers(ex, trailers, 2);
        else if (rc == 0)
            rc = http_exchange_finish(ex);
    } else if (strcmp(id, "fail") == 0) {
        rc = SPRY_ETRAP;
    } else if (strcmp(id, "status") == 0) {
        const char *code = r->path + strlen("/status/");
        rc = http_exchange_start(ex, (uint16_t)atoi(code), NULL, 0, 0);
        if (rc == 0)
            rc = http_exchange_finish(ex);
    } else {
        rc = SPRY_ENOTFOUND;
    }
    http_exchange_set_user(ex, NULL);
    return rc;
}

static struct http_executor executor = {.handle = test_handle, .interrupt = test_interrupt};

static pthread_mutex_t last_mu = PTHREAD_MUTEX_INITIALIZER;
static char last_stream[128] = "none";

static void record_stream(const char *text)
{
    pthread_mutex_lock(&last_mu);
    snprintf(last_stream, sizeof last_stream, "%.127s", text);
    pthread_mutex_unlock(&last_mu);
}

static int stream_handle(void *data, struct http_exchange *ex)
{
    (void)data;
    const struct http_request *r = http_exchange_request(ex);
    if (strcmp(r->route->component_id, "stream-last") == 0) {
        char text[128];
        pthread_mutex_lock(&last_mu);
        snprintf(text, sizeof text, "%s", last_stream);
        pthread_mutex_unlock(&last_mu);
        int rc = http_exchange_write(ex, text, strlen(text));
        return rc == 0 ? http_exchange_finish(ex) : rc;
    }
    long piece = query_num(r->query, "piece", 4096), pause = query_num(r->query, "sleep", 0);
    bool progress = query_num(r->query, "progress", 0) != 0;
    if (piece < 1 || piece > 65536 || r->body_len != 0)
        return SPRY_EINVAL;
    static _Thread_local uint8_t buf[65536];
    uint64_t sum = 0xcbf29ce484222325ull, len = 0, reads = 0;
    bool started = false;
    int rc = 0;
    for (;;) {
        ssize_t n = http_exchange_read_body(ex, buf, (size_t)piece);
        if (n < 0) {
            char text[64];
            snprintf(text, sizeof text, "error=%s", spry_errname((int)n));
            record_stream(text);
            return (int)n;
        }
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            sum = (sum ^ buf[i]) * 0x100000001b3ull;
        len += (uint64_t)n;
        reads++;
        if (progress && !started) {
            char line[64];
            int k = snprintf(line, sizeof line, "first=%llu\n", (unsigned long long)len);
            rc = http_exchange_start(ex, 200, NULL, 0, -1);
            if (rc == 0)
                rc = http_exchange_write(ex, line, (size_t)k);
            if (rc != 0)
                return rc;
            started = true;
        }
        if (pause > 0)
            sleep_ms(pause);
    }
    char text[1024];
    int k = snprintf(text, sizeof text, "len=%llu sum=%016llx reads=%llu", (unsigned long long)len,
                     (unsigned long long)sum, (unsigned long long)reads);
    record_stream(text);
    const struct http_header_pair *t;
    size_t nt;
    rc = http_exchange_request_trailers(ex, &t, &nt);
    /* The trailers go into the same write, so one chunk has them all. */
    for (size_t i = 0; rc == 0 && i < nt && (size_t)k < sizeof text; i++)
        k += snprintf(text + k, sizeof text - (size_t)k, " %s=%s", t[i].name, t[i].value);
    if (rc == 0)
        rc = http_exchange_write(ex, text, (size_t)k < sizeof text ? (size_t)k : sizeof text - 1);
    if (rc != 0 || nt == 0)
        return rc == 0 ? http_exchange_finish(ex) : rc;
    struct http_header_pair *echo_t = calloc(nt, sizeof *echo_t);
    char(*names)[80] = calloc(nt, sizeof *names);
    if (echo_t == NULL || names == NULL)
        rc = SPRY_ENOMEM;
    for (size_t i = 0; rc == 0 && i < nt; i++) {
        snprintf(names[i], sizeof names[i], "echo-%s", t[i].name);
        echo_t[i] = (struct http_header_pair){names[i], t[i].value};
    }
    if (rc == 0)
        rc = http_exchange_finish_trailers(ex, echo_t, nt);
    free(echo_t);
    free(names);
    return rc;
}

static const struct http_executor stream_executor = {.handle = stream_handle, .stream_body = true};

/* The framing fields and the date are the server's to write: these are dropped. */
static const struct http_header_pair static_headers[] = {{"X-Static", "yes"},
                                                         {"Content-Type", "text/plain"},
                                                         {"Transfer-Encoding", "chunked"},
                                                         {"Content-Length", "999"},
                                                         {"Date", "Sun, 06 Nov 1994 08:49:37 GMT"}};

int main(int argc, char **argv)
{
    struct http_server_config config;
    http_server_config_init(&config);
    config.listen = "127.0.0.1:0";
    config.app_name = "test \"app\"";
    config.app_version = "1.2.3";
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--listen") == 0)
            config.listen = v;
        else if (strcmp(k, "--loops") == 0)
            config.loops = (uint32_t)atoi(v);
        else if (strcmp(k, "--workers") == 0)
            config.workers = (uint32_t)atoi(v);
        else if (strcmp(k, "--queue") == 0)
            config.queue_max = (uint32_t)atoi(v);
        else if (strcmp(k, "--timeout") == 0)
            config.limits.request_timeout_ms = (uint32_t)atoi(v);
        else if (strcmp(k, "--max-body") == 0)
            config.limits.max_body_bytes = (uint64_t)atoll(v);
        else if (strcmp(k, "--idle") == 0)
            config.limits.idle_timeout_ms = (uint32_t)atoi(v);
        else if (strcmp(k, "--tls-cert") == 0)
            config.tls_cert = v;
        else if (strcmp(k, "--tls-key") == 0)
            config.tls_key = v;
        else if (strcmp(k, "--speculate") == 0)
            executor.speculate = atoi(v) != 0;
        else if (strcmp(k, "--events") == 0) {
            events_fd = open(v, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (events_fd < 0) {
                perror(v);
                return 2;
            }
        } else {
            fprintf(stderr, "unknown option %s\n", k);
            return 2;
        }
    }
    struct http_route routes[] = {
        {.pattern = "/echo/...", .component_id = "echo"},
        {.pattern = "/users/:id", .component_id = "users-id"},
        {.pattern = "/users/admin", .component_id = "users-admin"},
        {.pattern = "/dup", .component_id = "dup-first"},
        {.pattern = "/dup", .component_id = "dup-second"},
        {.pattern = "/sleep", .component_id = "sleep"},
        {.pattern = "/loop", .component_id = "loop"},
        {.pattern = "/chunks", .component_id = "chunks"},
        {.pattern = "/fail", .component_id = "fail"},
        {.pattern = "/status/:code", .component_id = "status"},
        {.pattern = "/static",
         .kind = HTTP_TARGET_STATIC,
         .static_response = {201, static_headers, 5, "static body", 11}},
        {.is_private = true, .component_id = "secret"},
        {.pattern = "/stream/...", .component_id = "stream"},
        {.pattern = "/stream-last", .component_id = "stream-last"},
    };
    size_t n = sizeof(routes) / sizeof(routes[0]);
    for (size_t i = 0; i < n; i++)
        routes[i].executor = strncmp(routes[i].pattern ? routes[i].pattern : "", "/stream", 7) == 0
                                 ? (void *)&stream_executor
                                 : (void *)&executor;
    struct spry_report report;
    spry_report_init(&report);
    struct http_router *router = NULL;
    if (http_router_create(routes, n, "/", &router, &report) != 0) {
        fprintf(stderr, "router: %s\n", report.message);
        return 1;
    }
    for (size_t i = 0; i < http_router_warning_count(router); i++)
        fprintf(stderr, "warning: %s\n", http_router_warning(router, i));
    config.router = router;
    if (http_server_create(&config, &server, &report) != 0 ||
        http_server_start(server, &report) != 0) {
        fprintf(stderr, "server: %s\n", report.message);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    printf("port %u\n", http_server_port(server));
    fflush(stdout);
    int rc = http_server_wait(server);
    http_server_destroy(server);
    http_router_destroy(router);
    fprintf(stderr, "drained: %s\n", rc == 0 ? "ok" : "timeout");
    return rc == 0 ? 0 : 1;
}

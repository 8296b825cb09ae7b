/*
 * The outbound HTTP client (src/host/http_client.c) against a small
 * HTTP/1.1 server on 127.0.0.1 that each test starts in a thread: what
 * the server receives is recorded, so the tests check both directions.
 * The allow callback is the real policy (app/outbound.h).
 *
 * Server routes:
 *   /hello        200, text/plain, x-test: yes, "hello\n"
 *   /headers      200, the request head as received (lowercase names)
 *   /sum          the request body's length and FNV-1a hash, "LEN HASH"
 *   /big?n=N      200, N bytes of the pattern byte(i) = i % 251
 *   /redirect     302, location: /hello
 *   /trailers     200 chunked, "part1part2", trailer x-checksum: 42
 *   /slow-head    waits until the client gives up (closes), then 200
 *   /stall        200, content-length 10, 5 bytes, then waits until the client gives up
 *   /cut          200, content-length 100, 10 bytes, then closes
 */
#include "harness/test.h"

#include "app/outbound.h"
#include "host/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the server -------------------------------------------------------------------- */

struct server {
    int fd;
    int port;
    atomic_int connections;
    pthread_mutex_t mu;
    pthread_cond_t held_cv;
    bool held_released;   /* a "/sum?held" request's body is read only after this */
    char last_head[8192]; /* the last request head received */
};

static struct server srv;

static bool read_exact(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = recv(fd, buf + got, n - got, 0);
        if (k <= 0)
            return false;
        got += (size_t)k;
    }
    return true;
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        c += k;
        n -= (size_t)k;
    }
}

static void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

/* Reads one line ending in CRLF from fd, byte by byte (the server is tiny). */
static bool read_line(int fd, char *buf, size_t size)
{
    size_t n = 0;
    for (;;) {
        char ch;
        if (recv(fd, &ch, 1, 0) != 1)
            return false;
        if (ch == '\n')
            break;
        if (n + 1 < size)
            buf[n++] = ch;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return true;
}

struct body_sum {
    uint64_t len;
    uint32_t hash;
};

static void sum_bytes(struct body_sum *s, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s->hash = (s->hash ^ p[i]) * 16777619u;
    s->len += n;
}

/* Reads the request body (content-length or chunked) into the sum. */
static bool read_body(int fd, const char *head, struct body_sum *s)
{
    static unsigned char buf[65536];
    const char *cl = strcasestr(head, "\ncontent-length:");
    if (cl != NULL) {
        uint64_t left = strtoull(cl + 16, NULL, 10);
        while (left > 0) {
            size_t k = left < sizeof buf ? (size_t)left : sizeof buf;
            if (!read_exact(fd, (char *)buf, k))
                return false;
            sum_bytes(s, buf, k);
            left -= k;
        }
        return true;
    }
    if (strcasestr(head, "\ntransfer-encoding: chunked") == NULL)
        return true;
    char line[128];
    for (;;) {
        if (!read_line(fd, line, sizeof line))
            return false;
        uint64_t size = strtoull(line, NULL, 16);
        if (size == 0)
            break;
        while (size > 0) {
            size_t k = size < sizeof buf ? (size_t)size : sizeof buf;
            if (!read_exact(fd, (char *)buf, k))
                return false;
            sum_bytes(s, buf, k);
            size -= k;
        }
        if (!read_line(fd, line, sizeof line)) /* the CRLF after the data */
            return false;
    }
    while (read_line(fd, line, sizeof line) && line[0] != '\0') {
    } /* trailers */
    return true;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits until the client closes the connection (20 s at most): a response held back this
 * way comes too late for a client timeout however slow this machine is, where a fixed sleep
 * is only longer than the timeout when the client is not delayed past it. */
static void wait_for_client_to_give_up(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    poll(&p, 1, 20000);
}

/* Holds a "/sum?held" request's body unread until the test releases it (20 s at most), so
 * that the client's window must fill however fast this machine is. */
static void wait_for_release(void)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&srv.mu);
    while (!srv.held_released)
        if (pthread_cond_timedwait(&srv.held_cv, &srv.mu, &until) != 0)
            break;
    srv.held_released = false;
    pthread_mutex_unlock(&srv.mu);
}

static void release_held_body(void)
{
    pthread_mutex_lock(&srv.mu);
    srv.held_released = true;
    pthread_cond_broadcast(&srv.held_cv);
    pthread_mutex_unlock(&srv.mu);
}

/* Serves requests on one connection until it closes. */
static void *serve_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char head[8192];
    for (;;) {
        size_t n = 0;
        char line[4096];
        head[0] = '\0';
        if (!read_line(fd, line, sizeof line))
            break;
        n += (size_t)snprintf(head + n, sizeof head - n, "%s\n", line);
        while (read_line(fd, line, sizeof line) && line[0] != '\0') {
            for (char *p = line; *p != ':' && *p != '\0'; p++)
                *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
            if (n < sizeof head)
                n += (size_t)snprintf(head + n, sizeof head - n, "%s\n", line);
        }
        pthread_mutex_lock(&srv.mu);
        snprintf(srv.last_head, sizeof srv.last_head, "%s", head);
        pthread_mutex_unlock(&srv.mu);
        char path[256] = "";
        sscanf(head, "%*s %255s", path);
        if (strcmp(path, "/sum?held") == 0)
            wait_for_release();
        struct body_sum sum = {0, 2166136261u};
        if (!read_body(fd, head, &sum))
            break;
        char resp[9000];
        if (strcmp(path, "/hello") == 0) {
            send_str(fd, "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-test: yes\r\n"
                         "content-length: 6\r\n\r\nhello\n");
        } else if (strcmp(path, "/headers") == 0) {
            snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\ncontent-length: %zu\r\n\r\n%s",
                     strlen(head), head);
            send_str(fd, resp);
        } else if (strcmp(path, "/sum") == 0 || strcmp(path, "/sum?held") == 0) {
            char body[64];
            snprintf(body, sizeof body, "%llu %08x", (unsigned long long)sum.len, sum.hash);
            snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\ncontent-length: %zu\r\n\r\n%s",
                     strlen(body), body);
            send_str(fd, resp);
        } else if (strncmp(path, "/big?n=", 7) == 0) {
            size_t total = strtoull(path + 7, NULL, 10);
            snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\ncontent-length: %zu\r\n\r\n", total);
            send_str(fd, resp);
            unsigned char chunk[8192];
            for (size_t at = 0; at < total;) {
                size_t k = total - at < sizeof chunk ? total - at : sizeof chunk;
                for (size_t i = 0; i < k; i++)
                    chunk[i] = (unsigned char)((at + i) % 251);
                send_all(fd, chunk, k);
                at += k;
            }
        } else if (strcmp(path, "/redirect") == 0) {
            send_str(fd, "HTTP/1.1 302 Found\r\nlocation: /hello\r\ncontent-length: 0\r\n\r\n");
        } else if (strcmp(path, "/trailers") == 0) {
            send_str(fd, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-checksum\r\n"
                         "\r\n5\r\npart1\r\n5\r\npart2\r\n0\r\nx-checksum: 42\r\n\r\n");
        } else if (strcmp(path, "/slow-head") == 0) {
            wait_for_client_to_give_up(fd);
            send_str(fd, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        } else if (strcmp(path, "/stall") == 0) {
            send_str(fd, "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n12345");
            wait_for_client_to_give_up(fd);
            send_str(fd, "67890");
        } else if (strcmp(path, "/cut") == 0) {
            send_str(fd, "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789");
            break;
        } else {
            send_str(fd, "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
        }
    }
    close(fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(srv.fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        atomic_fetch_add(&srv.connections, 1);
        pthread_t t;
        pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
}

static void start_server(void)
{
    srv.fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_TRUE(srv.fd >= 0);
    int one = 1;
    setsockopt(srv.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ASSERT_EQ_INT(bind(srv.fd, (struct sockaddr *)&a, sizeof a), 0);
    ASSERT_EQ_INT(listen(srv.fd, 64), 0);
    socklen_t len = sizeof a;
    ASSERT_EQ_INT(getsockname(srv.fd, (struct sockaddr *)&a, &len), 0);
    srv.port = ntohs(a.sin_port);
    pthread_mutex_init(&srv.mu, NULL);
    pthread_cond_init(&srv.held_cv, NULL);
    pthread_t t;
    ASSERT_EQ_INT(pthread_create(&t, NULL, accept_loop, NULL), 0);
    pthread_detach(t);
}

/* ---- the client side ------------------------------------------------------------------ */

static struct outbound_policy *policy;

static bool allow(void *ctx, const char *scheme, const char *host, int port, char *why,
                  size_t why_size)
{
    struct outbound_target t;
    if (outbound_target_set(&t, scheme, host, port, why, why_size) != 0)
        return false;
    (void)ctx;
    return outbound_policy_allows(policy, &t);
}

static void set_policy(const char *entry)
{
    outbound_policy_destroy(policy);
    struct manifest_outbound e = {.text = entry};
    struct spry_report r;
    spry_report_init(&r);
    ASSERT_OK(outbound_policy_create(&e, 1, NULL, NULL, NULL, 0, &policy, &r));
}

static struct http_client *client(void)
{
    static struct http_client *c;
    if (c == NULL) {
        start_server();
        char entry[64];
        snprintf(entry, sizeof entry, "http://127.0.0.1:%d", srv.port);
        set_policy(entry);
        struct spry_report r;
        spry_report_init(&r);
        int rc = http_client_create(NULL, &c, &r);
        if (rc != 0)
            test_skip("%s", r.message);
    }
    return c;
}

static uint64_t deadline_in(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + (uint64_t)ms * 1000000u;
}

static struct http_client_request *submit(const char *method, const char *path,
                                          const struct http_client_header *h, size_t nh, bool body,
                                          int64_t len)
{
    struct http_client *c = client();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", srv.port, path);
    struct http_client_request_options o = {.method = method,
                                            .url = url,
                                            .headers = h,
                                            .n_headers = nh,
                                            .has_body = body,
                                            .content_length = len,
                                            .allow = allow};
    struct http_client_request *r = NULL;
    struct http_client_error e;
    int rc = http_client_submit(c, &o, &r, &e);
    if (rc != 0)
        fprintf(stderr, "submit: %s: %s\n", http_client_error_name(e.code), e.message);
    ASSERT_OK(rc);
    return r;
}

/* Waits for the response head (10 s at most). */
static int head(struct http_client_request *r, struct http_client_response *resp,
                struct http_client_error *e)
{
    uint64_t deadline = deadline_in(10000);
    for (;;) {
        http_client_request_clear(r);
        int rc = http_client_head(r, resp, e);
        if (rc != SPRY_EBUSY)
            return rc;
        ASSERT_OK(http_client_wait(r, deadline));
    }
}

/* Reads the whole body into a malloc'd buffer; returns the read's result. */
static int64_t read_all(struct http_client_request *r, char **out, size_t *len,
                        struct http_client_error *e)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    ASSERT_TRUE(buf != NULL);
    uint64_t deadline = deadline_in(20000);
    for (;;) {
        http_client_request_clear(r);
        bool eof;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ASSERT_TRUE(buf != NULL);
        }
        int64_t k = http_client_body_read(r, buf + n, cap - n, &eof, e);
        if (k < 0) {
            free(buf);
            return k;
        }
        n += (size_t)k;
        if (eof)
            break;
        if (k == 0)
            ASSERT_OK(http_client_wait(r, deadline));
    }
    buf[n < cap ? n : cap - 1] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static const char *header(const struct http_client_response *resp, const char *name)
{
    for (size_t i = 0; i < resp->n_headers; i++) {
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    }
    return NULL;
}

/* ---- tests ----------------------------------------------------------------------------- */

TEST(http_client, get_status_headers_and_body)
{
    struct http_client_request *r = submit("GET", "/hello", NULL, 0, false, 0);
    struct http_client_response resp;
    struct http_client_error e;
    ASSERT_OK(head(r, &resp, &e));
    ASSERT_EQ_INT(resp.status, 200);
    ASSERT_EQ_STR(header(&resp, "content-type"), "text/plain");
    ASSERT_EQ_STR(header(&resp, "x-test"), "yes");
    char *body;
    size_t len;
    ASSERT_OK(read_all(r, &body, &len, &e));
    ASSERT_EQ_STR(body, "hello\n");
    free(body);
    const struct http_client_header *t;
    size_t nt;
    http_client_trailers(r, &t, &nt);
    ASSERT_EQ_UINT(nt, 0);
    http_client_request_destroy(r);
}

TEST(http_client, request_headers_arrive_as_given_and_framing_is_curls)
{
    static const struct http_client_header h[] = {
        {"X-Custom", 8, "one two", 7},
        {"host", 4, "evil.test", 9},      /* dropped: the URL chooses */
        {"content-length", 14, "999", 3}, /* dropped: curl frames */
        {"x-empty", 7, "", 0},
    };
    struct http_client_request *r = submit("GET", "/headers", h, 4, false, 0);
    struct http_client_response resp;
    struct http_client_error e;
    ASSERT_OK(head(r, &resp, &e));
    char *body;
    size_t len;
    ASSERT_OK(read_all(r, &body, &len, &e));
    char host[64];
    snprintf(host, sizeof host, "\nhost: 127.0.0.1:%d\n", srv.port);
    ASSERT_TRUE(strncmp(body, "GET /headers HTTP/1.1\n", 22) == 0);
    ASSERT_TRUE(strstr(body, host) != NULL);
    ASSERT_TRUE(strstr(body, "\nx-custom: one two\n") != NULL);
    ASSERT_TRUE(strstr(body, "\nx-empty:") != NULL);
    ASSERT_TRUE(strstr(body, "evil.test") == NULL);
    ASSERT_TRUE(strstr(body, "content-length") == NULL);
    ASSERT_TRUE(strstr(body, "\naccept:") == NULL); /* curl's default is not sent */
    free(body);
    http_client_request_destroy(r);

    /* A header value with CR LF never reaches the wire. */
    static const struct http_client_header bad[] = {{"x-a", 3, "1\r\nx-b: 2", 9}};
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/headers", srv.port);
    struct http_client_request_options o = {
        .method = "GET", .url = url, .headers = bad, .n_headers = 1, .allow = allow};
    struct http_client_request *q = NULL;
    ASSERT_EQ_INT(http_client_submit(client(), &o, &q, &e), SPRY_EINVALID);
    o.headers = NULL;
    o.n_headers = 0;
    o.method = "GE T";
    ASSERT_EQ_INT(http_client_submit(client(), &o, &q, &e), SPRY_EINVALID);
    ASSERT_EQ_INT(e.code, HTTP_ERR_HTTP_REQUEST_METHOD_INVALID);
}

/* Writes `total` pattern bytes as the request body, as capacity allows. */
static struct body_sum stream_body(struct http_client_request *r, size_t total, size_t *blocked)
{
    struct body_sum s = {0, 2166136261u};
    unsigned char chunk[20000];
    uint64_t deadline = deadline_in(20000);
    size_t at = 0;
    *blocked = 0;
    while (at < total) {
        http_client_request_clear(r);
        int64_t cap = http_client_body_capacity(r);
        ASSERT_TRUE(cap >= 0);
        if (cap == 0) {
            if ((*blocked)++ == 0)
                release_held_body();
            ASSERT_OK(http_client_wait(r, deadline));
            continue;
        }
        size_t k = total - at;
        if (k > sizeof chunk)
            k = sizeof chunk;
        if (k > (size_t)cap)
            k = (size_t)cap;
        for (size_t i = 0; i < k; i++)
            chunk[i] = (unsigned char)((at + i) * 7 % 256);
        ASSERT_OK(http_client_body_write(r, chunk, k));
        sum_bytes(&s, chunk, k);
        at += k;
    }
    struct http_client_error e;
    ASSERT_OK(http_client_body_finish(r, &e));
    return s;
}

TEST(http_client, post_streams_a_multi_mib_body_with_and_without_length)
{
    const size_t total = 5u << 20;
    for (int chunked = 0; chunked < 2; chunked++) {
        struct http_client_request *r =
            submit("POST", "/sum?held", NULL, 0, true, chunked ? -1 : (int64_t)total);
        size_t blocked;
        struct body_sum want = stream_body(r, total, &blocked);
        /* The window held the writer back while the server read nothing: the body was
         * never buffered whole. */
        ASSERT_TRUE(blocked > 0);
        struct http_client_response resp;
        struct http_client_error e;
        ASSERT_OK(head(r, &resp, &e));
        ASSERT_EQ_INT(resp.status, 200);
        char *body;
        size_t len;
        ASSERT_OK(read_all(r, &body, &len, &e));
        char expect[64];
        snprintf(expect, sizeof expect, "%llu %08x", (unsigned long long)want.len, want.hash);
        ASSERT_EQ_STR(body, expect);
        free(body);
        pthread_mutex_lock(&srv.mu);
        bool was_chunked = strstr(srv.last_head, "transfer-encoding: chunked") != NULL;
        bool had_expect = strstr(srv.last_head, "expect:") != NULL;
        pthread_mutex_unlock(&srv.mu);
        ASSERT_EQ_INT(was_chunked, chunked);
        ASSERT_FALSE(had_expect);
        http_client_request_destroy(r);
    }
}

TEST(http_client, body_size_must_match_content_length)
{
    struct http_client_request *r = submit("PUT", "/sum", NULL, 0, true, 10);
    ASSERT_OK(http_client_body_write(r, "12345", 5));
    struct http_client_error e;
    ASSERT_EQ_INT(http_client_body_finish(r, &e), SPRY_EINVALID);
    ASSERT_EQ_INT(e.code, HTTP_ERR_HTTP_REQUEST_BODY_SIZE);
    struct http_client_response resp;
    ASSERT_EQ_INT(head(r, &resp, &e), SPRY_EIO);
    ASSERT_EQ_INT(e.code, HTTP_ERR_HTTP_REQUEST_BODY_SIZE);
    http_client_request_destroy(r);
    r = submit("PUT", "/sum", NULL, 0, true, 3);
    ASSERT_EQ_INT(http_client_body_write(r, "12345", 5), SPRY_EIO);
    http_client_request_destroy(r);
}

TEST(http_client, large_response_is_read_with_back_pressure)
{
    const size_t total = 8u << 20;
    char path[64];
    snprintf(path, sizeof path, "/big?n=%zu", total);
    struct http_client_request *r = submit("GET", path, NULL, 0, false, 0);
    struct http_client_response resp;
    struct http_client_error e;
    ASSERT_OK(head(r, &resp, &e));
    /* Let the server run ahead: the client must pause, not buffer 8 MiB. */
    sleep_ms(300);
    size_t n = 0;
    bool eof = false;
    unsigned char buf[100000];
    uint64_t deadline = deadline_in(20000);
    while (!eof) {
        http_client_request_clear(r);
        int64_t k = http_client_body_read(r, buf, sizeof buf, &eof, &e);
        ASSERT_TRUE(k >= 0);
        /* Never more than the window (64 KiB) plus one callback's data. */
        ASSERT_TRUE(k <= 64 * 1024 + 16 * 1024);
        for (int64_t i = 0; i < k; i++)
            ASSERT_EQ_UINT(buf[i], (n + (size_t)i) % 251);
        n += (size_t)k;
        if (k == 0 && !eof)
            ASSERT_OK(http_client_wait(r, deadline));
    }
    ASSERT_EQ_UINT(n, total);
    http_client_request_destroy(r);
}

TEST(http_client, redirects_are_returned_not_followed)
{
    struct http_client_request *r = submit("GET", "/redirect", NULL, 0, false, 0);
    struct http_client_response resp;
    struct http_client_error e;
    ASSERT_OK(head(r, &resp, &e));
    ASSERT_EQ_INT(resp.status, 302);
    ASSERT_EQ_STR(header(&resp, "location"), "/hello");
    http_client_request_destroy(r);
}

TEST(http_client, trailers_follow_the_body)
{
    struct http_client_request *r = submit("GET", "/trailers", NULL, 0, false, 0);
    struct http_client_response resp;
    struct http_client_error e;
    ASSERT_OK(head(r, &resp, &e));
    char *body;
    size_t len;
    ASSERT_OK(read_all(r, &body, &len, &e));
    ASSERT_EQ_STR(body, "part1part2");
    free(body);
    const struct http_client_header *t;
    size_t nt;
    http_client_trailers(r, &t, &nt);
    ASSERT_EQ_UINT(nt, 1);
    ASSERT_EQ_STR(t[0].name, "x-checksum");
    ASSERT_EQ_STR(t[0].value, "42");
    http_client_request_destroy(r);
}

TEST(http_client, denied_requests_never_connect)
{
    client();
    int before = atomic_load(&srv.connections);
    struct http_client_error e;
    struct http_client_request *r = NULL;
    char url[128];
    /* The policy allows http://127.0.0.1:PORT only. */
    const char *denied[] = {"https://127.0.0.1:%d/hello", "http://localhost:%d/hello",
                            "http://127.0.0.1:%d/hello", "http://[::1]:%d/hello"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(url, sizeof url, denied[i], i == 2 ? srv.port ^ 1 : srv.port);
        struct http_client_request_options o = {.method = "GET", .url = url, .allow = allow};
        ASSERT_EQ_INT(http_client_submit(client(), &o, &r, &e), SPRY_EINVALID);
        ASSERT_EQ_INT(e.code, HTTP_ERR_HTTP_REQUEST_DENIED);
        ASSERT_EQ_STR(http_client_error_name(e.code), "HTTP-request-denied");
    }
    /* A URL whose userinfo names the allowed host: curl's host is checked. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d@localhost:%d/hello", srv.port, srv.port);
    struct http_client_request_options o = {.method = "GET", .url = url, .allow = allow};
    ASSERT_EQ_INT(http_client_submit(client(), &o, &r, &e), SPRY_EINVALID);
    ASSERT_EQ_INT(e.code, HTTP_ERR_HTTP_REQUEST_DENIED);
    /* Not http(s), or no URL at all. */
    o.url = "ftp://127.0.0.1/x";
    ASSERT_EQ_INT(http_client_submit(client(), &o, &r, &e), SPRY_EINVALID);
    ASSERT_EQ_INT(e.code, HTTP_ERR_HTTP_REQUEST_URI_INVALID);
    o.url = "http://";
    ASSERT_EQ_INT(http_client_submit(client(), &o, &r, &e), SPRY_EINVALID);
    ASSERT_EQ_INT(e.code, HTTP_ERR_HTTP_REQUEST_URI_INVALID);
    sleep_ms(200);
    ASSERT_EQ_INT(atomic_load(&srv.connections), before);
    /* The same server, allowed: one connection. */
    r = submit("GET", "/hello", NULL, 0, false, 0);
    struct http_client_response resp;
    ASSERT_OK(head(r, &resp, &e));
    ASSERT_EQ_INT(atomic_load(&srv.connections), before + 1);
    http_client_request_destroy(r);
}

TEST(http_client, connection_refused)
{
    client();
    /* A port nobody listens on: one bound here and kept, never listened on
     * (closed, another process could take it before the client connects). */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_TRUE(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ASSERT_EQ_INT(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    ASSERT_EQ_INT(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    set_policy("http://127.0.0.1:*");
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(a.sin_port));
    struct http_client_request_options o = {.method = "GET", .url = url, .allow = allow};
    struct http_client_request *r;
    struct http_client_error e;
    ASSERT_OK(http_client_submit(client(), &o, &r, &e));
    struct http_client_response resp;
    ASSERT_EQ_INT(head(r, &resp, &e), SPRY_EIO);
    ASSERT_EQ_INT(e.code, HTTP_ERR_CONNECTION_REFUSED);
    http_client_request_destroy(r);
    close(fd);
}

TEST(http_client, incomplete_response)
{
    struct http_client_request *r = submit("GET", "/cut", NULL, 0, false, 0);
    struct http_client_response resp;
    struct http_client_error e;
    ASSERT_OK(head(r, &resp, &e));
    char *body;
    size_t len;
    ASSERT_EQ_INT(read_all(r, &body, &len, &e), SPRY_EIO);
    ASSERT_EQ_INT(e.code, HTTP_ERR_HTTP_RESPONSE_INCOMPLETE);
    http_client_request_destroy(r);
}

TEST(http_client, first_byte_and_between_bytes_timeouts)
{
    client();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow-head", srv.port);
    struct http_client_request_options o = {
        .method = "GET", .url = url, .first_byte_timeout_ns = 300000000u, .allow = allow};
    struct http_client_request *r;
    struct http_client_error e;
    ASSERT_OK(http_client_submit(client(), &o, &r, &e));
    struct http_client_response resp;
    ASSERT_EQ_INT(head(r, &resp, &e), SPRY_EIO);
    ASSERT_EQ_INT(e.code, HTTP_ERR_CONNECTION_READ_TIMEOUT);
    http_client_request_destroy(r);

    snprintf(url, sizeof url, "http://127.0.0.1:%d/stall", srv.port);
    o.first_byte_timeout_ns = 0;
    o.between_bytes_timeout_ns = 300000000u;
    ASSERT_OK(http_client_submit(client(), &o, &r, &e));
    ASSERT_OK(head(r, &resp, &e));
    char *body;
    size_t len;
    ASSERT_EQ_INT(read_all(r, &body, &len, &e), SPRY_EIO);
    ASSERT_EQ_INT(e.code, HTTP_ERR_CONNECTION_READ_TIMEOUT);
    http_client_request_destroy(r);
}

TEST(http_client, many_requests_at_once)
{
    enum { N = 32 };
    struct http_client_request *r[N];
    for (int i = 0; i < N; i++)
        r[i] = submit("GET", "/hello", NULL, 0, false, 0);
    for (int i = 0; i < N; i++) {
        struct http_client_response resp;
        struct http_client_error e;
        ASSERT_OK(head(r[i], &resp, &e));
        char *body;
        size_t len;
        ASSERT_OK(read_all(r[i], &body, &len, &e));
        ASSERT_EQ_STR(body, "hello\n");
        free(body);
        http_client_request_destroy(r[i]);
    }
    /* Destroying requests still in flight cancels them. */
    for (int i = 0; i < N; i++) {
        char path[64];
        snprintf(path, sizeof path, "/big?n=%d", 1 << 20);
        r[i] = submit("GET", path, NULL, 0, false, 0);
    }
    for (int i = 0; i < N; i++)
        http_client_request_destroy(r[i]);
}

/* HTTP/2 by ALPN over TLS against Spry's own server (tests/tools/
 * http_test_server, h2o) with a certificate made for 127.0.0.1; the same
 * server's certificate is refused without the CA. */
TEST(http_client, h2_over_tls_by_alpn_and_certificates_are_checked)
{
    if (system("command -v openssl >/dev/null 2>&1") != 0)
        test_skip("openssl is not installed (scripts/deps.sh installs it)");
    const char *dir = test_tmpdir();
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
             "-addext subjectAltName=IP:127.0.0.1 -keyout %s/key.pem -out %s/cert.pem "
             ">/dev/null 2>&1",
             dir, dir);
    ASSERT_EQ_INT(system(cmd), 0);
    int fds[2];
    ASSERT_EQ_INT(pipe(fds), 0);
    snprintf(cmd, sizeof cmd,
             "LSAN_OPTIONS=suppressions=%s exec %s --tls-cert %s/cert.pem --tls-key %s/key.pem",
             test_src_path("tests/tools/lsan-h2o.supp"),
             test_build_path("tests/tools/http_test_server"), dir, dir);
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    int port = 0;
    ASSERT_EQ_INT(fscanf(f, "port %d", &port), 1);
    fclose(f);

    char entry[64], url[128], ca[4200];
    snprintf(entry, sizeof entry, "https://127.0.0.1:%d", port);
    set_policy(entry);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/echo/x?y=1", port);
    snprintf(ca, sizeof ca, "%s/cert.pem", dir);
    for (int trusted = 1; trusted >= 0; trusted--) {
        struct http_client_config cfg = {.ca_file = trusted ? ca : NULL};
        struct http_client *c;
        struct spry_report rep;
        spry_report_init(&rep);
        if (http_client_create(&cfg, &c, &rep) != 0)
            test_skip("%s", rep.message);
        static const struct http_client_header h[] = {{"x-h2", 4, "yes", 3}};
        struct http_client_request_options o = {
            .method = "GET", .url = url, .headers = h, .n_headers = 1, .allow = allow};
        struct http_client_request *r;
        struct http_client_error e;
        ASSERT_OK(http_client_submit(c, &o, &r, &e));
        struct http_client_response resp;
        if (trusted) {
            ASSERT_OK(head(r, &resp, &e));
            ASSERT_EQ_INT(resp.status, 200);
            ASSERT_EQ_INT(resp.version, 20);
            char *body;
            size_t len;
            ASSERT_OK(read_all(r, &body, &len, &e));
            ASSERT_TRUE(strstr(body, "x-h2: yes") != NULL);
            free(body);
        } else {
            ASSERT_EQ_INT(head(r, &resp, &e), SPRY_EIO);
            ASSERT_EQ_INT(e.code, HTTP_ERR_TLS_CERTIFICATE_ERROR);
        }
        http_client_request_destroy(r);
        http_client_destroy(c);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

TEST(http_client, error_names_are_wasi_https)
{
    /* The discriminants follow wasi:http/types@0.2.x error-code's cases. */
    ASSERT_EQ_INT(HTTP_ERR_DNS_TIMEOUT, 0);
    ASSERT_EQ_INT(HTTP_ERR_CONNECTION_REFUSED, 6);
    ASSERT_EQ_INT(HTTP_ERR_HTTP_REQUEST_DENIED, 15);
    ASSERT_EQ_INT(HTTP_ERR_HTTP_RESPONSE_INCOMPLETE, 25);
    ASSERT_EQ_INT(HTTP_ERR_INTERNAL_ERROR, 38);
    ASSERT_EQ_STR(http_client_error_name(HTTP_ERR_TLS_CERTIFICATE_ERROR), "TLS-certificate-error");
    ASSERT_EQ_STR(http_client_error_name(HTTP_ERR_COUNT), "internal-error");
}

/*
 * End-to-end tests of the HTTP server with the test executor
 * (tests/tools/http_test_server.c): curl for HTTP/1.1, h2c and h2 over TLS,
 * raw sockets for pipelining and the request-smuggling cases. Network on
 * 127.0.0.1 only.
 */
#include "harness/test.h"
#include "unit/trigger/h2_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct srv {
    pid_t pid;
    int port;
};

/* How long a test waits for something it will see (an answer, an event):
 * far beyond any scheduling delay, and only spent when the server is broken. */
enum { PATIENCE_MS = 20000 };

static void need(const char *tool)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    if (system(cmd) != 0)
        test_skip("%s is not installed (scripts/deps.sh installs it)", tool);
}

static struct srv start(const char *args)
{
    int fds[2];
    ASSERT_EQ_INT(pipe(fds), 0);
    struct srv s = {0, 0};
    char cmd[4096];
    /* Under ASan, h2o's per-thread buffer caches are reported at exit. */
    snprintf(cmd, sizeof cmd, "LSAN_OPTIONS=suppressions=%s exec %s %s",
             test_src_path("tests/tools/lsan-h2o.supp"),
             test_build_path("tests/tools/http_test_server"), args);
    s.pid = fork();
    ASSERT_GE_INT(s.pid, 0);
    if (s.pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ_INT(fscanf(f, "port %d", &s.port), 1);
    fclose(f);
    return s;
}

/* SIGTERM, then the exit status (-1 when killed by a signal). */
static int stop(struct srv *s)
{
    int st;
    kill(s->pid, SIGTERM);
    ASSERT_EQ_INT(waitpid(s->pid, &st, 0), s->pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int run(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    ASSERT_NOT_NULL(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* curl with the given options and path; out gets the body then, on the
 * last line, "CODE VERSION". */
static void curl(const struct srv *s, const char *opts, const char *path, char *out, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "curl -s --max-time 20 %s -w '\\n%%{http_code} %%{http_version}' "
             "'http://127.0.0.1:%d%s'",
             opts, s->port, path);
    run(cmd, out, cap);
}

static const char *last_line(const char *text)
{
    const char *nl = strrchr(text, '\n');
    return nl ? nl + 1 : text;
}

/* Sends raw bytes and reads until the server closes (or 5 s pass). Returns
 * the number of bytes read; *closed says whether the server closed. */
static size_t raw(const struct srv *s, const char *req, size_t len, char *out, size_t cap,
                  bool *closed)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE_INT(fd, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)s->port);
    a.sin_addr.s_addr = htonl(0x7f000001);
    ASSERT_EQ_INT(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t off = 0;
    while (off < len) {
        ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the server may answer and close before reading it all */
        off += (size_t)w;
    }
    size_t n = 0;
    *closed = false;
    for (;;) {
        ssize_t r = recv(fd, out + n, cap - 1 - n, 0);
        if (r == 0) {
            *closed = true;
            break;
        }
        if (r < 0) {
            if (errno == ECONNRESET)
                *closed = true;
            break;
        }
        n += (size_t)r;
        if (n == cap - 1)
            break;
    }
    out[n] = '\0';
    close(fd);
    return n;
}

static int connect_to(const struct srv *s);
static void send_all(int fd, const void *data, size_t len);
static bool recv_until(int fd, char *out, size_t cap, size_t *n, const char *needle);
static uint8_t *pattern(size_t len);
static void expect_digest(const char *answer, const uint8_t *body, size_t len);

static int status_of(const char *response)
{
    int code = 0;
    sscanf(response, "HTTP/1.%*d %d", &code);
    return code;
}

TEST(trigger_http, routing_follows_spin_rules_end_to_end)
{
    need("curl");
    struct srv s = start("--loops 2 --workers 2");
    char out[16384];
    curl(&s, "", "/users/admin", out, sizeof out);
    ASSERT_TRUE(strstr(out, "component=users-admin\n") != NULL);
    curl(&s, "", "/users/42", out, sizeof out);
    ASSERT_TRUE(strstr(out, "component=users-id\n") != NULL);
    ASSERT_TRUE(strstr(out, "spin-path-match-id: 42\n") != NULL);
    curl(&s, "", "/dup", out, sizeof out);
    ASSERT_TRUE(strstr(out, "component=dup-second\n") != NULL);
    curl(&s, "", "/nothing/here", out, sizeof out);
    ASSERT_EQ_STR(last_line(out), "404 1.1");
    curl(&s, "", "/secret", out, sizeof out);
    ASSERT_EQ_STR(last_line(out), "404 1.1");
    ASSERT_EQ_INT(stop(&s), 0);
}

TEST(trigger_http, spin_headers_and_request_data_reach_the_executor)
{
    need("curl");
    struct srv s = start("");
    char out[16384], want[512];
    curl(&s, "-d hello", "/echo/a/b?x=1&y=2", out, sizeof out);
    ASSERT_TRUE(strstr(out, "method=POST\npath=/echo/a/b\n") == NULL); /* target first */
    ASSERT_TRUE(strstr(out, "target=/echo/a/b?x=1&y=2\npath=/echo/a/b\nquery=x=1&y=2\n") != NULL);
    snprintf(want, sizeof want, "spin-full-url: http://127.0.0.1:%d/echo/a/b?x=1&y=2\n", s.port);
    ASSERT_TRUE(strstr(out, want) != NULL);
    ASSERT_TRUE(strstr(out, "spin-path-info: /a/b\n") != NULL);
    ASSERT_TRUE(strstr(out, "spin-matched-route: /echo/...\n") != NULL);
    ASSERT_TRUE(strstr(out, "spin-raw-component-route: /echo/...\n") != NULL);
    ASSERT_TRUE(strstr(out, "spin-component-route: /echo\n") != NULL);
    ASSERT_TRUE(strstr(out, "spin-base-path: /\n") != NULL);
    ASSERT_TRUE(strstr(out, "spin-client-addr: 127.0.0.1:") != NULL);
    ASSERT_TRUE(strstr(out, "content-length: 5\n") != NULL);
    ASSERT_TRUE(strstr(out, "body=hello\n") != NULL);
    ASSERT_EQ_INT(stop(&s), 0);
}

TEST(trigger_http, well_known_health_and_info)
{
    need("curl");
    struct srv s = start("");
    char out[4096];
    curl(&s, "", "/.well-known/spin/health", out, sizeof out);
    ASSERT_EQ_STR(out, "OK\n200 1.1");
    curl(&s, "", "/.well-known/spin/info", out, sizeof out);
    ASSERT_EQ_STR(out, "{\"name\":\"test \\\"app\\\"\",\"version\":\"1.2.3\"}\n200 1.1");
    curl(&s, "", "/.well-known/spin/other", out, sizeof out);
    ASSERT_EQ_STR(last_line(out), "404 1.1");
    ASSERT_EQ_INT(stop(&s), 0);
}

TEST(trigger_http, static_response_is_served_with_a_content_length)
{
    need("curl");
    struct srv s = start("");
    char out[4096];
    curl(&s, "-i", "/static", out, sizeof out);
    ASSERT_TRUE(strstr(out, "HTTP/1.1 201 Created\r\n") == out);
    ASSERT_TRUE(strstr(out, "x-static: yes\r\n") != NULL);
    /* One Content-Length, ours; the route's own framing fields are dropped. */
    ASSERT_TRUE(strstr(out, "Content-Length: 11\r\n") != NULL);
    ASSERT_TRUE(strcasestr(out, "content-length: 999") == NULL);
    ASSERT_TRUE(strcasestr(out, "transfer-encoding") == NULL);
    ASSERT_TRUE(strstr(out, "\r\n\r\nstatic body\n201 1.1") != NULL);
    curl(&s, "-i --http2-prior-knowledge", "/static", out, sizeof out);
    ASSERT_TRUE(strstr(out, "content-length: 11\r\n") != NULL);
    ASSERT_TRUE(strstr(out, "\r\n\r\nstatic body\n201 2") != NULL);
    ASSERT_EQ_INT(stop(&s), 0);
}

/* The value of a response field in curl -i output (the head only, name
 * case-insensitive), into out ("" when absent). */
static void head_field(const char *response, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    const char *end = strstr(response, "\r\n\r\n");
    size_t nl = strlen(name);
    for (const char *p = strstr(response, "\r\n"); p != NULL && p < end;
         p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int)strcspn(v, "\r"), v);
            return;
        }
    }
}

/* One date field, an IMF-fixdate (RFC 9110 section 5.6.7) within a minute
 * of now. */
static void expect_date(const char *response)
{
    char date[128];
    head_field(response, "date", date, sizeof date);
    ASSERT_TRUE(date[0] != '\0');
    struct tm tm = {0};
    const char *rest = strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    ASSERT_TRUE(rest != NULL && *rest == '\0');
    ASSERT_EQ_INT((int)strlen(date), 29); /* fixed width: "Sun, 06 Nov 1994 08:49:37 GMT" */
    long long diff = (long long)timegm(&tm) - (long long)time(NULL);
    ASSERT_TRUE(diff > -60 && diff < 60);
    /* Only one. */
    const char *end = strstr(response, "\r\n\r\n");
    int n = 0;
    for (const char *p = strcasestr(response, "\r\ndate:"); p != NULL && p < end;
         p = strcasestr(p + 2, "\r\ndate:"))
        n++;
    ASSERT_EQ_INT(n, 1);
}

/* Every response carries one date, the server's, over HTTP/1.1 (h2o) and
 * HTTP/2 (ours): an executor's, a static route's (whose own 1994 date is
 * dropped), /.well-known's and our errors; and the two protocols agree on
 * the server field (present with the same value, or absent in both). */
TEST(trigger_http, responses_carry_a_date_on_both_protocols)
{
    need("curl");
    struct srv s = start("--max-body 100");
    const char *paths[] = {"/echo/a", "/static", "/.well-known/spin/health", "/nope",
                           "/status/503"};
    char out1[16384], out2[16384], server1[256], server2[256];
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        curl(&s, "-i", paths[i], out1, sizeof out1);
        curl(&s, "-i --http2-prior-knowledge", paths[i], out2, sizeof out2);
        ASSERT_TRUE(strncmp(out1, "HTTP/1.1 ", 9) == 0);
        ASSERT_TRUE(strncmp(out2, "HTTP/2 ", 7) == 0);
        expect_date(out1);
        expect_date(out2);
        head_field(out1, "server", server1, sizeof server1);
        head_field(out2, "server", server2, sizeof server2);
        ASSERT_EQ_STR(server1, server2);
    }
    /* Our refusals: 431 for a field over 8 KiB (on HTTP/1.1 written by
     * the first-head check, before h2o). (A 413 over HTTP/2 would be
     * followed by RST_STREAM NO_ERROR while curl sends the body, which
     * curl 7.88 sometimes reports as a failure, exit 92.) */
    char hfile[] = "/tmp/spry-h2date-XXXXXX";
    int hfd = mkstemp(hfile);
    ASSERT_GE_INT(hfd, 0);
    static char field[9100];
    memcpy(field, "x-long: ", 8);
    memset(field + 8, 'v', 9000);
    field[9008] = '\n';
    ASSERT_EQ_INT((int)write(hfd, field, 9009), 9009);
    close(hfd);
    char opts[512];
    snprintf(opts, sizeof opts, "-i -H @%s", hfile);
    curl(&s, opts, "/echo/a", out1, sizeof out1);
    snprintf(opts, sizeof opts, "-i --http2-prior-knowledge -H @%s", hfile);
    curl(&s, opts, "/echo/a", out2, sizeof out2);
    unlink(hfile);
    ASSERT_TRUE(strncmp(out1, "HTTP/1.1 431", 12) == 0);
    ASSERT_TRUE(strncmp(out2, "HTTP/2 431", 10) == 0);
    expect_date(out1);
    expect_date(out2);
    ASSERT_EQ_INT(stop(&s), 0);
}

/* A head with a Host field and nfields - 1 more. */
static int fields_head(char *req, size_t cap, const char *first, int nfields)
{
    int n = snprintf(req, cap, "%sHost: a\r\n", first);
    for (int i = 0; i < nfields - 1; i++)
        n += snprintf(req + n, cap - (size_t)n, "X-F%d: v\r\n", i);
    n += snprintf(req + n, cap - (size_t)n, "\r\n");
    return n;
}

/* The status line of the first response to one raw request. */
static void status_line(const struct srv *s, const char *target, char *line, size_t cap)
{
    char req[512];
    static char out[65536];
    bool closed;
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                     target);
    raw(s, req, (size_t)n, out, sizeof out, &closed);
    size_t len = strcspn(out, "\r");
    snprintf(line, cap, "%.*s", (int)len, out);
}

TEST(trigger_http, status_lines_carry_the_reason_phrase_of_their_status)
{
    /* The deadline's 504 from a server of its own: a 300 ms deadline is no
     * bound for the other requests to keep on a loaded machine. */
    struct srv s = start("--timeout 300");
    char line[256];
    status_line(&s, "/loop", line, sizeof line);
    ASSERT_EQ_STR(line, "HTTP/1.1 504 Gateway Timeout");
    ASSERT_EQ_INT(stop(&s), 0);
    s = start("--max-body 1000");
    status_line(&s, "/users/1", line, sizeof line);
    ASSERT_EQ_STR(line, "HTTP/1.1 200 OK");
    status_line(&s, "/.well-known/spin/health", line, sizeof line);
    ASSERT_EQ_STR(line, "HTTP/1.1 200 OK");
    status_line(&s, "/nothing/here", line, sizeof line);
    ASSERT_EQ_STR(line, "HTTP/1.1 404 Not Found");
    status_line(&s, "/static", line, sizeof line);
    ASSERT_EQ_STR(line, "HTTP/1.1 201 Created");
    status_line(&s, "/fail", line, sizeof line);
    ASSERT_EQ_STR(line, "HTTP/1.1 500 Internal Server Error");
    /* Statuses an executor chooses (a WAGI guest's Status: takes this path). */
    status_line(&s, "/status/413", line, sizeof line);
    ASSERT_EQ_STR(line, "HTTP/1.1 413 Content Too Large");
    status_line(&s, "/status/302", line, sizeof line);
    ASSERT_EQ_STR(line, "HTTP/1.1 302 Found");
    status_line(&s, "/status/418", line, sizeof line); /* "(Unused)" in RFC 9110 */
    ASSERT_EQ_STR(line, "HTTP/1.1 418 Client Error");
    status_line(&s, "/status/299", line, sizeof line);
    ASSERT_EQ_STR(line, "HTTP/1.1 299 Successful");
    status_line(&s, "/status/599", line, sizeof line);
    ASSERT_EQ_STR(line, "HTTP/1.1 599 Server Error");
    /* h2o answers a declared body over the limit itself, with its own
     * (RFC 7231) phrase. */
    static char out[65536];
    bool closed;
    const char big[] = "POST /echo/ HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n";
    raw(&s, big, sizeof big - 1, out, sizeof out, &closed);
    ASSERT_TRUE(strstr(out, "HTTP/1.1 413 Request Entity Too Large\r\n") == out);
    /* Rejections of our own, before h2o and after it. */
    char req[16384];
    int n = fields_head(req, sizeof req, "GET /echo/ HTTP/1.1\r\n", 101);
    raw(&s, req, (size_t)n, out, sizeof out, &closed);
    ASSERT_TRUE(strstr(out, "HTTP/1.1 431 Request Header Fields Too Large\r\n") == out);
    const char folded[] = "GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n"
                          "GET /echo/ HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n";
    raw(&s, folded, sizeof folded - 1, out, sizeof out, &closed);
    ASSERT_TRUE(strstr(out, "HTTP/1.1 400 Bad Request\r\n") != NULL);
    ASSERT_EQ_INT(stop(&s), 0);
}

TEST(trigger_http, h2c_with_prior_knowledge)
{
    need("curl");
    struct srv s = start("");
    char out[16384];
    curl(&s, "--http2-prior-knowledge", "/users/7", out, sizeof out);
    ASSERT_TRUE(strstr(out, "spin-path-match-id: 7\n") != NULL);
    ASSERT_EQ_STR(last_line(out), "200 2");
    curl(&s, "--http2-prior-knowledge", "/chunks?n=4", out, sizeof out);
    ASSERT_EQ_STR(out, "chunk-0\nchunk-1\nchunk-2\nchunk-3\n\n200 2");
    ASSERT_EQ_INT(stop(&s), 0);
}

/* An `Upgrade: h2c` request is served as the HTTP/1.1 request it is, first
 * on a connection or not (docs/http.md, "h2c"): no 101, the connection
 * stays HTTP/1.1 and keeps serving, and its head was checked like any
 * other (the bad second head below is refused). */
TEST(trigger_http, upgrade_h2c_is_ignored_first_or_later)
{
    struct srv s = start("");
    static char out[65536];
    bool closed;
    const char upgrade[] = "GET /users/%d HTTP/1.1\r\nHost: a\r\n"
                           "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                           "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n";
    char req[1024];
    int n = snprintf(req, sizeof req, upgrade, 1);
    n += snprintf(req + n, sizeof req - (size_t)n, upgrade, 2);
    n += snprintf(req + n, sizeof req - (size_t)n,
                  "GET /users/3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    raw(&s, req, (size_t)n, out, sizeof out, &closed);
    ASSERT_TRUE(closed);
    ASSERT_TRUE(strstr(out, " 101 ") == NULL);
    const char *a = strstr(out, "spin-path-match-id: 1\n");
    const char *b = strstr(out, "spin-path-match-id: 2\n");
    const char *c = strstr(out, "spin-path-match-id: 3\n");
    ASSERT_TRUE(a != NULL && b != NULL && c != NULL && a < b && b < c);
    int ok = 0;
    for (const char *p = out; (p = strstr(p, "HTTP/1.1 200 OK\r\n")) != NULL; p++)
        ok++;
    ASSERT_EQ_INT(ok, 3);
    /* A later upgrade request with bad framing is refused, not switched. */
    n = snprintf(req, sizeof req, upgrade, 1);
    n += snprintf(req + n, sizeof req - (size_t)n,
                  "POST /echo/ HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                  "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
                  "Content-Length: 3\r\nContent-Length: 5\r\n\r\nabcde");
    raw(&s, req, (size_t)n, out, sizeof out, &closed);
    ASSERT_TRUE(closed);
    ASSERT_EQ_INT(status_of(out), 200);
    const char *second = strstr(out + 1, "HTTP/1.1 ");
    ASSERT_NOT_NULL(second);
    ASSERT_EQ_INT(status_of(second), 400);
    ASSERT_EQ_INT(stop(&s), 0);
}

/* The h2c preface starts HTTP/2 only as a connection's first bytes; after a
 * request it is a malformed HTTP/1.1 request (400, closed). */
TEST(trigger_http, h2c_preface_after_a_first_request_is_400)
{
    struct srv s = start("");
    static char out[65536];
    bool closed;
    const char req[] = "GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n"
                       "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    raw(&s, req, sizeof req - 1, out, sizeof out, &closed);
    ASSERT_TRUE(closed);
    ASSERT_EQ_INT(status_of(out), 200);
    const char *second = strstr(out + 1, "HTTP/1.1 ");
    ASSERT_NOT_NULL(second);
    ASSERT_EQ_INT(status_of(second), 400);
    ASSERT_EQ_INT(stop(&s), 0);
}

TEST(trigger_http, h2_over_tls_by_alpn)
{
    need("curl");
    need("openssl");
    const char *dir = test_tmpdir();
    char cmd[4096], out[16384];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
             "-keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1",
             dir, dir);
    ASSERT_EQ_INT(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "--tls-cert %s/cert.pem --tls-key %s/key.pem", dir, dir);
    struct srv s = start(cmd);
    snprintf(cmd, sizeof cmd,
             "curl -s --max-time 20 -k --http2 -w '\\n%%{http_code} %%{http_version}' "
             "https://127.0.0.1:%d/users/9",
             s.port);
    run(cmd, out, sizeof out);
    ASSERT_TRUE(strstr(out, "spin-path-match-id: 9\n") != NULL);
    char want[128];
    snprintf(want, sizeof want, "spin-full-url: https://127.0.0.1:%d/users/9\n", s.port);
    ASSERT_TRUE(strstr(out, want) != NULL);
    ASSERT_EQ_STR(last_line(out), "200 2");
    snprintf(cmd, sizeof cmd,
             "curl -s --max-time 20 -k --http1.1 -w '\\n%%{http_code} %%{http_version}' "
             "https://127.0.0.1:%d/.well-known/spin/health",
             s.port);
    run(cmd, out, sizeof out);
    ASSERT_EQ_STR(out, "OK\n200 1.1");
    ASSERT_EQ_INT(stop(&s), 0);
}

TEST(trigger_http, keep_alive_and_pipelining)
{
    struct srv s = start("");
    char out[65536];
    bool closed;
    const char req[] = "GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n"
                       "GET /.well-known/spin/health HTTP/1.1\r\nHost: a\r\n\r\n"
                       "GET /users/3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    raw(&s, req, sizeof req - 1, out, sizeof out, &closed);
    ASSERT_TRUE(closed);
    const char *a = strstr(out, "spin-path-match-id: 1\n");
    const char *b = strstr(out, "\r\n\r\nOK");
    const char *c = strstr(out, "spin-path-match-id: 3\n");
    ASSERT_TRUE(a != NULL && b != NULL && c != NULL);
    ASSERT_TRUE(a < b && b < c); /* in order, on one connection */
    ASSERT_EQ_INT(stop(&s), 0);
}

TEST(trigger_http, heads_after_chunked_and_sized_bodies_pass_the_head_check)
{
    /* The handler finds each later head at the start of h2o's buffer, also
     * after a chunked body (decoded in place, with a trailer) and after
     * 100-continue (docs/http.md, "Request framing"). */
    struct srv s = start("");
    static char out[65536];
    bool closed;
    const char req[] = "POST /echo/a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n"
                       "POST /echo/b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                       "Expect: 100-continue\r\n\r\nabc"
                       "GET /echo/c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    raw(&s, req, sizeof req - 1, out, sizeof out, &closed);
    ASSERT_TRUE(closed);
    const char *a = strstr(out, "target=/echo/a\n");
    const char *b = strstr(out, "target=/echo/b\n");
    const char *c = strstr(out, "target=/echo/c\n");
    ASSERT_TRUE(a != NULL && b != NULL && c != NULL && a < b && b < c);
    ASSERT_TRUE(strstr(a, "body=hello") != NULL && strstr(b, "body=abc") != NULL);
    int ok = 0;
    for (const char *p = out; (p = strstr(p, "HTTP/1.1 200 OK\r\n")) != NULL; p++)
        ok++;
    ASSERT_EQ_INT(ok, 3);
    ASSERT_EQ_INT(stop(&s), 0);
}

TEST(trigger_http, chunked_request_and_response)
{
    struct srv s = start("");
    char out[65536];
    bool closed;
    const char req[] = "POST /echo/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                       "Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    raw(&s, req, sizeof req - 1, out, sizeof out, &closed);
    ASSERT_EQ_INT(status_of(out), 200);
    ASSERT_TRUE(strstr(out, "body=hello world") != NULL);
    const char req2[] = "GET /chunks?n=2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    raw(&s, req2, sizeof req2 - 1, out, sizeof out, &closed);
    ASSERT_EQ_INT(status_of(out), 200);
    ASSERT_TRUE(strcasestr(out, "transfer-encoding: chunked\r\n") != NULL);
    /* Each write is usually its own chunk ("8\r\nchunk-0\n\r\n"), but a loop
     * delayed past the executor's 2 ms pause sends both writes as one
     * (seen under ASan on a loaded machine): check the bytes, not the
     * framing of each write. */
    const char *c0 = strstr(out, "chunk-0\n"), *c1 = strstr(out, "chunk-1\n");
    ASSERT_TRUE(c0 != NULL && c1 != NULL && c0 < c1);
    ASSERT_TRUE(strstr(c1, "\r\n0\r\n\r\n") != NULL);
    ASSERT_EQ_INT(stop(&s), 0);
}

/* Regression (clang's UBSan, make ubsan): an HTTP/1 response started
 * without a header field left the head's field buffer unallocated, and
 * its copy into h2o added the length to the NULL data (the first
 * response); a chunked one finished without trailers did the same with
 * the trailers' buffer when framing the last chunk (the second, which has
 * a field so that only this path meets an empty buffer). */
TEST(trigger_http, http1_response_without_header_fields_nor_trailers)
{
    struct srv s = start("");
    char out[65536];
    bool closed;
    const char req[] = "GET /status/201 HTTP/1.1\r\nHost: a\r\n\r\n"
                       "GET /chunks?n=1&field=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    raw(&s, req, sizeof req - 1, out, sizeof out, &closed);
    ASSERT_TRUE(closed);
    ASSERT_EQ_INT(status_of(out), 201);
    const char *second = strstr(out + 1, "HTTP/1.1 200");
    ASSERT_NOT_NULL(second);
    const char *length = strcasestr(out, "content-length: 0\r\n");
    ASSERT_TRUE(length != NULL && length < second);
    ASSERT_TRUE(strcasestr(second, "transfer-encoding: chunked\r\n") != NULL);
    ASSERT_TRUE(strcasestr(second, "x-chunked: yes\r\n") != NULL);
    /* The one chunk, then the last chunk and no trailer field. */
    ASSERT_TRUE(strstr(second, "\r\n\r\n8\r\nchunk-0\n\r\n0\r\n\r\n") != NULL);
    ASSERT_EQ_INT(stop(&s), 0);
}

TEST(trigger_http, response_trailers_follow_the_last_chunk)
{
    need("curl");
    struct srv s = start("");
    char out[65536];
    bool closed;
    /* Two requests on one connection: the first's trailers end its
     * response cleanly, so the second is answered on the same connection. */
    const char req[] = "GET /chunks?n=2&trailers=1 HTTP/1.1\r\nHost: a\r\n\r\n"
                       "GET /chunks?n=1&trailers=1&status=404 HTTP/1.1\r\nHost: a\r\n"
                       "Connection: close\r\n\r\n";
    raw(&s, req, sizeof req - 1, out, sizeof out, &closed);
    ASSERT_EQ_INT(status_of(out), 200);
    ASSERT_TRUE(strcasestr(out, "transfer-encoding: chunked\r\n") != NULL);
    const char *end1 = strstr(out, "chunk-1\n\r\n0\r\nx-chunks: 2\r\nx-end: yes\r\n\r\n");
    ASSERT_NOT_NULL(end1);
    const char *second = strstr(end1, "HTTP/1.1 404");
    ASSERT_NOT_NULL(second);
    ASSERT_TRUE(strcasestr(second, "transfer-encoding: chunked\r\n") != NULL);
    ASSERT_TRUE(strstr(second, "chunk-0\n\r\n0\r\nx-chunks: 1\r\nx-end: yes\r\n\r\n") != NULL);
    ASSERT_TRUE(closed);
    /* curl parses them as trailers: its header dump has them after the
     * head's empty line. */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "curl -s -D - -o /dev/null --max-time 20 'http://127.0.0.1:%d/chunks?n=3&trailers=1'",
             s.port);
    run(cmd, out, sizeof out);
    const char *blank = strstr(out, "\r\n\r\n");
    ASSERT_NOT_NULL(blank);
    ASSERT_EQ_STR(blank + 4, "x-chunks: 3\r\nx-end: yes\r\n");
    /* HTTP/1.0 has no chunks: the body arrives whole and the trailers are
     * dropped. */
    const char req10[] = "GET /chunks?n=2&trailers=1 HTTP/1.0\r\nHost: a\r\n\r\n";
    raw(&s, req10, sizeof req10 - 1, out, sizeof out, &closed);
    ASSERT_TRUE(strstr(out, "chunk-0\nchunk-1\n") != NULL || strstr(out, "chunk-1\n") != NULL);
    ASSERT_TRUE(strstr(out, "x-chunks") == NULL && closed);
    /* HTTP/2: a HEADERS frame after the last DATA, which curl reports as
     * trailers too; the body is unchanged. */
    curl(&s, "--http2-prior-knowledge", "/chunks?n=2&trailers=1", out, sizeof out);
    ASSERT_EQ_STR(out, "chunk-0\nchunk-1\n\n200 2");
    snprintf(cmd, sizeof cmd,
             "curl -s -D - -o /dev/null --max-time 20 --http2-prior-knowledge "
             "'http://127.0.0.1:%d/chunks?n=3&trailers=1'",
             s.port);
    run(cmd, out, sizeof out);
    ASSERT_TRUE(strncmp(out, "HTTP/2 200", 10) == 0);
    blank = strstr(out, "\r\n\r\n");
    ASSERT_NOT_NULL(blank);
    ASSERT_EQ_STR(blank + 4, "x-chunks: 3\r\nx-end: yes\r\n");
    /* The trailing HEADERS frame ends the stream: a client of its own. */
    struct h2c c;
    h2c_open(&c, s.port);
    int i = h2c_request(&c, "GET", "/chunks?n=2&trailers=1&status=404", NULL, NULL, 0, 0, NULL);
    int k = h2c_request(&c, "GET", "/chunks?n=1", NULL, NULL, 0, 0, NULL);
    ASSERT_TRUE(h2c_run(&c, h2c_all_closed, NULL, 5000));
    ASSERT_EQ_INT(c.streams[i].status, 404);
    ASSERT_EQ_STR(c.streams[i].body, "chunk-0\nchunk-1\n");
    ASSERT_EQ_STR(c.streams[i].trailers, "x-chunks: 2\nx-end: yes\n");
    ASSERT_EQ_INT((int)c.streams[i].error, 0);
    ASSERT_EQ_STR(c.streams[k].trailers, ""); /* none asked for: none sent */
    ASSERT_EQ_STR(c.streams[k].body, "chunk-0\n");
    h2c_close(&c);
    ASSERT_EQ_INT(stop(&s), 0);
}

/* A chunked request with trailer section `trailers` to /stream/x. */
static void post_with_trailers(const struct srv *s, const char *trailers, char *out, size_t cap)
{
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "POST /stream/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                     "Connection: close\r\n\r\n5\r\nhello\r\n0\r\n%s\r\n",
                     trailers);
    bool closed;
    raw(s, req, (size_t)n, out, cap, &closed);
}

TEST(trigger_http, request_trailers_reach_the_executor)
{
    struct srv s = start("");
    char out[65536];
    post_with_trailers(&s, "X-Sig: abc \r\nx-two:2\r\nEmpty:\r\n", out, sizeof out);
    ASSERT_EQ_INT(status_of(out), 200);
    /* Names lower case, values without the whitespace around them. */
    ASSERT_TRUE(strstr(out, "len=5 ") != NULL);
    ASSERT_TRUE(strstr(out, " x-sig=abc x-two=2 empty=\r\n") != NULL);
    /* ...and the executor's echo of them as response trailers. */
    ASSERT_TRUE(strstr(out, "\r\n0\r\necho-x-sig: abc\r\necho-x-two: 2\r\necho-empty: \r\n\r\n") !=
                NULL);
    /* None: the executor sees none. */
    post_with_trailers(&s, "", out, sizeof out);
    ASSERT_EQ_INT(status_of(out), 200);
    ASSERT_TRUE(strstr(out, "reads=1\r\n0\r\n\r\n") != NULL);
    /* Trailer fields follow the rules of header fields: 400 otherwise. */
    const char *bad[] = {"bad name: v\r\n", "x: v\r\n folded\r\n", "no-colon\r\n",
                         ": empty name\r\n", "x: a\001b\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        post_with_trailers(&s, bad[i], out, sizeof out);
        ASSERT_EQ_INT(status_of(out), 400);
    }
    /* 64 KiB of trailer field lines at most. */
    size_t big = 70 * 1024;
    char *t = malloc(big + 16);
    ASSERT_NOT_NULL(t);
    memcpy(t, "x-big: ", 7);
    memset(t + 7, 'a', big);
    memcpy(t + 7 + big, "\r\n", 3);
    char *req = malloc(big + 512);
    ASSERT_NOT_NULL(req);
    int n = snprintf(req, big + 512,
                     "POST /stream/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                     "Connection: close\r\n\r\n5\r\nhello\r\n0\r\n%s\r\n",
                     t);
    bool closed;
    raw(&s, req, (size_t)n, out, sizeof out, &closed);
    ASSERT_EQ_INT(status_of(out), 400);
    free(req);
    free(t);
    ASSERT_EQ_INT(stop(&s), 0);
}

/* An HTTP/2 frame header + payload appended at *n. */
static void h2_frame(uint8_t *buf, size_t *n, uint8_t type, uint8_t flags, uint32_t stream,
                     const void *payload, size_t len)
{
    uint8_t *p = buf + *n;
    p[0] = (uint8_t)(len >> 16), p[1] = (uint8_t)(len >> 8), p[2] = (uint8_t)len;
    p[3] = type, p[4] = flags;
    p[5] = (uint8_t)(stream >> 24), p[6] = (uint8_t)(stream >> 16), p[7] = (uint8_t)(stream >> 8);
    p[8] = (uint8_t)stream;
    memcpy(p + 9, payload, len);
    *n += 9 + len;
}

/* An HPACK "literal without indexing, new name" field (names and values
 * under 127 bytes, no Huffman). */
static void hpack_field(uint8_t *buf, size_t *n, const char *name, const char *value)
{
    buf[(*n)++] = 0;
    buf[(*n)++] = (uint8_t)strlen(name);
    memcpy(buf + *n, name, strlen(name));
    *n += strlen(name);
    buf[(*n)++] = (uint8_t)strlen(value);
    memcpy(buf + *n, value, strlen(value));
    *n += strlen(value);
}

/* The trailing HEADERS frame of an HTTP/2 request carries its trailers:
 * a streaming executor gets them from request_trailers after the body's
 * end (and echoes them as response trailers); they are not header fields
 * (raw frames, as a client would write them, no library in between). */
TEST(trigger_http, h2_request_trailers_reach_the_executor)
{
    struct srv s = start("");
    uint8_t out[4096], block[512];
    size_t n = 0, b = 0;
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    memcpy(out, preface, sizeof preface - 1);
    n = sizeof preface - 1;
    h2_frame(out, &n, 4, 0, 0, "", 0); /* SETTINGS */
    for (uint32_t id = 1; id <= 3; id += 2) {
        b = 0;
        hpack_field(block, &b, ":method", "POST");
        hpack_field(block, &b, ":scheme", "http");
        hpack_field(block, &b, ":path", id == 1 ? "/stream/x" : "/echo/h2");
        hpack_field(block, &b, ":authority", "a");
        h2_frame(out, &n, 1, 0x4, id, block, b); /* HEADERS, END_HEADERS */
        h2_frame(out, &n, 0, 0, id, "hello", 5); /* DATA */
        b = 0;
        hpack_field(block, &b, "x-trail", "late");
        hpack_field(block, &b, "x-two", "2");
        h2_frame(out, &n, 1, 0x5, id, block, b); /* HEADERS, END_STREAM | END_HEADERS */
    }
    int fd = connect_to(&s);
    send_all(fd, out, n);
    /* The responses' DATA frames on streams 1 and 3 until both ended. */
    static uint8_t in[65536];
    char body[2][8192];
    size_t have = 0, bl[2] = {0, 0};
    int ended = 0;
    while (ended < 2) {
        ssize_t k = recv(fd, in + have, sizeof in - have, 0);
        ASSERT_GT_INT((int)k, 0);
        have += (size_t)k;
        size_t at = 0;
        while (have - at >= 9) {
            size_t len = (size_t)in[at] << 16 | (size_t)in[at + 1] << 8 | in[at + 2];
            if (have - at < 9 + len)
                break;
            uint32_t stream = ((uint32_t)in[at + 5] << 24 | (uint32_t)in[at + 6] << 16 |
                               (uint32_t)in[at + 7] << 8 | in[at + 8]) &
                              0x7fffffffu;
            int which = stream == 1 ? 0 : 1;
            if (in[at + 3] == 0 && (stream == 1 || stream == 3)) { /* DATA */
                ASSERT_TRUE(bl[which] + len < sizeof body[0]);
                memcpy(body[which] + bl[which], in + at + 9, len);
                bl[which] += len;
            }
            if ((in[at + 3] == 0 || in[at + 3] == 1) && (stream == 1 || stream == 3) &&
                (in[at + 4] & 1) != 0)
                ended++;                  /* END_STREAM, on DATA or the trailers' HEADERS */
            ASSERT_TRUE(in[at + 3] != 3); /* no RST_STREAM */
            at += 9 + len;
        }
        memmove(in, in + at, have - at);
        have -= at;
    }
    close(fd);
    body[0][bl[0]] = body[1][bl[1]] = '\0';
    ASSERT_TRUE(strstr(body[0], "len=5 ") != NULL);
    ASSERT_TRUE(strstr(body[0], " x-trail=late x-two=2") != NULL);
    /* The executor that takes its body whole: the trailers are not among
     * its header fields. */
    ASSERT_TRUE(strstr(body[1], "path=/echo/h2\n") != NULL);
    ASSERT_TRUE(strstr(body[1], "body=hello") != NULL);
    ASSERT_TRUE(strstr(body[1], "x-trail") == NULL);
    /* The same through a client library, with the echo as response
     * trailers. */
    struct h2c c;
    h2c_open(&c, s.port);
    static const char *const trailers[] = {"x-sig", "abc", NULL};
    int i = h2c_request(&c, "POST", "/stream/y", NULL, (const uint8_t *)"hello", 5, 5, trailers);
    ASSERT_TRUE(h2c_run(&c, h2c_all_closed, NULL, 5000));
    ASSERT_EQ_INT(c.streams[i].status, 200);
    ASSERT_TRUE(strstr(c.streams[i].body, " x-sig=abc") != NULL);
    ASSERT_EQ_STR(c.streams[i].trailers, "echo-x-sig: abc\n");
    h2c_close(&c);
    ASSERT_EQ_INT(stop(&s), 0);
}

TEST(trigger_http, response_broken_off_is_incomplete_to_the_client)
{
    need("curl");
    struct srv s = start("");
    char out[65536];
    bool closed;
    /* HTTP/1.1: the connection closes with no last chunk. */
    const char req[] = "GET /chunks?n=2&abort=1 HTTP/1.1\r\nHost: a\r\n\r\n";
    raw(&s, req, sizeof req - 1, out, sizeof out, &closed);
    ASSERT_EQ_INT(status_of(out), 200);
    ASSERT_TRUE(closed);
    ASSERT_TRUE(strstr(out, "chunk-1\n") != NULL);
    ASSERT_TRUE(strstr(out, "\r\n0\r\n\r\n") == NULL);
    /* curl says so: 18, a transfer closed with data outstanding. */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null --max-time 20 'http://127.0.0.1:%d/chunks?n=2&abort=1'; "
             "echo rc=$?",
             s.port);
    run(cmd, out, sizeof out);
    ASSERT_EQ_STR(out, "rc=18\n");
    /* HTTP/2: the stream is reset (RST_STREAM), which curl reports as an
     * HTTP/2 stream error (92), where a clean end is 0. */
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null --max-time 20 --http2-prior-knowledge "
             "'http://127.0.0.1:%d/chunks?n=2&abort=1'; echo rc=$?; "
             "curl -s -o /dev/null --max-time 20 --http2-prior-knowledge "
             "'http://127.0.0.1:%d/chunks?n=2'; echo rc=$?",
             s.port, s.port);
    run(cmd, out, sizeof out);
    ASSERT_EQ_STR(out, "rc=92\nrc=0\n");
    ASSERT_EQ_INT(stop(&s), 0);
}

/* ---- waiting for the server, not for the clock ------------------------
 * CI runs on a shared 2-core VM: under load a fixed sleep promises nothing
 * (a curl started in the background may not even have connected). These
 * wait for what can be seen instead (an answer, the executor's event, a
 * refused connection) with a deadline no scheduling delay comes near
 * (PATIENCE_MS). */

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* recv_until, waiting up to PATIENCE_MS for each read. */
static bool await_text(int fd, char *out, size_t cap, size_t *n, const char *needle)
{
    struct timeval tv = {PATIENCE_MS / 1000, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return recv_until(fd, out, cap, n, needle);
}

/* Reads one response with a Content-Length (head and body) into out;
 * returns its status, or 0 when it did not come whole. */
static int await_response(int fd, char *out, size_t cap)
{
    size_t n = 0;
    if (!await_text(fd, out, cap, &n, "\r\n\r\n"))
        return 0;
    const char *end = strstr(out, "\r\n\r\n") + 4;
    const char *cl = strcasestr(out, "\r\ncontent-length:");
    if (cl == NULL || cl > end)
        return 0;
    size_t want = (size_t)(end - out) + strtoul(cl + 17, NULL, 10);
    while (n < want && n < cap - 1) {
        ssize_t r = recv(fd, out + n, cap - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    out[n] = '\0';
    return n == want ? status_of(out) : 0;
}

static void send_text(int fd, const char *text)
{
    send_all(fd, text, strlen(text));
}

/* Whether fd has bytes to read (or was closed) right now. */
static bool readable_now(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1;
}

/* Waits until the events file of http_test_server --events has `line`. */
static void await_event(const char *path, const char *line)
{
    char text[65536] = "";
    for (int waited = 0; waited <= PATIENCE_MS; waited += 5) {
        FILE *f = fopen(path, "r");
        size_t n = f != NULL ? fread(text, 1, sizeof text - 1, f) : 0;
        if (f != NULL)
            fclose(f);
        text[n] = '\0';
        for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
            if ((p == text || p[-1] == '\n') && p[strlen(line)] == '\n')
                return;
        pause_ms(5);
    }
    test_fail_str(__FILE__, __LINE__, "events", "line", text, line);
}

/* Starts curl on `path` in the background; await_curl gives its
 * -w '%{http_code}' once it has finished. */
static FILE *start_curl(const struct srv *s, const char *path)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null --max-time 20 -w '%%{http_code}' 'http://127.0.0.1:%d%s'",
             s->port, path);
    FILE *p = popen(cmd, "r");
    ASSERT_NOT_NULL(p);
    return p;
}

static const char *await_curl(FILE *p)
{
    static char code[64];
    size_t n = fread(code, 1, sizeof code - 1, p);
    code[n] = '\0';
    pclose(p);
    return code;
}

/* 50 requests to /users/N on one connection (one curl: each URL needs its
 * own -o) all answered 200. */
static void expect_50_answered(const struct srv *s)
{
    char cmd[8192], out[16384];
    int n = snprintf(cmd, sizeof cmd, "curl -s --max-time 20 -w '%%{http_code}\\n'");
    for (int i = 0; i < 50; i++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " -o /dev/null http://127.0.0.1:%d/users/%d",
                      s->port, i);
    run(cmd, out, sizeof out);
    int ok = 0;
    for (const char *p = out; (p = strstr(p, "200\n")) != NULL; p += 4)
        ok++;
    if (ok != 50)
        fprintf(stderr, "codes:\n%s", out);
    ASSERT_EQ_INT(ok, 50);
}

/* A looping handler holds one worker (the test waits until it runs there)
 * while 50 other requests are answered by the other; it gets 504 at its
 * deadline. */
TEST(trigger_http, looping_guest_gets_504_while_others_succeed)
{
    need("curl");
    char args[4200], events[4096];
    snprintf(events, sizeof events, "%s/events", test_tmpdir());
    snprintf(args, sizeof args, "--workers 2 --timeout 1500 --events %s", events);
    struct srv s = start(args);
    FILE *loop = start_curl(&s, "/loop");
    await_event(events, "begin loop spec=0");
    expect_50_answered(&s);
    ASSERT_EQ_STR(await_curl(loop), "504");
    ASSERT_EQ_INT(stop(&s), 0); /* the loop was interrupted: nothing left to drain */
}

/* A speculating executor answers quick requests from the loop, and what it
 * defers (here: blocking handlers) still runs on a worker. */
TEST(trigger_http, speculative_requests_answer_from_the_loop_and_deferred_ones_from_workers)
{
    need("curl");
    struct srv s = start("--speculate 1");
    char out[16384];
    curl(&s, "", "/echo/a?b=c", out, sizeof out);
    ASSERT_TRUE(strstr(out, "target=/echo/a?b=c\n") != NULL);
    ASSERT_TRUE(strstr(out, "speculative=1\n") != NULL);
    ASSERT_EQ_STR(last_line(out), "200 1.1");
    curl(&s, "", "/sleep?ms=20", out, sizeof out);
    ASSERT_TRUE(strncmp(out, "slept", 5) == 0);
    curl(&s, "", "/chunks?n=3", out, sizeof out);
    ASSERT_TRUE(strncmp(out, "chunk-0\nchunk-1\nchunk-2\n", 24) == 0);
    curl(&s, "", "/fail", out, sizeof out);
    ASSERT_EQ_STR(last_line(out), "500 1.1");
    ASSERT_EQ_INT(stop(&s), 0);

    s = start(""); /* without speculation, everything runs on workers */
    curl(&s, "", "/echo/a", out, sizeof out);
    ASSERT_TRUE(strstr(out, "speculative=0\n") != NULL);
    ASSERT_EQ_INT(stop(&s), 0);
}

/* A handler that loops on the only loop is interrupted by the budget and
 * deferred to a worker (where it loops until the deadline's 504), and the
 * loop goes on answering everyone else meanwhile. */
TEST(trigger_http, looping_speculative_handler_is_deferred_and_holds_nobody_up)
{
    need("curl");
    char args[4200], events[4096];
    snprintf(events, sizeof events, "%s/events", test_tmpdir());
    snprintf(args, sizeof args, "--speculate 1 --loops 1 --workers 2 --timeout 1500 --events %s",
             events);
    struct srv s = start(args);
    FILE *loop = start_curl(&s, "/loop");
    await_event(events, "begin loop spec=1");
    await_event(events, "begin loop spec=0"); /* deferred: now on a worker */
    expect_50_answered(&s);
    ASSERT_EQ_STR(await_curl(loop), "504");
    ASSERT_EQ_INT(stop(&s), 0);
}

TEST(trigger_http, trap_answers_500)
{
    need("curl");
    struct srv s = start("");
    char out[4096];
    curl(&s, "", "/fail", out, sizeof out);
    ASSERT_EQ_STR(last_line(out), "500 1.1");
    curl(&s, "", "/status/418", out, sizeof out);
    ASSERT_EQ_STR(last_line(out), "418 1.1");
    ASSERT_EQ_INT(stop(&s), 0);
}

/* A request on fd whose executor holds the only worker until the test
 * lets it finish: /stream answers "first=1" once it has read the first of
 * the body's two bytes, then waits for the second (hold_release). */
static void hold_worker(int fd, const char *name)
{
    char head[256], out[4096];
    int len = snprintf(head, sizeof head,
                       "POST /stream/%s?progress=1&piece=1 HTTP/1.1\r\nHost: a\r\n"
                       "Content-Length: 2\r\n\r\nx",
                       name);
    send_all(fd, head, (size_t)len);
    size_t n = 0;
    ASSERT_TRUE(await_text(fd, out, sizeof out, &n, "first=1\n")); /* running on a worker */
    ASSERT_EQ_INT(status_of(out), 200);
}

static void hold_release(int fd)
{
    char out[4096];
    size_t n = 0;
    send_all(fd, "y", 1);
    ASSERT_TRUE(await_text(fd, out, sizeof out, &n, "\r\n0\r\n\r\n")); /* the last chunk */
    ASSERT_TRUE(strstr(out, "len=2 ") != NULL && strstr(out, " reads=2") != NULL);
}

/* The 503 of a full queue (docs/http.md, "Limits"): at once, with the
 * registered reason phrase, a date, and a body saying why; the connection
 * stays open. */
static void expect_queue_full(const char *response)
{
    ASSERT_TRUE(strncmp(response, "HTTP/1.1 503 Service Unavailable\r\n", 34) == 0);
    char date[128];
    head_field(response, "date", date, sizeof date);
    ASSERT_TRUE(date[0] != '\0');
    head_field(response, "connection", date, sizeof date);
    ASSERT_TRUE(strcasecmp(date, "close") != 0);
    ASSERT_TRUE(strstr(strstr(response, "\r\n\r\n"), "request queue full") != NULL);
}

/* One worker and a queue of one: with the worker held (until the test lets
 * its request finish, so no timing is involved), of two more requests one
 * waits in the queue and the other is answered 503 at once; the waiting one
 * is answered once the worker is free. */
TEST(trigger_http, requests_queue_then_503_when_the_queue_is_full)
{
    struct srv s = start("--workers 1 --queue 1");
    int held = connect_to(&s);
    hold_worker(held, "a");
    /* Which of the two is refused depends on which the server reads first. */
    int fd[2] = {connect_to(&s), connect_to(&s)};
    send_text(fd[0], "GET /users/0 HTTP/1.1\r\nHost: a\r\n\r\n");
    send_text(fd[1], "GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n");
    struct pollfd p[2] = {{fd[0], POLLIN, 0}, {fd[1], POLLIN, 0}};
    ASSERT_EQ_INT(poll(p, 2, PATIENCE_MS), 1); /* one answer; the other one waits */
    int refused = (p[1].revents & POLLIN) != 0, queued = 1 - refused;
    static char out[1 << 16];
    ASSERT_EQ_INT(await_response(fd[refused], out, sizeof out), 503);
    expect_queue_full(out);
    /* The queue is still full (the worker is still held): refused again,
     * on the same connection. */
    send_text(fd[refused], "GET /users/2 HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_EQ_INT(await_response(fd[refused], out, sizeof out), 503);
    ASSERT_FALSE(readable_now(fd[queued]));
    /* The worker is let go: the queued request runs and is answered. */
    hold_release(held);
    ASSERT_EQ_INT(await_response(fd[queued], out, sizeof out), 200);
    char want[64];
    snprintf(want, sizeof want, "spin-path-match-id: %d\n", queued);
    ASSERT_TRUE(strstr(out, want) != NULL);
    /* And with the queue empty again, the refused connection is served. */
    send_text(fd[refused], "GET /users/3 HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_EQ_INT(await_response(fd[refused], out, sizeof out), 200);
    close(fd[0]);
    close(fd[1]);
    close(held);
    ASSERT_EQ_INT(stop(&s), 0);
}

static bool first_seen(struct h2c *c, void *arg);

/* The same over HTTP/2 (http2.c has its own dispatch): streams on one
 * connection are dispatched in order, so with the worker held the first of
 * two more streams waits and the second is refused. */
TEST(trigger_http, h2_requests_queue_then_503_when_the_queue_is_full)
{
    struct srv s = start("--workers 1 --queue 1");
    struct h2c c;
    h2c_open(&c, s.port);
    static const uint8_t body[2] = {'x', 'y'};
    int held = h2c_request(&c, "POST", "/stream/a?progress=1&piece=1", NULL, body, 2, 1, NULL);
    ASSERT_TRUE(h2c_run(&c, first_seen, &held, PATIENCE_MS)); /* running on the worker */
    int queued = h2c_request(&c, "GET", "/users/0", NULL, NULL, 0, 0, NULL);
    int refused = h2c_request(&c, "GET", "/users/1", NULL, NULL, 0, 0, NULL);
    ASSERT_TRUE(h2c_run(&c, h2c_closed, &refused, PATIENCE_MS));
    ASSERT_EQ_INT(c.streams[refused].status, 503);
    ASSERT_TRUE(strstr(c.streams[refused].body, "request queue full") != NULL);
    ASSERT_FALSE(c.streams[queued].closed);
    ASSERT_FALSE(c.streams[held].closed);
    h2c_allow(&c, held, 2);
    ASSERT_TRUE(h2c_run(&c, h2c_closed, &queued, PATIENCE_MS));
    ASSERT_EQ_INT(c.streams[held].status, 200);
    ASSERT_TRUE(strstr(c.streams[held].body, "len=2 ") != NULL);
    ASSERT_EQ_INT(c.streams[queued].status, 200);
    ASSERT_TRUE(strstr(c.streams[queued].body, "spin-path-match-id: 0\n") != NULL);
    h2c_close(&c);
    ASSERT_EQ_INT(stop(&s), 0);
}

/* Whether the server refuses connections (its listeners are closed). */
static bool refuses_connections(const struct srv *s)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE_INT(fd, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)s->port);
    a.sin_addr.s_addr = htonl(0x7f000001);
    bool refused = connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno == ECONNREFUSED;
    close(fd);
    return refused;
}

/* Sends SIGTERM and waits until the drain has begun (the listeners are
 * closed); asserts the server is still there, draining. */
static void sigterm_and_await_drain(const struct srv *s)
{
    ASSERT_EQ_INT(kill(s->pid, SIGTERM), 0);
    int waited = 0;
    while (!refuses_connections(s) && waited < PATIENCE_MS) {
        pause_ms(5);
        waited += 5;
    }
    ASSERT_TRUE(refuses_connections(s));
    int st;
    ASSERT_EQ_INT(waitpid(s->pid, &st, WNOHANG), 0);
}

/* SIGTERM with a request in flight (its executor waits for the rest of
 * the body): the server stops listening but serves the request to its end,
 * then exits 0. */
TEST(trigger_http, sigterm_drains_in_flight_requests_and_exits_0)
{
    struct srv s = start("");
    int fd = connect_to(&s);
    hold_worker(fd, "d");
    sigterm_and_await_drain(&s);
    hold_release(fd);
    close(fd);
    int st;
    ASSERT_EQ_INT(waitpid(s.pid, &st, 0), s.pid);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

TEST(trigger_http, listens_on_ipv6_loopback)
{
    need("curl");
    struct srv s = start("--listen [::1]:0");
    char cmd[512], out[4096];
    snprintf(cmd, sizeof cmd, "curl -s -g --max-time 10 'http://[::1]:%d/.well-known/spin/health'",
             s.port);
    if (run(cmd, out, sizeof out) == 7) {
        stop(&s);
        test_skip("no IPv6 loopback here");
    }
    ASSERT_EQ_STR(out, "OK");
    ASSERT_EQ_INT(stop(&s), 0);
}

/* ---- limits and smuggling (raw sockets) ------------------------------- */

static void expect_rejected(const char *req, size_t len, int status, const char *args)
{
    struct srv s = start(args);
    static char out[1 << 20];
    bool closed;
    raw(&s, req, len, out, sizeof out, &closed);
    ASSERT_EQ_INT(status_of(out), status);
    ASSERT_TRUE(closed);
    ASSERT_EQ_INT(stop(&s), 0);
}

static char *repeat(const char *head, char c, size_t n, const char *tail)
{
    size_t hl = strlen(head), tl = strlen(tail);
    char *s = malloc(hl + n + tl + 1);
    memcpy(s, head, hl);
    memset(s + hl, c, n);
    memcpy(s + hl + n, tail, tl + 1);
    return s;
}

TEST(trigger_http, request_line_over_8k_is_414)
{
    char *req = repeat("GET /echo/", 'a', 9000, " HTTP/1.1\r\nHost: a\r\n\r\n");
    expect_rejected(req, strlen(req), 414, "");
    free(req);
}

TEST(trigger_http, single_header_over_8k_is_431)
{
    char *req = repeat("GET /echo/ HTTP/1.1\r\nHost: a\r\nX-Big: ", 'b', 9000, "\r\n\r\n");
    expect_rejected(req, strlen(req), 431, "");
    free(req);
}

TEST(trigger_http, header_block_over_64k_is_431)
{
    char req[128 * 1024];
    int n = snprintf(req, sizeof req, "GET /echo/ HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 10; i++) {
        n += snprintf(req + n, sizeof req - (size_t)n, "X-H%d: ", i);
        memset(req + n, 'v', 7000);
        n += 7000;
        n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    }
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    expect_rejected(req, (size_t)n, 431, "");
}

TEST(trigger_http, more_than_100_fields_is_431)
{
    /* The first head of a connection is checked before h2o's parser,
     * which would answer 400 itself (docs/http.md, "Request framing"). */
    char req[16384];
    int n = fields_head(req, sizeof req, "GET /echo/ HTTP/1.1\r\n", 101);
    expect_rejected(req, (size_t)n, 431, "");
}

TEST(trigger_http, exactly_100_fields_are_accepted)
{
    char req[16384], out[65536];
    int n = snprintf(req, sizeof req, "GET /users/1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n");
    for (int i = 0; i < 98; i++)
        n += snprintf(req + n, sizeof req - (size_t)n, "X-F%d: v\r\n", i);
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    struct srv s = start("");
    bool closed;
    raw(&s, req, (size_t)n, out, sizeof out, &closed);
    ASSERT_EQ_INT(status_of(out), 200);
    ASSERT_EQ_INT(stop(&s), 0);
}

TEST(trigger_http, declared_body_over_limit_is_413_before_reading_it)
{
    /* Only the head is sent: the answer must come without the body. */
    const char req[] = "POST /echo/ HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n";
    expect_rejected(req, sizeof req - 1, 413, "--max-body 1000");
}

TEST(trigger_http, chunked_body_over_limit_is_413)
{
    char *req = repeat("POST /echo/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "7d0\r\n",
                       'x', 2000, "\r\n0\r\n\r\n");
    expect_rejected(req, strlen(req), 413, "--max-body 1000");
    free(req);
}

TEST(trigger_http, obs_fold_is_400_and_closes)
{
    const char req[] = "GET /echo/ HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n";
    expect_rejected(req, sizeof req - 1, 400, "");
}

TEST(trigger_http, bare_cr_is_400_and_closes)
{
    const char req[] = "GET /echo/ HTTP/1.1\r\nHost: a\r\nX-A: one\rtwo\r\n\r\n";
    expect_rejected(req, sizeof req - 1, 400, "");
}

/* Framing h2o 2.2.5 accepts on its own: rejected before h2o sees the
 * connection's first head (http_accept.c), and for every later head in the
 * request handler (http_server.c, check_http1_head). */
TEST(trigger_http, content_length_with_transfer_encoding_is_400)
{
    const char req[] = "POST /echo/ HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    expect_rejected(req, sizeof req - 1, 400, "");
}

TEST(trigger_http, differing_repeated_content_length_is_400)
{
    const char req[] = "POST /echo/ HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                       "Content-Length: 5\r\n\r\nabcde";
    expect_rejected(req, sizeof req - 1, 400, "");
}

TEST(trigger_http, bare_lf_line_ending_is_400)
{
    const char req[] = "GET /echo/ HTTP/1.1\nHost: a\nConnection: close\n\n";
    expect_rejected(req, sizeof req - 1, 400, "");
}

TEST(trigger_http, bare_lf_in_the_request_line_only_is_400)
{
    const char req[] = "GET /echo/ HTTP/1.1\nHost: a\r\nConnection: close\r\n\r\n";
    expect_rejected(req, sizeof req - 1, 400, "");
}

/* A good request, then `bad` on the same connection: the first is answered
 * 200, the second `status`, and the connection is closed. */
static void expect_second_rejected(const char *bad, size_t len, int status)
{
    static char req[1 << 18], out[1 << 20];
    static const char good[] = "GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n";
    ASSERT_TRUE(sizeof good - 1 + len <= sizeof req);
    memcpy(req, good, sizeof good - 1);
    memcpy(req + sizeof good - 1, bad, len);
    struct srv s = start("");
    bool closed;
    raw(&s, req, sizeof good - 1 + len, out, sizeof out, &closed);
    ASSERT_EQ_INT(status_of(out), 200);
    const char *second = strstr(out + 1, "HTTP/1.1 ");
    ASSERT_NOT_NULL(second);
    ASSERT_EQ_INT(status_of(second), status);
    ASSERT_TRUE(strstr(second + 1, "HTTP/1.1 ") == NULL);
    ASSERT_TRUE(closed);
    ASSERT_EQ_INT(stop(&s), 0);
}

TEST(trigger_http, bad_framing_after_a_first_request_is_400_too)
{
    const char te[] = "POST /echo/ HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    expect_second_rejected(te, sizeof te - 1, 400);
    const char cl[] = "POST /echo/ HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                      "Content-Length: 5\r\n\r\nabcde";
    expect_second_rejected(cl, sizeof cl - 1, 400);
    const char lf[] = "GET /echo/ HTTP/1.1\nHost: a\r\n\r\n";
    expect_second_rejected(lf, sizeof lf - 1, 400);
    const char fold[] = "GET /echo/ HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n";
    expect_second_rejected(fold, sizeof fold - 1, 400);
}

TEST(trigger_http, size_limits_after_a_first_request)
{
    char *line = repeat("GET /echo/", 'a', 9000, " HTTP/1.1\r\nHost: a\r\n\r\n");
    expect_second_rejected(line, strlen(line), 414);
    free(line);
    char *field = repeat("GET /echo/ HTTP/1.1\r\nHost: a\r\nX-Big: ", 'b', 9000, "\r\n\r\n");
    expect_second_rejected(field, strlen(field), 431);
    free(field);
    /* Over 100 fields: our 431, as on a first head (h2o's parser would say
     * 400 if it saw the head first). */
    char req[16384];
    int n = fields_head(req, sizeof req, "GET /echo/ HTTP/1.1\r\n", 101);
    expect_second_rejected(req, (size_t)n, 431);
}

/* The later head sent only after the first response was read: it reaches
 * the server through the guard's read callback, not with the first. */
static void expect_later_rejected(const char *bad, size_t len, int status)
{
    struct srv s = start("");
    int fd = connect_to(&s);
    static const char good[] = "GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n";
    send_all(fd, good, sizeof good - 1);
    static char out[1 << 16];
    size_t n = 0;
    ASSERT_TRUE(recv_until(fd, out, sizeof out, &n, "spin-path-match-id: 1\n"));
    for (size_t off = 0; off < len;) { /* may be refused before the end */
        ssize_t w = send(fd, bad + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    n = 0;
    bool closed = !recv_until(fd, out, sizeof out, &n, "\r\n\r\n");
    (void)closed;
    ASSERT_EQ_INT(status_of(out), status);
    ASSERT_TRUE(strstr(out, "Connection: close\r\n") != NULL ||
                strstr(out, "connection: close\r\n") != NULL);
    close(fd);
    ASSERT_EQ_INT(stop(&s), 0);
}

TEST(trigger_http, later_heads_are_checked_before_h2o_parses_them)
{
    char req[80 * 1024];
    int n = fields_head(req, sizeof req, "GET /echo/ HTTP/1.1\r\n", 101);
    expect_later_rejected(req, (size_t)n, 431);
    /* A head that never ends is refused once it passes the limits, without
     * waiting for its end (h2o alone buffers ~417 KiB). */
    n = snprintf(req, sizeof req, "GET /echo/ HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 10; i++) {
        n += snprintf(req + n, sizeof req - (size_t)n, "X-H%d: ", i);
        memset(req + n, 'v', 7000);
        n += 7000;
        n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    }
    expect_later_rejected(req, (size_t)n, 431);
    /* Bad framing is refused before h2o reads the body its own way. */
    const char te[] = "POST /echo/ HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n";
    expect_later_rejected(te, sizeof te - 1, 400);
    const char lf[] = "GET /echo/ HTTP/1.1\nHost: a\r\n\r\n";
    expect_later_rejected(lf, sizeof lf - 1, 400);
    /* A long partial head pipelined after the first, completed bad later:
     * h2o saw part of it before (its parse state must not be fooled by the
     * stand-in head). */
    struct srv s = start("");
    int fd = connect_to(&s);
    n = snprintf(req, sizeof req,
                 "GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n"
                 "GET /echo/ HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 60; i++)
        n += snprintf(req + n, sizeof req - (size_t)n, "X-Field-%d: value\r\n", i);
    send_all(fd, req, (size_t)n);
    static char out[1 << 16];
    size_t got = 0;
    ASSERT_TRUE(recv_until(fd, out, sizeof out, &got, "spin-path-match-id: 1\n"));
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    n = 0;
    for (int i = 60; i < 120; i++)
        n += snprintf(req + n, sizeof req - (size_t)n, "X-Field-%d: value\r\n", i);
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    send_all(fd, req, (size_t)n);
    ASSERT_TRUE(recv_until(fd, out, sizeof out, &got, "too many fields"));
    const char *second = strstr(strstr(out, "spin-path-match-id: 1\n"), "HTTP/1.1 ");
    ASSERT_NOT_NULL(second);
    ASSERT_EQ_INT(status_of(second), 431);
    close(fd);
    ASSERT_EQ_INT(stop(&s), 0);
}

/* A later request's body streams too (its head passed the guard, which
 * renamed its framing before h2o parsed it). */
TEST(trigger_http, later_request_body_is_streamed)
{
    struct srv s = start("");
    int fd = connect_to(&s);
    static const char good[] = "GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n";
    send_all(fd, good, sizeof good - 1);
    static char out[1 << 16];
    size_t n = 0;
    ASSERT_TRUE(recv_until(fd, out, sizeof out, &n, "spin-path-match-id: 1\n"));
    const size_t len = 1u << 20, first = 10000;
    uint8_t *body = pattern(len);
    const char head[] = "POST /stream/x?progress=1 HTTP/1.1\r\nHost: a\r\n"
                        "Content-Length: 1048576\r\n\r\n";
    send_all(fd, head, sizeof head - 1);
    send_all(fd, body, first);
    n = 0;
    ASSERT_TRUE(recv_until(fd, out, sizeof out, &n, "first="));
    send_all(fd, body + first, len - first);
    ASSERT_TRUE(recv_until(fd, out, sizeof out, &n, "reads="));
    expect_digest(out, body, len);
    free(body);
    close(fd);
    ASSERT_EQ_INT(stop(&s), 0);
}

TEST(trigger_http, incomplete_head_over_the_limit_is_431_without_waiting)
{
    /* No empty line: the head never ends, yet the answer comes at once
     * (the header timeout is 10 s; raw() gives up after 5). */
    char req[80 * 1024];
    int n = snprintf(req, sizeof req, "GET /echo/ HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 10; i++) {
        n += snprintf(req + n, sizeof req - (size_t)n, "X-H%d: ", i);
        memset(req + n, 'v', 7000);
        n += 7000;
        n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    }
    expect_rejected(req, (size_t)n, 431, "");
}

TEST(trigger_http, tls_http1_rejects_bad_framing_on_first_and_later_heads)
{
    need("openssl");
    const char *dir = test_tmpdir();
    char cmd[4096], out[16384];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
             "-keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1",
             dir, dir);
    ASSERT_EQ_INT(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "--tls-cert %s/cert.pem --tls-key %s/key.pem", dir, dir);
    struct srv s = start(cmd);
    static const char *const reqs[] = {
        "POST /echo/ HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: 3\\r\\n"
        "Transfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\n",
        "GET /users/1 HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n"
        "GET /echo/ HTTP/1.1\\nHost: a\\r\\n\\r\\n",
    };
    for (int i = 0; i < 2; i++) {
        /* s_client ends when the server closes; timeout in case it does not. */
        snprintf(cmd, sizeof cmd,
                 "printf '%s' | timeout 10 openssl s_client -quiet -alpn http/1.1 "
                 "-connect 127.0.0.1:%d 2>/dev/null",
                 reqs[i], s.port);
        ASSERT_EQ_INT(run(cmd, out, sizeof out), 0);
        const char *last = out, *p;
        while ((p = strstr(last + 1, "HTTP/1.1 ")) != NULL)
            last = p;
        ASSERT_EQ_INT(status_of(last), 400);
        ASSERT_EQ_INT(status_of(out), i == 0 ? 400 : 200);
    }
    ASSERT_EQ_INT(stop(&s), 0);
}

/* ---- streamed request bodies (the /stream executor) -------------------- */

/* The test's body: a pattern no shorter period hides, and its FNV-1a 64
 * (the /stream executor answers the same digest of what it read). */
static uint8_t *pattern(size_t len)
{
    uint8_t *p = malloc(len);
    ASSERT_NOT_NULL(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 7 + i / 251 + (i >> 16));
    return p;
}

static void expect_digest(const char *answer, const uint8_t *body, size_t len)
{
    uint64_t sum = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        sum = (sum ^ body[i]) * 0x100000001b3ull;
    char want[96];
    snprintf(want, sizeof want, "len=%zu sum=%016llx ", len, (unsigned long long)sum);
    if (strstr(answer, want) == NULL)
        test_fail_str(__FILE__, __LINE__, "answer", "digest", answer, want);
}

static int connect_to(const struct srv *s)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE_INT(fd, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)s->port);
    a.sin_addr.s_addr = htonl(0x7f000001);
    ASSERT_EQ_INT(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        ASSERT_TRUE(w > 0);
        p += w;
        len -= (size_t)w;
    }
}

/* Reads into out (NUL-terminated) until `needle` appears, the peer closes
 * or 5 s pass without data; returns whether the needle was seen. */
static bool recv_until(int fd, char *out, size_t cap, size_t *n, const char *needle)
{
    for (;;) {
        out[*n] = '\0';
        if (strstr(out, needle) != NULL)
            return true;
        ssize_t r = recv(fd, out + *n, cap - 1 - *n, 0);
        if (r <= 0 || *n + (size_t)r >= cap - 1)
            return false;
        *n += (size_t)r;
    }
}

/* The outcome the /stream executor recorded, once it starts with `want`
 * (polled, for PATIENCE_MS at least: the executor may still be finishing,
 * or wait for its deadline). */
static void expect_last_stream(const struct srv *s, const char *want)
{
    char out[512];
    for (int waited = 0; waited < PATIENCE_MS; waited += 20) {
        curl(s, "", "/stream-last", out, sizeof out);
        if (strncmp(out, want, strlen(want)) == 0)
            return;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    test_fail_str(__FILE__, __LINE__, "last stream outcome", "want", out, want);
}

TEST(trigger_http, streamed_body_arrives_whole_in_small_reads)
{
    need("curl");
    const size_t len = 3u * 1024 * 1024 + 17;
    uint8_t *body = pattern(len);
    char path[512], cmd[2048], out[4096];
    snprintf(path, sizeof path, "%s/body.bin", test_tmpdir());
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ_INT((int)fwrite(body, 1, len, f), (int)len);
    fclose(f);
    struct srv s = start("");
    static const char *const modes[] = {"", "-H 'Transfer-Encoding: chunked'",
                                        "--http2-prior-knowledge", "-H 'Expect: 100-continue'"};
    static const char *const versions[] = {"200 1.1", "200 1.1", "200 2", "200 1.1"};
    for (int i = 0; i < 4; i++) {
        snprintf(cmd, sizeof cmd,
                 "curl -s --max-time 20 %s --data-binary @%s -w '\\n%%{http_code} "
                 "%%{http_version}' 'http://127.0.0.1:%d/stream/x?piece=1000'",
                 modes[i], path, s.port);
        run(cmd, out, sizeof out);
        expect_digest(out, body, len);
        ASSERT_EQ_STR(last_line(out), versions[i]);
        unsigned long long reads = 0;
        ASSERT_TRUE(sscanf(strstr(out, "reads="), "reads=%llu", &reads) == 1);
        ASSERT_TRUE(reads >= len / 1000); /* read in pieces, as asked */
    }
    free(body);
    ASSERT_EQ_INT(stop(&s), 0);
}

/* The executor sees the body's first bytes while the client still holds
 * back the rest: the server did not wait for the whole body. Then the
 * connection carries a next request (the body was read to its end). */
static void stream_while_sending(bool chunked)
{
    struct srv s = start("");
    const size_t len = 4u * 1024 * 1024, first = 64 * 1024;
    uint8_t *body = pattern(len);
    int fd = connect_to(&s);
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "POST /stream/x?progress=1&piece=1000 HTTP/1.1\r\nHost: a\r\n%s\r\n",
                      chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: 4194304\r\n");
    send_all(fd, head, (size_t)hl);
    char size[32];
    if (chunked) {
        int k = snprintf(size, sizeof size, "%zx\r\n", first);
        send_all(fd, size, (size_t)k);
    }
    send_all(fd, body, first);
    static char out[1 << 16];
    size_t n = 0;
    ASSERT_TRUE(recv_until(fd, out, sizeof out, &n, "first="));
    ASSERT_EQ_INT(status_of(out), 200);
    /* Only now the rest of the body, in chunks of 100000 when chunked. */
    for (size_t off = first; off < len;) {
        size_t k = chunked && len - off > 100000 ? 100000 : len - off;
        if (chunked) {
            send_all(fd, "\r\n", 2);
            int m = snprintf(size, sizeof size, "%zx\r\n", k);
            send_all(fd, size, (size_t)m);
        }
        send_all(fd, body + off, k);
        off += k;
    }
    if (chunked)
        send_all(fd, "\r\n0\r\nX-T: 1\r\n\r\n", 15);
    const char next[] = "GET /users/5 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    send_all(fd, next, sizeof next - 1);
    ASSERT_TRUE(recv_until(fd, out, sizeof out, &n, "spin-path-match-id: 5\n"));
    expect_digest(out, body, len);
    const char *second = strstr(strstr(out, "len="), "HTTP/1.1 ");
    ASSERT_NOT_NULL(second);
    ASSERT_EQ_INT(status_of(second), 200);
    close(fd);
    free(body);
    ASSERT_EQ_INT(stop(&s), 0);
}

TEST(trigger_http, streamed_body_is_read_while_the_client_sends_it)
{
    stream_while_sending(false);
    stream_while_sending(true);
}

TEST(trigger_http, client_abort_mid_body_fails_the_read)
{
    struct srv s = start("--workers 1");
    int fd = connect_to(&s);
    const char head[] = "POST /stream/x?progress=1 HTTP/1.1\r\nHost: a\r\n"
                        "Content-Length: 1000000\r\n\r\n";
    send_all(fd, head, sizeof head - 1);
    uint8_t *body = pattern(5000);
    send_all(fd, body, 5000);
    free(body);
    static char out[4096];
    size_t n = 0;
    ASSERT_TRUE(recv_until(fd, out, sizeof out, &n, "first="));
    close(fd); /* mid-body */
    expect_last_stream(&s, "error=SPRY_EIO");
    ASSERT_EQ_INT(stop(&s), 0);
}

TEST(trigger_http, deadline_interrupts_a_read_waiting_for_the_body)
{
    struct srv s = start("--workers 1 --timeout 300");
    int fd = connect_to(&s);
    const char head[] = "POST /stream/x HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n"
                        "only the start";
    send_all(fd, head, sizeof head - 1);
    static char out[4096];
    size_t n = 0;
    ASSERT_TRUE(recv_until(fd, out, sizeof out, &n, "deadline expired"));
    ASSERT_EQ_INT(status_of(out), 504);
    ASSERT_TRUE(strstr(out, "Connection: close\r\n") != NULL);
    close(fd);
    expect_last_stream(&s, "error=SPRY_EINTERRUPTED");
    ASSERT_EQ_INT(stop(&s), 0);
}

TEST(trigger_http, streamed_body_limits_and_framing_errors)
{
    static char out[1 << 16];
    bool closed;
    /* A declared length over the limit: h2o's 413 before any body byte. */
    const char big[] = "POST /stream/x HTTP/1.1\r\nHost: a\r\nContent-Length: 100001\r\n\r\n";
    expect_rejected(big, sizeof big - 1, 413, "--max-body 100000");
    /* A chunk size that passes the limit: 413 before its data. */
    struct srv s = start("--max-body 100000");
    const char chunk[] = "POST /stream/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "10\r\n0123456789abcdef\r\n186a0\r\n";
    raw(&s, chunk, sizeof chunk - 1, out, sizeof out, &closed);
    ASSERT_EQ_INT(status_of(out), 413);
    ASSERT_TRUE(closed);
    /* The same while the executor reads: its read fails. */
    int fd = connect_to(&s);
    const char part[] = "POST /stream/x?progress=1 HTTP/1.1\r\nHost: a\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n";
    send_all(fd, part, sizeof part - 1);
    size_t n = 0;
    ASSERT_TRUE(recv_until(fd, out, sizeof out, &n, "first=16"));
    send_all(fd, "186a0\r\n", 7);
    expect_last_stream(&s, "error=SPRY_ETOOBIG");
    close(fd);
    /* Broken chunked framing (a bare LF after the size): 400, closed. */
    const char bad[] = "POST /stream/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5\nhello\r\n0\r\n\r\n";
    raw(&s, bad, sizeof bad - 1, out, sizeof out, &closed);
    ASSERT_EQ_INT(status_of(out), 400);
    ASSERT_TRUE(closed);
    /* An empty body and a zero-length chunked body end at once, and the
     * connection goes on. */
    const char empty[] = "POST /stream/a HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
                         "GET /users/2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    raw(&s, empty, sizeof empty - 1, out, sizeof out, &closed);
    ASSERT_TRUE(strstr(out, "len=0 ") != NULL && strstr(out, "spin-path-match-id: 2\n") != NULL);
    const char zero[] = "POST /stream/a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "0\r\n\r\nGET /users/3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    raw(&s, zero, sizeof zero - 1, out, sizeof out, &closed);
    ASSERT_TRUE(strstr(out, "len=0 ") != NULL && strstr(out, "spin-path-match-id: 3\n") != NULL);
    ASSERT_TRUE(closed);
    ASSERT_EQ_INT(stop(&s), 0);
}

/* A slow reader holds the client back: the server reads the body only as
 * fast as the executor reads it (a window of 256 KiB, then TCP flow
 * control), so a client pushing 40 MiB stalls after the socket buffers
 * and that window fill, long before its last byte. (The executor, reading
 * the window it was given at 10 KB/s, ends at its deadline after the
 * client has gone: 6 s, ten times what the client's part takes, so that a
 * slow machine does not see the connection close under the sender.) */
TEST(trigger_http, slow_reader_holds_back_the_client)
{
    struct srv s = start("--max-body 67108864 --timeout 6000");
    const size_t len = 40u * 1024 * 1024;
    uint8_t *body = pattern(len);
    int fd = connect_to(&s);
    /* A fixed send buffer: autotuned, it grows to net.ipv4.tcp_wmem's
     * maximum (4 MiB here, 16 MiB or more on a tuned machine), which would
     * count against the bound below as if the server had read it. */
    int sndbuf = 1 << 20;
    ASSERT_EQ_INT(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "POST /stream/x?progress=1&piece=1000&sleep=100 HTTP/1.1\r\nHost: a\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      len);
    send_all(fd, head, (size_t)hl);
    size_t sent = 0;
    while (sent < len) {
        ssize_t w = send(fd, body + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            sent += (size_t)w;
            continue;
        }
        ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
        struct pollfd p = {fd, POLLOUT, 0};
        if (poll(&p, 1, 500) == 0)
            break; /* no room for half a second: the server stopped reading */
    }
    ASSERT_TRUE(sent < len / 2);
    close(fd);
    free(body);
    expect_last_stream(&s, "error=");
    ASSERT_EQ_INT(stop(&s), 0);
}

/* ---- HTTP/2 request bodies and streams (nghttp2 on both sides) -------- */

static bool first_seen(struct h2c *c, void *arg)
{
    const struct h2c_stream *st = &c->streams[*(int *)arg];
    return st->closed || (st->body != NULL && strstr(st->body, "first=") != NULL);
}

/* The executor reads an HTTP/2 body while the client still holds most of
 * it back: the server did not wait for END_STREAM. */
TEST(trigger_http, h2_streamed_body_is_read_while_the_client_sends_it)
{
    struct srv s = start("");
    const size_t len = 3u * 1024 * 1024 + 17, first = 40000;
    uint8_t *body = pattern(len);
    struct h2c c;
    h2c_open(&c, s.port);
    int i =
        h2c_request(&c, "POST", "/stream/x?progress=1&piece=1000", NULL, body, len, first, NULL);
    ASSERT_TRUE(h2c_run(&c, first_seen, &i, 5000));
    ASSERT_FALSE(c.streams[i].closed);
    ASSERT_EQ_INT(c.streams[i].status, 200);
    ASSERT_EQ_INT((int)c.streams[i].up_off, (int)first); /* the rest is not sent yet */
    h2c_allow(&c, i, len);
    ASSERT_TRUE(h2c_run(&c, h2c_closed, &i, 10000));
    ASSERT_EQ_INT((int)c.streams[i].error, 0);
    expect_digest(c.streams[i].body, body, len);
    unsigned long long reads = 0;
    ASSERT_TRUE(sscanf(strstr(c.streams[i].body, "reads="), "reads=%llu", &reads) == 1);
    ASSERT_TRUE(reads >= len / 1000);
    h2c_close(&c);
    free(body);
    ASSERT_EQ_INT(stop(&s), 0);
}

static bool sent_at_least(struct h2c *c, void *arg)
{
    return c->streams[0].closed || c->streams[0].up_off >= *(size_t *)arg;
}

static bool never(struct h2c *c, void *arg)
{
    (void)c, (void)arg;
    return false;
}

/* A slow reader holds an HTTP/2 client back with the stream's window: the
 * server opens it only as the executor reads (256 KiB at most wait), so a
 * client with 40 MiB to send stalls after about that much, although the
 * connection's window would let it send far more. (The executor's read
 * fails when the client closes: no deadline needs to end it, and one the
 * test could reach would reset the stream it checks is open.) */
TEST(trigger_http, h2_slow_reader_holds_back_the_client)
{
    struct srv s = start("--max-body 67108864 --timeout 30000");
    const size_t len = 40u * 1024 * 1024;
    uint8_t *body = pattern(len);
    struct h2c c;
    h2c_open(&c, s.port);
    int i = h2c_request(&c, "POST", "/stream/x?progress=1&piece=1000&sleep=100", NULL, body, len,
                        len, NULL);
    size_t window = 200 * 1024;
    ASSERT_TRUE(h2c_run(&c, sent_at_least, &window, 5000)); /* the window it was given */
    h2c_run(&c, never, NULL, 600);                          /* then until nothing came for 0.6 s */
    size_t sent = c.streams[i].up_off;
    ASSERT_TRUE(sent <= 512 * 1024); /* and hardly more */
    ASSERT_TRUE(h2c_send_window(&c, i) < 64 * 1024);
    ASSERT_FALSE(c.streams[i].closed);
    h2c_close(&c);
    free(body);
    expect_last_stream(&s, "error=");
    ASSERT_EQ_INT(stop(&s), 0);
}

/* Streamed bodies waiting for their executors are bounded per connection
 * (docs/http.md, "Streaming request bodies"): a stream gets 16 KiB of
 * window until a worker reads its body, then 256 KiB. 16 streams to slow
 * readers on 2 workers stall the client after about 14 x 16 KiB + 2 x 256
 * KiB (with 256 KiB for every stream it was 4 MiB). */
TEST(trigger_http, h2_streamed_bodies_held_per_connection_are_bounded)
{
    struct srv s = start("--max-body 67108864 --timeout 20000 --workers 2 --queue 64");
    const size_t len = 1024 * 1024;
    const int n = 16;
    uint8_t *body = pattern(len);
    struct h2c c;
    h2c_open(&c, s.port);
    for (int i = 0; i < n; i++)
        h2c_request(&c, "POST", "/stream/x?piece=1000&sleep=200", NULL, body, len, len, NULL);
    h2c_run(&c, never, NULL, 800); /* until nothing came for 0.8 s */
    size_t sent = 0;
    for (int i = 0; i < n; i++) {
        ASSERT_FALSE(c.streams[i].closed);
        sent += c.streams[i].up_off;
    }
    /* Every stream sent some (they share the connection), but no more
     * than the bound, give or take the few KiB the two readers took. */
    ASSERT_TRUE(sent >= (size_t)n * 8 * 1024);
    ASSERT_TRUE(sent <= (size_t)n * 16 * 1024 + 2 * 256 * 1024 + 64 * 1024);
    h2c_close(&c);

    /* One slow stream does not hold up another on its connection: a
     * 3 MiB body to a fast reader goes through beside it. */
    const size_t big = 3u * 1024 * 1024;
    uint8_t *body2 = pattern(big);
    h2c_open(&c, s.port);
    int slow =
        h2c_request(&c, "POST", "/stream/x?piece=1000&sleep=200", NULL, body, len, len, NULL);
    int fast = h2c_request(&c, "POST", "/stream/y?piece=65536", NULL, body2, big, big, NULL);
    ASSERT_TRUE(h2c_run(&c, h2c_closed, &fast, 10000));
    ASSERT_EQ_INT(c.streams[fast].status, 200);
    expect_digest(c.streams[fast].body, body2, big);
    ASSERT_FALSE(c.streams[slow].closed);
    h2c_close(&c);
    free(body);
    free(body2);
    ASSERT_EQ_INT(stop(&s), 0);
}

/* max_body_bytes over HTTP/2: a declared content-length over it is 413
 * before any DATA; a body without one is cut off once it passes it, for an
 * executor that streams it (its read fails) and for one that takes it
 * whole. The connection goes on. */
TEST(trigger_http, h2_body_over_limit_is_413)
{
    struct srv s = start("--max-body 100000");
    const size_t len = 150000;
    uint8_t *body = pattern(len);
    struct h2c c;
    h2c_open(&c, s.port);
    static const char *const cl[] = {"content-length", "150000", NULL};
    int a = h2c_request(&c, "POST", "/stream/x", cl, body, len, 0, NULL);
    int b = h2c_request(&c, "POST", "/echo/x", cl, body, len, 0, NULL);
    ASSERT_TRUE(h2c_run(&c, h2c_all_closed, NULL, 5000));
    ASSERT_EQ_INT(c.streams[a].status, 413);
    ASSERT_EQ_INT(c.streams[b].status, 413);
    ASSERT_EQ_INT((int)c.streams[a].up_off, 0);
    int d = h2c_request(&c, "POST", "/stream/x", NULL, body, len, len, NULL);
    ASSERT_TRUE(h2c_run(&c, h2c_closed, &d, 5000));
    ASSERT_EQ_INT(c.streams[d].status, 413);
    /* The same while the executor reads (it answered after its first
     * read): its read fails, and the response it started is reset. */
    int p = h2c_request(&c, "POST", "/stream/x?progress=1", NULL, body, len, 1000, NULL);
    ASSERT_TRUE(h2c_run(&c, first_seen, &p, 5000));
    ASSERT_EQ_INT(c.streams[p].status, 200);
    h2c_allow(&c, p, len);
    ASSERT_TRUE(h2c_run(&c, h2c_closed, &p, 5000));
    ASSERT_EQ_INT((int)c.streams[p].error, 2); /* INTERNAL_ERROR: broken off */
    expect_last_stream(&s, "error=SPRY_ETOOBIG");
    int e = h2c_request(&c, "POST", "/echo/x", NULL, body, len, len, NULL);
    ASSERT_TRUE(h2c_run(&c, h2c_closed, &e, 5000));
    ASSERT_EQ_INT(c.streams[e].status, 413);
    int ok = h2c_request(&c, "POST", "/stream/x", NULL, body, 100000, 100000, NULL);
    ASSERT_TRUE(h2c_run(&c, h2c_closed, &ok, 5000));
    ASSERT_EQ_INT(c.streams[ok].status, 200);
    expect_digest(c.streams[ok].body, body, 100000);
    h2c_close(&c);
    free(body);
    ASSERT_EQ_INT(stop(&s), 0);
}

/* RFC 9113 section 8.2 and 8.3: connection-specific fields, upper-case
 * names, misplaced or missing pseudo-header fields and a body longer than
 * its content-length are stream errors (RST_STREAM PROTOCOL_ERROR, no
 * response); the connection and its other streams go on. */
TEST(trigger_http, h2_malformed_requests_are_stream_errors)
{
    struct srv s = start("");
    struct h2c c;
    h2c_open(&c, s.port);
    static const char *const conn[] = {"connection", "keep-alive", NULL};
    static const char *const te[] = {"te", "gzip", NULL};
    static const char *const up[] = {"upgrade", "h2c", NULL};
    static const char *const late[] = {":method", "GET",        ":scheme",    "http", "x-a", "1",
                                       ":path",   "/echo/late", ":authority", "a",    NULL};
    static const char *const nopath[] = {":method",    "GET", ":scheme", "http",
                                         ":authority", "a",   NULL};
    static const char *const twice[] = {":method",    "GET",  ":method", "GET",
                                        ":scheme",    "http", ":path",   "/echo/2",
                                        ":authority", "a",    NULL};
    static const char *const cl[] = {"content-length", "3", NULL};
    int bad[7];
    bad[0] = h2c_request(&c, "GET", "/echo/conn", conn, NULL, 0, 0, NULL);
    bad[1] = h2c_request(&c, "GET", "/echo/te", te, NULL, 0, 0, NULL);
    bad[2] = h2c_request(&c, "GET", "/echo/upgrade", up, NULL, 0, 0, NULL);
    bad[3] = h2c_request(&c, NULL, NULL, late, NULL, 0, 0, NULL);
    bad[4] = h2c_request(&c, NULL, NULL, nopath, NULL, 0, 0, NULL);
    bad[5] = h2c_request(&c, NULL, NULL, twice, NULL, 0, 0, NULL);
    bad[6] = h2c_request(&c, "POST", "/echo/cl", cl, (const uint8_t *)"hello", 5, 5, NULL);
    int good = h2c_request(&c, "GET", "/users/4", NULL, NULL, 0, 0, NULL);
    ASSERT_TRUE(h2c_run(&c, h2c_all_closed, NULL, 5000));
    for (int k = 0; k < 7; k++) {
        ASSERT_EQ_INT(c.streams[bad[k]].status, 0);
        ASSERT_EQ_INT((int)c.streams[bad[k]].error, 1); /* PROTOCOL_ERROR */
    }
    ASSERT_EQ_INT(c.streams[good].status, 200);
    ASSERT_TRUE(strstr(c.streams[good].body, "spin-path-match-id: 4\n") != NULL);
    ASSERT_FALSE(c.goaway);
    h2c_close(&c);
    /* An upper-case name (the library lower-cases what it sends: raw
     * frames), then a good request on the same connection. */
    uint8_t out[2048], block[256];
    size_t n = 0, b = 0;
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    memcpy(out, preface, sizeof preface - 1);
    n = sizeof preface - 1;
    h2_frame(out, &n, 4, 0, 0, "", 0);
    for (uint32_t id = 1; id <= 3; id += 2) {
        b = 0;
        hpack_field(block, &b, ":method", "GET");
        hpack_field(block, &b, ":scheme", "http");
        hpack_field(block, &b, ":path", id == 1 ? "/echo/upper" : "/users/5");
        hpack_field(block, &b, ":authority", "a");
        if (id == 1)
            hpack_field(block, &b, "X-Upper", "1");
        h2_frame(out, &n, 1, 0x5, id, block, b);
    }
    int fd = connect_to(&s);
    send_all(fd, out, n);
    static uint8_t in[65536];
    size_t have = 0;
    uint32_t reset1 = 0xffffffffu;
    bool end3 = false, answer1 = false;
    while (!end3 || reset1 == 0xffffffffu) {
        ssize_t k = recv(fd, in + have, sizeof in - have, 0);
        ASSERT_GT_INT((int)k, 0);
        have += (size_t)k;
        size_t at = 0;
        while (have - at >= 9) {
            size_t len = (size_t)in[at] << 16 | (size_t)in[at + 1] << 8 | in[at + 2];
            if (have - at < 9 + len)
                break;
            uint32_t stream = (uint32_t)in[at + 8]; /* small ids */
            uint8_t type = in[at + 3];
            if (stream == 1 && type == 3 && len == 4)
                reset1 = (uint32_t)in[at + 9] << 24 | (uint32_t)in[at + 10] << 16 |
                         (uint32_t)in[at + 11] << 8 | in[at + 12];
            if (stream == 1 && (type == 0 || type == 1))
                answer1 = true;
            if (stream == 3 && (type == 0 || type == 1) && (in[at + 4] & 1))
                end3 = true;
            at += 9 + len;
        }
        memmove(in, in + at, have - at);
        have -= at;
    }
    close(fd);
    ASSERT_EQ_INT((int)reset1, 1); /* PROTOCOL_ERROR */
    ASSERT_FALSE(answer1);
    ASSERT_EQ_INT(stop(&s), 0);
}

/* Many streams at once on one connection, of every kind: whole and
 * streamed bodies, chunked answers with trailers, static and well-known
 * answers. */
TEST(trigger_http, h2_many_concurrent_streams_on_one_connection)
{
    struct srv s = start("--workers 4");
    const size_t len = 100000;
    uint8_t *body = pattern(len);
    struct h2c c;
    h2c_open(&c, s.port);
    char paths[100][64];
    for (int i = 0; i < 100; i++) {
        switch (i % 5) {
        case 0:
            snprintf(paths[i], sizeof paths[i], "/users/%d", i);
            h2c_request(&c, "GET", paths[i], NULL, NULL, 0, 0, NULL);
            break;
        case 1:
            snprintf(paths[i], sizeof paths[i], "/stream/%d?piece=5000", i);
            h2c_request(&c, "POST", paths[i], NULL, body, len, len, NULL);
            break;
        case 2:
            snprintf(paths[i], sizeof paths[i], "/chunks?n=%d&trailers=1", i % 7 + 1);
            h2c_request(&c, "GET", paths[i], NULL, NULL, 0, 0, NULL);
            break;
        case 3:
            snprintf(paths[i], sizeof paths[i], "/echo/%d", i);
            h2c_request(&c, "POST", paths[i], NULL, body, 1000, 1000, NULL);
            break;
        default:
            h2c_request(&c, "GET", i % 2 ? "/static" : "/.well-known/spin/health", NULL, NULL, 0, 0,
                        NULL);
        }
    }
    ASSERT_TRUE(h2c_run(&c, h2c_all_closed, NULL, 10000));
    for (int i = 0; i < 100; i++) {
        const struct h2c_stream *st = &c.streams[i];
        ASSERT_EQ_INT((int)st->error, 0);
        char want[96];
        switch (i % 5) {
        case 0:
            ASSERT_EQ_INT(st->status, 200);
            snprintf(want, sizeof want, "spin-path-match-id: %d\n", i);
            ASSERT_TRUE(strstr(st->body, want) != NULL);
            break;
        case 1:
            ASSERT_EQ_INT(st->status, 200);
            expect_digest(st->body, body, len);
            break;
        case 2:
            ASSERT_EQ_INT(st->status, 200);
            snprintf(want, sizeof want, "x-chunks: %d\nx-end: yes\n", i % 7 + 1);
            ASSERT_EQ_STR(st->trailers, want);
            break;
        case 3:
            ASSERT_EQ_INT(st->status, 200);
            ASSERT_TRUE(strstr(st->body, "content-length: 1000\n") != NULL);
            break;
        default:
            ASSERT_EQ_INT(st->status, i % 2 ? 201 : 200);
            ASSERT_EQ_STR(st->body, i % 2 ? "static body" : "OK");
        }
    }
    h2c_close(&c);
    free(body);
    ASSERT_EQ_INT(stop(&s), 0);
}

static bool goaway_seen(struct h2c *c, void *arg)
{
    (void)arg;
    return c->goaway || c->eof;
}

/* SIGTERM with an HTTP/2 request in flight (its executor waits for the
 * rest of the body): GOAWAY (NO_ERROR) at once, the request still served
 * to its end, then the server exits 0. */
TEST(trigger_http, h2_sigterm_sends_goaway_and_drains)
{
    struct srv s = start("");
    struct h2c c;
    h2c_open(&c, s.port);
    static const uint8_t body[2] = {'x', 'y'};
    int i = h2c_request(&c, "POST", "/stream/x?progress=1&piece=1", NULL, body, 2, 1, NULL);
    ASSERT_TRUE(h2c_run(&c, first_seen, &i, PATIENCE_MS)); /* running on a worker */
    ASSERT_FALSE(c.streams[i].closed);
    kill(s.pid, SIGTERM);
    ASSERT_TRUE(h2c_run(&c, goaway_seen, NULL, PATIENCE_MS));
    ASSERT_TRUE(c.goaway);
    ASSERT_EQ_INT((int)c.goaway_error, 0);
    ASSERT_FALSE(c.streams[i].closed);
    h2c_allow(&c, i, 2);
    ASSERT_TRUE(h2c_run(&c, h2c_closed, &i, PATIENCE_MS));
    ASSERT_EQ_INT(c.streams[i].status, 200);
    ASSERT_TRUE(strstr(c.streams[i].body, "first=1\nlen=2 ") != NULL);
    h2c_close(&c);
    int st;
    ASSERT_EQ_INT(waitpid(s.pid, &st, 0), s.pid);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static bool ended(struct h2c *c, void *arg)
{
    (void)arg;
    return c->eof;
}

/* An HTTP/2 connection without streams is closed after idle_timeout_ms,
 * with a GOAWAY (NO_ERROR) first; one with a stream in flight is not. (The
 * GOAWAY is checked to come after the stream's end, not to be absent when
 * the test looks: a test delayed past the idle time would read both at
 * once.) */
TEST(trigger_http, h2_idle_connection_is_closed_with_goaway)
{
    struct srv s = start("--idle 400");
    struct h2c c;
    h2c_open(&c, s.port);
    int i = h2c_request(&c, "GET", "/sleep?ms=700", NULL, NULL, 0, 0, NULL);
    ASSERT_TRUE(h2c_run(&c, h2c_closed, &i, 5000)); /* longer than the idle time */
    ASSERT_EQ_INT(c.streams[i].status, 200);
    ASSERT_TRUE(h2c_run(&c, ended, NULL, 5000));
    ASSERT_TRUE(c.goaway);
    ASSERT_EQ_INT(c.goaway_open_streams, 0); /* not while the stream was in flight */
    ASSERT_EQ_INT((int)c.goaway_error, 0);
    h2c_close(&c);
    ASSERT_EQ_INT(stop(&s), 0);
}

/* The limits of docs/http.md over HTTP/2, counted as an HTTP/1 head would
 * carry the fields: 414 for a long target, 431 for a long field, a large
 * block or too many fields (`host` from :authority counts); the
 * connection goes on. */
TEST(trigger_http, h2_request_limits_are_414_and_431)
{
    struct srv s = start("");
    struct h2c c;
    h2c_open(&c, s.port);
    static char path[9100], big[9001], wide[9][7401], names[101][8];
    memcpy(path, "/echo/", 6);
    memset(path + 6, 'a', 9000);
    memset(big, 'b', 9000);
    int p = h2c_request(&c, "GET", path, NULL, NULL, 0, 0, NULL);
    const char *one[] = {"x-big", big, NULL};
    int f = h2c_request(&c, "GET", "/echo/f", one, NULL, 0, 0, NULL);
    const char *block[19];
    for (int i = 0; i < 9; i++) {
        memset(wide[i], 'w', 7400);
        snprintf(names[i], sizeof names[i], "x-w%d", i);
        block[2 * i] = names[i];
        block[2 * i + 1] = wide[i];
    }
    block[18] = NULL;
    int b = h2c_request(&c, "GET", "/echo/b", block, NULL, 0, 0, NULL);
    const char *many[203];
    for (int i = 0; i < 101; i++) {
        snprintf(names[i], sizeof names[i], "x-f%d", i);
        many[2 * i] = names[i];
        many[2 * i + 1] = "v";
    }
    many[202] = NULL;
    int m = h2c_request(&c, "GET", "/echo/m", many, NULL, 0, 0, NULL);
    many[2 * 99] = NULL; /* 99 fields and host: exactly 100 */
    int ok = h2c_request(&c, "GET", "/users/3", many, NULL, 0, 0, NULL);
    ASSERT_TRUE(h2c_run(&c, h2c_all_closed, NULL, 5000));
    ASSERT_EQ_INT(c.streams[p].status, 414);
    ASSERT_EQ_INT(c.streams[f].status, 431);
    ASSERT_EQ_INT(c.streams[b].status, 431);
    ASSERT_EQ_INT(c.streams[m].status, 431);
    ASSERT_EQ_STR(c.streams[m].body, "too many fields\n");
    ASSERT_EQ_INT(c.streams[ok].status, 200);
    ASSERT_TRUE(strstr(c.streams[ok].body, "x-f98: v\n") != NULL);
    h2c_close(&c);
    ASSERT_EQ_INT(stop(&s), 0);
}

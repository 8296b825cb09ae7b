/*
 * `spry up` end to end: the real binary serves apps built at test time
 * (tests/apps/), and curl asks. Only 127.0.0.1.
 */
#include "harness/test.h"
#include "unit/trigger/h2_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct up {
    pid_t pid;
    int port;
    char dir[4096];
};

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs(text, f);
    fclose(f);
}

/* Reads one line from fd within timeout_ms; returns its length or -1. */
static int read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t n = 0;
    while (n + 1 < cap) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0)
            return -1;
        ssize_t r = read(fd, buf + n, 1);
        if (r <= 0)
            return -1;
        if (buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = '\0';
    return (int)n;
}

/*
 * Writes `manifest` (with every "PROBE" replaced by the probe module's
 * path) into a fresh app directory and starts spry up on a free port with
 * the extra arguments (NULL-terminated). Returns the exit status instead
 * when the server does not come up (then *u is unusable).
 */
static int up_start(struct up *u, const char *manifest, ...)
{
    snprintf(u->dir, sizeof u->dir, "%s/app", test_tmpdir());
    mkdir(u->dir, 0755);
    char path[4600], data[4400];
    snprintf(data, sizeof data, "%s/data", u->dir);
    mkdir(data, 0755);
    snprintf(path, sizeof path, "%s/a.txt", data);
    write_text(path, "file content\n");
    /* The manifest, with PROBE resolved. */
    const char *probe = test_build_path("tests/apps/wagi_probe.wasm");
    char text[16384];
    size_t n = 0;
    for (const char *m = manifest; *m != '\0' && n + 4200 < sizeof text;) {
        if (strncmp(m, "PROBE", 5) == 0) {
            n += (size_t)snprintf(text + n, sizeof text - n, "%s", probe);
            m += 5;
        } else {
            text[n++] = *m++;
        }
    }
    text[n] = '\0';
    snprintf(path, sizeof path, "%s/spin.toml", u->dir);
    write_text(path, text);

    const char *args[32] = {"spry", "up", "-f", u->dir, "--listen", "127.0.0.1:0"};
    int nargs = 6;
    va_list ap;
    va_start(ap, manifest);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL && nargs < 30;)
        args[nargs++] = a;
    va_end(ap);
    args[nargs] = NULL;
    int out[2];
    ASSERT_EQ_INT(pipe(out), 0);
    char err_path[4400];
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", test_tmpdir());
    u->pid = fork();
    ASSERT_GE_INT(u->pid, 0);
    if (u->pid == 0) {
        dup2(out[1], 1);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(e, 2);
        close(out[0]);
        /* Under ASan: h2o's per-thread caches outlive the server by design
         * (docs/http.md); the suppression names only the library. */
        char supp[4200];
        snprintf(supp, sizeof supp, "suppressions=%s", test_src_path("tests/tools/lsan-h2o.supp"));
        setenv("LSAN_OPTIONS", supp, 1);
        execv(test_build_path("spry"), (char *const *)args);
        _exit(127);
    }
    close(out[1]);
    char line[4096];
    int len = read_line(out[0], line, sizeof line, 20000);
    close(out[0]);
    const char *at = len > 0 ? strstr(line, "://127.0.0.1:") : NULL;
    if (at == NULL) {
        int status;
        waitpid(u->pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    u->port = atoi(at + strlen("://127.0.0.1:"));
    return -1;
}

/* Ends the server at once (SIGKILL), for a test that leaves a request
 * running which a graceful stop would wait for. */
static void up_kill(struct up *u)
{
    kill(u->pid, SIGKILL);
    waitpid(u->pid, NULL, 0);
}

/* Stops the server; returns its exit status. */
static int up_stop(struct up *u)
{
    kill(u->pid, SIGTERM);
    int status;
    waitpid(u->pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The stderr spry up wrote. */
static char *up_stderr(void)
{
    static char buf[65536];
    char path[4400];
    snprintf(path, sizeof path, "%s/stderr.txt", test_tmpdir());
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f != NULL)
        fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Runs curl -s -i with `args` and the URL path; returns its output
 * (headers and body; static buffer). */
static const char *http(const struct up *u, const char *args, const char *path)
{
    static char buf[1 << 20];
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "curl -s -i --max-time 20 %s 'http://127.0.0.1:%d%s'", args, u->port,
             path);
    FILE *p = popen(cmd, "r");
    ASSERT_NOT_NULL(p);
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = '\0';
    pclose(p);
    return buf;
}

static int status_of(const char *response)
{
    const char *sp = strchr(response, ' ');
    return sp != NULL ? atoi(sp + 1) : 0;
}

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++) {
        bool starts = p == text || p[-1] == '\n';
        bool ends = p[n] == '\n' || p[n] == '\r' || p[n] == '\0';
        if (starts && ends)
            return true;
    }
    return false;
}

/* ---- many clients at once: raw HTTP/1.1 keep-alive connections --------- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One client connection sending GET `path` `requests` times. Counts the
 * statuses. */
struct client {
    int port;
    const char *path;
    int requests;
    int want;              /* the expected status */
    int ok, other, failed; /* answered `want`, answered something else, I/O failed */
    int other_status;      /* the first unexpected status */
    int unavailable;       /* of `other`: 503 */
    uint64_t done_ms;      /* when the last answer came */
    atomic_int *answers;   /* when set: counts every answer, as it comes */
};

static int client_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(0x7f000001);
    struct timeval tv = {20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends GET path on fd; returns 0 or -1. */
static int client_send(int fd, const char *path)
{
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    return send(fd, req, (size_t)n, MSG_NOSIGNAL) == n ? 0 : -1;
}

/* Reads one response from fd; returns its status, or -1 when the
 * connection failed. The body's first cap - 1 bytes go to body (may be
 * NULL). */
static int client_read(int fd, char *body, size_t cap)
{
    char buf[8192];
    size_t len = 0;
    char *end = NULL;
    while (end == NULL) {
        if (len == sizeof buf - 1)
            return -1;
        ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (r <= 0)
            return -1;
        len += (size_t)r;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    int status = strncmp(buf, "HTTP/1.1 ", 9) == 0 ? atoi(buf + 9) : 0;
    const char *cl = strcasestr(buf, "\r\ncontent-length:");
    if (status == 0 || cl == NULL || cl > end)
        return -1; /* every answer here has a length */
    size_t want = strtoul(cl + 17, NULL, 10), have = len - (size_t)(end + 4 - buf), kept = 0;
    if (body != NULL) {
        kept = have < cap - 1 ? have : cap - 1;
        memcpy(body, end + 4, kept);
    }
    while (have < want) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0)
            return -1;
        size_t take = body != NULL && kept < cap - 1 ? (size_t)r : 0;
        if (take > cap - 1 - kept)
            take = cap - 1 - kept;
        if (take > 0)
            memcpy(body + kept, buf, take);
        kept += take;
        have += (size_t)r;
    }
    if (body != NULL)
        body[kept] = '\0';
    return have == want ? status : -1;
}

/* One request and its response on fd: the status, or -1. */
static int client_exchange(int fd, const char *path)
{
    return client_send(fd, path) == 0 ? client_read(fd, NULL, 0) : -1;
}

static void *client_main(void *arg)
{
    struct client *c = arg;
    int fd = -1;
    for (int done = 0; done < c->requests; done++) {
        if (fd < 0 && (fd = client_connect(c->port)) < 0) {
            c->failed++;
            continue;
        }
        int status = client_exchange(fd, c->path);
        if (status < 0) {
            c->failed++;
            close(fd);
            fd = -1;
        } else if (status == c->want) {
            c->ok++;
        } else {
            if (c->other++ == 0)
                c->other_status = status;
            c->unavailable += status == 503;
        }
        if (status >= 0 && c->answers != NULL)
            atomic_fetch_add(c->answers, 1);
        c->done_ms = now_ms();
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* Starts n clients at once (c[i] filled by the caller); clients_join
 * waits for them. */
static void clients_start(struct client *c, int n, pthread_t *threads)
{
    ASSERT_LE_INT(n, 128);
    for (int i = 0; i < n; i++)
        ASSERT_EQ_INT(pthread_create(&threads[i], NULL, client_main, &c[i]), 0);
}

static void clients_join(int n, pthread_t *threads)
{
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
}

/* Runs n clients at once and waits for all. */
static void clients_run(struct client *c, int n)
{
    pthread_t threads[128];
    clients_start(c, n, threads);
    clients_join(n, threads);
}

/* ---- holding a guest without timing (/probe/wait) ----------------------
 * Under load (CI shares a 2-core VM) a fixed sleep promises nothing. The
 * probe's /wait opens /data/a.txt and then waits until /data/go exists;
 * both are in the component's staged files (docs/wagi.md: under
 * <state-dir>/files/<component>/, the state directory being the app's
 * .spin), which the test watches with inotify and writes into. */

enum { PATIENCE_MS = 20000 };

struct gate {
    int fd; /* inotify */
    char dir[4600];
};

static void gate_open(struct gate *g, const struct up *u)
{
    snprintf(g->dir, sizeof g->dir, "%s/.spin/files/probe/data", u->dir);
    g->fd = inotify_init1(IN_CLOEXEC);
    ASSERT_GE_INT(g->fd, 0);
    ASSERT_GE_INT(inotify_add_watch(g->fd, g->dir, IN_OPEN), 0);
}

/* Waits until a guest opens a.txt: it runs. */
static void gate_await_guest(struct gate *g)
{
    for (;;) {
        struct pollfd p = {g->fd, POLLIN, 0};
        ASSERT_EQ_INT(poll(&p, 1, PATIENCE_MS), 1);
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n = read(g->fd, buf, sizeof buf);
        ASSERT_GT_INT(n, 0);
        for (char *e = buf; e < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)e;
            if (ev->len > 0 && strcmp(ev->name, "a.txt") == 0)
                return; /* (what came after it in buf is dropped) */
            e += sizeof *ev + ev->len;
        }
    }
}

/* Lets every waiting guest (and any later one) go. */
static void gate_release(struct gate *g)
{
    char path[4700];
    snprintf(path, sizeof path, "%s/go", g->dir);
    write_text(path, "go\n");
    close(g->fd);
}

/* Waits until *count reaches want (answers that come at once). */
static void await_count(atomic_int *count, int want)
{
    for (int waited = 0; atomic_load(count) < want && waited < PATIENCE_MS; waited += 5) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    ASSERT_EQ_INT(atomic_load(count), want);
}

static const char *const APP =
    "spin_manifest_version = 2\n"
    "[application]\n"
    "name = \"probe-app\"\n"
    "version = \"2.1.0\"\n"
    "[[trigger.http]]\n"
    "route = \"/probe/...\"\n"
    "component = \"probe\"\n"
    "executor = { type = \"wagi\" }\n"
    "[[trigger.http]]\n"
    "route = \"/users/:id/...\"\n"
    "component = \"probe\"\n"
    "executor = { type = \"wagi\" }\n"
    "[[trigger.http]]\n"
    "route = \"/ping\"\n"
    "static_response = { status_code = 201, headers = { x-static = \"yes\" }, body = \"pong\" }\n"
    "[[trigger.http]]\n"
    "route = { private = true }\n"
    "component = \"hidden\"\n"
    "executor = { type = \"wagi\" }\n"
    "[component.probe]\n"
    "source = \"PROBE\"\n"
    "environment = { GREETING = \"hi\" }\n"
    "files = [{ source = \"data\", destination = \"/data\" }]\n"
    "[component.hidden]\n"
    "source = \"PROBE\"\n";

TEST(up, wagi_guest_sees_cgi_variables_argv_and_only_its_environment)
{
    struct up u;
    ASSERT_EQ_INT(up_start(&u, APP, "--env", "FROM_CLI=1", NULL), -1);
    setenv("SPRY_TEST_HOST_ONLY", "leak", 1);
    const char *r = http(&u, "-H 'X-Test: hello' -H 'Authorization: secret'",
                         "/probe/env?name=some%20value&flag");
    ASSERT_EQ_INT(status_of(r), 200);
    static const char *const want[] = {
        "argv[0]=/probe/env",
        "argv[1]=name",
        "argv[2]=some value",
        "argv[3]=flag",
        "REQUEST_METHOD=GET",
        "GATEWAY_INTERFACE=CGI/1.1",
        "SERVER_SOFTWARE=WAGI/1",
        "SCRIPT_NAME=/probe",
        "PATH_INFO=/env",
        "QUERY_STRING=name=some%20value&flag",
        "X_MATCHED_ROUTE=/probe/...",
        "X_RAW_COMPONENT_ROUTE=/probe/...",
        "X_COMPONENT_ROUTE=/probe",
        "X_BASE_PATH=/",
        "REMOTE_ADDR=127.0.0.1",
        "SERVER_NAME=127.0.0.1",
        "HTTP_X_TEST=hello",
        "GREETING=hi",
        "FROM_CLI=1",
        "CONTENT_LENGTH=0",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!has_line(r, want[i]))
            fprintf(stderr, "missing '%s' in:\n%s\n", want[i], r);
        ASSERT_TRUE(has_line(r, want[i]));
    }
    char url[128];
    snprintf(url, sizeof url, "X_FULL_URL=http://127.0.0.1:%d/probe/env?name=some%%20value&flag",
             u.port);
    ASSERT_TRUE(has_line(r, url));
    ASSERT_TRUE(strstr(r, "HTTP_AUTHORIZATION") == NULL);
    ASSERT_TRUE(strstr(r, "SPRY_TEST_HOST_ONLY") == NULL); /* nothing inherited */
    ASSERT_TRUE(strstr(r, "HOME=") == NULL);

    r = http(&u, "", "/users/42/env");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(has_line(r, "X_PATH_MATCH_ID=42"));
    ASSERT_TRUE(has_line(r, "X_MATCHED_ROUTE=/users/:id/..."));
    ASSERT_TRUE(has_line(r, "SCRIPT_NAME=/users/:id"));
    ASSERT_TRUE(has_line(r, "PATH_INFO=/env"));
    ASSERT_EQ_INT(up_stop(&u), 0);
}

/* Sends `req` on fd and reads the answer's body into a static buffer;
 * asserts a 200. */
static const char *keepalive_exchange(int fd, const char *req)
{
    static char body[1 << 16];
    ASSERT_EQ_INT(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
    ASSERT_EQ_INT(client_read(fd, body, sizeof body), 200);
    return body;
}

/* The environment and argv are built per request (into one block that the
 * guest's WASI context borrows): on one keep-alive connection, so the same
 * loop and the same pooled instance serve all three, each request sees
 * its own method, query, headers, captures and client address, and
 * nothing of the one before. */
TEST(up, each_wagi_request_sees_only_its_own_cgi_variables)
{
    struct up u;
    ASSERT_EQ_INT(up_start(&u, APP, NULL), -1);
    int fd = client_connect(u.port);
    ASSERT_GE_INT(fd, 0);
    struct sockaddr_in me;
    socklen_t len = sizeof me;
    ASSERT_EQ_INT(getsockname(fd, (struct sockaddr *)&me, &len), 0);
    char client[64];
    snprintf(client, sizeof client, "X_CLIENT_ADDR=127.0.0.1:%d", ntohs(me.sin_port));

    const char *r = keepalive_exchange(fd, "GET /probe/env?first=1 HTTP/1.1\r\n"
                                           "Host: one.test:81\r\n"
                                           "X-Test: one\r\nX-Only-First: yes\r\n"
                                           "X-Test: uno\r\n\r\n");
    ASSERT_TRUE(has_line(r, client));
    ASSERT_TRUE(has_line(r, "QUERY_STRING=first=1"));
    ASSERT_TRUE(has_line(r, "argv[1]=first"));
    ASSERT_TRUE(has_line(r, "argv[2]=1"));
    ASSERT_TRUE(has_line(r, "HTTP_X_TEST=one, uno"));
    ASSERT_TRUE(has_line(r, "HTTP_X_ONLY_FIRST=yes"));
    ASSERT_TRUE(has_line(r, "SERVER_NAME=one.test"));
    ASSERT_TRUE(has_line(r, "SERVER_PORT=81"));
    ASSERT_TRUE(has_line(r, "X_FULL_URL=http://one.test:81/probe/env?first=1"));
    ASSERT_TRUE(has_line(r, "REQUEST_METHOD=GET"));
    ASSERT_TRUE(has_line(r, "CONTENT_LENGTH=0"));
    ASSERT_TRUE(has_line(r, "PATH_INFO=/env"));

    r = keepalive_exchange(fd, "POST /users/7/env?second HTTP/1.1\r\n"
                               "Host: two.test\r\nX-Test: two\r\n"
                               "Content-Type: text/x-two\r\nContent-Length: 5\r\n\r\nhello");
    ASSERT_TRUE(has_line(r, client));
    ASSERT_TRUE(has_line(r, "QUERY_STRING=second"));
    ASSERT_TRUE(has_line(r, "argv[1]=second"));
    ASSERT_TRUE(strstr(r, "argv[2]=") == NULL);
    ASSERT_TRUE(has_line(r, "HTTP_X_TEST=two"));
    ASSERT_TRUE(strstr(r, "X_ONLY_FIRST") == NULL);
    ASSERT_TRUE(strstr(r, "first") == NULL);
    ASSERT_TRUE(has_line(r, "SERVER_NAME=two.test"));
    ASSERT_TRUE(has_line(r, "SERVER_PORT=80"));
    ASSERT_TRUE(has_line(r, "REQUEST_METHOD=POST"));
    ASSERT_TRUE(has_line(r, "CONTENT_LENGTH=5"));
    ASSERT_TRUE(has_line(r, "CONTENT_TYPE=text/x-two"));
    ASSERT_TRUE(has_line(r, "X_PATH_MATCH_ID=7"));
    ASSERT_TRUE(has_line(r, "X_MATCHED_ROUTE=/users/:id/..."));
    ASSERT_TRUE(has_line(r, "SCRIPT_NAME=/users/:id"));

    r = keepalive_exchange(fd, "GET /probe/env HTTP/1.1\r\nHost: three.test\r\n\r\n");
    ASSERT_TRUE(has_line(r, "QUERY_STRING="));
    ASSERT_TRUE(strstr(r, "argv[1]=") == NULL);
    ASSERT_TRUE(strstr(r, "HTTP_X_TEST") == NULL);
    ASSERT_TRUE(strstr(r, "CONTENT_TYPE=text") == NULL);
    ASSERT_TRUE(strstr(r, "X_PATH_MATCH_ID") == NULL);
    ASSERT_TRUE(has_line(r, "CONTENT_LENGTH=0"));
    ASSERT_TRUE(has_line(r, "SERVER_NAME=three.test"));
    ASSERT_TRUE(has_line(r, "SCRIPT_NAME=/probe"));
    ASSERT_TRUE(has_line(r, "GREETING=hi"));
    close(fd);
    ASSERT_EQ_INT(up_stop(&u), 0);
}

TEST(up, static_responses_reserved_routes_private_routes_and_404)
{
    struct up u;
    ASSERT_EQ_INT(up_start(&u, APP, NULL), -1);
    const char *r = http(&u, "", "/ping");
    ASSERT_EQ_INT(status_of(r), 201);
    ASSERT_TRUE(strstr(r, "x-static: yes") != NULL);
    ASSERT_TRUE(strstr(r, "\r\n\r\npong") != NULL);
    r = http(&u, "", "/.well-known/spin/health");
    ASSERT_EQ_INT(status_of(r), 200);
    r = http(&u, "", "/.well-known/spin/info");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "\"name\":\"probe-app\"") != NULL);
    ASSERT_TRUE(strstr(r, "\"version\":\"2.1.0\"") != NULL);
    ASSERT_EQ_INT(status_of(http(&u, "", "/nothing/here")), 404);
    ASSERT_EQ_INT(status_of(http(&u, "", "/hidden")), 404);
    ASSERT_EQ_INT(up_stop(&u), 0);
}

TEST(up, cgi_responses_status_location_body_and_files)
{
    struct up u;
    ASSERT_EQ_INT(up_start(&u, APP, NULL), -1);
    const char *r = http(&u, "", "/probe/status");
    ASSERT_EQ_INT(status_of(r), 418);
    ASSERT_TRUE(strstr(r, "x-custom: yes") != NULL);
    ASSERT_TRUE(strstr(r, "\r\n\r\nteapot\n") != NULL);
    r = http(&u, "", "/probe/redirect");
    ASSERT_EQ_INT(status_of(r), 302);
    ASSERT_TRUE(strstr(r, "location: /elsewhere") != NULL);
    r = http(&u, "--data-binary 'posted bytes'", "/probe/echo");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "\r\n\r\nposted bytes") != NULL);
    r = http(&u, "", "/probe/file");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "file content\n") != NULL);
    ASSERT_TRUE(strstr(r, "write: refused") != NULL);
    r = http(&u, "", "/probe/stderr");
    ASSERT_EQ_INT(status_of(r), 200);
    /* The standard streams are buffers, not terminals (stdout is then
     * fully buffered in the guest, as with a pipe under other runtimes). */
    r = http(&u, "", "/probe/tty");
    ASSERT_TRUE(strstr(r, "\r\n\r\nisatty: 0 0 0\n") != NULL);
    ASSERT_EQ_INT(up_stop(&u), 0);
    /* Guest stderr went to the component's log and the terminal. */
    char log[4400];
    snprintf(log, sizeof log, "%s/.spin/logs/probe_stderr.txt", u.dir);
    FILE *f = fopen(log, "r");
    ASSERT_NOT_NULL(f);
    char line[256] = "";
    ASSERT_NOT_NULL(fgets(line, sizeof line, f));
    fclose(f);
    ASSERT_EQ_STR(line, "guest-error-line\n");
    ASSERT_TRUE(strstr(up_stderr(), "guest-error-line") != NULL);
}

/* Guests run first on the I/O loop (docs/http.md, "Speculation"); one that
 * opens a file there is stopped and run again on a worker, and nothing of
 * the first run (here its stderr) is kept. */
TEST(up, a_guest_stopped_by_the_speculation_gate_runs_once_on_a_worker)
{
    struct up u;
    ASSERT_EQ_INT(up_start(&u, APP, "--quiet", NULL), -1);
    for (int i = 0; i < 3; i++) {
        const char *r = http(&u, "", "/probe/stderr-then-file");
        ASSERT_EQ_INT(status_of(r), 200);
        ASSERT_TRUE(strstr(r, "\r\n\r\nfile content\n") != NULL);
    }
    ASSERT_EQ_INT(up_stop(&u), 0);
    char log[4400], text[4096];
    snprintf(log, sizeof log, "%s/.spin/logs/probe_stderr.txt", u.dir);
    FILE *f = fopen(log, "r");
    ASSERT_NOT_NULL(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    ASSERT_EQ_STR(text, "before-the-file\nbefore-the-file\nbefore-the-file\n");
}

TEST(up, failing_guests_answer_500_and_are_logged)
{
    struct up u;
    ASSERT_EQ_INT(up_start(&u, APP, NULL), -1);
    ASSERT_EQ_INT(status_of(http(&u, "", "/probe/trap")), 500);
    ASSERT_EQ_INT(status_of(http(&u, "", "/probe/exit")), 500);
    ASSERT_EQ_INT(status_of(http(&u, "", "/probe/bad")), 500);
    ASSERT_EQ_INT(up_stop(&u), 0);
    const char *err = up_stderr();
    ASSERT_TRUE(strstr(err, "component probe: trap") != NULL);
    ASSERT_TRUE(strstr(err, "component probe: exited with status 3") != NULL);
}

/* A guest that never ends does not hold up other requests, and gets 504 at
 * its deadline. Without timing: with a deadline no test reaches, the
 * looping guest is seen to run (it opens /data/a.txt first), 50 requests
 * to another route are then all answered while it still has no answer,
 * and the server is killed; a second server's deadline of 1.5 s then
 * answers the looping guest 504, not before it. */
TEST(up, looping_guest_answers_504_while_50_concurrent_requests_succeed)
{
    struct up u;
    ASSERT_EQ_INT(up_start(&u, APP, "--request-timeout", "10m", NULL), -1);
    struct gate g;
    gate_open(&g, &u);
    enum { OTHERS = 50 };
    struct client c[OTHERS + 1];
    atomic_int looped;
    atomic_init(&looped, 0);
    c[0] = (struct client){
        .port = u.port, .path = "/probe/loop", .requests = 1, .want = 504, .answers = &looped};
    for (int i = 1; i <= OTHERS; i++)
        c[i] = (struct client){.port = u.port, .path = "/probe/status", .requests = 1, .want = 418};
    pthread_t loop_thread;
    clients_start(c, 1, &loop_thread);
    gate_await_guest(&g); /* the looping guest runs */
    close(g.fd);
    clients_run(c + 1, OTHERS);
    for (int i = 1; i <= OTHERS; i++)
        ASSERT_EQ_INT(c[i].ok, 1);
    ASSERT_EQ_INT(atomic_load(&looped), 0); /* still looping */
    up_kill(&u);
    clients_join(1, &loop_thread);
    ASSERT_EQ_INT(atomic_load(&looped), 0);

    ASSERT_EQ_INT(up_start(&u, APP, "--request-timeout", "1500ms", NULL), -1);
    uint64_t start = now_ms();
    ASSERT_EQ_INT(status_of(http(&u, "", "/probe/loop")), 504);
    ASSERT_GE_INT((long long)(now_ms() - start), 1400); /* at the deadline, not before */
    ASSERT_EQ_INT(up_stop(&u), 0);
    ASSERT_TRUE(strstr(up_stderr(), "GET /probe/loop passed its deadline") != NULL);
}

/* With one instance, concurrent requests to a slow guest (200 ms each) wait
 * their turn and all succeed, one after another. */
TEST(up, with_one_instance_concurrent_requests_queue_and_all_succeed)
{
    struct up u;
    ASSERT_EQ_INT(up_start(&u, APP, "--max-instances", "1", "--quiet", NULL), -1);
    enum { N = 5 };
    struct client c[N];
    for (int i = 0; i < N; i++)
        c[i] = (struct client){.port = u.port, .path = "/probe/slow", .requests = 1, .want = 200};
    uint64_t start = now_ms();
    clients_run(c, N);
    uint64_t last = 0;
    for (int i = 0; i < N; i++) {
        ASSERT_EQ_INT(c[i].ok, 1);
        last = c[i].done_ms > last ? c[i].done_ms : last;
    }
    /* Run one at a time: about N x 200 ms (in parallel it would be 200). */
    ASSERT_GE_INT((long long)(last - start), (N - 1) * 200);
    ASSERT_EQ_INT(up_stop(&u), 0);
}

/* With one instance and --max-queue 1: while the instance's request is
 * held (/probe/wait), of 7 more sent at once one waits and 6 are answered
 * 503 at once; once the held one is let go, the waiting one runs too. */
TEST(up, requests_beyond_max_queue_get_503)
{
    struct up u;
    ASSERT_EQ_INT(up_start(&u, APP, "--max-instances", "1", "--max-queue", "1", "--quiet", NULL),
                  -1);
    struct gate g;
    gate_open(&g, &u);
    enum { N = 8 };
    struct client c[N];
    atomic_int answers;
    atomic_init(&answers, 0);
    for (int i = 0; i < N; i++)
        c[i] = (struct client){
            .port = u.port, .path = "/probe/wait", .requests = 1, .want = 200, .answers = &answers};
    pthread_t threads[N];
    clients_start(c, 1, threads);
    gate_await_guest(&g); /* the one instance runs it */
    clients_start(c + 1, N - 1, threads + 1);
    await_count(&answers, N - 2); /* the refused ones, at once */
    gate_release(&g);
    clients_join(N, threads);
    int ok = 0, busy = 0;
    for (int i = 0; i < N; i++) {
        ASSERT_EQ_INT(c[i].failed, 0);
        ASSERT_EQ_INT(c[i].other, c[i].unavailable); /* 200 or 503, nothing else */
        ok += c[i].ok;
        busy += c[i].unavailable;
    }
    ASSERT_EQ_INT(c[0].ok, 1);
    ASSERT_EQ_INT(ok, 2);
    ASSERT_EQ_INT(busy, N - 2);
    ASSERT_EQ_INT(up_stop(&u), 0);
    ASSERT_TRUE(strstr(up_stderr(), "request queue full (1): 503") != NULL);
}

/* Runs a shell command; returns its stdout (static buffer). */
static const char *run_cmd(const char *cmd)
{
    static char buf[1 << 16];
    FILE *p = popen(cmd, "r");
    ASSERT_NOT_NULL(p);
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = '\0';
    pclose(p);
    return buf;
}

/* HTTPS with a certificate made at test time (openssl), HTTP/2 chosen by
 * ALPN, and h2c by prior knowledge on a plain listener; the guest sees
 * SERVER_PROTOCOL=HTTP/2.0. */
TEST(up, tls_and_http2_through_spry_up)
{
    char cmd[9000], cert[4400], key[4400];
    snprintf(cert, sizeof cert, "%s/cert.pem", test_tmpdir());
    snprintf(key, sizeof key, "%s/key.pem", test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
             "-keyout %s -out %s >/dev/null 2>&1",
             key, cert);
    ASSERT_EQ_INT(system(cmd), 0);

    struct up u;
    ASSERT_EQ_INT(up_start(&u, APP, "--tls-cert", cert, "--tls-key", key, NULL), -1);
    snprintf(cmd, sizeof cmd,
             "curl -s -k --http2 --max-time 20 -w '\n%%{http_version}' "
             "https://127.0.0.1:%d/probe/status",
             u.port);
    ASSERT_EQ_STR(run_cmd(cmd), "teapot\n\n2");
    snprintf(cmd, sizeof cmd,
             "curl -s -k --http1.1 --max-time 20 -w '\n%%{http_version}' "
             "https://127.0.0.1:%d/probe/status",
             u.port);
    ASSERT_EQ_STR(run_cmd(cmd), "teapot\n\n1.1");
    snprintf(cmd, sizeof cmd, "curl -s -k --http2 --max-time 20 https://127.0.0.1:%d/probe/env",
             u.port);
    const char *r = run_cmd(cmd);
    ASSERT_TRUE(has_line(r, "SERVER_PROTOCOL=HTTP/2.0"));
    char url[128];
    snprintf(url, sizeof url, "X_FULL_URL=https://127.0.0.1:%d/probe/env", u.port);
    ASSERT_TRUE(has_line(r, url));
    ASSERT_EQ_INT(up_stop(&u), 0);

    ASSERT_EQ_INT(up_start(&u, APP, NULL), -1);
    snprintf(cmd, sizeof cmd,
             "curl -s --http2-prior-knowledge --max-time 20 -w '\n%%{http_version}' "
             "http://127.0.0.1:%d/probe/status",
             u.port);
    ASSERT_EQ_STR(run_cmd(cmd), "teapot\n\n2");
    ASSERT_EQ_INT(up_stop(&u), 0);
}

/* SIGTERM while a request runs (held by the test: /probe/wait): spry up
 * stops listening, answers the request in full once the guest ends, then
 * exits 0. */
TEST(up, sigterm_lets_the_request_in_flight_finish)
{
    struct up u;
    ASSERT_EQ_INT(up_start(&u, APP, NULL), -1);
    struct gate g;
    gate_open(&g, &u);
    int fd = client_connect(u.port);
    ASSERT_GE_INT(fd, 0);
    ASSERT_EQ_INT(client_send(fd, "/probe/wait"), 0);
    gate_await_guest(&g); /* the guest is running now */
    ASSERT_EQ_INT(kill(u.pid, SIGTERM), 0);
    int other = -1;
    for (int waited = 0; waited < PATIENCE_MS && (other = client_connect(u.port)) >= 0;
         waited += 5) {
        close(other);
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    ASSERT_EQ_INT(other, -1); /* no longer listening */
    int status;
    ASSERT_EQ_INT(waitpid(u.pid, &status, WNOHANG), 0); /* but still there, draining */
    gate_release(&g);
    char body[64];
    ASSERT_EQ_INT(client_read(fd, body, sizeof body), 200);
    ASSERT_EQ_STR(body, "let go\n");
    close(fd);
    ASSERT_EQ_INT(waitpid(u.pid, &status, 0), u.pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ_INT(WEXITSTATUS(status), 0);
}

TEST(up, manifest_and_component_errors_stop_before_listening)
{
    struct up u;
    ASSERT_EQ_INT(up_start(&u, "spin_manifest_version = 2\n[application]\nname = 3\n", NULL), 1);
    ASSERT_TRUE(strstr(up_stderr(), "spin.toml:3:") != NULL);
    ASSERT_TRUE(strstr(up_stderr(), "application.name") != NULL);

    ASSERT_EQ_INT(up_start(&u,
                           "spin_manifest_version = 2\n[application]\nname = \"x\"\n"
                           "[[trigger.http]]\nroute = \"/a\"\ncomponent = \"c\"\n"
                           "[component.c]\nsource = \"missing.wasm\"\n",
                           NULL),
                  1);
    ASSERT_TRUE(strstr(up_stderr(), "missing.wasm") != NULL);

    ASSERT_EQ_INT(up_start(&u,
                           "spin_manifest_version = 2\n[application]\nname = \"x\"\n"
                           "[[trigger.http]]\nroute = \"/a\"\ncomponent = \"c\"\n"
                           "[component.c]\nsource = \"PROBE\"\n",
                           NULL),
                  1);
    ASSERT_TRUE(strstr(up_stderr(), "component 'c'") != NULL);
    ASSERT_TRUE(strstr(up_stderr(), "is a core module; the spin executor runs WebAssembly "
                                    "components") != NULL);

    /* No manifest where -f points. */
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "%s up -f %s/nowhere/spin.toml 2>&1; echo \"exit $?\"",
             test_build_path("spry"), test_tmpdir());
    const char *r = run_cmd(cmd);
    ASSERT_TRUE(strstr(r, "nowhere/spin.toml: cannot open the manifest: No such file") != NULL);
    ASSERT_TRUE(strstr(r, "exit 1\n") != NULL);
}

/* Regression: each loop's h2o context was made on the main thread, so the
 * loops' message-queue sockets shared one thread's buffer free list and
 * concurrent WAGI responses on two loops corrupted the heap (a crash within
 * seconds of `wrk -c64`, found by make bench-http). There is a loop per
 * CPU, and SO_REUSEPORT spreads the connections over them. The race is
 * rare per request: this load (64 connections, 20 requests each) did not
 * reproduce it on demand before the fix, so it guards the server under
 * load rather than that one interleaving. A count of requests rather than
 * a time: every one is answered, however slow the machine. */
TEST(up, many_concurrent_wagi_requests_on_two_loops)
{
    struct up u;
    ASSERT_EQ_INT(up_start(&u, APP, "--quiet", NULL), -1);
    enum { CLIENTS = 64, REQUESTS = 20 };
    struct client c[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        c[i] = (struct client){.port = u.port,
                               .path = i % 4 == 3 ? "/ping" : "/probe/status",
                               .requests = REQUESTS,
                               .want = i % 4 == 3 ? 201 : 418};
    clients_run(c, CLIENTS);
    for (int i = 0; i < CLIENTS; i++) {
        if (c[i].other != 0 || c[i].failed != 0)
            fprintf(stderr, "client %d: %d ok, %d other (first %d), %d failed\n", i, c[i].ok,
                    c[i].other, c[i].other_status, c[i].failed);
        ASSERT_EQ_INT(c[i].other, 0);
        ASSERT_EQ_INT(c[i].failed, 0);
        ASSERT_EQ_INT(c[i].ok, REQUESTS);
    }
    ASSERT_EQ_INT(up_stop(&u), 0);
}

/* ---- wasi:http components (the spin executor) ------------------------------ */

/* The hand-written handler (tests/http-components/handler.c) built by
 * scripts/build-http-guest.sh; skips when the toolchain never built it. */
static const char *http_component(const char *name)
{
    char rel[128];
    snprintf(rel, sizeof rel, "components/http/%s.wasm", name);
    const char *path = test_build_path(rel);
    if (access(path, R_OK) != 0)
        test_skip("%s is not built (scripts/build-http-guest.sh BUILD needs node >= 20.19 and "
                  "npm; make test builds it when they are there)",
                  path);
    return path;
}

/* Starts spry up on an app whose every route goes to component `name`. */
static int up_http(struct up *u, const char *name, const char *extra1, const char *extra2)
{
    static char manifest[8192];
    snprintf(manifest, sizeof manifest,
             "spin_manifest_version = 2\n"
             "[application]\nname = \"http-app\"\n"
             "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"handler\"\n"
             "[component.handler]\nsource = \"%s\"\n",
             http_component(name));
    return up_start(u, manifest, extra1, extra2, NULL);
}

static char *read_text(const char *path)
{
    static char buf[65536];
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f != NULL)
        fclose(f);
    buf[n] = '\0';
    return buf;
}

TEST(up, http_component_answers_with_its_status_headers_and_body)
{
    struct up u;
    ASSERT_EQ_INT(up_http(&u, "handler", "--quiet", NULL), -1);
    const char *r = http(&u, "", "/hello");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "content-type: text/plain\r\n") != NULL);
    ASSERT_TRUE(strstr(r, "\r\n\r\nhello from a wasi:http component\n") != NULL);

    r = http(&u, "", "/bench"); /* bench/http.sh's route */
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "\r\n\r\nhello from a wasi:http component\n") != NULL);

    r = http(&u, "", "/status");
    ASSERT_EQ_INT(status_of(r), 418);
    ASSERT_TRUE(strstr(r, "x-custom: custom value\r\n") != NULL);
    ASSERT_TRUE(strstr(r, "x-multi: one\r\nx-multi: two\r\n") != NULL);
    ASSERT_TRUE(strcasestr(r, "content-length: 7\r\n") != NULL);
    ASSERT_TRUE(strstr(r, "\r\n\r\nteapot\n") != NULL);

    r = http(&u, "", "/elsewhere");
    ASSERT_EQ_INT(status_of(r), 404);
    ASSERT_TRUE(strstr(r, "\r\n\r\nno route\n") != NULL);

    /* The same over HTTP/2 (h2c). */
    r = http(&u, "--http2-prior-knowledge", "/status");
    ASSERT_EQ_INT(status_of(r), 418);
    ASSERT_TRUE(strstr(r, "\r\n\r\nteapot\n") != NULL);
    ASSERT_EQ_INT(up_stop(&u), 0);

    /* Component stdout went to its log. */
    char path[4600];
    snprintf(path, sizeof path, "%s/.spin/logs/handler_stdout.txt", u.dir);
    ASSERT_TRUE(strstr(read_text(path), "stdout: served /hello\n") != NULL);
}

/* The handler sees the request as Spin passes it: every client header and
 * the spin-* metadata, in the server's order. */
TEST(up, http_component_sees_request_headers_and_spin_metadata)
{
    struct up u;
    ASSERT_EQ_INT(up_http(&u, "handler", "--quiet", NULL), -1);
    const char *r = http(&u, "-H 'X-Test: some value' -H 'X-Other: 2'", "/headers/deep?q=1");
    ASSERT_EQ_INT(status_of(r), 200);
    char line[256];
    snprintf(line, sizeof line, "host: 127.0.0.1:%d", u.port);
    ASSERT_TRUE(has_line(r, line));
    ASSERT_TRUE(has_line(r, "x-test: some value"));
    ASSERT_TRUE(has_line(r, "x-other: 2"));
    snprintf(line, sizeof line, "spin-full-url: http://127.0.0.1:%d/headers/deep?q=1", u.port);
    ASSERT_TRUE(has_line(r, line));
    ASSERT_TRUE(has_line(r, "spin-path-info: /headers/deep"));
    ASSERT_TRUE(has_line(r, "spin-matched-route: /..."));
    ASSERT_TRUE(has_line(r, "spin-raw-component-route: /..."));
    ASSERT_TRUE(has_line(r, "spin-base-path: /"));
    ASSERT_TRUE(strstr(r, "\nspin-client-addr: 127.0.0.1:") != NULL);
    ASSERT_EQ_INT(up_stop(&u), 0);
}

/* A POST body of 3 MiB + 17 bytes comes back byte for byte: read through
 * the request's input-stream and written through the response's
 * output-stream in 64 KiB pieces, over HTTP/1.1 and HTTP/2. */
TEST(up, http_component_echoes_a_body_larger_than_1_mib)
{
    struct up u;
    ASSERT_EQ_INT(up_http(&u, "handler", "--quiet", NULL), -1);
    char in[4400], out[4400], cmd[24000];
    snprintf(in, sizeof in, "%s/body.bin", test_tmpdir());
    snprintf(out, sizeof out, "%s/echo.bin", test_tmpdir());
    FILE *f = fopen(in, "wb");
    ASSERT_NOT_NULL(f);
    uint32_t x = 12345;
    for (size_t i = 0; i < (3u << 20) + 17; i++) {
        x = x * 1103515245u + 12345u;
        fputc((int)(x >> 24), f);
    }
    fclose(f);
    const char *protos[] = {"", "--http2-prior-knowledge"};
    for (int k = 0; k < 2; k++) {
        snprintf(cmd, sizeof cmd,
                 "curl -s --max-time 30 %s -D - -o '%s' --data-binary @'%s' "
                 "http://127.0.0.1:%d/echo && cmp '%s' '%s' && echo SAME",
                 protos[k], out, in, u.port, in, out);
        const char *r = run_cmd(cmd);
        ASSERT_EQ_INT(status_of(strstr(r, "HTTP/1.1 200") ? strstr(r, "HTTP/1.1 200") : r), 200);
        ASSERT_TRUE(strstr(r, "x-method: 2") != NULL); /* post */
        ASSERT_TRUE(strstr(r, "SAME\n") != NULL);
        unlink(out);
    }
    ASSERT_EQ_INT(up_stop(&u), 0);
}

/* How many times `needle` occurs in the stderr spry up wrote (read whole:
 * a debug log outgrows up_stderr's buffer). */
static int log_count(const char *needle)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/stderr.txt", test_tmpdir());
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t k; buf != NULL && (k = fread(buf + n, 1, cap - 1 - n, f)) > 0;) {
        n += k;
        if (n + 1 == cap) {
            char *more = realloc(buf, cap * 2);
            if (more == NULL)
                break;
            buf = more;
            cap *= 2;
        }
    }
    fclose(f);
    int count = 0;
    if (buf != NULL) {
        buf[n] = '\0';
        for (const char *p = buf; (p = strstr(p, needle)) != NULL; p += strlen(needle))
            count++;
    }
    free(buf);
    return count;
}

/* Under ASan a cold slot's instantiation alone can use a loop's 1 ms CPU
 * budget, so there a speculative run may stop for that reason first. */
#ifdef __SANITIZE_ADDRESS__
enum { SLOW_BUILD = 1 };
#else
enum { SLOW_BUILD = 0 };
#endif

/* wasi:http requests run first on the I/O loop that received them
 * (docs/http.md, "Speculation"). A handler that stays within the gate is
 * answered from there; each thing that stops such a run (an import outside
 * the gate, a wait, a response over 128 KiB, a trap, the CPU budget) sends
 * the request to a worker, which answers it as usual, and the next 64
 * requests go straight to a worker. The debug log says which way each
 * request went and why. */
TEST(up, http_component_runs_on_the_loop_first_and_each_stop_falls_back_to_a_worker)
{
    static const char answered[] = "component handler: answered from the I/O loop";
    static const char deferred[] = "component handler: speculative run deferred to a worker: ";
    static const char budget[] = "it was interrupted (its CPU budget on the loop ran out)";
    struct up u;
    setenv("SPRY_LOG", "debug", 1);
    int started = up_http(&u, "handler", "--request-timeout", "1500ms");
    unsetenv("SPRY_LOG");
    ASSERT_EQ_INT(started, -1);

    /* A slot's first request instantiates the component, which may take
     * the loop's whole CPU budget on a slow build (ASan): requests until
     * one is answered from the loop (then no back-off is pending). */
    const char *r = http(&u, "", "/bench");
    for (int i = 0; i < 200 && log_count(answered) == 0; i++)
        r = http(&u, "", "/bench");
    /* Within the gate: answered from the loop. */
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "\r\n\r\nhello from a wasi:http component\n") != NULL);
    ASSERT_EQ_INT(log_count(answered), 1);
    int slow_starts = log_count(deferred); /* 0 but on slow builds */
    /* An HTTP/1 body is streamed from the connection (it may not have
     * arrived): such a request goes to a worker without trying. */
    r = http(&u, "--data-binary 'a small body'", "/echo");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "\r\n\r\na small body") != NULL);
    ASSERT_EQ_INT(log_count(answered), 1);
    /* So is an HTTP/2 body that follows its HEADERS frame. */
    r = http(&u, "--http2-prior-knowledge --data-binary 'a small body'", "/echo");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "\r\n\r\na small body") != NULL);
    ASSERT_EQ_INT(log_count(answered), 1);
    /* An HTTP/2 request that ends with its HEADERS frame: on the loop. */
    r = http(&u, "--http2-prior-knowledge", "/bench");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "\r\n\r\nhello from a wasi:http component\n") != NULL);
    if (SLOW_BUILD)
        ASSERT_EQ_INT(log_count(answered) + log_count(deferred), 2 + slow_starts);
    else
        ASSERT_EQ_INT(log_count(answered), 2);
    if (!SLOW_BUILD)
        ASSERT_EQ_INT(log_count(deferred), slow_starts);

    static const struct {
        const char *path;
        int status;
        const char *body; /* the start of the body the worker answers */
        const char *why;  /* the deferral's reason in the log */
    } stops[] = {
        {"/network", 200, "network\n",
         "it called wasi:sockets/instance-network@0.2.0#instance-network"},
        {"/sleep", 200, "slept\n", "it would wait (wasi:io/poll)"},
        {"/wide", 200, "xxxxxxxx", "its response is larger than 131072 bytes"},
        {"/trap", 500, "Internal Server Error", "it failed"},
        {"/loop", 504, "", budget},
    };
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
        char line[256];
        snprintf(line, sizeof line, "%s%s", deferred, stops[i].why);
        char slow[256];
        snprintf(slow, sizeof slow, "%s%s", deferred, budget);
        int before = log_count(deferred), had = log_count(line), had_slow = log_count(slow);
        r = http(&u, "", stops[i].path);
        ASSERT_EQ_INT(status_of(r), stops[i].status);
        ASSERT_TRUE(strstr(r, "\r\n\r\n") != NULL);
        ASSERT_EQ_INT(strncmp(strstr(r, "\r\n\r\n") + 4, stops[i].body, strlen(stops[i].body)), 0);
        ASSERT_TRUE(log_count(line) == had + 1 || (SLOW_BUILD && log_count(slow) == had_slow + 1));
        ASSERT_EQ_INT(log_count(deferred), before + 1);
        /* Backing off: the next 64 requests skip the loop, then it speculates again. */
        int now = log_count(answered);
        http(&u, "-o /dev/null", "/bench?[1-64]");
        ASSERT_EQ_INT(log_count(answered), now);
        ASSERT_EQ_INT(status_of(http(&u, "", "/bench")), 200);
        if (!SLOW_BUILD)
            ASSERT_EQ_INT(log_count(answered), now + 1);
    }
    r = http(&u, "", "/wide");
    ASSERT_TRUE(strstr(r, "\r\n\r\n") != NULL);
    ASSERT_EQ_INT((long long)strlen(strstr(r, "\r\n\r\n") + 4), 200 * 1024);
    ASSERT_EQ_INT(up_stop(&u), 0);
    /* The worker's run alone was logged: one trap line, and the guest's
     * stderr of the first run was dropped. */
    ASSERT_EQ_INT(log_count("component handler: trap in"), 1);
    char path[4600];
    snprintf(path, sizeof path, "%s/.spin/logs/handler_stderr.txt", u.dir);
    const char *err = read_text(path);
    ASSERT_TRUE(strstr(err, "stderr: about to trap\n") != NULL);
    ASSERT_TRUE(strstr(strstr(err, "stderr: about to trap\n") + 1, "stderr: about to trap") ==
                NULL);
}

TEST(up, http_component_traps_and_missing_responses_answer_500_and_are_logged)
{
    struct up u;
    ASSERT_EQ_INT(up_http(&u, "handler", "--quiet", NULL), -1);
    ASSERT_EQ_INT(status_of(http(&u, "", "/trap")), 500);
    ASSERT_EQ_INT(status_of(http(&u, "", "/silent")), 500);
    ASSERT_EQ_INT(status_of(http(&u, "", "/error")), 500);
    /* The instance that trapped is not reused broken: the next request works. */
    ASSERT_EQ_INT(status_of(http(&u, "", "/hello")), 200);
    ASSERT_EQ_INT(up_stop(&u), 0);
    const char *err = up_stderr();
    ASSERT_TRUE(strstr(err, "component handler: trap in") != NULL);
    ASSERT_TRUE(strstr(err, "component handler: the handler returned without setting the "
                            "response-outparam") != NULL);
    ASSERT_TRUE(strstr(err, "component handler: the handler answered "
                            "error-code.internal-error(\"refused\")") != NULL);
    char path[4600];
    snprintf(path, sizeof path, "%s/.spin/logs/handler_stderr.txt", u.dir);
    ASSERT_TRUE(strstr(read_text(path), "stderr: about to trap\n") != NULL);
}

/* A handler that never answers (it loops) does not hold up other requests,
 * and is answered 504 at its deadline. Without timing, as for the WAGI
 * guest above: with a deadline no test reaches, once a warm instance
 * answered from the I/O loop the looping handler is seen to run there (the
 * debug log says its CPU budget on the loop ran out: it goes on on a
 * worker), 32 requests are then all answered while it still has no answer,
 * and the server is killed; a second server's deadline of 1.5 s then
 * answers it 504, not before it. */
TEST(up, http_component_that_never_answers_gets_504_while_32_others_succeed)
{
    static const char answered[] = "component handler: answered from the I/O loop";
    static const char looped[] = "component handler: speculative run deferred to a worker: it was "
                                 "interrupted (its CPU budget on the loop ran out)";
    struct up u;
    setenv("SPRY_LOG", "debug", 1);
    int started = up_http(&u, "handler", "--request-timeout", "10m");
    unsetenv("SPRY_LOG");
    ASSERT_EQ_INT(started, -1);
    /* Until a request is answered from the loop (none deferred since, so
     * the next one runs there too). */
    for (int i = 0; i < 200 && log_count(answered) == 0; i++)
        ASSERT_EQ_INT(status_of(http(&u, "", "/bench")), 200);
    ASSERT_EQ_INT(log_count(answered), 1);

    enum { OTHERS = 32 };
    struct client c[OTHERS + 1];
    atomic_int loop_answers;
    atomic_init(&loop_answers, 0);
    c[0] = (struct client){
        .port = u.port, .path = "/loop", .requests = 1, .want = 504, .answers = &loop_answers};
    for (int i = 1; i <= OTHERS; i++)
        c[i] = (struct client){.port = u.port, .path = "/status", .requests = 1, .want = 418};
    pthread_t loop_thread;
    clients_start(c, 1, &loop_thread);
    for (int waited = 0; log_count(looped) == 0 && waited < PATIENCE_MS; waited += 5)
        nanosleep(&(struct timespec){0, 5 * 1000000L}, NULL);
    ASSERT_EQ_INT(log_count(looped), 1); /* the handler runs, and loops */
    clients_run(c + 1, OTHERS);
    for (int i = 1; i <= OTHERS; i++)
        ASSERT_EQ_INT(c[i].ok, 1);
    ASSERT_EQ_INT(atomic_load(&loop_answers), 0); /* still looping */
    up_kill(&u);
    clients_join(1, &loop_thread);
    ASSERT_EQ_INT(atomic_load(&loop_answers), 0);

    ASSERT_EQ_INT(up_http(&u, "handler", "--request-timeout", "1500ms"), -1);
    uint64_t start = now_ms();
    ASSERT_EQ_INT(status_of(http(&u, "", "/loop")), 504);
    ASSERT_GE_INT((long long)(now_ms() - start), 1400); /* at the deadline, not before */
    ASSERT_EQ_INT(up_stop(&u), 0);
    ASSERT_TRUE(strstr(up_stderr(), "GET /loop passed its deadline") != NULL);
}

/* 32 keep-alive connections, 20 requests each, all at once: every answer
 * is the handler's. */
/* Sends raw bytes on a new connection and reads until the server closes;
 * *closed says whether it did (else the read timed out). */
static const char *raw_exchange(int port, const char *req, bool *closed)
{
    static char buf[1 << 16];
    int fd = client_connect(port);
    ASSERT_GE_INT(fd, 0);
    ASSERT_EQ_INT(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
    size_t n = 0;
    *closed = false;
    for (;;) {
        ssize_t k = recv(fd, buf + n, sizeof buf - 1 - n, 0);
        if (k == 0 || (k < 0 && errno == ECONNRESET))
            *closed = true;
        if (k <= 0 || (n += (size_t)k) == sizeof buf - 1)
            break;
    }
    buf[n] = '\0';
    close(fd);
    return buf;
}

/* The body of a chunked response (in place; the head is kept), so that a
 * check does not depend on how the writes were cut into chunks. */
static const char *dechunk(char *r)
{
    char *p = strstr(r, "\r\n\r\n");
    if (p == NULL || strcasestr(r, "transfer-encoding: chunked") == NULL)
        return r;
    p += 4;
    char *out = p;
    for (;;) {
        char *end;
        unsigned long n = strtoul(p, &end, 16);
        if (end == p || strncmp(end, "\r\n", 2) != 0 || n == 0 || strlen(end + 2) < n)
            break;
        memmove(out, end + 2, n);
        out += n;
        p = end + 2 + n + 2;
    }
    *out = '\0';
    return r;
}

/* outgoing-body.finish(some(trailers)) reaches an HTTP/1.1 client after
 * the last chunk, and an HTTP/2 client as a HEADERS frame after the body
 * (curl's header dump lists them after the head). */
TEST(up, http_component_trailers_follow_a_chunked_body)
{
    struct up u;
    ASSERT_EQ_INT(up_http(&u, "handler", "--quiet", NULL), -1);
    const char *r = http(&u, "--raw", "/trailers");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strcasestr(r, "transfer-encoding: chunked\r\n") != NULL);
    ASSERT_TRUE(strstr(r, "with trailers\n\r\n0\r\nx-trailer: one\r\nx-sum: 42\r\n\r\n") != NULL);
    r = http(&u, "--http2-prior-knowledge", "/trailers");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "\r\n\r\nwith trailers\n") != NULL);
    r = http(&u, "--http2-prior-knowledge -D - -o /dev/null", "/trailers");
    ASSERT_TRUE(strncmp(r, "HTTP/2 200", 10) == 0);
    const char *blank = strstr(r, "\r\n\r\n");
    ASSERT_NOT_NULL(blank);
    ASSERT_EQ_STR(blank + 4, "x-trailer: one\r\nx-sum: 42\r\n");
    ASSERT_EQ_INT(up_stop(&u), 0);
}

/* The trailers of a chunked request reach the guest through
 * incoming-body.finish's future-trailers; without any, it resolves to
 * none. */
TEST(up, http_component_reads_request_trailers)
{
    struct up u;
    ASSERT_EQ_INT(up_http(&u, "handler", "--quiet", NULL), -1);
    bool closed;
    const char *r =
        dechunk((char *)raw_exchange(u.port,
                                     "POST /req-trailers HTTP/1.1\r\nHost: a\r\n"
                                     "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                     "6\r\nhello \r\n5\r\nworld\r\n0\r\n"
                                     "X-Digest: abc123\r\nX-Count:  2 \r\n\r\n",
                                     &closed));
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "len=11\n") != NULL);
    ASSERT_TRUE(strstr(r, "x-digest: abc123\nx-count: 2\n") != NULL);
    r = dechunk((char *)raw_exchange(u.port,
                                     "POST /req-trailers HTTP/1.1\r\nHost: a\r\n"
                                     "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                     "3\r\nabc\r\n0\r\n\r\n",
                                     &closed));
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "len=3\nnone\n") != NULL);
    /* A content-length body has none either, nor an HTTP/2 body without a
     * trailing HEADERS frame. */
    r = http(&u, "--data-binary abcd", "/req-trailers");
    ASSERT_TRUE(strstr(r, "len=4\nnone\n") != NULL);
    r = http(&u, "--http2-prior-knowledge --data-binary abcd", "/req-trailers");
    ASSERT_TRUE(strstr(r, "len=4\nnone\n") != NULL);
    /* HTTP/2: the fields of the HEADERS frame after the DATA (curl cannot
     * send them: an nghttp2 client). */
    struct h2c c;
    h2c_open(&c, u.port);
    static const char *const trailers[] = {"x-digest", "abc123", "x-count", "2", NULL};
    int i = h2c_request(&c, "POST", "/req-trailers", NULL, (const uint8_t *)"hello world", 11, 11,
                        trailers);
    int k = h2c_request(&c, "POST", "/req-trailers", NULL, (const uint8_t *)"abc", 3, 3, NULL);
    ASSERT_TRUE(h2c_run(&c, h2c_all_closed, NULL, 20000));
    ASSERT_EQ_INT(c.streams[i].status, 200);
    ASSERT_TRUE(strstr(c.streams[i].body, "len=11\n") != NULL);
    ASSERT_TRUE(strstr(c.streams[i].body, "x-digest: abc123\nx-count: 2\n") != NULL);
    ASSERT_EQ_INT(c.streams[k].status, 200);
    ASSERT_TRUE(strstr(c.streams[k].body, "len=3\nnone\n") != NULL);
    h2c_close(&c);
    ASSERT_EQ_INT(up_stop(&u), 0);
}

static long peak_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    ASSERT_NOT_NULL(f);
    long kib = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static bool sent_at_least(struct h2c *c, void *arg)
{
    return c->streams[0].closed || c->streams[0].up_off >= *(size_t *)arg;
}

/* An HTTP/2 upload to a component is streamed: the guest reads it while
 * the client sends (the client gets past the stream's first 256 KiB
 * window only as the guest reads), and 64 MiB pass with the server's peak
 * memory growing far less than the body. */
TEST(up, http2_upload_is_streamed_to_a_component_with_bounded_memory)
{
    /* ASan keeps freed memory in a quarantine (256 MiB by default), which
     * would count as the server's: none for this server. */
    const char *asan = getenv("ASAN_OPTIONS");
    char *saved = asan != NULL ? strdup(asan) : NULL;
    char opts[1024];
    snprintf(opts, sizeof opts, "%s%squarantine_size_mb=0", saved ? saved : "",
             saved && *saved ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
    struct up u;
    int started = up_http(&u, "handler", "--max-body", "134217728");
    if (saved != NULL)
        setenv("ASAN_OPTIONS", saved, 1);
    else
        unsetenv("ASAN_OPTIONS");
    free(saved);
    ASSERT_EQ_INT(started, -1);
    const size_t size = 64u << 20, first = 1u << 20;
    uint8_t *body = malloc(size);
    ASSERT_NOT_NULL(body);
    uint32_t x = 12345, hash = 2166136261u;
    for (size_t i = 0; i < size; i++) {
        x = x * 1103515245u + 12345u;
        body[i] = (uint8_t)(x >> 24);
        hash = (hash ^ body[i]) * 16777619u;
    }
    /* The component is instantiated once before the peak is taken. */
    const char *r = http(&u, "--http2-prior-knowledge --data-binary abc", "/sink");
    ASSERT_EQ_INT(status_of(r), 200);
    long before = peak_rss_kib(u.pid);
    struct h2c c;
    h2c_open(&c, u.port);
    int i = h2c_request(&c, "POST", "/sink", NULL, body, size, first, NULL);
    size_t want = first;
    ASSERT_TRUE(h2c_run(&c, sent_at_least, &want, 20000));
    ASSERT_FALSE(c.streams[i].closed); /* /sink answers only at the end */
    h2c_allow(&c, i, size);
    ASSERT_TRUE(h2c_run(&c, h2c_all_closed, NULL, 60000));
    ASSERT_EQ_INT(c.streams[i].status, 200);
    char line[64];
    snprintf(line, sizeof line, "%zu %u\n", size, hash);
    ASSERT_EQ_STR(c.streams[i].body, line);
    long after = peak_rss_kib(u.pid);
    h2c_close(&c);
    free(body);
    ASSERT_TRUE(before > 0 && after > 0);
    if (after - before >= 16 * 1024)
        fprintf(stderr, "peak RSS %ld KiB -> %ld KiB\n", before, after);
    ASSERT_TRUE(after - before < 16 * 1024); /* a body held whole: > 64 MiB */
    ASSERT_EQ_INT(up_stop(&u), 0);
}

/* An outgoing-body dropped without finish after the head went out breaks
 * the response off: HTTP/1.1 closes before the last chunk, HTTP/2 resets
 * the stream; the client never sees a clean end. */
TEST(up, http_component_unfinished_body_is_an_incomplete_response)
{
    struct up u;
    ASSERT_EQ_INT(up_http(&u, "handler", "--quiet", NULL), -1);
    bool closed;
    const char *r = raw_exchange(u.port, "GET /unfinished HTTP/1.1\r\nHost: a\r\n\r\n", &closed);
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(closed); /* a keep-alive request: only a broken response closes */
    if (strstr(r, "partial\n") == NULL)
        fprintf(stderr, "response: [%s]\n", r);
    ASSERT_TRUE(strstr(r, "partial\n") != NULL);
    ASSERT_TRUE(strstr(r, "\r\n0\r\n\r\n") == NULL);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null --max-time 20 http://127.0.0.1:%d/unfinished; echo rc=$?; "
             "curl -s -o /dev/null --max-time 20 --http2-prior-knowledge "
             "http://127.0.0.1:%d/unfinished; echo rc=$?; "
             "curl -s -o /dev/null --max-time 20 --http2-prior-knowledge "
             "http://127.0.0.1:%d/trailers; echo rc=$?",
             u.port, u.port, u.port);
    /* 18: closed with data outstanding; 92: HTTP/2 stream error; 0: clean. */
    ASSERT_EQ_STR(run_cmd(cmd), "rc=18\nrc=92\nrc=0\n");
    ASSERT_EQ_INT(up_stop(&u), 0);
    ASSERT_TRUE(strstr(up_stderr(), "the response body was not finished") != NULL);
}

TEST(up, http_component_serves_32_concurrent_clients)
{
    struct up u;
    ASSERT_EQ_INT(up_http(&u, "handler", "--quiet", NULL), -1);
    enum { CLIENTS = 32 };
    struct client c[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        c[i] = (struct client){.port = u.port, .path = "/status", .requests = 20, .want = 418};
    clients_run(c, CLIENTS);
    for (int i = 0; i < CLIENTS; i++) {
        ASSERT_EQ_INT(c[i].failed, 0);
        ASSERT_EQ_INT(c[i].other, 0);
        ASSERT_EQ_INT(c[i].ok, 20);
    }
    ASSERT_EQ_INT(up_stop(&u), 0);
}

TEST(up, components_without_a_handler_or_with_unknown_imports_stop_before_listening)
{
    struct up u;
    ASSERT_EQ_INT(up_http(&u, "nohandler", NULL, NULL), 1);
    const char *err = up_stderr();
    ASSERT_TRUE(strstr(err, "component 'handler'") != NULL);
    ASSERT_TRUE(strstr(err, "exports no known HTTP handler: it needs "
                            "wasi:http/incoming-handler@0.2.x (it exports hello)") != NULL);

    /* The canonical-ABI guest imports interfaces of its own. */
    const char *abi = test_build_path("components/abi/abi-utf8.wasm");
    if (access(abi, R_OK) != 0)
        test_skip("%s is not built", abi);
    char manifest[8192];
    snprintf(manifest, sizeof manifest,
             "spin_manifest_version = 2\n[application]\nname = \"x\"\n"
             "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"abi\"\n"
             "[component.abi]\nsource = \"%s\"\n",
             abi);
    ASSERT_EQ_INT(up_start(&u, manifest, NULL), 1);
    err = up_stderr();
    ASSERT_TRUE(strstr(err, "component 'abi'") != NULL);
    ASSERT_TRUE(strstr(err, "Spry does not provide the interface spry:abi/types") != NULL);
}

/* ---- outbound HTTP from a component (wasi:http/outgoing-handler) --------- */

/* A loopback HTTP/1.1 server on a thread: counts connections and answers
 * each request with "seen METHOD PATH body=<body>" (content-length or
 * chunked request bodies), then closes. */
struct loopback {
    int fd, port;
    pthread_t thread;
    atomic_int connections;
    atomic_bool stop;
};

/* Reads until "\r\n\r\n" plus the body; returns the bytes read, or -1. */
static int read_request(int fd, char *buf, size_t cap, char *body, size_t body_cap)
{
    size_t n = 0;
    char *end = NULL;
    while (end == NULL) {
        ssize_t k = read(fd, buf + n, cap - 1 - n);
        if (k <= 0)
            return -1;
        n += (size_t)k;
        buf[n] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end == NULL && n + 1 >= cap)
            return -1;
    }
    size_t head = (size_t)(end + 4 - buf);
    const char *cl = strcasestr(buf, "\r\ncontent-length:");
    bool chunked = strcasestr(buf, "\r\ntransfer-encoding: chunked") != NULL;
    size_t want = cl != NULL && cl < end ? (size_t)atol(cl + 17) : 0;
    for (;;) {
        if (!chunked && n - head >= want)
            break;
        if (chunked && strstr(buf + head, "0\r\n\r\n") != NULL)
            break;
        if (n + 1 >= cap)
            return -1;
        ssize_t k = read(fd, buf + n, cap - 1 - n);
        if (k <= 0)
            return -1;
        n += (size_t)k;
        buf[n] = '\0';
    }
    size_t bn = 0;
    if (!chunked) {
        bn = want < body_cap - 1 ? want : body_cap - 1;
        memcpy(body, buf + head, bn);
    } else {
        for (const char *p = buf + head;;) {
            size_t len = strtoul(p, NULL, 16);
            const char *data = strstr(p, "\r\n");
            if (len == 0 || data == NULL)
                break;
            data += 2;
            if (bn + len < body_cap)
                memcpy(body + bn, data, len), bn += len;
            p = data + len + 2;
        }
    }
    body[bn] = '\0';
    return (int)n;
}

static void *loopback_main(void *arg)
{
    struct loopback *l = arg;
    while (!atomic_load(&l->stop)) {
        struct pollfd p = {.fd = l->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(l->fd, NULL, NULL);
        if (c < 0)
            continue;
        atomic_fetch_add(&l->connections, 1);
        struct timeval tv = {10, 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        static char req[65536], body[16384];
        if (read_request(c, req, sizeof req, body, sizeof body) > 0) {
            char method[16] = "", path[256] = "";
            sscanf(req, "%15s %255s", method, path);
            char text[17000], resp[18000];
            int tn = snprintf(text, sizeof text, "seen %s %s body=%s", method, path, body);
            int rn =
                snprintf(resp, sizeof resp,
                         "HTTP/1.1 201 Created\r\ncontent-type: text/plain\r\n"
                         "x-loopback: yes\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s",
                         tn, text);
            ssize_t w = write(c, resp, (size_t)rn);
            (void)w;
        }
        close(c);
    }
    return NULL;
}

static void loopback_start(struct loopback *l)
{
    l->fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE_INT(l->fd, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000001);
    ASSERT_EQ_INT(bind(l->fd, (struct sockaddr *)&a, sizeof a), 0);
    ASSERT_EQ_INT(listen(l->fd, 16), 0);
    socklen_t len = sizeof a;
    ASSERT_EQ_INT(getsockname(l->fd, (struct sockaddr *)&a, &len), 0);
    l->port = ntohs(a.sin_port);
    atomic_init(&l->connections, 0);
    atomic_init(&l->stop, false);
    ASSERT_EQ_INT(pthread_create(&l->thread, NULL, loopback_main, l), 0);
}

static void loopback_stop(struct loopback *l)
{
    atomic_store(&l->stop, true);
    pthread_join(l->thread, NULL);
    close(l->fd);
}

/* The Spin JavaScript app (scripts/build-js-app.sh), allowed `allowed`. */
static int up_js(struct up *u, const char *allowed)
{
    const char *app = test_build_path("tests/http-components/js-app.wasm");
    if (access(app, R_OK) != 0)
        test_skip("%s is not built (scripts/build-js-app.sh BUILD needs node and npm)", app);
    static char manifest[8192];
    snprintf(manifest, sizeof manifest,
             "spin_manifest_version = 2\n"
             "[application]\nname = \"js\"\n"
             "[variables]\nallowed_port = { default = \"0\" }\n"
             "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"js\"\n"
             "[component.js]\nsource = \"%s\"\nallowed_outbound_hosts = [%s]\n",
             app, allowed);
    return up_start(u, manifest, "--quiet", NULL);
}

TEST(up, http_component_fetches_an_allowed_loopback_server)
{
    struct loopback l;
    loopback_start(&l);
    char allowed[128];
    /* The port comes through a variable: templates resolve. */
    snprintf(allowed, sizeof allowed, "\"http://127.0.0.1:{{ allowed_port }}\"");
    char env[32];
    snprintf(env, sizeof env, "%d", l.port);
    setenv("SPIN_VARIABLE_ALLOWED_PORT", env, 1);
    struct up u;
    int rc = up_js(&u, allowed);
    unsetenv("SPIN_VARIABLE_ALLOWED_PORT");
    ASSERT_EQ_INT(rc, -1);
    char args[256];
    snprintf(args, sizeof args, "-H 'x-target-url: http://127.0.0.1:%d/some/path?q=1'", l.port);
    const char *r = http(&u, args, "/outbound");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "\"status\":201") != NULL);
    ASSERT_TRUE(strstr(r, "\"x-loopback\":\"yes\"") != NULL);
    ASSERT_TRUE(strstr(r, "\"body\":\"seen GET /some/path?q=1 body=\"") != NULL);
    ASSERT_EQ_INT(atomic_load(&l.connections), 1);

    /* A request body goes out as the guest writes it. */
    snprintf(args, sizeof args,
             "-H 'x-target-url: http://127.0.0.1:%d/post' -H 'x-target-method: POST' "
             "--data-binary 'sent by the guest'",
             l.port);
    r = http(&u, args, "/outbound");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "\"body\":\"seen POST /post body=sent by the guest\"") != NULL);
    ASSERT_EQ_INT(atomic_load(&l.connections), 2);
    ASSERT_EQ_INT(up_stop(&u), 0);
    loopback_stop(&l);
}

/* One handler makes 2,000 outbound requests one after the other (more
 * than the client's 1,024 in flight at once): each is given back when the
 * guest drops its response and body, so none is refused. */
TEST(up, http_component_makes_2000_sequential_outbound_requests)
{
    enum { N = 2000 };
    struct loopback l;
    loopback_start(&l);
    static char manifest[8192];
    snprintf(manifest, sizeof manifest,
             "spin_manifest_version = 2\n"
             "[application]\nname = \"http-app\"\n"
             "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"handler\"\n"
             "[component.handler]\nsource = \"%s\"\n"
             "allowed_outbound_hosts = [\"http://127.0.0.1:%d\"]\n",
             http_component("handler"), l.port);
    struct up u;
    ASSERT_EQ_INT(up_start(&u, manifest, "--quiet", "--request-timeout", "300s", NULL), -1);
    char path[64], cmd[256];
    snprintf(path, sizeof path, "/fetch-many/%d/%d", l.port, N);
    snprintf(cmd, sizeof cmd, "curl -s --max-time 300 'http://127.0.0.1:%d%s'", u.port, path);
    /* The loopback answers "seen GET /I body=" to each. */
    uint64_t bytes = 0;
    for (int i = 0; i < N; i++) {
        char one[64];
        bytes += (uint64_t)snprintf(one, sizeof one, "seen GET /%d body=", i);
    }
    char want[128];
    snprintf(want, sizeof want, "ok=%d bytes=%llu fail=0\n", N, (unsigned long long)bytes);
    ASSERT_EQ_STR(run_cmd(cmd), want);
    ASSERT_EQ_INT(atomic_load(&l.connections), N);
    ASSERT_EQ_INT(up_stop(&u), 0);
    loopback_stop(&l);
}

TEST(up, http_component_denied_hosts_ports_and_schemes_make_no_connection)
{
    struct loopback allowed_srv, other;
    loopback_start(&allowed_srv);
    loopback_start(&other);
    char allowed[128];
    snprintf(allowed, sizeof allowed, "\"http://127.0.0.1:%d\"", allowed_srv.port);
    struct up u;
    ASSERT_EQ_INT(up_js(&u, allowed), -1);
    const char *targets[3];
    char t0[128], t1[128], t2[128];
    snprintf(t0, sizeof t0, "http://127.0.0.1:%d/", other.port);        /* port */
    snprintf(t1, sizeof t1, "https://127.0.0.1:%d/", allowed_srv.port); /* scheme */
    snprintf(t2, sizeof t2, "http://localhost:%d/", allowed_srv.port);  /* host */
    targets[0] = t0, targets[1] = t1, targets[2] = t2;
    for (int i = 0; i < 3; i++) {
        char args[256];
        snprintf(args, sizeof args, "-H 'x-target-url: %s'", targets[i]);
        const char *r = http(&u, args, "/outbound");
        ASSERT_EQ_INT(status_of(r), 502);
        ASSERT_TRUE(strstr(r, "\"error\"") != NULL);
    }
    /* A relative URL needs `self`, which is not granted. */
    const char *r = http(&u, "-H 'x-target-url: /hello'", "/outbound");
    ASSERT_TRUE(status_of(r) == 502 || strstr(r, "\"error\"") != NULL);
    ASSERT_EQ_INT(up_stop(&u), 0);
    ASSERT_EQ_INT(atomic_load(&other.connections), 0);
    ASSERT_EQ_INT(atomic_load(&allowed_srv.connections), 0);
    const char *err = up_stderr();
    ASSERT_TRUE(strstr(err, "denied") != NULL);
    loopback_stop(&other);
    loopback_stop(&allowed_srv);
}

/* ---- service chaining: <component-id>.spin.internal, in-process ------------ */

/* front serves /chain (the handler's outgoing request to x-chain-url) and
 * /chain-timed (the same with request-options) with
 * `allowed` as its allowed_outbound_hosts; back (the same handler) and
 * probe (the WAGI probe) have private routes only; lonely has no route. */
static int up_chain_with(struct up *u, const char *allowed, const char *arg1, const char *arg2)
{
    static char manifest[8192];
    const char *handler = http_component("handler");
    snprintf(manifest, sizeof manifest,
             "spin_manifest_version = 2\n"
             "[application]\nname = \"chain\"\n"
             "[[trigger.http]]\nroute = \"/chain\"\ncomponent = \"front\"\n"
             "[[trigger.http]]\nroute = \"/chain-timed\"\ncomponent = \"front\"\n"
             "[[trigger.http]]\nroute = { private = true }\ncomponent = \"back\"\n"
             "[[trigger.http]]\nroute = { private = true }\ncomponent = \"probe\"\n"
             "executor = { type = \"wagi\" }\n"
             "[component.front]\nsource = \"%s\"\nallowed_outbound_hosts = [%s]\n"
             "[component.back]\nsource = \"%s\"\n"
             "[component.probe]\nsource = \"PROBE\"\n"
             "[component.lonely]\nsource = \"%s\"\n",
             handler, allowed, handler, handler);
    int rc = up_start(u, manifest, "--quiet", arg1, arg2, NULL);
    if (rc != -1)
        fprintf(stderr, "spry up: %s\n", up_stderr());
    return rc;
}

static int up_chain(struct up *u, const char *allowed)
{
    return up_chain_with(u, allowed, NULL, NULL);
}

/* GET /chain asking front to request `url`. */
static const char *chain_get(const struct up *u, const char *extra, const char *url)
{
    char args[6000];
    snprintf(args, sizeof args, "%s -H 'x-chain-url: %s'", extra, url);
    return http(u, args, "/chain");
}

/* A private route is out of reach from outside, a chained request reaches
 * it with the metadata Spin gives a chained request (the wildcard match,
 * the whole path as path-info, client 0.0.0.0:0), and a WAGI component
 * serves a chained request too. */
TEST(up, chained_request_reaches_private_routes_with_spin_metadata)
{
    struct up u;
    ASSERT_EQ_INT(up_chain(&u, "\"http://back.spin.internal\", \"http://probe.spin.internal\""),
                  -1);
    ASSERT_EQ_INT(status_of(http(&u, "", "/headers")), 404);
    /* The Host header chooses nothing: the path is routed as ever. */
    ASSERT_EQ_INT(status_of(http(&u, "-H 'Host: back.spin.internal'", "/headers")), 404);
    ASSERT_EQ_INT(status_of(http(&u, "-H 'Host: back.spin.internal'", "/hello")), 404);

    const char *r = chain_get(&u, "", "http://back.spin.internal/headers/deep?q=1");
    ASSERT_EQ_INT(status_of(r), 200);
    static const char *const want[] = {
        "host: back.spin.internal",
        "x-chain-url: http://back.spin.internal/headers/deep?q=1",
        "spin-full-url: http://back.spin.internal/headers/deep?q=1",
        "spin-path-info: /headers/deep",
        "spin-matched-route: /...",
        "spin-raw-component-route: /...",
        "spin-component-route: ",
        "spin-base-path: /",
        "spin-client-addr: 0.0.0.0:0",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!has_line(r, want[i]))
            fprintf(stderr, "missing '%s' in:\n%s\n", want[i], r);
        ASSERT_TRUE(has_line(r, want[i]));
    }
    /* The caller's own spin-* headers are not passed on as the target's. */
    ASSERT_TRUE(strstr(r, "spin-path-info: /chain") == NULL);

    /* Status, headers and body come back as the target answered. */
    r = chain_get(&u, "--http2-prior-knowledge", "http://back.spin.internal/status");
    ASSERT_EQ_INT(status_of(r), 418);
    ASSERT_TRUE(strstr(r, "x-custom: custom value\r\n") != NULL);
    ASSERT_TRUE(strstr(r, "\r\n\r\nteapot\n") != NULL);

    /* A WAGI target: CGI variables of a chained request, the body on stdin. */
    r = chain_get(&u, "", "http://probe.spin.internal/env?a=1");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(has_line(r, "PATH_INFO=/env"));
    ASSERT_TRUE(has_line(r, "QUERY_STRING=a=1"));
    ASSERT_TRUE(has_line(r, "X_MATCHED_ROUTE=/..."));
    ASSERT_TRUE(has_line(r, "REMOTE_ADDR=0.0.0.0"));
    ASSERT_TRUE(has_line(r, "HTTP_HOST=probe.spin.internal"));
    r = chain_get(&u, "--data-binary 'sent along the chain'", "http://probe.spin.internal/echo");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "\r\n\r\nsent along the chain") != NULL);
    ASSERT_EQ_INT(up_stop(&u), 0);
}

/* Chaining needs the target in allowed_outbound_hosts, a component of the
 * app, and a route of that component; the guest sees the error-code. */
TEST(up, chained_requests_need_allowed_hosts_and_a_component_with_a_route)
{
    struct up u;
    ASSERT_EQ_INT(up_chain(&u, "\"http://lonely.spin.internal\""), -1);
    const char *r = chain_get(&u, "", "http://back.spin.internal/hello");
    ASSERT_EQ_INT(status_of(r), 502);
    ASSERT_TRUE(strstr(r, "\r\n\r\nerror-code 15\n") != NULL); /* HTTP-request-denied */
    r = chain_get(&u, "", "http://nosuch.spin.internal/hello");
    ASSERT_EQ_INT(status_of(r), 502);
    ASSERT_TRUE(strstr(r, "\r\n\r\nerror-code 15\n") != NULL);
    r = chain_get(&u, "", "http://lonely.spin.internal/hello");
    ASSERT_EQ_INT(status_of(r), 502);
    ASSERT_TRUE(strstr(r, "\r\n\r\nerror-code 38: component 'lonely' has no HTTP route") !=
                NULL); /* internal-error */
    ASSERT_EQ_INT(up_stop(&u), 0);
    const char *err = up_stderr();
    ASSERT_TRUE(strstr(err, "back.spin.internal denied") != NULL);
}

/* A component that chains to itself stops at the depth bound with
 * loop-detected, and the server goes on serving. */
TEST(up, a_chain_loop_ends_with_loop_detected)
{
    struct up u;
    ASSERT_EQ_INT(up_chain(&u, "\"*://*.spin.internal:*\""), -1);
    const char *r = chain_get(&u, "", "http://front.spin.internal/chain");
    ASSERT_EQ_INT(status_of(r), 502);
    ASSERT_TRUE(strstr(r, "\r\n\r\nerror-code 36\n") != NULL); /* loop-detected */
    r = chain_get(&u, "", "http://back.spin.internal/hello");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "\r\n\r\nhello from a wasi:http component\n") != NULL);
    ASSERT_EQ_INT(up_stop(&u), 0);
    ASSERT_TRUE(strstr(up_stderr(), "would be 11 requests deep") != NULL);
}

/* Trailers pass through a chained request both ways, as over HTTP/1.1
 * chunked: the target's response trailers resolve the caller's
 * incoming-body.finish (front's /chain finishes its own response with
 * them), and the caller's outgoing-body.finish trailers are the target's
 * request trailers (front passes on those of its own chunked request).
 * Without any, there are none. */
TEST(up, trailers_pass_through_a_chained_request_both_ways)
{
    struct up u;
    ASSERT_EQ_INT(up_chain(&u, "\"http://back.spin.internal\""), -1);
    const char *r = chain_get(&u, "--raw", "http://back.spin.internal/trailers");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strcasestr(r, "transfer-encoding: chunked\r\n") != NULL);
    ASSERT_TRUE(strstr(r, "with trailers\n\r\n0\r\nx-trailer: one\r\nx-sum: 42\r\n\r\n") != NULL);
    r = chain_get(&u, "--http2-prior-knowledge -D - -o /dev/null",
                  "http://back.spin.internal/trailers");
    ASSERT_TRUE(strncmp(r, "HTTP/2 200", 10) == 0);
    const char *blank = strstr(r, "\r\n\r\n");
    ASSERT_NOT_NULL(blank);
    ASSERT_EQ_STR(blank + 4, "x-trailer: one\r\nx-sum: 42\r\n");
    /* A chunked response without trailers ends with the bare last chunk. */
    r = chain_get(&u, "--raw", "http://back.spin.internal/wide");
    ASSERT_EQ_INT(status_of(r), 200);
    size_t len = strlen(r);
    ASSERT_TRUE(len > 8 && strcmp(r + len - 8, "\n\r\n0\r\n\r\n") == 0);

    /* The request's trailers, names lower case, values trimmed. */
    bool closed;
    r = dechunk((char *)raw_exchange(u.port,
                                     "POST /chain HTTP/1.1\r\nHost: a\r\n"
                                     "x-chain-url: http://back.spin.internal/req-trailers\r\n"
                                     "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                     "6\r\nhello \r\n5\r\nworld\r\n0\r\n"
                                     "X-Digest: abc123\r\nX-Count:  2 \r\n\r\n",
                                     &closed));
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "\r\n\r\nlen=11\nx-digest: abc123\nx-count: 2\n") != NULL);
    r = dechunk((char *)raw_exchange(u.port,
                                     "POST /chain HTTP/1.1\r\nHost: a\r\n"
                                     "x-chain-url: http://back.spin.internal/req-trailers\r\n"
                                     "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                     "3\r\nabc\r\n0\r\n\r\n",
                                     &closed));
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "\r\n\r\nlen=3\nnone\n") != NULL);
    r = chain_get(&u, "--data-binary abcd", "http://back.spin.internal/req-trailers");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "\r\n\r\nlen=4\nnone\n") != NULL);
    ASSERT_EQ_INT(up_stop(&u), 0);
}

/* A component built with Spin's JavaScript SDK chains with fetch(). */
TEST(up, js_component_fetches_a_private_component_by_chaining)
{
    const char *app = test_build_path("tests/http-components/js-app.wasm");
    if (access(app, R_OK) != 0)
        test_skip("%s is not built (scripts/build-js-app.sh BUILD needs node and npm)", app);
    static char manifest[8192];
    snprintf(manifest, sizeof manifest,
             "spin_manifest_version = 2\n"
             "[application]\nname = \"js-chain\"\n"
             "[[trigger.http]]\nroute = \"/...\"\ncomponent = \"js\"\n"
             "[[trigger.http]]\nroute = { private = true }\ncomponent = \"back\"\n"
             "[component.js]\nsource = \"%s\"\n"
             "allowed_outbound_hosts = [\"http://back.spin.internal\"]\n"
             "[component.back]\nsource = \"%s\"\n",
             app, http_component("handler"));
    struct up u;
    ASSERT_EQ_INT(up_start(&u, manifest, "--quiet", NULL), -1);
    const char *r = http(&u, "-H 'x-target-url: http://back.spin.internal/status'", "/outbound");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "\"status\":418") != NULL);
    ASSERT_TRUE(strstr(r, "\"x-custom\":\"custom value\"") != NULL);
    ASSERT_TRUE(strstr(r, "\"body\":\"teapot\\n\"") != NULL);
    r = http(&u,
             "-H 'x-target-url: http://back.spin.internal/echo' -H 'x-target-method: POST' "
             "--data-binary 'from js'",
             "/outbound");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "\"body\":\"from js\"") != NULL);
    ASSERT_EQ_INT(up_stop(&u), 0);
}

/* With one instance, which the caller holds, a chained request could only
 * wait for it: it is refused at once (connection-limit-reached) and the
 * server goes on serving. */
TEST(up, a_chained_request_never_waits_for_an_instance_its_caller_holds)
{
    struct up u;
    ASSERT_EQ_INT(up_chain_with(&u, "\"http://*.spin.internal\"", "--max-instances", "1"), -1);
    for (int i = 0; i < 2; i++) {
        const char *r = chain_get(&u, "", "http://back.spin.internal/hello");
        ASSERT_EQ_INT(status_of(r), 502);
        ASSERT_TRUE(strstr(r, "\r\n\r\nerror-code 11\n") != NULL);
    }
    ASSERT_EQ_INT(up_stop(&u), 0);
    ASSERT_TRUE(strstr(up_stderr(), "chained requests run already") != NULL);
}

/* 3 MiB + 17 bytes each way: the request body streams to a target that
 * hashes it, and a target's 3 MiB answer streams back byte for byte. */
TEST(up, bodies_larger_than_1_mib_pass_through_a_chain)
{
    struct up u;
    ASSERT_EQ_INT(up_chain(&u, "\"http://*.spin.internal\""), -1);
    char in[4400], out[4400], cmd[24000];
    snprintf(in, sizeof in, "%s/body.bin", test_tmpdir());
    snprintf(out, sizeof out, "%s/big.bin", test_tmpdir());
    FILE *f = fopen(in, "wb");
    ASSERT_NOT_NULL(f);
    /* The bytes the handler's /big writes (handler.c); hashed for /sink. */
    uint32_t x = 12345, hash = 2166136261u;
    const size_t size = (3u << 20) + 17;
    for (size_t i = 0; i < size; i++) {
        x = x * 1103515245u + 12345u;
        fputc((int)(x >> 24), f);
        hash = (hash ^ (x >> 24)) * 16777619u;
    }
    fclose(f);
    char want[64];
    snprintf(want, sizeof want, "\r\n\r\n%zu %u\n", size, hash);
    const char *protos[] = {"", "--http2-prior-knowledge"};
    for (int k = 0; k < 2; k++) {
        char args[4600];
        snprintf(args, sizeof args, "%s -H 'Expect:' --data-binary @'%s'", protos[k], in);
        const char *r = chain_get(&u, args, "http://back.spin.internal/sink");
        ASSERT_EQ_INT(status_of(r), 200);
        if (strstr(r, want) == NULL)
            fprintf(stderr, "want '%s' in:\n%s\n", want + 4, r);
        ASSERT_TRUE(strstr(r, want) != NULL);

        snprintf(cmd, sizeof cmd,
                 "curl -s --max-time 30 %s -o '%s' -H 'x-chain-url: http://back.spin.internal/big' "
                 "http://127.0.0.1:%d/chain && cmp '%s' '%s' && echo SAME",
                 protos[k], out, u.port, in, out);
        ASSERT_TRUE(strstr(run_cmd(cmd), "SAME\n") != NULL);
        unlink(out);
    }
    ASSERT_EQ_INT(up_stop(&u), 0);
}

/* GET /chain-timed asking front to request `url` with the request-options
 * timeouts in `extra` (x-first-byte-ms and friends). */
static const char *chain_timed(const struct up *u, const char *extra, const char *url)
{
    char args[6000];
    snprintf(args, sizeof args, "%s -H 'x-chain-url: %s'", extra, url);
    return http(u, args, "/chain-timed");
}

/* The caller's request-options bound a chained request as they bound an
 * outbound one: no head within the first-byte timeout (the target's
 * /sleep-1s waits 1 s: a head that came while a loaded machine kept the
 * caller from looking would be taken) or no bytes within the between-bytes
 * timeout (its /drip waits 1 s between two lines) is connection-read-timeout
 * (error-code case 9 in the WIT), and the request is cut off; longer
 * timeouts let the same requests through, and a connect timeout has
 * nothing to wait for. */
TEST(up, a_chained_request_honours_the_callers_timeouts)
{
    struct up u;
    ASSERT_EQ_INT(up_chain_with(&u, "\"http://*.spin.internal\"", NULL, NULL), -1);
    const char *r =
        chain_timed(&u, "-H 'x-first-byte-ms: 1'", "http://back.spin.internal/sleep-1s");
    ASSERT_EQ_INT(status_of(r), 502);
    ASSERT_TRUE(strstr(r, "\r\n\r\nerror-code 9\n") != NULL);
    r = chain_timed(&u, "-H 'x-first-byte-ms: 20000'", "http://back.spin.internal/sleep");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "\r\n\r\nslept\n") != NULL);
    r = chain_timed(&u, "-H 'x-connect-ms: 1'", "http://back.spin.internal/sleep");
    ASSERT_EQ_INT(status_of(r), 200);

    r = chain_timed(&u, "-H 'x-between-bytes-ms: 200'", "http://back.spin.internal/drip");
    ASSERT_EQ_INT(status_of(r), 200); /* the head came; the body stops short */
    ASSERT_TRUE(strstr(r, "\r\n\r\nfirst\n") != NULL);
    ASSERT_TRUE(strstr(r, "second") == NULL);
    r = chain_timed(&u, "-H 'x-between-bytes-ms: 20000'", "http://back.spin.internal/drip");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "\r\n\r\nfirst\nsecond\n") != NULL);
    ASSERT_EQ_INT(up_stop(&u), 0);
}

/* Speculation takes only a slot that holds the component already: a fresh
 * server's first request would instantiate on the I/O loop, outside the
 * run's CPU budget, so it goes to a worker (which instantiates) and is
 * answered as usual; with that slot warm (once the worker gave it back),
 * later requests run on the loop again. */
TEST(up, speculation_never_instantiates_on_the_loop_and_the_fallback_answers)
{
    static const char answered[] = "component handler: answered from the I/O loop";
    static const char cold[] = "component handler: speculative run deferred to a worker: no warm "
                               "instance";
    struct up u;
    setenv("SPRY_LOG", "debug", 1);
    int started = up_http(&u, "handler", NULL, NULL);
    unsetenv("SPRY_LOG");
    ASSERT_EQ_INT(started, -1);
    const char *r = http(&u, "", "/bench");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(strstr(r, "\r\n\r\nhello from a wasi:http component\n") != NULL);
    ASSERT_EQ_INT(log_count(cold), 1);
    ASSERT_EQ_INT(log_count(answered), 0);
    int colds = 1;
    /* Warm now: from the loop (a slow build's run may overrun its budget
     * and defer, backing off; then it comes back after the back-off). */
    for (int i = 0; i < 200 && log_count(answered) == 0; i++) {
        r = http(&u, "", "/bench");
        colds = log_count(cold); /* again while the worker had not given the slot back yet */
        ASSERT_EQ_INT(status_of(r), 200);
        ASSERT_TRUE(strstr(r, "\r\n\r\nhello from a wasi:http component\n") != NULL);
    }
    ASSERT_EQ_INT(log_count(answered), 1);
    ASSERT_LT_INT(colds, 10);
    ASSERT_EQ_INT(up_stop(&u), 0);
}

/* One WAGI component on two routes with different argv: each request runs
 * with the settings of the route it matched; a chained request, which
 * matches no route of its own, with those of the component's last route
 * (as Spin, which keeps the last trigger configuration of a component). */
TEST(up, a_wagi_component_on_two_routes_runs_with_the_matched_routes_settings)
{
    static const char manifest[] =
        "spin_manifest_version = 2\n"
        "[application]\nname = \"routes\"\n"
        "[[trigger.http]]\nroute = \"/one/...\"\ncomponent = \"probe\"\n"
        "executor = { type = \"wagi\", argv = \"first-route ${ARGS}\" }\n"
        "[[trigger.http]]\nroute = \"/two/...\"\ncomponent = \"probe\"\n"
        "executor = { type = \"wagi\", argv = \"second-route ${ARGS}\" }\n"
        "[[trigger.http]]\nroute = \"/chain\"\ncomponent = \"front\"\n"
        "[component.probe]\nsource = \"PROBE\"\n"
        "[component.front]\nsource = \"HANDLER\"\n"
        "allowed_outbound_hosts = [\"http://probe.spin.internal\"]\n";
    char text[sizeof manifest + 4096];
    const char *at = strstr(manifest, "HANDLER");
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - manifest), manifest,
             http_component("handler"), at + strlen("HANDLER"));
    struct up u;
    ASSERT_EQ_INT(up_start(&u, text, "--quiet", NULL), -1);
    const char *r = http(&u, "", "/one/env?a");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(has_line(r, "argv[0]=first-route"));
    ASSERT_TRUE(has_line(r, "argv[1]=a"));
    ASSERT_TRUE(has_line(r, "X_MATCHED_ROUTE=/one/..."));
    r = http(&u, "", "/two/env?b");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(has_line(r, "argv[0]=second-route"));
    ASSERT_TRUE(has_line(r, "argv[1]=b"));
    ASSERT_TRUE(has_line(r, "X_MATCHED_ROUTE=/two/..."));
    r = http(&u, "", "/one/env");
    ASSERT_TRUE(has_line(r, "argv[0]=first-route"));
    r = chain_get(&u, "", "http://probe.spin.internal/env?c");
    ASSERT_EQ_INT(status_of(r), 200);
    ASSERT_TRUE(has_line(r, "argv[0]=second-route"));
    ASSERT_TRUE(has_line(r, "argv[1]=c"));
    ASSERT_TRUE(has_line(r, "X_MATCHED_ROUTE=/..."));
    ASSERT_EQ_INT(up_stop(&u), 0);
}

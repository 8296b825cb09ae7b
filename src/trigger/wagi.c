/*
 * The WAGI executor (see wagi.h).
 */
#include "trigger/wagi.h"

#include "base/alloc.h"
#include "base/log.h"
#include "trigger/wagi_cgi.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum {
    DEFAULT_MAX_OUTPUT = 16 << 20,
    MAX_STDERR = 1 << 20,
};

struct wagi_executor {
    struct wagi_config config; /* strings borrowed from the caller */
    struct http_executor http;
};

/* Writes all of buf to fd, ignoring failures (logs are best effort). */
static void write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

/* The spin-path-match-<name> headers the router added, as CGI captures. */
static size_t path_matches(const struct http_request *req, struct http_header_pair *out, size_t cap)
{
    static const char prefix[] = "spin-path-match-";
    size_t n = 0;
    for (size_t i = req->nclient_headers; i < req->nheaders && n < cap; i++) {
        if (strncmp(req->headers[i].name, prefix, sizeof prefix - 1) == 0) {
            out[n].name = req->headers[i].name + sizeof prefix - 1;
            out[n].value = req->headers[i].value;
            n++;
        }
    }
    return n;
}

/* Answers from the guest's stdout. */
static int respond(struct wagi_executor *w, struct http_exchange *ex, const uint8_t *out,
                   size_t len, bool truncated)
{
    struct spry_report report;
    spry_report_init(&report);
    if (truncated) {
        spry_log(SPRY_LOG_ERROR, "component %s: response larger than %zu bytes",
                 w->config.component_id, w->config.max_output);
        return SPRY_ETOOBIG;
    }
    struct wagi_response resp;
    int rc = wagi_parse_response(out, len, &resp, &report);
    if (rc != 0) {
        spry_log(SPRY_LOG_ERROR, "component %s: %s", w->config.component_id, report.message);
        return rc;
    }
    struct http_header_pair headers[100];
    size_t n = resp.nheaders < 100 ? resp.nheaders : 100;
    for (size_t i = 0; i < n; i++) {
        headers[i].name = resp.headers[i].name;
        headers[i].value = resp.headers[i].value;
    }
    rc = http_exchange_start(ex, (uint16_t)resp.status, headers, n, (int64_t)resp.body_len);
    if (rc == 0 && resp.body_len > 0)
        rc = http_exchange_write(ex, resp.body, resp.body_len);
    if (rc == 0)
        rc = http_exchange_finish(ex);
    wagi_response_free(&resp);
    return rc;
}

/* Guest stderr to the log file and the terminal. */
static void pass_stderr(const struct wagi_executor *w, struct spry_wasi *wasi)
{
    size_t len;
    bool truncated;
    const uint8_t *err = spry_wasi_output(wasi, 2, &len, &truncated);
    if (err == NULL || len == 0)
        return;
    if (w->config.stderr_log_fd >= 0)
        write_all(w->config.stderr_log_fd, err, len);
    if (w->config.echo_stderr)
        write_all(2, err, len);
}

/* Runs the guest; returns 0 when it ended well (returned, or exit 0). */
static int run_guest(struct wagi_executor *w, struct http_exchange *ex, struct spry_instance *inst)
{
    struct spry_trap trap;
    const char *entry = w->config.entrypoint != NULL ? w->config.entrypoint : "_start";
    int rc = spry_instance_call(inst, entry, NULL, 0, NULL, 0, &trap);
    if (rc == SPRY_EEXIT && trap.exit_code == 0)
        return 0;
    if (rc == 0)
        return 0;
    if (http_exchange_cancelled(ex))
        return SPRY_EINTERRUPTED; /* the deadline passed: the server answered 504 */
    if (rc == SPRY_EEXIT)
        spry_log(SPRY_LOG_ERROR, "component %s: exited with status %d", w->config.component_id,
                 trap.exit_code);
    else if (rc == SPRY_ETRAP)
        spry_log(SPRY_LOG_ERROR, "component %s: trap in %s: %s", w->config.component_id,
                 trap.func_name[0] != '\0' ? trap.func_name : "wasm", trap.message);
    else if (rc == SPRY_ENOTFOUND)
        spry_log(SPRY_LOG_ERROR, "component %s: no export '%s' to call", w->config.component_id,
                 entry);
    else
        spry_log(SPRY_LOG_ERROR, "component %s: %s", w->config.component_id, spry_strerror(rc));
    return rc;
}

static int handle(void *data, struct http_exchange *ex)
{
    struct wagi_executor *w = data;
    const struct http_request *req = http_exchange_request(ex);
    struct spry_report report;
    spry_report_init(&report);

    struct http_header_pair matches[HTTP_ROUTE_MAX_PARAMS];
    struct wagi_request cgi = {
        .method = req->method,
        .path_and_query = req->target,
        .scheme = req->scheme,
        .protocol = req->http_version >= 0x200   ? "HTTP/2.0"
                    : req->http_version == 0x100 ? "HTTP/1.0"
                                                 : "HTTP/1.1",
        .client_addr = req->client_addr,
        .content_length = req->body_len,
        .headers = req->headers,
        .nheaders = req->nclient_headers,
        .matched_route = req->matched_route,
        .raw_component_route = req->raw_route,
        .component_route = req->component_route,
        .base_path = req->base,
        .path_info = req->path_info,
        .path_matches = matches,
        .npath_matches = path_matches(req, matches, HTTP_ROUTE_MAX_PARAMS),
    };
    struct wagi_strings argv = {0}, env = {0};
    struct spry_wasi *wasi = NULL;
    struct spry_instance *inst = NULL;
    int rc = wagi_argv(w->config.argv_template, req->target, &argv, &report);
    if (rc == 0)
        rc = wagi_env(&cgi, w->config.env, w->config.nenv, &env, &report);
    if (rc == 0) {
        struct spry_wasi_config wc = {
            .args = (const char *const *)argv.items,
            .nargs = argv.count,
            .env = (const char *const *)env.items,
            .nenv = env.count,
            .preopens = w->config.preopens,
            .npreopens = w->config.npreopens,
        };
        wc.stdio[0] = (struct spry_wasi_stdio){
            .kind = SPRY_WASI_STDIO_BUFFER, .data = req->body, .len = req->body_len};
        wc.stdio[1] =
            (struct spry_wasi_stdio){.kind = SPRY_WASI_STDIO_BUFFER, .max = w->config.max_output};
        wc.stdio[2] = (struct spry_wasi_stdio){.kind = SPRY_WASI_STDIO_BUFFER, .max = MAX_STDERR};
        rc = spry_wasi_create(&wc, &wasi, &report);
    }
    if (rc != 0) {
        spry_log(SPRY_LOG_ERROR, "component %s: %s", w->config.component_id, report.message);
        goto done;
    }

    struct spry_trap trap;
    rc = spry_pool_acquire(w->config.prepared, &inst, &report, &trap);
    if (rc == SPRY_EBUSY || rc == SPRY_ETIMEOUT) {
        /* No instance free (spry up runs no more workers than instances,
         * so this is for embedders that share a pool): 503, as for a full
         * request queue. */
        spry_log(SPRY_LOG_WARN, "component %s: %s: 503", w->config.component_id, report.message);
        static const struct http_header_pair ct = {"content-type", "text/plain"};
        static const char msg[] = "Service Unavailable: no instance free\n";
        if (http_exchange_start(ex, 503, &ct, 1, (int64_t)sizeof msg - 1) == 0 &&
            http_exchange_write(ex, msg, sizeof msg - 1) == 0)
            http_exchange_finish(ex);
        rc = 0;
        goto done;
    }
    if (rc != 0) {
        spry_log(SPRY_LOG_ERROR, "component %s: %s", w->config.component_id, report.message);
        goto done;
    }
    if (http_exchange_cancelled(ex)) { /* the deadline passed while queued */
        rc = SPRY_EINTERRUPTED;
        goto done;
    }
    struct spry_store *store = spry_instance_store(inst);
    spry_wasi_attach(wasi, store);
    http_exchange_set_user(ex, store);
    rc = run_guest(w, ex, inst);
    http_exchange_set_user(ex, NULL); /* before the store serves someone else */
    pass_stderr(w, wasi);
    if (rc == 0) {
        size_t len;
        bool truncated;
        const uint8_t *out = spry_wasi_output(wasi, 1, &len, &truncated);
        rc = respond(w, ex, out != NULL ? out : (const uint8_t *)"", len, truncated);
    }
done:
    if (inst != NULL)
        spry_pool_release(inst);
    spry_wasi_destroy(wasi);
    wagi_strings_free(&argv);
    wagi_strings_free(&env);
    return rc;
}

static void interrupt(void *data, void *user)
{
    (void)data;
    if (user != NULL)
        spry_store_interrupt(user);
}

int wagi_executor_create(const struct wagi_config *config, struct wagi_executor **out,
                         struct spry_report *report)
{
    struct wagi_executor *w = spry_calloc(1, sizeof *w);
    if (w == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory");
    w->config = *config;
    if (w->config.max_output == 0)
        w->config.max_output = DEFAULT_MAX_OUTPUT;
    w->http.data = w;
    w->http.handle = handle;
    w->http.interrupt = interrupt;
    *out = w;
    return 0;
}

void wagi_executor_destroy(struct wagi_executor *executor)
{
    spry_free(executor);
}

const struct http_executor *wagi_executor_http(const struct wagi_executor *executor)
{
    return &executor->http;
}

/*
 * The WAGI executor (see wagi.h).
 */
#include "trigger/wagi.h"

#include "base/alloc.h"
#include "base/log.h"
#include "trigger/wagi_cgi.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum {
    DEFAULT_MAX_OUTPUT = 16 << 20,
    MAX_STDERR = 1 << 20,
    SPEC_MAX_OUTPUT = 128 << 10, /* larger answers are sent from a worker */
    SPEC_BACKOFF = 64,           /* requests sent straight to a worker after a deferral */
};

struct wagi_executor {
    struct wagi_config config; /* strings borrowed from the caller */
    struct http_executor http;
    atomic_uint spec_skip; /* speculative runs still to decline (SPEC_BACKOFF) */
};

/* ---- speculation's gate on WASI ------------------------------------------------ */

/* What a WASI function may do while the guest runs speculatively on an I/O
 * loop (http_exchange.h, `speculate`): only what stays inside the instance
 * and its WASI context, which are thrown away when the run defers, and
 * does not block. Anything else (opening files, sockets, poll_oneoff's
 * sleeps) stops the run, which then starts again on a worker. */
enum gate_rule {
    GATE_EFFECT, /* not allowed (the default) */
    GATE_PURE,   /* allowed */
    GATE_STDIO,  /* allowed on fds 0-2 (the request body and captured output) */
};

static const struct {
    const char *name;
    uint8_t rule;
} gate_rules[] = {
    {"args_get", GATE_PURE},       {"args_sizes_get", GATE_PURE},
    {"environ_get", GATE_PURE},    {"environ_sizes_get", GATE_PURE},
    {"clock_res_get", GATE_PURE},  {"clock_time_get", GATE_PURE},
    {"random_get", GATE_PURE},     {"proc_exit", GATE_PURE},
    {"sched_yield", GATE_PURE},    {"fd_fdstat_get", GATE_PURE},
    {"fd_prestat_get", GATE_PURE}, {"fd_prestat_dir_name", GATE_PURE},
    {"fd_write", GATE_STDIO},      {"fd_read", GATE_STDIO},
    {"fd_seek", GATE_STDIO},       {"fd_tell", GATE_STDIO},
};

struct gate {
    spry_host_fn fn;
    void *user;
    uint8_t rule;
};

/* Set on the thread running a speculative guest. */
struct spec_state {
    bool vetoed;
};
static _Thread_local struct spec_state *spec_current;

static int gated(void *user, struct spry_instance *caller, uint64_t *slots)
{
    const struct gate *g = user;
    struct spec_state *st = spec_current;
    if (st != NULL &&
        (g->rule == GATE_EFFECT || (g->rule == GATE_STDIO && (uint32_t)slots[0] > 2))) {
        st->vetoed = true;
        return SPRY_EINTERRUPTED;
    }
    return g->fn(g->user, caller, slots);
}

static struct {
    pthread_once_t once;
    struct spry_host_def *defs;
    struct gate *gates;
    size_t n;
} gated_wasi = {PTHREAD_ONCE_INIT, NULL, NULL, 0};

static void gated_init(void)
{
    size_t n;
    const struct spry_host_def *defs = spry_wasi_host_defs(&n);
    struct spry_host_def *d = spry_calloc(n, sizeof *d);
    struct gate *g = spry_calloc(n, sizeof *g);
    if (d == NULL || g == NULL) {
        spry_free(d);
        spry_free(g);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        g[i] = (struct gate){defs[i].fn, defs[i].user, GATE_EFFECT};
        for (size_t k = 0; k < sizeof gate_rules / sizeof gate_rules[0]; k++)
            if (strcmp(defs[i].module, "wasi_snapshot_preview1") == 0 &&
                strcmp(defs[i].name, gate_rules[k].name) == 0)
                g[i].rule = gate_rules[k].rule;
        d[i] = defs[i];
        d[i].fn = gated;
        d[i].user = &g[i];
    }
    gated_wasi.defs = d;
    gated_wasi.gates = g;
    gated_wasi.n = n;
}

const struct spry_host_def *wagi_host_defs(size_t *n)
{
    pthread_once(&gated_wasi.once, gated_init);
    *n = gated_wasi.n;
    return gated_wasi.defs;
}

/* Whether this speculative request is to be declined at once (backing off
 * after a deferral). */
static bool spec_declined(struct wagi_executor *w)
{
    unsigned n = atomic_load_explicit(&w->spec_skip, memory_order_relaxed);
    while (n > 0 && !atomic_compare_exchange_weak(&w->spec_skip, &n, n - 1))
        ;
    return n > 0;
}

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

/* Runs the guest; returns 0 when it ended well (returned, or exit 0).
 * Failures are logged unless `quiet` (a speculative run). */
static int run_guest(struct wagi_executor *w, struct http_exchange *ex, struct spry_instance *inst,
                     bool quiet)
{
    struct spry_trap trap;
    const char *entry = w->config.entrypoint != NULL ? w->config.entrypoint : "_start";
    int rc = spry_instance_call(inst, entry, NULL, 0, NULL, 0, &trap);
    if (rc == SPRY_EEXIT && trap.exit_code == 0)
        return 0;
    if (rc == 0 || quiet)
        return rc;
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
    /* A speculative run (on the I/O loop) logs nothing and answers nothing
     * unless the guest succeeded within the gate; otherwise it defers, and
     * the worker's run does what the request deserves. */
    bool spec = w->config.speculate && http_exchange_speculative(ex);
    if (spec && spec_declined(w))
        return HTTP_EXCHANGE_DEFER;
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
            .preopen_fds = w->config.preopen_fds,
            .borrow_strings = true, /* argv and env outlive the context (freed below) */
        };
        wc.stdio[0] = (struct spry_wasi_stdio){
            .kind = SPRY_WASI_STDIO_BUFFER, .data = req->body, .len = req->body_len};
        wc.stdio[1] =
            (struct spry_wasi_stdio){.kind = SPRY_WASI_STDIO_BUFFER, .max = w->config.max_output};
        wc.stdio[2] = (struct spry_wasi_stdio){.kind = SPRY_WASI_STDIO_BUFFER, .max = MAX_STDERR};
        rc = spry_wasi_create(&wc, &wasi, &report);
    }
    if (rc != 0 && spec) {
        rc = HTTP_EXCHANGE_DEFER;
        goto done;
    }
    if (rc != 0) {
        spry_log(SPRY_LOG_ERROR, "component %s: %s", w->config.component_id, report.message);
        goto done;
    }

    struct spry_trap trap;
    rc = spry_pool_acquire(w->config.prepared, &inst, &report, &trap);
    if (rc != 0 && spec) {
        rc = HTTP_EXCHANGE_DEFER;
        goto done;
    }
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
    struct spec_state st = {false};
    if (spec)
        spec_current = &st;
    rc = run_guest(w, ex, inst, spec);
    spec_current = NULL;
    http_exchange_set_user(ex, NULL); /* before the store serves someone else */
    if (spec) {
        size_t len;
        bool truncated;
        spry_wasi_output(wasi, 1, &len, &truncated);
        if (rc != 0 || st.vetoed || truncated || len > SPEC_MAX_OUTPUT) {
            /* Interrupted by the budget, stopped by the gate, failed, or
             * too much to answer from the loop: a worker runs it again. */
            atomic_store_explicit(&w->spec_skip, SPEC_BACKOFF, memory_order_relaxed);
            rc = HTTP_EXCHANGE_DEFER;
            goto done;
        }
    }
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
    w->http.speculate = config->speculate;
    atomic_init(&w->spec_skip, 0);
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

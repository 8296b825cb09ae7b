/*
 * `spry up` (see serve.h). Everything that can fail because of the
 * application (manifest, sources, files, routes) fails here, before the
 * server listens.
 */
#include "app/serve.h"

#include "app/fsutil.h"
#include "app/manifest.h"
#include "app/outbound.h"
#include "base/alloc.h"
#include "base/log.h"
#include "spry/pool.h"
#include "spry/wasi.h"
#include "host/http_client.h"
#include "trigger/http_chain.h"
#include "trigger/http_server.h"
#include "trigger/spin.h"
#include "trigger/wagi.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    MAX_MODULE_BYTES = 1 << 30,
    MAX_TREE_DEPTH = 64,
};

/* What one component needs at run time. */
struct component_rt {
    const struct manifest_component *mc;
    struct spry_module *module;
    struct spry_prepared *prepared;
    char **env; /* "K=V": the manifest's environment, then --env */
    size_t nenv;
    struct spry_wasi_preopen preopen; /* the staged files, when any */
    int preopen_fd;                   /* their directory, open while the app runs */
    char *staged;                     /* its host directory */
    int stderr_fd, stdout_fd;
    bool ready;                     /* environment, files and logs are set up */
    struct spin_executor *spin;     /* a wasi:http component: one executor for all its routes */
    struct outbound_policy *policy; /* its allowed_outbound_hosts, variables resolved */
};

struct app {
    const struct app_serve_options *opt;
    struct manifest *manifest;
    char *state_dir;
    struct spry_pool *pool;
    struct component_rt *components; /* manifest->n_components */
    struct http_route *routes;       /* manifest->n_http_triggers */
    struct http_header_pair **static_headers;
    struct wagi_executor **executors; /* per trigger, NULL for static responses */
    struct http_router *router;
    struct http_server *server;
    bool speculate;             /* guests run on the I/O loop first (wagi.h, spin.h) */
    struct http_client *client; /* outbound HTTP for every wasi:http component */
    /* Service chaining between the app's components (http_chain.h). */
    struct http_chain_app *chain;
    char self_origin[128]; /* "http://127.0.0.1:3000" once the server listens */
};

static _Atomic(struct http_server *) running;
static atomic_bool stop_requested;

void app_serve_stop(void)
{
    atomic_store(&stop_requested, true);
    struct http_server *s = atomic_load(&running);
    if (s != NULL)
        http_server_stop(s);
}

/* ---- files ------------------------------------------------------------------- */

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = spry_malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s%s%s", a, (a[0] && a[strlen(a) - 1] == '/') || b[0] == '/' ? "" : "/", b);
    return p;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return SPRY_EIO;
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        close(in);
        return SPRY_EIO;
    }
    char buf[1 << 16];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w <= 0) {
                rc = SPRY_EIO;
                break;
            }
            done += w;
        }
        if (rc != 0)
            break;
    }
    if (n < 0)
        rc = SPRY_EIO;
    close(in);
    if (close(out) != 0)
        rc = SPRY_EIO;
    return rc;
}

/* Copies the directory tree `from` to `to` (symbolic links are skipped: a
 * guest's files are plain files and directories). */
static int copy_tree(const char *from, const char *to, int depth)
{
    if (depth > MAX_TREE_DEPTH)
        return SPRY_ETOOBIG;
    int rc = app_mkdir_p(to);
    DIR *d = rc == 0 ? opendir(from) : NULL;
    if (d == NULL)
        return rc != 0 ? rc : SPRY_EIO;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *src = path_join(from, e->d_name), *dst = path_join(to, e->d_name);
        struct stat st;
        if (src == NULL || dst == NULL)
            rc = SPRY_ENOMEM;
        else if (lstat(src, &st) != 0)
            rc = SPRY_EIO;
        else if (S_ISDIR(st.st_mode))
            rc = copy_tree(src, dst, depth + 1);
        else if (S_ISREG(st.st_mode))
            rc = copy_file(src, dst);
        spry_free(src);
        spry_free(dst);
    }
    closedir(d);
    return rc;
}

/* A guest path must be absolute and never climb with "..". */
static bool guest_path_ok(const char *p)
{
    if (p[0] != '/')
        return false;
    for (const char *s = p; *s != '\0';) {
        while (*s == '/')
            s++;
        const char *e = strchr(s, '/');
        size_t n = e != NULL ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return false;
        s += n;
    }
    return true;
}

/* Copies the component's `files` under STATE/files/<id>, which the guest
 * sees read-only as "/". */
static int stage_files(struct app *app, struct component_rt *c, struct spry_report *report)
{
    const struct manifest_component *mc = c->mc;
    if (mc->n_files == 0)
        return 0;
    char *root = NULL, *files_dir = path_join(app->state_dir, "files");
    if (files_dir != NULL)
        root = path_join(files_dir, mc->id);
    spry_free(files_dir);
    if (root == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory");
    nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS); /* what an earlier run staged */
    int rc = app_mkdir_p(root);
    for (size_t i = 0; rc == 0 && i < mc->n_files; i++) {
        const struct manifest_file *f = &mc->files[i];
        if (!guest_path_ok(f->guest_path)) {
            rc = spry_report_set(report, SPRY_EINVALID,
                                 "component '%s': file destination '%s' must be an absolute path "
                                 "without '..'",
                                 mc->id, f->guest_path);
            break;
        }
        char *dst = path_join(root, f->guest_path);
        if (dst == NULL) {
            rc = SPRY_ENOMEM;
            break;
        }
        if (f->is_dir) {
            rc = copy_tree(f->host_path, dst, 0);
        } else {
            char *slash = strrchr(dst, '/');
            *slash = '\0';
            rc = app_mkdir_p(dst);
            *slash = '/';
            if (rc == 0)
                rc = copy_file(f->host_path, dst);
        }
        spry_free(dst);
        if (rc != 0)
            rc = spry_report_set(report, rc, "component '%s': cannot stage file '%s' as '%s': %s",
                                 mc->id, f->host_path, f->guest_path, strerror(errno));
    }
    if (rc != 0) {
        spry_free(root);
        return rc;
    }
    /* Opened once: every request's context shares the fd instead of
     * opening and closing the directory (a few us each on a VM). */
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        rc = spry_report_set(report, SPRY_EIO, "component '%s': cannot open %s: %s", mc->id, root,
                             strerror(errno));
        spry_free(root);
        return rc;
    }
    c->staged = root;
    c->preopen = (struct spry_wasi_preopen){root, "/", true};
    c->preopen_fd = fd;
    return 0;
}

/* ---- components -------------------------------------------------------------- */

static int read_file(const char *path, uint8_t **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_MODULE_BYTES) {
        if (fd >= 0)
            close(fd);
        return SPRY_EIO;
    }
    uint8_t *buf = spry_malloc((size_t)st.st_size + 1);
    size_t done = 0;
    while (buf != NULL && done < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    close(fd);
    if (buf == NULL || done != (size_t)st.st_size) {
        spry_free(buf);
        return buf == NULL ? SPRY_ENOMEM : SPRY_EIO;
    }
    *out = buf;
    *len = done;
    return 0;
}

static int set_env(struct component_rt *c, const char *key, size_t klen, const char *value)
{
    size_t n = klen + strlen(value) + 2;
    char *kv = spry_malloc(n);
    if (kv == NULL)
        return SPRY_ENOMEM;
    snprintf(kv, n, "%.*s=%s", (int)klen, key, value);
    c->env[c->nenv++] = kv;
    return 0;
}

/* What every executor needs: the environment, the staged files, the logs. */
static int prepare_runtime(struct app *app, struct component_rt *c, struct spry_report *report)
{
    const struct manifest_component *mc = c->mc;
    if (c->ready)
        return 0;
    int rc = 0;
    c->env = spry_calloc(mc->n_environment + app->opt->nenv + 1, sizeof *c->env);
    if (c->env == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < app->opt->nenv; i++) {
        const char *kv = app->opt->env[i], *eq = strchr(kv, '=');
        rc = set_env(c, kv, (size_t)(eq - kv), eq + 1); /* --env wins over the manifest */
    }
    for (size_t i = 0; rc == 0 && i < mc->n_environment; i++)
        rc = set_env(c, mc->environment[i].key, strlen(mc->environment[i].key),
                     mc->environment[i].value);
    if (rc != 0)
        return spry_report_set(report, rc, "out of memory");

    rc = stage_files(app, c, report);
    if (rc != 0)
        return rc;

    char name[512];
    snprintf(name, sizeof name, "%s/logs/%s_stderr.txt", app->state_dir, mc->id);
    c->stderr_fd = open(name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (c->stderr_fd < 0)
        return spry_report_set(report, SPRY_EIO, "cannot open the log %s: %s", name,
                               strerror(errno));
    snprintf(name, sizeof name, "%s/logs/%s_stdout.txt", app->state_dir, mc->id);
    c->stdout_fd = open(name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (c->stdout_fd < 0)
        return spry_report_set(report, SPRY_EIO, "cannot open the log %s: %s", name,
                               strerror(errno));
    c->ready = true;
    return 0;
}

/* ---- outbound HTTP ------------------------------------------------------------- */

/* An application variable's value: SPIN_VARIABLE_<NAME> from the
 * environment (Spin's environment provider), else its default. */
static const char *resolve_variable(void *ctx, const char *name)
{
    const struct manifest *m = ctx;
    char env[160] = "SPIN_VARIABLE_";
    size_t len = strlen(env);
    for (const char *p = name; *p != '\0' && len + 1 < sizeof env; p++)
        env[len++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    env[len] = '\0';
    const char *v = getenv(env);
    if (v != NULL)
        return v;
    for (size_t i = 0; i < m->n_variables; i++)
        if (strcmp(m->variables[i].name, name) == 0)
            return m->variables[i].default_value;
    return NULL;
}

static enum spin_route route_outbound(void *ctx, const char *scheme, const char *authority,
                                      char *why, size_t cap)
{
    struct outbound_decision d;
    int rc = outbound_policy_check_http(ctx, scheme, authority, &d);
    snprintf(why, cap, "%s", d.why);
    if (rc != 0 || !d.allowed)
        return SPIN_ROUTE_DENIED;
    return d.route == OUTBOUND_SELF    ? SPIN_ROUTE_SELF
           : d.route == OUTBOUND_CHAIN ? SPIN_ROUTE_CHAIN
                                       : SPIN_ROUTE_NETWORK;
}

static bool allow_outbound(void *ctx, const char *scheme, const char *host, int port, char *why,
                           size_t why_size)
{
    struct outbound_target t;
    if (outbound_target_set(&t, scheme, host, port, why, why_size) != 0)
        return false;
    if (outbound_policy_allows(ctx, &t))
        return true;
    snprintf(why, why_size, "%s://%s:%d is not in allowed_outbound_hosts", scheme, host, port);
    return false;
}

/* The component's policy and the app's client (made once). */
static int prepare_outbound(struct app *app, struct component_rt *c, struct spry_report *report)
{
    const struct manifest *m = app->manifest;
    const char **ids = spry_alloc_array(m->n_components == 0 ? 1 : m->n_components, sizeof *ids);
    if (ids == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->n_components; i++)
        ids[i] = m->components[i]->id;
    struct spry_report inner;
    spry_report_init(&inner);
    int rc = outbound_policy_create(c->mc->outbound, c->mc->n_outbound, resolve_variable,
                                    app->manifest, ids, m->n_components, &c->policy, &inner);
    spry_free(ids);
    if (rc != 0)
        return spry_report_set(report, rc, "component '%s': allowed_outbound_hosts: %s", c->mc->id,
                               inner.message);
    if (app->client == NULL) {
        struct http_client_config cc = {0};
        rc = http_client_create(&cc, &app->client, report);
    }
    return rc;
}

/* A wasi:http component for the spin executor. */
static int prepare_spin(struct app *app, struct component_rt *c, struct spry_report *report)
{
    const struct manifest_component *mc = c->mc;
    if (!mc->source.is_component)
        return spry_report_set(report, SPRY_EUNSUPPORTED,
                               "component '%s': %s is a core module; the spin executor runs "
                               "WebAssembly components that export wasi:http/incoming-handler "
                               "(a WASI preview 1 command needs executor = { type = \"wagi\" })",
                               mc->id, mc->source.path);
    int rc = prepare_runtime(app, c, report);
    if (rc != 0)
        return rc;
    uint8_t *bytes;
    size_t len;
    rc = read_file(mc->source.path, &bytes, &len);
    if (rc != 0)
        return spry_report_set(report, rc, "component '%s': cannot read %s: %s", mc->id,
                               mc->source.path, strerror(errno));
    struct spin_config sc = {
        .component_id = mc->id,
        .source = mc->source.path,
        .bytes = bytes,
        .len = len,
        .pool = app->pool,
        .env = (const char *const *)c->env,
        .nenv = c->nenv,
        .preopens = c->staged != NULL ? &c->preopen : NULL,
        .npreopens = c->staged != NULL ? 1 : 0,
        .preopen_fds = c->staged != NULL ? &c->preopen_fd : NULL,
        .stdout_log_fd = c->stdout_fd,
        .stderr_log_fd = c->stderr_fd,
        .echo = !app->opt->quiet,
        .speculate = app->speculate,
    };
    rc = prepare_outbound(app, c, report);
    if (rc != 0) {
        spry_free(bytes);
        return rc;
    }
    sc.client = app->client;
    sc.route = route_outbound;
    sc.allow = allow_outbound;
    sc.outbound_ctx = c->policy;
    sc.self_origin = app->self_origin;
    sc.chain = app->chain;
    rc = spin_executor_create(&sc, &c->spin, report);
    spry_free(bytes);
    return rc;
}

static int prepare_component(struct app *app, struct component_rt *c, struct spry_report *report)
{
    const struct manifest_component *mc = c->mc;
    if (mc->source.is_component)
        return spry_report_set(report, SPRY_EUNSUPPORTED,
                               "component '%s': %s is a WebAssembly component; the WAGI executor "
                               "runs core modules (wasm32-wasi commands); a wasi:http component "
                               "runs with the default spin executor (remove `executor`)",
                               mc->id, mc->source.path);
    uint8_t *bytes;
    size_t len;
    int rc = read_file(mc->source.path, &bytes, &len);
    if (rc != 0)
        return spry_report_set(report, rc, "component '%s': cannot read %s: %s", mc->id,
                               mc->source.path, strerror(errno));
    struct spry_report inner;
    spry_report_init(&inner);
    rc = spry_module_load(bytes, len, NULL, &c->module, &inner);
    spry_free(bytes);
    if (rc != 0)
        return spry_report_set(report, rc, "component '%s': %s: %s", mc->id, mc->source.path,
                               inner.message);
    size_t ndefs;
    const struct spry_host_def *defs = wagi_host_defs(&ndefs);
    if (defs == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory");
    rc = spry_prepared_create(app->pool, c->module, defs, ndefs, NULL, 0, &c->prepared, &inner);
    if (rc != 0)
        return spry_report_set(report, rc, "component '%s': %s: %s", mc->id, mc->source.path,
                               inner.message);

    return prepare_runtime(app, c, report);
}

static struct component_rt *component_of(struct app *app, const struct manifest_component *mc)
{
    for (size_t i = 0; i < app->manifest->n_components; i++)
        if (app->components[i].mc == mc)
            return &app->components[i];
    return NULL;
}

/* ---- routes -------------------------------------------------------------------- */

static int build_routes(struct app *app, struct spry_report *report)
{
    const struct manifest *m = app->manifest;
    app->routes = spry_calloc(m->n_http_triggers + 1, sizeof *app->routes);
    app->static_headers = spry_calloc(m->n_http_triggers + 1, sizeof *app->static_headers);
    app->executors = spry_calloc(m->n_http_triggers + 1, sizeof *app->executors);
    if (app->routes == NULL || app->static_headers == NULL || app->executors == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->n_http_triggers; i++) {
        const struct manifest_http_trigger *t = &m->http_triggers[i];
        struct http_route *r = &app->routes[i];
        r->pattern = t->route != NULL ? t->route : "";
        r->is_private = t->route_kind == MANIFEST_ROUTE_PRIVATE;
        if (t->has_static_response) {
            const struct manifest_static_response *s = &t->static_response;
            struct http_header_pair *h = spry_calloc(s->n_headers + 1, sizeof *h);
            if (h == NULL)
                return spry_report_set(report, SPRY_ENOMEM, "out of memory");
            for (size_t k = 0; k < s->n_headers; k++)
                h[k] = (struct http_header_pair){s->headers[k].key, s->headers[k].value};
            app->static_headers[i] = h;
            r->kind = HTTP_TARGET_STATIC;
            r->component_id = "static response";
            r->static_response =
                (struct http_static_response){(uint16_t)(s->status_code ? s->status_code : 200), h,
                                              s->n_headers, s->body, s->body_len};
            continue;
        }
        struct component_rt *c = component_of(app, t->component);
        r->kind = HTTP_TARGET_COMPONENT;
        r->component_id = t->component->id;
        if (t->executor != MANIFEST_EXECUTOR_WAGI) {
            if (c->spin == NULL) {
                int rc = prepare_spin(app, c, report);
                if (rc != 0)
                    return rc;
            }
            r->executor = (void *)spin_executor_http(c->spin);
            continue;
        }
        if (c->module == NULL) {
            int rc = prepare_component(app, c, report);
            if (rc != 0)
                return rc;
        }
        struct wagi_config wc = {
            .component_id = t->component->id,
            .prepared = c->prepared,
            .argv_template = t->wagi_argv,
            .entrypoint = t->wagi_entrypoint,
            .env = (const char *const *)c->env,
            .nenv = c->nenv,
            .preopens = c->staged != NULL ? &c->preopen : NULL,
            .npreopens = c->staged != NULL ? 1 : 0,
            .preopen_fds = c->staged != NULL ? &c->preopen_fd : NULL,
            .stderr_log_fd = c->stderr_fd,
            .echo_stderr = !app->opt->quiet,
            .speculate = app->speculate,
        };
        int rc = wagi_executor_create(&wc, &app->executors[i], report);
        if (rc != 0)
            return rc;
        r->executor = (void *)wagi_executor_http(app->executors[i]);
    }
    /* A chained request finds its component's executor here (private
     * routes included). */
    http_chain_app_set_routes(app->chain, app->routes, m->n_http_triggers);
    int rc = http_router_create(app->routes, m->n_http_triggers, "/", &app->router, report);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < http_router_warning_count(app->router); i++)
        spry_log(SPRY_LOG_WARN, "%s", http_router_warning(app->router, i));
    return 0;
}

/* ---- the whole ------------------------------------------------------------------ */

static void app_free(struct app *app)
{
    http_server_destroy(app->server);
    /* Before the executors and the pool: waits for chained requests. */
    http_chain_app_destroy(app->chain);
    http_client_destroy(app->client); /* after the guests: they destroyed their requests */
    http_router_destroy(app->router);
    if (app->manifest != NULL) {
        for (size_t i = 0; i < app->manifest->n_http_triggers; i++) {
            if (app->executors != NULL)
                wagi_executor_destroy(app->executors[i]);
            if (app->static_headers != NULL)
                spry_free(app->static_headers[i]);
        }
        for (size_t i = 0; app->components != NULL && i < app->manifest->n_components; i++) {
            struct component_rt *c = &app->components[i];
            spin_executor_destroy(c->spin);
            outbound_policy_destroy(c->policy);
            spry_prepared_destroy(c->prepared);
            spry_module_destroy(c->module);
            for (size_t k = 0; k < c->nenv; k++)
                spry_free(c->env[k]);
            spry_free(c->env);
            spry_free(c->staged);
            if (c->staged != NULL)
                close(c->preopen_fd);
            if (c->stderr_fd >= 0)
                close(c->stderr_fd);
            if (c->stdout_fd >= 0)
                close(c->stdout_fd);
        }
    }
    spry_free(app->executors);
    spry_free(app->static_headers);
    spry_free(app->routes);
    spry_free(app->components);
    spry_pool_destroy(app->pool);
    manifest_destroy(app->manifest);
    spry_free(app->state_dir);
}

static int banner(struct app *app, char *out, size_t cap)
{
    const char *listen = app->opt->listen != NULL ? app->opt->listen : "127.0.0.1:3000";
    const char *colon = strrchr(listen, ':');
    size_t n = (size_t)snprintf(out, cap, "Serving %s://%.*s:%u (%s)",
                                app->opt->tls_cert ? "https" : "http",
                                (int)(colon != NULL ? colon - listen : 0), listen,
                                (unsigned)http_server_port(app->server), app->manifest->name);
    const struct manifest *m = app->manifest;
    for (size_t i = 0; i < m->n_http_triggers && n < cap; i++) {
        const struct manifest_http_trigger *t = &m->http_triggers[i];
        if (t->route_kind == MANIFEST_ROUTE_PRIVATE)
            continue;
        n += (size_t)snprintf(out + n, cap - n, "%s %s -> %s", i == 0 ? ":" : ",", t->route,
                              t->has_static_response ? "static response" : t->component->id);
    }
    return 0;
}

int app_serve(const struct app_serve_options *opt, struct spry_report *report)
{
    struct app app = {.opt = opt};
    int rc = 0;
    char manifest_path[4096];
    struct stat st;
    if (stat(opt->manifest, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(manifest_path, sizeof manifest_path, "%s/spin.toml", opt->manifest);
    else
        snprintf(manifest_path, sizeof manifest_path, "%s", opt->manifest);
    rc = manifest_load(manifest_path, NULL, &app.manifest, report);
    if (rc != 0)
        goto done;

    app.state_dir = opt->state_dir != NULL ? spry_strdup(opt->state_dir)
                                           : path_join(app.manifest->dir, ".spin");
    char *logs = app.state_dir != NULL ? path_join(app.state_dir, "logs") : NULL;
    rc = logs == NULL ? SPRY_ENOMEM : app_mkdir_p(logs);
    spry_free(logs);
    if (rc != 0) {
        rc = spry_report_set(report, rc, "cannot create the state directory %s: %s",
                             app.state_dir ? app.state_dir : "", strerror(errno));
        goto done;
    }

    struct spry_pool_config pc;
    spry_pool_config_init(&pc);
    if (opt->max_instances != 0)
        pc.slots = opt->max_instances;
    if (opt->max_queue != 0)
        pc.max_waiters = opt->max_queue;
    if (opt->max_memory_bytes != 0)
        pc.max_memory_bytes = opt->max_memory_bytes;
    pc.wait_timeout_ms = opt->request_timeout_ms != 0 ? opt->request_timeout_ms : 30000;
    rc = spry_pool_create(&pc, &app.pool, report);
    if (rc != 0)
        goto done;

    app.components = spry_calloc(app.manifest->n_components + 1, sizeof *app.components);
    if (app.components == NULL) {
        rc = spry_report_set(report, SPRY_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < app.manifest->n_components; i++) {
        app.components[i].mc = app.manifest->components[i];
        app.components[i].stderr_fd = -1;
        app.components[i].stdout_fd = -1;
    }
    struct http_server_config sc;
    http_server_config_init(&sc);
    /* One queue: no more workers than instances, so a worker always finds a
     * free slot and requests wait only in the server's queue, bounded by
     * --max-queue (503 beyond it; 504 when the deadline passes first). */
    if (sc.workers > pc.slots)
        sc.workers = pc.slots;
    /* A loop running a guest speculatively must find a slot at once too. */
    app.speculate = pc.slots >= sc.workers + sc.loops;
    /* Chained requests take the slots neither the workers nor (when they
     * speculate) the loops use, so that no acquire of theirs waits. */
    uint32_t busy = sc.workers + (app.speculate ? sc.loops : 0);
    rc = http_chain_app_create(opt->max_body_bytes, pc.slots > busy ? pc.slots - busy : 0,
                               &app.chain);
    if (rc != 0) {
        rc = spry_report_set(report, rc, "out of memory");
        goto done;
    }
    rc = build_routes(&app, report);
    if (rc != 0)
        goto done;

    if (opt->listen != NULL)
        sc.listen = opt->listen;
    sc.tls_cert = opt->tls_cert;
    sc.tls_key = opt->tls_key;
    sc.app_name = app.manifest->name;
    sc.app_version = app.manifest->app_version;
    sc.router = app.router;
    if (opt->request_timeout_ms != 0)
        sc.limits.request_timeout_ms = opt->request_timeout_ms;
    if (opt->max_body_bytes != 0)
        sc.limits.max_body_bytes = opt->max_body_bytes;
    if (opt->max_queue != 0)
        sc.queue_max = opt->max_queue;
    rc = http_server_create(&sc, &app.server, report);
    if (rc == 0)
        rc = http_server_start(app.server, report);
    if (rc != 0)
        goto done;
    {
        /* Relative outbound requests go back to this server (on loopback
         * when it listens on every address). */
        const char *listen = sc.listen != NULL ? sc.listen : "127.0.0.1:3000";
        const char *colon = strrchr(listen, ':');
        int hl = colon != NULL ? (int)(colon - listen) : 0;
        const char *host = listen;
        if ((hl == 7 && strncmp(listen, "0.0.0.0", 7) == 0) || hl == 0)
            host = "127.0.0.1", hl = 9;
        else if (hl == 4 && strncmp(listen, "[::]", 4) == 0)
            host = "[::1]", hl = 5;
        snprintf(app.self_origin, sizeof app.self_origin, "%s://%.*s:%u",
                 opt->tls_cert ? "https" : "http", hl, host,
                 (unsigned)http_server_port(app.server));
    }
    atomic_store(&running, app.server);
    if (atomic_load(&stop_requested)) /* a signal came before the server ran */
        http_server_stop(app.server);
    if (opt->on_ready != NULL) {
        char text[2048];
        banner(&app, text, sizeof text);
        opt->on_ready(opt->user, text);
    }
    rc = http_server_wait(app.server);
    atomic_store(&running, NULL);
    if (rc == SPRY_ETIMEOUT) {
        spry_log(SPRY_LOG_WARN, "some requests were still running when the drain timed out");
        rc = 0;
    }
done:
    app_free(&app);
    return rc;
}

/*
 * libFuzzer harness for the Spin manifest (src/app/manifest*.c): the bytes
 * are a spin.toml, loaded the way spry up loads one but with skip_sources,
 * so nothing is fetched (URL sources are checked for form only) and no
 * source is opened. `files` globs expand in a small scratch directory made
 * once. An accepted manifest's HTTP routes then go through the router, as
 * spry up builds them. Checks: every failure names the file, nothing is
 * returned on failure, and an accepted manifest holds what it promises.
 */
#include "app/manifest.h"
#include "trigger/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], path[96];
static const char *const files[] = {"hello.wasm", "static/a.txt", "static/b.key", "assets/c.txt"};
static const char *const subdirs[] = {"static", "assets"};

static void remove_dir(void)
{
    char p[160];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, subdirs[i]);
        rmdir(p);
    }
    rmdir(dir);
}

/* The scratch application directory: a few files for globs to find.
 * Removed at exit (a crash leaves it in /tmp). */
static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/spry-fuzz-manifest-XXXXXX");
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(path, sizeof path, "%s/spin.toml", dir);
    atexit(remove_dir);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        char *slash = strrchr(p, '/');
        *slash = '\0';
        mkdir(p, 0755);
        *slash = '/';
        FILE *f = fopen(p, "w");
        if (f == NULL)
            abort();
        fputs("x", f);
        fclose(f);
    }
}

static void check_string(const char *s)
{
    if (s == NULL)
        __builtin_trap();
    (void)strlen(s);
}

static void check(const struct manifest *m)
{
    if (m->version != 1 && m->version != 2)
        __builtin_trap();
    check_string(m->name);
    for (size_t i = 0; i < m->n_components; i++) {
        const struct manifest_component *c = m->components[i];
        check_string(c->id);
        if (c->source.kind == MANIFEST_SOURCE_URL) {
            check_string(c->source.url);
            if (strncmp(c->source.digest, "sha256:", 7) != 0 || strlen(c->source.digest) != 71)
                __builtin_trap();
        }
        for (size_t k = 0; k < c->n_files; k++) {
            check_string(c->files[k].host_path);
            if (c->files[k].guest_path[0] != '/')
                __builtin_trap();
        }
        for (size_t k = 0; k < c->n_environment; k++) {
            check_string(c->environment[k].key);
            check_string(c->environment[k].value);
        }
        for (size_t k = 0; k < c->n_outbound; k++)
            if (!c->outbound[k].any_port && c->outbound[k].port_lo >= c->outbound[k].port_hi &&
                !c->outbound[k].templated)
                __builtin_trap();
    }
    for (size_t i = 0; i < m->n_http_triggers; i++) {
        const struct manifest_http_trigger *t = &m->http_triggers[i];
        if (t->route_kind != MANIFEST_ROUTE_PRIVATE && (t->route == NULL || t->route[0] != '/'))
            __builtin_trap();
        if (t->has_static_response == (t->component != NULL))
            __builtin_trap(); /* one or the other */
        if (t->has_static_response && t->static_response.body_len > 0 &&
            t->static_response.body == NULL)
            __builtin_trap();
    }
}

/* The routes as serve.c builds them, compiled and matched once. */
static void route(const struct manifest *m)
{
    struct http_route *routes = calloc(m->n_http_triggers + 1, sizeof *routes);
    if (routes == NULL)
        return;
    for (size_t i = 0; i < m->n_http_triggers; i++) {
        const struct manifest_http_trigger *t = &m->http_triggers[i];
        routes[i].pattern = t->route != NULL ? t->route : "";
        routes[i].is_private = t->route_kind == MANIFEST_ROUTE_PRIVATE;
        routes[i].kind = t->has_static_response ? HTTP_TARGET_STATIC : HTTP_TARGET_COMPONENT;
        routes[i].component_id = t->component != NULL ? t->component->id : "static response";
    }
    struct spry_report report;
    spry_report_init(&report);
    struct http_router *router = NULL;
    if (http_router_create(routes, m->n_http_triggers, "/", &router, &report) == 0) {
        for (size_t i = 0; i < m->n_http_triggers; i++) {
            const char *p = routes[i].pattern;
            struct http_match match;
            http_router_match(router, p, strlen(p), &match);
        }
        http_router_destroy(router);
    }
    free(routes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (dir[0] == '\0')
        make_dir();
    struct manifest_options options = {.cache_dir = dir, .skip_sources = true};
    struct spry_report report;
    spry_report_init(&report);
    struct manifest *m = NULL;
    int rc = manifest_parse((const char *)data, size, path, &options, &m, &report);
    if (rc != 0) {
        if (m != NULL || strncmp(report.message, path, strlen(path)) != 0)
            __builtin_trap(); /* nothing returned; every failure names the file */
        return 0;
    }
    check(m);
    route(m);
    manifest_destroy(m);
    return 0;
}

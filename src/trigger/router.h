/*
 * The HTTP route table, matched the way Spin matches (docs/http.md).
 *
 * A route pattern is written as in spin.toml: `/exact/path`, segments
 * `:name` that match one non-empty path segment, and an optional trailing
 * `/...` that matches the rest of the path (including nothing). A leading
 * `/` is added when missing and one trailing `/` is dropped, as Spin does.
 *
 * Most specific wins: two matching patterns are compared segment by segment
 * from the left, exact text beating `:name` beating the trailing wildcard;
 * at the first difference the stronger segment wins, and when one pattern is
 * a prefix of the other the longer one wins. Between equally specific
 * patterns the later route wins. A pattern listed twice keeps only its last
 * entry; the shadowed one is reported in a warning (for the start-up log).
 * Private routes are kept in the table (an executor may reach them by
 * component id) but are never matched from outside.
 *
 * The router is immutable once created and may be matched from any thread.
 */
#ifndef SPRY_TRIGGER_ROUTER_H
#define SPRY_TRIGGER_ROUTER_H

#include "base/buf.h"
#include "spry/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* At most this many `:name` segments in one route (and captures per match). */
#define HTTP_ROUTE_MAX_PARAMS 16
/* At most this many segments in one route. */
#define HTTP_ROUTE_MAX_SEGMENTS 64
/* At most this many bytes in one route pattern. */
#define HTTP_ROUTE_MAX_LEN 4096

struct http_header_pair {
    const char *name;
    const char *value;
};

/* A response served by the server itself, without an executor. */
struct http_static_response {
    uint16_t status; /* 100..599 */
    const struct http_header_pair *headers;
    size_t nheaders;
    const char *body; /* may be NULL when body_len is 0 */
    size_t body_len;
};

enum http_target_kind {
    HTTP_TARGET_COMPONENT, /* handled by `executor` on a worker thread */
    HTTP_TARGET_STATIC,    /* static_response, served on the I/O loop */
};

/*
 * One [[trigger.http]] entry. Strings and the static response are borrowed:
 * they must outlive the router.
 */
struct http_route {
    const char *pattern; /* as written in the manifest; ignored when is_private */
    bool is_private;     /* `route = { private = true }`: unreachable from outside */
    enum http_target_kind kind;
    const char *component_id; /* HTTP_TARGET_COMPONENT (and a name for warnings) */
    struct http_static_response static_response; /* HTTP_TARGET_STATIC */
    void *executor; /* opaque to the router: the server passes it to the executor */
};

struct http_router;

/*
 * Compiles `routes` (copied by pointer: the array must outlive the router).
 * base is the application base path ("/" when NULL). A pattern that cannot
 * be compiled fails with SPRY_EINVALID and a report naming the route text and
 * the component. Shadowed duplicates and routes under the reserved prefix
 * /.well-known/spin/ produce warnings (http_router_warning).
 */
int http_router_create(const struct http_route *routes, size_t nroutes, const char *base,
                       struct http_router **out, struct spry_report *report);
void http_router_destroy(struct http_router *router); /* NULL is a no-op */

size_t http_router_warning_count(const struct http_router *router);
const char *http_router_warning(const struct http_router *router, size_t i);

/* A `:name` capture: both point into the pattern and the matched path. */
struct http_capture {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/*
 * The result of a match. Pointers refer to the router (route, patterns) and
 * to the path that was matched; the match is valid while both are.
 */
struct http_match {
    const struct http_route *route;
    const char *matched_route;   /* base + pattern, with `/...` (spin-matched-route) */
    const char *raw_route;       /* the pattern as written (spin-raw-component-route) */
    const char *component_route; /* the pattern without `/...` (spin-component-route) */
    const char *base;            /* the base path (spin-base-path) */
    const char *path_info;       /* the path after the matched prefix (spin-path-info) */
    size_t path_info_len;
    struct http_capture captures[HTTP_ROUTE_MAX_PARAMS];
    size_t ncaptures;
};

/* Matches a request path (no query string, not percent-decoded). Returns 0
 * and fills *out, or SPRY_ENOTFOUND when no public route matches. */
int http_router_match(const struct http_router *router, const char *path, size_t path_len,
                      struct http_match *out);

/* The connection facts the spin-* headers need. */
struct http_request_facts {
    const char *scheme;      /* "http" or "https" */
    const char *authority;   /* Host header or :authority; may be NULL */
    const char *path_query;  /* the request target as received: path and query */
    size_t path_query_len;   /* its length */
    const char *client_addr; /* "ip:port" ("[v6]:port" for IPv6) */
};

/* Receives one header; returns 0 or a SPRY_E* code that stops the walk. */
typedef int (*http_header_emit_fn)(void *ctx, const char *name, size_t name_len, const char *value,
                                   size_t value_len);

/*
 * Emits the Spin request metadata for `match`, in this order: spin-full-url,
 * spin-path-info, spin-matched-route, spin-raw-component-route,
 * spin-component-route, spin-base-path, spin-client-addr, then
 * spin-path-match-<name> per capture (name lowered, `_` written as `-`).
 * The strings passed to emit live only during the call. Returns the first
 * non-zero code emit returns, SPRY_ENOMEM, or 0.
 */
int http_router_spin_headers(const struct http_match *match, const struct http_request_facts *facts,
                             http_header_emit_fn emit, void *ctx);

#endif

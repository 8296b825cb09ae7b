/*
 * Service chaining: a request from one component of the app to another,
 * `http://<component-id>.spin.internal/...`, served in-process without a
 * socket (docs/http.md, "Service chaining").
 *
 * The caller (the spin executor's outbound hook, on a worker thread inside
 * a guest's host call) starts a chained request; the target component's
 * executor runs it on a thread of its own with a local exchange (no I/O
 * loop, no deadline of its own): the same http_exchange an executor gets
 * from the server, so a wasi:http or a WAGI component serves it unchanged.
 * The caller writes the request body into the exchange's 256 KiB window
 * (http_chain_body_capacity says how much fits) while the target reads it,
 * and reads the response as the target writes it (the target blocks while
 * 256 KiB wait): back-pressure both ways, no size limit but max_body_bytes
 * for a WAGI target, which takes its body whole.
 *
 * Why a thread per chained request, not a server worker: the caller holds
 * its worker until the chained response is read, so queueing the chained
 * request behind the workers could deadlock them (every worker waiting on
 * a request that no worker is free to run); running it on the caller's
 * thread could not stream (the caller writes the request body and reads
 * the response while the target runs). The thread takes an instance from
 * the pool, which must never make it wait (its caller may hold the slot
 * it would wait for) nor take the slot an I/O loop's speculative run
 * counts on: at most max_running chained requests run at once, the slots
 * the workers and loops cannot use; one more is refused at once
 * (HTTP_CHAIN_BUSY). The depth bound keeps one outside request to at most
 * HTTP_CHAIN_MAX_DEPTH of them.
 *
 * The target is the component's route (its last [[trigger.http]] entry,
 * private or not, whose executor and its settings, e.g. WAGI argv, serve
 * the request: Spin keeps one trigger configuration per component, the
 * last one) matched as Spin does for a chained request: as if by the
 * wildcard route `/...`, whatever the path: spin-matched-route and
 * spin-raw-component-route `/...`, spin-component-route empty,
 * spin-path-info the whole path, spin-base-path `/`, spin-client-addr
 * `0.0.0.0:0`, spin-full-url `http://<authority><path?query>`. Only the
 * URL's authority chooses the component (the caller's Host header is
 * replaced by it).
 *
 * Lifetime: the caller's http_chain_destroy cancels a chained request
 * still running (its guest is interrupted) and returns at once; the thread
 * ends on its own. http_chain_app_destroy waits for every thread.
 */
#ifndef SPRY_TRIGGER_HTTP_CHAIN_H
#define SPRY_TRIGGER_HTTP_CHAIN_H

#include "trigger/http_exchange.h"
#include "trigger/router.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A request chained this many times deep is refused (loop-detected). */
#define HTTP_CHAIN_MAX_DEPTH 10

struct http_chain_app;
struct http_chain;

/* max_body_bytes: the most a WAGI target takes (0: 16 MiB); max_running:
 * chained requests at once (0: none). */
int http_chain_app_create(uint64_t max_body_bytes, size_t max_running, struct http_chain_app **out);
/* The app's route table (borrowed: it must outlive the chain app), where
 * chained requests find their component. Before the first request. */
void http_chain_app_set_routes(struct http_chain_app *app, const struct http_route *routes,
                               size_t n);
/* Waits until every chained request's thread ended, then frees. NULL is a
 * no-op. */
void http_chain_app_destroy(struct http_chain_app *app);

struct http_chain_request {
    const char *component_id; /* the target */
    const char *method;
    const char *authority;       /* "<id>.spin.internal[:port]", as the caller wrote it */
    const char *path_with_query; /* NULL: "/" */
    const struct http_header_pair *headers;
    size_t nheaders;
    bool has_body;
    /* The caller's wasi:http request-options (0: the defaults, 60 s each,
     * as outbound HTTP's): no response head that long after the start, or
     * no response bytes that long while the caller reads, fails the request
     * with SPRY_ETIMEOUT (connection-read-timeout) and cancels the target.
     * A chained request has no connection to wait for: a connect timeout
     * never passes. */
    uint64_t first_byte_timeout_ns, between_bytes_timeout_ns;
};

enum http_chain_error {
    HTTP_CHAIN_OK,
    HTTP_CHAIN_LOOP,      /* deeper than HTTP_CHAIN_MAX_DEPTH */
    HTTP_CHAIN_NO_ROUTE,  /* the component has no HTTP route */
    HTTP_CHAIN_INVALID,   /* a method, path or header the exchange cannot carry */
    HTTP_CHAIN_BUSY,      /* max_running chained requests run already */
    HTTP_CHAIN_RESOURCES, /* out of memory, no thread */
};

/* Starts a chained request from the caller's exchange `from` (its depth).
 * 0 with *out, or an http_chain_error with `why`. */
int http_chain_start(struct http_chain_app *app, const struct http_exchange *from,
                     const struct http_chain_request *r, struct http_chain **out, char *why,
                     size_t cap);

/* The request body: how many bytes body_write takes now (0: none now; the
 * body is dropped once the target answered and ended), < 0 when it
 * failed; body_finish ends it with n trailer fields (the target's
 * http_exchange_request_trailers), checked as a chunked body's are: token
 * names (sent lower case), values without control characters (else
 * SPRY_EINVAL), at most BODY_TRAILER_MAX bytes of field lines (else
 * SPRY_ETOOBIG); on either the target is cancelled, as the server refuses
 * such a body. */
int64_t http_chain_body_capacity(struct http_chain *c);
int http_chain_body_write(struct http_chain *c, const void *p, size_t n);
int http_chain_body_finish(struct http_chain *c, const struct http_header_pair *trailers, size_t n);

/* The response head: 0 (valid until destroy; content-length added when
 * the target gave one), SPRY_EBUSY not yet, SPRY_EINTERRUPTED cancelled,
 * SPRY_ETIMEOUT past the first-byte timeout. */
int http_chain_head(struct http_chain *c, uint16_t *status, const struct http_header_pair **headers,
                    size_t *n);
/* Response bytes: the count (0 with !*eof: none yet), or < 0 when the
 * target broke its response off (SPRY_EIO), the request was cancelled, or
 * none came within the between-bytes timeout (SPRY_ETIMEOUT). */
int64_t http_chain_body_read(struct http_chain *c, void *buf, size_t cap, bool *eof);

/* The response's trailers once body_read said eof (valid until destroy;
 * n 0: none): those the target finished with (http_exchange_finish_trailers,
 * names lower case), when HTTP/1.1 would have carried them, i.e. chunked:
 * a body of unknown length, not for HEAD, 1xx, 204 or 304. SPRY_EBUSY
 * before the end. */
int http_chain_trailers(struct http_chain *c, const struct http_header_pair **t, size_t *n);

/* Change detection for polls: clear before looking at the state; changed
 * says whether it may have moved since (a timeout passing counts); wait
 * blocks up to ns for that. */
void http_chain_clear(struct http_chain *c);
bool http_chain_changed(struct http_chain *c);
void http_chain_wait(struct http_chain *c, uint64_t ns);

/* For a guest's wasi:io poll (wasihttp_outgoing.wake_fd): re-arms and
 * returns an fd that polls readable once the state moved after this call
 * (what changed tracks is untouched); -1 when there is none. */
int http_chain_wake_fd(struct http_chain *c);
/* The target's side of the same for its request body (its body_ready):
 * -1 unless ex is a chained request's exchange. */
int http_chain_body_wake_fd(struct http_exchange *ex);

/* Cancels what still runs and frees the caller's side. */
void http_chain_destroy(struct http_chain *c);

#endif

/*
 * wasi:http 0.2 as host interfaces for components (wasi:http/types,
 * wasi:http/outgoing-handler), with no knowledge of any server: an
 * embedder (the spin executor, src/trigger/spin.c) gives a request and
 * callbacks for the response, and the guest's incoming-handler builds the
 * response through these types. docs/components.md ("wasi:http") tells the
 * behaviour; the WIT followed is WebAssembly/wasi-http v0.2.12.
 *
 *     const struct clink_host *host = wasihttp_host();   WASI 0.2 + wasi:http, once
 *   per request:
 *     wasip2_create(...); wasihttp_create(&server, &h);
 *     wasip2_attach(p2, store); wasihttp_attach(h, store);
 *     wasihttp_incoming(h, &req, &request_rep, &outparam_rep);
 *     ... call wasi:http/incoming-handler.handle(request, outparam) ...
 *     wasihttp_outcome(h)                  what the guest did with the outparam
 *     clink_release(...); wasip2_destroy(p2); wasihttp_destroy(h);   in this order
 *
 * Bodies are wasi:io streams with a backend of this layer
 * (wasip2_stream_create): the request body reads through server->read_body,
 * the response body writes through server->write once the outparam is set
 * (before that, into a bounded buffer sent at set).
 *
 * outgoing-handler.handle goes through the embedder's `outgoing` hook
 * (struct wasihttp_outgoing): the request's parts go to start(), the
 * outgoing-body's stream feeds body_write as the guest writes (what was
 * written before handle is queued and sent then), the
 * future-incoming-response is ready when head() answers, and the
 * incoming-body's stream reads body_read. Without a hook, handle answers
 * error-code.internal-error.
 */
#ifndef SPRY_COMPONENT_WASIHTTP_H
#define SPRY_COMPONENT_WASIHTTP_H

#include "component/chost.h"
#include "component/link.h"
#include "spry/error.h"
#include "spry/wasm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The version of the WIT these interfaces follow (0.2.x imports link). */
#define WASIHTTP_VERSION "0.2.12"

/* A header as the embedder gives and gets it: NUL-terminated name (lower
 * case when it comes from the guest) and value (bytes 0x20-0xff and tab,
 * never NUL, CR or LF, when it comes from the guest). */
struct wasihttp_header {
    const char *name;
    const char *value;
};

/* The request as the server received it; every string is copied. */
struct wasihttp_request {
    const char *method;          /* "GET", ... as received */
    const char *path_with_query; /* "/a/b?c" */
    const char *scheme;          /* "http" or "https" */
    const char *authority;       /* "host:port" (the Host header), may be "" */
    const struct wasihttp_header *headers;
    size_t nheaders;
};

/* A wasi:http error-code: the case (the WIT's order, as
 * host/http_client.h numbers them) and a message for logs (the payload of
 * internal-error). */
struct wasihttp_error {
    uint32_t code;
    char message[192];
};

enum { WASIHTTP_EC_HTTP_REQUEST_DENIED = 15, WASIHTTP_EC_INTERNAL_ERROR = 38 };

/* An outgoing request as the guest built it; strings NUL-terminated,
 * valid during start() only. */
struct wasihttp_outgoing_request {
    const char *method;          /* "GET", ... or the other(string) */
    const char *scheme;          /* "http", "https", another; NULL: none set */
    const char *authority;       /* NULL: none set (a relative request) */
    const char *path_with_query; /* NULL: none set */
    const struct wasihttp_header *headers;
    size_t nheaders;
    bool has_body;          /* the guest took the outgoing-body */
    int64_t content_length; /* from a valid content-length header, or -1 */
    uint64_t connect_timeout_ns, first_byte_timeout_ns, between_bytes_timeout_ns; /* 0: default */
};

/*
 * Outbound HTTP for the guest. `req` is the embedder's handle of one
 * request; every function but start takes it. None blocks except wait.
 *  - start: 0 with *req, or nonzero with err (no request exists; a policy
 *    denial is HTTP-request-denied and must make no connection);
 *  - body_capacity: bytes body_write takes now (0: not now), < 0 failed;
 *  - body_write: len <= capacity; 0 or nonzero (failed);
 *  - body_finish: ends the body with n trailer fields (outgoing-body.finish's;
 *    an embedder whose protocol cannot carry them drops them): 0, or
 *    nonzero with err;
 *  - head: 0 with the response head (valid until destroy), SPRY_EBUSY not
 *    yet, another error with err;
 *  - body_read: the count (0 and !*eof: nothing yet), or < 0 with err;
 *  - trailers: after eof, the trailers (n 0: none);
 *  - clear: call before looking at the state; changed: whether the state
 *    may have changed since; wait: block up to ns for a change;
 *  - wake_fd (NULL: none): an fd that polls readable once the request's
 *    state changed after this call (which re-arms it, without touching
 *    what clear and changed track): a guest's wasi:io poll sleeps on it
 *    rather than asking every millisecond; -1: none for this request;
 *  - destroy: cancels what is in flight and frees req.
 */
struct wasihttp_outgoing {
    void *user;
    int (*start)(void *user, const struct wasihttp_outgoing_request *r, void **req,
                 struct wasihttp_error *err);
    int64_t (*body_capacity)(void *req);
    int (*body_write)(void *req, const uint8_t *p, size_t n);
    int (*body_finish)(void *req, const struct wasihttp_header *trailers, size_t n,
                       struct wasihttp_error *err);
    int (*head)(void *req, uint16_t *status, const struct wasihttp_header **headers, size_t *n,
                struct wasihttp_error *err);
    int64_t (*body_read)(void *req, uint8_t *buf, size_t cap, bool *eof,
                         struct wasihttp_error *err);
    void (*trailers)(void *req, const struct wasihttp_header **t, size_t *n);
    void (*clear)(void *req);
    bool (*changed)(void *req);
    void (*wait)(void *req, uint64_t ns);
    int (*wake_fd)(void *req);
    void (*destroy)(void *req);
};

/*
 * What the embedder does for the guest. All run on the thread calling the
 * guest, inside a host call; each may block (then return when the store is
 * interrupted). Return 0, or an error (SPRY_EINTERRUPTED when the client
 * is gone or the deadline passed): the guest sees a failed stream.
 */
struct wasihttp_server {
    void *user;
    /* At most cap bytes of the request body into buf: *n = 0 at the end. */
    int (*read_body)(void *user, uint8_t *buf, size_t cap, size_t *n);
    /* Whether read_body would return at once (bytes, the end or an error):
     * what the body stream's pollable and non-blocking reads ask. NULL:
     * always. */
    bool (*body_ready)(void *user);
    /* An fd that polls readable once body_ready may have turned true after
     * this call (which re-arms it), for the guest's polls to sleep on
     * (wasip2_stream_ops.wake_fd); -1 or NULL: none (asked every
     * millisecond). */
    int (*body_wake_fd)(void *user);
    /* The request's trailers once read_body said the end: 0 with them
     * (valid until the context is destroyed; n 0: none), SPRY_EBUSY
     * before the end, another error otherwise. NULL: never any. */
    int (*trailers)(void *user, const struct wasihttp_header **t, size_t *n);
    /* The response head (the outparam was set). content_length < 0:
     * unknown (no valid content-length header). */
    int (*respond)(void *user, uint16_t status, const struct wasihttp_header *headers, size_t n,
                   int64_t content_length);
    int (*write)(void *user, const uint8_t *p, size_t n);
    /* The body ended (outgoing-body.finish); trailers may be dropped by the
     * embedder when its protocol cannot carry them. */
    int (*finish)(void *user, const struct wasihttp_header *trailers, size_t n);
    /* Outbound HTTP (borrowed); NULL: outgoing-handler.handle answers
     * internal-error. */
    const struct wasihttp_outgoing *outgoing;
};

/* The per-request context (its object table, the response state). */
struct wasihttp;

/* The host interfaces of wasi:http (types, outgoing-handler). Static. */
const struct chost_iface *wasihttp_ifaces(size_t *n);

/* WASI 0.2 and wasi:http in one host table, parsed once per process and
 * never freed; NULL when out of memory. */
const struct clink_host *wasihttp_host(void);

/* `server` is copied; its user pointer is borrowed. */
int wasihttp_create(const struct wasihttp_server *server, struct wasihttp **out);
/* Frees every object; call after the guest's handles were dropped and
 * after wasip2_destroy (body streams call back into this context until
 * they are closed). NULL is a no-op. */
void wasihttp_destroy(struct wasihttp *h);
/* Makes `h` the wasi:http context of host calls running in `store`. */
void wasihttp_attach(struct wasihttp *h, struct spry_store *store);

/* Creates the incoming-request and the response-outparam the handler gets
 * (their reps: own<incoming-request>, own<response-outparam>). The WASI
 * 0.2 context must be attached to the same store first. SPRY_ENOMEM. */
int wasihttp_incoming(struct wasihttp *h, const struct wasihttp_request *req, uint32_t *request,
                      uint32_t *outparam);

enum wasihttp_outcome {
    WASIHTTP_NOT_SET,    /* the handler never set the outparam */
    WASIHTTP_ERROR,      /* set with err(error-code) (before anything was sent) */
    WASIHTTP_INCOMPLETE, /* the head went out; the body never finished (or failed) */
    WASIHTTP_DONE,       /* response and body complete */
};

/* What the guest did. For WASIHTTP_ERROR and WASIHTTP_INCOMPLETE, `why`
 * (when cap > 0) says what, e.g. "error-code.HTTP-response-timeout". */
enum wasihttp_outcome wasihttp_outcome(const struct wasihttp *h, char *why, size_t cap);

/* Live objects in the table (tests). */
size_t wasihttp_live_objects(const struct wasihttp *h);

/* Whether a header name / value is valid for fields (the http crate's
 * rules, which wasmtime and Spin apply), and whether the guest may set the
 * name (wasmtime's forbidden list). Exposed for tests. */
bool wasihttp_name_valid(const char *name, size_t len);
bool wasihttp_value_valid(const uint8_t *value, size_t len);
bool wasihttp_name_forbidden(const char *lower_name, size_t len);

#endif

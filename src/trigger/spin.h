/*
 * The spin executor: serves a component that exports
 * wasi:http/incoming-handler@0.2.x, as Spin's default executor does
 * (docs/http.md, "The spin executor").
 *
 * At creation the component is decoded and linked against WASI 0.2 and
 * wasi:http (wasihttp_host) into the instance pool: a component importing
 * an interface Spry does not provide, or exporting no incoming-handler, is
 * rejected there with the component id and the interface's name.
 *
 * Per request: a fresh component instance from the pool, a WASI 0.2
 * context (the manifest's environment, the component's files read-only,
 * no arguments, empty stdin, stdout and stderr captured for the logs) and
 * a wasi:http context whose incoming-request carries the request as the
 * server received it (every client header and the spin-* metadata the
 * router added), then handle(request, response-outparam). The response
 * head goes out when the guest sets the outparam; the body streams as the
 * guest writes it (http_exchange_write blocks while the client is slow).
 *
 * Errors: a trap answers 500 (logged with the component id), as does a
 * handler that returns without setting the outparam or sets it to an
 * error-code; after the head went out, an error aborts the response. The
 * deadline interrupts the guest (the server answers 504).
 *
 * Threading: handle() runs on the server's worker threads, and for a
 * chained request on a thread of http_chain.c, any number at once, and,
 * with `speculate`, first on the I/O loop that received the
 * request, under the gate of spin_spec.h (docs/http.md, "Speculation"); a
 * run that reaches past it is stopped and the request run again on a
 * worker. The executor's only mutable state is an atomic counter (after
 * such a deferral the next requests go straight to a worker).
 */
#ifndef SPRY_TRIGGER_SPIN_H
#define SPRY_TRIGGER_SPIN_H

#include "host/http_client.h"
#include "spry/pool.h"
#include "trigger/http_chain.h"
#include "spry/wasi.h"
#include "trigger/http_exchange.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the component's policy sends an outgoing request. */
enum spin_route {
    SPIN_ROUTE_DENIED,  /* HTTP-request-denied, no connection */
    SPIN_ROUTE_NETWORK, /* to scheme://authority */
    SPIN_ROUTE_SELF,    /* a relative request: to the app itself (self_origin) */
    SPIN_ROUTE_CHAIN,   /* <component-id>.spin.internal: in-process (chain) */
};

struct spin_config {
    const char *component_id;
    const char *source;   /* the file the bytes came from, for messages */
    const uint8_t *bytes; /* the component; copied as needed during create */
    size_t len;
    struct spry_pool *pool; /* borrowed */
    const char *const *env; /* "K=V"; borrowed */
    size_t nenv;
    const struct spry_wasi_preopen *preopens; /* borrowed */
    size_t npreopens;
    const int *preopen_fds;           /* NULL, or their open directories (borrowed) */
    int stdout_log_fd, stderr_log_fd; /* appended to; -1: none. Borrowed. */
    bool echo;                        /* also write guest output to the terminal */
    /* Outbound HTTP (wasi:http/outgoing-handler). client NULL: handle
     * answers internal-error. route decides from the request's scheme and
     * authority (NULL for a relative request; why says what would allow
     * a denied one); allow is the same policy on what the client will
     * connect to (http_client.h), asked again before connecting. */
    struct http_client *client; /* borrowed */
    enum spin_route (*route)(void *ctx, const char *scheme, const char *authority, char *why,
                             size_t cap);
    http_client_allow_fn allow;
    void *outbound_ctx;
    /* "http://127.0.0.1:3000": the app's own origin, where relative
     * requests go; borrowed and read at each request (the server fills
     * it once it listens). */
    const char *self_origin;
    /* Service chaining (http_chain.h): where a request the route callback
     * sent to SPIN_ROUTE_CHAIN runs. Borrowed; NULL: such requests answer
     * internal-error. */
    struct http_chain_app *chain;
    /* Run requests speculatively on the I/O loop first (spin_spec.h). Only
     * when the pool has a slot for each loop beyond the workers' (a loop
     * must never wait for one). */
    bool speculate;
};

struct spin_executor;

/* Errors (report: "component 'ID': ..."): what decoding or linking the
 * component says (SPRY_EMALFORMED, SPRY_EUNLINKABLE, SPRY_EUNSUPPORTED),
 * SPRY_ENOTFOUND when it exports no incoming-handler, SPRY_ENOMEM. */
int spin_executor_create(const struct spin_config *config, struct spin_executor **out,
                         struct spry_report *report);
void spin_executor_destroy(struct spin_executor *executor); /* NULL is a no-op */

const struct http_executor *spin_executor_http(const struct spin_executor *executor);

#endif

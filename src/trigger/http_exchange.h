/*
 * The executor interface: how a request reaches code that is not the HTTP
 * server (a WAGI module, a component, a test double) and how its response
 * comes back (docs/http.md, "Executors").
 *
 * Threading. The server parses a request on an I/O loop, copies everything
 * an executor may read into the exchange (method, target, headers including
 * the spin-* metadata, and, unless the executor streams it, the whole body,
 * at most limits.max_body_bytes), and queues the exchange for a worker
 * thread. handle() runs on that worker and may block as long as it likes:
 * no I/O loop waits for it (unless the executor speculates: see
 * `speculate` below). The response
 * functions below may be called from the worker (or any one thread at a
 * time); they copy into the exchange and wake the exchange's loop, which
 * writes to the socket.
 *
 * Deadline. limits.request_timeout_ms after the request was dispatched, the
 * loop answers 504 (if no response was started; else it aborts the stream),
 * marks the exchange cancelled and, if handle() is still running, calls
 * interrupt() on the loop thread; interrupt must be thread-safe and quick
 * (spry_store_interrupt is both). The same happens when the client goes
 * away. After cancellation every response call returns
 * SPRY_EINTERRUPTED and writes nothing; handle should return soon.
 *
 * Request body. An executor with `stream_body` set gets an empty req.body
 * and reads the body with http_exchange_read_body while the client sends
 * it: the server reads an HTTP/1 socket only as fast as the executor
 * reads, and opens an HTTP/2 stream's flow-control window only as far (at
 * most 256 KiB wait in the exchange), so a body of any size up to
 * max_body_bytes passes without being held whole. (A later HTTP/1 request
 * with `Expect: 100-continue` is still received whole by h2o 2.2 before
 * dispatch; read_body serves it the same way. docs/http.md, "Streaming
 * request bodies".) Without the flag
 * req.body holds the whole body, and read_body reads it too.
 *
 * Ending. handle returns 0 after http_exchange_finish, or an error code:
 * then, if no response was started, the server answers 500 and logs the
 * code with the route's component id (a trap is SPRY_ETRAP). A handle that
 * returns 0 without finishing is finished by the server (200 with what was
 * written, or 500 when nothing was started).
 */
#ifndef SPRY_TRIGGER_HTTP_EXCHANGE_H
#define SPRY_TRIGGER_HTTP_EXCHANGE_H

#include "trigger/router.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct http_exchange;

struct http_executor {
    void *data;
    int (*handle)(void *data, struct http_exchange *ex);
    /* May be NULL. Called on a loop thread with the exchange locked, only
     * while handle() runs; `user` is what handle set with
     * http_exchange_set_user. It must not call http_exchange_* functions. */
    void (*interrupt)(void *data, void *user);
    /* Speculation (docs/http.md): when true, the server first calls handle()
     * on the I/O loop itself, http_exchange_speculative() true, and sends
     * what it answers with no thread hand-off. A speculative handle must not
     * block and must have no effect outside the exchange until it answers;
     * it returns HTTP_EXCHANGE_DEFER, having started no response, to be run
     * again on a worker, which it must do when interrupt() is called (the
     * server does after a budget of about a millisecond, so a slow handler
     * holds the loop's other requests up no longer than that). */
    bool speculate;
    /* false: req.body has the whole body before handle() runs (WAGI's
     * stdin). true: req.body is empty; read it with
     * http_exchange_read_body as it arrives. */
    bool stream_body;
};

/* handle()'s answer from a speculative run: run me again on a worker. */
#define HTTP_EXCHANGE_DEFER 1

/*
 * The request as an executor sees it. Every string is NUL-terminated and
 * owned by the exchange (valid until handle returns). Header names are
 * lower case; `host` and `content-length` are included (HTTP/1 requests
 * carry them outside the header list in the library) followed by the
 * spin-* headers of http_router_spin_headers.
 */
struct http_request {
    const char *method;
    const char *target; /* path and query as received */
    const char *path;   /* without the query */
    const char *query;  /* after '?', "" when there is none */
    const char *scheme; /* "http" or "https" */
    const char *authority;
    const char *client_addr; /* "ip:port" */
    const char *server_addr; /* "ip:port" of the listener that accepted it */
    int http_version;        /* 0x100, 0x101 or 0x200 */
    const struct http_header_pair *headers;
    size_t nheaders;
    size_t nclient_headers; /* headers[0, nclient_headers) came from the client */
    const uint8_t *body;    /* "" when the executor streams the body */
    size_t body_len;
    /* The route that matched, and the match facts WAGI's CGI variables use. */
    const struct http_route *route;
    const char *matched_route, *raw_route, *component_route, *base, *path_info;
};

const struct http_request *http_exchange_request(const struct http_exchange *ex);

/* A slot for the executor's per-request state (e.g. the store that
 * interrupt() must stop). Set it before the guest starts running. */
void http_exchange_set_user(struct http_exchange *ex, void *user);
void *http_exchange_user(const struct http_exchange *ex);

/*
 * Starts the response. content_length < 0 means unknown: HTTP/1.1 sends it
 * chunked, HTTP/2 as DATA frames. Header names and values are copied; a
 * name or value with CR, LF or NUL is SPRY_EINVAL, as is a second start.
 */
int http_exchange_start(struct http_exchange *ex, uint16_t status,
                        const struct http_header_pair *headers, size_t nheaders,
                        int64_t content_length);
/* Appends body bytes. Blocks while more than 256 KiB wait to be written
 * (the client reads slower than the guest writes). Implies start(200, none,
 * unknown length) when the response was not started. */
int http_exchange_write(struct http_exchange *ex, const void *data, size_t len);
/* Ends the response (starting it as 200 with no body if needed). */
int http_exchange_finish(struct http_exchange *ex);
/* How many chained requests (service chaining, http_chain.h) led to this
 * one: 0 for a request from the network. */
uint32_t http_exchange_depth(const struct http_exchange *ex);
/* Ends the response with trailer fields after the body. They reach the
 * client when the response is HTTP/1.1 chunked (started with an unknown
 * length; not for HEAD, 1xx, 204 or 304) or HTTP/2 (a HEADERS frame after
 * the body; not for HEAD, 204 or 304), and are dropped otherwise
 * (docs/http.md, "Trailers"). Names must
 * be tokens (sent lower case) and values free of CR and LF (else
 * SPRY_EINVAL, nothing finished); content-length, transfer-encoding and connection are left
 * out. */
int http_exchange_finish_trailers(struct http_exchange *ex, const struct http_header_pair *trailers,
                                  size_t n);
/* True once the deadline expired or the client went away. */
bool http_exchange_cancelled(const struct http_exchange *ex);
/* True while handle() runs speculatively on an I/O loop (see speculate). */
bool http_exchange_speculative(const struct http_exchange *ex);

/*
 * Reads the next request body bytes into buf, blocking until some arrive.
 * Returns the count (> 0), 0 at the end of the body, or a negative code:
 * SPRY_EINTERRUPTED once cancelled (deadline, client gone), SPRY_EIO when
 * the client stopped sending mid-body, SPRY_ETOOBIG when a chunked body
 * passed max_body_bytes, SPRY_EMALFORMED for broken chunked framing. On
 * the last three the server has answered 413 or 400 itself (when no
 * response was started), closes the connection after the response, and
 * the exchange is cancelled. Any thread, one at a time (the worker).
 */
ssize_t http_exchange_read_body(struct http_exchange *ex, void *buf, size_t len);
/*
 * The request's trailer fields, once read_body returned 0 (the end):
 * those of an HTTP/1.1 chunked body, checked as header fields are (names
 * lower case, at most 64 KiB of field lines), or of the HEADERS frame that
 * followed an HTTP/2 body. None for other bodies.
 * SPRY_EBUSY before the end; the pairs are owned by the exchange.
 */
int http_exchange_request_trailers(struct http_exchange *ex, const struct http_header_pair **out,
                                   size_t *n);
/* True when read_body would return at once (bytes, the end, an error or
 * cancellation): what a pollable for the body stream asks. */
bool http_exchange_body_ready(struct http_exchange *ex);
/* Blocks until body_ready or timeout_ms pass (< 0: no limit). Returns 0
 * when ready, SPRY_ETIMEOUT otherwise. For a poll over the body and timers:
 * wait with the time to the earliest timer. */
int http_exchange_wait_body(struct http_exchange *ex, int64_t timeout_ms);

#endif

/*
 * Outbound HTTP: a client on libcurl for wasi:http/outgoing-handler.
 *
 *     http_client_create(&config, &client, &report);   one worker thread
 *     http_client_submit(client, &req_options, &req, &err);
 *         ... http_client_body_write / http_client_body_finish (request body)
 *         ... http_client_head (status, headers) once ready
 *         ... http_client_body_read until eof, then http_client_trailers
 *     http_client_request_destroy(req);   cancels what is still in flight
 *     http_client_destroy(client);
 *
 * Threads. One worker thread drives a curl multi handle (connections are
 * reused between requests, HTTP/2 streams multiplexed); every curl call
 * happens there. Callers -- guest threads of the spin executor -- only
 * exchange bytes with the worker through per-request buffers under a
 * mutex, and never block unless they ask to (http_client_wait). Each
 * request has an fd (http_client_request_fd) that becomes readable
 * whenever its state changes, for wasi:io/poll's ppoll: clear it with
 * http_client_request_clear *before* checking the state, then wait on it.
 *
 * Back-pressure both ways: the request body buffer takes at most
 * `window` bytes more than the connection has sent (http_client_body_capacity
 * is wasi:io's check-write); the response body buffer holds at most `window`
 * bytes, and curl's transfer is paused while it is full.
 *
 * Policy (docs/http.md "Outbound"): the URL is parsed by curl's own URL
 * parser, and the scheme, host and port it will connect to go to the
 * caller's `allow` callback (app/outbound.h's matcher) before a connection
 * exists; a denied request fails in http_client_submit with
 * HTTP_REQUEST_DENIED. Only http and https; HTTP/2 by ALPN over TLS, never
 * by prior knowledge; redirects are returned, not followed; no proxy (the
 * *_proxy environment variables are ignored); no Accept-Encoding
 * decoding; the caller's Host, Content-Length, Transfer-Encoding and
 * Connection headers are dropped (curl writes the framing, the authority
 * chooses the Host).
 */
#ifndef SPRY_HOST_HTTP_CLIENT_H
#define SPRY_HOST_HTTP_CLIENT_H

#include "component/wasihttp/error_codes.h"
#include "spry/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* wasi:http/types error-code cases, in the WIT's order (the value is the
 * variant's discriminant). */
#define HTTP_CLIENT_ERRORS(X) WASIHTTP_ERROR_CODES(X)

enum http_client_error_code {
#define HTTP_CLIENT_ERROR_ENUM(name, text) HTTP_ERR_##name,
    HTTP_CLIENT_ERRORS(HTTP_CLIENT_ERROR_ENUM)
#undef HTTP_CLIENT_ERROR_ENUM
        HTTP_ERR_COUNT
};

/* The WIT name of a code ("connection-refused"). */
const char *http_client_error_name(enum http_client_error_code code);

/* A failed request: the wasi:http case and a message for logs (and for
 * internal-error's payload). */
struct http_client_error {
    enum http_client_error_code code;
    char message[192];
};

struct http_client_config {
    size_t window;          /* body bytes buffered each way (0: 64 KiB; at least 16 KiB) */
    size_t max_header_size; /* response header section (0: 64 KiB) */
    size_t max_requests;    /* in flight at once (0: 1024); more: connection-limit-reached */
    const char *ca_file;    /* trusted CAs (NULL: the system's); tests use their own */
};

struct http_client;

int http_client_create(const struct http_client_config *config, struct http_client **out,
                       struct spry_report *report);
/* Cancels every request still in flight (their callers see
 * connection-terminated); requests must still be destroyed by their
 * owners before this is called. NULL is a no-op. */
void http_client_destroy(struct http_client *c);

struct http_client_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* Decides whether the request may go to scheme://host:port (host as curl
 * will resolve it: a name, or an address, IPv6 without brackets; port is
 * the URL's or its scheme's default). Returns true to allow; on false,
 * `why` says what would allow it. Called on the submitting thread. */
typedef bool (*http_client_allow_fn)(void *ctx, const char *scheme, const char *host, int port,
                                     char *why, size_t why_size);

struct http_client_request_options {
    const char *method; /* "GET", "POST", ... (a token) */
    const char *url;    /* absolute: http:// or https:// */
    const struct http_client_header *headers;
    size_t n_headers;
    bool has_body;          /* a body follows (http_client_body_write/finish) */
    int64_t content_length; /* of that body, or -1 (chunked on HTTP/1.1) */
    /* wasi:http request-options, in nanoseconds (0: the defaults, 10 s for
     * connecting and 60 s for each of the others). */
    uint64_t connect_timeout_ns;
    uint64_t first_byte_timeout_ns;
    uint64_t between_bytes_timeout_ns;
    http_client_allow_fn allow; /* required */
    void *allow_ctx;
};

struct http_client_request;

/*
 * Starts a request. Fails at once (err filled, no connection made) when
 * the URL does not parse or is not http(s) (HTTP-request-URI-invalid), the
 * method or a header is invalid (HTTP-request-method-invalid,
 * internal-error), `allow` denies it (HTTP-request-denied), or too many are
 * in flight (connection-limit-reached). Returns 0 with *out, or
 * SPRY_EINVALID / SPRY_EEXHAUSTED / SPRY_ENOMEM with err. Strings are copied.
 */
int http_client_submit(struct http_client *c, const struct http_client_request_options *o,
                       struct http_client_request **out, struct http_client_error *err);
/* Cancels the request if it is in flight and frees it (on the worker). */
void http_client_request_destroy(struct http_client_request *r);

/* Readable when the request's state may have changed. */
int http_client_request_fd(const struct http_client_request *r);
/* Resets the fd: call before looking at the state, then wait on the fd. */
void http_client_request_clear(struct http_client_request *r);

/* ---- request body ------------------------------------------------------------ */

/* Bytes http_client_body_write accepts now (0: wait for the fd); or
 * SPRY_EIO when the request failed (see http_client_head's error). */
int64_t http_client_body_capacity(struct http_client_request *r);
/* Queues len <= capacity bytes. 0, SPRY_EINVAL (more than the capacity,
 * or after finish), SPRY_EIO (the request failed). */
int http_client_body_write(struct http_client_request *r, const void *data, size_t len);
/* Ends the body. SPRY_EINVALID when a content length was given and the
 * body's size differs (err: HTTP-request-body-size; the request fails). */
int http_client_body_finish(struct http_client_request *r, struct http_client_error *err);

/* ---- response ----------------------------------------------------------------- */

struct http_client_response {
    int status;
    int version;                              /* HTTP version of the response: 10, 11 or 20 */
    const struct http_client_header *headers; /* valid until the request is destroyed */
    size_t n_headers;
};

/* The response head: 0 with *resp once the final status and headers
 * arrived; SPRY_EBUSY while they have not; SPRY_EIO when the request failed
 * (err filled). */
int http_client_head(struct http_client_request *r, struct http_client_response *resp,
                     struct http_client_error *err);
/* Up to len body bytes into buf: the count (0 with *eof false: nothing yet,
 * wait for the fd); *eof once the whole body (and trailers) arrived and was
 * read; SPRY_EIO when the transfer failed (err filled). */
int64_t http_client_body_read(struct http_client_request *r, void *buf, size_t len, bool *eof,
                              struct http_client_error *err);
/* After eof: the trailers (n 0 when there were none). */
void http_client_trailers(struct http_client_request *r, const struct http_client_header **out,
                          size_t *n);

/* Blocks until the fd is readable or deadline_ns (CLOCK_MONOTONIC, 0:
 * none) passes: 0, or SPRY_ETIMEOUT. For tests and simple callers. */
int http_client_wait(struct http_client_request *r, uint64_t deadline_ns);

#endif

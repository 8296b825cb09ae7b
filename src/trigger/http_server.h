/*
 * The HTTP trigger's server: h2o event loops (one per core by default),
 * each with its own SO_REUSEPORT listener, serving HTTP/1.1 and HTTP/2
 * (h2c by prior knowledge; h2 over TLS by ALPN), routing with the router,
 * answering /.well-known/spin/{health,info} and static responses on the loop
 * and handing everything else to executors on a bounded worker pool
 * (http_exchange.h). docs/http.md has the threading model and the limits.
 *
 * Lifecycle: http_server_create (binds, nothing runs), http_server_start
 * (threads), http_server_wait (blocks until http_server_stop, then drains
 * in-flight requests and joins every thread), http_server_destroy.
 */
#ifndef SPRY_TRIGGER_HTTP_SERVER_H
#define SPRY_TRIGGER_HTTP_SERVER_H

#include "trigger/http_exchange.h"
#include "trigger/router.h"

#include <stdint.h>
#include <sys/socket.h>

/* Request limits; http_limits_init sets the defaults in brackets. */
struct http_limits {
    uint32_t max_request_line;   /* method + target + version [8 KiB] -> 414 */
    uint32_t max_header_line;    /* one field, "name: value" [8 KiB] -> 431 */
    uint32_t max_header_block;   /* all fields together [64 KiB] -> 431 */
    uint32_t max_header_fields;  /* [100] -> 431 (h2o caps at 100: 400 on a later head) */
    uint64_t max_body_bytes;     /* [16 MiB] -> 413, before reading a declared length */
    uint32_t header_timeout_ms;  /* reading a request head (and the TLS handshake) [10 s] */
    uint32_t idle_timeout_ms;    /* idle keep-alive connection [60 s] */
    uint32_t request_timeout_ms; /* deadline from dispatch to response end [30 s] -> 504 */
    uint32_t drain_timeout_ms;   /* on stop, wait this long for in-flight requests [30 s] */
};
void http_limits_init(struct http_limits *limits);

struct http_server_config {
    const char *listen;   /* "ADDR:PORT", "[V6]:PORT"; default "127.0.0.1:3000" */
    uint32_t loops;       /* event loops [number of online CPUs] */
    uint32_t workers;     /* executor threads [2 x CPUs] */
    uint32_t queue_max;   /* requests waiting for a worker [1024]; beyond -> 503 */
    const char *tls_cert; /* PEM files; both or neither */
    const char *tls_key;
    const char *app_name; /* /.well-known/spin/info */
    const char *app_version;
    const struct http_router *router; /* borrowed */
    struct http_limits limits;
};
void http_server_config_init(struct http_server_config *config);

/* Parses "ADDR:PORT" / "[V6]:PORT" (numeric addresses only). */
int http_listen_parse(const char *text, struct sockaddr_storage *addr, socklen_t *len,
                      struct spry_report *report);

struct http_server;

/* Binds the listeners and loads TLS; config strings are copied except the
 * router, which must outlive the server. */
int http_server_create(const struct http_server_config *config, struct http_server **out,
                       struct spry_report *report);
/* The bound port (useful with port 0). */
uint16_t http_server_port(const struct http_server *server);
int http_server_start(struct http_server *server, struct spry_report *report);
/* Async-signal-safe: asks http_server_wait to drain and return. */
void http_server_stop(struct http_server *server);
/* Blocks until stopped; then closes the listeners, lets in-flight requests
 * finish (up to drain_timeout_ms; keep-alive connections are told to
 * close), and joins the loops and workers. Returns 0, or SPRY_ETIMEOUT
 * when requests were still running at the drain deadline. */
int http_server_wait(struct http_server *server);
void http_server_destroy(struct http_server *server); /* NULL is a no-op */

#endif

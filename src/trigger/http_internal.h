/*
 * Shared internals of the HTTP server: the per-loop state, the exchange
 * (a request handed to an executor) and the worker queue. Only the
 * http_*.c files of this layer include it; it is where h2o is visible.
 *
 * Ownership of an exchange (reference counted, `refs`):
 *  - the loop side holds one from dispatch until h2o disposes the request
 *    (the dispose hook linked into the request's memory pool);
 *  - the worker side holds one from dispatch until handle() has returned
 *    and the response was finished (or the exchange was skipped);
 *  - every message posted to the loop holds one until the loop took it.
 * The last release frees it. `mu` guards the response state, which both
 * sides touch; h2o objects (h2o_req, the deadline entry) are only touched
 * on the loop thread, and h2o_req is NULL once the request is gone.
 *
 * Transports. An HTTP/1 request is an h2o_req_t (`h2o_req`); an HTTP/2
 * request is a stream of an nghttp2 session (`h2`, http2.c). Exactly one
 * of them is set while the request lives ("attached"); the loop-side
 * pump and the request body go through the one that is.
 */
#ifndef SPRY_TRIGGER_HTTP_INTERNAL_H
#define SPRY_TRIGGER_HTTP_INTERNAL_H

#define H2O_USE_LIBUV 0
#define H2O_USE_EPOLL 1
#include <h2o.h>
#include <h2o/http1.h>
#include <h2o/http2.h>
#include <nghttp2/nghttp2.h>

#include "base/arena.h"
#include "base/buf.h"
#include "trigger/http_body.h"
#include "trigger/http_exchange.h"
#include "trigger/http_server.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <strings.h>

struct http_workers;

/* At most this much of a streamed request body waits for the worker: the
 * HTTP/1 read window, and the HTTP/2 stream window (http2.c). */
#define HTTP_BODY_WINDOW (256u * 1024)

/* A connection's first HTTP/1 request whose body we read ourselves: set by
 * the accept path around h2o_http1_accept, which parses the (framing-
 * stripped) head and runs the handler at once; the handler takes it. */
struct stream_claim {
    h2o_socket_t *sock; /* NULL: no claim */
    size_t head_len;    /* the head's bytes at the start of sock->input */
    struct body_framing framing;
    int keep_alive; /* h2o's persistence for the request, until the body is read */
};

/* A later head refused before h2o parsed it: h2o parses a stand-in head
 * instead, and the handler answers with this (http1_request_seen). */
struct head_refusal {
    h2o_socket_t *sock; /* NULL: none */
    int status;
    const char *why;
};

/*
 * Every HTTP/1 connection from the hand-over to h2o until its socket
 * closes (found through sock->on_close, which it wraps): between requests
 * it puts its own read callback in front of h2o's, so that each later head
 * is checked with head_scan before h2o parses it (http_accept.c).
 */
struct http1_guard {
    struct http_loop *loop;
    h2o_socket_t *sock;
    void (*close_cb)(void *); /* the socket's on_close, called after ours */
    void *close_data;
    h2o_timeout_entry_t wrap;     /* loop->wrap_timeout: put our callback back */
    size_t head_len;              /* the current request's head, at the buffer's start */
    bool head_known;              /* head_len is of the head h2o parses next (we scanned it) */
    bool wait_head;               /* between requests: the next head is not checked yet */
    struct http_exchange *stream; /* the exchange reading its body off this socket */
};

struct http_loop {
    struct http_server *server;
    pthread_t thread;
    bool thread_started;
    h2o_context_t ctx;
    bool ctx_ready;
    h2o_accept_ctx_t accept_ctx;
    int listen_fd;                        /* -1 once handed to h2o or closed */
    h2o_socket_t *listener;               /* NULL once closed (loop thread only) */
    h2o_multithread_receiver_t exchanges; /* exchange messages: pump */
    h2o_multithread_receiver_t control;   /* shutdown / stop */
    h2o_timeout_t deadline;               /* request_timeout_ms */
    h2o_timeout_t head_timeout;           /* header_timeout_ms: handshake + first head */
    atomic_size_t connections;
    atomic_bool stop;
    struct stream_claim claim;    /* loop thread only */
    struct head_refusal refusal;  /* loop thread only */
    h2o_timeout_t wrap_timeout;   /* zero: runs in the loop pass that armed it */
    h2o_socket_cb h2o_http1_read; /* h2o's HTTP/1 read callback (learned at start) */
    h2o_linklist_t h2_conns;      /* HTTP/2 connections (http2.c), loop thread only */
    h2o_timeout_t h2_idle;        /* idle_timeout_ms, for them */
    bool draining;                /* shutdown asked: new HTTP/2 connections get GOAWAY */
};

struct http_server {
    struct http_server_config config; /* strings point into `strings` */
    char *strings[6];
    h2o_globalconf_t globalconf;
    struct http_loop *loops;
    uint32_t nloops;
    struct http_workers *workers;
    SSL_CTX *ssl_ctx;
    uint16_t port;
    char server_addr[64];
    int stop_fd;       /* eventfd: http_server_stop writes, http_server_wait reads */
    sem_t loops_ready; /* posted by each loop once its h2o context exists */
    bool sem_ready;
    atomic_size_t active; /* exchanges not yet freed */
    bool started;
};

/* Response state shared by the worker (writer) and the loop (sender). */
struct http_exchange {
    struct http_request req; /* immutable after dispatch */
    struct spry_arena arena; /* req's strings, headers, body */
    const struct http_executor *executor;
    struct http_loop *loop;
    atomic_int refs;
    pthread_mutex_t mu;
    pthread_cond_t space; /* signalled when pending drained or cancelled */
    /* guarded by mu */
    h2o_req_t *h2o_req;
    struct h2_stream *h2; /* the HTTP/2 stream (http2.c); set and cleared on the loop */
    bool running, cancelled, started, head_sent, finished, final_sent, inflight, msg_pending, abort;
    bool send_due;    /* msg_pending set, message not sent yet (worker side) */
    bool speculative; /* handle() runs on the loop (exchange_run_inline) */
    /* A chained request (http_chain.c): no loop, no h2o request; the
     * caller reads the response under mu, woken through `space` whenever
     * `version` moves (post_locked). depth: 0 from the network. */
    bool local;
    uint64_t version;
    /* A local exchange's eventfds (-1: none), written once armed: wake_fd
     * when version moves, body_wake_fd when the request body does; a
     * guest's wasi:io poll sleeps on them (http_chain_wake_fd). */
    int wake_fd, body_wake_fd;
    bool wake_armed, body_wake_armed;
    uint32_t depth;
    uint16_t status;
    int64_t content_length;
    struct spry_buf head; /* response headers: "name\0value\0" pairs */
    struct spry_buf pending, sending;
    size_t send_off; /* HTTP/2: sending[0, send_off) was given to nghttp2 */
    /* Response trailers ("name\0value\0" pairs), set by finish. */
    struct spry_buf trailers;
    /* loop thread only: HTTP/1.1 chunks we frame ourselves (so trailers
     * can follow the last one), and the bytes around a chunk's data. */
    bool own_chunks;
    char chunk_size[24];
    struct spry_buf chunk_tail;
    void *user;
    /* The request body (guarded by mu). Either the whole of it, `copy`
     * (h2o read it), or a window the loop fills from the socket while the
     * worker reads it (body_sock != NULL). */
    const uint8_t *copy;
    size_t copy_len, copy_off;
    struct spry_buf window; /* [window_off, len) not read yet */
    size_t window_off;
    bool body_end;       /* nothing more will come */
    bool body_blocked;   /* the loop stopped reading: the window was full */
    bool h2_body;        /* the window is fed by HTTP/2 DATA frames (http2.c) */
    size_t body_unacked; /* HTTP/2: bytes read off the window, not yet given back as flow-control
                            credit */
    int body_err;        /* < 0 once the body failed */
    /* Request trailers of a chunked body we decode ("name\0value\0",
     * written by body_decode), complete once body_end; and, once asked
     * for, as pairs. */
    struct spry_buf req_trailers;
    struct http_header_pair *req_trailer_pairs;
    size_t nreq_trailers;
    bool req_trailers_made;
    pthread_cond_t body_cv;
    /* loop thread only */
    h2o_socket_t *body_sock; /* while the body is read off the connection */
    size_t body_head_len;
    struct body_decoder body_dec;
    h2o_generator_t generator;
    h2o_timeout_entry_t deadline;
    h2o_timeout_entry_t send_soon; /* loop->wrap_timeout: an inline answer, sent later */
    h2o_multithread_message_t msg;
    struct http_exchange *next; /* worker queue link (queue's lock) */
};

/* http_exchange.c */
/* A new exchange with refs = 2 (loop side, worker side); the caller fills
 * ex->req from ex->arena (at most arena_max bytes). loop NULL: a local
 * exchange (a chained request, http_chain.c), the caller's side holding
 * the loop side's reference. */
int exchange_create(struct http_loop *loop, const struct http_executor *executor, size_t arena_max,
                    struct http_exchange **out);
void exchange_release(struct http_exchange *ex);
/* Loop side: hooks + deadline; with a claim, reading the body from the
 * socket starts. */
void exchange_attach(struct http_exchange *ex, h2o_req_t *req, const struct stream_claim *claim);
void exchange_attach_answered(struct http_exchange *ex, h2o_req_t *req);
/* Loop side, in the handler: the claim for this request, or NULL. A claimed
 * request's connection is not kept alive unless its body is read whole. */
const struct stream_claim *stream_claim_take(struct http_loop *loop, h2o_req_t *req,
                                             struct stream_claim *out);
void exchange_on_message(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);
void exchange_run(struct http_exchange *ex);  /* worker: handle() and the ending */
void exchange_skip(struct http_exchange *ex); /* worker: cancelled before it ran */
/* Writes a local exchange's armed eventfd (mu held). */
void exchange_wake_locked(int fd, bool *armed);
/* A local exchange's caller went away (mu held): cancelled, handle()
 * interrupted, every waiter woken. */
void exchange_cancel_locked(struct http_exchange *ex);

/* Header pairs copied into an arena, at most cap of them: what the three
 * request paths (HTTP/1, HTTP/2, chaining) fill an exchange's list with. */
struct http_header_list {
    struct spry_arena *arena;
    struct http_header_pair *items;
    size_t n, cap;
};
/* Appends a copy of name and value (ctx: a struct http_header_list):
 * SPRY_ETOOBIG past cap, SPRY_ENOMEM. Fits http_router_spin_headers. */
int http_header_add(void *ctx, const char *name, size_t nl, const char *value, size_t vl);
/* The peer's address as "ip:port" ("[ip6]:port"; "unknown:0" when sl is
 * 0): spin-client-addr. */
void http_peer_text(struct sockaddr_storage *ss, socklen_t sl, char *out, size_t cap);
/* s[0, n) NUL-terminated in a, or NULL. */
char *http_arena_strndup(struct spry_arena *a, const char *s, size_t n);
/* HTTP/2 (http2.c), loop thread. attach_h2: the exchange is the stream's
 * (deadline armed, the response pumped through h2_stream_pump); with
 * `streamed`, the body arrives through exchange_h2_body / _end / _fail.
 * detach: the stream is gone (the loop side's reference is dropped). */
void exchange_attach_h2(struct http_exchange *ex, struct h2_stream *st, bool streamed);
void exchange_detach(struct http_exchange *ex);
void exchange_h2_body(struct http_exchange *ex, const uint8_t *data, size_t len);
void exchange_h2_body_end(struct http_exchange *ex);
void exchange_h2_body_fail(struct http_exchange *ex, int code);
/* Appends one request trailer field ("name\0value\0"); false once over
 * BODY_TRAILER_MAX. */
bool exchange_h2_trailer(struct http_exchange *ex, const uint8_t *name, size_t nl,
                         const uint8_t *value, size_t vl);
/* The loop-side pump (any transport). */
void exchange_pump(struct http_exchange *ex);
/* Loop thread, before exchange_attach: runs handle() speculatively. True
 * when it answered (the response waits in ex for exchange_attach; the
 * worker side's reference is gone), false when it deferred: ex is as it
 * was, for workers_push. */
bool exchange_run_inline(struct http_exchange *ex);
/* Any thread: interrupts a speculative handle() that is still running. */
void exchange_expire_inline(struct http_exchange *ex);

/* http_workers.c */
/* nloops: speculative runs are tracked per loop (workers_run_inline). */
int workers_create(uint32_t nthreads, uint32_t queue_max, uint32_t nloops,
                   struct http_workers **out);
/* Loop thread: SPRY_EBUSY when the queue is full. Takes no reference. */
int workers_push(struct http_workers *w, struct http_exchange *ex);
/* The oldest queued exchange, taken off the queue, or NULL: for a pool
 * with no threads (http_server_start_local), whose caller runs it
 * (exchange_run, or exchange_skip once cancelled). */
struct http_exchange *workers_take(struct http_workers *w);
/* Loop thread `loop_index`: exchange_run_inline under the watchdog that
 * expires a run longer than its budget; true when it answered. */
bool workers_run_inline(struct http_workers *w, uint32_t loop_index, struct http_exchange *ex);
/* Lets queued work finish, then joins the threads and frees. */
void workers_destroy(struct http_workers *w);

/* http_accept.c: takes the accepted socket; hands it to h2o after the TLS
 * handshake and, for HTTP/1, a first request head that head_scan passed. */
void accept_connection(struct http_loop *loop, h2o_socket_t *sock);
/* Loop start, after the context exists: learns h2o's HTTP/1 read callback
 * and arms the zero timer the guards use. */
void accept_init_loop(struct http_loop *loop);
/* The guard of an HTTP/1 request's socket, or NULL. */
struct http1_guard *http1_guard_of(h2o_socket_t *sock);
/* Every HTTP/1 request, first thing in the handler: returns the status of
 * a refused later head (with *why), else 0 and watches the request's end
 * to check the next head before h2o parses it. */
int http1_request_seen(struct http_loop *loop, h2o_req_t *req, const char **why);

/* Response fields the server writes itself (from the content length, the
 * protocol and the clock); a static response or an executor cannot set
 * them. `date`: h2o 2.2's HTTP/1 always writes its own, so another would
 * make two (docs/http.md, "HTTP/2"). */
static inline bool reserved_response_header(const char *name)
{
    return strcasecmp(name, "content-length") == 0 || strcasecmp(name, "transfer-encoding") == 0 ||
           strcasecmp(name, "connection") == 0 || strcasecmp(name, "date") == 0;
}

/* http2.c: HTTP/2 on nghttp2, on the loop's h2o sockets. */
/* Takes an accepted connection that speaks HTTP/2 (ALPN h2, or the h2c
 * preface at the start of sock->input). */
void h2_accept(struct http_loop *loop, h2o_socket_t *sock);
void h2_init_loop(struct http_loop *loop);
/* Shutdown: GOAWAY on every connection; each closes once its streams end. */
void h2_loop_shutdown(struct http_loop *loop);
/* The loop stops: every HTTP/2 connection still open is closed. */
void h2_loop_close(struct http_loop *loop);
/* Loop thread: sends what the exchange has for its stream (and gives the
 * body bytes the worker read back to the client as window). */
void h2_stream_pump(struct h2_stream *st);
/*
 * An HTTP/2 server connection driven from memory on the loop's thread,
 * with no socket: the session h2_accept makes (same callbacks, settings
 * and limits), the client's bytes given by h2_mem_recv as a socket read
 * would give them, and what the server writes appended to `out` (the
 * caller takes it and may reset it). For the fuzz harness
 * (fuzz/fuzz_http2.c) and tests; with http_server_start_local, requests
 * wait for the caller in the workers' queue (workers_take).
 */
struct h2_mem {
    struct spry_buf out;  /* the server's output not yet taken */
    struct h2_conn *conn; /* NULL once the connection closed */
    bool stopped;         /* a connection error: nothing more is read */
};
/* Opens the connection (its SETTINGS are in out at once). */
int h2_mem_open(struct http_loop *loop, struct h2_mem *m);
/* Feeds bytes from the client; ignored once closed or stopped. */
void h2_mem_recv(struct h2_mem *m, const uint8_t *data, size_t len);
/* Closes the connection, as when its socket fails, if it is open; frees out. */
void h2_mem_close(struct h2_mem *m);

/* http_server.c: instead of http_server_start, the first loop made on the
 * caller's thread (which runs it: h2o_evloop_run), without its listener,
 * and a worker pool without threads: the fuzz harness's and tests' server
 * for HTTP/2 connections in memory (struct h2_mem). NULL when out of
 * memory or started already. As with any server whose loop existed, its
 * h2o state stays allocated until the process exits. */
struct http_loop *http_server_start_local(struct http_server *s);

/* http_server.c: the answer for /.well-known/spin/... (path[0, len)), into body. */
int well_known_answer(struct http_server *s, const char *path, size_t len,
                      const char **content_type, struct spry_buf *body);
/* Response fields that are HTTP/1 connection-specific: never sent over
 * HTTP/2 (RFC 9113 section 8.2.2). */
static inline bool connection_specific_header(const char *name)
{
    return strcasecmp(name, "keep-alive") == 0 || strcasecmp(name, "proxy-connection") == 0 ||
           strcasecmp(name, "upgrade") == 0 || strcasecmp(name, "te") == 0;
}

/* http_tls.c */
int tls_context_create(const char *cert, const char *key, SSL_CTX **out,
                       struct spry_report *report);

/* http_listen.c: a bound, listening, non-blocking socket (SO_REUSEPORT). */
int listen_socket(const struct sockaddr_storage *addr, socklen_t len, int *out_fd,
                  struct spry_report *report);

#endif

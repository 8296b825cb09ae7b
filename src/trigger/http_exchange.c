/*
 * Exchanges: a request copied off the I/O loop for an executor, and the
 * response it writes back (the ownership rules are in http_internal.h).
 *
 * The response travels worker -> loop through `pending`: the worker appends
 * under `mu` and posts the exchange to its loop (at most one message in
 * flight, `msg_pending`); the loop's pump moves `pending` to `sending` and
 * gives it to h2o, which calls proceed() once it was written, and the pump
 * runs again. `inflight` is true between an h2o_send and its proceed, the
 * only time h2o allows no other send.
 */
#include "trigger/http_internal.h"

#include "base/alloc.h"
#include "base/log.h"
#include "trigger/http_status.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The worker blocks in http_exchange_write while this much is pending. */
#define PENDING_MAX (256u * 1024)
#define BODY_WINDOW HTTP_BODY_WINDOW

/* The request is still there to answer (mu held). */
static bool attached_locked(const struct http_exchange *ex)
{
    return ex->h2o_req != NULL || ex->h2 != NULL;
}

static void exchange_free(struct http_exchange *ex)
{
    spry_buf_fini(&ex->head);
    spry_buf_fini(&ex->pending);
    spry_buf_fini(&ex->sending);
    spry_buf_fini(&ex->window);
    spry_buf_fini(&ex->trailers);
    spry_buf_fini(&ex->chunk_tail);
    spry_buf_fini(&ex->req_trailers);
    spry_free(ex->req_trailer_pairs);
    spry_arena_fini(&ex->arena);
    pthread_mutex_destroy(&ex->mu);
    pthread_cond_destroy(&ex->space);
    pthread_cond_destroy(&ex->body_cv);
    if (ex->wake_fd >= 0)
        close(ex->wake_fd);
    if (ex->body_wake_fd >= 0)
        close(ex->body_wake_fd);
    if (ex->loop != NULL)
        atomic_fetch_sub(&ex->loop->server->active, 1);
    spry_free(ex);
}

void exchange_release(struct http_exchange *ex)
{
    if (atomic_fetch_sub(&ex->refs, 1) == 1)
        exchange_free(ex);
}

/* Marks the exchange for posting to its loop unless a message is already
 * on its way (mu held). The message itself is sent by unlock_post once mu
 * is released: sent under mu, it woke the loop straight into a taken lock,
 * a futex wait and wake per request. */
static void post_locked(struct http_exchange *ex)
{
    if (ex->local) { /* the caller waits on space (or its poll on wake_fd) */
        ex->version++;
        pthread_cond_broadcast(&ex->space);
        exchange_wake_locked(ex->wake_fd, &ex->wake_armed);
        return;
    }
    if (ex->msg_pending || !attached_locked(ex))
        return;
    ex->msg_pending = true;
    ex->send_due = true;
    atomic_fetch_add(&ex->refs, 1); /* the message's reference */
}

/* Releases mu, then sends the message post_locked asked for. Nothing else
 * sends it (msg_pending), and its reference keeps ex alive. */
static void unlock_post(struct http_exchange *ex)
{
    bool send = ex->send_due;
    ex->send_due = false;
    pthread_mutex_unlock(&ex->mu);
    if (send)
        h2o_multithread_send_message(&ex->loop->exchanges, &ex->msg);
}

static void interrupt_locked(struct http_exchange *ex);

/* ---- worker side ------------------------------------------------------ */

const struct http_request *http_exchange_request(const struct http_exchange *ex)
{
    return &ex->req;
}

void http_exchange_set_user(struct http_exchange *ex, void *user)
{
    pthread_mutex_lock(&ex->mu);
    ex->user = user;
    pthread_mutex_unlock(&ex->mu);
}

void *http_exchange_user(const struct http_exchange *ex)
{
    struct http_exchange *m = (struct http_exchange *)ex;
    pthread_mutex_lock(&m->mu);
    void *u = m->user;
    pthread_mutex_unlock(&m->mu);
    return u;
}

uint32_t http_exchange_depth(const struct http_exchange *ex)
{
    return ex->depth; /* set before handle() runs, never changed */
}

bool http_exchange_cancelled(const struct http_exchange *ex)
{
    struct http_exchange *m = (struct http_exchange *)ex;
    pthread_mutex_lock(&m->mu);
    bool c = m->cancelled;
    pthread_mutex_unlock(&m->mu);
    return c;
}

/* ---- worker side: the request body ---------------------------------- */

static bool body_ready_locked(const struct http_exchange *ex)
{
    return ex->body_err != 0 || ex->cancelled || ex->copy_off < ex->copy_len ||
           ex->window_off < ex->window.len || ex->body_end;
}

ssize_t http_exchange_read_body(struct http_exchange *ex, void *buf, size_t len)
{
    pthread_mutex_lock(&ex->mu);
    while (!body_ready_locked(ex))
        pthread_cond_wait(&ex->body_cv, &ex->mu);
    ssize_t n;
    if (ex->body_err != 0) {
        n = ex->body_err;
    } else if (ex->cancelled) {
        n = SPRY_EINTERRUPTED;
    } else if (ex->copy_off < ex->copy_len) {
        size_t k = ex->copy_len - ex->copy_off < len ? ex->copy_len - ex->copy_off : len;
        memcpy(buf, ex->copy + ex->copy_off, k);
        ex->copy_off += k;
        n = (ssize_t)k;
    } else if (ex->window_off < ex->window.len) {
        size_t k = ex->window.len - ex->window_off < len ? ex->window.len - ex->window_off : len;
        memcpy(buf, ex->window.data + ex->window_off, k);
        ex->window_off += k;
        n = (ssize_t)k;
        /* The loop stopped reading for want of room: once half the
         * window is free, have it read on. */
        if (ex->body_blocked && ex->window.len - ex->window_off <= BODY_WINDOW / 2) {
            ex->body_blocked = false;
            post_locked(ex);
        }
        /* HTTP/2: the bytes read are given back to the client as window
         * (http2.c), a quarter of the window at a time or once it is
         * empty. */
        if (ex->h2_body) {
            ex->body_unacked += k;
            if (ex->body_unacked >= BODY_WINDOW / 4 || ex->window_off == ex->window.len)
                post_locked(ex);
        }
    } else {
        n = 0; /* body_end */
    }
    if (len == 0 && n > 0)
        n = 0;
    unlock_post(ex);
    return n;
}

int http_exchange_request_trailers(struct http_exchange *ex, const struct http_header_pair **out,
                                   size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&ex->mu);
    int rc = 0;
    if (!ex->body_end) {
        rc = SPRY_EBUSY;
    } else if (!ex->req_trailers_made) {
        /* Count the pairs, then point into the buffer (nothing writes it
         * once the body ended). */
        const char *p = (const char *)ex->req_trailers.data;
        const char *end = spry_buf_end(&ex->req_trailers); /* NULL: none */
        size_t k = 0;
        for (const char *q = p; q < end; q += strlen(q) + 1)
            k++;
        k /= 2;
        if (k > 0) {
            ex->req_trailer_pairs = spry_alloc_array(k, sizeof(*ex->req_trailer_pairs));
            if (ex->req_trailer_pairs == NULL)
                rc = SPRY_ENOMEM;
        }
        for (size_t i = 0; rc == 0 && i < k; i++) {
            const char *name = p, *value = name + strlen(name) + 1;
            ex->req_trailer_pairs[i] = (struct http_header_pair){name, value};
            p = value + strlen(value) + 1;
        }
        if (rc == 0) {
            ex->nreq_trailers = k;
            ex->req_trailers_made = true;
        }
    }
    if (rc == 0) {
        *out = ex->req_trailer_pairs;
        *n = ex->nreq_trailers;
    }
    pthread_mutex_unlock(&ex->mu);
    return rc;
}

bool http_exchange_body_ready(struct http_exchange *ex)
{
    pthread_mutex_lock(&ex->mu);
    bool r = body_ready_locked(ex);
    pthread_mutex_unlock(&ex->mu);
    return r;
}

int http_exchange_wait_body(struct http_exchange *ex, int64_t timeout_ms)
{
    struct timespec until;
    if (timeout_ms >= 0) {
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)(timeout_ms / 1000);
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    int rc = 0;
    pthread_mutex_lock(&ex->mu);
    while (!body_ready_locked(ex)) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&ex->body_cv, &ex->mu);
        } else if (pthread_cond_timedwait(&ex->body_cv, &ex->mu, &until) == ETIMEDOUT) {
            rc = body_ready_locked(ex) ? 0 : SPRY_ETIMEOUT;
            break;
        }
    }
    pthread_mutex_unlock(&ex->mu);
    return rc;
}

/* ---- worker side: the response ---------------------------------------- */

static bool text_ok(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n')
            return false;
    return true;
}

static int start_locked(struct http_exchange *ex, uint16_t status,
                        const struct http_header_pair *headers, size_t n, int64_t content_length)
{
    if (ex->cancelled)
        return SPRY_EINTERRUPTED;
    if (ex->started || status < 100 || status > 599)
        return SPRY_EINVAL;
    spry_buf_reset(&ex->head);
    for (size_t i = 0; i < n; i++) {
        const char *name = headers[i].name, *value = headers[i].value;
        if (name == NULL || value == NULL || name[0] == '\0' || !text_ok(name) || !text_ok(value))
            return SPRY_EINVAL;
        if (reserved_response_header(name))
            continue;
        int rc = spry_buf_append(&ex->head, name, strlen(name) + 1);
        if (rc == 0)
            rc = spry_buf_append(&ex->head, value, strlen(value) + 1);
        if (rc != 0)
            return rc;
    }
    ex->status = status;
    ex->content_length = content_length;
    ex->started = true;
    post_locked(ex);
    return 0;
}

int http_exchange_start(struct http_exchange *ex, uint16_t status,
                        const struct http_header_pair *headers, size_t nheaders,
                        int64_t content_length)
{
    pthread_mutex_lock(&ex->mu);
    int rc = start_locked(ex, status, headers, nheaders, content_length);
    unlock_post(ex);
    return rc;
}

int http_exchange_write(struct http_exchange *ex, const void *data, size_t len)
{
    const uint8_t *p = data;
    int rc = 0;
    pthread_mutex_lock(&ex->mu);
    if (!ex->started && !ex->cancelled)
        rc = start_locked(ex, 200, NULL, 0, -1);
    while (rc == 0 && len > 0) {
        while (!ex->cancelled && ex->pending.len >= PENDING_MAX) {
            if (ex->speculative) { /* nothing drains it before handle() returns */
                rc = SPRY_EBUSY;
                break;
            }
            if (ex->send_due) { /* the loop must hear of it to make space */
                unlock_post(ex);
                pthread_mutex_lock(&ex->mu);
                continue;
            }
            pthread_cond_wait(&ex->space, &ex->mu);
        }
        if (rc != 0)
            break;
        if (ex->cancelled) {
            rc = SPRY_EINTERRUPTED;
            break;
        }
        if (ex->finished) {
            rc = SPRY_EINVAL;
            break;
        }
        size_t n = PENDING_MAX - ex->pending.len;
        if (n > len)
            n = len;
        rc = spry_buf_append(&ex->pending, p, n);
        if (rc != 0)
            break;
        p += n;
        len -= n;
        post_locked(ex);
    }
    unlock_post(ex);
    return rc;
}

static int finish_locked(struct http_exchange *ex)
{
    if (ex->cancelled)
        return SPRY_EINTERRUPTED;
    if (!ex->started) {
        int rc = start_locked(ex, 200, NULL, 0, 0);
        if (rc != 0)
            return rc;
    }
    ex->finished = true;
    post_locked(ex);
    return 0;
}

int http_exchange_finish(struct http_exchange *ex)
{
    pthread_mutex_lock(&ex->mu);
    int rc = finish_locked(ex);
    unlock_post(ex);
    return rc;
}

static bool token_ok(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              strchr("!#$%&'*+-.^_`|~", c) != NULL))
            return false;
    }
    return true;
}

int http_exchange_finish_trailers(struct http_exchange *ex, const struct http_header_pair *trailers,
                                  size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (trailers[i].name == NULL || trailers[i].value == NULL || !token_ok(trailers[i].name) ||
            !text_ok(trailers[i].value))
            return SPRY_EINVAL;
    pthread_mutex_lock(&ex->mu);
    int rc = ex->cancelled ? SPRY_EINTERRUPTED : ex->finished ? SPRY_EINVAL : 0;
    if (rc != 0) {
        pthread_mutex_unlock(&ex->mu);
        return rc;
    }
    spry_buf_reset(&ex->trailers);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (reserved_response_header(trailers[i].name))
            continue;
        size_t at = ex->trailers.len;
        rc = spry_buf_append(&ex->trailers, trailers[i].name, strlen(trailers[i].name) + 1);
        for (size_t k = at; rc == 0 && ex->trailers.data[k] != 0; k++)
            if (ex->trailers.data[k] >= 'A' && ex->trailers.data[k] <= 'Z')
                ex->trailers.data[k] = (uint8_t)(ex->trailers.data[k] - 'A' + 'a');
        if (rc == 0)
            rc = spry_buf_append(&ex->trailers, trailers[i].value, strlen(trailers[i].value) + 1);
    }
    if (rc == 0)
        rc = finish_locked(ex);
    else
        spry_buf_reset(&ex->trailers);
    unlock_post(ex);
    return rc;
}

static const char *component_of(const struct http_exchange *ex)
{
    const char *id = ex->req.route ? ex->req.route->component_id : NULL;
    return id ? id : "(unnamed)";
}

bool http_exchange_speculative(const struct http_exchange *ex)
{
    struct http_exchange *m = (struct http_exchange *)ex;
    pthread_mutex_lock(&m->mu);
    bool s = m->speculative;
    pthread_mutex_unlock(&m->mu);
    return s;
}

/* The end of handle() (mu held): errors logged, the response completed. */
static void ended_locked(struct http_exchange *ex, int rc)
{
    if (rc != 0 && !ex->cancelled)
        spry_log(SPRY_LOG_ERROR, "component '%s' failed on %s %s: %s", component_of(ex),
                 ex->req.method, ex->req.path, spry_strerror(rc));
    if (!ex->cancelled && !ex->finished) {
        if (!ex->started) {
            static const struct http_header_pair ct = {"content-type", "text/plain"};
            static const char msg[] = "Internal Server Error\n";
            start_locked(ex, 500, &ct, 1, (int64_t)sizeof(msg) - 1);
            spry_buf_append(&ex->pending, msg, sizeof(msg) - 1);
        } else if (rc != 0) {
            /* A response cut short cannot be repaired: end it as broken, so
             * the client sees an error and not a truncated success. */
            ex->abort = true;
        }
        ex->finished = true;
        post_locked(ex);
    }
}

void exchange_run(struct http_exchange *ex)
{
    pthread_mutex_lock(&ex->mu);
    ex->running = true;
    pthread_mutex_unlock(&ex->mu);
    int rc = ex->executor->handle(ex->executor->data, ex);
    pthread_mutex_lock(&ex->mu);
    ex->running = false;
    ended_locked(ex, rc);
    if (ex->local)
        post_locked(ex); /* the caller may wait for the end (http_chain.c) */
    unlock_post(ex);
    exchange_release(ex);
}

bool exchange_run_inline(struct http_exchange *ex)
{
    pthread_mutex_lock(&ex->mu);
    ex->running = true;
    ex->speculative = true;
    pthread_mutex_unlock(&ex->mu);
    int rc = ex->executor->handle(ex->executor->data, ex);
    pthread_mutex_lock(&ex->mu);
    ex->running = false;
    ex->speculative = false;
    ex->user = NULL;
    if (rc == HTTP_EXCHANGE_DEFER && !ex->started) {
        ex->send_off = 0;
        ex->copy_off = 0; /* the worker's run reads the whole body again */
        pthread_mutex_unlock(&ex->mu);
        return false;
    }
    if (rc == HTTP_EXCHANGE_DEFER)
        rc = SPRY_EINVAL; /* deferred after it started answering: a bug */
    ended_locked(ex, rc);
    /* h2o_req is not set yet, so nothing was posted: exchange_attach
     * sends the response. */
    pthread_mutex_unlock(&ex->mu);
    exchange_release(ex);
    return true;
}

void exchange_wake_locked(int fd, bool *armed)
{
    if (fd < 0 || !*armed)
        return;
    *armed = false;
    uint64_t one = 1;
    ssize_t w = write(fd, &one, sizeof one); /* EAGAIN: it is readable already */
    (void)w;
}

void exchange_cancel_locked(struct http_exchange *ex)
{
    ex->cancelled = true;
    ex->version++;
    pthread_cond_broadcast(&ex->space);
    pthread_cond_broadcast(&ex->body_cv);
    exchange_wake_locked(ex->wake_fd, &ex->wake_armed);
    exchange_wake_locked(ex->body_wake_fd, &ex->body_wake_armed);
    interrupt_locked(ex);
}

void exchange_expire_inline(struct http_exchange *ex)
{
    pthread_mutex_lock(&ex->mu);
    if (ex->speculative)
        interrupt_locked(ex);
    pthread_mutex_unlock(&ex->mu);
}

void exchange_skip(struct http_exchange *ex)
{
    exchange_release(ex);
}

/* ---- loop side -------------------------------------------------------- */

static void pump(struct http_exchange *ex);
static void body_feed(struct http_exchange *ex);

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    struct http_exchange *ex = H2O_STRUCT_FROM_MEMBER(struct http_exchange, generator, gen);
    pthread_mutex_lock(&ex->mu);
    ex->inflight = false;
    spry_buf_reset(&ex->sending);
    pthread_mutex_unlock(&ex->mu);
    pump(ex);
}

static void on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)gen;
    (void)req; /* the dispose hook, which runs next, does the work */
}

/* Copies the response head into h2o's request (loop thread, mu not held:
 * the head is immutable once started). */
static void apply_head(struct http_exchange *ex, h2o_req_t *req)
{
    req->res.status = ex->status;
    req->res.reason = http_status_reason(ex->status);
    req->res.content_length = ex->content_length < 0 ? SIZE_MAX : (size_t)ex->content_length;
    const char *p = (const char *)ex->head.data, *end = spry_buf_end(&ex->head);
    while (p != NULL && p < end) {
        size_t nl = strlen(p);
        const char *value = p + nl + 1;
        size_t vl = strlen(value);
        h2o_iovec_t name = h2o_strdup(&req->pool, p, nl);
        h2o_strtolower(name.base, name.len);
        h2o_iovec_t val = h2o_strdup(&req->pool, value, vl);
        h2o_add_header_by_str(&req->pool, &req->res.headers, name.base, name.len, 1, NULL, val.base,
                              val.len);
        p = value + vl + 1;
    }
    /* An HTTP/1.1 body of unknown length: we frame the chunks ourselves
     * (h2o's chunked filter leaves a response that has transfer-encoding
     * set alone), so that trailers can follow the last chunk; h2o's filter
     * writes the final `0 CRLF CRLF` itself. Not for responses without a
     * body (h2o's filter's own rules). */
    uint16_t st = ex->status;
    ex->own_chunks = req->version == 0x101 && ex->content_length < 0 && !(st >= 100 && st < 200) &&
                     st != 204 && st != 304 &&
                     !h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD"));
    if (ex->own_chunks)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_TRANSFER_ENCODING, NULL,
                       H2O_STRLIT("chunked"));
}

/* Frames data[0,len) as a chunk (none when empty) into iov, followed on
 * the final send by the last chunk and the trailers (loop thread; the
 * bytes live in ex until the next send). Returns the iovec count. */
static size_t frame_chunk(struct http_exchange *ex, const uint8_t *data, size_t len, bool final,
                          h2o_iovec_t iov[3])
{
    size_t n = 0;
    spry_buf_reset(&ex->chunk_tail);
    if (len > 0) {
        int k = snprintf(ex->chunk_size, sizeof(ex->chunk_size), "%zx\r\n", len);
        iov[n++] = h2o_iovec_init(ex->chunk_size, (size_t)k);
        iov[n++] = h2o_iovec_init(data, len);
        spry_buf_append(&ex->chunk_tail, "\r\n", 2);
    }
    if (final) {
        spry_buf_append(&ex->chunk_tail, "0\r\n", 3);
        /* mu is not held: the trailers are fixed once finished. */
        const char *p = (const char *)ex->trailers.data, *end = spry_buf_end(&ex->trailers);
        while (p != NULL && p < end) {
            const char *value = p + strlen(p) + 1;
            spry_buf_append_str(&ex->chunk_tail, p);
            spry_buf_append(&ex->chunk_tail, ": ", 2);
            spry_buf_append_str(&ex->chunk_tail, value);
            spry_buf_append(&ex->chunk_tail, "\r\n", 2);
            p = value + strlen(value) + 1;
        }
        spry_buf_append(&ex->chunk_tail, "\r\n", 2);
    }
    if (ex->chunk_tail.len > 0)
        iov[n++] = h2o_iovec_init(ex->chunk_tail.data, ex->chunk_tail.len);
    return n;
}

void exchange_pump(struct http_exchange *ex)
{
    pump(ex);
}

static void pump(struct http_exchange *ex)
{
    if (ex->h2 != NULL) { /* loop thread: only it sets and clears h2 */
        h2_stream_pump(ex->h2);
        return;
    }
    pthread_mutex_lock(&ex->mu);
    h2o_req_t *req = ex->h2o_req;
    if (req == NULL || ex->final_sent || ex->inflight || !ex->started) {
        pthread_mutex_unlock(&ex->mu);
        return;
    }
    bool start = !ex->head_sent;
    ex->head_sent = true;
    /* A body we read ourselves and did not read to its end leaves the
     * connection with bytes that are not a request head: close it after
     * this response (its head may have said keep-alive; a server may close
     * after any response). */
    if ((ex->abort || ex->finished) && !ex->body_end)
        req->http1_is_persistent = 0;
    if (ex->abort) {
        /* What was written still goes out, then the break: h2o closes an
         * HTTP/1 connection (no last chunk) or resets the HTTP/2 stream. */
        ex->final_sent = true;
        struct spry_buf t = ex->sending;
        ex->sending = ex->pending;
        ex->pending = t;
        pthread_cond_broadcast(&ex->space);
        pthread_mutex_unlock(&ex->mu);
        if (start) {
            apply_head(ex, req);
            h2o_start_response(req, &ex->generator);
        }
        h2o_iovec_t iov[3];
        size_t niov;
        if (ex->own_chunks) {
            niov = frame_chunk(ex, ex->sending.data, ex->sending.len, false, iov);
        } else {
            iov[0] = h2o_iovec_init(ex->sending.data, ex->sending.len);
            niov = iov[0].len ? 1 : 0;
        }
        h2o_send(req, iov, niov, H2O_SEND_STATE_ERROR);
        return;
    }
    if (!start && ex->pending.len == 0 && !ex->finished) {
        pthread_mutex_unlock(&ex->mu);
        return;
    }
    struct spry_buf t = ex->sending;
    ex->sending = ex->pending;
    ex->pending = t;
    bool final = ex->finished;
    ex->final_sent = final;
    ex->inflight = !final;
    pthread_cond_broadcast(&ex->space);
    pthread_mutex_unlock(&ex->mu);
    if (start) {
        apply_head(ex, req);
        h2o_start_response(req, &ex->generator);
    }
    h2o_iovec_t iov[3];
    size_t niov;
    if (ex->own_chunks) {
        niov = frame_chunk(ex, ex->sending.data, ex->sending.len, final, iov);
    } else {
        iov[0] = h2o_iovec_init(ex->sending.data, ex->sending.len);
        niov = iov[0].len ? 1 : 0;
    }
    /* h2o may dispose the request inside a final send; ex survives (the
     * loop reference is dropped by the dispose hook, and the caller holds
     * another). */
    h2o_send(req, iov, niov, final ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

void exchange_on_message(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m =
            H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        struct http_exchange *ex = H2O_STRUCT_FROM_MEMBER(struct http_exchange, msg, m);
        pthread_mutex_lock(&ex->mu);
        ex->msg_pending = false;
        pthread_mutex_unlock(&ex->mu);
        body_feed(ex);
        pump(ex);
        exchange_release(ex);
    }
}

/* Tells the executor to stop the guest; with mu held, and only while
 * handle() runs, so `user` is still the executor's live state. */
static void interrupt_locked(struct http_exchange *ex)
{
    if (ex->running && ex->executor->interrupt != NULL)
        ex->executor->interrupt(ex->executor->data, ex->user);
}

/* Cancels the exchange and answers `status` with `msg` in its place (or
 * breaks the response off if its head went out already); mu held, the
 * caller pumps. */
static void cancel_with_locked(struct http_exchange *ex, uint16_t status, const char *msg)
{
    ex->cancelled = true;
    pthread_cond_broadcast(&ex->space);
    pthread_cond_broadcast(&ex->body_cv);
    interrupt_locked(ex);
    if (!ex->head_sent) {
        /* Nothing reached the client yet: the answer is a clean error. */
        ex->started = true;
        ex->status = status;
        ex->content_length = (int64_t)strlen(msg);
        spry_buf_reset(&ex->head);
        spry_buf_append(&ex->head, "content-type\0text/plain", 24);
        spry_buf_reset(&ex->pending);
        spry_buf_append(&ex->pending, msg, strlen(msg));
        ex->finished = true;
    } else {
        ex->abort = true;
    }
}

static void on_deadline(h2o_timeout_entry_t *entry)
{
    struct http_exchange *ex = H2O_STRUCT_FROM_MEMBER(struct http_exchange, deadline, entry);
    pthread_mutex_lock(&ex->mu);
    if (!attached_locked(ex) || ex->final_sent) {
        pthread_mutex_unlock(&ex->mu);
        return;
    }
    cancel_with_locked(ex, 504, "Gateway Timeout: the request deadline expired\n");
    pthread_mutex_unlock(&ex->mu);
    spry_log(SPRY_LOG_WARN, "component '%s': %s %s passed its deadline", component_of(ex),
             ex->req.method, ex->req.path);
    pump(ex);
}

/* ---- loop side: reading a request body off the connection -------------
 *
 * For a claimed request (stream_claim_take) h2o saw a head without framing
 * fields and will not read the body; we do, from the bytes after the head
 * in the socket's input buffer: body_decode moves them into the window and
 * they are cut out of the buffer, so what remains after the head is the
 * next request once the body ended. The socket is read with our callback
 * while the window has room and stopped while it is full (the client's TCP
 * window then fills: flow control). h2o uses sock->data for its connection,
 * so ours is found through the connection's guard (http1_guard_of), which
 * points to the exchange while we read (h2o disposes the request, which
 * stops the reading, before it closes the socket).
 */

static void stop_body_reading(struct http_exchange *ex)
{
    h2o_socket_t *sock = ex->body_sock;
    if (sock == NULL)
        return;
    h2o_socket_read_stop(sock);
    struct http1_guard *g = http1_guard_of(sock);
    if (g != NULL)
        g->stream = NULL;
    ex->body_sock = NULL;
}

static void on_body_read(h2o_socket_t *sock, const char *err);

/* mu held. The body failed: the worker's read says `code`, the client gets
 * `status` unless a response was started, and the connection closes. */
static void body_fail_locked(struct http_exchange *ex, int code)
{
    stop_body_reading(ex);
    ex->body_err = code;
    if (!attached_locked(ex) || ex->final_sent) {
        pthread_cond_broadcast(&ex->body_cv);
        return;
    }
    if (code == SPRY_ETOOBIG)
        cancel_with_locked(ex, 413, "request body too large\n");
    else if (code == SPRY_EMALFORMED)
        cancel_with_locked(ex, 400, "broken chunked encoding\n");
    else
        cancel_with_locked(ex, 400, "request body incomplete\n");
}

static void body_feed(struct http_exchange *ex)
{
    h2o_socket_t *sock = ex->body_sock;
    if (sock == NULL)
        return;
    h2o_buffer_t *in = sock->input;
    size_t head = ex->body_head_len;
    pthread_mutex_lock(&ex->mu);
    if (ex->window_off > 0) {
        size_t keep = ex->window.len - ex->window_off;
        memmove(ex->window.data, ex->window.data + ex->window_off, keep);
        ex->window.len = keep;
        ex->window.data[keep] = 0;
        ex->window_off = 0;
    }
    size_t room = BODY_WINDOW - ex->window.len, used = 0, made = 0;
    size_t avail = in->size - head;
    int rc = BODY_MORE;
    if (room > 0 && spry_buf_reserve(&ex->window, room) == 0) {
        rc = body_decode(&ex->body_dec, (const uint8_t *)in->bytes + head, avail,
                         ex->window.data + ex->window.len, room, &used, &made);
        ex->window.len += made;
        ex->window.data[ex->window.len] = 0;
    }
    memmove(in->bytes + head, in->bytes + head + used, avail - used);
    in->size -= used;
    if (made > 0)
        pthread_cond_broadcast(&ex->body_cv);
    bool failed = false;
    if (rc == BODY_DONE) {
        /* The rest of the buffer is the next request's: the connection may
         * be kept alive if the response has not said otherwise yet. */
        stop_body_reading(ex);
        ex->body_end = true;
        pthread_cond_broadcast(&ex->body_cv);
    } else if (rc < 0) {
        body_fail_locked(ex, rc);
        failed = true;
    } else if (ex->window.len >= BODY_WINDOW) {
        ex->body_blocked = true;
        h2o_socket_read_stop(sock);
    } else {
        h2o_socket_read_start(sock, on_body_read);
    }
    pthread_mutex_unlock(&ex->mu);
    if (failed)
        pump(ex);
}

static void on_body_read(h2o_socket_t *sock, const char *err)
{
    struct http_exchange *ex = http1_guard_of(sock)->stream;
    if (err == NULL) {
        body_feed(ex);
        return;
    }
    /* The client closed or reset the connection before the body's end. */
    pthread_mutex_lock(&ex->mu);
    body_fail_locked(ex, SPRY_EIO);
    pthread_mutex_unlock(&ex->mu);
    pump(ex);
}

/* h2o points the request's strings into the socket's input buffer when it
 * read no body (lib/http1.c), and reading ours may move that buffer: copy
 * them into the request's pool first, as h2o does when it reads a body. */
static void own_request_strings(h2o_req_t *req)
{
    h2o_mem_pool_t *pool = &req->pool;
    req->input.method = h2o_strdup(pool, req->input.method.base, req->input.method.len);
    req->input.path = h2o_strdup(pool, req->input.path.base, req->input.path.len);
    if (req->input.authority.base != NULL)
        req->input.authority =
            h2o_strdup(pool, req->input.authority.base, req->input.authority.len);
    if (req->authority.base != NULL)
        req->authority = h2o_strdup(pool, req->authority.base, req->authority.len);
    if (req->upgrade.base != NULL)
        req->upgrade = h2o_strdup(pool, req->upgrade.base, req->upgrade.len);
    req->method = req->input.method;
    req->path = req->input.path;
    req->path_normalized = h2o_url_normalize_path(pool, req->path.base, req->path.len,
                                                  &req->query_at, &req->norm_indexes);
    for (size_t i = 0; i != req->headers.size; ++i) {
        h2o_header_t *h = req->headers.entries + i;
        if (!h2o_iovec_is_token(h->name)) {
            h2o_iovec_t *name = h2o_mem_alloc_pool(pool, sizeof(*name));
            *name = h2o_strdup(pool, h->name->base, h->name->len);
            h->name = name;
        }
        h->value = h2o_strdup(pool, h->value.base, h->value.len);
    }
}

const struct stream_claim *stream_claim_take(struct http_loop *loop, h2o_req_t *req,
                                             struct stream_claim *out)
{
    h2o_socket_t *claimed = loop->claim.sock;
    loop->claim.sock = NULL; /* this request's, or left by a head h2o refused */
    if (claimed == NULL || req->version >= 0x200 || req->conn->callbacks->get_socket == NULL ||
        req->conn->callbacks->get_socket(req->conn) != claimed)
        return NULL;
    *out = loop->claim;
    out->sock = claimed;
    /* Until the body was read whole, what follows the head on the
     * connection is not known to be a request head. */
    out->keep_alive = req->http1_is_persistent;
    req->http1_is_persistent = 0;
    own_request_strings(req);
    return out;
}

struct dispose_link {
    struct http_exchange *ex;
};

/* h2o frees the request (response written, or the client went away). */
static void on_req_dispose(void *p)
{
    exchange_detach(((struct dispose_link *)p)->ex);
}

void exchange_detach(struct http_exchange *ex)
{
    if (h2o_timeout_is_linked(&ex->deadline))
        h2o_timeout_unlink(&ex->deadline);
    if (h2o_timeout_is_linked(&ex->send_soon))
        h2o_timeout_unlink(&ex->send_soon);
    pthread_mutex_lock(&ex->mu);
    stop_body_reading(ex);
    /* An HTTP/2 stream that ended (reset, connection closed) before its
     * body did: the body read fails as a cut HTTP/1 connection's does. */
    if (ex->h2 != NULL && !ex->body_end && ex->body_err == 0 && !ex->cancelled)
        ex->body_err = SPRY_EIO;
    ex->h2o_req = NULL;
    ex->h2 = NULL;
    ex->cancelled = true;
    pthread_cond_broadcast(&ex->space);
    pthread_cond_broadcast(&ex->body_cv);
    interrupt_locked(ex);
    pthread_mutex_unlock(&ex->mu);
    exchange_release(ex);
}

static void attach_req(struct http_exchange *ex, h2o_req_t *req)
{
    struct dispose_link *link = h2o_mem_alloc_shared(&req->pool, sizeof(*link), on_req_dispose);
    link->ex = ex;
    ex->generator.proceed = on_proceed;
    ex->generator.stop = on_stop;
    ex->deadline.cb = on_deadline;
    h2o_timeout_link(ex->loop->ctx.loop, &ex->loop->deadline, &ex->deadline);
    pthread_mutex_lock(&ex->mu);
    ex->h2o_req = req;
    pthread_mutex_unlock(&ex->mu);
}

/* ---- loop side: HTTP/2 streams (http2.c) ------------------------------ */

void exchange_attach_h2(struct http_exchange *ex, struct h2_stream *st, bool streamed)
{
    ex->deadline.cb = on_deadline;
    h2o_timeout_link(ex->loop->ctx.loop, &ex->loop->deadline, &ex->deadline);
    pthread_mutex_lock(&ex->mu);
    ex->h2 = st;
    ex->h2_body = streamed;
    pthread_mutex_unlock(&ex->mu);
    pump(ex); /* the worker may have answered already */
}

void exchange_h2_body(struct http_exchange *ex, const uint8_t *data, size_t len)
{
    pthread_mutex_lock(&ex->mu);
    if (ex->window_off > 0) {
        size_t keep = ex->window.len - ex->window_off;
        memmove(ex->window.data, ex->window.data + ex->window_off, keep);
        ex->window.len = keep;
        ex->window_off = 0;
    }
    /* The stream's window (BODY_WINDOW, opened only as the worker reads)
     * bounds what can be here: nghttp2 refuses a peer that sends more. */
    if (spry_buf_append(&ex->window, data, len) != 0) {
        body_fail_locked(ex, SPRY_ENOMEM);
        pthread_mutex_unlock(&ex->mu);
        pump(ex);
        return;
    }
    pthread_cond_broadcast(&ex->body_cv);
    pthread_mutex_unlock(&ex->mu);
}

void exchange_h2_body_end(struct http_exchange *ex)
{
    pthread_mutex_lock(&ex->mu);
    ex->body_end = true;
    pthread_cond_broadcast(&ex->body_cv);
    pthread_mutex_unlock(&ex->mu);
}

void exchange_h2_body_fail(struct http_exchange *ex, int code)
{
    pthread_mutex_lock(&ex->mu);
    if (ex->body_err == 0)
        body_fail_locked(ex, code);
    pthread_mutex_unlock(&ex->mu);
    pump(ex);
}

bool exchange_h2_trailer(struct http_exchange *ex, const uint8_t *name, size_t nl,
                         const uint8_t *value, size_t vl)
{
    pthread_mutex_lock(&ex->mu);
    bool ok = ex->req_trailers.len + nl + vl + 4 <= BODY_TRAILER_MAX &&
              spry_buf_append(&ex->req_trailers, name, nl) == 0 &&
              spry_buf_append_byte(&ex->req_trailers, 0) == 0 &&
              spry_buf_append(&ex->req_trailers, value, vl) == 0 &&
              spry_buf_append_byte(&ex->req_trailers, 0) == 0;
    pthread_mutex_unlock(&ex->mu);
    return ok;
}

/* An answer made on the loop (speculation) is sent at the end of the loop
 * pass, after every socket the pass read was handled, not at once: the
 * pass's responses then reach the client in a burst, which wakes a client
 * waiting for them once per burst instead of once per response (on a
 * machine the client shares, each such wake-up cost the loop a few us of
 * CPU: docs/benchmarks.md). loop->wrap_timeout is a zero timeout, run in
 * the same pass before the next poll; the guard's entries that a sent
 * response arms go on the same list and so still run before the next
 * read (http_accept.c). */
static void on_send_soon(h2o_timeout_entry_t *entry)
{
    pump(H2O_STRUCT_FROM_MEMBER(struct http_exchange, send_soon, entry));
}

void exchange_attach_answered(struct http_exchange *ex, h2o_req_t *req)
{
    attach_req(ex, req);
    ex->send_soon.cb = on_send_soon;
    h2o_timeout_link(ex->loop->ctx.loop, &ex->loop->wrap_timeout, &ex->send_soon);
}

void exchange_attach(struct http_exchange *ex, h2o_req_t *req, const struct stream_claim *claim)
{
    attach_req(ex, req);
    struct http1_guard *g = claim != NULL ? http1_guard_of(claim->sock) : NULL;
    if (g != NULL) {
        h2o_socket_t *sock = claim->sock;
        ex->body_sock = sock;
        ex->body_head_len = claim->head_len;
        req->http1_is_persistent = claim->keep_alive; /* pump closes if the body is not read */
        body_decoder_init(&ex->body_dec, &claim->framing,
                          ex->loop->server->config.limits.max_body_bytes);
        ex->body_dec.trailers = &ex->req_trailers;
        g->stream = ex;
        body_feed(ex);
    }
    /* The worker may have run already: nothing could be posted while
     * h2o_req was NULL, so look at the state once now. */
    pump(ex);
}

int exchange_create(struct http_loop *loop, const struct http_executor *executor, size_t arena_max,
                    struct http_exchange **out)
{
    struct http_exchange *ex = spry_calloc(1, sizeof(*ex));
    if (ex == NULL)
        return SPRY_ENOMEM;
    spry_arena_init(&ex->arena, arena_max);
    pthread_mutex_init(&ex->mu, NULL);
    pthread_cond_init(&ex->space, NULL);
    pthread_cond_init(&ex->body_cv, NULL);
    spry_buf_init(&ex->window, BODY_WINDOW);
    spry_buf_init(&ex->head, 64 * 1024);
    spry_buf_init(&ex->pending, PENDING_MAX + 64 * 1024);
    spry_buf_init(&ex->sending, PENDING_MAX + 64 * 1024);
    spry_buf_init(&ex->trailers, 64 * 1024);
    spry_buf_init(&ex->chunk_tail, 3 * 64 * 1024);
    spry_buf_init(&ex->req_trailers, 2 * BODY_TRAILER_MAX);
    ex->executor = executor;
    ex->loop = loop;
    ex->local = loop == NULL;
    ex->wake_fd = ex->body_wake_fd = -1;
    atomic_init(&ex->refs, 2); /* loop side + worker side */
    if (loop != NULL)
        atomic_fetch_add(&loop->server->active, 1);
    *out = ex;
    return 0;
}

int http_header_add(void *ctx, const char *name, size_t nl, const char *value, size_t vl)
{
    struct http_header_list *l = ctx;
    if (l->n == l->cap)
        return SPRY_ETOOBIG;
    char *n = http_arena_strndup(l->arena, name, nl), *v = http_arena_strndup(l->arena, value, vl);
    if (n == NULL || v == NULL)
        return SPRY_ENOMEM;
    l->items[l->n++] = (struct http_header_pair){n, v};
    return 0;
}

char *http_arena_strndup(struct spry_arena *a, const char *s, size_t n)
{
    char *d = spry_arena_alloc(a, n + 1);
    if (d != NULL && n > 0)
        memcpy(d, s, n);
    return d;
}

/*
 * Outbound HTTP on a curl multi handle driven by one worker thread
 * (http_client.h has the contract).
 *
 * Who touches what:
 *  - the worker alone calls curl (easy and multi), and alone owns the
 *    fields marked "worker" below (curl's callbacks run on it, inside
 *    curl_multi_perform or curl_easy_pause);
 *  - the fields marked "mu" are shared with the request's owner (a guest
 *    thread) under the request's mutex; every change the owner must see is
 *    followed by a write to the request's eventfd;
 *  - the client's lists (submitted, released) are under the client's mutex;
 *    an owner that changed something the worker must act on (room in the
 *    response buffer, bytes or the end of the request body, a failure)
 *    calls curl_multi_wakeup, which is thread-safe.
 * curl_easy_pause may call back into the write or read callback at once,
 * so it is never called with a request's mutex held.
 *
 * A request is freed by the worker only: http_client_request_destroy moves
 * it to the released list, and the worker removes it from the multi handle
 * (cancelling the transfer) before freeing it.
 */
#include "host/http_client.h"

#include "base/log.h"
#include "host/curl_lib.h"

#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

enum {
    DEFAULT_WINDOW = 64 * 1024,
    MIN_WINDOW = 16 * 1024, /* CURL_MAX_WRITE_SIZE: one callback's data */
    DEFAULT_MAX_HEADER = 64 * 1024,
    DEFAULT_MAX_REQUESTS = 1024,
    MAX_HEADERS = 1000, /* header lines in a response's head or trailers */
};

static const uint64_t NS_PER_MS = 1000000u;
static const uint64_t DEFAULT_CONNECT_NS = 10000u * 1000000u;
static const uint64_t DEFAULT_IO_NS = 60000u * 1000000u;

static const char *const error_names[] = {
#define HTTP_CLIENT_ERROR_NAME(name, text) text,
    HTTP_CLIENT_ERRORS(HTTP_CLIENT_ERROR_NAME)
#undef HTTP_CLIENT_ERROR_NAME
};

const char *http_client_error_name(enum http_client_error_code code)
{
    return (unsigned)code < HTTP_ERR_COUNT ? error_names[code] : "internal-error";
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int set_error(struct http_client_error *err, enum http_client_error_code code,
                     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int set_error(struct http_client_error *err, enum http_client_error_code code,
                     const char *fmt, ...)
{
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return 0;
}

/* ---- bounded byte queue ----------------------------------------------------------- */

struct queue {
    char *data;
    size_t start, len, cap;
};

static bool queue_push(struct queue *q, const void *p, size_t n)
{
    if (n == 0) /* libcurl may write 0 bytes (an empty body); data may be NULL yet */
        return true;
    if (q->start + q->len + n > q->cap) {
        if (q->start > 0) {
            memmove(q->data, q->data + q->start, q->len);
            q->start = 0;
        }
        if (q->len + n > q->cap) {
            size_t ncap = q->len + n;
            char *d = realloc(q->data, ncap);
            if (d == NULL)
                return false;
            q->data = d;
            q->cap = ncap;
        }
    }
    memcpy(q->data + q->start + q->len, p, n);
    q->len += n;
    return true;
}

static size_t queue_pop(struct queue *q, void *p, size_t n)
{
    if (n > q->len)
        n = q->len;
    memcpy(p, q->data + q->start, n);
    q->start += n;
    q->len -= n;
    if (q->len == 0)
        q->start = 0;
    return n;
}

/* ---- header lists ---------------------------------------------------------------- */

struct hlist {
    struct http_client_header *v;
    size_t n, cap;
};

static void hlist_clear(struct hlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free((char *)l->v[i].name); /* name and value share one block */
    l->n = 0;
}

static void hlist_free(struct hlist *l)
{
    hlist_clear(l);
    free(l->v);
    l->v = NULL;
    l->cap = 0;
}

/* Appends "name: value" from a header line (CRLF removed). false: malformed
 * (no colon, empty name) or out of memory (*nomem). */
static bool hlist_add_line(struct hlist *l, const char *line, size_t n, bool *nomem)
{
    const char *colon = memchr(line, ':', n);
    if (colon == NULL || colon == line)
        return false;
    size_t nlen = (size_t)(colon - line);
    const char *v = colon + 1, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vlen = (size_t)(end - v);
    if (l->n == l->cap) {
        size_t ncap = l->cap == 0 ? 16 : l->cap * 2;
        struct http_client_header *nv = realloc(l->v, ncap * sizeof *nv);
        if (nv == NULL) {
            *nomem = true;
            return false;
        }
        l->v = nv;
        l->cap = ncap;
    }
    char *block = malloc(nlen + vlen + 2);
    if (block == NULL) {
        *nomem = true;
        return false;
    }
    memcpy(block, line, nlen);
    block[nlen] = '\0';
    memcpy(block + nlen + 1, v, vlen);
    block[nlen + 1 + vlen] = '\0';
    l->v[l->n++] = (struct http_client_header){block, nlen, block + nlen + 1, vlen};
    return true;
}

/* ---- the client and its requests --------------------------------------------------- */

struct http_client {
    const struct curl_lib *curl;
    CURLM *multi;
    pthread_t worker;
    size_t window, max_header, max_requests;
    char *ca_file;

    pthread_mutex_t mu;                    /* the fields below */
    struct http_client_request *submitted; /* to add to the multi handle */
    struct http_client_request *released;  /* to free */
    size_t live;                           /* requests not yet freed */
    bool stopping;

    struct http_client_request *active; /* worker: in the multi handle */
};

struct http_client_request {
    struct http_client *client;
    CURL *easy;
    CURLU *url;
    struct curl_slist *headers;
    char *method;
    int fd;                                                /* eventfd: state changed */
    struct http_client_request *next;                      /* client: submitted or released list */
    struct http_client_request *prev_active, *next_active; /* worker */

    /* worker */
    bool in_multi;
    bool connected, got_byte;
    uint64_t t_connected, t_last_byte;
    uint64_t first_byte_ns, between_bytes_ns;

    pthread_mutex_t mu; /* the fields below */
    bool failed;
    struct http_client_error err;
    bool head_ready; /* the final status line and headers arrived */
    int status;
    int version; /* 10, 11, 20 from the status line */
    size_t header_bytes;
    struct hlist head, trailers;
    struct queue down; /* response body */
    bool down_paused;  /* the write callback paused the transfer */
    size_t down_need;  /* bytes the paused callback holds */
    bool complete;     /* the transfer ended well: eof after down */
    bool has_body;
    int64_t content_length;
    uint64_t queued; /* request body bytes accepted so far */
    struct queue up; /* request body not yet taken by curl */
    bool up_finished;
    bool up_paused; /* the read callback paused the transfer */
};

static void signal_owner(struct http_client_request *r)
{
    uint64_t one = 1;
    ssize_t w = write(r->fd, &one, sizeof one);
    (void)w; /* EAGAIN: the counter is already non-zero */
}

static void wake_worker(struct http_client *c)
{
    c->curl->multi_wakeup(c->multi);
}

/* Records the first failure (under r->mu). */
static void fail_locked(struct http_client_request *r, enum http_client_error_code code,
                        const char *message)
{
    if (r->failed || r->complete)
        return;
    r->failed = true;
    set_error(&r->err, code, "%s", message);
}

/* ---- curl callbacks (worker) -------------------------------------------------------- */

static int on_prereq(void *user, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
    (void)primary_ip;
    (void)local_ip;
    (void)primary_port;
    (void)local_port;
    struct http_client_request *r = user;
    r->connected = true;
    r->t_connected = now_ns();
    return CURL_PREREQFUNC_OK;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *user)
{
    struct http_client_request *r = user;
    size_t n = size * nitems;
    r->got_byte = true;
    r->t_last_byte = now_ns();
    pthread_mutex_lock(&r->mu);
    if (r->failed) {
        pthread_mutex_unlock(&r->mu);
        return 0;
    }
    size_t len = n;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    r->header_bytes += n;
    bool nomem = false, changed = false;
    if (r->header_bytes > r->client->max_header) {
        fail_locked(r,
                    r->head_ready ? HTTP_ERR_HTTP_RESPONSE_TRAILER_SECTION_SIZE
                                  : HTTP_ERR_HTTP_RESPONSE_HEADER_SECTION_SIZE,
                    "the response's header section is too large");
        changed = true;
    } else if (!r->head_ready && len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        /* A status line: "HTTP/1.1 200 OK", "HTTP/2 200". Informational
         * responses (1xx) come before the final one; start over. */
        const char *sp = memchr(line, ' ', len);
        int status = 0;
        for (const char *p = sp != NULL ? sp + 1 : line + len;
             p < line + len && *p >= '0' && *p <= '9' && status < 1000; p++)
            status = status * 10 + (*p - '0');
        if (status < 100 || status > 999) {
            fail_locked(r, HTTP_ERR_HTTP_PROTOCOL_ERROR, "invalid status line");
            changed = true;
        }
        r->status = status;
        r->version = len >= 8 && memcmp(line, "HTTP/1.0", 8) == 0 ? 10
                     : len >= 6 && memcmp(line, "HTTP/2", 6) == 0 ? 20
                                                                  : 11;
        hlist_clear(&r->head);
    } else if (len == 0) {
        if (!r->head_ready && r->status >= 200) {
            r->head_ready = true;
            r->header_bytes = 0; /* trailers have their own budget */
            changed = true;
        }
    } else {
        struct hlist *l = r->head_ready ? &r->trailers : &r->head;
        if (l->n >= MAX_HEADERS || !hlist_add_line(l, line, len, &nomem)) {
            fail_locked(r, nomem ? HTTP_ERR_INTERNAL_ERROR : HTTP_ERR_HTTP_PROTOCOL_ERROR,
                        nomem ? "out of memory" : "malformed header line in the response");
            changed = true;
        }
    }
    bool failed = r->failed;
    pthread_mutex_unlock(&r->mu);
    if (changed)
        signal_owner(r);
    return failed ? 0 : n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    struct http_client_request *r = user;
    size_t n = size * nmemb;
    r->got_byte = true;
    r->t_last_byte = now_ns();
    pthread_mutex_lock(&r->mu);
    if (r->failed) {
        pthread_mutex_unlock(&r->mu);
        return 0;
    }
    size_t window = r->client->window;
    if (r->down.len > 0 && r->down.len + n > window) {
        r->down_paused = true;
        r->down_need = n;
        pthread_mutex_unlock(&r->mu);
        return CURL_WRITEFUNC_PAUSE;
    }
    bool ok = queue_push(&r->down, data, n);
    if (!ok)
        fail_locked(r, HTTP_ERR_INTERNAL_ERROR, "out of memory");
    pthread_mutex_unlock(&r->mu);
    signal_owner(r);
    return ok ? n : 0;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *user)
{
    struct http_client_request *r = user;
    size_t max = size * nitems;
    pthread_mutex_lock(&r->mu);
    if (r->failed) {
        pthread_mutex_unlock(&r->mu);
        return CURL_READFUNC_ABORT;
    }
    if (r->up.len > 0) {
        size_t k = queue_pop(&r->up, buf, max);
        pthread_mutex_unlock(&r->mu);
        signal_owner(r); /* room to write */
        return k;
    }
    if (r->up_finished) {
        pthread_mutex_unlock(&r->mu);
        return 0;
    }
    r->up_paused = true;
    pthread_mutex_unlock(&r->mu);
    return CURL_READFUNC_PAUSE;
}

/* ---- the worker ----------------------------------------------------------------------- */

static void active_remove(struct http_client *c, struct http_client_request *r)
{
    if (r->prev_active != NULL)
        r->prev_active->next_active = r->next_active;
    else
        c->active = r->next_active;
    if (r->next_active != NULL)
        r->next_active->prev_active = r->prev_active;
    r->prev_active = r->next_active = NULL;
}

static void detach(struct http_client *c, struct http_client_request *r)
{
    if (!r->in_multi)
        return;
    c->curl->multi_remove_handle(c->multi, r->easy);
    r->in_multi = false;
    active_remove(c, r);
}

static void free_request(struct http_client *c, struct http_client_request *r)
{
    detach(c, r);
    if (r->easy != NULL)
        c->curl->easy_cleanup(r->easy);
    if (r->url != NULL)
        c->curl->url_cleanup(r->url);
    if (r->headers != NULL)
        c->curl->slist_free_all(r->headers);
    hlist_free(&r->head);
    hlist_free(&r->trailers);
    free(r->down.data);
    free(r->up.data);
    free(r->method);
    if (r->fd >= 0)
        close(r->fd);
    pthread_mutex_destroy(&r->mu);
    free(r);
    pthread_mutex_lock(&c->mu);
    c->live--;
    pthread_mutex_unlock(&c->mu);
}

/* The wasi:http case for a transfer curl ended with `rc`. */
static void map_curl_error(struct http_client *c, struct http_client_request *r, CURLcode rc,
                           struct http_client_error *e)
{
    const char *what = c->curl->easy_strerror(rc);
    long os_errno = 0;
    c->curl->easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &os_errno);
    curl_off_t dns_us = 0;
    c->curl->easy_getinfo(r->easy, CURLINFO_NAMELOOKUP_TIME_T, &dns_us);
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
        set_error(e, HTTP_ERR_DNS_ERROR, "%s", what);
        return;
    case CURLE_COULDNT_CONNECT:
        if (os_errno == ECONNREFUSED)
            set_error(e, HTTP_ERR_CONNECTION_REFUSED, "connection refused");
        else if (os_errno == ETIMEDOUT)
            set_error(e, HTTP_ERR_CONNECTION_TIMEOUT, "connecting timed out");
        else if (os_errno == ENETUNREACH || os_errno == EHOSTUNREACH)
            set_error(e, HTTP_ERR_DESTINATION_IP_UNROUTABLE, "%s", strerror((int)os_errno));
        else
            set_error(e, HTTP_ERR_DESTINATION_UNAVAILABLE, "%s", what);
        return;
    case CURLE_OPERATION_TIMEDOUT:
        if (dns_us == 0)
            set_error(e, HTTP_ERR_DNS_TIMEOUT, "name lookup timed out");
        else if (!r->connected)
            set_error(e, HTTP_ERR_CONNECTION_TIMEOUT, "connecting timed out");
        else
            set_error(e, HTTP_ERR_CONNECTION_READ_TIMEOUT, "%s", what);
        return;
    case CURLE_SSL_CONNECT_ERROR:
        set_error(e, HTTP_ERR_TLS_PROTOCOL_ERROR, "%s", what);
        return;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ISSUER_ERROR:
        set_error(e, HTTP_ERR_TLS_CERTIFICATE_ERROR, "%s", what);
        return;
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        set_error(e, HTTP_ERR_HTTP_RESPONSE_INCOMPLETE, "%s", what);
        return;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        set_error(e, HTTP_ERR_CONNECTION_TERMINATED, "%s", what);
        return;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_UNSUPPORTED_PROTOCOL:
        set_error(e, HTTP_ERR_HTTP_PROTOCOL_ERROR, "%s", what);
        return;
    case CURLE_BAD_CONTENT_ENCODING:
        set_error(e, HTTP_ERR_HTTP_RESPONSE_CONTENT_CODING, "%s", what);
        return;
    case CURLE_URL_MALFORMAT:
        set_error(e, HTTP_ERR_HTTP_REQUEST_URI_INVALID, "%s", what);
        return;
    default:
        set_error(e, HTTP_ERR_INTERNAL_ERROR, "%s", what);
        return;
    }
}

static void finish(struct http_client *c, struct http_client_request *r, CURLcode rc)
{
    struct http_client_error e;
    if (rc != CURLE_OK)
        map_curl_error(c, r, rc, &e);
    pthread_mutex_lock(&r->mu);
    if (!r->failed) {
        if (rc != CURLE_OK) {
            r->failed = true;
            r->err = e;
        } else if (!r->head_ready) {
            r->failed = true;
            set_error(&r->err, HTTP_ERR_HTTP_PROTOCOL_ERROR, "no response head");
        } else {
            r->complete = true;
        }
    }
    pthread_mutex_unlock(&r->mu);
    detach(c, r);
    signal_owner(r);
}

/* Resumes paused directions that can go on, fails requests whose own
 * timers ran out, and returns the earliest timer (0: none). */
static uint64_t tend(struct http_client *c, uint64_t now)
{
    uint64_t next = 0;
    struct http_client_request *r = c->active, *after;
    for (; r != NULL; r = after) {
        after = r->next_active;
        int resume = 0;
        pthread_mutex_lock(&r->mu);
        if (r->failed) {
            /* Failed by its owner (a body of the wrong size). */
            pthread_mutex_unlock(&r->mu);
            detach(c, r);
            signal_owner(r);
            continue;
        }
        if (r->down_paused && (r->down.len == 0 || r->down.len + r->down_need <= c->window)) {
            r->down_paused = false;
            r->t_last_byte = now; /* time paused by the reader does not count */
            resume = 1;
        }
        if (r->up_paused && (r->up.len > 0 || r->up_finished)) {
            r->up_paused = false;
            resume = 1;
        }
        bool down_paused = r->down_paused, up_paused = r->up_paused;
        const char *timeout = NULL;
        uint64_t deadline = 0;
        if (r->connected && !r->got_byte) {
            deadline = r->t_connected + r->first_byte_ns;
            timeout = "no response within the first-byte timeout";
        } else if (r->got_byte && !down_paused) {
            deadline = r->t_last_byte + r->between_bytes_ns;
            timeout = "no data within the between-bytes timeout";
        }
        if (timeout != NULL && now >= deadline) {
            fail_locked(r, HTTP_ERR_CONNECTION_READ_TIMEOUT, timeout);
            pthread_mutex_unlock(&r->mu);
            detach(c, r);
            signal_owner(r);
            continue;
        }
        pthread_mutex_unlock(&r->mu);
        if (deadline != 0 && (next == 0 || deadline < next))
            next = deadline;
        if (resume)
            c->curl->easy_pause(r->easy, (down_paused ? CURLPAUSE_RECV : 0) |
                                             (up_paused ? CURLPAUSE_SEND : 0));
    }
    return next;
}

static void *worker_main(void *arg)
{
    struct http_client *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        struct http_client_request *sub = c->submitted, *rel = c->released;
        c->submitted = c->released = NULL;
        bool stopping = c->stopping;
        pthread_mutex_unlock(&c->mu);
        /* The lists are LIFO; order among new requests does not matter. */
        for (struct http_client_request *r = sub, *n; r != NULL; r = n) {
            n = r->next;
            if (c->curl->multi_add_handle(c->multi, r->easy) != CURLM_OK) {
                pthread_mutex_lock(&r->mu);
                fail_locked(r, HTTP_ERR_INTERNAL_ERROR, "cannot start the transfer");
                pthread_mutex_unlock(&r->mu);
                signal_owner(r);
                continue;
            }
            r->in_multi = true;
            r->next_active = c->active;
            if (c->active != NULL)
                c->active->prev_active = r;
            c->active = r;
        }
        for (struct http_client_request *r = rel, *n; r != NULL; r = n) {
            n = r->next;
            free_request(c, r);
        }
        if (stopping)
            break;
        uint64_t now = now_ns();
        uint64_t next = tend(c, now);
        int running = 0;
        c->curl->multi_perform(c->multi, &running);
        CURLMsg *m;
        int left;
        while ((m = c->curl->multi_info_read(c->multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            struct http_client_request *r = NULL;
            c->curl->easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
            if (r != NULL)
                finish(c, r, m->data.result);
        }
        int timeout_ms = 1000;
        if (next != 0) {
            uint64_t t = now_ns();
            uint64_t ms = next > t ? (next - t) / NS_PER_MS + 1 : 0;
            if (ms < (uint64_t)timeout_ms)
                timeout_ms = (int)ms;
        }
        c->curl->multi_poll(c->multi, NULL, 0, timeout_ms, NULL);
    }
    /* Whatever is still in flight is cut off; owners were told to destroy
     * their requests first, so nothing else remains. */
    while (c->active != NULL) {
        struct http_client_request *r = c->active;
        pthread_mutex_lock(&r->mu);
        fail_locked(r, HTTP_ERR_CONNECTION_TERMINATED, "the HTTP client stopped");
        pthread_mutex_unlock(&r->mu);
        detach(c, r);
        signal_owner(r);
    }
    return NULL;
}

/* ---- the client's API ------------------------------------------------------------------- */

int http_client_create(const struct http_client_config *config, struct http_client **out,
                       struct spry_report *report)
{
    char why[160];
    const struct curl_lib *curl = curl_lib_get(why, sizeof why);
    if (curl == NULL)
        return spry_report_set(report, SPRY_EIO, "outbound HTTP: %s", why);
    struct http_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory");
    c->curl = curl;
    c->window = config != NULL && config->window != 0 ? config->window : DEFAULT_WINDOW;
    if (c->window < MIN_WINDOW)
        c->window = MIN_WINDOW;
    c->max_header = config != NULL && config->max_header_size != 0 ? config->max_header_size
                                                                   : DEFAULT_MAX_HEADER;
    c->max_requests =
        config != NULL && config->max_requests != 0 ? config->max_requests : DEFAULT_MAX_REQUESTS;
    if (config != NULL && config->ca_file != NULL) {
        c->ca_file = strdup(config->ca_file);
        if (c->ca_file == NULL) {
            free(c);
            return spry_report_set(report, SPRY_ENOMEM, "out of memory");
        }
    }
    pthread_mutex_init(&c->mu, NULL);
    c->multi = curl->multi_init();
    if (c->multi == NULL) {
        free(c->ca_file);
        free(c);
        return spry_report_set(report, SPRY_ENOMEM, "outbound HTTP: curl_multi_init failed");
    }
    int rc = pthread_create(&c->worker, NULL, worker_main, c);
    if (rc != 0) {
        curl->multi_cleanup(c->multi);
        free(c->ca_file);
        free(c);
        return spry_report_set(report, SPRY_ENOMEM, "outbound HTTP: cannot start its thread: %s",
                               strerror(rc));
    }
    *out = c;
    return 0;
}

void http_client_destroy(struct http_client *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    c->stopping = true;
    pthread_mutex_unlock(&c->mu);
    wake_worker(c);
    pthread_join(c->worker, NULL);
    /* Requests submitted but never added, and released ones. */
    for (struct http_client_request *r = c->submitted, *n; r != NULL; r = n) {
        n = r->next;
        free_request(c, r);
    }
    for (struct http_client_request *r = c->released, *n; r != NULL; r = n) {
        n = r->next;
        free_request(c, r);
    }
    if (c->live != 0)
        spry_log(SPRY_LOG_WARN, "outbound HTTP: %zu requests were not destroyed before the client",
                 c->live);
    c->curl->multi_cleanup(c->multi);
    pthread_mutex_destroy(&c->mu);
    free(c->ca_file);
    free(c);
}

static bool is_tchar(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static bool is_token(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\0' || !is_tchar(s[i]))
            return false;
    }
    return true;
}

/* Field values: no CR, LF or NUL (anything else is the caller's
 * business: wasi:http's fields checked it already). */
static bool is_field_value(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
            return false;
    }
    return true;
}

static bool name_is(const struct http_client_header *h, const char *name)
{
    return h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0;
}

/* The URL as curl parses it; the policy check on what curl will use. */
static int check_url(struct http_client *c, const struct http_client_request_options *o, CURLU *u,
                     struct http_client_error *err)
{
    const struct curl_lib *curl = c->curl;
    if (o->url == NULL || curl->url_set(u, CURLUPART_URL, o->url, 0) != CURLUE_OK)
        return set_error(err, HTTP_ERR_HTTP_REQUEST_URI_INVALID, "invalid URL"), SPRY_EINVALID;
    char *scheme = NULL, *host = NULL, *port = NULL, *zone = NULL;
    int rc = 0;
    if (curl->url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl->url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl->url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        rc = SPRY_EINVALID;
        set_error(err, HTTP_ERR_HTTP_REQUEST_URI_INVALID, "the URL has no host");
        goto done;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        rc = SPRY_EINVALID;
        set_error(err, HTTP_ERR_HTTP_REQUEST_URI_INVALID, "scheme \"%.32s\" is not http or https",
                  scheme);
        goto done;
    }
    if (curl->url_get(u, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK) {
        rc = SPRY_EINVALID;
        set_error(err, HTTP_ERR_HTTP_REQUEST_URI_INVALID, "IPv6 zone ids are not supported");
        goto done;
    }
    /* Userinfo is never sent (no Authorization from the URL). */
    curl->url_set(u, CURLUPART_USER, NULL, 0);
    curl->url_set(u, CURLUPART_PASSWORD, NULL, 0);
    size_t hlen = strlen(host);
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        memmove(host, host + 1, hlen - 2);
        host[hlen - 2] = '\0';
    }
    char why[160] = "";
    if (!o->allow(o->allow_ctx, scheme, host, atoi(port), why, sizeof why)) {
        rc = SPRY_EINVALID;
        set_error(err, HTTP_ERR_HTTP_REQUEST_DENIED, "%s://%.80s:%s denied%s%.100s", scheme, host,
                  port, why[0] != '\0' ? ": " : "", why);
    }
done:
    curl->free(scheme);
    curl->free(host);
    curl->free(port);
    curl->free(zone);
    return rc;
}

static int build_headers(struct http_client *c, const struct http_client_request_options *o,
                         struct curl_slist **out, struct http_client_error *err)
{
    struct curl_slist *l = NULL;
    bool accept = false, expect = false;
    for (size_t i = 0; i < o->n_headers; i++) {
        const struct http_client_header *h = &o->headers[i];
        if (!is_token(h->name, h->name_len) || !is_field_value(h->value, h->value_len)) {
            c->curl->slist_free_all(l);
            set_error(err, HTTP_ERR_INTERNAL_ERROR, "invalid header %zu", i);
            return SPRY_EINVALID;
        }
        if (name_is(h, "host") || name_is(h, "content-length") || name_is(h, "transfer-encoding") ||
            name_is(h, "connection"))
            continue;
        accept |= name_is(h, "accept");
        expect |= name_is(h, "expect");
        /* "name: value", or "name;" for an empty value (curl's spelling). */
        char *line = malloc(h->name_len + h->value_len + 3);
        if (line == NULL)
            goto nomem;
        if (h->value_len == 0)
            snprintf(line, h->name_len + 2, "%.*s;", (int)h->name_len, h->name);
        else
            snprintf(line, h->name_len + h->value_len + 3, "%.*s: %.*s", (int)h->name_len, h->name,
                     (int)h->value_len, h->value);
        struct curl_slist *nl = c->curl->slist_append(l, line);
        free(line);
        if (nl == NULL)
            goto nomem;
        l = nl;
    }
    /* curl's own defaults that a wasi:http client does not send: "Accept:
     * * / *" and "Expect: 100-continue" on uploads. "Name:" removes one. */
    if (!accept) {
        struct curl_slist *nl = c->curl->slist_append(l, "Accept:");
        if (nl == NULL)
            goto nomem;
        l = nl;
    }
    if (!expect) {
        struct curl_slist *nl = c->curl->slist_append(l, "Expect:");
        if (nl == NULL)
            goto nomem;
        l = nl;
    }
    *out = l;
    return 0;
nomem:
    c->curl->slist_free_all(l);
    set_error(err, HTTP_ERR_INTERNAL_ERROR, "out of memory");
    return SPRY_ENOMEM;
}

int http_client_submit(struct http_client *c, const struct http_client_request_options *o,
                       struct http_client_request **out, struct http_client_error *err)
{
    const struct curl_lib *curl = c->curl;
    if (o->method == NULL || !is_token(o->method, strlen(o->method))) {
        set_error(err, HTTP_ERR_HTTP_REQUEST_METHOD_INVALID, "invalid method");
        return SPRY_EINVALID;
    }
    struct http_client_request *r = calloc(1, sizeof *r);
    if (r == NULL) {
        set_error(err, HTTP_ERR_INTERNAL_ERROR, "out of memory");
        return SPRY_ENOMEM;
    }
    r->client = c;
    r->fd = -1;
    pthread_mutex_init(&r->mu, NULL);
    int rc = SPRY_ENOMEM;
    r->url = curl->url();
    if (r->url == NULL) {
        set_error(err, HTTP_ERR_INTERNAL_ERROR, "out of memory");
        goto fail;
    }
    rc = check_url(c, o, r->url, err);
    if (rc != 0)
        goto fail;
    rc = build_headers(c, o, &r->headers, err);
    if (rc != 0)
        goto fail;
    rc = SPRY_ENOMEM;
    set_error(err, HTTP_ERR_INTERNAL_ERROR, "out of memory");
    r->method = strdup(o->method);
    r->easy = curl->easy_init();
    r->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->method == NULL || r->easy == NULL || r->fd < 0)
        goto fail;
    r->has_body = o->has_body;
    r->content_length = o->has_body ? o->content_length : 0;
    r->first_byte_ns = o->first_byte_timeout_ns != 0 ? o->first_byte_timeout_ns : DEFAULT_IO_NS;
    r->between_bytes_ns =
        o->between_bytes_timeout_ns != 0 ? o->between_bytes_timeout_ns : DEFAULT_IO_NS;
    uint64_t connect_ns = o->connect_timeout_ns != 0 ? o->connect_timeout_ns : DEFAULT_CONNECT_NS;
    long connect_ms = (long)(connect_ns / NS_PER_MS);

    CURL *e = r->easy;
    CURLcode s = CURLE_OK;
    s |= curl->easy_setopt(e, CURLOPT_CURLU, r->url);
    s |= curl->easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
    s |= curl->easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    s |= curl->easy_setopt(e, CURLOPT_PROXY, "");
    s |= curl->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    s |= curl->easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    s |= curl->easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    s |= curl->easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms > 0 ? connect_ms : 1L);
    s |= curl->easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    s |= curl->easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    s |= curl->easy_setopt(e, CURLOPT_HEADERDATA, r);
    s |= curl->easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    s |= curl->easy_setopt(e, CURLOPT_WRITEDATA, r);
    s |= curl->easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    s |= curl->easy_setopt(e, CURLOPT_PREREQDATA, r);
    if (c->ca_file != NULL)
        s |= curl->easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
    if (o->has_body) {
        /* An upload with the caller's method: curl sends Content-Length
         * when the size is known, else chunked on HTTP/1.1. */
        s |= curl->easy_setopt(e, CURLOPT_UPLOAD, 1L);
        s |= curl->easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
                               (curl_off_t)(o->content_length >= 0 ? o->content_length : -1));
        s |= curl->easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        s |= curl->easy_setopt(e, CURLOPT_READDATA, r);
        s |= curl->easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    } else if (strcmp(o->method, "HEAD") == 0) {
        s |= curl->easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(o->method, "GET") != 0) {
        s |= curl->easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    }
    if (s != CURLE_OK) {
        rc = SPRY_EIO;
        set_error(err, HTTP_ERR_INTERNAL_ERROR, "libcurl rejected an option");
        goto fail;
    }
    pthread_mutex_lock(&c->mu);
    if (c->live >= c->max_requests || c->stopping) {
        pthread_mutex_unlock(&c->mu);
        rc = SPRY_EEXHAUSTED;
        set_error(err, HTTP_ERR_CONNECTION_LIMIT_REACHED, "%zu outbound requests in flight",
                  c->max_requests);
        goto fail;
    }
    c->live++;
    r->next = c->submitted;
    c->submitted = r;
    pthread_mutex_unlock(&c->mu);
    wake_worker(c);
    *out = r;
    return 0;
fail:
    /* Never handed to the worker: freed here (free_request counts it). */
    pthread_mutex_lock(&c->mu);
    c->live++;
    pthread_mutex_unlock(&c->mu);
    free_request(c, r);
    return rc;
}

void http_client_request_destroy(struct http_client_request *r)
{
    if (r == NULL)
        return;
    struct http_client *c = r->client;
    pthread_mutex_lock(&c->mu);
    r->next = c->released;
    c->released = r;
    pthread_mutex_unlock(&c->mu);
    wake_worker(c);
}

int http_client_request_fd(const struct http_client_request *r)
{
    return r->fd;
}

void http_client_request_clear(struct http_client_request *r)
{
    uint64_t v;
    ssize_t n = read(r->fd, &v, sizeof v);
    (void)n; /* EAGAIN: already clear */
}

int http_client_wait(struct http_client_request *r, uint64_t deadline_ns)
{
    for (;;) {
        int ms = -1;
        if (deadline_ns != 0) {
            uint64_t t = now_ns();
            if (t >= deadline_ns)
                return SPRY_ETIMEOUT;
            ms = (int)((deadline_ns - t) / NS_PER_MS + 1);
        }
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        int n = poll(&p, 1, ms);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return SPRY_EIO;
    }
}

int64_t http_client_body_capacity(struct http_client_request *r)
{
    pthread_mutex_lock(&r->mu);
    int64_t cap;
    if (r->failed)
        cap = SPRY_EIO;
    else if (!r->has_body || r->up_finished)
        cap = 0;
    else
        cap = r->up.len >= r->client->window ? 0 : (int64_t)(r->client->window - r->up.len);
    pthread_mutex_unlock(&r->mu);
    return cap;
}

int http_client_body_write(struct http_client_request *r, const void *data, size_t len)
{
    pthread_mutex_lock(&r->mu);
    int rc = 0;
    bool wake = false;
    if (r->failed) {
        rc = SPRY_EIO;
    } else if (!r->has_body || r->up_finished || r->up.len + len > r->client->window) {
        rc = SPRY_EINVAL;
    } else if (r->content_length >= 0 && r->queued + len > (uint64_t)r->content_length) {
        fail_locked(r, HTTP_ERR_HTTP_REQUEST_BODY_SIZE,
                    "the body is longer than its content-length");
        rc = SPRY_EIO;
        wake = true;
    } else if (len > 0) {
        if (!queue_push(&r->up, data, len)) {
            rc = SPRY_ENOMEM;
        } else {
            r->queued += len;
            wake = r->up_paused;
        }
    }
    pthread_mutex_unlock(&r->mu);
    if (wake)
        wake_worker(r->client);
    return rc;
}

int http_client_body_finish(struct http_client_request *r, struct http_client_error *err)
{
    pthread_mutex_lock(&r->mu);
    int rc = 0;
    if (r->failed) {
        *err = r->err;
        rc = SPRY_EIO;
    } else if (!r->has_body || r->up_finished) {
        set_error(err, HTTP_ERR_INTERNAL_ERROR, "the body was already finished");
        rc = SPRY_EINVAL;
    } else if (r->content_length >= 0 && r->queued != (uint64_t)r->content_length) {
        fail_locked(r, HTTP_ERR_HTTP_REQUEST_BODY_SIZE,
                    "the body is shorter than its content-length");
        *err = r->err;
        rc = SPRY_EINVALID;
    } else {
        r->up_finished = true;
    }
    pthread_mutex_unlock(&r->mu);
    wake_worker(r->client);
    return rc;
}

int http_client_head(struct http_client_request *r, struct http_client_response *resp,
                     struct http_client_error *err)
{
    pthread_mutex_lock(&r->mu);
    int rc;
    if (r->head_ready) {
        resp->status = r->status;
        resp->version = r->version;
        resp->headers = r->head.v;
        resp->n_headers = r->head.n;
        rc = 0;
    } else if (r->failed) {
        *err = r->err;
        rc = SPRY_EIO;
    } else {
        rc = SPRY_EBUSY;
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int64_t http_client_body_read(struct http_client_request *r, void *buf, size_t len, bool *eof,
                              struct http_client_error *err)
{
    *eof = false;
    pthread_mutex_lock(&r->mu);
    int64_t n = 0;
    bool wake = false;
    if (r->head_ready && r->down.len > 0) {
        n = (int64_t)queue_pop(&r->down, buf, len);
        wake = r->down_paused && r->down.len + r->down_need <= r->client->window;
    } else if (r->failed) {
        *err = r->err;
        n = SPRY_EIO;
    } else if (r->complete) {
        *eof = true;
    }
    pthread_mutex_unlock(&r->mu);
    if (wake)
        wake_worker(r->client);
    return n;
}

void http_client_trailers(struct http_client_request *r, const struct http_client_header **out,
                          size_t *n)
{
    pthread_mutex_lock(&r->mu);
    bool done = r->complete && r->down.len == 0;
    *out = done ? r->trailers.v : NULL;
    *n = done ? r->trailers.n : 0;
    pthread_mutex_unlock(&r->mu);
}

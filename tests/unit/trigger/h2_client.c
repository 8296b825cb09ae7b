/* The HTTP/2 test client (h2_client.h). */
#include "unit/trigger/h2_client.h"

#include "harness/test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct h2c_stream *find(struct h2c *c, int32_t id)
{
    for (int i = 0; i < c->n; i++)
        if (c->streams[i].id == id)
            return &c->streams[i];
    return NULL;
}

static ssize_t on_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *user)
{
    (void)s, (void)flags;
    struct h2c *c = user;
    size_t off = 0;
    while (off < len) {
        ssize_t w = send(c->fd, data + off, len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        off += (size_t)w;
    }
    return (ssize_t)len;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name, size_t nl,
                     const uint8_t *value, size_t vl, uint8_t flags, void *user)
{
    (void)s, (void)flags;
    struct h2c_stream *st = find(user, frame->hd.stream_id);
    if (st == NULL || frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    if (nl == 7 && memcmp(name, ":status", 7) == 0) {
        st->status = atoi((const char *)value);
    } else if (frame->headers.cat == NGHTTP2_HCAT_HEADERS) {
        size_t at = strlen(st->trailers);
        snprintf(st->trailers + at, sizeof st->trailers - at, "%.*s: %.*s\n", (int)nl, name,
                 (int)vl, value);
    }
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                   void *user)
{
    (void)s, (void)flags;
    struct h2c_stream *st = find(user, id);
    if (st == NULL)
        return 0;
    st->body = realloc(st->body, st->body_len + len + 1);
    ASSERT_NOT_NULL(st->body);
    memcpy(st->body + st->body_len, data, len);
    st->body_len += len;
    st->body[st->body_len] = '\0';
    return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t error, void *user)
{
    (void)s;
    struct h2c_stream *st = find(user, id);
    if (st != NULL) {
        st->closed = true;
        st->error = error;
    }
    return 0;
}

static int on_frame(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
    (void)s;
    struct h2c *c = user;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        c->goaway = true;
        c->goaway_error = frame->goaway.error_code;
        c->goaway_open_streams = 0;
        for (int i = 0; i < c->n; i++)
            c->goaway_open_streams += !c->streams[i].closed;
    }
    return 0;
}

static ssize_t body_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *source, void *user)
{
    (void)user;
    struct h2c_stream *st = source->ptr;
    size_t limit = st->up_limit < st->up_len ? st->up_limit : st->up_len;
    size_t n = limit - st->up_off;
    if (n == 0 && st->up_off < st->up_len) {
        st->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    if (n > length)
        n = length;
    memcpy(buf, st->up + st->up_off, n);
    st->up_off += n;
    if (st->up_off == st->up_len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (st->req_trailers != NULL) {
            nghttp2_nv nv[16];
            size_t k = 0;
            for (const char *const *t = st->req_trailers; t[0] != NULL && k < 16; t += 2, k++)
                nv[k] = (nghttp2_nv){(uint8_t *)t[0], (uint8_t *)t[1], strlen(t[0]), strlen(t[1]),
                                     NGHTTP2_NV_FLAG_NONE};
            if (nghttp2_submit_trailer(s, id, nv, k) == 0)
                *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
    }
    return (ssize_t)n;
}

void h2c_open(struct h2c *c, int port)
{
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE_INT(c->fd, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(0x7f000001);
    ASSERT_EQ_INT(connect(c->fd, (struct sockaddr *)&a, sizeof a), 0);
    nghttp2_session_callbacks *cb;
    ASSERT_EQ_INT(nghttp2_session_callbacks_new(&cb), 0);
    nghttp2_session_callbacks_set_send_callback(cb, on_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
    /* Header blocks over nghttp2's 64 KiB default may be sent: the server's
     * limits are what the tests look at. */
    nghttp2_option *opt;
    ASSERT_EQ_INT(nghttp2_option_new(&opt), 0);
    nghttp2_option_set_max_send_header_block_length(opt, 1u << 20);
    nghttp2_session *s;
    ASSERT_EQ_INT(nghttp2_session_client_new2(&s, cb, c, opt), 0);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    c->session = s;
    nghttp2_settings_entry iv = {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 200};
    ASSERT_EQ_INT(nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, &iv, 1), 0);
}

void h2c_close(struct h2c *c)
{
    nghttp2_session_del(c->session);
    close(c->fd);
    for (int i = 0; i < c->n; i++)
        free(c->streams[i].body);
}

int h2c_request(struct h2c *c, const char *method, const char *path, const char *const *fields,
                const uint8_t *body, size_t body_len, size_t up_limit, const char *const *trailers)
{
    ASSERT_TRUE(c->n < H2C_MAX_STREAMS);
    nghttp2_nv nv[128];
    size_t k = 0;
    const char *usual[] = {":method", method, ":scheme", "http", ":path", path, ":authority", "a"};
    if (method != NULL)
        for (size_t i = 0; i < 8; i += 2)
            nv[k++] = (nghttp2_nv){(uint8_t *)usual[i], (uint8_t *)usual[i + 1], strlen(usual[i]),
                                   strlen(usual[i + 1]), NGHTTP2_NV_FLAG_NONE};
    for (const char *const *f = fields; f != NULL && f[0] != NULL && k < 128; f += 2)
        nv[k++] = (nghttp2_nv){(uint8_t *)f[0], (uint8_t *)f[1], strlen(f[0]), strlen(f[1]),
                               NGHTTP2_NV_FLAG_NONE};
    struct h2c_stream *st = &c->streams[c->n];
    memset(st, 0, sizeof *st);
    st->up = body;
    st->up_len = body_len;
    st->up_limit = up_limit;
    st->req_trailers = trailers;
    nghttp2_data_provider dp = {.source.ptr = st, .read_callback = body_read};
    st->id = nghttp2_submit_request(c->session, NULL, nv, k, body != NULL ? &dp : NULL, NULL);
    ASSERT_GT_INT(st->id, 0);
    return c->n++;
}

void h2c_allow(struct h2c *c, int idx, size_t up_limit)
{
    struct h2c_stream *st = &c->streams[idx];
    st->up_limit = up_limit;
    if (st->deferred) {
        st->deferred = false;
        nghttp2_session_resume_data(c->session, st->id);
    }
}

bool h2c_run(struct h2c *c, bool (*done)(struct h2c *c, void *arg), void *arg, int timeout_ms)
{
    static uint8_t buf[65536];
    for (;;) {
        ASSERT_EQ_INT(nghttp2_session_send(c->session), 0);
        if (done(c, arg))
            return true;
        if (c->eof)
            return false;
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0)
            return done(c, arg);
        ssize_t r = recv(c->fd, buf, sizeof buf, 0);
        if (r <= 0) {
            c->eof = true;
            continue;
        }
        ASSERT_EQ_INT((int)nghttp2_session_mem_recv(c->session, buf, (size_t)r), (int)r);
    }
}

bool h2c_all_closed(struct h2c *c, void *arg)
{
    (void)arg;
    for (int i = 0; i < c->n; i++)
        if (!c->streams[i].closed)
            return false;
    return true;
}

bool h2c_closed(struct h2c *c, void *arg)
{
    return c->streams[*(int *)arg].closed;
}

int32_t h2c_send_window(struct h2c *c, int idx)
{
    return nghttp2_session_get_stream_remote_window_size(c->session, c->streams[idx].id);
}

/*
 * A small HTTP/2 (h2c, prior knowledge) client on nghttp2 for the server
 * tests, for what curl cannot do: request trailers, a body sent only as
 * far as the test lets it (to see what the server reads before the client
 * finished), many streams on one connection, the stream's window, raw
 * header fields that break the rules. Blocking socket to 127.0.0.1.
 */
#ifndef SPRY_TESTS_H2_CLIENT_H
#define SPRY_TESTS_H2_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define H2C_MAX_STREAMS 128

struct h2c_stream {
    int32_t id;
    int status;
    char *body; /* malloc'd, NUL-terminated */
    size_t body_len;
    char trailers[2048]; /* response trailers, "name: value\n" each */
    bool closed;
    uint32_t error; /* RST_STREAM code (0: none) */
    /* The request body: up[0, up_len), sent up to `up_limit` (then the
     * provider defers until the test raises it: h2c_allow). */
    const uint8_t *up;
    size_t up_len, up_off, up_limit;
    bool deferred;
    const char *const *req_trailers; /* name, value, ..., NULL: after the body */
};

struct h2c {
    int fd;
    void *session; /* nghttp2_session */
    struct h2c_stream streams[H2C_MAX_STREAMS];
    int n;
    bool goaway, eof;
    uint32_t goaway_error;
    int goaway_open_streams; /* streams not yet closed when GOAWAY came */
};

/* Connects to 127.0.0.1:port and sends the preface and SETTINGS. */
void h2c_open(struct h2c *c, int port);
void h2c_close(struct h2c *c);
/* A request: fields are name, value, ... NULL (pseudo-header fields
 * included: pass ":method", ":path", ... yourself, or NULL for the usual
 * four with `method` and `path`). body NULL: END_STREAM on HEADERS.
 * Returns the stream's index in c->streams. */
int h2c_request(struct h2c *c, const char *method, const char *path, const char *const *fields,
                const uint8_t *body, size_t body_len, size_t up_limit, const char *const *trailers);
/* Raises the stream's send limit and resumes its body. */
void h2c_allow(struct h2c *c, int idx, size_t up_limit);
/* Runs the session until done(c, arg) is true or timeout_ms pass without
 * any byte read; returns done's last answer. */
bool h2c_run(struct h2c *c, bool (*done)(struct h2c *c, void *arg), void *arg, int timeout_ms);
/* done() helpers: all streams closed; stream *(int *)arg closed. */
bool h2c_all_closed(struct h2c *c, void *arg);
bool h2c_closed(struct h2c *c, void *arg);
/* The window the server gives the stream to send into now. */
int32_t h2c_send_window(struct h2c *c, int idx);

#endif

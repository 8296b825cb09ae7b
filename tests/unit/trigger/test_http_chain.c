/*
 * Service chaining (src/trigger/http_chain.c) driven directly: a chained
 * request to a component whose executor is here, its response head, body
 * and trailers read back as the spin executor's outbound hook reads them.
 * The end-to-end behaviour (a guest chaining to another) is in
 * tests/unit/app/test_up.c.
 */
#include "harness/test.h"

#include "spry/error.h"
#include "trigger/http_chain.h"

#include <string.h>

/* Answers 200 with the body "bare" and no header field at all: of unknown
 * length (chunked as HTTP/1.1 would carry it, without trailers) when the
 * path says /chunked, else of a known length. */
static int bare_handle(void *data, struct http_exchange *ex)
{
    (void)data;
    const struct http_request *r = http_exchange_request(ex);
    bool chunked = strcmp(r->path, "/chunked") == 0;
    int rc = http_exchange_start(ex, 200, NULL, 0, chunked ? -1 : 4);
    if (rc == 0)
        rc = http_exchange_write(ex, "bare", 4);
    return rc == 0 ? http_exchange_finish(ex) : rc;
}

static struct http_executor bare = {.handle = bare_handle, .stream_body = true};

static const struct http_route routes[] = {
    {.pattern = "/...", .kind = HTTP_TARGET_COMPONENT, .component_id = "bare", .executor = &bare},
};

/* Waits for the head; SPRY_EBUSY is "not yet". */
static int await_head(struct http_chain *c, uint16_t *status,
                      const struct http_header_pair **headers, size_t *n)
{
    for (;;) {
        http_chain_clear(c);
        int rc = http_chain_head(c, status, headers, n);
        if (rc != SPRY_EBUSY)
            return rc;
        http_chain_wait(c, 1000000000);
    }
}

/* Reads the whole body into out (NUL-terminated). */
static int read_body(struct http_chain *c, char *out, size_t cap)
{
    size_t len = 0;
    for (bool eof = false; !eof;) {
        http_chain_clear(c);
        int64_t k = http_chain_body_read(c, out + len, cap - 1 - len, &eof);
        if (k < 0)
            return (int)k;
        len += (size_t)k;
        if (k == 0 && !eof)
            http_chain_wait(c, 1000000000);
    }
    out[len] = '\0';
    return 0;
}

/* A target that answers without a header field, and chunked without
 * trailers: the empty buffers the HTTP/1 path once did arithmetic on
 * (trigger_http.http1_response_without_header_fields_nor_trailers) are
 * walked here too (take_head, http_chain_trailers), under make ubsan. */
TEST(trigger_http_chain, response_without_header_fields_nor_trailers)
{
    struct http_chain_app *app;
    ASSERT_OK(http_chain_app_create(0, 2, &app)); /* one each, their threads may overlap */
    http_chain_app_set_routes(app, routes, sizeof routes / sizeof routes[0]);
    for (int chunked = 0; chunked <= 1; chunked++) {
        struct http_chain_request r = {
            .component_id = "bare",
            .method = "GET",
            .authority = "bare.spin.internal",
            .path_with_query = chunked ? "/chunked" : "/known",
        };
        struct http_chain *c;
        char why[256];
        ASSERT_EQ_INT(http_chain_start(app, NULL, &r, &c, why, sizeof why), HTTP_CHAIN_OK);
        uint16_t status = 0;
        const struct http_header_pair *h;
        size_t n;
        ASSERT_OK(await_head(c, &status, &h, &n));
        ASSERT_EQ_INT(status, 200);
        if (chunked) {
            ASSERT_EQ_UINT(n, 0);
        } else { /* the one field a known length adds */
            ASSERT_EQ_UINT(n, 1);
            ASSERT_EQ_STR(h[0].name, "content-length");
            ASSERT_EQ_STR(h[0].value, "4");
        }
        char body[64];
        ASSERT_OK(read_body(c, body, sizeof body));
        ASSERT_EQ_STR(body, "bare");
        const struct http_header_pair *t;
        ASSERT_OK(http_chain_trailers(c, &t, &n));
        ASSERT_EQ_UINT(n, 0);
        http_chain_destroy(c);
    }
    http_chain_app_destroy(app);
}

/*
 * Request body framing and decoding (src/trigger/http_body.c): the framing
 * a head declares and its in-place renaming, and the Content-Length and
 * chunked decoders fed whole, byte by byte and with little room. The
 * end-to-end behaviour is in test_http_server.c ("streamed").
 */
#include "harness/test.h"

#include "spry/error.h"
#include "trigger/http_body.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct body_framing framing(const char *head, bool strip, char *copy)
{
    struct body_framing f;
    size_t n = strlen(head);
    memcpy(copy, head, n + 1);
    body_framing_of(copy, n, 1000, strip, &f);
    return f;
}

TEST(trigger_http_body, framing_of_a_head)
{
    char h[512];
    struct body_framing f = framing("GET / HTTP/1.1\r\nHost: a\r\n\r\n", true, h);
    ASSERT_EQ_INT(f.kind, BODY_NONE);
    f = framing("POST / HTTP/1.1\r\ncontent-LENGTH:  12 \r\n\r\n", false, h);
    ASSERT_EQ_INT(f.kind, BODY_LENGTH);
    ASSERT_EQ_UINT(f.length, 12);
    f = framing("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\nExpect: 100-continue\r\n\r\n",
                false, h);
    ASSERT_EQ_INT(f.kind, BODY_CHUNKED);
    ASSERT_TRUE(f.expect_continue);
    /* Left to h2o: another coding, a bad or too large length, another
     * expectation. */
    ASSERT_EQ_INT(
        framing("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", true, h).kind,
        BODY_OTHER);
    ASSERT_EQ_INT(framing("POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", true, h).kind,
                  BODY_OTHER);
    ASSERT_EQ_INT(framing("POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n", true, h).kind,
                  BODY_OTHER);
    ASSERT_EQ_INT(
        framing("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", true, h).kind,
        BODY_OTHER);
    ASSERT_EQ_INT(
        framing("POST / HTTP/1.1\r\nContent-Length: 1\r\nExpect: nothing\r\n\r\n", true, h).kind,
        BODY_OTHER);
    /* A head left to h2o is not touched. */
    const char other[] = "POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n";
    framing(other, true, h);
    ASSERT_EQ_STR(h, other);
}

TEST(trigger_http_body, stripping_renames_only_framing_field_names)
{
    char h[512];
    struct body_framing f =
        framing("POST /content-length HTTP/1.1\r\nHost: a\r\n"
                "Content-Length: 3\r\ncontent-length: 3\r\nX-A: content-length\r\n\r\n",
                true, h);
    ASSERT_EQ_INT(f.kind, BODY_LENGTH);
    ASSERT_EQ_STR(h, "POST /content-length HTTP/1.1\r\nHost: a\r\n" HEAD_STRIPPED_LENGTH
                     ": 3\r\n" HEAD_STRIPPED_LENGTH ": 3\r\nX-A: content-length\r\n\r\n");
    f = framing("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", true, h);
    ASSERT_EQ_INT(f.kind, BODY_CHUNKED);
    ASSERT_EQ_STR(h, "POST / HTTP/1.1\r\n" HEAD_STRIPPED_CODING ": chunked\r\n\r\n");
    ASSERT_EQ_INT((int)strlen(HEAD_STRIPPED_LENGTH), (int)strlen("content-length"));
    ASSERT_EQ_INT((int)strlen(HEAD_STRIPPED_CODING), (int)strlen("transfer-encoding"));
}

/* Decodes `in` fed `step` bytes at a time with `room` bytes of output per
 * call; returns the final code, the body in out and the raw bytes used. */
static struct spry_buf *keep_trailers; /* set: decode keeps them there */

static int decode(bool chunked, uint64_t length, uint64_t max, const char *in, size_t inlen,
                  size_t step, size_t room, char *out, size_t *outlen, size_t *used_total)
{
    struct body_framing f = {chunked ? BODY_CHUNKED : BODY_LENGTH, length, false};
    struct body_decoder d;
    body_decoder_init(&d, &f, max);
    d.trailers = keep_trailers;
    size_t have = 0, at = 0, o = 0; /* input made available so far; consumed; produced */
    int rc = BODY_MORE;
    for (int guard = 0; guard < 1000000; guard++) {
        if (have < inlen && have - at < step)
            have = have + step > inlen ? inlen : have + step;
        size_t used, made;
        rc = body_decode(&d, (const uint8_t *)in + at, have - at, (uint8_t *)out + o, room, &used,
                         &made);
        at += used;
        o += made;
        if (rc != BODY_MORE || (have == inlen && used == 0 && made == 0))
            break;
    }
    *outlen = o;
    *used_total = at;
    return rc;
}

TEST(trigger_http_body, chunked_decoding_in_any_slicing)
{
    const char in[] = "5\r\nhello\r\n1;ext=\"a b\"\r\n,\r\nA \r\n world!!!!\r\n0\r\n"
                      "X-Trailer: t\r\nY: u\r\n\r\nNEXT";
    const size_t body_len = strlen("hello, world!!!!");
    char out[64];
    for (size_t step = 1; step <= sizeof in; step++) {
        for (size_t room = 1; room <= 20; room += 3) {
            size_t n, used;
            int rc = decode(true, 0, 1000, in, sizeof in - 1, step, room, out, &n, &used);
            ASSERT_EQ_INT(rc, BODY_DONE);
            ASSERT_EQ_INT((int)n, (int)body_len);
            ASSERT_TRUE(memcmp(out, "hello, world!!!!", body_len) == 0);
            ASSERT_EQ_INT((int)used, (int)(sizeof in - 1 - 4)); /* "NEXT" is left */
        }
    }
}

TEST(trigger_http_body, trailer_fields_are_kept_in_any_slicing)
{
    const char in[] =
        "3\r\nabc\r\n0\r\nX-Trailer:  t v \r\nY:u\r\nEmpty:\r\nz-Tab:\tq\t\r\n\r\nNEXT";
    static const char want[] = "x-trailer\0t v\0y\0u\0empty\0\0z-tab\0q\0";
    char out[64];
    struct spry_buf t;
    spry_buf_init(&t, 2 * BODY_TRAILER_MAX);
    keep_trailers = &t;
    for (size_t step = 1; step <= sizeof in; step++) {
        spry_buf_reset(&t);
        size_t n, used;
        int rc = decode(true, 0, 1000, in, sizeof in - 1, step, 2, out, &n, &used);
        ASSERT_EQ_INT(rc, BODY_DONE);
        ASSERT_EQ_INT((int)used, (int)(sizeof in - 1 - 4));
        ASSERT_EQ_INT((int)t.len, (int)sizeof want - 1);
        ASSERT_TRUE(memcmp(t.data, want, sizeof want - 1) == 0);
    }
    /* Broken field lines: 400 material, whether kept or not. */
    static const char *const bad[] = {
        "0\r\nX y: v\r\n\r\n",     /* not a token */
        "0\r\nnocolon\r\n\r\n",    /* no colon */
        "0\r\n: v\r\n\r\n",        /* empty name */
        "0\r\nX: a\r\n b\r\n\r\n", /* obs-fold */
        "0\r\nX : a\r\n\r\n",      /* whitespace before the colon */
    };
    for (int keep = 0; keep < 2; keep++) {
        keep_trailers = keep ? &t : NULL;
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            size_t n, used;
            int rc = decode(true, 0, 1000, bad[i], strlen(bad[i]), 1, 64, out, &n, &used);
            if (rc != SPRY_EMALFORMED)
                test_fail_int(__FILE__, __LINE__, "case", "==", "SPRY_EMALFORMED", (long long)i,
                              rc);
        }
    }
    /* At most BODY_TRAILER_MAX bytes of field lines. */
    size_t big = BODY_TRAILER_MAX + 16;
    char *in2 = malloc(big + 32);
    ASSERT_NOT_NULL(in2);
    int k = snprintf(in2, 32, "0\r\nx: ");
    memset(in2 + k, 'a', big);
    memcpy(in2 + k + big, "\r\n\r\n", 5);
    keep_trailers = &t;
    size_t n, used;
    ASSERT_EQ_INT(decode(true, 0, 1000, in2, strlen(in2), 4096, 64, out, &n, &used),
                  SPRY_EMALFORMED);
    free(in2);
    keep_trailers = NULL;
    spry_buf_fini(&t);
}

TEST(trigger_http_body, length_decoding_stops_at_the_end)
{
    const char in[] = "abcdefghijGET";
    char out[32];
    size_t n, used;
    ASSERT_EQ_INT(decode(false, 10, 100, in, sizeof in - 1, 3, 4, out, &n, &used), BODY_DONE);
    ASSERT_EQ_INT((int)n, 10);
    ASSERT_EQ_INT((int)used, 10);
    ASSERT_TRUE(memcmp(out, "abcdefghij", 10) == 0);
    /* Incomplete: more is wanted. */
    ASSERT_EQ_INT(decode(false, 10, 100, in, 6, 6, 32, out, &n, &used), BODY_MORE);
    ASSERT_EQ_INT((int)n, 6);
    /* An empty body is done at once. */
    ASSERT_EQ_INT(decode(false, 0, 100, "", 0, 1, 1, out, &n, &used), BODY_DONE);
    ASSERT_EQ_INT((int)n, 0);
}

TEST(trigger_http_body, chunked_errors)
{
    static const char *const bad[] = {
        "5\nhello\r\n0\r\n\r\n",         /* bare LF after the size */
        "5\r\nhelloX\r\n0\r\n\r\n",      /* no CRLF after the data */
        "5\r\nhello\r\n0\r\n\r\r",       /* a bad final LF */
        "\r\n",                          /* no size */
        "g\r\n",                         /* not hex */
        "5;a\x01\r\nhello\r\n0\r\n\r\n", /* control character in an extension */
        "0\r\nX: a\x01\r\n\r\n",         /* control character in a trailer */
        "0\r\nX: a\n\r\n",               /* bare LF in a trailer */
    };
    char out[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n, used;
        int rc = decode(true, 0, 1000, bad[i], strlen(bad[i]), 1, 64, out, &n, &used);
        if (rc != SPRY_EMALFORMED)
            test_fail_int(__FILE__, __LINE__, "case", "==", "SPRY_EMALFORMED", (long long)i, rc);
    }
    /* A size line that never ends. */
    char *longext = malloc(10000);
    memset(longext, ';', 9999);
    longext[0] = '1';
    longext[9999] = '\0';
    size_t n, used;
    ASSERT_EQ_INT(decode(true, 0, 1000, longext, 9999, 9999, 64, out, &n, &used), SPRY_EMALFORMED);
    free(longext);
}

TEST(trigger_http_body, chunked_limit_is_checked_from_the_size)
{
    char out[64];
    size_t n, used;
    /* 8 + 8 = 16 is the limit: fine; one more byte is not, and the size
     * line alone says so (no data follows here). */
    const char ok[] = "8\r\n01234567\r\n8\r\n01234567\r\n0\r\n\r\n";
    ASSERT_EQ_INT(decode(true, 0, 16, ok, sizeof ok - 1, 5, 64, out, &n, &used), BODY_DONE);
    ASSERT_EQ_INT((int)n, 16);
    const char over[] = "8\r\n01234567\r\n9\r\n";
    ASSERT_EQ_INT(decode(true, 0, 16, over, sizeof over - 1, 5, 64, out, &n, &used), SPRY_ETOOBIG);
    const char huge[] = "fffffffffffffffffff\r\n";
    ASSERT_EQ_INT(decode(true, 0, 16, huge, sizeof huge - 1, 50, 64, out, &n, &used), SPRY_ETOOBIG);
}

/*
 * HTTP/1 request bodies read by us rather than by h2o (docs/http.md,
 * "Streaming request bodies"): the framing of a checked head, and a
 * decoder for a `Content-Length` or chunked body. No h2o here: both are
 * pure functions over bytes, tested on their own (test_http_body.c).
 */
#ifndef SPRY_TRIGGER_HTTP_BODY_H
#define SPRY_TRIGGER_HTTP_BODY_H

#include "base/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum body_kind {
    BODY_NONE,    /* no framing field: no body */
    BODY_LENGTH,  /* Content-Length: `length` bytes */
    BODY_CHUNKED, /* Transfer-Encoding: chunked */
    BODY_OTHER,   /* anything else (another coding, a bad or too large
                   * length): left to h2o, which answers 400 or 413 */
};

struct body_framing {
    enum body_kind kind;
    uint64_t length;      /* BODY_LENGTH */
    bool expect_continue; /* `Expect: 100-continue` */
};

/*
 * Finds the framing of a complete head that head_scan passed (head[0,len),
 * up to and including its empty line). When the kind is BODY_LENGTH or
 * BODY_CHUNKED and `strip` is true, every framing field's name is
 * overwritten in place with a name of the same length that no HTTP stack
 * gives a meaning to (HEAD_STRIPPED_LENGTH, HEAD_STRIPPED_CODING), so a
 * parser reading the head afterwards sees a request without a body.
 * A Content-Length over max_body is BODY_OTHER (h2o answers 413 without
 * reading the body).
 */
void body_framing_of(char *head, size_t len, uint64_t max_body, bool strip,
                     struct body_framing *out);

#define HEAD_STRIPPED_LENGTH "x-spry-framing"    /* as long as content-length */
#define HEAD_STRIPPED_CODING "x-spry-framing-te" /* as long as transfer-encoding */

/* Decoding state of one body. */
struct body_decoder {
    bool chunked;
    uint8_t state;
    uint64_t left;  /* bytes of the body (length) or of the current chunk */
    uint64_t total; /* body bytes produced so far */
    uint64_t max;   /* the most `total` may reach */
    size_t line;    /* chunked: bytes of the current size or trailer line */
    size_t trailer; /* chunked: bytes of trailer fields */
    /* Where the trailer fields go (NULL: checked and dropped), as
     * "name\0value\0" pairs: names lower-cased, values without the OWS
     * around them. Owned by the caller; at most BODY_TRAILER_MAX bytes of
     * field lines arrive, so a buffer of twice that never fills. */
    struct spry_buf *trailers;
    size_t value_at; /* trailers: where the current field's value starts */
};

/* The most bytes of trailer field lines (with their line ends). */
#define BODY_TRAILER_MAX (64u * 1024)

void body_decoder_init(struct body_decoder *d, const struct body_framing *f, uint64_t max);

enum { BODY_MORE = 0, BODY_DONE = 1 };

/*
 * Decodes raw bytes in[0,inlen) into at most out_cap body bytes at out.
 * *used is the raw bytes consumed, *produced the body bytes written.
 * Returns BODY_DONE once the body ended (*used stops at its last byte, so
 * what follows is the next request), BODY_MORE when it needs more input or
 * more room, SPRY_EMALFORMED for bad chunked framing (a bare LF, a bad
 * size, a control character, a trailer field that is not `token ":" value`
 * or starts with whitespace (obs-fold), trailers over BODY_TRAILER_MAX) and SPRY_ETOOBIG when
 * the body would pass `max` (found from the chunk size, before its data).
 */
int body_decode(struct body_decoder *d, const uint8_t *in, size_t inlen, uint8_t *out,
                size_t out_cap, size_t *used, size_t *produced);

#endif

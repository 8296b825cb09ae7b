/*
 * libFuzzer harness for request body framing and decoding
 * (src/trigger/http_body.c). The first byte picks the framing (chunked or
 * a length taken from the second byte), the limit and the slicing; the
 * rest is the raw body. Checks: decoding the input whole with ample room
 * and decoding it in small slices with little room give the same result,
 * the same body and stop at the same byte; the body never passes the
 * limit; a length body is a prefix of the input; the trailer fields kept
 * are the same both ways, and are "name\0value\0" pairs with lower-case
 * token names. body_framing_of, run on
 * the input as a head, keeps its length and renames framing fields only.
 */
#include "spry/error.h"
#include "trigger/http_body.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run(const struct body_framing *f, uint64_t max, const uint8_t *in, size_t len,
               size_t step, size_t room, uint8_t *out, size_t *outlen, size_t *used_total,
               struct spry_buf *trailers)
{
    struct body_decoder d;
    body_decoder_init(&d, f, max);
    d.trailers = trailers;
    size_t have = 0, at = 0, o = 0;
    int rc = BODY_MORE;
    for (;;) {
        if (have < len)
            have = have + step > len ? len : have + step;
        size_t used, made;
        size_t cap = room < len + 1 - o ? room : len + 1 - o;
        rc = body_decode(&d, in + at, have - at, out + o, cap, &used, &made);
        if (used > have - at || made > cap)
            __builtin_trap();
        at += used;
        o += made;
        if (rc != BODY_MORE || (have == len && used == 0 && made == 0))
            break;
    }
    *outlen = o;
    *used_total = at;
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t mode = data[0];
    struct body_framing f = {(mode & 1) ? BODY_CHUNKED : BODY_LENGTH, data[1], false};
    uint64_t max = (mode & 2) ? 64 : 1u << 20;
    if (f.length > max) /* body_framing_of leaves such a length to h2o */
        f.length = max;
    size_t step = 1 + (mode >> 4), room = 1 + ((mode >> 2) & 3) * 5;
    const uint8_t *in = data + 2;
    size_t len = size - 2;
    uint8_t *a = malloc(len + 1), *b = malloc(len + 1);
    if (a == NULL || b == NULL) {
        free(a);
        free(b);
        return 0;
    }
    size_t na, ua, nb, ub;
    struct spry_buf ta, tb;
    spry_buf_init(&ta, 2 * BODY_TRAILER_MAX);
    spry_buf_init(&tb, 2 * BODY_TRAILER_MAX);
    int ra = run(&f, max, in, len, len + 1, len + 1, a, &na, &ua, &ta);
    int rb = run(&f, max, in, len, step, room, b, &nb, &ub, &tb);
    if (ra != rb || na != nb || ua != ub || memcmp(a, b, na) != 0)
        __builtin_trap();
    if (ta.len != tb.len || (ta.len > 0 && memcmp(ta.data, tb.data, ta.len) != 0))
        __builtin_trap();
    if (ra == BODY_DONE) { /* whole pairs, names lower case and not empty */
        size_t k = 0, nul = 0;
        bool in_name = true, empty = true;
        for (; k < ta.len; k++) {
            uint8_t c = ta.data[k];
            if (c == 0) {
                if (in_name && empty)
                    __builtin_trap();
                in_name = !in_name;
                empty = true;
                nul++;
                continue;
            }
            empty = false;
            if (in_name && ((c >= 'A' && c <= 'Z') || c <= ' ' || c == ':'))
                __builtin_trap();
        }
        if (nul % 2 != 0)
            __builtin_trap();
    }
    spry_buf_fini(&ta);
    spry_buf_fini(&tb);
    if (ra != BODY_MORE && ra != BODY_DONE && ra != SPRY_EMALFORMED && ra != SPRY_ETOOBIG)
        __builtin_trap();
    if (na > max || na > ua)
        __builtin_trap();
    if (f.kind == BODY_LENGTH && (memcmp(a, in, na) != 0 || (ra == BODY_DONE) != (na == f.length)))
        __builtin_trap();
    /* The input as a head: stripping changes framing field names only. */
    char *head = malloc(len + 1);
    if (head != NULL) {
        memcpy(head, in, len);
        head[len] = '\0';
        struct body_framing hf;
        body_framing_of(head, len, max, true, &hf);
        for (size_t i = 0; i < len; i++)
            if (head[i] != (char)in[i] && strchr("x-spryfamingte", head[i]) == NULL)
                __builtin_trap();
        free(head);
    }
    free(a);
    free(b);
    return 0;
}

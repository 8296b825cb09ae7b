/*
 * Request body framing and decoding for the bodies we read ourselves
 * (http_body.h). RFC 9112 section 6 (framing) and 7.1 (chunked coding),
 * with the same strictness as the head scanner: lines end in CRLF.
 */
#include "trigger/http_body.h"

#include "spry/error.h"

#include <string.h>
#include <strings.h>

/* ---- framing ---------------------------------------------------------- */

static bool name_is(const char *name, size_t len, const char *want)
{
    size_t wl = strlen(want);
    return len == wl && strncasecmp(name, want, wl) == 0;
}

/* Digits only, no sign, no overflow: RFC 9110 section 8.6. */
static bool parse_length(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 19)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

void body_framing_of(char *head, size_t len, uint64_t max_body, bool strip,
                     struct body_framing *out)
{
    memset(out, 0, sizeof(*out));
    bool other_expect = false, bad = false;
    size_t p = len >= 2 && head[0] == '\r' && head[1] == '\n' ? 2 : 0;
    bool first = true;
    while (p < len) {
        char *s = head + p;
        char *lf = memchr(s, '\n', len - p);
        if (lf == NULL)
            break;
        size_t n = (size_t)(lf - s);
        n -= n > 0 && s[n - 1] == '\r';
        p = (size_t)(lf - head) + 1;
        if (first || n == 0) {
            first = false;
            continue;
        }
        const char *colon = memchr(s, ':', n);
        if (colon == NULL)
            continue;
        size_t nl = (size_t)(colon - s);
        const char *val = colon + 1, *end = s + n;
        while (val < end && (*val == ' ' || *val == '\t'))
            val++;
        while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        size_t vl = (size_t)(end - val);
        if (name_is(s, nl, "content-length")) {
            uint64_t v = 0;
            if (!parse_length(val, vl, &v) || v > max_body)
                bad = true;
            out->kind = BODY_LENGTH;
            out->length = v;
        } else if (name_is(s, nl, "transfer-encoding")) {
            if (vl != 7 || strncasecmp(val, "chunked", 7) != 0)
                bad = true;
            out->kind = BODY_CHUNKED;
        } else if (name_is(s, nl, "expect")) {
            if (vl == 12 && strncasecmp(val, "100-continue", 12) == 0)
                out->expect_continue = true;
            else
                other_expect = true;
        }
    }
    if (out->kind == BODY_NONE)
        return;
    if (bad || other_expect) {
        out->kind = BODY_OTHER;
        return;
    }
    if (!strip)
        return;
    /* Second pass: rename the framing fields (their names are all that
     * changes; values and lengths stay). */
    p = len >= 2 && head[0] == '\r' && head[1] == '\n' ? 2 : 0;
    first = true;
    while (p < len) {
        char *s = head + p;
        char *lf = memchr(s, '\n', len - p);
        if (lf == NULL)
            break;
        size_t n = (size_t)(lf - s);
        p = (size_t)(lf - head) + 1;
        if (first) {
            first = false;
            continue;
        }
        const char *colon = memchr(s, ':', n);
        if (colon == NULL)
            continue;
        size_t nl = (size_t)(colon - s);
        if (name_is(s, nl, "content-length"))
            memcpy(s, HEAD_STRIPPED_LENGTH, nl);
        else if (name_is(s, nl, "transfer-encoding"))
            memcpy(s, HEAD_STRIPPED_CODING, nl);
    }
}

/* ---- decoding --------------------------------------------------------- */

enum {
    S_DATA,       /* body bytes (a length body, or a chunk's data) */
    S_SIZE0,      /* a chunk-size line: its first hex digit */
    S_SIZE,       /* more hex digits, then extensions or CR */
    S_EXT,        /* chunk extensions up to CR */
    S_SIZE_LF,    /* the LF of the size line */
    S_DATA_CR,    /* the CRLF after a chunk's data */
    S_DATA_LF,    /* */
    S_TRAILER0,   /* the start of a trailer line (CR: the end) */
    S_TRAILER,    /* a trailer field's name up to ':' */
    S_TVALUE0,    /* whitespace before its value */
    S_TVALUE,     /* its value up to CR */
    S_TRAILER_LF, /* */
    S_END_LF,     /* the LF of the final empty line */
    S_DONE,
};

#define CHUNK_LINE_MAX 4096
#define TRAILER_MAX    BODY_TRAILER_MAX

void body_decoder_init(struct body_decoder *d, const struct body_framing *f, uint64_t max)
{
    memset(d, 0, sizeof(*d));
    d->max = max;
    d->chunked = f->kind == BODY_CHUNKED;
    if (d->chunked) {
        d->state = S_SIZE0;
    } else {
        d->left = f->kind == BODY_LENGTH ? f->length : 0;
        d->state = d->left == 0 ? S_DONE : S_DATA;
    }
}

static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool ctl(uint8_t c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* RFC 9110 section 5.6.2: tchar. */
static bool tchar(uint8_t c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Keeps one byte of a trailer field (when the caller wants them). */
static int keep(struct body_decoder *d, uint8_t c)
{
    return d->trailers == NULL ? 0 : spry_buf_append_byte(d->trailers, c);
}

int body_decode(struct body_decoder *d, const uint8_t *in, size_t inlen, uint8_t *out,
                size_t out_cap, size_t *used, size_t *produced)
{
    size_t i = 0, o = 0;
    int rc = BODY_MORE;
    while (d->state != S_DONE) {
        if (d->state == S_DATA) {
            uint64_t n = d->left;
            if (n > inlen - i)
                n = inlen - i;
            if (n > out_cap - o)
                n = out_cap - o;
            if (n == 0)
                break;
            memcpy(out + o, in + i, (size_t)n);
            i += (size_t)n;
            o += (size_t)n;
            d->left -= n;
            d->total += n;
            if (d->left == 0)
                d->state = d->chunked ? S_DATA_CR : S_DONE;
            continue;
        }
        if (i == inlen)
            break;
        uint8_t c = in[i++];
        switch (d->state) {
        case S_SIZE0:
        case S_SIZE: {
            int h = hex_value(c);
            if (h >= 0) {
                if (d->left > (UINT64_MAX >> 4)) {
                    rc = SPRY_ETOOBIG;
                    goto out;
                }
                d->left = d->left << 4 | (uint64_t)h;
                d->state = S_SIZE;
                break;
            }
            if (d->state == S_SIZE0) {
                rc = SPRY_EMALFORMED;
                goto out;
            }
            if (d->left > d->max - d->total) {
                rc = SPRY_ETOOBIG; /* said before its data is read */
                goto out;
            }
            if (c == '\r')
                d->state = S_SIZE_LF;
            else if (c == ';' || c == ' ' || c == '\t')
                d->state = S_EXT;
            else {
                rc = SPRY_EMALFORMED;
                goto out;
            }
            break;
        }
        case S_EXT:
            if (c == '\r')
                d->state = S_SIZE_LF;
            else if (ctl(c)) {
                rc = SPRY_EMALFORMED;
                goto out;
            }
            break;
        case S_SIZE_LF:
            if (c != '\n') {
                rc = SPRY_EMALFORMED;
                goto out;
            }
            d->line = 0;
            d->state = d->left == 0 ? S_TRAILER0 : S_DATA;
            continue;
        case S_DATA_CR:
            if (c != '\r') {
                rc = SPRY_EMALFORMED;
                goto out;
            }
            d->state = S_DATA_LF;
            break;
        case S_DATA_LF:
            if (c != '\n') {
                rc = SPRY_EMALFORMED;
                goto out;
            }
            d->line = 0;
            d->state = S_SIZE0;
            continue;
        case S_TRAILER0:
            if (c == '\r') {
                d->state = S_END_LF;
                break;
            }
            if (!tchar(c)) { /* an empty name, or obs-fold */
                rc = SPRY_EMALFORMED;
                goto out;
            }
            d->state = S_TRAILER;
            __attribute__((fallthrough)); /* the byte is the name's first */
        case S_TRAILER:
            if (++d->trailer > TRAILER_MAX) {
                rc = SPRY_EMALFORMED;
                goto out;
            }
            if (c == ':') {
                d->state = S_TVALUE0;
                rc = keep(d, 0);
                if (d->trailers != NULL)
                    d->value_at = d->trailers->len;
            } else if (tchar(c)) {
                rc = keep(d, c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c);
            } else {
                rc = SPRY_EMALFORMED;
            }
            if (rc != 0)
                goto out;
            break;
        case S_TVALUE0:
        case S_TVALUE:
            if (c == '\r') {
                if (d->trailers != NULL) {
                    /* Trailing whitespace is not part of the value. */
                    struct spry_buf *t = d->trailers;
                    while (t->len > d->value_at &&
                           (t->data[t->len - 1] == ' ' || t->data[t->len - 1] == '\t'))
                        t->len--;
                    if ((rc = keep(d, 0)) != 0)
                        goto out;
                }
                d->state = S_TRAILER_LF;
                break;
            }
            if (ctl(c) || ++d->trailer > TRAILER_MAX) {
                rc = SPRY_EMALFORMED;
                goto out;
            }
            if (d->state == S_TVALUE0 && (c == ' ' || c == '\t'))
                break;
            d->state = S_TVALUE;
            if ((rc = keep(d, c)) != 0)
                goto out;
            break;
        case S_TRAILER_LF:
            if (c != '\n' || ++d->trailer > TRAILER_MAX) {
                rc = SPRY_EMALFORMED;
                goto out;
            }
            d->state = S_TRAILER0;
            continue;
        case S_END_LF:
            if (c != '\n') {
                rc = SPRY_EMALFORMED;
                goto out;
            }
            d->state = S_DONE;
            continue;
        default:
            rc = SPRY_EMALFORMED;
            goto out;
        }
        if (d->state < S_TRAILER0 && ++d->line > CHUNK_LINE_MAX) {
            rc = SPRY_EMALFORMED;
            goto out;
        }
    }
    if (d->state == S_DONE)
        rc = BODY_DONE;
out:
    *used = i;
    *produced = o;
    return rc;
}

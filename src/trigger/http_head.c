/*
 * The raw HTTP/1 request head scanner (the rules are listed in http_head.h).
 *
 * One pass, line by line: memchr finds each LF, then the line's bytes are
 * looked at once for control characters. Nothing is copied or allocated;
 * the cost is a read of the head, which the parser reads anyway.
 */
#include "trigger/http_head.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static enum head_state reject(struct head_verdict *v, int status, const char *why)
{
    v->status = status;
    v->why = why;
    return HEAD_REJECT;
}

static bool name_is(const char *name, size_t len, const char *want)
{
    size_t wl = strlen(want);
    return len == wl && strncasecmp(name, want, wl) == 0;
}

/* The line's control characters: HT anywhere, CR only as its last byte
 * (before the LF, or at the end of the buffer when the LF has not come). */
static bool line_chars_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 0x20 && c != 0x7f) || c == '\t')
            continue;
        if (c == '\r' && i + 1 == n)
            continue;
        return false;
    }
    return true;
}

static void request_line_words(const char *s, size_t n, size_t at, struct head_verdict *v)
{
    const char *sp = memchr(s, ' ', n);
    v->method_at = at;
    v->method_len = sp ? (size_t)(sp - s) : n;
    v->target_at = at + v->method_len + (sp ? 1 : 0);
    const char *t = s + (v->target_at - at), *end = s + n;
    const char *sp2 = memchr(t, ' ', (size_t)(end - t));
    v->target_len = (size_t)((sp2 ? sp2 : end) - t);
}

/* Framing fields seen so far in the head. */
struct framing {
    const char *length; /* the first Content-Length value, OWS trimmed */
    size_t length_len;
    bool chunked; /* a Transfer-Encoding field was seen */
};

/* One field line (no CRLF): the framing rules. A line without a colon is
 * left to h2o's parser, which rejects it. */
static enum head_state field_line(const char *s, size_t n, struct framing *f,
                                  struct head_verdict *v)
{
    const char *colon = memchr(s, ':', n);
    if (colon == NULL)
        return HEAD_PARTIAL;
    size_t nl = (size_t)(colon - s);
    const char *val = colon + 1, *end = s + n;
    while (val < end && (*val == ' ' || *val == '\t'))
        val++;
    while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vl = (size_t)(end - val);
    if (name_is(s, nl, "content-length")) {
        if (f->chunked)
            return reject(v, 400, "Content-Length with Transfer-Encoding\n");
        if (f->length != NULL && (f->length_len != vl || memcmp(f->length, val, vl) != 0))
            return reject(v, 400, "differing Content-Length fields\n");
        f->length = val;
        f->length_len = vl;
    } else if (name_is(s, nl, "transfer-encoding")) {
        if (f->length != NULL)
            return reject(v, 400, "Content-Length with Transfer-Encoding\n");
        if (f->chunked)
            return reject(v, 400, "repeated Transfer-Encoding field\n");
        f->chunked = true;
    }
    return HEAD_PARTIAL;
}

enum head_state head_scan(const char *buf, size_t len, const struct http_limits *l,
                          struct head_verdict *v)
{
    memset(v, 0, sizeof(*v));
    struct framing f = {NULL, 0, false};
    size_t p = 0, lines = 0, fields = 0, block = 0;
    if (len == 0) /* buf may be NULL then (an h2o buffer not yet allocated) */
        return HEAD_PARTIAL;
    if (len >= 2 && buf[0] == '\r' && buf[1] == '\n')
        p = 2;
    for (;; lines++) {
        const char *s = buf + p;
        const char *lf = memchr(s, '\n', len - p);
        size_t span = lf ? (size_t)(lf - s) : len - p; /* bytes before the LF */
        if (!line_chars_ok(s, span))
            return reject(v, 400, "control character in the request head\n");
        if (lf == NULL) {
            /* An incomplete line: bounded like a whole one (a CR at its end
             * is the start of the CRLF, so every prefix of a complete head
             * is partial). */
            size_t part = span - (span > 0 && s[span - 1] == '\r');
            if (lines == 0 && part > l->max_request_line)
                return reject(v, 414, "request line too long\n");
            if (lines > 0 && part > l->max_header_line)
                return reject(v, 431, "field too long\n");
            if (lines > 0 && block + part > l->max_header_block)
                return reject(v, 431, "header too large\n");
            return HEAD_PARTIAL;
        }
        if (span == 0 || s[span - 1] != '\r')
            return reject(v, 400, "bare LF in the request head\n");
        size_t n = span - 1; /* the line without CRLF */
        if (lines == 0) {
            if (n > l->max_request_line)
                return reject(v, 414, "request line too long\n");
            if (n == 0)
                return reject(v, 400, "empty request line\n");
            request_line_words(s, n, p, v);
        } else if (n == 0) {
            v->length = p + span + 1;
            return HEAD_COMPLETE;
        } else {
            if (s[0] == ' ' || s[0] == '\t')
                return reject(v, 400, "obsolete line folding\n");
            if (++fields > l->max_header_fields)
                return reject(v, 431, "too many fields\n");
            if (n > l->max_header_line)
                return reject(v, 431, "field too long\n");
            block += n + 2;
            if (block > l->max_header_block)
                return reject(v, 431, "header too large\n");
            if (field_line(s, n, &f, v) == HEAD_REJECT)
                return HEAD_REJECT;
        }
        p += span + 1;
    }
}

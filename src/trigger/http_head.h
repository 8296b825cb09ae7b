/*
 * The raw HTTP/1 request head, checked byte by byte: the framing rules h2o
 * 2.2's parser (picohttpparser) does not enforce, and our size limits, on
 * the bytes as they came off the connection. No h2o here: the scanner is a
 * pure function, so it is fuzzed on its own (fuzz/fuzz_http_head.c).
 *
 * Callers (docs/http.md, "Request framing"): the accept path runs it on a
 * connection's first head and the connection's guard on every later head,
 * before h2o sees them, so that too many fields is 431 and not h2o's own
 * 400; the request handler runs it again on every HTTP/1 request's head,
 * which h2o keeps at the start of the connection's input buffer until the
 * response is done.
 */
#ifndef SPRY_TRIGGER_HTTP_HEAD_H
#define SPRY_TRIGGER_HTTP_HEAD_H

#include "trigger/http_server.h"

#include <stddef.h>

enum head_state {
    HEAD_PARTIAL,  /* no rule broken yet; the head is not complete */
    HEAD_COMPLETE, /* a whole head that breaks no rule: `length` is set */
    HEAD_REJECT,   /* answer `status` (400, 414 or 431) and close */
};

struct head_verdict {
    int status;        /* HEAD_REJECT */
    const char *why;   /* HEAD_REJECT: a line for the response body (static) */
    size_t length;     /* HEAD_COMPLETE: bytes up to and including the empty line */
    size_t method_at;  /* HEAD_COMPLETE: the request line's first two words */
    size_t method_len; /* (offsets into the buffer) */
    size_t target_at;
    size_t target_len;
};

/*
 * Scans buf[0..len) as the start of a request head (a leading CRLF is
 * skipped, as picohttpparser does). Rules, each with its status:
 *  - every line ends in CRLF: a bare LF is 400 (RFC 9112 section 2.2 lets
 *    a recipient accept it; we do not, since a front end may not agree);
 *  - no control character but HT, and CR only before LF: 400 (h2o's
 *    parser rejects these too; we say so early);
 *  - no obs-fold continuation line (RFC 9112 section 5.2): 400;
 *  - Content-Length with Transfer-Encoding, Content-Length fields with
 *    different values, or more than one Transfer-Encoding field: 400 (RFC
 *    9112 section 6.3, rules 3 and 5; we do not let one side win);
 *  - request line over limits->max_request_line: 414; a field line over
 *    max_header_line, more than max_header_fields fields, or all field
 *    lines (with their CRLFs) over max_header_block: 431. These apply to an
 *    incomplete head as well, so a caller buffering one stays bounded.
 * The first broken rule, in byte order, decides. Writes *v in every case.
 */
enum head_state head_scan(const char *buf, size_t len, const struct http_limits *limits,
                          struct head_verdict *v);

#endif

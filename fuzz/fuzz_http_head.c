/*
 * libFuzzer harness for the raw HTTP/1 head scanner (src/trigger/http_head.c).
 * The first byte picks the limits (the defaults, or small ones so that
 * every limit is reached); the rest is the head. Checks: a verdict is one
 * of the three states with its fields in range; a complete head ends in
 * CRLF CRLF (or is the bare request line's CRLF CRLF) inside the input and
 * its method and target lie inside it; every prefix of a complete head is
 * partial (the accept path must never reject what a later read completes).
 */
#include "trigger/http_head.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *buf, size_t len, const struct http_limits *l)
{
    struct head_verdict v;
    switch (head_scan(buf, len, l, &v)) {
    case HEAD_PARTIAL:
        break;
    case HEAD_REJECT:
        if (v.why == NULL || (v.status != 400 && v.status != 414 && v.status != 431))
            __builtin_trap();
        break;
    case HEAD_COMPLETE:
        if (v.length < 4 || v.length > len || memcmp(buf + v.length - 4, "\r\n\r\n", 4) != 0)
            __builtin_trap();
        if (v.method_at + v.method_len > v.length || v.target_at + v.target_len > v.length)
            __builtin_trap();
        for (size_t n = v.length - 1;; n = n / 2) {
            struct head_verdict p;
            if (head_scan(buf, n, l, &p) != HEAD_PARTIAL)
                __builtin_trap();
            if (n == 0)
                break;
        }
        break;
    default:
        __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct http_limits l;
    http_limits_init(&l);
    if (data[0] & 1) {
        l.max_request_line = 1 + (data[0] >> 5);
        l.max_header_line = 1 + ((data[0] >> 3) & 3) * 4;
        l.max_header_block = 8 + ((data[0] >> 1) & 3) * 8;
        l.max_header_fields = (data[0] >> 1) & 7;
    }
    check((const char *)data + 1, size - 1, &l);
    return 0;
}

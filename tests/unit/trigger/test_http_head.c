/*
 * The raw HTTP/1 head scanner (src/trigger/http_head.c): each rule on its
 * own, incomplete heads, and the byte-order precedence of the rules. The
 * end-to-end behaviour (status, close) is in test_http_server.c.
 */
#include "harness/test.h"

#include "trigger/http_head.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct http_limits limits(void)
{
    struct http_limits l;
    http_limits_init(&l);
    return l;
}

/* The state for a C string; *v gets the verdict. */
static enum head_state scan(const char *head, struct head_verdict *v)
{
    struct http_limits l = limits();
    return head_scan(head, strlen(head), &l, v);
}

/* The status a head is rejected with, 0 if complete, -1 if partial. */
static int verdict_of(const char *head)
{
    struct head_verdict v;
    switch (scan(head, &v)) {
    case HEAD_COMPLETE:
        return 0;
    case HEAD_PARTIAL:
        return -1;
    case HEAD_REJECT:
        return v.status;
    }
    return -2;
}

TEST(trigger_http_head, complete_head_reports_length_method_and_target)
{
    const char head[] = "POST /a/b?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
    struct head_verdict v;
    ASSERT_EQ_INT(scan(head, &v), HEAD_COMPLETE);
    ASSERT_EQ_UINT(v.length, sizeof(head) - 1 - 3);
    ASSERT_EQ_UINT(v.method_at, 0);
    ASSERT_EQ_UINT(v.method_len, 4);
    ASSERT_EQ_UINT(v.target_at, 5);
    ASSERT_EQ_UINT(v.target_len, 8);
    /* One leading CRLF is skipped, as picohttpparser does. */
    ASSERT_EQ_INT(scan("\r\nGET / HTTP/1.1\r\n\r\n", &v), HEAD_COMPLETE);
    ASSERT_EQ_UINT(v.method_at, 2);
    ASSERT_EQ_UINT(v.length, 20);
}

TEST(trigger_http_head, incomplete_heads_are_partial_at_every_length)
{
    const char head[] = "GET /x HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\r\n";
    struct http_limits l = limits();
    struct head_verdict v;
    ASSERT_EQ_INT(head_scan(NULL, 0, &l, &v), HEAD_PARTIAL);
    for (size_t n = 0; n < sizeof(head) - 1; n++)
        ASSERT_EQ_INT(head_scan(head, n, &l, &v), HEAD_PARTIAL);
    ASSERT_EQ_INT(head_scan(head, sizeof(head) - 1, &l, &v), HEAD_COMPLETE);
}

TEST(trigger_http_head, bare_lf_anywhere_is_400)
{
    ASSERT_EQ_INT(verdict_of("GET / HTTP/1.1\nHost: a\r\n\r\n"), 400);
    ASSERT_EQ_INT(verdict_of("GET / HTTP/1.1\r\nHost: a\n\r\n"), 400);
    ASSERT_EQ_INT(verdict_of("GET / HTTP/1.1\r\nHost: a\r\n\n"), 400);
    ASSERT_EQ_INT(verdict_of("\nGET / HTTP/1.1\r\n\r\n"), 400);
    /* A bare LF inside a value splits it into two lines for picohttpparser. */
    ASSERT_EQ_INT(verdict_of("GET / HTTP/1.1\r\nX-A: one\nX-B: two\r\n\r\n"), 400);
}

TEST(trigger_http_head, control_characters_and_bare_cr_are_400)
{
    ASSERT_EQ_INT(verdict_of("GET / HTTP/1.1\r\nX-A: one\rtwo\r\n\r\n"), 400);
    ASSERT_EQ_INT(verdict_of("GET / HTTP/1.1\r\nX-A: o\x01ne\r\n\r\n"), 400);
    ASSERT_EQ_INT(verdict_of("GET / HTTP/1.1\r\nX-A: o\x7fne\r\n\r\n"), 400);
    ASSERT_EQ_INT(verdict_of("\x16\x03\x01"), 400); /* a TLS hello on the plain port */
    ASSERT_EQ_INT(verdict_of("GET / HTTP/1.1\r\nX-A: \tone\xff\r\n\r\n"), 0);
    static const char nul[] = "GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n";
    struct http_limits l = limits();
    struct head_verdict v;
    ASSERT_EQ_INT(head_scan(nul, sizeof(nul) - 1, &l, &v), HEAD_REJECT);
    /* A CR at the very end may be followed by its LF. */
    ASSERT_EQ_INT(verdict_of("GET / HTTP/1.1\r"), -1);
    ASSERT_EQ_INT(verdict_of("GET / HTTP/1.1\r\nHost: a\r"), -1);
}

TEST(trigger_http_head, obs_fold_is_400)
{
    ASSERT_EQ_INT(verdict_of("GET / HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n"), 400);
    ASSERT_EQ_INT(verdict_of("GET / HTTP/1.1\r\nX-A: one\r\n\ttwo\r\n\r\n"), 400);
}

TEST(trigger_http_head, content_length_with_transfer_encoding_is_400_in_either_order)
{
    ASSERT_EQ_INT(verdict_of("POST / HTTP/1.1\r\nContent-Length: 3\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"),
                  400);
    ASSERT_EQ_INT(verdict_of("POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n"
                             "CONTENT-LENGTH: 3\r\n\r\n"),
                  400);
    ASSERT_EQ_INT(verdict_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"),
                  400);
    ASSERT_EQ_INT(verdict_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), 0);
    /* Names that only start like a framing field are other fields. */
    ASSERT_EQ_INT(verdict_of("POST / HTTP/1.1\r\nContent-Length-X: 3\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"),
                  0);
}

TEST(trigger_http_head, repeated_content_length_must_agree)
{
    ASSERT_EQ_INT(verdict_of("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\n"),
                  400);
    ASSERT_EQ_INT(verdict_of("POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length:3 \r\n\r\n"),
                  0);
    ASSERT_EQ_INT(verdict_of("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 03\r\n\r\n"),
                  400);
}

static char *head_with_fields(int n)
{
    char *s = malloc(64 + (size_t)n * 16);
    int k = sprintf(s, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < n; i++)
        k += sprintf(s + k, "X-F%d: v\r\n", i);
    sprintf(s + k, "\r\n");
    return s;
}

TEST(trigger_http_head, field_count_limit_is_431_even_before_the_head_ends)
{
    char *ok = head_with_fields(100), *over = head_with_fields(101);
    ASSERT_EQ_INT(verdict_of(ok), 0);
    ASSERT_EQ_INT(verdict_of(over), 431);
    over[strlen(over) - 2] = '\0'; /* no empty line yet */
    ASSERT_EQ_INT(verdict_of(over), 431);
    free(ok);
    free(over);
}

TEST(trigger_http_head, size_limits_apply_to_whole_and_incomplete_lines)
{
    struct http_limits l = limits();
    l.max_request_line = 20;
    l.max_header_line = 10;
    l.max_header_block = 30;
    struct head_verdict v;
    const char *line = "GET /0123456789abcdef HTTP/1.1\r\n\r\n";
    ASSERT_EQ_INT(head_scan(line, strlen(line), &l, &v), HEAD_REJECT);
    ASSERT_EQ_INT(v.status, 414);
    ASSERT_EQ_INT(head_scan(line, 21, &l, &v), HEAD_REJECT); /* no LF yet */
    ASSERT_EQ_INT(v.status, 414);
    ASSERT_EQ_INT(head_scan(line, 20, &l, &v), HEAD_PARTIAL);
    const char *field = "GET / HTTP/1.1\r\nX-Long: 12345\r\n\r\n";
    ASSERT_EQ_INT(head_scan(field, strlen(field), &l, &v), HEAD_REJECT);
    ASSERT_EQ_INT(v.status, 431);
    ASSERT_EQ_INT(head_scan(field, 27, &l, &v), HEAD_REJECT);
    ASSERT_EQ_INT(v.status, 431);
    const char *block = "GET / HTTP/1.1\r\nA: 1234\r\nB: 1234\r\nC: 1234\r\nD: 1\r\n\r\n";
    ASSERT_EQ_INT(head_scan(block, strlen(block), &l, &v), HEAD_REJECT);
    ASSERT_EQ_INT(v.status, 431);
    ASSERT_EQ_STR(v.why, "header too large\n");
}

TEST(trigger_http_head, first_broken_rule_in_byte_order_decides)
{
    /* A bare LF before the 101st field: 400, not 431. */
    char *over = head_with_fields(101);
    char *lf = strstr(over, "X-F3: v\r\n");
    lf[7] = '\n';
    lf[8] = 'Y';
    ASSERT_EQ_INT(verdict_of(over), 400);
    free(over);
    ASSERT_EQ_INT(verdict_of("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\n\r\n"),
                  400);
}

TEST(trigger_http_head, head_at_the_block_limit_with_its_last_cr_alone_is_partial)
{
    struct http_limits l = limits();
    l.max_header_block = 9; /* "A: 1234\r\n" */
    const char head[] = "GET / HTTP/1.1\r\nA: 1234\r\n\r\n";
    struct head_verdict v;
    ASSERT_EQ_INT(head_scan(head, sizeof(head) - 2, &l, &v), HEAD_PARTIAL);
    ASSERT_EQ_INT(head_scan(head, sizeof(head) - 1, &l, &v), HEAD_COMPLETE);
}

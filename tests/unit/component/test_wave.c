/*
 * WAVE (component/wave.h): calls parsed with a function's types, values
 * written back. Expected texts are written by hand from the WAVE rules
 * (wasm-tools crates/wasm-wave README.md and writer.rs); the hostile-input
 * tests check that every malformed text is an error with a column, never a
 * crash, and that what parses writes back to a fixed point.
 */
#include "harness/test.h"

#include "base/alloc.h"
#include "component/wave.h"
#include "component/wit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char wave_wit[] =
    "record point { x: s32, y: s32 }\n"
    "record opts { name: string, size: option<u32> }\n"
    "record all-opt { a: option<u8> }\n"
    "flags perms { read, write, exec }\n"
    "enum color { red, green, blue, %ok }\n"
    "variant shape { none, circle(f32), rect(point), label(string) }\n"
    "resource thing;\n"
    "nums: func(a: bool, b: s8, c: u8, d: s16, e: u16, f: s32, g: u32, h: s64, i: u64);\n"
    "floats: func(a: f32, b: f64);\n"
    "text: func(c: char, s: string);\n"
    "lists: func(a: list<u8>, b: list<string>, c: list<list<s64>>, d: list<f32>);\n"
    "records: func(p: point, o: opts, e: all-opt);\n"
    "tuples: func(t: tuple<u8, string, tuple<bool>>);\n"
    "cases: func(p: perms, c: color, s: shape);\n"
    "options: func(a: option<u32>, b: option<option<string>>, c: option<result<u8>>);\n"
    "results: func(a: result, b: result<u32>, c: result<_, string>, d: result<string, u8>,\n"
    "              e: result<option<u8>>);\n"
    "nothing: func();\n"
    "takes: func(t: borrow<thing>);\n";

static struct {
    struct spry_arena arena;
    struct wit_host host;
} W;

static void wave_setup(void)
{
    static const struct chost_resource res[] = {{"thing", NULL}};
    static struct chost_iface iface = {
        .name = "t:wave/f", .version = "0.1.0", .wit = wave_wit, .resources = res, .nresources = 1};
    spry_arena_init(&W.arena, 64u << 20);
    struct spry_report r;
    spry_report_init(&r);
    int rc = wit_parse_host(&iface, 1, &W.arena, &W.host, &r);
    if (rc != 0)
        fprintf(stderr, "%s\n", r.message);
    ASSERT_OK(rc);
}

static const struct cfunctype *func_type(const char *name, size_t len)
{
    const struct wit_iface *w = &W.host.ifaces[0];
    for (size_t i = 0; i < w->nfuncs; i++)
        if (strlen(w->funcs[i].name) == len && memcmp(w->funcs[i].name, name, len) == 0)
            return &w->funcs[i].type;
    return NULL;
}

/* Parses `call` of one of wave_wit's functions; on success writes it back
 * as `name(arg, arg)` into out. Returns the parse's code; report filled. */
static int reparse(const char *call, size_t len, struct spry_buf *out, struct spry_report *r)
{
    struct wave_call head;
    int rc = wave_call_head(call, len, &head, r);
    if (rc != 0)
        return rc;
    const struct cfunctype *ft = func_type(head.name, head.name_len);
    if (ft == NULL)
        return spry_report_set(r, SPRY_ENOTFOUND, "no function");
    struct cval *args = NULL;
    rc = wave_call_args(call, len, &head, ft, &W.arena, &args, r);
    if (rc != 0)
        return rc;
    spry_buf_reset(out);
    ASSERT_OK(spry_buf_append(out, head.name, head.name_len));
    ASSERT_OK(spry_buf_append_byte(out, '('));
    for (uint32_t i = 0; i < ft->nparams; i++) {
        if (i != 0)
            ASSERT_OK(spry_buf_append_str(out, ", "));
        ASSERT_OK(wave_write_value(out, ft->params[i].type, &args[i]));
    }
    ASSERT_OK(spry_buf_append_byte(out, ')'));
    return 0;
}

/* call parses and writes back as want. */
static void check_canonical(const char *call, const char *want)
{
    struct spry_buf out;
    spry_buf_init(&out, 1 << 20);
    struct spry_report r;
    spry_report_init(&r);
    int rc = reparse(call, strlen(call), &out, &r);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", call, r.message);
    ASSERT_OK(rc);
    ASSERT_EQ_STR((const char *)out.data, want);
    spry_buf_fini(&out);
}

/* call fails with SPRY_EINVAL and a report holding `want`. */
static void check_rejected(const char *call, size_t len, const char *want)
{
    struct spry_buf out;
    spry_buf_init(&out, 1 << 20);
    struct spry_report r;
    spry_report_init(&r);
    int rc = reparse(call, len, &out, &r);
    if (rc != SPRY_EINVAL || strstr(r.message, want) == NULL)
        fprintf(stderr, "'%.*s': rc %d, report '%s', wanted '%s'\n", (int)len, call, rc, r.message,
                want);
    ASSERT_EQ_INT(rc, SPRY_EINVAL);
    ASSERT_NOT_NULL(strstr(r.message, want));
    ASSERT_TRUE(strncmp(r.message, "column ", 7) == 0);
    spry_buf_fini(&out);
}

#define REJECT(call, want) check_rejected(call, strlen(call), want)

TEST(wave, every_kind_reads_and_writes_back)
{
    wave_setup();
    check_canonical("nums(true, -128, 255, -32768, 65535, -2147483648, 4294967295, "
                    "-9223372036854775808, 18446744073709551615)",
                    "nums(true, -128, 255, -32768, 65535, -2147483648, 4294967295, "
                    "-9223372036854775808, 18446744073709551615)");
    check_canonical("nums(false,0,0,0,0,0,0,0,0)", "nums(false, 0, 0, 0, 0, 0, 0, 0, 0)");
    check_canonical("floats(0.1, 0.1)", "floats(0.1, 0.1)");
    check_canonical("floats(1.0, 1e-7)", "floats(1, 0.0000001)");
    check_canonical("floats(16777217, 1.5E+3)", "floats(16777216, 1500)");
    check_canonical("floats(3.4028235e38, -0.0)",
                    "floats(340282350000000000000000000000000000000, -0)");
    check_canonical("floats(nan, -inf)", "floats(nan, -inf)");
    check_canonical("floats(1e39, 1e400)", "floats(inf, inf)");
    check_canonical("text('\\u{7f}', \"tab\\there \\\"q\\\" it's \\u{1F600} \\u{9f}\")",
                    "text('\\u{7f}', \"tab\\there \\\"q\\\" it\\'s \xF0\x9F\x98\x80 \\u{9f}\")");
    check_canonical("text('\"', \"\")", "text('\\\"', \"\")");
    check_canonical("lists([1, 2, 3,], [\"a\"], [[], [-9223372036854775808, 1]], [0.5, -2])",
                    "lists([1, 2, 3], [\"a\"], [[], [-9223372036854775808, 1]], [0.5, -2])");
    check_canonical("records({y: 2, x: 1}, {name: \"n\"}, {:})",
                    "records({x: 1, y: 2}, {name: \"n\"}, {:})");
    check_canonical("records({x: 1, y: 2}, {name: \"n\", size: some(3)}, {a: 7})",
                    "records({x: 1, y: 2}, {name: \"n\", size: some(3)}, {a: some(7)})");
    check_canonical("tuples((1, \"s\", (true)))", "tuples((1, \"s\", (true)))");
    check_canonical("cases({}, %ok, %none)", "cases({}, %ok, %none)");
    check_canonical("cases({exec, read}, blue, rect({x: -1, y: 0}))",
                    "cases({read, exec}, blue, rect({x: -1, y: 0}))");
    check_canonical("cases({write}, red, circle(2.5))", "cases({write}, red, circle(2.5))");
    check_canonical("options(5, some(none), some(ok(1)))",
                    "options(some(5), some(none), some(ok(1)))");
    check_canonical("options(none, some(some(\"x\")))", "options(none, some(some(\"x\")), none)");
    check_canonical("options()", "options(none, none, none)");
    check_canonical("results(ok, 7, err(\"e\"), \"flat\", ok(none))",
                    "results(ok, ok(7), err(\"e\"), ok(\"flat\"), ok(none))");
    check_canonical("results(err, err, ok, err(255), err)", "results(err, err, ok, err(255), err)");
    check_canonical("nothing()", "nothing()");
    check_canonical(" nothing ( // a comment\n ) // end", "nothing()");
}

TEST(wave, results_and_types_that_cannot_be_printed)
{
    wave_setup();
    const struct cfunctype *nothing = func_type("nothing", 7);
    ASSERT_NOT_NULL(nothing);
    struct spry_buf out;
    spry_buf_init(&out, 64);
    ASSERT_OK(wave_write_result(&out, nothing, NULL));
    ASSERT_EQ_STR((const char *)out.data, "()"); /* as wasm-wave's DisplayFuncResults */
    const struct cfunctype *takes = func_type("takes", 5);
    ASSERT_NOT_NULL(takes);
    ASSERT_TRUE(!wave_type_printable(takes->params[0].type));
    ASSERT_TRUE(wave_type_printable(func_type("cases", 5)->params[2].type));
    struct cval h = {.kind = CT_BORROW};
    spry_buf_reset(&out);
    ASSERT_EQ_INT(wave_write_value(&out, takes->params[0].type, &h), SPRY_EINVAL);
    REJECT("takes(1)", "resource handle");
    /* A buffer too small for the value: its error, not an overflow. */
    struct spry_buf tiny;
    spry_buf_init(&tiny, 4);
    struct cval s = {.kind = CT_STRING, .of.str = {"longer than four", 16}};
    struct ctype st = {.kind = CT_STRING};
    ASSERT_EQ_INT(wave_write_value(&tiny, &st, &s), SPRY_ETOOBIG);
    spry_buf_fini(&tiny);
    spry_buf_fini(&out);
}

TEST(wave, ill_typed_and_malformed_calls_name_the_column)
{
    wave_setup();
    REJECT("nums(true, 128, 0, 0, 0, 0, 0, 0, 0)", "column 12: 128 is out of range for s8");
    REJECT("nums(true, -129, 0, 0, 0, 0, 0, 0, 0)", "out of range for s8");
    REJECT("nums(true, 0, -1, 0, 0, 0, 0, 0, 0)", "negative number for an unsigned type (u8)");
    REJECT("nums(true, 0, 0, 0, 0, 0, 0, 0, 18446744073709551616)", "out of range for u64");
    REJECT("nums(true, 0, 0, 0, 0, 0, 0, -9223372036854775809, 0)", "out of range for s64");
    REJECT("nums(true, 0, 0, 0, 0, 0, 0, 99999999999999999999999999, 0)", "out of range");
    REJECT("nums(true, 01, 0, 0, 0, 0, 0, 0, 0)", "after the number");
    REJECT("nums(true, 1e2, 0, 0, 0, 0, 0, 0, 0)", "expected an integer");
    REJECT("nums(True, 0, 0, 0, 0, 0, 0, 0, 0)", "true or false");
    REJECT("nums(%true, 0, 0, 0, 0, 0, 0, 0, 0)", "true or false");
    REJECT("floats(1., 2)", "after the number");
    REJECT("floats(.5, 2)", "a number (f32)");
    REJECT("floats(-nan, 2)", "-nan");
    REJECT("floats(infinity, 2)", "a number");
    REJECT("floats(0x10, 2)", "after the number");
    REJECT("text('', \"\")", "exactly one character");
    REJECT("text(''', \"\")", "exactly one character");
    REJECT("text('\n', \"\")", "\\n");
    REJECT("text('a', \"line\nbreak\")", "\\n");
    REJECT("text('a', \"\\u{}\")", "\\u wants {HEX}");
    REJECT("text('a', \"\\u{12\")", "\\u wants {HEX}");
    REJECT("text('a', \"\\u{FFFFFFFFFFFF}\")", "not a Unicode scalar value");
    REJECT("text('a', \"\\u{dfff}\")", "not a Unicode scalar value");
    REJECT("text('a', \"\\x41\")", "unknown escape");
    REJECT("text('a', \"\xc0\x80\")", "not UTF-8");         /* overlong */
    REJECT("text('a', \"\xed\xa0\x80\")", "not UTF-8");     /* a surrogate */
    REJECT("text('a', \"\xf4\x90\x80\x80\")", "not UTF-8"); /* past U+10FFFF */
    REJECT("text('a', \"\xe6\x97\")", "not UTF-8");         /* truncated */
    REJECT("text('a', \"\"\"\nx\n\"\"\")", "multiline");
    REJECT("lists([1 2], [], [], [])", "',' or ']'");
    REJECT("lists([,], [], [], [])", "an integer");
    REJECT("lists([256], [], [], [])", "out of range for u8");
    REJECT("lists([], [], [[1], [x]], [])", "an integer (s64)");
    REJECT("records({x: 1}, {name: \"n\"}, {:})", "lacks field 'y'");
    REJECT("records({x: 1, y: 2}, {size: 1}, {:})", "lacks field 'name'");
    REJECT("records({x: 1, y: 2, z: 3}, {name: \"n\"}, {:})", "no such field");
    REJECT("records({x: 1, x: 2}, {name: \"n\"}, {:})", "field given twice");
    REJECT("records({x 1, y: 2}, {name: \"n\"}, {:})", "':'");
    REJECT("records({}, {name: \"n\"}, {:})", "lacks field 'x'");
    REJECT("tuples((1, \"s\"))", "expected ','");
    REJECT("tuples((1, \"s\", (true), 4))", "')' after the tuple's 3 values");
    REJECT("tuples([1, \"s\", (true)])", "a tuple");
    REJECT("cases({read, read}, red, %none)", "flag given twice");
    REJECT("cases({bogus}, red, %none)", "no such flag");
    REJECT("cases({}, ok, %none)", "% prefix");
    REJECT("cases({}, red, none)", "% prefix");
    REJECT("cases({}, red, circle)", "payload");
    REJECT("cases({}, red, %none())", "no payload");
    REJECT("cases({}, red, square(1))", "no such variant case");
    REJECT("cases({}, red-, %none)", "an enum case");
    REJECT("cases({}, -red, %none)", "an enum case");
    REJECT("cases({}, RED, %none)", "no such enum case");
    REJECT("cases({}, rEd, %none)", "an enum case");
    REJECT("options(some(1)", "')'");
    REJECT("options(some 1)", "'(' and the case's payload");
    REJECT("options(1, \"x\")", "some(...) or none"); /* option<option<...>> is never flat */
    REJECT("options(1, none, 1)", "some(...) or none");
    REJECT("results(1, 1, ok, \"\", ok(none))", "ok or err");
    REJECT("results(ok(1), 1, ok, \"\", ok(none))", "no payload");
    REJECT("results(ok, 1, ok, \"\", 1)", "ok(...) or err(...)");
    REJECT("nothing(1)", "too many arguments");
    REJECT("nums()", "too few arguments: 0 given, the function takes 9 (missing 'a')");
    REJECT("nothing() x", "unexpected text after the call");
    REJECT("nothing", "'('");
    REJECT("", "a function name");
    REJECT("9nothing()", "a function name");
    REJECT("%()", "a function name");
    /* An embedded NUL is just a byte that is not WAVE. */
    check_rejected("nothing(\0)", 10, "column 9");
}

/* Every proper prefix of a valid call is an error (never a crash, never a
 * success), and so is every prefix with one byte replaced (mostly). */
TEST(wave, prefixes_of_valid_calls_are_errors)
{
    wave_setup();
    static const char *const calls[] = {
        "nums(true, -128, 255, -32768, 65535, -2147483648, 4294967295, 1, 2)",
        "text('\\u{1F600}', \"a\\\"b\\\\c\\u{0}\")",
        "lists([1], [\"\"], [[1, -2]], [nan, inf, -inf, 1.5e3])",
        "records({y: 2, x: 1}, {name: \"n\", size: 4}, {:})",
        "cases({exec, read}, %ok, rect({x: -1, y: 0}))",
        "results(ok, 7, err(\"e\"), \"flat\", ok(some(1)))",
        "tuples((1, \"s\", (true)))",
    };
    struct spry_buf out;
    spry_buf_init(&out, 1 << 20);
    for (size_t c = 0; c < sizeof calls / sizeof calls[0]; c++) {
        size_t n = strlen(calls[c]);
        struct spry_report r;
        spry_report_init(&r);
        ASSERT_OK(reparse(calls[c], n, &out, &r));
        for (size_t k = 0; k < n; k++) {
            spry_report_init(&r);
            int rc = reparse(calls[c], k, &out, &r);
            if (rc != SPRY_EINVAL)
                fprintf(stderr, "prefix %zu of %s: rc %d\n", k, calls[c], rc);
            ASSERT_EQ_INT(rc, SPRY_EINVAL);
        }
    }
    spry_buf_fini(&out);
}

/* Random mutations of valid calls (fixed seed): the parser returns 0 or
 * SPRY_EINVAL; what parses writes back to text that parses and writes
 * back the same (a fixed point). */
TEST(wave, mutated_calls_never_crash_and_round_trip)
{
    wave_setup();
    static const char *const calls[] = {
        "nums(true, -128, 255, -32768, 65535, -2147483648, 4294967295, 1, 2)",
        "floats(0.1, -1e300)",
        "text('x', \"a\\\"b\\\\c\\u{0} \xe2\x98\x83\")",
        "lists([1, 2], [\"\", \"z\"], [[1, -2], []], [nan, inf, -inf, 1.5e3])",
        "records({y: 2, x: 1}, {name: \"n\", size: 4}, {:})",
        "cases({exec, read}, %ok, rect({x: -1, y: 0}))",
        "options(some(1), some(some(\"q\")), some(err))",
        "results(ok, 7, err(\"e\"), \"flat\", ok(some(1)))",
        "tuples((1, \"s\", (true)))",
    };
    static const char alphabet[] =
        "()[]{},:%'\"\\-+.e0123456789 \nabcdefghijklmnopqrstuvwxyz/u\xff";
    uint64_t seed = 0x9e3779b97f4a7c15u;
    struct spry_buf out, again;
    spry_buf_init(&out, 1 << 20);
    spry_buf_init(&again, 1 << 20);
    char text[512];
    size_t parsed = 0;
    for (int iter = 0; iter < 20000; iter++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        const char *base = calls[seed % (sizeof calls / sizeof calls[0])];
        size_t n = strlen(base);
        memcpy(text, base, n);
        int edits = 1 + (int)((seed >> 8) % 3);
        for (int e = 0; e < edits; e++) {
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            size_t at = (size_t)(seed >> 16) % n;
            char ch = alphabet[(seed >> 40) % (sizeof alphabet - 1)];
            switch ((seed >> 32) % 3) {
            case 0: /* replace */
                text[at] = ch;
                break;
            case 1: /* delete */
                memmove(text + at, text + at + 1, n - at - 1);
                n--;
                break;
            default: /* insert */
                if (n + 1 < sizeof text) {
                    memmove(text + at + 1, text + at, n - at);
                    text[at] = ch;
                    n++;
                }
                break;
            }
        }
        struct spry_report r;
        spry_report_init(&r);
        int rc = reparse(text, n, &out, &r);
        if (rc == SPRY_ENOTFOUND)
            continue; /* a mutated function name */
        if (rc != 0 && rc != SPRY_EINVAL)
            fprintf(stderr, "'%.*s': rc %d\n", (int)n, text, rc);
        ASSERT_TRUE(rc == 0 || rc == SPRY_EINVAL);
        if (rc != 0) {
            ASSERT_TRUE(strncmp(r.message, "column ", 7) == 0);
            continue;
        }
        parsed++;
        spry_report_init(&r);
        rc = reparse((const char *)out.data, out.len, &again, &r);
        if (rc != 0)
            fprintf(stderr, "'%.*s' wrote '%s', which fails: %s\n", (int)n, text,
                    (const char *)out.data, r.message);
        ASSERT_OK(rc);
        ASSERT_EQ_STR((const char *)again.data, (const char *)out.data);
    }
    ASSERT_GT_INT((long long)parsed, 100); /* the mutations also hit valid texts */
    spry_buf_fini(&out);
    spry_buf_fini(&again);
}

TEST(wave, long_inputs_are_bounded_by_the_arena)
{
    wave_setup();
    /* A 1 MiB string parses; a list of 200,000 strings in a 1 MiB arena
     * runs out of arena (SPRY_ENOMEM or SPRY_ETOOBIG), without a crash. */
    size_t n = 1 << 20;
    char *call = spry_malloc(n + 64);
    ASSERT_NOT_NULL(call);
    size_t k = (size_t)sprintf(call, "text('a', \"");
    memset(call + k, 'x', n);
    k += n;
    k += (size_t)sprintf(call + k, "\")");
    struct wave_call head;
    struct spry_report r;
    spry_report_init(&r);
    ASSERT_OK(wave_call_head(call, k, &head, &r));
    struct cval *args;
    ASSERT_OK(wave_call_args(call, k, &head, func_type("text", 4), &W.arena, &args, &r));
    ASSERT_EQ_UINT(args[1].of.str.len, n);
    k = (size_t)sprintf(call, "lists([], [");
    while (k + 8 < n) {
        memcpy(call + k, "\"ab\", ", 6);
        k += 6;
    }
    k += (size_t)sprintf(call + k, "], [], [])");
    struct spry_arena small;
    spry_arena_init(&small, 1 << 20);
    spry_report_init(&r);
    ASSERT_OK(wave_call_head(call, k, &head, &r));
    int rc = wave_call_args(call, k, &head, func_type("lists", 5), &small, &args, &r);
    ASSERT_TRUE(rc == SPRY_ENOMEM || rc == SPRY_ETOOBIG);
    spry_arena_fini(&small);
    /* Deep nesting is bounded by the type: list<list<s64>> takes two levels. */
    spry_report_init(&r);
    ASSERT_EQ_INT(
        wave_parse_value("[[[1]]]", 7, func_type("lists", 5)->params[2].type, &W.arena, args, &r),
        SPRY_EINVAL);
    spry_free(call);
}

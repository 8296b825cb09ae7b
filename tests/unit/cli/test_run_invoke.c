/*
 * spry run --invoke on a component: a WAVE call parsed with the export's
 * types, the result printed in WAVE (as wasmtime run --invoke does).
 *
 * The component is the canonical-ABI guest's exported interface alone
 * (tests/components/abi, world `exports` of wit-exports/, built by
 * scripts/build-abi-guest.sh as abi-exports.wasm). Every expected output
 * below is worked out by hand from what tests/components/abi/README.md
 * says each export returns ("What the exports return"), not taken from a
 * run.
 */
#include "harness/test.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct outcome {
    int status;
    char out[16384]; /* stdout */
    char err[16384]; /* stderr */
};

static void read_into(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t got;
    while (n + 1 < cap && (got = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)got;
    buf[n] = '\0';
}

/* Runs build/spry with argv (NULL-terminated, after "spry"); stdout and
 * stderr kept apart. Output beyond the buffers is not expected here. */
static void spry(struct outcome *o, const char *const *argv)
{
    const char *args[32];
    size_t n = 0;
    args[n++] = test_build_path("spry");
    for (; argv[n - 1] != NULL && n < 31; n++)
        args[n] = argv[n - 1];
    args[n] = NULL;
    char outp[4200], errp[4200];
    snprintf(outp, sizeof outp, "%s/stdout", test_tmpdir());
    snprintf(errp, sizeof errp, "%s/stderr", test_tmpdir());
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        int fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
            _exit(127);
        execv(args[0], (char *const *)args);
        _exit(127);
    }
    int st;
    ASSERT_EQ_INT(waitpid(pid, &st, 0), pid);
    o->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    int fd = open(outp, O_RDONLY);
    ASSERT_TRUE(fd >= 0);
    read_into(fd, o->out, sizeof o->out);
    close(fd);
    fd = open(errp, O_RDONLY);
    ASSERT_TRUE(fd >= 0);
    read_into(fd, o->err, sizeof o->err);
    close(fd);
}

static const char *abi_exports(void)
{
    const char *path = test_build_path("components/abi/abi-exports.wasm");
    if (access(path, R_OK) != 0)
        test_skip("%s is not built (scripts/build-abi-guest.sh BUILD needs node >= 20.19 and "
                  "npm; make test builds it when they are there)",
                  path);
    return path;
}

/* --invoke CALL on the component: exit 0, stdout = WANT and a newline. */
static void check_call(const char *call, const char *want)
{
    struct outcome o;
    const char *argv[] = {"run", "--invoke", call, abi_exports(), NULL};
    spry(&o, argv);
    char line[8192];
    snprintf(line, sizeof line, "%s\n", want);
    if (o.status != 0 || strcmp(o.out, line) != 0)
        fprintf(stderr, "--invoke '%s': status %d, stderr: %s", call, o.status, o.err);
    ASSERT_EQ_STR(o.out, line);
    ASSERT_EQ_INT(o.status, 0);
    ASSERT_EQ_STR(o.err, "");
}

/* --invoke CALL: exit 2, nothing on stdout, one line on stderr holding
 * every string of `want` (NULL-terminated). */
static void check_usage_error(const char *call, const char *const *want)
{
    struct outcome o;
    const char *argv[] = {"run", "--invoke", call, abi_exports(), NULL};
    spry(&o, argv);
    if (o.status != 2)
        fprintf(stderr, "--invoke '%s': stdout %s stderr %s", call, o.out, o.err);
    ASSERT_EQ_INT(o.status, 2);
    ASSERT_EQ_STR(o.out, "");
    ASSERT_NOT_NULL(strstr(o.err, "--invoke '"));
    for (size_t i = 0; want[i] != NULL; i++) {
        if (strstr(o.err, want[i]) == NULL)
            fprintf(stderr, "--invoke '%s': stderr lacks '%s': %s", call, want[i], o.err);
        ASSERT_NOT_NULL(strstr(o.err, want[i]));
    }
    if (strchr(call, '\n') == NULL)
        ASSERT_EQ_STR(strchr(o.err, '\n'), "\n"); /* one line */
}

#define ERR(call, ...) check_usage_error(call, (const char *const[]){__VA_ARGS__, NULL})

TEST(cli_invoke, scalars_record_bool_integers_floats_char)
{
    /* echo-scalars: b negated, each integer + 1 wrapping in its type, the
     * floats negated, c unchanged. */
    check_call("echo-scalars(false, 127, 255, 32767, 65535, 2147483647, 4294967295, "
               "9223372036854775807, 18446744073709551615, 1.5, -0.25, 'x')",
               "{b: true, v-s8: -128, v-u8: 0, v-s16: -32768, v-u16: 0, v-s32: -2147483648, "
               "v-u32: 0, v-s64: -9223372036854775808, v-u64: 0, v-f32: -1.5, v-f64: 0.25, "
               "c: 'x'}");
    check_call("echo-scalars(true, -128, 0, -32768, 0, -2147483648, 0, -9223372036854775808, 0, "
               "0.1, 1e21, '\\u{1F600}')",
               "{b: false, v-s8: -127, v-u8: 1, v-s16: -32767, v-u16: 1, v-s32: -2147483647, "
               "v-u32: 1, v-s64: -9223372036854775807, v-u64: 1, v-f32: -0.1, "
               "v-f64: -1000000000000000000000, c: '\xF0\x9F\x98\x80'}");
    /* Chars that must be escaped come back escaped. */
    check_call("echo-scalars(true, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\\'')",
               "{b: false, v-s8: 1, v-u8: 1, v-s16: 1, v-u16: 1, v-s32: 1, v-u32: 1, v-s64: 1, "
               "v-u64: 1, v-f32: -0, v-f64: -0, c: '\\''}");
}

TEST(cli_invoke, float_sum_nan_and_infinity)
{
    /* The sum of 1 - 2 + 3 - 4 + 5 - 6 + 7 - 8 + 0.5 + 0.25 + 10 + ... + 16. */
    check_call("sum-many(1, -2, 3, -4, 5, -6, 7, -8, 0.5, 0.25, 10, 11, 12, 13, 14, 15, 16)",
               "87.75");
    check_call("sum-many(0, 0, 0, 0, 0, 0, 0, 0, inf, 1, 0, 0, 0, 0, 0, 0, 0)", "inf");
    check_call("sum-many(0, 0, 0, 0, 0, 0, 0, 0, 0, -inf, 0, 0, 0, 0, 0, 0, 0)", "-inf");
    check_call("sum-many(0, 0, 0, 0, 0, 0, 0, 0, nan, 0, 0, 0, 0, 0, 0, 0, 0)", "nan");
}

TEST(cli_invoke, strings_lists_and_tuples)
{
    /* (s + "!", code points of s, l reversed) */
    check_call(
        "echo-strings(\"h\xC3\xA9llo\", [\"\", \"a\", \"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\"])",
        "(\"h\xC3\xA9llo!\", 5, [\"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\", \"a\", \"\"])");
    check_call("echo-strings(\"a\\\"b\\\\c\\n\\t'\\u{1}\", [])",
               "(\"a\\\"b\\\\c\\n\\t\\'\\u{1}!\", 9, [])");
    check_call("echo-strings(\"\", [],)", "(\"!\", 0, [])");
    check_call("reverse-bytes([1, 2, 255])", "[255, 2, 1]");
    check_call("reverse-bytes([])", "[]");
    check_call("swap-tuple((200, \"s\", -0.5))", "(-0.5, \"s\", 200)");
}

TEST(cli_invoke, nested_records)
{
    check_call("echo-group({label: \"outer\", items: [{name: \"first\", tags: [\"x\", \"y\"], "
               "points: [{x: 1, y: -2}, {y: 4, x: -3}]}]})",
               "{label: \"outer\", items: [{name: \"first\", tags: [\"x\", \"y\"], "
               "points: [{x: 1, y: -2}, {x: -3, y: 4}]}]}");
    check_call("echo-group({items: [], label: \"z\",})", "{label: \"z\", items: []}");
    /* make-group(n): label g<n>, items i = 0..n-1 named item<i>, tags t0..t<i-1>,
     * points {i, 0}, {i, -1}, ..., {i, -(i-1)}. */
    check_call(
        "make-group(3)",
        "{label: \"g3\", items: [{name: \"item0\", tags: [], points: []}, "
        "{name: \"item1\", tags: [\"t0\"], points: [{x: 1, y: 0}]}, "
        "{name: \"item2\", tags: [\"t0\", \"t1\"], points: [{x: 2, y: 0}, {x: 2, y: -1}]}]}");
}

TEST(cli_invoke, flags_and_enums)
{
    /* The complements within 3 and 32 labels. */
    check_call("flip-flags({read}, {b00, b01, b02, b03, b04, b05, b06, b07, b08, b09, b10, b11, "
               "b12, b13, b14, b15})",
               "({write, exec}, {b16, b17, b18, b19, b20, b21, b22, b23, b24, b25, b26, b27, b28, "
               "b29, b30, b31})");
    check_call("flip-flags({exec, write, read,}, {b31})",
               "({}, {b00, b01, b02, b03, b04, b05, b06, b07, b08, b09, b10, b11, b12, b13, b14, "
               "b15, b16, b17, b18, b19, b20, b21, b22, b23, b24, b25, b26, b27, b28, b29, b30})");
    check_call("next-color(red)", "green");
    check_call("next-color(blue)", "red");
    check_call("next-color(%green)", "blue");
}

TEST(cli_invoke, options_and_results)
{
    check_call("maybe-double(some(4294967295))", "some(8589934590)");
    check_call("maybe-double(21)", "some(42)"); /* the flat form of some */
    check_call("maybe-double(none)", "none");
    check_call("maybe-double()", "none"); /* a trailing option left out */
    check_call("maybe-len(\"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\")", "some(3)");
    check_call("check-ok(4)", "ok(5)");
    check_call("check-ok(3)", "err");
    check_call("check-err(2)", "ok");
    check_call("check-err(3)", "err(\"odd 3\")");
    check_call("check-both(42)", "ok(\"42\")");
    check_call("check-both(-3)", "err(3)");
    check_call("check-both(-2147483648)", "err(0)");
    check_call("check-neither(true)", "ok");
    check_call("check-neither(false)", "err");
}

TEST(cli_invoke, variants)
{
    check_call("transform(%none)", "%none"); /* a case that spells a keyword */
    check_call("transform(circle(1.25))", "circle(2.5)");
    check_call("transform(rect({x: 1, y: -7}))", "rect({x: -7, y: 1})");
    check_call("transform(label(\"ab\"))", "label(\"ab?\")");
    check_call("transform(big(18446744073709551615))", "big(0)");
    check_call("transform(tiny(255))", "big(255000)");
}

TEST(cli_invoke, whitespace_and_comments_between_tokens)
{
    check_call("  next-color (\n  // the color\n  red ,\n)  ", "green");
}

TEST(cli_invoke, export_errors_exit_2)
{
    ERR("nope()", "exports no function 'nope'");
    ERR("next-color", "expected '('");
    ERR("(red)", "expected a function name");
    ERR("next-color()", "too few arguments", "'c'");
    ERR("next-color(red, red)", "too many arguments");
    ERR("take-accumulator(0)", "resource", "cannot be passed");
}

TEST(cli_invoke, ill_typed_arguments_exit_2_with_the_column)
{
    ERR("next-color(1)", "column 12", "enum case");
    ERR("next-color(purple)", "column 12", "no such enum case");
    ERR("check-ok(-1)", "column 10", "unsigned");
    ERR("check-ok(4294967296)", "out of range for u32");
    ERR("check-ok(1.5)", "expected an integer");
    ERR("check-both(2147483648)", "out of range for s32");
    ERR("echo-strings(1, [])", "expected a string");
    ERR("echo-strings(\"x\")", "too few arguments");
    ERR("echo-strings(\"x, [])", "unterminated string");
    ERR("echo-strings(\"\\q\", [])", "unknown escape");
    ERR("echo-strings(\"\\u{110000}\", [])", "not a Unicode scalar value");
    ERR("echo-strings(\"\\u{d800}\", [])", "not a Unicode scalar value");
    ERR("echo-strings(\"\xff\", [])", "not UTF-8");
    ERR("echo-strings(\"\"\"\nx\n\"\"\", [])", "multiline strings");
    ERR("transform(none)", "% prefix");
    ERR("transform(circle)", "payload");
    ERR("transform(%none(1))", "no payload");
    ERR("flip-flags({read, read}, {})", "flag given twice");
    ERR("flip-flags({read, nope}, {})", "no such flag");
    ERR("echo-group({label: \"x\"})", "lacks field 'items'");
    ERR("echo-group({label: \"x\", items: [], label: \"y\"})", "field given twice");
    ERR("echo-group({label: \"x\", items: [], extra: 1})", "no such field");
    ERR("swap-tuple((1, \"s\"))", "expected ','");
    ERR("maybe-double(some(none))", "expected an integer");
    ERR("check-ok(1", "column 11: expected ',' or ')', found the end of the text");
    ERR("next-color(red) trailing", "unexpected text after the call");
    ERR("echo-scalars(true, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'ab')", "exactly one character");
    ERR("reverse-bytes([1, 256])", "out of range for u8");
}

TEST(cli_invoke, command_component_run_export_and_tcplisten)
{
    /* The hand-made command of test_run.c is not needed: the ABI component
     * has no wasi:cli/run, so plain `spry run` refuses it ... */
    struct outcome o;
    const char *plain[] = {"run", abi_exports(), NULL};
    spry(&o, plain);
    ASSERT_EQ_INT(o.status, 1);
    ASSERT_NOT_NULL(strstr(o.err, "not a command"));
    /* ... and --tcplisten is refused for components, as wasmtime does
     * ("components do not support --tcplisten"). */
    const char *listen[] = {
        "run", "--tcplisten", "127.0.0.1:0", "--invoke", "next-color(red)", abi_exports(), NULL};
    spry(&o, listen);
    ASSERT_EQ_INT(o.status, 2);
    ASSERT_EQ_STR(o.out, "");
    ASSERT_NOT_NULL(strstr(o.err, "components do not support --tcplisten"));
    /* Arguments after FILE.wasm: a component's are in the call. */
    const char *extra[] = {"run", "--invoke", "next-color(red)", abi_exports(), "blue", NULL};
    spry(&o, extra);
    ASSERT_EQ_INT(o.status, 2);
    ASSERT_EQ_STR(o.out, "");
    ASSERT_NOT_NULL(strstr(o.err, "unexpected 'blue'"));
}

/* spry run: calling exports from the command line. */
#include "harness/test.h"
#include "unit/wasm/wat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static int run_spry(const char *args, char *out, size_t cap)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", test_build_path("spry"), args);
    FILE *p = popen(cmd, "r");
    ASSERT_NOT_NULL(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *write_module(const char *wat)
{
    static char path[4200];
    uint8_t *bytes;
    size_t len;
    wat_compile(wat, &bytes, &len);
    snprintf(path, sizeof path, "%s/cli.wasm", test_tmpdir());
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ_UINT(fwrite(bytes, 1, len, f), len);
    fclose(f);
    free(bytes);
    return path;
}

TEST(cli_run, invokes_the_bundled_example)
{
    char out[4096], args[4200];
    snprintf(args, sizeof args, "run --invoke fac %s 20", test_build_path("examples/fac.wasm"));
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 0);
    ASSERT_EQ_STR(out, "2432902008176640000\n");
}

TEST(cli_run, typed_arguments_and_results)
{
    const char *path = write_module(
        "(module (func (export \"mix\") (param i32 f64) (result f64 i32)\n"
        "  (f64.mul (f64.convert_i32_s (local.get 0)) (local.get 1)) (i32.const -7)))");
    char out[4096], args[4400];
    snprintf(args, sizeof args, "run --invoke mix %s -3 2.5", path);
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 0);
    ASSERT_EQ_STR(out, "-7.5\n-7\n");
    snprintf(args, sizeof args, "run --invoke mix %s x 2.5", path);
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 2);
    ASSERT_EQ_STR(out, "spry: argument 1 ('x') is not a valid i32\n");
}

TEST(cli_run, trap_is_one_line_with_the_function_name)
{
    const char *path = write_module("(module (func $boom (export \"boom\") unreachable))");
    char out[4096], args[4400];
    snprintf(args, sizeof args, "run --invoke boom %s", path);
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 134); /* as wasmtime on Unix */
    ASSERT_NOT_NULL(strstr(out, "spry: trap in 'boom'"));
    ASSERT_NOT_NULL(strstr(out, ": unreachable\n"));
    ASSERT_EQ_STR(strchr(out, '\n'), "\n"); /* exactly one line */
}

TEST(cli_run, malformed_module_names_the_offset)
{
    char path[4200], out[4096], args[4400];
    snprintf(path, sizeof path, "%s/bad.wasm", test_tmpdir());
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    fwrite("\0asm\1\0\0\0\1\5", 1, 10, f);
    fclose(f);
    snprintf(args, sizeof args, "run %s", path);
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 1);
    ASSERT_NOT_NULL(strstr(out, "offset"));
    snprintf(args, sizeof args, "run %s/missing.wasm", test_tmpdir());
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 1);
    ASSERT_NOT_NULL(strstr(out, "cannot open"));
}

/* A WASI command: writes "hi\n" to fd 1, then exits with the number of
 * environment variables plus 10 * the number of arguments. */
static const char *const env_args_wat =
    "(module\n"
    "  (import \"wasi_snapshot_preview1\" \"fd_write\"\n"
    "    (func $fd_write (param i32 i32 i32 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"environ_sizes_get\"\n"
    "    (func $environ_sizes_get (param i32 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"args_sizes_get\"\n"
    "    (func $args_sizes_get (param i32 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $proc_exit (param i32)))\n"
    "  (memory (export \"memory\") 1)\n"
    "  (data (i32.const 16) \"hi\\n\")\n"
    "  (func $main (export \"_start\")\n"
    "    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 3))\n"
    "    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))\n"
    "    (drop (call $environ_sizes_get (i32.const 32) (i32.const 36)))\n"
    "    (drop (call $args_sizes_get (i32.const 40) (i32.const 44)))\n"
    "    (call $proc_exit (i32.add (i32.load (i32.const 32))\n"
    "      (i32.mul (i32.load (i32.const 40)) (i32.const 10))))))";

TEST(cli_run, wasi_command_exit_code_env_and_args)
{
    const char *path = write_module(env_args_wat);
    char out[4096], args[4400];
    /* argv is FILE.wasm alone; the host's environment is not inherited. */
    snprintf(args, sizeof args, "run %s", path);
    setenv("SPRY_HOST_ONLY", "1", 1);
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 10);
    ASSERT_EQ_STR(out, "hi\n");
    snprintf(args, sizeof args, "run --env A=1 --env B=x=y -- %s one two", path);
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 32);
    snprintf(args, sizeof args, "run --env NOEQUALS %s", path);
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 2);
    snprintf(args, sizeof args, "run --bogus %s", path);
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 2);
}

TEST(cli_run, trap_flushes_guest_output_first)
{
    const char *path = write_module(
        "(module\n"
        "  (import \"wasi_snapshot_preview1\" \"fd_write\"\n"
        "    (func $fd_write (param i32 i32 i32 i32) (result i32)))\n"
        "  (memory 1)\n"
        "  (data (i32.const 16) \"partial\")\n"
        "  (func $crash (unreachable))\n"
        "  (func (export \"_start\")\n"
        "    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 7))\n"
        "    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))\n"
        "    (call $crash)))");
    char out[4096], args[4400];
    snprintf(args, sizeof args, "run %s", path);
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 134);
    ASSERT_EQ_MEM(out, "partialspry: trap in 'crash'", 28);
    ASSERT_NOT_NULL(strstr(out, "): unreachable\n"));
}

TEST(cli_run, unknown_import_and_missing_dir_exit_1)
{
    const char *path =
        write_module("(module (import \"env\" \"f\" (func)) (func (export \"_start\")))");
    char out[4096], args[9000];
    snprintf(args, sizeof args, "run %s", path);
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 1);
    ASSERT_NOT_NULL(strstr(out, "env.f"));
    path = write_module(env_args_wat);
    snprintf(args, sizeof args, "run --dir %s/nope %s", test_tmpdir(), path);
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 1);
    ASSERT_NOT_NULL(strstr(out, "nope"));
}

TEST(cli_run, preopens_are_numbered_in_command_line_order)
{
    /* Exits with the length of fd 4's prestat name: the second --dir*. */
    const char *path = write_module(
        "(module\n"
        "  (import \"wasi_snapshot_preview1\" \"fd_prestat_get\"\n"
        "    (func $get (param i32 i32) (result i32)))\n"
        "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))\n"
        "  (memory (export \"memory\") 1)\n"
        "  (func (export \"_start\")\n"
        "    (if (i32.ne (call $get (i32.const 4) (i32.const 0)) (i32.const 0))\n"
        "      (then (call $exit (i32.const 99))))\n"
        "    (call $exit (i32.load (i32.const 4)))))");
    char out[4096], args[13000];
    const char *tmp = test_tmpdir();
    snprintf(args, sizeof args, "run --dir %s::/a --dir-ro %s::/seven77 --dir %s::/b %s", tmp, tmp,
             tmp, path);
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 8);
}

TEST(cli_run, reactor_initialize_runs_before_invoke)
{
    const char *path =
        write_module("(module (global $g (mut i32) (i32.const 0))\n"
                     "  (func (export \"_initialize\") (global.set $g (i32.const 41)))\n"
                     "  (func (export \"get\") (param i32) (result i32)\n"
                     "    (i32.add (global.get $g) (local.get 0))))");
    char out[4096], args[4400];
    snprintf(args, sizeof args, "run --invoke get %s 1", path);
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 0);
    ASSERT_EQ_STR(out, "42\n");
}

TEST(cli_run, stdout_and_stderr_keep_their_order)
{
    /* Writes "a" to stdout, "b" to stderr, "c" to stdout; both go to one
     * pipe, so the buffering must flush at each switch. */
    const char *path = write_module(
        "(module\n"
        "  (import \"wasi_snapshot_preview1\" \"fd_write\"\n"
        "    (func $w (param i32 i32 i32 i32) (result i32)))\n"
        "  (memory (export \"memory\") 1)\n"
        "  (data (i32.const 16) \"abc\")\n"
        "  (func $put (param $fd i32) (param $at i32)\n"
        "    (i32.store (i32.const 0) (local.get $at)) (i32.store (i32.const 4) (i32.const 1))\n"
        "    (drop (call $w (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))\n"
        "  (func (export \"_start\")\n"
        "    (call $put (i32.const 1) (i32.const 16)) (call $put (i32.const 2) (i32.const 17))\n"
        "    (call $put (i32.const 1) (i32.const 18))))");
    char out[4096], args[4400];
    snprintf(args, sizeof args, "run %s", path);
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 0);
    ASSERT_EQ_STR(out, "abc");
}

TEST(cli_run, tcplisten_preopens_a_listening_socket)
{
    /* fd 3 is the socket (no --dir): a non-blocking listener with nobody
     * connecting answers EAGAIN (6), which becomes the exit code. */
    const char *path = write_module(
        "(module\n"
        "  (import \"wasi_snapshot_preview1\" \"fd_fdstat_set_flags\"\n"
        "    (func $flags (param i32 i32) (result i32)))\n"
        "  (import \"wasi_snapshot_preview1\" \"sock_accept\"\n"
        "    (func $accept (param i32 i32 i32) (result i32)))\n"
        "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))\n"
        "  (memory (export \"memory\") 1)\n"
        "  (func (export \"_start\")\n"
        "    (drop (call $flags (i32.const 3) (i32.const 4)))\n"
        "    (call $exit (call $accept (i32.const 3) (i32.const 0) (i32.const 0)))))");
    char out[4096], args[4400];
    snprintf(args, sizeof args, "run --tcplisten 127.0.0.1:0 %s", path);
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 6);
    snprintf(args, sizeof args, "run --tcplisten nonsense %s", path);
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 2);
}

/* ---- components ------------------------------------------------------------------ */

/* A command component exporting wasi:cli/run@0.2.3 { run } lifted without
 * options from a core function whose body is BODY (4 bytes: the function's
 * locals count, two instructions, end). */
#define COMMAND(b0, b1, b2)                                                                        \
    {                                                                                              \
        0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00, 0x01, 0x24, 0x00, 0x61, 0x73, 0x6d, 0x01,  \
            0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00,    \
            0x07, 0x07, 0x01, 0x03, 'r', 'u', 'n', 0x00, 0x00, 0x0a, 0x06, 0x01, 0x04, 0x00, b0,   \
            b1, b2, 0x02, 0x04, 0x01, 0x00, 0x00, 0x00, 0x06, 0x09, 0x01, 0x00, 0x00, 0x01, 0x00,  \
            0x03, 'r', 'u', 'n', 0x07, 0x08, 0x02, 0x6a, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x08, \
            0x06, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x05, 0x0a, 0x01, 0x01, 0x01, 0x00, 0x03,    \
            'r', 'u', 'n', 0x01, 0x00, 0x0b, 0x18, 0x01, 0x00, 0x12, 'w', 'a', 's', 'i', ':', 'c', \
            'l', 'i', '/', 'r', 'u', 'n', '@', '0', '.', '2', '.', '3', 0x05, 0x00, 0x00           \
    }

static const uint8_t command_ok[] = COMMAND(0x41, 0x00, 0x0b);   /* i32.const 0: ok */
static const uint8_t command_err[] = COMMAND(0x41, 0x01, 0x0b);  /* i32.const 1: err */
static const uint8_t command_trap[] = COMMAND(0x00, 0x01, 0x0b); /* unreachable */

/* (component (import "wasi:http/types@0.2.3" (instance (export "f" (func))))) */
static const uint8_t imports_http[] = {
    0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00, 0x07, 0x0e, 0x01, 0x42, 0x02,
    0x01, 0x40, 0x00, 0x01, 0x00, 0x04, 0x00, 0x01, 'f',  0x01, 0x00, 0x0a, 0x1a,
    0x01, 0x00, 0x15, 'w',  'a',  's',  'i',  ':',  'h',  't',  't',  'p',  '/',
    't',  'y',  'p',  'e',  's',  '@',  '0',  '.',  '2',  '.',  '3',  0x05, 0x00};

static const char *write_bytes(const char *name, const uint8_t *bytes, size_t len)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ_UINT(fwrite(bytes, 1, len, f), len);
    fclose(f);
    return path;
}

TEST(cli_run, component_commands_exit_with_run_s_result)
{
    char out[4096], args[4400];
    snprintf(args, sizeof args, "run %s", write_bytes("ok.wasm", command_ok, sizeof command_ok));
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 0);
    ASSERT_EQ_STR(out, "");
    snprintf(args, sizeof args, "run %s", write_bytes("err.wasm", command_err, sizeof command_err));
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 1);
    ASSERT_EQ_STR(out, "");
    const char *trap = write_bytes("trap.wasm", command_trap, sizeof command_trap);
    snprintf(args, sizeof args, "run %s", trap);
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 134);
    ASSERT_NOT_NULL(strstr(out, "spry: trap in "));
    ASSERT_NOT_NULL(strstr(out, ": unreachable\n"));
    ASSERT_EQ_STR(strchr(out, '\n'), "\n"); /* exactly one line */
    /* --invoke with a WAVE call (test_run_invoke.c has the rest): run's
     * result printed, a trap exits 134 as without --invoke, a name without
     * its parenthesized arguments is a usage error. */
    snprintf(args, sizeof args, "run --invoke 'run()' %s", trap);
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 134);
    ASSERT_NOT_NULL(strstr(out, ": unreachable\n"));
    snprintf(args, sizeof args, "run --invoke 'run()' %s",
             write_bytes("ok.wasm", command_ok, sizeof command_ok));
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 0);
    ASSERT_EQ_STR(out, "ok\n");
    snprintf(args, sizeof args, "run --invoke 'run()' %s",
             write_bytes("err.wasm", command_err, sizeof command_err));
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 0);
    ASSERT_EQ_STR(out, "err\n");
    snprintf(args, sizeof args, "run --invoke run %s", trap);
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 2);
    ASSERT_NOT_NULL(strstr(out, "expected '('"));
}

TEST(cli_run, component_importing_an_interface_spry_lacks_exits_1_naming_it)
{
    char out[4096], args[4400], want[4400];
    const char *path = write_bytes("http.wasm", imports_http, sizeof imports_http);
    snprintf(args, sizeof args, "run %s", path);
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 1);
    snprintf(want, sizeof want,
             "spry: %s: import wasi:http/types@0.2.3: Spry does not provide the interface "
             "wasi:http/types\n",
             path);
    ASSERT_EQ_STR(out, want);
}

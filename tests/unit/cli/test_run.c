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
    ASSERT_EQ_INT(run_spry(args, out, sizeof out), 1);
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

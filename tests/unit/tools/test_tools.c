/* Checks on the tree itself: layering, formatting, and the CLI's contract. */
#include "harness/test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* Runs a shell command, capturing up to `cap` bytes of its output. Returns
 * the exit status (or -1). */
static int run_capture(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    ASSERT_NOT_NULL(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs(text, f);
    fclose(f);
}

TEST(tools, layercheck_passes_on_the_tree)
{
    char cmd[4096], out[8192];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", test_src_path("scripts/layercheck.sh"),
             test_src_path(""));
    int rc = run_capture(cmd, out, sizeof out);
    if (rc != 0)
        fprintf(stderr, "%s", out);
    ASSERT_EQ_INT(rc, 0);
}

TEST(tools, layercheck_catches_include_from_higher_layer)
{
    const char *root = test_tmpdir();
    char path[4096], cmd[8192], out[8192];
    snprintf(path, sizeof path, "%s/src", root);
    ASSERT_EQ_INT(mkdir(path, 0777), 0);
    snprintf(path, sizeof path, "%s/src/wasm", root);
    ASSERT_EQ_INT(mkdir(path, 0777), 0);
    snprintf(path, sizeof path, "%s/src/base", root);
    ASSERT_EQ_INT(mkdir(path, 0777), 0);
    snprintf(path, sizeof path, "%s/src/base/ok.c", root);
    write_file(path, "#include \"base/buf.h\"\n");
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", test_src_path("scripts/layercheck.sh"), root);
    ASSERT_EQ_INT(run_capture(cmd, out, sizeof out), 0);

    /* base may not include the engine. */
    snprintf(path, sizeof path, "%s/src/base/bad.c", root);
    write_file(path, "#include <stdio.h>\n\n#include \"wasm/module.h\"\n");
    ASSERT_EQ_INT(run_capture(cmd, out, sizeof out), 1);
    ASSERT_NOT_NULL(strstr(out, "bad.c:3: layer 'base' includes \"wasm/module.h\""));

    /* Nor through a public header of a higher layer. */
    remove(path);
    snprintf(path, sizeof path, "%s/src/base/bad2.c", root);
    write_file(path, "#include \"spry/wasm.h\"\n");
    ASSERT_EQ_INT(run_capture(cmd, out, sizeof out), 1);
    ASSERT_NOT_NULL(strstr(out, "bad2.c:1:"));
}

TEST(tools, sources_are_formatted)
{
    char cmd[4096], out[8192];
    snprintf(cmd, sizeof cmd, "%s 2>&1", test_src_path("scripts/check-format.sh"));
    int rc = run_capture(cmd, out, sizeof out);
    if (rc != 0)
        fprintf(stderr, "%s", out);
    ASSERT_EQ_INT(rc, 0);
}

/* The format check names exactly the files clang-format would change (it
 * checks them all in one clang-format run and parses its diagnostics). */
TEST(tools, format_check_names_the_unformatted_files)
{
    char dir[4200], cmd[32768], out[8192];
    snprintf(dir, sizeof dir, "%s/fmt", test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s/scripts && cp %s %s/scripts/ && cp %s %s/ && cd %s && "
             "git init -q . 2>&1",
             dir, test_src_path("scripts/check-format.sh"), dir, test_src_path(".clang-format"),
             dir, dir);
    ASSERT_EQ_INT(run_capture(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "%s/good.c", dir);
    write_file(cmd, "int x;\n");
    snprintf(cmd, sizeof cmd, "%s/bad.c", dir);
    write_file(cmd, "int  y ;\n");
    snprintf(cmd, sizeof cmd, "%s/bad2.h", dir);
    write_file(cmd, "void f( void ){}\n");
    snprintf(cmd, sizeof cmd, "%s/scripts/check-format.sh 2>&1", dir);
    ASSERT_EQ_INT(run_capture(cmd, out, sizeof out), 1);
    ASSERT_NOT_NULL(strstr(out, "not formatted: bad.c"));
    ASSERT_NOT_NULL(strstr(out, "not formatted: bad2.h"));
    ASSERT_NULL(strstr(out, "good.c"));
}

TEST(cli, version_and_help)
{
    char cmd[4096], out[8192];
    snprintf(cmd, sizeof cmd, "%s --version", test_build_path("spry"));
    ASSERT_EQ_INT(run_capture(cmd, out, sizeof out), 0);
    ASSERT_EQ_INT(strncmp(out, "spry ", 5), 0);
    snprintf(cmd, sizeof cmd, "%s --help", test_build_path("spry"));
    ASSERT_EQ_INT(run_capture(cmd, out, sizeof out), 0);
    ASSERT_NOT_NULL(strstr(out, "usage: spry"));
}

TEST(cli, unknown_command_and_option_exit_2_with_one_line)
{
    char cmd[4096], out[8192];
    snprintf(cmd, sizeof cmd, "%s frobnicate 2>&1", test_build_path("spry"));
    ASSERT_EQ_INT(run_capture(cmd, out, sizeof out), 2);
    ASSERT_EQ_STR(out, "spry: unknown command 'frobnicate' (see 'spry --help')\n");
    snprintf(cmd, sizeof cmd, "%s --frob 2>&1", test_build_path("spry"));
    ASSERT_EQ_INT(run_capture(cmd, out, sizeof out), 2);
    ASSERT_EQ_STR(out, "spry: unknown option '--frob' (see 'spry --help')\n");
}

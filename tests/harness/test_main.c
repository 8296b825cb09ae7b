/*
 * The test runner: runs registered tests, each in a forked process with a
 * timeout, and ends with the line "N passed, N failed[, N skipped]".
 *
 *   unit-tests [--list] [--timeout SECONDS] [PATTERN...]
 *
 * PATTERN selects tests by "suite", "suite.name", or a shell glob over
 * "suite.name" (e.g. 'wasm_*'). Exit status: 0 when nothing failed.
 */
#include "test.h"

#include "spry/error.h"

#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_SKIP = 77, DEFAULT_TIMEOUT_S = 60 };

static struct spry_test *tests_head, *tests_tail;

void spry_test_register(struct spry_test *test)
{
    if (tests_tail == NULL)
        tests_head = test;
    else
        tests_tail->next = test;
    tests_tail = test;
}

_Noreturn static void fail_exit(void)
{
    fflush(stdout);
    fflush(stderr);
    _exit(1);
}

void test_fail_bool(const char *file, int line, const char *expr)
{
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
    fail_exit();
}

void test_fail_int(const char *file, int line, const char *a_expr, const char *op,
                   const char *b_expr, long long a, long long b)
{
    fprintf(stderr, "%s:%d: assertion failed: %s %s %s\n  left:  %lld\n  right: %lld\n", file, line,
            a_expr, op, b_expr, a, b);
    fail_exit();
}

void test_fail_uint(const char *file, int line, const char *a_expr, const char *op,
                    const char *b_expr, unsigned long long a, unsigned long long b)
{
    fprintf(stderr,
            "%s:%d: assertion failed: %s %s %s\n  left:  %llu (0x%llx)\n  right: %llu (0x%llx)\n",
            file, line, a_expr, op, b_expr, a, a, b, b);
    fail_exit();
}

void test_fail_str(const char *file, int line, const char *a_expr, const char *b_expr,
                   const char *a, const char *b)
{
    fprintf(stderr, "%s:%d: assertion failed: %s == %s\n  left:  \"%s\"\n  right: \"%s\"\n", file,
            line, a_expr, b_expr, a ? a : "(null)", b ? b : "(null)");
    fail_exit();
}

void test_fail_ok(const char *file, int line, const char *expr, int rc)
{
    fprintf(stderr, "%s:%d: expected success: %s\n  returned: %d (%s: %s)\n", file, line, expr, rc,
            spry_errname(rc), spry_strerror(rc));
    fail_exit();
}

void test_fail_mem(const char *file, int line, const char *a_expr, const char *b_expr, size_t n,
                   size_t at)
{
    fprintf(stderr, "%s:%d: memory differs: %s vs %s (%zu bytes), first difference at %zu\n", file,
            line, a_expr, b_expr, n, at);
    fail_exit();
}

void test_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stdout, "skip: ");
    vfprintf(stdout, fmt, ap);
    fprintf(stdout, "\n");
    va_end(ap);
    fflush(stdout);
    fflush(stderr);
    _exit(EXIT_SKIP);
}

int test_mem_diff(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i])
            return (int)i;
    }
    return -1;
}

bool test_str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* The build directory when SPRY_BUILD_DIR is unset: the runner lives in
 * BUILD/tests/, so it is two levels above the executable. */
static const char *default_build_dir(void)
{
    static char dir[4000];
    if (dir[0] == '\0') {
        ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
        if (n <= 0) {
            snprintf(dir, sizeof dir, "build");
            return dir;
        }
        dir[n] = '\0';
        for (int up = 0; up < 2; up++) {
            char *slash = strrchr(dir, '/');
            if (slash != NULL)
                *slash = '\0';
        }
    }
    return dir;
}

/* SPRY_SRC_DIR defaults to the current directory (make runs from the
 * repository's root), SPRY_BUILD_DIR to the runner's build directory. */
static const char *env_dir(const char *var)
{
    const char *v = getenv(var);
    if (v != NULL && v[0] != '\0')
        return v;
    return strcmp(var, "SPRY_BUILD_DIR") == 0 ? default_build_dir() : ".";
}

static const char *join_path(const char *dir, const char *relative)
{
    static _Thread_local char paths[8][4096];
    static _Thread_local int next;
    char *out = paths[next++ % 8];
    snprintf(out, sizeof paths[0], "%s/%s", dir, relative);
    return out;
}

const char *test_src_path(const char *relative)
{
    return join_path(env_dir("SPRY_SRC_DIR"), relative);
}

const char *test_build_path(const char *relative)
{
    return join_path(env_dir("SPRY_BUILD_DIR"), relative);
}

static char current_tmpdir[4200];

static void remove_tree(const char *path)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", path);
}

const char *test_tmpdir(void)
{
    if (current_tmpdir[0] == '\0') {
        char base[4000];
        snprintf(base, sizeof base, "%s/tmp", env_dir("SPRY_BUILD_DIR"));
        mkdir(base, 0777);
        snprintf(current_tmpdir, sizeof current_tmpdir, "%s/test.%ld", base, (long)getpid());
        remove_tree(current_tmpdir);
        if (mkdir(current_tmpdir, 0777) != 0) {
            fprintf(stderr, "cannot create %s: %s\n", current_tmpdir, strerror(errno));
            fail_exit();
        }
    }
    return current_tmpdir;
}

static bool matches(const struct spry_test *t, int npatterns, char **patterns)
{
    if (npatterns == 0)
        return true;
    char full[512];
    snprintf(full, sizeof full, "%s.%s", t->suite, t->name);
    for (int i = 0; i < npatterns; i++) {
        if (strcmp(patterns[i], t->suite) == 0 || strcmp(patterns[i], full) == 0 ||
            fnmatch(patterns[i], full, 0) == 0)
            return true;
    }
    return false;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

enum outcome { PASSED, FAILED, SKIPPED };

static enum outcome run_one(const struct spry_test *t, unsigned timeout_s)
{
    fflush(stdout);
    fflush(stderr);
    double start = now_ms();
    pid_t pid = fork();
    if (pid < 0) {
        printf("FAIL %s.%s: fork: %s\n", t->suite, t->name, strerror(errno));
        return FAILED;
    }
    if (pid == 0) {
        /* Its own process group: whatever the test starts (servers, curl)
         * is killed with it below, so nothing outlives the test and holds
         * the runner's output pipe open. */
        setpgid(0, 0);
        alarm(timeout_s);
        t->fn();
        if (current_tmpdir[0] != '\0')
            remove_tree(current_tmpdir);
        fflush(stdout);
        fflush(stderr);
        _exit(0);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            printf("FAIL %s.%s: waitpid: %s\n", t->suite, t->name, strerror(errno));
            return FAILED;
        }
    }
    kill(-pid, SIGKILL); /* the test's leftovers, if any */
    double ms = now_ms() - start;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        printf("ok   %s.%s (%.1f ms)\n", t->suite, t->name, ms);
        return PASSED;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SKIP) {
        printf("skip %s.%s\n", t->suite, t->name);
        return SKIPPED;
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        printf("FAIL %s.%s: timed out after %u s\n", t->suite, t->name, timeout_s);
    else if (WIFSIGNALED(status))
        printf("FAIL %s.%s: killed by signal %d (%s)\n", t->suite, t->name, WTERMSIG(status),
               strsignal(WTERMSIG(status)));
    else
        printf("FAIL %s.%s: exit status %d\n", t->suite, t->name, WEXITSTATUS(status));
    return FAILED;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: unit-tests [--list] [--timeout SECONDS] [PATTERN...]\n");
}

int main(int argc, char **argv)
{
    unsigned timeout_s = DEFAULT_TIMEOUT_S;
    bool list = false;
    int first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "--list") == 0) {
            list = true;
        } else if (strcmp(argv[first], "--timeout") == 0 && first + 1 < argc) {
            timeout_s = (unsigned)strtoul(argv[++first], NULL, 10);
        } else if (strcmp(argv[first], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "unit-tests: unknown option '%s'\n", argv[first]);
            usage(stderr);
            return 2;
        }
    }
    int npatterns = argc - first;
    char **patterns = argv + first;
    int passed = 0, failed = 0, skipped = 0, selected = 0;
    for (const struct spry_test *t = tests_head; t != NULL; t = t->next) {
        if (!matches(t, npatterns, patterns))
            continue;
        selected++;
        if (list) {
            printf("%s.%s\n", t->suite, t->name);
            continue;
        }
        switch (run_one(t, timeout_s)) {
        case PASSED:
            passed++;
            break;
        case FAILED:
            failed++;
            break;
        case SKIPPED:
            skipped++;
            break;
        }
    }
    if (list)
        return 0;
    if (selected == 0 && npatterns > 0) {
        fprintf(stderr, "unit-tests: no test matches the given patterns\n");
        failed = 1;
    }
    if (skipped > 0)
        printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else
        printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

/*
 * spec-runner: runs the WebAssembly spec suite's .wast scripts against the
 * engine.
 *
 *   spec-runner [--build DIR] [--suite DIR] [--skip FILE] [--messages FILE]
 *               [--timeout SECONDS] [-v] [FILE.wast | NAME ...]
 *
 * Each script is converted at test time with wabt's wast2json into
 * BUILD/spec/NAME/ (reused while newer than the .wast), then run in a forked
 * child so that a crash or a hang of the engine fails that script's remaining
 * commands and not the run. The child reports to the parent through a pipe,
 * one line per event:
 *
 *   T <commands>             before the first command
 *   S <line> <type>          a command starts
 *   P <line>                 it passed
 *   F <line> <detail>        it failed (detail on one line)
 *   K <line> <reason>        it was skipped
 *   E <message>              the script could not be run at all
 *
 * Output: one line per script ("core/i32.wast: 460 passed, 0 failed, 0
 * skipped"), its failures below it (the first FAILS_SHOWN unless -v), and a
 * closing "N passed, N failed, N skipped". Exit status 1 when anything failed.
 *
 * Defaults: the suite is SPRY_SRC_DIR/../shared/conformance/wasm-spec/core
 * (or the same beside a parent of SPRY_SRC_DIR, for git worktrees); the skip
 * list and the message list (spec/skip.h) are SPRY_SRC_DIR/tests/spec/skip.txt
 * and messages.txt; the build directory is SPRY_BUILD_DIR. Without those
 * variables, paths are found from the runner's own location
 * (BUILD/tests/spec-runner inside the source tree).
 */
#include "spec/script.h"
#include "spec/skip.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
    FAILS_SHOWN = 20,
    DEFAULT_TIMEOUT_S = 120,
    LINE_MAX_BYTES = 4096, /* one pipe protocol line; longer ones are cut */
    FAILS_KEPT_MAX = 100000,
};

enum { MAX_FEATURES = 4 };

struct options {
    const char *build;
    const char *suite;
    const char *skip_file;
    const char *messages_file;
    unsigned timeout_s;
    bool verbose;
    /* wast2json features to enable (--feature NAME -> --enable-NAME), for
     * proposal suites such as tail-call. */
    const char *features[MAX_FEATURES];
    int nfeatures;
};

struct totals {
    unsigned long long passed, failed, skipped;
};

/* ---- paths ------------------------------------------------------------- */

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A static path: `base` + `rel`, or NULL when too long. */
static char *path_join(char *buf, size_t size, const char *base, const char *rel)
{
    int n = snprintf(buf, size, "%s/%s", base, rel);
    return n < 0 || (size_t)n >= size ? NULL : buf;
}

/* The source tree: SPRY_SRC_DIR, else two levels above the directory of
 * this executable (BUILD/tests/spec-runner), else ".". */
static const char *source_dir(void)
{
    static char dir[PATH_MAX];
    const char *env = getenv("SPRY_SRC_DIR");
    if (env != NULL && env[0] != '\0')
        return env;
    ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
    if (n > 0) {
        dir[n] = '\0';
        for (int up = 0; up < 3; up++) {
            char *slash = strrchr(dir, '/');
            if (slash == NULL)
                break;
            *slash = '\0';
        }
        if (dir[0] != '\0' && is_dir(dir))
            return dir;
    }
    return ".";
}

static const char *build_dir(void)
{
    static char dir[PATH_MAX];
    const char *env = getenv("SPRY_BUILD_DIR");
    if (env != NULL && env[0] != '\0')
        return env;
    ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
    if (n > 0) {
        dir[n] = '\0';
        for (int up = 0; up < 2; up++) {
            char *slash = strrchr(dir, '/');
            if (slash != NULL)
                *slash = '\0';
        }
        if (dir[0] != '\0' && is_dir(dir))
            return dir;
    }
    return "build";
}

/* The suite: shared/conformance/wasm-spec/core beside the source tree (the
 * layout of /work/main and of a CI clone), or beside one of its parents (a
 * git worktree such as /work/wt/NAME). */
static int find_suite(const char *src, char *out, size_t size)
{
    char rel[64] = "..";
    for (int up = 0; up < 3; up++) {
        char cand[PATH_MAX];
        int n = snprintf(cand, sizeof(cand), "%s/%s/shared/conformance/wasm-spec/core", src, rel);
        if (n > 0 && (size_t)n < sizeof(cand) && is_dir(cand)) {
            snprintf(out, size, "%s", cand);
            return 0;
        }
        strcat(rel, "/..");
    }
    return -1;
}

static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
        return -1;
    for (char *p = tmp + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* "core/i32.wast" for ".../core/i32.wast". */
static const char *display_name(const char *path)
{
    const char *base = strrchr(path, '/');
    if (base == NULL)
        return path;
    const char *p = base;
    while (p > path && p[-1] != '/')
        p--;
    return p;
}

static const char *base_name(const char *path)
{
    const char *base = strrchr(path, '/');
    return base != NULL ? base + 1 : path;
}

/* ---- conversion -------------------------------------------------------- */

static bool newer_or_same(const struct stat *a, const struct stat *b)
{
    if (a->st_mtim.tv_sec != b->st_mtim.tv_sec)
        return a->st_mtim.tv_sec > b->st_mtim.tv_sec;
    return a->st_mtim.tv_nsec >= b->st_mtim.tv_nsec;
}

/* Converts `wast` into `json` with wast2json unless json is up to date.
 * Returns 0, or -1 with the reason in `why`. */
static int convert(const char *wast, const char *json, const struct options *opt, char *why,
                   size_t why_size)
{
    struct stat sw, sj;
    if (stat(wast, &sw) != 0) {
        snprintf(why, why_size, "%s: %s", wast, strerror(errno));
        return -1;
    }
    if (stat(json, &sj) == 0 && newer_or_same(&sj, &sw))
        return 0;
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", json);
    char *slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    if (mkdir_p(dir) != 0) {
        snprintf(why, why_size, "mkdir %s: %s", dir, strerror(errno));
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, why_size, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        char flags[MAX_FEATURES][64];
        char *argv[5 + MAX_FEATURES];
        int n = 0;
        argv[n++] = "wast2json";
        for (int i = 0; i < opt->nfeatures; i++) {
            snprintf(flags[i], sizeof flags[i], "--enable-%s", opt->features[i]);
            argv[n++] = flags[i];
        }
        argv[n++] = (char *)wast;
        argv[n++] = "-o";
        argv[n++] = (char *)json;
        argv[n] = NULL;
        execvp(argv[0], argv);
        fprintf(stderr, "spec-runner: cannot run wast2json: %s (install Debian's wabt)\n",
                strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(why, why_size, "waitpid: %s", strerror(errno));
            return -1;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    unlink(json);
    snprintf(why, why_size, "wast2json failed (%s %d)",
             WIFEXITED(status) ? "exit status" : "signal",
             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return -1;
}

/* ---- the child: runs a script, reports through the pipe ----------------- */

struct child_sink {
    int fd;
};

static void emit(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit(int fd, const char *fmt, ...)
{
    char line[LINE_MAX_BYTES];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof(line) - 1 ? (size_t)n : sizeof(line) - 2;
    for (size_t i = 0; i < len; i++) {
        if (line[i] == '\n' || line[i] == '\r' || line[i] == '\0')
            line[i] = ' ';
    }
    line[len++] = '\n';
    const char *p = line;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(3); /* the parent is gone */
        p += w;
        len -= (size_t)w;
    }
}

static void child_total(void *ctx, size_t commands)
{
    struct child_sink *cs = ctx;
    emit(cs->fd, "T %zu", commands);
}

static void child_start(void *ctx, unsigned line, const char *type)
{
    struct child_sink *cs = ctx;
    emit(cs->fd, "S %u %.40s", line, type);
}

static void child_done(void *ctx, enum script_outcome outcome, unsigned line, const char *detail)
{
    struct child_sink *cs = ctx;
    if (outcome == SCRIPT_PASS)
        emit(cs->fd, "P %u", line);
    else if (outcome == SCRIPT_FAIL)
        emit(cs->fd, "F %u %s", line, detail ? detail : "");
    else
        emit(cs->fd, "K %u %s", line, detail ? detail : "");
}

_Noreturn static void child_main(int fd, const char *json, const struct script_lists *lists)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    struct child_sink cs = {.fd = fd};
    struct script_sink sink = {
        .ctx = &cs, .total = child_total, .start = child_start, .done = child_done};
    struct spry_report report;
    spry_report_init(&report);
    int rc = script_run(json, lists, &sink, &report);
    if (rc != 0)
        emit(fd, "E %s: %s", spry_errname(rc), report.message);
    close(fd);
    /* exit, not _exit: a leak checker in the child gets to report. */
    exit(rc != 0 ? 2 : 0);
}

/* ---- the parent: collects one script's events --------------------------- */

struct file_run {
    bool have_total;
    unsigned long long total, passed, failed, skipped;
    bool in_command;
    unsigned line;
    char type[48];
    char *error;              /* from an E line */
    char *abnormal;           /* how the child ended when it did not end well */
    unsigned long long unrun; /* commands counted failed because the child ended early */
    char **fails;             /* "line N: detail", the first FAILS_SHOWN unless verbose */
    size_t nfails;
    size_t fails_cap;
    bool verbose;
};

static void keep_fail(struct file_run *fr, const char *text)
{
    size_t limit = fr->verbose ? FAILS_KEPT_MAX : FAILS_SHOWN;
    if (fr->nfails >= limit)
        return;
    if (fr->nfails == fr->fails_cap) {
        size_t cap = fr->fails_cap ? fr->fails_cap * 2 : 16;
        char **f = realloc(fr->fails, cap * sizeof(*f));
        if (f == NULL)
            return;
        fr->fails = f;
        fr->fails_cap = cap;
    }
    char *copy = strdup(text);
    if (copy != NULL)
        fr->fails[fr->nfails++] = copy;
}

static void handle_line(struct file_run *fr, char *line)
{
    char *rest = line[0] != '\0' && line[1] == ' ' ? line + 2 : line + 1;
    char *end;
    switch (line[0]) {
    case 'T':
        fr->total = strtoull(rest, NULL, 10);
        fr->have_total = true;
        break;
    case 'S':
        fr->line = (unsigned)strtoul(rest, &end, 10);
        snprintf(fr->type, sizeof(fr->type), "%s", *end == ' ' ? end + 1 : end);
        fr->in_command = true;
        break;
    case 'P':
        fr->passed++;
        fr->in_command = false;
        break;
    case 'K':
        fr->skipped++;
        fr->in_command = false;
        break;
    case 'F': {
        fr->failed++;
        fr->in_command = false;
        unsigned long n = strtoul(rest, &end, 10);
        char text[LINE_MAX_BYTES + 32];
        snprintf(text, sizeof(text), "line %lu: %s", n, *end == ' ' ? end + 1 : end);
        keep_fail(fr, text);
        break;
    }
    case 'E':
        free(fr->error);
        fr->error = strdup(rest);
        break;
    default:
        break;
    }
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs the script in a child and fills `fr`; an abnormal end is recorded as
 * one failure line and the commands not done as failed. */
static void run_file(const char *json, const struct script_lists *lists, const struct options *opt,
                     struct file_run *fr)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        fr->failed++;
        char text[128];
        snprintf(text, sizeof(text), "pipe: %s", strerror(errno));
        keep_fail(fr, text);
        return;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        fr->failed++;
        char text[128];
        snprintf(text, sizeof(text), "fork: %s", strerror(errno));
        keep_fail(fr, text);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1], json, lists);
    }
    close(fds[1]);

    static char buf[2 * LINE_MAX_BYTES];
    size_t have = 0;
    bool timed_out = false;
    long long deadline = now_ms() + (long long)opt->timeout_s * 1000;
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        int pr = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            continue; /* the deadline check above ends it */
        ssize_t n = read(fds[0], buf + have, sizeof(buf) - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
        char *start = buf, *nl;
        while ((nl = memchr(start, '\n', have - (size_t)(start - buf))) != NULL) {
            *nl = '\0';
            handle_line(fr, start);
            start = nl + 1;
        }
        have -= (size_t)(start - buf);
        memmove(buf, start, have);
        if (have == sizeof(buf)) { /* a line longer than the buffer: cut it */
            buf[have - 1] = '\0';
            handle_line(fr, buf);
            have = 0;
        }
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;

    char where[128] = "";
    if (fr->in_command)
        snprintf(where, sizeof(where), " in line %u (%s)", fr->line, fr->type);
    char text[LINE_MAX_BYTES + 128] = "";
    if (timed_out)
        snprintf(text, sizeof(text), "timed out after %u s%s", opt->timeout_s, where);
    else if (WIFSIGNALED(status))
        snprintf(text, sizeof(text), "crashed: signal %d (%s)%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)), where);
    else if (fr->error != NULL)
        snprintf(text, sizeof(text), "could not run: %s", fr->error);
    else if (WEXITSTATUS(status) != 0)
        snprintf(text, sizeof(text), "exited with status %d%s", WEXITSTATUS(status), where);
    if (text[0] == '\0')
        return;
    unsigned long long done = fr->passed + fr->failed + fr->skipped;
    fr->unrun = fr->have_total && fr->total > done ? fr->total - done : 1;
    fr->failed += fr->unrun;
    fr->abnormal = strdup(text);
}

static void file_run_fini(struct file_run *fr)
{
    for (size_t i = 0; i < fr->nfails; i++)
        free(fr->fails[i]);
    free(fr->fails);
    free(fr->error);
    free(fr->abnormal);
}

/* ---- main --------------------------------------------------------------- */

static void process_file(const char *wast, const struct script_lists *lists,
                         const struct options *opt, struct totals *t)
{
    const char *shown = display_name(wast);
    char name[256];
    snprintf(name, sizeof(name), "%s", base_name(wast));
    char *dot = strrchr(name, '.');
    if (dot != NULL && strcmp(dot, ".wast") == 0)
        *dot = '\0';
    char json[PATH_MAX];
    int n = snprintf(json, sizeof(json), "%s/spec/%s/%s.json", opt->build, name, name);
    char why[PATH_MAX + 128];
    if (n < 0 || (size_t)n >= sizeof(json)) {
        printf("%s: 0 passed, 1 failed, 0 skipped\n  path too long\n", shown);
        t->failed++;
        return;
    }
    if (convert(wast, json, opt, why, sizeof(why)) != 0) {
        printf("%s: 0 passed, 1 failed, 0 skipped\n  %s\n", shown, why);
        t->failed++;
        return;
    }

    const char *reason = skip_list_match(lists->skips, base_name(wast));
    if (reason != NULL) {
        size_t count = 0;
        struct spry_report report;
        spry_report_init(&report);
        if (script_count(json, &count, &report) != 0 || count == 0)
            count = 1;
        printf("%s: 0 passed, 0 failed, %zu skipped (%s)\n", shown, count, reason);
        t->skipped += count;
        return;
    }

    struct file_run fr = {.verbose = opt->verbose};
    run_file(json, lists, opt, &fr);
    printf("%s: %llu passed, %llu failed, %llu skipped\n", shown, fr.passed, fr.failed, fr.skipped);
    for (size_t i = 0; i < fr.nfails; i++)
        printf("  %s\n", fr.fails[i]);
    unsigned long long listed = fr.nfails + fr.unrun;
    if (fr.failed > listed)
        printf("  ... %llu more failure(s); -v shows all\n", fr.failed - listed);
    if (fr.abnormal != NULL)
        printf("  %s: %llu command(s) not run or not finished count as failed\n", fr.abnormal,
               fr.unrun);
    fflush(stdout);
    t->passed += fr.passed;
    t->failed += fr.failed;
    t->skipped += fr.skipped;
    file_run_fini(&fr);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: spec-runner [--build DIR] [--suite DIR] [--skip FILE] [--messages FILE] "
                 "[--timeout SECONDS] [--feature NAME] [-v] [FILE.wast | NAME ...]\n");
}

int main(int argc, char **argv)
{
    struct options opt = {.timeout_s = DEFAULT_TIMEOUT_S};
    int first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        const char *a = argv[first];
        bool has_value = first + 1 < argc;
        if (strcmp(a, "--build") == 0 && has_value) {
            opt.build = argv[++first];
        } else if (strcmp(a, "--suite") == 0 && has_value) {
            opt.suite = argv[++first];
        } else if (strcmp(a, "--skip") == 0 && has_value) {
            opt.skip_file = argv[++first];
        } else if (strcmp(a, "--messages") == 0 && has_value) {
            opt.messages_file = argv[++first];
        } else if (strcmp(a, "--timeout") == 0 && has_value) {
            opt.timeout_s = (unsigned)strtoul(argv[++first], NULL, 10);
            if (opt.timeout_s == 0)
                opt.timeout_s = DEFAULT_TIMEOUT_S;
        } else if (strcmp(a, "--feature") == 0 && has_value) {
            if (opt.nfeatures == MAX_FEATURES) {
                fprintf(stderr, "spec-runner: at most %d --feature options\n", MAX_FEATURES);
                return 2;
            }
            opt.features[opt.nfeatures++] = argv[++first];
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            opt.verbose = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }

    char suite[PATH_MAX], skip_file[PATH_MAX], messages_file[PATH_MAX];
    const char *src = source_dir();
    if (opt.build == NULL)
        opt.build = build_dir();
    if (opt.suite == NULL) {
        if (find_suite(src, suite, sizeof(suite)) != 0) {
            fprintf(stderr,
                    "spec-runner: no shared/conformance/wasm-spec/core beside %s or "
                    "its parents (use --suite)\n",
                    src);
            printf("0 passed, 1 failed, 0 skipped\n");
            return 1;
        }
        opt.suite = suite;
    }
    if (opt.skip_file == NULL) {
        if (path_join(skip_file, sizeof(skip_file), src, "tests/spec/skip.txt") == NULL)
            return 2;
        opt.skip_file = skip_file;
    }
    if (opt.messages_file == NULL) {
        if (path_join(messages_file, sizeof(messages_file), src, "tests/spec/messages.txt") == NULL)
            return 2;
        opt.messages_file = messages_file;
    }

    struct skip_list skips, messages;
    struct script_lists lists = {.skips = &skips, .messages = &messages};
    struct spry_report report;
    spry_report_init(&report);
    if (skip_list_load(&skips, opt.skip_file, &report) != 0) {
        fprintf(stderr, "spec-runner: %s\n", report.message);
        printf("0 passed, 1 failed, 0 skipped\n");
        return 1;
    }
    if (skip_list_load(&messages, opt.messages_file, &report) != 0 ||
        skip_list_check_messages(&messages, &report) != 0) {
        fprintf(stderr, "spec-runner: %s\n", report.message);
        printf("0 passed, 1 failed, 0 skipped\n");
        skip_list_fini(&skips);
        return 1;
    }

    struct totals t = {0};
    if (first < argc) {
        for (int i = first; i < argc; i++) {
            char path[PATH_MAX];
            const char *wast = argv[i];
            if (!is_file(wast) && strchr(wast, '/') == NULL) {
                /* A bare name: NAME or NAME.wast in the suite. */
                const char *ext = strstr(wast, ".wast") ? "" : ".wast";
                snprintf(path, sizeof(path), "%s/%s%s", opt.suite, wast, ext);
                wast = path;
            }
            process_file(wast, &lists, &opt, &t);
        }
    } else {
        char pattern[PATH_MAX];
        glob_t g;
        if (path_join(pattern, sizeof(pattern), opt.suite, "*.wast") == NULL ||
            glob(pattern, 0, NULL, &g) != 0) {
            fprintf(stderr, "spec-runner: no .wast files in %s\n", opt.suite);
            t.failed++;
        } else {
            for (size_t i = 0; i < g.gl_pathc; i++)
                process_file(g.gl_pathv[i], &lists, &opt, &t);
            globfree(&g);
        }
    }
    skip_list_fini(&skips);
    skip_list_fini(&messages);
    printf("%llu passed, %llu failed, %llu skipped\n", t.passed, t.failed, t.skipped);
    return t.failed > 0 ? 1 : 0;
}

/*
 * spry up: serve a Spin application (the spry-up program; `spry up` runs it).
 *
 *   spry up [-f FILE|DIR] [--listen ADDR] [--env K=V]... [--state-dir DIR]
 *           [--quiet] [--request-timeout D] [--max-instances N] [--max-queue N]
 *           [--max-body BYTES] [--tls-cert FILE --tls-key FILE]
 */
#include "cli/commands.h"

#include "app/serve.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_ENV = 256 };

static void up_usage(FILE *out)
{
    fprintf(out,
            "usage: spry up [options]\n"
            "  -f, --from FILE|DIR     the manifest (default: spin.toml in the current directory)\n"
            "  --listen ADDR           address to listen on (default 127.0.0.1:3000)\n"
            "  --env K=V               environment variable for every component (repeatable)\n"
            "  --state-dir DIR         logs and staged files (default: .spin beside the manifest)\n"
            "  --quiet                 guest stderr only to the logs, not the terminal\n"
            "  --request-timeout D     deadline per request: 30s, 500ms, 2m (default 30s)\n"
            "  --max-instances N       instances running at once (default 64)\n"
            "  --max-queue N           requests that may wait for an instance (default 1024;\n"
            "                          beyond it 503)\n"
            "  --max-body BYTES        request body limit (default 16 MiB)\n"
            "  --tls-cert FILE, --tls-key FILE   serve HTTPS (and h2 by ALPN)\n");
}

/* "30s", "500ms", "2m", "45" (seconds) -> milliseconds; 0 on error. */
static uint32_t parse_duration(const char *text)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || v <= 0)
        return 0;
    double ms = strcmp(end, "ms") == 0           ? v
                : strcmp(end, "s") == 0 || !*end ? v * 1e3
                : strcmp(end, "m") == 0          ? v * 60e3
                                                 : -1;
    return ms >= 1 && ms <= 86400e3 ? (uint32_t)ms : 0;
}

static bool parse_count(const char *text, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v == 0 || v > max || text[0] == '-')
        return false;
    *out = v;
    return true;
}

static void ready(void *user, const char *banner)
{
    (void)user;
    printf("%s\n", banner);
    fflush(stdout);
}

static void on_signal(int sig)
{
    (void)sig;
    app_serve_stop();
}

int cli_up(int argc, char **argv)
{
    struct app_serve_options opt = {.manifest = "spin.toml", .on_ready = ready};
    const char *env[MAX_ENV];
    size_t nenv = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            up_usage(stdout);
            return 0;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            opt.quiet = true;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr,
                    "spry up: unknown option or missing value: '%s' (see 'spry up "
                    "--help')\n",
                    a);
            return 2;
        }
        i++;
        if (strcmp(a, "-f") == 0 || strcmp(a, "--from") == 0 || strcmp(a, "--file") == 0) {
            opt.manifest = v;
        } else if (strcmp(a, "--listen") == 0) {
            opt.listen = v;
        } else if (strcmp(a, "--state-dir") == 0) {
            opt.state_dir = v;
        } else if (strcmp(a, "--tls-cert") == 0) {
            opt.tls_cert = v;
        } else if (strcmp(a, "--tls-key") == 0) {
            opt.tls_key = v;
        } else if (strcmp(a, "--env") == 0 || strcmp(a, "-e") == 0) {
            if (strchr(v, '=') == NULL || v[0] == '=' || nenv == MAX_ENV) {
                fprintf(stderr, "spry up: --env needs KEY=VALUE, got '%s'\n", v);
                return 2;
            }
            env[nenv++] = v;
        } else if (strcmp(a, "--request-timeout") == 0) {
            opt.request_timeout_ms = parse_duration(v);
            if (opt.request_timeout_ms == 0) {
                fprintf(stderr,
                        "spry up: --request-timeout needs a duration like 30s or "
                        "500ms, got '%s'\n",
                        v);
                return 2;
            }
        } else if (strcmp(a, "--max-instances") == 0 && parse_count(v, 65536, &n)) {
            opt.max_instances = (uint32_t)n;
        } else if (strcmp(a, "--max-queue") == 0 && parse_count(v, 1u << 20, &n)) {
            opt.max_queue = (uint32_t)n;
        } else if (strcmp(a, "--max-body") == 0 && parse_count(v, (uint64_t)1 << 40, &n)) {
            opt.max_body_bytes = n;
        } else {
            fprintf(stderr, "spry up: invalid option '%s %s' (see 'spry up --help')\n", a, v);
            return 2;
        }
    }
    if ((opt.tls_cert == NULL) != (opt.tls_key == NULL)) {
        fprintf(stderr, "spry up: --tls-cert and --tls-key go together\n");
        return 2;
    }
    opt.env = env;
    opt.nenv = nenv;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct spry_report report;
    spry_report_init(&report);
    int rc = app_serve(&opt, &report);
    if (rc != 0) {
        fprintf(stderr, "spry up: %s\n", report.message[0] ? report.message : spry_strerror(rc));
        return 1;
    }
    return 0;
}

#include "base/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -1 until the environment was read. */
static atomic_int threshold = -1;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static int threshold_from_env(void)
{
    const char *env = getenv("SPRY_LOG");
    if (env != NULL) {
        for (int i = 0; i <= SPRY_LOG_DEBUG; i++) {
            if (strcmp(env, level_names[i]) == 0)
                return i;
        }
    }
    return SPRY_LOG_INFO;
}

void spry_log_set_level(enum spry_log_level level)
{
    atomic_store(&threshold, (int)level);
}

int spry_log_enabled(enum spry_log_level level)
{
    int t = atomic_load(&threshold);
    if (t < 0) {
        t = threshold_from_env();
        atomic_store(&threshold, t);
    }
    return (int)level <= t;
}

void spry_log(enum spry_log_level level, const char *fmt, ...)
{
    if (!spry_log_enabled(level))
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fprintf per line keeps lines from threads whole. */
    fprintf(stderr, "spry: %s: %s\n", level_names[level], line);
}

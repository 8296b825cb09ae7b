/*
 * What the three runners (native_main.c, driver.c, run-node.mjs) share: the
 * command line "<n> <repetitions>" and the one result line run.sh parses,
 *
 *     checksum=<16 hex digits> median_ms=<ms> min_ms=<ms> reps=<count>
 *
 * (driver.c appends translation figures to the same line).
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define BENCH_MAX_REPS 100

static inline double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts `v` and returns its median (the mean of the middle two for an even
 * count). */
static inline double bench_median(double *v, int count)
{
    qsort(v, (size_t)count, sizeof *v, bench_cmp_double);
    return count % 2 ? v[count / 2] : (v[count / 2 - 1] + v[count / 2]) / 2;
}

/* Parses "<n> <reps>" from argv[first], argv[first + 1]; 0 or -1. */
static inline int bench_parse_args(char **argv, int first, uint32_t *n, int *reps)
{
    char *end;
    unsigned long long nv = strtoull(argv[first], &end, 10);
    if (*argv[first] == '\0' || *end != '\0' || nv > UINT32_MAX)
        return -1;
    long rv = strtol(argv[first + 1], &end, 10);
    if (*argv[first + 1] == '\0' || *end != '\0' || rv < 1 || rv > BENCH_MAX_REPS)
        return -1;
    *n = (uint32_t)nv;
    *reps = (int)rv;
    return 0;
}

#endif

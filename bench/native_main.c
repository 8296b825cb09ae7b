/*
 * Native runner: links one kernel compiled for the host and times run(n).
 * Usage: <kernel> <n> <repetitions>. Prints the line described in bench.h.
 */
#include "bench.h"
#include "kernels/kernel.h"

#include <inttypes.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    uint32_t n;
    int reps;
    if (argc != 3 || bench_parse_args(argv, 1, &n, &reps) != 0) {
        fprintf(stderr, "usage: %s <n> <repetitions 1..%d>\n", argv[0], BENCH_MAX_REPS);
        return 2;
    }
    double ms[BENCH_MAX_REPS];
    uint64_t checksum = 0;
    for (int i = 0; i < reps; i++) {
        double t0 = bench_now_ms();
        uint64_t c = run(n);
        ms[i] = bench_now_ms() - t0;
        if (i > 0 && c != checksum) {
            fprintf(stderr,
                    "checksum differs between repetitions: %016" PRIx64 " then %016" PRIx64 "\n",
                    checksum, c);
            return 1;
        }
        checksum = c;
    }
    double median = bench_median(ms, reps);
    printf("checksum=%016" PRIx64 " median_ms=%.3f min_ms=%.3f reps=%d\n", checksum, median, ms[0],
           reps);
    return 0;
}

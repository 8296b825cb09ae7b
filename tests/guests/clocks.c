/*
 * clock_res_get and clock_time_get for the four clocks, random_get and
 * sched_yield. Prints properties, never values: resolutions are positive,
 * realtime is after 2020 and agrees with time(), monotonic never goes back
 * and advances over a sleep, the CPU-time clocks advance over busy work.
 */
#include "guest.h"

#include <time.h>

static __wasi_timestamp_t now(__wasi_clockid_t id)
{
    __wasi_timestamp_t t = 0;
    int e = __wasi_clock_time_get(id, 1, &t);
    if (e != 0)
        printf("clock_time_get(%u): %s\n", (unsigned)id, errname(e));
    return t;
}

/* Spins for about 20 ms of monotonic time. */
static uint64_t busy(void)
{
    volatile uint64_t x = 1;
    __wasi_timestamp_t end = now(__WASI_CLOCKID_MONOTONIC) + 20000000;
    while (now(__WASI_CLOCKID_MONOTONIC) < end)
        for (int i = 0; i < 1000; i++)
            x = x * 6364136223846793005u + 1;
    return x;
}

int main(void)
{
    static const char *const names[] = {"realtime", "monotonic", "process_cputime",
                                        "thread_cputime"};
    for (__wasi_clockid_t id = 0; id < 4; id++) {
        __wasi_timestamp_t res = 0, t = 0;
        int e = __wasi_clock_res_get(id, &res);
        printf("%s res: %s, positive: %s, at most 1 s: %s\n", names[id], errname(e), yes(res > 0),
               yes(res <= 1000000000));
        e = __wasi_clock_time_get(id, 1, &t);
        printf("%s time: %s\n", names[id], errname(e));
    }
    __wasi_timestamp_t t;
    report("clock_res_get(4)", __wasi_clock_res_get(4, &t));
    report("clock_time_get(4)", __wasi_clock_time_get(4, 1, &t));
    report("clock_time_get(0xffffffff)", __wasi_clock_time_get(0xffffffffu, 1, &t));

    __wasi_timestamp_t rt = now(__WASI_CLOCKID_REALTIME);
    printf("realtime after 2020: %s\n", yes(rt > 1577836800ull * 1000000000ull));
    long long diff = (long long)time(NULL) - (long long)(rt / 1000000000ull);
    printf("realtime agrees with time(): %s\n", yes(diff >= -1 && diff <= 1));

    __wasi_timestamp_t m1 = now(__WASI_CLOCKID_MONOTONIC);
    int nondecreasing = 1;
    for (int i = 0; i < 1000; i++) {
        __wasi_timestamp_t m = now(__WASI_CLOCKID_MONOTONIC);
        nondecreasing &= m >= m1;
        m1 = m;
    }
    printf("monotonic never goes back: %s\n", yes(nondecreasing));
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 5000000};
    report_libc("nanosleep 5 ms", nanosleep(&ts, NULL));
    /* 4 ms, not 5: libuv's millisecond timers (node:wasi) can wake early. */
    printf("monotonic advances over the sleep: %s\n",
           yes(now(__WASI_CLOCKID_MONOTONIC) - m1 >= 4000000));

    __wasi_timestamp_t p1 = now(__WASI_CLOCKID_PROCESS_CPUTIME_ID);
    __wasi_timestamp_t t1 = now(__WASI_CLOCKID_THREAD_CPUTIME_ID);
    busy();
    __wasi_timestamp_t p2 = now(__WASI_CLOCKID_PROCESS_CPUTIME_ID);
    __wasi_timestamp_t t2 = now(__WASI_CLOCKID_THREAD_CPUTIME_ID);
    printf("process cputime advances over busy work: %s\n", yes(p2 > p1));
    printf("thread cputime advances over busy work: %s\n", yes(t2 > t1));
    struct timespec cs;
    report_libc("clock_gettime(CLOCK_MONOTONIC)", clock_gettime(CLOCK_MONOTONIC, &cs));

    uint8_t a[32], b[32], zero[32] = {0};
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    report("random_get 0 bytes", __wasi_random_get(a, 0));
    report("random_get 32 bytes", __wasi_random_get(a, sizeof a));
    report("random_get 32 more", __wasi_random_get(b, sizeof b));
    printf("random bytes not all zero: %s\n", yes(memcmp(a, zero, sizeof a) != 0));
    printf("two draws differ: %s\n", yes(memcmp(a, b, sizeof a) != 0));
    static uint8_t big[1 << 16];
    report("random_get 64 KiB", __wasi_random_get(big, sizeof big));
    report("sched_yield", __wasi_sched_yield());
    return 0;
}

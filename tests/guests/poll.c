/*
 * poll_oneoff: relative and absolute clock subscriptions, the earliest of
 * two clocks, fd_read/fd_write subscriptions on a file and stdout (ready at
 * once, so a long clock beside them does not fire), zero subscriptions
 * (EINVAL), and nanosleep (wasi-libc's poll_oneoff with one clock).
 */
#include "guest.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000ull

static __wasi_timestamp_t mono(void)
{
    __wasi_timestamp_t t = 0;
    __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t);
    return t;
}

static __wasi_subscription_t clock_sub(uint64_t ud, __wasi_timestamp_t timeout, int abs)
{
    __wasi_subscription_t s;
    memset(&s, 0, sizeof s);
    s.userdata = ud;
    s.u.tag = __WASI_EVENTTYPE_CLOCK;
    s.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    s.u.u.clock.timeout = timeout;
    s.u.u.clock.flags = abs ? __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME : 0;
    return s;
}

static __wasi_subscription_t fd_sub(uint64_t ud, int type, int fd)
{
    __wasi_subscription_t s;
    memset(&s, 0, sizeof s);
    s.userdata = ud;
    s.u.tag = type;
    if (type == __WASI_EVENTTYPE_FD_READ)
        s.u.u.fd_read.file_descriptor = fd;
    else
        s.u.u.fd_write.file_descriptor = fd;
    return s;
}

static int by_userdata(const void *a, const void *b)
{
    const __wasi_event_t *x = a, *y = b;
    return x->userdata < y->userdata ? -1 : x->userdata > y->userdata;
}

static void poll_show(const char *what, __wasi_subscription_t *subs, int nsubs)
{
    __wasi_event_t ev[4];
    __wasi_size_t n = 0;
    memset(ev, 0xff, sizeof ev);
    int e = __wasi_poll_oneoff(subs, ev, nsubs, &n);
    printf("%s: %s, %u event(s)", what, errname(e), (unsigned)n);
    qsort(ev, n, sizeof ev[0], by_userdata);
    for (__wasi_size_t i = 0; i < n && i < 4; i++)
        printf(" [userdata %llu type %d error %s]", (unsigned long long)ev[i].userdata, ev[i].type,
               errname(ev[i].error));
    printf("\n");
}

int main(void)
{
    __wasi_subscription_t s[3];
    __wasi_timestamp_t t0 = mono();
    s[0] = clock_sub(41, 10 * MS, 0);
    poll_show("relative 10 ms", s, 1);
    printf("at least 10 ms passed: %s\n", yes(mono() - t0 >= 10 * MS));

    t0 = mono();
    s[0] = clock_sub(42, t0 + 10 * MS, 1);
    poll_show("absolute now+10 ms", s, 1);
    printf("reached the deadline: %s\n", yes(mono() >= t0 + 10 * MS));

    s[0] = clock_sub(43, 0, 0);
    poll_show("timeout 0", s, 1);
    s[0] = clock_sub(44, 1, 1);
    poll_show("absolute deadline in the past", s, 1);

    t0 = mono();
    s[0] = clock_sub(1, 5000 * MS, 0);
    s[1] = clock_sub(2, 10 * MS, 0);
    poll_show("5 s and 10 ms clocks", s, 2);
    printf("returned well before 5 s: %s\n", yes(mono() - t0 < 4000 * MS));

    int fd = open("/sb/hello.txt", O_RDONLY);
    t0 = mono();
    s[0] = clock_sub(1, 5000 * MS, 0);
    s[1] = fd_sub(2, __WASI_EVENTTYPE_FD_READ, fd);
    s[2] = fd_sub(3, __WASI_EVENTTYPE_FD_WRITE, 1);
    poll_show("5 s clock, file readable, stdout writable", s, 3);
    printf("returned well before 5 s: %s\n", yes(mono() - t0 < 4000 * MS));
    s[0] = fd_sub(7, __WASI_EVENTTYPE_FD_READ, fd);
    poll_show("file readable", s, 1);

    __wasi_size_t n;
    __wasi_event_t ev;
    report("poll_oneoff with 0 subscriptions", __wasi_poll_oneoff(s, &ev, 0, &n));

    t0 = mono();
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 20 * MS};
    report_libc("nanosleep 20 ms", nanosleep(&ts, NULL));
    printf("at least 19 ms passed: %s\n", yes(mono() - t0 >= 19 * MS));
    report_libc("usleep 1000", usleep(1000));
    return 0;
}

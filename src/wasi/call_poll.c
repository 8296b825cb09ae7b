/*
 * poll_oneoff: clock subscriptions (relative or absolute, realtime or
 * monotonic) and fd read/write readiness, with poll(2) (ppoll for
 * nanosecond timeouts) or clock_nanosleep when only clocks are waited on.
 *
 * Semantics: all subscriptions are checked first; an fd subscription on a
 * bad fd produces an event carrying the error (EBADF/ENOTCAPABLE) rather
 * than failing the call, as wasmtime does. When some event is ready at
 * once, nothing blocks. Otherwise the call waits for the first fd event or
 * the earliest clock deadline; every clock whose deadline has passed on
 * return yields an event. Streams in memory (stdin from bytes, captured
 * output) are always ready.
 */
#include "base/alloc.h"
#include "wasi/ctx.h"
#include "wasi/funcs.h"

#include <errno.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
    WASI_EVENT_CLOCK = 0,
    WASI_EVENT_FD_READ = 1,
    WASI_EVENT_FD_WRITE = 2,
    WASI_SUBCLOCK_ABSTIME = 1,
    WASI_EVENTRW_HANGUP = 1,
    MAX_SUBSCRIPTIONS = 1 << 16,
};

struct sub {
    uint64_t userdata;
    uint8_t tag;
    uint16_t error;    /* fd subscriptions: found at once */
    bool ready;        /* fd subscriptions: ready without polling */
    uint64_t nbytes;   /* ready streams */
    int poll_index;    /* into the pollfd array, or -1 */
    uint64_t deadline; /* clocks: CLOCK_MONOTONIC ns */
};

static uint64_t now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

static void put_event(struct wasi_call *c, uint32_t at, const struct sub *s, uint16_t error,
                      uint64_t nbytes, uint16_t flags)
{
    memset(c->mem + at, 0, WASI_EVENT_SIZE);
    wasi_mark(c, at, WASI_EVENT_SIZE);
    wasi_store64(c, at, s->userdata);
    wasi_store16(c, at + 8, error);
    c->mem[at + 10] = s->tag;
    wasi_store64(c, at + 16, nbytes);
    wasi_store16(c, at + 24, flags);
}

/* Bytes readable without blocking, as far as the host says. */
static uint64_t readable(int fd)
{
    int n = 0;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        off_t pos = lseek(fd, 0, SEEK_CUR);
        return pos >= 0 && st.st_size > pos ? (uint64_t)(st.st_size - pos) : 0;
    }
    return ioctl(fd, FIONREAD, &n) == 0 && n > 0 ? (uint64_t)n : 0;
}

/* Reads subscription i into *s; adds fds to pfd. WASI errno or 0. */
static int parse(struct wasi_call *c, uint32_t at, struct sub *s, struct pollfd *pfd, int *npfd)
{
    s->userdata = wasi_load64(c, at);
    s->tag = c->mem[at + 8];
    s->poll_index = -1;
    if (s->tag == WASI_EVENT_CLOCK) {
        uint32_t id = wasi_load32(c, at + 16);
        uint64_t timeout = wasi_load64(c, at + 24);
        uint16_t flags;
        memcpy(&flags, c->mem + at + 40, 2);
        if (id > 1)
            return WASI_EINVAL; /* CPU-time clocks cannot be waited on */
        uint64_t mono = now_ns(CLOCK_MONOTONIC);
        if (!(flags & WASI_SUBCLOCK_ABSTIME)) {
            s->deadline = add_sat(mono, timeout);
        } else if (id == 1) {
            s->deadline = timeout;
        } else {
            uint64_t real = now_ns(CLOCK_REALTIME);
            s->deadline = timeout <= real ? mono : add_sat(mono, timeout - real);
        }
        return 0;
    }
    if (s->tag != WASI_EVENT_FD_READ && s->tag != WASI_EVENT_FD_WRITE)
        return WASI_EINVAL;
    struct wasi_fd *f;
    int rc = wasi_fd_get(c->wasi, wasi_load32(c, at + 16), WASI_RIGHT_POLL_FD_READWRITE, &f);
    if (rc != 0) {
        s->error = (uint16_t)rc;
        return 0;
    }
    if (f->stream != NULL) {
        s->ready = true;
        if (s->tag == WASI_EVENT_FD_READ && f->stream->kind == WASI_STREAM_IN_BYTES)
            s->nbytes = f->stream->in_len - f->stream->in_pos;
        return 0;
    }
    s->poll_index = *npfd;
    pfd[*npfd].fd = f->host;
    pfd[*npfd].events = s->tag == WASI_EVENT_FD_READ ? POLLIN : POLLOUT;
    pfd[*npfd].revents = 0;
    (*npfd)++;
    return 0;
}

static int wait_for(struct pollfd *pfd, int npfd, uint64_t deadline, bool block)
{
    for (;;) {
        uint64_t now = now_ns(CLOCK_MONOTONIC);
        uint64_t left = !block || deadline <= now ? 0 : deadline - now;
        struct timespec ts = {.tv_sec = (time_t)(left / 1000000000u),
                              .tv_nsec = (long)(left % 1000000000u)};
        if (left / 1000000000u > (uint64_t)INT32_MAX)
            ts.tv_sec = INT32_MAX;
        int r;
        if (npfd == 0) {
            if (left == 0)
                return 0;
            struct timespec abs = {.tv_sec = (time_t)(deadline / 1000000000u),
                                   .tv_nsec = (long)(deadline % 1000000000u)};
            r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL);
            if (r == EINTR)
                continue;
            return r == 0 ? 0 : wasi_errno_from_host(r);
        }
        r = ppoll(pfd, (nfds_t)npfd, deadline == UINT64_MAX && block ? NULL : &ts, NULL);
        if (r < 0 && errno == EINTR)
            continue;
        return r < 0 ? wasi_errno_from_host(errno) : 0;
    }
}

int wasi_poll_oneoff(struct wasi_call *c)
{
    uint32_t in = wasi_arg32(c, 0), out = wasi_arg32(c, 1), n = wasi_arg32(c, 2);
    uint32_t nevents_ptr = wasi_arg32(c, 3);
    if (n == 0)
        return WASI_EINVAL;
    if (!wasi_mem_ok(c, in, (uint64_t)n * WASI_SUBSCRIPTION_SIZE) ||
        !wasi_mem_ok(c, out, (uint64_t)n * WASI_EVENT_SIZE) || wasi_out_ok(c, nevents_ptr, 4))
        return WASI_EFAULT;
    if (n > MAX_SUBSCRIPTIONS)
        return WASI_ENOTSUP; /* bounds the host arrays below */
    struct sub *subs = spry_calloc(n, sizeof *subs);
    struct pollfd *pfd = spry_calloc(n, sizeof *pfd);
    int rc = WASI_ENOMEM, npfd = 0;
    if (subs == NULL || pfd == NULL)
        goto done;
    uint64_t earliest = UINT64_MAX;
    bool ready_now = false;
    for (uint32_t i = 0; i < n; i++) {
        rc = parse(c, in + i * WASI_SUBSCRIPTION_SIZE, &subs[i], pfd, &npfd);
        if (rc != 0)
            goto done;
        if (subs[i].tag == WASI_EVENT_CLOCK && subs[i].deadline < earliest)
            earliest = subs[i].deadline;
        if (subs[i].tag != WASI_EVENT_CLOCK && (subs[i].error != 0 || subs[i].ready))
            ready_now = true;
    }
    if (!ready_now)
        wasi_streams_flush(c->wasi, NULL); /* output shows before the guest sleeps */
    rc = wait_for(pfd, npfd, earliest, !ready_now);
    if (rc != 0)
        goto done;
    uint64_t now = now_ns(CLOCK_MONOTONIC);
    uint32_t nev = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct sub *s = &subs[i];
        uint32_t at = out + nev * WASI_EVENT_SIZE;
        if (s->tag == WASI_EVENT_CLOCK) {
            if (s->deadline <= now) {
                put_event(c, at, s, 0, 0, 0);
                nev++;
            }
        } else if (s->error != 0 || s->ready) {
            put_event(c, at, s, s->error, s->nbytes, 0);
            nev++;
        } else {
            short re = pfd[s->poll_index].revents;
            if (re == 0)
                continue;
            uint16_t error = re & POLLNVAL ? WASI_EBADF : 0;
            uint16_t flags = re & POLLHUP ? WASI_EVENTRW_HANGUP : 0;
            uint64_t nbytes = s->tag == WASI_EVENT_FD_READ ? readable(pfd[s->poll_index].fd) : 0;
            put_event(c, at, s, error, nbytes, flags);
            nev++;
        }
    }
    wasi_store32(c, nevents_ptr, nev);
    rc = 0;
done:
    spry_free(pfd);
    spry_free(subs);
    return rc;
}

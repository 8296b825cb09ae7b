/* Filestat records and set_times arguments, shared by fd_* and path_*. */
#include "wasi/abi.h"
#include "wasi/ctx.h"

#include <sys/stat.h>
#include <time.h>

static uint64_t ns_of(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

void wasi_put_filestat(struct wasi_call *c, uint32_t ptr, const struct stat *st)
{
    memset(c->mem + ptr, 0, WASI_FILESTAT_SIZE);
    wasi_mark(c, ptr, WASI_FILESTAT_SIZE);
    wasi_store64(c, ptr + 0, (uint64_t)st->st_dev);
    wasi_store64(c, ptr + 8, (uint64_t)st->st_ino);
    c->mem[ptr + 16] = wasi_filetype_of_mode(st->st_mode);
    wasi_store64(c, ptr + 24, (uint64_t)st->st_nlink);
    wasi_store64(c, ptr + 32, (uint64_t)st->st_size);
    wasi_store64(c, ptr + 40, ns_of(&st->st_atim));
    wasi_store64(c, ptr + 48, ns_of(&st->st_mtim));
    wasi_store64(c, ptr + 56, ns_of(&st->st_ctim));
}

static void time_of(uint64_t ns, bool set, bool now, struct timespec *ts)
{
    if (now) {
        ts->tv_sec = 0;
        ts->tv_nsec = UTIME_NOW;
    } else if (set) {
        ts->tv_sec = (time_t)(ns / 1000000000u);
        ts->tv_nsec = (long)(ns % 1000000000u);
    } else {
        ts->tv_sec = 0;
        ts->tv_nsec = UTIME_OMIT;
    }
}

int wasi_times(uint64_t atim, uint64_t mtim, uint32_t fl, struct timespec *ts)
{
    if (((fl & WASI_FSTFLAG_ATIM) && (fl & WASI_FSTFLAG_ATIM_NOW)) ||
        ((fl & WASI_FSTFLAG_MTIM) && (fl & WASI_FSTFLAG_MTIM_NOW)) || fl > 0xf)
        return WASI_EINVAL;
    time_of(atim, fl & WASI_FSTFLAG_ATIM, fl & WASI_FSTFLAG_ATIM_NOW, &ts[0]);
    time_of(mtim, fl & WASI_FSTFLAG_MTIM, fl & WASI_FSTFLAG_MTIM_NOW, &ts[1]);
    return 0;
}

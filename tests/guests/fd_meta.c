/*
 * fd_fdstat_get (file type, flags, rights), fd_fdstat_set_flags,
 * fd_fdstat_set_rights, fd_filestat_get, fd_filestat_set_size,
 * fd_filestat_set_times, fd_prestat_get, fd_prestat_dir_name, fd_renumber
 * and fd_close. One pre-open: /sb (fd 3).
 *
 * fd_fdstat_set_rights follows the WASI preview 1 text (rights may shrink,
 * never grow: ENOTCAPABLE); wasmtime has answered ENOTSUP since rights were
 * dropped from its implementation.
 */
#include "guest.h"

#include <fcntl.h>
#include <unistd.h>

#define SEC 1000000000ull

static const char *ftype(int t)
{
    static const char *const n[] = {"UNKNOWN",       "BLOCK_DEVICE", "CHARACTER_DEVICE",
                                    "DIRECTORY",     "REGULAR_FILE", "SOCKET_DGRAM",
                                    "SOCKET_STREAM", "SYMBOLIC_LINK"};
    return t >= 0 && t < 8 ? n[t] : "?";
}

static void show_fdstat(const char *what, int fd)
{
    __wasi_fdstat_t st;
    int e = __wasi_fd_fdstat_get(fd, &st);
    if (e != 0) {
        printf("%s fdstat: %s\n", what, errname(e));
        return;
    }
    if (st.fs_filetype == __WASI_FILETYPE_DIRECTORY)
        printf("%s fdstat: %s, flags 0x%x, path_open %s, readdir %s\n", what, ftype(st.fs_filetype),
               st.fs_flags, yes(st.fs_rights_base & __WASI_RIGHTS_PATH_OPEN),
               yes(st.fs_rights_base & __WASI_RIGHTS_FD_READDIR));
    else
        printf("%s fdstat: %s, flags 0x%x, read %s, write %s\n", what, ftype(st.fs_filetype),
               st.fs_flags, yes(st.fs_rights_base & __WASI_RIGHTS_FD_READ),
               yes(st.fs_rights_base & __WASI_RIGHTS_FD_WRITE));
}

static void show_prestat(int fd)
{
    __wasi_prestat_t ps;
    int e = __wasi_fd_prestat_get(fd, &ps);
    if (e != 0) {
        printf("prestat %d: %s\n", fd, errname(e));
        return;
    }
    char name[64] = {0};
    size_t len = ps.u.dir.pr_name_len;
    e = len < sizeof name ? __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, len) : -1;
    printf("prestat %d: tag %d, name_len %zu, name [%s] (%s)\n", fd, ps.tag, len, name, errname(e));
}

static void show_filestat(const char *what, int fd)
{
    __wasi_filestat_t st;
    int e = __wasi_fd_filestat_get(fd, &st);
    if (e != 0) {
        printf("%s filestat: %s\n", what, errname(e));
        return;
    }
    printf("%s filestat: %s, size %llu, nlink %llu\n", what, ftype(st.filetype),
           (unsigned long long)st.size, (unsigned long long)st.nlink);
}

int main(void)
{
    show_fdstat("fd 3 (/sb)", 3);
    __wasi_fdstat_t st;
    __wasi_fd_fdstat_get(3, &st) == 0 &&
        printf("/sb inherits read %s, write %s\n",
               yes(st.fs_rights_inheriting & __WASI_RIGHTS_FD_READ),
               yes(st.fs_rights_inheriting & __WASI_RIGHTS_FD_WRITE));
    show_prestat(3);
    show_prestat(4);
    show_prestat(0);
    show_prestat(1000);

    int ro = open("/sb/hello.txt", O_RDONLY);
    report_libc("open hello.txt O_RDONLY", ro);
    show_fdstat("O_RDONLY", ro);
    show_prestat(ro);
    __wasi_size_t n;
    __wasi_ciovec_t w = {(const uint8_t *)"no", 2};
    printf("fd_write on O_RDONLY: %s\n", no_right(__wasi_fd_write(ro, &w, 1, &n)));
    show_filestat("hello.txt", ro);

    int wo = open("/sb/meta.txt", O_WRONLY | O_CREAT | O_APPEND, 0644);
    report_libc("open meta.txt O_WRONLY|O_APPEND|O_CREAT", wo);
    show_fdstat("O_WRONLY|O_APPEND", wo);
    char c;
    __wasi_iovec_t r = {(uint8_t *)&c, 1};
    printf("fd_read on O_WRONLY: %s\n", no_right(__wasi_fd_read(wo, &r, 1, &n)));
    report("fd_close", __wasi_fd_close(wo));

    int fd = open("/sb/meta.txt", O_RDWR);
    report_libc("open meta.txt O_RDWR", fd);
    show_fdstat("O_RDWR", fd);
    __wasi_ciovec_t w1 = {(const uint8_t *)"0123456789", 10};
    report("fd_write 10", __wasi_fd_write(fd, &w1, 1, &n));
    report("fd_fdstat_set_flags APPEND", __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_APPEND));
    show_fdstat("after set APPEND", fd);
    __wasi_filesize_t pos;
    __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos);
    __wasi_ciovec_t w2 = {(const uint8_t *)"ab", 2};
    report("fd_write ab at 0 with APPEND", __wasi_fd_write(fd, &w2, 1, &n));
    char buf[32] = {0};
    __wasi_iovec_t rb = {(uint8_t *)buf, sizeof buf - 1};
    __wasi_fd_pread(fd, &rb, 1, 0, &n);
    printf("content [%.*s]\n", (int)n, buf);
    report("fd_fdstat_set_flags 0", __wasi_fd_fdstat_set_flags(fd, 0));
    show_fdstat("after clearing", fd);
    __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos);
    __wasi_ciovec_t w3 = {(const uint8_t *)"Q", 1};
    report("fd_write Q at 0", __wasi_fd_write(fd, &w3, 1, &n));
    __wasi_fd_pread(fd, &rb, 1, 0, &n);
    printf("content [%.*s]\n", (int)n, buf);

    show_filestat("meta.txt", fd);
    report("fd_filestat_set_size 3", __wasi_fd_filestat_set_size(fd, 3));
    show_filestat("after truncate", fd);
    report("fd_filestat_set_size 6", __wasi_fd_filestat_set_size(fd, 6));
    __wasi_fd_pread(fd, &rb, 1, 0, &n);
    printf("content %u: [%.3s] then %02x %02x %02x\n", (unsigned)n, buf, buf[3], buf[4], buf[5]);

    __wasi_filestat_t fs;
    report("fd_filestat_set_times ATIM|MTIM",
           __wasi_fd_filestat_set_times(fd, 1500000000 * SEC, 1600000000 * SEC,
                                        __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
    __wasi_fd_filestat_get(fd, &fs);
    printf("atim %llu s, mtim %llu s\n", (unsigned long long)(fs.atim / SEC),
           (unsigned long long)(fs.mtim / SEC));
    report("fd_filestat_set_times MTIM half second",
           __wasi_fd_filestat_set_times(fd, 0, 1234567890 * SEC + 500000000, __WASI_FSTFLAGS_MTIM));
    __wasi_fd_filestat_get(fd, &fs);
    printf("mtim %llu ns, atim kept %s\n", (unsigned long long)fs.mtim,
           yes(fs.atim == 1500000000 * SEC));
    report("fd_filestat_set_times ATIM|ATIM_NOW",
           __wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW));
    report("fd_filestat_set_times MTIM_NOW",
           __wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
    __wasi_timestamp_t now;
    __wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &now);
    __wasi_fd_filestat_get(fd, &fs);
    printf("mtim now within 5 s: %s\n", yes(fs.mtim + 5 * SEC > now && fs.mtim < now + 5 * SEC));

    /* Rights only shrink. */
    __wasi_fd_fdstat_get(fd, &st);
    report("fd_fdstat_set_rights without FD_WRITE",
           __wasi_fd_fdstat_set_rights(fd, st.fs_rights_base & ~__WASI_RIGHTS_FD_WRITE,
                                       st.fs_rights_inheriting));
    show_fdstat("after dropping write", fd);
    printf("fd_write without the right: %s\n", no_right(__wasi_fd_write(fd, &w3, 1, &n)));
    report("fd_fdstat_set_rights adding FD_WRITE back",
           __wasi_fd_fdstat_set_rights(fd, st.fs_rights_base, st.fs_rights_inheriting));
    report("fd_pread still allowed", __wasi_fd_pread(fd, &rb, 1, 0, &n));

    /* fd_renumber: TO is replaced (closed first), FROM disappears. */
    int other = open("/sb/trunc.txt", O_RDONLY);
    report_libc("open trunc.txt", other);
    report("fd_renumber hello.txt fd onto trunc.txt fd", __wasi_fd_renumber(ro, other));
    show_fdstat("old fd", ro);
    __wasi_fd_pread(other, &rb, 1, 0, &n);
    printf("renumbered fd reads [%.*s]\n", (int)strcspn(buf, "\n"), buf);
    report("fd_renumber from closed fd", __wasi_fd_renumber(ro, other));
    report("fd_renumber onto closed fd 1000", __wasi_fd_renumber(other, 1000));
    report("fd_close", __wasi_fd_close(other));
    report("fd_close again", __wasi_fd_close(other));
    report("fd_close", __wasi_fd_close(fd));
    return 0;
}

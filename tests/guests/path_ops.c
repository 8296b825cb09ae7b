/*
 * path_open with every oflag (CREAT, DIRECTORY, EXCL, TRUNC) and fdflag
 * (APPEND, DSYNC, NONBLOCK, RSYNC, SYNC), path_create_directory,
 * path_remove_directory, path_rename, path_unlink_file, path_filestat_get
 * and path_filestat_set_times, through wasi-libc and raw where libc would
 * hide the call. All inside the pre-opened /sb (fd 3).
 */
#include "guest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEC 1000000000ull

static void show(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("stat %s: %s\n", path, errname(errno));
        return;
    }
    if (S_ISDIR(st.st_mode))
        printf("stat %s: directory\n", path);
    else
        printf("stat %s: %s, size %lld\n", path, S_ISREG(st.st_mode) ? "file" : "other",
               (long long)st.st_size);
}

static void content(const char *path)
{
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (n < 0)
        printf("read %s: %s\n", path, errname(errno));
    else
        printf("%s contains [%.*s]\n", path, (int)strcspn(buf, "\n"), buf);
    if (fd >= 0)
        close(fd);
}

static void open_flags(const char *what, __wasi_fdflags_t fl)
{
    __wasi_fd_t fd;
    int e = raw_open_rw(3, "hello.txt", 0, 0, fl, &fd);
    __wasi_fdstat_t st;
    if (e == 0 && __wasi_fd_fdstat_get(fd, &st) == 0)
        printf("path_open %s: ok, flag set: %s\n", what, yes((st.fs_flags & fl) == fl));
    else
        report(what, e);
    if (e == 0)
        __wasi_fd_close(fd);
}

int main(void)
{
    __wasi_fd_t fd;
    /* oflags */
    report("path_open new.txt CREAT", raw_open_rw(3, "new.txt", 0, __WASI_OFLAGS_CREAT, 0, &fd));
    show("/sb/new.txt");
    report("path_open new.txt CREAT|EXCL",
           raw_open_rw(3, "new.txt", 0, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, 0, &fd));
    report("path_open missing.txt", raw_open(3, "missing.txt", 0, 0, 0, &fd));
    report("path_open trunc.txt TRUNC",
           raw_open_rw(3, "trunc.txt", 0, __WASI_OFLAGS_TRUNC, 0, &fd));
    show("/sb/trunc.txt");
    report("path_open hello.txt DIRECTORY",
           raw_open(3, "hello.txt", 0, __WASI_OFLAGS_DIRECTORY, 0, &fd));
    report("path_open dir DIRECTORY", raw_open(3, "dir", 0, __WASI_OFLAGS_DIRECTORY, 0, &fd));
    report("path_open missing/x CREAT",
           raw_open_rw(3, "missing/x", 0, __WASI_OFLAGS_CREAT, 0, &fd));
    report_libc("open hello.txt/ (trailing slash)", open("/sb/hello.txt/", O_RDONLY));
    report_libc("open dir O_WRONLY", open("/sb/dir", O_WRONLY));
    report("path_open empty path", raw_open(3, "", 0, 0, 0, &fd));

    /* fdflags */
    int afd = open("/sb/app.txt", O_WRONLY | O_CREAT | O_APPEND, 0644);
    write(afd, "one\n", 4);
    lseek(afd, 0, SEEK_SET);
    write(afd, "two\n", 4);
    close(afd);
    struct stat st;
    stat("/sb/app.txt", &st);
    printf("O_APPEND writes both at the end: size %lld\n", (long long)st.st_size);
    open_flags("APPEND", __WASI_FDFLAGS_APPEND);
    open_flags("DSYNC", __WASI_FDFLAGS_DSYNC);
    open_flags("NONBLOCK", __WASI_FDFLAGS_NONBLOCK);
    open_flags("RSYNC", __WASI_FDFLAGS_RSYNC);
    open_flags("SYNC", __WASI_FDFLAGS_SYNC);

    /* directories */
    report_libc("mkdir newdir", mkdir("/sb/newdir", 0755));
    show("/sb/newdir");
    report_libc("mkdir newdir again", mkdir("/sb/newdir", 0755));
    report_libc("mkdir missing/x", mkdir("/sb/missing/x", 0755));
    report("path_create_directory over a file", __wasi_path_create_directory(3, "hello.txt"));
    report_libc("rmdir full (not empty)", rmdir("/sb/full"));
    report_libc("rmdir hello.txt", rmdir("/sb/hello.txt"));
    report_libc("rmdir missing", rmdir("/sb/missing"));
    report_libc("rmdir newdir", rmdir("/sb/newdir"));
    show("/sb/newdir");

    /* unlink */
    report_libc("unlink dir", unlink("/sb/dir"));
    report_libc("unlink new.txt", unlink("/sb/new.txt"));
    report_libc("unlink new.txt again", unlink("/sb/new.txt"));
    report("path_unlink_file hello.txt/", __wasi_path_unlink_file(3, "hello.txt/"));

    /* rename */
    report_libc("rename r1.txt r2.txt", rename("/sb/r1.txt", "/sb/r2.txt"));
    show("/sb/r1.txt");
    content("/sb/r2.txt");
    report_libc("rename r2.txt over app.txt", rename("/sb/r2.txt", "/sb/app.txt"));
    content("/sb/app.txt");
    report_libc("rename rd into dir/rd", rename("/sb/rd", "/sb/dir/rd"));
    show("/sb/dir/rd/x");
    report_libc("rename app.txt onto directory full", rename("/sb/app.txt", "/sb/full"));
    report_libc("rename full onto file app.txt", rename("/sb/full", "/sb/app.txt"));
    report_libc("rename dir/rd onto non-empty full", rename("/sb/dir/rd", "/sb/full"));
    report_libc("rename missing", rename("/sb/missing", "/sb/other"));
    report_libc("rename into missing dir", rename("/sb/app.txt", "/sb/missing/app.txt"));
    report("path_rename dir into itself", __wasi_path_rename(3, "dir", 3, "dir/sub/dir"));

    /* path_filestat_get / set_times */
    __wasi_filestat_t fs;
    report("path_filestat_get hello.txt", __wasi_path_filestat_get(3, 0, "hello.txt", &fs));
    printf("hello.txt: type %d, size %llu, nlink %llu\n", fs.filetype, (unsigned long long)fs.size,
           (unsigned long long)fs.nlink);
    report("path_filestat_get dir", __wasi_path_filestat_get(3, 0, "dir", &fs));
    printf("dir: type %d\n", fs.filetype);
    report("path_filestat_get missing", __wasi_path_filestat_get(3, 0, "missing", &fs));
    report("path_filestat_set_times ATIM|MTIM",
           __wasi_path_filestat_set_times(3, 0, "hello.txt", 1400000000 * SEC, 1300000000 * SEC,
                                          __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
    __wasi_path_filestat_get(3, 0, "hello.txt", &fs);
    printf("hello.txt atim %llu s, mtim %llu s\n", (unsigned long long)(fs.atim / SEC),
           (unsigned long long)(fs.mtim / SEC));
    report("path_filestat_set_times MTIM|MTIM_NOW",
           __wasi_path_filestat_set_times(3, 0, "hello.txt", 0, 0,
                                          __WASI_FSTFLAGS_MTIM | __WASI_FSTFLAGS_MTIM_NOW));
    report("path_filestat_set_times ATIM_NOW",
           __wasi_path_filestat_set_times(3, 0, "hello.txt", 0, 0, __WASI_FSTFLAGS_ATIM_NOW));
    __wasi_timestamp_t now;
    __wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &now);
    __wasi_path_filestat_get(3, 0, "hello.txt", &fs);
    printf("atim now within 5 s: %s, mtim kept: %s\n",
           yes(fs.atim + 5 * SEC > now && fs.atim < now + 5 * SEC),
           yes(fs.mtim / SEC == 1300000000));
    report("path_filestat_set_times missing",
           __wasi_path_filestat_set_times(3, 0, "missing", 0, 0, __WASI_FSTFLAGS_ATIM_NOW));
    return 0;
}

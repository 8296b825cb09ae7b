/*
 * path_symlink, path_readlink, path_link, and how lookups treat links:
 * path_filestat_get with and without SYMLINK_FOLLOW, path_open through a
 * link and refusing one without SYMLINK_FOLLOW (ELOOP, as O_NOFOLLOW),
 * dangling links, hard-link counts. Everything inside /sb (fd 3).
 */
#include "guest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW

static void lstat_type(const char *path, __wasi_lookupflags_t how)
{
    __wasi_filestat_t fs;
    int e = __wasi_path_filestat_get(3, how, path, &fs);
    if (e != 0)
        printf("filestat %s %s: %s\n", how ? "follow" : "nofollow", path, errname(e));
    else
        printf("filestat %s %s: type %d, size %llu\n", how ? "follow" : "nofollow", path,
               fs.filetype,
               fs.filetype == __WASI_FILETYPE_SYMBOLIC_LINK ? 0ull : (unsigned long long)fs.size);
}

static void readlink_show(const char *path)
{
    char buf[64];
    __wasi_size_t n = 0;
    int e = __wasi_path_readlink(3, path, (uint8_t *)buf, sizeof buf, &n);
    if (e != 0)
        printf("readlink %s: %s\n", path, errname(e));
    else
        printf("readlink %s: [%.*s] (%u bytes)\n", path, (int)n, buf, (unsigned)n);
}

int main(void)
{
    report("path_symlink hello.txt <- sl", __wasi_path_symlink("hello.txt", 3, "sl"));
    readlink_show("sl");
    lstat_type("sl", 0);
    lstat_type("sl", FOLLOW);
    __wasi_fd_t fd;
    report("path_open sl (follow)", raw_open(3, "sl", FOLLOW, 0, 0, &fd));
    char buf[32] = {0};
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf - 1};
    __wasi_size_t n = 0;
    __wasi_fd_read(fd, &iov, 1, &n);
    printf("read through the link: [%.*s]\n", (int)strcspn(buf, "\n"), buf);
    report("path_open sl (no follow)", raw_open(3, "sl", 0, 0, 0, &fd));
    readlink_show("hello.txt");
    readlink_show("missing");
    report("path_symlink onto an existing name", __wasi_path_symlink("x", 3, "hello.txt"));

    report("path_symlink nowhere <- dangling", __wasi_path_symlink("nowhere", 3, "dangling"));
    lstat_type("dangling", 0);
    lstat_type("dangling", FOLLOW);
    report("path_open dangling", raw_open(3, "dangling", FOLLOW, 0, 0, &fd));

    report("path_symlink dir <- dl", __wasi_path_symlink("dir", 3, "dl"));
    report("path_open dl/a.txt", raw_open(3, "dl/a.txt", FOLLOW, 0, 0, &fd));
    memset(buf, 0, sizeof buf);
    __wasi_fd_read(fd, &iov, 1, &n);
    printf("dl/a.txt: [%s]\n", buf);
    report("path_remove_directory dl (a link)", __wasi_path_remove_directory(3, "dl"));
    readlink_show("dir/link");
    lstat_type("dir/link", FOLLOW);
    report("path_open loop1", raw_open(3, "loop1", FOLLOW, 0, 0, &fd));
    lstat_type("loop1", FOLLOW);

    report("path_unlink_file sl", __wasi_path_unlink_file(3, "sl"));
    lstat_type("sl", 0);
    lstat_type("hello.txt", 0);

    report("path_link hello.txt -> hard", __wasi_path_link(3, 0, "hello.txt", 3, "hard"));
    __wasi_filestat_t a, b;
    __wasi_path_filestat_get(3, 0, "hello.txt", &a);
    __wasi_path_filestat_get(3, 0, "hard", &b);
    printf("nlink %llu and %llu, same inode: %s\n", (unsigned long long)a.nlink,
           (unsigned long long)b.nlink, yes(a.ino == b.ino && a.dev == b.dev));
    int w = open("/sb/hard", O_WRONLY | O_APPEND);
    write(w, "more\n", 5);
    close(w);
    __wasi_path_filestat_get(3, 0, "hello.txt", &a);
    printf("hello.txt grows through the hard link: size %llu\n", (unsigned long long)a.size);
    report("path_link onto an existing name", __wasi_path_link(3, 0, "hello.txt", 3, "trunc.txt"));
    report("path_link a directory", __wasi_path_link(3, 0, "dir", 3, "dir2"));
    report("path_link missing", __wasi_path_link(3, 0, "missing", 3, "m2"));
    report("path_unlink_file hard", __wasi_path_unlink_file(3, "hard"));
    __wasi_path_filestat_get(3, 0, "hello.txt", &a);
    printf("nlink back to %llu\n", (unsigned long long)a.nlink);
    return 0;
}

/*
 * fd_* and path_* semantics: errno choices, oflags, fdflags, rights,
 * readdir cookies, renumber, read-only preopens, and EFAULT for guest
 * pointers and lengths outside memory.
 */
#include "harness/test.h"
#include "unit/wasi/wasi_fixture.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

enum { P = 2048, IOV = 3000, BUF = 3100, OUT = 4096 };

/* fd_write of `s` through one iovec; returns errno, *n the count. */
static int write_str(struct wt *t, uint32_t fd, const char *s, uint32_t *n)
{
    uint32_t len = wt_put(t, BUF, s);
    wt_set_u32(t, IOV, BUF);
    wt_set_u32(t, IOV + 4, len);
    int e = WCALL(t, "fd_write", fd, IOV, 1, OUT);
    if (n != NULL)
        *n = wt_u32(t, OUT);
    return e;
}

static const char *read_host(const char *dir, const char *name)
{
    static char buf[256];
    char path[8400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    ASSERT_NOT_NULL(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

TEST(wasi_fd, bad_fds_are_ebadf)
{
    struct wt t;
    wt_setup(&t, NULL);
    ASSERT_EQ_INT(write_str(&t, 99, "x", NULL), E_BADF);
    ASSERT_EQ_INT(WCALL(&t, "fd_close", 99), E_BADF);
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_get", 1000000, OUT), E_BADF);
    ASSERT_EQ_INT(WCALL(&t, "fd_renumber", 3, 77), E_BADF);
    ASSERT_EQ_INT(WCALL(&t, "fd_prestat_get", 1, OUT), E_BADF); /* not a preopen */
    ASSERT_EQ_INT(wt_open(&t, 42, 0, "x", 0, R_ALL, 0, NULL), E_BADF);
    ASSERT_EQ_INT(WCALL(&t, "fd_close", 3), 0);
    ASSERT_EQ_INT(WCALL(&t, "fd_close", 3), E_BADF);
    wt_teardown(&t);
}

TEST(wasi_fd, oflags_and_errnos)
{
    struct wt t;
    wt_setup(&t, NULL);
    uint32_t fd;
    sandbox_write_file(t.box, "file", "0123456789");
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "missing", 0, R_ALL, 0, NULL), E_NOENT);
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "file", O_CREAT_ | O_EXCL_, R_ALL, 0, NULL), E_EXIST);
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "file", O_DIRECTORY_, R_ALL, 0, NULL), E_NOTDIR);
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "file/", 0, R_ALL, 0, NULL), E_NOTDIR);
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "file/x", 0, R_ALL, 0, NULL), E_NOTDIR);
    ASSERT_EQ_INT(wt_open(&t, 3, 0, ".", 0, R_FD_WRITE, 0, NULL), E_ISDIR);
    /* An fd that is not a directory as the base of a path. */
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "file", 0, R_ALL, 0, &fd), 0);
    ASSERT_EQ_INT(wt_open(&t, fd, 0, "x", 0, R_ALL, 0, NULL), E_NOTDIR);
    /* trunc empties; creat makes a new file. */
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "file", O_TRUNC_, R_ALL, 0, &fd), 0);
    ASSERT_EQ_STR(read_host(t.box, "file"), "");
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "new", O_CREAT_ | O_EXCL_, R_ALL, 0, &fd), 0);
    ASSERT_EQ_INT(write_str(&t, fd, "hello", NULL), 0);
    ASSERT_EQ_STR(read_host(t.box, "new"), "hello");
    /* directories */
    uint32_t len = wt_put(&t, P, "d");
    ASSERT_EQ_INT(WCALL(&t, "path_create_directory", 3, P, len), 0);
    ASSERT_EQ_INT(WCALL(&t, "path_create_directory", 3, P, len), E_EXIST);
    sandbox_write_file(t.box, "d/inner", "");
    ASSERT_EQ_INT(WCALL(&t, "path_remove_directory", 3, P, len), E_NOTEMPTY);
    ASSERT_EQ_INT(WCALL(&t, "path_unlink_file", 3, P, len), E_ISDIR);
    len = wt_put(&t, P, "new");
    ASSERT_EQ_INT(WCALL(&t, "path_remove_directory", 3, P, len), E_NOTDIR);
    len = wt_put(&t, P, "new/");
    ASSERT_EQ_INT(WCALL(&t, "path_unlink_file", 3, P, len), E_NOTDIR);
    len = wt_put(&t, P, "new");
    ASSERT_EQ_INT(WCALL(&t, "path_unlink_file", 3, P, len), 0);
    ASSERT_FALSE(sandbox_exists(t.box, "new"));
    ASSERT_EQ_INT(WCALL(&t, "proc_raise", 9), E_NOSYS);
    ASSERT_EQ_INT(WCALL(&t, "sched_yield"), 0);
    wt_teardown(&t);
}

TEST(wasi_fd, rights_are_enforced_and_only_shrink)
{
    struct wt t;
    wt_setup(&t, NULL);
    sandbox_write_file(t.box, "file", "abc");
    uint32_t fd, n;
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "file", 0, R_FD_READ | R_FD_SEEK, 0, &fd), 0);
    ASSERT_EQ_INT(write_str(&t, fd, "x", &n), E_NOTCAPABLE);
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_get", fd, OUT), 0);
    ASSERT_EQ_INT(t.mem[OUT], FT_REGULAR);
    ASSERT_EQ_UINT(wt_u64(&t, OUT + 8), R_FD_READ | R_FD_SEEK);
    /* Rights can be dropped, never added. */
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_set_rights", fd, R_FD_READ | R_FD_WRITE, 0), E_NOTCAPABLE);
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_set_rights", fd, R_FD_READ, 0), 0);
    ASSERT_EQ_INT(WCALL(&t, "fd_seek", fd, 1, 0, OUT), E_NOTCAPABLE);
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_set_rights", fd, R_FD_READ | R_FD_SEEK, 0), E_NOTCAPABLE);
    /* A directory has no read/seek rights. */
    ASSERT_EQ_INT(WCALL(&t, "fd_seek", 3, 0, 0, OUT), E_NOTCAPABLE);
    /* A directory without the create right cannot create. */
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_get", 4, OUT), 0);
    uint64_t base = wt_u64(&t, OUT + 8), inh = wt_u64(&t, OUT + 16);
    ASSERT_NE_UINT(base & R_PATH_CREATE_FILE, 0);
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_set_rights", 4, base & ~(uint64_t)R_PATH_CREATE_FILE, inh),
                  0);
    ASSERT_EQ_INT(wt_open(&t, 4, 0, "x", O_CREAT_, R_ALL, 0, NULL), E_NOTCAPABLE);
    ASSERT_FALSE(sandbox_exists(t.box2, "x"));
    wt_teardown(&t);
}

TEST(wasi_fd, read_write_seek_tell_pread_pwrite)
{
    struct wt t;
    wt_setup(&t, NULL);
    uint32_t fd, n;
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "f", O_CREAT_, R_ALL, 0, &fd), 0);
    ASSERT_EQ_INT(write_str(&t, fd, "hello world", &n), 0);
    ASSERT_EQ_UINT(n, 11);
    ASSERT_EQ_INT(WCALL(&t, "fd_tell", fd, OUT), 0);
    ASSERT_EQ_UINT(wt_u64(&t, OUT), 11);
    ASSERT_EQ_INT(WCALL(&t, "fd_seek", fd, (uint64_t)-5, 1, OUT), 0);
    ASSERT_EQ_UINT(wt_u64(&t, OUT), 6);
    ASSERT_EQ_INT(WCALL(&t, "fd_seek", fd, 0, 3, OUT), E_INVAL);
    wt_set_u32(&t, IOV, BUF);
    wt_set_u32(&t, IOV + 4, 100);
    ASSERT_EQ_INT(WCALL(&t, "fd_read", fd, IOV, 1, OUT), 0);
    ASSERT_EQ_UINT(wt_u32(&t, OUT), 5);
    ASSERT_EQ_MEM(t.mem + BUF, "world", 5);
    ASSERT_EQ_INT(WCALL(&t, "fd_pread", fd, IOV, 1, 0, OUT), 0);
    ASSERT_EQ_UINT(wt_u32(&t, OUT), 11);
    wt_put(&t, BUF, "J");
    wt_set_u32(&t, IOV + 4, 1);
    ASSERT_EQ_INT(WCALL(&t, "fd_pwrite", fd, IOV, 1, 0, OUT), 0);
    ASSERT_EQ_STR(read_host(t.box, "f"), "Jello world");
    ASSERT_EQ_INT(WCALL(&t, "fd_filestat_set_size", fd, 5), 0);
    ASSERT_EQ_INT(WCALL(&t, "fd_filestat_get", fd, OUT), 0);
    ASSERT_EQ_UINT(wt_u64(&t, OUT + 32), 5);
    ASSERT_EQ_INT(t.mem[OUT + 16], FT_REGULAR);
    ASSERT_EQ_INT(WCALL(&t, "fd_filestat_set_times", fd, 1000000000ull * 1000, 0, 1 | 8), 0);
    struct stat st;
    char path[8400];
    snprintf(path, sizeof path, "%s/f", t.box);
    ASSERT_EQ_INT(stat(path, &st), 0);
    ASSERT_EQ_INT(st.st_atime, 1000);
    ASSERT_EQ_INT(WCALL(&t, "fd_filestat_set_times", fd, 0, 0, 1 | 2), E_INVAL);
    ASSERT_EQ_INT(WCALL(&t, "fd_advise", fd, 0, 0, 9), E_INVAL);
    ASSERT_EQ_INT(WCALL(&t, "fd_advise", fd, 0, 0, 1), 0);
    ASSERT_EQ_INT(WCALL(&t, "fd_allocate", fd, 0, 4096), 0);
    ASSERT_EQ_INT(WCALL(&t, "fd_sync", fd), 0);
    ASSERT_EQ_INT(WCALL(&t, "fd_datasync", fd), 0);
    /* stdio is not seekable */
    ASSERT_EQ_INT(WCALL(&t, "fd_pread", 0, IOV, 1, 0, OUT), E_NOTCAPABLE);
    wt_teardown(&t);
}

TEST(wasi_fd, fdflags_append_nonblock_sync)
{
    struct wt t;
    wt_setup(&t, NULL);
    sandbox_write_file(t.box, "log", "one\n");
    uint32_t fd;
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "log", 0, R_ALL, FD_APPEND, &fd), 0);
    ASSERT_EQ_INT(WCALL(&t, "fd_seek", fd, 0, 0, OUT), 0);
    ASSERT_EQ_INT(write_str(&t, fd, "two\n", NULL), 0);
    ASSERT_EQ_STR(read_host(t.box, "log"), "one\ntwo\n");
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_get", fd, OUT), 0);
    ASSERT_EQ_UINT(wt_u32(&t, OUT + 2) & 0xffff, FD_APPEND);
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_set_flags", fd, FD_NONBLOCK), 0);
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_get", fd, OUT), 0);
    ASSERT_EQ_UINT(wt_u32(&t, OUT + 2) & 0xffff, FD_NONBLOCK);
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_set_flags", fd, FD_SYNC), E_NOTSUP);
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_set_flags", fd, 64), E_INVAL);
    uint32_t sfd;
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "log", 0, R_ALL, FD_DSYNC | FD_SYNC, &sfd), 0);
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_get", sfd, OUT), 0);
    ASSERT_EQ_UINT(wt_u32(&t, OUT + 2) & 0xffff, FD_DSYNC | FD_SYNC);
    wt_teardown(&t);
}

/* Reads directory entries from `cookie` into a buffer of `len`; returns
 * bufused. */
static uint32_t readdir_at(struct wt *t, uint32_t fd, uint64_t cookie, uint32_t len)
{
    memset(t->mem + BUF, 0xee, 1024);
    ASSERT_EQ_INT(WCALL(t, "fd_readdir", fd, BUF, len, cookie, OUT), 0);
    return wt_u32(t, OUT);
}

TEST(wasi_fd, readdir_cookies_and_truncation)
{
    struct wt t;
    wt_setup(&t, NULL);
    sandbox_write_file(t.box, "alpha", "");
    sandbox_write_file(t.box, "beta", "");
    ASSERT_EQ_INT(mkdir(strcat(strcpy((char[8400]){0}, t.box), "/gamma"), 0777), 0);
    /* All at once: 5 entries with . and .., each 24 bytes + name. */
    uint32_t used = readdir_at(&t, 3, 0, 1024);
    ASSERT_EQ_UINT(used, 5 * 24 + 1 + 2 + 5 + 4 + 5);
    char names[5][16];
    uint64_t next[5];
    uint32_t at = BUF;
    for (int i = 0; i < 5; i++) {
        next[i] = wt_u64(&t, at);
        uint32_t nl = wt_u32(&t, at + 16);
        ASSERT_LT_UINT(nl, 16);
        memcpy(names[i], t.mem + at + 24, nl);
        names[i][nl] = '\0';
        if (strcmp(names[i], "gamma") == 0)
            ASSERT_EQ_INT(t.mem[at + 20], FT_DIRECTORY);
        if (strcmp(names[i], "alpha") == 0)
            ASSERT_EQ_INT(t.mem[at + 20], FT_REGULAR);
        at += 24 + nl;
    }
    /* From the cookie after the second entry: the last three, same order. */
    used = readdir_at(&t, 3, next[1], 1024);
    at = BUF;
    for (int i = 2; i < 5; i++) {
        uint32_t nl = wt_u32(&t, at + 16);
        ASSERT_EQ_UINT(nl, strlen(names[i]));
        ASSERT_EQ_MEM(t.mem + at + 24, names[i], nl);
        ASSERT_EQ_UINT(wt_u64(&t, at), next[i]);
        at += 24 + nl;
    }
    ASSERT_EQ_UINT(used, at - BUF);
    /* A buffer that ends inside the second entry: bufused == len (full), and
     * asking again from the first entry's cookie yields the second whole. */
    uint32_t first = 24 + (uint32_t)strlen(names[0]);
    used = readdir_at(&t, 3, 0, first + 10);
    ASSERT_EQ_UINT(used, first + 10);
    used = readdir_at(&t, 3, next[0], 1024);
    ASSERT_EQ_UINT(wt_u32(&t, BUF + 16), strlen(names[1]));
    ASSERT_EQ_MEM(t.mem + BUF + 24, names[1], strlen(names[1]));
    /* Past the end: nothing. */
    ASSERT_EQ_UINT(readdir_at(&t, 3, next[4], 1024), 0);
    ASSERT_EQ_UINT(readdir_at(&t, 3, 1000, 1024), 0);
    ASSERT_EQ_INT(WCALL(&t, "fd_readdir", 0, BUF, 100, 0, OUT), E_NOTCAPABLE);
    wt_teardown(&t);
}

TEST(wasi_fd, renumber_moves_and_closes)
{
    struct wt t;
    wt_setup(&t, NULL);
    sandbox_write_file(t.box, "f", "x");
    uint32_t fd;
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "f", 0, R_ALL, 0, &fd), 0);
    ASSERT_EQ_UINT(fd, 5); /* lowest free after stdio and two preopens */
    ASSERT_EQ_INT(WCALL(&t, "fd_renumber", fd, 4), 0);
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_get", fd, OUT), E_BADF);
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_get", 4, OUT), 0);
    ASSERT_EQ_INT(t.mem[OUT], FT_REGULAR);
    ASSERT_EQ_INT(WCALL(&t, "fd_prestat_get", 4, OUT), E_BADF); /* box2 is gone */
    ASSERT_EQ_INT(WCALL(&t, "fd_renumber", 4, 4), 0);
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "f", 0, R_ALL, 0, &fd), 0);
    ASSERT_EQ_UINT(fd, 5);
    wt_teardown(&t);
}

TEST(wasi_fd, prestat_names_the_preopens)
{
    struct wt t;
    wt_setup(&t, NULL);
    ASSERT_EQ_INT(WCALL(&t, "fd_prestat_get", 3, OUT), 0);
    ASSERT_EQ_INT(t.mem[OUT], 0);
    ASSERT_EQ_UINT(wt_u32(&t, OUT + 4), 4);
    ASSERT_EQ_INT(WCALL(&t, "fd_prestat_dir_name", 3, P, 4), 0);
    ASSERT_EQ_MEM(t.mem + P, "/box", 4);
    ASSERT_EQ_INT(WCALL(&t, "fd_prestat_dir_name", 4, P, 3), E_NAMETOOLONG);
    ASSERT_EQ_INT(WCALL(&t, "fd_prestat_dir_name", 4, t.mem_size - 2, 5), E_FAULT);
    wt_teardown(&t);
}

TEST(wasi_fd, readonly_preopen_denies_every_write)
{
    struct wt t;
    struct wt_options o = {.readonly_box = true};
    wt_setup(&t, &o);
    sandbox_write_file(t.box, "file", "keep");
    ASSERT_EQ_INT(mkdir(strcat(strcpy((char[8400]){0}, t.box), "/dir"), 0777), 0);
    uint32_t fd, len;
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "new", O_CREAT_, R_ALL, 0, NULL), E_ROFS);
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "file", O_TRUNC_, R_FD_READ, 0, NULL), E_ROFS);
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "file", 0, R_FD_READ | R_FD_WRITE, 0, NULL), E_ROFS);
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "file", 0, R_FD_READ, FD_APPEND, NULL), E_ROFS);
    len = wt_put(&t, P, "d2");
    ASSERT_EQ_INT(WCALL(&t, "path_create_directory", 3, P, len), E_ROFS);
    len = wt_put(&t, P, "dir");
    ASSERT_EQ_INT(WCALL(&t, "path_remove_directory", 3, P, len), E_ROFS);
    len = wt_put(&t, P, "file");
    ASSERT_EQ_INT(WCALL(&t, "path_unlink_file", 3, P, len), E_ROFS);
    ASSERT_EQ_INT(WCALL(&t, "path_filestat_set_times", 3, 0, P, len, 0, 0, 2), E_ROFS);
    uint32_t len2 = wt_put(&t, P + 100, "other");
    ASSERT_EQ_INT(WCALL(&t, "path_rename", 3, P, len, 3, P + 100, len2), E_ROFS);
    ASSERT_EQ_INT(WCALL(&t, "path_link", 3, 0, P, len, 3, P + 100, len2), E_ROFS);
    ASSERT_EQ_INT(WCALL(&t, "path_symlink", P, len, 3, P + 100, len2), E_ROFS);
    /* Into the writable preopen from the read-only one is also refused. */
    ASSERT_EQ_INT(WCALL(&t, "path_rename", 3, P, len, 4, P + 100, len2), E_ROFS);
    /* Reading works; the fd has no write rights and refuses size changes. */
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "file", 0,
                          R_ALL & ~(uint64_t)R_FD_WRITE & ~(1ull << 22) & ~(1ull << 8), 0, &fd),
                  0);
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_get", fd, OUT), 0);
    ASSERT_EQ_UINT(wt_u64(&t, OUT + 8) & R_FD_WRITE, 0);
    ASSERT_EQ_INT(write_str(&t, fd, "x", NULL), E_NOTCAPABLE);
    ASSERT_EQ_INT(WCALL(&t, "fd_filestat_set_size", fd, 0), E_ROFS);
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_get", 3, OUT), 0);
    ASSERT_EQ_UINT(wt_u64(&t, OUT + 8) & R_PATH_CREATE_FILE, 0);
    ASSERT_EQ_UINT(wt_u64(&t, OUT + 16) & R_FD_WRITE, 0);
    ASSERT_EQ_STR(sandbox_listing(t.box), "dir,file");
    ASSERT_EQ_STR(read_host(t.box, "file"), "keep");
    wt_teardown(&t);
}

TEST(wasi_fd, guest_pointers_outside_memory_are_efault)
{
    struct wt t;
    wt_setup(&t, NULL);
    uint32_t end = (uint32_t)t.mem_size;
    /* iovec array past the end, iovec buffer past the end, wrapping sums */
    ASSERT_EQ_INT(WCALL(&t, "fd_write", 1, end - 4, 1, OUT), E_FAULT);
    wt_set_u32(&t, IOV, end - 2);
    wt_set_u32(&t, IOV + 4, 3);
    ASSERT_EQ_INT(WCALL(&t, "fd_write", 1, IOV, 1, OUT), E_FAULT);
    wt_set_u32(&t, IOV, 0xfffffff0u);
    wt_set_u32(&t, IOV + 4, 0x20);
    ASSERT_EQ_INT(WCALL(&t, "fd_write", 1, IOV, 1, OUT), E_FAULT);
    ASSERT_EQ_INT(WCALL(&t, "fd_read", 0, IOV, 0x20000000u, OUT), E_FAULT); /* 4 GiB of iovecs */
    memset(t.mem, 0, 2000 * 8);
    ASSERT_EQ_INT(WCALL(&t, "fd_write", 1, 0, 2000, OUT), E_INVAL); /* more than IOV_MAX */
    ASSERT_EQ_INT(WCALL(&t, "fd_write", 1, IOV, 0, end), E_FAULT);  /* nwritten */
    ASSERT_EQ_INT(WCALL(&t, "args_sizes_get", end - 2, OUT), E_FAULT);
    ASSERT_EQ_INT(WCALL(&t, "args_get", end - 4, OUT), E_FAULT);
    ASSERT_EQ_INT(WCALL(&t, "environ_sizes_get", OUT, 0xffffffffu), E_FAULT);
    ASSERT_EQ_INT(WCALL(&t, "random_get", end - 10, 11), E_FAULT);
    ASSERT_EQ_INT(WCALL(&t, "random_get", 0xffffffffu, 0xffffffffu), E_FAULT);
    ASSERT_EQ_INT(WCALL(&t, "clock_time_get", 1, 0, end - 7), E_FAULT);
    ASSERT_EQ_INT(WCALL(&t, "fd_fdstat_get", 1, end - 23), E_FAULT);
    ASSERT_EQ_INT(WCALL(&t, "fd_filestat_get", 3, end - 63), E_FAULT);
    ASSERT_EQ_INT(WCALL(&t, "fd_readdir", 3, end - 10, 11, 0, OUT), E_FAULT);
    ASSERT_EQ_INT(WCALL(&t, "poll_oneoff", end - 47, OUT, 1, OUT + 100), E_FAULT);
    ASSERT_EQ_INT(WCALL(&t, "poll_oneoff", 0, 0, 0x10000000u, OUT), E_FAULT);
    ASSERT_EQ_INT(wt_open(&t, 3, 0, "x", O_CREAT_, R_ALL, 0, NULL), 0);
    uint32_t len = wt_put(&t, P, "x");
    ASSERT_EQ_INT(WCALL(&t, "path_open", 3, 0, P, len, 0, R_ALL, R_ALL, 0, end - 3), E_FAULT);
    ASSERT_EQ_INT(WCALL(&t, "path_readlink", 3, P, len, end - 1, 2, OUT), E_FAULT);
    ASSERT_EQ_INT(WCALL(&t, "path_filestat_get", 3, 0, P, len, end - 1), E_FAULT);
    /* At the exact end is fine. */
    ASSERT_EQ_INT(WCALL(&t, "random_get", end - 10, 10), 0);
    ASSERT_EQ_INT(WCALL(&t, "clock_time_get", 1, 0, end - 8), 0);
    wt_teardown(&t);
}

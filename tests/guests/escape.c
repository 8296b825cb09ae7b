/*
 * Sandbox escapes through the raw calls (wasi-libc would refuse some paths
 * itself, before the runtime sees them): ".." chains, absolute paths,
 * symlinks to /, to .. and to a file outside, symlink loops, and renames,
 * links, removals and time changes that reach outside /sb (fd 3). Each
 * must fail ("refused" is ENOTCAPABLE or EPERM, see guest.h) and the
 * runner checks that nothing outside $T/sb changed. Paths that leave a
 * subdirectory but stay inside the sandbox must still work.
 */
#include "guest.h"

#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW

static void try_open(const char *path, __wasi_lookupflags_t lookup, __wasi_oflags_t oflags)
{
    __wasi_fd_t fd;
    int e = raw_open_rw(3, path, lookup, oflags, 0, &fd);
    if (e == 0 && (oflags & __WASI_OFLAGS_DIRECTORY))
        e = raw_open(3, path, lookup, oflags, 0, &fd);
    printf("open %-28s %s\n", path, e == 0 ? "OPENED" : refusal(e));
    if (e == 0)
        __wasi_fd_close(fd);
}

int main(void)
{
    /* Inside the sandbox, through a subdirectory and back: allowed. */
    __wasi_fd_t fd;
    report("open dir/../hello.txt", raw_open(3, "dir/../hello.txt", FOLLOW, 0, 0, &fd));
    report("open ./dir/./a.txt", raw_open(3, "./dir/./a.txt", FOLLOW, 0, 0, &fd));
    report("open dir/link (-> a.txt)", raw_open(3, "dir/link", FOLLOW, 0, 0, &fd));

    try_open("../outside.txt", FOLLOW, 0);
    try_open("..", FOLLOW, __WASI_OFLAGS_DIRECTORY);
    try_open("dir/../../outside.txt", FOLLOW, 0);
    try_open("dir/sub/../../../outside.txt", FOLLOW, 0);
    try_open("/etc/passwd", FOLLOW, 0);
    try_open("/", FOLLOW, __WASI_OFLAGS_DIRECTORY);
    try_open("link_root/etc/passwd", FOLLOW, 0);
    try_open("link_root", FOLLOW, __WASI_OFLAGS_DIRECTORY);
    try_open("link_up/outside.txt", FOLLOW, 0);
    try_open("link_up/sb/hello.txt", FOLLOW, 0);
    try_open("link_out", FOLLOW, 0);
    try_open("link_abs_out", FOLLOW, 0);
    try_open("../outside.txt", FOLLOW, __WASI_OFLAGS_TRUNC);
    try_open("../created.txt", FOLLOW, __WASI_OFLAGS_CREAT);
    try_open("link_up/created.txt", FOLLOW, __WASI_OFLAGS_CREAT);

    __wasi_fd_t lfd;
    int e = raw_open(3, "loop1", FOLLOW, 0, 0, &lfd);
    printf("open loop1: %s\n", errname(e));
    e = raw_open(3, "loop2/x", FOLLOW, 0, 0, &lfd);
    printf("open loop2/x: %s\n", errname(e));

    char buf[64];
    __wasi_size_t n = 0;
    e = __wasi_path_readlink(3, "link_out", (uint8_t *)buf, sizeof buf, &n);
    printf("readlink link_out (the link itself is inside): %s [%.*s]\n", errname(e), (int)n, buf);
    e = __wasi_path_readlink(3, "../sb/link_out", (uint8_t *)buf, sizeof buf, &n);
    printf("readlink ../sb/link_out: %s\n", refusal(e));

    __wasi_filestat_t fs;
    printf("filestat ../outside.txt: %s\n",
           refusal(__wasi_path_filestat_get(3, FOLLOW, "../outside.txt", &fs)));
    printf("filestat link_out (follow): %s\n",
           refusal(__wasi_path_filestat_get(3, FOLLOW, "link_out", &fs)));
    printf("filestat_set_times ../outside.txt: %s\n",
           refusal(__wasi_path_filestat_set_times(3, FOLLOW, "../outside.txt", 0, 0,
                                                  __WASI_FSTFLAGS_MTIM_NOW)));
    printf("filestat_set_times link_out (follow): %s\n",
           refusal(__wasi_path_filestat_set_times(3, FOLLOW, "link_out", 0, 0,
                                                  __WASI_FSTFLAGS_MTIM_NOW)));
    printf("create_directory ../newdir: %s\n",
           refusal(__wasi_path_create_directory(3, "../newdir")));
    printf("create_directory link_up/newdir: %s\n",
           refusal(__wasi_path_create_directory(3, "link_up/newdir")));
    printf("remove_directory ../outdir: %s\n",
           refusal(__wasi_path_remove_directory(3, "../outdir")));
    printf("unlink_file ../outside.txt: %s\n",
           refusal(__wasi_path_unlink_file(3, "../outside.txt")));
    printf("unlink_file link_up/outside.txt: %s\n",
           refusal(__wasi_path_unlink_file(3, "link_up/outside.txt")));
    printf("rename hello.txt -> ../stolen.txt: %s\n",
           refusal(__wasi_path_rename(3, "hello.txt", 3, "../stolen.txt")));
    printf("rename ../outside.txt -> here.txt: %s\n",
           refusal(__wasi_path_rename(3, "../outside.txt", 3, "here.txt")));
    printf("rename hello.txt -> link_up/stolen.txt: %s\n",
           refusal(__wasi_path_rename(3, "hello.txt", 3, "link_up/stolen.txt")));
    printf("rename hello.txt -> /tmp/stolen.txt: %s\n",
           refusal(__wasi_path_rename(3, "hello.txt", 3, "/tmp/stolen.txt")));
    printf("link ../outside.txt -> hl: %s\n",
           refusal(__wasi_path_link(3, 0, "../outside.txt", 3, "hl")));
    printf("link hello.txt -> ../hl: %s\n",
           refusal(__wasi_path_link(3, 0, "hello.txt", 3, "../hl")));
    printf("symlink x -> ../evil: %s\n", refusal(__wasi_path_symlink("x", 3, "../evil")));

    report("hello.txt still there", __wasi_path_filestat_get(3, 0, "hello.txt", &fs));
    report("here.txt not there", __wasi_path_filestat_get(3, 0, "here.txt", &fs));
    return 0;
}

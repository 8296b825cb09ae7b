/*
 * A --dir-ro pre-open (/ro, fd 3): reading works, every change is refused
 * (EROFS from the contract; ENOTCAPABLE/EPERM accepted as "refused" since
 * the directory's rights lack the write bits) and nothing on the host
 * changes (the runner checks $T/ro, which lies outside $T/sb).
 */
#include "guest.h"

#include <fcntl.h>
#include <unistd.h>

static const char *ro_refusal(int e)
{
    return e == __WASI_ERRNO_ROFS || e == __WASI_ERRNO_NOTCAPABLE || e == __WASI_ERRNO_PERM
               ? "refused"
               : errname(e);
}

int main(void)
{
    __wasi_fdstat_t st;
    report("fdstat /ro", __wasi_fd_fdstat_get(3, &st));
    printf("/ro hands out write rights: %s\n",
           yes(st.fs_rights_inheriting & __WASI_RIGHTS_FD_WRITE));
    int fd = open("/ro/readme.txt", O_RDONLY);
    char buf[32] = {0};
    printf("read readme.txt: %s [%.*s]\n",
           fd >= 0 && read(fd, buf, sizeof buf) > 0 ? "ok" : "failed", (int)strcspn(buf, "\n"),
           buf);
    if (fd >= 0)
        printf("write on it: %s\n", no_right(write(fd, "x", 1) < 0 ? errno : 0));

    __wasi_fd_t w;
    __wasi_rights_t rw = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK;
    printf("path_open readme.txt for writing: %s\n",
           ro_refusal(__wasi_path_open(3, 0, "readme.txt", 0, rw, rw, 0, &w)));
    printf("path_open readme.txt TRUNC: %s\n",
           ro_refusal(__wasi_path_open(3, 0, "readme.txt", __WASI_OFLAGS_TRUNC, rw, rw, 0, &w)));
    printf("path_open new.txt CREAT: %s\n",
           ro_refusal(__wasi_path_open(3, 0, "new.txt", __WASI_OFLAGS_CREAT, rw, rw, 0, &w)));
    printf("open(O_WRONLY|O_APPEND): %s\n",
           ro_refusal(open("/ro/readme.txt", O_WRONLY | O_APPEND) < 0 ? errno : 0));
    printf("create_directory: %s\n", ro_refusal(__wasi_path_create_directory(3, "d")));
    printf("remove_directory sub: %s\n", ro_refusal(__wasi_path_remove_directory(3, "sub")));
    printf("unlink_file readme.txt: %s\n", ro_refusal(__wasi_path_unlink_file(3, "readme.txt")));
    printf("rename readme.txt: %s\n", ro_refusal(__wasi_path_rename(3, "readme.txt", 3, "r.txt")));
    printf("symlink: %s\n", ro_refusal(__wasi_path_symlink("readme.txt", 3, "l")));
    printf("link: %s\n", ro_refusal(__wasi_path_link(3, 0, "readme.txt", 3, "h")));
    printf("filestat_set_times: %s\n", ro_refusal(__wasi_path_filestat_set_times(
                                           3, 0, "readme.txt", 0, 0, __WASI_FSTFLAGS_MTIM_NOW)));
    return 0;
}

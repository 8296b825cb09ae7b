/*
 * path_* calls. Every path goes through wasi_path_resolve (wasi/path.h),
 * which yields a host directory fd beneath the guest's directory and a
 * last component; the operation then runs on that pair with
 * O_NOFOLLOW/AT_SYMLINK_NOFOLLOW, so nothing here can leave the sandbox.
 *
 * Error order: EBADF (no such fd), ENOTDIR (fd is not a directory), EROFS
 * (modifying beneath a read-only preopen), ENOTCAPABLE (missing right),
 * EFAULT (bad result pointer), then whatever resolution and the host say.
 */
#include "wasi/ctx.h"
#include "wasi/funcs.h"
#include "wasi/path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int dir_fd(struct wasi_call *c, uint32_t fd, uint64_t rights, bool modifies,
                  struct wasi_fd **out)
{
    struct wasi_fd *f;
    int rc = wasi_fd_get(c->wasi, fd, 0, &f);
    if (rc != 0)
        return rc;
    if (f->filetype != WASI_FILETYPE_DIRECTORY)
        return WASI_ENOTDIR;
    if (modifies && f->readonly)
        return WASI_EROFS;
    if ((f->rights & rights) != rights)
        return WASI_ENOTCAPABLE;
    *out = f;
    return 0;
}

/* dir_fd, then the path resolved beneath it. */
static int at_path(struct wasi_call *c, uint32_t fd, uint64_t rights, bool modifies, uint32_t ptr,
                   uint32_t len, bool follow, struct wasi_fd **dir, struct wasi_path *p)
{
    int rc = dir_fd(c, fd, rights, modifies, dir);
    if (rc != 0)
        return rc;
    return wasi_path_resolve(c, (*dir)->host, ptr, len, follow, p);
}

static int host_errno(void)
{
    return wasi_errno_from_host(errno);
}

int wasi_path_open(struct wasi_call *c)
{
    uint32_t dirflags = wasi_arg32(c, 1), oflags = wasi_arg32(c, 4), fdflags = wasi_arg32(c, 7);
    uint64_t base = wasi_arg64(c, 5), inh = wasi_arg64(c, 6);
    uint32_t out = wasi_arg32(c, 8);
    if (oflags & ~0xfu || fdflags & ~(uint32_t)WASI_FDFLAGS_ALL)
        return WASI_EINVAL;
    uint64_t write_rights =
        WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_ALLOCATE | WASI_RIGHT_FD_FILESTAT_SET_SIZE;
    bool write = (base & write_rights) != 0;
    bool modifies =
        write || (oflags & (WASI_OFLAG_CREAT | WASI_OFLAG_TRUNC)) || (fdflags & WASI_FDFLAG_APPEND);
    uint64_t need = WASI_RIGHT_PATH_OPEN;
    if (oflags & WASI_OFLAG_CREAT)
        need |= WASI_RIGHT_PATH_CREATE_FILE;
    if (oflags & WASI_OFLAG_TRUNC)
        need |= WASI_RIGHT_PATH_FILESTAT_SET_SIZE;
    struct wasi_fd *dir;
    int rc = dir_fd(c, wasi_arg32(c, 0), need, modifies, &dir);
    if (rc != 0)
        return rc;
    if (wasi_out_ok(c, out, 4) != 0)
        return WASI_EFAULT;
    struct wasi_path p;
    rc = wasi_path_resolve(c, dir->host, wasi_arg32(c, 2), wasi_arg32(c, 3),
                           dirflags & WASI_LOOKUP_SYMLINK_FOLLOW, &p);
    if (rc != 0)
        return rc;
    int flags = O_CLOEXEC | O_NOFOLLOW | O_NOCTTY;
    if ((oflags & WASI_OFLAG_DIRECTORY) || p.must_dir)
        flags |= O_DIRECTORY;
    if (oflags & WASI_OFLAG_CREAT)
        flags |= O_CREAT;
    if (oflags & WASI_OFLAG_EXCL)
        flags |= O_EXCL;
    if (oflags & WASI_OFLAG_TRUNC)
        flags |= O_TRUNC;
    bool read = (base & (WASI_RIGHT_FD_READ | WASI_RIGHT_FD_READDIR)) != 0;
    if (!(flags & O_DIRECTORY) && write)
        flags |= read ? O_RDWR : O_WRONLY;
    if (fdflags & WASI_FDFLAG_APPEND)
        flags |= O_APPEND;
    if (fdflags & WASI_FDFLAG_DSYNC)
        flags |= O_DSYNC;
    if (fdflags & WASI_FDFLAG_NONBLOCK)
        flags |= O_NONBLOCK;
    if (fdflags & WASI_FDFLAG_RSYNC)
        flags |= O_RSYNC;
    if (fdflags & WASI_FDFLAG_SYNC)
        flags |= O_SYNC;
    int host;
    do
        host = openat(p.dirfd, p.name, flags, 0666);
    while (host < 0 && errno == EINTR);
    if (host < 0) {
        rc = host_errno();
        goto done;
    }
    struct stat st;
    if (fstat(host, &st) != 0) {
        rc = host_errno();
        close(host);
        goto done;
    }
    uint32_t fd;
    rc = wasi_fd_alloc(c->wasi, &fd);
    if (rc != 0) {
        close(host);
        goto done;
    }
    dir = &c->wasi->fds[wasi_arg32(c, 0)]; /* the table may have moved */
    struct wasi_fd *f = &c->wasi->fds[fd];
    f->used = true;
    f->owned = true;
    f->host = host;
    f->filetype = wasi_filetype_of_mode(st.st_mode);
    f->fdflags = (uint16_t)fdflags;
    f->readonly = dir->readonly;
    f->tree = dir->tree;
    uint64_t max = f->filetype == WASI_FILETYPE_DIRECTORY ? WASI_RIGHTS_DIR : WASI_RIGHTS_FILE;
    f->rights = base & dir->inheriting & max;
    f->inheriting = f->filetype == WASI_FILETYPE_DIRECTORY ? inh & dir->inheriting : 0;
    if (f->readonly) {
        f->rights &= ~WASI_RIGHTS_WRITE;
        f->inheriting &= ~WASI_RIGHTS_WRITE;
    }
    wasi_store32(c, out, fd);
done:
    wasi_path_fini(&p);
    return rc;
}

int wasi_path_create_directory(struct wasi_call *c)
{
    struct wasi_fd *dir;
    struct wasi_path p;
    int rc = at_path(c, wasi_arg32(c, 0), WASI_RIGHT_PATH_CREATE_DIRECTORY, true, wasi_arg32(c, 1),
                     wasi_arg32(c, 2), false, &dir, &p);
    if (rc != 0)
        return rc;
    if (mkdirat(p.dirfd, p.name, 0777) != 0)
        rc = host_errno();
    wasi_path_fini(&p);
    return rc;
}

int wasi_path_remove_directory(struct wasi_call *c)
{
    struct wasi_fd *dir;
    struct wasi_path p;
    int rc = at_path(c, wasi_arg32(c, 0), WASI_RIGHT_PATH_REMOVE_DIRECTORY, true, wasi_arg32(c, 1),
                     wasi_arg32(c, 2), false, &dir, &p);
    if (rc != 0)
        return rc;
    if (unlinkat(p.dirfd, p.name, AT_REMOVEDIR) != 0)
        rc = host_errno();
    wasi_path_fini(&p);
    return rc;
}

int wasi_path_unlink_file(struct wasi_call *c)
{
    struct wasi_fd *dir;
    struct wasi_path p;
    int rc = at_path(c, wasi_arg32(c, 0), WASI_RIGHT_PATH_UNLINK_FILE, true, wasi_arg32(c, 1),
                     wasi_arg32(c, 2), false, &dir, &p);
    if (rc != 0)
        return rc;
    struct stat st;
    if (p.must_dir) {
        /* "name/" names a directory: never a file to unlink. */
        if (fstatat(p.dirfd, p.name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            rc = host_errno();
        else
            rc = S_ISDIR(st.st_mode) ? WASI_EISDIR : WASI_ENOTDIR;
    } else if (unlinkat(p.dirfd, p.name, 0) != 0) {
        rc = host_errno();
    }
    wasi_path_fini(&p);
    return rc;
}

int wasi_path_rename(struct wasi_call *c)
{
    struct wasi_fd *from, *to;
    struct wasi_path a, b;
    int rc = dir_fd(c, wasi_arg32(c, 3), WASI_RIGHT_PATH_RENAME_TARGET, true, &to);
    if (rc != 0)
        return rc;
    rc = at_path(c, wasi_arg32(c, 0), WASI_RIGHT_PATH_RENAME_SOURCE, true, wasi_arg32(c, 1),
                 wasi_arg32(c, 2), false, &from, &a);
    if (rc != 0)
        return rc;
    if (from->tree != to->tree) {
        rc = WASI_EXDEV; /* each preopen is its own mount */
        goto done_a;
    }
    rc = wasi_path_resolve(c, to->host, wasi_arg32(c, 4), wasi_arg32(c, 5), false, &b);
    if (rc != 0)
        goto done_a;
    if (renameat(a.dirfd, a.name, b.dirfd, b.name) != 0)
        rc = host_errno();
    wasi_path_fini(&b);
done_a:
    wasi_path_fini(&a);
    return rc;
}

int wasi_path_link(struct wasi_call *c)
{
    struct wasi_fd *from, *to;
    struct wasi_path a, b;
    int rc = dir_fd(c, wasi_arg32(c, 4), WASI_RIGHT_PATH_LINK_TARGET, true, &to);
    if (rc != 0)
        return rc;
    rc = at_path(c, wasi_arg32(c, 0), WASI_RIGHT_PATH_LINK_SOURCE, true, wasi_arg32(c, 2),
                 wasi_arg32(c, 3), wasi_arg32(c, 1) & WASI_LOOKUP_SYMLINK_FOLLOW, &from, &a);
    if (rc != 0)
        return rc;
    if (from->tree != to->tree) {
        rc = WASI_EXDEV;
        goto done_a;
    }
    rc = wasi_path_resolve(c, to->host, wasi_arg32(c, 5), wasi_arg32(c, 6), false, &b);
    if (rc != 0)
        goto done_a;
    if (linkat(a.dirfd, a.name, b.dirfd, b.name, 0) != 0)
        rc = host_errno();
    wasi_path_fini(&b);
done_a:
    wasi_path_fini(&a);
    return rc;
}

int wasi_path_symlink(struct wasi_call *c)
{
    uint32_t tptr = wasi_arg32(c, 0), tlen = wasi_arg32(c, 1);
    struct wasi_fd *dir;
    int rc = dir_fd(c, wasi_arg32(c, 2), WASI_RIGHT_PATH_SYMLINK, true, &dir);
    if (rc != 0)
        return rc;
    if (!wasi_mem_ok(c, tptr, tlen))
        return WASI_EFAULT;
    const char *t = (const char *)c->mem + tptr;
    if (tlen == 0)
        return WASI_ENOENT;
    if (memchr(t, '\0', tlen) != NULL)
        return WASI_EILSEQ;
    if (tlen > WASI_PATH_MAX)
        return WASI_ENAMETOOLONG;
    if (t[0] == '/')
        return WASI_EPERM; /* as wasmtime: a link may never name the host's root */
    char target[WASI_PATH_MAX + 1];
    memcpy(target, t, tlen);
    target[tlen] = '\0';
    struct wasi_path p;
    rc = wasi_path_resolve(c, dir->host, wasi_arg32(c, 3), wasi_arg32(c, 4), false, &p);
    if (rc != 0)
        return rc;
    if (symlinkat(target, p.dirfd, p.name) != 0)
        rc = host_errno();
    wasi_path_fini(&p);
    return rc;
}

int wasi_path_readlink(struct wasi_call *c)
{
    uint32_t buf = wasi_arg32(c, 3), len = wasi_arg32(c, 4), used = wasi_arg32(c, 5);
    struct wasi_fd *dir;
    struct wasi_path p;
    int rc = dir_fd(c, wasi_arg32(c, 0), WASI_RIGHT_PATH_READLINK, false, &dir);
    if (rc != 0)
        return rc;
    if (!wasi_mem_ok(c, buf, len) || wasi_out_ok(c, used, 4) != 0)
        return WASI_EFAULT;
    rc = wasi_path_resolve(c, dir->host, wasi_arg32(c, 1), wasi_arg32(c, 2), false, &p);
    if (rc != 0)
        return rc;
    char target[WASI_PATH_MAX + 1];
    ssize_t n = readlinkat(p.dirfd, p.name, target, sizeof target);
    if (n < 0) {
        rc = host_errno();
    } else {
        /* A short buffer gets the first bytes, as readlink(2) does. */
        uint32_t take = (uint64_t)n < len ? (uint32_t)n : len;
        memcpy(c->mem + buf, target, take);
        wasi_mark(c, buf, take);
        wasi_store32(c, used, take);
    }
    wasi_path_fini(&p);
    return rc;
}

int wasi_path_filestat_get(struct wasi_call *c)
{
    uint32_t out = wasi_arg32(c, 4);
    struct wasi_fd *dir;
    struct wasi_path p;
    int rc = dir_fd(c, wasi_arg32(c, 0), WASI_RIGHT_PATH_FILESTAT_GET, false, &dir);
    if (rc != 0)
        return rc;
    if (wasi_out_ok(c, out, WASI_FILESTAT_SIZE) != 0)
        return WASI_EFAULT;
    rc = wasi_path_resolve(c, dir->host, wasi_arg32(c, 2), wasi_arg32(c, 3),
                           wasi_arg32(c, 1) & WASI_LOOKUP_SYMLINK_FOLLOW, &p);
    if (rc != 0)
        return rc;
    struct stat st;
    if (fstatat(p.dirfd, p.name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        rc = host_errno();
    else if (p.must_dir && !S_ISDIR(st.st_mode))
        rc = WASI_ENOTDIR;
    else
        wasi_put_filestat(c, out, &st);
    wasi_path_fini(&p);
    return rc;
}

int wasi_path_filestat_set_times(struct wasi_call *c)
{
    struct wasi_fd *dir;
    struct wasi_path p;
    struct timespec ts[2];
    int rc = dir_fd(c, wasi_arg32(c, 0), WASI_RIGHT_PATH_FILESTAT_SET_TIMES, true, &dir);
    if (rc == 0)
        rc = wasi_times(wasi_arg64(c, 4), wasi_arg64(c, 5), wasi_arg32(c, 6), ts);
    if (rc != 0)
        return rc;
    rc = wasi_path_resolve(c, dir->host, wasi_arg32(c, 2), wasi_arg32(c, 3),
                           wasi_arg32(c, 1) & WASI_LOOKUP_SYMLINK_FOLLOW, &p);
    if (rc != 0)
        return rc;
    if (utimensat(p.dirfd, p.name, ts, AT_SYMLINK_NOFOLLOW) != 0)
        rc = host_errno();
    wasi_path_fini(&p);
    return rc;
}

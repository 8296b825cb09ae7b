/*
 * Directory listing (fd_readdir) and pre-opened directory names
 * (fd_prestat_get, fd_prestat_dir_name).
 *
 * fd_readdir cookies are entry positions: the entry with cookie k is the
 * k-th the host directory stream returns (counting from 0, "." and ".."
 * included), and an entry's d_next is k + 1. The stream is kept open
 * between calls; a cookie other than the one the stream is at rewinds it
 * and skips forward, so any cookie a guest kept stays valid as long as the
 * directory does not change. The last entry written may be cut at the end
 * of the buffer, as the spec allows; the stream is then rewound to that
 * entry so the guest can ask for it again with its cookie.
 */
#include "wasi/ctx.h"
#include "wasi/funcs.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static uint8_t filetype_of_dirent(DIR *dir, const struct dirent *e)
{
    switch (e->d_type) {
    case DT_REG:
        return WASI_FILETYPE_REGULAR_FILE;
    case DT_DIR:
        return WASI_FILETYPE_DIRECTORY;
    case DT_LNK:
        return WASI_FILETYPE_SYMBOLIC_LINK;
    case DT_CHR:
        return WASI_FILETYPE_CHARACTER_DEVICE;
    case DT_BLK:
        return WASI_FILETYPE_BLOCK_DEVICE;
    case DT_SOCK:
        return WASI_FILETYPE_SOCKET_STREAM;
    case DT_UNKNOWN: {
        struct stat st;
        if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            return wasi_filetype_of_mode(st.st_mode);
        return WASI_FILETYPE_UNKNOWN;
    }
    default:
        return WASI_FILETYPE_UNKNOWN;
    }
}

/* Positions f->dir at entry `cookie`. */
static int seek_to(struct wasi_fd *f, uint64_t cookie)
{
    if (f->dir == NULL) {
        int fd = openat(f->host, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return wasi_errno_from_host(errno);
        f->dir = fdopendir(fd);
        if (f->dir == NULL) {
            int e = errno;
            close(fd);
            return wasi_errno_from_host(e);
        }
        f->dir_pos = 0;
    }
    if (cookie < f->dir_pos) {
        rewinddir(f->dir);
        f->dir_pos = 0;
    }
    while (f->dir_pos < cookie) {
        errno = 0;
        if (readdir(f->dir) == NULL)
            return errno == 0 ? 0 : wasi_errno_from_host(errno); /* past the end: empty */
        f->dir_pos++;
    }
    return 0;
}

int wasi_fd_readdir(struct wasi_call *c)
{
    struct wasi_fd *f;
    uint32_t buf = wasi_arg32(c, 1), len = wasi_arg32(c, 2), used_ptr = wasi_arg32(c, 4);
    uint64_t cookie = wasi_arg64(c, 3);
    int rc = wasi_fd_get(c->wasi, wasi_arg32(c, 0), WASI_RIGHT_FD_READDIR, &f);
    if (rc != 0)
        return rc;
    if (f->filetype != WASI_FILETYPE_DIRECTORY)
        return WASI_ENOTDIR;
    if (!wasi_mem_ok(c, buf, len) || wasi_out_ok(c, used_ptr, 4) != 0)
        return WASI_EFAULT;
    rc = seek_to(f, cookie);
    if (rc != 0)
        return rc;
    uint32_t used = 0;
    while (used < len && f->dir_pos == cookie) {
        long where = telldir(f->dir);
        errno = 0;
        struct dirent *e = readdir(f->dir);
        if (e == NULL) {
            if (errno != 0)
                return wasi_errno_from_host(errno);
            break;
        }
        uint8_t rec[WASI_DIRENT_SIZE];
        size_t namlen = strlen(e->d_name);
        uint64_t next = cookie + 1, ino = (uint64_t)e->d_ino;
        uint32_t nl = (uint32_t)namlen;
        memset(rec, 0, sizeof rec);
        memcpy(rec, &next, 8);
        memcpy(rec + 8, &ino, 8);
        memcpy(rec + 16, &nl, 4);
        rec[20] = filetype_of_dirent(f->dir, e);
        uint64_t whole = WASI_DIRENT_SIZE + namlen;
        uint32_t room = len - used;
        uint32_t take = whole < room ? (uint32_t)whole : room;
        uint32_t head = take < WASI_DIRENT_SIZE ? take : WASI_DIRENT_SIZE;
        memcpy(c->mem + buf + used, rec, head);
        if (take > WASI_DIRENT_SIZE)
            memcpy(c->mem + buf + used + WASI_DIRENT_SIZE, e->d_name, take - WASI_DIRENT_SIZE);
        wasi_mark(c, buf + used, take);
        used += take;
        if (take < whole) {
            seekdir(f->dir, where); /* cut: hand it out whole next time */
            break;
        }
        f->dir_pos++;
        cookie++;
    }
    wasi_store32(c, used_ptr, used);
    return 0;
}

int wasi_fd_prestat_get(struct wasi_call *c)
{
    struct wasi_fd *f;
    uint32_t out = wasi_arg32(c, 1);
    int rc = wasi_fd_get(c->wasi, wasi_arg32(c, 0), 0, &f);
    if (rc != 0)
        return rc;
    if (f->prestat_name == NULL)
        return WASI_EBADF;
    if (wasi_out_ok(c, out, WASI_PRESTAT_SIZE) != 0)
        return WASI_EFAULT;
    memset(c->mem + out, 0, WASI_PRESTAT_SIZE); /* tag 0: directory */
    wasi_mark(c, out, WASI_PRESTAT_SIZE);
    wasi_store32(c, out + 4, (uint32_t)f->prestat_len);
    return 0;
}

int wasi_fd_prestat_dir_name(struct wasi_call *c)
{
    struct wasi_fd *f;
    uint32_t path = wasi_arg32(c, 1), len = wasi_arg32(c, 2);
    int rc = wasi_fd_get(c->wasi, wasi_arg32(c, 0), 0, &f);
    if (rc != 0)
        return rc;
    if (f->prestat_name == NULL)
        return WASI_EBADF;
    if (len < f->prestat_len)
        return WASI_ENAMETOOLONG;
    if (!wasi_mem_ok(c, path, f->prestat_len))
        return WASI_EFAULT;
    memcpy(c->mem + path, f->prestat_name, f->prestat_len);
    wasi_mark(c, path, f->prestat_len);
    return 0;
}

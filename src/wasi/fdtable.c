/*
 * The guest's fd table: lookup with rights, lowest-free allocation, release.
 * Invariants are stated in wasi/ctx.h.
 */
#include "base/alloc.h"
#include "wasi/abi.h"
#include "wasi/ctx.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int wasi_fd_get(struct spry_wasi *w, uint32_t fd, uint64_t rights, struct wasi_fd **out)
{
    if (fd >= w->nfds || !w->fds[fd].used)
        return WASI_EBADF;
    struct wasi_fd *f = &w->fds[fd];
    if ((f->rights & rights) != rights)
        return WASI_ENOTCAPABLE;
    *out = f;
    return 0;
}

/* Doubles the table (at most max_fds slots), moving it off the context's
 * inline slots the first time. */
static int grow(struct spry_wasi *w)
{
    uint32_t cap = w->cap * 2;
    if (cap > w->max_fds)
        cap = w->max_fds;
    bool inline_fds = w->fds == w->inline_fds;
    struct wasi_fd *bigger = spry_realloc_array(inline_fds ? NULL : w->fds, cap, sizeof *bigger);
    if (bigger == NULL)
        return WASI_ENOMEM;
    if (inline_fds)
        memcpy(bigger, w->inline_fds, w->nfds * sizeof *bigger);
    w->fds = bigger;
    w->cap = cap;
    return 0;
}

int wasi_fd_alloc(struct spry_wasi *w, uint32_t *out)
{
    uint32_t i = 0;
    while (i < w->nfds && w->fds[i].used)
        i++;
    if (i == w->nfds) {
        if (w->nfds >= w->max_fds)
            return WASI_EMFILE;
        if (w->nfds == w->cap && grow(w) != 0)
            return WASI_ENOMEM;
        w->nfds++;
    }
    memset(&w->fds[i], 0, sizeof w->fds[i]);
    w->fds[i].host = -1;
    *out = i;
    return 0;
}

int wasi_fd_release(struct wasi_fd *f)
{
    int rc = 0;
    if (f->dir != NULL)
        closedir(f->dir);
    if (f->owned && f->host >= 0 && close(f->host) != 0 && errno != EINTR)
        rc = wasi_errno_from_host(errno);
    memset(f, 0, sizeof *f);
    f->host = -1;
    return rc;
}

uint8_t wasi_filetype_of_mode(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG:
        return WASI_FILETYPE_REGULAR_FILE;
    case S_IFDIR:
        return WASI_FILETYPE_DIRECTORY;
    case S_IFCHR:
        return WASI_FILETYPE_CHARACTER_DEVICE;
    case S_IFBLK:
        return WASI_FILETYPE_BLOCK_DEVICE;
    case S_IFLNK:
        return WASI_FILETYPE_SYMBOLIC_LINK;
    case S_IFSOCK:
        return WASI_FILETYPE_SOCKET_STREAM;
    default:
        return WASI_FILETYPE_UNKNOWN; /* FIFOs too, as wasmtime reports them */
    }
}

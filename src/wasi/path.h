/*
 * Sandboxed path resolution: a guest path, relative to a directory fd,
 * turned into (host directory fd, last component) without ever leaving
 * the tree below that directory.
 *
 * Rules (docs/wasi.md "Sandbox"): absolute paths fail with EPERM; `..`
 * that would climb above the base fails with EPERM; a symlink is expanded
 * only inside the tree: an absolute target fails with EPERM, a relative
 * one is resolved like the rest of the path (so it can never climb above
 * the base either); more than WASI_MAX_LINKS expansions fail with ELOOP.
 * Intermediate directories are opened with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS) where the kernel has it, else one component at a
 * time with O_NOFOLLOW and our own symlink expansion. The last component
 * is never followed by the operation itself (callers pass O_NOFOLLOW or
 * AT_SYMLINK_NOFOLLOW): when the guest asked to follow it, it was expanded
 * here.
 */
#ifndef SPRY_WASI_PATH_H
#define SPRY_WASI_PATH_H

#include "wasi/abi.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

enum { WASI_PATH_MAX = 4096, WASI_MAX_LINKS = 40 };

struct wasi_path {
    int dirfd;               /* directory holding `name` (O_PATH) */
    bool owned;              /* dirfd is ours to close (wasi_path_fini) */
    bool must_dir;           /* the path ended in '/' */
    char name[NAME_MAX + 1]; /* no '/', never ".."; "." when the path names dirfd itself */
};

/*
 * Reads the guest path at [ptr, ptr+len) (EFAULT outside memory, EILSEQ
 * with a NUL byte, ENAMETOOLONG past WASI_PATH_MAX, ENOENT when empty,
 * EPERM when absolute) and resolves it beneath host directory `base`.
 * follow_last expands a symlink in the last component. Returns a WASI
 * errno; on success *out holds the result.
 */
int wasi_path_resolve(const struct wasi_call *c, int base, uint32_t ptr, uint32_t len,
                      bool follow_last, struct wasi_path *out);
/* The same for a path already in host memory, [guest, guest+len) (WASI
 * 0.2 in the component layer passes its lifted strings): every check but
 * EFAULT. */
int wasi_path_resolve_bytes(int base, const char *guest, size_t len, bool follow_last,
                            struct wasi_path *out);
void wasi_path_fini(struct wasi_path *p);

/* Test seam: 1 forces the component walk even where openat2 works, 0
 * restores the default. Returns whether openat2 is in use. */
bool wasi_path_force_walk(int on);

#endif

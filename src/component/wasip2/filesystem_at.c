/*
 * The descriptor methods that take a path (wasi:filesystem/types *-at).
 *
 * Every path goes through preview 1's resolver (wasi_path_resolve_bytes,
 * wasi/path.h): the same rules, so the same escapes fail the same way
 * (absolute paths, `..` above the descriptor, symlinks leading out:
 * not-permitted; loops: loop), and the operation then acts on the
 * (directory fd, last component) pair with O_NOFOLLOW/AT_SYMLINK_NOFOLLOW.
 *
 * Error order, as preview 1: a handle that names nothing traps; a
 * descriptor that is not a directory fails with not-directory; a change
 * beneath a read-only preopen with read-only; then what resolution and the
 * host say.
 */
#include "component/wasip2/p2.h"
#include "wasi/path.h"
#include "wasm/decode.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    PATH_FOLLOW = 1 << 0, /* path-flags.symlink-follow */
    OPEN_CREATE = 1 << 0, /* open-flags */
    OPEN_DIRECTORY = 1 << 1,
    OPEN_EXCLUSIVE = 1 << 2,
    OPEN_TRUNCATE = 1 << 3,
};

struct at {
    struct wasip2 *ctx;
    uint32_t slot; /* the directory descriptor */
    int fd;
    uint32_t tree;
    bool readonly;
};

/* The directory argument: 0 (ready), a trap, or 1 when *result holds an
 * error (not a directory, or read-only for a change). */
static int at_dir(struct ccall *call, const struct cval *arg, bool modifies, struct at *a,
                  struct cval *result)
{
    int rc = p2_desc_arg(call, arg, &a->ctx, &a->slot);
    if (rc != 0)
        return rc;
    const struct p2_obj *d = &a->ctx->objs[a->slot];
    a->fd = d->u.desc.fd;
    a->tree = d->u.desc.tree;
    a->readonly = d->u.desc.readonly;
    if (!d->u.desc.dir)
        rc = p2_err_enum(call, result, P2_FS_NOT_DIRECTORY);
    else if (modifies && a->readonly)
        rc = p2_err_enum(call, result, P2_FS_READ_ONLY);
    else
        return 0;
    return rc != 0 ? rc : 1;
}

/* Resolves a path argument beneath `fd`: 0, or a preview-1 errno. */
static int resolve(int fd, const struct cval *path, bool follow, struct wasi_path *out)
{
    return wasi_path_resolve_bytes(fd, path->of.str.ptr, path->of.str.len, follow, out);
}

/* The common shape: directory, path, one host call on the result. */
typedef int (*at_op)(const struct wasi_path *p, const struct cval *args, void *scratch);

static int simple_at(struct ccall *call, const struct cval *args, struct cval *result,
                     bool modifies, unsigned path_arg, bool follow, at_op op)
{
    struct at a;
    int rc = at_dir(call, &args[0], modifies, &a, result);
    if (rc != 0)
        return rc > 0 ? 0 : rc;
    struct wasi_path p;
    int e = resolve(a.fd, &args[path_arg], follow, &p);
    if (e == 0) {
        e = op(&p, args, NULL);
        wasi_path_fini(&p);
    }
    if (e != 0)
        return p2_fs_err(call, result, e);
    return p2_ok(call, result, NULL);
}

static int host_errno(void)
{
    return wasi_errno_from_host(errno);
}

static int op_mkdir(const struct wasi_path *p, const struct cval *args, void *scratch)
{
    (void)args;
    (void)scratch;
    return mkdirat(p->dirfd, p->name, 0777) == 0 ? 0 : host_errno();
}

int p2_create_directory_at(struct ccall *call, const struct cval *args, struct cval *result)
{
    return simple_at(call, args, result, true, 1, false, op_mkdir);
}

static int op_rmdir(const struct wasi_path *p, const struct cval *args, void *scratch)
{
    (void)args;
    (void)scratch;
    return unlinkat(p->dirfd, p->name, AT_REMOVEDIR) == 0 ? 0 : host_errno();
}

int p2_remove_directory_at(struct ccall *call, const struct cval *args, struct cval *result)
{
    return simple_at(call, args, result, true, 1, false, op_rmdir);
}

static int op_unlink(const struct wasi_path *p, const struct cval *args, void *scratch)
{
    (void)args;
    (void)scratch;
    if (p->must_dir) {
        /* "name/" names a directory: never a file to unlink. */
        struct stat st;
        if (fstatat(p->dirfd, p->name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            return host_errno();
        return S_ISDIR(st.st_mode) ? WASI_EISDIR : WASI_ENOTDIR;
    }
    return unlinkat(p->dirfd, p->name, 0) == 0 ? 0 : host_errno();
}

int p2_unlink_file_at(struct ccall *call, const struct cval *args, struct cval *result)
{
    return simple_at(call, args, result, true, 1, false, op_unlink);
}

static int op_utimens(const struct wasi_path *p, const struct cval *args, void *scratch)
{
    (void)scratch;
    struct timespec ts[2];
    int e = p2_times(&args[3], &args[4], ts);
    if (e != 0)
        return e;
    return utimensat(p->dirfd, p->name, ts, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : host_errno();
}

int p2_set_times_at(struct ccall *call, const struct cval *args, struct cval *result)
{
    return simple_at(call, args, result, true, 2, args[1].of.flags & PATH_FOLLOW, op_utimens);
}

/* stat-at and metadata-hash-at. */
static int stat_at(struct ccall *call, const struct cval *args, struct cval *result, bool hash)
{
    struct at a;
    int rc = at_dir(call, &args[0], false, &a, result);
    if (rc != 0)
        return rc > 0 ? 0 : rc;
    struct wasi_path p;
    struct stat st;
    int e = resolve(a.fd, &args[2], args[1].of.flags & PATH_FOLLOW, &p);
    if (e == 0) {
        if (fstatat(p.dirfd, p.name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            e = host_errno();
        else if (p.must_dir && !S_ISDIR(st.st_mode))
            e = WASI_ENOTDIR;
        wasi_path_fini(&p);
    }
    if (e != 0)
        return p2_fs_err(call, result, e);
    struct cval v;
    rc = hash ? p2_hash_record(call, &st, &v) : p2_stat_record(call, &st, &v);
    return rc != 0 ? rc : p2_ok(call, result, &v);
}

int p2_stat_at(struct ccall *call, const struct cval *args, struct cval *result)
{
    return stat_at(call, args, result, false);
}

int p2_metadata_hash_at(struct ccall *call, const struct cval *args, struct cval *result)
{
    return stat_at(call, args, result, true);
}

int p2_readlink_at(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct at a;
    int rc = at_dir(call, &args[0], false, &a, result);
    if (rc != 0)
        return rc > 0 ? 0 : rc;
    struct wasi_path p;
    char target[WASI_PATH_MAX + 1];
    ssize_t n = -1;
    int e = resolve(a.fd, &args[1], false, &p);
    if (e == 0) {
        n = readlinkat(p.dirfd, p.name, target, sizeof target);
        if (n < 0)
            e = host_errno();
        else if (n > WASI_PATH_MAX)
            e = WASI_ENAMETOOLONG;
        else if (!decode_utf8_valid((const uint8_t *)target, (size_t)n))
            e = WASI_EILSEQ;
        wasi_path_fini(&p);
    }
    if (e != 0)
        return p2_fs_err(call, result, e);
    struct cval v;
    rc = p2_string(call, target, (size_t)n, &v);
    return rc != 0 ? rc : p2_ok(call, result, &v);
}

int p2_symlink_at(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct at a;
    int rc = at_dir(call, &args[0], true, &a, result);
    if (rc != 0)
        return rc > 0 ? 0 : rc;
    const char *t = args[1].of.str.ptr;
    size_t tlen = args[1].of.str.len;
    int e = 0;
    if (tlen == 0)
        e = WASI_ENOENT;
    else if (memchr(t, '\0', tlen) != NULL)
        e = WASI_EILSEQ;
    else if (tlen > WASI_PATH_MAX)
        e = WASI_ENAMETOOLONG;
    else if (t[0] == '/')
        e = WASI_EPERM; /* as preview 1 and wasmtime: never a link to the host's root */
    if (e != 0)
        return p2_fs_err(call, result, e);
    char target[WASI_PATH_MAX + 1];
    memcpy(target, t, tlen);
    target[tlen] = '\0';
    struct wasi_path p;
    e = resolve(a.fd, &args[2], false, &p);
    if (e == 0) {
        if (symlinkat(target, p.dirfd, p.name) != 0)
            e = host_errno();
        wasi_path_fini(&p);
    }
    if (e != 0)
        return p2_fs_err(call, result, e);
    return p2_ok(call, result, NULL);
}

/* rename-at and link-at: two directories of one preopen. */
static int two_paths(struct ccall *call, const struct cval *args, struct cval *result, bool link)
{
    unsigned old_arg = link ? 2 : 1, new_dir = link ? 3 : 2, new_arg = link ? 4 : 3;
    bool follow = link && (args[1].of.flags & PATH_FOLLOW);
    struct at from, to;
    int rc = at_dir(call, &args[new_dir], true, &to, result);
    if (rc == 0)
        rc = at_dir(call, &args[0], true, &from, result);
    if (rc != 0)
        return rc > 0 ? 0 : rc;
    if (from.tree != to.tree)
        return p2_err_enum(call, result, P2_FS_CROSS_DEVICE); /* each preopen is a mount */
    struct wasi_path a, b;
    int e = resolve(from.fd, &args[old_arg], follow, &a);
    if (e != 0)
        return p2_fs_err(call, result, e);
    e = resolve(to.fd, &args[new_arg], false, &b);
    if (e == 0) {
        int r = link ? linkat(a.dirfd, a.name, b.dirfd, b.name, 0)
                     : renameat(a.dirfd, a.name, b.dirfd, b.name);
        if (r != 0)
            e = host_errno();
        wasi_path_fini(&b);
    }
    wasi_path_fini(&a);
    if (e != 0)
        return p2_fs_err(call, result, e);
    return p2_ok(call, result, NULL);
}

int p2_rename_at(struct ccall *call, const struct cval *args, struct cval *result)
{
    return two_paths(call, args, result, false);
}

int p2_link_at(struct ccall *call, const struct cval *args, struct cval *result)
{
    return two_paths(call, args, result, true);
}

/*
 * open-at(path-flags, path, open-flags, descriptor-flags). The host file
 * is opened for writing when `write` or `truncate` is asked, for reading
 * when `read` is asked or writing is not; create, truncate or write
 * beneath a read-only preopen fail with read-only; directory with create,
 * exclusive or truncate is invalid (as wasmtime). The sync flags map to
 * O_SYNC, O_DSYNC and O_RSYNC.
 */
int p2_open_at(struct ccall *call, const struct cval *args, struct cval *result)
{
    uint32_t oflags = args[3].of.flags, dflags = args[4].of.flags;
    bool want_write = (dflags & P2_DF_WRITE) || (oflags & OPEN_TRUNCATE);
    bool want_read = (dflags & P2_DF_READ) || !want_write;
    struct at a;
    int rc = at_dir(call, &args[0], false, &a, result);
    if (rc != 0)
        return rc > 0 ? 0 : rc;
    if ((oflags & OPEN_DIRECTORY) && (oflags & (OPEN_CREATE | OPEN_EXCLUSIVE | OPEN_TRUNCATE)))
        return p2_err_enum(call, result, P2_FS_INVALID);
    if (a.readonly && (want_write || (oflags & OPEN_CREATE)))
        return p2_err_enum(call, result, P2_FS_READ_ONLY);
    struct wasi_path p;
    int e = resolve(a.fd, &args[2], args[1].of.flags & PATH_FOLLOW, &p);
    if (e != 0)
        return p2_fs_err(call, result, e);
    int flags = O_CLOEXEC | O_NOFOLLOW | O_NOCTTY;
    if ((oflags & OPEN_DIRECTORY) || p.must_dir)
        flags |= O_DIRECTORY;
    if (oflags & OPEN_CREATE)
        flags |= O_CREAT;
    if (oflags & OPEN_EXCLUSIVE)
        flags |= O_EXCL;
    if (oflags & OPEN_TRUNCATE)
        flags |= O_TRUNC;
    if (want_write)
        flags |= want_read ? O_RDWR : O_WRONLY;
    if (dflags & P2_DF_FILE_SYNC)
        flags |= O_SYNC;
    if (dflags & P2_DF_DATA_SYNC)
        flags |= O_DSYNC;
    if (dflags & P2_DF_READ_SYNC)
        flags |= O_RSYNC;
    int fd;
    do
        fd = openat(p.dirfd, p.name, flags, 0666);
    while (fd < 0 && errno == EINTR);
    e = fd < 0 ? host_errno() : 0;
    wasi_path_fini(&p);
    struct stat st;
    if (e == 0 && fstat(fd, &st) != 0)
        e = host_errno();
    if (e != 0) {
        if (fd >= 0)
            close(fd);
        return p2_fs_err(call, result, e);
    }
    uint32_t slot;
    rc = p2_new(a.ctx, P2_DESCRIPTOR, 0, &slot);
    if (rc != 0) {
        close(fd);
        return p2_err_enum(call, result, P2_FS_INSUFFICIENT_MEMORY);
    }
    struct p2_obj *d = &a.ctx->objs[slot];
    bool dir = S_ISDIR(st.st_mode);
    d->u.desc.fd = fd;
    d->u.desc.dir = dir;
    d->u.desc.readonly = a.readonly;
    d->u.desc.tree = a.tree;
    uint8_t kept = P2_DF_FILE_SYNC | P2_DF_DATA_SYNC | P2_DF_READ_SYNC;
    d->u.desc.flags =
        (uint8_t)((dflags & kept) | (want_read ? P2_DF_READ : 0) | (want_write ? P2_DF_WRITE : 0));
    if (dir && (dflags & P2_DF_MUTATE_DIR) && !a.readonly)
        d->u.desc.flags |= P2_DF_MUTATE_DIR;
    struct cval own;
    p2_own(&own, p2_rep(a.ctx, slot));
    return p2_ok(call, result, &own);
}

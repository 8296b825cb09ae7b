/*
 * wasi:filesystem/types (the descriptor methods that take no path, the
 * directory-entry stream, filesystem-error-code) and
 * wasi:filesystem/preopens. The *-at methods are in filesystem_at.c; the
 * WIT of the whole interface is here.
 *
 * A descriptor is a host fd with what it was opened for (descriptor-flags)
 * and the preopen it descends from: its tree number (renames and links
 * never cross trees: cross-device) and read-only flag (every change beneath
 * a read-only preopen fails with read-only, like preview 1's EROFS, so a
 * program behaves the same as a module and as a component). Choices that
 * follow wasmtime: methods for files on a directory (and the reverse for
 * path methods) fail with bad-descriptor (not-directory); reading or
 * writing through a descriptor not opened for it fails with
 * bad-descriptor; directory listings leave out "." and ".."; the
 * mutate-directory flag is reported, not enforced (the preopen's read-only
 * flag is what decides).
 */
#include "component/wasip2/p2.h"
#include "wasm/decode.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const p2_fs_error_names[P2_FS_ERROR_COUNT] = {
#define P2_FS_ERROR_NAME(name, text) text,
    P2_FS_ERRORS(P2_FS_ERROR_NAME)
#undef P2_FS_ERROR_NAME
};

uint32_t p2_fs_code(int e)
{
    switch (e) {
    case WASI_EACCES:
        return P2_FS_ACCESS;
    case WASI_EAGAIN:
        return P2_FS_WOULD_BLOCK;
    case WASI_EALREADY:
        return P2_FS_ALREADY;
    case WASI_EBADF:
        return P2_FS_BAD_DESCRIPTOR;
    case WASI_EBUSY:
        return P2_FS_BUSY;
    case WASI_EDEADLK:
        return P2_FS_DEADLOCK;
    case WASI_EDQUOT:
        return P2_FS_QUOTA;
    case WASI_EEXIST:
        return P2_FS_EXIST;
    case WASI_EFBIG:
        return P2_FS_FILE_TOO_LARGE;
    case WASI_EILSEQ:
        return P2_FS_ILLEGAL_BYTE_SEQUENCE;
    case WASI_EINPROGRESS:
        return P2_FS_IN_PROGRESS;
    case WASI_EINTR:
        return P2_FS_INTERRUPTED;
    case WASI_EINVAL:
        return P2_FS_INVALID;
    case WASI_EISDIR:
        return P2_FS_IS_DIRECTORY;
    case WASI_ELOOP:
        return P2_FS_LOOP;
    case WASI_EMLINK:
        return P2_FS_TOO_MANY_LINKS;
    case WASI_EMSGSIZE:
        return P2_FS_MESSAGE_SIZE;
    case WASI_ENAMETOOLONG:
        return P2_FS_NAME_TOO_LONG;
    case WASI_ENODEV:
        return P2_FS_NO_DEVICE;
    case WASI_ENOENT:
        return P2_FS_NO_ENTRY;
    case WASI_ENOLCK:
        return P2_FS_NO_LOCK;
    case WASI_ENOMEM:
        return P2_FS_INSUFFICIENT_MEMORY;
    case WASI_ENOSPC:
        return P2_FS_INSUFFICIENT_SPACE;
    case WASI_ENOTDIR:
        return P2_FS_NOT_DIRECTORY;
    case WASI_ENOTEMPTY:
        return P2_FS_NOT_EMPTY;
    case WASI_ENOTRECOVERABLE:
        return P2_FS_NOT_RECOVERABLE;
    case WASI_ENOTSUP:
    case WASI_ENOSYS:
        return P2_FS_UNSUPPORTED;
    case WASI_ENOTTY:
        return P2_FS_NO_TTY;
    case WASI_ENXIO:
        return P2_FS_NO_SUCH_DEVICE;
    case WASI_EOVERFLOW:
        return P2_FS_OVERFLOW;
    case WASI_EPERM:
    case WASI_ENOTCAPABLE:
        return P2_FS_NOT_PERMITTED;
    case WASI_EPIPE:
        return P2_FS_PIPE;
    case WASI_EROFS:
        return P2_FS_READ_ONLY;
    case WASI_ESPIPE:
        return P2_FS_INVALID_SEEK;
    case WASI_ETXTBSY:
        return P2_FS_TEXT_FILE_BUSY;
    case WASI_EXDEV:
        return P2_FS_CROSS_DEVICE;
    default:
        return P2_FS_IO;
    }
}

int p2_fs_err(struct ccall *call, struct cval *result, int wasi_errno)
{
    return p2_err_enum(call, result, p2_fs_code(wasi_errno));
}

int p2_fs_err_host(struct ccall *call, struct cval *result)
{
    return p2_fs_err(call, result, wasi_errno_from_host(errno));
}

int p2_desc_arg(struct ccall *call, const struct cval *arg, struct wasip2 **ctx, uint32_t *slot)
{
    int rc = p2_ctx(call, ctx);
    if (rc != 0)
        return rc;
    if (p2_get(*ctx, arg->of.rep, P2_DESCRIPTOR, slot) == NULL)
        return p2_bad_handle(call, "descriptor");
    return 0;
}

uint32_t p2_dtype(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFBLK:
        return P2_DT_BLOCK_DEVICE;
    case S_IFCHR:
        return P2_DT_CHARACTER_DEVICE;
    case S_IFDIR:
        return P2_DT_DIRECTORY;
    case S_IFIFO:
        return P2_DT_FIFO;
    case S_IFLNK:
        return P2_DT_SYMBOLIC_LINK;
    case S_IFREG:
        return P2_DT_REGULAR_FILE;
    case S_IFSOCK:
        return P2_DT_SOCKET;
    default:
        return P2_DT_UNKNOWN;
    }
}

/* some(datetime): the option in *opt, its record in *rec, the record's
 * fields in f[0..2). */
static void some_datetime(struct cval *opt, struct cval *rec, struct cval *f,
                          const struct timespec *ts)
{
    p2_u64(&f[0], ts->tv_sec < 0 ? 0 : (uint64_t)ts->tv_sec);
    f[1].kind = CT_U32;
    f[1].of.u = (uint64_t)ts->tv_nsec;
    *rec = (struct cval){.kind = CT_RECORD, .of.list = {f, 2}};
    *opt = (struct cval){.kind = CT_OPTION, .of.var = {1, rec}};
}

int p2_stat_record(struct ccall *call, const struct stat *st, struct cval *out)
{
    /* f[0..6): the record's fields; f[6..9): the three datetimes;
     * f[9..15): their fields. */
    struct cval *f = p2_vals(call, 15);
    if (f == NULL)
        return p2_oom(call);
    p2_enum(&f[0], p2_dtype(st->st_mode));
    p2_u64(&f[1], (uint64_t)st->st_nlink);
    p2_u64(&f[2], (uint64_t)st->st_size);
    const struct timespec *times[3] = {&st->st_atim, &st->st_mtim, &st->st_ctim};
    for (int i = 0; i < 3; i++)
        some_datetime(&f[3 + i], &f[6 + i], &f[9 + 2 * i], times[i]);
    out->kind = CT_RECORD;
    out->of.list.v = f;
    out->of.list.n = 6;
    return 0;
}

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

int p2_hash_record(struct ccall *call, const struct stat *st, struct cval *out)
{
    struct cval *f = p2_vals(call, 2);
    if (f == NULL)
        return p2_oom(call);
    uint64_t lower = mix64((uint64_t)st->st_dev ^ mix64((uint64_t)st->st_ino));
    p2_u64(&f[0], lower);
    p2_u64(&f[1], mix64(lower ^ (uint64_t)st->st_ino));
    out->kind = CT_RECORD;
    out->of.list.v = f;
    out->of.list.n = 2;
    return 0;
}

static int one_time(const struct cval *v, struct timespec *ts)
{
    switch (v->of.var.disc) {
    case 0: /* no-change */
        ts->tv_sec = 0;
        ts->tv_nsec = UTIME_OMIT;
        return 0;
    case 1: /* now */
        ts->tv_sec = 0;
        ts->tv_nsec = UTIME_NOW;
        return 0;
    default: { /* timestamp(datetime) */
        const struct cval *f = v->of.var.payload->of.list.v;
        if (f[1].of.u >= 1000000000u || f[0].of.u > (uint64_t)INT64_MAX)
            return WASI_EINVAL;
        ts->tv_sec = (time_t)f[0].of.u;
        ts->tv_nsec = (long)f[1].of.u;
        return 0;
    }
    }
}

int p2_times(const struct cval *atim, const struct cval *mtim, struct timespec ts[2])
{
    int rc = one_time(atim, &ts[0]);
    return rc != 0 ? rc : one_time(mtim, &ts[1]);
}

/* ---- descriptor methods without a path ---- */

/* The descriptor a borrow<descriptor> argument names (the method's self is
 * args[0]), or a trap when it names none. The pointer is good until the
 * next object is created. */
static int desc_of(struct ccall *call, const struct cval *arg, const struct p2_obj **out)
{
    struct wasip2 *ctx;
    uint32_t slot;
    int rc = p2_desc_arg(call, arg, &ctx, &slot);
    if (rc == 0)
        *out = &ctx->objs[slot];
    return rc;
}

/* Whether descriptor d is a file opened for `need` (P2_DF_READ/WRITE);
 * when not, the call fails with bad-descriptor (as wasmtime). */
static bool file_for(const struct p2_obj *d, uint8_t need)
{
    return !d->u.desc.dir && (d->u.desc.flags & need) == need;
}

static int make_stream(struct ccall *call, const struct cval *args, struct cval *result,
                       uint8_t kind, uint8_t how, uint64_t offset)
{
    struct wasip2 *ctx;
    uint32_t slot, s;
    int rc = p2_desc_arg(call, &args[0], &ctx, &slot);
    if (rc != 0)
        return rc;
    if (!file_for(&ctx->objs[slot], kind == P2_INPUT ? P2_DF_READ : P2_DF_WRITE))
        return p2_err_enum(call, result, P2_FS_BAD_DESCRIPTOR);
    struct cval own;
    rc = p2_new_own(call, ctx, kind, slot + 1, &s, &own);
    if (rc != 0)
        return rc;
    ctx->objs[s].u.stream.how = how;
    ctx->objs[s].u.stream.offset = offset;
    return p2_ok(call, result, &own);
}

static int read_via_stream(struct ccall *call, const struct cval *args, struct cval *result)
{
    return make_stream(call, args, result, P2_INPUT, P2_STREAM_FILE, args[1].of.u);
}

static int write_via_stream(struct ccall *call, const struct cval *args, struct cval *result)
{
    return make_stream(call, args, result, P2_OUTPUT, P2_STREAM_FILE, args[1].of.u);
}

static int append_via_stream(struct ccall *call, const struct cval *args, struct cval *result)
{
    return make_stream(call, args, result, P2_OUTPUT, P2_STREAM_APPEND, 0);
}

static int advise(struct ccall *call, const struct cval *args, struct cval *result)
{
    static const int advice[] = {POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                                 POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED,   POSIX_FADV_NOREUSE};
    const struct p2_obj *d;
    int rc = desc_of(call, &args[0], &d);
    if (rc != 0)
        return rc;
    uint64_t off = args[1].of.u, len = args[2].of.u;
    uint32_t a = args[3].of.var.disc;
    if (d->u.desc.dir)
        return p2_err_enum(call, result, P2_FS_BAD_DESCRIPTOR);
    if (off > INT64_MAX || len > INT64_MAX || a >= sizeof advice / sizeof advice[0])
        return p2_err_enum(call, result, P2_FS_INVALID);
    int e = posix_fadvise(d->u.desc.fd, (off_t)off, (off_t)len, advice[a]);
    if (e != 0)
        return p2_fs_err(call, result, wasi_errno_from_host(e));
    return p2_ok(call, result, NULL);
}

static int sync_common(struct ccall *call, const struct cval *args, struct cval *result,
                       bool data_only)
{
    const struct p2_obj *d;
    int rc = desc_of(call, &args[0], &d);
    if (rc != 0)
        return rc;
    int fd = d->u.desc.fd;
    if ((data_only ? fdatasync(fd) : fsync(fd)) != 0)
        return p2_fs_err_host(call, result);
    return p2_ok(call, result, NULL);
}

static int sync_data(struct ccall *call, const struct cval *args, struct cval *result)
{
    return sync_common(call, args, result, true);
}

static int sync_all(struct ccall *call, const struct cval *args, struct cval *result)
{
    return sync_common(call, args, result, false);
}

static int get_flags(struct ccall *call, const struct cval *args, struct cval *result)
{
    const struct p2_obj *d;
    int rc = desc_of(call, &args[0], &d);
    if (rc != 0)
        return rc;
    struct cval v = {.kind = CT_FLAGS, .of.flags = d->u.desc.flags};
    return p2_ok(call, result, &v);
}

static int get_type(struct ccall *call, const struct cval *args, struct cval *result)
{
    const struct p2_obj *d;
    int rc = desc_of(call, &args[0], &d);
    if (rc != 0)
        return rc;
    struct stat st;
    if (fstat(d->u.desc.fd, &st) != 0)
        return p2_fs_err_host(call, result);
    struct cval v;
    p2_enum(&v, p2_dtype(st.st_mode));
    return p2_ok(call, result, &v);
}

static int set_size(struct ccall *call, const struct cval *args, struct cval *result)
{
    const struct p2_obj *d;
    int rc = desc_of(call, &args[0], &d);
    if (rc != 0)
        return rc;
    if (d->u.desc.readonly)
        return p2_err_enum(call, result, P2_FS_READ_ONLY);
    if (!file_for(d, P2_DF_WRITE))
        return p2_err_enum(call, result, P2_FS_BAD_DESCRIPTOR);
    if (args[1].of.u > INT64_MAX)
        return p2_err_enum(call, result, P2_FS_FILE_TOO_LARGE);
    if (ftruncate(d->u.desc.fd, (off_t)args[1].of.u) != 0)
        return p2_fs_err_host(call, result);
    return p2_ok(call, result, NULL);
}

static int set_times(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct timespec ts[2];
    const struct p2_obj *d;
    int rc = desc_of(call, &args[0], &d);
    if (rc != 0)
        return rc;
    if (d->u.desc.readonly)
        return p2_err_enum(call, result, P2_FS_READ_ONLY);
    int e = p2_times(&args[1], &args[2], ts);
    if (e != 0)
        return p2_fs_err(call, result, e);
    if (futimens(d->u.desc.fd, ts) != 0)
        return p2_fs_err_host(call, result);
    return p2_ok(call, result, NULL);
}

static int desc_read(struct ccall *call, const struct cval *args, struct cval *result)
{
    const struct p2_obj *d;
    int rc = desc_of(call, &args[0], &d);
    if (rc != 0)
        return rc;
    if (!file_for(d, P2_DF_READ))
        return p2_err_enum(call, result, P2_FS_BAD_DESCRIPTOR);
    uint64_t len = args[1].of.u, off = args[2].of.u;
    if (off > INT64_MAX)
        return p2_err_enum(call, result, P2_FS_INVALID);
    size_t cap = len < P2_READ_CHUNK ? (size_t)len : P2_READ_CHUNK;
    struct cval *v = p2_vals(call, 3);
    uint8_t *buf = spry_arena_alloc(call->arena, cap == 0 ? 1 : cap);
    if (v == NULL || buf == NULL)
        return p2_oom(call);
    ssize_t got;
    do
        got = pread(d->u.desc.fd, buf, cap, (off_t)off);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return p2_fs_err_host(call, result);
    v[1] = (struct cval){.kind = CT_LIST, .of.raw = {buf, (size_t)got}};
    v[2] = (struct cval){.kind = CT_BOOL, .of.b = got == 0 && cap > 0};
    v[0] = (struct cval){.kind = CT_TUPLE, .of.list = {&v[1], 2}};
    return p2_ok(call, result, &v[0]);
}

static int desc_write(struct ccall *call, const struct cval *args, struct cval *result)
{
    const struct p2_obj *d;
    int rc = desc_of(call, &args[0], &d);
    if (rc != 0)
        return rc;
    if (!file_for(d, P2_DF_WRITE))
        return p2_err_enum(call, result, P2_FS_BAD_DESCRIPTOR);
    const uint8_t *p = args[1].of.raw.ptr;
    size_t n = args[1].of.raw.n;
    uint64_t off = args[2].of.u;
    if (off > INT64_MAX || n > (uint64_t)INT64_MAX - off)
        return p2_err_enum(call, result, P2_FS_FILE_TOO_LARGE);
    size_t done = 0;
    while (done < n) {
        ssize_t put = pwrite(d->u.desc.fd, p + done, n - done, (off_t)(off + done));
        if (put < 0) {
            if (errno == EINTR)
                continue;
            if (done > 0)
                break; /* report what was written */
            return p2_fs_err_host(call, result);
        }
        done += (size_t)put;
    }
    struct cval v;
    p2_u64(&v, done);
    return p2_ok(call, result, &v);
}

static int read_directory(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasip2 *ctx;
    uint32_t slot, s;
    int rc = p2_desc_arg(call, &args[0], &ctx, &slot);
    if (rc != 0)
        return rc;
    if (!ctx->objs[slot].u.desc.dir)
        return p2_err_enum(call, result, P2_FS_NOT_DIRECTORY);
    int fd = openat(ctx->objs[slot].u.desc.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return p2_fs_err_host(call, result);
    DIR *dir = fdopendir(fd);
    if (dir == NULL) {
        close(fd);
        return p2_fs_err_host(call, result);
    }
    struct cval own;
    rc = p2_new_own(call, ctx, P2_DIRSTREAM, 0, &s, &own);
    if (rc != 0) {
        closedir(dir);
        return rc;
    }
    ctx->objs[s].u.dirs.dir = dir;
    return p2_ok(call, result, &own);
}

static int stat_fd(struct ccall *call, const struct cval *args, struct cval *result, bool hash)
{
    const struct p2_obj *d;
    int rc = desc_of(call, &args[0], &d);
    if (rc != 0)
        return rc;
    struct stat st;
    if (fstat(d->u.desc.fd, &st) != 0)
        return p2_fs_err_host(call, result);
    struct cval v;
    rc = hash ? p2_hash_record(call, &st, &v) : p2_stat_record(call, &st, &v);
    return rc != 0 ? rc : p2_ok(call, result, &v);
}

static int desc_stat(struct ccall *call, const struct cval *args, struct cval *result)
{
    return stat_fd(call, args, result, false);
}

static int metadata_hash(struct ccall *call, const struct cval *args, struct cval *result)
{
    return stat_fd(call, args, result, true);
}

static int is_same_object(struct ccall *call, const struct cval *args, struct cval *result)
{
    const struct p2_obj *a, *b;
    int rc = desc_of(call, &args[0], &a);
    if (rc == 0)
        rc = desc_of(call, &args[1], &b);
    if (rc != 0)
        return rc;
    struct stat sa, sb;
    result->kind = CT_BOOL;
    result->of.b = fstat(a->u.desc.fd, &sa) == 0 && fstat(b->u.desc.fd, &sb) == 0 &&
                   sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    return 0;
}

/* ---- directory-entry-stream ---- */

static uint32_t entry_type(DIR *dir, const struct dirent *e)
{
    switch (e->d_type) {
    case DT_BLK:
        return P2_DT_BLOCK_DEVICE;
    case DT_CHR:
        return P2_DT_CHARACTER_DEVICE;
    case DT_DIR:
        return P2_DT_DIRECTORY;
    case DT_FIFO:
        return P2_DT_FIFO;
    case DT_LNK:
        return P2_DT_SYMBOLIC_LINK;
    case DT_REG:
        return P2_DT_REGULAR_FILE;
    case DT_SOCK:
        return P2_DT_SOCKET;
    default: {
        struct stat st;
        if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            return p2_dtype(st.st_mode);
        return P2_DT_UNKNOWN;
    }
    }
}

static int read_directory_entry(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasip2 *ctx;
    int rc = p2_ctx(call, &ctx);
    if (rc != 0)
        return rc;
    struct p2_obj *o = p2_get(ctx, args[0].of.rep, P2_DIRSTREAM, NULL);
    if (o == NULL)
        return p2_bad_handle(call, "directory-entry-stream");
    struct dirent *e;
    do {
        errno = 0;
        e = readdir(o->u.dirs.dir);
    } while (e != NULL && (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0));
    struct cval *v = p2_vals(call, 4);
    if (v == NULL)
        return p2_oom(call);
    v[0].kind = CT_OPTION;
    if (e == NULL) {
        if (errno != 0)
            return p2_fs_err_host(call, result);
        return p2_ok(call, result, &v[0]); /* none: the end */
    }
    size_t len = strlen(e->d_name);
    if (!decode_utf8_valid((const uint8_t *)e->d_name, len))
        return p2_err_enum(call, result, P2_FS_ILLEGAL_BYTE_SEQUENCE);
    p2_enum(&v[2], entry_type(o->u.dirs.dir, e));
    rc = p2_string(call, e->d_name, len, &v[3]);
    if (rc != 0)
        return rc;
    v[1] = (struct cval){.kind = CT_RECORD, .of.list = {&v[2], 2}};
    v[0].of.var.disc = 1;
    v[0].of.var.payload = &v[1];
    return p2_ok(call, result, &v[0]);
}

static int filesystem_error_code(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasip2 *ctx;
    int rc = p2_ctx(call, &ctx);
    if (rc != 0)
        return rc;
    struct p2_obj *o = p2_get(ctx, args[0].of.rep, P2_ERROR, NULL);
    if (o == NULL)
        return p2_bad_handle(call, "error");
    struct cval *v = p2_vals(call, 1);
    if (v == NULL)
        return p2_oom(call);
    p2_enum(v, p2_fs_code(o->u.error.wasi_errno));
    result->kind = CT_OPTION;
    result->of.var.disc = 1; /* every error of ours comes from a host call */
    result->of.var.payload = v;
    return 0;
}

/* Declared in filesystem_at.c. */
int p2_create_directory_at(struct ccall *call, const struct cval *args, struct cval *result);
int p2_stat_at(struct ccall *call, const struct cval *args, struct cval *result);
int p2_set_times_at(struct ccall *call, const struct cval *args, struct cval *result);
int p2_link_at(struct ccall *call, const struct cval *args, struct cval *result);
int p2_open_at(struct ccall *call, const struct cval *args, struct cval *result);
int p2_readlink_at(struct ccall *call, const struct cval *args, struct cval *result);
int p2_remove_directory_at(struct ccall *call, const struct cval *args, struct cval *result);
int p2_rename_at(struct ccall *call, const struct cval *args, struct cval *result);
int p2_symlink_at(struct ccall *call, const struct cval *args, struct cval *result);
int p2_unlink_file_at(struct ccall *call, const struct cval *args, struct cval *result);
int p2_metadata_hash_at(struct ccall *call, const struct cval *args, struct cval *result);

static const struct chost_resource fs_resources[] = {
    {"descriptor", p2_drop},
    {"directory-entry-stream", p2_drop},
};

static const struct chost_func fs_funcs[] = {
    {"[method]descriptor.read-via-stream", read_via_stream},
    {"[method]descriptor.write-via-stream", write_via_stream},
    {"[method]descriptor.append-via-stream", append_via_stream},
    {"[method]descriptor.advise", advise},
    {"[method]descriptor.sync-data", sync_data},
    {"[method]descriptor.get-flags", get_flags},
    {"[method]descriptor.get-type", get_type},
    {"[method]descriptor.set-size", set_size},
    {"[method]descriptor.set-times", set_times},
    {"[method]descriptor.read", desc_read},
    {"[method]descriptor.write", desc_write},
    {"[method]descriptor.read-directory", read_directory},
    {"[method]descriptor.sync", sync_all},
    {"[method]descriptor.create-directory-at", p2_create_directory_at},
    {"[method]descriptor.stat", desc_stat},
    {"[method]descriptor.stat-at", p2_stat_at},
    {"[method]descriptor.set-times-at", p2_set_times_at},
    {"[method]descriptor.link-at", p2_link_at},
    {"[method]descriptor.open-at", p2_open_at},
    {"[method]descriptor.readlink-at", p2_readlink_at},
    {"[method]descriptor.remove-directory-at", p2_remove_directory_at},
    {"[method]descriptor.rename-at", p2_rename_at},
    {"[method]descriptor.symlink-at", p2_symlink_at},
    {"[method]descriptor.unlink-file-at", p2_unlink_file_at},
    {"[method]descriptor.is-same-object", is_same_object},
    {"[method]descriptor.metadata-hash", metadata_hash},
    {"[method]descriptor.metadata-hash-at", p2_metadata_hash_at},
    {"[method]directory-entry-stream.read-directory-entry", read_directory_entry},
    {"filesystem-error-code", filesystem_error_code},
};

const struct chost_iface p2_iface_filesystem_types = {
    .name = "wasi:filesystem/types",
    .version = WASIP2_VERSION,
    .wit = "use wasi:io/streams@0.2.12.{input-stream, output-stream, error};\n"
           "use wasi:clocks/wall-clock@0.2.12.{datetime};\n"
           "type filesize = u64;\n"
           "enum descriptor-type {\n"
           "    unknown, block-device, character-device, directory, fifo, symbolic-link,\n"
           "    regular-file, socket,\n"
           "}\n"
           "flags descriptor-flags {\n"
           "    read, write, file-integrity-sync, data-integrity-sync, requested-write-sync,\n"
           "    mutate-directory,\n"
           "}\n"
           "record descriptor-stat {\n"
           "    %type: descriptor-type,\n"
           "    link-count: link-count,\n"
           "    size: filesize,\n"
           "    data-access-timestamp: option<datetime>,\n"
           "    data-modification-timestamp: option<datetime>,\n"
           "    status-change-timestamp: option<datetime>,\n"
           "}\n"
           "flags path-flags { symlink-follow }\n"
           "flags open-flags { create, directory, exclusive, truncate }\n"
           "type link-count = u64;\n"
           "variant new-timestamp { no-change, now, timestamp(datetime) }\n"
           "record directory-entry { %type: descriptor-type, name: string }\n"
           "enum error-code {\n"
           "    access, would-block, already, bad-descriptor, busy, deadlock, quota, exist,\n"
           "    file-too-large, illegal-byte-sequence, in-progress, interrupted, invalid, io,\n"
           "    is-directory, loop, too-many-links, message-size, name-too-long, no-device,\n"
           "    no-entry, no-lock, insufficient-memory, insufficient-space, not-directory,\n"
           "    not-empty, not-recoverable, unsupported, no-tty, no-such-device, overflow,\n"
           "    not-permitted, pipe, read-only, invalid-seek, text-file-busy, cross-device,\n"
           "}\n"
           "enum advice { normal, sequential, random, will-need, dont-need, no-reuse }\n"
           "record metadata-hash-value { lower: u64, upper: u64 }\n"
           "resource descriptor {\n"
           "    read-via-stream: func(offset: filesize) -> result<input-stream, error-code>;\n"
           "    write-via-stream: func(offset: filesize) -> result<output-stream, error-code>;\n"
           "    append-via-stream: func() -> result<output-stream, error-code>;\n"
           "    advise: func(offset: filesize, length: filesize, advice: advice)\n"
           "        -> result<_, error-code>;\n"
           "    sync-data: func() -> result<_, error-code>;\n"
           "    get-flags: func() -> result<descriptor-flags, error-code>;\n"
           "    get-type: func() -> result<descriptor-type, error-code>;\n"
           "    set-size: func(size: filesize) -> result<_, error-code>;\n"
           "    set-times: func(data-access-timestamp: new-timestamp,\n"
           "                    data-modification-timestamp: new-timestamp)\n"
           "        -> result<_, error-code>;\n"
           "    read: func(length: filesize, offset: filesize)\n"
           "        -> result<tuple<list<u8>, bool>, error-code>;\n"
           "    write: func(buffer: list<u8>, offset: filesize) -> result<filesize, error-code>;\n"
           "    read-directory: func() -> result<directory-entry-stream, error-code>;\n"
           "    sync: func() -> result<_, error-code>;\n"
           "    create-directory-at: func(path: string) -> result<_, error-code>;\n"
           "    stat: func() -> result<descriptor-stat, error-code>;\n"
           "    stat-at: func(path-flags: path-flags, path: string)\n"
           "        -> result<descriptor-stat, error-code>;\n"
           "    set-times-at: func(path-flags: path-flags, path: string,\n"
           "                       data-access-timestamp: new-timestamp,\n"
           "                       data-modification-timestamp: new-timestamp)\n"
           "        -> result<_, error-code>;\n"
           "    link-at: func(old-path-flags: path-flags, old-path: string,\n"
           "                  new-descriptor: borrow<descriptor>, new-path: string)\n"
           "        -> result<_, error-code>;\n"
           "    open-at: func(path-flags: path-flags, path: string, open-flags: open-flags,\n"
           "                  %flags: descriptor-flags) -> result<descriptor, error-code>;\n"
           "    readlink-at: func(path: string) -> result<string, error-code>;\n"
           "    remove-directory-at: func(path: string) -> result<_, error-code>;\n"
           "    rename-at: func(old-path: string, new-descriptor: borrow<descriptor>,\n"
           "                    new-path: string) -> result<_, error-code>;\n"
           "    symlink-at: func(old-path: string, new-path: string) -> result<_, error-code>;\n"
           "    unlink-file-at: func(path: string) -> result<_, error-code>;\n"
           "    is-same-object: func(other: borrow<descriptor>) -> bool;\n"
           "    metadata-hash: func() -> result<metadata-hash-value, error-code>;\n"
           "    metadata-hash-at: func(path-flags: path-flags, path: string)\n"
           "        -> result<metadata-hash-value, error-code>;\n"
           "}\n"
           "resource directory-entry-stream {\n"
           "    read-directory-entry: func() -> result<option<directory-entry>, error-code>;\n"
           "}\n"
           "filesystem-error-code: func(err: borrow<error>) -> option<error-code>;\n",
    .resources = fs_resources,
    .nresources = 2,
    .funcs = fs_funcs,
    .nfuncs = sizeof fs_funcs / sizeof fs_funcs[0],
};

/* ---- wasi:filesystem/preopens ---- */

static int get_directories(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)args;
    struct wasip2 *ctx;
    int rc = p2_ctx(call, &ctx);
    if (rc != 0)
        return rc;
    const struct spry_wasi *w = ctx->wasi;
    size_t n = 0;
    for (uint32_t i = 0; i < w->nfds; i++)
        n += w->fds[i].used && w->fds[i].prestat_name != NULL;
    struct cval *pairs = p2_vals(call, n), *v = p2_vals(call, 2 * n);
    if (pairs == NULL || v == NULL)
        return p2_oom(call);
    size_t k = 0;
    for (uint32_t i = 0; i < w->nfds && k < n; i++) {
        const struct wasi_fd *f = &ctx->wasi->fds[i];
        if (!f->used || f->prestat_name == NULL)
            continue;
        uint32_t slot;
        rc = p2_new_own(call, ctx, P2_DESCRIPTOR, 0, &slot, &v[2 * k]);
        if (rc != 0) {
            while (k-- > 0) /* none was handed out */
                p2_discard(ctx, (v[2 * k].of.rep & 0xffff) - 1);
            return rc;
        }
        struct p2_obj *d = &ctx->objs[slot];
        d->u.desc.fd = f->host;
        d->u.desc.borrowed = true;
        d->u.desc.dir = true;
        d->u.desc.readonly = f->readonly;
        d->u.desc.tree = f->tree;
        d->u.desc.flags = P2_DF_READ | (f->readonly ? 0 : P2_DF_MUTATE_DIR);
        v[2 * k + 1] =
            (struct cval){.kind = CT_STRING, .of.str = {f->prestat_name, f->prestat_len}};
        pairs[k] = (struct cval){.kind = CT_TUPLE, .of.list = {&v[2 * k], 2}};
        k++;
    }
    result->kind = CT_LIST;
    result->of.list.v = pairs;
    result->of.list.n = k;
    return 0;
}

static const struct chost_func preopen_funcs[] = {{"get-directories", get_directories}};

const struct chost_iface p2_iface_filesystem_preopens = {
    .name = "wasi:filesystem/preopens",
    .version = WASIP2_VERSION,
    .wit = "use types.{descriptor};\n"
           "get-directories: func() -> list<tuple<descriptor, string>>;\n",
    .funcs = preopen_funcs,
    .nfuncs = 1,
};

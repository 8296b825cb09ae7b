/*
 * Shared helpers for the WASI guest programs in tests/guests/ (built for
 * wasm32-wasi with wasi-libc at test time by scripts/run-guests.sh).
 *
 * Every guest prints deterministic lines: errors by their WASI name (the
 * numbers wasi-libc's errno uses are WASI preview 1's), never timestamps or
 * random bytes. Where wasi-libc hides a call or rewrites its error, the
 * guests call the raw imports of <wasi/api.h>.
 */
#ifndef GUEST_H
#define GUEST_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

#define WASI_IMPORT(name) \
    __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))

/* The name of a WASI errno (also wasi-libc's errno), "ok" for success. */
static inline const char *errname(int e)
{
    static const char *const names[] = {
        "ok",           "E2BIG",           "EACCES",       "EADDRINUSE",   "EADDRNOTAVAIL",
        "EAFNOSUPPORT", "EAGAIN",          "EALREADY",     "EBADF",        "EBADMSG",
        "EBUSY",        "ECANCELED",       "ECHILD",       "ECONNABORTED", "ECONNREFUSED",
        "ECONNRESET",   "EDEADLK",         "EDESTADDRREQ", "EDOM",         "EDQUOT",
        "EEXIST",       "EFAULT",          "EFBIG",        "EHOSTUNREACH", "EIDRM",
        "EILSEQ",       "EINPROGRESS",     "EINTR",        "EINVAL",       "EIO",
        "EISCONN",      "EISDIR",          "ELOOP",        "EMFILE",       "EMLINK",
        "EMSGSIZE",     "EMULTIHOP",       "ENAMETOOLONG", "ENETDOWN",     "ENETRESET",
        "ENETUNREACH",  "ENFILE",          "ENOBUFS",      "ENODEV",       "ENOENT",
        "ENOEXEC",      "ENOLCK",          "ENOLINK",      "ENOMEM",       "ENOMSG",
        "ENOPROTOOPT",  "ENOSPC",          "ENOSYS",       "ENOTCONN",     "ENOTDIR",
        "ENOTEMPTY",    "ENOTRECOVERABLE", "ENOTSOCK",     "ENOTSUP",      "ENOTTY",
        "ENXIO",        "EOVERFLOW",       "EOWNERDEAD",   "EPERM",        "EPIPE",
        "EPROTO",       "EPROTONOSUPPORT", "EPROTOTYPE",   "ERANGE",       "EROFS",
        "ESPIPE",       "ESRCH",           "ESTALE",       "ETIMEDOUT",    "ETXTBSY",
        "EXDEV",        "ENOTCAPABLE",
    };
    static char other[24];
    if (e >= 0 && (size_t)e < sizeof names / sizeof names[0])
        return names[e];
    snprintf(other, sizeof other, "errno %d", e);
    return other;
}

/* Line-buffered stdout in every guest, so that what a guest printed before
 * a trap, a proc_exit or a raw fd_write has reached the runtime in order. */
__attribute__((constructor)) static void guest_line_buffered(void)
{
    setvbuf(stdout, NULL, _IOLBF, BUFSIZ);
}

/* "what: ok" or "what: ENAME" for a raw WASI call's result. */
static inline void report(const char *what, int err)
{
    printf("%s: %s\n", what, errname(err));
}

/* "what: ok" or "what: ENAME" for a libc call's result (rc < 0 uses errno). */
static inline void report_libc(const char *what, long rc)
{
    printf("%s: %s\n", what, rc < 0 ? errname(errno) : "ok");
}

/*
 * A sandbox refusal. WASI preview 1 specifies ENOTCAPABLE for an operation
 * the capabilities do not allow; wasmtime answers EPERM for a path that
 * leaves the pre-opened directory. Both mean "refused"; anything else is
 * printed by name so the expectation shows what went wrong.
 */
static inline const char *refusal(int e)
{
    return e == __WASI_ERRNO_NOTCAPABLE || e == __WASI_ERRNO_PERM ? "refused" : errname(e);
}

/*
 * A write (or read) on a descriptor that lacks the right: the WASI
 * specification says ENOTCAPABLE, wasmtime and POSIX say EBADF.
 */
static inline const char *no_right(int e)
{
    return e == __WASI_ERRNO_NOTCAPABLE || e == __WASI_ERRNO_BADF ? "refused" : errname(e);
}

static inline const char *yes(int cond)
{
    return cond ? "yes" : "no";
}

/* The rights a directory descriptor lets files opened beneath it have. */
static inline __wasi_rights_t inheriting_rights(__wasi_fd_t dir)
{
    __wasi_fdstat_t st;
    if (__wasi_fd_fdstat_get(dir, &st) != 0)
        return 0;
    return st.fs_rights_inheriting;
}

/* The rights that let a descriptor change a file's contents. */
#define WRITE_RIGHTS                                                                  \
    (__WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_ALLOCATE | \
     __WASI_RIGHTS_FD_FILESTAT_SET_SIZE)

/* path_open relative to DIR with the directory's inheriting rights, less
 * the write rights (as wasi-libc's open(O_RDONLY) asks). */
static inline int raw_open(__wasi_fd_t dir, const char *path, __wasi_lookupflags_t lookup,
                           __wasi_oflags_t oflags, __wasi_fdflags_t fdflags, __wasi_fd_t *fd)
{
    __wasi_rights_t r = inheriting_rights(dir) & ~(__wasi_rights_t)WRITE_RIGHTS;
    return __wasi_path_open(dir, lookup, path, oflags, r, r, fdflags, fd);
}

/* The same, read-write (as open(O_RDWR) asks). */
static inline int raw_open_rw(__wasi_fd_t dir, const char *path, __wasi_lookupflags_t lookup,
                              __wasi_oflags_t oflags, __wasi_fdflags_t fdflags, __wasi_fd_t *fd)
{
    __wasi_rights_t r = inheriting_rights(dir);
    return __wasi_path_open(dir, lookup, path, oflags, r, r, fdflags, fd);
}

/* Writes a string to stdout with a raw fd_write (after flushing stdio). */
static inline int raw_puts(const char *s)
{
    fflush(stdout);
    __wasi_ciovec_t iov = {.buf = (const uint8_t *)s, .buf_len = strlen(s)};
    __wasi_size_t n;
    return __wasi_fd_write(1, &iov, 1, &n);
}

#endif

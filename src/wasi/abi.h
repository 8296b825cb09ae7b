/*
 * The guest side of WASI preview 1: the numbers and layouts of
 * wasi_snapshot_preview1 (witx: WebAssembly/WASI phases/snapshot/witx/
 * typenames.witx) and checked access to guest memory.
 *
 * Every handler gets a struct wasi_call. Guest memory is [mem, mem+size);
 * the engine never grows it while a host function runs (we never call back
 * into wasm), so base and size read once at entry stay valid for the call.
 * Every guest pointer is checked with wasi_mem_ok before it is touched: the
 * sum is computed in 64 bits from a u32 pointer and a length below 2^40, so
 * it cannot wrap. Values are little-endian in guest memory; the load/store
 * helpers use memcpy (guest pointers need not be aligned).
 */
#ifndef SPRY_WASI_ABI_H
#define SPRY_WASI_ABI_H

#include "spry/wasm.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct spry_wasi;

/* X(NAME, value): preview 1 errno values (the same numbers as wasi-libc). */
#define WASI_ERRNO_LIST(X) \
    X(SUCCESS, 0)          \
    X(2BIG, 1)             \
    X(ACCES, 2)            \
    X(ADDRINUSE, 3)        \
    X(ADDRNOTAVAIL, 4)     \
    X(AFNOSUPPORT, 5)      \
    X(AGAIN, 6)            \
    X(ALREADY, 7)          \
    X(BADF, 8)             \
    X(BADMSG, 9)           \
    X(BUSY, 10)            \
    X(CANCELED, 11)        \
    X(CHILD, 12)           \
    X(CONNABORTED, 13)     \
    X(CONNREFUSED, 14)     \
    X(CONNRESET, 15)       \
    X(DEADLK, 16)          \
    X(DESTADDRREQ, 17)     \
    X(DOM, 18)             \
    X(DQUOT, 19)           \
    X(EXIST, 20)           \
    X(FAULT, 21)           \
    X(FBIG, 22)            \
    X(HOSTUNREACH, 23)     \
    X(IDRM, 24)            \
    X(ILSEQ, 25)           \
    X(INPROGRESS, 26)      \
    X(INTR, 27)            \
    X(INVAL, 28)           \
    X(IO, 29)              \
    X(ISCONN, 30)          \
    X(ISDIR, 31)           \
    X(LOOP, 32)            \
    X(MFILE, 33)           \
    X(MLINK, 34)           \
    X(MSGSIZE, 35)         \
    X(MULTIHOP, 36)        \
    X(NAMETOOLONG, 37)     \
    X(NETDOWN, 38)         \
    X(NETRESET, 39)        \
    X(NETUNREACH, 40)      \
    X(NFILE, 41)           \
    X(NOBUFS, 42)          \
    X(NODEV, 43)           \
    X(NOENT, 44)           \
    X(NOEXEC, 45)          \
    X(NOLCK, 46)           \
    X(NOLINK, 47)          \
    X(NOMEM, 48)           \
    X(NOMSG, 49)           \
    X(NOPROTOOPT, 50)      \
    X(NOSPC, 51)           \
    X(NOSYS, 52)           \
    X(NOTCONN, 53)         \
    X(NOTDIR, 54)          \
    X(NOTEMPTY, 55)        \
    X(NOTRECOVERABLE, 56)  \
    X(NOTSOCK, 57)         \
    X(NOTSUP, 58)          \
    X(NOTTY, 59)           \
    X(NXIO, 60)            \
    X(OVERFLOW, 61)        \
    X(OWNERDEAD, 62)       \
    X(PERM, 63)            \
    X(PIPE, 64)            \
    X(PROTO, 65)           \
    X(PROTONOSUPPORT, 66)  \
    X(PROTOTYPE, 67)       \
    X(RANGE, 68)           \
    X(ROFS, 69)            \
    X(SPIPE, 70)           \
    X(SRCH, 71)            \
    X(STALE, 72)           \
    X(TIMEDOUT, 73)        \
    X(TXTBSY, 74)          \
    X(XDEV, 75)            \
    X(NOTCAPABLE, 76)

enum wasi_errno {
#define WASI_ERRNO_ENUM(name, value) WASI_E##name = value,
    WASI_ERRNO_LIST(WASI_ERRNO_ENUM)
#undef WASI_ERRNO_ENUM
};

/* The preview 1 errno for a host errno value (EIO for ones WASI lacks). */
int wasi_errno_from_host(int host_errno);

enum wasi_filetype {
    WASI_FILETYPE_UNKNOWN = 0,
    WASI_FILETYPE_BLOCK_DEVICE = 1,
    WASI_FILETYPE_CHARACTER_DEVICE = 2,
    WASI_FILETYPE_DIRECTORY = 3,
    WASI_FILETYPE_REGULAR_FILE = 4,
    WASI_FILETYPE_SOCKET_DGRAM = 5,
    WASI_FILETYPE_SOCKET_STREAM = 6,
    WASI_FILETYPE_SYMBOLIC_LINK = 7,
};

/* Rights (typenames.witx `rights`): bit numbers are ABI. */
enum {
    WASI_RIGHT_FD_DATASYNC = 1 << 0,
    WASI_RIGHT_FD_READ = 1 << 1,
    WASI_RIGHT_FD_SEEK = 1 << 2,
    WASI_RIGHT_FD_FDSTAT_SET_FLAGS = 1 << 3,
    WASI_RIGHT_FD_SYNC = 1 << 4,
    WASI_RIGHT_FD_TELL = 1 << 5,
    WASI_RIGHT_FD_WRITE = 1 << 6,
    WASI_RIGHT_FD_ADVISE = 1 << 7,
    WASI_RIGHT_FD_ALLOCATE = 1 << 8,
    WASI_RIGHT_PATH_CREATE_DIRECTORY = 1 << 9,
    WASI_RIGHT_PATH_CREATE_FILE = 1 << 10,
    WASI_RIGHT_PATH_LINK_SOURCE = 1 << 11,
    WASI_RIGHT_PATH_LINK_TARGET = 1 << 12,
    WASI_RIGHT_PATH_OPEN = 1 << 13,
    WASI_RIGHT_FD_READDIR = 1 << 14,
    WASI_RIGHT_PATH_READLINK = 1 << 15,
    WASI_RIGHT_PATH_RENAME_SOURCE = 1 << 16,
    WASI_RIGHT_PATH_RENAME_TARGET = 1 << 17,
    WASI_RIGHT_PATH_FILESTAT_GET = 1 << 18,
    WASI_RIGHT_PATH_FILESTAT_SET_SIZE = 1 << 19,
    WASI_RIGHT_PATH_FILESTAT_SET_TIMES = 1 << 20,
    WASI_RIGHT_FD_FILESTAT_GET = 1 << 21,
    WASI_RIGHT_FD_FILESTAT_SET_SIZE = 1 << 22,
    WASI_RIGHT_FD_FILESTAT_SET_TIMES = 1 << 23,
    WASI_RIGHT_PATH_SYMLINK = 1 << 24,
    WASI_RIGHT_PATH_REMOVE_DIRECTORY = 1 << 25,
    WASI_RIGHT_PATH_UNLINK_FILE = 1 << 26,
    WASI_RIGHT_POLL_FD_READWRITE = 1 << 27,
    WASI_RIGHT_SOCK_SHUTDOWN = 1 << 28,
    WASI_RIGHT_SOCK_ACCEPT = 1 << 29,
};

/* What an fd of each kind may ever hold (fd_fdstat_get reports a subset). */
#define WASI_RIGHTS_FILE                                                                   \
    ((uint64_t)(WASI_RIGHT_FD_DATASYNC | WASI_RIGHT_FD_READ | WASI_RIGHT_FD_SEEK |         \
                WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_SYNC | WASI_RIGHT_FD_TELL | \
                WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_ADVISE | WASI_RIGHT_FD_ALLOCATE |      \
                WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_FD_FILESTAT_SET_SIZE |             \
                WASI_RIGHT_FD_FILESTAT_SET_TIMES | WASI_RIGHT_POLL_FD_READWRITE))
#define WASI_RIGHTS_DIR                                                                            \
    ((uint64_t)(WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_SYNC | WASI_RIGHT_FD_DATASYNC |     \
                WASI_RIGHT_PATH_CREATE_DIRECTORY | WASI_RIGHT_PATH_CREATE_FILE |                   \
                WASI_RIGHT_PATH_LINK_SOURCE | WASI_RIGHT_PATH_LINK_TARGET | WASI_RIGHT_PATH_OPEN | \
                WASI_RIGHT_FD_READDIR | WASI_RIGHT_PATH_READLINK | WASI_RIGHT_PATH_RENAME_SOURCE | \
                WASI_RIGHT_PATH_RENAME_TARGET | WASI_RIGHT_PATH_FILESTAT_GET |                     \
                WASI_RIGHT_PATH_FILESTAT_SET_SIZE | WASI_RIGHT_PATH_FILESTAT_SET_TIMES |           \
                WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_FD_FILESTAT_SET_TIMES |                    \
                WASI_RIGHT_PATH_SYMLINK | WASI_RIGHT_PATH_REMOVE_DIRECTORY |                       \
                WASI_RIGHT_PATH_UNLINK_FILE | WASI_RIGHT_POLL_FD_READWRITE))
#define WASI_RIGHTS_SOCKET                                                                  \
    ((uint64_t)(WASI_RIGHT_FD_READ | WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_FDSTAT_SET_FLAGS | \
                WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_POLL_FD_READWRITE |                 \
                WASI_RIGHT_SOCK_SHUTDOWN | WASI_RIGHT_SOCK_ACCEPT))
/* Rights that modify something; a read-only preopen and what is opened
 * beneath it never hold them. */
#define WASI_RIGHTS_WRITE                                                                \
    ((uint64_t)(WASI_RIGHT_FD_DATASYNC | WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_ALLOCATE |  \
                WASI_RIGHT_FD_FILESTAT_SET_SIZE | WASI_RIGHT_FD_FILESTAT_SET_TIMES |     \
                WASI_RIGHT_PATH_CREATE_DIRECTORY | WASI_RIGHT_PATH_CREATE_FILE |         \
                WASI_RIGHT_PATH_LINK_SOURCE | WASI_RIGHT_PATH_LINK_TARGET |              \
                WASI_RIGHT_PATH_RENAME_SOURCE | WASI_RIGHT_PATH_RENAME_TARGET |          \
                WASI_RIGHT_PATH_FILESTAT_SET_SIZE | WASI_RIGHT_PATH_FILESTAT_SET_TIMES | \
                WASI_RIGHT_PATH_SYMLINK | WASI_RIGHT_PATH_REMOVE_DIRECTORY |             \
                WASI_RIGHT_PATH_UNLINK_FILE))

enum {
    WASI_FDFLAG_APPEND = 1 << 0,
    WASI_FDFLAG_DSYNC = 1 << 1,
    WASI_FDFLAG_NONBLOCK = 1 << 2,
    WASI_FDFLAG_RSYNC = 1 << 3,
    WASI_FDFLAG_SYNC = 1 << 4,
    WASI_FDFLAGS_ALL = 0x1f,
};

enum {
    WASI_OFLAG_CREAT = 1 << 0,
    WASI_OFLAG_DIRECTORY = 1 << 1,
    WASI_OFLAG_EXCL = 1 << 2,
    WASI_OFLAG_TRUNC = 1 << 3,
    WASI_LOOKUP_SYMLINK_FOLLOW = 1 << 0,
};

enum {
    WASI_FSTFLAG_ATIM = 1 << 0,
    WASI_FSTFLAG_ATIM_NOW = 1 << 1,
    WASI_FSTFLAG_MTIM = 1 << 2,
    WASI_FSTFLAG_MTIM_NOW = 1 << 3,
};

/* Sizes of ABI records (typenames.witx). */
enum {
    WASI_IOVEC_SIZE = 8,     /* buf u32 @0, len u32 @4 */
    WASI_FDSTAT_SIZE = 24,   /* filetype u8 @0, flags u16 @2, rights u64 @8, inheriting u64 @16 */
    WASI_FILESTAT_SIZE = 64, /* dev @0 ino @8 filetype u8 @16 nlink @24 size @32 atim @40 mtim @48
                                ctim @56 */
    WASI_DIRENT_SIZE = 24,   /* next u64 @0, ino u64 @8, namlen u32 @16, type u8 @20, name */
    WASI_PRESTAT_SIZE = 8,   /* tag u8 @0 (0: dir), name_len u32 @4 */
    WASI_SUBSCRIPTION_SIZE = 48, /* userdata @0, tag u8 @8, clock{id u32 @16, timeout @24,
                                    precision @32, flags u16 @40} | fd u32 @16 */
    WASI_EVENT_SIZE = 32, /* userdata @0, error u16 @8, type u8 @10, nbytes @16, flags u16 @24 */
};

/* One host-function call as handlers see it. */
struct wasi_call {
    struct spry_wasi *wasi;
    struct spry_instance *caller;
    struct spry_memory *memory; /* the caller's memory 0, or NULL */
    uint8_t *mem;               /* its bytes */
    uint64_t size;
    const uint64_t *args; /* the call's arguments, as slots */
};

static inline uint32_t wasi_arg32(const struct wasi_call *c, unsigned i)
{
    return (uint32_t)c->args[i];
}

static inline uint64_t wasi_arg64(const struct wasi_call *c, unsigned i)
{
    return c->args[i];
}

/* True when [ptr, ptr+len) lies inside guest memory. */
static inline bool wasi_mem_ok(const struct wasi_call *c, uint32_t ptr, uint64_t len)
{
    return len <= c->size && (uint64_t)ptr <= c->size - len;
}

/* Marks [ptr, ptr+len), checked, as written (a pool resets only what is
 * marked: spry_memory_data). Every write into guest memory goes through
 * wasi_store* or is followed by this. */
static inline void wasi_mark(struct wasi_call *c, uint32_t ptr, uint64_t len)
{
    if (c->memory != NULL)
        spry_memory_note_write(c->memory, ptr, len);
}

static inline void wasi_store16(struct wasi_call *c, uint32_t ptr, uint16_t v)
{
    memcpy(c->mem + ptr, &v, 2);
    wasi_mark(c, ptr, 2);
}

static inline void wasi_store32(struct wasi_call *c, uint32_t ptr, uint32_t v)
{
    memcpy(c->mem + ptr, &v, 4);
    wasi_mark(c, ptr, 4);
}

static inline void wasi_store64(struct wasi_call *c, uint32_t ptr, uint64_t v)
{
    memcpy(c->mem + ptr, &v, 8);
    wasi_mark(c, ptr, 8);
}

static inline uint32_t wasi_load32(const struct wasi_call *c, uint32_t ptr)
{
    uint32_t v;
    memcpy(&v, c->mem + ptr, 4);
    return v;
}

static inline uint64_t wasi_load64(const struct wasi_call *c, uint32_t ptr)
{
    uint64_t v;
    memcpy(&v, c->mem + ptr, 8);
    return v;
}

/* Checks a result pointer of `len` bytes: WASI_EFAULT or 0. */
static inline int wasi_out_ok(const struct wasi_call *c, uint32_t ptr, uint64_t len)
{
    return wasi_mem_ok(c, ptr, len) ? 0 : WASI_EFAULT;
}

/*
 * A guest iovec array turned into host iovecs, each range checked. At most
 * WASI_IOV_MAX entries (more: EINVAL, as readv's IOV_MAX, after the range check:
 * an array the memory cannot hold is EFAULT); the total is
 * capped at WASI_IO_MAX bytes per call by shortening the last vectors.
 */
enum { WASI_IOV_MAX = 1024 };
#define WASI_IO_MAX ((uint64_t)1 << 30)

struct iovec;
int wasi_iovecs(const struct wasi_call *c, uint32_t iovs, uint32_t n, struct iovec *out,
                uint64_t *total);
/* Marks the first `bytes` bytes of the iovecs (from wasi_iovecs) written:
 * what a read put there. */
void wasi_iovecs_mark(struct wasi_call *c, const struct iovec *iov, uint32_t n, uint64_t bytes);

/* ---- helpers shared by handlers (filestat.c) ---- */

struct stat;
struct timespec;
/* Writes a filestat record for st at ptr (already checked). */
void wasi_put_filestat(struct wasi_call *c, uint32_t ptr, const struct stat *st);
/* Fills ts[0..2) for futimens/utimensat from set_times arguments:
 * EINVAL when a time is both given and "now". */
int wasi_times(uint64_t atim, uint64_t mtim, uint32_t fstflags, struct timespec *ts);
#endif

/*
 * WASI 0.2 host internals: the per-request context, its object table and
 * the helpers every interface file shares. See wasip2.h for the API and
 * docs/wasi.md ("WASI 0.2") for the behaviour.
 *
 * The object table. Every host resource the guest holds (streams,
 * pollables, descriptors, directory streams, errors, terminals, the
 * network) is a slot of ctx->objs; its representation (`rep`, what the
 * canonical ABI hands back to us) is (generation << 16) | (slot + 1):
 *  - a slot's generation changes every time it is freed, so a stale rep
 *    (a bug, or a value from an earlier request) finds nothing;
 *  - slots never move between calls, but the array may be reallocated when
 *    a new object is made (it starts inside the context, P2_INLINE_OBJECTS
 *    slots, and moves to the heap past them): code keeps slot numbers, not
 *    pointers, across p2_new;
 *  - an object may depend on another (`parent`: a pollable on its stream,
 *    a file stream on its descriptor). The parent counts its `children`;
 *    when the guest drops a parent that still has children it is only
 *    marked `dropped` and freed with its last child (wasmtime traps
 *    instead; freeing later is as safe and spares guests that drop in the
 *    "wrong" order).
 *  - at most ctx->max_objs live objects (P2_MAX_OBJECTS): a guest that
 *    keeps creating handles gets an error or a trap, never unbounded memory.
 *
 * Everything else (args, env, stdio streams and their buffering, preopens
 * and their read-only flags) is the preview-1 context (struct spry_wasi)
 * the WASI 0.2 context owns, so both follow the same sandbox rules.
 */
#ifndef SPRY_COMPONENT_WASIP2_P2_H
#define SPRY_COMPONENT_WASIP2_P2_H

#include "base/assert.h"
#include "component/chost.h"
#include "component/wasip2/wasip2.h"
#include "wasi/abi.h"
#include "wasi/ctx.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum {
    P2_MAX_OBJECTS = 0xfffe,       /* slot + 1 fits the low 16 bits of a rep */
    P2_READ_CHUNK = 64 * 1024,     /* most bytes one read/skip returns */
    P2_WRITE_BUDGET = 1 << 20,     /* what check-write grants */
    P2_BLOCKING_MAX = 4096,        /* blocking-write-and-flush limit (the WIT's) */
    P2_RANDOM_MAX = 16 << 20,      /* get-random-bytes limit (larger: trap) */
    P2_POLL_MAX = 1 << 16,         /* pollables in one poll */
    P2_SLICE_NS = 10 * 1000 * 1000 /* blocking waits check for interrupts this often */
};

enum p2_kind {
    P2_FREE = 0,
    P2_ERROR,      /* wasi:io/error.error */
    P2_POLLABLE,   /* wasi:io/poll.pollable */
    P2_INPUT,      /* wasi:io/streams.input-stream */
    P2_OUTPUT,     /* wasi:io/streams.output-stream */
    P2_DESCRIPTOR, /* wasi:filesystem/types.descriptor */
    P2_DIRSTREAM,  /* wasi:filesystem/types.directory-entry-stream */
    P2_TERM_IN,    /* wasi:cli/terminal-input.terminal-input */
    P2_TERM_OUT,   /* wasi:cli/terminal-output.terminal-output */
    P2_NETWORK,    /* wasi:sockets/network.network */
    P2_SOCKET,     /* tcp-socket, udp-socket and their streams: never created */
};

enum p2_poll_how {
    P2_POLL_READY = 0, /* always ready */
    P2_POLL_CLOCK,     /* ready at deadline (CLOCK_MONOTONIC ns) */
    P2_POLL_PARENT,    /* ready when its parent (a stream) is */
    P2_POLL_FN,        /* ready when the embedder's function says so */
};

enum p2_stream_how {
    P2_STREAM_STDIO = 0, /* guest fd 0, 1 or 2 of the preview-1 context */
    P2_STREAM_FILE,      /* at `offset` of the parent descriptor */
    P2_STREAM_APPEND,    /* at the end of the parent descriptor */
    P2_STREAM_CUSTOM,    /* the embedder's backend (wasip2_stream_create) */
};

/* descriptor-flags bits (wasi:filesystem/types), in WIT order. */
enum {
    P2_DF_READ = 1 << 0,
    P2_DF_WRITE = 1 << 1,
    P2_DF_FILE_SYNC = 1 << 2,
    P2_DF_DATA_SYNC = 1 << 3,
    P2_DF_READ_SYNC = 1 << 4,
    P2_DF_MUTATE_DIR = 1 << 5,
};

struct p2_obj {
    uint8_t kind;       /* enum p2_kind */
    bool dropped;       /* the guest dropped it; freed when children reaches 0 */
    uint16_t gen;       /* never 0 */
    uint32_t children;  /* live objects whose parent this is */
    uint32_t parent;    /* slot + 1 of the object this one needs, or 0 */
    uint32_t next_free; /* free slots: the next free slot + 1, or 0 */
    union {
        struct {
            int wasi_errno; /* preview-1 number (for filesystem-error-code) */
            int host_errno; /* 0 when not from a host call */
        } error;
        struct {
            uint8_t how; /* enum p2_poll_how */
            uint64_t deadline;
            bool (*ready)(void *user);  /* P2_POLL_FN */
            int (*wake_fd)(void *user); /* P2_POLL_FN: NULL, or wasip2.h's */
            void *user;
        } poll;
        struct {
            uint8_t how;   /* enum p2_stream_how */
            uint8_t stdio; /* P2_STREAM_STDIO: 0, 1, 2 */
            bool closed;   /* after end of input, or after an error was reported */
            uint64_t offset;
            const struct wasip2_stream_ops *ops; /* P2_STREAM_CUSTOM */
            void *user;
        } stream;
        struct {
            int fd;        /* host fd; a preopen's is borrowed */
            bool borrowed; /* a preopen's fd, owned by the preview-1 context */
            bool dir;
            bool readonly; /* beneath a read-only preopen */
            uint8_t flags; /* P2_DF_* as opened */
            uint32_t tree; /* preopen it descends from (1-based) */
        } desc;
        struct {
            DIR *dir;
        } dirs;
    } u;
};

/* Object slots a context holds without a malloc: a command's stdio,
 * terminals and preopens fit, as do a wasi:http handler's body streams and
 * pollables. */
#define P2_INLINE_OBJECTS 16

struct wasip2 {
    struct spry_wasi *wasi; /* owned: args, env, stdio, preopens */
    struct p2_obj *objs;    /* inline_objs until more are needed */
    uint32_t nobjs, cap;    /* slots in use or freed; allocated */
    uint32_t free_head;     /* first free slot + 1, or 0 */
    uint32_t live, max_objs;
    bool seeded;
    uint64_t seed[2];            /* insecure-seed: fixed per context */
    int (*on_block)(void *user); /* wasip2_set_block_hook */
    void *on_block_user;
    /* Last: wasip2_create zeroes only what comes before it. */
    struct p2_obj inline_objs[P2_INLINE_OBJECTS];
};

/* ---- the context and object table (ctx.c) ---- */

/* The context of the call's store, or a trap ("no WASI 0.2 context"). */
int p2_ctx(struct ccall *call, struct wasip2 **out);
/* A new object of `kind` depending on parent slot `parent` (+1, 0 for
 * none): its slot in *slot. SPRY_EEXHAUSTED at max_objs, SPRY_ENOMEM. */
int p2_new(struct wasip2 *ctx, uint8_t kind, uint32_t parent, uint32_t *slot);
/* The rep the guest gets for a slot. */
uint32_t p2_rep(const struct wasip2 *ctx, uint32_t slot);
/* The live (not dropped) object of `kind` with rep `rep`, or NULL. */
struct p2_obj *p2_get(struct wasip2 *ctx, uint32_t rep, uint8_t kind, uint32_t *slot);
/* Frees an object that was never handed out (an error path). */
void p2_discard(struct wasip2 *ctx, uint32_t slot);
/* chost_resource.drop for every host resource. */
void p2_drop(struct ccall *call, uint32_t rep);
/* A trap for a handle that names nothing (a bug in the caller). */
int p2_bad_handle(struct ccall *call, const char *what);

/* ---- results (val.c) ---- */

/* n zeroed values in the call's arena, or NULL. */
struct cval *p2_vals(struct ccall *call, size_t n);
int p2_oom(struct ccall *call);
/* result ok with payload (NULL: none; copied) / err with an enum case. */
int p2_ok(struct ccall *call, struct cval *result, const struct cval *payload);
int p2_err_enum(struct ccall *call, struct cval *result, uint32_t code);
/* An own handle for a new object in *out, or a trap when the table is
 * full (functions without an error case). */
int p2_new_own(struct ccall *call, struct wasip2 *ctx, uint8_t kind, uint32_t parent,
               uint32_t *slot, struct cval *out);
/* Copies bytes into the arena as a list<u8> / string value. */
int p2_bytes(struct ccall *call, const void *p, size_t n, struct cval *out);
int p2_string(struct ccall *call, const char *s, size_t n, struct cval *out);

static inline void p2_u64(struct cval *v, uint64_t x)
{
    v->kind = CT_U64;
    v->of.u = x;
}

static inline void p2_enum(struct cval *v, uint32_t disc)
{
    v->kind = CT_ENUM;
    v->of.var.disc = disc;
    v->of.var.payload = NULL;
}

static inline void p2_own(struct cval *v, uint32_t rep)
{
    v->kind = CT_OWN;
    v->of.rep = rep;
}

/* ---- streams (streams.c), shared with filesystem ---- */

/* stream-error results: closed, or last-operation-failed with a new error
 * object (wasi_errno: a preview-1 number; host_errno 0 when unknown). */
int p2_stream_closed(struct ccall *call, struct cval *result);
int p2_stream_failed(struct ccall *call, struct wasip2 *ctx, struct cval *result, int wasi_errno,
                     int host_errno);

/* ---- polling (poll.c) ---- */

/* Waits until one of the pollables in slots[0..n) is ready (or just looks,
 * when !block); ready[i] says which. 0, or SPRY_ETRAP when the store was
 * interrupted while waiting. */
int p2_wait(struct ccall *call, struct wasip2 *ctx, const uint32_t *slots, size_t n, bool block,
            bool *ready);
/* Waits until guest fd 0's host fd is readable (stdin that is a host fd). */
int p2_wait_stdin(struct ccall *call, struct wasip2 *ctx);
uint64_t p2_monotonic_now(void);

/* ---- filesystem helpers (filesystem.c), shared with filesystem_at.c ---- */

/* wasi:filesystem/types.error-code (WIT order): X(C name, WIT name). */
#define P2_FS_ERRORS(X)                               \
    X(ACCESS, "access")                               \
    X(WOULD_BLOCK, "would-block")                     \
    X(ALREADY, "already")                             \
    X(BAD_DESCRIPTOR, "bad-descriptor")               \
    X(BUSY, "busy")                                   \
    X(DEADLOCK, "deadlock")                           \
    X(QUOTA, "quota")                                 \
    X(EXIST, "exist")                                 \
    X(FILE_TOO_LARGE, "file-too-large")               \
    X(ILLEGAL_BYTE_SEQUENCE, "illegal-byte-sequence") \
    X(IN_PROGRESS, "in-progress")                     \
    X(INTERRUPTED, "interrupted")                     \
    X(INVALID, "invalid")                             \
    X(IO, "io")                                       \
    X(IS_DIRECTORY, "is-directory")                   \
    X(LOOP, "loop")                                   \
    X(TOO_MANY_LINKS, "too-many-links")               \
    X(MESSAGE_SIZE, "message-size")                   \
    X(NAME_TOO_LONG, "name-too-long")                 \
    X(NO_DEVICE, "no-device")                         \
    X(NO_ENTRY, "no-entry")                           \
    X(NO_LOCK, "no-lock")                             \
    X(INSUFFICIENT_MEMORY, "insufficient-memory")     \
    X(INSUFFICIENT_SPACE, "insufficient-space")       \
    X(NOT_DIRECTORY, "not-directory")                 \
    X(NOT_EMPTY, "not-empty")                         \
    X(NOT_RECOVERABLE, "not-recoverable")             \
    X(UNSUPPORTED, "unsupported")                     \
    X(NO_TTY, "no-tty")                               \
    X(NO_SUCH_DEVICE, "no-such-device")               \
    X(OVERFLOW, "overflow")                           \
    X(NOT_PERMITTED, "not-permitted")                 \
    X(PIPE, "pipe")                                   \
    X(READ_ONLY, "read-only")                         \
    X(INVALID_SEEK, "invalid-seek")                   \
    X(TEXT_FILE_BUSY, "text-file-busy")               \
    X(CROSS_DEVICE, "cross-device")

enum p2_fs_error {
#define P2_FS_ERROR_ENUM(name, text) P2_FS_##name,
    P2_FS_ERRORS(P2_FS_ERROR_ENUM)
#undef P2_FS_ERROR_ENUM
        P2_FS_ERROR_COUNT
};
extern const char *const p2_fs_error_names[P2_FS_ERROR_COUNT];

/* descriptor-type (WIT order). */
enum {
    P2_DT_UNKNOWN,
    P2_DT_BLOCK_DEVICE,
    P2_DT_CHARACTER_DEVICE,
    P2_DT_DIRECTORY,
    P2_DT_FIFO,
    P2_DT_SYMBOLIC_LINK,
    P2_DT_REGULAR_FILE,
    P2_DT_SOCKET,
};

/* error-code for a preview-1 errno (the inverse of the preview-1
 * adapter's mapping; numbers WASI 0.2 lacks become io). */
uint32_t p2_fs_code(int wasi_errno);
/* result err(error-code) for a preview-1 errno / the current errno. */
int p2_fs_err(struct ccall *call, struct cval *result, int wasi_errno);
int p2_fs_err_host(struct ccall *call, struct cval *result);
/* The descriptor argument: trap when the handle is bad. */
int p2_desc_arg(struct ccall *call, const struct cval *arg, struct wasip2 **ctx, uint32_t *slot);
uint32_t p2_dtype(unsigned mode);
struct stat;
/* descriptor-stat and metadata-hash-value records for st. */
int p2_stat_record(struct ccall *call, const struct stat *st, struct cval *out);
int p2_hash_record(struct ccall *call, const struct stat *st, struct cval *out);
/* futimens/utimensat times from two new-timestamp values; a preview-1
 * errno (EINVAL for nanoseconds past a second). */
struct timespec;
int p2_times(const struct cval *atim, const struct cval *mtim, struct timespec ts[2]);

#endif

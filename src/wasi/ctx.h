/*
 * The WASI context (struct spry_wasi): arguments, environment, the guest's
 * fd table and the stdio streams. Internal to the wasi layer.
 *
 * Invariants of the fd table:
 *  - fds[0..nfds) are the slots handed out so far; a slot is live when
 *    `used`. Guest fd numbers are slot indexes; new fds take the lowest free
 *    slot (POSIX order, which guests may rely on after a close).
 *    nfds <= cap and nfds <= max_fds; slots past nfds are not initialised.
 *  - fds is inline_fds (cap WASI_INLINE_FDS) until a guest needs more, then
 *    a heap array: a context with stdio and a few preopens allocates nothing
 *    for its table. A pointer to a slot is stale after wasi_fd_alloc.
 *  - A live fd has a host fd (`host` >= 0) or a stream (stdio kinds that are
 *    not a plain host fd), never neither. `owned` host fds are closed with
 *    the slot; borrowed ones (inherited/configured stdio, preopen_fds,
 *    which other contexts may share) never are.
 *  - rights/inheriting only shrink (fd_fdstat_set_rights); an fd opened
 *    beneath a directory gets at most the directory's inheriting rights.
 *  - `tree` names the preopen an fd descends from (1-based; 0 for stdio and
 *    sockets) and `readonly` is that preopen's flag: path operations use it
 *    for EROFS and to refuse renames/links between preopens (EXDEV).
 */
#ifndef SPRY_WASI_CTX_H
#define SPRY_WASI_CTX_H

#include "base/buf.h"
#include "spry/wasi.h"

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum wasi_stream_kind {
    WASI_STREAM_OUT_HOST = 1, /* buffered writes to a host fd */
    WASI_STREAM_OUT_CAPTURE,  /* kept in memory, bounded */
    WASI_STREAM_IN_BYTES,     /* reads from a byte buffer */
    WASI_STREAM_NULL,         /* reads end of file, writes vanish */
};

/* Output buffered for a host fd holds at most this many bytes. */
enum { WASI_STREAM_BUFFER = 8192, WASI_CAPTURE_DEFAULT_MAX = 1 << 20 };

struct wasi_stream {
    int kind;            /* enum wasi_stream_kind */
    int fd;              /* OUT_HOST: the host fd (borrowed) */
    bool tty;            /* OUT_HOST: flushed at the end of every fd_write */
    bool truncated;      /* OUT_CAPTURE: output was cut at buf.max */
    int error;           /* OUT_HOST: host errno of a failed flush, reported once */
    struct spry_buf buf; /* OUT_HOST: pending bytes; OUT_CAPTURE: the output */
    const uint8_t *in;   /* IN_BYTES (borrowed) */
    size_t in_len, in_pos;
};

struct wasi_fd {
    bool used;
    bool owned;
    bool readonly;
    uint8_t filetype; /* enum wasi_filetype */
    uint16_t fdflags; /* WASI_FDFLAG_*: as opened, append/nonblock kept current */
    int host;         /* host fd or -1 */
    uint32_t tree;    /* preopen (1-based) this fd descends from, 0 for none */
    uint64_t rights, inheriting;
    const char *prestat_name; /* preopened directories only: the guest name,
                                 in the context's strings (not owned) */
    size_t prestat_len;
    struct wasi_stream *stream; /* stdio not served by a plain host fd */
    DIR *dir;                   /* fd_readdir state, on its own open of host (".") */
    uint64_t dir_pos;           /* cookie of the next entry `dir` returns */
};

/* Fd slots inside the context: stdio, a few preopens and files. */
enum { WASI_INLINE_FDS = 8 };

/* One allocation: the context, then (in `strings`) the copies of args and
 * env (two NULL-terminated vectors, then their bytes) unless borrowed, then
 * the preopens' guest names. */
struct spry_wasi {
    char **args; /* in strings (or the caller's: borrowed); NULL-terminated */
    size_t nargs, args_bytes;
    char **env;
    size_t nenv, env_bytes;
    bool borrowed; /* args and env are the caller's (spry_wasi_config.borrow_strings) */
    struct wasi_fd *fds;
    uint32_t nfds, cap, max_fds;
    struct wasi_stream streams[3];
    /* Not zeroed by spry_wasi_create: wasi_fd_alloc initialises each slot
     * as it hands it out, and the strings are written once. */
    struct wasi_fd inline_fds[WASI_INLINE_FDS];
    char strings[]; /* aligned for char * (checked in wasi.c) */
};

/* ---- fd table (fdtable.c) ---- */

/* The live fd `fd` holding all of `rights`: 0, WASI_EBADF or
 * WASI_ENOTCAPABLE. */
int wasi_fd_get(struct spry_wasi *w, uint32_t fd, uint64_t rights, struct wasi_fd **out);
/* Reserves the lowest free slot (WASI_EMFILE past max_fds; WASI_ENOMEM);
 * the slot is zeroed with host = -1 and not yet `used`. */
int wasi_fd_alloc(struct spry_wasi *w, uint32_t *out);
/* Closes what the slot owns and frees it. Returns a WASI errno from close. */
int wasi_fd_release(struct wasi_fd *fd);
/* Filetype of a host fd from fstat. */
uint8_t wasi_filetype_of_mode(unsigned mode);

/* ---- streams (stream.c) ---- */

/* Writes the vectors to s; *written is the count accepted. */
int wasi_stream_write(struct spry_wasi *w, struct wasi_stream *s, const struct iovec *iov, int n,
                      size_t *written);
int wasi_stream_read(struct spry_wasi *w, struct wasi_stream *s, const struct iovec *iov, int n,
                     size_t *nread);
/* Writes pending output of every OUT_HOST stream except `keep` (NULL:
 * all). Returns the first host errno hit, 0 if none. */
int wasi_streams_flush(struct spry_wasi *w, const struct wasi_stream *keep);

#endif

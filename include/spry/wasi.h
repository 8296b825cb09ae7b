/*
 * Spry's WASI preview 1 (wasi_snapshot_preview1): a capability sandbox for
 * one guest.
 *
 * A struct spry_wasi holds what a guest may see: its arguments, its
 * environment (only what the config lists; nothing is inherited), its file
 * descriptors (stdio, pre-opened directories, pre-opened listening sockets)
 * and its stdio buffers. It serves one store at a time:
 *
 *     spry_wasi_create(&config, &wasi, &report);
 *     spry_host_link(store, module, spry_wasi_host_defs(&n), n, imports, &report);
 *     spry_wasi_attach(wasi, store);
 *     ... instantiate, call _start ...
 *     spry_wasi_flush(wasi);              (also done by destroy)
 *     spry_wasi_destroy(wasi);
 *
 * The host functions find their context through
 * spry_store_data(spry_instance_store(caller), SPRY_STORE_DATA_WASI) and the
 * guest memory through spry_instance_memory(caller, 0).
 * Sandbox rules, errno choices and buffering are described in docs/wasi.md.
 */
#ifndef SPRY_WASI_H
#define SPRY_WASI_H

#include "spry/error.h"
#include "spry/wasm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct spry_wasi;

enum spry_wasi_stdio_kind {
    SPRY_WASI_STDIO_INHERIT = 0, /* the process's own fd 0, 1 or 2 */
    SPRY_WASI_STDIO_HOST_FD = 1, /* `fd` below; borrowed, never closed */
    SPRY_WASI_STDIO_BUFFER = 2,  /* stdin: read from data/len; stdout/stderr: captured */
    SPRY_WASI_STDIO_NULL = 3,    /* stdin: end of file; stdout/stderr: discarded */
};

struct spry_wasi_stdio {
    int kind;            /* enum spry_wasi_stdio_kind */
    int fd;              /* SPRY_WASI_STDIO_HOST_FD */
    const uint8_t *data; /* stdin BUFFER: borrowed, must outlive the wasi object */
    size_t len;
    /* stdout/stderr BUFFER: the most bytes kept (0: 1 MiB). A write that
     * does not fit keeps what fits and reports that short count; a write
     * into a full buffer fails with ENOSPC. spry_wasi_output says whether
     * this happened. */
    size_t max;
};

struct spry_wasi_preopen {
    const char *host_path;  /* opened at spry_wasi_create (or preopen_fds) */
    const char *guest_path; /* the name fd_prestat_dir_name returns */
    bool readonly;          /* every modification beneath it fails with EROFS */
};

struct spry_wasi_config {
    const char *const *args; /* argv as the guest sees it (args[0] is the program) */
    size_t nargs;
    const char *const *env; /* "KEY=VALUE" strings */
    size_t nenv;
    const struct spry_wasi_preopen *preopens; /* guest fds 3, 4, ... in this order */
    size_t npreopens;
    /* NULL, or one fd per preopen: preopens[i].host_path already open
     * (O_RDONLY | O_DIRECTORY), used instead of opening it, or -1 to open
     * it. Such an fd stays the caller's: never closed by the context, kept
     * open until the contexts using it are destroyed. Any number of
     * contexts, on any threads, may share one: what a guest does through it
     * changes nothing another sees (files and listings beneath it get open
     * files of their own; its fdflags are the context's). A server saves an
     * open and a close per request. */
    const int *preopen_fds;
    const int *sockets; /* listening sockets, fds after the preopens; duplicated */
    size_t nsockets;
    struct spry_wasi_stdio stdio[3]; /* zeroed: inherit 0, 1, 2 */
    uint32_t max_fds;                /* the guest's fd table limit (0: 1024) */
    /* args and env are used where they are instead of copied: the caller
     * keeps them, unchanged, until spry_wasi_destroy (a server building
     * them per request saves a copy). */
    bool borrow_strings;
};

/* Builds a WASI context; strings are copied (unless borrow_strings),
 * preopens opened now (a missing directory fails with SPRY_ENOTFOUND
 * naming it). */
SPRY_API int spry_wasi_create(const struct spry_wasi_config *config, struct spry_wasi **out,
                              struct spry_report *report);
/* Flushes buffered guest output, closes every fd the context owns. NULL is
 * a no-op. */
SPRY_API void spry_wasi_destroy(struct spry_wasi *wasi);

/* Makes `wasi` the context of the host functions running in `store`. */
SPRY_API void spry_wasi_attach(struct spry_wasi *wasi, struct spry_store *store);

/* Every wasi_snapshot_preview1 function, for spry_host_link. Static. */
SPRY_API const struct spry_host_def *spry_wasi_host_defs(size_t *n);

/* Writes buffered stdout/stderr to their host fds (call before printing
 * anything of the host's own, e.g. a trap message). */
SPRY_API int spry_wasi_flush(struct spry_wasi *wasi);

/* The bytes captured for guest fd 1 or 2 when configured as BUFFER (else
 * NULL with *len = 0); *truncated tells whether output was cut at max. */
SPRY_API const uint8_t *spry_wasi_output(const struct spry_wasi *wasi, int fd, size_t *len,
                                         bool *truncated);

#ifdef __cplusplus
}
#endif

#endif

/*
 * WASI 0.2 (the wasi:io, wasi:clocks, wasi:random, wasi:cli,
 * wasi:filesystem and wasi:sockets interfaces) as host interfaces for
 * components, on the same sandbox as preview 1.
 *
 * What the linker uses:
 *
 *     size_t n;
 *     const struct chost_iface *ifaces = wasip2_ifaces(&n);   (static, once)
 *     wit_parse_host(ifaces, n, arena, &host, &report);        (wit.h)
 *
 * and per request (one context per component instance, per store):
 *
 *     wasip2_create(&config, &p2, &report);   (struct spry_wasi_config: the
 *                                               same args, env, preopens and
 *                                               stdio as preview 1)
 *     wasip2_attach(p2, store);               (SPRY_STORE_DATA_WASI_P2)
 *     ... instantiate, call wasi:cli/run.run ...
 *     spry_wasi_flush(wasip2_wasi(p2));       (before printing a trap line)
 *     spry_wasi_output(wasip2_wasi(p2), 1, &len, &cut);   (captured stdout)
 *     wasip2_destroy(p2);
 *
 * Every interface is served at version WASIP2_VERSION; the linker accepts
 * any 0.2.x import for it (patch ignored). The host functions find the
 * context through spry_store_data(call->store, SPRY_STORE_DATA_WASI_P2).
 * docs/wasi.md ("WASI 0.2") lists the functions, the error mapping and
 * what sockets do.
 */
#ifndef SPRY_COMPONENT_WASIP2_H
#define SPRY_COMPONENT_WASIP2_H

#include "component/chost.h"
#include "spry/wasi.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The WIT these interfaces follow (WebAssembly/WASI, tag v0.2.12). */
#define WASIP2_VERSION "0.2.12"

struct wasip2;

/* Every WASI 0.2 host interface, in dependency order. Static. */
const struct chost_iface *wasip2_ifaces(size_t *n);

/* Builds a context: a preview-1 context from `config` (strings copied,
 * preopens opened now; errors as spry_wasi_create) and an empty object
 * table. */
int wasip2_create(const struct spry_wasi_config *config, struct wasip2 **out,
                  struct spry_report *report);
/* Closes every object the guest left open, then the preview-1 context
 * (which flushes buffered output). NULL is a no-op. */
void wasip2_destroy(struct wasip2 *p2);

/* Makes `p2` the WASI 0.2 context of host calls running in `store`. */
void wasip2_attach(struct wasip2 *p2, struct spry_store *store);

/* The preview-1 context underneath: for spry_wasi_flush and
 * spry_wasi_output. Owned by p2. */
struct spry_wasi *wasip2_wasi(struct wasip2 *p2);

/* Called when a wait (wasi:io/poll's poll and pollable.block, and the
 * blocking stream calls that wait on one) finds nothing ready and is about
 * to sleep, or a read of host stdin would block: a nonzero return ends the
 * wait with that code instead (the guest stops with it). For runs that must
 * never block (the spin executor's speculative runs). NULL: none. */
void wasip2_set_block_hook(struct wasip2 *p2, int (*hook)(void *user), void *user);

/*
 * Streams with a backend of the embedder's (wasi:http bodies): an
 * input-stream or output-stream whose reads or writes call `ops`.
 *  - read: at most cap bytes into buf; returns WASIP2_IO_OK with *n (0 is
 *    "nothing yet", only when !block), WASIP2_IO_CLOSED at the end, or
 *    WASIP2_IO_FAILED. May block when `block` (it should return when the
 *    store is interrupted: the caller then traps).
 *  - write: all n bytes (may block for back-pressure); WASIP2_IO_OK,
 *    WASIP2_IO_CLOSED (nothing more is wanted) or WASIP2_IO_FAILED.
 *  - check_write: what a write may carry now (0: not now); NULL means
 *    P2's default grant.
 *  - ready: whether a pollable on the stream is ready; NULL: always.
 *  - wake_fd: an fd a waiting poll sleeps on instead of asking ready()
 *    every millisecond: it must poll readable once ready() may have turned
 *    true after this call (the call re-arms it: a wait calls it for every
 *    pollable before it asks any ready()); -1 or NULL: none.
 *  - close: the stream object is freed (dropped by the guest, or the
 *    context destroyed); NULL: nothing to do. `user` is not used after.
 * `ops` and `user` are borrowed until close.
 */
enum { WASIP2_IO_OK = 0, WASIP2_IO_CLOSED = 1, WASIP2_IO_FAILED = 2 };

struct wasip2_stream_ops {
    int (*read)(void *user, uint8_t *buf, size_t cap, bool block, size_t *n);
    int (*write)(void *user, const uint8_t *p, size_t n);
    uint64_t (*check_write)(void *user);
    bool (*ready)(void *user);
    void (*close)(void *user);
    int (*wake_fd)(void *user);
};

/* A new stream object (an input-stream when !output) on ops/user; its rep
 * (what an own<input-stream> result carries) in *rep. SPRY_EEXHAUSTED when
 * the table is full, SPRY_ENOMEM. */
int wasip2_stream_create(struct wasip2 *p2, bool output, const struct wasip2_stream_ops *ops,
                         void *user, uint32_t *rep);

/* A new pollable that is always ready (a future that is already
 * resolved); its rep in *rep. Errors as wasip2_stream_create. */
int wasip2_pollable_ready(struct wasip2 *p2, uint32_t *rep);

/* A new pollable that is ready when ready(user) says so (asked about
 * every millisecond while a poll waits); `user` must outlive it (the
 * context: wasip2_destroy frees it first). Errors as above. */
int wasip2_pollable_create(struct wasip2 *p2, bool (*ready)(void *user), void *user, uint32_t *rep);
/* The same with a wake_fd (as a stream's, above): a poll sleeps on it. */
int wasip2_pollable_create_fd(struct wasip2 *p2, bool (*ready)(void *user),
                              int (*wake_fd)(void *user), void *user, uint32_t *rep);

/* The context attached to a store (wasip2_attach), or NULL. */
struct wasip2 *wasip2_of_store(struct spry_store *store);

/* Live objects in the table (tests: every handle the guest dropped is
 * freed). */
size_t wasip2_live_objects(const struct wasip2 *p2);

#endif

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

#include <stddef.h>

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

/* Live objects in the table (tests: every handle the guest dropped is
 * freed). */
size_t wasip2_live_objects(const struct wasip2 *p2);

#endif

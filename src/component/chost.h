/*
 * Host interfaces for components: how the host (WASI 0.2, later Spin's APIs)
 * offers typed functions and resources that a component imports.
 *
 * A host interface is data: its name and version, its types and function
 * signatures written in Spry's WIT subset (wit.h parses it once), and C
 * functions by name. The linker matches a component's import
 * `namespace:package/interface@version` against the table (any 0.2.x import
 * is served by the host's 0.2 interface, patch ignored), checks every
 * imported function's type against the parsed signature, and rejects the
 * component at start naming the interface and function that are missing or
 * differ.
 *
 * A call: the guest calls a lowered import; the canonical ABI lifts the
 * arguments into struct cval (canon.h), calls the C function, and lowers its
 * result back. The C function gets its per-request state through the
 * store (spry_store_data(call->store, key)).
 */
#ifndef SPRY_COMPONENT_CHOST_H
#define SPRY_COMPONENT_CHOST_H

#include "component/ctype.h"

#include "base/arena.h"
#include "spry/wasm.h"

struct cinst; /* a component instance (the linker's) */

/* One host call in progress. */
struct ccall {
    struct spry_arena *arena;     /* result values (and scratch); freed after the call */
    struct cinst *inst;           /* the calling component instance */
    struct spry_store *store;     /* per-request data: spry_store_data(store, key) */
    struct spry_instance *caller; /* the core instance that made the call */
    struct spry_report *report;   /* when not NULL, ccall_trap records its message here too */
    const void *user;             /* the lowered function's datum (canon_lowered.user) */
};

/*
 * A host function. args[0..nparams) follow the function's parameter types;
 * the function writes *result when the type has one (allocating from
 * call->arena). Return 0; or SPRY_ETRAP after ccall_trap (the guest traps
 * with that message); or SPRY_EEXIT after spry_store_set_exit.
 */
typedef int (*chost_fn)(struct ccall *call, const struct cval *args, struct cval *result);

/* Sets the message the guest traps with and returns SPRY_ETRAP, so that a
 * host function can `return ccall_trap(call, "...")`. Implemented with the
 * canonical ABI (canon.c). */
int ccall_trap(struct ccall *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A host resource type. `drop` runs when the guest drops its last own
 * handle (resource.drop), with the representation the host gave it; NULL
 * when nothing needs freeing. */
struct chost_resource {
    const char *name; /* as in the interface, e.g. "input-stream" */
    void (*drop)(struct ccall *call, uint32_t rep);
};

struct chost_func {
    /* The import name as the component model spells it: "get-environment",
     * "[method]input-stream.read", "[constructor]fields",
     * "[static]fields.from-list". */
    const char *name;
    chost_fn fn;
};

struct chost_iface {
    const char *name;    /* "wasi:io/streams" */
    const char *version; /* "0.2.3": serves imports with the same major and minor */
    const char *wit;     /* types and function signatures, Spry's WIT subset (wit.h) */
    const struct chost_resource *resources;
    size_t nresources;
    const struct chost_func *funcs;
    size_t nfuncs;
};

#endif

/*
 * The instance pool: a fresh WebAssembly instance per request in
 * microseconds.
 *
 * A pool reserves, at creation, address space for a fixed number of slots
 * (one linear memory each, 8 GiB with guard pages, MAP_NORESERVE) and keeps
 * a store per slot. A prepared module (spry_prepared, Wasmtime's
 * "instance-pre") resolves a module's imports once against host function and
 * global tables, checks that instantiation succeeds, and builds the initial
 * linear memory once, with its active data segments applied, in a memfd
 * that slots map copy-on-write (small images are copied instead).
 *
 * spry_pool_acquire hands out an instance in the state of a fresh
 * instantiation: its memory, globals and tables exactly as instantiation
 * leaves them, and the start function run. spry_pool_release resets the
 * slot and keeps the instance, so that the next acquire of the same
 * prepared module costs no instantiation at all: the pages the request
 * wrote are written back in place (up to keep_resident_bytes, else the
 * memory is discarded with madvise(MADV_DONTNEED)), globals and tables are
 * restored from a snapshot. A slot prefers the module that used it last;
 * once every slot has served a module, acquiring and releasing make no
 * mmap, munmap or mprotect call (a memory.grow costs one mprotect, and its
 * undoing at release another).
 *
 * Thread safety: acquire and release may be called from any thread. An
 * acquired instance (and its store) is used by one thread at a time. When
 * every slot is in use, callers queue (first come, first served) up to
 * max_waiters, each for at most wait_timeout_ms, then fail with SPRY_EBUSY
 * (queue full) or SPRY_ETIMEOUT.
 */
#ifndef SPRY_POOL_H
#define SPRY_POOL_H

#include "spry/wasm.h"

#ifdef __cplusplus
extern "C" {
#endif

struct spry_pool;
struct spry_prepared;

struct spry_pool_config {
    uint32_t slots;               /* instances that can be live at once (>= 1) */
    uint64_t max_memory_bytes;    /* per instance: memory.grow past it returns -1, and a
                                     module whose minimum exceeds it cannot be prepared */
    uint64_t keep_resident_bytes; /* per memory: written pages reset in place and kept
                                     resident, up to this many bytes (0: always madvise) */
    uint32_t max_waiters;         /* callers that may queue for a slot (0: fail at once) */
    uint32_t wait_timeout_ms;     /* how long a queued caller waits */
    uint32_t max_call_depth;      /* as struct spry_store_limits (0: its default) */
    uint32_t max_stack_slots;     /* as struct spry_store_limits (0: its default) */
    uint64_t max_table_elems;     /* as struct spry_store_limits (0: its default) */
};

/* The defaults: 64 slots, 4 GiB per memory, 1 MiB kept resident per slot
 * (docs/benchmarks.md), 1024 waiters for up to 10 s each. */
SPRY_API void spry_pool_config_init(struct spry_pool_config *config);

/* Reserves the slots' address space. config may be NULL (the defaults). */
SPRY_API int spry_pool_create(const struct spry_pool_config *config, struct spry_pool **out,
                              struct spry_report *report);
/* Every prepared module must be destroyed first. NULL is a no-op. */
SPRY_API void spry_pool_destroy(struct spry_pool *pool);

/* A global offered to prepared modules: matched by (module, name); the type
 * must equal the import's. Strings are borrowed (they must outlive the
 * prepared module). */
struct spry_host_global {
    const char *module;
    const char *name;
    struct spry_globaltype type;
    struct spry_val value;
};

/*
 * Prepares `module` for the pool: each import must be a function found in
 * funcs or a global found in globals (by exact name, type checked), else
 * SPRY_EUNLINKABLE naming the import. Instantiation is tried once: a data or
 * element segment that does not fit, or a minimum memory above the pool's
 * max_memory_bytes, fails here with a report. The module, funcs and globals
 * are borrowed and must outlive the prepared module.
 */
SPRY_API int spry_prepared_create(struct spry_pool *pool, const struct spry_module *module,
                                  const struct spry_host_def *funcs, size_t nfuncs,
                                  const struct spry_host_global *globals, size_t nglobals,
                                  struct spry_prepared **out, struct spry_report *report);
/* No instance of it may be acquired (released ones are evicted). NULL is a
 * no-op. */
SPRY_API void spry_prepared_destroy(struct spry_prepared *prepared);

/*
 * Linked groups: several modules instantiated together, in order, in one
 * store, the later ones importing what the earlier ones export (a
 * component's core instances, linked by the component layer). Each import
 * of member k comes from a host function, a host global, or an export of a
 * member before k. The group is one pool slot: at most one of its members
 * may define a linear memory (the slot's); others may import it.
 * Instantiation is tried once, as for a single module; the memory image
 * holds the memory after every member's data segments. At each acquire
 * the members' start functions run in order.
 */
enum spry_link_kind {
    SPRY_LINK_HOST_FUNC = 0,
    SPRY_LINK_HOST_GLOBAL = 1,
    SPRY_LINK_EXPORT = 2,
};

struct spry_link_import {
    uint8_t kind; /* enum spry_link_kind */
    union {
        const struct spry_host_def *func;
        const struct spry_host_global *global;
        struct {
            uint32_t member; /* an earlier member */
            const char *name;
            size_t name_len;
        } exp;
    } of;
};

struct spry_link_member {
    const struct spry_module *module;
    const struct spry_link_import *imports; /* spry_module_import_count(module) entries */
};

struct spry_link_options {
    /* Frees the data attached to a slot with spry_pool_set_slot_data when the
     * slot stops holding the group's instances. May be NULL. */
    void (*slot_data_free)(void *data);
    /* The embedder promises that neither it nor its host functions write a
     * member's table (spry_table_set, spry_table_grow, ...): only the
     * members' own code and segments do. Then an imported function that
     * only forwards its arguments to a constant element of a table no
     * member's code writes (a component's shim module, whose table the
     * fixup module fills) is bound to the element's function itself, so
     * that calls skip the forwarder (docs/components.md, "Shim calls"). */
    bool bind_forwarders;
};

/* Prepares a linked group. members, their modules and imports (and the
 * strings and defs they point to) are borrowed: they must outlive the
 * prepared group. options may be NULL. Errors name the member and import. */
SPRY_API int spry_prepared_create_linked(struct spry_pool *pool,
                                         const struct spry_link_member *members, size_t nmembers,
                                         const struct spry_link_options *options,
                                         struct spry_prepared **out, struct spry_report *report);

/* Of an acquired instance: the instance of member k of its group (k = 0 is
 * the one spry_pool_acquire returns; a single module is a group of one),
 * or NULL when k is out of range. */
SPRY_API struct spry_instance *spry_pool_member(const struct spry_instance *inst, uint32_t k);

/* Data an embedder keeps with a slot for as long as the slot holds the
 * same group's instances (lookups computed once per instantiation rather
 * than per acquire). NULL after the slot (re)instantiates. Freed with the
 * group's slot_data_free. */
SPRY_API void *spry_pool_slot_data(const struct spry_instance *inst);
SPRY_API void spry_pool_set_slot_data(struct spry_instance *inst, void *data);

/*
 * Acquires a fresh instance of the prepared module, waiting in the queue
 * when every slot is busy. The start function, if any, has run (a trap there
 * returns SPRY_ETRAP with `trap` filled when not NULL, and the slot goes
 * back to the pool). Per-request data goes in the instance's store with
 * spry_store_set_data; the pool clears it at release.
 */
SPRY_API int spry_pool_acquire(struct spry_prepared *prepared, struct spry_instance **out,
                               struct spry_report *report, struct spry_trap *trap);
/* As spry_pool_acquire, but only from a free slot that already holds the
 * prepared module's instance (the last one it served): no instantiation,
 * no waiting. SPRY_EBUSY when there is none. For callers with a time
 * budget that instantiating could overrun (the spin executor's speculative
 * runs on an I/O loop). */
SPRY_API int spry_pool_acquire_warm(struct spry_prepared *prepared, struct spry_instance **out,
                                    struct spry_report *report, struct spry_trap *trap);
/* Gives the instance back (any member of a group gives the whole group
 * back); it must not be used afterwards. */
SPRY_API void spry_pool_release(struct spry_instance *inst);

struct spry_pool_stats {
    uint32_t slots, in_use, waiting;
    uint64_t acquired;     /* successful acquires */
    uint64_t reused;       /* ... that found the module's instance ready in a slot */
    uint64_t instantiated; /* ... that instantiated into a slot (first use, or a switch) */
    uint64_t rejected;     /* SPRY_EBUSY: queue full */
    uint64_t timed_out;    /* SPRY_ETIMEOUT */
};
SPRY_API void spry_pool_stats(struct spry_pool *pool, struct spry_pool_stats *out);

#ifdef __cplusplus
}
#endif

#endif

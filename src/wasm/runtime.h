/*
 * Runtime objects of the engine: stores, instances, functions, memories,
 * tables and globals (the structures behind include/spry/wasm.h).
 *
 * Ownership: a store owns every object created in it, on lists it frees at
 * spry_store_destroy. An instance points at objects that may belong to other
 * instances of the same store (imports), never to another store.
 *
 * Slots: every value lives in a 64-bit slot: i32 in the low half (high half
 * unspecified), i64, f32/f64 as IEEE bits, references as pointers (funcref:
 * struct spry_func *, externref: the host's pointer; NULL is null).
 */
#ifndef SPRY_WASM_RUNTIME_H
#define SPRY_WASM_RUNTIME_H

#include "spry/pool.h"
#include "spry/wasm.h"
#include "wasm/image.h"
#include "wasm/interp.h"
#include "wasm/module.h"

#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct spry_func {
    uint32_t type_id;                 /* interned (functype_intern) for call_indirect */
    struct spry_store *store;         /* the store that owns it */
    const struct wasm_functype *type; /* module's type, or host_type below */
    struct spry_instance *inst;       /* defining instance; NULL for host functions */
    struct wasm_func *def;            /* module function; NULL for host functions */
    uint32_t index;                   /* index in the defining module's function space */
    spry_host_fn host;                /* host functions only */
    void *host_user;
    struct wasm_functype host_type; /* host functions only: owned copy */
    struct spry_functype api_type;  /* spry_func_type's answer (runtime_func_init_api_type) */
    /* The interpreters' own copies of def->code / def->code_checked, filled
     * on the first call through this function, so that a call loads the
     * code with one load from the callee (NULL: not yet, or a host
     * function). Relaxed atomics: the code itself was published by def. */
    _Atomic(struct interp_code *) code_cache;
    _Atomic(struct interp_code *) code_checked_cache;
};

/*
 * A linear memory. With guard pages (the default on 64-bit hosts) `base` is
 * the start of a reservation of 8 GiB + 64 KiB (memory.c): [0, size) is
 * read-write, the rest PROT_NONE, so any i32 address plus any u32 offset
 * plus an access of up to 16 bytes lands inside the reservation and an
 * out-of-bounds access faults there (turned into a trap by the signal
 * handler). With SPRY_EXPLICIT_BOUNDS every access is checked against
 * `size` and the reservation is only as large as the maximum.
 *
 * A pooled memory may be read-write beyond its size, up to `rw`: a slot
 * keeps the zeroed pages an earlier instance grew into mapped, so that
 * growing into them again changes no page tables (memory_set_slack). The
 * guard pages then do not cover [size, rw), so while rw > size the store
 * counts the memory in slack_memories and its code runs in the interpreter
 * that checks every access.
 *
 * `written` marks the 1 KiB granules written (image.h, "Written-page
 * maps"): every path that writes [0, size) marks it, with memory_note_write
 * or, in the interpreter's stores, directly. A pooled memory marks its
 * slot's map (the pool's reset clears it); another memory owns its map.
 */
struct spry_memory {
    struct spry_store *store; /* the owner: only its instances may import it */
    uint8_t *base;
    uint64_t size;           /* accessible bytes: pages * WASM_PAGE_SIZE */
    uint64_t rw;             /* bytes at base that are read-write, >= size (see below) */
    uint64_t max_pages;      /* the smaller of the declared maximum and the store's limit */
    size_t reserved;         /* bytes of address space at base */
    struct spry_limits type; /* as declared; min updated on growth */
    bool pooled;             /* lives in a pool slot's reservation, which the pool unmaps */
    uint8_t *written;        /* one byte per 1 KiB of the reservation; non-zero: written */
    size_t written_len;      /* bytes at `written` when the memory owns them, else 0 */
};

/* Marks [off, off + len) written; the caller has checked it lies in the
 * memory's reservation. */
static inline void memory_note_write(struct spry_memory *mem, uint64_t off, uint64_t len)
{
    if (len == 0)
        return;
    uint64_t first = off >> WRITTEN_SHIFT, last = (off + len - 1) >> WRITTEN_SHIFT;
    if (first == last) /* most host writes: a few bytes */
        mem->written[first] = 1;
    else
        memset(mem->written + first, 1, (size_t)(last - first + 1));
}

struct spry_table {
    struct spry_store *store;
    struct spry_tabletype type; /* limits.min is the current size */
    uint32_t size;
    uint32_t max; /* the smaller of the declared maximum and the store's limit */
    uint32_t cap; /* allocated entries */
    void **elems;
    bool dirty; /* written since the pool last reset it (set by every writer) */
};

struct spry_global {
    struct spry_store *store;
    struct spry_globaltype type;
    uint64_t value; /* a slot */
};

/* An element segment's references, evaluated at instantiation. */
struct runtime_elem {
    uint32_t count;
    void **refs;
};

struct spry_instance {
    struct spry_store *store;
    const struct spry_module *api_module;
    const struct wasm_module *module;
    struct spry_func **funcs; /* module->nfuncs entries: the function index space */
    struct spry_table **tables;
    struct spry_memory **memories;
    struct spry_global **globals;
    struct runtime_elem *elem_refs; /* module->nelems evaluated segments */
    uint8_t *elem_dropped;          /* module->nelems flags */
    uint8_t *data_dropped;          /* module->ndatas flags */
    /* Set by every elem.drop and data.drop (interp.c, native.c): a pool
     * slot's reset copies the dropped flags back from its snapshot only
     * when it is set, and the snapshot clears it (prepared.c). */
    bool segments_dropped;
    struct spry_func *defined_funcs; /* storage for this instance's own functions */
    char trap_message[256];          /* set by spry_instance_set_trap_message */
    struct pool_slot *pool_slot;     /* the pool slot holding it, or NULL (pool.c) */
};

/* A growable list of pointers the store frees at destroy. */
struct runtime_list {
    void **items;
    size_t count, cap;
};

struct spry_store {
    struct spry_store_limits limits;
    atomic_int interrupt;             /* non-zero: running code must stop */
    void *data[SPRY_STORE_DATA_KEYS]; /* spry_store_set_data */

    /* Execution state (interp.c). */
    uint64_t *stack;             /* value stack: locals and operands of every frame */
    uint32_t stack_slots;        /* its size */
    uint32_t sp;                 /* first slot free for a new activation */
    struct interp_frame *frames; /* return addresses: limits.max_call_depth + 1 */
    uint32_t depth;              /* frames in use */
    struct spry_func *cur_func;  /* the function running now, for trap reports */
    struct spry_trap trap;       /* details of the last trap */
    /* Memories read-write beyond their size (memory_set_slack): while
     * non-zero the interpreter checks every access (interp.c). */
    uint32_t slack_memories;

    /* Objects owned by the store. */
    struct runtime_list instances, funcs, memories, tables, globals;
};

/* The wasm module behind a public module handle. */
const struct wasm_module *runtime_module(const struct spry_module *module);

/* Memory management (memory.c). */
int memory_create(struct spry_store *store, struct spry_limits limits, struct spry_memory **out);
/* Bytes of address space a memory that may reach max_pages reserves. */
size_t memory_reservation_size(uint64_t max_pages);
/* A memory in a reservation the caller owns (a pool slot): [base,
 * base + limits.min pages) must already be read-write and the rest of
 * `reserved` inaccessible, and `written` is the reservation's written-page
 * map (written_map_create). The memory never unmaps either. */
int memory_create_in(struct spry_store *store, struct spry_limits limits, uint8_t *base,
                     size_t reserved, uint8_t *written, struct spry_memory **out);
/* Grows by delta pages: old size in pages, or -1. Never moves `base`
 * with guard pages; may move it with explicit bounds. */
int64_t memory_grow(struct spry_memory *mem, uint64_t delta);
/* Sets a pooled memory's size and read-write extent (rw >= size, both
 * multiples of the page size; [0, rw) must be read-write), keeping the
 * store's slack_memories count. */
void memory_set_slack(struct spry_memory *mem, uint64_t size, uint64_t rw);
void memory_free(struct spry_memory *mem);
/* Whether addr lies in the memory's reservation (guard region included). */
bool memory_contains(const struct spry_memory *mem, const void *addr);

/* Table management (runtime.c). Grows by delta entries filled with init:
 * old size, or -1. */
int64_t table_grow(struct spry_table *table, uint32_t delta, void *init);

/* Trap signal handling (trap.c). The handler is installed once per process
 * (signal_install is idempotent and thread-safe). */
int signal_install(void);

/*
 * Runs a function. slots[0..nparams) hold the arguments; on success
 * slots[0..nresults) hold the results (the array must have room for
 * max(nparams, nresults)). Returns 0, SPRY_ETRAP (details in store->trap),
 * or SPRY_EEXIT. Re-entrant: a host function may call back into wasm.
 */
int interp_call(struct spry_store *store, struct spry_func *func, uint64_t *slots);

/* Frees every object of the store, keeping its stacks, and resets it
 * (runtime.c). */
void runtime_store_clear(struct spry_store *store);
/* Between two uses of a store by a pool: no trap, no interrupt, no data. */
void runtime_store_reset(struct spry_store *store);

/* Store-owned object lists (runtime.c). */
int runtime_list_add(struct runtime_list *list, void *item);
int table_create(struct spry_store *store, struct spry_tabletype type, void *init,
                 struct spry_table **out);
int global_create(struct spry_store *store, struct spry_globaltype type, uint64_t value,
                  struct spry_global **out);
void instance_free(struct spry_instance *inst);

/* Where an instance's memory lives when it is not mapped on its own: a
 * pool slot's reservation, its image already in place when data_preloaded
 * (active data segments are then only marked dropped). */
struct instance_slot {
    uint8_t *memory_base;
    size_t memory_reserved;
    bool data_preloaded;
    uint8_t *memory_written; /* the reservation's written-page map */
};

/* Instantiation without the start function (instance.c): imports, the
 * module's own objects (memory 0 in `slot` when not NULL), and active
 * segments. A trapping segment returns SPRY_ETRAP (details in store->trap);
 * the instance then stays in the store but is not returned. */
int instance_build(struct spry_store *store, const struct spry_module *module,
                   const struct spry_extern *imports, size_t nimports,
                   const struct instance_slot *slot, struct spry_instance **out,
                   struct spry_report *report);
/* Runs the module's start function, if it has one. */
int instance_run_start(struct spry_instance *inst, struct spry_report *report,
                       struct spry_trap *trap);
/* The end of the furthest active data segment (offsets evaluated against
 * the instance): the bytes of memory that instantiation may write. */
int instance_data_extent(const struct spry_instance *inst, uint64_t *out);

/* Linking (link.c): resolved[i] becomes the struct spry_host_def or struct
 * spry_host_global that satisfies import i (types checked); link_create
 * makes the host objects in a store and fills imports[]. */
int link_resolve(const struct spry_module *module, const struct spry_host_def *defs, size_t ndefs,
                 const struct spry_host_global *globals, size_t nglobals, const void **resolved,
                 struct spry_report *report);
int link_create(struct spry_store *store, const struct spry_module *module,
                const void *const *resolved, struct spry_extern *imports,
                struct spry_report *report);

/* Fills func->api_type from func->type (at creation: read-only after). */
void runtime_func_init_api_type(struct spry_func *f);

/* A slot as a typed value. */
void runtime_slot_to_val(uint8_t type, uint64_t slot, struct spry_val *out);

/* A call from the API: resets the trap at the outermost level, makes sure
 * the signal handler is installed, runs, and copies the trap out. */
int runtime_call(struct spry_store *store, struct spry_func *func, uint64_t *slots,
                 struct spry_trap *trap);

/* Records a trap in the store (first one wins until the outermost call
 * returns, or until a host function returns success: see
 * runtime_trap_forget); returns SPRY_ETRAP. */
int runtime_trap(struct spry_store *store, int kind, const char *message);

/* Empties the trap record and the calling instance's host trap message. A
 * host function that called back into wasm and absorbed the nested call's
 * trap returns success; its caller then drops what that trap left (only
 * when the record was empty before the host call: the callers check
 * `store->trap.kind` inline), so that a later trap of the caller is
 * recorded as itself. */
void runtime_trap_forget(struct spry_store *store, struct spry_instance *caller);

#endif

/*
 * Spry's WebAssembly engine: embedding API.
 *
 * Objects and their lifetimes:
 *  - struct spry_module: decoded and validated bytes. Read-only after load and
 *    shareable by any number of threads and stores. Function bodies are
 *    translated lazily, once, on first call (thread-safe).
 *  - struct spry_store: owns every runtime object created in it (instances,
 *    functions, memories, tables, globals) and the execution stacks. A store
 *    is used by one thread at a time; spry_store_interrupt may be called from
 *    any thread. Several instances live in one store and may share objects
 *    (one instance's exported memory imported by another), as the component
 *    layer needs.
 *  - Runtime objects are freed with their store; there is no per-object free.
 *
 * Values cross the API as struct spry_val (typed) or as raw 64-bit slots
 * (host functions): i32 in the low 32 bits, f32/f64 as their IEEE bits (NaN
 * payloads preserved), references as pointers (NULL is the null reference).
 */
#ifndef SPRY_WASM_H
#define SPRY_WASM_H

#include "spry/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum spry_valtype {
    SPRY_I32 = 0x7f,
    SPRY_I64 = 0x7e,
    SPRY_F32 = 0x7d,
    SPRY_F64 = 0x7c,
    SPRY_V128 = 0x7b,
    SPRY_FUNCREF = 0x70,
    SPRY_EXTERNREF = 0x6f,
};

enum spry_extern_kind {
    SPRY_EXTERN_FUNC = 0,
    SPRY_EXTERN_TABLE = 1,
    SPRY_EXTERN_MEMORY = 2,
    SPRY_EXTERN_GLOBAL = 3,
};

struct spry_module;
struct spry_store;
struct spry_instance;
struct spry_func;
struct spry_memory;
struct spry_table;
struct spry_global;

struct spry_val {
    uint8_t type; /* enum spry_valtype */
    union {
        int32_t i32;
        int64_t i64;
        uint32_t f32_bits;
        uint64_t f64_bits;
        void *ref; /* funcref: struct spry_func *; externref: host pointer */
    } of;
};

struct spry_extern {
    uint8_t kind; /* enum spry_extern_kind */
    union {
        struct spry_func *func;
        struct spry_table *table;
        struct spry_memory *memory;
        struct spry_global *global;
    } of;
};

/* A function type. Pointers stay valid as long as their owner (module or
 * store) does. */
struct spry_functype {
    uint32_t nparams;
    uint32_t nresults;
    const uint8_t *params;  /* enum spry_valtype each */
    const uint8_t *results; /* enum spry_valtype each */
};

struct spry_limits {
    uint64_t min;
    uint64_t max; /* meaningful only when has_max */
    bool has_max;
};

struct spry_tabletype {
    uint8_t elem; /* SPRY_FUNCREF or SPRY_EXTERNREF */
    struct spry_limits limits;
};

struct spry_globaltype {
    uint8_t type;
    bool mutable_;
};

/* Describes one import or export of a module. Strings point into the module. */
struct spry_externtype {
    uint8_t kind;
    const char *module; /* imports only; NULL for exports */
    const char *name;
    size_t module_len; /* names may contain NUL bytes; lengths are exact */
    size_t name_len;
    union {
        struct spry_functype func;
        struct spry_tabletype table;
        struct spry_limits memory; /* in 64 KiB pages */
        struct spry_globaltype global;
    } type;
};

/* ---- modules ---------------------------------------------------------- */

struct spry_module_options {
    /* Upper bound on the size of the bytes accepted (0: 1 GiB). */
    size_t max_bytes;
    /* Compile the module's functions to native code (docs/native.md) with
     * the system C compiler, cached on disk; functions it cannot compile,
     * and the whole module when no compiler works, stay interpreted. Also
     * turned on for every module by the environment variable SPRY_NATIVE=1. */
    bool native;
};

/* Decodes and validates a module. The bytes are copied. On failure returns
 * SPRY_EMALFORMED (bad encoding) or SPRY_EINVALID (fails validation) or
 * SPRY_ENOMEM, and `report` names the byte offset and what was wrong.
 * options may be NULL. */
SPRY_API int spry_module_load(const uint8_t *bytes, size_t len,
                              const struct spry_module_options *options, struct spry_module **out,
                              struct spry_report *report);
SPRY_API void spry_module_destroy(struct spry_module *module);

SPRY_API size_t spry_module_import_count(const struct spry_module *module);
SPRY_API void spry_module_import(const struct spry_module *module, size_t index,
                                 struct spry_externtype *out);
SPRY_API size_t spry_module_export_count(const struct spry_module *module);
SPRY_API void spry_module_export(const struct spry_module *module, size_t index,
                                 struct spry_externtype *out);

/* Translates every function body now instead of on first call (used to
 * measure translation speed and to fail early). */
SPRY_API int spry_module_translate_all(struct spry_module *module, struct spry_report *report);

/* ---- stores ----------------------------------------------------------- */

struct spry_store_limits {
    uint64_t max_memory_bytes; /* per memory; memory.grow past it returns -1 (0: 4 GiB) */
    uint32_t max_call_depth;   /* nested wasm calls before "call stack exhausted" (0: 10000) */
    uint32_t max_stack_slots;  /* operand and local slots of all frames (0: 1 Mi) */
    uint64_t max_table_elems;  /* per table; table.grow past it returns -1 (0: 10 Mi) */
};

SPRY_API int spry_store_create(const struct spry_store_limits *limits, struct spry_store **out);
SPRY_API void spry_store_destroy(struct spry_store *store);

/* Asks code running in the store to stop; safe from any thread and from a
 * signal handler. The running call returns SPRY_ETRAP with kind
 * SPRY_TRAP_INTERRUPTED within a loop iteration or function entry. The
 * request stays pending until spry_store_clear_interrupt. */
SPRY_API void spry_store_interrupt(struct spry_store *store);
SPRY_API void spry_store_clear_interrupt(struct spry_store *store);
/* For host functions that block (WASI 0.2 poll, blocking reads): they wait
 * in short slices and call this between them. Returns 0, or, when an
 * interrupt is pending, records the `interrupted` trap (as guest code would
 * at its next loop iteration) and returns SPRY_ETRAP for the host function
 * to return. */
SPRY_API int spry_store_check_interrupt(struct spry_store *store);

/* Called by a host function that ends the guest (e.g. WASI proc_exit)
 * before it returns SPRY_EEXIT: the call in progress unwinds and returns
 * SPRY_EEXIT with trap->kind SPRY_TRAP_EXIT and trap->exit_code = code. */
SPRY_API void spry_store_set_exit(struct spry_store *store, int code);

/*
 * Per-store data for the layers above the engine (WASI, HTTP, host APIs):
 * one pointer per key, NULL until set. A host function reaches the data of
 * the request it serves through spry_instance_store(caller); a pooled store
 * gets new data at each acquire. Keys are assigned here so layers never
 * collide. The engine never dereferences the pointers.
 */
enum spry_store_data_key {
    SPRY_STORE_DATA_WASI = 0,      /* struct spry_wasi * (wasi layer) */
    SPRY_STORE_DATA_COMPONENT = 1, /* component layer */
    SPRY_STORE_DATA_HOST = 2,      /* Spin host APIs */
    SPRY_STORE_DATA_TRIGGER = 3,   /* the trigger serving the call */
    SPRY_STORE_DATA_EMBEDDER = 4,  /* free for an embedding program */
    SPRY_STORE_DATA_WASI_P2 = 5,   /* struct wasip2 * (WASI 0.2, component layer) */
    SPRY_STORE_DATA_WASI_HTTP = 6, /* struct wasihttp * (wasi:http, component layer) */
    SPRY_STORE_DATA_KEYS = 8
};
/* Out-of-range keys are ignored (set) or read as NULL (get). */
SPRY_API void spry_store_set_data(struct spry_store *store, unsigned key, void *data);
SPRY_API void *spry_store_data(const struct spry_store *store, unsigned key);

/* ---- host functions --------------------------------------------------- */

/*
 * A host function. slots[0..nparams) hold the arguments on entry; the
 * function writes its results to slots[0..nresults). `caller` is the instance
 * whose code made the call (NULL when called directly through the API): use
 * it to reach the caller's memory and exports, and to call back into wasm.
 * Return 0, or a negative code to trap: SPRY_ETRAP after
 * spry_instance_set_trap_message, SPRY_EEXIT after spry_store_set_exit.
 */
typedef int (*spry_host_fn)(void *user, struct spry_instance *caller, uint64_t *slots);

/* Creates a host function in the store. The type is copied. */
SPRY_API int spry_func_new_host(struct spry_store *store, const struct spry_functype *type,
                                spry_host_fn fn, void *user, struct spry_func **out);

/*
 * A host function described without a store, by the import it satisfies:
 * tables of these are how host layers (WASI, Spin's APIs) offer their
 * functions, both to spry_host_link and to prepared modules in the
 * instance pool (spry/pool.h). Strings and types are borrowed: they must
 * outlive every store or prepared module built from the table.
 */
struct spry_host_def {
    const char *module; /* import module name, e.g. "wasi_snapshot_preview1" */
    const char *name;   /* import field name, e.g. "fd_write" */
    struct spry_functype type;
    spry_host_fn fn;
    void *user;
};

/* Finds the def for import (module, name) in defs[0..ndefs) (names are
 * compared exactly, lengths included); NULL when there is none. */
SPRY_API const struct spry_host_def *spry_host_def_find(const struct spry_host_def *defs,
                                                        size_t ndefs, const char *module,
                                                        size_t module_len, const char *name,
                                                        size_t name_len);

/* Creates, in `store`, a host function for every import of `module` from
 * defs and writes them to imports[0..spry_module_import_count(module)).
 * Fails with SPRY_EUNLINKABLE and a report naming the import when one is
 * not a function, has no def, or has a def of another type. */
SPRY_API int spry_host_link(struct spry_store *store, const struct spry_module *module,
                            const struct spry_host_def *defs, size_t ndefs,
                            struct spry_extern *imports, struct spry_report *report);

/* ---- instances -------------------------------------------------------- */

/* Instantiates `module` in `store`. imports[i] satisfies the module's i-th
 * import (spry_module_import) and must match its type, else SPRY_EUNLINKABLE
 * with a report naming the import. Runs active segments and the start
 * function: a trap there returns SPRY_ETRAP (the trap is in `trap` when not
 * NULL) and the instance is not returned (objects it already wrote, such as
 * an imported table, stay written, as the spec requires). */
struct spry_trap;
SPRY_API int spry_instance_create(struct spry_store *store, const struct spry_module *module,
                                  const struct spry_extern *imports, size_t nimports,
                                  struct spry_instance **out, struct spry_report *report,
                                  struct spry_trap *trap);

SPRY_API const struct spry_module *spry_instance_module(const struct spry_instance *inst);
SPRY_API struct spry_store *spry_instance_store(const struct spry_instance *inst);

/* Looks an export up by name; SPRY_ENOTFOUND when there is none. */
SPRY_API int spry_instance_export(const struct spry_instance *inst, const char *name,
                                  struct spry_extern *out);
SPRY_API int spry_instance_export_n(const struct spry_instance *inst, const char *name,
                                    size_t name_len, struct spry_extern *out);

/* The instance's memory number `index` (0 for most modules), or NULL. */
SPRY_API struct spry_memory *spry_instance_memory(const struct spry_instance *inst, uint32_t index);

/* Sets the message of a trap a host function is about to return; that
 * failure spends it (a later failure without a message of its own reports
 * the default text). */
SPRY_API void spry_instance_set_trap_message(struct spry_instance *inst, const char *message);

/* ---- traps ------------------------------------------------------------ */

#define SPRY_TRAP_LIST(X)                                  \
    X(NONE, "no trap")                                     \
    X(UNREACHABLE, "unreachable")                          \
    X(MEMORY_OOB, "out of bounds memory access")           \
    X(TABLE_OOB, "out of bounds table access")             \
    X(DIV_ZERO, "integer divide by zero")                  \
    X(INT_OVERFLOW, "integer overflow")                    \
    X(INVALID_CONVERSION, "invalid conversion to integer") \
    X(INDIRECT_TYPE, "indirect call type mismatch")        \
    X(UNDEFINED_ELEMENT, "undefined element")              \
    X(UNINITIALIZED_ELEMENT, "uninitialized element")      \
    X(STACK_EXHAUSTED, "call stack exhausted")             \
    X(INTERRUPTED, "interrupted")                          \
    X(HOST, "host function failed")                        \
    X(EXIT, "exit")

enum spry_trap_kind {
#define SPRY_TRAP_ENUM(name, text) SPRY_TRAP_##name,
    SPRY_TRAP_LIST(SPRY_TRAP_ENUM)
#undef SPRY_TRAP_ENUM
};

struct spry_trap {
    int kind;             /* enum spry_trap_kind */
    int exit_code;        /* SPRY_TRAP_EXIT only */
    uint32_t func_index;  /* function executing at the trap, UINT32_MAX if unknown */
    uint32_t code_offset; /* byte offset in the module of the trapping instruction */
    char func_name[128];  /* from the name section, or "" */
    char message[256];    /* e.g. "out of bounds memory access" */
};

/* The text of a trap kind, e.g. "integer divide by zero". */
SPRY_API const char *spry_trap_kind_text(int kind);

/* ---- calls ------------------------------------------------------------ */

/* Calls a function with typed arguments (checked against its type:
 * SPRY_EINVAL on mismatch). Returns 0, or SPRY_ETRAP with `trap` filled (when
 * not NULL). nresults must equal the function's result count. */
SPRY_API int spry_func_call(struct spry_func *func, const struct spry_val *args, size_t nargs,
                            struct spry_val *results, size_t nresults, struct spry_trap *trap);

/* The same with the values as raw 64-bit slots, as a host function sees
 * them (spry_host_fn): slots[0..nparams) hold the arguments; on success
 * slots[0..nresults) hold the results. nslots is the room at `slots`: at
 * least max(nparams, nresults), else SPRY_EINVAL; so is a function with a
 * reference parameter (a slot is not checked to be a reference). No typed
 * values to check and convert: for a caller that knows the type already. */
SPRY_API int spry_func_call_slots(struct spry_func *func, uint64_t *slots, size_t nslots,
                                  struct spry_trap *trap);

/* Calls an exported function by name; SPRY_ENOTFOUND when there is none. */
SPRY_API int spry_instance_call(struct spry_instance *inst, const char *name,
                                const struct spry_val *args, size_t nargs, struct spry_val *results,
                                size_t nresults, struct spry_trap *trap);

SPRY_API const struct spry_functype *spry_func_type(const struct spry_func *func);

/* ---- memories, tables, globals ---------------------------------------- */

/* Creates a standalone memory (limits in 64 KiB pages), e.g. for imports. */
SPRY_API int spry_memory_new(struct spry_store *store, struct spry_limits limits,
                             struct spry_memory **out);
/* The memory's bytes, [0, spry_memory_size). A host that writes them must
 * say where with spry_memory_note_write: a pool resets only the pages
 * marked written, so an unmarked write would outlive the request. */
SPRY_API uint8_t *spry_memory_data(const struct spry_memory *mem);
/* Marks [offset, offset + len) written (clipped to the memory's size). */
SPRY_API void spry_memory_note_write(struct spry_memory *mem, uint64_t offset, uint64_t len);
SPRY_API uint64_t spry_memory_size(const struct spry_memory *mem); /* bytes */
/* Grows by `delta` pages; returns the old size in pages, or -1. */
SPRY_API int64_t spry_memory_grow(struct spry_memory *mem, uint64_t delta);
SPRY_API void spry_memory_type(const struct spry_memory *mem, struct spry_limits *out);

SPRY_API int spry_table_new(struct spry_store *store, struct spry_tabletype type, void *init,
                            struct spry_table **out);
SPRY_API uint32_t spry_table_size(const struct spry_table *table);
SPRY_API int spry_table_get(const struct spry_table *table, uint32_t index, void **out);
SPRY_API int spry_table_set(struct spry_table *table, uint32_t index, void *ref);
SPRY_API void spry_table_type(const struct spry_table *table, struct spry_tabletype *out);

SPRY_API int spry_global_new(struct spry_store *store, struct spry_globaltype type,
                             struct spry_val value, struct spry_global **out);
SPRY_API void spry_global_get(const struct spry_global *global, struct spry_val *out);
/* SPRY_EINVAL when the global is immutable or the type differs. */
SPRY_API int spry_global_set(struct spry_global *global, struct spry_val value);
SPRY_API void spry_global_type(const struct spry_global *global, struct spry_globaltype *out);

#ifdef __cplusplus
}
#endif

#endif

/*
 * The native tier (docs/native.md): a validated module's functions emitted
 * as C (native_emit.c), compiled by the system C compiler into a shared
 * object cached on disk, loaded with dlopen (native.c), and entered from
 * the interpreter through a one-instruction stub (IOP_NATIVE).
 *
 * The generated code includes no Spry header. It sees Spry through the
 * context below, whose definition is one macro expanded both here and, as
 * text, into every generated file, so the two cannot disagree; the few
 * offsets it needs into runtime structures are printed from offsetof at
 * emission, and the cache key covers the emitted text.
 */
#ifndef SPRY_WASM_NATIVE_H
#define SPRY_WASM_NATIVE_H

#include "base/buf.h"
#include "spry/error.h"
#include "wasm/module.h"

#include <stdbool.h>
#include <stdint.h>

/* The context of one entry into native code (made by native_enter on its
 * C stack), or of a call into another instance's compiled function (a copy
 * with that instance's part: native.c, call_func). Helpers receive it
 * back. `fn` is the running function's index, for trap reports; `fp` a
 * callee's frame. */
#define NATIVE_CTX_DEF                                                                         \
    struct nctx {                                                                              \
        void *store;                                                                           \
        void *inst;                                                                            \
        uint8_t **mem_base;       /* &memory->base, or a pointer to NULL */                    \
        uint64_t *mem_size;       /* &memory->size, or a pointer to 0 */                       \
        uint8_t **mem_written;    /* &memory->written */                                       \
        void **globals;           /* instance->globals: struct spry_global * */                \
        void **tables;            /* instance->tables: struct spry_table * */                  \
        const uint32_t *type_ids; /* the module's types' interned ids (call_indirect) */       \
        volatile int *interrupt;                                                               \
        uint64_t *stack_end;                                                                   \
        char *cstack_limit;                                                                    \
        uint32_t depth;                                                                        \
        uint32_t max_depth;                                                                    \
        __attribute__((noreturn)) void (*trap)(struct nctx * c, int kind, uint32_t fn);        \
        void (*call)(struct nctx * c, uint32_t callee, uint64_t *fp, uint32_t fn);             \
        void (*call_indirect)(struct nctx * c, uint32_t table, uint32_t type, uint32_t elem,   \
                              uint64_t *fp, uint32_t fn);                                      \
        uint32_t (*memory_grow)(struct nctx * c, uint32_t delta);                              \
        void (*memory_fill)(struct nctx * c, uint32_t d, uint32_t v, uint32_t n, uint32_t fn); \
        void (*memory_copy)(struct nctx * c, uint32_t d, uint32_t s, uint32_t n, uint32_t fn); \
        void (*memory_init)(struct nctx * c, uint32_t seg, uint32_t d, uint32_t s, uint32_t n, \
                            uint32_t fn);                                                      \
        void (*data_drop)(struct nctx * c, uint32_t seg);                                      \
        uint64_t (*fround)(uint64_t bits, uint32_t op);                                        \
    }

NATIVE_CTX_DEF;

/* A compiled function: arguments in fp[0..nparams), results written to
 * fp[0..nresults), the interpreter's in-place frame convention. */
typedef void (*native_fn)(struct nctx *c, uint64_t *fp);

/* The compiled code of one module. */
struct native_module {
    void *dl;           /* dlopen handle */
    native_fn *fns;     /* nfuncs entries, NULL where not compiled */
    uint32_t *type_ids; /* the module's types' interned ids, by type index */
    uint32_t nfuncs;
    uint32_t ncompiled;
};

/* Emits module `m` (validated) as one C translation unit into out; sets
 * compiled[i] = 1 for every defined function emitted natively (the rest
 * stay with the interpreter). */
int native_emit(const struct wasm_module *m, struct spry_buf *out, uint8_t *compiled,
                struct spry_report *report);

/* Builds or finds in the cache, and loads, the native code of `m` (*out
 * stays NULL when no function compiles). On any failure (no compiler,
 * compile error, ...) returns non-zero with the reason in report; the
 * module then runs in the interpreter. */
int native_module_load(const struct wasm_module *m, struct native_module **out,
                       struct spry_report *report);
void native_module_free(struct native_module *nm);

/* The compiled function of index i, or NULL. */
static inline native_fn native_func(const struct native_module *nm, uint32_t i)
{
    return nm != NULL && i < nm->nfuncs ? nm->fns[i] : NULL;
}

/* Whether the native tier was asked for by the environment (SPRY_NATIVE=1). */
bool native_env_enabled(void);

/* Runs native function fn of func (a struct spry_func of the running
 * instance) on frame fp; called by the interpreter's IOP_NATIVE, or by
 * interp_run for a compiled entry, with the call depth reached (func's
 * frame included). Returns normally, or longjmps to the innermost
 * activation on a trap. */
struct spry_store;
struct spry_func;
void native_enter(struct spry_store *store, struct spry_func *func, native_fn fn, uint64_t *fp,
                  uint32_t depth);

/* Counters for tests: compilations run, cache hits. */
struct native_stats {
    uint64_t compiled;
    uint64_t cache_hits;
    uint64_t failures;
};
void native_stats_get(struct native_stats *out);

#endif

/*
 * The canonical ABI (synchronous, as in WASI 0.2): moving component values
 * between a guest's core wasm world (flat values, linear memory) and the
 * host's struct cval, and the two call paths the linker builds on.
 *
 * Normative reference: CanonicalABI.md in WebAssembly/component-model
 * (design/mvp/), whose Python definitions this follows: despecialize,
 * load/store, lift_flat/lower_flat, lift_flat_values/lower_flat_values,
 * canon_lift, canon_lower, canon_resource_{new,drop,rep}. Layout rules are
 * in layout.h, the handle table in handles.h.
 *
 * How the linker uses it:
 *
 *  - Per component instance, one struct canon_inst (embedded in the
 *    linker's struct cinst): the handle table, the resource-type space, the
 *    may_enter / may_leave flags. canon_inst_init once, canon_inst_reset
 *    between requests, canon_inst_fini.
 *
 *  - Guest calls host (`canon lower` of a host function): a struct
 *    canon_lowered per lowered import, and a core host function created with
 *    spry_func_new_host(store, &type, canon_lowered_call, lowered, ...)
 *    where type is layout_flatten_functype(lowered->type, LAYOUT_LOWER).
 *
 *  - Host calls guest (`canon lift` of a core export): a struct
 *    canon_lifted per lifted export, called with canon_lifted_call. The
 *    core function's type must be layout_flatten_functype(type, LAYOUT_LIFT)
 *    (the decoder checks it).
 *
 *  - `canon resource.new/.drop/.rep` become core host functions with
 *    handles_resource_{new,drop,rep}_fn (handles.h).
 *
 * Traps. Every misuse by the guest (bad pointer, length, alignment,
 * encoding, discriminant, char, handle; reentrance) and every value a host
 * function returns that does not fit its type ends the call with SPRY_ETRAP
 * and a message naming the function and what was wrong; no guest input
 * reaches an assertion. In the guest-to-host path the message is set on the
 * calling core instance (spry_instance_set_trap_message), as the engine
 * expects of a host function; in the host-to-guest path it is written to
 * the caller's struct spry_trap. A trap leaves the instance unusable
 * (may_enter stays false; entering again traps), as the component model
 * requires.
 *
 * Values lifted for a host function may point into guest memory (strings,
 * lists of numbers): valid during that host call only (memories never
 * move). Values returned from an export are copied into the caller's arena
 * and stay valid with it; post-return has run by then.
 */
#ifndef SPRY_COMPONENT_CANON_H
#define SPRY_COMPONENT_CANON_H

#include "component/chost.h"
#include "component/ctype.h"
#include "component/handles.h"
#include "component/layout.h"

#include "base/arena.h"
#include "spry/error.h"
#include "spry/wasm.h"
#include "wasm/runtime.h"

#include <stdbool.h>
#include <stdint.h>

/* The `string-encoding` canonical option. */
enum canon_encoding { CANON_UTF8, CANON_UTF16, CANON_LATIN1_UTF16 };

/* CanonicalABI.md (the 0.2 edition): strings longer than this many bytes
 * in guest memory trap, in both directions. */
#define CANON_MAX_STRING_BYTES 0x7fffffffu
/* latin1+utf16: the length's top bit says the string is UTF-16. */
#define CANON_UTF16_TAG 0x80000000u

/* Bytes the values of one call may take in its arena (lifted arguments of
 * a host call, results of an export call) unless the instance sets its own
 * limit; past it the call traps. */
#define CANON_ARENA_LIMIT ((size_t)64 << 20)
/* Bytes of that arena a host call keeps on its stack before it mallocs. */
#define CANON_HOST_SCRATCH 1024

/* Canonical options of one lift or lower. The decoder guarantees memory
 * and realloc are present when the function type needs them; a missing
 * one still only traps. */
struct canon_options {
    uint8_t encoding;              /* enum canon_encoding */
    struct spry_memory *memory;    /* NULL when no value goes through memory */
    struct spry_func *realloc;     /* (i32 old, i32 old_size, i32 align, i32 new_size) -> i32 */
    struct spry_func *post_return; /* lifted functions only: the flat results -> () */
    /* The realloc found to be (i32, i32, i32, i32) -> i32 when the options
     * were bound (canon_lowered_init, canon_lifted_init): while it is the
     * realloc above, canon_realloc calls it without looking again; any
     * other value (NULL, or a stale one after realloc changed) makes it
     * check on every call. */
    const struct spry_func *realloc_typed;
};

/*
 * A component instance as the canonical ABI sees it.
 *
 * Invariants: may_enter is false while a call into the instance runs (an
 * export call, or a host call it made) and after a trap; may_leave is false
 * while the instance runs code that must not call out (realloc during a
 * lift or lower, post-return) and after a trap there. Handles in `handles`
 * name resource types from `rtypes` (or types of other instances lent to
 * it); rtypes[i] is what own<i> / borrow<i> in this instance's ctypes mean
 * (ctype.h).
 */
struct canon_inst {
    struct handles handles;
    const struct canon_rtype *const *rtypes; /* the resource-type space */
    uint32_t nrtypes;
    bool may_enter;
    bool may_leave;
    size_t arena_limit;       /* per call, see CANON_ARENA_LIMIT */
    struct cinst *cinst;      /* the linker's instance: ccall.inst of host calls */
    struct spry_store *store; /* ccall.store of host calls, and of resource drops */
};

/* Keeps rtypes (borrowed; must outlive inst). max_handles 0: HANDLES_MAX. */
int canon_inst_init(struct canon_inst *inst, struct spry_store *store, struct cinst *cinst,
                    const struct canon_rtype *const *rtypes, uint32_t nrtypes,
                    uint32_t max_handles);
/* Ends a request: drops what the guest still owns (own handles of host
 * resources go to their chost_resource.drop; guest destructors are not
 * run: the guest is going away), empties the handle table but keeps its
 * storage, and opens the instance again (may_enter, may_leave), so that a
 * pooled instance serves its next request without a malloc for handles. */
void canon_inst_reset(struct canon_inst *inst);
/* canon_inst_reset, then frees the table. inst may be reused after
 * canon_inst_init. */
void canon_inst_fini(struct canon_inst *inst);

/*
 * One lift or lower in progress: what load/store and lift_flat/lower_flat
 * need (CanonicalABI.md's LiftLowerContext plus where the values go).
 * Built by the call paths below; exposed for tests and for the linker's
 * own adapters.
 */
struct canon_cx {
    const struct canon_options *opts;
    struct canon_inst *inst;
    struct spry_arena *arena;     /* lifted values */
    struct handles_scope *scope;  /* the call's borrows and lends */
    struct spry_instance *caller; /* the core instance running, or NULL */
    bool views;                   /* lifted strings and number lists may point into memory */
    struct spry_trap *trap;       /* where a trap in guest code the cx calls (realloc, a
                                     destructor) is copied; NULL: left in the store */
    struct spry_report report;    /* the trap message of a canonical ABI check (first wins) */
};

/* views: see the header comment. scope may be NULL when the values hold no
 * borrows. trap starts NULL. */
void canon_cx_init(struct canon_cx *cx, const struct canon_options *opts, struct canon_inst *inst,
                   struct spry_arena *arena, struct handles_scope *scope,
                   struct spry_instance *caller, bool views);

/* Records the trap message (printf-style; first one wins) and returns
 * SPRY_ETRAP. */
int canon_trap(struct canon_cx *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* buf = "name: message", cut to n bytes (n > 0). */
void canon_join_message(char *buf, size_t n, const char *name, const char *message);

/* realloc(old, old_size, align, new_size) in the guest, with may_leave
 * false; checks the result's alignment and that [ptr, ptr+new_size) lies in
 * memory. */
int canon_realloc(struct canon_cx *cx, uint32_t old, uint32_t old_size, uint32_t align,
                  uint32_t new_size, uint32_t *out);

/* ---- values in memory (canon_lift.c, canon_lower.c) ---------------------- */

/* load_list_from_range: the list<elem> of len elements at ptr, checked
 * (alignment, bounds) before it is read; out's kind is the caller's. */
int canon_lift_list(struct canon_cx *cx, const struct ctype *elem, uint32_t ptr, uint32_t len,
                    struct cval *out);
/* Loads a value of type t at ptr. ptr must be aligned for t and
 * [ptr, ptr + size(t)) inside memory: callers check (canon_check_range). */
int canon_load(struct canon_cx *cx, const struct ctype *t, uint32_t ptr, struct cval *out);
/* Stores v (of type t) at ptr, under the same precondition. */
int canon_store(struct canon_cx *cx, const struct ctype *t, const struct cval *v, uint32_t ptr);
/* lower_flat_values of one value through memory at a pointer the guest
 * passed: traps ("result pointer") unless ptr is aligned to block->align
 * and [ptr, ptr + block->size) is in memory, then stores v there. block is
 * t's own layout (a struct layout_corefunc's results_block). */
int canon_store_result(struct canon_cx *cx, const struct ctype *t, const struct cval *v,
                       uint32_t ptr, const struct layout_block *block);
/* Traps unless ptr is a multiple of align and [ptr, ptr + size) is in
 * memory; `what` names the value for the message. Inline: every string,
 * list, realloc result and result pointer is checked, nearly always fine;
 * canon_check_range_fail checks again and says what is wrong. */
int canon_check_range_fail(struct canon_cx *cx, uint64_t ptr, uint64_t size, uint32_t align,
                           const char *what);
static inline int canon_check_range(struct canon_cx *cx, uint64_t ptr, uint64_t size,
                                    uint32_t align, const char *what)
{
    if (cx->opts != NULL && cx->opts->memory != NULL && (ptr & (align - 1)) == 0) {
        uint64_t memsize = cx->opts->memory->size; /* the engine's, read inline */
        if (ptr <= memsize && size <= memsize - ptr)
            return 0;
    }
    return canon_check_range_fail(cx, ptr, size, align, what);
}

/* ---- flat values ---------------------------------------------------------- */

/* A cursor over core values as the engine passes them: 64-bit slots, i32
 * and f32 in the low 32 bits, f64 and i64 as their bits. */
struct canon_flat {
    uint64_t *v;
    uint32_t n, i;
};

int canon_lift_flat(struct canon_cx *cx, const struct ctype *t, struct canon_flat *in,
                    struct cval *out);
int canon_lower_flat(struct canon_cx *cx, const struct ctype *t, const struct cval *v,
                     struct canon_flat *out);

/* lift_flat_values / lower_flat_values for a parameter list (fields) or a
 * single result (n 1): through memory when the flat count exceeds max_flat.
 * Lifting from memory reads the pointer from `in`. Lowering to memory uses
 * *out_ptr when out_ptr is not NULL (a caller-supplied result pointer),
 * else allocates with realloc and appends the pointer to `out`. */
int canon_lift_values(struct canon_cx *cx, uint32_t n, const struct ctype_field *fields,
                      uint32_t max_flat, struct canon_flat *in, struct cval *out);
int canon_lower_values(struct canon_cx *cx, uint32_t n, const struct ctype_field *fields,
                       const struct cval *vs, uint32_t max_flat, const uint32_t *out_ptr,
                       struct canon_flat *out);
/* The same with the choice made already, so that a call neither flattens
 * nor lays out the whole signature again: mem is NULL when the values are
 * flat, else their layout in memory (a struct layout_corefunc's
 * params_block or results_block). */
int canon_lift_values_via(struct canon_cx *cx, uint32_t n, const struct ctype_field *fields,
                          const struct layout_block *mem, const char *what, struct canon_flat *in,
                          struct cval *out);
int canon_lower_values_via(struct canon_cx *cx, uint32_t n, const struct ctype_field *fields,
                           const struct cval *vs, const struct layout_block *mem,
                           const uint32_t *out_ptr, struct canon_flat *out);

/* ---- strings (canon_string.c) --------------------------------------------- */

/* Lifts the string at (ptr, tagged length) in the cx's encoding to UTF-8. */
int canon_lift_string(struct canon_cx *cx, uint32_t ptr, uint32_t tagged_len, struct cval *out);
/* Lowers a UTF-8 string into the cx's encoding: allocates with realloc as
 * the spec's store_string_into_range does and returns (ptr, tagged length). */
int canon_lower_string(struct canon_cx *cx, const char *s, size_t len, uint32_t *ptr,
                       uint32_t *tagged_len);
/* Whether s[0..n) is UTF-8 (no overlong forms, surrogates or values past
 * U+10FFFF); *bad gets the offset of the first bad byte. */
bool canon_utf8_valid(const uint8_t *s, size_t n, size_t *bad);

/* ---- calls ----------------------------------------------------------------- */

/* The plan of a lowered call (canon_lowered_init): a shortcut per value
 * for the shapes nearly every host call has, the general walker
 * (canon_lift_flat, canon_lower_flat, canon_store) for the rest. The
 * shortcuts make the same checks in the same order; a host value of
 * another kind than its type always takes the walker, which traps. */
enum canon_step {
    CANON_STEP_WALK,   /* the general walker */
    CANON_STEP_NONE,   /* result: the function has none */
    CANON_STEP_BORROW, /* parameter: borrow<T>, one flat value */
    CANON_STEP_LIST,   /* parameter: list<T>, two flat values (canon_lift_list) */
    CANON_STEP_OWN,    /* result: own<T>, one flat value */
    CANON_STEP_U32,    /* result: u32 or s32, one flat value */
    CANON_STEP_STORE,  /* result: stored at the guest's result pointer */
    CANON_STEP_CASES,  /* lifted result: a variant, enum, option or result whose cases have
                          no payload, one flat value (its discriminant) */
};
#define CANON_PLAN_PARAMS 8 /* parameters with a planned step; more: all walked */

/* A host function lowered into a core import. Strings and types are
 * borrowed. */
struct canon_lowered {
    const char *name; /* "wasi:cli/environment#get-environment": trap messages */
    const struct cfunctype *type;
    chost_fn fn;
    struct canon_options opts;
    struct canon_inst *inst;
    struct layout_corefunc flat; /* the core signature (LAYOUT_LOWER) */
    const void *user;            /* given to fn as ccall.user (NULL unless set after init) */
    uint8_t param_steps[CANON_PLAN_PARAMS]; /* enum canon_step, for flat parameters */
    uint8_t result_step;                    /* enum canon_step */
};

/* Fills l; l->flat is the type to create the core function with. opts and
 * inst may be NULL for a descriptor used with canon_call_host only. */
void canon_lowered_init(struct canon_lowered *l, const char *name, const struct cfunctype *type,
                        chost_fn fn, const struct canon_options *opts, struct canon_inst *inst);

/* spry_host_fn for a struct canon_lowered (user): canon_lower. Traps
 * unless may_leave; clears may_enter for the call; lifts the arguments
 * (from the pointer in slots[0] when there are more than 16 flat ones),
 * lending borrowed handles for the call; calls fn with a struct ccall whose
 * arena holds the arguments and the result; lowers the result into slots[0]
 * or, past one flat value, through realloc into the result pointer the
 * guest passed last; ends the lends. */
int canon_lowered_call(void *user, struct spry_instance *caller, uint64_t *slots);
/* The same with the instance and options given per call, for core
 * functions shared by several instances (pooled slots) that find their
 * instance at call time, e.g. through spry_store_data. l->inst and l->opts
 * are not used. */
int canon_call_host(const struct canon_lowered *l, struct canon_inst *inst,
                    const struct canon_options *opts, struct spry_instance *caller,
                    uint64_t *slots);

/*
 * A gate on host calls (the spin executor's speculative runs, docs/http.md
 * "Speculation"): while one is set on a thread, every host function that a
 * guest running on that thread reaches through canon lower is first shown
 * to allow(ctx, name), name as canon_lowered.name
 * ("wasi:io/streams@0.2.0#[method]output-stream.write"). When it answers
 * false the host function is not called and the guest stops with
 * SPRY_EINTERRUPTED. Resource destructors are not gated. NULL: no gate.
 */
struct canon_gate {
    bool (*allow)(void *ctx, const char *name);
    void *ctx;
};
void canon_gate_set(const struct canon_gate *gate);

/* A core function lifted into a component export. */
struct canon_lifted {
    const char *name;
    const struct cfunctype *type;
    struct spry_func *core;
    struct canon_options opts;
    struct canon_inst *inst;
    struct layout_corefunc flat; /* the core signature (LAYOUT_LIFT) */
    /* core and opts.post_return when canon_lifted_init found their types
     * to be flat's (post-return: flat's results -> ()), else NULL: a call
     * with these functions passes raw slots to the engine; with any other
     * (canon_call_guest's core and opts) the types are checked per call. */
    const struct spry_func *core_typed;
    const struct spry_func *post_return_typed;
    uint8_t result_step; /* enum canon_step: NONE, CASES or WALK */
};

/* opts, core and inst may be NULL for a descriptor used with
 * canon_call_guest only. */
void canon_lifted_init(struct canon_lifted *l, const char *name, const struct cfunctype *type,
                       struct spry_func *core, const struct canon_options *opts,
                       struct canon_inst *inst);

/*
 * canon_lift: calls fn with args[0..type->nparams). Traps unless may_enter
 * and clears it for the call; lowers the arguments (through realloc into
 * memory when there are more than 16 flat ones, and for strings and
 * lists); calls the core function; lifts the result (from the returned
 * pointer when it is more than one flat value) into `arena`, copying
 * everything out of guest memory; traps if the guest kept a borrowed
 * handle; calls post-return. *result is written when the type has one.
 * Returns 0, SPRY_ETRAP (trap filled when not NULL), SPRY_EEXIT or
 * SPRY_ENOMEM.
 */
int canon_lifted_call(const struct canon_lifted *fn, const struct cval *args,
                      struct spry_arena *arena, struct cval *result, struct spry_trap *trap);
/* The same with the instance, options and core function given per call
 * (fn->inst, fn->opts and fn->core are not used): one descriptor per
 * component type, bound to whichever instance is called. */
int canon_call_guest(const struct canon_lifted *fn, struct canon_inst *inst,
                     const struct canon_options *opts, struct spry_func *core,
                     const struct cval *args, struct spry_arena *arena, struct cval *result,
                     struct spry_trap *trap);

#endif

/*
 * Resource handles: the per-component-instance handle table, the own and
 * borrow rules, and the resource built-ins (CanonicalABI.md: "Table State",
 * "Resource State", lift_own / lift_borrow / lower_own / lower_borrow,
 * canon resource.new / resource.drop / resource.rep).
 *
 * One table per component instance holds every handle it has, of every
 * resource type; a guest names a handle by its index. Index 0 is never a
 * handle. Freed indices are reused last-freed first, as the spec's free
 * list does, so handle numbers are deterministic.
 *
 * Own and borrow:
 *  - An own handle owns the resource: lifting it (passing it to a callee)
 *    moves it out of the table; dropping it destroys the resource (the
 *    host's chost_resource.drop, or the guest's destructor).
 *  - Lifting a borrow of any handle lends it for the call: its lend count
 *    goes up until the call returns, and while it is lent it can be neither
 *    moved nor dropped.
 *  - Lowering a borrow into a callee (host calls a guest export with a
 *    borrow<T>) creates a borrow handle tied to the call's scope, unless the
 *    callee implements T itself (then it gets the representation). The
 *    callee must drop it before it returns; returning with any left traps.
 *  - Dropping a borrow handle ends that borrow; dropping a handle that is
 *    lent, or an index that holds nothing, traps.
 */
#ifndef SPRY_COMPONENT_HANDLES_H
#define SPRY_COMPONENT_HANDLES_H

#include "component/chost.h"
#include "component/ctype.h"

#include "base/arena.h"
#include "spry/wasm.h"

#include <stdbool.h>
#include <stdint.h>

struct canon_cx;
struct canon_inst;

/*
 * A resource type's identity: handles compare these pointers. A host
 * resource type (`host` set) is bound into an instance's resource-type
 * space at link time; a guest-defined one (`canon resource.new` and
 * friends, `impl` set) is created per component instance.
 */
struct canon_rtype {
    const char *name;                  /* for messages */
    const struct chost_resource *host; /* a host resource type, or NULL */
    struct canon_inst *impl;           /* the instance that defines it, or NULL for the host */
    struct spry_func *dtor;            /* guest-defined: (i32 rep) -> (), or NULL */
};

/* The borrows and lends of one call across the component boundary. */
#define HANDLES_SCOPE_FIRST 4

struct handles_scope {
    uint32_t nborrows; /* borrow handles lowered into the callee, not dropped yet */
    uint32_t *lent;    /* table indices lent for the call: `first`, then the cx's arena */
    uint32_t nlent, caplent;
    /* Room for the first lends (a host call lends one or two handles):
     * no arena allocation for them. A scope is zeroed before use and is
     * not moved while `lent` may point here. */
    uint32_t first[HANDLES_SCOPE_FIRST];
};

struct handle {
    const struct canon_rtype *rt; /* NULL: a free slot */
    uint32_t rep;                 /* free slot: the next free index, 0 for none */
    uint32_t lends;               /* calls this handle is lent to now */
    bool own;
    struct handles_scope *scope; /* borrow handles: the call they belong to */
};

/* The spec's Table.MAX_LENGTH is 2^28 - 1; Spry stops far below (32 bytes
 * an entry) unless the linker asks for more. */
#define HANDLES_MAX_SPEC ((1u << 28) - 1)
#define HANDLES_MAX      (1u << 20)

struct handles {
    struct handle *v; /* v[0] is never a handle */
    uint32_t len;     /* entries in use or free, v[0] included */
    uint32_t cap;
    uint32_t free_head; /* last freed index, 0: none */
    uint32_t max;       /* highest index allowed */
    uint32_t live;      /* entries holding a handle (rt != NULL) */
};

void handles_init(struct handles *h, uint32_t max);
/* Empties the table (every index free, numbering starts again at 1) and
 * keeps its storage for the next request. */
static inline void handles_clear(struct handles *h)
{
    h->len = 1;
    h->free_head = 0;
    h->live = 0;
}
void handles_fini(struct handles *h);

/* The handle at index i, or a trap (no such handle). */
int handles_get(struct canon_cx *cx, uint32_t i, struct handle **out);
/* Adds a handle (trap: table full, or SPRY_ENOMEM). */
int handles_add(struct canon_cx *cx, const struct handle *e, uint32_t *index);

/* The resource type own<resource>/borrow<resource> names in the cx's
 * instance (trap when the index is outside its space). */
int handles_rtype(struct canon_cx *cx, uint32_t resource, const struct canon_rtype **out);

/* lift_own, lift_borrow, lower_own, lower_borrow for a handle type t. */
int handles_lift_own(struct canon_cx *cx, const struct ctype *t, uint32_t i, uint32_t *rep);
int handles_lift_borrow(struct canon_cx *cx, const struct ctype *t, uint32_t i, uint32_t *rep);
int handles_lower_own(struct canon_cx *cx, const struct ctype *t, uint32_t rep, uint32_t *i);
int handles_lower_borrow(struct canon_cx *cx, const struct ctype *t, uint32_t rep, uint32_t *i);

/* Ends the lends a scope made (after the call returned). */
void handles_scope_end(struct canon_cx *cx, struct handles_scope *scope);
/* After a call trapped: borrow handles still tied to scope (which is about
 * to go away) are detached from it; dropping one later traps. */
void handles_scope_abandon(struct handles *h, const struct handles_scope *scope);

/* canon resource.new / resource.rep / resource.drop for resource type rt of
 * the cx's instance. drop runs the destructor of an own handle (the host's
 * drop with a ccall, or the guest's dtor). */
int handles_resource_new(struct canon_cx *cx, const struct canon_rtype *rt, uint32_t rep,
                         uint32_t *index);
int handles_resource_rep(struct canon_cx *cx, const struct canon_rtype *rt, uint32_t index,
                         uint32_t *rep);
int handles_resource_drop(struct canon_cx *cx, const struct canon_rtype *rt, uint32_t index);

/* The built-ins as core functions (spry_host_fn, user = struct
 * handles_builtin *): new (i32 rep) -> i32, rep (i32) -> i32,
 * drop (i32) -> (). */
struct handles_builtin {
    struct canon_inst *inst;
    const struct canon_rtype *rt;
};
int handles_resource_new_fn(void *user, struct spry_instance *caller, uint64_t *slots);
int handles_resource_rep_fn(void *user, struct spry_instance *caller, uint64_t *slots);
int handles_resource_drop_fn(void *user, struct spry_instance *caller, uint64_t *slots);

#endif

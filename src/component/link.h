/*
 * The component linker and instantiator: a decoded component (binary.h)
 * made into something the instance pool can hand out per request, its
 * imports served by host interfaces (chost.h), its exports callable with
 * the canonical ABI (canon.h). docs/components.md tells the story; this is
 * the API.
 *
 *     clink_host_create(ifaces, n, &host, &report);       once per host table
 *     cbin_decode(bytes, len, NULL, &bin, &report);       once per component
 *     clink_create(pool, host, bin, NULL, &link, &report); ditto: prepare
 *     e = clink_export_find(link, "wasi:cli/run@0.2.0", "run");
 *
 *   per request:
 *     clink_acquire(link, &ci, &report, &trap);           a fresh instance
 *     spry_store_set_data(clink_store(ci), KEY, ...);     request data (WASI)
 *     clink_call(ci, e, args, &arena, &result, &trap);
 *     clink_release(ci);
 *
 * Prepare (clink_create) walks the root component's definitions once and
 * flattens every nested component instantiation statically. What comes out:
 *  - the core module instantiations in order, each import naming its
 *    source (a host function, or export k of an earlier core instance):
 *    one linked pool group (spry_prepared_create_linked), so a request's
 *    instance is one pool slot and copy-on-write memory image;
 *  - every core function the host provides, as a spry_host_def whose `user`
 *    is a static descriptor: a canon lower of an imported function, or a
 *    resource.new / .drop / .rep built-in. The per-slot objects behind them
 *    (struct canon_lowered with its memory and realloc, struct
 *    handles_builtin, the defined resource types) live in struct cinst,
 *    built once per slot instantiation and kept with spry_pool_set_slot_data;
 *    a trampoline finds it through the calling store's
 *    SPRY_STORE_DATA_COMPONENT datum;
 *  - the resource-type space: every resource id of the decoded tree
 *    (cbin->resources) bound to a host resource type (imports) or to a
 *    resource type defined by a component instance (with its destructor);
 *  - the lifted exports, by name.
 *
 * Linking rules (checked at prepare, errors SPRY_EUNLINKABLE naming the
 * interface and function): an import "ns:pkg/iface@X.Y.Z" is served by the
 * host interface of that name whose version is compatible (same major; for
 * 0.x the same minor; patch ignored); a plain-name function import ("log")
 * by the host's world interface (name ""); every function the imported
 * instance type declares must exist in the host interface with an equal
 * type (records, variants, enums and flags compared with their names,
 * resources by what they are bound to); every resource it declares must
 * exist there. Importing an interface only for its types links.
 *
 * Unsupported (SPRY_EUNSUPPORTED naming the definition): a function lifted
 * by one component instance and lowered by another (component-to-component
 * calls), a lift of a lowered function, imports of core modules and
 * components, a component instantiated twice when it has resource types of
 * its own, and what the pool cannot hold (more than one defined memory).
 *
 * Threads: a struct clink is read-only after clink_create; acquire, call
 * and release may run on any threads, one thread per acquired cinst.
 */
#ifndef SPRY_COMPONENT_LINK_H
#define SPRY_COMPONENT_LINK_H

#include "component/binary.h"
#include "component/chost.h"
#include "component/ctype.h"

#include "base/arena.h"
#include "spry/error.h"
#include "spry/pool.h"
#include "spry/wasm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- host interface tables ------------------------------------------------ */

/*
 * A table of host interfaces parsed once (wit_parse_host), with one
 * resource-type identity per host resource. The interfaces (and their
 * strings) are borrowed: they must outlive the host and every component
 * linked against it. An interface named "" is the world's: its functions
 * serve plain-name function imports.
 */
struct clink_host;

int clink_host_create(const struct chost_iface *ifaces, size_t n, struct clink_host **out,
                      struct spry_report *report);
/* No component linked against it may remain. NULL is a no-op. */
void clink_host_destroy(struct clink_host *host);

/* The WASI 0.2 interfaces (wasip2_ifaces), parsed once per process and
 * never freed; NULL when out of memory (or the table fails to parse, which
 * a unit test rules out). */
const struct clink_host *clink_host_wasip2(void);

/* ---- prepared components --------------------------------------------------- */

struct clink;

struct clink_options {
    uint32_t max_handles; /* per component instance's handle table (0: HANDLES_MAX) */
    size_t arena_limit;   /* per host call and export call (0: CANON_ARENA_LIMIT) */
};

/*
 * Prepares `bin` for `pool`: flattens, links imports against `host`, and
 * creates the linked pool group (which instantiates once to check and to
 * build the memory image). bin and host are borrowed and must outlive the
 * result. options may be NULL. Errors: SPRY_EUNLINKABLE (an import the host
 * does not serve, or serves with another type), SPRY_EUNSUPPORTED, what
 * spry_prepared_create_linked returns, SPRY_ENOMEM; report says what.
 */
int clink_create(struct spry_pool *pool, const struct clink_host *host, const struct cbin *bin,
                 const struct clink_options *options, struct clink **out,
                 struct spry_report *report);
/* No instance of it may be acquired. NULL is a no-op. */
void clink_destroy(struct clink *link);

/* An exported function of the root component: `iface` is the exported
 * instance's name ("wasi:cli/run@0.2.12"), NULL for a function the root
 * exports itself. */
struct clink_export {
    const char *iface;
    const char *name;
    const struct cfunctype *type; /* resources: ids of the decoded tree */
    uint32_t lift;                /* internal: which lifted function */
};

/* The export `name` of instance `iface` (NULL: a root function). An
 * interface name with a version matches an export whose version is
 * compatible (wit_version_compatible); without, only an unversioned one.
 * NULL when there is none. */
const struct clink_export *clink_export_find(const struct clink *link, const char *iface,
                                             const char *name);
/* All of them, in export order (for listings). */
const struct clink_export *clink_exports(const struct clink *link, size_t *n);

/* ---- instances (per request) ------------------------------------------------ */

/* A component instance: every core instance of one pool slot, the
 * per-slot canonical ABI objects, the per-request handle tables. */
struct cinst;

/*
 * A fresh instance (spry_pool_acquire; may wait for a slot). The handle
 * tables are empty, the instances enterable. Start functions ran: a trap
 * there returns SPRY_ETRAP with `trap` filled when not NULL.
 */
int clink_acquire(struct clink *link, struct cinst **out, struct spry_report *report,
                  struct spry_trap *trap);
/* The same from a slot that holds this component's instance already
 * (spry_pool_acquire_warm): SPRY_EBUSY, at once, when none is free. */
int clink_acquire_warm(struct clink *link, struct cinst **out, struct spry_report *report,
                       struct spry_trap *trap);
/* Drops what the guest still owns (host resources' drops run, with the
 * store's request data still attached), then gives the slot back. */
void clink_release(struct cinst *ci);

/* The store of the instance's core instances: request data goes here
 * (spry_store_set_data; SPRY_STORE_DATA_COMPONENT is the linker's). */
struct spry_store *clink_store(const struct cinst *ci);
/* The linked component an instance belongs to. */
const struct clink *clink_of(const struct cinst *ci);

/*
 * Calls an export (canon lift): args follow e->type's parameters; the
 * result (when the type has one) is copied into `arena`, post-return has
 * run. Returns 0, SPRY_ETRAP (trap filled when not NULL; the instance can
 * not be entered again), SPRY_EEXIT (trap->exit_code) or SPRY_ENOMEM.
 * Handles in args and result are representations (ctype.h): an own<R> of
 * a resource the component defines, returned to the host, is the host's
 * to drop with clink_drop_own (naming the export it came from).
 */
int clink_call(struct cinst *ci, const struct clink_export *e, const struct cval *args,
               struct spry_arena *arena, struct cval *result, struct spry_trap *trap);

/* Drops a resource the host owns, of type `t` (an own<R> from the type of
 * export `e`, which says whose R it is: a component instantiated twice
 * defines R twice): runs the destructor of the component instance that
 * defines that R with `rep`, if it has one. SPRY_EINVAL when t is not an
 * own of a resource a component instance defines. */
int clink_drop_own(struct cinst *ci, const struct clink_export *e, const struct ctype *t,
                   uint32_t rep, struct spry_trap *trap);

#endif

/*
 * Instances: the per-slot objects (struct cinst, built once per slot
 * instantiation and kept as the slot's data), the per-request state (the
 * handle tables, reset at every acquire), the host functions' trampolines
 * and the calls.
 */
#include "component/link_impl.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "wasm/runtime.h"

#include <string.h>

/* ---- per slot ------------------------------------------------------------------ */

void link_slot_free(void *data)
{
    struct cinst *ci = data;
    if (ci == NULL)
        return;
    /* The link outlives its slots (clink_destroy destroys the pool
     * first). The tables were emptied by clink_release: only storage. */
    for (uint32_t k = 0; ci->cis != NULL && k < ci->link->ncinsts; k++)
        handles_fini(&ci->cis[k].handles);
    spry_free(ci->cis);
    spry_free(ci->rtypes);
    spry_free(ci->defined);
    spry_free(ci->lowered);
    spry_free(ci->builtins);
    spry_free(ci->lifted);
    spry_free(ci);
}

/* The object behind a source, in the slot whose member 0 is `inst`. */
static int resolve(struct spry_instance *inst, const struct lsrc *src, uint8_t kind,
                   struct spry_extern *out, struct spry_report *report)
{
    struct spry_instance *m = src->kind == LSRC_EXPORT ? spry_pool_member(inst, src->index) : NULL;
    if (m == NULL || spry_instance_export_n(m, src->name, src->name_len, out) != 0 ||
        out->kind != kind)
        return spry_report_set(report, SPRY_EINVAL, "core instance %u has no such export %.*s",
                               src->index, (int)src->name_len, src->name != NULL ? src->name : "");
    return 0;
}

static int resolve_func(struct spry_instance *inst, const struct lsrc *src, struct spry_func **out,
                        struct spry_report *report)
{
    *out = NULL;
    if (src->kind == LSRC_NONE)
        return 0;
    struct spry_extern e;
    int rc = resolve(inst, src, SPRY_EXTERN_FUNC, &e, report);
    if (rc == 0)
        *out = e.of.func;
    return rc;
}

static int resolve_memory(struct spry_instance *inst, const struct lsrc *src,
                          struct spry_memory **out, struct spry_report *report)
{
    *out = NULL;
    if (src->kind == LSRC_NONE)
        return 0;
    struct spry_extern e;
    int rc = resolve(inst, src, SPRY_EXTERN_MEMORY, &e, report);
    if (rc == 0)
        *out = e.of.memory;
    return rc;
}

static int slot_build(const struct clink *l, struct spry_instance *inst, struct cinst **out,
                      struct spry_report *report)
{
    struct cinst *ci = spry_calloc(1, sizeof *ci);
    if (ci == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory");
    ci->link = l;
    ci->store = spry_instance_store(inst);
    ci->cis = spry_calloc(l->ncinsts + 1, sizeof *ci->cis);
    /* one resource-type space per component instance */
    size_t nres = l->bin->nresources;
    ci->rtypes = spry_calloc((size_t)l->ncinsts * nres + 1, sizeof *ci->rtypes);
    ci->defined = spry_calloc(l->ndefined + 1, sizeof *ci->defined);
    ci->lowered = spry_calloc(l->nlowers + 1, sizeof *ci->lowered);
    ci->builtins = spry_calloc(l->nbuiltins + 1, sizeof *ci->builtins);
    ci->lifted = spry_calloc(l->nlifts + 1, sizeof *ci->lifted);
    int rc = 0;
    if (ci->cis == NULL || ci->rtypes == NULL || ci->defined == NULL || ci->lowered == NULL ||
        ci->builtins == NULL || ci->lifted == NULL)
        rc = spry_report_set(report, SPRY_ENOMEM, "out of memory");
    for (uint32_t k = 0; rc == 0 && k < l->ndefined; k++) {
        const struct ldefined *d = &l->defined[k];
        ci->defined[k] = (struct canon_rtype){.name = d->name, .impl = &ci->cis[d->cinst]};
        rc = resolve_func(inst, &d->dtor, &ci->defined[k].dtor, report);
    }
    for (uint32_t k = 0; rc == 0 && k < l->ncinsts; k++) {
        const struct lres *res = l->cres[k];
        for (size_t id = 0; id < nres; id++) {
            const struct lres *r = &res[id];
            ci->rtypes[k * nres + id] = r->kind == LRES_HOST      ? &l->host->rtypes[r->index]
                                        : r->kind == LRES_DEFINED ? &ci->defined[r->index]
                                                                  : NULL;
        }
    }
    /* The handle tables live as long as the slot: clink_release empties
     * them, the next acquire finds them ready. */
    for (uint32_t k = 0; rc == 0 && k < l->ncinsts; k++) {
        canon_inst_init(&ci->cis[k], ci->store, ci, ci->rtypes + (size_t)k * nres, (uint32_t)nres,
                        l->opts.max_handles);
        if (l->opts.arena_limit != 0)
            ci->cis[k].arena_limit = l->opts.arena_limit;
    }
    for (uint32_t k = 0; rc == 0 && k < l->nlowers; k++) {
        const struct llower *lo = &l->lowers[k];
        struct canon_options o = {.encoding = lo->encoding};
        rc = resolve_memory(inst, &lo->memory, &o.memory, report);
        if (rc == 0)
            rc = resolve_func(inst, &lo->realloc, &o.realloc, report);
        if (rc == 0) {
            canon_lowered_init(&ci->lowered[k], lo->name, lo->type, lo->fn, &o,
                               &ci->cis[lo->cinst]);
            if (lo->lift != LLOWER_HOST)
                ci->lowered[k].user = &ci->lifted[lo->lift]; /* filled below */
        }
    }
    for (uint32_t k = 0; rc == 0 && k < l->nbuiltins; k++) {
        const struct lbuiltin *bi = &l->builtins[k];
        ci->builtins[k] = (struct handles_builtin){&ci->cis[bi->cinst],
                                                   ci->rtypes[bi->cinst * nres + bi->resource]};
    }
    for (uint32_t k = 0; rc == 0 && k < l->nlifts; k++) {
        const struct llift *li = &l->lifts[k];
        struct canon_options o = {.encoding = li->encoding};
        struct spry_func *core = NULL;
        rc = resolve_func(inst, &li->core, &core, report);
        if (rc == 0)
            rc = resolve_memory(inst, &li->memory, &o.memory, report);
        if (rc == 0)
            rc = resolve_func(inst, &li->realloc, &o.realloc, report);
        if (rc == 0)
            rc = resolve_func(inst, &li->post_return, &o.post_return, report);
        if (rc == 0)
            canon_lifted_init(&ci->lifted[k], li->name, li->type, core, &o, &ci->cis[li->cinst]);
    }
    if (rc != 0) {
        link_slot_free(ci);
        return rc;
    }
    *out = ci;
    return 0;
}

/* ---- per request ------------------------------------------------------------------ */

static int acquire(struct clink *l, bool warm, struct cinst **out, struct spry_report *report,
                   struct spry_trap *trap)
{
    struct spry_instance *inst;
    int rc = warm ? spry_pool_acquire_warm(l->prepared, &inst, report, trap)
                  : spry_pool_acquire(l->prepared, &inst, report, trap);
    if (rc != 0)
        return rc;
    struct cinst *ci = spry_pool_slot_data(inst);
    if (ci == NULL && warm) { /* its objects were never built: not warm after all */
        spry_pool_release(inst);
        return spry_report_set(report, SPRY_EBUSY, "no free slot holds an instance of it");
    }
    if (ci == NULL) {
        rc = slot_build(l, inst, &ci, report);
        if (rc != 0) {
            spry_pool_release(inst);
            return rc;
        }
        spry_pool_set_slot_data(inst, ci);
    }
    ci->inst = inst;
    spry_store_set_data(ci->store, SPRY_STORE_DATA_COMPONENT, ci);
    *out = ci;
    return 0;
}

int clink_acquire(struct clink *l, struct cinst **out, struct spry_report *report,
                  struct spry_trap *trap)
{
    return acquire(l, false, out, report, trap);
}

int clink_acquire_warm(struct clink *l, struct cinst **out, struct spry_report *report,
                       struct spry_trap *trap)
{
    return acquire(l, true, out, report, trap);
}

void clink_release(struct cinst *ci)
{
    for (uint32_t k = ci->link->ncinsts; k-- > 0;)
        canon_inst_reset(&ci->cis[k]);
    struct spry_instance *inst = ci->inst;
    ci->inst = NULL;
    spry_pool_release(inst);
}

struct spry_store *clink_store(const struct cinst *ci)
{
    return ci->store;
}

const struct clink *clink_of(const struct cinst *ci)
{
    return ci->link;
}

int clink_call(struct cinst *ci, const struct clink_export *e, const struct cval *args,
               struct spry_arena *arena, struct cval *result, struct spry_trap *trap)
{
    SPRY_ASSERT(e->lift < ci->link->nlifts);
    return canon_lifted_call(&ci->lifted[e->lift], args, arena, result, trap);
}

int clink_drop_own(struct cinst *ci, const struct clink_export *e, const struct ctype *t,
                   uint32_t rep, struct spry_trap *trap)
{
    const struct clink *l = ci->link;
    if (e == NULL || e->lift >= l->nlifts || t == NULL || t->kind != CT_OWN ||
        t->u.resource >= l->bin->nresources)
        return SPRY_EINVAL;
    /* The export's type names resources as the component instance that
     * lifted it sees them: R in that instance's resource-type space. */
    const struct canon_rtype *rt =
        ci->rtypes[(size_t)l->lifts[e->lift].cinst * l->bin->nresources + t->u.resource];
    if (rt == NULL || rt->impl == NULL)
        return SPRY_EINVAL;
    if (rt->dtor == NULL)
        return 0;
    struct canon_inst *impl = rt->impl;
    if (!impl->may_enter) {
        if (trap != NULL) {
            memset(trap, 0, sizeof *trap);
            trap->kind = SPRY_TRAP_HOST;
            trap->func_index = UINT32_MAX;
            canon_join_message(trap->message, sizeof trap->message, rt->name,
                               "cannot run the destructor: the component instance is running "
                               "or trapped");
        }
        return SPRY_ETRAP;
    }
    struct spry_val arg = {.type = SPRY_I32, .of.i32 = (int32_t)rep};
    impl->may_enter = false;
    int rc = spry_func_call(rt->dtor, &arg, 1, NULL, 0, trap);
    if (rc == 0)
        impl->may_enter = true;
    return rc;
}

/* ---- component-to-component calls -------------------------------------------------- */

/*
 * CanonicalABI.md's canon_lower of a lifted function: the caller's
 * arguments were lifted with the caller's options (canon_call_host checked
 * its may_leave and cleared its may_enter; own handles left its table,
 * borrows were lent for the call); canon_lifted_call lowers them into the
 * callee with the callee's options (its may_enter: a component instance
 * already on the stack traps), runs it, lifts the results out of its memory
 * into the call's arena and runs its post-return; the caller then lowers
 * them with its own options. Handles move as representations: an own
 * handle goes from one table to the other, a borrow becomes a borrow
 * handle in the callee (or the representation, when the callee implements
 * the resource), which it must drop before it returns.
 */
int link_c2c_call(struct ccall *call, const struct cval *args, struct cval *result)
{
    const struct canon_lifted *callee = call->user;
    struct spry_trap trap;
    memset(&trap, 0, sizeof trap);
    int rc = canon_lifted_call(callee, args, call->arena, result, &trap);
    if (rc != SPRY_ETRAP)
        return rc;
    if (trap.message[0] != '\0' && trap.kind == SPRY_TRAP_HOST)
        return ccall_trap(call, "%s", trap.message);
    return ccall_trap(call, "%s: %s", callee->name,
                      trap.message[0] != '\0' ? trap.message : spry_trap_kind_text(trap.kind));
}

/* ---- trampolines --------------------------------------------------------------------- */

/* The component instance a host call runs for: the request's, through the
 * caller's store. NULL outside a request (a start function calling an
 * import, which the component model does not allow either). */
static struct cinst *caller_cinst(struct spry_instance *caller)
{
    if (caller == NULL)
        return NULL;
    struct cinst *ci = spry_store_data(spry_instance_store(caller), SPRY_STORE_DATA_COMPONENT);
    if (ci == NULL)
        spry_instance_set_trap_message(caller, "a component import was called outside a call "
                                               "into the component (during instantiation)");
    return ci;
}

/* Every guest-to-host call comes through here: caller_cinst's lookups read
 * inline (the engine's runtime.h), so that the trampoline makes no call
 * but the tail call. */
int link_lower_tramp(void *user, struct spry_instance *caller, uint64_t *slots)
{
    const struct lhostfn *h = user;
    struct cinst *ci = caller != NULL ? caller->store->data[SPRY_STORE_DATA_COMPONENT] : NULL;
    if (ci == NULL) {
        (void)caller_cinst(caller); /* the same lookup, which sets the trap message */
        return SPRY_ETRAP;
    }
    const struct canon_lowered *l = &ci->lowered[h->index];
    return canon_call_host(l, l->inst, &l->opts, caller, slots); /* canon_lowered_call */
}

int link_new_tramp(void *user, struct spry_instance *caller, uint64_t *slots)
{
    const struct lhostfn *h = user;
    struct cinst *ci = caller_cinst(caller);
    if (ci == NULL)
        return SPRY_ETRAP;
    return handles_resource_new_fn(&ci->builtins[h->index], caller, slots);
}

int link_rep_tramp(void *user, struct spry_instance *caller, uint64_t *slots)
{
    const struct lhostfn *h = user;
    struct cinst *ci = caller_cinst(caller);
    if (ci == NULL)
        return SPRY_ETRAP;
    return handles_resource_rep_fn(&ci->builtins[h->index], caller, slots);
}

int link_drop_tramp(void *user, struct spry_instance *caller, uint64_t *slots)
{
    const struct lhostfn *h = user;
    /* Nearly every guest drops its streams: read inline, as
     * link_lower_tramp does. */
    struct cinst *ci = caller != NULL ? caller->store->data[SPRY_STORE_DATA_COMPONENT] : NULL;
    if (ci == NULL) {
        (void)caller_cinst(caller); /* the same lookup, which sets the trap message */
        return SPRY_ETRAP;
    }
    return handles_resource_drop_fn(&ci->builtins[h->index], caller, slots);
}

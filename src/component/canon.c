/*
 * The canonical ABI's contexts and call paths: canon_lower (a guest calls a
 * host function) and canon_lift (the host calls a guest export), with the
 * reentrance flags, realloc and post-return. The value walkers are in
 * canon_lift.c, canon_lower.c and canon_string.c; handles in handles.c.
 */
#include "component/canon.h"

#include "base/assert.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- instances and contexts ------------------------------------------------ */

int canon_inst_init(struct canon_inst *inst, struct spry_store *store, struct cinst *cinst,
                    const struct canon_rtype *const *rtypes, uint32_t nrtypes, uint32_t max_handles)
{
    memset(inst, 0, sizeof *inst);
    handles_init(&inst->handles, max_handles == 0 ? HANDLES_MAX : max_handles);
    inst->rtypes = rtypes;
    inst->nrtypes = nrtypes;
    inst->may_enter = true;
    inst->may_leave = true;
    inst->arena_limit = CANON_ARENA_LIMIT;
    inst->cinst = cinst;
    inst->store = store;
    return 0;
}

void canon_inst_reset(struct canon_inst *inst)
{
    struct handles *h = &inst->handles;
    /* One arena for every drop, emptied after a drop that used it: each
     * drop starts from an empty arena with the whole limit, and the usual
     * drop (a stream's, which allocates nothing) costs no arena call. */
    struct spry_arena arena;
    spry_arena_init(&arena, inst->arena_limit);
    /* Newest first: resources are usually created after the ones they
     * depend on (a stream after its file), so dependents go first. */
    for (uint32_t i = h->len; i-- > 1;) {
        struct handle *e = &h->v[i];
        if (e->rt == NULL || !e->own || e->rt->host == NULL || e->rt->host->drop == NULL)
            continue;
        const struct chost_resource *res = e->rt->host;
        uint32_t rep = e->rep;
        e->rt = NULL;
        struct ccall call = {.arena = &arena, .inst = inst->cinst, .store = inst->store};
        res->drop(&call, rep);
        if (arena.head != NULL || arena.used != 0)
            spry_arena_fini(&arena);
    }
    handles_clear(h);
    inst->may_enter = true;
    inst->may_leave = true;
}

void canon_inst_fini(struct canon_inst *inst)
{
    canon_inst_reset(inst);
    handles_fini(&inst->handles);
}

void canon_cx_init(struct canon_cx *cx, const struct canon_options *opts, struct canon_inst *inst,
                   struct spry_arena *arena, struct handles_scope *scope,
                   struct spry_instance *caller, bool views)
{
    cx->opts = opts;
    cx->inst = inst;
    cx->arena = arena;
    cx->scope = scope;
    cx->caller = caller;
    cx->views = views;
    cx->trap = NULL;
    spry_report_init(&cx->report);
}

int canon_trap(struct canon_cx *cx, const char *fmt, ...)
{
    if (cx->report.code == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cx->report.message, sizeof cx->report.message, fmt, ap);
        va_end(ap);
        cx->report.code = SPRY_ETRAP;
    }
    return SPRY_ETRAP;
}

int ccall_trap(struct ccall *call, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (call->caller != NULL)
        spry_instance_set_trap_message(call->caller, msg);
    if (call->report != NULL)
        spry_report_set(call->report, SPRY_ETRAP, "%s", msg);
    return SPRY_ETRAP;
}

int canon_check_range_fail(struct canon_cx *cx, uint64_t ptr, uint64_t size, uint32_t align,
                           const char *what)
{
    if (cx->opts == NULL || cx->opts->memory == NULL)
        return canon_trap(cx, "%s: the function has no memory option", what);
    if ((ptr & (align - 1)) != 0)
        return canon_trap(cx, "%s: pointer 0x%llx is not aligned to %u", what,
                          (unsigned long long)ptr, align);
    uint64_t memsize = spry_memory_size(cx->opts->memory);
    if (ptr > memsize || size > memsize - ptr)
        return canon_trap(cx, "%s: %llu bytes at 0x%llx are outside memory (%llu bytes)", what,
                          (unsigned long long)size, (unsigned long long)ptr,
                          (unsigned long long)memsize);
    return 0;
}

/* realloc's type, (i32, i32, i32, i32) -> i32: the decoder checks it of
 * every realloc option, canon_realloc again (options may come from
 * elsewhere) before it passes raw slots. */
static bool realloc_type_ok(const struct spry_func *f)
{
    const struct spry_functype *t = spry_func_type(f);
    if (t->nparams != 4 || t->nresults != 1 || t->results[0] != SPRY_I32)
        return false;
    for (uint32_t i = 0; i < 4; i++) {
        if (t->params[i] != SPRY_I32)
            return false;
    }
    return true;
}

int canon_realloc(struct canon_cx *cx, uint32_t old, uint32_t old_size, uint32_t align,
                  uint32_t new_size, uint32_t *out)
{
    if (cx->opts == NULL || cx->opts->realloc == NULL)
        return canon_trap(cx, "no realloc option to allocate %u bytes in", new_size);
    if (!realloc_type_ok(cx->opts->realloc))
        return canon_trap(cx, "realloc is not (i32, i32, i32, i32) -> i32");
    if (!cx->inst->may_leave)
        return canon_trap(cx, "cannot call realloc: the instance is in realloc or post-return");
    uint64_t slots[4] = {old, old_size, align, new_size};
    cx->inst->may_leave = false;
    int rc = spry_func_call_slots(cx->opts->realloc, slots, 4, cx->trap);
    if (rc != 0)
        return rc; /* a trap in realloc: the engine has the message */
    cx->inst->may_leave = true;
    uint32_t ptr = (uint32_t)slots[0];
    rc = canon_check_range(cx, ptr, new_size, align, "realloc result");
    if (rc != 0)
        return rc;
    *out = ptr;
    return 0;
}

/* ---- core values ----------------------------------------------------------- */

static void slot_to_val(uint8_t type, uint64_t slot, struct spry_val *out)
{
    memset(out, 0, sizeof *out);
    out->type = type;
    switch (type) {
    case SPRY_I32:
        out->of.i32 = (int32_t)(uint32_t)slot;
        break;
    case SPRY_F32:
        out->of.f32_bits = (uint32_t)slot;
        break;
    default: /* i64, f64: the flat types are never references */
        out->of.i64 = (int64_t)slot;
        break;
    }
}

static uint64_t val_to_slot(const struct spry_val *v)
{
    switch (v->type) {
    case SPRY_I32:
        return (uint32_t)v->of.i32;
    case SPRY_F32:
        return v->of.f32_bits;
    default:
        return (uint64_t)v->of.i64;
    }
}

void canon_join_message(char *buf, size_t n, const char *name, const char *message)
{
    int k = snprintf(buf, n, "%s: ", name != NULL ? name : "component function");
    size_t used = k < 0 ? 0 : (size_t)k >= n ? n - 1 : (size_t)k;
    size_t len = strlen(message);
    if (len > n - 1 - used)
        len = n - 1 - used; /* a long message is cut */
    memcpy(buf + used, message, len);
    buf[used + len] = '\0';
}

/* ---- guest calls host: canon lower ------------------------------------------ */

void canon_lowered_init(struct canon_lowered *l, const char *name, const struct cfunctype *type,
                        chost_fn fn, const struct canon_options *opts, struct canon_inst *inst)
{
    memset(l, 0, sizeof *l);
    l->name = name;
    l->type = type;
    l->fn = fn;
    if (opts != NULL)
        l->opts = *opts;
    l->inst = inst;
    layout_flatten_functype(type, LAYOUT_LOWER, &l->flat);
}

/* Lifts the arguments, calls the host, lowers the result. */
static int lowered_run(const struct canon_lowered *l, struct canon_cx *cx, uint64_t *slots)
{
    const struct cfunctype *ft = l->type;
    struct cval local_args[8];
    struct cval *args = local_args;
    if (ft->nparams > 8) {
        args = spry_arena_alloc_array(cx->arena, ft->nparams, sizeof *args);
        if (args == NULL)
            return canon_trap(cx, "out of memory for %u arguments", ft->nparams);
    }
    struct canon_flat in = {slots, l->flat.nparams, 0};
    int rc = canon_lift_values_via(cx, ft->nparams, ft->params,
                                   l->flat.params_in_memory ? &l->flat.params_block : NULL,
                                   "parameters", &in, args);
    if (rc != 0)
        return rc;
    uint32_t retptr = 0;
    if (l->flat.results_in_memory) {
        SPRY_ASSERT(in.i + 1 == l->flat.nparams);
        retptr = (uint32_t)slots[in.i];
    }

    struct ccall call = {.arena = cx->arena,
                         .inst = cx->inst->cinst,
                         .store = cx->inst->store,
                         .caller = cx->caller,
                         .user = l->user};
    struct cval result;
    memset(&result, 0, sizeof result);
    rc = l->fn(&call, args, &result);
    if (rc != 0)
        return rc; /* the host set its message (ccall_trap) or the exit */

    if (ft->result != NULL) {
        struct ctype_field rf = {NULL, ft->result};
        struct canon_flat out = {slots, l->flat.nresults, 0};
        bool mem = l->flat.results_in_memory;
        rc = canon_lower_values_via(cx, 1, &rf, &result, mem ? &l->flat.results_block : NULL,
                                    mem ? &retptr : NULL, &out);
        if (rc != 0)
            return rc;
    }
    handles_scope_end(cx, cx->scope);
    /* Results cannot hold borrows (validation), so the callee made none. */
    SPRY_ASSERT(cx->scope->nborrows == 0);
    return 0;
}

int canon_lowered_call(void *user, struct spry_instance *caller, uint64_t *slots)
{
    const struct canon_lowered *l = user;
    return canon_call_host(l, l->inst, &l->opts, caller, slots);
}

static _Thread_local const struct canon_gate *gate_current;

void canon_gate_set(const struct canon_gate *gate)
{
    gate_current = gate;
}

int canon_call_host(const struct canon_lowered *l, struct canon_inst *inst,
                    const struct canon_options *opts, struct spry_instance *caller, uint64_t *slots)
{
    const struct canon_gate *g = gate_current;
    if (g != NULL && !g->allow(g->ctx, l->name))
        return SPRY_EINTERRUPTED; /* nothing lifted, nothing called */
    struct spry_arena arena;
    struct handles_scope scope;
    struct canon_cx cx;
    /* Most host calls lift a few values and lend a handle or two: this is
     * room for them without a malloc per call. */
    _Alignas(16) unsigned char scratch[CANON_HOST_SCRATCH];
    memset(&scope, 0, sizeof scope);
    spry_arena_init_buf(&arena, inst->arena_limit, scratch, sizeof scratch);
    canon_cx_init(&cx, opts, inst, &arena, &scope, caller, true);

    int rc;
    if (!inst->may_leave) {
        rc = canon_trap(&cx, "cannot leave the component instance here (in realloc or "
                             "post-return)");
    } else {
        bool may_enter = inst->may_enter;
        inst->may_enter = false;
        rc = lowered_run(l, &cx, slots);
        if (rc == 0)
            inst->may_enter = may_enter;
    }
    if (rc == SPRY_ETRAP && cx.report.code != 0 && caller != NULL) {
        char msg[sizeof cx.report.message + 128];
        canon_join_message(msg, sizeof msg, l->name, cx.report.message);
        spry_instance_set_trap_message(caller, msg);
    }
    spry_arena_fini(&arena);
    return rc;
}

/* ---- host calls guest: canon lift ------------------------------------------- */

void canon_lifted_init(struct canon_lifted *l, const char *name, const struct cfunctype *type,
                       struct spry_func *core, const struct canon_options *opts,
                       struct canon_inst *inst)
{
    memset(l, 0, sizeof *l);
    l->name = name;
    l->type = type;
    l->core = core;
    if (opts != NULL)
        l->opts = *opts;
    l->inst = inst;
    layout_flatten_functype(type, LAYOUT_LIFT, &l->flat);
}

static int lifted_run(const struct canon_lifted *l, struct canon_cx *cx, struct spry_func *core,
                      const struct cval *args, struct cval *result)
{
    const struct cfunctype *ft = l->type;
    const struct layout_corefunc *cf = &l->flat;
    uint64_t slots[LAYOUT_MAX_FLAT_PARAMS + 1];
    struct canon_flat out = {slots, cf->nparams, 0};
    int rc = canon_lower_values_via(cx, ft->nparams, ft->params, args,
                                    cf->params_in_memory ? &cf->params_block : NULL, NULL, &out);
    if (rc != 0)
        return rc;
    SPRY_ASSERT(out.i == cf->nparams);

    struct spry_val vargs[LAYOUT_MAX_FLAT_PARAMS + 1], vres[LAYOUT_MAX_FLAT_RESULTS];
    for (uint32_t i = 0; i < cf->nparams; i++)
        slot_to_val(cf->params[i], slots[i], &vargs[i]);
    rc = spry_func_call(core, vargs, cf->nparams, vres, cf->nresults, cx->trap);
    if (rc == SPRY_EINVAL)
        return canon_trap(cx, "the core function's type does not match the lifted type");
    if (rc != 0)
        return rc;

    uint64_t rslots[LAYOUT_MAX_FLAT_RESULTS];
    for (uint32_t i = 0; i < cf->nresults; i++)
        rslots[i] = val_to_slot(&vres[i]);
    if (ft->result != NULL) {
        struct ctype_field rf = {NULL, ft->result};
        struct canon_flat in = {rslots, cf->nresults, 0};
        rc = canon_lift_values_via(cx, 1, &rf, cf->results_in_memory ? &cf->results_block : NULL,
                                   "results", &in, result);
        if (rc != 0)
            return rc;
    }
    /* Task.return: the callee must have dropped every borrow it was given. */
    if (cx->scope->nborrows != 0)
        return canon_trap(cx, "returned while still holding %u borrowed handle%s",
                          cx->scope->nborrows, cx->scope->nborrows == 1 ? "" : "s");

    if (cx->opts->post_return != NULL) {
        cx->inst->may_leave = false;
        rc = spry_func_call(cx->opts->post_return, vres, cf->nresults, NULL, 0, cx->trap);
        if (rc == SPRY_EINVAL)
            return canon_trap(cx, "post-return does not take the function's core results");
        if (rc != 0)
            return rc;
        cx->inst->may_leave = true;
    }
    return 0;
}

int canon_lifted_call(const struct canon_lifted *l, const struct cval *args,
                      struct spry_arena *arena, struct cval *result, struct spry_trap *trap)
{
    return canon_call_guest(l, l->inst, &l->opts, l->core, args, arena, result, trap);
}

int canon_call_guest(const struct canon_lifted *l, struct canon_inst *inst,
                     const struct canon_options *opts, struct spry_func *core,
                     const struct cval *args, struct spry_arena *arena, struct cval *result,
                     struct spry_trap *trap)
{
    struct handles_scope scope;
    struct canon_cx cx;
    memset(&scope, 0, sizeof scope);
    canon_cx_init(&cx, opts, inst, arena, &scope, NULL, false);
    cx.trap = trap;

    int rc;
    if (!inst->may_enter) {
        rc = canon_trap(&cx, "cannot enter the component instance (it is running or trapped)");
    } else {
        inst->may_enter = false;
        rc = lifted_run(l, &cx, core, args, result);
        if (rc == 0)
            inst->may_enter = true;
        else
            handles_scope_abandon(&inst->handles, &scope);
    }
    if (rc == SPRY_ETRAP && cx.report.code != 0 && trap != NULL) {
        memset(trap, 0, sizeof *trap);
        trap->kind = SPRY_TRAP_HOST;
        trap->func_index = UINT32_MAX;
        canon_join_message(trap->message, sizeof trap->message, l->name, cx.report.message);
    }
    return rc;
}

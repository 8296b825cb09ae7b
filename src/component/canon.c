/*
 * The canonical ABI's contexts and call paths: canon_lower (a guest calls a
 * host function) and canon_lift (the host calls a guest export), with the
 * reentrance flags, realloc and post-return. The value walkers are in
 * canon_lift.c, canon_lower.c and canon_string.c; handles in handles.c.
 */
#include "component/canon.h"

#include "base/assert.h"
#include "wasm/runtime.h"

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

/* canon_inst_reset's drops: the own handles of host resources the guest
 * left in the table. */
static __attribute__((noinline)) void drop_left(struct canon_inst *inst)
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
}

void canon_inst_reset(struct canon_inst *inst)
{
    /* A guest that dropped what it made (as most do) left nothing. */
    if (inst->handles.live != 0)
        drop_left(inst);
    handles_clear(&inst->handles);
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
    cx->report.code = 0; /* spry_report_init, without a call on every host call */
    cx->report.message[0] = '\0';
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
    bool typed = cx->opts->realloc_typed == cx->opts->realloc;
    if (!typed && !realloc_type_ok(cx->opts->realloc))
        return canon_trap(cx, "realloc is not (i32, i32, i32, i32) -> i32");
    if (!cx->inst->may_leave)
        return canon_trap(cx, "cannot call realloc: the instance is in realloc or post-return");
    uint64_t slots[4] = {old, old_size, align, new_size};
    cx->inst->may_leave = false;
    /* A realloc whose type was checked when the options were bound goes to
     * the engine's call directly: spry_func_call_slots would only check the
     * same type again. */
    struct spry_func *f = cx->opts->realloc;
    int rc = typed ? runtime_call(f->store, f, slots, cx->trap)
                   : spry_func_call_slots(f, slots, 4, cx->trap);
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

/* Fills l->param_steps and l->result_step (canon.h, enum canon_step). */
static void plan_lowered(struct canon_lowered *l)
{
    const struct cfunctype *ft = l->type;
    for (uint32_t i = 0; i < ft->nparams && i < CANON_PLAN_PARAMS; i++) {
        const struct ctype *t = ft->params[i].type;
        l->param_steps[i] = t->kind == CT_BORROW ? CANON_STEP_BORROW
                            : t->kind == CT_LIST ? CANON_STEP_LIST
                                                 : CANON_STEP_WALK;
    }
    const struct ctype *r = ft->result;
    if (r == NULL)
        l->result_step = CANON_STEP_NONE;
    else if (l->flat.results_in_memory)
        l->result_step = CANON_STEP_STORE;
    else if (l->flat.nresults != 1)
        l->result_step = CANON_STEP_WALK;
    else if (r->kind == CT_OWN)
        l->result_step = CANON_STEP_OWN;
    else if (r->kind == CT_U32 || r->kind == CT_S32)
        l->result_step = CANON_STEP_U32;
    else
        l->result_step = CANON_STEP_WALK;
}

void canon_lowered_init(struct canon_lowered *l, const char *name, const struct cfunctype *type,
                        chost_fn fn, const struct canon_options *opts, struct canon_inst *inst)
{
    memset(l, 0, sizeof *l);
    l->name = name;
    l->type = type;
    l->fn = fn;
    if (opts != NULL)
        l->opts = *opts;
    l->opts.realloc_typed =
        l->opts.realloc != NULL && realloc_type_ok(l->opts.realloc) ? l->opts.realloc : NULL;
    l->inst = inst;
    layout_flatten_functype(type, LAYOUT_LOWER, &l->flat);
    plan_lowered(l);
}

/* lift_flat_values or, past 16 flat values, the tuple in memory: the
 * arguments of a host call into args[0..n), following l's plan for flat
 * ones. Leaves in->i past the arguments (the result pointer follows). */
static __attribute__((noinline)) int lift_params(const struct canon_lowered *l, struct canon_cx *cx,
                                                 struct canon_flat *in, struct cval *args)
{
    const struct cfunctype *ft = l->type;
    if (l->flat.params_in_memory)
        return canon_lift_values_via(cx, ft->nparams, ft->params, &l->flat.params_block,
                                     "parameters", in, args);
    for (uint32_t i = 0; i < ft->nparams; i++) {
        const struct ctype *t = ft->params[i].type;
        uint8_t step = i < CANON_PLAN_PARAMS ? l->param_steps[i] : CANON_STEP_WALK;
        struct cval *a = &args[i];
        int rc;
        if (step == CANON_STEP_BORROW && in->i < in->n) {
            memset(a, 0, sizeof *a);
            a->kind = CT_BORROW;
            rc = handles_lift_borrow(cx, t, (uint32_t)in->v[in->i++], &a->of.rep);
        } else if (step == CANON_STEP_LIST && in->i < in->n && in->n - in->i >= 2) {
            memset(a, 0, sizeof *a);
            a->kind = CT_LIST;
            uint32_t ptr = (uint32_t)in->v[in->i], len = (uint32_t)in->v[in->i + 1];
            in->i += 2;
            rc = canon_lift_list(cx, t->u.elem, ptr, len, a);
        } else {
            rc = canon_lift_flat(cx, t, in, a);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* lower_flat_values of the host's result, following l's plan (a
 * CANON_STEP_NONE result never comes here). */
static int lower_result(const struct canon_lowered *l, struct canon_cx *cx,
                        const struct cval *result, uint32_t retptr, uint64_t *slots)
{
    const struct ctype *rt = l->type->result;
    uint32_t index;
    int rc;
    switch (l->result_step) {
    case CANON_STEP_OWN: /* lower_flat of own<T> into the one result slot */
        if (result->kind != CT_OWN)
            break;
        rc = handles_lower_own(cx, rt, result->of.rep, &index);
        if (rc == 0)
            slots[0] = index;
        return rc;
    case CANON_STEP_U32:
        if (result->kind != rt->kind)
            break;
        slots[0] = (uint32_t)result->of.u;
        return 0;
    case CANON_STEP_STORE:
        /* one value past MAX_FLAT_RESULTS: stored at the pointer the guest
         * passed (results_block is the result's own size and alignment) */
        return canon_store_result(cx, rt, result, retptr, &l->flat.results_block);
    default:
        break;
    }
    struct canon_flat out = {slots, l->flat.nresults, 0};
    return canon_lower_flat(cx, rt, result, &out);
}

/* A host call that failed or was refused: a canonical ABI check's message
 * goes to the engine, named after the function (a host function sets its
 * own). Out of line, with its message buffer. */
static __attribute__((noinline)) int host_call_failed(const struct canon_lowered *l,
                                                      struct canon_cx *cx, int rc)
{
    if (rc == SPRY_ETRAP && cx->report.code != 0 && cx->caller != NULL) {
        char msg[sizeof cx->report.message + 128];
        canon_join_message(msg, sizeof msg, l->name, cx->report.message);
        spry_instance_set_trap_message(cx->caller, msg);
    }
    return rc;
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

/*
 * canon lower, one call: the lifted arguments, lent handles and the host's
 * result live in an arena that starts in `scratch` on this stack; the
 * arguments are lifted (lift_params), the host function called, its result
 * lowered (lower_result), the lends ended. Written for the common call: no
 * or a few flat parameters, a result that is none, a handle, a number or a
 * value stored at the guest's pointer.
 */
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
    if (!inst->may_leave)
        return host_call_failed(l, &cx,
                                canon_trap(&cx, "cannot leave the component instance here (in "
                                                "realloc or post-return)"));
    bool may_enter = inst->may_enter;
    inst->may_enter = false;

    const struct cfunctype *ft = l->type;
    struct cval local_args[CANON_PLAN_PARAMS];
    struct cval *args = local_args;
    uint32_t retptr = 0;
    int rc = 0;
    if (ft->nparams > CANON_PLAN_PARAMS) {
        args = spry_arena_alloc_array(&arena, ft->nparams, sizeof *args);
        if (args == NULL)
            rc = canon_trap(&cx, "out of memory for %u arguments", ft->nparams);
    }
    if (rc == 0 && (ft->nparams != 0 || l->flat.results_in_memory)) {
        struct canon_flat in = {slots, l->flat.nparams, 0};
        if (ft->nparams != 0)
            rc = lift_params(l, &cx, &in, args);
        if (rc == 0 && l->flat.results_in_memory) {
            SPRY_ASSERT(in.i + 1 == l->flat.nparams);
            retptr = (uint32_t)slots[in.i];
        }
    }
    if (rc == 0) {
        struct ccall call = {.arena = &arena,
                             .inst = inst->cinst,
                             .store = inst->store,
                             .caller = caller,
                             .user = l->user};
        struct cval result;
        memset(&result, 0, sizeof result);
        rc = l->fn(&call, args, &result);
        /* rc != 0: the host set its message (ccall_trap) or the exit */
        if (rc == 0 && l->result_step != CANON_STEP_NONE)
            rc = lower_result(l, &cx, &result, retptr, slots);
    }
    if (rc == 0) {
        if (scope.nlent != 0)
            handles_scope_end(&cx, &scope);
        /* Results cannot hold borrows (validation), so the callee made none. */
        SPRY_ASSERT(scope.nborrows == 0);
        inst->may_enter = may_enter;
    } else {
        rc = host_call_failed(l, &cx, rc);
    }
    spry_arena_fini(&arena);
    return rc;
}

/* ---- host calls guest: canon lift ------------------------------------------- */

/* Whether core is exactly the core signature cf: what lifted_run needs to
 * pass it raw slots. */
static bool core_type_ok(const struct spry_func *core, const struct layout_corefunc *cf)
{
    const struct spry_functype *t = spry_func_type(core);
    if (t->nparams != cf->nparams || t->nresults != cf->nresults)
        return false;
    for (uint32_t i = 0; i < cf->nparams; i++) {
        if (t->params[i] != cf->params[i])
            return false;
    }
    for (uint32_t i = 0; i < cf->nresults; i++) {
        if (t->results[i] != cf->results[i])
            return false;
    }
    return true;
}

/* Whether post_return takes exactly cf's core results and returns nothing. */
static bool post_return_type_ok(const struct spry_func *post_return,
                                const struct layout_corefunc *cf)
{
    const struct spry_functype *t = spry_func_type(post_return);
    if (t->nparams != cf->nresults || t->nresults != 0)
        return false;
    for (uint32_t i = 0; i < cf->nresults; i++) {
        if (t->params[i] != cf->results[i])
            return false;
    }
    return true;
}

/* l->result_step: CASES for the result of wasi:cli/run and its like. */
static uint8_t plan_lifted_result(const struct canon_lifted *l)
{
    const struct ctype *r = l->type->result;
    if (r == NULL)
        return CANON_STEP_NONE;
    if (l->flat.results_in_memory || l->flat.nresults != 1 || !layout_is_variant(r))
        return CANON_STEP_WALK;
    for (uint32_t i = 0; i < layout_ncases(r); i++) {
        if (layout_case_type(r, i) != NULL)
            return CANON_STEP_WALK;
    }
    return CANON_STEP_CASES;
}

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
    l->opts.realloc_typed =
        l->opts.realloc != NULL && realloc_type_ok(l->opts.realloc) ? l->opts.realloc : NULL;
    l->inst = inst;
    layout_flatten_functype(type, LAYOUT_LIFT, &l->flat);
    l->core_typed = core != NULL && core_type_ok(core, &l->flat) ? core : NULL;
    l->post_return_typed =
        l->opts.post_return != NULL && post_return_type_ok(l->opts.post_return, &l->flat)
            ? l->opts.post_return
            : NULL;
    l->result_step = plan_lifted_result(l);
}

/* Slots as spry_func_call would pass them: an i32 or f32 is its low half
 * (the value modulo its width, the upper half zero). */
static void slots_normalize(const uint8_t *types, uint32_t n, uint64_t *slots)
{
    for (uint32_t i = 0; i < n; i++) {
        if (types[i] == SPRY_I32 || types[i] == SPRY_F32)
            slots[i] = (uint32_t)slots[i];
    }
}

static int lifted_run(const struct canon_lifted *l, struct canon_cx *cx, struct spry_func *core,
                      const struct cval *args, struct cval *result)
{
    const struct cfunctype *ft = l->type;
    const struct layout_corefunc *cf = &l->flat;
    uint64_t slots[LAYOUT_MAX_FLAT_PARAMS + 1];
    struct canon_flat out = {slots, cf->nparams, 0};
    int rc = 0;
    if (ft->nparams != 0) /* (run, handle: no arguments to lower) */
        rc = canon_lower_values_via(cx, ft->nparams, ft->params, args,
                                    cf->params_in_memory ? &cf->params_block : NULL, NULL, &out);
    if (rc != 0)
        return rc;
    SPRY_ASSERT(out.i == cf->nparams);

    /* The core function and post-return take and give raw slots: their
     * types were checked against cf when l was bound (canon_lifted_init),
     * or are checked here for others (canon_call_guest's). */
    if (core == NULL || (core != l->core_typed && !core_type_ok(core, cf)))
        return canon_trap(cx, "the core function's type does not match the lifted type");
    slots_normalize(cf->params, cf->nparams, slots);
    rc = runtime_call(core->store, core, slots, cx->trap);
    if (rc != 0)
        return rc;
    uint64_t rslots[LAYOUT_MAX_FLAT_RESULTS + 1];
    for (uint32_t i = 0; i < cf->nresults; i++)
        rslots[i] = cf->results[i] == SPRY_I32 || cf->results[i] == SPRY_F32 ? (uint32_t)slots[i]
                                                                             : slots[i];
    if (l->result_step == CANON_STEP_CASES && (uint32_t)rslots[0] < layout_ncases(ft->result)) {
        /* lift_flat_variant of a payload-less case; a discriminant out of
         * range takes the walker, which traps */
        memset(result, 0, sizeof *result);
        result->kind = ft->result->kind;
        result->of.var.disc = (uint32_t)rslots[0];
    } else if (ft->result != NULL) {
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
        struct spry_func *pr = cx->opts->post_return;
        if (pr != l->post_return_typed && !post_return_type_ok(pr, cf))
            return canon_trap(cx, "post-return does not take the function's core results");
        rc = runtime_call(pr->store, pr, rslots, cx->trap);
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

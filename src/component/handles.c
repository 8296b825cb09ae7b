/*
 * The handle table and the own/borrow rules (handles.h). Every check names
 * the handle index the guest used, so a trap message points at the bug.
 */
#include "component/handles.h"

#include "component/canon.h"

#include "base/alloc.h"
#include "base/assert.h"

#include <stdio.h>
#include <string.h>

void handles_init(struct handles *h, uint32_t max)
{
    memset(h, 0, sizeof *h);
    h->len = 1; /* index 0 is never a handle; v[0] exists once v does */
    h->max = max > HANDLES_MAX_SPEC ? HANDLES_MAX_SPEC : max;
}

void handles_fini(struct handles *h)
{
    spry_free(h->v);
    memset(h, 0, sizeof *h);
}

int handles_get(struct canon_cx *cx, uint32_t i, struct handle **out)
{
    struct handles *h = &cx->inst->handles;
    if (i == 0 || i >= h->len || h->v[i].rt == NULL)
        return canon_trap(cx, "unknown handle %u", i);
    *out = &h->v[i];
    return 0;
}

/* handles_add when a free index or spare capacity is at hand (nearly
 * always): false when the table must grow or is full. */
static inline bool add_fast(struct handles *h, const struct handle *e, uint32_t *index)
{
    uint32_t i = h->free_head;
    if (i != 0) {
        h->free_head = h->v[i].rep;
    } else {
        i = h->len;
        if (i > h->max || i >= h->cap)
            return false;
        h->len++;
    }
    h->v[i] = *e;
    h->live++;
    *index = i;
    return true;
}

int handles_add(struct canon_cx *cx, const struct handle *e, uint32_t *index)
{
    struct handles *h = &cx->inst->handles;
    SPRY_ASSERT(e->rt != NULL);
    if (add_fast(h, e, index))
        return 0;
    uint32_t i = h->free_head;
    if (i != 0) {
        h->free_head = h->v[i].rep;
    } else {
        i = h->len;
        if (i > h->max)
            return canon_trap(cx, "too many handles (at most %u)", h->max);
        if (i >= h->cap) {
            uint32_t cap = h->cap == 0 ? 16 : h->cap * 2;
            if (cap > h->max + 1)
                cap = h->max + 1;
            struct handle *v = spry_realloc_array(h->v, cap, sizeof *v);
            if (v == NULL)
                return canon_trap(cx, "out of memory for the handle table");
            if (h->cap == 0)
                memset(&v[0], 0, sizeof v[0]);
            h->v = v;
            h->cap = cap;
        }
        h->len++;
    }
    h->v[i] = *e;
    h->live++;
    *index = i;
    return 0;
}

/* Frees index i (its entry must be valid). */
static void handles_remove(struct handles *h, uint32_t i)
{
    h->v[i].rt = NULL;
    h->v[i].scope = NULL;
    h->v[i].rep = h->free_head;
    h->free_head = i;
    h->live--;
}

/* The resource type `resource` names in inst, or NULL when none. */
static inline const struct canon_rtype *rtype_at(const struct canon_inst *inst, uint32_t resource)
{
    return resource < inst->nrtypes ? inst->rtypes[resource] : NULL;
}

int handles_rtype(struct canon_cx *cx, uint32_t resource, const struct canon_rtype **out)
{
    const struct canon_rtype *rt = rtype_at(cx->inst, resource);
    if (rt == NULL)
        return canon_trap(cx, "resource type %u is not bound in this instance", resource);
    *out = rt;
    return 0;
}

/* The handle at index i when it holds a handle of the type t names, else
 * NULL: the lifts' common case, checked without a call; on NULL they run
 * the full checks (handles_rtype, get_typed), which say what is wrong. */
static inline struct handle *typed_fast(const struct canon_cx *cx, const struct ctype *t,
                                        uint32_t i)
{
    const struct canon_inst *inst = cx->inst;
    const struct canon_rtype *rt = rtype_at(inst, t->u.resource);
    if (i == 0 || i >= inst->handles.len || rt == NULL)
        return NULL;
    struct handle *e = &inst->handles.v[i];
    return e->rt == rt ? e : NULL;
}

static const char *rt_name(const struct canon_rtype *rt)
{
    return rt->name != NULL ? rt->name : "resource";
}

/* The handle at i, checked to be of type rt. */
static int get_typed(struct canon_cx *cx, const struct canon_rtype *rt, uint32_t i,
                     struct handle **out)
{
    int rc = handles_get(cx, i, out);
    if (rc != 0)
        return rc;
    if ((*out)->rt != rt) {
        const char *have = rt_name((*out)->rt), *want = rt_name(rt);
        if (strcmp(have, want) == 0) /* one component instantiated twice */
            return canon_trap(cx,
                              "handle %u is a %s of another component instance than the %s "
                              "expected",
                              i, have, want);
        return canon_trap(cx, "handle %u is a %s, not a %s", i, have, want);
    }
    return 0;
}

int handles_lift_own(struct canon_cx *cx, const struct ctype *t, uint32_t i, uint32_t *rep)
{
    struct handle *e = typed_fast(cx, t, i);
    if (e == NULL) {
        const struct canon_rtype *rt = NULL;
        int rc = handles_rtype(cx, t->u.resource, &rt);
        if (rc == 0)
            rc = get_typed(cx, rt, i, &e);
        if (rc != 0)
            return rc;
    }
    if (!e->own)
        return canon_trap(cx, "handle %u is a borrow where an own was expected", i);
    if (e->lends != 0)
        return canon_trap(cx, "handle %u is lent to a call and cannot be moved", i);
    *rep = e->rep;
    handles_remove(&cx->inst->handles, i);
    return 0;
}

/* handles_lift_borrow's general case: every check, and a lend list that
 * outgrew the scope's first slots. */
static __attribute__((noinline)) int lift_borrow_slow(struct canon_cx *cx, const struct ctype *t,
                                                      uint32_t i, uint32_t *rep)
{
    const struct canon_rtype *rt = NULL;
    struct handle *e = NULL;
    int rc = handles_rtype(cx, t->u.resource, &rt);
    if (rc == 0)
        rc = get_typed(cx, rt, i, &e);
    if (rc != 0)
        return rc;
    struct handles_scope *s = cx->scope;
    SPRY_ASSERT(s != NULL);
    if (s->caplent == 0) {
        s->lent = s->first;
        s->caplent = HANDLES_SCOPE_FIRST;
    } else if (s->nlent == s->caplent) {
        uint32_t cap = s->caplent * 2;
        uint32_t *lent = spry_arena_alloc_array(cx->arena, cap, sizeof *lent);
        if (lent == NULL)
            return canon_trap(cx, "out of memory lending handle %u", i);
        if (s->nlent > 0)
            memcpy(lent, s->lent, s->nlent * sizeof *lent);
        s->lent = lent;
        s->caplent = cap;
    }
    s->lent[s->nlent++] = i;
    e->lends++;
    *rep = e->rep;
    return 0;
}

/* The fast paths below make no calls but tail calls, so that they need no
 * stack frame: a host call lifts or lowers a handle or two every time. */
int handles_lift_borrow(struct canon_cx *cx, const struct ctype *t, uint32_t i, uint32_t *rep)
{
    struct handle *e = typed_fast(cx, t, i);
    struct handles_scope *s = cx->scope;
    if (e == NULL || s == NULL || s->nlent >= HANDLES_SCOPE_FIRST)
        return lift_borrow_slow(cx, t, i, rep);
    if (s->caplent == 0) {
        s->lent = s->first;
        s->caplent = HANDLES_SCOPE_FIRST;
    }
    s->lent[s->nlent++] = i;
    e->lends++;
    *rep = e->rep;
    return 0;
}

static __attribute__((noinline)) int lower_own_slow(struct canon_cx *cx, const struct ctype *t,
                                                    uint32_t rep, uint32_t *i)
{
    const struct canon_rtype *rt = NULL;
    int rc = handles_rtype(cx, t->u.resource, &rt);
    if (rc != 0)
        return rc;
    struct handle e = {rt, rep, 0, true, NULL};
    return handles_add(cx, &e, i);
}

int handles_lower_own(struct canon_cx *cx, const struct ctype *t, uint32_t rep, uint32_t *i)
{
    const struct canon_rtype *rt = rtype_at(cx->inst, t->u.resource);
    struct handle e = {rt, rep, 0, true, NULL};
    if (rt == NULL || !add_fast(&cx->inst->handles, &e, i))
        return lower_own_slow(cx, t, rep, i);
    return 0;
}

int handles_lower_borrow(struct canon_cx *cx, const struct ctype *t, uint32_t rep, uint32_t *i)
{
    const struct canon_rtype *rt = NULL;
    int rc = handles_rtype(cx, t->u.resource, &rt);
    if (rc != 0)
        return rc;
    /* The implementation of a resource sees its own representation. */
    if (rt->impl == cx->inst) {
        *i = rep;
        return 0;
    }
    SPRY_ASSERT(cx->scope != NULL);
    struct handle e = {rt, rep, 0, false, cx->scope};
    rc = handles_add(cx, &e, i);
    if (rc == 0)
        cx->scope->nborrows++;
    return rc;
}

void handles_scope_end(struct canon_cx *cx, struct handles_scope *scope)
{
    struct handles *h = &cx->inst->handles;
    for (uint32_t k = 0; k < scope->nlent; k++) {
        struct handle *e = &h->v[scope->lent[k]];
        SPRY_ASSERT(e->rt != NULL && e->lends > 0);
        e->lends--;
    }
    scope->nlent = 0;
}

void handles_scope_abandon(struct handles *h, const struct handles_scope *scope)
{
    for (uint32_t i = 1; i < h->len; i++)
        if (h->v[i].rt != NULL && h->v[i].scope == scope)
            h->v[i].scope = NULL;
}

/* ---- canon resource.new / resource.rep / resource.drop ------------------------ */

int handles_resource_new(struct canon_cx *cx, const struct canon_rtype *rt, uint32_t rep,
                         uint32_t *index)
{
    if (!cx->inst->may_leave)
        return canon_trap(cx, "resource.new is not allowed here (in realloc or post-return)");
    struct handle e = {rt, rep, 0, true, NULL};
    return handles_add(cx, &e, index);
}

int handles_resource_rep(struct canon_cx *cx, const struct canon_rtype *rt, uint32_t index,
                         uint32_t *rep)
{
    struct handle *e = NULL;
    int rc = get_typed(cx, rt, index, &e);
    if (rc != 0)
        return rc;
    *rep = e->rep;
    return 0;
}

/* The host's drop of a host resource's representation (rt->host->drop
 * not NULL). */
static void host_drop(struct canon_inst *inst, struct spry_instance *caller,
                      const struct canon_rtype *rt, uint32_t rep)
{
    struct spry_arena arena;
    spry_arena_init(&arena, inst->arena_limit);
    struct ccall call = {
        .arena = &arena, .inst = inst->cinst, .store = inst->store, .caller = caller};
    rt->host->drop(&call, rep);
    spry_arena_fini(&arena);
}

/* Destroys the resource an own handle owned. */
static int destroy(struct canon_cx *cx, const struct canon_rtype *rt, uint32_t rep)
{
    if (rt->host != NULL) {
        if (rt->host->drop != NULL)
            host_drop(cx->inst, cx->caller, rt, rep);
        return 0;
    }
    /* CanonicalABI.md (0.2), canon resource.drop: an instance dropping a
     * resource another instance defines must not re-enter that one while
     * it is on the stack (or trapped), destructor or not. */
    if (rt->impl != NULL && rt->impl != cx->inst && !rt->impl->may_enter)
        return canon_trap(cx,
                          "cannot enter the component instance that defines %s to destroy "
                          "it (it is running or trapped)",
                          rt_name(rt));
    if (rt->dtor == NULL)
        return 0;
    struct spry_val arg = {.type = SPRY_I32, .of.i32 = (int32_t)rep};
    int rc = spry_func_call(rt->dtor, &arg, 1, NULL, 0, cx->trap);
    if (rc == SPRY_EINVAL)
        return canon_trap(cx, "the destructor of %s is not (i32) -> ()", rt_name(rt));
    return rc;
}

int handles_resource_drop(struct canon_cx *cx, const struct canon_rtype *rt, uint32_t index)
{
    if (!cx->inst->may_leave)
        return canon_trap(cx, "resource.drop is not allowed here (in realloc or post-return)");
    struct handle *e = NULL;
    int rc = get_typed(cx, rt, index, &e);
    if (rc != 0)
        return rc;
    if (e->lends != 0)
        return canon_trap(cx, "handle %u is lent to a call and cannot be dropped", index);
    struct handle h = *e;
    handles_remove(&cx->inst->handles, index);
    if (h.own)
        return destroy(cx, rt, h.rep);
    if (h.scope == NULL)
        return canon_trap(cx, "borrow handle %u outlived the call it was lent for", index);
    SPRY_ASSERT(h.scope->nborrows > 0);
    h.scope->nborrows--;
    return 0;
}

/* ---- the built-ins as core functions ------------------------------------------ */

static void builtin_cx(struct canon_cx *cx, const struct handles_builtin *b,
                       struct spry_instance *caller)
{
    canon_cx_init(cx, NULL, b->inst, NULL, NULL, caller, false);
}

/* Passes a check's message to the engine, prefixed with the built-in. */
static int builtin_done(struct canon_cx *cx, int rc, const char *what, const struct canon_rtype *rt)
{
    if (rc == SPRY_ETRAP && cx->report.code != 0 && cx->caller != NULL) {
        char name[96], msg[256];
        snprintf(name, sizeof name, "%s %s", what, rt_name(rt));
        canon_join_message(msg, sizeof msg, name, cx->report.message);
        spry_instance_set_trap_message(cx->caller, msg);
    }
    return rc;
}

int handles_resource_new_fn(void *user, struct spry_instance *caller, uint64_t *slots)
{
    const struct handles_builtin *b = user;
    struct canon_cx cx;
    builtin_cx(&cx, b, caller);
    uint32_t index;
    int rc = handles_resource_new(&cx, b->rt, (uint32_t)slots[0], &index);
    if (rc == 0)
        slots[0] = index;
    return builtin_done(&cx, rc, "resource.new", b->rt);
}

int handles_resource_rep_fn(void *user, struct spry_instance *caller, uint64_t *slots)
{
    const struct handles_builtin *b = user;
    struct canon_cx cx;
    builtin_cx(&cx, b, caller);
    uint32_t rep;
    int rc = handles_resource_rep(&cx, b->rt, (uint32_t)slots[0], &rep);
    if (rc == 0)
        slots[0] = rep;
    return builtin_done(&cx, rc, "resource.rep", b->rt);
}

int handles_resource_drop_fn(void *user, struct spry_instance *caller, uint64_t *slots)
{
    const struct handles_builtin *b = user;
    /* The common drop, an own handle of a host resource that is not lent,
     * passes every check handles_resource_drop makes (in its order): done
     * here without a context. Anything else takes the checks, which say
     * what is wrong. */
    struct canon_inst *inst = b->inst;
    const struct canon_rtype *rt = b->rt;
    struct handles *h = &inst->handles;
    uint32_t i = (uint32_t)slots[0];
    if (inst->may_leave && rt != NULL && rt->host != NULL && i != 0 && i < h->len &&
        h->v[i].rt == rt && h->v[i].own && h->v[i].lends == 0) {
        uint32_t rep = h->v[i].rep;
        handles_remove(h, i);
        if (rt->host->drop != NULL)
            host_drop(inst, caller, rt, rep);
        return 0;
    }
    struct canon_cx cx;
    builtin_cx(&cx, b, caller);
    int rc = handles_resource_drop(&cx, b->rt, (uint32_t)slots[0]);
    return builtin_done(&cx, rc, "resource.drop", b->rt);
}

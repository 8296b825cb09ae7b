/*
 * Resource handles: the table's index rules, own and borrow, lending, the
 * resource built-ins and their destructors, from CanonicalABI.md's Table,
 * lift_own/lift_borrow/lower_own/lower_borrow and canon resource.*.
 */
#include "canon_fixture.h"
#include "cbuild.h"
#include "harness/test.h"

#include <string.h>

enum { STREAM = 0, FIELDS = 1, THING = 2 };

static uint32_t lower_own(uint32_t resource, uint32_t rep)
{
    uint32_t i;
    ASSERT_OK(handles_lower_own(&fx.cx, cb_own(resource), rep, &i));
    return i;
}

static struct handle *entry(uint32_t i)
{
    ASSERT_LT_UINT(i, fx.inst.handles.len);
    return &fx.inst.handles.v[i];
}

TEST(component_handles, indices_start_at_one_and_reuse_last_freed_first)
{
    fx_init(CANON_UTF8);
    ASSERT_EQ_UINT(lower_own(STREAM, 10), 1);
    ASSERT_EQ_UINT(lower_own(STREAM, 20), 2);
    ASSERT_EQ_UINT(lower_own(FIELDS, 30), 3);
    uint32_t rep;
    ASSERT_OK(handles_lift_own(&fx.cx, cb_own(STREAM), 2, &rep));
    ASSERT_EQ_UINT(rep, 20);
    ASSERT_OK(handles_lift_own(&fx.cx, cb_own(FIELDS), 3, &rep));
    ASSERT_EQ_UINT(rep, 30);
    /* The free list is a stack: 3 was freed last. */
    ASSERT_EQ_UINT(lower_own(STREAM, 40), 3);
    ASSERT_EQ_UINT(lower_own(STREAM, 50), 2);
    ASSERT_EQ_UINT(lower_own(STREAM, 60), 4);
    /* Index 0 is never a handle; nor is one past the end. */
    fx_expect_trap(handles_lift_own(&fx.cx, cb_own(STREAM), 0, &rep), "unknown handle 0");
    fx_expect_trap(handles_lift_own(&fx.cx, cb_own(STREAM), 5, &rep), "unknown handle 5");
    fx_fini();
}

TEST(component_handles, lifting_an_own_moves_it_out)
{
    fx_init(CANON_UTF8);
    uint32_t i = lower_own(STREAM, 7), rep;
    ASSERT_OK(handles_lift_own(&fx.cx, cb_own(STREAM), i, &rep));
    ASSERT_EQ_UINT(rep, 7);
    fx_expect_trap(handles_lift_own(&fx.cx, cb_own(STREAM), i, &rep), "unknown handle 1");
    fx_expect_trap(handles_lift_borrow(&fx.cx, cb_borrow(STREAM), i, &rep), "unknown handle 1");
    ASSERT_EQ_UINT(fx.ndropped, 0); /* moved, not destroyed */
    fx_fini();
}

TEST(component_handles, resource_type_must_match)
{
    fx_init(CANON_UTF8);
    uint32_t i = lower_own(STREAM, 7), rep;
    fx_expect_trap(handles_lift_own(&fx.cx, cb_own(FIELDS), i, &rep),
                   "handle 1 is a stream, not a fields");
    fx_expect_trap(handles_lift_borrow(&fx.cx, cb_borrow(FIELDS), i, &rep),
                   "handle 1 is a stream, not a fields");
    fx_expect_trap(handles_resource_drop(&fx.cx, &fx.rtypes[FIELDS], i),
                   "handle 1 is a stream, not a fields");
    fx_expect_trap(handles_resource_rep(&fx.cx, &fx.rtypes[THING], i, &rep),
                   "handle 1 is a stream, not a thing");
    /* A resource index outside the instance's space. */
    fx_expect_trap(handles_lift_own(&fx.cx, cb_own(9), i, &rep),
                   "resource type 9 is not bound in this instance");
    ASSERT_OK(handles_lift_own(&fx.cx, cb_own(STREAM), i, &rep));
    fx_fini();
}

TEST(component_handles, lending_blocks_moving_and_dropping_until_the_call_ends)
{
    fx_init(CANON_UTF8);
    uint32_t i = lower_own(STREAM, 7), rep;
    /* Passing it twice as borrow<stream> to one call lends it twice. */
    ASSERT_OK(handles_lift_borrow(&fx.cx, cb_borrow(STREAM), i, &rep));
    ASSERT_OK(handles_lift_borrow(&fx.cx, cb_borrow(STREAM), i, &rep));
    ASSERT_EQ_UINT(rep, 7);
    ASSERT_EQ_UINT(entry(i)->lends, 2);
    fx_expect_trap(handles_lift_own(&fx.cx, cb_own(STREAM), i, &rep),
                   "handle 1 is lent to a call and cannot be moved");
    fx_expect_trap(handles_resource_drop(&fx.cx, &fx.rtypes[STREAM], i),
                   "handle 1 is lent to a call and cannot be dropped");
    handles_scope_end(&fx.cx, &fx.scope);
    ASSERT_EQ_UINT(entry(i)->lends, 0);
    ASSERT_OK(handles_resource_drop(&fx.cx, &fx.rtypes[STREAM], i));
    ASSERT_EQ_UINT(fx.ndropped, 1);
    ASSERT_EQ_UINT(fx.dropped[0], 7);
    fx_fini();
}

TEST(component_handles, lending_many_handles_grows_the_scope)
{
    fx_init(CANON_UTF8);
    uint32_t rep;
    for (uint32_t k = 0; k < 100; k++)
        lower_own(FIELDS, k);
    for (uint32_t k = 1; k <= 100; k++)
        ASSERT_OK(handles_lift_borrow(&fx.cx, cb_borrow(FIELDS), k, &rep));
    ASSERT_EQ_UINT(fx.scope.nlent, 100);
    /* Past the scope's own room, every lend was kept in order. */
    for (uint32_t k = 1; k <= 100; k++) {
        ASSERT_EQ_UINT(fx.scope.lent[k - 1], k);
        ASSERT_EQ_UINT(entry(k)->lends, 1);
    }
    handles_scope_end(&fx.cx, &fx.scope);
    for (uint32_t k = 1; k <= 100; k++)
        ASSERT_EQ_UINT(entry(k)->lends, 0);
    fx_fini();
}

TEST(component_handles, double_drop_traps)
{
    fx_init(CANON_UTF8);
    uint32_t i = lower_own(STREAM, 5);
    ASSERT_OK(handles_resource_drop(&fx.cx, &fx.rtypes[STREAM], i));
    fx_expect_trap(handles_resource_drop(&fx.cx, &fx.rtypes[STREAM], i), "unknown handle 1");
    ASSERT_EQ_UINT(fx.ndropped, 1);
    /* A host resource without a drop function is simply forgotten. */
    i = lower_own(FIELDS, 6);
    ASSERT_OK(handles_resource_drop(&fx.cx, &fx.rtypes[FIELDS], i));
    ASSERT_EQ_UINT(fx.ndropped, 1);
    fx_fini();
}

TEST(component_handles, borrows_lowered_into_a_callee_must_be_dropped)
{
    fx_init(CANON_UTF8);
    uint32_t b1, b2;
    ASSERT_OK(handles_lower_borrow(&fx.cx, cb_borrow(STREAM), 70, &b1));
    ASSERT_OK(handles_lower_borrow(&fx.cx, cb_borrow(STREAM), 71, &b2));
    ASSERT_EQ_UINT(fx.scope.nborrows, 2);
    ASSERT_FALSE(entry(b1)->own);
    uint32_t rep;
    ASSERT_OK(handles_resource_rep(&fx.cx, &fx.rtypes[STREAM], b2, &rep));
    ASSERT_EQ_UINT(rep, 71);
    /* A borrow is not an own. */
    fx_expect_trap(handles_lift_own(&fx.cx, cb_own(STREAM), b1, &rep),
                   "handle 1 is a borrow where an own was expected");
    /* Dropping a borrow ends it and destroys nothing. */
    ASSERT_OK(handles_resource_drop(&fx.cx, &fx.rtypes[STREAM], b1));
    ASSERT_EQ_UINT(fx.scope.nborrows, 1);
    ASSERT_EQ_UINT(fx.ndropped, 0);
    /* After a trap the scope is abandoned: the borrow left cannot be used
     * to reach it. */
    handles_scope_abandon(&fx.inst.handles, &fx.scope);
    fx_expect_trap(handles_resource_drop(&fx.cx, &fx.rtypes[STREAM], b2),
                   "borrow handle 2 outlived the call it was lent for");
    fx_fini();
}

TEST(component_handles, an_implementation_borrows_its_own_rep)
{
    fx_init(CANON_UTF8);
    /* THING is defined by this instance: borrow<thing> lowers to the rep. */
    uint32_t i;
    ASSERT_OK(handles_lower_borrow(&fx.cx, cb_borrow(THING), 1234, &i));
    ASSERT_EQ_UINT(i, 1234);
    ASSERT_EQ_UINT(fx.scope.nborrows, 0);
    ASSERT_EQ_UINT(fx.inst.handles.len, 1);
    fx_fini();
}

TEST(component_handles, resource_new_rep_drop_run_the_destructor)
{
    fx_init(CANON_UTF8);
    const struct canon_rtype *thing = &fx.rtypes[THING];
    uint32_t a, b, rep;
    ASSERT_OK(handles_resource_new(&fx.cx, thing, 42, &a));
    ASSERT_OK(handles_resource_new(&fx.cx, thing, 43, &b));
    ASSERT_EQ_UINT(a, 1);
    ASSERT_EQ_UINT(b, 2);
    ASSERT_OK(handles_resource_rep(&fx.cx, thing, b, &rep));
    ASSERT_EQ_UINT(rep, 43);
    ASSERT_OK(handles_resource_drop(&fx.cx, thing, a));
    ASSERT_EQ_UINT(fx.ndropped, 1);
    ASSERT_EQ_UINT(fx.dropped[0], 1042); /* the dtor logs 1000 + rep */
    fx_expect_trap(handles_resource_rep(&fx.cx, thing, a, &rep), "unknown handle 1");
    /* Not while the instance may not leave (inside realloc or post-return). */
    fx.inst.may_leave = false;
    fx_expect_trap(handles_resource_new(&fx.cx, thing, 1, &a),
                   "resource.new is not allowed here (in realloc or post-return)");
    fx_expect_trap(handles_resource_drop(&fx.cx, thing, b),
                   "resource.drop is not allowed here (in realloc or post-return)");
    fx.inst.may_leave = true;
    fx_fini();
}

TEST(component_handles, builtins_as_core_functions)
{
    fx_init(CANON_UTF8);
    struct handles_builtin b = {&fx.inst, &fx.rtypes[THING]};
    uint64_t slots[1] = {77};
    ASSERT_OK(handles_resource_new_fn(&b, NULL, slots));
    ASSERT_EQ_UINT(slots[0], 1);
    ASSERT_OK(handles_resource_rep_fn(&b, NULL, slots));
    ASSERT_EQ_UINT(slots[0], 77);
    slots[0] = 1;
    ASSERT_OK(handles_resource_drop_fn(&b, NULL, slots));
    ASSERT_EQ_UINT(fx.dropped[0], 1077);
    slots[0] = 1;
    ASSERT_EQ_INT(handles_resource_drop_fn(&b, NULL, slots), SPRY_ETRAP);
    fx_fini();
}

/* The drop built-in's fast path (an own handle of a host resource, not
 * lent) and the checks it leaves to handles_resource_drop. */
TEST(component_handles, drop_builtin_of_a_host_resource)
{
    fx_init(CANON_UTF8);
    struct handles_builtin b = {&fx.inst, &fx.rtypes[STREAM]};
    uint64_t slots[1];
    uint32_t i = lower_own(STREAM, 41), j = lower_own(STREAM, 42);
    slots[0] = i;
    ASSERT_OK(handles_resource_drop_fn(&b, NULL, slots));
    ASSERT_EQ_UINT(fx.ndropped, 1);
    ASSERT_EQ_UINT(fx.dropped[0], 41);
    ASSERT_TRUE(entry(i)->rt == NULL);
    ASSERT_EQ_UINT(fx.inst.handles.live, 1);
    /* Gone: a second drop traps, and the freed index is reused first. */
    slots[0] = i;
    ASSERT_EQ_INT(handles_resource_drop_fn(&b, NULL, slots), SPRY_ETRAP);
    ASSERT_EQ_UINT(lower_own(STREAM, 43), i);
    /* A lent handle, a handle of another type, a borrow, index 0 and one
     * past the end: not dropped (the checks trap), nothing destroyed. */
    uint32_t rep;
    ASSERT_OK(handles_lift_borrow(&fx.cx, cb_borrow(STREAM), j, &rep));
    slots[0] = j;
    ASSERT_EQ_INT(handles_resource_drop_fn(&b, NULL, slots), SPRY_ETRAP);
    handles_scope_end(&fx.cx, &fx.scope);
    uint32_t f = lower_own(FIELDS, 44);
    slots[0] = f;
    ASSERT_EQ_INT(handles_resource_drop_fn(&b, NULL, slots), SPRY_ETRAP);
    uint32_t k;
    ASSERT_OK(handles_lower_borrow(&fx.cx, cb_borrow(STREAM), 45, &k));
    slots[0] = k;
    ASSERT_OK(handles_resource_drop_fn(&b, NULL, slots)); /* ends the borrow */
    ASSERT_EQ_UINT(fx.scope.nborrows, 0);
    slots[0] = 0;
    ASSERT_EQ_INT(handles_resource_drop_fn(&b, NULL, slots), SPRY_ETRAP);
    slots[0] = fx.inst.handles.len;
    ASSERT_EQ_INT(handles_resource_drop_fn(&b, NULL, slots), SPRY_ETRAP);
    ASSERT_EQ_UINT(fx.ndropped, 1);
    /* Not while the instance may not leave (in realloc or post-return). */
    fx.inst.may_leave = false;
    slots[0] = j;
    ASSERT_EQ_INT(handles_resource_drop_fn(&b, NULL, slots), SPRY_ETRAP);
    fx.inst.may_leave = true;
    ASSERT_TRUE(entry(j)->rt == &fx.rtypes[STREAM]);
    slots[0] = j;
    ASSERT_OK(handles_resource_drop_fn(&b, NULL, slots));
    ASSERT_EQ_UINT(fx.ndropped, 2);
    ASSERT_EQ_UINT(fx.dropped[1], 42);
    /* A host resource without a drop function is forgotten. */
    struct handles_builtin bf = {&fx.inst, &fx.rtypes[FIELDS]};
    slots[0] = f;
    ASSERT_OK(handles_resource_drop_fn(&bf, NULL, slots));
    ASSERT_EQ_UINT(fx.ndropped, 2);
    ASSERT_EQ_UINT(fx.inst.handles.live, 1); /* 43 */
    fx_fini();
}

/* handles.live counts the entries that hold a handle, so that a reset
 * whose guest left nothing skips the table. */
TEST(component_handles, live_counts_handles_and_reset_after_everything_was_dropped)
{
    fx_init(CANON_UTF8);
    ASSERT_EQ_UINT(fx.inst.handles.live, 0);
    uint32_t a = lower_own(STREAM, 1), b = lower_own(STREAM, 2), rep;
    uint32_t c;
    ASSERT_OK(handles_lower_borrow(&fx.cx, cb_borrow(STREAM), 3, &c));
    ASSERT_EQ_UINT(fx.inst.handles.live, 3);
    ASSERT_OK(handles_lift_own(&fx.cx, cb_own(STREAM), a, &rep));    /* moved */
    ASSERT_OK(handles_resource_drop(&fx.cx, &fx.rtypes[STREAM], c)); /* borrow ended */
    ASSERT_EQ_UINT(fx.inst.handles.live, 1);
    ASSERT_OK(handles_resource_drop(&fx.cx, &fx.rtypes[STREAM], b));
    ASSERT_EQ_UINT(fx.inst.handles.live, 0);
    ASSERT_EQ_UINT(fx.ndropped, 1);
    canon_inst_reset(&fx.inst); /* nothing left to drop */
    ASSERT_EQ_UINT(fx.ndropped, 1);
    ASSERT_EQ_UINT(fx.inst.handles.len, 1);
    /* The next request counts from zero again and its leftovers are
     * dropped at its reset. */
    fx_new_cx(true);
    ASSERT_EQ_UINT(lower_own(STREAM, 4), 1);
    ASSERT_EQ_UINT(fx.inst.handles.live, 1);
    canon_inst_reset(&fx.inst);
    ASSERT_EQ_UINT(fx.ndropped, 2);
    ASSERT_EQ_UINT(fx.dropped[1], 4);
    ASSERT_EQ_UINT(fx.inst.handles.live, 0);
    fx_fini();
}

TEST(component_handles, the_table_has_a_maximum)
{
    fx_init(CANON_UTF8);
    canon_inst_fini(&fx.inst);
    ASSERT_OK(canon_inst_init(&fx.inst, fx.store, NULL, fx.rtype_ptrs, 3, 3));
    fx_new_cx(true);
    ASSERT_EQ_UINT(lower_own(FIELDS, 1), 1);
    ASSERT_EQ_UINT(lower_own(FIELDS, 2), 2);
    ASSERT_EQ_UINT(lower_own(FIELDS, 3), 3);
    uint32_t i;
    fx_expect_trap(handles_lower_own(&fx.cx, cb_own(FIELDS), 4, &i),
                   "too many handles (at most 3)");
    /* A freed index can be used again. */
    uint32_t rep;
    ASSERT_OK(handles_lift_own(&fx.cx, cb_own(FIELDS), 2, &rep));
    ASSERT_EQ_UINT(lower_own(FIELDS, 5), 2);
    fx_fini();
}

TEST(component_handles, fini_drops_what_the_guest_still_owns_newest_first)
{
    fx_init(CANON_UTF8);
    lower_own(STREAM, 1);
    lower_own(STREAM, 2);
    uint32_t b;
    ASSERT_OK(handles_lower_borrow(&fx.cx, cb_borrow(STREAM), 3, &b)); /* not owned */
    lower_own(STREAM, 4);
    uint32_t t;
    ASSERT_OK(handles_resource_new(&fx.cx, &fx.rtypes[THING], 5, &t)); /* guest's: no dtor */
    canon_inst_fini(&fx.inst);
    ASSERT_EQ_UINT(fx.ndropped, 3);
    ASSERT_EQ_UINT(fx.dropped[0], 4);
    ASSERT_EQ_UINT(fx.dropped[1], 2);
    ASSERT_EQ_UINT(fx.dropped[2], 1);
    /* fx_fini finishes an empty instance again: harmless. */
    ASSERT_OK(canon_inst_init(&fx.inst, fx.store, NULL, fx.rtype_ptrs, 3, 0));
    fx_fini();
}

TEST(component_handles, reset_drops_owns_and_serves_the_next_request_from_the_same_table)
{
    fx_init(CANON_UTF8);
    lower_own(STREAM, 1);
    lower_own(FIELDS, 2);
    lower_own(STREAM, 3);
    uint32_t rep;
    ASSERT_OK(handles_lift_own(&fx.cx, cb_own(FIELDS), 2, &rep)); /* index 2 goes free */
    const struct handle *storage = fx.inst.handles.v;
    fx.inst.may_enter = false; /* as a trapped request leaves it */
    fx.inst.may_leave = false;
    canon_inst_reset(&fx.inst);
    ASSERT_EQ_UINT(fx.ndropped, 2);
    ASSERT_EQ_UINT(fx.dropped[0], 3);
    ASSERT_EQ_UINT(fx.dropped[1], 1);
    ASSERT_TRUE(fx.inst.may_enter);
    ASSERT_TRUE(fx.inst.may_leave);
    /* The next request: nothing of the last one is reachable, numbering
     * starts again at 1 (not at the freed 2), in the same storage. */
    fx_new_cx(true);
    uint32_t i;
    fx_expect_trap(handles_lift_own(&fx.cx, cb_own(STREAM), 1, &rep), "unknown handle 1");
    fx_expect_trap(handles_lift_own(&fx.cx, cb_own(STREAM), 3, &rep), "unknown handle 3");
    ASSERT_EQ_UINT(lower_own(STREAM, 7), 1);
    ASSERT_EQ_UINT(lower_own(STREAM, 8), 2);
    ASSERT_TRUE(fx.inst.handles.v == storage);
    ASSERT_OK(handles_lift_own(&fx.cx, cb_own(STREAM), 2, &rep));
    ASSERT_EQ_UINT(rep, 8);
    ASSERT_OK(handles_lower_own(&fx.cx, cb_own(STREAM), 9, &i));
    ASSERT_EQ_UINT(i, 2);
    canon_inst_reset(&fx.inst); /* drops 9 then 7 */
    ASSERT_EQ_UINT(fx.ndropped, 4);
    ASSERT_EQ_UINT(fx.dropped[2], 9);
    ASSERT_EQ_UINT(fx.dropped[3], 7);
    fx_fini();
}

TEST(component_handles, own_and_borrow_through_load_and_store)
{
    fx_init(CANON_UTF8);
    /* tuple<own<stream>, borrow<fields>> stored then loaded. */
    const struct ctype *t = cb_tuple(2, cb_own(STREAM), cb_borrow(FIELDS));
    struct cval v = cv_record(CT_TUPLE, 2, cv_rep(CT_OWN, 11), cv_rep(CT_BORROW, 12));
    ASSERT_OK(canon_store(&fx.cx, t, &v, 0x100));
    ASSERT_EQ_UINT(fx_get32(0x100), 1);
    ASSERT_EQ_UINT(fx_get32(0x104), 2);
    ASSERT_EQ_UINT(fx.scope.nborrows, 1);
    struct cval back;
    ASSERT_OK(canon_load(&fx.cx, t, 0x100, &back));
    ASSERT_EQ_UINT(back.of.list.v[0].of.rep, 11);
    ASSERT_EQ_UINT(back.of.list.v[1].of.rep, 12);
    ASSERT_EQ_UINT(entry(2)->lends, 1);
    /* The own moved out. */
    fx_expect_trap(canon_load(&fx.cx, t, 0x100, &back), "unknown handle 1");
    fx_fini();
}

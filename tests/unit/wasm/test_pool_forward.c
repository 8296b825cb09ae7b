/* Forwarders in linked groups (prepared.c, "Forwarders"): with
 * spry_link_options.bind_forwarders, an import that is a shim module's
 * forwarder to a constant table element is bound to the element's function;
 * without the option, or when some member's code may write the table, or
 * when call_indirect would trap, the import stays the forwarder. */
#include "harness/test.h"
#include "wat.h"

#include "spry/pool.h"
#include "wasm/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Member 0: forwarders to the elements of its table (slot 2 is never
 * filled; "wrong" reads slot 0, which holds a function of another type;
 * "swapped" passes its arguments in another order, so it is no forwarder). */
static const char *const SHIM =
    "(module\n"
    "  (table (export \"t\") 4 4 funcref)\n"
    "  (func (export \"double\") (param i32) (result i32)\n"
    "    (call_indirect (param i32) (result i32) (local.get 0) (i32.const 0)))\n"
    "  (func (export \"seven\") (result i32) (call_indirect (result i32) (i32.const 1)))\n"
    "  (func (export \"empty\") (result i32) (call_indirect (result i32) (i32.const 2)))\n"
    "  (func (export \"wrong\") (result i32) (call_indirect (result i32) (i32.const 0)))\n"
    "  (func (export \"swapped\") (param i32 i32) (result i32)\n"
    "    (call_indirect (param i32 i32) (result i32)\n"
    "      (local.get 1) (local.get 0) (i32.const 3))))\n";

/* Member 1: calls every forwarder. */
static const char *const MAIN =
    "(module\n"
    "  (import \"shim\" \"double\" (func $double (param i32) (result i32)))\n"
    "  (import \"shim\" \"seven\" (func $seven (result i32)))\n"
    "  (import \"shim\" \"empty\" (func $empty (result i32)))\n"
    "  (import \"shim\" \"wrong\" (func $wrong (result i32)))\n"
    "  (import \"shim\" \"swapped\" (func $swapped (param i32 i32) (result i32)))\n"
    "  (func (export \"twice\") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))\n"
    "  (func (export \"sub\") (param i32 i32) (result i32) (i32.sub (local.get 0) (local.get 1)))\n"
    "  (func (export \"c_double\") (param i32) (result i32) (call $double (local.get 0)))\n"
    "  (func (export \"c_seven\") (param i32) (result i32) (call $seven))\n"
    "  (func (export \"c_empty\") (param i32) (result i32) (call $empty))\n"
    "  (func (export \"c_wrong\") (param i32) (result i32) (call $wrong))\n"
    "  (func (export \"c_swapped\") (param i32) (result i32)\n"
    "    (call $swapped (local.get 0) (i32.const 3))))\n";

/* Member 2: fills slots 0, 1 and 3 with an active segment; `%s` is an
 * extra function (a table writer, or nothing). */
static const char *const FIXUP_FMT =
    "(module\n"
    "  (import \"main\" \"twice\" (func $twice (param i32) (result i32)))\n"
    "  (import \"host\" \"seven\" (func $seven (result i32)))\n"
    "  (import \"shim\" \"t\" (table $t 4 4 funcref))\n"
    "  (import \"main\" \"sub\" (func $sub (param i32 i32) (result i32)))\n"
    "  (elem (i32.const 0) func $twice $seven)\n"
    "  (elem (i32.const 3) func $sub)\n"
    "  (elem $passive func $twice)\n"
    "  (func $eight (result i32) (i32.const 8))\n"
    "  (elem declare func $eight)\n"
    "  %s)\n";

/* The host function the shim's slot 1 holds: records who called it. */
static struct spry_instance *seven_caller;
static int host_seven(void *user, struct spry_instance *caller, uint64_t *slots)
{
    (void)user;
    seven_caller = caller;
    slots[0] = 7;
    return 0;
}

static const struct spry_host_def SEVEN = {
    "host", "seven", {0, 1, NULL, (const uint8_t[]){SPRY_I32}}, host_seven, NULL};

#define EXPORT(member, name)                                                      \
    {                                                                             \
        .kind = SPRY_LINK_EXPORT, .of.exp = {(member), (name), sizeof(name) - 1 } \
    }

static const struct spry_link_import MAIN_IMPORTS[] = {EXPORT(0, "double"), EXPORT(0, "seven"),
                                                       EXPORT(0, "empty"), EXPORT(0, "wrong"),
                                                       EXPORT(0, "swapped")};
static const struct spry_link_import FIXUP_IMPORTS[] = {
    EXPORT(1, "twice"),
    {.kind = SPRY_LINK_HOST_FUNC, .of.func = &SEVEN},
    EXPORT(0, "t"),
    EXPORT(1, "sub")};

struct fgroup {
    struct spry_module *mods[3];
    struct spry_pool *pool;
    struct spry_prepared *p;
    struct spry_instance *inst, *shim, *main, *fix;
};

/* Prepares the group with `extra` in the fixup and acquires it. */
static void fgroup_open(struct fgroup *g, const char *extra, bool bind)
{
    char fix[2048];
    snprintf(fix, sizeof fix, FIXUP_FMT, extra);
    g->mods[0] = wat_load(SHIM);
    g->mods[1] = wat_load(MAIN);
    g->mods[2] = wat_load(fix);
    struct spry_link_member members[3] = {
        {g->mods[0], NULL}, {g->mods[1], MAIN_IMPORTS}, {g->mods[2], FIXUP_IMPORTS}};
    struct spry_pool_config config;
    spry_pool_config_init(&config);
    config.slots = 1;
    config.max_memory_bytes = 16 << 20;
    ASSERT_OK(spry_pool_create(&config, &g->pool, NULL));
    struct spry_report report;
    spry_report_init(&report);
    struct spry_link_options opts = {.bind_forwarders = bind};
    int rc = spry_prepared_create_linked(g->pool, members, 3, &opts, &g->p, &report);
    if (rc != 0)
        fprintf(stderr, "%s\n", report.message);
    ASSERT_OK(rc);
    ASSERT_OK(spry_pool_acquire(g->p, &g->inst, NULL, NULL));
    g->shim = spry_pool_member(g->inst, 0);
    g->main = spry_pool_member(g->inst, 1);
    g->fix = spry_pool_member(g->inst, 2);
}

static void fgroup_close(struct fgroup *g)
{
    spry_pool_release(g->inst);
    spry_prepared_destroy(g->p);
    spry_pool_destroy(g->pool);
    for (int i = 0; i < 3; i++)
        spry_module_destroy(g->mods[i]);
}

static int32_t call_ok(struct spry_instance *inst, const char *name, int32_t arg)
{
    int32_t r;
    struct spry_trap trap;
    int rc = call_i32(inst, name, arg, &r, &trap);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", name, trap.message);
    ASSERT_OK(rc);
    return r;
}

static void call_traps(struct spry_instance *inst, const char *name, int kind)
{
    int32_t r;
    struct spry_trap trap;
    ASSERT_EQ_INT(call_i32(inst, name, 0, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, kind);
}

/* Every call gives what the table gives, bound or not. */
static void check_calls(struct fgroup *g)
{
    ASSERT_EQ_INT(call_ok(g->main, "c_double", 21), 42);
    ASSERT_EQ_INT(call_ok(g->main, "c_seven", 0), 7);
    ASSERT_EQ_INT(call_ok(g->main, "c_swapped", 10), 3 - 10);
    call_traps(g->main, "c_empty", SPRY_TRAP_UNINITIALIZED_ELEMENT);
    call_traps(g->main, "c_wrong", SPRY_TRAP_INDIRECT_TYPE);
}

/* The function main's import i calls: its own, the shim's or the host's. */
static struct spry_instance *import_owner(struct fgroup *g, uint32_t i)
{
    return g->main->funcs[i]->inst;
}

TEST(pool_forward, constant_elements_are_bound_past_the_forwarder)
{
    struct fgroup g;
    fgroup_open(&g, "", true);
    for (int round = 0; round < 3; round++) {
        check_calls(&g);
        /* double and seven skip the shim: the host sees main as its caller. */
        ASSERT_TRUE(import_owner(&g, 0) == g.main);
        ASSERT_TRUE(g.main->funcs[1]->def == NULL);
        seven_caller = NULL;
        call_ok(g.main, "c_seven", 0);
        ASSERT_TRUE(seven_caller == g.main);
        /* Where call_indirect would trap, or no forwarder: the shim still. */
        ASSERT_TRUE(import_owner(&g, 2) == g.shim);
        ASSERT_TRUE(import_owner(&g, 3) == g.shim);
        ASSERT_TRUE(import_owner(&g, 4) == g.shim);
        spry_pool_release(g.inst);
        ASSERT_OK(spry_pool_acquire(g.p, &g.inst, NULL, NULL));
        ASSERT_TRUE(spry_pool_member(g.inst, 1) == g.main); /* the same slot, reset */
    }
    fgroup_close(&g);
}

TEST(pool_forward, without_the_option_calls_go_through_the_shim)
{
    struct fgroup g;
    fgroup_open(&g, "", false);
    check_calls(&g);
    for (uint32_t i = 0; i < 5; i++)
        ASSERT_TRUE(import_owner(&g, i) == g.shim);
    seven_caller = NULL;
    call_ok(g.main, "c_seven", 0);
    ASSERT_TRUE(seven_caller == g.shim);
    /* Which is what lets an embedder write the exported table: the next
     * call sees the write. */
    struct spry_extern t;
    ASSERT_OK(spry_instance_export(g.shim, "t", &t));
    ASSERT_EQ_INT(t.kind, SPRY_EXTERN_TABLE);
    ASSERT_OK(spry_table_set(t.of.table, 1, NULL));
    call_traps(g.main, "c_seven", SPRY_TRAP_UNINITIALIZED_ELEMENT);
    fgroup_close(&g);
}

/* A member whose code may write the table: nothing is bound, and a write
 * is seen by the next call. */
TEST(pool_forward, a_table_some_member_may_write_is_not_bound)
{
    static const char *const writers[] = {
        "(func (export \"w\") (param i32) (result i32)\n"
        "  (table.set $t (i32.const 1) (ref.func $eight)) (i32.const 0))",
        "(func (export \"w\") (param i32) (result i32)\n"
        "  (table.fill $t (i32.const 1) (ref.func $eight) (i32.const 1)) (i32.const 0))",
        "(table $own 4 funcref)\n"
        "(elem (table $own) (i32.const 1) func $eight)\n"
        "(func (export \"w\") (param i32) (result i32)\n"
        "  (table.copy $t $own (i32.const 1) (i32.const 1) (i32.const 1)) (i32.const 0))",
        "(elem $e8 func $eight)\n"
        "(func (export \"w\") (param i32) (result i32)\n"
        "  (table.init $t $e8 (i32.const 1) (i32.const 0) (i32.const 1)) (i32.const 0))",
        "(func (export \"w\") (param i32) (result i32)\n"
        "  (table.grow $t (ref.null func) (i32.const 0)))",
    };
    for (size_t w = 0; w < sizeof writers / sizeof *writers; w++) {
        struct fgroup g;
        fgroup_open(&g, writers[w], true);
        check_calls(&g);
        for (uint32_t i = 0; i < 5; i++)
            ASSERT_TRUE(import_owner(&g, i) == g.shim);
        call_ok(g.fix, "w", 0);
        /* table.grow of a full table changes nothing; the others put $eight in slot 1. */
        ASSERT_EQ_INT(call_ok(g.main, "c_seven", 0), w == 4 ? 7 : 8);
        spry_pool_release(g.inst);
        ASSERT_OK(spry_pool_acquire(g.p, &g.inst, NULL, NULL));
        ASSERT_EQ_INT(call_ok(spry_pool_member(g.inst, 1), "c_seven", 0), 7);
        fgroup_close(&g);
    }
}

/* A table written only through another table of the same member is still
 * constant: only writes into the forwarders' table count. */
TEST(pool_forward, writes_to_another_table_do_not_prevent_binding)
{
    struct fgroup g;
    fgroup_open(&g,
                "(table $own 4 funcref)\n"
                "(func (export \"w\") (param i32) (result i32)\n"
                "  (table.set $own (i32.const 1) (ref.func $eight)) (i32.const 0))",
                true);
    check_calls(&g);
    ASSERT_TRUE(import_owner(&g, 0) == g.main);
    call_ok(g.fix, "w", 0);
    ASSERT_EQ_INT(call_ok(g.main, "c_seven", 0), 7);
    fgroup_close(&g);
}

/* Linked groups in the instance pool: several modules instantiated in one
 * slot, importing each other's exports, the way a component's core
 * instances are (a shim module's table filled by a fixup module). */
#include "harness/test.h"
#include "wat.h"

#include "spry/pool.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Member 0, the shim: a table of two functions it calls indirectly. */
static const char *const SHIM_WAT =
    "(module\n"
    "  (table (export \"$imports\") 2 2 funcref)\n"
    "  (func (export \"0\") (param i32) (result i32)\n"
    "    (call_indirect (param i32) (result i32) (local.get 0) (i32.const 0)))\n"
    "  (func (export \"1\") (result i32)\n"
    "    (call_indirect (result i32) (i32.const 1))))\n";

/* Member 1, the main module: the memory, a data segment, a start function
 * that records that it ran, and calls through the shim. */
static const char *const MAIN_WAT =
    "(module\n"
    "  (import \"shim\" \"twice\" (func $twice (param i32) (result i32)))\n"
    "  (import \"shim\" \"seven\" (func $seven (result i32)))\n"
    "  (memory (export \"memory\") 1 4)\n"
    "  (data (i32.const 16) \"main\")\n"
    "  (global $g (export \"g\") (mut i32) (i32.const 5))\n"
    "  (func $start (i32.store8 (i32.const 200)\n"
    "    (i32.add (i32.load8_u (i32.const 200)) (i32.const 1))))\n"
    "  (start $start)\n"
    "  (func (export \"double\") (param i32) (result i32)\n"
    "    (i32.mul (local.get 0) (i32.const 2)))\n"
    "  (func (export \"run\") (param i32) (result i32)\n"
    "    (i32.add (call $twice (local.get 0)) (call $seven)))\n"
    "  (func (export \"load\") (param i32) (result i32) (i32.load8_u (local.get 0)))\n"
    "  (func (export \"scribble\")\n"
    "    (memory.fill (i32.const 0) (i32.const 0xaa) (i32.const 65536))\n"
    "    (drop (memory.grow (i32.const 1)))\n"
    "    (global.set $g (i32.const 99))))\n";

/* Member 2, the fixup: fills the shim's table with the main module's
 * function and a host function, writes into the main module's memory with
 * a data segment, and has a start function that runs after main's. */
static const char *const FIXUP_WAT =
    "(module\n"
    "  (import \"main\" \"double\" (func $double (param i32) (result i32)))\n"
    "  (import \"host\" \"seven\" (func $seven (result i32)))\n"
    "  (import \"shim\" \"$imports\" (table 2 2 funcref))\n"
    "  (import \"main\" \"memory\" (memory 1))\n"
    "  (import \"main\" \"g\" (global $g (mut i32)))\n"
    "  (elem (i32.const 0) func $double $seven)\n"
    "  (data (i32.const 100) \"fixed\")\n"
    "  (func $start (i32.store8 (i32.const 201)\n"
    "    (i32.add (i32.load8_u (i32.const 200)) (i32.const 1))))\n"
    "  (start $start)\n"
    "  (func (export \"clear\") (table.set 0 (i32.const 0) (ref.null func))))\n";

static int host_seven(void *user, struct spry_instance *caller, uint64_t *slots)
{
    (void)user;
    (void)caller;
    slots[0] = 7;
    return 0;
}

static const struct spry_host_def SEVEN = {
    "host", "seven", {0, 1, NULL, (const uint8_t[]){SPRY_I32}}, host_seven, NULL};

#define EXPORT(member, name)                                                      \
    {                                                                             \
        .kind = SPRY_LINK_EXPORT, .of.exp = {(member), (name), sizeof(name) - 1 } \
    }

static const struct spry_link_import MAIN_IMPORTS[] = {EXPORT(0, "0"), EXPORT(0, "1")};
static const struct spry_link_import FIXUP_IMPORTS[] = {
    EXPORT(1, "double"),
    {.kind = SPRY_LINK_HOST_FUNC, .of.func = &SEVEN},
    EXPORT(0, "$imports"),
    EXPORT(1, "memory"),
    EXPORT(1, "g")};

struct group {
    struct spry_module *mods[3];
    struct spry_link_member members[3];
};

static void group_load(struct group *g)
{
    g->mods[0] = wat_load(SHIM_WAT);
    g->mods[1] = wat_load(MAIN_WAT);
    g->mods[2] = wat_load(FIXUP_WAT);
    g->members[0] = (struct spry_link_member){g->mods[0], NULL};
    g->members[1] = (struct spry_link_member){g->mods[1], MAIN_IMPORTS};
    g->members[2] = (struct spry_link_member){g->mods[2], FIXUP_IMPORTS};
}

static void group_free(struct group *g)
{
    for (int i = 0; i < 3; i++)
        spry_module_destroy(g->mods[i]);
}

static struct spry_pool *small_pool(void)
{
    struct spry_pool_config config;
    spry_pool_config_init(&config);
    config.slots = 1;
    config.max_memory_bytes = 16 << 20;
    struct spry_pool *pool;
    ASSERT_OK(spry_pool_create(&config, &pool, NULL));
    return pool;
}

static int32_t call_i(struct spry_instance *inst, const char *name, int32_t arg)
{
    int32_t r;
    ASSERT_OK(call_i32(inst, name, arg, &r, NULL));
    return r;
}

static int slot_frees;
static void count_free(void *data)
{
    (void)data;
    slot_frees++;
}

TEST(pool_linked, members_link_to_each_other_and_reset_together)
{
    struct group g;
    group_load(&g);
    struct spry_pool *pool = small_pool();
    struct spry_prepared *p;
    struct spry_report report;
    spry_report_init(&report);
    struct spry_link_options opts = {.slot_data_free = count_free};
    int rc = spry_prepared_create_linked(pool, g.members, 3, &opts, &p, &report);
    if (rc != 0)
        fprintf(stderr, "%s\n", report.message);
    ASSERT_OK(rc);
    static int marker;
    slot_frees = 0;
    for (int round = 0; round < 4; round++) {
        struct spry_instance *inst;
        ASSERT_OK(spry_pool_acquire(p, &inst, NULL, NULL));
        struct spry_instance *shim = spry_pool_member(inst, 0);
        struct spry_instance *main = spry_pool_member(inst, 1);
        struct spry_instance *fix = spry_pool_member(inst, 2);
        ASSERT_TRUE(shim == inst);
        ASSERT_NOT_NULL(main);
        ASSERT_NOT_NULL(fix);
        ASSERT_NULL(spry_pool_member(inst, 3));
        /* Slot data survives a reset of the same group, never a re-instantiation. */
        if (round == 0)
            ASSERT_NULL(spry_pool_slot_data(inst));
        else
            ASSERT_TRUE(spry_pool_slot_data(inst) == &marker);
        spry_pool_set_slot_data(inst, &marker);
        /* The shim's table, filled by the fixup: 2*20 + 7. */
        ASSERT_EQ_INT(call_i(main, "run", 20), 47);
        /* The image has both members' data; start functions ran in order. */
        ASSERT_EQ_INT(call_i(main, "load", 16), 'm');
        ASSERT_EQ_INT(call_i(main, "load", 100), 'f');
        ASSERT_EQ_INT(call_i(main, "load", 200), 1);
        ASSERT_EQ_INT(call_i(main, "load", 201), 2);
        struct spry_extern gx;
        ASSERT_OK(spry_instance_export(main, "g", &gx));
        struct spry_val gv;
        spry_global_get(gx.of.global, &gv);
        ASSERT_EQ_INT(gv.of.i32, 5);
        /* Change everything; the next acquire must not see it. */
        ASSERT_OK(spry_instance_call(main, "scribble", NULL, 0, NULL, 0, NULL));
        ASSERT_OK(spry_instance_call(fix, "clear", NULL, 0, NULL, 0, NULL));
        struct spry_val a = {.type = SPRY_I32, .of.i32 = 1}, r;
        ASSERT_EQ_INT(spry_instance_call(main, "run", &a, 1, &r, 1, NULL), SPRY_ETRAP);
        spry_pool_release(round % 2 ? main : inst); /* any member gives the group back */
    }
    struct spry_pool_stats stats;
    spry_pool_stats(pool, &stats);
    ASSERT_EQ_UINT(stats.instantiated, 1);
    ASSERT_EQ_UINT(stats.reused, 3);
    ASSERT_EQ_INT(slot_frees, 0);
    spry_prepared_destroy(p); /* evicts the slot: its data is freed */
    ASSERT_EQ_INT(slot_frees, 1);
    spry_pool_destroy(pool);
    group_free(&g);
}

static void expect_prepare_error(struct spry_link_member *members, size_t n, int code,
                                 const char *needle)
{
    struct spry_pool *pool = small_pool();
    struct spry_prepared *p = NULL;
    struct spry_report report;
    spry_report_init(&report);
    ASSERT_EQ_INT(spry_prepared_create_linked(pool, members, n, NULL, &p, &report), code);
    if (strstr(report.message, needle) == NULL)
        fprintf(stderr, "message: %s\nwanted: %s\n", report.message, needle);
    ASSERT_NOT_NULL(strstr(report.message, needle));
    ASSERT_NULL(p);
    spry_pool_destroy(pool);
}

TEST(pool_linked, bad_links_are_reported_with_member_and_import)
{
    struct group g;
    group_load(&g);
    /* An import from a member that comes later. */
    static const struct spry_link_import forward[] = {EXPORT(2, "0"), EXPORT(0, "1")};
    g.members[1].imports = forward;
    expect_prepare_error(g.members, 3, SPRY_EINVAL, "member 1: import shim.twice names member 2");
    /* An export that does not exist, or is of another kind. */
    static const struct spry_link_import missing[] = {EXPORT(0, "0"), EXPORT(0, "nope")};
    g.members[1].imports = missing;
    expect_prepare_error(g.members, 3, SPRY_EUNLINKABLE,
                         "member 1: import shim.seven: member 0 has no function export nope");
    static const struct spry_link_import wrong_kind[] = {EXPORT(0, "0"), EXPORT(0, "$imports")};
    g.members[1].imports = wrong_kind;
    expect_prepare_error(g.members, 3, SPRY_EUNLINKABLE, "has no function export $imports");
    /* A function of the wrong type: caught by the trial instantiation. */
    static const struct spry_link_import mistyped[] = {EXPORT(0, "1"), EXPORT(0, "1")};
    g.members[1].imports = mistyped;
    expect_prepare_error(g.members, 3, SPRY_EUNLINKABLE, "member 1:");
    /* A host global where a function is imported. */
    static const struct spry_host_global G = {"a", "b", {SPRY_I32, false}, {.type = SPRY_I32}};
    static const struct spry_link_import global_for_func[] = {
        {.kind = SPRY_LINK_HOST_GLOBAL, .of.global = &G}, EXPORT(0, "1")};
    g.members[1].imports = global_for_func;
    expect_prepare_error(g.members, 3, SPRY_EUNLINKABLE,
                         "member 1: import shim.twice (function) is given no matching source");
    g.members[1].imports = MAIN_IMPORTS;
    /* No members. */
    expect_prepare_error(g.members, 0, SPRY_EINVAL, "1 or more members");
    group_free(&g);
}

/* A member with a memory of its own besides the slot's: poke bumps byte
 * 8, grows the memory by a page, writes 9 at byte 70000 and returns
 * pages * 1000 + byte 8 * 10 (both before) + byte 70000 * 100000 (after
 * the growth, before the write). */
static const char *const OWN_MEMORY_WAT =
    "(module\n"
    "  (memory 1 4)\n"
    "  (data (i32.const 8) \"\\05\")\n"
    "  (func (export \"poke\") (param i32) (result i32) (local $r i32)\n"
    "    (local.set $r (i32.add (i32.mul (memory.size) (i32.const 1000))\n"
    "                           (i32.mul (i32.load8_u (i32.const 8)) (i32.const 10))))\n"
    "    (i32.store8 (i32.const 8) (i32.add (i32.load8_u (i32.const 8)) (i32.const 1)))\n"
    "    (drop (memory.grow (i32.const 1)))\n"
    "    (local.set $r (i32.add (local.get $r)\n"
    "      (i32.mul (i32.load8_u (i32.const 70000)) (i32.const 100000))))\n"
    "    (i32.store8 (i32.const 70000) (i32.const 9))\n"
    "    (local.get $r)))\n";

TEST(pool_linked, a_second_memory_is_put_back_at_every_reset)
{
    struct spry_module *first = wat_load("(module (memory (export \"m\") 1)"
                                         "  (func (export \"poke\") (param i32) (result i32)"
                                         "    (i32.store8 (i32.const 8) (i32.const 3))"
                                         "    (i32.load8_u (i32.const 8))))");
    struct spry_module *second = wat_load(OWN_MEMORY_WAT);
    struct spry_link_member two[2] = {{first, NULL}, {second, NULL}};
    struct spry_pool *pool = small_pool();
    struct spry_prepared *p;
    ASSERT_OK(spry_prepared_create_linked(pool, two, 2, NULL, &p, NULL));
    for (int i = 0; i < 3; i++) {
        struct spry_instance *inst;
        ASSERT_OK(spry_pool_acquire(p, &inst, NULL, NULL));
        struct spry_instance *m1 = spry_pool_member(inst, 1);
        /* Each memory is its own: the first member's write does not show
         * in the second's. */
        ASSERT_EQ_INT(call_i(inst, "poke", 0), 3);
        /* After a reset: the data segment's 5, one page, and the page the
         * last instance grew into and wrote is zero again. */
        ASSERT_EQ_INT(call_i(m1, "poke", 0), 1050);
        ASSERT_EQ_INT(call_i(m1, "poke", 0), 902060);
        ASSERT_EQ_INT(call_i(m1, "poke", 0), 903070);
        spry_pool_release(inst);
    }
    spry_prepared_destroy(p);
    spry_pool_destroy(pool);
    spry_module_destroy(first);
    spry_module_destroy(second);
}

/* A member whose memory has data past 64 KiB, so its image is large enough
 * to be mapped copy-on-write (image.h): `scribble` returns the 4 bytes at 16
 * plus the 4 at 100000, then overwrites both; `peek(a)` reads a byte. */
static const char *const BIG_IMAGE_WAT =
    "(module\n"
    "  (memory (export \"m\") 2 4)\n"
    "  (data (i32.const 16) \"pristine\")\n"
    "  (data (i32.const 100000) \"far!\")\n"
    "  (func (export \"scribble\") (param i32) (result i32) (local $r i32)\n"
    "    (local.set $r (i32.add (i32.load (i32.const 16)) (i32.load (i32.const 100000))))\n"
    "    (i32.store (i32.const 16) (i32.const -1))\n"
    "    (i32.store (i32.const 100000) (i32.const -1))\n"
    "    (drop (memory.grow (i32.const 1)))\n"
    "    (i32.store (i32.const 140000) (i32.const -1))\n"
    "    (local.get $r))\n"
    "  (func (export \"peek\") (param i32) (result i32) (i32.load8_u (local.get 0))))\n";

static uint32_t le32(const char *s)
{
    return (uint32_t)(uint8_t)s[0] | (uint32_t)(uint8_t)s[1] << 8 | (uint32_t)(uint8_t)s[2] << 16 |
           (uint32_t)(uint8_t)s[3] << 24;
}

/* The line of /proc/self/maps of the mapping that starts at `addr`. */
static bool mapping_at(const void *addr, char *line, size_t size)
{
    FILE *f = fopen("/proc/self/maps", "r");
    ASSERT_NOT_NULL(f);
    bool found = false;
    while (!found && fgets(line, (int)size, f) != NULL)
        found = strtoull(line, NULL, 16) == (unsigned long long)(uintptr_t)addr;
    fclose(f);
    return found;
}

/* The /proc/self/pagemap entry of the page at addr (0 when unreadable). */
static uint64_t pagemap_entry(const void *addr)
{
    FILE *f = fopen("/proc/self/pagemap", "rb");
    if (f == NULL)
        return 0;
    uint64_t e = 0;
    long page = sysconf(_SC_PAGESIZE);
    if (fseek(f, (long)((uintptr_t)addr / (uintptr_t)page * sizeof e), SEEK_SET) != 0 ||
        fread(&e, sizeof e, 1, f) != 1)
        e = 0;
    fclose(f);
    return e;
}

#define PM_PRESENT ((uint64_t)1 << 63)
#define PM_FILE    ((uint64_t)1 << 61)

TEST(pool_linked, a_second_memory_is_a_copy_on_write_image_reset_in_place)
{
    struct spry_module *first = wat_load("(module (memory (export \"m\") 1)"
                                         "  (func (export \"poke\") (param i32) (result i32)"
                                         "    (i32.store8 (i32.const 8) (i32.const 3))"
                                         "    (i32.load8_u (i32.const 8))))");
    struct spry_module *second = wat_load(BIG_IMAGE_WAT);
    struct spry_link_member two[2] = {{first, NULL}, {second, NULL}};
    struct spry_pool *pool = small_pool();
    struct spry_prepared *p;
    struct spry_report r;
    spry_report_init(&r);
    int rc = spry_prepared_create_linked(pool, two, 2, NULL, &p, &r);
    if (rc != 0)
        fprintf(stderr, "prepare: %s\n", r.message);
    ASSERT_OK(rc);
    uint8_t *base = NULL;
    for (int i = 0; i < 4; i++) {
        struct spry_instance *inst;
        ASSERT_OK(spry_pool_acquire(p, &inst, NULL, NULL));
        struct spry_instance *m1 = spry_pool_member(inst, 1);
        struct spry_extern e;
        ASSERT_OK(spry_instance_export(m1, "m", &e));
        ASSERT_EQ_INT(e.kind, SPRY_EXTERN_MEMORY);
        /* The slot's memory and the second one are distinct reservations,
         * and the second stays where it is from one use of the slot to the
         * next (reset in place, not remapped elsewhere). */
        uint8_t *data = spry_memory_data(e.of.memory);
        ASSERT_EQ_UINT(spry_memory_size(e.of.memory), 2 * 65536);
        if (i == 0)
            base = data;
        ASSERT_TRUE(data == base);
        /* It starts as a private mapping of the image's memfd. */
        char line[512];
        ASSERT_TRUE(mapping_at(data, line, sizeof line));
        if (strstr(line, "rw-p") == NULL || strstr(line, "spry-image") == NULL)
            fprintf(stderr, "mapping: %s", line);
        ASSERT_TRUE(strstr(line, "rw-p") != NULL);
        ASSERT_TRUE(strstr(line, "spry-image") != NULL);
        /* A page the instance only reads is the image's page, not a copy
         * (present, file-backed), before and after the writes elsewhere. */
        ASSERT_EQ_INT(call_i(m1, "peek", 40000), 0);
        uint64_t pm = pagemap_entry(data + 40000);
        if (pm != 0) {
            ASSERT_TRUE((pm & PM_PRESENT) != 0);
            ASSERT_TRUE((pm & PM_FILE) != 0);
        }
        /* Every instance sees the data segments, whatever the last one
         * wrote (both image pages and a grown page). */
        ASSERT_EQ_UINT((uint32_t)call_i(m1, "scribble", 0), le32("pris") + le32("far!"));
        ASSERT_EQ_INT(call_i(m1, "peek", 16), 0xff);
        ASSERT_EQ_INT(call_i(inst, "poke", 0), 3);
        spry_pool_release(inst);
        if (pm != 0) {
            pm = pagemap_entry(data + 40000);
            ASSERT_TRUE((pm & PM_FILE) != 0 || (pm & PM_PRESENT) == 0);
        }
    }
    struct spry_pool_stats st;
    spry_pool_stats(pool, &st);
    ASSERT_EQ_UINT(st.instantiated, 1);
    spry_prepared_destroy(p);
    spry_pool_destroy(pool);
    spry_module_destroy(first);
    spry_module_destroy(second);
}

TEST(pool_linked, a_new_group_in_the_slot_frees_the_old_slot_data)
{
    struct group g;
    group_load(&g);
    struct spry_pool *pool = small_pool();
    struct spry_link_options opts = {.slot_data_free = count_free};
    struct spry_prepared *p, *q;
    ASSERT_OK(spry_prepared_create_linked(pool, g.members, 3, &opts, &p, NULL));
    ASSERT_OK(spry_prepared_create_linked(pool, g.members, 3, &opts, &q, NULL));
    slot_frees = 0;
    static int a, b;
    struct spry_instance *inst;
    ASSERT_OK(spry_pool_acquire(p, &inst, NULL, NULL));
    spry_pool_set_slot_data(inst, &a);
    spry_pool_set_slot_data(inst, &b); /* replacing frees the old data */
    ASSERT_EQ_INT(slot_frees, 1);
    spry_pool_release(inst);
    ASSERT_OK(spry_pool_acquire(q, &inst, NULL, NULL)); /* the one slot changes group */
    ASSERT_EQ_INT(slot_frees, 2);
    ASSERT_NULL(spry_pool_slot_data(inst));
    ASSERT_EQ_INT(call_i(spry_pool_member(inst, 1), "run", 1), 9);
    spry_pool_release(inst);
    spry_prepared_destroy(p);
    spry_prepared_destroy(q);
    spry_pool_destroy(pool);
    group_free(&g);
}

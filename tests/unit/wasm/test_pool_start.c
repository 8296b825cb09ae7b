/* Start functions in the instance pool: run once at preparation when they
 * call nothing outside the group (prepared.c, "Start functions run once"),
 * else at every acquire as before. Either way each acquire must see what a
 * new instance sees after its start function: the oracle is an ordinary
 * instantiation of the same module (spry_instance_create) in a new store. */
#include "harness/test.h"
#include "wat.h"

#include "spry/pool.h"
#include "wasm/pool.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A start function that grows the memory, writes the old and the new
 * pages, sets globals, copies within memory and drops a passive segment;
 * `scribble` then changes all of that. EXTRA: more module fields. */
#define START_WAT(PAGES, EXTRA)                                                               \
    "(module\n"                                                                               \
    "  (memory (export \"memory\") " PAGES " 16)\n"                                           \
    "  (global $base (mut i32) (i32.const -1))\n"                                             \
    "  (global $runs (mut i32) (i32.const 0))\n"                                              \
    "  (global $h (mut i64) (i64.const 0))\n"                                                 \
    "  (data (i32.const 16) \"hello\")\n"                                                     \
    "  (data $pd \"passive\")\n" EXTRA "  (func $start\n"                                     \
    "    (global.set $base (memory.grow (i32.const 1)))\n"                                    \
    "    (global.set $runs (i32.add (global.get $runs) (i32.const 1)))\n"                     \
    "    (global.set $h (i64.const 0x1122334455667788))\n"                                    \
    "    (i32.store (i32.const 100) (i32.const 0xabcdef))\n"                                  \
    "    (i32.store (i32.add (i32.mul (global.get $base) (i32.const 65536)) (i32.const 8))\n" \
    "      (i32.const 77))\n"                                                                 \
    "    (memory.copy (i32.const 200) (i32.const 16) (i32.const 5))\n"                        \
    "    (data.drop $pd))\n"                                                                  \
    "  (start $start)\n"                                                                      \
    "  (func (export \"base\") (result i32) (global.get $base))\n"                            \
    "  (func (export \"runs\") (result i32) (global.get $runs))\n"                            \
    "  (func (export \"h\") (result i64) (global.get $h))\n"                                  \
    "  (func (export \"grow0\") (result i32) (memory.grow (i32.const 0)))\n"                  \
    "  (func (export \"passive\") (result i32)\n"                                             \
    "    (memory.init $pd (i32.const 0) (i32.const 0) (i32.const 1)) (i32.const 1))\n"        \
    "  (func (export \"scribble\") (param $seed i32)\n"                                       \
    "    (memory.fill (i32.const 0) (local.get $seed) (i32.mul (memory.size) (i32.const "     \
    "65536)))\n"                                                                              \
    "    (drop (memory.grow (i32.const 2)))\n"                                                \
    "    (memory.fill (i32.const 0) (local.get $seed) (i32.mul (memory.size) (i32.const "     \
    "65536)))\n"                                                                              \
    "    (global.set $base (local.get $seed))\n"                                              \
    "    (global.set $runs (local.get $seed))\n"                                              \
    "    (global.set $h (i64.extend_i32_u (local.get $seed)))))\n"

/* One page: the image after the start function is copied into the slot. */
static const char *const COPY_START = START_WAT("1", "");
/* Two pages and a segment past 64 KiB: the image is mapped copy-on-write. */
static const char *const COW_START = START_WAT("2", "  (data (i32.const 70000) \"tail\")\n");

static struct spry_pool *make_pool(uint32_t slots)
{
    struct spry_pool_config config;
    spry_pool_config_init(&config);
    config.slots = slots;
    config.max_memory_bytes = 16 << 20;
    struct spry_pool *pool;
    ASSERT_OK(spry_pool_create(&config, &pool, NULL));
    return pool;
}

static int64_t call0(struct spry_instance *inst, const char *name, int *rc_out)
{
    struct spry_val r = {0};
    int rc = spry_instance_call(inst, name, NULL, 0, &r, 1, NULL);
    if (rc_out != NULL)
        *rc_out = rc;
    else
        ASSERT_OK(rc);
    return r.type == SPRY_I64 ? r.of.i64 : r.of.i32;
}

/* A new instance of m made the ordinary way, start function included. */
static struct spry_instance *plain_instance(struct spry_module *m, struct spry_store **store)
{
    ASSERT_OK(spry_store_create(NULL, store));
    struct spry_instance *inst;
    struct spry_report report;
    spry_report_init(&report);
    ASSERT_OK(spry_instance_create(*store, m, NULL, 0, &inst, &report, NULL));
    return inst;
}

static void same_memory(struct spry_memory *got, struct spry_memory *want)
{
    ASSERT_EQ_UINT(spry_memory_size(got), spry_memory_size(want));
    int at = test_mem_diff(spry_memory_data(got), spry_memory_data(want), spry_memory_size(want));
    if (at >= 0)
        fprintf(stderr, "memory differs at %d\n", at);
    ASSERT_EQ_INT(at, -1);
}

/* Asserts that inst is in the state `plain` is in (the passive segment's
 * probe last: it writes memory when the segment is there). */
static void same_as_plain(struct spry_instance *inst, struct spry_instance *plain)
{
    same_memory(spry_instance_memory(inst, 0), spry_instance_memory(plain, 0));
    static const char *const getters[] = {"base", "runs", "h", "grow0"};
    for (size_t i = 0; i < sizeof getters / sizeof getters[0]; i++)
        ASSERT_EQ_INT(call0(inst, getters[i], NULL), call0(plain, getters[i], NULL));
    int rc_inst, rc_plain;
    call0(inst, "passive", &rc_inst);
    call0(plain, "passive", &rc_plain);
    ASSERT_EQ_INT(rc_inst, rc_plain);
}

static void scribble(struct spry_instance *inst, int32_t seed)
{
    struct spry_val a = {.type = SPRY_I32, .of.i32 = seed};
    ASSERT_OK(spry_instance_call(inst, "scribble", &a, 1, NULL, 0, NULL));
}

static void acquire_twice_with_writes_between(const char *wat)
{
    struct spry_module *m = wat_load(wat);
    struct spry_store *store;
    struct spry_instance *plain = plain_instance(m, &store);
    struct spry_pool *pool = make_pool(2);
    struct spry_prepared *p;
    ASSERT_OK(spry_prepared_create(pool, m, NULL, 0, NULL, 0, &p, NULL));
    ASSERT_TRUE(p->start_prerun);
    for (int i = 0; i < 3; i++) {
        /* Two at once, so that both slots are instantiated and reused. */
        struct spry_instance *a, *b;
        ASSERT_OK(spry_pool_acquire(p, &a, NULL, NULL));
        ASSERT_OK(spry_pool_acquire(p, &b, NULL, NULL));
        same_as_plain(a, plain);
        same_as_plain(b, plain);
        scribble(a, 0x31 + i);
        scribble(b, 0x41 + i);
        ASSERT_EQ_INT(call0(a, "runs", NULL), 0x31 + i);
        spry_pool_release(b);
        spry_pool_release(a);
    }
    struct spry_pool_stats stats;
    spry_pool_stats(pool, &stats);
    ASSERT_EQ_UINT(stats.instantiated, 2);
    ASSERT_EQ_UINT(stats.reused, 4);
    spry_prepared_destroy(p);
    spry_pool_destroy(pool);
    spry_store_destroy(store);
    spry_module_destroy(m);
}

TEST(pool_start, a_start_function_without_host_calls_runs_once_copied_image)
{
    acquire_twice_with_writes_between(COPY_START);
}

TEST(pool_start, a_start_function_without_host_calls_runs_once_cow_image)
{
    acquire_twice_with_writes_between(COW_START);
}

static atomic_int host_calls;

static int host_note(void *user, struct spry_instance *caller, uint64_t *slots)
{
    (void)user;
    (void)caller;
    (void)slots;
    atomic_fetch_add(&host_calls, 1);
    return 0;
}

static const uint8_t I32_PARAM[1] = {SPRY_I32};

/* The host call comes after the start function has grown and written the
 * memory: the trial's memory is changed when the pre-run gives up, and the
 * image must still be the one from before. */
TEST(pool_start, a_start_function_calling_the_host_runs_at_every_acquire)
{
    struct spry_module *m =
        wat_load("(module (import \"env\" \"note\" (func $note (param i32)))\n"
                 "  (memory (export \"memory\") 1 4)\n"
                 "  (global $runs (mut i32) (i32.const 0))\n"
                 "  (func $start\n"
                 "    (drop (memory.grow (i32.const 1)))\n"
                 "    (i32.store (i32.const 70000) (i32.const 5))\n"
                 "    (global.set $runs (i32.add (global.get $runs) (i32.const 1)))\n"
                 "    (call $note (global.get $runs)))\n"
                 "  (start $start)\n"
                 "  (func (export \"runs\") (result i32) (global.get $runs))\n"
                 "  (func (export \"size\") (result i32) (memory.size))\n"
                 "  (func (export \"at70000\") (result i32) (i32.load (i32.const 70000)))\n"
                 "  (func (export \"set\") (global.set $runs (i32.const 9))\n"
                 "    (i32.store (i32.const 70000) (i32.const 9))))");
    const struct spry_host_def note[] = {{"env", "note", {1, 0, I32_PARAM, NULL}, host_note, NULL}};
    struct spry_pool *pool = make_pool(1);
    struct spry_prepared *p;
    atomic_store(&host_calls, 0);
    ASSERT_OK(spry_prepared_create(pool, m, note, 1, NULL, 0, &p, NULL));
    ASSERT_FALSE(p->start_prerun);
    ASSERT_EQ_INT(atomic_load(&host_calls), 0); /* the trial never reached the host */
    for (int i = 0; i < 3; i++) {
        struct spry_instance *inst;
        ASSERT_OK(spry_pool_acquire(p, &inst, NULL, NULL));
        ASSERT_EQ_INT(atomic_load(&host_calls), i + 1);
        ASSERT_EQ_INT(call0(inst, "runs", NULL), 1);
        ASSERT_EQ_INT(call0(inst, "size", NULL), 2);
        ASSERT_EQ_INT(call0(inst, "at70000", NULL), 5);
        ASSERT_OK(spry_instance_call(inst, "set", NULL, 0, NULL, 0, NULL));
        spry_pool_release(inst);
    }
    spry_prepared_destroy(p);
    spry_pool_destroy(pool);
    spry_module_destroy(m);
}

/* A trapping start function (after writing state) fails every acquire with
 * the message an ordinary instantiation gives, and gives the slot back. */
TEST(pool_start, a_trapping_start_function_still_fails_every_acquire)
{
    static const char *const traps[] = {
        "(module (memory 1) (global $g (mut i32) (i32.const 0))\n"
        "  (func $start (global.set $g (i32.const 1)) (i32.store (i32.const 8) (i32.const 1))\n"
        "    unreachable)\n"
        "  (start $start))",
        "(module (memory 1)\n"
        "  (func $start (drop (memory.grow (i32.const 1)))\n"
        "    (drop (i32.div_s (i32.const 1) (i32.load (i32.const 4)))))\n"
        "  (start $start))",
    };
    for (size_t t = 0; t < sizeof traps / sizeof traps[0]; t++) {
        struct spry_module *m = wat_load(traps[t]);
        struct spry_store *store;
        ASSERT_OK(spry_store_create(NULL, &store));
        struct spry_instance *plain;
        struct spry_report want;
        spry_report_init(&want);
        ASSERT_EQ_INT(spry_instance_create(store, m, NULL, 0, &plain, &want, NULL), SPRY_ETRAP);
        struct spry_pool *pool = make_pool(1);
        struct spry_prepared *p;
        ASSERT_OK(spry_prepared_create(pool, m, NULL, 0, NULL, 0, &p, NULL));
        ASSERT_FALSE(p->start_prerun);
        for (int i = 0; i < 2; i++) {
            struct spry_instance *inst;
            struct spry_report report;
            struct spry_trap trap;
            spry_report_init(&report);
            ASSERT_EQ_INT(spry_pool_acquire(p, &inst, &report, &trap), SPRY_ETRAP);
            ASSERT_EQ_STR(report.message, want.message);
        }
        struct spry_pool_stats stats;
        spry_pool_stats(pool, &stats);
        ASSERT_EQ_UINT(stats.in_use, 0);
        spry_prepared_destroy(p);
        spry_pool_destroy(pool);
        spry_store_destroy(store);
        spry_module_destroy(m);
    }
}

/* An endless start function does not hang the preparation: the pre-run is
 * interrupted and abandoned. */
TEST(pool_start, an_endless_start_function_is_not_pre_run)
{
    struct spry_module *m = wat_load("(module (func $start (loop (br 0))) (start $start))");
    struct spry_pool *pool = make_pool(1);
    struct spry_prepared *p;
    ASSERT_OK(spry_prepared_create(pool, m, NULL, 0, NULL, 0, &p, NULL));
    ASSERT_FALSE(p->start_prerun);
    spry_prepared_destroy(p);
    spry_pool_destroy(pool);
    spry_module_destroy(m);
}

/* References the start functions leave in tables and globals are the
 * slot's own functions (the trial store's are gone): table.set, a funcref
 * global, a grown table holding a host function, and a funcref global set
 * by its initializer next to a start function that does not touch it.
 * Each is pre-run, and each acquire still finds the functions after the
 * previous request cleared them. */
TEST(pool_start, references_left_by_start_functions_are_the_slots_own)
{
    static const char *const wats[] = {
        "(module (import \"env\" \"note\" (func $note (param i32)))\n"
        "  (table 2 funcref) (func $f (result i32) (i32.const 42))\n"
        "  (elem declare func $f)\n"
        "  (func $start (table.set 0 (i32.const 1) (ref.func $f)))\n"
        "  (start $start)\n"
        "  (func (export \"get\") (result i32) (call_indirect (result i32) (i32.const 1)))\n"
        "  (func (export \"clear\") (table.set 0 (i32.const 1) (ref.null func))))",
        "(module (import \"env\" \"note\" (func $note (param i32)))\n"
        "  (table 2 funcref) (func $f (result i32) (i32.const 42))\n"
        "  (elem declare func $f)\n"
        "  (global $r (mut funcref) (ref.null func))\n"
        "  (func $start (global.set $r (ref.func $f)))\n"
        "  (start $start)\n"
        "  (func (export \"get\") (result i32)\n"
        "    (table.set 0 (i32.const 0) (global.get $r))\n"
        "    (call_indirect (result i32) (i32.const 0)))\n"
        "  (func (export \"clear\") (global.set $r (ref.null func))))",
        "(module (import \"env\" \"note\" (func $note (param i32)))\n"
        "  (table 1 10 funcref) (func $f (result i32) (i32.const 42))\n"
        "  (elem declare func $f $note)\n"
        "  (func $start (drop (table.grow 0 (ref.func $note) (i32.const 2)))\n"
        "    (table.set 0 (i32.const 0) (ref.func $f)))\n"
        "  (start $start)\n"
        "  (func (export \"get\") (result i32)\n"
        "    (call_indirect (param i32) (i32.const 5) (i32.const 2))\n"
        "    (i32.add (table.size 0) (call_indirect (result i32) (i32.const 0))))\n"
        "  (func (export \"clear\") (table.fill 0 (i32.const 0) (ref.null func) (table.size 0))\n"
        "    (drop (table.grow 0 (ref.null func) (i32.const 4)))))",
        "(module (import \"env\" \"note\" (func $note (param i32)))\n"
        "  (table 2 funcref) (func $f (result i32) (i32.const 42))\n"
        "  (elem declare func $f)\n"
        "  (global $r (mut funcref) (ref.func $f))\n"
        "  (global $n (mut i32) (i32.const 0))\n"
        "  (func $start (global.set $n (i32.const 1)))\n"
        "  (start $start)\n"
        "  (func (export \"get\") (result i32)\n"
        "    (table.set 0 (i32.const 0) (global.get $r))\n"
        "    (i32.add (global.get $n) (call_indirect (result i32) (i32.const 0))))\n"
        "  (func (export \"clear\") (global.set $r (ref.null func)) (global.set $n (i32.const "
        "0))))",
    };
    /* What "get" returns, and how many host calls it makes. */
    static const int want[] = {42, 42, 45, 43};
    static const int notes[] = {0, 0, 1, 0};
    const struct spry_host_def note[] = {{"env", "note", {1, 0, I32_PARAM, NULL}, host_note, NULL}};
    for (size_t w = 0; w < sizeof wats / sizeof wats[0]; w++) {
        struct spry_module *m = wat_load(wats[w]);
        struct spry_pool *pool = make_pool(1);
        struct spry_prepared *p;
        ASSERT_OK(spry_prepared_create(pool, m, note, 1, NULL, 0, &p, NULL));
        ASSERT_TRUE(p->start_prerun);
        for (int i = 0; i < 3; i++) {
            struct spry_instance *inst;
            atomic_store(&host_calls, 0);
            ASSERT_OK(spry_pool_acquire(p, &inst, NULL, NULL));
            ASSERT_EQ_INT(call0(inst, "get", NULL), want[w]);
            ASSERT_EQ_INT(atomic_load(&host_calls), notes[w]);
            ASSERT_OK(spry_instance_call(inst, "clear", NULL, 0, NULL, 0, NULL));
            spry_pool_release(inst);
        }
        spry_prepared_destroy(p);
        spry_pool_destroy(pool);
        spry_module_destroy(m);
    }
}

/* A linked group: member 1's start function calls member 0's function
 * (wasm of the group: allowed), which grows and writes member 0's memory
 * and global; then grows and writes member 1's own memory (an extra memory
 * of the slot). Both images are taken after the start function. */
static const char *const LIB_WAT =
    "(module (memory (export \"memory\") 1 8)\n"
    "  (global $g (export \"g\") (mut i32) (i32.const 3))\n"
    "  (func (export \"bump\") (result i32)\n"
    "    (global.set $g (i32.mul (global.get $g) (i32.const 7)))\n"
    "    (i32.store (i32.mul (memory.grow (i32.const 1)) (i32.const 65536)) (global.get $g))\n"
    "    (global.get $g))\n"
    "  (func (export \"get_g\") (result i32) (global.get $g))\n"
    "  (func (export \"scribble\")\n"
    "    (memory.fill (i32.const 0) (i32.const 0x77) (i32.mul (memory.size) (i32.const 65536)))\n"
    "    (global.set $g (i32.const -5))))\n";

static const char *const USER_WAT =
    "(module (import \"lib\" \"bump\" (func $bump (result i32)))\n"
    "  (import \"lib\" \"g\" (global $g (mut i32)))\n"
    "  (memory (export \"memory\") 1 8)\n"
    "  (global $seen (mut i32) (i32.const 0))\n"
    "  (func $start\n"
    "    (global.set $seen (call $bump))\n"
    "    (i32.store (i32.add (i32.mul (memory.grow (i32.const 2)) (i32.const 65536))\n"
    "      (i32.const 70000)) (global.get $g)))\n"
    "  (start $start)\n"
    "  (func (export \"seen\") (result i32) (global.get $seen))\n"
    "  (func (export \"scribble\")\n"
    "    (memory.fill (i32.const 0) (i32.const 0x55) (i32.mul (memory.size) (i32.const 65536)))\n"
    "    (global.set $seen (i32.const -1))))\n";

TEST(pool_start, a_linked_group_runs_its_start_functions_once)
{
    struct spry_module *lib = wat_load(LIB_WAT), *user = wat_load(USER_WAT);
    /* The oracle: the two instantiated the ordinary way. */
    struct spry_store *store;
    ASSERT_OK(spry_store_create(NULL, &store));
    struct spry_instance *plain_lib, *plain_user;
    ASSERT_OK(spry_instance_create(store, lib, NULL, 0, &plain_lib, NULL, NULL));
    struct spry_extern imports[2];
    ASSERT_OK(spry_instance_export(plain_lib, "bump", &imports[0]));
    ASSERT_OK(spry_instance_export(plain_lib, "g", &imports[1]));
    ASSERT_OK(spry_instance_create(store, user, imports, 2, &plain_user, NULL, NULL));

    static const struct spry_link_import user_imports[] = {
        {.kind = SPRY_LINK_EXPORT, .of.exp = {0, "bump", 4}},
        {.kind = SPRY_LINK_EXPORT, .of.exp = {0, "g", 1}}};
    struct spry_link_member members[2] = {{lib, NULL}, {user, user_imports}};
    struct spry_pool *pool = make_pool(1);
    struct spry_prepared *p;
    ASSERT_OK(spry_prepared_create_linked(pool, members, 2, NULL, &p, NULL));
    ASSERT_TRUE(p->start_prerun);
    for (int i = 0; i < 3; i++) {
        struct spry_instance *inst;
        ASSERT_OK(spry_pool_acquire(p, &inst, NULL, NULL));
        struct spry_instance *u = spry_pool_member(inst, 1);
        same_memory(spry_instance_memory(inst, 0), spry_instance_memory(plain_lib, 0));
        same_memory(spry_instance_memory(u, 0), spry_instance_memory(plain_user, 0));
        ASSERT_EQ_INT(call0(inst, "get_g", NULL), call0(plain_lib, "get_g", NULL));
        ASSERT_EQ_INT(call0(u, "seen", NULL), call0(plain_user, "seen", NULL));
        ASSERT_OK(spry_instance_call(inst, "scribble", NULL, 0, NULL, 0, NULL));
        ASSERT_OK(spry_instance_call(u, "scribble", NULL, 0, NULL, 0, NULL));
        spry_pool_release(inst);
    }
    spry_prepared_destroy(p);
    spry_pool_destroy(pool);
    spry_store_destroy(store);
    spry_module_destroy(lib);
    spry_module_destroy(user);
}

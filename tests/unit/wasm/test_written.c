/*
 * Written-page maps (src/wasm/image.h): every path that writes linear
 * memory marks the granules it wrote (1 << WRITTEN_SHIFT bytes), and a pool slot's reset
 * restores exactly those. A write that is not marked would survive into
 * the next request, so each writer is exercised here at a granule boundary
 * (a mark missing for either end leaves a byte behind), and the check mode
 * (SPRY_CHECK_WRITES) is shown to catch a host write that is not marked.
 */
#include "harness/test.h"
#include "wat.h"

#include "spry/pool.h"
#include "wasm/image.h"
#include "wasm/native.h"
#include "wasm/runtime.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { GRANULE = 1 << WRITTEN_SHIFT, PAGES = 5, BYTES = PAGES * 65536, POKE_AT = 66 * GRANULE - 3 };

/* The host function poke(mark): writes 6 bytes across a granule boundary
 * through spry_memory_data, marking them only when `mark` is non-zero. */
static int host_poke(void *user, struct spry_instance *caller, uint64_t *slots)
{
    (void)user;
    struct spry_memory *mem = spry_instance_memory(caller, 0);
    memcpy(spry_memory_data(mem) + POKE_AT, "poked!", 6);
    if ((uint32_t)slots[0] != 0)
        spry_memory_note_write(mem, POKE_AT, 6);
    return 0;
}

static const uint8_t I32_PARAM[1] = {SPRY_I32};
static const struct spry_host_def HOST_FUNCS[] = {
    {"env", "poke", {1, 0, I32_PARAM, NULL}, host_poke, NULL},
};

/* One store per (width, addressing form), each at its own granule
 * boundary: an even granule k's boundary is k * GRANULE, and a store of n
 * bytes starts n/2 before it, so that its first and last bytes are in
 * different granules (1-byte stores just before it) that no other writer
 * touches. Values have no zero byte. */
struct store_op {
    const char *op, *value;
    int width;
};
static const struct store_op STORES[] = {
    {"i32.store", "(i32.const -1)", 4},   {"i64.store", "(i64.const -1)", 8},
    {"f32.store", "(f32.const 1.1)", 4},  {"f64.store", "(f64.const 1.1)", 8},
    {"i32.store8", "(i32.const -1)", 1},  {"i32.store16", "(i32.const -1)", 2},
    {"i64.store8", "(i64.const -1)", 1},  {"i64.store16", "(i64.const -1)", 2},
    {"i64.store32", "(i64.const -1)", 4},
};
enum { NSTORES = sizeof STORES / sizeof STORES[0], FORMS = 3 };

static uint32_t store_addr(int i, int form)
{
    int w = STORES[i].width;
    uint32_t boundary = (uint32_t)(2 + 2 * (i * FORMS + form)) * GRANULE;
    return w == 1 ? boundary - 1 : boundary - (uint32_t)w / 2;
}

/* memory.fill, memory.copy and memory.init targets: past the stores
 * (granules 1 to 54), each across a boundary of granules of its own. */
enum {
    FILL_AT = 56 * GRANULE - 10,
    FILL_LEN = 3 * GRANULE + 20,
    COPY_AT = 61 * GRANULE - 2,
    INIT_AT = 63 * GRANULE - 4,
    GROWN_STORE = BYTES + 2 * GRANULE - 4
};

static char *module_text(void)
{
    size_t cap = 16384, len = 0;
    char *s = malloc(cap);
    ASSERT_NOT_NULL(s);
    len += (size_t)snprintf(s + len, cap - len,
                            "(module (import \"env\" \"poke\" (func $poke (param i32)))\n"
                            "  (memory %d 8)\n"
                            "  (data (i32.const 100) \"image bytes\")\n"
                            "  (data $pd \"passive!\")\n"
                            "  (func (export \"write_all\") (param $z i32) (param $poke i32)"
                            " (local $a i32)\n",
                            PAGES);
    for (int i = 0; i < NSTORES; i++) {
        const struct store_op *o = &STORES[i];
        /* Plain (address + offset), _A (address + local), _AI (address + constant). */
        len += (size_t)snprintf(s + len, cap - len,
                                "    (%s offset=%u (local.get $z) %s)\n"
                                "    (local.set $a (i32.const %u))\n"
                                "    (%s (i32.add (local.get $z) (local.get $a)) %s)\n"
                                "    (%s (i32.add (local.get $z) (i32.const %u)) %s)\n",
                                o->op, store_addr(i, 0), o->value, store_addr(i, 1), o->op,
                                o->value, o->op, store_addr(i, 2), o->value);
    }
    len += (size_t)snprintf(s + len, cap - len,
                            "    (memory.fill (i32.const %d) (i32.const 0xab) (i32.const %d))\n"
                            "    (memory.copy (i32.const %d) (i32.const 100) (i32.const 11))\n"
                            "    (memory.init $pd (i32.const %d) (i32.const 0) (i32.const 8))\n"
                            "    (if (i32.ne (memory.grow (i32.const 1)) (i32.const %d))"
                            " (then unreachable))\n"
                            "    (i64.store (i32.const %d) (i64.const -1))\n"
                            "    (call $poke (local.get $poke)))\n"
                            "  (func (export \"load\") (param i32) (result i32)"
                            " (i32.load8_u (local.get 0))))\n",
                            FILL_AT, FILL_LEN, COPY_AT, INIT_AT, PAGES, GROWN_STORE);
    ASSERT_LT_UINT(len, cap);
    return s;
}

static struct spry_pool *make_pool(void)
{
    struct spry_pool_config config;
    spry_pool_config_init(&config);
    config.slots = 1;
    config.max_memory_bytes = 64 << 20;
    struct spry_pool *pool;
    ASSERT_OK(spry_pool_create(&config, &pool, NULL));
    return pool;
}

static void write_all(struct spry_instance *inst, int poke_marks)
{
    struct spry_val args[2] = {{.type = SPRY_I32, .of.i32 = 0},
                               {.type = SPRY_I32, .of.i32 = poke_marks}};
    ASSERT_OK(spry_instance_call(inst, "write_all", args, 2, NULL, 0, NULL));
}

static void every_writer_round_trip(bool native);

TEST(written, every_writer_is_put_back_by_the_pool_reset)
{
    every_writer_round_trip(false);
}

/* The same with the module's code compiled by the native tier
 * (docs/native.md): its stores mark the map as the interpreter's do. */
TEST(written, native_stores_are_put_back_by_the_pool_reset)
{
    native_cache_fresh();
    every_writer_round_trip(true);
    native_cache_drop();
}

static void every_writer_round_trip(bool native)
{
    written_check_force(1); /* a missed mark also aborts inside the reset */
    char *wat = module_text();
    uint8_t *bytes;
    size_t len;
    wat_compile(wat, &bytes, &len);
    free(wat);
    struct spry_module_options opts = {.native = native};
    struct spry_module *m;
    ASSERT_OK(spry_module_load(bytes, len, &opts, &m, NULL));
    free(bytes);
    /* write_all (function 1, after the import) is the one that stores. */
    ASSERT_EQ_INT(native_func(runtime_module(m)->native, 1) != NULL, native);
    struct spry_pool *pool = make_pool();
    struct spry_prepared *p;
    ASSERT_OK(spry_prepared_create(pool, m, HOST_FUNCS, 1, NULL, 0, &p, NULL));
    uint8_t *want = calloc(1, BYTES);
    ASSERT_NOT_NULL(want);
    memcpy(want + 100, "image bytes", 11);
    for (int round = 0; round < 3; round++) {
        struct spry_instance *inst;
        ASSERT_OK(spry_pool_acquire(p, &inst, NULL, NULL));
        struct spry_memory *mem = spry_instance_memory(inst, 0);
        ASSERT_EQ_UINT(spry_memory_size(mem), BYTES);
        ASSERT_EQ_MEM(spry_memory_data(mem), want, BYTES);
        write_all(inst, 1);
        const uint8_t *d = spry_memory_data(mem);
        /* The writes happened, on both sides of each boundary. */
        for (int i = 0; i < NSTORES; i++)
            for (int form = 0; form < FORMS; form++) {
                uint32_t at = store_addr(i, form);
                ASSERT_NE_UINT(d[at], 0);
                ASSERT_NE_UINT(d[at + (uint32_t)STORES[i].width - 1], 0);
            }
        ASSERT_EQ_UINT(d[FILL_AT], 0xab);
        ASSERT_EQ_UINT(d[FILL_AT + FILL_LEN - 1], 0xab);
        ASSERT_EQ_MEM(d + COPY_AT, "image bytes", 11);
        ASSERT_EQ_MEM(d + INIT_AT, "passive!", 8);
        ASSERT_EQ_MEM(d + POKE_AT, "poked!", 6);
        ASSERT_EQ_UINT(d[GROWN_STORE + 7], 0xff);
        spry_pool_release(inst);
    }
    struct spry_instance *inst;
    ASSERT_OK(spry_pool_acquire(p, &inst, NULL, NULL));
    ASSERT_EQ_MEM(spry_memory_data(spry_instance_memory(inst, 0)), want, BYTES);
    int rc;
    struct spry_val a = {.type = SPRY_I32, .of.i32 = BYTES}, r;
    rc = spry_instance_call(inst, "load", &a, 1, &r, 1, NULL); /* the grown page is gone */
    ASSERT_EQ_INT(rc, SPRY_ETRAP);
    spry_pool_release(inst);
    free(want);
    spry_prepared_destroy(p);
    spry_pool_destroy(pool);
    spry_module_destroy(m);
    written_check_force(-1);
}

/* Runs write_all in a child with the check on: its exit status. */
static int child_status(int poke_marks)
{
    fflush(NULL);
    pid_t pid = fork();
    ASSERT_GE_INT(pid, 0);
    if (pid == 0) {
        written_check_force(1);
        char *wat = module_text();
        struct spry_module *m = wat_load(wat);
        struct spry_pool *pool = make_pool();
        struct spry_prepared *p;
        struct spry_instance *inst;
        if (spry_prepared_create(pool, m, HOST_FUNCS, 1, NULL, 0, &p, NULL) != 0 ||
            spry_pool_acquire(p, &inst, NULL, NULL) != 0)
            _exit(3);
        write_all(inst, poke_marks);
        spry_pool_release(inst); /* the reset checks */
        _exit(0);
    }
    int status;
    ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
    return status;
}

TEST(written, check_mode_aborts_on_a_host_write_that_is_not_marked)
{
    int marked = child_status(1), unmarked = child_status(0);
    ASSERT_TRUE(WIFEXITED(marked) && WEXITSTATUS(marked) == 0);
    ASSERT_TRUE(WIFSIGNALED(unmarked) && WTERMSIG(unmarked) == SIGABRT);
}

TEST(written, check_compares_unmarked_granules_with_the_image)
{
    uint8_t *map;
    size_t map_len;
    ASSERT_OK(written_map_create(65536, &map, &map_len));
    ASSERT_GE_UINT(map_len, 65536 / GRANULE + 1);
    uint8_t *mem = calloc(1, 65536);
    ASSERT_NOT_NULL(mem);
    const uint8_t image[6000] = {[0] = 7, [5999] = 9};
    memcpy(mem, image, sizeof image);
    ASSERT_EQ_INT(written_check(mem, map, 65536, image, sizeof image), -1);
    mem[2 * GRANULE + 5] = 1; /* must equal the image's byte (0) */
    ASSERT_EQ_INT(written_check(mem, map, 65536, image, sizeof image), 2 * GRANULE);
    map[2] = 1;
    ASSERT_EQ_INT(written_check(mem, map, 65536, image, sizeof image), -1);
    mem[6001] = 1; /* the image's last granule, past its end */
    ASSERT_EQ_INT(written_check(mem, map, 65536, image, sizeof image), 6000 / GRANULE * GRANULE);
    mem[6001] = 0;
    /* A store into marked granule 2 may spill WRITTEN_SPILL bytes into 3. */
    mem[3 * GRANULE + WRITTEN_SPILL - 1] = 1;
    ASSERT_EQ_INT(written_check(mem, map, 65536, image, sizeof image), -1);
    mem[3 * GRANULE + WRITTEN_SPILL] = 1;
    ASSERT_EQ_INT(written_check(mem, map, 65536, image, sizeof image), 3 * GRANULE);
    mem[3 * GRANULE + WRITTEN_SPILL] = 0;
    mem[0] = 8;
    ASSERT_EQ_INT(written_check(mem, map, 65536, image, sizeof image), 0);
    free(mem);
    written_map_destroy(map, map_len);
}

/* memory.copy and memory.fill, overlapping both ways and of many
 * granules, mark every granule whose bytes they change, and the pool's
 * reset (with the check on) puts them back; out of bounds they trap having
 * written and marked nothing. Two copies of an image region of two kinds of
 * granule: a pattern repeating every granule, with a run of 'z' granules in
 * the middle, so that a copy by a whole granule changes only the granules
 * at the run's ends (a copy that compared granules and skipped the equal
 * ones would still have to mark those). */
enum { RUN_AT = 32 * GRANULE, RUN2_AT = 64 * GRANULE, RUN_LEN = 12 * GRANULE, CMP_PAGES = 3 };

static uint8_t run_byte(uint32_t i)
{
    uint32_t g = i / GRANULE;
    return g >= 3 && g < 8 ? 'z' : (uint8_t)('A' + i % GRANULE % 26);
}

static char *compare_module_text(void)
{
    size_t cap = 2 * RUN_LEN + 1024, len = 0;
    char *s = malloc(cap);
    ASSERT_NOT_NULL(s);
    len += (size_t)snprintf(s + len, cap - len, "(module (memory %d %d)\n", CMP_PAGES, CMP_PAGES);
    for (int k = 0; k < 2; k++) {
        len += (size_t)snprintf(s + len, cap - len, "  (data (i32.const %d) \"",
                                k == 0 ? RUN_AT : RUN2_AT);
        for (uint32_t i = 0; i < RUN_LEN; i++)
            s[len++] = (char)run_byte(i);
        len += (size_t)snprintf(s + len, cap - len, "\")\n");
    }
    len += (size_t)snprintf(s + len, cap - len,
                            "  (func (export \"copy\") (param i32 i32 i32)"
                            " (memory.copy (local.get 0) (local.get 1) (local.get 2)))\n"
                            "  (func (export \"fill\") (param i32 i32 i32)"
                            " (memory.fill (local.get 0) (local.get 1) (local.get 2))))\n");
    ASSERT_LT_UINT(len, cap);
    return s;
}

enum cmp_expect { SOME_CHANGE = 1, NO_CHANGE = 2, TRAPS = 4 };

/* Runs copy(d, s, n) or, with fill, fill(d, s, n), and checks the memory
 * against memmove/memset on a copy of it and the map: a granule whose
 * bytes changed is marked after, one outside the destination is as it was.
 * `expect` says which granules the destination must include (some
 * changed, some not) or that it traps, writing and marking nothing. */
static void compare_op(struct spry_instance *inst, bool fill, uint32_t d, uint32_t s, uint32_t n,
                       int expect)
{
    struct spry_memory *mem = spry_instance_memory(inst, 0);
    uint64_t size = spry_memory_size(mem);
    size_t granules = (size_t)(size >> WRITTEN_SHIFT);
    uint8_t *before = malloc(size), *want = malloc(size), *marks = malloc(granules);
    ASSERT_TRUE(before != NULL && want != NULL && marks != NULL);
    memcpy(before, spry_memory_data(mem), size);
    memcpy(marks, mem->written, granules);
    memcpy(want, before, size);
    if (!(expect & TRAPS)) {
        if (fill)
            memset(want + d, (int)s, n);
        else
            memmove(want + d, want + s, n);
    }
    struct spry_val args[3] = {{.type = SPRY_I32, .of.i32 = (int32_t)d},
                               {.type = SPRY_I32, .of.i32 = (int32_t)s},
                               {.type = SPRY_I32, .of.i32 = (int32_t)n}};
    int rc = spry_instance_call(inst, fill ? "fill" : "copy", args, 3, NULL, 0, NULL);
    ASSERT_EQ_INT(rc, expect & TRAPS ? SPRY_ETRAP : 0);
    ASSERT_EQ_MEM(spry_memory_data(mem), want, size);
    int changed = 0, unchanged = 0;
    for (size_t g = 0; g < granules; g++) {
        size_t at = g * GRANULE;
        bool differs = memcmp(before + at, want + at, GRANULE) != 0;
        bool in_dest = !(expect & TRAPS) && at + GRANULE > d && at < (size_t)d + n;
        if (differs)
            ASSERT_NE_UINT(mem->written[g], 0);
        if (!in_dest)
            ASSERT_EQ_UINT(mem->written[g], marks[g]);
        if (in_dest)
            differs ? changed++ : unchanged++;
    }
    if (expect & SOME_CHANGE)
        ASSERT_GT_INT(changed, 0);
    if (expect & NO_CHANGE)
        ASSERT_GT_INT(unchanged, 0);
    free(before);
    free(want);
    free(marks);
}

static void compare_round_trip(bool native)
{
    written_check_force(1); /* an unmarked change aborts inside the reset */
    char *wat = compare_module_text();
    uint8_t *bytes;
    size_t len;
    wat_compile(wat, &bytes, &len);
    free(wat);
    struct spry_module_options opts = {.native = native};
    struct spry_module *m;
    ASSERT_OK(spry_module_load(bytes, len, &opts, &m, NULL));
    free(bytes);
    ASSERT_EQ_INT(native_func(runtime_module(m)->native, 0) != NULL, native);
    struct spry_pool *pool = make_pool();
    struct spry_prepared *p;
    ASSERT_OK(spry_prepared_create(pool, m, NULL, 0, NULL, 0, &p, NULL));
    enum { SIZE = CMP_PAGES * 65536 };
    uint8_t *image = calloc(1, SIZE);
    ASSERT_NOT_NULL(image);
    for (uint32_t i = 0; i < RUN_LEN; i++)
        image[RUN_AT + i] = image[RUN2_AT + i] = run_byte(i);
    for (int round = 0; round < 2; round++) {
        struct spry_instance *inst;
        ASSERT_OK(spry_pool_acquire(p, &inst, NULL, NULL));
        struct spry_memory *mem = spry_instance_memory(inst, 0);
        ASSERT_EQ_MEM(spry_memory_data(mem), image, SIZE);
        /* Zeroes onto zeroes, and fills that change nothing. */
        compare_op(inst, false, 2 * GRANULE + 100, 10 * GRANULE + 3, 5 * GRANULE, NO_CHANGE);
        compare_op(inst, true, 18 * GRANULE - 5, 0, 4 * GRANULE + 9, NO_CHANGE);
        compare_op(inst, true, RUN_AT + 3 * GRANULE + 1, 'z', 5 * GRANULE - 2, NO_CHANGE);
        compare_op(inst, false, RUN_AT + 3 * GRANULE, RUN2_AT + 3 * GRANULE, 5 * GRANULE,
                   NO_CHANGE);
        /* Overlapping by a granule, both ways: only the run's ends change. */
        compare_op(inst, false, RUN_AT + GRANULE, RUN_AT, 10 * GRANULE + 17,
                   SOME_CHANGE | NO_CHANGE);
        compare_op(inst, false, RUN2_AT + 100, RUN2_AT + GRANULE + 100, 10 * GRANULE,
                   SOME_CHANGE | NO_CHANGE);
        /* Overlapping by less than a granule, and a fill that changes part. */
        compare_op(inst, false, RUN_AT + 5, RUN_AT + 2 * GRANULE, 6 * GRANULE, SOME_CHANGE);
        compare_op(inst, false, RUN2_AT + 2 * GRANULE + 9, RUN2_AT + 3, 7 * GRANULE, SOME_CHANGE);
        compare_op(inst, true, RUN2_AT + 2 * GRANULE + 512, 'z', 6 * GRANULE,
                   SOME_CHANGE | NO_CHANGE);
        /* Out of bounds, with a destination whose first bytes would
         * change: a trap, nothing written or marked. */
        compare_op(inst, false, SIZE - 4 * GRANULE, RUN_AT, 4 * GRANULE + 1, TRAPS);
        compare_op(inst, false, RUN_AT - 2 * GRANULE, SIZE - 5 * GRANULE, 5 * GRANULE + 1, TRAPS);
        compare_op(inst, true, SIZE - 4 * GRANULE, 7, 4 * GRANULE + 1, TRAPS);
        compare_op(inst, false, 0, RUN_AT, 0xffffff00u, TRAPS);
        spry_pool_release(inst); /* the check aborts on an unmarked change */
    }
    free(image);
    spry_prepared_destroy(p);
    spry_pool_destroy(pool);
    spry_module_destroy(m);
    written_check_force(-1);
}

TEST(written, large_overlapping_copies_and_fills_are_put_back)
{
    compare_round_trip(false);
}

TEST(written, native_large_overlapping_copies_and_fills_are_put_back)
{
    native_cache_fresh();
    compare_round_trip(true);
    native_cache_drop();
}

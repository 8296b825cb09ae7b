/*
 * The linker (src/component/link*.c) on small components assembled byte by
 * byte (core modules from wat2wasm): import linking against WASI 0.2 and
 * its error messages (an interface Spry lacks, an incompatible version, a
 * missing function, a function of another type, a world function), a
 * types-only import, the public API running a wasi:cli/run export, a guest
 * export returning an out-of-range discriminant, a lift of a nested
 * instance lowered (component-to-component calls: test_link_compose.c),
 * and a pool switching between components.
 */
#include "harness/test.h"

#include "base/alloc.h"
#include "component/binary.h"
#include "component/link.h"
#include "component/wit.h"
#include "spry/component.h"
#include "spry/pool.h"
#include "unit/wasm/wat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a byte builder (as test_binary.c's) ----------------------------------------- */

struct bb {
    uint8_t *p;
    size_t n, cap;
};

static void bb_raw(struct bb *b, const void *s, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        ASSERT_NOT_NULL(b->p);
    }
    if (n > 0)
        memcpy(b->p + b->n, s, n);
    b->n += n;
}

#define B(b, ...) bb_raw(b, (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

static void bb_u32(struct bb *b, uint32_t v)
{
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        if (v != 0)
            byte |= 0x80;
        bb_raw(b, &byte, 1);
    } while (v != 0);
}

static void bb_str(struct bb *b, const char *s)
{
    bb_u32(b, (uint32_t)strlen(s));
    bb_raw(b, s, strlen(s));
}

/* An extern name (0x00: a plain or interface name). */
static void bb_name(struct bb *b, const char *s)
{
    B(b, 0x00);
    bb_str(b, s);
}

/* Appends section `id` holding `count` entries from c, and frees c. */
static void bb_section(struct bb *b, uint8_t id, uint32_t count, struct bb *c)
{
    struct bb s = {0};
    bb_u32(&s, count);
    bb_raw(&s, c->p, c->n);
    B(b, id);
    bb_u32(b, (uint32_t)s.n);
    bb_raw(b, s.p, s.n);
    free(s.p);
    free(c->p);
    *c = (struct bb){0};
}

/* A core module section from WebAssembly text. */
static void bb_core_module(struct bb *b, const char *wat)
{
    uint8_t *m;
    size_t len;
    wat_compile(wat, &m, &len);
    B(b, 1);
    bb_u32(b, (uint32_t)len);
    bb_raw(b, m, len);
    free(m);
}

static void bb_preamble(struct bb *b)
{
    bb_raw(b, "\0asm\x0d\x00\x01\x00", 8);
}

enum {
    SEC_CORE_INSTANCE = 2,
    SEC_COMPONENT = 4,
    SEC_INSTANCE = 5,
    SEC_ALIAS = 6,
    SEC_TYPE = 7,
    SEC_CANON = 8,
    SEC_IMPORT = 10,
    SEC_EXPORT = 11
};
enum { VT_BOOL = 0x7f, VT_U8 = 0x7d, VT_U32 = 0x79, VT_STRING = 0x73 };

/* Section 7 with one instance type exporting function `func` of type
 * `params -> result` (written by the caller as functype bytes), then an
 * import of it named `iface`. The instance's types: 0 = the caller's value
 * type (when vt_len > 0), then the function type. */
static void import_iface(struct bb *b, const char *iface, const char *func, const uint8_t *valtype,
                         size_t vt_len, const uint8_t *functype, size_t ft_len)
{
    struct bb t = {0};
    B(&t, 0x42);
    bb_u32(&t, vt_len > 0 ? 3 : 2);
    if (vt_len > 0) {
        B(&t, 0x01);
        bb_raw(&t, valtype, vt_len);
    }
    B(&t, 0x01);
    bb_raw(&t, functype, ft_len);
    B(&t, 0x04);
    bb_name(&t, func);
    B(&t, 0x01, vt_len > 0 ? 1 : 0); /* func of the instance's type 0 or 1 */
    bb_section(b, SEC_TYPE, 1, &t);
    struct bb i = {0};
    bb_name(&i, iface);
    B(&i, 0x05, 0x00); /* instance of type 0 */
    bb_section(b, SEC_IMPORT, 1, &i);
}

/* ---- linking -------------------------------------------------------------------------- */

static struct spry_pool *pool;

static struct spry_pool *test_pool(void)
{
    if (pool == NULL) {
        struct spry_pool_config pc;
        spry_pool_config_init(&pc);
        pc.slots = 2;
        struct spry_report r;
        spry_report_init(&r);
        ASSERT_OK(spry_pool_create(&pc, &pool, &r));
    }
    return pool;
}

/* Links b against WASI 0.2: returns the code, the message in *msg. */
static int link_wasi(const struct bb *b, char *msg, size_t n)
{
    struct cbin *bin = NULL;
    struct spry_report r;
    spry_report_init(&r);
    int rc = cbin_decode(b->p, b->n, NULL, &bin, &r);
    if (rc != 0)
        ASSERT_EQ_STR(r.message, "");
    struct clink *l = NULL;
    rc = clink_create(test_pool(), clink_host_wasip2(), bin, NULL, &l, &r);
    snprintf(msg, n, "%s", r.message);
    if (rc != 0)
        ASSERT_NULL(l);
    clink_destroy(l);
    cbin_destroy(bin);
    return rc;
}

static void expect_unlinkable(const struct bb *b, const char *want)
{
    char msg[512];
    ASSERT_EQ_INT(link_wasi(b, msg, sizeof msg), SPRY_EUNLINKABLE);
    ASSERT_EQ_STR(msg, want);
}

/* func() -> list<u8>: type 0 is list<u8>. */
static const uint8_t list_u8[] = {0x70, VT_U8};
static const uint8_t list_string[] = {0x70, VT_STRING};
static const uint8_t func_to_type0[] = {0x40, 0x00, 0x00, 0x00};

TEST(link, an_interface_spry_lacks_is_named)
{
    struct bb b = {0};
    bb_preamble(&b);
    import_iface(&b, "wasi:http/types@0.2.3", "f", NULL, 0, (const uint8_t[]){0x40, 0, 1, 0}, 4);
    expect_unlinkable(&b, "import wasi:http/types@0.2.3: Spry does not provide the interface "
                          "wasi:http/types");
    free(b.p);
}

TEST(link, a_function_of_another_type_is_named)
{
    struct bb b = {0};
    bb_preamble(&b);
    import_iface(&b, "wasi:cli/environment@0.2.3", "get-arguments", list_u8, 2, func_to_type0, 4);
    expect_unlinkable(&b, "import wasi:cli/environment@0.2.3: function 'get-arguments' has "
                          "another type in the host: the component wants func() -> list<u8>, "
                          "the host has func() -> list<string>");
    free(b.p);
}

TEST(link, a_function_the_host_lacks_is_named)
{
    struct bb b = {0};
    bb_preamble(&b);
    import_iface(&b, "wasi:cli/environment@0.2.0", "get-everything", list_string, 2, func_to_type0,
                 4);
    expect_unlinkable(&b, "import wasi:cli/environment@0.2.0: function 'get-everything' is not "
                          "provided by the host's wasi:cli/environment@0.2.12");
    free(b.p);
}

TEST(link, versions_need_the_same_major_and_for_0x_the_same_minor)
{
    struct bb b = {0};
    char msg[512];
    static const char *const ok[] = {"0.2.0", "0.2.3", "0.2.12", "0.2.99"};
    static const char *const bad[] = {"0.3.0", "0.1.9", "1.0.0"};
    for (size_t i = 0; i < 4; i++) {
        char name[64];
        snprintf(name, sizeof name, "wasi:cli/environment@%s", ok[i]);
        b.n = 0;
        bb_preamble(&b);
        import_iface(&b, name, "get-arguments", list_string, 2, func_to_type0, 4);
        /* Linked; then there is nothing to run. */
        ASSERT_EQ_INT(link_wasi(&b, msg, sizeof msg), SPRY_EUNSUPPORTED);
        ASSERT_EQ_STR(msg, "the component has no core instances: nothing to run");
    }
    for (size_t i = 0; i < 3; i++) {
        char name[64], want[256];
        snprintf(name, sizeof name, "wasi:cli/environment@%s", bad[i]);
        b.n = 0;
        bb_preamble(&b);
        import_iface(&b, name, "get-arguments", list_string, 2, func_to_type0, 4);
        snprintf(want, sizeof want,
                 "import %s: the host provides wasi:cli/environment@0.2.12, which is not "
                 "compatible (same major version needed, and the same minor for 0.x)",
                 name);
        expect_unlinkable(&b, want);
    }
    ASSERT_TRUE(wit_version_compatible("0.2.6", 5, "0.2.12", 6));
    ASSERT_FALSE(wit_version_compatible("0.2.6", 5, "0.3.0", 5));
    ASSERT_TRUE(wit_version_compatible("1.2.0", 5, "1.0.0", 5));
    ASSERT_FALSE(wit_version_compatible("2.0.0", 5, "1.0.0", 5));
    free(b.p);
}

TEST(link, a_world_function_the_host_lacks_is_named)
{
    struct bb b = {0}, t = {0}, i = {0};
    bb_preamble(&b);
    B(&t, 0x40, 0x01), bb_str(&t, "msg"), B(&t, VT_STRING, 0x01, 0x00); /* func(msg: string) */
    bb_section(&b, SEC_TYPE, 1, &t);
    bb_name(&i, "log");
    B(&i, 0x01, 0x00);
    bb_section(&b, SEC_IMPORT, 1, &i);
    expect_unlinkable(&b, "import 'log': the host provides no world functions");
    free(b.p);
}

/* ---- components that run ---------------------------------------------------------------- */

/*
 * A command: optionally imports wasi:clocks/wall-clock@0.2.3 for its
 * `datetime` type only; a core module whose `run` returns `status`; that
 * lifted as func() -> result and exported as wasi:cli/run@0.2.3's `run`.
 */
static void command(struct bb *b, int status, bool types_import)
{
    bb_preamble(b);
    uint32_t ninst = 0;
    if (types_import) {
        struct bb t = {0}, i = {0};
        /* instance { type datetime = record {seconds: u64, nanoseconds: u32};
         *            export "datetime" (type (eq 0)) } */
        B(&t, 0x42, 0x02, 0x01, 0x72, 0x02);
        bb_str(&t, "seconds"), B(&t, 0x77);
        bb_str(&t, "nanoseconds"), B(&t, VT_U32);
        B(&t, 0x04), bb_name(&t, "datetime"), B(&t, 0x03, 0x00, 0x00);
        bb_section(b, SEC_TYPE, 1, &t);
        bb_name(&i, "wasi:clocks/wall-clock@0.2.3");
        B(&i, 0x05, 0x00);
        bb_section(b, SEC_IMPORT, 1, &i);
        ninst++;
    }
    char wat[128];
    snprintf(wat, sizeof wat, "(module (func (export \"run\") (result i32) i32.const %d))", status);
    bb_core_module(b, wat);
    struct bb ci = {0}, al = {0}, t = {0}, cn = {0}, in = {0}, ex = {0};
    B(&ci, 0x00, 0x00, 0x00); /* core instance 0 = instantiate module 0 */
    bb_section(b, SEC_CORE_INSTANCE, 1, &ci);
    B(&al, 0x00, 0x00, 0x01, 0x00), bb_str(&al, "run"); /* core func 0 */
    bb_section(b, SEC_ALIAS, 1, &al);
    uint32_t t0 = types_import ? 1 : 0;
    B(&t, 0x6a, 0x00, 0x00);              /* result */
    B(&t, 0x40, 0x00, 0x00, (uint8_t)t0); /* func() -> result */
    bb_section(b, SEC_TYPE, 2, &t);
    B(&cn, 0x00, 0x00, 0x00, 0x00, (uint8_t)(t0 + 1)); /* lift core func 0, no options */
    bb_section(b, SEC_CANON, 1, &cn);
    B(&in, 0x01, 0x01), bb_name(&in, "run"), B(&in, 0x01, 0x00); /* bundle {run: func 0} */
    bb_section(b, SEC_INSTANCE, 1, &in);
    bb_name(&ex, "wasi:cli/run@0.2.3");
    B(&ex, 0x05, (uint8_t)ninst, 0x00);
    bb_section(b, SEC_EXPORT, 1, &ex);
}

static int run_command(const struct bb *b, struct spry_trap *trap)
{
    struct spry_component *c = NULL;
    struct spry_report r;
    spry_report_init(&r);
    int rc = spry_component_load(test_pool(), b->p, b->n, &c, &r);
    if (rc != 0)
        ASSERT_EQ_STR(r.message, "");
    ASSERT_TRUE(spry_component_is_command(c));
    struct spry_wasi_config config = {0};
    for (int i = 0; i < 3; i++)
        config.stdio[i].kind = SPRY_WASI_STDIO_NULL;
    rc = spry_component_run(c, &config, trap, &r);
    spry_component_destroy(c);
    return rc;
}

TEST(link, a_command_runs_through_the_public_api)
{
    struct bb b = {0};
    command(&b, 0, true);
    ASSERT_TRUE(spry_component_detect(b.p, b.n));
    struct spry_trap trap;
    ASSERT_OK(run_command(&b, &trap));
    free(b.p);
    b = (struct bb){0};
    command(&b, 1, false); /* run returns err: status 1 */
    ASSERT_EQ_INT(run_command(&b, &trap), SPRY_EEXIT);
    ASSERT_EQ_INT(trap.exit_code, 1);
    free(b.p);
}

TEST(link, exports_are_found_by_compatible_version)
{
    struct bb b = {0};
    command(&b, 0, false);
    struct cbin *bin;
    struct spry_report r;
    spry_report_init(&r);
    ASSERT_OK(cbin_decode(b.p, b.n, NULL, &bin, &r));
    struct clink *l;
    ASSERT_OK(clink_create(test_pool(), clink_host_wasip2(), bin, NULL, &l, &r));
    ASSERT_NOT_NULL(clink_export_find(l, "wasi:cli/run@0.2.3", "run"));
    ASSERT_NOT_NULL(clink_export_find(l, "wasi:cli/run@0.2.0", "run"));
    ASSERT_NULL(clink_export_find(l, "wasi:cli/run@0.3.0", "run"));
    ASSERT_NULL(clink_export_find(l, "wasi:cli/run", "run"));
    ASSERT_NULL(clink_export_find(l, NULL, "run"));
    size_t n;
    const struct clink_export *all = clink_exports(l, &n);
    ASSERT_EQ_UINT(n, 1);
    ASSERT_EQ_STR(all[0].iface, "wasi:cli/run@0.2.3");
    clink_destroy(l);
    cbin_destroy(bin);
    free(b.p);
}

/* A component exporting `f: func() -> enum {a, b}` whose core function
 * returns `value`. */
static void enum_export(struct bb *b, int value)
{
    bb_preamble(b);
    char wat[128];
    snprintf(wat, sizeof wat, "(module (func (export \"f\") (result i32) i32.const %d))", value);
    bb_core_module(b, wat);
    struct bb ci = {0}, al = {0}, t = {0}, cn = {0}, ex = {0};
    B(&ci, 0x00, 0x00, 0x00);
    bb_section(b, SEC_CORE_INSTANCE, 1, &ci);
    B(&al, 0x00, 0x00, 0x01, 0x00), bb_str(&al, "f");
    bb_section(b, SEC_ALIAS, 1, &al);
    B(&t, 0x6d, 0x02), bb_str(&t, "a"), bb_str(&t, "b"); /* 0: enum {a, b} */
    B(&t, 0x40, 0x00, 0x00, 0x00);                       /* 1: func() -> 0 */
    bb_section(b, SEC_TYPE, 2, &t);
    B(&cn, 0x00, 0x00, 0x00, 0x00, 0x01);
    bb_section(b, SEC_CANON, 1, &cn);
    bb_name(&ex, "f");
    B(&ex, 0x01, 0x00, 0x00);
    bb_section(b, SEC_EXPORT, 1, &ex);
}

TEST(link, a_guest_returning_a_bad_discriminant_traps)
{
    struct bb b = {0};
    enum_export(&b, 2);
    struct cbin *bin;
    struct spry_report r;
    spry_report_init(&r);
    ASSERT_OK(cbin_decode(b.p, b.n, NULL, &bin, &r));
    struct clink *l;
    ASSERT_OK(clink_create(test_pool(), clink_host_wasip2(), bin, NULL, &l, &r));
    const struct clink_export *f = clink_export_find(l, NULL, "f");
    ASSERT_NOT_NULL(f);
    struct cinst *ci;
    struct spry_trap trap;
    ASSERT_OK(clink_acquire(l, &ci, &r, &trap));
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    struct cval v;
    ASSERT_EQ_INT(clink_call(ci, f, NULL, &arena, &v, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "f: discriminant 2 is out of range for enum with 2 cases");
    /* After a trap the instance cannot be entered; a new one can. */
    ASSERT_EQ_INT(clink_call(ci, f, NULL, &arena, &v, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "f: cannot enter the component instance (it is running or "
                                "trapped)");
    clink_release(ci);
    ASSERT_OK(clink_acquire(l, &ci, &r, &trap));
    ASSERT_EQ_INT(clink_call(ci, f, NULL, &arena, &v, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "f: discriminant 2 is out of range for enum with 2 cases");
    clink_release(ci);
    spry_arena_fini(&arena);
    clink_destroy(l);
    cbin_destroy(bin);
    free(b.p);
}

TEST(link, a_nested_instance_lift_lowered_links)
{
    /* The root instantiates a nested component that lifts `f`, aliases
     * the instance's `f` and lowers it. */
    struct bb inner = {0}, b = {0};
    enum_export(&inner, 0);
    bb_preamble(&b);
    B(&b, SEC_COMPONENT);
    bb_u32(&b, (uint32_t)inner.n);
    bb_raw(&b, inner.p, inner.n);
    struct bb in = {0}, al = {0}, cn = {0};
    B(&in, 0x00, 0x00, 0x00); /* instance 0 = instantiate component 0 */
    bb_section(&b, SEC_INSTANCE, 1, &in);
    B(&al, 0x01, 0x00, 0x00), bb_str(&al, "f"); /* func 0 = instance 0's f */
    bb_section(&b, SEC_ALIAS, 1, &al);
    B(&cn, 0x01, 0x00, 0x00, 0x00); /* core func 0 = lower func 0 */
    bb_section(&b, SEC_CANON, 1, &cn);
    char msg[512];
    /* test_link_compose.c calls such functions. */
    ASSERT_EQ_INT(link_wasi(&b, msg, sizeof msg), 0);
    free(inner.p);
    free(b.p);
}

TEST(link, a_pool_serves_several_components)
{
    /* Two components share a two-slot pool; slots switch between them and
     * each acquire gets its own component's instance. */
    struct bb b0 = {0}, b1 = {0};
    enum_export(&b0, 0);
    enum_export(&b1, 1);
    struct cbin *bin[2];
    struct clink *l[2];
    struct spry_report r;
    spry_report_init(&r);
    ASSERT_OK(cbin_decode(b0.p, b0.n, NULL, &bin[0], &r));
    ASSERT_OK(cbin_decode(b1.p, b1.n, NULL, &bin[1], &r));
    for (int k = 0; k < 2; k++)
        ASSERT_OK(clink_create(test_pool(), clink_host_wasip2(), bin[k], NULL, &l[k], &r));
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    for (int i = 0; i < 50; i++) {
        struct cinst *ci[3];
        int which[3] = {i % 2, (i + 1) % 2, i % 2};
        struct spry_trap trap;
        for (int k = 0; k < 2; k++)
            ASSERT_OK(clink_acquire(l[which[k]], &ci[k], &r, &trap));
        for (int k = 0; k < 2; k++) {
            struct cval v;
            ASSERT_OK(clink_call(ci[k], clink_export_find(l[which[k]], NULL, "f"), NULL, &arena, &v,
                                 &trap));
            ASSERT_EQ_UINT(v.of.var.disc, (uint32_t)which[k]);
            ASSERT_TRUE(clink_of(ci[k]) == l[which[k]]);
        }
        for (int k = 0; k < 2; k++)
            clink_release(ci[k]);
    }
    spry_arena_fini(&arena);
    for (int k = 0; k < 2; k++) {
        clink_destroy(l[k]);
        cbin_destroy(bin[k]);
    }
    free(b0.p);
    free(b1.p);
}

TEST(link, allocation_failures_are_reported_and_leak_nothing)
{
    struct bb b = {0};
    command(&b, 0, true);
    ASSERT_NOT_NULL(clink_host_wasip2()); /* parsed once, before failures are injected */
    struct spry_pool *p = test_pool();
    long n = 0;
    for (;; n++) {
        struct spry_report r;
        spry_report_init(&r);
        struct cbin *bin = NULL;
        struct clink *l = NULL;
        struct cinst *ci = NULL;
        struct spry_trap trap;
        struct cval v;
        struct spry_arena arena;
        spry_arena_init(&arena, 1 << 20);
        spry_alloc_fail_after(n);
        int rc = cbin_decode(b.p, b.n, NULL, &bin, &r);
        if (rc == 0)
            rc = clink_create(p, clink_host_wasip2(), bin, NULL, &l, &r);
        if (rc == 0)
            rc = clink_acquire(l, &ci, &r, &trap);
        if (rc == 0) {
            rc = clink_call(ci, clink_export_find(l, "wasi:cli/run@0.2.3", "run"), NULL, &arena, &v,
                            &trap);
            clink_release(ci);
        }
        spry_alloc_fail_after(-1);
        spry_arena_fini(&arena);
        clink_destroy(l);
        cbin_destroy(bin);
        if (rc == 0)
            break;
        if (rc != SPRY_ENOMEM && rc != SPRY_ETRAP)
            ASSERT_EQ_STR(r.message, "out of memory");
    }
    ASSERT_GT_INT(n, 10);
    free(b.p);
}

/* Regression: an instance type that names a resource twice (wasi:http's
 * `type headers = fields` is `(export "headers" (type (eq R)))` after
 * `(export "fields" (type (sub resource)))`) was taken for two resources,
 * and the second name was looked up in the host: "resource 'headers' is
 * not provided by the host". */
TEST(link, another_name_for_an_imported_resource_is_not_a_resource_of_its_own)
{
    struct bb b = {0}, t = {0}, i = {0};
    bb_preamble(&b);
    /* instance { export "input-stream" (type (sub resource));
     *            export "body-stream" (type (eq 0)) } */
    B(&t, 0x42, 0x02);
    B(&t, 0x04), bb_name(&t, "input-stream"), B(&t, 0x03, 0x01);
    B(&t, 0x04), bb_name(&t, "body-stream"), B(&t, 0x03, 0x00, 0x00);
    bb_section(&b, SEC_TYPE, 1, &t);
    bb_name(&i, "wasi:io/streams@0.2.3");
    B(&i, 0x05, 0x00);
    bb_section(&b, SEC_IMPORT, 1, &i);
    bb_core_module(&b, "(module)");
    struct bb ci = {0};
    B(&ci, 0x00, 0x00, 0x00); /* core instance 0 = instantiate module 0 */
    bb_section(&b, SEC_CORE_INSTANCE, 1, &ci);
    char msg[512];
    int rc = link_wasi(&b, msg, sizeof msg);
    ASSERT_EQ_STR(msg, "");
    ASSERT_OK(rc);
    free(b.p);
}

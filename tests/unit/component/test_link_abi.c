/*
 * The canonical-ABI guest (tests/components/abi, built by
 * scripts/build-abi-guest.sh in three string encodings) linked against a
 * test host and run end to end: the world's `run` (which calls every host
 * import and checks what comes back), every export of spry:abi/guest with
 * the arguments of tests/components/abi/README.md and the values that file
 * derives from the WIT, the exported resource's life cycle, and host
 * misbehaviour that must trap with a message naming the function.
 *
 * The components need the jco toolchain (node >= 20.19 + npm); without them
 * the tests skip and say how to build them.
 */
#include "harness/test.h"

#include "component/binary.h"
#include "component/link.h"
#include "component/link_impl.h"
#include "spry/pool.h"
#include "unit/component/cbuild.h"
#include "unit/component/cval_text.h"
#include "wasm/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the test host ------------------------------------------------------------ */

static const char types_wit[] =
    "record point { x: s32, y: s32 }\n"
    "record item { name: string, tags: list<string>, points: list<point> }\n"
    "record group { label: string, items: list<item> }\n"
    "record scalars {\n"
    "    b: bool, v-s8: s8, v-u8: u8, v-s16: s16, v-u16: u16, v-s32: s32, v-u32: u32,\n"
    "    v-s64: s64, v-u64: u64, v-f32: f32, v-f64: f64, c: char,\n"
    "}\n"
    "flags small { read, write, exec }\n"
    "flags big { b00, b01, b02, b03, b04, b05, b06, b07, b08, b09, b10, b11, b12, b13, b14,\n"
    "    b15, b16, b17, b18, b19, b20, b21, b22, b23, b24, b25, b26, b27, b28, b29, b30, b31 }\n"
    "enum color { red, green, blue }\n"
    "variant shape { none, circle(f32), rect(point), label(string), big(u64), tiny(u8) }\n";

static const char host_wit[] =
    "use spry:abi/types@0.1.0.{point, item, group, scalars, small, big, color, shape};\n"
    "resource blob {\n"
    "    constructor(init: list<u8>);\n"
    "    write: func(bytes: list<u8>);\n"
    "    read: func(n: u32) -> list<u8>;\n"
    "    size: func() -> u32;\n"
    "    merge: static func(a: borrow<blob>, b: borrow<blob>) -> blob;\n"
    "}\n"
    "consume: func(b: blob) -> u32;\n"
    "host-scalars: func(b: bool, v-s8: s8, v-u8: u8, v-s16: s16, v-u16: u16, v-s32: s32,\n"
    "    v-u32: u32, v-s64: s64, v-u64: u64, v-f32: f32, v-f64: f64, c: char) -> scalars;\n"
    "host-sum-many: func(a: u8, b: s8, c: u16, d: s16, e: u32, f: s32, g: u64, h: s64, i: f32,\n"
    "    j: f64, k: u32, l: u32, m: u32, n: u32, o: u32, p: u32, q: u32) -> f64;\n"
    "host-strings: func(s: string, l: list<string>) -> list<string>;\n"
    "host-group: func(g: group) -> group;\n"
    "host-variants: func(s: shape, c: color, f: big, o: option<string>)\n"
    "    -> tuple<shape, color, big, option<string>>;\n"
    "host-results: func(a: result<u32>, b: result<_, string>, c: result<string, u8>, d: result)\n"
    "    -> tuple<result<u32>, result<_, string>, result<string, u8>, result>;\n";

static const char world_wit[] = "log: func(msg: string);\n";

/* What the host can be told to get wrong. */
enum misbehave { HOST_OK, HOST_BAD_ENUM, HOST_BAD_UTF8, HOST_BAD_KIND };
static enum misbehave host_mode;

enum { MAX_BLOBS = 64, MAX_LOG = 16 };
static struct blob {
    uint8_t *data;
    size_t len;
    bool live;
} blobs[MAX_BLOBS];
static unsigned blobs_created, blobs_live;
static char *logged[MAX_LOG];
static unsigned nlogged;

static int new_blob(struct ccall *call, const void *a, size_t alen, const void *b, size_t blen,
                    struct cval *result)
{
    if (host_mode == HOST_BAD_KIND) {
        *result = cv_u(CT_U32, 1); /* not a handle */
        return 0;
    }
    if (blobs_created >= MAX_BLOBS)
        return ccall_trap(call, "test host: too many blobs");
    struct blob *bl = &blobs[blobs_created++];
    bl->data = malloc(alen + blen + 1);
    ASSERT_NOT_NULL(bl->data);
    if (alen > 0)
        memcpy(bl->data, a, alen);
    if (blen > 0)
        memcpy(bl->data + alen, b, blen);
    bl->len = alen + blen;
    bl->live = true;
    blobs_live++;
    result->kind = CT_OWN;
    result->of.rep = blobs_created; /* index + 1 */
    return 0;
}

static struct blob *blob_of(uint32_t rep)
{
    ASSERT_TRUE(rep >= 1 && rep <= blobs_created && blobs[rep - 1].live);
    return &blobs[rep - 1];
}

static void blob_free(uint32_t rep)
{
    struct blob *b = blob_of(rep);
    free(b->data);
    b->data = NULL;
    b->live = false;
    blobs_live--;
}

static void blob_drop(struct ccall *call, uint32_t rep)
{
    (void)call;
    blob_free(rep);
}

static int blob_new(struct ccall *call, const struct cval *args, struct cval *result)
{
    return new_blob(call, args[0].of.raw.ptr, args[0].of.raw.n, NULL, 0, result);
}

static int blob_write(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)call;
    (void)result;
    struct blob *b = blob_of(args[0].of.rep);
    uint8_t *d = realloc(b->data, b->len + args[1].of.raw.n + 1);
    ASSERT_NOT_NULL(d);
    memcpy(d + b->len, args[1].of.raw.ptr, args[1].of.raw.n);
    b->data = d;
    b->len += args[1].of.raw.n;
    return 0;
}

static int blob_read(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct blob *b = blob_of(args[0].of.rep);
    size_t n = args[1].of.u < b->len ? args[1].of.u : b->len;
    uint8_t *p = spry_arena_alloc(call->arena, n + 1);
    ASSERT_NOT_NULL(p);
    memcpy(p, b->data, n);
    result->kind = CT_LIST;
    result->of.raw.ptr = p;
    result->of.raw.n = n;
    return 0;
}

static int blob_size(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)call;
    *result = cv_u(CT_U32, blob_of(args[0].of.rep)->len);
    return 0;
}

static int blob_merge(struct ccall *call, const struct cval *args, struct cval *result)
{
    const struct blob *a = blob_of(args[0].of.rep), *b = blob_of(args[1].of.rep);
    return new_blob(call, a->data, a->len, b->data, b->len, result);
}

static int consume(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)call;
    *result = cv_u(CT_U32, blob_of(args[0].of.rep)->len);
    blob_free(args[0].of.rep);
    return 0;
}

static struct cval *copy_vals(struct ccall *call, const struct cval *v, size_t n)
{
    struct cval *c = spry_arena_alloc_array(call->arena, n + 1, sizeof *c);
    ASSERT_NOT_NULL(c);
    memcpy(c, v, n * sizeof *c);
    return c;
}

static int host_scalars(struct ccall *call, const struct cval *args, struct cval *result)
{
    result->kind = CT_RECORD;
    result->of.list.v = copy_vals(call, args, 12);
    result->of.list.n = 12;
    return 0;
}

static int host_sum_many(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)call;
    double sum = 0;
    for (int i = 0; i < 17; i++) {
        const struct cval *a = &args[i];
        switch (a->kind) {
        case CT_S8:
        case CT_S16:
        case CT_S32:
        case CT_S64:
            sum += (double)a->of.s;
            break;
        case CT_F32:
            sum += a->of.f32;
            break;
        case CT_F64:
            sum += a->of.f64;
            break;
        default:
            sum += (double)a->of.u;
        }
    }
    *result = cv_f64(sum);
    return 0;
}

static int host_strings(struct ccall *call, const struct cval *args, struct cval *result)
{
    size_t n = args[1].of.list.n;
    struct cval *v = spry_arena_alloc_array(call->arena, n + 1, sizeof *v);
    ASSERT_NOT_NULL(v);
    v[0] = args[0];
    if (n > 0)
        memcpy(v + 1, args[1].of.list.v, n * sizeof *v);
    if (host_mode == HOST_BAD_UTF8)
        v[0] = cv_strn("bad \xff byte", 10);
    result->kind = CT_LIST;
    result->of.list.v = v;
    result->of.list.n = n + 1;
    return 0;
}

static int host_group(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)call;
    *result = args[0];
    return 0;
}

static int host_tuple4(struct ccall *call, const struct cval *args, struct cval *result)
{
    result->kind = CT_TUPLE;
    result->of.list.v = copy_vals(call, args, 4);
    result->of.list.n = 4;
    if (host_mode == HOST_BAD_ENUM && result->of.list.v[1].kind == CT_ENUM)
        result->of.list.v[1].of.var.disc = 3; /* color has 3 cases */
    return 0;
}

static int log_fn(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)call;
    (void)result;
    if (nlogged < MAX_LOG)
        logged[nlogged++] = strndup(args[0].of.str.ptr, args[0].of.str.len);
    return 0;
}

static const struct chost_resource host_resources[] = {{"blob", blob_drop}};
static const struct chost_func host_funcs[] = {
    {"[constructor]blob", blob_new},    {"[method]blob.write", blob_write},
    {"[method]blob.read", blob_read},   {"[method]blob.size", blob_size},
    {"[static]blob.merge", blob_merge}, {"consume", consume},
    {"host-scalars", host_scalars},     {"host-sum-many", host_sum_many},
    {"host-strings", host_strings},     {"host-group", host_group},
    {"host-variants", host_tuple4},     {"host-results", host_tuple4},
};
static const struct chost_func world_funcs[] = {{"log", log_fn}};

static const struct chost_iface abi_ifaces[] = {
    {.name = "spry:abi/types", .version = "0.1.0", .wit = types_wit},
    {.name = "spry:abi/host",
     .version = "0.1.0",
     .wit = host_wit,
     .resources = host_resources,
     .nresources = 1,
     .funcs = host_funcs,
     .nfuncs = sizeof host_funcs / sizeof host_funcs[0]},
    {.name = "", .wit = world_wit, .funcs = world_funcs, .nfuncs = 1},
};

/* ---- the component ------------------------------------------------------------- */

static struct {
    struct clink_host *host;
    struct cbin *bin;
    struct spry_pool *pool;
    struct clink *link;
    struct cinst *ci;
    struct spry_arena arena;
    struct spry_trap trap;
    char text[4096];
} A;

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ASSERT_NOT_NULL(f);
    ASSERT_OK(fseek(f, 0, SEEK_END));
    long n = ftell(f);
    ASSERT_GT_INT(n, 0);
    rewind(f);
    uint8_t *p = malloc((size_t)n);
    ASSERT_NOT_NULL(p);
    ASSERT_EQ_UINT(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* Loads abi-VARIANT.wasm, links it against the test host, acquires an
 * instance; skips when the toolchain never built the component. */
static void abi_setup(const char *variant)
{
    char rel[128];
    snprintf(rel, sizeof rel, "components/abi/abi-%s.wasm", variant);
    const char *path = test_build_path(rel);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        test_skip("%s is not built (scripts/build-abi-guest.sh BUILD needs node >= 20.19 and "
                  "npm; make test builds it when they are there)",
                  path);
    fclose(f);
    size_t len;
    uint8_t *bytes = read_all(path, &len);
    struct spry_report r;
    spry_report_init(&r);
    ASSERT_OK(clink_host_create(abi_ifaces, 3, &A.host, &r));
    int rc = cbin_decode(bytes, len, NULL, &A.bin, &r);
    free(bytes);
    if (rc != 0)
        ASSERT_EQ_STR(r.message, "");
    struct spry_pool_config pc;
    spry_pool_config_init(&pc);
    pc.slots = 1;
    ASSERT_OK(spry_pool_create(&pc, &A.pool, &r));
    rc = clink_create(A.pool, A.host, A.bin, NULL, &A.link, &r);
    if (rc != 0)
        ASSERT_EQ_STR(r.message, "");
    rc = clink_acquire(A.link, &A.ci, &r, &A.trap);
    if (rc != 0)
        ASSERT_EQ_STR(r.message, "");
    spry_arena_init(&A.arena, 64 << 20);
}

static void abi_teardown(void)
{
    if (A.ci != NULL)
        clink_release(A.ci);
    A.ci = NULL;
    clink_destroy(A.link);
    spry_pool_destroy(A.pool);
    cbin_destroy(A.bin);
    clink_host_destroy(A.host);
    spry_arena_fini(&A.arena);
    ASSERT_EQ_UINT(blobs_live, 0);
}

static const struct clink_export *guest_export(const char *name)
{
    const struct clink_export *e = clink_export_find(A.link, "spry:abi/guest@0.1.0", name);
    if (e == NULL)
        ASSERT_EQ_STR(name, "an export of spry:abi/guest@0.1.0");
    return e;
}

/* Calls an export and returns its result as text ("()" without one,
 * "trap: MESSAGE" after a trap). The result value is in *out when not NULL. */
static const char *call_e(const struct clink_export *e, const struct cval *args, struct cval *out)
{
    struct cval result;
    memset(&result, 0, sizeof result);
    memset(&A.trap, 0, sizeof A.trap);
    int rc = clink_call(A.ci, e, args, &A.arena, &result, &A.trap);
    if (rc == SPRY_ETRAP) {
        snprintf(A.text, sizeof A.text, "trap: %s", A.trap.message);
        return A.text;
    }
    ASSERT_OK(rc);
    if (out != NULL)
        *out = result;
    if (e->type->result == NULL)
        return "()";
    return cval_text(A.text, sizeof A.text, e->type->result, &result);
}

static const char *call(const char *name, const struct cval *args)
{
    return call_e(guest_export(name), args, NULL);
}

static uint64_t call_u(const char *name, const struct cval *args)
{
    struct cval r;
    call_e(guest_export(name), args, &r);
    return r.of.u;
}

#define ARGS(...) ((const struct cval[]){__VA_ARGS__})

/* "héllo wörld ☃ 😀": latin1, BMP and astral code points, 15 in all. */
#define BIG "h\xc3\xa9llo w\xc3\xb6rld \xe2\x98\x83 \xf0\x9f\x98\x80"

/* ---- run ------------------------------------------------------------------------ */

static void run_checks(const char *variant)
{
    abi_setup(variant);
    const struct clink_export *run = clink_export_find(A.link, NULL, "run");
    ASSERT_NOT_NULL(run);
    ASSERT_EQ_STR(call_e(run, NULL, NULL), "ok");
    ASSERT_EQ_UINT(nlogged, 2);
    ASSERT_EQ_STR(logged[0], "run: start");
    ASSERT_EQ_STR(logged[1], "run: done");
    /* Three constructed and one merged; all consumed or dropped. */
    ASSERT_EQ_UINT(blobs_created, 4);
    ASSERT_EQ_UINT(blobs_live, 0);
    ASSERT_EQ_UINT(call_u("post-returns", NULL), 1); /* run's */
    abi_teardown();
}

TEST(link_abi, run_utf8)
{
    run_checks("utf8");
}

TEST(link_abi, run_utf16)
{
    run_checks("utf16");
}

TEST(link_abi, run_latin1_utf16)
{
    run_checks("latin1-utf16");
}

/* ---- exports --------------------------------------------------------------------- */

static struct cval scalars_args[12];

static const struct cval *scalars(bool b, int64_t s8, uint64_t u8, int64_t s16, uint64_t u16,
                                  int64_t s32, uint64_t u32, int64_t s64, uint64_t u64, float f32,
                                  double f64, uint32_t c)
{
    struct cval *v = scalars_args;
    v[0] = cv_bool(b);
    v[1] = cv_s(CT_S8, s8);
    v[2] = cv_u(CT_U8, u8);
    v[3] = cv_s(CT_S16, s16);
    v[4] = cv_u(CT_U16, u16);
    v[5] = cv_s(CT_S32, s32);
    v[6] = cv_u(CT_U32, u32);
    v[7] = cv_s(CT_S64, s64);
    v[8] = cv_u(CT_U64, u64);
    v[9] = cv_f32(f32);
    v[10] = cv_f64(f64);
    v[11] = cv_char(c);
    return v;
}

static struct cval point(int32_t x, int32_t y)
{
    return cv_record(CT_RECORD, 2, cv_s(CT_S32, x), cv_s(CT_S32, y));
}

/* The README's G. */
static struct cval group_g(void)
{
    struct cval p1 = cv_list(2, point(1, 2), point(-3, 4));
    struct cval p3 = cv_list(1, point(2147483647, -2147483647 - 1));
    struct cval i1 =
        cv_record(CT_RECORD, 3, cv_str("first"), cv_list(2, cv_str("x"), cv_str("y")), p1);
    struct cval i2 = cv_record(CT_RECORD, 3, cv_str(""), cv_list(0), cv_list(0));
    struct cval i3 = cv_record(CT_RECORD, 3, cv_str("third \xe2\x98\x83"),
                               cv_list(1, cv_str("\xf0\x9f\x98\x80")), p3);
    return cv_record(CT_RECORD, 2, cv_str("outer"), cv_list(3, i1, i2, i3));
}

static const char group_g_text[] =
    "{label: \"outer\", items: [{name: \"first\", tags: [\"x\", \"y\"], points: [{x: 1, y: 2}, "
    "{x: -3, y: 4}]}, {name: \"\", tags: [], points: []}, {name: \"third \xe2\x98\x83\", tags: "
    "[\"\xf0\x9f\x98\x80\"], points: [{x: 2147483647, y: -2147483648}]}]}";

static void export_checks(const char *variant)
{
    abi_setup(variant);
    uint64_t posts = 0;
    ASSERT_EQ_UINT(call_u("post-returns", NULL), 0);

    ASSERT_EQ_STR(
        call("echo-scalars", scalars(true, 127, 255, 32767, 65535, 2147483647, 4294967295u,
                                     INT64_MAX, UINT64_MAX, 1.5f, -0.25, 0x1F600)),
        "{b: false, v-s8: -128, v-u8: 0, v-s16: -32768, v-u16: 0, v-s32: -2147483648, "
        "v-u32: 0, v-s64: -9223372036854775808, v-u64: 0, v-f32: -1.5, v-f64: 0.25, "
        "c: 'U+1F600'}");
    ASSERT_EQ_STR(call("echo-scalars", scalars(false, -5, 7, -300, 300, -70000, 70000, -5000000000,
                                               5000000000u, 0.0f, 2.5, 'a')),
                  "{b: true, v-s8: -4, v-u8: 8, v-s16: -299, v-u16: 301, v-s32: -69999, "
                  "v-u32: 70001, v-s64: -4999999999, v-u64: 5000000001, v-f32: -0, "
                  "v-f64: -2.5, c: 'a'}");
    posts += 2;

    ASSERT_EQ_STR(
        call("sum-many",
             ARGS(cv_u(CT_U8, 1), cv_s(CT_S8, -2), cv_u(CT_U16, 3), cv_s(CT_S16, -4),
                  cv_u(CT_U32, 5), cv_s(CT_S32, -6), cv_u(CT_U64, 7), cv_s(CT_S64, -8),
                  cv_f32(0.5f), cv_f64(0.25), cv_u(CT_U32, 10), cv_u(CT_U32, 11), cv_u(CT_U32, 12),
                  cv_u(CT_U32, 13), cv_u(CT_U32, 14), cv_u(CT_U32, 15), cv_u(CT_U32, 16))),
        "87.75");

    struct cval strs =
        cv_list(5, cv_str(""), cv_str("a"), cv_str("h\xc3\xa9llo"),
                cv_str("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"), cv_str("\xf0\x9f\x98\x80"));
    ASSERT_EQ_STR(call("echo-strings", ARGS(cv_str(BIG), strs)),
                  "(\"" BIG
                  "!\", 15, [\"\xf0\x9f\x98\x80\", \"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\", "
                  "\"h\xc3\xa9llo\", \"a\", \"\"])");
    ASSERT_EQ_STR(call("echo-strings", ARGS(cv_str(""), cv_list(0))), "(\"!\", 0, [])");
    posts += 2;

    static const uint8_t bytes[] = {1, 2, 3, 250};
    ASSERT_EQ_STR(call("reverse-bytes", ARGS(cv_raw(bytes, 4))), "[250, 3, 2, 1]");
    ASSERT_EQ_STR(call("reverse-bytes", ARGS(cv_raw(NULL, 0))), "[]");
    posts += 2;

    ASSERT_EQ_STR(call("echo-group", ARGS(group_g())), group_g_text);
    ASSERT_EQ_STR(call("make-group", ARGS(cv_u(CT_U32, 0))), "{label: \"g0\", items: []}");
    ASSERT_EQ_STR(call("make-group", ARGS(cv_u(CT_U32, 3))),
                  "{label: \"g3\", items: [{name: \"item0\", tags: [], points: []}, "
                  "{name: \"item1\", tags: [\"t0\"], points: [{x: 1, y: 0}]}, "
                  "{name: \"item2\", tags: [\"t0\", \"t1\"], points: [{x: 2, y: 0}, "
                  "{x: 2, y: -1}]}]}");
    posts += 3;

    ASSERT_EQ_STR(call("flip-flags", ARGS(cv_flags(1), cv_flags(0x0000ffff))),
                  "({write, exec}, {b16, b17, b18, b19, b20, b21, b22, b23, b24, b25, b26, b27, "
                  "b28, b29, b30, b31})");
    ASSERT_EQ_STR(call("flip-flags", ARGS(cv_flags(7), cv_flags(0))),
                  "({}, {b00, b01, b02, b03, b04, b05, b06, b07, b08, b09, b10, b11, b12, b13, "
                  "b14, b15, b16, b17, b18, b19, b20, b21, b22, b23, b24, b25, b26, b27, b28, "
                  "b29, b30, b31})");
    posts += 2;

    ASSERT_EQ_STR(call("next-color", ARGS(cv_var(CT_ENUM, 0, NULL))), "green");
    ASSERT_EQ_STR(call("next-color", ARGS(cv_var(CT_ENUM, 1, NULL))), "blue");
    ASSERT_EQ_STR(call("next-color", ARGS(cv_var(CT_ENUM, 2, NULL))), "red");

    struct cval u32max = cv_u(CT_U32, 4294967295u), empty = cv_str(""), big = cv_str(BIG);
    ASSERT_EQ_STR(call("maybe-double", ARGS(cv_var(CT_OPTION, 0, NULL))), "none");
    ASSERT_EQ_STR(call("maybe-double", ARGS(cv_var(CT_OPTION, 1, &u32max))), "some(8589934590)");
    ASSERT_EQ_STR(call("maybe-len", ARGS(cv_var(CT_OPTION, 0, NULL))), "none");
    ASSERT_EQ_STR(call("maybe-len", ARGS(cv_var(CT_OPTION, 1, &empty))), "some(0)");
    ASSERT_EQ_STR(call("maybe-len", ARGS(cv_var(CT_OPTION, 1, &big))), "some(15)");
    posts += 5;

    ASSERT_EQ_STR(call("check-ok", ARGS(cv_u(CT_U32, 4))), "ok(5)");
    ASSERT_EQ_STR(call("check-ok", ARGS(cv_u(CT_U32, 3))), "err");
    ASSERT_EQ_STR(call("check-err", ARGS(cv_u(CT_U32, 2))), "ok");
    ASSERT_EQ_STR(call("check-err", ARGS(cv_u(CT_U32, 7))), "err(\"odd 7\")");
    ASSERT_EQ_STR(call("check-both", ARGS(cv_s(CT_S32, 42))), "ok(\"42\")");
    ASSERT_EQ_STR(call("check-both", ARGS(cv_s(CT_S32, -3))), "err(3)");
    ASSERT_EQ_STR(call("check-both", ARGS(cv_s(CT_S32, -2147483647 - 1))), "err(0)");
    ASSERT_EQ_STR(call("check-neither", ARGS(cv_bool(true))), "ok");
    ASSERT_EQ_STR(call("check-neither", ARGS(cv_bool(false))), "err");
    posts += 7;

    struct cval c15 = cv_f32(1.5f), rect = point(-1, 2), lbl = cv_str("\xc3\x9f\xe2\x98\x83");
    struct cval b64 = cv_u(CT_U64, UINT64_MAX), tiny = cv_u(CT_U8, 255);
    ASSERT_EQ_STR(call("transform", ARGS(cv_var(CT_VARIANT, 0, NULL))), "none");
    ASSERT_EQ_STR(call("transform", ARGS(cv_var(CT_VARIANT, 1, &c15))), "circle(3)");
    ASSERT_EQ_STR(call("transform", ARGS(cv_var(CT_VARIANT, 2, &rect))), "rect({x: 2, y: -1})");
    ASSERT_EQ_STR(call("transform", ARGS(cv_var(CT_VARIANT, 3, &lbl))),
                  "label(\"\xc3\x9f\xe2\x98\x83?\")");
    ASSERT_EQ_STR(call("transform", ARGS(cv_var(CT_VARIANT, 4, &b64))), "big(0)");
    ASSERT_EQ_STR(call("transform", ARGS(cv_var(CT_VARIANT, 5, &tiny))), "big(255000)");
    posts += 6;

    ASSERT_EQ_STR(call("swap-tuple", ARGS(cv_record(CT_TUPLE, 3, cv_u(CT_U8, 7),
                                                    cv_str("h\xc3\xa9llo"), cv_f64(2.5)))),
                  "(2.5, \"h\xc3\xa9llo\", 7)");
    posts += 1;

    ASSERT_EQ_UINT(call_u("post-returns", NULL), posts);
    abi_teardown();
}

TEST(link_abi, exports_utf8)
{
    export_checks("utf8");
}

TEST(link_abi, exports_utf16)
{
    export_checks("utf16");
}

TEST(link_abi, exports_latin1_utf16)
{
    export_checks("latin1-utf16");
}

/* ---- the exported resource ------------------------------------------------------- */

static void resource_checks(const char *variant)
{
    abi_setup(variant);
    const struct clink_export *ctor = guest_export("[constructor]accumulator");
    struct cval a, b, m;
    /* The host sees the representation the guest gave resource.new. */
    call_e(ctor, ARGS(cv_s(CT_S64, 10)), &a);
    ASSERT_EQ_UINT(a.kind, CT_OWN);
    struct cval ba = cv_rep(CT_BORROW, a.of.rep);
    ASSERT_EQ_STR(call("[method]accumulator.add", ARGS(ba, cv_s(CT_S64, 5))), "()");
    ASSERT_EQ_STR(call("[method]accumulator.add", ARGS(ba, cv_s(CT_S64, -20))), "()");
    ASSERT_EQ_STR(call("[method]accumulator.total", ARGS(ba)), "-5");
    call_e(ctor, ARGS(cv_s(CT_S64, 100)), &b);
    struct cval bb = cv_rep(CT_BORROW, b.of.rep);
    call_e(guest_export("[static]accumulator.merge"), ARGS(ba, bb), &m);
    ASSERT_EQ_UINT(m.kind, CT_OWN);
    ASSERT_EQ_STR(call("[method]accumulator.total", ARGS(cv_rep(CT_BORROW, m.of.rep))), "95");
    ASSERT_EQ_STR(call("live-accumulators", NULL), "3");
    ASSERT_EQ_STR(call("take-accumulator", ARGS(cv_rep(CT_OWN, m.of.rep))), "95");
    ASSERT_EQ_STR(call("live-accumulators", NULL), "2");
    /* The host owns a and b: dropping them runs the guest's destructor. */
    const struct ctype *own = ctor->type->result;
    ASSERT_OK(clink_drop_own(A.ci, ctor, own, a.of.rep, &A.trap));
    ASSERT_OK(clink_drop_own(A.ci, ctor, own, b.of.rep, &A.trap));
    ASSERT_EQ_STR(call("live-accumulators", NULL), "0");
    /* A method on a destroyed accumulator traps in the guest (unreachable). */
    ASSERT_EQ_STR(call("[method]accumulator.total", ARGS(ba)), "trap: unreachable");
    abi_teardown();
}

TEST(link_abi, resources_utf8)
{
    resource_checks("utf8");
}

TEST(link_abi, resources_utf16)
{
    resource_checks("utf16");
}

TEST(link_abi, resources_latin1_utf16)
{
    resource_checks("latin1-utf16");
}

/* ---- instances are fresh per request ------------------------------------------- */

TEST(link_abi, each_acquire_gets_a_fresh_instance)
{
    abi_setup("utf8");
    const struct clink_export *run = clink_export_find(A.link, NULL, "run");
    uint32_t first_rep = 0;
    for (int i = 0; i < 20; i++) {
        ASSERT_EQ_STR(call_e(run, NULL, NULL), "ok");
        ASSERT_EQ_UINT(call_u("post-returns", NULL), 1);
        ASSERT_EQ_STR(call("live-accumulators", NULL), "0");
        struct cval a;
        /* The guest's allocator starts over: memory is as instantiation left it. */
        call_e(guest_export("[constructor]accumulator"), ARGS(cv_s(CT_S64, 1)), &a);
        if (i == 0)
            first_rep = a.of.rep;
        ASSERT_EQ_UINT(a.of.rep, first_rep);
        const struct clink_export *ctor = guest_export("[constructor]accumulator");
        ASSERT_OK(clink_drop_own(A.ci, ctor, ctor->type->result, a.of.rep, &A.trap));
        clink_release(A.ci);
        A.ci = NULL;
        struct spry_report r;
        spry_report_init(&r);
        ASSERT_OK(clink_acquire(A.link, &A.ci, &r, &A.trap));
        blobs_created = 0;
        nlogged = 0;
    }
    struct spry_pool_stats st;
    spry_pool_stats(A.pool, &st);
    ASSERT_EQ_UINT(st.instantiated, 1);
    abi_teardown();
}

/* A handle the guest still holds when a request ends is dropped with it: the
 * slot's handle tables are reused, and nothing of one request's (index,
 * resource) reaches the next on the same slot. */
TEST(link_abi, a_handle_left_by_one_request_is_gone_in_the_next)
{
    abi_setup("utf8");
    /* The component instance whose resource types include the host's blob. */
    const struct canon_rtype *blob = NULL;
    uint32_t k = 0;
    for (; blob == NULL && k < A.link->ncinsts; k++)
        for (uint32_t id = 0; id < A.ci->cis[k].nrtypes; id++) {
            const struct canon_rtype *rt = A.ci->cis[k].rtypes[id];
            if (rt != NULL && rt->host != NULL && strcmp(rt->host->name, "blob") == 0)
                blob = rt;
        }
    ASSERT_NOT_NULL(blob);
    k--;
    uint32_t index[2];
    for (int run = 0; run < 2; run++) {
        struct canon_inst *in = &A.ci->cis[k];
        ASSERT_EQ_UINT(in->handles.len, 1); /* empty */
        struct cval b;
        ASSERT_OK(new_blob(NULL, "x", 1, NULL, 0, &b));
        struct canon_cx cx;
        canon_cx_init(&cx, NULL, in, &A.arena, NULL, NULL, false);
        struct handle e = {.rt = blob, .rep = b.of.rep, .own = true};
        ASSERT_OK(handles_add(&cx, &e, &index[run]));
        ASSERT_EQ_UINT(blobs_live, 1);
        clink_release(A.ci); /* the guest never dropped it */
        ASSERT_EQ_UINT(blobs_live, 0);
        struct spry_report r;
        spry_report_init(&r);
        ASSERT_OK(clink_acquire(A.link, &A.ci, &r, &A.trap));
        in = &A.ci->cis[k];
        canon_cx_init(&cx, NULL, in, &A.arena, NULL, NULL, false);
        struct handle *h;
        ASSERT_EQ_INT(handles_get(&cx, index[run], &h), SPRY_ETRAP);
        char want[64];
        snprintf(want, sizeof want, "unknown handle %u", index[run]);
        ASSERT_EQ_STR(cx.report.message, want);
    }
    ASSERT_EQ_UINT(index[1], index[0]); /* the same slot's table, from its start */
    struct spry_pool_stats st;
    spry_pool_stats(A.pool, &st);
    ASSERT_EQ_UINT(st.instantiated, 1);
    abi_teardown();
}

/* wit-component gave the guest a shim module (it exports its table as
 * "$imports") whose functions forward the main module's imports that need
 * its memory through that table. Spry binds those imports past the shim
 * (docs/components.md, "Shim calls"): no member's import is a shim
 * function any more, and calls still work. */
TEST(link_abi, the_shim_s_forwarders_are_bound_past)
{
    abi_setup("utf8");
    struct spry_instance *shim = NULL;
    uint32_t nmembers = 0;
    for (struct spry_instance *m; (m = spry_pool_member(A.ci->inst, nmembers)) != NULL;
         nmembers++) {
        struct spry_extern e;
        if (spry_instance_export(m, "$imports", &e) == 0 && e.kind == SPRY_EXTERN_TABLE)
            shim = m;
    }
    ASSERT_NOT_NULL(shim);
    ASSERT_GT_INT((int)(shim->module->nfuncs - shim->module->num_imported_funcs), 0);
    uint32_t through_shim = 0, host = 0;
    for (uint32_t k = 0; k < nmembers; k++) {
        struct spry_instance *m = spry_pool_member(A.ci->inst, k);
        for (uint32_t i = 0; m != shim && i < m->module->num_imported_funcs; i++) {
            through_shim += m->funcs[i]->inst == shim;
            host += m->funcs[i]->def == NULL;
        }
    }
    ASSERT_EQ_UINT(through_shim, 0);
    ASSERT_GT_INT((int)host, 0);
    const struct clink_export *run = clink_export_find(A.link, NULL, "run");
    ASSERT_EQ_STR(call_e(run, NULL, NULL), "ok");
    abi_teardown();
}

/* ---- misuse ---------------------------------------------------------------------- */

/* run() with a host that gets something wrong: the guest traps at that
 * import, with a message naming it; the instance stays unusable. */
static void host_misbehaves(enum misbehave mode, const char *want)
{
    abi_setup("utf8");
    host_mode = mode;
    const struct clink_export *run = clink_export_find(A.link, NULL, "run");
    ASSERT_EQ_STR(call_e(run, NULL, NULL), want);
    ASSERT_EQ_STR(call("live-accumulators", NULL),
                  "trap: spry:abi/guest@0.1.0#live-accumulators: cannot enter the component "
                  "instance (it is running or trapped)");
    host_mode = HOST_OK;
    /* The blobs the guest held are dropped when the instance goes. */
    abi_teardown();
}

TEST(link_abi, host_returning_a_bad_enum_traps)
{
    host_misbehaves(HOST_BAD_ENUM, "trap: spry:abi/host@0.1.0#host-variants: host enum "
                                   "discriminant 3 is out of range (3 cases)");
}

TEST(link_abi, host_returning_a_non_handle_for_a_handle_traps)
{
    host_misbehaves(HOST_BAD_KIND, "trap: spry:abi/host@0.1.0#[constructor]blob: host value "
                                   "of kind u32 where a own was expected");
}

TEST(link_abi, host_returning_invalid_utf8_traps)
{
    host_misbehaves(HOST_BAD_UTF8, "trap: spry:abi/host@0.1.0#host-strings: host string is "
                                   "not valid UTF-8 (byte 0xff at offset 4)");
}

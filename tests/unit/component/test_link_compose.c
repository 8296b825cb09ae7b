/*
 * Component-to-component calls (docs/components.md "Composed components"):
 * tests/components/compose/compose.wat, turned into a binary by
 * scripts/build-compose-tests.sh (jco parse) before the unit suite. Its two
 * nested components each have a memory and an allocator; the caller's
 * strings are UTF-16, the callee's UTF-8. Through the root's exports: a
 * string and a list of records crossing both ways, post-return run in the
 * callee, a resource of the callee made, borrowed, moved (own) and dropped
 * from the caller, a moved or unknown handle trapping, an instance
 * re-entering itself trapping, a component instantiated twice defining two
 * resource types (a host drop runs the right one's destructor), and fresh
 * instances per acquire. imports.wat: imported
 * core modules and components as instantiation arguments. dtor-enter.wat: a
 * resource.drop that would re-enter the defining instance. multimem.wat: a
 * core module with two memories, refused. shim.wat (link_shim.*): a shim
 * module's forwarders bound past when their table is constant, and kept
 * when a member may write the table or the element is empty.
 */
#include "harness/test.h"

#include "base/alloc.h"
#include "component/binary.h"
#include "component/link.h"
#include "spry/pool.h"
#include "unit/component/cval_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    struct spry_pool *pool;
    struct cbin *bin;
    struct clink *link;
    struct cinst *ci;
    struct spry_arena arena;
    struct spry_trap trap;
} C;

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

static void setup_file(const char *name)
{
    char rel[128];
    snprintf(rel, sizeof rel, "components/compose/%s.wasm", name);
    const char *path = test_build_path(rel);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        test_skip("%s is not built (scripts/build-compose-tests.sh BUILD runs `jco parse`, which "
                  "needs node >= 20.19 and npm; make test builds it when they are there)",
                  path);
    fclose(f);
    size_t len;
    uint8_t *bytes = read_all(path, &len);
    struct spry_report r;
    spry_report_init(&r);
    struct spry_pool_config pc;
    spry_pool_config_init(&pc);
    pc.slots = 2;
    ASSERT_OK(spry_pool_create(&pc, &C.pool, &r));
    int rc = cbin_decode(bytes, len, NULL, &C.bin, &r);
    if (rc != 0)
        fprintf(stderr, "decode: %s\n", r.message);
    ASSERT_OK(rc);
    free(bytes);
    rc = clink_create(C.pool, clink_host_wasip2(), C.bin, NULL, &C.link, &r);
    if (rc != 0)
        fprintf(stderr, "link: %s\n", r.message);
    ASSERT_OK(rc);
    ASSERT_OK(clink_acquire(C.link, &C.ci, &r, &C.trap));
    spry_arena_init(&C.arena, 1 << 20);
}

static void setup(void)
{
    setup_file("compose");
}

static void teardown(void)
{
    clink_release(C.ci);
    spry_arena_fini(&C.arena);
    clink_destroy(C.link);
    cbin_destroy(C.bin);
    spry_pool_destroy(C.pool);
    memset(&C, 0, sizeof C);
}

static const struct clink_export *fn(const char *name)
{
    const struct clink_export *e = clink_export_find(C.link, NULL, name);
    if (e == NULL)
        fprintf(stderr, "no export %s\n", name);
    ASSERT_NOT_NULL(e);
    return e;
}

/* Calls a root export; returns the call's status (the trap in C.trap). */
static int call(const char *name, const struct cval *args, struct cval *result)
{
    memset(result, 0, sizeof *result);
    memset(&C.trap, 0, sizeof C.trap);
    return clink_call(C.ci, fn(name), args, &C.arena, result, &C.trap);
}

static uint64_t call_u32(const char *name)
{
    struct cval v;
    int rc = call(name, NULL, &v);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", name, C.trap.message);
    ASSERT_OK(rc);
    ASSERT_EQ_INT(v.kind, CT_U32);
    return v.of.u;
}

static void relay(const char *in)
{
    struct cval arg = {.kind = CT_STRING, .of.str = {in, strlen(in)}}, v;
    int rc = call("relay", &arg, &v);
    if (rc != 0)
        fprintf(stderr, "relay: %s\n", C.trap.message);
    ASSERT_OK(rc);
    ASSERT_EQ_INT(v.kind, CT_STRING);
    char want[256];
    snprintf(want, sizeof want, "hello, %s", in);
    if (v.of.str.len != strlen(want))
        fprintf(stderr, "got \"%.*s\"\n", (int)v.of.str.len, v.of.str.ptr);
    ASSERT_EQ_UINT(v.of.str.len, strlen(want));
    ASSERT_TRUE(memcmp(v.of.str.ptr, want, v.of.str.len) == 0);
}

TEST(link_compose, strings_cross_between_utf16_and_utf8_instances)
{
    setup();
    /* The caller (UTF-16) passes the string to the callee (UTF-8), which
     * prefixes "hello, " to the bytes it sees: the answer comes back right
     * only if both conversions happened. */
    relay("world");
    relay("w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x98\x80"); /* ö, U+2713, U+1F600 (a surrogate pair) */
    relay("");
    /* A string larger than the callee's first memory page: its allocator
     * grows its own memory, not the caller's. */
    size_t n = 200000;
    char *big = malloc(n + 1);
    ASSERT_NOT_NULL(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n] = '\0';
    struct cval arg = {.kind = CT_STRING, .of.str = {big, n}}, v;
    ASSERT_OK(call("relay", &arg, &v));
    ASSERT_EQ_UINT(v.of.str.len, n + 7);
    ASSERT_TRUE(memcmp(v.of.str.ptr, "hello, ", 7) == 0 && memcmp(v.of.str.ptr + 7, big, n) == 0);
    free(big);
    /* greet's post-return ran in the callee once per call. */
    ASSERT_EQ_UINT(call_u32("posts"), 4);
    teardown();
}

TEST(link_compose, a_list_of_records_crosses_and_a_record_comes_back)
{
    setup();
    const struct clink_export *e = fn("relay-sum");
    const struct ctype *pt = e->type->params[0].type->u.elem;
    ASSERT_EQ_INT(pt->kind, CT_RECORD);
    enum { N = 1000 };
    struct cval *recs = calloc(N, sizeof *recs), *fields = calloc(2 * N, sizeof *fields);
    ASSERT_TRUE(recs != NULL && fields != NULL);
    int64_t sx = 0, sy = 0;
    for (int i = 0; i < N; i++) {
        fields[2 * i] = (struct cval){.kind = CT_S32, .of.s = i - 300};
        fields[2 * i + 1] = (struct cval){.kind = CT_S32, .of.s = 7 * i};
        sx += i - 300;
        sy += 7 * i;
        recs[i] = (struct cval){.kind = CT_RECORD, .of.list = {&fields[2 * i], 2}};
    }
    struct cval arg = {.kind = CT_LIST, .of.list = {recs, N}}, v;
    int rc = call("relay-sum", &arg, &v);
    if (rc != 0)
        fprintf(stderr, "relay-sum: %s\n", C.trap.message);
    ASSERT_OK(rc);
    char text[128], want[128];
    snprintf(want, sizeof want, "{x: %lld, y: %lld}", (long long)sx, (long long)sy);
    ASSERT_EQ_STR(cval_text(text, sizeof text, e->type->result, &v), want);
    free(recs);
    free(fields);
    teardown();
}

TEST(link_compose, a_resource_is_made_borrowed_and_moved_across)
{
    setup();
    /* use-counter: the callee's constructor gives the caller an own handle
     * (rep 41); get borrows it (the callee, which implements the resource,
     * sees the rep); consume moves it to the callee, which drops it (its
     * destructor runs once). */
    struct cval arg = {.kind = CT_U32, .of.u = 41}, v;
    ASSERT_OK(call("use-counter", &arg, &v));
    ASSERT_EQ_UINT(v.of.u, 41 * 1000 + 41);
    ASSERT_EQ_UINT(call_u32("drops"), 1);
    arg.of.u = 9;
    ASSERT_OK(call("use-counter", &arg, &v));
    ASSERT_EQ_UINT(v.of.u, 9009);
    ASSERT_EQ_UINT(call_u32("drops"), 2);
    teardown();
}

TEST(link_compose, a_moved_or_unknown_handle_traps_in_the_caller)
{
    setup();
    struct cval v;
    /* consume took the handle out of the caller's table. */
    ASSERT_EQ_INT(call("use-after-move", NULL, &v), SPRY_ETRAP);
    ASSERT_TRUE(strstr(C.trap.message, "[method]counter.get") != NULL);
    ASSERT_TRUE(strstr(C.trap.message, "handle 1") != NULL);
    ASSERT_EQ_UINT(call_u32("drops"), 1); /* consume dropped it */
    clink_release(C.ci);
    struct spry_report r;
    spry_report_init(&r);
    ASSERT_OK(clink_acquire(C.link, &C.ci, &r, &C.trap));
    ASSERT_EQ_INT(call("bad-handle", NULL, &v), SPRY_ETRAP);
    ASSERT_TRUE(strstr(C.trap.message, "[method]counter.get") != NULL);
    ASSERT_TRUE(strstr(C.trap.message, "handle 7") != NULL);
    teardown();
}

TEST(link_compose, two_instances_of_a_component_define_two_resource_types)
{
    setup();
    /* Each instance makes and consumes its own counter. */
    struct cval v;
    ASSERT_OK(call("two-counters", NULL, &v));
    ASSERT_EQ_UINT(v.of.u, 12);
    ASSERT_EQ_UINT(call_u32("drops"), 1);
    ASSERT_EQ_UINT(call_u32("drops-other"), 1);
    /* A handle to the first instance's counter is not the second's. */
    ASSERT_EQ_INT(call("cross-instance", NULL, &v), SPRY_ETRAP);
    ASSERT_EQ_STR(C.trap.message, "[method]counter.get: handle 2 is a counter of another "
                                  "component instance than the counter expected");
    teardown();
}

/* Makes a counter through the root export `name` (a nested instance's
 * constructor): the host owns it. */
static uint32_t make_counter(const char *name, uint32_t start)
{
    struct cval arg = {.kind = CT_U32, .of.u = start}, v;
    int rc = call(name, &arg, &v);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", name, C.trap.message);
    ASSERT_OK(rc);
    ASSERT_EQ_INT(v.kind, CT_OWN);
    return v.of.rep;
}

TEST(link_compose, a_host_drop_runs_the_destructor_of_the_instance_that_made_it)
{
    setup();
    /* $b and $b2 are two instances of one component: the same resource id
     * in the export types, two resource types with their own destructor
     * (each counts its drops in its own globals). */
    const struct clink_export *mk = fn("make"), *mk_other = fn("make-other");
    uint32_t mine = make_counter("make", 3), other = make_counter("make-other", 4);
    ASSERT_EQ_UINT(call_u32("drops"), 0);
    ASSERT_EQ_UINT(call_u32("drops-other"), 0);
    ASSERT_OK(clink_drop_own(C.ci, mk_other, mk_other->type->result, other, &C.trap));
    ASSERT_EQ_UINT(call_u32("drops"), 0);
    ASSERT_EQ_UINT(call_u32("drops-other"), 1);
    ASSERT_OK(clink_drop_own(C.ci, mk, mk->type->result, mine, &C.trap));
    ASSERT_EQ_UINT(call_u32("drops"), 1);
    ASSERT_EQ_UINT(call_u32("drops-other"), 1);
    /* a type that is no own is refused */
    ASSERT_EQ_INT(clink_drop_own(C.ci, mk, NULL, mine, &C.trap), SPRY_EINVAL);
    teardown();
}

TEST(link_compose, a_trap_in_the_callee_traps_the_caller_and_both_stay_closed)
{
    setup();
    struct cval v;
    ASSERT_EQ_INT(call("call-boom", NULL, &v), SPRY_ETRAP);
    /* the innermost trap is the one reported (the engine keeps the first) */
    ASSERT_EQ_INT(C.trap.kind, SPRY_TRAP_UNREACHABLE);
    /* Neither the caller nor the callee can be entered until release. */
    struct cval none = {.kind = CT_LIST, .of.list = {NULL, 0}};
    ASSERT_EQ_INT(call("relay-sum", &none, &v), SPRY_ETRAP);
    ASSERT_TRUE(strstr(C.trap.message, "cannot enter") != NULL);
    ASSERT_EQ_INT(call("posts", NULL, &v), SPRY_ETRAP);
    ASSERT_TRUE(strstr(C.trap.message, "cannot enter") != NULL);
    teardown();
}

TEST(link_compose, an_instance_on_the_stack_cannot_be_entered)
{
    setup();
    struct cval v;
    ASSERT_EQ_INT(call("reenter", NULL, &v), SPRY_ETRAP);
    ASSERT_TRUE(strstr(C.trap.message, "posts: cannot enter the component instance") != NULL);
    teardown();
}

TEST(link_compose, every_acquire_gets_fresh_instances_and_memories)
{
    setup();
    struct spry_report r;
    spry_report_init(&r);
    for (int i = 0; i < 5; i++) {
        relay("again");
        struct cval arg = {.kind = CT_U32, .of.u = 3}, v;
        ASSERT_OK(call("use-counter", &arg, &v));
        /* counts start from zero in every instance */
        ASSERT_EQ_UINT(call_u32("posts"), 1);
        ASSERT_EQ_UINT(call_u32("drops"), 1);
        clink_release(C.ci);
        ASSERT_OK(clink_acquire(C.link, &C.ci, &r, &C.trap));
    }
    teardown();
}

static uint32_t le32(const char *s)
{
    return (uint32_t)(uint8_t)s[0] | (uint32_t)(uint8_t)s[1] << 8 | (uint32_t)(uint8_t)s[2] << 16 |
           (uint32_t)(uint8_t)s[3] << 24;
}

TEST(link_compose, every_acquire_sees_each_memory_s_data_segments_again)
{
    setup();
    struct spry_report r;
    spry_report_init(&r);
    /* $b's memory is the slot's; $b2's (the same module instantiated again)
     * and the caller's are the group's other memories, each with its own
     * copy-on-write image (its data reaches past 64 KiB). Each instance
     * overwrites the data segments' bytes in both callees' memories; the
     * next one must read them as the segments left them. */
    uint32_t want = le32("hell") + le32("far!");
    for (int i = 0; i < 6; i++) {
        relay("again"); /* reads $b's "hello, "; writes the caller's memory too */
        ASSERT_EQ_UINT(call_u32("scribble-other"), want);
        ASSERT_EQ_UINT(call_u32("scribble"), want);
        /* within one instance the writes stay */
        ASSERT_EQ_UINT(call_u32("scribble-other"), 0xfffffffeu);
        clink_release(C.ci);
        ASSERT_OK(clink_acquire(C.link, &C.ci, &r, &C.trap));
    }
    struct spry_pool_stats st;
    spry_pool_stats(C.pool, &st);
    ASSERT_EQ_UINT(st.instantiated, 1); /* one slot, reset in place each time */
    teardown();
}

TEST(link_compose, imported_modules_and_components_are_the_arguments)
{
    setup_file("imports");
    /* A component instantiates the core module it imports, another the
     * component it imports, twice. */
    ASSERT_EQ_UINT(call_u32("f"), 7);
    /* A nested component outer-aliases the module its parent imported. */
    ASSERT_EQ_UINT(call_u32("f-outer"), 7);
    ASSERT_EQ_UINT(call_u32("g1"), 42);
    ASSERT_EQ_UINT(call_u32("g2"), 42);
    teardown();
}

TEST(link_compose, a_drop_in_another_instance_traps_while_the_definer_is_on_the_stack)
{
    setup_file("dtor-enter");
    struct cval v;
    /* The root drops its own resource while running: the destructor runs. */
    ASSERT_OK(call("drop-own", NULL, &v));
    ASSERT_EQ_UINT(call_u32("drops"), 1);
    /* The host moves a resource of the root into the nested instance, which
     * drops it: the root is not running, its destructor runs. */
    ASSERT_OK(call("make", NULL, &v));
    ASSERT_EQ_INT(v.kind, CT_OWN);
    struct cval own = {.kind = CT_OWN, .of.rep = v.of.rep};
    ASSERT_OK(call("take", &own, &v));
    ASSERT_EQ_UINT(call_u32("drops"), 2);
    /* The root, on the stack, gives one to the nested instance, whose drop
     * would re-enter the root to run the destructor: a trap. */
    int rc = call("give", NULL, &v);
    if (rc != SPRY_ETRAP)
        fprintf(stderr, "give: rc %d, drops %u\n", rc, (unsigned)call_u32("drops"));
    ASSERT_EQ_INT(rc, SPRY_ETRAP);
    ASSERT_EQ_STR(C.trap.message, "resource.drop r: cannot enter the component instance that "
                                  "defines r to destroy it (it is running or trapped)");
    teardown();
}

TEST(link_compose, a_core_module_with_two_memories_is_refused_at_decode)
{
    const char *path = test_build_path("components/compose/multimem.wasm");
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        test_skip("%s is not built (scripts/build-compose-tests.sh)", path);
    fclose(f);
    size_t len;
    uint8_t *bytes = read_all(path, &len);
    struct spry_report r;
    spry_report_init(&r);
    struct cbin *bin = NULL;
    int rc = cbin_decode(bytes, len, NULL, &bin, &r);
    ASSERT_TRUE(rc != 0);
    ASSERT_NULL(bin);
    /* the engine's validation error, saying which module */
    ASSERT_EQ_STR(r.message, "multiple memories (2) (in the core module at offset 0x8)");
    free(bytes);
}

/* ---- shim.wat: forwarders bound past (docs/components.md, "Shim calls") ---- */

static void reacquire(void)
{
    struct spry_report r;
    spry_report_init(&r);
    clink_release(C.ci);
    C.ci = NULL;
    ASSERT_OK(clink_acquire(C.link, &C.ci, &r, &C.trap));
}

static void call_traps(const char *name, const char *in_func, const char *message)
{
    struct cval v;
    int rc = call(name, NULL, &v);
    if (rc != SPRY_ETRAP || strcmp(C.trap.func_name, in_func) != 0 ||
        strstr(C.trap.message, message) == NULL)
        fprintf(stderr, "%s: rc %d, trap in '%s': %s\n", name, rc, C.trap.func_name,
                C.trap.message);
    ASSERT_EQ_INT(rc, SPRY_ETRAP);
    ASSERT_EQ_STR(C.trap.func_name, in_func);
    ASSERT_NOT_NULL(strstr(C.trap.message, message));
    reacquire(); /* a trap leaves the instance closed */
}

/* The built-in behind a constant element of $ta fails in main's function
 * that called it: the forwarder is no longer on the way. The same built-in
 * behind $tb, which the writer may change, fails in the forwarder. */
TEST(link_shim, a_forwarder_to_a_constant_element_is_bound_past)
{
    setup_file("shim");
    for (int round = 0; round < 2; round++) {
        call_traps("call-drop", "call-drop", "resource.drop");
        call_traps("call-b-drop", "fwd-b-drop", "resource.drop");
    }
    teardown();
}

/* Through the writable table: what the writer puts there is called, until
 * the release puts the table back. */
TEST(link_shim, calls_through_a_table_a_member_may_write_see_its_writes)
{
    setup_file("shim");
    ASSERT_EQ_UINT(call_u32("call-b"), 1);
    struct cval v;
    ASSERT_OK(call("retarget", NULL, &v));
    ASSERT_EQ_UINT(call_u32("call-b"), 2);
    reacquire();
    ASSERT_EQ_UINT(call_u32("call-b"), 1);
    teardown();
}

/* A forwarder to an element nothing fills stays a forwarder and traps as
 * call_indirect does. */
TEST(link_shim, a_forwarder_to_an_empty_element_still_traps)
{
    setup_file("shim");
    call_traps("call-empty", "fwd-empty", "uninitialized element 1");
    teardown();
}

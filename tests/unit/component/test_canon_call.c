/*
 * The canonical ABI's call paths through a real guest: a core module built
 * from WAT with wat2wasm at test time, whose imports are host functions
 * lowered with canon_lowered_call and whose exports are lifted with
 * canon_lifted_call. The module brings its own memory and a bump realloc
 * (which can be told to call out, to test may_leave).
 */
#include "cbuild.h"
#include "harness/test.h"
#include "unit/wasm/wat.h"

#include "component/canon.h"
#include "wasm/interp.h"

#include <stdio.h>
#include <string.h>

static const char *const GUEST =
    "(module\n"
    "  (import \"host\" \"concat\" (func $concat (param i32 i32 i32 i32 i32)))\n"
    "  (import \"host\" \"sum17\" (func $sum17 (param i32) (result i32)))\n"
    "  (import \"host\" \"fail\" (func $fail))\n"
    "  (import \"host\" \"reenter\" (func $reenter))\n"
    "  (import \"host\" \"use_borrow\" (func $use_borrow (param i32) (result i32)))\n"
    "  (import \"host\" \"take_own\" (func $take_own (param i32)))\n"
    "  (import \"host\" \"make\" (func $make (param i32) (result i32)))\n"
    "  (import \"host\" \"noop\" (func $noop))\n"
    "  (import \"host\" \"drop_stream\" (func $drop_stream (param i32)))\n"
    "  (import \"host\" \"opt\" (func $opt (param i32 i32)))\n"
    "  (import \"host\" \"borrow5\" (func $borrow5 (param i32 i32 i32 i32 i32) (result i32)))\n"
    "  (import \"host\" \"count16\" (func $count16 (param i32 i32) (result i32)))\n"
    "  (memory (export \"memory\") 1)\n"
    "  (global $bump (mut i32) (i32.const 0x8000))\n"
    "  (global $evil (export \"evil\") (mut i32) (i32.const 0))\n"
    "  (global $post (export \"post\") (mut i32) (i32.const -1))\n"
    "  (func $realloc (export \"realloc\")\n"
    "        (param $old i32) (param $old_size i32) (param $align i32) (param $new i32)\n"
    "        (result i32) (local $p i32)\n"
    "    (if (i32.eq (global.get $evil) (i32.const 1)) (then (call $noop)))\n"
    "    (if (i32.eq (global.get $evil) (i32.const 2)) (then unreachable))\n"
    "    (if (i32.eq (global.get $evil) (i32.const 3))\n"
    "      (then (drop (i32.load (i32.const 65534)))))\n"
    "    (if (i32.eq (global.get $evil) (i32.const 4)) (then (call $deep)))\n"
    "    (if (i32.eq (global.get $evil) (i32.const 5)) (then (return (i32.const -16))))\n"
    "    (local.set $p (i32.and (i32.add (global.get $bump) (i32.sub (local.get $align)\n"
    "        (i32.const 1))) (i32.sub (i32.const 0) (local.get $align))))\n"
    "    (global.set $bump (i32.add (local.get $p) (local.get $new)))\n"
    "    (memory.copy (local.get $p) (local.get $old) (select (local.get $old_size)\n"
    "        (local.get $new) (i32.lt_u (local.get $old_size) (local.get $new))))\n"
    "    (local.get $p))\n"
    "  (func $deep (call $deep))\n"
    /* Wrappers the test calls, so that imports are called from wasm. */
    "  (func (export \"call_concat\") (param i32 i32 i32 i32 i32)\n"
    "    (call $concat (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)))\n"
    "  (func (export \"call_sum17\") (param i32) (result i32) (call $sum17 (local.get 0)))\n"
    "  (func (export \"call_fail\") (call $fail))\n"
    "  (func (export \"call_reenter\") (call $reenter))\n"
    "  (func (export \"call_use_borrow\") (param i32) (result i32)\n"
    "    (call $use_borrow (local.get 0)))\n"
    "  (func (export \"call_take_own\") (param i32) (call $take_own (local.get 0)))\n"
    "  (func (export \"call_make\") (param i32) (result i32) (call $make (local.get 0)))\n"
    "  (func (export \"call_drop\") (param i32) (call $drop_stream (local.get 0)))\n"
    "  (func (export \"call_opt\") (param i32 i32) (call $opt (local.get 0) (local.get 1)))\n"
    "  (func (export \"call_borrow5\") (param i32 i32 i32 i32 i32) (result i32)\n"
    "    (call $borrow5 (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)))\n"
    "  (func (export \"call_count16\") (param i32 i32) (result i32)\n"
    "    (call $count16 (local.get 0) (local.get 1)))\n"
    /* Core functions the test lifts. */
    "  (func (export \"add\") (param i32 i32) (result i32)\n"
    "    (i32.add (local.get 0) (local.get 1)))\n"
    "  (func (export \"echo\") (param i32 i32) (result i32)\n"
    "    (i32.store (i32.const 0x100) (local.get 0))\n"
    "    (i32.store (i32.const 0x104) (local.get 1))\n"
    "    (i32.const 0x100))\n"
    "  (func (export \"echo_post\") (param i32) (global.set $post (local.get 0)))\n"
    "  (func (export \"sum17p\") (param $p i32) (result i32) (local $i i32) (local $s i32)\n"
    "    (block (loop\n"
    "      (br_if 1 (i32.eq (local.get $i) (i32.const 17)))\n"
    "      (local.set $s (i32.add (local.get $s) (i32.load (i32.add (local.get $p)\n"
    "          (i32.shl (local.get $i) (i32.const 2))))))\n"
    "      (local.set $i (i32.add (local.get $i) (i32.const 1)))\n"
    "      (br 0)))\n"
    "    (local.get $s))\n"
    "  (func (export \"keep_borrow\") (param i32))\n"
    "  (func (export \"drop_borrow\") (param i32) (call $drop_stream (local.get 0)))\n"
    "  (func (export \"bad_utf8\") (result i32)\n"
    "    (i32.store16 (i32.const 0x200) (i32.const 0xffff))\n"
    "    (i32.store (i32.const 0x100) (i32.const 0x200))\n"
    "    (i32.store (i32.const 0x104) (i32.const 2))\n"
    "    (i32.const 0x100))\n"
    "  (func (export \"boom\") unreachable)\n"
    "  (func (export \"fneg\") (param f32) (result f32) (f32.neg (local.get 0)))\n"
    "  (func (export \"inc64\") (param i64) (result i64)\n"
    "    (i64.add (local.get 0) (i64.const 1)))\n"
    "  (func (export \"post64\") (param i64))\n"
    /* (u64, f32) -> tuple<u64, f32, u8>: the result through memory at 0x300 */
    "  (func (export \"triple\") (param i64 f32) (result i32)\n"
    "    (i64.store (i32.const 0x300) (i64.add (local.get 0) (i64.const 1)))\n"
    "    (f32.store (i32.const 0x308) (f32.neg (local.get 1)))\n"
    "    (i32.store8 (i32.const 0x30c) (i32.const 7))\n"
    "    (i32.const 0x300))\n"
    "  (func (export \"enter_reenter\") (call $reenter))\n"
    ")\n";

enum {
    IMP_CONCAT,
    IMP_SUM17,
    IMP_FAIL,
    IMP_REENTER,
    IMP_USE_BORROW,
    IMP_TAKE_OWN,
    IMP_MAKE,
    IMP_NOOP,
    IMP_DROP,
    IMP_OPT,
    IMP_BORROW5,
    IMP_COUNT16,
    NIMPORTS
};

static struct {
    struct spry_module *module;
    struct spry_store *store;
    struct spry_instance *core;
    struct spry_memory *mem;
    struct chost_resource stream_res;
    struct canon_rtype stream;
    const struct canon_rtype *rtypes[1];
    struct canon_inst inst;
    struct canon_options opts;
    struct canon_lowered lowered[NIMPORTS];
    struct handles_builtin drop_builtin;
    uint32_t dropped[16], ndropped;
    uint32_t taken, lends_seen;
    int opt_mode;        /* host_opt: 0 some, 1 none, 2 a bad case, 3 no payload, 4 a u32 */
    bool make_u32;       /* host_make returns a u32 instead of an own */
    bool use_borrow_s32; /* host_use_borrow returns an s32 instead of a u32 */
    int reenter_rc;
    char reenter_msg[256];
} g;

static int host_concat(struct ccall *call, const struct cval *args, struct cval *result)
{
    size_t n = args[0].of.str.len + args[1].of.str.len;
    char *s = spry_arena_alloc(call->arena, n + 1);
    ASSERT_NOT_NULL(s);
    memcpy(s, args[0].of.str.ptr, args[0].of.str.len);
    memcpy(s + args[0].of.str.len, args[1].of.str.ptr, args[1].of.str.len);
    *result = cv_strn(s, n);
    return 0;
}

static int host_sum17(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)call;
    uint64_t s = 0;
    for (int i = 0; i < 17; i++)
        s += args[i].of.u;
    *result = cv_u(CT_U32, s);
    return 0;
}

static int host_fail(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)args;
    (void)result;
    return ccall_trap(call, "the host says no (%d)", 42);
}

static const struct cfunctype *add_type(void)
{
    return cb_func(2, cb_prim(CT_U32), cb_prim(CT_U32), cb_prim(CT_U32));
}

static struct canon_lifted lift(const char *name, const struct cfunctype *ft, const char *post);

static int host_reenter(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)call;
    (void)args;
    (void)result;
    struct canon_lifted add = lift("add", add_type(), NULL);
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    struct cval a[2] = {cv_u(CT_U32, 1), cv_u(CT_U32, 2)}, r;
    struct spry_trap trap;
    g.reenter_rc = canon_lifted_call(&add, a, &arena, &r, &trap);
    snprintf(g.reenter_msg, sizeof g.reenter_msg, "%s", trap.message);
    spry_arena_fini(&arena);
    return 0;
}

static int host_use_borrow(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)call;
    /* While the call runs, the guest's handle 1 is lent. */
    g.lends_seen = g.inst.handles.v[1].lends;
    *result = g.use_borrow_s32 ? cv_s(CT_S32, args[0].of.rep) : cv_u(CT_U32, args[0].of.rep);
    return 0;
}

static int host_opt(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct cval *payload = spry_arena_alloc(call->arena, sizeof *payload);
    ASSERT_NOT_NULL(payload);
    *payload = cv_u(CT_U32, args[0].of.u);
    switch (g.opt_mode) {
    case 0:
        *result = cv_var(CT_OPTION, 1, payload);
        break;
    case 1:
        *result = cv_var(CT_OPTION, 0, NULL);
        break;
    case 2:
        *result = cv_var(CT_OPTION, 2, payload);
        break;
    case 3:
        *result = cv_var(CT_OPTION, 1, NULL);
        break;
    default:
        *result = cv_u(CT_U32, 1);
        break;
    }
    return 0;
}

static int host_borrow5(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)call;
    g.lends_seen = g.inst.handles.v[1].lends;
    uint64_t s = 0;
    for (int i = 0; i < 5; i++)
        s += args[i].of.rep;
    *result = cv_u(CT_U32, s);
    return 0;
}

static int host_count16(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)call;
    uint64_t s = 1000 * args[0].of.raw.n;
    for (size_t i = 0; i < args[0].of.raw.n; i++) {
        uint16_t e;
        memcpy(&e, (const uint8_t *)args[0].of.raw.ptr + 2 * i, 2);
        s += e;
    }
    *result = cv_u(CT_U32, s);
    return 0;
}

static int host_take_own(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)call;
    (void)result;
    g.taken = args[0].of.rep;
    return 0;
}

static int host_make(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)call;
    *result = g.make_u32 ? cv_u(CT_U32, args[0].of.u) : cv_rep(CT_OWN, (uint32_t)args[0].of.u);
    return 0;
}

static int host_noop(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)call;
    (void)args;
    (void)result;
    return 0;
}

static void stream_drop(struct ccall *call, uint32_t rep)
{
    (void)call;
    g.dropped[g.ndropped++] = rep;
}

static struct spry_func *export_func(const char *name)
{
    struct spry_extern e;
    ASSERT_OK(spry_instance_export(g.core, name, &e));
    ASSERT_EQ_UINT(e.kind, SPRY_EXTERN_FUNC);
    return e.of.func;
}

static struct canon_lifted lift(const char *name, const struct cfunctype *ft, const char *post)
{
    struct canon_options o = g.opts;
    o.post_return = post != NULL ? export_func(post) : NULL;
    struct canon_lifted l;
    canon_lifted_init(&l, name, ft, export_func(name), &o, &g.inst);
    return l;
}

static void setup(void)
{
    memset(&g, 0, sizeof g);
    struct spry_module *m = wat_load(GUEST);
    g.module = m;
    ASSERT_OK(spry_store_create(NULL, &g.store));
    g.stream_res = (struct chost_resource){"stream", stream_drop};
    g.stream = (struct canon_rtype){"stream", &g.stream_res, NULL, NULL};
    g.rtypes[0] = &g.stream;
    ASSERT_OK(canon_inst_init(&g.inst, g.store, NULL, g.rtypes, 1, 0));

    const struct ctype *str = cb_prim(CT_STRING), *u32 = cb_prim(CT_U32);
    const struct cfunctype *types[NIMPORTS] = {
        [IMP_CONCAT] = cb_func(2, str, str, str),
        [IMP_SUM17] = cb_func(17, u32, u32, u32, u32, u32, u32, u32, u32, u32, u32, u32, u32, u32,
                              u32, u32, u32, u32, u32),
        [IMP_FAIL] = cb_func(0, NULL),
        [IMP_REENTER] = cb_func(0, NULL),
        [IMP_USE_BORROW] = cb_func(1, cb_borrow(0), u32),
        [IMP_TAKE_OWN] = cb_func(1, cb_own(0), NULL),
        [IMP_MAKE] = cb_func(1, u32, cb_own(0)),
        [IMP_NOOP] = cb_func(0, NULL),
        [IMP_OPT] = cb_func(1, u32, cb_option(u32)),
        [IMP_BORROW5] =
            cb_func(5, cb_borrow(0), cb_borrow(0), cb_borrow(0), cb_borrow(0), cb_borrow(0), u32),
        [IMP_COUNT16] = cb_func(1, cb_list(cb_prim(CT_U16)), u32),
    };
    static const chost_fn fns[NIMPORTS] = {
        host_concat, host_sum17, host_fail, host_reenter, host_use_borrow, host_take_own,
        host_make,   host_noop,  NULL,      host_opt,     host_borrow5,    host_count16};
    static const char *const names[NIMPORTS] = {"concat",     "sum17",    "fail",    "reenter",
                                                "use_borrow", "take_own", "make",    "noop",
                                                "drop",       "opt",      "borrow5", "count16"};
    /* The options point at the memory and realloc the instance will have:
     * filled in once it exists, before any call (as a linker does). */
    struct spry_extern imports[NIMPORTS];
    for (int i = 0; i < NIMPORTS; i++) {
        struct spry_func *f;
        if (i == IMP_DROP) {
            g.drop_builtin = (struct handles_builtin){&g.inst, &g.stream};
            static const uint8_t p[1] = {SPRY_I32};
            struct spry_functype ft = {1, 0, p, NULL};
            ASSERT_OK(
                spry_func_new_host(g.store, &ft, handles_resource_drop_fn, &g.drop_builtin, &f));
        } else {
            canon_lowered_init(&g.lowered[i], names[i], types[i], fns[i], &g.opts, &g.inst);
            struct spry_functype ft = layout_corefunc_type(&g.lowered[i].flat);
            ASSERT_OK(spry_func_new_host(g.store, &ft, canon_lowered_call, &g.lowered[i], &f));
        }
        imports[i] = (struct spry_extern){.kind = SPRY_EXTERN_FUNC, .of.func = f};
    }
    struct spry_report report;
    spry_report_init(&report);
    int rc = spry_instance_create(g.store, m, imports, NIMPORTS, &g.core, &report, NULL);
    if (rc != 0)
        fprintf(stderr, "instantiate: %s\n", report.message);
    ASSERT_OK(rc);
    g.mem = spry_instance_memory(g.core, 0);
    /* The tests write guest memory directly, as a guest would: all of it
     * counts as written (SPRY_CHECK_WRITES, spry_memory_data). */
    spry_memory_note_write(g.mem, 0, spry_memory_size(g.mem));
    g.opts.encoding = CANON_UTF8;
    g.opts.memory = g.mem;
    g.opts.realloc = export_func("realloc");
    for (int i = 0; i < NIMPORTS; i++)
        g.lowered[i].opts = g.opts;
}

static void teardown(void)
{
    canon_inst_fini(&g.inst);
    spry_store_destroy(g.store);
    spry_module_destroy(g.module);
}

static uint8_t *mem(uint32_t ptr)
{
    return spry_memory_data(g.mem) + ptr;
}

static uint32_t get32(uint32_t ptr)
{
    uint32_t v;
    memcpy(&v, mem(ptr), 4);
    return v;
}

static void put32(uint32_t ptr, uint32_t v)
{
    memcpy(mem(ptr), &v, 4);
}

static int call(const char *name, const int32_t *args, size_t nargs, int32_t *result,
                struct spry_trap *trap)
{
    struct spry_val a[8], r;
    for (size_t i = 0; i < nargs; i++)
        a[i] = (struct spry_val){.type = SPRY_I32, .of.i32 = args[i]};
    int rc = spry_func_call(export_func(name), a, nargs, &r, result != NULL ? 1 : 0, trap);
    if (rc == 0 && result != NULL)
        *result = r.of.i32;
    return rc;
}

static int32_t global_i32(const char *name)
{
    struct spry_extern e;
    ASSERT_OK(spry_instance_export(g.core, name, &e));
    struct spry_val v;
    spry_global_get(e.of.global, &v);
    return v.of.i32;
}

static void set_global(const char *name, int32_t value)
{
    struct spry_extern e;
    ASSERT_OK(spry_instance_export(g.core, name, &e));
    struct spry_val v = {.type = SPRY_I32, .of.i32 = value};
    ASSERT_OK(spry_global_set(e.of.global, v));
}

/* ---- guest calls host ------------------------------------------------------------ */

TEST(component_canon_call, guest_passes_strings_and_gets_one_back_through_retptr)
{
    setup();
    memcpy(mem(0x1000), "h\xc3\xa9llo, ", 8);
    memcpy(mem(0x1010), "w\xc3\xb6rld", 6);
    int32_t args[5] = {0x1000, 8, 0x1010, 6, 0x2000};
    ASSERT_OK(call("call_concat", args, 5, NULL, NULL));
    /* The result string went through the guest's realloc: at 0x8000. */
    ASSERT_EQ_UINT(get32(0x2000), 0x8000);
    ASSERT_EQ_UINT(get32(0x2004), 14);
    ASSERT_EQ_MEM(mem(0x8000), "h\xc3\xa9llo, w\xc3\xb6rld", 14);
    /* Invalid UTF-8 in an argument traps, naming the function. */
    mem(0x1010)[0] = 0xff;
    struct spry_trap trap;
    ASSERT_EQ_INT(call("call_concat", args, 5, NULL, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "concat: string is not valid UTF-8 (byte 0xff at offset 0)");
    teardown();
}

TEST(component_canon_call, bad_retptr_traps)
{
    setup();
    memcpy(mem(0x1000), "ab", 2);
    int32_t args[5] = {0x1000, 2, 0x1000, 2, 0x2002};
    struct spry_trap trap;
    ASSERT_EQ_INT(call("call_concat", args, 5, NULL, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "concat: result pointer: pointer 0x2002 is not aligned to 4");
    teardown();
    setup();
    args[4] = 0xfffc;
    ASSERT_EQ_INT(call("call_concat", args, 5, NULL, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message,
                  "concat: result pointer: 8 bytes at 0xfffc are outside memory (65536 bytes)");
    teardown();
}

TEST(component_canon_call, seventeen_parameters_come_through_memory)
{
    setup();
    for (uint32_t i = 0; i < 17; i++)
        put32(0x3000 + 4 * i, i + 1);
    int32_t arg = 0x3000, r;
    ASSERT_OK(call("call_sum17", &arg, 1, &r, NULL));
    ASSERT_EQ_INT(r, 17 * 18 / 2);
    struct spry_trap trap;
    arg = 0xffc0; /* 68 bytes do not fit */
    ASSERT_EQ_INT(call("call_sum17", &arg, 1, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message,
                  "sum17: parameters: 68 bytes at 0xffc0 are outside memory (65536 bytes)");
    teardown();
}

TEST(component_canon_call, host_traps_with_its_message_and_the_instance_stays_closed)
{
    setup();
    struct spry_trap trap;
    ASSERT_EQ_INT(call("call_fail", NULL, 0, NULL, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "the host says no (42)");
    /* A trap leaves the component instance unusable. */
    struct canon_lifted add = lift("add", add_type(), NULL);
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    struct cval a[2] = {cv_u(CT_U32, 1), cv_u(CT_U32, 2)}, r;
    ASSERT_EQ_INT(canon_lifted_call(&add, a, &arena, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message,
                  "add: cannot enter the component instance (it is running or trapped)");
    spry_arena_fini(&arena);
    teardown();
}

TEST(component_canon_call, reentering_from_a_host_call_traps)
{
    setup();
    ASSERT_OK(call("call_reenter", NULL, 0, NULL, NULL));
    ASSERT_EQ_INT(g.reenter_rc, SPRY_ETRAP);
    ASSERT_EQ_STR(g.reenter_msg,
                  "add: cannot enter the component instance (it is running or trapped)");
    /* The same from inside an export call. */
    struct canon_lifted l = lift("enter_reenter", cb_func(0, NULL), NULL);
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    g.reenter_rc = 0;
    ASSERT_OK(canon_lifted_call(&l, NULL, &arena, NULL, NULL));
    ASSERT_EQ_INT(g.reenter_rc, SPRY_ETRAP);
    spry_arena_fini(&arena);
    teardown();
}

TEST(component_canon_call, realloc_may_not_call_out)
{
    setup();
    set_global("evil", 1);
    memcpy(mem(0x1000), "ab", 2);
    int32_t args[5] = {0x1000, 2, 0x1000, 2, 0x2000};
    struct spry_trap trap;
    ASSERT_EQ_INT(call("call_concat", args, 5, NULL, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message,
                  "noop: cannot leave the component instance here (in realloc or post-return)");
    teardown();
}

/* realloc runs in a wasm activation nested in the one that made the host
 * call: a trap there (a trap instruction, a memory fault, the call-depth
 * limit) ends the host call with that trap, and the store and the
 * activation chain are whole again for the next call. */
TEST(component_canon_call, a_trap_in_realloc_during_a_host_call_unwinds)
{
    static const struct {
        int evil, kind;
    } cases[] = {
        {2, SPRY_TRAP_UNREACHABLE},
        {3, SPRY_TRAP_MEMORY_OOB},
        {4, SPRY_TRAP_STACK_EXHAUSTED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setup();
        set_global("evil", cases[i].evil);
        memcpy(mem(0x1000), "ab", 2);
        int32_t args[5] = {0x1000, 2, 0x1000, 2, 0x2000};
        struct spry_trap trap;
        memset(&trap, 0, sizeof trap);
        ASSERT_EQ_INT(call("call_concat", args, 5, NULL, &trap), SPRY_ETRAP);
        ASSERT_EQ_INT(trap.kind, cases[i].kind);
        ASSERT_NULL(interp_current_activation());
        /* Nothing was stored at the result pointer. */
        ASSERT_EQ_UINT(get32(0x2000), 0);
        /* The component instance is closed after a trap ... */
        struct canon_lifted l = lift("add", add_type(), NULL);
        struct spry_arena arena;
        spry_arena_init(&arena, 1 << 20);
        struct cval a[2] = {cv_u(CT_U32, 1), cv_u(CT_U32, 2)}, res;
        ASSERT_EQ_INT(canon_lifted_call(&l, a, &arena, &res, &trap), SPRY_ETRAP);
        ASSERT_EQ_STR(trap.message,
                      "add: cannot enter the component instance (it is running or trapped)");
        spry_arena_fini(&arena);
        /* ... but the store is whole: its core functions run, realloc
         * included. */
        set_global("evil", 0);
        int32_t ra[4] = {0, 0, 8, 16}, p = 0;
        ASSERT_OK(call("realloc", ra, 4, &p, NULL));
        ASSERT_EQ_INT(p, 0x8000);
        teardown();
    }
}

TEST(component_canon_call, borrows_are_lent_for_the_call_and_owns_move)
{
    setup();
    int32_t idx;
    int32_t arg = 55;
    ASSERT_OK(call("call_make", &arg, 1, &idx, NULL)); /* host returns own<stream> rep 55 */
    ASSERT_EQ_INT(idx, 1);
    int32_t r;
    ASSERT_OK(call("call_use_borrow", &idx, 1, &r, NULL));
    ASSERT_EQ_INT(r, 55);
    ASSERT_EQ_UINT(g.lends_seen, 1);
    ASSERT_EQ_UINT(g.inst.handles.v[1].lends, 0); /* the lend ended with the call */
    ASSERT_OK(call("call_take_own", &idx, 1, NULL, NULL));
    ASSERT_EQ_UINT(g.taken, 55);
    ASSERT_EQ_UINT(g.ndropped, 0); /* moved to the host, not dropped */
    /* It is gone from the guest's table now. */
    struct spry_trap trap;
    ASSERT_EQ_INT(call("call_use_borrow", &idx, 1, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "use_borrow: unknown handle 1");
    teardown();
}

TEST(component_canon_call, guest_drops_and_double_drops)
{
    setup();
    int32_t idx, arg = 9;
    ASSERT_OK(call("call_make", &arg, 1, &idx, NULL));
    ASSERT_OK(call("call_drop", &idx, 1, NULL, NULL));
    ASSERT_EQ_UINT(g.ndropped, 1);
    ASSERT_EQ_UINT(g.dropped[0], 9);
    struct spry_trap trap;
    ASSERT_EQ_INT(call("call_drop", &idx, 1, NULL, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "resource.drop stream: unknown handle 1");
    teardown();
}

/* ---- the plan's steps (canon.h, enum canon_step) ----------------------------------- */

/* An own or u32 result has a step of its own; a host value of another kind
 * still traps as the walker would. */
TEST(component_canon_call, planned_results_check_the_host_values_kind)
{
    setup();
    ASSERT_EQ_UINT(g.lowered[IMP_MAKE].result_step, CANON_STEP_OWN);
    ASSERT_EQ_UINT(g.lowered[IMP_USE_BORROW].result_step, CANON_STEP_U32);
    ASSERT_EQ_UINT(g.lowered[IMP_USE_BORROW].param_steps[0], CANON_STEP_BORROW);
    ASSERT_EQ_UINT(g.lowered[IMP_OPT].result_step, CANON_STEP_STORE);
    ASSERT_EQ_UINT(g.lowered[IMP_NOOP].result_step, CANON_STEP_NONE);
    ASSERT_EQ_UINT(g.lowered[IMP_COUNT16].param_steps[0], CANON_STEP_LIST);
    ASSERT_EQ_UINT(g.lowered[IMP_CONCAT].param_steps[0], CANON_STEP_WALK); /* a string */
    int32_t idx, arg = 7;
    ASSERT_OK(call("call_make", &arg, 1, &idx, NULL));
    ASSERT_EQ_INT(idx, 1);
    ASSERT_OK(call("call_make", &arg, 1, &idx, NULL));
    ASSERT_EQ_INT(idx, 2);
    ASSERT_EQ_UINT(g.inst.handles.v[2].rep, 7);
    ASSERT_TRUE(g.inst.handles.v[2].own);
    g.make_u32 = true;
    struct spry_trap trap;
    ASSERT_EQ_INT(call("call_make", &arg, 1, &idx, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "make: host value of kind u32 where a own was expected");
    teardown();

    setup();
    ASSERT_OK(call("call_make", &arg, 1, &idx, NULL));
    int32_t r = 0;
    ASSERT_OK(call("call_use_borrow", &idx, 1, &r, NULL));
    ASSERT_EQ_INT(r, 7);
    g.use_borrow_s32 = true;
    ASSERT_EQ_INT(call("call_use_borrow", &idx, 1, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "use_borrow: host value of kind s32 where a u32 was expected");
    teardown();
}

TEST(component_canon_call, planned_borrows_check_the_handle_and_lend_it_for_the_call)
{
    static const int32_t bad[] = {0, 2, 99, -1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setup();
        int32_t idx, arg = 7, r;
        ASSERT_OK(call("call_make", &arg, 1, &idx, NULL));
        struct spry_trap trap;
        char want[64];
        snprintf(want, sizeof want, "use_borrow: unknown handle %u", (uint32_t)bad[i]);
        ASSERT_EQ_INT(call("call_use_borrow", &bad[i], 1, &r, &trap), SPRY_ETRAP);
        ASSERT_EQ_STR(trap.message, want);
        teardown();
    }
    /* Five lends of one handle: past the scope's first four slots. */
    setup();
    int32_t idx, arg = 3, r = 0;
    ASSERT_OK(call("call_make", &arg, 1, &idx, NULL));
    int32_t five[5] = {idx, idx, idx, idx, idx};
    ASSERT_OK(call("call_borrow5", five, 5, &r, NULL));
    ASSERT_EQ_INT(r, 15);
    ASSERT_EQ_UINT(g.lends_seen, 5);
    ASSERT_EQ_UINT(g.inst.handles.v[1].lends, 0);
    /* A bad fifth handle traps after four lends. */
    five[4] = 9;
    struct spry_trap trap;
    ASSERT_EQ_INT(call("call_borrow5", five, 5, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "borrow5: unknown handle 9");
    teardown();
}

TEST(component_canon_call, an_option_result_is_stored_at_the_result_pointer)
{
    setup();
    memset(mem(0x2000), 0xaa, 8);
    int32_t args[2] = {77, 0x2000};
    ASSERT_OK(call("call_opt", args, 2, NULL, NULL));
    ASSERT_EQ_UINT(mem(0x2000)[0], 1);
    ASSERT_EQ_UINT(get32(0x2004), 77);
    memset(mem(0x2000), 0xaa, 8);
    g.opt_mode = 1;
    ASSERT_OK(call("call_opt", args, 2, NULL, NULL));
    ASSERT_EQ_UINT(mem(0x2000)[0], 0);
    ASSERT_EQ_UINT(get32(0x2004), 0xaaaaaaaa); /* none: the payload is not written */
    teardown();

    static const struct {
        int mode;
        int32_t retptr;
        const char *msg;
    } cases[] = {
        {0, 0x2002, "opt: result pointer: pointer 0x2002 is not aligned to 4"},
        {0, 0xfffc, "opt: result pointer: 8 bytes at 0xfffc are outside memory (65536 bytes)"},
        {0, -4, "opt: result pointer: 8 bytes at 0xfffffffc are outside memory (65536 bytes)"},
        {2, 0x2000, "opt: host option discriminant 2 is out of range (2 cases)"},
        {3, 0x2000, "opt: host option case 1 has no payload"},
        {4, 0x2000, "opt: host value of kind u32 where a option was expected"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setup();
        g.opt_mode = cases[i].mode;
        int32_t a[2] = {5, cases[i].retptr};
        struct spry_trap trap;
        ASSERT_EQ_INT(call("call_opt", a, 2, NULL, &trap), SPRY_ETRAP);
        ASSERT_EQ_STR(trap.message, cases[i].msg);
        teardown();
    }
}

TEST(component_canon_call, a_number_list_parameter_is_viewed_and_checked)
{
    setup();
    static const uint16_t v[3] = {1, 2, 3};
    memcpy(mem(0x1000), v, sizeof v);
    int32_t args[2] = {0x1000, 3}, r = 0;
    ASSERT_OK(call("call_count16", args, 2, &r, NULL));
    ASSERT_EQ_INT(r, 3006);
    args[1] = 0;
    ASSERT_OK(call("call_count16", args, 2, &r, NULL));
    ASSERT_EQ_INT(r, 0);
    teardown();
    static const struct {
        int32_t ptr, len;
        const char *msg;
    } cases[] = {
        {0x1001, 1, "count16: list: pointer 0x1001 is not aligned to 2"},
        {0xfffe, 2, "count16: list: 4 bytes at 0xfffe are outside memory (65536 bytes)"},
        {0, INT32_MIN, "count16: list: 4294967296 bytes at 0x0 are outside memory (65536 bytes)"},
        {0x10000, 1, "count16: list: 2 bytes at 0x10000 are outside memory (65536 bytes)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setup();
        int32_t a[2] = {cases[i].ptr, cases[i].len};
        struct spry_trap trap;
        ASSERT_EQ_INT(call("call_count16", a, 2, &r, &trap), SPRY_ETRAP);
        ASSERT_EQ_STR(trap.message, cases[i].msg);
        teardown();
    }
}

/* Options bound with canon_lowered_init have realloc's type checked once
 * (realloc_typed); its results are still checked on every call, and a
 * realloc of the wrong type is refused at the call. */
TEST(component_canon_call, realloc_bound_with_the_options_is_still_checked)
{
    setup();
    struct canon_lowered *l = &g.lowered[IMP_CONCAT];
    canon_lowered_init(l, "concat", l->type, host_concat, &g.opts, &g.inst);
    ASSERT_TRUE(l->opts.realloc_typed == g.opts.realloc);
    memcpy(mem(0x1000), "ab", 2);
    int32_t args[5] = {0x1000, 2, 0x1000, 2, 0x2000};
    ASSERT_OK(call("call_concat", args, 5, NULL, NULL));
    ASSERT_EQ_UINT(get32(0x2004), 4);
    set_global("evil", 5);
    struct spry_trap trap;
    ASSERT_EQ_INT(call("call_concat", args, 5, NULL, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message,
                  "concat: realloc result: 4 bytes at 0xfffffff0 are outside memory (65536 bytes)");
    teardown();

    setup();
    struct canon_options o = g.opts;
    o.realloc = export_func("add"); /* (i32, i32) -> i32 */
    l = &g.lowered[IMP_CONCAT];
    canon_lowered_init(l, "concat", l->type, host_concat, &o, &g.inst);
    ASSERT_NULL(l->opts.realloc_typed);
    memcpy(mem(0x1000), "ab", 2);
    ASSERT_EQ_INT(call("call_concat", args, 5, NULL, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "concat: realloc is not (i32, i32, i32, i32) -> i32");
    teardown();

    /* A realloc changed after binding is checked again: the checked one no
     * longer matches it. */
    setup();
    l = &g.lowered[IMP_CONCAT];
    canon_lowered_init(l, "concat", l->type, host_concat, &g.opts, &g.inst);
    l->opts.realloc = export_func("add");
    memcpy(mem(0x1000), "ab", 2);
    ASSERT_EQ_INT(call("call_concat", args, 5, NULL, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "concat: realloc is not (i32, i32, i32, i32) -> i32");
    teardown();
}

/* ---- host calls guest ------------------------------------------------------------- */

TEST(component_canon_call, lifted_add)
{
    setup();
    struct canon_lifted l = lift("add", add_type(), NULL);
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    struct cval a[2] = {cv_u(CT_U32, 0xffffffffu), cv_u(CT_U32, 3)}, r;
    ASSERT_OK(canon_lifted_call(&l, a, &arena, &r, NULL));
    ASSERT_EQ_UINT(r.kind, CT_U32);
    ASSERT_EQ_UINT(r.of.u, 2); /* wraps in 32 bits */
    spry_arena_fini(&arena);
    teardown();
}

TEST(component_canon_call, lifted_string_result_is_copied_and_post_return_runs)
{
    setup();
    const struct ctype *str = cb_prim(CT_STRING);
    struct canon_lifted l = lift("echo", cb_func(1, str, str), "echo_post");
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    struct cval a = cv_str("gr\xc3\xbc\xc3\x9f dich \xf0\x9f\x91\x8b"), r;
    ASSERT_OK(canon_lifted_call(&l, &a, &arena, &r, NULL));
    ASSERT_EQ_UINT(r.of.str.len, a.of.str.len);
    ASSERT_EQ_MEM(r.of.str.ptr, a.of.str.ptr, a.of.str.len);
    /* The argument went through realloc (at 0x8000); the result is a copy,
     * not a view of guest memory. */
    ASSERT_EQ_MEM(mem(0x8000), a.of.str.ptr, a.of.str.len);
    uint8_t *base = spry_memory_data(g.mem);
    ASSERT_TRUE((const uint8_t *)r.of.str.ptr < base ||
                (const uint8_t *)r.of.str.ptr >= base + spry_memory_size(g.mem));
    /* post-return got the core result (the pointer). */
    ASSERT_EQ_INT(global_i32("post"), 0x100);
    spry_arena_fini(&arena);
    teardown();
}

TEST(component_canon_call, lifted_with_utf16_arguments)
{
    setup();
    const struct ctype *str = cb_prim(CT_STRING);
    g.opts.encoding = CANON_UTF16;
    struct canon_lifted l = lift("echo", cb_func(1, str, str), NULL);
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    struct cval a = cv_str("\xe2\x82\xac\xf0\x9f\x98\x80"), r; /* €😀: 3 UTF-16 units */
    ASSERT_OK(canon_lifted_call(&l, &a, &arena, &r, NULL));
    ASSERT_EQ_UINT(get32(0x104), 3);
    ASSERT_EQ_UINT(r.of.str.len, 7);
    ASSERT_EQ_MEM(r.of.str.ptr, a.of.str.ptr, 7);
    spry_arena_fini(&arena);
    teardown();
}

TEST(component_canon_call, lifted_with_seventeen_parameters)
{
    setup();
    const struct ctype *u32 = cb_prim(CT_U32);
    struct canon_lifted l = lift("sum17p",
                                 cb_func(17, u32, u32, u32, u32, u32, u32, u32, u32, u32, u32, u32,
                                         u32, u32, u32, u32, u32, u32, u32),
                                 NULL);
    ASSERT_TRUE(l.flat.params_in_memory);
    struct cval a[17], r;
    for (int i = 0; i < 17; i++)
        a[i] = cv_u(CT_U32, 1000 + (uint64_t)i);
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    ASSERT_OK(canon_lifted_call(&l, a, &arena, &r, NULL));
    ASSERT_EQ_UINT(r.of.u, 17 * 1000 + 17 * 16 / 2);
    spry_arena_fini(&arena);
    teardown();
}

TEST(component_canon_call, returning_with_an_outstanding_borrow_traps)
{
    setup();
    struct canon_lifted keep = lift("keep_borrow", cb_func(1, cb_borrow(0), NULL), NULL);
    struct canon_lifted drop = lift("drop_borrow", cb_func(1, cb_borrow(0), NULL), NULL);
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    struct cval b = cv_rep(CT_BORROW, 31);
    /* Dropping the borrow before returning is what a callee must do. */
    ASSERT_OK(canon_lifted_call(&drop, &b, &arena, NULL, NULL));
    ASSERT_EQ_UINT(g.ndropped, 0); /* a borrow's drop destroys nothing */
    struct spry_trap trap;
    ASSERT_EQ_INT(canon_lifted_call(&keep, &b, &arena, NULL, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "keep_borrow: returned while still holding 1 borrowed handle");
    spry_arena_fini(&arena);
    teardown();
}

TEST(component_canon_call, lifted_result_with_invalid_utf8_traps)
{
    setup();
    struct canon_lifted l = lift("bad_utf8", cb_func(0, cb_prim(CT_STRING)), NULL);
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    struct cval r;
    struct spry_trap trap;
    ASSERT_EQ_INT(canon_lifted_call(&l, NULL, &arena, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "bad_utf8: string is not valid UTF-8 (byte 0xff at offset 0)");
    spry_arena_fini(&arena);
    teardown();
}

TEST(component_canon_call, guest_trap_is_reported_by_the_engine)
{
    setup();
    struct canon_lifted l = lift("boom", cb_func(0, NULL), NULL);
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    struct spry_trap trap;
    ASSERT_EQ_INT(canon_lifted_call(&l, NULL, &arena, NULL, &trap), SPRY_ETRAP);
    ASSERT_EQ_INT(trap.kind, SPRY_TRAP_UNREACHABLE);
    ASSERT_EQ_STR(trap.message, "unreachable");
    spry_arena_fini(&arena);
    teardown();
}

TEST(component_canon_call, core_type_mismatch_traps)
{
    setup();
    /* "add" is (i32, i32) -> i32; lifting it as (u64) -> u32 cannot call it. */
    struct canon_lifted l = lift("add", cb_func(1, cb_prim(CT_U64), cb_prim(CT_U32)), NULL);
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    struct cval a = cv_u(CT_U64, 1), r;
    struct spry_trap trap;
    ASSERT_EQ_INT(canon_lifted_call(&l, &a, &arena, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "add: the core function's type does not match the lifted type");
    spry_arena_fini(&arena);
    teardown();
}

TEST(component_canon_call, core_param_type_mismatch_traps)
{
    setup();
    /* "echo_post" is (i32) -> (): as many parameters as (u64) -> () lowers
     * to, of another type. */
    struct canon_lifted l = lift("echo_post", cb_func(1, cb_prim(CT_U64), NULL), NULL);
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    struct cval a = cv_u(CT_U64, 5);
    struct spry_trap trap;
    ASSERT_EQ_INT(canon_lifted_call(&l, &a, &arena, NULL, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message,
                  "echo_post: the core function's type does not match the lifted type");
    ASSERT_EQ_INT(global_i32("post"), -1); /* not called */
    /* The instance traps: it cannot be entered again. */
    ASSERT_EQ_INT(canon_lifted_call(&l, &a, &arena, NULL, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "echo_post: cannot enter the component instance (it is running "
                                "or trapped)");
    spry_arena_fini(&arena);
    teardown();
}

TEST(component_canon_call, core_result_type_mismatch_traps)
{
    setup();
    /* "add" returns an i32; lifted as returning a u64 it needs an i64. */
    struct canon_lifted l =
        lift("add", cb_func(2, cb_prim(CT_U32), cb_prim(CT_U32), cb_prim(CT_U64)), NULL);
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    struct cval a[2] = {cv_u(CT_U32, 1), cv_u(CT_U32, 2)}, r;
    struct spry_trap trap;
    ASSERT_EQ_INT(canon_lifted_call(&l, a, &arena, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "add: the core function's type does not match the lifted type");
    spry_arena_fini(&arena);
    teardown();
}

TEST(component_canon_call, post_return_with_other_params_traps)
{
    const char *posts[] = {"post64", "add", "boom"};
    for (size_t i = 0; i < sizeof posts / sizeof posts[0]; i++) {
        setup();
        /* "echo" gives an i32; post64 takes an i64, add two i32s, boom none. */
        const struct ctype *str = cb_prim(CT_STRING);
        struct canon_lifted l = lift("echo", cb_func(1, str, str), posts[i]);
        struct spry_arena arena;
        spry_arena_init(&arena, 1 << 20);
        struct cval a = cv_str("hi"), r;
        struct spry_trap trap;
        ASSERT_EQ_INT(canon_lifted_call(&l, &a, &arena, &r, &trap), SPRY_ETRAP);
        ASSERT_EQ_STR(trap.message, "echo: post-return does not take the function's core results");
        ASSERT_FALSE(g.inst.may_leave);
        spry_arena_fini(&arena);
        teardown();
    }
}

TEST(component_canon_call, lifted_numbers_and_results_through_memory)
{
    setup();
    const struct ctype *u64 = cb_prim(CT_U64), *f32 = cb_prim(CT_F32), *u8 = cb_prim(CT_U8);
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    struct cval r;
    struct canon_lifted fneg = lift("fneg", cb_func(1, f32, f32), NULL);
    struct cval a = cv_f32(1.5f);
    ASSERT_OK(canon_lifted_call(&fneg, &a, &arena, &r, NULL));
    ASSERT_EQ_UINT(r.kind, CT_F32);
    ASSERT_TRUE(r.of.f32 == -1.5f);

    struct canon_lifted inc = lift("inc64", cb_func(1, u64, u64), NULL);
    a = cv_u(CT_U64, 0xfffffffffffffffeu);
    ASSERT_OK(canon_lifted_call(&inc, &a, &arena, &r, NULL));
    ASSERT_EQ_UINT(r.kind, CT_U64);
    ASSERT_EQ_UINT(r.of.u, 0xffffffffffffffffu);

    /* Three flat results: the core function returns a pointer to them, and
     * post-return gets that pointer. */
    struct canon_lifted triple =
        lift("triple", cb_func(2, u64, f32, cb_tuple(3, u64, f32, u8)), "echo_post");
    ASSERT_TRUE(triple.flat.results_in_memory);
    struct cval ta[2] = {cv_u(CT_U64, 0x100000000u), cv_f32(2.0f)};
    ASSERT_OK(canon_lifted_call(&triple, ta, &arena, &r, NULL));
    ASSERT_EQ_UINT(r.kind, CT_TUPLE);
    ASSERT_EQ_UINT(r.of.list.n, 3);
    ASSERT_EQ_UINT(r.of.list.v[0].of.u, 0x100000001u);
    ASSERT_TRUE(r.of.list.v[1].of.f32 == -2.0f);
    ASSERT_EQ_UINT(r.of.list.v[2].of.u, 7);
    ASSERT_EQ_INT(global_i32("post"), 0x300);
    spry_arena_fini(&arena);
    teardown();
}

/* A result whose cases carry nothing (wasi:cli/run's result, an enum):
 * lifted from its discriminant by the plan (CANON_STEP_CASES); one past
 * the cases traps as the walker says. */
TEST(component_canon_call, lifted_payload_less_cases)
{
    setup();
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    const struct ctype *u32 = cb_prim(CT_U32);
    struct canon_lifted run = lift("add", cb_func(2, u32, u32, cb_result(NULL, NULL)), NULL);
    ASSERT_EQ_UINT(run.result_step, CANON_STEP_CASES);
    struct cval r, a[2] = {cv_u(CT_U32, 0), cv_u(CT_U32, 0)};
    memset(&r, 0xa5, sizeof r);
    ASSERT_OK(canon_lifted_call(&run, a, &arena, &r, NULL));
    ASSERT_EQ_UINT(r.kind, CT_RESULT);
    ASSERT_EQ_UINT(r.of.var.disc, 0);
    ASSERT_NULL(r.of.var.payload);
    a[1] = cv_u(CT_U32, 1);
    ASSERT_OK(canon_lifted_call(&run, a, &arena, &r, NULL));
    ASSERT_EQ_UINT(r.of.var.disc, 1);
    ASSERT_NULL(r.of.var.payload);

    struct canon_lifted e = lift("add", cb_func(2, u32, u32, cb_enum(3)), NULL);
    ASSERT_EQ_UINT(e.result_step, CANON_STEP_CASES);
    a[0] = cv_u(CT_U32, 1);
    ASSERT_OK(canon_lifted_call(&e, a, &arena, &r, NULL));
    ASSERT_EQ_UINT(r.kind, CT_ENUM);
    ASSERT_EQ_UINT(r.of.var.disc, 2);
    /* A payload in any case: the walker. */
    struct canon_lifted opt = lift("add", cb_func(2, u32, u32, cb_option(u32)), NULL);
    ASSERT_EQ_UINT(opt.result_step, CANON_STEP_WALK);
    spry_arena_fini(&arena);

    struct spry_trap trap;
    memset(&trap, 0, sizeof trap);
    spry_arena_init(&arena, 1 << 20);
    a[0] = cv_u(CT_U32, 5);
    ASSERT_EQ_INT(canon_lifted_call(&run, a, &arena, &r, &trap), SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "add: discriminant 6 is out of range for result with 2 cases");
    spry_arena_fini(&arena);
    teardown();
}

TEST(component_canon_call, shared_descriptor_checks_each_core_function)
{
    setup();
    /* A descriptor bound per call checks the core function and post-return
     * it is given, not the ones it was made with. */
    struct canon_lifted add = lift("add", add_type(), NULL);
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    struct cval a[2] = {cv_u(CT_U32, 40), cv_u(CT_U32, 2)}, r;
    struct spry_trap trap;
    struct canon_options o = g.opts;
    o.post_return = export_func("post64");
    ASSERT_EQ_INT(canon_call_guest(&add, &g.inst, &o, export_func("add"), a, &arena, &r, &trap),
                  SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "add: post-return does not take the function's core results");
    teardown();

    setup();
    add = lift("add", add_type(), NULL);
    ASSERT_EQ_INT(
        canon_call_guest(&add, &g.inst, &g.opts, export_func("echo_post"), a, &arena, &r, &trap),
        SPRY_ETRAP);
    ASSERT_EQ_STR(trap.message, "add: the core function's type does not match the lifted type");
    teardown();

    setup();
    add = lift("add", add_type(), NULL);
    o = g.opts;
    o.post_return = export_func("echo_post");
    ASSERT_OK(canon_call_guest(&add, &g.inst, &o, export_func("add"), a, &arena, &r, NULL));
    ASSERT_EQ_UINT(r.of.u, 42);
    ASSERT_EQ_INT(global_i32("post"), 42);
    spry_arena_fini(&arena);
    teardown();
}

TEST(component_canon_call, shared_descriptors_are_bound_per_call)
{
    setup();
    /* One descriptor per function type, bound to an instance at each call
     * (as pooled instances need). */
    struct canon_lifted add;
    canon_lifted_init(&add, "add", add_type(), NULL, NULL, NULL);
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    struct cval a[2] = {cv_u(CT_U32, 40), cv_u(CT_U32, 2)}, r;
    ASSERT_OK(canon_call_guest(&add, &g.inst, &g.opts, export_func("add"), a, &arena, &r, NULL));
    ASSERT_EQ_UINT(r.of.u, 42);
    spry_arena_fini(&arena);

    const struct ctype *str = cb_prim(CT_STRING);
    struct canon_lowered concat;
    canon_lowered_init(&concat, "concat", cb_func(2, str, str, str), host_concat, NULL, NULL);
    memcpy(mem(0x1000), "ab", 2);
    memcpy(mem(0x1010), "cde", 3);
    uint64_t slots[5] = {0x1000, 2, 0x1010, 3, 0x2000};
    ASSERT_OK(canon_call_host(&concat, &g.inst, &g.opts, NULL, slots));
    ASSERT_EQ_UINT(get32(0x2004), 5);
    ASSERT_EQ_MEM(mem(get32(0x2000)), "abcde", 5);
    teardown();
}

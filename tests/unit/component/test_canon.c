/*
 * Canonical ABI: lifting and lowering every type at its edges, in memory
 * and flat, against byte layouts and realloc sequences worked out by hand
 * from CanonicalABI.md; and every misuse that must trap.
 */
#include "canon_fixture.h"
#include "cbuild.h"
#include "harness/test.h"

#include <math.h>
#include <string.h>

static struct cval load(const struct ctype *t, uint32_t ptr)
{
    struct cval v;
    ASSERT_OK(canon_load(&fx.cx, t, ptr, &v));
    ASSERT_EQ_UINT(v.kind, t->kind);
    return v;
}

static int try_load(const struct ctype *t, uint32_t ptr)
{
    struct cval v;
    return canon_load(&fx.cx, t, ptr, &v);
}

static void expect_bytes(uint32_t ptr, const void *want, size_t n)
{
    ASSERT_EQ_MEM(fx.base + ptr, want, n);
}

static void expect_str(const struct cval *v, const char *s)
{
    ASSERT_EQ_UINT(v->kind, CT_STRING);
    ASSERT_EQ_UINT(v->of.str.len, strlen(s));
    ASSERT_EQ_MEM(v->of.str.ptr, s, strlen(s));
}

static void expect_realloc(uint32_t k, uint32_t old, uint32_t old_size, uint32_t align,
                           uint32_t new_size)
{
    ASSERT_LT_UINT(k, fx.ncalls);
    ASSERT_EQ_UINT(fx.calls[k].old, old);
    ASSERT_EQ_UINT(fx.calls[k].old_size, old_size);
    ASSERT_EQ_UINT(fx.calls[k].align, align);
    ASSERT_EQ_UINT(fx.calls[k].new_size, new_size);
}

/* ---- numbers, bool, char ------------------------------------------------------ */

TEST(component_canon, load_integers_sign_and_zero_extend)
{
    fx_init(CANON_UTF8);
    static const uint8_t b[8] = {0xff, 0x80, 0x00, 0x80, 0xff, 0xff, 0xff, 0xff};
    fx_put(0x100, b, 8);
    ASSERT_EQ_INT(load(cb_prim(CT_S8), 0x100).of.s, -1);
    ASSERT_EQ_UINT(load(cb_prim(CT_U8), 0x100).of.u, 255);
    ASSERT_EQ_INT(load(cb_prim(CT_S16), 0x102).of.s, -32768);
    ASSERT_EQ_UINT(load(cb_prim(CT_U16), 0x102).of.u, 0x8000);
    ASSERT_EQ_INT(load(cb_prim(CT_S32), 0x104).of.s, -1);
    ASSERT_EQ_UINT(load(cb_prim(CT_U32), 0x104).of.u, 0xffffffffu);
    ASSERT_EQ_INT(load(cb_prim(CT_S64), 0x100).of.s, (int64_t)0xffffffff800080ffull);
    ASSERT_EQ_UINT(load(cb_prim(CT_U64), 0x100).of.u, 0xffffffff800080ffull);
    fx_fini();
}

TEST(component_canon, bool_is_any_nonzero_byte_and_stores_one)
{
    fx_init(CANON_UTF8);
    static const uint8_t b[3] = {0, 1, 0x80};
    fx_put(0x10, b, 3);
    ASSERT_FALSE(load(cb_prim(CT_BOOL), 0x10).of.b);
    ASSERT_TRUE(load(cb_prim(CT_BOOL), 0x11).of.b);
    ASSERT_TRUE(load(cb_prim(CT_BOOL), 0x12).of.b);
    struct cval t = cv_bool(true);
    ASSERT_OK(canon_store(&fx.cx, cb_prim(CT_BOOL), &t, 0x20));
    ASSERT_EQ_UINT(fx.base[0x20], 1);
    /* Flat: any nonzero i32, only the low 32 bits count. */
    uint64_t slots[1] = {0x100000000ull};
    struct canon_flat in = {slots, 1, 0};
    struct cval v;
    ASSERT_OK(canon_lift_flat(&fx.cx, cb_prim(CT_BOOL), &in, &v));
    ASSERT_FALSE(v.of.b);
    slots[0] = 7;
    in.i = 0;
    ASSERT_OK(canon_lift_flat(&fx.cx, cb_prim(CT_BOOL), &in, &v));
    ASSERT_TRUE(v.of.b);
    fx_fini();
}

TEST(component_canon, store_integers_little_endian_modulo_width)
{
    fx_init(CANON_UTF8);
    struct cval v = cv_s(CT_S16, -2);
    ASSERT_OK(canon_store(&fx.cx, cb_prim(CT_S16), &v, 0x40));
    expect_bytes(0x40, "\xfe\xff", 2);
    v = cv_u(CT_U64, 0x0102030405060708ull);
    ASSERT_OK(canon_store(&fx.cx, cb_prim(CT_U64), &v, 0x48));
    expect_bytes(0x48, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
    v = cv_u(CT_U8, 0x1ff);
    ASSERT_OK(canon_store(&fx.cx, cb_prim(CT_U8), &v, 0x50));
    ASSERT_EQ_UINT(fx.base[0x50], 0xff);
    ASSERT_EQ_UINT(fx.base[0x51], 0);
    fx_fini();
}

TEST(component_canon, floats_lift_with_canonical_nans)
{
    fx_init(CANON_UTF8);
    fx_put32(0x10, 0x3fc00000); /* 1.5f */
    fx_put32(0x14, 0x7fa00001); /* a NaN with a payload */
    fx_put32(0x18, 0xff800000); /* -inf */
    ASSERT_TRUE(load(cb_prim(CT_F32), 0x10).of.f32 == 1.5f);
    float nan = load(cb_prim(CT_F32), 0x14).of.f32;
    uint32_t bits;
    memcpy(&bits, &nan, 4);
    ASSERT_EQ_UINT(bits, 0x7fc00000u);
    ASSERT_TRUE(isinf(load(cb_prim(CT_F32), 0x18).of.f32));
    static const uint8_t nan64[8] = {1, 0, 0, 0, 0, 0, 0xf0, 0xff}; /* -NaN, payload 1 */
    fx_put(0x20, nan64, 8);
    double d = load(cb_prim(CT_F64), 0x20).of.f64;
    uint64_t dbits;
    memcpy(&dbits, &d, 8);
    ASSERT_EQ_UINT(dbits, 0x7ff8000000000000ull);
    /* Flat f32 from its bits. */
    uint64_t slots[1] = {0x7f800001};
    struct canon_flat in = {slots, 1, 0};
    struct cval v;
    ASSERT_OK(canon_lift_flat(&fx.cx, cb_prim(CT_F32), &in, &v));
    memcpy(&bits, &v.of.f32, 4);
    ASSERT_EQ_UINT(bits, 0x7fc00000u);
    /* Storing keeps the bits. */
    v = cv_f64(-0.0);
    ASSERT_OK(canon_store(&fx.cx, cb_prim(CT_F64), &v, 0x28));
    expect_bytes(0x28, "\0\0\0\0\0\0\0\x80", 8);
    fx_fini();
}

TEST(component_canon, chars_must_be_scalar_values)
{
    fx_init(CANON_UTF8);
    const struct ctype *ch = cb_prim(CT_CHAR);
    fx_put32(0x10, 0x1f600);
    fx_put32(0x14, 0x10ffff);
    fx_put32(0x18, 0xd800);
    fx_put32(0x1c, 0xdfff);
    fx_put32(0x20, 0x110000);
    fx_put32(0x24, 0xe000);
    ASSERT_EQ_UINT(load(ch, 0x10).of.ch, 0x1f600);
    ASSERT_EQ_UINT(load(ch, 0x14).of.ch, 0x10ffff);
    ASSERT_EQ_UINT(load(ch, 0x24).of.ch, 0xe000);
    fx_expect_trap(try_load(ch, 0x18), "0xd800 is not a Unicode scalar value (char)");
    fx_expect_trap(try_load(ch, 0x1c), "0xdfff is not a Unicode scalar value (char)");
    fx_expect_trap(try_load(ch, 0x20), "0x110000 is not a Unicode scalar value (char)");
    /* Flat too, and a host char that is not one is refused. */
    uint64_t slots[1] = {0xd8ff};
    struct canon_flat in = {slots, 1, 0};
    struct cval v;
    fx_expect_trap(canon_lift_flat(&fx.cx, ch, &in, &v),
                   "0xd8ff is not a Unicode scalar value (char)");
    v = cv_char(0xdc00);
    fx_expect_trap(canon_store(&fx.cx, ch, &v, 0x30),
                   "host char 0xdc00 is not a Unicode scalar value");
    fx_fini();
}

/* ---- flags, records, variants ----------------------------------------------------- */

TEST(component_canon, flags_ignore_bits_past_the_labels)
{
    fx_init(CANON_UTF8);
    static const uint8_t b[8] = {0xff, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    fx_put(0x10, b, 8);
    ASSERT_EQ_UINT(load(cb_flags(3), 0x10).of.flags, 0x7);
    ASSERT_EQ_UINT(load(cb_flags(8), 0x10).of.flags, 0xff);
    ASSERT_EQ_UINT(load(cb_flags(9), 0x12).of.flags, 0x1ff);
    ASSERT_EQ_UINT(load(cb_flags(17), 0x14).of.flags, 0x1ffff);
    ASSERT_EQ_UINT(load(cb_flags(32), 0x14).of.flags, 0xffffffffu);
    struct cval v = cv_flags(0xffffffffu);
    ASSERT_OK(canon_store(&fx.cx, cb_flags(3), &v, 0x20));
    ASSERT_EQ_UINT(fx.base[0x20], 0x07);
    ASSERT_OK(canon_store(&fx.cx, cb_flags(12), &v, 0x22));
    expect_bytes(0x22, "\xff\x0f", 2);
    ASSERT_OK(canon_store(&fx.cx, cb_flags(32), &v, 0x24));
    ASSERT_EQ_UINT(fx_get32(0x24), 0xffffffffu);
    /* Flat: one i32, masked the same way. */
    uint64_t slots[1] = {0xffffffffffffffffull};
    struct canon_flat in = {slots, 1, 0};
    ASSERT_OK(canon_lift_flat(&fx.cx, cb_flags(5), &in, &v));
    ASSERT_EQ_UINT(v.of.flags, 0x1f);
    fx_fini();
}

TEST(component_canon, records_load_and_store_at_field_offsets)
{
    fx_init(CANON_UTF8);
    /* record { u8, u32, u8 }: offsets 0, 4, 8. */
    const struct ctype *r = cb_record(3, cb_prim(CT_U8), cb_prim(CT_U32), cb_prim(CT_U8));
    static const uint8_t b[12] = {7, 0xaa, 0xaa, 0xaa, 1, 2, 3, 4, 9, 0xaa, 0xaa, 0xaa};
    fx_put(0x100, b, 12);
    struct cval v = load(r, 0x100);
    ASSERT_EQ_UINT(v.of.list.n, 3);
    ASSERT_EQ_UINT(v.of.list.v[0].of.u, 7);
    ASSERT_EQ_UINT(v.of.list.v[1].of.u, 0x04030201);
    ASSERT_EQ_UINT(v.of.list.v[2].of.u, 9);
    memset(fx.base + 0x200, 0xcc, 12);
    ASSERT_OK(canon_store(&fx.cx, r, &v, 0x200));
    static const uint8_t want[12] = {7, 0xcc, 0xcc, 0xcc, 1, 2, 3, 4, 9, 0xcc, 0xcc, 0xcc};
    expect_bytes(0x200, want, 12); /* padding is not written */
    /* A host record with the wrong number of fields is refused. */
    struct cval bad = cv_record(CT_RECORD, 2, cv_u(CT_U8, 1), cv_u(CT_U32, 2));
    fx_expect_trap(canon_store(&fx.cx, r, &bad, 0x200),
                   "host record has 2 fields where the type has 3");
    bad = cv_u(CT_U32, 1);
    fx_expect_trap(canon_store(&fx.cx, r, &bad, 0x200),
                   "host value of kind u32 where a record was expected");
    fx_fini();
}

TEST(component_canon, variants_discriminants_and_payload_offsets)
{
    fx_init(CANON_UTF8);
    /* option<u64>: discriminant at 0, payload at 8. */
    const struct ctype *o = cb_option(cb_prim(CT_U64));
    static const uint8_t some[16] = {1, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x20, 0, 0, 0, 0, 0, 0};
    fx_put(0x100, some, 16);
    struct cval v = load(o, 0x100);
    ASSERT_EQ_UINT(v.of.var.disc, 1);
    ASSERT_NOT_NULL(v.of.var.payload);
    ASSERT_EQ_UINT(v.of.var.payload->of.u, 0x2010);
    fx.base[0x100] = 0;
    v = load(o, 0x100);
    ASSERT_EQ_UINT(v.of.var.disc, 0);
    ASSERT_NULL(v.of.var.payload);
    fx.base[0x100] = 2;
    fx_expect_trap(try_load(o, 0x100), "discriminant 2 is out of range for option with 2 cases");
    /* result<_, string>: payload at 4. */
    const struct ctype *r = cb_result(NULL, cb_prim(CT_STRING));
    fx_put(0x300, "oops", 4);
    fx.base[0x200] = 1;
    fx_put32(0x204, 0x300);
    fx_put32(0x208, 4);
    v = load(r, 0x200);
    ASSERT_EQ_UINT(v.of.var.disc, 1);
    expect_str(v.of.var.payload, "oops");
    /* An enum of 300 cases has a 2-byte discriminant: 0x012b = 299 is the last. */
    const struct ctype *e = cb_enum(300);
    fx.base[0x400] = 0x2b;
    fx.base[0x401] = 0x01;
    ASSERT_EQ_UINT(load(e, 0x400).of.var.disc, 299);
    fx.base[0x400] = 0x2c;
    fx_expect_trap(try_load(e, 0x400), "discriminant 300 is out of range for enum with 300 cases");
    /* Storing writes the discriminant and the payload at its offset. */
    struct cval p = cv_u(CT_U64, 5);
    v = cv_var(CT_OPTION, 1, &p);
    memset(fx.base + 0x500, 0xcc, 16);
    ASSERT_OK(canon_store(&fx.cx, o, &v, 0x500));
    static const uint8_t want[16] = {1, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
                                     5, 0,    0,    0,    0,    0,    0,    0};
    expect_bytes(0x500, want, 16);
    v = cv_var(CT_ENUM, 299, NULL);
    ASSERT_OK(canon_store(&fx.cx, e, &v, 0x510));
    expect_bytes(0x510, "\x2b\x01", 2);
    /* Host mistakes: a discriminant past the cases, a missing payload. */
    v = cv_var(CT_OPTION, 2, NULL);
    fx_expect_trap(canon_store(&fx.cx, o, &v, 0x500),
                   "host option discriminant 2 is out of range (2 cases)");
    v = cv_var(CT_OPTION, 1, NULL);
    fx_expect_trap(canon_store(&fx.cx, o, &v, 0x500), "host option case 1 has no payload");
    fx_fini();
}

TEST(component_canon, nested_records_and_wide_variants_at_hand_offsets)
{
    fx_init(CANON_UTF8);
    const struct ctype *u8 = cb_prim(CT_U8), *u16 = cb_prim(CT_U16), *u64 = cb_prim(CT_U64);
    /* record { u8, {u16, u8}, u64, {u8}, f32 }: u8 at 0, u16 at 2, u8 at 4,
     * u64 at 8, u8 at 16, f32 at 20; 24 bytes. */
    const struct ctype *a =
        cb_record(5, u8, cb_record(2, u16, u8), u64, cb_record(1, u8), cb_prim(CT_F32));
    struct cval v = cv_record(CT_RECORD, 5, cv_u(CT_U8, 0x11),
                              cv_record(CT_RECORD, 2, cv_u(CT_U16, 0x2233), cv_u(CT_U8, 0x44)),
                              cv_u(CT_U64, 0x5566778899aabbccull),
                              cv_record(CT_RECORD, 1, cv_u(CT_U8, 0x77)), cv_f32(1.0f));
    memset(fx.base + 0x100, 0xcc, 32);
    ASSERT_OK(canon_store(&fx.cx, a, &v, 0x100));
    static const uint8_t want[32] = {0x11, 0xcc, 0x33, 0x22, 0x44, 0xcc, 0xcc, 0xcc,
                                     0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66, 0x55,
                                     0x77, 0xcc, 0xcc, 0xcc, 0,    0,    0x80, 0x3f,
                                     0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc};
    expect_bytes(0x100, want, 32);
    struct cval back = load(a, 0x100);
    ASSERT_EQ_UINT(back.of.list.v[1].of.list.v[1].of.u, 0x44);
    ASSERT_EQ_UINT(back.of.list.v[2].of.u, 0x5566778899aabbccull);
    ASSERT_EQ_UINT(back.of.list.v[3].of.list.v[0].of.u, 0x77);
    ASSERT_TRUE(back.of.list.v[4].of.f32 == 1.0f);
    /* A variant of 300 cases (7: u64, 299: u8): a 2-byte discriminant, the
     * payload at 8. */
    struct ctype *w = (struct ctype *)cb_variant(0);
    struct ctype_case *c = cb_alloc(sizeof *c * 300);
    c[7].type = u64;
    c[299].type = u8;
    w->u.variant.n = 300;
    w->u.variant.cases = c;
    layout_cache(w);
    struct cval p = cv_u(CT_U8, 0x5a);
    v = cv_var(CT_VARIANT, 299, &p);
    memset(fx.base + 0x200, 0xcc, 16);
    ASSERT_OK(canon_store(&fx.cx, w, &v, 0x200));
    static const uint8_t want_w[16] = {0x2b, 0x01, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
                                       0x5a, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc};
    expect_bytes(0x200, want_w, 16);
    back = load(w, 0x200);
    ASSERT_EQ_UINT(back.of.var.disc, 299);
    ASSERT_EQ_UINT(back.of.var.payload->of.u, 0x5a);
    /* Flat: (i32 disc, i64) whichever case; the u8 goes zero-extended. */
    uint64_t slots[2] = {0, 0};
    struct canon_flat out = {slots, 2, 0};
    ASSERT_OK(canon_lower_flat(&fx.cx, w, &v, &out));
    ASSERT_EQ_UINT(out.i, 2);
    ASSERT_EQ_UINT(slots[0], 299);
    ASSERT_EQ_UINT(slots[1], 0x5a);
    slots[1] = 0x123456789abcull;
    slots[0] = 7;
    struct canon_flat in = {slots, 2, 0};
    ASSERT_OK(canon_lift_flat(&fx.cx, w, &in, &back));
    ASSERT_EQ_UINT(in.i, 2);
    ASSERT_EQ_UINT(back.of.var.payload->of.u, 0x123456789abcull);
    /* One slot short traps. */
    struct canon_flat shorter = {slots, 1, 0};
    fx_expect_trap(canon_lift_flat(&fx.cx, w, &shorter, &back),
                   "fewer core values than the type needs");
    fx_fini();
}

TEST(component_canon, nested_variants_round_trip_in_memory)
{
    fx_init(CANON_UTF8);
    /* option<result<u8, option<f32>>>: outer payload at 4, inner at 8. */
    const struct ctype *t = cb_option(cb_result(cb_prim(CT_U8), cb_option(cb_prim(CT_F32))));
    struct cval f = cv_f32(2.5f);
    struct cval inner = cv_var(CT_OPTION, 1, &f);
    struct cval res = cv_var(CT_RESULT, 1, &inner);
    struct cval v = cv_var(CT_OPTION, 1, &res);
    ASSERT_OK(canon_store(&fx.cx, t, &v, 0x100));
    ASSERT_EQ_UINT(fx.base[0x100], 1);
    ASSERT_EQ_UINT(fx.base[0x104], 1);
    ASSERT_EQ_UINT(fx.base[0x108], 1);
    ASSERT_EQ_UINT(fx_get32(0x10c), 0x40200000); /* 2.5f */
    struct cval back = load(t, 0x100);
    ASSERT_EQ_UINT(back.of.var.payload->of.var.disc, 1);
    ASSERT_TRUE(back.of.var.payload->of.var.payload->of.var.payload->of.f32 == 2.5f);
    fx_fini();
}

/* ---- lists -------------------------------------------------------------------------- */

TEST(component_canon, number_lists_are_views_or_copies)
{
    fx_init(CANON_UTF8);
    const struct ctype *l = cb_list(cb_prim(CT_U32));
    fx_put32(0x100, 0x200); /* pointer */
    fx_put32(0x104, 3);     /* length */
    fx_put32(0x200, 10);
    fx_put32(0x204, 20);
    fx_put32(0x208, 30);
    struct cval v = load(l, 0x100);
    ASSERT_EQ_UINT(v.of.raw.n, 3);
    ASSERT_TRUE(v.of.raw.ptr == fx.base + 0x200); /* a view */
    fx_new_cx(false);
    v = load(l, 0x100);
    ASSERT_TRUE(v.of.raw.ptr != fx.base + 0x200); /* a copy */
    ASSERT_EQ_MEM(v.of.raw.ptr, fx.base + 0x200, 12);
    /* A list of f32 with a NaN payload is copied, canonicalized. */
    fx_new_cx(true);
    const struct ctype *lf = cb_list(cb_prim(CT_F32));
    fx_put32(0x204, 0xffc00001);
    v = load(lf, 0x100);
    ASSERT_TRUE(v.of.raw.ptr != fx.base + 0x200);
    uint32_t w[3];
    memcpy(w, v.of.raw.ptr, 12);
    ASSERT_EQ_UINT(w[0], 10);
    ASSERT_EQ_UINT(w[1], 0x7fc00000u);
    /* Lowering copies through realloc: (0, 0, align 4, 12 bytes). */
    fx.ncalls = 0;
    static const uint32_t nums[3] = {1, 2, 0xffffffffu};
    struct cval src = cv_raw(nums, 3);
    ASSERT_OK(canon_store(&fx.cx, l, &src, 0x300));
    ASSERT_EQ_UINT(fx.ncalls, 1);
    expect_realloc(0, 0, 0, 4, 12);
    ASSERT_EQ_UINT(fx_get32(0x300), fx.calls[0].result);
    ASSERT_EQ_UINT(fx_get32(0x304), 3);
    ASSERT_EQ_MEM(fx.base + fx.calls[0].result, nums, 12);
    fx_fini();
}

TEST(component_canon, list_bounds_alignment_and_overflow_trap)
{
    fx_init(CANON_UTF8);
    const struct ctype *l = cb_list(cb_prim(CT_U32));
    uint32_t size = (uint32_t)spry_memory_size(fx.mem);
    /* Unaligned. */
    fx_put32(0x100, 0x202);
    fx_put32(0x104, 1);
    fx_expect_trap(try_load(l, 0x100), "list: pointer 0x202 is not aligned to 4");
    /* Even empty lists must be aligned. */
    fx_put32(0x104, 0);
    fx_expect_trap(try_load(l, 0x100), "list: pointer 0x202 is not aligned to 4");
    /* Past the end by one element. */
    fx_put32(0x100, size - 8);
    fx_put32(0x104, 3);
    fx_expect_trap(try_load(l, 0x100), "list: 12 bytes at 0xfff8 are outside memory (65536 bytes)");
    /* Ending exactly at the end of memory is fine; so is an empty list there. */
    fx_put32(0x104, 2);
    ASSERT_EQ_UINT(load(l, 0x100).of.raw.n, 2);
    fx_put32(0x100, size);
    fx_put32(0x104, 0);
    ASSERT_EQ_UINT(load(l, 0x100).of.raw.n, 0);
    fx_put32(0x100, size + 4);
    fx_expect_trap(try_load(l, 0x100), "list: 0 bytes at 0x10004 are outside memory (65536 bytes)");
    /* length * 4 would wrap in 32 bits: 0x40000001 * 4 = 0x100000004. */
    fx_put32(0x100, 0);
    fx_put32(0x104, 0x40000001);
    fx_expect_trap(try_load(l, 0x100),
                   "list: 4294967300 bytes at 0x0 are outside memory (65536 bytes)");
    /* The largest list: every byte of memory as list<u8>. */
    fx_put32(0x104, size);
    struct cval v = load(cb_list(cb_prim(CT_U8)), 0x100);
    ASSERT_EQ_UINT(v.of.raw.n, size);
    /* A list of records is lifted element by element and checked the same way. */
    const struct ctype *lr = cb_list(cb_tuple(2, cb_prim(CT_U16), cb_prim(CT_U8)));
    fx_put32(0x100, 0x400);
    fx_put32(0x104, 2);
    static const uint8_t recs[8] = {1, 0, 2, 0xcc, 3, 0, 4, 0xcc};
    fx_put(0x400, recs, 8);
    v = load(lr, 0x100);
    ASSERT_EQ_UINT(v.of.list.n, 2);
    ASSERT_EQ_UINT(v.of.list.v[1].of.list.v[0].of.u, 3);
    ASSERT_EQ_UINT(v.of.list.v[1].of.list.v[1].of.u, 4);
    fx_put32(0x100, 0x401);
    fx_expect_trap(try_load(lr, 0x100), "list: pointer 0x401 is not aligned to 2");
    fx_fini();
}

TEST(component_canon, lowering_lists_of_strings_and_empty_lists)
{
    fx_init(CANON_UTF8);
    const struct ctype *l = cb_list(cb_prim(CT_STRING));
    struct cval v = cv_list(2, cv_str("ab"), cv_str(""));
    ASSERT_OK(canon_store(&fx.cx, l, &v, 0x100));
    /* The element array first (2 x 8 bytes), then each string, even the
     * empty one: the spec calls realloc for every string. */
    ASSERT_EQ_UINT(fx.ncalls, 3);
    expect_realloc(0, 0, 0, 4, 16);
    expect_realloc(1, 0, 0, 1, 2);
    expect_realloc(2, 0, 0, 1, 0);
    uint32_t arr = fx.calls[0].result;
    ASSERT_EQ_UINT(fx_get32(0x100), arr);
    ASSERT_EQ_UINT(fx_get32(0x104), 2);
    ASSERT_EQ_UINT(fx_get32(arr), fx.calls[1].result);
    ASSERT_EQ_UINT(fx_get32(arr + 4), 2);
    ASSERT_EQ_UINT(fx_get32(arr + 12), 0);
    expect_bytes(fx.calls[1].result, "ab", 2);
    /* Lifting it back. */
    struct cval back = load(l, 0x100);
    ASSERT_EQ_UINT(back.of.list.n, 2);
    expect_str(&back.of.list.v[0], "ab");
    expect_str(&back.of.list.v[1], "");
    /* A host list or record claiming elements it does not have. */
    struct cval hollow = cv_list(0);
    hollow.of.list.v = NULL;
    hollow.of.list.n = 2;
    fx_expect_trap(canon_store(&fx.cx, l, &hollow, 0x200), "host list of 2 elements has no data");
    hollow = cv_raw(NULL, 5);
    fx_expect_trap(canon_store(&fx.cx, cb_list(cb_prim(CT_U8)), &hollow, 0x200),
                   "host list of 5 elements has no data");
    hollow = cv_record(CT_TUPLE, 0);
    hollow.of.list.v = NULL;
    hollow.of.list.n = 1;
    fx_expect_trap(canon_store(&fx.cx, cb_tuple(1, cb_prim(CT_U8)), &hollow, 0x200),
                   "host tuple has no fields array");
    /* An empty list still gets its (zero-byte) allocation. */
    fx.ncalls = 0;
    v = cv_list(0);
    ASSERT_OK(canon_store(&fx.cx, l, &v, 0x200));
    ASSERT_EQ_UINT(fx.ncalls, 1);
    expect_realloc(0, 0, 0, 4, 0);
    ASSERT_EQ_UINT(fx_get32(0x204), 0);
    fx_fini();
}

/* ---- strings ------------------------------------------------------------------------- */

static struct cval lift_str(uint32_t ptr, uint32_t tagged_len)
{
    struct cval v;
    ASSERT_OK(canon_lift_string(&fx.cx, ptr, tagged_len, &v));
    return v;
}

TEST(component_canon, utf8_strings_are_validated)
{
    fx_init(CANON_UTF8);
    static const char ok[] = "h\xc3\xa9llo \xf0\x9f\x98\x80"; /* héllo 😀 */
    fx_put(0x100, ok, sizeof ok - 1);
    struct cval v = lift_str(0x100, sizeof ok - 1);
    expect_str(&v, ok);
    ASSERT_TRUE(v.of.str.ptr == (const char *)fx.base + 0x100);
    struct cval out;
    static const struct {
        const char *bytes;
        const char *msg;
    } bad[] = {
        {"a\xff", "string is not valid UTF-8 (byte 0xff at offset 1)"},
        {"\xc0\x80", "string is not valid UTF-8 (byte 0xc0 at offset 0)"},         /* overlong */
        {"\xe0\x9f\xbf", "string is not valid UTF-8 (byte 0xe0 at offset 0)"},     /* overlong */
        {"x\xed\xa0\x80", "string is not valid UTF-8 (byte 0xed at offset 1)"},    /* surrogate */
        {"\xf4\x90\x80\x80", "string is not valid UTF-8 (byte 0xf4 at offset 0)"}, /* > 10FFFF */
        {"ab\xf0\x9f\x98", "string is not valid UTF-8 (byte 0xf0 at offset 2)"},   /* cut */
        {"\x80", "string is not valid UTF-8 (byte 0x80 at offset 0)"},
        {"\xc3\x28", "string is not valid UTF-8 (byte 0xc3 at offset 0)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fx_put(0x200, bad[i].bytes, strlen(bad[i].bytes));
        fx_expect_trap(canon_lift_string(&fx.cx, 0x200, (uint32_t)strlen(bad[i].bytes), &out),
                       bad[i].msg);
    }
    /* Bounds, and the 2^31-1 byte limit. */
    fx_expect_trap(canon_lift_string(&fx.cx, 0xfffe, 3, &out),
                   "string: 3 bytes at 0xfffe are outside memory (65536 bytes)");
    fx_expect_trap(canon_lift_string(&fx.cx, 0, 0x80000000u, &out),
                   "string of 2147483648 bytes is longer than the limit of 2^31-1");
    fx_fini();
}

TEST(component_canon, utf16_strings_lift_to_utf8)
{
    fx_init(CANON_UTF16);
    /* "hé😀": h, é, D83D DE00. */
    static const uint8_t u[8] = {'h', 0, 0xe9, 0, 0x3d, 0xd8, 0x00, 0xde};
    fx_put(0x100, u, 8);
    struct cval v = lift_str(0x100, 4);
    expect_str(&v, "h\xc3\xa9\xf0\x9f\x98\x80");
    struct cval out;
    /* Unaligned pointer. */
    fx_expect_trap(canon_lift_string(&fx.cx, 0x101, 1, &out),
                   "string: pointer 0x101 is not aligned to 2");
    /* A high surrogate at the end, a high surrogate before a non-surrogate,
     * a lone low surrogate. */
    fx_expect_trap(canon_lift_string(&fx.cx, 0x100, 3, &out),
                   "string is not valid UTF-16 (unpaired surrogate 0xd83d at unit 2)");
    static const uint8_t u2[4] = {0x3d, 0xd8, 'a', 0};
    fx_put(0x200, u2, 4);
    fx_expect_trap(canon_lift_string(&fx.cx, 0x200, 2, &out),
                   "string is not valid UTF-16 (unpaired surrogate 0xd83d at unit 0)");
    fx_expect_trap(canon_lift_string(&fx.cx, 0x106, 1, &out),
                   "string is not valid UTF-16 (unpaired surrogate 0xde00 at unit 0)");
    /* The byte length is twice the units: 0x40000000 units are 2^31 bytes. */
    fx_expect_trap(canon_lift_string(&fx.cx, 0, 0x40000000u, &out),
                   "string of 2147483648 bytes is longer than the limit of 2^31-1");
    fx_expect_trap(canon_lift_string(&fx.cx, 0xfffc, 3, &out),
                   "string: 6 bytes at 0xfffc are outside memory (65536 bytes)");
    fx_fini();
}

TEST(component_canon, latin1_utf16_strings_follow_the_tag)
{
    fx_init(CANON_LATIN1_UTF16);
    fx_put(0x100, "caf\xe9", 4); /* Latin-1 */
    struct cval v = lift_str(0x100, 4);
    expect_str(&v, "caf\xc3\xa9");
    fx_put(0x200, "plain", 5); /* ASCII Latin-1 is used in place */
    v = lift_str(0x200, 5);
    ASSERT_TRUE(v.of.str.ptr == (const char *)fx.base + 0x200);
    static const uint8_t u[4] = {0xac, 0x20, '!', 0}; /* € ! */
    fx_put(0x300, u, 4);
    v = lift_str(0x300, 2 | CANON_UTF16_TAG);
    expect_str(&v, "\xe2\x82\xac!");
    struct cval out;
    /* Alignment 2 even for Latin-1. */
    fx_expect_trap(canon_lift_string(&fx.cx, 0x101, 1, &out),
                   "string: pointer 0x101 is not aligned to 2");
    /* The tagged length counts UTF-16 units: 2 * 0x7fffffff bytes. */
    fx_expect_trap(canon_lift_string(&fx.cx, 0, 0xffffffffu, &out),
                   "string of 4294967294 bytes is longer than the limit of 2^31-1");
    fx_fini();
}

static void lower_str(const char *s, uint32_t *ptr, uint32_t *len)
{
    fx.ncalls = 0;
    ASSERT_OK(canon_lower_string(&fx.cx, s, strlen(s), ptr, len));
}

TEST(component_canon, lowering_to_utf8_copies_once)
{
    fx_init(CANON_UTF8);
    uint32_t p, n;
    lower_str("h\xc3\xa9", &p, &n);
    ASSERT_EQ_UINT(fx.ncalls, 1);
    expect_realloc(0, 0, 0, 1, 3);
    ASSERT_EQ_UINT(n, 3);
    ASSERT_EQ_UINT(p, fx.calls[0].result);
    expect_bytes(p, "h\xc3\xa9", 3);
    lower_str("", &p, &n);
    ASSERT_EQ_UINT(fx.ncalls, 1);
    expect_realloc(0, 0, 0, 1, 0);
    ASSERT_EQ_UINT(n, 0);
    /* A host string that is not UTF-8 never reaches the guest. */
    fx_expect_trap(canon_lower_string(&fx.cx, "a\xc3", 2, &p, &n),
                   "host string is not valid UTF-8 (byte 0xc3 at offset 1)");
    fx_fini();
}

TEST(component_canon, lowering_to_utf16_allocates_worst_case_then_shrinks)
{
    fx_init(CANON_UTF16);
    uint32_t p, n;
    /* "hé😀": 7 UTF-8 bytes; worst case 14 bytes; 4 units written. */
    lower_str("h\xc3\xa9\xf0\x9f\x98\x80", &p, &n);
    ASSERT_EQ_UINT(fx.ncalls, 2);
    expect_realloc(0, 0, 0, 2, 14);
    expect_realloc(1, fx.calls[0].result, 14, 2, 8);
    ASSERT_EQ_UINT(n, 4);
    ASSERT_EQ_UINT(p, fx.calls[1].result);
    static const uint8_t want[8] = {'h', 0, 0xe9, 0, 0x3d, 0xd8, 0x00, 0xde};
    expect_bytes(p, want, 8);
    /* ASCII fills the worst case exactly: no shrink. */
    lower_str("ab", &p, &n);
    ASSERT_EQ_UINT(fx.ncalls, 1);
    expect_realloc(0, 0, 0, 2, 4);
    expect_bytes(p, "a\0b\0", 4);
    fx_fini();
}

TEST(component_canon, lowering_to_latin1_utf16)
{
    fx_init(CANON_LATIN1_UTF16);
    uint32_t p, n;
    /* All ASCII: n bytes, no shrink, untagged. */
    lower_str("abc", &p, &n);
    ASSERT_EQ_UINT(fx.ncalls, 1);
    expect_realloc(0, 0, 0, 2, 3);
    ASSERT_EQ_UINT(n, 3);
    expect_bytes(p, "abc", 3);
    /* "café" is 5 UTF-8 bytes and 4 Latin-1 ones: shrink to 4. */
    lower_str("caf\xc3\xa9", &p, &n);
    ASSERT_EQ_UINT(fx.ncalls, 2);
    expect_realloc(0, 0, 0, 2, 5);
    expect_realloc(1, fx.calls[0].result, 5, 2, 4);
    ASSERT_EQ_UINT(n, 4);
    expect_bytes(p, "caf\xe9", 4);
    /* "aé😀" (7 bytes): Latin-1 for a and é, then the emoji forces UTF-16:
     * grow to 14, widen, 4 units (8 bytes), shrink, tag. */
    lower_str("a\xc3\xa9\xf0\x9f\x98\x80", &p, &n);
    ASSERT_EQ_UINT(fx.ncalls, 3);
    expect_realloc(0, 0, 0, 2, 7);
    expect_realloc(1, fx.calls[0].result, 7, 2, 14);
    expect_realloc(2, fx.calls[1].result, 14, 2, 8);
    ASSERT_EQ_UINT(n, 4u | CANON_UTF16_TAG);
    static const uint8_t want[8] = {'a', 0, 0xe9, 0, 0x3d, 0xd8, 0x00, 0xde};
    expect_bytes(p, want, 8);
    /* Round trip through lifting. */
    struct cval v = lift_str(p, n);
    expect_str(&v, "a\xc3\xa9\xf0\x9f\x98\x80");
    fx_fini();
}

TEST(component_canon, strings_round_trip_in_every_encoding)
{
    static const char *const samples[] = {
        "",
        "ascii",
        "caf\xc3\xa9",
        "\xe2\x82\xac uro",
        "\xf0\x9f\x98\x80\xf0\x9f\x98\x81",
        "mix \xc3\xbf\xc4\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf",
    };
    static const uint8_t encs[] = {CANON_UTF8, CANON_UTF16, CANON_LATIN1_UTF16};
    for (size_t e = 0; e < 3; e++) {
        fx_init(encs[e]);
        for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
            uint32_t p, n;
            lower_str(samples[i], &p, &n);
            struct cval v = lift_str(p, n);
            expect_str(&v, samples[i]);
        }
        fx_fini();
    }
}

/* ---- realloc misbehaving -------------------------------------------------------- */

TEST(component_canon, realloc_results_are_checked)
{
    fx_init(CANON_UTF16);
    uint32_t p, n;
    fx.mode = REALLOC_MISALIGNED;
    fx_expect_trap(canon_lower_string(&fx.cx, "ab", 2, &p, &n),
                   "realloc result: pointer 0x2001 is not aligned to 2");
    fx.mode = REALLOC_OUTSIDE;
    fx_expect_trap(canon_lower_string(&fx.cx, "ab", 2, &p, &n),
                   "realloc result: 4 bytes at 0xfffe are outside memory (65536 bytes)");
    fx.mode = REALLOC_TRAP;
    ASSERT_EQ_INT(canon_lower_string(&fx.cx, "ab", 2, &p, &n), SPRY_ETRAP);
    ASSERT_EQ_INT(fx.cx.report.code, 0); /* the engine has that trap */
    fx_new_cx(true);
    /* The trap left may_leave false: the instance cannot run realloc again. */
    fx.mode = REALLOC_BUMP;
    fx_expect_trap(canon_lower_string(&fx.cx, "ab", 2, &p, &n),
                   "cannot call realloc: the instance is in realloc or post-return");
    /* No realloc option at all. */
    fx.inst.may_leave = true;
    fx.opts.realloc = NULL;
    fx_expect_trap(canon_lower_string(&fx.cx, "ab", 2, &p, &n),
                   "no realloc option to allocate 4 bytes in");
    fx_fini();
}

TEST(component_canon, a_realloc_rewriting_the_source_string_cannot_cause_overreads)
{
    /* The host lowers a string that is a view of guest memory (an argument
     * it echoes), right at the end of memory; the guest's realloc rewrites
     * it into truncated 4-byte sequences before it is encoded. Each bad
     * byte becomes U+FFFD and nothing past the string is read. */
    static const uint8_t encs[] = {CANON_UTF16, CANON_LATIN1_UTF16};
    for (size_t e = 0; e < 2; e++) {
        fx_init(encs[e]);
        uint32_t at = (uint32_t)spry_memory_size(fx.mem) - 3;
        fx_put(at, "abc", 3);
        fx.scribble_at = at;
        fx.scribble_len = 3;
        uint32_t p, n;
        ASSERT_OK(canon_lower_string(&fx.cx, (const char *)fx.base + at, 3, &p, &n));
        fx.scribble_len = 0;
        if (encs[e] == CANON_LATIN1_UTF16)
            ASSERT_EQ_UINT(n, 3u | CANON_UTF16_TAG);
        else
            ASSERT_EQ_UINT(n, 3);
        expect_bytes(p, "\xfd\xff\xfd\xff\xfd\xff", 6);
        fx_fini();
    }
}

/* ---- flat values and the variant join -------------------------------------------- */

TEST(component_canon, flat_integers_wrap_to_their_width)
{
    fx_init(CANON_UTF8);
    uint64_t slots[4] = {0x1ff, 0x80, 0xffffffff00000005ull, 0xfffe};
    struct canon_flat in = {slots, 4, 0};
    struct cval v;
    ASSERT_OK(canon_lift_flat(&fx.cx, cb_prim(CT_U8), &in, &v));
    ASSERT_EQ_UINT(v.of.u, 0xff);
    ASSERT_OK(canon_lift_flat(&fx.cx, cb_prim(CT_S8), &in, &v));
    ASSERT_EQ_INT(v.of.s, -128);
    ASSERT_OK(canon_lift_flat(&fx.cx, cb_prim(CT_U32), &in, &v));
    ASSERT_EQ_UINT(v.of.u, 5);
    ASSERT_OK(canon_lift_flat(&fx.cx, cb_prim(CT_S16), &in, &v));
    ASSERT_EQ_INT(v.of.s, -2);
    fx_expect_trap(canon_lift_flat(&fx.cx, cb_prim(CT_U8), &in, &v),
                   "fewer core values than the type needs");
    /* Lowering: signed values are two's complement in 32 bits, zero-extended. */
    uint64_t out[3];
    struct canon_flat o = {out, 3, 0};
    struct cval a = cv_s(CT_S8, -1), b = cv_s(CT_S64, -1), c = cv_u(CT_U16, 0x12345);
    ASSERT_OK(canon_lower_flat(&fx.cx, cb_prim(CT_S8), &a, &o));
    ASSERT_OK(canon_lower_flat(&fx.cx, cb_prim(CT_S64), &b, &o));
    ASSERT_OK(canon_lower_flat(&fx.cx, cb_prim(CT_U16), &c, &o));
    ASSERT_EQ_UINT(out[0], 0xffffffffu);
    ASSERT_EQ_UINT(out[1], 0xffffffffffffffffull);
    ASSERT_EQ_UINT(out[2], 0x2345);
    fx_expect_trap(canon_lower_flat(&fx.cx, cb_prim(CT_U8), &c, &o),
                   "host value of kind u16 where a u8 was expected");
    struct cval d = cv_u(CT_U8, 1);
    fx_expect_trap(canon_lower_flat(&fx.cx, cb_prim(CT_U8), &d, &o),
                   "more core values than the signature has");
    fx_fini();
}

TEST(component_canon, flat_variants_use_the_joined_slots)
{
    fx_init(CANON_UTF8);
    /* result<u64, f32> is (i32, i64); the error's f32 travels in the i64. */
    const struct ctype *r = cb_result(cb_prim(CT_U64), cb_prim(CT_F32));
    uint64_t out[2] = {99, 99};
    struct canon_flat o = {out, 2, 0};
    struct cval f = cv_f32(1.5f);
    struct cval v = cv_var(CT_RESULT, 1, &f);
    ASSERT_OK(canon_lower_flat(&fx.cx, r, &v, &o));
    ASSERT_EQ_UINT(o.i, 2);
    ASSERT_EQ_UINT(out[0], 1);
    ASSERT_EQ_UINT(out[1], 0x3fc00000);
    struct canon_flat in = {out, 2, 0};
    struct cval back;
    ASSERT_OK(canon_lift_flat(&fx.cx, r, &in, &back));
    ASSERT_EQ_UINT(in.i, 2);
    ASSERT_TRUE(back.of.var.payload->of.f32 == 1.5f);
    /* The f32 takes the low half of the i64: high bits are ignored. */
    out[1] = 0xdead00003fc00000ull;
    in.i = 0;
    ASSERT_OK(canon_lift_flat(&fx.cx, r, &in, &back));
    ASSERT_TRUE(back.of.var.payload->of.f32 == 1.5f);
    /* option<u8> none: the payload slot is zero-filled. */
    const struct ctype *o8 = cb_option(cb_prim(CT_U8));
    out[0] = out[1] = 99;
    o.i = 0;
    v = cv_var(CT_OPTION, 0, NULL);
    ASSERT_OK(canon_lower_flat(&fx.cx, o8, &v, &o));
    ASSERT_EQ_UINT(out[0], 0);
    ASSERT_EQ_UINT(out[1], 0);
    /* variant { a(bool), b(u64) }: a bool read from an i64 slot wraps first. */
    const struct ctype *vb = cb_variant(2, cb_prim(CT_BOOL), cb_prim(CT_U64));
    uint64_t s[2] = {0, 0x100000000ull};
    in = (struct canon_flat){s, 2, 0};
    ASSERT_OK(canon_lift_flat(&fx.cx, vb, &in, &back));
    ASSERT_FALSE(back.of.var.payload->of.b);
    /* Followed by something else: the cursor skips the whole variant. */
    const struct ctype *t = cb_tuple(
        2, cb_variant(3, NULL, cb_prim(CT_U8), cb_tuple(2, cb_prim(CT_F64), cb_prim(CT_U8))),
        cb_prim(CT_U32));
    uint64_t s3[4] = {1, 42, 0, 7}; /* (i32 disc, i64, i32, i32) */
    in = (struct canon_flat){s3, 4, 0};
    ASSERT_OK(canon_lift_flat(&fx.cx, t, &in, &back));
    ASSERT_EQ_UINT(in.i, 4);
    ASSERT_EQ_UINT(back.of.list.v[0].of.var.payload->of.u, 42);
    ASSERT_EQ_UINT(back.of.list.v[1].of.u, 7);
    s3[0] = 3;
    in.i = 0;
    fx_expect_trap(canon_lift_flat(&fx.cx, t, &in, &back),
                   "discriminant 3 is out of range for variant with 3 cases");
    fx_fini();
}

TEST(component_canon, values_past_16_flat_go_through_memory)
{
    fx_init(CANON_UTF8);
    /* 17 u32 parameters: one pointer to a 68-byte tuple. */
    struct ctype_field f[17];
    struct cval vs[17], back[17];
    for (int i = 0; i < 17; i++) {
        f[i] = (struct ctype_field){NULL, cb_prim(CT_U32)};
        vs[i] = cv_u(CT_U32, 100 + (uint64_t)i);
    }
    uint64_t slots[17];
    struct canon_flat o = {slots, 17, 0};
    ASSERT_OK(canon_lower_values(&fx.cx, 17, f, vs, LAYOUT_MAX_FLAT_PARAMS, NULL, &o));
    ASSERT_EQ_UINT(o.i, 1);
    ASSERT_EQ_UINT(fx.ncalls, 1);
    expect_realloc(0, 0, 0, 4, 68);
    ASSERT_EQ_UINT(slots[0], fx.calls[0].result);
    ASSERT_EQ_UINT(fx_get32((uint32_t)slots[0] + 64), 116);
    struct canon_flat in = {slots, 1, 0};
    ASSERT_OK(canon_lift_values(&fx.cx, 17, f, LAYOUT_MAX_FLAT_PARAMS, &in, back));
    ASSERT_EQ_UINT(back[16].of.u, 116);
    /* 16 stay flat. */
    o = (struct canon_flat){slots, 17, 0};
    ASSERT_OK(canon_lower_values(&fx.cx, 16, f, vs, LAYOUT_MAX_FLAT_PARAMS, NULL, &o));
    ASSERT_EQ_UINT(o.i, 16);
    ASSERT_EQ_UINT(slots[15], 115);
    /* A result of two flat values into a caller's pointer, which must be
     * aligned and in bounds. */
    struct ctype_field rf = {NULL, cb_option(cb_prim(CT_U32))};
    struct cval seven = cv_u(CT_U32, 7), r = cv_var(CT_OPTION, 1, &seven);
    uint32_t rp = 0x800;
    o = (struct canon_flat){slots, 0, 0};
    ASSERT_OK(canon_lower_values(&fx.cx, 1, &rf, &r, LAYOUT_MAX_FLAT_RESULTS, &rp, &o));
    ASSERT_EQ_UINT(o.i, 0);
    ASSERT_EQ_UINT(fx.base[0x800], 1);
    ASSERT_EQ_UINT(fx_get32(0x804), 7);
    rp = 0x802;
    fx_expect_trap(canon_lower_values(&fx.cx, 1, &rf, &r, LAYOUT_MAX_FLAT_RESULTS, &rp, &o),
                   "result pointer: pointer 0x802 is not aligned to 4");
    rp = 0xfffc;
    fx_expect_trap(canon_lower_values(&fx.cx, 1, &rf, &r, LAYOUT_MAX_FLAT_RESULTS, &rp, &o),
                   "result pointer: 8 bytes at 0xfffc are outside memory (65536 bytes)");
    /* Lifting parameters from a bad pointer. */
    slots[0] = 0xfff0;
    in = (struct canon_flat){slots, 1, 0};
    fx_expect_trap(canon_lift_values(&fx.cx, 17, f, LAYOUT_MAX_FLAT_PARAMS, &in, back),
                   "parameters: 68 bytes at 0xfff0 are outside memory (65536 bytes)");
    slots[0] = 0x802;
    in.i = 0;
    fx_expect_trap(canon_lift_values(&fx.cx, 17, f, LAYOUT_MAX_FLAT_PARAMS, &in, back),
                   "parameters: pointer 0x802 is not aligned to 4");
    fx_fini();
}

TEST(component_canon, ccall_trap_sets_the_message_and_returns_etrap)
{
    struct spry_report report;
    spry_report_init(&report);
    struct ccall call = {.report = &report};
    ASSERT_EQ_INT(ccall_trap(&call, "bad %s %d", "thing", 3), SPRY_ETRAP);
    ASSERT_EQ_STR(report.message, "bad thing 3");
}

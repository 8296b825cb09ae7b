/*
 * Canonical ABI layout: sizes, alignments and flat types, each worked out
 * by hand from CanonicalABI.md's rules (alignment, elem_size,
 * flatten_type), never taken from the code under test.
 */
#include "cbuild.h"
#include "harness/test.h"

#include "component/layout.h"

#include <string.h>

enum { I32 = SPRY_I32, I64 = SPRY_I64, F32 = SPRY_F32, F64 = SPRY_F64 };

static void expect_layout(const struct ctype *t, uint32_t size, uint32_t align)
{
    ASSERT_OK(layout_check(t, NULL));
    ASSERT_EQ_UINT(layout_size(t), size);
    ASSERT_EQ_UINT(layout_align(t), align);
}

/* The flat types of t, as a string of letters: i (i32), I (i64), f, F. */
static const char *flat_str(const struct ctype *t)
{
    static char s[LAYOUT_MAX_FLAT + 1];
    uint8_t flat[LAYOUT_MAX_FLAT];
    uint32_t n = layout_flatten(t, flat);
    ASSERT_LE_UINT(n, LAYOUT_MAX_FLAT);
    for (uint32_t i = 0; i < n; i++)
        s[i] = flat[i] == I32 ? 'i' : flat[i] == I64 ? 'I' : flat[i] == F32 ? 'f' : 'F';
    s[n] = '\0';
    return s;
}

TEST(component_layout, numbers_char_bool_and_handles)
{
    static const struct {
        uint8_t kind;
        uint32_t size;
        const char *flat;
    } cases[] = {
        {CT_BOOL, 1, "i"}, {CT_S8, 1, "i"},  {CT_U8, 1, "i"},  {CT_S16, 2, "i"},
        {CT_U16, 2, "i"},  {CT_S32, 4, "i"}, {CT_U32, 4, "i"}, {CT_S64, 8, "I"},
        {CT_U64, 8, "I"},  {CT_F32, 4, "f"}, {CT_F64, 8, "F"}, {CT_CHAR, 4, "i"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct ctype *t = cb_prim(cases[i].kind);
        expect_layout(t, cases[i].size, cases[i].size);
        ASSERT_EQ_STR(flat_str(t), cases[i].flat);
    }
    expect_layout(cb_own(0), 4, 4);
    ASSERT_EQ_STR(flat_str(cb_own(3)), "i");
    expect_layout(cb_borrow(0), 4, 4);
    ASSERT_EQ_STR(flat_str(cb_borrow(0)), "i");
}

TEST(component_layout, strings_and_lists_are_pointer_and_length)
{
    expect_layout(cb_prim(CT_STRING), 8, 4);
    ASSERT_EQ_STR(flat_str(cb_prim(CT_STRING)), "ii");
    /* Whatever the element, a list is (i32 pointer, i32 length). */
    const struct ctype *elems[] = {cb_prim(CT_U8), cb_prim(CT_U64), cb_prim(CT_STRING),
                                   cb_record(2, cb_prim(CT_U8), cb_prim(CT_F64)),
                                   cb_list(cb_list(cb_prim(CT_CHAR)))};
    for (size_t i = 0; i < sizeof elems / sizeof elems[0]; i++) {
        expect_layout(cb_list(elems[i]), 8, 4);
        ASSERT_EQ_STR(flat_str(cb_list(elems[i])), "ii");
    }
}

TEST(component_layout, records_pad_fields_to_their_alignment)
{
    const struct ctype *u8 = cb_prim(CT_U8), *u16 = cb_prim(CT_U16), *u32 = cb_prim(CT_U32),
                       *u64 = cb_prim(CT_U64);
    /* u8 at 0, u32 at 4, u8 at 8: 9 bytes, rounded to 12. */
    const struct ctype *r = cb_record(3, u8, u32, u8);
    expect_layout(r, 12, 4);
    ASSERT_EQ_STR(flat_str(r), "iii");
    /* u8 at 0, u64 at 8. */
    expect_layout(cb_record(2, u8, u64), 16, 8);
    /* u64 at 0, u8 at 8: 9 rounded to 16. */
    expect_layout(cb_record(2, u64, u8), 16, 8);
    /* u8 at 0, u16 at 2, u8 at 4: 5 rounded to 6. */
    const struct ctype *t = cb_tuple(3, u8, u16, u8);
    expect_layout(t, 6, 2);
    ASSERT_EQ_STR(flat_str(t), "iii");
    expect_layout(cb_record(1, u8), 1, 1);
    expect_layout(cb_tuple(1, cb_prim(CT_F32)), 4, 4);
    /* A string (align 4) after a u8: 4 + 8. */
    const struct ctype *s = cb_record(2, u8, cb_prim(CT_STRING));
    expect_layout(s, 12, 4);
    ASSERT_EQ_STR(flat_str(s), "iii");
    /* Nested: tuple<u8, record{u8, u64}> puts the record at 8: 8 + 16. */
    const struct ctype *n = cb_tuple(2, u8, cb_record(2, u8, u64));
    expect_layout(n, 24, 8);
    ASSERT_EQ_STR(flat_str(n), "iiI");
    /* Floats flatten as themselves. */
    ASSERT_EQ_STR(flat_str(cb_tuple(3, cb_prim(CT_F32), cb_prim(CT_F64), cb_prim(CT_S64))), "fFI");
    ASSERT_EQ_UINT(layout_fields_size(3, r->u.record.fields), 12);
    ASSERT_EQ_UINT(layout_fields_align(3, r->u.record.fields), 4);
}

TEST(component_layout, zero_size_records_and_tuples_are_invalid)
{
    /* The spec's elem_size_record asserts a record is not empty and the
     * Explainer requires a field; the functions still answer size 0,
     * alignment 1 and no flat values without crashing. */
    struct spry_report report;
    spry_report_init(&report);
    const struct ctype *r = cb_record(0), *t = cb_tuple(0);
    ASSERT_EQ_INT(layout_check(r, &report), SPRY_EINVALID);
    ASSERT_EQ_STR(report.message, "record with no fields");
    ASSERT_EQ_INT(layout_check(t, NULL), SPRY_EINVALID);
    ASSERT_EQ_INT(layout_check(cb_list(r), NULL), SPRY_EINVALID);
    ASSERT_EQ_INT(layout_check(cb_option(cb_tuple(1, t)), NULL), SPRY_EINVALID);
    ASSERT_EQ_UINT(layout_size(r), 0);
    ASSERT_EQ_UINT(layout_align(r), 1);
    ASSERT_EQ_STR(flat_str(t), "");
    ASSERT_EQ_INT(layout_check(cb_variant(0), NULL), SPRY_EINVALID);
    ASSERT_EQ_INT(layout_check(cb_enum(0), NULL), SPRY_EINVALID);
}

TEST(component_layout, flags_sizes_up_to_32_and_empty_flags_invalid)
{
    static const struct {
        uint32_t n, size;
    } cases[] = {{1, 1}, {8, 1}, {9, 2}, {16, 2}, {17, 4}, {31, 4}, {32, 4}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct ctype *f = cb_flags(cases[i].n);
        expect_layout(f, cases[i].size, cases[i].size);
        ASSERT_EQ_STR(flat_str(f), "i");
    }
    struct spry_report report;
    spry_report_init(&report);
    ASSERT_EQ_INT(layout_check(cb_flags(0), &report), SPRY_EINVALID);
    ASSERT_EQ_STR(report.message, "flags with no labels");
    spry_report_init(&report);
    ASSERT_EQ_INT(layout_check(cb_flags(33), &report), SPRY_EINVALID);
    ASSERT_EQ_STR(report.message, "flags with 33 labels (at most 32)");
    /* In a record: u8 then 32 flags at 4. */
    expect_layout(cb_record(2, cb_prim(CT_U8), cb_flags(32)), 8, 4);
}

TEST(component_layout, discriminant_grows_at_256_and_65536_cases)
{
    static const struct {
        uint32_t n, size;
    } cases[] = {{1, 1}, {2, 1}, {255, 1}, {256, 1}, {257, 2}, {65535, 2}, {65536, 2}, {65537, 4}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ASSERT_EQ_UINT(layout_disc_size(cases[i].n), cases[i].size);
        const struct ctype *e = cb_enum(cases[i].n);
        expect_layout(e, cases[i].size, cases[i].size);
        ASSERT_EQ_STR(flat_str(e), "i");
    }
    /* 257 cases with a u8 payload: 2-byte discriminant, payload at 2. */
    struct ctype *v = (struct ctype *)cb_variant(0);
    struct ctype_case *c = cb_alloc(sizeof *c * 257);
    for (int i = 0; i < 257; i++)
        c[i].type = i == 100 ? cb_prim(CT_U8) : NULL;
    v->u.variant.n = 257;
    v->u.variant.cases = c;
    expect_layout(v, 4, 2);
    ASSERT_EQ_UINT(layout_payload_offset(v), 2);
    ASSERT_EQ_STR(flat_str(v), "ii");
}

TEST(component_layout, options_and_results)
{
    const struct ctype *u8 = cb_prim(CT_U8), *u32 = cb_prim(CT_U32), *u64 = cb_prim(CT_U64),
                       *f32 = cb_prim(CT_F32), *str = cb_prim(CT_STRING);
    /* option<u8>: discriminant byte, payload at 1. */
    const struct ctype *o = cb_option(u8);
    expect_layout(o, 2, 1);
    ASSERT_EQ_UINT(layout_payload_offset(o), 1);
    ASSERT_EQ_STR(flat_str(o), "ii");
    /* option<u64>: payload at 8, 16 bytes. */
    o = cb_option(u64);
    expect_layout(o, 16, 8);
    ASSERT_EQ_UINT(layout_payload_offset(o), 8);
    ASSERT_EQ_STR(flat_str(o), "iI");
    /* result with no payloads: the discriminant alone. */
    const struct ctype *r = cb_result(NULL, NULL);
    expect_layout(r, 1, 1);
    ASSERT_EQ_UINT(layout_payload_offset(r), 1);
    ASSERT_EQ_STR(flat_str(r), "i");
    /* result<u32>: payload only on ok. */
    r = cb_result(u32, NULL);
    expect_layout(r, 8, 4);
    ASSERT_EQ_STR(flat_str(r), "ii");
    /* result<_, string>: payload only on error. */
    r = cb_result(NULL, str);
    expect_layout(r, 12, 4);
    ASSERT_EQ_UINT(layout_payload_offset(r), 4);
    ASSERT_EQ_STR(flat_str(r), "iii");
    /* result<u64, f32>: i64 and f32 join to i64. */
    r = cb_result(u64, f32);
    expect_layout(r, 16, 8);
    ASSERT_EQ_STR(flat_str(r), "iI");
    /* result<f32, u32>: f32 and i32 join to i32; result<f32, f32> stays f32. */
    ASSERT_EQ_STR(flat_str(cb_result(f32, u32)), "ii");
    ASSERT_EQ_STR(flat_str(cb_result(f32, f32)), "if");
    ASSERT_EQ_STR(flat_str(cb_result(cb_prim(CT_F64), f32)), "iI");
}

TEST(component_layout, variant_join_rules)
{
    const struct ctype *u8 = cb_prim(CT_U8), *u32 = cb_prim(CT_U32), *f32 = cb_prim(CT_F32),
                       *f64 = cb_prim(CT_F64);
    /* f64 with i32: i64. */
    ASSERT_EQ_STR(flat_str(cb_variant(2, f64, u32)), "iI");
    /* Position by position: (f32, i32) and (i32, f32) both join to i32. */
    ASSERT_EQ_STR(flat_str(cb_variant(2, cb_tuple(2, f32, u32), cb_tuple(2, u32, f32))), "iii");
    /* (f32) and (f64, f32): f32|f64 -> i64, then the f32 alone. */
    ASSERT_EQ_STR(flat_str(cb_variant(2, cb_tuple(1, f32), cb_tuple(2, f64, f32))), "iIf");
    /* The longest case sets the length; cases without payload add nothing. */
    const struct ctype *v = cb_variant(3, u8, NULL, cb_tuple(3, u8, u8, u8));
    ASSERT_EQ_STR(flat_str(v), "iiii");
    expect_layout(v, 4, 1);
    /* A string case and an f64 case: (i32, i32) with (f64) gives (i64, i32). */
    ASSERT_EQ_STR(flat_str(cb_variant(2, cb_prim(CT_STRING), f64)), "iIi");
    ASSERT_EQ_UINT(layout_join(I32, I32), I32);
    ASSERT_EQ_UINT(layout_join(F32, F32), F32);
    ASSERT_EQ_UINT(layout_join(F64, F64), F64);
    ASSERT_EQ_UINT(layout_join(I32, F32), I32);
    ASSERT_EQ_UINT(layout_join(F32, I32), I32);
    ASSERT_EQ_UINT(layout_join(I32, I64), I64);
    ASSERT_EQ_UINT(layout_join(F32, F64), I64);
    ASSERT_EQ_UINT(layout_join(I32, F64), I64);
}

TEST(component_layout, nested_variants)
{
    /* option<option<u32>>: inner 8 bytes (payload at 4); outer payload at 4. */
    const struct ctype *inner = cb_option(cb_prim(CT_U32));
    const struct ctype *outer = cb_option(inner);
    expect_layout(inner, 8, 4);
    expect_layout(outer, 12, 4);
    ASSERT_EQ_UINT(layout_payload_offset(outer), 4);
    ASSERT_EQ_STR(flat_str(outer), "iii");
    /* option<result<u8, u64>>: inner (i32, i64) size 16; outer payload at 8. */
    const struct ctype *res = cb_result(cb_prim(CT_U8), cb_prim(CT_U64));
    expect_layout(res, 16, 8);
    const struct ctype *o = cb_option(res);
    expect_layout(o, 24, 8);
    ASSERT_EQ_UINT(layout_payload_offset(o), 8);
    ASSERT_EQ_STR(flat_str(o), "iiI");
    /* variant { a(option<f32>), b(f32) }: (i32, f32) against (f32): i32 then f32. */
    ASSERT_EQ_STR(flat_str(cb_variant(2, cb_option(cb_prim(CT_F32)), cb_prim(CT_F32))), "iif");
    /* An enum inside a record after a u64. */
    expect_layout(cb_record(2, cb_prim(CT_U64), cb_enum(3)), 16, 8);
}

TEST(component_layout, long_flat_sequences_are_counted)
{
    uint8_t flat[LAYOUT_MAX_FLAT];
    const struct ctype *u32 = cb_prim(CT_U32);
    struct ctype *r = (struct ctype *)cb_record(0);
    struct ctype_field *f = cb_alloc(sizeof *f * 40);
    for (int i = 0; i < 40; i++)
        f[i].type = i == 20 ? cb_prim(CT_F64) : u32;
    r->u.record.n = 40;
    r->u.record.fields = f;
    ASSERT_EQ_UINT(layout_flatten(r, flat), 40);
    ASSERT_EQ_UINT(flat[15], I32);
    ASSERT_EQ_UINT(layout_size(r), 168); /* f64 at 80, ends at 164, rounded to 8 */
    /* A variant whose payload runs past the window is counted in full. */
    const struct ctype *v = cb_variant(2, NULL, r);
    ASSERT_EQ_UINT(layout_flatten(v, flat), 41);
    ASSERT_EQ_UINT(flat[0], I32);
    const struct ctype *t = cb_tuple(2, cb_tuple(1, cb_prim(CT_STRING)), v);
    ASSERT_EQ_UINT(layout_flatten(t, flat), 43);
}

static const struct ctype *repeat_u32(uint32_t n)
{
    struct ctype *r = (struct ctype *)cb_tuple(0);
    struct ctype_field *f = cb_alloc(sizeof *f * n);
    for (uint32_t i = 0; i < n; i++)
        f[i].type = cb_prim(CT_U32);
    r->u.record.n = n;
    r->u.record.fields = f;
    return r;
}

TEST(component_layout, functype_params_spill_past_16)
{
    struct layout_corefunc cf;
    const struct ctype *u32 = cb_prim(CT_U32), *str = cb_prim(CT_STRING);
    /* (u32) -> u32 in both directions. */
    layout_flatten_functype(cb_func(1, u32, u32), LAYOUT_LIFT, &cf);
    ASSERT_EQ_UINT(cf.nparams, 1);
    ASSERT_EQ_UINT(cf.nresults, 1);
    ASSERT_EQ_UINT(cf.params[0], I32);
    ASSERT_EQ_UINT(cf.results[0], I32);
    ASSERT_FALSE(cf.params_in_memory || cf.results_in_memory);
    /* 16 flat parameters stay flat... */
    const struct ctype *t16 = repeat_u32(16), *t17 = repeat_u32(17);
    layout_flatten_functype(cb_func(1, t16, NULL), LAYOUT_LOWER, &cf);
    ASSERT_EQ_UINT(cf.nparams, 16);
    ASSERT_EQ_UINT(cf.nresults, 0);
    ASSERT_FALSE(cf.params_in_memory);
    /* ...17 become one pointer. */
    layout_flatten_functype(cb_func(1, t17, NULL), LAYOUT_LOWER, &cf);
    ASSERT_EQ_UINT(cf.nparams, 1);
    ASSERT_EQ_UINT(cf.params[0], I32);
    ASSERT_TRUE(cf.params_in_memory);
    /* 8 strings are 16 values; one more u8 spills them. */
    layout_flatten_functype(cb_func(8, str, str, str, str, str, str, str, str, NULL), LAYOUT_LIFT,
                            &cf);
    ASSERT_EQ_UINT(cf.nparams, 16);
    layout_flatten_functype(
        cb_func(9, str, str, str, str, str, str, str, str, cb_prim(CT_U8), NULL), LAYOUT_LIFT, &cf);
    ASSERT_EQ_UINT(cf.nparams, 1);
    ASSERT_TRUE(cf.params_in_memory);
}

TEST(component_layout, functype_results_past_one_go_through_memory)
{
    struct layout_corefunc cf;
    const struct ctype *str = cb_prim(CT_STRING), *u64 = cb_prim(CT_U64);
    /* A string result: lifting returns a pointer... */
    layout_flatten_functype(cb_func(1, u64, str), LAYOUT_LIFT, &cf);
    ASSERT_EQ_UINT(cf.nparams, 1);
    ASSERT_EQ_UINT(cf.params[0], I64);
    ASSERT_EQ_UINT(cf.nresults, 1);
    ASSERT_EQ_UINT(cf.results[0], I32);
    ASSERT_TRUE(cf.results_in_memory);
    /* ...lowering takes a result pointer as the last parameter. */
    layout_flatten_functype(cb_func(1, u64, str), LAYOUT_LOWER, &cf);
    ASSERT_EQ_UINT(cf.nparams, 2);
    ASSERT_EQ_UINT(cf.params[0], I64);
    ASSERT_EQ_UINT(cf.params[1], I32);
    ASSERT_EQ_UINT(cf.nresults, 0);
    ASSERT_TRUE(cf.results_in_memory);
    /* option<u8> is two values: through memory too. */
    layout_flatten_functype(cb_func(0, cb_option(cb_prim(CT_U8))), LAYOUT_LOWER, &cf);
    ASSERT_EQ_UINT(cf.nparams, 1);
    ASSERT_EQ_UINT(cf.nresults, 0);
    /* An enum result is one i32; f64 stays f64. */
    layout_flatten_functype(cb_func(0, cb_enum(4)), LAYOUT_LOWER, &cf);
    ASSERT_EQ_UINT(cf.nresults, 1);
    ASSERT_EQ_UINT(cf.results[0], I32);
    layout_flatten_functype(cb_func(0, cb_prim(CT_F64)), LAYOUT_LIFT, &cf);
    ASSERT_EQ_UINT(cf.results[0], F64);
    /* Spilled parameters and a spilled result when lowering: (ptr, retptr). */
    layout_flatten_functype(cb_func(1, repeat_u32(17), str), LAYOUT_LOWER, &cf);
    ASSERT_EQ_UINT(cf.nparams, 2);
    ASSERT_TRUE(cf.params_in_memory && cf.results_in_memory);
    struct spry_functype st = layout_corefunc_type(&cf);
    ASSERT_EQ_UINT(st.nparams, 2);
    ASSERT_EQ_UINT(st.nresults, 0);
    /* No parameters, no result. */
    layout_flatten_functype(cb_func(0, NULL), LAYOUT_LIFT, &cf);
    ASSERT_EQ_UINT(cf.nparams + cf.nresults, 0);
}

TEST(component_layout, check_bounds_depth_and_effective_size)
{
    struct spry_report report;
    /* 64 levels of option are fine, 65 are not. */
    const struct ctype *t = cb_prim(CT_U8);
    for (int i = 0; i < LAYOUT_MAX_DEPTH; i++)
        t = cb_option(t);
    ASSERT_OK(layout_check(t, NULL));
    spry_report_init(&report);
    ASSERT_EQ_INT(layout_check(cb_option(t), &report), SPRY_EINVALID);
    ASSERT_EQ_STR(report.message, "component type nested deeper than 64 levels");
    /* tuple<T, T> nested 30 times is 2^30 effective nodes: rejected, quickly. */
    t = cb_prim(CT_U8);
    for (int i = 0; i < 30; i++)
        t = cb_tuple(2, t, t);
    spry_report_init(&report);
    ASSERT_EQ_INT(layout_check(t, &report), SPRY_EINVALID);
    ASSERT_EQ_STR(report.message, "component type too large (more than 1000000 nodes)");
    /* Missing element types and enum payloads are reported. */
    ASSERT_EQ_INT(layout_check(cb_list(NULL), NULL), SPRY_EINVALID);
    ASSERT_EQ_INT(layout_check(cb_record(1, NULL), NULL), SPRY_EINVALID);
    struct ctype *e = (struct ctype *)cb_enum(2);
    ((struct ctype_case *)e->u.variant.cases)[1].type = cb_prim(CT_U8);
    ASSERT_EQ_INT(layout_check(e, NULL), SPRY_EINVALID);
    struct ctype *bad = (struct ctype *)cb_prim(CT_U8);
    bad->kind = CT_KINDS;
    ASSERT_EQ_INT(layout_check(bad, NULL), SPRY_EINVALID);
    /* Function types: every parameter and the result. */
    ASSERT_OK(layout_check_functype(cb_func(2, cb_prim(CT_U8), cb_flags(3), cb_enum(2)), NULL));
    ASSERT_EQ_INT(layout_check_functype(cb_func(1, cb_flags(0), NULL), NULL), SPRY_EINVALID);
    ASSERT_EQ_INT(layout_check_functype(cb_func(0, cb_record(0)), NULL), SPRY_EINVALID);
}

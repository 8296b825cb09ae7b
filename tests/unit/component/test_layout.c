/*
 * Canonical ABI layout: sizes, alignments and flat types, each worked out
 * by hand from CanonicalABI.md's rules (alignment, elem_size,
 * flatten_type), never taken from the code under test. Every expectation
 * is checked twice: on the types as cbuild makes them (layouts cached in
 * the nodes, as the decoder leaves them) and on a copy without caches
 * (computed from the tree).
 */
#include "cbuild.h"
#include "harness/test.h"

#include "component/layout.h"

#include <string.h>

enum { I32 = SPRY_I32, I64 = SPRY_I64, F32 = SPRY_F32, F64 = SPRY_F64 };

/* A deep copy of t with no cached layout anywhere. */
static const struct ctype *uncached(const struct ctype *t)
{
    if (t == NULL)
        return NULL;
    struct ctype *c = cb_alloc(sizeof *c);
    *c = *t;
    c->align = 0;
    c->size = 0;
    c->payload_offset = 0;
    c->nflat = 0;
    switch (t->kind) {
    case CT_LIST:
    case CT_OPTION:
        c->u.elem = uncached(t->u.elem);
        break;
    case CT_RESULT:
        c->u.result.ok = uncached(t->u.result.ok);
        c->u.result.err = uncached(t->u.result.err);
        break;
    case CT_RECORD:
    case CT_TUPLE: {
        struct ctype_field *f = cb_alloc(sizeof *f * (t->u.record.n + 1));
        for (uint32_t i = 0; i < t->u.record.n; i++)
            f[i] = (struct ctype_field){t->u.record.fields[i].name,
                                        uncached(t->u.record.fields[i].type)};
        c->u.record.fields = f;
        break;
    }
    case CT_VARIANT: {
        struct ctype_case *k = cb_alloc(sizeof *k * (t->u.variant.n + 1));
        for (uint32_t i = 0; i < t->u.variant.n; i++)
            k[i] = (struct ctype_case){t->u.variant.cases[i].name,
                                       uncached(t->u.variant.cases[i].type)};
        c->u.variant.cases = k;
        break;
    }
    default:
        break;
    }
    return c;
}

/* The flat count as layout_flat_count gives it: the length of the
 * flattening, LAYOUT_FLAT_MANY from there on. */
static uint32_t flat_count(const struct ctype *t)
{
    uint8_t flat[LAYOUT_MAX_FLAT];
    uint32_t n = layout_flatten(t, flat);
    return n < LAYOUT_FLAT_MANY ? n : LAYOUT_FLAT_MANY;
}

/* size, align and the flat count of t, cached and computed. */
static void expect_layout_any(const struct ctype *t, uint32_t size, uint32_t align)
{
    const struct ctype *u = uncached(t);
    ASSERT_NE_UINT(t->align, 0); /* cbuild cached it */
    ASSERT_EQ_UINT(u->align, 0);
    ASSERT_EQ_UINT(layout_size(t), size);
    ASSERT_EQ_UINT(layout_align(t), align);
    ASSERT_EQ_UINT(layout_size(u), size);
    ASSERT_EQ_UINT(layout_align(u), align);
    ASSERT_EQ_UINT(layout_flat_count(t), flat_count(u));
    ASSERT_EQ_UINT(layout_flat_count(u), flat_count(u));
    if (layout_is_variant(t))
        ASSERT_EQ_UINT(layout_payload_offset(t), layout_payload_offset(u));
}

static void expect_layout(const struct ctype *t, uint32_t size, uint32_t align)
{
    ASSERT_OK(layout_check(t, NULL));
    expect_layout_any(t, size, align);
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
    expect_layout_any(r, 0, 1);
    expect_layout_any(t, 0, 1);
    ASSERT_EQ_UINT(layout_flat_count(r), 0);
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
    layout_cache(v);
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
    layout_cache(r);
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
    layout_cache(r);
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

/* A variant of n cases, payloads NULL but case i's (i < n). */
static const struct ctype *variant_n(uint32_t n, uint32_t i1, const struct ctype *p1, uint32_t i2,
                                     const struct ctype *p2)
{
    struct ctype *v = (struct ctype *)cb_variant(0);
    struct ctype_case *c = cb_alloc(sizeof *c * n);
    c[i1].type = p1;
    c[i2].type = p2;
    v->u.variant.n = n;
    v->u.variant.cases = c;
    layout_cache(v);
    return v;
}

TEST(component_layout, nested_records_with_mixed_alignment)
{
    const struct ctype *u8 = cb_prim(CT_U8), *u16 = cb_prim(CT_U16), *u64 = cb_prim(CT_U64),
                       *f32 = cb_prim(CT_F32);
    /* record { u16, u8 }: u8 at 2, 3 bytes rounded to 4. */
    const struct ctype *b = cb_record(2, u16, u8);
    expect_layout(b, 4, 2);
    expect_layout(cb_record(1, u8), 1, 1);
    /* record { u8, {u16, u8}, u64, {u8}, f32 }: u8 at 0, the inner record at
     * 2 (to 6), u64 at 8 (to 16), {u8} at 16, f32 at 20: 24 bytes, align 8. */
    const struct ctype *a = cb_record(5, u8, b, u64, cb_record(1, u8), f32);
    expect_layout(a, 24, 8);
    ASSERT_EQ_STR(flat_str(a), "iiiIif");
    /* That record then a u8: 25 bytes rounded to 32. */
    const struct ctype *d = cb_record(2, a, u8);
    expect_layout(d, 32, 8);
    ASSERT_EQ_STR(flat_str(d), "iiiIifi");
    /* tuple<u8, tuple<u8, u16>, u8>: inner 4 bytes align 2 at 2, u8 at 6. */
    expect_layout(cb_tuple(3, u8, cb_tuple(2, u8, u16), u8), 8, 2);
    /* record { string, u8, list<u64> }: 8, then u8 at 8, the list at 12. */
    expect_layout(cb_record(3, cb_prim(CT_STRING), u8, cb_list(u64)), 20, 4);
    /* The same node shared twice: tuple<{u16,u8}, {u16,u8}> is 8 bytes. */
    expect_layout(cb_tuple(2, b, b), 8, 2);
}

TEST(component_layout, variants_with_many_cases_widen_the_discriminant)
{
    const struct ctype *u8 = cb_prim(CT_U8), *u16 = cb_prim(CT_U16), *u64 = cb_prim(CT_U64);
    /* 300 cases, one u64 and one u8 payload: a u16 discriminant, the payload
     * at 8 (the u64's alignment), 16 bytes; flat (i32, i64 | i32 = i64). */
    const struct ctype *v = variant_n(300, 7, u64, 299, u8);
    expect_layout(v, 16, 8);
    ASSERT_EQ_UINT(layout_payload_offset(v), 8);
    ASSERT_EQ_STR(flat_str(v), "iI");
    /* 300 cases, only u8 payloads: the payload right after the 2 bytes. */
    v = variant_n(300, 0, u8, 1, u8);
    expect_layout(v, 4, 2);
    ASSERT_EQ_UINT(layout_payload_offset(v), 2);
    /* 256 cases still fit a u8 discriminant: a u16 payload at 2. */
    v = variant_n(256, 0, u16, 255, NULL);
    expect_layout(v, 4, 2);
    ASSERT_EQ_UINT(layout_payload_offset(v), 2);
    /* 65537 cases: a 4-byte discriminant, a u8 payload at 4, 8 bytes. */
    v = variant_n(65537, 65536, u8, 0, NULL);
    expect_layout(v, 8, 4);
    ASSERT_EQ_UINT(layout_payload_offset(v), 4);
    ASSERT_EQ_STR(flat_str(v), "ii");
    /* In a record after a u8: at 4, 12 bytes. */
    expect_layout(cb_record(2, u8, v), 12, 4);
}

TEST(component_layout, flags_past_32_labels_are_invalid)
{
    /* CanonicalABI.md's elem_size_flags asserts 0 < n <= 32 (Binary.md
     * limits flags to 32 labels): 33 and 65 are refused. */
    struct spry_report report;
    spry_report_init(&report);
    ASSERT_EQ_INT(layout_check(cb_flags(65), &report), SPRY_EINVALID);
    ASSERT_EQ_STR(report.message, "flags with 65 labels (at most 32)");
    ASSERT_EQ_INT(layout_check(cb_record(1, cb_flags(33)), NULL), SPRY_EINVALID);
    /* record { bool, flags(9), flags(17), flags(32) }: 2 bytes at 2, 4 at 4,
     * 4 at 8; 12 bytes, one i32 each. */
    const struct ctype *r = cb_record(4, cb_prim(CT_BOOL), cb_flags(9), cb_flags(17), cb_flags(32));
    expect_layout(r, 12, 4);
    ASSERT_EQ_STR(flat_str(r), "iiii");
}

TEST(component_layout, payload_less_and_empty_types)
{
    /* result with no payloads and a one-case enum: the discriminant only. */
    expect_layout(cb_result(NULL, NULL), 1, 1);
    expect_layout(cb_enum(1), 1, 1);
    expect_layout(cb_variant(2, NULL, NULL), 1, 1);
    /* Invalid (empty records and tuples) but laid out all the same, cached
     * or not: an empty payload adds nothing, an empty field takes no room. */
    const struct ctype *e = cb_tuple(0);
    expect_layout_any(cb_option(e), 1, 1);
    ASSERT_EQ_STR(flat_str(cb_option(e)), "i");
    expect_layout_any(cb_record(2, cb_prim(CT_U32), cb_record(0)), 4, 4);
    expect_layout_any(cb_variant(2, NULL, cb_record(0)), 1, 1);
    expect_layout_any(cb_list(e), 8, 4);
    expect_layout_any(cb_flags(0), 0, 1);
    ASSERT_EQ_UINT(layout_flat_count(cb_flags(0)), 0);
    /* A node with a missing child is left uncached (and layout_check says
     * why); its parent is cached from what the child computes. */
    ASSERT_EQ_UINT(cb_list(NULL)->align, 0);
    ASSERT_EQ_UINT(cb_record(1, NULL)->align, 0);
}

TEST(component_layout, flat_counts_saturate_in_the_cache)
{
    /* 254 u32 fields: 254 flat values; in an option 255; 300 fields: at
     * least LAYOUT_FLAT_MANY (the exact count is layout_flatten's). */
    uint8_t flat[LAYOUT_MAX_FLAT];
    const struct ctype *t254 = repeat_u32(254), *t300 = repeat_u32(300);
    expect_layout(t254, 1016, 4);
    ASSERT_EQ_UINT(layout_flat_count(t254), 254);
    ASSERT_EQ_UINT(layout_flat_count(cb_option(t254)), 255);
    ASSERT_EQ_UINT(layout_flatten(cb_option(t254), flat), 255);
    expect_layout(t300, 1200, 4);
    ASSERT_EQ_UINT(layout_flat_count(t300), LAYOUT_FLAT_MANY);
    ASSERT_EQ_UINT(layout_flatten(t300, flat), 300);
    ASSERT_EQ_UINT(layout_flat_count(cb_tuple(2, t300, t300)), LAYOUT_FLAT_MANY);
    ASSERT_EQ_UINT(layout_flat_count(cb_variant(2, t300, NULL)), LAYOUT_FLAT_MANY);
}

TEST(component_layout, functype_blocks_in_memory)
{
    struct layout_corefunc cf;
    const struct ctype *u8 = cb_prim(CT_U8), *u64 = cb_prim(CT_U64);
    /* (u8, tuple of 16 u64): 17 flat, through memory: u8 at 0, the tuple at
     * 8, 136 bytes, align 8. */
    struct ctype *t = (struct ctype *)repeat_u32(16);
    struct ctype_field *f = (struct ctype_field *)t->u.record.fields;
    for (int i = 0; i < 16; i++)
        f[i].type = u64;
    layout_cache(t);
    layout_flatten_functype(cb_func(2, u8, t, NULL), LAYOUT_LIFT, &cf);
    ASSERT_TRUE(cf.params_in_memory);
    ASSERT_EQ_UINT(cf.params_block.size, 136);
    ASSERT_EQ_UINT(cf.params_block.align, 8);
    /* result<u64, string>: (i32, i64, i32), through memory: payload at 8. */
    const struct ctype *r = cb_result(u64, cb_prim(CT_STRING));
    layout_flatten_functype(cb_func(0, r), LAYOUT_LOWER, &cf);
    ASSERT_TRUE(cf.results_in_memory);
    ASSERT_FALSE(cf.params_in_memory);
    ASSERT_EQ_UINT(cf.results_block.size, 16);
    ASSERT_EQ_UINT(cf.results_block.align, 8);
    layout_flatten_functype(cb_func(1, u8, u8), LAYOUT_LIFT, &cf);
    ASSERT_FALSE(cf.params_in_memory || cf.results_in_memory);
}

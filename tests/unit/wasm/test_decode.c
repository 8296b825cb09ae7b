/* The binary decoder (src/wasm/decode.c), names, module queries, and
 * function type interning. Modules are written out as bytes. */
#include "harness/test.h"

#include "base/alloc.h"
#include "spry/spry.h"
#include "wasm/decode.h"
#include "wasm/module.h"

#include <pthread.h>
#include <string.h>

#define HEADER "\x00\x61\x73\x6d\x01\x00\x00\x00"

/* Decodes a copy of bytes[0..len) (decode_module takes ownership). */
static int decode(const void *bytes, size_t len, struct wasm_module **out, struct spry_report *r)
{
    uint8_t *copy = spry_malloc(len);
    ASSERT_NOT_NULL(copy);
    memcpy(copy, bytes, len);
    spry_report_init(r);
    *out = NULL;
    return decode_module(copy, len, out, r);
}

/* Expects decoding to fail with `code` and a message starting with `prefix`. */
static void expect_error(const void *bytes, size_t len, int code, const char *prefix)
{
    struct wasm_module *m;
    struct spry_report r;
    int rc = decode(bytes, len, &m, &r);
    if (rc != code || strncmp(r.message, prefix, strlen(prefix)) != 0)
        ASSERT_EQ_STR(r.message, prefix);
    ASSERT_EQ_INT(rc, code);
    ASSERT_EQ_INT(r.code, code);
    ASSERT_NULL(m);
    ASSERT_NOT_NULL(strstr(r.message, " at offset 0x"));
}

#define EXPECT_MALFORMED(lit, prefix) expect_error(lit, sizeof(lit) - 1, SPRY_EMALFORMED, prefix)

static struct wasm_module *decode_ok(const void *bytes, size_t len)
{
    struct wasm_module *m;
    struct spry_report r;
    int rc = decode(bytes, len, &m, &r);
    if (rc != 0)
        ASSERT_EQ_STR(r.message, "");
    ASSERT_NOT_NULL(m);
    return m;
}

#define DECODE_OK(lit) decode_ok(lit, sizeof(lit) - 1)

/*
 * A module using every section, every import kind and several element and
 * data segment encodings:
 *   type 0: (i32) -> i32, type 1: () -> ()
 *   imports: env.f func type 0, env.t table funcref 1, env.m memory 1..2,
 *            env.g global i32
 *   funcs: 0 imported, 1 type 0, 2 type 1 (the start function)
 *   table 1: externref 0..5; globals 1: mut i32 42, 2: funcref ref.func 1
 *   exports: "run" func 1, "g" global 1
 *   elems: active [func 0], passive funcref (ref.null func),
 *          declarative [func 1]
 *   datacount 2; data: active at 8 "hi", passive "xyz"
 *   custom sections "abc" (first) and "name" (last).
 */
static const char rich[] =
    HEADER "\x00\x04\x03\x61\x62\x63"                     /* custom "abc", empty */
           "\x01\x09\x02\x60\x01\x7f\x01\x7f\x60\x00\x00" /* types */
           "\x02\x26\x04"                                 /* imports */
           "\x03\x65\x6e\x76\x01\x66\x00\x00"             /* env.f func 0 */
           "\x03\x65\x6e\x76\x01\x74\x01\x70\x00\x01"     /* env.t table funcref min 1 */
           "\x03\x65\x6e\x76\x01\x6d\x02\x01\x01\x02"     /* env.m memory 1..2 */
           "\x03\x65\x6e\x76\x01\x67\x03\x7f\x00"         /* env.g global i32 */
           "\x03\x03\x02\x00\x01"                         /* functions: type 0, type 1 */
           "\x04\x05\x01\x6f\x01\x00\x05"                 /* table externref 0..5 */
           "\x06\x0b\x02"                                 /* globals */
           "\x7f\x01\x41\x2a\x0b"                         /* mut i32 = 42 */
           "\x70\x00\xd2\x01\x0b"                         /* funcref = ref.func 1 */
           "\x07\x0b\x02"                                 /* exports */
           "\x03\x72\x75\x6e\x00\x01"                     /* "run" func 1 */
           "\x01\x67\x03\x01"                             /* "g" global 1 */
           "\x08\x01\x02"                                 /* start func 2 */
           "\x09\x11\x03"                                 /* elements */
           "\x00\x41\x00\x0b\x01\x00"                     /* active table 0 at 0: [func 0] */
           "\x05\x70\x01\xd0\x70\x0b"                     /* passive funcref: ref.null func */
           "\x03\x00\x01\x01"                             /* declarative: [func 1] */
           "\x0c\x01\x02"                                 /* datacount 2 */
           "\x0a\x0f\x02"                                 /* code */
           "\x06\x01\x02\x7e\x20\x00\x0b"                 /* 2 x i64; local.get 0 */
           "\x06\x02\x01\x7d\x03\x7f\x0b"                 /* f32, 3 x i32 */
           "\x0b\x0d\x02"                                 /* data */
           "\x00\x41\x08\x0b\x02\x68\x69"                 /* active at 8: "hi" */
           "\x01\x03\x78\x79\x7a"                         /* passive: "xyz" */
           "\x00\x19\x04\x6e\x61\x6d\x65"                 /* custom "name" */
           "\x00\x04\x03\x6d\x6f\x64"                     /* module name "mod" */
           "\x01\x0c\x02\x01\x03\x72\x75\x6e\x02\x04\x69\x6e\x69\x74"; /* 1 "run", 2 "init" */

TEST(wasm_decode, rich_module_all_parts)
{
    struct wasm_module *m = DECODE_OK(rich);

    ASSERT_EQ_UINT(m->ntypes, 2);
    ASSERT_EQ_UINT(m->types[0].nparams, 1);
    ASSERT_EQ_UINT(m->types[0].nresults, 1);
    ASSERT_EQ_MEM(m->types[0].types, "\x7f\x7f", 2);
    ASSERT_EQ_UINT(m->types[1].nparams + m->types[1].nresults, 0);
    ASSERT_NOT_NULL(m->types[1].types); /* regression: validator computed NULL + 0 */
    ASSERT_GE_UINT(m->types[0].type_id, 1);
    ASSERT_NE_UINT(m->types[0].type_id, m->types[1].type_id);
    ASSERT_EQ_UINT(m->types[0].type_id, functype_intern((const uint8_t *)"\x7f\x7f", 1, 1));

    ASSERT_EQ_UINT(m->nimports, 4);
    ASSERT_EQ_UINT(m->imports[1].module_len, 3);
    ASSERT_EQ_MEM(m->imports[1].module, "env", 3);
    ASSERT_EQ_MEM(m->imports[1].name, "t", 1);
    for (uint8_t k = 0; k < 4; k++) {
        ASSERT_EQ_UINT(m->imports[k].kind, k);
        ASSERT_EQ_UINT(m->imports[k].index, 0);
    }

    ASSERT_EQ_UINT(m->nfuncs, 3);
    ASSERT_EQ_UINT(m->num_imported_funcs, 1);
    ASSERT_TRUE(m->funcs[0].imported);
    ASSERT_FALSE(m->funcs[1].imported);
    ASSERT_EQ_UINT(m->funcs[0].type_index, 0);
    ASSERT_EQ_UINT(m->funcs[1].type_index, 0);
    ASSERT_EQ_UINT(m->funcs[2].type_index, 1);

    ASSERT_EQ_UINT(m->ntables, 2);
    ASSERT_EQ_UINT(m->num_imported_tables, 1);
    ASSERT_TRUE(m->tables[0].imported);
    ASSERT_EQ_UINT(m->tables[0].type.elem, SPRY_FUNCREF);
    ASSERT_EQ_UINT(m->tables[0].type.limits.min, 1);
    ASSERT_FALSE(m->tables[0].type.limits.has_max);
    ASSERT_EQ_UINT(m->tables[1].type.elem, SPRY_EXTERNREF);
    ASSERT_TRUE(m->tables[1].type.limits.has_max);
    ASSERT_EQ_UINT(m->tables[1].type.limits.max, 5);

    ASSERT_EQ_UINT(m->nmemories, 1);
    ASSERT_TRUE(m->memories[0].imported);
    ASSERT_EQ_UINT(m->memories[0].limits.min, 1);
    ASSERT_EQ_UINT(m->memories[0].limits.max, 2);

    ASSERT_EQ_UINT(m->nglobals, 3);
    ASSERT_EQ_UINT(m->num_imported_globals, 1);
    ASSERT_TRUE(m->globals[0].imported);
    ASSERT_FALSE(m->globals[0].type.mutable_);
    ASSERT_TRUE(m->globals[1].type.mutable_);
    ASSERT_EQ_UINT(m->globals[1].init.count, 1);
    ASSERT_EQ_UINT(m->globals[1].init.first.op, WASM_CONST_I32);
    ASSERT_EQ_INT(m->globals[1].init.first.value.i32, 42);
    ASSERT_EQ_UINT(m->globals[2].type.type, SPRY_FUNCREF);
    ASSERT_EQ_UINT(m->globals[2].init.first.op, WASM_CONST_REF_FUNC);
    ASSERT_EQ_UINT(m->globals[2].init.first.value.index, 1);

    ASSERT_EQ_UINT(m->nexports, 2);
    ASSERT_EQ_MEM(m->exports[0].name, "run", 3);
    ASSERT_EQ_UINT(m->exports[1].kind, SPRY_EXTERN_GLOBAL);
    ASSERT_TRUE(m->has_start);
    ASSERT_EQ_UINT(m->start, 2);

    ASSERT_EQ_UINT(m->nelems, 3);
    ASSERT_EQ_UINT(m->elems[0].mode, WASM_SEG_ACTIVE);
    ASSERT_EQ_UINT(m->elems[0].table, 0);
    ASSERT_EQ_UINT(m->elems[0].offset.first.op, WASM_CONST_I32);
    ASSERT_EQ_UINT(m->elems[0].count, 1);
    ASSERT_EQ_UINT(m->elems[0].items[0].first.op, WASM_CONST_REF_FUNC);
    ASSERT_EQ_UINT(m->elems[0].items[0].first.value.index, 0);
    ASSERT_EQ_UINT(m->elems[1].mode, WASM_SEG_PASSIVE);
    ASSERT_EQ_UINT(m->elems[1].reftype, SPRY_FUNCREF);
    ASSERT_EQ_UINT(m->elems[1].items[0].first.op, WASM_CONST_REF_NULL);
    ASSERT_EQ_UINT(m->elems[1].items[0].first.value.reftype, SPRY_FUNCREF);
    ASSERT_EQ_UINT(m->elems[2].mode, WASM_SEG_DECLARATIVE);
    ASSERT_EQ_UINT(m->elems[2].items[0].first.value.index, 1);

    /* Declared: 0 (element), 1 (export, global, element); 2 only starts. */
    ASSERT_EQ_UINT(m->declared_refs[0], 1);
    ASSERT_EQ_UINT(m->declared_refs[1], 1);
    ASSERT_EQ_UINT(m->declared_refs[2], 0);

    ASSERT_TRUE(m->has_datacount);
    ASSERT_EQ_UINT(m->datacount, 2);
    ASSERT_EQ_UINT(m->ndatas, 2);
    ASSERT_EQ_UINT(m->datas[0].mode, WASM_SEG_ACTIVE);
    ASSERT_EQ_INT(m->datas[0].offset.first.value.i32, 8);
    ASSERT_EQ_UINT(m->datas[0].size, 2);
    ASSERT_EQ_MEM(m->datas[0].bytes, "hi", 2);
    ASSERT_EQ_UINT(m->datas[1].mode, WASM_SEG_PASSIVE);
    ASSERT_EQ_MEM(m->datas[1].bytes, "xyz", 3);

    const struct wasm_func *f1 = &m->funcs[1], *f2 = &m->funcs[2];
    ASSERT_EQ_UINT(f1->body_size, 6);
    ASSERT_EQ_UINT(f1->expr_offset, f1->body_offset + 3);
    ASSERT_EQ_UINT(m->bytes[f1->expr_offset], 0x20);
    ASSERT_EQ_UINT(f1->nlocals, 2);
    ASSERT_EQ_MEM(f1->local_types, "\x7e\x7e", 2);
    ASSERT_EQ_UINT(f2->nlocals, 4);
    ASSERT_EQ_MEM(f2->local_types, "\x7d\x7f\x7f\x7f", 4);
    ASSERT_EQ_UINT(m->bytes[f2->expr_offset], 0x0b);
    ASSERT_EQ_UINT(f2->expr_offset + 1, f2->body_offset + f2->body_size);

    ASSERT_EQ_UINT(m->ncustoms, 2);
    ASSERT_EQ_MEM(m->customs[0].name, "abc", 3);
    ASSERT_EQ_UINT(m->customs[0].size, 0);
    ASSERT_EQ_MEM(m->customs[1].name, "name", 4);
    ASSERT_EQ_UINT(m->customs[1].size, 0x19 - 5);

    ASSERT_EQ_STR(m->module_name, "mod");
    ASSERT_NOT_NULL(m->func_names);
    ASSERT_NULL(m->func_names[0]);
    ASSERT_EQ_STR(m->func_names[1], "run");
    ASSERT_EQ_STR(m->func_names[2], "init");
    module_free(m);
}

TEST(wasm_decode, import_and_export_descriptions)
{
    struct wasm_module *m = DECODE_OK(rich);
    struct spry_externtype t;
    ASSERT_EQ_UINT(module_import_count(m), 4);
    ASSERT_EQ_UINT(module_export_count(m), 2);

    ASSERT_OK(module_import_desc(m, 0, &t));
    ASSERT_EQ_UINT(t.kind, SPRY_EXTERN_FUNC);
    ASSERT_EQ_UINT(t.module_len, 3);
    ASSERT_EQ_MEM(t.module, "env", 3);
    ASSERT_EQ_MEM(t.name, "f", 1);
    ASSERT_EQ_UINT(t.type.func.nparams, 1);
    ASSERT_EQ_UINT(t.type.func.params[0], SPRY_I32);
    ASSERT_EQ_UINT(t.type.func.results[0], SPRY_I32);
    ASSERT_OK(module_import_desc(m, 1, &t));
    ASSERT_EQ_UINT(t.type.table.elem, SPRY_FUNCREF);
    ASSERT_EQ_UINT(t.type.table.limits.min, 1);
    ASSERT_OK(module_import_desc(m, 2, &t));
    ASSERT_EQ_UINT(t.type.memory.max, 2);
    ASSERT_OK(module_import_desc(m, 3, &t));
    ASSERT_EQ_UINT(t.type.global.type, SPRY_I32);
    ASSERT_EQ_INT(module_import_desc(m, 4, &t), SPRY_EINVAL);

    ASSERT_OK(module_export_desc(m, 0, &t));
    ASSERT_EQ_UINT(t.kind, SPRY_EXTERN_FUNC);
    ASSERT_NULL(t.module);
    ASSERT_EQ_UINT(t.name_len, 3);
    ASSERT_EQ_UINT(t.type.func.nresults, 1);
    ASSERT_OK(module_export_desc(m, 1, &t));
    ASSERT_EQ_UINT(t.kind, SPRY_EXTERN_GLOBAL);
    ASSERT_TRUE(t.type.global.mutable_);
    ASSERT_EQ_INT(module_export_desc(m, 2, &t), SPRY_EINVAL);
    module_free(m);
}

/* Every allocation of the decoder, failed in turn: each run must fail with
 * SPRY_ENOMEM and free what it built (ASan checks for leaks). */
TEST(wasm_decode, allocation_failure_torture)
{
    int runs = 0;
    for (long n = 0;; n++) {
        uint8_t *copy = spry_malloc(sizeof rich - 1);
        ASSERT_NOT_NULL(copy);
        memcpy(copy, rich, sizeof rich - 1);
        struct wasm_module *m = NULL;
        struct spry_report r;
        spry_report_init(&r);
        spry_alloc_fail_after(n);
        int rc = decode_module(copy, sizeof rich - 1, &m, &r);
        spry_alloc_fail_after(-1);
        if (rc == 0) {
            ASSERT_EQ_STR(m->func_names[2], "init");
            module_free(m);
            break;
        }
        ASSERT_EQ_INT(rc, SPRY_ENOMEM);
        ASSERT_NULL(m);
        ASSERT_LT_INT(n, 1000);
        runs++;
    }
    ASSERT_GT_INT(runs, 10);
}

static bool is_decode_error(int rc)
{
    return rc == 0 || rc == SPRY_EMALFORMED || rc == SPRY_EINVALID || rc == SPRY_ETOOBIG ||
           rc == SPRY_EUNSUPPORTED;
}

/* Every truncation and many single-byte changes of the rich module decode
 * or fail cleanly (ASan and UBSan watch the reads). */
TEST(wasm_decode, mutations_of_a_valid_module_fail_cleanly)
{
    static const uint8_t values[] = {0x00, 0x01, 0x02, 0x0b, 0x40, 0x7f, 0x80, 0xff};
    size_t len = sizeof rich - 1;
    uint8_t buf[sizeof rich];
    for (size_t cut = 0; cut < len; cut++) {
        struct wasm_module *m;
        struct spry_report r;
        int rc = decode(rich, cut, &m, &r);
        ASSERT_TRUE(is_decode_error(rc));
        module_free(m);
    }
    for (size_t at = 8; at < len; at++) {
        for (size_t v = 0; v <= sizeof values; v++) {
            memcpy(buf, rich, len);
            buf[at] = v < sizeof values ? values[v] : (uint8_t)(rich[at] ^ 0x01);
            struct wasm_module *m;
            struct spry_report r;
            int rc = decode(buf, len, &m, &r);
            ASSERT_TRUE(is_decode_error(rc));
            ASSERT_TRUE(rc == 0 || r.message[0] != '\0');
            module_free(m);
        }
    }
}

TEST(wasm_decode, empty_module)
{
    struct wasm_module *m = DECODE_OK(HEADER);
    ASSERT_EQ_UINT(m->nfuncs, 0);
    ASSERT_NOT_NULL(m->declared_refs);
    ASSERT_NULL(m->func_names);
    ASSERT_NULL(m->module_name);
    module_free(m);
    module_free(NULL);
}

TEST(wasm_decode, header_errors)
{
    EXPECT_MALFORMED("", "unexpected end");
    EXPECT_MALFORMED("\x00\x61\x73", "unexpected end");
    EXPECT_MALFORMED("\x00\x41\x53\x4d\x01\x00\x00\x00", "magic header not detected");
    EXPECT_MALFORMED("\x00\x61\x73\x6d\x01\x00\x00", "unexpected end");
    EXPECT_MALFORMED("\x00\x61\x73\x6d\x02\x00\x00\x00", "unknown binary version");
}

TEST(wasm_decode, section_framing_errors)
{
    EXPECT_MALFORMED(HEADER "\x0d\x00", "malformed section id");
    EXPECT_MALFORMED(HEADER "\x80\x00\x01\x00", "malformed section id");
    /* Size beyond the input. */
    EXPECT_MALFORMED(HEADER "\x01\x07\x01\x60\x00\x00", "length out of bounds");
    /* Content shorter than the size, then longer. */
    EXPECT_MALFORMED(HEADER "\x01\x05\x01\x60\x00\x00\x00\x00", "section size mismatch");
    EXPECT_MALFORMED(HEADER "\x01\x03\x01\x60\x00\x00", "section size mismatch");
    /* Truncated content at the end of the input. */
    EXPECT_MALFORMED(HEADER "\x01\x04\x02\x60\x00\x00", "unexpected end");
    /* A section size whose LEB128 is too long. */
    EXPECT_MALFORMED(HEADER "\x01\x80\x80\x80\x80\x80\x00", "integer representation too long");
    /* A custom section whose name runs past its size. */
    EXPECT_MALFORMED(HEADER "\x00\x01\x05\x61\x62\x63\x64\x65", "unexpected end");
}

TEST(wasm_decode, section_order_and_duplicates)
{
    /* Function before type. */
    EXPECT_MALFORMED(HEADER "\x03\x01\x00\x01\x01\x00", "unexpected content after last section");
    /* Two type sections. */
    EXPECT_MALFORMED(HEADER "\x01\x01\x00\x01\x01\x00", "unexpected content after last section");
    /* Data count after code. */
    EXPECT_MALFORMED(HEADER "\x0a\x01\x00\x0c\x01\x00", "unexpected content after last section");
    /* Data count before code, custom sections anywhere: fine. */
    struct wasm_module *m = DECODE_OK(HEADER "\x00\x02\x01\x61\x0c\x01\x00\x00\x01\x00\x0a\x01"
                                             "\x00\x00\x01\x00\x0b\x01\x00");
    ASSERT_EQ_UINT(m->ncustoms, 3);
    ASSERT_TRUE(m->has_datacount);
    module_free(m);
}

TEST(wasm_decode, count_mismatches)
{
    EXPECT_MALFORMED(HEADER "\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00",
                     "function and code section have inconsistent lengths");
    EXPECT_MALFORMED(HEADER "\x0a\x04\x01\x02\x00\x0b",
                     "function and code section have inconsistent lengths");
    EXPECT_MALFORMED(HEADER "\x0c\x01\x01",
                     "data count and data section have inconsistent lengths");
    EXPECT_MALFORMED(HEADER "\x05\x03\x01\x00\x01\x0c\x01\x02\x0b\x06\x01\x00\x41\x00\x0b\x00",
                     "data count and data section have inconsistent lengths");
}

/* A count the remaining bytes cannot back is rejected before anything is
 * allocated for it: with every allocation after the ones the module needs
 * up to that point failing, the error is still the malformed one. */
struct huge_case {
    const char *bytes;
    size_t len;
    long allocations; /* made before the count is read */
};
#define HUGE(lit, n)            \
    {                           \
        lit, sizeof(lit) - 1, n \
    }

TEST(wasm_decode, huge_counts_are_rejected_before_allocating)
{
    /* 1: the module; 6: the module and the index spaces built before the
     * export, element, data and code sections (funcs, declared_refs,
     * tables, memories, globals). */
    static const struct huge_case cases[] = {
        HUGE(HEADER "\x01\x05\xff\xff\xff\xff\x0f", 1),                         /* types */
        HUGE(HEADER "\x01\x08\x01\x60\xff\xff\xff\xff\x0f\x00", 2),             /* parameters */
        HUGE(HEADER "\x02\x05\xff\xff\xff\xff\x0f", 1),                         /* imports */
        HUGE(HEADER "\x03\x05\xff\xff\xff\xff\x0f", 1),                         /* functions */
        HUGE(HEADER "\x04\x05\xff\xff\xff\xff\x0f", 3),                         /* tables */
        HUGE(HEADER "\x06\x05\xff\xff\xff\xff\x0f", 5),                         /* globals */
        HUGE(HEADER "\x07\x05\xff\xff\xff\xff\x0f", 6),                         /* exports */
        HUGE(HEADER "\x09\x05\xff\xff\xff\xff\x0f", 6),                         /* elements */
        HUGE(HEADER "\x09\x09\x01\x00\x41\x00\x0b\xff\xff\xff\x0f", 7),         /* items */
        HUGE(HEADER "\x0b\x05\xff\xff\xff\xff\x0f", 6),                         /* data */
        HUGE(HEADER "\x00\x06\xff\xff\xff\xff\x0f\x00", 1),                     /* custom name */
        HUGE(HEADER "\x03\x02\x01\x00\x0a\x07\x01\x05\xff\xff\xff\xff\x0f", 6), /* locals */
        HUGE(HEADER "\x03\x02\x01\x00\x0a\x06\x01\xff\xff\xff\xff\x0f", 6),     /* body size */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct wasm_module *m;
        struct spry_report r;
        uint8_t *copy = spry_malloc(cases[i].len);
        ASSERT_NOT_NULL(copy);
        memcpy(copy, cases[i].bytes, cases[i].len);
        spry_report_init(&r);
        spry_alloc_fail_after(cases[i].allocations);
        int rc = decode_module(copy, cases[i].len, &m, &r);
        spry_alloc_fail_after(-1);
        if (rc != SPRY_EMALFORMED || strncmp(r.message, "length out of bounds", 20) != 0)
            ASSERT_EQ_STR(r.message, "length out of bounds");
    }
}

TEST(wasm_decode, counts_past_implementation_limits)
{
    /* 1,000,001 types, each byte-backed: over WASM_MAX_TYPES. */
    size_t n = (size_t)WASM_MAX_TYPES + 1, len = 8 + 1 + 5 + 4 + n;
    uint8_t *b = spry_calloc(len, 1);
    ASSERT_NOT_NULL(b);
    memcpy(b, HEADER, 8);
    size_t size = 4 + n;
    b[8] = 1;
    for (int i = 0; i < 5; i++) /* section size, padded to 5 bytes */
        b[9 + i] = (uint8_t)(((size >> (7 * i)) & 0x7f) | (i < 4 ? 0x80 : 0));
    for (int i = 0; i < 4; i++) /* count, padded to 4 bytes */
        b[14 + i] = (uint8_t)(((n >> (7 * i)) & 0x7f) | (i < 3 ? 0x80 : 0));
    struct wasm_module *m = NULL;
    struct spry_report r;
    spry_report_init(&r);
    ASSERT_EQ_INT(decode_module(b, len, &m, &r), SPRY_ETOOBIG);
    ASSERT_NOT_NULL(strstr(r.message, "too many types"));
}

TEST(wasm_decode, too_many_locals)
{
    /* The spec's two cases: the sum overflows 32 bits. */
    EXPECT_MALFORMED(HEADER "\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00"
                            "\x0a\x0c\x01\x0a\x02\xff\xff\xff\xff\x0f\x7f\x02\x7e\x0b",
                     "too many locals");
    EXPECT_MALFORMED(HEADER "\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00"
                            "\x0a\x1c\x01\x1a\x04\x80\x80\x80\x80\x04\x7f\x80\x80\x80\x80\x04\x7e"
                            "\x80\x80\x80\x80\x04\x7d\x80\x80\x80\x80\x04\x7c\x0b",
                     "too many locals");
    /* Over WASM_MAX_LOCALS (50,000 = 0xc350), and at it with one parameter. */
    EXPECT_MALFORMED(HEADER "\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00"
                            "\x0a\x08\x01\x06\x01\xd1\x86\x03\x7f\x0b",
                     "too many locals");
    EXPECT_MALFORMED(HEADER "\x01\x05\x01\x60\x01\x7f\x00\x03\x02\x01\x00"
                            "\x0a\x08\x01\x06\x01\xd0\x86\x03\x7f\x0b",
                     "too many locals");
    struct wasm_module *m = DECODE_OK(HEADER "\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00"
                                             "\x0a\x08\x01\x06\x01\xd0\x86\x03\x7f\x0b");
    ASSERT_EQ_UINT(m->funcs[0].nlocals, 50000);
    module_free(m);
}

TEST(wasm_decode, malformed_entries)
{
    EXPECT_MALFORMED(HEADER "\x02\x04\x01\x00\x00\x04", "malformed import kind");
    EXPECT_MALFORMED(HEADER "\x06\x06\x01\x7f\x02\x41\x00\x0b", "malformed mutability");
    EXPECT_MALFORMED(HEADER "\x04\x04\x01\x7f\x00\x00", "malformed reference type");
    EXPECT_MALFORMED(HEADER "\x05\x03\x01\x02\x00", "integer too large");
    EXPECT_MALFORMED(HEADER "\x05\x04\x01\x81\x00\x00", "integer representation too long");
    EXPECT_MALFORMED(HEADER "\x01\x05\x01\xe0\x7f\x00\x00", "integer representation too long");
    EXPECT_MALFORMED(HEADER "\x01\x04\x01\x61\x00\x00", "malformed function type");
    EXPECT_MALFORMED(HEADER "\x09\x03\x01\x08\x00", "malformed elements segment kind");
    EXPECT_MALFORMED(HEADER "\x0b\x03\x01\x03\x00", "malformed data segment kind");
    EXPECT_MALFORMED(HEADER "\x07\x05\x01\x01\x61\x04\x00", "malformed export kind");
    /* Data bytes running past the end. */
    EXPECT_MALFORMED(HEADER "\x05\x03\x01\x00\x01\x0b\x0c\x01\x00\x41\x03\x0b\x07\x61\x62\x63"
                            "\x64\x65\x66",
                     "unexpected end");
}

TEST(wasm_decode, names_must_be_utf8)
{
    /* Import module names: a lone continuation byte, an overlong '/', a
     * surrogate, a code point past U+10FFFF. */
    EXPECT_MALFORMED(HEADER "\x02\x06\x01\x01\x80\x00\x00\x00", "malformed UTF-8 encoding");
    EXPECT_MALFORMED(HEADER "\x02\x07\x01\x02\xc0\xaf\x00\x00\x00", "malformed UTF-8 encoding");
    EXPECT_MALFORMED(HEADER "\x02\x08\x01\x03\xed\xa0\x80\x00\x00\x00", "malformed UTF-8 encoding");
    EXPECT_MALFORMED(HEADER "\x00\x05\x04\xf4\x90\x80\x80", "malformed UTF-8 encoding");
    ASSERT_TRUE(decode_utf8_valid((const uint8_t *)"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10));
    ASSERT_TRUE(decode_utf8_valid((const uint8_t *)"\xf4\x8f\xbf\xbf", 4));
    ASSERT_FALSE(decode_utf8_valid((const uint8_t *)"\xe0\x9f\xbf", 3)); /* overlong */
    ASSERT_FALSE(decode_utf8_valid((const uint8_t *)"\xc3", 1));         /* truncated */
    ASSERT_FALSE(decode_utf8_valid((const uint8_t *)"\xf8\x88\x80\x80\x80", 5));
}

TEST(wasm_decode, constant_expressions)
{
    /* Extended-const arithmetic and every constant instruction decode. */
    struct wasm_module *m =
        DECODE_OK(HEADER "\x06\x2d\x05"
                         "\x7f\x00\x41\x01\x41\x02\x6a\x41\x03\x6c\x0b"     /* (1 + 2) * 3 */
                         "\x7e\x00\x42\x7f\x23\x00\x7d\x0b"                 /* -1 - global 0 */
                         "\x7d\x00\x43\x00\x00\x80\x3f\x0b"                 /* 1.0f */
                         "\x7c\x00\x44\x00\x00\x00\x00\x00\x00\xf0\x3f\x0b" /* 1.0 */
                         "\x6f\x00\xd0\x6f\x0b");                           /* ref.null extern */
    const struct wasm_constexpr *e = &m->globals[0].init;
    ASSERT_EQ_UINT(e->count, 5);
    ASSERT_EQ_INT(e->first.value.i32, 1);
    ASSERT_EQ_UINT(e->rest[1].op, WASM_CONST_I32_ADD);
    ASSERT_EQ_INT(e->rest[2].value.i32, 3);
    ASSERT_EQ_UINT(e->rest[3].op, WASM_CONST_I32_MUL);
    e = &m->globals[1].init;
    ASSERT_EQ_UINT(e->count, 3);
    ASSERT_EQ_INT(e->first.value.i64, -1);
    ASSERT_EQ_UINT(e->rest[0].op, WASM_CONST_GLOBAL_GET);
    ASSERT_EQ_UINT(e->rest[1].op, WASM_CONST_I64_SUB);
    ASSERT_EQ_UINT(m->globals[2].init.first.value.bits, 0x3f800000);
    ASSERT_EQ_UINT(m->globals[3].init.first.value.bits, 0x3ff0000000000000ull);
    ASSERT_EQ_UINT(m->globals[4].init.first.value.reftype, SPRY_EXTERNREF);
    ASSERT_EQ_UINT(m->globals[4].init.offset, 8 + 2 + 1 + 11 + 8 + 8 + 12 + 2);
    module_free(m);

    /* An empty expression decodes (the validator reports the type error). */
    m = DECODE_OK(HEADER "\x06\x04\x01\x7f\x00\x0b");
    ASSERT_EQ_UINT(m->globals[0].init.count, 0);
    module_free(m);

    /* A non-constant instruction is a validation error... */
    expect_error(HEADER "\x06\x07\x01\x7f\x00\x41\x00\x45\x0b", 17, SPRY_EINVALID,
                 "constant expression required");
    /* ...even inside a block it must skip, */
    expect_error(HEADER "\x06\x09\x01\x7f\x00\x02\x7f\x41\x00\x0b\x0b", 19, SPRY_EINVALID,
                 "constant expression required");
    /* ...but a malformed module is reported as malformed first. */
    EXPECT_MALFORMED(HEADER "\x06\x07\x01\x7f\x00\x41\x00\x45\x0b\x0d\x00", "malformed section id");
    EXPECT_MALFORMED(HEADER "\x06\x07\x01\x7f\x00\x20\x00\xff\x0b", "illegal opcode");
    EXPECT_MALFORMED(HEADER "\x06\x06\x01\x7f\x00\x3f\x01\x0b", "zero byte expected");
    EXPECT_MALFORMED(HEADER "\x06\x05\x01\x7f\x00\x41\x00", "unexpected end");
}

TEST(wasm_decode, element_segment_encodings)
{
    /* Flags 0..7, each with one item; tables and types as encoded. */
    struct wasm_module *m =
        DECODE_OK(HEADER "\x09\x35\x08"
                         "\x00\x41\x00\x0b\x01\x00"                 /* 0: active, funcidx */
                         "\x01\x00\x01\x00"                         /* 1: passive, elemkind */
                         "\x02\x01\x41\x00\x0b\x00\x01\x00"         /* 2: table 1, elemkind */
                         "\x03\x00\x01\x00"                         /* 3: declarative */
                         "\x04\x41\x00\x0b\x01\xd2\x00\x0b"         /* 4: active, exprs */
                         "\x05\x6f\x01\xd0\x6f\x0b"                 /* 5: passive externref */
                         "\x06\x02\x41\x00\x0b\x70\x01\x23\x00\x0b" /* 6: table 2 */
                         "\x07\x70\x01\xd2\x00\x0b");               /* 7: declarative */
    static const uint8_t modes[8] = {0, 1, 0, 2, 0, 1, 0, 2};
    static const uint32_t tables[8] = {0, 0, 1, 0, 0, 0, 2, 0};
    for (int i = 0; i < 8; i++) {
        ASSERT_EQ_UINT(m->elems[i].mode, modes[i]);
        ASSERT_EQ_UINT(m->elems[i].table, tables[i]);
        ASSERT_EQ_UINT(m->elems[i].count, 1);
    }
    ASSERT_EQ_UINT(m->elems[5].reftype, SPRY_EXTERNREF);
    ASSERT_EQ_UINT(m->elems[6].items[0].first.op, WASM_CONST_GLOBAL_GET);
    ASSERT_EQ_UINT(m->elems[7].items[0].first.op, WASM_CONST_REF_FUNC);
    module_free(m);
    EXPECT_MALFORMED(HEADER "\x09\x05\x01\x01\x01\x01\x00", "malformed element kind");
    EXPECT_MALFORMED(HEADER "\x09\x04\x01\x05\x7f\x00", "malformed reference type");
}

TEST(wasm_decode, name_section)
{
    /* Only a function name subsection; indices past nfuncs are ignored. */
    struct wasm_module *m =
        DECODE_OK(HEADER "\x01\x04\x01\x60\x00\x00\x03\x03\x02\x00\x00\x0a\x07\x02\x02\x00\x0b"
                         "\x02\x00\x0b"
                         "\x00\x10\x04\x6e\x61\x6d\x65\x01\x09\x02\x00\x01\x61\x07\x03\x7a"
                         "\x7a\x7a");
    ASSERT_NULL(m->module_name);
    ASSERT_EQ_STR(m->func_names[0], "a");
    ASSERT_NULL(m->func_names[1]);
    module_free(m);

    /* Malformed name sections are dropped, never fatal: bad UTF-8, indices
     * out of order, truncated subsection, subsections out of order. */
    static const char *const bad[] = {
        "\x00\x0b\x04\x6e\x61\x6d\x65\x01\x04\x01\x00\x01\xff",
        "\x00\x0e\x04\x6e\x61\x6d\x65\x01\x07\x02\x00\x01\x61\x00\x01\x62",
        "\x00\x0b\x04\x6e\x61\x6d\x65\x01\x09\x01\x00\x01\x61",
        "\x00\x0f\x04\x6e\x61\x6d\x65\x01\x04\x01\x00\x01\x61\x00\x02\x01\x6d",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t buf[64];
        static const char fn[] = HEADER "\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00\x0a\x04\x01"
                                        "\x02\x00\x0b";
        size_t n = sizeof fn - 1;
        memcpy(buf, fn, n);
        size_t extra = 2 + (uint8_t)bad[i][1];
        memcpy(buf + n, bad[i], extra);
        m = decode_ok(buf, n + extra);
        ASSERT_NULL(m->func_names);
        ASSERT_NULL(m->module_name);
        ASSERT_EQ_UINT(m->ncustoms, 1);
        module_free(m);
    }
}

TEST(wasm_decode, v128_is_unsupported)
{
    expect_error(HEADER "\x01\x05\x01\x60\x01\x7b\x00", 15, SPRY_EUNSUPPORTED, "v128");
}

struct intern_arg {
    uint32_t ids[64];
};

static void *intern_many(void *p)
{
    struct intern_arg *a = p;
    for (uint8_t i = 0; i < 64; i++) {
        uint8_t types[3] = {SPRY_I32, i, SPRY_F64};
        a->ids[i] = functype_intern(types, 2, 1);
    }
    return NULL;
}

TEST(wasm_functype, intern_is_stable_and_thread_safe)
{
    uint32_t a = functype_intern(NULL, 0, 0);
    ASSERT_GE_UINT(a, 1);
    ASSERT_EQ_UINT(functype_intern(NULL, 0, 0), a);
    uint32_t p = functype_intern((const uint8_t *)"\x7f", 1, 0);
    uint32_t r = functype_intern((const uint8_t *)"\x7f", 0, 1);
    ASSERT_NE_UINT(p, r);
    ASSERT_NE_UINT(p, a);

    pthread_t threads[4];
    struct intern_arg args[4];
    for (int t = 0; t < 4; t++)
        ASSERT_EQ_INT(pthread_create(&threads[t], NULL, intern_many, &args[t]), 0);
    for (int t = 0; t < 4; t++)
        ASSERT_EQ_INT(pthread_join(threads[t], NULL), 0);
    for (int i = 0; i < 64; i++) {
        for (int t = 1; t < 4; t++)
            ASSERT_EQ_UINT(args[t].ids[i], args[0].ids[i]);
        for (int j = 0; j < i; j++)
            ASSERT_NE_UINT(args[0].ids[i], args[0].ids[j]);
    }
}

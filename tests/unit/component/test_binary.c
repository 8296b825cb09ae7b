/* The component binary decoder (src/component/binary*.c). Components are
 * assembled byte by byte with a small builder; core modules inside them
 * come from wat2wasm. */
#include "harness/test.h"

#include "base/alloc.h"
#include "component/binary.h"
#include "component/layout.h"
#include "unit/wasm/wat.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a byte builder ------------------------------------------------------ */

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

/* A type index as a valtype: signed LEB (s33), as Binary.md encodes it. */
static void bb_idx(struct bb *b, uint32_t v)
{
    int64_t x = v;
    while (true) {
        uint8_t byte = x & 0x7f;
        x >>= 7;
        bool done = (x == 0 && !(byte & 0x40));
        if (!done)
            byte |= 0x80;
        bb_raw(b, &byte, 1);
        if (done)
            break;
    }
}

static void bb_str(struct bb *b, const char *s)
{
    bb_u32(b, (uint32_t)strlen(s));
    bb_raw(b, s, strlen(s));
}

/* An extern name (nameattributes 0x00). */
static void bb_name(struct bb *b, const char *s)
{
    B(b, 0x00);
    bb_str(b, s);
}

/* Appends section `id` with the content of c, and frees c. */
static void bb_section(struct bb *b, uint8_t id, struct bb *c)
{
    B(b, id);
    bb_u32(b, (uint32_t)c->n);
    bb_raw(b, c->p, c->n);
    free(c->p);
    *c = (struct bb){0};
}

static void bb_preamble(struct bb *b)
{
    bb_raw(b, "\0asm\x0d\x00\x01\x00", 8);
}

/* A section with `count` entries written by the caller into c. */
static struct bb vec(uint32_t count)
{
    struct bb c = {0};
    bb_u32(&c, count);
    return c;
}

/* ---- decoding ------------------------------------------------------------ */

static struct cbin *decode_ok(const struct bb *b)
{
    struct cbin *bin = NULL;
    struct spry_report r;
    spry_report_init(&r);
    int rc = cbin_decode(b->p, b->n, NULL, &bin, &r);
    if (rc != 0)
        ASSERT_EQ_STR(r.message, "");
    ASSERT_NOT_NULL(bin);
    return bin;
}

/* Expects `code`, a message containing `what`, and " at offset 0x<at>". */
static void expect_fail(const struct bb *b, int code, const char *what, size_t at)
{
    struct cbin *bin = NULL;
    struct spry_report r;
    spry_report_init(&r);
    int rc = cbin_decode(b->p, b->n, NULL, &bin, &r);
    char where[64];
    snprintf(where, sizeof where, " at offset 0x%zx", at);
    if (rc != code || strstr(r.message, what) == NULL || strstr(r.message, where) == NULL) {
        fprintf(stderr, "expected %s \"%s\"%s\n", spry_errname(code), what, where);
        ASSERT_EQ_STR(r.message, "");
    }
    ASSERT_EQ_INT(rc, code);
    ASSERT_EQ_INT(r.code, code);
    ASSERT_NULL(bin);
}

/* Expects `code` and `what` wherever it is reported. */
static void expect_code(const struct bb *b, int code, const char *what)
{
    struct cbin *bin = NULL;
    struct spry_report r;
    spry_report_init(&r);
    int rc = cbin_decode(b->p, b->n, NULL, &bin, &r);
    if (rc != code || strstr(r.message, what) == NULL) {
        fprintf(stderr, "expected %s \"%s\"\n", spry_errname(code), what);
        ASSERT_EQ_STR(r.message, "");
    }
    ASSERT_NOT_NULL(strstr(r.message, " at offset 0x"));
    ASSERT_NULL(bin);
}

/* A component with one type section holding the given types (each written
 * by the caller into t); the offset where the section content starts is
 * 10 (preamble 8, id 1, size 1) for sections under 128 bytes. */
static void one_section(struct bb *b, uint8_t id, struct bb *content)
{
    bb_preamble(b);
    bb_section(b, id, content);
}

/* ---- preamble and sections ----------------------------------------------- */

TEST(component_binary, empty_component)
{
    struct bb b = {0};
    bb_preamble(&b);
    struct cbin *bin = decode_ok(&b);
    ASSERT_EQ_UINT(bin->ncomponents, 1);
    ASSERT_EQ_UINT(bin->root->ndefs, 0);
    ASSERT_EQ_UINT(bin->root->type->imports.n, 0);
    cbin_destroy(bin);
    cbin_destroy(NULL);
    free(b.p);
}

TEST(component_binary, preamble_errors)
{
    struct bb b = {0};
    bb_raw(&b, "\0asn\x0d\x00\x01\x00", 8);
    expect_fail(&b, SPRY_EMALFORMED, "magic header not detected", 0);
    b.n = 0;
    bb_raw(&b, "\0asm\x01\x00\x00\x00", 8);
    expect_fail(&b, SPRY_EMALFORMED, "a core module (layer 0)", 6);
    b.n = 0;
    bb_raw(&b, "\0asm\x0c\x00\x01\x00", 8);
    expect_fail(&b, SPRY_EUNSUPPORTED, "component binary version 0xc", 4);
    b.n = 0;
    bb_raw(&b, "\0asm\x0d\x00\x01", 7);
    expect_fail(&b, SPRY_EMALFORMED, "unexpected end", 0);
    ASSERT_TRUE(cbin_is_component((const uint8_t *)"\0asm\x0d\x00\x01\x00", 8));
    ASSERT_FALSE(cbin_is_component((const uint8_t *)"\0asm\x01\x00\x00\x00", 8));
    free(b.p);
}

TEST(component_binary, section_framing_errors)
{
    struct bb b = {0};
    bb_preamble(&b);
    B(&b, 13, 0x00);
    expect_fail(&b, SPRY_EMALFORMED, "unknown section id 13", 8);
    b.n = 8;
    B(&b, 7, 0x05, 0x00);
    expect_fail(&b, SPRY_EMALFORMED, "section size out of bounds", 8);
    b.n = 8;
    B(&b, 7, 0x02, 0x00, 0x00); /* zero types, one byte left over */
    expect_fail(&b, SPRY_EMALFORMED, "section size mismatch", 11);
    b.n = 8;
    B(&b, 7, 0x01, 0x05); /* count 5 in a one-byte section */
    expect_fail(&b, SPRY_EMALFORMED, "count 5 exceeds the 0 bytes left", 10);
    b.n = 8;
    B(&b, 7, 0x06, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
    expect_fail(&b, SPRY_EMALFORMED, "integer representation too long", 10);
    b.n = 8;
    B(&b, 0, 0x04, 0x03, 'a', 'b', 'c'); /* custom sections are skipped */
    B(&b, 0, 0x06, 0x03, 'x', 'y', 'z', 1, 2);
    struct cbin *bin = decode_ok(&b);
    cbin_destroy(bin);
    free(b.p);
}

TEST(component_binary, start_and_value_sections_are_unsupported)
{
    struct bb b = {0}, c = vec(0);
    one_section(&b, 9, &c);
    expect_fail(&b, SPRY_EUNSUPPORTED, "start sections are not supported", 8);
    free(b.p);
    b = (struct bb){0};
    c = vec(0);
    one_section(&b, 12, &c);
    expect_fail(&b, SPRY_EUNSUPPORTED, "value sections are not supported", 8);
    free(b.p);
}

/* ---- types --------------------------------------------------------------- */

TEST(component_binary, every_value_type_kind)
{
    struct bb b = {0}, t = vec(13);
    B(&t, 0x3f, 0x7f, 0x00);                                                    /* 0: resource */
    B(&t, 0x72, 2), bb_str(&t, "a"), B(&t, 0x79), bb_str(&t, "b"), B(&t, 0x73); /* 1: record */
    B(&t, 0x71, 2), bb_str(&t, "none"), B(&t, 0x00, 0x00);                      /* 2: variant */
    bb_str(&t, "some"), B(&t, 0x01), bb_idx(&t, 1), B(&t, 0x00);
    B(&t, 0x70, 0x7d);                                                 /* 3: list<u8> */
    B(&t, 0x6f, 2, 0x79, 0x75);                                        /* 4: tuple<u32, f64> */
    B(&t, 0x6e, 2), bb_str(&t, "r"), bb_str(&t, "w");                  /* 5: flags */
    B(&t, 0x6d, 3), bb_str(&t, "x"), bb_str(&t, "y"), bb_str(&t, "z"); /* 6: enum */
    B(&t, 0x6b, 0x73);                                                 /* 7: option<string> */
    B(&t, 0x6a, 0x01, 0x79, 0x01, 0x73);                               /* 8: result<u32, string> */
    B(&t, 0x69, 0x00);                                                 /* 9: own<0> */
    B(&t, 0x68, 0x00);                                                 /* 10: borrow<0> */
    B(&t, 0x40, 2), bb_str(&t, "p"), bb_idx(&t, 1), bb_str(&t, "h"), bb_idx(&t, 10);
    B(&t, 0x00), bb_idx(&t, 8); /* 11: func */
    B(&t, 0x6a, 0x00, 0x00);    /* 12: result */
    one_section(&b, 7, &t);
    struct cbin *bin = decode_ok(&b);
    const struct cbin_component *c = bin->root;
    ASSERT_EQ_UINT(c->ntypes, 13);
    ASSERT_EQ_UINT(c->ndefs, 13);
    ASSERT_EQ_UINT(c->defs[0].op, CBIN_OP_RESOURCE);
    ASSERT_EQ_UINT(c->defs[1].op, CBIN_OP_TYPE);
    ASSERT_EQ_UINT(c->types[0].kind, CBIN_T_RESOURCE);
    uint32_t r = c->types[0].u.resource;
    ASSERT_EQ_UINT(bin->resources[r].kind, CBIN_RES_DEFINED);
    ASSERT_EQ_UINT(bin->resources[r].rep, SPRY_I32);
    ASSERT_FALSE(bin->resources[r].has_dtor);

    const struct ctype *rec = c->types[1].u.value;
    ASSERT_EQ_UINT(rec->kind, CT_RECORD);
    ASSERT_EQ_UINT(rec->u.record.n, 2);
    ASSERT_EQ_STR(rec->u.record.fields[1].name, "b");
    ASSERT_EQ_UINT(rec->u.record.fields[0].type->kind, CT_U32);
    ASSERT_EQ_UINT(rec->u.record.fields[1].type->kind, CT_STRING);
    const struct ctype *var = c->types[2].u.value;
    ASSERT_EQ_UINT(var->kind, CT_VARIANT);
    ASSERT_NULL(var->u.variant.cases[0].type);
    ASSERT_TRUE(var->u.variant.cases[1].type == rec); /* resolved and shared */
    ASSERT_EQ_UINT(c->types[3].u.value->u.elem->kind, CT_U8);
    ASSERT_EQ_UINT(c->types[4].u.value->kind, CT_TUPLE);
    ASSERT_NULL(c->types[4].u.value->u.record.fields[0].name);
    ASSERT_EQ_UINT(c->types[5].u.value->u.flags.n, 2);
    ASSERT_EQ_STR(c->types[5].u.value->u.flags.names[1], "w");
    ASSERT_EQ_UINT(c->types[6].u.value->kind, CT_ENUM);
    ASSERT_EQ_STR(c->types[6].u.value->u.variant.cases[2].name, "z");
    ASSERT_EQ_UINT(c->types[7].u.value->u.elem->kind, CT_STRING);
    ASSERT_EQ_UINT(c->types[8].u.value->u.result.err->kind, CT_STRING);
    ASSERT_EQ_UINT(c->types[9].u.value->kind, CT_OWN);
    ASSERT_EQ_UINT(c->types[9].u.value->u.resource, r);
    ASSERT_EQ_UINT(c->types[10].u.value->kind, CT_BORROW);
    const struct cfunctype *f = c->types[11].u.func;
    ASSERT_EQ_UINT(f->nparams, 2);
    ASSERT_EQ_STR(f->params[1].name, "h");
    ASSERT_TRUE(f->params[0].type == rec);
    ASSERT_TRUE(f->result == c->types[8].u.value);
    ASSERT_NULL(c->types[12].u.value->u.result.ok);
    ASSERT_NULL(c->types[12].u.value->u.result.err);
    cbin_destroy(bin);
    free(b.p);
}

/* A component whose type section holds `types` (n entries, raw bytes). */
static void types_component(struct bb *b, uint32_t n, const void *types, size_t len)
{
    struct bb t = vec(n);
    bb_raw(&t, types, len);
    b->n = 0;
    one_section(b, 7, &t);
}

#define TYPES(b, n, ...) \
    types_component(b, n, (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

TEST(component_binary, type_validation_errors)
{
    struct bb b = {0};
    /* The first type starts at offset 11 (preamble 8, id, size, count). */
    TYPES(&b, 1, 0x72, 0x00);
    expect_fail(&b, SPRY_EINVALID, "record with no fields", 12);
    TYPES(&b, 1, 0x71, 0x00);
    expect_fail(&b, SPRY_EINVALID, "variant with no cases", 12);
    TYPES(&b, 1, 0x6f, 0x00);
    expect_fail(&b, SPRY_EINVALID, "tuple with no", 12);
    TYPES(&b, 1, 0x6d, 0x00);
    expect_fail(&b, SPRY_EINVALID, "enum with no cases", 12);
    TYPES(&b, 1, 0x6e, 0x00);
    expect_fail(&b, SPRY_EINVALID, "flags with no", 12);
    TYPES(&b, 1, 0x72, 0x02, 0x01, 'a', 0x79, 0x01, 'A', 0x79);
    expect_fail(&b, SPRY_EINVALID, "duplicate record field name \"A\" (conflicts with \"a\")", 16);
    TYPES(&b, 1, 0x72, 0x01, 0x03, 'a', '_', 'b', 0x79);
    expect_fail(&b, SPRY_EINVALID, "invalid record field label \"a_b\"", 13);
    TYPES(&b, 1, 0x6d, 0x01, 0x03, 'F', 'o', 'o');
    expect_fail(&b, SPRY_EINVALID, "invalid enum case label \"Foo\"", 13);
    TYPES(&b, 1, 0x69, 0x00);
    expect_fail(&b, SPRY_EINVALID, "type index 0 out of range (0 defined)", 12);
    TYPES(&b, 2, 0x79, 0x69, 0x00);
    expect_fail(&b, SPRY_EINVALID, "type 0 is a value type, not a resource type", 13);
    TYPES(&b, 1, 0x70, 0x05);
    expect_fail(&b, SPRY_EINVALID, "type index 5 out of range", 12);
    TYPES(&b, 1, 0x70, 0x40);
    expect_fail(&b, SPRY_EMALFORMED, "invalid value type 0x40", 12);
    TYPES(&b, 1, 0x55);
    expect_fail(&b, SPRY_EMALFORMED, "invalid type opcode 0x55", 11);
    TYPES(&b, 1, 0x6a, 0x02);
    expect_fail(&b, SPRY_EMALFORMED, "invalid optional value type flag 0x02", 12);
    /* A borrow in a result. */
    TYPES(&b, 3, 0x3f, 0x7f, 0x00, 0x68, 0x00, 0x40, 0x00, 0x00, 0x01);
    expect_fail(&b, SPRY_EINVALID, "a function result may not contain a borrow", 18);
    TYPES(&b, 1, 0x40, 0x02, 0x01, 'x', 0x79, 0x01, 'X', 0x79, 0x01, 0x00);
    expect_fail(&b, SPRY_EINVALID, "duplicate parameter name", 16);
    TYPES(&b, 1, 0x3f, 0x7c, 0x00);
    expect_fail(&b, SPRY_EINVALID, "resource representation must be i32", 12);
    TYPES(&b, 1, 0x3f, 0x7f, 0x01, 0x00);
    expect_fail(&b, SPRY_EINVALID, "destructor: core func index 0 out of range", 14);

    /* 33 flags. */
    struct bb t = vec(1);
    B(&t, 0x6e, 33);
    for (int i = 0; i < 33; i++) {
        char label[4];
        snprintf(label, sizeof label, "f%d", i);
        bb_str(&t, label);
    }
    b.n = 0;
    one_section(&b, 7, &t);
    expect_fail(&b, SPRY_EINVALID, "flags with 33 labels (at most 32)", 12);
    free(b.p);
}

TEST(component_binary, newer_type_features_are_unsupported)
{
    struct bb b = {0};
    TYPES(&b, 1, 0x67, 0x79, 0x04);
    expect_fail(&b, SPRY_EUNSUPPORTED, "fixed-length lists", 11);
    TYPES(&b, 1, 0x66, 0x00);
    expect_fail(&b, SPRY_EUNSUPPORTED, "stream types", 11);
    TYPES(&b, 1, 0x65, 0x00);
    expect_fail(&b, SPRY_EUNSUPPORTED, "future types", 11);
    TYPES(&b, 1, 0x64);
    expect_fail(&b, SPRY_EUNSUPPORTED, "error-context", 11);
    TYPES(&b, 1, 0x63, 0x73, 0x79);
    expect_fail(&b, SPRY_EUNSUPPORTED, "map types", 11);
    TYPES(&b, 1, 0x43, 0x00, 0x01, 0x00);
    expect_fail(&b, SPRY_EUNSUPPORTED, "async function types", 11);
    TYPES(&b, 1, 0x40, 0x00, 0x01, 0x01, 0x01, 'r', 0x79);
    expect_fail(&b, SPRY_EUNSUPPORTED, "named function results", 13);
    TYPES(&b, 1, 0x3f, 0x7e, 0x00);
    expect_fail(&b, SPRY_EUNSUPPORTED, "resource representation i64", 12);
    free(b.p);
}

TEST(component_binary, type_limits)
{
    /* list<list<...<u8>>>: 63 lists around u8 are 64 levels and pass
     * (layout_check agrees); one more list does not. */
    struct bb b = {0}, t = {0};
    struct cbin *bin;
    for (uint32_t lists = 63; lists <= 64; lists++) {
        b.n = 0;
        t = vec(lists);
        B(&t, 0x70, 0x7d);
        for (uint32_t i = 1; i < lists; i++)
            B(&t, 0x70), bb_idx(&t, i - 1);
        one_section(&b, 7, &t);
        if (lists == 63) {
            bin = decode_ok(&b);
            ASSERT_OK(layout_check(bin->root->types[62].u.value, NULL));
            cbin_destroy(bin);
        }
    }
    expect_code(&b, SPRY_ETOOBIG, "value type nested deeper than 64 levels");
    /* tuple<t, t> doubling: a few bytes for a tree of 2^30 nodes. (Its
     * element size would pass 2^28 too, but an element takes at most 16
     * bytes per node, so the node limit always comes first.) */
    b.n = 0;
    t = vec(30);
    B(&t, 0x70, 0x7d);
    for (uint32_t i = 1; i < 30; i++)
        B(&t, 0x6f, 0x02), bb_idx(&t, i - 1), bb_idx(&t, i - 1);
    one_section(&b, 7, &t);
    expect_code(&b, SPRY_ETOOBIG, "value type has more than 1000000 nodes");
    free(b.p);
}

/* ---- imports, instance types, aliases ---------------------------------- */

/* type 0: (instance (export "r" (type (sub resource)))
 *                   (type (borrow 0)) (type (func (param "self" 1) (result u32)))
 *                   (export METHOD (func (type 2))))
 * import IFACE (instance (type 0)). */
static void resource_iface(struct bb *b, const char *iface, const char *method, const char *self)
{
    struct bb t = vec(1);
    B(&t, 0x42, 0x04);
    B(&t, 0x04), bb_name(&t, "r"), B(&t, 0x03, 0x01);
    B(&t, 0x01, 0x68, 0x00);
    B(&t, 0x01, 0x40, 0x01), bb_str(&t, self), bb_idx(&t, 1), B(&t, 0x00, 0x79);
    B(&t, 0x04), bb_name(&t, method), B(&t, 0x01, 0x02);
    bb_section(b, 7, &t);
    struct bb i = vec(1);
    bb_name(&i, iface);
    B(&i, 0x05, 0x00);
    bb_section(b, 10, &i);
}

TEST(component_binary, imported_instance_with_resource_and_method)
{
    struct bb b = {0};
    bb_preamble(&b);
    resource_iface(&b, "ns:pkg/iface@1.2.3-rc.1+build.5", "[method]r.get", "self");
    struct bb a = vec(2);
    B(&a, 0x03, 0x00, 0x00), bb_str(&a, "r");             /* type 1 */
    B(&a, 0x01, 0x00, 0x00), bb_str(&a, "[method]r.get"); /* func 0 */
    bb_section(&b, 6, &a);
    struct bb c = vec(1);
    B(&c, 0x03, 0x01); /* resource.drop type 1 */
    bb_section(&b, 8, &c);
    struct cbin *bin = decode_ok(&b);
    const struct cbin_component *root = bin->root;
    ASSERT_EQ_UINT(root->nimports, 1);
    ASSERT_TRUE(root->imports[0].ext.interface);
    ASSERT_EQ_STR(root->imports[0].ext.name, "ns:pkg/iface@1.2.3-rc.1+build.5");
    ASSERT_EQ_UINT(root->ninstances, 1);
    const struct cbin_insttype *it = root->instances[0];
    ASSERT_EQ_UINT(it->nbound, 0); /* concrete once imported */
    ASSERT_EQ_UINT(it->exports.n, 2);
    const struct cbin_extern *r = cbin_externs_find(&it->exports, "r", 1);
    ASSERT_NOT_NULL(r);
    ASSERT_EQ_UINT(r->type.kind, CBIN_T_RESOURCE);
    const struct cbin_resource *res = &bin->resources[r->type.u.resource];
    ASSERT_EQ_UINT(res->kind, CBIN_RES_IMPORTED);
    ASSERT_EQ_UINT(res->index, 0);
    ASSERT_EQ_STR(res->name, "r");
    ASSERT_EQ_UINT(root->ntypes, 2);
    ASSERT_EQ_UINT(root->types[1].u.resource, r->type.u.resource);
    ASSERT_EQ_UINT(root->nfuncs, 1);
    ASSERT_EQ_UINT(root->funcs[0]->params[0].type->kind, CT_BORROW);
    ASSERT_EQ_UINT(root->funcs[0]->params[0].type->u.resource, r->type.u.resource);
    ASSERT_EQ_UINT(root->ncore_funcs, 1);
    ASSERT_EQ_UINT(root->core_funcs[0]->nparams, 1);
    ASSERT_EQ_UINT(root->core_funcs[0]->nresults, 0);
    const struct cbin_def *last = &root->defs[root->ndefs - 1];
    ASSERT_EQ_UINT(last->op, CBIN_OP_RESOURCE_DROP);
    ASSERT_EQ_UINT(last->u.index, r->type.u.resource);
    ASSERT_EQ_UINT(root->defs[2].op, CBIN_OP_ALIAS);
    ASSERT_EQ_STR(root->defs[2].u.alias.name, "r");
    /* The component type abstracts the imported resource. */
    ASSERT_EQ_UINT(root->type->nbound_imports, 1);
    cbin_destroy(bin);
    free(b.p);
}

TEST(component_binary, name_rules)
{
    struct bb b = {0};
    bb_preamble(&b);
    resource_iface(&b, "ns:pkg/iface", "[method]r.get", "this");
    expect_code(&b, SPRY_EINVALID, "must take (param \"self\" (borrow r)) first");
    b.n = 0;
    bb_preamble(&b);
    resource_iface(&b, "ns:pkg/iface", "[static]q.make", "self");
    expect_code(&b, SPRY_EINVALID, "no preceding resource named \"q\"");
    b.n = 0;
    bb_preamble(&b);
    resource_iface(&b, "ns:pkg/iface", "[async]f", "self");
    expect_code(&b, SPRY_EUNSUPPORTED, "async functions");

    static const char *const bad[] = {"Foo-bar",
                                      "foo--bar",
                                      "1abc",
                                      "foo bar",
                                      "ns:pkg",
                                      "ns:Pkg/iface",
                                      "ns:pkg/iface@1.2",
                                      "ns:pkg/iface@01.2.3",
                                      "[method]r",
                                      "-a"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        b.n = 0;
        struct bb t = vec(1), im = vec(1);
        B(&t, 0x42, 0x00);
        bb_preamble(&b);
        bb_section(&b, 7, &t);
        bb_name(&im, bad[i]);
        B(&im, 0x05, 0x00);
        bb_section(&b, 10, &im);
        expect_fail(&b, SPRY_EINVALID, bad[i], 17);
    }
    b.n = 0;
    struct bb t = vec(1), im = vec(1);
    B(&t, 0x42, 0x00);
    bb_preamble(&b);
    bb_section(&b, 7, &t);
    bb_name(&im, "a:b:c/d");
    B(&im, 0x05, 0x00);
    bb_section(&b, 10, &im);
    expect_fail(&b, SPRY_EUNSUPPORTED, "nested namespaces", 17);

    /* Strong uniqueness across imports: "a-b" and "A-B". */
    b.n = 0;
    t = vec(1);
    im = vec(2);
    B(&t, 0x42, 0x00);
    bb_preamble(&b);
    bb_section(&b, 7, &t);
    bb_name(&im, "a-b"), B(&im, 0x05, 0x00);
    bb_name(&im, "A-B"), B(&im, 0x05, 0x00);
    bb_section(&b, 10, &im);
    expect_fail(&b, SPRY_EINVALID, "duplicate import name \"A-B\" (conflicts with \"a-b\")", 23);

    /* Name attributes: implements and a version suffix. */
    b.n = 0;
    t = vec(1);
    im = vec(1);
    B(&t, 0x42, 0x00);
    bb_preamble(&b);
    bb_section(&b, 7, &t);
    B(&im, 0x02), bb_str(&im, "primary"), B(&im, 0x02, 0x00), bb_str(&im, "wasi:kv/store");
    B(&im, 0x01), bb_str(&im, ".3");
    B(&im, 0x05, 0x00);
    bb_section(&b, 10, &im);
    struct cbin *bin = decode_ok(&b);
    ASSERT_EQ_STR(bin->root->imports[0].ext.implements, "wasi:kv/store");
    cbin_destroy(bin);
    /* ... but only on instances. */
    b.n = 0;
    t = vec(1);
    im = vec(1);
    B(&t, 0x40, 0x00, 0x01, 0x00);
    bb_preamble(&b);
    bb_section(&b, 7, &t);
    B(&im, 0x02), bb_str(&im, "primary"), B(&im, 0x01, 0x00), bb_str(&im, "wasi:kv/store");
    B(&im, 0x01, 0x00);
    bb_section(&b, 10, &im);
    expect_fail(&b, SPRY_EINVALID, "only instances with plain names may have \"implements\"", 18);
    b.n = 0;
    t = vec(1);
    im = vec(1);
    B(&t, 0x42, 0x00);
    bb_preamble(&b);
    bb_section(&b, 7, &t);
    B(&im, 0x02), bb_str(&im, "primary"), B(&im, 0x02, 0x00), bb_str(&im, "wasi:kv/store");
    B(&im, 0x01), bb_str(&im, ".3");
    B(&im, 0x05, 0x00);
    bb_section(&b, 10, &im);
    bin = decode_ok(&b);
    ASSERT_EQ_STR(bin->root->imports[0].ext.version_suffix, ".3");
    ASSERT_FALSE(bin->root->imports[0].ext.interface);
    cbin_destroy(bin);
    free(b.p);
}

/* ---- core modules, core instances, canon --------------------------------- */

static const char libc_wat[] =
    "(module"
    "  (memory (export \"mem\") 1)"
    "  (func (export \"realloc\") (param i32 i32 i32 i32) (result i32) i32.const 8)"
    "  (func (export \"len\") (param i32 i32) (result i32) local.get 1)"
    "  (func (export \"free\") (param i32))"
    "  (func (export \"dtor\") (param i32)))";

/* Core module 0 = libc, core instance 0 of it, core memory 0 = "mem", core
 * funcs 0..3 = realloc, len, free, dtor. */
static void with_libc(struct bb *b)
{
    uint8_t *mod;
    size_t len;
    wat_compile(libc_wat, &mod, &len);
    struct bb m = {0};
    bb_raw(&m, mod, len);
    free(mod);
    bb_section(b, 1, &m);
    struct bb i = vec(1);
    B(&i, 0x00, 0x00, 0x00);
    bb_section(b, 2, &i);
    struct bb a = vec(5);
    B(&a, 0x00, 0x02, 0x01, 0x00), bb_str(&a, "mem");
    static const char *const funcs[] = {"realloc", "len", "free", "dtor"};
    for (int k = 0; k < 4; k++)
        B(&a, 0x00, 0x00, 0x01, 0x00), bb_str(&a, funcs[k]);
    bb_section(b, 6, &a);
}

/* type 0: (func (param "s" string) (result u32)); type 1: resource with
 * dtor core func 3; canon: lift core func `callee` with `opts` as type 0,
 * then resource.new/drop/rep of type 1; export "len" (func 0). */
static void canon_component(struct bb *b, uint32_t callee, const uint8_t *opts, size_t nopts)
{
    b->n = 0;
    bb_preamble(b);
    with_libc(b);
    struct bb t = vec(2);
    B(&t, 0x40, 0x01), bb_str(&t, "s"), B(&t, 0x73, 0x00, 0x79);
    B(&t, 0x3f, 0x7f, 0x01, 0x03);
    bb_section(b, 7, &t);
    struct bb c = vec(4);
    B(&c, 0x00, 0x00), bb_u32(&c, callee);
    bb_raw(&c, opts, nopts);
    B(&c, 0x00);
    B(&c, 0x02, 0x01, 0x03, 0x01, 0x04, 0x01);
    bb_section(b, 8, &c);
    struct bb e = vec(1);
    bb_name(&e, "len"), B(&e, 0x01, 0x00, 0x00);
    bb_section(b, 11, &e);
}

/* Offset of the canon section's first entry. */
static size_t canon_at(const struct bb *b)
{
    for (size_t i = b->n; i-- > 3;)
        if (b->p[i] == 8 && b->p[i + 2] == 4 && b->p[i + 3] == 0x00 && b->p[i + 4] == 0x00)
            return i + 3;
    return 0;
}

#define OPTS(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

TEST(component_binary, canon_lift_and_resources)
{
    struct bb b = {0};
    canon_component(&b, 1, OPTS(0x02, 0x03, 0x00, 0x04, 0x00));
    struct cbin *bin = decode_ok(&b);
    const struct cbin_component *c = bin->root;
    static const uint8_t ops[] = {CBIN_OP_CORE_MODULE,  CBIN_OP_CORE_INSTANTIATE,
                                  CBIN_OP_CORE_ALIAS,   CBIN_OP_CORE_ALIAS,
                                  CBIN_OP_CORE_ALIAS,   CBIN_OP_CORE_ALIAS,
                                  CBIN_OP_CORE_ALIAS,   CBIN_OP_TYPE,
                                  CBIN_OP_RESOURCE,     CBIN_OP_LIFT,
                                  CBIN_OP_RESOURCE_NEW, CBIN_OP_RESOURCE_DROP,
                                  CBIN_OP_RESOURCE_REP, CBIN_OP_EXPORT};
    ASSERT_EQ_UINT(c->ndefs, sizeof ops);
    for (size_t i = 0; i < sizeof ops; i++)
        ASSERT_EQ_UINT(c->defs[i].op, ops[i]);
    ASSERT_EQ_UINT(c->nmodules_defined, 1);
    ASSERT_NOT_NULL(c->modules_defined[0].module);
    ASSERT_EQ_UINT(c->ncore_memories, 1);
    ASSERT_EQ_UINT(c->core_memories[0].min, 1);
    const struct cbin_canon *lift = c->defs[9].u.canon;
    ASSERT_EQ_UINT(lift->func, 1);
    ASSERT_TRUE(lift->opts.has_memory && lift->opts.has_realloc);
    ASSERT_FALSE(lift->opts.has_post_return);
    ASSERT_EQ_UINT(lift->opts.encoding, CBIN_UTF8);
    ASSERT_EQ_UINT(lift->core.nparams, 2);
    ASSERT_EQ_UINT(lift->core.nresults, 1);
    ASSERT_EQ_UINT(c->defs[9].sort, CBIN_FUNC);
    ASSERT_EQ_UINT(c->defs[9].index, 0);
    uint32_t r = c->types[1].u.resource;
    ASSERT_TRUE(bin->resources[r].has_dtor);
    ASSERT_EQ_UINT(bin->resources[r].dtor, 3);
    ASSERT_EQ_UINT(c->defs[10].u.index, r);
    ASSERT_EQ_UINT(c->defs[10].index, 4); /* core func 4 */
    ASSERT_EQ_UINT(c->ncore_funcs, 7);
    ASSERT_EQ_UINT(c->core_funcs[6]->nresults, 1);
    ASSERT_EQ_UINT(c->nexports, 1);
    ASSERT_EQ_UINT(c->exports[0].item, 0);
    ASSERT_EQ_UINT(c->exports[0].index, 1);
    ASSERT_EQ_UINT(c->nfuncs, 2);
    ASSERT_EQ_STR(c->type->exports.v[0].name, "len");
    cbin_destroy(bin);

    /* post-return of the right type ([i32] -> []) */
    canon_component(&b, 1, OPTS(0x03, 0x03, 0x00, 0x04, 0x00, 0x05, 0x02));
    bin = decode_ok(&b);
    ASSERT_TRUE(bin->root->defs[9].u.canon->opts.has_post_return);
    cbin_destroy(bin);
    free(b.p);
}

TEST(component_binary, canon_option_errors)
{
    struct bb b = {0};
    canon_component(&b, 1, OPTS(0x01, 0x03, 0x00));
    expect_code(&b, SPRY_EINVALID, "canon lift needs a realloc option");
    canon_component(&b, 1, OPTS(0x00));
    expect_fail(&b, SPRY_EINVALID, "canon lift needs a memory option", canon_at(&b));
    canon_component(&b, 1, OPTS(0x01, 0x04, 0x00));
    expect_code(&b, SPRY_EINVALID, "a realloc option requires a memory option");
    canon_component(&b, 2, OPTS(0x02, 0x03, 0x00, 0x04, 0x00));
    expect_fail(&b, SPRY_EINVALID,
                "core func 2 has type [0x7f] -> [], the function type needs [0x7f 0x7f] -> [0x7f]",
                canon_at(&b) + 2);
    canon_component(&b, 1, OPTS(0x03, 0x03, 0x00, 0x04, 0x00, 0x05, 0x01));
    expect_code(&b, SPRY_EINVALID,
                "post-return func 1 has type [0x7f 0x7f] -> [0x7f], expected "
                "[0x7f] -> []");
    canon_component(&b, 1, OPTS(0x03, 0x03, 0x00, 0x04, 0x00, 0x03, 0x00));
    expect_fail(&b, SPRY_EINVALID, "duplicate memory option", canon_at(&b) + 8);
    canon_component(&b, 1, OPTS(0x02, 0x00, 0x01));
    expect_fail(&b, SPRY_EINVALID, "more than one string-encoding option", canon_at(&b) + 5);
    canon_component(&b, 1, OPTS(0x02, 0x03, 0x00, 0x04, 0x01));
    expect_code(&b, SPRY_EINVALID, "realloc must have type (i32 i32 i32 i32) -> i32");
    canon_component(&b, 1, OPTS(0x01, 0x03, 0x07));
    expect_code(&b, SPRY_EINVALID, "core memory index 7 out of range (1 defined)");
    canon_component(&b, 1, OPTS(0x01, 0x06));
    expect_fail(&b, SPRY_EUNSUPPORTED, "async and callback canon options", canon_at(&b) + 4);
    canon_component(&b, 1, OPTS(0x01, 0x0a));
    expect_fail(&b, SPRY_EMALFORMED, "invalid canon option 0x0a", canon_at(&b) + 4);
    free(b.p);
}

TEST(component_binary, canon_lower_and_unsupported_builtins)
{
    struct bb b = {0};
    for (int with_memory = 0; with_memory < 2; with_memory++) {
        b.n = 0;
        bb_preamble(&b);
        with_libc(&b);
        struct bb t = vec(1), im = vec(1), c = vec(1);
        B(&t, 0x40, 0x01), bb_str(&t, "m"), B(&t, 0x73, 0x01, 0x00);
        bb_section(&b, 7, &t);
        bb_name(&im, "log"), B(&im, 0x01, 0x00);
        bb_section(&b, 10, &im);
        size_t at = b.n + 3;
        B(&c, 0x01, 0x00, 0x00);
        if (with_memory)
            B(&c, 0x01, 0x03, 0x00);
        else
            B(&c, 0x00);
        bb_section(&b, 8, &c);
        if (!with_memory) {
            expect_fail(&b, SPRY_EINVALID, "canon lower needs a memory option", at);
            continue;
        }
        struct cbin *bin = decode_ok(&b);
        const struct cbin_component *root = bin->root;
        const struct cbin_def *def = &root->defs[root->ndefs - 1];
        ASSERT_EQ_UINT(def->op, CBIN_OP_LOWER);
        ASSERT_EQ_UINT(def->sort, CBIN_CORE_FUNC);
        ASSERT_EQ_UINT(def->index, 4);
        ASSERT_EQ_UINT(root->core_funcs[4]->nparams, 2);
        ASSERT_EQ_UINT(root->core_funcs[4]->nresults, 0);
        cbin_destroy(bin);
    }
    /* An async built-in, and resource.new of an imported resource. */
    b.n = 0;
    bb_preamble(&b);
    struct bb c = vec(1);
    B(&c, 0x05);
    bb_section(&b, 8, &c);
    expect_fail(&b, SPRY_EUNSUPPORTED, "canon built-in 0x05", 11);
    b.n = 0;
    bb_preamble(&b);
    resource_iface(&b, "ns:pkg/iface", "[method]r.get", "self");
    struct bb a = vec(1);
    B(&a, 0x03, 0x00, 0x00), bb_str(&a, "r");
    bb_section(&b, 6, &a);
    c = vec(1);
    size_t at = b.n + 4;
    B(&c, 0x02, 0x01);
    bb_section(&b, 8, &c);
    expect_fail(&b, SPRY_EINVALID,
                "resource.new: type 1 is not a resource type defined by this "
                "component",
                at);
    free(b.p);
}

TEST(component_binary, core_instance_argument_errors)
{
    /* A module importing "env" "f" (func (param i32)). */
    uint8_t *mod;
    size_t len;
    wat_compile("(module (import \"env\" \"f\" (func (param i32))))", &mod, &len);
    for (int variant = 0; variant < 3; variant++) {
        struct bb b = {0}, m = {0};
        bb_preamble(&b);
        with_libc(&b); /* core funcs: realloc, len, free([i32]), dtor */
        bb_raw(&m, mod, len);
        bb_section(&b, 1, &m);
        struct bb i = vec(2);
        /* core instance 1: bundle exporting "f" = core func (2 or 1) */
        B(&i, 0x01, 0x01), bb_str(&i, "f"), B(&i, 0x00, variant == 1 ? 0x01 : 0x02);
        size_t at = b.n + 3 + 6; /* section header, bundle, then the instantiate */
        B(&i, 0x00, 0x01, 0x01), bb_str(&i, variant == 2 ? "envx" : "env"), B(&i, 0x12, 0x01);
        bb_section(&b, 2, &i);
        if (variant == 0) {
            struct cbin *bin = decode_ok(&b);
            ASSERT_EQ_UINT(bin->root->ncore_instances, 3);
            ASSERT_EQ_UINT(bin->root->defs[bin->root->ndefs - 1].op, CBIN_OP_CORE_INSTANTIATE);
            cbin_destroy(bin);
        } else if (variant == 1) {
            expect_fail(&b, SPRY_EINVALID, "import \"env\" \"f\" has a different type", at);
        } else {
            expect_fail(&b, SPRY_EINVALID, "no argument \"env\"", at);
        }
        free(b.p);
    }
    free(mod);
}

TEST(component_binary, core_module_errors_name_both_offsets)
{
    struct bb b = {0}, m = {0};
    bb_preamble(&b);
    bb_raw(&m, "\0asm\x01\x00\x00\x00\x01\x05\x01\x60\x00\x00", 14); /* type section too short */
    bb_section(&b, 1, &m);
    struct cbin *bin = NULL;
    struct spry_report r;
    spry_report_init(&r);
    ASSERT_EQ_INT(cbin_decode(b.p, b.n, NULL, &bin, &r), SPRY_EMALFORMED);
    ASSERT_NOT_NULL(strstr(r.message, "(in the core module at offset 0x8)"));
    ASSERT_NOT_NULL(strstr(r.message, "at offset 0x"));
    free(b.p);
}

/* core type 0: (func (param i32)); core type 1: (module (type (func))
 * (import "env" "f" (func (type 0))) (export "g" (func (type 0)))) with
 * an outer alias for its type 0; import "m" (core module (type 1)); then
 * instantiate it with a bundle exporting "f" = libc's free. */
TEST(component_binary, module_types_and_imported_modules)
{
    for (int variant = 0; variant < 3; variant++) {
        struct bb b = {0};
        bb_preamble(&b);
        with_libc(&b);
        struct bb t = vec(2);
        B(&t, 0x60, 0x01, 0x7f, 0x00);
        B(&t, 0x50, 0x03);
        B(&t, 0x02, 0x10, 0x01, 0x01, 0x00); /* alias outer 1 core type 0 */
        B(&t, 0x00), bb_str(&t, "env"), bb_str(&t, "f"), B(&t, 0x00, 0x00);
        B(&t, 0x03), bb_str(&t, "g"), B(&t, 0x00, 0x00);
        bb_section(&b, 3, &t);
        struct bb im = vec(1);
        bb_name(&im, "m"), B(&im, 0x00, 0x11, 0x01);
        bb_section(&b, 10, &im);
        struct bb i = vec(2);
        B(&i, 0x01, 0x01), bb_str(&i, "f"), B(&i, 0x00, variant == 1 ? 0x01 : 0x02);
        size_t at = b.n + 3 + 6;
        B(&i, 0x00, 0x01, 0x01), bb_str(&i, "env"), B(&i, 0x12, 0x01);
        bb_section(&b, 2, &i);
        struct bb a = vec(1);
        size_t alias_at = b.n + 3;
        B(&a, 0x00, 0x00, 0x01, 0x02), bb_str(&a, variant == 2 ? "h" : "g");
        bb_section(&b, 6, &a);
        if (variant == 0) {
            struct cbin *bin = decode_ok(&b);
            const struct cbin_component *c = bin->root;
            ASSERT_EQ_UINT(c->ncore_types, 2);
            ASSERT_EQ_UINT(c->core_types[1].kind, CBIN_CT_MODULE);
            ASSERT_EQ_UINT(c->ncore_modules, 2);
            ASSERT_NULL(c->core_modules[1].module); /* imported */
            ASSERT_EQ_UINT(c->core_modules[1].type->imports.n, 1);
            ASSERT_EQ_UINT(c->ncore_funcs, 5);
            ASSERT_EQ_UINT(c->core_funcs[4]->nparams, 1);
            ASSERT_EQ_UINT(c->imports[0].ext.sort, CBIN_CORE_MODULE);
            cbin_destroy(bin);
        } else if (variant == 1) {
            expect_fail(&b, SPRY_EINVALID, "import \"env\" \"f\" has a different type", at);
        } else {
            expect_fail(&b, SPRY_EINVALID, "core instance 2 has no export \"h\"", alias_at + 4);
        }
        free(b.p);
    }
}

TEST(component_binary, instance_bundles_and_alias_errors)
{
    struct bb b = {0};
    bb_preamble(&b);
    struct bb t = vec(1), im = vec(1), i = vec(1), e = vec(1), a;
    B(&t, 0x40, 0x00, 0x01, 0x00);
    bb_section(&b, 7, &t);
    bb_name(&im, "f"), B(&im, 0x01, 0x00);
    bb_section(&b, 10, &im);
    B(&i, 0x01, 0x02);
    bb_name(&i, "run"), B(&i, 0x01, 0x00);
    bb_name(&i, "ty"), B(&i, 0x03, 0x00);
    bb_section(&b, 5, &i);
    size_t base = b.n;
    bb_name(&e, "wasi:cli/run@0.2.0"), B(&e, 0x05, 0x00, 0x00);
    bb_section(&b, 11, &e);
    struct cbin *bin = decode_ok(&b);
    const struct cbin_component *c = bin->root;
    ASSERT_EQ_UINT(c->ninstances, 2);
    ASSERT_EQ_UINT(c->instances[0]->exports.n, 2);
    ASSERT_NOT_NULL(cbin_externs_find(&c->instances[0]->exports, "run", 3));
    const struct cbin_def *bundle = &c->defs[2];
    ASSERT_EQ_UINT(bundle->op, CBIN_OP_BUNDLE);
    ASSERT_EQ_STR(bundle->u.bundle.items[1].name, "ty");
    ASSERT_EQ_UINT(bundle->u.bundle.items[1].sort, CBIN_TYPE);
    ASSERT_TRUE(c->exports[0].ext.interface);
    ASSERT_EQ_UINT(c->exports[0].index, 1);
    cbin_destroy(bin);

    /* Alias errors after the bundle: a missing name, a wrong sort. */
    b.n = base;
    a = vec(1);
    B(&a, 0x01, 0x00, 0x00), bb_str(&a, "nope");
    bb_section(&b, 6, &a);
    expect_fail(&b, SPRY_EINVALID, "instance 0 has no export \"nope\"", base + 6);
    b.n = base;
    a = vec(1);
    B(&a, 0x03, 0x00, 0x00), bb_str(&a, "run");
    bb_section(&b, 6, &a);
    expect_fail(&b, SPRY_EINVALID, "export \"run\" of instance 0 is a func, not a type", base + 6);
    b.n = base;
    a = vec(1);
    B(&a, 0x01, 0x00, 0x05), bb_str(&a, "run");
    bb_section(&b, 6, &a);
    expect_fail(&b, SPRY_EINVALID, "instance index 5 out of range (1 defined)", base + 5);
    b.n = base;
    a = vec(1);
    B(&a, 0x03, 0x02, 0x03, 0x00);
    bb_section(&b, 6, &a);
    expect_fail(&b, SPRY_EINVALID, "outer alias count 3 out of range", base + 5);
    b.n = base;
    a = vec(1);
    B(&a, 0x01, 0x02, 0x00, 0x00);
    bb_section(&b, 6, &a);
    expect_fail(&b, SPRY_EINVALID, "outer aliases of a func are not allowed here", base + 3);
    b.n = base;
    a = vec(1);
    B(&a, 0x01, 0x07, 0x00);
    bb_section(&b, 6, &a);
    expect_fail(&b, SPRY_EMALFORMED, "invalid alias target 0x07", base + 4);
    free(b.p);
}

/* ---- nested components, instantiation, outer aliases --------------------- */

/* Child: (import "t" (type (sub resource))) (type (own 0))
 * (type (func (param "h" 1))) (import "use" (func (type 2)))
 * (export "use2" (func 0)) (export "t2" (type 0)) */
static void child_component(struct bb *out)
{
    struct bb c = {0};
    bb_preamble(&c);
    struct bb im = vec(1);
    bb_name(&im, "t"), B(&im, 0x03, 0x01);
    bb_section(&c, 10, &im);
    struct bb t = vec(2);
    B(&t, 0x69, 0x00);
    B(&t, 0x40, 0x01), bb_str(&t, "h"), bb_idx(&t, 1), B(&t, 0x01, 0x00);
    bb_section(&c, 7, &t);
    im = vec(1);
    bb_name(&im, "use"), B(&im, 0x01, 0x02);
    bb_section(&c, 10, &im);
    struct bb e = vec(2);
    bb_name(&e, "use2"), B(&e, 0x01, 0x00, 0x00);
    bb_name(&e, "t2"), B(&e, 0x03, 0x00, 0x00);
    bb_section(&c, 11, &e);
    bb_section(out, 4, &c);
}

/* Parent: imports resources "r" (type 0) and "s" (type 1), (type (own 0)),
 * (type (func (param "h" 2))), import "u" (func (type 3)); the child; then
 * instantiate it with "t" = type `arg_t`, "use" = func 0 (when with_use). */
static void parent_component(struct bb *b, uint32_t arg_t, bool with_use)
{
    b->n = 0;
    bb_preamble(b);
    struct bb im = vec(2);
    bb_name(&im, "r"), B(&im, 0x03, 0x01);
    bb_name(&im, "s"), B(&im, 0x03, 0x01);
    bb_section(b, 10, &im);
    struct bb t = vec(2);
    B(&t, 0x69, 0x00);
    B(&t, 0x40, 0x01), bb_str(&t, "h"), bb_idx(&t, 2), B(&t, 0x01, 0x00);
    bb_section(b, 7, &t);
    im = vec(1);
    bb_name(&im, "u"), B(&im, 0x01, 0x03);
    bb_section(b, 10, &im);
    child_component(b);
    struct bb i = vec(1);
    B(&i, 0x00, 0x00, with_use ? 2 : 1);
    bb_str(&i, "t"), B(&i, 0x03), bb_u32(&i, arg_t);
    if (with_use)
        bb_str(&i, "use"), B(&i, 0x01, 0x00);
    bb_section(b, 5, &i);
    struct bb a = vec(2);
    B(&a, 0x01, 0x00, 0x00), bb_str(&a, "use2");
    B(&a, 0x03, 0x00, 0x00), bb_str(&a, "t2");
    bb_section(b, 6, &a);
}

TEST(component_binary, nested_component_instantiation_substitutes_resources)
{
    struct bb b = {0};
    parent_component(&b, 0, true);
    struct cbin *bin = decode_ok(&b);
    const struct cbin_component *p = bin->root;
    ASSERT_EQ_UINT(bin->ncomponents, 2);
    ASSERT_EQ_UINT(p->nchildren, 1);
    ASSERT_TRUE(p->children[0]->parent == p);
    ASSERT_TRUE(p->components[0].def == p->children[0]);
    const struct cbin_comptype *ct = p->components[0].type;
    ASSERT_EQ_UINT(ct->imports.n, 2);
    ASSERT_EQ_UINT(ct->nbound_imports, 1);
    ASSERT_EQ_UINT(bin->resources[ct->bound_imports[0]].kind, CBIN_RES_ABSTRACT);
    uint32_t r = p->types[0].u.resource;
    ASSERT_EQ_UINT(p->ninstances, 1);
    ASSERT_EQ_UINT(p->instances[0]->exports.n, 2);
    /* The instance's export "use2" takes an own of the parent's "r". */
    ASSERT_EQ_UINT(p->nfuncs, 2);
    ASSERT_EQ_UINT(p->funcs[1]->params[0].type->kind, CT_OWN);
    ASSERT_EQ_UINT(p->funcs[1]->params[0].type->u.resource, r);
    ASSERT_EQ_UINT(p->types[4].kind, CBIN_T_RESOURCE);
    ASSERT_EQ_UINT(p->types[4].u.resource, r);
    const struct cbin_def *inst = &p->defs[p->ndefs - 3];
    ASSERT_EQ_UINT(inst->op, CBIN_OP_INSTANTIATE);
    ASSERT_EQ_UINT(inst->u.inst.nargs, 2);
    ASSERT_EQ_STR(inst->u.inst.args[1].name, "use");
    ASSERT_EQ_UINT(inst->u.inst.args[1].sort, CBIN_FUNC);
    cbin_destroy(bin);

    /* "t" = the other resource: the function no longer matches. */
    parent_component(&b, 1, true);
    expect_code(&b, SPRY_EINVALID, "instantiation argument \"use\": types differ");
    parent_component(&b, 0, false);
    expect_code(&b, SPRY_EINVALID, "missing argument \"use\"");
    parent_component(&b, 2, true);
    expect_code(&b, SPRY_EINVALID, "instantiation argument \"t\": expected a resource type");
    free(b.p);
}

TEST(component_binary, outer_aliases)
{
    for (int variant = 0; variant < 2; variant++) {
        struct bb b = {0};
        bb_preamble(&b);
        struct bb t = vec(2);
        B(&t, 0x70, 0x79); /* list<u32> */
        B(&t, 0x3f, 0x7f, 0x00);
        bb_section(&b, 7, &t);
        struct bb c = {0};
        bb_preamble(&c);
        struct bb a = vec(1);
        B(&a, 0x03, 0x02, 0x01, variant == 0 ? 0x00 : 0x01);
        bb_section(&c, 6, &a);
        B(&b, 4);
        bb_u32(&b, (uint32_t)c.n);
        size_t child = b.n;
        bb_raw(&b, c.p, c.n);
        free(c.p);
        if (variant == 0) {
            struct cbin *bin = decode_ok(&b);
            const struct cbin_component *ch = bin->root->children[0];
            ASSERT_EQ_UINT(ch->ntypes, 1);
            ASSERT_TRUE(ch->types[0].u.value == bin->root->types[0].u.value);
            ASSERT_EQ_UINT(ch->defs[0].op, CBIN_OP_ALIAS_OUTER);
            ASSERT_EQ_UINT(ch->defs[0].u.outer.count, 1);
            ASSERT_EQ_UINT(ch->offset, child);
            cbin_destroy(bin);
        } else {
            expect_fail(&b, SPRY_EINVALID, "cannot reach a type that refers to a resource",
                        child + 8 + 3 + 2);
        }
        free(b.p);
    }
}

TEST(component_binary, nesting_limit)
{
    struct bb b = {0};
    bb_preamble(&b);
    for (int i = 0; i < CBIN_MAX_NESTING + 1; i++) {
        struct bb outer = {0};
        bb_preamble(&outer);
        bb_section(&outer, 4, &b);
        b = outer;
    }
    expect_code(&b, SPRY_ETOOBIG, "components nested deeper than 16");
    free(b.p);
}

TEST(component_binary, exports_need_visible_resources)
{
    uint8_t *mod;
    size_t len;
    wat_compile("(module (func (export \"mk\") (result i32) i32.const 1))", &mod, &len);
    for (int variant = 0; variant < 2; variant++) {
        struct bb b = {0}, m = {0};
        bb_preamble(&b);
        bb_raw(&m, mod, len);
        bb_section(&b, 1, &m);
        struct bb i = vec(1);
        B(&i, 0x00, 0x00, 0x00);
        bb_section(&b, 2, &i);
        struct bb a = vec(1);
        B(&a, 0x00, 0x00, 0x01, 0x00), bb_str(&a, "mk");
        bb_section(&b, 6, &a);
        struct bb t = vec(3);
        B(&t, 0x3f, 0x7f, 0x00);
        B(&t, 0x69, 0x00);
        B(&t, 0x40, 0x00, 0x00), bb_idx(&t, 1);
        bb_section(&b, 7, &t);
        struct bb c = vec(1);
        B(&c, 0x00, 0x00, 0x00, 0x00, 0x02);
        bb_section(&b, 8, &c);
        struct bb e = vec(variant == 0 ? 1 : 2);
        if (variant == 1)
            bb_name(&e, "r"), B(&e, 0x03, 0x00, 0x00);
        size_t at = b.n + 3 + (variant == 1 ? 6 : 0);
        bb_name(&e, "make"), B(&e, 0x01, 0x00, 0x00);
        bb_section(&b, 11, &e);
        if (variant == 0) {
            expect_fail(&b, SPRY_EINVALID, "export \"make\" uses resource type", at);
        } else {
            struct cbin *bin = decode_ok(&b);
            const struct cbin_comptype *ct = bin->root->type;
            ASSERT_EQ_UINT(ct->nbound_exports, 1); /* the defined resource, abstract */
            ASSERT_EQ_UINT(ct->exports.n, 2);
            cbin_destroy(bin);
        }
        free(b.p);
    }
    free(mod);
}

/* ---- robustness ------------------------------------------------------------ */

/* Every prefix and every single-byte change of a component that uses most
 * sections decodes or fails with a message; nothing crashes or leaks. */
TEST(component_binary, truncations_and_mutations_fail_cleanly)
{
    struct bb b = {0};
    canon_component(&b, 1, OPTS(0x02, 0x03, 0x00, 0x04, 0x00));
    size_t n = b.n;
    for (size_t len = 0; len < n; len++) {
        struct cbin *bin = NULL;
        struct spry_report r;
        spry_report_init(&r);
        if (cbin_decode(b.p, len, NULL, &bin, &r) == 0)
            cbin_destroy(bin); /* cut at a section boundary */
        else
            ASSERT_NOT_NULL(strstr(r.message, "offset 0x"));
    }
    parent_component(&b, 0, true);
    uint8_t *copy = malloc(b.n);
    ASSERT_NOT_NULL(copy);
    for (size_t i = 0; i < b.n; i++) {
        for (int k = 0; k < 3; k++) {
            static const uint8_t flips[] = {0x01, 0x80, 0xff};
            memcpy(copy, b.p, b.n);
            copy[i] ^= flips[k];
            struct cbin *bin = NULL;
            struct spry_report r;
            spry_report_init(&r);
            if (cbin_decode(copy, b.n, NULL, &bin, &r) == 0)
                cbin_destroy(bin);
            else
                ASSERT_TRUE(r.message[0] != '\0');
        }
    }
    free(copy);
    free(b.p);
}

TEST(component_binary, allocation_failures)
{
    struct bb b = {0};
    canon_component(&b, 1, OPTS(0x02, 0x03, 0x00, 0x04, 0x00));
    for (long k = 0;; k++) {
        struct cbin *bin = NULL;
        struct spry_report r;
        spry_report_init(&r);
        spry_alloc_fail_after(k);
        int rc = cbin_decode(b.p, b.n, NULL, &bin, &r);
        spry_alloc_fail_after(-1);
        if (rc == 0) {
            cbin_destroy(bin);
            ASSERT_GT_INT(k, 3);
            break;
        }
        ASSERT_EQ_INT(rc, SPRY_ENOMEM);
        ASSERT_TRUE(r.message[0] != '\0');
    }
    free(b.p);
}

TEST(component_binary, memory_limit)
{
    struct bb b = {0};
    parent_component(&b, 0, true);
    struct cbin_limits limits = {.max_memory = 4096};
    struct cbin *bin = NULL;
    struct spry_report r;
    spry_report_init(&r);
    ASSERT_EQ_INT(cbin_decode(b.p, b.n, &limits, &bin, &r), SPRY_ETOOBIG);
    ASSERT_NOT_NULL(strstr(r.message, "exceeds its memory limit (4096 bytes)"));
    free(b.p);
}

/* ---- fuzz seeds ------------------------------------------------------------ */

static void write_seed(const char *dir, const char *name, const struct bb *b)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ_UINT(fwrite(b->p, 1, b->n, f), b->n);
    ASSERT_EQ_INT(fclose(f), 0);
}

/* The components above, written to BUILD/fuzz-seeds/component for the
 * fuzz_component corpus (scripts/fuzz-smoke.sh). */
TEST(component_binary, write_fuzz_seeds)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", test_build_path("fuzz-seeds"));
    mkdir(dir, 0755);
    snprintf(dir, sizeof dir, "%s", test_build_path("fuzz-seeds/component"));
    mkdir(dir, 0755);
    struct bb b = {0};
    canon_component(&b, 1, OPTS(0x03, 0x03, 0x00, 0x04, 0x00, 0x05, 0x02));
    write_seed(dir, "canon", &b);
    parent_component(&b, 0, true);
    write_seed(dir, "nested", &b);
    b.n = 0;
    bb_preamble(&b);
    resource_iface(&b, "ns:pkg/iface@1.2.3", "[method]r.get", "self");
    struct bb a = vec(2);
    B(&a, 0x03, 0x00, 0x00), bb_str(&a, "r");
    B(&a, 0x01, 0x00, 0x00), bb_str(&a, "[method]r.get");
    bb_section(&b, 6, &a);
    write_seed(dir, "iface", &b);
    TYPES(&b, 6, 0x3f, 0x7f, 0x00, 0x72, 0x01, 0x01, 'a', 0x79, 0x71, 0x01, 0x01, 'n', 0x00, 0x00,
          0x6e, 0x01, 0x01, 'f', 0x6a, 0x01, 0x73, 0x00, 0x40, 0x01, 0x01, 'p', 0x04, 0x00, 0x01);
    write_seed(dir, "types", &b);
    struct cbin *bin = decode_ok(&b);
    cbin_destroy(bin);
    free(b.p);
}

/* ---- real components ------------------------------------------------------ */

/* Decodes every component in dir; returns how many. */
static int decode_dir(const char *dir)
{
    DIR *dp = opendir(dir);
    if (dp == NULL)
        return 0;
    int decoded = 0;
    struct dirent *de;
    while ((de = readdir(dp)) != NULL) {
        size_t nl = strlen(de->d_name);
        if (nl < 5 || strcmp(de->d_name + nl - 5, ".wasm") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        ASSERT_NOT_NULL(f);
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        rewind(f);
        uint8_t *bytes = malloc((size_t)size + 1);
        ASSERT_NOT_NULL(bytes);
        ASSERT_EQ_UINT(fread(bytes, 1, (size_t)size, f), (size_t)size);
        fclose(f);
        if (cbin_is_component(bytes, (size_t)size)) {
            struct cbin *bin = NULL;
            struct spry_report r;
            spry_report_init(&r);
            int rc = cbin_decode(bytes, (size_t)size, NULL, &bin, &r);
            if (rc != 0)
                fprintf(stderr, "%s: %s\n", path, r.message);
            ASSERT_EQ_INT(rc, 0);
            ASSERT_GT_UINT(bin->root->nexports, 0);
            cbin_destroy(bin);
            printf("decoded %s\n", path);
            decoded++;
        }
        free(bytes);
    }
    closedir(dp);
    return decoded;
}

/* Components built by real toolchains (jco's wit-component): the jco test
 * suite builds its canonical-ABI guest with scripts/build-abi-guest.sh and
 * the WASI guests as commands (make test-components) under BUILD/components.
 * The ABI guest is (re)built here when that script and its npm toolchain
 * (scripts/components-setup.sh, BUILD/npm) are installed; installing the
 * toolchain needs the network, so this test does not. */
TEST(component_binary, real_components_decode)
{
    const char *script = test_src_path("scripts/build-abi-guest.sh");
    char stamp[4096];
    snprintf(stamp, sizeof stamp, "%s", test_build_path("npm/.stamp"));
    if (access(script, X_OK) == 0 && access(stamp, R_OK) == 0) {
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "'%s' '%s' >/dev/null 2>&1", script, test_build_path(""));
        ASSERT_EQ_INT(system(cmd), 0);
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", test_build_path("components"));
    int n = decode_dir(dir);
    snprintf(dir, sizeof dir, "%s", test_build_path("components/abi"));
    n += decode_dir(dir);
    if (n == 0)
        test_skip("no toolchain-built components in %s (scripts/build-abi-guest.sh or make "
                  "test-components build them once scripts/components-setup.sh installed jco; "
                  "needs node >= 20 and npm)",
                  test_build_path("components"));
}

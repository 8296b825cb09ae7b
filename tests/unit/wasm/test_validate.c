/*
 * Tests of validate_module on modules built by hand (struct wasm_module
 * filled in directly, function bodies as raw instruction bytes), so that the
 * validator is tested independently of the decoder.
 */
#include "harness/test.h"

#include "base/alloc.h"
#include "spry/spry.h"
#include "wasm/module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    I32 = SPRY_I32,
    I64 = SPRY_I64,
    F32 = SPRY_F32,
    F64 = SPRY_F64,
    FREF = SPRY_FUNCREF,
    EREF = SPRY_EXTERNREF,
};

/* The same as strings, for type and local lists. */
#define T_I32  "\x7f"
#define T_I64  "\x7e"
#define T_F32  "\x7d"
#define T_F64  "\x7c"
#define T_FREF "\x70"
#define T_EREF "\x6f"

enum { TM_MAX = 8 };

/* A module under construction: fixed-size arrays for everything but the bytes. */
struct tmod {
    struct wasm_module m;
    struct wasm_functype types[TM_MAX];
    uint8_t type_bytes[TM_MAX][8];
    struct wasm_func funcs[TM_MAX];
    struct wasm_global globals[TM_MAX];
    struct wasm_table tables[TM_MAX];
    struct wasm_memory memories[TM_MAX];
    struct wasm_elem elems[TM_MAX];
    struct wasm_data datas[TM_MAX];
    struct wasm_export exports[TM_MAX];
    uint8_t declared[TM_MAX];
    size_t cap;
    struct spry_report report;
};

static void tm_init(struct tmod *t)
{
    memset(t, 0, sizeof *t);
    t->m.types = t->types;
    t->m.funcs = t->funcs;
    t->m.globals = t->globals;
    t->m.tables = t->tables;
    t->m.memories = t->memories;
    t->m.elems = t->elems;
    t->m.datas = t->datas;
    t->m.exports = t->exports;
    t->m.declared_refs = t->declared;
    spry_report_init(&t->report);
}

static void tm_fini(struct tmod *t)
{
    free(t->m.bytes);
}

static void tm_append(struct tmod *t, const uint8_t *bytes, size_t n)
{
    if (t->m.len + n > t->cap) {
        t->cap = (t->m.len + n) * 2;
        t->m.bytes = realloc(t->m.bytes, t->cap);
        ASSERT_NOT_NULL(t->m.bytes);
    }
    memcpy(t->m.bytes + t->m.len, bytes, n);
    t->m.len += n;
}

/* A function type from NUL-terminated lists of value types. */
static uint32_t tm_type(struct tmod *t, const char *params, const char *results)
{
    uint32_t i = t->m.ntypes++;
    ASSERT_LT_UINT(i, TM_MAX);
    size_t np = strlen(params), nr = strlen(results);
    memcpy(t->type_bytes[i], params, np);
    memcpy(t->type_bytes[i] + np, results, nr);
    t->types[i] = (struct wasm_functype){(uint32_t)np, (uint32_t)nr, t->type_bytes[i], i + 1};
    return i;
}

static uint32_t tm_import_func(struct tmod *t, uint32_t type)
{
    uint32_t i = t->m.nfuncs++;
    t->m.num_imported_funcs++;
    t->funcs[i] = (struct wasm_func){.type_index = type, .imported = true};
    return i;
}

/* A defined function: `locals` declared locals and the body's instructions
 * (ending with its final `end`, or deliberately not). */
static uint32_t tm_func_n(struct tmod *t, uint32_t type, const char *locals, const uint8_t *code,
                          size_t n)
{
    uint32_t i = t->m.nfuncs++;
    ASSERT_LT_UINT(i, TM_MAX);
    tm_append(t, (const uint8_t *)"\x00", 1); /* stands for size and locals */
    t->funcs[i] = (struct wasm_func){
        .type_index = type,
        .body_offset = (uint32_t)t->m.len - 1,
        .body_size = (uint32_t)n + 1,
        .expr_offset = (uint32_t)t->m.len,
        .nlocals = (uint32_t)strlen(locals),
        .local_types = (uint8_t *)locals,
    };
    tm_append(t, code, n);
    return i;
}

#define tm_func(t, type, locals, ...)                                \
    tm_func_n((t), (type), (locals), (const uint8_t[]){__VA_ARGS__}, \
              sizeof((const uint8_t[]){__VA_ARGS__}))

static void tm_memory(struct tmod *t, uint64_t min, bool has_max, uint64_t max)
{
    t->memories[t->m.nmemories++] = (struct wasm_memory){{min, max, has_max}, false};
}

static void tm_table(struct tmod *t, uint8_t elem, uint64_t min)
{
    t->tables[t->m.ntables++] = (struct wasm_table){{elem, {min, 0, false}}, false};
}

static struct wasm_constexpr tm_i32(int32_t v)
{
    return (struct wasm_constexpr){1, {WASM_CONST_I32, {.i32 = v}}, NULL, 0};
}

static int tm_validate(struct tmod *t)
{
    spry_report_init(&t->report);
    return validate_module(&t->m, &t->report);
}

/* Expects validation to fail with `code` and a message starting with `prefix`. */
static void expect_fail(struct tmod *t, int code, const char *prefix)
{
    int rc = tm_validate(t);
    if (rc != code)
        fprintf(stderr, "message: %s\n", t->report.message);
    ASSERT_EQ_INT(rc, code);
    ASSERT_EQ_INT(t->report.code, code);
    char head[SPRY_REPORT_MSG_MAX];
    snprintf(head, sizeof head, "%.*s", (int)strlen(prefix), t->report.message);
    ASSERT_EQ_STR(head, prefix);
}

static void expect_ok(struct tmod *t)
{
    int rc = tm_validate(t);
    if (rc != 0)
        fprintf(stderr, "message: %s\n", t->report.message);
    ASSERT_OK(rc);
}

/* Opcodes used below. */
enum {
    UNREACHABLE = 0x00,
    NOP = 0x01,
    BLOCK = 0x02,
    LOOP = 0x03,
    IF = 0x04,
    ELSE = 0x05,
    END = 0x0b,
    BR = 0x0c,
    BR_IF = 0x0d,
    BR_TABLE = 0x0e,
    RETURN = 0x0f,
    CALL = 0x10,
    CALL_INDIRECT = 0x11,
    RETURN_CALL = 0x12,
    DROP = 0x1a,
    SELECT = 0x1b,
    SELECT_T = 0x1c,
    LOCAL_GET = 0x20,
    LOCAL_SET = 0x21,
    LOCAL_TEE = 0x22,
    GLOBAL_GET = 0x23,
    GLOBAL_SET = 0x24,
    I32_LOAD = 0x28,
    I64_LOAD = 0x29,
    I32_LOAD8_U = 0x2d,
    MEMORY_SIZE = 0x3f,
    I32_CONST = 0x41,
    I64_CONST = 0x42,
    F32_CONST = 0x43,
    I32_ADD = 0x6a,
    F32_NEG = 0x8c,
    REF_NULL = 0xd0,
    REF_IS_NULL = 0xd1,
    REF_FUNC = 0xd2,
    PREFIX = 0xfc,
    EMPTY = 0x40,
};

TEST(wasm_validate, empty_module_and_simple_function)
{
    struct tmod t;
    tm_init(&t);
    expect_ok(&t);
    uint32_t ty = tm_type(&t, T_I32 T_I32, T_I32);
    tm_func(&t, ty, "", LOCAL_GET, 0, LOCAL_GET, 1, I32_ADD, END);
    expect_ok(&t);
    tm_fini(&t);
}

TEST(wasm_validate, type_mismatch_names_offset)
{
    struct tmod t;
    tm_init(&t);
    uint32_t ty = tm_type(&t, "", "");
    tm_func(&t, ty, "", I32_CONST, 0, F32_NEG, DROP, END);
    expect_fail(&t, SPRY_EINVALID, "type mismatch");
    /* The body starts at offset 1 (after the stand-in byte); f32.neg is at 3. */
    ASSERT_NOT_NULL(strstr(t.report.message, "at offset 0x3"));
    tm_fini(&t);
}

TEST(wasm_validate, result_arity_and_leftover_values)
{
    struct tmod t;
    tm_init(&t);
    uint32_t ty = tm_type(&t, "", T_I32);
    tm_func(&t, ty, "", END); /* missing result */
    expect_fail(&t, SPRY_EINVALID, "type mismatch");
    tm_fini(&t);

    tm_init(&t);
    ty = tm_type(&t, "", "");
    tm_func(&t, ty, "", I32_CONST, 1, END); /* value left over */
    expect_fail(&t, SPRY_EINVALID, "type mismatch");
    tm_fini(&t);
}

TEST(wasm_validate, unknown_indices)
{
    static const struct {
        uint8_t code[8];
        size_t n;
        const char *prefix;
    } cases[] = {
        {{LOCAL_GET, 2, DROP, END}, 4, "unknown local"},
        {{GLOBAL_GET, 0, DROP, END}, 4, "unknown global"},
        {{CALL, 5, END}, 3, "unknown function"},
        {{I32_CONST, 0, CALL_INDIRECT, 0, 0, END}, 6, "unknown table"},
        {{I32_CONST, 0, I32_LOAD, 2, 0, DROP, END}, 7, "unknown memory"},
        {{MEMORY_SIZE, 0, DROP, END}, 4, "unknown memory"},
        {{BLOCK, 9, END, END}, 4, "unknown type"},
        {{BR, 1, END}, 3, "unknown label"},
        {{PREFIX, 13, 0, END}, 4, "unknown elem segment 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tmod t;
        tm_init(&t);
        uint32_t ty = tm_type(&t, T_I32, "");
        tm_func_n(&t, ty, "", cases[i].code, cases[i].n);
        expect_fail(&t, SPRY_EINVALID, cases[i].prefix);
        tm_fini(&t);
    }
}

TEST(wasm_validate, locals_params_and_declared)
{
    struct tmod t;
    tm_init(&t);
    uint32_t ty = tm_type(&t, T_I64, T_F32);
    tm_func(&t, ty, T_I32 T_F32, LOCAL_GET, 0, DROP, LOCAL_GET, 1, LOCAL_SET, 1, LOCAL_GET, 2,
            LOCAL_TEE, 2, END);
    expect_ok(&t);
    t.funcs[0].local_types = (uint8_t *)T_I32 T_I32; /* local 2 now i32 */
    expect_fail(&t, SPRY_EINVALID, "type mismatch");
    tm_fini(&t);
}

TEST(wasm_validate, global_set_needs_mutable_global)
{
    struct tmod t;
    tm_init(&t);
    uint32_t ty = tm_type(&t, "", "");
    t.globals[0] = (struct wasm_global){{I32, false}, false, tm_i32(0)};
    t.m.nglobals = 1;
    tm_func(&t, ty, "", I32_CONST, 0, GLOBAL_SET, 0, END);
    expect_fail(&t, SPRY_EINVALID, "global is immutable");
    t.globals[0].type.mutable_ = true;
    expect_ok(&t);
    tm_fini(&t);
}

/* Deep nesting costs heap, never C stack: 100,000 nested blocks. */
TEST(wasm_validate, deep_nesting_validates_without_recursion)
{
    enum { DEPTH = 100000 };
    struct tmod t;
    tm_init(&t);
    uint32_t ty = tm_type(&t, "", T_I32);
    size_t n = DEPTH * 2 + 2 + DEPTH + 1;
    uint8_t *code = malloc(n);
    ASSERT_NOT_NULL(code);
    size_t at = 0;
    for (int i = 0; i < DEPTH; i++) {
        code[at++] = BLOCK;
        code[at++] = I32; /* each block yields an i32 */
    }
    code[at++] = I32_CONST;
    code[at++] = 7;
    for (int i = 0; i < DEPTH; i++)
        code[at++] = END;
    code[at++] = END;
    ASSERT_EQ_UINT(at, n);
    tm_func_n(&t, ty, "", code, n);
    expect_ok(&t);
    /* One `end` short: the body runs out, at the end of the module. */
    t.funcs[0].body_size--;
    t.m.len--;
    expect_fail(&t, SPRY_EMALFORMED, "unexpected end of section or function");
    free(code);
    tm_fini(&t);
}

TEST(wasm_validate, blocks_with_params_by_type_index)
{
    struct tmod t;
    tm_init(&t);
    uint32_t ty = tm_type(&t, "", T_I32);
    uint32_t bt = tm_type(&t, T_I32 T_I32, T_I32);
    /* i32.const 1, i32.const 2, block (type 1) i32.add end */
    tm_func(&t, ty, "", I32_CONST, 1, I32_CONST, 2, BLOCK, (uint8_t)bt, I32_ADD, END, END);
    expect_ok(&t);
    tm_fini(&t);

    /* A loop's label carries its params: br 0 in a loop [i32] -> [] needs an i32. */
    tm_init(&t);
    ty = tm_type(&t, "", "");
    bt = tm_type(&t, T_I32, "");
    tm_func(&t, ty, "", I32_CONST, 1, LOOP, (uint8_t)bt, BR, 0, END, END);
    expect_ok(&t);
    tm_fini(&t);

    tm_init(&t);
    ty = tm_type(&t, "", "");
    bt = tm_type(&t, T_I32, "");
    tm_func(&t, ty, "", I32_CONST, 1, LOOP, (uint8_t)bt, DROP, BR, 0, END, END);
    expect_fail(&t, SPRY_EINVALID, "type mismatch");
    tm_fini(&t);
}

TEST(wasm_validate, if_without_else_must_keep_its_type)
{
    struct tmod t;
    tm_init(&t);
    uint32_t ty = tm_type(&t, "", T_I32);
    tm_func(&t, ty, "", I32_CONST, 1, IF, I32, I32_CONST, 2, END, END);
    expect_fail(&t, SPRY_EINVALID, "type mismatch");
    tm_fini(&t);

    tm_init(&t);
    ty = tm_type(&t, "", T_I32);
    tm_func(&t, ty, "", I32_CONST, 1, IF, I32, I32_CONST, 2, ELSE, I32_CONST, 3, END, END);
    expect_ok(&t);
    tm_fini(&t);

    /* `else` outside an `if` does not decode. */
    tm_init(&t);
    ty = tm_type(&t, "", "");
    tm_func(&t, ty, "", BLOCK, EMPTY, ELSE, END, END);
    expect_fail(&t, SPRY_EMALFORMED, "END opcode expected");
    tm_fini(&t);
}

TEST(wasm_validate, br_table_arity_rules)
{
    static const struct {
        uint8_t code[20];
        size_t n;
        int rc;
    } cases[] = {
        /* block i32 (i32.const 1; i32.const 0; br_table 0 1): both carry an i32 */
        {{BLOCK, I32, I32_CONST, 1, I32_CONST, 0, BR_TABLE, 1, 0, 1, END, END}, 12, 0},
        /* label 0 carries nothing, the default (the function) an i32 */
        {{BLOCK, EMPTY, I32_CONST, 1, I32_CONST, 0, BR_TABLE, 1, 0, 1, END, I32_CONST, 0, END},
         14,
         SPRY_EINVALID},
        /* arities must agree even under a polymorphic stack */
        {{BLOCK, EMPTY, UNREACHABLE, BR_TABLE, 1, 0, 1, END, I32_CONST, 0, END}, 11, SPRY_EINVALID},
        /* same arity, different types: fine when the operand is Unknown */
        {{BLOCK, F32, UNREACHABLE, BR_TABLE, 1, 0, 1, END, DROP, I32_CONST, 0, END}, 12, 0},
        /* ...but a known operand must suit every label */
        {{BLOCK, F32, UNREACHABLE, F32_CONST, 0, 0, 0, 0, I32_CONST, 0, BR_TABLE, 1, 0, 1, END,
          DROP, I32_CONST, 0, END},
         19,
         SPRY_EINVALID},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tmod t;
        tm_init(&t);
        uint32_t ty = tm_type(&t, "", T_I32);
        tm_func_n(&t, ty, "", cases[i].code, cases[i].n);
        if (cases[i].rc == 0)
            expect_ok(&t);
        else
            expect_fail(&t, cases[i].rc, "type mismatch");
        tm_fini(&t);
    }
}

TEST(wasm_validate, br_table_polymorphic_stack_keeps_both_label_types)
{
    /* block f32 (block i32 (unreachable; br_table 0 1 0)) — different types, same arity:
     * valid, since the operand popped under `unreachable` is Unknown. */
    struct tmod t;
    tm_init(&t);
    uint32_t ty = tm_type(&t, "", "");
    tm_func(&t, ty, "", BLOCK, F32, BLOCK, I32, UNREACHABLE, BR_TABLE, 1, 0, 1, END, DROP,
            F32_CONST, 0, 0, 0, 0, END, DROP, END);
    expect_ok(&t);
    tm_fini(&t);
}

TEST(wasm_validate, select_typing)
{
    struct tmod t;
    tm_init(&t);
    uint32_t ty = tm_type(&t, "", T_I64);
    tm_func(&t, ty, "", I64_CONST, 1, I64_CONST, 2, I32_CONST, 0, SELECT, END);
    expect_ok(&t);
    tm_fini(&t);

    tm_init(&t); /* operands differ */
    ty = tm_type(&t, "", T_I64);
    tm_func(&t, ty, "", I64_CONST, 1, I32_CONST, 2, I32_CONST, 0, SELECT, END);
    expect_fail(&t, SPRY_EINVALID, "type mismatch");
    tm_fini(&t);

    tm_init(&t); /* untyped select of references */
    ty = tm_type(&t, "", "");
    tm_func(&t, ty, "", REF_NULL, FREF, REF_NULL, FREF, I32_CONST, 0, SELECT, DROP, END);
    expect_fail(&t, SPRY_EINVALID, "type mismatch");
    tm_fini(&t);

    tm_init(&t); /* typed select of references */
    ty = tm_type(&t, "", "");
    tm_func(&t, ty, "", REF_NULL, EREF, REF_NULL, EREF, I32_CONST, 0, SELECT_T, 1, EREF, DROP, END);
    expect_ok(&t);
    tm_fini(&t);

    tm_init(&t); /* select (result) with two types */
    ty = tm_type(&t, "", "");
    tm_func(&t, ty, "", I32_CONST, 0, I32_CONST, 0, I32_CONST, 0, SELECT_T, 2, I32, I32, DROP, END);
    expect_fail(&t, SPRY_EINVALID, "invalid result arity");
    tm_fini(&t);

    tm_init(&t); /* unreachable: select's operands are Unknown, its result too */
    ty = tm_type(&t, "", T_F64);
    tm_func(&t, ty, "", UNREACHABLE, SELECT, END);
    expect_ok(&t);
    tm_fini(&t);
}

TEST(wasm_validate, unreachable_makes_the_stack_polymorphic)
{
    struct tmod t;
    tm_init(&t);
    uint32_t ty = tm_type(&t, "", T_I32);
    tm_func(&t, ty, "", UNREACHABLE, I32_ADD, END);
    expect_ok(&t);
    tm_fini(&t);

    tm_init(&t); /* a known operand above the bottom is still checked */
    ty = tm_type(&t, "", T_I32);
    tm_func(&t, ty, "", UNREACHABLE, I64_CONST, 0, I32_ADD, END);
    expect_fail(&t, SPRY_EINVALID, "type mismatch");
    tm_fini(&t);

    tm_init(&t); /* polymorphism ends with the block */
    ty = tm_type(&t, "", "");
    tm_func(&t, ty, "", BLOCK, EMPTY, UNREACHABLE, END, DROP, END);
    expect_fail(&t, SPRY_EINVALID, "type mismatch");
    tm_fini(&t);

    tm_init(&t); /* return, br: same */
    ty = tm_type(&t, "", T_F32);
    tm_func(&t, ty, "", BLOCK, EMPTY, BR, 0, I32_ADD, DROP, END, F32_CONST, 0, 0, 0, 0, RETURN,
            F32_NEG, END);
    expect_ok(&t);
    tm_fini(&t);
}

TEST(wasm_validate, ref_func_needs_declaration)
{
    struct tmod t;
    tm_init(&t);
    uint32_t ty = tm_type(&t, "", "");
    tm_func(&t, ty, "", REF_FUNC, 0, DROP, END);
    expect_fail(&t, SPRY_EINVALID, "undeclared function reference");
    t.declared[0] = 1;
    expect_ok(&t);
    tm_fini(&t);

    tm_init(&t);
    ty = tm_type(&t, "", "");
    tm_func(&t, ty, "", REF_FUNC, 7, DROP, END);
    expect_fail(&t, SPRY_EINVALID, "unknown function 7");
    tm_fini(&t);
}

TEST(wasm_validate, ref_is_null_takes_references_only)
{
    struct tmod t;
    tm_init(&t);
    uint32_t ty = tm_type(&t, "", T_I32);
    tm_func(&t, ty, "", REF_NULL, EREF, REF_IS_NULL, END);
    expect_ok(&t);
    tm_fini(&t);

    tm_init(&t);
    ty = tm_type(&t, "", T_I32);
    tm_func(&t, ty, "", I32_CONST, 0, REF_IS_NULL, END);
    expect_fail(&t, SPRY_EINVALID, "type mismatch");
    tm_fini(&t);
}

TEST(wasm_validate, datacount_section_required_for_data_instructions)
{
    struct tmod t;
    tm_init(&t);
    uint32_t ty = tm_type(&t, "", "");
    tm_memory(&t, 1, false, 0);
    t.datas[0] = (struct wasm_data){.mode = WASM_SEG_PASSIVE};
    t.m.ndatas = 1;
    tm_func(&t, ty, "", I32_CONST, 0, I32_CONST, 0, I32_CONST, 0, PREFIX, 8, 0, 0, PREFIX, 9, 0,
            END);
    expect_fail(&t, SPRY_EMALFORMED, "data count section required");
    t.m.has_datacount = true;
    t.m.datacount = 1;
    expect_ok(&t);
    t.m.bytes[t.funcs[0].expr_offset + 8] = 1; /* memory.init 1 */
    expect_fail(&t, SPRY_EINVALID, "unknown data segment 1");
    tm_fini(&t);

    /* With no data segments at all, the index is simply unknown (wast2json
     * leaves the data count section out then). */
    tm_init(&t);
    ty = tm_type(&t, "", "");
    tm_func(&t, ty, "", PREFIX, 9, 0, END);
    expect_fail(&t, SPRY_EINVALID, "unknown data segment 0");
    tm_fini(&t);
}

TEST(wasm_validate, memory_immediates)
{
    struct tmod t;
    tm_init(&t);
    uint32_t ty = tm_type(&t, "", "");
    tm_memory(&t, 1, false, 0);
    tm_func(&t, ty, "", I32_CONST, 0, I64_LOAD, 3, 0, DROP, I32_CONST, 0, I32_LOAD8_U, 0, 0, DROP,
            END);
    expect_ok(&t);
    t.m.bytes[t.funcs[0].expr_offset + 3] = 4; /* i64.load align=16 */
    expect_fail(&t, SPRY_EINVALID, "alignment must not be larger than natural");
    tm_fini(&t);

    tm_init(&t);
    ty = tm_type(&t, "", "");
    tm_memory(&t, 1, false, 0);
    tm_func(&t, ty, "", MEMORY_SIZE, 1, DROP, END);
    expect_fail(&t, SPRY_EMALFORMED, "zero byte expected");
    tm_fini(&t);
}

TEST(wasm_validate, malformed_bodies)
{
    static const struct {
        uint8_t code[8];
        size_t n;
        const char *prefix;
    } cases[] = {
        {{0xff, END}, 2, "illegal opcode"},
        {{PREFIX, 0x80, 0x01, END}, 4, "illegal opcode"},
        {{I32_CONST, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, END},
         8,
         "integer representation too long"},
        {{I32_CONST, 0x80, 0x80, 0x80, 0x80, 0x70, END}, 7, "integer too large"},
        {{I32_CONST}, 1, "unexpected end"},
        {{NOP}, 1, "unexpected end"},
        {{NOP, END, NOP}, 3, "section size mismatch"},
        {{REF_NULL, 0x7f, DROP, END}, 4, "malformed reference type"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tmod t;
        tm_init(&t);
        uint32_t ty = tm_type(&t, "", "");
        tm_func_n(&t, ty, "", cases[i].code, cases[i].n);
        expect_fail(&t, SPRY_EMALFORMED, cases[i].prefix);
        tm_fini(&t);
    }
}

/* The spec decodes all bodies before validating any: a later body that does
 * not decode wins over an earlier type error. */
TEST(wasm_validate, malformed_wins_over_invalid)
{
    struct tmod t;
    tm_init(&t);
    uint32_t ty = tm_type(&t, "", "");
    tm_func(&t, ty, "", I32_CONST, 0, END);
    tm_func(&t, ty, "", 0xff, END);
    expect_fail(&t, SPRY_EMALFORMED, "illegal opcode");
    tm_fini(&t);
}

TEST(wasm_validate, calls_and_tail_calls)
{
    struct tmod t;
    tm_init(&t);
    uint32_t ty = tm_type(&t, T_I32, T_I64);
    uint32_t callee = tm_import_func(&t, ty);
    tm_table(&t, FREF, 1);
    tm_func(&t, ty, "", LOCAL_GET, 0, CALL, (uint8_t)callee, DROP, LOCAL_GET, 0, RETURN_CALL,
            (uint8_t)callee, END);
    tm_func(&t, ty, "", LOCAL_GET, 0, I32_CONST, 0, CALL_INDIRECT, (uint8_t)ty, 0, END);
    expect_ok(&t);
    tm_fini(&t);

    /* A tail call must return what the caller returns. */
    tm_init(&t);
    ty = tm_type(&t, T_I32, T_I64);
    uint32_t other = tm_type(&t, T_I32, T_I32);
    callee = tm_import_func(&t, other);
    tm_func(&t, ty, "", LOCAL_GET, 0, RETURN_CALL, (uint8_t)callee, END);
    expect_fail(&t, SPRY_EINVALID, "type mismatch");
    tm_fini(&t);

    /* return_call_indirect: table, type and results checked like a tail call. */
    tm_init(&t);
    ty = tm_type(&t, T_I32, T_I64);
    tm_table(&t, FREF, 1);
    tm_func(&t, ty, "", LOCAL_GET, 0, I32_CONST, 0, 0x13, (uint8_t)ty, 0, END);
    expect_ok(&t);
    t.m.bytes[t.funcs[0].expr_offset + 6] = 1; /* table 1 */
    expect_fail(&t, SPRY_EINVALID, "unknown table 1");
    tm_fini(&t);

    /* call_indirect through an externref table. */
    tm_init(&t);
    ty = tm_type(&t, "", "");
    tm_table(&t, EREF, 1);
    tm_func(&t, ty, "", I32_CONST, 0, CALL_INDIRECT, 0, 0, END);
    expect_fail(&t, SPRY_EINVALID, "type mismatch");
    tm_fini(&t);
}

TEST(wasm_validate, module_limits_and_memories)
{
    struct tmod t;
    tm_init(&t);
    tm_memory(&t, 2, true, 1);
    expect_fail(&t, SPRY_EINVALID, "size minimum must not be greater than maximum");
    tm_fini(&t);

    tm_init(&t);
    tm_memory(&t, 0, true, 65537);
    expect_fail(&t, SPRY_EINVALID, "memory size must be at most 65536 pages (4GiB)");
    tm_fini(&t);

    tm_init(&t);
    tm_memory(&t, 0, false, 0);
    tm_memory(&t, 0, false, 0);
    expect_fail(&t, SPRY_EINVALID, "multiple memories");
    tm_fini(&t);

    tm_init(&t);
    t.tables[0] = (struct wasm_table){{FREF, {10, 5, true}}, false};
    t.m.ntables = 1;
    expect_fail(&t, SPRY_EINVALID, "size minimum must not be greater than maximum");
    tm_fini(&t);
}

TEST(wasm_validate, constant_expressions)
{
    struct tmod t;
    tm_init(&t);
    /* global 0 imported immutable i32, global 1 imported mutable, global 2 defined */
    t.globals[0] = (struct wasm_global){{I32, false}, true, {0}};
    t.globals[1] = (struct wasm_global){{I32, true}, true, {0}};
    t.globals[2] = (struct wasm_global){{I32, false}, false, tm_i32(0)};
    t.m.nglobals = 3;
    t.m.num_imported_globals = 2;
    expect_ok(&t);

    t.globals[2].init.first = (struct wasm_const_instr){WASM_CONST_GLOBAL_GET, {.index = 0}};
    expect_ok(&t);
    t.globals[2].init.first.value.index = 1;
    expect_fail(&t, SPRY_EINVALID, "constant expression required");
    t.globals[2].init.first.value.index = 2;
    expect_fail(&t, SPRY_EINVALID, "unknown global 2");
    t.globals[2].init = tm_i32(0);
    t.globals[2].type.type = I64;
    expect_fail(&t, SPRY_EINVALID, "type mismatch");

    /* Two constants leave two values. */
    struct wasm_const_instr second = {WASM_CONST_I32, {.i32 = 1}};
    t.globals[2].type.type = I32;
    t.globals[2].init.count = 2;
    t.globals[2].init.rest = &second;
    expect_fail(&t, SPRY_EINVALID, "type mismatch");

    /* Extended-const arithmetic is not Wasm 2.0. */
    struct wasm_const_instr rest[2] = {{WASM_CONST_I32, {.i32 = 1}}, {WASM_CONST_I32_ADD, {0}}};
    t.globals[2].type.type = I32;
    t.globals[2].init.count = 3;
    t.globals[2].init.rest = rest;
    expect_fail(&t, SPRY_EINVALID, "constant expression required");
    tm_fini(&t);
}

TEST(wasm_validate, segments)
{
    struct tmod t;
    tm_init(&t);
    uint32_t ty = tm_type(&t, "", "");
    tm_func(&t, ty, "", END);
    tm_table(&t, FREF, 1);
    struct wasm_constexpr item = {1, {WASM_CONST_REF_FUNC, {.index = 0}}, NULL, 0};
    t.elems[0] = (struct wasm_elem){WASM_SEG_ACTIVE, FREF, 0, tm_i32(0), 1, &item};
    t.m.nelems = 1;
    expect_ok(&t);
    t.elems[0].table = 1;
    expect_fail(&t, SPRY_EINVALID, "unknown table 1");
    t.elems[0].table = 0;
    t.elems[0].reftype = EREF;
    expect_fail(&t, SPRY_EINVALID, "type mismatch");
    t.elems[0].reftype = FREF;
    item.first.value.index = 3;
    expect_fail(&t, SPRY_EINVALID, "unknown function 3");
    tm_fini(&t);

    tm_init(&t);
    t.datas[0] = (struct wasm_data){WASM_SEG_ACTIVE, 0, tm_i32(0), NULL, 0};
    t.m.ndatas = 1;
    expect_fail(&t, SPRY_EINVALID, "unknown memory 0");
    tm_memory(&t, 1, false, 0);
    expect_ok(&t);
    t.datas[0].offset.first = (struct wasm_const_instr){WASM_CONST_I64, {.i64 = 0}};
    expect_fail(&t, SPRY_EINVALID, "type mismatch");
    tm_fini(&t);
}

TEST(wasm_validate, start_and_exports)
{
    struct tmod t;
    tm_init(&t);
    uint32_t ty = tm_type(&t, "", "");
    uint32_t bad = tm_type(&t, T_I32, "");
    tm_func(&t, ty, "", END);
    tm_func(&t, bad, "", END);
    t.m.has_start = true;
    t.m.start = 0;
    expect_ok(&t);
    t.m.start = 1;
    expect_fail(&t, SPRY_EINVALID, "start function");
    t.m.start = 2;
    expect_fail(&t, SPRY_EINVALID, "unknown function");
    t.m.has_start = false;

    t.exports[0] = (struct wasm_export){"a", 1, SPRY_EXTERN_FUNC, 0};
    t.exports[1] = (struct wasm_export){"b", 1, SPRY_EXTERN_FUNC, 1};
    t.exports[2] = (struct wasm_export){"", 0, SPRY_EXTERN_FUNC, 1};
    t.m.nexports = 3;
    expect_ok(&t);
    t.exports[1].name = "a";
    expect_fail(&t, SPRY_EINVALID, "duplicate export name");
    t.exports[1].name = "b";
    t.exports[2].kind = SPRY_EXTERN_GLOBAL;
    expect_fail(&t, SPRY_EINVALID, "unknown global");
    tm_fini(&t);
}

/* Every allocation failure is reported, never crashes or leaks. */
TEST(wasm_validate, out_of_memory_is_reported)
{
    struct tmod t;
    tm_init(&t);
    uint32_t ty = tm_type(&t, "", "");
    tm_func(&t, ty, "", BLOCK, EMPTY, I32_CONST, 0, DROP, END, END);
    t.exports[0] = (struct wasm_export){"a", 1, SPRY_EXTERN_FUNC, 0};
    t.exports[1] = (struct wasm_export){"b", 1, SPRY_EXTERN_FUNC, 0};
    t.m.nexports = 2;
    for (long n = 0;; n++) {
        spry_alloc_fail_after(n);
        int rc = tm_validate(&t);
        spry_alloc_fail_after(-1);
        if (rc == 0)
            break;
        ASSERT_EQ_INT(rc, SPRY_ENOMEM);
        ASSERT_LT_INT(n, 10);
    }
    tm_fini(&t);
}

/* A br_table of millions of labels to a target carrying 1,000 values costs
 * one check per distinct target, not one per label (regression: quadratic). */
TEST(wasm_validate, huge_br_table_is_linear)
{
    enum { LABELS = 2000000, ARITY = 1000 };
    struct tmod t;
    tm_init(&t);
    uint8_t *results = malloc(ARITY);
    ASSERT_NOT_NULL(results);
    memset(results, I32, ARITY);
    t.types[0] = (struct wasm_functype){0, ARITY, results, 1};
    t.m.ntypes = 1;
    size_t n = 1 + 1 + 4 + LABELS + 1 + 1;
    uint8_t *code = malloc(n);
    ASSERT_NOT_NULL(code);
    size_t at = 0;
    code[at++] = UNREACHABLE;
    code[at++] = BR_TABLE;
    code[at++] = 0x80 | (LABELS & 0x7f); /* LEB128 of LABELS */
    code[at++] = 0x80 | ((LABELS >> 7) & 0x7f);
    code[at++] = 0x80 | ((LABELS >> 14) & 0x7f);
    code[at++] = (LABELS >> 21) & 0x7f;
    memset(code + at, 0, LABELS);
    at += LABELS;
    code[at++] = 0; /* default */
    code[at++] = END;
    ASSERT_EQ_UINT(at, n);
    tm_func_n(&t, 0, "", code, n);
    expect_ok(&t);
    free(code);
    free(results);
    tm_fini(&t);
}

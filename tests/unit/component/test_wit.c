/*
 * The WIT subset parser: every type form, resolution across interfaces
 * (use, resource numbering, forward references), function naming, and
 * each error with its line:column.
 */
#include "harness/test.h"

#include "base/alloc.h"
#include "component/wit.h"

#include <stdio.h>
#include <string.h>

static const struct chost_resource no_resources[1];

struct one {
    struct spry_arena arena;
    struct wit_host host;
    struct spry_report report;
    struct chost_iface iface;
};

/* Parses one interface "t:p/i" with the given resource names. */
static int parse_one(struct one *o, const char *wit, const struct chost_resource *res, size_t nres)
{
    memset(o, 0, sizeof *o);
    spry_arena_init(&o->arena, 1 << 20);
    spry_report_init(&o->report);
    o->iface = (struct chost_iface){.name = "t:p/i",
                                    .version = "0.2.12",
                                    .wit = wit,
                                    .resources = res != NULL ? res : no_resources,
                                    .nresources = nres};
    return wit_parse_host(&o->iface, 1, &o->arena, &o->host, &o->report);
}

static void expect_error(const char *wit, const char *where_what)
{
    struct one o;
    int rc = parse_one(&o, wit, NULL, 0);
    if (rc == 0 || strstr(o.report.message, where_what) == NULL)
        fprintf(stderr, "text: %s\nrc %d, report: %s\nexpected: %s\n", wit, rc, o.report.message,
                where_what);
    ASSERT_NE_INT(rc, 0);
    ASSERT_NOT_NULL(strstr(o.report.message, where_what));
    spry_arena_fini(&o.arena);
}

static const struct ctype *type_of(struct one *o, const char *name)
{
    const struct ctype *t = wit_iface_type(&o->host.ifaces[0], name);
    if (t == NULL)
        fprintf(stderr, "no type %s\n", name);
    ASSERT_NOT_NULL(t);
    return t;
}

static const struct wit_func *func_of(struct one *o, const char *name)
{
    const struct wit_func *f = wit_iface_func(&o->host.ifaces[0], name);
    if (f == NULL)
        fprintf(stderr, "no function %s\n", name);
    ASSERT_NOT_NULL(f);
    return f;
}

TEST(wit, every_type_form)
{
    static const struct chost_resource res[] = {{"thing", NULL}};
    struct one o;
    const char *wit = "// a comment\n"
                      "/* a /* nested */ block */\n"
                      "type a = bool; type b = s8; type c = u8; type d = s16; type e = u16;\n"
                      "type f = s32; type g = u32; type h = s64; type i = u64; type j = f32;\n"
                      "type k = f64; type l = float32; type m = float64; type n = char;\n"
                      "type o = string; type p = list<u8>; type q = option<string>;\n"
                      "type r0 = result; type r1 = result<u32>; type r2 = result<_, string>;\n"
                      "type r3 = result<u32, string>; type tu = tuple<u8, string,>;\n"
                      "resource thing;\n"
                      "type ow = own<thing>; type bo = borrow<thing>; type th = thing;\n"
                      "record rec { x: u32, %type: string, }\n"
                      "variant var { none, some(u64), }\n"
                      "enum en { one, two, three }\n"
                      "flags fl { read, write }\n";
    ASSERT_OK(parse_one(&o, wit, res, 1));
    static const struct {
        const char *name;
        uint8_t kind;
    } simple[] = {{"a", CT_BOOL},    {"b", CT_S8},      {"c", CT_U8},       {"d", CT_S16},
                  {"e", CT_U16},     {"f", CT_S32},     {"g", CT_U32},      {"h", CT_S64},
                  {"i", CT_U64},     {"j", CT_F32},     {"k", CT_F64},      {"l", CT_F32},
                  {"m", CT_F64},     {"n", CT_CHAR},    {"o", CT_STRING},   {"p", CT_LIST},
                  {"q", CT_OPTION},  {"r0", CT_RESULT}, {"tu", CT_TUPLE},   {"ow", CT_OWN},
                  {"bo", CT_BORROW}, {"th", CT_OWN},    {"rec", CT_RECORD}, {"var", CT_VARIANT},
                  {"en", CT_ENUM},   {"fl", CT_FLAGS}};
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
        ASSERT_EQ_INT(type_of(&o, simple[i].name)->kind, simple[i].kind);
    ASSERT_EQ_INT(type_of(&o, "p")->u.elem->kind, CT_U8);
    ASSERT_EQ_INT(type_of(&o, "q")->u.elem->kind, CT_STRING);
    ASSERT_NULL(type_of(&o, "r0")->u.result.ok);
    ASSERT_NULL(type_of(&o, "r0")->u.result.err);
    ASSERT_EQ_INT(type_of(&o, "r1")->u.result.ok->kind, CT_U32);
    ASSERT_NULL(type_of(&o, "r1")->u.result.err);
    ASSERT_NULL(type_of(&o, "r2")->u.result.ok);
    ASSERT_EQ_INT(type_of(&o, "r2")->u.result.err->kind, CT_STRING);
    ASSERT_EQ_INT(type_of(&o, "r3")->u.result.ok->kind, CT_U32);
    ASSERT_EQ_INT(type_of(&o, "r3")->u.result.err->kind, CT_STRING);
    const struct ctype *tu = type_of(&o, "tu");
    ASSERT_EQ_UINT(tu->u.record.n, 2);
    ASSERT_NULL(tu->u.record.fields[0].name);
    ASSERT_EQ_INT(tu->u.record.fields[1].type->kind, CT_STRING);
    ASSERT_EQ_UINT(type_of(&o, "ow")->u.resource, 0);
    ASSERT_EQ_UINT(type_of(&o, "bo")->u.resource, 0);
    const struct ctype *rec = type_of(&o, "rec");
    ASSERT_EQ_UINT(rec->u.record.n, 2);
    ASSERT_EQ_STR(rec->u.record.fields[1].name, "type");
    const struct ctype *var = type_of(&o, "var");
    ASSERT_EQ_UINT(var->u.variant.n, 2);
    ASSERT_NULL(var->u.variant.cases[0].type);
    ASSERT_EQ_INT(var->u.variant.cases[1].type->kind, CT_U64);
    const struct ctype *en = type_of(&o, "en");
    ASSERT_EQ_UINT(en->u.variant.n, 3);
    ASSERT_EQ_STR(en->u.variant.cases[2].name, "three");
    const struct ctype *fl = type_of(&o, "fl");
    ASSERT_EQ_UINT(fl->u.flags.n, 2);
    ASSERT_EQ_STR(fl->u.flags.names[1], "write");
    /* A named type is one node, shared by its uses. */
    ASSERT_TRUE(type_of(&o, "th") == type_of(&o, "thing"));
    spry_arena_fini(&o.arena);
}

TEST(wit, types_may_be_used_before_their_definition)
{
    struct one o;
    ASSERT_OK(parse_one(&o,
                        "record stat { size: filesize, kind: kind, when: option<datetime> }\n"
                        "f: func(s: stat) -> filesize;\n"
                        "type filesize = u64;\n"
                        "enum kind { file, dir }\n"
                        "record datetime { seconds: u64, nanoseconds: u32 }\n",
                        NULL, 0));
    const struct ctype *stat = type_of(&o, "stat");
    ASSERT_TRUE(stat->u.record.fields[0].type == type_of(&o, "filesize"));
    ASSERT_TRUE(stat->u.record.fields[1].type == type_of(&o, "kind"));
    ASSERT_TRUE(stat->u.record.fields[2].type->u.elem == type_of(&o, "datetime"));
    const struct wit_func *f = func_of(&o, "f");
    ASSERT_EQ_UINT(f->type.nparams, 1);
    ASSERT_EQ_STR(f->type.params[0].name, "s");
    ASSERT_TRUE(f->type.params[0].type == stat);
    ASSERT_EQ_INT(f->type.result->kind, CT_U64);
    spry_arena_fini(&o.arena);
}

TEST(wit, resource_functions_use_import_spelling)
{
    static const struct chost_resource res[] = {{"fields", NULL}, {"other", NULL}};
    struct one o;
    ASSERT_OK(parse_one(&o,
                        "@since(version = 0.2.0)\n"
                        "resource other;\n"
                        "resource fields {\n"
                        "    /// a doc comment\n"
                        "    @since(version = 0.2.0)\n"
                        "    constructor();\n"
                        "    from-list: static func(entries: list<tuple<string, string>>) -> "
                        "result<fields, string>;\n"
                        "    get: func(name: string) -> list<string>;\n"
                        "    %stream: func();\n"
                        "    make: static func() -> other;\n"
                        "}\n"
                        "plain: func();\n",
                        res, 2));
    const struct wit_func *ctor = func_of(&o, "[constructor]fields");
    ASSERT_EQ_UINT(ctor->type.nparams, 0);
    ASSERT_EQ_INT(ctor->type.result->kind, CT_OWN);
    ASSERT_EQ_UINT(ctor->type.result->u.resource, 0);
    const struct wit_func *fl = func_of(&o, "[static]fields.from-list");
    ASSERT_EQ_UINT(fl->type.nparams, 1);
    ASSERT_EQ_INT(fl->type.result->u.result.ok->kind, CT_OWN);
    const struct wit_func *get = func_of(&o, "[method]fields.get");
    ASSERT_EQ_UINT(get->type.nparams, 2);
    ASSERT_EQ_STR(get->type.params[0].name, "self");
    ASSERT_EQ_INT(get->type.params[0].type->kind, CT_BORROW);
    ASSERT_EQ_UINT(get->type.params[0].type->u.resource, 0);
    ASSERT_EQ_STR(get->type.params[1].name, "name");
    ASSERT_NULL(func_of(&o, "[method]fields.stream")->type.result);
    /* Resources are numbered by the table's order, not the text's. */
    ASSERT_EQ_UINT(func_of(&o, "[static]fields.make")->type.result->u.resource, 1);
    ASSERT_NOT_NULL(func_of(&o, "plain"));
    ASSERT_EQ_UINT(o.host.ifaces[0].nfuncs, 6);
    ASSERT_EQ_UINT(o.host.nresources, 2);
    spry_arena_fini(&o.arena);
}

/* Three interfaces of two packages, listed so that uses point forward. */
TEST(wit, use_resolves_across_interfaces)
{
    static const struct chost_resource err_res[] = {{"error", NULL}};
    static const struct chost_resource poll_res[] = {{"pollable", NULL}};
    static const struct chost_resource stream_res[] = {{"input-stream", NULL},
                                                       {"output-stream", NULL}};
    const struct chost_iface ifaces[] = {
        {.name = "wasi:cli/stdin",
         .version = "0.2.3",
         .wit = "use wasi:io/streams@0.2.0.{input-stream, error as io-error};\n"
                "get-stdin: func() -> input-stream;\n"
                "describe: func(e: borrow<io-error>) -> string;\n"},
        {.name = "wasi:io/streams",
         .version = "0.2.12",
         .wit = "use error.{error};\nuse poll.{pollable};\n"
                "variant stream-error { last-operation-failed(error), closed }\n"
                "resource input-stream { subscribe: func() -> pollable; }\n"
                "resource output-stream;\n",
         .resources = stream_res,
         .nresources = 2},
        {.name = "wasi:io/error",
         .version = "0.2.12",
         .wit = "resource error { to-debug-string: func() -> string; }",
         .resources = err_res,
         .nresources = 1},
        {.name = "wasi:io/poll",
         .version = "0.2.12",
         .wit = "resource pollable { ready: func() -> bool; block: func(); }\n"
                "poll: func(in: list<borrow<pollable>>) -> list<u32>;\n",
         .resources = poll_res,
         .nresources = 1},
    };
    struct spry_arena arena;
    struct wit_host host;
    struct spry_report report;
    spry_arena_init(&arena, 1 << 20);
    spry_report_init(&report);
    ASSERT_OK(wit_parse_host(ifaces, 4, &arena, &host, &report));
    ASSERT_EQ_UINT(host.nresources, 4);
    /* Resource space: streams 0-1, error 2, pollable 3. */
    const struct wit_iface *stdin_i = wit_host_iface(&host, "wasi:cli/stdin");
    ASSERT_NOT_NULL(stdin_i);
    const struct wit_func *gs = wit_iface_func(stdin_i, "get-stdin");
    ASSERT_NOT_NULL(gs);
    ASSERT_EQ_INT(gs->type.result->kind, CT_OWN);
    ASSERT_EQ_UINT(gs->type.result->u.resource, 0);
    ASSERT_EQ_UINT(wit_iface_func(stdin_i, "describe")->type.params[0].type->u.resource, 2);
    ASSERT_NOT_NULL(wit_iface_type(stdin_i, "io-error"));
    ASSERT_NULL(wit_iface_type(stdin_i, "error"));
    const struct wit_iface *streams = wit_host_iface(&host, "wasi:io/streams");
    const struct ctype *se = wit_iface_type(streams, "stream-error");
    ASSERT_EQ_INT(se->u.variant.cases[0].type->kind, CT_OWN);
    ASSERT_EQ_UINT(se->u.variant.cases[0].type->u.resource, 2);
    ASSERT_EQ_UINT(
        wit_iface_func(streams, "[method]input-stream.subscribe")->type.result->u.resource, 3);
    const struct wit_func *poll = wit_iface_func(wit_host_iface(&host, "wasi:io/poll"), "poll");
    ASSERT_EQ_INT(poll->type.params[0].type->u.elem->kind, CT_BORROW);
    ASSERT_EQ_UINT(poll->type.params[0].type->u.elem->u.resource, 3);
    const struct wit_iface *ri;
    const struct chost_resource *rr;
    ASSERT_OK(wit_host_resource(&host, 3, &ri, &rr));
    ASSERT_EQ_STR(rr->name, "pollable");
    ASSERT_EQ_STR(ri->host->name, "wasi:io/poll");
    ASSERT_EQ_INT(wit_host_resource(&host, 4, &ri, &rr), SPRY_ENOTFOUND);
    spry_arena_fini(&arena);
}

TEST(wit, use_errors)
{
    const struct chost_iface a = {.name = "x:y/a", .version = "0.2.1", .wit = "use b.{t};"};
    const struct chost_iface b = {.name = "x:y/b", .version = "0.2.1", .wit = "use a.{u};"};
    struct spry_arena arena;
    struct wit_host host;
    struct spry_report report;
    spry_arena_init(&arena, 1 << 20);
    struct chost_iface pair[2] = {a, b};
    spry_report_init(&report);
    ASSERT_EQ_INT(wit_parse_host(pair, 2, &arena, &host, &report), SPRY_EMALFORMED);
    ASSERT_NOT_NULL(strstr(report.message, "x:y/b:1:5: interfaces use each other in a cycle"));
    pair[1].wit = "type t = u32;";
    pair[0].wit = "use b@0.3.0.{t};";
    spry_report_init(&report);
    ASSERT_EQ_INT(wit_parse_host(pair, 2, &arena, &host, &report), SPRY_EMALFORMED);
    ASSERT_NOT_NULL(strstr(report.message, "x:y/a:1:5: 'x:y/b@0.3.0' is not compatible"));
    pair[0].wit = "use b@0.2.99.{t};\nuse b.{t as t2};\nuse b.{nope};";
    spry_report_init(&report);
    ASSERT_EQ_INT(wit_parse_host(pair, 2, &arena, &host, &report), SPRY_EMALFORMED);
    ASSERT_NOT_NULL(strstr(report.message, "x:y/a:3:8: 'x:y/b' has no type 'nope'"));
    pair[0].wit = "use x:z/b.{t};";
    spry_report_init(&report);
    ASSERT_EQ_INT(wit_parse_host(pair, 2, &arena, &host, &report), SPRY_EMALFORMED);
    ASSERT_NOT_NULL(strstr(report.message, "unknown interface 'x:z/b'"));
    pair[0].wit = "use a.{t};";
    spry_report_init(&report);
    ASSERT_EQ_INT(wit_parse_host(pair, 2, &arena, &host, &report), SPRY_EMALFORMED);
    ASSERT_NOT_NULL(strstr(report.message, "cannot use itself"));
    pair[0].wit = "use b.{t};\ntype t = u8;";
    spry_report_init(&report);
    ASSERT_EQ_INT(wit_parse_host(pair, 2, &arena, &host, &report), SPRY_EMALFORMED);
    ASSERT_NOT_NULL(strstr(report.message, "x:y/a:2:6: 't' is defined more than once"));
    pair[0].name = "no-slash";
    spry_report_init(&report);
    ASSERT_EQ_INT(wit_parse_host(pair, 2, &arena, &host, &report), SPRY_EMALFORMED);
    ASSERT_NOT_NULL(strstr(report.message, "namespace:package/interface"));
    spry_arena_fini(&arena);
}

TEST(wit, errors_name_line_and_column)
{
    expect_error("type a = b;", "t:p/i:1:10: unknown type 'b'");
    expect_error("type a = u32;\ntype a = u8;", "t:p/i:2:6: 'a' is defined more than once");
    expect_error("record r { x: r }", "t:p/i:1:8: type 'r' refers to itself");
    expect_error("type a = b;\ntype b = list<a>;", "refers to itself");
    expect_error("record r { type: u8 }", "1:12: 'type' is a keyword (write %type)");
    expect_error("f: func(x: u8 x: u8);", "1:15: expected ',' or ')'");
    expect_error("f: func(x: u8, x: u8);", "1:16: parameter 'x' occurs more than once");
    expect_error("/* open", "1:1: unterminated comment");
    expect_error("f: func()", "expected ';' before the end of text");
    expect_error("enum e { a, a }", "1:13: 'a' occurs more than once");
    expect_error("record r { }", "a type needs at least one member");
    expect_error("type t = tuple<>;", "1:16: expected a type, found '>'");
    expect_error("type t = result<_>;", "1:18: expected ','");
    expect_error("type t = list<u8, 4>;", "fixed-size lists are not in Spry's WIT subset");
    expect_error("type t = future<u8>;", "'future' is not in Spry's WIT subset");
    expect_error("f: func() -> (a: u32);", "1:14: named results are not in Spry's WIT subset");
    expect_error("resource r;", "1:10: resource 'r' has no entry in the interface's table");
    expect_error("type t = borrow<u32x>;", "unknown type 'u32x'");
    expect_error("type x = u8;\ntype t = borrow<x>;", "2:17: 'x' is not a resource");
    expect_error("f: func();\ntype t = f;", "'f' is a function, not a type");
    expect_error("f: func();\nf: func();", "2:1: 'f' is defined more than once");
    expect_error("interface x {}", "1:1: expected an interface item, found 'interface'");
    expect_error("Bad-name: func();", "'Bad-name' is not a valid name");
    expect_error("a--b: func();", "'a--b' is not a valid name");
    expect_error("type t = u8;\n  $", "2:3: unexpected character '$'");
    expect_error("type t = u8; \x01", "1:14: unexpected byte 0x01");
    expect_error("@since(version = 0.2.0", "unterminated attribute");
    expect_error("flags f { a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, b0, b1, b2, b3, b4, b5, b6, "
                 "b7, b8, b9, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, d0, d1, d2 }",
                 "flags have at most 32 labels");
    expect_error("resource", "expected a name, found end of text");
    expect_error("use %.{x};", "'%' must be followed by a name");
    /* Nesting deeper than the bound is refused, not recursed into. */
    char deep[2000] = "type t = ";
    for (int i = 0; i < 100; i++)
        strcat(deep, "list<");
    strcat(deep, "u8");
    for (int i = 0; i < 100; i++)
        strcat(deep, ">");
    strcat(deep, ";");
    expect_error(deep, "types nested more than 64 deep");
}

TEST(wit, table_resources_must_all_be_declared)
{
    static const struct chost_resource res[] = {{"a", NULL}, {"b", NULL}};
    struct one o;
    ASSERT_EQ_INT(parse_one(&o, "resource a;", res, 2), SPRY_EMALFORMED);
    ASSERT_NOT_NULL(strstr(o.report.message, "resource 'b' of the interface's table"));
    spry_arena_fini(&o.arena);
    static const struct chost_resource twice[] = {{"a", NULL}, {"a", NULL}};
    ASSERT_EQ_INT(parse_one(&o, "resource a;", twice, 2), SPRY_EMALFORMED);
    ASSERT_NOT_NULL(strstr(o.report.message, "lists a name twice"));
    spry_arena_fini(&o.arena);
}

TEST(wit, a_small_arena_fails_cleanly)
{
    static const char wit[] = "record r { a: u8, b: u16, c: string, d: list<u8> }\n"
                              "f: func(x: r, y: option<r>) -> result<r, string>;\n";
    for (size_t limit = 0; limit < 4096; limit += 64) {
        struct spry_arena arena;
        struct wit_host host;
        struct spry_report report;
        spry_arena_init(&arena, limit);
        spry_report_init(&report);
        struct chost_iface i = {.name = "t:p/i", .wit = wit};
        int rc = wit_parse_host(&i, 1, &arena, &host, &report);
        ASSERT_TRUE(rc == 0 || rc == SPRY_ENOMEM);
        spry_arena_fini(&arena);
    }
}

TEST(wit, allocation_failures_are_reported)
{
    static const char wit[] = "record r { a: u8, b: u16, c: string, d: list<u8> }\n"
                              "f: func(x: r, y: option<r>) -> result<r, string>;\n";
    for (long n = 0;; n++) {
        struct spry_arena arena;
        struct wit_host host;
        struct spry_report report;
        spry_arena_init(&arena, 1 << 20);
        spry_report_init(&report);
        struct chost_iface i = {.name = "t:p/i", .wit = wit};
        spry_alloc_fail_after(n);
        int rc = wit_parse_host(&i, 1, &arena, &host, &report);
        spry_alloc_fail_after(-1);
        spry_arena_fini(&arena);
        if (rc == 0)
            break;
        ASSERT_EQ_INT(rc, SPRY_ENOMEM);
        ASSERT_LT_INT(n, 1000);
    }
}

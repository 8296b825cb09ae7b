/*
 * Unit tests of the spec runner's engine-free parts: the JSON reader, the
 * script values (parsing, NaN patterns, references), message matching and
 * the skip list. The runner's sources are compiled into this file because
 * the Makefile links tests/spec/ only into spec-runner, which also needs the
 * engine; these three files use none of it.
 */
#include "harness/test.h"

#include <limits.h>

#include "spec/json.c"
#include "spec/skip.c"
#include "spec/value.c"

static struct json_doc *parse_ok(const char *text)
{
    struct json_doc *doc = NULL;
    struct spry_report report;
    spry_report_init(&report);
    int rc = json_parse(text, strlen(text), &doc, &report);
    if (rc != 0)
        fprintf(stderr, "%s\n", report.message);
    ASSERT_OK(rc);
    return doc;
}

static int parse_rc(const char *text, size_t len)
{
    struct json_doc *doc = NULL;
    struct spry_report report;
    spry_report_init(&report);
    int rc = json_parse(text, len, &doc, &report);
    if (rc == 0)
        json_doc_destroy(doc);
    else
        ASSERT_EQ_INT(report.code, rc);
    return rc;
}

TEST(spec_json, wast2json_command)
{
    struct json_doc *doc =
        parse_ok("{\"source_filename\": \"i32.wast\",\n \"commands\": [\n"
                 "  {\"type\": \"module\", \"line\": 3, \"filename\": \"i32.0.wasm\"}, \n"
                 "  {\"type\": \"assert_return\", \"line\": 37, \"action\": {\"type\": \"invoke\", "
                 "\"field\": \"add\", \"args\": [{\"type\": \"i32\", \"value\": \"1\"}]}, "
                 "\"expected\": [{\"type\": \"f32\", \"value\": \"nan:canonical\"}]}]}\n");
    const struct json_value *root = json_doc_root(doc);
    ASSERT_EQ_INT(root->type, JSON_OBJECT);
    const struct json_value *cmds = json_get(root, "commands");
    ASSERT_NOT_NULL(cmds);
    ASSERT_EQ_INT(cmds->type, JSON_ARRAY);
    ASSERT_EQ_UINT(cmds->len, 2);
    unsigned long long line;
    ASSERT_OK(json_uint(json_get(&cmds->of.items[1], "line"), UINT32_MAX, &line));
    ASSERT_EQ_UINT(line, 37);
    ASSERT_EQ_STR(json_get_str(&cmds->of.items[0], "filename", NULL), "i32.0.wasm");
    const struct json_value *action = json_get(&cmds->of.items[1], "action");
    ASSERT_TRUE(json_str_is(json_get(action, "field"), "add"));
    ASSERT_NULL(json_get(action, "module"));
    ASSERT_NULL(json_get_str(&cmds->of.items[1], "line", NULL)); /* a number, not a string */
    json_doc_destroy(doc);
}

TEST(spec_json, string_escapes)
{
    struct json_doc *doc =
        parse_ok("[\"\\u0000a\\u000a\", \"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\u00e9\\u20ac\", "
                 "\"\\ud83d\\ude00\", \"\xc3\x85\"]");
    const struct json_value *a = json_doc_root(doc);
    ASSERT_EQ_UINT(a->len, 5);
    ASSERT_EQ_UINT(a->of.items[0].len, 3);
    ASSERT_EQ_MEM(a->of.items[0].of.str, "\0a\n", 4);
    ASSERT_EQ_STR(a->of.items[1].of.str, "\"\\/\b\f\n\r\t");
    ASSERT_EQ_STR(a->of.items[2].of.str, "\xc3\xa9\xe2\x82\xac");
    ASSERT_EQ_STR(a->of.items[3].of.str, "\xf0\x9f\x98\x80");
    ASSERT_EQ_STR(a->of.items[4].of.str, "\xc3\x85"); /* raw UTF-8 passes through */
    json_doc_destroy(doc);
}

TEST(spec_json, numbers_keep_their_text)
{
    struct json_doc *doc = parse_ok("[0, -1, 12.5e+3, 1E-2, 18446744073709551615]");
    const struct json_value *a = json_doc_root(doc);
    ASSERT_EQ_STR(a->of.items[2].of.str, "12.5e+3");
    unsigned long long n;
    ASSERT_OK(json_uint(&a->of.items[0], 10, &n));
    ASSERT_EQ_UINT(n, 0);
    ASSERT_EQ_INT(json_uint(&a->of.items[1], 10, &n), SPRY_EINVAL);
    ASSERT_EQ_INT(json_uint(&a->of.items[2], UINT32_MAX, &n), SPRY_EINVAL);
    ASSERT_OK(json_uint(&a->of.items[4], ULLONG_MAX, &n));
    ASSERT_EQ_UINT(n, ULLONG_MAX);
    ASSERT_EQ_INT(json_uint(&a->of.items[4], UINT32_MAX, &n), SPRY_EINVAL);
    json_doc_destroy(doc);
}

TEST(spec_json, literals_and_empty_containers)
{
    struct json_doc *doc = parse_ok(" {\"a\": [], \"b\": {}, \"c\": true, \"d\": false, "
                                    "\"e\": null, \"a\": 1} ");
    const struct json_value *o = json_doc_root(doc);
    ASSERT_EQ_INT(json_get(o, "a")->type, JSON_ARRAY); /* the first of a repeated key */
    ASSERT_EQ_UINT(json_get(o, "a")->len, 0);
    ASSERT_EQ_INT(json_get(o, "b")->type, JSON_OBJECT);
    ASSERT_EQ_INT(json_get(o, "c")->type, JSON_TRUE);
    ASSERT_EQ_INT(json_get(o, "d")->type, JSON_FALSE);
    ASSERT_EQ_INT(json_get(o, "e")->type, JSON_NULL);
    ASSERT_NULL(json_get(o, "f"));
    json_doc_destroy(doc);
}

TEST(spec_json, rejects_what_is_not_json)
{
    static const char *const bad[] = {
        "",        "[1,]",      "{\"a\":1,}",  "[01]",        "[1.]",
        "[.5]",    "[-]",       "[1e]",        "\"abc",       "\"a\nb\"",
        "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
        "[1] [2]", "{a: 1}",    "{\"a\" 1}",   "[tru]",       "nul",
        "[1 2]",   "// c\n1",   "'a'",         "{\"a\":}",    "[\"\\",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse_rc(bad[i], strlen(bad[i])) != SPRY_EMALFORMED) {
            fprintf(stderr, "accepted: %s\n", bad[i]);
            ASSERT_TRUE(false);
        }
    }
    /* An embedded NUL outside a string is not whitespace. */
    ASSERT_EQ_INT(parse_rc("[1]\0", 4), SPRY_EMALFORMED);
}

TEST(spec_json, error_names_line_and_column)
{
    struct json_doc *doc = NULL;
    struct spry_report report;
    spry_report_init(&report);
    const char *text = "{\n  \"a\": [1,\n  ]}";
    ASSERT_EQ_INT(json_parse(text, strlen(text), &doc, &report), SPRY_EMALFORMED);
    ASSERT_TRUE(strstr(report.message, "3:3") != NULL);
}

TEST(spec_json, nesting_is_bounded)
{
    char text[2 * JSON_MAX_DEPTH + 8];
    size_t n = 0;
    for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
        text[n++] = '[';
    for (int i = 0; i < JSON_MAX_DEPTH + 1; i++)
        text[n++] = ']';
    ASSERT_EQ_INT(parse_rc(text, n), SPRY_ETOOBIG);
    ASSERT_OK(parse_rc(text + 1, n - 2));
}

/* ---- values ------------------------------------------------------------- */

static int value_of(const char *json, bool expected, struct spec_value *out)
{
    struct json_doc *doc = parse_ok(json);
    struct spry_report report;
    spry_report_init(&report);
    int rc = spec_value_parse(json_doc_root(doc), expected, out, &report);
    json_doc_destroy(doc);
    return rc;
}

TEST(spec_value, integers_are_unsigned_bits)
{
    struct spec_value v;
    struct spry_val val;
    ASSERT_OK(value_of("{\"type\": \"i32\", \"value\": \"4294967295\"}", false, &v));
    spec_value_to_val(&v, &val);
    ASSERT_EQ_INT(val.type, SPRY_I32);
    ASSERT_EQ_INT(val.of.i32, -1);
    ASSERT_EQ_INT(value_of("{\"type\": \"i32\", \"value\": \"4294967296\"}", false, &v),
                  SPRY_EINVAL);
    ASSERT_EQ_INT(value_of("{\"type\": \"i32\", \"value\": \"-1\"}", false, &v), SPRY_EINVAL);
    ASSERT_EQ_INT(value_of("{\"type\": \"i32\", \"value\": \"\"}", false, &v), SPRY_EINVAL);
    ASSERT_EQ_INT(value_of("{\"type\": \"i32\", \"value\": 1}", false, &v), SPRY_EINVAL);
    ASSERT_OK(value_of("{\"type\": \"i64\", \"value\": \"18446744073709551615\"}", false, &v));
    spec_value_to_val(&v, &val);
    ASSERT_EQ_INT(val.of.i64, -1);
    ASSERT_EQ_INT(value_of("{\"type\": \"i64\", \"value\": \"18446744073709551616\"}", false, &v),
                  SPRY_EINVAL);
    ASSERT_EQ_INT(value_of("{\"type\": \"v128\", \"value\": \"0\"}", false, &v), SPRY_EUNSUPPORTED);
    ASSERT_EQ_INT(value_of("{\"type\": \"i16\", \"value\": \"0\"}", false, &v), SPRY_EINVAL);
}

TEST(spec_value, exact_floats_compare_bits)
{
    struct spec_value v;
    ASSERT_OK(value_of("{\"type\": \"f32\", \"value\": \"1065353216\"}", true, &v));
    struct spry_val one = {.type = SPRY_F32, .of.f32_bits = 0x3f800000};
    ASSERT_TRUE(spec_value_matches(&v, &one));
    struct spry_val neg = {.type = SPRY_F32, .of.f32_bits = 0xbf800000};
    ASSERT_FALSE(spec_value_matches(&v, &neg));
    struct spry_val wrong_type = {.type = SPRY_I32, .of.i32 = 0x3f800000};
    ASSERT_FALSE(spec_value_matches(&v, &wrong_type));
    /* -0.0 and +0.0 differ; a NaN with a given payload must match exactly. */
    ASSERT_OK(value_of("{\"type\": \"f64\", \"value\": \"9223372036854775808\"}", true, &v));
    struct spry_val pz = {.type = SPRY_F64, .of.f64_bits = 0};
    struct spry_val nz = {.type = SPRY_F64, .of.f64_bits = 0x8000000000000000u};
    ASSERT_FALSE(spec_value_matches(&v, &pz));
    ASSERT_TRUE(spec_value_matches(&v, &nz));
    ASSERT_OK(
        value_of("{\"type\": \"f32\", \"value\": \"2141192192\"}", true, &v)); /* 0x7fa00000 */
    struct spry_val nan = {.type = SPRY_F32, .of.f32_bits = 0x7fa00000};
    struct spry_val qnan = {.type = SPRY_F32, .of.f32_bits = 0x7fc00000};
    ASSERT_TRUE(spec_value_matches(&v, &nan));
    ASSERT_FALSE(spec_value_matches(&v, &qnan));
}

TEST(spec_value, nan_patterns)
{
    struct spec_value canon32, arith32, canon64, arith64;
    ASSERT_OK(value_of("{\"type\": \"f32\", \"value\": \"nan:canonical\"}", true, &canon32));
    ASSERT_OK(value_of("{\"type\": \"f32\", \"value\": \"nan:arithmetic\"}", true, &arith32));
    ASSERT_OK(value_of("{\"type\": \"f64\", \"value\": \"nan:canonical\"}", true, &canon64));
    ASSERT_OK(value_of("{\"type\": \"f64\", \"value\": \"nan:arithmetic\"}", true, &arith64));
    struct spec_value v;
    ASSERT_EQ_INT(value_of("{\"type\": \"f32\", \"value\": \"nan:canonical\"}", false, &v),
                  SPRY_EINVAL); /* not as an argument */

    static const struct {
        uint32_t bits;
        bool canonical, arithmetic;
    } f32[] = {
        {0x7fc00000, true, true},   {0xffc00000, true, true},   {0x7fc00001, false, true},
        {0xffe00000, false, true},  {0x7fa00000, false, false}, {0x7f800001, false, false},
        {0x7f800000, false, false}, {0x3f800000, false, false},
    };
    for (size_t i = 0; i < sizeof(f32) / sizeof(f32[0]); i++) {
        struct spry_val val = {.type = SPRY_F32, .of.f32_bits = f32[i].bits};
        ASSERT_EQ_INT(spec_value_matches(&canon32, &val), f32[i].canonical);
        ASSERT_EQ_INT(spec_value_matches(&arith32, &val), f32[i].arithmetic);
    }
    static const struct {
        uint64_t bits;
        bool canonical, arithmetic;
    } f64[] = {
        {0x7ff8000000000000u, true, true},   {0xfff8000000000000u, true, true},
        {0x7ff8000000000001u, false, true},  {0xfffc000000000000u, false, true},
        {0x7ff4000000000000u, false, false}, {0x7ff0000000000000u, false, false},
        {0x7fc0000000000000u, false, false},
    };
    for (size_t i = 0; i < sizeof(f64) / sizeof(f64[0]); i++) {
        struct spry_val val = {.type = SPRY_F64, .of.f64_bits = f64[i].bits};
        ASSERT_EQ_INT(spec_value_matches(&canon64, &val), f64[i].canonical);
        ASSERT_EQ_INT(spec_value_matches(&arith64, &val), f64[i].arithmetic);
    }
    struct spry_val f32nan = {.type = SPRY_F32, .of.f32_bits = 0x7fc00000};
    ASSERT_FALSE(spec_value_matches(&canon64, &f32nan));
}

TEST(spec_value, references)
{
    struct spec_value v;
    struct spry_val val;
    ASSERT_OK(value_of("{\"type\": \"externref\", \"value\": \"0\"}", false, &v));
    spec_value_to_val(&v, &val);
    ASSERT_EQ_INT(val.type, SPRY_EXTERNREF);
    ASSERT_TRUE(val.of.ref == spec_externref(0));
    ASSERT_NOT_NULL(val.of.ref); /* ref.extern 0 is not null */
    ASSERT_TRUE(spec_value_matches(&v, &val));
    struct spry_val other = {.type = SPRY_EXTERNREF, .of.ref = spec_externref(1)};
    ASSERT_FALSE(spec_value_matches(&v, &other));

    ASSERT_OK(value_of("{\"type\": \"externref\", \"value\": \"null\"}", true, &v));
    struct spry_val null_ext = {.type = SPRY_EXTERNREF, .of.ref = NULL};
    ASSERT_TRUE(spec_value_matches(&v, &null_ext));
    ASSERT_FALSE(spec_value_matches(&v, &other));
    struct spry_val null_func = {.type = SPRY_FUNCREF, .of.ref = NULL};
    ASSERT_FALSE(spec_value_matches(&v, &null_func)); /* the type matters */

    ASSERT_OK(value_of("{\"type\": \"funcref\", \"value\": \"null\"}", false, &v));
    spec_value_to_val(&v, &val);
    ASSERT_EQ_INT(val.type, SPRY_FUNCREF);
    ASSERT_NULL(val.of.ref);
    ASSERT_TRUE(spec_value_matches(&v, &null_func));
    ASSERT_EQ_INT(value_of("{\"type\": \"funcref\", \"value\": \"3\"}", false, &v), SPRY_EINVAL);
    ASSERT_OK(value_of("{\"type\": \"funcref\", \"value\": \"3\"}", true, &v));
    struct spry_val some_func = {.type = SPRY_FUNCREF, .of.ref = &v};
    ASSERT_TRUE(spec_value_matches(&v, &some_func));
    ASSERT_FALSE(spec_value_matches(&v, &null_func));
}

TEST(spec_value, formatting)
{
    char buf[64];
    struct spry_val val = {.type = SPRY_I32, .of.i32 = -1};
    spec_val_format(&val, buf, sizeof(buf));
    ASSERT_EQ_STR(buf, "i32:4294967295");
    val = (struct spry_val){.type = SPRY_F32, .of.f32_bits = 0x3f800000};
    spec_val_format(&val, buf, sizeof(buf));
    ASSERT_EQ_STR(buf, "f32:0x3f800000 (1)");
    val = (struct spry_val){.type = SPRY_EXTERNREF, .of.ref = spec_externref(7)};
    spec_val_format(&val, buf, sizeof(buf));
    ASSERT_EQ_STR(buf, "externref:7");
    struct spec_value v = {.type = SPRY_F64, .pattern = SPEC_NAN_ARITHMETIC};
    spec_value_format(&v, buf, sizeof(buf));
    ASSERT_EQ_STR(buf, "f64:nan:arithmetic");
    v = (struct spec_value){.type = SPRY_I64, .bits = 5};
    spec_value_format(&v, buf, sizeof(buf));
    ASSERT_EQ_STR(buf, "i64:5");
}

TEST(spec_value, message_matching)
{
    ASSERT_TRUE(spec_message_matches("unknown import", "unknown import"));
    ASSERT_TRUE(spec_message_matches("uninitialized element 2", "uninitialized element"));
    ASSERT_TRUE(spec_message_matches("offset 12: unexpected end", "unexpected end"));
    ASSERT_TRUE(spec_message_matches("section 3: offset 12: type mismatch", "type mismatch"));
    ASSERT_TRUE(spec_message_matches("anything", ""));
    ASSERT_FALSE(spec_message_matches("uninitialized element", "uninitialized element 2"));
    ASSERT_FALSE(spec_message_matches("an unexpected end", "unexpected end"));
    ASSERT_FALSE(spec_message_matches("", "unexpected end"));
}

/* ---- skip list ---------------------------------------------------------- */

TEST(spec_skip, parse_and_match)
{
    const char *text = "# comment\n\n"
                       "simd_*.wast  SIMD is later\n"
                       "  *.wat\ttext modules: no parser  \r\n"
                       "exact.wast reason";
    struct skip_list list;
    struct spry_report report;
    spry_report_init(&report);
    ASSERT_OK(skip_list_parse(&list, text, strlen(text), &report));
    ASSERT_EQ_UINT(list.count, 3);
    ASSERT_EQ_STR(skip_list_match(&list, "simd_f32x4.wast"), "SIMD is later");
    ASSERT_EQ_STR(skip_list_match(&list, "binary.12.wat"), "text modules: no parser");
    ASSERT_EQ_STR(skip_list_match(&list, "exact.wast"), "reason");
    ASSERT_NULL(skip_list_match(&list, "i32.wast"));
    ASSERT_NULL(skip_list_match(&list, "binary.12.wasm"));
    ASSERT_NULL(skip_list_match(&list, "simd_f32x4.0.wasm"));
    skip_list_fini(&list);
}

TEST(spec_skip, entry_without_reason_is_an_error)
{
    const char *text = "ok.wast fine\nbare.wast   \n";
    struct skip_list list;
    struct spry_report report;
    spry_report_init(&report);
    ASSERT_EQ_INT(skip_list_parse(&list, text, strlen(text), &report), SPRY_EMALFORMED);
    ASSERT_TRUE(strstr(report.message, "line 2") != NULL);
    ASSERT_EQ_UINT(list.count, 0);
}

TEST(spec_skip, checked_in_list_parses)
{
    struct skip_list list;
    struct spry_report report;
    spry_report_init(&report);
    int rc = skip_list_load(&list, test_src_path("tests/spec/skip.txt"), &report);
    if (rc != 0)
        fprintf(stderr, "%s\n", report.message);
    ASSERT_OK(rc);
    ASSERT_NOT_NULL(skip_list_match(&list, "simd_address.wast"));
    ASSERT_NOT_NULL(skip_list_match(&list, "binary.3.wat"));
    ASSERT_NULL(skip_list_match(&list, "binary.3.wasm"));
    ASSERT_NULL(skip_list_match(&list, "i32.wast"));
    skip_list_fini(&list);
}

TEST(spec_skip, message_list_values)
{
    char text[32];
    ASSERT_OK(skip_value_text("type mismatch | wabt encodes it as 0x1b", text, sizeof(text)));
    ASSERT_EQ_STR(text, "type mismatch");
    ASSERT_EQ_INT(skip_value_text("no separator", text, sizeof(text)), SPRY_EMALFORMED);
    ASSERT_EQ_INT(skip_value_text(" | why", text, sizeof(text)), SPRY_EMALFORMED);
    ASSERT_EQ_INT(skip_value_text("text | ", text, sizeof(text)), SPRY_EMALFORMED);
    ASSERT_EQ_INT(skip_value_text("a text far too long for the buffer | why", text, 8),
                  SPRY_ETOOBIG);
}

TEST(spec_skip, checked_in_message_list_parses)
{
    struct skip_list list;
    struct spry_report report;
    spry_report_init(&report);
    int rc = skip_list_load(&list, test_src_path("tests/spec/messages.txt"), &report);
    if (rc == 0)
        rc = skip_list_check_messages(&list, &report);
    if (rc != 0)
        fprintf(stderr, "%s\n", report.message);
    ASSERT_OK(rc);
    skip_list_fini(&list);
}

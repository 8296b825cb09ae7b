/* The TOML parser: values, positions, the table rules, errors, limits and
 * allocation failure. (Conformance as a whole is the toml suite.) */
#include "harness/test.h"

#include "app/toml.h"
#include "base/alloc.h"
#include "base/buf.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static struct toml_doc *parse_ok(const char *text)
{
    struct spry_report report;
    spry_report_init(&report);
    struct toml_doc *doc = NULL;
    int rc = toml_parse(text, strlen(text), "t.toml", NULL, &doc, &report);
    if (rc != 0)
        fprintf(stderr, "%s\n", report.message);
    ASSERT_OK(rc);
    return doc;
}

/* Parses text that must fail with `code`; returns the message (static). */
static const char *parse_fail(const char *text, size_t len, const struct toml_limits *limits,
                              int code)
{
    static struct spry_report report;
    spry_report_init(&report);
    struct toml_doc *doc = NULL;
    int rc = toml_parse(text, len, "t.toml", limits, &doc, &report);
    ASSERT_EQ_INT(rc, code);
    ASSERT_NULL(doc);
    return report.message;
}

static const char *error_of(const char *text)
{
    return parse_fail(text, strlen(text), NULL, SPRY_EMALFORMED);
}

static const struct toml_value *get(const struct toml_doc *doc, const char *key)
{
    const struct toml_keyval *kv = toml_table_find(toml_doc_root(doc), key);
    ASSERT_NOT_NULL(kv);
    return &kv->value;
}

TEST(toml, scalars_have_their_types_and_values)
{
    struct toml_doc *doc = parse_ok("i = -9223372036854775808\n"
                                    "j = 0x7fff_ffff_ffff_ffff\n"
                                    "o = 0o17\nb = 0b101\n"
                                    "f = 6.25e-1\nn = -nan\np = +inf\n"
                                    "t = true\n"
                                    "odt = 1979-05-27 07:32:00.5-07:00\n"
                                    "ldt = 1979-05-27T07:32:00\n"
                                    "ld = 2000-02-29\nlt = 23:59:60\n");
    ASSERT_EQ_INT(get(doc, "i")->type, TOML_INTEGER);
    ASSERT_TRUE(get(doc, "i")->u.integer == INT64_MIN);
    ASSERT_TRUE(get(doc, "j")->u.integer == INT64_MAX);
    ASSERT_EQ_INT(get(doc, "o")->u.integer, 15);
    ASSERT_EQ_INT(get(doc, "b")->u.integer, 5);
    ASSERT_TRUE(get(doc, "f")->u.real == 0.625);
    ASSERT_TRUE(isnan(get(doc, "n")->u.real));
    ASSERT_TRUE(isinf(get(doc, "p")->u.real) && get(doc, "p")->u.real > 0);
    ASSERT_TRUE(get(doc, "t")->u.boolean);
    ASSERT_EQ_INT(get(doc, "odt")->type, TOML_DATETIME);
    ASSERT_EQ_STR(get(doc, "odt")->u.str.ptr, "1979-05-27 07:32:00.5-07:00");
    ASSERT_EQ_INT(get(doc, "ldt")->type, TOML_DATETIME_LOCAL);
    ASSERT_EQ_INT(get(doc, "ld")->type, TOML_DATE_LOCAL);
    ASSERT_EQ_INT(get(doc, "lt")->type, TOML_TIME_LOCAL);
    toml_doc_destroy(doc);
}

TEST(toml, strings_unescape_and_keep_nul_bytes)
{
    struct toml_doc *doc = parse_ok("a = \"x\\u0000y\\U0001F600\\t\"\n"
                                    "b = '''\nraw \\n'''\n"
                                    "c = \"\"\"\r\none \\\n    two\r\nthree\"\"\"\"\"\n");
    const struct toml_value *a = get(doc, "a");
    ASSERT_EQ_UINT(a->u.str.len, 8);
    ASSERT_EQ_MEM(a->u.str.ptr, "x\0y\xF0\x9F\x98\x80\t", 9);
    ASSERT_EQ_STR(get(doc, "b")->u.str.ptr, "raw \\n");
    ASSERT_EQ_STR(get(doc, "c")->u.str.ptr, "one two\nthree\"\"");
    toml_doc_destroy(doc);
}

TEST(toml, keys_keep_source_order_and_positions_count_characters)
{
    struct toml_doc *doc = parse_ok("zeta = 1\nalpha = \"é\" \n  \"q é\" = [1,\n 2]\n");
    const struct toml_table *root = toml_doc_root(doc);
    ASSERT_EQ_UINT(root->len, 3);
    ASSERT_EQ_STR(root->items[0].key, "zeta");
    ASSERT_EQ_STR(root->items[1].key, "alpha");
    ASSERT_EQ_STR(root->items[2].key, "q é");
    ASSERT_EQ_UINT(root->items[1].value.line, 2);
    ASSERT_EQ_UINT(root->items[1].value.col, 9);
    ASSERT_EQ_UINT(root->items[2].line, 3);
    ASSERT_EQ_UINT(root->items[2].col, 3);
    ASSERT_EQ_UINT(root->items[2].value.col, 11);
    const struct toml_array *arr = root->items[2].value.u.arr;
    ASSERT_EQ_UINT(arr->items[1].line, 4);
    ASSERT_EQ_UINT(arr->items[1].col, 2);
    toml_doc_destroy(doc);
}

TEST(toml, errors_name_file_line_and_column)
{
    ASSERT_EQ_STR(error_of("a = 1\nb = 2\n  a = 3\n"), "t.toml:3:3: key 'a' is defined twice");
    ASSERT_EQ_STR(error_of("x = \"é\" 2\n"), "t.toml:1:9: expected the end of the line");
    ASSERT_EQ_STR(error_of("[a]\n[a]\n"), "t.toml:2:2: key 'a' is a table defined twice");
    ASSERT_EQ_STR(error_of("a = 9223372036854775808\n"),
                  "t.toml:1:5: integer does not fit in 64 bits");
    ASSERT_EQ_STR(error_of("d = 2001-02-29\n"), "t.toml:1:5: day 29 is out of range for 2001-02");
    ASSERT_EQ_STR(error_of("s = \"a\\qb\"\n"), "t.toml:1:7: invalid escape sequence \\q");
    ASSERT_EQ_STR(error_of("s = \"\\uD800\"\n"),
                  "t.toml:1:6: \\u escape is not a Unicode scalar value");
    ASSERT_EQ_STR(error_of("n = 1__0\n"),
                  "t.toml:1:6: an underscore must stand between two digits");
    ASSERT_EQ_STR(error_of("n = 012\n"),
                  "t.toml:1:5: leading zeros are not allowed in a decimal number");
    ASSERT_EQ_STR(error_of("a = \"x\r\n"), "t.toml:1:7: newline in a single-line string");
    ASSERT_EQ_STR(error_of("a = 1\r\r\n"),
                  "t.toml:1:6: carriage return not followed by a line feed");
    ASSERT_EQ_STR(error_of("a = { b = 1,\n}"),
                  "t.toml:1:13: newline in an inline table (it must be on one line)");
}

TEST(toml, invalid_utf8_is_rejected_with_position)
{
    ASSERT_EQ_STR(error_of("a = 1\nb = \"\xC0\x80\"\n"),
                  "t.toml:2:6: invalid UTF-8 (overlong form, surrogate or out of range)");
    ASSERT_EQ_STR(error_of("# \xED\xA0\x80\n"),
                  "t.toml:1:3: invalid UTF-8 (overlong form, surrogate or out of range)");
    ASSERT_EQ_STR(error_of("a = \"\xE2\x82\""), "t.toml:1:6: invalid UTF-8");
}

TEST(toml, inline_tables_are_immutable)
{
    ASSERT_EQ_STR(error_of("a = { b = 1 }\na.c = 2\n"),
                  "t.toml:2:1: key 'a' is an inline table, which cannot be extended");
    ASSERT_EQ_STR(error_of("a = { b = 1 }\n[a.c]\n"),
                  "t.toml:2:2: key 'a' is an inline table, which cannot be extended");
    ASSERT_EQ_STR(error_of("a = { b = { c = 1 }, b.d = 2 }\n"),
                  "t.toml:1:22: key 'b' is an inline table, which cannot be extended");
    /* Dotted keys inside one inline table build it up. */
    struct toml_doc *doc = parse_ok("a = { b.c = 1, b.d = 2 }\n");
    const struct toml_table *b = get(doc, "a")->u.tab->items[0].value.u.tab;
    ASSERT_EQ_UINT(b->len, 2);
    toml_doc_destroy(doc);
}

TEST(toml, headers_and_dotted_keys_follow_the_definition_rules)
{
    /* A header may walk through a table dotted keys made, but not redefine it. */
    struct toml_doc *doc = parse_ok("[fruit]\napple.color = 'red'\n[fruit.apple.texture]\n"
                                    "smooth = true\n[x.y]\n[x]\nz = 1\n");
    toml_doc_destroy(doc);
    ASSERT_EQ_STR(error_of("[fruit]\napple.color = 'red'\n[fruit.apple]\n"),
                  "t.toml:3:8: key 'apple' is a table defined twice");
    ASSERT_EQ_STR(error_of("[a.b]\nz = 1\n[a]\nb.y = 2\n"),
                  "t.toml:4:1: key 'b' is a table defined by a [header]; dotted keys cannot add "
                  "to it");
    ASSERT_EQ_STR(error_of("a = [1]\n[[a]]\n"),
                  "t.toml:2:3: key 'a' is a static array; [[array]] cannot append to it");
    ASSERT_EQ_STR(error_of("[[a]]\n[a]\n"),
                  "t.toml:2:2: key 'a' is an array; [table] cannot redefine it");
}

TEST(toml, arrays_of_tables_collect_elements)
{
    struct toml_doc *doc = parse_ok("[[p]]\nn = 1\n[p.sub]\nq = 1\n[[p]]\nn = 2\n");
    const struct toml_array *p = get(doc, "p")->u.arr;
    ASSERT_TRUE(p->of_tables);
    ASSERT_EQ_UINT(p->len, 2);
    ASSERT_EQ_INT(toml_table_find(p->items[0].u.tab, "sub")->value.type, TOML_TABLE);
    ASSERT_EQ_INT(toml_table_find(p->items[1].u.tab, "n")->value.u.integer, 2);
    toml_doc_destroy(doc);
}

/* Regression: keys appended after the hash index was built were not added
 * to it, so lookups missed them and duplicates went unnoticed. */
TEST(toml, duplicate_key_detected_in_indexed_table)
{
    struct spry_buf b;
    spry_buf_init(&b, 1 << 20);
    for (int i = 0; i < 300; i++)
        ASSERT_OK(spry_buf_printf(&b, "k%d = %d\n", i, i));
    struct toml_doc *doc = parse_ok((const char *)b.data);
    for (int i = 0; i < 300; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        ASSERT_EQ_INT(get(doc, key)->u.integer, i);
    }
    toml_doc_destroy(doc);
    ASSERT_OK(spry_buf_append_str(&b, "k9 = 0\n"));
    ASSERT_EQ_STR(error_of((const char *)b.data), "t.toml:301:1: key 'k9' is defined twice");
    spry_buf_fini(&b);
}

TEST(toml, nesting_is_bounded_without_deep_recursion)
{
    /* 100,000 open brackets: rejected at the limit, not by a stack overflow.
     * `a` is at depth 1, so the 10th bracket (column 14) is the last allowed. */
    size_t n = 100000;
    char *text = spry_malloc(n + 8);
    ASSERT_NOT_NULL(text);
    memcpy(text, "a = ", 4);
    memset(text + 4, '[', n);
    struct toml_limits limits;
    toml_limits_default(&limits);
    limits.max_depth = 10;
    ASSERT_EQ_STR(parse_fail(text, n + 4, &limits, SPRY_ETOOBIG),
                  "t.toml:1:15: nested deeper than 10 levels");
    spry_free(text);
    /* Dotted keys and headers count toward the same depth. */
    parse_fail("a.b.c.d.e.f.g.h.i.j.k = 1", 25, &limits, SPRY_ETOOBIG);
    parse_fail("[a.b.c.d.e]\nf.g.h.i.j.k = 1", 27, &limits, SPRY_ETOOBIG);
    parse_fail("a.b.c.d.e = {f.g.h.i = {j = [1]}}", 33, &limits, SPRY_ETOOBIG);
}

TEST(toml, input_and_memory_limits)
{
    struct toml_limits limits;
    toml_limits_default(&limits);
    limits.max_input = 8;
    ASSERT_EQ_STR(parse_fail("a = 12345", 9, &limits, SPRY_ETOOBIG), "t.toml: larger than 8 bytes");
    toml_limits_default(&limits);
    limits.max_memory = 4096;
    struct spry_buf b;
    spry_buf_init(&b, 1 << 20);
    for (int i = 0; i < 200; i++)
        ASSERT_OK(spry_buf_printf(&b, "key%d = 'some text'\n", i));
    ASSERT_EQ_STR(parse_fail((const char *)b.data, b.len, &limits, SPRY_ETOOBIG),
                  "t.toml: the document needs more than 4096 bytes");
    spry_buf_fini(&b);
}

TEST(toml, allocation_failure_reports_nomem_and_leaks_nothing)
{
    /* Large enough to need several arena blocks. */
    struct spry_buf b;
    spry_buf_init(&b, 1 << 20);
    for (int i = 0; i < 2000; i++)
        ASSERT_OK(spry_buf_printf(&b, "k%d = 'value %d'\n", i, i));
    ASSERT_OK(spry_buf_append_str(&b, "[a.b]\nc = [1, 2, {d = 'e'}]\n[[f]]\ng = 1.5\n"));
    long n = 0;
    for (;; n++) {
        struct spry_report report;
        spry_report_init(&report);
        struct toml_doc *doc = NULL;
        spry_alloc_fail_after(n);
        int rc = toml_parse((const char *)b.data, b.len, "t.toml", NULL, &doc, &report);
        spry_alloc_fail_after(-1);
        if (rc == 0) {
            ASSERT_EQ_STR(get(doc, "k1999")->u.str.ptr, "value 1999");
            toml_doc_destroy(doc);
            break;
        }
        ASSERT_EQ_INT(rc, SPRY_ENOMEM);
        ASSERT_EQ_STR(report.message, "t.toml: out of memory");
        ASSERT_NULL(doc);
    }
    ASSERT_GT_INT(n, 3);
    spry_buf_fini(&b);
}

/* libFuzzer harness: parse arbitrary bytes as TOML and walk the tree. */
#include "app/toml.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Visits every value; the tree depth is bounded by max_depth (toml.h), so
 * this recursion is too. Checks that strings are NUL-terminated at len. */
static void walk(const struct toml_value *v, unsigned depth, unsigned max_depth)
{
    if (depth > max_depth)
        __builtin_trap();
    switch (v->type) {
    case TOML_ARRAY:
        for (size_t i = 0; i < v->u.arr->len; i++)
            walk(&v->u.arr->items[i], depth + 1, max_depth);
        break;
    case TOML_TABLE:
        for (size_t i = 0; i < v->u.tab->len; i++) {
            const struct toml_keyval *kv = &v->u.tab->items[i];
            if (kv->key[kv->key_len] != '\0' || kv->line == 0 || kv->col == 0)
                __builtin_trap();
            /* Every key is found again by lookup. */
            if (toml_table_find_n(v->u.tab, kv->key, kv->key_len) != kv)
                __builtin_trap();
            walk(&kv->value, depth + 1, max_depth);
        }
        break;
    case TOML_STRING:
    case TOML_DATETIME:
    case TOML_DATETIME_LOCAL:
    case TOML_DATE_LOCAL:
    case TOML_TIME_LOCAL:
        if (v->u.str.ptr[v->u.str.len] != '\0')
            __builtin_trap();
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct toml_limits limits;
    toml_limits_default(&limits);
    limits.max_depth = 32; /* small, so the depth checks are reached */
    struct spry_report report;
    spry_report_init(&report);
    struct toml_doc *doc = NULL;
    if (toml_parse((const char *)data, size, "fuzz.toml", &limits, &doc, &report) == 0) {
        struct toml_value root = {.type = TOML_TABLE, .line = 1, .col = 1};
        root.u.tab = (struct toml_table *)toml_doc_root(doc);
        walk(&root, 0, limits.max_depth);
        toml_doc_destroy(doc);
    } else if (strncmp(report.message, "fuzz.toml:", 10) != 0) {
        __builtin_trap(); /* every failure names the file and where */
    }
    return 0;
}

/* Typed, schema-checked access to the manifest's TOML tree (manifest_impl.h). */
#include "app/manifest_impl.h"

#include "base/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int mr_error(struct mreader *r, uint32_t line, uint32_t col, const char *path, const char *fmt, ...)
{
    char msg[SPRY_REPORT_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return spry_report_set(r->report, SPRY_EINVALID, "%s:%u:%u: %s: %s", r->file, line, col, path,
                           msg);
}

int mr_error_at(struct mreader *r, const struct toml_value *v, const char *path, const char *fmt,
                ...)
{
    char msg[SPRY_REPORT_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mr_error(r, v->line, v->col, path, "%s", msg);
}

void *mr_alloc(struct mreader *r, size_t count, size_t size)
{
    void *p = spry_arena_alloc_array(&r->owner->arena, count, size);
    if (p == NULL)
        spry_report_set(r->report, SPRY_ENOMEM, "%s: out of memory", r->file);
    return p;
}

char *mr_strdup(struct mreader *r, const char *s)
{
    size_t n = strlen(s);
    char *d = mr_alloc(r, n + 1, 1);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

char *mr_printf(struct mreader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *d = mr_alloc(r, (size_t)n + 1, 1);
    if (d == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return d;
}

static bool is_bare(const char *key)
{
    if (*key == '\0')
        return false;
    for (const char *c = key; *c != '\0'; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-'))
            return false;
    }
    return true;
}

const char *mr_path(char *buf, const char *prefix, const char *key)
{
    const char *dot = prefix[0] != '\0' ? "." : "";
    if (is_bare(key))
        snprintf(buf, MR_PATH_MAX, "%s%s%s", prefix, dot, key);
    else
        snprintf(buf, MR_PATH_MAX, "%s%s\"%s\"", prefix, dot, key);
    return buf;
}

const struct toml_value *mr_get(const struct toml_value *table, const char *key)
{
    const struct toml_keyval *kv = toml_table_find(table->u.tab, key);
    return kv != NULL ? &kv->value : NULL;
}

int mr_expect_table(struct mreader *r, const struct toml_value *v, const char *path)
{
    if (v->type != TOML_TABLE)
        return mr_error_at(r, v, path, "expected a table, found a %s", toml_type_name(v->type));
    return 0;
}

int mr_check_keys(struct mreader *r, const struct toml_value *table, const char *path,
                  const char *const *allowed)
{
    const struct toml_table *t = table->u.tab;
    for (size_t i = 0; i < t->len; i++) {
        const struct toml_keyval *kv = &t->items[i];
        bool known = false;
        for (const char *const *a = allowed; *a != NULL; a++) {
            if (strlen(*a) == kv->key_len && memcmp(*a, kv->key, kv->key_len) == 0)
                known = true;
        }
        if (known)
            continue;
        char list[256] = "";
        for (const char *const *a = allowed; *a != NULL; a++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", a == allowed ? "" : ", ", *a);
        }
        char sub[MR_PATH_MAX];
        return mr_error(r, kv->line, kv->col, mr_path(sub, path, kv->key),
                        "unknown key; expected one of: %s", list);
    }
    return 0;
}

static int missing(struct mreader *r, const struct toml_value *table, const char *path,
                   const char *what)
{
    return mr_error_at(r, table, path, "missing; expected %s", what);
}

int mr_string(struct mreader *r, const struct toml_value *table, const char *key, const char *path,
              bool required, const char **out)
{
    char sub[MR_PATH_MAX];
    mr_path(sub, path, key);
    const struct toml_value *v = mr_get(table, key);
    if (v == NULL)
        return required ? missing(r, table, sub, "a string") : 0;
    if (v->type != TOML_STRING)
        return mr_error_at(r, v, sub, "expected a string, found a %s", toml_type_name(v->type));
    if (strlen(v->u.str.ptr) != v->u.str.len)
        return mr_error_at(r, v, sub, "expected a string without NUL characters");
    *out = v->u.str.ptr;
    return 0;
}

int mr_bool(struct mreader *r, const struct toml_value *table, const char *key, const char *path,
            bool *out)
{
    char sub[MR_PATH_MAX];
    const struct toml_value *v = mr_get(table, key);
    if (v == NULL)
        return 0;
    if (v->type != TOML_BOOLEAN)
        return mr_error_at(r, v, mr_path(sub, path, key), "expected true or false, found a %s",
                           toml_type_name(v->type));
    *out = v->u.boolean;
    return 0;
}

int mr_string_array(struct mreader *r, const struct toml_value *table, const char *key,
                    const char *path, const char ***out, size_t *n)
{
    char sub[MR_PATH_MAX], item[MR_PATH_MAX + 24];
    mr_path(sub, path, key);
    const struct toml_value *v = mr_get(table, key);
    if (v == NULL)
        return 0;
    if (v->type != TOML_ARRAY)
        return mr_error_at(r, v, sub, "expected an array of strings, found a %s",
                           toml_type_name(v->type));
    const struct toml_array *a = v->u.arr;
    const char **list = mr_alloc(r, a->len + 1, sizeof *list);
    if (list == NULL)
        return r->report->code;
    for (size_t i = 0; i < a->len; i++) {
        const struct toml_value *e = &a->items[i];
        snprintf(item, sizeof item, "%s[%zu]", sub, i);
        if (e->type != TOML_STRING || strlen(e->u.str.ptr) != e->u.str.len)
            return mr_error_at(r, e, item, "expected a string, found a %s",
                               toml_type_name(e->type));
        list[i] = e->u.str.ptr;
    }
    *out = list;
    *n = a->len;
    return 0;
}

int mr_string_table(struct mreader *r, const struct toml_value *table, const char *key,
                    const char *path, struct manifest_pair **out, size_t *n)
{
    char sub[MR_PATH_MAX], item[MR_PATH_MAX];
    mr_path(sub, path, key);
    const struct toml_value *v = mr_get(table, key);
    if (v == NULL)
        return 0;
    int rc = mr_expect_table(r, v, sub);
    if (rc != 0)
        return rc;
    const struct toml_table *t = v->u.tab;
    struct manifest_pair *pairs = mr_alloc(r, t->len + 1, sizeof *pairs);
    if (pairs == NULL)
        return r->report->code;
    for (size_t i = 0; i < t->len; i++) {
        const struct toml_keyval *kv = &t->items[i];
        mr_path(item, sub, kv->key);
        if (kv->value.type != TOML_STRING || strlen(kv->value.u.str.ptr) != kv->value.u.str.len)
            return mr_error_at(r, &kv->value, item, "expected a string, found a %s",
                               toml_type_name(kv->value.type));
        pairs[i].key = kv->key;
        pairs[i].value = kv->value.u.str.ptr;
    }
    *out = pairs;
    *n = t->len;
    return 0;
}

bool mr_is_id(const char *s, char delim, bool lowercase_only)
{
    if (*s == '\0')
        return false;
    const char *w = s;
    for (;;) {
        const char *end = strchr(w, delim);
        size_t len = end != NULL ? (size_t)(end - w) : strlen(w);
        if (len == 0)
            return false;
        bool upper = w[0] >= 'A' && w[0] <= 'Z';
        bool lower = w[0] >= 'a' && w[0] <= 'z';
        if (!upper && !lower)
            return false;
        if (upper && lowercase_only)
            return false;
        for (size_t i = 1; i < len; i++) {
            char c = w[i];
            bool ok =
                (c >= '0' && c <= '9') || (upper ? (c >= 'A' && c <= 'Z') : (c >= 'a' && c <= 'z'));
            if (!ok)
                return false;
        }
        if (end == NULL)
            return true;
        w = end + 1;
    }
}

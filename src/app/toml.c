/*
 * TOML documents: lines, keys, tables and arrays (toml.io/en/v1.0.0).
 *
 * The document is read line by line: a line holds a [header], a
 * [[header]], a key/value pair, or nothing (blanks and a comment). Values
 * are parsed by parse_value, which recurses on arrays and inline tables with
 * the tree depth as its bound. Which table a key may be added to follows
 * enum toml_table_kind (toml.h); the rules are in header_resolve and
 * keyval_resolve.
 */
#include "app/toml_impl.h"

#include "base/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void toml_limits_default(struct toml_limits *limits)
{
    limits->max_input = 16u << 20;
    limits->max_depth = 100;
    limits->max_memory = 256u << 20;
}

const char *toml_type_name(enum toml_type type)
{
    switch (type) {
    case TOML_STRING:
        return "string";
    case TOML_INTEGER:
        return "integer";
    case TOML_FLOAT:
        return "float";
    case TOML_BOOLEAN:
        return "bool";
    case TOML_DATETIME:
        return "datetime";
    case TOML_DATETIME_LOCAL:
        return "datetime-local";
    case TOML_DATE_LOCAL:
        return "date-local";
    case TOML_TIME_LOCAL:
        return "time-local";
    case TOML_ARRAY:
        return "array";
    case TOML_TABLE:
        return "table";
    }
    return "?";
}

/* ---- positions and errors ---- */

static bool is_continuation(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

int tp_error(struct toml_parser *p, size_t off, const char *fmt, ...)
{
    /* Errors are rare: count from the start rather than trust the cache. */
    uint32_t line = 1, col = 1;
    for (size_t i = 0; i < off && i < p->len; i++) {
        unsigned char c = (unsigned char)p->src[i];
        if (c == '\n') {
            line++;
            col = 1;
        } else if (!is_continuation(c)) {
            col++;
        }
    }
    char msg[SPRY_REPORT_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return spry_report_set(p->report, SPRY_EMALFORMED, "%s:%u:%u: %s", p->name, line, col, msg);
}

void *tp_alloc(struct toml_parser *p, size_t count, size_t size)
{
    size_t total, used;
    if (spry_mul_overflow(count, size, &total) ||
        spry_add_overflow(p->doc->arena.used, total, &used) || used > p->limits.max_memory) {
        spry_report_set(p->report, SPRY_ETOOBIG, "%s: the document needs more than %zu bytes",
                        p->name, p->limits.max_memory);
        return NULL;
    }
    void *mem = spry_arena_alloc(&p->doc->arena, total);
    if (mem == NULL)
        spry_report_set(p->report, SPRY_ENOMEM, "%s: out of memory", p->name);
    return mem;
}

void tp_position(struct toml_parser *p, size_t off, uint32_t *line, uint32_t *col)
{
    size_t from = p->line_start;
    uint32_t c = 1;
    if (p->col_off >= p->line_start && p->col_off <= off) {
        from = p->col_off;
        c = p->col_num;
    }
    for (size_t i = from; i < off && i < p->len; i++) {
        if (!is_continuation((unsigned char)p->src[i]))
            c++;
    }
    p->col_off = off;
    p->col_num = c;
    *line = p->line;
    *col = c;
}

void tp_advance(struct toml_parser *p, size_t to)
{
    for (size_t i = p->pos; i < to; i++) {
        if (p->src[i] == '\n') {
            p->line++;
            p->line_start = i + 1;
        }
    }
    p->pos = to;
}

/* Rejects malformed UTF-8: overlong forms, surrogates, values past U+10FFFF
 * and truncated sequences. */
static int check_utf8(struct toml_parser *p)
{
    const unsigned char *s = (const unsigned char *)p->src;
    size_t i = 0;
    while (i < p->len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) {
            n = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return tp_error(p, i, "invalid UTF-8");
        }
        if (n > p->len - i)
            return tp_error(p, i, "invalid UTF-8 (truncated sequence)");
        for (size_t k = 1; k < n; k++) {
            if (!is_continuation(s[i + k]))
                return tp_error(p, i, "invalid UTF-8");
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return tp_error(p, i, "invalid UTF-8 (overlong form, surrogate or out of range)");
        i += n;
    }
    return 0;
}

/* ---- blanks, comments, newlines ---- */

static void skip_blanks(struct toml_parser *p)
{
    while (p->pos < p->len && (p->src[p->pos] == ' ' || p->src[p->pos] == '\t'))
        p->pos++;
}

/* A comment from '#' to the end of the line (the newline is left). */
static int skip_comment(struct toml_parser *p)
{
    while (p->pos < p->len && p->src[p->pos] != '\n') {
        unsigned char c = (unsigned char)p->src[p->pos];
        if (c == '\r' && tp_peek(p, 1) == '\n')
            break;
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return tp_error(p, p->pos, "control character U+%04X in a comment", c);
        p->pos++;
    }
    return 0;
}

/* Consumes a newline (LF or CRLF) when there is one. */
static int take_newline(struct toml_parser *p, bool *took)
{
    *took = false;
    if (tp_peek(p, 0) == '\n') {
        tp_advance(p, p->pos + 1);
        *took = true;
    } else if (tp_peek(p, 0) == '\r') {
        if (tp_peek(p, 1) != '\n')
            return tp_error(p, p->pos, "carriage return not followed by a line feed");
        tp_advance(p, p->pos + 2);
        *took = true;
    }
    return 0;
}

/* Blanks, comments and newlines, as allowed between array items. */
static int skip_space(struct toml_parser *p)
{
    for (;;) {
        skip_blanks(p);
        if (tp_peek(p, 0) == '#') {
            int rc = skip_comment(p);
            if (rc != 0)
                return rc;
        }
        bool took;
        int rc = take_newline(p, &took);
        if (rc != 0 || !took)
            return rc;
    }
}

/* ---- tables ---- */

static uint64_t key_hash(const char *key, size_t len)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211u;
    return h;
}

enum { INDEX_FROM = 8 };

const struct toml_keyval *toml_table_find_n(const struct toml_table *t, const char *key,
                                            size_t key_len)
{
    if (t->index != NULL) {
        size_t mask = t->index_cap - 1;
        for (size_t slot = key_hash(key, key_len) & mask;; slot = (slot + 1) & mask) {
            uint32_t at = t->index[slot];
            if (at == 0)
                return NULL;
            const struct toml_keyval *kv = &t->items[at - 1];
            if (kv->key_len == key_len && memcmp(kv->key, key, key_len) == 0)
                return kv;
        }
    }
    for (size_t i = 0; i < t->len; i++) {
        const struct toml_keyval *kv = &t->items[i];
        if (kv->key_len == key_len && memcmp(kv->key, key, key_len) == 0)
            return kv;
    }
    return NULL;
}

const struct toml_keyval *toml_table_find(const struct toml_table *t, const char *key)
{
    return toml_table_find_n(t, key, strlen(key));
}

static struct toml_keyval *table_find(struct toml_table *t, const char *key, size_t len)
{
    return (struct toml_keyval *)toml_table_find_n(t, key, len);
}

/* Called after each append: keeps the index at most half full, rebuilding it
 * whole when it grows. */
static int table_reindex(struct toml_parser *p, struct toml_table *t)
{
    if (t->len < INDEX_FROM)
        return 0;
    if (t->index != NULL && t->len * 2 <= t->index_cap) {
        /* Room left: add the newest item only. */
        size_t mask = t->index_cap - 1;
        const struct toml_keyval *kv = &t->items[t->len - 1];
        size_t slot = key_hash(kv->key, kv->key_len) & mask;
        while (t->index[slot] != 0)
            slot = (slot + 1) & mask;
        t->index[slot] = (uint32_t)t->len;
        return 0;
    }
    size_t cap = 16;
    while (cap < t->len * 4)
        cap *= 2;
    uint32_t *index = tp_alloc(p, cap, sizeof *index);
    if (index == NULL)
        return p->report->code;
    for (size_t i = 0; i < t->len; i++) {
        size_t slot = key_hash(t->items[i].key, t->items[i].key_len) & (cap - 1);
        while (index[slot] != 0)
            slot = (slot + 1) & (cap - 1);
        index[slot] = (uint32_t)(i + 1);
    }
    t->index = index;
    t->index_cap = cap;
    return 0;
}

/* A key as parsed: text (not NUL-terminated when bare) and where it starts. */
struct key_part {
    const char *s;
    size_t len;
    bool bare;
    uint32_t line, col;
};

/* Appends key = value (the key not yet present) and returns the new entry. */
static int table_add(struct toml_parser *p, struct toml_table *t, const struct key_part *key,
                     const struct toml_value *value, struct toml_keyval **out)
{
    if (t->len >= UINT32_MAX - 1)
        return spry_report_set(p->report, SPRY_ETOOBIG, "%s: too many keys in one table", p->name);
    if (t->len == t->cap) {
        size_t cap = t->cap == 0 ? 4 : t->cap * 2;
        /* The old array stays in the arena; growth by doubling bounds the waste. */
        struct toml_keyval *items = tp_alloc(p, cap, sizeof *items);
        if (items == NULL)
            return p->report->code;
        if (t->len > 0)
            memcpy(items, t->items, t->len * sizeof *items);
        t->items = items;
        t->cap = cap;
    }
    const char *name = key->s;
    if (key->bare) {
        char *copy = tp_alloc(p, key->len + 1, 1);
        if (copy == NULL)
            return p->report->code;
        memcpy(copy, key->s, key->len);
        name = copy;
    }
    struct toml_keyval *kv = &t->items[t->len++];
    kv->key = name;
    kv->key_len = key->len;
    kv->line = key->line;
    kv->col = key->col;
    kv->value = *value;
    int rc = table_reindex(p, t);
    if (rc != 0)
        return rc;
    *out = &t->items[t->len - 1];
    return 0;
}

static int depth_error(struct toml_parser *p, uint32_t line, uint32_t col)
{
    return spry_report_set(p->report, SPRY_ETOOBIG, "%s:%u:%u: nested deeper than %u levels",
                           p->name, line, col, p->limits.max_depth);
}

/* A new empty table under `parent` at `key`. */
static int table_new(struct toml_parser *p, struct toml_table *parent, const struct key_part *key,
                     enum toml_table_kind kind, struct toml_table **out)
{
    if (parent->depth + 1 > p->limits.max_depth)
        return depth_error(p, key->line, key->col);
    struct toml_table *t = tp_alloc(p, 1, sizeof *t);
    if (t == NULL)
        return p->report->code;
    t->kind = kind;
    t->depth = parent->depth + 1;
    struct toml_value v = {.type = TOML_TABLE, .line = key->line, .col = key->col};
    v.u.tab = t;
    struct toml_keyval *kv;
    int rc = table_add(p, parent, key, &v, &kv);
    if (rc != 0)
        return rc;
    *out = t;
    return 0;
}

static int key_error(struct toml_parser *p, const struct key_part *key, const char *what)
{
    return spry_report_set(p->report, SPRY_EMALFORMED, "%s:%u:%u: key '%.*s' %s", p->name,
                           key->line, key->col, (int)(key->len > 200 ? 200 : key->len), key->s,
                           what);
}

/* ---- keys ---- */

static bool is_bare_key_char(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* A simple or dotted key into parts[0..*n), at most max_depth parts. */
static int parse_key(struct toml_parser *p, struct key_part *parts, size_t *n)
{
    *n = 0;
    for (;;) {
        skip_blanks(p);
        struct key_part part = {0};
        tp_position(p, p->pos, &part.line, &part.col);
        int c = tp_peek(p, 0);
        if (c == '"' || c == '\'') {
            int rc = tp_string(p, false, &part.s, &part.len);
            if (rc != 0)
                return rc;
        } else if (is_bare_key_char(c)) {
            size_t start = p->pos;
            while (is_bare_key_char(tp_peek(p, 0)))
                p->pos++;
            part.s = p->src + start;
            part.len = p->pos - start;
            part.bare = true;
        } else {
            return tp_error(p, p->pos, "expected a key");
        }
        if (*n >= p->limits.max_depth)
            return depth_error(p, part.line, part.col);
        parts[(*n)++] = part;
        skip_blanks(p);
        if (tp_peek(p, 0) != '.')
            return 0;
        p->pos++;
    }
}

/* ---- values ---- */

static int parse_value(struct toml_parser *p, struct toml_value *v, unsigned depth);
static int parse_keyval(struct toml_parser *p, struct toml_table *base);

static int parse_array(struct toml_parser *p, struct toml_value *v, unsigned depth)
{
    struct toml_array *arr = tp_alloc(p, 1, sizeof *arr);
    if (arr == NULL)
        return p->report->code;
    p->pos++; /* '[' */
    for (;;) {
        int rc = skip_space(p);
        if (rc != 0)
            return rc;
        if (tp_peek(p, 0) == ']')
            break;
        struct toml_value item = {0};
        rc = parse_value(p, &item, depth + 1);
        if (rc != 0)
            return rc;
        if (arr->len == arr->cap) {
            size_t cap = arr->cap == 0 ? 4 : arr->cap * 2;
            struct toml_value *items = tp_alloc(p, cap, sizeof *items);
            if (items == NULL)
                return p->report->code;
            if (arr->len > 0)
                memcpy(items, arr->items, arr->len * sizeof *items);
            arr->items = items;
            arr->cap = cap;
        }
        arr->items[arr->len++] = item;
        rc = skip_space(p);
        if (rc != 0)
            return rc;
        if (tp_peek(p, 0) == ',') {
            p->pos++;
            continue;
        }
        if (tp_peek(p, 0) == ']')
            break;
        return tp_error(p, p->pos, "expected ',' or ']' in an array");
    }
    p->pos++; /* ']' */
    v->type = TOML_ARRAY;
    v->u.arr = arr;
    return 0;
}

static int parse_inline_table(struct toml_parser *p, struct toml_value *v, unsigned depth)
{
    struct toml_table *t = tp_alloc(p, 1, sizeof *t);
    if (t == NULL)
        return p->report->code;
    /* Dotted keys inside may build it up until the closing brace. */
    t->kind = TOML_TABLE_DOTTED;
    t->depth = depth;
    p->pos++; /* '{' */
    skip_blanks(p);
    if (tp_peek(p, 0) != '}') {
        for (;;) {
            if (tp_peek(p, 0) == '\n' || tp_peek(p, 0) == '\r')
                return tp_error(p, p->pos, "newline in an inline table (it must be on one line)");
            int rc = parse_keyval(p, t);
            if (rc != 0)
                return rc;
            skip_blanks(p);
            if (tp_peek(p, 0) == ',') {
                p->pos++;
                skip_blanks(p);
                if (tp_peek(p, 0) == '}')
                    return tp_error(p, p->pos, "trailing comma in an inline table");
                continue;
            }
            if (tp_peek(p, 0) == '}')
                break;
            if (tp_peek(p, 0) == '\n' || tp_peek(p, 0) == '\r')
                return tp_error(p, p->pos, "newline in an inline table (it must be on one line)");
            return tp_error(p, p->pos, "expected ',' or '}' in an inline table");
        }
    }
    p->pos++; /* '}' */
    t->kind = TOML_TABLE_INLINE;
    v->type = TOML_TABLE;
    v->u.tab = t;
    return 0;
}

/* A value at tree depth `depth` (bounded by max_depth; the recursion through
 * arrays and inline tables adds one per level). */
static int parse_value(struct toml_parser *p, struct toml_value *v, unsigned depth)
{
    tp_position(p, p->pos, &v->line, &v->col);
    if (depth > p->limits.max_depth)
        return depth_error(p, v->line, v->col);
    int c = tp_peek(p, 0);
    if (c == '"' || c == '\'') {
        v->type = TOML_STRING;
        return tp_string(p, true, &v->u.str.ptr, &v->u.str.len);
    }
    if (c == '[')
        return parse_array(p, v, depth);
    if (c == '{')
        return parse_inline_table(p, v, depth);
    if (c < 0 || c == '\n' || c == '\r' || c == '#')
        return tp_error(p, p->pos, "expected a value after '='");
    return tp_scalar(p, v);
}

/* ---- key/value pairs and headers ---- */

/* key = value in `base` (the current table or an inline table). Dotted key
 * parts may only walk through tables that dotted keys made (toml.io
 * "Keys": dotted keys create and extend tables, but never ones defined by a
 * header or written inline). */
static int parse_keyval(struct toml_parser *p, struct toml_table *base)
{
    struct key_part *parts = p->keys;
    size_t n;
    int rc = parse_key(p, parts, &n);
    if (rc != 0)
        return rc;
    struct toml_table *t = base;
    for (size_t i = 0; i + 1 < n; i++) {
        struct toml_keyval *kv = table_find(t, parts[i].s, parts[i].len);
        if (kv == NULL) {
            rc = table_new(p, t, &parts[i], TOML_TABLE_DOTTED, &t);
            if (rc != 0)
                return rc;
            continue;
        }
        if (kv->value.type != TOML_TABLE)
            return key_error(p, &parts[i], "is already defined as a value, not a table");
        if (kv->value.u.tab->kind == TOML_TABLE_INLINE)
            return key_error(p, &parts[i], "is an inline table, which cannot be extended");
        if (kv->value.u.tab->kind != TOML_TABLE_DOTTED)
            return key_error(p, &parts[i],
                             "is a table defined by a [header]; dotted keys cannot add to it");
        t = kv->value.u.tab;
    }
    /* The parts array is reused by nested inline tables: keep the last part. */
    struct key_part last = parts[n - 1];
    if (table_find(t, last.s, last.len) != NULL)
        return key_error(p, &last, "is defined twice");
    skip_blanks(p);
    if (tp_peek(p, 0) != '=')
        return tp_error(p, p->pos, "expected '=' after a key");
    p->pos++;
    skip_blanks(p);
    struct toml_value v = {0};
    rc = parse_value(p, &v, t->depth + 1);
    if (rc != 0)
        return rc;
    struct toml_keyval *kv;
    return table_add(p, t, &last, &v, &kv);
}

/* Finds or makes the table a [header] or [[header]] names. Prefix parts may
 * walk through any table that is not inline, and into the last table of an
 * array of tables; the last part must be new or an implicit table ([table])
 * or an array of tables ([[table]]). */
static int header_resolve(struct toml_parser *p, const struct key_part *parts, size_t n, bool aot,
                          struct toml_table **out)
{
    struct toml_table *t = &p->doc->root;
    int rc;
    for (size_t i = 0; i + 1 < n; i++) {
        struct toml_keyval *kv = table_find(t, parts[i].s, parts[i].len);
        if (kv == NULL) {
            rc = table_new(p, t, &parts[i], TOML_TABLE_IMPLICIT, &t);
            if (rc != 0)
                return rc;
            continue;
        }
        if (kv->value.type == TOML_ARRAY && kv->value.u.arr->of_tables) {
            struct toml_array *arr = kv->value.u.arr;
            t = arr->items[arr->len - 1].u.tab;
            continue;
        }
        if (kv->value.type != TOML_TABLE)
            return key_error(p, &parts[i], "is already defined as a value, not a table");
        if (kv->value.u.tab->kind == TOML_TABLE_INLINE)
            return key_error(p, &parts[i], "is an inline table, which cannot be extended");
        t = kv->value.u.tab;
    }
    const struct key_part *last = &parts[n - 1];
    struct toml_keyval *kv = table_find(t, last->s, last->len);
    if (!aot) {
        if (kv == NULL)
            return table_new(p, t, last, TOML_TABLE_HEADER, out);
        if (kv->value.type != TOML_TABLE)
            return key_error(p, last,
                             kv->value.type == TOML_ARRAY
                                 ? "is an array; [table] cannot redefine it"
                                 : "is already defined as a value, not a table");
        struct toml_table *found = kv->value.u.tab;
        if (found->kind != TOML_TABLE_IMPLICIT)
            return key_error(p, last, "is a table defined twice");
        found->kind = TOML_TABLE_HEADER;
        *out = found;
        return 0;
    }
    if (t->depth + 2 > p->limits.max_depth)
        return depth_error(p, last->line, last->col);
    struct toml_array *arr;
    if (kv == NULL) {
        arr = tp_alloc(p, 1, sizeof *arr);
        if (arr == NULL)
            return p->report->code;
        arr->of_tables = true;
        struct toml_value v = {.type = TOML_ARRAY, .line = last->line, .col = last->col};
        v.u.arr = arr;
        rc = table_add(p, t, last, &v, &kv);
        if (rc != 0)
            return rc;
    } else if (kv->value.type != TOML_ARRAY || !kv->value.u.arr->of_tables) {
        return key_error(p, last,
                         kv->value.type == TOML_ARRAY
                             ? "is a static array; [[array]] cannot append to it"
                             : "is already defined and is not an array of tables");
    }
    arr = kv->value.u.arr;
    struct toml_table *elem = tp_alloc(p, 1, sizeof *elem);
    if (elem == NULL)
        return p->report->code;
    elem->kind = TOML_TABLE_HEADER;
    elem->depth = t->depth + 2;
    if (arr->len == arr->cap) {
        size_t cap = arr->cap == 0 ? 4 : arr->cap * 2;
        struct toml_value *items = tp_alloc(p, cap, sizeof *items);
        if (items == NULL)
            return p->report->code;
        if (arr->len > 0)
            memcpy(items, arr->items, arr->len * sizeof *items);
        arr->items = items;
        arr->cap = cap;
    }
    struct toml_value ev = {.type = TOML_TABLE, .line = last->line, .col = last->col};
    ev.u.tab = elem;
    arr->items[arr->len++] = ev;
    *out = elem;
    return 0;
}

static int parse_header(struct toml_parser *p, struct toml_table **current)
{
    bool aot = tp_peek(p, 1) == '[';
    p->pos += aot ? 2 : 1;
    size_t n;
    int rc = parse_key(p, p->keys, &n);
    if (rc != 0)
        return rc;
    if (tp_peek(p, 0) != ']' || (aot && tp_peek(p, 1) != ']'))
        return tp_error(p, p->pos,
                        aot ? "expected ']]' to close the array-of-tables header"
                            : "expected ']' to close the table header");
    p->pos += aot ? 2 : 1;
    return header_resolve(p, p->keys, n, aot, current);
}

static int parse_document(struct toml_parser *p)
{
    struct toml_table *current = &p->doc->root;
    for (;;) {
        skip_blanks(p);
        if (p->pos >= p->len)
            return 0;
        int c = tp_peek(p, 0);
        int rc = 0;
        if (c == '[')
            rc = parse_header(p, &current);
        else if (c != '#' && c != '\n' && c != '\r')
            rc = parse_keyval(p, current);
        if (rc != 0)
            return rc;
        skip_blanks(p);
        if (tp_peek(p, 0) == '#') {
            rc = skip_comment(p);
            if (rc != 0)
                return rc;
        }
        if (p->pos >= p->len)
            return 0;
        bool took;
        rc = take_newline(p, &took);
        if (rc != 0)
            return rc;
        if (!took)
            return tp_error(p, p->pos, "expected the end of the line");
    }
}

int toml_parse(const char *text, size_t len, const char *name, const struct toml_limits *limits,
               struct toml_doc **out, struct spry_report *report)
{
    struct spry_report local;
    if (report == NULL) {
        spry_report_init(&local);
        report = &local;
    }
    struct toml_parser p = {
        .src = text, .len = len, .name = name, .line = 1, .col_num = 1, .report = report};
    if (limits != NULL)
        p.limits = *limits;
    else
        toml_limits_default(&p.limits);
    if (len > p.limits.max_input)
        return spry_report_set(report, SPRY_ETOOBIG, "%s: larger than %zu bytes", name,
                               p.limits.max_input);
    int rc = check_utf8(&p);
    if (rc != 0)
        return rc;
    struct toml_doc *doc = spry_calloc(1, sizeof *doc);
    if (doc == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "%s: out of memory", name);
    spry_arena_init(&doc->arena, SIZE_MAX);
    doc->root.kind = TOML_TABLE_HEADER;
    p.doc = doc;
    p.keys = tp_alloc(&p, (size_t)p.limits.max_depth + 1, sizeof *p.keys);
    if (p.keys == NULL) {
        rc = report->code;
        goto fail;
    }
    /* A byte order mark may start the document. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        p.pos = p.line_start = 3;
    rc = parse_document(&p);
    if (rc != 0)
        goto fail;
    *out = doc;
    return 0;
fail:
    toml_doc_destroy(doc);
    return rc;
}

void toml_doc_destroy(struct toml_doc *doc)
{
    if (doc == NULL)
        return;
    spry_arena_fini(&doc->arena);
    spry_free(doc);
}

const struct toml_table *toml_doc_root(const struct toml_doc *doc)
{
    return &doc->root;
}

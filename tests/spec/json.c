/* The JSON reader: a recursive-descent parser into an arena-backed tree. */
#include "spec/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Every node and string of a document lives in a list of chunks freed
 * together. Chunks grow to fit a large request, so any size fits. */
struct json_chunk {
    struct json_chunk *next;
    size_t used, cap;
    _Alignas(max_align_t) unsigned char data[];
};

struct json_doc {
    struct json_chunk *chunks;
    struct json_value root;
};

enum { CHUNK_MIN = 64 * 1024 };

static void *doc_alloc(struct json_doc *doc, size_t size)
{
    size_t align = _Alignof(max_align_t);
    size = (size + align - 1) & ~(align - 1);
    struct json_chunk *c = doc->chunks;
    if (c == NULL || c->cap - c->used < size) {
        size_t cap = size > CHUNK_MIN ? size : CHUNK_MIN;
        if (cap > SIZE_MAX - sizeof(*c))
            return NULL;
        c = malloc(sizeof(*c) + cap);
        if (c == NULL)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = doc->chunks;
        doc->chunks = c;
    }
    void *p = c->data + c->used;
    c->used += size;
    return p;
}

struct parser {
    const char *start, *pos, *end;
    struct json_doc *doc;
    struct spry_report *report;
    unsigned depth;
};

static int parse_value(struct parser *p, struct json_value *out);

static int fail(struct parser *p, int code, const char *what)
{
    unsigned line = 1, col = 1;
    for (const char *s = p->start; s < p->pos; s++) {
        if (*s == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return spry_report_set(p->report, code, "JSON %u:%u: %s", line, col, what);
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->end &&
           (*p->pos == ' ' || *p->pos == '\t' || *p->pos == '\n' || *p->pos == '\r'))
        p->pos++;
}

static bool take(struct parser *p, char c)
{
    if (p->pos < p->end && *p->pos == c) {
        p->pos++;
        return true;
    }
    return false;
}

static bool take_word(struct parser *p, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(p->end - p->pos) >= n && memcmp(p->pos, word, n) == 0) {
        p->pos += n;
        return true;
    }
    return false;
}

static int hex4(struct parser *p, uint32_t *out)
{
    if (p->end - p->pos < 4)
        return fail(p, SPRY_EMALFORMED, "truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->pos[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else
            return fail(p, SPRY_EMALFORMED, "bad hex digit in \\u escape");
        v = v * 16 + d;
    }
    p->pos += 4;
    *out = v;
    return 0;
}

static size_t put_utf8(char *dst, uint32_t cp)
{
    if (cp < 0x80) {
        dst[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        dst[0] = (char)(0xc0 | (cp >> 6));
        dst[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        dst[0] = (char)(0xe0 | (cp >> 12));
        dst[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        dst[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    dst[0] = (char)(0xf0 | (cp >> 18));
    dst[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    dst[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    dst[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Parses a string at p->pos (the opening quote). Unescaping never makes a
 * string longer than its source (a 6-byte \uXXXX gives at most 3 bytes, a
 * 12-byte surrogate pair 4), so the source length bounds the allocation. */
static int parse_string(struct parser *p, const char **out, size_t *out_len)
{
    if (!take(p, '"'))
        return fail(p, SPRY_EMALFORMED, "expected a string");
    const char *close = p->pos;
    while (close < p->end && *close != '"') {
        if (*close == '\\' && close + 1 < p->end)
            close++;
        close++;
    }
    if (close >= p->end)
        return fail(p, SPRY_EMALFORMED, "unterminated string");
    char *buf = doc_alloc(p->doc, (size_t)(close - p->pos) + 1);
    if (buf == NULL)
        return SPRY_ENOMEM;
    size_t n = 0;
    while (*p->pos != '"') {
        unsigned char c = (unsigned char)*p->pos;
        if (c < 0x20)
            return fail(p, SPRY_EMALFORMED, "control character in string");
        if (c != '\\') {
            buf[n++] = (char)c;
            p->pos++;
            continue;
        }
        p->pos++;
        char e = *p->pos++;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            buf[n++] = e;
            break;
        case 'b':
            buf[n++] = '\b';
            break;
        case 'f':
            buf[n++] = '\f';
            break;
        case 'n':
            buf[n++] = '\n';
            break;
        case 'r':
            buf[n++] = '\r';
            break;
        case 't':
            buf[n++] = '\t';
            break;
        case 'u': {
            uint32_t cp;
            int rc = hex4(p, &cp);
            if (rc != 0)
                return rc;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return fail(p, SPRY_EMALFORMED, "lone low surrogate");
            if (cp >= 0xd800 && cp <= 0xdbff) {
                uint32_t lo;
                if (!take(p, '\\') || !take(p, 'u'))
                    return fail(p, SPRY_EMALFORMED, "lone high surrogate");
                rc = hex4(p, &lo);
                if (rc != 0)
                    return rc;
                if (lo < 0xdc00 || lo > 0xdfff)
                    return fail(p, SPRY_EMALFORMED, "high surrogate without low surrogate");
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            n += put_utf8(buf + n, cp);
            break;
        }
        default:
            p->pos--;
            return fail(p, SPRY_EMALFORMED, "unknown escape");
        }
    }
    p->pos++; /* the closing quote */
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return 0;
}

static bool is_digit(const struct parser *p)
{
    return p->pos < p->end && *p->pos >= '0' && *p->pos <= '9';
}

static int parse_number(struct parser *p, struct json_value *out)
{
    const char *begin = p->pos;
    take(p, '-');
    if (take(p, '0')) {
        if (is_digit(p))
            return fail(p, SPRY_EMALFORMED, "leading zero in number");
    } else if (is_digit(p)) {
        while (is_digit(p))
            p->pos++;
    } else {
        return fail(p, SPRY_EMALFORMED, "expected a value");
    }
    if (take(p, '.')) {
        if (!is_digit(p))
            return fail(p, SPRY_EMALFORMED, "expected a digit after '.'");
        while (is_digit(p))
            p->pos++;
    }
    if (take(p, 'e') || take(p, 'E')) {
        if (!take(p, '+'))
            take(p, '-');
        if (!is_digit(p))
            return fail(p, SPRY_EMALFORMED, "expected a digit in exponent");
        while (is_digit(p))
            p->pos++;
    }
    size_t n = (size_t)(p->pos - begin);
    char *text = doc_alloc(p->doc, n + 1);
    if (text == NULL)
        return SPRY_ENOMEM;
    memcpy(text, begin, n);
    text[n] = '\0';
    out->type = JSON_NUMBER;
    out->len = n;
    out->of.str = text;
    return 0;
}

/* A growable scratch array for the elements of one array or object; moved
 * into the document once its size is known. Bounded by the input size: every
 * element takes at least one byte of text. */
struct scratch {
    void *data;
    size_t len, cap, elem;
};

static int scratch_push(struct scratch *s, const void *elem)
{
    if (s->len == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        if (cap > SIZE_MAX / s->elem)
            return SPRY_ENOMEM;
        void *d = realloc(s->data, cap * s->elem);
        if (d == NULL)
            return SPRY_ENOMEM;
        s->data = d;
        s->cap = cap;
    }
    memcpy((char *)s->data + s->len * s->elem, elem, s->elem);
    s->len++;
    return 0;
}

static void *scratch_move(struct parser *p, struct scratch *s)
{
    if (s->len == 0)
        return NULL;
    void *d = doc_alloc(p->doc, s->len * s->elem);
    if (d != NULL)
        memcpy(d, s->data, s->len * s->elem);
    return d;
}

static int parse_array(struct parser *p, struct json_value *out)
{
    struct scratch s = {.elem = sizeof(struct json_value)};
    int rc = 0;
    p->pos++; /* '[' */
    skip_ws(p);
    if (!take(p, ']')) {
        for (;;) {
            struct json_value v;
            rc = parse_value(p, &v);
            if (rc != 0)
                goto done;
            rc = scratch_push(&s, &v);
            if (rc != 0)
                goto done;
            skip_ws(p);
            if (take(p, ']'))
                break;
            if (!take(p, ',')) {
                rc = fail(p, SPRY_EMALFORMED, "expected ',' or ']'");
                goto done;
            }
        }
    }
    out->type = JSON_ARRAY;
    out->len = s.len;
    out->of.items = scratch_move(p, &s);
    if (s.len != 0 && out->of.items == NULL)
        rc = SPRY_ENOMEM;
done:
    free(s.data);
    return rc;
}

static int parse_object(struct parser *p, struct json_value *out)
{
    struct scratch s = {.elem = sizeof(struct json_member)};
    int rc = 0;
    p->pos++; /* '{' */
    skip_ws(p);
    if (!take(p, '}')) {
        for (;;) {
            struct json_member m;
            skip_ws(p);
            rc = parse_string(p, &m.key, &m.key_len);
            if (rc != 0)
                goto done;
            skip_ws(p);
            if (!take(p, ':')) {
                rc = fail(p, SPRY_EMALFORMED, "expected ':'");
                goto done;
            }
            rc = parse_value(p, &m.value);
            if (rc != 0)
                goto done;
            rc = scratch_push(&s, &m);
            if (rc != 0)
                goto done;
            skip_ws(p);
            if (take(p, '}'))
                break;
            if (!take(p, ',')) {
                rc = fail(p, SPRY_EMALFORMED, "expected ',' or '}'");
                goto done;
            }
        }
    }
    out->type = JSON_OBJECT;
    out->len = s.len;
    out->of.members = scratch_move(p, &s);
    if (s.len != 0 && out->of.members == NULL)
        rc = SPRY_ENOMEM;
done:
    free(s.data);
    return rc;
}

static int parse_value(struct parser *p, struct json_value *out)
{
    memset(out, 0, sizeof(*out));
    skip_ws(p);
    if (p->pos >= p->end)
        return fail(p, SPRY_EMALFORMED, "unexpected end of input");
    int rc;
    switch (*p->pos) {
    case '{':
    case '[':
        if (p->depth >= JSON_MAX_DEPTH)
            return fail(p, SPRY_ETOOBIG, "nesting too deep");
        p->depth++;
        rc = *p->pos == '{' ? parse_object(p, out) : parse_array(p, out);
        p->depth--;
        return rc;
    case '"':
        out->type = JSON_STRING;
        return parse_string(p, &out->of.str, &out->len);
    case 't':
        out->type = JSON_TRUE;
        return take_word(p, "true") ? 0 : fail(p, SPRY_EMALFORMED, "expected 'true'");
    case 'f':
        out->type = JSON_FALSE;
        return take_word(p, "false") ? 0 : fail(p, SPRY_EMALFORMED, "expected 'false'");
    case 'n':
        out->type = JSON_NULL;
        return take_word(p, "null") ? 0 : fail(p, SPRY_EMALFORMED, "expected 'null'");
    default:
        return parse_number(p, out);
    }
}

int json_parse(const char *text, size_t len, struct json_doc **out, struct spry_report *report)
{
    struct json_doc *doc = calloc(1, sizeof(*doc));
    if (doc == NULL)
        return SPRY_ENOMEM;
    struct parser p = {.start = text, .pos = text, .end = text + len, .doc = doc, .report = report};
    int rc = parse_value(&p, &doc->root);
    if (rc == 0) {
        skip_ws(&p);
        if (p.pos != p.end)
            rc = fail(&p, SPRY_EMALFORMED, "unexpected text after the value");
    }
    if (rc == SPRY_ENOMEM)
        spry_report_set(report, rc, "JSON: out of memory");
    if (rc != 0) {
        json_doc_destroy(doc);
        return rc;
    }
    *out = doc;
    return 0;
}

void json_doc_destroy(struct json_doc *doc)
{
    if (doc == NULL)
        return;
    struct json_chunk *c = doc->chunks;
    while (c != NULL) {
        struct json_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(doc);
}

const struct json_value *json_doc_root(const struct json_doc *doc)
{
    return &doc->root;
}

const struct json_value *json_get(const struct json_value *obj, const char *key)
{
    if (obj == NULL || obj->type != JSON_OBJECT)
        return NULL;
    size_t n = strlen(key);
    for (size_t i = 0; i < obj->len; i++) {
        const struct json_member *m = &obj->of.members[i];
        if (m->key_len == n && memcmp(m->key, key, n) == 0)
            return &m->value;
    }
    return NULL;
}

const char *json_get_str(const struct json_value *obj, const char *key, size_t *len)
{
    const struct json_value *v = json_get(obj, key);
    if (v == NULL || v->type != JSON_STRING)
        return NULL;
    if (len != NULL)
        *len = v->len;
    return v->of.str;
}

bool json_str_is(const struct json_value *v, const char *s)
{
    return v != NULL && v->type == JSON_STRING && v->len == strlen(s) &&
           memcmp(v->of.str, s, v->len) == 0;
}

int json_uint(const struct json_value *v, unsigned long long max, unsigned long long *out)
{
    if (v == NULL || v->type != JSON_NUMBER || v->len == 0)
        return SPRY_EINVAL;
    unsigned long long n = 0;
    for (size_t i = 0; i < v->len; i++) {
        char c = v->of.str[i];
        if (c < '0' || c > '9')
            return SPRY_EINVAL;
        unsigned d = (unsigned)(c - '0');
        if (d > max || n > (max - d) / 10)
            return SPRY_EINVAL;
        n = n * 10 + d;
    }
    *out = n;
    return 0;
}

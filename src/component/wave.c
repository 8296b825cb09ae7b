/*
 * WAVE text to component values and back (wave.h says what the syntax is).
 *
 * The parser reads the text once, left to right, with the expected type in
 * hand: every token is checked against the type as it is read, so an
 * ill-typed argument is reported at its column. Invariant: p->pos <= p->len
 * at all times; every read checks pos < len first.
 */
#include "component/wave.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WAVE_MAX_DEPTH = 100, WAVE_MAX_FLOAT_TEXT = 4096 };

struct wp {
    const char *s;
    size_t len, pos;
    struct spry_arena *arena;
    struct spry_report *report;
    unsigned depth;
};

static int fail(struct wp *p, size_t at, const char *what)
{
    return spry_report_set(p->report, SPRY_EINVAL, "column %zu: %s", at + 1, what);
}

static int fail_expected(struct wp *p, const char *what)
{
    char msg[160];
    if (p->pos >= p->len)
        snprintf(msg, sizeof msg, "expected %s, found the end of the text", what);
    else
        snprintf(msg, sizeof msg, "expected %s", what);
    return fail(p, p->pos, msg);
}

static int nomem(struct wp *p)
{
    return spry_report_set(p->report, SPRY_ENOMEM, "out of memory parsing the arguments");
}

static int peek(const struct wp *p)
{
    return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

/* Whitespace and // comments. */
static void skip_ws(struct wp *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            p->pos++;
        } else if (c == '/' && p->pos + 1 < p->len && p->s[p->pos + 1] == '/') {
            while (p->pos < p->len && p->s[p->pos] != '\n')
                p->pos++;
        } else {
            break;
        }
    }
}

/* Skips whitespace, then consumes c if it is next. */
static bool accept(struct wp *p, char c)
{
    skip_ws(p);
    if (peek(p) == (unsigned char)c) {
        p->pos++;
        return true;
    }
    return false;
}

static int expect(struct wp *p, char c)
{
    if (accept(p, c))
        return 0;
    char what[8] = {'\'', c, '\'', '\0'};
    return fail_expected(p, what);
}

/* ---- labels ----------------------------------------------------------------------- */

struct label {
    const char *ptr; /* without the % */
    size_t len;
    size_t at; /* where it started (the % if any) */
    bool percent;
};

static bool is_lower(int c)
{
    return c >= 'a' && c <= 'z';
}
static bool is_upper(int c)
{
    return c >= 'A' && c <= 'Z';
}
static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* label ::= '%'? word ('-' word)*; word ::= [a-z][a-z0-9]* | [A-Z][A-Z0-9]*.
 * Returns false (consuming nothing) when no label starts here. */
static bool read_label(struct wp *p, struct label *out)
{
    skip_ws(p);
    size_t start = p->pos, i = p->pos;
    bool percent = i < p->len && p->s[i] == '%';
    if (percent)
        i++;
    size_t body = i;
    for (;;) {
        int c = i < p->len ? (unsigned char)p->s[i] : -1;
        bool lower = is_lower(c);
        if (!lower && !is_upper(c))
            return false;
        i++;
        while (i < p->len &&
               (is_digit((unsigned char)p->s[i]) ||
                (lower ? is_lower((unsigned char)p->s[i]) : is_upper((unsigned char)p->s[i]))))
            i++;
        if (i + 1 < p->len && p->s[i] == '-' &&
            (is_lower((unsigned char)p->s[i + 1]) || is_upper((unsigned char)p->s[i + 1]))) {
            i++;
            continue;
        }
        break;
    }
    /* A label ends at a character that cannot continue it: "rEd" and
     * "red-" are not labels (WAVE's words do not mix cases). */
    if (i < p->len && (is_digit((unsigned char)p->s[i]) || is_lower((unsigned char)p->s[i]) ||
                       is_upper((unsigned char)p->s[i]) || p->s[i] == '-'))
        return false;
    out->ptr = p->s + body;
    out->len = i - body;
    out->at = start;
    out->percent = percent;
    p->pos = i;
    return true;
}

static bool label_is(const struct label *l, const char *word)
{
    return strlen(word) == l->len && memcmp(l->ptr, word, l->len) == 0;
}

static const char *const keywords[] = {"true", "false", "inf", "nan", "some", "none", "ok", "err"};

static bool is_keyword(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strlen(keywords[i]) == n && memcmp(keywords[i], s, n) == 0)
            return true;
    return false;
}

/* The keyword `word` written without a %. */
static bool label_keyword(const struct label *l, const char *word)
{
    return !l->percent && label_is(l, word);
}

/* ---- numbers ---------------------------------------------------------------------- */

/* number ::= '-'? ('0' | [1-9][0-9]*) ('.' [0-9]+)? ([eE] [+-]? [0-9]+)?
 * Sets *integer when there is neither fraction nor exponent. Returns the
 * token's length, 0 when none starts at pos. */
static size_t number_len(const struct wp *p, bool *integer)
{
    size_t i = p->pos;
    const char *s = p->s;
    *integer = true;
    if (i < p->len && s[i] == '-')
        i++;
    if (i >= p->len || !is_digit((unsigned char)s[i]))
        return 0;
    if (s[i] == '0')
        i++;
    else
        while (i < p->len && is_digit((unsigned char)s[i]))
            i++;
    if (i + 1 < p->len && s[i] == '.' && is_digit((unsigned char)s[i + 1])) {
        *integer = false;
        i++;
        while (i < p->len && is_digit((unsigned char)s[i]))
            i++;
    }
    if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < p->len && (s[j] == '+' || s[j] == '-'))
            j++;
        if (j < p->len && is_digit((unsigned char)s[j])) {
            *integer = false;
            while (j < p->len && is_digit((unsigned char)s[j]))
                j++;
            i = j;
        }
    }
    return i - p->pos;
}

/* After a token: the next character must not continue it (1.5x, 12abc). */
static bool token_ends(const struct wp *p)
{
    int c = peek(p);
    return c < 0 || !(is_digit(c) || is_lower(c) || is_upper(c) || c == '.' || c == '-' ||
                      c == '%' || c == '_' || c >= 0x80);
}

static const char *kind_name(uint8_t kind)
{
    static const char *const names[CT_KINDS] = {
        "bool",    "s8",   "u8",     "s16",    "u16",    "s32",  "u32",    "s64",
        "u64",     "f32",  "f64",    "char",   "string", "list", "record", "tuple",
        "variant", "enum", "option", "result", "flags",  "own",  "borrow",
    };
    return kind < CT_KINDS ? names[kind] : "?";
}

static int parse_integer(struct wp *p, const struct ctype *t, struct cval *out)
{
    static const struct {
        int64_t min;
        uint64_t max;
    } range[] = {
        [CT_S8] = {INT8_MIN, INT8_MAX},    [CT_U8] = {0, UINT8_MAX},
        [CT_S16] = {INT16_MIN, INT16_MAX}, [CT_U16] = {0, UINT16_MAX},
        [CT_S32] = {INT32_MIN, INT32_MAX}, [CT_U32] = {0, UINT32_MAX},
        [CT_S64] = {INT64_MIN, INT64_MAX}, [CT_U64] = {0, UINT64_MAX},
    };
    char what[40];
    snprintf(what, sizeof what, "an integer (%s)", kind_name(t->kind));
    bool integer;
    size_t start = p->pos, n = number_len(p, &integer);
    if (n == 0)
        return fail_expected(p, what);
    if (!integer)
        return fail(p, start, "expected an integer, found a number with a fraction or exponent");
    bool neg = p->s[start] == '-';
    uint64_t mag = 0;
    bool over = false;
    for (size_t i = start + (neg ? 1 : 0); i < start + n; i++) {
        unsigned d = (unsigned)(p->s[i] - '0');
        if (mag > (UINT64_MAX - d) / 10)
            over = true;
        else
            mag = mag * 10 + d;
    }
    p->pos = start + n;
    if (!token_ends(p))
        return fail_expected(p, "',' or a closing bracket after the number");
    char msg[96];
    snprintf(msg, sizeof msg, "%.*s is out of range for %s", (int)(n > 40 ? 40 : n), p->s + start,
             kind_name(t->kind));
    int64_t min = range[t->kind].min;
    uint64_t max = range[t->kind].max;
    memset(out, 0, sizeof *out);
    out->kind = t->kind;
    if (over)
        return fail(p, start, msg);
    if (neg && min == 0) {
        snprintf(msg, sizeof msg, "a negative number for an unsigned type (%s)",
                 kind_name(t->kind));
        return fail(p, start, msg);
    }
    if (neg) {
        /* -mag >= min  <=>  mag <= -(min) computed without overflow */
        uint64_t lim = min < 0 ? (uint64_t)(-(min + 1)) + 1 : 0;
        if (mag > lim)
            return fail(p, start, msg);
        out->of.s = mag == 0 ? 0 : (int64_t)(0 - mag);
        return 0;
    }
    if (mag > max)
        return fail(p, start, msg);
    if (min < 0)
        out->of.s = (int64_t)mag;
    else
        out->of.u = mag;
    return 0;
}

static int parse_float(struct wp *p, const struct ctype *t, struct cval *out)
{
    memset(out, 0, sizeof *out);
    out->kind = t->kind;
    size_t start = p->pos;
    double d;
    struct label l;
    bool neg = peek(p) == '-';
    if (neg)
        p->pos++;
    if ((is_lower(peek(p)) || is_upper(peek(p))) && read_label(p, &l) && !l.percent &&
        (label_is(&l, "inf") || label_is(&l, "nan"))) {
        if (label_is(&l, "nan") && neg) {
            p->pos = start;
            return fail(p, start, "expected a number; -nan is not WAVE");
        }
        d = label_is(&l, "nan") ? NAN : neg ? -INFINITY : INFINITY;
    } else {
        p->pos = start;
        bool integer;
        size_t n = number_len(p, &integer);
        if (n == 0)
            return fail_expected(p, t->kind == CT_F32 ? "a number (f32)" : "a number (f64)");
        if (n > WAVE_MAX_FLOAT_TEXT)
            return fail(p, start, "number too long");
        char *copy = spry_arena_alloc(p->arena, n + 1);
        if (copy == NULL)
            return nomem(p);
        memcpy(copy, p->s + start, n);
        copy[n] = '\0';
        p->pos = start + n;
        if (!token_ends(p))
            return fail_expected(p, "',' or a closing bracket after the number");
        if (t->kind == CT_F32) {
            out->of.f32 = strtof(copy, NULL);
            return 0;
        }
        d = strtod(copy, NULL);
    }
    if (t->kind == CT_F32)
        out->of.f32 = (float)d;
    else
        out->of.f64 = d;
    return 0;
}

/* ---- chars and strings ------------------------------------------------------------ */

/* Decodes one UTF-8 scalar value at s[0..n); returns its length, 0 if invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    unsigned char c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* One char of a char or string literal (delimiter `quote`), an escape or a
 * scalar value. */
static int read_char(struct wp *p, char quote, uint32_t *cp)
{
    size_t at = p->pos;
    int c = peek(p);
    if (c < 0)
        return fail(p, at, quote == '"' ? "unterminated string" : "unterminated char");
    if (c == '\n')
        return fail(p, at, "a line break must be written \\n");
    if (c == quote)
        return fail(p, at, "a char must hold exactly one character");
    if (c != '\\') {
        size_t n = utf8_decode((const unsigned char *)p->s + at, p->len - at, cp);
        if (n == 0)
            return fail(p, at, "not UTF-8");
        p->pos += n;
        return 0;
    }
    p->pos++;
    c = peek(p);
    switch (c) {
    case '\'':
    case '"':
    case '\\':
        *cp = (uint32_t)c;
        p->pos++;
        return 0;
    case 't':
        *cp = '\t';
        p->pos++;
        return 0;
    case 'n':
        *cp = '\n';
        p->pos++;
        return 0;
    case 'r':
        *cp = '\r';
        p->pos++;
        return 0;
    case 'u':
        break;
    default:
        return fail(p, at, "unknown escape (\\' \\\" \\\\ \\t \\n \\r \\u{HEX})");
    }
    p->pos++;
    if (peek(p) != '{')
        return fail(p, at, "\\u wants {HEX}");
    p->pos++;
    uint32_t v = 0;
    size_t digits = 0;
    for (;;) {
        c = peek(p);
        unsigned d;
        if (is_digit(c))
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            break;
        if (v > 0x10ffff)
            return fail(p, at, "\\u{...} is not a Unicode scalar value");
        v = v * 16 + d;
        digits++;
        p->pos++;
    }
    if (digits == 0 || peek(p) != '}')
        return fail(p, at, "\\u wants {HEX}");
    p->pos++;
    if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return fail(p, at, "\\u{...} is not a Unicode scalar value");
    *cp = v;
    return 0;
}

static int parse_char(struct wp *p, struct cval *out)
{
    skip_ws(p);
    if (peek(p) != '\'')
        return fail_expected(p, "a char ('x')");
    p->pos++;
    uint32_t cp;
    int rc = read_char(p, '\'', &cp);
    if (rc != 0)
        return rc;
    if (peek(p) != '\'')
        return fail(p, p->pos, "a char must hold exactly one character");
    p->pos++;
    memset(out, 0, sizeof *out);
    out->kind = CT_CHAR;
    out->of.ch = cp;
    return 0;
}

static int parse_string(struct wp *p, struct cval *out)
{
    skip_ws(p);
    if (peek(p) != '"')
        return fail_expected(p, "a string (\"...\")");
    size_t at = p->pos;
    if (p->len - at >= 3 && memcmp(p->s + at, "\"\"\"", 3) == 0)
        return fail(p, at, "multiline strings (\"\"\") are not supported");
    p->pos++;
    /* Decoded text is never longer than the literal: an escape of k bytes
     * stands for at most k bytes of UTF-8. */
    size_t end = p->pos;
    while (end < p->len && p->s[end] != '"')
        end += p->s[end] == '\\' && end + 1 < p->len ? 2 : 1;
    char *buf = spry_arena_alloc(p->arena, end - p->pos + 1);
    if (buf == NULL)
        return nomem(p);
    size_t n = 0;
    while (peek(p) != '"') {
        uint32_t cp;
        int rc = read_char(p, '"', &cp);
        if (rc != 0)
            return rc;
        n += utf8_encode(cp, buf + n);
    }
    p->pos++;
    memset(out, 0, sizeof *out);
    out->kind = CT_STRING;
    out->of.str.ptr = buf;
    out->of.str.len = n;
    return 0;
}

/* ---- compound values -------------------------------------------------------------- */

static int parse_value(struct wp *p, const struct ctype *t, struct cval *out);

/* A growable array of values in the arena (old copies are left behind:
 * the arena is freed as a whole, and the total is at most twice the
 * final size). */
struct vec {
    struct cval *v;
    size_t n, cap;
};

static struct cval *vec_push(struct wp *p, struct vec *vec)
{
    if (vec->n == vec->cap) {
        size_t cap = vec->cap == 0 ? 4 : vec->cap * 2;
        struct cval *v = spry_arena_alloc_array(p->arena, cap, sizeof *v);
        if (v == NULL)
            return NULL;
        if (vec->n != 0)
            memcpy(v, vec->v, vec->n * sizeof *v);
        vec->v = v;
        vec->cap = cap;
    }
    return &vec->v[vec->n++];
}

/* Bytes of one element in a raw (number) list. */
static size_t raw_size(uint8_t kind)
{
    switch (kind) {
    case CT_S8:
    case CT_U8:
        return 1;
    case CT_S16:
    case CT_U16:
        return 2;
    case CT_S32:
    case CT_U32:
    case CT_F32:
        return 4;
    default:
        return 8;
    }
}

static void raw_store(uint8_t *dst, const struct cval *v)
{
    uint64_t bits;
    switch (v->kind) {
    case CT_F32: {
        uint32_t b32;
        memcpy(&b32, &v->of.f32, 4);
        bits = b32;
        break;
    }
    case CT_F64:
        memcpy(&bits, &v->of.f64, 8);
        break;
    default:
        bits = v->of.u; /* two's complement of s */
        break;
    }
    size_t n = raw_size(v->kind);
    for (size_t i = 0; i < n; i++)
        dst[i] = (uint8_t)(bits >> (8 * i));
}

static int parse_list(struct wp *p, const struct ctype *t, struct cval *out)
{
    if (!accept(p, '['))
        return fail_expected(p, "a list ([...])");
    struct vec vec = {0};
    while (!accept(p, ']')) {
        struct cval *v = vec_push(p, &vec);
        if (v == NULL)
            return nomem(p);
        int rc = parse_value(p, t->u.elem, v);
        if (rc != 0)
            return rc;
        if (!accept(p, ',')) {
            if (accept(p, ']'))
                break;
            return fail_expected(p, "',' or ']'");
        }
    }
    memset(out, 0, sizeof *out);
    out->kind = CT_LIST;
    /* Empty lists get a valid pointer too (the canonical ABI may copy
     * zero bytes from it, and memcpy wants one). */
    if (vec.v == NULL && (vec.v = spry_arena_alloc(p->arena, sizeof *vec.v)) == NULL)
        return nomem(p);
    if (!ctype_is_number(t->u.elem->kind)) {
        out->of.list.v = vec.v;
        out->of.list.n = vec.n;
        return 0;
    }
    size_t es = raw_size(t->u.elem->kind);
    uint8_t *raw = spry_arena_alloc_array(p->arena, vec.n != 0 ? vec.n : 1, es);
    if (raw == NULL)
        return nomem(p);
    for (size_t i = 0; i < vec.n; i++)
        raw_store(raw + i * es, &vec.v[i]);
    out->of.raw.ptr = raw;
    out->of.raw.n = vec.n;
    return 0;
}

static int parse_tuple(struct wp *p, const struct ctype *t, struct cval *out)
{
    if (!accept(p, '('))
        return fail_expected(p, "a tuple ((...))");
    uint32_t n = t->u.record.n;
    struct cval *v = spry_arena_alloc_array(p->arena, n ? n : 1, sizeof *v);
    if (v == NULL)
        return nomem(p);
    for (uint32_t i = 0; i < n; i++) {
        int rc = parse_value(p, t->u.record.fields[i].type, &v[i]);
        if (rc != 0)
            return rc;
        if (i + 1 < n) {
            rc = expect(p, ',');
            if (rc != 0)
                return rc;
        }
    }
    accept(p, ',');
    if (!accept(p, ')')) {
        char what[64];
        snprintf(what, sizeof what, "')' after the tuple's %u values", n);
        return fail_expected(p, what);
    }
    memset(out, 0, sizeof *out);
    out->kind = CT_TUPLE;
    out->of.list.v = v;
    out->of.list.n = n;
    return 0;
}

static int parse_record(struct wp *p, const struct ctype *t, struct cval *out)
{
    if (!accept(p, '{'))
        return fail_expected(p, "a record ({field: value, ...})");
    uint32_t n = t->u.record.n;
    struct cval *v = spry_arena_alloc_array(p->arena, n ? n : 1, sizeof *v);
    bool *seen = spry_arena_alloc_array(p->arena, n ? n : 1, sizeof *seen);
    if (v == NULL || seen == NULL)
        return nomem(p);
    if (accept(p, ':')) {
        int rc = expect(p, '}');
        if (rc != 0)
            return rc;
    } else {
        while (!accept(p, '}')) {
            struct label l;
            if (!read_label(p, &l))
                return fail_expected(p, "a field name or '}'");
            uint32_t k = 0;
            while (k < n && !label_is(&l, t->u.record.fields[k].name))
                k++;
            if (k == n)
                return fail(p, l.at, "the record has no such field");
            if (seen[k])
                return fail(p, l.at, "field given twice");
            seen[k] = true;
            int rc = expect(p, ':');
            if (rc == 0)
                rc = parse_value(p, t->u.record.fields[k].type, &v[k]);
            if (rc != 0)
                return rc;
            if (!accept(p, ',')) {
                if (!accept(p, '}'))
                    return fail_expected(p, "',' or '}'");
                break;
            }
        }
    }
    for (uint32_t k = 0; k < n; k++) {
        if (seen[k])
            continue;
        if (t->u.record.fields[k].type->kind != CT_OPTION) {
            char msg[160];
            snprintf(msg, sizeof msg, "the record lacks field '%.100s'",
                     t->u.record.fields[k].name);
            return fail(p, p->pos - 1, msg);
        }
        v[k].kind = CT_OPTION; /* none */
    }
    memset(out, 0, sizeof *out);
    out->kind = CT_RECORD;
    out->of.list.v = v;
    out->of.list.n = n;
    return 0;
}

static int parse_flags(struct wp *p, const struct ctype *t, struct cval *out)
{
    if (!accept(p, '{'))
        return fail_expected(p, "flags ({a, b})");
    uint32_t bits = 0;
    while (!accept(p, '}')) {
        struct label l;
        if (!read_label(p, &l))
            return fail_expected(p, "a flag name or '}'");
        uint32_t k = 0;
        while (k < t->u.flags.n && !label_is(&l, t->u.flags.names[k]))
            k++;
        if (k == t->u.flags.n)
            return fail(p, l.at, "no such flag");
        if (bits & (1u << k))
            return fail(p, l.at, "flag given twice");
        bits |= 1u << k;
        if (!accept(p, ',')) {
            if (!accept(p, '}'))
                return fail_expected(p, "',' or '}'");
            break;
        }
    }
    memset(out, 0, sizeof *out);
    out->kind = CT_FLAGS;
    out->of.flags = bits;
    return 0;
}

/* `(payload)` of a case whose type is t (NULL: none may follow). */
static int parse_payload(struct wp *p, const struct ctype *t, struct cval *out)
{
    size_t at = p->pos;
    bool open = accept(p, '(');
    if (t == NULL) {
        if (open)
            return fail(p, at, "this case has no payload");
        out->of.var.payload = NULL;
        return 0;
    }
    if (!open)
        return fail_expected(p, "'(' and the case's payload");
    struct cval *v = spry_arena_alloc(p->arena, sizeof *v);
    if (v == NULL)
        return nomem(p);
    int rc = parse_value(p, t, v);
    if (rc == 0)
        rc = expect(p, ')');
    out->of.var.payload = v;
    return rc;
}

static int parse_cases(struct wp *p, const struct ctype *t, struct cval *out)
{
    bool is_enum = t->kind == CT_ENUM;
    struct label l;
    if (!read_label(p, &l))
        return fail_expected(p, is_enum ? "an enum case" : "a variant case");
    if (!l.percent && is_keyword(l.ptr, l.len))
        return fail(p, l.at, "a case that spells a keyword must be written with a % prefix");
    uint32_t k = 0;
    while (k < t->u.variant.n && !label_is(&l, t->u.variant.cases[k].name))
        k++;
    if (k == t->u.variant.n)
        return fail(p, l.at, is_enum ? "no such enum case" : "no such variant case");
    memset(out, 0, sizeof *out);
    out->kind = t->kind;
    out->of.var.disc = k;
    return parse_payload(p, is_enum ? NULL : t->u.variant.cases[k].type, out);
}

static bool nests_option(const struct ctype *t)
{
    return t != NULL && (t->kind == CT_OPTION || t->kind == CT_RESULT);
}

static int parse_option(struct wp *p, const struct ctype *t, struct cval *out)
{
    size_t at = p->pos;
    struct label l;
    memset(out, 0, sizeof *out);
    out->kind = CT_OPTION;
    if (read_label(p, &l)) {
        if (label_keyword(&l, "none")) {
            out->of.var.disc = 0;
            return parse_payload(p, NULL, out);
        }
        if (label_keyword(&l, "some")) {
            out->of.var.disc = 1;
            return parse_payload(p, t->u.elem, out);
        }
        p->pos = at;
    }
    if (nests_option(t->u.elem))
        return fail_expected(p, "some(...) or none");
    struct cval *v = spry_arena_alloc(p->arena, sizeof *v);
    if (v == NULL)
        return nomem(p);
    out->of.var.disc = 1;
    out->of.var.payload = v;
    return parse_value(p, t->u.elem, v);
}

static int parse_result(struct wp *p, const struct ctype *t, struct cval *out)
{
    size_t at = p->pos;
    struct label l;
    memset(out, 0, sizeof *out);
    out->kind = CT_RESULT;
    if (read_label(p, &l)) {
        if (label_keyword(&l, "ok")) {
            out->of.var.disc = 0;
            return parse_payload(p, t->u.result.ok, out);
        }
        if (label_keyword(&l, "err")) {
            out->of.var.disc = 1;
            return parse_payload(p, t->u.result.err, out);
        }
        p->pos = at;
    }
    if (t->u.result.ok == NULL || nests_option(t->u.result.ok))
        return fail_expected(p, t->u.result.ok == NULL ? "ok or err" : "ok(...) or err(...)");
    struct cval *v = spry_arena_alloc(p->arena, sizeof *v);
    if (v == NULL)
        return nomem(p);
    out->of.var.disc = 0;
    out->of.var.payload = v;
    return parse_value(p, t->u.result.ok, v);
}

static int parse_value(struct wp *p, const struct ctype *t, struct cval *out)
{
    if (p->depth >= WAVE_MAX_DEPTH)
        return fail(p, p->pos, "values nested too deeply");
    p->depth++;
    skip_ws(p);
    int rc;
    switch (t->kind) {
    case CT_BOOL: {
        struct label l;
        size_t at = p->pos;
        if (!read_label(p, &l) || !(label_keyword(&l, "true") || label_keyword(&l, "false"))) {
            p->pos = at;
            rc = fail_expected(p, "true or false");
            break;
        }
        memset(out, 0, sizeof *out);
        out->kind = CT_BOOL;
        out->of.b = label_is(&l, "true");
        rc = 0;
        break;
    }
    case CT_S8:
    case CT_U8:
    case CT_S16:
    case CT_U16:
    case CT_S32:
    case CT_U32:
    case CT_S64:
    case CT_U64:
        rc = parse_integer(p, t, out);
        break;
    case CT_F32:
    case CT_F64:
        rc = parse_float(p, t, out);
        break;
    case CT_CHAR:
        rc = parse_char(p, out);
        break;
    case CT_STRING:
        rc = parse_string(p, out);
        break;
    case CT_LIST:
        rc = parse_list(p, t, out);
        break;
    case CT_RECORD:
        rc = parse_record(p, t, out);
        break;
    case CT_TUPLE:
        rc = parse_tuple(p, t, out);
        break;
    case CT_VARIANT:
    case CT_ENUM:
        rc = parse_cases(p, t, out);
        break;
    case CT_OPTION:
        rc = parse_option(p, t, out);
        break;
    case CT_RESULT:
        rc = parse_result(p, t, out);
        break;
    case CT_FLAGS:
        rc = parse_flags(p, t, out);
        break;
    default: /* own, borrow */
        rc = fail(p, p->pos, "a resource handle cannot be written as a value");
        break;
    }
    p->depth--;
    return rc;
}

static void wp_init(struct wp *p, const char *text, size_t len, struct spry_arena *arena,
                    struct spry_report *report)
{
    memset(p, 0, sizeof *p);
    p->s = text;
    p->len = len;
    p->arena = arena;
    p->report = report;
}

int wave_parse_value(const char *text, size_t len, const struct ctype *t, struct spry_arena *arena,
                     struct cval *out, struct spry_report *report)
{
    struct wp p;
    wp_init(&p, text, len, arena, report);
    struct cval v;
    int rc = parse_value(&p, t, &v);
    if (rc != 0)
        return rc;
    skip_ws(&p);
    if (p.pos != p.len)
        return fail(&p, p.pos, "unexpected text after the value");
    *out = v;
    return 0;
}

int wave_call_head(const char *text, size_t len, struct wave_call *out, struct spry_report *report)
{
    struct wp p;
    wp_init(&p, text, len, NULL, report);
    struct label l;
    if (!read_label(&p, &l))
        return fail_expected(&p, "a function name (a kebab-case label, as in add(1, 2))");
    skip_ws(&p);
    if (peek(&p) != '(')
        return fail_expected(&p, "'(' and the arguments after the function name");
    out->name = l.ptr;
    out->name_len = l.len;
    out->args_at = p.pos;
    return 0;
}

int wave_call_args(const char *text, size_t len, const struct wave_call *call,
                   const struct cfunctype *ft, struct spry_arena *arena, struct cval **out,
                   struct spry_report *report)
{
    struct wp p;
    wp_init(&p, text, len, arena, report);
    p.pos = call->args_at;
    int rc = expect(&p, '(');
    if (rc != 0)
        return rc;
    uint32_t n = ft->nparams;
    struct cval *v = n != 0 ? spry_arena_alloc_array(arena, n, sizeof *v) : NULL;
    if (n != 0 && v == NULL)
        return nomem(&p);
    uint32_t given = 0;
    while (!accept(&p, ')')) {
        if (given == n) {
            char msg[64];
            snprintf(msg, sizeof msg, "too many arguments (the function takes %u)", n);
            return fail(&p, p.pos, msg);
        }
        rc = parse_value(&p, ft->params[given].type, &v[given]);
        if (rc != 0)
            return rc;
        given++;
        if (!accept(&p, ',')) {
            if (!accept(&p, ')'))
                return fail_expected(&p, "',' or ')'");
            break;
        }
    }
    for (uint32_t i = given; i < n; i++) {
        if (ft->params[i].type->kind != CT_OPTION) {
            char msg[192];
            snprintf(msg, sizeof msg,
                     "too few arguments: %u given, the function takes %u (missing '%.100s')", given,
                     n, ft->params[i].name != NULL ? ft->params[i].name : "?");
            return fail(&p, p.pos - 1, msg);
        }
        memset(&v[i], 0, sizeof v[i]);
        v[i].kind = CT_OPTION; /* left out: none */
    }
    skip_ws(&p);
    if (p.pos != p.len)
        return fail(&p, p.pos, "unexpected text after the call");
    *out = v;
    return 0;
}

/* ---- writing ---------------------------------------------------------------------- */

bool wave_type_printable(const struct ctype *t)
{
    if (t == NULL)
        return true;
    switch (t->kind) {
    case CT_OWN:
    case CT_BORROW:
        return false;
    case CT_LIST:
    case CT_OPTION:
        return wave_type_printable(t->u.elem);
    case CT_RECORD:
    case CT_TUPLE:
        for (uint32_t i = 0; i < t->u.record.n; i++)
            if (!wave_type_printable(t->u.record.fields[i].type))
                return false;
        return true;
    case CT_VARIANT:
        for (uint32_t i = 0; i < t->u.variant.n; i++)
            if (!wave_type_printable(t->u.variant.cases[i].type))
                return false;
        return true;
    case CT_RESULT:
        return wave_type_printable(t->u.result.ok) && wave_type_printable(t->u.result.err);
    default:
        return true;
    }
}

/*
 * A float as Rust's Display writes it: the shortest decimal that reads
 * back as the same value, in positional notation (no exponent): 1.5, 3,
 * 0.1, 100000000000000000000, -0.
 */
static int write_float(struct spry_buf *out, double d, bool single)
{
    if (isnan(d))
        return spry_buf_append_str(out, "nan");
    if (isinf(d))
        return spry_buf_append_str(out, d < 0 ? "-inf" : "inf");
    char sci[64];
    int max = single ? 9 : 17;
    for (int prec = 1; prec <= max; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, d);
        if (single ? strtof(sci, NULL) == (float)d : strtod(sci, NULL) == d)
            break;
    }
    /* sci: -?D(.DDD)?e[+-]XX */
    const char *s = sci;
    int rc = 0;
    if (*s == '-') {
        rc = spry_buf_append_byte(out, '-');
        s++;
    }
    char digits[32];
    size_t nd = 0;
    for (; *s != 'e'; s++)
        if (is_digit((unsigned char)*s))
            digits[nd++] = *s;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    long exp = strtol(s + 1, NULL, 10);
    if (digits[0] == '0') /* zero */
        return rc != 0 ? rc : spry_buf_append_byte(out, '0');
    if (exp < 0) {
        rc = rc != 0 ? rc : spry_buf_append_str(out, "0.");
        for (long i = 0; rc == 0 && i < -exp - 1; i++)
            rc = spry_buf_append_byte(out, '0');
        return rc != 0 ? rc : spry_buf_append(out, digits, nd);
    }
    size_t ip = (size_t)exp + 1; /* digits before the point */
    if (ip >= nd) {
        rc = rc != 0 ? rc : spry_buf_append(out, digits, nd);
        for (size_t i = nd; rc == 0 && i < ip; i++)
            rc = spry_buf_append_byte(out, '0');
        return rc;
    }
    rc = rc != 0 ? rc : spry_buf_append(out, digits, ip);
    rc = rc != 0 ? rc : spry_buf_append_byte(out, '.');
    return rc != 0 ? rc : spry_buf_append(out, digits + ip, nd - ip);
}

/* One character inside quotes, escaped as wasm-wave's writer does. */
static int write_escaped(struct spry_buf *out, uint32_t cp)
{
    switch (cp) {
    case '\\':
        return spry_buf_append_str(out, "\\\\");
    case '"':
        return spry_buf_append_str(out, "\\\"");
    case '\'':
        return spry_buf_append_str(out, "\\'");
    case '\t':
        return spry_buf_append_str(out, "\\t");
    case '\r':
        return spry_buf_append_str(out, "\\r");
    case '\n':
        return spry_buf_append_str(out, "\\n");
    default:
        break;
    }
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
        return spry_buf_printf(out, "\\u{%x}", (unsigned)cp);
    char u[4];
    return spry_buf_append(out, u, utf8_encode(cp, u));
}

static int write_label(struct spry_buf *out, const char *name)
{
    int rc = 0;
    if (is_keyword(name, strlen(name)))
        rc = spry_buf_append_byte(out, '%');
    return rc != 0 ? rc : spry_buf_append_str(out, name);
}

/* Element i of a raw (number) list. */
static struct cval raw_load(const struct ctype *et, const struct cval *list, size_t i)
{
    struct cval v;
    memset(&v, 0, sizeof v);
    v.kind = et->kind;
    size_t es = raw_size(et->kind);
    const uint8_t *src = (const uint8_t *)list->of.raw.ptr + i * es;
    uint64_t bits = 0;
    for (size_t k = 0; k < es; k++)
        bits |= (uint64_t)src[k] << (8 * k);
    switch (et->kind) {
    case CT_S8:
        v.of.s = (int8_t)bits;
        break;
    case CT_S16:
        v.of.s = (int16_t)bits;
        break;
    case CT_S32:
        v.of.s = (int32_t)bits;
        break;
    case CT_S64:
        v.of.s = (int64_t)bits;
        break;
    case CT_F32: {
        uint32_t b32 = (uint32_t)bits;
        memcpy(&v.of.f32, &b32, 4);
        break;
    }
    case CT_F64:
        memcpy(&v.of.f64, &bits, 8);
        break;
    default:
        v.of.u = bits;
        break;
    }
    return v;
}

int wave_write_value(struct spry_buf *out, const struct ctype *t, const struct cval *v)
{
    int rc = 0;
    switch (t->kind) {
    case CT_BOOL:
        return spry_buf_append_str(out, v->of.b ? "true" : "false");
    case CT_S8:
    case CT_S16:
    case CT_S32:
    case CT_S64:
        return spry_buf_printf(out, "%lld", (long long)v->of.s);
    case CT_U8:
    case CT_U16:
    case CT_U32:
    case CT_U64:
        return spry_buf_printf(out, "%llu", (unsigned long long)v->of.u);
    case CT_F32:
        return write_float(out, (double)v->of.f32, true);
    case CT_F64:
        return write_float(out, v->of.f64, false);
    case CT_CHAR:
        rc = spry_buf_append_byte(out, '\'');
        rc = rc != 0 ? rc : write_escaped(out, v->of.ch);
        return rc != 0 ? rc : spry_buf_append_byte(out, '\'');
    case CT_STRING: {
        rc = spry_buf_append_byte(out, '"');
        const unsigned char *s = (const unsigned char *)v->of.str.ptr;
        size_t n = v->of.str.len, i = 0;
        while (rc == 0 && i < n) {
            uint32_t cp;
            size_t k = utf8_decode(s + i, n - i, &cp);
            if (k == 0) { /* strings are validated when lifted; be safe anyway */
                cp = 0xfffd;
                k = 1;
            }
            rc = write_escaped(out, cp);
            i += k;
        }
        return rc != 0 ? rc : spry_buf_append_byte(out, '"');
    }
    case CT_LIST: {
        const struct ctype *et = t->u.elem;
        bool raw = ctype_is_number(et->kind);
        size_t n = raw ? v->of.raw.n : v->of.list.n;
        rc = spry_buf_append_byte(out, '[');
        for (size_t i = 0; rc == 0 && i < n; i++) {
            if (i != 0)
                rc = spry_buf_append_str(out, ", ");
            if (rc != 0)
                break;
            if (raw) {
                struct cval e = raw_load(et, v, i);
                rc = wave_write_value(out, et, &e);
            } else {
                rc = wave_write_value(out, et, &v->of.list.v[i]);
            }
        }
        return rc != 0 ? rc : spry_buf_append_byte(out, ']');
    }
    case CT_RECORD: {
        rc = spry_buf_append_byte(out, '{');
        bool first = true;
        for (uint32_t i = 0; rc == 0 && i < t->u.record.n; i++) {
            const struct ctype_field *f = &t->u.record.fields[i];
            const struct cval *fv = &v->of.list.v[i];
            if (f->type->kind == CT_OPTION && fv->of.var.disc == 0)
                continue;
            if (!first)
                rc = spry_buf_append_str(out, ", ");
            first = false;
            rc = rc != 0 ? rc : spry_buf_printf(out, "%s: ", f->name);
            rc = rc != 0 ? rc : wave_write_value(out, f->type, fv);
        }
        if (rc == 0 && first)
            rc = spry_buf_append_byte(out, ':');
        return rc != 0 ? rc : spry_buf_append_byte(out, '}');
    }
    case CT_TUPLE:
        rc = spry_buf_append_byte(out, '(');
        for (uint32_t i = 0; rc == 0 && i < t->u.record.n; i++) {
            if (i != 0)
                rc = spry_buf_append_str(out, ", ");
            rc = rc != 0 ? rc : wave_write_value(out, t->u.record.fields[i].type, &v->of.list.v[i]);
        }
        return rc != 0 ? rc : spry_buf_append_byte(out, ')');
    case CT_VARIANT:
    case CT_ENUM: {
        const struct ctype_case *c = &t->u.variant.cases[v->of.var.disc];
        rc = write_label(out, c->name);
        if (rc != 0 || t->kind == CT_ENUM || c->type == NULL)
            return rc;
        rc = spry_buf_append_byte(out, '(');
        rc = rc != 0 ? rc : wave_write_value(out, c->type, v->of.var.payload);
        return rc != 0 ? rc : spry_buf_append_byte(out, ')');
    }
    case CT_OPTION:
        if (v->of.var.disc == 0)
            return spry_buf_append_str(out, "none");
        rc = spry_buf_append_str(out, "some(");
        rc = rc != 0 ? rc : wave_write_value(out, t->u.elem, v->of.var.payload);
        return rc != 0 ? rc : spry_buf_append_byte(out, ')');
    case CT_RESULT: {
        const struct ctype *pt = v->of.var.disc == 0 ? t->u.result.ok : t->u.result.err;
        rc = spry_buf_append_str(out, v->of.var.disc == 0 ? "ok" : "err");
        if (rc != 0 || pt == NULL)
            return rc;
        rc = spry_buf_append_byte(out, '(');
        rc = rc != 0 ? rc : wave_write_value(out, pt, v->of.var.payload);
        return rc != 0 ? rc : spry_buf_append_byte(out, ')');
    }
    case CT_FLAGS: {
        rc = spry_buf_append_byte(out, '{');
        bool first = true;
        for (uint32_t i = 0; rc == 0 && i < t->u.flags.n; i++) {
            if (!(v->of.flags & (1u << i)))
                continue;
            if (!first)
                rc = spry_buf_append_str(out, ", ");
            first = false;
            rc = rc != 0 ? rc : spry_buf_append_str(out, t->u.flags.names[i]);
        }
        return rc != 0 ? rc : spry_buf_append_byte(out, '}');
    }
    default:
        return SPRY_EINVAL;
    }
}

int wave_write_result(struct spry_buf *out, const struct cfunctype *ft, const struct cval *result)
{
    if (ft->result == NULL)
        return spry_buf_append_str(out, "()");
    return wave_write_value(out, ft->result, result);
}

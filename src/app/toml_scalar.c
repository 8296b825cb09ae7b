/*
 * TOML scalars: strings (toml.io "String"), integers, floats, booleans and
 * the four date/time kinds ("Offset Date-Time" ... "Local Time").
 *
 * Each scanner first finds the extent of its token, then checks and
 * converts it; errors point at the offending character.
 */
#include "app/toml_impl.h"

#include <stdlib.h>
#include <string.h>

/* ---- strings ---- */

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static bool is_control(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7F;
}

/* Finds where a string's content ends. On success *end is the offset after
 * the content and *close the offset after the closing delimiter. */
static int string_extent(struct toml_parser *p, size_t body, char q, bool multi, size_t *end,
                         size_t *close)
{
    size_t i = body;
    for (;;) {
        if (i >= p->len)
            return tp_error(p, p->pos, "unterminated string");
        char c = p->src[i];
        if (!multi && (c == '\n' || c == '\r'))
            return tp_error(p, i, "newline in a single-line string");
        if (c == '\\' && q == '"') {
            i += 2;
            continue;
        }
        if (c != q) {
            i++;
            continue;
        }
        if (!multi) {
            *end = i;
            *close = i + 1;
            return 0;
        }
        size_t n = 0;
        while (i + n < p->len && p->src[i + n] == q)
            n++;
        if (n < 3) {
            i += n;
            continue;
        }
        /* Up to two quotes right before the closing three belong to the content. */
        if (n > 5)
            return tp_error(p, i + 5, "too many quotes at the end of a multi-line string");
        *end = i + n - 3;
        *close = i + n;
        return 0;
    }
}

/* Decodes an escape at src[i] == '\\' into out; *i moves past it. */
static int string_escape(struct toml_parser *p, size_t *i, bool multi, char *out, size_t *olen)
{
    size_t at = *i;
    char e = p->src[at + 1];
    static const char simple_in[] = "btnfr\"\\";
    static const char simple_out[] = "\b\t\n\f\r\"\\";
    const char *s = strchr(simple_in, e);
    if (e != '\0' && s != NULL) {
        out[(*olen)++] = simple_out[s - simple_in];
        *i = at + 2;
        return 0;
    }
    if (e == 'u' || e == 'U') {
        size_t digits = e == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (size_t k = 0; k < digits; k++) {
            int h = at + 2 + k < p->len ? hex_value((unsigned char)p->src[at + 2 + k]) : -1;
            if (h < 0)
                return tp_error(p, at, "\\%c needs %zu hexadecimal digits", e, digits);
            if (cp > 0x10FFFF)
                return tp_error(p, at, "\\%c escape is not a Unicode scalar value", e);
            cp = cp << 4 | (uint32_t)h;
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return tp_error(p, at, "\\%c escape is not a Unicode scalar value", e);
        *olen += utf8_encode(cp, out + *olen);
        *i = at + 2 + digits;
        return 0;
    }
    if (multi) {
        /* A line-ending backslash: trims whitespace and newlines up to the next
         * non-whitespace character. Only blanks may stand between it and the newline. */
        size_t j = at + 1;
        while (j < p->len && (p->src[j] == ' ' || p->src[j] == '\t'))
            j++;
        bool newline =
            j < p->len &&
            (p->src[j] == '\n' || (p->src[j] == '\r' && j + 1 < p->len && p->src[j + 1] == '\n'));
        if (newline) {
            while (j < p->len && (p->src[j] == ' ' || p->src[j] == '\t' || p->src[j] == '\n' ||
                                  (p->src[j] == '\r' && j + 1 < p->len && p->src[j + 1] == '\n')))
                j++;
            *i = j;
            return 0;
        }
    }
    if ((unsigned char)e < 0x20 || e == 0x7F)
        return tp_error(p, at, "invalid escape sequence (backslash before a control character)");
    return tp_error(p, at, "invalid escape sequence \\%c", e);
}

int tp_string(struct toml_parser *p, bool multiline_ok, const char **out, size_t *out_len)
{
    char q = p->src[p->pos];
    bool basic = q == '"';
    bool multi = tp_peek(p, 1) == q && tp_peek(p, 2) == q;
    if (multi && !multiline_ok)
        return tp_error(p, p->pos, "a key cannot be a multi-line string");
    size_t body = p->pos + (multi ? 3 : 1);
    if (multi) {
        /* A newline right after the opening delimiter is trimmed. */
        if (body < p->len && p->src[body] == '\n')
            body++;
        else if (body + 1 < p->len && p->src[body] == '\r' && p->src[body + 1] == '\n')
            body += 2;
    }
    size_t end = 0, close = 0;
    int rc = string_extent(p, body, q, multi, &end, &close);
    if (rc != 0)
        return rc;
    /* Decoding never lengthens: an escape of n bytes yields at most n bytes. */
    char *buf = tp_alloc(p, end - body + 1, 1);
    if (buf == NULL)
        return p->report->code;
    size_t olen = 0;
    for (size_t i = body; i < end;) {
        unsigned char c = (unsigned char)p->src[i];
        if (c == '\\' && basic) {
            rc = string_escape(p, &i, multi, buf, &olen);
            if (rc != 0)
                return rc;
            continue;
        }
        if (c == '\r') {
            if (i + 1 >= end || p->src[i + 1] != '\n')
                return tp_error(p, i, "carriage return not followed by a line feed");
            buf[olen++] = '\n';
            i += 2;
            continue;
        }
        if (c != '\n' && is_control(c))
            return tp_error(p, i, "control character U+%04X must be escaped in a string", c);
        buf[olen++] = (char)c;
        i++;
    }
    buf[olen] = '\0';
    tp_advance(p, close);
    *out = buf;
    *out_len = olen;
    return 0;
}

/* ---- numbers ---- */

static bool is_digit(int c, int base)
{
    if (base == 16)
        return hex_value(c) >= 0;
    return c >= '0' && c < '0' + base;
}

/* Consumes digits of `base` with single underscores between digits from
 * t[*i..n). Appends the digits to buf when buf != NULL. Returns the number of
 * digits, or -1 (with the error reported) for a misplaced underscore. */
static long take_digits(struct toml_parser *p, const char *t, size_t n, size_t *i, int base,
                        char *buf, size_t *blen)
{
    long count = 0;
    while (*i < n) {
        char c = t[*i];
        if (c == '_') {
            if (count == 0 || *i + 1 >= n || !is_digit((unsigned char)t[*i + 1], base)) {
                tp_error(p, (size_t)(t - p->src) + *i,
                         "an underscore must stand between two digits");
                return -1;
            }
            (*i)++;
            continue;
        }
        if (!is_digit((unsigned char)c, base))
            break;
        if (buf != NULL)
            buf[(*blen)++] = c;
        count++;
        (*i)++;
    }
    return count;
}

static int number_radix(struct toml_parser *p, const char *t, size_t n, struct toml_value *v)
{
    int base = t[1] == 'x' ? 16 : t[1] == 'o' ? 8 : 2;
    size_t i = 2;
    size_t start = i;
    uint64_t acc = 0;
    while (i < n) {
        if (t[i] == '_') {
            if (i == start || i + 1 >= n || !is_digit((unsigned char)t[i + 1], base))
                return tp_error(p, (size_t)(t - p->src) + i,
                                "an underscore must stand between two digits");
            i++;
            continue;
        }
        int d = hex_value((unsigned char)t[i]);
        if (d < 0 || d >= base)
            return tp_error(p, (size_t)(t - p->src) + i, "invalid digit in a base-%d integer",
                            base);
        if (acc > ((uint64_t)INT64_MAX - (uint64_t)d) / (uint64_t)base)
            return tp_error(p, (size_t)(t - p->src), "integer does not fit in 64 bits");
        acc = acc * (uint64_t)base + (uint64_t)d;
        i++;
    }
    if (i == start)
        return tp_error(p, (size_t)(t - p->src), "no digits after the base prefix");
    v->type = TOML_INTEGER;
    v->u.integer = (int64_t)acc;
    return 0;
}

static int number_decimal(struct toml_parser *p, const char *t, size_t n, struct toml_value *v)
{
    size_t off = (size_t)(t - p->src);
    size_t i = 0;
    bool negative = false;
    if (t[0] == '+' || t[0] == '-') {
        negative = t[0] == '-';
        i = 1;
    }
    if (n - i == 3 && (memcmp(t + i, "inf", 3) == 0 || memcmp(t + i, "nan", 3) == 0)) {
        v->type = TOML_FLOAT;
        if (t[i] == 'i')
            v->u.real = negative ? -__builtin_inf() : __builtin_inf();
        else
            v->u.real = negative ? -__builtin_nan("") : __builtin_nan("");
        return 0;
    }
    /* Room for the digits, '.', 'e', a sign and the NUL. */
    char *buf = tp_alloc(p, n + 1, 1);
    if (buf == NULL)
        return p->report->code;
    size_t blen = 0;
    if (negative)
        buf[blen++] = '-';
    size_t int_start = i;
    long int_digits = take_digits(p, t, n, &i, 10, buf, &blen);
    if (int_digits < 0)
        return SPRY_EMALFORMED;
    if (int_digits == 0)
        return tp_error(p, off,
                        "expected a value (a number, string, boolean, date, array or "
                        "inline table)");
    if (int_digits > 1 && t[int_start] == '0')
        return tp_error(p, off, "leading zeros are not allowed in a decimal number");
    bool is_float = false;
    if (i < n && t[i] == '.') {
        is_float = true;
        buf[blen++] = '.';
        i++;
        long frac = take_digits(p, t, n, &i, 10, buf, &blen);
        if (frac < 0)
            return SPRY_EMALFORMED;
        if (frac == 0)
            return tp_error(p, off + i, "a decimal point must be followed by digits");
    }
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        is_float = true;
        buf[blen++] = 'e';
        i++;
        if (i < n && (t[i] == '+' || t[i] == '-'))
            buf[blen++] = t[i++];
        long exp = take_digits(p, t, n, &i, 10, buf, &blen);
        if (exp < 0)
            return SPRY_EMALFORMED;
        if (exp == 0)
            return tp_error(p, off + i, "an exponent needs digits");
    }
    if (i != n)
        return tp_error(p, off + i, "invalid character in a number");
    buf[blen] = '\0';
    if (is_float) {
        /* strtod reads the C locale's decimal point; Spry never calls setlocale. */
        v->type = TOML_FLOAT;
        v->u.real = strtod(buf, NULL);
        return 0;
    }
    uint64_t acc = 0;
    uint64_t max = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (size_t k = negative ? 1 : 0; k < blen; k++) {
        uint64_t d = (uint64_t)(buf[k] - '0');
        if (acc > (max - d) / 10)
            return tp_error(p, off, "integer does not fit in 64 bits");
        acc = acc * 10 + d;
    }
    v->type = TOML_INTEGER;
    v->u.integer = negative ? (int64_t)(0 - acc) : (int64_t)acc;
    return 0;
}

/* ---- dates and times ---- */

/* Reads exactly `n` decimal digits at s[*i]; false when they are not there. */
static bool fixed_digits(const char *s, size_t len, size_t *i, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t k = 0; k < n; k++) {
        if (*i + k >= len || s[*i + k] < '0' || s[*i + k] > '9')
            return false;
        v = v * 10 + (unsigned)(s[*i + k] - '0');
    }
    *i += n;
    *out = v;
    return true;
}

static bool expect_char(const char *s, size_t len, size_t *i, char c)
{
    if (*i >= len || s[*i] != c)
        return false;
    (*i)++;
    return true;
}

static unsigned days_in_month(unsigned year, unsigned month)
{
    static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
        return 29;
    return days[month - 1];
}

/* YYYY-MM-DD at src[*i]. */
static int date_part(struct toml_parser *p, size_t *i)
{
    size_t at = *i;
    unsigned y, m, d;
    if (!fixed_digits(p->src, p->len, i, 4, &y) || !expect_char(p->src, p->len, i, '-') ||
        !fixed_digits(p->src, p->len, i, 2, &m) || !expect_char(p->src, p->len, i, '-') ||
        !fixed_digits(p->src, p->len, i, 2, &d))
        return tp_error(p, at, "malformed date (expected YYYY-MM-DD)");
    if (m < 1 || m > 12)
        return tp_error(p, at, "month %u is out of range", m);
    if (d < 1 || d > days_in_month(y, m))
        return tp_error(p, at, "day %u is out of range for %04u-%02u", d, y, m);
    return 0;
}

/* HH:MM:SS[.fraction] at src[*i]. */
static int time_part(struct toml_parser *p, size_t *i)
{
    size_t at = *i;
    unsigned h, m, s;
    if (!fixed_digits(p->src, p->len, i, 2, &h) || !expect_char(p->src, p->len, i, ':') ||
        !fixed_digits(p->src, p->len, i, 2, &m) || !expect_char(p->src, p->len, i, ':') ||
        !fixed_digits(p->src, p->len, i, 2, &s))
        return tp_error(p, at, "malformed time (expected HH:MM:SS)");
    if (h > 23 || m > 59 || s > 60)
        return tp_error(p, at, "time %02u:%02u:%02u is out of range", h, m, s);
    if (*i < p->len && p->src[*i] == '.') {
        (*i)++;
        size_t digits = 0;
        while (*i < p->len && p->src[*i] >= '0' && p->src[*i] <= '9') {
            (*i)++;
            digits++;
        }
        if (digits == 0)
            return tp_error(p, *i, "a decimal point in a time must be followed by digits");
    }
    return 0;
}

static int datetime(struct toml_parser *p, struct toml_value *v, bool has_date)
{
    size_t i = p->pos;
    int rc;
    enum toml_type type = TOML_TIME_LOCAL;
    if (has_date) {
        rc = date_part(p, &i);
        if (rc != 0)
            return rc;
        type = TOML_DATE_LOCAL;
        /* A time follows after 'T' (any case) or one space before HH:. */
        bool t_delim = i + 1 < p->len && (p->src[i] == 'T' || p->src[i] == 't');
        bool space_delim = i + 3 < p->len && p->src[i] == ' ' && p->src[i + 1] >= '0' &&
                           p->src[i + 1] <= '9' && p->src[i + 2] >= '0' && p->src[i + 2] <= '9' &&
                           p->src[i + 3] == ':';
        if (t_delim || space_delim) {
            i++;
            type = TOML_DATETIME_LOCAL;
        }
    }
    if (type != TOML_DATE_LOCAL) {
        rc = time_part(p, &i);
        if (rc != 0)
            return rc;
    }
    if (type == TOML_DATETIME_LOCAL && i < p->len) {
        char c = p->src[i];
        if (c == 'Z' || c == 'z') {
            i++;
            type = TOML_DATETIME;
        } else if (c == '+' || c == '-') {
            size_t at = i++;
            unsigned oh, om;
            if (!fixed_digits(p->src, p->len, &i, 2, &oh) ||
                !expect_char(p->src, p->len, &i, ':') || !fixed_digits(p->src, p->len, &i, 2, &om))
                return tp_error(p, at, "malformed time offset (expected +HH:MM or -HH:MM)");
            if (oh > 23 || om > 59)
                return tp_error(p, at, "time offset is out of range");
            type = TOML_DATETIME;
        }
    }
    char *text = tp_alloc(p, i - p->pos + 1, 1);
    if (text == NULL)
        return p->report->code;
    memcpy(text, p->src + p->pos, i - p->pos);
    v->type = type;
    v->u.str.ptr = text;
    v->u.str.len = i - p->pos;
    p->pos = i;
    return 0;
}

static bool is_number_char(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == '+' || c == '-' || c == '.';
}

static bool digits_then(const struct toml_parser *p, size_t n, char c)
{
    for (size_t k = 0; k < n; k++) {
        int d = tp_peek(p, k);
        if (d < '0' || d > '9')
            return false;
    }
    return tp_peek(p, n) == c;
}

int tp_scalar(struct toml_parser *p, struct toml_value *v)
{
    size_t rest = p->len - p->pos;
    const char *s = p->src + p->pos;
    if (rest >= 4 && memcmp(s, "true", 4) == 0) {
        v->type = TOML_BOOLEAN;
        v->u.boolean = true;
        p->pos += 4;
        return 0;
    }
    if (rest >= 5 && memcmp(s, "false", 5) == 0) {
        v->type = TOML_BOOLEAN;
        v->u.boolean = false;
        p->pos += 5;
        return 0;
    }
    if (digits_then(p, 4, '-'))
        return datetime(p, v, true);
    if (digits_then(p, 2, ':'))
        return datetime(p, v, false);
    size_t n = 0;
    while (n < rest && is_number_char((unsigned char)s[n]))
        n++;
    if (n == 0)
        return tp_error(p, p->pos,
                        "expected a value (a number, string, boolean, date, array or "
                        "inline table)");
    int rc;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b'))
        rc = number_radix(p, s, n, v);
    else
        rc = number_decimal(p, s, n, v);
    if (rc != 0)
        return rc;
    p->pos += n;
    return 0;
}

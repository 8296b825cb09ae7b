/*
 * The WIT parser's lexer: tokens, names (kebab-case, keywords), versions,
 * attributes, skipping the rest of an item, and error reports. Block
 * comments nest, as in WIT.
 */
#include "base/alloc.h"
#include "component/wit_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Words a name must escape with % (WIT.md, "Keywords"). */
static const char *const keywords[] = {
    "as",        "async",         "bool",   "borrow", "char",    "constructor",
    "enum",      "error-context", "export", "f32",    "f64",     "flags",
    "float32",   "float64",       "func",   "future", "import",  "include",
    "interface", "list",          "option", "own",    "package", "record",
    "resource",  "result",        "s16",    "s32",    "s64",     "s8",
    "static",    "stream",        "string", "tuple",  "type",    "u16",
    "u32",       "u64",           "u8",     "use",    "variant", "with",
    "world",
};

/* ---- errors ---- */

static const char *iface_name(const struct wit_parser *p)
{
    return p->ifaces[p->cur].name != NULL ? p->ifaces[p->cur].name : "(unnamed)";
}

int wit_fail(struct wit_parser *p, uint32_t line, uint32_t col, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return spry_report_set(p->report, SPRY_EMALFORMED, "%s:%u:%u: %s", iface_name(p), line, col,
                           msg);
}

int wit_oom(struct wit_parser *p)
{
    return spry_report_set(p->report, SPRY_ENOMEM, "%s: out of memory parsing WIT", iface_name(p));
}

/* ---- arena helpers ---- */

char *wit_arena_strndup(struct wit_parser *p, const char *s, size_t n)
{
    char *d = spry_arena_alloc(p->arena, n + 1);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* Grows an arena array of `size`-byte elements so that one more fits
 * (doubling; the old block stays in the arena). Returns 0, 1 when `max`
 * elements are there already, or SPRY_ENOMEM (reported). */
int wit_grow(struct wit_parser *p, void **items, size_t n, size_t *cap, size_t size, size_t max)
{
    if (n < *cap)
        return 0;
    if (n >= max)
        return 1;
    size_t ncap = *cap == 0 ? 8 : *cap * 2;
    if (ncap > max)
        ncap = max;
    void *bigger = spry_arena_alloc_array(p->arena, ncap, size);
    if (bigger == NULL)
        return wit_oom(p);
    if (n > 0)
        memcpy(bigger, *items, n * size);
    *items = bigger;
    *cap = ncap;
    return 0;
}

/* ---- lexer ---- */

static int cur_char(const struct wit_lexer *lx)
{
    return lx->pos < lx->len ? (unsigned char)lx->src[lx->pos] : -1;
}

static int char_at(const struct wit_lexer *lx, size_t ahead)
{
    return lx->pos + ahead < lx->len ? (unsigned char)lx->src[lx->pos + ahead] : -1;
}

static void advance(struct wit_lexer *lx)
{
    if (lx->src[lx->pos] == '\n') {
        lx->line++;
        lx->col = 1;
    } else {
        lx->col++;
    }
    lx->pos++;
}

/* Skips white space and comments (block comments nest, as in WIT). */
int wit_skip_space(struct wit_parser *p)
{
    struct wit_lexer *lx = &p->lx;
    for (;;) {
        int c = cur_char(lx);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            advance(lx);
        } else if (c == '/' && char_at(lx, 1) == '/') {
            while (cur_char(lx) != -1 && cur_char(lx) != '\n')
                advance(lx);
        } else if (c == '/' && char_at(lx, 1) == '*') {
            uint32_t line = lx->line, col = lx->col;
            size_t depth = 0;
            do {
                if (cur_char(lx) == -1)
                    return wit_fail(p, line, col, "unterminated comment");
                if (cur_char(lx) == '/' && char_at(lx, 1) == '*') {
                    advance(lx);
                    depth++;
                } else if (cur_char(lx) == '*' && char_at(lx, 1) == '/') {
                    advance(lx);
                    depth--;
                }
                advance(lx);
            } while (depth > 0);
        } else {
            return 0;
        }
    }
}

int wit_next(struct wit_parser *p, struct wit_tok *t)
{
    int rc = wit_skip_space(p);
    if (rc != 0)
        return rc;
    struct wit_lexer *lx = &p->lx;
    memset(t, 0, sizeof *t);
    t->line = lx->line;
    t->col = lx->col;
    int c = cur_char(lx);
    if (c == -1) {
        t->kind = TK_EOF;
        return 0;
    }
    if (c == '%' || wit_is_alpha(c)) {
        if (c == '%') {
            t->escaped = true;
            advance(lx);
            if (!wit_is_alpha(cur_char(lx)))
                return wit_fail(p, t->line, t->col, "'%%' must be followed by a name");
        }
        t->kind = TK_ID;
        t->p = lx->src + lx->pos;
        while (wit_is_alpha(cur_char(lx)) || wit_is_digit(cur_char(lx)) || cur_char(lx) == '-') {
            /* "->" after a name is an arrow, not part of it. */
            if (cur_char(lx) == '-' && char_at(lx, 1) == '>')
                break;
            advance(lx);
        }
        t->n = (size_t)(lx->src + lx->pos - t->p);
        return 0;
    }
    if (wit_is_digit(c)) {
        t->kind = TK_NUMBER;
        t->p = lx->src + lx->pos;
        while (wit_is_digit(cur_char(lx)))
            advance(lx);
        t->n = (size_t)(lx->src + lx->pos - t->p);
        return 0;
    }
    if (c == '-' && char_at(lx, 1) == '>') {
        advance(lx);
        advance(lx);
        t->kind = TK_ARROW;
        return 0;
    }
    if (c == '_' && !wit_is_alpha(char_at(lx, 1)) && !wit_is_digit(char_at(lx, 1)) &&
        char_at(lx, 1) != '_') {
        advance(lx);
        t->kind = TK_UNDERSCORE;
        return 0;
    }
    if (strchr("{}()<>,;:=./*@", c) != NULL) {
        advance(lx);
        t->kind = TK_PUNCT;
        t->c = (char)c;
        return 0;
    }
    if (c >= 0x20 && c < 0x7f)
        return wit_fail(p, t->line, t->col, "unexpected character '%c'", c);
    return wit_fail(p, t->line, t->col, "unexpected byte 0x%02x", (unsigned)c);
}

int wit_peek(struct wit_parser *p, struct wit_tok *t)
{
    struct wit_lexer save = p->lx;
    int rc = wit_next(p, t);
    p->lx = save;
    return rc;
}

bool wit_is_punct(const struct wit_tok *t, char c)
{
    return t->kind == TK_PUNCT && t->c == c;
}

bool wit_is_word(const struct wit_tok *t, const char *w)
{
    return t->kind == TK_ID && !t->escaped && strlen(w) == t->n && memcmp(t->p, w, t->n) == 0;
}

const char *wit_describe(const struct wit_tok *t, char *buf, size_t cap)
{
    switch (t->kind) {
    case TK_EOF:
        return "end of text";
    case TK_ARROW:
        return "'->'";
    case TK_UNDERSCORE:
        return "'_'";
    case TK_PUNCT:
        snprintf(buf, cap, "'%c'", t->c);
        return buf;
    default:
        snprintf(buf, cap, "'%.*s'", (int)(t->n > 40 ? 40 : t->n), t->p);
        return buf;
    }
}

int wit_expect(struct wit_parser *p, char c)
{
    struct wit_tok t;
    int rc = wit_next(p, &t);
    if (rc != 0)
        return rc;
    if (!wit_is_punct(&t, c)) {
        char buf[64];
        return wit_fail(p, t.line, t.col, "expected '%c', found %s", c,
                        wit_describe(&t, buf, sizeof buf));
    }
    return 0;
}

/* True when `s` is a WIT name: words of lower-case letters and digits, or
 * of upper-case letters and digits, each starting with a letter, joined by
 * single dashes. */
bool wit_kebab_ok(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (!wit_is_alpha(s[i]))
            return false;
        bool upper = s[i] >= 'A' && s[i] <= 'Z';
        while (i < n && s[i] != '-') {
            bool lower = s[i] >= 'a' && s[i] <= 'z', up = s[i] >= 'A' && s[i] <= 'Z';
            if (!wit_is_digit(s[i]) && (upper ? !up : !lower))
                return false;
            i++;
        }
        if (i < n && ++i == n)
            return false; /* trailing dash */
    }
    return n > 0;
}

bool wit_is_keyword(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strlen(keywords[i]) == n && memcmp(keywords[i], s, n) == 0)
            return true;
    return false;
}

/* Checks that t is a usable name (valid, and escaped if a keyword). */
int wit_check_name(struct wit_parser *p, const struct wit_tok *t)
{
    char buf[64];
    if (t->kind != TK_ID)
        return wit_fail(p, t->line, t->col, "expected a name, found %s",
                        wit_describe(t, buf, sizeof buf));
    if (!wit_kebab_ok(t->p, t->n))
        return wit_fail(p, t->line, t->col, "'%.*s' is not a valid name (kebab-case words)",
                        (int)(t->n > 40 ? 40 : t->n), t->p);
    if (!t->escaped && wit_is_keyword(t->p, t->n))
        return wit_fail(p, t->line, t->col, "'%.*s' is a keyword (write %%%.*s)", (int)t->n, t->p,
                        (int)t->n, t->p);
    return 0;
}

int wit_expect_name(struct wit_parser *p, struct wit_tok *t)
{
    int rc = wit_next(p, t);
    return rc != 0 ? rc : wit_check_name(p, t);
}

/* A version after '@': [0-9A-Za-z.+-]+, stopping before ".{". */
int wit_lex_version(struct wit_parser *p, const char **v, size_t *n)
{
    struct wit_lexer *lx = &p->lx;
    uint32_t line = lx->line, col = lx->col;
    const char *start = lx->src + lx->pos;
    for (;;) {
        int c = cur_char(lx);
        if (c == '.' && char_at(lx, 1) == '{')
            break;
        if (!(wit_is_alpha(c) || wit_is_digit(c) || c == '.' || c == '+' || c == '-'))
            break;
        advance(lx);
    }
    *v = start;
    *n = (size_t)(lx->src + lx->pos - start);
    if (*n == 0 || !wit_is_digit((unsigned char)start[0]))
        return wit_fail(p, line, col, "expected a version after '@'");
    return 0;
}

/* Skips `(...)` of an attribute without tokenizing it (it holds versions). */
int wit_skip_attribute(struct wit_parser *p)
{
    struct wit_tok t;
    int rc = wit_next(p, &t);
    if (rc != 0)
        return rc;
    if (t.kind != TK_ID)
        return wit_fail(p, t.line, t.col, "expected an attribute name after '@'");
    rc = wit_skip_space(p);
    if (rc != 0)
        return rc;
    if (cur_char(&p->lx) != '(')
        return 0;
    uint32_t line = p->lx.line, col = p->lx.col;
    size_t depth = 0;
    do {
        int c = cur_char(&p->lx);
        if (c == -1)
            return wit_fail(p, line, col, "unterminated attribute");
        if (c == '(')
            depth++;
        else if (c == ')')
            depth--;
        advance(&p->lx);
    } while (depth > 0);
    return 0;
}

int wit_skip_attributes(struct wit_parser *p)
{
    for (;;) {
        struct wit_tok t;
        int rc = wit_peek(p, &t);
        if (rc != 0 || !wit_is_punct(&t, '@'))
            return rc;
        wit_next(p, &t);
        rc = wit_skip_attribute(p);
        if (rc != 0)
            return rc;
    }
}

/* Skips tokens to the ';' ending an item (a use path's '@' takes a version). */
int wit_skip_to_semicolon(struct wit_parser *p)
{
    for (;;) {
        struct wit_tok t;
        int rc = wit_next(p, &t);
        if (rc != 0)
            return rc;
        if (t.kind == TK_EOF)
            return wit_fail(p, t.line, t.col, "expected ';' before the end of text");
        if (wit_is_punct(&t, ';'))
            return 0;
        if (wit_is_punct(&t, '{') || wit_is_punct(&t, '}'))
            return wit_fail(p, t.line, t.col, "expected ';', found '%c'", t.c);
        if (wit_is_punct(&t, '@')) {
            const char *v;
            size_t n;
            rc = wit_lex_version(p, &v, &n);
            if (rc != 0)
                return rc;
        }
    }
}

/* Skips a balanced { ... } body (attributes inside are skipped whole). */
int wit_skip_braces(struct wit_parser *p)
{
    struct wit_tok open;
    int rc = wit_next(p, &open);
    if (rc != 0)
        return rc;
    if (!wit_is_punct(&open, '{'))
        return wit_fail(p, open.line, open.col, "expected '{'");
    size_t depth = 1;
    while (depth > 0) {
        struct wit_tok t;
        rc = wit_next(p, &t);
        if (rc != 0)
            return rc;
        if (t.kind == TK_EOF)
            return wit_fail(p, open.line, open.col, "'{' is never closed");
        if (wit_is_punct(&t, '{'))
            depth++;
        else if (wit_is_punct(&t, '}'))
            depth--;
        else if (wit_is_punct(&t, '@') && (rc = wit_skip_attribute(p)) != 0)
            return rc;
    }
    return 0;
}

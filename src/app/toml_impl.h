/*
 * The TOML parser's shared state: toml.c parses the document's structure
 * (keys, tables, arrays), toml_scalar.c the scalar values (strings,
 * numbers, dates and times).
 *
 * Invariants of struct toml_parser:
 *  - src[0..len) is valid UTF-8 (checked before parsing starts) and pos <= len;
 *  - line is the 1-based line of pos and line_start the offset where it
 *    begins; every function that moves pos across a newline goes through
 *    tp_advance, which keeps both right;
 *  - col_off/col_num cache the column of one offset on the current line so
 *    that positions of many values on one long line cost linear time.
 */
#ifndef SPRY_APP_TOML_IMPL_H
#define SPRY_APP_TOML_IMPL_H

#include "app/toml.h"
#include "base/arena.h"

struct toml_doc {
    struct spry_arena arena;
    struct toml_table root;
};

struct key_part;

struct toml_parser {
    const char *src;
    size_t len, pos;
    const char *name;
    uint32_t line;
    size_t line_start;
    size_t col_off;
    uint32_t col_num;
    struct key_part *keys; /* max_depth + 1 parts, for parse_key */
    struct toml_limits limits;
    struct toml_doc *doc;
    struct spry_report *report;
};

/* Records "name:line:col: message" for offset `off`; returns SPRY_EMALFORMED. */
int tp_error(struct toml_parser *p, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Memory from the document's arena: zeroed; NULL after reporting TOOBIG/NOMEM
 * (the code is then in p->report->code). */
void *tp_alloc(struct toml_parser *p, size_t count, size_t size);
/* Line and column of an offset at or after the current line's start. */
void tp_position(struct toml_parser *p, size_t off, uint32_t *line, uint32_t *col);
/* Moves pos to `to` (>= pos), counting the newlines passed. */
void tp_advance(struct toml_parser *p, size_t to);

static inline int tp_peek(const struct toml_parser *p, size_t ahead)
{
    return p->pos + ahead < p->len ? (unsigned char)p->src[p->pos + ahead] : -1;
}

/* Scalars (toml_scalar.c). Each starts at p->pos, fills v->type and v->u and
 * leaves pos after the value; v's line/col are the caller's job. */

/* A basic or literal string, single- or multi-line (multiline_ok is false for keys). */
int tp_string(struct toml_parser *p, bool multiline_ok, const char **out, size_t *out_len);
/* An integer, float, boolean, or date/time. */
int tp_scalar(struct toml_parser *p, struct toml_value *v);

#endif

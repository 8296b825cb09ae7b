/*
 * The WIT parser's shared state (wit.c: declarations and resolution;
 * wit_lex.c: tokens, names, skipping and errors). Internal to those two.
 *
 * Invariants: decls[] of an interface holds every name of its namespace
 * (types, uses, resources, free functions and resource functions) exactly
 * once, and `index` maps names to decls; a decl's `type` is set exactly
 * when its state is DONE. A lexer is a plain value: saving and restoring
 * it is how the parser jumps to a definition and back.
 */
#ifndef SPRY_COMPONENT_WIT_IMPL_H
#define SPRY_COMPONENT_WIT_IMPL_H

#include "component/wit.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wit_tok_kind { TK_EOF, TK_ID, TK_NUMBER, TK_PUNCT, TK_ARROW, TK_UNDERSCORE };

struct wit_lexer {
    const char *src;
    size_t len, pos;
    uint32_t line, col;
};

struct wit_tok {
    int kind;
    char c;        /* TK_PUNCT */
    bool escaped;  /* TK_ID written as %name */
    const char *p; /* TK_ID: the name without %; TK_NUMBER: the digits */
    size_t n;
    uint32_t line, col;
};

enum wit_decl_kind { D_ALIAS, D_RECORD, D_VARIANT, D_ENUM, D_FLAGS, D_RESOURCE, D_USE, D_FUNC };
enum wit_state { S_TODO, S_BUSY, S_DONE };

struct wit_decl {
    const char *name;
    uint8_t kind;  /* enum wit_decl_kind */
    uint8_t state; /* enum wit_state */
    uint32_t line, col;
    struct wit_lexer at; /* D_ALIAS..D_FLAGS: just after the name */
    const struct ctype *type;
};

enum wit_item_kind { I_USE, I_TYPE, I_RESOURCE, I_FUNC };

struct wit_item {
    uint8_t kind;        /* enum wit_item_kind */
    bool body;           /* I_RESOURCE with { ... } */
    size_t decl;         /* I_TYPE, I_RESOURCE, I_FUNC */
    struct wit_lexer at; /* I_RESOURCE: at '{'; I_FUNC: after ':' */
};

struct wit_ifstate {
    uint8_t state;  /* enum wit_state */
    size_t pkg_len; /* name[0..pkg_len) is "ns:pkg" */
    struct wit_decl *decls;
    size_t ndecls, capdecls;
    int32_t *index; /* open addressing: decl index + 1, 0 empty */
    size_t index_cap;
    struct wit_item *items;
    size_t nitems, capitems;
    struct wit_func *funcs;
    size_t nfuncs, capfuncs;
};

struct wit_parser {
    struct spry_arena *arena;
    struct spry_report *report;
    const struct chost_iface *ifaces;
    size_t n;
    struct wit_ifstate *st;
    uint32_t *base;
    size_t cur; /* interface being read */
    struct wit_lexer lx;
    int depth;
};

static inline bool wit_is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool wit_is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* ---- errors and arena helpers (wit_lex.c) ---- */

/* Reports "IFACE:LINE:COL: message" (SPRY_EMALFORMED) and returns it. */
int wit_fail(struct wit_parser *p, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int wit_oom(struct wit_parser *p);
char *wit_arena_strndup(struct wit_parser *p, const char *s, size_t n);
/* Grows an arena array of `size`-byte elements so that one more fits
 * (doubling; the old block stays in the arena). Returns 0, 1 when `max`
 * elements are there already, or SPRY_ENOMEM (reported). */
int wit_grow(struct wit_parser *p, void **items, size_t n, size_t *cap, size_t size, size_t max);

/* ---- tokens (wit_lex.c) ---- */

int wit_skip_space(struct wit_parser *p);
int wit_next(struct wit_parser *p, struct wit_tok *t);
int wit_peek(struct wit_parser *p, struct wit_tok *t);
bool wit_is_punct(const struct wit_tok *t, char c);
bool wit_is_word(const struct wit_tok *t, const char *w);
const char *wit_describe(const struct wit_tok *t, char *buf, size_t cap);
int wit_expect(struct wit_parser *p, char c);
bool wit_kebab_ok(const char *s, size_t n);
bool wit_is_keyword(const char *s, size_t n);
/* Checks that t is a usable name (valid, and escaped if a keyword). */
int wit_check_name(struct wit_parser *p, const struct wit_tok *t);
int wit_expect_name(struct wit_parser *p, struct wit_tok *t);
/* A version after '@': [0-9A-Za-z.+-]+, stopping before ".{". */
int wit_lex_version(struct wit_parser *p, const char **v, size_t *n);
/* Attributes (@name(...)) are skipped without tokenizing their text. */
int wit_skip_attribute(struct wit_parser *p);
int wit_skip_attributes(struct wit_parser *p);
/* Skipping an item's rest in the declaring pass. */
int wit_skip_to_semicolon(struct wit_parser *p);
int wit_skip_braces(struct wit_parser *p);

#endif

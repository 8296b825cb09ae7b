/*
 * A TOML 1.0 parser (https://toml.io/en/v1.0.0) producing a read-only tree.
 *
 * The whole document is parsed at once into a tree owned by a struct
 * toml_doc; every node and string lives in the document's arena and is freed
 * with it. The tree keeps what a manifest reader needs to report mistakes:
 * tables keep their keys in source order, and every key and value carries
 * its line:column (1-based; the column counts UTF-8 characters).
 *
 * Representation:
 *  - integers are int64_t (out-of-range literals are errors, not wrapped);
 *  - floats are doubles, inf and nan included;
 *  - the four date/time kinds are validated (month lengths, leap years,
 *    offsets) and kept as their source text, with the kind in the type;
 *  - strings are unescaped UTF-8 with their exact length (a \u0000 escape
 *    makes a NUL byte inside a string), NUL-terminated for convenience;
 *  - multi-line strings have CRLF turned into LF.
 *
 * Bounds (struct toml_limits): input size, total memory, and the depth of
 * the tree: a value directly in the root table is at depth 1, every table,
 * dotted-key part and array adds one. No value sits deeper than max_depth,
 * so a recursive consumer may rely on that bound; the parser itself
 * recurses only on arrays and inline tables, within the same bound.
 */
#ifndef SPRY_APP_TOML_H
#define SPRY_APP_TOML_H

#include "spry/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum toml_type {
    TOML_STRING,
    TOML_INTEGER,
    TOML_FLOAT,
    TOML_BOOLEAN,
    TOML_DATETIME,       /* offset date-time: 1979-05-27T07:32:00Z */
    TOML_DATETIME_LOCAL, /* 1979-05-27T07:32:00 */
    TOML_DATE_LOCAL,     /* 1979-05-27 */
    TOML_TIME_LOCAL,     /* 07:32:00 */
    TOML_ARRAY,
    TOML_TABLE,
};

struct toml_table;
struct toml_array;

struct toml_value {
    enum toml_type type;
    uint32_t line, col; /* where the value starts */
    union {
        struct {
            const char *ptr; /* NUL-terminated; may contain NUL bytes before len */
            size_t len;
        } str;                  /* STRING and the four date/time kinds (source text) */
        int64_t integer;        /* INTEGER */
        double real;            /* FLOAT */
        bool boolean;           /* BOOLEAN */
        struct toml_array *arr; /* ARRAY */
        struct toml_table *tab; /* TABLE */
    } u;
};

struct toml_keyval {
    const char *key; /* unescaped, NUL-terminated; may contain NUL bytes */
    size_t key_len;
    uint32_t line, col; /* where the key (the last part of a dotted key) is */
    struct toml_value value;
};

/* How a table came to exist; decides what may still add to it (toml.io
 * "Table": a table is defined once; dotted keys may not reach into a table
 * defined by a header, nor a header redefine a table made by dotted keys;
 * inline tables are complete where they are written). */
enum toml_table_kind {
    TOML_TABLE_IMPLICIT, /* created as a prefix of a [header]; one header may still define it */
    TOML_TABLE_HEADER,   /* defined by a [header] or [[header]], or the root */
    TOML_TABLE_DOTTED,   /* created by a dotted key; more dotted keys may extend it */
    TOML_TABLE_INLINE,   /* an inline table { ... }: immutable once closed */
};

struct toml_table {
    struct toml_keyval *items; /* source order */
    size_t len, cap;
    uint32_t *index; /* open addressing over items (slot = item index + 1), or NULL when small */
    size_t index_cap;
    enum toml_table_kind kind;
    unsigned depth; /* the root is 0 */
};

struct toml_array {
    struct toml_value *items;
    size_t len, cap;
    bool of_tables; /* made by [[header]]s: headers may append; a literal array is closed */
};

struct toml_limits {
    size_t max_input;   /* bytes of TOML text */
    unsigned max_depth; /* of the tree (see above) */
    size_t max_memory;  /* bytes the tree may occupy */
};

/* 16 MiB of text, depth 100, 256 MiB of tree. */
void toml_limits_default(struct toml_limits *limits);

struct toml_doc;

/*
 * Parses `len` bytes of `text` (not kept). `name` (e.g. the file path) starts
 * every error message: "NAME:LINE:COL: what was wrong". limits may be NULL
 * for the defaults. Returns 0 and *out, or SPRY_EMALFORMED (not TOML),
 * SPRY_ETOOBIG (a limit) or SPRY_ENOMEM, with the message in report.
 */
int toml_parse(const char *text, size_t len, const char *name, const struct toml_limits *limits,
               struct toml_doc **out, struct spry_report *report);
void toml_doc_destroy(struct toml_doc *doc);
const struct toml_table *toml_doc_root(const struct toml_doc *doc);

/* The entry `key` (NUL-terminated) of a table, or NULL. */
const struct toml_keyval *toml_table_find(const struct toml_table *t, const char *key);
const struct toml_keyval *toml_table_find_n(const struct toml_table *t, const char *key,
                                            size_t key_len);
/* The name of a type as toml-test spells it ("integer", "datetime-local", ...). */
const char *toml_type_name(enum toml_type type);

#endif

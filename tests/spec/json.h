/*
 * A small strict JSON reader (RFC 8259) for wast2json's output.
 *
 * The whole text is parsed into a tree owned by a struct json_doc and freed
 * with it. Numbers are not converted: wast2json writes every Wasm value as a
 * decimal string of its bit pattern, and the few plain numbers it writes
 * (line numbers) are converted by whoever reads them, so a number keeps its
 * source text. Strings are unescaped (\u escapes, surrogate pairs included,
 * become UTF-8); they may contain NUL bytes (export names in names.wast do),
 * so their exact length is kept beside a terminating NUL.
 *
 * Strictness: no trailing commas, no comments, no raw control characters in
 * strings, no lone surrogates, no leading zeros, nothing after the value.
 * Nesting is limited to JSON_MAX_DEPTH.
 */
#ifndef SPRY_SPEC_JSON_H
#define SPRY_SPEC_JSON_H

#include "spry/error.h"

#include <stdbool.h>
#include <stddef.h>

enum { JSON_MAX_DEPTH = 64 };

enum json_type {
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
};

struct json_member;

struct json_value {
    enum json_type type;
    /* STRING: bytes, without the terminating NUL; NUMBER: characters of the
     * text; ARRAY: items; OBJECT: members. 0 otherwise. */
    size_t len;
    union {
        const char *str;             /* STRING (unescaped), NUMBER (source text) */
        struct json_value *items;    /* ARRAY */
        struct json_member *members; /* OBJECT, in source order */
    } of;
};

struct json_member {
    const char *key; /* unescaped, NUL-terminated */
    size_t key_len;
    struct json_value value;
};

struct json_doc;

/* Parses `len` bytes of `text`. On failure returns SPRY_EMALFORMED (with
 * line:column and what was wrong in `report`), SPRY_ETOOBIG (nesting) or
 * SPRY_ENOMEM. The text is not kept. */
int json_parse(const char *text, size_t len, struct json_doc **out, struct spry_report *report);
void json_doc_destroy(struct json_doc *doc);
const struct json_value *json_doc_root(const struct json_doc *doc);

/* The member `key` of an object, or NULL when obj is not an object or has
 * no such member (the first one wins when a key repeats). */
const struct json_value *json_get(const struct json_value *obj, const char *key);
/* The string member `key`, or NULL when absent or not a string. */
const char *json_get_str(const struct json_value *obj, const char *key, size_t *len);
/* Whether a string value equals the NUL-terminated `s` exactly. */
bool json_str_is(const struct json_value *v, const char *s);
/* Converts a NUMBER that is a non-negative integer up to `max` (no fraction,
 * no exponent). Returns 0, or SPRY_EINVAL when it is anything else. */
int json_uint(const struct json_value *v, unsigned long long max, unsigned long long *out);

#endif

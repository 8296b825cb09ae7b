/*
 * WAVE, the WebAssembly Value Encoding: component values as text, the
 * syntax of `wasmtime run --invoke 'f(1, "x")'` and of its printed results
 * (bytecodealliance/wasm-tools, crates/wasm-wave: README.md, wave_ebnf.md).
 * `spry run --invoke` parses a call with it and prints the result.
 *
 *     bool       true, false
 *     integers   123, -9              (base 10; range-checked for the type)
 *     floats     3.14, 6.022e+23, nan, inf, -inf
 *     char       'x', '\'', '\u{1F600}'   escapes \' \" \\ \t \n \r \u{HEX}
 *     string     "abc\t123"
 *     list       [1, 2, 3]            tuple  ("abc", 123)
 *     record     {a: 1, b-c: "two"}   fields in any order; option fields may
 *                                     be left out (none); all left out: {:}
 *     variant    days(30), forever    enum  south
 *     option     some(1), none, or the payload itself (1) unless the payload
 *                is an option or a result
 *     result     ok, ok(1), err, err("x"), or the ok payload itself
 *     flags      {read, write}, {}
 *
 * Labels are kebab-case words ([a-z][a-z0-9]* or [A-Z][A-Z0-9]*); a `%`
 * prefix is allowed and required for a variant or enum case that spells a
 * keyword (true false inf nan some none ok err). Whitespace and `//`
 * comments may separate tokens; trailing commas are allowed. A call is
 * `label(ARGS)`; option parameters at the end may be left out. Not
 * supported: multiline strings ("""), resources (a handle cannot be
 * written as text: an error).
 *
 * The parser is driven by the type, so its recursion depth is the type's
 * (bounded by the decoder) and every value it produces has been checked
 * against the type (ranges, labels, arity). Errors are SPRY_EINVAL with a
 * report "column N: what was expected" (N counts bytes of the text from 1);
 * SPRY_ENOMEM / SPRY_ETOOBIG when the arena is exhausted.
 *
 * The writer prints what wasm-wave prints: integers in decimal, floats in
 * the shortest form that reads back exactly, without an exponent (Rust's
 * Display), chars and strings with \\ \" \' \t \n \r and \u{hex} for the
 * other control characters, `, ` between items, record fields whose value
 * is `none` left out, `%` before a case that spells a keyword.
 */
#ifndef SPRY_COMPONENT_WAVE_H
#define SPRY_COMPONENT_WAVE_H

#include "component/ctype.h"

#include "base/arena.h"
#include "base/buf.h"
#include "spry/error.h"

#include <stddef.h>

/* A call's head: the function's label (without a `%`), and where its
 * parenthesized arguments start in the text. */
struct wave_call {
    const char *name;
    size_t name_len;
    size_t args_at;
};

/* Parses `label (` at the start of text[0..len) (whitespace allowed). */
int wave_call_head(const char *text, size_t len, struct wave_call *out, struct spry_report *report);

/*
 * Parses the arguments of `call` (text as given to wave_call_head) as the
 * parameters of ft: `(v1, v2, ...)` then the end of the text. *out is an
 * array of ft->nparams values in `arena` (NULL when there are none).
 */
int wave_call_args(const char *text, size_t len, const struct wave_call *call,
                   const struct cfunctype *ft, struct spry_arena *arena, struct cval **out,
                   struct spry_report *report);

/* Parses text[0..len) as one value of type t (whitespace around allowed). */
int wave_parse_value(const char *text, size_t len, const struct ctype *t, struct spry_arena *arena,
                     struct cval *out, struct spry_report *report);

/* Whether a value of type t can be written as text (no own or borrow in it). */
bool wave_type_printable(const struct ctype *t);

/* Appends v (of type t) to out. SPRY_EINVAL when t holds a resource;
 * what spry_buf returns. */
int wave_write_value(struct spry_buf *out, const struct ctype *t, const struct cval *v);

/* Appends a call's result as wasm-wave's DisplayFuncResults does: the value
 * when the function has a result, `()` when it has none. */
int wave_write_result(struct spry_buf *out, const struct cfunctype *ft, const struct cval *result);

#endif

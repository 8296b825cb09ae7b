/*
 * Test helper: a component value printed as text with its type, so that
 * tests compare whole values against one expected string. The format is
 * WIT-like and stable:
 *   bool true/false; integers in decimal; f32/f64 with %.9g/%.17g;
 *   char 'x' (U+XXXX past ASCII); strings "..." with \" \\ and \xNN for
 *   control bytes; lists [a, b]; records {name: v, ...}; tuples (a, b);
 *   variants case or case(v); enums case; option none/some(v); result
 *   ok/ok(v)/err/err(v); flags {a, b}; own<N>/borrow<N> with the rep.
 */
#ifndef SPRY_TEST_CVAL_TEXT_H
#define SPRY_TEST_CVAL_TEXT_H

#include "component/ctype.h"

#include <stddef.h>

/* Writes v (of type t) into buf (cut at n - 1 bytes); returns buf. A value
 * whose kind differs from its type's prints as <kind mismatch>. */
const char *cval_text(char *buf, size_t n, const struct ctype *t, const struct cval *v);

#endif

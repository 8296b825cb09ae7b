/*
 * Test helpers: component value types and values built by hand, from a
 * static pool (each test runs in its own process; nothing is freed).
 * Every type node comes back with its layout cached (layout_cache), as the
 * decoder leaves them; a test that changes a node afterwards calls
 * layout_cache on it again.
 */
#ifndef SPRY_TEST_CBUILD_H
#define SPRY_TEST_CBUILD_H

#include "component/ctype.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

void *cb_alloc(size_t size); /* zeroed; fails the test when the pool is exhausted */

const struct ctype *cb_prim(uint8_t kind);
const struct ctype *cb_list(const struct ctype *elem);
const struct ctype *cb_option(const struct ctype *elem);
const struct ctype *cb_result(const struct ctype *ok, const struct ctype *err);
const struct ctype *cb_own(uint32_t resource);
const struct ctype *cb_borrow(uint32_t resource);
/* n field types follow (records get names "f0", "f1", ...). */
const struct ctype *cb_record(uint32_t n, ...);
const struct ctype *cb_tuple(uint32_t n, ...);
/* n case payload types follow (NULL: no payload). */
const struct ctype *cb_variant(uint32_t n, ...);
const struct ctype *cb_enum(uint32_t n);
const struct ctype *cb_flags(uint32_t n);
/* A function type: n parameter types follow, then the result (or NULL). */
const struct cfunctype *cb_func(uint32_t n, ...);

/* Values. */
struct cval cv_u(uint8_t kind, uint64_t u);
struct cval cv_s(uint8_t kind, int64_t s);
struct cval cv_bool(bool b);
struct cval cv_char(uint32_t ch);
struct cval cv_f32(float f);
struct cval cv_f64(double f);
struct cval cv_str(const char *s); /* strlen */
struct cval cv_strn(const char *s, size_t n);
struct cval cv_raw(const void *p, size_t n); /* a list of numbers */
struct cval cv_rep(uint8_t kind, uint32_t rep);
struct cval cv_flags(uint32_t bits);
/* list, record, tuple: n element values follow (struct cval by value). */
struct cval cv_list(size_t n, ...);
struct cval cv_record(uint8_t kind, size_t n, ...);
/* variant-like: disc and the payload (NULL: none); the payload is copied. */
struct cval cv_var(uint8_t kind, uint32_t disc, const struct cval *payload);

#endif

/*
 * Allocation with checked sizes and fault injection.
 *
 * Every heap allocation in Spry goes through these functions so that
 *  - array sizes are overflow-checked in one place (spry_alloc_array), and
 *  - tests can make the N-th allocation fail (spry_alloc_fail_after) to prove
 *    that every caller handles out-of-memory without leaking or crashing.
 */
#ifndef SPRY_BASE_ALLOC_H
#define SPRY_BASE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *spry_malloc(size_t size);
void *spry_calloc(size_t count, size_t size); /* zeroed; NULL on overflow */
void *spry_realloc(void *ptr, size_t size);
void *spry_alloc_array(size_t count, size_t size); /* not zeroed; NULL on overflow */
void *spry_realloc_array(void *ptr, size_t count, size_t size);
void spry_free(void *ptr);
char *spry_strdup(const char *s);
char *spry_strndup(const char *s, size_t n);

/* Fault injection for tests: after `n` more successful allocations every
 * allocation fails. A negative n disables injection (the default). The
 * counter is per thread. */
void spry_alloc_fail_after(long n);

/* Overflow-checked arithmetic on sizes from untrusted input. */
static inline bool spry_add_overflow(size_t a, size_t b, size_t *out)
{
    return __builtin_add_overflow(a, b, out);
}

static inline bool spry_mul_overflow(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

#endif

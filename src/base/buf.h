/*
 * Bounded growable byte buffer.
 *
 * Invariant: len <= cap <= max, and data[len] is always a NUL byte when
 * data != NULL, so text can be passed to C string functions. Appending past
 * `max` fails with SPRY_ETOOBIG and leaves the buffer unchanged.
 */
#ifndef SPRY_BASE_BUF_H
#define SPRY_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct spry_buf {
    uint8_t *data;
    size_t len;
    size_t cap; /* bytes usable for content; one more is allocated for the NUL */
    size_t max; /* the largest len this buffer may reach */
};

void spry_buf_init(struct spry_buf *buf, size_t max);
void spry_buf_fini(struct spry_buf *buf);
void spry_buf_reset(struct spry_buf *buf); /* len = 0, keeps the memory */
int spry_buf_reserve(struct spry_buf *buf, size_t extra);
int spry_buf_append(struct spry_buf *buf, const void *bytes, size_t n);
int spry_buf_append_byte(struct spry_buf *buf, uint8_t byte);
int spry_buf_append_str(struct spry_buf *buf, const char *s);
int spry_buf_printf(struct spry_buf *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int spry_buf_vprintf(struct spry_buf *buf, const char *fmt, va_list ap);

/* Hands the content to the caller (NUL-terminated, free with spry_free) and
 * leaves the buffer empty. Returns NULL only when out of memory. */
char *spry_buf_take(struct spry_buf *buf);

/* The end of the content, for walks from data to it: data + len, but data
 * itself while the buffer is empty, as data is NULL until the first
 * reserve and arithmetic on a null pointer is undefined even with an
 * offset of 0 (clang's UBSan reports it; make ubsan). */
static inline const char *spry_buf_end(const struct spry_buf *buf)
{
    const char *p = (const char *)buf->data;
    return buf->len > 0 ? p + buf->len : p;
}

#endif

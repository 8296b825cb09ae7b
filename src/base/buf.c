#include "base/buf.h"

#include "base/alloc.h"
#include "spry/error.h"

#include <stdio.h>
#include <string.h>

void spry_buf_init(struct spry_buf *buf, size_t max)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    buf->max = max;
}

void spry_buf_fini(struct spry_buf *buf)
{
    spry_free(buf->data);
    spry_buf_init(buf, buf->max);
}

void spry_buf_reset(struct spry_buf *buf)
{
    buf->len = 0;
    if (buf->data != NULL)
        buf->data[0] = '\0';
}

int spry_buf_reserve(struct spry_buf *buf, size_t extra)
{
    size_t need;
    if (spry_add_overflow(buf->len, extra, &need) || need > buf->max)
        return SPRY_ETOOBIG;
    if (need <= buf->cap && buf->data != NULL)
        return 0;
    size_t cap = buf->cap < 64 ? 64 : buf->cap;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > buf->max)
        cap = buf->max;
    uint8_t *data = spry_realloc(buf->data, cap + 1);
    if (data == NULL)
        return SPRY_ENOMEM;
    buf->data = data;
    buf->cap = cap;
    buf->data[buf->len] = '\0';
    return 0;
}

int spry_buf_append(struct spry_buf *buf, const void *bytes, size_t n)
{
    int rc = spry_buf_reserve(buf, n);
    if (rc != 0)
        return rc;
    if (n > 0)
        memcpy(buf->data + buf->len, bytes, n);
    buf->len += n;
    buf->data[buf->len] = '\0';
    return 0;
}

int spry_buf_append_byte(struct spry_buf *buf, uint8_t byte)
{
    return spry_buf_append(buf, &byte, 1);
}

int spry_buf_append_str(struct spry_buf *buf, const char *s)
{
    return spry_buf_append(buf, s, strlen(s));
}

int spry_buf_vprintf(struct spry_buf *buf, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return SPRY_EINVAL;
    int rc = spry_buf_reserve(buf, (size_t)n);
    if (rc != 0)
        return rc;
    vsnprintf((char *)buf->data + buf->len, (size_t)n + 1, fmt, ap);
    buf->len += (size_t)n;
    return 0;
}

int spry_buf_printf(struct spry_buf *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = spry_buf_vprintf(buf, fmt, ap);
    va_end(ap);
    return rc;
}

char *spry_buf_take(struct spry_buf *buf)
{
    if (buf->data == NULL && spry_buf_reserve(buf, 0) != 0)
        return NULL;
    char *s = (char *)buf->data;
    spry_buf_init(buf, buf->max);
    return s;
}

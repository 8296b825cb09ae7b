#include "base/alloc.h"

#include <stdlib.h>
#include <string.h>

static _Thread_local long fail_countdown = -1;

void spry_alloc_fail_after(long n)
{
    fail_countdown = n;
}

/* True when fault injection says this allocation must fail. */
static bool injected_failure(void)
{
    if (fail_countdown < 0)
        return false;
    if (fail_countdown == 0)
        return true;
    fail_countdown--;
    return false;
}

void *spry_malloc(size_t size)
{
    if (injected_failure())
        return NULL;
    return malloc(size == 0 ? 1 : size);
}

void *spry_calloc(size_t count, size_t size)
{
    size_t total;
    if (spry_mul_overflow(count, size, &total) || injected_failure())
        return NULL;
    return calloc(total == 0 ? 1 : total, 1);
}

void *spry_realloc(void *ptr, size_t size)
{
    if (injected_failure())
        return NULL;
    return realloc(ptr, size == 0 ? 1 : size);
}

void *spry_alloc_array(size_t count, size_t size)
{
    size_t total;
    if (spry_mul_overflow(count, size, &total))
        return NULL;
    return spry_malloc(total);
}

void *spry_realloc_array(void *ptr, size_t count, size_t size)
{
    size_t total;
    if (spry_mul_overflow(count, size, &total))
        return NULL;
    return spry_realloc(ptr, total);
}

void spry_free(void *ptr)
{
    free(ptr);
}

char *spry_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *copy = spry_malloc(len + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

char *spry_strdup(const char *s)
{
    return spry_strndup(s, strlen(s));
}

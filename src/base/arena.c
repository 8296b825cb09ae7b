#include "base/arena.h"

#include "base/alloc.h"

#include <string.h>

/* The first block is small enough for malloc's per-thread cache (most
 * arenas, e.g. one per canonical ABI host call, hold a few values); later
 * ones are large. A large malloc also makes glibc consolidate its free
 * lists, which showed in the component call path's profile. */
enum { ARENA_ALIGN = 16, ARENA_FIRST_BLOCK = 1024 - 64, ARENA_BLOCK = 16 * 1024 };

struct spry_arena_block {
    struct spry_arena_block *next;
    size_t size; /* usable bytes after the header */
    size_t pos;
    _Alignas(ARENA_ALIGN) unsigned char bytes[];
};

void spry_arena_free_blocks(struct spry_arena *arena)
{
    struct spry_arena_block *b = arena->head;
    while (b != NULL) {
        struct spry_arena_block *next = b->next;
        if ((void *)b != arena->buf)
            spry_free(b);
        b = next;
    }
    arena->head = NULL;
}

void *spry_arena_alloc(struct spry_arena *arena, size_t size)
{
    size_t rounded, used;
    if (spry_add_overflow(size, ARENA_ALIGN - 1, &rounded))
        return NULL;
    rounded &= ~(size_t)(ARENA_ALIGN - 1);
    if (rounded == 0)
        rounded = ARENA_ALIGN;
    if (spry_add_overflow(arena->used, rounded, &used) || used > arena->limit)
        return NULL;
    struct spry_arena_block *b = arena->head;
    if (b == NULL && arena->buf != NULL && arena->buf_size >= sizeof *b + ARENA_ALIGN) {
        /* the first allocation: the caller's buffer becomes the head block */
        b = arena->buf;
        b->next = NULL;
        b->size = arena->buf_size - sizeof *b;
        b->pos = 0;
        arena->head = b;
    }
    if (b == NULL || b->size - b->pos < rounded) {
        size_t want = b == NULL ? ARENA_FIRST_BLOCK : ARENA_BLOCK;
        size_t bsize = rounded > want ? rounded : want;
        b = spry_malloc(sizeof *b + bsize);
        if (b == NULL)
            return NULL;
        b->size = bsize;
        b->pos = 0;
        b->next = arena->head;
        arena->head = b;
    }
    void *p = b->bytes + b->pos;
    b->pos += rounded;
    arena->used = used;
    memset(p, 0, size);
    return p;
}

void *spry_arena_alloc_array(struct spry_arena *arena, size_t count, size_t size)
{
    size_t total;
    if (spry_mul_overflow(count, size, &total))
        return NULL;
    return spry_arena_alloc(arena, total);
}

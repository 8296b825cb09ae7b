/*
 * Arena: many small allocations freed as a whole (per request, per module
 * load). Blocks are chained; `limit` caps the total bytes the arena may hold,
 * so a hostile input cannot make it grow without bound.
 */
#ifndef SPRY_BASE_ARENA_H
#define SPRY_BASE_ARENA_H

#include <stddef.h>

struct spry_arena_block;

struct spry_arena {
    struct spry_arena_block *head;
    size_t used;     /* bytes handed out, including alignment padding */
    size_t limit;    /* maximum of used */
    void *buf;       /* the caller's first block (spry_arena_init_buf), or NULL */
    size_t buf_size; /* its bytes; the first allocation makes it the head block */
};

/*
 * init, init_buf and fini are inline: an arena that lives for one
 * canonical ABI host call is set up and torn down on every call, and
 * usually never leaves the caller's buffer (or allocates nothing at all).
 * The buffer becomes the head block at the first allocation; blocks are
 * only ever prepended, so head NULL or head == buf means nothing was
 * malloc'd.
 */
static inline void spry_arena_init(struct spry_arena *arena, size_t limit)
{
    arena->head = NULL;
    arena->used = 0;
    arena->limit = limit;
    arena->buf = NULL;
    arena->buf_size = 0;
}

/* The same, with buf[0..size) (16-byte aligned, e.g. on the caller's
 * stack) as the first block, so that an arena that stays small never
 * calls malloc; fini leaves buf alone. buf must outlive the arena. */
static inline void spry_arena_init_buf(struct spry_arena *arena, size_t limit, void *buf,
                                       size_t size)
{
    spry_arena_init(arena, limit);
    arena->buf = buf;
    arena->buf_size = size;
}

/* Frees the blocks spry_arena_alloc malloc'd (fini's slow path). */
void spry_arena_free_blocks(struct spry_arena *arena);

static inline void spry_arena_fini(struct spry_arena *arena)
{
    if (arena->head != NULL && (void *)arena->head != arena->buf)
        spry_arena_free_blocks(arena);
    spry_arena_init(arena, arena->limit);
}

/* 16-byte aligned, zeroed memory; NULL when out of memory or past the limit. */
void *spry_arena_alloc(struct spry_arena *arena, size_t size);
void *spry_arena_alloc_array(struct spry_arena *arena, size_t count, size_t size);

#endif

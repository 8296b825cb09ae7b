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
    size_t used;  /* bytes handed out, including alignment padding */
    size_t limit; /* maximum of used */
    void *buf;    /* the caller's first block (spry_arena_init_buf), or NULL */
};

void spry_arena_init(struct spry_arena *arena, size_t limit);
/* The same, with buf[0..size) (16-byte aligned, e.g. on the caller's
 * stack) as the first block, so that an arena that stays small never
 * calls malloc; fini leaves buf alone. buf must outlive the arena. */
void spry_arena_init_buf(struct spry_arena *arena, size_t limit, void *buf, size_t size);
void spry_arena_fini(struct spry_arena *arena);
/* 16-byte aligned, zeroed memory; NULL when out of memory or past the limit. */
void *spry_arena_alloc(struct spry_arena *arena, size_t size);
void *spry_arena_alloc_array(struct spry_arena *arena, size_t count, size_t size);

#endif

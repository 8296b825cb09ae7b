/*
 * Test fixture for the canonical ABI: a store with one standalone memory
 * (1 page, growable to 4), a realloc written in C that logs every call and
 * can be told to misbehave, a component instance with two host resource
 * types, and a context over them.
 */
#ifndef SPRY_TEST_CANON_FIXTURE_H
#define SPRY_TEST_CANON_FIXTURE_H

#include "component/canon.h"

#include <stdint.h>

struct realloc_call {
    uint32_t old, old_size, align, new_size, result;
};

enum realloc_mode {
    REALLOC_BUMP,       /* bump allocation from `next`, copying on every call */
    REALLOC_MISALIGNED, /* returns an odd address */
    REALLOC_OUTSIDE,    /* returns an address near the end of memory */
    REALLOC_TRAP,       /* traps */
};

struct fixture {
    struct spry_store *store;
    struct spry_memory *mem;
    uint8_t *base;
    struct spry_func *realloc;
    enum realloc_mode mode;
    uint32_t next;                      /* the bump pointer (starts at 0x1000) */
    uint32_t scribble_at, scribble_len; /* bytes realloc overwrites with 0xf0 */
    struct realloc_call calls[64];
    uint32_t ncalls;

    /* Resource types: 0 "stream" (host, drops logged), 1 "fields" (host, no
     * drop), 2 "thing" (guest-defined, dtor logged). */
    struct chost_resource host_res[2];
    struct canon_rtype rtypes[3];
    const struct canon_rtype *rtype_ptrs[3];
    struct spry_func *dtor;
    uint32_t dropped[64]; /* reps passed to a drop or dtor, in order */
    uint32_t ndropped;

    struct canon_inst inst;
    struct canon_options opts;
    struct spry_arena arena;
    struct handles_scope scope;
    struct canon_cx cx;
};

/* The fixture in use (one per test process). */
extern struct fixture fx;

/* Sets everything up with the given string encoding; cx has views on. */
void fx_init(uint8_t encoding);
/* A fresh context (new report, arena kept). */
void fx_new_cx(bool views);
void fx_fini(void);

/* Asserts that the last operation trapped with exactly this message, and
 * clears the message for the next check. */
void fx_expect_trap(int rc, const char *message);

void fx_put(uint32_t ptr, const void *bytes, size_t n);
void fx_put32(uint32_t ptr, uint32_t v);
uint32_t fx_get32(uint32_t ptr);

#endif

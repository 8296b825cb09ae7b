/*
 * The process-wide intern table of function types.
 *
 * call_indirect compares the callee's type with the expected one across
 * modules and host functions, so each structurally distinct type gets one
 * small id (>= 1) for the life of the process: equal ids <=> equal types.
 *
 * Invariants: `slots` is an open-addressing table of `cap` entries (a power
 * of two, or 0 before first use) holding `count` entries, never more than
 * half full; an empty slot has id 0. Entries own a copy of their value
 * types and are never removed, so ids stay stable. The table is capped at
 * FUNCTYPE_MAX_ENTRIES distinct types so that a stream of hostile modules
 * cannot grow it without bound; past the cap interning fails like an
 * out-of-memory condition. Every access holds `lock`.
 */
#include "base/alloc.h"
#include "wasm/module.h"

#include <pthread.h>
#include <string.h>

enum { FUNCTYPE_MAX_ENTRIES = 1 << 22 };

struct functype_entry {
    uint32_t id; /* 0: empty slot */
    uint32_t hash;
    uint32_t nparams;
    uint32_t nresults;
    uint8_t *types; /* owned; nparams + nresults bytes (NULL when both are 0) */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct functype_entry *slots;
static size_t cap;
static size_t count;

/* FNV-1a over the counts and the types. */
static uint32_t functype_hash(const uint8_t *types, uint32_t nparams, uint32_t nresults)
{
    uint32_t h = 2166136261u;
    uint32_t counts[2] = {nparams, nresults};
    const uint8_t *c = (const uint8_t *)counts;
    for (size_t i = 0; i < sizeof counts; i++)
        h = (h ^ c[i]) * 16777619u;
    size_t n = (size_t)nparams + nresults;
    for (size_t i = 0; i < n; i++)
        h = (h ^ types[i]) * 16777619u;
    return h;
}

static bool entry_equals(const struct functype_entry *e, uint32_t hash, const uint8_t *types,
                         uint32_t nparams, uint32_t nresults)
{
    if (e->hash != hash || e->nparams != nparams || e->nresults != nresults)
        return false;
    size_t n = (size_t)nparams + nresults;
    return n == 0 || memcmp(e->types, types, n) == 0;
}

/* Doubles the table (or creates it). Returns false when out of memory. */
static bool grow(void)
{
    size_t new_cap = cap == 0 ? 256 : cap * 2;
    struct functype_entry *fresh = spry_calloc(new_cap, sizeof *fresh);
    if (fresh == NULL)
        return false;
    for (size_t i = 0; i < cap; i++) {
        if (slots[i].id == 0)
            continue;
        size_t j = slots[i].hash & (new_cap - 1);
        while (fresh[j].id != 0)
            j = (j + 1) & (new_cap - 1);
        fresh[j] = slots[i];
    }
    spry_free(slots);
    slots = fresh;
    cap = new_cap;
    return true;
}

uint32_t functype_intern(const uint8_t *types, uint32_t nparams, uint32_t nresults)
{
    uint32_t hash = functype_hash(types, nparams, nresults);
    size_t n = (size_t)nparams + nresults;
    uint32_t id = 0;

    pthread_mutex_lock(&lock);
    if (cap != 0) {
        for (size_t j = hash & (cap - 1); slots[j].id != 0; j = (j + 1) & (cap - 1)) {
            if (entry_equals(&slots[j], hash, types, nparams, nresults)) {
                id = slots[j].id;
                goto out;
            }
        }
    }
    if (count >= FUNCTYPE_MAX_ENTRIES)
        goto out;
    if ((count + 1) * 2 > cap && !grow())
        goto out;
    uint8_t *copy = NULL;
    if (n != 0) {
        copy = spry_malloc(n);
        if (copy == NULL)
            goto out;
        memcpy(copy, types, n);
    }
    size_t j = hash & (cap - 1);
    while (slots[j].id != 0)
        j = (j + 1) & (cap - 1);
    count++;
    id = (uint32_t)count;
    slots[j] = (struct functype_entry){id, hash, nparams, nresults, copy};
out:
    pthread_mutex_unlock(&lock);
    return id;
}

/*
 * Linear memories.
 *
 * With guard pages (default on 64-bit hosts) a memory is a reservation of
 * MEMORY_RESERVE bytes of address space: the accessible [0, size) is
 * read-write and the rest PROT_NONE. An effective address is a u32 plus a
 * u32 offset, below 8 GiB, so every access of up to 16 bytes stays inside
 * the reservation and an out-of-bounds one faults (trap.c turns the fault
 * into a trap). Growing never moves the memory.
 *
 * With SPRY_EXPLICIT_BOUNDS the interpreter checks every access against
 * size, and the mapping is only as large as the maximum the memory can
 * reach (reserved up front, so growing does not move it either).
 */
#include "base/alloc.h"
#include "wasm/runtime.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define MEMORY_RESERVE ((size_t)8 << 30)  /* 8 GiB */
#define MEMORY_GUARD   ((size_t)64 << 10) /* beyond the 8 GiB, for access widths */

size_t memory_reservation_size(uint64_t max_pages)
{
#if SPRY_EXPLICIT_BOUNDS
    size_t bytes = (size_t)max_pages * WASM_PAGE_SIZE;
    return bytes == 0 ? (size_t)WASM_PAGE_SIZE : bytes;
#else
    (void)max_pages;
    return MEMORY_RESERVE + MEMORY_GUARD;
#endif
}

/* The pages a memory may reach: its declared maximum within the store's cap. */
static uint64_t max_pages_of(const struct spry_store *store, struct spry_limits limits)
{
    uint64_t limit_pages = store->limits.max_memory_bytes / WASM_PAGE_SIZE;
    uint64_t max_pages = limits.has_max ? limits.max : WASM_MAX_PAGES;
    return max_pages < limit_pages ? max_pages : limit_pages;
}

int memory_create_in(struct spry_store *store, struct spry_limits limits, uint8_t *base,
                     size_t reserved, uint8_t *written, struct spry_memory **out)
{
    uint64_t max_pages = max_pages_of(store, limits);
    if (limits.min > max_pages || max_pages * WASM_PAGE_SIZE > reserved)
        return SPRY_EEXHAUSTED;
    struct spry_memory *mem = spry_calloc(1, sizeof *mem);
    if (mem == NULL)
        return SPRY_ENOMEM;
    mem->base = base;
    mem->size = (size_t)limits.min * WASM_PAGE_SIZE;
    mem->rw = mem->size;
    mem->max_pages = max_pages;
    mem->reserved = reserved;
    mem->type = limits;
    mem->store = store;
    mem->pooled = true;
    mem->written = written;
    *out = mem;
    return 0;
}

int memory_create(struct spry_store *store, struct spry_limits limits, struct spry_memory **out)
{
    uint64_t max_pages = max_pages_of(store, limits);
    if (limits.min > max_pages)
        return SPRY_EEXHAUSTED;
    struct spry_memory *mem = spry_calloc(1, sizeof *mem);
    if (mem == NULL)
        return SPRY_ENOMEM;
    size_t reserve = memory_reservation_size(max_pages);
    void *base = mmap(NULL, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        spry_free(mem);
        return SPRY_ENOMEM;
    }
    size_t size = (size_t)limits.min * WASM_PAGE_SIZE;
    if ((size > 0 && mprotect(base, size, PROT_READ | PROT_WRITE) != 0) ||
        written_map_create(reserve, &mem->written, &mem->written_len) != 0) {
        munmap(base, reserve);
        spry_free(mem);
        return SPRY_ENOMEM;
    }
    mem->base = base;
    mem->size = size;
    mem->rw = size;
    mem->max_pages = max_pages;
    mem->reserved = reserve;
    mem->type = limits;
    mem->store = store;
    *out = mem;
    return 0;
}

int64_t memory_grow(struct spry_memory *mem, uint64_t delta)
{
    uint64_t old_pages = mem->size / WASM_PAGE_SIZE;
    if (delta == 0)
        return (int64_t)old_pages;
    if (delta > mem->max_pages || old_pages > mem->max_pages - delta)
        return -1;
    size_t new_size = (size_t)(old_pages + delta) * WASM_PAGE_SIZE;
    if (new_size > mem->rw) {
        if (mprotect(mem->base + mem->rw, new_size - mem->rw, PROT_READ | PROT_WRITE) != 0)
            return -1;
        memory_set_slack(mem, new_size, new_size);
    } else {
        memory_set_slack(mem, new_size, mem->rw); /* already read-write and zero */
    }
    return (int64_t)old_pages;
}

void memory_set_slack(struct spry_memory *mem, uint64_t size, uint64_t rw)
{
    bool was = mem->rw > mem->size, now = rw > size;
    if (was != now) {
        if (now)
            mem->store->slack_memories++;
        else
            mem->store->slack_memories--;
    }
    mem->size = size;
    mem->rw = rw;
    mem->type.min = size / WASM_PAGE_SIZE;
}

void memory_free(struct spry_memory *mem)
{
    if (mem == NULL)
        return;
    memory_set_slack(mem, mem->size, mem->size); /* no longer counted */
    if (!mem->pooled) {
        /* A memory created zero: every granule not marked must still be. */
        if (written_check_enabled()) {
            int64_t bad = written_check(mem->base, mem->written, mem->size, NULL, 0);
            if (bad >= 0)
                written_check_fail("a memory when freed", bad);
        }
        munmap(mem->base, mem->reserved);
        written_map_destroy(mem->written, mem->written_len);
    }
    spry_free(mem);
}

bool memory_contains(const struct spry_memory *mem, const void *addr)
{
    const uint8_t *p = addr;
    return p >= mem->base && p < mem->base + mem->reserved;
}

/*
 * Initial memory images and the pool slots' memories (image.c).
 *
 * An image is the first `len` bytes of a module's memory as instantiation
 * leaves it (active data segments applied), page-rounded; the rest of the
 * initial memory, up to `initial` bytes, is zero. Large images live in a
 * memfd that slots map MAP_PRIVATE (copy-on-write: a request pays only for
 * the pages it touches); small ones are copied into the slot, which is
 * cheaper than taking page faults on them.
 *
 * A slot memory is a fixed reservation: [0, rw) read-write, the rest
 * PROT_NONE. While an image is loaded, rw >= the image's initial size.
 */
#ifndef SPRY_WASM_IMAGE_H
#define SPRY_WASM_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct memory_image {
    uint64_t initial;     /* bytes of the memory at instantiation (a multiple of 64 KiB) */
    size_t len;           /* image bytes, page-rounded, <= initial */
    const uint8_t *bytes; /* read-only view of the image (NULL when len == 0) */
    int fd;               /* memfd holding it, mapped copy-on-write; -1: copied */
    size_t view_len;      /* bytes mapped at `bytes` (0: heap copy) */
};

/* Images of at least this many bytes are mapped copy-on-write, smaller ones
 * copied (docs/benchmarks.md, "Instance pool", has the measurement). */
#define IMAGE_COW_MIN_BYTES ((size_t)64 << 10)

/* Builds the image of mem[0, extent) for a memory of `initial` bytes.
 * cow_min_bytes: the size from which a memfd is used (SIZE_MAX: never). */
int image_init(struct memory_image *img, const uint8_t *mem, uint64_t initial, uint64_t extent,
               size_t cow_min_bytes);
void image_fini(struct memory_image *img);

/*
 * Written-page maps. Every memory records where it has been written: one
 * byte per 1 KiB granule (1 << WRITTEN_SHIFT) of its reservation, set non-zero by
 * every writer -- the interpreter's stores, memory.fill, memory.copy and
 * memory.init, active data segments, and host code through
 * spry_memory_note_write (WASI, the canonical ABI) -- so that a pool slot's
 * reset puts back exactly the marked pages and reads nothing else. The
 * granule is fixed, not the host's page size: an unmarked granule holds
 * what it held after the last reset whatever the page around it went
 * through, so restoring the marked ones is enough on any page size.
 *
 * The interpreter's stores mark only the granule of their first byte (one
 * byte store, the cheapest mark there is): a store of up to 8 bytes that
 * crosses into the next granule puts at most WRITTEN_SPILL bytes there, so
 * the reset also compares the first WRITTEN_SPILL bytes of the granule
 * after each marked one and puts them back when they differ (a compare,
 * not a write, so an untouched copy-on-write page stays shared).
 *
 * Invariant (a missed writer breaks it and leaks one request's bytes into
 * the next): between two resets of a slot memory, every granule of [0, rw)
 * whose byte is zero holds the image's bytes (zeroes past the image),
 * except for its first WRITTEN_SPILL bytes when the granule before it is
 * marked; for a memory not in a pool, the same with zeroes. With the
 * environment variable SPRY_CHECK_WRITES=1 both are verified (at each
 * reset, and when a memory is freed) and a violation aborts the process;
 * the test suites run with it on.
 */
#define WRITTEN_SHIFT 10 /* 1 KiB: docs/benchmarks.md, "1 KiB written granules" */
#define WRITTEN_SPILL 7

/* A map for a reservation of `reserved` bytes: *len bytes, zero, mapped
 * MAP_NORESERVE so that only the parts in use take memory. */
int written_map_create(size_t reserved, uint8_t **out, size_t *len);
void written_map_destroy(uint8_t *map, size_t len);

/* Whether SPRY_CHECK_WRITES is on (read once); written_check_force sets it
 * for tests (1 on, 0 off, -1 back to the environment's). */
bool written_check_enabled(void);
void written_check_force(int on);

/* The offset of the first granule of [0, size) that is not marked in map
 * and differs from expect[0, expect_len) followed by zeroes (past its
 * first WRITTEN_SPILL bytes when the granule before it is marked), or -1
 * when there is none. size: a multiple of the granule. */
int64_t written_check(const uint8_t *mem, const uint8_t *map, size_t size, const uint8_t *expect,
                      size_t expect_len);

/* Aborts with a message naming the memory's granule at `offset`: a write
 * that no writer marked (written_check's find). */
_Noreturn void written_check_fail(const char *what, int64_t offset);

struct slot_memory {
    uint8_t *base;
    size_t reserved;                   /* bytes of address space at base */
    size_t rw;                         /* bytes at base that are read-write */
    size_t mapped_len;                 /* bytes of an image's memfd mapped at base */
    const struct memory_image *loaded; /* the image the memory holds, or NULL */
    uint8_t *written;                  /* the written-page map of the reservation (made by
                                        * slot_memory_load); the memory created in the slot
                                        * marks it (struct instance_slot) */
    size_t written_len;
};

/* Makes the slot hold a fresh copy of img: [0, img->initial) read-write
 * with the image, the rest inaccessible. Makes mmap/mprotect calls. */
int slot_memory_load(struct slot_memory *sm, const struct memory_image *img);

/*
 * Returns a loaded memory whose first rw_now bytes are read-write (it grew
 * into them, now or in an earlier use of the slot) to the contents it had
 * right after slot_memory_load. The granules the instance wrote
 * (grown ones included), the ones marked in sm->written, are written back
 * in place, so they stay resident, and their marks are cleared; grown ones
 * are zeroed and stay read-write: sm->rw is left at rw_now, and the caller must have accesses
 * beyond the memory's size checked (runtime.h, memory_set_slack). On the virtual machines Spry was
 * measured on, changing a present page's protection or dropping it costs 30-50 us and the next
 * touch of it a fault of ~15 us, while a 4 KiB copy costs 0.05 us (docs/benchmarks.md), so a reset
 * makes no mmap, mprotect or madvise call when the pages fit. When they exceed keep_resident bytes,
 * the memory is discarded with madvise(MADV_DONTNEED) instead (copy-on-write pages then read from
 * the image again, anonymous ones as zeroes) and grown pages are made inaccessible again (sm->rw =
 * the image's initial size); so are they when they are more than keep_resident bytes.
 */
int slot_memory_reset(struct slot_memory *sm, uint64_t rw_now, size_t keep_resident);

/* Drops every page and mapping: the reservation is inaccessible again. */
int slot_memory_wipe(struct slot_memory *sm);

/* Wipes and frees the written-page map (the reservation is the pool's). */
void slot_memory_fini(struct slot_memory *sm);

#endif

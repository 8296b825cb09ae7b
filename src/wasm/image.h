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

struct slot_memory {
    uint8_t *base;
    size_t reserved;                   /* bytes of address space at base */
    size_t rw;                         /* bytes at base that are read-write */
    size_t mapped_len;                 /* bytes of an image's memfd mapped at base */
    const struct memory_image *loaded; /* the image the memory holds, or NULL */
};

/* Makes the slot hold a fresh copy of img: [0, img->initial) read-write
 * with the image, the rest inaccessible. Makes mmap/mprotect calls. */
int slot_memory_load(struct slot_memory *sm, const struct memory_image *img);

/*
 * Returns a loaded memory whose first rw_now bytes are read-write (it grew
 * into them, now or in an earlier use of the slot) to the contents it had
 * right after slot_memory_load. Pages the instance wrote (grown ones
 * included) are found in /proc/self/pagemap and written back in place, so
 * they stay resident; grown ones are zeroed and stay read-write: sm->rw
 * is left at rw_now, and the caller must have accesses beyond the memory's
 * size checked (runtime.h, memory_set_slack). On the virtual machines Spry
 * was measured on, changing a present page's protection or dropping it
 * costs 30-50 us and the next touch of it a fault of ~15 us, while a 4 KiB
 * copy costs 0.05 us (docs/benchmarks.md), so a reset makes no mmap,
 * mprotect or madvise call when the pages fit. When they exceed
 * keep_resident bytes, or the page map is unreadable, the memory is
 * discarded with madvise(MADV_DONTNEED) instead (copy-on-write pages then
 * read from the image again, anonymous ones as zeroes) and grown pages are
 * made inaccessible again (sm->rw = the image's initial size); so are they
 * when they are more than keep_resident bytes.
 */
int slot_memory_reset(struct slot_memory *sm, uint64_t rw_now, size_t keep_resident);

/* Drops every page and mapping: the reservation is inaccessible again. */
int slot_memory_wipe(struct slot_memory *sm);

#endif

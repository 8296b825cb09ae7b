/*
 * Memory images and slot memories (see image.h).
 *
 * A reset writes back the granules marked in the memory's written-page
 * map, so it costs in proportion to what the request wrote plus a scan of
 * one byte per 1 KiB of the memory, with no system call. When the marked
 * granules are too many it discards everything instead, relying on two
 * properties of Linux's madvise(MADV_DONTNEED): on a private anonymous
 * mapping the range reads as zeroes afterwards, and on a private file
 * mapping it reads as the file's contents again (the copies made by
 * earlier writes are dropped).
 */
#include "wasm/image.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "spry/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GRANULE ((size_t)1 << WRITTEN_SHIFT)

static size_t page_size(void)
{
    static size_t cached;
    if (cached == 0) {
        long p = sysconf(_SC_PAGESIZE);
        cached = p > 0 ? (size_t)p : 4096;
    }
    return cached;
}

static size_t round_up(uint64_t n, size_t to)
{
    return (size_t)((n + to - 1) / to * to);
}

/* Writes all of buf to fd at offset 0. */
static int write_all(int fd, const uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(fd, buf + done, len - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return SPRY_EIO;
        done += (size_t)n;
    }
    return 0;
}

/* Puts the image in a memfd and maps it read-only as img->bytes. Fails
 * (harmlessly: the caller then copies) where memfd_create is unavailable. */
static int image_to_memfd(struct memory_image *img, const uint8_t *mem)
{
    int fd = memfd_create("spry-image", MFD_CLOEXEC);
    if (fd < 0)
        return SPRY_EIO;
    if (ftruncate(fd, (off_t)img->len) != 0 || write_all(fd, mem, img->len) != 0) {
        close(fd);
        return SPRY_EIO;
    }
    void *view = mmap(NULL, img->len, PROT_READ, MAP_SHARED, fd, 0);
    if (view == MAP_FAILED) {
        close(fd);
        return SPRY_EIO;
    }
    img->fd = fd;
    img->bytes = view;
    img->view_len = img->len;
    return 0;
}

int image_init(struct memory_image *img, const uint8_t *mem, uint64_t initial, uint64_t extent,
               size_t cow_min_bytes)
{
    memset(img, 0, sizeof *img);
    img->fd = -1;
    img->initial = initial;
    if (extent > initial)
        return SPRY_EINVAL;
    img->len = round_up(extent, page_size());
    if (img->len > initial)
        img->len = (size_t)initial;
    /* restore_spill relies on it: a granule is in the image or past it. */
    SPRY_ASSERT(img->len % GRANULE == 0);
    if (img->len == 0)
        return 0;
    if (img->len >= cow_min_bytes && image_to_memfd(img, mem) == 0)
        return 0;
    uint8_t *copy = spry_malloc(img->len);
    if (copy == NULL)
        return SPRY_ENOMEM;
    memcpy(copy, mem, img->len);
    img->bytes = copy;
    return 0;
}

void image_fini(struct memory_image *img)
{
    if (img->view_len > 0)
        munmap((void *)img->bytes, img->view_len);
    else
        spry_free((void *)img->bytes);
    if (img->fd >= 0)
        close(img->fd);
    memset(img, 0, sizeof *img);
    img->fd = -1;
}

/* ---- written-page maps --------------------------------------------------- */

int written_map_create(size_t reserved, uint8_t **out, size_t *len)
{
    /* +1: a store's last byte may be the reservation's last. */
    size_t n = round_up((reserved >> WRITTEN_SHIFT) + 1, page_size());
    void *map =
        mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED)
        return SPRY_ENOMEM;
    *out = map;
    *len = n;
    return 0;
}

void written_map_destroy(uint8_t *map, size_t len)
{
    if (map != NULL)
        munmap(map, len);
}

/* -1: not read yet; 0 off; 1 on. */
static atomic_int check_state = -1;

bool written_check_enabled(void)
{
    int on = atomic_load_explicit(&check_state, memory_order_relaxed);
    if (on < 0) {
        const char *v = getenv("SPRY_CHECK_WRITES");
        on = v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
        atomic_store_explicit(&check_state, on, memory_order_relaxed);
    }
    return on != 0;
}

void written_check_force(int on)
{
    atomic_store(&check_state, on < 0 ? -1 : on != 0);
}

static bool zero_bytes(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

int64_t written_check(const uint8_t *mem, const uint8_t *map, size_t size, const uint8_t *expect,
                      size_t expect_len)
{
    for (size_t i = 0; i < size >> WRITTEN_SHIFT; i++) {
        if (map[i] != 0)
            continue;
        /* A store into the granule before may have spilled into this one. */
        size_t skip = i > 0 && map[i - 1] != 0 ? WRITTEN_SPILL : 0;
        size_t off = (i << WRITTEN_SHIFT) + skip, end = (i + 1) << WRITTEN_SHIFT;
        size_t from_image = off >= expect_len ? 0 : (expect_len < end ? expect_len : end) - off;
        if ((from_image > 0 && memcmp(mem + off, expect + off, from_image) != 0) ||
            !zero_bytes(mem + off + from_image, end - off - from_image))
            return (int64_t)(i << WRITTEN_SHIFT);
    }
    return -1;
}

_Noreturn void written_check_fail(const char *what, int64_t offset)
{
    fprintf(stderr,
            "spry: SPRY_CHECK_WRITES: %s: bytes at offset %#llx (granule %llu of %u bytes) "
            "changed without being marked written; a write path misses spry_memory_note_write\n",
            what, (unsigned long long)offset, (unsigned long long)(offset >> WRITTEN_SHIFT),
            1u << WRITTEN_SHIFT);
    abort();
}

/* ---- slot memories ---------------------------------------------------------- */

int slot_memory_wipe(struct slot_memory *sm)
{
    size_t used = sm->rw > sm->mapped_len ? sm->rw : sm->mapped_len;
    if (used > 0 &&
        mmap(sm->base, used, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
             0) == MAP_FAILED)
        return SPRY_ENOMEM;
    if (sm->written != NULL && used > 0)
        memset(sm->written, 0, (used >> WRITTEN_SHIFT) + 1);
    sm->rw = 0;
    sm->mapped_len = 0;
    sm->loaded = NULL;
    return 0;
}

void slot_memory_fini(struct slot_memory *sm)
{
    slot_memory_wipe(sm);
    written_map_destroy(sm->written, sm->written_len);
    sm->written = NULL;
    sm->written_len = 0;
}

int slot_memory_load(struct slot_memory *sm, const struct memory_image *img)
{
    if (img->initial > sm->reserved)
        return SPRY_EEXHAUSTED;
    if (sm->written == NULL &&
        written_map_create(sm->reserved, &sm->written, &sm->written_len) != 0)
        return SPRY_ENOMEM;
    int rc = slot_memory_wipe(sm);
    if (rc != 0)
        return rc;
    size_t start = 0;
    if (img->fd >= 0) {
        if (mmap(sm->base, img->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, img->fd, 0) ==
            MAP_FAILED)
            return SPRY_ENOMEM;
        sm->mapped_len = img->len;
        start = img->len;
    }
    if (img->initial > start &&
        mprotect(sm->base + start, (size_t)img->initial - start, PROT_READ | PROT_WRITE) != 0) {
        slot_memory_wipe(sm);
        return SPRY_ENOMEM;
    }
    if (img->fd < 0 && img->len > 0)
        memcpy(sm->base, img->bytes, img->len);
    sm->rw = (size_t)img->initial;
    sm->loaded = img;
    return 0;
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

/* Puts back [off, off + len) of a memory from the image (zeroes past it). */
static void restore_bytes(uint8_t *base, const struct memory_image *img, size_t off, size_t len)
{
    size_t from_image = off >= img->len ? 0 : img->len - off < len ? img->len - off : len;
    if (from_image > 0)
        memcpy(base + off, img->bytes + off, from_image);
    if (from_image < len)
        memset(base + off + from_image, 0, len - from_image);
}

/*
 * The first WRITTEN_SPILL bytes of an unmarked granule at off, which a
 * store into the granule before may have written (image.h): compared
 * first, so that an untouched copy-on-write page is not copied. Both sides
 * are read as one 8-byte word each, straight from memory: a small buffer
 * on the stack built with two overlapping stores and read back as words
 * fails store forwarding, and such a load waits for every older store to
 * complete, the zeroing just issued for the run before included (most of
 * the reset's time in perf). The eighth byte is the granule's own and is
 * written back as it is. The image's length is a multiple of the page
 * size, so a granule is wholly inside the image or wholly past it.
 */
static void restore_spill(uint8_t *base, const struct memory_image *img, size_t off)
{
    static const uint8_t spill_bytes[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0};
    _Static_assert(WRITTEN_SPILL == 7, "the mask covers the first 7 bytes of a word");
    uint64_t mask = load64(spill_bytes);
    uint64_t want = off < img->len ? load64(img->bytes + off) & mask : 0;
    uint64_t have = load64(base + off);
    if ((have & mask) != want) {
        have = (have & ~mask) | want;
        memcpy(base + off, &have, sizeof have);
    }
}

/* The index of the first marked granule in map[i, n), or n. A request
 * writes few granules, so most of the map is zero: it is skipped 64 bytes
 * (64 granules) per test, with eight separate word loads (one wide copy
 * read back as words stalls on store forwarding). */
static size_t next_marked(const uint8_t *map, size_t i, size_t n)
{
    while (n - i >= 64) {
        const uint8_t *p = map + i;
        if ((load64(p) | load64(p + 8) | load64(p + 16) | load64(p + 24) | load64(p + 32) |
             load64(p + 40) | load64(p + 48) | load64(p + 56)) != 0)
            break;
        i += 64;
    }
    while (n - i >= 8 && load64(map + i) == 0)
        i += 8;
    while (i < n && map[i] == 0)
        i++;
    return i;
}

/*
 * Puts back, in place, the granules of [0, size) marked in sm->written
 * (the image's bytes below its length, zeroes above) and the spill into the
 * unmarked granule after each run of marked ones, and clears their marks.
 * A run of adjacent marked granules is put back with one copy (a
 * memory.fill or a data segment marks many). Returns 1 when they add up to
 * more than `budget` bytes (the marks are then all cleared and the caller
 * discards everything instead), else 0.
 */
static int restore_marked(struct slot_memory *sm, size_t size, size_t budget)
{
    const struct memory_image *img = sm->loaded;
    uint8_t *map = sm->written;
    size_t n = size >> WRITTEN_SHIFT, resident = 0;
    for (size_t i = next_marked(map, 0, n); i < n; i = next_marked(map, i, n)) {
        /* Runs are short (a few granules): their marks are cleared as
         * they are found rather than by a call to memset. */
        size_t end = i + 1;
        map[i] = 0;
        while (end < n && map[end] != 0)
            map[end++] = 0;
        resident += (end - i) << WRITTEN_SHIFT;
        if (resident > budget) {
            memset(map, 0, n);
            return 1;
        }
        restore_bytes(sm->base, img, i << WRITTEN_SHIFT, (end - i) << WRITTEN_SHIFT);
        if (end < n)
            restore_spill(sm->base, img, end << WRITTEN_SHIFT);
        i = end;
    }
    return 0;
}

int slot_memory_reset(struct slot_memory *sm, uint64_t rw_now, size_t keep_resident)
{
    const struct memory_image *img = sm->loaded;
    size_t initial = (size_t)img->initial, rw = (size_t)rw_now;
    if (rw > sm->rw)
        sm->rw = rw;
    if (written_check_enabled()) {
        int64_t bad = written_check(sm->base, sm->written, rw, img->bytes, img->len);
        if (bad >= 0)
            written_check_fail("a pool slot's memory at reset", bad);
    }
    bool restored = rw > 0 && keep_resident > 0 && restore_marked(sm, rw, keep_resident) == 0;
    if (!restored && rw > 0)
        memset(sm->written, 0, rw >> WRITTEN_SHIFT); /* everything is discarded below */
    if (rw > initial && (!restored || rw - initial > keep_resident)) {
        /* Too much was written to put back in place, or the memory grew
         * further than the slot keeps read-write (each reset reads the page
         * map of all of it): the grown pages are dropped and made
         * inaccessible again. */
        size_t grown = rw - initial;
        if ((!restored && madvise(sm->base + initial, grown, MADV_DONTNEED) != 0) ||
            mprotect(sm->base + initial, grown, PROT_NONE) != 0)
            return SPRY_EIO;
        sm->rw = initial;
    }
    if (restored || initial == 0)
        return 0;
    /* Discard everything; a copied image is written back. */
    if (madvise(sm->base, initial, MADV_DONTNEED) != 0)
        return SPRY_EIO;
    if (img->fd < 0 && img->len > 0)
        memcpy(sm->base, img->bytes, img->len);
    return 0;
}

/*
 * Memory images and slot memories (see image.h).
 *
 * Resetting relies on two properties of Linux's madvise(MADV_DONTNEED):
 * on a private anonymous mapping the range reads as zeroes afterwards, and
 * on a private file mapping it reads as the file's contents again (the
 * copies made by earlier writes are dropped). So a reset costs in
 * proportion to the pages the request touched, not to the memory's size.
 */
#include "wasm/image.h"

#include "base/alloc.h"
#include "spry/error.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

int slot_memory_wipe(struct slot_memory *sm)
{
    size_t used = sm->rw > sm->mapped_len ? sm->rw : sm->mapped_len;
    if (used > 0 &&
        mmap(sm->base, used, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
             0) == MAP_FAILED)
        return SPRY_ENOMEM;
    sm->rw = 0;
    sm->mapped_len = 0;
    sm->loaded = NULL;
    return 0;
}

int slot_memory_load(struct slot_memory *sm, const struct memory_image *img)
{
    if (img->initial > sm->reserved)
        return SPRY_EEXHAUSTED;
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

/* /proc/self/pagemap, opened once: -1 where it cannot be read. */
static int pagemap_fd;
static pthread_once_t pagemap_once = PTHREAD_ONCE_INIT;

static void pagemap_open(void)
{
    pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
}

#define PAGEMAP_PRESENT ((uint64_t)1 << 63)
#define PAGEMAP_FILE    ((uint64_t)1 << 61) /* file page or shared anonymous */
#define PAGEMAP_EXCL    ((uint64_t)1 << 56) /* mapped once: not the shared zero page */
#define PAGEMAP_BATCH   2048                /* entries read per pread (16 KiB of stack) */

/* n: a multiple of 64. Ors a block of 64 bytes at a time (vectorised),
 * stopping at the first block that is not zero. */
static bool all_zero(const uint8_t *p, size_t n)
{
    const uint64_t *w = (const uint64_t *)p;
    for (size_t i = 0; i < n / 8; i += 8) {
        uint64_t acc = 0;
        for (size_t k = 0; k < 8; k++)
            acc |= w[i + k];
        if (acc != 0)
            return false;
    }
    return true;
}

/*
 * Puts back, in place, the pages of [0, size) that the instance may have
 * written: those present and not backed by the image's file (written
 * copy-on-write pages, touched anonymous pages, grown pages). Pages below
 * the image's length get the image's bytes, the others zeroes. They stay
 * resident, so the next request takes no page fault on them (grown ones
 * behind PROT_NONE until the memory grows again). Returns 1 when they add
 * up to more than `budget` bytes (the caller then discards everything
 * instead), 0 when done, or an error when the page map cannot be read.
 */
static int restore_written(struct slot_memory *sm, size_t size, size_t budget)
{
    const struct memory_image *img = sm->loaded;
    size_t page = page_size(), npages = size / page, resident = 0;
    uint64_t entries[PAGEMAP_BATCH];
    for (size_t first = 0; first < npages; first += PAGEMAP_BATCH) {
        size_t n = npages - first < PAGEMAP_BATCH ? npages - first : PAGEMAP_BATCH;
        off_t at = (off_t)(((uintptr_t)sm->base / page + first) * sizeof(uint64_t));
        if (pread(pagemap_fd, entries, n * sizeof(uint64_t), at) != (ssize_t)(n * sizeof(uint64_t)))
            return SPRY_EIO;
        for (size_t k = 0; k < n; k++) {
            if ((entries[k] & PAGEMAP_PRESENT) == 0 || (entries[k] & PAGEMAP_FILE) != 0)
                continue;
            resident += page;
            if (resident > budget)
                return 1;
            size_t off = (first + k) * page;
            uint8_t *p = sm->base + off;
            if (off < img->len)
                memcpy(p, img->bytes + off, page);
            else if ((entries[k] & PAGEMAP_EXCL) != 0 || !all_zero(p, page))
                memset(p, 0, page); /* the zero page, mapped by a read, needs no write */
        }
    }
    return 0;
}

int slot_memory_reset(struct slot_memory *sm, uint64_t rw_now, size_t keep_resident)
{
    const struct memory_image *img = sm->loaded;
    size_t initial = (size_t)img->initial, rw = (size_t)rw_now;
    if (rw > sm->rw)
        sm->rw = rw;
    pthread_once(&pagemap_once, pagemap_open);
    bool restored = rw > 0 && pagemap_fd >= 0 && keep_resident > 0 &&
                    restore_written(sm, rw, keep_resident) == 0;
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

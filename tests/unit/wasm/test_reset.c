/*
 * A pool slot memory's reset (src/wasm/image.c, slot_memory_reset) driven
 * directly: writes are made and marked the way the engine marks them (a
 * host write marks every granule it covers, an interpreted store only the
 * granule of its first byte), then the reset must give back the image
 * byte for byte, over an image copied into the slot and one mapped
 * copy-on-write from a memfd, in place or, past the resident budget, by
 * discarding the pages.
 */
#include "harness/test.h"

#include "wasm/image.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum {
    GRANULE = 1 << WRITTEN_SHIFT,
    RESERVED = 1 << 20,       /* the slot's reservation */
    INITIAL = 256 << 10,      /* the memory's size at instantiation */
    GROWN = INITIAL + 65536,  /* after a memory.grow by one page */
    IMAGE_LEN = 3 * 4096 + 5, /* page-rounded by image_init to 16 KiB */
    BIG_BUDGET = 16 << 20,
};

struct slot {
    struct memory_image img;
    struct slot_memory sm;
    uint8_t *want; /* the image's bytes and zeroes, GROWN bytes */
};

/* A slot holding an image whose bytes are all non-zero up to IMAGE_LEN;
 * cow: mapped from a memfd rather than copied. */
static void slot_open(struct slot *s, bool cow)
{
    memset(s, 0, sizeof *s);
    s->want = calloc(1, GROWN);
    ASSERT_NOT_NULL(s->want);
    for (size_t i = 0; i < IMAGE_LEN; i++)
        s->want[i] = (uint8_t)(i % 251 + 1);
    ASSERT_OK(image_init(&s->img, s->want, INITIAL, IMAGE_LEN, cow ? 0 : SIZE_MAX));
    ASSERT_EQ_INT(s->img.fd >= 0, cow);
    s->sm.base =
        mmap(NULL, RESERVED, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    ASSERT_TRUE(s->sm.base != MAP_FAILED);
    s->sm.reserved = RESERVED;
    ASSERT_OK(slot_memory_load(&s->sm, &s->img));
    ASSERT_EQ_MEM(s->sm.base, s->want, INITIAL);
}

static void slot_close(struct slot *s)
{
    slot_memory_fini(&s->sm);
    munmap(s->sm.base, RESERVED);
    image_fini(&s->img);
    free(s->want);
}

/* memory.grow by one page as the engine does it in a slot. */
static void slot_grow(struct slot *s)
{
    if (s->sm.rw < GROWN)
        ASSERT_EQ_INT(mprotect(s->sm.base + INITIAL, GROWN - INITIAL, PROT_READ | PROT_WRITE), 0);
}

/* A host write (WASI, the canonical ABI, memory.fill): every granule of
 * [off, off + n) marked. */
static void host_write(struct slot *s, size_t off, uint8_t byte, size_t n)
{
    memset(s->sm.base + off, byte, n);
    memset(s->sm.written + (off >> WRITTEN_SHIFT), 1,
           ((off + n - 1) >> WRITTEN_SHIFT) - (off >> WRITTEN_SHIFT) + 1);
}

/* An interpreted store of n <= 8 bytes: only its first byte's granule is
 * marked. */
static void store(struct slot *s, size_t off, size_t n)
{
    ASSERT_LE_UINT(n, 8);
    memset(s->sm.base + off, 0xee, n);
    s->sm.written[off >> WRITTEN_SHIFT] = 1;
}

static bool map_clear(const struct slot *s, size_t size)
{
    for (size_t i = 0; i < size >> WRITTEN_SHIFT; i++)
        if (s->sm.written[i] != 0)
            return false;
    return true;
}

/* Resets and checks the memory is the image again, marks cleared. */
static void reset_and_compare(struct slot *s, size_t rw, size_t budget)
{
    ASSERT_OK(slot_memory_reset(&s->sm, rw, budget));
    ASSERT_EQ_MEM(s->sm.base, s->want, s->sm.rw);
    ASSERT_TRUE(map_clear(s, rw));
}

static void sub_granule_writes(bool cow)
{
    struct slot s;
    slot_open(&s, cow);
    for (int round = 0; round < 2; round++) {
        /* The last byte of one granule and the first of the next, in the
         * image and above it. */
        host_write(&s, 3 * GRANULE - 1, 0, 1);
        host_write(&s, 3 * GRANULE, 0, 1);
        host_write(&s, 40 * GRANULE - 1, 0x11, 1);
        host_write(&s, 40 * GRANULE, 0x11, 1);
        /* A run of granules across the image's end, and one across a
         * 64-granule boundary of the map (the scan's stride). */
        host_write(&s, IMAGE_LEN - 100, 0x22, 3 * GRANULE);
        host_write(&s, 64 * GRANULE - 3, 0x33, 6);
        host_write(&s, 127 * GRANULE + 9, 0x33, GRANULE + 1);
        /* The memory's last byte. */
        host_write(&s, INITIAL - 1, 0x44, 1);
        reset_and_compare(&s, INITIAL, BIG_BUDGET);
    }
    slot_close(&s);
}

TEST(reset, sub_granule_writes_at_granule_edges_are_put_back)
{
    sub_granule_writes(false);
    sub_granule_writes(true);
}

static void spills(bool cow)
{
    struct slot s;
    slot_open(&s, cow);
    /* 8-byte stores starting 1 to 7 bytes before a boundary put up to
     * WRITTEN_SPILL bytes in an unmarked granule: in the image, above it,
     * and where the next granule is marked too. */
    store(&s, 2 * GRANULE - 1, 8);
    store(&s, 5 * GRANULE - 4, 8);
    store(&s, 30 * GRANULE - 7, 8);
    store(&s, 64 * GRANULE - 1, 8); /* into the first granule of the next 64 of the map */
    store(&s, 90 * GRANULE - 2, 8);
    store(&s, 90 * GRANULE + 100, 4); /* granule 90 is marked itself */
    store(&s, INITIAL - 8, 8);        /* the last granule: no spill past the memory */
    ASSERT_EQ_INT(written_check(s.sm.base, s.sm.written, INITIAL, s.img.bytes, s.img.len), -1);
    reset_and_compare(&s, INITIAL, BIG_BUDGET);
    slot_close(&s);
}

TEST(reset, store_spills_into_the_next_granule_are_put_back)
{
    spills(false);
    spills(true);
}

TEST(reset, grown_pages_are_zeroed_and_kept_when_they_fit)
{
    struct slot s;
    slot_open(&s, false);
    for (int round = 0; round < 3; round++) {
        slot_grow(&s);
        host_write(&s, INITIAL - 10, 0x55, 20); /* across the old end */
        store(&s, INITIAL + 5 * GRANULE - 3, 8);
        host_write(&s, GROWN - GRANULE / 2, 0x66, GRANULE / 2);
        reset_and_compare(&s, GROWN, BIG_BUDGET);
        ASSERT_EQ_UINT(s.sm.rw, GROWN); /* kept read-write as slack */
    }
    slot_close(&s);
}

static void over_budget(bool cow)
{
    struct slot s;
    slot_open(&s, cow);
    slot_grow(&s);
    /* More than the budget written (the grown page alone would fit): the
     * pages are discarded instead, and the grown one made inaccessible. */
    host_write(&s, 0, 0x77, 8 * GRANULE);
    host_write(&s, IMAGE_LEN + 1, 0x77, 2 * (GROWN - INITIAL));
    store(&s, INITIAL + 3 * GRANULE - 1, 8);
    reset_and_compare(&s, GROWN, 2 * (GROWN - INITIAL));
    ASSERT_EQ_UINT(s.sm.rw, INITIAL);
    /* The slot works on: in place again within the budget. */
    slot_grow(&s);
    store(&s, 9 * GRANULE - 2, 8);
    host_write(&s, INITIAL + 1, 0x88, 3);
    reset_and_compare(&s, GROWN, BIG_BUDGET);
    ASSERT_EQ_UINT(s.sm.rw, GROWN);
    slot_close(&s);
}

TEST(reset, writes_past_the_budget_discard_the_memory)
{
    over_budget(false);
    over_budget(true);
}

TEST(reset, only_marked_granules_and_spills_are_put_back)
{
    /* What the check mode guards against: a write no one marked survives
     * the reset, which reads only the marks (the spill excepted). */
    written_check_force(0); /* else the reset aborts, as it should */
    struct slot s;
    slot_open(&s, false);
    store(&s, 10 * GRANULE - 1, 8);                 /* spills into granule 10 */
    s.sm.base[10 * GRANULE + WRITTEN_SPILL] = 0x99; /* past the spill, unmarked */
    s.sm.base[200 * GRANULE] = 0x99;                /* far from any mark */
    ASSERT_EQ_INT(written_check(s.sm.base, s.sm.written, INITIAL, s.img.bytes, s.img.len),
                  10 * GRANULE);
    ASSERT_OK(slot_memory_reset(&s.sm, INITIAL, BIG_BUDGET));
    ASSERT_EQ_UINT(s.sm.base[10 * GRANULE + WRITTEN_SPILL], 0x99);
    ASSERT_EQ_UINT(s.sm.base[200 * GRANULE], 0x99);
    ASSERT_EQ_MEM(s.sm.base + 10 * GRANULE - 1, s.want + 10 * GRANULE - 1, WRITTEN_SPILL + 1);
    s.sm.base[10 * GRANULE + WRITTEN_SPILL] = s.want[10 * GRANULE + WRITTEN_SPILL];
    s.sm.base[200 * GRANULE] = s.want[200 * GRANULE];
    ASSERT_EQ_MEM(s.sm.base, s.want, INITIAL);
    slot_close(&s);
    written_check_force(-1);
}

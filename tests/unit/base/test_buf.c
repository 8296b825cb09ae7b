#include "harness/test.h"

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "spry/spry.h"

#include <string.h>

TEST(base_buf, append_and_take)
{
    struct spry_buf b;
    spry_buf_init(&b, 1024);
    ASSERT_OK(spry_buf_append_str(&b, "hello"));
    ASSERT_OK(spry_buf_printf(&b, ", %d", 42));
    ASSERT_EQ_UINT(b.len, 9);
    char *s = spry_buf_take(&b);
    ASSERT_EQ_STR(s, "hello, 42");
    ASSERT_EQ_UINT(b.len, 0);
    spry_free(s);
    spry_buf_fini(&b);
}

TEST(base_buf, max_is_enforced_and_buffer_unchanged)
{
    struct spry_buf b;
    spry_buf_init(&b, 8);
    ASSERT_OK(spry_buf_append(&b, "12345678", 8));
    ASSERT_EQ_INT(spry_buf_append_byte(&b, 'x'), SPRY_ETOOBIG);
    ASSERT_EQ_INT(spry_buf_printf(&b, "%s", "more"), SPRY_ETOOBIG);
    ASSERT_EQ_UINT(b.len, 8);
    ASSERT_EQ_MEM(b.data, "12345678", 9);
    spry_buf_fini(&b);
}

TEST(base_buf, size_overflow_is_rejected)
{
    struct spry_buf b;
    spry_buf_init(&b, SIZE_MAX);
    ASSERT_OK(spry_buf_append_byte(&b, 1));
    ASSERT_EQ_INT(spry_buf_reserve(&b, SIZE_MAX), SPRY_ETOOBIG);
    spry_buf_fini(&b);
}

TEST(base_buf, out_of_memory_leaves_buffer_intact)
{
    struct spry_buf b;
    spry_buf_init(&b, 1 << 20);
    ASSERT_OK(spry_buf_append_str(&b, "keep"));
    spry_alloc_fail_after(0);
    ASSERT_EQ_INT(spry_buf_append(&b, "x", 4096), SPRY_ENOMEM);
    spry_alloc_fail_after(-1);
    ASSERT_EQ_STR((char *)b.data, "keep");
    spry_buf_fini(&b);
}

TEST(base_alloc, array_overflow_returns_null)
{
    ASSERT_NULL(spry_alloc_array(SIZE_MAX / 2, 3));
    ASSERT_NULL(spry_calloc(SIZE_MAX / 8, 16));
    void *p = spry_alloc_array(4, 4);
    ASSERT_NOT_NULL(p);
    spry_free(p);
}

TEST(base_alloc, fault_injection_fails_the_nth_allocation)
{
    spry_alloc_fail_after(2);
    void *a = spry_malloc(8), *b = spry_malloc(8), *c = spry_malloc(8);
    spry_alloc_fail_after(-1);
    ASSERT_NOT_NULL(a);
    ASSERT_NOT_NULL(b);
    ASSERT_NULL(c);
    spry_free(a);
    spry_free(b);
}

TEST(base_arena, allocations_are_aligned_zeroed_and_limited)
{
    struct spry_arena a;
    spry_arena_init(&a, 64 * 1024);
    for (int i = 0; i < 100; i++) {
        unsigned char *p = spry_arena_alloc(&a, 17);
        ASSERT_NOT_NULL(p);
        ASSERT_EQ_UINT((uintptr_t)p % 16, 0);
        for (int j = 0; j < 17; j++)
            ASSERT_EQ_UINT(p[j], 0);
        memset(p, 0xff, 17);
    }
    ASSERT_NULL(spry_arena_alloc(&a, 64 * 1024));
    ASSERT_NULL(spry_arena_alloc_array(&a, SIZE_MAX / 2, 4));
    ASSERT_NOT_NULL(spry_arena_alloc(&a, 40000)); /* larger than a block */
    spry_arena_fini(&a);
}

TEST(base_arena, a_caller_buffer_is_the_first_block_and_is_not_freed)
{
    _Alignas(16) unsigned char buf[256];
    memset(buf, 0xee, sizeof buf);
    struct spry_arena a;
    spry_arena_init_buf(&a, 64 * 1024, buf, sizeof buf);
    /* Small allocations come from buf (after its 32-byte block header). */
    unsigned char *p = spry_arena_alloc(&a, 40), *q = spry_arena_alloc(&a, 100);
    ASSERT_TRUE(p >= buf && p + 40 <= buf + sizeof buf);
    ASSERT_TRUE(q >= p + 40 && q + 100 <= buf + sizeof buf);
    ASSERT_EQ_UINT(q[99], 0); /* zeroed */
    /* Past it, blocks come from malloc; fini frees those and not buf (ASan
     * would catch freeing a stack address). */
    unsigned char *r = spry_arena_alloc(&a, 200);
    ASSERT_NOT_NULL(r);
    ASSERT_TRUE(r + 200 <= buf || r >= buf + sizeof buf);
    spry_arena_fini(&a);
    ASSERT_NULL(a.head);
    ASSERT_NULL(a.buf);
    /* The limit still counts what buf holds. */
    spry_arena_init_buf(&a, 64, buf, sizeof buf);
    ASSERT_NOT_NULL(spry_arena_alloc(&a, 64));
    ASSERT_NULL(spry_arena_alloc(&a, 1));
    spry_arena_fini(&a);
    /* A buffer too small for a block is ignored. */
    spry_arena_init_buf(&a, 1024, buf, 16);
    ASSERT_NULL(a.head);
    ASSERT_NOT_NULL(spry_arena_alloc(&a, 8));
    spry_arena_fini(&a);
}

/* The buffer becomes the first block at the first allocation (a host call
 * that allocates nothing costs its arena a few stores): until then it is
 * not written, and fini has nothing to free. */
TEST(base_arena, a_caller_buffer_is_taken_at_the_first_allocation)
{
    _Alignas(16) unsigned char buf[256];
    memset(buf, 0xee, sizeof buf);
    struct spry_arena a;
    spry_arena_init_buf(&a, 64 * 1024, buf, sizeof buf);
    ASSERT_NULL(a.head);
    spry_arena_fini(&a);
    for (size_t i = 0; i < sizeof buf; i++)
        ASSERT_EQ_UINT(buf[i], 0xee);
    ASSERT_NULL(a.buf);
    /* Allocated once and finished, then used again: the same buffer
     * serves again from its start. */
    spry_arena_init_buf(&a, 64 * 1024, buf, sizeof buf);
    unsigned char *p = spry_arena_alloc(&a, 16);
    ASSERT_TRUE(p > buf && p + 16 <= buf + sizeof buf);
    ASSERT_TRUE((void *)a.head == (void *)buf);
    spry_arena_fini(&a);
    spry_arena_init_buf(&a, 64 * 1024, buf, sizeof buf);
    ASSERT_TRUE(spry_arena_alloc(&a, 16) == p);
    /* Growing past it chains a malloc'd block in front of it; fini frees
     * that one only (ASan: a stack address freed would be caught). */
    ASSERT_NOT_NULL(spry_arena_alloc(&a, 1000));
    ASSERT_TRUE((void *)a.head != (void *)buf);
    spry_arena_fini(&a);
    ASSERT_NULL(a.head);
}

TEST(base_error, names_and_first_error_wins)
{
    ASSERT_EQ_STR(spry_errname(SPRY_ENOMEM), "SPRY_ENOMEM");
    ASSERT_EQ_STR(spry_strerror(SPRY_ETRAP), "WebAssembly trap");
    ASSERT_EQ_STR(spry_strerror(12345), "unknown error");
    struct spry_report r;
    spry_report_init(&r);
    ASSERT_EQ_INT(spry_report_set(&r, SPRY_EMALFORMED, "at %d", 7), SPRY_EMALFORMED);
    ASSERT_EQ_INT(spry_report_set(&r, SPRY_EINVALID, "later"), SPRY_EINVALID);
    ASSERT_EQ_INT(r.code, SPRY_EMALFORMED);
    ASSERT_EQ_STR(r.message, "at 7");
}

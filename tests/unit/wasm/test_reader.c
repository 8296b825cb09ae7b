/* The bounds-checked reader and its LEB128 decoding (src/wasm/reader.h). */
#include "harness/test.h"

#include "wasm/reader.h"

#include <stdint.h>

static struct wasm_reader reader_of(const uint8_t *bytes, size_t len)
{
    return (struct wasm_reader){bytes, bytes, bytes + len};
}

/* Reads an unsigned LEB of `bits` bits from `len` bytes; on success checks
 * every byte was consumed, on failure that nothing was. */
static int uleb(const char *bytes, size_t len, unsigned bits, uint64_t *out)
{
    struct wasm_reader r = reader_of((const uint8_t *)bytes, len);
    int rc = reader_uleb(&r, bits, out);
    ASSERT_EQ_UINT(reader_offset(&r), rc == READER_OK ? len : 0);
    return rc;
}

static int sleb(const char *bytes, size_t len, unsigned bits, int64_t *out)
{
    struct wasm_reader r = reader_of((const uint8_t *)bytes, len);
    int rc = reader_sleb(&r, bits, out);
    ASSERT_EQ_UINT(reader_offset(&r), rc == READER_OK ? len : 0);
    return rc;
}

TEST(wasm_reader, u32_values)
{
    uint64_t v;
    ASSERT_EQ_INT(uleb("\x00", 1, 32, &v), READER_OK);
    ASSERT_EQ_UINT(v, 0);
    ASSERT_EQ_INT(uleb("\x7f", 1, 32, &v), READER_OK);
    ASSERT_EQ_UINT(v, 127);
    ASSERT_EQ_INT(uleb("\x80\x01", 2, 32, &v), READER_OK);
    ASSERT_EQ_UINT(v, 128);
    /* Padding with zero continuation bytes is allowed up to the maximum length. */
    ASSERT_EQ_INT(uleb("\x80\x80\x80\x80\x00", 5, 32, &v), READER_OK);
    ASSERT_EQ_UINT(v, 0);
    ASSERT_EQ_INT(uleb("\xff\xff\xff\xff\x0f", 5, 32, &v), READER_OK);
    ASSERT_EQ_UINT(v, UINT32_MAX);
}

TEST(wasm_reader, u32_too_long_and_too_large)
{
    uint64_t v = 99;
    /* A sixth byte is never allowed, even a zero one. */
    ASSERT_EQ_INT(uleb("\x80\x80\x80\x80\x80\x00", 6, 32, &v), READER_TOO_LONG);
    ASSERT_EQ_INT(uleb("\xff\xff\xff\xff\xff\x0f", 6, 32, &v), READER_TOO_LONG);
    /* Unused bits of the fifth byte must be zero. */
    ASSERT_EQ_INT(uleb("\xff\xff\xff\xff\x1f", 5, 32, &v), READER_TOO_LARGE);
    ASSERT_EQ_INT(uleb("\x80\x80\x80\x80\x10", 5, 32, &v), READER_TOO_LARGE);
    ASSERT_EQ_INT(uleb("\x80\x80\x80\x80\x70", 5, 32, &v), READER_TOO_LARGE);
    ASSERT_EQ_UINT(v, 99); /* untouched on failure */
}

TEST(wasm_reader, eof_in_the_middle_of_a_value)
{
    uint64_t u;
    int64_t s;
    ASSERT_EQ_INT(uleb("", 0, 32, &u), READER_EOF);
    ASSERT_EQ_INT(uleb("\x80", 1, 32, &u), READER_EOF);
    ASSERT_EQ_INT(uleb("\xff\xff\xff\xff", 4, 32, &u), READER_EOF);
    ASSERT_EQ_INT(sleb("\x80\x80", 2, 64, &s), READER_EOF);
    ASSERT_EQ_INT(sleb("\xff", 1, 33, &s), READER_EOF);

    const uint8_t three[3] = {1, 2, 3};
    struct wasm_reader r = reader_of(three, 3);
    uint32_t w;
    uint64_t q;
    const uint8_t *p;
    ASSERT_EQ_INT(reader_fixed32(&r, &w), READER_EOF);
    ASSERT_EQ_INT(reader_fixed64(&r, &q), READER_EOF);
    ASSERT_EQ_INT(reader_bytes(&r, 4, &p), READER_EOF);
    ASSERT_EQ_INT(reader_bytes(&r, SIZE_MAX, &p), READER_EOF);
    ASSERT_EQ_UINT(reader_offset(&r), 0);
    ASSERT_EQ_INT(reader_bytes(&r, 3, &p), READER_OK);
    ASSERT_TRUE(reader_eof(&r));
    uint8_t b;
    ASSERT_EQ_INT(reader_u8(&r, &b), READER_EOF);
}

TEST(wasm_reader, s32_values)
{
    int64_t v;
    ASSERT_EQ_INT(sleb("\x7f", 1, 32, &v), READER_OK);
    ASSERT_EQ_INT(v, -1);
    ASSERT_EQ_INT(sleb("\x3f", 1, 32, &v), READER_OK);
    ASSERT_EQ_INT(v, 63);
    ASSERT_EQ_INT(sleb("\x40", 1, 32, &v), READER_OK);
    ASSERT_EQ_INT(v, -64);
    ASSERT_EQ_INT(sleb("\x80\x7f", 2, 32, &v), READER_OK);
    ASSERT_EQ_INT(v, -128);
    ASSERT_EQ_INT(sleb("\xff\xff\xff\xff\x07", 5, 32, &v), READER_OK);
    ASSERT_EQ_INT(v, INT32_MAX);
    ASSERT_EQ_INT(sleb("\x80\x80\x80\x80\x78", 5, 32, &v), READER_OK);
    ASSERT_EQ_INT(v, INT32_MIN);
    /* Padded forms: sign-extension bytes within the maximum length. */
    ASSERT_EQ_INT(sleb("\xff\xff\xff\xff\x7f", 5, 32, &v), READER_OK);
    ASSERT_EQ_INT(v, -1);
    ASSERT_EQ_INT(sleb("\x80\x80\x80\x80\x00", 5, 32, &v), READER_OK);
    ASSERT_EQ_INT(v, 0);
}

TEST(wasm_reader, s32_too_long_and_too_large)
{
    int64_t v;
    ASSERT_EQ_INT(sleb("\xff\xff\xff\xff\xff\x7f", 6, 32, &v), READER_TOO_LONG);
    ASSERT_EQ_INT(sleb("\x80\x80\x80\x80\x80\x00", 6, 32, &v), READER_TOO_LONG);
    /* The unused bits of the last byte must all equal the sign bit. */
    ASSERT_EQ_INT(sleb("\xff\xff\xff\xff\x0f", 5, 32, &v), READER_TOO_LARGE);
    ASSERT_EQ_INT(sleb("\x80\x80\x80\x80\x70", 5, 32, &v), READER_TOO_LARGE);
    ASSERT_EQ_INT(sleb("\xff\xff\xff\xff\x4f", 5, 32, &v), READER_TOO_LARGE);
    ASSERT_EQ_INT(sleb("\x80\x80\x80\x80\x1f", 5, 32, &v), READER_TOO_LARGE);
}

TEST(wasm_reader, s33_block_type_range)
{
    int64_t v;
    struct wasm_reader r = reader_of((const uint8_t *)"\xff\xff\xff\xff\x0f", 5);
    ASSERT_EQ_INT(reader_s33(&r, &v), READER_OK);
    ASSERT_EQ_INT(v, (int64_t)UINT32_MAX);
    ASSERT_EQ_INT(sleb("\x80\x80\x80\x80\x70", 5, 33, &v), READER_OK);
    ASSERT_EQ_INT(v, -((int64_t)1 << 32));
    ASSERT_EQ_INT(sleb("\x40", 1, 33, &v), READER_OK); /* the empty block type */
    ASSERT_EQ_INT(v, -64);
    ASSERT_EQ_INT(sleb("\x80\x80\x80\x80\x10", 5, 33, &v), READER_TOO_LARGE);
    ASSERT_EQ_INT(sleb("\xff\xff\xff\xff\x6f", 5, 33, &v), READER_TOO_LARGE);
    ASSERT_EQ_INT(sleb("\x80\x80\x80\x80\x80\x00", 6, 33, &v), READER_TOO_LONG);
}

TEST(wasm_reader, u64_and_s64_limits)
{
    uint64_t u;
    int64_t s;
    ASSERT_EQ_INT(uleb("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10, 64, &u), READER_OK);
    ASSERT_EQ_UINT(u, UINT64_MAX);
    ASSERT_EQ_INT(uleb("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10, 64, &u), READER_TOO_LARGE);
    ASSERT_EQ_INT(uleb("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11, 64, &u),
                  READER_TOO_LONG);

    ASSERT_EQ_INT(sleb("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00", 10, 64, &s), READER_OK);
    ASSERT_EQ_INT(s, INT64_MAX);
    ASSERT_EQ_INT(sleb("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x7f", 10, 64, &s), READER_OK);
    ASSERT_EQ_INT(s, INT64_MIN);
    ASSERT_EQ_INT(sleb("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 10, 64, &s), READER_OK);
    ASSERT_EQ_INT(s, -1);
    ASSERT_EQ_INT(sleb("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10, 64, &s), READER_TOO_LARGE);
    ASSERT_EQ_INT(sleb("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x7e", 10, 64, &s), READER_TOO_LARGE);
    ASSERT_EQ_INT(sleb("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 11, 64, &s),
                  READER_TOO_LONG);
}

TEST(wasm_reader, typed_wrappers_leave_output_alone_on_failure)
{
    struct wasm_reader r = reader_of((const uint8_t *)"\x80\x80\x80\x80\x80\x00", 6);
    uint32_t u = 7;
    int32_t s = 7;
    ASSERT_EQ_INT(reader_u32(&r, &u), READER_TOO_LONG);
    ASSERT_EQ_INT(reader_s32(&r, &s), READER_TOO_LONG);
    ASSERT_EQ_UINT(u, 7);
    ASSERT_EQ_INT(s, 7);
    ASSERT_EQ_UINT(reader_offset(&r), 0);

    r = reader_of((const uint8_t *)"\xe5\x8e\x26\x7b", 4);
    ASSERT_EQ_INT(reader_u32(&r, &u), READER_OK);
    ASSERT_EQ_UINT(u, 624485);
    ASSERT_EQ_INT(reader_s32(&r, &s), READER_OK);
    ASSERT_EQ_INT(s, -5);
    ASSERT_TRUE(reader_eof(&r));
}

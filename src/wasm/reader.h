/*
 * A bounds-checked cursor over module bytes, with LEB128 decoding
 * (https://webassembly.github.io/spec/core/binary/values.html#integers).
 *
 * Invariant: start <= pos <= end. Every read checks the bytes it needs exist
 * before touching them and leaves pos unchanged on failure. LEB128 values
 * are rejected when longer than ceil(N/7) bytes or when the unused bits of
 * the last byte are not a sign/zero extension, as the spec requires.
 */
#ifndef SPRY_WASM_READER_H
#define SPRY_WASM_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct wasm_reader {
    const uint8_t *start; /* offsets are reported relative to this */
    const uint8_t *pos;
    const uint8_t *end;
};

/* Why a read failed, for messages worded as the spec tests expect. */
enum reader_error {
    READER_OK = 0,
    READER_EOF,       /* "unexpected end" */
    READER_TOO_LONG,  /* "integer representation too long" */
    READER_TOO_LARGE, /* "integer too large" */
};

static inline size_t reader_offset(const struct wasm_reader *r)
{
    return (size_t)(r->pos - r->start);
}

static inline size_t reader_left(const struct wasm_reader *r)
{
    return (size_t)(r->end - r->pos);
}

static inline bool reader_eof(const struct wasm_reader *r)
{
    return r->pos >= r->end;
}

static inline int reader_u8(struct wasm_reader *r, uint8_t *out)
{
    if (r->pos >= r->end)
        return READER_EOF;
    *out = *r->pos++;
    return READER_OK;
}

static inline int reader_bytes(struct wasm_reader *r, size_t n, const uint8_t **out)
{
    if (reader_left(r) < n)
        return READER_EOF;
    *out = r->pos;
    r->pos += n;
    return READER_OK;
}

static inline int reader_fixed32(struct wasm_reader *r, uint32_t *out)
{
    if (reader_left(r) < 4)
        return READER_EOF;
    uint32_t v;
    memcpy(&v, r->pos, 4); /* little-endian host assumed (checked at build) */
    r->pos += 4;
    *out = v;
    return READER_OK;
}

static inline int reader_fixed64(struct wasm_reader *r, uint64_t *out)
{
    if (reader_left(r) < 8)
        return READER_EOF;
    uint64_t v;
    memcpy(&v, r->pos, 8);
    r->pos += 8;
    *out = v;
    return READER_OK;
}

/* Unsigned LEB128 of at most `bits` bits (32 or 64). */
static inline int reader_uleb(struct wasm_reader *r, unsigned bits, uint64_t *out)
{
    const uint8_t *p = r->pos;
    uint64_t result = 0;
    unsigned shift = 0;
    unsigned max_bytes = (bits + 6) / 7;
    for (unsigned i = 0;; i++) {
        if (p >= r->end)
            return READER_EOF;
        uint8_t byte = *p++;
        if (i == max_bytes - 1) {
            /* Last permitted byte: no continuation, unused bits zero. */
            if (byte & 0x80)
                return READER_TOO_LONG;
            unsigned used = bits - shift;
            if (used < 7 && (byte >> used) != 0)
                return READER_TOO_LARGE;
            result |= (uint64_t)byte << shift;
            break;
        }
        result |= (uint64_t)(byte & 0x7f) << shift;
        shift += 7;
        if ((byte & 0x80) == 0)
            break;
    }
    r->pos = p;
    *out = result;
    return READER_OK;
}

/* Signed LEB128 of at most `bits` bits (7, 32 or 64), sign-extended. */
static inline int reader_sleb(struct wasm_reader *r, unsigned bits, int64_t *out)
{
    const uint8_t *p = r->pos;
    uint64_t result = 0;
    unsigned shift = 0;
    unsigned max_bytes = (bits + 6) / 7;
    uint8_t byte;
    for (unsigned i = 0;; i++) {
        if (p >= r->end)
            return READER_EOF;
        byte = *p++;
        if (i == max_bytes - 1) {
            if (byte & 0x80)
                return READER_TOO_LONG;
            /* Bits `used`..6 are unused and must all equal the sign bit
             * (bit used-1): shifted down they are all zeroes or all ones. */
            unsigned used = bits - shift; /* value bits in this byte, 1..7 */
            uint8_t high = (uint8_t)(byte & 0x7f) >> (used - 1);
            uint8_t all = (uint8_t)(0x7f >> (used - 1));
            if (high != 0 && high != all)
                return READER_TOO_LARGE;
            result |= (uint64_t)(byte & 0x7f) << shift;
            shift += 7;
            break;
        }
        result |= (uint64_t)(byte & 0x7f) << shift;
        shift += 7;
        if ((byte & 0x80) == 0)
            break;
    }
    if (shift < 64 && (byte & 0x40))
        result |= ~(uint64_t)0 << shift;
    r->pos = p;
    *out = (int64_t)result;
    return READER_OK;
}

static inline int reader_u32(struct wasm_reader *r, uint32_t *out)
{
    uint64_t v;
    int rc = reader_uleb(r, 32, &v);
    if (rc == READER_OK)
        *out = (uint32_t)v;
    return rc;
}

static inline int reader_s32(struct wasm_reader *r, int32_t *out)
{
    int64_t v;
    int rc = reader_sleb(r, 32, &v);
    if (rc == READER_OK)
        *out = (int32_t)v;
    return rc;
}

static inline int reader_s64(struct wasm_reader *r, int64_t *out)
{
    return reader_sleb(r, 64, out);
}

/* Block types are a signed 33-bit LEB (type index) or a single byte. */
static inline int reader_s33(struct wasm_reader *r, int64_t *out)
{
    return reader_sleb(r, 33, out);
}

#endif

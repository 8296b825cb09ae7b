/*
 * Strings across the boundary. The host side is always UTF-8 (ctype.h);
 * the guest side is its `string-encoding` option: utf8, utf16 (little-
 * endian code units) or latin1+utf16 (Latin-1 bytes, or UTF-16 when the
 * length's top bit is set).
 *
 * Lifting (load_string_from_range): the length is in code units of the
 * encoding; the byte length must not exceed CANON_MAX_STRING_BYTES; the
 * pointer must be aligned (2 for utf16 and latin1+utf16) and the bytes in
 * memory; the bytes must decode (no invalid UTF-8, no unpaired surrogate).
 * UTF-8, and Latin-1 that is all ASCII, are used in place when the
 * context allows views; everything else is transcoded into the arena.
 *
 * Lowering (store_string_into_range with a UTF-8 source): the allocations
 * and realloc calls are the spec's, so a guest sees the same sequence as
 * under any conforming host:
 *  - utf8: realloc(0, 0, 1, n), copy;
 *  - utf16: realloc(0, 0, 2, 2n) (the worst case: a UTF-8 byte never makes
 *    more than one UTF-16 unit), encode, shrink to the units written;
 *  - latin1+utf16: realloc(0, 0, 2, n), write Latin-1 while the code points
 *    fit in a byte; at the first that does not, grow to 2n, widen what was
 *    written to UTF-16, encode the rest, shrink, tag the length; else shrink
 *    to the bytes written.
 */
#include "component/canon.h"

#include <string.h>

static inline uint8_t *mem_at(struct canon_cx *cx, uint64_t ptr)
{
    return spry_memory_data(cx->opts->memory) + ptr;
}

/* mem_at for a range of len bytes about to be written: marked written, as
 * every host write must be (spry_memory_data). */
static inline uint8_t *mem_out(struct canon_cx *cx, uint64_t ptr, uint64_t len)
{
    spry_memory_note_write(cx->opts->memory, ptr, len);
    return mem_at(cx, ptr);
}

static inline uint16_t rd16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void wr16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, sizeof v);
}

bool canon_utf8_valid(const uint8_t *s, size_t n, size_t *bad)
{
    size_t i = 0;
    while (i < n) {
        /* ASCII runs, eight bytes at a time. */
        while (n - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, sizeof w);
            if ((w & 0x8080808080808080ull) != 0)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint8_t lo = 0x80, hi = 0xbf; /* the range of the second byte */
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            if (c == 0xe0)
                lo = 0xa0; /* overlong */
            if (c == 0xed)
                hi = 0x9f; /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            if (c == 0xf0)
                lo = 0x90; /* overlong */
            if (c == 0xf4)
                hi = 0x8f; /* past U+10FFFF */
        } else {
            *bad = i;
            return false;
        }
        if (n - i <= need || s[i + 1] < lo || s[i + 1] > hi) {
            *bad = i;
            return false;
        }
        for (size_t k = 2; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                *bad = i;
                return false;
            }
        }
        i += need + 1;
    }
    return true;
}

/* The code point at s[*i] (i < n); advances *i. The input was validated,
 * but it may be guest memory that the guest's realloc, called since, has
 * rewritten: a sequence that is no longer valid or runs past n decodes as
 * U+FFFD and consumes one byte, so nothing is read past n and no byte
 * yields more than one UTF-16 unit or two Latin-1 bytes. */
static uint32_t utf8_next(const uint8_t *s, size_t n, size_t *i)
{
    uint8_t c = s[*i];
    size_t need = c < 0x80                 ? 0
                  : c >= 0xc2 && c <= 0xdf ? 1
                  : c >= 0xe0 && c <= 0xef ? 2
                  : c >= 0xf0 && c <= 0xf4 ? 3
                                           : 4;
    if (need == 0) {
        *i += 1;
        return c;
    }
    if (need > 3 || n - *i <= need) {
        *i += 1;
        return 0xfffd;
    }
    uint32_t cp = c & (0x7f >> (need + 1));
    for (size_t k = 1; k <= need; k++) {
        uint8_t b = s[*i + k];
        if ((b & 0xc0) != 0x80) {
            *i += 1;
            return 0xfffd;
        }
        cp = (cp << 6) | (b & 0x3f);
    }
    static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[need] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        *i += 1;
        return 0xfffd;
    }
    *i += need + 1;
    return cp;
}

static size_t utf8_put(uint8_t *d, uint32_t cp)
{
    if (cp < 0x80) {
        d[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (uint8_t)(0xc0 | (cp >> 6));
        d[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (uint8_t)(0xe0 | (cp >> 12));
        d[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        d[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    d[0] = (uint8_t)(0xf0 | (cp >> 18));
    d[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    d[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    d[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/* ---- lifting ------------------------------------------------------------------ */

/* UTF-16LE units at src to UTF-8 in the arena; two passes: validate and
 * measure, then encode. */
static int lift_utf16(struct canon_cx *cx, const uint8_t *src, uint32_t units, struct cval *out)
{
    size_t len = 0;
    for (uint32_t i = 0; i < units; i++) {
        uint16_t u = rd16(src + 2 * (size_t)i);
        if (u >= 0xd800 && u <= 0xdbff) {
            uint16_t lo = i + 1 < units ? rd16(src + 2 * (size_t)(i + 1)) : 0;
            if (lo < 0xdc00 || lo > 0xdfff)
                return canon_trap(cx,
                                  "string is not valid UTF-16 (unpaired surrogate 0x%04x "
                                  "at unit %u)",
                                  u, i);
            len += 4;
            i++;
        } else if (u >= 0xdc00 && u <= 0xdfff) {
            return canon_trap(
                cx, "string is not valid UTF-16 (unpaired surrogate 0x%04x at unit %u)", u, i);
        } else {
            len += u < 0x80 ? 1 : u < 0x800 ? 2 : 3;
        }
    }
    uint8_t *d = spry_arena_alloc(cx->arena, len == 0 ? 1 : len);
    if (d == NULL)
        return canon_trap(cx, "out of memory lifting a string of %zu bytes", len);
    size_t o = 0;
    for (uint32_t i = 0; i < units; i++) {
        uint32_t cp = rd16(src + 2 * (size_t)i);
        if (cp >= 0xd800 && cp <= 0xdbff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (rd16(src + 2 * (size_t)(i + 1)) - 0xdc00);
            i++;
        }
        o += utf8_put(d + o, cp);
    }
    out->of.str.ptr = (const char *)d;
    out->of.str.len = len;
    return 0;
}

static int lift_latin1(struct canon_cx *cx, const uint8_t *src, uint32_t n, struct cval *out)
{
    size_t high = 0;
    for (uint32_t i = 0; i < n; i++)
        high += src[i] >> 7;
    if (high == 0 && cx->views) { /* ASCII is UTF-8 */
        out->of.str.ptr = (const char *)src;
        out->of.str.len = n;
        return 0;
    }
    size_t len = (size_t)n + high;
    uint8_t *d = spry_arena_alloc(cx->arena, len == 0 ? 1 : len);
    if (d == NULL)
        return canon_trap(cx, "out of memory lifting a string of %zu bytes", len);
    size_t o = 0;
    for (uint32_t i = 0; i < n; i++)
        o += utf8_put(d + o, src[i]);
    out->of.str.ptr = (const char *)d;
    out->of.str.len = len;
    return 0;
}

int canon_lift_string(struct canon_cx *cx, uint32_t ptr, uint32_t tagged_len, struct cval *out)
{
    enum { UTF8, UTF16, LATIN1 } how = UTF8;
    uint64_t bytes = tagged_len;
    uint32_t align = 1;
    switch (cx->opts != NULL ? cx->opts->encoding : CANON_UTF8) {
    case CANON_UTF8:
        break;
    case CANON_UTF16:
        how = UTF16;
        align = 2;
        bytes = 2 * (uint64_t)tagged_len;
        break;
    default: /* latin1+utf16 */
        align = 2;
        if (tagged_len & CANON_UTF16_TAG) {
            how = UTF16;
            bytes = 2 * (uint64_t)(tagged_len ^ CANON_UTF16_TAG);
        } else {
            how = LATIN1;
        }
        break;
    }
    if (bytes > CANON_MAX_STRING_BYTES)
        return canon_trap(cx, "string of %llu bytes is longer than the limit of 2^31-1",
                          (unsigned long long)bytes);
    int rc = canon_check_range(cx, ptr, bytes, align, "string");
    if (rc != 0)
        return rc;
    const uint8_t *src = mem_at(cx, ptr);
    out->kind = CT_STRING;
    if (how == UTF16)
        return lift_utf16(cx, src, (uint32_t)(bytes / 2), out);
    if (how == LATIN1)
        return lift_latin1(cx, src, (uint32_t)bytes, out);
    size_t bad;
    if (!canon_utf8_valid(src, (size_t)bytes, &bad))
        return canon_trap(cx, "string is not valid UTF-8 (byte 0x%02x at offset %zu)", src[bad],
                          bad);
    if (cx->views) {
        out->of.str.ptr = (const char *)src;
    } else {
        char *d = spry_arena_alloc(cx->arena, bytes == 0 ? 1 : (size_t)bytes);
        if (d == NULL)
            return canon_trap(cx, "out of memory lifting a string of %llu bytes",
                              (unsigned long long)bytes);
        memcpy(d, src, (size_t)bytes);
        out->of.str.ptr = d;
    }
    out->of.str.len = (size_t)bytes;
    return 0;
}

/* ---- lowering ------------------------------------------------------------------- */

static int too_long(struct canon_cx *cx, size_t bytes)
{
    return canon_trap(cx, "string of %zu bytes is longer than the limit of 2^31-1", bytes);
}

/* Writes s[i..len) as UTF-16 at dst; returns the units written. */
static size_t put_utf16(uint8_t *dst, const uint8_t *s, size_t i, size_t len)
{
    size_t units = 0;
    while (i < len) {
        uint32_t cp = utf8_next(s, len, &i);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            wr16(dst + 2 * units++, (uint16_t)(0xd800 + (cp >> 10)));
            wr16(dst + 2 * units++, (uint16_t)(0xdc00 + (cp & 0x3ff)));
        } else {
            wr16(dst + 2 * units++, (uint16_t)cp);
        }
    }
    return units;
}

/* store_utf8_to_utf16 */
static int lower_utf16(struct canon_cx *cx, const uint8_t *s, size_t len, uint32_t *ptr,
                       uint32_t *units_out)
{
    if (len > CANON_MAX_STRING_BYTES / 2)
        return too_long(cx, 2 * len);
    uint32_t worst = (uint32_t)(2 * len), p;
    int rc = canon_realloc(cx, 0, 0, 2, worst, &p);
    if (rc != 0)
        return rc;
    uint32_t units = (uint32_t)put_utf16(mem_out(cx, p, worst), s, 0, len);
    if (2 * units < worst) {
        rc = canon_realloc(cx, p, worst, 2, 2 * units, &p);
        if (rc != 0)
            return rc;
    }
    *ptr = p;
    *units_out = units;
    return 0;
}

/* store_string_to_latin1_or_utf16 */
static int lower_latin1_utf16(struct canon_cx *cx, const uint8_t *s, size_t len, uint32_t *ptr,
                              uint32_t *tagged)
{
    if (len > CANON_MAX_STRING_BYTES)
        return too_long(cx, len);
    uint32_t p, n = (uint32_t)len, written = 0;
    int rc = canon_realloc(cx, 0, 0, 2, n, &p);
    if (rc != 0)
        return rc;
    mem_out(cx, p, n); /* the Latin-1 bytes below */
    size_t i = 0;
    while (i < len) {
        size_t at = i;
        uint32_t cp = utf8_next(s, len, &i);
        if (cp < 0x100) {
            mem_at(cx, p)[written++] = (uint8_t)cp;
            continue;
        }
        if (len > CANON_MAX_STRING_BYTES / 2)
            return too_long(cx, 2 * len);
        uint32_t worst = 2 * n;
        rc = canon_realloc(cx, p, n, 2, worst, &p);
        if (rc != 0)
            return rc;
        uint8_t *d = mem_out(cx, p, worst);
        for (uint32_t j = written; j-- > 0;) { /* widen in place, from the end */
            d[2 * j] = d[j];
            d[2 * j + 1] = 0;
        }
        uint32_t units = written + (uint32_t)put_utf16(d + 2 * (size_t)written, s, at, len);
        if (worst > 2 * units) {
            rc = canon_realloc(cx, p, worst, 2, 2 * units, &p);
            if (rc != 0)
                return rc;
        }
        *ptr = p;
        *tagged = units | CANON_UTF16_TAG;
        return 0;
    }
    if (written < n) {
        rc = canon_realloc(cx, p, n, 2, written, &p);
        if (rc != 0)
            return rc;
    }
    *ptr = p;
    *tagged = written;
    return 0;
}

int canon_lower_string(struct canon_cx *cx, const char *str, size_t len, uint32_t *ptr,
                       uint32_t *tagged_len)
{
    const uint8_t *s = (const uint8_t *)str;
    size_t bad;
    if (len > 0 && s == NULL)
        return canon_trap(cx, "host string of %zu bytes has no data", len);
    if (!canon_utf8_valid(s, len, &bad))
        return canon_trap(cx, "host string is not valid UTF-8 (byte 0x%02x at offset %zu)", s[bad],
                          bad);
    switch (cx->opts != NULL ? cx->opts->encoding : CANON_UTF8) {
    case CANON_UTF8: {
        /* store_string_copy */
        if (len > CANON_MAX_STRING_BYTES)
            return too_long(cx, len);
        uint32_t p;
        int rc = canon_realloc(cx, 0, 0, 1, (uint32_t)len, &p);
        if (rc != 0)
            return rc;
        if (len > 0)
            memmove(mem_out(cx, p, len), s, len);
        *ptr = p;
        *tagged_len = (uint32_t)len;
        return 0;
    }
    case CANON_UTF16:
        return lower_utf16(cx, s, len, ptr, tagged_len);
    default:
        return lower_latin1_utf16(cx, s, len, ptr, tagged_len);
    }
}

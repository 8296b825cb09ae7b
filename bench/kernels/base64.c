/*
 * Byte-wise memory traffic: base64 encoding (RFC 4648, section 4) of a 48 KiB
 * buffer, decoding it back through a 256-entry reverse table, and comparing
 * the round trip with the input. Each pass changes one input byte first.
 * n: passes.
 */
#include "kernel.h"

#define RAW_SIZE (48u * 1024u) /* a multiple of 3: no padding */
#define ENC_SIZE (RAW_SIZE / 3u * 4u)

static const char alphabet[64] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static uint8_t reverse[256];
static uint8_t raw[RAW_SIZE];
static uint8_t enc[ENC_SIZE];
static uint8_t dec[RAW_SIZE];

uint64_t run(uint32_t n)
{
    for (uint32_t i = 0; i < 256; i++)
        reverse[i] = 0x80; /* not in the alphabet */
    for (uint32_t i = 0; i < 64; i++)
        reverse[(uint8_t)alphabet[i]] = (uint8_t)i;
    uint32_t s = 0x68e31da4u;
    for (uint32_t i = 0; i < RAW_SIZE; i++) {
        s = kernel_xorshift32(s);
        raw[i] = (uint8_t)(s >> 7);
    }

    uint64_t sum = 0;
    for (uint32_t pass = 0; pass < n; pass++) {
        raw[(pass * 40503u) % RAW_SIZE] += 1;

        for (uint32_t i = 0, o = 0; i < RAW_SIZE; i += 3, o += 4) {
            uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
            enc[o] = (uint8_t)alphabet[v >> 18];
            enc[o + 1] = (uint8_t)alphabet[(v >> 12) & 63];
            enc[o + 2] = (uint8_t)alphabet[(v >> 6) & 63];
            enc[o + 3] = (uint8_t)alphabet[v & 63];
        }

        uint32_t invalid = 0, folded = 0;
        for (uint32_t i = 0, o = 0; i < ENC_SIZE; i += 4, o += 3) {
            uint32_t a = reverse[enc[i]], b = reverse[enc[i + 1]];
            uint32_t c = reverse[enc[i + 2]], d = reverse[enc[i + 3]];
            invalid |= a | b | c | d;
            uint32_t v = a << 18 | b << 12 | c << 6 | d;
            dec[o] = (uint8_t)(v >> 16);
            dec[o + 1] = (uint8_t)(v >> 8);
            dec[o + 2] = (uint8_t)v;
            folded = (folded ^ v) * 0x01000193u;
        }

        uint32_t mismatches = 0;
        for (uint32_t i = 0; i < RAW_SIZE; i++)
            mismatches += dec[i] != raw[i];
        sum = sum * 31 + folded + ((uint64_t)(mismatches + (invalid & 0x80)) << 40);
    }
    return sum;
}

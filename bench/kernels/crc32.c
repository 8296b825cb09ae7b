/*
 * Integer and table lookups: byte-at-a-time CRC-32 (the reflected polynomial
 * 0xEDB88320 of zlib and Ethernet) over a 64 KiB buffer. Each pass flips one
 * byte first, so no pass can be hoisted out of the loop. n: passes.
 */
#include "kernel.h"

#define BUF_SIZE 65536u

static uint32_t table[256];
static uint8_t buf[BUF_SIZE];

uint64_t run(uint32_t n)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0xedb88320u : c >> 1;
        table[i] = c;
    }
    uint32_t s = 0x2545f491u;
    for (uint32_t i = 0; i < BUF_SIZE; i++) {
        s = kernel_xorshift32(s);
        buf[i] = (uint8_t)(s >> 11);
    }

    uint64_t sum = 0;
    for (uint32_t pass = 0; pass < n; pass++) {
        buf[(pass * 2654435761u) & (BUF_SIZE - 1)] ^= (uint8_t)(pass | 1);
        uint32_t c = 0xffffffffu;
        for (uint32_t i = 0; i < BUF_SIZE; i++)
            c = table[(c ^ buf[i]) & 0xff] ^ (c >> 8);
        sum = sum * 31 + (c ^ 0xffffffffu);
    }
    return sum;
}

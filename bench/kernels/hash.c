/*
 * Integer: a chain of 64-bit multiply/xor-shift mixing (a splitmix-style
 * finaliser) interleaved with a 32-bit multiplicative hash. Every step depends
 * on the previous one, so this measures the latency of plain integer
 * instructions and local-variable traffic. n: iterations.
 */
#include "kernel.h"

static inline uint64_t rotl64(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

uint64_t run(uint32_t n)
{
    uint64_t h = 0x243f6a8885a308d3u;
    uint64_t acc = 0;
    uint32_t w = 0x13198a2eu;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t x = h ^ ((uint64_t)i << 17) ^ i;
        x ^= x >> 31;
        x *= 0x7fb5d329728ea185u;
        x ^= x >> 27;
        x *= 0x81dadef4bc2dd44du;
        x ^= x >> 33;
        h = rotl64(h, 5) + x;
        w = (w ^ (uint32_t)x) * 0x2c1b3c6du + (w >> 13);
        acc += x >> (w & 15);
    }
    return h ^ acc ^ ((uint64_t)w << 32);
}

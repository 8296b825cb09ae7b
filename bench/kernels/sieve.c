/*
 * Memory: the sieve of Eratosthenes over 4 Mi byte flags (larger than most L2
 * caches), strided stores with a stride per prime. Each pass sieves a
 * slightly different limit so passes differ. n: passes.
 */
#include "kernel.h"

#define LIMIT (1u << 22)

static uint8_t composite[LIMIT];

uint64_t run(uint32_t n)
{
    uint64_t sum = 0;
    for (uint32_t pass = 0; pass < n; pass++) {
        uint32_t limit = LIMIT - (pass & 1023);
        for (uint32_t i = 0; i < limit; i++)
            composite[i] = 0;
        for (uint32_t p = 2; p * p < limit; p++) {
            if (composite[p])
                continue;
            for (uint32_t m = p * p; m < limit; m += p)
                composite[m] = 1;
        }
        uint32_t count = 0;
        uint64_t weighted = 0;
        for (uint32_t i = 2; i < limit; i++) {
            if (!composite[i]) {
                count++;
                weighted += (uint64_t)i * count;
            }
        }
        sum = sum * 1000003u + count + weighted;
    }
    return sum;
}

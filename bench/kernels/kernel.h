/*
 * The contract every benchmark kernel keeps.
 *
 * A kernel is freestanding C (no libc: the wasm32 build has neither libc nor
 * WASI) that exports one function, run(n). It does work proportional to n and
 * returns a checksum of everything it computed, so no compiler can drop the
 * work and the three runs (native, Spry, node) can be compared bit for bit.
 * Memory comes from static arrays only; run() initialises all of it on every
 * call, so calling it again on the same instance gives the same result.
 *
 * Integers are fixed-width (size_t and pointers differ between wasm32 and
 * x86-64) and floating point stays within IEEE operations that both targets
 * round identically (+ - * / and sqrt; no libm, no fast-math).
 */
#ifndef BENCH_KERNEL_H
#define BENCH_KERNEL_H

#include <stdint.h>

uint64_t run(uint32_t n);

/* The bits of a double, for checksums that catch any rounding difference. */
static inline uint64_t kernel_f64_bits(double d)
{
    union {
        double d;
        uint64_t u;
    } v = {.d = d};
    return v.u;
}

/* A 32-bit xorshift step: cheap, deterministic input data. */
static inline uint32_t kernel_xorshift32(uint32_t s)
{
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return s;
}

#endif

/*
 * WebAssembly numeric semantics that C does not give directly
 * (https://webassembly.github.io/spec/core/exec/numerics.html): float
 * min/max/nearest with NaN propagation and signed zeroes, sign operations on
 * bits (never touching NaN payloads), and float-to-int truncation with its
 * trapping and saturating forms.
 */
#ifndef SPRY_WASM_NUMERIC_H
#define SPRY_WASM_NUMERIC_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static inline float bits_f32(uint32_t b)
{
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static inline uint32_t f32_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

static inline double bits_f64(uint64_t b)
{
    double f;
    memcpy(&f, &b, 8);
    return f;
}

static inline uint64_t f64_bits(double f)
{
    uint64_t b;
    memcpy(&b, &f, 8);
    return b;
}

/* NaN results of min/max/nearest etc. must be quiet: adding the NaN to
 * itself quiets it and keeps its payload, an "arithmetic NaN". */
static inline float num_f32_min(float a, float b)
{
    if (isnan(a) || isnan(b))
        return a + b;
    if (a == 0 && b == 0)
        return signbit(a) ? a : b;
    return a < b ? a : b;
}

static inline float num_f32_max(float a, float b)
{
    if (isnan(a) || isnan(b))
        return a + b;
    if (a == 0 && b == 0)
        return signbit(a) ? b : a;
    return a > b ? a : b;
}

static inline double num_f64_min(double a, double b)
{
    if (isnan(a) || isnan(b))
        return a + b;
    if (a == 0 && b == 0)
        return signbit(a) ? a : b;
    return a < b ? a : b;
}

static inline double num_f64_max(double a, double b)
{
    if (isnan(a) || isnan(b))
        return a + b;
    if (a == 0 && b == 0)
        return signbit(a) ? b : a;
    return a > b ? a : b;
}

/* Rounding. libm returns a signalling NaN input unchanged, but wasm
 * requires an arithmetic (quiet) NaN result: NaN + NaN quiets it. Nearest
 * rounds ties to even in the default rounding mode. */
#define NUM_ROUNDING(name, type, fn)     \
    static inline type name(type a)      \
    {                                    \
        return isnan(a) ? a + a : fn(a); \
    }
NUM_ROUNDING(num_f32_ceil, float, ceilf)
NUM_ROUNDING(num_f32_floor, float, floorf)
NUM_ROUNDING(num_f32_trunc, float, truncf)
NUM_ROUNDING(num_f32_nearest, float, nearbyintf)
NUM_ROUNDING(num_f64_ceil, double, ceil)
NUM_ROUNDING(num_f64_floor, double, floor)
NUM_ROUNDING(num_f64_trunc, double, trunc)
NUM_ROUNDING(num_f64_nearest, double, nearbyint)
#undef NUM_ROUNDING

/* Truncation checks: the value is in range of the target type iff it lies
 * strictly between the bounds below (NaN fails every comparison). */
static inline bool num_in_i32(double t)
{
    return t > -2147483649.0 && t < 2147483648.0;
}

static inline bool num_in_u32(double t)
{
    return t > -1.0 && t < 4294967296.0;
}

static inline bool num_in_i64(double t)
{
    return t >= -9223372036854775808.0 && t < 9223372036854775808.0;
}

static inline bool num_in_u64(double t)
{
    return t > -1.0 && t < 18446744073709551616.0;
}

/* Saturating truncations (NaN -> 0, out of range -> the nearest bound). */
static inline int32_t num_sat_i32(double t)
{
    if (isnan(t))
        return 0;
    if (t <= -2147483649.0)
        return INT32_MIN;
    if (t >= 2147483648.0)
        return INT32_MAX;
    return (int32_t)t;
}

static inline uint32_t num_sat_u32(double t)
{
    if (isnan(t) || t <= -1.0)
        return 0;
    if (t >= 4294967296.0)
        return UINT32_MAX;
    return (uint32_t)t;
}

static inline int64_t num_sat_i64(double t)
{
    if (isnan(t))
        return 0;
    if (t < -9223372036854775808.0)
        return INT64_MIN;
    if (t >= 9223372036854775808.0)
        return INT64_MAX;
    return (int64_t)t;
}

static inline uint64_t num_sat_u64(double t)
{
    if (isnan(t) || t <= -1.0)
        return 0;
    if (t >= 18446744073709551616.0)
        return UINT64_MAX;
    return (uint64_t)t;
}

static inline uint32_t num_rotl32(uint32_t x, uint32_t n)
{
    n &= 31;
    return n == 0 ? x : (x << n) | (x >> (32 - n));
}

static inline uint32_t num_rotr32(uint32_t x, uint32_t n)
{
    n &= 31;
    return n == 0 ? x : (x >> n) | (x << (32 - n));
}

static inline uint64_t num_rotl64(uint64_t x, uint64_t n)
{
    n &= 63;
    return n == 0 ? x : (x << n) | (x >> (64 - n));
}

static inline uint64_t num_rotr64(uint64_t x, uint64_t n)
{
    n &= 63;
    return n == 0 ? x : (x >> n) | (x << (64 - n));
}

#endif

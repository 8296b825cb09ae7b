/*
 * Floating point: dense 96x96 double-precision matrix multiply (i-k-j order,
 * so the inner loop streams rows), repeated with one input element changed
 * per repetition. Sums only add products in a fixed order, so wasm and native
 * round identically. n: repetitions.
 */
#include "kernel.h"

#define DIM 96u

static double a[DIM * DIM];
static double b[DIM * DIM];
static double c[DIM * DIM];

uint64_t run(uint32_t n)
{
    uint32_t s = 0x9e3779b9u;
    for (uint32_t i = 0; i < DIM * DIM; i++) {
        s = kernel_xorshift32(s);
        a[i] = (double)(int32_t)s * (1.0 / 2147483648.0);
        s = kernel_xorshift32(s);
        b[i] = (double)(int32_t)s * (1.0 / 2147483648.0);
    }

    uint64_t sum = 0;
    for (uint32_t rep = 0; rep < n; rep++) {
        for (uint32_t i = 0; i < DIM * DIM; i++)
            c[i] = 0.0;
        for (uint32_t i = 0; i < DIM; i++) {
            for (uint32_t k = 0; k < DIM; k++) {
                double aik = a[i * DIM + k];
                for (uint32_t j = 0; j < DIM; j++)
                    c[i * DIM + j] += aik * b[k * DIM + j];
            }
        }
        double t = 0.0;
        for (uint32_t i = 0; i < DIM; i++)
            t += c[i * DIM + (i * 7 + rep) % DIM];
        sum = (sum ^ kernel_f64_bits(t)) * 0x100000001b3u;
        a[(rep * 37) % (DIM * DIM)] += 0.5;
    }
    return sum;
}

/*
 * Direct calls: naive doubly recursive Fibonacci plus the Takeuchi function,
 * both nothing but calls, compares and adds, so the cost is call and return.
 * n: the Fibonacci argument (Takeuchi runs with a fixed argument set).
 */
#include "kernel.h"

__attribute__((noinline)) static uint32_t fib(uint32_t k)
{
    return k < 2 ? k : fib(k - 1) + fib(k - 2);
}

__attribute__((noinline)) static int32_t tak(int32_t x, int32_t y, int32_t z)
{
    if (y >= x)
        return z;
    return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y));
}

uint64_t run(uint32_t n)
{
    uint64_t f = fib(n);
    uint64_t t = (uint32_t)tak(18, 12, (int32_t)(n & 7));
    return (f << 16) ^ t;
}

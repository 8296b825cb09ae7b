/*
 * Memory and unpredictable branches: quicksort (median of three, insertion
 * sort below 16 elements, recursion on the smaller side) of 256 Ki
 * pseudo-random 32-bit keys, then a pass checking the order. Each pass uses a
 * new seed. n: passes.
 */
#include "kernel.h"

#define COUNT (1u << 18)

static uint32_t keys[COUNT];

static void insertion_sort(uint32_t *v, uint32_t len)
{
    for (uint32_t i = 1; i < len; i++) {
        uint32_t x = v[i];
        uint32_t j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

static inline void swap(uint32_t *v, uint32_t i, uint32_t j)
{
    uint32_t t = v[i];
    v[i] = v[j];
    v[j] = t;
}

static void quick_sort(uint32_t *v, uint32_t len)
{
    while (len > 16) {
        uint32_t mid = len / 2, last = len - 1;
        if (v[mid] < v[0])
            swap(v, mid, 0);
        if (v[last] < v[0])
            swap(v, last, 0);
        if (v[last] < v[mid])
            swap(v, last, mid);
        uint32_t pivot = v[mid];
        uint32_t i = 0, j = last;
        for (;;) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i >= j)
                break;
            swap(v, i, j);
            i++;
            j--;
        }
        /* [0, j] <= pivot <= [j + 1, len) */
        uint32_t left = j + 1, right = len - left;
        if (left < right) {
            quick_sort(v, left);
            v += left;
            len = right;
        } else {
            quick_sort(v + left, right);
            len = left;
        }
    }
    insertion_sort(v, len);
}

uint64_t run(uint32_t n)
{
    uint64_t sum = 0;
    for (uint32_t pass = 0; pass < n; pass++) {
        uint32_t s = 0x85ebca6bu ^ (pass * 0x9e3779b9u);
        for (uint32_t i = 0; i < COUNT; i++) {
            s = kernel_xorshift32(s);
            keys[i] = s;
        }
        quick_sort(keys, COUNT);
        uint32_t disorder = 0;
        uint64_t weighted = 0;
        for (uint32_t i = 1; i < COUNT; i++) {
            disorder += keys[i - 1] > keys[i];
            weighted += (uint64_t)keys[i] * (i & 255);
        }
        sum = sum * 31 + weighted + ((uint64_t)disorder << 56);
    }
    return sum;
}

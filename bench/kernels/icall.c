/*
 * Indirect calls: a loop calling through a table of eight small functions,
 * the target picked by the running state (a virtual-call or interpreter-
 * handler pattern; in wasm, call_indirect with its type check). n: calls.
 */
#include "kernel.h"

typedef uint32_t (*op_fn)(uint32_t, uint32_t);

static uint32_t op_add(uint32_t a, uint32_t b)
{
    return a + b;
}
static uint32_t op_xor(uint32_t a, uint32_t b)
{
    return a ^ (b * 0x9e3779b9u);
}
static uint32_t op_mul(uint32_t a, uint32_t b)
{
    return a * (b | 1);
}
static uint32_t op_rot(uint32_t a, uint32_t b)
{
    return (a << (b & 31)) | (a >> ((32 - b) & 31));
}
static uint32_t op_sub(uint32_t a, uint32_t b)
{
    return a - (b >> 3);
}
static uint32_t op_min(uint32_t a, uint32_t b)
{
    return (a < b ? a : b) + 0x6d2b79f5u;
}
static uint32_t op_max(uint32_t a, uint32_t b)
{
    return (a > b ? a : b) ^ 0x5bd1e995u;
}
static uint32_t op_mix(uint32_t a, uint32_t b)
{
    a ^= a >> 15;
    return a * 0x2c1b3c6du + b;
}

static op_fn const ops[8] = {op_add, op_xor, op_mul, op_rot, op_sub, op_min, op_max, op_mix};

uint64_t run(uint32_t n)
{
    uint32_t state = 0x7f4a7c15u;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        state = ops[(state >> 13 ^ i) & 7](state, i);
        sum += state;
    }
    return sum ^ ((uint64_t)state << 32);
}

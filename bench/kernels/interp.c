/*
 * Branchy: a small stack-machine interpreter (a switch over 14 opcodes, which
 * becomes a jump table natively and br_table in wasm) running a bytecode
 * loop with a data-dependent 50/50 branch: an LCG step, then either
 * "acc += x >> 8; odd++" or "acc = (acc ^ x) * 3". n: loop iterations of the
 * bytecode program.
 */
#include "kernel.h"

enum opcode {
    OP_HALT,
    OP_PUSH, /* imm: push imm */
    OP_GET,  /* imm: push reg[imm] */
    OP_SET,  /* imm: reg[imm] = pop */
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_XOR,
    OP_AND,
    OP_SHRI, /* imm: top >>= imm */
    OP_DUP,
    OP_JZ,  /* imm: if pop == 0 goto imm */
    OP_JNZ, /* imm: if pop != 0 goto imm */
    OP_JMP, /* imm: goto imm */
};

/* Registers: r0 loop counter, r1 accumulator, r2 LCG state, r3 "then" count,
 * r4 the branch condition. The left column is each instruction's address. */
static const uint32_t program[] = {
    /*  0 */ OP_GET,  2u,
    /*  2 */ OP_PUSH, 1103515245u,
    /*  4 */ OP_MUL,
    /*  5 */ OP_PUSH, 12345u,
    /*  7 */ OP_ADD,
    /*  8 */ OP_DUP,
    /*  9 */ OP_SET,  2u,
    /* 11 */ OP_SHRI, 16u,
    /* 13 */ OP_PUSH, 1u,
    /* 15 */ OP_AND,
    /* 16 */ OP_DUP,
    /* 17 */ OP_SET,  4u,
    /* 19 */ OP_JZ,   39u,
    /* 21 */ OP_GET,  1u,
    /* 23 */ OP_GET,  2u,
    /* 25 */ OP_SHRI, 8u,
    /* 27 */ OP_ADD,
    /* 28 */ OP_SET,  1u,
    /* 30 */ OP_GET,  3u,
    /* 32 */ OP_PUSH, 1u,
    /* 34 */ OP_ADD,
    /* 35 */ OP_SET,  3u,
    /* 37 */ OP_JMP,  49u,
    /* 39 */ OP_GET,  1u,
    /* 41 */ OP_GET,  2u,
    /* 43 */ OP_XOR,
    /* 44 */ OP_PUSH, 3u,
    /* 46 */ OP_MUL,
    /* 47 */ OP_SET,  1u,
    /* 49 */ OP_GET,  0u,
    /* 51 */ OP_PUSH, 1u,
    /* 53 */ OP_SUB,
    /* 54 */ OP_DUP,
    /* 55 */ OP_SET,  0u,
    /* 57 */ OP_JNZ,  0u,
    /* 59 */ OP_HALT,
};

#define STACK_SLOTS 16u

/* Runs `code` until HALT; returns the number of instructions executed, or 0
 * on a bad opcode. The stack index is masked, so even a faulty program stays
 * inside `stack`. */
static uint64_t execute(const uint32_t *code, uint32_t *reg)
{
    uint32_t stack[STACK_SLOTS];
    uint32_t sp = 0, pc = 0;
    uint64_t steps = 0;
    for (;;) {
        uint32_t op = code[pc++];
        steps++;
        switch (op) {
        case OP_HALT:
            return steps;
        case OP_PUSH:
            stack[sp++ & (STACK_SLOTS - 1)] = code[pc++];
            break;
        case OP_GET:
            stack[sp++ & (STACK_SLOTS - 1)] = reg[code[pc++] & 7];
            break;
        case OP_SET:
            reg[code[pc++] & 7] = stack[--sp & (STACK_SLOTS - 1)];
            break;
        case OP_ADD:
            sp--;
            stack[(sp - 1) & (STACK_SLOTS - 1)] += stack[sp & (STACK_SLOTS - 1)];
            break;
        case OP_SUB:
            sp--;
            stack[(sp - 1) & (STACK_SLOTS - 1)] -= stack[sp & (STACK_SLOTS - 1)];
            break;
        case OP_MUL:
            sp--;
            stack[(sp - 1) & (STACK_SLOTS - 1)] *= stack[sp & (STACK_SLOTS - 1)];
            break;
        case OP_XOR:
            sp--;
            stack[(sp - 1) & (STACK_SLOTS - 1)] ^= stack[sp & (STACK_SLOTS - 1)];
            break;
        case OP_AND:
            sp--;
            stack[(sp - 1) & (STACK_SLOTS - 1)] &= stack[sp & (STACK_SLOTS - 1)];
            break;
        case OP_SHRI:
            stack[(sp - 1) & (STACK_SLOTS - 1)] >>= code[pc++] & 31;
            break;
        case OP_DUP:
            stack[sp & (STACK_SLOTS - 1)] = stack[(sp - 1) & (STACK_SLOTS - 1)];
            sp++;
            break;
        case OP_JZ: {
            uint32_t target = code[pc++];
            if (stack[--sp & (STACK_SLOTS - 1)] == 0)
                pc = target;
            break;
        }
        case OP_JNZ: {
            uint32_t target = code[pc++];
            if (stack[--sp & (STACK_SLOTS - 1)] != 0)
                pc = target;
            break;
        }
        case OP_JMP:
            pc = code[pc];
            break;
        default:
            return 0;
        }
    }
}

uint64_t run(uint32_t n)
{
    uint32_t reg[8] = {0};
    reg[0] = n;
    reg[2] = 0x2545f491u;
    uint64_t steps = execute(program, reg);
    return steps ^ ((uint64_t)reg[1] << 32) ^ ((uint64_t)reg[3] << 8) ^ reg[2];
}

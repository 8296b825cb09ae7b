/*
 * The WebAssembly 2.0 instruction set (without SIMD), listed once
 * (https://webassembly.github.io/spec/core/binary/instructions.html).
 *
 * WASM_OPCODES(X) expands X(NAME, CODE, IMM, SIG) per instruction:
 *  - CODE: the opcode; prefixed ones are (prefix << 8 | LEB sub-opcode), e.g.
 *    0xFC00 | 7 for i64.trunc_sat_f64_u.
 *  - IMM: the immediate layout (enum wasm_imm).
 *  - SIG: the operand signature (enum wasm_sig) for the many instructions
 *    whose typing is a fixed [params] -> [results]; SIG_SPECIAL where the
 *    validator types the instruction by hand (control, variables, calls,
 *    references, tables, parametric).
 * The validator and the translator are both driven by this table.
 */
#ifndef SPRY_WASM_OPCODES_H
#define SPRY_WASM_OPCODES_H

#include <stdint.h>

enum wasm_imm {
    IMM_NONE,
    IMM_BLOCKTYPE,     /* s33: empty (0x40), a value type, or a type index */
    IMM_LABEL,         /* u32 label depth */
    IMM_BR_TABLE,      /* vec(u32) labels, u32 default */
    IMM_FUNC,          /* u32 function index */
    IMM_CALL_INDIRECT, /* u32 type index, u32 table index */
    IMM_LOCAL,         /* u32 local index */
    IMM_GLOBAL,        /* u32 global index */
    IMM_TABLE,         /* u32 table index */
    IMM_TABLE_TABLE,   /* u32 table index, u32 table index (table.copy: dst, src) */
    IMM_ELEM_TABLE,    /* u32 elem index, u32 table index (table.init) */
    IMM_ELEM,          /* u32 elem index (elem.drop) */
    IMM_DATA_MEM,      /* u32 data index, byte 0x00 (memory.init) */
    IMM_DATA,          /* u32 data index (data.drop) */
    IMM_MEM,           /* byte 0x00 (memory.size, memory.grow, memory.fill) */
    IMM_MEM_MEM,       /* bytes 0x00 0x00 (memory.copy) */
    IMM_MEMARG,        /* u32 align (log2), u32 offset */
    IMM_I32,           /* s32 */
    IMM_I64,           /* s64 */
    IMM_F32,           /* 4 bytes */
    IMM_F64,           /* 8 bytes */
    IMM_SELECT_T,      /* vec(valtype), length 1 */
    IMM_REFTYPE,       /* byte reftype (ref.null) */
};

/* Fixed signatures: SIG_<params>_<results>, v = none. */
#define WASM_SIGS(X)                   \
    X(SPECIAL, 0, 0, 0, 0)             \
    X(I32_I32, 1, 0x7f, 0, 0x7f)       \
    X(I64_I64, 1, 0x7e, 0, 0x7e)       \
    X(F32_F32, 1, 0x7d, 0, 0x7d)       \
    X(F64_F64, 1, 0x7c, 0, 0x7c)       \
    X(I32I32_I32, 2, 0x7f, 0x7f, 0x7f) \
    X(I64I64_I64, 2, 0x7e, 0x7e, 0x7e) \
    X(F32F32_F32, 2, 0x7d, 0x7d, 0x7d) \
    X(F64F64_F64, 2, 0x7c, 0x7c, 0x7c) \
    X(I64I64_I32, 2, 0x7e, 0x7e, 0x7f) \
    X(F32F32_I32, 2, 0x7d, 0x7d, 0x7f) \
    X(F64F64_I32, 2, 0x7c, 0x7c, 0x7f) \
    X(I64_I32, 1, 0x7e, 0, 0x7f)       \
    X(F32_I32, 1, 0x7d, 0, 0x7f)       \
    X(F64_I32, 1, 0x7c, 0, 0x7f)       \
    X(I32_I64, 1, 0x7f, 0, 0x7e)       \
    X(F32_I64, 1, 0x7d, 0, 0x7e)       \
    X(F64_I64, 1, 0x7c, 0, 0x7e)       \
    X(I32_F32, 1, 0x7f, 0, 0x7d)       \
    X(I64_F32, 1, 0x7e, 0, 0x7d)       \
    X(F64_F32, 1, 0x7c, 0, 0x7d)       \
    X(I32_F64, 1, 0x7f, 0, 0x7c)       \
    X(I64_F64, 1, 0x7e, 0, 0x7c)       \
    X(F32_F64, 1, 0x7d, 0, 0x7c)       \
    X(V_I32, 0, 0, 0, 0x7f)            \
    X(V_I64, 0, 0, 0, 0x7e)            \
    X(V_F32, 0, 0, 0, 0x7d)            \
    X(V_F64, 0, 0, 0, 0x7c)            \
    X(I32I32_V, 2, 0x7f, 0x7f, 0)      \
    X(I32I64_V, 2, 0x7f, 0x7e, 0)      \
    X(I32F32_V, 2, 0x7f, 0x7d, 0)      \
    X(I32F64_V, 2, 0x7f, 0x7c, 0)      \
    X(I32I32I32_V, 3, 0x7f, 0x7f, 0) /* memory.fill/copy/init: third operand also i32 */

enum wasm_sig {
#define WASM_SIG_ENUM(name, nparams, p0, p1, result) SIG_##name,
    WASM_SIGS(WASM_SIG_ENUM)
#undef WASM_SIG_ENUM
};

/* clang-format off */
#define WASM_OPCODES(X) \
    /* control */ \
    X(UNREACHABLE,        0x00, IMM_NONE, SIG_SPECIAL) \
    X(NOP,                0x01, IMM_NONE, SIG_SPECIAL) \
    X(BLOCK,              0x02, IMM_BLOCKTYPE, SIG_SPECIAL) \
    X(LOOP,               0x03, IMM_BLOCKTYPE, SIG_SPECIAL) \
    X(IF,                 0x04, IMM_BLOCKTYPE, SIG_SPECIAL) \
    X(ELSE,               0x05, IMM_NONE, SIG_SPECIAL) \
    X(END,                0x0b, IMM_NONE, SIG_SPECIAL) \
    X(BR,                 0x0c, IMM_LABEL, SIG_SPECIAL) \
    X(BR_IF,              0x0d, IMM_LABEL, SIG_SPECIAL) \
    X(BR_TABLE,           0x0e, IMM_BR_TABLE, SIG_SPECIAL) \
    X(RETURN,             0x0f, IMM_NONE, SIG_SPECIAL) \
    X(CALL,               0x10, IMM_FUNC, SIG_SPECIAL) \
    X(CALL_INDIRECT,      0x11, IMM_CALL_INDIRECT, SIG_SPECIAL) \
    X(RETURN_CALL,        0x12, IMM_FUNC, SIG_SPECIAL)          /* tail-call proposal */ \
    X(RETURN_CALL_INDIRECT, 0x13, IMM_CALL_INDIRECT, SIG_SPECIAL) /* tail-call proposal */ \
    /* parametric */ \
    X(DROP,               0x1a, IMM_NONE, SIG_SPECIAL) \
    X(SELECT,             0x1b, IMM_NONE, SIG_SPECIAL) \
    X(SELECT_T,           0x1c, IMM_SELECT_T, SIG_SPECIAL) \
    /* variables */ \
    X(LOCAL_GET,          0x20, IMM_LOCAL, SIG_SPECIAL) \
    X(LOCAL_SET,          0x21, IMM_LOCAL, SIG_SPECIAL) \
    X(LOCAL_TEE,          0x22, IMM_LOCAL, SIG_SPECIAL) \
    X(GLOBAL_GET,         0x23, IMM_GLOBAL, SIG_SPECIAL) \
    X(GLOBAL_SET,         0x24, IMM_GLOBAL, SIG_SPECIAL) \
    /* tables */ \
    X(TABLE_GET,          0x25, IMM_TABLE, SIG_SPECIAL) \
    X(TABLE_SET,          0x26, IMM_TABLE, SIG_SPECIAL) \
    /* memory */ \
    X(I32_LOAD,           0x28, IMM_MEMARG, SIG_I32_I32) \
    X(I64_LOAD,           0x29, IMM_MEMARG, SIG_I32_I64) \
    X(F32_LOAD,           0x2a, IMM_MEMARG, SIG_I32_F32) \
    X(F64_LOAD,           0x2b, IMM_MEMARG, SIG_I32_F64) \
    X(I32_LOAD8_S,        0x2c, IMM_MEMARG, SIG_I32_I32) \
    X(I32_LOAD8_U,        0x2d, IMM_MEMARG, SIG_I32_I32) \
    X(I32_LOAD16_S,       0x2e, IMM_MEMARG, SIG_I32_I32) \
    X(I32_LOAD16_U,       0x2f, IMM_MEMARG, SIG_I32_I32) \
    X(I64_LOAD8_S,        0x30, IMM_MEMARG, SIG_I32_I64) \
    X(I64_LOAD8_U,        0x31, IMM_MEMARG, SIG_I32_I64) \
    X(I64_LOAD16_S,       0x32, IMM_MEMARG, SIG_I32_I64) \
    X(I64_LOAD16_U,       0x33, IMM_MEMARG, SIG_I32_I64) \
    X(I64_LOAD32_S,       0x34, IMM_MEMARG, SIG_I32_I64) \
    X(I64_LOAD32_U,       0x35, IMM_MEMARG, SIG_I32_I64) \
    X(I32_STORE,          0x36, IMM_MEMARG, SIG_I32I32_V) \
    X(I64_STORE,          0x37, IMM_MEMARG, SIG_I32I64_V) \
    X(F32_STORE,          0x38, IMM_MEMARG, SIG_I32F32_V) \
    X(F64_STORE,          0x39, IMM_MEMARG, SIG_I32F64_V) \
    X(I32_STORE8,         0x3a, IMM_MEMARG, SIG_I32I32_V) \
    X(I32_STORE16,        0x3b, IMM_MEMARG, SIG_I32I32_V) \
    X(I64_STORE8,         0x3c, IMM_MEMARG, SIG_I32I64_V) \
    X(I64_STORE16,        0x3d, IMM_MEMARG, SIG_I32I64_V) \
    X(I64_STORE32,        0x3e, IMM_MEMARG, SIG_I32I64_V) \
    X(MEMORY_SIZE,        0x3f, IMM_MEM, SIG_V_I32) \
    X(MEMORY_GROW,        0x40, IMM_MEM, SIG_I32_I32) \
    /* constants */ \
    X(I32_CONST,          0x41, IMM_I32, SIG_V_I32) \
    X(I64_CONST,          0x42, IMM_I64, SIG_V_I64) \
    X(F32_CONST,          0x43, IMM_F32, SIG_V_F32) \
    X(F64_CONST,          0x44, IMM_F64, SIG_V_F64) \
    /* comparisons */ \
    X(I32_EQZ,            0x45, IMM_NONE, SIG_I32_I32) \
    X(I32_EQ,             0x46, IMM_NONE, SIG_I32I32_I32) \
    X(I32_NE,             0x47, IMM_NONE, SIG_I32I32_I32) \
    X(I32_LT_S,           0x48, IMM_NONE, SIG_I32I32_I32) \
    X(I32_LT_U,           0x49, IMM_NONE, SIG_I32I32_I32) \
    X(I32_GT_S,           0x4a, IMM_NONE, SIG_I32I32_I32) \
    X(I32_GT_U,           0x4b, IMM_NONE, SIG_I32I32_I32) \
    X(I32_LE_S,           0x4c, IMM_NONE, SIG_I32I32_I32) \
    X(I32_LE_U,           0x4d, IMM_NONE, SIG_I32I32_I32) \
    X(I32_GE_S,           0x4e, IMM_NONE, SIG_I32I32_I32) \
    X(I32_GE_U,           0x4f, IMM_NONE, SIG_I32I32_I32) \
    X(I64_EQZ,            0x50, IMM_NONE, SIG_I64_I32) \
    X(I64_EQ,             0x51, IMM_NONE, SIG_I64I64_I32) \
    X(I64_NE,             0x52, IMM_NONE, SIG_I64I64_I32) \
    X(I64_LT_S,           0x53, IMM_NONE, SIG_I64I64_I32) \
    X(I64_LT_U,           0x54, IMM_NONE, SIG_I64I64_I32) \
    X(I64_GT_S,           0x55, IMM_NONE, SIG_I64I64_I32) \
    X(I64_GT_U,           0x56, IMM_NONE, SIG_I64I64_I32) \
    X(I64_LE_S,           0x57, IMM_NONE, SIG_I64I64_I32) \
    X(I64_LE_U,           0x58, IMM_NONE, SIG_I64I64_I32) \
    X(I64_GE_S,           0x59, IMM_NONE, SIG_I64I64_I32) \
    X(I64_GE_U,           0x5a, IMM_NONE, SIG_I64I64_I32) \
    X(F32_EQ,             0x5b, IMM_NONE, SIG_F32F32_I32) \
    X(F32_NE,             0x5c, IMM_NONE, SIG_F32F32_I32) \
    X(F32_LT,             0x5d, IMM_NONE, SIG_F32F32_I32) \
    X(F32_GT,             0x5e, IMM_NONE, SIG_F32F32_I32) \
    X(F32_LE,             0x5f, IMM_NONE, SIG_F32F32_I32) \
    X(F32_GE,             0x60, IMM_NONE, SIG_F32F32_I32) \
    X(F64_EQ,             0x61, IMM_NONE, SIG_F64F64_I32) \
    X(F64_NE,             0x62, IMM_NONE, SIG_F64F64_I32) \
    X(F64_LT,             0x63, IMM_NONE, SIG_F64F64_I32) \
    X(F64_GT,             0x64, IMM_NONE, SIG_F64F64_I32) \
    X(F64_LE,             0x65, IMM_NONE, SIG_F64F64_I32) \
    X(F64_GE,             0x66, IMM_NONE, SIG_F64F64_I32) \
    /* integer arithmetic */ \
    X(I32_CLZ,            0x67, IMM_NONE, SIG_I32_I32) \
    X(I32_CTZ,            0x68, IMM_NONE, SIG_I32_I32) \
    X(I32_POPCNT,         0x69, IMM_NONE, SIG_I32_I32) \
    X(I32_ADD,            0x6a, IMM_NONE, SIG_I32I32_I32) \
    X(I32_SUB,            0x6b, IMM_NONE, SIG_I32I32_I32) \
    X(I32_MUL,            0x6c, IMM_NONE, SIG_I32I32_I32) \
    X(I32_DIV_S,          0x6d, IMM_NONE, SIG_I32I32_I32) \
    X(I32_DIV_U,          0x6e, IMM_NONE, SIG_I32I32_I32) \
    X(I32_REM_S,          0x6f, IMM_NONE, SIG_I32I32_I32) \
    X(I32_REM_U,          0x70, IMM_NONE, SIG_I32I32_I32) \
    X(I32_AND,            0x71, IMM_NONE, SIG_I32I32_I32) \
    X(I32_OR,             0x72, IMM_NONE, SIG_I32I32_I32) \
    X(I32_XOR,            0x73, IMM_NONE, SIG_I32I32_I32) \
    X(I32_SHL,            0x74, IMM_NONE, SIG_I32I32_I32) \
    X(I32_SHR_S,          0x75, IMM_NONE, SIG_I32I32_I32) \
    X(I32_SHR_U,          0x76, IMM_NONE, SIG_I32I32_I32) \
    X(I32_ROTL,           0x77, IMM_NONE, SIG_I32I32_I32) \
    X(I32_ROTR,           0x78, IMM_NONE, SIG_I32I32_I32) \
    X(I64_CLZ,            0x79, IMM_NONE, SIG_I64_I64) \
    X(I64_CTZ,            0x7a, IMM_NONE, SIG_I64_I64) \
    X(I64_POPCNT,         0x7b, IMM_NONE, SIG_I64_I64) \
    X(I64_ADD,            0x7c, IMM_NONE, SIG_I64I64_I64) \
    X(I64_SUB,            0x7d, IMM_NONE, SIG_I64I64_I64) \
    X(I64_MUL,            0x7e, IMM_NONE, SIG_I64I64_I64) \
    X(I64_DIV_S,          0x7f, IMM_NONE, SIG_I64I64_I64) \
    X(I64_DIV_U,          0x80, IMM_NONE, SIG_I64I64_I64) \
    X(I64_REM_S,          0x81, IMM_NONE, SIG_I64I64_I64) \
    X(I64_REM_U,          0x82, IMM_NONE, SIG_I64I64_I64) \
    X(I64_AND,            0x83, IMM_NONE, SIG_I64I64_I64) \
    X(I64_OR,             0x84, IMM_NONE, SIG_I64I64_I64) \
    X(I64_XOR,            0x85, IMM_NONE, SIG_I64I64_I64) \
    X(I64_SHL,            0x86, IMM_NONE, SIG_I64I64_I64) \
    X(I64_SHR_S,          0x87, IMM_NONE, SIG_I64I64_I64) \
    X(I64_SHR_U,          0x88, IMM_NONE, SIG_I64I64_I64) \
    X(I64_ROTL,           0x89, IMM_NONE, SIG_I64I64_I64) \
    X(I64_ROTR,           0x8a, IMM_NONE, SIG_I64I64_I64) \
    /* float arithmetic */ \
    X(F32_ABS,            0x8b, IMM_NONE, SIG_F32_F32) \
    X(F32_NEG,            0x8c, IMM_NONE, SIG_F32_F32) \
    X(F32_CEIL,           0x8d, IMM_NONE, SIG_F32_F32) \
    X(F32_FLOOR,          0x8e, IMM_NONE, SIG_F32_F32) \
    X(F32_TRUNC,          0x8f, IMM_NONE, SIG_F32_F32) \
    X(F32_NEAREST,        0x90, IMM_NONE, SIG_F32_F32) \
    X(F32_SQRT,           0x91, IMM_NONE, SIG_F32_F32) \
    X(F32_ADD,            0x92, IMM_NONE, SIG_F32F32_F32) \
    X(F32_SUB,            0x93, IMM_NONE, SIG_F32F32_F32) \
    X(F32_MUL,            0x94, IMM_NONE, SIG_F32F32_F32) \
    X(F32_DIV,            0x95, IMM_NONE, SIG_F32F32_F32) \
    X(F32_MIN,            0x96, IMM_NONE, SIG_F32F32_F32) \
    X(F32_MAX,            0x97, IMM_NONE, SIG_F32F32_F32) \
    X(F32_COPYSIGN,       0x98, IMM_NONE, SIG_F32F32_F32) \
    X(F64_ABS,            0x99, IMM_NONE, SIG_F64_F64) \
    X(F64_NEG,            0x9a, IMM_NONE, SIG_F64_F64) \
    X(F64_CEIL,           0x9b, IMM_NONE, SIG_F64_F64) \
    X(F64_FLOOR,          0x9c, IMM_NONE, SIG_F64_F64) \
    X(F64_TRUNC,          0x9d, IMM_NONE, SIG_F64_F64) \
    X(F64_NEAREST,        0x9e, IMM_NONE, SIG_F64_F64) \
    X(F64_SQRT,           0x9f, IMM_NONE, SIG_F64_F64) \
    X(F64_ADD,            0xa0, IMM_NONE, SIG_F64F64_F64) \
    X(F64_SUB,            0xa1, IMM_NONE, SIG_F64F64_F64) \
    X(F64_MUL,            0xa2, IMM_NONE, SIG_F64F64_F64) \
    X(F64_DIV,            0xa3, IMM_NONE, SIG_F64F64_F64) \
    X(F64_MIN,            0xa4, IMM_NONE, SIG_F64F64_F64) \
    X(F64_MAX,            0xa5, IMM_NONE, SIG_F64F64_F64) \
    X(F64_COPYSIGN,       0xa6, IMM_NONE, SIG_F64F64_F64) \
    /* conversions */ \
    X(I32_WRAP_I64,       0xa7, IMM_NONE, SIG_I64_I32) \
    X(I32_TRUNC_F32_S,    0xa8, IMM_NONE, SIG_F32_I32) \
    X(I32_TRUNC_F32_U,    0xa9, IMM_NONE, SIG_F32_I32) \
    X(I32_TRUNC_F64_S,    0xaa, IMM_NONE, SIG_F64_I32) \
    X(I32_TRUNC_F64_U,    0xab, IMM_NONE, SIG_F64_I32) \
    X(I64_EXTEND_I32_S,   0xac, IMM_NONE, SIG_I32_I64) \
    X(I64_EXTEND_I32_U,   0xad, IMM_NONE, SIG_I32_I64) \
    X(I64_TRUNC_F32_S,    0xae, IMM_NONE, SIG_F32_I64) \
    X(I64_TRUNC_F32_U,    0xaf, IMM_NONE, SIG_F32_I64) \
    X(I64_TRUNC_F64_S,    0xb0, IMM_NONE, SIG_F64_I64) \
    X(I64_TRUNC_F64_U,    0xb1, IMM_NONE, SIG_F64_I64) \
    X(F32_CONVERT_I32_S,  0xb2, IMM_NONE, SIG_I32_F32) \
    X(F32_CONVERT_I32_U,  0xb3, IMM_NONE, SIG_I32_F32) \
    X(F32_CONVERT_I64_S,  0xb4, IMM_NONE, SIG_I64_F32) \
    X(F32_CONVERT_I64_U,  0xb5, IMM_NONE, SIG_I64_F32) \
    X(F32_DEMOTE_F64,     0xb6, IMM_NONE, SIG_F64_F32) \
    X(F64_CONVERT_I32_S,  0xb7, IMM_NONE, SIG_I32_F64) \
    X(F64_CONVERT_I32_U,  0xb8, IMM_NONE, SIG_I32_F64) \
    X(F64_CONVERT_I64_S,  0xb9, IMM_NONE, SIG_I64_F64) \
    X(F64_CONVERT_I64_U,  0xba, IMM_NONE, SIG_I64_F64) \
    X(F64_PROMOTE_F32,    0xbb, IMM_NONE, SIG_F32_F64) \
    X(I32_REINTERPRET_F32, 0xbc, IMM_NONE, SIG_F32_I32) \
    X(I64_REINTERPRET_F64, 0xbd, IMM_NONE, SIG_F64_I64) \
    X(F32_REINTERPRET_I32, 0xbe, IMM_NONE, SIG_I32_F32) \
    X(F64_REINTERPRET_I64, 0xbf, IMM_NONE, SIG_I64_F64) \
    /* sign extension */ \
    X(I32_EXTEND8_S,      0xc0, IMM_NONE, SIG_I32_I32) \
    X(I32_EXTEND16_S,     0xc1, IMM_NONE, SIG_I32_I32) \
    X(I64_EXTEND8_S,      0xc2, IMM_NONE, SIG_I64_I64) \
    X(I64_EXTEND16_S,     0xc3, IMM_NONE, SIG_I64_I64) \
    X(I64_EXTEND32_S,     0xc4, IMM_NONE, SIG_I64_I64) \
    /* reference types */ \
    X(REF_NULL,           0xd0, IMM_REFTYPE, SIG_SPECIAL) \
    X(REF_IS_NULL,        0xd1, IMM_NONE, SIG_SPECIAL) \
    X(REF_FUNC,           0xd2, IMM_FUNC, SIG_SPECIAL) \
    /* 0xFC prefix: non-trapping float-to-int, bulk memory, tables */ \
    X(I32_TRUNC_SAT_F32_S, 0xfc00, IMM_NONE, SIG_F32_I32) \
    X(I32_TRUNC_SAT_F32_U, 0xfc01, IMM_NONE, SIG_F32_I32) \
    X(I32_TRUNC_SAT_F64_S, 0xfc02, IMM_NONE, SIG_F64_I32) \
    X(I32_TRUNC_SAT_F64_U, 0xfc03, IMM_NONE, SIG_F64_I32) \
    X(I64_TRUNC_SAT_F32_S, 0xfc04, IMM_NONE, SIG_F32_I64) \
    X(I64_TRUNC_SAT_F32_U, 0xfc05, IMM_NONE, SIG_F32_I64) \
    X(I64_TRUNC_SAT_F64_S, 0xfc06, IMM_NONE, SIG_F64_I64) \
    X(I64_TRUNC_SAT_F64_U, 0xfc07, IMM_NONE, SIG_F64_I64) \
    X(MEMORY_INIT,        0xfc08, IMM_DATA_MEM, SIG_I32I32I32_V) \
    X(DATA_DROP,          0xfc09, IMM_DATA, SIG_SPECIAL) \
    X(MEMORY_COPY,        0xfc0a, IMM_MEM_MEM, SIG_I32I32I32_V) \
    X(MEMORY_FILL,        0xfc0b, IMM_MEM, SIG_I32I32I32_V) \
    X(TABLE_INIT,         0xfc0c, IMM_ELEM_TABLE, SIG_SPECIAL) \
    X(ELEM_DROP,          0xfc0d, IMM_ELEM, SIG_SPECIAL) \
    X(TABLE_COPY,         0xfc0e, IMM_TABLE_TABLE, SIG_SPECIAL) \
    X(TABLE_GROW,         0xfc0f, IMM_TABLE, SIG_SPECIAL) \
    X(TABLE_SIZE,         0xfc10, IMM_TABLE, SIG_SPECIAL) \
    X(TABLE_FILL,         0xfc11, IMM_TABLE, SIG_SPECIAL)
/* clang-format on */

enum wasm_opcode {
#define WASM_OPCODE_ENUM(name, code, imm, sig) OP_##name = code,
    WASM_OPCODES(WASM_OPCODE_ENUM)
#undef WASM_OPCODE_ENUM
};

/* Facts about one opcode, looked up by opcode_info(). */
struct wasm_opinfo {
    const char *name; /* e.g. "i32.add" form is not kept; the enum name, e.g. "I32_ADD" */
    uint16_t code;
    uint8_t imm; /* enum wasm_imm */
    uint8_t sig; /* enum wasm_sig */
};

/* Info for a single-byte opcode or a 0xFC-prefixed one (code = 0xFC00 | sub,
 * sub < 256); NULL when the opcode does not exist. */
const struct wasm_opinfo *opcode_info(uint32_t code);

/* The operand types of a fixed signature: params (up to 3) and result (0 = none). */
struct wasm_siginfo {
    uint8_t nparams;
    uint8_t params[3];
    uint8_t result;
};
extern const struct wasm_siginfo wasm_sig_table[];

struct wasm_reader;

/* Reads an opcode (0xfc-prefixed ones as 0xfc00 | sub): 0, or -1 at the
 * end of the bytes or for a prefix sub-opcode above 0xff. For code already
 * validated (the translator, the native emitter); decode.c reports its own
 * errors. */
int opcode_read(struct wasm_reader *r, uint32_t *code);
/* Skips the immediates of an instruction whose opcode was read: 0, or -1. */
int opcode_skip_immediates(struct wasm_reader *r, uint32_t code);

#endif

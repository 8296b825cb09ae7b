/*
 * The interpreter's internal instruction set ("iops").
 *
 * Function bodies are translated once (translate.c) from stack bytecode into
 * a register form run by interp.c. Code is an array of 8-byte words (iword).
 * Each instruction starts with its handler's address (direct threading),
 * followed by operand words. Operands name frame slots: fp[i] for a uint32
 * slot index i, where a frame is [params | locals | operand temporaries].
 * Constants are immediates in the code stream.
 *
 * Operand word layouts (lo/hi = the two 32-bit halves of a word):
 *   unary        h | dst,a
 *   binary       h | dst,a | b
 *   binary-imm   h | dst,a | imm (i32 in lo, or a whole i64 word)
  *   load/store   see IOPS_LOAD below

 *   jump         h | off          (off: words, relative to the instruction start)
 *   cond jump    h | cond,off
 *   cmp+jump     h | a,b | off    (b is an i32 immediate for the _SI forms)
 *
 * Translated code is immutable after translation and shared by every
 * instance of the module on every thread.
 */
#ifndef SPRY_WASM_IOPS_H
#define SPRY_WASM_IOPS_H

#include <stdint.h>

typedef union iword {
    const void *h;
    uint64_t u64;
    int64_t i64;
    struct {
        uint32_t lo, hi;
    } u32;
    struct {
        int32_t lo, hi;
    } s32;
} iword;

/* Simple numeric instructions, by their wasm name: unary ones take (dst, a),
 * binary ones (dst, a, b). Each gets an iop IOP_<NAME>. */
#define IOPS_UNARY(X)      \
    X(I32_EQZ)             \
    X(I64_EQZ)             \
    X(I32_CLZ)             \
    X(I32_CTZ)             \
    X(I32_POPCNT)          \
    X(I64_CLZ)             \
    X(I64_CTZ)             \
    X(I64_POPCNT)          \
    X(F32_ABS)             \
    X(F32_NEG)             \
    X(F32_CEIL)            \
    X(F32_FLOOR)           \
    X(F32_TRUNC)           \
    X(F32_NEAREST)         \
    X(F32_SQRT)            \
    X(F64_ABS)             \
    X(F64_NEG)             \
    X(F64_CEIL)            \
    X(F64_FLOOR)           \
    X(F64_TRUNC)           \
    X(F64_NEAREST)         \
    X(F64_SQRT)            \
    X(I32_WRAP_I64)        \
    X(I32_TRUNC_F32_S)     \
    X(I32_TRUNC_F32_U)     \
    X(I32_TRUNC_F64_S)     \
    X(I32_TRUNC_F64_U)     \
    X(I64_EXTEND_I32_S)    \
    X(I64_EXTEND_I32_U)    \
    X(I64_TRUNC_F32_S)     \
    X(I64_TRUNC_F32_U)     \
    X(I64_TRUNC_F64_S)     \
    X(I64_TRUNC_F64_U)     \
    X(F32_CONVERT_I32_S)   \
    X(F32_CONVERT_I32_U)   \
    X(F32_CONVERT_I64_S)   \
    X(F32_CONVERT_I64_U)   \
    X(F32_DEMOTE_F64)      \
    X(F64_CONVERT_I32_S)   \
    X(F64_CONVERT_I32_U)   \
    X(F64_CONVERT_I64_S)   \
    X(F64_CONVERT_I64_U)   \
    X(F64_PROMOTE_F32)     \
    X(I32_EXTEND8_S)       \
    X(I32_EXTEND16_S)      \
    X(I64_EXTEND8_S)       \
    X(I64_EXTEND16_S)      \
    X(I64_EXTEND32_S)      \
    X(I32_TRUNC_SAT_F32_S) \
    X(I32_TRUNC_SAT_F32_U) \
    X(I32_TRUNC_SAT_F64_S) \
    X(I32_TRUNC_SAT_F64_U) \
    X(I64_TRUNC_SAT_F32_S) \
    X(I64_TRUNC_SAT_F32_U) \
    X(I64_TRUNC_SAT_F64_S) \
    X(I64_TRUNC_SAT_F64_U)

#define IOPS_BINARY(X) \
    X(I32_EQ)          \
    X(I32_NE)          \
    X(I32_LT_S)        \
    X(I32_LT_U)        \
    X(I32_GT_S)        \
    X(I32_GT_U)        \
    X(I32_LE_S)        \
    X(I32_LE_U)        \
    X(I32_GE_S)        \
    X(I32_GE_U)        \
    X(I64_EQ)          \
    X(I64_NE)          \
    X(I64_LT_S)        \
    X(I64_LT_U)        \
    X(I64_GT_S)        \
    X(I64_GT_U)        \
    X(I64_LE_S)        \
    X(I64_LE_U)        \
    X(I64_GE_S)        \
    X(I64_GE_U)        \
    X(F32_EQ)          \
    X(F32_NE)          \
    X(F32_LT)          \
    X(F32_GT)          \
    X(F32_LE)          \
    X(F32_GE)          \
    X(F64_EQ)          \
    X(F64_NE)          \
    X(F64_LT)          \
    X(F64_GT)          \
    X(F64_LE)          \
    X(F64_GE)          \
    X(I32_ADD)         \
    X(I32_SUB)         \
    X(I32_MUL)         \
    X(I32_DIV_S)       \
    X(I32_DIV_U)       \
    X(I32_REM_S)       \
    X(I32_REM_U)       \
    X(I32_AND)         \
    X(I32_OR)          \
    X(I32_XOR)         \
    X(I32_SHL)         \
    X(I32_SHR_S)       \
    X(I32_SHR_U)       \
    X(I32_ROTL)        \
    X(I32_ROTR)        \
    X(I64_ADD)         \
    X(I64_SUB)         \
    X(I64_MUL)         \
    X(I64_DIV_S)       \
    X(I64_DIV_U)       \
    X(I64_REM_S)       \
    X(I64_REM_U)       \
    X(I64_AND)         \
    X(I64_OR)          \
    X(I64_XOR)         \
    X(I64_SHL)         \
    X(I64_SHR_S)       \
    X(I64_SHR_U)       \
    X(I64_ROTL)        \
    X(I64_ROTR)        \
    X(F32_ADD)         \
    X(F32_SUB)         \
    X(F32_MUL)         \
    X(F32_DIV)         \
    X(F32_MIN)         \
    X(F32_MAX)         \
    X(F32_COPYSIGN)    \
    X(F64_ADD)         \
    X(F64_SUB)         \
    X(F64_MUL)         \
    X(F64_DIV)         \
    X(F64_MIN)         \
    X(F64_MAX)         \
    X(F64_COPYSIGN)

/* Binary instructions that also get an immediate right operand form
 * IOP_<NAME>_I (i32 immediates in the lo half, i64 ones as a whole word). */
#define IOPS_BINARY_IMM(X) \
    X(I32_EQ)              \
    X(I32_NE)              \
    X(I32_LT_S)            \
    X(I32_LT_U)            \
    X(I32_GT_S)            \
    X(I32_GT_U)            \
    X(I32_LE_S)            \
    X(I32_LE_U)            \
    X(I32_GE_S)            \
    X(I32_GE_U)            \
    X(I32_ADD)             \
    X(I32_SUB)             \
    X(I32_MUL)             \
    X(I32_AND)             \
    X(I32_OR)              \
    X(I32_XOR)             \
    X(I32_SHL)             \
    X(I32_SHR_S)           \
    X(I32_SHR_U)           \
    X(I32_ROTL)            \
    X(I32_ROTR)            \
    X(I64_EQ)              \
    X(I64_NE)              \
    X(I64_LT_S)            \
    X(I64_LT_U)            \
    X(I64_GT_S)            \
    X(I64_GT_U)            \
    X(I64_LE_S)            \
    X(I64_LE_U)            \
    X(I64_GE_S)            \
    X(I64_GE_U)            \
    X(I64_ADD)             \
    X(I64_SUB)             \
    X(I64_MUL)             \
    X(I64_AND)             \
    X(I64_OR)              \
    X(I64_XOR)             \
    X(I64_SHL)             \
    X(I64_SHR_S)           \
    X(I64_SHR_U)           \
    X(I64_ROTL)            \
    X(I64_ROTR)

/* i32 comparisons fused with a following br_if / if: IOP_BR_<NAME>_SS jumps
 * when the comparison holds (a, b slots) and IOP_BR_<NAME>_SI with b an
 * immediate. The translator fuses `if` by using the negated comparison.
 * IOP_BR_ADDI_<NAME>_SS/_SI also absorb an i32.add of an immediate just
 * before, the usual loop step (i += k; if (i < n) continue):
 *   h | dst,a | imm,b | off    fp[dst] = fp[a] + imm, then compare fp[dst] with b */
#define IOPS_CMP_BRANCH(X) \
    X(I32_EQ)              \
    X(I32_NE)              \
    X(I32_LT_S)            \
    X(I32_LT_U)            \
    X(I32_GT_S)            \
    X(I32_GT_U)            \
    X(I32_LE_S)            \
    X(I32_LE_U)            \
    X(I32_GE_S)            \
    X(I32_GE_U)

/*
 * Fused pairs of binary operators whose first result feeds only the second,
 * chosen from the pairs measured hottest in bit-mixing code (hashes,
 * ciphers, encoders):
 *   IOP_FA_<F>__<S>  t = a F imm; dst = t S b    h | dst,a | imm,b   (S commutative)
 *   IOP_FB_<F>__<S>  t = a F b;   dst = t S imm  h | dst,a | b | imm64
 *   IOP_FC_<F>__<S>  t = a F b;   dst = t S c    h | dst,a | b,c
 *   IOP_FD_<F>__<S>  t = a F b;   dst = c S t    h | dst,a | b,c
 * The FC/FD pairs are floating-point chains (products feeding sums); the
 * intermediate result is rounded to its type exactly as between two
 * instructions.
 */
#define IOPS_FUSE_IMM_FIRST(X) \
    X(I32_SHL, I32_OR)         \
    X(I32_SHR_U, I32_OR)       \
    X(I32_SHL, I32_XOR)        \
    X(I32_SHR_U, I32_XOR)      \
    X(I32_SHL, I32_ADD)        \
    X(I32_AND, I32_OR)         \
    X(I32_AND, I32_ADD)        \
    X(I64_SHL, I64_XOR)        \
    X(I64_SHR_U, I64_XOR)      \
    X(I64_SHL, I64_OR)         \
    X(I64_SHR_U, I64_OR)

#define IOPS_FUSE_IMM_SECOND(X) \
    X(I32_XOR, I32_ROTL)        \
    X(I32_XOR, I32_ROTR)        \
    X(I32_ADD, I32_ROTL)        \
    X(I32_ADD, I32_AND)         \
    X(I32_XOR, I32_AND)         \
    X(I64_XOR, I64_MUL)         \
    X(I64_XOR, I64_ROTL)        \
    X(I64_ADD, I64_MUL)

#define IOPS_FUSE_SLOTS(X) \
    X(F64_MUL, F64_ADD)    \
    X(F64_MUL, F64_SUB)    \
    X(F64_MUL, F64_MUL)    \
    X(F64_SUB, F64_MUL)    \
    X(F64_ADD, F64_MUL)    \
    X(F32_MUL, F32_ADD)    \
    X(F32_MUL, F32_SUB)    \
    X(F32_MUL, F32_MUL)    \
    X(F32_SUB, F32_MUL)    \
    X(F32_ADD, F32_MUL)

/* An f64.load whose value feeds an f64 operator directly ("memory
 * operand"): IOP_LF_<OP> with the address in a slot, IOP_LF_AI_<OP> with a
 * fused address add of an immediate. RSUB is load - x.
 *   LF     h | dst,x | addr,offset         dst = x OP load(addr + offset)
 *   LF_AI  h | dst,x | a,imm | offset      address (a + imm) wraps at 32 bits */
#define IOPS_LOAD_OP(X) \
    X(F64_ADD)          \
    X(F64_SUB)          \
    X(F64_RSUB)         \
    X(F64_MUL)

/* Loads and stores (by wasm name). Each has three forms: IOP_<NAME> takes
 * its address from a slot; IOP_<NAME>_A and _AI fuse a preceding i32.add
 * (slot + slot, or slot + immediate) that computes the address:
 *   load          h | dst,addr | offset
 *   load _A/_AI   h | dst,a    | b or imm, offset
 *   store         h | addr,val | offset
 *   store _A/_AI  h | a,b or imm | val, offset
 * The sum wraps at 32 bits before the offset is added, as in wasm. Stores
 * have a fourth form for a constant value (compiled code's field
 * initialisation), so that the constant needs no slot for the prologue to
 * fill on every call:
 *   store _V      h | addr,imm | offset   (imm sign-extended from 32 bits;
 *                 i64/f64 stores use it only for values that fit) */
#define IOPS_LOAD(X) \
    X(I32_LOAD)      \
    X(I64_LOAD)      \
    X(F32_LOAD)      \
    X(F64_LOAD)      \
    X(I32_LOAD8_S)   \
    X(I32_LOAD8_U)   \
    X(I32_LOAD16_S)  \
    X(I32_LOAD16_U)  \
    X(I64_LOAD8_S)   \
    X(I64_LOAD8_U)   \
    X(I64_LOAD16_S)  \
    X(I64_LOAD16_U)  \
    X(I64_LOAD32_S)  \
    X(I64_LOAD32_U)

#define IOPS_STORE(X) \
    X(I32_STORE)      \
    X(I64_STORE)      \
    X(F32_STORE)      \
    X(F64_STORE)      \
    X(I32_STORE8)     \
    X(I32_STORE16)    \
    X(I64_STORE8)     \
    X(I64_STORE16)    \
    X(I64_STORE32)

/*
 * Everything else, with its operand words:
 *   COPY           dst,src                       fp[dst] = fp[src]
 *   COPY_IMM       dst | imm64
 *   BR             off
 *   BR_NZ / BR_Z   cond,off
 *   BR_TABLE       idx,n | off0 | ... | off_n    (n+1 offsets; the last is the default)
 *   RETURN                                       results already in fp[0..)
 *   RETURN1        src                           fp[0] = fp[src]; return
 *   CALL           func,base                     callee frame at fp+base
 *   CALL_INDIRECT  table,base | type_id,idx      idx: slot of the element index
 *   RETURN_CALL, RETURN_CALL_INDIRECT: as above; args are moved to fp[0..)
 *   CALL_ARGS      func,base | n,src0 | src1,src2 | ...
 *   CALL_ARGS1/2/3 func,base | src0,src1 | src2     (1, 2 or 3 arguments; no n)
 *   CALL_INDIRECT_ARGS  table,base | type_id,idx | n,src0 | src1,src2 | ...
 *                  as CALL / CALL_INDIRECT, first copying fp[base+k] = fp[src_k]
 *                  for each of the n arguments (src_k = base+k: in place), so
 *                  that arguments still in locals or constant slots need no COPY
 *   (interruption: checked by every taken backward jump and at function entry)
 *   UNREACHABLE
 *   SELECT         dst,cond | a,b                fp[dst] = cond ? fp[a] : fp[b]
 *   GLOBAL_GET     dst,global    GLOBAL_SET global,src
 *   ADDI_GLOBAL_SET  dst,a | imm,global  fp[dst] = global = (i32)(fp[a] + imm)
 *   GLOBAL_ADD_I     dst,global | imm    fp[dst] = global = (i32)(global + imm)
 *                  (the stack-pointer epilogue and prologue of compiled code)
 *   MEMORY_SIZE    dst           MEMORY_GROW dst,delta
 *   MEMORY_FILL    d,val | n     MEMORY_COPY d,s | n      MEMORY_INIT d,s | n,seg
 *   DATA_DROP      seg
 *   REF_IS_NULL    dst,a         REF_FUNC dst,func
 *   TABLE_GET      dst,idx | table            TABLE_SET idx,val | table
 *   TABLE_SIZE     dst,table     TABLE_GROW dst,init | n,table
 *   TABLE_FILL     i,val | n,table            TABLE_COPY d,s | n,dst_table | src_table
 *   TABLE_INIT     d,s | n,table | seg        ELEM_DROP seg
 *   ENTER          first,nzero | nconst | value ... the prologue of a function with
 *                  constant slots or more than INTERP_ZERO_AHEAD locals: zeroes
 *                  fp[first..+nzero) beyond what the call zeroed, then gives
 *                  the nconst constant slots above them their values
 */
#define IOPS_OTHER(X)       \
    X(COPY)                 \
    X(COPY_IMM)             \
    X(BR)                   \
    X(BR_NZ)                \
    X(BR_Z)                 \
    X(BR_TABLE)             \
    X(RETURN)               \
    X(RETURN1)              \
    X(CALL)                 \
    X(CALL_INDIRECT)        \
    X(RETURN_CALL)          \
    X(RETURN_CALL_INDIRECT) \
    X(CALL_ARGS1)           \
    X(ADDI_GLOBAL_SET)      \
    X(GLOBAL_ADD_I)         \
    X(CALL_ARGS2)           \
    X(CALL_ARGS3)           \
    X(CALL_ARGS)            \
    X(CALL_INDIRECT_ARGS)   \
    X(UNREACHABLE)          \
    X(SELECT)               \
    X(GLOBAL_GET)           \
    X(GLOBAL_SET)           \
    X(MEMORY_SIZE)          \
    X(MEMORY_GROW)          \
    X(MEMORY_FILL)          \
    X(MEMORY_COPY)          \
    X(MEMORY_INIT)          \
    X(DATA_DROP)            \
    X(REF_IS_NULL)          \
    X(REF_FUNC)             \
    X(TABLE_GET)            \
    X(TABLE_SET)            \
    X(TABLE_SIZE)           \
    X(TABLE_GROW)           \
    X(TABLE_FILL)           \
    X(TABLE_COPY)           \
    X(TABLE_INIT)           \
    X(ELEM_DROP)            \
    X(ENTER)                \
    X(NATIVE)

enum iop {
#define IOP_ENUM_PLAIN(name) IOP_##name,
#define IOP_ENUM_IMM(name)   IOP_##name##_I,
#define IOP_ENUM_BR(name) \
    IOP_BR_##name##_SS, IOP_BR_##name##_SI, IOP_BR_ADDI_##name##_SS, IOP_BR_ADDI_##name##_SI,
#define IOP_ENUM_MEM(name) IOP_##name, IOP_##name##_A, IOP_##name##_AI,
#define IOP_ENUM_FA(f, s)  IOP_FA_##f##__##s,
#define IOP_ENUM_FB(f, s)  IOP_FB_##f##__##s,
#define IOP_ENUM_FCD(f, s) IOP_FC_##f##__##s, IOP_FD_##f##__##s,
#define IOP_ENUM_LF(op)    IOP_LF_##op, IOP_LF_AI_##op,
#define IOP_ENUM_V(name)   IOP_##name##_V,
    IOPS_UNARY(IOP_ENUM_PLAIN) IOPS_BINARY(IOP_ENUM_PLAIN) IOPS_BINARY_IMM(IOP_ENUM_IMM)
        IOPS_CMP_BRANCH(IOP_ENUM_BR) IOPS_LOAD(IOP_ENUM_MEM) IOPS_STORE(IOP_ENUM_MEM)
            IOPS_OTHER(IOP_ENUM_PLAIN) IOPS_FUSE_IMM_FIRST(IOP_ENUM_FA)
                IOPS_FUSE_IMM_SECOND(IOP_ENUM_FB) IOPS_FUSE_SLOTS(IOP_ENUM_FCD)
                    IOPS_LOAD_OP(IOP_ENUM_LF) IOPS_STORE(IOP_ENUM_V)
#undef IOP_ENUM_PLAIN
#undef IOP_ENUM_IMM
#undef IOP_ENUM_BR
#undef IOP_ENUM_MEM
#undef IOP_ENUM_FA
#undef IOP_ENUM_FB
#undef IOP_ENUM_FCD
#undef IOP_ENUM_LF
#undef IOP_ENUM_V
                        IOP_COUNT
};

/* Maps a code position back to the wasm byte offset of the instruction that
 * produced it, for trap reports. Sorted by `pos`. */
struct interp_srcmap {
    uint32_t pos;    /* word index in code */
    uint32_t offset; /* byte offset in the module */
};

/* Every translated frame has at least nparams + INTERP_ZERO_AHEAD slots,
 * and nparams + 2 * INTERP_ZERO_AHEAD when it declares more than
 * INTERP_ZERO_AHEAD locals: a call zeroes the first INTERP_ZERO_AHEAD slots
 * above the parameters with unconditional stores (all the locals of most
 * functions), and ENTER the next INTERP_ZERO_AHEAD the same way; only
 * functions with more locals than that call memset. */
#define INTERP_ZERO_AHEAD 4

struct interp_code {
    uint32_t nparams;
    uint32_t nresults;
    uint32_t nlocals; /* params + declared locals: slots [0, nlocals) */
    uint32_t nslots;  /* frame size: locals plus the deepest operand stack */
    uint32_t ncode;   /* words in code */
    uint32_t nsrcmap;
    iword *code;
    struct interp_srcmap *srcmap;
};

/* The handler addresses of every iop, indexed by enum iop (interp.c), and
 * of the interpreter that checks every memory access against the memory's
 * size (interp_checked.c; the same table with SPRY_EXPLICIT_BOUNDS). */
const void *const *interp_handlers(void);
const void *const *interp_handlers_checked(void);

#endif

/*
 * The interpreter: runs translated code (iops.h) with direct-threaded
 * dispatch (computed goto).
 *
 * Frames live on the store's value stack: a callee's frame starts at the
 * slot of its first argument in the caller's frame, so arguments are passed
 * and results returned in place. Return addresses live on a separate frame
 * stack (store-owned), so wasm-to-wasm calls never recurse on the C stack;
 * only a host function calling back into wasm nests a C activation.
 *
 * Traps: handlers jump to `trap` with a kind. Out-of-bounds memory accesses
 * with guard pages fault instead; the signal handler (trap.c) longjmps back
 * to the activation's entry, where the same unwinding happens.
 *
 * Two interpreters are built from this file: this one, which relies on
 * guard pages for memory bounds, and the checked one (interp_checked.c
 * includes this file with INTERP_CHECKED_COPY), which compares every access
 * with the memory's size. interp_run hands a call to the checked one while
 * a memory of the store is read-write beyond its size (a pool slot keeps
 * the pages an earlier instance grew into mapped, so that the next
 * instance's growth changes no page tables: docs/ARCHITECTURE.md, "Instance
 * pool"). Each has its own handler table, so each function has a
 * translation per interpreter. With SPRY_EXPLICIT_BOUNDS this one checks
 * and is the only one.
 */
#include "wasm/interp.h"

#include "base/alloc.h"
#include "wasm/iops.h"
#include "wasm/native.h"
#include "wasm/numeric.h"
#include "wasm/runtime.h"
#include "wasm/translate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#ifndef INTERP_CHECKED_COPY
#define INTERP_CHECKED_COPY 0
#endif
#if SPRY_EXPLICIT_BOUNDS || INTERP_CHECKED_COPY
#define INTERP_CHECKED 1
#else
#define INTERP_CHECKED 0
#endif
#if INTERP_CHECKED_COPY
/* This translation unit's names for what it shares with interp.c. */
#define interp_run      interp_run_checked
#define interp_handlers interp_handlers_checked
#define CODE_FIELD      code_checked
#define CACHE_FIELD     code_checked_cache
#else
#define CODE_FIELD  code
#define CACHE_FIELD code_cache
#endif

#if defined(__GNUC__)
#define LIKELY(x)   __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define LIKELY(x)   (x)
#define UNLIKELY(x) (x)
#endif

/* The thread's innermost activation, shared by both interpreters. */
#if !INTERP_CHECKED_COPY
_Thread_local struct interp_activation *interp_activation_now;

struct interp_activation *interp_current_activation(void)
{
    return interp_activation_now;
}
#endif

/* Returns the translated code of a defined function, translating it on
 * first use. Two threads may translate at once; one result wins. The
 * first use is apart, so that every call inlines only the load. */
__attribute__((noinline)) static struct interp_code *translate_now(struct spry_func *f,
                                                                   struct spry_store *store)
{
    struct interp_code *code;
    struct spry_report report;
    spry_report_init(&report);
    int rc = translate_func(f->inst->module, f->index, interp_handlers(), &code, &report);
    if (rc != 0) {
        runtime_trap(store, SPRY_TRAP_HOST, report.message);
        return NULL;
    }
    struct interp_code *expected = NULL;
    if (!atomic_compare_exchange_strong_explicit(&f->def->CODE_FIELD, &expected, code,
                                                 memory_order_acq_rel, memory_order_acquire)) {
        translate_free(code);
        code = expected;
    }
    return code;
}

static inline struct interp_code *code_of(struct spry_func *f, struct spry_store *store)
{
    struct interp_code *code = atomic_load_explicit(&f->def->CODE_FIELD, memory_order_acquire);
    return LIKELY(code != NULL) ? code : translate_now(f, store);
}

/* The translated code of the running function `f` (translated already). */
static inline struct interp_code *code_now(struct spry_func *f)
{
    return f != NULL && f->def != NULL
               ? atomic_load_explicit(&f->def->CODE_FIELD, memory_order_acquire)
               : NULL;
}

/* Fills in where a trap happened: function index and name, and the byte
 * offset of the instruction (via the code's source map) when pc is known. */
static void locate_trap(struct spry_store *store, const struct spry_func *f,
                        const struct interp_code *code, const iword *pc)
{
    struct spry_trap *t = &store->trap;
    if (f == NULL || f->def == NULL)
        return;
    t->func_index = f->index;
    const struct wasm_module *m = f->inst->module;
    if (m->func_names != NULL && m->func_names[f->index] != NULL)
        snprintf(t->func_name, sizeof t->func_name, "%s", m->func_names[f->index]);
    t->code_offset = f->def->body_offset;
    if (code == NULL || pc == NULL || code->nsrcmap == 0)
        return;
    uint32_t pos = (uint32_t)(pc - code->code);
    uint32_t lo = 0, hi = code->nsrcmap;
    while (hi - lo > 1) { /* last entry with entry.pos <= pos */
        uint32_t mid = lo + (hi - lo) / 2;
        if (code->srcmap[mid].pos <= pos)
            lo = mid;
        else
            hi = mid;
    }
    t->code_offset = code->srcmap[lo].offset;
}

static inline struct spry_memory *mem0(const struct spry_instance *inst)
{
    return inst->module->nmemories > 0 ? inst->memories[0] : NULL;
}

/* memory.init / memory.copy / memory.fill, table ops: bounds rules from
 * https://webassembly.github.io/spec/core/exec/instructions.html (a range
 * [start, start+n) must lie within the object; n = 0 at the end is fine). */
static inline bool range_ok(uint64_t start, uint64_t n, uint64_t size)
{
    return start <= size && n <= size - start;
}

#if !INTERP_CHECKED_COPY
int interp_call(struct spry_store *store, struct spry_func *func, uint64_t *slots)
{
    if (func->def == NULL) {
        int rc = func->host(func->host_user, NULL, slots);
        if (rc == SPRY_ETRAP && store->trap.kind == SPRY_TRAP_NONE)
            runtime_trap(store, SPRY_TRAP_HOST, "host function failed");
        return rc;
    }
    return interp_run(store, func, slots);
}
#endif

/* Handler prologue/epilogue helpers. The `pc` register points at the first
 * word of the current instruction. */
#define NEXT(words)    \
    do {               \
        pc += (words); \
        goto * pc->h;  \
    } while (0)

/* A taken jump. Loops only repeat through backward jumps, so checking for
 * interruption there (and at function entry) bounds the time to stop. */
#define JUMP(off)                                                                                 \
    do {                                                                                          \
        int32_t off_ = (off);                                                                     \
        if (off_ <= 0 && UNLIKELY(atomic_load_explicit(&store->interrupt, memory_order_relaxed))) \
            TRAP(SPRY_TRAP_INTERRUPTED);                                                          \
        NEXT(off_);                                                                               \
    } while (0)

#define S(i) fp[(i)]
#define A1LO pc[1].u32.lo
#define A1HI pc[1].u32.hi
#define A2LO pc[2].u32.lo
#define A2HI pc[2].u32.hi
#define TRAP(kind_)          \
    do {                     \
        trap_kind = (kind_); \
        goto trap;           \
    } while (0)

#if INTERP_CHECKED
#define MEM_ADDR(ea_, addr_, off_, n_)                   \
    uint64_t ea_ = (uint64_t)(uint32_t)(addr_) + (off_); \
    if (UNLIKELY(ea_ + (n_) > memsize))                  \
    TRAP(SPRY_TRAP_MEMORY_OOB)
#else
#define MEM_ADDR(ea_, addr_, off_, n_) uint64_t ea_ = (uint64_t)(uint32_t)(addr_) + (off_)
#endif

/* The operators that appear in fused pairs, on slot values. */
static inline uint64_t op_I32_SHL(uint64_t a, uint64_t b)
{
    return (uint32_t)((uint32_t)a << (b & 31));
}
static inline uint64_t op_I32_SHR_U(uint64_t a, uint64_t b)
{
    return (uint32_t)a >> (b & 31);
}
static inline uint64_t op_I32_AND(uint64_t a, uint64_t b)
{
    return (uint32_t)(a & b);
}
static inline uint64_t op_I32_OR(uint64_t a, uint64_t b)
{
    return (uint32_t)(a | b);
}
static inline uint64_t op_I32_XOR(uint64_t a, uint64_t b)
{
    return (uint32_t)(a ^ b);
}
static inline uint64_t op_I32_ADD(uint64_t a, uint64_t b)
{
    return (uint32_t)(a + b);
}
static inline uint64_t op_I32_ROTL(uint64_t a, uint64_t b)
{
    return num_rotl32((uint32_t)a, (uint32_t)b);
}
static inline uint64_t op_I32_ROTR(uint64_t a, uint64_t b)
{
    return num_rotr32((uint32_t)a, (uint32_t)b);
}
static inline uint64_t op_I64_SHL(uint64_t a, uint64_t b)
{
    return a << (b & 63);
}
static inline uint64_t op_I64_SHR_U(uint64_t a, uint64_t b)
{
    return a >> (b & 63);
}
static inline uint64_t op_I64_OR(uint64_t a, uint64_t b)
{
    return a | b;
}
static inline uint64_t op_I64_XOR(uint64_t a, uint64_t b)
{
    return a ^ b;
}
static inline uint64_t op_I64_ADD(uint64_t a, uint64_t b)
{
    return a + b;
}
static inline uint64_t op_I64_MUL(uint64_t a, uint64_t b)
{
    return a * b;
}
static inline uint64_t op_I64_ROTL(uint64_t a, uint64_t b)
{
    return num_rotl64(a, b);
}

#define OP_FLOAT(name, type, conv, back, expr)               \
    static inline uint64_t op_##name(uint64_t a, uint64_t b) \
    {                                                        \
        type x = conv(a), y = conv(b);                       \
        return back(expr);                                   \
    }
#define F32_OF(v) bits_f32((uint32_t)(v))
OP_FLOAT(F64_ADD, double, bits_f64, f64_bits, x + y)
OP_FLOAT(F64_SUB, double, bits_f64, f64_bits, x - y)
OP_FLOAT(F64_MUL, double, bits_f64, f64_bits, x *y)
OP_FLOAT(F64_RSUB, double, bits_f64, f64_bits, y - x)
OP_FLOAT(F32_ADD, float, F32_OF, f32_bits, x + y)
OP_FLOAT(F32_SUB, float, F32_OF, f32_bits, x - y)
OP_FLOAT(F32_MUL, float, F32_OF, f32_bits, x *y)
#undef OP_FLOAT
#undef F32_OF

/* The argument copies of CALL_ARGS / CALL_INDIRECT_ARGS: dst[k] =
 * fp[src[k]] for n >= 1 arguments (the translator lists none otherwise). A
 * plain loop, kept from being vectorised: calls have few arguments. */
static inline void copy_args(uint64_t *dst, const uint64_t *fp, const uint32_t *src, uint32_t n)
{
    const uint32_t *end = src + n;
#if defined(__clang__)
#pragma clang loop vectorize(disable) unroll(disable)
#elif defined(__GNUC__)
#pragma GCC unroll 1
#endif
    do
        *dst++ = fp[*src++];
    while (src != end);
}

/* Zeroes the INTERP_ZERO_AHEAD slots above a callee's parameters: all its
 * declared locals when it has at most that many (then it has no prologue
 * for them), and temporaries it writes before reading otherwise. Four
 * unconditional stores cost less than a branch on the count. */
static inline void zero_ahead(uint64_t *fp, const struct interp_code *cc)
{
    uint64_t *p = fp + cc->nparams;
    p[0] = 0;
    p[1] = 0;
    p[2] = 0;
    p[3] = 0;
}

/* The constant slots of ENTER: dst[k] = code[k].u64 for n >= 1 constants.
 * A plain loop, as copy_args. */
static inline void fill_consts(uint64_t *dst, const iword *code, uint32_t n)
{
    const iword *end = code + n;
#if defined(__clang__)
#pragma clang loop vectorize(disable) unroll(disable)
#elif defined(__GNUC__)
#pragma GCC unroll 1
#endif
    do
        *dst++ = (code++)->u64;
    while (code != end);
}

static inline uint32_t i32_clz(uint32_t x)
{
    return x == 0 ? 32 : (uint32_t)__builtin_clz(x);
}
static inline uint32_t i32_ctz(uint32_t x)
{
    return x == 0 ? 32 : (uint32_t)__builtin_ctz(x);
}
static inline uint64_t i64_clz(uint64_t x)
{
    return x == 0 ? 64 : (uint64_t)__builtin_clzll(x);
}
static inline uint64_t i64_ctz(uint64_t x)
{
    return x == 0 ? 64 : (uint64_t)__builtin_ctzll(x);
}

/*
 * The dispatch loop. It runs from the entry frame interp_run set up (its
 * fp and code) until that frame returns. Kept apart from interp_run so that
 * no variable of the loop lives across _setjmp: a returns-twice call forces
 * such variables out of registers, and fp and pc must stay in registers.
 * Called with store == NULL it only reports the handler table.
 */
__attribute__((noinline)) static int execute(struct spry_store *store, struct spry_func *entry,
                                             uint64_t *fp, struct interp_code *code,
                                             uint64_t *slots)
{
    static const void *const handlers[IOP_COUNT + 1] = {
#define H_PLAIN(name) [IOP_##name] = &&L_##name,
#define H_IMM(name)   [IOP_##name##_I] = &&L_##name##_I,
#define H_BR(name)                                                                        \
    [IOP_BR_##name##_SS] = &&L_BR_##name##_SS, [IOP_BR_##name##_SI] = &&L_BR_##name##_SI, \
    [IOP_BR_ADDI_##name##_SS] = &&L_BR_ADDI_##name##_SS,                                  \
    [IOP_BR_ADDI_##name##_SI] = &&L_BR_ADDI_##name##_SI,
#define H_FA(f, s) [IOP_FA_##f##__##s] = &&L_FA_##f##__##s,
#define H_FB(f, s) [IOP_FB_##f##__##s] = &&L_FB_##f##__##s,
#define H_LF(op)   [IOP_LF_##op] = &&L_LF_##op, [IOP_LF_AI_##op] = &&L_LF_AI_##op,
#define H_FCD(f, s) \
    [IOP_FC_##f##__##s] = &&L_FC_##f##__##s, [IOP_FD_##f##__##s] = &&L_FD_##f##__##s,
#define H_MEM(name)                                               \
    [IOP_##name] = &&L_##name, [IOP_##name##_A] = &&L_##name##_A, \
    [IOP_##name##_AI] = &&L_##name##_AI,
#define H_V(name) [IOP_##name##_V] = &&L_##name##_V,
        IOPS_UNARY(H_PLAIN) IOPS_BINARY(H_PLAIN) IOPS_BINARY_IMM(H_IMM) IOPS_CMP_BRANCH(H_BR)
            IOPS_LOAD(H_MEM) IOPS_STORE(H_MEM) IOPS_OTHER(H_PLAIN) IOPS_FUSE_IMM_FIRST(H_FA)
                IOPS_FUSE_IMM_SECOND(H_FB) IOPS_FUSE_SLOTS(H_FCD) IOPS_LOAD_OP(H_LF) IOPS_STORE(H_V)
#undef H_PLAIN
#undef H_IMM
#undef H_BR
#undef H_MEM
#undef H_V
#undef H_FA
#undef H_FB
#undef H_FCD
#undef H_LF
                    [IOP_COUNT] = &&L_EXIT,
    };
    if (store == NULL) { /* interp_handlers() asks for the table */
        *(const void *const **)slots = handlers;
        return 0;
    }

    uint64_t *stack_end = store->stack + store->stack_slots;
    /* The frame stack: `top` is the next free frame. store->depth is only
     * brought up to date where someone else reads it: before a host call
     * (which may call back into wasm, nesting an activation above) and on
     * leaving. */
    struct interp_frame *frames = store->frames;
    struct interp_frame *top = frames + store->depth;
    struct interp_frame *const frames_limit = frames + store->limits.max_call_depth;
    struct spry_func *cur = entry;
    struct spry_instance *inst = entry->inst;
    struct spry_memory *memory = mem0(inst);
    uint8_t *mem = memory != NULL ? memory->base : NULL;
    uint8_t *written = memory != NULL ? memory->written : NULL; /* runtime.h */
#if INTERP_CHECKED
    uint64_t memsize = memory != NULL ? memory->size : 0;
#define RELOAD_MEM()                                       \
    do {                                                   \
        memory = mem0(inst);                               \
        mem = memory != NULL ? memory->base : NULL;        \
        written = memory != NULL ? memory->written : NULL; \
        memsize = memory != NULL ? memory->size : 0;       \
    } while (0)
#else
#define RELOAD_MEM()                                       \
    do {                                                   \
        memory = mem0(inst);                               \
        mem = memory != NULL ? memory->base : NULL;        \
        written = memory != NULL ? memory->written : NULL; \
    } while (0)
#endif
    const iword *pc = code->code;
    int trap_kind = SPRY_TRAP_NONE;
    uint32_t trap_elem = 0; /* the table index of an element trap */
    int rc = 0;
    struct spry_func *callee;
    uint64_t *newfp;

    if (UNLIKELY(atomic_load_explicit(&store->interrupt, memory_order_relaxed)))
        TRAP(SPRY_TRAP_INTERRUPTED);
    goto * pc->h;

    /* ---- numeric ------------------------------------------------------ */
#define UN(name, expr)        \
    L_##name:                 \
    {                         \
        uint64_t a = S(A1HI); \
        S(A1LO) = (expr);     \
        NEXT(2);              \
    }
#define UN_TRAP(name, check, expr) \
    L_##name:                      \
    {                              \
        uint64_t a = S(A1HI);      \
        check;                     \
        S(A1LO) = (expr);          \
        NEXT(2);                   \
    }
#define I32A ((int32_t)(uint32_t)a)
#define U32A ((uint32_t)a)
#define I64A ((int64_t)a)
#define F32A bits_f32((uint32_t)a)
#define F64A bits_f64(a)

    UN(I32_EQZ, (uint32_t)a == 0)
    UN(I64_EQZ, a == 0)
    UN(I32_CLZ, i32_clz(U32A))
    UN(I32_CTZ, i32_ctz(U32A))
    UN(I32_POPCNT, (uint32_t)__builtin_popcount(U32A))
    UN(I64_CLZ, i64_clz(a))
    UN(I64_CTZ, i64_ctz(a))
    UN(I64_POPCNT, (uint64_t)__builtin_popcountll(a))
    UN(F32_ABS, U32A & 0x7fffffffu)
    UN(F32_NEG, U32A ^ 0x80000000u)
    UN(F32_CEIL, f32_bits(num_f32_ceil(F32A)))
    UN(F32_FLOOR, f32_bits(num_f32_floor(F32A)))
    UN(F32_TRUNC, f32_bits(num_f32_trunc(F32A)))
    UN(F32_NEAREST, f32_bits(num_f32_nearest(F32A)))
    UN(F32_SQRT, f32_bits(sqrtf(F32A)))
    UN(F64_ABS, a & 0x7fffffffffffffffull)
    UN(F64_NEG, a ^ 0x8000000000000000ull)
    UN(F64_CEIL, f64_bits(num_f64_ceil(F64A)))
    UN(F64_FLOOR, f64_bits(num_f64_floor(F64A)))
    UN(F64_TRUNC, f64_bits(num_f64_trunc(F64A)))
    UN(F64_NEAREST, f64_bits(num_f64_nearest(F64A)))
    UN(F64_SQRT, f64_bits(sqrt(F64A)))
    UN(I32_WRAP_I64, (uint32_t)a)
    UN_TRAP(I32_TRUNC_F32_S, if (isnan(F32A)) TRAP(SPRY_TRAP_INVALID_CONVERSION);
            if (!num_in_i32(F32A)) TRAP(SPRY_TRAP_INT_OVERFLOW), (uint32_t)(int32_t)F32A)
    UN_TRAP(I32_TRUNC_F32_U, if (isnan(F32A)) TRAP(SPRY_TRAP_INVALID_CONVERSION);
            if (!num_in_u32(F32A)) TRAP(SPRY_TRAP_INT_OVERFLOW), (uint32_t)F32A)
    UN_TRAP(I32_TRUNC_F64_S, if (isnan(F64A)) TRAP(SPRY_TRAP_INVALID_CONVERSION);
            if (!num_in_i32(F64A)) TRAP(SPRY_TRAP_INT_OVERFLOW), (uint32_t)(int32_t)F64A)
    UN_TRAP(I32_TRUNC_F64_U, if (isnan(F64A)) TRAP(SPRY_TRAP_INVALID_CONVERSION);
            if (!num_in_u32(F64A)) TRAP(SPRY_TRAP_INT_OVERFLOW), (uint32_t)F64A)
    UN(I64_EXTEND_I32_S, (uint64_t)(int64_t)I32A)
    UN(I64_EXTEND_I32_U, (uint64_t)U32A)
    UN_TRAP(I64_TRUNC_F32_S, if (isnan(F32A)) TRAP(SPRY_TRAP_INVALID_CONVERSION);
            if (!num_in_i64(F32A)) TRAP(SPRY_TRAP_INT_OVERFLOW), (uint64_t)(int64_t)F32A)
    UN_TRAP(I64_TRUNC_F32_U, if (isnan(F32A)) TRAP(SPRY_TRAP_INVALID_CONVERSION);
            if (!num_in_u64(F32A)) TRAP(SPRY_TRAP_INT_OVERFLOW), (uint64_t)F32A)
    UN_TRAP(I64_TRUNC_F64_S, if (isnan(F64A)) TRAP(SPRY_TRAP_INVALID_CONVERSION);
            if (!num_in_i64(F64A)) TRAP(SPRY_TRAP_INT_OVERFLOW), (uint64_t)(int64_t)F64A)
    UN_TRAP(I64_TRUNC_F64_U, if (isnan(F64A)) TRAP(SPRY_TRAP_INVALID_CONVERSION);
            if (!num_in_u64(F64A)) TRAP(SPRY_TRAP_INT_OVERFLOW), (uint64_t)F64A)
    UN(F32_CONVERT_I32_S, f32_bits((float)I32A))
    UN(F32_CONVERT_I32_U, f32_bits((float)U32A))
    UN(F32_CONVERT_I64_S, f32_bits((float)I64A))
    UN(F32_CONVERT_I64_U, f32_bits((float)a))
    UN(F32_DEMOTE_F64, f32_bits((float)F64A))
    UN(F64_CONVERT_I32_S, f64_bits((double)I32A))
    UN(F64_CONVERT_I32_U, f64_bits((double)U32A))
    UN(F64_CONVERT_I64_S, f64_bits((double)I64A))
    UN(F64_CONVERT_I64_U, f64_bits((double)a))
    UN(F64_PROMOTE_F32, f64_bits((double)F32A))
    UN(I32_EXTEND8_S, (uint32_t)(int32_t)(int8_t)a)
    UN(I32_EXTEND16_S, (uint32_t)(int32_t)(int16_t)a)
    UN(I64_EXTEND8_S, (uint64_t)(int64_t)(int8_t)a)
    UN(I64_EXTEND16_S, (uint64_t)(int64_t)(int16_t)a)
    UN(I64_EXTEND32_S, (uint64_t)(int64_t)(int32_t)a)
    UN(I32_TRUNC_SAT_F32_S, (uint32_t)num_sat_i32(F32A))
    UN(I32_TRUNC_SAT_F32_U, num_sat_u32(F32A))
    UN(I32_TRUNC_SAT_F64_S, (uint32_t)num_sat_i32(F64A))
    UN(I32_TRUNC_SAT_F64_U, num_sat_u32(F64A))
    UN(I64_TRUNC_SAT_F32_S, (uint64_t)num_sat_i64(F32A))
    UN(I64_TRUNC_SAT_F32_U, num_sat_u64(F32A))
    UN(I64_TRUNC_SAT_F64_S, (uint64_t)num_sat_i64(F64A))
    UN(I64_TRUNC_SAT_F64_U, num_sat_u64(F64A))

    /* Binary operators: BIN defines the slot,slot form; BIN_I also the
     * slot,immediate form (i32 immediates in the lo half of word 2). */
#define I32B ((int32_t)(uint32_t)b)
#define U32B ((uint32_t)b)
#define I64B ((int64_t)b)
#define F32B bits_f32((uint32_t)b)
#define F64B bits_f64(b)
#define BIN(name, expr)                    \
    L_##name:                              \
    {                                      \
        uint64_t a = S(A1HI), b = S(A2LO); \
        S(A1LO) = (expr);                  \
        NEXT(3);                           \
    }
#define BIN_I32I(name, expr)            \
    L_##name##_I:                       \
    {                                   \
        uint64_t a = S(A1HI), b = A2LO; \
        S(A1LO) = (expr);               \
        NEXT(3);                        \
    }
#define BIN_I64I(name, expr)                 \
    L_##name##_I:                            \
    {                                        \
        uint64_t a = S(A1HI), b = pc[2].u64; \
        S(A1LO) = (expr);                    \
        NEXT(3);                             \
    }
#define BIN_TRAP(name, check, expr)        \
    L_##name:                              \
    {                                      \
        uint64_t a = S(A1HI), b = S(A2LO); \
        check;                             \
        S(A1LO) = (expr);                  \
        NEXT(3);                           \
    }
#define BIN32(name, expr) BIN(name, expr) BIN_I32I(name, expr)
#define BIN64(name, expr) BIN(name, expr) BIN_I64I(name, expr)

    BIN32(I32_EQ, U32A == U32B)
    BIN32(I32_NE, U32A != U32B)
    BIN32(I32_LT_S, I32A < I32B)
    BIN32(I32_LT_U, U32A < U32B)
    BIN32(I32_GT_S, I32A > I32B)
    BIN32(I32_GT_U, U32A > U32B)
    BIN32(I32_LE_S, I32A <= I32B)
    BIN32(I32_LE_U, U32A <= U32B)
    BIN32(I32_GE_S, I32A >= I32B)
    BIN32(I32_GE_U, U32A >= U32B)
    BIN64(I64_EQ, a == b)
    BIN64(I64_NE, a != b)
    BIN64(I64_LT_S, I64A < I64B)
    BIN64(I64_LT_U, a < b)
    BIN64(I64_GT_S, I64A > I64B)
    BIN64(I64_GT_U, a > b)
    BIN(I64_LE_S, I64A <= I64B)
    BIN(I64_LE_U, a <= b)
    BIN(I64_GE_S, I64A >= I64B)
    BIN(I64_GE_U, a >= b)
    BIN(F32_EQ, F32A == F32B)
    BIN(F32_NE, F32A != F32B)
    BIN(F32_LT, F32A < F32B)
    BIN(F32_GT, F32A > F32B)
    BIN(F32_LE, F32A <= F32B)
    BIN(F32_GE, F32A >= F32B)
    BIN(F64_EQ, F64A == F64B)
    BIN(F64_NE, F64A != F64B)
    BIN(F64_LT, F64A < F64B)
    BIN(F64_GT, F64A > F64B)
    BIN(F64_LE, F64A <= F64B)
    BIN(F64_GE, F64A >= F64B)
    BIN32(I32_ADD, (uint32_t)(U32A + U32B))
    BIN32(I32_SUB, (uint32_t)(U32A - U32B))
    BIN32(I32_MUL, (uint32_t)(U32A * U32B))
    BIN_TRAP(I32_DIV_S, if (U32B == 0) TRAP(SPRY_TRAP_DIV_ZERO);
             if (I32A == INT32_MIN && I32B == -1) TRAP(SPRY_TRAP_INT_OVERFLOW),
             (uint32_t)(I32A / I32B))
    BIN_TRAP(I32_DIV_U, if (U32B == 0) TRAP(SPRY_TRAP_DIV_ZERO), U32A / U32B)
    BIN_TRAP(I32_REM_S, if (U32B == 0) TRAP(SPRY_TRAP_DIV_ZERO),
             I32B == -1 ? 0 : (uint32_t)(I32A % I32B))
    BIN_TRAP(I32_REM_U, if (U32B == 0) TRAP(SPRY_TRAP_DIV_ZERO), U32A % U32B)
    BIN32(I32_AND, U32A & U32B)
    BIN32(I32_OR, U32A | U32B)
    BIN32(I32_XOR, U32A ^ U32B)
    BIN32(I32_SHL, (uint32_t)(U32A << (U32B & 31)))
    BIN32(I32_SHR_S, (uint32_t)(I32A >> (U32B & 31)))
    BIN32(I32_SHR_U, U32A >> (U32B & 31))
    BIN32(I32_ROTL, num_rotl32(U32A, U32B))
    BIN32(I32_ROTR, num_rotr32(U32A, U32B))
    BIN64(I64_ADD, a + b)
    BIN64(I64_SUB, a - b)
    BIN64(I64_MUL, a * b)
    BIN_TRAP(I64_DIV_S, if (b == 0) TRAP(SPRY_TRAP_DIV_ZERO); if (I64A == INT64_MIN && I64B == -1)
                                                                  TRAP(SPRY_TRAP_INT_OVERFLOW),
                                                              (uint64_t)(I64A / I64B))
    BIN_TRAP(I64_DIV_U, if (b == 0) TRAP(SPRY_TRAP_DIV_ZERO), a / b)
    BIN_TRAP(I64_REM_S, if (b == 0) TRAP(SPRY_TRAP_DIV_ZERO),
             I64B == -1 ? 0 : (uint64_t)(I64A % I64B))
    BIN_TRAP(I64_REM_U, if (b == 0) TRAP(SPRY_TRAP_DIV_ZERO), a % b)
    BIN64(I64_AND, a & b)
    BIN64(I64_OR, a | b)
    BIN64(I64_XOR, a ^ b)
    BIN64(I64_SHL, a << (b & 63))
    BIN64(I64_SHR_S, (uint64_t)(I64A >> (b & 63)))
    BIN64(I64_SHR_U, a >> (b & 63))
    BIN64(I64_ROTL, num_rotl64(a, b))
    BIN64(I64_ROTR, num_rotr64(a, b))
    BIN(F32_ADD, f32_bits(F32A + F32B))
    BIN(F32_SUB, f32_bits(F32A - F32B))
    BIN(F32_MUL, f32_bits(F32A * F32B))
    BIN(F32_DIV, f32_bits(F32A / F32B))
    BIN(F32_MIN, f32_bits(num_f32_min(F32A, F32B)))
    BIN(F32_MAX, f32_bits(num_f32_max(F32A, F32B)))
    BIN(F32_COPYSIGN, (U32A & 0x7fffffffu) | (U32B & 0x80000000u))
    BIN(F64_ADD, f64_bits(F64A + F64B))
    BIN(F64_SUB, f64_bits(F64A - F64B))
    BIN(F64_MUL, f64_bits(F64A * F64B))
    BIN(F64_DIV, f64_bits(F64A / F64B))
    BIN(F64_MIN, f64_bits(num_f64_min(F64A, F64B)))
    BIN(F64_MAX, f64_bits(num_f64_max(F64A, F64B)))
    BIN(F64_COPYSIGN, (a & 0x7fffffffffffffffull) | (b & 0x8000000000000000ull))

    /* The remaining _I forms of IOPS_BINARY_IMM that BIN32/BIN64 above did
     * not define. */
    BIN_I64I(I64_LE_S, I64A <= I64B)
    BIN_I64I(I64_LE_U, a <= b)
    BIN_I64I(I64_GE_S, I64A >= I64B)
    BIN_I64I(I64_GE_U, a >= b)

    /* Fused pairs (iops.h): the operators as functions of two slots. */
#define FUSE_A(f, s)                        \
    L_FA_##f##__##s:                        \
    {                                       \
        uint64_t t = op_##f(S(A1HI), A2LO); \
        S(A1LO) = op_##s(t, S(A2HI));       \
        NEXT(3);                            \
    }
#define FUSE_B(f, s)                           \
    L_FB_##f##__##s:                           \
    {                                          \
        uint64_t t = op_##f(S(A1HI), S(A2LO)); \
        S(A1LO) = op_##s(t, pc[3].u64);        \
        NEXT(4);                               \
    }
#define FUSE_CD(f, s)                          \
    L_FC_##f##__##s:                           \
    {                                          \
        uint64_t t = op_##f(S(A1HI), S(A2LO)); \
        S(A1LO) = op_##s(t, S(A2HI));          \
        NEXT(3);                               \
    }                                          \
    L_FD_##f##__##s:                           \
    {                                          \
        uint64_t t = op_##f(S(A1HI), S(A2LO)); \
        S(A1LO) = op_##s(S(A2HI), t);          \
        NEXT(3);                               \
    }
    IOPS_FUSE_IMM_FIRST(FUSE_A)
    IOPS_FUSE_IMM_SECOND(FUSE_B)
    IOPS_FUSE_SLOTS(FUSE_CD)

#define LOAD_OP(op)                                                \
    L_LF_##op:                                                     \
    {                                                              \
        MEM_ADDR(ea, S(A2LO), A2HI, 8);                            \
        uint64_t v;                                                \
        memcpy(&v, mem + ea, 8);                                   \
        S(A1LO) = op_##op(S(A1HI), v);                             \
        NEXT(3);                                                   \
    }                                                              \
    L_LF_AI_##op:                                                  \
    {                                                              \
        MEM_ADDR(ea, (uint32_t)(S(A2LO) + A2HI), pc[3].u32.lo, 8); \
        uint64_t v;                                                \
        memcpy(&v, mem + ea, 8);                                   \
        S(A1LO) = op_##op(S(A1HI), v);                             \
        NEXT(4);                                                   \
    }
    IOPS_LOAD_OP(LOAD_OP)

    /* Compare-and-branch. */
#define BR_CMP(name, cond)                       \
    L_BR_##name##_SS:                            \
    {                                            \
        uint64_t a = S(A1LO), b = S(A1HI);       \
        if (cond)                                \
            JUMP(pc[2].s32.lo);                  \
        NEXT(3);                                 \
    }                                            \
    L_BR_##name##_SI:                            \
    {                                            \
        uint64_t a = S(A1LO), b = A1HI;          \
        if (cond)                                \
            JUMP(pc[2].s32.lo);                  \
        NEXT(3);                                 \
    }                                            \
    L_BR_ADDI_##name##_SS:                       \
    {                                            \
        uint64_t a = (uint32_t)(S(A1HI) + A2LO); \
        S(A1LO) = a;                             \
        uint64_t b = S(A2HI);                    \
        if (cond)                                \
            JUMP(pc[3].s32.lo);                  \
        NEXT(4);                                 \
    }                                            \
    L_BR_ADDI_##name##_SI:                       \
    {                                            \
        uint64_t a = (uint32_t)(S(A1HI) + A2LO); \
        S(A1LO) = a;                             \
        uint64_t b = A2HI;                       \
        if (cond)                                \
            JUMP(pc[3].s32.lo);                  \
        NEXT(4);                                 \
    }
    BR_CMP(I32_EQ, U32A == U32B)
    BR_CMP(I32_NE, U32A != U32B)
    BR_CMP(I32_LT_S, I32A < I32B)
    BR_CMP(I32_LT_U, U32A < U32B)
    BR_CMP(I32_GT_S, I32A > I32B)
    BR_CMP(I32_GT_U, U32A > U32B)
    BR_CMP(I32_LE_S, I32A <= I32B)
    BR_CMP(I32_LE_U, U32A <= U32B)
    BR_CMP(I32_GE_S, I32A >= I32B)
    BR_CMP(I32_GE_U, U32A >= U32B)

    /* ---- memory ------------------------------------------------------- */
#define LOAD_FORM(label, addr, off, ctype, n, conv) \
    label : {                                       \
        MEM_ADDR(ea, addr, off, n);                 \
        ctype v;                                    \
        memcpy(&v, mem + ea, n);                    \
        S(A1LO) = conv;                             \
        NEXT(3);                                    \
    }
#define LOAD(name, ctype, n, conv)                                               \
    LOAD_FORM(L_##name, S(A1HI), A2LO, ctype, n, conv)                           \
    LOAD_FORM(L_##name##_A, (uint32_t)(S(A1HI) + S(A2LO)), A2HI, ctype, n, conv) \
    LOAD_FORM(L_##name##_AI, (uint32_t)(S(A1HI) + A2LO), A2HI, ctype, n, conv)
    LOAD(I32_LOAD, uint32_t, 4, v)
    LOAD(I64_LOAD, uint64_t, 8, v)
    LOAD(F32_LOAD, uint32_t, 4, v)
    LOAD(F64_LOAD, uint64_t, 8, v)
    LOAD(I32_LOAD8_S, int8_t, 1, (uint32_t)(int32_t)v)
    LOAD(I32_LOAD8_U, uint8_t, 1, (uint32_t)v)
    LOAD(I32_LOAD16_S, int16_t, 2, (uint32_t)(int32_t)v)
    LOAD(I32_LOAD16_U, uint16_t, 2, (uint32_t)v)
    LOAD(I64_LOAD8_S, int8_t, 1, (uint64_t)(int64_t)v)
    LOAD(I64_LOAD8_U, uint8_t, 1, (uint64_t)v)
    LOAD(I64_LOAD16_S, int16_t, 2, (uint64_t)(int64_t)v)
    LOAD(I64_LOAD16_U, uint16_t, 2, (uint64_t)v)
    LOAD(I64_LOAD32_S, int32_t, 4, (uint64_t)(int64_t)v)
    LOAD(I64_LOAD32_U, uint32_t, 4, (uint64_t)v)

    /* A store marks the granule of its first byte written; the at most
     * WRITTEN_SPILL bytes it may put in the next granule are the reset's to
     * find (image.h). An out-of-bounds store faults or traps before. */
#define STORE_FORM(label, addr, val, off, ctype, n) \
    label : {                                       \
        MEM_ADDR(ea, addr, off, n);                 \
        ctype v = (ctype)(val);                     \
        memcpy(mem + ea, &v, n);                    \
        written[ea >> WRITTEN_SHIFT] = 1;           \
        NEXT(3);                                    \
    }
#define STORE(name, ctype, n)                                                        \
    STORE_FORM(L_##name, S(A1LO), S(A1HI), A2LO, ctype, n)                           \
    STORE_FORM(L_##name##_A, (uint32_t)(S(A1LO) + S(A1HI)), S(A2LO), A2HI, ctype, n) \
    STORE_FORM(L_##name##_AI, (uint32_t)(S(A1LO) + A1HI), S(A2LO), A2HI, ctype, n)   \
    STORE_FORM(L_##name##_V, S(A1LO), (int64_t)pc[1].s32.hi, A2LO, ctype, n)
    STORE(I32_STORE, uint32_t, 4)
    STORE(I64_STORE, uint64_t, 8)
    STORE(F32_STORE, uint32_t, 4)
    STORE(F64_STORE, uint64_t, 8)
    STORE(I32_STORE8, uint8_t, 1)
    STORE(I32_STORE16, uint16_t, 2)
    STORE(I64_STORE8, uint8_t, 1)
    STORE(I64_STORE16, uint16_t, 2)
    STORE(I64_STORE32, uint32_t, 4)

L_MEMORY_SIZE:
    S(A1LO) = memory->size / WASM_PAGE_SIZE;
    NEXT(2);
L_MEMORY_GROW : {
    int64_t old = memory_grow(memory, (uint32_t)S(A1HI));
    S(A1LO) = (uint32_t)old;
    RELOAD_MEM();
    NEXT(2);
}
L_MEMORY_FILL : {
    uint64_t d = (uint32_t)S(A1LO), n = (uint32_t)S(A2LO);
    if (!range_ok(d, n, memory->size))
        TRAP(SPRY_TRAP_MEMORY_OOB);
    memset(mem + d, (int)(uint8_t)S(A1HI), n);
    memory_note_write(memory, d, n);
    NEXT(3);
}
L_MEMORY_COPY : {
    uint64_t d = (uint32_t)S(A1LO), s = (uint32_t)S(A1HI), n = (uint32_t)S(A2LO);
    if (!range_ok(d, n, memory->size) || !range_ok(s, n, memory->size))
        TRAP(SPRY_TRAP_MEMORY_OOB);
    memmove(mem + d, mem + s, n);
    memory_note_write(memory, d, n);
    NEXT(3);
}
L_MEMORY_INIT : {
    uint64_t d = (uint32_t)S(A1LO), s = (uint32_t)S(A1HI), n = (uint32_t)S(A2LO);
    uint32_t seg = A2HI;
    const struct wasm_data *data = &inst->module->datas[seg];
    uint64_t seg_size = inst->data_dropped[seg] ? 0 : data->size;
    if (!range_ok(d, n, memory->size) || !range_ok(s, n, seg_size))
        TRAP(SPRY_TRAP_MEMORY_OOB);
    memcpy(mem + d, data->bytes + s, n);
    memory_note_write(memory, d, n);
    NEXT(3);
}
L_DATA_DROP:
    inst->data_dropped[A1LO] = 1;
    inst->segments_dropped = true;
    NEXT(2);

    /* ---- variables and parametric -------------------------------------- */
L_COPY:
    S(A1LO) = S(A1HI);
    NEXT(2);
L_COPY_IMM:
    S(A1LO) = pc[2].u64;
    NEXT(3);
L_SELECT:
    S(A1LO) = (uint32_t)S(A1HI) != 0 ? S(A2LO) : S(A2HI);
    NEXT(3);
L_GLOBAL_GET:
    S(A1LO) = inst->globals[A1HI]->value;
    NEXT(2);
L_GLOBAL_SET:
    inst->globals[A1LO]->value = S(A1HI);
    NEXT(2);
L_ADDI_GLOBAL_SET : {
    uint64_t v = (uint32_t)(S(A1HI) + A2LO);
    S(A1LO) = v;
    inst->globals[A2HI]->value = v;
    NEXT(3);
}
L_GLOBAL_ADD_I : {
    struct spry_global *g = inst->globals[A1HI];
    uint64_t v = (uint32_t)(g->value + A2LO);
    g->value = v;
    S(A1LO) = v;
    NEXT(3);
}

    /* ---- references and tables ----------------------------------------- */
L_REF_IS_NULL:
    S(A1LO) = S(A1HI) == 0;
    NEXT(2);
L_REF_FUNC:
    S(A1LO) = (uint64_t)(uintptr_t)inst->funcs[A1HI];
    NEXT(2);
L_TABLE_GET : {
    struct spry_table *t = inst->tables[A2LO];
    uint32_t i = (uint32_t)S(A1HI);
    if (i >= t->size)
        TRAP(SPRY_TRAP_TABLE_OOB);
    S(A1LO) = (uint64_t)(uintptr_t)t->elems[i];
    NEXT(3);
}
L_TABLE_SET : {
    struct spry_table *t = inst->tables[A2LO];
    uint32_t i = (uint32_t)S(A1LO);
    if (i >= t->size)
        TRAP(SPRY_TRAP_TABLE_OOB);
    t->elems[i] = (void *)(uintptr_t)S(A1HI);
    t->dirty = true;
    NEXT(3);
}
L_TABLE_SIZE:
    S(A1LO) = inst->tables[A1HI]->size;
    NEXT(2);
L_TABLE_GROW : {
    struct spry_table *t = inst->tables[A2HI];
    S(A1LO) = (uint32_t)table_grow(t, (uint32_t)S(A2LO), (void *)(uintptr_t)S(A1HI));
    NEXT(3);
}
L_TABLE_FILL : {
    struct spry_table *t = inst->tables[A2HI];
    uint64_t i = (uint32_t)S(A1LO), n = (uint32_t)S(A2LO);
    if (!range_ok(i, n, t->size))
        TRAP(SPRY_TRAP_TABLE_OOB);
    void *v = (void *)(uintptr_t)S(A1HI);
    for (uint64_t k = 0; k < n; k++)
        t->elems[i + k] = v;
    t->dirty = true;
    NEXT(3);
}
L_TABLE_COPY : {
    struct spry_table *dt = inst->tables[A2HI], *st = inst->tables[pc[3].u32.lo];
    uint64_t d = (uint32_t)S(A1LO), s = (uint32_t)S(A1HI), n = (uint32_t)S(A2LO);
    if (!range_ok(d, n, dt->size) || !range_ok(s, n, st->size))
        TRAP(SPRY_TRAP_TABLE_OOB);
    memmove(dt->elems + d, st->elems + s, n * sizeof(void *));
    dt->dirty = true;
    NEXT(4);
}
L_TABLE_INIT : {
    struct spry_table *t = inst->tables[A2HI];
    uint32_t seg = pc[3].u32.lo;
    uint64_t d = (uint32_t)S(A1LO), s = (uint32_t)S(A1HI), n = (uint32_t)S(A2LO);
    uint64_t seg_size = inst->elem_dropped[seg] ? 0 : inst->elem_refs[seg].count;
    if (!range_ok(d, n, t->size) || !range_ok(s, n, seg_size))
        TRAP(SPRY_TRAP_TABLE_OOB);
    if (n > 0)
        memcpy(t->elems + d, inst->elem_refs[seg].refs + s, n * sizeof(void *));
    t->dirty = true;
    NEXT(4);
}
L_ELEM_DROP:
    inst->elem_dropped[A1LO] = 1;
    inst->segments_dropped = true;
    NEXT(2);
    /* The prologue (iops.h): zero the declared locals beyond the ones the
     * call zeroed, fill the constant slots above them. */
L_ENTER : {
    uint64_t *p = fp + A1LO;
    uint32_t nz = A1HI, nc = A2LO;
    if (nz > 2 * INTERP_ZERO_AHEAD) {
        memset(p, 0, nz * sizeof *p);
    } else if (nz > INTERP_ZERO_AHEAD) {
        for (int i = 0; i < 2 * INTERP_ZERO_AHEAD; i++)
            p[i] = 0;
    }
    if (nc != 0)
        fill_consts(p + nz, pc + 3, nc);
    NEXT(3 + nc);
}

    /* ---- control ---------------------------------------------------------- */
L_BR:
    JUMP(pc[1].s32.lo);
L_BR_NZ:
    if ((uint32_t)S(A1LO) != 0)
        JUMP(pc[1].s32.hi);
    NEXT(2);
L_BR_Z:
    if ((uint32_t)S(A1LO) == 0)
        JUMP(pc[1].s32.hi);
    NEXT(2);
L_BR_TABLE : {
    uint32_t i = (uint32_t)S(A1LO), n = A1HI;
    if (i > n)
        i = n;
    JUMP(pc[2 + i].s32.lo);
}

L_UNREACHABLE:
    TRAP(SPRY_TRAP_UNREACHABLE);

L_CALL:
    callee = inst->funcs[A1LO];
    newfp = fp + A1HI;
    pc += 2;
    goto do_call;
    /* callee = element S(A2HI) of table A1LO, which must have type A2LO. */
#define INDIRECT_CALLEE()                                                                         \
    do {                                                                                          \
        struct spry_table *t_ = inst->tables[A1LO];                                               \
        uint32_t i_ = (uint32_t)S(A2HI);                                                          \
        if (i_ >= t_->size || t_->elems[i_] == NULL) {                                            \
            trap_elem = i_;                                                                       \
            TRAP(i_ >= t_->size ? SPRY_TRAP_UNDEFINED_ELEMENT : SPRY_TRAP_UNINITIALIZED_ELEMENT); \
        }                                                                                         \
        callee = t_->elems[i_];                                                                   \
        if (callee->type_id != A2LO)                                                              \
            TRAP(SPRY_TRAP_INDIRECT_TYPE);                                                        \
    } while (0)
L_CALL_INDIRECT:
    INDIRECT_CALLEE();
    newfp = fp + A1HI;
    pc += 3;
    goto do_call;
    /* CALL_ARGS1..3: the sources follow func,base; CALL_ARGS: n first. */
L_CALL_ARGS1:
    newfp = fp + A1HI;
    newfp[0] = S(A2LO);
    callee = inst->funcs[A1LO];
    pc += 3;
    goto do_call;
L_CALL_ARGS2:
    newfp = fp + A1HI;
    newfp[0] = S(A2LO);
    newfp[1] = S(A2HI);
    callee = inst->funcs[A1LO];
    pc += 3;
    goto do_call;
L_CALL_ARGS3:
    newfp = fp + A1HI;
    newfp[0] = S(A2LO);
    newfp[1] = S(A2HI);
    newfp[2] = S(pc[3].u32.lo);
    callee = inst->funcs[A1LO];
    pc += 4;
    goto do_call;
L_CALL_ARGS : {
    const uint32_t *src = &pc[2].u32.lo;
    uint32_t n = src[0];
    newfp = fp + A1HI;
    callee = inst->funcs[A1LO];
    copy_args(newfp, fp, src + 1, n);
    pc += 2 + (n + 2) / 2;
    goto do_call;
}
L_CALL_INDIRECT_ARGS : {
    INDIRECT_CALLEE();
    const uint32_t *src = &pc[3].u32.lo;
    uint32_t n = src[0];
    newfp = fp + A1HI;
    copy_args(newfp, fp, src + 1, n);
    pc += 3 + (n + 2) / 2;
    goto do_call;
}
L_RETURN_CALL:
    callee = inst->funcs[A1LO];
    newfp = fp + A1HI;
    goto do_tail_call;
L_RETURN_CALL_INDIRECT:
    INDIRECT_CALLEE();
    newfp = fp + A1HI;
    goto do_tail_call;

do_tail_call : {
    /* Move the arguments down to this frame's base and replace the frame:
     * the callee returns straight to our caller. */
    uint32_t np = callee->type->nparams;
    memmove(fp, newfp, np * sizeof *fp);
    if (callee->def == NULL) {
        /* A host callee: call it here, then return its results. */
        newfp = fp;
        store->sp = (uint32_t)(newfp - store->stack) +
                    (np > callee->type->nresults ? np : callee->type->nresults);
        store->depth = (uint32_t)(top - frames);
        bool clean = store->trap.kind == SPRY_TRAP_NONE;
        rc = callee->host(callee->host_user, inst, newfp);
        if (rc != 0)
            goto host_failed;
        if (UNLIKELY(store->trap.kind != SPRY_TRAP_NONE) && clean)
            runtime_trap_forget(store, inst); /* a nested trap the host absorbed */
        RELOAD_MEM();
        goto L_RETURN;
    }
    struct interp_code *cc = code_of(callee, store);
    if (cc == NULL)
        goto unwind;
    if (fp + cc->nslots > stack_end)
        TRAP(SPRY_TRAP_STACK_EXHAUSTED);
    zero_ahead(fp, cc);
    cur = callee;
    store->cur_func = cur;
    if (callee->inst != inst) {
        inst = callee->inst;
        RELOAD_MEM();
    }
    pc = cc->code;
    if (UNLIKELY(atomic_load_explicit(&store->interrupt, memory_order_relaxed)))
        TRAP(SPRY_TRAP_INTERRUPTED);
    goto * pc->h;
}

do_call : {
    /* pc already points past the call instruction: the return address. */
    struct interp_code *cc = atomic_load_explicit(&callee->CACHE_FIELD, memory_order_relaxed);
    if (UNLIKELY(cc == NULL)) {
        if (callee->def == NULL) {
            uint32_t np = callee->type->nparams, nr = callee->type->nresults;
            store->sp = (uint32_t)(newfp - store->stack) + (np > nr ? np : nr);
            store->depth = (uint32_t)(top - frames); /* a callback nests above */
            bool clean = store->trap.kind == SPRY_TRAP_NONE;
            rc = callee->host(callee->host_user, inst, newfp);
            if (rc != 0)
                goto host_failed;
            if (UNLIKELY(store->trap.kind != SPRY_TRAP_NONE) && clean)
                runtime_trap_forget(store, inst); /* a nested trap the host absorbed */
            RELOAD_MEM();
            goto * pc->h;
        }
        cc = code_of(callee, store);
        if (cc == NULL)
            goto unwind;
        atomic_store_explicit(&callee->CACHE_FIELD, cc, memory_order_relaxed);
    }
    if (UNLIKELY(top == frames_limit || newfp + cc->nslots > stack_end))
        TRAP(SPRY_TRAP_STACK_EXHAUSTED);
    zero_ahead(newfp, cc);
    top->ret_pc = pc;
    top->fp = fp;
    top->func = cur;
    top++;
    fp = newfp;
    cur = callee;
    store->cur_func = cur;
    if (callee->inst != inst) {
        inst = callee->inst;
        RELOAD_MEM();
    }
    pc = cc->code; /* its prologue (ENTER), if any, does the rest */
    if (UNLIKELY(atomic_load_explicit(&store->interrupt, memory_order_relaxed)))
        TRAP(SPRY_TRAP_INTERRUPTED);
    goto * pc->h;
}

    /* A function of the native tier (native.h): the stub's one
     * instruction runs it on this frame, then returns as RETURN does. A
     * trap in it longjmps to this activation's entry (interp_run). */
L_NATIVE:
    store->depth = (uint32_t)(top - frames);
    native_enter(store, cur, (native_fn)(uintptr_t)pc[1].u64, fp, store->depth);
    RELOAD_MEM();
    goto L_RETURN;

L_RETURN1:
    S(0) = S(A1LO);
    /* fall through */
L_RETURN : {
    struct interp_frame *fr = --top;
    pc = fr->ret_pc;
    fp = fr->fp;
    cur = fr->func; /* the entry frame's: the entry function, then L_EXIT */
    store->cur_func = cur;
    if (cur->inst != inst) {
        inst = cur->inst;
        RELOAD_MEM();
    }
    goto * pc->h;
}

L_EXIT:
    /* Returned from the entry function: results are in fp[0..). */
    memcpy(slots, fp, entry->type->nresults * sizeof *fp);
    store->depth = (uint32_t)(top - frames);
    return 0;

host_failed:
    if (rc == SPRY_ETRAP && store->trap.kind == SPRY_TRAP_NONE)
        runtime_trap(store, SPRY_TRAP_HOST,
                     inst->trap_message[0] != '\0' ? inst->trap_message : NULL);
    inst->trap_message[0] = '\0'; /* this failure's: spent, whether used or not */
    if (rc == SPRY_ETRAP && store->trap.func_index == UINT32_MAX)
        locate_trap(store, cur, code_now(cur), pc); /* the wasm function that called the host */
    goto unwind;

trap:
    if (trap_kind == SPRY_TRAP_UNDEFINED_ELEMENT || trap_kind == SPRY_TRAP_UNINITIALIZED_ELEMENT) {
        char msg[64];
        snprintf(msg, sizeof msg, "%s %u", spry_trap_kind_text(trap_kind), trap_elem);
        runtime_trap(store, trap_kind, msg);
    } else {
        runtime_trap(store, trap_kind, NULL);
    }
    locate_trap(store, cur, code_now(cur), pc);
    rc = SPRY_ETRAP;
    /* fall through */
unwind:
    if (rc == 0)
        rc = SPRY_ETRAP;
    store->depth = (uint32_t)(top - frames);
    return rc;
}

int interp_run(struct spry_store *store, struct spry_func *entry, uint64_t *slots)
{
#if !INTERP_CHECKED
    if (UNLIKELY(store->slack_memories > 0))
        return interp_run_checked(store, entry, slots);
#endif
    struct interp_activation act;
    act.store = store;
    act.prev = interp_activation_now;
    act.base_depth = store->depth;
    act.entry_sp = store->sp;
    act.entry_cur_func = store->cur_func;
    act.rc = 0;

    struct interp_code *code = code_of(entry, store);
    if (code == NULL)
        return SPRY_ETRAP;
    uint64_t *fp = store->stack + store->sp;
    if (store->depth >= store->limits.max_call_depth ||
        code->nslots > store->stack_slots - store->sp) {
        runtime_trap(store, SPRY_TRAP_STACK_EXHAUSTED, NULL);
        return SPRY_ETRAP;
    }
    memcpy(fp, slots, code->nparams * sizeof *fp);
    memset(fp + code->nparams, 0, (code->nlocals - code->nparams) * sizeof *fp);

    /* The entry frame: returning from `entry` lands on the exit handler. */
    iword exit_word[1];
    exit_word[0].h = interp_handlers()[IOP_COUNT];
    struct interp_frame *frame = &store->frames[store->depth];
    frame->ret_pc = exit_word;
    frame->fp = fp;
    frame->func = entry;
    store->depth++;
    store->cur_func = entry;

    /* A compiled entry (its code is the native stub) runs straight from
     * here: what the stub's handler would do, without the dispatch loop's
     * set-up. */
    native_fn nfn = code->code[0].h == interp_handlers()[IOP_NATIVE]
                        ? (native_fn)(uintptr_t)code->code[1].u64
                        : NULL;
    interp_activation_now = &act;
    int rc;
    if (_setjmp(act.jb) == 0) {
        if (nfn != NULL) {
            native_enter(store, entry, nfn, fp, store->depth);
            memcpy(slots, fp, code->nresults * sizeof *fp);
            rc = 0;
        } else {
            rc = execute(store, entry, fp, code, slots);
        }
    } else {
        if (act.rc != 0) {
            /* Native code left (native.c): the trap, if any, is recorded;
             * a trap from a nested activation is located already. */
            rc = act.rc;
            if (rc == SPRY_ETRAP && store->trap.func_index == UINT32_MAX)
                locate_trap(store, store->cur_func, NULL, NULL);
        } else {
            /* A fault in guest memory: the signal handler jumped here. */
            runtime_trap(store, SPRY_TRAP_MEMORY_OOB, NULL);
            locate_trap(store, store->cur_func, NULL, NULL);
            rc = SPRY_ETRAP;
        }
    }
    interp_activation_now = act.prev;
    store->depth = act.base_depth;
    store->sp = act.entry_sp;
    store->cur_func = act.entry_cur_func;
    return rc;
}

/* The table's address never changes: asked of execute once, so that an
 * activation's entry does not call into the dispatch loop for it (two
 * threads may both ask; they store the same pointer). */
static _Atomic(const void *const *) handlers_cached;

const void *const *interp_handlers(void)
{
    const void *const *table = atomic_load_explicit(&handlers_cached, memory_order_relaxed);
    if (LIKELY(table != NULL))
        return table;
    execute(NULL, NULL, NULL, NULL, (uint64_t *)(void *)&table);
    atomic_store_explicit(&handlers_cached, table, memory_order_relaxed);
    return table;
}

#if SPRY_EXPLICIT_BOUNDS
/* The one interpreter checks already. */
const void *const *interp_handlers_checked(void)
{
    return interp_handlers();
}
#endif

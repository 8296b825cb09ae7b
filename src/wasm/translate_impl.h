/*
 * Internals shared by the translator's files: translate.c (the simulated
 * stack, control flow, calls, variables, tables; the driver) and
 * translate_ops.c (numeric instructions, loads and stores, and the
 * peepholes that fuse them). See translate.c for the scheme.
 */
#ifndef SPRY_WASM_TRANSLATE_IMPL_H
#define SPRY_WASM_TRANSLATE_IMPL_H

#include "spry/error.h"
#include "wasm/iops.h"
#include "wasm/module.h"
#include "wasm/opcodes.h"
#include "wasm/reader.h"

#include <stdbool.h>
#include <stdint.h>

enum entry_kind { E_SLOT, E_LOCAL, E_CONST };

/* At most this many constant slots per function (more constants fall back
 * to being materialised where they are used). */
enum { MAX_CONST_SLOTS = 64 };

struct entry {
    uint8_t kind;
    uint32_t local; /* E_LOCAL */
    uint64_t value; /* E_CONST */
};

enum ctrl_kind { C_FUNC, C_BLOCK, C_LOOP, C_IF };

struct ctrl {
    uint8_t kind;
    bool unreachable; /* the rest of this block is dead code */
    bool has_else;
    uint32_t height; /* stack height at block start, params excluded */
    uint32_t nparams;
    uint32_t nresults;
    uint32_t loop_pos; /* C_LOOP: the label's code position */
    int32_t patches;   /* head of this label's pending forward jumps, -1 if none */
    int32_t else_jump; /* C_IF: patch index of the jump to else, -1 if none */
};

/* A forward jump to patch once its label is placed: the 32-bit field at
 * word `word`, half `hi`, gets the offset from instruction start `instr`. */
struct patch {
    uint32_t instr;
    uint32_t word;
    bool hi;
    int32_t next;
};

/* The last instruction emitted, for peepholes. */
struct last {
    bool valid;     /* false after a label or a non-fusable instruction */
    uint32_t pos;   /* its first word */
    int dst_word;   /* word holding its destination (lo half), or -1 */
    uint32_t depth; /* stack depth of its result */
    int cmp;        /* wasm opcode of an i32 comparison/eqz, or -1 */
    int add;        /* an i32.add: 1 slot + slot, 2 slot + immediate, 0 other */
    uint32_t a, b;  /* comparison operands (b: slot, or immediate) */
    bool b_imm;
    uint32_t op;   /* a binary operator's wasm opcode (0: none), for fused pairs */
    uint32_t op_a; /* its left operand slot */
    uint64_t op_b; /* its right operand: a slot, or the immediate when op_imm */
    bool op_imm;
    int load;          /* an f64.load: 1 address in a slot, 2 slot + immediate, 0 other */
    uint32_t load_a;   /* its address slot */
    uint32_t load_imm; /* with load == 2: the immediate added to it */
    uint32_t load_off; /* its offset */
};

struct tr {
    const struct wasm_module *m;
    struct spry_report *report;
    struct wasm_reader r;
    const void *const *handlers; /* the interpreter's, indexed by enum iop */
    uint32_t nlocals;
    uint32_t nresults;

    iword *code;
    uint32_t ncode, capcode;

    struct entry *stack;
    uint32_t depth, capstack, max_depth;

    struct ctrl *ctrls;
    uint32_t nctrl, capctrl;

    struct patch *patches;
    uint32_t npatches, cappatches;

    struct interp_srcmap *srcmap;
    uint32_t nsrcmap, capsrcmap;

    uint32_t *local_refs; /* per local: LOCAL entries naming it */

    /* Constant slots: frame slots [nlocals, nlocals + nconst_slots) hold
     * constants that instructions read as operands, filled once per call
     * by the prologue (ENTER) instead of on every use. */
    uint32_t nconst_slots;  /* reserved (bounded by the body's constants) */
    uint32_t nconsts;       /* in use */
    uint64_t *const_values; /* nconsts values; slot nlocals + i holds value i */
    struct last last;
    uint32_t instr_offset; /* byte offset of the wasm instruction being translated */
    uint32_t label_pos;    /* code position of the last label: no fusion across it */
    uint32_t starts[2];    /* start positions of the last two instructions emitted */
    bool oom;
};

/* Grows t->arr to hold `need` items; false (and t->oom) when it cannot. */
bool tr_grow(void **items, uint32_t *cap, uint32_t need, size_t size, bool *oom);
#define GROW(t, arr, n, cap, need) \
    tr_grow((void **)&(t)->arr, &(t)->cap, (need), sizeof *(t)->arr, &(t)->oom)

/* The home slot of stack depth d: locals, then constant slots, then the
 * operand stack. */
static inline uint32_t tr_home(const struct tr *t, uint32_t depth)
{
    return t->nlocals + t->nconst_slots + depth;
}

/* Operand fields of the instruction at pos (UINT32_MAX after an allocation
 * failure: then nothing is written). */
static inline void tr_set_lo(struct tr *t, uint32_t pos, uint32_t word, uint32_t v)
{
    if (pos != UINT32_MAX)
        t->code[pos + word].u32.lo = v;
}

static inline void tr_set_hi(struct tr *t, uint32_t pos, uint32_t word, uint32_t v)
{
    if (pos != UINT32_MAX)
        t->code[pos + word].u32.hi = v;
}

static inline void tr_set_u64(struct tr *t, uint32_t pos, uint32_t word, uint64_t v)
{
    if (pos != UINT32_MAX)
        t->code[pos + word].u64 = v;
}

/* translate.c */
uint32_t tr_emit(struct tr *t, enum iop op, uint32_t words);
void tr_note_dst(struct tr *t, uint32_t pos, int dst_word, uint32_t depth);
void tr_place_label(struct tr *t);
void tr_push(struct tr *t, struct entry e);
void tr_push_slot(struct tr *t);
struct entry tr_pop(struct tr *t);
void tr_materialize(struct tr *t, uint32_t d);
uint32_t tr_operand_slot(struct tr *t, uint32_t d);
uint32_t tr_entry_slot(const struct tr *t, struct entry e, uint32_t d);
int tr_fail(struct tr *t, const char *what);

/* translate_ops.c */
int tr_numeric(struct tr *t, uint32_t op, const struct wasm_opinfo *info);
/* Emits "jump when the popped condition is (want_true ? non-zero : zero)",
 * fusing a comparison just emitted for it; returns the jump's position and
 * where its offset field is (*word, *hi). */
uint32_t tr_cond_jump(struct tr *t, bool want_true, uint32_t *word, bool *hi);

#endif

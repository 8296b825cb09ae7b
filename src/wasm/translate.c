/*
 * Translation of a validated function body from wasm's stack bytecode into
 * the interpreter's register form (iops.h).
 *
 * The translator simulates the operand stack at translation time. Every
 * stack depth d owns a "home" slot, nlocals + d, in the frame. A stack entry
 * is one of:
 *   SLOT   its value is in its home slot;
 *   LOCAL  its value is still in a local (local.get emits no code);
 *   CONST  its value is a known constant (i32/i64/f32/f64.const, ref.null
 *          emit no code).
 * Instructions read their operands straight from locals, home slots or
 * immediates and write their result to the home slot of the result's depth.
 *
 * Invariants that keep deferred entries correct:
 *  - Before a local is written (local.set/tee, or an instruction whose
 *    destination was redirected to it), every LOCAL entry naming it is
 *    materialised into its home slot.
 *  - At every block, loop and if start all LOCAL entries are materialised,
 *    and the block's parameters are fully materialised, so the state of the
 *    stack below a label is the same on every path reaching it.
 *  - Values a branch carries are moved into the label's slots (the home slots
 *    of the label's base height, or fp[0..) for the function's return) by a
 *    parallel move before the jump.
 *
 * Peepholes: an instruction followed by local.set writes the local directly;
 * an i32 comparison or eqz followed by br_if/if becomes one compare-and-
 * branch; i32/i64 binary operators with a constant operand use immediate
 * forms. Fusion never crosses a label (code positions where jumps land).
 *
 * The input has been validated, so the translator trusts types and indices,
 * but it still never reads past the body's bytes: a bug must not become a
 * memory error.
 */
#include "wasm/translate.h"

#include "base/alloc.h"
#include "wasm/opcodes.h"
#include "wasm/reader.h"
#include "wasm/runtime.h"

#include <pthread.h>
#include <string.h>

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
    const void *const *handlers; /* interp_handlers(), indexed by enum iop */
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
     * by the INIT_CONSTS prologue instead of on every use. */
    uint32_t nconst_slots;  /* reserved (bounded by the body's constants) */
    uint32_t nconsts;       /* in use */
    uint64_t *const_values; /* nconsts values; slot nlocals + i holds value i */
    struct last last;
    uint32_t instr_offset; /* byte offset of the wasm instruction being translated */
    uint32_t label_pos;    /* code position of the last label: no fusion across it */
    uint32_t starts[2];    /* start positions of the last two instructions emitted */
    bool oom;
};

/* ---- growable arrays -------------------------------------------------- */

static bool grow(void **items, uint32_t *cap, uint32_t need, size_t size, bool *oom)
{
    if (need <= *cap)
        return true;
    uint32_t ncap = *cap < 16 ? 16 : *cap;
    while (ncap < need) {
        if (ncap > UINT32_MAX / 2) {
            *oom = true;
            return false;
        }
        ncap *= 2;
    }
    void *p = spry_realloc_array(*items, ncap, size);
    if (p == NULL) {
        *oom = true;
        return false;
    }
    *items = p;
    *cap = ncap;
    return true;
}

#define GROW(t, arr, n, cap, need) \
    grow((void **)&(t)->arr, &(t)->cap, (need), sizeof *(t)->arr, &(t)->oom)

/* ---- emitting --------------------------------------------------------- */

static uint32_t home(const struct tr *t, uint32_t depth)
{
    return t->nlocals + t->nconst_slots + depth;
}

/* Starts an instruction of `words` words; returns its position or
 * UINT32_MAX when out of memory (t->oom set; callers check at the end). */
static uint32_t emit(struct tr *t, enum iop op, uint32_t words)
{
    if (!GROW(t, code, ncode, capcode, t->ncode + words))
        return UINT32_MAX;
    uint32_t pos = t->ncode;
    t->starts[0] = t->starts[1];
    t->starts[1] = pos;
    memset(t->code + pos, 0, words * sizeof *t->code);
    t->code[pos].h = t->handlers[op];
    t->ncode += words;
    if (GROW(t, srcmap, nsrcmap, capsrcmap, t->nsrcmap + 1)) {
        if (t->nsrcmap == 0 || t->srcmap[t->nsrcmap - 1].offset != t->instr_offset) {
            t->srcmap[t->nsrcmap].pos = pos;
            t->srcmap[t->nsrcmap].offset = t->instr_offset;
            t->nsrcmap++;
        }
    }
    t->last.valid = false;
    return pos;
}

static void set_lo(struct tr *t, uint32_t pos, uint32_t word, uint32_t v)
{
    if (pos != UINT32_MAX)
        t->code[pos + word].u32.lo = v;
}

static void set_hi(struct tr *t, uint32_t pos, uint32_t word, uint32_t v)
{
    if (pos != UINT32_MAX)
        t->code[pos + word].u32.hi = v;
}

static void set_u64(struct tr *t, uint32_t pos, uint32_t word, uint64_t v)
{
    if (pos != UINT32_MAX)
        t->code[pos + word].u64 = v;
}

/* Records that the instruction at pos writes the result at `depth` through
 * word `dst_word` (lo half), so a following local.set may redirect it. */
static void note_dst(struct tr *t, uint32_t pos, int dst_word, uint32_t depth)
{
    if (pos == UINT32_MAX)
        return;
    t->last.valid = true;
    t->last.pos = pos;
    t->last.dst_word = dst_word;
    t->last.depth = depth;
    t->last.cmp = -1;
    t->last.add = 0;
    t->last.op = 0;
    t->last.load = 0;
}

/* A label is placed here: jumps land on the next instruction, so nothing
 * before may be fused with anything after. */
static void place_label(struct tr *t)
{
    t->last.valid = false;
    t->label_pos = t->ncode;
}

/* ---- the simulated stack ---------------------------------------------- */

static void push(struct tr *t, struct entry e)
{
    if (!GROW(t, stack, depth, capstack, t->depth + 1))
        return;
    if (e.kind == E_LOCAL)
        t->local_refs[e.local]++;
    t->stack[t->depth++] = e;
    if (t->depth > t->max_depth)
        t->max_depth = t->depth;
}

static void push_slot(struct tr *t)
{
    push(t, (struct entry){.kind = E_SLOT});
}

static struct entry pop(struct tr *t)
{
    if (t->depth == 0) /* cannot happen for validated code */
        return (struct entry){.kind = E_SLOT};
    struct entry e = t->stack[--t->depth];
    if (e.kind == E_LOCAL)
        t->local_refs[e.local]--;
    return e;
}

/* Makes the entry at depth d live in its home slot. */
static void materialize(struct tr *t, uint32_t d)
{
    struct entry *e = &t->stack[d];
    if (e->kind == E_LOCAL) {
        uint32_t pos = emit(t, IOP_COPY, 2);
        set_lo(t, pos, 1, home(t, d));
        set_hi(t, pos, 1, e->local);
        t->local_refs[e->local]--;
    } else if (e->kind == E_CONST) {
        uint32_t pos = emit(t, IOP_COPY_IMM, 3);
        set_lo(t, pos, 1, home(t, d));
        set_u64(t, pos, 2, e->value);
    }
    e->kind = E_SLOT;
}

/* Before writing local x: no entry may still read it. */
static void protect_local(struct tr *t, uint32_t x)
{
    if (t->local_refs[x] == 0)
        return;
    for (uint32_t d = 0; d < t->depth; d++) {
        if (t->stack[d].kind == E_LOCAL && t->stack[d].local == x)
            materialize(t, d);
    }
}

/* The slot an operand at depth d can be read from (materialising constants). */
static uint32_t operand_slot(struct tr *t, uint32_t d)
{
    struct entry *e = &t->stack[d];
    if (e->kind == E_LOCAL)
        return e->local;
    if (e->kind == E_CONST) {
        for (uint32_t i = 0; i < t->nconsts; i++) {
            if (t->const_values[i] == e->value)
                return t->nlocals + i;
        }
        if (t->nconsts < t->nconst_slots) {
            t->const_values[t->nconsts] = e->value;
            return t->nlocals + t->nconsts++;
        }
        materialize(t, d);
    }
    return home(t, d);
}

/* Slot of the entry popped from depth d (called after pop: depth == d). */
static uint32_t entry_slot(const struct tr *t, struct entry e, uint32_t d)
{
    return e.kind == E_LOCAL ? e.local : home(t, d);
}

/* ---- branches ---------------------------------------------------------- */

static struct ctrl *label(struct tr *t, uint32_t depth)
{
    return &t->ctrls[t->nctrl - 1 - depth];
}

static uint32_t label_arity(const struct ctrl *c)
{
    return c->kind == C_LOOP ? c->nparams : c->nresults;
}

/* First slot of the values a branch to c carries. */
static uint32_t label_slot(const struct tr *t, const struct ctrl *c)
{
    return c->kind == C_FUNC ? 0 : home(t, c->height);
}

/* Adds a forward jump field to c's patch list. */
static void add_patch(struct tr *t, struct ctrl *c, uint32_t instr, uint32_t word, bool hi)
{
    if (instr == UINT32_MAX || !GROW(t, patches, npatches, cappatches, t->npatches + 1))
        return;
    struct patch *p = &t->patches[t->npatches];
    p->instr = instr;
    p->word = word;
    p->hi = hi;
    p->next = c->patches;
    c->patches = (int32_t)t->npatches++;
}

static void patch_list(struct tr *t, int32_t head, uint32_t target)
{
    while (head >= 0) {
        struct patch *p = &t->patches[head];
        int32_t off = (int32_t)(target - p->instr);
        if (p->hi)
            t->code[p->word].s32.hi = off;
        else
            t->code[p->word].s32.lo = off;
        head = p->next;
    }
}

/* Whether moving the top n entries into slots [dst, dst+n) needs code. */
static bool moves_needed(const struct tr *t, uint32_t n, uint32_t dst)
{
    for (uint32_t k = 0; k < n; k++) {
        uint32_t d = t->depth - n + k;
        if (t->stack[d].kind != E_SLOT || home(t, d) != dst + k)
            return true;
    }
    return false;
}

/*
 * Emits a parallel move of the top n entries into slots [dst, dst+n),
 * leaving the simulated stack as it is. Sources are locals, home slots or
 * constants; destinations may overlap sources (a return into fp[0..) can
 * overwrite locals that other moves still read), so moves are ordered so
 * that no destination is written while a pending move still reads it, and a
 * cycle is broken through the scratch slot at the top of the frame.
 */
static void emit_moves(struct tr *t, uint32_t n, uint32_t dst)
{
    if (n == 0)
        return;
    uint32_t *src = spry_alloc_array(n, sizeof *src);
    uint8_t *done = spry_calloc(n, 1);
    if (src == NULL || done == NULL) {
        t->oom = true;
        spry_free(src);
        spry_free(done);
        return;
    }
    const uint32_t CONSTSRC = UINT32_MAX;
    uint32_t left = 0;
    for (uint32_t k = 0; k < n; k++) {
        struct entry *e = &t->stack[t->depth - n + k];
        src[k] = e->kind == E_LOCAL  ? e->local
                 : e->kind == E_SLOT ? home(t, t->depth - n + k)
                                     : CONSTSRC;
        if (src[k] == dst + k)
            done[k] = 1;
        else
            left++;
    }
    uint32_t scratch = UINT32_MAX;                 /* a source parked in the scratch slot */
    uint32_t scratch_slot = home(t, t->max_depth); /* reserved: see translate_func */
    while (left > 0) {
        bool progress = false;
        for (uint32_t k = 0; k < n; k++) {
            if (done[k])
                continue;
            /* Is dst+k still read by a pending move? */
            bool blocked = false;
            for (uint32_t j = 0; j < n && !blocked; j++)
                blocked = !done[j] && j != k && src[j] == dst + k;
            if (blocked)
                continue;
            if (src[k] == CONSTSRC) {
                uint32_t pos = emit(t, IOP_COPY_IMM, 3);
                set_lo(t, pos, 1, dst + k);
                set_u64(t, pos, 2, t->stack[t->depth - n + k].value);
            } else {
                uint32_t pos = emit(t, IOP_COPY, 2);
                set_lo(t, pos, 1, dst + k);
                set_hi(t, pos, 1, src[k]);
            }
            done[k] = 1;
            left--;
            progress = true;
        }
        if (!progress) {
            /* Only cycles remain: park one pending source in scratch. */
            for (uint32_t k = 0; k < n; k++) {
                if (done[k] || src[k] == CONSTSRC)
                    continue;
                uint32_t pos = emit(t, IOP_COPY, 2);
                set_lo(t, pos, 1, scratch_slot);
                set_hi(t, pos, 1, src[k]);
                scratch = src[k];
                for (uint32_t j = 0; j < n; j++) {
                    if (!done[j] && src[j] == scratch)
                        src[j] = scratch_slot;
                }
                break;
            }
        }
    }
    spry_free(src);
    spry_free(done);
}

/* Emits an unconditional branch to label depth `l` (values already moved). */
static void emit_jump_to(struct tr *t, struct ctrl *c)
{
    uint32_t pos = emit(t, IOP_BR, 2);
    if (c->kind == C_LOOP)
        set_lo(t, pos, 1, (uint32_t)(int32_t)(c->loop_pos - pos));
    else
        add_patch(t, c, pos, pos + 1, false);
}

static void emit_return(struct tr *t)
{
    uint32_t n = t->nresults;
    if (n == 1) {
        struct entry *e = &t->stack[t->depth - 1];
        uint32_t src;
        if (e->kind == E_CONST) {
            emit_moves(t, 1, 0);
            emit(t, IOP_RETURN, 1);
            return;
        }
        src = e->kind == E_LOCAL ? e->local : home(t, t->depth - 1);
        uint32_t pos = emit(t, IOP_RETURN1, 2);
        set_lo(t, pos, 1, src);
        return;
    }
    if (moves_needed(t, n, 0))
        emit_moves(t, n, 0);
    emit(t, IOP_RETURN, 1);
}

/* br l: moves the label's values and jumps. */
static void emit_br(struct tr *t, uint32_t l)
{
    struct ctrl *c = label(t, l);
    if (c->kind == C_FUNC) {
        emit_return(t);
        return;
    }
    uint32_t n = label_arity(c);
    if (moves_needed(t, n, label_slot(t, c)))
        emit_moves(t, n, label_slot(t, c));
    emit_jump_to(t, c);
}

/* ---- peephole helpers ------------------------------------------------- */

static int invert_cmp(int op)
{
    switch (op) {
    case OP_I32_EQ:
        return OP_I32_NE;
    case OP_I32_NE:
        return OP_I32_EQ;
    case OP_I32_LT_S:
        return OP_I32_GE_S;
    case OP_I32_GE_S:
        return OP_I32_LT_S;
    case OP_I32_LT_U:
        return OP_I32_GE_U;
    case OP_I32_GE_U:
        return OP_I32_LT_U;
    case OP_I32_GT_S:
        return OP_I32_LE_S;
    case OP_I32_LE_S:
        return OP_I32_GT_S;
    case OP_I32_GT_U:
        return OP_I32_LE_U;
    case OP_I32_LE_U:
        return OP_I32_GT_U;
    case OP_I32_EQZ:
        return -OP_I32_EQZ - 1; /* "not eqz": branch when non-zero */
    }
    return -1;
}

static enum iop cmp_branch_iop(int op, bool imm, bool addi)
{
    switch (op) {
#define CMP_CASE(name)                                                      \
    case OP_##name:                                                         \
        if (addi)                                                           \
            return imm ? IOP_BR_ADDI_##name##_SI : IOP_BR_ADDI_##name##_SS; \
        return imm ? IOP_BR_##name##_SI : IOP_BR_##name##_SS;
        IOPS_CMP_BRANCH(CMP_CASE)
#undef CMP_CASE
    }
    return IOP_COUNT;
}

/*
 * Emits "jump to c-or-patch-target when the popped condition is
 * (want_true ? non-zero : zero)", fusing a comparison just emitted for it.
 * Returns the position of the jump instruction and the word/half of its
 * offset field through word and hi.
 */
static uint32_t emit_cond_jump(struct tr *t, bool want_true, uint32_t *word, bool *hi)
{
    uint32_t cond_depth = t->depth - 1;
    struct entry cond = pop(t);
    if (t->last.valid && t->last.cmp >= 0 && cond.kind == E_SLOT && t->last.depth == cond_depth &&
        t->last.pos + (t->last.cmp == OP_I32_EQZ ? 2u : 3u) == t->ncode) {
        int op = want_true ? t->last.cmp : invert_cmp(t->last.cmp);
        uint32_t a = t->last.a, b = t->last.b;
        bool b_imm = t->last.b_imm;
        t->ncode = t->last.pos; /* drop the comparison */
        if (op == OP_I32_EQZ || op == -OP_I32_EQZ - 1) {
            uint32_t pos = emit(t, op == OP_I32_EQZ ? IOP_BR_Z : IOP_BR_NZ, 2);
            set_lo(t, pos, 1, a);
            *word = pos + 1;
            *hi = true;
            return pos;
        }
        /* An i32.add of an immediate just before, writing the compared
         * value (the loop step): absorb it too. */
        uint32_t ap = t->starts[0];
        if (t->starts[1] == t->ncode && ap + 3 == t->ncode && ap >= t->label_pos &&
            t->code[ap].h == t->handlers[IOP_I32_ADD_I] && t->code[ap + 1].u32.lo == a) {
            uint32_t src = t->code[ap + 1].u32.hi, imm = t->code[ap + 2].u32.lo;
            t->ncode = ap;
            uint32_t pos = emit(t, cmp_branch_iop(op, b_imm, true), 4);
            set_lo(t, pos, 1, a);
            set_hi(t, pos, 1, src);
            set_lo(t, pos, 2, imm);
            set_hi(t, pos, 2, b);
            *word = pos + 3;
            *hi = false;
            return pos;
        }
        uint32_t pos = emit(t, cmp_branch_iop(op, b_imm, false), 3);
        set_lo(t, pos, 1, a);
        set_hi(t, pos, 1, b);
        *word = pos + 2;
        *hi = false;
        return pos;
    }
    uint32_t slot;
    if (cond.kind == E_CONST) {
        /* A constant condition: still a jump, decided at run time on a
         * materialised copy (rare; keeps the code simple). */
        t->depth++;
        t->stack[cond_depth] = cond;
        materialize(t, cond_depth);
        t->depth--;
        slot = home(t, cond_depth);
    } else {
        slot = entry_slot(t, cond, cond_depth);
    }
    uint32_t pos = emit(t, want_true ? IOP_BR_NZ : IOP_BR_Z, 2);
    set_lo(t, pos, 1, slot);
    *word = pos + 1;
    *hi = true;
    return pos;
}

/* ---- block types --------------------------------------------------------- */

static void block_arity(const struct tr *t, int64_t bt, uint32_t *np, uint32_t *nr)
{
    if (bt == -64) { /* 0x40: empty */
        *np = 0;
        *nr = 0;
    } else if (bt < 0) { /* a single value type */
        *np = 0;
        *nr = 1;
    } else {
        const struct wasm_functype *ft = &t->m->types[bt];
        *np = ft->nparams;
        *nr = ft->nresults;
    }
}

static struct ctrl *push_ctrl(struct tr *t, uint8_t kind, uint32_t np, uint32_t nr)
{
    if (!GROW(t, ctrls, nctrl, capctrl, t->nctrl + 1))
        return NULL;
    struct ctrl *c = &t->ctrls[t->nctrl++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->nparams = np;
    c->nresults = nr;
    c->height = t->depth - np;
    c->patches = -1;
    c->else_jump = -1;
    return c;
}

/* Resets the simulated stack to `height` + n entries, all in home slots. */
static void reset_stack(struct tr *t, uint32_t height, uint32_t n)
{
    while (t->depth > height)
        pop(t);
    for (uint32_t k = 0; k < n; k++)
        push_slot(t);
}

/* ---- skipping dead code ---------------------------------------------- */

/* Skips the immediates of an instruction whose opcode was read. */
static int skip_immediates(struct tr *t, uint32_t code)
{
    const struct wasm_opinfo *info = opcode_info(code);
    struct wasm_reader *r = &t->r;
    uint32_t u;
    int64_t s;
    uint8_t byte;
    const uint8_t *bytes;
    if (info == NULL)
        return -1;
    switch (info->imm) {
    case IMM_NONE:
        return 0;
    case IMM_BLOCKTYPE:
        return reader_s33(r, &s);
    case IMM_LABEL:
    case IMM_FUNC:
    case IMM_LOCAL:
    case IMM_GLOBAL:
    case IMM_TABLE:
    case IMM_ELEM:
    case IMM_DATA:
        return reader_u32(r, &u);
    case IMM_BR_TABLE: {
        uint32_t n;
        if (reader_u32(r, &n) != 0)
            return -1;
        for (uint64_t k = 0; k <= n; k++) {
            if (reader_u32(r, &u) != 0)
                return -1;
        }
        return 0;
    }
    case IMM_CALL_INDIRECT:
    case IMM_TABLE_TABLE:
    case IMM_ELEM_TABLE:
    case IMM_MEMARG:
        if (reader_u32(r, &u) != 0)
            return -1;
        return reader_u32(r, &u);
    case IMM_DATA_MEM:
        if (reader_u32(r, &u) != 0)
            return -1;
        return reader_u8(r, &byte);
    case IMM_MEM:
        return reader_u8(r, &byte);
    case IMM_MEM_MEM:
        return reader_bytes(r, 2, &bytes);
    case IMM_I32:
        return reader_sleb(r, 32, &s);
    case IMM_I64:
        return reader_sleb(r, 64, &s);
    case IMM_F32:
        return reader_bytes(r, 4, &bytes);
    case IMM_F64:
        return reader_bytes(r, 8, &bytes);
    case IMM_SELECT_T: {
        uint32_t n;
        if (reader_u32(r, &n) != 0)
            return -1;
        return reader_bytes(r, n, &bytes);
    }
    case IMM_REFTYPE:
        return reader_u8(r, &byte);
    }
    return -1;
}

static int read_opcode(struct wasm_reader *r, uint32_t *code)
{
    uint8_t b;
    if (reader_u8(r, &b) != 0)
        return -1;
    if (b == 0xfc) {
        uint32_t sub;
        if (reader_u32(r, &sub) != 0 || sub > 0xff)
            return -1;
        *code = 0xfc00 | sub;
        return 0;
    }
    *code = b;
    return 0;
}

/* ---- the opcode -> iop maps -------------------------------------------- */

static int16_t iop_plain[512]; /* unary, binary, load, store: IOP or -1 */
static int16_t iop_imm[512];   /* binary with immediate right operand */
static pthread_once_t iop_maps_once = PTHREAD_ONCE_INIT;

static unsigned op_slot(uint32_t code)
{
    return code < 0x100 ? code : 0x100 + (code & 0xff);
}

static void build_iop_maps(void)
{
    for (int i = 0; i < 512; i++) {
        iop_plain[i] = -1;
        iop_imm[i] = -1;
    }
#define MAP_PLAIN(name) iop_plain[op_slot(OP_##name)] = IOP_##name;
#define MAP_IMM(name)   iop_imm[op_slot(OP_##name)] = IOP_##name##_I;
    IOPS_UNARY(MAP_PLAIN)
    IOPS_BINARY(MAP_PLAIN)
    IOPS_LOAD(MAP_PLAIN)
    IOPS_STORE(MAP_PLAIN)
    IOPS_BINARY_IMM(MAP_IMM)
#undef MAP_PLAIN
#undef MAP_IMM
}

static bool is_commutative(uint32_t op)
{
    switch (op) {
    case OP_I32_ADD:
    case OP_I32_MUL:
    case OP_I32_AND:
    case OP_I32_OR:
    case OP_I32_XOR:
    case OP_I32_EQ:
    case OP_I32_NE:
    case OP_I64_ADD:
    case OP_I64_MUL:
    case OP_I64_AND:
    case OP_I64_OR:
    case OP_I64_XOR:
    case OP_I64_EQ:
    case OP_I64_NE:
        return true;
    }
    return false;
}

static bool is_i32_cmp(uint32_t op)
{
    return op >= OP_I32_EQ && op <= OP_I32_GE_U;
}

/* ---- instruction translation -------------------------------------------- */

static void tr_unary(struct tr *t, enum iop op)
{
    uint32_t d = t->depth - 1;
    uint32_t a = operand_slot(t, d);
    pop(t);
    uint32_t pos = emit(t, op, 2);
    set_lo(t, pos, 1, home(t, d));
    set_hi(t, pos, 1, a);
    push_slot(t);
    note_dst(t, pos, 1, d);
    if (op == IOP_I32_EQZ && pos != UINT32_MAX) {
        t->last.cmp = OP_I32_EQZ;
        t->last.a = a;
    }
}

/* The fused iop for `first` (with an immediate) feeding `second`, or -1. */
static int fused_imm_first(uint32_t first, uint32_t second)
{
#define PAIR(f, s)                           \
    if (first == OP_##f && second == OP_##s) \
        return IOP_FA_##f##__##s;
    IOPS_FUSE_IMM_FIRST(PAIR)
#undef PAIR
    return -1;
}

/* The fused iop for `first` (two slots) feeding `second` (with an
 * immediate), or -1. */
static int fused_imm_second(uint32_t first, uint32_t second)
{
#define PAIR(f, s)                           \
    if (first == OP_##f && second == OP_##s) \
        return IOP_FB_##f##__##s;
    IOPS_FUSE_IMM_SECOND(PAIR)
#undef PAIR
    return -1;
}

/* The fused iop for `first` (two slots) feeding `second` (with another
 * slot) as its left (FC) or right (FD) operand, or -1. */
static int fused_slots(uint32_t first, uint32_t second, bool left)
{
#define PAIR(f, s)                           \
    if (first == OP_##f && second == OP_##s) \
        return left ? IOP_FC_##f##__##s : IOP_FD_##f##__##s;
    IOPS_FUSE_SLOTS(PAIR)
#undef PAIR
    return -1;
}

/* Whether the entry at depth d is the result of the binary operator
 * emitted just before (and nothing was emitted since), so it can be fused. */
static bool last_op_result(const struct tr *t, uint32_t d, bool imm)
{
    return t->last.valid && t->last.op != 0 && t->last.op_imm == imm && t->last.depth == d &&
           t->stack[d].kind == E_SLOT && t->starts[1] == t->last.pos;
}

/* The load-operator iop for an f64 operator reading the value loaded just
 * before (on the left when `loaded_left`), or -1. */
static int load_op_iop(uint32_t opcode, bool loaded_left, int form)
{
    int base;
    switch (opcode) {
    case OP_F64_ADD:
        base = IOP_LF_F64_ADD;
        break;
    case OP_F64_MUL:
        base = IOP_LF_F64_MUL;
        break;
    case OP_F64_SUB:
        base = loaded_left ? IOP_LF_F64_RSUB : IOP_LF_F64_SUB;
        break;
    default:
        return -1;
    }
    return form == 1 ? base : base + 1; /* IOP_LF_X, IOP_LF_AI_X */
}

/* Fuses an f64.load emitted just before into the operator reading its
 * value; returns true when it did. a and b are the operands' slots. */
static bool fuse_load_op(struct tr *t, uint32_t opcode, uint32_t da, uint32_t db, uint32_t a,
                         uint32_t b)
{
    if (!t->last.valid || t->last.load == 0 || t->starts[1] != t->last.pos)
        return false;
    bool left;
    if (t->last.depth == db && t->stack[db].kind == E_SLOT)
        left = false;
    else if (t->last.depth == da && t->stack[da].kind == E_SLOT)
        left = true;
    else
        return false;
    int iop = load_op_iop(opcode, left, t->last.load);
    if (iop < 0)
        return false;
    uint32_t x = left ? b : a, form = (uint32_t)t->last.load;
    uint32_t la = t->last.load_a, limm = t->last.load_imm, loff = t->last.load_off;
    uint32_t nsrc = t->nsrcmap;
    t->ncode = t->last.pos; /* the load joins the operator */
    pop(t);
    pop(t);
    uint32_t pos = emit(t, (enum iop)iop, form == 1 ? 3 : 4);
    if (t->nsrcmap > nsrc) /* a trap here is the load's: keep its offset */
        t->nsrcmap = nsrc;
    set_lo(t, pos, 1, home(t, da));
    set_hi(t, pos, 1, x);
    set_lo(t, pos, 2, la);
    if (form == 1) {
        set_hi(t, pos, 2, loff);
    } else {
        set_hi(t, pos, 2, limm);
        set_lo(t, pos, 3, loff);
    }
    push_slot(t);
    note_dst(t, pos, 1, da);
    return true;
}

static void tr_binary(struct tr *t, uint32_t opcode)
{
    uint32_t db = t->depth - 1, da = t->depth - 2;
    struct entry *ea = &t->stack[da], *eb = &t->stack[db];
    int imm_iop = iop_imm[op_slot(opcode)];
    bool is64 = (opcode >= OP_I64_EQ && opcode <= OP_I64_GE_U) ||
                (opcode >= OP_I64_CLZ && opcode <= OP_I64_ROTR);
    /* A constant right operand (or left, for commutative operators) goes
     * into the immediate form. Entries are not swapped: a SLOT entry's
     * value lives in its own depth's home slot. */
    int const_side = -1;
    if (imm_iop >= 0 && eb->kind == E_CONST)
        const_side = 1;
    else if (imm_iop >= 0 && ea->kind == E_CONST && is_commutative(opcode))
        const_side = 0;
    if (const_side >= 0) {
        uint64_t imm = const_side == 1 ? eb->value : ea->value;
        uint32_t dx = const_side == 1 ? da : db;
        uint32_t a = operand_slot(t, dx);
        int fb = last_op_result(t, dx, false) ? fused_imm_second(t->last.op, opcode) : -1;
        if (fb >= 0) {
            uint32_t x = t->last.op_a, y = (uint32_t)t->last.op_b;
            t->ncode = t->last.pos; /* the first operator joins this one */
            pop(t);
            pop(t);
            uint32_t pos = emit(t, (enum iop)fb, 4);
            set_lo(t, pos, 1, home(t, da));
            set_hi(t, pos, 1, x);
            set_lo(t, pos, 2, y);
            set_u64(t, pos, 3, imm);
            push_slot(t);
            note_dst(t, pos, 1, da);
            return;
        }
        pop(t);
        pop(t);
        uint32_t pos = emit(t, (enum iop)imm_iop, 3);
        set_lo(t, pos, 1, home(t, da));
        set_hi(t, pos, 1, a);
        if (is64)
            set_u64(t, pos, 2, imm);
        else
            set_lo(t, pos, 2, (uint32_t)imm);
        push_slot(t);
        note_dst(t, pos, 1, da);
        if (pos != UINT32_MAX) {
            t->last.op = opcode;
            t->last.op_a = a;
            t->last.op_b = imm;
            t->last.op_imm = true;
        }
        if ((is_i32_cmp(opcode) || opcode == OP_I32_ADD) && pos != UINT32_MAX) {
            t->last.cmp = opcode == OP_I32_ADD ? -1 : (int)opcode;
            t->last.add = opcode == OP_I32_ADD ? 2 : 0;
            t->last.a = a;
            t->last.b = (uint32_t)imm;
            t->last.b_imm = true;
        }
        return;
    }
    uint32_t a = operand_slot(t, da);
    uint32_t b = operand_slot(t, db);
    if (fuse_load_op(t, opcode, da, db, a, b))
        return;
    /* An operand computed by an operator-with-immediate just before: fuse
     * (the second operators of these pairs are commutative). */
    int fa = -1;
    uint32_t other = a; /* the operand that is not the fused result */
    if (last_op_result(t, db, true)) {
        fa = fused_imm_first(t->last.op, opcode);
    } else if (last_op_result(t, da, true)) {
        fa = fused_imm_first(t->last.op, opcode);
        other = b;
    }
    if (fa < 0) {
        int fc = -1;
        uint32_t c = b;
        if (last_op_result(t, da, false)) {
            fc = fused_slots(t->last.op, opcode, true);
        } else if (last_op_result(t, db, false)) {
            fc = fused_slots(t->last.op, opcode, false);
            c = a;
        }
        if (fc >= 0) {
            uint32_t x = t->last.op_a, y = (uint32_t)t->last.op_b;
            t->ncode = t->last.pos;
            pop(t);
            pop(t);
            uint32_t pos = emit(t, (enum iop)fc, 3);
            set_lo(t, pos, 1, home(t, da));
            set_hi(t, pos, 1, x);
            set_lo(t, pos, 2, y);
            set_hi(t, pos, 2, c);
            push_slot(t);
            note_dst(t, pos, 1, da);
            return;
        }
    }
    if (fa >= 0) {
        uint32_t x = t->last.op_a, imm = (uint32_t)t->last.op_b;
        t->ncode = t->last.pos;
        pop(t);
        pop(t);
        uint32_t pos = emit(t, (enum iop)fa, 3);
        set_lo(t, pos, 1, home(t, da));
        set_hi(t, pos, 1, x);
        set_lo(t, pos, 2, imm);
        set_hi(t, pos, 2, other);
        push_slot(t);
        note_dst(t, pos, 1, da);
        return;
    }
    pop(t);
    pop(t);
    uint32_t pos = emit(t, (enum iop)iop_plain[op_slot(opcode)], 3);
    set_lo(t, pos, 1, home(t, da));
    set_hi(t, pos, 1, a);
    set_lo(t, pos, 2, b);
    push_slot(t);
    note_dst(t, pos, 1, da);
    if (pos != UINT32_MAX) {
        t->last.op = opcode;
        t->last.op_a = a;
        t->last.op_b = b;
        t->last.op_imm = false;
    }
    if ((is_i32_cmp(opcode) || opcode == OP_I32_ADD) && pos != UINT32_MAX) {
        t->last.cmp = opcode == OP_I32_ADD ? -1 : (int)opcode;
        t->last.add = opcode == OP_I32_ADD ? 1 : 0;
        t->last.a = a;
        t->last.b = b;
        t->last.b_imm = false;
    }
}

/* local.set x / local.tee x. */
static void tr_local_set(struct tr *t, uint32_t x, bool tee)
{
    uint32_t d = t->depth - 1;
    struct entry *e = &t->stack[d];
    /* Redirect the producing instruction's destination to the local; for
     * tee the value then stays on the stack as a reference to the local. */
    if (e->kind == E_SLOT && t->last.valid && t->last.dst_word >= 0 && t->last.depth == d &&
        t->local_refs[x] == 0) {
        t->code[t->last.pos + (uint32_t)t->last.dst_word].u32.lo = x;
        t->last.valid = false;
        pop(t);
        if (tee)
            push(t, (struct entry){.kind = E_LOCAL, .local = x});
        return;
    }
    protect_local(t, x);
    e = &t->stack[d];
    if (e->kind == E_CONST) {
        uint32_t pos = emit(t, IOP_COPY_IMM, 3);
        set_lo(t, pos, 1, x);
        set_u64(t, pos, 2, e->value);
    } else {
        uint32_t src = e->kind == E_LOCAL ? e->local : home(t, d);
        if (src != x) {
            uint32_t pos = emit(t, IOP_COPY, 2);
            set_lo(t, pos, 1, x);
            set_hi(t, pos, 1, src);
        }
    }
    if (!tee)
        pop(t);
}

/* Whether the entry at depth d is the result of an i32.add emitted just
 * before, which a load or store can absorb: 1 (slot + slot) or 2 (slot +
 * immediate), matching IOP_X_A - IOP_X and IOP_X_AI - IOP_X; 0 if not. */
static int fusable_add(const struct tr *t, uint32_t d)
{
    if (!t->last.valid || t->last.add == 0 || t->last.depth != d || t->stack[d].kind != E_SLOT ||
        t->last.pos + 3 != t->ncode)
        return 0;
    return t->last.add;
}

/* Pops n arguments into their home slots; returns the first one's slot. */
static uint32_t call_args(struct tr *t, uint32_t n)
{
    uint32_t base = t->depth - n;
    for (uint32_t d = base; d < t->depth; d++)
        materialize(t, d);
    while (t->depth > base)
        pop(t);
    return home(t, base);
}

static void push_results(struct tr *t, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++)
        push_slot(t);
}

static int fail(struct tr *t, const char *what)
{
    return spry_report_set(t->report, SPRY_EINVALID, "%s at offset 0x%x", what, t->instr_offset);
}

/* Translates one reachable instruction. Returns 0 or an error. */
static int tr_instr(struct tr *t, uint32_t op)
{
    struct wasm_reader *r = &t->r;
    uint32_t x, y;
    int64_t s;
    uint32_t pos;

    const struct wasm_opinfo *info = opcode_info(op);
    if (info == NULL)
        return fail(t, "illegal opcode");
    int plain = iop_plain[op_slot(op)];

    if (plain >= 0 && info->imm == IMM_NONE) {
        if (info->sig != SIG_SPECIAL && wasm_sig_table[info->sig].nparams == 2)
            tr_binary(t, op);
        else
            tr_unary(t, (enum iop)plain);
        return 0;
    }
    if (plain >= 0 && info->imm == IMM_MEMARG) {
        uint32_t align, offset;
        if (reader_u32(r, &align) != 0 || reader_u32(r, &offset) != 0)
            return fail(t, "unexpected end");
        bool load = wasm_sig_table[info->sig].result != 0;
        uint32_t da = load ? t->depth - 1 : t->depth - 2;
        uint32_t a = operand_slot(t, da);
        uint32_t v = load ? 0 : operand_slot(t, t->depth - 1);
        /* An i32.add computing the address just before: fuse it. */
        int add = fusable_add(t, da);
        uint32_t add_a = t->last.a, add_b = t->last.b;
        if (add != 0)
            t->ncode = t->last.pos;
        pop(t);
        if (!load)
            pop(t);
        enum iop form = (enum iop)(plain + add); /* IOP_X, IOP_X_A, IOP_X_AI */
        pos = emit(t, form, 3);
        if (add != 0) {
            set_lo(t, pos, 1, load ? home(t, da) : add_a);
            set_hi(t, pos, 1, load ? add_a : add_b);
            set_lo(t, pos, 2, load ? add_b : v);
            set_hi(t, pos, 2, offset);
        } else {
            set_lo(t, pos, 1, load ? home(t, da) : a);
            set_hi(t, pos, 1, load ? a : v);
            set_lo(t, pos, 2, offset);
        }
        if (load) {
            push_slot(t);
            note_dst(t, pos, 1, da);
            if (op == OP_F64_LOAD && add != 1 && pos != UINT32_MAX) {
                t->last.load = add == 0 ? 1 : 2;
                t->last.load_a = add == 0 ? a : add_a;
                t->last.load_imm = add_b;
                t->last.load_off = offset;
            }
        }
        return 0;
    }

    switch (op) {
    case OP_NOP:
    case OP_I32_REINTERPRET_F32: /* slots hold bits: nothing to do */
    case OP_I64_REINTERPRET_F64:
    case OP_F32_REINTERPRET_I32:
    case OP_F64_REINTERPRET_I64:
        return 0;
    case OP_UNREACHABLE:
        emit(t, IOP_UNREACHABLE, 1);
        t->ctrls[t->nctrl - 1].unreachable = true;
        return 0;

    case OP_BLOCK:
    case OP_LOOP:
    case OP_IF: {
        uint32_t np, nr;
        if (reader_s33(r, &s) != 0)
            return fail(t, "unexpected end");
        block_arity(t, s, &np, &nr);
        uint32_t cond_word = 0;
        bool cond_hi = false;
        uint32_t jump = UINT32_MAX;
        /* Same stack state below the label on every path (see top); for
         * `if` this must happen before the jump, below the condition. */
        uint32_t top = op == OP_IF ? t->depth - 1 : t->depth;
        for (uint32_t d = 0; d < top; d++) {
            if (t->stack[d].kind == E_LOCAL || d >= top - np)
                materialize(t, d);
        }
        if (op == OP_IF)
            jump = emit_cond_jump(t, false, &cond_word, &cond_hi);
        struct ctrl *c = push_ctrl(t,
                                   op == OP_BLOCK  ? C_BLOCK
                                   : op == OP_LOOP ? C_LOOP
                                                   : C_IF,
                                   np, nr);
        if (c == NULL)
            return SPRY_ENOMEM;
        if (op == OP_IF) {
            /* The jump to else/end is this block's first pending patch,
             * but kept apart: it goes to `else` when there is one. */
            if (jump != UINT32_MAX && GROW(t, patches, npatches, cappatches, t->npatches + 1)) {
                struct patch *p = &t->patches[t->npatches];
                p->instr = jump;
                p->word = cond_word;
                p->hi = cond_hi;
                p->next = -1;
                c->else_jump = (int32_t)t->npatches++;
            }
        }
        if (op == OP_LOOP)
            c->loop_pos = t->ncode; /* backward jumps check for interruption */
        place_label(t);
        return 0;
    }
    case OP_ELSE: {
        struct ctrl *c = &t->ctrls[t->nctrl - 1];
        if (!c->unreachable) {
            uint32_t n = c->nresults;
            if (moves_needed(t, n, home(t, c->height)))
                emit_moves(t, n, home(t, c->height));
            emit_jump_to(t, c);
        }
        if (c->else_jump >= 0) {
            patch_list(t, c->else_jump, t->ncode);
            c->else_jump = -1;
        }
        c->has_else = true;
        c->unreachable = false;
        reset_stack(t, c->height, c->nparams);
        place_label(t);
        return 0;
    }
    case OP_END: {
        struct ctrl *c = &t->ctrls[t->nctrl - 1];
        bool reachable = !c->unreachable;
        if (c->kind == C_FUNC) {
            if (reachable)
                emit_return(t);
            t->nctrl--;
            return 0;
        }
        if (reachable) {
            uint32_t n = c->nresults;
            if (moves_needed(t, n, home(t, c->height)))
                emit_moves(t, n, home(t, c->height));
        }
        if (c->else_jump >= 0) { /* if without else: false goes to the end */
            patch_list(t, c->else_jump, t->ncode);
            reachable = true;
        }
        if (c->kind != C_LOOP && c->patches >= 0) {
            patch_list(t, c->patches, t->ncode);
            reachable = true;
        }
        uint32_t height = c->height, nr = c->nresults;
        t->nctrl--;
        reset_stack(t, height, nr);
        place_label(t);
        if (!reachable)
            t->ctrls[t->nctrl - 1].unreachable = true;
        return 0;
    }
    case OP_BR:
        if (reader_u32(r, &x) != 0)
            return fail(t, "unexpected end");
        emit_br(t, x);
        t->ctrls[t->nctrl - 1].unreachable = true;
        return 0;
    case OP_BR_IF: {
        if (reader_u32(r, &x) != 0)
            return fail(t, "unexpected end");
        struct ctrl *c = label(t, x);
        uint32_t n = label_arity(c);
        /* After popping the condition, do the values need moving? */
        uint32_t save_depth = t->depth;
        t->depth--; /* peek below the condition */
        bool simple = c->kind != C_FUNC && !moves_needed(t, n, label_slot(t, c));
        t->depth = save_depth;
        uint32_t word;
        bool hi;
        if (simple) {
            pos = emit_cond_jump(t, true, &word, &hi);
            if (c->kind == C_LOOP) {
                int32_t off = (int32_t)(c->loop_pos - pos);
                if (pos != UINT32_MAX) {
                    if (hi)
                        t->code[word].s32.hi = off;
                    else
                        t->code[word].s32.lo = off;
                }
            } else {
                add_patch(t, c, pos, word, hi);
            }
        } else {
            /* Skip the moves and the jump when the condition is false. */
            pos = emit_cond_jump(t, false, &word, &hi);
            emit_br(t, x);
            if (pos != UINT32_MAX) {
                int32_t off = (int32_t)(t->ncode - pos);
                if (hi)
                    t->code[word].s32.hi = off;
                else
                    t->code[word].s32.lo = off;
            }
            place_label(t);
        }
        return 0;
    }
    case OP_BR_TABLE: {
        uint32_t n;
        if (reader_u32(r, &n) != 0)
            return fail(t, "unexpected end");
        uint32_t *labels = spry_alloc_array((size_t)n + 1, sizeof *labels);
        if (labels == NULL)
            return SPRY_ENOMEM;
        for (uint64_t k = 0; k <= n; k++) {
            if (reader_u32(r, &labels[k]) != 0) {
                spry_free(labels);
                return fail(t, "unexpected end");
            }
        }
        uint32_t d = t->depth - 1;
        uint32_t idx = operand_slot(t, d);
        pop(t);
        pos = emit(t, IOP_BR_TABLE, 2 + n + 1);
        set_lo(t, pos, 1, idx);
        set_hi(t, pos, 1, n);
        /* Each target either jumps straight to its label or to a stub that
         * moves the values first (stubs follow the table). */
        for (uint64_t k = 0; k <= n && pos != UINT32_MAX; k++) {
            struct ctrl *c = label(t, labels[k]);
            uint32_t word = pos + 2 + (uint32_t)k;
            bool direct = c->kind != C_FUNC && !moves_needed(t, label_arity(c), label_slot(t, c));
            if (direct) {
                if (c->kind == C_LOOP)
                    t->code[word].s32.lo = (int32_t)(c->loop_pos - pos);
                else
                    add_patch(t, c, pos, word, false);
                continue;
            }
            t->code[word].s32.lo = (int32_t)(t->ncode - pos);
            place_label(t);
            emit_br(t, labels[k]);
        }
        spry_free(labels);
        t->ctrls[t->nctrl - 1].unreachable = true;
        return 0;
    }
    case OP_RETURN:
        emit_return(t);
        t->ctrls[t->nctrl - 1].unreachable = true;
        return 0;

    case OP_CALL:
    case OP_RETURN_CALL: {
        if (reader_u32(r, &x) != 0)
            return fail(t, "unexpected end");
        const struct wasm_functype *ft = module_func_type(t->m, x);
        uint32_t base = call_args(t, ft->nparams);
        if (op == OP_RETURN_CALL) {
            pos = emit(t, IOP_RETURN_CALL, 2);
            set_lo(t, pos, 1, x);
            set_hi(t, pos, 1, base);
            t->ctrls[t->nctrl - 1].unreachable = true;
            return 0;
        }
        pos = emit(t, IOP_CALL, 2);
        set_lo(t, pos, 1, x);
        set_hi(t, pos, 1, base);
        push_results(t, ft->nresults);
        return 0;
    }
    case OP_CALL_INDIRECT:
    case OP_RETURN_CALL_INDIRECT: {
        if (reader_u32(r, &y) != 0 || reader_u32(r, &x) != 0)
            return fail(t, "unexpected end");
        const struct wasm_functype *ft = &t->m->types[y];
        uint32_t di = t->depth - 1;
        /* The element index sits above the arguments. */
        uint32_t idx_slot;
        struct entry ie = t->stack[di];
        if (ie.kind == E_LOCAL) {
            idx_slot = ie.local;
        } else {
            materialize(t, di);
            idx_slot = home(t, di);
        }
        pop(t);
        uint32_t base = call_args(t, ft->nparams);
        /* The index must survive the argument moves: it lives above them
         * (home slot) or in a local, neither of which call_args writes. */
        bool tail = op == OP_RETURN_CALL_INDIRECT;
        pos = emit(t, tail ? IOP_RETURN_CALL_INDIRECT : IOP_CALL_INDIRECT, 3);
        set_lo(t, pos, 1, x);
        set_hi(t, pos, 1, base);
        set_lo(t, pos, 2, ft->type_id);
        set_hi(t, pos, 2, idx_slot);
        if (tail) {
            t->ctrls[t->nctrl - 1].unreachable = true;
            return 0;
        }
        push_results(t, ft->nresults);
        return 0;
    }

    case OP_DROP:
        pop(t);
        return 0;
    case OP_SELECT:
    case OP_SELECT_T: {
        if (op == OP_SELECT_T) {
            uint32_t n;
            const uint8_t *types;
            if (reader_u32(r, &n) != 0 || reader_bytes(r, n, &types) != 0)
                return fail(t, "unexpected end");
        }
        uint32_t dc = t->depth - 1, db = t->depth - 2, da = t->depth - 3;
        uint32_t a = operand_slot(t, da), b = operand_slot(t, db), c = operand_slot(t, dc);
        pop(t);
        pop(t);
        pop(t);
        pos = emit(t, IOP_SELECT, 3);
        set_lo(t, pos, 1, home(t, da));
        set_hi(t, pos, 1, c);
        set_lo(t, pos, 2, a);
        set_hi(t, pos, 2, b);
        push_slot(t);
        note_dst(t, pos, 1, da);
        return 0;
    }

    case OP_LOCAL_GET:
        if (reader_u32(r, &x) != 0)
            return fail(t, "unexpected end");
        push(t, (struct entry){.kind = E_LOCAL, .local = x});
        return 0;
    case OP_LOCAL_SET:
    case OP_LOCAL_TEE:
        if (reader_u32(r, &x) != 0)
            return fail(t, "unexpected end");
        tr_local_set(t, x, op == OP_LOCAL_TEE);
        return 0;
    case OP_GLOBAL_GET: {
        if (reader_u32(r, &x) != 0)
            return fail(t, "unexpected end");
        uint32_t d = t->depth;
        pos = emit(t, IOP_GLOBAL_GET, 2);
        set_lo(t, pos, 1, home(t, d));
        set_hi(t, pos, 1, x);
        push_slot(t);
        note_dst(t, pos, 1, d);
        return 0;
    }
    case OP_GLOBAL_SET: {
        if (reader_u32(r, &x) != 0)
            return fail(t, "unexpected end");
        uint32_t d = t->depth - 1;
        uint32_t v = operand_slot(t, d);
        pop(t);
        pos = emit(t, IOP_GLOBAL_SET, 2);
        set_lo(t, pos, 1, x);
        set_hi(t, pos, 1, v);
        return 0;
    }

    case OP_I32_CONST: {
        int32_t v;
        if (reader_s32(r, &v) != 0)
            return fail(t, "unexpected end");
        push(t, (struct entry){.kind = E_CONST, .value = (uint32_t)v});
        return 0;
    }
    case OP_I64_CONST:
        if (reader_s64(r, &s) != 0)
            return fail(t, "unexpected end");
        push(t, (struct entry){.kind = E_CONST, .value = (uint64_t)s});
        return 0;
    case OP_F32_CONST: {
        uint32_t bits;
        if (reader_fixed32(r, &bits) != 0)
            return fail(t, "unexpected end");
        push(t, (struct entry){.kind = E_CONST, .value = bits});
        return 0;
    }
    case OP_F64_CONST: {
        uint64_t bits;
        if (reader_fixed64(r, &bits) != 0)
            return fail(t, "unexpected end");
        push(t, (struct entry){.kind = E_CONST, .value = bits});
        return 0;
    }
    case OP_REF_NULL: {
        uint8_t rt;
        if (reader_u8(r, &rt) != 0)
            return fail(t, "unexpected end");
        push(t, (struct entry){.kind = E_CONST, .value = 0});
        return 0;
    }
    case OP_REF_IS_NULL: {
        uint32_t d = t->depth - 1;
        uint32_t a = operand_slot(t, d);
        pop(t);
        pos = emit(t, IOP_REF_IS_NULL, 2);
        set_lo(t, pos, 1, home(t, d));
        set_hi(t, pos, 1, a);
        push_slot(t);
        note_dst(t, pos, 1, d);
        return 0;
    }
    case OP_REF_FUNC: {
        if (reader_u32(r, &x) != 0)
            return fail(t, "unexpected end");
        uint32_t d = t->depth;
        pos = emit(t, IOP_REF_FUNC, 2);
        set_lo(t, pos, 1, home(t, d));
        set_hi(t, pos, 1, x);
        push_slot(t);
        note_dst(t, pos, 1, d);
        return 0;
    }

    case OP_MEMORY_SIZE: {
        uint8_t zero;
        if (reader_u8(r, &zero) != 0)
            return fail(t, "unexpected end");
        uint32_t d = t->depth;
        pos = emit(t, IOP_MEMORY_SIZE, 2);
        set_lo(t, pos, 1, home(t, d));
        push_slot(t);
        note_dst(t, pos, 1, d);
        return 0;
    }
    case OP_MEMORY_GROW: {
        uint8_t zero;
        if (reader_u8(r, &zero) != 0)
            return fail(t, "unexpected end");
        uint32_t d = t->depth - 1;
        uint32_t a = operand_slot(t, d);
        pop(t);
        pos = emit(t, IOP_MEMORY_GROW, 2);
        set_lo(t, pos, 1, home(t, d));
        set_hi(t, pos, 1, a);
        push_slot(t);
        note_dst(t, pos, 1, d);
        return 0;
    }
    case OP_MEMORY_FILL:
    case OP_MEMORY_COPY:
    case OP_MEMORY_INIT: {
        uint8_t zero;
        const uint8_t *zeros;
        uint32_t seg = 0;
        if (op == OP_MEMORY_INIT) {
            if (reader_u32(r, &seg) != 0 || reader_u8(r, &zero) != 0)
                return fail(t, "unexpected end");
        } else if (op == OP_MEMORY_COPY) {
            if (reader_bytes(r, 2, &zeros) != 0)
                return fail(t, "unexpected end");
        } else if (reader_u8(r, &zero) != 0) {
            return fail(t, "unexpected end");
        }
        uint32_t d0 = t->depth - 3;
        uint32_t s0 = operand_slot(t, d0), s1 = operand_slot(t, d0 + 1),
                 s2 = operand_slot(t, d0 + 2);
        pop(t);
        pop(t);
        pop(t);
        pos = emit(t,
                   op == OP_MEMORY_FILL   ? IOP_MEMORY_FILL
                   : op == OP_MEMORY_COPY ? IOP_MEMORY_COPY
                                          : IOP_MEMORY_INIT,
                   3);
        set_lo(t, pos, 1, s0);
        set_hi(t, pos, 1, s1);
        set_lo(t, pos, 2, s2);
        set_hi(t, pos, 2, seg);
        return 0;
    }
    case OP_DATA_DROP:
    case OP_ELEM_DROP:
        if (reader_u32(r, &x) != 0)
            return fail(t, "unexpected end");
        pos = emit(t, op == OP_DATA_DROP ? IOP_DATA_DROP : IOP_ELEM_DROP, 2);
        set_lo(t, pos, 1, x);
        return 0;

    case OP_TABLE_GET: {
        if (reader_u32(r, &x) != 0)
            return fail(t, "unexpected end");
        uint32_t d = t->depth - 1;
        uint32_t i = operand_slot(t, d);
        pop(t);
        pos = emit(t, IOP_TABLE_GET, 3);
        set_lo(t, pos, 1, home(t, d));
        set_hi(t, pos, 1, i);
        set_lo(t, pos, 2, x);
        push_slot(t);
        note_dst(t, pos, 1, d);
        return 0;
    }
    case OP_TABLE_SET: {
        if (reader_u32(r, &x) != 0)
            return fail(t, "unexpected end");
        uint32_t dv = t->depth - 1, di = t->depth - 2;
        uint32_t i = operand_slot(t, di), v = operand_slot(t, dv);
        pop(t);
        pop(t);
        pos = emit(t, IOP_TABLE_SET, 3);
        set_lo(t, pos, 1, i);
        set_hi(t, pos, 1, v);
        set_lo(t, pos, 2, x);
        return 0;
    }
    case OP_TABLE_SIZE: {
        if (reader_u32(r, &x) != 0)
            return fail(t, "unexpected end");
        uint32_t d = t->depth;
        pos = emit(t, IOP_TABLE_SIZE, 2);
        set_lo(t, pos, 1, home(t, d));
        set_hi(t, pos, 1, x);
        push_slot(t);
        note_dst(t, pos, 1, d);
        return 0;
    }
    case OP_TABLE_GROW: {
        if (reader_u32(r, &x) != 0)
            return fail(t, "unexpected end");
        uint32_t dn = t->depth - 1, dv = t->depth - 2;
        uint32_t v = operand_slot(t, dv), n = operand_slot(t, dn);
        pop(t);
        pop(t);
        pos = emit(t, IOP_TABLE_GROW, 3);
        set_lo(t, pos, 1, home(t, dv));
        set_hi(t, pos, 1, v);
        set_lo(t, pos, 2, n);
        set_hi(t, pos, 2, x);
        push_slot(t);
        note_dst(t, pos, 1, dv);
        return 0;
    }
    case OP_TABLE_FILL: {
        if (reader_u32(r, &x) != 0)
            return fail(t, "unexpected end");
        uint32_t d0 = t->depth - 3;
        uint32_t i = operand_slot(t, d0), v = operand_slot(t, d0 + 1), n = operand_slot(t, d0 + 2);
        pop(t);
        pop(t);
        pop(t);
        pos = emit(t, IOP_TABLE_FILL, 3);
        set_lo(t, pos, 1, i);
        set_hi(t, pos, 1, v);
        set_lo(t, pos, 2, n);
        set_hi(t, pos, 2, x);
        return 0;
    }
    case OP_TABLE_COPY:
    case OP_TABLE_INIT: {
        /* table.copy dst src; table.init elem table */
        if (reader_u32(r, &x) != 0 || reader_u32(r, &y) != 0)
            return fail(t, "unexpected end");
        uint32_t d0 = t->depth - 3;
        uint32_t a = operand_slot(t, d0), b = operand_slot(t, d0 + 1), n = operand_slot(t, d0 + 2);
        pop(t);
        pop(t);
        pop(t);
        pos = emit(t, op == OP_TABLE_COPY ? IOP_TABLE_COPY : IOP_TABLE_INIT, 4);
        set_lo(t, pos, 1, a);
        set_hi(t, pos, 1, b);
        set_lo(t, pos, 2, n);
        if (op == OP_TABLE_COPY) {
            set_hi(t, pos, 2, x); /* destination table */
            set_lo(t, pos, 3, y); /* source table */
        } else {
            set_hi(t, pos, 2, y); /* table */
            set_lo(t, pos, 3, x); /* element segment */
        }
        return 0;
    }
    }
    return fail(t, "unsupported instruction");
}

/* Skips a dead instruction, tracking nesting so the block's own else/end
 * is found. Returns 1 when that else/end was reached (and translated). */
static int skip_dead(struct tr *t, uint32_t op, uint32_t *nesting)
{
    if (op == OP_BLOCK || op == OP_LOOP || op == OP_IF) {
        (*nesting)++;
        return skip_immediates(t, op) == 0 ? 0 : -1;
    }
    if (op == OP_END && *nesting > 0) {
        (*nesting)--;
        return 0;
    }
    if (op == OP_ELSE && *nesting > 0)
        return 0;
    if (op == OP_END || op == OP_ELSE)
        return 1;
    return skip_immediates(t, op) == 0 ? 0 : -1;
}

/* Counts the constant instructions of the body (an upper bound on the
 * constant slots it can use), without translating. */
static uint32_t count_constants(struct wasm_reader r)
{
    uint32_t n = 0, nesting = 0;
    struct tr scan;
    memset(&scan, 0, sizeof scan);
    scan.r = r;
    while (!reader_eof(&scan.r)) {
        uint32_t op;
        if (read_opcode(&scan.r, &op) != 0)
            break;
        if (op == OP_I32_CONST || op == OP_I64_CONST || op == OP_F32_CONST || op == OP_F64_CONST)
            n++;
        if (skip_dead(&scan, op, &nesting) < 0)
            break;
    }
    return n;
}

/* Prepends INIT_CONSTS (h | n | slot | value ...) to the code. Jumps are
 * relative, so shifting the body does not disturb them; the source map is
 * shifted with it. */
static void emit_const_prologue(struct tr *t)
{
    if (t->nconsts == 0)
        return;
    uint32_t words = 2 + 2 * t->nconsts;
    if (!GROW(t, code, ncode, capcode, t->ncode + words))
        return;
    memmove(t->code + words, t->code, t->ncode * sizeof *t->code);
    memset(t->code, 0, words * sizeof *t->code);
    t->code[0].h = t->handlers[IOP_INIT_CONSTS];
    t->code[1].u32.lo = t->nconsts;
    for (uint32_t i = 0; i < t->nconsts; i++) {
        t->code[2 + 2 * i].u32.lo = t->nlocals + i;
        t->code[3 + 2 * i].u64 = t->const_values[i];
    }
    t->ncode += words;
    for (uint32_t i = 0; i < t->nsrcmap; i++)
        t->srcmap[i].pos += words;
}

static void tr_fini(struct tr *t)
{
    spry_free(t->const_values);
    spry_free(t->code);
    spry_free(t->stack);
    spry_free(t->ctrls);
    spry_free(t->patches);
    spry_free(t->srcmap);
    spry_free(t->local_refs);
}

int translate_func(const struct wasm_module *m, uint32_t func_index, struct interp_code **out,
                   struct spry_report *report)
{
    pthread_once(&iop_maps_once, build_iop_maps);
    const struct wasm_func *f = &m->funcs[func_index];
    const struct wasm_functype *ft = &m->types[f->type_index];
    struct tr t;
    memset(&t, 0, sizeof t);
    t.m = m;
    t.report = report;
    t.handlers = interp_handlers();
    t.nlocals = ft->nparams + f->nlocals;
    t.nresults = ft->nresults;
    t.r.start = m->bytes;
    t.r.pos = m->bytes + f->expr_offset;
    t.r.end = m->bytes + f->body_offset + f->body_size;
    t.local_refs = spry_calloc(t.nlocals ? t.nlocals : 1, sizeof *t.local_refs);
    t.nconst_slots = count_constants(t.r);
    if (t.nconst_slots > MAX_CONST_SLOTS)
        t.nconst_slots = MAX_CONST_SLOTS;
    t.const_values = spry_alloc_array(t.nconst_slots + 1, sizeof *t.const_values);
    if (t.local_refs == NULL || t.const_values == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory translating function %u",
                               func_index);

    int rc = 0;
    struct ctrl *fc = push_ctrl(&t, C_FUNC, 0, ft->nresults);
    if (fc == NULL) {
        tr_fini(&t);
        return spry_report_set(report, SPRY_ENOMEM, "out of memory");
    }

    uint32_t nesting = 0;
    while (t.nctrl > 0 && !t.oom) {
        t.instr_offset = (uint32_t)reader_offset(&t.r);
        uint32_t op;
        if (read_opcode(&t.r, &op) != 0) {
            rc = fail(&t, "unexpected end");
            break;
        }
        if (t.ctrls[t.nctrl - 1].unreachable) {
            int k = skip_dead(&t, op, &nesting);
            if (k < 0) {
                rc = fail(&t, "unexpected end");
                break;
            }
            if (k == 0)
                continue;
        }
        rc = tr_instr(&t, op);
        if (rc != 0)
            break;
    }
    if (rc == 0)
        emit_const_prologue(&t);
    if (rc == 0 && t.oom)
        rc = spry_report_set(report, SPRY_ENOMEM, "out of memory translating function %u",
                             func_index);
    if (rc != 0) {
        tr_fini(&t);
        return rc;
    }

    struct interp_code *code = spry_calloc(1, sizeof *code);
    if (code == NULL) {
        tr_fini(&t);
        return spry_report_set(report, SPRY_ENOMEM, "out of memory");
    }
    code->nparams = ft->nparams;
    code->nresults = ft->nresults;
    code->nlocals = t.nlocals;
    /* Locals, constants, the deepest stack, and one scratch slot for
     * emit_moves. */
    code->nslots = home(&t, t.max_depth) + 1;
    if (code->nslots < ft->nresults)
        code->nslots = ft->nresults;
    code->ncode = t.ncode;
    code->code = t.code;
    code->nsrcmap = t.nsrcmap;
    code->srcmap = t.srcmap;
    t.code = NULL;
    t.srcmap = NULL;
    tr_fini(&t);
    *out = code;
    return 0;
}

void translate_free(struct interp_code *code)
{
    if (code == NULL)
        return;
    spry_free(code->code);
    spry_free(code->srcmap);
    spry_free(code);
}

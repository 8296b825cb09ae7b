/*
 * Translation of numeric instructions, loads and stores, and the peepholes
 * that fuse neighbouring instructions (docs/ARCHITECTURE.md lists them).
 * Every fusion drops an instruction just emitted (t->last says which) and
 * emits one that does both; none crosses a label.
 */
#include "wasm/translate_impl.h"

#include <pthread.h>
#include <string.h>

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
uint32_t tr_cond_jump(struct tr *t, bool want_true, uint32_t *word, bool *hi)
{
    uint32_t cond_depth = t->depth - 1;
    struct entry cond = tr_pop(t);
    if (t->last.valid && t->last.cmp >= 0 && cond.kind == E_SLOT && t->last.depth == cond_depth &&
        t->last.pos + (t->last.cmp == OP_I32_EQZ ? 2u : 3u) == t->ncode) {
        int op = want_true ? t->last.cmp : invert_cmp(t->last.cmp);
        uint32_t a = t->last.a, b = t->last.b;
        bool b_imm = t->last.b_imm;
        t->ncode = t->last.pos; /* drop the comparison */
        if (op == OP_I32_EQZ || op == -OP_I32_EQZ - 1) {
            uint32_t pos = tr_emit(t, op == OP_I32_EQZ ? IOP_BR_Z : IOP_BR_NZ, 2);
            tr_set_lo(t, pos, 1, a);
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
            uint32_t pos = tr_emit(t, cmp_branch_iop(op, b_imm, true), 4);
            tr_set_lo(t, pos, 1, a);
            tr_set_hi(t, pos, 1, src);
            tr_set_lo(t, pos, 2, imm);
            tr_set_hi(t, pos, 2, b);
            *word = pos + 3;
            *hi = false;
            return pos;
        }
        uint32_t pos = tr_emit(t, cmp_branch_iop(op, b_imm, false), 3);
        tr_set_lo(t, pos, 1, a);
        tr_set_hi(t, pos, 1, b);
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
        tr_materialize(t, cond_depth);
        t->depth--;
        slot = tr_home(t, cond_depth);
    } else {
        slot = tr_entry_slot(t, cond, cond_depth);
    }
    uint32_t pos = tr_emit(t, want_true ? IOP_BR_NZ : IOP_BR_Z, 2);
    tr_set_lo(t, pos, 1, slot);
    *word = pos + 1;
    *hi = true;
    return pos;
}

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

static void tr_unary(struct tr *t, enum iop op)
{
    uint32_t d = t->depth - 1;
    uint32_t a = tr_operand_slot(t, d);
    tr_pop(t);
    uint32_t pos = tr_emit(t, op, 2);
    tr_set_lo(t, pos, 1, tr_home(t, d));
    tr_set_hi(t, pos, 1, a);
    tr_push_slot(t);
    tr_note_dst(t, pos, 1, d);
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
    tr_pop(t);
    tr_pop(t);
    uint32_t pos = tr_emit(t, (enum iop)iop, form == 1 ? 3 : 4);
    if (t->nsrcmap > nsrc) /* a trap here is the load's: keep its offset */
        t->nsrcmap = nsrc;
    tr_set_lo(t, pos, 1, tr_home(t, da));
    tr_set_hi(t, pos, 1, x);
    tr_set_lo(t, pos, 2, la);
    if (form == 1) {
        tr_set_hi(t, pos, 2, loff);
    } else {
        tr_set_hi(t, pos, 2, limm);
        tr_set_lo(t, pos, 3, loff);
    }
    tr_push_slot(t);
    tr_note_dst(t, pos, 1, da);
    return true;
}

/* Replaces the operator just emitted (t->last) and the binary operator
 * being translated, whose operands are popped here, by one fused `iop` of
 * `words` words: dst (the home slot of da) and the first operator's operands
 * are filled in; the caller fills the rest of the returned position. */
static uint32_t emit_fused_pair(struct tr *t, int iop, uint32_t words, uint32_t da)
{
    uint32_t x = t->last.op_a, y = (uint32_t)t->last.op_b;
    t->ncode = t->last.pos; /* the first operator joins this one */
    tr_pop(t);
    tr_pop(t);
    uint32_t pos = tr_emit(t, (enum iop)iop, words);
    tr_set_lo(t, pos, 1, tr_home(t, da));
    tr_set_hi(t, pos, 1, x);
    tr_set_lo(t, pos, 2, y);
    tr_push_slot(t);
    tr_note_dst(t, pos, 1, da);
    return pos;
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
        uint32_t a = tr_operand_slot(t, dx);
        int fb = last_op_result(t, dx, false) ? fused_imm_second(t->last.op, opcode) : -1;
        if (fb >= 0) {
            tr_set_u64(t, emit_fused_pair(t, fb, 4, da), 3, imm);
            return;
        }
        tr_pop(t);
        tr_pop(t);
        uint32_t pos = tr_emit(t, (enum iop)imm_iop, 3);
        tr_set_lo(t, pos, 1, tr_home(t, da));
        tr_set_hi(t, pos, 1, a);
        if (is64)
            tr_set_u64(t, pos, 2, imm);
        else
            tr_set_lo(t, pos, 2, (uint32_t)imm);
        tr_push_slot(t);
        tr_note_dst(t, pos, 1, da);
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
    uint32_t a = tr_operand_slot(t, da);
    uint32_t b = tr_operand_slot(t, db);
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
            tr_set_hi(t, emit_fused_pair(t, fc, 3, da), 2, c);
            return;
        }
    }
    if (fa >= 0) {
        tr_set_hi(t, emit_fused_pair(t, fa, 3, da), 2, other);
        return;
    }
    tr_pop(t);
    tr_pop(t);
    uint32_t pos = tr_emit(t, (enum iop)iop_plain[op_slot(opcode)], 3);
    tr_set_lo(t, pos, 1, tr_home(t, da));
    tr_set_hi(t, pos, 1, a);
    tr_set_lo(t, pos, 2, b);
    tr_push_slot(t);
    tr_note_dst(t, pos, 1, da);
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

/* A store of a constant value (the top entry) that fits the _V form's
 * sign-extended 32-bit immediate, to an address no i32.add just before
 * computes (that one fuses into the _A/_AI forms instead): emits the _V form
 * and returns true. */
static bool store_imm(struct tr *t, uint32_t op, uint32_t da, uint32_t offset)
{
    const struct entry *v = &t->stack[t->depth - 1];
    if (v->kind != E_CONST)
        return false;
    bool wide = op == OP_I64_STORE || op == OP_F64_STORE;
    if (wide && v->value != (uint64_t)(int64_t)(int32_t)(uint32_t)v->value)
        return false;
    enum iop form = IOP_COUNT;
    switch (op) {
#define STORE_V(name)          \
    case OP_##name:            \
        form = IOP_##name##_V; \
        break;
        IOPS_STORE(STORE_V)
#undef STORE_V
    }
    if (form == IOP_COUNT || fusable_add(t, da) != 0)
        return false;
    uint32_t imm = (uint32_t)v->value;
    uint32_t a = tr_operand_slot(t, da);
    tr_pop(t);
    tr_pop(t);
    uint32_t pos = tr_emit(t, form, 3);
    tr_set_lo(t, pos, 1, a);
    tr_set_hi(t, pos, 1, imm);
    tr_set_lo(t, pos, 2, offset);
    return true;
}

/* Translates the numeric instructions: unary and binary operators, loads
 * and stores, with their peepholes. Returns 1 when op was one of them, 0
 * when it is not (the caller handles it), or a negative error. */
int tr_numeric(struct tr *t, uint32_t op, const struct wasm_opinfo *info)
{
    pthread_once(&iop_maps_once, build_iop_maps);
    struct wasm_reader *r = &t->r;
    uint32_t pos;
    int plain = iop_plain[op_slot(op)];

    if (plain >= 0 && info->imm == IMM_NONE) {
        if (info->sig != SIG_SPECIAL && wasm_sig_table[info->sig].nparams == 2)
            tr_binary(t, op);
        else
            tr_unary(t, (enum iop)plain);
        return 1;
    }
    if (plain >= 0 && info->imm == IMM_MEMARG) {
        uint32_t align, offset;
        if (reader_u32(r, &align) != 0 || reader_u32(r, &offset) != 0)
            return tr_fail(t, "unexpected end");
        bool load = wasm_sig_table[info->sig].result != 0;
        uint32_t da = load ? t->depth - 1 : t->depth - 2;
        if (!load && store_imm(t, op, da, offset))
            return 1;
        uint32_t a = tr_operand_slot(t, da);
        uint32_t v = load ? 0 : tr_operand_slot(t, t->depth - 1);
        /* An i32.add computing the address just before: fuse it. */
        int add = fusable_add(t, da);
        uint32_t add_a = t->last.a, add_b = t->last.b;
        if (add != 0)
            t->ncode = t->last.pos;
        tr_pop(t);
        if (!load)
            tr_pop(t);
        enum iop form = (enum iop)(plain + add); /* IOP_X, IOP_X_A, IOP_X_AI */
        pos = tr_emit(t, form, 3);
        if (add != 0) {
            tr_set_lo(t, pos, 1, load ? tr_home(t, da) : add_a);
            tr_set_hi(t, pos, 1, load ? add_a : add_b);
            tr_set_lo(t, pos, 2, load ? add_b : v);
            tr_set_hi(t, pos, 2, offset);
        } else {
            tr_set_lo(t, pos, 1, load ? tr_home(t, da) : a);
            tr_set_hi(t, pos, 1, load ? a : v);
            tr_set_lo(t, pos, 2, offset);
        }
        if (load) {
            tr_push_slot(t);
            tr_note_dst(t, pos, 1, da);
            if (op == OP_F64_LOAD && add != 1 && pos != UINT32_MAX) {
                t->last.load = add == 0 ? 1 : 2;
                t->last.load_a = add == 0 ? a : add_a;
                t->last.load_imm = add_b;
                t->last.load_off = offset;
            }
        }
        return 1;
    }
    return 0;
}

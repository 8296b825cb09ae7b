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
#include "wasm/translate_impl.h"

#include "base/alloc.h"
#include "wasm/native.h"
#include "wasm/opcodes.h"
#include "wasm/reader.h"
#include "wasm/runtime.h"

#include <string.h>

/* ---- growable arrays -------------------------------------------------- */

bool tr_grow(void **items, uint32_t *cap, uint32_t need, size_t size, bool *oom)
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

/* ---- emitting --------------------------------------------------------- */

/* Starts an instruction of `words` words; returns its position or
 * UINT32_MAX when out of memory (t->oom set; callers check at the end). */
uint32_t tr_emit(struct tr *t, enum iop op, uint32_t words)
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

/* Records that the instruction at pos writes the result at `depth` through
 * word `dst_word` (lo half), so a following local.set may redirect it. */
void tr_note_dst(struct tr *t, uint32_t pos, int dst_word, uint32_t depth)
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
void tr_place_label(struct tr *t)
{
    t->last.valid = false;
    t->label_pos = t->ncode;
}

/* ---- the simulated stack ---------------------------------------------- */

void tr_push(struct tr *t, struct entry e)
{
    if (!GROW(t, stack, depth, capstack, t->depth + 1))
        return;
    if (e.kind == E_LOCAL)
        t->local_refs[e.local]++;
    t->stack[t->depth++] = e;
    if (t->depth > t->max_depth)
        t->max_depth = t->depth;
}

void tr_push_slot(struct tr *t)
{
    tr_push(t, (struct entry){.kind = E_SLOT});
}

struct entry tr_pop(struct tr *t)
{
    if (t->depth == 0) /* cannot happen for validated code */
        return (struct entry){.kind = E_SLOT};
    struct entry e = t->stack[--t->depth];
    if (e.kind == E_LOCAL)
        t->local_refs[e.local]--;
    return e;
}

/* Makes the entry at depth d live in its home slot. */
void tr_materialize(struct tr *t, uint32_t d)
{
    struct entry *e = &t->stack[d];
    if (e->kind == E_LOCAL) {
        uint32_t pos = tr_emit(t, IOP_COPY, 2);
        tr_set_lo(t, pos, 1, tr_home(t, d));
        tr_set_hi(t, pos, 1, e->local);
        t->local_refs[e->local]--;
    } else if (e->kind == E_CONST) {
        uint32_t pos = tr_emit(t, IOP_COPY_IMM, 3);
        tr_set_lo(t, pos, 1, tr_home(t, d));
        tr_set_u64(t, pos, 2, e->value);
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
            tr_materialize(t, d);
    }
}

/* The slot an operand at depth d can be read from (materialising constants). */
uint32_t tr_operand_slot(struct tr *t, uint32_t d)
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
        tr_materialize(t, d);
    }
    return tr_home(t, d);
}

/* Slot of the entry popped from depth d (called after pop: depth == d). */
uint32_t tr_entry_slot(const struct tr *t, struct entry e, uint32_t d)
{
    return e.kind == E_LOCAL ? e.local : tr_home(t, d);
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
    return c->kind == C_FUNC ? 0 : tr_home(t, c->height);
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
        if (t->stack[d].kind != E_SLOT || tr_home(t, d) != dst + k)
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
                 : e->kind == E_SLOT ? tr_home(t, t->depth - n + k)
                                     : CONSTSRC;
        if (src[k] == dst + k)
            done[k] = 1;
        else
            left++;
    }
    uint32_t scratch = UINT32_MAX;                    /* a source parked in the scratch slot */
    uint32_t scratch_slot = tr_home(t, t->max_depth); /* reserved: see translate_func */
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
                uint32_t pos = tr_emit(t, IOP_COPY_IMM, 3);
                tr_set_lo(t, pos, 1, dst + k);
                tr_set_u64(t, pos, 2, t->stack[t->depth - n + k].value);
            } else {
                uint32_t pos = tr_emit(t, IOP_COPY, 2);
                tr_set_lo(t, pos, 1, dst + k);
                tr_set_hi(t, pos, 1, src[k]);
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
                uint32_t pos = tr_emit(t, IOP_COPY, 2);
                tr_set_lo(t, pos, 1, scratch_slot);
                tr_set_hi(t, pos, 1, src[k]);
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
    uint32_t pos = tr_emit(t, IOP_BR, 2);
    if (c->kind == C_LOOP)
        tr_set_lo(t, pos, 1, (uint32_t)(int32_t)(c->loop_pos - pos));
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
            tr_emit(t, IOP_RETURN, 1);
            return;
        }
        src = e->kind == E_LOCAL ? e->local : tr_home(t, t->depth - 1);
        uint32_t pos = tr_emit(t, IOP_RETURN1, 2);
        tr_set_lo(t, pos, 1, src);
        return;
    }
    if (moves_needed(t, n, 0))
        emit_moves(t, n, 0);
    tr_emit(t, IOP_RETURN, 1);
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
        tr_pop(t);
    for (uint32_t k = 0; k < n; k++)
        tr_push_slot(t);
}

/* ---- the opcode -> iop maps -------------------------------------------- */

/* ---- instruction translation -------------------------------------------- */

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
        tr_pop(t);
        if (tee)
            tr_push(t, (struct entry){.kind = E_LOCAL, .local = x});
        return;
    }
    protect_local(t, x);
    e = &t->stack[d];
    if (e->kind == E_CONST) {
        uint32_t pos = tr_emit(t, IOP_COPY_IMM, 3);
        tr_set_lo(t, pos, 1, x);
        tr_set_u64(t, pos, 2, e->value);
    } else {
        uint32_t src = e->kind == E_LOCAL ? e->local : tr_home(t, d);
        if (src != x) {
            uint32_t pos = tr_emit(t, IOP_COPY, 2);
            tr_set_lo(t, pos, 1, x);
            tr_set_hi(t, pos, 1, src);
        }
    }
    if (!tee)
        tr_pop(t);
}

/* Pops n arguments into their home slots; returns the first one's slot. */
static uint32_t call_args(struct tr *t, uint32_t n)
{
    uint32_t base = t->depth - n;
    for (uint32_t d = base; d < t->depth; d++)
        tr_materialize(t, d);
    while (t->depth > base)
        tr_pop(t);
    return tr_home(t, base);
}

/* The call's arguments: where each is read from (a local, a constant slot or
 * its home slot), popped. Returns whether any is not in its home slot yet:
 * then the call is emitted in its _ARGS form, which copies them itself (one
 * dispatch instead of one COPY per argument). No source lies in the
 * destination range [home(base), home(base)+n) except an argument's own
 * home slot: locals and constant slots lie below every home slot. */
static bool call_arg_sources(struct tr *t, uint32_t n, uint32_t *src)
{
    uint32_t base = t->depth - n;
    bool moves = false;
    for (uint32_t k = 0; k < n; k++) {
        src[k] = tr_operand_slot(t, base + k);
        moves |= src[k] != tr_home(t, base + k);
    }
    while (t->depth > base)
        tr_pop(t);
    return moves;
}

/* Emits CALL_ARGS / CALL_INDIRECT_ARGS: `head` words (h and the call's
 * operands), then n, src0 | src1, src2 | ... (iops.h); a direct call of one
 * to three arguments becomes CALL_ARGS1..3, whose list has no n. */
static uint32_t emit_call_args(struct tr *t, enum iop op, uint32_t head, uint32_t n,
                               const uint32_t *src)
{
    uint32_t counted = 1;
    if (op == IOP_CALL_ARGS && n <= 3) {
        op = n == 1 ? IOP_CALL_ARGS1 : n == 2 ? IOP_CALL_ARGS2 : IOP_CALL_ARGS3;
        counted = 0;
    }
    uint32_t pos = tr_emit(t, op, head + (n + counted + 1) / 2);
    if (pos == UINT32_MAX)
        return pos;
    for (uint32_t k = 1 - counted; k <= n; k++) {
        uint32_t v = k == 0 ? n : src[k - 1];
        uint32_t h = k - (1 - counted); /* the half it goes in */
        if (h % 2 == 0)
            t->code[pos + head + h / 2].u32.lo = v;
        else
            t->code[pos + head + h / 2].u32.hi = v;
    }
    return pos;
}

/* The argument sources of a call with more than this many parameters are
 * not listed: such calls materialise their arguments (COPY each). */
#define CALL_ARGS_MAX 16

/*
 * global.set g of the value an i32.add/sub of an immediate just wrote (slot
 * v): the stack-pointer epilogue of compiled code (local.get; i32.const;
 * i32.add; global.set) becomes ADDI_GLOBAL_SET. When that add read the value
 * a global.get of the same global had just put in a temporary, the three are
 * the prologue (global.get; i32.const; i32.sub; local.tee; global.set) and
 * become one GLOBAL_ADD_I. Nothing is fused across a label. Returns whether
 * it emitted the set.
 */
static bool fuse_global_add(struct tr *t, uint32_t g, uint32_t v)
{
    uint32_t p = t->starts[1];
    if (t->ncode < 3 || p + 3 != t->ncode || p < t->label_pos)
        return false;
    bool sub = t->code[p].h == t->handlers[IOP_I32_SUB_I];
    if ((!sub && t->code[p].h != t->handlers[IOP_I32_ADD_I]) || t->code[p + 1].u32.lo != v)
        return false;
    uint32_t a = t->code[p + 1].u32.hi;
    uint32_t imm = sub ? 0u - t->code[p + 2].u32.lo : t->code[p + 2].u32.lo;
    uint32_t q = t->starts[0];
    /* The global.get's destination must be a temporary (no local.tee kept
     * the old value), which nothing reads after the add. */
    if (q + 2 == p && q >= t->label_pos && t->code[q].h == t->handlers[IOP_GLOBAL_GET] &&
        t->code[q + 1].u32.hi == g && t->code[q + 1].u32.lo == a && a >= tr_home(t, 0)) {
        t->ncode = q;
        while (t->nsrcmap > 0 && t->srcmap[t->nsrcmap - 1].pos > q)
            t->nsrcmap--;
        uint32_t pos = tr_emit(t, IOP_GLOBAL_ADD_I, 3);
        t->starts[0] = pos;
        tr_set_lo(t, pos, 1, v);
        tr_set_hi(t, pos, 1, g);
        tr_set_lo(t, pos, 2, imm);
        return true;
    }
    t->code[p].h = t->handlers[IOP_ADDI_GLOBAL_SET];
    t->code[p + 2].u32.lo = imm;
    t->code[p + 2].u32.hi = g;
    t->last.valid = false;
    return true;
}

static void push_results(struct tr *t, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++)
        tr_push_slot(t);
}

int tr_fail(struct tr *t, const char *what)
{
    return spry_report_set(t->report, SPRY_EINVALID, "%s at offset 0x%x", what, t->instr_offset);
}

/* Reads the slots of the top n operands (constants from constant slots),
 * bottom first, and pops them. */
static void pop_operands(struct tr *t, uint32_t n, uint32_t *slots)
{
    uint32_t base = t->depth - n;
    for (uint32_t k = 0; k < n; k++)
        slots[k] = tr_operand_slot(t, base + k);
    for (uint32_t k = 0; k < n; k++)
        tr_pop(t);
}

/* Emits an instruction whose one result goes to the home slot of the
 * current depth (word 1, lo half) and pushes that result. The caller fills
 * the other operand fields of the returned position. */
static uint32_t emit_result(struct tr *t, enum iop op, uint32_t words)
{
    uint32_t d = t->depth;
    uint32_t pos = tr_emit(t, op, words);
    tr_set_lo(t, pos, 1, tr_home(t, d));
    tr_push_slot(t);
    tr_note_dst(t, pos, 1, d);
    return pos;
}

/* global.set g of the top operand. */
static void emit_global_set(struct tr *t, uint32_t g)
{
    uint32_t v;
    pop_operands(t, 1, &v);
    if (fuse_global_add(t, g, v))
        return;
    uint32_t pos = tr_emit(t, IOP_GLOBAL_SET, 2);
    tr_set_lo(t, pos, 1, g);
    tr_set_hi(t, pos, 1, v);
}

/*
 * Inlining of trivial callees. A direct call of a function of this module
 * whose body (no declared locals) is one of
 *   end                              (e.g. __wasm_call_ctors when empty)
 *   i32/i64.const c; end             (__errno_location)
 *   global.get g; end                (the preview-1 adapter's get_state_ptr)
 *   local.get 0; global.set g; end   (its set_state_ptr, one parameter)
 * is translated as that body in the caller: the arguments are dropped (or,
 * for the setter, stored), and no frame is pushed. None of these can trap,
 * loop or call, and the callee's globals are the caller's (same module, so
 * same instance), so the only observable difference is that such a call
 * takes no frame: it cannot be the one that exhausts the call stack.
 * Recursion always keeps its frames, since a function that calls is never
 * inlined.
 */
enum inline_shape { INL_NONE, INL_EMPTY, INL_CONST, INL_GLOBAL_GET, INL_GLOBAL_SET };

static enum inline_shape inline_shape(const struct wasm_module *m, uint32_t x, uint64_t *imm)
{
    const struct wasm_func *f = &m->funcs[x];
    if (f->imported || f->nlocals != 0)
        return INL_NONE;
    const struct wasm_functype *ft = &m->types[f->type_index];
    struct wasm_reader r;
    r.start = m->bytes;
    r.pos = m->bytes + f->expr_offset;
    r.end = m->bytes + f->body_offset + f->body_size;
    uint32_t op, a;
    enum inline_shape shape;
    if (opcode_read(&r, &op) != 0)
        return INL_NONE;
    if (op == OP_END)
        return ft->nresults == 0 ? INL_EMPTY : INL_NONE;
    if (op == OP_I32_CONST || op == OP_I64_CONST) {
        int64_t v;
        if (reader_s64(&r, &v) != 0 || ft->nresults != 1)
            return INL_NONE;
        *imm = op == OP_I32_CONST ? (uint32_t)v : (uint64_t)v;
        shape = INL_CONST;
    } else if (op == OP_GLOBAL_GET) {
        if (reader_u32(&r, &a) != 0 || ft->nresults != 1)
            return INL_NONE;
        *imm = a;
        shape = INL_GLOBAL_GET;
    } else if (op == OP_LOCAL_GET) {
        if (reader_u32(&r, &a) != 0 || a != 0 || ft->nparams != 1 || ft->nresults != 0 ||
            opcode_read(&r, &op) != 0 || op != OP_GLOBAL_SET || reader_u32(&r, &a) != 0)
            return INL_NONE;
        *imm = a;
        shape = INL_GLOBAL_SET;
    } else {
        return INL_NONE;
    }
    /* The body ends here: its `end` is the last byte. */
    if (opcode_read(&r, &op) != 0 || op != OP_END || !reader_eof(&r))
        return INL_NONE;
    return shape;
}

/* Translates `call x` as the callee's body when it is trivial (above);
 * returns whether it did. */
static bool call_inline(struct tr *t, uint32_t x, const struct wasm_functype *ft)
{
    uint64_t imm = 0;
    enum inline_shape shape = inline_shape(t->m, x, &imm);
    if (shape == INL_NONE)
        return false;
    if (shape == INL_GLOBAL_SET) {
        emit_global_set(t, (uint32_t)imm);
        return true;
    }
    for (uint32_t k = 0; k < ft->nparams; k++)
        tr_pop(t);
    if (shape == INL_CONST) {
        tr_push(t, (struct entry){.kind = E_CONST, .value = imm});
    } else if (shape == INL_GLOBAL_GET) {
        uint32_t pos = emit_result(t, IOP_GLOBAL_GET, 2);
        tr_set_hi(t, pos, 1, (uint32_t)imm);
    }
    return true;
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
        return tr_fail(t, "illegal opcode");
    int handled = tr_numeric(t, op, info);
    if (handled != 0)
        return handled < 0 ? handled : 0;

    switch (op) {
    case OP_NOP:
    case OP_I32_REINTERPRET_F32: /* slots hold bits: nothing to do */
    case OP_I64_REINTERPRET_F64:
    case OP_F32_REINTERPRET_I32:
    case OP_F64_REINTERPRET_I64:
        return 0;
    case OP_UNREACHABLE:
        tr_emit(t, IOP_UNREACHABLE, 1);
        t->ctrls[t->nctrl - 1].unreachable = true;
        return 0;

    case OP_BLOCK:
    case OP_LOOP:
    case OP_IF: {
        uint32_t np, nr;
        if (reader_s33(r, &s) != 0)
            return tr_fail(t, "unexpected end");
        block_arity(t, s, &np, &nr);
        uint32_t cond_word = 0;
        bool cond_hi = false;
        uint32_t jump = UINT32_MAX;
        /* Same stack state below the label on every path (see top); for
         * `if` this must happen before the jump, below the condition. */
        uint32_t top = op == OP_IF ? t->depth - 1 : t->depth;
        for (uint32_t d = 0; d < top; d++) {
            if (t->stack[d].kind == E_LOCAL || d >= top - np)
                tr_materialize(t, d);
        }
        if (op == OP_IF)
            jump = tr_cond_jump(t, false, &cond_word, &cond_hi);
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
        tr_place_label(t);
        return 0;
    }
    case OP_ELSE: {
        struct ctrl *c = &t->ctrls[t->nctrl - 1];
        if (!c->unreachable) {
            uint32_t n = c->nresults;
            if (moves_needed(t, n, tr_home(t, c->height)))
                emit_moves(t, n, tr_home(t, c->height));
            emit_jump_to(t, c);
        }
        if (c->else_jump >= 0) {
            patch_list(t, c->else_jump, t->ncode);
            c->else_jump = -1;
        }
        c->has_else = true;
        c->unreachable = false;
        reset_stack(t, c->height, c->nparams);
        tr_place_label(t);
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
            if (moves_needed(t, n, tr_home(t, c->height)))
                emit_moves(t, n, tr_home(t, c->height));
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
        tr_place_label(t);
        if (!reachable)
            t->ctrls[t->nctrl - 1].unreachable = true;
        return 0;
    }
    case OP_BR:
        if (reader_u32(r, &x) != 0)
            return tr_fail(t, "unexpected end");
        emit_br(t, x);
        t->ctrls[t->nctrl - 1].unreachable = true;
        return 0;
    case OP_BR_IF: {
        if (reader_u32(r, &x) != 0)
            return tr_fail(t, "unexpected end");
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
            pos = tr_cond_jump(t, true, &word, &hi);
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
            pos = tr_cond_jump(t, false, &word, &hi);
            emit_br(t, x);
            if (pos != UINT32_MAX) {
                int32_t off = (int32_t)(t->ncode - pos);
                if (hi)
                    t->code[word].s32.hi = off;
                else
                    t->code[word].s32.lo = off;
            }
            tr_place_label(t);
        }
        return 0;
    }
    case OP_BR_TABLE: {
        uint32_t n;
        if (reader_u32(r, &n) != 0)
            return tr_fail(t, "unexpected end");
        uint32_t *labels = spry_alloc_array((size_t)n + 1, sizeof *labels);
        if (labels == NULL)
            return SPRY_ENOMEM;
        for (uint64_t k = 0; k <= n; k++) {
            if (reader_u32(r, &labels[k]) != 0) {
                spry_free(labels);
                return tr_fail(t, "unexpected end");
            }
        }
        uint32_t d = t->depth - 1;
        uint32_t idx = tr_operand_slot(t, d);
        tr_pop(t);
        pos = tr_emit(t, IOP_BR_TABLE, 2 + n + 1);
        tr_set_lo(t, pos, 1, idx);
        tr_set_hi(t, pos, 1, n);
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
            tr_place_label(t);
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
            return tr_fail(t, "unexpected end");
        const struct wasm_functype *ft = module_func_type(t->m, x);
        if (op == OP_CALL && call_inline(t, x, ft))
            return 0;
        uint32_t src[CALL_ARGS_MAX];
        if (op == OP_CALL && ft->nparams <= CALL_ARGS_MAX) {
            uint32_t base = t->depth - ft->nparams;
            if (call_arg_sources(t, ft->nparams, src)) {
                pos = emit_call_args(t, IOP_CALL_ARGS, 2, ft->nparams, src);
                tr_set_lo(t, pos, 1, x);
                tr_set_hi(t, pos, 1, tr_home(t, base));
                push_results(t, ft->nresults);
                return 0;
            }
            pos = tr_emit(t, IOP_CALL, 2);
            tr_set_lo(t, pos, 1, x);
            tr_set_hi(t, pos, 1, tr_home(t, base));
            push_results(t, ft->nresults);
            return 0;
        }
        uint32_t base = call_args(t, ft->nparams);
        if (op == OP_RETURN_CALL) {
            pos = tr_emit(t, IOP_RETURN_CALL, 2);
            tr_set_lo(t, pos, 1, x);
            tr_set_hi(t, pos, 1, base);
            t->ctrls[t->nctrl - 1].unreachable = true;
            return 0;
        }
        pos = tr_emit(t, IOP_CALL, 2);
        tr_set_lo(t, pos, 1, x);
        tr_set_hi(t, pos, 1, base);
        push_results(t, ft->nresults);
        return 0;
    }
    case OP_CALL_INDIRECT:
    case OP_RETURN_CALL_INDIRECT: {
        if (reader_u32(r, &y) != 0 || reader_u32(r, &x) != 0)
            return tr_fail(t, "unexpected end");
        const struct wasm_functype *ft = &t->m->types[y];
        uint32_t di = t->depth - 1;
        /* The element index sits above the arguments. */
        uint32_t idx_slot;
        struct entry ie = t->stack[di];
        if (ie.kind == E_LOCAL) {
            idx_slot = ie.local;
        } else {
            tr_materialize(t, di);
            idx_slot = tr_home(t, di);
        }
        tr_pop(t);
        /* The index must survive the argument moves: it lives above them
         * (home slot) or in a local, neither of which the moves write. */
        bool tail = op == OP_RETURN_CALL_INDIRECT;
        uint32_t src[CALL_ARGS_MAX];
        uint32_t base = t->depth - ft->nparams;
        bool listed = !tail && ft->nparams <= CALL_ARGS_MAX;
        if (listed && call_arg_sources(t, ft->nparams, src)) {
            pos = emit_call_args(t, IOP_CALL_INDIRECT_ARGS, 3, ft->nparams, src);
        } else {
            if (!listed)
                call_args(t, ft->nparams);
            pos = tr_emit(t, tail ? IOP_RETURN_CALL_INDIRECT : IOP_CALL_INDIRECT, 3);
        }
        tr_set_lo(t, pos, 1, x);
        tr_set_hi(t, pos, 1, tr_home(t, base));
        tr_set_lo(t, pos, 2, ft->type_id);
        tr_set_hi(t, pos, 2, idx_slot);
        if (tail) {
            t->ctrls[t->nctrl - 1].unreachable = true;
            return 0;
        }
        push_results(t, ft->nresults);
        return 0;
    }

    case OP_DROP:
        tr_pop(t);
        return 0;
    case OP_SELECT:
    case OP_SELECT_T: {
        if (op == OP_SELECT_T) {
            uint32_t n;
            const uint8_t *types;
            if (reader_u32(r, &n) != 0 || reader_bytes(r, n, &types) != 0)
                return tr_fail(t, "unexpected end");
        }
        uint32_t v[3]; /* a, b, condition */
        pop_operands(t, 3, v);
        pos = emit_result(t, IOP_SELECT, 3);
        tr_set_hi(t, pos, 1, v[2]);
        tr_set_lo(t, pos, 2, v[0]);
        tr_set_hi(t, pos, 2, v[1]);
        return 0;
    }

    case OP_LOCAL_GET:
        if (reader_u32(r, &x) != 0)
            return tr_fail(t, "unexpected end");
        tr_push(t, (struct entry){.kind = E_LOCAL, .local = x});
        return 0;
    case OP_LOCAL_SET:
    case OP_LOCAL_TEE:
        if (reader_u32(r, &x) != 0)
            return tr_fail(t, "unexpected end");
        tr_local_set(t, x, op == OP_LOCAL_TEE);
        return 0;
    case OP_GLOBAL_GET: {
        if (reader_u32(r, &x) != 0)
            return tr_fail(t, "unexpected end");
        pos = emit_result(t, IOP_GLOBAL_GET, 2);
        tr_set_hi(t, pos, 1, x);
        return 0;
    }
    case OP_GLOBAL_SET: {
        if (reader_u32(r, &x) != 0)
            return tr_fail(t, "unexpected end");
        emit_global_set(t, x);
        return 0;
    }

    case OP_I32_CONST: {
        int32_t v;
        if (reader_s32(r, &v) != 0)
            return tr_fail(t, "unexpected end");
        tr_push(t, (struct entry){.kind = E_CONST, .value = (uint32_t)v});
        return 0;
    }
    case OP_I64_CONST:
        if (reader_s64(r, &s) != 0)
            return tr_fail(t, "unexpected end");
        tr_push(t, (struct entry){.kind = E_CONST, .value = (uint64_t)s});
        return 0;
    case OP_F32_CONST: {
        uint32_t bits;
        if (reader_fixed32(r, &bits) != 0)
            return tr_fail(t, "unexpected end");
        tr_push(t, (struct entry){.kind = E_CONST, .value = bits});
        return 0;
    }
    case OP_F64_CONST: {
        uint64_t bits;
        if (reader_fixed64(r, &bits) != 0)
            return tr_fail(t, "unexpected end");
        tr_push(t, (struct entry){.kind = E_CONST, .value = bits});
        return 0;
    }
    case OP_REF_NULL: {
        uint8_t rt;
        if (reader_u8(r, &rt) != 0)
            return tr_fail(t, "unexpected end");
        tr_push(t, (struct entry){.kind = E_CONST, .value = 0});
        return 0;
    }
    case OP_REF_IS_NULL: {
        uint32_t a;
        pop_operands(t, 1, &a);
        pos = emit_result(t, IOP_REF_IS_NULL, 2);
        tr_set_hi(t, pos, 1, a);
        return 0;
    }
    case OP_REF_FUNC: {
        if (reader_u32(r, &x) != 0)
            return tr_fail(t, "unexpected end");
        pos = emit_result(t, IOP_REF_FUNC, 2);
        tr_set_hi(t, pos, 1, x);
        return 0;
    }

    case OP_MEMORY_SIZE: {
        uint8_t zero;
        if (reader_u8(r, &zero) != 0)
            return tr_fail(t, "unexpected end");
        emit_result(t, IOP_MEMORY_SIZE, 2);
        return 0;
    }
    case OP_MEMORY_GROW: {
        uint8_t zero;
        if (reader_u8(r, &zero) != 0)
            return tr_fail(t, "unexpected end");
        uint32_t a;
        pop_operands(t, 1, &a);
        pos = emit_result(t, IOP_MEMORY_GROW, 2);
        tr_set_hi(t, pos, 1, a);
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
                return tr_fail(t, "unexpected end");
        } else if (op == OP_MEMORY_COPY) {
            if (reader_bytes(r, 2, &zeros) != 0)
                return tr_fail(t, "unexpected end");
        } else if (reader_u8(r, &zero) != 0) {
            return tr_fail(t, "unexpected end");
        }
        uint32_t v[3];
        pop_operands(t, 3, v);
        pos = tr_emit(t,
                      op == OP_MEMORY_FILL   ? IOP_MEMORY_FILL
                      : op == OP_MEMORY_COPY ? IOP_MEMORY_COPY
                                             : IOP_MEMORY_INIT,
                      3);
        tr_set_lo(t, pos, 1, v[0]);
        tr_set_hi(t, pos, 1, v[1]);
        tr_set_lo(t, pos, 2, v[2]);
        tr_set_hi(t, pos, 2, seg);
        return 0;
    }
    case OP_DATA_DROP:
    case OP_ELEM_DROP:
        if (reader_u32(r, &x) != 0)
            return tr_fail(t, "unexpected end");
        pos = tr_emit(t, op == OP_DATA_DROP ? IOP_DATA_DROP : IOP_ELEM_DROP, 2);
        tr_set_lo(t, pos, 1, x);
        return 0;

    case OP_TABLE_GET: {
        if (reader_u32(r, &x) != 0)
            return tr_fail(t, "unexpected end");
        uint32_t i;
        pop_operands(t, 1, &i);
        pos = emit_result(t, IOP_TABLE_GET, 3);
        tr_set_hi(t, pos, 1, i);
        tr_set_lo(t, pos, 2, x);
        return 0;
    }
    case OP_TABLE_SET: {
        if (reader_u32(r, &x) != 0)
            return tr_fail(t, "unexpected end");
        uint32_t v[2]; /* index, value */
        pop_operands(t, 2, v);
        pos = tr_emit(t, IOP_TABLE_SET, 3);
        tr_set_lo(t, pos, 1, v[0]);
        tr_set_hi(t, pos, 1, v[1]);
        tr_set_lo(t, pos, 2, x);
        return 0;
    }
    case OP_TABLE_SIZE: {
        if (reader_u32(r, &x) != 0)
            return tr_fail(t, "unexpected end");
        pos = emit_result(t, IOP_TABLE_SIZE, 2);
        tr_set_hi(t, pos, 1, x);
        return 0;
    }
    case OP_TABLE_GROW: {
        if (reader_u32(r, &x) != 0)
            return tr_fail(t, "unexpected end");
        uint32_t v[2]; /* initial value, count */
        pop_operands(t, 2, v);
        pos = emit_result(t, IOP_TABLE_GROW, 3);
        tr_set_hi(t, pos, 1, v[0]);
        tr_set_lo(t, pos, 2, v[1]);
        tr_set_hi(t, pos, 2, x);
        return 0;
    }
    case OP_TABLE_FILL: {
        if (reader_u32(r, &x) != 0)
            return tr_fail(t, "unexpected end");
        uint32_t v[3]; /* index, value, count */
        pop_operands(t, 3, v);
        pos = tr_emit(t, IOP_TABLE_FILL, 3);
        tr_set_lo(t, pos, 1, v[0]);
        tr_set_hi(t, pos, 1, v[1]);
        tr_set_lo(t, pos, 2, v[2]);
        tr_set_hi(t, pos, 2, x);
        return 0;
    }
    case OP_TABLE_COPY:
    case OP_TABLE_INIT: {
        /* table.copy dst src; table.init elem table */
        if (reader_u32(r, &x) != 0 || reader_u32(r, &y) != 0)
            return tr_fail(t, "unexpected end");
        uint32_t v[3]; /* destination, source, count */
        pop_operands(t, 3, v);
        pos = tr_emit(t, op == OP_TABLE_COPY ? IOP_TABLE_COPY : IOP_TABLE_INIT, 4);
        tr_set_lo(t, pos, 1, v[0]);
        tr_set_hi(t, pos, 1, v[1]);
        tr_set_lo(t, pos, 2, v[2]);
        if (op == OP_TABLE_COPY) {
            tr_set_hi(t, pos, 2, x); /* destination table */
            tr_set_lo(t, pos, 3, y); /* source table */
        } else {
            tr_set_hi(t, pos, 2, y); /* table */
            tr_set_lo(t, pos, 3, x); /* element segment */
        }
        return 0;
    }
    }
    return tr_fail(t, "unsupported instruction");
}

/* Skips a dead instruction, tracking nesting so the block's own else/end
 * is found. Returns 1 when that else/end was reached (and translated). */
static int skip_dead(struct tr *t, uint32_t op, uint32_t *nesting)
{
    if (op == OP_BLOCK || op == OP_LOOP || op == OP_IF) {
        (*nesting)++;
        return opcode_skip_immediates(&t->r, op) == 0 ? 0 : -1;
    }
    if (op == OP_END && *nesting > 0) {
        (*nesting)--;
        return 0;
    }
    if (op == OP_ELSE && *nesting > 0)
        return 0;
    if (op == OP_END || op == OP_ELSE)
        return 1;
    return opcode_skip_immediates(&t->r, op) == 0 ? 0 : -1;
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
        if (opcode_read(&scan.r, &op) != 0)
            break;
        if (op == OP_I32_CONST || op == OP_I64_CONST || op == OP_F32_CONST || op == OP_F64_CONST)
            n++;
        if (skip_dead(&scan, op, &nesting) < 0)
            break;
    }
    return n;
}

/* Prepends the prologue (ENTER: first,nzero | nconst | value ...) to the
 * code of a function that has constant slots or more locals than a call
 * zeroes (INTERP_ZERO_AHEAD): it zeroes the locals and fills the constant
 * slots right above them, so the values follow with no slot numbers. Jumps
 * are relative, so shifting the body does not disturb them; the source map
 * is shifted with it. */
static void emit_prologue(struct tr *t, uint32_t nparams)
{
    uint32_t nzero = t->nlocals - nparams;
    if (nzero <= INTERP_ZERO_AHEAD && t->nconsts == 0)
        return;
    uint32_t words = 3 + t->nconsts;
    if (!GROW(t, code, ncode, capcode, t->ncode + words))
        return;
    memmove(t->code + words, t->code, t->ncode * sizeof *t->code);
    memset(t->code, 0, words * sizeof *t->code);
    t->code[0].h = t->handlers[IOP_ENTER];
    t->code[1].u32.lo = nparams;
    t->code[1].u32.hi = nzero;
    t->code[2].u32.lo = t->nconsts;
    for (uint32_t i = 0; i < t->nconsts; i++)
        t->code[3 + i].u64 = t->const_values[i];
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

/* The stub of a function the native tier compiled: one NATIVE
 * instruction holding the compiled function. The frame is the native
 * function's: its arguments and results (its locals live in C); it calls
 * at fp + max(nparams, nresults) and checks the stack itself. */
static int native_stub(const struct wasm_functype *ft, native_fn fn, const void *const *handlers,
                       struct interp_code **out, struct spry_report *report)
{
    struct interp_code *code = spry_calloc(1, sizeof *code);
    iword *words = spry_calloc(2, sizeof *words);
    if (code == NULL || words == NULL) {
        spry_free(code);
        spry_free(words);
        return spry_report_set(report, SPRY_ENOMEM, "out of memory");
    }
    words[0].h = handlers[IOP_NATIVE];
    words[1].u64 = (uint64_t)(uintptr_t)fn;
    code->nparams = ft->nparams;
    code->nresults = ft->nresults;
    code->nlocals = ft->nparams;
    code->nslots = ft->nparams + INTERP_ZERO_AHEAD; /* a call zeroes that many */
    if (code->nslots < ft->nresults)
        code->nslots = ft->nresults;
    code->ncode = 2;
    code->code = words;
    *out = code;
    return 0;
}

int translate_func(const struct wasm_module *m, uint32_t func_index, const void *const *handlers,
                   struct interp_code **out, struct spry_report *report)
{
    native_fn nfn = native_func(m->native, func_index);
    if (nfn != NULL)
        return native_stub(&m->types[m->funcs[func_index].type_index], nfn, handlers, out, report);
    const struct wasm_func *f = &m->funcs[func_index];
    const struct wasm_functype *ft = &m->types[f->type_index];
    struct tr t;
    memset(&t, 0, sizeof t);
    t.m = m;
    t.report = report;
    t.handlers = handlers;
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
        if (opcode_read(&t.r, &op) != 0) {
            rc = tr_fail(&t, "unexpected end");
            break;
        }
        if (t.ctrls[t.nctrl - 1].unreachable) {
            int k = skip_dead(&t, op, &nesting);
            if (k < 0) {
                rc = tr_fail(&t, "unexpected end");
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
        emit_prologue(&t, ft->nparams);
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
    code->nslots = tr_home(&t, t.max_depth) + 1;
    if (code->nslots < ft->nresults)
        code->nslots = ft->nresults;
    uint32_t ahead = f->nlocals > INTERP_ZERO_AHEAD ? 2 * INTERP_ZERO_AHEAD : INTERP_ZERO_AHEAD;
    if (code->nslots < ft->nparams + ahead)
        code->nslots = ft->nparams + ahead;
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

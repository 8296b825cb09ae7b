/*
 * libFuzzer harness for the canonical ABI's lifting (src/component/canon*.c,
 * handles.c): a component type built from the input, guest memory and flat
 * values from the rest, in each string encoding. Whatever lifts must lower
 * back (through a realloc written here) and lift again to the same value:
 * that round trip checks the transcoders and layouts against each other.
 * Lifting anything must never crash, leak or read outside memory.
 *
 * Input: [encoding] [type program...] [pointer: 4] [flat slots: 16 x 8]
 * [memory bytes...]. The type program is a prefix code: one byte picks a
 * kind; records, tuples, variants, enums, flags and results read their
 * shape from the next byte. Depth and node count are capped. The encoding
 * byte's top bit caches the type's layouts (layout_cache, as the decoder
 * does), after checking that the cached layouts equal the ones computed
 * from the whole tree.
 */
#include "component/canon.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MEM_SIZE = 65536, HEAP = 0x8000, MAX_NODES = 64, MAX_DEPTH = 6 };

static struct spry_store *store;
static struct spry_memory *memory;
static uint8_t *mem;
static struct spry_func *realloc_fn;
static uint32_t bump;
static struct chost_resource res = {"res", NULL};
static struct canon_rtype rtype = {"res", &res, NULL, NULL};
static const struct canon_rtype *rtypes[1] = {&rtype};

/* Type nodes for one input. */
static struct ctype nodes[MAX_NODES];
static struct ctype_field fields[MAX_NODES * 4];
static struct ctype_case cases[MAX_NODES * 4];
static unsigned nnodes, nfields, ncases;
static const struct ctype_case enum_cases[512]; /* payload-less, unnamed */

struct reader {
    const uint8_t *p;
    size_t n;
};

static uint8_t byte(struct reader *r)
{
    if (r->n == 0)
        return 0;
    r->n--;
    return *r->p++;
}

static const struct ctype *build(struct reader *r, unsigned depth)
{
    if (nnodes == MAX_NODES)
        return NULL;
    struct ctype *t = &nodes[nnodes++];
    memset(t, 0, sizeof *t);
    uint8_t k = byte(r) % CT_KINDS;
    bool leaf = depth >= MAX_DEPTH;
    if (leaf && k >= CT_LIST && k <= CT_RESULT)
        k = CT_U32;
    t->kind = k;
    switch (k) {
    case CT_LIST:
    case CT_OPTION:
        t->u.elem = build(r, depth + 1);
        return t->u.elem != NULL ? t : NULL;
    case CT_RECORD:
    case CT_TUPLE: {
        uint32_t n = 1 + byte(r) % 4;
        if (nfields + n > sizeof fields / sizeof fields[0])
            return NULL;
        struct ctype_field *f = &fields[nfields];
        nfields += n;
        for (uint32_t i = 0; i < n; i++) {
            f[i].name = NULL;
            f[i].type = build(r, depth + 1);
            if (f[i].type == NULL)
                return NULL;
        }
        t->u.record.n = n;
        t->u.record.fields = f;
        return t;
    }
    case CT_VARIANT:
    case CT_ENUM: {
        uint8_t shape = byte(r);
        /* Enums may be large (two-byte discriminants); variants stay small. */
        uint32_t n = k == CT_ENUM ? 1 + shape * 2u : 1 + shape % 4;
        if (k == CT_ENUM) {
            t->u.variant.n = n;
            t->u.variant.cases = enum_cases;
            return t;
        }
        if (ncases + n > sizeof cases / sizeof cases[0])
            return NULL;
        struct ctype_case *c = &cases[ncases];
        ncases += n;
        for (uint32_t i = 0; i < n; i++) {
            c[i].name = NULL;
            c[i].type = NULL;
            if (shape & (0x10u << i)) {
                c[i].type = build(r, depth + 1);
                if (c[i].type == NULL)
                    return NULL;
            }
        }
        t->u.variant.n = n;
        t->u.variant.cases = c;
        return t;
    }
    case CT_RESULT: {
        uint8_t shape = byte(r);
        if (shape & 1)
            t->u.result.ok = build(r, depth + 1);
        if (shape & 2)
            t->u.result.err = build(r, depth + 1);
        if (((shape & 1) && t->u.result.ok == NULL) || ((shape & 2) && t->u.result.err == NULL))
            return NULL;
        return t;
    }
    case CT_FLAGS:
        t->u.flags.n = 1 + byte(r) % 32;
        return t;
    default:
        return t; /* numbers, char, string, own<0>, borrow<0> */
    }
}

static int fuzz_realloc(void *user, struct spry_instance *caller, uint64_t *slots)
{
    (void)user;
    (void)caller;
    uint32_t old = (uint32_t)slots[0], old_size = (uint32_t)slots[1];
    uint32_t align = (uint32_t)slots[2], size = (uint32_t)slots[3];
    if (align == 0 || (align & (align - 1)) != 0)
        return SPRY_ETRAP;
    uint64_t p = ((uint64_t)bump + align - 1) & ~(uint64_t)(align - 1);
    if (p + size > MEM_SIZE) {
        slots[0] = 0xffff0000u; /* out of room: the ABI must reject this */
        return 0;
    }
    uint32_t keep = old_size < size ? old_size : size;
    if (old != 0 && keep > 0 && (uint64_t)old + keep <= MEM_SIZE)
        memmove(mem + p, mem + old, keep);
    bump = (uint32_t)(p + size);
    slots[0] = p;
    return 0;
}

static void setup(void)
{
    if (store != NULL)
        return;
    if (spry_store_create(NULL, &store) != 0)
        abort();
    struct spry_limits lim = {1, 1, true};
    if (spry_memory_new(store, lim, &memory) != 0)
        abort();
    mem = spry_memory_data(memory);
    spry_memory_note_write(memory, 0, spry_memory_size(memory)); /* written by the harness */
    static const uint8_t p[4] = {SPRY_I32, SPRY_I32, SPRY_I32, SPRY_I32};
    struct spry_functype ft = {4, 1, p, p};
    if (spry_func_new_host(store, &ft, fuzz_realloc, NULL, &realloc_fn) != 0)
        abort();
}

static bool same(const struct ctype *t, const struct cval *a, const struct cval *b)
{
    if (a->kind != t->kind || b->kind != t->kind)
        return false;
    switch (t->kind) {
    case CT_BOOL:
        return a->of.b == b->of.b;
    case CT_F32:
        return memcmp(&a->of.f32, &b->of.f32, sizeof a->of.f32) == 0;
    case CT_F64:
        return memcmp(&a->of.f64, &b->of.f64, sizeof a->of.f64) == 0;
    case CT_CHAR:
        return a->of.ch == b->of.ch;
    case CT_STRING:
        return a->of.str.len == b->of.str.len &&
               (a->of.str.len == 0 || memcmp(a->of.str.ptr, b->of.str.ptr, a->of.str.len) == 0);
    case CT_LIST:
        if (ctype_is_number(t->u.elem->kind))
            return a->of.raw.n == b->of.raw.n &&
                   (a->of.raw.n == 0 || memcmp(a->of.raw.ptr, b->of.raw.ptr,
                                               a->of.raw.n * layout_size(t->u.elem)) == 0);
        if (a->of.list.n != b->of.list.n)
            return false;
        for (size_t i = 0; i < a->of.list.n; i++)
            if (!same(t->u.elem, &a->of.list.v[i], &b->of.list.v[i]))
                return false;
        return true;
    case CT_RECORD:
    case CT_TUPLE:
        for (uint32_t i = 0; i < t->u.record.n; i++)
            if (!same(t->u.record.fields[i].type, &a->of.list.v[i], &b->of.list.v[i]))
                return false;
        return true;
    case CT_VARIANT:
    case CT_ENUM:
    case CT_OPTION:
    case CT_RESULT: {
        if (a->of.var.disc != b->of.var.disc)
            return false;
        const struct ctype *p = layout_case_type(t, a->of.var.disc);
        return p == NULL || same(p, a->of.var.payload, b->of.var.payload);
    }
    case CT_FLAGS:
        return a->of.flags == b->of.flags;
    case CT_OWN:
    case CT_BORROW:
        return a->of.rep == b->of.rep;
    default:
        return a->of.u == b->of.u;
    }
}

/* Caches every node's layout, children first (build allocates a node
 * before its children), and checks each against the uncached layout. */
static void cache_all(void)
{
    uint32_t size[MAX_NODES], align[MAX_NODES], nflat[MAX_NODES], payload[MAX_NODES];
    for (unsigned i = 0; i < nnodes; i++) {
        const struct ctype *t = &nodes[i];
        size[i] = layout_size(t);
        align[i] = layout_align(t);
        nflat[i] = layout_flat_count(t);
        payload[i] = layout_is_variant(t) ? layout_payload_offset(t) : 0;
    }
    for (unsigned i = nnodes; i-- > 0;)
        layout_cache(&nodes[i]);
    for (unsigned i = 0; i < nnodes; i++) {
        const struct ctype *t = &nodes[i];
        if (t->align == 0 || layout_size(t) != size[i] || layout_align(t) != align[i] ||
            layout_flat_count(t) != nflat[i] ||
            (layout_is_variant(t) && layout_payload_offset(t) != payload[i]))
            __builtin_trap();
    }
}

/* A fresh instance holding own handles 1..4 (reps 101..104). */
static void fresh_inst(struct canon_inst *inst, struct canon_cx *cx)
{
    canon_inst_init(inst, store, NULL, rtypes, 1, 64);
    for (uint32_t i = 1; i <= 4; i++) {
        struct handle e = {&rtype, 100 + i, 0, true, NULL};
        uint32_t index;
        if (handles_add(cx, &e, &index) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    struct reader r = {data, size};
    uint8_t encoding = byte(&r);
    struct canon_options opts = {.encoding = encoding % 3, .memory = memory, .realloc = realloc_fn};
    nnodes = nfields = ncases = 0;
    const struct ctype *t = build(&r, 0);
    if (t == NULL || layout_check(t, NULL) != 0)
        return 0;
    if (encoding & 0x80)
        cache_all();
    uint32_t ptr = 0;
    for (int i = 0; i < 4; i++)
        ptr |= (uint32_t)byte(&r) << (8 * i);
    uint64_t slots[LAYOUT_MAX_FLAT];
    for (int i = 0; i < LAYOUT_MAX_FLAT; i++) {
        slots[i] = 0;
        for (int b = 0; b < 8; b++)
            slots[i] |= (uint64_t)byte(&r) << (8 * b);
        /* Mostly small values, so pointers and lengths land in memory. */
        if ((slots[i] >> 63) == 0)
            slots[i] &= 0x1ffff;
    }
    memset(mem, 0, MEM_SIZE);
    memcpy(mem, r.p, r.n < HEAP ? r.n : HEAP);
    ptr %= MEM_SIZE + 16;

    struct canon_inst inst;
    struct spry_arena arena;
    struct handles_scope scope;
    struct canon_cx cx;
    spry_arena_init(&arena, 16 << 20);
    memset(&scope, 0, sizeof scope);
    canon_cx_init(&cx, &opts, &inst, &arena, &scope, NULL, true);
    fresh_inst(&inst, &cx);
    bump = HEAP;

    /* In memory: load (copying: the stores below may overwrite the
     * source), store elsewhere, load again (views). */
    struct cval a, b;
    cx.views = false;
    uint32_t at = ptr & ~(layout_align(t) - 1);
    if (canon_check_range(&cx, at, layout_size(t), layout_align(t), "fuzz") == 0 &&
        canon_load(&cx, t, at, &a) == 0) {
        uint32_t dst;
        if (canon_realloc(&cx, 0, 0, layout_align(t), layout_size(t), &dst) == 0 &&
            canon_store(&cx, t, &a, dst) == 0) {
            cx.views = true;
            if (canon_load(&cx, t, dst, &b) != 0 || !same(t, &a, &b))
                __builtin_trap();
        }
    }
    canon_inst_fini(&inst);

    /* Flat: lift, lower, lift again. */
    uint8_t flat[LAYOUT_MAX_FLAT];
    uint32_t nflat = layout_flatten(t, flat);
    spry_report_init(&cx.report);
    memset(&scope, 0, sizeof scope);
    fresh_inst(&inst, &cx);
    bump = HEAP;
    struct canon_flat in = {slots, nflat <= LAYOUT_MAX_FLAT ? nflat : 0, 0};
    cx.views = false;
    if (nflat <= LAYOUT_MAX_FLAT && canon_lift_flat(&cx, t, &in, &a) == 0) {
        uint64_t out[LAYOUT_MAX_FLAT];
        struct canon_flat o = {out, nflat, 0};
        if (canon_lower_flat(&cx, t, &a, &o) == 0) {
            struct canon_flat again = {out, nflat, 0};
            cx.views = true;
            if (o.i != nflat || canon_lift_flat(&cx, t, &again, &b) != 0 || !same(t, &a, &b))
                __builtin_trap();
        }
    }
    canon_inst_fini(&inst);
    spry_arena_fini(&arena);
    return 0;
}

/*
 * The canonical-ABI test guest: world spry:abi/abi (wit/abi.wit), written by
 * hand against the Component Model's canonical ABI (no generated bindings):
 * flattened parameters and results, at most 16 flat parameters (else one
 * pointer to them in memory), at most 1 flat result (else a return pointer:
 * the callee's area for exports, the caller's for imports), cabi_realloc for
 * what the host writes into this memory, cabi_post_* after each export whose
 * results live in memory, resource handles for the exported `accumulator`
 * and the imported `blob`.
 *
 * Built three times (tests/components/abi/build.sh), once per string
 * encoding of the canon options: STRING_ENCODING 0 = utf8, 1 = utf16,
 * 2 = latin1+utf16 ("compact-utf16"). Strings are handled as code points
 * here, so the same source serves all three.
 *
 * Freestanding (wasm32, no libc, no WASI): the component needs nothing from
 * the host but spry:abi/host and `log`. Memory is a bump allocator that never
 * frees. README.md beside this file states what every export returns and what
 * every import is called with.
 *
 * Layouts follow the canonical ABI (CanonicalABI.md, "Element Size and
 * Alignment"); the _Static_asserts pin the C structs to them.
 */
#include <stddef.h>
#include <stdint.h>

#ifndef STRING_ENCODING
#define STRING_ENCODING 0
#endif
#define UTF16_TAG 0x80000000u

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))
#define EXPORT(name)         __attribute__((export_name(name)))
#define HOST                 "spry:abi/host@0.1.0"
#define GUEST                "spry:abi/guest@0.1.0"
#define GUEST_EX             "[export]spry:abi/guest@0.1.0"

/* ---- freestanding support ------------------------------------------------- */

void *memcpy(void *restrict d, const void *restrict s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;
    while (n--)
        *dp++ = *sp++;
    return d;
}

void *memset(void *d, int c, size_t n)
{
    unsigned char *dp = d;
    while (n--)
        *dp++ = (unsigned char)c;
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;
    if (dp < sp)
        while (n--)
            *dp++ = *sp++;
    else
        while (n--)
            dp[n] = sp[n];
    return d;
}

extern unsigned char __heap_base;
static uintptr_t heap_next;

static void *alloc(size_t align, size_t size)
{
    if (heap_next == 0)
        heap_next = (uintptr_t)&__heap_base;
    uintptr_t p = (heap_next + align - 1) & ~(uintptr_t)(align - 1);
    uintptr_t end = p + size;
    uintptr_t have = __builtin_wasm_memory_size(0) * 65536u;
    if (end > have) {
        size_t pages = (end - have + 65535u) / 65536u;
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1)
            __builtin_trap();
    }
    heap_next = end;
    return (void *)p;
}

/* The host allocates here for strings and lists it passes in (export
 * parameters, import results). A size of 0 gets an aligned, in-bounds
 * pointer and takes nothing. Never frees. */
EXPORT("cabi_realloc")
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size)
{
    void *p = alloc(align, new_size);
    if (old != NULL && old_size != 0)
        memcpy(p, old, old_size < new_size ? old_size : new_size);
    return p;
}

/* ---- canonical ABI layouts ------------------------------------------------ */

typedef struct {
    uint32_t ptr, len; /* string: len in code units (utf16: tagged in latin1+utf16) */
} str_t;
typedef struct {
    uint32_t ptr, len; /* list<T>: len in elements */
} list_t;
typedef struct {
    int32_t x, y;
} point_t;
typedef struct {
    str_t name;
    list_t tags;   /* list<string> */
    list_t points; /* list<point> */
} item_t;
typedef struct {
    str_t label;
    list_t items; /* list<item> */
} group_t;
typedef struct {
    uint8_t b;
    int8_t s8;
    uint8_t u8;
    int16_t s16;
    uint16_t u16;
    int32_t s32;
    uint32_t u32;
    int64_t s64;
    uint64_t u64;
    float f32;
    double f64;
    uint32_t c;
} scalars_t;
enum { SHAPE_NONE, SHAPE_CIRCLE, SHAPE_RECT, SHAPE_LABEL, SHAPE_BIG, SHAPE_TINY };
typedef struct {
    uint8_t tag;
    union {
        float circle;
        point_t rect;
        str_t label;
        uint64_t big;
        uint8_t tiny;
    } u;
} shape_t;
typedef struct {
    uint8_t is_some;
    str_t val;
} opt_str_t;
typedef struct {
    uint8_t is_err;
    uint32_t ok;
} res_u32_t; /* result<u32> */
typedef struct {
    uint8_t is_err;
    str_t err;
} res_err_str_t; /* result<_, string> */
typedef struct {
    uint8_t is_err;
    union {
        str_t ok;
        uint8_t err;
    } u;
} res_str_u8_t; /* result<string, u8> */
typedef struct {
    uint8_t a, b;
    uint16_t c;
    int16_t d;
    uint32_t e;
    int32_t f;
    uint64_t g;
    int64_t h;
    float i;
    double j;
    uint32_t k, l, m, n, o, p, q;
} many_t; /* the 17 spilled parameters of sum-many, as a tuple in memory */

_Static_assert(sizeof(item_t) == 24 && sizeof(group_t) == 16, "item, group");
_Static_assert(sizeof(scalars_t) == 56 && offsetof(scalars_t, s16) == 4 &&
                   offsetof(scalars_t, s64) == 16 && offsetof(scalars_t, f32) == 32 &&
                   offsetof(scalars_t, f64) == 40 && offsetof(scalars_t, c) == 48,
               "scalars");
_Static_assert(sizeof(shape_t) == 16 && offsetof(shape_t, u) == 8, "shape");
_Static_assert(sizeof(opt_str_t) == 12 && sizeof(res_u32_t) == 8, "option, result");
_Static_assert(sizeof(res_err_str_t) == 12 && sizeof(res_str_u8_t) == 12, "results");
_Static_assert(sizeof(many_t) == 80 && offsetof(many_t, i) == 32 && offsetof(many_t, k) == 48,
               "many");

/* ---- strings as code points ----------------------------------------------- */

#define MAX_CPS 256
typedef struct {
    uint32_t n;
    uint32_t cp[MAX_CPS];
} cps_t;

/* A UTF-8 C literal into code points (our own literals: valid by construction). */
static void cps_from_utf8(cps_t *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    out->n = 0;
    while (*p && out->n < MAX_CPS) {
        uint32_t c = *p++;
        int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
        c &= more == 3 ? 0x07 : more == 2 ? 0x0f : more == 1 ? 0x1f : 0x7f;
        while (more-- > 0)
            c = (c << 6) | (*p++ & 0x3f);
        out->cp[out->n++] = c;
    }
}

/* A string in this memory, in this build's encoding, into code points. */
static void cps_from_str(cps_t *out, str_t s)
{
    out->n = 0;
#if STRING_ENCODING == 0
    const unsigned char *p = (const unsigned char *)(uintptr_t)s.ptr;
    const unsigned char *end = p + s.len;
    while (p < end && out->n < MAX_CPS) {
        uint32_t c = *p++;
        int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
        c &= more == 3 ? 0x07 : more == 2 ? 0x0f : more == 1 ? 0x1f : 0x7f;
        while (more-- > 0 && p < end)
            c = (c << 6) | (*p++ & 0x3f);
        out->cp[out->n++] = c;
    }
#else
    uint32_t len = s.len;
#if STRING_ENCODING == 2
    if (!(len & UTF16_TAG)) {
        const unsigned char *p = (const unsigned char *)(uintptr_t)s.ptr;
        for (uint32_t i = 0; i < len && out->n < MAX_CPS; i++)
            out->cp[out->n++] = p[i];
        return;
    }
    len &= ~UTF16_TAG;
#endif
    const uint16_t *u = (const uint16_t *)(uintptr_t)s.ptr;
    for (uint32_t i = 0; i < len && out->n < MAX_CPS; i++) {
        uint32_t c = u[i];
        if (c >= 0xd800 && c < 0xdc00 && i + 1 < len)
            c = 0x10000 + ((c - 0xd800) << 10) + (u[++i] - 0xdc00);
        out->cp[out->n++] = c;
    }
#endif
}

/* Code points into a new string in this build's encoding. latin1+utf16 picks
 * latin1 when every code point fits in a byte, else tagged UTF-16. */
static str_t str_from_cps(const cps_t *c)
{
    str_t s;
#if STRING_ENCODING == 0
    unsigned char *p = alloc(1, (size_t)c->n * 4), *q = p;
    for (uint32_t i = 0; i < c->n; i++) {
        uint32_t v = c->cp[i];
        if (v < 0x80) {
            *q++ = (unsigned char)v;
        } else if (v < 0x800) {
            *q++ = (unsigned char)(0xc0 | v >> 6);
            *q++ = (unsigned char)(0x80 | (v & 0x3f));
        } else if (v < 0x10000) {
            *q++ = (unsigned char)(0xe0 | v >> 12);
            *q++ = (unsigned char)(0x80 | ((v >> 6) & 0x3f));
            *q++ = (unsigned char)(0x80 | (v & 0x3f));
        } else {
            *q++ = (unsigned char)(0xf0 | v >> 18);
            *q++ = (unsigned char)(0x80 | ((v >> 12) & 0x3f));
            *q++ = (unsigned char)(0x80 | ((v >> 6) & 0x3f));
            *q++ = (unsigned char)(0x80 | (v & 0x3f));
        }
    }
    s.ptr = (uint32_t)(uintptr_t)p;
    s.len = (uint32_t)(q - p);
#else
#if STRING_ENCODING == 2
    int narrow = 1;
    for (uint32_t i = 0; i < c->n; i++)
        if (c->cp[i] > 0xff)
            narrow = 0;
    if (narrow) {
        unsigned char *p = alloc(2, c->n);
        for (uint32_t i = 0; i < c->n; i++)
            p[i] = (unsigned char)c->cp[i];
        s.ptr = (uint32_t)(uintptr_t)p;
        s.len = c->n;
        return s;
    }
#endif
    uint16_t *p = alloc(2, (size_t)c->n * 4), *q = p;
    for (uint32_t i = 0; i < c->n; i++) {
        uint32_t v = c->cp[i];
        if (v >= 0x10000) {
            *q++ = (uint16_t)(0xd800 + ((v - 0x10000) >> 10));
            *q++ = (uint16_t)(0xdc00 + ((v - 0x10000) & 0x3ff));
        } else {
            *q++ = (uint16_t)v;
        }
    }
    s.ptr = (uint32_t)(uintptr_t)p;
    s.len = (uint32_t)(q - p);
#if STRING_ENCODING == 2
    s.len |= UTF16_TAG;
#endif
#endif
    return s;
}

static str_t str_lit(const char *utf8)
{
    static cps_t c;
    cps_from_utf8(&c, utf8);
    return str_from_cps(&c);
}

static int cps_eq(const cps_t *a, const cps_t *b)
{
    if (a->n != b->n)
        return 0;
    for (uint32_t i = 0; i < a->n; i++)
        if (a->cp[i] != b->cp[i])
            return 0;
    return 1;
}

static int str_eq(str_t s, const char *utf8)
{
    static cps_t a, b;
    cps_from_str(&a, s);
    cps_from_utf8(&b, utf8);
    return cps_eq(&a, &b);
}

static int str_eq_str(str_t s, str_t t)
{
    static cps_t a, b;
    cps_from_str(&a, s);
    cps_from_str(&b, t);
    return cps_eq(&a, &b);
}

static str_t str_copy(str_t s)
{
    static cps_t c;
    cps_from_str(&c, s);
    return str_from_cps(&c);
}

static str_t str_decimal(int64_t v)
{
    char buf[24], *p = buf + sizeof buf;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    *--p = 0;
    do
        *--p = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0)
        *--p = '-';
    return str_lit(p);
}

static list_t list_new(uint32_t n, size_t elem_size, size_t align)
{
    list_t l = {(uint32_t)(uintptr_t)alloc(align, n * elem_size), n};
    return l;
}
#define AT(list, type) ((type *)(uintptr_t)(list).ptr)

/* Deep copies, for the echo exports (so that results are ours, not the
 * host's parameter memory handed back). */
static list_t strings_copy(list_t l)
{
    list_t r = list_new(l.len, sizeof(str_t), 4);
    for (uint32_t i = 0; i < l.len; i++)
        AT(r, str_t)[i] = str_copy(AT(l, str_t)[i]);
    return r;
}

static group_t group_copy(const group_t *g)
{
    group_t r;
    r.label = str_copy(g->label);
    r.items = list_new(g->items.len, sizeof(item_t), 4);
    for (uint32_t i = 0; i < g->items.len; i++) {
        const item_t *it = &AT(g->items, item_t)[i];
        item_t *o = &AT(r.items, item_t)[i];
        o->name = str_copy(it->name);
        o->tags = strings_copy(it->tags);
        o->points = list_new(it->points.len, sizeof(point_t), 4);
        memcpy(AT(o->points, point_t), AT(it->points, point_t), it->points.len * sizeof(point_t));
    }
    return r;
}

static int strings_eq(list_t a, list_t b)
{
    if (a.len != b.len)
        return 0;
    for (uint32_t i = 0; i < a.len; i++)
        if (!str_eq_str(AT(a, str_t)[i], AT(b, str_t)[i]))
            return 0;
    return 1;
}

static int group_eq(const group_t *a, const group_t *b)
{
    if (!str_eq_str(a->label, b->label) || a->items.len != b->items.len)
        return 0;
    for (uint32_t i = 0; i < a->items.len; i++) {
        const item_t *x = &AT(a->items, item_t)[i], *y = &AT(b->items, item_t)[i];
        if (!str_eq_str(x->name, y->name) || !strings_eq(x->tags, y->tags) ||
            x->points.len != y->points.len)
            return 0;
        for (uint32_t j = 0; j < x->points.len; j++)
            if (AT(x->points, point_t)[j].x != AT(y->points, point_t)[j].x ||
                AT(x->points, point_t)[j].y != AT(y->points, point_t)[j].y)
                return 0;
    }
    return 1;
}

/* ---- post-return ------------------------------------------------------------ */

/* Every export whose results live in memory has a cabi_post_ function; they
 * count their calls (post-returns() reports the count). */
static uint32_t post_return_calls;
/* A table of definitions (one exported function per line below). */
#define CAT2(a, b) a##b
#define CAT(a, b)  CAT2(a, b)
#define POST_RETURN(name)                                                       \
    EXPORT("cabi_post_" name) void CAT(post_return_, __LINE__)(uint32_t retptr) \
    {                                                                           \
        (void)retptr;                                                           \
        post_return_calls++;                                                    \
    }

#ifndef ABI_EXPORTS_ONLY
POST_RETURN("run")
#endif
POST_RETURN(GUEST "#echo-scalars")
POST_RETURN(GUEST "#echo-strings")
POST_RETURN(GUEST "#reverse-bytes")
POST_RETURN(GUEST "#echo-group")
POST_RETURN(GUEST "#make-group")
POST_RETURN(GUEST "#flip-flags")
POST_RETURN(GUEST "#maybe-double")
POST_RETURN(GUEST "#maybe-len")
POST_RETURN(GUEST "#check-ok")
POST_RETURN(GUEST "#check-err")
POST_RETURN(GUEST "#check-both")
POST_RETURN(GUEST "#transform")
POST_RETURN(GUEST "#swap-tuple")

EXPORT(GUEST "#post-returns") uint32_t guest_post_returns(void)
{
    return post_return_calls;
}

/* ---- the exported resource `accumulator` ------------------------------------ */

IMPORT(GUEST_EX, "[resource-new]accumulator") uint32_t accumulator_new(uint32_t rep);
IMPORT(GUEST_EX, "[resource-rep]accumulator") uint32_t accumulator_rep(uint32_t handle);
IMPORT(GUEST_EX, "[resource-drop]accumulator") void accumulator_drop(uint32_t handle);

typedef struct {
    int64_t total;
    uint32_t live; /* 1 until the destructor ran */
} accumulator_t;
static uint32_t live_accumulators;

static uint32_t accumulator_make(int64_t start)
{
    accumulator_t *a = alloc(8, sizeof *a);
    a->total = start;
    a->live = 1;
    live_accumulators++;
    return accumulator_new((uint32_t)(uintptr_t)a);
}

/* The rep of a borrow<accumulator> passed to this component is the pointer
 * itself (the canonical ABI lowers a borrow of a resource into the component
 * that implements it as its representation, not a handle). */
static accumulator_t *acc(uint32_t rep)
{
    accumulator_t *a = (accumulator_t *)(uintptr_t)rep;
    if (!a->live)
        __builtin_trap();
    return a;
}

EXPORT(GUEST "#[constructor]accumulator") uint32_t guest_acc_new(int64_t start)
{
    return accumulator_make(start);
}

EXPORT(GUEST "#[method]accumulator.add") void guest_acc_add(uint32_t self, int64_t x)
{
    acc(self)->total += x;
}

EXPORT(GUEST "#[method]accumulator.total") int64_t guest_acc_total(uint32_t self)
{
    return acc(self)->total;
}

EXPORT(GUEST "#[static]accumulator.merge") uint32_t guest_acc_merge(uint32_t a, uint32_t b)
{
    return accumulator_make(acc(a)->total + acc(b)->total);
}

EXPORT(GUEST "#[dtor]accumulator") void guest_acc_dtor(uint32_t rep)
{
    acc(rep)->live = 0;
    live_accumulators--;
}

/* own<accumulator>: a handle in this component's table; its rep, then drop
 * it (which runs the destructor above). */
EXPORT(GUEST "#take-accumulator") int64_t guest_take_accumulator(uint32_t handle)
{
    int64_t t = acc(accumulator_rep(handle))->total;
    accumulator_drop(handle);
    return t;
}

EXPORT(GUEST "#live-accumulators") uint32_t guest_live_accumulators(void)
{
    return live_accumulators;
}

/* ---- exports: scalars and spilled parameters --------------------------------- */

static scalars_t ret_scalars;

EXPORT(GUEST "#echo-scalars")
scalars_t *guest_echo_scalars(uint32_t b, uint32_t s8, uint32_t u8, uint32_t s16, uint32_t u16,
                              uint32_t s32, uint32_t u32, int64_t s64, int64_t u64, float f32,
                              double f64, uint32_t c)
{
    /* Flat i32s carry the value in their low bits (lifting takes them). */
    ret_scalars.b = !(b & 1);
    ret_scalars.s8 = (int8_t)(uint8_t)((int8_t)s8 + 1);
    ret_scalars.u8 = (uint8_t)(u8 + 1);
    ret_scalars.s16 = (int16_t)(uint16_t)((int16_t)s16 + 1);
    ret_scalars.u16 = (uint16_t)(u16 + 1);
    ret_scalars.s32 = (int32_t)((uint32_t)s32 + 1u);
    ret_scalars.u32 = u32 + 1u;
    ret_scalars.s64 = (int64_t)((uint64_t)s64 + 1u);
    ret_scalars.u64 = (uint64_t)u64 + 1u;
    ret_scalars.f32 = -f32;
    ret_scalars.f64 = -f64;
    ret_scalars.c = c;
    return &ret_scalars;
}

static double many_sum(const many_t *m)
{
    return (double)m->a + (double)(int8_t)m->b + (double)m->c + (double)m->d + (double)m->e +
           (double)m->f + (double)m->g + (double)m->h + (double)m->i + m->j + (double)m->k +
           (double)m->l + (double)m->m + (double)m->n + (double)m->o + (double)m->p + (double)m->q;
}

/* 17 flat parameters > 16: one pointer to them, stored by the host in memory
 * it got from cabi_realloc (align 8, size 80). */
EXPORT(GUEST "#sum-many") double guest_sum_many(const many_t *m)
{
    return many_sum(m);
}

/* ---- exports: strings and lists ------------------------------------------------ */

static struct {
    str_t s;
    uint32_t count;
    list_t l;
} ret_strings;
_Static_assert(sizeof ret_strings == 20, "tuple<string, u32, list<string>>");

EXPORT(GUEST "#echo-strings")
void *guest_echo_strings(uint32_t sp, uint32_t sl, uint32_t lp, uint32_t ll)
{
    static cps_t c;
    str_t s = {sp, sl};
    list_t l = {lp, ll};
    cps_from_str(&c, s);
    ret_strings.count = c.n;
    c.cp[c.n++] = '!';
    ret_strings.s = str_from_cps(&c);
    ret_strings.l = list_new(l.len, sizeof(str_t), 4);
    for (uint32_t i = 0; i < l.len; i++)
        AT(ret_strings.l, str_t)[i] = str_copy(AT(l, str_t)[l.len - 1 - i]);
    return &ret_strings;
}

static list_t ret_list;

EXPORT(GUEST "#reverse-bytes") list_t *guest_reverse_bytes(uint32_t p, uint32_t n)
{
    const uint8_t *in = (const uint8_t *)(uintptr_t)p;
    ret_list = list_new(n, 1, 1);
    for (uint32_t i = 0; i < n; i++)
        AT(ret_list, uint8_t)[i] = in[n - 1 - i];
    return &ret_list;
}

static group_t ret_group;

EXPORT(GUEST "#echo-group")
group_t *guest_echo_group(uint32_t lp, uint32_t ll, uint32_t ip, uint32_t il)
{
    group_t g = {{lp, ll}, {ip, il}};
    ret_group = group_copy(&g);
    return &ret_group;
}

/* group{label "g<n>", items [item{name "item<i>", tags ["t0".."t<i-1>"],
 * points [{i, 0}, {i, -1} .. {i, -(i-1)}]} for i in 0..n]}. */
EXPORT(GUEST "#make-group") group_t *guest_make_group(uint32_t n)
{
    static cps_t c;
    ret_group.label = str_decimal(n);
    cps_from_str(&c, ret_group.label);
    memmove(&c.cp[1], &c.cp[0], c.n * sizeof c.cp[0]);
    c.cp[0] = 'g';
    c.n++;
    ret_group.label = str_from_cps(&c);
    ret_group.items = list_new(n, sizeof(item_t), 4);
    for (uint32_t i = 0; i < n; i++) {
        item_t *it = &AT(ret_group.items, item_t)[i];
        cps_from_utf8(&c, "item");
        str_t num = str_decimal(i);
        static cps_t d;
        cps_from_str(&d, num);
        for (uint32_t k = 0; k < d.n; k++)
            c.cp[c.n++] = d.cp[k];
        it->name = str_from_cps(&c);
        it->tags = list_new(i, sizeof(str_t), 4);
        for (uint32_t t = 0; t < i; t++) {
            cps_from_str(&d, str_decimal(t));
            memmove(&d.cp[1], &d.cp[0], d.n * sizeof d.cp[0]);
            d.cp[0] = 't';
            d.n++;
            AT(it->tags, str_t)[t] = str_from_cps(&d);
        }
        it->points = list_new(i, sizeof(point_t), 4);
        for (uint32_t j = 0; j < i; j++) {
            AT(it->points, point_t)[j].x = (int32_t)i;
            AT(it->points, point_t)[j].y = -(int32_t)j;
        }
    }
    return &ret_group;
}

/* ---- exports: flags, enum, option, result, variant, tuple ---------------------- */

static struct {
    uint8_t small;
    uint32_t big;
} ret_flags;

EXPORT(GUEST "#flip-flags") void *guest_flip_flags(uint32_t small, uint32_t big)
{
    ret_flags.small = (uint8_t)(~small & 0x7);
    ret_flags.big = ~big;
    return &ret_flags;
}

EXPORT(GUEST "#next-color") uint32_t guest_next_color(uint32_t c)
{
    return (c + 1) % 3;
}

static struct {
    uint8_t is_some;
    uint64_t val;
} ret_opt_u64;

EXPORT(GUEST "#maybe-double") void *guest_maybe_double(uint32_t is_some, uint32_t x)
{
    ret_opt_u64.is_some = (uint8_t)is_some;
    ret_opt_u64.val = is_some ? (uint64_t)x * 2 : 0;
    return &ret_opt_u64;
}

static struct {
    uint8_t is_some;
    uint32_t val;
} ret_opt_u32;

/* The length in code points (not code units, not bytes). */
EXPORT(GUEST "#maybe-len") void *guest_maybe_len(uint32_t is_some, uint32_t p, uint32_t n)
{
    static cps_t c;
    ret_opt_u32.is_some = (uint8_t)is_some;
    ret_opt_u32.val = 0;
    if (is_some) {
        str_t s = {p, n};
        cps_from_str(&c, s);
        ret_opt_u32.val = c.n;
    }
    return &ret_opt_u32;
}

static res_u32_t ret_res_u32;

EXPORT(GUEST "#check-ok") res_u32_t *guest_check_ok(uint32_t x)
{
    ret_res_u32.is_err = x & 1;
    ret_res_u32.ok = x & 1 ? 0 : x + 1;
    return &ret_res_u32;
}

static res_err_str_t ret_res_err;

/* err("odd <x>") for odd x. */
EXPORT(GUEST "#check-err") res_err_str_t *guest_check_err(uint32_t x)
{
    static cps_t c, d;
    ret_res_err.is_err = x & 1;
    ret_res_err.err.ptr = ret_res_err.err.len = 0;
    if (x & 1) {
        cps_from_utf8(&c, "odd ");
        cps_from_str(&d, str_decimal(x));
        for (uint32_t k = 0; k < d.n; k++)
            c.cp[c.n++] = d.cp[k];
        ret_res_err.err = str_from_cps(&c);
    }
    return &ret_res_err;
}

static res_str_u8_t ret_res_str_u8;

EXPORT(GUEST "#check-both") res_str_u8_t *guest_check_both(int32_t x)
{
    ret_res_str_u8.is_err = x < 0;
    if (x < 0)
        ret_res_str_u8.u.err = (uint8_t)(0u - (uint32_t)x);
    else
        ret_res_str_u8.u.ok = str_decimal(x);
    return &ret_res_str_u8;
}

/* result (no payloads): one flat i32, returned directly. */
EXPORT(GUEST "#check-neither") uint32_t guest_check_neither(uint32_t x)
{
    return (x & 1) ? 0 : 1;
}

static shape_t ret_shape;

static float f32_from_bits(uint32_t u)
{
    union {
        uint32_t u;
        float f;
    } v = {u};
    return v.f;
}

/* Flat shape: (i32 tag, i64 joined payload, i32 second payload word). */
EXPORT(GUEST "#transform") shape_t *guest_transform(uint32_t tag, int64_t p0, uint32_t p1)
{
    static cps_t c;
    ret_shape.tag = (uint8_t)tag;
    switch (tag) {
    case SHAPE_NONE:
        break;
    case SHAPE_CIRCLE: /* f32 joined with i64: its bits in the low 32 */
        ret_shape.u.circle = f32_from_bits((uint32_t)p0) * 2.0f;
        break;
    case SHAPE_RECT:
        ret_shape.u.rect.x = (int32_t)p1;
        ret_shape.u.rect.y = (int32_t)(uint32_t)p0;
        break;
    case SHAPE_LABEL: {
        str_t s = {(uint32_t)p0, p1};
        cps_from_str(&c, s);
        c.cp[c.n++] = '?';
        ret_shape.u.label = str_from_cps(&c);
        break;
    }
    case SHAPE_BIG:
        ret_shape.u.big = (uint64_t)p0 + 1;
        break;
    case SHAPE_TINY: /* tiny(x) becomes big(x * 1000) */
        ret_shape.tag = SHAPE_BIG;
        ret_shape.u.big = (uint64_t)(uint8_t)p0 * 1000;
        break;
    default: /* lifting traps on a bad discriminant before we run */
        __builtin_trap();
    }
    return &ret_shape;
}

static struct {
    double f;
    str_t s;
    uint8_t u;
} ret_swap;
_Static_assert(sizeof ret_swap == 24, "tuple<f64, string, u8>");

EXPORT(GUEST "#swap-tuple") void *guest_swap_tuple(uint32_t u, uint32_t sp, uint32_t sl, double f)
{
    str_t s = {sp, sl};
    ret_swap.f = f;
    ret_swap.s = str_copy(s);
    ret_swap.u = (uint8_t)u;
    return &ret_swap;
}

/* ABI_EXPORTS_ONLY builds the guest interface alone, for the world
 * `exports` of wit-exports/ (no imports; `spry run --invoke` tests). */
#ifndef ABI_EXPORTS_ONLY

/* ---- imports -------------------------------------------------------------------- */

IMPORT("$root", "log") void host_log(uint32_t ptr, uint32_t len);

IMPORT(HOST, "[constructor]blob") uint32_t blob_new(uint32_t ptr, uint32_t len);
IMPORT(HOST, "[method]blob.write") void blob_write(uint32_t self, uint32_t ptr, uint32_t len);
IMPORT(HOST, "[method]blob.read") void blob_read(uint32_t self, uint32_t n, list_t *ret);
IMPORT(HOST, "[method]blob.size") uint32_t blob_size(uint32_t self);
IMPORT(HOST, "[static]blob.merge") uint32_t blob_merge(uint32_t a, uint32_t b);
IMPORT(HOST, "[resource-drop]blob") void blob_drop(uint32_t handle);
IMPORT(HOST, "consume") uint32_t host_consume(uint32_t handle);

IMPORT(HOST, "host-scalars")
void host_scalars(uint32_t b, uint32_t s8, uint32_t u8, uint32_t s16, uint32_t u16, uint32_t s32,
                  uint32_t u32, int64_t s64, int64_t u64, float f32, double f64, uint32_t c,
                  scalars_t *ret);
IMPORT(HOST, "host-sum-many") double host_sum_many(const many_t *args);
IMPORT(HOST, "host-strings")
void host_strings(uint32_t sp, uint32_t sl, uint32_t lp, uint32_t ll, list_t *ret);
IMPORT(HOST, "host-group")
void host_group(uint32_t lp, uint32_t ll, uint32_t ip, uint32_t il, group_t *ret);

typedef struct {
    shape_t shape;
    uint8_t color;
    uint32_t big;
    opt_str_t opt;
} variants_t;
_Static_assert(sizeof(variants_t) == 40 && offsetof(variants_t, big) == 20 &&
                   offsetof(variants_t, opt) == 24,
               "tuple<shape, color, big, option<string>>");
IMPORT(HOST, "host-variants")
void host_variants(uint32_t tag, int64_t p0, uint32_t p1, uint32_t color, uint32_t big,
                   uint32_t opt_some, uint32_t opt_ptr, uint32_t opt_len, variants_t *ret);

typedef struct {
    res_u32_t a;
    res_err_str_t b;
    res_str_u8_t c;
    uint8_t d; /* result: 0 ok, 1 err */
} results_t;
_Static_assert(sizeof(results_t) == 36 && offsetof(results_t, b) == 8 &&
                   offsetof(results_t, c) == 20 && offsetof(results_t, d) == 32,
               "tuple<result<u32>, result<_, string>, result<string, u8>, result>");
IMPORT(HOST, "host-results")
void host_results(uint32_t a_err, uint32_t a_ok, uint32_t b_err, uint32_t b_ptr, uint32_t b_len,
                  uint32_t c_err, uint32_t c_p0, uint32_t c_p1, uint32_t d_err, results_t *ret);

/* ---- run: every import, checked ---------------------------------------------------- */

static void log_msg(const char *utf8)
{
    str_t s = str_lit(utf8);
    host_log(s.ptr, s.len);
}

static const char *failed; /* the first check that failed */

static void check(const char *name, int ok)
{
    if (!failed && !ok)
        failed = name;
}

static uint32_t f32_bits(float f)
{
    union {
        float f;
        uint32_t u;
    } v = {f};
    return v.u;
}

/* The flat form of a shape (what transform takes). */
static void shape_flat(const shape_t *s, uint32_t *tag, int64_t *p0, uint32_t *p1)
{
    *tag = s->tag;
    *p0 = 0;
    *p1 = 0;
    switch (s->tag) {
    case SHAPE_CIRCLE:
        *p0 = (int64_t)f32_bits(s->u.circle);
        break;
    case SHAPE_RECT:
        *p0 = (int64_t)(uint32_t)s->u.rect.x;
        *p1 = (uint32_t)s->u.rect.y;
        break;
    case SHAPE_LABEL:
        *p0 = (int64_t)s->u.label.ptr;
        *p1 = s->u.label.len;
        break;
    case SHAPE_BIG:
        *p0 = (int64_t)s->u.big;
        break;
    case SHAPE_TINY:
        *p0 = s->u.tiny;
        break;
    }
}

static int shape_eq(const shape_t *a, const shape_t *b)
{
    if (a->tag != b->tag)
        return 0;
    switch (a->tag) {
    case SHAPE_CIRCLE:
        return f32_bits(a->u.circle) == f32_bits(b->u.circle);
    case SHAPE_RECT:
        return a->u.rect.x == b->u.rect.x && a->u.rect.y == b->u.rect.y;
    case SHAPE_LABEL:
        return str_eq_str(a->u.label, b->u.label);
    case SHAPE_BIG:
        return a->u.big == b->u.big;
    case SHAPE_TINY:
        return a->u.tiny == b->u.tiny;
    default:
        return 1;
    }
}

static int bytes_eq(list_t l, const uint8_t *want, uint32_t n)
{
    if (l.len != n)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        if (AT(l, uint8_t)[i] != want[i])
            return 0;
    return 1;
}

static list_t strings_of(const char *const *v, uint32_t n)
{
    list_t l = list_new(n, sizeof(str_t), 4);
    for (uint32_t i = 0; i < n; i++)
        AT(l, str_t)[i] = str_lit(v[i]);
    return l;
}

static void check_scalars(void)
{
    static scalars_t r;
    memset(&r, 0xaa, sizeof r);
    host_scalars(1, (uint32_t)-128, 255, (uint32_t)-32768, 65535, (uint32_t)INT32_MIN, UINT32_MAX,
                 INT64_MIN, (int64_t)UINT64_MAX, 1.5f, -0.25, 0x1F600, &r);
    check("host-scalars", r.b == 1 && r.s8 == -128 && r.u8 == 255 && r.s16 == -32768 &&
                              r.u16 == 65535 && r.s32 == INT32_MIN && r.u32 == UINT32_MAX &&
                              r.s64 == INT64_MIN && r.u64 == UINT64_MAX && r.f32 == 1.5f &&
                              r.f64 == -0.25 && r.c == 0x1F600);
}

static void check_sum_many(void)
{
    static many_t m = {1, (uint8_t)-2, 3, -4, 5, -6, 7, -8, 0.5f, 0.25, 10, 11, 12, 13, 14, 15, 16};
    check("host-sum-many", host_sum_many(&m) == 87.75);
}

static const char *const strs[] = {"", "a", "h\u00e9llo", "\u65e5\u672c\u8a9e", "\U0001F600"};
#define BIG_STR "h\u00e9llo w\u00f6rld \u2603 \U0001F600"

static void check_strings(void)
{
    static list_t r;
    str_t s = str_lit(BIG_STR);
    list_t l = strings_of(strs, 5);
    host_strings(s.ptr, s.len, l.ptr, l.len, &r);
    int ok = r.len == 6 && str_eq(AT(r, str_t)[0], BIG_STR);
    for (uint32_t i = 0; ok && i < 5; i++)
        ok = str_eq(AT(r, str_t)[i + 1], strs[i]);
    check("host-strings", ok);
}

static group_t the_group(void)
{
    static const char *const tags0[] = {"x", "y"};
    static const char *const tags2[] = {"\U0001F600"};
    group_t g;
    g.label = str_lit("outer");
    g.items = list_new(3, sizeof(item_t), 4);
    item_t *it = AT(g.items, item_t);
    it[0].name = str_lit("first");
    it[0].tags = strings_of(tags0, 2);
    it[0].points = list_new(2, sizeof(point_t), 4);
    AT(it[0].points, point_t)[0] = (point_t){1, 2};
    AT(it[0].points, point_t)[1] = (point_t){-3, 4};
    it[1].name = str_lit("");
    it[1].tags = list_new(0, sizeof(str_t), 4);
    it[1].points = list_new(0, sizeof(point_t), 4);
    it[2].name = str_lit("third \u2603");
    it[2].tags = strings_of(tags2, 1);
    it[2].points = list_new(1, sizeof(point_t), 4);
    AT(it[2].points, point_t)[0] = (point_t){INT32_MAX, INT32_MIN};
    return g;
}

static void check_group(void)
{
    static group_t r;
    group_t g = the_group();
    host_group(g.label.ptr, g.label.len, g.items.ptr, g.items.len, &r);
    check("host-group", group_eq(&g, &r));
}

static void check_variants(void)
{
    static const uint32_t bigs[] = {0, 0xffffffffu, 0x80000001u, 0x12345678u, 1, 0x7fffffffu};
    for (uint32_t i = 0; i < 6; i++) {
        static variants_t r;
        shape_t s = {.tag = (uint8_t)i};
        opt_str_t o = {0, {0, 0}};
        switch (i) {
        case SHAPE_CIRCLE:
            s.u.circle = 1.5f;
            break;
        case SHAPE_RECT:
            s.u.rect = (point_t){-1, 2};
            break;
        case SHAPE_LABEL:
            s.u.label = str_lit("\u00df\u2603");
            break;
        case SHAPE_BIG:
            s.u.big = UINT64_MAX;
            break;
        case SHAPE_TINY:
            s.u.tiny = 200;
            break;
        }
        if (i % 3 == 1)
            o = (opt_str_t){1, str_lit("")};
        else if (i % 3 == 2)
            o = (opt_str_t){1, str_lit("\U0001F600")};
        uint32_t tag, p1;
        int64_t p0;
        shape_flat(&s, &tag, &p0, &p1);
        memset(&r, 0xaa, sizeof r);
        host_variants(tag, p0, p1, i % 3, bigs[i], o.is_some, o.val.ptr, o.val.len, &r);
        check("host-variants", shape_eq(&s, &r.shape) && r.color == i % 3 && r.big == bigs[i] &&
                                   r.opt.is_some == o.is_some &&
                                   (!o.is_some || str_eq_str(o.val, r.opt.val)));
    }
}

static void check_results(void)
{
    static results_t r;
    str_t fine = str_lit("fine");
    memset(&r, 0xaa, sizeof r);
    host_results(0, 7, 0, 0, 0, 0, fine.ptr, fine.len, 0, &r);
    check("host-results ok", !r.a.is_err && r.a.ok == 7 && !r.b.is_err && !r.c.is_err &&
                                 str_eq(r.c.u.ok, "fine") && r.d == 0);
    str_t bad = str_lit("bad \u2603");
    memset(&r, 0xaa, sizeof r);
    host_results(1, 0, 1, bad.ptr, bad.len, 1, 42, 0, 1, &r);
    check("host-results err", r.a.is_err && r.b.is_err && str_eq(r.b.err, "bad \u2603") &&
                                  r.c.is_err && r.c.u.err == 42 && r.d == 1);
}

static void check_blobs(void)
{
    static const uint8_t init[] = {1, 2, 3}, more[] = {4, 5}, nine[] = {9};
    static const uint8_t want4[] = {1, 2, 3, 4}, want5[] = {1, 2, 3, 4, 5};
    static list_t r;
    uint8_t *buf = alloc(1, 3);
    memcpy(buf, init, 3);
    uint32_t b1 = blob_new((uint32_t)(uintptr_t)buf, 3);
    buf = alloc(1, 2);
    memcpy(buf, more, 2);
    blob_write(b1, (uint32_t)(uintptr_t)buf, 2);
    check("blob.size after write", blob_size(b1) == 5);
    blob_read(b1, 4, &r);
    check("blob.read 4", bytes_eq(r, want4, 4));
    blob_read(b1, 100, &r);
    check("blob.read 100", bytes_eq(r, want5, 5));
    uint32_t b2 = blob_new(0, 0);
    check("blob.size empty", blob_size(b2) == 0);
    uint32_t b3 = blob_merge(b1, b2);
    check("blob.merge", blob_size(b3) == 5);
    check("consume merged", host_consume(b3) == 5);
    blob_drop(b2);
    buf = alloc(1, 1);
    memcpy(buf, nine, 1);
    uint32_t b4 = blob_new((uint32_t)(uintptr_t)buf, 1);
    check("consume one byte", host_consume(b4) == 1);
    check("blob.size kept", blob_size(b1) == 5);
    blob_drop(b1);
}

static res_err_str_t ret_run;

EXPORT("run") res_err_str_t *guest_run(void)
{
    failed = 0;
    log_msg("run: start");
    check_scalars();
    check_sum_many();
    check_strings();
    check_group();
    check_variants();
    check_results();
    check_blobs();
    ret_run.is_err = failed != 0;
    ret_run.err.ptr = ret_run.err.len = 0;
    if (failed) {
        ret_run.err = str_lit(failed);
        log_msg("run: failed");
    } else {
        log_msg("run: done");
    }
    return &ret_run;
}

#endif /* ABI_EXPORTS_ONLY */

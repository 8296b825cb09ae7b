/*
 * Lowering: struct cval to guest values (in linear memory, or flat core
 * values). CanonicalABI.md: store, store_list_into_range, store_variant,
 * lower_flat, lower_flat_variant, lower_flat_values.
 *
 * The values come from the host, which is trusted but checked anyway: a
 * value whose kind differs from its type, a discriminant past the cases, a
 * missing payload, a record with the wrong number of fields, an invalid
 * char or string traps the guest instead of reaching memory. Integers are
 * taken modulo their type's width. Floats are stored as their bits: the
 * spec lets a lowered NaN have any payload.
 */
#include "component/canon.h"

#include "base/alloc.h"
#include "base/assert.h"
#include "wasm/runtime.h"

#include <string.h>

/* Guest memory, about to receive len bytes at ptr (a range already
 * checked): marked written, as every host write must be
 * (spry_memory_data). A value is marked once, as a whole, before its parts
 * are stored (store_val, below, writes without marking): marking bytes that
 * a trap then leaves unwritten only makes the pool reset a little more. */
static __attribute__((noinline)) void note_wide(struct spry_memory *mem, uint64_t ptr, uint64_t len)
{
    spry_memory_note_write(mem, ptr, len);
}

static inline uint8_t *mem_out(struct canon_cx *cx, uint64_t ptr, uint64_t len)
{
    /* spry_memory_note_write and spry_memory_data, inline (the engine's
     * runtime.h) for a value within one written granule, as nearly every
     * stored value is; longer ones out of line, so that the storing
     * functions need no frame. */
    struct spry_memory *mem = cx->opts->memory;
    if (len != 0 && ptr < mem->size && len <= mem->size - ptr &&
        ptr >> WRITTEN_SHIFT == (ptr + len - 1) >> WRITTEN_SHIFT)
        memory_note_write(mem, ptr, len); /* one granule: one store */
    else
        note_wide(mem, ptr, len);
    return mem->base;
}

static inline void wr16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, sizeof v);
}

static inline void wr32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}

static inline void wr64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, sizeof v);
}

static uint32_t f32_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

static uint64_t f64_bits(double f)
{
    uint64_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

static uint32_t flags_mask(uint32_t n)
{
    return n >= 32 ? 0xffffffffu : (1u << n) - 1;
}

static __attribute__((noinline, cold)) int kind_mismatch(struct canon_cx *cx, const struct ctype *t,
                                                         const struct cval *v)
{
    return canon_trap(cx, "host value of kind %s where a %s was expected",
                      layout_kind_name(v->kind), layout_kind_name(t->kind));
}

/* The checks below are inline tests with the message out of line, so that
 * the walkers' common cases stay free of calls (and of stack frames). */

static __attribute__((noinline, cold)) int bad_char(struct canon_cx *cx, uint32_t ch)
{
    return canon_trap(cx, "host char 0x%x is not a Unicode scalar value", ch);
}

static inline bool char_ok(uint32_t ch)
{
    return ch < 0x110000 && (ch < 0xd800 || ch > 0xdfff);
}

static __attribute__((noinline, cold)) int bad_case(struct canon_cx *cx, const struct ctype *t,
                                                    const struct cval *v)
{
    uint32_t n = layout_ncases(t);
    if (v->of.var.disc >= n)
        return canon_trap(cx, "host %s discriminant %u is out of range (%u cases)",
                          layout_kind_name(t->kind), v->of.var.disc, n);
    return canon_trap(cx, "host %s case %u has no payload", layout_kind_name(t->kind),
                      v->of.var.disc);
}

/* The case's payload type (NULL: none), or NULL with *ok false when the
 * host's discriminant or payload does not fit (bad_case says how). */
static inline const struct ctype *variant_case(const struct ctype *t, const struct cval *v,
                                               bool *ok)
{
    const struct ctype *pt = NULL;
    *ok = v->of.var.disc < layout_ncases(t);
    if (*ok) {
        pt = layout_case_type(t, v->of.var.disc);
        *ok = pt == NULL || v->of.var.payload != NULL;
    }
    return pt;
}

static int check_fields(struct canon_cx *cx, const struct ctype *t, const struct cval *v)
{
    if (v->of.list.n != t->u.record.n)
        return canon_trap(cx, "host %s has %zu fields where the type has %u",
                          layout_kind_name(t->kind), v->of.list.n, t->u.record.n);
    if (v->of.list.n > 0 && v->of.list.v == NULL)
        return canon_trap(cx, "host %s has no fields array", layout_kind_name(t->kind));
    return 0;
}

static int store_val(struct canon_cx *cx, uint8_t *base, const struct ctype *t,
                     const struct cval *v, uint32_t ptr);

/* store_list_into_range: allocates with realloc and stores the elements. */
static int lower_list(struct canon_cx *cx, const struct ctype *elem, const struct cval *v,
                      uint32_t *ptr, uint32_t *len)
{
    uint32_t esize = layout_size(elem), ealign = layout_align(elem);
    bool raw = ctype_is_number(elem->kind);
    size_t n = raw ? v->of.raw.n : v->of.list.n, bytes;
    if (spry_mul_overflow(n, esize, &bytes) || bytes > UINT32_MAX)
        return canon_trap(cx, "list of %zu elements is too large for a 32-bit memory", n);
    if (n > 0 && (raw ? v->of.raw.ptr == NULL : v->of.list.v == NULL))
        return canon_trap(cx, "host list of %zu elements has no data", n);
    int rc = canon_realloc(cx, 0, 0, ealign, (uint32_t)bytes, ptr);
    if (rc != 0)
        return rc;
    if (bytes > 0) {
        uint8_t *base = mem_out(cx, *ptr, bytes);
        if (raw)
            memmove(base + *ptr, v->of.raw.ptr, bytes);
        for (size_t i = 0; !raw && i < n; i++) {
            rc = store_val(cx, base, elem, &v->of.list.v[i], *ptr + (uint32_t)(i * esize));
            if (rc != 0)
                return rc;
        }
    }
    *len = (uint32_t)n;
    return 0;
}

/* fields[0..n) from ptr on, into memory already marked written. */
static __attribute__((noinline)) int store_fields(struct canon_cx *cx, uint8_t *base, uint32_t n,
                                                  const struct ctype_field *fields,
                                                  const struct cval *vs, uint32_t ptr)
{
    uint64_t off = ptr;
    for (uint32_t i = 0; i < n; i++) {
        const struct ctype *ft = fields[i].type;
        uint32_t align = layout_align(ft);
        off = (off + align - 1) & ~(uint64_t)(align - 1);
        int rc = store_val(cx, base, ft, &vs[i], (uint32_t)off);
        if (rc != 0)
            return rc;
        off += layout_size(ft);
    }
    return 0;
}

int canon_store(struct canon_cx *cx, const struct ctype *t, const struct cval *v, uint32_t ptr)
{
    return store_val(cx, mem_out(cx, ptr, layout_size(t)), t, v, ptr);
}

static __attribute__((noinline)) int store_result_wide(struct canon_cx *cx, const struct ctype *t,
                                                       const struct cval *v, uint32_t ptr,
                                                       uint32_t size)
{
    return store_val(cx, mem_out(cx, ptr, size), t, v, ptr);
}

int canon_store_result(struct canon_cx *cx, const struct ctype *t, const struct cval *v,
                       uint32_t ptr, const struct layout_block *block)
{
    int rc = canon_check_range(cx, ptr, block->size, block->align, "result pointer");
    if (rc != 0)
        return rc;
    struct spry_memory *mem = cx->opts->memory;
    if (block->size == 0 || ptr >> WRITTEN_SHIFT != (ptr + block->size - 1) >> WRITTEN_SHIFT)
        return store_result_wide(cx, t, v, ptr, block->size);
    memory_note_write(mem, ptr, block->size); /* mem_out, within one granule */
    return store_val(cx, mem->base, t, v, ptr);
}

/* store for the types that call out (realloc, the handle table), out of
 * store_val so that its common cases need no frame. */
static __attribute__((noinline)) int store_call(struct canon_cx *cx, uint8_t *p,
                                                const struct ctype *t, const struct cval *v)
{
    uint32_t a = 0, b = 0;
    int rc;
    switch (t->kind) {
    case CT_STRING:
        rc = canon_lower_string(cx, v->of.str.ptr, v->of.str.len, &a, &b);
        break;
    case CT_LIST:
        rc = lower_list(cx, t->u.elem, v, &a, &b);
        break;
    case CT_OWN:
        rc = handles_lower_own(cx, t, v->of.rep, &a);
        if (rc == 0)
            wr32(p, a);
        return rc;
    default: /* CT_BORROW */
        rc = handles_lower_borrow(cx, t, v->of.rep, &a);
        if (rc == 0)
            wr32(p, a);
        return rc;
    }
    /* string, list: (pointer, length); p is still valid (memories never
     * move, realloc may only have grown it). */
    if (rc == 0) {
        wr32(p, a);
        wr32(p + 4, b);
    }
    return rc;
}

static __attribute__((noinline)) int store_record(struct canon_cx *cx, uint8_t *base,
                                                  const struct ctype *t, const struct cval *v,
                                                  uint32_t ptr)
{
    int rc = check_fields(cx, t, v);
    if (rc != 0)
        return rc;
    return store_fields(cx, base, t->u.record.n, t->u.record.fields, v->of.list.v, ptr);
}

/* A variant's payload; out of store_val, whose payload-less cases need no
 * frame then. */
static __attribute__((noinline)) int store_payload(struct canon_cx *cx, uint8_t *base,
                                                   const struct ctype *t, const struct ctype *pt,
                                                   const struct cval *payload, uint32_t ptr)
{
    return store_val(cx, base, pt, payload, ptr + layout_payload_offset(t));
}

/* store: v at ptr in memory at base, its bytes already marked written. */
static int store_val(struct canon_cx *cx, uint8_t *base, const struct ctype *t,
                     const struct cval *v, uint32_t ptr)
{
    if (v->kind != t->kind)
        return kind_mismatch(cx, t, v);
    uint8_t *p = base + ptr;
    switch (t->kind) {
    case CT_BOOL:
        p[0] = v->of.b ? 1 : 0;
        return 0;
    case CT_S8:
    case CT_U8:
        p[0] = (uint8_t)v->of.u;
        return 0;
    case CT_S16:
    case CT_U16:
        wr16(p, (uint16_t)v->of.u);
        return 0;
    case CT_S32:
    case CT_U32:
        wr32(p, (uint32_t)v->of.u);
        return 0;
    case CT_S64:
    case CT_U64:
        wr64(p, v->of.u);
        return 0;
    case CT_F32:
        wr32(p, f32_bits(v->of.f32));
        return 0;
    case CT_F64:
        wr64(p, f64_bits(v->of.f64));
        return 0;
    case CT_CHAR:
        if (!char_ok(v->of.ch))
            return bad_char(cx, v->of.ch);
        wr32(p, v->of.ch);
        return 0;
    case CT_STRING:
    case CT_LIST:
    case CT_OWN:
    case CT_BORROW:
        return store_call(cx, p, t, v);
    case CT_RECORD:
    case CT_TUPLE:
        return store_record(cx, base, t, v, ptr);
    case CT_VARIANT:
    case CT_ENUM:
    case CT_OPTION:
    case CT_RESULT: {
        bool ok;
        const struct ctype *pt = variant_case(t, v, &ok);
        if (!ok)
            return bad_case(cx, t, v);
        uint32_t dsize = layout_disc_size(layout_ncases(t)), disc = v->of.var.disc;
        if (dsize == 1)
            p[0] = (uint8_t)disc;
        else if (dsize == 2)
            wr16(p, (uint16_t)disc);
        else
            wr32(p, disc);
        if (pt == NULL)
            return 0;
        return store_payload(cx, base, t, pt, v->of.var.payload, ptr);
    }
    case CT_FLAGS: {
        uint32_t bits = v->of.flags & flags_mask(t->u.flags.n);
        switch (layout_flags_size(t->u.flags.n)) {
        case 1:
            p[0] = (uint8_t)bits;
            break;
        case 2:
            wr16(p, (uint16_t)bits);
            break;
        case 4:
            wr32(p, bits);
            break;
        }
        return 0;
    }
    default:
        SPRY_ASSERT(!"bad ctype kind");
        return SPRY_EINVAL;
    }
}

/* ---- flat values ------------------------------------------------------------ */

static __attribute__((noinline, cold)) int too_many(struct canon_cx *cx)
{
    return canon_trap(cx, "more core values than the signature has");
}

static inline int push(struct canon_cx *cx, struct canon_flat *out, uint64_t v)
{
    if (out->i >= out->n)
        return too_many(cx);
    out->v[out->i++] = v;
    return 0;
}

static __attribute__((noinline)) int lower_flat_variant(struct canon_cx *cx, const struct ctype *t,
                                                        const struct cval *v,
                                                        struct canon_flat *out)
{
    bool ok;
    const struct ctype *pt = variant_case(t, v, &ok);
    if (!ok)
        return bad_case(cx, t, v);
    uint32_t nflat = layout_flat_count(t), start = out->i;
    if (nflat > out->n - start)
        return too_many(cx);
    out->v[out->i++] = v->of.var.disc;
    if (pt != NULL) {
        /* A 32-bit payload value goes zero-extended into an i64 slot, an
         * f32 as its bits into an i32 or i64 slot, an f64 as its bits into
         * an i64 slot: exactly how every value is written to a slot. */
        struct canon_flat sub = {out->v, start + nflat, out->i};
        int rc = canon_lower_flat(cx, pt, v->of.var.payload, &sub);
        if (rc != 0)
            return rc;
        out->i = sub.i;
    }
    while (out->i < start + nflat)
        out->v[out->i++] = 0;
    return 0;
}

/* lower_flat for the types that call out or loop, out of canon_lower_flat
 * so that its common cases need no frame. */
static __attribute__((noinline)) int lower_flat_call(struct canon_cx *cx, const struct ctype *t,
                                                     const struct cval *v, struct canon_flat *out)
{
    uint32_t a = 0, b = 0;
    int rc;
    switch (t->kind) {
    case CT_STRING:
    case CT_LIST:
        if (t->kind == CT_STRING)
            rc = canon_lower_string(cx, v->of.str.ptr, v->of.str.len, &a, &b);
        else
            rc = lower_list(cx, t->u.elem, v, &a, &b);
        if (rc == 0)
            rc = push(cx, out, a);
        return rc != 0 ? rc : push(cx, out, b);
    case CT_RECORD:
    case CT_TUPLE:
        rc = check_fields(cx, t, v);
        for (uint32_t i = 0; rc == 0 && i < t->u.record.n; i++)
            rc = canon_lower_flat(cx, t->u.record.fields[i].type, &v->of.list.v[i], out);
        return rc;
    case CT_OWN:
        rc = handles_lower_own(cx, t, v->of.rep, &a);
        return rc != 0 ? rc : push(cx, out, a);
    default: /* CT_BORROW */
        rc = handles_lower_borrow(cx, t, v->of.rep, &a);
        return rc != 0 ? rc : push(cx, out, a);
    }
}

int canon_lower_flat(struct canon_cx *cx, const struct ctype *t, const struct cval *v,
                     struct canon_flat *out)
{
    if (v->kind != t->kind)
        return kind_mismatch(cx, t, v);
    switch (t->kind) {
    case CT_BOOL:
        return push(cx, out, v->of.b ? 1 : 0);
    case CT_S8:
        return push(cx, out, (uint32_t)(int32_t)(int8_t)v->of.s);
    case CT_U8:
        return push(cx, out, (uint8_t)v->of.u);
    case CT_S16:
        return push(cx, out, (uint32_t)(int32_t)(int16_t)v->of.s);
    case CT_U16:
        return push(cx, out, (uint16_t)v->of.u);
    case CT_S32:
    case CT_U32:
        return push(cx, out, (uint32_t)v->of.u);
    case CT_S64:
    case CT_U64:
        return push(cx, out, v->of.u);
    case CT_F32:
        return push(cx, out, f32_bits(v->of.f32));
    case CT_F64:
        return push(cx, out, f64_bits(v->of.f64));
    case CT_CHAR:
        if (!char_ok(v->of.ch))
            return bad_char(cx, v->of.ch);
        return push(cx, out, v->of.ch);
    case CT_STRING:
    case CT_LIST:
    case CT_RECORD:
    case CT_TUPLE:
    case CT_OWN:
    case CT_BORROW:
        return lower_flat_call(cx, t, v, out);
    case CT_VARIANT:
    case CT_ENUM:
    case CT_OPTION:
    case CT_RESULT:
        return lower_flat_variant(cx, t, v, out);
    case CT_FLAGS:
        return push(cx, out, v->of.flags & flags_mask(t->u.flags.n));
    default:
        SPRY_ASSERT(!"bad ctype kind");
        return SPRY_EINVAL;
    }
}

int canon_lower_values(struct canon_cx *cx, uint32_t n, const struct ctype_field *fields,
                       const struct cval *vs, uint32_t max_flat, const uint32_t *out_ptr,
                       struct canon_flat *out)
{
    uint8_t flat[LAYOUT_MAX_FLAT];
    bool in_memory = layout_flatten_fields(n, fields, flat) > max_flat;
    struct layout_block mem = {layout_fields_size(n, fields), layout_fields_align(n, fields)};
    return canon_lower_values_via(cx, n, fields, vs, in_memory ? &mem : NULL, out_ptr, out);
}

int canon_lower_values_via(struct canon_cx *cx, uint32_t n, const struct ctype_field *fields,
                           const struct cval *vs, const struct layout_block *mem,
                           const uint32_t *out_ptr, struct canon_flat *out)
{
    int rc;
    if (mem == NULL) {
        for (uint32_t i = 0; i < n; i++) {
            rc = canon_lower_flat(cx, fields[i].type, &vs[i], out);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    uint32_t size = mem->size, align = mem->align, ptr;
    if (out_ptr != NULL) {
        ptr = *out_ptr;
        rc = canon_check_range(cx, ptr, size, align, "result pointer");
    } else {
        rc = canon_realloc(cx, 0, 0, align, size, &ptr);
        if (rc == 0)
            rc = push(cx, out, ptr);
    }
    if (rc != 0)
        return rc;
    return store_fields(cx, mem_out(cx, ptr, size), n, fields, vs, ptr);
}

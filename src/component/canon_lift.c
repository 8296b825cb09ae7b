/*
 * Lifting: guest values (in linear memory, or flat core values) to struct
 * cval. CanonicalABI.md: load, load_list_from_range, load_variant,
 * lift_flat, lift_flat_variant, lift_flat_values.
 *
 * Every range is checked before it is read: a string or list at its
 * (pointer, length), the parameter or result tuple at its pointer. Inside a
 * checked range the walkers read without further checks, because a field
 * or payload lies within its parent's size (layout.h).
 */
#include "component/canon.h"

#include "base/assert.h"
#include "wasm/runtime.h"

#include <string.h>

#define CANONICAL_NAN32 0x7fc00000u
#define CANONICAL_NAN64 0x7ff8000000000000ull

static inline uint8_t *mem_at(struct canon_cx *cx, uint64_t ptr)
{
    return spry_memory_data(cx->opts->memory) + ptr;
}

static inline uint16_t rd16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Lifting canonicalizes NaNs (canonicalize_nan32/64). */
static float f32_from_bits(uint32_t bits)
{
    if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0)
        bits = CANONICAL_NAN32;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static double f64_from_bits(uint64_t bits)
{
    if ((bits & 0x7ff0000000000000ull) == 0x7ff0000000000000ull &&
        (bits & 0x000fffffffffffffull) != 0)
        bits = CANONICAL_NAN64;
    double f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* convert_i32_to_char */
static int lift_char(struct canon_cx *cx, uint32_t i, struct cval *out)
{
    if (i >= 0x110000 || (i >= 0xd800 && i <= 0xdfff))
        return canon_trap(cx, "0x%x is not a Unicode scalar value (char)", i);
    out->of.ch = i;
    return 0;
}

static uint32_t flags_mask(uint32_t n)
{
    return n >= 32 ? 0xffffffffu : (1u << n) - 1;
}

static struct cval *alloc_vals(struct canon_cx *cx, size_t n)
{
    return spry_arena_alloc_array(cx->arena, n == 0 ? 1 : n, sizeof(struct cval));
}

/* Whether n elements of a float type at p hold a NaN other than the
 * canonical one (lifting must canonicalize it). */
static bool has_noncanonical_nan(uint8_t kind, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (kind == CT_F32) {
            uint32_t b = rd32(p + 4 * i);
            if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x007fffffu) != 0 && b != CANONICAL_NAN32)
                return true;
        } else {
            uint64_t b = rd64(p + 8 * i);
            if ((b & 0x7ff0000000000000ull) == 0x7ff0000000000000ull &&
                (b & 0x000fffffffffffffull) != 0 && b != CANONICAL_NAN64)
                return true;
        }
    }
    return false;
}

/* load_list_from_range */
static __attribute__((noinline)) int lift_list_walk(struct canon_cx *cx, const struct ctype *elem,
                                                    uint32_t ptr, uint32_t len, struct cval *out)
{
    uint32_t esize = layout_size(elem), ealign = layout_align(elem);
    uint64_t bytes = (uint64_t)len * esize; /* both below 2^32: no overflow */
    int rc = canon_check_range(cx, ptr, bytes, ealign, "list");
    if (rc != 0)
        return rc;
    if (ctype_is_number(elem->kind)) {
        const uint8_t *src = mem_at(cx, ptr);
        bool floats = elem->kind == CT_F32 || elem->kind == CT_F64;
        bool nan = floats && has_noncanonical_nan(elem->kind, src, len);
        if (cx->views && !nan) {
            out->of.raw.ptr = src;
        } else {
            uint8_t *copy = spry_arena_alloc(cx->arena, bytes == 0 ? 1 : (size_t)bytes);
            if (copy == NULL)
                return canon_trap(cx, "out of memory lifting a list of %u elements", len);
            memcpy(copy, src, (size_t)bytes);
            for (uint32_t i = 0; nan && i < len; i++) {
                if (elem->kind == CT_F32) {
                    float f = f32_from_bits(rd32(copy + 4 * (size_t)i));
                    memcpy(copy + 4 * (size_t)i, &f, 4);
                } else {
                    double f = f64_from_bits(rd64(copy + 8 * (size_t)i));
                    memcpy(copy + 8 * (size_t)i, &f, 8);
                }
            }
            out->of.raw.ptr = copy;
        }
        out->of.raw.n = len;
        return 0;
    }
    struct cval *v = alloc_vals(cx, len);
    if (v == NULL)
        return canon_trap(cx, "out of memory lifting a list of %u elements", len);
    for (uint32_t i = 0; i < len; i++) {
        rc = canon_load(cx, elem, ptr + i * esize, &v[i]);
        if (rc != 0)
            return rc;
    }
    out->of.list.v = v;
    out->of.list.n = len;
    return 0;
}

/* load_list_from_range: lift_list_walk, with the case of nearly every list
 * a host function takes
 * (bytes to write, a list of integers, viewed where it lies) first: the
 * range checked against the memory's size read inline (wasm/runtime.h). */
int canon_lift_list(struct canon_cx *cx, const struct ctype *elem, uint32_t ptr, uint32_t len,
                    struct cval *out)
{
    const struct spry_memory *mem = cx->opts != NULL ? cx->opts->memory : NULL;
    if (cx->views && elem->kind >= CT_S8 && elem->kind <= CT_U64 && mem != NULL &&
        elem->align != 0) { /* a cached layout (layout.h) */
        uint32_t esize = elem->size, ealign = elem->align;
        uint64_t bytes = (uint64_t)len * esize; /* both below 2^32: no overflow */
        if ((ptr & (ealign - 1)) == 0 && ptr <= mem->size && bytes <= mem->size - ptr) {
            out->of.raw.ptr = mem->base + ptr;
            out->of.raw.n = len;
            return 0;
        }
    }
    return lift_list_walk(cx, elem, ptr, len, out);
}

/* load_record, and the parameter tuple: fields[0..n) from ptr on. */
static int load_fields(struct canon_cx *cx, uint32_t n, const struct ctype_field *fields,
                       uint32_t ptr, struct cval *v)
{
    uint64_t off = ptr;
    for (uint32_t i = 0; i < n; i++) {
        const struct ctype *ft = fields[i].type;
        uint32_t align = layout_align(ft);
        off = (off + align - 1) & ~(uint64_t)(align - 1);
        int rc = canon_load(cx, ft, (uint32_t)off, &v[i]);
        if (rc != 0)
            return rc;
        off += layout_size(ft);
    }
    return 0;
}

static int bad_disc(struct canon_cx *cx, const struct ctype *t, uint32_t disc)
{
    return canon_trap(cx, "discriminant %u is out of range for %s with %u cases", disc,
                      layout_kind_name(t->kind), layout_ncases(t));
}

int canon_load(struct canon_cx *cx, const struct ctype *t, uint32_t ptr, struct cval *out)
{
    const uint8_t *p = mem_at(cx, ptr);
    memset(out, 0, sizeof *out);
    out->kind = t->kind;
    switch (t->kind) {
    case CT_BOOL:
        out->of.b = p[0] != 0;
        return 0;
    case CT_S8:
        out->of.s = (int8_t)p[0];
        return 0;
    case CT_U8:
        out->of.u = p[0];
        return 0;
    case CT_S16:
        out->of.s = (int16_t)rd16(p);
        return 0;
    case CT_U16:
        out->of.u = rd16(p);
        return 0;
    case CT_S32:
        out->of.s = (int32_t)rd32(p);
        return 0;
    case CT_U32:
        out->of.u = rd32(p);
        return 0;
    case CT_S64:
        out->of.s = (int64_t)rd64(p);
        return 0;
    case CT_U64:
        out->of.u = rd64(p);
        return 0;
    case CT_F32:
        out->of.f32 = f32_from_bits(rd32(p));
        return 0;
    case CT_F64:
        out->of.f64 = f64_from_bits(rd64(p));
        return 0;
    case CT_CHAR:
        return lift_char(cx, rd32(p), out);
    case CT_STRING:
        return canon_lift_string(cx, rd32(p), rd32(p + 4), out);
    case CT_LIST:
        return canon_lift_list(cx, t->u.elem, rd32(p), rd32(p + 4), out);
    case CT_RECORD:
    case CT_TUPLE: {
        struct cval *v = alloc_vals(cx, t->u.record.n);
        if (v == NULL)
            return canon_trap(cx, "out of memory lifting a %s", layout_kind_name(t->kind));
        out->of.list.v = v;
        out->of.list.n = t->u.record.n;
        return load_fields(cx, t->u.record.n, t->u.record.fields, ptr, v);
    }
    case CT_VARIANT:
    case CT_ENUM:
    case CT_OPTION:
    case CT_RESULT: {
        uint32_t n = layout_ncases(t), dsize = layout_disc_size(n);
        uint32_t disc = dsize == 1 ? p[0] : dsize == 2 ? rd16(p) : rd32(p);
        if (disc >= n)
            return bad_disc(cx, t, disc);
        out->of.var.disc = disc;
        const struct ctype *pt = layout_case_type(t, disc);
        if (pt == NULL)
            return 0;
        struct cval *payload = alloc_vals(cx, 1);
        if (payload == NULL)
            return canon_trap(cx, "out of memory lifting a %s", layout_kind_name(t->kind));
        out->of.var.payload = payload;
        return canon_load(cx, pt, ptr + layout_payload_offset(t), payload);
    }
    case CT_FLAGS: {
        uint32_t size = layout_flags_size(t->u.flags.n);
        uint32_t bits = size == 1 ? p[0] : size == 2 ? rd16(p) : size == 4 ? rd32(p) : 0;
        /* unpack_flags_from_int reads only the labels' bits. */
        out->of.flags = bits & flags_mask(t->u.flags.n);
        return 0;
    }
    case CT_OWN:
        return handles_lift_own(cx, t, rd32(p), &out->of.rep);
    case CT_BORROW:
        return handles_lift_borrow(cx, t, rd32(p), &out->of.rep);
    default:
        SPRY_ASSERT(!"bad ctype kind");
        return SPRY_EINVAL;
    }
}

/* ---- flat values ------------------------------------------------------------ */

static int next(struct canon_cx *cx, struct canon_flat *in, uint64_t *v)
{
    if (in->i >= in->n)
        return canon_trap(cx, "fewer core values than the type needs");
    *v = in->v[in->i++];
    return 0;
}

static __attribute__((noinline)) int lift_flat_variant(struct canon_cx *cx, const struct ctype *t,
                                                       struct canon_flat *in, struct cval *out)
{
    uint32_t nflat = layout_flat_count(t), start = in->i;
    if (nflat > in->n - start)
        return canon_trap(cx, "fewer core values than the type needs");
    uint32_t disc = (uint32_t)in->v[in->i++];
    if (disc >= layout_ncases(t))
        return bad_disc(cx, t, disc);
    out->of.var.disc = disc;
    const struct ctype *pt = layout_case_type(t, disc);
    if (pt != NULL) {
        struct cval *payload = alloc_vals(cx, 1);
        if (payload == NULL)
            return canon_trap(cx, "out of memory lifting a %s", layout_kind_name(t->kind));
        out->of.var.payload = payload;
        /* The case reads its own flat types from the joined ones: an i32 or
         * f32 from the low 32 bits of an i32 or i64 slot, an f64 from an
         * i64 slot's bits. Slots hold exactly those bits, so reading each
         * type from a slot as usual is the spec's CoerceValueIter. */
        struct canon_flat sub = {in->v, start + nflat, in->i};
        int rc = canon_lift_flat(cx, pt, &sub, payload);
        if (rc != 0)
            return rc;
    }
    in->i = start + nflat; /* the rest of the joined slots are ignored */
    return 0;
}

static __attribute__((noinline)) int lift_flat_record(struct canon_cx *cx, const struct ctype *t,
                                                      struct canon_flat *in, struct cval *out)
{
    struct cval *vals = alloc_vals(cx, t->u.record.n);
    if (vals == NULL)
        return canon_trap(cx, "out of memory lifting a %s", layout_kind_name(t->kind));
    out->of.list.v = vals;
    out->of.list.n = t->u.record.n;
    for (uint32_t i = 0; i < t->u.record.n; i++) {
        int rc = canon_lift_flat(cx, t->u.record.fields[i].type, in, &vals[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static __attribute__((noinline, cold)) int too_few(struct canon_cx *cx)
{
    return canon_trap(cx, "fewer core values than the type needs");
}

/* Every case ends in a tail call or a plain return, so that lifting a
 * number or a handle, as nearly every host call does, needs no frame. */
int canon_lift_flat(struct canon_cx *cx, const struct ctype *t, struct canon_flat *in,
                    struct cval *out)
{
    memset(out, 0, sizeof *out);
    out->kind = t->kind;
    switch (t->kind) {
    case CT_STRING:
    case CT_LIST: {
        if (in->i > in->n || in->n - in->i < 2)
            return too_few(cx);
        uint32_t ptr = (uint32_t)in->v[in->i], len = (uint32_t)in->v[in->i + 1];
        in->i += 2;
        if (t->kind == CT_STRING)
            return canon_lift_string(cx, ptr, len, out);
        return canon_lift_list(cx, t->u.elem, ptr, len, out);
    }
    case CT_RECORD:
    case CT_TUPLE:
        return lift_flat_record(cx, t, in, out);
    case CT_VARIANT:
    case CT_ENUM:
    case CT_OPTION:
    case CT_RESULT:
        return lift_flat_variant(cx, t, in, out);
    default:
        break;
    }
    if (in->i >= in->n)
        return too_few(cx);
    uint64_t v = in->v[in->i++];
    /* lift_flat_unsigned / lift_flat_signed: the value modulo the type's
     * width (an i32 in an i64 slot is its low half). */
    switch (t->kind) {
    case CT_BOOL:
        out->of.b = (uint32_t)v != 0;
        return 0;
    case CT_S8:
        out->of.s = (int8_t)(uint8_t)v;
        return 0;
    case CT_U8:
        out->of.u = (uint8_t)v;
        return 0;
    case CT_S16:
        out->of.s = (int16_t)(uint16_t)v;
        return 0;
    case CT_U16:
        out->of.u = (uint16_t)v;
        return 0;
    case CT_S32:
        out->of.s = (int32_t)(uint32_t)v;
        return 0;
    case CT_U32:
        out->of.u = (uint32_t)v;
        return 0;
    case CT_S64:
        out->of.s = (int64_t)v;
        return 0;
    case CT_U64:
        out->of.u = v;
        return 0;
    case CT_F32:
        out->of.f32 = f32_from_bits((uint32_t)v);
        return 0;
    case CT_F64:
        out->of.f64 = f64_from_bits(v);
        return 0;
    case CT_CHAR:
        return lift_char(cx, (uint32_t)v, out);
    case CT_FLAGS:
        out->of.flags = (uint32_t)v & flags_mask(t->u.flags.n);
        return 0;
    case CT_OWN:
        return handles_lift_own(cx, t, (uint32_t)v, &out->of.rep);
    case CT_BORROW:
        return handles_lift_borrow(cx, t, (uint32_t)v, &out->of.rep);
    default:
        SPRY_ASSERT(!"bad ctype kind");
        return SPRY_EINVAL;
    }
}

int canon_lift_values(struct canon_cx *cx, uint32_t n, const struct ctype_field *fields,
                      uint32_t max_flat, struct canon_flat *in, struct cval *out)
{
    uint8_t flat[LAYOUT_MAX_FLAT];
    bool in_memory = layout_flatten_fields(n, fields, flat) > max_flat;
    struct layout_block mem = {layout_fields_size(n, fields), layout_fields_align(n, fields)};
    return canon_lift_values_via(cx, n, fields, in_memory ? &mem : NULL,
                                 max_flat == LAYOUT_MAX_FLAT_RESULTS ? "results" : "parameters", in,
                                 out);
}

int canon_lift_values_via(struct canon_cx *cx, uint32_t n, const struct ctype_field *fields,
                          const struct layout_block *mem, const char *what, struct canon_flat *in,
                          struct cval *out)
{
    if (mem == NULL) {
        for (uint32_t i = 0; i < n; i++) {
            int rc = canon_lift_flat(cx, fields[i].type, in, &out[i]);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    uint64_t ptr = 0;
    int rc = next(cx, in, &ptr);
    if (rc == 0)
        rc = canon_check_range(cx, (uint32_t)ptr, mem->size, mem->align, what);
    if (rc != 0)
        return rc;
    return load_fields(cx, n, fields, (uint32_t)ptr, out);
}

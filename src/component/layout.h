/*
 * The canonical ABI's layout of component value types: size and alignment
 * in linear memory, and flattening into core wasm values. Pure functions of
 * struct ctype; nothing is cached (see "Cost" below).
 *
 * The rules are CanonicalABI.md's "Despecialization", "Alignment",
 * "Element Size" and "Flattening" sections
 * (https://github.com/WebAssembly/component-model/blob/main/design/mvp/CanonicalABI.md),
 * for 32-bit memories and the synchronous ABI:
 *
 *  - tuple is a record, enum a variant of payload-less cases, option
 *    `variant { none, some(T) }`, result `variant { ok(T?), error(E?) }`;
 *  - bool, s8, u8: 1 byte; s16, u16: 2; s32, u32, f32, char, own, borrow: 4;
 *    s64, u64, f64: 8; string and list: 8 bytes (pointer, length), align 4;
 *  - record: fields in order, each at its alignment; size rounded up to the
 *    record's alignment (the largest of its fields');
 *  - variant: a discriminant of 1, 2 or 4 bytes (up to 256, 65536, 2^32
 *    cases), then the payload at the largest case alignment; size rounded
 *    up to the variant's alignment;
 *  - flags: 1, 2 or 4 bytes for up to 8, 16, 32 labels, aligned to its size;
 *  - flattening: numbers to i32/i64/f32/f64 (8..32-bit integers, bool, char
 *    and handles as i32), string and list to (i32 pointer, i32 length),
 *    records to their fields' concatenation, variants to an i32
 *    discriminant followed by the element-wise join of their cases' flat
 *    payloads (equal types stay, i32 and f32 join to i32, anything else to
 *    i64), flags to one i32.
 *
 * Validity. layout_check accepts the types the component model allows and
 * that these functions can compute in bounded time: at least one field,
 * case or label in records, tuples, variants, enums and flags (the spec's
 * size rules assert it), at most 32 flags, a nesting depth of at most
 * LAYOUT_MAX_DEPTH and an effective size (nodes counted once per path, so a
 * type reused twice counts twice) of at most LAYOUT_MAX_NODES. Every type
 * that reaches the other functions here, or the canonical ABI (canon.h),
 * must have passed it: the decoder checks each type it resolves. On a
 * checked type every size fits in 32 bits (at most 16 bytes per node) and
 * every flat count is below LAYOUT_MAX_NODES, so no arithmetic here can
 * overflow. On unchecked types the functions still terminate and return
 * something (empty aggregates have size 0, alignment 1 and no flat values),
 * but the results are meaningless.
 *
 * Cost. Each node caches its own layout (ctype.h): size, alignment, the
 * payload offset of a variant-like type and its number of flat values.
 * layout_cache fills a finished node from its children's, in O(children);
 * the decoder calls it on every value type it builds (bottom-up, so a
 * node's children are cached before it), and the canonical ABI's walkers
 * then read layouts in O(1) per node visited: a record's field offsets are
 * the running sum of its fields' cached sizes rounded to their cached
 * alignments, worked out in the same loop that visits the fields. On a
 * node without a cache (types built by hand: WIT host tables, tests) the
 * same functions compute the values from the children, recursively, with
 * the same results; the fuzzer (fuzz_canon.c) checks the two agree.
 */
#ifndef SPRY_COMPONENT_LAYOUT_H
#define SPRY_COMPONENT_LAYOUT_H

#include "component/ctype.h"

#include "spry/error.h"
#include "spry/wasm.h"

#include <stdbool.h>
#include <stdint.h>

/* CanonicalABI.md, "Flattening": values beyond these go through memory. */
#define LAYOUT_MAX_FLAT_PARAMS  16
#define LAYOUT_MAX_FLAT_RESULTS 1

/* Flat sequences are written out only up to this many values; longer ones
 * are counted (they only ever mean "passed through memory"). */
#define LAYOUT_MAX_FLAT LAYOUT_MAX_FLAT_PARAMS

/* Bounds of layout_check (see above). wasmparser bounds a component type's
 * effective size at the same 1,000,000. */
#define LAYOUT_MAX_DEPTH 64
#define LAYOUT_MAX_NODES 1000000u

/* Checks that t is a valid component value type the canonical ABI can lay
 * out; on failure returns SPRY_EINVALID and says what is wrong in report
 * (which may be NULL). */
int layout_check(const struct ctype *t, struct spry_report *report);
/* The same for every parameter and the result of a function type. */
int layout_check_functype(const struct cfunctype *ft, struct spry_report *report);

/* "u32", "record", ...; "?" for an unknown kind. */
const char *layout_kind_name(uint8_t kind);

/* x rounded up to a multiple of align (a power of two, at most 8). */
static inline uint32_t layout_align_to(uint32_t x, uint32_t align)
{
    return (x + align - 1) & ~(align - 1);
}

/* Fills t's cached layout (ctype.h) from its children's layouts (cached or
 * computed). Does nothing when a child type is missing (an invalid type).
 * t must be finished (its children too) and must not change afterwards;
 * whoever shares it across threads must cache it before. */
void layout_cache(struct ctype *t);

/* What layout_cache stores, computed from t's children (their caches used)
 * whatever t's own cache holds. */
uint32_t layout_compute_size(const struct ctype *t);
uint32_t layout_compute_align(const struct ctype *t);
uint32_t layout_compute_payload_offset(const struct ctype *t);
uint32_t layout_compute_flat_count(const struct ctype *t);

/* ctype.nflat for a type of this many flat values or more. */
#define LAYOUT_FLAT_MANY 255u

static inline uint32_t layout_size(const struct ctype *t)
{
    return t->align != 0 ? t->size : layout_compute_size(t);
}

static inline uint32_t layout_align(const struct ctype *t)
{
    return t->align != 0 ? t->align : layout_compute_align(t);
}

/* The number of flat values of t (its flattening's length), or
 * LAYOUT_FLAT_MANY when that is LAYOUT_FLAT_MANY or more. */
static inline uint32_t layout_flat_count(const struct ctype *t)
{
    return t->align != 0 ? t->nflat : layout_compute_flat_count(t);
}

/* Records, tuples and the parameter list of a function type (a tuple when
 * it goes through memory): the layout of fields[0..n). */
uint32_t layout_fields_size(uint32_t n, const struct ctype_field *fields);
uint32_t layout_fields_align(uint32_t n, const struct ctype_field *fields);

/* Variant-like types (variant, enum, option, result) seen as variants. */
static inline bool layout_is_variant(const struct ctype *t)
{
    return t->kind == CT_VARIANT || t->kind == CT_ENUM || t->kind == CT_OPTION ||
           t->kind == CT_RESULT;
}

/* A variant-like type's number of cases (0 for any other type). */
static inline uint32_t layout_ncases(const struct ctype *t)
{
    switch (t->kind) {
    case CT_VARIANT:
    case CT_ENUM:
        return t->u.variant.n;
    case CT_OPTION:
    case CT_RESULT:
        return 2;
    default:
        return 0;
    }
}

/* Case i's payload type of a variant-like type (NULL: none; i < ncases). */
static inline const struct ctype *layout_case_type(const struct ctype *t, uint32_t i)
{
    switch (t->kind) {
    case CT_VARIANT:
        return t->u.variant.cases[i].type;
    case CT_OPTION: /* none, some(T) */
        return i == 0 ? NULL : t->u.elem;
    case CT_RESULT: /* ok(T?), error(E?) */
        return i == 0 ? t->u.result.ok : t->u.result.err;
    default: /* enum: no payloads */
        return NULL;
    }
}

/* Bytes of the discriminant for a variant of ncases cases: 1, 2 or 4
 * (discriminant_type: ceil(log2(n) / 8) bytes, at least one). */
static inline uint32_t layout_disc_size(uint32_t ncases)
{
    return ncases <= 1u << 8 ? 1 : ncases <= 1u << 16 ? 2 : 4;
}

/* Offset of a variant-like type's payload: the discriminant's size rounded
 * up to the largest case alignment. */
static inline uint32_t layout_payload_offset(const struct ctype *t)
{
    return t->align != 0 ? t->payload_offset : layout_compute_payload_offset(t);
}

/* Bytes of a flags type with n labels: 0 (invalid), 1, 2 or 4. */
static inline uint32_t layout_flags_size(uint32_t n)
{
    return n == 0 ? 0 : n <= 8 ? 1 : n <= 16 ? 2 : 4;
}

/*
 * Flattening. A flat type is an enum spry_valtype code (SPRY_I32, SPRY_I64,
 * SPRY_F32, SPRY_F64), so flat signatures are spry_functype arrays as they
 * are. layout_flatten returns the number of flat values of t and writes the
 * first min(that, LAYOUT_MAX_FLAT) of them to out.
 */
uint32_t layout_flatten(const struct ctype *t, uint8_t out[LAYOUT_MAX_FLAT]);
/* The same for fields[0..n) in order (a parameter list). */
uint32_t layout_flatten_fields(uint32_t n, const struct ctype_field *fields,
                               uint8_t out[LAYOUT_MAX_FLAT]);
/* The join of two flat types (CanonicalABI.md, flatten_variant). */
uint8_t layout_join(uint8_t a, uint8_t b);

/* Whether a function is being lifted (a core function becomes a component
 * export: its results come back as a pointer to them) or lowered (a
 * component function becomes a core import: the caller passes a pointer
 * for the results). */
enum layout_context { LAYOUT_LIFT, LAYOUT_LOWER };

/* Where a tuple of values goes in memory. */
struct layout_block {
    uint32_t size, align;
};

/* The core signature of a lifted or lowered function (flatten_functype). */
struct layout_corefunc {
    uint32_t nparams, nresults;
    uint8_t params[LAYOUT_MAX_FLAT_PARAMS + 1]; /* + the result pointer when lowering */
    uint8_t results[LAYOUT_MAX_FLAT_RESULTS];
    bool params_in_memory;  /* params is one i32: a pointer to the parameter tuple */
    bool results_in_memory; /* lift: results is one i32 pointer; lower: params ends
                               with an i32 pointer where the callee stores the result */
    /* The parameter tuple's and the result's layout in memory, when they
     * go there (params_in_memory, results_in_memory). */
    struct layout_block params_block, results_block;
};

void layout_flatten_functype(const struct cfunctype *ft, enum layout_context context,
                             struct layout_corefunc *out);

/* A spry_functype viewing out's arrays (valid while out is). */
struct spry_functype layout_corefunc_type(const struct layout_corefunc *cf);

#endif

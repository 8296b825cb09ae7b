/*
 * Component value types and values: the vocabulary every part of the
 * component layer shares (decoder, canonical ABI, linker, WASI 0.2 host).
 *
 * Types (struct ctype) are the component model's value types after
 * resolution: type indices are gone, every type is a tree of these nodes.
 * See the component model's Explainer.md ("Type definitions") and
 * CanonicalABI.md. Types are immutable once built and live as long as their
 * owner (a decoded component's arena, or a host interface table); nodes may
 * be shared between trees.
 *
 * Values (struct cval) are what host functions receive and return: the
 * canonical ABI lifts guest values into them and lowers them back. They live
 * in the arena of one call (struct ccall) and are freed with it.
 *
 * Resource handles: a component instance has one handle table (canon.h);
 * a handle type names its resource type by index into the component
 * instance's resource-type space (imported resource types are bound to host
 * resources at link time, defined ones are created per instance). A host
 * function sees a handle as its representation (`rep`), never the guest's
 * handle number.
 */
#ifndef SPRY_COMPONENT_CTYPE_H
#define SPRY_COMPONENT_CTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ctype_kind {
    CT_BOOL,
    CT_S8,
    CT_U8,
    CT_S16,
    CT_U16,
    CT_S32,
    CT_U32,
    CT_S64,
    CT_U64,
    CT_F32,
    CT_F64,
    CT_CHAR,
    CT_STRING,
    CT_LIST,
    CT_RECORD,
    CT_TUPLE,
    CT_VARIANT,
    CT_ENUM,
    CT_OPTION,
    CT_RESULT,
    CT_FLAGS,
    CT_OWN,
    CT_BORROW,
    CT_KINDS
};

/* A named member: record field, function parameter (name set) or tuple
 * element (name NULL). */
struct ctype_field {
    const char *name;
    const struct ctype *type;
};

/* A variant or enum case; type NULL when the case has no payload (always,
 * for enums). */
struct ctype_case {
    const char *name;
    const struct ctype *type;
};

/* The component model limits flags to 32 labels (Binary.md). */
#define CTYPE_MAX_FLAGS 32

/*
 * A node also carries its canonical ABI layout (layout.h), worked out once
 * when the node is finished (layout_cache) so that lifting and lowering do
 * not walk the tree below it on every call: `align` is 0 until then, and
 * every layout function computes what it needs from the children instead.
 * A node must not change after layout_cache.
 */
struct ctype {
    uint8_t kind; /* enum ctype_kind */
    /* The cached layout (valid when align != 0): */
    uint8_t align;          /* alignment in memory: 1, 2, 4 or 8 */
    uint8_t payload_offset; /* variant-like types: where the payload starts */
    uint8_t nflat;          /* flat values, LAYOUT_FLAT_MANY for that many or more */
    uint32_t size;          /* bytes in memory */
    union {
        const struct ctype *elem; /* list<elem>, option<elem> */
        struct {
            uint32_t n;
            const struct ctype_field *fields;
        } record; /* record (named fields), tuple (unnamed) */
        struct {
            uint32_t n;
            const struct ctype_case *cases;
        } variant; /* variant; enum (no payloads) */
        struct {
            const struct ctype *ok, *err; /* NULL: no payload */
        } result;
        struct {
            uint32_t n; /* <= CTYPE_MAX_FLAGS */
            const char *const *names;
        } flags;
        uint32_t resource; /* own, borrow: index in the instance's resource-type space */
    } u;
};

/* A component function type (0.2: one unnamed result or none). */
struct cfunctype {
    uint32_t nparams;
    const struct ctype_field *params;
    const struct ctype *result; /* NULL: no result */
};

/*
 * A value. `kind` repeats the type's kind so that a host function can check
 * what it was given (a type mismatch is caught at link time; the check is
 * for our bugs). Encodings:
 *  - bool: b; s8..s64: s; u8..u64: u; f32: f32; f64: f64; char: ch (a
 *    Unicode scalar value);
 *  - string: str, UTF-8, not NUL-terminated, validated;
 *  - list: when the element type is a number type (u8..f64, not bool or
 *    char) the elements are `raw`: n elements in the canonical ABI's
 *    little-endian layout, contiguous (a list<u8> is its bytes); otherwise
 *    `list.v[0..n)`;
 *  - record and tuple: list.v[0..n) in field order;
 *  - variant and enum: var.disc (case index), var.payload (NULL when the
 *    case has none); option: disc 0 none, 1 some; result: disc 0 ok, 1 err;
 *  - flags: bit i set when label i is;
 *  - own and borrow: rep, the resource's representation.
 * Pointers (str.ptr, raw.ptr) may point into a guest's linear memory while a
 * host function runs: valid for that call only. Linear memories never move
 * (they are reserved once), but a host function must not keep them.
 */
struct cval {
    uint8_t kind; /* enum ctype_kind */
    union {
        bool b;
        int64_t s;
        uint64_t u;
        float f32;
        double f64;
        uint32_t ch;
        struct {
            const char *ptr;
            size_t len;
        } str;
        struct {
            const void *ptr;
            size_t n; /* elements */
        } raw;
        struct {
            struct cval *v;
            size_t n;
        } list;
        struct {
            uint32_t disc;
            struct cval *payload;
        } var;
        uint32_t flags;
        uint32_t rep;
    } of;
};

/* True for the number types whose lists are carried `raw`. */
static inline bool ctype_is_number(uint8_t kind)
{
    return kind >= CT_S8 && kind <= CT_F64;
}

#endif

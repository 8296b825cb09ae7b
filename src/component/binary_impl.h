/*
 * The component decoder's shared state (binary*.c). Not for the linker:
 * binary.h is the decoder's whole interface.
 *
 * Rules every file here keeps:
 *  - The input is hostile. All reads go through the bounds-checked reader
 *    (wasm/reader.h), limited to the current section's payload, so nothing
 *    reads past a section; offsets are reported from the start of the whole
 *    input (nested components included).
 *  - A count is checked against the bytes left before anything is
 *    allocated for it (every entry takes at least one byte), and against
 *    CBIN_MAX_COUNT. Everything decoded lives in the cbin's arena, whose
 *    limit bounds the memory a component can make us use.
 *  - Recursion follows input nesting only where a limit bounds it: nested
 *    components (CBIN_MAX_NESTING), component and instance types
 *    (CBIN_MAX_TYPE_NESTING), value type trees (CBIN_MAX_TYPE_DEPTH).
 *    Substituting and comparing types costs work units (max_work), so a
 *    few bytes naming a large type many times cannot take unbounded time.
 *  - The first error wins (struct spry_report); every function returns 0 or
 *    the negative code, and its callers goto fail/return at once.
 */
#ifndef SPRY_COMPONENT_BINARY_IMPL_H
#define SPRY_COMPONENT_BINARY_IMPL_H

#include "component/binary.h"
#include "wasm/reader.h"

#include <stdarg.h>

/*
 * Every struct ctype the decoder builds is the first member of a struct
 * cvt, which keeps what validation needs to know about the whole tree below
 * it, computed once from the children when the node is built (so nothing
 * ever walks a shared tree to learn these):
 *  - size: nodes of the expanded tree, counted as layout_check counts them
 *    (<= CBIN_MAX_TYPE_SIZE);
 *  - depth: levels (<= CBIN_MAX_TYPE_DEPTH);
 *  - elem_size, align: the canonical ABI's, with 64-bit pointers, as the
 *    2^28 bound of Binary.md is stated (elem_size saturates at the bound);
 *  - flags: what the tree contains.
 * Substituting resource ids changes none of these, so a substituted node is
 * a copy with new children.
 */
enum {
    CVT_RESOURCE = 1, /* an own or borrow */
    CVT_BORROW = 2,   /* a borrow */
    CVT_MEMORY = 4,   /* a string or list: lifting/lowering needs memory */
};

struct cvt {
    struct ctype t;
    uint32_t size;
    uint32_t elem_size;
    uint8_t align;
    uint8_t depth;
    uint8_t flags;
};

static inline const struct cvt *cvt_of(const struct ctype *t)
{
    return (const struct cvt *)t;
}

/* A function type, with the union of its parameters' and result's flags and
 * the sum of their sizes (what walking it costs). */
struct cft {
    struct cfunctype f;
    uint8_t flags;
    uint64_t size;
};

static inline const struct cft *cft_of(const struct cfunctype *f)
{
    return (const struct cft *)f;
}

/* A growable array in the arena: doubling, the old block abandoned (so at
 * most as much again is wasted). */
struct cvec {
    void *p;
    uint32_t n, cap;
};

/* A set of names (strongly-unique canonical forms) or a map from names to a
 * value, open addressing in the arena. */
struct cnames {
    struct cnames_slot *slots;
    uint32_t n, cap;
};

enum cscope_kind { SCOPE_COMPONENT, SCOPE_COMPTYPE, SCOPE_INSTTYPE, SCOPE_MODULETYPE };

/*
 * A scope: a component definition, or a component, instance or module type
 * being declared. Each has its own index spaces (Explainer.md: types start
 * empty in each type); outer aliases reach the enclosing scopes' spaces.
 * Vectors hold the element types of the matching struct cbin_component
 * fields.
 */
struct cscope {
    uint8_t kind; /* enum cscope_kind */
    struct cscope *outer;
    struct cbin_component *comp; /* SCOPE_COMPONENT */

    struct cvec core_funcs, core_tables, core_memories, core_globals, core_types, core_modules,
        core_instances;
    struct cvec funcs, types, instances, components;

    struct cvec defs;             /* SCOPE_COMPONENT: struct cbin_def */
    struct cvec imports, exports; /* struct cbin_import / cbin_export (component) or
                                     struct cbin_extern (types) */
    struct cvec children, modules_defined;
    struct cvec bound_imports, bound_exports; /* uint32_t: abstract ids (types) */
    struct cvec core_imports, core_exports;   /* SCOPE_MODULETYPE: struct spry_externtype */

    struct cnames import_names, export_names; /* strongly-unique canonical names */
    struct cnames resource_names; /* resource type imports/exports by name -> resource id */
};

/* A resource-id substitution, kept sorted by `from`. */
struct cmap {
    uint32_t n, cap;
    uint32_t *from, *to;
};

struct cdec {
    struct cbin *bin;
    struct spry_report *report;
    const uint8_t *base; /* the whole input: offsets are from here */
    size_t len;
    struct wasm_reader r; /* the current section's payload */
    struct cscope *scope;
    uint32_t nesting;      /* component definitions around the current one */
    uint32_t type_nesting; /* component/instance/module types being declared */
    uint64_t work, max_work;
    bool over_limit; /* the last failed allocation hit the arena's limit */
    struct cvec resources, components, modules;
};

/* ---- binary.c: errors, reads, allocation ------------------------------- */

static inline size_t cdec_offset(const struct cdec *d)
{
    return reader_offset(&d->r);
}

int cdec_fail(struct cdec *d, int code, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int cdec_nomem(struct cdec *d);

int cdec_u8(struct cdec *d, uint8_t *out);
int cdec_u32(struct cdec *d, uint32_t *out);
/* A vector count: at most the bytes left (each entry takes one at least)
 * and CBIN_MAX_COUNT. */
int cdec_count(struct cdec *d, uint32_t *out);
/* A core:name: length-prefixed UTF-8, copied NUL-terminated into the arena.
 * Names containing NUL are rejected (nothing here needs them). */
int cdec_name(struct cdec *d, const char **out, uint32_t *len);

/* Zeroed memory from the component's arena, or NULL (then cdec_nomem says
 * whether the decoder's memory limit or the host ran out). Never NULL
 * otherwise, also for 0 bytes or 0 elements: an empty vector's array is a
 * valid pointer, so callers need no special case for it. */
void *cdec_alloc(struct cdec *d, size_t size);
void *cdec_alloc_array(struct cdec *d, size_t count, size_t size);
/* Appends a zeroed element of `size` bytes; *out points to it. */
int cdec_push(struct cdec *d, struct cvec *v, size_t size, void **out);
int cdec_push_u32(struct cdec *d, struct cvec *v, uint32_t value);
/* Charges work units for type substitution and comparison. */
int cdec_work(struct cdec *d, uint64_t units);

/* A new resource id; *out is its id. */
int cdec_resource_new(struct cdec *d, uint8_t kind, const char *name, uint32_t index,
                      uint32_t *out);
static inline struct cbin_resource *cdec_resource(struct cdec *d, uint32_t id)
{
    return &((struct cbin_resource *)d->resources.p)[id];
}

/* Records a definition of the current component scope; *out is it. */
int cdec_def(struct cdec *d, uint8_t op, uint8_t sort, uint32_t index, size_t offset,
             struct cbin_def **out);

/* The scope `count` levels out (0: the current one), or NULL. */
struct cscope *cdec_scope_out(struct cdec *d, uint32_t count);

/* Adds an item described by e (sort, type) to its sort's space of scope s;
 * *index is its new index. */
int cdec_space_add(struct cdec *d, struct cscope *s, const struct cbin_extern *e, uint32_t *index);

/* Number of entries in `sort`'s index space of scope s. */
uint32_t cdec_space_count(const struct cscope *s, uint8_t sort);

/* Decodes one component (preamble and sections) from the current reader
 * position, nested in the current scope when there is one. */
int cdec_component(struct cdec *d, size_t end, struct cbin_component **out);

/* ---- binary_names.c ---------------------------------------------------- */

/* Checks name[0..len) against the extern-name grammar (Explainer.md
 * "Import and Export Definitions"); *interface tells which kind it is. */
int cnames_check_extern(struct cdec *d, size_t at, const char *name, uint32_t len, bool *interface);
/* A label (kebab case): record fields, cases, flags, params. */
bool cnames_is_label(const char *s, size_t len);
/* Adds the strongly-unique canonical form of `name` to `set`; an error names
 * `what` when it is already there. */
int cnames_add_unique(struct cdec *d, struct cnames *set, size_t at, const char *name, uint32_t len,
                      const char *what);
int cnames_map_put(struct cdec *d, struct cnames *map, const char *name, uint32_t value);
bool cnames_map_get(const struct cnames *map, const char *name, size_t len, uint32_t *value);
/* The [constructor]/[method]/[static] rules for an extern named `name` of
 * `sort` with type `type`, against the scope's resource names. */
int cnames_check_annotation(struct cdec *d, size_t at, const struct cscope *s,
                            const struct cbin_extern *e);
/* A type import or export that is a resource: marks it named and records it
 * by name in s->resource_names. */
int cnames_note_resource(struct cdec *d, struct cscope *s, const struct cbin_extern *e);
/* Sorts a list's by_name permutation; fails on duplicate names (exact). */
int cnames_index_externs(struct cdec *d, struct cbin_externs *list);
int cnames_index_coreexterns(struct cdec *d, struct cbin_coreexterns *list, size_t at,
                             const char *what);
/* Reads nameattributes (Binary.md) into e's name fields, checked. */
int cnames_read_extern_name(struct cdec *d, struct cbin_extern *e);

/* ---- binary_types.c ----------------------------------------------------- */

int ctypes_section(struct cdec *d);      /* section 7 */
int ctypes_core_section(struct cdec *d); /* section 3 */
/* A valtype (a type index or a primitive) as a ctype. */
int ctypes_valtype(struct cdec *d, const struct ctype **out);
/* externtype (Binary.md) in the current scope, into e->sort/type/module.
 * A `(sub resource)` bound and the abstract resources of instance types get
 * fresh ids of `kind` (cfresh_extern), appended to `bound`; `index` is the
 * import index for IMPORTED ids. */
int ctypes_externtype(struct cdec *d, struct cbin_extern *e, uint8_t kind, uint32_t index,
                      struct cvec *bound);
/* A core externtype in a module type or a core import. */
int ctypes_core_externtype(struct cdec *d, const struct cscope *types, struct spry_externtype *out);
extern const struct cvt ctypes_prims[]; /* indexed by enum ctype_kind, CT_BOOL..CT_STRING */

/* ---- binary_typeops.c ------------------------------------------------- */

/* Builds a node's struct cvt fields from its kind and children; fails with
 * SPRY_ETOOBIG past the size or depth limits. */
int ctypes_finish(struct cdec *d, size_t at, struct cvt *n);
void ctypes_finish_func(struct cft *f);

void cmap_fini(struct cmap *m);
int cmap_put(struct cdec *d, struct cmap *m, uint32_t from, uint32_t to);
bool cmap_get(const struct cmap *m, uint32_t from, uint32_t *to);

int csubst_value(struct cdec *d, const struct cmap *m, const struct ctype *t,
                 const struct ctype **out);
int csubst_func(struct cdec *d, const struct cmap *m, const struct cfunctype *f,
                const struct cfunctype **out);
int csubst_type(struct cdec *d, const struct cmap *m, const struct cbin_type *t,
                struct cbin_type *out);
int csubst_inst(struct cdec *d, const struct cmap *m, const struct cbin_insttype *t,
                const struct cbin_insttype **out);

/* A copy of e whose bound abstract ids are replaced by fresh ones, of
 * `kind` (ABSTRACT for declarations in types, IMPORTED/INSTANCE for a
 * component's imports and instances; those copies bind nothing). The new
 * ids are appended to `bound` when it is not NULL. */
int cfresh_extern(struct cdec *d, struct cbin_extern *e, uint8_t kind, uint32_t index,
                  struct cvec *bound);

int cequal_value(struct cdec *d, const struct ctype *a, const struct ctype *b, bool *eq);
int cequal_func(struct cdec *d, const struct cfunctype *a, const struct cfunctype *b, bool *eq);

/* Checks that `actual` (a concrete item) can be given where `expected` is
 * declared. A resource of expected that is ABSTRACT and not yet in m is
 * bound to actual's resource at the same place; everything else in
 * expected is substituted by m and must then equal actual. `what` names
 * the place for messages. */
int cmatch_extern(struct cdec *d, size_t at, const struct cbin_extern *expected,
                  const struct cbin_extern *actual, struct cmap *m, const char *what);
/* Drops the bound list of an instance type whose abstract ids a match has
 * substituted: the extern now describes a concrete instance. */
int cconcrete_extern(struct cdec *d, struct cbin_extern *e);

/* Calls fn for every resource id in e's type (value types, functions,
 * instance exports; component types are skipped: their ids are their own). */
int cwalk_resources(struct cdec *d, const struct cbin_extern *e,
                    int (*fn)(struct cdec *, uint32_t, void *), void *arg);

/* Core extern subtyping (imports: actual must be a subtype of expected). */
bool cmatch_core(const struct spry_externtype *expected, const struct spry_externtype *actual);

/* The extern describing item `index` of `sort` in component scope s. */
int cdec_item_extern(struct cdec *d, const struct cscope *s, uint8_t sort, uint32_t index,
                     struct cbin_extern *out);

/* ---- binary_canon.c ----------------------------------------------------- */

int ccanon_section(struct cdec *d);            /* section 8 */
int calias_section(struct cdec *d);            /* section 6 */
int calias_read(struct cdec *d, bool in_type); /* one alias (definition or declarator) */
int cinst_core_section(struct cdec *d);        /* section 2 */
int cinst_section(struct cdec *d);             /* section 5 */
/* A (core) sort byte pair as in Binary.md `sort`. */
int cdec_sort(struct cdec *d, uint8_t *out);
int cdec_core_sort(struct cdec *d, uint8_t *out);

#endif

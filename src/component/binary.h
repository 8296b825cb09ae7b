/*
 * The component binary format, decoded and validated
 * (component-model design/mvp/Binary.md, Explainer.md).
 *
 * cbin_decode() turns the bytes of a component (preamble 00 61 73 6d 0d 00
 * 01 00) into a struct cbin: a tree of struct cbin_component (the root and
 * its nested components), every type index resolved into trees of struct
 * ctype (ctype.h), every core module loaded with spry_module_load, and every
 * definition validated. The result is read-only and shareable between
 * threads; it is freed as a whole with cbin_destroy().
 *
 * What the linker reads
 * ---------------------
 * A component's `defs` list its definitions in binary order: the "what to
 * do" of instantiation. Each definition that creates something at run time
 * says so (op), names the sort and index of what it adds, and carries its
 * operands. Walking defs in order, a linker keeps one runtime array per
 * sort, indexed as below, and never meets a forward reference: the binary
 * format is acyclic and every operand index was checked to be in range and
 * of the right sort when its definition was decoded.
 *
 * Index spaces (Explainer.md "Index Spaces") are built in definition order,
 * imports, aliases and definitions interleaved as they appear. For each sort
 * the component keeps the *type* of every index (what validation proved
 * about it); the *origin* of index i is the def whose (sort, index) is
 * (that sort, i). Static things — types, core types, core modules defined
 * inline, nested components, outer aliases — need no runtime action but
 * still get a def, so that every index has exactly one origin.
 *
 * Types
 * -----
 * Value types are struct ctype trees (ctype.h), shared between trees and
 * never containing type indices. A component-level type index names a
 * struct cbin_type: a value type, a function type (struct cfunctype), a
 * resource, an instance type or a component type. Instance and component
 * types list their exports (and imports) as struct cbin_extern, with
 * resolved types.
 *
 * Resources
 * ---------
 * Every resource type the decoder meets gets an id in one space per decoded
 * tree, cbin->resources; struct ctype's own/borrow `u.resource` is such an
 * id. An id is one of:
 *  - DEFINED: `(type (resource (rep i32) (dtor f)))` in component `owner`;
 *    a fresh resource per instance of that component at run time.
 *  - IMPORTED: an abstract resource of an import of component `owner`
 *    (`(import "r" (type (sub resource)))`, or a `(sub resource)` export of
 *    an imported instance's type, e.g. wasi:io/streams' "output-stream");
 *    `index` is the import, `name` the type export that declared it. The
 *    host (or the parent component) binds it at link time.
 *  - INSTANCE: a resource exported by a component instance created with
 *    `instantiate` in component `owner` (`index`: that instance). At run
 *    time it is whatever the child instance's export resolves to.
 *  - ABSTRACT: a type variable bound inside an instance or component *type*
 *    (struct cbin_insttype.bound). It never appears in the types of a
 *    component's index spaces: importing or instantiating replaces the
 *    abstract ids of a type with fresh IMPORTED or INSTANCE ids.
 * Ids are never shared between components: outer aliases of types that
 * refer to resources across a component boundary are rejected (Binary.md),
 * and instantiation substitutes the parent's ids for the child's imports.
 *
 * Core modules are loaded at decode time (spry_module_load): validating a
 * core instance's arguments and a canon lift's callee needs the modules'
 * import and export types, and the linker needs loaded modules anyway, so
 * each is decoded and validated exactly once, when the component is.
 *
 * Not supported (SPRY_EUNSUPPORTED, with the offset): the 🪙 value and
 * start sections and the value sort; async (🔀), thread (🧵) and
 * error-context (📝) canon built-ins and options; async function types;
 * stream, future, error-context, map and fixed-length list types; resource
 * reps other than i32; GC core types and core tags; nested namespaces and
 * packages in interface names; named function results (pre-0.2 encoding).
 */
#ifndef SPRY_COMPONENT_BINARY_H
#define SPRY_COMPONENT_BINARY_H

#include "component/ctype.h"

#include "base/arena.h"
#include "spry/wasm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Implementation limits; inputs beyond them get SPRY_ETOOBIG. */
enum {
    CBIN_MAX_NESTING = 16,      /* nested components (the root is depth 0) */
    CBIN_MAX_TYPE_NESTING = 32, /* component and instance types inside each other */
    /* One value type tree: its levels, and its nodes counted as layout.h
     * counts them (each use of a shared node, plus one per field, case and
     * label). At most what layout_check accepts, so that every decoded type
     * passes it (the canonical ABI requires that). */
    CBIN_MAX_TYPE_DEPTH = 64,
    CBIN_MAX_TYPE_SIZE = 1000000,
    CBIN_MAX_RESOURCES = 100000,  /* resource ids of one decoded tree */
    CBIN_MAX_COUNT = 1000000,     /* entries of one index space, list or vector */
    CBIN_MAX_ELEM_SIZE = 1 << 28, /* Binary.md: elem_size(t, i64) < 2^28 */
};

/* Sorts (Binary.md `sort`, `core:sort`): which index space an index is in. */
enum cbin_sort {
    CBIN_CORE_FUNC,
    CBIN_CORE_TABLE,
    CBIN_CORE_MEMORY,
    CBIN_CORE_GLOBAL,
    CBIN_CORE_TYPE,
    CBIN_CORE_MODULE,
    CBIN_CORE_INSTANCE,
    CBIN_FUNC,
    CBIN_VALUE, /* decoded only to be rejected */
    CBIN_TYPE,
    CBIN_COMPONENT,
    CBIN_INSTANCE,
    CBIN_SORTS
};

const char *cbin_sort_name(unsigned sort);

/* ---- types ------------------------------------------------------------- */

enum cbin_type_kind {
    CBIN_T_VALUE,     /* u.value */
    CBIN_T_FUNC,      /* u.func */
    CBIN_T_RESOURCE,  /* u.resource: id in cbin->resources */
    CBIN_T_INSTANCE,  /* u.instance */
    CBIN_T_COMPONENT, /* u.component */
};

struct cbin_insttype;
struct cbin_comptype;
struct cbin_moduletype;

/* What a component-level type index names. */
struct cbin_type {
    uint8_t kind; /* enum cbin_type_kind */
    union {
        const struct ctype *value;
        const struct cfunctype *func;
        uint32_t resource;
        const struct cbin_insttype *instance;
        const struct cbin_comptype *component;
    } u;
};

/*
 * An import or export of a component, instance type or component type.
 * name is NUL-terminated and passed the extern-name grammar (a plain kebab
 * name, [constructor]/[method]/[static] annotations included, or an
 * interface name "ns:pkg/iface@version"). The sort says what it is:
 *  - CBIN_FUNC: type.kind == CBIN_T_FUNC;
 *  - CBIN_TYPE: type is the bound: a resource (`sub resource`, or `eq` of
 *    one) or any other type (`eq`);
 *  - CBIN_INSTANCE / CBIN_COMPONENT: type.kind CBIN_T_INSTANCE / _COMPONENT;
 *  - CBIN_CORE_MODULE: module.
 */
struct cbin_extern {
    const char *name;
    uint32_t name_len;
    bool interface;             /* name is an interface name */
    const char *implements;     /* 🏷️ attribute, or NULL */
    const char *version_suffix; /* 🔗 attribute, or NULL */
    uint8_t sort;               /* enum cbin_sort */
    struct cbin_type type;
    const struct cbin_moduletype *module;
};

/* A list of externs in declaration order, with a lookup order by name
 * (by_name: a permutation sorted by (length, bytes)). */
struct cbin_externs {
    uint32_t n;
    const struct cbin_extern *v;
    const uint32_t *by_name;
};

/*
 * An instance type: its exports. `bound` lists, ascending, the ABSTRACT
 * resource ids this type introduces (its `(sub resource)` exports and those
 * of instance types nested in it); empty for the type of a concrete instance
 * in a component's instance space. Every abstract id is bound by exactly
 * one type: using a type in a declaration copies it with fresh ids.
 */
struct cbin_insttype {
    struct cbin_externs exports;
    uint32_t nbound;
    const uint32_t *bound;
};

/* A component type: imports (bound_imports: the abstract resources they
 * introduce, which instantiation replaces with its arguments) and exports
 * (bound_exports: fresh for every instance). */
struct cbin_comptype {
    struct cbin_externs imports;
    struct cbin_externs exports;
    uint32_t nbound_imports, nbound_exports;
    const uint32_t *bound_imports, *bound_exports;
};

/* Core module type: imports (module, name, type) and exports (name, type).
 * Strings have exact lengths and are not NUL-terminated; func types point
 * into the module or the decoded tree. */
struct cbin_coreexterns {
    uint32_t n;
    const struct spry_externtype *v;
    const uint32_t *by_name; /* exports only: sorted by name */
};

struct cbin_moduletype {
    struct cbin_coreexterns imports;
    struct cbin_coreexterns exports;
};

enum cbin_coretype_kind { CBIN_CT_FUNC, CBIN_CT_MODULE };

struct cbin_coretype {
    uint8_t kind;
    union {
        const struct spry_functype *func;
        const struct cbin_moduletype *module;
    } u;
};

/* ---- resources ---------------------------------------------------------- */

enum cbin_res_kind { CBIN_RES_DEFINED, CBIN_RES_IMPORTED, CBIN_RES_INSTANCE, CBIN_RES_ABSTRACT };

struct cbin_resource {
    uint8_t kind;     /* enum cbin_res_kind */
    uint8_t rep;      /* DEFINED: SPRY_I32 */
    bool has_dtor;    /* DEFINED */
    bool named;       /* imported or exported by its owner (externally visible) */
    uint32_t dtor;    /* DEFINED: core func index in the owner; type [i32] -> [] */
    uint32_t owner;   /* serial of the component whose definitions use it */
    uint32_t index;   /* IMPORTED: import index; INSTANCE: component instance index */
    const char *name; /* the export or import name that declared it, or NULL */
};

/* ---- definitions -------------------------------------------------------- */

enum cbin_op {
    CBIN_OP_IMPORT,           /* u.index: imports[] */
    CBIN_OP_EXPORT,           /* u.index: exports[] */
    CBIN_OP_CORE_MODULE,      /* u.index: modules[] (inline core module) */
    CBIN_OP_COMPONENT,        /* u.index: children[] (nested component) */
    CBIN_OP_CORE_INSTANTIATE, /* u.inst: module, args (sort CBIN_CORE_INSTANCE) */
    CBIN_OP_CORE_BUNDLE,      /* u.bundle: core items by name (inline exports) */
    CBIN_OP_CORE_ALIAS,       /* u.alias: export `name` of core instance `instance` */
    CBIN_OP_INSTANTIATE,      /* u.inst: component, args */
    CBIN_OP_BUNDLE,           /* u.bundle: component items by name */
    CBIN_OP_ALIAS,            /* u.alias: export `name` of component instance `instance` */
    CBIN_OP_ALIAS_OUTER,      /* u.outer: static, already resolved */
    CBIN_OP_TYPE,             /* a type or core type definition: static */
    CBIN_OP_RESOURCE,         /* u.index: resource id defined here */
    CBIN_OP_LIFT,             /* u.canon */
    CBIN_OP_LOWER,            /* u.canon */
    CBIN_OP_RESOURCE_NEW,     /* u.index: resource id */
    CBIN_OP_RESOURCE_DROP,    /* u.index: resource id */
    CBIN_OP_RESOURCE_REP,     /* u.index: resource id */
};

/* An instantiation argument or a bundle item: name -> (sort, index). */
struct cbin_arg {
    const char *name; /* NUL-terminated */
    uint32_t name_len;
    uint8_t sort;
    uint32_t index;
};

enum cbin_encoding { CBIN_UTF8, CBIN_UTF16, CBIN_LATIN1_UTF16 };

struct cbin_canon_opts {
    uint8_t encoding; /* enum cbin_encoding; utf8 when absent */
    bool has_memory, has_realloc, has_post_return;
    uint32_t memory;      /* core memory index */
    uint32_t realloc;     /* core func index, (i32 i32 i32 i32) -> i32 */
    uint32_t post_return; /* core func index (lift only) */
};

/*
 * canon lift / lower. `core` is the flattened core signature
 * (layout_flatten_functype, CanonicalABI.md flatten_functype): for lift,
 * the callee's type; for lower, the type of the core function it defines.
 * More than 16 flat params are passed through memory (one i32), more than
 * one flat result is returned through memory (lift: an i32 result; lower:
 * an extra i32 param).
 */
struct cbin_canon {
    uint32_t func; /* lift: core func index; lower: component func index */
    const struct cfunctype *type;
    struct cbin_canon_opts opts;
    struct spry_functype core;
    bool params_in_memory, results_in_memory;
};

struct cbin_def {
    uint8_t op;      /* enum cbin_op */
    uint8_t sort;    /* the sort of what it adds; CBIN_SORTS when it adds nothing */
    uint32_t index;  /* its index in that sort's space */
    uint32_t offset; /* byte offset of the definition in the input */
    union {
        uint32_t index;
        struct {
            uint32_t of; /* core module or component index */
            uint32_t nargs;
            const struct cbin_arg *args;
        } inst;
        struct {
            uint32_t n;
            const struct cbin_arg *items;
        } bundle;
        struct {
            uint32_t instance;
            const char *name;
        } alias;
        struct {
            uint32_t count, index; /* de Bruijn: scopes out, index there */
        } outer;
        const struct cbin_canon *canon;
    } u;
};

/* ---- components ---------------------------------------------------------- */

struct cbin_import {
    struct cbin_extern ext; /* type with fresh IMPORTED resource ids */
    uint32_t index;         /* index it adds in ext.sort's space */
};

struct cbin_export {
    struct cbin_extern ext; /* the exported type (ascribed when given) */
    uint32_t item;          /* the exported item's index in ext.sort's space */
    uint32_t index;         /* the new index the export adds in that space */
};

struct cbin_module {
    const struct spry_module *module; /* inline module, loaded; NULL otherwise */
    const struct cbin_moduletype *type;
};

struct cbin_componentref {
    const struct cbin_component *def; /* a nested component; NULL if imported or aliased */
    const struct cbin_comptype *type;
};

struct cbin_component {
    uint32_t serial;                     /* index in cbin->components */
    const struct cbin_component *parent; /* NULL for the root */
    uint32_t offset;                     /* byte offset of its preamble */

    struct cbin_def *defs;
    uint32_t ndefs;
    struct cbin_import *imports;
    uint32_t nimports;
    struct cbin_export *exports;
    uint32_t nexports;
    struct cbin_component **children; /* nested component definitions */
    uint32_t nchildren;
    struct cbin_module *modules_defined; /* inline core modules, in order */
    uint32_t nmodules_defined;

    /* Index spaces: the type of each index. */
    const struct spry_functype **core_funcs;
    uint32_t ncore_funcs;
    struct spry_tabletype *core_tables;
    uint32_t ncore_tables;
    struct spry_limits *core_memories;
    uint32_t ncore_memories;
    struct spry_globaltype *core_globals;
    uint32_t ncore_globals;
    struct cbin_coretype *core_types;
    uint32_t ncore_types;
    struct cbin_module *core_modules;
    uint32_t ncore_modules;
    const struct cbin_coreexterns **core_instances; /* exports of each core instance */
    uint32_t ncore_instances;
    const struct cfunctype **funcs;
    uint32_t nfuncs;
    struct cbin_type *types;
    uint32_t ntypes;
    const struct cbin_insttype **instances;
    uint32_t ninstances;
    struct cbin_componentref *components;
    uint32_t ncomponents;

    /* This component's type, as a parent sees it: imports with its own
     * IMPORTED ids abstract, exports with DEFINED/INSTANCE ids abstract. */
    const struct cbin_comptype *type;
};

struct cbin {
    struct spry_arena arena; /* everything below, but the modules */
    struct cbin_component *root;
    struct cbin_component **components; /* by serial; [0] is the root */
    uint32_t ncomponents;
    struct cbin_resource *resources;
    uint32_t nresources;
    struct spry_module **modules; /* every loaded core module, owned */
    uint32_t nmodules;
};

struct cbin_limits {
    size_t max_bytes;  /* input size (0: 1 GiB) */
    size_t max_memory; /* decoded representation, modules excluded (0: 256 MiB + 16 x input) */
    uint64_t max_work; /* type substitutions and comparisons, in nodes visited (0: 50 M) */
};

/* True when bytes start with the component preamble's magic and layer
 * (any version): spry run's choice between module and component. */
bool cbin_is_component(const uint8_t *bytes, size_t len);

/*
 * Decodes and validates a component. The bytes are not kept (names are
 * copied; core modules are loaded from them). limits may be NULL. Returns
 * 0, or SPRY_EMALFORMED (bad encoding), SPRY_EINVALID (fails validation),
 * SPRY_EUNSUPPORTED (a feature Spry does not implement), SPRY_ETOOBIG (an
 * implementation limit) or SPRY_ENOMEM; report says what and names the
 * byte offset. *out is written only on success.
 */
int cbin_decode(const uint8_t *bytes, size_t len, const struct cbin_limits *limits,
                struct cbin **out, struct spry_report *report);
void cbin_destroy(struct cbin *bin);

/* The extern named name[0..len) of a list, or NULL. */
const struct cbin_extern *cbin_externs_find(const struct cbin_externs *list, const char *name,
                                            size_t len);
/* The core export named name[0..len) of a list with by_name, or NULL. */
const struct spry_externtype *cbin_coreexterns_find(const struct cbin_coreexterns *list,
                                                    const char *name, size_t len);

#endif

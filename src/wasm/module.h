/*
 * The decoded form of a WebAssembly module (https://webassembly.github.io/spec/core/binary/).
 *
 * Produced by decode_module() and checked by validate_module(); read-only
 * afterwards, except for the lazily filled translation cache of each function
 * (wasm_func.code), which is published with an atomic store.
 *
 * Index spaces follow the spec: imported entities come first, so for
 * functions, tables, memories and globals, index i < num_imported_X names an
 * import and the rest name definitions. The arrays below hold the whole index
 * space (imports included) so that a lookup by index never needs to know
 * which part it is in.
 *
 * All pointers into the module's bytes (names, bodies, data) point into
 * `bytes`, the module's own copy.
 */
#ifndef SPRY_WASM_MODULE_H
#define SPRY_WASM_MODULE_H

#include "spry/wasm.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Implementation limits (also the bounds that stop hostile sizes). */
enum {
    WASM_MAX_TYPES = 1000000,
    WASM_MAX_FUNCS = 1000000,
    WASM_MAX_IMPORTS = 100000,
    WASM_MAX_EXPORTS = 100000,
    WASM_MAX_GLOBALS = 1000000,
    WASM_MAX_TABLES = 100000,
    WASM_MAX_MEMORIES = 1, /* Wasm 2.0 without multi-memory */
    WASM_MAX_ELEMS = 100000,
    WASM_MAX_DATAS = 100000,
    WASM_MAX_PARAMS = 1000,
    WASM_MAX_RESULTS = 1000,
    WASM_MAX_LOCALS = 50000, /* params + declared locals of one function */
    WASM_MAX_BODY = 7654321, /* bytes of one function body */
    WASM_MAX_TABLE_ELEMS = 10000000,
    WASM_PAGE_SIZE = 65536,
    WASM_MAX_PAGES = 65536, /* 4 GiB for a 32-bit memory */
};

/* External kinds and section ids as encoded in the binary format. */
enum wasm_section {
    WASM_SEC_CUSTOM = 0,
    WASM_SEC_TYPE = 1,
    WASM_SEC_IMPORT = 2,
    WASM_SEC_FUNCTION = 3,
    WASM_SEC_TABLE = 4,
    WASM_SEC_MEMORY = 5,
    WASM_SEC_GLOBAL = 6,
    WASM_SEC_EXPORT = 7,
    WASM_SEC_START = 8,
    WASM_SEC_ELEMENT = 9,
    WASM_SEC_CODE = 10,
    WASM_SEC_DATA = 11,
    WASM_SEC_DATACOUNT = 12,
};

struct wasm_functype {
    uint32_t nparams;
    uint32_t nresults;
    uint8_t *types;   /* nparams + nresults value types, params first; never NULL */
    uint32_t type_id; /* process-wide id: equal ids <=> structurally equal types */
};

/*
 * A constant expression
 * (https://webassembly.github.io/spec/core/valid/instructions.html#constant-expressions) in decoded
 * form. Wasm 2.0 allows exactly one instruction before `end`; the extended-const proposal
 * (sequences of i32/i64 add/sub/mul) is decoded into `ops` so that the evaluator is one loop either
 * way.
 */
enum wasm_const_op {
    WASM_CONST_I32,        /* value.i32 */
    WASM_CONST_I64,        /* value.i64 */
    WASM_CONST_F32,        /* value.bits */
    WASM_CONST_F64,        /* value.bits */
    WASM_CONST_REF_NULL,   /* value.reftype */
    WASM_CONST_REF_FUNC,   /* value.index */
    WASM_CONST_GLOBAL_GET, /* value.index */
    WASM_CONST_I32_ADD,
    WASM_CONST_I32_SUB,
    WASM_CONST_I32_MUL,
    WASM_CONST_I64_ADD,
    WASM_CONST_I64_SUB,
    WASM_CONST_I64_MUL,
};

struct wasm_const_instr {
    uint8_t op; /* enum wasm_const_op */
    union {
        int32_t i32;
        int64_t i64;
        uint64_t bits;
        uint32_t index;
        uint8_t reftype;
    } value;
};

struct wasm_constexpr {
    uint32_t count;                /* >= 1 */
    struct wasm_const_instr first; /* the common single-instruction case, no allocation */
    struct wasm_const_instr *rest; /* count - 1 more, or NULL */
    uint32_t offset;               /* byte offset of the expression, for errors */
};

struct wasm_globaltype {
    uint8_t type;
    bool mutable_;
};

struct wasm_tabletype {
    uint8_t elem; /* SPRY_FUNCREF or SPRY_EXTERNREF */
    struct spry_limits limits;
};

struct wasm_import {
    const char *module; /* into bytes; not NUL-terminated */
    const char *name;
    uint32_t module_len;
    uint32_t name_len;
    uint8_t kind;   /* enum spry_extern_kind */
    uint32_t index; /* index in its kind's index space */
};

struct wasm_export {
    const char *name; /* into bytes; not NUL-terminated */
    uint32_t name_len;
    uint8_t kind;
    uint32_t index;
};

struct interp_code; /* translate.h */

struct wasm_func {
    uint32_t type_index;
    bool imported;
    /* Defined functions only: */
    uint32_t body_offset; /* byte offset of the body (after its size) in bytes */
    uint32_t body_size;
    uint32_t expr_offset; /* byte offset of the first instruction (after locals) */
    uint32_t nlocals;     /* declared locals, params excluded */
    uint8_t *local_types; /* nlocals value types */
    /* Translated code, built on first call; NULL until then. code_checked
     * is the same for the interpreter that checks every memory access
     * (interp.c: used while a pooled memory has read-write pages beyond
     * its size). */
    _Atomic(struct interp_code *) code;
    _Atomic(struct interp_code *) code_checked;
};

struct wasm_global {
    struct wasm_globaltype type;
    bool imported;
    struct wasm_constexpr init; /* defined globals only */
};

struct wasm_table {
    struct wasm_tabletype type;
    bool imported;
};

struct wasm_memory {
    struct spry_limits limits; /* pages */
    bool imported;
};

enum wasm_segment_mode {
    WASM_SEG_ACTIVE = 0,
    WASM_SEG_PASSIVE = 1,
    WASM_SEG_DECLARATIVE = 2,
};

struct wasm_elem {
    uint8_t mode;
    uint8_t reftype;
    uint32_t table;               /* active only */
    struct wasm_constexpr offset; /* active only */
    uint32_t count;
    struct wasm_constexpr *items; /* count items (ref.func i / ref.null t / global.get) */
};

struct wasm_data {
    uint8_t mode;
    uint32_t memory;              /* active only */
    struct wasm_constexpr offset; /* active only */
    const uint8_t *bytes;         /* into module bytes */
    uint32_t size;
};

struct wasm_custom {
    const char *name; /* into bytes; not NUL-terminated */
    uint32_t name_len;
    const uint8_t *data;
    uint32_t size;
};

struct wasm_module {
    uint8_t *bytes; /* owned copy of the input */
    size_t len;

    struct wasm_functype *types;
    uint32_t ntypes;

    struct wasm_import *imports;
    uint32_t nimports;

    struct wasm_func *funcs; /* whole index space */
    uint32_t nfuncs, num_imported_funcs;
    struct wasm_table *tables;
    uint32_t ntables, num_imported_tables;
    struct wasm_memory *memories;
    uint32_t nmemories, num_imported_memories;
    struct wasm_global *globals;
    uint32_t nglobals, num_imported_globals;

    struct wasm_export *exports;
    uint32_t nexports;

    bool has_start;
    uint32_t start;

    struct wasm_elem *elems;
    uint32_t nelems;
    struct wasm_data *datas;
    uint32_t ndatas;
    bool has_datacount;
    uint32_t datacount;

    /* Functions referenced outside function bodies (exports, element
     * segments, global initialisers): the set `ref.func` may name
     * (https://webassembly.github.io/spec/core/valid/modules.html, C.refs). */
    uint8_t *declared_refs; /* nfuncs bytes, 1 when declared */

    struct wasm_custom *customs;
    uint32_t ncustoms;

    /* From the "name" custom section; NULL entries when absent. Decoding the
     * name section never fails the module: a malformed one is ignored. */
    char **func_names; /* nfuncs entries, NUL-terminated, or NULL */
    char *module_name;

    /* The native tier's code (native.h), loaded before the module is
     * published when it was asked for; NULL otherwise. */
    struct native_module *native;
};

/* Decodes bytes into a module, without validating function bodies. The
 * module takes ownership of `bytes` (allocated with spry_malloc), also on
 * failure. Returns SPRY_EMALFORMED with the offset in `report`. */
int decode_module(uint8_t *bytes, size_t len, struct wasm_module **out, struct spry_report *report);
void module_free(struct wasm_module *module);

/* Validates everything decode_module does not: function bodies, constant
 * expressions, indices, limits, the start function, export names.
 * Returns SPRY_EINVALID with the offset in `report`. */
int validate_module(const struct wasm_module *module, struct spry_report *report);

/* The function type of function index `f`. */
static inline const struct wasm_functype *module_func_type(const struct wasm_module *m, uint32_t f)
{
    return &m->types[m->funcs[f].type_index];
}

/* The process-wide id of a function type, interning it on first sight.
 * Thread-safe. Returns 0 when out of memory (ids start at 1). */
uint32_t functype_intern(const uint8_t *types, uint32_t nparams, uint32_t nresults);

#endif

/*
 * Internals of the binary decoder (decode.c, decode_names.c) and the pure
 * queries on a decoded module (module.c). decode_module() and module_free()
 * themselves are declared in module.h.
 *
 * What decode_module() leaves to the validator: function bodies (not even
 * their instructions are decoded), every index (type, function, table,
 * memory, global, element, data), the types of constant expressions (an
 * empty one has count 0), limits ranges, the number of memories, whether a
 * data count section is required, and whether extended-const instructions
 * (i32/i64 add, sub, mul) are allowed.
 *
 * Pointers: wasm_functype.types is never NULL (also for [] -> []);
 * wasm_func.local_types is NULL when nlocals is 0. module->func_names is
 * NULL when the name section names no function; otherwise it has nfuncs
 * entries, NULL for unnamed ones.
 */
#ifndef SPRY_WASM_DECODE_H
#define SPRY_WASM_DECODE_H

#include "spry/wasm.h"
#include "wasm/module.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when bytes[0..len) is well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF), as names must be
 * (https://webassembly.github.io/spec/core/binary/values.html#names). */
bool decode_utf8_valid(const uint8_t *bytes, size_t len);

/* Decodes the payload of a "name" custom section into module->module_name
 * and module->func_names (https://webassembly.github.io/spec/core/appendix/custom.html).
 * A malformed section changes nothing and is not an error. Returns 0 or
 * SPRY_ENOMEM. Requires the function index space to be complete. */
int decode_name_section(struct wasm_module *module, const uint8_t *data, size_t size);

/* Number of imports / exports of a module. */
size_t module_import_count(const struct wasm_module *module);
size_t module_export_count(const struct wasm_module *module);

/* Describes import / export `index` (< the count) into *out; strings point
 * into the module. A function's type is read from the module's types, so
 * the module must have been validated. Returns 0, or SPRY_EINVAL when index
 * is out of range (out is then untouched). */
int module_import_desc(const struct wasm_module *module, size_t index, struct spry_externtype *out);
int module_export_desc(const struct wasm_module *module, size_t index, struct spry_externtype *out);

#endif

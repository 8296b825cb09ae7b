/*
 * The `spectest` host module the spec scripts import from
 * (https://github.com/WebAssembly/spec/tree/main/interpreter#spectest-host-module):
 *
 *   print, print_i32, print_i64, print_f32, print_f64, print_i32_f32,
 *   print_f64_f64   functions of those parameter types that do nothing;
 *   global_i32, global_i64   immutable, 666;
 *   global_f32, global_f64   immutable, 666.6;
 *   table            funcref, 10..20 elements;
 *   memory           1..2 pages.
 *
 * The objects are created in, and owned by, one store (one per script, as
 * every instance of a script shares them).
 */
#ifndef SPRY_SPEC_SPECTEST_H
#define SPRY_SPEC_SPECTEST_H

#include "spry/wasm.h"

#include <stddef.h>

enum { SPECTEST_EXPORTS = 13 };

struct spectest {
    const char *names[SPECTEST_EXPORTS]; /* static strings */
    struct spry_extern exports[SPECTEST_EXPORTS];
    size_t count;
};

/* Creates the objects in `store`; on failure returns the engine's code with
 * what failed in `report`. */
int spectest_init(struct spectest *st, struct spry_store *store, struct spry_report *report);

/* The export `name` (exact bytes); SPRY_ENOTFOUND when there is none. */
int spectest_lookup(const struct spectest *st, const char *name, size_t len,
                    struct spry_extern *out);

#endif

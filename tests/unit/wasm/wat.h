/* Test helpers: compile WebAssembly text with wabt's wat2wasm and load it. */
#ifndef SPRY_TEST_WAT_H
#define SPRY_TEST_WAT_H

#include "spry/wasm.h"

#include <stddef.h>
#include <stdint.h>

/* Compiles `wat` (with the name section) to bytes; the caller frees *out
 * with free(). Fails the test when wat2wasm fails. */
void wat_compile(const char *wat, uint8_t **out, size_t *len);

/* Compiles and loads; fails the test on any error. */
struct spry_module *wat_load(const char *wat);

/* Compiles, loads, instantiates without imports in a new store. */
struct spry_instance *wat_instantiate(const char *wat, struct spry_store **store);

/* Call an export taking one i64 (i32) and returning one i64 (i32); return
 * the call's result code. */
int call_i64(struct spry_instance *inst, const char *name, int64_t arg, int64_t *result,
             struct spry_trap *trap);
int call_i32(struct spry_instance *inst, const char *name, int32_t arg, int32_t *result,
             struct spry_trap *trap);

#endif

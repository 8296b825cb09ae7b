/* Test helpers: compile WebAssembly text with wabt's wat2wasm and load it. */
#ifndef SPRY_TEST_WAT_H
#define SPRY_TEST_WAT_H

#include "spry/wasm.h"

#include <stdbool.h>
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

/* Calls export `name` (argument 0, one i32 result) while another thread
 * interrupts `store` 50 ms in, and returns the call's result code. When
 * latency_ms is not NULL it gets the CPU time the calling thread used after
 * the interrupt: the interrupt's latency in the thread's own time, which no
 * scheduling delay (a loaded machine leaving it unscheduled) adds to. */
int call_i32_interrupted(struct spry_store *store, struct spry_instance *inst, const char *name,
                         struct spry_trap *trap, double *latency_ms);

/* The native tier's tests (docs/native.md): each compiles into a cache
 * directory of its own, made by native_cache_fresh (SPRY_CACHE_DIR points
 * at it) and removed with everything in it by native_cache_drop. */
void native_cache_fresh(void);
void native_cache_drop(void);

/* Compiles and loads with the native tier on or off; fails the test on any
 * error. */
struct spry_module *wat_load_tier(const char *wat, bool native);

/* Whether function `func` of a loaded module runs as native code. */
bool func_is_native(const struct spry_module *m, uint32_t func);

#endif

/*
 * Components: WebAssembly components (the component model) whose imports
 * are WASI 0.2, run from the instance pool.
 *
 *     spry_component_load(pool, bytes, len, &c, &report);  decode, link, prepare
 *     spry_component_run(c, &wasi_config, &trap, &report); per run: a fresh
 *                                                           instance, wasi:cli/run
 *     spry_component_destroy(c);
 *
 * A component's imports must all be WASI 0.2 interfaces Spry provides
 * (any 0.2.x version; docs/components.md has the linking rules and what is
 * not supported); loading fails otherwise, with a report naming the
 * interface and function. Thread safety: a loaded component is read-only;
 * spry_component_run may be called from several threads at once (each run
 * takes its own pool slot).
 */
#ifndef SPRY_COMPONENT_H
#define SPRY_COMPONENT_H

#include "spry/error.h"
#include "spry/pool.h"
#include "spry/wasi.h"
#include "spry/wasm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct spry_component;

/* Whether bytes start like a component (the preamble's layer 1) rather
 * than a core module. */
SPRY_API bool spry_component_detect(const uint8_t *bytes, size_t len);

/* Decodes and validates the component, links its imports against WASI
 * 0.2, and prepares it for `pool` (its core instances become one pool
 * group). The bytes are not kept; the pool is borrowed (destroy the
 * component first). Errors: SPRY_EMALFORMED / SPRY_EINVALID /
 * SPRY_EUNSUPPORTED / SPRY_ETOOBIG (decoding, with the byte offset),
 * SPRY_EUNLINKABLE (an import Spry does not serve), SPRY_ENOMEM. */
SPRY_API int spry_component_load(struct spry_pool *pool, const uint8_t *bytes, size_t len,
                                 struct spry_component **out, struct spry_report *report);
/* NULL is a no-op. */
SPRY_API void spry_component_destroy(struct spry_component *c);

/* Whether the component exports wasi:cli/run@0.2.x (a command). */
SPRY_API bool spry_component_is_command(const struct spry_component *c);

/*
 * Runs the command: a WASI 0.2 context from `config` (args, env, preopens,
 * stdio as for preview 1), a fresh instance from the pool, wasi:cli/run's
 * `run`. Guest output is flushed before it returns. Returns 0 when run
 * returned ok; SPRY_EEXIT with trap->exit_code (wasi:cli/exit, or 1 when
 * run returned err); SPRY_ETRAP with `trap` filled; or an error with
 * `report` set (SPRY_ENOTFOUND: not a command; a WASI setup error such as
 * a missing preopen). trap may be NULL.
 */
SPRY_API int spry_component_run(struct spry_component *c, const struct spry_wasi_config *config,
                                struct spry_trap *trap, struct spry_report *report);

/*
 * Calls an export named by a WAVE call expression (`add(1, 2)`,
 * `greet("x")`; src/component/wave.h has the syntax), as `wasmtime run
 * --invoke` does: the function is found by its name among the root's
 * exported functions and those of the instances it exports (it must be the
 * only one of that name), its arguments are parsed with the types of its
 * parameters, a fresh instance with a WASI 0.2 context from `config` runs
 * it, and *result_text receives the result in WAVE (`()` when the function
 * has no result; free with spry_free). Guest output is flushed first.
 * Returns 0; SPRY_EINVAL (the text does not parse, the arguments do not
 * fit the parameters, or a parameter or the result holds a resource, which
 * text cannot carry) or SPRY_ENOTFOUND (no such function, or several),
 * both before anything runs and with `report` saying what and where;
 * SPRY_EEXIT / SPRY_ETRAP / other errors as spry_component_run.
 */
SPRY_API int spry_component_invoke(struct spry_component *c, const struct spry_wasi_config *config,
                                   const char *call, char **result_text, struct spry_trap *trap,
                                   struct spry_report *report);

#ifdef __cplusplus
}
#endif

#endif

/*
 * Internal interface between the module-level validator (validate.c) and the
 * function-body validator (validate_expr.c). The public entry point is
 * validate_module() in module.h.
 *
 * Function bodies are checked with the algorithm of the spec's appendix
 * (https://webassembly.github.io/spec/core/appendix/algorithm.html): an
 * explicit operand-type stack and control stack, both heap arrays, so that
 * nesting depth costs memory and never C stack. The stacks live in a struct
 * validate_stacks that is reused for every function of a module, so that
 * validating a body allocates nothing once the stacks have grown to the
 * deepest body seen.
 */
#ifndef SPRY_WASM_VALIDATE_H
#define SPRY_WASM_VALIDATE_H

#include "wasm/module.h"

#include <stdint.h>

/* A control frame (the spec's ctrl_frame). Its types point into the module's
 * type section or into a static one-byte-per-value-type table, never into the
 * stacks themselves, so growing the stacks leaves them valid. */
struct validate_frame {
    const uint8_t *params;  /* start types */
    const uint8_t *results; /* end types */
    uint32_t nparams;
    uint32_t nresults;
    uint32_t height; /* operand stack height at entry (after the params were popped) */
    uint32_t mark;   /* the last br_table that checked this label (validate_expr.c) */
    uint8_t kind;    /* enum validate_frame_kind (validate_expr.c) */
    bool unreachable;
};

/*
 * Invariants between instructions: nframes >= 1 while a body is being
 * checked; vals[frames[nframes-1].height .. nvals) are the operands of the
 * innermost frame; nvals <= cap_vals, nframes <= cap_frames. A value type of
 * 0 on the stack is the spec's "Unknown" (the polymorphic stack's bottom).
 */
struct validate_stacks {
    uint8_t *vals;
    uint32_t nvals, cap_vals;
    struct validate_frame *frames;
    uint32_t nframes, cap_frames;
};

void validate_stacks_init(struct validate_stacks *s);
void validate_stacks_fini(struct validate_stacks *s);

/* Validates the body of defined function `func_index` (its type index is
 * already known to be in range). Returns 0, SPRY_EINVALID (a validation
 * rule), SPRY_EMALFORMED (bytes that do not decode as instructions),
 * SPRY_ETOOBIG (an implementation limit) or SPRY_ENOMEM, with the reason and
 * the byte offset in `report`. */
int validate_func_body(struct validate_stacks *s, const struct wasm_module *m, uint32_t func_index,
                       struct spry_report *report);

/* Only decodes the body of defined function `func_index`, without typing it:
 * returns SPRY_EMALFORMED where validate_func_body could have reported a
 * validation error before reaching a decoding error further on (the spec
 * decodes the whole module before validating any of it, so a decoding error
 * wins). Returns 0 when the body decodes. */
int validate_skim_body(const struct wasm_module *m, uint32_t func_index,
                       struct spry_report *report);

/* Sets written[t] (m->ntables bytes) for every table the body of defined
 * function `func_index` may write: table.set, table.grow, table.fill,
 * table.copy (its destination) and table.init. For a valid module; a body
 * that does not decode returns non-zero (SPRY_EMALFORMED, SPRY_EINVALID).
 * Used by the pool to prove a table constant (prepared.c, "Forwarders"). */
int validate_table_writes(const struct wasm_module *m, uint32_t func_index, uint8_t *written);

/* The text format name of a value type ("i32", "funcref"), for messages. */
const char *validate_type_name(uint8_t type);

#endif

/*
 * Runs one spec script: the commands of a wast2json output file against the
 * engine's public API, as an embedder would.
 *
 * Every command counts once: module, register and action commands pass when
 * they succeed, assertions when they hold. All instances of a script live in
 * one store, beside the spectest host module, so registered instances can
 * share memories, tables, globals and functions.
 *
 * Message checks: an expected message must start the engine's message, or
 * follow a ": " inside it (a location prefix such as "offset 12: " is
 * allowed before it). Trap messages are struct spry_trap.message (the kind's
 * text when the engine left it empty); load and link messages are the
 * report's. "unknown import" is the runner's own message: resolving imports
 * by name is the embedder's job.
 */
#ifndef SPRY_SPEC_SCRIPT_H
#define SPRY_SPEC_SCRIPT_H

#include "spec/skip.h"
#include "spry/error.h"

#include <stdbool.h>
#include <stddef.h>

enum script_outcome {
    SCRIPT_PASS,
    SCRIPT_FAIL,
    SCRIPT_SKIP,
};

/* Where a script's progress goes. `detail` is a one-line description: what
 * differed for SCRIPT_FAIL, the skip reason for SCRIPT_SKIP, NULL for
 * SCRIPT_PASS. Lines are the .wast file's. */
struct script_sink {
    void *ctx;
    void (*total)(void *ctx, size_t commands); /* once, before the first command */
    void (*start)(void *ctx, unsigned line, const char *type);
    void (*done)(void *ctx, enum script_outcome outcome, unsigned line, const char *detail);
};

/* The checked-in lists a script is run with (see spec/skip.h). */
struct script_lists {
    const struct skip_list *skips;    /* tests/spec/skip.txt */
    const struct skip_list *messages; /* tests/spec/messages.txt */
};

/* Runs every command of the script `json_path`; module files are read from
 * the same directory. Commands whose module file matches lists->skips are
 * skipped. Returns 0 when the script could be run, whatever its outcomes, or
 * a negative code (what went wrong in `report`) when it could not be read or
 * set up. */
int script_run(const char *json_path, const struct script_lists *lists,
               const struct script_sink *sink, struct spry_report *report);

/* The number of commands of a script, without running any. */
int script_count(const char *json_path, size_t *count, struct spry_report *report);

#endif

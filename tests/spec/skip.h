/*
 * The spec runner's skip list (tests/spec/skip.txt).
 *
 * One entry a line: `PATTERN  REASON`, the pattern a shell glob without
 * spaces, the reason the rest of the line (required). Blank lines and lines
 * starting with '#' are ignored. A pattern is matched against the base name
 * of each .wast file (a match skips the whole file) and against the module
 * file name of each command as wast2json writes it, e.g. "binary.12.wat" (a
 * match skips that command). Nothing the list does not match is skipped.
 */
#ifndef SPRY_SPEC_SKIP_H
#define SPRY_SPEC_SKIP_H

#include "spry/error.h"

#include <stddef.h>

enum { SKIP_MAX_ENTRIES = 256 };

struct skip_entry {
    char *pattern;
    char *reason;
};

struct skip_list {
    struct skip_entry *entries;
    size_t count;
};

/* Parses the text of a skip file. On failure (an entry without a reason,
 * too many entries) returns SPRY_EMALFORMED with the line in `report`, or
 * SPRY_ENOMEM. */
int skip_list_parse(struct skip_list *list, const char *text, size_t len,
                    struct spry_report *report);
/* Reads and parses a skip file; SPRY_EIO when it cannot be read. */
int skip_list_load(struct skip_list *list, const char *path, struct spry_report *report);
void skip_list_fini(struct skip_list *list);

/* The reason `name` is skipped, or NULL when no pattern matches it. */
const char *skip_list_match(const struct skip_list *list, const char *name);

#endif

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

/*
 * The message list (tests/spec/messages.txt) has the same format, its REASON
 * written "TEXT | WHY": for a module file the pattern matches, TEXT replaces
 * the message the .wast expects (the code expected stays the same). It
 * exists for modules wast2json encodes differently from the reference
 * interpreter, so that the engine rightly reports another error; WHY says how.
 *
 * Copies TEXT of an entry's value to `text`. Returns SPRY_EMALFORMED when the
 * value has no " | " or an empty TEXT or WHY, SPRY_ETOOBIG when TEXT does not
 * fit.
 */
int skip_value_text(const char *value, char *text, size_t size);
/* Checks that every entry of a message list has the "TEXT | WHY" form. */
int skip_list_check_messages(const struct skip_list *list, struct spry_report *report);

#endif

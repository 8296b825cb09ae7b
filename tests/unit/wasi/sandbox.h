/*
 * The sandbox on disk that the WASI fixtures share (preview 1's
 * wasi_fixture.h, WASI 0.2's unit/component/wasip2_fixture.h), and host-side
 * helpers on its directories. Under test_tmpdir():
 *
 *   box/        pre-opened as "/box" (read-only when a test asks)
 *   box2/       pre-opened as "/box2"
 *   outside/    never pre-opened; holds "secret" (contents "top secret")
 */
#ifndef SPRY_TEST_WASI_SANDBOX_H
#define SPRY_TEST_WASI_SANDBOX_H

#include <stdbool.h>

enum { SANDBOX_PATH_MAX = 4200 }; /* the size of each directory's path buffer */

/* Makes the three directories afresh (a second setup in one test removes
 * what the first left), writes outside/secret, and their paths to BOX, BOX2
 * and OUTSIDE. */
void sandbox_make(char box[SANDBOX_PATH_MAX], char box2[SANDBOX_PATH_MAX],
                  char outside[SANDBOX_PATH_MAX]);
/* The three paths only, for a setup that uses the sandbox already made. */
void sandbox_paths(char box[SANDBOX_PATH_MAX], char box2[SANDBOX_PATH_MAX],
                   char outside[SANDBOX_PATH_MAX]);

void sandbox_write_file(const char *dir, const char *name, const char *content);
const char *sandbox_read_file(const char *dir, const char *name); /* static buffer, or NULL */
bool sandbox_exists(const char *dir, const char *name);           /* lstat: links count */
/* The names in `dir` (excluding . and ..), sorted, joined by ','; a static buffer. */
const char *sandbox_listing(const char *dir);

#endif

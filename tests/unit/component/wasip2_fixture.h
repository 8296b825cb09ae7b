/*
 * Test fixture for WASI 0.2: a context on the preview-1 fixture's sandbox
 * (unit/wasi/sandbox.h: box/ and box2/ pre-opened, outside/secret beside
 * them, and host-side helpers on them), a store it is attached to, and calls
 * of host functions by interface and name with struct cval arguments, as the
 * canonical ABI will make them.
 *
 * Every call is checked against the interface's parsed WIT: the number and
 * kinds of the arguments the test passes, and the whole shape of the value
 * the host function returns (a host bug that returns a value of the wrong
 * type fails the test, not just a later lowering).
 */
#ifndef SPRY_TEST_WASIP2_FIXTURE_H
#define SPRY_TEST_WASIP2_FIXTURE_H

#include "base/arena.h"
#include "unit/component/cbuild.h"
#include "component/wasip2/wasip2.h"
#include "component/wit.h"
#include "spry/wasi.h"
#include "unit/wasi/sandbox.h"

#include <stdbool.h>
#include <stdint.h>

struct p2t {
    struct wasip2 *p2;
    struct spry_store *store;
    struct spry_arena arena; /* results of every call, freed at teardown */
    struct spry_arena wit_arena;
    struct wit_host host;
    char box[SANDBOX_PATH_MAX], box2[SANDBOX_PATH_MAX], outside[SANDBOX_PATH_MAX];
    char trap[512]; /* the message of the last ccall_trap */
};

struct p2t_options {
    bool readonly_box;
    const struct spry_wasi_stdio *stdio; /* 3 entries, or NULL: all captured */
    const char *const *args;
    size_t nargs;
    const char *const *env;
    size_t nenv;
};

void p2t_setup(struct p2t *t, const struct p2t_options *options); /* options may be NULL */
void p2t_teardown(struct p2t *t);

/* Calls iface's function `func` (import spelling). Returns its return code
 * (0, SPRY_ETRAP with t->trap set, SPRY_EEXIT). */
int p2t_call(struct p2t *t, const char *iface, const char *func, const struct cval *args,
             size_t nargs, struct cval *result);
#define P2CALL(t, iface, func, result, ...)                            \
    p2t_call((t), (iface), (func), (const struct cval[]){__VA_ARGS__}, \
             sizeof((const struct cval[]){__VA_ARGS__}) / sizeof(struct cval), (result))
#define P2CALL0(t, iface, func, result) p2t_call((t), (iface), (func), NULL, 0, (result))
/* Drops a handle as the canonical ABI would (the resource's drop). */
void p2t_drop(struct p2t *t, const char *iface, const char *resource, uint32_t rep);

/* Argument values. */
struct cval cv_u64(uint64_t v);
struct cval cv_u32(uint32_t v);
struct cval cv_u8(uint8_t v);
struct cval cv_bytes(const void *p, size_t n);
struct cval cv_borrow(uint32_t rep);
struct cval cv_enum(uint32_t disc);
/* new-timestamp: no-change (0), now (1), or timestamp(seconds, nanoseconds). */
struct cval cv_time_keep(void);
struct cval cv_time_at(struct p2t *t, uint64_t seconds, uint32_t ns);
/* result<_, _> status 0 ok / 1 err (wasi:cli/exit). */
struct cval cv_status(bool ok);
/* list<borrow<pollable>>. */
struct cval cv_borrows(struct p2t *t, const uint32_t *reps, size_t n);

/* Reading results. */
bool r_ok(const struct cval *r);
const struct cval *r_val(const struct cval *r); /* the ok payload (asserts ok) */
uint32_t r_err(const struct cval *r);           /* the err enum case (asserts err) */
/* A stream-error: 1 closed, 0 last-operation-failed (then *err_rep). */
int r_stream_err(const struct cval *r, uint32_t *err_rep);
/* The own handle of an ok result<own<T>, E>. */
uint32_t r_own(const struct cval *r);

/* The rep of descriptor preopen `index` (0: /box, 1: /box2). */
uint32_t p2t_preopen(struct p2t *t, size_t index);

/* wasi:filesystem/types error-code cases (written out from the WIT). */
enum {
    FS_ACCESS = 0,
    FS_BAD_DESCRIPTOR = 3,
    FS_EXIST = 7,
    FS_ILLEGAL_BYTE_SEQUENCE = 9,
    FS_INVALID = 12,
    FS_IS_DIRECTORY = 14,
    FS_LOOP = 15,
    FS_NAME_TOO_LONG = 18,
    FS_NO_ENTRY = 20,
    FS_INSUFFICIENT_MEMORY = 22,
    FS_INSUFFICIENT_SPACE = 23,
    FS_NOT_DIRECTORY = 24,
    FS_NOT_EMPTY = 25,
    FS_NOT_PERMITTED = 31,
    FS_READ_ONLY = 33,
    FS_CROSS_DEVICE = 36,
};
/* descriptor-flags, open-flags, path-flags bits; descriptor-type cases. */
enum {
    DF_READ = 1,
    DF_WRITE = 2,
    DF_MUTATE = 32,
    OF_CREATE = 1,
    OF_DIRECTORY = 2,
    OF_EXCLUSIVE = 4,
    OF_TRUNCATE = 8,
    PF_FOLLOW = 1,
    DT_DIRECTORY_ = 3,
    DT_SYMLINK_ = 5,
    DT_REGULAR_ = 6,
};

#endif

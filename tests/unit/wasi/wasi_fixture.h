/*
 * Test fixture for the wasi layer: a real sandbox on disk and a module
 * that imports every wasi_snapshot_preview1 function and exports a wrapper
 * of the same name (so calls come from guest code, with a caller instance).
 *
 * The sandbox is sandbox.h's: box/ (fd 3, "/box"), box2/ (fd 4, "/box2")
 * and outside/secret beside them; its host-side helpers are there too.
 */
#ifndef SPRY_TEST_WASI_FIXTURE_H
#define SPRY_TEST_WASI_FIXTURE_H

#include "spry/wasi.h"
#include "spry/wasm.h"
#include "unit/wasi/sandbox.h"

#include <stdbool.h>
#include <stdint.h>

/* Preview 1 numbers, written out from the witx (typenames.witx) rather than
 * taken from src/wasi, so the tests check the implementation against the
 * spec. */
enum {
    E_SUCCESS = 0,
    E_2BIG = 1,
    E_ACCES = 2,
    E_AGAIN = 6,
    E_BADF = 8,
    E_EXIST = 20,
    E_FAULT = 21,
    E_ILSEQ = 25,
    E_INVAL = 28,
    E_ISDIR = 31,
    E_LOOP = 32,
    E_MFILE = 33,
    E_NAMETOOLONG = 37,
    E_NOENT = 44,
    E_NOSPC = 51,
    E_NOSYS = 52,
    E_NOTDIR = 54,
    E_NOTEMPTY = 55,
    E_NOTSOCK = 57,
    E_NOTSUP = 58,
    E_PERM = 63,
    E_ROFS = 69,
    E_SPIPE = 70,
    E_XDEV = 75,
    E_NOTCAPABLE = 76,
};
enum {
    O_CREAT_ = 1,
    O_DIRECTORY_ = 2,
    O_EXCL_ = 4,
    O_TRUNC_ = 8, /* oflags */
    FOLLOW = 1,   /* lookupflags */
    FD_APPEND = 1,
    FD_DSYNC = 2,
    FD_NONBLOCK = 4,
    FD_RSYNC = 8,
    FD_SYNC = 16, /* fdflags */
    FT_DIRECTORY = 3,
    FT_REGULAR = 4,
    FT_SYMLINK = 7,
    FT_SOCKET_STREAM = 6,
    R_FD_READ = 1 << 1,
    R_FD_SEEK = 1 << 2,
    R_FD_WRITE = 1 << 6,
    R_PATH_CREATE_FILE = 1 << 10,
    R_PATH_UNLINK_FILE = 1 << 26,
};
#define R_ALL ((uint64_t)0x3fffffff)

struct wt {
    struct spry_wasi *wasi;
    struct spry_store *store;
    struct spry_instance *inst;
    uint8_t *mem; /* guest memory, 2 pages */
    uint64_t mem_size;
    char box[SANDBOX_PATH_MAX], box2[SANDBOX_PATH_MAX], outside[SANDBOX_PATH_MAX];
};

struct wt_options {
    bool readonly_box;
    const struct spry_wasi_stdio *stdio; /* 3 entries, or NULL */
    const int *sockets;
    size_t nsockets;
    const char *const *env;
    size_t nenv;
    uint32_t max_fds;    /* 0: the default */
    bool borrow_strings; /* args and env are the fixture's, not copied */
    int box_fd; /* > 0: box/ is this open directory fd (preopen_fds), the sandbox the last one's */
};

void wt_setup(struct wt *t, const struct wt_options *options); /* options may be NULL */
void wt_teardown(struct wt *t);

/* Calls the wrapper of a WASI function; returns its errno result, or the
 * negative SPRY_E* code of a call that did not return (trap, exit). */
int wt_call(struct wt *t, const char *name, const uint64_t *args, size_t nargs);
#define WCALL(t, name, ...)                               \
    wt_call((t), (name), (const uint64_t[]){__VA_ARGS__}, \
            sizeof((const uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t))

/* Writes a string (without NUL) into guest memory at `at`; returns its length. */
uint32_t wt_put(struct wt *t, uint32_t at, const char *s);
uint32_t wt_u32(struct wt *t, uint32_t at);
uint64_t wt_u64(struct wt *t, uint32_t at);
void wt_set_u32(struct wt *t, uint32_t at, uint32_t v);

/* path_open beneath `dirfd` (rights: everything), returning the errno; the
 * new fd goes to *fd when not NULL. */
int wt_open(struct wt *t, uint32_t dirfd, uint32_t lookup, const char *path, uint32_t oflags,
            uint64_t rights, uint32_t fdflags, uint32_t *fd);

#endif

/*
 * The native tier's build, cache, loading and run-time helpers
 * (docs/native.md).
 *
 * A module's C text (native_emit.c) is compiled by `$SPRY_CC` (default cc)
 * into a shared object named by the SHA-256 of (the C text, the compiler's
 * --version, the flags); the text covers everything the object depends on
 * (the context layout, the offsets and trap numbers it prints), so a Spry
 * build that changes any of them gets a new key. The object is written
 * under a temporary name and renamed into place, so a reader never sees a
 * half-written one; the cache directory is made 0700.
 *
 * The generated code calls back only through the context's function
 * pointers below. A trap records itself in the store and _longjmps to the
 * innermost interpreter activation (interp.h), exactly as the signal path
 * of trap.c does, so interp_run's unwinding applies unchanged.
 */
#include "wasm/native.h"

#include "base/alloc.h"
#include "base/log.h"
#include "wasm/interp.h"
#include "wasm/numeric.h"
#include "wasm/opcodes.h"
#include "wasm/runtime.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* -nostdlib: the code calls nothing outside itself (no libc, no libgcc:
 * popcount is open-coded, rounding goes through a helper), and -z defs
 * turns any reference the compiler would still make into a link error, so
 * dlopen never meets an unresolved symbol. -fsignaling-nans: no folding of
 * x - 0, x * 1, x / 1 into x, which would keep a signalling NaN where wasm
 * requires a quiet one (spec float_exprs.wast). */
static const char *const cc_flags[] = {
    "-O2",
    "-shared",
    "-fPIC",
    "-fno-strict-aliasing",
    "-fwrapv",
    "-fno-math-errno",
    "-ffp-contract=off",
    "-fsignaling-nans",
    "-nostdlib",
    "-Wl,-z,defs",
    "-w",
    NULL,
};

static atomic_uint_least64_t stat_compiled, stat_hits, stat_failures;

void native_stats_get(struct native_stats *out)
{
    out->compiled = atomic_load(&stat_compiled);
    out->cache_hits = atomic_load(&stat_hits);
    out->failures = atomic_load(&stat_failures);
}

bool native_env_enabled(void)
{
    const char *v = getenv("SPRY_NATIVE");
    return v != NULL && strcmp(v, "1") == 0;
}

static const char *cc_program(void)
{
    const char *cc = getenv("SPRY_CC");
    return cc != NULL && cc[0] != '\0' ? cc : "cc";
}

/* Runs argv (no shell) with stdout to out_fd (-1: /dev/null) and stderr to
 * err_fd (-1: /dev/null); returns its exit status or -1. */
static int run(char *const argv[], int out_fd, int err_fd)
{
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (out_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    else
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (err_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    else
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The compiler's identity (`cc --version`'s first lines), read once per
 * compiler name per process. */
static pthread_mutex_t cc_lock = PTHREAD_MUTEX_INITIALIZER;
static char cc_name_seen[256];
static char cc_version[512];
static bool cc_ok;

static bool compiler_identity(char *out, size_t cap)
{
    const char *cc = cc_program();
    pthread_mutex_lock(&cc_lock);
    if (strcmp(cc_name_seen, cc) != 0) {
        snprintf(cc_name_seen, sizeof cc_name_seen, "%s", cc);
        cc_ok = false;
        cc_version[0] = '\0';
        FILE *tmp = tmpfile();
        if (tmp != NULL) {
            char *argv[] = {(char *)cc, "--version", NULL};
            if (run(argv, fileno(tmp), -1) == 0) {
                rewind(tmp);
                size_t n = fread(cc_version, 1, sizeof cc_version - 1, tmp);
                cc_version[n] = '\0';
                cc_ok = n > 0;
            }
            fclose(tmp);
        }
    }
    bool ok = cc_ok;
    snprintf(out, cap, "%s", cc_version);
    pthread_mutex_unlock(&cc_lock);
    return ok;
}

static int cache_dir(char *out, size_t cap)
{
    const char *dir = getenv("SPRY_CACHE_DIR");
    int n;
    if (dir != NULL && dir[0] != '\0') {
        n = snprintf(out, cap, "%s", dir);
    } else if ((dir = getenv("XDG_CACHE_HOME")) != NULL && dir[0] != '\0') {
        n = snprintf(out, cap, "%s/spry/native", dir);
    } else if ((dir = getenv("HOME")) != NULL && dir[0] != '\0') {
        n = snprintf(out, cap, "%s/.cache/spry/native", dir);
    } else {
        return -1;
    }
    if (n < 0 || (size_t)n >= cap - 80)
        return -1;
    /* mkdir -p, each new level 0700. */
    for (char *p = out + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(out, 0700) != 0 && errno != EEXIST) {
            *p = '/';
            return -1;
        }
        *p = '/';
    }
    if (mkdir(out, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int sha256_hex(const struct spry_buf *text, const char *ident, char hex[65])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, "spry-native-1", 14) == 1 &&
             EVP_DigestUpdate(ctx, ident, strlen(ident) + 1) == 1;
    for (size_t i = 0; ok && cc_flags[i] != NULL; i++)
        ok = EVP_DigestUpdate(ctx, cc_flags[i], strlen(cc_flags[i]) + 1) == 1;
    ok = ok && EVP_DigestUpdate(ctx, text->data, text->len) == 1 &&
         EVP_DigestFinal_ex(ctx, md, &len) == 1 && len == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return -1;
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
    return 0;
}

static int write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            unlink(path);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return close(fd);
}

/* Compiles text into so_path (atomically). */
static int compile(const struct spry_buf *text, const char *dir, const char *hex,
                   const char *so_path, struct spry_report *report)
{
    char c_path[8192], tmp_path[8192], log_path[8192];
    static atomic_uint counter;
    unsigned k = atomic_fetch_add(&counter, 1);
    snprintf(c_path, sizeof c_path, "%s/%s.%ld.%u.c", dir, hex, (long)getpid(), k);
    snprintf(tmp_path, sizeof tmp_path, "%s/%s.%ld.%u.so.tmp", dir, hex, (long)getpid(), k);
    snprintf(log_path, sizeof log_path, "%s/%s.%ld.%u.log", dir, hex, (long)getpid(), k);
    if (write_file(c_path, text->data, text->len) != 0)
        return spry_report_set(report, SPRY_EIO, "native: cannot write %s: %s", c_path,
                               strerror(errno));
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    char *argv[32];
    size_t n = 0;
    argv[n++] = (char *)cc_program();
    for (size_t i = 0; cc_flags[i] != NULL; i++)
        argv[n++] = (char *)cc_flags[i];
    argv[n++] = "-o";
    argv[n++] = tmp_path;
    argv[n++] = c_path;
    argv[n] = NULL;
    int status = run(argv, -1, log_fd);
    if (log_fd >= 0)
        close(log_fd);
    const char *keep = getenv("SPRY_NATIVE_KEEP_C");
    if (keep == NULL || strcmp(keep, "1") != 0)
        unlink(c_path);
    if (status != 0) {
        unlink(tmp_path);
        return spry_report_set(report, SPRY_EIO,
                               "native: %s failed (status %d); compiler output in %s", argv[0],
                               status, log_path);
    }
    unlink(log_path);
    if (rename(tmp_path, so_path) != 0) {
        unlink(tmp_path);
        return spry_report_set(report, SPRY_EIO, "native: cannot rename into %s: %s", so_path,
                               strerror(errno));
    }
    return 0;
}

int native_module_load(const struct wasm_module *m, struct native_module **out,
                       struct spry_report *report)
{
    *out = NULL;
    struct spry_buf text;
    spry_buf_init(&text, (size_t)1 << 30);
    uint8_t *compiled = spry_calloc(m->nfuncs + 1, 1);
    struct native_module *nm = spry_calloc(1, sizeof *nm);
    native_fn *fns = spry_calloc(m->nfuncs + 1, sizeof *fns);
    int rc = 0;
    if (compiled == NULL || nm == NULL || fns == NULL) {
        rc = spry_report_set(report, SPRY_ENOMEM, "native: out of memory");
        goto fail;
    }
    rc = native_emit(m, &text, compiled, report);
    if (rc != 0)
        goto fail;
    uint32_t ncompiled = 0;
    for (uint32_t i = 0; i < m->nfuncs; i++)
        ncompiled += compiled[i];
    if (ncompiled == 0) { /* nothing to do (no functions, or none this slice compiles) */
        spry_free(nm);
        spry_free(fns);
        spry_free(compiled);
        spry_buf_fini(&text);
        return 0;
    }
    char ident[512], dir[4096], hex[65], so_path[8192];
    if (!compiler_identity(ident, sizeof ident)) {
        rc = spry_report_set(report, SPRY_ENOTFOUND,
                             "native: no C compiler ('%s --version' failed)", cc_program());
        goto fail;
    }
    if (cache_dir(dir, sizeof dir) != 0) {
        rc = spry_report_set(report, SPRY_EIO, "native: no usable cache directory");
        goto fail;
    }
    if (sha256_hex(&text, ident, hex) != 0) {
        rc = spry_report_set(report, SPRY_ENOMEM, "native: hashing failed");
        goto fail;
    }
    snprintf(so_path, sizeof so_path, "%s/%s.so", dir, hex);
    if (access(so_path, R_OK) == 0) {
        atomic_fetch_add(&stat_hits, 1);
    } else {
        rc = compile(&text, dir, hex, so_path, report);
        if (rc != 0)
            goto fail;
        atomic_fetch_add(&stat_compiled, 1);
    }
    nm->dl = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
    if (nm->dl == NULL) {
        rc = spry_report_set(report, SPRY_EIO, "native: cannot load %s: %s", so_path, dlerror());
        goto fail;
    }
    const uint32_t *count = dlsym(nm->dl, "spry_native_count");
    native_fn const *table = dlsym(nm->dl, "spry_native_funcs");
    if (count == NULL || table == NULL || *count != m->nfuncs) {
        rc = spry_report_set(report, SPRY_EIO, "native: %s is not this module's code", so_path);
        goto fail;
    }
    for (uint32_t i = m->num_imported_funcs; i < m->nfuncs; i++) {
        fns[i] = compiled[i] ? table[i] : NULL;
        if (compiled[i] && fns[i] == NULL) {
            rc = spry_report_set(report, SPRY_EIO, "native: %s lacks function %u", so_path, i);
            goto fail;
        }
    }
    nm->type_ids = spry_alloc_array(m->ntypes + 1, sizeof *nm->type_ids);
    if (nm->type_ids == NULL) {
        rc = spry_report_set(report, SPRY_ENOMEM, "native: out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < m->ntypes; i++)
        nm->type_ids[i] = m->types[i].type_id;
    nm->fns = fns;
    nm->nfuncs = m->nfuncs;
    nm->ncompiled = ncompiled;
    spry_free(compiled);
    spry_buf_fini(&text);
    *out = nm;
    return 0;

fail:
    atomic_fetch_add(&stat_failures, 1);
    if (nm != NULL && nm->dl != NULL)
        dlclose(nm->dl);
    if (nm != NULL)
        spry_free(nm->type_ids);
    spry_free(nm);
    spry_free(fns);
    spry_free(compiled);
    spry_buf_fini(&text);
    return rc != 0 ? rc : SPRY_EIO;
}

void native_module_free(struct native_module *nm)
{
    if (nm == NULL)
        return;
    if (nm->dl != NULL)
        dlclose(nm->dl);
    spry_free(nm->fns);
    spry_free(nm->type_ids);
    spry_free(nm);
}

/* ---- run time ------------------------------------------------------------ */

/* Leaves native code: the innermost activation's interp_run returns rc
 * (the trap, if any, is recorded in the store already). */
__attribute__((noreturn)) static void unwind(int rc)
{
    struct interp_activation *act = interp_current_activation();
    act->rc = rc;
    _longjmp(act->jb, 1);
}

__attribute__((noreturn)) static void h_trap(struct nctx *c, int kind, uint32_t fn)
{
    struct spry_store *store = c->store;
    struct spry_instance *inst = c->inst;
    runtime_trap(store, kind, NULL);
    store->cur_func = inst->funcs[fn];
    unwind(SPRY_ETRAP);
}

static void host_failed(struct nctx *c, int rc, uint32_t fn)
{
    struct spry_store *store = c->store;
    struct spry_instance *inst = c->inst;
    if (rc == SPRY_ETRAP && store->trap.kind == SPRY_TRAP_NONE)
        runtime_trap(store, SPRY_TRAP_HOST,
                     inst->trap_message[0] != '\0' ? inst->trap_message : NULL);
    inst->trap_message[0] = '\0';      /* this failure's: spent, whether used or not */
    store->cur_func = inst->funcs[fn]; /* the wasm function that called the host */
    unwind(rc);
}

static uint8_t *no_base;
static uint64_t no_size;

/* The part of a context that is the running instance's: memory 0, the
 * globals, the tables and the module's type ids. The rest (store, stacks,
 * depth, helpers) is the thread's and the store's. */
static inline void ctx_set_instance(struct nctx *c, struct spry_instance *inst)
{
    struct spry_memory *mem = inst->module->nmemories > 0 ? inst->memories[0] : NULL;
    c->inst = inst;
    c->mem_base = mem != NULL ? &mem->base : &no_base;
    c->mem_size = mem != NULL ? &mem->size : &no_size;
    c->mem_written = mem != NULL ? &mem->written : &no_base;
    c->globals = (void **)inst->globals;
    c->tables = (void **)inst->tables;
    c->type_ids = inst->module->native->type_ids;
}

/*
 * A call the generated code does not make itself. A compiled callee stays
 * in native code, whichever instance it belongs to: one of another
 * instance (a component's adapter calling the main module, or the main
 * module calling an import the adapter exports) runs on a context of its
 * own, a copy of the caller's with that instance's part, so the two share
 * the depth count, the stacks, the interrupt flag and the innermost
 * activation a trap unwinds to; the callee's traps name its own function
 * (h_trap reads c->inst). Anything else (host functions, functions the
 * emitter left to the interpreter) goes through the store's stack pointer
 * and depth, which a callback nests above.
 */
static void call_func(struct nctx *c, struct spry_func *callee, uint64_t *fp, uint32_t fn)
{
    struct spry_store *store = c->store;
    struct spry_instance *inst = c->inst;
    if (callee->def != NULL) {
        struct spry_instance *to = callee->inst;
        native_fn f = native_func(to->module->native, callee->index);
        if (f != NULL) {
            if (c->depth >= c->max_depth)
                h_trap(c, SPRY_TRAP_STACK_EXHAUSTED, fn);
            if (to == inst) {
                c->depth++;
                f(c, fp);
                c->depth--;
                return;
            }
            struct nctx other = *c;
            ctx_set_instance(&other, to);
            other.depth = c->depth + 1;
            f(&other, fp);
            return;
        }
    }
    uint32_t np = callee->type->nparams, nr = callee->type->nresults;
    store->sp = (uint32_t)(fp - store->stack) + (np > nr ? np : nr);
    store->depth = c->depth; /* a callback nests above */
    if (callee->def == NULL) {
        bool clean = store->trap.kind == SPRY_TRAP_NONE;
        int rc = callee->host(callee->host_user, inst, fp);
        if (rc != 0)
            host_failed(c, rc, fn);
        if (store->trap.kind != SPRY_TRAP_NONE && clean)
            runtime_trap_forget(store, inst); /* a nested trap the host absorbed */
        return;
    }
    int rc = interp_run(store, callee, fp);
    if (rc != 0)
        unwind(rc);
}

static void h_call(struct nctx *c, uint32_t callee, uint64_t *fp, uint32_t fn)
{
    struct spry_instance *inst = c->inst;
    call_func(c, inst->funcs[callee], fp, fn);
}

static void h_call_indirect(struct nctx *c, uint32_t table, uint32_t type, uint32_t elem,
                            uint64_t *fp, uint32_t fn)
{
    struct spry_instance *inst = c->inst;
    struct spry_table *t = inst->tables[table];
    if (elem >= t->size || t->elems[elem] == NULL) {
        int kind = elem >= t->size ? SPRY_TRAP_UNDEFINED_ELEMENT : SPRY_TRAP_UNINITIALIZED_ELEMENT;
        char msg[64];
        snprintf(msg, sizeof msg, "%s %u", spry_trap_kind_text(kind), elem);
        runtime_trap(c->store, kind, msg);
        h_trap(c, kind, fn);
    }
    struct spry_func *callee = t->elems[elem];
    if (callee->type_id != inst->module->types[type].type_id)
        h_trap(c, SPRY_TRAP_INDIRECT_TYPE, fn);
    call_func(c, callee, fp, fn);
}

static struct spry_memory *mem0(struct nctx *c)
{
    struct spry_instance *inst = c->inst;
    return inst->module->nmemories > 0 ? inst->memories[0] : NULL;
}

static uint32_t h_memory_grow(struct nctx *c, uint32_t delta)
{
    return (uint32_t)memory_grow(mem0(c), delta);
}

static inline bool range_ok(uint64_t start, uint64_t n, uint64_t size)
{
    return start <= size && n <= size - start;
}

static void h_memory_fill(struct nctx *c, uint32_t d, uint32_t v, uint32_t n, uint32_t fn)
{
    struct spry_memory *mem = mem0(c);
    if (!range_ok(d, n, mem->size))
        h_trap(c, SPRY_TRAP_MEMORY_OOB, fn);
    memset(mem->base + d, (int)(uint8_t)v, n);
    memory_note_write(mem, d, n);
}

static void h_memory_copy(struct nctx *c, uint32_t d, uint32_t s, uint32_t n, uint32_t fn)
{
    struct spry_memory *mem = mem0(c);
    if (!range_ok(d, n, mem->size) || !range_ok(s, n, mem->size))
        h_trap(c, SPRY_TRAP_MEMORY_OOB, fn);
    memmove(mem->base + d, mem->base + s, n);
    memory_note_write(mem, d, n);
}

static void h_memory_init(struct nctx *c, uint32_t seg, uint32_t d, uint32_t s, uint32_t n,
                          uint32_t fn)
{
    struct spry_instance *inst = c->inst;
    struct spry_memory *mem = mem0(c);
    const struct wasm_data *data = &inst->module->datas[seg];
    uint64_t seg_size = inst->data_dropped[seg] ? 0 : data->size;
    if (!range_ok(d, n, mem->size) || !range_ok(s, n, seg_size))
        h_trap(c, SPRY_TRAP_MEMORY_OOB, fn);
    if (n > 0)
        memcpy(mem->base + d, data->bytes + s, n);
    memory_note_write(mem, d, n);
}

static void h_data_drop(struct nctx *c, uint32_t seg)
{
    struct spry_instance *inst = c->inst;
    inst->data_dropped[seg] = 1;
    inst->segments_dropped = true;
}

static uint64_t h_fround(uint64_t bits, uint32_t op)
{
    float f = bits_f32((uint32_t)bits);
    double d = bits_f64(bits);
    switch (op) {
    case OP_F32_CEIL:
        return f32_bits(num_f32_ceil(f));
    case OP_F32_FLOOR:
        return f32_bits(num_f32_floor(f));
    case OP_F32_TRUNC:
        return f32_bits(num_f32_trunc(f));
    case OP_F32_NEAREST:
        return f32_bits(num_f32_nearest(f));
    case OP_F64_CEIL:
        return f64_bits(num_f64_ceil(d));
    case OP_F64_FLOOR:
        return f64_bits(num_f64_floor(d));
    case OP_F64_TRUNC:
        return f64_bits(num_f64_trunc(d));
    case OP_F64_NEAREST:
        return f64_bits(num_f64_nearest(d));
    }
    return bits;
}

/* The lowest address native frames may use on this thread: the stack's
 * low end plus a margin for the host functions and nested interpreter
 * activations they call (a quarter of the stack, between 32 KiB and
 * 1 MiB). Computed once per thread. */
static _Thread_local char *cstack_limit_now;

static char *cstack_limit(void)
{
    if (cstack_limit_now != NULL)
        return cstack_limit_now;
    char *here = __builtin_frame_address(0);
    char *limit = here - ((size_t)256 << 10); /* unknown stack: assume 256 KiB below */
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void *addr;
        size_t size;
        if (pthread_attr_getstack(&attr, &addr, &size) == 0 && size > 0) {
            size_t margin = size / 4;
            if (margin > ((size_t)1 << 20))
                margin = (size_t)1 << 20;
            if (margin < ((size_t)32 << 10))
                margin = (size_t)32 << 10;
            limit = (char *)addr + margin;
        }
        pthread_attr_destroy(&attr);
    }
    cstack_limit_now = limit;
    return limit;
}

void native_enter(struct spry_store *store, struct spry_func *func, native_fn fn, uint64_t *fp,
                  uint32_t depth)
{
    /* Every field assigned one by one: an initializer would have the
     * compiler zero the whole context first (a `rep stos` at every entry)
     * for the fields ctx_set_instance sets. */
    struct nctx c;
    c.store = store;
    c.interrupt = (volatile int *)&store->interrupt;
    c.stack_end = store->stack + store->stack_slots;
    c.cstack_limit = cstack_limit();
    c.depth = depth;
    c.max_depth = store->limits.max_call_depth;
    c.trap = h_trap;
    c.call = h_call;
    c.call_indirect = h_call_indirect;
    c.memory_grow = h_memory_grow;
    c.memory_fill = h_memory_fill;
    c.memory_copy = h_memory_copy;
    c.memory_init = h_memory_init;
    c.data_drop = h_data_drop;
    c.fround = h_fround;
    ctx_set_instance(&c, func->inst);
    fn(&c, fp);
}

/*
 * libFuzzer harness: load, instantiate (imports satisfied by stand-ins) and
 * call every exported function with zero arguments, under small limits and a
 * watchdog that interrupts any call running longer than 20 ms. The exports
 * called after the input has run for INPUT_BUDGET_MS are skipped: a module
 * with many looping exports would otherwise take 20 ms for each, past
 * libFuzzer's per-input timeout (scripts/fuzz-smoke.sh: 1 s) on any machine.
 */
#include "spry/wasm.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The store under watch; the lock keeps it alive while the watchdog uses it. */
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct spry_store *watched;
static atomic_long watched_since_ms;

enum { INPUT_BUDGET_MS = 200 };

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *watchdog(void *arg)
{
    (void)arg;
    for (;;) {
        usleep(2000);
        pthread_mutex_lock(&watch_lock);
        if (watched != NULL && now_ms() - atomic_load(&watched_since_ms) > 20)
            spry_store_interrupt(watched);
        pthread_mutex_unlock(&watch_lock);
    }
    return NULL;
}

/* Stands in for an imported function: returns zeroes. user: the result count. */
static int stand_in(void *user, struct spry_instance *caller, uint64_t *slots)
{
    (void)caller;
    for (uintptr_t i = 0; i < (uintptr_t)user; i++)
        slots[i] = 0;
    return 0;
}

/* Creates an object matching import i; returns 0 or -1. */
static int make_import(struct spry_store *store, const struct spry_externtype *imp,
                       struct spry_extern *out)
{
    out->kind = imp->kind;
    switch (imp->kind) {
    case SPRY_EXTERN_FUNC:
        return spry_func_new_host(store, &imp->type.func, stand_in,
                                  (void *)(uintptr_t)imp->type.func.nresults, &out->of.func) == 0
                   ? 0
                   : -1;
    case SPRY_EXTERN_TABLE:
        return spry_table_new(store, imp->type.table, NULL, &out->of.table) == 0 ? 0 : -1;
    case SPRY_EXTERN_MEMORY:
        return spry_memory_new(store, imp->type.memory, &out->of.memory) == 0 ? 0 : -1;
    default: {
        struct spry_val v;
        memset(&v, 0, sizeof v);
        v.type = imp->type.global.type;
        struct spry_globaltype gt = {imp->type.global.type, imp->type.global.mutable_};
        return spry_global_new(store, gt, v, &out->of.global) == 0 ? 0 : -1;
    }
    }
}

static pthread_once_t watchdog_once = PTHREAD_ONCE_INIT;

static void start_watchdog(void)
{
    pthread_t thread;
    if (pthread_create(&thread, NULL, watchdog, NULL) == 0)
        pthread_detach(thread);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pthread_once(&watchdog_once, start_watchdog);
    struct spry_module *module = NULL;
    if (spry_module_load(data, size, NULL, &module, NULL) != 0)
        return 0;
    struct spry_store_limits limits = {
        .max_memory_bytes = 16 << 20, .max_call_depth = 500, .max_stack_slots = 1 << 16};
    struct spry_store *store = NULL;
    struct spry_extern *imports = NULL;
    size_t nimports = spry_module_import_count(module);
    if (spry_store_create(&limits, &store) != 0)
        goto done;
    imports = calloc(nimports + 1, sizeof *imports);
    if (imports == NULL)
        goto done;
    for (size_t i = 0; i < nimports; i++) {
        struct spry_externtype imp;
        spry_module_import(module, i, &imp);
        if (make_import(store, &imp, &imports[i]) != 0)
            goto done;
    }
    long input_start_ms = now_ms();
    atomic_store(&watched_since_ms, input_start_ms);
    pthread_mutex_lock(&watch_lock);
    watched = store;
    pthread_mutex_unlock(&watch_lock);
    struct spry_instance *inst = NULL;
    if (spry_instance_create(store, module, imports, nimports, &inst, NULL, NULL) != 0)
        goto unwatch;
    for (size_t i = 0; i < spry_module_export_count(module); i++) {
        if (now_ms() - input_start_ms > INPUT_BUDGET_MS)
            break;
        struct spry_externtype exp;
        spry_module_export(module, i, &exp);
        if (exp.kind != SPRY_EXTERN_FUNC)
            continue;
        struct spry_val args[16], results[16];
        if (exp.type.func.nparams > 16 || exp.type.func.nresults > 16)
            continue;
        memset(args, 0, sizeof args);
        for (uint32_t k = 0; k < exp.type.func.nparams; k++)
            args[k].type = exp.type.func.params[k];
        struct spry_extern ext;
        if (spry_instance_export_n(inst, exp.name, exp.name_len, &ext) != 0)
            continue;
        atomic_store(&watched_since_ms, now_ms());
        spry_store_clear_interrupt(store);
        spry_func_call(ext.of.func, args, exp.type.func.nparams, results, exp.type.func.nresults,
                       NULL);
    }
unwatch:
    pthread_mutex_lock(&watch_lock);
    watched = NULL;
    pthread_mutex_unlock(&watch_lock);
done:
    free(imports);
    spry_store_destroy(store);
    spry_module_destroy(module);
    return 0;
}

/*
 * Interpreter entry points and execution state shared with the runtime and
 * the trap handler.
 */
#ifndef SPRY_WASM_INTERP_H
#define SPRY_WASM_INTERP_H

#include "wasm/iops.h"

#include <setjmp.h>
#include <stdint.h>

struct spry_store;
struct spry_func;

/* A return address on the store's frame stack: the caller's pc, fp and
 * function (whose translated code the trap path finds from the function).
 * The entry frame of an activation holds the entry function and a pc whose
 * handler leaves the interpreter. */
struct interp_frame {
    const iword *ret_pc;
    uint64_t *fp;
    struct spry_func *func;
};

/* One C-level entry into the interpreter. Activations nest when a host
 * function calls back into wasm; the innermost is the thread's current one,
 * where the signal handler jumps on a fault in guest memory. */
struct interp_activation {
    jmp_buf jb;
    struct spry_store *store;
    struct interp_activation *prev;
    uint32_t base_depth; /* store->depth at entry */
    uint32_t entry_sp;   /* store->sp at entry */
    /* store->cur_func at entry, put back at exit: a host function that
     * called back into wasm returns to a caller whose faults are located
     * by it (trap.c's handler jumps to the caller's activation). */
    struct spry_func *entry_cur_func;
    int rc; /* set by native code before it jumps here (native.c); 0: a fault */
};

struct interp_activation *interp_current_activation(void);
/* The same as a variable, for the call path (runtime_call). */
extern _Thread_local struct interp_activation *interp_activation_now;

/* Runs a defined function (see interp_call in runtime.h). */
int interp_run(struct spry_store *store, struct spry_func *func, uint64_t *slots);
/* The same in the interpreter that checks every memory access (interp.c
 * hands calls to it while store->slack_memories > 0). */
int interp_run_checked(struct spry_store *store, struct spry_func *func, uint64_t *slots);
/* The same in the interpreter that checks every memory access (interp.c
 * hands calls to it while store->slack_memories > 0). */
int interp_run_checked(struct spry_store *store, struct spry_func *func, uint64_t *slots);

#endif

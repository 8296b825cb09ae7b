/*
 * The host-def table of wasi_snapshot_preview1, built from WASI_FUNC_LIST,
 * and the one trampoline every entry goes through: it finds the context
 * and the caller's memory, runs the handler and stores its errno.
 */
#include "spry/wasi.h"
#include "wasi/ctx.h"
#include "wasi/funcs.h"

typedef int (*wasi_handler)(struct wasi_call *c);

static int wasi_trampoline(void *user, struct spry_instance *caller, uint64_t *slots)
{
    wasi_handler handler = *(const wasi_handler *)user;
    if (caller == NULL)
        return SPRY_EINVAL; /* called through the API, not from a guest */
    struct spry_wasi *w = spry_store_data(spry_instance_store(caller), SPRY_STORE_DATA_WASI);
    if (w == NULL) {
        spry_instance_set_trap_message(caller, "wasi: no WASI context attached to the store");
        return SPRY_ETRAP;
    }
    struct wasi_call c = {.wasi = w, .caller = caller, .args = slots};
    struct spry_memory *mem = spry_instance_memory(caller, 0);
    if (mem != NULL) {
        c.memory = mem;
        c.mem = spry_memory_data(mem);
        c.size = spry_memory_size(mem);
    }
    int rc = handler(&c);
    if (rc < 0)
        return rc;
    slots[0] = (uint32_t)rc;
    return 0;
}

/* Handler pointers live in this array so the defs can point at them
 * (struct spry_host_def carries a data pointer, not a code pointer). */
static const wasi_handler handlers[] = {
#define WASI_HANDLER(name, params, results) wasi_##name,
    WASI_FUNC_LIST(WASI_HANDLER)
#undef WASI_HANDLER
};

enum {
#define WASI_INDEX(name, params, results) WASI_INDEX_##name,
    WASI_FUNC_LIST(WASI_INDEX)
#undef WASI_INDEX
        WASI_FUNC_COUNT
};

static const struct spry_host_def defs[] = {
#define WASI_DEF(name, params, results)                                   \
    {"wasi_snapshot_preview1",                                            \
     #name,                                                               \
     {sizeof(params) - 1, sizeof(results) - 1, (const uint8_t *)(params), \
      (const uint8_t *)(results)},                                        \
     wasi_trampoline,                                                     \
     (void *)&handlers[WASI_INDEX_##name]},
    WASI_FUNC_LIST(WASI_DEF)
#undef WASI_DEF
};

const struct spry_host_def *spry_wasi_host_defs(size_t *n)
{
    *n = WASI_FUNC_COUNT;
    return defs;
}

#include "canon_fixture.h"

#include "harness/test.h"

#include <stdio.h>
#include <string.h>

struct fixture fx;

static int host_realloc(void *user, struct spry_instance *caller, uint64_t *slots)
{
    (void)user;
    (void)caller;
    struct realloc_call c = {(uint32_t)slots[0], (uint32_t)slots[1], (uint32_t)slots[2],
                             (uint32_t)slots[3], 0};
    if (fx.mode == REALLOC_TRAP)
        return SPRY_ETRAP;
    if (fx.mode == REALLOC_MISALIGNED) {
        c.result = 0x2001;
    } else if (fx.mode == REALLOC_OUTSIDE) {
        c.result = (uint32_t)spry_memory_size(fx.mem) - 2;
    } else {
        uint32_t a = c.align == 0 ? 1 : c.align;
        uint32_t p = (fx.next + a - 1) & ~(a - 1);
        uint32_t keep = c.old_size < c.new_size ? c.old_size : c.new_size;
        if (p + (uint64_t)c.new_size > spry_memory_size(fx.mem))
            p = 0xffff0000u; /* out of memory: an address the ABI must reject */
        else if (c.old != 0 && keep > 0)
            memmove(fx.base + p, fx.base + c.old, keep);
        fx.next = p + c.new_size;
        c.result = p;
    }
    if (fx.scribble_len > 0)
        memset(fx.base + fx.scribble_at, 0xf0, fx.scribble_len);
    ASSERT_LT_UINT(fx.ncalls, sizeof fx.calls / sizeof fx.calls[0]);
    fx.calls[fx.ncalls++] = c;
    slots[0] = c.result;
    return 0;
}

static void host_drop(struct ccall *call, uint32_t rep)
{
    ASSERT_NOT_NULL(call->arena);
    ASSERT_TRUE(call->store == fx.store);
    fx.dropped[fx.ndropped++] = rep;
}

static int guest_dtor(void *user, struct spry_instance *caller, uint64_t *slots)
{
    (void)user;
    (void)caller;
    fx.dropped[fx.ndropped++] = 1000 + (uint32_t)slots[0];
    return 0;
}

void fx_init(uint8_t encoding)
{
    memset(&fx, 0, sizeof fx);
    ASSERT_OK(spry_store_create(NULL, &fx.store));
    struct spry_limits lim = {1, 4, true};
    ASSERT_OK(spry_memory_new(fx.store, lim, &fx.mem));
    fx.base = spry_memory_data(fx.mem);
    /* The tests write guest memory directly, as a guest would: all of it
     * counts as written (SPRY_CHECK_WRITES, spry_memory_data). */
    spry_memory_note_write(fx.mem, 0, spry_memory_size(fx.mem));
    static const uint8_t i32x4[4] = {SPRY_I32, SPRY_I32, SPRY_I32, SPRY_I32};
    static const uint8_t i32x1[1] = {SPRY_I32};
    struct spry_functype rt = {4, 1, i32x4, i32x1};
    ASSERT_OK(spry_func_new_host(fx.store, &rt, host_realloc, NULL, &fx.realloc));
    struct spry_functype dt = {1, 0, i32x1, NULL};
    ASSERT_OK(spry_func_new_host(fx.store, &dt, guest_dtor, NULL, &fx.dtor));
    fx.next = 0x1000;

    fx.host_res[0] = (struct chost_resource){"stream", host_drop};
    fx.host_res[1] = (struct chost_resource){"fields", NULL};
    fx.rtypes[0] = (struct canon_rtype){"stream", &fx.host_res[0], NULL, NULL};
    fx.rtypes[1] = (struct canon_rtype){"fields", &fx.host_res[1], NULL, NULL};
    fx.rtypes[2] = (struct canon_rtype){"thing", NULL, &fx.inst, fx.dtor};
    for (int i = 0; i < 3; i++)
        fx.rtype_ptrs[i] = &fx.rtypes[i];
    ASSERT_OK(canon_inst_init(&fx.inst, fx.store, NULL, fx.rtype_ptrs, 3, 0));

    fx.opts.encoding = encoding;
    fx.opts.memory = fx.mem;
    fx.opts.realloc = fx.realloc;
    spry_arena_init(&fx.arena, 1 << 24);
    fx_new_cx(true);
}

void fx_new_cx(bool views)
{
    memset(&fx.scope, 0, sizeof fx.scope);
    canon_cx_init(&fx.cx, &fx.opts, &fx.inst, &fx.arena, &fx.scope, NULL, views);
}

void fx_fini(void)
{
    canon_inst_fini(&fx.inst);
    spry_arena_fini(&fx.arena);
    spry_store_destroy(fx.store);
}

void fx_expect_trap(int rc, const char *message)
{
    ASSERT_EQ_INT(rc, SPRY_ETRAP);
    ASSERT_EQ_STR(fx.cx.report.message, message);
    spry_report_init(&fx.cx.report);
}

void fx_put(uint32_t ptr, const void *bytes, size_t n)
{
    ASSERT_LE_UINT(ptr + n, spry_memory_size(fx.mem));
    memcpy(fx.base + ptr, bytes, n);
}

void fx_put32(uint32_t ptr, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fx_put(ptr, b, 4);
}

uint32_t fx_get32(uint32_t ptr)
{
    const uint8_t *b = fx.base + ptr;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/*
 * The WASI 0.2 context: creation, the object table (slots, generations,
 * parents and deferred frees: invariants in p2.h) and resource drops.
 */
#include "base/alloc.h"
#include "component/wasip2/p2.h"
#include "wasm/runtime.h"

#include <stddef.h>
#include <string.h>
#include <unistd.h>

int wasip2_create(const struct spry_wasi_config *config, struct wasip2 **out,
                  struct spry_report *report)
{
    /* Only the header is zeroed: p2_new initialises each inline slot as it
     * hands it out, and nothing reads a slot past nobjs. */
    struct wasip2 *p2 = spry_malloc(sizeof *p2);
    if (p2 == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "wasi: out of memory");
    memset(p2, 0, offsetof(struct wasip2, inline_objs));
    int rc = spry_wasi_create(config, &p2->wasi, report);
    if (rc != 0) {
        spry_free(p2);
        return rc;
    }
    p2->max_objs = P2_MAX_OBJECTS;
    p2->objs = p2->inline_objs;
    p2->cap = P2_INLINE_OBJECTS;
    *out = p2;
    return 0;
}

/* Closes what an object holds (not its parent link). */
static void close_obj(struct p2_obj *o)
{
    if (o->kind == P2_DESCRIPTOR && !o->u.desc.borrowed && o->u.desc.fd >= 0)
        close(o->u.desc.fd);
    else if (o->kind == P2_DIRSTREAM && o->u.dirs.dir != NULL)
        closedir(o->u.dirs.dir);
    else if ((o->kind == P2_INPUT || o->kind == P2_OUTPUT) && o->u.stream.how == P2_STREAM_CUSTOM &&
             o->u.stream.ops->close != NULL)
        o->u.stream.ops->close(o->u.stream.user);
}

void wasip2_destroy(struct wasip2 *p2)
{
    if (p2 == NULL)
        return;
    for (uint32_t i = 0; i < p2->nobjs; i++)
        if (p2->objs[i].kind != P2_FREE)
            close_obj(&p2->objs[i]);
    if (p2->objs != p2->inline_objs)
        spry_free(p2->objs);
    spry_wasi_destroy(p2->wasi);
    spry_free(p2);
}

void wasip2_attach(struct wasip2 *p2, struct spry_store *store)
{
    spry_store_set_data(store, SPRY_STORE_DATA_WASI_P2, p2);
}

struct spry_wasi *wasip2_wasi(struct wasip2 *p2)
{
    return p2->wasi;
}

void wasip2_set_block_hook(struct wasip2 *p2, int (*hook)(void *user), void *user)
{
    p2->on_block = hook;
    p2->on_block_user = user;
}

struct wasip2 *wasip2_of_store(struct spry_store *store)
{
    return store != NULL ? spry_store_data(store, SPRY_STORE_DATA_WASI_P2) : NULL;
}

int wasip2_stream_create(struct wasip2 *p2, bool output, const struct wasip2_stream_ops *ops,
                         void *user, uint32_t *rep)
{
    uint32_t slot;
    int rc = p2_new(p2, output ? P2_OUTPUT : P2_INPUT, 0, &slot);
    if (rc != 0)
        return rc;
    struct p2_obj *o = &p2->objs[slot];
    o->u.stream.how = P2_STREAM_CUSTOM;
    o->u.stream.ops = ops;
    o->u.stream.user = user;
    *rep = p2_rep(p2, slot);
    return 0;
}

int wasip2_pollable_ready(struct wasip2 *p2, uint32_t *rep)
{
    uint32_t slot;
    int rc = p2_new(p2, P2_POLLABLE, 0, &slot);
    if (rc != 0)
        return rc;
    p2->objs[slot].u.poll.how = P2_POLL_READY;
    *rep = p2_rep(p2, slot);
    return 0;
}

int wasip2_pollable_create(struct wasip2 *p2, bool (*ready)(void *user), void *user, uint32_t *rep)
{
    return wasip2_pollable_create_fd(p2, ready, NULL, user, rep);
}

int wasip2_pollable_create_fd(struct wasip2 *p2, bool (*ready)(void *user),
                              int (*wake_fd)(void *user), void *user, uint32_t *rep)
{
    uint32_t slot;
    int rc = p2_new(p2, P2_POLLABLE, 0, &slot);
    if (rc != 0)
        return rc;
    p2->objs[slot].u.poll.how = P2_POLL_FN;
    p2->objs[slot].u.poll.ready = ready;
    p2->objs[slot].u.poll.wake_fd = wake_fd;
    p2->objs[slot].u.poll.user = user;
    *rep = p2_rep(p2, slot);
    return 0;
}

size_t wasip2_live_objects(const struct wasip2 *p2)
{
    return p2->live;
}

/* The context of a host call's store: spry_store_data, read inline (every
 * WASI 0.2 call and drop looks it up). */
static inline struct wasip2 *call_ctx(const struct ccall *call)
{
    return call->store != NULL ? call->store->data[SPRY_STORE_DATA_WASI_P2] : NULL;
}

int p2_ctx(struct ccall *call, struct wasip2 **out)
{
    struct wasip2 *p2 = call_ctx(call);
    if (p2 == NULL)
        return ccall_trap(call, "wasi: no WASI 0.2 context attached to the store");
    *out = p2;
    return 0;
}

int p2_new(struct wasip2 *ctx, uint8_t kind, uint32_t parent, uint32_t *slot)
{
    if (ctx->live >= ctx->max_objs)
        return SPRY_EEXHAUSTED;
    uint32_t i;
    if (ctx->free_head != 0) {
        i = ctx->free_head - 1;
        ctx->free_head = ctx->objs[i].next_free;
    } else {
        if (ctx->nobjs == ctx->cap) {
            uint32_t cap = ctx->cap * 2;
            if (cap > P2_MAX_OBJECTS)
                cap = P2_MAX_OBJECTS;
            bool inline_objs = ctx->objs == ctx->inline_objs;
            struct p2_obj *bigger =
                spry_realloc_array(inline_objs ? NULL : ctx->objs, cap, sizeof *bigger);
            if (bigger == NULL)
                return SPRY_ENOMEM;
            if (inline_objs)
                memcpy(bigger, ctx->inline_objs, sizeof ctx->inline_objs);
            ctx->objs = bigger;
            ctx->cap = cap;
        }
        i = ctx->nobjs++;
        ctx->objs[i].gen = 0;
    }
    struct p2_obj *o = &ctx->objs[i];
    uint16_t gen = (uint16_t)(o->gen + 1 == 0 ? 1 : o->gen + 1);
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->gen = gen;
    o->parent = parent;
    if (parent != 0)
        ctx->objs[parent - 1].children++;
    ctx->live++;
    *slot = i;
    return 0;
}

uint32_t p2_rep(const struct wasip2 *ctx, uint32_t slot)
{
    return (uint32_t)ctx->objs[slot].gen << 16 | (slot + 1);
}

static struct p2_obj *lookup(struct wasip2 *ctx, uint32_t rep, uint32_t *slot)
{
    uint32_t i = (rep & 0xffff) - 1;
    if ((rep & 0xffff) == 0 || i >= ctx->nobjs)
        return NULL;
    struct p2_obj *o = &ctx->objs[i];
    if (o->kind == P2_FREE || o->dropped || o->gen != rep >> 16)
        return NULL;
    if (slot != NULL)
        *slot = i;
    return o;
}

struct p2_obj *p2_get(struct wasip2 *ctx, uint32_t rep, uint8_t kind, uint32_t *slot)
{
    struct p2_obj *o = lookup(ctx, rep, slot);
    return o != NULL && o->kind == kind ? o : NULL;
}

/* Frees slot i and, in turn, a dropped parent whose last child it was. */
static void release(struct wasip2 *ctx, uint32_t i)
{
    for (;;) {
        struct p2_obj *o = &ctx->objs[i];
        SPRY_ASSERT(o->kind != P2_FREE && o->children == 0);
        close_obj(o);
        uint32_t parent = o->parent;
        uint16_t gen = o->gen;
        memset(o, 0, sizeof *o);
        o->gen = gen; /* p2_new moves it on */
        o->next_free = ctx->free_head;
        ctx->free_head = i + 1;
        ctx->live--;
        if (parent == 0)
            return;
        struct p2_obj *po = &ctx->objs[parent - 1];
        SPRY_ASSERT(po->children > 0);
        po->children--;
        if (!po->dropped || po->children > 0)
            return;
        i = parent - 1;
    }
}

void p2_discard(struct wasip2 *ctx, uint32_t slot)
{
    release(ctx, slot);
}

void p2_drop(struct ccall *call, uint32_t rep)
{
    struct wasip2 *ctx = call_ctx(call);
    if (ctx == NULL)
        return;
    uint32_t i;
    struct p2_obj *o = lookup(ctx, rep, &i);
    if (o == NULL)
        return; /* the canonical ABI only drops what it handed out */
    if (o->children > 0) {
        o->dropped = true;
        return;
    }
    release(ctx, i);
}

int p2_bad_handle(struct ccall *call, const char *what)
{
    return ccall_trap(call, "wasi: invalid %s handle", what);
}

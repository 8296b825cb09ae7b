/*
 * Building result values (struct cval, ctype.h) in the call's arena: the
 * shapes WASI 0.2 functions return over and over.
 */
#include "component/wasip2/p2.h"

#include <string.h>

struct cval *p2_vals(struct ccall *call, size_t n)
{
    return spry_arena_alloc_array(call->arena, n == 0 ? 1 : n, sizeof(struct cval));
}

int p2_oom(struct ccall *call)
{
    return ccall_trap(call, "wasi: out of memory for a result");
}

int p2_ok(struct ccall *call, struct cval *result, const struct cval *payload)
{
    result->kind = CT_RESULT;
    result->of.var.disc = 0;
    result->of.var.payload = NULL;
    if (payload != NULL) {
        struct cval *p = p2_vals(call, 1);
        if (p == NULL)
            return p2_oom(call);
        *p = *payload;
        result->of.var.payload = p;
    }
    return 0;
}

int p2_err_enum(struct ccall *call, struct cval *result, uint32_t code)
{
    struct cval *p = p2_vals(call, 1);
    if (p == NULL)
        return p2_oom(call);
    p2_enum(p, code);
    result->kind = CT_RESULT;
    result->of.var.disc = 1;
    result->of.var.payload = p;
    return 0;
}

int p2_new_own(struct ccall *call, struct wasip2 *ctx, uint8_t kind, uint32_t parent,
               uint32_t *slot, struct cval *out)
{
    int rc = p2_new(ctx, kind, parent, slot);
    if (rc == SPRY_EEXHAUSTED)
        return ccall_trap(call, "wasi: more than %u live handles", (unsigned)ctx->max_objs);
    if (rc != 0)
        return p2_oom(call);
    p2_own(out, p2_rep(ctx, *slot));
    return 0;
}

int p2_bytes(struct ccall *call, const void *p, size_t n, struct cval *out)
{
    void *copy = spry_arena_alloc(call->arena, n == 0 ? 1 : n);
    if (copy == NULL)
        return p2_oom(call);
    if (n > 0)
        memcpy(copy, p, n);
    out->kind = CT_LIST;
    out->of.raw.ptr = copy;
    out->of.raw.n = n;
    return 0;
}

int p2_string(struct ccall *call, const char *s, size_t n, struct cval *out)
{
    char *copy = spry_arena_alloc(call->arena, n + 1);
    if (copy == NULL)
        return p2_oom(call);
    memcpy(copy, s, n);
    out->kind = CT_STRING;
    out->of.str.ptr = copy;
    out->of.str.len = n;
    return 0;
}

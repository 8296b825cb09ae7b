/*
 * wasi:random/random, wasi:random/insecure and wasi:random/insecure-seed.
 * Both kinds of bytes come from getrandom(2) (insecure may be as good as
 * secure). A request for more than P2_RANDOM_MAX bytes traps: the result
 * could not fit a guest's memory anyway, and the host must not allocate
 * what a guest names. insecure-seed is drawn once per context and then
 * returned unchanged, as the WIT intends (a hash-map seed).
 */
#include "component/wasip2/p2.h"

#include <errno.h>
#include <sys/random.h>

static int fill(uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

static int bytes(struct ccall *call, const struct cval *args, struct cval *result)
{
    uint64_t len = args[0].of.u;
    if (len > P2_RANDOM_MAX)
        return ccall_trap(call, "wasi: %llu random bytes asked for (at most %d)",
                          (unsigned long long)len, P2_RANDOM_MAX);
    uint8_t *p = spry_arena_alloc(call->arena, len == 0 ? 1 : (size_t)len);
    if (p == NULL)
        return p2_oom(call);
    int e = fill(p, (size_t)len);
    if (e != 0)
        return ccall_trap(call, "wasi: getrandom failed: %s", strerror(e));
    result->kind = CT_LIST;
    result->of.raw.ptr = p;
    result->of.raw.n = (size_t)len;
    return 0;
}

static int u64(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)args;
    uint64_t v;
    int e = fill((uint8_t *)&v, sizeof v);
    if (e != 0)
        return ccall_trap(call, "wasi: getrandom failed: %s", strerror(e));
    p2_u64(result, v);
    return 0;
}

static int seed(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)args;
    struct wasip2 *ctx;
    int rc = p2_ctx(call, &ctx);
    if (rc != 0)
        return rc;
    if (!ctx->seeded) {
        int e = fill((uint8_t *)ctx->seed, sizeof ctx->seed);
        if (e != 0)
            return ccall_trap(call, "wasi: getrandom failed: %s", strerror(e));
        ctx->seeded = true;
    }
    struct cval *v = p2_vals(call, 2);
    if (v == NULL)
        return p2_oom(call);
    p2_u64(&v[0], ctx->seed[0]);
    p2_u64(&v[1], ctx->seed[1]);
    result->kind = CT_TUPLE;
    result->of.list.v = v;
    result->of.list.n = 2;
    return 0;
}

static const struct chost_func random_funcs[] = {
    {"get-random-bytes", bytes},
    {"get-random-u64", u64},
};

const struct chost_iface p2_iface_random = {
    .name = "wasi:random/random",
    .version = WASIP2_VERSION,
    .wit = "get-random-bytes: func(len: u64) -> list<u8>;\n"
           "get-random-u64: func() -> u64;\n",
    .funcs = random_funcs,
    .nfuncs = 2,
};

static const struct chost_func insecure_funcs[] = {
    {"get-insecure-random-bytes", bytes},
    {"get-insecure-random-u64", u64},
};

const struct chost_iface p2_iface_random_insecure = {
    .name = "wasi:random/insecure",
    .version = WASIP2_VERSION,
    .wit = "get-insecure-random-bytes: func(len: u64) -> list<u8>;\n"
           "get-insecure-random-u64: func() -> u64;\n",
    .funcs = insecure_funcs,
    .nfuncs = 2,
};

static const struct chost_func seed_funcs[] = {{"insecure-seed", seed}};

const struct chost_iface p2_iface_random_insecure_seed = {
    .name = "wasi:random/insecure-seed",
    .version = WASIP2_VERSION,
    .wit = "insecure-seed: func() -> tuple<u64, u64>;\n",
    .funcs = seed_funcs,
    .nfuncs = 1,
};

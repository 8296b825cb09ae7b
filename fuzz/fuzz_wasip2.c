/*
 * libFuzzer harness for the WASI 0.2 host functions: each input is a
 * sequence of calls of any function of any WASI 0.2 interface, with
 * arguments generated from the function's parsed WIT type and the input's
 * bytes (paths from a list of useful and escaping ones, numbers small or
 * raw), and handles of the right resource type taken from what earlier
 * calls returned, as the canonical ABI guarantees; some steps drop a
 * handle instead. Runs against the sandbox of sandbox.h (files, a
 * directory, symlinks in, out, absolute and looping). Checked:
 * the host does not crash (ASan/UBSan, leaks at exit of every context),
 * every result has the shape its WIT type says, and the directory beside
 * the preopen is exactly as it was.
 *
 * Left out: pollable.block and poll (fuzzed clocks would sleep for hours);
 * everything else runs, traps included (a trap ends nothing here).
 * FUZZ_TRACE=1 in the environment prints each call (to replay an input).
 */
#include "component/wasip2/wasip2.h"
#include "component/wit.h"
#include "sandbox.h"
#include "spry/wasm.h"
#include "wasm/decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sandbox sb;

/* ---- the interfaces, parsed once ---- */

struct fn {
    const struct chost_iface *iface;
    const struct chost_func *impl;
    const struct wit_func *wit;
};

static struct spry_arena wit_arena;
static struct wit_host host;
static struct fn fns[256];
static size_t nfns;

static void cleanup(void)
{
    sandbox_remove(&sb);
    spry_arena_fini(&wit_arena);
}

static void setup(void)
{
    sandbox_create(&sb, "wasip2");
    size_t n;
    const struct chost_iface *ifaces = wasip2_ifaces(&n);
    spry_arena_init(&wit_arena, 8u << 20);
    if (wit_parse_host(ifaces, n, &wit_arena, &host, NULL) != 0)
        abort();
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < ifaces[i].nfuncs; k++) {
            const struct chost_func *cf = &ifaces[i].funcs[k];
            if (strcmp(cf->name, "poll") == 0 || strcmp(cf->name, "[method]pollable.block") == 0)
                continue;
            if (nfns == sizeof fns / sizeof fns[0])
                abort();
            fns[nfns++] = (struct fn){&ifaces[i], cf, wit_iface_func(&host.ifaces[i], cf->name)};
            if (fns[nfns - 1].wit == NULL)
                abort();
        }
    }
    atexit(cleanup);
}

/* ---- handles the guest holds, by resource ---- */

enum { MAX_HANDLES = 64 };

struct handles {
    uint32_t rep[MAX_HANDLES], res[MAX_HANDLES];
    size_t n;
};

static void collect(struct handles *h, const struct ctype *t, const struct cval *v)
{
    if (v->kind != t->kind) {
        fprintf(stderr, "fuzz_wasip2: a value of kind %d where the WIT says %d\n", v->kind,
                t->kind);
        abort();
    }
    switch (t->kind) {
    case CT_OWN:
        if (h->n < MAX_HANDLES) {
            h->rep[h->n] = v->of.rep;
            h->res[h->n] = t->u.resource;
            h->n++;
        }
        break;
    case CT_STRING:
        if (!decode_utf8_valid((const uint8_t *)v->of.str.ptr, v->of.str.len))
            abort();
        break;
    case CT_LIST:
        if (!ctype_is_number(t->u.elem->kind))
            for (size_t i = 0; i < v->of.list.n; i++)
                collect(h, t->u.elem, &v->of.list.v[i]);
        break;
    case CT_RECORD:
    case CT_TUPLE:
        if (v->of.list.n != t->u.record.n)
            abort();
        for (uint32_t i = 0; i < t->u.record.n; i++)
            collect(h, t->u.record.fields[i].type, &v->of.list.v[i]);
        break;
    case CT_VARIANT:
    case CT_ENUM:
        if (v->of.var.disc >= t->u.variant.n)
            abort();
        if (t->u.variant.cases[v->of.var.disc].type != NULL)
            collect(h, t->u.variant.cases[v->of.var.disc].type, v->of.var.payload);
        else if (v->of.var.payload != NULL)
            abort();
        break;
    case CT_OPTION:
        if (v->of.var.disc > 1)
            abort();
        if (v->of.var.disc == 1)
            collect(h, t->u.elem, v->of.var.payload);
        break;
    case CT_RESULT: {
        if (v->of.var.disc > 1)
            abort();
        const struct ctype *pt = v->of.var.disc == 0 ? t->u.result.ok : t->u.result.err;
        if (pt != NULL)
            collect(h, pt, v->of.var.payload);
        else if (v->of.var.payload != NULL)
            abort();
        break;
    }
    default:
        break;
    }
}

/* ---- arguments from the input ---- */

struct cursor {
    const uint8_t *p;
    size_t left;
};

static uint8_t take8(struct cursor *c)
{
    if (c->left == 0)
        return 0;
    c->left--;
    return *c->p++;
}

static uint64_t take64(struct cursor *c)
{
    uint64_t v = 0;
    size_t n = c->left < 8 ? c->left : 8;
    memcpy(&v, c->p, n);
    c->p += n;
    c->left -= n;
    return v;
}

static const char *const paths[] = {
    "file",
    "dir",
    "in",
    "up",
    "up/secret",
    "abs",
    "abs/etc",
    "loop",
    "..",
    ".",
    "dir/",
    "in/",
    "new",
    "dir/new",
    "dir/../..",
    "/etc/passwd",
    "",
    "../outside/secret",
    "dir/x/../../../outside",
};

/* A value of type t; false when a handle of the needed resource is missing. */
static bool gen(struct spry_arena *a, struct cursor *c, const struct handles *h,
                const struct ctype *t, struct cval *v, unsigned depth)
{
    memset(v, 0, sizeof *v);
    v->kind = t->kind;
    if (depth > 8)
        return false;
    uint8_t sel = take8(c);
    switch (t->kind) {
    case CT_BOOL:
        v->of.b = sel & 1;
        return true;
    case CT_U8:
    case CT_U16:
    case CT_U32:
    case CT_U64: {
        static const uint64_t masks[] = {
            [CT_U8] = 0xff, [CT_U16] = 0xffff, [CT_U32] = 0xffffffff, [CT_U64] = UINT64_MAX};
        uint64_t raw = (sel & 3) == 0 ? take64(c) : sel >> 2;
        v->of.u = raw & masks[t->kind];
        return true;
    }
    case CT_STRING: {
        const char *s = paths[sel % (sizeof paths / sizeof paths[0])];
        v->of.str.ptr = s;
        v->of.str.len = strlen(s);
        return true;
    }
    case CT_LIST:
        if (ctype_is_number(t->u.elem->kind)) { /* list<u8>: bytes of the input */
            size_t n = sel < c->left ? sel : c->left;
            v->of.raw.ptr = c->p;
            v->of.raw.n = n;
            c->p += n;
            c->left -= n;
            return true;
        } else {
            size_t n = sel % 4;
            v->of.list.v = spry_arena_alloc_array(a, n + 1, sizeof *v);
            v->of.list.n = n;
            for (size_t i = 0; i < n; i++)
                if (v->of.list.v == NULL || !gen(a, c, h, t->u.elem, &v->of.list.v[i], depth + 1))
                    return false;
            return true;
        }
    case CT_RECORD:
    case CT_TUPLE:
        v->of.list.n = t->u.record.n;
        v->of.list.v = spry_arena_alloc_array(a, t->u.record.n, sizeof *v);
        if (v->of.list.v == NULL)
            return false;
        for (uint32_t i = 0; i < t->u.record.n; i++)
            if (!gen(a, c, h, t->u.record.fields[i].type, &v->of.list.v[i], depth + 1))
                return false;
        return true;
    case CT_VARIANT:
    case CT_ENUM:
        v->of.var.disc = sel % t->u.variant.n;
        if (t->u.variant.cases[v->of.var.disc].type == NULL)
            return true;
        v->of.var.payload = spry_arena_alloc(a, sizeof *v);
        return v->of.var.payload != NULL &&
               gen(a, c, h, t->u.variant.cases[v->of.var.disc].type, v->of.var.payload, depth + 1);
    case CT_OPTION:
        v->of.var.disc = sel & 1;
        if (v->of.var.disc == 0)
            return true;
        v->of.var.payload = spry_arena_alloc(a, sizeof *v);
        return v->of.var.payload != NULL && gen(a, c, h, t->u.elem, v->of.var.payload, depth + 1);
    case CT_RESULT: {
        v->of.var.disc = sel & 1;
        const struct ctype *pt = v->of.var.disc == 0 ? t->u.result.ok : t->u.result.err;
        if (pt == NULL)
            return true;
        v->of.var.payload = spry_arena_alloc(a, sizeof *v);
        return v->of.var.payload != NULL && gen(a, c, h, pt, v->of.var.payload, depth + 1);
    }
    case CT_FLAGS:
        v->of.flags = t->u.flags.n >= 32 ? sel : sel & ((1u << t->u.flags.n) - 1);
        return true;
    case CT_OWN:
    case CT_BORROW: {
        size_t k = 0, pick = sel;
        for (size_t i = 0; i < h->n; i++)
            k += h->res[i] == t->u.resource;
        if (k == 0)
            return false;
        pick %= k;
        for (size_t i = 0; i < h->n; i++)
            if (h->res[i] == t->u.resource && pick-- == 0)
                v->of.rep = h->rep[i];
        return true;
    }
    default:
        v->of.u = take64(c);
        return true;
    }
}

enum { MAX_CALLS = 64 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (nfns == 0)
        setup();
    sandbox_seed(&sb);
    struct cursor in = {data, size};
    uint8_t mode = take8(&in);
    struct spry_wasi_preopen pre;
    struct spry_wasi_config config;
    sandbox_config(&sb, mode & 1, data, size, &pre, &config);
    struct wasip2 *p2;
    static struct spry_store *store; /* kept: only its data changes */
    if (store == NULL && spry_store_create(NULL, &store) != 0)
        abort();
    if (wasip2_create(&config, &p2, NULL) != 0)
        abort();
    wasip2_attach(p2, store);
    struct handles h = {.n = 0};
    for (int call = 0; call < MAX_CALLS && in.left > 0; call++) {
        uint8_t op = take8(&in);
        if (op % 8 == 0 && h.n > 0) { /* drop a handle */
            size_t i = take8(&in) % h.n;
            const struct wit_iface *wi;
            const struct chost_resource *res;
            if (wit_host_resource(&host, h.res[i], &wi, &res) != 0)
                abort();
            struct ccall dc = {.store = store};
            res->drop(&dc, h.rep[i]);
            h.rep[i] = h.rep[h.n - 1];
            h.res[i] = h.res[h.n - 1];
            h.n--;
            continue;
        }
        const struct fn *f = &fns[((size_t)op << 8 | take8(&in)) % nfns];
        struct spry_arena arena;
        spry_arena_init(&arena, 32u << 20);
        struct cval args[8], result;
        bool ok = f->wit->type.nparams <= 8;
        for (uint32_t k = 0; ok && k < f->wit->type.nparams; k++)
            ok = gen(&arena, &in, &h, f->wit->type.params[k].type, &args[k], 0);
        if (ok) {
            if (getenv("FUZZ_TRACE") != NULL)
                fprintf(stderr, "call %s\n", f->impl->name);
            struct ccall cc = {.arena = &arena, .store = store};
            memset(&result, 0, sizeof result);
            int rc = f->impl->fn(&cc, args, &result);
            if (rc == 0 && f->wit->type.result != NULL)
                collect(&h, f->wit->type.result, &result);
            else if (rc != 0 && rc != SPRY_ETRAP && rc != SPRY_EEXIT)
                abort();
            if (rc == SPRY_EEXIT) {
                spry_arena_fini(&arena);
                break;
            }
        }
        spry_arena_fini(&arena);
    }
    spry_store_set_data(store, SPRY_STORE_DATA_WASI_P2, NULL);
    wasip2_destroy(p2);
    sandbox_check_outside(&sb, "fuzz_wasip2");
    return 0;
}

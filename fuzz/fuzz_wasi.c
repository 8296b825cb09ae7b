/*
 * libFuzzer harness for the WASI guest ABI: each input is a sequence of
 * wasi_snapshot_preview1 calls with fuzzed arguments, made from guest code
 * (a generated module importing every function and exporting a wrapper)
 * against a real sandbox directory (sandbox.h) seeded with files, a
 * directory and symlinks (in, out, absolute, looping). Checked after every
 * input: the host did not crash (ASan/UBSan), and the sibling directory
 * outside the preopen is exactly as it was.
 *
 * Left out: poll_oneoff (fuzzed clocks would sleep for hours) and
 * fd_allocate (would really reserve the space).
 */
#include "sandbox.h"
#include "spry/wasi.h"
#include "spry/wasm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- a module wrapping every WASI function, encoded by hand ---- */

struct out {
    uint8_t bytes[1 << 16];
    size_t len;
};

static void put(struct out *o, const void *p, size_t n)
{
    if (o->len + n > sizeof o->bytes)
        abort();
    memcpy(o->bytes + o->len, p, n);
    o->len += n;
}

static void put_byte(struct out *o, uint8_t b)
{
    put(o, &b, 1);
}

static void put_leb(struct out *o, uint32_t v)
{
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        put_byte(o, (uint8_t)(b | (v ? 0x80 : 0)));
    } while (v);
}

static void put_name(struct out *o, const char *s)
{
    put_leb(o, (uint32_t)strlen(s));
    put(o, s, strlen(s));
}

static void put_section(struct out *o, uint8_t id, const struct out *body)
{
    put_byte(o, id);
    put_leb(o, (uint32_t)body->len);
    put(o, body->bytes, body->len);
}

static struct spry_module *wrapper_module(void)
{
    size_t n;
    const struct spry_host_def *defs = spry_wasi_host_defs(&n);
    static struct out m, s;
    put(&m, "\0asm\1\0\0\0", 8);
    s.len = 0; /* types: one per function */
    put_leb(&s, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        put_byte(&s, 0x60);
        put_leb(&s, defs[i].type.nparams);
        put(&s, defs[i].type.params, defs[i].type.nparams);
        put_leb(&s, defs[i].type.nresults);
        put(&s, defs[i].type.results, defs[i].type.nresults);
    }
    put_section(&m, 1, &s);
    s.len = 0; /* imports */
    put_leb(&s, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        put_name(&s, defs[i].module);
        put_name(&s, defs[i].name);
        put_byte(&s, 0);
        put_leb(&s, (uint32_t)i);
    }
    put_section(&m, 2, &s);
    s.len = 0; /* functions */
    put_leb(&s, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        put_leb(&s, (uint32_t)i);
    put_section(&m, 3, &s);
    s.len = 0; /* one page of memory */
    put(&s, "\1\0\1", 3);
    put_section(&m, 5, &s);
    s.len = 0; /* exports: the wrappers under the functions' names */
    put_leb(&s, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        put_name(&s, defs[i].name);
        put_byte(&s, 0);
        put_leb(&s, (uint32_t)(n + i));
    }
    put_section(&m, 7, &s);
    s.len = 0; /* code: local.get each parameter, call the import */
    put_leb(&s, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        struct out body = {.len = 0};
        put_byte(&body, 0); /* no locals */
        for (uint32_t k = 0; k < defs[i].type.nparams; k++) {
            put_byte(&body, 0x20);
            put_leb(&body, k);
        }
        put_byte(&body, 0x10);
        put_leb(&body, (uint32_t)i);
        put_byte(&body, 0x0b);
        put_leb(&s, (uint32_t)body.len);
        put(&s, body.bytes, body.len);
    }
    put_section(&m, 10, &s);
    struct spry_module *module;
    if (spry_module_load(m.bytes, m.len, NULL, &module, NULL) != 0)
        abort();
    return module;
}

/* ---- the sandbox on disk (sandbox.h) ---- */

static struct sandbox sb;
static struct spry_module *module;

static void cleanup(void)
{
    sandbox_remove(&sb);
}

static void setup(void)
{
    sandbox_create(&sb, "wasi");
    module = wrapper_module();
    atexit(cleanup);
}

/* ---- the input: memory image, then calls ---- */

struct cursor {
    const uint8_t *p;
    size_t left;
};

static uint32_t take32(struct cursor *c)
{
    uint32_t v = 0;
    size_t n = c->left < 4 ? c->left : 4;
    memcpy(&v, c->p, n);
    c->p += n;
    c->left -= n;
    return v;
}

/* Useful strings at fixed guest addresses, so paths are found often. */
static const char *const strings[] = {
    "file",      "dir",         "in",   "up",      "up/secret",
    "abs",       "abs/etc",     "loop", "..",      "../outside/secret",
    "dir/../..", "/etc/passwd", "new",  "dir/new", ".",
    "dir/",      "in/",         "a\0b"};
enum { STRINGS_AT = 32768, MAX_CALLS = 48 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (module == NULL)
        setup();
    sandbox_seed(&sb);
    struct cursor in = {data, size};
    struct spry_wasi_preopen pre;
    struct spry_wasi_config config;
    sandbox_config(&sb, in.left > 0 && (data[0] & 1), data, size, &pre, &config);
    struct spry_wasi *wasi;
    struct spry_store *store;
    if (spry_wasi_create(&config, &wasi, NULL) != 0 || spry_store_create(NULL, &store) != 0)
        abort();
    spry_wasi_attach(wasi, store);
    size_t n;
    const struct spry_host_def *defs = spry_wasi_host_defs(&n);
    struct spry_extern imports[64];
    struct spry_instance *inst;
    if (n > 64 || spry_host_link(store, module, defs, n, imports, NULL) != 0 ||
        spry_instance_create(store, module, imports, n, &inst, NULL, NULL) != 0)
        abort();
    struct spry_memory *mem = spry_instance_memory(inst, 0);
    uint8_t *base = spry_memory_data(mem);
    spry_memory_note_write(mem, 0, spry_memory_size(mem)); /* written by the harness */
    /* Byte 0: bit 0 read-only preopen, the rest the memory image length / 16. */
    size_t image = in.left > 0 ? (size_t)(data[0] >> 1) * 16 : 0;
    if (image > in.left)
        image = in.left;
    memcpy(base, in.p, image);
    in.p += image;
    in.left -= image;
    uint32_t str_at[sizeof strings / sizeof strings[0]],
        str_len[sizeof strings / sizeof strings[0]];
    uint32_t at = STRINGS_AT;
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        size_t len = i == sizeof strings / sizeof strings[0] - 1 ? 3 : strlen(strings[i]);
        memcpy(base + at, strings[i], len);
        str_at[i] = at;
        str_len[i] = (uint32_t)len;
        at += (uint32_t)len + 1;
    }
    for (int call = 0; call < MAX_CALLS && in.left > 0; call++) {
        const struct spry_host_def *d = &defs[*in.p % n];
        in.p++;
        in.left--;
        if (strcmp(d->name, "poll_oneoff") == 0 || strcmp(d->name, "fd_allocate") == 0)
            continue;
        struct spry_val args[16];
        for (uint32_t k = 0; k < d->type.nparams; k++) {
            uint32_t sel = in.left > 0 ? *in.p : 0;
            uint64_t v = take32(&in);
            if (d->type.params[k] == SPRY_I64)
                v |= (uint64_t)take32(&in) << 32;
            switch (sel & 3) {
            case 0: /* small: fds, flags, lengths */
                v = (v >> 8) % 16;
                break;
            case 1: /* inside memory */
                v = (v >> 8) % 65536;
                break;
            case 2: /* a known string and its length */
                if (d->type.params[k] == SPRY_I32 && k + 1 < d->type.nparams &&
                    d->type.params[k + 1] == SPRY_I32) {
                    size_t s = (v >> 8) % (sizeof strings / sizeof strings[0]);
                    args[k].type = SPRY_I32;
                    args[k].of.i32 = (int32_t)str_at[s];
                    k++;
                    v = str_len[s];
                }
                break;
            default: /* raw */
                break;
            }
            args[k].type = d->type.params[k];
            if (args[k].type == SPRY_I64)
                args[k].of.i64 = (int64_t)v;
            else
                args[k].of.i32 = (int32_t)(uint32_t)v;
        }
        struct spry_extern ext;
        if (spry_instance_export(inst, d->name, &ext) != 0)
            abort();
        struct spry_val result;
        struct spry_trap trap;
        int rc =
            spry_func_call(ext.of.func, args, d->type.nparams, &result, d->type.nresults, &trap);
        if (rc == SPRY_EEXIT)
            break;
        if (rc != 0) {
            fprintf(stderr, "fuzz_wasi: %s returned %s\n", d->name, spry_errname(rc));
            abort(); /* WASI functions never trap on their own */
        }
    }
    spry_store_destroy(store);
    spry_wasi_destroy(wasi);
    sandbox_check_outside(&sb, "fuzz_wasi");
    return 0;
}

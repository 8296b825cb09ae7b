/*
 * libFuzzer harness: WAVE calls (component/wave.h), the text of `spry run
 * --invoke` for components. The input is a call of one of the functions of
 * a fixed WIT interface that has every value type kind; a parse either
 * fails with SPRY_EINVAL and a report starting "column N:" (N within the
 * text), or succeeds, and then the arguments written back as WAVE parse
 * again and write back the same text (a fixed point). Seeds: fuzz/seeds/wave.
 */
#include "component/wave.h"
#include "component/wit.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_INPUT = 1 << 16 };

static const char wit_text[] =
    "record point { x: s32, y: s32 }\n"
    "record opts { name: string, size: option<u32> }\n"
    "record all-opt { a: option<u8> }\n"
    "flags perms { read, write, exec }\n"
    "enum color { red, green, blue, %ok }\n"
    "variant shape { none, circle(f32), rect(point), label(string) }\n"
    "resource thing;\n"
    "nums: func(a: bool, b: s8, c: u8, d: s16, e: u16, f: s32, g: u32, h: s64, i: u64);\n"
    "floats: func(a: f32, b: f64);\n"
    "text: func(c: char, s: string);\n"
    "lists: func(a: list<u8>, b: list<string>, c: list<list<s64>>, d: list<f32>);\n"
    "records: func(p: point, o: opts, e: all-opt);\n"
    "tuples: func(t: tuple<u8, string, tuple<bool>>);\n"
    "cases: func(p: perms, c: color, s: shape);\n"
    "options: func(a: option<u32>, b: option<option<string>>, c: option<result<u8>>);\n"
    "results: func(a: result, b: result<u32>, c: result<_, string>, d: result<string, u8>,\n"
    "              e: result<option<u8>>);\n"
    "nothing: func();\n"
    "takes: func(t: borrow<thing>);\n";

static const struct wit_iface *iface(void)
{
    static struct spry_arena arena;
    static struct wit_host host;
    static bool ready;
    if (!ready) {
        static const struct chost_resource res[] = {{"thing", NULL}};
        static const struct chost_iface hi = {.name = "t:wave/f",
                                              .version = "0.1.0",
                                              .wit = wit_text,
                                              .resources = res,
                                              .nresources = 1};
        spry_arena_init(&arena, 16u << 20);
        struct spry_report r;
        spry_report_init(&r);
        if (wit_parse_host(&hi, 1, &arena, &host, &r) != 0)
            __builtin_trap();
        ready = true;
    }
    return &host.ifaces[0];
}

/* Parses text as a call; on success writes `name(a, b)` into out. */
static int parse_and_write(const char *text, size_t len, struct spry_arena *arena,
                           struct spry_buf *out)
{
    struct spry_report r;
    spry_report_init(&r);
    struct wave_call head;
    int rc = wave_call_head(text, len, &head, &r);
    const struct cfunctype *ft = NULL;
    if (rc == 0) {
        const struct wit_iface *w = iface();
        for (size_t i = 0; i < w->nfuncs && ft == NULL; i++)
            if (strlen(w->funcs[i].name) == head.name_len &&
                memcmp(w->funcs[i].name, head.name, head.name_len) == 0)
                ft = &w->funcs[i].type;
        if (ft == NULL)
            return SPRY_ENOTFOUND;
    }
    struct cval *args = NULL;
    if (rc == 0)
        rc = wave_call_args(text, len, &head, ft, arena, &args, &r);
    if (rc == SPRY_ENOMEM || rc == SPRY_ETOOBIG)
        return rc;
    if (rc != 0) {
        unsigned long col = 0;
        if (rc != SPRY_EINVAL || sscanf(r.message, "column %lu:", &col) != 1 || col == 0 ||
            col > len + 1)
            __builtin_trap();
        return rc;
    }
    spry_buf_reset(out);
    if (spry_buf_append(out, head.name, head.name_len) != 0 || spry_buf_append_byte(out, '(') != 0)
        return SPRY_ENOMEM;
    for (uint32_t i = 0; i < ft->nparams; i++) {
        if (i != 0 && spry_buf_append_str(out, ", ") != 0)
            return SPRY_ENOMEM;
        rc = wave_write_value(out, ft->params[i].type, &args[i]);
        if (rc != 0)
            return rc;
    }
    return spry_buf_append_byte(out, ')');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    struct spry_arena arena;
    spry_arena_init(&arena, 16u << 20);
    struct spry_buf once, twice;
    spry_buf_init(&once, 16u << 20);
    spry_buf_init(&twice, 16u << 20);
    int rc = parse_and_write((const char *)data, size, &arena, &once);
    if (rc == 0) {
        rc = parse_and_write((const char *)once.data, once.len, &arena, &twice);
        if (rc == SPRY_EINVAL || rc == SPRY_ENOTFOUND)
            __builtin_trap(); /* what was written must read back */
        if (rc == 0 && (once.len != twice.len || memcmp(once.data, twice.data, once.len) != 0))
            __builtin_trap();
    }
    spry_buf_fini(&once);
    spry_buf_fini(&twice);
    spry_arena_fini(&arena);
    return 0;
}

/*
 * spry run: load a WebAssembly module and call one of its exports.
 *
 *   spry run [--invoke NAME] FILE.wasm [ARGS...]
 *
 * ARGS are parsed by the export's parameter types (i32/i64 as decimal or
 * 0x-hex integers, f32/f64 as decimal floats); results are printed one per
 * line. A trap prints one line naming the function and exits 1.
 */
#include "cli/commands.h"

#include "base/alloc.h"
#include "spry/wasm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_MODULE_BYTES = 1 << 30 };

static void run_usage(FILE *out)
{
    fprintf(out, "usage: spry run [--invoke NAME] FILE.wasm [ARGS...]\n"
                 "  --invoke NAME  call export NAME (default: _start)\n");
}

/* Reads a whole file into memory (bounded by MAX_MODULE_BYTES). */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "spry: cannot open '%s': %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = spry_malloc(cap);
    while (buf != NULL) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
        if (n == cap) {
            if (cap >= MAX_MODULE_BYTES) {
                fprintf(stderr, "spry: '%s' is larger than %d bytes\n", path, MAX_MODULE_BYTES);
                spry_free(buf);
                fclose(f);
                return -1;
            }
            uint8_t *bigger = spry_realloc(buf, cap * 2);
            if (bigger == NULL) {
                spry_free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (buf == NULL || err) {
        fprintf(stderr, "spry: cannot read '%s'\n", path);
        spry_free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

static int parse_arg(const char *text, uint8_t type, struct spry_val *out)
{
    char *end = NULL;
    errno = 0;
    out->type = type;
    switch (type) {
    case SPRY_I32: {
        long long v = strtoll(text, &end, 0);
        if (v < INT32_MIN || v > UINT32_MAX)
            return -1;
        out->of.i32 = (int32_t)(uint32_t)v;
        break;
    }
    case SPRY_I64: {
        if (text[0] == '-')
            out->of.i64 = strtoll(text, &end, 0);
        else
            out->of.i64 = (int64_t)strtoull(text, &end, 0);
        break;
    }
    case SPRY_F32: {
        float f = strtof(text, &end);
        memcpy(&out->of.f32_bits, &f, 4);
        break;
    }
    case SPRY_F64: {
        double d = strtod(text, &end);
        memcpy(&out->of.f64_bits, &d, 8);
        break;
    }
    default:
        return -1;
    }
    return errno == 0 && end != text && *end == '\0' ? 0 : -1;
}

static void print_val(const struct spry_val *v)
{
    switch (v->type) {
    case SPRY_I32:
        printf("%" PRId32 "\n", v->of.i32);
        break;
    case SPRY_I64:
        printf("%" PRId64 "\n", v->of.i64);
        break;
    case SPRY_F32: {
        float f;
        memcpy(&f, &v->of.f32_bits, 4);
        printf("%.9g\n", f);
        break;
    }
    case SPRY_F64: {
        double d;
        memcpy(&d, &v->of.f64_bits, 8);
        printf("%.17g\n", d);
        break;
    }
    default:
        printf("%s\n", v->of.ref == NULL ? "null" : "ref");
        break;
    }
}

static const char *kind_name(uint8_t kind)
{
    static const char *const names[] = {"function", "table", "memory", "global"};
    return kind < 4 ? names[kind] : "?";
}

/* Calls the export and prints its results; returns the exit status. */
static int invoke(struct spry_instance *inst, const char *name, int argc, char **argv)
{
    struct spry_extern ext;
    if (spry_instance_export(inst, name, &ext) != 0 || ext.kind != SPRY_EXTERN_FUNC) {
        fprintf(stderr, "spry: the module exports no function '%s'\n", name);
        return 1;
    }
    const struct spry_functype *ft = spry_func_type(ext.of.func);
    if ((uint32_t)argc != ft->nparams) {
        fprintf(stderr, "spry: '%s' takes %u arguments, %d given\n", name, ft->nparams, argc);
        return 2;
    }
    struct spry_val *args = spry_calloc(ft->nparams + 1, sizeof *args);
    struct spry_val *results = spry_calloc(ft->nresults + 1, sizeof *results);
    int status = 1;
    if (args == NULL || results == NULL) {
        fprintf(stderr, "spry: out of memory\n");
        goto done;
    }
    for (uint32_t i = 0; i < ft->nparams; i++) {
        if (parse_arg(argv[i], ft->params[i], &args[i]) != 0) {
            fprintf(stderr, "spry: argument %u ('%s') is not a valid %s\n", i + 1, argv[i],
                    ft->params[i] == SPRY_I32   ? "i32"
                    : ft->params[i] == SPRY_I64 ? "i64"
                    : ft->params[i] == SPRY_F32 ? "f32"
                    : ft->params[i] == SPRY_F64 ? "f64"
                                                : "value of a type the CLI cannot write");
            status = 2;
            goto done;
        }
    }
    struct spry_trap trap;
    int rc = spry_func_call(ext.of.func, args, ft->nparams, results, ft->nresults, &trap);
    if (rc == SPRY_EEXIT) {
        status = trap.exit_code;
        goto done;
    }
    if (rc != 0) {
        if (rc == SPRY_ETRAP)
            fprintf(stderr, "spry: trap in %s%s%s (function %u, offset 0x%x): %s\n",
                    trap.func_name[0] ? "'" : "", trap.func_name[0] ? trap.func_name : "wasm",
                    trap.func_name[0] ? "'" : "", trap.func_index, trap.code_offset, trap.message);
        else
            fprintf(stderr, "spry: call failed: %s\n", spry_strerror(rc));
        goto done;
    }
    for (uint32_t i = 0; i < ft->nresults; i++)
        print_val(&results[i]);
    status = 0;
done:
    spry_free(args);
    spry_free(results);
    return status;
}

int cli_run(int argc, char **argv)
{
    const char *export_name = "_start";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--invoke") == 0 && i + 1 < argc) {
            export_name = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            run_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "spry run: unknown option '%s' (see 'spry run --help')\n", argv[i]);
            return 2;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "spry run: missing FILE.wasm (see 'spry run --help')\n");
        return 2;
    }
    const char *path = argv[i++];
    uint8_t *bytes;
    size_t len;
    if (read_file(path, &bytes, &len) != 0)
        return 1;
    struct spry_report report;
    spry_report_init(&report);
    struct spry_module *module = NULL;
    struct spry_store *store = NULL;
    struct spry_instance *inst = NULL;
    int status = 1;
    int rc = spry_module_load(bytes, len, NULL, &module, &report);
    spry_free(bytes);
    if (rc != 0) {
        fprintf(stderr, "spry: %s: %s\n", path, report.message);
        return 1;
    }
    if (spry_module_import_count(module) > 0) {
        struct spry_externtype imp;
        spry_module_import(module, 0, &imp);
        fprintf(stderr, "spry: %s: imports %s %.*s.%.*s, which spry run does not provide\n", path,
                kind_name(imp.kind), (int)imp.module_len, imp.module, (int)imp.name_len, imp.name);
        goto done;
    }
    if (spry_store_create(NULL, &store) != 0) {
        fprintf(stderr, "spry: out of memory\n");
        goto done;
    }
    struct spry_trap trap;
    rc = spry_instance_create(store, module, NULL, 0, &inst, &report, &trap);
    if (rc != 0) {
        fprintf(stderr, "spry: %s: %s\n", path, report.message);
        goto done;
    }
    status = invoke(inst, export_name, argc - i, argv + i);
done:
    spry_store_destroy(store);
    spry_module_destroy(module);
    return status;
}

/*
 * Spry runner: an embedder of the public engine API (include/spry/wasm.h)
 * that times one kernel's run(n) and the translation of its code.
 *
 * Usage: spry-bench <kernel.wasm> <n> <repetitions>
 *        spry-bench --translate <module.wasm> <repetitions>
 *
 * The first form prints the line described in bench.h followed by
 *
 *     code_bytes=<size of the code section> translate_ms=<median> translate_mbps=<MB/s>
 *
 * The second only loads and translates (the module may have imports) and
 * prints the translation fields alone.
 *
 * Translation is timed on fresh modules (a module translates each function
 * once, so the same module cannot be timed twice): load, untimed; then
 * spry_module_translate_all, timed. The run timings use one instance whose
 * functions were all translated first, so they measure execution alone.
 */
#include "bench.h"
#include "spry/wasm.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MAX_FILE_BYTES      (64u << 20)
#define MIN_TRANSLATE_TIMES 21

/* Reads a whole file into a malloc'ed buffer; 0 or -1 (after a message). */
static int read_file(const char *path, uint8_t **out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    if (f == NULL) {
        perror(path);
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0)
        goto fail;
    long size = ftell(f);
    if (size < 0 || (unsigned long)size > MAX_FILE_BYTES || fseek(f, 0, SEEK_SET) != 0)
        goto fail;
    buf = malloc(size > 0 ? (size_t)size : 1);
    if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size)
        goto fail;
    fclose(f);
    *out = buf;
    *out_len = (size_t)size;
    return 0;
fail:
    fprintf(stderr, "%s: cannot read (or larger than %u bytes)\n", path, MAX_FILE_BYTES);
    free(buf);
    fclose(f);
    return -1;
}

/* Reads an unsigned LEB128 of at most 32 bits at *pos; 0 or -1. */
static int read_u32(const uint8_t *p, size_t len, size_t *pos, uint32_t *out)
{
    uint32_t v = 0;
    for (unsigned shift = 0; shift < 35; shift += 7) {
        if (*pos >= len)
            return -1;
        uint8_t b = p[(*pos)++];
        v |= (uint32_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* The size of the code section (id 10), the bytes translation works on; 0
 * when there is none or the section headers do not parse (spry_module_load
 * reports what is wrong with such a module). */
static size_t code_section_bytes(const uint8_t *p, size_t len)
{
    size_t pos = 8; /* magic and version */
    while (pos < len) {
        uint8_t id = p[pos++];
        uint32_t size;
        if (read_u32(p, len, &pos, &size) != 0 || size > len - pos)
            return 0;
        if (id == 10)
            return size;
        pos += size;
    }
    return 0;
}

static void print_report(const char *what, int rc, const struct spry_report *report)
{
    fprintf(stderr, "%s: %s (%s)%s%s\n", what, spry_strerror(rc), spry_errname(rc),
            report->code != 0 ? ": " : "", report->code != 0 ? report->message : "");
}

static void print_trap(const char *what, int rc, const struct spry_trap *trap)
{
    if (rc == SPRY_ETRAP)
        fprintf(stderr, "%s: trap: %s (function %" PRIu32 " %s, code offset %" PRIu32 ")\n", what,
                trap->message[0] ? trap->message : spry_trap_kind_text(trap->kind),
                trap->func_index, trap->func_name, trap->code_offset);
    else
        fprintf(stderr, "%s: %s (%s)\n", what, spry_strerror(rc), spry_errname(rc));
}

/* Loads a fresh module and times spry_module_translate_all on it; 0 or -1. */
static int time_translation(const uint8_t *bytes, size_t len, double *ms)
{
    struct spry_report report;
    struct spry_module *module = NULL;
    spry_report_init(&report);
    int rc = spry_module_load(bytes, len, NULL, &module, &report);
    if (rc != 0) {
        print_report("spry_module_load", rc, &report);
        return -1;
    }
    double t0 = bench_now_ms();
    rc = spry_module_translate_all(module, &report);
    *ms = bench_now_ms() - t0;
    spry_module_destroy(module);
    if (rc != 0) {
        print_report("spry_module_translate_all", rc, &report);
        return -1;
    }
    return 0;
}

/* Times the translation of `bytes` at least MIN_TRANSLATE_TIMES times; fills
 * the median and the code section size. 0 or -1. */
static int measure_translation(const uint8_t *bytes, size_t len, int reps, double *median_ms,
                               double *mbps, size_t *code_bytes)
{
    double tms[BENCH_MAX_REPS];
    int times = reps > MIN_TRANSLATE_TIMES ? reps : MIN_TRANSLATE_TIMES;
    for (int i = 0; i < times; i++) {
        if (time_translation(bytes, len, &tms[i]) != 0)
            return -1;
    }
    *median_ms = bench_median(tms, times);
    *code_bytes = code_section_bytes(bytes, len);
    *mbps = *median_ms > 0 ? (double)*code_bytes / 1e6 / (*median_ms / 1e3) : 0;
    return 0;
}

static int translate_only(const char *path, const char *reps_arg)
{
    char *end;
    long reps = strtol(reps_arg, &end, 10);
    if (*reps_arg == '\0' || *end != '\0' || reps < 1 || reps > BENCH_MAX_REPS) {
        fprintf(stderr, "repetitions must be 1..%d\n", BENCH_MAX_REPS);
        return 2;
    }
    uint8_t *bytes;
    size_t len, code_bytes;
    double ms, mbps;
    if (read_file(path, &bytes, &len) != 0)
        return 1;
    int rc = measure_translation(bytes, len, (int)reps, &ms, &mbps, &code_bytes);
    free(bytes);
    if (rc != 0)
        return 1;
    printf("code_bytes=%zu translate_ms=%.4f translate_mbps=%.1f\n", code_bytes, ms, mbps);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--translate") == 0)
        return translate_only(argv[2], argv[3]);

    uint32_t n;
    int reps, status = 1;
    if (argc != 4 || bench_parse_args(argv, 2, &n, &reps) != 0) {
        fprintf(stderr,
                "usage: %s <kernel.wasm> <n> <repetitions 1..%d>\n"
                "       %s --translate <module.wasm> <repetitions>\n",
                argv[0], BENCH_MAX_REPS, argv[0]);
        return 2;
    }
    uint8_t *bytes = NULL;
    size_t len = 0;
    struct spry_module *module = NULL;
    struct spry_store *store = NULL;
    struct spry_instance *inst = NULL;
    struct spry_report report;
    struct spry_trap trap;
    spry_report_init(&report);
    memset(&trap, 0, sizeof trap);

    if (read_file(argv[1], &bytes, &len) != 0)
        goto done;
    size_t code_bytes;
    double translate_ms, mbps;
    if (measure_translation(bytes, len, reps, &translate_ms, &mbps, &code_bytes) != 0)
        goto done;

    int rc = spry_module_load(bytes, len, NULL, &module, &report);
    if (rc != 0) {
        print_report("spry_module_load", rc, &report);
        goto done;
    }
    if (spry_module_import_count(module) != 0) {
        fprintf(stderr, "%s: a kernel must not import anything\n", argv[1]);
        goto done;
    }
    rc = spry_module_translate_all(module, &report);
    if (rc != 0) {
        print_report("spry_module_translate_all", rc, &report);
        goto done;
    }
    struct spry_store_limits limits = {0}; /* engine defaults */
    rc = spry_store_create(&limits, &store);
    if (rc != 0) {
        fprintf(stderr, "spry_store_create: %s\n", spry_strerror(rc));
        goto done;
    }
    rc = spry_instance_create(store, module, NULL, 0, &inst, &report, &trap);
    if (rc != 0) {
        if (rc == SPRY_ETRAP)
            print_trap("spry_instance_create", rc, &trap);
        else
            print_report("spry_instance_create", rc, &report);
        goto done;
    }

    double ms[BENCH_MAX_REPS];
    uint64_t checksum = 0;
    for (int i = 0; i < reps; i++) {
        struct spry_val arg = {.type = SPRY_I32, .of.i32 = (int32_t)n};
        struct spry_val result = {0};
        double t0 = bench_now_ms();
        rc = spry_instance_call(inst, "run", &arg, 1, &result, 1, &trap);
        ms[i] = bench_now_ms() - t0;
        if (rc != 0) {
            print_trap("run", rc, &trap);
            goto done;
        }
        if (result.type != SPRY_I64) {
            fprintf(stderr, "run: result type 0x%02x, expected i64\n", result.type);
            goto done;
        }
        uint64_t c = (uint64_t)result.of.i64;
        if (i > 0 && c != checksum) {
            fprintf(stderr,
                    "checksum differs between repetitions: %016" PRIx64 " then %016" PRIx64 "\n",
                    checksum, c);
            goto done;
        }
        checksum = c;
    }
    double median = bench_median(ms, reps);
    printf("checksum=%016" PRIx64 " median_ms=%.3f min_ms=%.3f reps=%d code_bytes=%zu "
           "translate_ms=%.4f translate_mbps=%.1f\n",
           checksum, median, ms[0], reps, code_bytes, translate_ms, mbps);
    status = 0;
done:
    spry_store_destroy(store);
    spry_module_destroy(module);
    free(bytes);
    return status;
}

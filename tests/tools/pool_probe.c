/*
 * pool-probe: acquires, calls and releases pooled instances in a loop, for
 * tests that watch its system calls (tests/unit/wasm/test_pool.c runs it
 * under strace).
 *
 *   pool-probe FILE.wasm EXPORT CYCLES
 *
 * FILE.wasm takes no imports; EXPORT takes one i32. After a warm-up of
 * three cycles per slot it writes "steady\n" to stderr, then runs CYCLES
 * cycles, then writes "done\n": the system calls between the two lines
 * are those of the steady state.
 */
#include "spry/pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cycle(struct spry_prepared *prepared, const char *export_name, int32_t arg)
{
    struct spry_instance *inst;
    struct spry_report report;
    spry_report_init(&report);
    if (spry_pool_acquire(prepared, &inst, &report, NULL) != 0) {
        fprintf(stderr, "pool-probe: acquire: %s\n", report.message);
        return -1;
    }
    struct spry_val a = {.type = SPRY_I32, .of.i32 = arg};
    int rc = spry_instance_call(inst, export_name, &a, 1, NULL, 0, NULL);
    spry_pool_release(inst);
    if (rc != 0)
        fprintf(stderr, "pool-probe: call: %s\n", spry_strerror(rc));
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: pool-probe FILE.wasm EXPORT CYCLES\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    static uint8_t bytes[1 << 20];
    size_t len = f != NULL ? fread(bytes, 1, sizeof bytes, f) : 0;
    if (f != NULL)
        fclose(f);
    struct spry_report report;
    spry_report_init(&report);
    struct spry_module *module;
    struct spry_pool *pool;
    struct spry_prepared *prepared;
    struct spry_pool_config config;
    spry_pool_config_init(&config);
    config.slots = 2;
    if (len == 0 || spry_module_load(bytes, len, NULL, &module, &report) != 0 ||
        spry_pool_create(&config, &pool, &report) != 0 ||
        spry_prepared_create(pool, module, NULL, 0, NULL, 0, &prepared, &report) != 0) {
        fprintf(stderr, "pool-probe: %s: %s\n", argv[1], report.message);
        return 1;
    }
    long cycles = atol(argv[3]);
    for (int i = 0; i < 3 * (int)config.slots; i++)
        if (cycle(prepared, argv[2], i + 1) != 0)
            return 1;
    /* Both slots hold the module now: hold one while warming the other. */
    struct spry_instance *held;
    if (spry_pool_acquire(prepared, &held, &report, NULL) != 0 || cycle(prepared, argv[2], 1) != 0)
        return 1;
    spry_pool_release(held);
    if (write(2, "steady\n", 7) != 7)
        return 1;
    for (long i = 0; i < cycles; i++)
        if (cycle(prepared, argv[2], (int32_t)(i % 200) + 1) != 0)
            return 1;
    if (write(2, "done\n", 5) != 5)
        return 1;
    spry_prepared_destroy(prepared);
    spry_pool_destroy(pool);
    spry_module_destroy(module);
    return 0;
}

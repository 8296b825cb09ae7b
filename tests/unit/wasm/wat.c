#include "wat.h"

#include "harness/test.h"
#include "wasm/native.h"
#include "wasm/runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void wat_compile(const char *wat, uint8_t **out, size_t *len)
{
    static int counter;
    char src[4200], dst[4200], cmd[9000];
    const char *dir = test_tmpdir();
    counter++;
    snprintf(src, sizeof src, "%s/m%d.wat", dir, counter);
    snprintf(dst, sizeof dst, "%s/m%d.wasm", dir, counter);
    FILE *f = fopen(src, "w");
    ASSERT_NOT_NULL(f);
    fputs(wat, f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "wat2wasm --debug-names --enable-tail-call --enable-extended-const '%s' -o '%s'", src,
             dst);
    ASSERT_EQ_INT(system(cmd), 0);
    f = fopen(dst, "rb");
    ASSERT_NOT_NULL(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    ASSERT_GE_INT(n, 8);
    uint8_t *bytes = malloc((size_t)n);
    ASSERT_NOT_NULL(bytes);
    ASSERT_EQ_UINT(fread(bytes, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *out = bytes;
    *len = (size_t)n;
}

struct spry_module *wat_load(const char *wat)
{
    uint8_t *bytes;
    size_t len;
    wat_compile(wat, &bytes, &len);
    struct spry_report report;
    spry_report_init(&report);
    struct spry_module *m = NULL;
    int rc = spry_module_load(bytes, len, NULL, &m, &report);
    free(bytes);
    if (rc != 0)
        fprintf(stderr, "load failed: %s\n", report.message);
    ASSERT_OK(rc);
    return m;
}

struct spry_instance *wat_instantiate(const char *wat, struct spry_store **store)
{
    struct spry_module *m = wat_load(wat);
    ASSERT_OK(spry_store_create(NULL, store));
    struct spry_report report;
    spry_report_init(&report);
    struct spry_instance *inst = NULL;
    int rc = spry_instance_create(*store, m, NULL, 0, &inst, &report, NULL);
    if (rc != 0)
        fprintf(stderr, "instantiate failed: %s\n", report.message);
    ASSERT_OK(rc);
    return inst; /* the module is leaked on purpose: it must outlive the store */
}

int call_i64(struct spry_instance *inst, const char *name, int64_t arg, int64_t *result,
             struct spry_trap *trap)
{
    struct spry_val a = {.type = SPRY_I64, .of.i64 = arg}, r;
    int rc = spry_instance_call(inst, name, &a, 1, &r, 1, trap);
    if (rc == 0)
        *result = r.of.i64;
    return rc;
}

int call_i32(struct spry_instance *inst, const char *name, int32_t arg, int32_t *result,
             struct spry_trap *trap)
{
    struct spry_val a = {.type = SPRY_I32, .of.i32 = arg}, r;
    int rc = spry_instance_call(inst, name, &a, 1, &r, 1, trap);
    if (rc == 0)
        *result = r.of.i32;
    return rc;
}

struct interrupter {
    struct spry_store *store;
    clockid_t caller_cpu; /* the calling thread's CPU-time clock */
    struct timespec at;   /* its CPU time just after the interrupt */
};

static void *interrupt_later(void *arg)
{
    struct interrupter *it = arg;
    usleep(50 * 1000);
    spry_store_interrupt(it->store);
    clock_gettime(it->caller_cpu, &it->at);
    return NULL;
}

int call_i32_interrupted(struct spry_store *store, struct spry_instance *inst, const char *name,
                         struct spry_trap *trap, double *latency_ms)
{
    struct interrupter it = {.store = store};
    ASSERT_EQ_INT(pthread_getcpuclockid(pthread_self(), &it.caller_cpu), 0);
    pthread_t thread;
    ASSERT_EQ_INT(pthread_create(&thread, NULL, interrupt_later, &it), 0);
    int32_t r;
    int rc = call_i32(inst, name, 0, &r, trap);
    struct timespec done;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &done);
    ASSERT_EQ_INT(pthread_join(thread, NULL), 0);
    if (latency_ms != NULL)
        *latency_ms = (double)(done.tv_sec - it.at.tv_sec) * 1e3 +
                      (double)(done.tv_nsec - it.at.tv_nsec) / 1e6;
    return rc;
}

static char native_cache_dir[64];

void native_cache_fresh(void)
{
    snprintf(native_cache_dir, sizeof native_cache_dir, "/tmp/spry-native-test-XXXXXX");
    ASSERT_NOT_NULL(mkdtemp(native_cache_dir));
    ASSERT_EQ_INT(setenv("SPRY_CACHE_DIR", native_cache_dir, 1), 0);
}

void native_cache_drop(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", native_cache_dir);
    ASSERT_EQ_INT(system(cmd), 0);
    unsetenv("SPRY_CACHE_DIR");
}

struct spry_module *wat_load_tier(const char *wat, bool native)
{
    uint8_t *bytes;
    size_t len;
    wat_compile(wat, &bytes, &len);
    struct spry_module_options opts = {.native = native};
    struct spry_report report;
    spry_report_init(&report);
    struct spry_module *m = NULL;
    int rc = spry_module_load(bytes, len, &opts, &m, &report);
    free(bytes);
    if (rc != 0)
        fprintf(stderr, "load failed: %s\n", report.message);
    ASSERT_OK(rc);
    return m;
}

bool func_is_native(const struct spry_module *m, uint32_t func)
{
    return native_func(runtime_module(m)->native, func) != NULL;
}

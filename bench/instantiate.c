/*
 * `make bench-instantiate`: microseconds per acquire + call + release of a
 * pooled instance, against the naive path (a new store and instance: fresh
 * mmap, data copied, munmap) measured in the same run.
 *
 * Modules are assembled here: one without memory, and ones whose initial
 * memory is all data (64 KiB to 16 MiB). The export `run(n)` writes n bytes
 * from address 0 with memory.fill (the module without memory ignores n).
 *
 * Then a linked group whose second member has its own memory (as the
 * nested instances of a composed component do) against the same module
 * alone, and the pool under threads.
 *
 * Usage: bench-instantiate [ITERATIONS]   (default 3000; the naive path runs
 * a tenth as many; BENCH_NAIVE=0 skips it). Prints Markdown tables.
 */
#include "spry/pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- a tiny module assembler ------------------------------------------------ */

struct bytes {
    uint8_t *p;
    size_t len, cap;
};

static void put(struct bytes *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = realloc(b->p, b->cap);
        if (b->p == NULL)
            abort();
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put_byte(struct bytes *b, uint8_t v)
{
    put(b, &v, 1);
}

static void put_uleb(struct bytes *b, uint64_t v)
{
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        put_byte(b, byte | (v ? 0x80 : 0));
    } while (v);
}

static void put_section(struct bytes *b, uint8_t id, const struct bytes *content)
{
    put_byte(b, id);
    put_uleb(b, content->len);
    put(b, content->p, content->len);
}

/* (module (memory P) (data (i32.const 0) DATA) (func (export "run") (param i32)
 *   memory.fill(0, 0x5a, n))) -- or without memory: (func (param i32)). */
static struct bytes assemble(uint32_t pages, size_t data_len)
{
    struct bytes m = {0}, s = {0};
    put(&m, "\0asm\1\0\0\0", 8);
    static const uint8_t type[] = {1, 0x60, 1, 0x7f, 0};
    s.len = 0;
    put(&s, type, sizeof type);
    put_section(&m, 1, &s);
    s.len = 0;
    put(&s, "\1\0", 2); /* one function of type 0 */
    put_section(&m, 3, &s);
    if (pages > 0) {
        s.len = 0;
        put(&s, "\1\0", 2); /* one memory, min only */
        put_uleb(&s, pages);
        put_section(&m, 5, &s);
    }
    s.len = 0;
    put(&s, "\1\3run\0\0", 7);
    put_section(&m, 7, &s);
    if (pages > 0 && data_len > 0) {
        s.len = 0;
        put_byte(&s, 1); /* data count */
        put_section(&m, 12, &s);
    }
    struct bytes body = {0};
    put_byte(&body, 0); /* no locals */
    if (pages > 0) {
        static const uint8_t fill[] = {0x41, 0, 0x41, 0xda, 0, 0x20, 0, 0xfc, 11, 0};
        put(&body, fill, sizeof fill);
    }
    put_byte(&body, 0x0b);
    s.len = 0;
    put_byte(&s, 1);
    put_uleb(&s, body.len);
    put(&s, body.p, body.len);
    put_section(&m, 10, &s);
    if (pages > 0 && data_len > 0) {
        s.len = 0;
        put(&s, "\1\0\x41\0\x0b", 5);
        put_uleb(&s, data_len);
        uint8_t *data = malloc(data_len);
        for (size_t i = 0; i < data_len; i++)
            data[i] = (uint8_t)(i * 131 + 7) | 1; /* no zero bytes: every page is data */
        put(&s, data, data_len);
        free(data);
        put_section(&m, 11, &s);
    }
    free(s.p);
    free(body.p);
    return m;
}

/* ---- measurement -------------------------------------------------------------- */

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct stats {
    double median, p99;
};

static struct stats summarize(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    struct stats s = {t[n / 2], t[(int)(n * 0.99)]};
    return s;
}

_Noreturn static void die(const char *what, const struct spry_report *r)
{
    fprintf(stderr, "bench-instantiate: %s: %s\n", what, r != NULL ? r->message : "");
    exit(1);
}

static void run_export(struct spry_instance *inst, int32_t n)
{
    struct spry_val a = {.type = SPRY_I32, .of.i32 = n};
    if (spry_instance_call(inst, "run", &a, 1, NULL, 0, NULL) != 0)
        die("call", NULL);
}

/* Acquire, run(write) in group member `member` (0: the module itself),
 * release. */
static struct stats bench_member(struct spry_prepared *p, uint32_t member, int32_t write, int iters)
{
    double *t = malloc(sizeof(double) * (size_t)iters);
    for (int i = -iters / 10; i < iters; i++) {
        double t0 = now_us();
        struct spry_instance *inst;
        struct spry_report r;
        spry_report_init(&r);
        if (spry_pool_acquire(p, &inst, &r, NULL) != 0)
            die("acquire", &r);
        run_export(member == 0 ? inst : spry_pool_member(inst, member), write);
        spry_pool_release(inst);
        if (i >= 0)
            t[i] = now_us() - t0;
    }
    struct stats s = summarize(t, iters);
    free(t);
    return s;
}

static struct stats bench_pooled(struct spry_prepared *p, int32_t write, int iters)
{
    return bench_member(p, 0, write, iters);
}

static struct stats bench_naive(struct spry_module *m, int32_t write, int iters)
{
    double *t = malloc(sizeof(double) * (size_t)iters);
    for (int i = -2; i < iters; i++) {
        double t0 = now_us();
        struct spry_store *store;
        struct spry_instance *inst;
        struct spry_report r;
        spry_report_init(&r);
        if (spry_store_create(NULL, &store) != 0 ||
            spry_instance_create(store, m, NULL, 0, &inst, &r, NULL) != 0)
            die("instantiate", &r);
        run_export(inst, write);
        spry_store_destroy(store);
        if (i >= 0)
            t[i] = now_us() - t0;
    }
    struct stats s = summarize(t, iters);
    free(t);
    return s;
}

struct thread_arg {
    struct spry_prepared *p;
    int32_t write;
    int iters;
    double elapsed_us;
};

static void *thread_main(void *arg)
{
    struct thread_arg *a = arg;
    double t0 = now_us();
    for (int i = 0; i < a->iters; i++) {
        struct spry_instance *inst;
        if (spry_pool_acquire(a->p, &inst, NULL, NULL) != 0)
            die("acquire", NULL);
        run_export(inst, a->write);
        spry_pool_release(inst);
    }
    a->elapsed_us = now_us() - t0;
    return NULL;
}

/* Cycles per second of all `threads` threads together (wall clock). */
static double bench_threads(struct spry_prepared *p, int32_t write, int threads, int iters)
{
    pthread_t tid[64];
    struct thread_arg args[64];
    double t0 = now_us();
    for (int i = 0; i < threads; i++) {
        args[i] = (struct thread_arg){p, write, iters, 0};
        pthread_create(&tid[i], NULL, thread_main, &args[i]);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    return (double)threads * iters / ((now_us() - t0) / 1e6);
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 3000;
    const char *naive_env = getenv("BENCH_NAIVE");
    bool skip_naive = naive_env != NULL && strcmp(naive_env, "0") == 0;
    if (iters < 10)
        iters = 10;
    struct spry_pool_config config;
    spry_pool_config_init(&config);
    config.slots = 8;
    struct spry_pool *pool;
    struct spry_report r;
    spry_report_init(&r);
    if (spry_pool_create(&config, &pool, &r) != 0)
        die("pool", &r);

    static const struct {
        const char *name;
        uint32_t pages;
    } modules[] = {
        {"no memory", 0},   {"64 KiB data", 1},   {"1 MiB data", 16},
        {"4 MiB data", 64}, {"16 MiB data", 256},
    };
    static const int32_t writes[] = {16 << 10, 256 << 10};

    printf("| module | written | pooled median us | pooled p99 us | naive median us | naive p99 us "
           "| naive / pooled |\n");
    printf("|---|---|---|---|---|---|---|\n");
    struct spry_prepared *no_memory = NULL;
    struct spry_module *no_memory_module = NULL;
    for (size_t k = 0; k < sizeof modules / sizeof modules[0]; k++) {
        struct bytes bin = assemble(modules[k].pages, (size_t)modules[k].pages * 65536);
        struct spry_module *m;
        struct spry_prepared *p;
        if (spry_module_load(bin.p, bin.len, NULL, &m, &r) != 0)
            die("load", &r);
        free(bin.p);
        if (spry_prepared_create(pool, m, NULL, 0, NULL, 0, &p, &r) != 0)
            die("prepare", &r);
        for (size_t w = 0; w < (modules[k].pages ? 2 : 1); w++) {
            int32_t write = modules[k].pages ? writes[w] : 0;
            if ((uint64_t)write > (uint64_t)modules[k].pages * 65536)
                continue;
            struct stats pooled = bench_pooled(p, write, iters);
            struct stats naive = skip_naive ? pooled : bench_naive(m, write, iters / 10);
            char written[32];
            if (write == 0)
                snprintf(written, sizeof written, "-");
            else
                snprintf(written, sizeof written, "%d KiB", write >> 10);
            printf("| %s | %s | %.2f | %.2f | %.1f | %.1f | %.0fx |\n", modules[k].name, written,
                   pooled.median, pooled.p99, naive.median, naive.p99,
                   naive.median / pooled.median);
            fflush(stdout);
        }
        if (modules[k].pages == 0) {
            no_memory = p; /* kept for the threaded run */
            no_memory_module = m;
            continue;
        }
        spry_prepared_destroy(p);
        spry_module_destroy(m);
    }

    /* A linked group's second memory (a composed component's nested
     * instance): 1 MiB of data in member 1's own memory, beside member 0's
     * 1 MiB without data (the slot's memory), against member 1's module
     * alone (its memory the slot's), measured here. */
    {
        struct bytes small = assemble(16, 0), big = assemble(16, 16 * 65536);
        struct spry_module *m0, *m1;
        struct spry_prepared *alone, *group;
        if (spry_module_load(small.p, small.len, NULL, &m0, &r) != 0 ||
            spry_module_load(big.p, big.len, NULL, &m1, &r) != 0)
            die("load", &r);
        free(small.p);
        free(big.p);
        struct spry_link_member two[2] = {{m0, NULL}, {m1, NULL}};
        if (spry_prepared_create(pool, m1, NULL, 0, NULL, 0, &alone, &r) != 0 ||
            spry_prepared_create_linked(pool, two, 2, NULL, &group, &r) != 0)
            die("prepare", &r);
        printf("\n| 1 MiB of data, 16 KiB written | median us | p99 us | / alone |\n"
               "|---|---|---|---|\n");
        struct stats a = bench_member(alone, 0, 16 << 10, iters);
        struct stats g = bench_member(group, 1, 16 << 10, iters);
        printf("| the module alone (the slot's memory) | %.2f | %.2f | 1.00x |\n", a.median, a.p99);
        printf("| a group's second memory | %.2f | %.2f | %.2fx |\n", g.median, g.p99,
               g.median / a.median);
        fflush(stdout);
        spry_prepared_destroy(group);
        spry_prepared_destroy(alone);
        spry_module_destroy(m1);
        spry_module_destroy(m0);
    }

    /* Threads: the pool's lock alone (no memory: nothing but the lock and
     * the call), and a realistic request (1 MiB of data, 16 KiB written). */
    struct bytes bin = assemble(16, 16 * 65536);
    struct spry_module *mib;
    struct spry_prepared *mib_prepared;
    if (spry_module_load(bin.p, bin.len, NULL, &mib, &r) != 0 ||
        spry_prepared_create(pool, mib, NULL, 0, NULL, 0, &mib_prepared, &r) != 0)
        die("prepare", &r);
    free(bin.p);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = cpus > 1 && cpus <= 8 ? (int)cpus : cpus > 8 ? 8 : 2;
    printf("\n| acquire + call + release, all threads together | 1 thread | %d threads | "
           "scaling |\n|---|---|---|---|\n",
           threads);
    for (int k = 0; k < 2; k++) {
        struct spry_prepared *p = k == 0 ? no_memory : mib_prepared;
        int32_t write = k == 0 ? 0 : 16 << 10;
        int n = k == 0 ? iters * 100 : iters * 5;
        double one = bench_threads(p, write, 1, n);
        double many = bench_threads(p, write, threads, n);
        printf("| %s | %.2f M/s | %.2f M/s | %.2fx |\n",
               k == 0 ? "no memory (the lock alone)" : "1 MiB data, 16 KiB written", one / 1e6,
               many / 1e6, many / one);
    }
    spry_prepared_destroy(mib_prepared);
    spry_module_destroy(mib);
    spry_prepared_destroy(no_memory);
    spry_module_destroy(no_memory_module);
    spry_pool_destroy(pool);
    return 0;
}

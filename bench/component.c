/*
 * `make bench-component`: microseconds per instantiate + run + release of a
 * small WASI command as a core module and as a component, both from the
 * instance pool, medians: bench/hello.c (wasi-libc) and its component by
 * jco new --wasi-command (the preview-1 adapter inside), and bench/p2's pair
 * (the same freestanding program written to preview 1 and to WASI 0.2). The
 * module path is what a WAGI request does (a preview-1 context, acquire,
 * _start, release); the component path is spry_component_run (a WASI 0.2
 * context over a preview-1 one, acquire, wasi:cli/run, release). Then the
 * paths' parts (timed in a pass of their own, so that the totals carry only
 * two clock readings each), where the time goes by core module (a sampling
 * pass), and the one-off costs of loading.
 *
 * Usage: bench-component [--native] MODULE.wasm COMPONENT.wasm [ITERATIONS]
 * (default 2000; --native: the native tier, docs/native.md). Prints a Markdown table. Exits 1 when
 * a run does not print "hello, world".
 */
#include "component/binary.h"
#include "component/link.h"
#include "component/link_impl.h"
#include "component/wasip2/wasip2.h"
#include "spry/component.h"
#include "spry/pool.h"
#include "spry/wasi.h"
#include "wasm/interp.h"
#include "wasm/module.h"
#include "wasm/pool.h"
#include "wasm/runtime.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct stats {
    double median, p10, p90;
};

static struct stats summarize(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return (struct stats){t[n / 2], t[n / 10], t[n * 9 / 10]};
}

static _Noreturn void die(const char *what, const struct spry_report *r)
{
    fprintf(stderr, "bench-component: %s: %s\n", what, r != NULL ? r->message : "");
    exit(1);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        die(path, NULL);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
    if (p == NULL || n <= 0 || fread(p, 1, (size_t)n, f) != (size_t)n)
        die(path, NULL);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

static const char *const guest_args[] = {"hello.wasm"};

static void wasi_config(struct spry_wasi_config *c)
{
    memset(c, 0, sizeof *c);
    c->args = guest_args;
    c->nargs = 1;
    c->stdio[0].kind = SPRY_WASI_STDIO_NULL;
    c->stdio[1].kind = SPRY_WASI_STDIO_BUFFER;
    c->stdio[2].kind = SPRY_WASI_STDIO_NULL;
}

static void check_output(struct spry_wasi *w)
{
    size_t len;
    bool cut;
    const uint8_t *out = spry_wasi_output(w, 1, &len, &cut);
    if (len != 13 || memcmp(out, "hello, world\n", 13) != 0)
        die("the guest did not print \"hello, world\"", NULL);
}

/* ---- the module ---------------------------------------------------------------- */

/* The module path by parts, like the component's below. */
enum { M_ACQUIRE, M_CALL, M_RELEASE, M_NPARTS };
static const char *const module_part_names[M_NPARTS] = {
    "context + acquire (spry_wasi_create + pool)", "call _start", "release (pool reset)"};

static double module_once(struct spry_prepared *p, double *parts)
{
    struct spry_wasi_config c;
    wasi_config(&c);
    struct spry_report r;
    spry_report_init(&r);
    double t[M_NPARTS + 1];
    t[0] = now_us();
    struct spry_wasi *w;
    struct spry_instance *inst;
    struct spry_trap trap;
    if (spry_wasi_create(&c, &w, &r) != 0 || spry_pool_acquire(p, &inst, &r, &trap) != 0)
        die("module acquire", &r);
    spry_wasi_attach(w, spry_instance_store(inst));
    if (parts != NULL)
        t[1] = now_us();
    int rc = spry_instance_call(inst, "_start", NULL, 0, NULL, 0, &trap);
    if (parts != NULL)
        t[2] = now_us();
    spry_pool_release(inst);
    spry_wasi_flush(w);
    t[3] = now_us();
    if (rc != 0 && !(rc == SPRY_EEXIT && trap.exit_code == 0))
        die("module _start", NULL);
    check_output(w);
    spry_wasi_destroy(w);
    for (int k = 0; k < M_NPARTS && parts != NULL; k++)
        parts[k] = t[k + 1] - t[k];
    return t[M_NPARTS] - t[0];
}

/* ---- the component ------------------------------------------------------------- */

/* The component path by parts: context, acquire, call, release, teardown. */
enum { P_CONTEXT, P_ACQUIRE, P_CALL, P_RELEASE, P_TEARDOWN, NPARTS };
static const char *const part_names[NPARTS] = {
    "WASI 0.2 context (wasip2_create + attach)", "acquire (pool + handle tables)",
    "call wasi:cli/run", "release (resource drops + pool reset)", "context teardown"};

static double component_once(struct clink *l, const struct clink_export *run, double *parts)
{
    struct spry_wasi_config c;
    wasi_config(&c);
    struct spry_report r;
    spry_report_init(&r);
    struct spry_trap trap;
    double t[NPARTS + 1];
    t[0] = now_us();
    struct wasip2 *p2;
    struct cinst *ci;
    if (wasip2_create(&c, &p2, &r) != 0)
        die("wasip2_create", &r);
    if (parts != NULL)
        t[1] = now_us();
    if (clink_acquire(l, &ci, &r, &trap) != 0)
        die("acquire", &r);
    wasip2_attach(p2, clink_store(ci));
    if (parts != NULL)
        t[2] = now_us();
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    struct cval result;
    int rc = clink_call(ci, run, NULL, &arena, &result, &trap);
    spry_arena_fini(&arena);
    if (parts != NULL)
        t[3] = now_us();
    clink_release(ci);
    if (parts != NULL)
        t[4] = now_us();
    spry_wasi_flush(wasip2_wasi(p2));
    check_output(wasip2_wasi(p2));
    wasip2_destroy(p2);
    t[5] = now_us();
    if (rc != 0 || result.of.var.disc != 0)
        die("wasi:cli/run", NULL);
    for (int k = 0; k < NPARTS && parts != NULL; k++)
        parts[k] = t[k + 1] - t[k];
    return t[NPARTS] - t[0];
}

static double component_api_once(struct spry_component *c)
{
    struct spry_wasi_config cfg;
    wasi_config(&cfg);
    cfg.stdio[1].kind = SPRY_WASI_STDIO_NULL; /* output checked by component_once */
    struct spry_report r;
    spry_report_init(&r);
    struct spry_trap trap;
    double t0 = now_us();
    int rc = spry_component_run(c, &cfg, &trap, &r);
    double t1 = now_us();
    if (rc != 0)
        die("spry_component_run", &r);
    return t1 - t0;
}

/* ---- where the time goes: a sampling pass ---------------------------------------- */

/* A timer signal samples which core module's function the interpreter is
 * running. A host call counts for the module that made it (the interpreter's
 * current function is its caller); no activation means Spry's machinery
 * outside wasm: contexts, acquire, release. */
enum { SAMPLE_MODULES = 8 };
static struct {
    const struct spry_module *mods[SAMPLE_MODULES];
    unsigned nmods;
    volatile uint64_t hits[SAMPLE_MODULES + 2]; /* + another module, + outside wasm */
} sampler;

static void on_sample(int sig)
{
    (void)sig;
    const struct interp_activation *a = interp_current_activation();
    unsigned k = sampler.nmods + 1;
    if (a != NULL && a->store->cur_func != NULL && a->store->cur_func->inst != NULL) {
        const struct spry_module *m = a->store->cur_func->inst->api_module;
        k = sampler.nmods;
        for (unsigned i = 0; i < sampler.nmods; i++)
            if (sampler.mods[i] == m)
                k = i;
    }
    sampler.hits[k]++;
}

static const char *module_label(const struct spry_module *m, unsigned i, char *buf, size_t n)
{
    const char *name = runtime_module(m)->module_name;
    if (name != NULL)
        return name;
    const struct wasm_module *wm = runtime_module(m);
    snprintf(buf, n, "core module %u (%u functions)", i, wm->nfuncs - wm->num_imported_funcs);
    return buf;
}

/* Runs `once` for about a second under a 2 kHz timer (a signal costs tens
 * of microseconds on this VM, so sampling faster would distort the run);
 * prints each module's share of the samples, and that share of `median`,
 * the path's median from the timed pass. */
static void sample_pass(const char *what, const struct spry_module *const *mods, unsigned nmods,
                        double median, void (*once)(void *), void *arg)
{
    memset((void *)&sampler, 0, sizeof sampler);
    sampler.nmods = nmods < SAMPLE_MODULES ? nmods : SAMPLE_MODULES;
    for (unsigned i = 0; i < sampler.nmods; i++)
        sampler.mods[i] = mods[i];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sample;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGPROF, &sa, NULL);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGPROF;
    timer_t timer;
    if (timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0)
        die("timer_create", NULL);
    struct itimerspec its = {{0, 500000}, {0, 500000}};
    timer_settime(timer, 0, &its, NULL);
    double t0 = now_us();
    while (now_us() - t0 < 1e6)
        for (int i = 0; i < 100; i++)
            once(arg);
    memset(&its, 0, sizeof its);
    timer_settime(timer, 0, &its, NULL);
    timer_delete(timer);
    signal(SIGPROF, SIG_DFL);
    uint64_t total = 0;
    for (unsigned k = 0; k < sampler.nmods + 2; k++)
        total += sampler.hits[k];
    if (total == 0)
        return;
    for (unsigned k = 0; k < sampler.nmods + 2; k++) {
        char buf[48];
        const char *label = k < sampler.nmods    ? module_label(mods[k], k, buf, sizeof buf)
                            : k == sampler.nmods ? "other wasm"
                                                 : "outside wasm (contexts, acquire, release)";
        if (sampler.hits[k] > 0 || k < sampler.nmods)
            printf("| %s | %s | %.2f | %.0f %% |\n", what, label, median * sampler.hits[k] / total,
                   100.0 * sampler.hits[k] / total);
    }
}

struct module_pass {
    struct spry_prepared *prepared;
};
static void module_pass_once(void *arg)
{
    module_once(((struct module_pass *)arg)->prepared, NULL);
}

struct component_pass {
    struct clink *link;
    const struct clink_export *run;
};
static void component_pass_once(void *arg)
{
    struct component_pass *c = arg;
    component_once(c->link, c->run, NULL);
}

/* ---- the machinery alone: trivial module and component ------------------------- */

/* (module (func (export "_start"))) */
static const uint8_t trivial_module[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01,
                                         0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00,
                                         0x07, 0x0a, 0x01, 0x06, '_',  's',  't',  'a',  'r',
                                         't',  0x00, 0x00, 0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b};

/* A component exporting wasi:cli/run@0.2.3 { run } lifted, without
 * options, from (module (func (export "run") (result i32) i32.const 0)). */
static const uint8_t trivial_component[] = {
    0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00,
    /* core module */
    0x01, 0x24, 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01,
    0x7f, 0x03, 0x02, 0x01, 0x00, 0x07, 0x07, 0x01, 0x03, 'r', 'u', 'n', 0x00, 0x00, 0x0a, 0x06,
    0x01, 0x04, 0x00, 0x41, 0x00, 0x0b,
    /* core instance 0 = instantiate module 0 */
    0x02, 0x04, 0x01, 0x00, 0x00, 0x00,
    /* core func 0 = core instance 0's "run" */
    0x06, 0x09, 0x01, 0x00, 0x00, 0x01, 0x00, 0x03, 'r', 'u', 'n',
    /* type 0 = result; type 1 = func() -> result */
    0x07, 0x08, 0x02, 0x6a, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00,
    /* func 0 = lift core func 0 */
    0x08, 0x06, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01,
    /* instance 0 = {run: func 0} */
    0x05, 0x0a, 0x01, 0x01, 0x01, 0x00, 0x03, 'r', 'u', 'n', 0x01, 0x00,
    /* export "wasi:cli/run@0.2.3" = instance 0 */
    0x0b, 0x18, 0x01, 0x00, 0x12, 'w', 'a', 's', 'i', ':', 'c', 'l', 'i', '/', 'r', 'u', 'n', '@',
    '0', '.', '2', '.', '3', 0x05, 0x00, 0x00};

static double trivial_module_once(struct spry_prepared *p)
{
    struct spry_report r;
    spry_report_init(&r);
    struct spry_instance *inst;
    struct spry_trap trap;
    double t0 = now_us();
    if (spry_pool_acquire(p, &inst, &r, &trap) != 0 ||
        spry_instance_call(inst, "_start", NULL, 0, NULL, 0, &trap) != 0)
        die("trivial module", &r);
    spry_pool_release(inst);
    return now_us() - t0;
}

static double trivial_component_once(struct clink *l, const struct clink_export *run)
{
    struct spry_report r;
    spry_report_init(&r);
    struct cinst *ci;
    struct spry_trap trap;
    struct spry_arena arena;
    struct cval result;
    double t0 = now_us();
    spry_arena_init(&arena, 1 << 20);
    if (clink_acquire(l, &ci, &r, &trap) != 0 ||
        clink_call(ci, run, NULL, &arena, &result, &trap) != 0)
        die("trivial component", &r);
    clink_release(ci);
    spry_arena_fini(&arena);
    return now_us() - t0;
}

int main(int argc, char **argv)
{
    /* --native: every core module (the program and the component's) runs
     * in the native tier (docs/native.md), as SPRY_NATIVE=1 does. */
    bool native = argc > 1 && strcmp(argv[1], "--native") == 0;
    if (native) {
        setenv("SPRY_NATIVE", "1", 1);
        argv++;
        argc--;
    }
    if (argc < 3) {
        fprintf(stderr,
                "usage: bench-component [--native] MODULE.wasm COMPONENT.wasm [ITERATIONS]\n");
        return 2;
    }
    const char *env = getenv("SPRY_NATIVE");
    bool tier_native = env != NULL && strcmp(env, "1") == 0;
    printf("Tier: %s\n\n", tier_native ? "native (SPRY_NATIVE=1)" : "interpreter");
    int iters = argc > 3 ? atoi(argv[3]) : 2000;
    if (iters < 10)
        iters = 10;
    struct spry_report r;
    spry_report_init(&r);
    struct spry_pool_config pc;
    spry_pool_config_init(&pc);
    pc.slots = 6; /* one per prepared group: no slot switches between them */
    struct spry_pool *pool;
    if (spry_pool_create(&pc, &pool, &r) != 0)
        die("pool", &r);

    size_t mlen, clen;
    uint8_t *mbytes = read_file(argv[1], &mlen), *cbytes = read_file(argv[2], &clen);
    double t0 = now_us();
    struct spry_module *m;
    struct spry_prepared *mp;
    size_t ndefs;
    const struct spry_host_def *defs = spry_wasi_host_defs(&ndefs);
    if (spry_module_load(mbytes, mlen, NULL, &m, &r) != 0 ||
        spry_prepared_create(pool, m, defs, ndefs, NULL, 0, &mp, &r) != 0)
        die(argv[1], &r);
    double t1 = now_us();
    const struct clink_host *host = clink_host_wasip2();
    double t2 = now_us();
    struct cbin *bin;
    struct clink *l;
    if (host == NULL || cbin_decode(cbytes, clen, NULL, &bin, &r) != 0)
        die(argv[2], &r);
    double t3 = now_us();
    if (clink_create(pool, host, bin, NULL, &l, &r) != 0)
        die(argv[2], &r);
    double t4 = now_us();
    struct spry_component *capi;
    if (spry_component_load(pool, cbytes, clen, &capi, &r) != 0)
        die(argv[2], &r);
    const struct clink_export *run = clink_export_find(l, "wasi:cli/run@0.2.0", "run");
    if (run == NULL)
        die("no wasi:cli/run export", NULL);

    struct spry_module *tmod;
    struct spry_prepared *tmp;
    struct cbin *tbin;
    struct clink *tlink;
    if (spry_module_load(trivial_module, sizeof trivial_module, NULL, &tmod, &r) != 0 ||
        spry_prepared_create(pool, tmod, NULL, 0, NULL, 0, &tmp, &r) != 0)
        die("trivial module", &r);
    if (cbin_decode(trivial_component, sizeof trivial_component, NULL, &tbin, &r) != 0 ||
        clink_create(pool, host, tbin, NULL, &tlink, &r) != 0)
        die("trivial component", &r);
    const struct clink_export *trun = clink_export_find(tlink, "wasi:cli/run@0.2.0", "run");

    double *tm = calloc((size_t)iters, sizeof *tm), *tc = calloc((size_t)iters, sizeof *tc);
    double *ta = calloc((size_t)iters, sizeof *ta);
    double *parts[NPARTS], *mparts[M_NPARTS];
    for (int k = 0; k < NPARTS; k++)
        parts[k] = calloc((size_t)iters, sizeof(double));
    for (int k = 0; k < M_NPARTS; k++)
        mparts[k] = calloc((size_t)iters, sizeof(double));
    /* Warm up both (first use of a slot instantiates), then interleave. */
    double scratch[NPARTS];
    for (int i = 0; i < 20; i++) {
        module_once(mp, scratch);
        component_once(l, run, scratch);
        component_api_once(capi);
    }
    /* The totals take two clock readings each (a reading costs ~30 ns
     * here); the parts are timed in a pass of their own. */
    for (int i = 0; i < iters; i++) {
        tm[i] = module_once(mp, NULL);
        tc[i] = component_once(l, run, NULL);
        ta[i] = component_api_once(capi);
    }
    for (int i = 0; i < iters; i++) {
        double p[NPARTS];
        module_once(mp, p);
        for (int k = 0; k < M_NPARTS; k++)
            mparts[k][i] = p[k];
        component_once(l, run, p);
        for (int k = 0; k < NPARTS; k++)
            parts[k][i] = p[k];
    }
    double *ttm = calloc((size_t)iters, sizeof *ttm), *ttc = calloc((size_t)iters, sizeof *ttc);
    for (int i = 0; i < 20; i++) {
        trivial_module_once(tmp);
        trivial_component_once(tlink, trun);
    }
    for (int i = 0; i < iters; i++) {
        ttm[i] = trivial_module_once(tmp);
        ttc[i] = trivial_component_once(tlink, trun);
    }
    struct stats stm = summarize(ttm, iters), stc = summarize(ttc, iters);
    struct stats sm = summarize(tm, iters), sc = summarize(tc, iters), sa = summarize(ta, iters);
    printf("Instantiate + run + release of %s and %s (%d iterations, pooled, one thread)\n\n",
           base_name(argv[1]), base_name(argv[2]), iters);
    printf("| case | median us | p10 us | p90 us | vs module |\n|---|---:|---:|---:|---:|\n");
    printf("| core module (preview 1) | %.2f | %.2f | %.2f | 1.00x |\n", sm.median, sm.p10, sm.p90);
    printf("| component (WASI 0.2, linker API) | %.2f | %.2f | %.2f | %.2fx |\n", sc.median, sc.p10,
           sc.p90, sc.median / sm.median);
    printf("| component (spry_component_run) | %.2f | %.2f | %.2f | %.2fx |\n", sa.median, sa.p10,
           sa.p90, sa.median / sm.median);
    uint32_t starts = 0;
    for (uint32_t k = 0; k < l->prepared->nmembers; k++)
        starts += runtime_module(l->prepared->members[k].module)->has_start;
    printf("\nStart functions: %u of the component's %u core modules have one; %s.\n", starts,
           l->prepared->nmembers,
           l->prepared->start_prerun ? "run once at preparation (prepared.c)"
                                     : "run at every acquire");
    printf("\nThe machinery alone: acquire + call + release of a function returning at once, "
           "no WASI, no memory\n\n");
    printf("| case | median us | p10 us | p90 us | vs module |\n|---|---:|---:|---:|---:|\n");
    printf("| core module: _start | %.2f | %.2f | %.2f | 1.00x |\n", stm.median, stm.p10, stm.p90);
    printf("| component: wasi:cli/run lifted | %.2f | %.2f | %.2f | %.2fx |\n", stc.median, stc.p10,
           stc.p90, stc.median / stm.median);
    printf("\nBy parts (medians)\n\n| part | median us |\n|---|---:|\n");
    for (int k = 0; k < M_NPARTS; k++)
        printf("| module: %s | %.2f |\n", module_part_names[k], summarize(mparts[k], iters).median);
    for (int k = 0; k < NPARTS; k++)
        printf("| component: %s | %.2f |\n", part_names[k], summarize(parts[k], iters).median);
    /* Each part spans one clock reading besides its work: an empty part
     * (two readings back to back) says how much of each figure that is. */
    for (int i = 0; i < iters; i++) {
        double a = now_us();
        tm[i] = now_us() - a;
    }
    printf("| an empty part (clock reading; every part above includes one) | %.2f |\n",
           summarize(tm, iters).median);
    printf("\nWhere the time goes (a sampling pass of its own; a host call counts for the module "
           "that made it; us = share of the median above)%s\n\n| path | where | us per run | "
           "share |\n|---|---|---:|---:|\n",
           tier_native ? "; native code records no running function, so a compiled call into "
                         "another module counts for the module that first entered native code"
                       : "");
    struct module_pass mpass = {mp};
    sample_pass("module", (const struct spry_module *const *)&m, 1, sm.median, module_pass_once,
                &mpass);
    struct component_pass cpass = {l, run};
    sample_pass("component", (const struct spry_module *const *)bin->modules, bin->nmodules,
                sc.median, component_pass_once, &cpass);
    printf("\nOne-off costs\n\n| step | ms |\n|---|---:|\n");
    printf("| module: load + prepare | %.2f |\n", (t1 - t0) / 1e3);
    printf("| WASI 0.2 host interfaces: parse (once per process) | %.2f |\n", (t2 - t1) / 1e3);
    printf("| component: decode (%zu bytes, %u core modules) | %.2f |\n", clen, bin->nmodules,
           (t3 - t2) / 1e3);
    printf("| component: link + prepare (one pool group, trial instantiation) | %.2f |\n",
           (t4 - t3) / 1e3);

    clink_destroy(tlink);
    cbin_destroy(tbin);
    spry_prepared_destroy(tmp);
    spry_module_destroy(tmod);
    free(ttm);
    free(ttc);
    spry_component_destroy(capi);
    clink_destroy(l);
    cbin_destroy(bin);
    spry_prepared_destroy(mp);
    spry_module_destroy(m);
    spry_pool_destroy(pool);
    free(mbytes);
    free(cbytes);
    free(tm);
    free(tc);
    free(ta);
    for (int k = 0; k < NPARTS; k++)
        free(parts[k]);
    for (int k = 0; k < M_NPARTS; k++)
        free(mparts[k]);
    return 0;
}

#include "unit/wasi/wasi_fixture.h"

#include "harness/test.h"
#include "unit/wasm/wat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *type_name(uint8_t t)
{
    return t == SPRY_I64 ? "i64" : "i32";
}

static void append(char *buf, size_t cap, const char *fmt, const char *a, const char *b)
{
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, fmt, a, b);
}

/* A module importing every preview-1 function and exporting a wrapper. */
static char *every_function_wat(void)
{
    size_t n, cap = 1 << 16;
    const struct spry_host_def *defs = spry_wasi_host_defs(&n);
    char *w = calloc(1, cap);
    ASSERT_NOT_NULL(w);
    strcat(w, "(module\n");
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            const struct spry_host_def *d = &defs[i];
            if (pass == 0)
                append(w, cap, "(import \"wasi_snapshot_preview1\" \"%s\" (func $%s", d->name,
                       d->name);
            else
                append(w, cap, "(func (export \"%s\")%s", d->name, "");
            for (uint32_t k = 0; k < d->type.nparams; k++)
                append(w, cap, " (param %s)%s", type_name(d->type.params[k]), "");
            for (uint32_t k = 0; k < d->type.nresults; k++)
                append(w, cap, " (result %s)%s", type_name(d->type.results[k]), "");
            if (pass == 0) {
                append(w, cap, "))\n%s%s", "", "");
                continue;
            }
            for (uint32_t k = 0; k < d->type.nparams; k++) {
                char idx[16];
                snprintf(idx, sizeof idx, "%u", k);
                append(w, cap, " (local.get %s)%s", idx, "");
            }
            append(w, cap, " (call $%s))\n%s", d->name, "");
        }
        if (pass == 0)
            strcat(w, "(memory (export \"memory\") 2)\n");
    }
    strcat(w, ")\n");
    return w;
}

void wt_setup(struct wt *t, const struct wt_options *o)
{
    static const struct wt_options none;
    if (o == NULL)
        o = &none;
    memset(t, 0, sizeof *t);
    if (o->box_fd > 0)
        sandbox_paths(t->box, t->box2, t->outside);
    else
        sandbox_make(t->box, t->box2, t->outside);

    char box_name[] = "/box", box2_name[] = "/box2";
    struct spry_wasi_preopen pre[2] = {{t->box, box_name, o->readonly_box},
                                       {t->box2, box2_name, false}};
    const int fds[2] = {o->box_fd, -1};
    static const char *const args[] = {"prog", "one", "two words"}; /* may be borrowed */
    struct spry_wasi_config config = {
        .args = args,
        .nargs = 3,
        .env = o->env,
        .nenv = o->nenv,
        .preopens = pre,
        .npreopens = 2,
        .sockets = o->sockets,
        .nsockets = o->nsockets,
        .max_fds = o->max_fds,
        .borrow_strings = o->borrow_strings,
        .preopen_fds = o->box_fd > 0 ? fds : NULL,
    };
    if (o->stdio != NULL)
        memcpy(config.stdio, o->stdio, sizeof config.stdio);
    struct spry_report report;
    spry_report_init(&report);
    int rc = spry_wasi_create(&config, &t->wasi, &report);
    if (rc != 0)
        fprintf(stderr, "wasi: %s\n", report.message);
    ASSERT_OK(rc);
    memset(box_name, 'X', strlen(box_name)); /* the context serves copies */
    memset(box2_name, 'X', strlen(box2_name));

    char *wat = every_function_wat();
    struct spry_module *m = wat_load(wat);
    free(wat);
    ASSERT_OK(spry_store_create(NULL, &t->store));
    spry_wasi_attach(t->wasi, t->store);
    size_t ndefs, nimports = spry_module_import_count(m);
    const struct spry_host_def *defs = spry_wasi_host_defs(&ndefs);
    struct spry_extern *imports = calloc(nimports, sizeof *imports);
    ASSERT_NOT_NULL(imports);
    rc = spry_host_link(t->store, m, defs, ndefs, imports, &report);
    if (rc == 0)
        rc = spry_instance_create(t->store, m, imports, nimports, &t->inst, &report, NULL);
    if (rc != 0)
        fprintf(stderr, "instantiate: %s\n", report.message);
    ASSERT_OK(rc);
    free(imports);
    struct spry_memory *mem = spry_instance_memory(t->inst, 0);
    t->mem = spry_memory_data(mem);
    t->mem_size = spry_memory_size(mem);
    /* The tests write guest memory directly, as a guest would: all of it
     * counts as written (SPRY_CHECK_WRITES, spry_memory_data). */
    spry_memory_note_write(mem, 0, t->mem_size);
    /* the module is leaked on purpose: it must outlive the store */
}

void wt_teardown(struct wt *t)
{
    spry_store_destroy(t->store);
    spry_wasi_destroy(t->wasi);
}

int wt_call(struct wt *t, const char *name, const uint64_t *args, size_t nargs)
{
    struct spry_extern ext;
    ASSERT_OK(spry_instance_export(t->inst, name, &ext));
    const struct spry_functype *ft = spry_func_type(ext.of.func);
    ASSERT_EQ_UINT(ft->nparams, nargs);
    struct spry_val vals[16], result;
    for (size_t i = 0; i < nargs; i++) {
        vals[i].type = ft->params[i];
        if (ft->params[i] == SPRY_I64)
            vals[i].of.i64 = (int64_t)args[i];
        else
            vals[i].of.i32 = (int32_t)(uint32_t)args[i];
    }
    struct spry_trap trap;
    int rc = spry_func_call(ext.of.func, vals, nargs, &result, ft->nresults, &trap);
    if (rc != 0)
        return rc;
    return ft->nresults == 1 ? result.of.i32 : 0;
}

uint32_t wt_put(struct wt *t, uint32_t at, const char *s)
{
    size_t n = strlen(s);
    memcpy(t->mem + at, s, n);
    return (uint32_t)n;
}

uint32_t wt_u32(struct wt *t, uint32_t at)
{
    uint32_t v;
    memcpy(&v, t->mem + at, 4);
    return v;
}

uint64_t wt_u64(struct wt *t, uint32_t at)
{
    uint64_t v;
    memcpy(&v, t->mem + at, 8);
    return v;
}

void wt_set_u32(struct wt *t, uint32_t at, uint32_t v)
{
    memcpy(t->mem + at, &v, 4);
}

int wt_open(struct wt *t, uint32_t dirfd, uint32_t lookup, const char *path, uint32_t oflags,
            uint64_t rights, uint32_t fdflags, uint32_t *fd)
{
    enum { PATH_AT = 1024, FD_AT = 960 };
    uint32_t len = wt_put(t, PATH_AT, path);
    wt_set_u32(t, FD_AT, 0xdeadbeef);
    int e =
        WCALL(t, "path_open", dirfd, lookup, PATH_AT, len, oflags, rights, rights, fdflags, FD_AT);
    if (fd != NULL)
        *fd = wt_u32(t, FD_AT);
    return e;
}

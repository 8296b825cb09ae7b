/*
 * The public component API (include/spry/component.h): a component linked
 * against WASI 0.2 and run as a wasi:cli/run command.
 */
#include "spry/component.h"

#include "component/binary.h"
#include "component/canon.h"
#include "component/link.h"
#include "component/wasip2/wasip2.h"
#include "component/wave.h"

#include "base/alloc.h"
#include "base/buf.h"

#include <string.h>

struct spry_component {
    struct cbin *bin;
    struct clink *link;
    const struct clink_export *run; /* wasi:cli/run@0.2.x#run, or NULL */
};

bool spry_component_detect(const uint8_t *bytes, size_t len)
{
    return cbin_is_component(bytes, len);
}

int spry_component_load(struct spry_pool *pool, const uint8_t *bytes, size_t len,
                        struct spry_component **out, struct spry_report *report)
{
    const struct clink_host *host = clink_host_wasip2();
    if (host == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory setting up WASI 0.2");
    struct spry_component *c = spry_calloc(1, sizeof *c);
    if (c == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory");
    int rc = cbin_decode(bytes, len, NULL, &c->bin, report);
    if (rc == 0)
        rc = clink_create(pool, host, c->bin, NULL, &c->link, report);
    if (rc != 0) {
        spry_component_destroy(c);
        return rc;
    }
    c->run = clink_export_find(c->link, "wasi:cli/run@0.2.0", "run");
    *out = c;
    return 0;
}

void spry_component_destroy(struct spry_component *c)
{
    if (c == NULL)
        return;
    clink_destroy(c->link);
    cbin_destroy(c->bin);
    spry_free(c);
}

bool spry_component_is_command(const struct spry_component *c)
{
    return c->run != NULL;
}

/* run: func() -> result: ok is 0, err exits with status 1 (as wasmtime). */
static int run_result(const struct cval *result, struct spry_trap *trap)
{
    if (result->kind == CT_RESULT && result->of.var.disc == 0)
        return 0;
    if (trap != NULL) {
        memset(trap, 0, sizeof *trap);
        trap->kind = SPRY_TRAP_EXIT;
        trap->exit_code = 1;
        trap->func_index = UINT32_MAX;
    }
    return SPRY_EEXIT;
}

/* A fresh instance with a WASI 0.2 context from config, export e called
 * with args; the result is copied into arena. */
static int call_export(struct spry_component *c, const struct spry_wasi_config *config,
                       const struct clink_export *e, const struct cval *args,
                       struct spry_arena *arena, struct cval *result, struct spry_trap *trap,
                       struct spry_report *report)
{
    struct wasip2 *p2 = NULL;
    int rc = wasip2_create(config, &p2, report);
    if (rc != 0)
        return rc;
    struct cinst *ci = NULL;
    rc = clink_acquire(c->link, &ci, report, trap);
    if (rc == 0) {
        wasip2_attach(p2, clink_store(ci));
        memset(result, 0, sizeof *result);
        rc = clink_call(ci, e, args, arena, result, trap);
        clink_release(ci);
    }
    wasip2_destroy(p2);
    if (rc != 0 && rc != SPRY_ETRAP && rc != SPRY_EEXIT && report->code == 0)
        spry_report_set(report, rc, "running the component: %s", spry_strerror(rc));
    return rc;
}

int spry_component_run(struct spry_component *c, const struct spry_wasi_config *config,
                       struct spry_trap *trap, struct spry_report *report)
{
    const struct clink_export *run = c->run;
    if (run == NULL)
        return spry_report_set(report, SPRY_ENOTFOUND,
                               "the component exports no wasi:cli/run@0.2.x function 'run'");
    if (run->type->nparams != 0 || run->type->result == NULL ||
        run->type->result->kind != CT_RESULT)
        return spry_report_set(report, SPRY_EINVALID,
                               "wasi:cli/run's 'run' is not func() -> result");
    struct spry_arena arena;
    spry_arena_init(&arena, CANON_ARENA_LIMIT);
    struct cval result;
    int rc = call_export(c, config, run, NULL, &arena, &result, trap, report);
    if (rc == 0)
        rc = run_result(&result, trap);
    spry_arena_fini(&arena);
    return rc;
}

/* The one exported function called `name` (root or one exported instance
 * deep, as wasmtime searches); NULL after setting report. */
static const struct clink_export *find_by_name(const struct spry_component *c, const char *name,
                                               size_t len, struct spry_report *report)
{
    size_t n;
    const struct clink_export *all = clink_exports(c->link, &n), *found = NULL;
    size_t matches = 0;
    for (size_t i = 0; i < n; i++) {
        if (strlen(all[i].name) != len || memcmp(all[i].name, name, len) != 0)
            continue;
        if (matches++ == 0)
            found = &all[i];
    }
    if (matches == 1)
        return found;
    if (matches == 0) {
        spry_report_set(report, SPRY_ENOTFOUND, "the component exports no function '%.*s'",
                        (int)len, name);
        return NULL;
    }
    const struct clink_export *second = NULL;
    for (size_t i = 0; i < n && second == NULL; i++)
        if (&all[i] != found && strlen(all[i].name) == len && memcmp(all[i].name, name, len) == 0)
            second = &all[i];
    spry_report_set(report, SPRY_ENOTFOUND,
                    "%zu exported functions are named '%.*s' (in %s and %s); Spry cannot tell "
                    "which one is meant",
                    matches, (int)len, name, found->iface != NULL ? found->iface : "the root",
                    second->iface != NULL ? second->iface : "the root");
    return NULL;
}

int spry_component_invoke(struct spry_component *c, const struct spry_wasi_config *config,
                          const char *call, char **result_text, struct spry_trap *trap,
                          struct spry_report *report)
{
    size_t len = strlen(call);
    struct wave_call head;
    int rc = wave_call_head(call, len, &head, report);
    if (rc != 0)
        return rc;
    const struct clink_export *e = find_by_name(c, head.name, head.name_len, report);
    if (e == NULL)
        return SPRY_ENOTFOUND;
    for (uint32_t i = 0; i < e->type->nparams; i++)
        if (!wave_type_printable(e->type->params[i].type))
            return spry_report_set(report, SPRY_EINVAL,
                                   "'%s': parameter '%s' is or holds a resource handle, which "
                                   "cannot be passed from the command line",
                                   e->name, e->type->params[i].name);
    if (!wave_type_printable(e->type->result))
        return spry_report_set(report, SPRY_EINVAL,
                               "'%s' returns a resource handle, which cannot be shown as text",
                               e->name);
    struct spry_arena arena;
    spry_arena_init(&arena, CANON_ARENA_LIMIT);
    struct cval *args = NULL, result;
    struct spry_buf out;
    spry_buf_init(&out, CANON_ARENA_LIMIT);
    rc = wave_call_args(call, len, &head, e->type, &arena, &args, report);
    if (rc == 0)
        rc = call_export(c, config, e, args, &arena, &result, trap, report);
    if (rc == 0) {
        rc = wave_write_result(&out, e->type, &result);
        if (rc != 0)
            spry_report_set(report, rc, "writing the result: %s", spry_strerror(rc));
    }
    if (rc == 0) {
        *result_text = spry_buf_take(&out);
        if (*result_text == NULL)
            rc = spry_report_set(report, SPRY_ENOMEM, "out of memory");
    }
    spry_buf_fini(&out);
    spry_arena_fini(&arena);
    return rc;
}

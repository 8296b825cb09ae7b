/*
 * The public component API (include/spry/component.h): a component linked
 * against WASI 0.2 and run as a wasi:cli/run command.
 */
#include "spry/component.h"

#include "component/binary.h"
#include "component/canon.h"
#include "component/link.h"
#include "component/wasip2/wasip2.h"

#include "base/alloc.h"

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
    struct wasip2 *p2 = NULL;
    int rc = wasip2_create(config, &p2, report);
    if (rc != 0)
        return rc;
    struct cinst *ci = NULL;
    rc = clink_acquire(c->link, &ci, report, trap);
    if (rc == 0) {
        wasip2_attach(p2, clink_store(ci));
        struct spry_arena arena;
        spry_arena_init(&arena, CANON_ARENA_LIMIT);
        struct cval result;
        memset(&result, 0, sizeof result);
        rc = clink_call(ci, run, NULL, &arena, &result, trap);
        if (rc == 0)
            rc = run_result(&result, trap);
        spry_arena_fini(&arena);
        clink_release(ci);
    }
    wasip2_destroy(p2);
    if (rc != 0 && rc != SPRY_ETRAP && rc != SPRY_EEXIT && report->code == 0)
        spry_report_set(report, rc, "running the component: %s", spry_strerror(rc));
    return rc;
}

/*
 * Linking a module's imports to host function tables (struct spry_host_def):
 * by exact (module, name), with the types checked.
 */
#include "base/alloc.h"
#include "wasm/runtime.h"

#include <stdio.h>
#include <string.h>

const struct spry_host_def *spry_host_def_find(const struct spry_host_def *defs, size_t ndefs,
                                               const char *module, size_t module_len,
                                               const char *name, size_t name_len)
{
    for (size_t i = 0; i < ndefs; i++) {
        const struct spry_host_def *d = &defs[i];
        if (strlen(d->module) == module_len && memcmp(d->module, module, module_len) == 0 &&
            strlen(d->name) == name_len && memcmp(d->name, name, name_len) == 0)
            return d;
    }
    return NULL;
}

static bool same_type(const struct spry_functype *a, const struct spry_functype *b)
{
    return a->nparams == b->nparams && a->nresults == b->nresults &&
           (a->nparams == 0 || memcmp(a->params, b->params, a->nparams) == 0) &&
           (a->nresults == 0 || memcmp(a->results, b->results, a->nresults) == 0);
}

/* Writes "(i32 i32) -> (i32)" into buf. */
static const char *type_text(const struct spry_functype *t, char *buf, size_t cap)
{
    static const struct {
        uint8_t type;
        const char *name;
    } names[] = {{SPRY_I32, "i32"},
                 {SPRY_I64, "i64"},
                 {SPRY_F32, "f32"},
                 {SPRY_F64, "f64"},
                 {SPRY_V128, "v128"},
                 {SPRY_FUNCREF, "funcref"},
                 {SPRY_EXTERNREF, "externref"}};
    size_t n = 0;
    for (int part = 0; part < 2; part++) {
        uint32_t count = part == 0 ? t->nparams : t->nresults;
        const uint8_t *types = part == 0 ? t->params : t->results;
        n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s(", part == 0 ? "" : " -> ");
        for (uint32_t i = 0; i < count; i++) {
            const char *name = "?";
            for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
                if (names[k].type == types[i])
                    name = names[k].name;
            n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s%s", i ? " " : "", name);
        }
        n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, ")");
    }
    return buf;
}

static const char *kind_text(uint8_t kind)
{
    return kind == SPRY_EXTERN_FUNC     ? "function"
           : kind == SPRY_EXTERN_TABLE  ? "table"
           : kind == SPRY_EXTERN_MEMORY ? "memory"
                                        : "global";
}

static const struct spry_host_global *find_global(const struct spry_host_global *globals,
                                                  size_t nglobals,
                                                  const struct spry_externtype *imp)
{
    for (size_t i = 0; i < nglobals; i++) {
        const struct spry_host_global *g = &globals[i];
        if (strlen(g->module) == imp->module_len &&
            memcmp(g->module, imp->module, imp->module_len) == 0 &&
            strlen(g->name) == imp->name_len && memcmp(g->name, imp->name, imp->name_len) == 0)
            return g;
    }
    return NULL;
}

int link_resolve(const struct spry_module *module, const struct spry_host_def *defs, size_t ndefs,
                 const struct spry_host_global *globals, size_t nglobals, const void **resolved,
                 struct spry_report *report)
{
    size_t n = spry_module_import_count(module);
    for (size_t i = 0; i < n; i++) {
        struct spry_externtype imp;
        spry_module_import(module, i, &imp);
        const void *found = NULL;
        if (imp.kind == SPRY_EXTERN_FUNC)
            found =
                spry_host_def_find(defs, ndefs, imp.module, imp.module_len, imp.name, imp.name_len);
        else if (imp.kind == SPRY_EXTERN_GLOBAL)
            found = find_global(globals, nglobals, &imp);
        if (found == NULL)
            return spry_report_set(report, SPRY_EUNLINKABLE, "unknown import: %.*s.%.*s (%s)",
                                   (int)imp.module_len, imp.module, (int)imp.name_len, imp.name,
                                   kind_text(imp.kind));
        if (imp.kind == SPRY_EXTERN_FUNC) {
            const struct spry_host_def *d = found;
            if (!same_type(&d->type, &imp.type.func)) {
                char want[160], have[160];
                return spry_report_set(report, SPRY_EUNLINKABLE,
                                       "incompatible import type: %.*s.%.*s is %s in the module, "
                                       "%s on the host",
                                       (int)imp.module_len, imp.module, (int)imp.name_len, imp.name,
                                       type_text(&imp.type.func, want, sizeof want),
                                       type_text(&d->type, have, sizeof have));
            }
        } else {
            const struct spry_host_global *g = found;
            if (g->type.type != imp.type.global.type ||
                g->type.mutable_ != imp.type.global.mutable_ || g->value.type != g->type.type)
                return spry_report_set(
                    report, SPRY_EUNLINKABLE, "incompatible import type: global %.*s.%.*s",
                    (int)imp.module_len, imp.module, (int)imp.name_len, imp.name);
        }
        resolved[i] = found;
    }
    return 0;
}

int link_create(struct spry_store *store, const struct spry_module *module,
                const void *const *resolved, struct spry_extern *imports,
                struct spry_report *report)
{
    size_t n = spry_module_import_count(module);
    for (size_t i = 0; i < n; i++) {
        struct spry_externtype imp;
        spry_module_import(module, i, &imp);
        int rc;
        if (imp.kind == SPRY_EXTERN_FUNC) {
            const struct spry_host_def *d = resolved[i];
            imports[i].kind = SPRY_EXTERN_FUNC;
            rc = spry_func_new_host(store, &d->type, d->fn, d->user, &imports[i].of.func);
        } else {
            const struct spry_host_global *g = resolved[i];
            imports[i].kind = SPRY_EXTERN_GLOBAL;
            rc = spry_global_new(store, g->type, g->value, &imports[i].of.global);
        }
        if (rc != 0)
            return spry_report_set(report, rc, "cannot create the host object for import %.*s.%.*s",
                                   (int)imp.module_len, imp.module, (int)imp.name_len, imp.name);
    }
    return 0;
}

int spry_host_link(struct spry_store *store, const struct spry_module *module,
                   const struct spry_host_def *defs, size_t ndefs, struct spry_extern *imports,
                   struct spry_report *report)
{
    size_t n = spry_module_import_count(module);
    const void **resolved = spry_calloc(n + 1, sizeof *resolved);
    if (resolved == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory linking");
    int rc = link_resolve(module, defs, ndefs, NULL, 0, resolved, report);
    if (rc == 0)
        rc = link_create(store, module, resolved, imports, report);
    spry_free(resolved);
    return rc;
}

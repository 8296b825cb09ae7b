/*
 * Freeing a decoded module and the pure queries on it (imports, exports).
 *
 * module_free() must accept any module decode_module() abandons half-built:
 * every count in struct wasm_module is only ever set right after the array
 * it counts was allocated zeroed, so the loops below see either NULL
 * pointers or fully owned ones.
 */
#include "base/alloc.h"
#include "wasm/decode.h"
#include "wasm/module.h"

static void constexpr_fini(struct wasm_constexpr *ce)
{
    spry_free(ce->rest);
    ce->rest = NULL;
}

void module_free(struct wasm_module *m)
{
    if (m == NULL)
        return;
    for (uint32_t i = 0; i < m->ntypes; i++)
        spry_free(m->types[i].types);
    spry_free(m->types);
    spry_free(m->imports);
    for (uint32_t i = 0; i < m->nfuncs; i++) {
        spry_free(m->funcs[i].local_types);
        /* Translated code belongs to the translator; it frees it through
         * its own hook before the module goes away. */
    }
    spry_free(m->funcs);
    spry_free(m->tables);
    spry_free(m->memories);
    for (uint32_t i = 0; i < m->nglobals; i++)
        constexpr_fini(&m->globals[i].init);
    spry_free(m->globals);
    spry_free(m->exports);
    for (uint32_t i = 0; i < m->nelems; i++) {
        constexpr_fini(&m->elems[i].offset);
        if (m->elems[i].items != NULL) {
            for (uint32_t j = 0; j < m->elems[i].count; j++)
                constexpr_fini(&m->elems[i].items[j]);
        }
        spry_free(m->elems[i].items);
    }
    spry_free(m->elems);
    for (uint32_t i = 0; i < m->ndatas; i++)
        constexpr_fini(&m->datas[i].offset);
    spry_free(m->datas);
    spry_free(m->declared_refs);
    spry_free(m->customs);
    if (m->func_names != NULL) {
        for (uint32_t i = 0; i < m->nfuncs; i++)
            spry_free(m->func_names[i]);
    }
    spry_free(m->func_names);
    spry_free(m->module_name);
    spry_free(m->bytes);
    spry_free(m);
}

size_t module_import_count(const struct wasm_module *m)
{
    return m->nimports;
}

size_t module_export_count(const struct wasm_module *m)
{
    return m->nexports;
}

/* Fills the type part of *out for entity `index` of `kind`. Indices are
 * checked here too so that an unvalidated module cannot make us read out
 * of bounds; an unknown entity describes as an empty type. */
static void describe_entity(const struct wasm_module *m, uint8_t kind, uint32_t index,
                            struct spry_externtype *out)
{
    switch (kind) {
    case SPRY_EXTERN_FUNC:
        out->type.func = (struct spry_functype){0, 0, NULL, NULL};
        if (index < m->nfuncs && m->funcs[index].type_index < m->ntypes) {
            const struct wasm_functype *ft = module_func_type(m, index);
            out->type.func.nparams = ft->nparams;
            out->type.func.nresults = ft->nresults;
            out->type.func.params = ft->types;
            out->type.func.results = ft->types == NULL ? NULL : ft->types + ft->nparams;
        }
        break;
    case SPRY_EXTERN_TABLE:
        out->type.table = (struct spry_tabletype){0};
        if (index < m->ntables) {
            out->type.table.elem = m->tables[index].type.elem;
            out->type.table.limits = m->tables[index].type.limits;
        }
        break;
    case SPRY_EXTERN_MEMORY:
        out->type.memory = (struct spry_limits){0};
        if (index < m->nmemories)
            out->type.memory = m->memories[index].limits;
        break;
    case SPRY_EXTERN_GLOBAL:
        out->type.global = (struct spry_globaltype){0};
        if (index < m->nglobals) {
            out->type.global.type = m->globals[index].type.type;
            out->type.global.mutable_ = m->globals[index].type.mutable_;
        }
        break;
    }
}

int module_import_desc(const struct wasm_module *m, size_t index, struct spry_externtype *out)
{
    if (index >= m->nimports)
        return SPRY_EINVAL;
    const struct wasm_import *imp = &m->imports[index];
    out->kind = imp->kind;
    out->module = imp->module;
    out->module_len = imp->module_len;
    out->name = imp->name;
    out->name_len = imp->name_len;
    describe_entity(m, imp->kind, imp->index, out);
    return 0;
}

int module_export_desc(const struct wasm_module *m, size_t index, struct spry_externtype *out)
{
    if (index >= m->nexports)
        return SPRY_EINVAL;
    const struct wasm_export *exp = &m->exports[index];
    out->kind = exp->kind;
    out->module = NULL;
    out->module_len = 0;
    out->name = exp->name;
    out->name_len = exp->name_len;
    describe_entity(m, exp->kind, exp->index, out);
    return 0;
}

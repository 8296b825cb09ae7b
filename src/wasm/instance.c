/*
 * Instantiation (https://webassembly.github.io/spec/core/exec/modules.html#instantiation):
 * import matching, allocation of the module's own functions, tables,
 * memories and globals, constant expressions, element and data segments,
 * and the start function.
 */
#include "base/alloc.h"
#include "wasm/runtime.h"

#include <stdio.h>
#include <string.h>

/* ---- constant expressions ------------------------------------------------ */

/* Evaluates a validated constant expression with the instance's globals and
 * functions as far as they exist. */
static int eval_const(const struct spry_instance *inst, const struct wasm_constexpr *e,
                      uint64_t *out)
{
    uint64_t stack[64];
    uint32_t sp = 0;
    for (uint32_t i = 0; i < e->count; i++) {
        const struct wasm_const_instr *ci = i == 0 ? &e->first : &e->rest[i - 1];
        uint64_t a, b;
        switch (ci->op) {
        case WASM_CONST_I32:
        case WASM_CONST_I64:
        case WASM_CONST_F32:
        case WASM_CONST_F64:
        case WASM_CONST_REF_NULL:
        case WASM_CONST_REF_FUNC:
        case WASM_CONST_GLOBAL_GET:
            if (sp == 64)
                return SPRY_ETOOBIG;
            if (ci->op == WASM_CONST_I32)
                stack[sp++] = (uint32_t)ci->value.i32;
            else if (ci->op == WASM_CONST_I64)
                stack[sp++] = (uint64_t)ci->value.i64;
            else if (ci->op == WASM_CONST_F32 || ci->op == WASM_CONST_F64)
                stack[sp++] = ci->value.bits;
            else if (ci->op == WASM_CONST_REF_NULL)
                stack[sp++] = 0;
            else if (ci->op == WASM_CONST_REF_FUNC)
                stack[sp++] = (uint64_t)(uintptr_t)inst->funcs[ci->value.index];
            else
                stack[sp++] = inst->globals[ci->value.index]->value;
            break;
        default:
            if (sp < 2)
                return SPRY_EINVAL;
            b = stack[--sp];
            a = stack[--sp];
            switch (ci->op) {
            case WASM_CONST_I32_ADD:
                stack[sp++] = (uint32_t)(a + b);
                break;
            case WASM_CONST_I32_SUB:
                stack[sp++] = (uint32_t)(a - b);
                break;
            case WASM_CONST_I32_MUL:
                stack[sp++] = (uint32_t)((uint32_t)a * (uint32_t)b);
                break;
            case WASM_CONST_I64_ADD:
                stack[sp++] = a + b;
                break;
            case WASM_CONST_I64_SUB:
                stack[sp++] = a - b;
                break;
            case WASM_CONST_I64_MUL:
                stack[sp++] = a * b;
                break;
            default:
                return SPRY_EINVAL;
            }
        }
    }
    if (sp != 1)
        return SPRY_EINVAL;
    *out = stack[0];
    return 0;
}

/* ---- import matching ------------------------------------------------------- */

/* https://webassembly.github.io/spec/core/valid/types.html#limits (import subtyping) */
static bool limits_match(uint64_t actual_min, bool actual_has_max, uint64_t actual_max,
                         const struct spry_limits *expected)
{
    if (actual_min < expected->min)
        return false;
    if (expected->has_max && (!actual_has_max || actual_max > expected->max))
        return false;
    return true;
}

static int link_error(struct spry_report *report, const struct wasm_import *imp, const char *what)
{
    return spry_report_set(report, SPRY_EUNLINKABLE, "%s: %.*s.%.*s", what, (int)imp->module_len,
                           imp->module, (int)imp->name_len, imp->name);
}

static int link_imports(struct spry_instance *inst, const struct spry_extern *imports,
                        size_t nimports, struct spry_report *report)
{
    const struct wasm_module *m = inst->module;
    if (nimports != m->nimports)
        return spry_report_set(report, SPRY_EUNLINKABLE,
                               "unknown import: module needs %u imports, %zu given", m->nimports,
                               nimports);
    for (uint32_t i = 0; i < m->nimports; i++) {
        const struct wasm_import *imp = &m->imports[i];
        const struct spry_extern *ext = &imports[i];
        if (ext->kind != imp->kind || ext->of.func == NULL)
            return link_error(report, imp, "incompatible import type");
        /* Objects of another store may be freed while this one runs, and
         * its memories are unknown to this store's fault handling. */
        const struct spry_store *owner = ext->kind == SPRY_EXTERN_FUNC     ? ext->of.func->store
                                         : ext->kind == SPRY_EXTERN_TABLE  ? ext->of.table->store
                                         : ext->kind == SPRY_EXTERN_MEMORY ? ext->of.memory->store
                                                                           : ext->of.global->store;
        if (owner != inst->store)
            return link_error(report, imp, "import from another store");
        switch (imp->kind) {
        case SPRY_EXTERN_FUNC: {
            const struct wasm_functype *want = module_func_type(m, imp->index);

            if (ext->of.func->type_id != want->type_id)
                return link_error(report, imp, "incompatible import type");
            inst->funcs[imp->index] = ext->of.func;
            break;
        }
        case SPRY_EXTERN_TABLE: {
            const struct wasm_tabletype *want = &m->tables[imp->index].type;
            const struct spry_table *t = ext->of.table;
            if (t->type.elem != want->elem ||
                !limits_match(t->size, t->type.limits.has_max, t->type.limits.max, &want->limits))
                return link_error(report, imp, "incompatible import type");
            inst->tables[imp->index] = ext->of.table;
            break;
        }
        case SPRY_EXTERN_MEMORY: {
            const struct spry_limits *want = &m->memories[imp->index].limits;
            const struct spry_memory *mem = ext->of.memory;
            if (!limits_match(mem->size / WASM_PAGE_SIZE, mem->type.has_max, mem->type.max, want))
                return link_error(report, imp, "incompatible import type");
            inst->memories[imp->index] = ext->of.memory;
            break;
        }
        case SPRY_EXTERN_GLOBAL: {
            const struct wasm_globaltype *want = &m->globals[imp->index].type;
            const struct spry_global *g = ext->of.global;
            if (g->type.type != want->type || g->type.mutable_ != want->mutable_)
                return link_error(report, imp, "incompatible import type");
            inst->globals[imp->index] = ext->of.global;
            break;
        }
        default:
            return link_error(report, imp, "incompatible import type");
        }
    }
    return 0;
}

/* ---- instances ------------------------------------------------------------- */

void instance_free(struct spry_instance *inst)
{
    if (inst == NULL)
        return;
    if (inst->elem_refs != NULL) {
        for (uint32_t i = 0; i < inst->module->nelems; i++)
            spry_free(inst->elem_refs[i].refs);
    }
    spry_free(inst->elem_refs);
    spry_free(inst->elem_dropped);
    spry_free(inst->data_dropped);
    spry_free(inst->funcs);
    spry_free(inst->tables);
    spry_free(inst->memories);
    spry_free(inst->globals);
    spry_free(inst->defined_funcs);
    spry_free(inst);
}

static int alloc_arrays(struct spry_instance *inst)
{
    const struct wasm_module *m = inst->module;
    uint32_t ndefined = m->nfuncs - m->num_imported_funcs;
    inst->funcs = spry_calloc(m->nfuncs + 1, sizeof *inst->funcs);
    inst->tables = spry_calloc(m->ntables + 1, sizeof *inst->tables);
    inst->memories = spry_calloc(m->nmemories + 1, sizeof *inst->memories);
    inst->globals = spry_calloc(m->nglobals + 1, sizeof *inst->globals);
    inst->defined_funcs = spry_calloc(ndefined + 1, sizeof *inst->defined_funcs);
    inst->elem_refs = spry_calloc(m->nelems + 1, sizeof *inst->elem_refs);
    inst->elem_dropped = spry_calloc(m->nelems + 1, 1);
    inst->data_dropped = spry_calloc(m->ndatas + 1, 1);
    if (inst->funcs == NULL || inst->tables == NULL || inst->memories == NULL ||
        inst->globals == NULL || inst->defined_funcs == NULL || inst->elem_refs == NULL ||
        inst->elem_dropped == NULL || inst->data_dropped == NULL)
        return SPRY_ENOMEM;
    return 0;
}

static int create_definitions(struct spry_instance *inst, const struct instance_slot *slot,
                              struct spry_report *report)
{
    const struct wasm_module *m = inst->module;
    struct spry_store *store = inst->store;
    for (uint32_t i = m->num_imported_funcs; i < m->nfuncs; i++) {
        struct spry_func *f = &inst->defined_funcs[i - m->num_imported_funcs];
        f->type = module_func_type(m, i);
        f->type_id = f->type->type_id;
        f->store = store;
        f->inst = inst;
        f->def = &m->funcs[i];
        /* The interpreters fill these from def on the first call. */
        atomic_store_explicit(&f->code_cache, NULL, memory_order_relaxed);
        atomic_store_explicit(&f->code_checked_cache, NULL, memory_order_relaxed);
        f->index = i;
        runtime_func_init_api_type(f);
        inst->funcs[i] = f;
    }
    for (uint32_t i = m->num_imported_tables; i < m->ntables; i++) {
        struct spry_tabletype type = {m->tables[i].type.elem, m->tables[i].type.limits};
        int rc = table_create(store, type, NULL, &inst->tables[i]);
        if (rc != 0)
            return spry_report_set(report, rc, "cannot create table %u of %llu elements", i,
                                   (unsigned long long)type.limits.min);
    }
    for (uint32_t i = m->num_imported_memories; i < m->nmemories; i++) {
        struct spry_memory *mem;
        int rc = slot != NULL ? memory_create_in(store, m->memories[i].limits, slot->memory_base,
                                                 slot->memory_reserved, slot->memory_written, &mem)
                              : memory_create(store, m->memories[i].limits, &mem);
        if (rc == 0 && runtime_list_add(&store->memories, mem) != 0) {
            memory_free(mem);
            rc = SPRY_ENOMEM;
        }
        if (rc != 0)
            return spry_report_set(report, rc,
                                   "cannot create memory %u of %llu pages (limit %llu bytes)", i,
                                   (unsigned long long)m->memories[i].limits.min,
                                   (unsigned long long)store->limits.max_memory_bytes);
        inst->memories[i] = mem;
    }
    for (uint32_t i = m->num_imported_globals; i < m->nglobals; i++) {
        uint64_t value;
        int rc = eval_const(inst, &m->globals[i].init, &value);
        if (rc == 0) {
            struct spry_globaltype type = {m->globals[i].type.type, m->globals[i].type.mutable_};
            rc = global_create(store, type, value, &inst->globals[i]);
        }
        if (rc != 0)
            return spry_report_set(report, rc, "cannot initialise global %u", i);
    }
    for (uint32_t i = 0; i < m->nelems; i++) {
        const struct wasm_elem *e = &m->elems[i];
        struct runtime_elem *re = &inst->elem_refs[i];
        re->refs = spry_calloc(e->count ? e->count : 1, sizeof *re->refs);
        if (re->refs == NULL)
            return SPRY_ENOMEM;
        re->count = e->count;
        for (uint32_t k = 0; k < e->count; k++) {
            uint64_t v;
            int rc = eval_const(inst, &e->items[k], &v);
            if (rc != 0)
                return spry_report_set(report, rc, "cannot evaluate element %u of segment %u", k,
                                       i);
            re->refs[k] = (void *)(uintptr_t)v;
        }
        if (e->mode == WASM_SEG_DECLARATIVE)
            inst->elem_dropped[i] = 1;
    }
    return 0;
}

/* Active segments, in order, as table.init/memory.init followed by a drop. A
 * failing segment traps; the writes of earlier segments stay. */
static int init_segments(struct spry_instance *inst, bool data_preloaded)
{
    const struct wasm_module *m = inst->module;
    struct spry_store *store = inst->store;
    for (uint32_t i = 0; i < m->nelems; i++) {
        const struct wasm_elem *e = &m->elems[i];
        if (e->mode != WASM_SEG_ACTIVE)
            continue;
        uint64_t off;
        if (eval_const(inst, &e->offset, &off) != 0)
            return runtime_trap(store, SPRY_TRAP_HOST, "bad element offset");
        struct spry_table *t = inst->tables[e->table];
        uint64_t start = (uint32_t)off;
        if (start > t->size || e->count > t->size - start)
            return runtime_trap(store, SPRY_TRAP_TABLE_OOB, NULL);
        if (e->count > 0)
            memcpy(t->elems + start, inst->elem_refs[i].refs, e->count * sizeof(void *));
        inst->elem_dropped[i] = 1;
    }
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const struct wasm_data *d = &m->datas[i];
        if (d->mode != WASM_SEG_ACTIVE)
            continue;
        if (data_preloaded) {
            inst->data_dropped[i] = 1;
            continue;
        }
        uint64_t off;
        if (eval_const(inst, &d->offset, &off) != 0)
            return runtime_trap(store, SPRY_TRAP_HOST, "bad data offset");
        struct spry_memory *mem = inst->memories[d->memory];
        uint64_t start = (uint32_t)off;
        if (start > mem->size || d->size > mem->size - start)
            return runtime_trap(store, SPRY_TRAP_MEMORY_OOB, NULL);
        if (d->size > 0)
            memcpy(mem->base + start, d->bytes, d->size);
        memory_note_write(mem, start, d->size);
        inst->data_dropped[i] = 1;
    }
    return 0;
}

int instance_build(struct spry_store *store, const struct spry_module *module,
                   const struct spry_extern *imports, size_t nimports,
                   const struct instance_slot *slot, struct spry_instance **out,
                   struct spry_report *report)
{
    struct spry_instance *inst = spry_calloc(1, sizeof *inst);
    if (inst == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory instantiating");
    inst->store = store;
    inst->api_module = module;
    inst->module = runtime_module(module);
    int rc = alloc_arrays(inst);
    if (rc == 0)
        rc = link_imports(inst, imports, nimports, report);
    if (rc == 0)
        rc = create_definitions(inst, slot, report);
    if (rc == 0 && runtime_list_add(&store->instances, inst) != 0)
        rc = SPRY_ENOMEM;
    if (rc != 0) {
        instance_free(inst);
        return rc == SPRY_ENOMEM ? spry_report_set(report, rc, "out of memory instantiating") : rc;
    }
    /* From here on the instance belongs to the store: tables it wrote and
     * functions it placed there stay valid even if instantiation fails. */
    if (store->depth == 0) {
        memset(&store->trap, 0, sizeof store->trap);
        store->trap.func_index = UINT32_MAX;
    }
    rc = init_segments(inst, slot != NULL && slot->data_preloaded);
    if (rc != 0)
        return spry_report_set(report, rc, "instantiation: %s", store->trap.message);
    *out = inst;
    return 0;
}

int instance_run_start(struct spry_instance *inst, struct spry_report *report,
                       struct spry_trap *trap)
{
    if (!inst->module->has_start)
        return 0;
    uint64_t slots[1];
    int rc = runtime_call(inst->store, inst->funcs[inst->module->start], slots, trap);
    if (rc != 0)
        return spry_report_set(report, rc, "start function: %s", inst->store->trap.message);
    return 0;
}

int instance_data_extent(const struct spry_instance *inst, uint64_t *out)
{
    const struct wasm_module *m = inst->module;
    uint64_t extent = 0;
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const struct wasm_data *d = &m->datas[i];
        if (d->mode != WASM_SEG_ACTIVE || d->size == 0)
            continue;
        uint64_t off;
        if (eval_const(inst, &d->offset, &off) != 0)
            return SPRY_EINVAL;
        uint64_t end = (uint64_t)(uint32_t)off + d->size;
        if (end > extent)
            extent = end;
    }
    *out = extent;
    return 0;
}

int spry_instance_create(struct spry_store *store, const struct spry_module *module,
                         const struct spry_extern *imports, size_t nimports,
                         struct spry_instance **out, struct spry_report *report,
                         struct spry_trap *trap)
{
    struct spry_instance *inst;
    int rc = instance_build(store, module, imports, nimports, NULL, &inst, report);
    if (rc == SPRY_ETRAP && trap != NULL)
        *trap = store->trap;
    if (rc == 0)
        rc = instance_run_start(inst, report, trap);
    if (rc != 0)
        return rc;
    *out = inst;
    return 0;
}

const struct spry_module *spry_instance_module(const struct spry_instance *inst)
{
    return inst->api_module;
}

struct spry_store *spry_instance_store(const struct spry_instance *inst)
{
    return inst->store;
}

int spry_instance_export_n(const struct spry_instance *inst, const char *name, size_t name_len,
                           struct spry_extern *out)
{
    const struct wasm_module *m = inst->module;
    for (uint32_t i = 0; i < m->nexports; i++) {
        const struct wasm_export *e = &m->exports[i];
        if (e->name_len != name_len || memcmp(e->name, name, name_len) != 0)
            continue;
        out->kind = e->kind;
        switch (e->kind) {
        case SPRY_EXTERN_FUNC:
            out->of.func = inst->funcs[e->index];
            break;
        case SPRY_EXTERN_TABLE:
            out->of.table = inst->tables[e->index];
            break;
        case SPRY_EXTERN_MEMORY:
            out->of.memory = inst->memories[e->index];
            break;
        default:
            out->of.global = inst->globals[e->index];
            break;
        }
        return 0;
    }
    return SPRY_ENOTFOUND;
}

int spry_instance_export(const struct spry_instance *inst, const char *name,
                         struct spry_extern *out)
{
    return spry_instance_export_n(inst, name, strlen(name), out);
}

struct spry_memory *spry_instance_memory(const struct spry_instance *inst, uint32_t index)
{
    return index < inst->module->nmemories ? inst->memories[index] : NULL;
}

void spry_instance_set_trap_message(struct spry_instance *inst, const char *message)
{
    snprintf(inst->trap_message, sizeof inst->trap_message, "%s", message);
    if (inst->store->trap.kind == SPRY_TRAP_NONE)
        runtime_trap(inst->store, SPRY_TRAP_HOST, message);
}

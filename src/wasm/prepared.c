/*
 * Prepared modules: imports resolved once, instantiation checked once, the
 * initial memory built once as an image (image.h); and the three things a
 * pool slot does with them: instantiate (on a slot's first use by the
 * module), reset (at every release), evict (when the slot changes module).
 *
 * Why a reset gives a fresh instance. Instantiation determines: the memory
 * (the image, then zeroes), each global's value, each table's size and
 * elements, and which segments are dropped; the functions and the segments'
 * references are fixed per instance and never written. The snapshot keeps
 * the written kinds as instantiation left them; reset writes them back and
 * puts the memory back to the image. The start function then runs again
 * at acquire, as it would in a new instance.
 */
#include "base/alloc.h"
#include "wasm/pool.h"
#include "wasm/runtime.h"

#include <string.h>

/* ---- snapshots -------------------------------------------------------------- */

static void snapshot_free(struct slot_snapshot *snap, uint32_t ntables)
{
    if (snap->table_elems != NULL) {
        for (uint32_t i = 0; i < ntables; i++)
            spry_free(snap->table_elems[i]);
    }
    spry_free(snap->table_elems);
    spry_free(snap->table_sizes);
    spry_free(snap->globals);
    spry_free(snap->elem_dropped);
    spry_free(snap->data_dropped);
    memset(snap, 0, sizeof *snap);
}

static int snapshot_take(struct slot_snapshot *snap, const struct spry_instance *inst)
{
    const struct wasm_module *m = inst->module;
    snap->globals = spry_alloc_array(m->nglobals + 1, sizeof *snap->globals);
    snap->table_sizes = spry_calloc(m->ntables + 1, sizeof *snap->table_sizes);
    snap->table_elems = spry_calloc(m->ntables + 1, sizeof *snap->table_elems);
    snap->elem_dropped = spry_malloc(m->nelems + 1);
    snap->data_dropped = spry_malloc(m->ndatas + 1);
    if (snap->globals == NULL || snap->table_sizes == NULL || snap->table_elems == NULL ||
        snap->elem_dropped == NULL || snap->data_dropped == NULL)
        return SPRY_ENOMEM;
    for (uint32_t i = 0; i < m->nglobals; i++)
        snap->globals[i] = inst->globals[i]->value;
    for (uint32_t i = 0; i < m->ntables; i++) {
        struct spry_table *t = inst->tables[i];
        snap->table_sizes[i] = t->size;
        snap->table_elems[i] = spry_alloc_array(t->size + 1, sizeof(void *));
        if (snap->table_elems[i] == NULL)
            return SPRY_ENOMEM;
        if (t->size > 0)
            memcpy(snap->table_elems[i], t->elems, t->size * sizeof(void *));
        t->dirty = false;
    }
    memcpy(snap->elem_dropped, inst->elem_dropped, m->nelems);
    memcpy(snap->data_dropped, inst->data_dropped, m->ndatas);
    return 0;
}

static void snapshot_restore(const struct slot_snapshot *snap, struct spry_instance *inst)
{
    const struct wasm_module *m = inst->module;
    for (uint32_t i = 0; i < m->nglobals; i++)
        inst->globals[i]->value = snap->globals[i];
    for (uint32_t i = 0; i < m->ntables; i++) {
        struct spry_table *t = inst->tables[i];
        if (!t->dirty)
            continue;
        /* A grown table keeps its larger allocation: cap >= the snapshot's size. */
        t->size = snap->table_sizes[i];
        t->type.limits.min = t->size;
        if (t->size > 0)
            memcpy(t->elems, snap->table_elems[i], t->size * sizeof(void *));
        t->dirty = false;
    }
    memcpy(inst->elem_dropped, snap->elem_dropped, m->nelems);
    memcpy(inst->data_dropped, snap->data_dropped, m->ndatas);
    inst->trap_message[0] = '\0';
}

/* ---- slots ------------------------------------------------------------------ */

void prepared_evict(struct pool_slot *slot)
{
    if (slot->inst != NULL)
        snapshot_free(&slot->snap, slot->inst->module->ntables);
    if (slot->store != NULL)
        runtime_store_clear(slot->store);
    slot_memory_wipe(&slot->mem);
    slot->owner = NULL;
    slot->inst = NULL;
}

int prepared_instantiate(struct pool_slot *slot, struct spry_prepared *prepared,
                         struct spry_report *report)
{
    struct spry_pool *pool = slot->pool;
    if (slot->owner != NULL || slot->inst != NULL)
        prepared_evict(slot);
    if (slot->store == NULL && spry_store_create(&pool->limits, &slot->store) != 0)
        return spry_report_set(report, SPRY_ENOMEM, "pool: out of memory creating a store");
    if (prepared->has_memory && slot_memory_load(&slot->mem, &prepared->image) != 0)
        return spry_report_set(report, SPRY_ENOMEM, "pool: cannot map the memory image");
    size_t nimports = spry_module_import_count(prepared->module);
    struct spry_extern *imports = spry_calloc(nimports + 1, sizeof *imports);
    if (imports == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "pool: out of memory instantiating");
    struct instance_slot where = {slot->mem.base, slot->mem.reserved, true};
    struct spry_instance *inst = NULL;
    int rc = link_create(slot->store, prepared->module, prepared->resolved, imports, report);
    if (rc == 0)
        rc =
            instance_build(slot->store, prepared->module, imports, nimports, &where, &inst, report);
    spry_free(imports);
    if (rc == 0) {
        slot->inst = inst;
        inst->pool_slot = slot;
        rc = snapshot_take(&slot->snap, inst);
        if (rc != 0)
            spry_report_set(report, rc, "pool: out of memory instantiating");
    }
    if (rc != 0)
        return rc;
    slot->owner = prepared;
    return 0;
}

int prepared_reset(struct pool_slot *slot)
{
    struct spry_instance *inst = slot->inst;
    if (slot->owner->has_memory) {
        struct spry_memory *mem = inst->memories[0];
        int rc = slot_memory_reset(&slot->mem, mem->size, slot->pool->config.keep_resident_bytes);
        if (rc != 0)
            return rc;
        mem->size = slot->owner->image.initial;
        mem->type.min = mem->size / WASM_PAGE_SIZE;
    }
    snapshot_restore(&slot->snap, inst);
    runtime_store_reset(slot->store);
    return 0;
}

/* ---- prepared modules ------------------------------------------------------- */

/* Instantiates once in a scratch store to check that instantiation works
 * and to capture the initial memory as the image. */
static int build_image(struct spry_prepared *p, struct spry_report *report)
{
    struct spry_store *store;
    if (spry_store_create(&p->pool->limits, &store) != 0)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory preparing a module");
    size_t nimports = spry_module_import_count(p->module);
    struct spry_extern *imports = spry_calloc(nimports + 1, sizeof *imports);
    struct spry_instance *inst = NULL;
    int rc = imports == NULL ? spry_report_set(report, SPRY_ENOMEM, "out of memory") : 0;
    if (rc == 0)
        rc = link_create(store, p->module, p->resolved, imports, report);
    if (rc == 0)
        rc = instance_build(store, p->module, imports, nimports, NULL, &inst, report);
    if (rc == 0 && p->has_memory) {
        const struct spry_memory *mem = inst->memories[0];
        uint64_t extent;
        rc = instance_data_extent(inst, &extent);
        if (rc == 0)
            rc = image_init(&p->image, mem->base, mem->size, extent, IMAGE_COW_MIN_BYTES);
        if (rc != 0)
            spry_report_set(report, rc, "cannot build the initial memory image");
    }
    spry_free(imports);
    spry_store_destroy(store);
    return rc;
}

int spry_prepared_create(struct spry_pool *pool, const struct spry_module *module,
                         const struct spry_host_def *funcs, size_t nfuncs,
                         const struct spry_host_global *globals, size_t nglobals,
                         struct spry_prepared **out, struct spry_report *report)
{
    const struct wasm_module *m = runtime_module(module);
    if (m->nmemories > 0) {
        uint64_t need = m->memories[0].limits.min * WASM_PAGE_SIZE;
        if (need > pool->config.max_memory_bytes)
            return spry_report_set(report, SPRY_EEXHAUSTED,
                                   "memory 0 needs %llu pages (%llu bytes) at instantiation, "
                                   "above the per-instance cap of %llu bytes",
                                   (unsigned long long)m->memories[0].limits.min,
                                   (unsigned long long)need,
                                   (unsigned long long)pool->config.max_memory_bytes);
    }
    struct spry_prepared *p = spry_calloc(1, sizeof *p);
    if (p == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory preparing a module");
    p->pool = pool;
    p->module = module;
    p->has_memory = m->nmemories > 0;
    p->image.fd = -1;
    p->resolved = spry_calloc(m->nimports + 1, sizeof *p->resolved);
    int rc = p->resolved == NULL ? spry_report_set(report, SPRY_ENOMEM, "out of memory") : 0;
    if (rc == 0)
        rc = link_resolve(module, funcs, nfuncs, globals, nglobals, p->resolved, report);
    if (rc == 0)
        rc = build_image(p, report);
    if (rc != 0) {
        image_fini(&p->image);
        spry_free(p->resolved);
        spry_free(p);
        return rc;
    }
    pool_register_prepared(pool);
    *out = p;
    return 0;
}

void spry_prepared_destroy(struct spry_prepared *prepared)
{
    if (prepared == NULL)
        return;
    pool_unregister_prepared(prepared->pool, prepared);
    image_fini(&prepared->image);
    spry_free(prepared->resolved);
    spry_free(prepared);
}

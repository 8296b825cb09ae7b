/*
 * Prepared modules and linked groups of modules: imports resolved once,
 * instantiation checked once, the initial memory built once as an image
 * (image.h); and the three things a pool slot does with them: instantiate
 * (on a slot's first use by the group), reset (at every release), evict
 * (when the slot changes group). A single module is a group of one.
 *
 * Why a reset gives a fresh instance. Instantiation determines: the memory
 * (the image, then zeroes), each global's value, each table's size and
 * elements, and which segments are dropped; the functions and the segments'
 * references are fixed per instance and never written. The snapshot keeps
 * the written kinds as instantiation left them; reset writes them back and
 * puts the memory back to the image. The start functions then run again
 * at acquire, as they would in new instances, unless they ran once at
 * preparation ("Start functions run once" below: the image and the
 * snapshot are then the state they leave).
 *
 * A group's members share one store and one slot memory (the first member
 * that defines a memory), so the image is the memory after every member's
 * active data segments, and the snapshots are taken after the last member
 * is instantiated: a member's segments may write an earlier member's table
 * (a component's "fixup" module fills its "shim" module's table this way).
 * Later members that define a memory of their own (the nested component
 * instances of a composed component) are treated the same way, each in a
 * reservation of its own in the slot (slot->extra[i], made when a group
 * first needs it there): an image of that memory after instantiation,
 * loaded copy-on-write when large enough, and a reset of that memory alone
 * (slot_memory_reset with its own resident budget).
 */
#include "base/alloc.h"
#include "base/assert.h"
#include "wasm/pool.h"
#include "wasm/reader.h"
#include "wasm/runtime.h"
#include "wasm/validate.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

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

static int snapshot_take(struct slot_snapshot *snap, struct spry_instance *inst)
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
    inst->segments_dropped = false;
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
    /* Only elem.drop and data.drop change the flags after the snapshot. */
    if (inst->segments_dropped) {
        memcpy(inst->elem_dropped, snap->elem_dropped, m->nelems);
        memcpy(inst->data_dropped, snap->data_dropped, m->ndatas);
        inst->segments_dropped = false;
    }
    inst->trap_message[0] = '\0';
}

/* ---- extra memories ------------------------------------------------------- */

/* The bytes of `mem` that instantiation may have written: up to the
 * furthest active data segment of the members whose memory it is (their
 * own or imported: a module has one memory at most). */
static int memory_extent(const struct spry_prepared *p, struct spry_instance *const *insts,
                         const struct spry_memory *mem, uint64_t *out)
{
    uint64_t extent = 0;
    for (uint32_t k = 0; k < p->nmembers; k++) {
        uint64_t e;
        if (insts[k]->module->nmemories == 0 || insts[k]->memories[0] != mem)
            continue;
        int rc = instance_data_extent(insts[k], &e);
        if (rc != 0)
            return rc;
        if (e > extent)
            extent = e;
    }
    *out = extent;
    return 0;
}

/* Builds each extra memory's image from the memory as instantiation left it
 * (in `insts`). */
static int extra_images(struct spry_prepared *p, struct spry_instance *const *insts)
{
    for (uint32_t i = 0; i < p->nextra; i++) {
        struct prepared_extra_memory *x = &p->extra[i];
        const struct spry_memory *mem = insts[x->member]->memories[0];
        uint64_t extent;
        int rc = memory_extent(p, insts, mem, &extent);
        if (rc == 0)
            rc = image_init(&x->image, mem->base, mem->size, extent, IMAGE_COW_MIN_BYTES);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Gives the slot at least n extra reservations, each as large as its own. */
static int slot_reserve_extra(struct pool_slot *slot, uint32_t n)
{
    if (slot->nextra >= n)
        return 0;
    struct slot_memory *x = spry_realloc_array(slot->extra, n, sizeof *x);
    if (x == NULL)
        return SPRY_ENOMEM;
    slot->extra = x;
    size_t bytes = slot->pool->slot_bytes;
    while (slot->nextra < n) {
        void *base =
            mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (base == MAP_FAILED)
            return SPRY_ENOMEM;
        slot->extra[slot->nextra++] = (struct slot_memory){.base = base, .reserved = bytes};
    }
    return 0;
}

/* Puts a slot memory back to its image and `mem` (the instance's view of
 * it) back to the image's size. */
static int memory_reset(struct slot_memory *sm, struct spry_memory *mem, size_t keep_resident)
{
    int rc = slot_memory_reset(sm, mem->rw, keep_resident);
    if (rc == 0)
        memory_set_slack(mem, sm->loaded->initial, sm->rw);
    return rc;
}

/* ---- members' imports ----------------------------------------------------- */

/* The object behind export number `index` of an instance. */
static void export_of(const struct spry_instance *inst, uint32_t index, struct spry_extern *out)
{
    const struct wasm_export *e = &inst->module->exports[index];
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
}

static int prerun_refuse(void *user, struct spry_instance *caller, uint64_t *slots);

/* Creates member k's imports in `store`: host objects, or earlier members'
 * exports. refuse_host: every host function is prerun_refuse instead (the
 * trial instantiation, "Start functions run once" below). */
static int member_imports(struct spry_store *store, const struct spry_prepared *p, uint32_t k,
                          struct spry_instance *const *insts, struct spry_extern *imports,
                          bool refuse_host, struct spry_report *report)
{
    const struct prepared_member *m = &p->members[k];
    size_t n = spry_module_import_count(m->module);
    for (size_t i = 0; i < n; i++) {
        const struct spry_link_import *li = &m->imports[i];
        int rc = 0;
        switch (li->kind) {
        case SPRY_LINK_HOST_FUNC:
            imports[i].kind = SPRY_EXTERN_FUNC;
            rc = spry_func_new_host(
                store, &li->of.func->type, refuse_host ? prerun_refuse : li->of.func->fn,
                refuse_host ? (void *)store : li->of.func->user, &imports[i].of.func);
            break;
        case SPRY_LINK_HOST_GLOBAL:
            imports[i].kind = SPRY_EXTERN_GLOBAL;
            rc = spry_global_new(store, li->of.global->type, li->of.global->value,
                                 &imports[i].of.global);
            break;
        default:
            export_of(insts[li->of.exp.member], m->export_index[i], &imports[i]);
            break;
        }
        if (rc != 0)
            return spry_report_set(report, rc, "member %u: cannot create host import %zu", k, i);
    }
    return 0;
}

/* Instantiates every member in order into `store`; insts[] receives them.
 * where: NULL, or per member where its memory lives (memory_base NULL: an
 * ordinary memory); refuse_host: as member_imports. */
static int build_members(struct spry_store *store, const struct spry_prepared *p,
                         const struct instance_slot *where, bool refuse_host,
                         struct spry_instance **insts, struct spry_report *report)
{
    int rc = 0;
    for (uint32_t k = 0; k < p->nmembers && rc == 0; k++) {
        const struct prepared_member *m = &p->members[k];
        size_t nimports = spry_module_import_count(m->module);
        struct spry_extern *imports = spry_calloc(nimports + 1, sizeof *imports);
        if (imports == NULL)
            return spry_report_set(report, SPRY_ENOMEM, "pool: out of memory instantiating");
        rc = member_imports(store, p, k, insts, imports, refuse_host, report);
        if (rc == 0)
            rc = instance_build(store, m->module, imports, nimports,
                                where != NULL && where[k].memory_base != NULL ? &where[k] : NULL,
                                &insts[k], report);
        spry_free(imports);
        if (rc != 0 && p->nmembers > 1) {
            struct spry_report inner = *report;
            spry_report_init(report);
            spry_report_set(report, rc, "member %u: %s", k, inner.message);
        }
    }
    return rc;
}

/* ---- forwarders ------------------------------------------------------------- */

/*
 * A component made by wit-component binds the main module's preview-1
 * imports and the adapter's imports to functions of a "shim" module whose
 * bodies only forward: local.get 0 .. n-1, i32.const K, call_indirect T on
 * the shim's table, which a later "fixup" module fills with an active
 * element segment. With spry_link_options.bind_forwarders, the trial
 * instantiation finds every imported function of that shape whose element
 * is provably constant once the group is instantiated, and each
 * instantiation then binds the import to the element's function itself:
 *
 * - the body is exactly that sequence (n = the function's parameters, no
 *   declared locals) and T is the function's own type;
 * - no member's code may write the table: no member that has the table in
 *   its table space (defined, imported or imported again) contains
 *   table.set, table.grow, table.fill, table.copy into it or table.init
 *   into it; the embedder promised nothing else writes it, and every
 *   active segment has been applied before the binding;
 * - the element is a function (not null, inside the table) whose type is
 *   T: where call_indirect would trap, the import stays the forwarder, and
 *   the call traps as before.
 *
 * Under these conditions a call to the forwarder is a call to the element
 * with the same arguments and results, so the binding is not observable
 * except through the call depth (one frame less) and where a trap is
 * reported: a host function reached this way fails "in" the importer's
 * function that called it rather than in the forwarder. The binding is
 * checked again at each instantiation: the element must still be the
 * planned function (it is, instantiation being deterministic), else the
 * import stays the forwarder.
 */

/* Whether defined function fi of m is a forwarder; its table and element. */
static bool forwarder_of(const struct wasm_module *m, uint32_t fi, uint32_t *table, uint32_t *elem)
{
    const struct wasm_func *f = &m->funcs[fi];
    size_t end;
    if (f->imported || f->nlocals != 0 || f->type_index >= m->ntypes ||
        spry_add_overflow(f->body_offset, f->body_size, &end) || end > m->len ||
        f->expr_offset > end)
        return false;
    const struct wasm_functype *ft = &m->types[f->type_index];
    struct wasm_reader r = {m->bytes, m->bytes + f->expr_offset, m->bytes + end};
    uint8_t op;
    uint32_t x, type, tab;
    int32_t k;
    for (uint32_t i = 0; i < ft->nparams; i++) {
        if (reader_u8(&r, &op) != READER_OK || op != 0x20 /* local.get */ ||
            reader_u32(&r, &x) != READER_OK || x != i)
            return false;
    }
    if (reader_u8(&r, &op) != READER_OK || op != 0x41 /* i32.const */ ||
        reader_s32(&r, &k) != READER_OK)
        return false;
    if (reader_u8(&r, &op) != READER_OK || op != 0x11 /* call_indirect */ ||
        reader_u32(&r, &type) != READER_OK || reader_u32(&r, &tab) != READER_OK)
        return false;
    if (reader_u8(&r, &op) != READER_OK || op != 0x0b /* end */ || !reader_eof(&r))
        return false;
    if (type >= m->ntypes || tab >= m->ntables || m->types[type].type_id != ft->type_id)
        return false;
    *table = tab;
    *elem = (uint32_t)k;
    return true;
}

/* The member whose instance is inst, or nmembers. */
static uint32_t member_of(const struct spry_prepared *p, struct spry_instance *const *insts,
                          const struct spry_instance *inst)
{
    uint32_t k = 0;
    while (k < p->nmembers && insts[k] != inst)
        k++;
    return k;
}

/* Which tables member k's code may write (written: its ntables bytes),
 * scanning its bodies on first need (*done). */
static void member_table_writes(const struct wasm_module *m, uint8_t *written, bool *done)
{
    if (*done)
        return;
    *done = true;
    for (uint32_t i = m->num_imported_funcs; i < m->nfuncs; i++) {
        if (validate_table_writes(m, i, written) != 0) {
            memset(written, 1, m->ntables); /* cannot tell: assume every table */
            return;
        }
    }
}

/* Whether some member's code may write table t. */
static bool table_written(const struct spry_prepared *p, struct spry_instance *const *insts,
                          const struct spry_table *t, uint8_t **writes, bool *scanned)
{
    for (uint32_t k = 0; k < p->nmembers; k++) {
        const struct wasm_module *m = insts[k]->module;
        for (uint32_t x = 0; x < m->ntables; x++) {
            if (insts[k]->tables[x] != t)
                continue;
            member_table_writes(m, writes[k], &scanned[k]);
            if (writes[k][x])
                return true;
        }
    }
    return false;
}

/* Where func lives in the group: a member's defined function, or a host
 * function some member imports. */
static bool func_location(const struct spry_prepared *p, struct spry_instance *const *insts,
                          const struct spry_func *func, uint32_t *member, uint32_t *index)
{
    if (func->inst != NULL) {
        *member = member_of(p, insts, func->inst);
        *index = func->index;
        return *member < p->nmembers;
    }
    for (uint32_t k = 0; k < p->nmembers; k++) {
        for (uint32_t i = 0; i < insts[k]->module->num_imported_funcs; i++) {
            if (insts[k]->funcs[i] == func) {
                *member = k;
                *index = i;
                return true;
            }
        }
    }
    return false;
}

/* Finds the imports to bind, from the trial instances. */
static int plan_binds(struct spry_prepared *p, struct spry_instance *const *insts,
                      struct spry_report *report)
{
    uint8_t **writes = spry_calloc(p->nmembers, sizeof *writes);
    bool *scanned = spry_calloc(p->nmembers, sizeof *scanned);
    int rc = writes == NULL || scanned == NULL ? SPRY_ENOMEM : 0;
    for (uint32_t k = 0; k < p->nmembers && rc == 0; k++) {
        writes[k] = spry_calloc(insts[k]->module->ntables + 1, 1);
        if (writes[k] == NULL)
            rc = SPRY_ENOMEM;
    }
    for (uint32_t k = 0; k < p->nmembers && rc == 0; k++) {
        const struct spry_instance *inst = insts[k];
        for (uint32_t i = 0; i < inst->module->num_imported_funcs && rc == 0; i++) {
            const struct spry_func *f = inst->funcs[i];
            struct prepared_bind b = {.member = k, .func = i};
            if (f->def == NULL || !forwarder_of(f->inst->module, f->index, &b.table, &b.elem))
                continue;
            const struct spry_table *t = f->inst->tables[b.table];
            b.shim_member = member_of(p, insts, f->inst);
            if (b.shim_member == p->nmembers || b.elem >= t->size || t->elems[b.elem] == NULL)
                continue;
            const struct spry_func *target = t->elems[b.elem];
            if (target->type_id != f->type_id ||
                !func_location(p, insts, target, &b.target_member, &b.target_func) ||
                table_written(p, insts, t, writes, scanned))
                continue;
            struct prepared_bind *nb = spry_realloc_array(p->binds, p->nbinds + 1, sizeof *nb);
            if (nb == NULL) {
                rc = SPRY_ENOMEM;
                break;
            }
            p->binds = nb;
            p->binds[p->nbinds++] = b;
        }
    }
    for (uint32_t k = 0; writes != NULL && k < p->nmembers; k++)
        spry_free(writes[k]);
    spry_free(writes);
    spry_free(scanned);
    if (rc != 0)
        spry_report_set(report, rc, "out of memory preparing a module");
    return rc;
}

/* Binds the planned imports of a fresh instantiation. */
static void apply_binds(const struct spry_prepared *p, struct spry_instance *const *insts)
{
    for (uint32_t i = 0; i < p->nbinds; i++) {
        const struct prepared_bind *b = &p->binds[i];
        struct spry_func **slot = &insts[b->member]->funcs[b->func];
        const struct spry_table *t = insts[b->shim_member]->tables[b->table];
        struct spry_func *target = insts[b->target_member]->funcs[b->target_func];
        if (b->elem < t->size && t->elems[b->elem] == target && target->type_id == (*slot)->type_id)
            *slot = target;
    }
}

/* ---- start functions run once ------------------------------------------------ */

/*
 * A start function runs at every acquire, after the reset. When it calls
 * nothing outside the group, it is a deterministic function of the state
 * the reset restores (memories, globals, tables, dropped segments: the
 * same at every acquire) and of the store's limits (the same for every
 * slot), so it computes the same state every time. The trial instantiation
 * therefore runs every member's start function once, in order, and when
 * they all return, that state becomes what a slot's instance starts from
 * and resets to: each memory's image is taken after them (size included:
 * a start function may grow its memory), the globals' values, the dropped
 * segments and (when a start function wrote one) the tables are recorded
 * and written over each new instantiation before its snapshot, and acquire
 * runs no start function.
 *
 * The pre-run is abandoned, and start functions run at every acquire as
 * before, when:
 * - a start function calls a host function (WASI, a component's lowered
 *   import, anything the embedder supplied): in the trial every host import
 *   is prerun_refuse, which traps. A host call may have effects outside the
 *   instance or answer differently each time. Memories and tables can only
 *   come from members (resolve_member), and an imported host global is
 *   created in each store with the same value, so the group's state is all
 *   in the snapshot;
 * - anything traps, including a trap that would fail the acquire: the
 *   acquire then fails as it did, with the same message;
 * - it runs longer than PRERUN_BUDGET_MS (interrupted by a watchdog): an
 *   endless start function must not hang the preparation;
 * - a reference the start functions leave in a global or a table is not a
 *   function of the group (it always is: ref_encode), since references
 *   must be mapped from the trial store to each slot's.
 * What is left is plain wasm over the group's own state: the interpreter
 * computes it deterministically (no threads, no relaxed operations; NaN
 * bits are the same on every run of the same code), and a guest cannot
 * tell whether the state was computed now or at preparation. The only
 * differences are outside the guest: the start function's time and its
 * interruptibility at acquire.
 */

#define PRERUN_BUDGET_MS 200

static int prerun_refuse(void *user, struct spry_instance *caller, uint64_t *slots)
{
    (void)caller;
    (void)slots;
    return runtime_trap(user, SPRY_TRAP_HOST, "host call during a start function's pre-run");
}

/* Interrupts `store` once PRERUN_BUDGET_MS have passed unless done first. */
struct prerun_watch {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    struct spry_store *store;
};

static void *prerun_watchdog(void *arg)
{
    struct prerun_watch *w = arg;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += PRERUN_BUDGET_MS / 1000;
    until.tv_nsec += (long)(PRERUN_BUDGET_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->lock);
    while (!w->done) {
        if (pthread_cond_timedwait(&w->cond, &w->lock, &until) == ETIMEDOUT) {
            spry_store_interrupt(w->store);
            break;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Runs every member's start function in order under the watchdog: 0 when
 * they all returned. */
static int prerun_run(struct spry_store *store, struct spry_instance *const *insts, uint32_t n)
{
    struct prerun_watch w = {.done = false, .store = store};
    pthread_condattr_t attr;
    pthread_t thread;
    int rc = pthread_condattr_init(&attr);
    if (rc != 0)
        return SPRY_ENOMEM;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&w.cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        return SPRY_ENOMEM;
    pthread_mutex_init(&w.lock, NULL);
    if (pthread_create(&thread, NULL, prerun_watchdog, &w) != 0) {
        rc = SPRY_ENOMEM; /* nothing would bound it */
    } else {
        struct spry_report report;
        spry_report_init(&report);
        for (uint32_t k = 0; k < n && rc == 0; k++)
            rc = instance_run_start(insts[k], &report, NULL);
        pthread_mutex_lock(&w.lock);
        w.done = true;
        pthread_cond_signal(&w.cond);
        pthread_mutex_unlock(&w.lock);
        pthread_join(thread, NULL);
    }
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
    return rc;
}

/* The bytes of mem that hold anything but zeroes: up to the end of the
 * last granule marked written (and the spill past it, image.h). */
static uint64_t written_extent(const struct spry_memory *mem)
{
    size_t n = (size_t)(mem->size >> WRITTEN_SHIFT);
    while (n > 0 && mem->written[n - 1] == 0)
        n--;
    if (n == 0)
        return 0;
    uint64_t end = ((uint64_t)n << WRITTEN_SHIFT) + WRITTEN_SPILL;
    return end < mem->size ? end : mem->size;
}

/* The image of `mem` as it is now, into *out (fresh). */
static int prerun_image(const struct spry_prepared *p, struct spry_instance *const *insts,
                        const struct spry_memory *mem, struct memory_image *out)
{
    uint64_t extent, written = written_extent(mem);
    int rc = memory_extent(p, insts, mem, &extent);
    if (rc != 0)
        return rc;
    return image_init(out, mem->base, mem->size, written > extent ? written : extent,
                      IMAGE_COW_MIN_BYTES);
}

static void prerun_free(struct spry_prepared *p)
{
    for (uint32_t k = 0; p->members != NULL && k < p->nmembers; k++) {
        struct prepared_member *pm = &p->members[k];
        if (pm->start_table_elems != NULL) {
            uint32_t ntables = runtime_module(pm->module)->ntables;
            for (uint32_t x = 0; x < ntables; x++)
                spry_free(pm->start_table_elems[x]);
        }
        spry_free(pm->start_table_elems);
        spry_free(pm->start_table_sizes);
        spry_free(pm->start_globals);
        spry_free(pm->start_elem_dropped);
        spry_free(pm->start_data_dropped);
        pm->start_table_elems = NULL;
        pm->start_table_sizes = NULL;
        pm->start_globals = NULL;
        pm->start_elem_dropped = pm->start_data_dropped = NULL;
    }
    p->start_prerun = false;
}

/*
 * References. A funcref of the trial store is recorded as where the
 * function is in the group (func_location: a member's function, or a host
 * function a member imports), 1 + (member << 32 | index), 0 for null, and
 * found again in each slot's instances; the trial's host functions are
 * prerun_refuse, the slot's the real ones. An externref is the host's
 * pointer: inside the group it can only come from a host global, whose
 * value every store gets, so it is kept as it is.
 */
static int ref_encode(const struct spry_prepared *p, struct spry_instance *const *insts,
                      uint8_t type, uint64_t value, uint64_t *out)
{
    if (type != SPRY_FUNCREF || value == 0) {
        *out = value;
        return 0;
    }
    uint32_t member, index;
    if (!func_location(p, insts, (const struct spry_func *)(uintptr_t)value, &member, &index))
        return SPRY_EINVAL;
    *out = 1 + ((uint64_t)member << 32 | index);
    return 0;
}

static uint64_t ref_decode(struct spry_instance *const *insts, uint8_t type, uint64_t code)
{
    if (type != SPRY_FUNCREF || code == 0)
        return code;
    code--;
    return (uint64_t)(uintptr_t)insts[code >> 32]->funcs[(uint32_t)code];
}

/* Records member k's globals, dropped segments and (tables: when one was
 * written since instantiation) tables as they are now. */
static int prerun_record(const struct spry_prepared *p, struct spry_instance *const *insts,
                         uint32_t k, bool tables)
{
    struct prepared_member *pm = &p->members[k];
    const struct spry_instance *inst = insts[k];
    const struct wasm_module *m = inst->module;
    pm->start_globals = spry_alloc_array(m->nglobals + 1, sizeof *pm->start_globals);
    pm->start_elem_dropped = spry_malloc(m->nelems + 1);
    pm->start_data_dropped = spry_malloc(m->ndatas + 1);
    if (pm->start_globals == NULL || pm->start_elem_dropped == NULL ||
        pm->start_data_dropped == NULL)
        return SPRY_ENOMEM;
    for (uint32_t i = 0; i < m->nglobals; i++) {
        const struct spry_global *g = inst->globals[i];
        int rc = ref_encode(p, insts, g->type.type, g->value, &pm->start_globals[i]);
        if (rc != 0)
            return rc;
    }
    memcpy(pm->start_elem_dropped, inst->elem_dropped, m->nelems);
    memcpy(pm->start_data_dropped, inst->data_dropped, m->ndatas);
    if (!tables)
        return 0;
    pm->start_table_sizes = spry_calloc(m->ntables + 1, sizeof *pm->start_table_sizes);
    pm->start_table_elems = spry_calloc(m->ntables + 1, sizeof *pm->start_table_elems);
    if (pm->start_table_sizes == NULL || pm->start_table_elems == NULL)
        return SPRY_ENOMEM;
    for (uint32_t x = 0; x < m->ntables; x++) {
        const struct spry_table *t = inst->tables[x];
        pm->start_table_sizes[x] = t->size;
        pm->start_table_elems[x] = spry_alloc_array(t->size + 1, sizeof(uint64_t));
        if (pm->start_table_elems[x] == NULL)
            return SPRY_ENOMEM;
        for (uint32_t e = 0; e < t->size; e++) {
            int rc = ref_encode(p, insts, t->type.elem, (uint64_t)(uintptr_t)t->elems[e],
                                &pm->start_table_elems[x][e]);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/* Tries the pre-run on the trial instances (their host imports refuse);
 * on success p->start_prerun is set and p's images are the memories after
 * the start functions. Never fails: any problem leaves p as it was. */
static void prerun_starts(struct spry_prepared *p, struct spry_instance *const *insts)
{
    bool any = false;
    for (uint32_t k = 0; k < p->nmembers; k++)
        any = any || insts[k]->module->has_start;
    if (!any)
        return;
    apply_binds(p, insts); /* the calls take the paths a slot's instance takes */
    for (uint32_t k = 0; k < p->nmembers; k++)
        for (uint32_t t = 0; t < insts[k]->module->ntables; t++)
            insts[k]->tables[t]->dirty = false;
    int rc = prerun_run(insts[0]->store, insts, p->nmembers);
    /* Tables are recorded only when a start function wrote one (each new
     * instantiation builds them as the trial's were before). */
    bool tables = false;
    for (uint32_t k = 0; k < p->nmembers; k++)
        for (uint32_t t = 0; t < insts[k]->module->ntables; t++)
            tables = tables || insts[k]->tables[t]->dirty;
    for (uint32_t k = 0; k < p->nmembers && rc == 0; k++)
        rc = prerun_record(p, insts, k, tables);
    /* The new images, replacing the old ones only once all exist. */
    struct memory_image main_image = {.fd = -1};
    struct memory_image *extra = spry_calloc(p->nextra + 1, sizeof *extra);
    if (extra == NULL)
        rc = SPRY_ENOMEM;
    for (uint32_t i = 0; i <= p->nextra && extra != NULL; i++)
        extra[i].fd = -1;
    if (rc == 0 && p->has_memory)
        rc = prerun_image(p, insts, insts[p->memory_member]->memories[0], &main_image);
    for (uint32_t i = 0; i < p->nextra && rc == 0; i++)
        rc = prerun_image(p, insts, insts[p->extra[i].member]->memories[0], &extra[i]);
    if (rc != 0) {
        image_fini(&main_image);
        for (uint32_t i = 0; i < p->nextra && extra != NULL; i++)
            image_fini(&extra[i]);
        spry_free(extra);
        prerun_free(p);
        return;
    }
    if (p->has_memory) {
        image_fini(&p->image);
        p->image = main_image;
    }
    for (uint32_t i = 0; i < p->nextra; i++) {
        image_fini(&p->extra[i].image);
        p->extra[i].image = extra[i];
    }
    spry_free(extra);
    p->start_prerun = true;
}

/* Gives a slot's fresh instances the state the start functions left in
 * the trial: memory sizes (their images are loaded already), globals,
 * dropped segments, tables. */
static int prerun_apply(const struct spry_prepared *p, struct pool_slot *slot)
{
    struct spry_instance *const *insts = slot->insts;
    if (p->has_memory)
        memory_set_slack(insts[p->memory_member]->memories[0], p->image.initial, slot->mem.rw);
    for (uint32_t i = 0; i < p->nextra; i++)
        memory_set_slack(insts[p->extra[i].member]->memories[0], p->extra[i].image.initial,
                         slot->extra[i].rw);
    for (uint32_t k = 0; k < p->nmembers; k++) {
        const struct prepared_member *pm = &p->members[k];
        struct spry_instance *inst = insts[k];
        const struct wasm_module *m = inst->module;
        for (uint32_t i = 0; i < m->nglobals; i++) {
            struct spry_global *g = inst->globals[i];
            g->value = ref_decode(insts, g->type.type, pm->start_globals[i]);
        }
        memcpy(inst->elem_dropped, pm->start_elem_dropped, m->nelems);
        memcpy(inst->data_dropped, pm->start_data_dropped, m->ndatas);
        for (uint32_t x = 0; pm->start_table_sizes != NULL && x < m->ntables; x++) {
            struct spry_table *t = inst->tables[x];
            uint32_t size = pm->start_table_sizes[x];
            /* A table only grows (the trial grew it within the same limits). */
            if (size > t->size && table_grow(t, size - t->size, NULL) < 0)
                return SPRY_ENOMEM;
            for (uint32_t e = 0; e < size; e++)
                t->elems[e] =
                    (void *)(uintptr_t)ref_decode(insts, t->type.elem, pm->start_table_elems[x][e]);
        }
    }
    return 0;
}

/* ---- slots ------------------------------------------------------------------ */

static void slot_members_free(struct pool_slot *slot, const struct spry_prepared *owner)
{
    if (slot->snaps != NULL) {
        for (uint32_t k = 0; k < owner->nmembers; k++)
            if (slot->insts[k] != NULL)
                snapshot_free(&slot->snaps[k], slot->insts[k]->module->ntables);
    }
    if (slot->user != NULL && owner->slot_data_free != NULL)
        owner->slot_data_free(slot->user);
    slot->user = NULL;
    spry_free(slot->snaps);
    spry_free(slot->insts);
    slot->snaps = NULL;
    slot->insts = NULL;
    slot->inst = NULL;
}

/* The wipe of a slot memory must cover every page its memory grew into. */
static void cover_growth(struct slot_memory *sm, const struct spry_instance *inst)
{
    if (inst != NULL && inst->memories[0]->rw > sm->rw)
        sm->rw = (size_t)inst->memories[0]->rw;
}

void prepared_evict(struct pool_slot *slot)
{
    const struct spry_prepared *p = slot->owner;
    if (p != NULL && slot->insts != NULL) {
        if (p->has_memory)
            cover_growth(&slot->mem, slot->insts[p->memory_member]);
        for (uint32_t i = 0; i < p->nextra && i < slot->nextra; i++)
            cover_growth(&slot->extra[i], slot->insts[p->extra[i].member]);
    }
    if (slot->owner != NULL)
        slot_members_free(slot, slot->owner);
    if (slot->store != NULL)
        runtime_store_clear(slot->store);
    slot_memory_wipe(&slot->mem);
    for (uint32_t i = 0; i < slot->nextra; i++)
        slot_memory_wipe(&slot->extra[i]);
    slot->owner = NULL;
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
    if (slot_reserve_extra(slot, prepared->nextra) != 0)
        return spry_report_set(report, SPRY_ENOMEM,
                               "pool: cannot reserve address space for %u more memories",
                               prepared->nextra);
    for (uint32_t i = 0; i < prepared->nextra; i++)
        if (slot_memory_load(&slot->extra[i], &prepared->extra[i].image) != 0)
            return spry_report_set(report, SPRY_ENOMEM,
                                   "pool: cannot map the image of member %u's memory",
                                   prepared->extra[i].member);
    /* The owner is set first so that a failure below frees through it. */
    slot->owner = prepared;
    slot->insts = spry_calloc(prepared->nmembers, sizeof *slot->insts);
    slot->snaps = spry_calloc(prepared->nmembers, sizeof *slot->snaps);
    struct instance_slot *where = spry_calloc(prepared->nmembers, sizeof *where);
    if (slot->insts == NULL || slot->snaps == NULL || where == NULL) {
        spry_free(where);
        return spry_report_set(report, SPRY_ENOMEM, "pool: out of memory instantiating");
    }
    if (prepared->has_memory)
        where[prepared->memory_member] =
            (struct instance_slot){slot->mem.base, slot->mem.reserved, true, slot->mem.written};
    for (uint32_t i = 0; i < prepared->nextra; i++)
        where[prepared->extra[i].member] = (struct instance_slot){
            slot->extra[i].base, slot->extra[i].reserved, true, slot->extra[i].written};
    int rc = build_members(slot->store, prepared, where, false, slot->insts, report);
    spry_free(where);
    if (rc == 0)
        apply_binds(prepared, slot->insts);
    if (rc == 0 && prepared->start_prerun) {
        rc = prerun_apply(prepared, slot);
        if (rc != 0)
            spry_report_set(report, rc, "pool: out of memory instantiating");
    }
    for (uint32_t k = 0; k < prepared->nmembers && rc == 0; k++) {
        slot->insts[k]->pool_slot = slot;
        rc = snapshot_take(&slot->snaps[k], slot->insts[k]);
        if (rc != 0)
            spry_report_set(report, rc, "pool: out of memory instantiating");
    }
    if (rc != 0)
        return rc;
    slot->inst = slot->insts[0];
    return 0;
}

int prepared_reset(struct pool_slot *slot)
{
    const struct spry_prepared *p = slot->owner;
    size_t keep = slot->pool->config.keep_resident_bytes;
    if (p->has_memory) {
        int rc = memory_reset(&slot->mem, slot->insts[p->memory_member]->memories[0], keep);
        if (rc != 0)
            return rc;
    }
    /* Each memory on its own: its image, its written pages, its budget. */
    for (uint32_t i = 0; i < p->nextra; i++) {
        int rc = memory_reset(&slot->extra[i], slot->insts[p->extra[i].member]->memories[0], keep);
        if (rc != 0)
            return rc;
    }
    for (uint32_t k = 0; k < p->nmembers; k++)
        snapshot_restore(&slot->snaps[k], slot->insts[k]);
    runtime_store_reset(slot->store);
    return 0;
}

/* ---- prepared groups -------------------------------------------------------- */

/* Instantiates once in a scratch store to check that instantiation works
 * and to capture the initial memory as the image. */
static int build_image(struct spry_prepared *p, struct spry_report *report)
{
    struct spry_store *store;
    if (spry_store_create(&p->pool->limits, &store) != 0)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory preparing a module");
    struct spry_instance **insts = spry_calloc(p->nmembers, sizeof *insts);
    int rc = insts == NULL ? spry_report_set(report, SPRY_ENOMEM, "out of memory") : 0;
    if (rc == 0)
        rc = build_members(store, p, NULL, true, insts, report);
    if (rc == 0 && p->bind_forwarders)
        rc = plan_binds(p, insts, report);
    if (rc == 0 && p->has_memory) {
        const struct spry_memory *mem = insts[p->memory_member]->memories[0];
        uint64_t extent;
        rc = memory_extent(p, insts, mem, &extent);
        if (rc == 0)
            rc = image_init(&p->image, mem->base, mem->size, extent, IMAGE_COW_MIN_BYTES);
        if (rc != 0)
            spry_report_set(report, rc, "cannot build the initial memory image");
    }
    if (rc == 0) {
        rc = extra_images(p, insts);
        if (rc != 0)
            spry_report_set(report, rc, "cannot build the image of a member's memory");
    }
    if (rc == 0)
        prerun_starts(p, insts);
    spry_free(insts);
    spry_store_destroy(store);
    return rc;
}

static void prepared_free(struct spry_prepared *p)
{
    if (p->members != NULL) {
        for (uint32_t k = 0; k < p->nmembers; k++) {
            spry_free(p->members[k].imports);
            spry_free(p->members[k].export_index);
        }
    }
    image_fini(&p->image);
    for (uint32_t i = 0; i < p->nextra; i++)
        image_fini(&p->extra[i].image);
    spry_free(p->extra);
    spry_free(p->binds);
    prerun_free(p);
    spry_free(p->members);
    spry_free(p);
}

static const char *kind_name(uint8_t kind)
{
    return kind == SPRY_EXTERN_FUNC     ? "function"
           : kind == SPRY_EXTERN_TABLE  ? "table"
           : kind == SPRY_EXTERN_MEMORY ? "memory"
                                        : "global";
}

/* Finds where member k's export-sourced imports come from; finds the
 * memory. Types are checked by the trial instantiation. */
static int resolve_member(struct spry_prepared *p, uint32_t k, struct spry_report *report)
{
    struct prepared_member *m = &p->members[k];
    const struct wasm_module *wm = runtime_module(m->module);
    for (uint32_t i = 0; i < wm->nimports; i++) {
        const struct spry_link_import *li = &m->imports[i];
        struct spry_externtype imp;
        spry_module_import(m->module, i, &imp);
        bool ok = (li->kind == SPRY_LINK_HOST_FUNC && imp.kind == SPRY_EXTERN_FUNC &&
                   li->of.func != NULL) ||
                  (li->kind == SPRY_LINK_HOST_GLOBAL && imp.kind == SPRY_EXTERN_GLOBAL &&
                   li->of.global != NULL) ||
                  li->kind == SPRY_LINK_EXPORT;
        if (!ok)
            return spry_report_set(report, SPRY_EUNLINKABLE,
                                   "member %u: import %.*s.%.*s (%s) is given no matching source",
                                   k, (int)imp.module_len, imp.module, (int)imp.name_len, imp.name,
                                   kind_name(imp.kind));
        if (li->kind != SPRY_LINK_EXPORT)
            continue;
        if (li->of.exp.member >= k)
            return spry_report_set(
                report, SPRY_EINVAL,
                "member %u: import %.*s.%.*s names member %u, not an earlier one", k,
                (int)imp.module_len, imp.module, (int)imp.name_len, imp.name, li->of.exp.member);
        const struct wasm_module *src = runtime_module(p->members[li->of.exp.member].module);
        uint32_t e = 0;
        while (e < src->nexports &&
               !(src->exports[e].name_len == li->of.exp.name_len &&
                 memcmp(src->exports[e].name, li->of.exp.name, li->of.exp.name_len) == 0))
            e++;
        if (e == src->nexports || src->exports[e].kind != imp.kind)
            return spry_report_set(report, SPRY_EUNLINKABLE,
                                   "member %u: import %.*s.%.*s: member %u has no %s export %.*s",
                                   k, (int)imp.module_len, imp.module, (int)imp.name_len, imp.name,
                                   li->of.exp.member, kind_name(imp.kind), (int)li->of.exp.name_len,
                                   li->of.exp.name);
        m->export_index[i] = e;
    }
    if (wm->nmemories > wm->num_imported_memories) {
        if (p->memory_member < 0) {
            p->memory_member = (int32_t)k;
            return 0;
        }
        struct prepared_extra_memory *x =
            spry_realloc_array(p->extra, p->nextra + 1, sizeof *p->extra);
        if (x == NULL)
            return spry_report_set(report, SPRY_ENOMEM, "out of memory");
        p->extra = x;
        p->extra[p->nextra++] = (struct prepared_extra_memory){.member = k, .image.fd = -1};
    }
    return 0;
}

/* Checks the memory's minimum against the per-instance cap. */
static int check_memory_cap(const struct spry_pool *pool, const struct spry_module *module,
                            struct spry_report *report)
{
    const struct wasm_module *m = runtime_module(module);
    if (m->nmemories == 0 || m->num_imported_memories > 0)
        return 0;
    uint64_t need = m->memories[0].limits.min * WASM_PAGE_SIZE;
    if (need <= pool->config.max_memory_bytes)
        return 0;
    return spry_report_set(report, SPRY_EEXHAUSTED,
                           "memory 0 needs %llu pages (%llu bytes) at instantiation, "
                           "above the per-instance cap of %llu bytes",
                           (unsigned long long)m->memories[0].limits.min, (unsigned long long)need,
                           (unsigned long long)pool->config.max_memory_bytes);
}

int spry_prepared_create_linked(struct spry_pool *pool, const struct spry_link_member *members,
                                size_t nmembers, const struct spry_link_options *options,
                                struct spry_prepared **out, struct spry_report *report)
{
    if (nmembers == 0 || nmembers > UINT32_MAX / 2)
        return spry_report_set(report, SPRY_EINVAL, "a linked group needs 1 or more members");
    struct spry_prepared *p = spry_calloc(1, sizeof *p);
    if (p == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory preparing a module");
    p->pool = pool;
    p->image.fd = -1;
    p->memory_member = -1;
    p->slot_data_free = options != NULL ? options->slot_data_free : NULL;
    p->bind_forwarders = options != NULL && options->bind_forwarders;
    p->members = spry_calloc(nmembers, sizeof *p->members);
    int rc = p->members == NULL ? spry_report_set(report, SPRY_ENOMEM, "out of memory") : 0;
    if (rc == 0)
        p->nmembers = (uint32_t)nmembers;
    for (uint32_t k = 0; k < p->nmembers && rc == 0; k++) {
        struct prepared_member *m = &p->members[k];
        size_t n = spry_module_import_count(members[k].module);
        m->module = members[k].module;
        m->imports = spry_alloc_array(n + 1, sizeof *m->imports);
        m->export_index = spry_calloc(n + 1, sizeof *m->export_index);
        if (m->imports == NULL || m->export_index == NULL) {
            rc = spry_report_set(report, SPRY_ENOMEM, "out of memory");
            break;
        }
        if (n > 0)
            memcpy(m->imports, members[k].imports, n * sizeof *m->imports);
        rc = check_memory_cap(pool, m->module, report);
        if (rc == 0)
            rc = resolve_member(p, k, report);
    }
    p->has_memory = p->memory_member >= 0;
    if (rc == 0)
        rc = build_image(p, report);
    if (rc != 0) {
        prepared_free(p);
        return rc;
    }
    pool_register_prepared(pool);
    *out = p;
    return 0;
}

int spry_prepared_create(struct spry_pool *pool, const struct spry_module *module,
                         const struct spry_host_def *funcs, size_t nfuncs,
                         const struct spry_host_global *globals, size_t nglobals,
                         struct spry_prepared **out, struct spry_report *report)
{
    int rc = check_memory_cap(pool, module, report);
    if (rc != 0)
        return rc;
    size_t n = spry_module_import_count(module);
    const void **resolved = spry_calloc(n + 1, sizeof *resolved);
    struct spry_link_import *imports = spry_calloc(n + 1, sizeof *imports);
    rc = resolved == NULL || imports == NULL ? spry_report_set(report, SPRY_ENOMEM, "out of memory")
                                             : 0;
    if (rc == 0)
        rc = link_resolve(module, funcs, nfuncs, globals, nglobals, resolved, report);
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct spry_externtype imp;
        spry_module_import(module, i, &imp);
        imports[i].kind =
            imp.kind == SPRY_EXTERN_FUNC ? SPRY_LINK_HOST_FUNC : SPRY_LINK_HOST_GLOBAL;
        if (imp.kind == SPRY_EXTERN_FUNC)
            imports[i].of.func = resolved[i];
        else
            imports[i].of.global = resolved[i];
    }
    struct spry_link_member member = {module, imports};
    if (rc == 0)
        rc = spry_prepared_create_linked(pool, &member, 1, NULL, out, report);
    spry_free(imports);
    spry_free(resolved);
    return rc;
}

void spry_prepared_destroy(struct spry_prepared *prepared)
{
    if (prepared == NULL)
        return;
    pool_unregister_prepared(prepared->pool, prepared);
    prepared_free(prepared);
}

struct spry_instance *spry_pool_member(const struct spry_instance *inst, uint32_t k)
{
    const struct pool_slot *s = inst->pool_slot;
    if (s == NULL || s->owner == NULL || k >= s->owner->nmembers)
        return NULL;
    return s->insts[k];
}

void *spry_pool_slot_data(const struct spry_instance *inst)
{
    return inst->pool_slot != NULL ? inst->pool_slot->user : NULL;
}

void spry_pool_set_slot_data(struct spry_instance *inst, void *data)
{
    struct pool_slot *s = inst->pool_slot;
    SPRY_ASSERT(s != NULL && s->in_use);
    if (s->user != NULL && s->user != data && s->owner->slot_data_free != NULL)
        s->owner->slot_data_free(s->user);
    s->user = data;
}

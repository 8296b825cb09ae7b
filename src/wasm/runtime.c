/*
 * The embedding API (include/spry/wasm.h): modules, stores, host functions,
 * tables and globals, and calls. Instantiation lives in instance.c, memories
 * in memory.c, execution in interp.c.
 */
#include "wasm/runtime.h"

#include "base/alloc.h"
#include "base/log.h"
#include "wasm/decode.h"
#include "wasm/interp.h"
#include "wasm/native.h"
#include "wasm/translate.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

struct spry_module {
    struct wasm_module *m;
};

const struct wasm_module *runtime_module(const struct spry_module *module)
{
    return module->m;
}

/* ---- modules ------------------------------------------------------------ */

/* Loads the native tier's code for m; a failure (say, no C compiler) only
 * leaves the module interpreted, and is logged once per process as a
 * warning (later ones at debug level). */
static void native_attach(struct wasm_module *m)
{
    static atomic_bool warned;
    struct spry_report report;
    spry_report_init(&report);
    struct native_module *nm;
    if (native_module_load(m, &nm, &report) == 0) {
        m->native = nm;
        spry_log(SPRY_LOG_DEBUG, "native: %u of %u defined functions compiled",
                 nm != NULL ? nm->ncompiled : 0, m->nfuncs - m->num_imported_funcs);
        return;
    }
    bool first = !atomic_exchange(&warned, true);
    spry_log(first ? SPRY_LOG_WARN : SPRY_LOG_DEBUG, "%s; running interpreted", report.message);
}

int spry_module_load(const uint8_t *bytes, size_t len, const struct spry_module_options *options,
                     struct spry_module **out, struct spry_report *report)
{
    size_t max = options != NULL && options->max_bytes != 0 ? options->max_bytes : (size_t)1 << 30;
    if (len > max)
        return spry_report_set(report, SPRY_ETOOBIG, "module of %zu bytes exceeds the limit of %zu",
                               len, max);
    struct spry_module *module = spry_calloc(1, sizeof *module);
    uint8_t *copy = spry_malloc(len);
    if (module == NULL || copy == NULL) {
        spry_free(module);
        spry_free(copy);
        return spry_report_set(report, SPRY_ENOMEM, "out of memory loading a module");
    }
    if (len > 0)
        memcpy(copy, bytes, len);
    int rc = decode_module(copy, len, &module->m, report);
    if (rc == 0)
        rc = validate_module(module->m, report);
    if (rc != 0) {
        if (module->m != NULL)
            module_free(module->m);
        spry_free(module);
        return rc;
    }
    if ((options != NULL && options->native) || native_env_enabled())
        native_attach(module->m);
    *out = module;
    return 0;
}

void spry_module_destroy(struct spry_module *module)
{
    if (module == NULL)
        return;
    struct wasm_module *m = module->m;
    for (uint32_t i = m->num_imported_funcs; i < m->nfuncs; i++) {
        translate_free(atomic_load(&m->funcs[i].code));
        translate_free(atomic_load(&m->funcs[i].code_checked));
    }
    native_module_free(m->native);
    module_free(m);
    spry_free(module);
}

size_t spry_module_import_count(const struct spry_module *module)
{
    return module->m->nimports;
}

void spry_module_import(const struct spry_module *module, size_t index, struct spry_externtype *out)
{
    module_import_desc(module->m, index, out);
}

size_t spry_module_export_count(const struct spry_module *module)
{
    return module->m->nexports;
}

void spry_module_export(const struct spry_module *module, size_t index, struct spry_externtype *out)
{
    module_export_desc(module->m, index, out);
}

int spry_module_translate_all(struct spry_module *module, struct spry_report *report)
{
    struct wasm_module *m = module->m;
    for (uint32_t i = m->num_imported_funcs; i < m->nfuncs; i++) {
        if (atomic_load(&m->funcs[i].code) != NULL)
            continue;
        struct interp_code *code;
        int rc = translate_func(m, i, interp_handlers(), &code, report);
        if (rc != 0)
            return rc;
        struct interp_code *expected = NULL;
        if (!atomic_compare_exchange_strong(&m->funcs[i].code, &expected, code))
            translate_free(code);
    }
    return 0;
}

/* ---- object lists -------------------------------------------------------- */

int runtime_list_add(struct runtime_list *list, void *item)
{
    if (list->count == list->cap) {
        size_t cap = list->cap < 8 ? 8 : list->cap * 2;
        void **items = spry_realloc_array(list->items, cap, sizeof *items);
        if (items == NULL)
            return SPRY_ENOMEM;
        list->items = items;
        list->cap = cap;
    }
    list->items[list->count++] = item;
    return 0;
}

static void list_fini(struct runtime_list *list, void (*free_item)(void *))
{
    for (size_t i = 0; i < list->count; i++)
        free_item(list->items[i]);
    spry_free(list->items);
    memset(list, 0, sizeof *list);
}

/* ---- stores ------------------------------------------------------------ */

int spry_store_create(const struct spry_store_limits *limits, struct spry_store **out)
{
    struct spry_store *store = spry_calloc(1, sizeof *store);
    if (store == NULL)
        return SPRY_ENOMEM;
    if (limits != NULL)
        store->limits = *limits;
    if (store->limits.max_memory_bytes == 0 ||
        store->limits.max_memory_bytes > (uint64_t)WASM_MAX_PAGES * WASM_PAGE_SIZE)
        store->limits.max_memory_bytes = (uint64_t)WASM_MAX_PAGES * WASM_PAGE_SIZE;
    if (store->limits.max_call_depth == 0)
        store->limits.max_call_depth = 10000;
    if (store->limits.max_stack_slots == 0)
        store->limits.max_stack_slots = 1u << 20;
    if (store->limits.max_table_elems == 0 || store->limits.max_table_elems > UINT32_MAX)
        store->limits.max_table_elems = WASM_MAX_TABLE_ELEMS;
    store->stack_slots = store->limits.max_stack_slots;
    store->stack = spry_alloc_array(store->stack_slots, sizeof *store->stack);
    store->frames =
        spry_alloc_array((size_t)store->limits.max_call_depth + 1, sizeof *store->frames);
    if (store->stack == NULL || store->frames == NULL) {
        spry_free(store->stack);
        spry_free(store->frames);
        spry_free(store);
        return SPRY_ENOMEM;
    }
    atomic_init(&store->interrupt, 0);
    store->trap.func_index = UINT32_MAX;
    *out = store;
    return 0;
}

static void free_func(void *p)
{
    struct spry_func *f = p;
    spry_free(f->host_type.types);
    spry_free(f);
}

static void free_memory(void *p)
{
    memory_free(p);
}

static void free_table(void *p)
{
    struct spry_table *t = p;
    spry_free(t->elems);
    spry_free(t);
}

static void free_instance(void *p)
{
    instance_free(p);
}

void runtime_store_clear(struct spry_store *store)
{
    list_fini(&store->instances, free_instance);
    list_fini(&store->funcs, free_func);
    list_fini(&store->memories, free_memory);
    list_fini(&store->tables, free_table);
    list_fini(&store->globals, spry_free);
    runtime_store_reset(store);
}

/* Makes the store's trap record empty. Every writer of it sets `kind`
 * (runtime_trap, spry_store_set_exit) or `func_index` (locate_trap) before
 * anything else, so a record with neither holds nothing to clear, and the
 * 400-byte clear (an inline `rep stos`, which costs tens of cycles to
 * start) is skipped: at every outermost call and every pool reset. */
static void trap_clear(struct spry_trap *t)
{
    if (t->kind == SPRY_TRAP_NONE && t->func_index == UINT32_MAX)
        return;
    memset(t, 0, sizeof *t);
    t->func_index = UINT32_MAX;
}

void runtime_trap_forget(struct spry_store *store, struct spry_instance *caller)
{
    trap_clear(&store->trap);
    if (caller != NULL)
        caller->trap_message[0] = '\0';
}

void runtime_store_reset(struct spry_store *store)
{
    trap_clear(&store->trap);
    store->sp = 0;
    store->depth = 0;
    store->cur_func = NULL;
    memset(store->data, 0, sizeof store->data);
    atomic_store_explicit(&store->interrupt, 0, memory_order_relaxed);
}

void spry_store_destroy(struct spry_store *store)
{
    if (store == NULL)
        return;
    runtime_store_clear(store);
    spry_free(store->stack);
    spry_free(store->frames);
    spry_free(store);
}

void spry_store_interrupt(struct spry_store *store)
{
    atomic_store_explicit(&store->interrupt, 1, memory_order_relaxed);
}

void spry_store_clear_interrupt(struct spry_store *store)
{
    atomic_store_explicit(&store->interrupt, 0, memory_order_relaxed);
}

int spry_store_check_interrupt(struct spry_store *store)
{
    if (!atomic_load_explicit(&store->interrupt, memory_order_relaxed))
        return 0;
    return runtime_trap(store, SPRY_TRAP_INTERRUPTED, NULL);
}

void spry_store_set_exit(struct spry_store *store, int code)
{
    if (store->trap.kind != SPRY_TRAP_NONE)
        return;
    store->trap.kind = SPRY_TRAP_EXIT;
    store->trap.exit_code = code;
    snprintf(store->trap.message, sizeof store->trap.message, "exit with code %d", code);
}

void spry_store_set_data(struct spry_store *store, unsigned key, void *data)
{
    if (key < SPRY_STORE_DATA_KEYS)
        store->data[key] = data;
}

void *spry_store_data(const struct spry_store *store, unsigned key)
{
    return key < SPRY_STORE_DATA_KEYS ? store->data[key] : NULL;
}

int runtime_trap(struct spry_store *store, int kind, const char *message)
{
    if (store->trap.kind == SPRY_TRAP_NONE) {
        store->trap.kind = kind;
        snprintf(store->trap.message, sizeof store->trap.message, "%s",
                 message != NULL ? message : spry_trap_kind_text(kind));
    }
    return SPRY_ETRAP;
}

const char *spry_trap_kind_text(int kind)
{
    switch (kind) {
#define TRAP_TEXT(name, text) \
    case SPRY_TRAP_##name:    \
        return text;
        SPRY_TRAP_LIST(TRAP_TEXT)
#undef TRAP_TEXT
    }
    return "unknown trap";
}

/* ---- host functions ---------------------------------------------------- */

int spry_func_new_host(struct spry_store *store, const struct spry_functype *type, spry_host_fn fn,
                       void *user, struct spry_func **out)
{
    if (type->nparams > WASM_MAX_PARAMS || type->nresults > WASM_MAX_RESULTS || fn == NULL)
        return SPRY_EINVAL;
    struct spry_func *f = spry_calloc(1, sizeof *f);
    uint8_t *types = spry_malloc((size_t)type->nparams + type->nresults);
    if (f == NULL || types == NULL) {
        spry_free(f);
        spry_free(types);
        return SPRY_ENOMEM;
    }
    if (type->nparams > 0)
        memcpy(types, type->params, type->nparams);
    if (type->nresults > 0)
        memcpy(types + type->nparams, type->results, type->nresults);
    f->host_type.nparams = type->nparams;
    f->host_type.nresults = type->nresults;
    f->host_type.types = types;
    f->host_type.type_id = functype_intern(types, type->nparams, type->nresults);
    if (f->host_type.type_id == 0 || runtime_list_add(&store->funcs, f) != 0) {
        free_func(f);
        return SPRY_ENOMEM;
    }
    f->type = &f->host_type;
    f->type_id = f->host_type.type_id;
    runtime_func_init_api_type(f);
    f->store = store;
    f->host = fn;
    f->host_user = user;
    f->index = UINT32_MAX;
    *out = f;
    return 0;
}

void runtime_func_init_api_type(struct spry_func *f)
{
    f->api_type.nparams = f->type->nparams;
    f->api_type.nresults = f->type->nresults;
    f->api_type.params = f->type->types;
    f->api_type.results = f->type->types + f->type->nparams;
}

const struct spry_functype *spry_func_type(const struct spry_func *func)
{
    return &func->api_type;
}

/* ---- calls ---------------------------------------------------------------- */

static uint64_t val_to_slot(const struct spry_val *v)
{
    switch (v->type) {
    case SPRY_I32:
        return (uint32_t)v->of.i32;
    case SPRY_I64:
        return (uint64_t)v->of.i64;
    case SPRY_F32:
        return v->of.f32_bits;
    case SPRY_F64:
        return v->of.f64_bits;
    default:
        return (uint64_t)(uintptr_t)v->of.ref;
    }
}

void runtime_slot_to_val(uint8_t type, uint64_t slot, struct spry_val *out)
{
    memset(out, 0, sizeof *out);
    out->type = type;
    switch (type) {
    case SPRY_I32:
        out->of.i32 = (int32_t)(uint32_t)slot;
        break;
    case SPRY_I64:
        out->of.i64 = (int64_t)slot;
        break;
    case SPRY_F32:
        out->of.f32_bits = (uint32_t)slot;
        break;
    case SPRY_F64:
        out->of.f64_bits = slot;
        break;
    default:
        out->of.ref = (void *)(uintptr_t)slot;
        break;
    }
}

int runtime_call(struct spry_store *store, struct spry_func *func, uint64_t *slots,
                 struct spry_trap *trap)
{
    bool outermost = store->depth == 0;
    if (outermost) {
        trap_clear(&store->trap);
        store->sp = 0;
    }
    /* Every activation is entered through here, so one running on this
     * thread (a host function calling back into wasm) means the handler and
     * this thread's signal stack are in place already. */
    int rc;
    if (interp_activation_now == NULL) {
        rc = signal_install();
        if (rc != 0)
            return rc;
    }
    rc = interp_call(store, func, slots);
    if (rc != 0 && trap != NULL)
        *trap = store->trap;
    return rc;
}

int spry_func_call(struct spry_func *func, const struct spry_val *args, size_t nargs,
                   struct spry_val *results, size_t nresults, struct spry_trap *trap)
{
    const struct wasm_functype *ft = func->type;
    if (nargs != ft->nparams || nresults != ft->nresults)
        return SPRY_EINVAL;
    for (size_t i = 0; i < nargs; i++) {
        if (args[i].type != ft->types[i])
            return SPRY_EINVAL;
    }
    struct spry_store *store = func->store;
    size_t n = nargs > nresults ? nargs : nresults;
    uint64_t local_slots[16];
    uint64_t *slots = n <= 16 ? local_slots : spry_alloc_array(n, sizeof *slots);
    if (slots == NULL)
        return SPRY_ENOMEM;
    for (size_t i = 0; i < nargs; i++)
        slots[i] = val_to_slot(&args[i]);
    int rc = runtime_call(store, func, slots, trap);
    if (rc == 0) {
        for (size_t i = 0; i < nresults; i++)
            runtime_slot_to_val(ft->types[ft->nparams + i], slots[i], &results[i]);
    }
    if (slots != local_slots)
        spry_free(slots);
    return rc;
}

int spry_func_call_slots(struct spry_func *func, uint64_t *slots, size_t nslots,
                         struct spry_trap *trap)
{
    const struct wasm_functype *ft = func->type;
    if (nslots < ft->nparams || nslots < ft->nresults)
        return SPRY_EINVAL;
    for (uint32_t i = 0; i < ft->nparams; i++) {
        uint8_t t = ft->types[i];
        if (t != SPRY_I32 && t != SPRY_I64 && t != SPRY_F32 && t != SPRY_F64)
            return SPRY_EINVAL;
    }
    return runtime_call(func->store, func, slots, trap);
}

int spry_instance_call(struct spry_instance *inst, const char *name, const struct spry_val *args,
                       size_t nargs, struct spry_val *results, size_t nresults,
                       struct spry_trap *trap)
{
    struct spry_extern ext;
    int rc = spry_instance_export(inst, name, &ext);
    if (rc != 0)
        return rc;
    if (ext.kind != SPRY_EXTERN_FUNC)
        return SPRY_EINVAL;
    return spry_func_call(ext.of.func, args, nargs, results, nresults, trap);
}

/* ---- memories, tables, globals ----------------------------------------------- */

int spry_memory_new(struct spry_store *store, struct spry_limits limits, struct spry_memory **out)
{
    if (limits.min > WASM_MAX_PAGES || (limits.has_max && limits.max < limits.min))
        return SPRY_EINVAL;
    struct spry_memory *mem;
    int rc = memory_create(store, limits, &mem);
    if (rc != 0)
        return rc;
    if (runtime_list_add(&store->memories, mem) != 0) {
        memory_free(mem);
        return SPRY_ENOMEM;
    }
    *out = mem;
    return 0;
}

uint8_t *spry_memory_data(const struct spry_memory *mem)
{
    return mem->base;
}

void spry_memory_note_write(struct spry_memory *mem, uint64_t offset, uint64_t len)
{
    if (offset >= mem->size)
        return;
    memory_note_write(mem, offset, len < mem->size - offset ? len : mem->size - offset);
}

uint64_t spry_memory_size(const struct spry_memory *mem)
{
    return mem->size;
}

int64_t spry_memory_grow(struct spry_memory *mem, uint64_t delta)
{
    return memory_grow(mem, delta);
}

void spry_memory_type(const struct spry_memory *mem, struct spry_limits *out)
{
    *out = mem->type;
}

int table_create(struct spry_store *store, struct spry_tabletype type, void *init,
                 struct spry_table **out)
{
    if (type.limits.min > store->limits.max_table_elems)
        return SPRY_EEXHAUSTED;
    struct spry_table *t = spry_calloc(1, sizeof *t);
    if (t == NULL)
        return SPRY_ENOMEM;
    uint64_t max = type.limits.has_max ? type.limits.max : UINT32_MAX;
    if (max > store->limits.max_table_elems)
        max = store->limits.max_table_elems;
    t->store = store;
    t->type = type;
    t->size = (uint32_t)type.limits.min;
    t->max = (uint32_t)max;
    t->cap = t->size;
    t->elems = spry_calloc(t->cap ? t->cap : 1, sizeof *t->elems);
    if (t->elems == NULL || runtime_list_add(&store->tables, t) != 0) {
        free_table(t);
        return SPRY_ENOMEM;
    }
    for (uint32_t i = 0; i < t->size; i++)
        t->elems[i] = init;
    *out = t;
    return 0;
}

int64_t table_grow(struct spry_table *t, uint32_t delta, void *init)
{
    uint32_t old = t->size;
    if (delta == 0)
        return old;
    if (delta > t->max || old > t->max - delta)
        return -1;
    uint32_t need = old + delta;
    if (need > t->cap) {
        uint64_t cap = (uint64_t)t->cap * 2;
        if (cap < need)
            cap = need;
        if (cap > t->max)
            cap = t->max;
        void **elems = spry_realloc_array(t->elems, cap, sizeof *elems);
        if (elems == NULL)
            return -1;
        t->elems = elems;
        t->cap = (uint32_t)cap;
    }
    for (uint32_t i = old; i < need; i++)
        t->elems[i] = init;
    t->dirty = true;
    t->size = need;
    t->type.limits.min = need;
    return old;
}

int spry_table_new(struct spry_store *store, struct spry_tabletype type, void *init,
                   struct spry_table **out)
{
    if (type.limits.has_max && type.limits.max < type.limits.min)
        return SPRY_EINVAL;
    return table_create(store, type, init, out);
}

uint32_t spry_table_size(const struct spry_table *table)
{
    return table->size;
}

int spry_table_get(const struct spry_table *table, uint32_t index, void **out)
{
    if (index >= table->size)
        return SPRY_EINVAL;
    *out = table->elems[index];
    return 0;
}

int spry_table_set(struct spry_table *table, uint32_t index, void *ref)
{
    if (index >= table->size)
        return SPRY_EINVAL;
    table->elems[index] = ref;
    table->dirty = true;
    return 0;
}

void spry_table_type(const struct spry_table *table, struct spry_tabletype *out)
{
    *out = table->type;
}

int global_create(struct spry_store *store, struct spry_globaltype type, uint64_t value,
                  struct spry_global **out)
{
    struct spry_global *g = spry_calloc(1, sizeof *g);
    if (g == NULL)
        return SPRY_ENOMEM;
    if (runtime_list_add(&store->globals, g) != 0) {
        spry_free(g);
        return SPRY_ENOMEM;
    }
    g->store = store;
    g->type = type;
    g->value = value;
    *out = g;
    return 0;
}

int spry_global_new(struct spry_store *store, struct spry_globaltype type, struct spry_val value,
                    struct spry_global **out)
{
    if (value.type != type.type)
        return SPRY_EINVAL;
    return global_create(store, type, val_to_slot(&value), out);
}

void spry_global_get(const struct spry_global *global, struct spry_val *out)
{
    runtime_slot_to_val(global->type.type, global->value, out);
}

int spry_global_set(struct spry_global *global, struct spry_val value)
{
    if (!global->type.mutable_ || value.type != global->type.type)
        return SPRY_EINVAL;
    global->value = val_to_slot(&value);
    return 0;
}

void spry_global_type(const struct spry_global *global, struct spry_globaltype *out)
{
    *out = global->type;
}

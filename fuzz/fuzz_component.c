/* libFuzzer harness: decode arbitrary bytes as a component and check the
 * invariants the linker relies on (component/binary.h). Seeds: the unit
 * tests' hand-assembled components (BUILD/fuzz-seeds/component). */
#include "component/binary_impl.h"
#include "component/layout.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long budget;

static void check_value(const struct cbin *bin, const struct ctype *t, unsigned depth)
{
    if (t == NULL || budget == 0)
        return;
    budget--;
    if (depth > CBIN_MAX_TYPE_DEPTH || t->kind >= CT_KINDS)
        __builtin_trap();
    const struct cvt *v = cvt_of(t);
    if (v->depth == 0 || v->size == 0 || v->size > CBIN_MAX_TYPE_SIZE ||
        v->elem_size >= CBIN_MAX_ELEM_SIZE)
        __builtin_trap();
    switch (t->kind) {
    case CT_LIST:
    case CT_OPTION:
        check_value(bin, t->u.elem, depth + 1);
        break;
    case CT_RECORD:
    case CT_TUPLE:
        if (t->u.record.n == 0)
            __builtin_trap();
        for (uint32_t i = 0; i < t->u.record.n; i++)
            check_value(bin, t->u.record.fields[i].type, depth + 1);
        break;
    case CT_VARIANT:
    case CT_ENUM:
        if (t->u.variant.n == 0)
            __builtin_trap();
        for (uint32_t i = 0; i < t->u.variant.n; i++)
            check_value(bin, t->u.variant.cases[i].type, depth + 1);
        break;
    case CT_RESULT:
        check_value(bin, t->u.result.ok, depth + 1);
        check_value(bin, t->u.result.err, depth + 1);
        break;
    case CT_FLAGS:
        if (t->u.flags.n == 0 || t->u.flags.n > CTYPE_MAX_FLAGS)
            __builtin_trap();
        break;
    case CT_OWN:
    case CT_BORROW:
        if (t->u.resource >= bin->nresources)
            __builtin_trap();
        break;
    default:
        break;
    }
}

static void check_externs(const struct cbin *bin, const struct cbin_externs *x);

static void check_type(const struct cbin *bin, const struct cbin_type *t)
{
    switch (t->kind) {
    case CBIN_T_VALUE:
        /* The canonical ABI requires every type to pass layout_check. */
        if (budget > CBIN_MAX_TYPE_SIZE && layout_check(t->u.value, NULL) != 0)
            __builtin_trap();
        check_value(bin, t->u.value, 1);
        break;
    case CBIN_T_FUNC:
        if (budget > 2 * CBIN_MAX_TYPE_SIZE && layout_check_functype(t->u.func, NULL) != 0)
            __builtin_trap();
        for (uint32_t i = 0; i < t->u.func->nparams; i++)
            check_value(bin, t->u.func->params[i].type, 1);
        check_value(bin, t->u.func->result, 1);
        break;
    case CBIN_T_RESOURCE:
        if (t->u.resource >= bin->nresources)
            __builtin_trap();
        break;
    case CBIN_T_INSTANCE:
        check_externs(bin, &t->u.instance->exports);
        break;
    case CBIN_T_COMPONENT:
        check_externs(bin, &t->u.component->imports);
        check_externs(bin, &t->u.component->exports);
        break;
    default:
        __builtin_trap();
    }
}

static void check_externs(const struct cbin *bin, const struct cbin_externs *x)
{
    for (uint32_t i = 0; i < x->n && budget > 0; i++) {
        const struct cbin_extern *e = &x->v[i];
        if (e->name == NULL || strlen(e->name) != e->name_len)
            __builtin_trap();
        if (cbin_externs_find(x, e->name, e->name_len) != e) /* sorted, unique */
            __builtin_trap();
        if (e->sort == CBIN_CORE_MODULE) {
            if (e->module == NULL)
                __builtin_trap();
        } else {
            budget--;
            check_type(bin, &e->type);
        }
    }
}

static uint32_t space(const struct cbin_component *c, unsigned sort)
{
    switch (sort) {
    case CBIN_CORE_FUNC:
        return c->ncore_funcs;
    case CBIN_CORE_TABLE:
        return c->ncore_tables;
    case CBIN_CORE_MEMORY:
        return c->ncore_memories;
    case CBIN_CORE_GLOBAL:
        return c->ncore_globals;
    case CBIN_CORE_TYPE:
        return c->ncore_types;
    case CBIN_CORE_MODULE:
        return c->ncore_modules;
    case CBIN_CORE_INSTANCE:
        return c->ncore_instances;
    case CBIN_FUNC:
        return c->nfuncs;
    case CBIN_TYPE:
        return c->ntypes;
    case CBIN_COMPONENT:
        return c->ncomponents;
    case CBIN_INSTANCE:
        return c->ninstances;
    default:
        return 0;
    }
}

static void check_component(const struct cbin *bin, const struct cbin_component *c)
{
    for (uint32_t i = 0; i < c->ndefs; i++) {
        const struct cbin_def *d = &c->defs[i];
        if (d->sort < CBIN_SORTS && d->index >= space(c, d->sort))
            __builtin_trap();
        if ((d->op == CBIN_OP_LIFT || d->op == CBIN_OP_LOWER) &&
            (d->u.canon->core.nparams > LAYOUT_MAX_FLAT_PARAMS + 1 ||
             d->u.canon->core.nresults > LAYOUT_MAX_FLAT_RESULTS))
            __builtin_trap();
    }
    for (uint32_t i = 0; i < c->ntypes && budget > 0; i++)
        check_type(bin, &c->types[i]);
    for (uint32_t i = 0; i < c->ninstances && budget > 0; i++)
        if (c->instances[i]->nbound != 0) /* concrete */
            __builtin_trap();
    check_externs(bin, &c->type->imports);
    check_externs(bin, &c->type->exports);
    for (uint32_t i = 0; i < c->nchildren; i++) {
        if (c->children[i]->parent != c)
            __builtin_trap();
        check_component(bin, c->children[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cbin_limits limits = {.max_memory = 64 << 20, .max_work = 5000000};
    struct spry_report report;
    spry_report_init(&report);
    struct cbin *bin = NULL;
    if (cbin_decode(data, size, &limits, &bin, &report) == 0) {
        budget = 20000000;
        if (bin->ncomponents == 0 || bin->components[0] != bin->root)
            __builtin_trap();
        check_component(bin, bin->root);
        cbin_destroy(bin);
    } else if (report.message[0] == '\0' ||
               (report.code != SPRY_ENOMEM && strstr(report.message, "offset 0x") == NULL)) {
        __builtin_trap(); /* every failure says what and where */
    }
    return 0;
}

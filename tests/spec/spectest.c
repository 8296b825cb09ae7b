/* The spectest host module. */
#include "spec/spectest.h"

#include <string.h>

/* The print functions: their parameter types; none has results. */
static const struct {
    const char *name;
    uint32_t nparams;
    uint8_t params[2];
} print_funcs[] = {
    {"print", 0, {0}},
    {"print_i32", 1, {SPRY_I32}},
    {"print_i64", 1, {SPRY_I64}},
    {"print_f32", 1, {SPRY_F32}},
    {"print_f64", 1, {SPRY_F64}},
    {"print_i32_f32", 2, {SPRY_I32, SPRY_F32}},
    {"print_f64_f64", 2, {SPRY_F64, SPRY_F64}},
};

static int print_nothing(void *user, struct spry_instance *caller, uint64_t *slots)
{
    (void)user;
    (void)caller;
    (void)slots;
    return 0;
}

static void add(struct spectest *st, const char *name, struct spry_extern ext)
{
    st->names[st->count] = name;
    st->exports[st->count] = ext;
    st->count++;
}

static int add_global(struct spectest *st, struct spry_store *store, const char *name,
                      struct spry_val value, struct spry_report *report)
{
    struct spry_globaltype type = {.type = value.type, .mutable_ = false};
    struct spry_extern ext = {.kind = SPRY_EXTERN_GLOBAL};
    int rc = spry_global_new(store, type, value, &ext.of.global);
    if (rc != 0)
        return spry_report_set(report, rc, "spectest.%s: %s", name, spry_strerror(rc));
    add(st, name, ext);
    return 0;
}

int spectest_init(struct spectest *st, struct spry_store *store, struct spry_report *report)
{
    memset(st, 0, sizeof(*st));
    int rc;
    for (size_t i = 0; i < sizeof(print_funcs) / sizeof(print_funcs[0]); i++) {
        struct spry_functype type = {.nparams = print_funcs[i].nparams,
                                     .params = print_funcs[i].params};
        struct spry_extern ext = {.kind = SPRY_EXTERN_FUNC};
        rc = spry_func_new_host(store, &type, print_nothing, NULL, &ext.of.func);
        if (rc != 0)
            return spry_report_set(report, rc, "spectest.%s: %s", print_funcs[i].name,
                                   spry_strerror(rc));
        add(st, print_funcs[i].name, ext);
    }

    /* 666.6 rounded to each float type, as the reference interpreter does. */
    float f32 = 666.6f;
    double f64 = 666.6;
    struct spry_val v = {.type = SPRY_I32, .of.i32 = 666};
    rc = add_global(st, store, "global_i32", v, report);
    if (rc != 0)
        return rc;
    v = (struct spry_val){.type = SPRY_I64, .of.i64 = 666};
    rc = add_global(st, store, "global_i64", v, report);
    if (rc != 0)
        return rc;
    v = (struct spry_val){.type = SPRY_F32};
    memcpy(&v.of.f32_bits, &f32, sizeof(f32));
    rc = add_global(st, store, "global_f32", v, report);
    if (rc != 0)
        return rc;
    v = (struct spry_val){.type = SPRY_F64};
    memcpy(&v.of.f64_bits, &f64, sizeof(f64));
    rc = add_global(st, store, "global_f64", v, report);
    if (rc != 0)
        return rc;

    struct spry_tabletype tt = {.elem = SPRY_FUNCREF,
                                .limits = {.min = 10, .max = 20, .has_max = true}};
    struct spry_extern table = {.kind = SPRY_EXTERN_TABLE};
    rc = spry_table_new(store, tt, NULL, &table.of.table);
    if (rc != 0)
        return spry_report_set(report, rc, "spectest.table: %s", spry_strerror(rc));
    add(st, "table", table);

    struct spry_limits ml = {.min = 1, .max = 2, .has_max = true};
    struct spry_extern memory = {.kind = SPRY_EXTERN_MEMORY};
    rc = spry_memory_new(store, ml, &memory.of.memory);
    if (rc != 0)
        return spry_report_set(report, rc, "spectest.memory: %s", spry_strerror(rc));
    add(st, "memory", memory);
    return 0;
}

int spectest_lookup(const struct spectest *st, const char *name, size_t len,
                    struct spry_extern *out)
{
    for (size_t i = 0; i < st->count; i++) {
        if (strlen(st->names[i]) == len && memcmp(st->names[i], name, len) == 0) {
            *out = st->exports[i];
            return 0;
        }
    }
    return SPRY_ENOTFOUND;
}

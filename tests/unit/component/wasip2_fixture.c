#include "unit/component/wasip2_fixture.h"

#include "harness/test.h"
#include "component/wasihttp/wasihttp.h"
#include "spry/wasm.h"
#include "wasm/decode.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void p2t_setup(struct p2t *t, const struct p2t_options *o)
{
    static const struct p2t_options none;
    if (o == NULL)
        o = &none;
    memset(t, 0, sizeof *t);
    sandbox_make(t->box, t->box2, t->outside);

    struct spry_wasi_preopen pre[2] = {{t->box, "/box", o->readonly_box},
                                       {t->box2, "/box2", false}};
    static const char *const default_args[] = {"prog", "one", "two words"};
    struct spry_wasi_config config = {
        .args = o->args != NULL ? o->args : default_args,
        .nargs = o->args != NULL ? o->nargs : 3,
        .env = o->env,
        .nenv = o->nenv,
        .preopens = pre,
        .npreopens = 2,
    };
    if (o->stdio != NULL) {
        memcpy(config.stdio, o->stdio, sizeof config.stdio);
    } else {
        for (int i = 0; i < 3; i++)
            config.stdio[i].kind = SPRY_WASI_STDIO_BUFFER;
    }
    struct spry_report report;
    spry_report_init(&report);
    int rc = wasip2_create(&config, &t->p2, &report);
    if (rc != 0)
        fprintf(stderr, "wasip2: %s\n", report.message);
    ASSERT_OK(rc);
    ASSERT_OK(spry_store_create(NULL, &t->store));
    wasip2_attach(t->p2, t->store);
    spry_arena_init(&t->arena, 256u << 20);
    spry_arena_init(&t->wit_arena, 4u << 20);
    /* WASI 0.2 and wasi:http in one table, as wasihttp_host() has them. */
    size_t n, nh;
    const struct chost_iface *p2 = wasip2_ifaces(&n);
    const struct chost_iface *http = wasihttp_ifaces(&nh);
    struct chost_iface *ifaces = spry_arena_alloc_array(&t->wit_arena, n + nh, sizeof *ifaces);
    ASSERT_NOT_NULL(ifaces);
    memcpy(ifaces, p2, n * sizeof *ifaces);
    memcpy(ifaces + n, http, nh * sizeof *ifaces);
    n += nh;
    spry_report_init(&report);
    rc = wit_parse_host(ifaces, n, &t->wit_arena, &t->host, &report);
    if (rc != 0)
        fprintf(stderr, "wit: %s\n", report.message);
    ASSERT_OK(rc);
}

void p2t_teardown(struct p2t *t)
{
    wasip2_destroy(t->p2);
    spry_store_destroy(t->store);
    spry_arena_fini(&t->arena);
    spry_arena_fini(&t->wit_arena);
}

/* Checks that v is a value of type ty (ctype.h's encodings). */
static void check_value(const struct ctype *ty, const struct cval *v, const char *where)
{
    if (v->kind != ty->kind) {
        fprintf(stderr, "%s: value of kind %d where the WIT says %d\n", where, v->kind, ty->kind);
        ASSERT_EQ_INT(v->kind, ty->kind);
    }
    switch (ty->kind) {
    case CT_BOOL:
    case CT_S8:
    case CT_S16:
    case CT_S32:
    case CT_S64:
    case CT_F32:
    case CT_F64:
    case CT_OWN:
    case CT_BORROW:
        break;
    case CT_U8:
        ASSERT_LE_UINT(v->of.u, 0xff);
        break;
    case CT_U16:
        ASSERT_LE_UINT(v->of.u, 0xffff);
        break;
    case CT_U32:
        ASSERT_LE_UINT(v->of.u, 0xffffffffu);
        break;
    case CT_U64:
        break;
    case CT_CHAR:
        ASSERT_LE_UINT(v->of.ch, 0x10ffff);
        break;
    case CT_STRING:
        ASSERT_TRUE(v->of.str.len == 0 || v->of.str.ptr != NULL);
        ASSERT_TRUE(decode_utf8_valid((const uint8_t *)v->of.str.ptr, v->of.str.len));
        break;
    case CT_LIST:
        if (ctype_is_number(ty->u.elem->kind)) {
            ASSERT_TRUE(v->of.raw.n == 0 || v->of.raw.ptr != NULL);
        } else {
            for (size_t i = 0; i < v->of.list.n; i++)
                check_value(ty->u.elem, &v->of.list.v[i], where);
        }
        break;
    case CT_RECORD:
    case CT_TUPLE:
        ASSERT_EQ_UINT(v->of.list.n, ty->u.record.n);
        for (uint32_t i = 0; i < ty->u.record.n; i++)
            check_value(ty->u.record.fields[i].type, &v->of.list.v[i], where);
        break;
    case CT_VARIANT:
    case CT_ENUM: {
        ASSERT_LT_UINT(v->of.var.disc, ty->u.variant.n);
        const struct ctype *pt = ty->u.variant.cases[v->of.var.disc].type;
        if (pt == NULL)
            ASSERT_NULL(v->of.var.payload);
        else
            check_value(pt, v->of.var.payload, where);
        break;
    }
    case CT_OPTION:
        ASSERT_LE_UINT(v->of.var.disc, 1);
        if (v->of.var.disc == 1)
            check_value(ty->u.elem, v->of.var.payload, where);
        break;
    case CT_RESULT: {
        ASSERT_LE_UINT(v->of.var.disc, 1);
        const struct ctype *pt = v->of.var.disc == 0 ? ty->u.result.ok : ty->u.result.err;
        if (pt == NULL)
            ASSERT_NULL(v->of.var.payload);
        else
            check_value(pt, v->of.var.payload, where);
        break;
    }
    case CT_FLAGS:
        if (ty->u.flags.n < 32)
            ASSERT_EQ_UINT(v->of.flags >> ty->u.flags.n, 0);
        break;
    default:
        ASSERT_TRUE(false);
    }
}

static const struct chost_iface *find_iface(const char *name)
{
    size_t n;
    const struct chost_iface *ifaces = wasip2_ifaces(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(ifaces[i].name, name) == 0)
            return &ifaces[i];
    ifaces = wasihttp_ifaces(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(ifaces[i].name, name) == 0)
            return &ifaces[i];
    fprintf(stderr, "no interface %s\n", name);
    ASSERT_TRUE(false);
    return NULL;
}

int p2t_call(struct p2t *t, const char *iface, const char *func, const struct cval *args,
             size_t nargs, struct cval *result)
{
    const struct chost_iface *ci = find_iface(iface);
    const struct chost_func *cf = NULL;
    for (size_t i = 0; i < ci->nfuncs; i++)
        if (strcmp(ci->funcs[i].name, func) == 0)
            cf = &ci->funcs[i];
    if (cf == NULL)
        fprintf(stderr, "no function %s in %s\n", func, iface);
    ASSERT_NOT_NULL(cf);
    const struct wit_func *wf = wit_iface_func(wit_host_iface(&t->host, iface), func);
    ASSERT_NOT_NULL(wf);
    ASSERT_EQ_UINT(nargs, wf->type.nparams);
    for (size_t i = 0; i < nargs; i++)
        check_value(wf->type.params[i].type, &args[i], func);
    struct spry_report report;
    spry_report_init(&report);
    struct ccall call = {.arena = &t->arena, .store = t->store, .report = &report};
    struct cval res;
    memset(&res, 0, sizeof res);
    int rc = cf->fn(&call, args, &res);
    snprintf(t->trap, sizeof t->trap, "%s", report.message);
    if (rc == 0 && wf->type.result != NULL)
        check_value(wf->type.result, &res, func);
    if (result != NULL)
        *result = res;
    return rc;
}

void p2t_drop(struct p2t *t, const char *iface, const char *resource, uint32_t rep)
{
    const struct chost_iface *ci = find_iface(iface);
    for (size_t i = 0; i < ci->nresources; i++) {
        if (strcmp(ci->resources[i].name, resource) == 0) {
            struct ccall call = {.arena = &t->arena, .store = t->store};
            ASSERT_NOT_NULL(ci->resources[i].drop);
            ci->resources[i].drop(&call, rep);
            return;
        }
    }
    ASSERT_TRUE(false);
}

struct cval cv_u64(uint64_t v)
{
    return (struct cval){.kind = CT_U64, .of.u = v};
}

struct cval cv_u32(uint32_t v)
{
    return (struct cval){.kind = CT_U32, .of.u = v};
}

struct cval cv_u8(uint8_t v)
{
    return (struct cval){.kind = CT_U8, .of.u = v};
}

struct cval cv_bytes(const void *p, size_t n)
{
    return (struct cval){.kind = CT_LIST, .of.raw = {p, n}};
}

struct cval cv_borrow(uint32_t rep)
{
    return (struct cval){.kind = CT_BORROW, .of.rep = rep};
}

struct cval cv_enum(uint32_t disc)
{
    return (struct cval){.kind = CT_ENUM, .of.var = {disc, NULL}};
}

struct cval cv_time_keep(void)
{
    return (struct cval){.kind = CT_VARIANT, .of.var = {0, NULL}};
}

struct cval cv_time_at(struct p2t *t, uint64_t seconds, uint32_t ns)
{
    struct cval *v = spry_arena_alloc_array(&t->arena, 3, sizeof *v);
    ASSERT_NOT_NULL(v);
    v[1] = cv_u64(seconds);
    v[2] = cv_u32(ns);
    v[0] = (struct cval){.kind = CT_RECORD, .of.list = {&v[1], 2}};
    return (struct cval){.kind = CT_VARIANT, .of.var = {2, &v[0]}};
}

struct cval cv_status(bool ok)
{
    return (struct cval){.kind = CT_RESULT, .of.var = {ok ? 0 : 1, NULL}};
}

struct cval cv_borrows(struct p2t *t, const uint32_t *reps, size_t n)
{
    struct cval *v = spry_arena_alloc_array(&t->arena, n + 1, sizeof *v);
    ASSERT_NOT_NULL(v);
    for (size_t i = 0; i < n; i++)
        v[i] = cv_borrow(reps[i]);
    return (struct cval){.kind = CT_LIST, .of.list = {v, n}};
}

bool r_ok(const struct cval *r)
{
    ASSERT_EQ_INT(r->kind, CT_RESULT);
    return r->of.var.disc == 0;
}

const struct cval *r_val(const struct cval *r)
{
    if (!r_ok(r) && r->of.var.payload != NULL && r->of.var.payload->kind == CT_ENUM)
        fprintf(stderr, "error-code %u\n", r->of.var.payload->of.var.disc);
    ASSERT_TRUE(r_ok(r));
    ASSERT_NOT_NULL(r->of.var.payload);
    return r->of.var.payload;
}

uint32_t r_err(const struct cval *r)
{
    ASSERT_FALSE(r_ok(r));
    ASSERT_EQ_INT(r->of.var.payload->kind, CT_ENUM);
    return r->of.var.payload->of.var.disc;
}

int r_stream_err(const struct cval *r, uint32_t *err_rep)
{
    ASSERT_FALSE(r_ok(r));
    const struct cval *e = r->of.var.payload;
    ASSERT_EQ_INT(e->kind, CT_VARIANT);
    if (e->of.var.disc == 1)
        return 1;
    if (err_rep != NULL)
        *err_rep = e->of.var.payload->of.rep;
    return 0;
}

uint32_t r_own(const struct cval *r)
{
    const struct cval *v = r_val(r);
    ASSERT_EQ_INT(v->kind, CT_OWN);
    return v->of.rep;
}

uint32_t p2t_preopen(struct p2t *t, size_t index)
{
    struct cval r;
    ASSERT_OK(P2CALL0(t, "wasi:filesystem/preopens", "get-directories", &r));
    ASSERT_LT_UINT(index, r.of.list.n);
    return r.of.list.v[index].of.list.v[0].of.rep;
}

#include "cbuild.h"

#include "harness/test.h"

#include "component/layout.h"

#include <stdio.h>
#include <string.h>

static _Alignas(16) unsigned char pool[8 << 20];
static size_t pool_used;

void *cb_alloc(size_t size)
{
    size = (size + 15) & ~(size_t)15;
    ASSERT_LE_UINT(size, sizeof pool - pool_used);
    void *p = pool + pool_used;
    pool_used += size;
    memset(p, 0, size);
    return p;
}

static struct ctype *node(uint8_t kind)
{
    struct ctype *t = cb_alloc(sizeof *t);
    t->kind = kind;
    return t;
}

/* Caches t's layout (layout.h) as the decoder does with every node it
 * finishes: the canonical ABI tests then run on cached layouts, as
 * components do. */
static const struct ctype *done(struct ctype *t)
{
    layout_cache(t);
    return t;
}

const struct ctype *cb_prim(uint8_t kind)
{
    return done(node(kind));
}

const struct ctype *cb_list(const struct ctype *elem)
{
    struct ctype *t = node(CT_LIST);
    t->u.elem = elem;
    return done(t);
}

const struct ctype *cb_option(const struct ctype *elem)
{
    struct ctype *t = node(CT_OPTION);
    t->u.elem = elem;
    return done(t);
}

const struct ctype *cb_result(const struct ctype *ok, const struct ctype *err)
{
    struct ctype *t = node(CT_RESULT);
    t->u.result.ok = ok;
    t->u.result.err = err;
    return done(t);
}

const struct ctype *cb_own(uint32_t resource)
{
    struct ctype *t = node(CT_OWN);
    t->u.resource = resource;
    return done(t);
}

const struct ctype *cb_borrow(uint32_t resource)
{
    struct ctype *t = node(CT_BORROW);
    t->u.resource = resource;
    return done(t);
}

static const char *name_of(const char *prefix, uint32_t i)
{
    char *s = cb_alloc(16);
    snprintf(s, 16, "%s%u", prefix, i);
    return s;
}

static const struct ctype *fields_v(uint8_t kind, uint32_t n, va_list ap)
{
    struct ctype *t = node(kind);
    struct ctype_field *f = cb_alloc(sizeof *f * (n == 0 ? 1 : n));
    for (uint32_t i = 0; i < n; i++) {
        f[i].type = va_arg(ap, const struct ctype *);
        f[i].name = kind == CT_RECORD ? name_of("f", i) : NULL;
    }
    t->u.record.n = n;
    t->u.record.fields = f;
    return done(t);
}

const struct ctype *cb_record(uint32_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    const struct ctype *t = fields_v(CT_RECORD, n, ap);
    va_end(ap);
    return t;
}

const struct ctype *cb_tuple(uint32_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    const struct ctype *t = fields_v(CT_TUPLE, n, ap);
    va_end(ap);
    return t;
}

const struct ctype *cb_variant(uint32_t n, ...)
{
    struct ctype *t = node(CT_VARIANT);
    struct ctype_case *c = cb_alloc(sizeof *c * (n == 0 ? 1 : n));
    va_list ap;
    va_start(ap, n);
    for (uint32_t i = 0; i < n; i++) {
        c[i].name = name_of("c", i);
        c[i].type = va_arg(ap, const struct ctype *);
    }
    va_end(ap);
    t->u.variant.n = n;
    t->u.variant.cases = c;
    return done(t);
}

const struct ctype *cb_enum(uint32_t n)
{
    struct ctype *t = node(CT_ENUM);
    struct ctype_case *c = cb_alloc(sizeof *c * (n == 0 ? 1 : n));
    for (uint32_t i = 0; i < n; i++)
        c[i].name = "e";
    t->u.variant.n = n;
    t->u.variant.cases = c;
    return done(t);
}

const struct ctype *cb_flags(uint32_t n)
{
    struct ctype *t = node(CT_FLAGS);
    const char **names = cb_alloc(sizeof *names * (n == 0 ? 1 : n));
    for (uint32_t i = 0; i < n; i++)
        names[i] = name_of("l", i);
    t->u.flags.n = n;
    t->u.flags.names = names;
    return done(t);
}

const struct cfunctype *cb_func(uint32_t n, ...)
{
    struct cfunctype *ft = cb_alloc(sizeof *ft);
    struct ctype_field *p = cb_alloc(sizeof *p * (n == 0 ? 1 : n));
    va_list ap;
    va_start(ap, n);
    for (uint32_t i = 0; i < n; i++) {
        p[i].name = name_of("p", i);
        p[i].type = va_arg(ap, const struct ctype *);
    }
    ft->result = va_arg(ap, const struct ctype *);
    va_end(ap);
    ft->nparams = n;
    ft->params = p;
    return ft;
}

struct cval cv_u(uint8_t kind, uint64_t u)
{
    struct cval v = {.kind = kind};
    v.of.u = u;
    return v;
}

struct cval cv_s(uint8_t kind, int64_t s)
{
    struct cval v = {.kind = kind};
    v.of.s = s;
    return v;
}

struct cval cv_bool(bool b)
{
    struct cval v = {.kind = CT_BOOL};
    v.of.b = b;
    return v;
}

struct cval cv_char(uint32_t ch)
{
    struct cval v = {.kind = CT_CHAR};
    v.of.ch = ch;
    return v;
}

struct cval cv_f32(float f)
{
    struct cval v = {.kind = CT_F32};
    v.of.f32 = f;
    return v;
}

struct cval cv_f64(double f)
{
    struct cval v = {.kind = CT_F64};
    v.of.f64 = f;
    return v;
}

struct cval cv_strn(const char *s, size_t n)
{
    struct cval v = {.kind = CT_STRING};
    v.of.str.ptr = s;
    v.of.str.len = n;
    return v;
}

struct cval cv_str(const char *s)
{
    return cv_strn(s, strlen(s));
}

struct cval cv_raw(const void *p, size_t n)
{
    struct cval v = {.kind = CT_LIST};
    v.of.raw.ptr = p;
    v.of.raw.n = n;
    return v;
}

struct cval cv_rep(uint8_t kind, uint32_t rep)
{
    struct cval v = {.kind = kind};
    v.of.rep = rep;
    return v;
}

struct cval cv_flags(uint32_t bits)
{
    struct cval v = {.kind = CT_FLAGS};
    v.of.flags = bits;
    return v;
}

static struct cval seq_v(uint8_t kind, size_t n, va_list ap)
{
    struct cval v = {.kind = kind};
    struct cval *e = cb_alloc(sizeof *e * (n == 0 ? 1 : n));
    for (size_t i = 0; i < n; i++)
        e[i] = va_arg(ap, struct cval);
    v.of.list.v = e;
    v.of.list.n = n;
    return v;
}

struct cval cv_list(size_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    struct cval v = seq_v(CT_LIST, n, ap);
    va_end(ap);
    return v;
}

struct cval cv_record(uint8_t kind, size_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    struct cval v = seq_v(kind, n, ap);
    va_end(ap);
    return v;
}

struct cval cv_var(uint8_t kind, uint32_t disc, const struct cval *payload)
{
    struct cval v = {.kind = kind};
    v.of.var.disc = disc;
    if (payload != NULL) {
        struct cval *p = cb_alloc(sizeof *p);
        *p = *payload;
        v.of.var.payload = p;
    }
    return v;
}

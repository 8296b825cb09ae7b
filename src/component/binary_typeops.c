/*
 * Operations on decoded types: the per-node facts (size, canonical ABI
 * element size and flattening), resource substitution, equality, and the
 * matching that instantiation and export ascription need (Explainer.md
 * "Type Checking").
 *
 * Resource ids and substitution: a type that declares abstract resources
 * (a `(sub resource)` export of an instance type, say) binds them; using it
 * somewhere substitutes ids: fresh ones for every declaration (so each
 * abstract id is bound in one place only), the host's or the arguments'
 * when imported or instantiated. Substitution copies only the nodes on a
 * path to a substituted resource: a type without resources is shared as is.
 */
#include "component/binary_impl.h"
#include "component/layout.h"

#include "base/alloc.h"
#include "base/assert.h"

#include <string.h>

/* ---- node facts --------------------------------------------------------- */

static uint64_t align_to(uint64_t n, uint32_t a)
{
    return (n + a - 1) / a * a;
}

struct facts {
    uint64_t size; /* as layout_check counts: 1 + fields/cases/labels + children */
    unsigned depth;
};

static void child(struct cvt *n, struct facts *f, const struct ctype *t)
{
    if (t == NULL)
        return;
    const struct cvt *c = cvt_of(t);
    f->size += c->size;
    if ((unsigned)c->depth + 1 > f->depth)
        f->depth = c->depth + 1u;
    n->flags |= c->flags;
}

/* Variant-like layout: discriminant, then the largest payload. */
static void variant_facts(struct cvt *n, struct facts *f, uint32_t ncases,
                          const struct ctype *const *payloads)
{
    uint32_t disc = ncases <= 256 ? 1 : ncases <= 65536 ? 2 : 4;
    uint32_t case_align = 1;
    uint64_t case_size = 0;
    for (uint32_t i = 0; i < ncases; i++) {
        const struct ctype *t = payloads[i];
        if (t == NULL)
            continue;
        const struct cvt *c = cvt_of(t);
        child(n, f, t);
        if (c->align > case_align)
            case_align = c->align;
        if (c->elem_size > case_size)
            case_size = c->elem_size;
    }
    n->align = (uint8_t)(disc > case_align ? disc : case_align);
    uint64_t s = align_to(align_to(disc, case_align) + case_size, n->align);
    n->elem_size = s >= CBIN_MAX_ELEM_SIZE ? CBIN_MAX_ELEM_SIZE : (uint32_t)s;
}

int ctypes_finish(struct cdec *d, size_t at, struct cvt *n)
{
    struct facts f = {1, 1};
    const struct ctype *t = &n->t;
    n->flags = 0;
    switch (t->kind) {
    case CT_LIST:
        child(n, &f, t->u.elem);
        n->flags |= CVT_MEMORY;
        n->elem_size = 16; /* pointer and length, with 64-bit pointers */
        n->align = 8;
        break;
    case CT_RECORD:
    case CT_TUPLE: {
        uint64_t s = 0;
        uint32_t align = 1;
        f.size += t->u.record.n;
        for (uint32_t i = 0; i < t->u.record.n; i++) {
            const struct cvt *c = cvt_of(t->u.record.fields[i].type);
            child(n, &f, &c->t);
            s = align_to(s, c->align) + c->elem_size;
            if (c->align > align)
                align = c->align;
            if (s >= CBIN_MAX_ELEM_SIZE)
                s = CBIN_MAX_ELEM_SIZE;
        }
        n->align = (uint8_t)align;
        s = align_to(s, align);
        n->elem_size = s >= CBIN_MAX_ELEM_SIZE ? CBIN_MAX_ELEM_SIZE : (uint32_t)s;
        break;
    }
    case CT_VARIANT:
    case CT_ENUM: {
        uint32_t nc = t->u.variant.n;
        const struct ctype **p = spry_alloc_array(nc, sizeof *p);
        if (p == NULL)
            return cdec_fail(d, SPRY_ENOMEM, at, "out of memory decoding component");
        for (uint32_t i = 0; i < nc; i++)
            p[i] = t->u.variant.cases[i].type;
        f.size += nc;
        variant_facts(n, &f, nc, p);
        spry_free(p);
        break;
    }
    case CT_OPTION: {
        const struct ctype *p[2] = {NULL, t->u.elem};
        variant_facts(n, &f, 2, p);
        break;
    }
    case CT_RESULT: {
        const struct ctype *p[2] = {t->u.result.ok, t->u.result.err};
        variant_facts(n, &f, 2, p);
        break;
    }
    case CT_FLAGS: {
        uint32_t k = t->u.flags.n;
        f.size += k;
        n->elem_size = n->align = (uint8_t)(k <= 8 ? 1 : k <= 16 ? 2 : 4);
        break;
    }
    case CT_OWN:
    case CT_BORROW:
        n->flags = (uint8_t)(CVT_RESOURCE | (t->kind == CT_BORROW ? CVT_BORROW : 0));
        n->elem_size = n->align = 4;
        break;
    default:
        SPRY_ASSERT(!"ctypes_finish: primitive");
    }
    if (f.size > CBIN_MAX_TYPE_SIZE)
        return cdec_fail(d, SPRY_ETOOBIG, at, "value type has more than %u nodes",
                         (unsigned)CBIN_MAX_TYPE_SIZE);
    if (f.depth > CBIN_MAX_TYPE_DEPTH)
        return cdec_fail(d, SPRY_ETOOBIG, at, "value type nested deeper than %u levels",
                         (unsigned)CBIN_MAX_TYPE_DEPTH);
    if (n->elem_size >= CBIN_MAX_ELEM_SIZE)
        return cdec_fail(d, SPRY_EINVALID, at, "value type takes 2^28 bytes or more in memory");
    n->size = (uint32_t)f.size;
    n->depth = (uint8_t)f.depth;
    layout_cache(&n->t); /* the children are finished, and cached, already */
    return 0;
}

void ctypes_finish_func(struct cft *f)
{
    f->flags = 0;
    f->size = 0;
    for (uint32_t i = 0; i < f->f.nparams; i++) {
        f->flags |= cvt_of(f->f.params[i].type)->flags;
        f->size += cvt_of(f->f.params[i].type)->size;
    }
    if (f->f.result != NULL) {
        f->flags |= cvt_of(f->f.result)->flags;
        f->size += cvt_of(f->f.result)->size;
    }
}

/* ---- maps ----------------------------------------------------------------- */

void cmap_fini(struct cmap *m)
{
    spry_free(m->from);
    spry_free(m->to);
    *m = (struct cmap){0};
}

static uint32_t cmap_pos(const struct cmap *m, uint32_t from)
{
    uint32_t lo = 0, hi = m->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (m->from[mid] < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool cmap_get(const struct cmap *m, uint32_t from, uint32_t *to)
{
    uint32_t i = cmap_pos(m, from);
    if (i < m->n && m->from[i] == from) {
        *to = m->to[i];
        return true;
    }
    return false;
}

int cmap_put(struct cdec *d, struct cmap *m, uint32_t from, uint32_t to)
{
    uint32_t i = cmap_pos(m, from);
    if (i < m->n && m->from[i] == from) {
        m->to[i] = to;
        return 0;
    }
    if (m->n == m->cap) {
        uint32_t cap = m->cap == 0 ? 16 : m->cap * 2;
        uint32_t *f = spry_realloc_array(m->from, cap, sizeof *f);
        if (f != NULL)
            m->from = f;
        uint32_t *t = f != NULL ? spry_realloc_array(m->to, cap, sizeof *t) : NULL;
        if (t == NULL)
            return cdec_fail(d, SPRY_ENOMEM, cdec_offset(d), "out of memory decoding component");
        m->to = t;
        m->cap = cap;
    }
    memmove(m->from + i + 1, m->from + i, (size_t)(m->n - i) * sizeof *m->from);
    memmove(m->to + i + 1, m->to + i, (size_t)(m->n - i) * sizeof *m->to);
    m->from[i] = from;
    m->to[i] = to;
    m->n++;
    return 0;
}

/* ---- substitution ---------------------------------------------------------- */

static int copy_node(struct cdec *d, const struct ctype *t, struct cvt **out)
{
    struct cvt *n = cdec_alloc(d, sizeof *n);
    if (n == NULL)
        return cdec_nomem(d);
    *n = *cvt_of(t);
    *out = n;
    return 0;
}

int csubst_value(struct cdec *d, const struct cmap *m, const struct ctype *t,
                 const struct ctype **out)
{
    *out = t;
    if (t == NULL || m->n == 0 || !(cvt_of(t)->flags & CVT_RESOURCE))
        return 0;
    int rc = cdec_work(d, 1);
    if (rc != 0)
        return rc;
    struct cvt *n = NULL;
    switch (t->kind) {
    case CT_OWN:
    case CT_BORROW: {
        uint32_t to;
        if (!cmap_get(m, t->u.resource, &to))
            return 0;
        rc = copy_node(d, t, &n);
        if (rc == 0)
            n->t.u.resource = to;
        break;
    }
    case CT_LIST:
    case CT_OPTION: {
        const struct ctype *e;
        rc = csubst_value(d, m, t->u.elem, &e);
        if (rc != 0 || e == t->u.elem)
            return rc;
        rc = copy_node(d, t, &n);
        if (rc == 0)
            n->t.u.elem = e;
        break;
    }
    case CT_RESULT: {
        const struct ctype *ok, *err;
        rc = csubst_value(d, m, t->u.result.ok, &ok);
        if (rc == 0)
            rc = csubst_value(d, m, t->u.result.err, &err);
        if (rc != 0 || (ok == t->u.result.ok && err == t->u.result.err))
            return rc;
        rc = copy_node(d, t, &n);
        if (rc == 0) {
            n->t.u.result.ok = ok;
            n->t.u.result.err = err;
        }
        break;
    }
    case CT_RECORD:
    case CT_TUPLE: {
        struct ctype_field *f = NULL;
        uint32_t k = t->u.record.n;
        for (uint32_t i = 0; rc == 0 && i < k; i++) {
            const struct ctype *e;
            rc = csubst_value(d, m, t->u.record.fields[i].type, &e);
            if (rc != 0 || (f == NULL && e == t->u.record.fields[i].type))
                continue;
            if (f == NULL) {
                f = cdec_alloc_array(d, k, sizeof *f);
                if (f == NULL)
                    return cdec_nomem(d);
                memcpy(f, t->u.record.fields, (size_t)k * sizeof *f);
            }
            f[i].type = e;
        }
        if (rc != 0 || f == NULL)
            return rc;
        rc = copy_node(d, t, &n);
        if (rc == 0)
            n->t.u.record.fields = f;
        break;
    }
    case CT_VARIANT: {
        struct ctype_case *c = NULL;
        uint32_t k = t->u.variant.n;
        for (uint32_t i = 0; rc == 0 && i < k; i++) {
            const struct ctype *e;
            rc = csubst_value(d, m, t->u.variant.cases[i].type, &e);
            if (rc != 0 || (c == NULL && e == t->u.variant.cases[i].type))
                continue;
            if (c == NULL) {
                c = cdec_alloc_array(d, k, sizeof *c);
                if (c == NULL)
                    return cdec_nomem(d);
                memcpy(c, t->u.variant.cases, (size_t)k * sizeof *c);
            }
            c[i].type = e;
        }
        if (rc != 0 || c == NULL)
            return rc;
        rc = copy_node(d, t, &n);
        if (rc == 0)
            n->t.u.variant.cases = c;
        break;
    }
    default:
        return 0;
    }
    if (rc == 0)
        *out = &n->t;
    return rc;
}

int csubst_func(struct cdec *d, const struct cmap *m, const struct cfunctype *f,
                const struct cfunctype **out)
{
    *out = f;
    const struct cft *cf = cft_of(f);
    if (m->n == 0 || !(cf->flags & CVT_RESOURCE))
        return 0;
    struct cft *n = cdec_alloc(d, sizeof *n);
    struct ctype_field *p = cdec_alloc_array(d, f->nparams, sizeof *p);
    if (n == NULL || p == NULL)
        return cdec_nomem(d);
    *n = *cf;
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < f->nparams; i++) {
        p[i].name = f->params[i].name;
        rc = csubst_value(d, m, f->params[i].type, &p[i].type);
    }
    n->f.params = p;
    if (rc == 0)
        rc = csubst_value(d, m, f->result, &n->f.result);
    if (rc == 0)
        *out = &n->f;
    return rc;
}

static int subst_externs(struct cdec *d, const struct cmap *m, const struct cbin_externs *in,
                         struct cbin_externs *out)
{
    *out = *in;
    struct cbin_extern *v = cdec_alloc_array(d, in->n, sizeof *v);
    if (v == NULL)
        return cdec_nomem(d);
    int rc = cdec_work(d, in->n);
    for (uint32_t i = 0; rc == 0 && i < in->n; i++) {
        v[i] = in->v[i];
        if (v[i].sort != CBIN_CORE_MODULE)
            rc = csubst_type(d, m, &in->v[i].type, &v[i].type);
    }
    out->v = v;
    return rc;
}

static int subst_ids(struct cdec *d, const struct cmap *m, uint32_t n, const uint32_t *in,
                     const uint32_t **out)
{
    *out = in;
    if (n == 0)
        return 0;
    uint32_t *v = cdec_alloc_array(d, n, sizeof *v);
    if (v == NULL)
        return cdec_nomem(d);
    for (uint32_t i = 0; i < n; i++)
        if (!cmap_get(m, in[i], &v[i]))
            v[i] = in[i];
    *out = v;
    return 0;
}

int csubst_inst(struct cdec *d, const struct cmap *m, const struct cbin_insttype *t,
                const struct cbin_insttype **out)
{
    *out = t;
    if (m->n == 0)
        return 0;
    struct cbin_insttype *n = cdec_alloc(d, sizeof *n);
    if (n == NULL)
        return cdec_nomem(d);
    *n = *t;
    int rc = subst_externs(d, m, &t->exports, &n->exports);
    if (rc == 0)
        rc = subst_ids(d, m, t->nbound, t->bound, &n->bound);
    if (rc == 0)
        *out = n;
    return rc;
}

static int subst_comp(struct cdec *d, const struct cmap *m, const struct cbin_comptype *t,
                      const struct cbin_comptype **out)
{
    *out = t;
    if (m->n == 0)
        return 0;
    struct cbin_comptype *n = cdec_alloc(d, sizeof *n);
    if (n == NULL)
        return cdec_nomem(d);
    *n = *t;
    int rc = subst_externs(d, m, &t->imports, &n->imports);
    if (rc == 0)
        rc = subst_externs(d, m, &t->exports, &n->exports);
    if (rc == 0)
        rc = subst_ids(d, m, t->nbound_imports, t->bound_imports, &n->bound_imports);
    if (rc == 0)
        rc = subst_ids(d, m, t->nbound_exports, t->bound_exports, &n->bound_exports);
    if (rc == 0)
        *out = n;
    return rc;
}

int csubst_type(struct cdec *d, const struct cmap *m, const struct cbin_type *t,
                struct cbin_type *out)
{
    struct cbin_type r = *t;
    int rc = 0;
    switch (t->kind) {
    case CBIN_T_VALUE:
        rc = csubst_value(d, m, t->u.value, &r.u.value);
        break;
    case CBIN_T_FUNC:
        rc = csubst_func(d, m, t->u.func, &r.u.func);
        break;
    case CBIN_T_RESOURCE:
        cmap_get(m, t->u.resource, &r.u.resource);
        break;
    case CBIN_T_INSTANCE:
        rc = csubst_inst(d, m, t->u.instance, &r.u.instance);
        break;
    case CBIN_T_COMPONENT:
        rc = subst_comp(d, m, t->u.component, &r.u.component);
        break;
    }
    if (rc == 0)
        *out = r;
    return rc;
}

/* ---- fresh copies ---------------------------------------------------------- */

static int fresh_ids(struct cdec *d, struct cmap *m, uint32_t n, const uint32_t *ids, uint8_t kind,
                     uint32_t index, struct cvec *bound)
{
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        uint32_t id;
        rc = cdec_resource_new(d, kind, cdec_resource(d, ids[i])->name, index, &id);
        if (rc == 0)
            rc = cmap_put(d, m, ids[i], id);
        if (rc == 0 && bound != NULL)
            rc = cdec_push_u32(d, bound, id);
    }
    return rc;
}

int cfresh_extern(struct cdec *d, struct cbin_extern *e, uint8_t kind, uint32_t index,
                  struct cvec *bound)
{
    struct cmap m = {0};
    int rc = 0;
    if (e->sort == CBIN_INSTANCE) {
        const struct cbin_insttype *t = e->type.u.instance;
        rc = fresh_ids(d, &m, t->nbound, t->bound, kind, index, bound);
        if (rc == 0)
            rc = csubst_inst(d, &m, t, &e->type.u.instance);
        if (rc == 0 && kind != CBIN_RES_ABSTRACT)
            rc = cconcrete_extern(d, e);
    } else if (e->sort == CBIN_COMPONENT) {
        /* A component type's abstract ids stay its own. */
        const struct cbin_comptype *t = e->type.u.component;
        rc = fresh_ids(d, &m, t->nbound_imports, t->bound_imports, CBIN_RES_ABSTRACT, 0, NULL);
        if (rc == 0)
            rc = fresh_ids(d, &m, t->nbound_exports, t->bound_exports, CBIN_RES_ABSTRACT, 0, NULL);
        if (rc == 0)
            rc = subst_comp(d, &m, t, &e->type.u.component);
    }
    cmap_fini(&m);
    return rc;
}

int cconcrete_extern(struct cdec *d, struct cbin_extern *e)
{
    if (e->sort != CBIN_INSTANCE || e->type.u.instance->nbound == 0)
        return 0;
    struct cbin_insttype *n = cdec_alloc(d, sizeof *n);
    if (n == NULL)
        return cdec_nomem(d);
    *n = *e->type.u.instance;
    n->nbound = 0;
    n->bound = NULL;
    e->type.u.instance = n;
    return 0;
}

/* ---- walking resources ------------------------------------------------------ */

typedef int (*resource_fn)(struct cdec *, uint32_t, void *);

static int walk_value(struct cdec *d, const struct ctype *t, resource_fn fn, void *arg)
{
    if (t == NULL || !(cvt_of(t)->flags & CVT_RESOURCE))
        return 0;
    int rc = cdec_work(d, 1);
    if (rc != 0)
        return rc;
    switch (t->kind) {
    case CT_OWN:
    case CT_BORROW:
        return fn(d, t->u.resource, arg);
    case CT_LIST:
    case CT_OPTION:
        return walk_value(d, t->u.elem, fn, arg);
    case CT_RESULT:
        rc = walk_value(d, t->u.result.ok, fn, arg);
        return rc != 0 ? rc : walk_value(d, t->u.result.err, fn, arg);
    case CT_RECORD:
    case CT_TUPLE:
        for (uint32_t i = 0; rc == 0 && i < t->u.record.n; i++)
            rc = walk_value(d, t->u.record.fields[i].type, fn, arg);
        return rc;
    case CT_VARIANT:
        for (uint32_t i = 0; rc == 0 && i < t->u.variant.n; i++)
            rc = walk_value(d, t->u.variant.cases[i].type, fn, arg);
        return rc;
    default:
        return 0;
    }
}

static int walk_type(struct cdec *d, const struct cbin_type *t, resource_fn fn, void *arg)
{
    int rc = 0;
    switch (t->kind) {
    case CBIN_T_VALUE:
        return walk_value(d, t->u.value, fn, arg);
    case CBIN_T_FUNC:
        for (uint32_t i = 0; rc == 0 && i < t->u.func->nparams; i++)
            rc = walk_value(d, t->u.func->params[i].type, fn, arg);
        return rc != 0 ? rc : walk_value(d, t->u.func->result, fn, arg);
    case CBIN_T_RESOURCE:
        return fn(d, t->u.resource, arg);
    case CBIN_T_INSTANCE: {
        const struct cbin_externs *x = &t->u.instance->exports;
        rc = cdec_work(d, x->n);
        for (uint32_t i = 0; rc == 0 && i < x->n; i++)
            if (x->v[i].sort != CBIN_CORE_MODULE)
                rc = walk_type(d, &x->v[i].type, fn, arg);
        return rc;
    }
    default:
        return 0;
    }
}

int cwalk_resources(struct cdec *d, const struct cbin_extern *e, resource_fn fn, void *arg)
{
    if (e->sort == CBIN_CORE_MODULE || e->sort == CBIN_COMPONENT)
        return 0;
    return walk_type(d, &e->type, fn, arg);
}

/* ---- equality ----------------------------------------------------------------- */

static bool same_name(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int cequal_value(struct cdec *d, const struct ctype *a, const struct ctype *b, bool *eq)
{
    *eq = a == b;
    if (a == b || a == NULL || b == NULL || a->kind != b->kind)
        return 0;
    int rc = cdec_work(d, 1);
    if (rc != 0)
        return rc;
    switch (a->kind) {
    case CT_LIST:
    case CT_OPTION:
        return cequal_value(d, a->u.elem, b->u.elem, eq);
    case CT_RESULT:
        rc = cequal_value(d, a->u.result.ok, b->u.result.ok, eq);
        if (rc == 0 && *eq)
            rc = cequal_value(d, a->u.result.err, b->u.result.err, eq);
        return rc;
    case CT_RECORD:
    case CT_TUPLE:
        if (a->u.record.n != b->u.record.n)
            return 0;
        *eq = true;
        for (uint32_t i = 0; rc == 0 && *eq && i < a->u.record.n; i++) {
            *eq = same_name(a->u.record.fields[i].name, b->u.record.fields[i].name);
            if (*eq)
                rc = cequal_value(d, a->u.record.fields[i].type, b->u.record.fields[i].type, eq);
        }
        return rc;
    case CT_VARIANT:
    case CT_ENUM:
        if (a->u.variant.n != b->u.variant.n)
            return 0;
        *eq = true;
        for (uint32_t i = 0; rc == 0 && *eq && i < a->u.variant.n; i++) {
            const struct ctype_case *x = &a->u.variant.cases[i], *y = &b->u.variant.cases[i];
            *eq = same_name(x->name, y->name) && (x->type == NULL) == (y->type == NULL);
            if (*eq && x->type != NULL)
                rc = cequal_value(d, x->type, y->type, eq);
        }
        return rc;
    case CT_FLAGS:
        if (a->u.flags.n != b->u.flags.n)
            return 0;
        for (uint32_t i = 0; i < a->u.flags.n; i++)
            if (!same_name(a->u.flags.names[i], b->u.flags.names[i]))
                return 0;
        *eq = true;
        return 0;
    case CT_OWN:
    case CT_BORROW:
        *eq = a->u.resource == b->u.resource;
        return 0;
    default:
        *eq = true; /* primitives of the same kind */
        return 0;
    }
}

int cequal_func(struct cdec *d, const struct cfunctype *a, const struct cfunctype *b, bool *eq)
{
    *eq = a == b;
    if (a == b)
        return 0;
    if (a->nparams != b->nparams || (a->result == NULL) != (b->result == NULL))
        return 0;
    int rc = 0;
    *eq = true;
    for (uint32_t i = 0; rc == 0 && *eq && i < a->nparams; i++) {
        *eq = same_name(a->params[i].name, b->params[i].name);
        if (*eq)
            rc = cequal_value(d, a->params[i].type, b->params[i].type, eq);
    }
    if (rc == 0 && *eq && a->result != NULL)
        rc = cequal_value(d, a->result, b->result, eq);
    return rc;
}

/* ---- matching ------------------------------------------------------------------- */

static bool cmatch_limits(const struct spry_limits *expected, const struct spry_limits *actual)
{
    if (actual->min < expected->min)
        return false;
    if (expected->has_max && (!actual->has_max || actual->max > expected->max))
        return false;
    return true;
}

bool cmatch_core(const struct spry_externtype *expected, const struct spry_externtype *actual)
{
    if (expected->kind != actual->kind)
        return false;
    switch (expected->kind) {
    case SPRY_EXTERN_FUNC: {
        const struct spry_functype *a = &expected->type.func, *b = &actual->type.func;
        return a->nparams == b->nparams && a->nresults == b->nresults &&
               memcmp(a->params, b->params, a->nparams) == 0 &&
               memcmp(a->results, b->results, a->nresults) == 0;
    }
    case SPRY_EXTERN_TABLE:
        return expected->type.table.elem == actual->type.table.elem &&
               cmatch_limits(&expected->type.table.limits, &actual->type.table.limits);
    case SPRY_EXTERN_MEMORY:
        return cmatch_limits(&expected->type.memory, &actual->type.memory);
    case SPRY_EXTERN_GLOBAL:
        return expected->type.global.type == actual->type.global.type &&
               expected->type.global.mutable_ == actual->type.global.mutable_;
    default:
        return false;
    }
}

static const struct spry_externtype *find_import(const struct cbin_coreexterns *list,
                                                 const struct spry_externtype *x)
{
    for (uint32_t i = 0; i < list->n; i++) {
        const struct spry_externtype *y = &list->v[i];
        if (y->module_len == x->module_len && y->name_len == x->name_len &&
            memcmp(y->module, x->module, x->module_len) == 0 &&
            memcmp(y->name, x->name, x->name_len) == 0)
            return y;
    }
    return NULL;
}

/* A module of type `actual` where one of type `expected` is wanted: it needs
 * no import expected does not promise, and has every export expected has. */
static int match_module(struct cdec *d, size_t at, const struct cbin_moduletype *expected,
                        const struct cbin_moduletype *actual, const char *what)
{
    int rc = cdec_work(d, (uint64_t)actual->imports.n * (expected->imports.n + 1));
    for (uint32_t i = 0; rc == 0 && i < actual->imports.n; i++) {
        const struct spry_externtype *x = &actual->imports.v[i];
        const struct spry_externtype *y = find_import(&expected->imports, x);
        if (y == NULL || !cmatch_core(x, y))
            return cdec_fail(d, SPRY_EINVALID, at, "%s: module import \"%.*s\" \"%.*s\" %s", what,
                             (int)x->module_len, x->module, (int)x->name_len, x->name,
                             y == NULL ? "is not in the expected type" : "has the wrong type");
    }
    for (uint32_t i = 0; rc == 0 && i < expected->exports.n; i++) {
        const struct spry_externtype *x = &expected->exports.v[i];
        const struct spry_externtype *y =
            cbin_coreexterns_find(&actual->exports, x->name, x->name_len);
        if (y == NULL || !cmatch_core(x, y))
            return cdec_fail(d, SPRY_EINVALID, at, "%s: module export \"%.*s\" %s", what,
                             (int)x->name_len, x->name,
                             y == NULL ? "is missing" : "has the wrong type");
    }
    return rc;
}

static int mismatch(struct cdec *d, size_t at, const char *what, const struct cbin_extern *e,
                    const char *detail)
{
    return cdec_fail(d, SPRY_EINVALID, at, "%s \"%s\": %s", what, e->name != NULL ? e->name : "",
                     detail);
}

static int match_type(struct cdec *d, size_t at, const struct cbin_extern *expected,
                      const struct cbin_extern *actual, struct cmap *m, const char *what)
{
    const struct cbin_type *x = &expected->type, *y = &actual->type;
    if (x->kind == CBIN_T_RESOURCE) {
        uint32_t to;
        if (!cmap_get(m, x->u.resource, &to)) {
            if (cdec_resource(d, x->u.resource)->kind == CBIN_RES_ABSTRACT) {
                if (y->kind != CBIN_T_RESOURCE)
                    return mismatch(d, at, what, expected, "expected a resource type");
                return cmap_put(d, m, x->u.resource, y->u.resource);
            }
            to = x->u.resource;
        }
        if (y->kind != CBIN_T_RESOURCE || y->u.resource != to)
            return mismatch(d, at, what, expected, "resource types differ");
        return 0;
    }
    if (x->kind != y->kind)
        return mismatch(d, at, what, expected, "types of different kinds");
    struct cbin_type xs;
    bool eq = false;
    int rc = csubst_type(d, m, x, &xs);
    if (rc != 0)
        return rc;
    switch (x->kind) {
    case CBIN_T_VALUE:
        rc = cequal_value(d, xs.u.value, y->u.value, &eq);
        break;
    case CBIN_T_FUNC:
        rc = cequal_func(d, xs.u.func, y->u.func, &eq);
        break;
    default:
        eq = xs.u.instance == y->u.instance; /* same definition; structural
                                                equality of type-typed
                                                exports is not needed */
        break;
    }
    if (rc == 0 && !eq)
        rc = mismatch(d, at, what, expected, "types differ");
    return rc;
}

static int match_component(struct cdec *d, size_t at, const struct cbin_comptype *x,
                           const struct cbin_comptype *y, struct cmap *m, const char *what)
{
    if (x->nbound_imports + x->nbound_exports + y->nbound_imports + y->nbound_exports > 0)
        return cdec_fail(d, SPRY_EUNSUPPORTED, at,
                         "%s: passing components whose types have resources is not supported",
                         what);
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < y->imports.n; i++) {
        const struct cbin_extern *a = &y->imports.v[i];
        const struct cbin_extern *b = cbin_externs_find(&x->imports, a->name, a->name_len);
        if (b == NULL)
            return mismatch(d, at, what, a, "component import not in the expected type");
        rc = cmatch_extern(d, at, a, b, m, what);
    }
    for (uint32_t i = 0; rc == 0 && i < x->exports.n; i++) {
        const struct cbin_extern *a = &x->exports.v[i];
        const struct cbin_extern *b = cbin_externs_find(&y->exports, a->name, a->name_len);
        if (b == NULL)
            return mismatch(d, at, what, a, "component export missing");
        rc = cmatch_extern(d, at, a, b, m, what);
    }
    return rc;
}

int cmatch_extern(struct cdec *d, size_t at, const struct cbin_extern *expected,
                  const struct cbin_extern *actual, struct cmap *m, const char *what)
{
    if (expected->sort != actual->sort)
        return cdec_fail(d, SPRY_EINVALID, at, "%s \"%s\": expected a %s, found a %s", what,
                         expected->name != NULL ? expected->name : "",
                         cbin_sort_name(expected->sort), cbin_sort_name(actual->sort));
    int rc = cdec_work(d, 1);
    if (rc != 0)
        return rc;
    switch (expected->sort) {
    case CBIN_FUNC:
    case CBIN_TYPE:
        return match_type(d, at, expected, actual, m, what);
    case CBIN_INSTANCE: {
        const struct cbin_externs *x = &expected->type.u.instance->exports;
        const struct cbin_externs *y = &actual->type.u.instance->exports;
        for (uint32_t i = 0; rc == 0 && i < x->n; i++) {
            const struct cbin_extern *a = &x->v[i];
            const struct cbin_extern *b = cbin_externs_find(y, a->name, a->name_len);
            if (b == NULL)
                return mismatch(d, at, what, a, "instance export missing");
            rc = cmatch_extern(d, at, a, b, m, what);
        }
        return rc;
    }
    case CBIN_COMPONENT:
        return match_component(d, at, expected->type.u.component, actual->type.u.component, m,
                               what);
    case CBIN_CORE_MODULE:
        return match_module(d, at, expected->module, actual->module, what);
    default:
        return cdec_fail(d, SPRY_EUNSUPPORTED, at, "%s: sort %s", what,
                         cbin_sort_name(expected->sort));
    }
}

/* ---- items --------------------------------------------------------------------------- */

int cdec_item_extern(struct cdec *d, const struct cscope *s, uint8_t sort, uint32_t index,
                     struct cbin_extern *out)
{
    (void)d;
    SPRY_ASSERT(index < cdec_space_count(s, sort));
    memset(out, 0, sizeof *out);
    out->sort = sort;
    switch (sort) {
    case CBIN_FUNC:
        out->type.kind = CBIN_T_FUNC;
        out->type.u.func = ((const struct cfunctype **)s->funcs.p)[index];
        return 0;
    case CBIN_TYPE:
        out->type = ((const struct cbin_type *)s->types.p)[index];
        return 0;
    case CBIN_INSTANCE:
        out->type.kind = CBIN_T_INSTANCE;
        out->type.u.instance = ((const struct cbin_insttype **)s->instances.p)[index];
        return 0;
    case CBIN_COMPONENT:
        out->type.kind = CBIN_T_COMPONENT;
        out->type.u.component = ((const struct cbin_componentref *)s->components.p)[index].type;
        return 0;
    case CBIN_CORE_MODULE:
        out->module = ((const struct cbin_module *)s->core_modules.p)[index].type;
        return 0;
    default:
        SPRY_ASSERT(!"cdec_item_extern: sort");
        return SPRY_EINVAL;
    }
}

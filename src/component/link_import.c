/*
 * The root component's imports against the host (link.h, "Linking
 * rules"): which host interface serves an import, the resource types it
 * declares bound to the host's, and every function it declares checked
 * against the host's signature. Errors name the import and the function.
 */
#include "component/link_impl.h"

#include "base/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- type equality and printing ------------------------------------------- */

static bool name_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Whether component type c (resource ids of the decoded tree, bound through
 * link->res) equals host type h (host resource ids). Types are bounded in
 * depth (64) by the decoder and the WIT parser. */
static bool type_eq(const struct clink *l, const struct ctype *c, const struct ctype *h)
{
    if (c == NULL || h == NULL)
        return c == h;
    if (c == h)
        return true;
    if (c->kind != h->kind)
        return false;
    switch (c->kind) {
    case CT_LIST:
    case CT_OPTION:
        return type_eq(l, c->u.elem, h->u.elem);
    case CT_RECORD:
    case CT_TUPLE:
        if (c->u.record.n != h->u.record.n)
            return false;
        for (uint32_t i = 0; i < c->u.record.n; i++)
            if (!name_eq(c->u.record.fields[i].name, h->u.record.fields[i].name) ||
                !type_eq(l, c->u.record.fields[i].type, h->u.record.fields[i].type))
                return false;
        return true;
    case CT_VARIANT:
    case CT_ENUM:
        if (c->u.variant.n != h->u.variant.n)
            return false;
        for (uint32_t i = 0; i < c->u.variant.n; i++)
            if (!name_eq(c->u.variant.cases[i].name, h->u.variant.cases[i].name) ||
                !type_eq(l, c->u.variant.cases[i].type, h->u.variant.cases[i].type))
                return false;
        return true;
    case CT_RESULT:
        return type_eq(l, c->u.result.ok, h->u.result.ok) &&
               type_eq(l, c->u.result.err, h->u.result.err);
    case CT_FLAGS:
        if (c->u.flags.n != h->u.flags.n)
            return false;
        for (uint32_t i = 0; i < c->u.flags.n; i++)
            if (!name_eq(c->u.flags.names[i], h->u.flags.names[i]))
                return false;
        return true;
    case CT_OWN:
    case CT_BORROW: {
        const struct lres *r = &l->res[c->u.resource];
        return r->kind == LRES_HOST && r->index == h->u.resource;
    }
    default:
        return true;
    }
}

static bool func_eq(const struct clink *l, const struct cfunctype *c, const struct cfunctype *h)
{
    if (c->nparams != h->nparams)
        return false;
    for (uint32_t i = 0; i < c->nparams; i++)
        if (!name_eq(c->params[i].name, h->params[i].name) ||
            !type_eq(l, c->params[i].type, h->params[i].type))
            return false;
    return type_eq(l, c->result, h->result);
}

/* A bounded text buffer: appends stop at the end and leave "...". */
struct tbuf {
    char *p;
    size_t n, used;
};

static void tput(struct tbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tput(struct tbuf *b, const char *fmt, ...)
{
    if (b->used + 1 >= b->n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p + b->used, b->n - b->used, fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    b->used += (size_t)k;
    if (b->used + 1 >= b->n) {
        b->used = b->n - 1;
        if (b->n >= 4)
            memcpy(b->p + b->n - 4, "...", 4);
    }
}

/* The name of resource `id` on one side: the component's (host false) or
 * the host's. */
static const char *res_name(const struct lbuild *b, bool host, uint32_t id)
{
    if (host) {
        const struct wit_iface *wi;
        const struct chost_resource *res;
        if (wit_host_resource(&b->host->wit, id, &wi, &res) == 0 && res->name != NULL)
            return res->name;
        return "resource";
    }
    const char *n = id < b->bin->nresources ? b->bin->resources[id].name : NULL;
    return n != NULL ? n : "resource";
}

static const char *const prim_names[] = {
    [CT_BOOL] = "bool",     [CT_S8] = "s8",   [CT_U8] = "u8",   [CT_S16] = "s16",
    [CT_U16] = "u16",       [CT_S32] = "s32", [CT_U32] = "u32", [CT_S64] = "s64",
    [CT_U64] = "u64",       [CT_F32] = "f32", [CT_F64] = "f64", [CT_CHAR] = "char",
    [CT_STRING] = "string",
};

/* Prints t as WIT writes types (records, variants, enums and flags with
 * their members, since structure is what was compared). */
static void type_print(struct tbuf *o, const struct lbuild *b, bool host, const struct ctype *t)
{
    if (o->used + 1 >= o->n)
        return;
    if (t == NULL) {
        tput(o, "_");
        return;
    }
    switch (t->kind) {
    case CT_LIST:
    case CT_OPTION:
        tput(o, t->kind == CT_LIST ? "list<" : "option<");
        type_print(o, b, host, t->u.elem);
        tput(o, ">");
        break;
    case CT_RECORD:
    case CT_TUPLE:
        tput(o, t->kind == CT_RECORD ? "record{" : "tuple<");
        for (uint32_t i = 0; i < t->u.record.n; i++) {
            const struct ctype_field *f = &t->u.record.fields[i];
            tput(o, "%s%s%s", i ? ", " : "", f->name != NULL ? f->name : "",
                 f->name != NULL ? ": " : "");
            type_print(o, b, host, f->type);
        }
        tput(o, t->kind == CT_RECORD ? "}" : ">");
        break;
    case CT_VARIANT:
    case CT_ENUM:
        tput(o, t->kind == CT_VARIANT ? "variant{" : "enum{");
        for (uint32_t i = 0; i < t->u.variant.n; i++) {
            const struct ctype_case *c = &t->u.variant.cases[i];
            tput(o, "%s%s", i ? ", " : "", c->name);
            if (c->type != NULL) {
                tput(o, "(");
                type_print(o, b, host, c->type);
                tput(o, ")");
            }
        }
        tput(o, "}");
        break;
    case CT_RESULT:
        tput(o, "result<");
        type_print(o, b, host, t->u.result.ok);
        tput(o, ", ");
        type_print(o, b, host, t->u.result.err);
        tput(o, ">");
        break;
    case CT_FLAGS:
        tput(o, "flags{");
        for (uint32_t i = 0; i < t->u.flags.n; i++)
            tput(o, "%s%s", i ? ", " : "", t->u.flags.names[i]);
        tput(o, "}");
        break;
    case CT_OWN:
    case CT_BORROW:
        tput(o, "%s<%s>", t->kind == CT_OWN ? "own" : "borrow", res_name(b, host, t->u.resource));
        break;
    default:
        tput(o, "%s",
             t->kind < sizeof prim_names / sizeof prim_names[0] ? prim_names[t->kind] : "?");
    }
}

static void func_print(char *buf, size_t n, const struct lbuild *b, bool host,
                       const struct cfunctype *f)
{
    struct tbuf o = {buf, n, 0};
    buf[0] = '\0';
    tput(&o, "func(");
    for (uint32_t i = 0; i < f->nparams; i++) {
        tput(&o, "%s%s: ", i ? ", " : "", f->params[i].name != NULL ? f->params[i].name : "_");
        type_print(&o, b, host, f->params[i].type);
    }
    tput(&o, ")");
    if (f->result != NULL) {
        tput(&o, " -> ");
        type_print(&o, b, host, f->result);
    }
}

/* ---- host functions and resources ---------------------------------------------- */

int lbuild_add_hfunc(struct lbuild *b, const struct wit_func *wf, chost_fn fn, const char *name,
                     uint32_t *index)
{
    if (b->nhfuncs == b->caphfuncs) {
        uint32_t cap = b->caphfuncs == 0 ? 32 : b->caphfuncs * 2;
        struct lhfunc *v = spry_realloc_array(b->hfuncs, cap, sizeof *v);
        if (v == NULL)
            return spry_report_set(b->report, SPRY_ENOMEM, "out of memory linking");
        b->hfuncs = v;
        b->caphfuncs = cap;
    }
    b->hfuncs[b->nhfuncs] = (struct lhfunc){wf, fn, name};
    *index = b->nhfuncs++;
    return 0;
}

int lbuild_bind(struct lbuild *b, uint32_t cinst, uint32_t id, struct lres r, const char *what)
{
    struct lres *cur = &b->link->cres[cinst][id];
    if (cur->kind != LRES_NONE && (cur->kind != r.kind || cur->index != r.index))
        return spry_report_set(b->report, SPRY_EUNSUPPORTED,
                               "%s: resource type '%s' would be bound twice in one component "
                               "instance",
                               what, res_name(b, false, id));
    *cur = r;
    if (b->link->res[id].kind == LRES_NONE)
        b->link->res[id] = r;
    return 0;
}

int lbuild_add_cinst(struct lbuild *b, uint32_t parent, uint32_t *cinst)
{
    struct clink *l = b->link;
    if (l->ncinsts == b->capcres) {
        uint32_t cap = b->capcres == 0 ? 8 : b->capcres * 2;
        struct lres **v = spry_realloc_array(l->cres, cap, sizeof *v);
        if (v == NULL)
            return spry_report_set(b->report, SPRY_ENOMEM, "out of memory linking the component");
        l->cres = v;
        b->capcres = cap;
    }
    uint32_t n = b->bin->nresources;
    struct lres *r = spry_calloc(n + 1, sizeof *r);
    if (r == NULL)
        return spry_report_set(b->report, SPRY_ENOMEM, "out of memory linking the component");
    if (parent != UINT32_MAX && n > 0)
        memcpy(r, l->cres[parent], n * sizeof *r);
    l->cres[l->ncinsts] = r;
    *cinst = l->ncinsts++;
    return 0;
}

static chost_fn host_fn(const struct wit_iface *wi, const char *name)
{
    for (size_t i = 0; i < wi->host->nfuncs; i++)
        if (wi->host->funcs[i].name != NULL && strcmp(wi->host->funcs[i].name, name) == 0)
            return wi->host->funcs[i].fn;
    return NULL;
}

struct lres limport_host_resource(const struct lbuild *b, const struct litem *inst,
                                  const char *name)
{
    (void)b;
    const struct wit_iface *wi = inst->iface;
    for (size_t j = 0; j < wi->host->nresources; j++)
        if (name != NULL && name_eq(wi->host->resources[j].name, name))
            return (struct lres){LRES_HOST, wi->resource_base + (uint32_t)j};
    return (struct lres){LRES_NONE, 0};
}

/* "import#name", or the name alone for the world's functions. */
static const char *func_label(struct lbuild *b, const char *import, const char *name)
{
    size_t il = import != NULL ? strlen(import) : 0, nl = strlen(name);
    char *s = spry_arena_alloc(&b->link->arena, il + nl + 2);
    if (s == NULL)
        return NULL;
    if (il > 0) {
        memcpy(s, import, il);
        s[il++] = '#';
    }
    memcpy(s + il, name, nl + 1);
    return s;
}

int limport_host_func(struct lbuild *b, const struct litem *inst, const char *name,
                      struct litem *out)
{
    const struct wit_func *wf = wit_iface_func(inst->iface, name);
    chost_fn fn = wf != NULL ? host_fn(inst->iface, name) : NULL;
    if (fn == NULL)
        return spry_report_set(b->report, SPRY_EUNLINKABLE,
                               "import %s: the host has no function '%s'", inst->import, name);
    const char *label = func_label(b, inst->import, name);
    if (label == NULL)
        return spry_report_set(b->report, SPRY_ENOMEM, "out of memory linking");
    *out = (struct litem){.kind = LI_HOSTFUNC};
    return lbuild_add_hfunc(b, wf, fn, label, &out->index);
}

/* Checks the component's type of function `name` against the host's. */
static int check_func(struct lbuild *b, const char *import, const struct wit_iface *wi,
                      const char *name, const struct cfunctype *want)
{
    const char *where = import != NULL ? import : "the world";
    const struct wit_func *wf = wit_iface_func(wi, name);
    if (wf == NULL)
        return spry_report_set(b->report, SPRY_EUNLINKABLE,
                               "import %s: function '%s' is not provided by the host's %s%s%s",
                               where, name, wi->host->name[0] ? wi->host->name : "world",
                               wi->host->version != NULL ? "@" : "",
                               wi->host->version != NULL ? wi->host->version : "");
    if (host_fn(wi, name) == NULL)
        return spry_report_set(b->report, SPRY_EUNLINKABLE,
                               "import %s: function '%s' is declared by the host but has no "
                               "implementation",
                               where, name);
    if (func_eq(b->link, want, &wf->type))
        return 0;
    char mine[200], theirs[200];
    func_print(mine, sizeof mine, b, false, want);
    func_print(theirs, sizeof theirs, b, true, &wf->type);
    return spry_report_set(b->report, SPRY_EUNLINKABLE,
                           "import %s: function '%s' has another type in the host: the component "
                           "wants %s, the host has %s",
                           where, name, mine, theirs);
}

/* ---- interfaces ------------------------------------------------------------------ */

/* The host interface serving import name `name` ("ns:pkg/iface@1.2.3"). */
static int find_iface(struct lbuild *b, const char *name, const struct wit_iface **out)
{
    const char *at = strchr(name, '@');
    size_t base = at != NULL ? (size_t)(at - name) : strlen(name);
    const char *ver = at != NULL ? at + 1 : NULL;
    const struct wit_iface *other = NULL;
    for (size_t i = 0; i < b->host->wit.nifaces; i++) {
        const struct wit_iface *wi = &b->host->wit.ifaces[i];
        const char *hn = wi->host->name, *hv = wi->host->version;
        if (strlen(hn) != base || memcmp(hn, name, base) != 0)
            continue;
        bool ok = ver == NULL  ? hv == NULL
                  : hv == NULL ? false
                               : wit_version_compatible(ver, strlen(ver), hv, strlen(hv));
        if (ok) {
            *out = wi;
            return 0;
        }
        other = wi;
    }
    if (other != NULL)
        return spry_report_set(b->report, SPRY_EUNLINKABLE,
                               "import %s: the host provides %s%s%s, which is not compatible "
                               "(same major version needed, and the same minor for 0.x)",
                               name, other->host->name, other->host->version != NULL ? "@" : "",
                               other->host->version != NULL ? other->host->version : "");
    return spry_report_set(b->report, SPRY_EUNLINKABLE,
                           "import %s: Spry does not provide the interface %.*s", name, (int)base,
                           name);
}

static int import_iface(struct lbuild *b, const struct cbin_import *imp, uint32_t index,
                        struct litem *out)
{
    const char *name = imp->ext.name;
    const struct wit_iface *wi = NULL;
    int rc = find_iface(b, name, &wi);
    if (rc != 0)
        return rc;
    const struct cbin_insttype *it = imp->ext.type.u.instance;
    /* Resources first: functions' types refer to them. */
    for (uint32_t k = 0; k < it->exports.n; k++) {
        const struct cbin_extern *x = &it->exports.v[k];
        if (x->sort == CBIN_INSTANCE || x->sort == CBIN_COMPONENT || x->sort == CBIN_CORE_MODULE)
            return spry_report_set(b->report, SPRY_EUNSUPPORTED,
                                   "import %s: its %s export '%s' is not supported", name,
                                   cbin_sort_name(x->sort), x->name);
        if (x->sort != CBIN_TYPE || x->type.kind != CBIN_T_RESOURCE)
            continue;
        uint32_t id = x->type.u.resource;
        const struct cbin_resource *r = &b->bin->resources[id];
        if (r->kind != CBIN_RES_IMPORTED || r->owner != b->bin->root->serial || r->index != index)
            continue; /* another import's resource, bound there */
        if (r->name != NULL && strcmp(r->name, x->name) != 0)
            continue; /* `type headers = fields`: another name for a resource declared above */
        struct litem inst = {.kind = LI_HOSTINST, .iface = wi, .import = name};
        struct lres hr = limport_host_resource(b, &inst, x->name);
        if (hr.kind == LRES_NONE)
            return spry_report_set(b->report, SPRY_EUNLINKABLE,
                                   "import %s: resource '%s' is not provided by the host", name,
                                   x->name);
        rc = lbuild_bind(b, 0, id, hr, name);
        if (rc != 0)
            return rc;
    }
    for (uint32_t k = 0; k < it->exports.n; k++) {
        const struct cbin_extern *x = &it->exports.v[k];
        if (x->sort != CBIN_FUNC)
            continue;
        rc = check_func(b, name, wi, x->name, x->type.u.func);
        if (rc != 0)
            return rc;
    }
    *out = (struct litem){.kind = LI_HOSTINST, .iface = wi, .import = name};
    return 0;
}

int limport_root(struct lbuild *b, const struct cbin_import *imp, uint32_t index, struct litem *out)
{
    const struct cbin_extern *e = &imp->ext;
    if (e->sort == CBIN_INSTANCE && e->interface)
        return import_iface(b, imp, index, out);
    const struct wit_iface *world = wit_host_iface(&b->host->wit, "");
    if (e->sort == CBIN_FUNC && !e->interface) {
        if (world == NULL)
            return spry_report_set(b->report, SPRY_EUNLINKABLE,
                                   "import '%s': the host provides no world functions", e->name);
        int rc = check_func(b, NULL, world, e->name, e->type.u.func);
        if (rc != 0)
            return rc;
        struct litem inst = {.kind = LI_HOSTINST, .iface = world, .import = NULL};
        return limport_host_func(b, &inst, e->name, out);
    }
    if (e->sort == CBIN_TYPE && e->type.kind == CBIN_T_RESOURCE && !e->interface) {
        struct litem inst = {.kind = LI_HOSTINST, .iface = world};
        struct lres hr =
            world != NULL ? limport_host_resource(b, &inst, e->name) : (struct lres){LRES_NONE, 0};
        if (hr.kind == LRES_NONE)
            return spry_report_set(b->report, SPRY_EUNLINKABLE,
                                   "import '%s': the host provides no resource of that name",
                                   e->name);
        *out = (struct litem){.kind = LI_TYPE, .type = &e->type};
        return lbuild_bind(b, 0, e->type.u.resource, hr, e->name);
    }
    if (e->sort == CBIN_TYPE) {
        *out = (struct litem){.kind = LI_TYPE, .type = &e->type};
        return 0; /* a value type: nothing to provide */
    }
    return spry_report_set(
        b->report, SPRY_EUNSUPPORTED, "import '%s': importing a %s%s is not supported", e->name,
        cbin_sort_name(e->sort), e->sort == CBIN_INSTANCE ? " by a plain name" : "");
}

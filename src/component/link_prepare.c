/*
 * Prepare: the root component's definitions walked once, nested component
 * instantiations flattened statically, into the tables of struct clink
 * (link_impl.h) and one linked pool group.
 *
 * A scope is one component instance being flattened: for each sort, what
 * each index is (struct lsrc for core funcs, tables, memories and globals;
 * struct lcore for core instances; struct litem for the component-level
 * sorts). Definitions are walked in binary order, which never meets a
 * forward reference (binary.h). An `instantiate` of a nested component
 * makes a child scope whose imports are the arguments' items, walks the
 * child's definitions, and gives the parent a map of the child's exports.
 * Types need no scope: the decoder resolved them, and resource ids are
 * bound in link->res as imports, definitions and instantiations are met.
 */
#include "component/link_impl.h"

#include "base/alloc.h"

#include <stdio.h>
#include <string.h>

/* A core instance: a member of the group, or a bundle of items. */
struct lcore {
    bool bundle;
    uint32_t member;
    const struct cbin_coreexterns *exports; /* bundle: names (by_name) */
    struct lsrc *items;                     /* bundle: parallel to exports->v */
};

struct lscope {
    const struct cbin_component *comp;
    const struct lscope *parent; /* the scope that instantiated this one (NULL: root) */
    uint32_t cinst;
    struct lsrc *core_funcs, *core_tables, *core_memories, *core_globals;
    struct lcore *core_instances;
    struct litem *funcs, *instances, *components, *modules;
    struct litem *imports; /* nested components: the arguments, by import */
};

static int nomem(struct lbuild *b)
{
    return spry_report_set(b->report, SPRY_ENOMEM, "out of memory linking the component");
}

static int unsupported(struct lbuild *b, const struct cbin_component *c, const struct cbin_def *d,
                       const char *what)
{
    return spry_report_set(b->report, SPRY_EUNSUPPORTED,
                           "component %u, definition at offset %u: %s is not supported", c->serial,
                           d->offset, what);
}

/* Grows a table of struct clink by one entry; *slot is the new entry. */
static int grow(struct lbuild *b, void **v, uint32_t *n, uint32_t *cap, size_t size, void **slot)
{
    if (*n == *cap) {
        uint32_t c = *cap == 0 ? 16 : *cap * 2;
        void *p = spry_realloc_array(*v, c, size);
        if (p == NULL)
            return nomem(b);
        *v = p;
        *cap = c;
    }
    *slot = (char *)*v + (size_t)*n * size;
    memset(*slot, 0, size);
    (*n)++;
    return 0;
}

static int scope_init(struct lbuild *b, struct lscope *s, const struct cbin_component *c,
                      uint32_t cinst)
{
    struct spry_arena *a = &b->scratch;
    memset(s, 0, sizeof *s);
    s->comp = c;
    s->cinst = cinst;
    s->core_funcs = spry_arena_alloc_array(a, c->ncore_funcs + 1, sizeof(struct lsrc));
    s->core_tables = spry_arena_alloc_array(a, c->ncore_tables + 1, sizeof(struct lsrc));
    s->core_memories = spry_arena_alloc_array(a, c->ncore_memories + 1, sizeof(struct lsrc));
    s->core_globals = spry_arena_alloc_array(a, c->ncore_globals + 1, sizeof(struct lsrc));
    s->core_instances = spry_arena_alloc_array(a, c->ncore_instances + 1, sizeof(struct lcore));
    s->funcs = spry_arena_alloc_array(a, c->nfuncs + 1, sizeof(struct litem));
    s->instances = spry_arena_alloc_array(a, c->ninstances + 1, sizeof(struct litem));
    s->components = spry_arena_alloc_array(a, c->ncomponents + 1, sizeof(struct litem));
    s->modules = spry_arena_alloc_array(a, c->ncore_modules + 1, sizeof(struct litem));
    s->imports = spry_arena_alloc_array(a, c->nimports + 1, sizeof(struct litem));
    if (s->core_funcs == NULL || s->core_tables == NULL || s->core_memories == NULL ||
        s->core_globals == NULL || s->core_instances == NULL || s->funcs == NULL ||
        s->instances == NULL || s->components == NULL || s->modules == NULL || s->imports == NULL)
        return nomem(b);
    /* Static items: what the decoder already knows (inline and aliased
     * modules and components); imports replace theirs. */
    for (uint32_t i = 0; i < c->ncore_modules; i++)
        if (c->core_modules[i].module != NULL)
            s->modules[i] = (struct litem){.kind = LI_MODULE, .module = c->core_modules[i].module};
    for (uint32_t i = 0; i < c->ncomponents; i++)
        if (c->components[i].def != NULL)
            s->components[i] = (struct litem){.kind = LI_COMPONENT, .comp = c->components[i].def};
    return 0;
}

/* The core item `name` of core instance k. */
static int core_lookup(struct lbuild *b, const struct lscope *s, uint32_t k, const char *name,
                       size_t len, struct lsrc *out)
{
    const struct lcore *ci = &s->core_instances[k];
    if (!ci->bundle) {
        *out = (struct lsrc){LSRC_EXPORT, ci->member, name, len};
        return 0;
    }
    const struct spry_externtype *e = cbin_coreexterns_find(ci->exports, name, len);
    if (e == NULL)
        return spry_report_set(b->report, SPRY_EINVALID, "core instance %u has no export %.*s", k,
                               (int)len, name);
    *out = ci->items[e - ci->exports->v];
    return 0;
}

/* The component-level item (sort, index) of a scope. */
static int item_of(struct lbuild *b, const struct lscope *s, uint8_t sort, uint32_t index,
                   struct litem *out)
{
    switch (sort) {
    case CBIN_FUNC:
        *out = s->funcs[index];
        return 0;
    case CBIN_INSTANCE:
        *out = s->instances[index];
        return 0;
    case CBIN_COMPONENT:
        *out = s->components[index];
        return 0;
    case CBIN_CORE_MODULE:
        *out = s->modules[index];
        return 0;
    case CBIN_TYPE:
        *out = (struct litem){.kind = LI_TYPE, .index = s->cinst, .type = &s->comp->types[index]};
        return 0;
    default:
        return spry_report_set(b->report, SPRY_EUNSUPPORTED, "a %s as a component item",
                               cbin_sort_name(sort));
    }
}

static void item_set(struct lscope *s, uint8_t sort, uint32_t index, const struct litem *it)
{
    switch (sort) {
    case CBIN_FUNC:
        s->funcs[index] = *it;
        break;
    case CBIN_INSTANCE:
        s->instances[index] = *it;
        break;
    case CBIN_COMPONENT:
        s->components[index] = *it;
        break;
    case CBIN_CORE_MODULE:
        s->modules[index] = *it;
        break;
    default: /* types live in the decoded component */
        break;
    }
}

static struct lsrc *core_space(struct lscope *s, uint8_t sort)
{
    switch (sort) {
    case CBIN_CORE_FUNC:
        return s->core_funcs;
    case CBIN_CORE_TABLE:
        return s->core_tables;
    case CBIN_CORE_MEMORY:
        return s->core_memories;
    case CBIN_CORE_GLOBAL:
        return s->core_globals;
    default:
        return NULL;
    }
}

/* Counts `units` of flattening work (definitions visited, entries scanned)
 * against LINK_MAX_WORK: nested instantiations multiply both. */
static int spend(struct lbuild *b, uint64_t units)
{
    b->work += units;
    if (b->work <= LINK_MAX_WORK)
        return 0;
    return spry_report_set(b->report, SPRY_ETOOBIG,
                           "flattening the component's instantiations takes more than %u steps",
                           (unsigned)LINK_MAX_WORK);
}

static const struct litem *map_find(const struct lmap *m, const char *name)
{
    for (uint32_t i = 0; i < m->n; i++)
        if (strcmp(m->names[i], name) == 0)
            return &m->items[i];
    return NULL;
}

/* ---- core instances ----------------------------------------------------------- */

static int core_instantiate(struct lbuild *b, struct lscope *s, const struct cbin_def *d)
{
    struct clink *l = b->link;
    const struct litem *mi = &s->modules[d->u.inst.of];
    if (mi->kind != LI_MODULE)
        return unsupported(b, s->comp, d, "instantiating an imported core module");
    if (l->nmembers >= LINK_MAX_MEMBERS)
        return spry_report_set(b->report, SPRY_ETOOBIG,
                               "the component has more than %u core instances",
                               (unsigned)LINK_MAX_MEMBERS);
    const struct spry_module *m = mi->module;
    size_t n = spry_module_import_count(m);
    int rc = spend(b, (uint64_t)n * (d->u.inst.nargs + 1)); /* the argument searches */
    if (rc != 0)
        return rc;
    struct lsrc *imports = spry_arena_alloc_array(&l->arena, n + 1, sizeof *imports);
    if (imports == NULL)
        return nomem(b);
    for (size_t i = 0; i < n; i++) {
        struct spry_externtype imp;
        spry_module_import(m, i, &imp);
        const struct cbin_arg *a = NULL;
        for (uint32_t k = 0; k < d->u.inst.nargs && a == NULL; k++)
            if (d->u.inst.args[k].name_len == imp.module_len &&
                memcmp(d->u.inst.args[k].name, imp.module, imp.module_len) == 0)
                a = &d->u.inst.args[k];
        if (a == NULL)
            return spry_report_set(b->report, SPRY_EINVALID,
                                   "core instantiation at offset %u: no argument %.*s", d->offset,
                                   (int)imp.module_len, imp.module);
        rc = core_lookup(b, s, a->index, imp.name, imp.name_len, &imports[i]);
        if (rc != 0)
            return rc;
        if (imports[i].kind == LSRC_NONE)
            return spry_report_set(b->report, SPRY_EINVALID,
                                   "core instantiation at offset %u: import %.*s.%.*s has no "
                                   "source",
                                   d->offset, (int)imp.module_len, imp.module, (int)imp.name_len,
                                   imp.name);
    }
    struct lmember *mem;
    rc = grow(b, (void **)&l->members, &l->nmembers, &b->capmembers, sizeof *mem, (void **)&mem);
    if (rc != 0)
        return rc;
    mem->module = m;
    mem->imports = imports;
    s->core_instances[d->index] = (struct lcore){.member = l->nmembers - 1};
    return 0;
}

static int core_bundle(struct lbuild *b, struct lscope *s, const struct cbin_def *d)
{
    struct lsrc *items =
        spry_arena_alloc_array(&b->scratch, d->u.bundle.n + 1, sizeof(struct lsrc));
    if (items == NULL)
        return nomem(b);
    for (uint32_t i = 0; i < d->u.bundle.n; i++) {
        const struct cbin_arg *a = &d->u.bundle.items[i];
        const struct lsrc *space = core_space(s, a->sort);
        if (space == NULL)
            return unsupported(b, s->comp, d, "a core instance exporting that sort");
        items[i] = space[a->index];
    }
    s->core_instances[d->index] = (struct lcore){
        .bundle = true, .exports = s->comp->core_instances[d->index], .items = items};
    return 0;
}

/* ---- canonical functions ------------------------------------------------------- */

static int hostfn_add(struct lbuild *b, uint8_t kind, uint32_t index, struct lsrc *out)
{
    struct clink *l = b->link;
    struct lhostfn *h;
    int rc = grow(b, (void **)&l->hostfns, &l->nhostfns, &b->caphostfns, sizeof *h, (void **)&h);
    if (rc != 0)
        return rc;
    h->kind = kind;
    h->index = index;
    *out = (struct lsrc){.kind = LSRC_HOST, .index = l->nhostfns - 1};
    return 0;
}

/* A canonical option's core item: it must be a core instance's export. */
static int opt_src(struct lbuild *b, const struct lscope *s, const struct cbin_def *d,
                   const struct lsrc *space, bool has, uint32_t index, const char *what,
                   struct lsrc *out)
{
    *out = (struct lsrc){0};
    if (!has)
        return 0;
    *out = space[index];
    if (out->kind != LSRC_EXPORT) {
        char msg[96];
        snprintf(msg, sizeof msg, "a %s that is not a core instance's export", what);
        return unsupported(b, s->comp, d, msg);
    }
    return 0;
}

static int canon_lift(struct lbuild *b, struct lscope *s, const struct cbin_def *d)
{
    struct clink *l = b->link;
    const struct cbin_canon *c = d->u.canon;
    struct llift lift = {.type = c->type, .encoding = c->opts.encoding, .cinst = s->cinst};
    int rc = opt_src(b, s, d, s->core_funcs, true, c->func, "lift of a core function", &lift.core);
    if (rc == 0)
        rc = opt_src(b, s, d, s->core_memories, c->opts.has_memory, c->opts.memory, "memory",
                     &lift.memory);
    if (rc == 0)
        rc = opt_src(b, s, d, s->core_funcs, c->opts.has_realloc, c->opts.realloc, "realloc",
                     &lift.realloc);
    if (rc == 0)
        rc = opt_src(b, s, d, s->core_funcs, c->opts.has_post_return, c->opts.post_return,
                     "post-return", &lift.post_return);
    struct llift *slot;
    if (rc == 0)
        rc = grow(b, (void **)&l->lifts, &l->nlifts, &b->caplifts, sizeof *slot, (void **)&slot);
    if (rc != 0)
        return rc;
    *slot = lift;
    s->funcs[d->index] = (struct litem){.kind = LI_LIFT, .index = l->nlifts - 1};
    return 0;
}

static int canon_lower(struct lbuild *b, struct lscope *s, const struct cbin_def *d)
{
    struct clink *l = b->link;
    const struct cbin_canon *c = d->u.canon;
    const struct litem *f = &s->funcs[c->func];
    struct llower low = {
        .type = c->type, .core = &c->core, .encoding = c->opts.encoding, .cinst = s->cinst};
    if (f->kind == LI_LIFT) {
        /* Another component instance's function (the name is the lift's,
         * known once the exports are: slot_build takes it then). A lift of
         * this very instance would re-enter it, which the callee's may_enter
         * check turns into a trap at call time. */
        low.fn = link_c2c_call;
        low.lift = f->index;
    } else if (f->kind == LI_HOSTFUNC) {
        const struct lhfunc *hf = &b->hfuncs[f->index];
        low.name = hf->name;
        low.fn = hf->fn;
        low.lift = LLOWER_HOST;
    } else {
        return unsupported(b, s->comp, d, "lowering a function that is not a host import");
    }
    int rc = opt_src(b, s, d, s->core_memories, c->opts.has_memory, c->opts.memory, "memory",
                     &low.memory);
    if (rc == 0)
        rc = opt_src(b, s, d, s->core_funcs, c->opts.has_realloc, c->opts.realloc, "realloc",
                     &low.realloc);
    struct llower *slot;
    if (rc == 0)
        rc = grow(b, (void **)&l->lowers, &l->nlowers, &b->caplowers, sizeof *slot, (void **)&slot);
    if (rc != 0)
        return rc;
    *slot = low;
    return hostfn_add(b, LHOST_LOWER, l->nlowers - 1, &s->core_funcs[d->index]);
}

static int canon_builtin(struct lbuild *b, struct lscope *s, const struct cbin_def *d)
{
    struct clink *l = b->link;
    struct lbuiltin *slot;
    int rc = grow(b, (void **)&l->builtins, &l->nbuiltins, &b->capbuiltins, sizeof *slot,
                  (void **)&slot);
    if (rc != 0)
        return rc;
    slot->resource = d->u.index;
    slot->cinst = s->cinst;
    uint8_t kind = d->op == CBIN_OP_RESOURCE_NEW   ? LHOST_RESOURCE_NEW
                   : d->op == CBIN_OP_RESOURCE_REP ? LHOST_RESOURCE_REP
                                                   : LHOST_RESOURCE_DROP;
    return hostfn_add(b, kind, l->nbuiltins - 1, &s->core_funcs[d->index]);
}

static int define_resource(struct lbuild *b, struct lscope *s, const struct cbin_def *d)
{
    struct clink *l = b->link;
    uint32_t id = d->u.index;
    const struct cbin_resource *r = &b->bin->resources[id];
    struct ldefined def = {.name = r->name, .cinst = s->cinst}; /* NULL: named at export */
    int rc =
        opt_src(b, s, d, s->core_funcs, r->has_dtor, r->dtor, "resource destructor", &def.dtor);
    struct ldefined *slot;
    if (rc == 0)
        rc = grow(b, (void **)&l->defined, &l->ndefined, &b->capdefined, sizeof *slot,
                  (void **)&slot);
    if (rc != 0)
        return rc;
    *slot = def;
    return lbuild_bind(b, s->cinst, id, (struct lres){LRES_DEFINED, l->ndefined - 1},
                       def.name != NULL ? def.name : "resource");
}

/* ---- component instances -------------------------------------------------------- */

static int walk(struct lbuild *b, struct lscope *s, unsigned depth);

/* Binds the resource ids a nested component's import `j` declares to what
 * the argument provides. */
static int bind_child_import(struct lbuild *b, const struct cbin_component *child, uint32_t cinst,
                             uint32_t j, const struct litem *arg)
{
    const struct cbin_import *imp = &child->imports[j];
    int rc = spend(b, b->bin->nresources);
    for (uint32_t id = 0; rc == 0 && id < b->bin->nresources; id++) {
        const struct cbin_resource *r = &b->bin->resources[id];
        if (r->kind != CBIN_RES_IMPORTED || r->owner != child->serial || r->index != j)
            continue;
        struct lres to = {LRES_NONE, 0};
        if (imp->ext.sort == CBIN_TYPE && arg->kind == LI_TYPE &&
            arg->type->kind == CBIN_T_RESOURCE) {
            to = b->link->cres[arg->index][arg->type->u.resource];
        } else if (arg->kind == LI_HOSTINST) {
            to = limport_host_resource(b, arg, r->name);
        } else if (arg->kind == LI_MAP && r->name != NULL) {
            rc = spend(b, arg->map->n);
            const struct litem *x = rc == 0 ? map_find(arg->map, r->name) : NULL;
            if (x != NULL && x->kind == LI_TYPE && x->type->kind == CBIN_T_RESOURCE)
                to = b->link->cres[x->index][x->type->u.resource];
        }
        if (rc != 0 || to.kind == LRES_NONE)
            continue; /* unbound: a call that needs it traps */
        rc = lbuild_bind(b, cinst, id, to, imp->ext.name);
    }
    return rc;
}

static int instantiate(struct lbuild *b, struct lscope *s, const struct cbin_def *d, unsigned depth)
{
    const struct litem *ci = &s->components[d->u.inst.of];
    if (ci->kind != LI_COMPONENT)
        return unsupported(b, s->comp, d, "instantiating an imported component");
    const struct cbin_component *child = ci->comp;
    struct lscope cs;
    int rc = spend(b, (uint64_t)child->nimports * (d->u.inst.nargs + 1));
    uint32_t cinst = 0;
    if (rc == 0)
        rc = spend(b, b->bin->nresources); /* the instance's resource bindings */
    if (rc == 0)
        rc = lbuild_add_cinst(b, s->cinst, &cinst);
    if (rc == 0)
        rc = scope_init(b, &cs, child, cinst);
    cs.parent = s;
    for (uint32_t j = 0; rc == 0 && j < child->nimports; j++) {
        const struct cbin_import *imp = &child->imports[j];
        const struct cbin_arg *a = NULL;
        for (uint32_t k = 0; k < d->u.inst.nargs && a == NULL; k++)
            if (strcmp(d->u.inst.args[k].name, imp->ext.name) == 0)
                a = &d->u.inst.args[k];
        if (a == NULL)
            return spry_report_set(b->report, SPRY_EINVALID,
                                   "instantiation at offset %u: no argument \"%s\"", d->offset,
                                   imp->ext.name);
        rc = item_of(b, s, a->sort, a->index, &cs.imports[j]);
        if (rc == 0)
            rc = bind_child_import(b, child, cinst, j, &cs.imports[j]);
    }
    if (rc == 0)
        rc = walk(b, &cs, depth + 1);
    if (rc != 0)
        return rc;
    /* The parent sees the child's exports by name. */
    struct lmap *m = spry_arena_alloc(&b->scratch, sizeof *m);
    const char **names = spry_arena_alloc_array(&b->scratch, child->nexports + 1, sizeof *names);
    struct litem *items = spry_arena_alloc_array(&b->scratch, child->nexports + 1, sizeof *items);
    if (m == NULL || names == NULL || items == NULL)
        return nomem(b);
    for (uint32_t k = 0; k < child->nexports && rc == 0; k++) {
        const struct cbin_export *e = &child->exports[k];
        names[k] = e->ext.name;
        rc = item_of(b, &cs, e->ext.sort, e->index, &items[k]);
    }
    if (rc != 0)
        return rc;
    *m = (struct lmap){child->nexports, names, items};
    /* Resources the child exports: the parent's INSTANCE ids. */
    rc = spend(b, b->bin->nresources);
    for (uint32_t id = 0; id < b->bin->nresources && rc == 0; id++) {
        const struct cbin_resource *r = &b->bin->resources[id];
        if (r->kind != CBIN_RES_INSTANCE || r->owner != s->comp->serial || r->index != d->index ||
            r->name == NULL)
            continue;
        rc = spend(b, m->n);
        const struct litem *x = rc == 0 ? map_find(m, r->name) : NULL;
        if (x != NULL && x->kind == LI_TYPE && x->type->kind == CBIN_T_RESOURCE &&
            b->link->cres[x->index][x->type->u.resource].kind != LRES_NONE)
            rc =
                lbuild_bind(b, s->cinst, id, b->link->cres[x->index][x->type->u.resource], r->name);
    }
    s->instances[d->index] = (struct litem){.kind = LI_MAP, .map = m};
    return rc;
}

static int bundle(struct lbuild *b, struct lscope *s, const struct cbin_def *d)
{
    struct lmap *m = spry_arena_alloc(&b->scratch, sizeof *m);
    const char **names = spry_arena_alloc_array(&b->scratch, d->u.bundle.n + 1, sizeof *names);
    struct litem *items = spry_arena_alloc_array(&b->scratch, d->u.bundle.n + 1, sizeof *items);
    if (m == NULL || names == NULL || items == NULL)
        return nomem(b);
    for (uint32_t i = 0; i < d->u.bundle.n; i++) {
        const struct cbin_arg *a = &d->u.bundle.items[i];
        names[i] = a->name;
        int rc = item_of(b, s, a->sort, a->index, &items[i]);
        if (rc != 0)
            return rc;
    }
    *m = (struct lmap){d->u.bundle.n, names, items};
    s->instances[d->index] = (struct litem){.kind = LI_MAP, .map = m};
    return 0;
}

static int alias_export(struct lbuild *b, struct lscope *s, const struct cbin_def *d)
{
    const struct litem *inst = &s->instances[d->u.alias.instance];
    const char *name = d->u.alias.name;
    if (d->sort == CBIN_TYPE)
        return 0; /* resolved by the decoder */
    if (inst->kind == LI_HOSTINST) {
        if (d->sort != CBIN_FUNC)
            return unsupported(b, s->comp, d, "an alias of a host interface's non-function");
        return limport_host_func(b, inst, name, &s->funcs[d->index]);
    }
    if (inst->kind != LI_MAP)
        return unsupported(b, s->comp, d, "an alias of this instance's export");
    int rc = spend(b, inst->map->n);
    if (rc != 0)
        return rc;
    const struct litem *x = map_find(inst->map, name);
    if (x == NULL)
        return spry_report_set(b->report, SPRY_EINVALID, "alias at offset %u: no export \"%s\"",
                               d->offset, name);
    if (x->kind == LI_LIFT && b->link->lifts[x->index].alias == NULL)
        b->link->lifts[x->index].alias = name;
    item_set(s, d->sort, d->index, x);
    return 0;
}

/*
 * An outer alias of a module or component: the decoder resolved those
 * that are definitions; one that names an import of an enclosing component
 * is that component instance's argument, found in the scope that
 * instantiated this one, as long as each scope out is instantiated by its
 * lexical parent (a component definition passed elsewhere and instantiated
 * there would need the defining instance's scope, which is gone).
 */
static int alias_outer(struct lbuild *b, struct lscope *s, const struct cbin_def *d)
{
    bool module = d->sort == CBIN_CORE_MODULE;
    if (!module && d->sort != CBIN_COMPONENT)
        return 0; /* types: resolved by the decoder */
    const struct litem *have = module ? &s->modules[d->index] : &s->components[d->index];
    if (have->kind == (module ? LI_MODULE : LI_COMPONENT))
        return 0;
    const struct lscope *t = s;
    for (uint32_t k = 0; k < d->u.outer.count && t != NULL; k++) {
        const struct lscope *up = t->parent;
        if (up != NULL && t->comp->parent != up->comp)
            up = NULL;
        t = up;
    }
    if (t == NULL)
        return unsupported(b, s->comp, d,
                           "an outer alias of an imported module or component from a component "
                           "instantiated outside its definition");
    const struct litem *it =
        module ? &t->modules[d->u.outer.index] : &t->components[d->u.outer.index];
    if (it->kind != (module ? LI_MODULE : LI_COMPONENT))
        return unsupported(b, s->comp, d, "an outer alias of an item that is not known");
    item_set(s, d->sort, d->index, it);
    return 0;
}

/* A resource type the instance defines takes the name it is exported by
 * (for trap messages), unless it had one. */
static void name_defined(struct lbuild *b, const struct lscope *s, uint32_t id, const char *name)
{
    const struct lres *r = &b->link->cres[s->cinst][id];
    if (r->kind == LRES_DEFINED && b->link->defined[r->index].name == NULL)
        b->link->defined[r->index].name = name;
}

static int walk(struct lbuild *b, struct lscope *s, unsigned depth)
{
    const struct cbin_component *c = s->comp;
    if (depth > CBIN_MAX_NESTING)
        return spry_report_set(b->report, SPRY_ETOOBIG, "components nested too deep");
    for (uint32_t i = 0; i < c->ndefs; i++) {
        const struct cbin_def *d = &c->defs[i];
        int rc = spend(b, 1);
        if (rc != 0)
            return rc;
        switch (d->op) {
        case CBIN_OP_IMPORT: {
            struct litem it;
            if (c == b->bin->root)
                rc = limport_root(b, &c->imports[d->u.index], d->u.index, &it);
            else
                it = s->imports[d->u.index];
            if (rc == 0)
                item_set(s, d->sort, d->index, &it);
            break;
        }
        case CBIN_OP_EXPORT: {
            const struct cbin_export *e = &c->exports[d->u.index];
            struct litem it;
            rc = item_of(b, s, e->ext.sort, e->item, &it);
            if (rc == 0)
                item_set(s, d->sort, d->index, &it);
            if (rc == 0 && it.kind == LI_TYPE && it.type->kind == CBIN_T_RESOURCE)
                name_defined(b, s, it.type->u.resource, e->ext.name);
            break;
        }
        case CBIN_OP_CORE_MODULE:
        case CBIN_OP_COMPONENT:
        case CBIN_OP_TYPE:
            break; /* static, in the scope from the start */
        case CBIN_OP_ALIAS_OUTER:
            rc = alias_outer(b, s, d);
            break;
        case CBIN_OP_CORE_INSTANTIATE:
            rc = core_instantiate(b, s, d);
            break;
        case CBIN_OP_CORE_BUNDLE:
            rc = core_bundle(b, s, d);
            break;
        case CBIN_OP_CORE_ALIAS: {
            struct lsrc *space = core_space(s, d->sort);
            if (space == NULL)
                rc = unsupported(b, c, d, "a core alias of that sort");
            else
                rc = core_lookup(b, s, d->u.alias.instance, d->u.alias.name,
                                 strlen(d->u.alias.name), &space[d->index]);
            break;
        }
        case CBIN_OP_INSTANTIATE:
            rc = instantiate(b, s, d, depth);
            break;
        case CBIN_OP_BUNDLE:
            rc = bundle(b, s, d);
            break;
        case CBIN_OP_ALIAS:
            rc = alias_export(b, s, d);
            break;
        case CBIN_OP_RESOURCE:
            rc = define_resource(b, s, d);
            break;
        case CBIN_OP_LIFT:
            rc = canon_lift(b, s, d);
            break;
        case CBIN_OP_LOWER:
            rc = canon_lower(b, s, d);
            break;
        case CBIN_OP_RESOURCE_NEW:
        case CBIN_OP_RESOURCE_DROP:
        case CBIN_OP_RESOURCE_REP:
            rc = canon_builtin(b, s, d);
            break;
        default:
            rc = unsupported(b, c, d, "this definition");
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- exports --------------------------------------------------------------------- */

static int add_export(struct lbuild *b, uint32_t *cap, const char *iface, const char *name,
                      uint32_t lift)
{
    struct clink *l = b->link;
    struct clink_export *e;
    int rc = grow(b, (void **)&l->exports, &l->nexports, cap, sizeof *e, (void **)&e);
    if (rc != 0)
        return rc;
    *e = (struct clink_export){iface, name, l->lifts[lift].type, lift};
    if (l->lifts[lift].name == NULL) {
        size_t il = iface != NULL ? strlen(iface) + 1 : 0, nl = strlen(name);
        char *s = spry_arena_alloc(&l->arena, il + nl + 1);
        if (s == NULL)
            return nomem(b);
        if (iface != NULL) {
            memcpy(s, iface, il - 1);
            s[il - 1] = '#';
        }
        memcpy(s + il, name, nl + 1);
        l->lifts[lift].name = s;
    }
    return 0;
}

/* The root's exported functions, and the functions of its exported
 * instances (one level: WIT interfaces). */
static int collect_exports(struct lbuild *b, const struct lscope *root)
{
    const struct cbin_component *c = root->comp;
    uint32_t cap = 0;
    int rc = 0;
    for (uint32_t k = 0; k < c->nexports && rc == 0; k++) {
        const struct cbin_export *e = &c->exports[k];
        struct litem it;
        rc = item_of(b, root, e->ext.sort, e->index, &it);
        if (rc != 0)
            break;
        if (it.kind == LI_LIFT) {
            rc = add_export(b, &cap, NULL, e->ext.name, it.index);
        } else if (it.kind == LI_MAP) {
            for (uint32_t i = 0; i < it.map->n && rc == 0; i++)
                if (it.map->items[i].kind == LI_LIFT)
                    rc = add_export(b, &cap, e->ext.name, it.map->names[i], it.map->items[i].index);
        }
    }
    return rc;
}

/* ---- the pool group ----------------------------------------------------------------- */

static const uint8_t i32s[1] = {SPRY_I32};
static const struct spry_functype type_i32_i32 = {1, 1, i32s, i32s};
static const struct spry_functype type_i32_none = {1, 0, i32s, i32s};

static int make_group(struct lbuild *b, struct spry_pool *pool)
{
    struct clink *l = b->link;
    l->defs = spry_calloc(l->nhostfns + 1, sizeof *l->defs);
    l->group = spry_calloc(l->nmembers + 1, sizeof *l->group);
    l->group_imports = spry_calloc(l->nmembers + 1, sizeof *l->group_imports);
    if (l->defs == NULL || l->group == NULL || l->group_imports == NULL)
        return nomem(b);
    for (uint32_t k = 0; k < l->nhostfns; k++) {
        const struct lhostfn *h = &l->hostfns[k];
        struct spry_host_def *def = &l->defs[k];
        def->module = "";
        def->name = "";
        def->user = &l->hostfns[k];
        switch (h->kind) {
        case LHOST_LOWER:
            def->type = *l->lowers[h->index].core;
            def->fn = link_lower_tramp;
            break;
        case LHOST_RESOURCE_NEW:
            def->type = type_i32_i32;
            def->fn = link_new_tramp;
            break;
        case LHOST_RESOURCE_REP:
            def->type = type_i32_i32;
            def->fn = link_rep_tramp;
            break;
        default:
            def->type = type_i32_none;
            def->fn = link_drop_tramp;
            break;
        }
    }
    for (uint32_t k = 0; k < l->nmembers; k++) {
        const struct lmember *m = &l->members[k];
        size_t n = spry_module_import_count(m->module);
        struct spry_link_import *imports = spry_calloc(n + 1, sizeof *imports);
        if (imports == NULL)
            return nomem(b);
        l->group_imports[k] = imports;
        for (size_t i = 0; i < n; i++) {
            const struct lsrc *src = &m->imports[i];
            if (src->kind == LSRC_HOST) {
                imports[i].kind = SPRY_LINK_HOST_FUNC;
                imports[i].of.func = &l->defs[src->index];
            } else {
                imports[i].kind = SPRY_LINK_EXPORT;
                imports[i].of.exp.member = src->index;
                imports[i].of.exp.name = src->name;
                imports[i].of.exp.name_len = src->name_len;
            }
        }
        l->group[k] = (struct spry_link_member){m->module, imports};
    }
    if (l->nmembers == 0)
        return spry_report_set(b->report, SPRY_EUNSUPPORTED,
                               "the component has no core instances: nothing to run");
    /* Spry never writes a member's table from outside: a shim's forwarders can
     * be bound past (docs/components.md, "Shim calls"). */
    struct spry_link_options opts = {.slot_data_free = link_slot_free, .bind_forwarders = true};
    return spry_prepared_create_linked(pool, l->group, l->nmembers, &opts, &l->prepared, b->report);
}

/* Every resource a built-in names must be bound (the decoder only lets
 * built-ins name resources the component defines or imports). */
static int check_builtins(struct lbuild *b)
{
    const struct clink *l = b->link;
    for (uint32_t k = 0; k < l->nbuiltins; k++)
        if (l->cres[l->builtins[k].cinst][l->builtins[k].resource].kind == LRES_NONE)
            return spry_report_set(b->report, SPRY_EUNSUPPORTED,
                                   "a resource built-in names resource type %u, which is bound "
                                   "to nothing",
                                   l->builtins[k].resource);
    return 0;
}

void clink_destroy(struct clink *l)
{
    if (l == NULL)
        return;
    spry_prepared_destroy(l->prepared);
    if (l->group_imports != NULL)
        for (uint32_t k = 0; k < l->nmembers; k++)
            spry_free(l->group_imports[k]);
    spry_free(l->group_imports);
    spry_free(l->group);
    spry_free(l->defs);
    spry_free(l->members);
    spry_free(l->hostfns);
    spry_free(l->lowers);
    spry_free(l->builtins);
    spry_free(l->lifts);
    spry_free(l->defined);
    spry_free(l->res);
    if (l->cres != NULL)
        for (uint32_t k = 0; k < l->ncinsts; k++)
            spry_free(l->cres[k]);
    spry_free(l->cres);
    spry_free(l->exports);
    spry_arena_fini(&l->arena);
    spry_free(l);
}

int clink_create(struct spry_pool *pool, const struct clink_host *host, const struct cbin *bin,
                 const struct clink_options *options, struct clink **out,
                 struct spry_report *report)
{
    struct clink *l = spry_calloc(1, sizeof *l);
    if (l == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory linking the component");
    l->host = host;
    l->bin = bin;
    if (options != NULL)
        l->opts = *options;
    spry_arena_init(&l->arena, (size_t)64 << 20);
    struct lbuild b = {.link = l, .bin = bin, .host = host, .report = report};
    spry_arena_init(&b.scratch, (size_t)1 << 30);
    l->res = spry_calloc(bin->nresources + 1, sizeof *l->res);
    int rc = l->res == NULL ? nomem(&b) : 0;
    struct lscope root;
    uint32_t root_cinst = 0;
    if (rc == 0)
        rc = lbuild_add_cinst(&b, UINT32_MAX, &root_cinst);
    if (rc == 0)
        rc = scope_init(&b, &root, bin->root, root_cinst);
    if (rc == 0)
        rc = walk(&b, &root, 0);
    if (rc == 0)
        rc = check_builtins(&b);
    if (rc == 0)
        rc = collect_exports(&b, &root);
    for (uint32_t k = 0; rc == 0 && k < l->nlifts; k++)
        if (l->lifts[k].name == NULL)
            l->lifts[k].name = l->lifts[k].alias != NULL ? l->lifts[k].alias : "component function";
    for (uint32_t k = 0; rc == 0 && k < l->ndefined; k++)
        if (l->defined[k].name == NULL)
            l->defined[k].name = "resource";
    for (uint32_t k = 0; rc == 0 && k < l->nlowers; k++)
        if (l->lowers[k].lift != LLOWER_HOST)
            l->lowers[k].name = l->lifts[l->lowers[k].lift].name;
    if (rc == 0)
        rc = make_group(&b, pool);
    spry_free(b.hfuncs);
    spry_arena_fini(&b.scratch);
    if (rc != 0) {
        clink_destroy(l);
        return rc;
    }
    *out = l;
    return 0;
}

/* ---- export lookup -------------------------------------------------------------------- */

/* Whether export instance name `have` serves a request for `want`. */
static bool iface_matches(const char *want, const char *have)
{
    const char *wa = strchr(want, '@'), *ha = strchr(have, '@');
    size_t wl = wa != NULL ? (size_t)(wa - want) : strlen(want);
    size_t hl = ha != NULL ? (size_t)(ha - have) : strlen(have);
    if (wl != hl || memcmp(want, have, wl) != 0)
        return false;
    if (wa == NULL || ha == NULL)
        return wa == ha;
    return wit_version_compatible(wa + 1, strlen(wa + 1), ha + 1, strlen(ha + 1));
}

const struct clink_export *clink_export_find(const struct clink *l, const char *iface,
                                             const char *name)
{
    for (uint32_t k = 0; k < l->nexports; k++) {
        const struct clink_export *e = &l->exports[k];
        if (strcmp(e->name, name) != 0)
            continue;
        if (iface == NULL ? e->iface == NULL : e->iface != NULL && iface_matches(iface, e->iface))
            return e;
    }
    return NULL;
}

const struct clink_export *clink_exports(const struct clink *l, size_t *n)
{
    *n = l->nexports;
    return l->exports;
}

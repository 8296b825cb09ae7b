/*
 * The linker's shared state (link.h is the API).
 *
 * Prepare turns the definitions of a component tree into flat tables
 * indexed by small integers; a pool slot's struct cinst holds, at the same
 * indices, the runtime objects built from them once per slot:
 *
 *   prepared (struct clink)        per slot (struct cinst)
 *   ------------------------       ------------------------------------
 *   lowers[k]   (struct llower)    lowered[k]  (struct canon_lowered)
 *   builtins[k] (struct lbuiltin)  builtins[k] (struct handles_builtin)
 *   lifts[k]    (struct llift)     lifted[k]   (struct canon_lifted)
 *   defined[k]  (struct ldefined)  defined[k]  (struct canon_rtype)
 *   cres[k][id] (struct lres)      rtypes[k * nres + id] (const struct canon_rtype *)
 *   ncinsts                        cis[k]      (struct canon_inst)
 *
 * hostfns[k] is the descriptor a core host function carries as its `user`
 * (defs[k].user == &hostfns[k]): which table and which index. Every core
 * function, table, memory and global a canonical function needs (a lift's
 * callee, memory, realloc, post-return; a destructor) is named by its
 * source (struct lsrc): export `name` of core instance `member` of the
 * pool group, looked up once per slot.
 *
 * Invariants once clink_create succeeded: every lsrc a slot resolves is an
 * export of the right kind (the decoder checked the types; slot_build
 * checks the kind again and fails rather than asserting); every resource
 * id a built-in or a lowered/lifted type names is bound (res[id].kind !=
 * LRES_NONE) or the call traps ("resource type N is not bound"); cinst
 * indices are < ncinsts.
 */
#ifndef SPRY_COMPONENT_LINK_IMPL_H
#define SPRY_COMPONENT_LINK_IMPL_H

#include "component/canon.h"
#include "component/handles.h"
#include "component/link.h"
#include "component/wit.h"

/* Bounds on what flattening may produce (SPRY_ETOOBIG past them): nested
 * instantiations multiply definitions, so a small input could otherwise
 * ask for an enormous group. */
enum {
    LINK_MAX_WORK = 4000000, /* definitions visited and entries scanned, over all
                                instantiations */
    LINK_MAX_MEMBERS = 10000 /* core instances in the pool group */
};

struct clink_host {
    struct spry_arena arena;
    struct wit_host wit;
    struct canon_rtype *rtypes; /* [wit.nresources]: host resource types' identities */
};

/* Where a core item comes from. */
enum lsrc_kind { LSRC_NONE = 0, LSRC_EXPORT, LSRC_HOST };

struct lsrc {
    uint8_t kind;     /* enum lsrc_kind */
    uint32_t index;   /* EXPORT: pool group member; HOST: hostfns[index] */
    const char *name; /* EXPORT: the member's export */
    size_t name_len;
};

enum lhost_kind { LHOST_LOWER, LHOST_RESOURCE_NEW, LHOST_RESOURCE_REP, LHOST_RESOURCE_DROP };

struct lhostfn {
    uint8_t kind;   /* enum lhost_kind */
    uint32_t index; /* LOWER: lowers[]; the built-ins: builtins[] */
};

/* canon lower of a host function, or of a function another component
 * instance lifted (a component-to-component call: fn is link_c2c_call,
 * lift the callee). */
struct llower {
    const char *name;             /* "wasi:io/streams@0.2.12#[method]output-stream.write" */
    const struct cfunctype *type; /* the lowering component's view */
    const struct spry_functype *core;
    chost_fn fn;
    uint32_t lift;               /* lifts[] of the callee; LLOWER_HOST for a host function */
    uint8_t encoding;            /* enum canon_encoding */
    struct lsrc memory, realloc; /* NONE when absent */
    uint32_t cinst;
};

/* canon resource.new / .rep / .drop. */
struct lbuiltin {
    uint32_t resource; /* id in the decoded tree */
    uint32_t cinst;
};

#define LLOWER_HOST UINT32_MAX

/* canon lift. */
struct llift {
    const char *name;  /* for trap messages: the export's name once known */
    const char *alias; /* else the name an instance exported it by, or NULL */
    const struct cfunctype *type;
    struct lsrc core, memory, realloc, post_return;
    uint8_t encoding;
    uint32_t cinst;
};

/* A resource type a component instance defines. */
struct ldefined {
    const char *name;
    struct lsrc dtor; /* NONE: no destructor */
    uint32_t cinst;
};

enum lres_kind { LRES_NONE = 0, LRES_HOST, LRES_DEFINED };

struct lres {
    uint8_t kind;   /* enum lres_kind */
    uint32_t index; /* HOST: host resource; DEFINED: defined[] */
};

/* A core instance of the group: a module and where each import comes from. */
struct lmember {
    const struct spry_module *module;
    struct lsrc *imports; /* [spry_module_import_count(module)] */
};

struct clink {
    const struct clink_host *host;
    const struct cbin *bin;
    struct clink_options opts;
    struct spry_arena arena; /* names made while linking */

    struct lmember *members;
    uint32_t nmembers;
    struct lhostfn *hostfns;
    struct spry_host_def *defs; /* [nhostfns]; user = &hostfns[k] */
    uint32_t nhostfns;
    struct llower *lowers;
    uint32_t nlowers;
    struct lbuiltin *builtins;
    uint32_t nbuiltins;
    struct llift *lifts;
    uint32_t nlifts;
    struct ldefined *defined;
    uint32_t ndefined;
    /* Resource ids are per component definition; each component instance
     * binds them on its own (a definition instantiated twice defines two
     * resource types): cres[k][id] is what id means in instance k. res[id]
     * is the first binding of id anywhere (checking the root's imports
     * against the host's types). The type of an export means what
     * cres[lifts[e->lift].cinst] says (clink_drop_own). */
    struct lres *res;   /* [bin->nresources] */
    struct lres **cres; /* [ncinsts][bin->nresources] */
    uint32_t ncinsts;   /* component instances (the root is 0) */

    struct clink_export *exports;
    uint32_t nexports;

    struct spry_link_member *group; /* what the pool group borrows */
    struct spry_link_import **group_imports;
    struct spry_prepared *prepared;
};

struct cinst {
    const struct clink *link;
    struct spry_instance *inst; /* member 0 of the acquired slot */
    struct spry_store *store;
    struct canon_inst *cis;            /* [ncinsts] */
    const struct canon_rtype **rtypes; /* [ncinsts * bin->nresources] */
    struct canon_rtype *defined;       /* [ndefined] */
    struct canon_lowered *lowered;     /* [nlowers] */
    struct handles_builtin *builtins;  /* [nbuiltins] */
    struct canon_lifted *lifted;       /* [nlifts] */
};

/* ---- link_import.c: the root component's imports against the host ------ */

/*
 * A component-level item while flattening: what one index of a sort
 * (function, instance, type, component, core module) is.
 */
enum litem_kind {
    LI_NONE = 0,
    LI_HOSTFUNC,  /* index: a host function (struct lhfunc) */
    LI_LIFT,      /* index: lifts[] */
    LI_HOSTINST,  /* an imported host interface: iface, import (its name) */
    LI_MAP,       /* a component instance or bundle: map */
    LI_TYPE,      /* type; index: the component instance whose ids it names */
    LI_COMPONENT, /* comp */
    LI_MODULE,    /* module */
};

struct lmap;

struct litem {
    uint8_t kind; /* enum litem_kind */
    uint32_t index;
    const struct wit_iface *iface;     /* HOSTINST */
    const char *import;                /* HOSTINST: the import name, version included */
    const struct lmap *map;            /* MAP */
    const struct cbin_type *type;      /* TYPE */
    const struct cbin_component *comp; /* COMPONENT */
    const struct spry_module *module;  /* MODULE */
};

struct lmap {
    uint32_t n;
    const char *const *names;
    struct litem *items;
};

/* A host function a component imported: found by (interface, name). */
struct lhfunc {
    const struct wit_func *wf;
    chost_fn fn;
    const char *name; /* "iface@version#name" or the world function's name */
};

/* Prepare's working state. */
struct lbuild {
    struct clink *link;
    const struct cbin *bin;
    const struct clink_host *host;
    struct spry_report *report;
    struct spry_arena scratch; /* scopes, maps: freed after prepare */
    uint64_t work;
    struct lhfunc *hfuncs;
    uint32_t nhfuncs, caphfuncs;
    /* growable tables of struct clink, with their capacities */
    uint32_t capmembers, caphostfns, caplowers, capbuiltins, caplifts, capdefined, capcres;
};

/* Links import `index` of the root component (an interface instance, a
 * world function or a world resource type) and binds the resource ids it
 * declares; *out is its item. */
int limport_root(struct lbuild *b, const struct cbin_import *imp, uint32_t index,
                 struct litem *out);
/* The host function `name` of a host interface item (found at import). */
int limport_host_func(struct lbuild *b, const struct litem *inst, const char *name,
                      struct litem *out);
/* The resource `name` of a host interface item, for a nested component's
 * instance import (LRES_NONE when it has none). */
struct lres limport_host_resource(const struct lbuild *b, const struct litem *inst,
                                  const char *name);
/* Adds a host function; *index is its number in b->hfuncs. */
int lbuild_add_hfunc(struct lbuild *b, const struct wit_func *wf, chost_fn fn, const char *name,
                     uint32_t *index);

/* Binds resource id `id` in component instance `cinst` (SPRY_EUNSUPPORTED
 * when already bound otherwise there). */
int lbuild_bind(struct lbuild *b, uint32_t cinst, uint32_t id, struct lres r, const char *what);
/* Adds component instance *cinst, its bindings copied from `parent` (the
 * ids of outer components its types may name), or none for the root
 * (parent UINT32_MAX). */
int lbuild_add_cinst(struct lbuild *b, uint32_t parent, uint32_t *cinst);

/* ---- link_inst.c: per slot ----------------------------------------------- */

/* The trampolines of host functions (spry_host_fn, user = struct lhostfn). */
int link_lower_tramp(void *user, struct spry_instance *caller, uint64_t *slots);
int link_new_tramp(void *user, struct spry_instance *caller, uint64_t *slots);
int link_rep_tramp(void *user, struct spry_instance *caller, uint64_t *slots);
int link_drop_tramp(void *user, struct spry_instance *caller, uint64_t *slots);

/* The host function of a component-to-component call (ccall.user is the
 * callee's struct canon_lifted): lifts the caller's arguments were lifted
 * into go to the callee through canon_lifted_call. */
int link_c2c_call(struct ccall *call, const struct cval *args, struct cval *result);

/* slot_data_free of the pool group. */
void link_slot_free(void *data);

#endif

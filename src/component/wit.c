/*
 * The WIT subset parser (rules in component/wit.h).
 *
 * Each interface is read in two passes over its text:
 *  1. declare: every item's name is recorded with its kind and position
 *     (types, resources, functions), bodies are skipped, and `use` items
 *     are resolved at once (parsing the used interface first, to the end);
 *  2. define: type definitions are parsed on demand (a reference to a name
 *     not yet built jumps to its saved position and back), then resource
 *     bodies and functions, in text order.
 * So a type may be used before it is defined, and a definition that needs
 * itself is found by its BUSY state. Recursion (nested types, definitions
 * resolved on demand, interfaces used) is bounded by WIT_MAX_DEPTH.
 */
#include "component/wit_impl.h"

#include "base/alloc.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const struct ctype prims[] = {
    [CT_BOOL] = {.kind = CT_BOOL},     [CT_S8] = {.kind = CT_S8},   [CT_U8] = {.kind = CT_U8},
    [CT_S16] = {.kind = CT_S16},       [CT_U16] = {.kind = CT_U16}, [CT_S32] = {.kind = CT_S32},
    [CT_U32] = {.kind = CT_U32},       [CT_S64] = {.kind = CT_S64}, [CT_U64] = {.kind = CT_U64},
    [CT_F32] = {.kind = CT_F32},       [CT_F64] = {.kind = CT_F64}, [CT_CHAR] = {.kind = CT_CHAR},
    [CT_STRING] = {.kind = CT_STRING},
};

static const struct {
    const char *name;
    uint8_t kind;
} prim_names[] = {
    {"bool", CT_BOOL},   {"s8", CT_S8},     {"u8", CT_U8},         {"s16", CT_S16},
    {"u16", CT_U16},     {"s32", CT_S32},   {"u32", CT_U32},       {"s64", CT_S64},
    {"u64", CT_U64},     {"f32", CT_F32},   {"f64", CT_F64},       {"float32", CT_F32},
    {"float64", CT_F64}, {"char", CT_CHAR}, {"string", CT_STRING},
};

/* ---- names ---- */

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s != '\0'; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static int find_decl(const struct wit_ifstate *st, const char *name, size_t n)
{
    if (st->index_cap == 0)
        return -1;
    char key[256];
    if (n >= sizeof key)
        return -1; /* longer than any name we store? check the long way */
    memcpy(key, name, n);
    key[n] = '\0';
    size_t mask = st->index_cap - 1;
    for (size_t i = hash_name(key) & mask;; i = (i + 1) & mask) {
        int32_t v = st->index[i];
        if (v == 0)
            return -1;
        if (strcmp(st->decls[v - 1].name, key) == 0)
            return v - 1;
    }
}

static int find_decl_long(const struct wit_ifstate *st, const char *name, size_t n)
{
    if (n < 256)
        return find_decl(st, name, n);
    for (size_t i = 0; i < st->ndecls; i++)
        if (strlen(st->decls[i].name) == n && memcmp(st->decls[i].name, name, n) == 0)
            return (int)i;
    return -1;
}

static void index_put(struct wit_ifstate *st, size_t d)
{
    const char *name = st->decls[d].name;
    if (strlen(name) >= 256)
        return; /* found by the linear scan */
    size_t mask = st->index_cap - 1;
    size_t i = hash_name(name) & mask;
    while (st->index[i] != 0)
        i = (i + 1) & mask;
    st->index[i] = (int32_t)d + 1;
}

/* Adds a name to the current interface's namespace. */
static int add_decl(struct wit_parser *p, const struct wit_tok *t, const char *name, uint8_t kind,
                    size_t *out)
{
    struct wit_ifstate *st = &p->st[p->cur];
    if (find_decl_long(st, name, strlen(name)) >= 0)
        return wit_fail(p, t->line, t->col, "'%s' is defined more than once", name);
    int rc = wit_grow(p, (void **)&st->decls, st->ndecls, &st->capdecls, sizeof *st->decls,
                      WIT_MAX_ITEMS);
    if (rc == 1)
        return wit_fail(p, t->line, t->col, "more than %d items", WIT_MAX_ITEMS);
    if (rc != 0)
        return rc;
    if (2 * (st->ndecls + 1) > st->index_cap) {
        size_t cap = st->index_cap == 0 ? 64 : st->index_cap * 2;
        int32_t *index = spry_arena_alloc_array(p->arena, cap, sizeof *index);
        if (index == NULL)
            return wit_oom(p);
        st->index = index;
        st->index_cap = cap;
        for (size_t i = 0; i < st->ndecls; i++)
            index_put(st, i);
    }
    struct wit_decl *d = &st->decls[st->ndecls];
    memset(d, 0, sizeof *d);
    d->name = name;
    d->kind = kind;
    d->line = t->line;
    d->col = t->col;
    index_put(st, st->ndecls);
    *out = st->ndecls++;
    return 0;
}

static int add_item(struct wit_parser *p, const struct wit_tok *t, const struct wit_item *it)
{
    struct wit_ifstate *st = &p->st[p->cur];
    int rc = wit_grow(p, (void **)&st->items, st->nitems, &st->capitems, sizeof *st->items,
                      WIT_MAX_ITEMS);
    if (rc == 1)
        return wit_fail(p, t->line, t->col, "more than %d items", WIT_MAX_ITEMS);
    if (rc != 0)
        return rc;
    st->items[st->nitems++] = *it;
    return 0;
}

/* ---- types ---- */

static int parse_type(struct wit_parser *p, const struct ctype **out);
static int resolve_decl(struct wit_parser *p, size_t d);

static struct ctype *new_type(struct wit_parser *p, uint8_t kind)
{
    struct ctype *t = spry_arena_alloc(p->arena, sizeof *t);
    if (t != NULL)
        t->kind = kind;
    return t;
}

static int enter(struct wit_parser *p, const struct wit_tok *t)
{
    if (++p->depth > WIT_MAX_DEPTH)
        return wit_fail(p, t->line, t->col, "types nested more than %d deep", WIT_MAX_DEPTH);
    return 0;
}

/* The type a name stands for in the current interface. */
static int named_type(struct wit_parser *p, const struct wit_tok *t, const struct ctype **out)
{
    struct wit_ifstate *st = &p->st[p->cur];
    int d = find_decl_long(st, t->p, t->n);
    if (d < 0)
        return wit_fail(p, t->line, t->col, "unknown type '%.*s'", (int)(t->n > 60 ? 60 : t->n),
                        t->p);
    if (st->decls[d].kind == D_FUNC)
        return wit_fail(p, t->line, t->col, "'%s' is a function, not a type", st->decls[d].name);
    int rc = resolve_decl(p, (size_t)d);
    if (rc != 0)
        return rc;
    *out = p->st[p->cur].decls[d].type; /* decls may have moved: reread */
    return 0;
}

/* `<` T `>` */
static int angle_one(struct wit_parser *p, const struct ctype **out)
{
    int rc = wit_expect(p, '<');
    if (rc == 0)
        rc = parse_type(p, out);
    if (rc == 0) {
        struct wit_tok t;
        rc = wit_next(p, &t);
        if (rc == 0 && wit_is_punct(&t, ','))
            return wit_fail(p, t.line, t.col, "fixed-size lists are not in Spry's WIT subset");
        if (rc == 0 && !wit_is_punct(&t, '>'))
            return wit_fail(p, t.line, t.col, "expected '>'");
    }
    return rc;
}

static int parse_handle(struct wit_parser *p, uint8_t kind, const struct ctype **out)
{
    struct wit_tok t;
    const struct ctype *res;
    int rc = wit_expect(p, '<');
    if (rc == 0)
        rc = wit_expect_name(p, &t);
    if (rc == 0)
        rc = named_type(p, &t, &res);
    if (rc == 0)
        rc = wit_expect(p, '>');
    if (rc != 0)
        return rc;
    if (res->kind != CT_OWN)
        return wit_fail(p, t.line, t.col, "'%.*s' is not a resource", (int)t.n, t.p);
    struct ctype *h = new_type(p, kind);
    if (h == NULL)
        return wit_oom(p);
    h->u.resource = res->u.resource;
    *out = h;
    return 0;
}

static int parse_result(struct wit_parser *p, const struct ctype **out)
{
    struct ctype *r = new_type(p, CT_RESULT);
    if (r == NULL)
        return wit_oom(p);
    struct wit_tok t;
    int rc = wit_peek(p, &t);
    if (rc != 0)
        return rc;
    if (wit_is_punct(&t, '<')) {
        wit_next(p, &t);
        rc = wit_peek(p, &t);
        if (rc != 0)
            return rc;
        if (t.kind == TK_UNDERSCORE) {
            wit_next(p, &t);
            rc = wit_expect(p, ',');
            if (rc == 0)
                rc = parse_type(p, &r->u.result.err);
        } else {
            rc = parse_type(p, &r->u.result.ok);
            if (rc == 0)
                rc = wit_peek(p, &t);
            if (rc == 0 && wit_is_punct(&t, ',')) {
                wit_next(p, &t);
                rc = parse_type(p, &r->u.result.err);
            }
        }
        if (rc == 0)
            rc = wit_expect(p, '>');
        if (rc != 0)
            return rc;
    }
    *out = r;
    return 0;
}

static int parse_tuple(struct wit_parser *p, const struct ctype **out)
{
    struct ctype_field *fields = NULL;
    size_t n = 0, cap = 0;
    int rc = wit_expect(p, '<');
    if (rc != 0)
        return rc;
    for (;;) {
        struct wit_tok t;
        rc = wit_peek(p, &t);
        if (rc != 0)
            return rc;
        if (wit_is_punct(&t, '>') && n > 0) {
            wit_next(p, &t);
            break;
        }
        rc = wit_grow(p, (void **)&fields, n, &cap, sizeof *fields, WIT_MAX_MEMBERS);
        if (rc == 1)
            return wit_fail(p, t.line, t.col, "more than %d members", WIT_MAX_MEMBERS);
        if (rc != 0)
            return rc;
        rc = parse_type(p, &fields[n].type);
        if (rc != 0)
            return rc;
        n++;
        rc = wit_next(p, &t);
        if (rc != 0)
            return rc;
        if (wit_is_punct(&t, '>'))
            break;
        if (!wit_is_punct(&t, ','))
            return wit_fail(p, t.line, t.col, "expected ',' or '>'");
    }
    struct ctype *tt = new_type(p, CT_TUPLE);
    if (tt == NULL)
        return wit_oom(p);
    tt->u.record.n = (uint32_t)n;
    tt->u.record.fields = fields;
    *out = tt;
    return 0;
}

static int parse_type(struct wit_parser *p, const struct ctype **out)
{
    struct wit_tok t;
    int rc = wit_next(p, &t);
    if (rc != 0)
        return rc;
    rc = enter(p, &t);
    if (rc != 0)
        return rc;
    if (t.kind == TK_ID && !t.escaped) {
        for (size_t i = 0; i < sizeof prim_names / sizeof prim_names[0]; i++) {
            if (wit_is_word(&t, prim_names[i].name)) {
                *out = &prims[prim_names[i].kind];
                goto done;
            }
        }
        if (wit_is_word(&t, "list") || wit_is_word(&t, "option")) {
            struct ctype *c = new_type(p, wit_is_word(&t, "list") ? CT_LIST : CT_OPTION);
            if (c == NULL)
                return wit_oom(p);
            rc = angle_one(p, &c->u.elem);
            *out = c;
        } else if (wit_is_word(&t, "result")) {
            rc = parse_result(p, out);
        } else if (wit_is_word(&t, "tuple")) {
            rc = parse_tuple(p, out);
        } else if (wit_is_word(&t, "own") || wit_is_word(&t, "borrow")) {
            rc = parse_handle(p, wit_is_word(&t, "own") ? CT_OWN : CT_BORROW, out);
        } else if (wit_is_word(&t, "future") || wit_is_word(&t, "stream") ||
                   wit_is_word(&t, "error-context")) {
            return wit_fail(p, t.line, t.col, "'%.*s' is not in Spry's WIT subset", (int)t.n, t.p);
        } else if (wit_is_keyword(t.p, t.n)) {
            return wit_fail(p, t.line, t.col, "expected a type, found keyword '%.*s'", (int)t.n,
                            t.p);
        } else {
            rc = wit_check_name(p, &t);
            if (rc == 0)
                rc = named_type(p, &t, out);
        }
    } else if (t.kind == TK_ID) {
        rc = wit_check_name(p, &t);
        if (rc == 0)
            rc = named_type(p, &t, out);
    } else {
        char buf[64];
        return wit_fail(p, t.line, t.col, "expected a type, found %s",
                        wit_describe(&t, buf, sizeof buf));
    }
    if (rc != 0)
        return rc;
done:
    p->depth--;
    return 0;
}

/* Returns whether `name` occurs in names[0..n) (members of one item). */
static bool member_dup(const char *const *names, size_t stride, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        const char *other = *(const char *const *)((const char *)names + i * stride);
        if (strcmp(other, name) == 0)
            return true;
    }
    return false;
}

/*
 * `{ member, ... }` of record (name: type), variant (name or name(type)),
 * enum and flags (names). Trailing comma allowed; at least one member.
 */
static int parse_members(struct wit_parser *p, uint8_t kind, struct ctype *out)
{
    struct ctype_field *fields = NULL; /* record; variant/enum use the same layout */
    size_t n = 0, cap = 0;
    struct wit_tok t;
    int rc = wit_expect(p, '{');
    if (rc != 0)
        return rc;
    for (;;) {
        rc = wit_next(p, &t);
        if (rc != 0)
            return rc;
        if (wit_is_punct(&t, '}'))
            break;
        rc = wit_check_name(p, &t);
        if (rc != 0)
            return rc;
        rc = wit_grow(p, (void **)&fields, n, &cap, sizeof *fields, WIT_MAX_MEMBERS);
        if (rc == 1)
            return wit_fail(p, t.line, t.col, "more than %d members", WIT_MAX_MEMBERS);
        if (rc != 0)
            return rc;
        const char *name = wit_arena_strndup(p, t.p, t.n);
        if (name == NULL)
            return wit_oom(p);
        if (member_dup(&fields[0].name, sizeof *fields, n, name))
            return wit_fail(p, t.line, t.col, "'%s' occurs more than once", name);
        fields[n].name = name;
        fields[n].type = NULL;
        if (kind == D_RECORD) {
            rc = wit_expect(p, ':');
            if (rc == 0)
                rc = parse_type(p, &fields[n].type);
        } else if (kind == D_VARIANT) {
            struct wit_tok la;
            rc = wit_peek(p, &la);
            if (rc == 0 && wit_is_punct(&la, '(')) {
                wit_next(p, &la);
                rc = parse_type(p, &fields[n].type);
                if (rc == 0)
                    rc = wit_expect(p, ')');
            }
        }
        if (rc != 0)
            return rc;
        n++;
        rc = wit_next(p, &t);
        if (rc != 0)
            return rc;
        if (wit_is_punct(&t, '}'))
            break;
        if (!wit_is_punct(&t, ','))
            return wit_fail(p, t.line, t.col, "expected ',' or '}'");
    }
    if (n == 0)
        return wit_fail(p, t.line, t.col, "a type needs at least one member");
    if (kind == D_FLAGS && n > CTYPE_MAX_FLAGS)
        return wit_fail(p, t.line, t.col, "flags have at most %d labels", CTYPE_MAX_FLAGS);
    switch (kind) {
    case D_RECORD:
        out->kind = CT_RECORD;
        out->u.record.n = (uint32_t)n;
        out->u.record.fields = fields;
        break;
    case D_FLAGS: {
        const char **names = spry_arena_alloc_array(p->arena, n, sizeof *names);
        if (names == NULL)
            return wit_oom(p);
        for (size_t i = 0; i < n; i++)
            names[i] = fields[i].name;
        out->kind = CT_FLAGS;
        out->u.flags.n = (uint32_t)n;
        out->u.flags.names = names;
        break;
    }
    default: {
        /* struct ctype_case has the layout of struct ctype_field. */
        struct ctype_case *cases = spry_arena_alloc_array(p->arena, n, sizeof *cases);
        if (cases == NULL)
            return wit_oom(p);
        for (size_t i = 0; i < n; i++) {
            cases[i].name = fields[i].name;
            cases[i].type = fields[i].type;
        }
        out->kind = kind == D_ENUM ? CT_ENUM : CT_VARIANT;
        out->u.variant.n = (uint32_t)n;
        out->u.variant.cases = cases;
        break;
    }
    }
    return 0;
}

/* Parses the definition of decl d (at its saved position) if not done yet. */
static int resolve_decl(struct wit_parser *p, size_t d)
{
    struct wit_decl *dp = &p->st[p->cur].decls[d];
    if (dp->state == S_DONE)
        return 0;
    struct wit_tok at = {.line = dp->line, .col = dp->col};
    if (dp->state == S_BUSY)
        return wit_fail(p, dp->line, dp->col, "type '%s' refers to itself", dp->name);
    int rc = enter(p, &at);
    if (rc != 0)
        return rc;
    dp->state = S_BUSY;
    uint8_t kind = dp->kind;
    struct wit_lexer save = p->lx;
    p->lx = dp->at;
    const struct ctype *type = NULL;
    if (kind == D_ALIAS) {
        rc = wit_expect(p, '=');
        if (rc == 0)
            rc = parse_type(p, &type);
        if (rc == 0)
            rc = wit_expect(p, ';');
    } else {
        struct ctype *c = new_type(p, CT_RECORD);
        rc = c == NULL ? wit_oom(p) : parse_members(p, kind, c);
        type = c;
    }
    p->lx = save;
    if (rc != 0)
        return rc;
    dp = &p->st[p->cur].decls[d];
    dp->type = type;
    dp->state = S_DONE;
    p->depth--;
    return 0;
}

/* ---- functions ---- */

/* `(` params `)` [`->` type] `;` after `func` (or `constructor`). self_res
 * >= 0 prepends `self: borrow<self_res>`; ctor_res >= 0 makes the default
 * result own<ctor_res>. */
static int parse_signature(struct wit_parser *p, int64_t self_res, int64_t ctor_res,
                           struct cfunctype *out)
{
    struct ctype_field *params = NULL;
    size_t n = 0, cap = 0;
    struct wit_tok t;
    if (self_res >= 0) {
        struct ctype *b = new_type(p, CT_BORROW);
        if (b == NULL || wit_grow(p, (void **)&params, 0, &cap, sizeof *params, WIT_MAX_MEMBERS))
            return wit_oom(p);
        b->u.resource = (uint32_t)self_res;
        params[0].name = "self";
        params[0].type = b;
        n = 1;
    }
    int rc = wit_expect(p, '(');
    if (rc != 0)
        return rc;
    for (;;) {
        rc = wit_next(p, &t);
        if (rc != 0)
            return rc;
        if (wit_is_punct(&t, ')'))
            break;
        rc = wit_check_name(p, &t);
        if (rc != 0)
            return rc;
        rc = wit_grow(p, (void **)&params, n, &cap, sizeof *params, WIT_MAX_MEMBERS);
        if (rc == 1)
            return wit_fail(p, t.line, t.col, "more than %d parameters", WIT_MAX_MEMBERS);
        if (rc != 0)
            return rc;
        const char *name = wit_arena_strndup(p, t.p, t.n);
        if (name == NULL)
            return wit_oom(p);
        if (member_dup(&params[0].name, sizeof *params, n, name))
            return wit_fail(p, t.line, t.col, "parameter '%s' occurs more than once", name);
        params[n].name = name;
        rc = wit_expect(p, ':');
        if (rc == 0)
            rc = parse_type(p, &params[n].type);
        if (rc != 0)
            return rc;
        n++;
        rc = wit_next(p, &t);
        if (rc != 0)
            return rc;
        if (wit_is_punct(&t, ')'))
            break;
        if (!wit_is_punct(&t, ','))
            return wit_fail(p, t.line, t.col, "expected ',' or ')'");
    }
    const struct ctype *result = NULL;
    rc = wit_next(p, &t);
    if (rc != 0)
        return rc;
    if (t.kind == TK_ARROW) {
        struct wit_tok la;
        rc = wit_peek(p, &la);
        if (rc != 0)
            return rc;
        if (wit_is_punct(&la, '('))
            return wit_fail(p, la.line, la.col, "named results are not in Spry's WIT subset");
        rc = parse_type(p, &result);
        if (rc == 0)
            rc = wit_next(p, &t);
        if (rc != 0)
            return rc;
    } else if (ctor_res >= 0) {
        struct ctype *o = new_type(p, CT_OWN);
        if (o == NULL)
            return wit_oom(p);
        o->u.resource = (uint32_t)ctor_res;
        result = o;
    }
    if (!wit_is_punct(&t, ';'))
        return wit_fail(p, t.line, t.col, "expected ';'");
    out->nparams = (uint32_t)n;
    out->params = params;
    out->result = result;
    return 0;
}

static int add_func(struct wit_parser *p, const char *name, const struct cfunctype *type)
{
    struct wit_ifstate *st = &p->st[p->cur];
    int rc = wit_grow(p, (void **)&st->funcs, st->nfuncs, &st->capfuncs, sizeof *st->funcs,
                      WIT_MAX_ITEMS);
    if (rc != 0)
        return rc == 1 ? wit_oom(p) : rc; /* add_decl bounds the count first */
    st->funcs[st->nfuncs].name = name;
    st->funcs[st->nfuncs].type = *type;
    st->nfuncs++;
    return 0;
}

/* `name: [static] func ...` inside a resource body, or `constructor(...)`. */
static int parse_resource_body(struct wit_parser *p, size_t d)
{
    const struct wit_decl *rd = &p->st[p->cur].decls[d];
    const char *rname = rd->name;
    int64_t res = rd->type->u.resource;
    int rc = wit_expect(p, '{');
    if (rc != 0)
        return rc;
    for (;;) {
        struct wit_tok t;
        rc = wit_skip_attributes(p);
        if (rc == 0)
            rc = wit_next(p, &t);
        if (rc != 0)
            return rc;
        if (wit_is_punct(&t, '}'))
            return 0;
        struct cfunctype ft;
        char *name;
        if (wit_is_word(&t, "constructor")) {
            size_t len = strlen(rname) + sizeof "[constructor]";
            name = spry_arena_alloc(p->arena, len);
            if (name == NULL)
                return wit_oom(p);
            snprintf(name, len, "[constructor]%s", rname);
            rc = parse_signature(p, -1, res, &ft);
        } else {
            rc = wit_check_name(p, &t);
            if (rc == 0)
                rc = wit_expect(p, ':');
            struct wit_tok f;
            if (rc == 0)
                rc = wit_next(p, &f);
            if (rc != 0)
                return rc;
            bool is_static = wit_is_word(&f, "static");
            if (is_static && (rc = wit_next(p, &f)) != 0)
                return rc;
            if (!wit_is_word(&f, "func"))
                return wit_fail(p, f.line, f.col, "expected 'func'");
            const char *tag = is_static ? "[static]" : "[method]";
            size_t len = strlen(tag) + strlen(rname) + 1 + t.n + 1;
            name = spry_arena_alloc(p->arena, len);
            if (name == NULL)
                return wit_oom(p);
            snprintf(name, len, "%s%s.%.*s", tag, rname, (int)t.n, t.p);
            rc = parse_signature(p, is_static ? -1 : res, -1, &ft);
        }
        if (rc != 0)
            return rc;
        size_t fd;
        rc = add_decl(p, &t, name, D_FUNC, &fd);
        if (rc == 0)
            rc = add_func(p, name, &ft);
        if (rc != 0)
            return rc;
    }
}

/* ---- use ---- */

static int parse_iface(struct wit_parser *p, size_t i);

bool wit_version_compatible(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned long va[2] = {0, 0}, vb[2] = {0, 0};
    size_t i = 0, j = 0;
    for (int k = 0; k < 2; k++) {
        while (i < alen && wit_is_digit((unsigned char)a[i]))
            va[k] = va[k] * 10 + (unsigned long)(a[i++] - '0');
        if (i < alen && a[i] == '.')
            i++;
        while (j < blen && wit_is_digit((unsigned char)b[j]))
            vb[k] = vb[k] * 10 + (unsigned long)(b[j++] - '0');
        if (j < blen && b[j] == '.')
            j++;
        if (va[k] > 1000000 || vb[k] > 1000000)
            return false;
    }
    return va[0] == vb[0] && (va[0] != 0 || va[1] == vb[1]);
}

static int find_iface(const struct wit_parser *p, const char *name, size_t n)
{
    for (size_t i = 0; i < p->n; i++) {
        const char *in = p->ifaces[i].name;
        if (in != NULL && strlen(in) == n && memcmp(in, name, n) == 0)
            return (int)i;
    }
    return -1;
}

static int parse_use(struct wit_parser *p)
{
    char target[300];
    struct wit_tok t, a, b;
    int rc = wit_expect_name(p, &a);
    if (rc == 0)
        rc = wit_next(p, &t);
    if (rc != 0)
        return rc;
    if (wit_is_punct(&t, ':')) {
        struct wit_tok c;
        rc = wit_expect_name(p, &b);
        if (rc == 0)
            rc = wit_expect(p, '/');
        if (rc == 0)
            rc = wit_expect_name(p, &c);
        if (rc == 0)
            rc = wit_next(p, &t);
        if (rc != 0)
            return rc;
        if (a.n + b.n + c.n + 3 > sizeof target)
            return wit_fail(p, a.line, a.col, "interface name too long");
        snprintf(target, sizeof target, "%.*s:%.*s/%.*s", (int)a.n, a.p, (int)b.n, b.p, (int)c.n,
                 c.p);
    } else {
        const char *own = p->ifaces[p->cur].name;
        size_t pkg = p->st[p->cur].pkg_len;
        if (pkg == 0)
            return wit_fail(p, a.line, a.col,
                            "the world's interface has no package: use "
                            "namespace:package/interface.{...}");
        if (pkg + a.n + 2 > sizeof target)
            return wit_fail(p, a.line, a.col, "interface name too long");
        snprintf(target, sizeof target, "%.*s/%.*s", (int)pkg, own, (int)a.n, a.p);
    }
    const char *version = NULL;
    size_t vlen = 0;
    if (wit_is_punct(&t, '@')) {
        rc = wit_lex_version(p, &version, &vlen);
        if (rc == 0)
            rc = wit_next(p, &t);
        if (rc != 0)
            return rc;
    }
    if (!wit_is_punct(&t, '.'))
        return wit_fail(p, t.line, t.col, "expected '.{' after the interface name");
    int ti = find_iface(p, target, strlen(target));
    if (ti < 0)
        return wit_fail(p, a.line, a.col, "unknown interface '%s'", target);
    if ((size_t)ti == p->cur)
        return wit_fail(p, a.line, a.col, "an interface cannot use itself");
    const char *tv = p->ifaces[ti].version;
    if (version != NULL && tv != NULL && !wit_version_compatible(version, vlen, tv, strlen(tv)))
        return wit_fail(p, a.line, a.col, "'%s@%.*s' is not compatible with version %s", target,
                        (int)vlen, version, tv);
    if (p->st[ti].state == S_BUSY)
        return wit_fail(p, a.line, a.col, "interfaces use each other in a cycle through '%s'",
                        target);
    if (p->st[ti].state == S_TODO) {
        rc = enter(p, &a);
        if (rc != 0)
            return rc;
        size_t save_cur = p->cur;
        struct wit_lexer save = p->lx;
        rc = parse_iface(p, (size_t)ti);
        p->cur = save_cur;
        p->lx = save;
        p->depth--;
        if (rc != 0)
            return rc;
    }
    rc = wit_expect(p, '{');
    if (rc != 0)
        return rc;
    for (;;) {
        rc = wit_next(p, &t);
        if (rc != 0)
            return rc;
        if (wit_is_punct(&t, '}'))
            break;
        rc = wit_check_name(p, &t);
        if (rc != 0)
            return rc;
        struct wit_tok local = t;
        struct wit_tok la;
        rc = wit_peek(p, &la);
        if (rc != 0)
            return rc;
        if (wit_is_word(&la, "as")) {
            wit_next(p, &la);
            rc = wit_expect_name(p, &local);
            if (rc != 0)
                return rc;
        }
        const struct wit_ifstate *ts = &p->st[ti];
        int d = find_decl_long(ts, t.p, t.n);
        if (d < 0 || ts->decls[d].kind == D_FUNC)
            return wit_fail(p, t.line, t.col, "'%s' has no type '%.*s'", target, (int)t.n, t.p);
        const struct ctype *type = ts->decls[d].type;
        char *name = wit_arena_strndup(p, local.p, local.n);
        if (name == NULL)
            return wit_oom(p);
        size_t nd;
        rc = add_decl(p, &local, name, D_USE, &nd);
        if (rc != 0)
            return rc;
        p->st[p->cur].decls[nd].type = type;
        p->st[p->cur].decls[nd].state = S_DONE;
        rc = wit_next(p, &t);
        if (rc != 0)
            return rc;
        if (wit_is_punct(&t, '}'))
            break;
        if (!wit_is_punct(&t, ','))
            return wit_fail(p, t.line, t.col, "expected ',' or '}'");
    }
    return wit_expect(p, ';');
}

/* ---- interfaces ---- */

static int declare_resource(struct wit_parser *p, const struct wit_tok *t, const char *name,
                            size_t *out)
{
    const struct chost_iface *h = &p->ifaces[p->cur];
    size_t j = 0;
    while (j < h->nresources &&
           (h->resources[j].name == NULL || strcmp(h->resources[j].name, name) != 0))
        j++;
    if (j == h->nresources)
        return wit_fail(p, t->line, t->col, "resource '%s' has no entry in the interface's table",
                        name);
    int rc = add_decl(p, t, name, D_RESOURCE, out);
    if (rc != 0)
        return rc;
    struct ctype *own = new_type(p, CT_OWN);
    if (own == NULL)
        return wit_oom(p);
    own->u.resource = p->base[p->cur] + (uint32_t)j;
    p->st[p->cur].decls[*out].type = own;
    p->st[p->cur].decls[*out].state = S_DONE;
    return 0;
}

/* Pass 1: names, positions and uses. */
static int declare(struct wit_parser *p)
{
    for (;;) {
        struct wit_tok t;
        int rc = wit_skip_attributes(p);
        if (rc == 0)
            rc = wit_next(p, &t);
        if (rc != 0)
            return rc;
        if (t.kind == TK_EOF)
            return 0;
        struct wit_item it = {0};
        if (wit_is_word(&t, "use")) {
            it.kind = I_USE;
            rc = parse_use(p);
        } else if (wit_is_word(&t, "type") || wit_is_word(&t, "record") ||
                   wit_is_word(&t, "variant") || wit_is_word(&t, "enum") ||
                   wit_is_word(&t, "flags") || wit_is_word(&t, "resource")) {
            struct wit_tok name;
            rc = wit_expect_name(p, &name);
            if (rc != 0)
                return rc;
            char *s = wit_arena_strndup(p, name.p, name.n);
            if (s == NULL)
                return wit_oom(p);
            if (wit_is_word(&t, "resource")) {
                it.kind = I_RESOURCE;
                rc = declare_resource(p, &name, s, &it.decl);
                struct wit_tok la;
                if (rc == 0)
                    rc = wit_peek(p, &la);
                if (rc == 0 && wit_is_punct(&la, '{')) {
                    it.body = true;
                    it.at = p->lx;
                    rc = wit_skip_braces(p);
                } else if (rc == 0) {
                    rc = wit_expect(p, ';');
                }
            } else {
                uint8_t kind = wit_is_word(&t, "type")      ? D_ALIAS
                               : wit_is_word(&t, "record")  ? D_RECORD
                               : wit_is_word(&t, "variant") ? D_VARIANT
                               : wit_is_word(&t, "enum")    ? D_ENUM
                                                            : D_FLAGS;
                it.kind = I_TYPE;
                rc = add_decl(p, &name, s, kind, &it.decl);
                if (rc == 0) {
                    p->st[p->cur].decls[it.decl].at = p->lx;
                    rc = kind == D_ALIAS ? wit_skip_to_semicolon(p) : wit_skip_braces(p);
                }
            }
        } else if (t.kind == TK_ID && !(wit_is_keyword(t.p, t.n) && !t.escaped)) {
            rc = wit_check_name(p, &t);
            if (rc == 0)
                rc = wit_expect(p, ':');
            if (rc != 0)
                return rc;
            char *s = wit_arena_strndup(p, t.p, t.n);
            if (s == NULL)
                return wit_oom(p);
            it.kind = I_FUNC;
            it.at = p->lx;
            rc = add_decl(p, &t, s, D_FUNC, &it.decl);
            if (rc == 0)
                rc = wit_skip_to_semicolon(p);
        } else {
            char buf[64];
            return wit_fail(p, t.line, t.col, "expected an interface item, found %s",
                            wit_describe(&t, buf, sizeof buf));
        }
        if (rc == 0)
            rc = add_item(p, &t, &it);
        if (rc != 0)
            return rc;
    }
}

/* Pass 2: type definitions, resource bodies and functions in text order. */
static int define(struct wit_parser *p)
{
    for (size_t i = 0; i < p->st[p->cur].nitems; i++) {
        const struct wit_item it = p->st[p->cur].items[i];
        int rc = 0;
        if (it.kind == I_TYPE) {
            rc = resolve_decl(p, it.decl);
        } else if (it.kind == I_RESOURCE && it.body) {
            p->lx = it.at;
            rc = parse_resource_body(p, it.decl);
        } else if (it.kind == I_FUNC) {
            p->lx = it.at;
            struct wit_tok f;
            rc = wit_next(p, &f);
            if (rc == 0 && !wit_is_word(&f, "func"))
                rc = wit_fail(p, f.line, f.col, "expected 'func'");
            struct cfunctype ft;
            if (rc == 0)
                rc = parse_signature(p, -1, -1, &ft);
            if (rc == 0)
                rc = add_func(p, p->st[p->cur].decls[it.decl].name, &ft);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int parse_iface(struct wit_parser *p, size_t i)
{
    const struct chost_iface *h = &p->ifaces[i];
    p->cur = i;
    struct wit_ifstate *st = &p->st[i];
    st->state = S_BUSY;
    const char *colon = h->name != NULL ? strchr(h->name, ':') : NULL;
    const char *slash = h->name != NULL ? strchr(h->name, '/') : NULL;
    bool world = h->name != NULL && h->name[0] == '\0';
    if (!world && (colon == NULL || slash == NULL || slash < colon ||
                   strchr(slash + 1, '/') != NULL || slash[1] == '\0'))
        return wit_fail(p, 1, 1, "an interface name has the form namespace:package/interface");
    st->pkg_len = world ? 0 : (size_t)(slash - h->name);
    const char *text = h->wit != NULL ? h->wit : "";
    size_t len = strnlen(text, WIT_MAX_TEXT + 1);
    if (len > WIT_MAX_TEXT)
        return wit_fail(p, 1, 1, "WIT text longer than %d bytes", WIT_MAX_TEXT);
    p->lx = (struct wit_lexer){.src = text, .len = len, .line = 1, .col = 1};
    int rc = declare(p);
    if (rc != 0)
        return rc;
    size_t declared = 0;
    for (size_t d = 0; d < st->ndecls; d++)
        declared += st->decls[d].kind == D_RESOURCE;
    if (declared != h->nresources) {
        for (size_t j = 0; j < h->nresources; j++) {
            const char *rn = h->resources[j].name != NULL ? h->resources[j].name : "";
            int d = find_decl_long(st, rn, strlen(rn));
            if (d < 0 || st->decls[d].kind != D_RESOURCE)
                return wit_fail(p, 1, 1, "resource '%s' of the interface's table is not declared",
                                rn);
        }
        return wit_fail(p, 1, 1, "the interface's resource table lists a name twice");
    }
    rc = define(p);
    if (rc != 0)
        return rc;
    st->state = S_DONE;
    return 0;
}

int wit_parse_host(const struct chost_iface *ifaces, size_t n, struct spry_arena *arena,
                   struct wit_host *out, struct spry_report *report)
{
    struct wit_parser p = {.arena = arena, .report = report, .ifaces = ifaces, .n = n};
    p.st = spry_arena_alloc_array(arena, n == 0 ? 1 : n, sizeof *p.st);
    p.base = spry_arena_alloc_array(arena, n == 0 ? 1 : n, sizeof *p.base);
    struct wit_iface *wi = spry_arena_alloc_array(arena, n == 0 ? 1 : n, sizeof *wi);
    if (p.st == NULL || p.base == NULL || wi == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory parsing WIT");
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        p.base[i] = (uint32_t)total;
        total += ifaces[i].nresources;
        if (total > UINT32_MAX)
            return spry_report_set(report, SPRY_ETOOBIG, "too many host resources");
    }
    for (size_t i = 0; i < n; i++) {
        if (p.st[i].state == S_DONE)
            continue;
        p.depth = 0;
        int rc = parse_iface(&p, i);
        if (rc != 0)
            return rc;
    }
    for (size_t i = 0; i < n; i++) {
        const struct wit_ifstate *st = &p.st[i];
        struct wit_type *types = spry_arena_alloc_array(arena, st->ndecls + 1, sizeof *types);
        if (types == NULL)
            return spry_report_set(report, SPRY_ENOMEM, "out of memory parsing WIT");
        size_t nt = 0;
        for (size_t d = 0; d < st->ndecls; d++) {
            if (st->decls[d].kind == D_FUNC)
                continue;
            types[nt].name = st->decls[d].name;
            types[nt].type = st->decls[d].type;
            nt++;
        }
        wi[i] = (struct wit_iface){.host = &ifaces[i],
                                   .resource_base = p.base[i],
                                   .types = types,
                                   .ntypes = nt,
                                   .funcs = st->funcs,
                                   .nfuncs = st->nfuncs};
    }
    out->ifaces = wi;
    out->nifaces = n;
    out->nresources = (uint32_t)total;
    return 0;
}

const struct wit_iface *wit_host_iface(const struct wit_host *host, const char *name)
{
    for (size_t i = 0; i < host->nifaces; i++)
        if (host->ifaces[i].host->name != NULL && strcmp(host->ifaces[i].host->name, name) == 0)
            return &host->ifaces[i];
    return NULL;
}

const struct wit_func *wit_iface_func(const struct wit_iface *iface, const char *name)
{
    for (size_t i = 0; i < iface->nfuncs; i++)
        if (strcmp(iface->funcs[i].name, name) == 0)
            return &iface->funcs[i];
    return NULL;
}

const struct ctype *wit_iface_type(const struct wit_iface *iface, const char *name)
{
    for (size_t i = 0; i < iface->ntypes; i++)
        if (strcmp(iface->types[i].name, name) == 0)
            return iface->types[i].type;
    return NULL;
}

int wit_host_resource(const struct wit_host *host, uint32_t index, const struct wit_iface **iface,
                      const struct chost_resource **resource)
{
    for (size_t i = 0; i < host->nifaces; i++) {
        const struct wit_iface *w = &host->ifaces[i];
        if (index >= w->resource_base && index - w->resource_base < w->host->nresources) {
            *iface = w;
            *resource = &w->host->resources[index - w->resource_base];
            return 0;
        }
    }
    return SPRY_ENOTFOUND;
}

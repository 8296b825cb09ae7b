/*
 * Import and export names: the extern-name grammar, strong uniqueness, and
 * the [constructor]/[method]/[static] rules (Explainer.md "Import and
 * Export Definitions", "Name Uniqueness"; Binary.md `nameattributes`).
 */
#include "component/binary_impl.h"

#include "base/alloc.h"

#include <stdlib.h>
#include <string.h>

/* ---- the grammar ------------------------------------------------------ */

static bool is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* label ::= first-fragment ('-' fragment)*; a fragment is all lower case
 * letters and digits (a word) or all upper case and digits (an acronym); the
 * first starts with a letter. `words` allows lower case words only. */
static bool is_fragments(const char *s, size_t len, bool words)
{
    if (len == 0)
        return false;
    size_t i = 0;
    bool first = true;
    while (i < len) {
        size_t start = i;
        bool lower = false, upper = false;
        while (i < len && s[i] != '-') {
            char c = s[i];
            if (is_lower(c))
                lower = true;
            else if (is_upper(c))
                upper = true;
            else if (!is_digit(c))
                return false;
            i++;
        }
        if (i == start || (lower && upper) || (words && upper))
            return false;
        if (first && !is_lower(s[start]) && !is_upper(s[start]))
            return false;
        first = false;
        if (i < len) {
            i++; /* '-' */
            if (i == len)
                return false;
        }
    }
    return true;
}

bool cnames_is_label(const char *s, size_t len)
{
    return is_fragments(s, len, false);
}

/* A semver numeric identifier: 0 or no leading zero. */
static bool is_number(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_digit(s[i]))
            return false;
    return len == 1 || s[0] != '0';
}

/* Dot-separated identifiers of [0-9A-Za-z-]; numeric ones without leading
 * zeros when `numeric_rule` (pre-release). */
static bool is_identifiers(const char *s, size_t len, bool numeric_rule)
{
    size_t i = 0;
    while (true) {
        size_t start = i;
        bool digits = true;
        while (i < len && s[i] != '.') {
            char c = s[i];
            if (!is_digit(c))
                digits = false;
            if (!is_digit(c) && !is_lower(c) && !is_upper(c) && c != '-')
                return false;
            i++;
        }
        if (i == start)
            return false;
        if (numeric_rule && digits && !is_number(s + start, i - start))
            return false;
        if (i == len)
            return true;
        i++;
    }
}

/* https://semver.org: major.minor.patch(-pre)?(+build)?; also the 🔗
 * canonical forms "1", "0.2" (canonversion). */
static bool is_version(const char *s, size_t len)
{
    size_t i = 0, parts = 0;
    while (parts < 3) {
        size_t start = i;
        while (i < len && is_digit(s[i]))
            i++;
        if (!is_number(s + start, i - start))
            return false;
        parts++;
        if (i < len && s[i] == '.' && parts < 3) {
            i++;
            continue;
        }
        break;
    }
    if (parts < 3) /* canonversion: [1-9][0-9]* or 0.[1-9][0-9]* */
        return i == len &&
               ((parts == 1 && s[0] != '0') || (parts == 2 && s[0] == '0' && s[2] != '0'));
    if (i < len && s[i] == '-') {
        size_t start = ++i;
        while (i < len && s[i] != '+')
            i++;
        if (!is_identifiers(s + start, i - start, true))
            return false;
    }
    if (i < len && s[i] == '+') {
        i++;
        if (!is_identifiers(s + i, len - i, false))
            return false;
        i = len;
    }
    return i == len;
}

static const char *find(const char *s, size_t len, char c)
{
    return memchr(s, c, len);
}

/* interfacename ::= namespace ':' package '/' label ('@' version)? where
 * namespace and package are `words`. Nested namespaces and packages (🪺)
 * are reported as unsupported. */
static int check_interface(struct cdec *d, size_t at, const char *s, size_t len)
{
    const char *at_sign = find(s, len, '@');
    size_t base = at_sign != NULL ? (size_t)(at_sign - s) : len;
    const char *colon = find(s, base, ':');
    const char *slash = find(s, base, '/');
    if (colon == NULL || slash == NULL || slash < colon)
        return cdec_fail(d, SPRY_EINVALID, at, "invalid interface name \"%s\"", s);
    size_t ns = (size_t)(colon - s), pkg_start = ns + 1, pkg = (size_t)(slash - s) - pkg_start;
    size_t iface_start = (size_t)(slash - s) + 1;
    if (find(s + pkg_start, base - pkg_start, ':') != NULL ||
        find(s + iface_start, base - iface_start, '/') != NULL)
        return cdec_fail(d, SPRY_EUNSUPPORTED, at,
                         "nested namespaces and packages in \"%s\" are not supported", s);
    if (!is_fragments(s, ns, true) || !is_fragments(s + pkg_start, pkg, true) ||
        !cnames_is_label(s + iface_start, base - iface_start))
        return cdec_fail(d, SPRY_EINVALID, at, "invalid interface name \"%s\"", s);
    if (at_sign != NULL && !is_version(at_sign + 1, len - base - 1))
        return cdec_fail(d, SPRY_EINVALID, at, "invalid version in interface name \"%s\"", s);
    return 0;
}

static bool has_prefix(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

/* "l1.l2" with two labels. */
static bool is_dotted(const char *s, size_t len)
{
    const char *dot = find(s, len, '.');
    if (dot == NULL)
        return false;
    size_t a = (size_t)(dot - s);
    return cnames_is_label(s, a) && cnames_is_label(dot + 1, len - a - 1);
}

int cnames_check_extern(struct cdec *d, size_t at, const char *name, uint32_t len, bool *interface)
{
    *interface = false;
    if (find(name, len, ':') != NULL) {
        *interface = true;
        return check_interface(d, at, name, len);
    }
    bool ok;
    if (has_prefix(name, len, "[constructor]"))
        ok = cnames_is_label(name + 13, len - 13);
    else if (has_prefix(name, len, "[method]"))
        ok = is_dotted(name + 8, len - 8);
    else if (has_prefix(name, len, "[static]"))
        ok = is_dotted(name + 8, len - 8);
    else if (has_prefix(name, len, "[async"))
        return cdec_fail(d, SPRY_EUNSUPPORTED, at, "async functions (\"%s\") are not supported",
                         name);
    else
        ok = cnames_is_label(name, len);
    if (!ok)
        return cdec_fail(d, SPRY_EINVALID, at, "invalid import or export name \"%s\"", name);
    return 0;
}

int cnames_read_extern_name(struct cdec *d, struct cbin_extern *e)
{
    size_t at = cdec_offset(d);
    uint8_t kind;
    int rc = cdec_u8(d, &kind);
    if (rc != 0)
        return rc;
    if (kind > 0x02)
        return cdec_fail(d, SPRY_EMALFORMED, at, "invalid name kind 0x%02x", kind);
    size_t name_at = cdec_offset(d);
    rc = cdec_name(d, &e->name, &e->name_len);
    if (rc == 0)
        rc = cnames_check_extern(d, name_at, e->name, e->name_len, &e->interface);
    if (rc != 0 || kind != 0x02)
        return rc;
    uint32_t n;
    bool seen[3] = {false, false, false};
    rc = cdec_count(d, &n);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        size_t attr_at = cdec_offset(d);
        uint8_t a;
        const char *value;
        uint32_t vlen;
        bool is_iface;
        rc = cdec_u8(d, &a);
        if (rc != 0)
            break;
        if (a > 0x02)
            return cdec_fail(d, SPRY_EMALFORMED, attr_at, "invalid name attribute 0x%02x", a);
        if (seen[a])
            return cdec_fail(d, SPRY_EINVALID, attr_at, "duplicate name attribute 0x%02x", a);
        seen[a] = true;
        size_t value_at = cdec_offset(d);
        rc = cdec_name(d, &value, &vlen);
        if (rc != 0)
            break;
        if (a == 0x00) {
            if (find(value, vlen, ':') == NULL)
                return cdec_fail(d, SPRY_EINVALID, value_at,
                                 "\"implements\" needs an interface name, not \"%s\"", value);
            rc = cnames_check_extern(d, value_at, value, vlen, &is_iface);
            e->implements = value;
        } else if (a == 0x01) {
            for (uint32_t j = 0; j < vlen; j++) {
                char c = value[j];
                if (!is_digit(c) && !is_lower(c) && !is_upper(c) && c != '.' && c != '+' &&
                    c != '-')
                    return cdec_fail(d, SPRY_EINVALID, value_at, "invalid version suffix \"%s\"",
                                     value);
            }
            e->version_suffix = value;
        }
    }
    return rc;
}

/* ---- name sets and maps ----------------------------------------------- */

struct cnames_slot {
    const char *key; /* NULL: empty */
    uint32_t len;
    uint32_t value;
    const char *original;
};

static uint32_t hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static struct cnames_slot *lookup(const struct cnames *set, const char *key, size_t len)
{
    if (set->cap == 0)
        return NULL;
    uint32_t i = hash(key, len) & (set->cap - 1);
    while (set->slots[i].key != NULL) {
        if (set->slots[i].len == len && memcmp(set->slots[i].key, key, len) == 0)
            return &set->slots[i];
        i = (i + 1) & (set->cap - 1);
    }
    return &set->slots[i];
}

static int insert(struct cdec *d, struct cnames *set, const char *key, uint32_t len, uint32_t value,
                  const char *original)
{
    if ((set->n + 1) * 2 > set->cap) {
        uint32_t cap = set->cap == 0 ? 16 : set->cap * 2;
        struct cnames_slot *slots = cdec_alloc_array(d, cap, sizeof *slots);
        if (slots == NULL)
            return cdec_nomem(d);
        struct cnames old = *set;
        set->slots = slots;
        set->cap = cap;
        for (uint32_t i = 0; i < old.cap; i++)
            if (old.slots[i].key != NULL)
                *lookup(set, old.slots[i].key, old.slots[i].len) = old.slots[i];
    }
    struct cnames_slot *slot = lookup(set, key, len);
    slot->key = key;
    slot->len = len;
    slot->value = value;
    slot->original = original;
    set->n++;
    return 0;
}

/* Strongly-unique canonical form: acronyms lower-cased; [method]l.l and
 * [static]l.l become l; other annotations but [constructor] stripped. */
static int canonical(struct cdec *d, const char *name, uint32_t len, const char **out,
                     uint32_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    char *c = cdec_alloc(d, (size_t)len + 1);
    if (c == NULL)
        return cdec_nomem(d);
    for (uint32_t i = 0; i < len; i++)
        c[i] = is_upper(name[i]) ? (char)(name[i] - 'A' + 'a') : name[i];
    const char *s = c;
    uint32_t n = len;
    if (has_prefix(s, n, "[method]") || has_prefix(s, n, "[static]")) {
        s += 8;
        n -= 8;
        const char *dot = find(s, n, '.');
        if (dot != NULL) {
            uint32_t a = (uint32_t)(dot - s);
            if (n - a - 1 == a && memcmp(s, dot + 1, a) == 0)
                n = a;
        }
    }
    *out = s;
    *out_len = n;
    return 0;
}

int cnames_add_unique(struct cdec *d, struct cnames *set, size_t at, const char *name, uint32_t len,
                      const char *what)
{
    const char *key;
    uint32_t klen;
    int rc = canonical(d, name, len, &key, &klen);
    if (rc != 0)
        return rc;
    struct cnames_slot *slot = lookup(set, key, klen);
    if (slot != NULL && slot->key != NULL)
        return cdec_fail(d, SPRY_EINVALID, at, "duplicate %s name \"%s\" (conflicts with \"%s\")",
                         what, name, slot->original);
    return insert(d, set, key, klen, 0, name);
}

int cnames_map_put(struct cdec *d, struct cnames *map, const char *name, uint32_t value)
{
    size_t len = strlen(name);
    struct cnames_slot *slot = lookup(map, name, len);
    if (slot != NULL && slot->key != NULL) {
        slot->value = value;
        return 0;
    }
    return insert(d, map, name, (uint32_t)len, value, name);
}

bool cnames_map_get(const struct cnames *map, const char *name, size_t len, uint32_t *value)
{
    const struct cnames_slot *slot = lookup(map, name, len);
    if (slot == NULL || slot->key == NULL)
        return false;
    *value = slot->value;
    return true;
}

int cnames_note_resource(struct cdec *d, struct cscope *s, const struct cbin_extern *e)
{
    if (e->sort != CBIN_TYPE || e->type.kind != CBIN_T_RESOURCE)
        return 0;
    cdec_resource(d, e->type.u.resource)->named = true;
    return cnames_map_put(d, &s->resource_names, e->name, e->type.u.resource);
}

/* ---- annotations ------------------------------------------------------ */

static bool is_own_of(const struct ctype *t, uint32_t id)
{
    return t != NULL && t->kind == CT_OWN && t->u.resource == id;
}

int cnames_check_annotation(struct cdec *d, size_t at, const struct cscope *s,
                            const struct cbin_extern *e)
{
    const char *name = e->name;
    uint32_t len = e->name_len, skip;
    if (e->implements != NULL && (e->sort != CBIN_INSTANCE || e->interface))
        return cdec_fail(d, SPRY_EINVALID, at,
                         "\"%s\": only instances with plain names may have \"implements\"", name);
    if (has_prefix(name, len, "[constructor]"))
        skip = 13;
    else if (has_prefix(name, len, "[method]") || has_prefix(name, len, "[static]"))
        skip = 8;
    else
        return 0;
    if (e->sort != CBIN_FUNC)
        return cdec_fail(d, SPRY_EINVALID, at, "\"%s\" is annotated but is not a function", name);
    const char *r = name + skip, *dot = find(r, len - skip, '.');
    size_t rlen = dot != NULL ? (size_t)(dot - r) : len - skip;
    uint32_t id;
    if (!cnames_map_get(&s->resource_names, r, rlen, &id))
        return cdec_fail(d, SPRY_EINVALID, at, "\"%s\": no preceding resource named \"%.*s\"", name,
                         (int)rlen, r);
    const struct cfunctype *f = e->type.u.func;
    if (skip == 13) {
        const struct ctype *res = f->result;
        if (res != NULL && res->kind == CT_RESULT)
            res = res->u.result.ok;
        if (!is_own_of(res, id))
            return cdec_fail(d, SPRY_EINVALID, at,
                             "constructor \"%s\" must return own<%.*s> (or a result of it)", name,
                             (int)rlen, r);
    } else if (name[1] == 'm') {
        if (f->nparams == 0 || strcmp(f->params[0].name, "self") != 0 ||
            f->params[0].type->kind != CT_BORROW || f->params[0].type->u.resource != id)
            return cdec_fail(d, SPRY_EINVALID, at,
                             "method \"%s\" must take (param \"self\" (borrow %.*s)) first", name,
                             (int)rlen, r);
    }
    return 0;
}

/* ---- sorted lookup orders --------------------------------------------- */

struct keyed {
    const char *name;
    size_t len;
    uint32_t index;
};

static int keyed_cmp(const void *pa, const void *pb)
{
    const struct keyed *a = pa, *b = pb;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    int c = memcmp(a->name, b->name, a->len);
    if (c != 0)
        return c;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* Sorts keys; *dup is the index of a duplicate name, or UINT32_MAX. */
static int sort_keys(struct cdec *d, struct keyed *keys, uint32_t n, const uint32_t **out,
                     uint32_t *dup)
{
    qsort(keys, n, sizeof *keys, keyed_cmp);
    uint32_t *perm = cdec_alloc_array(d, n, sizeof *perm);
    if (perm == NULL)
        return cdec_nomem(d);
    *dup = UINT32_MAX;
    for (uint32_t i = 0; i < n; i++) {
        perm[i] = keys[i].index;
        if (i > 0 && *dup == UINT32_MAX && keys[i].len == keys[i - 1].len &&
            memcmp(keys[i].name, keys[i - 1].name, keys[i].len) == 0)
            *dup = keys[i].index;
    }
    *out = perm;
    return 0;
}

int cnames_index_externs(struct cdec *d, struct cbin_externs *list)
{
    struct keyed *keys = spry_alloc_array(list->n == 0 ? 1 : list->n, sizeof *keys);
    if (keys == NULL)
        return cdec_nomem(d);
    for (uint32_t i = 0; i < list->n; i++)
        keys[i] = (struct keyed){list->v[i].name, list->v[i].name_len, i};
    uint32_t dup;
    int rc = sort_keys(d, keys, list->n, &list->by_name, &dup);
    spry_free(keys);
    if (rc == 0 && dup != UINT32_MAX)
        rc = SPRY_EINVALID;
    return rc;
}

int cnames_index_coreexterns(struct cdec *d, struct cbin_coreexterns *list, size_t at,
                             const char *what)
{
    struct keyed *keys = spry_alloc_array(list->n == 0 ? 1 : list->n, sizeof *keys);
    if (keys == NULL)
        return cdec_nomem(d);
    for (uint32_t i = 0; i < list->n; i++)
        keys[i] = (struct keyed){list->v[i].name, list->v[i].name_len, i};
    uint32_t dup;
    int rc = sort_keys(d, keys, list->n, &list->by_name, &dup);
    spry_free(keys);
    if (rc == 0 && dup != UINT32_MAX)
        rc = cdec_fail(d, SPRY_EINVALID, at, "duplicate %s name \"%.*s\"", what,
                       (int)list->v[dup].name_len, list->v[dup].name);
    return rc;
}

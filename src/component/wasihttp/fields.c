/*
 * wasi:http/types.fields: header and trailer maps.
 *
 * Validation is the one wasmtime applies (so Spin's): a name is an HTTP
 * token (RFC 9110 section 5.6.2 `tchar`), 1 to 65535 bytes, stored lower
 * case; a value is bytes 0x20-0x7e, 0x80-0xff and tab (the http crate's
 * HeaderValue: no NUL, CR, LF or DEL). Guests may not set the names in
 * `forbidden` (wasmtime's default list: hop-by-hop and connection-level
 * headers the host owns): set, append, delete and from-list answer
 * header-error.forbidden. Fields handed out by a request or response are
 * immutable: set, append and delete answer header-error.immutable, checked
 * first. get and has with an invalid name find nothing.
 */
#include "component/wasihttp/wh.h"

#include "base/alloc.h"

#include <string.h>

static const char *const forbidden[] = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
    "http2-settings",
};

static bool tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool wasihttp_name_valid(const char *name, size_t len)
{
    if (len == 0 || len > 65535)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!tchar((unsigned char)name[i]))
            return false;
    return true;
}

bool wasihttp_value_valid(const uint8_t *value, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((value[i] < 0x20 && value[i] != '\t') || value[i] == 0x7f)
            return false;
    return true;
}

bool wasihttp_name_forbidden(const char *lower, size_t len)
{
    for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++)
        if (strlen(forbidden[i]) == len && memcmp(forbidden[i], lower, len) == 0)
            return true;
    return false;
}

static bool same_name(const char *lower, const char *name, size_t len)
{
    if (strlen(lower) != len)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (lower[i] != c)
            return false;
    }
    return true;
}

void wh_fields_fini(struct wh_fields *f)
{
    for (size_t i = 0; i < f->n; i++) {
        spry_free(f->v[i].name);
        spry_free(f->v[i].value);
    }
    spry_free(f->v);
    memset(f, 0, sizeof *f);
}

int wh_fields_add(struct wh_fields *f, const char *name, size_t nlen, const uint8_t *value,
                  size_t vlen)
{
    if (f->n >= WH_MAX_FIELDS || nlen > WH_MAX_FIELD_BYTES || vlen > WH_MAX_FIELD_BYTES ||
        f->bytes + nlen + vlen > WH_MAX_FIELD_BYTES)
        return SPRY_ETOOBIG;
    if (f->n == f->cap) {
        size_t cap = f->cap == 0 ? 8 : f->cap * 2;
        struct wh_field *bigger = spry_realloc_array(f->v, cap, sizeof *bigger);
        if (bigger == NULL)
            return SPRY_ENOMEM;
        f->v = bigger;
        f->cap = cap;
    }
    char *n = spry_malloc(nlen + 1);
    uint8_t *v = spry_malloc(vlen + 1);
    if (n == NULL || v == NULL) {
        spry_free(n);
        spry_free(v);
        return SPRY_ENOMEM;
    }
    for (size_t i = 0; i < nlen; i++)
        n[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a') : name[i];
    n[nlen] = '\0';
    if (vlen > 0)
        memcpy(v, value, vlen);
    v[vlen] = '\0';
    f->v[f->n++] = (struct wh_field){n, v, vlen};
    f->bytes += nlen + vlen;
    return 0;
}

int wh_fields_copy(const struct wh_fields *from, struct wh_fields *to)
{
    memset(to, 0, sizeof *to);
    for (size_t i = 0; i < from->n; i++) {
        const struct wh_field *e = &from->v[i];
        int rc = wh_fields_add(to, e->name, strlen(e->name), e->value, e->vlen);
        if (rc != 0) {
            wh_fields_fini(to);
            return rc;
        }
    }
    return 0;
}

static void remove_name(struct wh_fields *f, const char *name, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (same_name(f->v[i].name, name, len)) {
            f->bytes -= len + f->v[i].vlen;
            spry_free(f->v[i].name);
            spry_free(f->v[i].value);
        } else {
            f->v[k++] = f->v[i];
        }
    }
    f->n = k;
}

int wh_fields_handle(struct ccall *call, struct wasihttp *h, const struct wh_fields *f,
                     bool immutable, struct cval *out)
{
    struct wh_fields *copy = spry_calloc(1, sizeof *copy);
    if (copy == NULL || (f != NULL && wh_fields_copy(f, copy) != 0)) {
        spry_free(copy);
        return wh_oom(call);
    }
    copy->immutable = immutable;
    return wh_new(call, h, WH_FIELDS, copy, out);
}

int wh_fields_take(struct ccall *call, struct wasihttp *h, uint32_t rep, struct wh_fields *to)
{
    void *obj;
    int rc = wh_take(call, h, rep, WH_FIELDS, "fields", &obj);
    if (rc != 0)
        return rc;
    *to = *(struct wh_fields *)obj;
    to->immutable = false;
    spry_free(obj);
    return 0;
}

/* ---- the resource's functions ---- */

static int fields_arg(struct ccall *call, const struct cval *arg, struct wasihttp **h,
                      struct wh_fields **f)
{
    int rc = wh_ctx(call, h);
    if (rc == 0)
        rc = wh_get(call, *h, arg->of.rep, WH_FIELDS, "fields", (void **)f);
    return rc;
}

static int header_err(struct ccall *call, struct cval *result, uint32_t code)
{
    struct cval e = {.kind = CT_VARIANT, .of.var = {code, NULL}};
    return wh_result(call, result, 1, &e);
}

static int too_big(struct ccall *call)
{
    return ccall_trap(call, "wasi:http: fields larger than %u entries or %u bytes", WH_MAX_FIELDS,
                      WH_MAX_FIELD_BYTES);
}

/* The checks of set/append/delete, in wasmtime's order: -1 when fine,
 * else the header-error case. */
static int mutation_error(const struct wh_fields *f, const struct cval *name)
{
    if (f->immutable)
        return WH_HE_IMMUTABLE;
    if (!wasihttp_name_valid(name->of.str.ptr, name->of.str.len))
        return WH_HE_INVALID_SYNTAX;
    char lower[32];
    size_t len = name->of.str.len;
    if (len < sizeof lower) {
        for (size_t i = 0; i < len; i++) {
            char c = name->of.str.ptr[i];
            lower[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
        }
        if (wasihttp_name_forbidden(lower, len))
            return WH_HE_FORBIDDEN;
    }
    return -1;
}

static int fields_new(struct ccall *call, const struct cval *args, struct cval *result)
{
    (void)args;
    struct wasihttp *h;
    int rc = wh_ctx(call, &h);
    if (rc != 0)
        return rc;
    return wh_fields_handle(call, h, NULL, false, result);
}

static int fields_from_list(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    int rc = wh_ctx(call, &h);
    if (rc != 0)
        return rc;
    struct wh_fields f = {0};
    const struct cval *list = &args[0];
    for (size_t i = 0; i < list->of.list.n; i++) {
        const struct cval *name = &list->of.list.v[i].of.list.v[0];
        const struct cval *value = &list->of.list.v[i].of.list.v[1];
        int bad = mutation_error(&f, name);
        if (bad < 0 && !wasihttp_value_valid(value->of.raw.ptr, value->of.raw.n))
            bad = WH_HE_INVALID_SYNTAX;
        if (bad >= 0) {
            wh_fields_fini(&f);
            return header_err(call, result, (uint32_t)bad);
        }
        rc = wh_fields_add(&f, name->of.str.ptr, name->of.str.len, value->of.raw.ptr,
                           value->of.raw.n);
        if (rc != 0) {
            wh_fields_fini(&f);
            return rc == SPRY_ETOOBIG ? too_big(call) : wh_oom(call);
        }
    }
    struct wh_fields *obj = spry_malloc(sizeof *obj);
    if (obj == NULL) {
        wh_fields_fini(&f);
        return wh_oom(call);
    }
    *obj = f;
    struct cval own;
    rc = wh_new(call, h, WH_FIELDS, obj, &own);
    if (rc != 0)
        return rc;
    return wh_result(call, result, 0, &own);
}

static int fields_get(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_fields *f;
    int rc = fields_arg(call, &args[0], &h, &f);
    if (rc != 0)
        return rc;
    const char *name = args[1].of.str.ptr;
    size_t len = args[1].of.str.len;
    size_t count = 0;
    for (size_t i = 0; i < f->n; i++)
        count += same_name(f->v[i].name, name, len);
    struct cval *v = wh_vals(call, count);
    if (v == NULL)
        return wh_oom(call);
    size_t k = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (!same_name(f->v[i].name, name, len))
            continue;
        v[k].kind = CT_LIST;
        v[k].of.raw.ptr = f->v[i].value; /* lowered before the call returns */
        v[k].of.raw.n = f->v[i].vlen;
        k++;
    }
    result->kind = CT_LIST;
    result->of.list.v = v;
    result->of.list.n = count;
    return 0;
}

static int fields_has(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_fields *f;
    int rc = fields_arg(call, &args[0], &h, &f);
    if (rc != 0)
        return rc;
    result->kind = CT_BOOL;
    result->of.b = false;
    for (size_t i = 0; i < f->n; i++)
        if (same_name(f->v[i].name, args[1].of.str.ptr, args[1].of.str.len))
            result->of.b = true;
    return 0;
}

static int fields_set(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_fields *f;
    int rc = fields_arg(call, &args[0], &h, &f);
    if (rc != 0)
        return rc;
    int bad = mutation_error(f, &args[1]);
    const struct cval *values = &args[2];
    for (size_t i = 0; bad < 0 && i < values->of.list.n; i++)
        if (!wasihttp_value_valid(values->of.list.v[i].of.raw.ptr, values->of.list.v[i].of.raw.n))
            bad = WH_HE_INVALID_SYNTAX;
    if (bad >= 0)
        return header_err(call, result, (uint32_t)bad);
    /* Build the new entries aside, so a failure leaves f unchanged. */
    struct wh_fields next;
    if (wh_fields_copy(f, &next) != 0)
        return wh_oom(call);
    remove_name(&next, args[1].of.str.ptr, args[1].of.str.len);
    for (size_t i = 0; i < values->of.list.n; i++) {
        rc = wh_fields_add(&next, args[1].of.str.ptr, args[1].of.str.len,
                           values->of.list.v[i].of.raw.ptr, values->of.list.v[i].of.raw.n);
        if (rc != 0) {
            wh_fields_fini(&next);
            return rc == SPRY_ETOOBIG ? too_big(call) : wh_oom(call);
        }
    }
    wh_fields_fini(f);
    *f = next;
    return wh_result(call, result, 0, NULL);
}

static int fields_delete(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_fields *f;
    int rc = fields_arg(call, &args[0], &h, &f);
    if (rc != 0)
        return rc;
    int bad = mutation_error(f, &args[1]);
    if (bad >= 0)
        return header_err(call, result, (uint32_t)bad);
    remove_name(f, args[1].of.str.ptr, args[1].of.str.len);
    return wh_result(call, result, 0, NULL);
}

static int fields_append(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_fields *f;
    int rc = fields_arg(call, &args[0], &h, &f);
    if (rc != 0)
        return rc;
    int bad = mutation_error(f, &args[1]);
    if (bad < 0 && !wasihttp_value_valid(args[2].of.raw.ptr, args[2].of.raw.n))
        bad = WH_HE_INVALID_SYNTAX;
    if (bad >= 0)
        return header_err(call, result, (uint32_t)bad);
    rc = wh_fields_add(f, args[1].of.str.ptr, args[1].of.str.len, args[2].of.raw.ptr,
                       args[2].of.raw.n);
    if (rc != 0)
        return rc == SPRY_ETOOBIG ? too_big(call) : wh_oom(call);
    return wh_result(call, result, 0, NULL);
}

static int fields_entries(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_fields *f;
    int rc = fields_arg(call, &args[0], &h, &f);
    if (rc != 0)
        return rc;
    struct cval *v = wh_vals(call, f->n * 3);
    if (v == NULL)
        return wh_oom(call);
    for (size_t i = 0; i < f->n; i++) {
        struct cval *t = &v[i], *pair = &v[f->n + 2 * i];
        pair[0].kind = CT_STRING;
        pair[0].of.str.ptr = f->v[i].name;
        pair[0].of.str.len = strlen(f->v[i].name);
        pair[1].kind = CT_LIST;
        pair[1].of.raw.ptr = f->v[i].value;
        pair[1].of.raw.n = f->v[i].vlen;
        t->kind = CT_TUPLE;
        t->of.list.v = pair;
        t->of.list.n = 2;
    }
    result->kind = CT_LIST;
    result->of.list.v = v;
    result->of.list.n = f->n;
    return 0;
}

static int fields_clone(struct ccall *call, const struct cval *args, struct cval *result)
{
    struct wasihttp *h;
    struct wh_fields *f;
    int rc = fields_arg(call, &args[0], &h, &f);
    if (rc != 0)
        return rc;
    return wh_fields_handle(call, h, f, false, result);
}

const struct chost_func wh_fields_funcs[] = {
    {"[constructor]fields", fields_new},      {"[static]fields.from-list", fields_from_list},
    {"[method]fields.get", fields_get},       {"[method]fields.has", fields_has},
    {"[method]fields.set", fields_set},       {"[method]fields.delete", fields_delete},
    {"[method]fields.append", fields_append}, {"[method]fields.entries", fields_entries},
    {"[method]fields.clone", fields_clone},
};
const size_t wh_nfields_funcs = sizeof wh_fields_funcs / sizeof wh_fields_funcs[0];

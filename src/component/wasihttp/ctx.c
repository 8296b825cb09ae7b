/*
 * The wasi:http context: its object table (invariants in wh.h), the
 * incoming request and outparam the handler gets, what the guest did with
 * the outparam, and the host table (WASI 0.2 + wasi:http) parsed once.
 */
#include "component/wasihttp/wh.h"

#include "base/alloc.h"
#include "component/wasip2/wasip2.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

int wasihttp_create(const struct wasihttp_server *server, struct wasihttp **out)
{
    struct wasihttp *h = spry_calloc(1, sizeof *h);
    if (h == NULL)
        return SPRY_ENOMEM;
    h->server = *server;
    *out = h;
    return 0;
}

void wasihttp_destroy(struct wasihttp *h)
{
    if (h == NULL)
        return;
    wh_outs_free(h);
    for (uint32_t i = 0; i < h->n; i++)
        if (h->slots[i].kind != WH_FREE)
            wh_free_obj(h->slots[i].kind, h->slots[i].obj);
    spry_free(h->slots);
    while (h->ibodies != NULL) {
        struct wh_ibody *b = h->ibodies;
        h->ibodies = b->next;
        spry_free(b);
    }
    while (h->obodies != NULL) {
        struct wh_obody *b = h->obodies;
        h->obodies = b->next;
        spry_buf_fini(&b->pending);
        wh_fields_fini(&b->trailers);
        spry_free(b);
    }
    spry_free(h);
}

void wasihttp_attach(struct wasihttp *h, struct spry_store *store)
{
    spry_store_set_data(store, SPRY_STORE_DATA_WASI_HTTP, h);
    h->store = store;
}

size_t wasihttp_live_objects(const struct wasihttp *h)
{
    return h->live;
}

int wh_ctx(struct ccall *call, struct wasihttp **out)
{
    struct wasihttp *h =
        call->store != NULL ? spry_store_data(call->store, SPRY_STORE_DATA_WASI_HTTP) : NULL;
    if (h == NULL)
        return ccall_trap(call, "wasi:http: no wasi:http context attached to the store");
    *out = h;
    return 0;
}

/* A slot for obj; SPRY_EEXHAUSTED, SPRY_ENOMEM. */
static int slot_new(struct wasihttp *h, uint8_t kind, void *obj, uint32_t *rep)
{
    if (h->live >= WH_MAX_OBJECTS)
        return SPRY_EEXHAUSTED;
    uint32_t i;
    if (h->free_head != 0) {
        i = h->free_head - 1;
        h->free_head = h->slots[i].next_free;
    } else {
        if (h->n == h->cap) {
            uint32_t cap = h->cap == 0 ? 16 : h->cap * 2;
            if (cap > WH_MAX_OBJECTS)
                cap = WH_MAX_OBJECTS;
            struct wh_slot *bigger = spry_realloc_array(h->slots, cap, sizeof *bigger);
            if (bigger == NULL)
                return SPRY_ENOMEM;
            h->slots = bigger;
            h->cap = cap;
        }
        i = h->n++;
        h->slots[i].gen = 0;
    }
    struct wh_slot *s = &h->slots[i];
    s->gen = (uint16_t)(s->gen + 1 == 0 ? 1 : s->gen + 1);
    s->kind = kind;
    s->obj = obj;
    s->next_free = 0;
    h->live++;
    *rep = (uint32_t)s->gen << 16 | (i + 1);
    return 0;
}

static struct wh_slot *lookup(struct wasihttp *h, uint32_t rep, uint8_t kind)
{
    uint32_t i = (rep & 0xffff) - 1;
    if ((rep & 0xffff) == 0 || i >= h->n)
        return NULL;
    struct wh_slot *s = &h->slots[i];
    if (s->kind != kind || s->gen != rep >> 16)
        return NULL;
    return s;
}

static void slot_free(struct wasihttp *h, struct wh_slot *s)
{
    s->kind = WH_FREE;
    s->obj = NULL;
    s->next_free = h->free_head;
    h->free_head = (uint32_t)(s - h->slots) + 1;
    h->live--;
}

int wh_new(struct ccall *call, struct wasihttp *h, uint8_t kind, void *obj, struct cval *out)
{
    uint32_t rep;
    int rc = slot_new(h, kind, obj, &rep);
    if (rc != 0) {
        wh_free_obj(kind, obj);
        if (rc == SPRY_EEXHAUSTED)
            return ccall_trap(call, "wasi:http: more than %u live handles", WH_MAX_OBJECTS);
        return wh_oom(call);
    }
    out->kind = CT_OWN;
    out->of.rep = rep;
    return 0;
}

int wh_get(struct ccall *call, struct wasihttp *h, uint32_t rep, uint8_t kind, const char *what,
           void **obj)
{
    struct wh_slot *s = lookup(h, rep, kind);
    if (s == NULL)
        return ccall_trap(call, "wasi:http: invalid %s handle", what);
    *obj = s->obj;
    return 0;
}

int wh_take(struct ccall *call, struct wasihttp *h, uint32_t rep, uint8_t kind, const char *what,
            void **obj)
{
    struct wh_slot *s = lookup(h, rep, kind);
    if (s == NULL)
        return ccall_trap(call, "wasi:http: invalid %s handle", what);
    *obj = s->obj;
    slot_free(h, s);
    return 0;
}

void wh_free_obj(uint8_t kind, void *obj)
{
    if (obj == NULL)
        return;
    switch (kind) {
    case WH_FIELDS:
        wh_fields_fini(obj);
        break;
    case WH_IN_REQUEST: {
        struct wh_in_request *r = obj;
        spry_free(r->method_other);
        spry_free(r->path.s);
        spry_free(r->authority.s);
        spry_free(r->scheme_other);
        wh_fields_fini(&r->headers);
        break;
    }
    case WH_OUT_REQUEST: {
        struct wh_out_request *r = obj;
        spry_free(r->method_other);
        spry_free(r->path.s);
        spry_free(r->authority.s);
        spry_free(r->scheme_other);
        wh_fields_fini(&r->headers);
        break;
    }
    case WH_OUT_RESPONSE:
        wh_fields_fini(&((struct wh_out_response *)obj)->headers);
        break;
    case WH_IN_RESPONSE:
        wh_fields_fini(&((struct wh_in_response *)obj)->headers);
        break;
    default:
        break; /* bodies point at states the context owns */
    }
    spry_free(obj);
}

void wh_drop(struct ccall *call, uint32_t rep)
{
    struct wasihttp *h =
        call->store != NULL ? spry_store_data(call->store, SPRY_STORE_DATA_WASI_HTTP) : NULL;
    if (h == NULL)
        return;
    uint32_t i = (rep & 0xffff) - 1;
    if ((rep & 0xffff) == 0 || i >= h->n)
        return;
    struct wh_slot *s = &h->slots[i];
    if (s->kind == WH_FREE || s->gen != rep >> 16)
        return; /* the canonical ABI only drops what it handed out */
    uint8_t kind = s->kind;
    wh_free_obj(s->kind, s->obj);
    slot_free(h, s);
    if (kind == WH_FUTURE_RESPONSE || kind == WH_IN_RESPONSE || kind == WH_FUTURE_TRAILERS ||
        kind == WH_IN_BODY || kind == WH_OUT_BODY)
        wh_outs_sweep(h); /* an outbound request may be unreachable now */
}

/* ---- the request the handler gets ---- */

static const char *const methods[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                      "CONNECT", "OPTIONS", "TRACE", "PATCH"};

static int optstr(const char *s, struct wh_optstr *out)
{
    out->some = true;
    out->s = spry_strdup(s != NULL ? s : "");
    return out->s == NULL ? SPRY_ENOMEM : 0;
}

int wasihttp_incoming(struct wasihttp *h, const struct wasihttp_request *req, uint32_t *request,
                      uint32_t *outparam)
{
    struct wh_in_request *r = spry_calloc(1, sizeof *r);
    void *op = spry_calloc(1, 1);
    int rc = r == NULL || op == NULL ? SPRY_ENOMEM : 0;
    if (rc == 0) {
        r->method = WH_METHOD_OTHER;
        for (uint32_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
            if (strcmp(req->method, methods[i]) == 0)
                r->method = i;
        if (r->method == WH_METHOD_OTHER && (r->method_other = spry_strdup(req->method)) == NULL)
            rc = SPRY_ENOMEM;
    }
    if (rc == 0) {
        if (strcmp(req->scheme, "http") == 0)
            r->scheme = WH_SCHEME_HTTP;
        else if (strcmp(req->scheme, "https") == 0)
            r->scheme = WH_SCHEME_HTTPS;
        else if ((r->scheme_other = spry_strdup(req->scheme)) == NULL)
            rc = SPRY_ENOMEM;
        else
            r->scheme = WH_SCHEME_OTHER;
    }
    if (rc == 0)
        rc = optstr(req->path_with_query, &r->path);
    if (rc == 0)
        rc = optstr(req->authority, &r->authority);
    for (size_t i = 0; rc == 0 && i < req->nheaders; i++) {
        const struct wasihttp_header *hd = &req->headers[i];
        rc = wh_fields_add(&r->headers, hd->name, strlen(hd->name), (const uint8_t *)hd->value,
                           strlen(hd->value));
    }
    if (r != NULL)
        r->headers.immutable = true;
    if (rc == 0)
        rc = slot_new(h, WH_IN_REQUEST, r, request);
    if (rc != 0) {
        wh_free_obj(WH_IN_REQUEST, r);
        spry_free(op);
        return rc;
    }
    rc = slot_new(h, WH_OUTPARAM, op, outparam);
    if (rc != 0) {
        spry_free(op);
        return rc; /* the request is freed with the context */
    }
    return 0;
}

enum wasihttp_outcome wasihttp_outcome(const struct wasihttp *h, char *why, size_t cap)
{
    enum wasihttp_outcome o;
    if (!h->set)
        o = WASIHTTP_NOT_SET;
    else if (h->set_error)
        o = WASIHTTP_ERROR;
    else if (!h->body_done)
        o = WASIHTTP_INCOMPLETE;
    else
        o = WASIHTTP_DONE;
    if (cap > 0) {
        const char *text = h->why;
        if (o == WASIHTTP_INCOMPLETE && text[0] == '\0')
            text = h->resp_body != NULL && h->resp_body->failed
                       ? "writing the response body failed"
                       : "the response body was not finished (outgoing-body.finish)";
        snprintf(why, cap, "%s", text);
    }
    return o;
}

/* ---- the host table ---- */

static const struct chost_iface *const http_sources[] = {
    &wh_iface_types,
    &wh_iface_outgoing_handler,
};

enum { NHTTP = sizeof http_sources / sizeof http_sources[0] };

static struct chost_iface http_table[NHTTP];
static struct chost_iface *all_table;
static struct clink_host *host;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static struct chost_func *types_funcs;

static void init_tables(void)
{
    for (size_t i = 0; i < NHTTP; i++)
        http_table[i] = *http_sources[i];
    /* wasi:http/types' functions live in four files. */
    size_t nt = wh_ntypes_funcs + wh_nfields_funcs + wh_nbody_funcs + wh_noutgoing_funcs;
    types_funcs = spry_alloc_array(nt, sizeof *types_funcs);
    if (types_funcs == NULL)
        return;
    memcpy(types_funcs, wh_types_funcs, wh_ntypes_funcs * sizeof *types_funcs);
    memcpy(types_funcs + wh_ntypes_funcs, wh_fields_funcs, wh_nfields_funcs * sizeof *types_funcs);
    memcpy(types_funcs + wh_ntypes_funcs + wh_nfields_funcs, wh_body_funcs,
           wh_nbody_funcs * sizeof *types_funcs);
    memcpy(types_funcs + wh_ntypes_funcs + wh_nfields_funcs + wh_nbody_funcs, wh_outgoing_funcs,
           wh_noutgoing_funcs * sizeof *types_funcs);
    http_table[0].funcs = types_funcs;
    http_table[0].nfuncs = nt;
    size_t np2;
    const struct chost_iface *p2 = wasip2_ifaces(&np2);
    all_table = spry_alloc_array(np2 + NHTTP, sizeof *all_table);
    if (all_table == NULL)
        return;
    memcpy(all_table, p2, np2 * sizeof *all_table);
    memcpy(all_table + np2, http_table, sizeof http_table);
    struct spry_report report;
    spry_report_init(&report);
    if (clink_host_create(all_table, np2 + NHTTP, &host, &report) != 0)
        host = NULL;
}

const struct chost_iface *wasihttp_ifaces(size_t *n)
{
    pthread_once(&once, init_tables);
    *n = NHTTP;
    return http_table;
}

const struct clink_host *wasihttp_host(void)
{
    pthread_once(&once, init_tables);
    return host;
}

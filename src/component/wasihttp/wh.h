/*
 * wasi:http internals: the per-request context, its object table and the
 * objects behind every wasi:http resource. See wasihttp.h for the API.
 *
 * The object table works as WASI 0.2's (component/wasip2/p2.h): a rep is
 * (generation << 16) | (slot + 1), a stale rep finds nothing, at most
 * WH_MAX_OBJECTS live objects. Each slot points at a heap object of its
 * kind; the object is freed when the guest drops the handle, when a
 * function takes it (an own parameter: response-outparam.set,
 * outgoing-body.finish, incoming-body.finish, constructors that take
 * fields), or at wasihttp_destroy.
 *
 * Headers that a request or response hands out (`headers()`) are
 * immutable copies: wasi:http says they are immutable, so a copy cannot
 * be told apart from a view, and the parent may go first.
 *
 * Body states (struct wh_ibody, wh_obody) are not table objects: the body
 * resource and its stream both point at one, and either may go first, so
 * they live in the context's list until wasihttp_destroy.
 */
#ifndef SPRY_COMPONENT_WASIHTTP_WH_H
#define SPRY_COMPONENT_WASIHTTP_WH_H

#include "base/buf.h"
#include "component/chost.h"
#include "component/wasihttp/error_codes.h"
#include "component/wasihttp/wasihttp.h"
#include "component/wasip2/wasip2.h"

#include <stdbool.h>
#include <stdint.h>

enum {
    WH_MAX_OBJECTS = 0xfffe,
    WH_MAX_FIELDS = 10000,         /* entries of one fields object */
    WH_MAX_FIELD_BYTES = 4u << 20, /* names and values of one fields object */
    WH_MAX_PENDING = 16u << 20,    /* response body written before the outparam is set */
    WH_MAX_URL = 64 * 1024, /* path-with-query, authority, method, scheme of an outgoing-request */
};

enum wh_kind {
    WH_FREE = 0,
    WH_FIELDS,
    WH_IN_REQUEST,
    WH_OUT_REQUEST,
    WH_OPTIONS,
    WH_OUTPARAM,
    WH_IN_RESPONSE, /* from future-incoming-response.get */
    WH_OUT_RESPONSE,
    WH_IN_BODY,
    WH_OUT_BODY,
    WH_FUTURE_TRAILERS,
    WH_FUTURE_RESPONSE, /* from outgoing-handler.handle */
    WH_KINDS
};

/* header-error cases (WIT order). */
enum { WH_HE_INVALID_SYNTAX, WH_HE_FORBIDDEN, WH_HE_IMMUTABLE };

/* method cases (WIT order): get .. patch, then other(string). */
enum { WH_METHOD_OTHER = 9 };
/* scheme cases. */
enum { WH_SCHEME_HTTP, WH_SCHEME_HTTPS, WH_SCHEME_OTHER };

/* error-code (WIT order): error_codes.h. */
#define WH_ERROR_CODES(X) WASIHTTP_ERROR_CODES(X)

enum wh_error_code {
#define WH_EC_ENUM(name, text) WH_EC_##name,
    WH_ERROR_CODES(WH_EC_ENUM)
#undef WH_EC_ENUM
        WH_EC_COUNT
};
extern const char *const wh_error_code_names[WH_EC_COUNT];

struct wh_field {
    char *name; /* lower case */
    uint8_t *value;
    size_t vlen;
};

struct wh_fields {
    struct wh_field *v;
    size_t n, cap;
    size_t bytes; /* names and values, against WH_MAX_FIELD_BYTES */
    bool immutable;
};

/* An optional string (method other, scheme other, path, authority). */
struct wh_optstr {
    bool some;
    char *s;
};

struct wh_in_request {
    uint32_t method; /* case; WH_METHOD_OTHER: method_other */
    char *method_other;
    struct wh_optstr path, authority;
    uint32_t scheme; /* case */
    char *scheme_other;
    struct wh_fields headers; /* immutable */
    bool consumed;
};

struct wh_obody;

/* One outbound request (outgoing-handler.handle): the embedder's handle.
 * In the context's list until wasihttp_destroy (the future, the response,
 * its body, streams and pollables all point at it). */
struct wh_out {
    struct wasihttp *h;
    void *req;       /* the embedder's request */
    bool more;       /* the last body read returned bytes: there may be more */
    bool head_taken; /* future-incoming-response.get returned the response */
    bool reached;    /* wh_outs_sweep: a live object still leads here */
    struct wh_out *next;
};

struct wh_future_response {
    struct wh_out *o;
};

struct wh_in_response {
    struct wh_out *o;
    uint16_t status;
    struct wh_fields headers; /* immutable */
    bool consumed;
};

struct wh_out_request {
    uint32_t method;
    char *method_other;
    struct wh_optstr path, authority;
    bool has_scheme;
    uint32_t scheme;
    char *scheme_other;
    struct wh_fields headers;
    struct wh_obody *body; /* once body() was called */
};

struct wh_options {
    bool has[3];
    uint64_t ns[3]; /* connect, first-byte, between-bytes */
};

struct wh_out_response {
    uint16_t status;
    struct wh_fields headers;
    struct wh_obody *body; /* once body() was called */
};

/* The request body's state: the incoming-body and its input-stream. */
struct wh_ibody {
    struct wasihttp *h;
    struct wh_out *out; /* a response's body: reads from the embedder's request */
    bool stream_taken, stream_alive;
    bool eof;
    struct wh_ibody *next; /* the context's list */
};

/* An outgoing body's state: the outgoing-body and its output-stream. */
struct wh_obody {
    struct wasihttp *h;
    bool response;      /* the body of an outgoing-response (else of a request) */
    struct wh_out *out; /* a request body once handle sent the request */
    bool sent;          /* its response is the one the outparam was set to */
    bool stream_taken, stream_alive;
    bool finished;    /* outgoing-body.finish succeeded */
    bool failed;      /* a write failed, or finish found the size wrong */
    int64_t declared; /* content-length at set, or -1 */
    uint64_t written;
    struct spry_buf pending;   /* written before `sent` */
    struct wh_fields trailers; /* a request body's, finished before handle */
    struct wh_obody *next;
};

struct wh_future_trailers {
    bool taken;         /* get returned the trailers */
    struct wh_out *out; /* an incoming response's trailers (else none) */
};

struct wh_body {
    struct wh_ibody *in;
    struct wh_obody *out;
};

struct wh_slot {
    uint8_t kind; /* enum wh_kind */
    uint16_t gen;
    uint32_t next_free;
    void *obj;
};

struct wasihttp {
    struct wasihttp_server server;
    struct wh_slot *slots;
    uint32_t n, cap, free_head, live;
    struct wh_ibody *ibodies;
    struct wh_obody *obodies;
    struct wh_out *outs;      /* outbound requests with the embedder's request */
    struct wh_out *spent;     /* and those whose request was given back (req NULL) */
    struct spry_store *store; /* attached to (interrupt checks while blocking) */
    /* The response: what response-outparam.set did. */
    bool set, set_error, responded, body_done;
    struct wh_obody *resp_body; /* the sent response's body, NULL when it had none taken */
    char why[160];
};

/* ---- the table (ctx.c) ---- */

int wh_ctx(struct ccall *call, struct wasihttp **out);
/* A new object: rep in *rep; obj is owned by the table from here on
 * (freed with it). Traps when the table is full. */
int wh_new(struct ccall *call, struct wasihttp *h, uint8_t kind, void *obj, struct cval *out);
/* The object of `kind` with rep `rep`, or a trap naming `what`. */
int wh_get(struct ccall *call, struct wasihttp *h, uint32_t rep, uint8_t kind, const char *what,
           void **obj);
/* Removes the slot of rep (an own parameter taken by a function) and
 * returns its object, which the caller now owns; or a trap. */
int wh_take(struct ccall *call, struct wasihttp *h, uint32_t rep, uint8_t kind, const char *what,
            void **obj);
/* Frees an object of `kind`. */
void wh_free_obj(uint8_t kind, void *obj);
/* chost_resource.drop for every wasi:http resource. */
void wh_drop(struct ccall *call, uint32_t rep);

/* ---- fields (fields.c) ---- */

void wh_fields_fini(struct wh_fields *f);
/* Appends name (lowered) and value; SPRY_ETOOBIG past the bounds,
 * SPRY_ENOMEM. Does not validate. */
int wh_fields_add(struct wh_fields *f, const char *name, size_t nlen, const uint8_t *value,
                  size_t vlen);
int wh_fields_copy(const struct wh_fields *from, struct wh_fields *to);
/* A new fields handle holding a copy of f, immutable or not. */
int wh_fields_handle(struct ccall *call, struct wasihttp *h, const struct wh_fields *f,
                     bool immutable, struct cval *out);
/* Takes an own<fields> parameter's contents into *to (the handle's object
 * is freed). */
int wh_fields_take(struct ccall *call, struct wasihttp *h, uint32_t rep, struct wh_fields *to);

/* ---- values (types.c) ---- */

struct cval *wh_vals(struct ccall *call, size_t n);
int wh_oom(struct ccall *call);
int wh_result(struct ccall *call, struct cval *result, uint32_t disc, const struct cval *payload);
int wh_some(struct ccall *call, struct cval *out, const struct cval *payload);
void wh_none(struct cval *out);
int wh_string(struct ccall *call, const char *s, size_t n, struct cval *out);
/* An error-code value: case `code` with payload (NULL: none / the empty
 * option the case carries). */
int wh_error_code(struct ccall *call, uint32_t code, const struct cval *payload, struct cval *out);
/* internal-error(some(text)). */
int wh_internal_error(struct ccall *call, const char *text, struct cval *out);

/* ---- bodies (body.c) ---- */

int wh_ibody_new(struct wasihttp *h, struct wh_ibody **out);
int wh_obody_new(struct wasihttp *h, bool response, struct wh_obody **out);
/* The response-outparam was set to a response whose body is ob (NULL: no
 * body taken): send the head, then what was written, then the end when
 * finished. */
int wh_response_send(struct wasihttp *h, struct wh_out_response *resp);

/* ---- outbound (outgoing.c) ---- */

/* The input-stream backend of an incoming response's body. */
extern const struct wasip2_stream_ops wh_client_in_ops;
/* A request body's writes once the request was sent. */
int wh_out_write(struct wh_obody *b, const uint8_t *p, size_t n);
uint64_t wh_out_check_write(struct wh_obody *b);
/* The wake fd of o's request (wasihttp_outgoing.wake_fd), or -1. */
int wh_out_wake_fd(struct wh_out *o);
/* Ends a sent request's body: 0, or an error-code into result. */
int wh_out_finish(struct ccall *call, struct wh_obody *b, const struct wh_fields *trailers,
                  struct cval *result);
/* future-trailers.get of a response body. */
int wh_out_trailers(struct ccall *call, struct wh_future_trailers *ft, struct cval *result);
int wh_out_trailers_subscribe(struct ccall *call, struct wh_future_trailers *ft,
                              struct cval *result);
/* Frees the context's outbound requests. */
void wh_outs_free(struct wasihttp *h);
/* Gives back (the embedder's destroy) every outbound request that no live
 * guest object leads to any more: its future, response, body or stream,
 * or its trailers' future. The small wh_out stays, req NULL, until the
 * context ends, since a pollable the guest kept may still ask about it. */
void wh_outs_sweep(struct wasihttp *h);
extern const struct chost_func wh_outgoing_funcs[];
extern const size_t wh_noutgoing_funcs;
int wh_outgoing_handle(struct ccall *call, const struct cval *args, struct cval *result);

extern const struct chost_iface wh_iface_types, wh_iface_outgoing_handler;
/* wasi:http/types' functions, by file; wasihttp_ifaces joins them. */
extern const struct chost_func wh_types_funcs[], wh_fields_funcs[], wh_body_funcs[];
extern const size_t wh_ntypes_funcs, wh_nfields_funcs, wh_nbody_funcs;

#endif

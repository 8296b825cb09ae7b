/*
 * A wasi:http incoming-handler written by hand against the canonical ABI
 * (no generated bindings): world spry:http-test/handler (wit/world.wit).
 * scripts/build-http-guest.sh turns it into a component with `jco embed`
 * and `jco new`; tests/unit/app/test_up_http.c serves it with `spry up`.
 *
 * Routes (on the path, query ignored):
 *   /hello     200, content-type text/plain, "hello from a wasi:http component\n";
 *              writes "stdout: served /hello\n" to stdout
 *   /bench     200, content-type text/plain, "hello from a wasi:http component\n"
 *              and nothing else (bench/http.sh's route: no stdout line)
 *   /echo      200, the request body streamed back as it is read, and
 *              x-method: the request method's case number
 *   /headers   200, one "name: value\n" line per request header, in order
 *   /status    418, x-custom: "custom value", x-multi twice ("one", "two"),
 *              content-length 7, body "teapot\n"
 *   /loop      never answers (spins until the deadline interrupts it)
 *   /trap      writes "stderr: about to trap\n" to stderr, then traps
 *   /silent    returns without setting the response-outparam
 *   /error     sets the outparam to error-code.internal-error("refused")
 *   /sink      reads the whole request body, then 200 "N H\n": its length and
 *              its FNV-1a 32-bit hash, in decimal
 *   /big       200, 3 MiB + 17 bytes: byte i is x >> 24 where x starts at
 *              12345 and becomes x * 1103515245 + 12345 (mod 2^32) before
 *              each byte
 *   /chain     an outgoing request (wasi:http/outgoing-handler) to the URL in
 *              request header x-chain-url ("http://host[:port]/path?query"),
 *              with the same method, header x-chain-url passed on, and for
 *              POST and PUT the request body streamed through (its
 *              trailers passed on as the outgoing body's); answers
 *              with the response's status, headers and body streamed back
 *              and its trailers as ours, or 502 "error-code N\n" (N the error-code case; for
 *              internal-error N: MESSAGE) when the request failed
 *   /sleep     waits 20 ms on a monotonic-clock pollable, then 200 "slept\n"
 *   /sleep-1s  the same after 1 s
 *   /network   takes the instance-network and drops it, then 200 "network\n"
 *   /wide      200, a body of 200 KiB ('x' repeated, a newline last)
 *   /trailers  200, body "with trailers\n" (no content-length), finished
 *              with the trailers x-trailer: one and x-sum: 42
 *   /req-trailers  200, reads the request body (its length is the first
 *              line, "len=N"), then waits for the request's trailers and
 *              lists them, one "name: value\n" line each ("none\n": none)
 *   /unfinished  200, body "partial\n" (no content-length), then drops
 *              the outgoing-body without finishing it
 *   /fetch-many/PORT/N  makes N outbound GETs, one after the other, to
 *              http://127.0.0.1:PORT/I, reads each response's body and
 *              drops everything; 200, "ok=K bytes=B fail=F\n" (K of them
 *              answered 2xx, B body bytes in all, F failed)
 *   /chain-timed  as /chain, with request-options from the request headers
 *              x-connect-ms, x-first-byte-ms and x-between-bytes-ms (each
 *              set when present)
 *   /drip      200, "first\n", then 1 s later "second\n" (no
 *              content-length)
 *   other      404, "no route\n"
 *
 * Memory: a bump allocator reset at the start of every request chunk
 * (mark/release around each read and write), so a large body streams
 * through a bounded heap.
 */
#include <stddef.h>
#include <stdint.h>

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))
#define EXPORT(name)         __attribute__((export_name(name)))
#define TYPES                "wasi:http/types@0.2.0"
#define STREAMS              "wasi:io/streams@0.2.0"

/* ---- freestanding support ---- */

void *memcpy(void *restrict d, const void *restrict s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;
    while (n--)
        *dp++ = *sp++;
    return d;
}

void *memset(void *d, int c, size_t n)
{
    unsigned char *dp = d;
    while (n--)
        *dp++ = (unsigned char)c;
    return d;
}

static size_t slen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static int prefix(const char *s, size_t n, const char *p)
{
    size_t k = slen(p);
    if (n < k)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (s[i] != p[i])
            return 0;
    return n == k || s[k] == '?' || s[k] == '/';
}

extern unsigned char __heap_base;
static uintptr_t heap_next;

static void *alloc(size_t align, size_t size)
{
    if (heap_next == 0)
        heap_next = (uintptr_t)&__heap_base;
    uintptr_t p = (heap_next + align - 1) & ~(uintptr_t)(align - 1);
    uintptr_t end = p + size;
    uintptr_t have = __builtin_wasm_memory_size(0) * 65536u;
    if (end > have) {
        size_t pages = (end - have + 65535u) / 65536u;
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1)
            __builtin_trap();
    }
    heap_next = end;
    return (void *)p;
}

EXPORT("cabi_realloc")
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size)
{
    void *p = alloc(align, new_size);
    if (old != NULL && old_size != 0)
        memcpy(p, old, old_size < new_size ? old_size : new_size);
    return p;
}

/* ---- imports (core signatures of the canonical ABI) ---- */

IMPORT(TYPES, "[method]incoming-request.method")
void request_method(int32_t self, void *ret);
IMPORT(TYPES, "[method]incoming-request.path-with-query")
void request_path(int32_t self, void *ret);
IMPORT(TYPES, "[method]incoming-request.headers")
int32_t request_headers(int32_t self);
IMPORT(TYPES, "[method]incoming-request.consume")
void request_consume(int32_t self, void *ret);
IMPORT(TYPES, "[constructor]fields")
int32_t fields_new(void);
IMPORT(TYPES, "[method]fields.append")
void fields_append(int32_t self, const char *name, size_t nlen, const void *value, size_t vlen,
                   void *ret);
IMPORT(TYPES, "[method]fields.entries")
void fields_entries(int32_t self, void *ret);
IMPORT(TYPES, "[constructor]outgoing-response")
int32_t response_new(int32_t headers);
IMPORT(TYPES, "[method]outgoing-response.set-status-code")
int32_t response_set_status(int32_t self, int32_t status);
IMPORT(TYPES, "[method]outgoing-response.body")
void response_body(int32_t self, void *ret);
IMPORT(TYPES, "[method]outgoing-body.write")
void body_write(int32_t self, void *ret);
IMPORT(TYPES, "[static]outgoing-body.finish")
void body_finish(int32_t self, int32_t has_trailers, int32_t trailers, void *ret);
IMPORT(TYPES, "[static]response-outparam.set")
void outparam_set(int32_t param, int32_t is_err, int32_t a, int32_t b, int64_t c, int32_t d,
                  int32_t e, int32_t f, int32_t g);
IMPORT(TYPES, "[method]incoming-body.stream")
void in_body_stream(int32_t self, void *ret);
IMPORT(TYPES, "[static]incoming-body.finish")
int32_t in_body_finish(int32_t self);
IMPORT(TYPES, "[resource-drop]fields")
void drop_fields(int32_t h);
IMPORT(TYPES, "[resource-drop]incoming-request")
void drop_request(int32_t h);
IMPORT(TYPES, "[resource-drop]future-trailers")
void drop_future_trailers(int32_t h);
IMPORT(TYPES, "[method]future-trailers.subscribe")
int32_t future_trailers_subscribe(int32_t self);
IMPORT(TYPES, "[method]future-trailers.get")
void future_trailers_get(int32_t self, void *ret);
IMPORT(TYPES, "[resource-drop]outgoing-body")
void drop_outgoing_body(int32_t h);
IMPORT(TYPES, "[resource-drop]incoming-body")
void drop_in_body(int32_t h);
IMPORT(STREAMS, "[method]input-stream.blocking-read")
void in_blocking_read(int32_t self, int64_t len, void *ret);
IMPORT(STREAMS, "[method]output-stream.check-write")
void out_check_write(int32_t self, void *ret);
IMPORT(STREAMS, "[method]output-stream.write")
void out_write(int32_t self, const void *p, size_t n, void *ret);
IMPORT(STREAMS, "[method]output-stream.blocking-flush")
void out_blocking_flush(int32_t self, void *ret);
IMPORT(STREAMS, "[method]output-stream.blocking-write-and-flush")
void out_blocking_write_and_flush(int32_t self, const void *p, size_t n, void *ret);
IMPORT(TYPES, "[method]fields.get")
void fields_get(int32_t self, const char *name, size_t nlen, void *ret);
IMPORT(TYPES, "[constructor]outgoing-request")
int32_t out_request_new(int32_t headers);
IMPORT(TYPES, "[method]outgoing-request.body")
void out_request_body(int32_t self, void *ret);
IMPORT(TYPES, "[method]outgoing-request.set-method")
int32_t out_request_set_method(int32_t self, int32_t disc, const char *p, size_t n);
IMPORT(TYPES, "[method]outgoing-request.set-path-with-query")
int32_t out_request_set_path(int32_t self, int32_t some, const char *p, size_t n);
IMPORT(TYPES, "[method]outgoing-request.set-scheme")
int32_t out_request_set_scheme(int32_t self, int32_t some, int32_t disc, const char *p, size_t n);
IMPORT(TYPES, "[method]outgoing-request.set-authority")
int32_t out_request_set_authority(int32_t self, int32_t some, const char *p, size_t n);
IMPORT("wasi:http/outgoing-handler@0.2.0", "handle")
void outgoing_handle(int32_t request, int32_t has_options, int32_t options, void *ret);
IMPORT(TYPES, "[method]future-incoming-response.subscribe")
int32_t future_subscribe(int32_t self);
IMPORT(TYPES, "[method]future-incoming-response.get")
void future_get(int32_t self, void *ret);
IMPORT(TYPES, "[resource-drop]future-incoming-response")
void drop_future(int32_t h);
IMPORT(TYPES, "[method]incoming-response.status")
int32_t in_response_status(int32_t self);
IMPORT(TYPES, "[method]incoming-response.headers")
int32_t in_response_headers(int32_t self);
IMPORT(TYPES, "[method]incoming-response.consume")
void in_response_consume(int32_t self, void *ret);
IMPORT(TYPES, "[resource-drop]incoming-response")
void drop_in_response(int32_t h);
IMPORT("wasi:io/poll@0.2.0", "[method]pollable.block")
void pollable_block(int32_t self);
IMPORT("wasi:io/poll@0.2.0", "[resource-drop]pollable")
void drop_pollable(int32_t h);
IMPORT("wasi:cli/stdout@0.2.0", "get-stdout")
int32_t get_stdout(void);
IMPORT("wasi:cli/stderr@0.2.0", "get-stderr")
int32_t get_stderr(void);
IMPORT(STREAMS, "[resource-drop]input-stream")
void drop_input(int32_t h);
IMPORT(STREAMS, "[resource-drop]output-stream")
void drop_output(int32_t h);
IMPORT("wasi:clocks/monotonic-clock@0.2.0", "subscribe-duration")
int32_t subscribe_duration(int64_t ns);
IMPORT("wasi:io/poll@0.2.0", "[method]pollable.block")
void pollable_block(int32_t self);
IMPORT("wasi:io/poll@0.2.0", "[resource-drop]pollable")
void drop_pollable(int32_t h);
IMPORT("wasi:sockets/instance-network@0.2.0", "instance-network")
int32_t instance_network(void);
IMPORT("wasi:sockets/network@0.2.0", "[resource-drop]network")
void drop_network(int32_t h);

/* ---- helpers ---- */

/* result<own<T>> and friends: disc at 0, payload at 4. */
struct ret_handle {
    uint8_t disc;
    int32_t handle;
};

static int32_t ok_handle(const struct ret_handle *r)
{
    if (r->disc != 0)
        __builtin_trap();
    return r->handle;
}

static void add_header(int32_t f, const char *name, const char *value)
{
    uint8_t ret[2];
    fields_append(f, name, slen(name), value, slen(value), ret);
    if (ret[0] != 0)
        __builtin_trap();
}

/* Writes all of p through the stream, as check-write allows. */
static void write_all(int32_t out, const uint8_t *p, size_t n)
{
    while (n > 0) {
        struct {
            uint8_t disc;
            uint64_t v;
        } cw;
        out_check_write(out, &cw);
        if (cw.disc != 0)
            __builtin_trap();
        if (cw.v == 0) {
            uint8_t fl[12];
            out_blocking_flush(out, fl);
            continue;
        }
        size_t k = n < cw.v ? n : (size_t)cw.v;
        uint8_t wr[12];
        out_write(out, p, k, wr);
        if (wr[0] != 0)
            __builtin_trap();
        p += k;
        n -= k;
    }
}

/* A line to the component's stdout or stderr (the logs). */
static void say(int32_t stream, const char *text)
{
    uint8_t ret[12];
    out_blocking_write_and_flush(stream, text, slen(text), ret);
    drop_output(stream);
}

/* Sends a response: status, headers already in `headers`, then the body
 * (streamed by `produce`, which may be NULL) and finish. */
static void respond(int32_t outparam, int32_t headers, int status,
                    void (*produce)(int32_t out, void *ctx), void *ctx)
{
    int32_t resp = response_new(headers);
    if (response_set_status(resp, status) != 0)
        __builtin_trap();
    struct ret_handle r;
    response_body(resp, &r);
    int32_t body = ok_handle(&r);
    outparam_set(outparam, 0, resp, 0, 0, 0, 0, 0, 0);
    body_write(body, &r);
    int32_t out = ok_handle(&r);
    if (produce != NULL)
        produce(out, ctx);
    drop_output(out);
    uint64_t fin[8];
    body_finish(body, 0, 0, fin);
    if (((uint8_t *)fin)[0] != 0)
        __builtin_trap();
}

static void produce_text(int32_t out, void *ctx)
{
    const char *text = ctx;
    write_all(out, (const uint8_t *)text, slen(text));
}

static void text(int32_t outparam, int status, const char *body)
{
    int32_t h = fields_new();
    add_header(h, "content-type", "text/plain");
    respond(outparam, h, status, produce_text, (void *)body);
}

/* ---- routes ---- */

static void produce_echo(int32_t out, void *ctx)
{
    int32_t in = *(int32_t *)ctx;
    for (;;) {
        uintptr_t mark = heap_next;
        struct {
            uint8_t disc;
            uint32_t a, b;
        } rd;
        in_blocking_read(in, 65536, &rd);
        if (rd.disc != 0)
            break; /* closed (or failed): the end */
        write_all(out, (const uint8_t *)(uintptr_t)rd.a, rd.b);
        heap_next = mark;
    }
}

static void echo(int32_t request, int32_t outparam)
{
    struct ret_handle r;
    request_consume(request, &r);
    int32_t body = ok_handle(&r);
    in_body_stream(body, &r);
    int32_t in = ok_handle(&r);
    struct {
        uint8_t disc;
        uint32_t ptr, len;
    } m;
    request_method(request, &m);
    char num[4] = {(char)('0' + m.disc % 10), 0};
    int32_t h = fields_new();
    add_header(h, "x-method", num);
    respond(outparam, h, 200, produce_echo, &in);
    drop_input(in);
    drop_future_trailers(in_body_finish(body));
}

struct pair {
    uint32_t name, nlen, value, vlen;
};

static void produce_headers(int32_t out, void *ctx)
{
    int32_t request = *(int32_t *)ctx;
    int32_t h = request_headers(request);
    struct {
        uint32_t ptr, len;
    } list;
    fields_entries(h, &list);
    const struct pair *p = (const struct pair *)(uintptr_t)list.ptr;
    for (uint32_t i = 0; i < list.len; i++) {
        write_all(out, (const uint8_t *)(uintptr_t)p[i].name, p[i].nlen);
        write_all(out, (const uint8_t *)": ", 2);
        write_all(out, (const uint8_t *)(uintptr_t)p[i].value, p[i].vlen);
        write_all(out, (const uint8_t *)"\n", 1);
    }
    drop_fields(h);
}

static void headers(int32_t request, int32_t outparam)
{
    int32_t h = fields_new();
    add_header(h, "content-type", "text/plain");
    respond(outparam, h, 200, produce_headers, &request);
}

static void status(int32_t outparam)
{
    int32_t h = fields_new();
    add_header(h, "content-length", "7");
    add_header(h, "x-custom", "custom value");
    add_header(h, "x-multi", "one");
    add_header(h, "x-multi", "two");
    respond(outparam, h, 418, produce_text, "teapot\n");
}

static void error(int32_t outparam)
{
    static const char msg[] = "refused";
    /* err(internal-error(some("refused"))): error-code case 38, its
     * option<string> flattened into the joined slots. */
    outparam_set(outparam, 1, 38, 1, (int64_t)(uintptr_t)msg, sizeof msg - 1, 0, 0, 0);
}

/* Decimal digits of v into p; returns the count. */
static size_t put_num(char *p, uint64_t v)
{
    char d[24];
    size_t n = 0, k = 0;
    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n > 0)
        p[k++] = d[--n];
    return k;
}

/* Reads input stream `in` to its end, returning how many bytes came and,
 * when hash is not NULL, folding them into *hash (FNV-1a 32-bit). */
static uint64_t drain(int32_t in, uint32_t *hash)
{
    uint64_t len = 0;
    for (;;) {
        uintptr_t mark = heap_next;
        struct {
            uint8_t disc;
            uint32_t a, b;
        } rd;
        in_blocking_read(in, 65536, &rd);
        heap_next = mark;
        if (rd.disc != 0)
            return len; /* closed (or failed): the end */
        if (hash != NULL) {
            const uint8_t *p = (const uint8_t *)(uintptr_t)rd.a;
            for (uint32_t i = 0; i < rd.b; i++)
                *hash = (*hash ^ p[i]) * 16777619u;
        }
        len += rd.b;
    }
}

static void sink(int32_t request, int32_t outparam)
{
    struct ret_handle r;
    request_consume(request, &r);
    int32_t body = ok_handle(&r);
    in_body_stream(body, &r);
    int32_t in = ok_handle(&r);
    uint32_t hash = 2166136261u;
    uint64_t len = drain(in, &hash);
    drop_input(in);
    drop_future_trailers(in_body_finish(body));
    static char msg[48];
    size_t k = put_num(msg, len);
    msg[k++] = ' ';
    k += put_num(msg + k, hash);
    msg[k++] = '\n';
    msg[k] = 0;
    text(outparam, 200, msg);
}

static void produce_big(int32_t out, void *ctx)
{
    (void)ctx;
    static uint8_t chunk[65536];
    uint32_t x = 12345;
    size_t left = (3u << 20) + 17;
    while (left > 0) {
        size_t k = left < sizeof chunk ? left : sizeof chunk;
        for (size_t i = 0; i < k; i++) {
            x = x * 1103515245u + 12345u;
            chunk[i] = (uint8_t)(x >> 24);
        }
        write_all(out, chunk, k);
        left -= k;
    }
}

/* ---- /chain: an outgoing request ---- */

/* "error-code N\n" (with internal-error's message) for the error-code
 * value at e: discriminant at 0, payload at 8. */
static void chain_failed(int32_t outparam, const uint8_t *e)
{
    static char msg[256];
    size_t n = 0;
    const char *head = "error-code ";
    while (*head)
        msg[n++] = *head++;
    unsigned code = e[0];
    if (code >= 10)
        msg[n++] = (char)('0' + code / 10);
    msg[n++] = (char)('0' + code % 10);
    if (code == 38 && e[8] == 1) { /* internal-error(some(message)) */
        const char *m = (const char *)(uintptr_t) * (const uint32_t *)(e + 12);
        uint32_t len = *(const uint32_t *)(e + 16);
        msg[n++] = ':';
        msg[n++] = ' ';
        for (uint32_t i = 0; i < len && n + 2 < sizeof msg; i++)
            msg[n++] = m[i];
    }
    msg[n++] = '\n';
    msg[n] = 0;
    text(outparam, 502, msg);
}

/* Streams the input stream into the output stream until it closes. */
static void pump(int32_t in, int32_t out)
{
    produce_echo(out, &in);
}

/* The value of request header `name` (its first), or NULL. */
static const char *header_value(int32_t request, const char *name, size_t *len)
{
    int32_t h = request_headers(request);
    struct {
        uint32_t ptr, len;
    } list;
    fields_get(h, name, slen(name), &list);
    drop_fields(h);
    if (list.len == 0)
        return NULL;
    const uint32_t *v = (const uint32_t *)(uintptr_t)list.ptr;
    *len = v[1];
    return (const char *)(uintptr_t)v[0];
}

static void chain_with(int32_t request, int32_t outparam, int32_t options);

/* Waits for future-trailers ft and drops it: its trailers (own<fields>),
 * or 0 for none or an error. */
static int32_t trailers_of(int32_t ft)
{
    int32_t poll = future_trailers_subscribe(ft);
    pollable_block(poll);
    drop_pollable(poll);
    /* option<result<result<option<trailers>, error-code>>>, as in
     * produce_request_trailers. */
    uint8_t ret[48] __attribute__((aligned(8)));
    future_trailers_get(ft, ret);
    drop_future_trailers(ft);
    if (ret[0] != 1 || ret[8] != 0 || ret[16] != 0 || ret[24] == 0)
        return 0;
    return *(int32_t *)(ret + 28);
}

static void chain(int32_t request, int32_t outparam)
{
    chain_with(request, outparam, 0);
}

/* options: own<request-options>, or 0 for none. */
static void chain_with(int32_t request, int32_t outparam, int32_t options)
{
    size_t ulen;
    const char *url = header_value(request, "x-chain-url", &ulen);
    if (url == NULL) {
        text(outparam, 400, "no x-chain-url\n");
        return;
    }
    /* scheme://authority/path?query */
    size_t i = 0;
    while (i + 2 < ulen && !(url[i] == ':' && url[i + 1] == '/' && url[i + 2] == '/'))
        i++;
    if (i + 2 >= ulen) {
        text(outparam, 400, "bad x-chain-url\n");
        return;
    }
    const char *scheme = url;
    size_t scheme_len = i;
    const char *auth = url + i + 3;
    size_t alen = 0;
    while (auth + alen < url + ulen && auth[alen] != '/')
        alen++;
    const char *path = auth + alen;
    size_t plen = (size_t)(url + ulen - path);

    struct {
        uint8_t disc;
        uint32_t ptr, len;
    } m;
    request_method(request, &m);
    int has_body = m.disc == 2 || m.disc == 3; /* post, put */

    int32_t h = fields_new();
    {
        uint8_t ret[2];
        fields_append(h, "x-chain-url", 11, url, ulen, ret);
        if (ret[0] != 0)
            __builtin_trap();
    }
    int32_t req = out_request_new(h);
    int https = scheme_len == 5 && scheme[4] == 's';
    if (out_request_set_method(req, m.disc, (const char *)(uintptr_t)m.ptr, m.len) != 0 ||
        out_request_set_scheme(req, 1, https ? 1 : 0, 0, 0) != 0 ||
        out_request_set_authority(req, 1, auth, alen) != 0 ||
        out_request_set_path(req, 1, plen ? path : "/", plen ? plen : 1) != 0)
        __builtin_trap();
    struct ret_handle r;
    int32_t out_body = 0;
    if (has_body) {
        out_request_body(req, &r);
        out_body = ok_handle(&r);
    }
    uint64_t ret[7]; /* result<own<future-incoming-response>, error-code> */
    outgoing_handle(req, options != 0, options, ret);
    const uint8_t *rb = (const uint8_t *)ret;
    if (rb[0] != 0) {
        chain_failed(outparam, rb + 8);
        return;
    }
    if (has_body) {
        /* The request body goes out while the response may come. */
        int32_t in_body;
        request_consume(request, &r);
        in_body = ok_handle(&r);
        in_body_stream(in_body, &r);
        int32_t in = ok_handle(&r);
        body_write(out_body, &r);
        int32_t out = ok_handle(&r);
        pump(in, out);
        drop_output(out);
        drop_input(in);
        int32_t t = trailers_of(in_body_finish(in_body));
        uint64_t fin[8];
        body_finish(out_body, t != 0, t, fin);
    }
    int32_t future = *(const int32_t *)(rb + 8);
    int32_t p = future_subscribe(future);
    pollable_block(p);
    drop_pollable(p);
    uint64_t got[7]; /* option<result<result<own<incoming-response>, error-code>>> */
    future_get(future, got);
    const uint8_t *g = (const uint8_t *)got;
    if (g[0] != 1 || g[8] != 0)
        __builtin_trap(); /* block returned: the value is there, taken once */
    if (g[16] != 0) {
        drop_future(future);
        chain_failed(outparam, g + 24);
        return;
    }
    int32_t resp = *(const int32_t *)(g + 24);
    int status_code = in_response_status(resp);
    /* The response's headers, copied into ours. */
    int32_t rh = in_response_headers(resp);
    struct {
        uint32_t ptr, len;
    } list;
    fields_entries(rh, &list);
    drop_fields(rh);
    int32_t mine = fields_new();
    const struct pair *e = (const struct pair *)(uintptr_t)list.ptr;
    for (uint32_t k = 0; k < list.len; k++) {
        uint8_t ar[2];
        fields_append(mine, (const char *)(uintptr_t)e[k].name, e[k].nlen,
                      (const void *)(uintptr_t)e[k].value, e[k].vlen, ar);
    }
    in_response_consume(resp, &r);
    int32_t body = ok_handle(&r);
    in_body_stream(body, &r);
    int32_t in = ok_handle(&r);
    /* As respond(), finished with the response's trailers. */
    int32_t ours = response_new(mine);
    if (response_set_status(ours, status_code) != 0)
        __builtin_trap();
    response_body(ours, &r);
    int32_t ours_body = ok_handle(&r);
    outparam_set(outparam, 0, ours, 0, 0, 0, 0, 0, 0);
    body_write(ours_body, &r);
    int32_t out = ok_handle(&r);
    produce_echo(out, &in);
    drop_output(out);
    drop_input(in);
    int32_t t = trailers_of(in_body_finish(body));
    uint64_t fin[8];
    body_finish(ours_body, t != 0, t, fin);
    if (((uint8_t *)fin)[0] != 0)
        __builtin_trap();
    drop_in_response(resp);
    drop_future(future);
}

/* Finishes a body of "with trailers\n" with two trailers. */
static void with_trailers(int32_t outparam)
{
    int32_t resp = response_new(fields_new());
    struct ret_handle r;
    response_body(resp, &r);
    int32_t body = ok_handle(&r);
    outparam_set(outparam, 0, resp, 0, 0, 0, 0, 0, 0);
    body_write(body, &r);
    int32_t out = ok_handle(&r);
    produce_text(out, "with trailers\n");
    drop_output(out);
    int32_t t = fields_new();
    add_header(t, "x-trailer", "one");
    add_header(t, "x-sum", "42");
    uint64_t fin[8];
    body_finish(body, 1, t, fin);
    if (((uint8_t *)fin)[0] != 0)
        __builtin_trap();
}

/* Writes "name: value\n" for each entry of fields h. */
static void list_fields(int32_t out, int32_t h)
{
    struct {
        uint32_t ptr, len;
    } list;
    fields_entries(h, &list);
    const struct pair *p = (const struct pair *)(uintptr_t)list.ptr;
    for (uint32_t i = 0; i < list.len; i++) {
        write_all(out, (const uint8_t *)(uintptr_t)p[i].name, p[i].nlen);
        write_all(out, (const uint8_t *)": ", 2);
        write_all(out, (const uint8_t *)(uintptr_t)p[i].value, p[i].vlen);
        write_all(out, (const uint8_t *)"\n", 1);
    }
}

static void produce_request_trailers(int32_t out, void *ctx)
{
    int32_t request = *(int32_t *)ctx;
    struct ret_handle r;
    request_consume(request, &r);
    int32_t body = ok_handle(&r);
    in_body_stream(body, &r);
    int32_t in = ok_handle(&r);
    uint64_t len = drain(in, NULL);
    drop_input(in);
    char line[32] = "len=";
    size_t k = 4 + put_num(line + 4, len);
    line[k++] = '\n';
    write_all(out, (const uint8_t *)line, k);
    int32_t ft = in_body_finish(body);
    int32_t poll = future_trailers_subscribe(ft);
    pollable_block(poll);
    drop_pollable(poll);
    /* option<result<result<option<trailers>, error-code>>>: each level's
     * payload 8 bytes on (error-code holds a u64). */
    uint8_t ret[48] __attribute__((aligned(8)));
    future_trailers_get(ft, ret);
    if (ret[0] != 1 || ret[8] != 0)
        __builtin_trap(); /* not ready after the pollable, or taken */
    if (ret[16] != 0) {
        write_all(out, (const uint8_t *)"error\n", 6);
    } else if (ret[24] == 0) {
        write_all(out, (const uint8_t *)"none\n", 5);
    } else {
        int32_t t = *(int32_t *)(ret + 28);
        list_fields(out, t);
        drop_fields(t);
    }
    drop_future_trailers(ft);
}

static void unfinished(int32_t outparam)
{
    int32_t resp = response_new(fields_new());
    struct ret_handle r;
    response_body(resp, &r);
    int32_t body = ok_handle(&r);
    outparam_set(outparam, 0, resp, 0, 0, 0, 0, 0, 0);
    body_write(body, &r);
    int32_t out = ok_handle(&r);
    produce_text(out, "partial\n");
    uint8_t fl[12];
    out_blocking_flush(out, fl);
    drop_output(out);
    drop_outgoing_body(body);
}

/* Reads a decimal number at *s (up to end), moving *s past it. */
static uint32_t get_num(const char **s, const char *end)
{
    uint32_t v = 0;
    while (*s < end && **s >= '0' && **s <= '9')
        v = v * 10 + (uint32_t)(*(*s)++ - '0');
    return v;
}

struct fetch {
    const char *path; /* after "/fetch-many/" */
    size_t len;
};

/* One GET to 127.0.0.1:port/i; returns the body's length, or -1 when it
 * failed, and whether the status was 2xx. */
static int64_t fetch_one(const char *authority, size_t alen, uint32_t i, int *ok)
{
    int32_t req = out_request_new(fields_new());
    char path[16] = "/";
    size_t pn = 1 + put_num(path + 1, i);
    if (out_request_set_path(req, 1, path, pn) != 0 ||
        out_request_set_scheme(req, 1, 0, 0, 0) != 0 ||
        out_request_set_authority(req, 1, authority, alen) != 0)
        __builtin_trap();
    /* result<own<future-incoming-response>, error-code>: payload at 8. */
    uint8_t hr[40] __attribute__((aligned(8)));
    outgoing_handle(req, 0, 0, hr);
    if (hr[0] != 0)
        return -1;
    int32_t fut = *(int32_t *)(hr + 8);
    int32_t poll = future_subscribe(fut);
    pollable_block(poll);
    drop_pollable(poll);
    /* option<result<result<own<incoming-response>, error-code>>>. */
    uint8_t gr[48] __attribute__((aligned(8)));
    future_get(fut, gr);
    drop_future(fut);
    if (gr[0] != 1 || gr[8] != 0)
        __builtin_trap();
    if (gr[16] != 0)
        return -1;
    int32_t resp = *(int32_t *)(gr + 24);
    int32_t status = in_response_status(resp);
    *ok = status >= 200 && status < 300;
    struct ret_handle r;
    in_response_consume(resp, &r);
    int32_t body = ok_handle(&r);
    in_body_stream(body, &r);
    int32_t in = ok_handle(&r);
    int64_t len = (int64_t)drain(in, NULL);
    drop_input(in);
    drop_in_body(body);
    drop_in_response(resp);
    return len;
}

static void produce_fetch_many(int32_t out, void *ctx)
{
    const struct fetch *f = ctx;
    const char *s = f->path, *end = f->path + f->len;
    const char *port = s;
    get_num(&s, end);
    size_t plen = (size_t)(s - port);
    if (s < end && *s == '/')
        s++;
    uint32_t n = get_num(&s, end);
    char authority[32] = "127.0.0.1:";
    size_t alen = 10;
    for (size_t i = 0; i < plen && alen < sizeof authority; i++)
        authority[alen++] = port[i];
    uint64_t ok = 0, bytes = 0, fail = 0;
    for (uint32_t i = 0; i < n; i++) {
        int good = 0;
        int64_t len = fetch_one(authority, alen, i, &good);
        if (len < 0) {
            fail++;
            continue;
        }
        ok += good != 0;
        bytes += (uint64_t)len;
    }
    char line[96];
    size_t k = 0;
    memcpy(line, "ok=", 3), k = 3;
    k += put_num(line + k, ok);
    memcpy(line + k, " bytes=", 7), k += 7;
    k += put_num(line + k, bytes);
    memcpy(line + k, " fail=", 6), k += 6;
    k += put_num(line + k, fail);
    line[k++] = '\n';
    write_all(out, (const uint8_t *)line, k);
}

static volatile int forever = 1;

enum { WIDE = 200 * 1024 };

static void produce_wide(int32_t out, void *ctx)
{
    (void)ctx;
    static uint8_t chunk[4096];
    for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = 'x';
    for (size_t sent = 0; sent < WIDE; sent += sizeof chunk) {
        if (sent + sizeof chunk == WIDE)
            chunk[sizeof chunk - 1] = '\n';
        write_all(out, chunk, sizeof chunk);
    }
}

/* ---- /chain-timed and /drip ---- */

IMPORT(TYPES, "[constructor]request-options")
int32_t request_options_new(void);
IMPORT(TYPES, "[method]request-options.set-connect-timeout")
int32_t request_options_set_connect(int32_t self, int32_t some, int64_t ns);
IMPORT(TYPES, "[method]request-options.set-first-byte-timeout")
int32_t request_options_set_first_byte(int32_t self, int32_t some, int64_t ns);
IMPORT(TYPES, "[method]request-options.set-between-bytes-timeout")
int32_t request_options_set_between_bytes(int32_t self, int32_t some, int64_t ns);

/* Request header `name` as a count of milliseconds, or -1. */
static int64_t header_ms(int32_t request, const char *name)
{
    size_t len;
    const char *v = header_value(request, name, &len);
    if (v == NULL || len == 0)
        return -1;
    int64_t ms = 0;
    for (size_t i = 0; i < len && v[i] >= '0' && v[i] <= '9'; i++)
        ms = ms * 10 + (v[i] - '0');
    return ms;
}

static void chain_timed(int32_t request, int32_t outparam)
{
    int32_t o = request_options_new();
    int64_t ms;
    if ((ms = header_ms(request, "x-connect-ms")) >= 0 &&
        request_options_set_connect(o, 1, ms * 1000000) != 0)
        __builtin_trap();
    if ((ms = header_ms(request, "x-first-byte-ms")) >= 0 &&
        request_options_set_first_byte(o, 1, ms * 1000000) != 0)
        __builtin_trap();
    if ((ms = header_ms(request, "x-between-bytes-ms")) >= 0 &&
        request_options_set_between_bytes(o, 1, ms * 1000000) != 0)
        __builtin_trap();
    chain_with(request, outparam, o);
}

static void produce_drip(int32_t out, void *ctx)
{
    (void)ctx;
    write_all(out, (const uint8_t *)"first\n", 6);
    int32_t p = subscribe_duration(1000 * 1000 * 1000);
    pollable_block(p);
    drop_pollable(p);
    write_all(out, (const uint8_t *)"second\n", 7);
}

EXPORT("wasi:http/incoming-handler@0.2.0#handle")
void handle(int32_t request, int32_t outparam)
{
    struct {
        uint8_t disc;
        uint32_t ptr, len;
    } p;
    request_path(request, &p);
    const char *path = p.disc ? (const char *)(uintptr_t)p.ptr : "/";
    size_t n = p.disc ? p.len : 1;
    if (prefix(path, n, "/hello")) {
        say(get_stdout(), "stdout: served /hello\n");
        text(outparam, 200, "hello from a wasi:http component\n");
    } else if (prefix(path, n, "/bench"))
        text(outparam, 200, "hello from a wasi:http component\n");
    else if (prefix(path, n, "/echo"))
        echo(request, outparam);
    else if (prefix(path, n, "/headers"))
        headers(request, outparam);
    else if (prefix(path, n, "/status"))
        status(outparam);
    else if (prefix(path, n, "/loop"))
        while (forever)
            ;
    else if (prefix(path, n, "/trap")) {
        say(get_stderr(), "stderr: about to trap\n");
        __builtin_trap();
    } else if (prefix(path, n, "/silent"))
        ; /* no response */
    else if (prefix(path, n, "/error"))
        error(outparam);
    else if (prefix(path, n, "/sink"))
        sink(request, outparam);
    else if (prefix(path, n, "/big"))
        respond(outparam, fields_new(), 200, produce_big, 0);
    else if (prefix(path, n, "/chain"))
        chain(request, outparam);
    else if (prefix(path, n, "/sleep") || prefix(path, n, "/sleep-1s")) {
        int32_t p = subscribe_duration(prefix(path, n, "/sleep") ? 20 * 1000 * 1000 : 1000000000);
        pollable_block(p);
        drop_pollable(p);
        text(outparam, 200, "slept\n");
    } else if (prefix(path, n, "/network")) {
        drop_network(instance_network());
        text(outparam, 200, "network\n");
    } else if (prefix(path, n, "/wide"))
        respond(outparam, fields_new(), 200, produce_wide, NULL);
    else if (prefix(path, n, "/trailers"))
        with_trailers(outparam);
    else if (prefix(path, n, "/req-trailers")) {
        int32_t h = fields_new();
        add_header(h, "content-type", "text/plain");
        respond(outparam, h, 200, produce_request_trailers, &request);
    } else if (prefix(path, n, "/unfinished"))
        unfinished(outparam);
    else if (prefix(path, n, "/fetch-many") && n > 12) {
        struct fetch f = {path + 12, n - 12};
        int32_t h = fields_new();
        add_header(h, "content-type", "text/plain");
        respond(outparam, h, 200, produce_fetch_many, &f);
    } else if (prefix(path, n, "/chain-timed"))
        chain_timed(request, outparam);
    else if (prefix(path, n, "/drip"))
        respond(outparam, fields_new(), 200, produce_drip, NULL);
    else
        text(outparam, 404, "no route\n");
    drop_request(request);
}

/*
 * The route table: compiling Spin route patterns and most-specific matching.
 *
 * Specificity (the rule of Spin's router, which walks a trie depth-first
 * trying, at each position, "the route ends here" first, then exact text,
 * then a `:name`, then the trailing wildcard): every compiled route is a
 * sequence of ranks, one per position, ending in RANK_END (an exact route)
 * or RANK_WILD (a trailing `/...`). Among the routes that match a path, the
 * lexicographically greatest rank sequence wins; equal sequences cannot both
 * be live (the earlier one is shadowed at compile time), so the match is
 * unique. RANK_END can only meet RANK_WILD at one position (both routes
 * matched the same path, which ends there), so "exact route beats wildcard
 * at the same prefix" falls out of the ordering.
 */
#include "trigger/router.h"

#include "base/alloc.h"
#include "base/buf.h"

#include <string.h>

enum seg_rank { RANK_WILD = 1, RANK_PARAM = 2, RANK_EXACT = 3, RANK_END = 4 };

struct seg {
    enum seg_rank rank; /* RANK_EXACT or RANK_PARAM */
    const char *text;   /* exact text, or the param name (without ':'); in `based` */
    size_t len;
};

struct compiled {
    const struct http_route *route;
    char *based;      /* sanitized base + sanitized pattern, with "/..." (spin-matched-route) */
    char *raw;        /* the pattern as written, absolutized (spin-raw-component-route) */
    char *comp;       /* raw without a trailing "/..." (spin-component-route) */
    struct seg *segs; /* the prefix before any "/..." */
    size_t nsegs;
    bool wildcard;
    bool live; /* public and not shadowed by a later duplicate */
};

struct http_router {
    struct compiled *routes;
    size_t nroutes;
    char *base; /* as given, "/" by default (spin-base-path) */
    char **warnings;
    size_t nwarnings;
};

static void compiled_fini(struct compiled *c)
{
    spry_free(c->based);
    spry_free(c->raw);
    spry_free(c->comp);
    spry_free(c->segs);
}

void http_router_destroy(struct http_router *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nroutes; i++)
        compiled_fini(&r->routes[i]);
    for (size_t i = 0; i < r->nwarnings; i++)
        spry_free(r->warnings[i]);
    spry_free(r->routes);
    spry_free(r->warnings);
    spry_free(r->base);
    spry_free(r);
}

size_t http_router_warning_count(const struct http_router *r)
{
    return r->nwarnings;
}

const char *http_router_warning(const struct http_router *r, size_t i)
{
    return i < r->nwarnings ? r->warnings[i] : NULL;
}

/* Adds a leading '/' when missing and drops one trailing '/' (Spin's
 * absolutize + sanitize); appends the result to out. */
static int append_sanitized(struct spry_buf *out, const char *s, bool absolutize)
{
    size_t n = strlen(s);
    if (absolutize && (n == 0 || s[0] != '/')) {
        int rc = spry_buf_append_byte(out, '/');
        if (rc != 0)
            return rc;
    }
    if (n > 0 && s[n - 1] == '/')
        n--;
    return spry_buf_append(out, s, n);
}

static bool name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* Bytes a pattern may contain: visible ASCII except the ones that end a path
 * (?, #) or that only a wildcard may use (*). */
static bool pattern_char_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '?' && c != '#' && c != '*';
}

static int fail_route(struct spry_report *report, const struct http_route *route, const char *what)
{
    return spry_report_set(report, SPRY_EINVALID, "route '%s' of component '%s': %s",
                           route->pattern, route->component_id ? route->component_id : "(static)",
                           what);
}

/* Splits c->based into segments; the wildcard suffix is already removed
 * (prefix_len bytes of c->based are the prefix). */
static int compile_segments(struct compiled *c, size_t prefix_len, struct spry_report *report)
{
    const char *p = c->based, *end = c->based + prefix_len;
    size_t nparams = 0;
    /* Invariant: the prefix is empty or starts with '/', one per segment. */
    if (prefix_len > 0 && p[0] != '/')
        return fail_route(report, c->route, "must start with '/'");
    c->segs = spry_alloc_array(HTTP_ROUTE_MAX_SEGMENTS, sizeof(*c->segs));
    if (c->segs == NULL)
        return SPRY_ENOMEM;
    while (p < end) {
        const char *s = p + 1, *e = s;
        while (e < end && *e != '/')
            e++;
        if (c->nsegs == HTTP_ROUTE_MAX_SEGMENTS)
            return fail_route(report, c->route, "too many segments");
        if (e == s)
            return fail_route(report, c->route, "empty path segment ('//')");
        struct seg *g = &c->segs[c->nsegs++];
        if (*s == ':') {
            if (e - s == 1)
                return fail_route(report, c->route, "a ':' segment needs a name");
            for (const char *q = s + 1; q < e; q++)
                if (!name_char_ok(*q))
                    return fail_route(report, c->route,
                                      "a ':name' may use only letters, digits, '_' and '-'");
            if (++nparams > HTTP_ROUTE_MAX_PARAMS)
                return fail_route(report, c->route, "too many ':name' segments");
            g->rank = RANK_PARAM;
            g->text = s + 1;
            g->len = (size_t)(e - s - 1);
            for (size_t k = 0; k + 1 < c->nsegs; k++) {
                const struct seg *o = &c->segs[k];
                if (o->rank == RANK_PARAM && o->len == g->len &&
                    memcmp(o->text, g->text, g->len) == 0)
                    return fail_route(report, c->route, "a ':name' is used twice");
            }
        } else {
            if (e - s == 3 && memcmp(s, "...", 3) == 0)
                return fail_route(report, c->route, "'...' may only end a route");
            for (const char *q = s; q < e; q++) {
                if (*q == '*')
                    return fail_route(report, c->route, "'*' may only end a route, as '/*'");
                if (!pattern_char_ok((unsigned char)*q))
                    return fail_route(report, c->route,
                                      "invalid character (space, control, '?' or '#')");
            }
            g->rank = RANK_EXACT;
            g->text = s;
            g->len = (size_t)(e - s);
        }
        p = e;
    }
    return 0;
}

static int compile_route(const struct http_route *route, const char *base, struct compiled *c,
                         struct spry_report *report)
{
    struct spry_buf b;
    int rc;
    c->route = route;
    if (route->is_private)
        return 0;
    if (route->pattern == NULL)
        return spry_report_set(report, SPRY_EINVALID, "component '%s' has no route",
                               route->component_id ? route->component_id : "(static)");
    if (strlen(route->pattern) > HTTP_ROUTE_MAX_LEN)
        return fail_route(report, route, "longer than 4096 bytes");
    spry_buf_init(&b, 2 * HTTP_ROUTE_MAX_LEN + 8);
    /* based = sanitize(base) + sanitize(absolutize(pattern)) */
    rc = append_sanitized(&b, base, false);
    if (rc == 0)
        rc = append_sanitized(&b, route->pattern, true);
    if (rc != 0)
        goto fail;
    size_t len = b.len;
    const char *s = (const char *)b.data;
    if (len >= 4 && memcmp(s + len - 4, "/...", 4) == 0) {
        c->wildcard = true;
        len -= 4;
    } else if (len >= 2 && memcmp(s + len - 2, "/*", 2) == 0) {
        /* Spin accepts a routefinder-style trailing "/" "*" as the wildcard;
         * it is written "/..." in the metadata. */
        c->wildcard = true;
        len -= 2;
        b.len = len;
        rc = spry_buf_append_str(&b, "/...");
        if (rc != 0)
            goto fail;
    }
    c->based = spry_buf_take(&b);
    if (c->based == NULL) {
        rc = SPRY_ENOMEM;
        goto fail;
    }
    rc = compile_segments(c, len, report);
    if (rc != 0)
        goto fail;

    /* Spin reports the route exactly as written (spin-raw-component-route),
     * and without its "/..." as spin-component-route. */
    c->raw = spry_strdup(route->pattern);
    if (c->raw == NULL) {
        rc = SPRY_ENOMEM;
        goto fail;
    }
    size_t rl = strlen(c->raw);
    if (rl >= 4 && strcmp(c->raw + rl - 4, "/...") == 0)
        rl -= 4;
    c->comp = spry_strndup(c->raw, rl);
    if (c->comp == NULL) {
        rc = SPRY_ENOMEM;
        goto fail;
    }
    c->live = true;
    return 0;
fail:
    spry_buf_fini(&b);
    if (rc == SPRY_ENOMEM)
        spry_report_set(report, rc, "out of memory compiling routes");
    return rc;
}

/* Same shape: the same ranks and exact texts (param names may differ), so
 * the two routes match exactly the same paths. */
static bool same_shape(const struct compiled *a, const struct compiled *b)
{
    if (a->nsegs != b->nsegs || a->wildcard != b->wildcard)
        return false;
    for (size_t i = 0; i < a->nsegs; i++) {
        const struct seg *x = &a->segs[i], *y = &b->segs[i];
        if (x->rank != y->rank)
            return false;
        if (x->rank == RANK_EXACT && (x->len != y->len || memcmp(x->text, y->text, x->len) != 0))
            return false;
    }
    return true;
}

static int add_warning(struct http_router *r, struct spry_buf *msg)
{
    char **w = spry_realloc_array(r->warnings, r->nwarnings + 1, sizeof(*w));
    if (w == NULL)
        return SPRY_ENOMEM;
    r->warnings = w;
    char *s = spry_buf_take(msg);
    if (s == NULL)
        return SPRY_ENOMEM;
    r->warnings[r->nwarnings++] = s;
    return 0;
}

static const char *target_name(const struct http_route *route)
{
    if (route->kind == HTTP_TARGET_STATIC)
        return "(static response)";
    return route->component_id ? route->component_id : "(unnamed)";
}

#define WELL_KNOWN_PREFIX "/.well-known/spin/"

static int collect_warnings(struct http_router *r)
{
    struct spry_buf msg;
    spry_buf_init(&msg, 4 * HTTP_ROUTE_MAX_LEN);
    int rc = 0;
    for (size_t i = 0; i < r->nroutes && rc == 0; i++) {
        struct compiled *a = &r->routes[i];
        if (!a->live)
            continue;
        for (size_t j = i + 1; j < r->nroutes; j++) {
            const struct compiled *b = &r->routes[j];
            if (b->live && same_shape(a, b)) {
                a->live = false;
                rc = spry_buf_printf(&msg,
                                     "route '%s' of %s is shadowed by the later route '%s' of "
                                     "%s and will never be used",
                                     a->raw, target_name(a->route), b->raw, target_name(b->route));
                if (rc == 0)
                    rc = add_warning(r, &msg);
                break;
            }
        }
        if (rc == 0 && a->live &&
            strncmp(a->based, WELL_KNOWN_PREFIX, strlen(WELL_KNOWN_PREFIX)) == 0) {
            rc = spry_buf_printf(&msg,
                                 "route '%s' of %s is under the reserved prefix %s and "
                                 "will never be used",
                                 a->raw, target_name(a->route), WELL_KNOWN_PREFIX);
            if (rc == 0)
                rc = add_warning(r, &msg);
        }
    }
    spry_buf_fini(&msg);
    return rc;
}

int http_router_create(const struct http_route *routes, size_t nroutes, const char *base,
                       struct http_router **out, struct spry_report *report)
{
    int rc;
    if (base == NULL)
        base = "/";
    if (base[0] != '/' || strlen(base) > HTTP_ROUTE_MAX_LEN)
        return spry_report_set(report, SPRY_EINVALID, "base path '%s' must start with '/'", base);
    struct http_router *r = spry_calloc(1, sizeof(*r));
    if (r == NULL)
        goto nomem;
    r->base = spry_strdup(base);
    r->routes = spry_calloc(nroutes ? nroutes : 1, sizeof(*r->routes));
    if (r->base == NULL || r->routes == NULL)
        goto nomem;
    for (size_t i = 0; i < nroutes; i++) {
        r->nroutes = i + 1;
        rc = compile_route(&routes[i], base, &r->routes[i], report);
        if (rc != 0)
            goto fail;
    }
    rc = collect_warnings(r);
    if (rc != 0)
        goto fail;
    *out = r;
    return 0;
nomem:
    rc = spry_report_set(report, SPRY_ENOMEM, "out of memory compiling routes");
fail:
    http_router_destroy(r);
    return rc;
}

/* Matches one compiled route against the path. On success fills ranks (the
 * route's rank sequence, for comparison) and the captures of m. */
static bool match_one(const struct compiled *c, const char *path, size_t len, struct http_match *m)
{
    size_t pos = 0;
    while (pos < len && path[pos] == '/')
        pos++;
    size_t end = len;
    while (end > pos && path[end - 1] == '/')
        end--;
    /* Invariant: pos is the start of the next unconsumed path segment, or
     * end when the (slash-trimmed) path is used up. */
    size_t consumed_to = 0; /* where the last matched segment ends in path */
    m->ncaptures = 0;
    for (size_t i = 0; i < c->nsegs; i++) {
        if (pos >= end)
            return false;
        size_t e = pos;
        while (e < end && path[e] != '/')
            e++;
        const struct seg *g = &c->segs[i];
        if (g->rank == RANK_EXACT) {
            if (e - pos != g->len || memcmp(path + pos, g->text, g->len) != 0)
                return false;
        } else {
            if (e == pos)
                return false;
            struct http_capture *cap = &m->captures[m->ncaptures++];
            cap->name = g->text;
            cap->name_len = g->len;
            cap->value = path + pos;
            cap->value_len = e - pos;
        }
        consumed_to = e;
        pos = e < end ? e + 1 : e;
    }
    if (!c->wildcard) {
        if (pos < end)
            return false;
        m->path_info = "";
        m->path_info_len = 0;
        return true;
    }
    m->path_info = path + consumed_to;
    m->path_info_len = len - consumed_to;
    return true;
}

static int rank_at(const struct compiled *c, size_t i)
{
    if (i < c->nsegs)
        return (int)c->segs[i].rank;
    return c->wildcard ? RANK_WILD : RANK_END;
}

/* > 0 when a is more specific than b. */
static int compare_specificity(const struct compiled *a, const struct compiled *b)
{
    size_t n = (a->nsegs > b->nsegs ? a->nsegs : b->nsegs) + 1;
    for (size_t i = 0; i < n; i++) {
        int x = rank_at(a, i), y = rank_at(b, i);
        if (x != y)
            return x - y;
        if (x == RANK_END || x == RANK_WILD)
            return 0;
    }
    return 0;
}

int http_router_match(const struct http_router *r, const char *path, size_t path_len,
                      struct http_match *out)
{
    const struct compiled *best = NULL;
    struct http_match m, best_m;
    for (size_t i = 0; i < r->nroutes; i++) {
        const struct compiled *c = &r->routes[i];
        if (!c->live || !match_one(c, path, path_len, &m))
            continue;
        if (best == NULL || compare_specificity(c, best) >= 0) {
            best = c;
            best_m = m;
        }
    }
    if (best == NULL)
        return SPRY_ENOTFOUND;
    best_m.route = best->route;
    best_m.matched_route = best->based;
    best_m.raw_route = best->raw;
    best_m.component_route = best->comp;
    best_m.base = r->base;
    *out = best_m;
    return 0;
}

/* Appends s[0..n) without CR, LF or NUL, so that a value can never end a
 * header line early. */
static int append_clean(struct spry_buf *b, const char *s, size_t n)
{
    /* Runs of clean bytes at a time (a value usually is one run). */
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != '\r' && s[j] != '\n' && s[j] != '\0')
            j++;
        int rc = spry_buf_append(b, s + i, j - i);
        if (rc != 0)
            return rc;
        i = j + 1; /* past the byte left out */
    }
    return 0;
}

static int emit_value(http_header_emit_fn emit, void *ctx, struct spry_buf *b, const char *name,
                      const char *value, size_t len)
{
    spry_buf_reset(b);
    int rc = append_clean(b, value, len);
    if (rc == 0)
        rc = spry_buf_reserve(b, 1); /* data != NULL even when empty */
    if (rc != 0)
        return rc;
    return emit(ctx, name, strlen(name), (const char *)b->data, b->len);
}

int http_router_spin_headers(const struct http_match *m, const struct http_request_facts *f,
                             http_header_emit_fn emit, void *ctx)
{
    struct spry_buf b;
    /* Every value is bounded by the request target, the host and the
     * patterns, each of which the server limits; 1 MiB is far above them. */
    spry_buf_init(&b, 1 << 20);
    int rc = spry_buf_reserve(&b, 512); /* one allocation for the usual request */
    if (rc == 0)
        rc = spry_buf_append_str(&b, f->scheme);
    if (rc == 0)
        rc = spry_buf_append(&b, "://", 3);
    if (rc == 0 && f->authority != NULL)
        rc = append_clean(&b, f->authority, strlen(f->authority));
    if (rc == 0)
        rc = append_clean(&b, f->path_query, f->path_query_len);
    if (rc == 0)
        rc = emit(ctx, "spin-full-url", 13, (const char *)b.data, b.len);
    if (rc == 0)
        rc = emit_value(emit, ctx, &b, "spin-path-info", m->path_info, m->path_info_len);
    if (rc == 0)
        rc = emit_value(emit, ctx, &b, "spin-matched-route", m->matched_route,
                        strlen(m->matched_route));
    if (rc == 0)
        rc = emit_value(emit, ctx, &b, "spin-raw-component-route", m->raw_route,
                        strlen(m->raw_route));
    if (rc == 0)
        rc = emit_value(emit, ctx, &b, "spin-component-route", m->component_route,
                        strlen(m->component_route));
    if (rc == 0)
        rc = emit_value(emit, ctx, &b, "spin-base-path", m->base, strlen(m->base));
    if (rc == 0)
        rc = emit_value(emit, ctx, &b, "spin-client-addr", f->client_addr, strlen(f->client_addr));
    for (size_t i = 0; rc == 0 && i < m->ncaptures; i++) {
        const struct http_capture *c = &m->captures[i];
        char name[16 + HTTP_ROUTE_MAX_LEN + 1];
        size_t n = sizeof("spin-path-match-") - 1;
        memcpy(name, "spin-path-match-", n);
        /* Invariant: name_len <= HTTP_ROUTE_MAX_LEN (bounded by the pattern). */
        for (size_t k = 0; k < c->name_len; k++) {
            char ch = c->name[k];
            if (ch >= 'A' && ch <= 'Z')
                ch = (char)(ch - 'A' + 'a');
            name[n++] = ch == '_' ? '-' : ch;
        }
        name[n] = '\0';
        rc = emit_value(emit, ctx, &b, name, c->value, c->value_len);
    }
    spry_buf_fini(&b);
    return rc;
}

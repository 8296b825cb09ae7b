/*
 * WAGI's CGI conventions (see wagi_cgi.h and docs/wagi.md).
 */
#include "trigger/wagi_cgi.h"

#include "base/alloc.h"
#include "base/buf.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
    MAX_ENV_BYTES = 1 << 20, /* far above what the server's header limits allow */
    MAX_ARGV_BYTES = 1 << 20,
    MAX_RESPONSE_HEADERS = 100,
};

/* ---- string lists ------------------------------------------------------------- */

/* NUL-separated strings in `buf` become one allocation: pointers, then text. */
static int strings_from_buf(const struct spry_buf *buf, size_t count, struct wagi_strings *out)
{
    size_t ptr_bytes;
    if (spry_mul_overflow(count + 1, sizeof(char *), &ptr_bytes))
        return SPRY_ETOOBIG;
    char **block = spry_malloc(ptr_bytes + buf->len + 1);
    if (block == NULL)
        return SPRY_ENOMEM;
    char *text = (char *)block + ptr_bytes;
    if (buf->len > 0)
        memcpy(text, buf->data, buf->len);
    text[buf->len] = '\0';
    for (size_t i = 0; i < count; i++) {
        block[i] = text;
        text += strlen(text) + 1;
    }
    block[count] = NULL;
    out->items = block;
    out->count = count;
    return 0;
}

void wagi_strings_free(struct wagi_strings *s)
{
    spry_free(s->items);
    s->items = NULL;
    s->count = 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends s[0, n) percent-decoded (and '+' as a space when `form`); a '%'
 * not followed by two hex digits stays as it is. */
static int append_decoded(struct spry_buf *buf, const char *s, size_t n, bool form)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%' && i + 2 < n && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            c = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        } else if (c == '+' && form) {
            c = ' ';
        }
        int rc = spry_buf_append_byte(buf, (uint8_t)c);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- argv ----------------------------------------------------------------------- */

int wagi_argv(const char *argv_template, const char *path_and_query, struct wagi_strings *out,
              struct spry_report *report)
{
    if (argv_template == NULL || argv_template[0] == '\0')
        argv_template = "${SCRIPT_NAME} ${ARGS}";
    const char *q = strchr(path_and_query, '?');
    size_t path_len = q != NULL ? (size_t)(q - path_and_query) : strlen(path_and_query);
    const char *query = q != NULL ? q + 1 : "";
    struct spry_buf buf;
    spry_buf_init(&buf, MAX_ARGV_BYTES);
    size_t count = 0;
    int rc = 0;
    const char *p = argv_template;
    while (rc == 0 && *p != '\0') {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        const char *end = strchr(p, ' ');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len == strlen("${ARGS}") && memcmp(p, "${ARGS}", len) == 0) {
            /* Each pair "k=v" of the query: k, then v unless empty. */
            const char *s = query;
            while (rc == 0 && *s != '\0') {
                const char *amp = strchr(s, '&');
                size_t pair = amp != NULL ? (size_t)(amp - s) : strlen(s);
                const char *eq = memchr(s, '=', pair);
                size_t klen = eq != NULL ? (size_t)(eq - s) : pair;
                if (pair > 0) {
                    rc = append_decoded(&buf, s, klen, true);
                    if (rc == 0)
                        rc = spry_buf_append_byte(&buf, 0);
                    count++;
                    if (rc == 0 && eq != NULL && pair > klen + 1) {
                        rc = append_decoded(&buf, eq + 1, pair - klen - 1, true);
                        if (rc == 0)
                            rc = spry_buf_append_byte(&buf, 0);
                        count++;
                    }
                }
                s += pair;
                if (*s == '&')
                    s++;
            }
        } else {
            /* A word, with ${SCRIPT_NAME} replaced wherever it occurs. */
            const char *w = p, *wend = p + len;
            while (rc == 0 && w < wend) {
                const char *hit = NULL;
                for (const char *t = w; t + 14 <= wend; t++)
                    if (memcmp(t, "${SCRIPT_NAME}", 14) == 0) {
                        hit = t;
                        break;
                    }
                const char *stop = hit != NULL ? hit : wend;
                rc = spry_buf_append(&buf, w, (size_t)(stop - w));
                if (rc == 0 && hit != NULL)
                    rc = spry_buf_append(&buf, path_and_query, path_len);
                w = hit != NULL ? hit + 14 : wend;
            }
            if (rc == 0)
                rc = spry_buf_append_byte(&buf, 0);
            count++;
        }
        p += len;
    }
    if (rc == 0)
        rc = strings_from_buf(&buf, count, out);
    spry_buf_fini(&buf);
    if (rc != 0)
        return spry_report_set(report, rc, "wagi: cannot build argv: %s", spry_strerror(rc));
    return 0;
}

/* ---- environment ------------------------------------------------------------------ */

/*
 * The environment is written straight into the block the caller gets: the
 * pointer array, then each entry's name length (for lookups without
 * rescanning the text), then the "NAME=value\0" strings back to back in
 * the order the guest sees them. The text's size is bounded before it is
 * built (env_text_bound), so it takes one allocation and no copy; going
 * past the bound is our bug and fails with SPRY_ETOOBIG. The first setting
 * of a name wins (see the order in wagi_env). Measured on the bench's
 * hello route, this is about a third of building it in growing buffers
 * and copying it out (docs/benchmarks.md, "WAGI's host side").
 */
struct env {
    char **items;       /* cap + 1 */
    uint16_t *name_len; /* cap (every name is under 300 bytes) */
    char *text;         /* text_cap bytes */
    size_t len, text_cap;
    size_t count, cap;
    size_t nextra; /* entries [0, nextra) came from the manifest */
    int rc;
};

/* Whether a name is set among entries [0, e->nextra) and [from, count). */
static bool env_has(const struct env *e, size_t from, const char *name, size_t len)
{
    for (size_t i = 0; i < e->count; i++) {
        if (i == e->nextra && from > i)
            i = from;
        if (i >= e->count)
            break;
        if (e->name_len[i] == len && memcmp(e->items[i], name, len) == 0)
            return true;
    }
    return false;
}

/* Starts entry NAME= unless it is set already (checked among the extras
 * and entries from `from` on); false when it is not to be written. */
static bool env_begin(struct env *e, size_t from, const char *name, size_t name_len)
{
    if (e->rc != 0 || env_has(e, from, name, name_len))
        return false;
    if (e->count == e->cap || name_len > UINT16_MAX || e->text_cap - e->len < name_len + 2) {
        e->rc = SPRY_ETOOBIG; /* the bounds are computed from the request: our bug */
        return false;
    }
    e->items[e->count] = e->text + e->len;
    e->name_len[e->count] = (uint16_t)name_len;
    memcpy(e->text + e->len, name, name_len);
    e->len += name_len;
    e->text[e->len++] = '=';
    return true;
}

/* Appends n bytes to the entry being written; a value ends at a NUL
 * (PATH_TRANSLATED decodes "%00"): the guest sees C strings. Returns false
 * when the value ended. */
static bool env_more(struct env *e, const char *s, size_t n)
{
    if (e->rc != 0)
        return false;
    const char *nul = memchr(s, 0, n);
    size_t k = nul != NULL ? (size_t)(nul - s) : n;
    if (e->text_cap - e->len < k + 1) { /* + the NUL env_end writes */
        e->rc = SPRY_ETOOBIG;
        return false;
    }
    memcpy(e->text + e->len, s, k);
    e->len += k;
    return nul == NULL;
}

static void env_end(struct env *e)
{
    if (e->rc != 0)
        return;
    e->text[e->len++] = '\0'; /* room checked by env_begin / env_more */
    e->count++;
}

/* A piece of a value: n bytes at s. */
struct env_part {
    const char *s;
    size_t n;
};

/* Adds NAME=value where value is the concatenation of parts[0, n). */
static void env_put_parts(struct env *e, size_t from, const char *name, size_t name_len,
                          const struct env_part *parts, size_t n)
{
    if (!env_begin(e, from, name, name_len))
        return;
    for (size_t i = 0; i < n && env_more(e, parts[i].s, parts[i].n); i++)
        ;
    env_end(e);
}

/* The fixed variables are distinct, so each is checked against the
 * manifest's only (from = count: no later entries to look at). */
static void env_set(struct env *e, const char *name, const char *value, size_t value_len)
{
    struct env_part p = {value, value_len};
    env_put_parts(e, e->count, name, strlen(name), &p, 1);
}

static void env_str(struct env *e, const char *name, const char *value)
{
    env_set(e, name, value != NULL ? value : "", value != NULL ? strlen(value) : 0);
}

/* Header names longer than this are cut in their HTTP_ variable's name. */
enum { HTTP_VAR_NAME_MAX = 294 };

static char http_var_char(char c)
{
    return c == '-' ? '_' : (char)toupper((unsigned char)c);
}

/* "HTTP_" + the name upper-cased with '-' as '_'; returns its length. */
static size_t http_var_name(const char *header, char out[static 5 + HTTP_VAR_NAME_MAX + 1])
{
    memcpy(out, "HTTP_", 5);
    size_t n = 5;
    for (const char *h = header; *h != '\0' && n < 5 + HTTP_VAR_NAME_MAX; h++)
        out[n++] = http_var_char(*h);
    out[n] = '\0';
    return n;
}

/* Whether two header names give the same HTTP_ variable. */
static bool same_http_var(const char *a, const char *b)
{
    size_t k = 0;
    for (; k < HTTP_VAR_NAME_MAX && a[k] != '\0' && b[k] != '\0'; k++)
        if (http_var_char(a[k]) != http_var_char(b[k]))
            return false;
    return k == HTTP_VAR_NAME_MAX || (a[k] == '\0' && b[k] == '\0');
}

/* HTTP_<name> for header i, the values of every header of that variable
 * joined with ", " (RFC 3875 4.1.18), unless it is set already (by the
 * manifest or an earlier header: entries from `from` on). */
static void env_header(struct env *e, size_t from, const struct wagi_request *req, size_t i)
{
    char name[5 + HTTP_VAR_NAME_MAX + 1];
    size_t len = http_var_name(req->headers[i].name, name);
    if ((len == 18 && memcmp(name, "HTTP_AUTHORIZATION", 18) == 0) ||
        (len == 15 && memcmp(name, "HTTP_CONNECTION", 15) == 0))
        return;
    if (!env_begin(e, from, name, len))
        return;
    const char *value = req->headers[i].value;
    bool open = env_more(e, value, strlen(value));
    for (size_t j = i + 1; open && j < req->nheaders; j++)
        if (same_http_var(req->headers[i].name, req->headers[j].name))
            open = env_more(e, ", ", 2) &&
                   env_more(e, req->headers[j].value, strlen(req->headers[j].value));
    env_end(e);
}

/* n in decimal into out (at least 21 bytes); returns the length. */
static size_t format_u64(uint64_t n, char *out)
{
    char digits[20];
    size_t k = 0;
    do {
        digits[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n != 0);
    for (size_t i = 0; i < k; i++)
        out[i] = digits[k - 1 - i];
    out[k] = '\0';
    return k;
}

/* s's length, 0 for NULL. */
static size_t len_of(const char *s)
{
    return s != NULL ? strlen(s) : 0;
}

/* Adds n * len to *sum; false on overflow. */
static bool bound_add(size_t *sum, size_t n, size_t len)
{
    size_t t;
    return !spry_mul_overflow(n, len, &t) && !spry_add_overflow(*sum, t, sum);
}

/* Names, '=' and NUL of the 23 fixed variables (346 bytes), and their
 * literal values ("CGI/1.1", "WAGI/1", "443", "://", a decimal length: 39
 * bytes; "localhost" counts as the host). Small enough that the usual
 * request's block stays within malloc's per-thread cache. */
enum { ENV_FIXED_BYTES = 512 };

/*
 * An upper bound of the environment's text: each request string times the
 * number of variables it can appear in (QUERY_STRING and X_FULL_URL hold
 * the target; SERVER_NAME, SERVER_PORT and X_FULL_URL the host; REMOTE_ADDR,
 * REMOTE_HOST and X_CLIENT_ADDR the client; PATH_INFO, X_RAW_PATH_INFO and
 * PATH_TRANSLATED, which only shrinks in decoding, the path info), plus
 * every header as an HTTP_ variable (name + "HTTP_", value, ", " joining
 * it to an earlier one, '=' and NUL) and CONTENT_TYPE's value again.
 */
static bool env_text_bound(const struct wagi_request *req, const char *const *extra, size_t nextra,
                           const char *host, const char *content_type, size_t *out)
{
    size_t sum = ENV_FIXED_BYTES;
    bool ok = true;
    for (size_t i = 0; i < nextra && ok; i++)
        ok = bound_add(&sum, 1, strlen(extra[i]) + 1);
    ok = ok && bound_add(&sum, 2, len_of(req->path_and_query)) &&
         bound_add(&sum, 3, len_of(host)) && bound_add(&sum, 3, len_of(req->client_addr)) &&
         bound_add(&sum, 3, len_of(req->path_info)) && bound_add(&sum, 1, len_of(req->method)) &&
         bound_add(&sum, 1, len_of(req->protocol)) && bound_add(&sum, 1, len_of(req->scheme)) &&
         bound_add(&sum, 2, len_of(req->component_route)) &&
         bound_add(&sum, 1, len_of(req->matched_route)) &&
         bound_add(&sum, 1, len_of(req->raw_component_route)) &&
         bound_add(&sum, 1, len_of(req->base_path)) && bound_add(&sum, 1, len_of(content_type));
    for (size_t i = 0; i < req->npath_matches && ok; i++) /* name cut at 300: see below */
        ok = bound_add(&sum, 1, 300 + 2) && bound_add(&sum, 1, len_of(req->path_matches[i].value));
    for (size_t i = 0; i < req->nheaders && ok; i++)
        ok = bound_add(&sum, 1, 5 + len_of(req->headers[i].name) + 2 + 2) &&
             bound_add(&sum, 1, len_of(req->headers[i].value));
    *out = sum;
    return ok && sum <= MAX_ENV_BYTES;
}

int wagi_env(const struct wagi_request *req, const char *const *extra, size_t nextra,
             struct wagi_strings *out, struct spry_report *report)
{
    /* The two headers read by name, in one pass. */
    const char *host = NULL, *content_type = NULL;
    for (size_t i = 0; i < req->nheaders; i++) {
        const char *n = req->headers[i].name;
        if (host == NULL && strcasecmp(n, "host") == 0)
            host = req->headers[i].value;
        else if (content_type == NULL && strcasecmp(n, "content-type") == 0)
            content_type = req->headers[i].value;
    }
    if (host == NULL || host[0] == '\0')
        host = "localhost";

    /* Every variable: the extras, 24 fixed ones, the captures, the headers. */
    struct env e = {.cap = nextra + 24 + req->npath_matches + req->nheaders, .nextra = 0};
    size_t ptr_bytes, len_bytes, block_bytes;
    if (e.cap < nextra || spry_mul_overflow(e.cap + 1, sizeof *e.items, &ptr_bytes) ||
        spry_mul_overflow(e.cap, sizeof *e.name_len, &len_bytes) ||
        !env_text_bound(req, extra, nextra, host, content_type, &e.text_cap) ||
        spry_add_overflow(ptr_bytes + len_bytes, e.text_cap, &block_bytes)) {
        e.rc = SPRY_ETOOBIG;
    } else {
        e.items = spry_malloc(block_bytes);
        if (e.items == NULL)
            e.rc = SPRY_ENOMEM;
        else {
            e.name_len = (uint16_t *)(void *)((char *)e.items + ptr_bytes);
            e.text = (char *)e.name_len + len_bytes;
        }
    }

    /* The component's own environment comes first: the first setting of a
     * name wins, so a request never replaces what the operator set. */
    for (size_t i = 0; i < nextra && e.rc == 0; i++) {
        const char *eq = strchr(extra[i], '=');
        if (eq == NULL || eq == extra[i] || (size_t)(eq - extra[i]) >= 300)
            continue;
        struct env_part value = {eq + 1, strlen(eq + 1)};
        env_put_parts(&e, 0, extra[i], (size_t)(eq - extra[i]), &value, 1);
    }
    e.nextra = e.count;

    const char *target = req->path_and_query;
    const char *q = strchr(target, '?');
    const char *colon = strchr(host, ':');
    if (host[0] == '[') /* an IPv6 literal: the port follows the ']' */
        colon = strstr(host, "]:") != NULL ? strstr(host, "]:") + 1 : NULL;
    char num[24];

    env_str(&e, "AUTH_TYPE", "");
    env_set(&e, "CONTENT_LENGTH", num, format_u64(req->content_length, num));
    env_str(&e, "CONTENT_TYPE", content_type);
    env_str(&e, "GATEWAY_INTERFACE", "CGI/1.1");
    env_str(&e, "QUERY_STRING", q != NULL ? q + 1 : "");
    /* REMOTE_ADDR is the client's address without the port. */
    const char *ca = req->client_addr != NULL ? req->client_addr : "";
    const char *port_sep = strrchr(ca, ':');
    size_t ip_len = port_sep != NULL ? (size_t)(port_sep - ca) : strlen(ca);
    if (ip_len >= 2 && ca[0] == '[' && ca[ip_len - 1] == ']') {
        env_set(&e, "REMOTE_ADDR", ca + 1, ip_len - 2);
        env_set(&e, "REMOTE_HOST", ca + 1, ip_len - 2);
    } else {
        env_set(&e, "REMOTE_ADDR", ca, ip_len);
        env_set(&e, "REMOTE_HOST", ca, ip_len);
    }
    env_str(&e, "REMOTE_USER", "");
    env_str(&e, "REQUEST_METHOD", req->method);
    env_str(&e, "SCRIPT_NAME", req->component_route);
    env_str(&e, "PATH_INFO", req->path_info);
    env_str(&e, "X_RAW_PATH_INFO", req->path_info);
    if (env_begin(&e, e.count, "PATH_TRANSLATED", 15)) {
        /* Percent-decoded in place; it can only shrink. */
        const char *s = req->path_info;
        size_t n = strlen(s);
        if (e.text_cap - e.len < n + 1) {
            e.rc = SPRY_ETOOBIG;
        } else {
            for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c == '%' && i + 2 < n && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
                    c = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
                    i += 2;
                }
                if (c == '\0')
                    break;
                e.text[e.len++] = c;
            }
        }
        env_end(&e);
    }
    if (colon != NULL) {
        env_set(&e, "SERVER_NAME", host, (size_t)(colon - host));
        env_str(&e, "SERVER_PORT", colon + 1);
    } else {
        env_str(&e, "SERVER_NAME", host);
        env_str(&e, "SERVER_PORT", strcmp(req->scheme, "https") == 0 ? "443" : "80");
    }
    env_str(&e, "SERVER_PROTOCOL", req->protocol);
    env_str(&e, "SERVER_SOFTWARE", "WAGI/1");

    /* Spin's metadata, named for WAGI. */
    const struct env_part url[] = {
        {req->scheme, strlen(req->scheme)},
        {"://", 3},
        {host, strlen(host)},
        {target, strlen(target)},
    };
    env_put_parts(&e, e.count, "X_FULL_URL", strlen("X_FULL_URL"), url, 4);
    env_str(&e, "X_MATCHED_ROUTE", req->matched_route);
    env_str(&e, "X_BASE_PATH", req->base_path);
    env_str(&e, "X_RAW_COMPONENT_ROUTE", req->raw_component_route);
    env_str(&e, "X_COMPONENT_ROUTE", req->component_route);
    env_str(&e, "X_CLIENT_ADDR", req->client_addr);
    size_t first_capture = e.count;
    for (size_t i = 0; i < req->npath_matches; i++) {
        char name[300] = "X_PATH_MATCH_";
        size_t n = sizeof "X_PATH_MATCH_" - 1;
        for (const char *c = req->path_matches[i].name; *c != '\0' && n + 1 < sizeof name; c++)
            name[n++] = (char)toupper((unsigned char)*c);
        const char *v = req->path_matches[i].value != NULL ? req->path_matches[i].value : "";
        struct env_part p = {v, strlen(v)};
        env_put_parts(&e, first_capture, name, n, &p, 1);
    }

    /* HTTP_* for every header but Authorization and Connection (4.1.18);
     * no fixed variable starts with HTTP_. */
    size_t first_header = e.count;
    for (size_t i = 0; i < req->nheaders && e.rc == 0; i++)
        env_header(&e, first_header, req, i);

    int rc = e.rc;
    if (rc != 0) {
        spry_free(e.items);
        return spry_report_set(report, rc, "wagi: cannot build the environment: %s",
                               spry_strerror(rc));
    }
    e.items[e.count] = NULL;
    out->items = e.items;
    out->count = e.count;
    return 0;
}

/* ---- the response ------------------------------------------------------------------ */

void wagi_response_free(struct wagi_response *resp)
{
    spry_free(resp->block);
    memset(resp, 0, sizeof *resp);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* A token character of RFC 9110 (header field names). */
static bool is_tchar(unsigned char c)
{
    return isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

int wagi_parse_response(const uint8_t *out, size_t len, struct wagi_response *resp,
                        struct spry_report *report)
{
    memset(resp, 0, sizeof *resp);
    if (len == 0)
        return spry_report_set(report, SPRY_EMALFORMED,
                               "the guest wrote nothing to stdout (a WAGI guest must print a CGI "
                               "response: headers, an empty line, the body)");
    /* The header block ends at the first empty line (CRs ignored). */
    size_t i = 0, end = SIZE_MAX, body = len;
    bool line_empty = true;
    for (; i < len; i++) {
        if (out[i] == '\r')
            continue;
        if (out[i] == '\n') {
            if (line_empty) {
                end = i;
                body = i + 1;
                break;
            }
            line_empty = true;
        } else {
            line_empty = false;
        }
    }
    if (end == SIZE_MAX)
        return spry_report_set(report, SPRY_EMALFORMED,
                               "the guest's output has no empty line ending its CGI headers");
    /* Copy the header block without CRs, as NUL-terminated lines. */
    size_t nlines = 0;
    for (size_t k = 0; k < end; k++) {
        /* A NUL would split a line in two below (and is no header byte). */
        if (out[k] == '\0')
            return spry_report_set(report, SPRY_EMALFORMED,
                                   "the guest's response headers contain a NUL byte");
        nlines += out[k] == '\n';
    }
    if (nlines > MAX_RESPONSE_HEADERS)
        return spry_report_set(report, SPRY_EMALFORMED,
                               "the guest's response has more than %d header lines",
                               MAX_RESPONSE_HEADERS);
    size_t hdr_bytes = (nlines + 1) * sizeof(struct http_header_pair);
    uint8_t *block = spry_malloc(hdr_bytes + end + 1);
    if (block == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory");
    struct http_header_pair *headers = (struct http_header_pair *)block;
    char *text = (char *)block + hdr_bytes;
    size_t t = 0;
    for (size_t k = 0; k < end; k++)
        if (out[k] != '\r')
            text[t++] = out[k] == '\n' ? '\0' : (char)out[k];
    text[t] = '\0';

    int status = 200, rc = 0;
    bool has_status = false, sufficient = false;
    size_t nheaders = 0;
    for (char *line = text, *next; line < text + t; line = next) {
        next = line + strlen(line) + 1; /* before the line is cut at its colon */
        char *colon = strchr(line, ':');
        if (colon == NULL || colon == line) {
            rc = spry_report_set(report, SPRY_EMALFORMED,
                                 "the guest's response has an invalid header line '%.60s'", line);
            goto done;
        }
        *colon = '\0';
        char *name = line, *value = trim(colon + 1);
        for (const char *c = name; *c != '\0'; c++) {
            if (!is_tchar((unsigned char)*c)) {
                rc = spry_report_set(report, SPRY_EMALFORMED,
                                     "the guest's response has an invalid header name '%.60s'",
                                     name);
                goto done;
            }
        }
        for (char *c = name; *c != '\0'; c++)
            *c = (char)tolower((unsigned char)*c);
        for (const char *c = value; *c != '\0'; c++) {
            if ((unsigned char)*c < 0x20 && *c != '\t') {
                rc = spry_report_set(report, SPRY_EMALFORMED,
                                     "the guest's response header '%.60s' has a control "
                                     "character",
                                     name);
                goto done;
            }
        }
        if (strcmp(name, "status") == 0) {
            char *endp;
            long code = strtol(value, &endp, 10);
            if (endp == value || (*endp != '\0' && *endp != ' ') || code < 100 || code > 999) {
                rc = spry_report_set(report, SPRY_EMALFORMED,
                                     "the guest's response has an invalid status '%.60s'", value);
                goto done;
            }
            status = (int)code;
            has_status = sufficient = true;
            continue;
        }
        if (strcmp(name, "location") == 0) {
            sufficient = true;
            if (!has_status)
                status = 302;
        } else if (strcmp(name, "content-type") == 0) {
            sufficient = true;
        }
        headers[nheaders].name = name;
        headers[nheaders].value = value;
        nheaders++;
    }
    if (!sufficient) {
        rc = spry_report_set(report, SPRY_EMALFORMED,
                             "the guest's response has neither content-type, location nor "
                             "status");
        goto done;
    }
done:
    if (rc != 0) {
        spry_free(block);
        return rc;
    }
    resp->status = status;
    resp->headers = headers;
    resp->nheaders = nheaders;
    resp->body = out + body;
    resp->body_len = len - body;
    resp->block = block;
    return 0;
}

/*
 * allowed_outbound_hosts entries: "scheme://host[:port]".
 *
 *   scheme  "*" or a URL scheme (required: "example.com" alone is an error)
 *   host    "*", "*.example.com", "self", a name or address, "[v6]"
 *   port    "*", N, or "A..B" (A included, B excluded); when absent, the
 *           scheme's well-known port (a scheme without one needs a port)
 *
 * Any part may hold {{ variable }} templates; such parts are checked for
 * shape only, and again once variables resolve. Parsed now, enforced when
 * outbound calls exist.
 */
#include "app/manifest_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *scheme;
    uint32_t port;
} well_known[] = {
    {"http", 80},     {"https", 443},  {"ws", 80},         {"wss", 443},   {"redis", 6379},
    {"rediss", 6379}, {"mysql", 3306}, {"postgres", 5432}, {"mqtt", 1883}, {"mqtts", 8883},
};

static char *arena_strndup(struct spry_arena *arena, const char *s, size_t n)
{
    char *d = spry_arena_alloc(arena, n + 1);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

static bool parse_port(const char *s, size_t n, uint32_t max, uint32_t *out)
{
    if (n == 0 || n > 5)
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

static bool valid_host(const char *h, size_t n)
{
    if (n == 1 && h[0] == '*')
        return true;
    if (n >= 2 && h[0] == '*' && h[1] == '.') {
        h += 2;
        n -= 2;
    }
    if (n == 0)
        return false;
    if (h[0] == '[')
        return h[n - 1] == ']' && n > 2;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_'))
            return false;
    }
    return true;
}

int outbound_parse(const char *text, struct manifest_outbound *out, char *why, size_t why_size,
                   struct spry_arena *arena)
{
    memset(out, 0, sizeof *out);
    out->text = text;
    out->templated = strstr(text, "{{") != NULL;
    const char *sep = strstr(text, "://");
    if (sep == NULL) {
        snprintf(why, why_size,
                 "expected scheme://host[:port]; the scheme is required (e.g. "
                 "\"https://example.com\")");
        return SPRY_EINVALID;
    }
    size_t slen = (size_t)(sep - text);
    bool scheme_ok = slen > 0;
    if (slen == 1 && text[0] == '*') {
        scheme_ok = true;
    } else {
        for (size_t i = 0; i < slen && scheme_ok; i++) {
            char c = text[i];
            scheme_ok = (c >= 'a' && c <= 'z') ||
                        (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
        }
    }
    if (!scheme_ok) {
        snprintf(why, why_size, "invalid scheme; expected \"*\" or a lowercase URL scheme");
        return SPRY_EINVALID;
    }
    const char *host = sep + 3;
    const char *end = host + strlen(host);
    if (end > host && end[-1] == '/')
        end--; /* a trailing slash is harmless */
    for (const char *p = host; p < end; p++) {
        if (*p == '/' || *p == '?' || *p == '#') {
            snprintf(why, why_size, "expected no path, query or fragment after the host");
            return SPRY_EINVALID;
        }
    }
    /* The port starts at the last ':' outside brackets and templates. */
    const char *colon = NULL;
    int depth = 0;
    bool bracket = false;
    for (const char *p = host; p < end; p++) {
        if (p[0] == '{' && p[1] == '{')
            depth++;
        else if (p[0] == '}' && p[1] == '}' && depth > 0)
            depth--;
        else if (*p == '[')
            bracket = true;
        else if (*p == ']')
            bracket = false;
        else if (*p == ':' && depth == 0 && !bracket)
            colon = p;
    }
    const char *host_end = colon != NULL ? colon : end;
    size_t hlen = (size_t)(host_end - host);
    /* A template is "{{ name }}", as out->templated says; a lone '{' is no
     * template and gets the checks below (it used to skip them, leaving a
     * port range of [0, 0): found by fuzz_manifest). */
    bool host_templated = memmem(host, hlen, "{{", 2) != NULL;
    if (hlen == 0 || (!host_templated && !valid_host(host, hlen))) {
        snprintf(why, why_size,
                 "invalid host; expected \"*\", \"*.domain\", \"self\", or a host name or "
                 "address");
        return SPRY_EINVALID;
    }
    out->scheme = arena_strndup(arena, text, slen);
    out->host = arena_strndup(arena, host, hlen);
    if (out->scheme == NULL || out->host == NULL) {
        snprintf(why, why_size, "out of memory");
        return SPRY_ENOMEM;
    }
    if (colon == NULL) {
        for (size_t i = 0; i < sizeof well_known / sizeof well_known[0]; i++) {
            if (strlen(well_known[i].scheme) == slen &&
                memcmp(well_known[i].scheme, text, slen) == 0) {
                out->port_lo = well_known[i].port;
                out->port_hi = well_known[i].port + 1;
                return 0;
            }
        }
        snprintf(why, why_size,
                 "expected a port (\":N\", \":A..B\" or \":*\"); scheme \"%.*s\" "
                 "has no default port",
                 (int)slen, text);
        return SPRY_EINVALID;
    }
    const char *port = colon + 1;
    size_t plen = (size_t)(end - port);
    if (plen == 1 && port[0] == '*') {
        out->any_port = true;
        return 0;
    }
    if (memmem(port, plen, "{{", 2) != NULL)
        return 0; /* templated: checked once resolved */
    const char *dots = NULL;
    for (const char *p = port; p + 1 < end; p++) {
        if (p[0] == '.' && p[1] == '.') {
            dots = p;
            break;
        }
    }
    if (dots != NULL) {
        uint32_t lo, hi;
        if (!parse_port(port, (size_t)(dots - port), 65535, &lo) ||
            !parse_port(dots + 2, (size_t)(end - dots - 2), 65536, &hi) || lo >= hi) {
            snprintf(why, why_size,
                     "invalid port range; expected A..B with A < B <= 65536 (B excluded)");
            return SPRY_EINVALID;
        }
        out->port_lo = lo;
        out->port_hi = hi;
        return 0;
    }
    uint32_t p;
    if (!parse_port(port, plen, 65535, &p)) {
        snprintf(why, why_size, "invalid port; expected a number from 0 to 65535, A..B or *");
        return SPRY_EINVALID;
    }
    out->port_lo = p;
    out->port_hi = p + 1;
    return 0;
}

/*
 * allowed_outbound_hosts: parsing entries, resolving templates, matching
 * requests (outbound.h states the rules and where they come from).
 *
 * Splitting "scheme://rest" follows Spin: when `rest` as a whole is a valid
 * host ("[::1]", "ff00::/8", "example.com") it is the host and the port is
 * the scheme's default; otherwise the port follows the last ':'. A single
 * trailing '/' is allowed; any other path is an error.
 *
 * The manifest reader calls outbound_parse on every entry as written: an
 * entry without templates is parsed in full; one with {{ var }} templates
 * gets the checks its literal parts allow (an entry whose scheme is a
 * template is only checked once resolved, by outbound_policy_create).
 */
#include "app/outbound.h"

#include "app/manifest_impl.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Spin's well-known ports (allowed_hosts.rs, well_known_port). */
static const struct {
    const char *scheme;
    uint16_t port;
} well_known[] = {
    {"postgres", 5432}, {"mysql", 3306}, {"redis", 6379},
    {"mqtt", 1883},     {"http", 80},    {"https", 443},
};

static bool well_known_port(const char *scheme, size_t len, uint16_t *port)
{
    for (size_t i = 0; i < sizeof well_known / sizeof well_known[0]; i++) {
        if (strlen(well_known[i].scheme) == len &&
            strncmp(well_known[i].scheme, scheme, len) == 0) {
            *port = well_known[i].port;
            return true;
        }
    }
    return false;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Copies s[0..n) lowercased into out[size]; false when it does not fit. */
static bool copy_lower(char *out, size_t size, const char *s, size_t n)
{
    if (n >= size)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = lower(s[i]);
    out[n] = '\0';
    return true;
}

/* Decimal digits only, value <= max. */
static bool parse_uint(const char *s, size_t n, uint32_t max, uint32_t *out)
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

/* ---- addresses ------------------------------------------------------------- */

/*
 * An IP address as a URL host: "[v6]" (no zone), or IPv4 in the forms the
 * WHATWG URL parser reads and inet_aton(3) too ("127.0.0.1", "127.1",
 * "0x7f.1"): a host made only of digits, dots, and hex after "0x" is an
 * address or nothing. Names are everything else.
 */
static bool parse_ip(const char *s, size_t n, int *family, uint8_t addr[16])
{
    char buf[64];
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        if (n - 2 >= sizeof buf)
            return false;
        memcpy(buf, s + 1, n - 2);
        buf[n - 2] = '\0';
        struct in6_addr a6;
        if (inet_pton(AF_INET6, buf, &a6) != 1)
            return false;
        memcpy(addr, &a6, 16);
        *family = AF_INET6;
        return true;
    }
    if (n == 0 || n >= sizeof buf)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = lower(s[i]);
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'x' || (c >= 'a' && c <= 'f')))
            return false;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    struct in_addr a4;
    if (inet_aton(buf, &a4) == 0)
        return false;
    memset(addr, 0, 16);
    memcpy(addr, &a4, 4);
    *family = AF_INET;
    return true;
}

/* "addr/prefix" with a plain address (IPv6 without brackets, as Spin's
 * ip_network reads it); host bits are cleared. */
static bool parse_net(const char *s, size_t n, int *family, uint8_t addr[16], unsigned *prefix)
{
    const char *slash = memchr(s, '/', n);
    if (slash == NULL)
        return false;
    char buf[64];
    size_t alen = (size_t)(slash - s);
    if (alen == 0 || alen >= sizeof buf)
        return false;
    memcpy(buf, s, alen);
    buf[alen] = '\0';
    uint32_t bits;
    unsigned max;
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, buf, addr) == 1) {
        *family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, addr) == 1) {
        *family = AF_INET6;
        max = 128;
    } else {
        return false;
    }
    if (!parse_uint(slash + 1, (size_t)(s + n - slash - 1), max, &bits))
        return false;
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = bits > i * 8 ? (bits - i * 8 >= 8 ? 8 : bits - i * 8) : 0;
        addr[i] &= (uint8_t)(0xff00u >> keep);
    }
    *prefix = bits;
    return true;
}

static bool net_contains(const uint8_t net[16], unsigned prefix, const uint8_t a[16])
{
    for (unsigned i = 0; i < 16 && prefix > 0; i++) {
        unsigned keep = prefix >= 8 ? 8 : prefix;
        uint8_t mask = (uint8_t)(0xff00u >> keep);
        if ((a[i] & mask) != net[i])
            return false;
        prefix -= keep;
    }
    return true;
}

/* A domain name as the URL parser would accept it here: ASCII letters,
 * digits, '-', '_', '.'; not empty. (Spin also takes Unicode names,
 * converted with IDNA; Spry does not.) */
static bool valid_name(const char *h, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_'))
            return false;
    }
    return true;
}

/* ---- entries ---------------------------------------------------------------- */

static const char host_help[] =
    "invalid host; expected \"*\", \"*.domain\", \"self\", or a host name or address";

/* The host part of an entry (HostConfig::parse). 0, or SPRY_EINVALID. */
static int parse_host(const char *h, size_t n, struct outbound_rule *r, char *why, size_t why_size)
{
    while (n > 0 && (*h == ' ' || *h == '\t')) {
        h++;
        n--;
    }
    while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
        n--;
    if (n >= OUTBOUND_HOST_MAX) {
        snprintf(why, why_size, "host longer than %d bytes", OUTBOUND_HOST_MAX - 1);
        return SPRY_EINVALID;
    }
    memcpy(r->host, h, n);
    r->host[n] = '\0';
    if (n == 1 && h[0] == '*') {
        r->kind = OUTBOUND_HOST_ANY;
        return 0;
    }
    if ((n == 4 && memcmp(h, "self", 4) == 0) || (n == 8 && memcmp(h, "self.alt", 8) == 0)) {
        r->kind = OUTBOUND_HOST_SELF;
        return 0;
    }
    if (parse_net(h, n, &r->family, r->addr, &r->prefix)) {
        r->kind = OUTBOUND_HOST_NET;
        return 0;
    }
    if (n > 0 && h[n - 1] == '/')
        n--;
    for (size_t i = 0; i < n; i++) {
        if (h[i] == '/' || h[i] == '?' || h[i] == '#') {
            snprintf(why, why_size, "expected no path, query or fragment after the host");
            return SPRY_EINVALID;
        }
    }
    if (n >= 2 && h[0] == '*' && h[1] == '.') {
        /* A suffix of labels: a name, never an address, no other '*'. */
        int family;
        uint8_t addr[16];
        if (!valid_name(h + 2, n - 2) || parse_ip(h + 2, n - 2, &family, addr)) {
            snprintf(why, why_size, "%s", host_help);
            return SPRY_EINVALID;
        }
        r->kind = OUTBOUND_HOST_SUBDOMAIN;
        copy_lower(r->host, sizeof r->host, h + 1, n - 1);
        return 0;
    }
    if (parse_ip(h, n, &r->family, r->addr)) {
        r->kind = OUTBOUND_HOST_IP;
        r->host[n] = '\0';
        return 0;
    }
    if (!valid_name(h, n)) {
        snprintf(why, why_size, "%s", host_help);
        return SPRY_EINVALID;
    }
    r->kind = OUTBOUND_HOST_NAME;
    copy_lower(r->host, sizeof r->host, h, n);
    return 0;
}

/* Whether `rest` (after "://") is a host alone. */
static bool is_host(const char *rest, size_t n)
{
    struct outbound_rule probe;
    char why[8];
    return parse_host(rest, n, &probe, why, sizeof why) == 0;
}

static int parse_port(const char *p, size_t n, const char *scheme, size_t slen,
                      struct outbound_rule *r, char *why, size_t why_size)
{
    r->any_port = false;
    if (n == 0) {
        uint16_t port;
        if (!well_known_port(scheme, slen, &port)) {
            snprintf(why, why_size,
                     "expected a port (\":N\", \":A..B\" or \":*\"); scheme \"%.*s\" "
                     "has no default port",
                     (int)slen, scheme);
            return SPRY_EINVALID;
        }
        r->port_lo = port;
        r->port_hi = (uint32_t)port + 1;
        return 0;
    }
    if (n == 1 && p[0] == '*') {
        r->any_port = true;
        return 0;
    }
    const char *dots = NULL;
    for (size_t i = 0; i + 1 < n; i++) {
        if (p[i] == '.' && p[i + 1] == '.') {
            dots = p + i;
            break;
        }
    }
    if (dots != NULL) {
        /* Spin: start..end, both u16, end excluded. An empty range (A >= B)
         * parses there and allows nothing; Spry rejects it as a mistake. */
        uint32_t lo, hi;
        if (!parse_uint(p, (size_t)(dots - p), 65535, &lo) ||
            !parse_uint(dots + 2, (size_t)(p + n - dots - 2), 65535, &hi) || lo >= hi) {
            snprintf(why, why_size,
                     "invalid port range; expected A..B with A < B <= 65535 (B excluded)");
            return SPRY_EINVALID;
        }
        r->port_lo = lo;
        r->port_hi = hi;
        return 0;
    }
    uint32_t v;
    if (!parse_uint(p, n, 65535, &v)) {
        snprintf(why, why_size, "invalid port; expected a number from 0 to 65535, A..B or *");
        return SPRY_EINVALID;
    }
    r->port_lo = v;
    r->port_hi = v + 1;
    return 0;
}

static int no_scheme(char *why, size_t why_size)
{
    snprintf(why, why_size,
             "expected scheme://host[:port]; the scheme is required (e.g. "
             "\"https://example.com\")");
    return SPRY_EINVALID;
}

static int parse_scheme(const char *s, size_t n, struct outbound_rule *r, char *why,
                        size_t why_size)
{
    bool ok = n > 0 && n < OUTBOUND_SCHEME_MAX;
    if (!(n == 1 && s[0] == '*')) {
        for (size_t i = 0; i < n && ok; i++)
            ok = is_alpha(s[i]);
    }
    if (!ok) {
        snprintf(why, why_size, "invalid scheme; expected \"*\" or a scheme of letters");
        return SPRY_EINVALID;
    }
    copy_lower(r->scheme, sizeof r->scheme, s, n);
    return 0;
}

/* Parses an entry; *host_at, *host_len (when not NULL) get the host as
 * written. */
static int rule_parse(const char *text, struct outbound_rule *out, const char **host_at,
                      size_t *host_len, char *why, size_t why_size)
{
    struct outbound_rule r;
    memset(&r, 0, sizeof r);
    while (*text == ' ' || *text == '\t')
        text++;
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        len--;
    const char *sep = memmem(text, len, "://", 3);
    if (sep == NULL)
        return no_scheme(why, why_size);
    size_t slen = (size_t)(sep - text);
    int rc = parse_scheme(text, slen, &r, why, why_size);
    if (rc != 0)
        return rc;
    const char *rest = sep + 3, *end = text + len;
    const char *colon = NULL;
    for (const char *p = end; p > rest; p--) {
        if (p[-1] == ':') {
            colon = p - 1;
            break;
        }
    }
    const char *host = rest, *host_end = end, *port = end, *port_end = end;
    if (colon != NULL && colon + 1 < end && !is_host(rest, (size_t)(end - rest))) {
        host_end = colon;
        port = colon + 1;
        const char *slash = memchr(port, '/', (size_t)(end - port));
        if (slash != NULL) {
            if (slash + 1 != end) {
                snprintf(why, why_size, "expected no path, query or fragment after the host");
                return SPRY_EINVALID;
            }
            port_end = slash;
        }
    } else if (colon != NULL && colon + 1 == end) {
        host_end = colon; /* "host:" — no port */
    }
    rc = parse_port(port, (size_t)(port_end - port), r.scheme, slen, &r, why, why_size);
    if (rc == 0)
        rc = parse_host(host, (size_t)(host_end - host), &r, why, why_size);
    if (rc != 0)
        return rc;
    *out = r;
    if (host_at != NULL) {
        *host_at = host;
        *host_len = (size_t)(host_end - host);
    }
    return 0;
}

int outbound_rule_parse(const char *text, struct outbound_rule *out, char *why, size_t why_size)
{
    return rule_parse(text, out, NULL, NULL, why, why_size);
}

static char *arena_strndup(struct spry_arena *arena, const char *s, size_t n)
{
    char *d = spry_arena_alloc(arena, n + 1);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* The checks an entry with templates gets as written: a literal scheme,
 * and a literal host and port when they are. */
static int parse_templated(const char *text, struct manifest_outbound *out, char *why,
                           size_t why_size, struct spry_arena *arena)
{
    const char *sep = strstr(text, "://");
    const char *tmpl = strstr(text, "{{");
    if (sep == NULL || tmpl < sep) {
        /* The scheme, or the whole entry, is a template. */
        out->scheme = out->host = "";
        return 0;
    }
    struct outbound_rule r;
    memset(&r, 0, sizeof r);
    size_t slen = (size_t)(sep - text);
    int rc = parse_scheme(text, slen, &r, why, why_size);
    if (rc != 0)
        return rc;
    const char *host = sep + 3;
    const char *end = host + strlen(host);
    if (end > host && end[-1] == '/')
        end--;
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
    /* Only "{{" starts a template; a lone '{' gets the literal checks (it
     * used to skip them, leaving a port range of [0, 0): found by
     * fuzz_manifest). */
    bool host_templated = memmem(host, hlen, "{{", 2) != NULL;
    if (hlen == 0) {
        snprintf(why, why_size, "%s", host_help);
        return SPRY_EINVALID;
    }
    if (!host_templated) {
        rc = parse_host(host, hlen, &r, why, why_size);
        if (rc != 0)
            return rc;
    }
    out->scheme = arena_strndup(arena, r.scheme, strlen(r.scheme));
    out->host = arena_strndup(arena, host, hlen);
    if (out->scheme == NULL || out->host == NULL) {
        snprintf(why, why_size, "out of memory");
        return SPRY_ENOMEM;
    }
    const char *port = colon != NULL ? colon + 1 : end;
    size_t plen = (size_t)(end - port);
    if (memmem(port, plen, "{{", 2) != NULL)
        return 0; /* checked once resolved */
    rc = parse_port(port, plen, r.scheme, slen, &r, why, why_size);
    if (rc != 0)
        return rc;
    out->any_port = r.any_port;
    out->port_lo = r.port_lo;
    out->port_hi = r.port_hi;
    return 0;
}

int outbound_parse(const char *text, struct manifest_outbound *out, char *why, size_t why_size,
                   struct spry_arena *arena)
{
    memset(out, 0, sizeof *out);
    out->text = text;
    out->templated = strstr(text, "{{") != NULL;
    if (out->templated)
        return parse_templated(text, out, why, why_size, arena);
    struct outbound_rule r;
    const char *host;
    size_t hlen;
    int rc = rule_parse(text, &r, &host, &hlen, why, why_size);
    if (rc != 0)
        return rc;
    /* The host as written (less a trailing '/'), for messages and listings. */
    if (hlen > 0 && host[hlen - 1] == '/' && r.kind != OUTBOUND_HOST_NET)
        hlen--;
    out->scheme = arena_strndup(arena, r.scheme, strlen(r.scheme));
    out->host = arena_strndup(arena, host, hlen);
    if (out->scheme == NULL || out->host == NULL) {
        snprintf(why, why_size, "out of memory");
        return SPRY_ENOMEM;
    }
    out->any_port = r.any_port;
    out->port_lo = r.port_lo;
    out->port_hi = r.port_hi;
    return 0;
}

/* ---- targets ----------------------------------------------------------------- */

int outbound_target_set(struct outbound_target *t, const char *scheme, const char *host, int port,
                        char *why, size_t why_size)
{
    struct outbound_target x;
    memset(&x, 0, sizeof x);
    size_t slen = strlen(scheme), hlen = strlen(host);
    if (!copy_lower(x.scheme, sizeof x.scheme, scheme, slen) || slen == 0) {
        snprintf(why, why_size, "invalid scheme");
        return SPRY_EINVALID;
    }
    if (parse_ip(host, hlen, &x.family, x.addr)) {
        x.is_ip = true;
    } else {
        /* An IPv6 address without brackets (as curl reports one). */
        char buf[OUTBOUND_HOST_MAX + 2];
        if (hlen + 2 < sizeof buf && memchr(host, ':', hlen) != NULL) {
            snprintf(buf, sizeof buf, "[%s]", host);
            x.is_ip = parse_ip(buf, hlen + 2, &x.family, x.addr);
        }
        if (!x.is_ip && !valid_name(host, hlen)) {
            snprintf(why, why_size, "invalid host \"%.*s\"", (int)(hlen > 64 ? 64 : hlen), host);
            return SPRY_EINVALID;
        }
    }
    const char *h = host;
    if (hlen >= 2 && host[0] == '[') {
        h++;
        hlen -= 2;
    }
    if (!copy_lower(x.host, sizeof x.host, h, hlen)) {
        snprintf(why, why_size, "host longer than %d bytes", OUTBOUND_HOST_MAX - 1);
        return SPRY_EINVALID;
    }
    if (port > 65535) {
        snprintf(why, why_size, "invalid port %d", port);
        return SPRY_EINVALID;
    }
    x.has_port = port >= 0;
    x.port = x.has_port ? (uint16_t)port : 0;
    *t = x;
    return 0;
}

int outbound_target_parse(const char *url, const char *default_scheme, struct outbound_target *t,
                          char *why, size_t why_size)
{
    char scheme[OUTBOUND_SCHEME_MAX];
    const char *sep = strstr(url, "://");
    const char *auth;
    if (sep != NULL) {
        size_t slen = (size_t)(sep - url);
        if (slen == 0 || slen >= sizeof scheme) {
            snprintf(why, why_size, "invalid scheme");
            return SPRY_EINVALID;
        }
        memcpy(scheme, url, slen);
        scheme[slen] = '\0';
        auth = sep + 3;
    } else {
        snprintf(scheme, sizeof scheme, "%s", default_scheme);
        auth = url;
    }
    /* Userinfo is whatever precedes the last '@' before the first '/' (Spin
     * percent-encodes it before parsing, so '#' or '?' in a password do not
     * end the authority there); the host and port end at '/', '?' or '#'. */
    size_t region = strcspn(auth, "/");
    for (size_t i = region; i > 0; i--) {
        if (auth[i - 1] == '@') {
            auth += i;
            break;
        }
    }
    size_t alen = strcspn(auth, "/?#");
    char host[OUTBOUND_HOST_MAX];
    size_t hlen = alen;
    int port = -1;
    const char *colon = NULL;
    if (alen > 0 && auth[0] == '[') {
        const char *close = memchr(auth, ']', alen);
        if (close == NULL) {
            snprintf(why, why_size, "unterminated IPv6 address");
            return SPRY_EINVALID;
        }
        hlen = (size_t)(close - auth) + 1;
        if (hlen < alen) {
            if (auth[hlen] != ':') {
                snprintf(why, why_size, "expected ':' after the IPv6 address");
                return SPRY_EINVALID;
            }
            colon = auth + hlen;
        }
    } else {
        colon = memchr(auth, ':', alen);
        if (colon != NULL)
            hlen = (size_t)(colon - auth);
    }
    if (colon != NULL && colon + 1 < auth + alen) {
        uint32_t v;
        if (!parse_uint(colon + 1, (size_t)(auth + alen - colon - 1), 65535, &v)) {
            snprintf(why, why_size, "invalid port");
            return SPRY_EINVALID;
        }
        port = (int)v;
    }
    if (hlen == 0 || hlen >= sizeof host) {
        snprintf(why, why_size, hlen == 0 ? "no host" : "host too long");
        return SPRY_EINVALID;
    }
    memcpy(host, auth, hlen);
    host[hlen] = '\0';
    return outbound_target_set(t, scheme, host, port, why, why_size);
}

/* ---- matching ----------------------------------------------------------------- */

static bool host_allows(const struct outbound_rule *r, const struct outbound_target *t)
{
    switch (r->kind) {
    case OUTBOUND_HOST_ANY:
        return true;
    case OUTBOUND_HOST_SELF:
        return false; /* relative URLs only: outbound_policy_allows_self */
    case OUTBOUND_HOST_SUBDOMAIN: {
        size_t hl = strlen(t->host), sl = strlen(r->host);
        return !t->is_ip && hl > sl && strcmp(t->host + hl - sl, r->host) == 0;
    }
    case OUTBOUND_HOST_NAME:
        return !t->is_ip && strcmp(t->host, r->host) == 0;
    case OUTBOUND_HOST_IP:
        return t->is_ip && t->family == r->family &&
               memcmp(t->addr, r->addr, r->family == AF_INET ? 4 : 16) == 0;
    case OUTBOUND_HOST_NET:
        return t->is_ip && t->family == r->family && net_contains(r->addr, r->prefix, t->addr);
    }
    return false;
}

static bool scheme_allows(const struct outbound_rule *r, const char *scheme)
{
    return strcmp(r->scheme, "*") == 0 || strcmp(r->scheme, scheme) == 0;
}

bool outbound_rule_allows(const struct outbound_rule *r, const struct outbound_target *t)
{
    if (!scheme_allows(r, t->scheme) || !host_allows(r, t))
        return false;
    if (r->any_port)
        return true;
    uint16_t port = t->port;
    if (!t->has_port && !well_known_port(t->scheme, strlen(t->scheme), &port))
        return false;
    return port >= r->port_lo && port < r->port_hi;
}

/* ---- policies ----------------------------------------------------------------- */

struct outbound_policy {
    struct outbound_rule *rules;
    size_t n;
    char **ids; /* the app's component ids */
    size_t n_ids;
};

static const char chain_suffix[] = ".spin.internal";

void outbound_policy_destroy(struct outbound_policy *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n_ids; i++)
        free(p->ids[i]);
    free(p->ids);
    free(p->rules);
    free(p);
}

/* Appends a rule, growing the array; false when out of memory. */
static bool push_rule(struct outbound_policy *p, size_t *cap, const struct outbound_rule *r)
{
    if (p->n == *cap) {
        size_t ncap = *cap == 0 ? 8 : *cap * 2;
        struct outbound_rule *v = realloc(p->rules, ncap * sizeof *v);
        if (v == NULL)
            return false;
        p->rules = v;
        *cap = ncap;
    }
    p->rules[p->n++] = *r;
    return true;
}

/* Resolves "{{ name }}" templates of text into out[size]. */
static int render(const char *text, outbound_resolve_fn resolve, void *ctx, char *out, size_t size,
                  struct spry_report *report)
{
    size_t at = 0;
    for (const char *p = text; *p != '\0';) {
        const char *value;
        size_t vlen;
        if (p[0] == '{' && p[1] == '{') {
            const char *close = strstr(p + 2, "}}");
            if (close == NULL)
                return spry_report_set(report, SPRY_EINVALID,
                                       "allowed_outbound_hosts \"%s\": unterminated {{", text);
            const char *n = p + 2, *e = close;
            while (n < e && *n == ' ')
                n++;
            while (e > n && e[-1] == ' ')
                e--;
            char name[128];
            if ((size_t)(e - n) >= sizeof name || e == n)
                return spry_report_set(report, SPRY_EINVALID,
                                       "allowed_outbound_hosts \"%s\": invalid variable name",
                                       text);
            memcpy(name, n, (size_t)(e - n));
            name[e - n] = '\0';
            value = resolve != NULL ? resolve(ctx, name) : NULL;
            if (value == NULL)
                return spry_report_set(report, SPRY_EINVALID,
                                       "allowed_outbound_hosts \"%s\": variable '%s' has no value",
                                       text, name);
            vlen = strlen(value);
            p = close + 2;
        } else {
            value = p;
            vlen = 1;
            p++;
        }
        if (vlen >= size - at)
            return spry_report_set(report, SPRY_EINVALID,
                                   "allowed_outbound_hosts \"%s\": longer than %zu bytes once "
                                   "resolved",
                                   text, size - 1);
        memcpy(out + at, value, vlen);
        at += vlen;
    }
    out[at] = '\0';
    return 0;
}

int outbound_policy_create(const struct manifest_outbound *entries, size_t n,
                           outbound_resolve_fn resolve, void *ctx, const char *const *component_ids,
                           size_t n_ids, struct outbound_policy **out, struct spry_report *report)
{
    struct outbound_policy *p = calloc(1, sizeof *p);
    if (p == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory");
    p->ids = n_ids > 0 ? calloc(n_ids, sizeof *p->ids) : NULL;
    if (n_ids > 0 && p->ids == NULL)
        goto nomem;
    for (size_t i = 0; i < n_ids; i++) {
        p->ids[i] = strdup(component_ids[i]);
        if (p->ids[i] == NULL)
            goto nomem;
        p->n_ids++;
    }
    size_t cap = 0;
    for (size_t i = 0; i < n; i++) {
        char text[1024], why[160];
        const char *t = entries[i].text;
        if (entries[i].templated) {
            int rc = render(t, resolve, ctx, text, sizeof text, report);
            if (rc != 0) {
                outbound_policy_destroy(p);
                return rc;
            }
            /* Spin skips what an empty variable leaves (an optional endpoint). */
            if (text[0] == '\0' || strcmp(text, "http://") == 0 || strcmp(text, "https://") == 0)
                continue;
            t = text;
        }
        struct outbound_rule r;
        if (outbound_rule_parse(t, &r, why, sizeof why) != 0) {
            spry_report_set(report, SPRY_EINVALID, "allowed_outbound_hosts \"%s\"%s%s%s: %s",
                            entries[i].text, t == text ? " (resolved: \"" : "",
                            t == text ? text : "", t == text ? "\")" : "", why);
            outbound_policy_destroy(p);
            return SPRY_EINVALID;
        }
        if (r.kind == OUTBOUND_HOST_SUBDOMAIN && strcmp(r.host, chain_suffix) == 0) {
            /* "*.spin.internal": one rule per component (Spin's
             * expand_wildcard_service_chaining). */
            for (size_t k = 0; k < p->n_ids; k++) {
                struct outbound_rule c = r;
                c.kind = OUTBOUND_HOST_NAME;
                if (snprintf(c.host, sizeof c.host, "%s%s", p->ids[k], chain_suffix) >=
                    (int)sizeof c.host)
                    continue;
                copy_lower(c.host, sizeof c.host, c.host, strlen(c.host));
                if (!push_rule(p, &cap, &c))
                    goto nomem;
            }
            continue;
        }
        if (!push_rule(p, &cap, &r))
            goto nomem;
    }
    *out = p;
    return 0;
nomem:
    outbound_policy_destroy(p);
    return spry_report_set(report, SPRY_ENOMEM, "out of memory");
}

bool outbound_policy_allows(const struct outbound_policy *p, const struct outbound_target *t)
{
    for (size_t i = 0; i < p->n; i++) {
        if (outbound_rule_allows(&p->rules[i], t))
            return true;
    }
    return false;
}

bool outbound_policy_allows_self(const struct outbound_policy *p, const char *const *schemes,
                                 size_t n)
{
    for (size_t i = 0; i < p->n; i++) {
        const struct outbound_rule *r = &p->rules[i];
        if (r->kind != OUTBOUND_HOST_ANY && r->kind != OUTBOUND_HOST_SELF)
            continue;
        for (size_t k = 0; k < n; k++) {
            if (scheme_allows(r, schemes[k]))
                return true;
        }
    }
    return false;
}

int outbound_policy_check_http(const struct outbound_policy *p, const char *scheme,
                               const char *authority, struct outbound_decision *d)
{
    memset(d, 0, sizeof *d);
    static const char *const http_schemes[] = {"http", "https"};
    struct outbound_target t;
    bool relative = authority == NULL || authority[0] == '\0';
    if (!relative) {
        char url[OUTBOUND_HOST_MAX + OUTBOUND_SCHEME_MAX + 16];
        if (snprintf(url, sizeof url, "%s://%s", scheme, authority) >= (int)sizeof url ||
            outbound_target_parse(url, "https", &t, d->why, sizeof d->why) != 0) {
            if (d->why[0] == '\0')
                snprintf(d->why, sizeof d->why, "authority too long");
            return SPRY_EINVALID;
        }
        /* Some SDKs need an authority for a request to the app itself. */
        relative = strcmp(t.host, "self.alt") == 0;
    }
    if (relative) {
        d->route = OUTBOUND_SELF;
        d->allowed = outbound_policy_allows_self(p, http_schemes, 2);
        if (!d->allowed)
            snprintf(d->why, sizeof d->why,
                     "relative URLs need allowed_outbound_hosts = [\"http://self\"] (or "
                     "\"https://self\")");
        return 0;
    }
    size_t hl = strlen(t.host), sl = strlen(chain_suffix);
    const char *dot = strchr(t.host, '.');
    if (!t.is_ip && dot != NULL && hl > sl && strcmp(dot, chain_suffix) == 0) {
        d->route = OUTBOUND_CHAIN;
        snprintf(d->component, sizeof d->component, "%.*s", (int)(dot - t.host), t.host);
        bool known = false;
        for (size_t i = 0; i < p->n_ids && !known; i++) {
            char id[OUTBOUND_HOST_MAX];
            copy_lower(id, sizeof id, p->ids[i], strlen(p->ids[i]));
            known = strcmp(id, d->component) == 0;
            if (known)
                snprintf(d->component, sizeof d->component, "%s", p->ids[i]);
        }
        if (!known) {
            snprintf(d->why, sizeof d->why, "service chaining: the app has no component '%.64s'",
                     d->component);
            return 0;
        }
    } else {
        d->route = OUTBOUND_NETWORK;
    }
    d->allowed = outbound_policy_allows(p, &t);
    if (!d->allowed) {
        if (t.has_port)
            snprintf(d->why, sizeof d->why,
                     "not allowed: add \"%s://%s%.64s%s:%u\" to allowed_outbound_hosts", t.scheme,
                     t.family == AF_INET6 ? "[" : "", t.host, t.family == AF_INET6 ? "]" : "",
                     t.port);
        else
            snprintf(d->why, sizeof d->why,
                     "not allowed: add \"%s://%s%.64s%s\" to allowed_outbound_hosts", t.scheme,
                     t.family == AF_INET6 ? "[" : "", t.host, t.family == AF_INET6 ? "]" : "");
    }
    return 0;
}

/*
 * allowed_outbound_hosts: Spin's rules, parsed and enforced.
 *
 * An entry is "scheme://host[:port]" (docs/manifest.md has the syntax). The
 * manifest reader checks entries as written (outbound_parse, manifest_impl.h);
 * once the app's variables have values, outbound_policy_create resolves the
 * {{ var }} templates and builds one component's policy, which answers
 * "may this component reach that scheme, host and port?" before any
 * connection is made.
 *
 * The rules are Spin's (spinframework/spin,
 * crates/outbound-networking-config/src/allowed_hosts.rs), restated:
 *
 *  - scheme: "*" allows any; otherwise letters only, compared with the
 *    URL's scheme (URL schemes are case-insensitive; Spry lowercases both).
 *  - host: "*" any; "*.example.com" any name ending in ".example.com"
 *    (not "example.com" itself, never an IP address); "self" (or
 *    "self.alt") the app itself, for relative URLs only; an IP network
 *    "10.0.0.0/8" or "ff00::/8" (host bits ignored) matching IP literals of
 *    its family; otherwise one host: a name (compared without case) or an
 *    IP address (compared as an address: "[::1]" is "[0::1]", "127.1" is
 *    "127.0.0.1").
 *  - port: "*" any; "N"; "A..B" from A to B, B excluded; absent: the
 *    scheme's well-known port (http 80, https 443, postgres 5432, mysql
 *    3306, redis 6379, mqtt 1883; any other scheme needs a port). A URL
 *    without a port uses its scheme's well-known port; a scheme without one
 *    and no port in the URL is denied unless the port is "*".
 *  - Host "*.spin.internal" (scheme http) allows service chaining to
 *    every component of the app (it becomes "<id>.spin.internal" for each
 *    id); "<id>.spin.internal" to that one. A {{ template }} that
 *    resolves to "", "http://" or "https://" is skipped (an optional
 *    endpoint left empty).
 */
#ifndef SPRY_APP_OUTBOUND_H
#define SPRY_APP_OUTBOUND_H

#include "app/manifest.h"
#include "spry/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { OUTBOUND_SCHEME_MAX = 32, OUTBOUND_HOST_MAX = 256 };

enum outbound_host_kind {
    OUTBOUND_HOST_ANY,       /* "*" */
    OUTBOUND_HOST_SELF,      /* "self", "self.alt": relative URLs */
    OUTBOUND_HOST_SUBDOMAIN, /* "*.example.com": host holds ".example.com" */
    OUTBOUND_HOST_NAME,      /* a domain name, lowercase */
    OUTBOUND_HOST_IP,        /* an address: family, addr */
    OUTBOUND_HOST_NET,       /* a network: family, addr, prefix */
};

/* One entry, parsed. */
struct outbound_rule {
    char scheme[OUTBOUND_SCHEME_MAX]; /* lowercase; "*" for any */
    enum outbound_host_kind kind;
    char host[OUTBOUND_HOST_MAX]; /* NAME, SUBDOMAIN: lowercase; others: as written */
    int family;                   /* AF_INET or AF_INET6 for IP and NET */
    uint8_t addr[16];             /* network byte order; NET: host bits cleared */
    unsigned prefix;              /* NET */
    bool any_port;
    uint32_t port_lo, port_hi; /* [lo, hi) when !any_port */
};

/* Where a request goes, as the matcher sees it. */
struct outbound_target {
    char scheme[OUTBOUND_SCHEME_MAX]; /* lowercase */
    char host[OUTBOUND_HOST_MAX];     /* lowercase; IPv6 without brackets */
    bool is_ip;
    int family;
    uint8_t addr[16];
    bool has_port;
    uint16_t port;
};

/* Parses one entry without templates. 0, or SPRY_EINVALID with `why`. */
int outbound_rule_parse(const char *text, struct outbound_rule *out, char *why, size_t why_size);

/* Fills a target from parts (host: a name, an IPv4 address, or an IPv6
 * address with or without brackets; port < 0: none). 0 or SPRY_EINVALID. */
int outbound_target_set(struct outbound_target *t, const char *scheme, const char *host, int port,
                        char *why, size_t why_size);
/* Fills a target from an absolute URL "scheme://[userinfo@]host[:port][/...]";
 * without "://", default_scheme is assumed (as Spin does). */
int outbound_target_parse(const char *url, const char *default_scheme, struct outbound_target *t,
                          char *why, size_t why_size);

bool outbound_rule_allows(const struct outbound_rule *r, const struct outbound_target *t);

/* ---- a component's policy ------------------------------------------------- */

/* The value of application variable `name`, or NULL when it has none. */
typedef const char *(*outbound_resolve_fn)(void *ctx, const char *name);

struct outbound_policy;

/*
 * Builds a policy from a component's entries (manifest_component.outbound),
 * resolving templates with `resolve` (may be NULL when no entry is
 * templated). component_ids: every component of the app, for
 * "*.spin.internal". Nothing is kept but copies. Errors: SPRY_EINVALID (a
 * template naming a variable without a value, or resolving to an invalid
 * entry: report says which), SPRY_ENOMEM.
 */
int outbound_policy_create(const struct manifest_outbound *entries, size_t n,
                           outbound_resolve_fn resolve, void *ctx, const char *const *component_ids,
                           size_t n_ids, struct outbound_policy **out, struct spry_report *report);
/* NULL is a no-op. */
void outbound_policy_destroy(struct outbound_policy *p);

/* Whether some rule allows the target. */
bool outbound_policy_allows(const struct outbound_policy *p, const struct outbound_target *t);
/* Whether relative requests back to the app are allowed for one of the
 * schemes: a rule with host "self" or "*" and a matching scheme (its port
 * is not considered). */
bool outbound_policy_allows_self(const struct outbound_policy *p, const char *const *schemes,
                                 size_t n);

/* The decision for an outgoing HTTP request. */
enum outbound_route {
    OUTBOUND_NETWORK, /* to the network */
    OUTBOUND_SELF,    /* a relative URL (no authority, or host "self.alt"): this app */
    OUTBOUND_CHAIN,   /* "<id>.spin.internal": component `component`, in-process */
};

struct outbound_decision {
    bool allowed;
    enum outbound_route route;
    char component[OUTBOUND_HOST_MAX]; /* OUTBOUND_CHAIN: the component id */
    char why[160];                     /* when denied: what would allow it */
};

/*
 * Decides for an HTTP request with `scheme` ("http" or "https") and
 * `authority` ("host[:port]", NULL or "" for a relative URL). The Host
 * header never enters: only the authority chooses. Service chaining to a
 * host that names no component of the app is denied. Returns 0 (the
 * decision in *d), or SPRY_EINVALID for an authority that does not parse
 * (d->why says why; treat as denied).
 */
int outbound_policy_check_http(const struct outbound_policy *p, const char *scheme,
                               const char *authority, struct outbound_decision *d);

#endif

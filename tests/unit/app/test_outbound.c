/*
 * allowed_outbound_hosts enforcement (src/app/outbound.c). The expected
 * answers are Spin's: its unit tests in spinframework/spin
 * crates/outbound-networking-config/src/allowed_hosts.rs (cited by test
 * name as "Spin: name") and the documented rules of
 * https://spinframework.dev/v3/http-outbound. Where Spry differs on
 * purpose, the test says so.
 */
#include "harness/test.h"

#include "app/manifest_impl.h"
#include "app/outbound.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------ */

static struct outbound_policy *policy_ids(const char *const *hosts, size_t n,
                                          const char *const *ids, size_t n_ids,
                                          outbound_resolve_fn resolve, void *ctx)
{
    struct manifest_outbound *e = calloc(n + 1, sizeof *e);
    ASSERT_TRUE(e != NULL);
    for (size_t i = 0; i < n; i++) {
        e[i].text = hosts[i];
        e[i].templated = strstr(hosts[i], "{{") != NULL;
    }
    struct outbound_policy *p = NULL;
    struct spry_report r;
    spry_report_init(&r);
    int rc = outbound_policy_create(e, n, resolve, ctx, ids, n_ids, &p, &r);
    if (rc != 0)
        fprintf(stderr, "policy: %s\n", r.message);
    ASSERT_OK(rc);
    free(e);
    return p;
}

#define POLICY(...)                                                                              \
    policy_ids((const char *const[]){__VA_ARGS__},                                               \
               sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *), NULL, 0, NULL, \
               NULL)

/* Spin's OutboundUrl::parse(url, scheme) then allows(). */
static bool allows(const struct outbound_policy *p, const char *url, const char *scheme)
{
    struct outbound_target t;
    char why[128];
    int rc = outbound_target_parse(url, scheme, &t, why, sizeof why);
    if (rc != 0)
        fprintf(stderr, "target %s: %s\n", url, why);
    ASSERT_OK(rc);
    return outbound_policy_allows(p, &t);
}

static bool parses(const char *entry)
{
    struct outbound_rule r;
    char why[160];
    return outbound_rule_parse(entry, &r, why, sizeof why) == 0;
}

static struct outbound_rule rule(const char *entry)
{
    struct outbound_rule r;
    char why[160];
    int rc = outbound_rule_parse(entry, &r, why, sizeof why);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", entry, why);
    ASSERT_OK(rc);
    return r;
}

/* ---- parsing ------------------------------------------------------------------- */

TEST(outbound, entry_parts_and_default_ports)
{
    /* Spin: test_allowed_hosts_accepts_url_without_port,
     * test_allowed_hosts_accepts_url_with_port: default ports and explicit
     * ones, a trailing slash removed. */
    struct outbound_rule r = rule("http://spin.fermyon.dev");
    ASSERT_EQ_STR(r.scheme, "http");
    ASSERT_EQ_INT(r.kind, OUTBOUND_HOST_NAME);
    ASSERT_EQ_STR(r.host, "spin.fermyon.dev");
    ASSERT_FALSE(r.any_port);
    ASSERT_EQ_UINT(r.port_lo, 80);
    ASSERT_EQ_UINT(r.port_hi, 81);
    r = rule("http://spin.fermyon.dev/");
    ASSERT_EQ_STR(r.host, "spin.fermyon.dev");
    ASSERT_EQ_UINT(r.port_lo, 80);
    ASSERT_EQ_UINT(rule("https://spin.fermyon.dev").port_lo, 443);
    ASSERT_EQ_UINT(rule("http://spin.fermyon.dev:4444").port_lo, 4444);
    ASSERT_EQ_UINT(rule("http://spin.fermyon.dev:4444/").port_lo, 4444);
    ASSERT_EQ_UINT(rule("https://spin.fermyon.dev:5555").port_lo, 5555);
    /* Spin's well_known_port: postgres 5432, mysql 3306, redis 6379,
     * mqtt 1883, http 80, https 443; nothing else. */
    ASSERT_EQ_UINT(rule("postgres://db").port_lo, 5432);
    ASSERT_EQ_UINT(rule("mysql://db").port_lo, 3306);
    ASSERT_EQ_UINT(rule("redis://db").port_lo, 6379);
    ASSERT_EQ_UINT(rule("mqtt://db").port_lo, 1883);
    ASSERT_FALSE(parses("wss://db"));
    ASSERT_FALSE(parses("rediss://db"));
    ASSERT_FALSE(parses("tcp://db"));
    ASSERT_TRUE(parses("tcp://db:9000"));
    /* "host:" with nothing after the colon: the default port. */
    ASSERT_EQ_UINT(rule("http://a.com:").port_lo, 80);
}

TEST(outbound, port_ranges_are_end_exclusive_and_star_is_any)
{
    /* Spin: test_allowed_hosts_accepts_url_with_port_range (4444..5555 is
     * Range(4444..5555): start included, end excluded). */
    struct outbound_rule r = rule("http://spin.fermyon.dev:4444..5555");
    ASSERT_EQ_UINT(r.port_lo, 4444);
    ASSERT_EQ_UINT(r.port_hi, 5555);
    /* Spin: test_allowed_all_globs. */
    r = rule("*://*:*");
    ASSERT_EQ_STR(r.scheme, "*");
    ASSERT_EQ_INT(r.kind, OUTBOUND_HOST_ANY);
    ASSERT_TRUE(r.any_port);
    /* Ports are u16 in Spin: 65536 is not a number it reads. */
    ASSERT_FALSE(parses("http://a.com:65536"));
    ASSERT_FALSE(parses("http://a.com:1..65536"));
    ASSERT_TRUE(parses("http://a.com:1..65535"));
    ASSERT_FALSE(parses("http://a.com:x"));
    ASSERT_FALSE(parses("http://a.com:1..x"));
    /* Spry rejects an empty range (Spin parses it and allows nothing). */
    ASSERT_FALSE(parses("http://a.com:90..80"));
    ASSERT_FALSE(parses("http://a.com:80..80"));
    /* "*" has no default port: Spin's test_allowed_hosts_accepts_ip_cidr
     * rejects "*://127.0.0.0/24" for that reason. */
    ASSERT_FALSE(parses("*://example.com"));
    ASSERT_TRUE(parses("*://example.com:7777")); /* Spin: ..._accepts_host_with_glob_scheme */
}

TEST(outbound, scheme_is_required_and_alphabetic)
{
    /* Spin: test_allowed_hosts_does_not_accept_plain_host_without_port,
     * ..._without_scheme, test_missing_scheme,
     * test_allowed_hosts_accepts_localhost_addresses ("localhost" and
     * "localhost:3001" alone are errors). */
    ASSERT_FALSE(parses("spin.fermyon.dev"));
    ASSERT_FALSE(parses("spin.fermyon.dev:80"));
    ASSERT_FALSE(parses("example.com"));
    ASSERT_FALSE(parses("localhost"));
    ASSERT_FALSE(parses("localhost:3001"));
    ASSERT_FALSE(parses("*"));
    ASSERT_FALSE(parses(""));
    /* "insecure:allow-all" is not allowed in allowed_outbound_hosts. */
    ASSERT_FALSE(parses("insecure:allow-all"));
    /* SchemeConfig::parse: only alphabetic characters. */
    ASSERT_FALSE(parses("h2c://a.com:80"));
    ASSERT_FALSE(parses("git+ssh://a.com:22"));
    ASSERT_FALSE(parses("://a.com:80"));
    /* Scheme lists "{a,b}" are not supported (Spin: "scheme lists are not
     * supported"). */
    ASSERT_FALSE(parses("{http,https}://a.com"));
    /* Letters of either case; compared without case (see matching). */
    ASSERT_EQ_STR(rule("HTTP://a.com").scheme, "http");
}

TEST(outbound, hosts_wildcards_self_and_paths)
{
    /* Spin: test_allowed_hosts_accepts_self ("self"; "self.alt" too). */
    ASSERT_EQ_INT(rule("http://self").kind, OUTBOUND_HOST_SELF);
    ASSERT_EQ_UINT(rule("http://self").port_lo, 80);
    ASSERT_EQ_INT(rule("http://self.alt").kind, OUTBOUND_HOST_SELF);
    /* Spin: test_allowed_hosts_accepts_subdomain_wildcards: "*.example.com"
     * keeps the suffix ".example.com". */
    struct outbound_rule r = rule("http://*.example.com");
    ASSERT_EQ_INT(r.kind, OUTBOUND_HOST_SUBDOMAIN);
    ASSERT_EQ_STR(r.host, ".example.com");
    /* Wildcards only as a whole first label (HostConfig::parse). */
    ASSERT_FALSE(parses("http://a.*.com"));
    ASSERT_FALSE(parses("http://*.*.com"));
    ASSERT_FALSE(parses("http://*example.com"));
    ASSERT_FALSE(parses("http://ex*ample.com"));
    /* "*.<address>" is no wildcard domain ("wildcard suffix must be a domain"). */
    ASSERT_FALSE(parses("http://*.127.0.0.1"));
    /* Spin: test_allowed_hosts_rejects_path: an empty path is allowed, no other. */
    ASSERT_TRUE(parses("http://spin.fermyon.dev/"));
    ASSERT_FALSE(parses("http://spin.fermyon.dev/a"));
    ASSERT_FALSE(parses("http://spin.fermyon.dev:6666/a/b"));
    ASSERT_FALSE(parses("http://*.fermyon.dev/a"));
    ASSERT_FALSE(parses("http://a.com?x"));
    ASSERT_FALSE(parses("http://a.com#x"));
    /* Host lists "{a,b}" are not supported. */
    ASSERT_FALSE(parses("http://{a.com,b.com}"));
    /* Spin's invalid_hosts_are_invalid. */
    ASSERT_FALSE(parses("zootle! wurdl!"));
    ASSERT_FALSE(parses("}{ !!**"));
    ASSERT_FALSE(parses("http://zoinks, Scooby!"));
    /* Names are compared without case. */
    ASSERT_EQ_STR(rule("http://Spin.Fermyon.DEV").host, "spin.fermyon.dev");
}

TEST(outbound, ip_addresses_and_networks)
{
    /* Spin: test_allowed_hosts_accepts_ip_addresses,
     * ipv6_literal_without_port_uses_scheme_default,
     * ipv6_literal_with_explicit_port_still_parses. */
    struct outbound_rule r = rule("http://192.168.1.1");
    ASSERT_EQ_INT(r.kind, OUTBOUND_HOST_IP);
    ASSERT_EQ_UINT(r.port_lo, 80);
    ASSERT_EQ_UINT(rule("http://192.168.1.1:3002").port_lo, 3002);
    r = rule("http://[::1]:8001");
    ASSERT_EQ_INT(r.kind, OUTBOUND_HOST_IP);
    ASSERT_EQ_UINT(r.port_lo, 8001);
    ASSERT_EQ_UINT(rule("http://[::1]").port_lo, 80);
    ASSERT_EQ_UINT(rule("https://[::1]").port_lo, 443);
    ASSERT_EQ_UINT(rule("http://[2001:db8::1]").port_lo, 80);
    ASSERT_EQ_UINT(rule("http://[2001:db8::1]:443").port_lo, 443);
    ASSERT_TRUE(rule("http://[::1]:*").any_port);
    r = rule("http://[::1]:8000..9000");
    ASSERT_EQ_UINT(r.port_lo, 8000);
    ASSERT_EQ_UINT(r.port_hi, 9000);
    ASSERT_EQ_UINT(rule("*://[::1]:80").port_lo, 80);
    ASSERT_EQ_UINT(rule("http://[::1]:8080/").port_lo, 8080);
    ASSERT_FALSE(parses("*://[::1]")); /* "*" has no default port */
    ASSERT_FALSE(parses("http://[::1"));
    ASSERT_FALSE(parses("http://[zz::1]"));
    /* Spin: test_allowed_hosts_accepts_ip_cidr: "*://127.0.0.0/24:80",
     * "*://ff00::/8:80" (an IPv6 network without brackets). */
    r = rule("*://127.0.0.0/24:80");
    ASSERT_EQ_INT(r.kind, OUTBOUND_HOST_NET);
    ASSERT_EQ_UINT(r.prefix, 24);
    ASSERT_EQ_UINT(r.port_lo, 80);
    r = rule("*://ff00::/8:80");
    ASSERT_EQ_INT(r.kind, OUTBOUND_HOST_NET);
    ASSERT_EQ_UINT(r.prefix, 8);
    ASSERT_EQ_UINT(r.addr[0], 0xff);
    ASSERT_FALSE(parses("*://127.0.0.0/24"));
    ASSERT_EQ_UINT(rule("http://10.0.0.0/8").port_lo, 80);
    ASSERT_FALSE(parses("http://10.0.0.0/33:80"));
    /* Host bits are cut (from_str_truncate): 127.0.0.1/24 is 127.0.0.0/24. */
    r = rule("*://127.0.0.1/24:63551");
    ASSERT_EQ_UINT(r.addr[3], 0);
}

/* ---- matching ------------------------------------------------------------------- */

TEST(outbound, specific_hosts)
{
    /* Spin: test_allowed_hosts_can_be_specific. */
    struct outbound_policy *p = POLICY("*://spin.fermyon.dev:443", "http://example.com:8383");
    ASSERT_TRUE(allows(p, "http://example.com:8383/foo/bar", "http"));
    ASSERT_TRUE(allows(p, "https://spin.fermyon.dev", "https"));
    ASSERT_TRUE(allows(p, "https://spin.fermyon.dev/", "https"));
    ASSERT_FALSE(allows(p, "http://example.com/", "http"));
    ASSERT_FALSE(allows(p, "http://google.com/", "http"));
    ASSERT_TRUE(allows(p, "spin.fermyon.dev:443", "https"));
    ASSERT_TRUE(allows(p, "example.com:8383", "http"));
    /* The scheme must match too: https to example.com:8383 is not listed. */
    ASSERT_FALSE(allows(p, "https://example.com:8383/", "https"));
    /* "*" scheme: any scheme on port 443. */
    ASSERT_TRUE(allows(p, "wss://spin.fermyon.dev:443", "https"));
    ASSERT_FALSE(allows(p, "http://spin.fermyon.dev", "http")); /* port 80 */
    outbound_policy_destroy(p);

    /* Spin: test_allowed_hosts_with_trailing_slash. */
    p = POLICY("https://my.api.com/");
    ASSERT_TRUE(allows(p, "https://my.api.com", "https"));
    ASSERT_TRUE(allows(p, "https://my.api.com/", "https"));
    outbound_policy_destroy(p);
}

TEST(outbound, subdomain_wildcards_do_not_match_the_domain_itself)
{
    /* Spin: test_allowed_hosts_can_be_subdomain_wildcards. */
    struct outbound_policy *p = POLICY("http://*.example.com", "http://*.example2.com:8383");
    ASSERT_TRUE(allows(p, "http://a.example.com/foo/bar", "http"));
    ASSERT_TRUE(allows(p, "http://a.b.example.com/foo/bar", "http"));
    ASSERT_TRUE(allows(p, "http://a.b.example2.com:8383/foo/bar", "http"));
    ASSERT_FALSE(allows(p, "http://a.b.example2.com/foo/bar", "http"));
    ASSERT_FALSE(allows(p, "http://example.com/foo/bar", "http"));
    ASSERT_FALSE(allows(p, "http://example.com:8383/foo/bar", "http"));
    ASSERT_FALSE(allows(p, "http://myexample.com/foo/bar", "http"));
    /* Case does not matter in URLs' hosts (the URL parser lowercases them). */
    ASSERT_TRUE(allows(p, "HTTP://A.Example.COM/", "http"));
    outbound_policy_destroy(p);
}

TEST(outbound, any_host_any_port_any_scheme)
{
    struct outbound_policy *p = POLICY("*://*:*");
    ASSERT_TRUE(allows(p, "http://anything.example/", "http"));
    ASSERT_TRUE(allows(p, "https://127.0.0.1:1/", "https"));
    ASSERT_TRUE(allows(p, "redis://[::1]:6380", "redis"));
    ASSERT_TRUE(allows(p, "tcp://h", "tcp")); /* no port, no default: "*" takes it */
    outbound_policy_destroy(p);
    /* A port list needs the URL's port or its scheme's default. */
    p = POLICY("*://h:1..65535");
    ASSERT_TRUE(allows(p, "http://h/", "http"));
    ASSERT_FALSE(allows(p, "tcp://h", "tcp"));
    outbound_policy_destroy(p);
}

TEST(outbound, ports_and_ranges)
{
    struct outbound_policy *p = POLICY("http://127.0.0.1:8000..8010", "https://h");
    ASSERT_FALSE(allows(p, "http://127.0.0.1:7999/", "http"));
    ASSERT_TRUE(allows(p, "http://127.0.0.1:8000/", "http"));
    ASSERT_TRUE(allows(p, "http://127.0.0.1:8009/", "http"));
    ASSERT_FALSE(allows(p, "http://127.0.0.1:8010/", "http")); /* end excluded */
    ASSERT_FALSE(allows(p, "http://127.0.0.1/", "http"));
    /* "https://h" is port 443 only; the URL's explicit default port is the same. */
    ASSERT_TRUE(allows(p, "https://h:443/", "https"));
    ASSERT_TRUE(allows(p, "https://h/", "https"));
    ASSERT_FALSE(allows(p, "https://h:8443/", "https"));
    ASSERT_FALSE(allows(p, "http://h:443/", "http")); /* scheme */
    outbound_policy_destroy(p);
}

TEST(outbound, ip_literals_compare_as_addresses)
{
    struct outbound_policy *p = POLICY("http://[::1]:8080", "http://127.0.0.1:*");
    ASSERT_TRUE(allows(p, "http://[::1]:8080/", "http"));
    ASSERT_TRUE(allows(p, "http://[0:0::1]:8080/", "http"));
    ASSERT_TRUE(allows(p, "http://[0000:0000:0000:0000:0000:0000:0000:0001]:8080/", "http"));
    ASSERT_FALSE(allows(p, "http://[::2]:8080/", "http"));
    ASSERT_FALSE(allows(p, "http://[::1]:8081/", "http"));
    ASSERT_TRUE(allows(p, "http://127.0.0.1:9/", "http"));
    /* The URL parser reads these IPv4 forms as 127.0.0.1 (WHATWG URL). */
    ASSERT_TRUE(allows(p, "http://127.1:9/", "http"));
    ASSERT_TRUE(allows(p, "http://0x7f.0.0.1:9/", "http"));
    ASSERT_FALSE(allows(p, "http://127.0.0.2:9/", "http"));
    /* A name is not an address, even one that resolves to it. */
    ASSERT_FALSE(allows(p, "http://localhost:9/", "http"));
    outbound_policy_destroy(p);
}

TEST(outbound, networks_contain_addresses_of_their_family)
{
    /* Spin: test_cidr. */
    struct outbound_policy *p = POLICY("*://127.0.0.1/24:63551");
    ASSERT_TRUE(allows(p, "tcp://127.0.0.1:63551", "tcp"));
    ASSERT_TRUE(allows(p, "tcp://127.0.0.255:63551", "tcp"));
    ASSERT_FALSE(allows(p, "tcp://127.0.1.1:63551", "tcp"));
    ASSERT_FALSE(allows(p, "tcp://127.0.0.1:63552", "tcp"));
    ASSERT_FALSE(allows(p, "tcp://localhost:63551", "tcp")); /* names never match a network */
    ASSERT_FALSE(allows(p, "tcp://[::ffff:127.0.0.1]:63551", "tcp"));
    outbound_policy_destroy(p);
    p = POLICY("http://fd00::/8:*", "http://0.0.0.0/0:1");
    ASSERT_TRUE(allows(p, "http://[fd12::5]:99/", "http"));
    ASSERT_FALSE(allows(p, "http://[fe00::1]:99/", "http"));
    ASSERT_TRUE(allows(p, "http://10.1.2.3:1/", "http")); /* /0: every IPv4 address */
    ASSERT_FALSE(allows(p, "http://10.1.2.3:2/", "http"));
    outbound_policy_destroy(p);
}

TEST(outbound, userinfo_is_not_the_host)
{
    /* Spin: test_hash_char_in_db_password, outbound_url_handles_at_in_paths. */
    struct outbound_policy *p = POLICY("mysql://xyz.com", "https://example.com");
    ASSERT_TRUE(allows(p, "mysql://user:pass#word@xyz.com", "mysql"));
    ASSERT_TRUE(allows(p, "mysql://user%3Apass%23word@xyz.com", "mysql"));
    ASSERT_TRUE(allows(p, "user%3Apass%23word@xyz.com", "mysql"));
    ASSERT_TRUE(allows(p, "https://example.com/file@0.1.0.json", "https"));
    ASSERT_TRUE(allows(p, "https://user:password@example.com/file@0.1.0.json", "https"));
    ASSERT_TRUE(allows(p, "https://user:password@example.com", "https"));
    /* The host is what follows the last '@' of the authority. */
    ASSERT_FALSE(allows(p, "https://example.com@evil.test/", "https"));
    outbound_policy_destroy(p);
}

/* ---- self, service chaining, templates ------------------------------------------- */

static const char *const app_ids[] = {"first", "second", "third"};

TEST(outbound, self_allows_relative_urls_only)
{
    struct outbound_policy *p =
        policy_ids((const char *const[]){"http://self"}, 1, app_ids, 3, NULL, NULL);
    struct outbound_decision d;
    ASSERT_OK(outbound_policy_check_http(p, "http", NULL, &d));
    ASSERT_TRUE(d.allowed);
    ASSERT_EQ_INT(d.route, OUTBOUND_SELF);
    ASSERT_OK(outbound_policy_check_http(p, "https", "", &d));
    ASSERT_TRUE(d.allowed);
    /* Some SDKs need an authority: "self.alt" means the app itself. */
    ASSERT_OK(outbound_policy_check_http(p, "http", "self.alt", &d));
    ASSERT_TRUE(d.allowed);
    ASSERT_EQ_INT(d.route, OUTBOUND_SELF);
    /* "self" is no host name: http://self goes nowhere. */
    ASSERT_OK(outbound_policy_check_http(p, "http", "self", &d));
    ASSERT_FALSE(d.allowed);
    ASSERT_EQ_INT(d.route, OUTBOUND_NETWORK);
    ASSERT_OK(outbound_policy_check_http(p, "http", "localhost", &d));
    ASSERT_FALSE(d.allowed);
    outbound_policy_destroy(p);

    /* "*" hosts allow relative URLs too (HostConfig::allows_relative); a
     * named host does not, nor a scheme other than http and https. */
    p = POLICY("https://*:*");
    ASSERT_OK(outbound_policy_check_http(p, "http", NULL, &d));
    ASSERT_TRUE(d.allowed);
    outbound_policy_destroy(p);
    p = POLICY("http://example.com", "redis://self");
    ASSERT_OK(outbound_policy_check_http(p, "http", NULL, &d));
    ASSERT_FALSE(d.allowed);
    ASSERT_TRUE(strstr(d.why, "http://self") != NULL);
    outbound_policy_destroy(p);
    /* No entries: nothing at all. */
    p = policy_ids(NULL, 0, NULL, 0, NULL, NULL);
    ASSERT_OK(outbound_policy_check_http(p, "http", NULL, &d));
    ASSERT_FALSE(d.allowed);
    ASSERT_OK(outbound_policy_check_http(p, "https", "example.com", &d));
    ASSERT_FALSE(d.allowed);
    outbound_policy_destroy(p);
}

TEST(outbound, service_chaining_only_when_listed)
{
    /* Spin: expand_wildcard_service_chaining_lists_all_components. */
    struct outbound_policy *p =
        policy_ids((const char *const[]){"http://*.spin.internal"}, 1, app_ids, 3, NULL, NULL);
    struct outbound_decision d;
    ASSERT_OK(outbound_policy_check_http(p, "http", "second.spin.internal", &d));
    ASSERT_TRUE(d.allowed);
    ASSERT_EQ_INT(d.route, OUTBOUND_CHAIN);
    ASSERT_EQ_STR(d.component, "second");
    ASSERT_OK(outbound_policy_check_http(p, "http", "Third.Spin.Internal", &d));
    ASSERT_TRUE(d.allowed);
    ASSERT_EQ_STR(d.component, "third");
    /* Not a component of the app. */
    ASSERT_OK(outbound_policy_check_http(p, "http", "fourth.spin.internal", &d));
    ASSERT_FALSE(d.allowed);
    ASSERT_EQ_INT(d.route, OUTBOUND_CHAIN);
    /* The entry's scheme and default port still apply. */
    ASSERT_OK(outbound_policy_check_http(p, "https", "first.spin.internal", &d));
    ASSERT_FALSE(d.allowed);
    ASSERT_OK(outbound_policy_check_http(p, "http", "first.spin.internal:8080", &d));
    ASSERT_FALSE(d.allowed);
    /* Only "<id>.spin.internal" chains; deeper names go to the network. */
    ASSERT_OK(outbound_policy_check_http(p, "http", "a.first.spin.internal", &d));
    ASSERT_EQ_INT(d.route, OUTBOUND_NETWORK);
    ASSERT_FALSE(d.allowed);
    outbound_policy_destroy(p);

    /* One named component; the others are denied. */
    p = policy_ids((const char *const[]){"http://first.spin.internal"}, 1, app_ids, 3, NULL, NULL);
    ASSERT_OK(outbound_policy_check_http(p, "http", "first.spin.internal", &d));
    ASSERT_TRUE(d.allowed);
    ASSERT_OK(outbound_policy_check_http(p, "http", "second.spin.internal", &d));
    ASSERT_FALSE(d.allowed);
    outbound_policy_destroy(p);

    /* Not listed: denied. */
    p = policy_ids((const char *const[]){"http://example.com"}, 1, app_ids, 3, NULL, NULL);
    ASSERT_OK(outbound_policy_check_http(p, "http", "first.spin.internal", &d));
    ASSERT_FALSE(d.allowed);
    ASSERT_EQ_INT(d.route, OUTBOUND_CHAIN);
    outbound_policy_destroy(p);
}

struct vars {
    const char *names[4];
    const char *values[4];
};

static const char *resolve(void *ctx, const char *name)
{
    const struct vars *v = ctx;
    for (int i = 0; i < 4 && v->names[i] != NULL; i++) {
        if (strcmp(v->names[i], name) == 0)
            return v->values[i];
    }
    return NULL;
}

TEST(outbound, templates_resolve_before_matching)
{
    /* Spin: variables_make_hosts_valid. */
    struct vars v = {{"dbhost", "dbport", "api"}, {"example.com", "1234", "https://api.test"}};
    struct outbound_policy *p =
        policy_ids((const char *const[]){"http://{{ dbhost }}:{{dbport}}", "{{ api }}"}, 2, NULL, 0,
                   resolve, &v);
    ASSERT_TRUE(allows(p, "http://example.com:1234/", "http"));
    ASSERT_FALSE(allows(p, "http://example.com/", "http"));
    ASSERT_TRUE(allows(p, "https://api.test/x", "https"));
    outbound_policy_destroy(p);

    /* Spin: allowed_hosts_ignores_empty_due_to_empty_variables. */
    struct vars empty = {{"one", "two"}, {"", ""}};
    p = policy_ids((const char *const[]){"https://{{ one }}", "{{ two }}", "https://three"}, 3,
                   NULL, 0, resolve, &empty);
    ASSERT_TRUE(allows(p, "https://three/", "https"));
    ASSERT_FALSE(allows(p, "https://one/", "https"));
    outbound_policy_destroy(p);

    /* Spin: bad_variables_make_hosts_invalid; a variable without a value. */
    struct manifest_outbound e = {.text = "http://{{ dbhost }}", .templated = true};
    struct vars bad = {{"dbhost"}, {"zoinks, Scooby!"}};
    struct outbound_policy *q = NULL;
    struct spry_report r;
    spry_report_init(&r);
    ASSERT_EQ_INT(outbound_policy_create(&e, 1, resolve, &bad, NULL, 0, &q, &r), SPRY_EINVALID);
    ASSERT_TRUE(strstr(r.message, "zoinks") != NULL);
    struct vars none = {{NULL}, {NULL}};
    spry_report_init(&r);
    ASSERT_EQ_INT(outbound_policy_create(&e, 1, resolve, &none, NULL, 0, &q, &r), SPRY_EINVALID);
    ASSERT_TRUE(strstr(r.message, "'dbhost' has no value") != NULL);
}

TEST(outbound, manifest_entries_keep_their_parts)
{
    /* outbound_parse, as the manifest reader calls it. */
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 16);
    struct manifest_outbound o;
    char why[160];
    ASSERT_OK(outbound_parse("*://ff00::/8:80", &o, why, sizeof why, &arena));
    ASSERT_EQ_STR(o.host, "ff00::/8");
    ASSERT_EQ_UINT(o.port_lo, 80);
    ASSERT_OK(outbound_parse("http://[::1]", &o, why, sizeof why, &arena));
    ASSERT_EQ_STR(o.host, "[::1]");
    ASSERT_OK(outbound_parse("http://Example.com:8080/", &o, why, sizeof why, &arena));
    ASSERT_EQ_STR(o.host, "Example.com");
    ASSERT_EQ_UINT(o.port_lo, 8080);
    /* A template as the scheme or the whole entry is checked once resolved. */
    ASSERT_OK(outbound_parse("{{ endpoint }}", &o, why, sizeof why, &arena));
    ASSERT_TRUE(o.templated);
    ASSERT_OK(outbound_parse("{{ scheme }}://a.com", &o, why, sizeof why, &arena));
    ASSERT_EQ_INT(outbound_parse("http://{{ h }}:99999", &o, why, sizeof why, &arena),
                  SPRY_EINVALID);
    spry_arena_fini(&arena);
}

TEST(outbound, targets_reject_what_is_no_url)
{
    struct outbound_target t;
    char why[128];
    ASSERT_EQ_INT(outbound_target_parse("http://", "http", &t, why, sizeof why), SPRY_EINVALID);
    ASSERT_EQ_INT(outbound_target_parse("http://a.com:99999/", "http", &t, why, sizeof why),
                  SPRY_EINVALID);
    ASSERT_EQ_INT(outbound_target_parse("http://[::1/", "http", &t, why, sizeof why),
                  SPRY_EINVALID);
    ASSERT_EQ_INT(outbound_target_parse("http://a b/", "http", &t, why, sizeof why), SPRY_EINVALID);
    ASSERT_EQ_INT(outbound_target_parse("http://a%2ecom/", "http", &t, why, sizeof why),
                  SPRY_EINVALID);
    ASSERT_EQ_INT(outbound_target_set(&t, "http", "a.com", 70000, why, sizeof why), SPRY_EINVALID);
    /* curl reports IPv6 hosts without brackets. */
    ASSERT_OK(outbound_target_set(&t, "HTTP", "::1", 80, why, sizeof why));
    ASSERT_TRUE(t.is_ip);
    ASSERT_EQ_STR(t.scheme, "http");
}

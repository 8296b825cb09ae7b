#include "harness/test.h"

#include "base/alloc.h"
#include "trigger/router.h"

#include <stdio.h>
#include <string.h>

static struct http_route comp(const char *pattern, const char *id)
{
    struct http_route r = {0};
    r.pattern = pattern;
    r.kind = HTTP_TARGET_COMPONENT;
    r.component_id = id;
    return r;
}

static struct http_router *build(const struct http_route *routes, size_t n)
{
    struct http_router *r = NULL;
    struct spry_report rep;
    spry_report_init(&rep);
    ASSERT_OK(http_router_create(routes, n, "/", &r, &rep));
    return r;
}

/* The component id a path routes to, or "404". */
static const char *route_of(const struct http_router *r, const char *path)
{
    struct http_match m;
    if (http_router_match(r, path, strlen(path), &m) != 0)
        return "404";
    return m.route->component_id;
}

TEST(trigger_router, exact_routes_match_only_their_path_with_or_without_trailing_slash)
{
    struct http_route routes[] = {comp("/foo", "foo"), comp("/foo/bar", "foobar")};
    struct http_router *r = build(routes, 2);
    ASSERT_EQ_STR(route_of(r, "/foo"), "foo");
    ASSERT_EQ_STR(route_of(r, "/foo/"), "foo");
    ASSERT_EQ_STR(route_of(r, "/foo/bar"), "foobar");
    ASSERT_EQ_STR(route_of(r, "/foo/bar/baz"), "404");
    ASSERT_EQ_STR(route_of(r, "/foobar"), "404");
    ASSERT_EQ_STR(route_of(r, "/"), "404");
    http_router_destroy(r);
}

TEST(trigger_router, root_route_matches_only_root)
{
    struct http_route routes[] = {comp("/", "root")};
    struct http_router *r = build(routes, 1);
    ASSERT_EQ_STR(route_of(r, "/"), "root");
    ASSERT_EQ_STR(route_of(r, "/x"), "404");
    http_router_destroy(r);
}

TEST(trigger_router, wildcard_matches_its_prefix_and_everything_below)
{
    struct http_route routes[] = {comp("/static/...", "static")};
    struct http_router *r = build(routes, 1);
    ASSERT_EQ_STR(route_of(r, "/static"), "static");
    ASSERT_EQ_STR(route_of(r, "/static/"), "static");
    ASSERT_EQ_STR(route_of(r, "/static/a/b/c.png"), "static");
    ASSERT_EQ_STR(route_of(r, "/staticfoo"), "404");
    ASSERT_EQ_STR(route_of(r, "/"), "404");
    http_router_destroy(r);
}

TEST(trigger_router, root_wildcard_matches_everything)
{
    struct http_route routes[] = {comp("/...", "all")};
    struct http_router *r = build(routes, 1);
    ASSERT_EQ_STR(route_of(r, "/"), "all");
    ASSERT_EQ_STR(route_of(r, "/abc/"), "all");
    ASSERT_EQ_STR(route_of(r, "/this/should/be/captured"), "all");
    http_router_destroy(r);
}

TEST(trigger_router, exact_beats_param_beats_wildcard_in_any_order)
{
    struct http_route a[] = {comp("/users/...", "wild"), comp("/users/:id", "param"),
                             comp("/users/admin", "exact")};
    struct http_route b[] = {comp("/users/admin", "exact"), comp("/users/:id", "param"),
                             comp("/users/...", "wild")};
    for (int k = 0; k < 2; k++) {
        struct http_router *r = build(k == 0 ? a : b, 3);
        ASSERT_EQ_STR(route_of(r, "/users/admin"), "exact");
        ASSERT_EQ_STR(route_of(r, "/users/42"), "param");
        ASSERT_EQ_STR(route_of(r, "/users/42/posts"), "wild");
        ASSERT_EQ_STR(route_of(r, "/users"), "wild");
        http_router_destroy(r);
    }
}

TEST(trigger_router, exact_route_beats_wildcard_at_the_same_prefix)
{
    struct http_route routes[] = {comp("/one", "exact"), comp("/one/...", "wild"),
                                  comp("/...", "all")};
    struct http_router *r = build(routes, 3);
    ASSERT_EQ_STR(route_of(r, "/one"), "exact");
    ASSERT_EQ_STR(route_of(r, "/one/two"), "wild");
    ASSERT_EQ_STR(route_of(r, "/other"), "all");
    http_router_destroy(r);
}

TEST(trigger_router, longest_wildcard_prefix_wins_regardless_of_order)
{
    struct http_route a[] = {comp("/one/...", "1"), comp("/one/two/...", "12"),
                             comp("/one/two/three/...", "123")};
    struct http_route b[] = {comp("/one/two/three/...", "123"), comp("/one/two/...", "12"),
                             comp("/one/...", "1")};
    for (int k = 0; k < 2; k++) {
        struct http_router *r = build(k == 0 ? a : b, 3);
        ASSERT_EQ_STR(route_of(r, "/one/two/three/four"), "123");
        ASSERT_EQ_STR(route_of(r, "/one/two/x"), "12");
        ASSERT_EQ_STR(route_of(r, "/one/x"), "1");
        http_router_destroy(r);
    }
}

TEST(trigger_router, leftmost_difference_decides_specificity)
{
    /* /a/:x/c vs /a/b/... on /a/b/c: position 1 is exact 'b' in the second. */
    struct http_route routes[] = {comp("/a/:x/c", "param-first"), comp("/a/b/...", "exact-first")};
    struct http_router *r = build(routes, 2);
    ASSERT_EQ_STR(route_of(r, "/a/b/c"), "exact-first");
    ASSERT_EQ_STR(route_of(r, "/a/z/c"), "param-first");
    http_router_destroy(r);
}

TEST(trigger_router, param_matches_one_nonempty_segment)
{
    struct http_route routes[] = {comp("/1/:two/3", "c")};
    struct http_router *r = build(routes, 1);
    struct http_match m;
    ASSERT_OK(http_router_match(r, "/1/2/3", 6, &m));
    ASSERT_EQ_UINT(m.ncaptures, 1);
    ASSERT_EQ_MEM(m.captures[0].name, "two", 3);
    ASSERT_EQ_UINT(m.captures[0].value_len, 1);
    ASSERT_EQ_MEM(m.captures[0].value, "2", 1);
    ASSERT_EQ_STR(route_of(r, "/1//3"), "404");
    ASSERT_EQ_STR(route_of(r, "/1/2/2/3"), "404");
    http_router_destroy(r);
}

TEST(trigger_router, later_duplicate_wins_and_earlier_is_warned_about)
{
    struct http_route routes[] = {comp("/", "root"), comp("/foo", "first"), comp("/foo/", "second"),
                                  comp("/x/:a", "pa"), comp("/x/:b", "pb")};
    struct http_router *r = build(routes, 5);
    ASSERT_EQ_STR(route_of(r, "/foo"), "second");
    ASSERT_EQ_STR(route_of(r, "/x/1"), "pb");
    ASSERT_EQ_UINT(http_router_warning_count(r), 2);
    const char *w = http_router_warning(r, 0);
    ASSERT_TRUE(strstr(w, "'/foo'") != NULL);
    ASSERT_TRUE(strstr(w, "first") != NULL);
    ASSERT_TRUE(strstr(w, "second") != NULL);
    ASSERT_TRUE(strstr(http_router_warning(r, 1), "pa") != NULL);
    http_router_destroy(r);
}

TEST(trigger_router, distinct_routes_give_no_warning)
{
    struct http_route routes[] = {comp("/", "a"), comp("/foo", "b"), comp("/bar", "c"),
                                  comp("/whee/...", "d")};
    struct http_router *r = build(routes, 4);
    ASSERT_EQ_UINT(http_router_warning_count(r), 0);
    http_router_destroy(r);
}

TEST(trigger_router, private_routes_are_never_matched)
{
    struct http_route routes[] = {comp("/...", "public"), comp(NULL, "secret")};
    routes[1].is_private = true;
    struct http_route only[] = {comp(NULL, "secret")};
    only[0].is_private = true;
    struct http_router *r = build(routes, 2);
    ASSERT_EQ_STR(route_of(r, "/secret"), "public");
    http_router_destroy(r);
    r = build(only, 1);
    ASSERT_EQ_STR(route_of(r, "/"), "404");
    ASSERT_EQ_STR(route_of(r, "/secret"), "404");
    http_router_destroy(r);
}

TEST(trigger_router, reserved_prefix_is_warned_about)
{
    struct http_route routes[] = {comp("/.well-known/spin/...", "c"),
                                  comp("/.well-known/spindle/...", "d")};
    struct http_router *r = build(routes, 2);
    ASSERT_EQ_UINT(http_router_warning_count(r), 1);
    ASSERT_TRUE(strstr(http_router_warning(r, 0), "reserved") != NULL);
    http_router_destroy(r);
}

TEST(trigger_router, invalid_patterns_are_reported_with_the_route_text)
{
    const char *bad[] = {"/a/:/b", "/a/.../b", "/a//b",  "/a/*x",
                         "/a b",   "/a?x",     "/:x/:x", "/a/:na.me"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct http_route routes[] = {comp(bad[i], "broken")};
        struct http_router *r = NULL;
        struct spry_report rep;
        spry_report_init(&rep);
        ASSERT_EQ_INT(http_router_create(routes, 1, "/", &r, &rep), SPRY_EINVALID);
        ASSERT_NULL(r);
        ASSERT_TRUE(strstr(rep.message, bad[i]) != NULL);
        ASSERT_TRUE(strstr(rep.message, "broken") != NULL);
    }
}

TEST(trigger_router, relative_pattern_is_absolutized_and_star_is_a_wildcard)
{
    struct http_route routes[] = {comp("foo", "foo"), comp("/bar/*", "bar")};
    struct http_router *r = build(routes, 2);
    ASSERT_EQ_STR(route_of(r, "/foo"), "foo");
    ASSERT_EQ_STR(route_of(r, "/bar/x/y"), "bar");
    http_router_destroy(r);
}

TEST(trigger_router, path_info_keeps_trailing_slashes_as_spin_does)
{
    struct http_route routes[] = {comp("/test/...", "t"), comp("/exact", "e")};
    struct http_router *r = build(routes, 2);
    const char *paths[] = {"/test", "/test/", "/test/hello", "/test/hello/", "/exact"};
    const char *infos[] = {"", "/", "/hello", "/hello/", ""};
    for (int i = 0; i < 5; i++) {
        struct http_match m;
        ASSERT_OK(http_router_match(r, paths[i], strlen(paths[i]), &m));
        char got[64];
        snprintf(got, sizeof(got), "%.*s", (int)m.path_info_len, m.path_info);
        ASSERT_EQ_STR(got, infos[i]);
    }
    http_router_destroy(r);
}

TEST(trigger_router, too_many_params_is_an_error)
{
    char pat[512] = "";
    for (int i = 0; i <= HTTP_ROUTE_MAX_PARAMS; i++) {
        char seg[16];
        snprintf(seg, sizeof(seg), "/:p%d", i);
        strcat(pat, seg);
    }
    struct http_route routes[] = {comp(pat, "many")};
    struct http_router *r = NULL;
    ASSERT_EQ_INT(http_router_create(routes, 1, "/", &r, NULL), SPRY_EINVALID);
}

struct collected {
    char text[2048];
};

static int collect(void *ctx, const char *name, size_t nl, const char *value, size_t vl)
{
    struct collected *c = ctx;
    size_t len = strlen(c->text);
    snprintf(c->text + len, sizeof(c->text) - len, "%.*s=%.*s\n", (int)nl, name, (int)vl, value);
    return 0;
}

TEST(trigger_router, spin_headers_match_spins_names_and_values)
{
    struct http_route routes[] = {comp("/:path_segment/:path_end/...", "c")};
    struct http_router *r = build(routes, 1);
    struct http_match m;
    const char *target = "/path/end/rest?key=value";
    ASSERT_OK(http_router_match(r, "/path/end/rest", 14, &m));
    struct http_request_facts f = {"http", "example.com", target, strlen(target), "127.0.0.1:4242"};
    struct collected c = {""};
    ASSERT_OK(http_router_spin_headers(&m, &f, collect, &c));
    ASSERT_EQ_STR(c.text, "spin-full-url=http://example.com/path/end/rest?key=value\n"
                          "spin-path-info=/rest\n"
                          "spin-matched-route=/:path_segment/:path_end/...\n"
                          "spin-raw-component-route=/:path_segment/:path_end/...\n"
                          "spin-component-route=/:path_segment/:path_end\n"
                          "spin-base-path=/\n"
                          "spin-client-addr=127.0.0.1:4242\n"
                          "spin-path-match-path-segment=path\n"
                          "spin-path-match-path-end=end\n");
    http_router_destroy(r);
}

TEST(trigger_router, spin_headers_respect_a_base_path)
{
    struct http_route routes[] = {comp("/foo/...", "c")};
    struct http_router *r = NULL;
    ASSERT_OK(http_router_create(routes, 1, "/base", &r, NULL));
    struct http_match m;
    ASSERT_EQ_INT(http_router_match(r, "/foo/x", 6, &m), SPRY_ENOTFOUND);
    ASSERT_OK(http_router_match(r, "/base/foo/x", 11, &m));
    ASSERT_EQ_STR(m.matched_route, "/base/foo/...");
    ASSERT_EQ_STR(m.raw_route, "/foo/...");
    ASSERT_EQ_STR(m.component_route, "/foo");
    ASSERT_EQ_STR(m.base, "/base");
    http_router_destroy(r);
}

TEST(trigger_router, header_values_never_carry_cr_or_lf)
{
    struct http_route routes[] = {comp("/...", "c")};
    struct http_router *r = build(routes, 1);
    struct http_match m;
    ASSERT_OK(http_router_match(r, "/a", 2, &m));
    struct http_request_facts f = {"http", "evil\r\nx: y", "/a", 2, "1.2.3.4:5"};
    struct collected c = {""};
    ASSERT_OK(http_router_spin_headers(&m, &f, collect, &c));
    ASSERT_TRUE(strstr(c.text, "spin-full-url=http://evilx: y/a\n") != NULL);
    http_router_destroy(r);
}

TEST(trigger_router, allocation_failures_are_reported_without_leaks)
{
    struct http_route routes[] = {comp("/a/:b/...", "x"), comp("/a/:c/...", "y")};
    for (long n = 0; n < 64; n++) {
        struct http_router *r = NULL;
        spry_alloc_fail_after(n);
        int rc = http_router_create(routes, 2, "/", &r, NULL);
        spry_alloc_fail_after(-1);
        if (rc == 0) {
            ASSERT_EQ_UINT(http_router_warning_count(r), 1);
            http_router_destroy(r);
            return;
        }
        ASSERT_EQ_INT(rc, SPRY_ENOMEM);
        ASSERT_NULL(r);
    }
    ASSERT_TRUE(!"never succeeded");
}

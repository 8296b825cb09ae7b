/* WAGI's CGI conventions: argv, environment, response parsing. */
#include "harness/test.h"

#include "trigger/wagi_cgi.h"

#include <stdio.h>
#include <string.h>

static const char *find_env(const struct wagi_strings *env, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < env->count; i++)
        if (strncmp(env->items[i], name, n) == 0 && env->items[i][n] == '=')
            return env->items[i] + n + 1;
    return NULL;
}

TEST(wagi_cgi, argv_expands_script_name_and_query_pairs)
{
    struct wagi_strings argv;
    ASSERT_OK(wagi_argv(NULL, "/hello/x%20y?a=1&flag&b=two+words&c=%2F&empty=", &argv, NULL));
    ASSERT_EQ_UINT(argv.count, 9);
    ASSERT_EQ_STR(argv.items[0], "/hello/x%20y"); /* the path as requested */
    ASSERT_EQ_STR(argv.items[1], "a");
    ASSERT_EQ_STR(argv.items[2], "1");
    ASSERT_EQ_STR(argv.items[3], "flag");
    ASSERT_EQ_STR(argv.items[4], "b");
    ASSERT_EQ_STR(argv.items[5], "two words");
    ASSERT_EQ_STR(argv.items[6], "c");
    ASSERT_EQ_STR(argv.items[7], "/");
    ASSERT_EQ_STR(argv.items[8], "empty"); /* an empty value adds no word */
    ASSERT_NULL(argv.items[9]);
    wagi_strings_free(&argv);

    ASSERT_OK(wagi_argv("tool --from=${SCRIPT_NAME} ${ARGS} end", "/p", &argv, NULL));
    ASSERT_EQ_UINT(argv.count, 3);
    ASSERT_EQ_STR(argv.items[0], "tool");
    ASSERT_EQ_STR(argv.items[1], "--from=/p");
    ASSERT_EQ_STR(argv.items[2], "end");
    wagi_strings_free(&argv);
}

TEST(wagi_cgi, environment_has_cgi_and_spin_variables)
{
    const struct http_header_pair headers[] = {
        {"Host", "example.test:3000"}, {"Content-Type", "text/plain"}, {"X-Multi", "one"},
        {"Authorization", "secret"},   {"Connection", "keep-alive"},   {"x-multi", "two"},
        {"User-Agent", "curl/8"},
    };
    const struct http_header_pair matches[] = {{"userid", "42"}};
    struct wagi_request req = {
        .method = "POST",
        .path_and_query = "/users/42/a%20b?x=1",
        .scheme = "http",
        .protocol = "HTTP/1.1",
        .client_addr = "127.0.0.1:51234",
        .content_length = 5,
        .headers = headers,
        .nheaders = sizeof headers / sizeof headers[0],
        .matched_route = "/users/:userid/...",
        .raw_component_route = "/users/:userid/...",
        .component_route = "/users/:userid",
        .base_path = "/",
        .path_info = "/a%20b",
        .path_matches = matches,
        .npath_matches = 1,
    };
    const char *extra[] = {"GREETING=hi", "SERVER_SOFTWARE=mine"};
    struct wagi_strings env;
    ASSERT_OK(wagi_env(&req, extra, 2, &env, NULL));
    static const char *const expect[][2] = {
        {"GREETING", "hi"},
        {"SERVER_SOFTWARE", "mine"}, /* the manifest's value is kept */
        {"AUTH_TYPE", ""},
        {"CONTENT_LENGTH", "5"},
        {"CONTENT_TYPE", "text/plain"},
        {"GATEWAY_INTERFACE", "CGI/1.1"},
        {"QUERY_STRING", "x=1"},
        {"REMOTE_ADDR", "127.0.0.1"},
        {"REMOTE_HOST", "127.0.0.1"},
        {"REQUEST_METHOD", "POST"},
        {"SCRIPT_NAME", "/users/:userid"},
        {"PATH_INFO", "/a%20b"},
        {"X_RAW_PATH_INFO", "/a%20b"},
        {"PATH_TRANSLATED", "/a b"},
        {"SERVER_NAME", "example.test"},
        {"SERVER_PORT", "3000"},
        {"SERVER_PROTOCOL", "HTTP/1.1"},
        {"X_FULL_URL", "http://example.test:3000/users/42/a%20b?x=1"},
        {"X_MATCHED_ROUTE", "/users/:userid/..."},
        {"X_BASE_PATH", "/"},
        {"X_RAW_COMPONENT_ROUTE", "/users/:userid/..."},
        {"X_COMPONENT_ROUTE", "/users/:userid"},
        {"X_CLIENT_ADDR", "127.0.0.1:51234"},
        {"X_PATH_MATCH_USERID", "42"},
        {"HTTP_HOST", "example.test:3000"},
        {"HTTP_CONTENT_TYPE", "text/plain"},
        {"HTTP_X_MULTI", "one, two"},
        {"HTTP_USER_AGENT", "curl/8"},
    };
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        const char *got = find_env(&env, expect[i][0]);
        if (got == NULL)
            fprintf(stderr, "missing %s\n", expect[i][0]);
        ASSERT_NOT_NULL(got);
        ASSERT_EQ_STR(got, expect[i][1]);
    }
    ASSERT_NULL(find_env(&env, "HTTP_AUTHORIZATION"));
    ASSERT_NULL(find_env(&env, "HTTP_CONNECTION"));
    ASSERT_EQ_UINT(env.count, sizeof expect / sizeof expect[0] + 1); /* + REMOTE_USER */
    ASSERT_NULL(env.items[env.count]);
    wagi_strings_free(&env);
}

TEST(wagi_cgi, environment_without_host_and_with_ipv6_client)
{
    struct wagi_request req = {
        .method = "GET",
        .path_and_query = "/",
        .scheme = "https",
        .protocol = "HTTP/2.0",
        .client_addr = "[::1]:4000",
        .matched_route = "/...",
        .raw_component_route = "/...",
        .component_route = "",
        .base_path = "/",
        .path_info = "/",
    };
    struct wagi_strings env;
    ASSERT_OK(wagi_env(&req, NULL, 0, &env, NULL));
    ASSERT_EQ_STR(find_env(&env, "REMOTE_ADDR"), "::1");
    ASSERT_EQ_STR(find_env(&env, "SERVER_NAME"), "localhost");
    ASSERT_EQ_STR(find_env(&env, "SERVER_PORT"), "443");
    ASSERT_EQ_STR(find_env(&env, "X_FULL_URL"), "https://localhost/");
    ASSERT_EQ_STR(find_env(&env, "CONTENT_LENGTH"), "0");
    ASSERT_EQ_STR(find_env(&env, "QUERY_STRING"), "");
    wagi_strings_free(&env);
}

/* The environment is written into one block sized before it is built:
 * a request using every part at its largest (100 fields of one name, all
 * joined into one variable, long values everywhere, the manifest setting
 * a header's variable, captures with long names) is complete and exact. */
TEST(wagi_cgi, environment_of_a_large_request_is_complete)
{
    enum { N = 100, V = 200 };
    static char values[N][V + 1];
    static struct http_header_pair headers[N + 2];
    for (size_t i = 0; i < N; i++) {
        memset(values[i], 'a' + (int)(i % 26), V);
        values[i][V] = '\0';
        headers[i] = (struct http_header_pair){i % 2 ? "X-Rep" : "x-rep", values[i]};
    }
    headers[N] = (struct http_header_pair){"Host", values[1]};
    headers[N + 1] = (struct http_header_pair){"X-Set", "from the request"};
    char long_name[400];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    const struct http_header_pair matches[] = {{long_name, values[2]}, {"id", "7"}};
    char target[2 * V + 8];
    snprintf(target, sizeof target, "/%s?%s", values[3], values[4]);
    struct wagi_request req = {
        .method = "PATCH",
        .path_and_query = target,
        .scheme = "https",
        .protocol = "HTTP/2.0",
        .client_addr = "[2001:db8::1]:65535",
        .content_length = UINT64_MAX,
        .headers = headers,
        .nheaders = N + 2,
        .matched_route = "/...",
        .raw_component_route = "/...",
        .component_route = "",
        .base_path = "/",
        .path_info = values[3],
        .path_matches = matches,
        .npath_matches = 2,
    };
    const char *extra[] = {"HTTP_X_SET=from the manifest", "A=1"};
    struct wagi_strings env;
    ASSERT_OK(wagi_env(&req, extra, 2, &env, NULL));
    /* HTTP_X_REP: the N values joined with ", ". */
    const char *rep = find_env(&env, "HTTP_X_REP");
    ASSERT_NOT_NULL(rep);
    ASSERT_EQ_UINT(strlen(rep), N * V + (N - 1) * 2);
    for (size_t i = 0; i < N; i++)
        ASSERT_EQ_INT(memcmp(rep + i * (V + 2), values[i], V), 0);
    ASSERT_EQ_STR(find_env(&env, "HTTP_X_SET"), "from the manifest");
    ASSERT_EQ_STR(find_env(&env, "CONTENT_LENGTH"), "18446744073709551615");
    ASSERT_EQ_STR(find_env(&env, "SERVER_NAME"), values[1]);
    ASSERT_EQ_STR(find_env(&env, "SERVER_PORT"), "443");
    ASSERT_EQ_STR(find_env(&env, "QUERY_STRING"), values[4]);
    ASSERT_EQ_STR(find_env(&env, "PATH_TRANSLATED"), values[3]);
    ASSERT_EQ_STR(find_env(&env, "REMOTE_ADDR"), "2001:db8::1");
    ASSERT_EQ_STR(find_env(&env, "X_PATH_MATCH_ID"), "7");
    char want_url[3 * V + 16];
    snprintf(want_url, sizeof want_url, "https://%s%s", values[1], target);
    ASSERT_EQ_STR(find_env(&env, "X_FULL_URL"), want_url);
    /* The long capture name is cut (at 299 bytes), its value whole. */
    size_t found = 0;
    for (size_t i = 0; i < env.count; i++)
        if (strncmp(env.items[i], "X_PATH_MATCH_NNN", 16) == 0) {
            ASSERT_EQ_UINT((size_t)(strchr(env.items[i], '=') - env.items[i]), 299);
            ASSERT_EQ_STR(strchr(env.items[i], '=') + 1, values[2]);
            found++;
        }
    ASSERT_EQ_UINT(found, 1);
    /* extras 2 + 23 fixed + 2 captures + HTTP_X_REP, HTTP_HOST (X-Set is the manifest's) */
    ASSERT_EQ_UINT(env.count, 2 + 23 + 2 + 2);
    ASSERT_NULL(env.items[env.count]);
    wagi_strings_free(&env);
}

static int parse(const char *text, struct wagi_response *r, struct spry_report *report)
{
    spry_report_init(report);
    return wagi_parse_response((const uint8_t *)text, strlen(text), r, report);
}

/* Regression (fuzz_wagi, after the environment was rebuilt in one buffer):
 * "%00" in the path decodes to a NUL in PATH_TRANSLATED, which split the
 * NAME=value list one string too many, so an item had no '='. A value now
 * ends at its first NUL, as it did when values were printed with %s. */
TEST(wagi_cgi, nul_decoded_in_path_translated_ends_the_value)
{
    struct wagi_request req = {
        .method = "GET",
        .path_and_query = "/a%00b?q",
        .scheme = "http",
        .protocol = "HTTP/1.1",
        .client_addr = "127.0.0.1:1",
        .matched_route = "/...",
        .raw_component_route = "/...",
        .component_route = "",
        .base_path = "/",
        .path_info = "/a%00b",
    };
    struct wagi_strings env;
    ASSERT_OK(wagi_env(&req, NULL, 0, &env, NULL));
    for (size_t i = 0; i < env.count; i++)
        ASSERT_NOT_NULL(strchr(env.items[i], '='));
    ASSERT_NULL(env.items[env.count]);
    ASSERT_EQ_STR(find_env(&env, "PATH_TRANSLATED"), "/a");
    ASSERT_EQ_STR(find_env(&env, "PATH_INFO"), "/a%00b");
    ASSERT_EQ_STR(find_env(&env, "SERVER_SOFTWARE"), "WAGI/1"); /* the next one is intact */
    wagi_strings_free(&env);
}

TEST(wagi_cgi, response_headers_status_and_body)
{
    struct wagi_response r;
    struct spry_report report;
    ASSERT_OK(
        parse("Content-Type: text/plain\r\nX-Thing:  a b \r\n\r\nhello\n\nworld", &r, &report));
    ASSERT_EQ_INT(r.status, 200);
    ASSERT_EQ_UINT(r.nheaders, 2);
    ASSERT_EQ_STR(r.headers[0].name, "content-type");
    ASSERT_EQ_STR(r.headers[0].value, "text/plain");
    ASSERT_EQ_STR(r.headers[1].name, "x-thing");
    ASSERT_EQ_STR(r.headers[1].value, "a b");
    ASSERT_EQ_UINT(r.body_len, 12);
    ASSERT_EQ_MEM(r.body, "hello\n\nworld", 12);
    wagi_response_free(&r);

    ASSERT_OK(parse("status: 404 Not Found\ncontent-type: text/html\n\n", &r, &report));
    ASSERT_EQ_INT(r.status, 404);
    ASSERT_EQ_UINT(r.nheaders, 1);
    ASSERT_EQ_UINT(r.body_len, 0);
    wagi_response_free(&r);

    ASSERT_OK(parse("Location: /elsewhere\n\n", &r, &report));
    ASSERT_EQ_INT(r.status, 302);
    ASSERT_EQ_STR(r.headers[0].value, "/elsewhere");
    wagi_response_free(&r);

    ASSERT_OK(parse("Status: 301\nLocation: /moved\n\n", &r, &report));
    ASSERT_EQ_INT(r.status, 301);
    wagi_response_free(&r);

    ASSERT_OK(parse("Status: 204\n\n", &r, &report)); /* status alone is enough, as in Spin */
    ASSERT_EQ_INT(r.status, 204);
    wagi_response_free(&r);
}

TEST(wagi_cgi, malformed_responses_say_why)
{
    struct wagi_response r;
    struct spry_report report;
    spry_report_init(&report);
    ASSERT_EQ_INT(wagi_parse_response((const uint8_t *)"", 0, &r, &report), SPRY_EMALFORMED);
    ASSERT_TRUE(strstr(report.message, "wrote nothing to stdout") != NULL);
    ASSERT_EQ_INT(parse("hello world", &r, &report), SPRY_EMALFORMED);
    ASSERT_EQ_STR(report.message, "the guest's output has no empty line ending its CGI headers");
    ASSERT_EQ_INT(parse("X-Only: 1\n\nbody", &r, &report), SPRY_EMALFORMED);
    ASSERT_EQ_STR(report.message,
                  "the guest's response has neither content-type, location nor status");
    ASSERT_EQ_INT(parse("no colon here\n\n", &r, &report), SPRY_EMALFORMED);
    ASSERT_EQ_STR(report.message,
                  "the guest's response has an invalid header line 'no colon here'");
    ASSERT_EQ_INT(parse("Status: abc\n\n", &r, &report), SPRY_EMALFORMED);
    ASSERT_EQ_STR(report.message, "the guest's response has an invalid status 'abc'");
    ASSERT_EQ_INT(parse("Bad Name: x\ncontent-type: a\n\n", &r, &report), SPRY_EMALFORMED);
    ASSERT_EQ_STR(report.message, "the guest's response has an invalid header name 'Bad Name'");
    ASSERT_EQ_INT(parse("content-type: a\x01z\n\n", &r, &report), SPRY_EMALFORMED);
}

/* Found by fuzz_wagi: NUL bytes in the header block split lines, and the
 * header array was sized by newlines. */
TEST(wagi_cgi, nul_in_response_headers_is_rejected_not_overflowed)
{
    static const uint8_t out[] = "a:1\0b:2\0c:3\0d:4\ncontent-type: x\n\nbody";
    struct wagi_response r;
    struct spry_report report;
    spry_report_init(&report);
    ASSERT_EQ_INT(wagi_parse_response(out, sizeof out - 1, &r, &report), SPRY_EMALFORMED);
    ASSERT_EQ_STR(report.message, "the guest's response headers contain a NUL byte");
}

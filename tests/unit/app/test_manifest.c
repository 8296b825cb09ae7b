/* spin.toml: version 2 and 1 into structures, one test per kind of mistake
 * with its exact message, allowed_outbound_hosts, files, and URL sources
 * fetched from a loopback HTTP server. */
#include "harness/test.h"

#include "app/manifest.h"
#include "base/alloc.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const unsigned char core_wasm[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};
static const unsigned char component_wasm[8] = {0, 'a', 's', 'm', 0x0d, 0, 1, 0};

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    mkdir(path, 0755);
    *slash = '/';
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ_UINT(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* A directory with spin.toml = text and the files the manifests use. */
static const char *app_dir(const char *text)
{
    const char *dir = test_tmpdir();
    write_file(dir, "spin.toml", text, strlen(text));
    write_file(dir, "hello.wasm", core_wasm, 8);
    write_file(dir, "comp.wasm", component_wasm, 8);
    write_file(dir, "notwasm.wasm", "hello world", 11);
    write_file(dir, "static/a.txt", "a", 1);
    write_file(dir, "static/b.txt", "b", 1);
    write_file(dir, "static/secret.key", "k", 1);
    char assets[1024];
    snprintf(assets, sizeof assets, "%s/assets", dir);
    mkdir(assets, 0755);
    return dir;
}

static struct manifest *load_ok(const char *text)
{
    const char *dir = app_dir(text);
    char path[1024];
    snprintf(path, sizeof path, "%s/spin.toml", dir);
    struct spry_report report;
    spry_report_init(&report);
    struct manifest *m = NULL;
    int rc = manifest_load(path, NULL, &m, &report);
    if (rc != 0)
        fprintf(stderr, "%s\n", report.message);
    ASSERT_OK(rc);
    return m;
}

/* The message, with the manifest's directory replaced by "DIR". */
static const char *load_error(const char *text)
{
    static char msg[1024];
    const char *dir = app_dir(text);
    char path[1024];
    snprintf(path, sizeof path, "%s/spin.toml", dir);
    struct spry_report report;
    spry_report_init(&report);
    struct manifest *m = NULL;
    int rc = manifest_load(path, NULL, &m, &report);
    ASSERT_NE_INT(rc, 0);
    ASSERT_NULL(m);
    const char *s = report.message;
    size_t o = 0, dlen = strlen(dir);
    while (*s != '\0' && o + 4 < sizeof msg) {
        if (strncmp(s, dir, dlen) == 0) {
            memcpy(msg + o, "DIR", 3);
            o += 3;
            s += dlen;
        } else {
            msg[o++] = *s++;
        }
    }
    msg[o] = '\0';
    return msg;
}

#define HEAD "spin_manifest_version = 2\n[application]\nname = \"app\"\n"

TEST(manifest, v2_full_manifest_fills_the_structures)
{
    struct manifest *m = load_ok(
        HEAD "version = \"1.2.3\"\ndescription = \"demo\"\nauthors = [\"A <a@x>\"]\n"
             "targets = [\"spin-up:3.2\"]\n"
             "[application.trigger.redis]\naddress = \"redis://localhost\"\n"
             "[variables]\napi_key = { required = true, secret = true }\n"
             "greeting = { default = \"hi\" }\n"
             "[[trigger.http]]\nroute = \"/hello/:name\"\ncomponent = \"hello\"\n"
             "[[trigger.http]]\nroute = \"/static/...\"\nexecutor = { type = \"wagi\" }\n"
             "component = { source = \"comp.wasm\" }\n"
             "[[trigger.http]]\nroute = { private = true }\ncomponent = \"hello\"\n"
             "[[trigger.http]]\nroute = \"/teapot\"\n"
             "static_response = { status_code = 418, headers = { x = \"y\" }, body = \"tea\" }\n"
             "[component.hello]\nsource = \"hello.wasm\"\ndescription = \"says hi\"\n"
             "files = [\"static/*\", { source = \"assets\", destination = \"/assets\" }]\n"
             "exclude_files = [\"static/*.key\"]\n"
             "allowed_outbound_hosts = [\"https://example.com\", \"redis://*:6379..6381\"]\n"
             "key_value_stores = [\"default\", \"user_data\"]\nsqlite_databases = [\"default\"]\n"
             "ai_models = [\"llama2-chat\"]\nenvironment = { LOG = \"1\" }\n"
             "variables = { key = \"{{ api_key }}\", msg = \"say {{greeting}}\" }\n"
             "dependencies = { \"a:b\" = \"1.0\", \"c:d/e\" = { path = \"dep.wasm\" } }\n"
             "[component.hello.build]\ncommand = \"make\"\nwatch = [\"src/*.c\"]\n");
    ASSERT_EQ_INT(m->version, 2);
    ASSERT_EQ_STR(m->name, "app");
    ASSERT_EQ_STR(m->app_version, "1.2.3");
    ASSERT_EQ_STR(m->description, "demo");
    ASSERT_EQ_UINT(m->n_authors, 1);
    ASSERT_EQ_STR(m->authors[0], "A <a@x>");
    ASSERT_EQ_STR(m->targets[0], "spin-up:3.2");
    ASSERT_EQ_UINT(m->n_trigger_settings, 1);
    ASSERT_EQ_STR(m->trigger_settings[0].type, "redis");
    ASSERT_EQ_UINT(m->n_variables, 2);
    ASSERT_TRUE(m->variables[0].required && m->variables[0].secret);
    ASSERT_NULL(m->variables[0].default_value);
    ASSERT_EQ_STR(m->variables[1].default_value, "hi");

    ASSERT_EQ_UINT(m->n_http_triggers, 4);
    const struct manifest_http_trigger *h = m->http_triggers;
    ASSERT_EQ_INT(h[0].route_kind, MANIFEST_ROUTE_EXACT);
    ASSERT_EQ_STR(h[0].route, "/hello/:name");
    ASSERT_EQ_STR(h[0].component->id, "hello");
    ASSERT_EQ_INT(h[0].executor, MANIFEST_EXECUTOR_SPIN);
    ASSERT_EQ_INT(h[1].route_kind, MANIFEST_ROUTE_WILDCARD);
    ASSERT_EQ_INT(h[1].executor, MANIFEST_EXECUTOR_WAGI);
    ASSERT_EQ_STR(h[1].wagi_argv, "${SCRIPT_NAME} ${ARGS}");
    ASSERT_EQ_STR(h[1].component->id, "inline-component-1");
    ASSERT_TRUE(h[1].component->source.is_component);
    ASSERT_EQ_INT(h[2].route_kind, MANIFEST_ROUTE_PRIVATE);
    ASSERT_NULL(h[2].route);
    ASSERT_TRUE(h[3].has_static_response);
    ASSERT_EQ_INT(h[3].static_response.status_code, 418);
    ASSERT_EQ_STR(h[3].static_response.headers[0].value, "y");
    ASSERT_EQ_STR(h[3].static_response.body, "tea");
    ASSERT_NULL(h[3].component);

    ASSERT_EQ_UINT(m->n_components, 2);
    const struct manifest_component *c = manifest_find_component(m, "hello");
    ASSERT_NOT_NULL(c);
    ASSERT_EQ_INT(c->source.kind, MANIFEST_SOURCE_PATH);
    ASSERT_FALSE(c->source.is_component);
    char want[1024];
    snprintf(want, sizeof want, "%s/hello.wasm", m->dir);
    ASSERT_EQ_STR(c->source.path, want);
    /* The glob static/ * less the excluded .key, then the directory mount. */
    ASSERT_EQ_UINT(c->n_files, 3);
    ASSERT_EQ_STR(c->files[0].guest_path, "/static/a.txt");
    ASSERT_EQ_STR(c->files[1].guest_path, "/static/b.txt");
    ASSERT_TRUE(c->files[2].is_dir);
    ASSERT_EQ_STR(c->files[2].guest_path, "/assets");
    ASSERT_EQ_UINT(c->n_outbound, 2);
    ASSERT_EQ_STR(c->outbound[0].host, "example.com");
    ASSERT_EQ_UINT(c->outbound[0].port_lo, 443);
    ASSERT_EQ_UINT(c->outbound[1].port_lo, 6379);
    ASSERT_EQ_UINT(c->outbound[1].port_hi, 6381);
    ASSERT_EQ_STR(c->key_value_stores[1], "user_data");
    ASSERT_EQ_STR(c->ai_models[0], "llama2-chat");
    ASSERT_EQ_STR(c->environment[0].key, "LOG");
    ASSERT_EQ_STR(c->variables[1].value, "say {{greeting}}");
    ASSERT_EQ_UINT(c->n_dependencies, 2);
    ASSERT_EQ_STR(c->dependencies[0].version, "1.0");
    ASSERT_EQ_STR(c->dependencies[1].path, "dep.wasm");
    ASSERT_TRUE(c->has_build);
    ASSERT_EQ_STR(c->build_command, "make");
    ASSERT_EQ_STR(c->build_watch[0], "src/*.c");
    manifest_destroy(m);
}

TEST(manifest, v1_is_converted_to_v2)
{
    struct manifest *m =
        load_ok("spin_manifest_version = \"1\"\nname = \"old\"\nversion = \"0.1.0\"\n"
                "trigger = { type = \"http\", base = \"/api\" }\n"
                "[variables]\ntoken = { default = \"t\" }\n"
                "[[component]]\nid = \"first\"\nsource = \"hello.wasm\"\n"
                "allowed_http_hosts = [\"example.com:8080\"]\nconfig = { tok = \"{{ token }}\" }\n"
                "[component.trigger]\nroute = \"/one\"\n"
                "[[component]]\nid = \"second\"\nsource = \"hello.wasm\"\n"
                "[component.trigger]\nroute = \"/two/...\"\nexecutor = { type = \"wagi\", argv = "
                "\"x\" }\n");
    ASSERT_EQ_INT(m->version, 1);
    ASSERT_EQ_STR(m->name, "old");
    ASSERT_EQ_STR(m->app_version, "0.1.0");
    ASSERT_EQ_UINT(m->n_components, 2);
    ASSERT_EQ_UINT(m->n_http_triggers, 2);
    ASSERT_EQ_STR(m->http_triggers[0].route, "/api/one");
    ASSERT_EQ_STR(m->http_triggers[0].component->id, "first");
    ASSERT_EQ_STR(m->http_triggers[1].route, "/api/two/...");
    ASSERT_EQ_INT(m->http_triggers[1].route_kind, MANIFEST_ROUTE_WILDCARD);
    ASSERT_EQ_INT(m->http_triggers[1].executor, MANIFEST_EXECUTOR_WAGI);
    ASSERT_EQ_STR(m->http_triggers[1].wagi_argv, "x");
    const struct manifest_component *c = m->components[0];
    ASSERT_EQ_STR(c->variables[0].key, "tok");
    /* allowed_http_hosts without a scheme allow http and https. */
    ASSERT_EQ_UINT(c->n_outbound, 2);
    ASSERT_EQ_STR(c->outbound[0].scheme, "http");
    ASSERT_EQ_STR(c->outbound[1].scheme, "https");
    ASSERT_EQ_UINT(c->outbound[1].port_lo, 8080);
    manifest_destroy(m);
}

#define TRIG "[[trigger.http]]\nroute = \"/\"\ncomponent = \"hello\"\n"
#define COMP "[component.hello]\nsource = \"hello.wasm\"\n"

TEST(manifest, mistakes_are_reported_with_file_line_key_and_expectation)
{
    ASSERT_EQ_STR(load_error("spin_manifest_version = 2\n[application]\n" TRIG COMP),
                  "DIR/spin.toml:2:2: application.name: missing; expected a string");
    ASSERT_EQ_STR(load_error(HEAD TRIG "[component.Hello_World]\nsource = \"hello.wasm\"\n"),
                  "DIR/spin.toml:7:12: component.Hello_World: invalid component id; expected "
                  "kebab-case (words of letters and digits, each starting with a letter, joined "
                  "by '-')");
    ASSERT_EQ_STR(load_error(HEAD "[variables]\nMyVar = { default = \"x\" }\n" TRIG COMP),
                  "DIR/spin.toml:5:1: variables.MyVar: invalid variable name; expected "
                  "lower_snake_case (words of a-z and 0-9, each starting with a letter, joined "
                  "by '_')");
    ASSERT_EQ_STR(
        load_error(HEAD "[variables]\nv = { default = \"x\", required = true }\n" TRIG COMP),
        "DIR/spin.toml:5:5: variables.v: a required variable cannot have a default; "
        "expected one of `default = \"...\"` or `required = true`");
    ASSERT_EQ_STR(
        load_error(HEAD "[[trigger.http]]\nroute = \"hello\"\ncomponent = \"hello\"\n" COMP),
        "DIR/spin.toml:5:9: trigger.http[0].route: route \"hello\" must start with '/'");
    ASSERT_EQ_STR(
        load_error(HEAD "[[trigger.http]]\nroute = \"/a/.../b\"\ncomponent = \"hello\"\n" COMP),
        "DIR/spin.toml:5:9: trigger.http[0].route: route \"/a/.../b\": '...' must be the last "
        "segment");
    ASSERT_EQ_STR(load_error(HEAD "[[trigger.http]]\nroute = \"/\"\ncomponent = \"nope\"\n" COMP),
                  "DIR/spin.toml:6:13: trigger.http[0].component: no component \"nope\"; expected "
                  "the id of a [component.<id>] table");
    ASSERT_EQ_STR(load_error(HEAD TRIG COMP "allowed_outbound_hosts = [\"example.com\"]\n"),
                  "DIR/spin.toml:9:27: component.hello.allowed_outbound_hosts[0]: \"example.com\": "
                  "expected scheme://host[:port]; the scheme is required (e.g. "
                  "\"https://example.com\")");
    ASSERT_EQ_STR(
        load_error(HEAD TRIG COMP "allowed_outbound_hosts = [\"https://a.com:90..80\"]\n"),
        "DIR/spin.toml:9:27: component.hello.allowed_outbound_hosts[0]: "
        "\"https://a.com:90..80\": invalid port range; expected A..B with A < B <= "
        "65535 (B excluded)");
    ASSERT_EQ_STR(load_error(HEAD TRIG COMP "sauce = 1\n"),
                  "DIR/spin.toml:9:1: component.hello.sauce: unknown key; expected one of: "
                  "source, description, variables, environment, files, exclude_files, "
                  "allowed_http_hosts, allowed_outbound_hosts, key_value_stores, sqlite_databases, "
                  "ai_models, build, tool, dependencies_inherit_configuration, dependencies");
    ASSERT_EQ_STR(load_error(HEAD TRIG "[component.hello]\nsource = \"missing.wasm\"\n"),
                  "DIR/spin.toml:8:10: component.hello.source: cannot open "
                  "\"DIR/missing.wasm\" (No such file or directory); expected a WebAssembly file");
    ASSERT_EQ_STR(load_error(HEAD TRIG "[component.hello]\nsource = \"notwasm.wasm\"\n"),
                  "DIR/spin.toml:8:10: component.hello.source: \"DIR/notwasm.wasm\" is not "
                  "WebAssembly; expected a core module (\\0asm version 1) or a component (\\0asm "
                  "version 0x0d layer 1)");
    ASSERT_EQ_STR(load_error(HEAD TRIG COMP "variables = { a = \"{{ nope }}\" }\n"),
                  "DIR/spin.toml:9:19: component.hello.variables.a: \"{{ nope }}\" refers to "
                  "variable 'nope', which is not declared; expected a name from [variables]");
    ASSERT_EQ_STR(load_error(HEAD "[[trigger.http]]\nroute = \"/\"\ncomponent = \"hello\"\n"
                                  "executor = { type = \"cgi\" }\n" COMP),
                  "DIR/spin.toml:7:21: trigger.http[0].executor.type: unknown executor \"cgi\"; "
                  "expected \"spin\" or \"wagi\"");
    ASSERT_EQ_STR(load_error(HEAD TRIG "static_response = { body = \"x\" }\n" COMP),
                  "DIR/spin.toml:7:19: trigger.http[0].static_response: a trigger has either "
                  "`component` or `static_response`, not both");
    ASSERT_EQ_STR(load_error(HEAD TRIG COMP "key_value_stores = [\"my store\"]\n"),
                  "DIR/spin.toml:9:21: component.hello.key_value_stores[0]: invalid label \"my "
                  "store\"; expected kebab-case or snake_case");
    ASSERT_EQ_STR(load_error("spin_manifest_version = 3\n"),
                  "DIR/spin.toml:1:25: spin_manifest_version: unsupported version; expected 2 (or "
                  "\"1\", converted on load)");
    /* TOML errors keep the parser's FILE:LINE:COL form. */
    ASSERT_EQ_STR(load_error(HEAD "name = \"again\"\n"),
                  "DIR/spin.toml:4:1: key 'name' is defined twice");
}

/* The kinds of mistake the test above does not make, each with its message. */
TEST(manifest, missing_file_syntax_errors_and_missing_or_unknown_keys_say_where)
{
    /* No manifest at all. */
    char path[1024];
    snprintf(path, sizeof path, "%s/none/spin.toml", test_tmpdir());
    struct spry_report report;
    spry_report_init(&report);
    struct manifest *m = NULL;
    ASSERT_NE_INT(manifest_load(path, NULL, &m, &report), 0);
    ASSERT_NULL(m);
    ASSERT_TRUE(strstr(report.message, "none/spin.toml: cannot open the manifest: No such file") !=
                NULL);
    /* TOML syntax: the parser's line and column. */
    ASSERT_EQ_STR(load_error(HEAD TRIG COMP "x = \"unterminated\n"),
                  "DIR/spin.toml:9:18: newline in a single-line string");
    ASSERT_EQ_STR(load_error(HEAD "[[trigger.http]\n"),
                  "DIR/spin.toml:4:15: expected ']]' to close the array-of-tables header");
    /* Missing keys. */
    ASSERT_EQ_STR(load_error(HEAD "[[trigger.http]]\ncomponent = \"hello\"\n" COMP),
                  "DIR/spin.toml:4:11: trigger.http[0].route: missing; expected a route such as "
                  "\"/...\" or { private = true }");
    ASSERT_EQ_STR(load_error(HEAD TRIG "[component.hello]\ndescription = \"no source\"\n"),
                  "DIR/spin.toml:7:12: component.hello.source: missing; expected a path to a .wasm "
                  "file or { url, digest }");
    /* Unknown keys, in a trigger and at the top. */
    ASSERT_EQ_STR(load_error(HEAD TRIG "rout = \"/x\"\n" COMP),
                  "DIR/spin.toml:7:1: trigger.http[0].rout: unknown key; expected one of: id, "
                  "route, component, executor, static_response");
    ASSERT_EQ_STR(load_error(HEAD TRIG COMP "[wat]\na = 1\n"),
                  "DIR/spin.toml:9:2: wat: unknown key; expected one of: spin_manifest_version, "
                  "application, variables, trigger, component");
    /* A value of the wrong type. */
    ASSERT_EQ_STR(load_error(HEAD TRIG COMP "files = \"x\"\n"),
                  "DIR/spin.toml:9:9: component.hello.files: expected an array of globs and { "
                  "source, destination }");
}

TEST(manifest, outbound_hosts_syntax)
{
    struct manifest *m =
        load_ok(HEAD "[variables]\nhost = { default = \"h\" }\n" TRIG COMP
                     "allowed_outbound_hosts = [\"*://*:*\", \"https://*.example.com\", "
                     "\"http://self\", \"mysql://[::1]:3306\", \"https://{{ host }}:8000..8010\", "
                     "\"http://localhost:*\"]\n");
    const struct manifest_component *c = m->components[0];
    ASSERT_EQ_UINT(c->n_outbound, 6);
    ASSERT_EQ_STR(c->outbound[0].scheme, "*");
    ASSERT_EQ_STR(c->outbound[0].host, "*");
    ASSERT_TRUE(c->outbound[0].any_port);
    ASSERT_EQ_STR(c->outbound[1].host, "*.example.com");
    ASSERT_EQ_STR(c->outbound[2].host, "self");
    ASSERT_EQ_UINT(c->outbound[2].port_lo, 80);
    ASSERT_EQ_STR(c->outbound[3].host, "[::1]");
    ASSERT_EQ_UINT(c->outbound[3].port_lo, 3306);
    ASSERT_TRUE(c->outbound[4].templated);
    ASSERT_EQ_UINT(c->outbound[4].port_lo, 8000);
    ASSERT_EQ_UINT(c->outbound[4].port_hi, 8010);
    ASSERT_TRUE(c->outbound[5].any_port);
    manifest_destroy(m);
    ASSERT_EQ_STR(load_error(HEAD TRIG COMP "allowed_outbound_hosts = [\"foo://x.com\"]\n"),
                  "DIR/spin.toml:9:27: component.hello.allowed_outbound_hosts[0]: \"foo://x.com\": "
                  "expected a port (\":N\", \":A..B\" or \":*\"); scheme \"foo\" has no default "
                  "port");
    ASSERT_EQ_STR(load_error(HEAD TRIG COMP "allowed_outbound_hosts = [\"https://a.com/path\"]\n"),
                  "DIR/spin.toml:9:27: component.hello.allowed_outbound_hosts[0]: "
                  "\"https://a.com/path\": expected no path, query or fragment after the host");
    ASSERT_EQ_STR(load_error(HEAD TRIG COMP "allowed_outbound_hosts = [\"https://a.*.com\"]\n"),
                  "DIR/spin.toml:9:27: component.hello.allowed_outbound_hosts[0]: "
                  "\"https://a.*.com\": invalid host; expected \"*\", \"*.domain\", \"self\", or a "
                  "host name or address");
}

/* Regression (found by fuzz_manifest): a lone '{' in the port or host was
 * taken for a {{ template }} and skipped the checks, so "x.com:8{0" was
 * accepted with the empty port range [0, 0). Only "{{" is a template. */
TEST(manifest, outbound_host_with_a_lone_brace_is_not_a_template)
{
    ASSERT_EQ_STR(load_error(HEAD TRIG COMP "allowed_outbound_hosts = [\"https://a.com:8{0\"]\n"),
                  "DIR/spin.toml:9:27: component.hello.allowed_outbound_hosts[0]: "
                  "\"https://a.com:8{0\": invalid port; expected a number from 0 to 65535, A..B "
                  "or *");
    ASSERT_EQ_STR(load_error(HEAD TRIG COMP "allowed_outbound_hosts = [\"https://a{b.com\"]\n"),
                  "DIR/spin.toml:9:27: component.hello.allowed_outbound_hosts[0]: "
                  "\"https://a{b.com\": invalid host; expected \"*\", \"*.domain\", \"self\", "
                  "or a host name or address");
    /* The fuzzer's input: version 1's allowed_http_hosts, converted. */
    const char *v1 = load_error("spin_manifest_version = \"1\"\nname = \"old\"\n"
                                "trigger = { type = \"http\" }\n[[component]]\nid = \"hello\"\n"
                                "source = \"hello.wasm\"\n"
                                "allowed_http_hosts = [\"insecure:allo{-all\"]\n"
                                "[component.trigger]\nroute = \"/\"\n");
    ASSERT_TRUE(strstr(v1, "allowed_http_hosts") != NULL);
    ASSERT_TRUE(strstr(v1, "invalid port") != NULL);
    /* A real template still passes, and is marked for the later check. */
    struct manifest *m = load_ok(HEAD "[variables]\np = { default = \"80\" }\n" TRIG COMP
                                      "allowed_outbound_hosts = [\"https://a.com:{{ p }}\"]\n");
    ASSERT_TRUE(m->components[0]->outbound[0].templated);
    manifest_destroy(m);
}

/* Regression (found by fuzz_manifest): version 1's trigger.base was not
 * checked, so base = "-base" gave the route "-base/hello", which no
 * request can reach. */
TEST(manifest, v1_base_must_start_with_a_slash)
{
    ASSERT_EQ_STR(load_error("spin_manifest_version = \"1\"\nname = \"old\"\n"
                             "trigger = { type = \"http\", base = \"-base\" }\n[[component]]\n"
                             "id = \"hello\"\nsource = \"hello.wasm\"\n[component.trigger]\n"
                             "route = \"/hello\"\n"),
                  "DIR/spin.toml:3:35: trigger.base: base \"-base\" must start with '/'");
}

/* ---- URL sources from a loopback server ---- */

struct server {
    pid_t pid;
    int port;
};

/* python3 -m http.server on 127.0.0.1, an ephemeral port, serving dir. */
static struct server start_server(const char *dir)
{
    int fds[2];
    ASSERT_EQ_INT(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE_INT(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        FILE *null = fopen("/dev/null", "w");
        if (null != NULL)
            dup2(fileno(null), 2); /* the request log */
        if (chdir(dir) != 0)
            _exit(127);
        execlp("python3", "python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
               (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *out = fdopen(fds[0], "r");
    char line[256] = "";
    int port = 0;
    if (fgets(line, sizeof line, out) != NULL) {
        const char *p = strstr(line, " port ");
        if (p != NULL)
            port = atoi(p + 6);
    }
    fclose(out);
    if (port == 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        test_skip("python3 -m http.server did not start (%s)", line);
    }
    struct server s = {pid, port};
    return s;
}

static void stop_server(struct server s)
{
    kill(s.pid, SIGTERM);
    waitpid(s.pid, NULL, 0);
}

/* The digest as sha256sum computes it (not the code under test). */
static void sha256sum(const char *path, char out[72])
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    FILE *p = popen(cmd, "r");
    ASSERT_NOT_NULL(p);
    char hexd[65] = "";
    ASSERT_EQ_INT(fscanf(p, "%64s", hexd), 1);
    pclose(p);
    snprintf(out, 72, "sha256:%s", hexd);
}

TEST(manifest, url_source_is_downloaded_once_and_verified)
{
    const char *dir = app_dir("");
    char served[1024], cache[1100], wasm[1100], path[1100], digest[72];
    snprintf(served, sizeof served, "%s/served", dir);
    mkdir(served, 0755);
    unsigned char module[16] = {0, 'a', 's', 'm', 1, 0, 0, 0, 0, 4, 'n', 'a', 'm', 'e', 0, 0};
    write_file(served, "remote.wasm", module, sizeof module);
    snprintf(wasm, sizeof wasm, "%s/remote.wasm", served);
    sha256sum(wasm, digest);
    snprintf(cache, sizeof cache, "%s/cache", dir);
    struct server s = start_server(served);

    char text[2048];
    snprintf(text, sizeof text,
             HEAD TRIG "[component.hello]\nsource = { url = \"http://127.0.0.1:%d/remote.wasm\", "
                       "digest = \"%s\" }\n",
             s.port, digest);
    write_file(dir, "spin.toml", text, strlen(text));
    snprintf(path, sizeof path, "%s/spin.toml", dir);
    struct manifest_options opts = {.cache_dir = cache};
    struct spry_report report;
    spry_report_init(&report);
    struct manifest *m = NULL;
    int rc = manifest_load(path, &opts, &m, &report);
    if (rc != 0)
        fprintf(stderr, "%s\n", report.message);
    ASSERT_OK(rc);
    const struct manifest_source *src = &m->components[0]->source;
    ASSERT_EQ_INT(src->kind, MANIFEST_SOURCE_URL);
    char want[1300];
    snprintf(want, sizeof want, "%s/sha256-%s", cache, digest + 7);
    ASSERT_EQ_STR(src->path, want);
    manifest_destroy(m);

    /* Cached: loads with the server gone. */
    stop_server(s);
    spry_report_init(&report);
    ASSERT_OK(manifest_load(path, &opts, &m, &report));
    manifest_destroy(m);

    /* A digest that does not match is rejected and nothing is cached. */
    s = start_server(served);
    const char *wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    snprintf(text, sizeof text,
             HEAD TRIG "[component.hello]\nsource = { url = \"http://127.0.0.1:%d/remote.wasm\", "
                       "digest = \"%s\" }\n",
             s.port, wrong);
    write_file(dir, "spin.toml", text, strlen(text));
    spry_report_init(&report);
    m = NULL;
    rc = manifest_load(path, &opts, &m, &report);
    stop_server(s);
    ASSERT_EQ_INT(rc, SPRY_EINVALID);
    char expect[2048];
    snprintf(expect, sizeof expect,
             "%s:8:10: component.hello.source: the download of http://127.0.0.1:%d/remote.wasm "
             "has digest %s; expected %s",
             path, s.port, digest, wrong);
    ASSERT_EQ_STR(report.message, expect);
    snprintf(want, sizeof want, "%s/sha256-%s", cache, wrong + 7);
    ASSERT_TRUE(access(want, F_OK) != 0);
}

TEST(manifest, allocation_failure_reports_nomem)
{
    const char *dir = app_dir(HEAD TRIG COMP "files = [\"static/*\"]\n");
    char path[1024];
    snprintf(path, sizeof path, "%s/spin.toml", dir);
    long n = 0;
    for (;; n++) {
        struct spry_report report;
        spry_report_init(&report);
        struct manifest *m = NULL;
        spry_alloc_fail_after(n);
        int rc = manifest_load(path, NULL, &m, &report);
        spry_alloc_fail_after(-1);
        if (rc == 0) {
            ASSERT_EQ_UINT(m->components[0]->n_files, 3);
            manifest_destroy(m);
            break;
        }
        ASSERT_EQ_INT(rc, SPRY_ENOMEM);
        ASSERT_NULL(m);
    }
    ASSERT_GT_INT(n, 1);
}

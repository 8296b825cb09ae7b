/*
 * wasi:cli (arguments, environment, exit codes, terminals), wasi:clocks,
 * wasi:random and wasi:sockets (everything denied) through the host
 * functions.
 */
#include "harness/test.h"
#include "base/alloc.h"
#include "unit/component/wasip2_fixture.h"
#include "wasm/runtime.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool str_is(const struct cval *v, const char *s)
{
    return v->kind == CT_STRING && v->of.str.len == strlen(s) &&
           memcmp(v->of.str.ptr, s, v->of.str.len) == 0;
}

TEST(wasip2_cli, arguments_and_environment_are_the_configured_ones)
{
    static const char *const args[] = {"app.wasm", "--flag", "two words"};
    static const char *const env[] = {"A=1", "B=x=y", "EMPTY=", "NOEQ"};
    struct p2t t;
    struct p2t_options o = {.args = args, .nargs = 3, .env = env, .nenv = 4};
    p2t_setup(&t, &o);
    struct cval r;
    ASSERT_OK(P2CALL0(&t, "wasi:cli/environment", "get-arguments", &r));
    ASSERT_EQ_UINT(r.of.list.n, 3);
    ASSERT_TRUE(str_is(&r.of.list.v[0], "app.wasm"));
    ASSERT_TRUE(str_is(&r.of.list.v[2], "two words"));
    ASSERT_OK(P2CALL0(&t, "wasi:cli/environment", "get-environment", &r));
    ASSERT_EQ_UINT(r.of.list.n, 4);
    const struct cval *kv = r.of.list.v;
    ASSERT_TRUE(str_is(&kv[0].of.list.v[0], "A") && str_is(&kv[0].of.list.v[1], "1"));
    ASSERT_TRUE(str_is(&kv[1].of.list.v[0], "B") && str_is(&kv[1].of.list.v[1], "x=y"));
    ASSERT_TRUE(str_is(&kv[2].of.list.v[0], "EMPTY") && str_is(&kv[2].of.list.v[1], ""));
    ASSERT_TRUE(str_is(&kv[3].of.list.v[0], "NOEQ") && str_is(&kv[3].of.list.v[1], ""));
    ASSERT_OK(P2CALL0(&t, "wasi:cli/environment", "initial-cwd", &r));
    ASSERT_EQ_UINT(r.of.var.disc, 0);
    p2t_teardown(&t);

    /* Nothing is inherited. */
    p2t_setup(&t, NULL);
    ASSERT_OK(P2CALL0(&t, "wasi:cli/environment", "get-environment", &r));
    ASSERT_EQ_UINT(r.of.list.n, 0);
    p2t_teardown(&t);
}

TEST(wasip2_cli, exit_ends_the_guest_with_its_status)
{
    struct p2t t;
    p2t_setup(&t, NULL);
    struct cval r;
    ASSERT_EQ_INT(P2CALL(&t, "wasi:cli/exit", "exit", &r, cv_status(true)), SPRY_EEXIT);
    ASSERT_EQ_INT(t.store->trap.kind, SPRY_TRAP_EXIT);
    ASSERT_EQ_INT(t.store->trap.exit_code, 0);
    memset(&t.store->trap, 0, sizeof t.store->trap);
    ASSERT_EQ_INT(P2CALL(&t, "wasi:cli/exit", "exit", &r, cv_status(false)), SPRY_EEXIT);
    ASSERT_EQ_INT(t.store->trap.exit_code, 1);
    memset(&t.store->trap, 0, sizeof t.store->trap);
    ASSERT_EQ_INT(P2CALL(&t, "wasi:cli/exit", "exit-with-code", &r, cv_u8(42)), SPRY_EEXIT);
    ASSERT_EQ_INT(t.store->trap.exit_code, 42);
    p2t_teardown(&t);
}

TEST(wasip2_cli, terminals_exist_only_for_terminals)
{
    struct p2t t;
    p2t_setup(&t, NULL); /* captured stdio: no terminal */
    static const char *const which[] = {"stdin", "stdout", "stderr"};
    for (int i = 0; i < 3; i++) {
        char iface[64], func[64];
        snprintf(iface, sizeof iface, "wasi:cli/terminal-%s", which[i]);
        snprintf(func, sizeof func, "get-terminal-%s", which[i]);
        struct cval r;
        ASSERT_OK(P2CALL0(&t, iface, func, &r));
        ASSERT_EQ_UINT(r.of.var.disc, 0);
    }
    p2t_teardown(&t);
}

TEST(wasip2_cli, clocks_tell_the_time)
{
    struct p2t t;
    p2t_setup(&t, NULL);
    struct cval a, b, res;
    ASSERT_OK(P2CALL0(&t, "wasi:clocks/monotonic-clock", "now", &a));
    ASSERT_OK(P2CALL0(&t, "wasi:clocks/monotonic-clock", "now", &b));
    ASSERT_LE_UINT(a.of.u, b.of.u);
    ASSERT_OK(P2CALL0(&t, "wasi:clocks/monotonic-clock", "resolution", &res));
    ASSERT_GT_UINT(res.of.u, 0);
    ASSERT_LE_UINT(res.of.u, 1000000u);
    ASSERT_OK(P2CALL0(&t, "wasi:clocks/wall-clock", "now", &a));
    time_t now = time(NULL);
    uint64_t secs = a.of.list.v[0].of.u;
    ASSERT_TRUE(secs + 5 >= (uint64_t)now && secs <= (uint64_t)now + 5);
    ASSERT_LT_UINT(a.of.list.v[1].of.u, 1000000000u);
    ASSERT_OK(P2CALL0(&t, "wasi:clocks/wall-clock", "resolution", &res));
    ASSERT_EQ_UINT(res.of.list.v[0].of.u, 0);
    ASSERT_GT_UINT(res.of.list.v[1].of.u, 0);
    p2t_teardown(&t);
}

TEST(wasip2_cli, random_bytes_and_seeds)
{
    struct p2t t;
    p2t_setup(&t, NULL);
    struct cval r, r2;
    ASSERT_OK(P2CALL(&t, "wasi:random/random", "get-random-bytes", &r, cv_u64(64)));
    ASSERT_EQ_UINT(r.of.raw.n, 64);
    static const uint8_t zero[64];
    ASSERT_TRUE(memcmp(r.of.raw.ptr, zero, 64) != 0);
    ASSERT_OK(P2CALL(&t, "wasi:random/random", "get-random-bytes", &r, cv_u64(0)));
    ASSERT_EQ_UINT(r.of.raw.n, 0);
    ASSERT_OK(P2CALL0(&t, "wasi:random/random", "get-random-u64", &r));
    ASSERT_OK(P2CALL0(&t, "wasi:random/random", "get-random-u64", &r2));
    ASSERT_NE_UINT(r.of.u, r2.of.u);
    ASSERT_OK(P2CALL(&t, "wasi:random/insecure", "get-insecure-random-bytes", &r, cv_u64(16)));
    ASSERT_EQ_UINT(r.of.raw.n, 16);
    ASSERT_OK(P2CALL0(&t, "wasi:random/insecure", "get-insecure-random-u64", &r));
    /* A length the host will not allocate traps rather than failing later. */
    ASSERT_EQ_INT(P2CALL(&t, "wasi:random/random", "get-random-bytes", &r, cv_u64(UINT64_MAX)),
                  SPRY_ETRAP);
    ASSERT_NOT_NULL(strstr(t.trap, "random bytes asked for"));
    /* The insecure seed is one value for the context. */
    ASSERT_OK(P2CALL0(&t, "wasi:random/insecure-seed", "insecure-seed", &r));
    ASSERT_OK(P2CALL0(&t, "wasi:random/insecure-seed", "insecure-seed", &r2));
    ASSERT_EQ_UINT(r.of.list.v[0].of.u, r2.of.list.v[0].of.u);
    ASSERT_EQ_UINT(r.of.list.v[1].of.u, r2.of.list.v[1].of.u);
    p2t_teardown(&t);
}

TEST(wasip2_cli, sockets_are_denied)
{
    enum { ACCESS_DENIED = 1, PERMANENT_RESOLVER_FAILURE = 20 };
    struct p2t t;
    p2t_setup(&t, NULL);
    struct cval r;
    ASSERT_OK(P2CALL0(&t, "wasi:sockets/instance-network", "instance-network", &r));
    ASSERT_EQ_INT(r.kind, CT_OWN);
    uint32_t net = r.of.rep;
    for (uint32_t family = 0; family < 2; family++) {
        ASSERT_OK(
            P2CALL(&t, "wasi:sockets/tcp-create-socket", "create-tcp-socket", &r, cv_enum(family)));
        ASSERT_EQ_UINT(r_err(&r), ACCESS_DENIED);
        ASSERT_OK(
            P2CALL(&t, "wasi:sockets/udp-create-socket", "create-udp-socket", &r, cv_enum(family)));
        ASSERT_EQ_UINT(r_err(&r), ACCESS_DENIED);
    }
    ASSERT_OK(P2CALL(&t, "wasi:sockets/ip-name-lookup", "resolve-addresses", &r, cv_borrow(net),
                     cv_str("example.com")));
    ASSERT_EQ_UINT(r_err(&r), PERMANENT_RESOLVER_FAILURE);
    ASSERT_OK(P2CALL(&t, "wasi:sockets/ip-name-lookup", "resolve-addresses", &r, cv_borrow(net),
                     cv_str("127.0.0.1")));
    ASSERT_EQ_UINT(r_err(&r), PERMANENT_RESOLVER_FAILURE);
    /* No socket can exist, so a socket method only ever sees a bad handle. */
    ASSERT_EQ_INT(
        P2CALL(&t, "wasi:sockets/tcp", "[method]tcp-socket.is-listening", &r, cv_borrow(net)),
        SPRY_ETRAP);
    ASSERT_NOT_NULL(strstr(t.trap, "sockets are not granted"));
    p2t_drop(&t, "wasi:sockets/network", "network", net);
    ASSERT_EQ_UINT(wasip2_live_objects(t.p2), 0);
    p2t_teardown(&t);
}

TEST(wasip2_cli, calls_without_a_context_trap)
{
    struct p2t t;
    p2t_setup(&t, NULL);
    spry_store_set_data(t.store, SPRY_STORE_DATA_WASI_P2, NULL);
    struct cval r;
    ASSERT_EQ_INT(P2CALL0(&t, "wasi:cli/environment", "get-arguments", &r), SPRY_ETRAP);
    ASSERT_NOT_NULL(strstr(t.trap, "no WASI 0.2 context"));
    p2t_teardown(&t);
}

TEST(wasip2_cli, a_terminal_gets_terminal_handles)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0)
        test_skip("no pseudo-terminal here");
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    ASSERT_GE_INT(slave, 0);
    struct spry_wasi_stdio stdio[3] = {{.kind = SPRY_WASI_STDIO_HOST_FD, .fd = slave},
                                       {.kind = SPRY_WASI_STDIO_HOST_FD, .fd = slave},
                                       {.kind = SPRY_WASI_STDIO_BUFFER}};
    struct p2t t;
    struct p2t_options o = {.stdio = stdio};
    p2t_setup(&t, &o);
    struct cval r;
    ASSERT_OK(P2CALL0(&t, "wasi:cli/terminal-stdin", "get-terminal-stdin", &r));
    ASSERT_EQ_UINT(r.of.var.disc, 1);
    uint32_t in = r.of.var.payload->of.rep;
    ASSERT_OK(P2CALL0(&t, "wasi:cli/terminal-stdout", "get-terminal-stdout", &r));
    ASSERT_EQ_UINT(r.of.var.disc, 1);
    uint32_t out = r.of.var.payload->of.rep;
    ASSERT_OK(P2CALL0(&t, "wasi:cli/terminal-stderr", "get-terminal-stderr", &r));
    ASSERT_EQ_UINT(r.of.var.disc, 0); /* captured */
    p2t_drop(&t, "wasi:cli/terminal-input", "terminal-input", in);
    p2t_drop(&t, "wasi:cli/terminal-output", "terminal-output", out);
    ASSERT_EQ_UINT(wasip2_live_objects(t.p2), 0);
    p2t_teardown(&t);
    close(slave);
    close(master);
}

TEST(wasip2_cli, create_reports_a_missing_preopen_and_survives_allocation_failures)
{
    struct spry_wasi_preopen pre = {"/nonexistent/spry-p2", "/x", false};
    struct spry_wasi_config config = {.preopens = &pre, .npreopens = 1};
    struct spry_report report;
    spry_report_init(&report);
    struct wasip2 *p2 = NULL;
    ASSERT_EQ_INT(wasip2_create(&config, &p2, &report), SPRY_ENOTFOUND);
    ASSERT_NOT_NULL(strstr(report.message, "/nonexistent/spry-p2"));
    ASSERT_NULL(p2);
    const char *args[] = {"prog", "arg"};
    const char *env[] = {"K=V"};
    struct spry_wasi_config ok = {.args = args, .nargs = 2, .env = env, .nenv = 1};
    for (long n = 0;; n++) {
        spry_report_init(&report);
        spry_alloc_fail_after(n);
        int rc = wasip2_create(&ok, &p2, &report);
        spry_alloc_fail_after(-1);
        if (rc == 0)
            break;
        ASSERT_EQ_INT(rc, SPRY_ENOMEM);
        ASSERT_LT_INT(n, 100);
    }
    wasip2_destroy(p2);
    wasip2_destroy(NULL);
}

/*
 * The WASI 0.2 interface table is consistent: every interface's WIT parses
 * and resolves against the others, every function the WIT declares has a
 * C implementation and every implementation a declaration, every resource
 * a drop, and the enums the C code numbers by hand match the WIT's order.
 */
#include "harness/test.h"

#include "component/wasip2/p2.h"
#include "component/wit.h"

#include <stdio.h>
#include <string.h>

/* Every interface of wasi:cli/imports@0.2.12 but the unstable
 * wasi:clocks/timezone (written out from the WASI repository's WIT). */
static const char *const expected[] = {
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
    "wasi:sockets/network",
    "wasi:sockets/instance-network",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/ip-name-lookup",
};

struct parsed {
    struct spry_arena arena;
    struct wit_host host;
    const struct chost_iface *ifaces;
    size_t n;
};

static void parse_all(struct parsed *p)
{
    struct spry_report report;
    spry_report_init(&report);
    spry_arena_init(&p->arena, 4u << 20);
    p->ifaces = wasip2_ifaces(&p->n);
    int rc = wit_parse_host(p->ifaces, p->n, &p->arena, &p->host, &report);
    if (rc != 0)
        fprintf(stderr, "%s\n", report.message);
    ASSERT_OK(rc);
}

TEST(wasip2_ifaces, every_interface_is_there_at_one_version)
{
    size_t n;
    const struct chost_iface *ifaces = wasip2_ifaces(&n);
    ASSERT_EQ_UINT(n, sizeof expected / sizeof expected[0]);
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ_STR(ifaces[i].name, expected[i]);
        ASSERT_EQ_STR(ifaces[i].version, "0.2.12");
        ASSERT_NOT_NULL(ifaces[i].wit);
    }
}

TEST(wasip2_ifaces, every_wit_parses_and_resolves)
{
    struct parsed p;
    parse_all(&p);
    ASSERT_EQ_UINT(p.host.nifaces, p.n);
    /* A sample of cross-interface resolution: filesystem's streams are
     * wasi:io's resources, its datetime is wall-clock's record. */
    const struct wit_iface *fs = wit_host_iface(&p.host, "wasi:filesystem/types");
    const struct wit_iface *streams = wit_host_iface(&p.host, "wasi:io/streams");
    const struct wit_iface *wall = wit_host_iface(&p.host, "wasi:clocks/wall-clock");
    ASSERT_TRUE(wit_iface_type(fs, "input-stream") == wit_iface_type(streams, "input-stream"));
    ASSERT_TRUE(wit_iface_type(fs, "datetime") == wit_iface_type(wall, "datetime"));
    const struct wit_func *rvs = wit_iface_func(fs, "[method]descriptor.read-via-stream");
    ASSERT_NOT_NULL(rvs);
    ASSERT_EQ_UINT(rvs->type.result->u.result.ok->u.resource,
                   wit_iface_type(streams, "input-stream")->u.resource);
    spry_arena_fini(&p.arena);
}

TEST(wasip2_ifaces, every_function_has_an_implementation_and_vice_versa)
{
    struct parsed p;
    parse_all(&p);
    size_t total = 0;
    for (size_t i = 0; i < p.n; i++) {
        const struct chost_iface *ci = &p.ifaces[i];
        const struct wit_iface *wi = &p.host.ifaces[i];
        ASSERT_TRUE(wi->host == ci);
        for (size_t f = 0; f < wi->nfuncs; f++) {
            const struct chost_func *impl = NULL;
            for (size_t k = 0; k < ci->nfuncs; k++)
                if (strcmp(ci->funcs[k].name, wi->funcs[f].name) == 0)
                    impl = &ci->funcs[k];
            if (impl == NULL || impl->fn == NULL)
                fprintf(stderr, "%s: %s has no C function\n", ci->name, wi->funcs[f].name);
            ASSERT_NOT_NULL(impl);
            ASSERT_NOT_NULL(impl->fn);
        }
        for (size_t k = 0; k < ci->nfuncs; k++) {
            if (wit_iface_func(wi, ci->funcs[k].name) == NULL)
                fprintf(stderr, "%s: %s is not in the WIT\n", ci->name, ci->funcs[k].name);
            ASSERT_NOT_NULL(wit_iface_func(wi, ci->funcs[k].name));
            for (size_t j = 0; j < k; j++)
                ASSERT_TRUE(strcmp(ci->funcs[j].name, ci->funcs[k].name) != 0);
        }
        ASSERT_EQ_UINT(wi->nfuncs, ci->nfuncs);
        for (size_t r = 0; r < ci->nresources; r++)
            ASSERT_NOT_NULL(ci->resources[r].drop);
        total += ci->nfuncs;
    }
    /* The function count of the 0.2.12 WIT (network-error-code and
     * exit-with-code included). */
    ASSERT_EQ_UINT(total, 124);
    spry_arena_fini(&p.arena);
}

static void expect_cases(const struct ctype *t, const char *const *names, size_t n)
{
    ASSERT_NOT_NULL(t);
    ASSERT_EQ_UINT(t->u.variant.n, n);
    for (size_t i = 0; i < n; i++)
        ASSERT_EQ_STR(t->u.variant.cases[i].name, names[i]);
}

TEST(wasip2_ifaces, hand_numbered_enums_match_the_wit)
{
    struct parsed p;
    parse_all(&p);
    const struct wit_iface *fs = wit_host_iface(&p.host, "wasi:filesystem/types");
    expect_cases(wit_iface_type(fs, "error-code"), p2_fs_error_names, P2_FS_ERROR_COUNT);
    static const char *const dtypes[] = {"unknown",      "block-device", "character-device",
                                         "directory",    "fifo",         "symbolic-link",
                                         "regular-file", "socket"};
    expect_cases(wit_iface_type(fs, "descriptor-type"), dtypes, 8);
    ASSERT_EQ_INT(P2_DT_SOCKET, 7);
    ASSERT_EQ_INT(P2_DT_REGULAR_FILE, 6);
    const struct ctype *df = wit_iface_type(fs, "descriptor-flags");
    static const char *const dflags[] = {"read",
                                         "write",
                                         "file-integrity-sync",
                                         "data-integrity-sync",
                                         "requested-write-sync",
                                         "mutate-directory"};
    static const unsigned bits[] = {P2_DF_READ,      P2_DF_WRITE,     P2_DF_FILE_SYNC,
                                    P2_DF_DATA_SYNC, P2_DF_READ_SYNC, P2_DF_MUTATE_DIR};
    ASSERT_EQ_UINT(df->u.flags.n, 6);
    for (int i = 0; i < 6; i++) {
        ASSERT_EQ_STR(df->u.flags.names[i], dflags[i]);
        ASSERT_EQ_UINT(bits[i], 1u << i);
    }
    const struct ctype *net =
        wit_iface_type(wit_host_iface(&p.host, "wasi:sockets/network"), "error-code");
    ASSERT_EQ_STR(net->u.variant.cases[1].name, "access-denied");
    ASSERT_EQ_STR(net->u.variant.cases[20].name, "permanent-resolver-failure");
    const struct ctype *se =
        wit_iface_type(wit_host_iface(&p.host, "wasi:io/streams"), "stream-error");
    ASSERT_EQ_STR(se->u.variant.cases[0].name, "last-operation-failed");
    ASSERT_EQ_STR(se->u.variant.cases[1].name, "closed");
    const struct ctype *nt = wit_iface_type(fs, "new-timestamp");
    ASSERT_EQ_STR(nt->u.variant.cases[2].name, "timestamp");
    spry_arena_fini(&p.arena);
}

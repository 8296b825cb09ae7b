/*
 * Spry's Spin JavaScript test app (tests/http-components/js, built by
 * scripts/build-js-app.sh with Spin's own j2w: componentize-js around
 * StarlingMonkey, ~12 MB) decodes with Spry's component decoder, and its
 * imports and exports are exactly what jco (wasm-tools) lists for it
 * (BUILD/tests/http-components/js-app.world, written by the same script).
 * Every import is either an interface of Spry's WASI 0.2 table with a
 * compatible version, or a wasi:http interface (served by the spin
 * executor's host, not this table); docs/components.md lists them.
 *
 * The app needs node >= 20.19 and npm; without them the tests skip and
 * say how to build it.
 */
#include "harness/test.h"

#include "component/binary.h"
#include "component/link.h"
#include "component/wasip2/p2.h"
#include "component/wit.h"
#include "spry/pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    ASSERT_EQ_INT(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    ASSERT_TRUE(n > 0);
    ASSERT_EQ_INT(fseek(f, 0, SEEK_SET), 0);
    uint8_t *b = malloc((size_t)n + 1);
    ASSERT_TRUE(b != NULL);
    ASSERT_EQ_INT(fread(b, 1, (size_t)n, f), n);
    fclose(f);
    b[n] = 0;
    *len = (size_t)n;
    return b;
}

static struct cbin *decode_app(void)
{
    const char *path = test_build_path("tests/http-components/js-app.wasm");
    size_t len;
    uint8_t *bytes = read_all(path, &len);
    if (bytes == NULL)
        test_skip("%s is not built (scripts/build-js-app.sh BUILD needs node >= 20.19 and npm)",
                  path);
    struct cbin *bin = NULL;
    struct spry_report r;
    spry_report_init(&r);
    int rc = cbin_decode(bytes, len, NULL, &bin, &r);
    free(bytes);
    if (rc != 0)
        fprintf(stderr, "decode: %s\n", r.message);
    ASSERT_OK(rc);
    return bin;
}

/* The "import NAME" / "export NAME" lines jco wrote, in order. */
static char *read_world(void)
{
    size_t len;
    char *text = (char *)read_all(test_build_path("tests/http-components/js-app.world"), &len);
    if (text == NULL)
        test_skip("js-app.world is missing: rebuild with scripts/build-js-app.sh BUILD");
    return text;
}

/* The same list from Spry's decoder: the root's instance imports and
 * exports, as "import NAME\n" / "export NAME\n". */
static void list_root(const struct cbin *bin, char *out, size_t size)
{
    size_t at = 0;
    const struct cbin_component *root = bin->root;
    for (uint32_t i = 0; i < root->nimports; i++) {
        const struct cbin_extern *e = &root->imports[i].ext;
        if (e->sort != CBIN_INSTANCE)
            continue;
        at += (size_t)snprintf(out + at, size - at, "import %.*s\n", (int)e->name_len, e->name);
        ASSERT_TRUE(at < size);
    }
    for (uint32_t i = 0; i < root->nexports; i++) {
        const struct cbin_extern *e = &root->exports[i].ext;
        if (e->sort != CBIN_INSTANCE)
            continue;
        at += (size_t)snprintf(out + at, size - at, "export %.*s\n", (int)e->name_len, e->name);
        ASSERT_TRUE(at < size);
    }
}

TEST(component, js_app_decodes_with_jcos_imports_and_exports)
{
    char *world = read_world();
    struct cbin *bin = decode_app();
    char mine[8192];
    list_root(bin, mine, sizeof mine);
    ASSERT_EQ_STR(mine, world);
    /* Spin's http-js apps are wasi:http proxies: one export, the handler. */
    ASSERT_TRUE(strstr(mine, "export wasi:http/incoming-handler@0.2.") != NULL);
    cbin_destroy(bin);
    free(world);
}

/* Splits "ns:pkg/iface@ver" at the '@'. */
static void split(const char *name, size_t len, size_t *base, const char **ver, size_t *vlen)
{
    const char *at = memchr(name, '@', len);
    *base = at != NULL ? (size_t)(at - name) : len;
    *ver = at != NULL ? at + 1 : "";
    *vlen = at != NULL ? len - *base - 1 : 0;
}

TEST(component, js_app_imports_are_wasip2_or_wasi_http)
{
    struct cbin *bin = decode_app();
    size_t n;
    const struct chost_iface *ifaces = wasip2_ifaces(&n);
    unsigned provided = 0, http = 0;
    const struct cbin_component *root = bin->root;
    for (uint32_t i = 0; i < root->nimports; i++) {
        const struct cbin_extern *e = &root->imports[i].ext;
        if (e->sort != CBIN_INSTANCE)
            continue;
        size_t base, vlen;
        const char *ver;
        split(e->name, e->name_len, &base, &ver, &vlen);
        bool found = false;
        for (size_t k = 0; k < n && !found; k++) {
            found = strlen(ifaces[k].name) == base && memcmp(ifaces[k].name, e->name, base) == 0 &&
                    wit_version_compatible(ver, vlen, ifaces[k].version, strlen(ifaces[k].version));
        }
        if (found) {
            provided++;
        } else if (base > 10 && memcmp(e->name, "wasi:http/", 10) == 0) {
            http++;
        } else {
            fprintf(stderr, "import %.*s: not in Spry's WASI 0.2 table\n", (int)e->name_len,
                    e->name);
            ASSERT_TRUE(found);
        }
    }
    ASSERT_TRUE(provided > 0);
    ASSERT_EQ_INT(http, 2); /* wasi:http/types and wasi:http/outgoing-handler */
    cbin_destroy(bin);
}

TEST(component, js_app_links_against_wasip2_but_for_wasi_http)
{
    struct cbin *bin = decode_app();
    struct spry_pool_config pc;
    spry_pool_config_init(&pc);
    pc.slots = 1;
    struct spry_pool *pool;
    struct spry_report r;
    spry_report_init(&r);
    ASSERT_OK(spry_pool_create(&pc, &pool, &r));
    struct clink *link = NULL;
    int rc = clink_create(pool, clink_host_wasip2(), bin, NULL, &link, &r);
    /* WASI 0.2 alone does not serve wasi:http: linking stops there, having
     * matched the function types of every interface imported before it. */
    ASSERT_EQ_INT(rc, SPRY_EUNLINKABLE);
    fprintf(stderr, "link: %s\n", r.message);
    ASSERT_TRUE(strstr(r.message, "import wasi:http/") != NULL);
    clink_destroy(link);
    spry_pool_destroy(pool);
    cbin_destroy(bin);
}

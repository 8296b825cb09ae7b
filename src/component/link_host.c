/*
 * Host interface tables for the linker: parsed once, with one resource-type
 * identity (struct canon_rtype) per host resource, shared by every
 * component linked against the table. The WASI 0.2 table is parsed once per
 * process.
 */
#include "component/link_impl.h"
#include "component/wasip2/wasip2.h"

#include "base/alloc.h"

#include <pthread.h>
#include <string.h>

/* The WIT of a host table is small (WASI 0.2: about 60 KB of text); this
 * bounds a table someone gets wrong. */
#define HOST_ARENA_LIMIT ((size_t)64 << 20)

int clink_host_create(const struct chost_iface *ifaces, size_t n, struct clink_host **out,
                      struct spry_report *report)
{
    struct clink_host *h = spry_calloc(1, sizeof *h);
    if (h == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory");
    spry_arena_init(&h->arena, HOST_ARENA_LIMIT);
    int rc = wit_parse_host(ifaces, n, &h->arena, &h->wit, report);
    if (rc == 0) {
        h->rtypes = spry_arena_alloc_array(&h->arena, h->wit.nresources + 1, sizeof *h->rtypes);
        if (h->rtypes == NULL)
            rc = spry_report_set(report, SPRY_ENOMEM, "out of memory");
    }
    for (uint32_t k = 0; rc == 0 && k < h->wit.nresources; k++) {
        const struct wit_iface *wi;
        const struct chost_resource *res;
        rc = wit_host_resource(&h->wit, k, &wi, &res);
        if (rc != 0) {
            rc = spry_report_set(report, SPRY_EINVAL, "host resource %u has no interface", k);
            break;
        }
        h->rtypes[k] = (struct canon_rtype){.name = res->name, .host = res};
    }
    if (rc != 0) {
        clink_host_destroy(h);
        return rc;
    }
    *out = h;
    return 0;
}

void clink_host_destroy(struct clink_host *host)
{
    if (host == NULL)
        return;
    spry_arena_fini(&host->arena);
    spry_free(host);
}

static struct clink_host *wasip2_host;
static pthread_once_t wasip2_once = PTHREAD_ONCE_INIT;

static void wasip2_host_init(void)
{
    size_t n;
    const struct chost_iface *ifaces = wasip2_ifaces(&n);
    struct spry_report report;
    spry_report_init(&report);
    if (clink_host_create(ifaces, n, &wasip2_host, &report) != 0)
        wasip2_host = NULL;
}

const struct clink_host *clink_host_wasip2(void)
{
    pthread_once(&wasip2_once, wasip2_host_init);
    return wasip2_host;
}

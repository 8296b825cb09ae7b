/*
 * libFuzzer harness: the WIT subset parser (component/wit.h). The input is
 * up to three interface texts separated by NUL bytes, named f:z/a, f:z/b
 * and f:z/c (so `use b.{...}` and `use f:z/c.{...}` resolve), each with a
 * resource table holding the names its text declares with `resource`.
 * A parse either fails with a report naming an interface and a position,
 * or yields types that are well formed: kinds in range, resources inside
 * the host's resource space, flags within the limit, every name set.
 */
#include "component/wit.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { NIFACES = 3, MAX_RES = 8, MAX_INPUT = 1 << 16 };

static void check_type(const struct ctype *t, uint32_t nres, unsigned depth)
{
    if (t == NULL || t->kind >= CT_KINDS || depth > 2 * WIT_MAX_DEPTH)
        __builtin_trap();
    switch (t->kind) {
    case CT_LIST:
    case CT_OPTION:
        check_type(t->u.elem, nres, depth + 1);
        break;
    case CT_RECORD:
    case CT_TUPLE:
        if (t->u.record.n == 0)
            __builtin_trap();
        for (uint32_t i = 0; i < t->u.record.n; i++) {
            if ((t->kind == CT_RECORD) != (t->u.record.fields[i].name != NULL))
                __builtin_trap();
            check_type(t->u.record.fields[i].type, nres, depth + 1);
        }
        break;
    case CT_VARIANT:
    case CT_ENUM:
        if (t->u.variant.n == 0)
            __builtin_trap();
        for (uint32_t i = 0; i < t->u.variant.n; i++) {
            if (t->u.variant.cases[i].name == NULL)
                __builtin_trap();
            if (t->kind == CT_ENUM && t->u.variant.cases[i].type != NULL)
                __builtin_trap();
            if (t->u.variant.cases[i].type != NULL)
                check_type(t->u.variant.cases[i].type, nres, depth + 1);
        }
        break;
    case CT_RESULT:
        if (t->u.result.ok != NULL)
            check_type(t->u.result.ok, nres, depth + 1);
        if (t->u.result.err != NULL)
            check_type(t->u.result.err, nres, depth + 1);
        break;
    case CT_FLAGS:
        if (t->u.flags.n == 0 || t->u.flags.n > CTYPE_MAX_FLAGS)
            __builtin_trap();
        break;
    case CT_OWN:
    case CT_BORROW:
        if (t->u.resource >= nres)
            __builtin_trap();
        break;
    default:
        break;
    }
}

/* The names after "resource" in text (a superset of what it declares). */
static size_t resource_names(const char *text, char names[MAX_RES][64], struct chost_resource *res)
{
    size_t n = 0;
    for (const char *p = strstr(text, "resource "); p != NULL && n < MAX_RES;
         p = strstr(p + 1, "resource ")) {
        const char *q = p + 9;
        size_t len = 0;
        while (len < 63 && ((q[len] >= 'a' && q[len] <= 'z') || q[len] == '-' ||
                            (q[len] >= '0' && q[len] <= '9')))
            len++;
        if (len == 0)
            continue;
        memcpy(names[n], q, len);
        names[n][len] = '\0';
        bool dup = false;
        for (size_t i = 0; i < n; i++)
            dup |= strcmp(names[i], names[n]) == 0;
        if (dup)
            continue;
        res[n].name = names[n];
        res[n].drop = NULL;
        n++;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    static const char *const names[NIFACES] = {"f:z/a", "f:z/b", "f:z/c"};
    struct chost_iface ifaces[NIFACES];
    char rnames[NIFACES][MAX_RES][64];
    struct chost_resource res[NIFACES][MAX_RES];
    memset(ifaces, 0, sizeof ifaces);
    size_t n = 0;
    for (char *p = text; n < NIFACES; n++) {
        ifaces[n].name = names[n];
        ifaces[n].version = "0.2.1";
        ifaces[n].wit = p;
        ifaces[n].resources = res[n];
        ifaces[n].nresources = resource_names(p, rnames[n], res[n]);
        size_t len = strlen(p);
        if (p + len == text + size)
            break;
        p += len + 1;
    }
    n = n < NIFACES ? n + 1 : NIFACES;
    struct spry_arena arena;
    spry_arena_init(&arena, 16u << 20);
    struct spry_report report;
    spry_report_init(&report);
    struct wit_host host;
    int rc = wit_parse_host(ifaces, n, &arena, &host, &report);
    if (rc == 0) {
        for (size_t i = 0; i < host.nifaces; i++) {
            const struct wit_iface *w = &host.ifaces[i];
            for (size_t k = 0; k < w->ntypes; k++) {
                if (w->types[k].name == NULL || wit_iface_type(w, w->types[k].name) == NULL)
                    __builtin_trap();
                check_type(w->types[k].type, host.nresources, 0);
            }
            for (size_t k = 0; k < w->nfuncs; k++) {
                const struct wit_func *f = &w->funcs[k];
                if (wit_iface_func(w, f->name) != f)
                    __builtin_trap();
                for (uint32_t a = 0; a < f->type.nparams; a++)
                    check_type(f->type.params[a].type, host.nresources, 0);
                if (f->type.result != NULL)
                    check_type(f->type.result, host.nresources, 0);
            }
        }
    } else if (rc != SPRY_ENOMEM && strncmp(report.message, "f:z/", 4) != 0) {
        __builtin_trap(); /* every failure names the interface and where */
    }
    spry_arena_fini(&arena);
    free(text);
    return 0;
}

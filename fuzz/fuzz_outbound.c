/*
 * libFuzzer harness for allowed_outbound_hosts (src/app/outbound.c): the
 * bytes are "ENTRY\nURL\nVALUE". ENTRY is parsed as written (the manifest
 * reader's outbound_parse) and as a rule; URL as a target; a policy is
 * built from ENTRY with every {{ variable }} resolving to VALUE, and asked
 * about the target, relative URLs and an HTTP authority. Checks, besides
 * memory safety: a rule's port range is non-empty; the any-scheme,
 * any-host, any-port entry allows every target; a subdomain rule never
 * allows an IP address nor its own domain; a rule with a port range never
 * allows a port outside it; a failed policy always says why.
 */
#include "app/manifest_impl.h"
#include "app/outbound.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *value;

static const char *resolve(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    return value;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *url = strchr(text, '\n');
    if (url != NULL)
        *url++ = '\0';
    else
        url = text + size;
    char *val = strchr(url, '\n');
    if (val != NULL)
        *val++ = '\0';
    else
        val = url + strlen(url);
    value = val;

    char why[256];
    struct spry_arena arena;
    spry_arena_init(&arena, 1 << 20);
    struct manifest_outbound entry;
    int parsed = outbound_parse(text, &entry, why, sizeof why, &arena);
    if (parsed == 0 && !entry.templated && !entry.any_port && entry.port_lo >= entry.port_hi)
        __builtin_trap();

    struct outbound_rule rule;
    struct outbound_target target;
    bool have_rule = outbound_rule_parse(text, &rule, why, sizeof why) == 0;
    bool have_target = outbound_target_parse(url, "https", &target, why, sizeof why) == 0;
    if (have_rule && !rule.any_port && rule.port_lo >= rule.port_hi)
        __builtin_trap();
    if (have_rule && have_target) {
        bool ok = outbound_rule_allows(&rule, &target);
        if (ok && rule.kind == OUTBOUND_HOST_SUBDOMAIN &&
            (target.is_ip || strcmp(target.host, rule.host + 1) == 0))
            __builtin_trap();
        if (ok && !rule.any_port && target.has_port &&
            (target.port < rule.port_lo || target.port >= rule.port_hi))
            __builtin_trap();
    }
    if (have_target) {
        struct outbound_rule all;
        if (outbound_rule_parse("*://*:*", &all, why, sizeof why) != 0 ||
            !outbound_rule_allows(&all, &target))
            __builtin_trap();
    }

    if (parsed == 0) {
        static const char *const ids[] = {"first", "second"};
        struct outbound_policy *p = NULL;
        struct spry_report report;
        spry_report_init(&report);
        if (outbound_policy_create(&entry, 1, resolve, NULL, ids, 2, &p, &report) == 0) {
            if (have_target)
                (void)outbound_policy_allows(p, &target);
            static const char *const schemes[] = {"http", "https"};
            (void)outbound_policy_allows_self(p, schemes, 2);
            struct outbound_decision d;
            (void)outbound_policy_check_http(p, "http", url, &d);
            outbound_policy_destroy(p);
        } else if (report.code == 0) {
            __builtin_trap(); /* an error always says what */
        }
    }
    spry_arena_fini(&arena);
    free(text);
    return 0;
}

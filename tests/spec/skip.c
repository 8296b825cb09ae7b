/* The skip list: parsing and glob matching. */
#include "spec/skip.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SKIP_FILE_MAX = 1024 * 1024 };

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static char *dup_range(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

int skip_list_parse(struct skip_list *list, const char *text, size_t len,
                    struct spry_report *report)
{
    memset(list, 0, sizeof(*list));
    const char *p = text, *end = text + len;
    unsigned lineno = 0;
    int rc = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl != NULL ? nl : end;
        lineno++;
        const char *s = p;
        p = nl != NULL ? nl + 1 : end;
        while (s < eol && is_space(*s))
            s++;
        if (s == eol || *s == '#')
            continue;
        const char *pat_end = s;
        while (pat_end < eol && !is_space(*pat_end))
            pat_end++;
        const char *r = pat_end;
        while (r < eol && is_space(*r))
            r++;
        const char *r_end = eol;
        while (r_end > r && is_space(r_end[-1]))
            r_end--;
        if (r == r_end) {
            rc = spry_report_set(report, SPRY_EMALFORMED, "skip list line %u: no reason given",
                                 lineno);
            goto fail;
        }
        if (list->count == SKIP_MAX_ENTRIES) {
            rc = spry_report_set(report, SPRY_EMALFORMED, "skip list line %u: more than %d entries",
                                 lineno, SKIP_MAX_ENTRIES);
            goto fail;
        }
        if (list->count % 16 == 0) {
            struct skip_entry *e =
                realloc(list->entries, (list->count + 16) * sizeof(struct skip_entry));
            if (e == NULL) {
                rc = SPRY_ENOMEM;
                goto fail;
            }
            list->entries = e;
        }
        struct skip_entry *e = &list->entries[list->count];
        e->pattern = dup_range(s, (size_t)(pat_end - s));
        e->reason = dup_range(r, (size_t)(r_end - r));
        list->count++;
        if (e->pattern == NULL || e->reason == NULL) {
            rc = SPRY_ENOMEM;
            goto fail;
        }
    }
    return 0;
fail:
    if (rc == SPRY_ENOMEM)
        spry_report_set(report, rc, "skip list: out of memory");
    skip_list_fini(list);
    return rc;
}

int skip_list_load(struct skip_list *list, const char *path, struct spry_report *report)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return spry_report_set(report, SPRY_EIO, "%s: %s", path, strerror(errno));
    char *text = malloc(SKIP_FILE_MAX);
    if (text == NULL) {
        fclose(f);
        return spry_report_set(report, SPRY_ENOMEM, "skip list: out of memory");
    }
    size_t len = fread(text, 1, SKIP_FILE_MAX, f);
    int rc = 0;
    if (ferror(f))
        rc = spry_report_set(report, SPRY_EIO, "%s: read error", path);
    else if (len == SKIP_FILE_MAX)
        rc = spry_report_set(report, SPRY_ETOOBIG, "%s: larger than %d bytes", path, SKIP_FILE_MAX);
    else
        rc = skip_list_parse(list, text, len, report);
    fclose(f);
    free(text);
    return rc;
}

void skip_list_fini(struct skip_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->entries[i].pattern);
        free(list->entries[i].reason);
    }
    free(list->entries);
    memset(list, 0, sizeof(*list));
}

const char *skip_list_match(const struct skip_list *list, const char *name)
{
    for (size_t i = 0; i < list->count; i++) {
        if (fnmatch(list->entries[i].pattern, name, 0) == 0)
            return list->entries[i].reason;
    }
    return NULL;
}

int skip_value_text(const char *value, char *text, size_t size)
{
    const char *bar = strstr(value, " | ");
    if (bar == NULL || bar == value || bar[3] == '\0')
        return SPRY_EMALFORMED;
    size_t n = (size_t)(bar - value);
    while (n > 0 && is_space(value[n - 1]))
        n--;
    if (n + 1 > size)
        return SPRY_ETOOBIG;
    memcpy(text, value, n);
    text[n] = '\0';
    return 0;
}

int skip_list_check_messages(const struct skip_list *list, struct spry_report *report)
{
    for (size_t i = 0; i < list->count; i++) {
        char text[256];
        int rc = skip_value_text(list->entries[i].reason, text, sizeof(text));
        if (rc != 0)
            return spry_report_set(report, rc, "message list entry %s: expected \"TEXT | WHY\"",
                                   list->entries[i].pattern);
    }
    return 0;
}

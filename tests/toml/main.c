/*
 * The toml-test conformance runner (github.com/toml-lang/toml-test).
 *
 *   toml-runner [--list FILE] [--skip FILE] [-v]
 *
 * FILE (default: $SPRY_SRC_DIR/../shared/conformance/toml-test/tests/
 * files-toml-1.0.0) lists test files, one path a line, relative to its own
 * directory. Each valid/X.toml must parse, and its tree must equal the
 * tagged JSON in valid/X.json: scalars are {"type": T, "value": TEXT};
 * integers are compared as int64, floats numerically (nan equals nan),
 * date/times after the normalisation toml-test applies (upper-case 'T' and
 * 'Z', a space delimiter read as 'T', "+00:00"/"-00:00" as 'Z', trailing
 * zeros of the fraction dropped). Each invalid/X.toml must be rejected, with
 * a message that names the file and a line:column. The skip list (default
 * tests/toml/skip.txt) names tests not run, each with a reason.
 *
 * Ends with "N passed, N failed[, N skipped]"; exit status 1 on a failure.
 */
#include "app/toml.h"
#include "spec/json.h"
#include "spec/skip.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FILE_MAX = 16 << 20 };

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = malloc(FILE_MAX + 1);
    size_t n = buf != NULL ? fread(buf, 1, FILE_MAX, f) : 0;
    fclose(f);
    if (buf == NULL)
        return NULL;
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Why the comparison failed, for the FAIL line. */
static char why[512];

static void normalise_datetime(const char *in, size_t len, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < size; i++) {
        char c = (char)toupper((unsigned char)in[i]);
        if (c == ' ')
            c = 'T';
        out[o++] = c;
    }
    out[o] = '\0';
    size_t n = strlen(out);
    if (n >= 6 && (strcmp(out + n - 6, "+00:00") == 0 || strcmp(out + n - 6, "-00:00") == 0)) {
        strcpy(out + n - 6, "Z");
        n = strlen(out);
    }
    /* Drop trailing zeros of a fraction (and the point if nothing is left). */
    char *dot = strchr(out, '.');
    if (dot != NULL) {
        char *end = dot + 1;
        while (isdigit((unsigned char)*end))
            end++;
        char *last = end;
        while (last > dot + 1 && last[-1] == '0')
            last--;
        if (last == dot + 1)
            last = dot;
        memmove(last, end, strlen(end) + 1);
    }
}

static double parse_float(const char *s)
{
    const char *t = s;
    if (*t == '+' || *t == '-')
        t++;
    if (strcmp(t, "nan") == 0)
        return NAN;
    if (strcmp(t, "inf") == 0)
        return s[0] == '-' ? -INFINITY : INFINITY;
    return strtod(s, NULL);
}

static bool compare(const struct toml_value *v, const struct json_value *j, const char *path);

static bool compare_scalar(const struct toml_value *v, const char *type, const char *text,
                           size_t text_len, const char *path)
{
    if (strcmp(toml_type_name(v->type), type) != 0) {
        snprintf(why, sizeof why, "%s: type %s, expected %s", path, toml_type_name(v->type), type);
        return false;
    }
    switch (v->type) {
    case TOML_STRING: {
        /* Both may hold NUL bytes: compare exact lengths. */
        size_t n = text_len;
        if (v->u.str.len != n || memcmp(v->u.str.ptr, text, n) != 0) {
            snprintf(why, sizeof why, "%s: string \"%.100s\", expected \"%.100s\"", path,
                     v->u.str.ptr, text);
            return false;
        }
        return true;
    }
    case TOML_INTEGER: {
        long long want = strtoll(text, NULL, 10);
        if (v->u.integer != want) {
            snprintf(why, sizeof why, "%s: integer %lld, expected %s", path,
                     (long long)v->u.integer, text);
            return false;
        }
        return true;
    }
    case TOML_FLOAT: {
        double want = parse_float(text);
        bool same = isnan(want) ? isnan(v->u.real) : v->u.real == want;
        if (!same) {
            snprintf(why, sizeof why, "%s: float %.17g, expected %s", path, v->u.real, text);
            return false;
        }
        return true;
    }
    case TOML_BOOLEAN:
        if (strcmp(v->u.boolean ? "true" : "false", text) != 0) {
            snprintf(why, sizeof why, "%s: bool %d, expected %s", path, v->u.boolean, text);
            return false;
        }
        return true;
    case TOML_DATETIME:
    case TOML_DATETIME_LOCAL:
    case TOML_DATE_LOCAL:
    case TOML_TIME_LOCAL: {
        char got[128], want[128];
        normalise_datetime(v->u.str.ptr, v->u.str.len, got, sizeof got);
        normalise_datetime(text, strlen(text), want, sizeof want);
        if (strcmp(got, want) != 0) {
            snprintf(why, sizeof why, "%s: %s %s, expected %s", path, type, got, want);
            return false;
        }
        return true;
    }
    case TOML_ARRAY:
    case TOML_TABLE:
        break;
    }
    return false;
}

static bool compare_table(const struct toml_table *t, const struct json_value *j, const char *path)
{
    if (t->len != j->len) {
        snprintf(why, sizeof why, "%s: table has %zu keys, expected %zu", path, t->len, j->len);
        return false;
    }
    for (size_t i = 0; i < j->len; i++) {
        const struct json_member *m = &j->of.members[i];
        const struct toml_keyval *kv = toml_table_find_n(t, m->key, m->key_len);
        char sub[512];
        snprintf(sub, sizeof sub, "%s.%s", path, m->key);
        if (kv == NULL) {
            snprintf(why, sizeof why, "%.400s: missing", sub);
            return false;
        }
        if (!compare(&kv->value, &m->value, sub))
            return false;
    }
    return true;
}

static bool compare(const struct toml_value *v, const struct json_value *j, const char *path)
{
    if (j->type == JSON_ARRAY) {
        if (v->type != TOML_ARRAY) {
            snprintf(why, sizeof why, "%s: %s, expected an array", path, toml_type_name(v->type));
            return false;
        }
        if (v->u.arr->len != j->len) {
            snprintf(why, sizeof why, "%s: %zu items, expected %zu", path, v->u.arr->len, j->len);
            return false;
        }
        for (size_t i = 0; i < j->len; i++) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            if (!compare(&v->u.arr->items[i], &j->of.items[i], sub))
                return false;
        }
        return true;
    }
    if (j->type != JSON_OBJECT) {
        snprintf(why, sizeof why, "%s: unexpected JSON", path);
        return false;
    }
    const char *type = json_get_str(j, "type", NULL);
    size_t text_len = 0;
    const char *text = json_get_str(j, "value", &text_len);
    if (type != NULL && text != NULL && j->len == 2)
        return compare_scalar(v, type, text, text_len, path);
    if (v->type != TOML_TABLE) {
        snprintf(why, sizeof why, "%s: %s, expected a table", path, toml_type_name(v->type));
        return false;
    }
    return compare_table(v->u.tab, j, path);
}

/* Whether a rejection message has the "FILE:LINE:COL: " shape. */
static bool has_location(const char *msg, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(msg, name, n) != 0 || msg[n] != ':')
        return false;
    unsigned line, col;
    char colon;
    return sscanf(msg + n + 1, "%u:%u%c", &line, &col, &colon) == 3 && colon == ':' && line > 0 &&
           col > 0;
}

/* Runs one test; returns true when it passes (why holds the reason otherwise). */
static bool run_one(const char *dir, const char *rel, bool valid)
{
    char path[4096];
    if (strlen(dir) + strlen(rel) + 2 > sizeof path) {
        snprintf(why, sizeof why, "path too long");
        return false;
    }
    strcpy(path, dir);
    strcat(path, "/");
    strcat(path, rel);
    size_t len;
    char *text = read_file(path, &len);
    if (text == NULL) {
        snprintf(why, sizeof why, "cannot read %s", path);
        return false;
    }
    struct spry_report report;
    spry_report_init(&report);
    struct toml_doc *doc = NULL;
    int rc = toml_parse(text, len, rel, NULL, &doc, &report);
    free(text);
    if (!valid) {
        toml_doc_destroy(doc);
        if (rc == 0) {
            snprintf(why, sizeof why, "accepted an invalid document");
            return false;
        }
        if (rc == SPRY_EMALFORMED && !has_location(report.message, rel)) {
            snprintf(why, sizeof why, "message without FILE:LINE:COL: %.400s", report.message);
            return false;
        }
        return true;
    }
    if (rc != 0) {
        snprintf(why, sizeof why, "rejected: %.400s", report.message);
        return false;
    }
    bool ok = false;
    memcpy(path + strlen(path) - 4, "json", 5);
    char *json = read_file(path, &len);
    struct json_doc *jd = NULL;
    if (json == NULL) {
        snprintf(why, sizeof why, "cannot read %s", path);
    } else if (json_parse(json, len, &jd, &report) != 0) {
        snprintf(why, sizeof why, "bad JSON: %.400s", report.message);
    } else {
        const struct json_value *root = json_doc_root(jd);
        if (root->type != JSON_OBJECT) {
            snprintf(why, sizeof why, "JSON root is not an object");
        } else {
            ok = compare_table(toml_doc_root(doc), root, "");
        }
    }
    json_doc_destroy(jd);
    free(json);
    toml_doc_destroy(doc);
    return ok;
}

int main(int argc, char **argv)
{
    const char *src = getenv("SPRY_SRC_DIR") != NULL ? getenv("SPRY_SRC_DIR") : ".";
    char list_path[4096], skip_path[4096];
    snprintf(list_path, sizeof list_path,
             "%s/../shared/conformance/toml-test/tests/files-toml-1.0.0", src);
    snprintf(skip_path, sizeof skip_path, "%s/tests/toml/skip.txt", src);
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0 && i + 1 < argc)
            snprintf(list_path, sizeof list_path, "%s", argv[++i]);
        else if (strcmp(argv[i], "--skip") == 0 && i + 1 < argc)
            snprintf(skip_path, sizeof skip_path, "%s", argv[++i]);
        else if (strcmp(argv[i], "-v") == 0)
            verbose = true;
        else {
            fprintf(stderr, "usage: toml-runner [--list FILE] [--skip FILE] [-v]\n");
            return 2;
        }
    }
    struct spry_report report;
    spry_report_init(&report);
    struct skip_list skips;
    if (skip_list_load(&skips, skip_path, &report) != 0) {
        printf("cannot load the skip list: %s\n0 passed, 1 failed\n", report.message);
        return 1;
    }
    size_t len;
    char *list = read_file(list_path, &len);
    if (list == NULL) {
        printf("cannot read %s\n0 passed, 1 failed\n", list_path);
        skip_list_fini(&skips);
        return 1;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", list_path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    unsigned passed[2] = {0}, failed[2] = {0}, skipped = 0;
    for (char *line = strtok(list, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        size_t n = strlen(line);
        if (n < 5 || strcmp(line + n - 5, ".toml") != 0)
            continue;
        bool valid = strncmp(line, "valid/", 6) == 0;
        if (!valid && strncmp(line, "invalid/", 8) != 0)
            continue;
        const char *reason = skip_list_match(&skips, line);
        if (reason != NULL) {
            printf("skip %s: %s\n", line, reason);
            skipped++;
            continue;
        }
        if (run_one(dir, line, valid)) {
            passed[valid]++;
            if (verbose)
                printf("ok   %s\n", line);
        } else {
            failed[valid]++;
            printf("FAIL %s: %s\n", line, why);
        }
    }
    free(list);
    skip_list_fini(&skips);
    printf("toml-test 1.0.0: valid %u passed, %u failed; invalid %u passed, %u failed\n", passed[1],
           failed[1], passed[0], failed[0]);
    unsigned p = passed[0] + passed[1], f = failed[0] + failed[1];
    if (skipped > 0)
        printf("%u passed, %u failed, %u skipped\n", p, f, skipped);
    else
        printf("%u passed, %u failed\n", p, f);
    return f > 0;
}

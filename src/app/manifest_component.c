/*
 * [component.<id>] tables (and inline components, and version 1's
 * [[component]] entries): every key Spin defines, `files` expanded against
 * the manifest directory, and the source checked or fetched.
 */
#include "app/manifest_impl.h"

#include "base/alloc.h"

#include <fnmatch.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { FILES_MAX = 100000 };

/* {{ name }} with name a declared application variable. */
int mr_check_template(struct mreader *r, const struct toml_value *v, const char *path,
                      const char *text)
{
    const struct manifest *m = &r->owner->m;
    const char *s = text;
    while ((s = strstr(s, "{{")) != NULL) {
        const char *end = strstr(s + 2, "}}");
        if (end == NULL)
            return mr_error_at(r, v, path, "unclosed '{{' in \"%s\"; expected {{ variable }}",
                               text);
        const char *a = s + 2, *b = end;
        while (a < b && *a == ' ')
            a++;
        while (b > a && b[-1] == ' ')
            b--;
        char name[128];
        if (b == a || (size_t)(b - a) >= sizeof name)
            return mr_error_at(r, v, path, "empty or overlong name in \"%s\"", text);
        memcpy(name, a, (size_t)(b - a));
        name[b - a] = '\0';
        bool found = false;
        for (size_t i = 0; i < m->n_variables; i++)
            found = found || strcmp(m->variables[i].name, name) == 0;
        if (!found)
            return mr_error_at(r, v, path,
                               "\"%s\" refers to variable '%s', which is not declared; expected a "
                               "name from [variables]",
                               text, name);
        s = end + 2;
    }
    return 0;
}

/* Relative paths resolve from the manifest's directory. */
static char *resolve(struct mreader *r, const char *rel)
{
    const char *dir = r->owner->m.dir;
    if (rel[0] == '/' || strcmp(dir, ".") == 0)
        return mr_strdup(r, rel);
    return mr_printf(r, "%s/%s", dir, rel);
}

static int read_source(struct mreader *r, const struct toml_value *table, const char *path,
                       struct manifest_source *src)
{
    char sub[MR_PATH_MAX];
    mr_path(sub, path, "source");
    const struct toml_value *v = mr_get(table, "source");
    if (v == NULL)
        return mr_error_at(r, table, sub,
                           "missing; expected a path to a .wasm file or { url, digest }");
    char why[512] = "";
    if (v->type == TOML_STRING) {
        src->kind = MANIFEST_SOURCE_PATH;
        src->path = resolve(r, v->u.str.ptr);
        if (src->path == NULL)
            return r->report->code;
    } else if (v->type == TOML_TABLE) {
        static const char *const keys[] = {"url", "digest", NULL};
        int rc = mr_check_keys(r, v, sub, keys);
        if (rc == 0)
            rc = mr_string(r, v, "url", sub, true, &src->url);
        if (rc == 0)
            rc = mr_string(r, v, "digest", sub, true, &src->digest);
        if (rc != 0)
            return rc;
        src->kind = MANIFEST_SOURCE_URL;
        const char *d = src->digest;
        bool ok = strncmp(d, "sha256:", 7) == 0 && strlen(d) == 7 + 64;
        for (size_t i = 7; ok && d[i] != '\0'; i++)
            ok = (d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f');
        if (!ok) {
            char dsub[MR_PATH_MAX];
            return mr_error_at(r, mr_get(v, "digest"), mr_path(dsub, sub, "digest"),
                               "expected \"sha256:\" and 64 lowercase hex digits");
        }
        if (strncmp(src->url, "http://", 7) != 0 && strncmp(src->url, "https://", 8) != 0) {
            char usub[MR_PATH_MAX];
            return mr_error_at(r, mr_get(v, "url"), mr_path(usub, sub, "url"),
                               "expected an http:// or https:// URL");
        }
        if (r->options->skip_sources)
            return 0;
        char *fetched = NULL;
        if (source_fetch(src->url, src->digest, r->options->cache_dir, &fetched, why, sizeof why) !=
            0)
            return mr_error_at(r, v, sub, "%s", why);
        src->path = mr_strdup(r, fetched);
        spry_free(fetched);
        if (src->path == NULL)
            return r->report->code;
    } else {
        return mr_error_at(r, v, sub, "expected a path string or { url, digest }, found a %s",
                           toml_type_name(v->type));
    }
    if (r->options->skip_sources)
        return 0;
    if (source_check_wasm(src->path, &src->is_component, why, sizeof why) != 0)
        return mr_error_at(r, v, sub, "%s", why);
    return 0;
}

struct file_list {
    struct manifest_file *items;
    size_t len, cap;
};

static int files_push(struct mreader *r, struct file_list *l, const char *host, const char *guest,
                      bool is_dir, const struct toml_value *v, const char *path)
{
    if (l->len >= FILES_MAX)
        return mr_error_at(r, v, path, "more than %d files; expected fewer", FILES_MAX);
    if (l->len == l->cap) {
        size_t cap = l->cap == 0 ? 16 : l->cap * 2;
        struct manifest_file *items = mr_alloc(r, cap, sizeof *items);
        if (items == NULL)
            return r->report->code;
        if (l->len > 0)
            memcpy(items, l->items, l->len * sizeof *items);
        l->items = items;
        l->cap = cap;
    }
    struct manifest_file *f = &l->items[l->len++];
    f->host_path = mr_strdup(r, host);
    f->guest_path = mr_strdup(r, guest);
    f->is_dir = is_dir;
    return f->host_path != NULL && f->guest_path != NULL ? 0 : r->report->code;
}

static bool has_dotdot(const char *p)
{
    for (const char *s = p; (s = strstr(s, "..")) != NULL; s += 2) {
        bool start = s == p || s[-1] == '/';
        bool end = s[2] == '\0' || s[2] == '/';
        if (start && end)
            return true;
    }
    return false;
}

static bool excluded(const struct manifest_component *c, const char *rel)
{
    for (size_t i = 0; i < c->n_exclude_files; i++) {
        if (fnmatch(c->exclude_files[i], rel, 0) == 0)
            return true;
    }
    return false;
}

/* One glob pattern: every regular file it matches, outside exclude_files,
 * mounted at the same relative path under the guest's root. */
static int expand_glob(struct mreader *r, struct manifest_component *c, struct file_list *l,
                       const struct toml_value *v, const char *path, const char *pattern)
{
    if (pattern[0] == '/' || has_dotdot(pattern))
        return mr_error_at(r, v, path,
                           "\"%s\" leaves the application directory; expected a relative glob "
                           "without '..'",
                           pattern);
    char *full = resolve(r, pattern);
    if (full == NULL)
        return r->report->code;
    glob_t g;
    int grc = glob(full, 0, NULL, &g);
    if (grc == GLOB_NOMATCH)
        return 0;
    if (grc != 0)
        return mr_error_at(r, v, path, "cannot expand \"%s\"", pattern);
    size_t prefix = strcmp(r->owner->m.dir, ".") == 0 ? 0 : strlen(r->owner->m.dir) + 1;
    int rc = 0;
    for (size_t i = 0; i < g.gl_pathc && rc == 0; i++) {
        const char *host = g.gl_pathv[i];
        struct stat st;
        if (stat(host, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        const char *rel = host + (strlen(host) >= prefix ? prefix : 0);
        if (excluded(c, rel))
            continue;
        char guest[4096];
        snprintf(guest, sizeof guest, "/%s", rel);
        rc = files_push(r, l, host, guest, false, v, path);
    }
    globfree(&g);
    return rc;
}

static int read_files(struct mreader *r, const struct toml_value *table, const char *path,
                      struct manifest_component *c)
{
    char sub[MR_PATH_MAX];
    mr_path(sub, path, "files");
    const struct toml_value *v = mr_get(table, "files");
    if (v == NULL)
        return 0;
    if (v->type != TOML_ARRAY)
        return mr_error_at(r, v, sub, "expected an array of globs and { source, destination }");
    struct file_list l = {0};
    for (size_t i = 0; i < v->u.arr->len; i++) {
        const struct toml_value *e = &v->u.arr->items[i];
        char item[MR_PATH_MAX + 24];
        snprintf(item, sizeof item, "%s[%zu]", sub, i);
        int rc;
        if (e->type == TOML_STRING) {
            rc = expand_glob(r, c, &l, e, item, e->u.str.ptr);
        } else if (e->type == TOML_TABLE) {
            static const char *const keys[] = {"source", "destination", NULL};
            const char *source = NULL, *dest = NULL;
            rc = mr_check_keys(r, e, item, keys);
            if (rc == 0)
                rc = mr_string(r, e, "source", item, true, &source);
            if (rc == 0)
                rc = mr_string(r, e, "destination", item, true, &dest);
            if (rc != 0)
                return rc;
            char dsub[MR_PATH_MAX];
            if (dest[0] != '/')
                return mr_error_at(r, mr_get(e, "destination"), mr_path(dsub, item, "destination"),
                                   "expected an absolute guest path, such as \"/\"");
            char *host = resolve(r, source);
            if (host == NULL)
                return r->report->code;
            struct stat st;
            if (!r->options->skip_sources && (stat(host, &st) != 0 || !S_ISDIR(st.st_mode)))
                return mr_error_at(r, mr_get(e, "source"), mr_path(dsub, item, "source"),
                                   "directory \"%s\" does not exist; expected a directory", host);
            rc = files_push(r, &l, host, dest, true, e, item);
        } else {
            rc = mr_error_at(r, e, item, "expected a glob string or { source, destination }");
        }
        if (rc != 0)
            return rc;
    }
    c->files = l.items;
    c->n_files = l.len;
    return 0;
}

static int read_outbound(struct mreader *r, const struct toml_value *table, const char *path,
                         struct manifest_component *c)
{
    const char **hosts = NULL, **http_hosts = NULL;
    size_t n_hosts = 0, n_http = 0;
    int rc = mr_string_array(r, table, "allowed_outbound_hosts", path, &hosts, &n_hosts);
    if (rc == 0)
        rc = mr_string_array(r, table, "allowed_http_hosts", path, &http_hosts, &n_http);
    if (rc != 0)
        return rc;
    /* The deprecated allowed_http_hosts: "host[:port]" means http and https;
     * "insecure:allow-all" means anything. */
    c->outbound = mr_alloc(r, n_hosts + 2 * n_http + 1, sizeof *c->outbound);
    if (c->outbound == NULL)
        return r->report->code;
    for (size_t i = 0; i < n_hosts + n_http; i++) {
        bool legacy = i >= n_hosts;
        const char *text = legacy ? http_hosts[i - n_hosts] : hosts[i];
        const struct toml_value *arr =
            mr_get(table, legacy ? "allowed_http_hosts" : "allowed_outbound_hosts");
        const struct toml_value *e = &arr->u.arr->items[legacy ? i - n_hosts : i];
        char sub[MR_PATH_MAX], item[MR_PATH_MAX + 24];
        mr_path(sub, path, legacy ? "allowed_http_hosts" : "allowed_outbound_hosts");
        snprintf(item, sizeof item, "%s[%zu]", sub, legacy ? i - n_hosts : i);
        const char *forms[2] = {text, NULL};
        if (legacy && strcmp(text, "insecure:allow-all") == 0) {
            forms[0] = "*://*:*";
        } else if (legacy && strstr(text, "://") == NULL) {
            forms[0] = mr_printf(r, "http://%s", text);
            forms[1] = mr_printf(r, "https://%s", text);
            if (forms[0] == NULL || forms[1] == NULL)
                return r->report->code;
        }
        for (size_t k = 0; k < 2 && forms[k] != NULL; k++) {
            char why[256];
            struct manifest_outbound *o = &c->outbound[c->n_outbound];
            if (outbound_parse(forms[k], o, why, sizeof why, &r->owner->arena) != 0)
                return mr_error_at(r, e, item, "\"%s\": %s", text, why);
            if (o->templated) {
                rc = mr_check_template(r, e, item, forms[k]);
                if (rc != 0)
                    return rc;
            }
            c->n_outbound++;
        }
    }
    return 0;
}

static int read_labels(struct mreader *r, const struct toml_value *table, const char *key,
                       const char *path, bool kebab_only, const char ***out, size_t *n)
{
    int rc = mr_string_array(r, table, key, path, out, n);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < *n; i++) {
        const char *s = (*out)[i];
        if (mr_is_id(s, '-', false) || (!kebab_only && mr_is_id(s, '_', false)))
            continue;
        char sub[MR_PATH_MAX], item[MR_PATH_MAX + 24];
        mr_path(sub, path, key);
        snprintf(item, sizeof item, "%s[%zu]", sub, i);
        return mr_error_at(r, &mr_get(table, key)->u.arr->items[i], item,
                           "invalid label \"%s\"; expected %s", s,
                           kebab_only ? "kebab-case" : "kebab-case or snake_case");
    }
    return 0;
}

static int read_build(struct mreader *r, const struct toml_value *table, const char *path,
                      struct manifest_component *c)
{
    char sub[MR_PATH_MAX];
    mr_path(sub, path, "build");
    const struct toml_value *v = mr_get(table, "build");
    if (v == NULL)
        return 0;
    static const char *const keys[] = {"command", "workdir", "watch", "environment", NULL};
    int rc = mr_expect_table(r, v, sub);
    if (rc == 0)
        rc = mr_check_keys(r, v, sub, keys);
    if (rc != 0)
        return rc;
    c->has_build = true;
    const struct toml_value *cmd = mr_get(v, "command");
    char csub[MR_PATH_MAX];
    mr_path(csub, sub, "command");
    if (cmd == NULL)
        return mr_error_at(r, v, csub, "missing; expected the build command");
    if (cmd->type == TOML_ARRAY) {
        /* Several commands run in order: kept joined with " && ". */
        const char **parts;
        size_t n;
        rc = mr_string_array(r, v, "command", sub, &parts, &n);
        if (rc != 0)
            return rc;
        const char *joined = "";
        for (size_t i = 0; i < n; i++) {
            joined = mr_printf(r, "%s%s%s", joined, i > 0 ? " && " : "", parts[i]);
            if (joined == NULL)
                return r->report->code;
        }
        c->build_command = joined;
    } else {
        rc = mr_string(r, v, "command", sub, true, &c->build_command);
        if (rc != 0)
            return rc;
    }
    rc = mr_string(r, v, "workdir", sub, false, &c->build_workdir);
    if (rc == 0)
        rc = mr_string_array(r, v, "watch", sub, &c->build_watch, &c->n_build_watch);
    return rc;
}

static int read_dependencies(struct mreader *r, const struct toml_value *table, const char *path,
                             struct manifest_component *c)
{
    char sub[MR_PATH_MAX];
    mr_path(sub, path, "dependencies");
    const struct toml_value *v = mr_get(table, "dependencies");
    if (v == NULL)
        return 0;
    int rc = mr_expect_table(r, v, sub);
    if (rc != 0)
        return rc;
    const struct toml_table *t = v->u.tab;
    c->dependencies = mr_alloc(r, t->len + 1, sizeof *c->dependencies);
    if (c->dependencies == NULL)
        return r->report->code;
    static const char *const keys[] = {"version", "registry", "package", "export",
                                       "path",    "url",      "digest",  NULL};
    for (size_t i = 0; i < t->len; i++) {
        const struct toml_keyval *kv = &t->items[i];
        struct manifest_dependency *d = &c->dependencies[i];
        char item[MR_PATH_MAX];
        mr_path(item, sub, kv->key);
        d->name = kv->key;
        if (kv->value.type == TOML_STRING) {
            d->version = kv->value.u.str.ptr;
            continue;
        }
        rc = mr_expect_table(r, &kv->value, item);
        if (rc == 0)
            rc = mr_check_keys(r, &kv->value, item, keys);
        if (rc == 0)
            rc = mr_string(r, &kv->value, "version", item, false, &d->version);
        if (rc == 0)
            rc = mr_string(r, &kv->value, "registry", item, false, &d->registry);
        if (rc == 0)
            rc = mr_string(r, &kv->value, "package", item, false, &d->package);
        if (rc == 0)
            rc = mr_string(r, &kv->value, "export", item, false, &d->export_name);
        if (rc == 0)
            rc = mr_string(r, &kv->value, "path", item, false, &d->path);
        if (rc != 0)
            return rc;
        if (d->version == NULL && d->path == NULL && mr_get(&kv->value, "url") == NULL)
            return mr_error_at(r, &kv->value, item, "expected `version`, `path` or `url`");
    }
    c->n_dependencies = t->len;
    return 0;
}

static int read_variables(struct mreader *r, const struct toml_value *table, const char *key,
                          const char *path, struct manifest_component *c)
{
    int rc = mr_string_table(r, table, key, path, &c->variables, &c->n_variables);
    if (rc != 0)
        return rc;
    const struct toml_value *vars = mr_get(table, key);
    for (size_t i = 0; i < c->n_variables; i++) {
        const struct toml_keyval *kv = &vars->u.tab->items[i];
        char sub[MR_PATH_MAX], item[MR_PATH_MAX];
        mr_path(sub, path, key);
        mr_path(item, sub, kv->key);
        if (!mr_is_id(kv->key, '_', true))
            return mr_error(r, kv->line, kv->col, item,
                            "invalid variable name; expected lower_snake_case");
        rc = mr_check_template(r, &kv->value, item, kv->value.u.str.ptr);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int mr_component(struct mreader *r, const struct toml_value *table, const char *id,
                 const char *path, bool v1, struct manifest_component **out)
{
    static const char *const keys_v2[] = {"source",
                                          "description",
                                          "variables",
                                          "environment",
                                          "files",
                                          "exclude_files",
                                          "allowed_http_hosts",
                                          "allowed_outbound_hosts",
                                          "key_value_stores",
                                          "sqlite_databases",
                                          "ai_models",
                                          "build",
                                          "tool",
                                          "dependencies_inherit_configuration",
                                          "dependencies",
                                          NULL};
    static const char *const keys_v1[] = {"id",
                                          "source",
                                          "description",
                                          "config",
                                          "environment",
                                          "files",
                                          "exclude_files",
                                          "allowed_http_hosts",
                                          "key_value_stores",
                                          "sqlite_databases",
                                          "ai_models",
                                          "build",
                                          "trigger",
                                          NULL};
    int rc = mr_expect_table(r, table, path);
    if (rc == 0)
        rc = mr_check_keys(r, table, path, v1 ? keys_v1 : keys_v2);
    if (rc != 0)
        return rc;
    struct manifest_component *c = mr_alloc(r, 1, sizeof *c);
    if (c == NULL)
        return r->report->code;
    c->id = id;
    c->line = table->line;
    c->col = table->col;
    bool inherit = false;
    rc = mr_string(r, table, "description", path, false, &c->description);
    if (rc == 0)
        rc = read_variables(r, table, v1 ? "config" : "variables", path, c);
    if (rc == 0)
        rc = mr_string_table(r, table, "environment", path, &c->environment, &c->n_environment);
    if (rc == 0)
        rc = mr_string_array(r, table, "exclude_files", path, &c->exclude_files,
                             &c->n_exclude_files);
    if (rc == 0)
        rc = read_files(r, table, path, c);
    if (rc == 0)
        rc = read_outbound(r, table, path, c);
    if (rc == 0)
        rc = read_labels(r, table, "key_value_stores", path, false, &c->key_value_stores,
                         &c->n_key_value_stores);
    if (rc == 0)
        rc = read_labels(r, table, "sqlite_databases", path, false, &c->sqlite_databases,
                         &c->n_sqlite_databases);
    if (rc == 0)
        rc = read_labels(r, table, "ai_models", path, true, &c->ai_models, &c->n_ai_models);
    if (rc == 0)
        rc = read_build(r, table, path, c);
    if (rc == 0 && !v1)
        rc = mr_bool(r, table, "dependencies_inherit_configuration", path, &inherit);
    if (rc == 0 && !v1)
        rc = read_dependencies(r, table, path, c);
    if (rc == 0)
        rc = read_source(r, table, path, &c->source);
    if (rc != 0)
        return rc;
    struct manifest *m = &r->owner->m;
    m->components[m->n_components++] = c;
    *out = c;
    return 0;
}

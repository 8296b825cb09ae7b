/*
 * spin.toml version 2: the top level ([application], [variables],
 * [[trigger.*]]), HTTP triggers, and loading. Components are read in
 * manifest_component.c, version 1 in manifest_v1.c.
 */
#include "app/manifest_impl.h"

#include "base/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int read_application(struct mreader *r, const struct toml_value *app)
{
    struct manifest *m = &r->owner->m;
    static const char *const keys[] = {"name",    "version", "description", "authors",
                                       "targets", "trigger", "tool",        NULL};
    int rc = mr_expect_table(r, app, "application");
    if (rc == 0)
        rc = mr_check_keys(r, app, "application", keys);
    if (rc == 0)
        rc = mr_string(r, app, "name", "application", true, &m->name);
    if (rc == 0)
        rc = mr_string(r, app, "version", "application", false, &m->app_version);
    if (rc == 0)
        rc = mr_string(r, app, "description", "application", false, &m->description);
    if (rc == 0)
        rc = mr_string_array(r, app, "authors", "application", &m->authors, &m->n_authors);
    if (rc == 0)
        rc = mr_string_array(r, app, "targets", "application", &m->targets, &m->n_targets);
    if (rc != 0)
        return rc;
    const struct toml_value *trig = mr_get(app, "trigger");
    if (trig == NULL)
        return 0;
    rc = mr_expect_table(r, trig, "application.trigger");
    if (rc != 0)
        return rc;
    const struct toml_table *t = trig->u.tab;
    m->trigger_settings = mr_alloc(r, t->len + 1, sizeof *m->trigger_settings);
    if (m->trigger_settings == NULL)
        return r->report->code;
    for (size_t i = 0; i < t->len; i++) {
        char sub[MR_PATH_MAX];
        mr_path(sub, "application.trigger", t->items[i].key);
        rc = mr_expect_table(r, &t->items[i].value, sub);
        if (rc != 0)
            return rc;
        m->trigger_settings[i].type = t->items[i].key;
        m->trigger_settings[i].settings = t->items[i].value.u.tab;
    }
    m->n_trigger_settings = t->len;
    return 0;
}

static int read_variables(struct mreader *r, const struct toml_value *vars)
{
    struct manifest *m = &r->owner->m;
    int rc = mr_expect_table(r, vars, "variables");
    if (rc != 0)
        return rc;
    const struct toml_table *t = vars->u.tab;
    m->variables = mr_alloc(r, t->len + 1, sizeof *m->variables);
    if (m->variables == NULL)
        return r->report->code;
    static const char *const keys[] = {"default", "required", "secret", NULL};
    for (size_t i = 0; i < t->len; i++) {
        const struct toml_keyval *kv = &t->items[i];
        char sub[MR_PATH_MAX];
        mr_path(sub, "variables", kv->key);
        if (!mr_is_id(kv->key, '_', true))
            return mr_error(r, kv->line, kv->col, sub,
                            "invalid variable name; expected lower_snake_case (words of a-z "
                            "and 0-9, each starting with a letter, joined by '_')");
        struct manifest_variable *v = &m->variables[i];
        v->name = kv->key;
        rc = mr_expect_table(r, &kv->value, sub);
        if (rc == 0)
            rc = mr_check_keys(r, &kv->value, sub, keys);
        if (rc == 0)
            rc = mr_string(r, &kv->value, "default", sub, false, &v->default_value);
        if (rc == 0)
            rc = mr_bool(r, &kv->value, "required", sub, &v->required);
        if (rc == 0)
            rc = mr_bool(r, &kv->value, "secret", sub, &v->secret);
        if (rc != 0)
            return rc;
        if (v->required && v->default_value != NULL)
            return mr_error_at(r, &kv->value, sub,
                               "a required variable cannot have a default; expected one of "
                               "`default = \"...\"` or `required = true`");
        if (!v->required && v->default_value == NULL)
            return mr_error_at(r, &kv->value, sub,
                               "expected `default = \"...\"` or `required = true`");
    }
    m->n_variables = t->len;
    return 0;
}

/* "/", "/a/b", "/a/:name/c", "/a/..." (toml.io aside: Spin's route syntax). */
static int check_route(struct mreader *r, const struct toml_value *v, const char *path,
                       const char *route, enum manifest_route_kind *kind)
{
    if (route[0] != '/')
        return mr_error_at(r, v, path, "route \"%s\" must start with '/'", route);
    *kind = MANIFEST_ROUTE_EXACT;
    const char *seg = route + 1;
    while (*seg != '\0') {
        const char *end = strchr(seg, '/');
        size_t len = end != NULL ? (size_t)(end - seg) : strlen(seg);
        if (len == 3 && memcmp(seg, "...", 3) == 0) {
            if (end != NULL && end[1] != '\0')
                return mr_error_at(r, v, path, "route \"%s\": '...' must be the last segment",
                                   route);
            *kind = MANIFEST_ROUTE_WILDCARD;
        } else if (len > 0 && seg[0] == ':') {
            if (len == 1)
                return mr_error_at(r, v, path, "route \"%s\": ':' needs a parameter name", route);
        }
        if (end == NULL)
            break;
        seg = end + 1;
    }
    return 0;
}

/* route = "/path" | { private = true } */
static int read_route(struct mreader *r, const struct toml_value *entry, const char *path,
                      struct manifest_http_trigger *h)
{
    char sub[MR_PATH_MAX];
    mr_path(sub, path, "route");
    const struct toml_value *v = mr_get(entry, "route");
    if (v == NULL)
        return mr_error_at(r, entry, sub,
                           "missing; expected a route such as \"/...\" or { private = true }");
    if (v->type == TOML_STRING) {
        h->route = v->u.str.ptr;
        return check_route(r, v, sub, h->route, &h->route_kind);
    }
    if (v->type == TOML_TABLE) {
        static const char *const keys[] = {"private", NULL};
        bool priv = false;
        int rc = mr_check_keys(r, v, sub, keys);
        if (rc == 0)
            rc = mr_bool(r, v, "private", sub, &priv);
        if (rc != 0)
            return rc;
        if (!priv)
            return mr_error_at(r, v, sub, "expected { private = true }");
        h->route_kind = MANIFEST_ROUTE_PRIVATE;
        return 0;
    }
    return mr_error_at(r, v, sub, "expected a route string or { private = true }, found a %s",
                       toml_type_name(v->type));
}

static int read_executor(struct mreader *r, const struct toml_value *entry, const char *path,
                         struct manifest_http_trigger *h)
{
    h->executor = MANIFEST_EXECUTOR_SPIN;
    h->wagi_argv = "${SCRIPT_NAME} ${ARGS}";
    h->wagi_entrypoint = "_start";
    char sub[MR_PATH_MAX];
    mr_path(sub, path, "executor");
    const struct toml_value *v = mr_get(entry, "executor");
    if (v == NULL)
        return 0;
    int rc = mr_expect_table(r, v, sub);
    const char *type = NULL;
    if (rc == 0)
        rc = mr_string(r, v, "type", sub, true, &type);
    if (rc != 0)
        return rc;
    if (strcmp(type, "spin") == 0 || strcmp(type, "http") == 0) {
        static const char *const keys[] = {"type", NULL};
        return mr_check_keys(r, v, sub, keys);
    }
    if (strcmp(type, "wagi") == 0) {
        static const char *const keys[] = {"type", "argv", "entrypoint", NULL};
        h->executor = MANIFEST_EXECUTOR_WAGI;
        rc = mr_check_keys(r, v, sub, keys);
        if (rc == 0)
            rc = mr_string(r, v, "argv", sub, false, &h->wagi_argv);
        if (rc == 0)
            rc = mr_string(r, v, "entrypoint", sub, false, &h->wagi_entrypoint);
        return rc;
    }
    char tsub[MR_PATH_MAX];
    return mr_error_at(r, mr_get(v, "type"), mr_path(tsub, sub, "type"),
                       "unknown executor \"%s\"; expected \"spin\" or \"wagi\"", type);
}

static int read_static_response(struct mreader *r, const struct toml_value *v, const char *path,
                                struct manifest_static_response *s)
{
    static const char *const keys[] = {"status_code", "headers", "body", NULL};
    int rc = mr_expect_table(r, v, path);
    if (rc == 0)
        rc = mr_check_keys(r, v, path, keys);
    if (rc != 0)
        return rc;
    s->status_code = 200;
    const struct toml_value *code = mr_get(v, "status_code");
    if (code != NULL) {
        char sub[MR_PATH_MAX];
        mr_path(sub, path, "status_code");
        if (code->type != TOML_INTEGER || code->u.integer < 100 || code->u.integer > 599)
            return mr_error_at(r, code, sub, "expected an HTTP status code (100 to 599)");
        s->status_code = (int)code->u.integer;
    }
    rc = mr_string_table(r, v, "headers", path, &s->headers, &s->n_headers);
    if (rc != 0)
        return rc;
    const struct toml_value *body = mr_get(v, "body");
    if (body != NULL) {
        char sub[MR_PATH_MAX];
        if (body->type != TOML_STRING)
            return mr_error_at(r, body, mr_path(sub, path, "body"), "expected a string, found a %s",
                               toml_type_name(body->type));
        s->body = body->u.str.ptr;
        s->body_len = body->u.str.len;
    }
    return 0;
}

/* component = "id" | { inline component }. Declared ids are resolved after
 * every [component.*] is read. */
static int read_component_ref(struct mreader *r, const struct toml_value *entry, const char *path,
                              const char *trigger_id, struct manifest_component **out)
{
    char sub[MR_PATH_MAX];
    mr_path(sub, path, "component");
    const struct toml_value *v = mr_get(entry, "component");
    if (v == NULL)
        return 0;
    struct manifest *m = &r->owner->m;
    if (v->type == TOML_STRING) {
        struct manifest_component *c = manifest_find_component(m, v->u.str.ptr);
        if (c == NULL)
            return mr_error_at(r, v, sub,
                               "no component \"%s\"; expected the id of a [component.<id>] "
                               "table",
                               v->u.str.ptr);
        *out = c;
        return 0;
    }
    if (v->type != TOML_TABLE)
        return mr_error_at(r, v, sub, "expected a component id or an inline component table");
    const char *id = trigger_id;
    if (id == NULL || !mr_is_id(id, '-', false) || manifest_find_component(m, id) != NULL) {
        id = mr_printf(r, "inline-component-%zu", ++r->n_inline);
        if (id == NULL)
            return r->report->code;
    }
    struct manifest_component *c;
    int rc = mr_component(r, v, id, sub, false, &c);
    if (rc != 0)
        return rc;
    *out = c;
    return 0;
}

static int read_http_trigger(struct mreader *r, const struct toml_value *entry, const char *path,
                             struct manifest_http_trigger *h)
{
    static const char *const keys[] = {"id",       "route",           "component",
                                       "executor", "static_response", NULL};
    int rc = mr_expect_table(r, entry, path);
    if (rc == 0)
        rc = mr_check_keys(r, entry, path, keys);
    if (rc == 0)
        rc = mr_string(r, entry, "id", path, false, &h->id);
    if (rc == 0)
        rc = read_route(r, entry, path, h);
    if (rc == 0)
        rc = read_executor(r, entry, path, h);
    if (rc == 0)
        rc = read_component_ref(r, entry, path, h->id, &h->component);
    if (rc != 0)
        return rc;
    h->line = entry->line;
    h->col = entry->col;
    const struct toml_value *sr = mr_get(entry, "static_response");
    if (sr != NULL) {
        char sub[MR_PATH_MAX];
        mr_path(sub, path, "static_response");
        if (h->component != NULL)
            return mr_error_at(r, sr, sub,
                               "a trigger has either `component` or `static_response`, not both");
        h->has_static_response = true;
        return read_static_response(r, sr, sub, &h->static_response);
    }
    if (h->component == NULL)
        return mr_error_at(r, entry, path,
                           "expected `component = \"<id>\"`, an inline component, or "
                           "`static_response`");
    return 0;
}

static int read_other_trigger(struct mreader *r, const char *type, const struct toml_value *entry,
                              const char *path, struct manifest_other_trigger *o)
{
    int rc = mr_expect_table(r, entry, path);
    if (rc == 0)
        rc = mr_string(r, entry, "id", path, false, &o->id);
    if (rc == 0)
        rc = read_component_ref(r, entry, path, o->id, &o->component);
    if (rc != 0)
        return rc;
    o->type = type;
    o->config = entry->u.tab;
    return 0;
}

static int read_triggers(struct mreader *r, const struct toml_value *root)
{
    struct manifest *m = &r->owner->m;
    const struct toml_value *trig = mr_get(root, "trigger");
    if (trig == NULL)
        return mr_error(r, 1, 1, "trigger", "missing; expected at least one [[trigger.http]]");
    int rc = mr_expect_table(r, trig, "trigger");
    if (rc != 0)
        return rc;
    const struct toml_table *t = trig->u.tab;
    size_t n_http = 0, n_other = 0;
    for (size_t i = 0; i < t->len; i++) {
        const struct toml_keyval *kv = &t->items[i];
        char sub[MR_PATH_MAX];
        mr_path(sub, "trigger", kv->key);
        if (kv->value.type != TOML_ARRAY)
            return mr_error_at(r, &kv->value, sub, "expected an array of tables ([[%s]])", sub);
        if (strcmp(kv->key, "http") == 0)
            n_http += kv->value.u.arr->len;
        else
            n_other += kv->value.u.arr->len;
    }
    m->http_triggers = mr_alloc(r, n_http + 1, sizeof *m->http_triggers);
    m->other_triggers = mr_alloc(r, n_other + 1, sizeof *m->other_triggers);
    if (m->http_triggers == NULL || m->other_triggers == NULL)
        return r->report->code;
    for (size_t i = 0; i < t->len; i++) {
        const struct toml_keyval *kv = &t->items[i];
        const struct toml_array *a = kv->value.u.arr;
        for (size_t k = 0; k < a->len; k++) {
            char sub[MR_PATH_MAX], item[MR_PATH_MAX + 24];
            mr_path(sub, "trigger", kv->key);
            snprintf(item, sizeof item, "%s[%zu]", sub, k);
            if (strcmp(kv->key, "http") == 0)
                rc = read_http_trigger(r, &a->items[k], item,
                                       &m->http_triggers[m->n_http_triggers++]);
            else
                rc = read_other_trigger(r, kv->key, &a->items[k], item,
                                        &m->other_triggers[m->n_other_triggers++]);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/* Components are read before triggers so that references resolve; the
 * array has room for every declared and every possible inline component. */
static int read_components(struct mreader *r, const struct toml_value *root)
{
    struct manifest *m = &r->owner->m;
    size_t declared = 0, triggers = 0;
    const struct toml_value *comps = mr_get(root, "component");
    if (comps != NULL) {
        int rc = mr_expect_table(r, comps, "component");
        if (rc != 0)
            return rc;
        declared = comps->u.tab->len;
    }
    const struct toml_value *trig = mr_get(root, "trigger");
    if (trig != NULL && trig->type == TOML_TABLE) {
        for (size_t i = 0; i < trig->u.tab->len; i++) {
            const struct toml_value *a = &trig->u.tab->items[i].value;
            if (a->type == TOML_ARRAY)
                triggers += a->u.arr->len;
        }
    }
    m->components = mr_alloc(r, declared + triggers + 1, sizeof *m->components);
    if (m->components == NULL)
        return r->report->code;
    for (size_t i = 0; i < declared; i++) {
        const struct toml_keyval *kv = &comps->u.tab->items[i];
        char sub[MR_PATH_MAX];
        mr_path(sub, "component", kv->key);
        if (!mr_is_id(kv->key, '-', false))
            return mr_error(r, kv->line, kv->col, sub,
                            "invalid component id; expected kebab-case (words of letters and "
                            "digits, each starting with a letter, joined by '-')");
        struct manifest_component *c;
        int rc = mr_component(r, &kv->value, kv->key, sub, false, &c);
        if (rc != 0)
            return rc;
        c->line = kv->line;
        c->col = kv->col;
    }
    return 0;
}

static int read_v2(struct mreader *r, const struct toml_value *root)
{
    static const char *const keys[] = {
        "spin_manifest_version", "application", "variables", "trigger", "component", NULL};
    int rc = mr_check_keys(r, root, "", keys);
    if (rc != 0)
        return rc;
    const struct toml_value *app = mr_get(root, "application");
    if (app == NULL)
        return mr_error(r, 1, 1, "application", "missing; expected an [application] table");
    rc = read_application(r, app);
    if (rc != 0)
        return rc;
    const struct toml_value *vars = mr_get(root, "variables");
    if (vars != NULL) {
        rc = read_variables(r, vars);
        if (rc != 0)
            return rc;
    }
    rc = read_components(r, root);
    if (rc == 0)
        rc = read_triggers(r, root);
    return rc;
}

struct manifest_component *manifest_find_component(const struct manifest *m, const char *id)
{
    for (size_t i = 0; i < m->n_components; i++) {
        if (strcmp(m->components[i]->id, id) == 0)
            return m->components[i];
    }
    return NULL;
}

static char *dir_of(struct mreader *r, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return mr_strdup(r, ".");
    if (slash == path)
        return mr_strdup(r, "/");
    return mr_printf(r, "%.*s", (int)(slash - path), path);
}

int manifest_parse(const char *text, size_t len, const char *path,
                   const struct manifest_options *options, struct manifest **out,
                   struct spry_report *report)
{
    static const struct manifest_options defaults = {0};
    struct manifest_owner *o = spry_calloc(1, sizeof *o);
    if (o == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "%s: out of memory", path);
    spry_arena_init(&o->arena, (size_t)64 << 20);
    struct mreader r = {.owner = o,
                        .file = path,
                        .options = options != NULL ? options : &defaults,
                        .report = report};
    int rc = toml_parse(text, len, path, NULL, &o->doc, report);
    if (rc != 0)
        goto fail;
    struct toml_value root = {.type = TOML_TABLE, .line = 1, .col = 1};
    root.u.tab = (struct toml_table *)toml_doc_root(o->doc);
    o->m.path = mr_strdup(&r, path);
    o->m.dir = dir_of(&r, path);
    if (o->m.path == NULL || o->m.dir == NULL) {
        rc = SPRY_ENOMEM;
        goto fail;
    }
    const struct toml_value *ver = mr_get(&root, "spin_manifest_version");
    const struct toml_value *old = mr_get(&root, "spin_version");
    if (ver != NULL && ver->type == TOML_INTEGER && ver->u.integer == 2) {
        o->m.version = 2;
        rc = read_v2(&r, &root);
    } else if ((ver != NULL && ver->type == TOML_STRING && strcmp(ver->u.str.ptr, "1") == 0) ||
               (ver == NULL && old != NULL && old->type == TOML_STRING &&
                strcmp(old->u.str.ptr, "1") == 0)) {
        o->m.version = 1;
        rc = manifest_v1_read(&r, &root);
    } else if (ver == NULL) {
        rc = mr_error(&r, 1, 1, "spin_manifest_version",
                      "missing; expected `spin_manifest_version = 2`");
    } else {
        rc = mr_error_at(&r, ver, "spin_manifest_version",
                         "unsupported version; expected 2 (or \"1\", converted on load)");
    }
    if (rc != 0)
        goto fail;
    *out = &o->m;
    return 0;
fail:
    manifest_destroy(&o->m);
    return rc;
}

int manifest_load(const char *path, const struct manifest_options *options, struct manifest **out,
                  struct spry_report *report)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return spry_report_set(report, SPRY_EIO, "%s: cannot open the manifest: %s", path,
                               strerror(errno));
    struct toml_limits limits;
    toml_limits_default(&limits);
    char *text = spry_malloc(limits.max_input + 1);
    if (text == NULL) {
        fclose(f);
        return spry_report_set(report, SPRY_ENOMEM, "%s: out of memory", path);
    }
    size_t len = fread(text, 1, limits.max_input + 1, f);
    bool failed = ferror(f) != 0;
    fclose(f);
    int rc;
    if (failed)
        rc = spry_report_set(report, SPRY_EIO, "%s: cannot read the manifest", path);
    else if (len > limits.max_input)
        rc = spry_report_set(report, SPRY_ETOOBIG, "%s: larger than %zu bytes", path,
                             limits.max_input);
    else
        rc = manifest_parse(text, len, path, options, out, report);
    spry_free(text);
    return rc;
}

void manifest_destroy(struct manifest *m)
{
    if (m == NULL)
        return;
    struct manifest_owner *o = (struct manifest_owner *)m; /* m is the first member */
    toml_doc_destroy(o->doc);
    spry_arena_fini(&o->arena);
    spry_free(o);
}

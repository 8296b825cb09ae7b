/*
 * spin.toml version 1 (`spin_manifest_version = "1"`, or the older
 * `spin_version = "1"`), converted on load to the version 2 structures:
 *
 *   name, version, description, authors   -> [application]
 *   trigger = { type = "http", base = "/" } -> HTTP triggers, routes prefixed by base;
 *                                             other keys -> [application.trigger.TYPE]
 *   [[component]] id = "..."               -> [component.<id>]
 *   [component.trigger] route, executor    -> one [[trigger.http]] per component
 *   [component.trigger] (other types)      -> [[trigger.TYPE]] with those settings
 *   config = { ... }                       -> variables = { ... }
 *   allowed_http_hosts                     -> allowed_outbound_hosts (as in version 2)
 */
#include "app/manifest_impl.h"

#include <stdio.h>
#include <string.h>

/* base "/" + route "/hello" = "/hello"; base "/api" + "/..." = "/api/..." */
static const char *join_route(struct mreader *r, const char *base, const char *route)
{
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    return mr_printf(r, "%.*s%s", (int)blen, base, route);
}

static int read_component_trigger(struct mreader *r, const struct toml_value *ctab,
                                  const char *path, const char *type, const char *base,
                                  struct manifest_component *c)
{
    struct manifest *m = &r->owner->m;
    char sub[MR_PATH_MAX];
    mr_path(sub, path, "trigger");
    const struct toml_value *t = mr_get(ctab, "trigger");
    if (t == NULL)
        return mr_error_at(r, ctab, sub, "missing; expected a [component.trigger] table");
    int rc = mr_expect_table(r, t, sub);
    if (rc != 0)
        return rc;
    if (strcmp(type, "http") != 0) {
        struct manifest_other_trigger *o = &m->other_triggers[m->n_other_triggers++];
        o->type = type;
        o->id = c->id;
        o->component = c;
        o->config = t->u.tab;
        return 0;
    }
    static const char *const keys[] = {"route", "executor", NULL};
    rc = mr_check_keys(r, t, sub, keys);
    if (rc != 0)
        return rc;
    struct manifest_http_trigger *h = &m->http_triggers[m->n_http_triggers++];
    const char *route;
    rc = mr_string(r, t, "route", sub, true, &route);
    if (rc != 0)
        return rc;
    char rsub[MR_PATH_MAX];
    mr_path(rsub, sub, "route");
    if (route[0] != '/')
        return mr_error_at(r, mr_get(t, "route"), rsub, "route \"%s\" must start with '/'", route);
    h->route = join_route(r, base, route);
    if (h->route == NULL)
        return r->report->code;
    size_t n = strlen(h->route);
    h->route_kind = n >= 4 && strcmp(h->route + n - 4, "/...") == 0 ? MANIFEST_ROUTE_WILDCARD
                                                                    : MANIFEST_ROUTE_EXACT;
    h->id = c->id;
    h->component = c;
    h->line = t->line;
    h->col = t->col;
    h->executor = MANIFEST_EXECUTOR_SPIN;
    h->wagi_argv = "${SCRIPT_NAME} ${ARGS}";
    h->wagi_entrypoint = "_start";
    const struct toml_value *ex = mr_get(t, "executor");
    if (ex == NULL)
        return 0;
    char esub[MR_PATH_MAX];
    mr_path(esub, sub, "executor");
    const char *etype = NULL;
    rc = mr_expect_table(r, ex, esub);
    if (rc == 0)
        rc = mr_string(r, ex, "type", esub, true, &etype);
    if (rc != 0)
        return rc;
    if (strcmp(etype, "wagi") == 0) {
        h->executor = MANIFEST_EXECUTOR_WAGI;
        rc = mr_string(r, ex, "argv", esub, false, &h->wagi_argv);
        if (rc == 0)
            rc = mr_string(r, ex, "entrypoint", esub, false, &h->wagi_entrypoint);
        return rc;
    }
    if (strcmp(etype, "spin") != 0 && strcmp(etype, "http") != 0)
        return mr_error_at(r, ex, esub, "unknown executor \"%s\"; expected \"spin\" or \"wagi\"",
                           etype);
    return 0;
}

int manifest_v1_read(struct mreader *r, const struct toml_value *root)
{
    struct manifest *m = &r->owner->m;
    static const char *const keys[] = {"spin_manifest_version",
                                       "spin_version",
                                       "name",
                                       "version",
                                       "description",
                                       "authors",
                                       "trigger",
                                       "variables",
                                       "component",
                                       NULL};
    int rc = mr_check_keys(r, root, "", keys);
    if (rc == 0)
        rc = mr_string(r, root, "name", "", true, &m->name);
    if (rc == 0)
        rc = mr_string(r, root, "version", "", false, &m->app_version);
    if (rc == 0)
        rc = mr_string(r, root, "description", "", false, &m->description);
    if (rc == 0)
        rc = mr_string_array(r, root, "authors", "", &m->authors, &m->n_authors);
    if (rc != 0)
        return rc;
    /* Variables are declared the same way in both versions. */
    const struct toml_value *vars = mr_get(root, "variables");
    if (vars != NULL) {
        static const char *const vkeys[] = {"default", "required", "secret", NULL};
        rc = mr_expect_table(r, vars, "variables");
        if (rc != 0)
            return rc;
        m->variables = mr_alloc(r, vars->u.tab->len + 1, sizeof *m->variables);
        if (m->variables == NULL)
            return r->report->code;
        for (size_t i = 0; i < vars->u.tab->len; i++) {
            const struct toml_keyval *kv = &vars->u.tab->items[i];
            struct manifest_variable *v = &m->variables[i];
            char sub[MR_PATH_MAX];
            mr_path(sub, "variables", kv->key);
            if (!mr_is_id(kv->key, '_', true))
                return mr_error(r, kv->line, kv->col, sub,
                                "invalid variable name; expected lower_snake_case");
            v->name = kv->key;
            rc = mr_expect_table(r, &kv->value, sub);
            if (rc == 0)
                rc = mr_check_keys(r, &kv->value, sub, vkeys);
            if (rc == 0)
                rc = mr_string(r, &kv->value, "default", sub, false, &v->default_value);
            if (rc == 0)
                rc = mr_bool(r, &kv->value, "required", sub, &v->required);
            if (rc == 0)
                rc = mr_bool(r, &kv->value, "secret", sub, &v->secret);
            if (rc != 0)
                return rc;
            if (v->required == (v->default_value != NULL))
                return mr_error_at(r, &kv->value, sub,
                                   "expected `default = \"...\"` or `required = true`");
        }
        m->n_variables = vars->u.tab->len;
    }
    const struct toml_value *trig = mr_get(root, "trigger");
    if (trig == NULL)
        return mr_error(r, 1, 1, "trigger", "missing; expected trigger = { type = \"http\" }");
    const char *type = NULL, *base = "/";
    rc = mr_expect_table(r, trig, "trigger");
    if (rc == 0)
        rc = mr_string(r, trig, "type", "trigger", true, &type);
    if (rc == 0 && strcmp(type, "http") == 0)
        rc = mr_string(r, trig, "base", "trigger", false, &base);
    if (rc != 0)
        return rc;
    /* Routes are base + route: a base not starting with '/' made routes
     * that no request path can match (found by fuzz_manifest). */
    if (base[0] != '/')
        return mr_error_at(r, mr_get(trig, "base"), "trigger.base",
                           "base \"%s\" must start with '/'", base);
    m->trigger_settings = mr_alloc(r, 1, sizeof *m->trigger_settings);
    if (m->trigger_settings == NULL)
        return r->report->code;
    m->trigger_settings[0].type = type;
    m->trigger_settings[0].settings = trig->u.tab;
    m->n_trigger_settings = 1;
    const struct toml_value *comps = mr_get(root, "component");
    size_t n = 0;
    if (comps != NULL) {
        if (comps->type != TOML_ARRAY)
            return mr_error_at(r, comps, "component", "expected [[component]] entries");
        n = comps->u.arr->len;
    }
    m->components = mr_alloc(r, n + 1, sizeof *m->components);
    m->http_triggers = mr_alloc(r, n + 1, sizeof *m->http_triggers);
    m->other_triggers = mr_alloc(r, n + 1, sizeof *m->other_triggers);
    if (m->components == NULL || m->http_triggers == NULL || m->other_triggers == NULL)
        return r->report->code;
    for (size_t i = 0; i < n; i++) {
        const struct toml_value *ctab = &comps->u.arr->items[i];
        char path[MR_PATH_MAX];
        snprintf(path, sizeof path, "component[%zu]", i);
        const char *id = NULL;
        rc = mr_expect_table(r, ctab, path);
        if (rc == 0)
            rc = mr_string(r, ctab, "id", path, true, &id);
        if (rc != 0)
            return rc;
        char isub[MR_PATH_MAX];
        mr_path(isub, path, "id");
        if (!mr_is_id(id, '-', false))
            return mr_error_at(r, mr_get(ctab, "id"), isub,
                               "invalid component id \"%s\"; expected kebab-case", id);
        if (manifest_find_component(m, id) != NULL)
            return mr_error_at(r, mr_get(ctab, "id"), isub,
                               "component id \"%s\" is used twice; expected unique ids", id);
        struct manifest_component *c;
        rc = mr_component(r, ctab, id, path, true, &c);
        if (rc == 0)
            rc = read_component_trigger(r, ctab, path, type, base, c);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The spec script interpreter: modules, registrations, actions, assertions. */
#include "spec/script.h"

#include "spec/json.h"
#include "spec/spectest.h"
#include "spec/value.h"
#include "spry/wasm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    SCRIPT_FILE_MAX = 256 * 1024 * 1024, /* a script's JSON or one module file */
    SCRIPT_MAX_VALUES = 1024,            /* arguments or results of one call */
    SCRIPT_MAX_MODULES = 100000,         /* module commands in one script */
    SCRIPT_DETAIL_MAX = 1024,
};

/* A name bound to an instance: a module's "$name" or a registered import
 * name. `inst` is NULL when the named module failed to instantiate. Names
 * point into the script's JSON document. */
struct binding {
    const char *name;
    size_t len;
    struct spry_instance *inst;
    unsigned line; /* of the command that made the binding */
};

struct bindings {
    struct binding *items;
    size_t len, cap;
};

/*
 * One script's state. Invariant: every module that reached instantiation
 * stays in `modules` until the store is destroyed, because the store's
 * objects (functions an instance wrote into a shared table, even when the
 * instantiation trapped later) refer to their module.
 */
struct script {
    const char *dir; /* directory of the JSON file and its modules */
    const struct script_lists *lists;
    struct spry_store *store;
    struct spectest spectest;
    struct spry_module **modules;
    size_t nmodules, modules_cap;
    struct bindings named;      /* module names from module commands ("$m") */
    struct bindings registered; /* names from register commands ("M") */
    struct spry_instance *current;
    unsigned current_line; /* line of the last module command, 0 before any */
    char detail[SCRIPT_DETAIL_MAX];
};

/* ---- small helpers ----------------------------------------------------- */

/* Appends to a fixed buffer, truncating; the buffer stays NUL-terminated. */
struct sbuf {
    char *p;
    size_t size, len;
};

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    if (b->len + 1 >= b->size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    b->len += (size_t)n;
    if (b->len >= b->size)
        b->len = b->size - 1;
}

/* A name as printable text: control bytes, quotes and backslashes escaped. */
static void sb_name(struct sbuf *b, const char *s, size_t len)
{
    sb_printf(b, "\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
            sb_printf(b, "\\x%02x", c);
        else
            sb_printf(b, "%c", c);
    }
    sb_printf(b, "\"");
}

/* Flattens newlines in a message from the engine, so a detail stays one line. */
static void flatten(char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\n' || *s == '\r')
            *s = ' ';
    }
}

static struct sbuf detail_buf(struct script *s)
{
    s->detail[0] = '\0';
    return (struct sbuf){.p = s->detail, .size = sizeof(s->detail)};
}

__attribute__((format(printf, 2, 3))) static enum script_outcome fail(struct script *s,
                                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
    va_end(ap);
    flatten(s->detail);
    return SCRIPT_FAIL;
}

static int read_file(const char *path, uint8_t **out, size_t *out_len, struct spry_report *report)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return spry_report_set(report, SPRY_EIO, "%s: %s", path, strerror(errno));
    size_t cap = 64 * 1024, len = 0;
    uint8_t *buf = malloc(cap);
    int rc = 0;
    if (buf == NULL) {
        rc = spry_report_set(report, SPRY_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (;;) {
        if (len == cap) {
            if (cap >= SCRIPT_FILE_MAX) {
                rc = spry_report_set(report, SPRY_ETOOBIG, "%s: larger than %d bytes", path,
                                     SCRIPT_FILE_MAX);
                goto done;
            }
            uint8_t *b = realloc(buf, cap * 2);
            if (b == NULL) {
                rc = spry_report_set(report, SPRY_ENOMEM, "%s: out of memory", path);
                goto done;
            }
            buf = b;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f))
        rc = spry_report_set(report, SPRY_EIO, "%s: read error", path);
done:
    fclose(f);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

static int bindings_add(struct bindings *b, const char *name, size_t len,
                        struct spry_instance *inst, unsigned line)
{
    if (b->len == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        if (cap > SCRIPT_MAX_MODULES)
            return SPRY_ETOOBIG;
        struct binding *items = realloc(b->items, cap * sizeof(*items));
        if (items == NULL)
            return SPRY_ENOMEM;
        b->items = items;
        b->cap = cap;
    }
    b->items[b->len++] = (struct binding){.name = name, .len = len, .inst = inst, .line = line};
    return 0;
}

/* The latest binding of `name` (a later module of the same name shadows an
 * earlier one), or NULL. */
static const struct binding *bindings_find(const struct bindings *b, const char *name, size_t len)
{
    for (size_t i = b->len; i > 0; i--) {
        const struct binding *e = &b->items[i - 1];
        if (e->len == len && memcmp(e->name, name, len) == 0)
            return e;
    }
    return NULL;
}

static int keep_module(struct script *s, struct spry_module *m)
{
    if (s->nmodules == s->modules_cap) {
        size_t cap = s->modules_cap ? s->modules_cap * 2 : 16;
        if (cap > SCRIPT_MAX_MODULES)
            return SPRY_ETOOBIG;
        struct spry_module **mods = realloc(s->modules, cap * sizeof(*mods));
        if (mods == NULL)
            return SPRY_ENOMEM;
        s->modules = mods;
        s->modules_cap = cap;
    }
    s->modules[s->nmodules++] = m;
    return 0;
}

static const char *trap_text(const struct spry_trap *trap)
{
    return trap->message[0] != '\0' ? trap->message : spry_trap_kind_text(trap->kind);
}

/* ---- modules ------------------------------------------------------------ */

/* Reads and loads the module file `filename` of a command. rc is the
 * engine's code; `report` holds the engine's message (or the runner's, for a
 * file that cannot be read, with SPRY_EIO). */
static int load_module(struct script *s, const char *filename, struct spry_module **out,
                       struct spry_report *report)
{
    if (filename == NULL || strchr(filename, '/') != NULL || filename[0] == '.')
        return spry_report_set(report, SPRY_EIO, "bad module file name");
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/%s", s->dir, filename);
    if (n < 0 || (size_t)n >= sizeof(path))
        return spry_report_set(report, SPRY_EIO, "module path too long");
    uint8_t *bytes;
    size_t len;
    int rc = read_file(path, &bytes, &len, report);
    if (rc != 0)
        return rc == SPRY_ENOMEM ? rc : SPRY_EIO;
    rc = spry_module_load(bytes, len, NULL, out, report);
    free(bytes);
    return rc;
}

/* Resolves a module's imports by (module, name) against the registered
 * instances, then the spectest module. SPRY_EUNLINKABLE with "unknown
 * import" when one is missing; the caller frees *out. */
static int link_imports(struct script *s, const struct spry_module *mod, struct spry_extern **out,
                        size_t *count, struct spry_report *report)
{
    size_t n = spry_module_import_count(mod);
    struct spry_extern *ext = calloc(n ? n : 1, sizeof(*ext));
    if (ext == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct spry_externtype et;
        spry_module_import(mod, i, &et);
        const struct binding *b = bindings_find(&s->registered, et.module, et.module_len);
        int rc = SPRY_ENOTFOUND;
        if (b != NULL && b->inst != NULL)
            rc = spry_instance_export_n(b->inst, et.name, et.name_len, &ext[i]);
        else if (b == NULL && et.module_len == 8 && memcmp(et.module, "spectest", 8) == 0)
            rc = spectest_lookup(&s->spectest, et.name, et.name_len, &ext[i]);
        if (rc != 0) {
            char text[600];
            struct sbuf sb = {.p = text, .size = sizeof(text)};
            sb_name(&sb, et.module, et.module_len);
            sb_printf(&sb, ".");
            sb_name(&sb, et.name, et.name_len);
            free(ext);
            return spry_report_set(report, SPRY_EUNLINKABLE, "unknown import %s (import %zu)", text,
                                   i);
        }
    }
    *out = ext;
    *count = n;
    return 0;
}

/* Links and instantiates a loaded module, which the script keeps from here
 * on (see struct script). */
static int instantiate(struct script *s, struct spry_module *mod, struct spry_instance **out,
                       struct spry_report *report, struct spry_trap *trap)
{
    int rc = keep_module(s, mod);
    if (rc != 0) {
        spry_module_destroy(mod);
        return spry_report_set(report, rc, "too many modules");
    }
    struct spry_extern *imports;
    size_t n;
    rc = link_imports(s, mod, &imports, &n, report);
    if (rc != 0)
        return rc;
    memset(trap, 0, sizeof(*trap));
    rc = spry_instance_create(s->store, mod, imports, n, out, report, trap);
    free(imports);
    return rc;
}

static enum script_outcome cmd_module(struct script *s, const struct json_value *cmd, unsigned line)
{
    const char *filename = json_get_str(cmd, "filename", NULL);
    size_t name_len = 0;
    const char *name = json_get_str(cmd, "name", &name_len);
    struct spry_report report;
    spry_report_init(&report);
    struct spry_trap trap;
    struct spry_module *mod = NULL;
    struct spry_instance *inst = NULL;
    s->current = NULL;
    s->current_line = line;

    int rc = load_module(s, filename, &mod, &report);
    if (rc == 0)
        rc = instantiate(s, mod, &inst, &report, &trap);
    if (name != NULL && bindings_add(&s->named, name, name_len, inst, line) != 0)
        return fail(s, "module: too many named modules");
    if (rc == SPRY_ETRAP)
        return fail(s, "module %s: instantiation trapped: %s", filename, trap_text(&trap));
    if (rc != 0)
        return fail(s, "module %s: %s: %s", filename, spry_errname(rc), report.message);
    s->current = inst;
    return SCRIPT_PASS;
}

/* The instance a command names ("module": "$m"), else the current one. On
 * failure writes the reason to s->detail and returns NULL. */
static struct spry_instance *target_instance(struct script *s, const struct json_value *obj)
{
    size_t len;
    const char *name = json_get_str(obj, "module", &len);
    if (name == NULL)
        name = json_get_str(obj, "name", &len);
    if (name != NULL) {
        const struct binding *b = bindings_find(&s->named, name, len);
        if (b == NULL)
            fail(s, "no module named %s", name);
        else if (b->inst == NULL)
            fail(s, "module %s failed to instantiate (line %u)", name, b->line);
        return b != NULL ? b->inst : NULL;
    }
    if (s->current == NULL) {
        if (s->current_line == 0)
            fail(s, "no module defined yet");
        else
            fail(s, "current module failed to instantiate (line %u)", s->current_line);
    }
    return s->current;
}

static enum script_outcome cmd_register(struct script *s, const struct json_value *cmd)
{
    size_t as_len;
    const char *as = json_get_str(cmd, "as", &as_len);
    if (as == NULL)
        return fail(s, "register without \"as\"");
    struct spry_instance *inst = target_instance(s, cmd);
    if (inst == NULL)
        return SCRIPT_FAIL;
    if (bindings_add(&s->registered, as, as_len, inst, 0) != 0)
        return fail(s, "register: too many registrations");
    return SCRIPT_PASS;
}

/* ---- actions ------------------------------------------------------------ */

struct action_result {
    struct spry_val args[SCRIPT_MAX_VALUES];
    struct spry_val values[SCRIPT_MAX_VALUES];
    size_t count;
    struct spry_trap trap;
    char desc[512]; /* e.g. $m."add"(i32:1, i32:2) */
};

/* Runs an invoke or get action. Returns 0, SPRY_ETRAP (r->trap filled), or
 * another negative code with the reason in s->detail. */
static int run_action(struct script *s, const struct json_value *action, struct action_result *r)
{
    struct sbuf desc = {.p = r->desc, .size = sizeof(r->desc)};
    r->desc[0] = '\0';
    r->count = 0;
    memset(&r->trap, 0, sizeof(r->trap));
    const struct json_value *type = json_get(action, "type");
    size_t field_len;
    const char *field = json_get_str(action, "field", &field_len);
    const char *modname = json_get_str(action, "module", NULL);
    if (field == NULL) {
        fail(s, "action without a field");
        return SPRY_EINVAL;
    }
    if (json_str_is(type, "get"))
        sb_printf(&desc, "get ");
    if (modname != NULL)
        sb_printf(&desc, "%s.", modname);
    sb_name(&desc, field, field_len);

    struct spry_instance *inst = target_instance(s, action);
    if (inst == NULL)
        return SPRY_ENOTFOUND;
    struct spry_extern ext;
    int rc = spry_instance_export_n(inst, field, field_len, &ext);
    if (rc != 0) {
        fail(s, "%s: no such export (%s)", r->desc, spry_errname(rc));
        return rc;
    }

    if (json_str_is(type, "get")) {
        if (ext.kind != SPRY_EXTERN_GLOBAL) {
            fail(s, "%s: export is not a global (kind %d)", r->desc, ext.kind);
            return SPRY_EINVAL;
        }
        spry_global_get(ext.of.global, &r->values[0]);
        r->count = 1;
        return 0;
    }
    if (!json_str_is(type, "invoke")) {
        fail(s, "unknown action type");
        return SPRY_EINVAL;
    }
    if (ext.kind != SPRY_EXTERN_FUNC) {
        fail(s, "%s: export is not a function (kind %d)", r->desc, ext.kind);
        return SPRY_EINVAL;
    }

    const struct json_value *jargs = json_get(action, "args");
    size_t nargs = jargs != NULL && jargs->type == JSON_ARRAY ? jargs->len : 0;
    if (nargs > SCRIPT_MAX_VALUES) {
        fail(s, "%s: too many arguments", r->desc);
        return SPRY_ETOOBIG;
    }
    struct spry_val *args = r->args;
    sb_printf(&desc, "(");
    for (size_t i = 0; i < nargs; i++) {
        struct spec_value v;
        struct spry_report report;
        spry_report_init(&report);
        rc = spec_value_parse(&jargs->of.items[i], false, &v, &report);
        if (rc != 0) {
            fail(s, "%s: argument %zu: %s", r->desc, i, report.message);
            return rc;
        }
        spec_value_to_val(&v, &args[i]);
        char text[64];
        spec_value_format(&v, text, sizeof(text));
        sb_printf(&desc, "%s%s", i ? ", " : "", text);
    }
    sb_printf(&desc, ")");

    const struct spry_functype *ft = spry_func_type(ext.of.func);
    if (ft->nparams != nargs) {
        fail(s, "%s: function takes %u arguments", r->desc, ft->nparams);
        return SPRY_EINVAL;
    }
    for (size_t i = 0; i < nargs; i++) {
        if (ft->params[i] != args[i].type) {
            fail(s, "%s: parameter %zu is %s", r->desc, i, spec_type_name(ft->params[i]));
            return SPRY_EINVAL;
        }
    }
    if (ft->nresults > SCRIPT_MAX_VALUES) {
        fail(s, "%s: too many results (%u)", r->desc, ft->nresults);
        return SPRY_ETOOBIG;
    }
    rc = spry_func_call(ext.of.func, args, nargs, r->values, ft->nresults, &r->trap);
    if (rc == 0) {
        r->count = ft->nresults;
        return 0;
    }
    if (rc != SPRY_ETRAP)
        fail(s, "%s: %s", r->desc, spry_errname(rc));
    return rc;
}

static void format_results(struct sbuf *b, const struct action_result *r)
{
    sb_printf(b, "(");
    for (size_t i = 0; i < r->count; i++) {
        char text[64];
        spec_val_format(&r->values[i], text, sizeof(text));
        sb_printf(b, "%s%s", i ? ", " : "", text);
    }
    sb_printf(b, ")");
}

static struct action_result result; /* large; one command runs at a time */

static enum script_outcome cmd_action(struct script *s, const struct json_value *cmd)
{
    int rc = run_action(s, json_get(cmd, "action"), &result);
    if (rc == SPRY_ETRAP)
        return fail(s, "%s: trapped: %s", result.desc, trap_text(&result.trap));
    return rc == 0 ? SCRIPT_PASS : SCRIPT_FAIL;
}

static enum script_outcome cmd_assert_return(struct script *s, const struct json_value *cmd)
{
    int rc = run_action(s, json_get(cmd, "action"), &result);
    if (rc == SPRY_ETRAP)
        return fail(s, "%s: trapped: %s", result.desc, trap_text(&result.trap));
    if (rc != 0)
        return SCRIPT_FAIL;
    const struct json_value *expected = json_get(cmd, "expected");
    if (expected == NULL || expected->type != JSON_ARRAY)
        return fail(s, "assert_return without \"expected\"");

    bool ok = expected->len == result.count;
    struct spec_value want[SCRIPT_MAX_VALUES];
    for (size_t i = 0; ok && i < expected->len; i++) {
        struct spry_report report;
        spry_report_init(&report);
        rc = spec_value_parse(&expected->of.items[i], true, &want[i], &report);
        if (rc != 0)
            return fail(s, "%s: expected value %zu: %s", result.desc, i, report.message);
        ok = spec_value_matches(&want[i], &result.values[i]);
    }
    if (ok)
        return SCRIPT_PASS;

    struct sbuf b = detail_buf(s);
    sb_printf(&b, "%s: got ", result.desc);
    format_results(&b, &result);
    sb_printf(&b, ", expected (");
    for (size_t i = 0; i < expected->len; i++) {
        struct spec_value v;
        char text[64] = "?";
        if (spec_value_parse(&expected->of.items[i], true, &v, NULL) == 0)
            spec_value_format(&v, text, sizeof(text));
        sb_printf(&b, "%s%s", i ? ", " : "", text);
    }
    sb_printf(&b, ")");
    return SCRIPT_FAIL;
}

/* assert_trap and assert_exhaustion on an action. */
static enum script_outcome cmd_assert_trap(struct script *s, const struct json_value *cmd)
{
    const char *text = json_get_str(cmd, "text", NULL);
    if (text == NULL)
        return fail(s, "assertion without \"text\"");
    int rc = run_action(s, json_get(cmd, "action"), &result);
    if (rc == 0) {
        struct sbuf b = detail_buf(s);
        sb_printf(&b, "%s: returned ", result.desc);
        format_results(&b, &result);
        sb_printf(&b, ", expected trap \"%s\"", text);
        return SCRIPT_FAIL;
    }
    if (rc != SPRY_ETRAP)
        return SCRIPT_FAIL;
    const char *msg = trap_text(&result.trap);
    if (!spec_message_matches(msg, text))
        return fail(s, "%s: trap message \"%s\", expected \"%s\"", result.desc, msg, text);
    return SCRIPT_PASS;
}

/* The message a module assertion expects: the .wast's `text`, unless the
 * message list replaces it for this module file (then *note says so). */
static const char *expected_text(struct script *s, const char *filename, const char *text,
                                 char *buf, size_t size, const char **note)
{
    *note = "";
    const char *value = filename != NULL ? skip_list_match(s->lists->messages, filename) : NULL;
    if (value == NULL || skip_value_text(value, buf, size) != 0)
        return text;
    *note = " (from messages.txt)";
    return buf;
}

/* assert_invalid and assert_malformed: loading must fail with `code`. */
static enum script_outcome cmd_assert_load_fails(struct script *s, const struct json_value *cmd,
                                                 int code)
{
    const char *filename = json_get_str(cmd, "filename", NULL);
    const char *text = json_get_str(cmd, "text", NULL);
    if (text == NULL)
        return fail(s, "assertion without \"text\"");
    char text_buf[256];
    const char *note;
    text = expected_text(s, filename, text, text_buf, sizeof(text_buf), &note);
    struct spry_report report;
    spry_report_init(&report);
    struct spry_module *mod = NULL;
    int rc = load_module(s, filename, &mod, &report);
    if (rc == 0) {
        spry_module_destroy(mod);
        return fail(s, "%s: loaded, expected %s \"%s\"", filename, spry_errname(code), text);
    }
    if (rc != code)
        return fail(s, "%s: %s \"%s\", expected %s \"%s\"", filename, spry_errname(rc),
                    report.message, spry_errname(code), text);
    if (!spec_message_matches(report.message, text))
        return fail(s, "%s: message \"%s\", expected \"%s\"%s", filename, report.message, text,
                    note);
    return SCRIPT_PASS;
}

/* assert_unlinkable (SPRY_EUNLINKABLE) and assert_uninstantiable
 * (SPRY_ETRAP): the module loads, its instantiation fails. */
static enum script_outcome cmd_assert_instantiate_fails(struct script *s,
                                                        const struct json_value *cmd, int code)
{
    const char *filename = json_get_str(cmd, "filename", NULL);
    const char *text = json_get_str(cmd, "text", NULL);
    if (text == NULL)
        return fail(s, "assertion without \"text\"");
    char text_buf[256];
    const char *note;
    text = expected_text(s, filename, text, text_buf, sizeof(text_buf), &note);
    struct spry_report report;
    spry_report_init(&report);
    struct spry_trap trap;
    struct spry_module *mod = NULL;
    struct spry_instance *inst = NULL;
    int rc = load_module(s, filename, &mod, &report);
    if (rc != 0)
        return fail(s, "%s: load failed: %s: %s", filename, spry_errname(rc), report.message);
    rc = instantiate(s, mod, &inst, &report, &trap);
    if (rc == 0)
        return fail(s, "%s: instantiated, expected %s \"%s\"", filename, spry_errname(code), text);
    const char *msg = rc == SPRY_ETRAP ? trap_text(&trap) : report.message;
    if (rc != code)
        return fail(s, "%s: %s \"%s\", expected %s \"%s\"", filename, spry_errname(rc), msg,
                    spry_errname(code), text);
    if (!spec_message_matches(msg, text))
        return fail(s, "%s: message \"%s\", expected \"%s\"%s", filename, msg, text, note);
    return SCRIPT_PASS;
}

/* ---- the script --------------------------------------------------------- */

static enum script_outcome run_command(struct script *s, const struct json_value *cmd,
                                       const char *type, unsigned line)
{
    s->detail[0] = '\0';
    const char *filename = json_get_str(cmd, "filename", NULL);
    if (filename != NULL) {
        const char *reason = skip_list_match(s->lists->skips, filename);
        if (reason != NULL) {
            snprintf(s->detail, sizeof(s->detail), "%s", reason);
            return SCRIPT_SKIP;
        }
    }
    if (strcmp(type, "module") == 0)
        return cmd_module(s, cmd, line);
    if (strcmp(type, "register") == 0)
        return cmd_register(s, cmd);
    if (strcmp(type, "action") == 0)
        return cmd_action(s, cmd);
    if (strcmp(type, "assert_return") == 0)
        return cmd_assert_return(s, cmd);
    if (strcmp(type, "assert_trap") == 0 || strcmp(type, "assert_exhaustion") == 0)
        return cmd_assert_trap(s, cmd);
    if (strcmp(type, "assert_invalid") == 0)
        return cmd_assert_load_fails(s, cmd, SPRY_EINVALID);
    if (strcmp(type, "assert_malformed") == 0)
        return cmd_assert_load_fails(s, cmd, SPRY_EMALFORMED);
    if (strcmp(type, "assert_unlinkable") == 0)
        return cmd_assert_instantiate_fails(s, cmd, SPRY_EUNLINKABLE);
    if (strcmp(type, "assert_uninstantiable") == 0)
        return cmd_assert_instantiate_fails(s, cmd, SPRY_ETRAP);
    return fail(s, "unknown command type");
}

/* Reads the script's JSON and checks its shape: {"commands": [ {...}, ... ]}. */
static int load_script(const char *json_path, struct json_doc **doc,
                       const struct json_value **commands, struct spry_report *report)
{
    uint8_t *text;
    size_t len;
    int rc = read_file(json_path, &text, &len, report);
    if (rc != 0)
        return rc;
    rc = json_parse((const char *)text, len, doc, report);
    free(text);
    if (rc != 0)
        return rc;
    const struct json_value *c = json_get(json_doc_root(*doc), "commands");
    if (c == NULL || c->type != JSON_ARRAY) {
        json_doc_destroy(*doc);
        return spry_report_set(report, SPRY_EMALFORMED, "%s: no \"commands\" array", json_path);
    }
    *commands = c;
    return 0;
}

int script_count(const char *json_path, size_t *count, struct spry_report *report)
{
    struct json_doc *doc;
    const struct json_value *commands;
    int rc = load_script(json_path, &doc, &commands, report);
    if (rc != 0)
        return rc;
    *count = commands->len;
    json_doc_destroy(doc);
    return 0;
}

int script_run(const char *json_path, const struct script_lists *lists,
               const struct script_sink *sink, struct spry_report *report)
{
    struct json_doc *doc = NULL;
    const struct json_value *commands;
    struct script s = {.lists = lists};
    char *dir = NULL;
    int rc = load_script(json_path, &doc, &commands, report);
    if (rc != 0)
        return rc;
    dir = strdup(json_path);
    if (dir == NULL) {
        rc = spry_report_set(report, SPRY_ENOMEM, "out of memory");
        goto done;
    }
    char *slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    else
        strcpy(dir, ".");
    s.dir = dir;

    struct spry_store_limits limits = {0};
    rc = spry_store_create(&limits, &s.store);
    if (rc != 0) {
        spry_report_set(report, rc, "spry_store_create: %s", spry_strerror(rc));
        goto done;
    }
    rc = spectest_init(&s.spectest, s.store, report);
    if (rc != 0)
        goto done;

    sink->total(sink->ctx, commands->len);
    for (size_t i = 0; i < commands->len; i++) {
        const struct json_value *cmd = &commands->of.items[i];
        unsigned long long line = 0;
        json_uint(json_get(cmd, "line"), UINT32_MAX, &line);
        const char *type = json_get_str(cmd, "type", NULL);
        if (type == NULL)
            type = "?";
        sink->start(sink->ctx, (unsigned)line, type);
        enum script_outcome outcome = run_command(&s, cmd, type, (unsigned)line);
        char msg[SCRIPT_DETAIL_MAX + 64];
        if (outcome == SCRIPT_FAIL)
            snprintf(msg, sizeof(msg), "%s %s", type, s.detail);
        sink->done(sink->ctx, outcome, (unsigned)line,
                   outcome == SCRIPT_PASS   ? NULL
                   : outcome == SCRIPT_FAIL ? msg
                                            : s.detail);
    }
done:
    spry_store_destroy(s.store);
    for (size_t i = 0; i < s.nmodules; i++)
        spry_module_destroy(s.modules[i]);
    free(s.modules);
    free(s.named.items);
    free(s.registered.items);
    free(dir);
    json_doc_destroy(doc);
    return rc;
}

/*
 * The Spin application manifest (spin.toml), version 2, and version 1
 * converted to the same structures on load (docs/manifest.md).
 *
 * manifest_load reads the file, parses it (app/toml.h), checks every key
 * against the schema and everything Spin validates (ids, variable names,
 * routes, allowed_outbound_hosts, references between triggers, components
 * and variables), resolves paths relative to the manifest's directory,
 * expands `files` globs, fetches URL sources into the cache, and checks that
 * every component source exists and is WebAssembly. Nothing is served until
 * this has passed, so a broken manifest never starts a server.
 *
 * Every error is "FILE:LINE:COL: key.path: what was expected".
 *
 * Ownership: a struct manifest owns every string and array it points to
 * (its arena and the TOML document); manifest_destroy frees them all.
 * Optional strings are NULL when absent.
 */
#ifndef SPRY_APP_MANIFEST_H
#define SPRY_APP_MANIFEST_H

#include "app/toml.h"
#include "spry/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct manifest_pair {
    const char *key;
    const char *value;
};

/* [variables] NAME = { default = "...", required = true, secret = true } */
struct manifest_variable {
    const char *name;          /* lower_snake_case */
    const char *default_value; /* NULL when required */
    bool required;
    bool secret;
};

/* One allowed_outbound_hosts entry, "scheme://host[:port]". */
struct manifest_outbound {
    const char *text;   /* as written */
    const char *scheme; /* "*" for any */
    const char *host;   /* "*", "*.example.com", "self", a name or address; may hold {{ var }} */
    bool any_port;      /* ":*" */
    /* Allowed ports [port_lo, port_hi) when !any_port: one port is [p, p+1);
     * without a port, the scheme's well-known port. */
    uint32_t port_lo, port_hi;
    bool templated; /* holds {{ var }}: checked again once variables resolve */
};

/* files = ["glob", { source = "dir", destination = "/guest" }] after expansion:
 * one entry per file (globs) or directory (a { source, destination } mount). */
struct manifest_file {
    const char *host_path;  /* absolute, or relative to the working directory */
    const char *guest_path; /* absolute path inside the guest */
    bool is_dir;
};

enum manifest_source_kind { MANIFEST_SOURCE_PATH, MANIFEST_SOURCE_URL };

struct manifest_source {
    enum manifest_source_kind kind;
    const char *path;   /* resolved local path; for a URL, the verified file in the cache */
    const char *url;    /* URL sources only */
    const char *digest; /* URL sources only: "sha256:<64 hex digits>" */
    bool is_component;  /* the file is a component (else a core module) */
};

/* dependencies = { "name" = "version" | { version, registry, package, export } | { path, export } }
 */
struct manifest_dependency {
    const char *name;
    const char *version, *registry, *package, *export_name, *path;
};

struct manifest_component {
    const char *id; /* kebab-case; inline components get "<trigger-id>" or "inline-component-N" */
    const char *description;
    struct manifest_source source;
    struct manifest_file *files;
    size_t n_files;
    const char **exclude_files;
    size_t n_exclude_files;
    struct manifest_outbound *outbound;
    size_t n_outbound;
    const char **key_value_stores;
    size_t n_key_value_stores;
    const char **sqlite_databases;
    size_t n_sqlite_databases;
    const char **ai_models;
    size_t n_ai_models;
    struct manifest_pair *environment;
    size_t n_environment;
    struct manifest_pair *variables; /* values are templates: "text {{ app_var }}" */
    size_t n_variables;
    bool has_build;
    const char *build_command;
    const char *build_workdir;
    const char **build_watch;
    size_t n_build_watch;
    struct manifest_dependency *dependencies;
    size_t n_dependencies;
    uint32_t line, col; /* where it is defined */
};

enum manifest_route_kind {
    MANIFEST_ROUTE_EXACT,    /* "/a/:b/c": :name segments match one segment */
    MANIFEST_ROUTE_WILDCARD, /* "/a/...": the prefix and everything below it */
    MANIFEST_ROUTE_PRIVATE,  /* { private = true }: reachable only from other components */
};

enum manifest_executor { MANIFEST_EXECUTOR_SPIN, MANIFEST_EXECUTOR_WAGI };

struct manifest_static_response {
    int status_code;
    struct manifest_pair *headers;
    size_t n_headers;
    const char *body; /* may hold NUL bytes: body_len */
    size_t body_len;
};

/* [[trigger.http]] */
struct manifest_http_trigger {
    const char *id; /* NULL when not given */
    enum manifest_route_kind route_kind;
    const char *route;                    /* as written; NULL when private */
    struct manifest_component *component; /* NULL for a static response */
    bool has_static_response;
    struct manifest_static_response static_response;
    enum manifest_executor executor;
    const char *wagi_argv;       /* default "${SCRIPT_NAME} ${ARGS}" */
    const char *wagi_entrypoint; /* default "_start" */
    uint32_t line, col;
};

/* Any other [[trigger.TYPE]] (redis, cron, ...): kept with its raw settings. */
struct manifest_other_trigger {
    const char *type;
    const char *id;
    struct manifest_component *component;
    const struct toml_table *config; /* every key of the entry */
};

/* [application.trigger.TYPE]: app-wide settings of a trigger type, raw. */
struct manifest_trigger_settings {
    const char *type;
    const struct toml_table *settings;
};

struct manifest {
    const char *path; /* the manifest file as given */
    const char *dir;  /* its directory; relative paths in it resolve from here */
    int version;      /* 2, or 1 when converted */
    const char *name;
    const char *app_version;
    const char *description;
    const char **authors;
    size_t n_authors;
    const char **targets;
    size_t n_targets;
    struct manifest_trigger_settings *trigger_settings;
    size_t n_trigger_settings;
    struct manifest_variable *variables;
    size_t n_variables;
    struct manifest_http_trigger *http_triggers;
    size_t n_http_triggers;
    struct manifest_other_trigger *other_triggers;
    size_t n_other_triggers;
    struct manifest_component **components; /* declared and inline, in order */
    size_t n_components;
};

struct manifest_options {
    /* Where URL sources are cached, by digest; NULL: $XDG_CACHE_HOME/spry or ~/.cache/spry. */
    const char *cache_dir;
    /* Skip source existence checks and downloads (parsing and validation only). */
    bool skip_sources;
};

/* Reads, parses and validates `path`. options may be NULL. */
int manifest_load(const char *path, const struct manifest_options *options, struct manifest **out,
                  struct spry_report *report);
/* The same from text already in memory; `path` names it in errors and its
 * directory resolves relative paths. */
int manifest_parse(const char *text, size_t len, const char *path,
                   const struct manifest_options *options, struct manifest **out,
                   struct spry_report *report);
void manifest_destroy(struct manifest *m);

struct manifest_component *manifest_find_component(const struct manifest *m, const char *id);

#endif

/*
 * Shared by the manifest reader's files: the reading context and typed
 * accessors over the TOML tree that report mistakes in the manifest's error
 * format, "FILE:LINE:COL: key.path: what was expected".
 *
 * Key paths are built in fixed buffers of MR_PATH_MAX bytes (truncated,
 * never overflowed); they only ever appear in messages.
 */
#ifndef SPRY_APP_MANIFEST_IMPL_H
#define SPRY_APP_MANIFEST_IMPL_H

#include "app/manifest.h"
#include "base/arena.h"

enum { MR_PATH_MAX = 256 };

struct manifest_owner {
    struct manifest m;
    struct spry_arena arena;
    struct toml_doc *doc;
};

struct mreader {
    struct manifest_owner *owner;
    const char *file; /* the manifest path, first in every message */
    const struct manifest_options *options;
    struct spry_report *report;
    size_t n_inline; /* inline components so far, for their ids */
};

/* Records "FILE:LINE:COL: PATH: message"; returns SPRY_EINVALID. */
int mr_error(struct mreader *r, uint32_t line, uint32_t col, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int mr_error_at(struct mreader *r, const struct toml_value *v, const char *path, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));
/* Arena memory (zeroed); NULL after recording SPRY_ENOMEM. */
void *mr_alloc(struct mreader *r, size_t count, size_t size);
char *mr_strdup(struct mreader *r, const char *s);
char *mr_printf(struct mreader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "PREFIX.KEY" into buf (quoted when KEY is not a bare key). */
const char *mr_path(char *buf, const char *prefix, const char *key);

/* Every key of `table` must be in the NULL-terminated `allowed` list. */
int mr_check_keys(struct mreader *r, const struct toml_value *table, const char *path,
                  const char *const *allowed);
/* The value under key, NULL when absent. */
const struct toml_value *mr_get(const struct toml_value *table, const char *key);

/* Typed reads: absent leaves *out unchanged and returns 0 unless required;
 * a value of another type is an error naming the type expected. */
int mr_string(struct mreader *r, const struct toml_value *table, const char *key, const char *path,
              bool required, const char **out);
int mr_bool(struct mreader *r, const struct toml_value *table, const char *key, const char *path,
            bool *out);
int mr_string_array(struct mreader *r, const struct toml_value *table, const char *key,
                    const char *path, const char ***out, size_t *n);
/* A table of strings (environment, component variables, headers). */
int mr_string_table(struct mreader *r, const struct toml_value *table, const char *key,
                    const char *path, struct manifest_pair **out, size_t *n);
int mr_expect_table(struct mreader *r, const struct toml_value *v, const char *path);

/* Spin's identifier rules: words of ASCII letters and digits, each starting
 * with a letter and all lowercase or all UPPERCASE, joined by `delim`. */
bool mr_is_id(const char *s, char delim, bool lowercase_only);

/* The component reader (manifest_component.c). */
int mr_component(struct mreader *r, const struct toml_value *table, const char *id,
                 const char *path, bool v1, struct manifest_component **out);
/* Checks {{ name }} templates: well-formed, names declared in [variables]. */
int mr_check_template(struct mreader *r, const struct toml_value *v, const char *path,
                      const char *text);

/* allowed_outbound_hosts entries (outbound.c). */
int outbound_parse(const char *text, struct manifest_outbound *out, char *why, size_t why_size,
                   struct spry_arena *arena);

/* Sources (source.c): checks a local file is WebAssembly; fetches a URL
 * source into the cache and verifies its digest. `why` gets what went wrong. */
int source_check_wasm(const char *path, bool *is_component, char *why, size_t why_size);
int source_fetch(const char *url, const char *digest, const char *cache_dir, char **path_out,
                 char *why, size_t why_size);
/* Computes "sha256:HEX" of a file into out (72 bytes). */
int source_sha256_file(const char *path, char out[72]);

/* Version 1 (manifest_v1.c). */
int manifest_v1_read(struct mreader *r, const struct toml_value *root);

#endif

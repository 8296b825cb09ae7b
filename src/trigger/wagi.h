/*
 * The WAGI executor: runs a WASI preview 1 command as a CGI handler, as
 * Spin's `executor = { type = "wagi" }` does (docs/wagi.md).
 *
 * Per request: a fresh instance from the pool, a WASI context whose argv
 * and environment come from the request (wagi_cgi.h), the request body on
 * stdin, stdout captured and parsed as a CGI response, stderr appended to
 * the component's log (and echoed to the terminal unless quiet). The guest
 * sees only the manifest's environment and its `files`, read-only.
 *
 * Threading: handle() runs on the server's worker threads, any number at
 * once; the executor itself is read-only after creation.
 */
#ifndef SPRY_TRIGGER_WAGI_H
#define SPRY_TRIGGER_WAGI_H

#include "spry/pool.h"
#include "spry/wasi.h"
#include "trigger/http_exchange.h"

#include <stdbool.h>
#include <stddef.h>

struct wagi_config {
    const char *component_id;
    struct spry_prepared *prepared; /* borrowed: the component, prepared with WASI */
    const char *argv_template;      /* NULL: "${SCRIPT_NAME} ${ARGS}" */
    const char *entrypoint;         /* NULL: "_start" */
    const char *const *env;         /* the manifest's environment, "K=V"; borrowed */
    size_t nenv;
    const struct spry_wasi_preopen *preopens; /* the component's files; borrowed */
    size_t npreopens;
    int stderr_log_fd; /* appended to; -1: none. Borrowed. */
    bool echo_stderr;  /* also write guest stderr to the terminal */
    size_t max_output; /* bytes of stdout kept (0: 16 MiB); more answers 500 */
};

struct wagi_executor;

int wagi_executor_create(const struct wagi_config *config, struct wagi_executor **out,
                         struct spry_report *report);
void wagi_executor_destroy(struct wagi_executor *executor); /* NULL is a no-op */

/* The executor as the HTTP server takes it (valid while `executor` is). */
const struct http_executor *wagi_executor_http(const struct wagi_executor *executor);

#endif

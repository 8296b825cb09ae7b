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
 * once, and, with `speculate`, first on the I/O loop that received the
 * request (http_exchange.h): there the guest may only use the WASI
 * functions that keep to its own instance and stdio (wagi_host_defs), and
 * a guest that reaches for anything else, fails, writes more than 128 KiB
 * or runs past the server's budget is stopped and run again on a worker,
 * with nothing of the first run kept. The executor's only mutable state is
 * an atomic counter (after such a deferral the next requests go straight
 * to a worker).
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
    const int *preopen_fds; /* NULL, or their open directories (borrowed) */
    int stderr_log_fd;      /* appended to; -1: none. Borrowed. */
    bool echo_stderr;       /* also write guest stderr to the terminal */
    size_t max_output;      /* bytes of stdout kept (0: 16 MiB); more answers 500 */
    /* Run guests speculatively on the I/O loop first. Only when `prepared`
     * was linked with wagi_host_defs() and the pool has a slot for each
     * loop beyond the workers' (a loop must never wait for one). */
    bool speculate;
};

/* WASI preview 1 (spry_wasi_host_defs) behind the gate a speculative run
 * needs; outside such a run every call goes straight through. NULL (and
 * *n = 0) when out of memory. */
const struct spry_host_def *wagi_host_defs(size_t *n);

struct wagi_executor;

int wagi_executor_create(const struct wagi_config *config, struct wagi_executor **out,
                         struct spry_report *report);
void wagi_executor_destroy(struct wagi_executor *executor); /* NULL is a no-op */

/* The executor as the HTTP server takes it (valid while `executor` is). */
const struct http_executor *wagi_executor_http(const struct wagi_executor *executor);

#endif

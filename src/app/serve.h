/*
 * `spry up`: an application from its manifest to a running HTTP server
 * (serve.c). Loads and checks the manifest and every component before
 * anything listens, prepares each WAGI component in one instance pool,
 * stages `files` read-only under the state directory, opens the logs,
 * builds the router and runs the server until app_serve_stop.
 */
#ifndef SPRY_APP_SERVE_H
#define SPRY_APP_SERVE_H

#include "spry/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct app_serve_options {
    const char *manifest;   /* spin.toml, or a directory holding one */
    const char *listen;     /* NULL: 127.0.0.1:3000 */
    const char *state_dir;  /* NULL: .spin beside the manifest */
    const char *const *env; /* --env K=V, for every component */
    size_t nenv;
    bool quiet;                  /* guest stderr only to the logs */
    uint32_t request_timeout_ms; /* 0: the server's default (30 s) */
    uint32_t max_instances;      /* pool slots (0: 64) */
    uint32_t max_queue;          /* requests that may wait for an instance (0: 1024) */
    uint64_t max_body_bytes;     /* 0: the server's default */
    uint64_t max_memory_bytes;   /* per instance (0: 4 GiB) */
    const char *tls_cert, *tls_key;
    /* Called once the server listens, with a one-line banner. */
    void (*on_ready)(void *user, const char *banner);
    void *user;
};

/* Runs until app_serve_stop; returns 0, or an error with the report saying
 * what was wrong (the manifest, a component, the listener). */
int app_serve(const struct app_serve_options *options, struct spry_report *report);

/* Async-signal-safe: makes app_serve drain in-flight requests and return. */
void app_serve_stop(void);

#endif

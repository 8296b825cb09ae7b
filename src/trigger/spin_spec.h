/*
 * Speculation for the spin executor (spin.c; docs/http.md "Speculation"):
 * a wasi:http request first runs on the I/O loop that received it, where
 * the guest may only do what has no effect outside its instance and its
 * contexts, which are thrown away if the run does not succeed:
 *  - host calls pass a gate (spin_spec_allow, a canon_gate): wasi:http/types,
 *    wasi:io, wasi:clocks, wasi:random, wasi:cli and the list of preopens
 *    are allowed; everything else (outbound HTTP, files, sockets) is not;
 *  - a wait that would sleep (a clock, a pollable not ready) stops the run
 *    (spin_spec_on_block, wasip2's block hook), and so does a read of a
 *    request body that has not arrived (spin_spec_read_ready);
 *  - the response is kept in a bounded buffer (spin_spec_respond, _write,
 *    _finish), up to SPIN_SPEC_MAX_OUTPUT bytes of body;
 *  - the server interrupts a run past about a millisecond of CPU.
 * Anything else (a trap, an exit, an error outcome) also ends it. Then the
 * executor answers HTTP_EXCHANGE_DEFER and a worker runs the request from
 * scratch, with the logs and answer a normal run has. A run that succeeds
 * hands its buffered response to the exchange (spin_spec_commit).
 */
#ifndef SPRY_TRIGGER_SPIN_SPEC_H
#define SPRY_TRIGGER_SPIN_SPEC_H

#include "base/buf.h"
#include "component/wasihttp/wasihttp.h"
#include "trigger/http_exchange.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    SPIN_SPEC_MAX_OUTPUT = 128 << 10, /* bytes of response body a speculative run may keep */
};

struct spin_spec {
    struct spry_store *store; /* interrupted when the run is vetoed */
    char cause[200];          /* why the run must defer; "" while it may go on */
    /* the response, held back until the run succeeds */
    bool started, finished;
    uint16_t status;
    int64_t content_length;
    size_t nheaders;
    struct spry_buf head; /* "name\0value\0" per header */
    struct spry_buf body;
};

void spin_spec_init(struct spin_spec *sp);
void spin_spec_fini(struct spin_spec *sp);

/* Records why the run must stop (the first reason is kept), interrupts the
 * store, and returns SPRY_EINTERRUPTED. */
int spin_spec_veto(struct spin_spec *sp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The gate (canon_gate.allow; ctx is the struct spin_spec). */
bool spin_spec_allow(void *ctx, const char *name);
/* wasip2's block hook (user is the struct spin_spec). */
int spin_spec_on_block(void *user);

/* The wasi:http server callbacks' speculative halves. */
int spin_spec_respond(struct spin_spec *sp, uint16_t status, const struct wasihttp_header *headers,
                      size_t n, int64_t content_length);
int spin_spec_write(struct spin_spec *sp, const uint8_t *p, size_t n);
int spin_spec_finish(struct spin_spec *sp);

/* Sends the held response through the exchange. */
int spin_spec_commit(struct spin_spec *sp, struct http_exchange *ex);

#endif

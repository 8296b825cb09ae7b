/*
 * Speculation for the spin executor (see spin_spec.h).
 */
#include "trigger/spin_spec.h"

#include "base/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* What a speculative run may call, by the import's interface: the name of
 * an interface ("wasi:io/streams") matches its imports at any version
 * ("wasi:io/streams@0.2.0#[method]output-stream.write"); a name with '#'
 * is one function. None of these reaches outside the instance and its
 * contexts: fields and the request and response objects are memory, the
 * request body is whole (spin.c speculates on no other), the response is
 * held here, stdout and stderr are buffers, and a wait that would sleep
 * is stopped by the block hook. */
static const char *const allowed[] = {
    "wasi:http/types",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:filesystem/preopens#get-directories",
};

static bool matches(const char *rule, const char *name)
{
    const char *hash = strchr(rule, '#');
    size_t iface = hash != NULL ? (size_t)(hash - rule) : strlen(rule);
    if (strncmp(name, rule, iface) != 0 || (name[iface] != '@' && name[iface] != '#'))
        return false;
    if (hash == NULL)
        return true;
    const char *fn = strchr(name + iface, '#');
    return fn != NULL && strcmp(fn, hash) == 0;
}

void spin_spec_init(struct spin_spec *sp)
{
    memset(sp, 0, sizeof *sp);
    spry_buf_init(&sp->head, SPIN_SPEC_MAX_OUTPUT);
    spry_buf_init(&sp->body, SPIN_SPEC_MAX_OUTPUT);
}

void spin_spec_fini(struct spin_spec *sp)
{
    spry_buf_fini(&sp->head);
    spry_buf_fini(&sp->body);
}

int spin_spec_veto(struct spin_spec *sp, const char *fmt, ...)
{
    if (sp->cause[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(sp->cause, sizeof sp->cause, fmt, ap);
        va_end(ap);
    }
    if (sp->store != NULL)
        spry_store_interrupt(sp->store);
    return SPRY_EINTERRUPTED;
}

bool spin_spec_allow(void *ctx, const char *name)
{
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (matches(allowed[i], name))
            return true;
    spin_spec_veto(ctx, "it called %s", name);
    return false;
}

int spin_spec_on_block(void *user)
{
    return spin_spec_veto(user, "it would wait (wasi:io/poll)");
}

int spin_spec_respond(struct spin_spec *sp, uint16_t status, const struct wasihttp_header *headers,
                      size_t n, int64_t content_length)
{
    for (size_t i = 0; i < n; i++)
        if (spry_buf_append(&sp->head, headers[i].name, strlen(headers[i].name) + 1) != 0 ||
            spry_buf_append(&sp->head, headers[i].value, strlen(headers[i].value) + 1) != 0)
            return spin_spec_veto(sp, "its response head is larger than %d bytes",
                                  SPIN_SPEC_MAX_OUTPUT);
    sp->started = true;
    sp->status = status;
    sp->nheaders = n;
    sp->content_length = content_length;
    return 0;
}

int spin_spec_write(struct spin_spec *sp, const uint8_t *p, size_t n)
{
    if (spry_buf_append(&sp->body, p, n) != 0)
        return spin_spec_veto(sp, "its response is larger than %d bytes", SPIN_SPEC_MAX_OUTPUT);
    return 0;
}

int spin_spec_finish(struct spin_spec *sp)
{
    sp->finished = true;
    return 0;
}

int spin_spec_commit(struct spin_spec *sp, struct http_exchange *ex)
{
    struct http_header_pair *h = spry_alloc_array(sp->nheaders == 0 ? 1 : sp->nheaders, sizeof *h);
    if (h == NULL)
        return SPRY_ENOMEM;
    const char *s = (const char *)sp->head.data;
    for (size_t i = 0; i < sp->nheaders; i++) {
        h[i].name = s;
        s += strlen(s) + 1;
        h[i].value = s;
        s += strlen(s) + 1;
    }
    int rc = http_exchange_start(ex, sp->status, h, sp->nheaders, sp->content_length);
    spry_free(h);
    if (rc == 0 && sp->body.len > 0)
        rc = http_exchange_write(ex, sp->body.data, sp->body.len);
    if (rc == 0)
        rc = http_exchange_finish(ex);
    return rc;
}

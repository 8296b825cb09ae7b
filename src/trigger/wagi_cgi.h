/*
 * The CGI side of the WAGI executor (wagi_cgi.c): what a WAGI guest sees
 * (argv, environment) and how its standard output becomes a response, as
 * Spin does it (RFC 3875 CGI/1.1 with WAGI's and Spin's additions; the
 * facts are collected in docs/wagi.md).
 *
 * Everything here is pure: strings in, strings out, no I/O. Results are
 * allocated in one block per call (freed with spry_free) so a failure
 * leaves nothing behind.
 */
#ifndef SPRY_TRIGGER_WAGI_CGI_H
#define SPRY_TRIGGER_WAGI_CGI_H

#include "spry/error.h"
#include "trigger/router.h"

#include <stddef.h>
#include <stdint.h>

/* What the executor knows about a request when the guest starts. */
struct wagi_request {
    const char *method;                     /* "GET" */
    const char *path_and_query;             /* raw request target: "/a/b%20c?x=1" */
    const char *scheme;                     /* "http" or "https" */
    const char *protocol;                   /* "HTTP/1.1", "HTTP/2.0" */
    const char *client_addr;                /* "127.0.0.1:51234" ("[::1]:51234" for IPv6) */
    uint64_t content_length;                /* bytes of body on stdin */
    const struct http_header_pair *headers; /* names compared case-insensitively */
    size_t nheaders;
    /* From the router (the values of Spin's spin-* headers). */
    const char *matched_route;                   /* "/hello/..." */
    const char *raw_component_route;             /* "/hello/..." */
    const char *component_route;                 /* "/hello" */
    const char *base_path;                       /* "/" */
    const char *path_info;                       /* raw path after the route: "/a/b%20c" */
    const struct http_header_pair *path_matches; /* ":name" captures: {"userid", "42"} */
    size_t npath_matches;
};

/* A NULL-terminated array of strings in one allocation. */
struct wagi_strings {
    char **items; /* items[count] == NULL */
    size_t count;
};

/*
 * argv from the executor's template (`${SCRIPT_NAME} ${ARGS}` by default:
 * words split on spaces). ${SCRIPT_NAME} is the request's path; ${ARGS}
 * expands to the query's pairs, form-decoded, each key followed by its
 * value when the value is not empty.
 */
int wagi_argv(const char *argv_template, const char *path_and_query, struct wagi_strings *out,
              struct spry_report *report);

/* The CGI environment, "NAME=value" each. `extra` (the component's
 * environment from the manifest, "NAME=value" strings) takes precedence:
 * no request variable replaces one of its names. Repeated headers are
 * joined with ", " (RFC 3875 4.1.18); Authorization and Connection are not
 * passed. */
int wagi_env(const struct wagi_request *req, const char *const *extra, size_t nextra,
             struct wagi_strings *out, struct spry_report *report);

void wagi_strings_free(struct wagi_strings *s);

/* A parsed CGI response: headers (lowercased names), status, body. */
struct wagi_response {
    int status;
    struct http_header_pair *headers; /* name/value pointers into the allocation */
    size_t nheaders;
    const uint8_t *body; /* points into the guest's output */
    size_t body_len;
    void *block; /* the allocation (spry_free via wagi_response_free) */
};

/*
 * Parses a guest's standard output as a CGI response: header lines up to
 * the first empty line (CR ignored), `status: CODE [TEXT]`, `location:`
 * (302 unless a status is given), other headers passed on. Fails with
 * SPRY_EMALFORMED and a reason when the output is empty, when neither
 * content-type, location nor status is given, or when a header line or
 * status is invalid; the caller answers 500.
 */
int wagi_parse_response(const uint8_t *out, size_t len, struct wagi_response *resp,
                        struct spry_report *report);
void wagi_response_free(struct wagi_response *resp);

#endif

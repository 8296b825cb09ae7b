/*
 * libFuzzer harness for WAGI's CGI side (src/trigger/wagi_cgi.c): guest
 * output parsed as a CGI response, and a request's target and headers turned
 * into argv and the environment. Checks the parsed response stays inside the
 * input and every string produced is NUL-terminated where it says.
 */
#include "trigger/wagi_cgi.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wagi_response resp;
    if (wagi_parse_response(data, size, &resp, NULL) == 0) {
        if (resp.body < data || resp.body + resp.body_len != data + size || resp.status < 100 ||
            resp.status > 999)
            __builtin_trap();
        for (size_t i = 0; i < resp.nheaders; i++)
            if (strlen(resp.headers[i].name) == 0)
                __builtin_trap();
        wagi_response_free(&resp);
    }

    /* The same bytes as a request: target, then header lines "name:value". */
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct http_header_pair headers[16];
    size_t nheaders = 0;
    char *line = strchr(text, '\n');
    if (line != NULL)
        *line++ = '\0';
    while (line != NULL && nheaders < 16) {
        char *next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        char *colon = strchr(line, ':');
        if (colon != NULL) {
            *colon = '\0';
            headers[nheaders++] = (struct http_header_pair){line, colon + 1};
        }
        line = next;
    }
    struct wagi_request req = {
        .method = "GET",
        .path_and_query = text,
        .scheme = "http",
        .protocol = "HTTP/1.1",
        .client_addr = "127.0.0.1:1",
        .headers = headers,
        .nheaders = nheaders,
        .matched_route = "/...",
        .raw_component_route = "/...",
        .component_route = "",
        .base_path = "/",
        .path_info = text,
        .path_matches = headers,
        .npath_matches = nheaders < 2 ? nheaders : 2,
    };
    struct wagi_strings argv, env;
    if (wagi_argv(text, text, &argv, NULL) == 0) {
        if (argv.items[argv.count] != NULL)
            __builtin_trap();
        wagi_strings_free(&argv);
    }
    if (wagi_env(&req, NULL, 0, &env, NULL) == 0) {
        for (size_t i = 0; i < env.count; i++)
            if (strchr(env.items[i], '=') == NULL)
                __builtin_trap();
        wagi_strings_free(&env);
    }
    free(text);
    return 0;
}

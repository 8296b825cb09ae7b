/*
 * libcurl, loaded with dlopen on first use (as src/app/source.c does for
 * URL sources): the static `spry` binary links no shared libraries, and
 * loading curl's thirty-odd dependencies at every start would cost more
 * than a request. Only <curl/curl.h> is used at build time, for types and
 * constants. The table is filled once per process and read-only after.
 */
#ifndef SPRY_HOST_CURL_LIB_H
#define SPRY_HOST_CURL_LIB_H

#include <curl/curl.h>
#include <stddef.h>

struct curl_lib {
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *h, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
    CURLcode (*easy_pause)(CURL *h, int bitmask);
    void (*easy_cleanup)(CURL *h);
    const char *(*easy_strerror)(CURLcode code);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_add_handle)(CURLM *m, CURL *h);
    CURLMcode (*multi_remove_handle)(CURLM *m, CURL *h);
    CURLMcode (*multi_perform)(CURLM *m, int *running);
    CURLMcode (*multi_poll)(CURLM *m, struct curl_waitfd *fds, unsigned n, int timeout_ms,
                            int *numfds);
    CURLMcode (*multi_wakeup)(CURLM *m);
    CURLMsg *(*multi_info_read)(CURLM *m, int *left);
    CURLMcode (*multi_cleanup)(CURLM *m);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
    CURLU *(*url)(void);
    CURLUcode (*url_set)(CURLU *u, CURLUPart part, const char *content, unsigned int flags);
    CURLUcode (*url_get)(CURLU *u, CURLUPart part, char **content, unsigned int flags);
    void (*url_cleanup)(CURLU *u);
    void (*free)(void *p);
};

/* The table, or NULL with the reason in why (libcurl missing, too old,
 * failed to initialise). Thread-safe. */
const struct curl_lib *curl_lib_get(char *why, size_t why_size);

#endif

/* libcurl loaded on first use (curl_lib.h says why). */
#include "host/curl_lib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static struct curl_lib lib;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[160];

/* Every function of the table, by name. */
static const struct {
    size_t offset;
    const char *name;
} syms[] = {
    {offsetof(struct curl_lib, easy_init), "curl_easy_init"},
    {offsetof(struct curl_lib, easy_setopt), "curl_easy_setopt"},
    {offsetof(struct curl_lib, easy_getinfo), "curl_easy_getinfo"},
    {offsetof(struct curl_lib, easy_pause), "curl_easy_pause"},
    {offsetof(struct curl_lib, easy_cleanup), "curl_easy_cleanup"},
    {offsetof(struct curl_lib, easy_strerror), "curl_easy_strerror"},
    {offsetof(struct curl_lib, multi_init), "curl_multi_init"},
    {offsetof(struct curl_lib, multi_add_handle), "curl_multi_add_handle"},
    {offsetof(struct curl_lib, multi_remove_handle), "curl_multi_remove_handle"},
    {offsetof(struct curl_lib, multi_perform), "curl_multi_perform"},
    {offsetof(struct curl_lib, multi_poll), "curl_multi_poll"},
    {offsetof(struct curl_lib, multi_wakeup), "curl_multi_wakeup"},
    {offsetof(struct curl_lib, multi_info_read), "curl_multi_info_read"},
    {offsetof(struct curl_lib, multi_cleanup), "curl_multi_cleanup"},
    {offsetof(struct curl_lib, slist_append), "curl_slist_append"},
    {offsetof(struct curl_lib, slist_free_all), "curl_slist_free_all"},
    {offsetof(struct curl_lib, url), "curl_url"},
    {offsetof(struct curl_lib, url_set), "curl_url_set"},
    {offsetof(struct curl_lib, url_get), "curl_url_get"},
    {offsetof(struct curl_lib, url_cleanup), "curl_url_cleanup"},
    {offsetof(struct curl_lib, free), "curl_free"},
};

static void load(void)
{
    void *handle = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        snprintf(load_error, sizeof load_error,
                 "cannot load libcurl (install Debian's libcurl4): %s", dlerror());
        return;
    }
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
        void *f = dlsym(handle, syms[i].name);
        if (f == NULL) {
            snprintf(load_error, sizeof load_error,
                     "libcurl lacks %s (Spry needs libcurl 7.80 or newer)", syms[i].name);
            return;
        }
        /* POSIX: a function pointer stored through its object representation. */
        memcpy((char *)&lib + syms[i].offset, &f, sizeof f);
    }
    CURLcode (*global_init)(long flags);
    void *g = dlsym(handle, "curl_global_init");
    memcpy(&global_init, &g, sizeof g);
    if (g == NULL || global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        snprintf(load_error, sizeof load_error, "cannot initialise libcurl");
}

const struct curl_lib *curl_lib_get(char *why, size_t why_size)
{
    pthread_once(&once, load);
    if (load_error[0] != '\0') {
        snprintf(why, why_size, "%s", load_error);
        return NULL;
    }
    return &lib;
}

/*
 * Component sources: the WebAssembly check for local files, and URL sources
 * downloaded once (libcurl) into a cache keyed by their digest and verified
 * with SHA-256 (OpenSSL's EVP).
 *
 * Cache invariant: CACHE/sha256-HEX only ever holds bytes whose SHA-256 is
 * HEX. A download goes to a temporary file beside it and is renamed into
 * place only after the digest matched; a cached file is hashed again before
 * use, so a corrupted cache is re-fetched rather than trusted.
 */
#include "app/fsutil.h"
#include "app/manifest_impl.h"

#include "base/alloc.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { DOWNLOAD_MAX = 256 << 20 };

int source_check_wasm(const char *path, bool *is_component, char *why, size_t why_size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(why, why_size, "cannot open \"%s\" (%s); expected a WebAssembly file", path,
                 strerror(errno));
        return SPRY_ENOTFOUND;
    }
    unsigned char head[8];
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    static const unsigned char core[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};
    static const unsigned char component[8] = {0, 'a', 's', 'm', 0x0d, 0, 1, 0};
    if (n == 8 && memcmp(head, core, 8) == 0) {
        *is_component = false;
        return 0;
    }
    if (n == 8 && memcmp(head, component, 8) == 0) {
        *is_component = true;
        return 0;
    }
    snprintf(why, why_size,
             "\"%s\" is not WebAssembly; expected a core module (\\0asm version 1) or a "
             "component (\\0asm version 0x0d layer 1)",
             path);
    return SPRY_EMALFORMED;
}

static void hex(const unsigned char *md, unsigned n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * n] = '\0';
}

int source_sha256_file(const char *path, char out[72])
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return SPRY_ENOTFOUND;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = SPRY_ENOMEM;
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        goto done;
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (EVP_DigestUpdate(ctx, buf, n) != 1)
            goto done;
    }
    rc = SPRY_EIO;
    if (ferror(f))
        goto done;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (EVP_DigestFinal_ex(ctx, md, &len) != 1 || len != 32)
        goto done;
    memcpy(out, "sha256:", 7);
    hex(md, len, out + 7);
    rc = 0;
done:
    EVP_MD_CTX_free(ctx);
    fclose(f);
    return rc;
}

/*
 * libcurl is loaded with dlopen on the first download: it brings some thirty
 * shared libraries, and loading them at every start of spry would cost more
 * than `spry run hello.wasm` itself (docs/wasi.md, "Start-up"). Only its
 * header is used at build time, for types and constants.
 */
static struct {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *curl);
    void (*easy_cleanup)(CURL *curl);
    const char *(*easy_strerror)(CURLcode code);
} curl;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static char curl_init_error[160];

static void curl_init(void)
{
    void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        snprintf(curl_init_error, sizeof curl_init_error,
                 "cannot load libcurl (install Debian's libcurl4): %s", dlerror());
        return;
    }
    /* POSIX: converting dlsym's object pointer to a function pointer. */
    *(void **)&curl.global_init = dlsym(lib, "curl_global_init");
    *(void **)&curl.easy_init = dlsym(lib, "curl_easy_init");
    *(void **)&curl.easy_setopt = dlsym(lib, "curl_easy_setopt");
    *(void **)&curl.easy_perform = dlsym(lib, "curl_easy_perform");
    *(void **)&curl.easy_cleanup = dlsym(lib, "curl_easy_cleanup");
    *(void **)&curl.easy_strerror = dlsym(lib, "curl_easy_strerror");
    if (curl.global_init == NULL || curl.easy_init == NULL || curl.easy_setopt == NULL ||
        curl.easy_perform == NULL || curl.easy_cleanup == NULL || curl.easy_strerror == NULL) {
        snprintf(curl_init_error, sizeof curl_init_error, "libcurl lacks a function Spry needs");
        return;
    }
    if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        snprintf(curl_init_error, sizeof curl_init_error, "cannot initialise libcurl");
}

struct sink {
    FILE *f;
    size_t written;
};

static size_t sink_write(char *data, size_t size, size_t nmemb, void *user)
{
    struct sink *s = user;
    size_t n = size * nmemb;
    if (n > DOWNLOAD_MAX - s->written)
        return 0; /* aborts the transfer */
    s->written += n;
    return fwrite(data, 1, n, s->f);
}

static int download(const char *url, const char *dest, char *why, size_t why_size)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_error[0] != '\0') {
        snprintf(why, why_size, "%s", curl_init_error);
        return SPRY_EIO;
    }
    FILE *f = fopen(dest, "wb");
    if (f == NULL) {
        snprintf(why, why_size, "cannot write \"%s\": %s", dest, strerror(errno));
        return SPRY_EIO;
    }
    CURL *handle = curl.easy_init();
    if (handle == NULL) {
        fclose(f);
        snprintf(why, why_size, "out of memory");
        return SPRY_ENOMEM;
    }
    struct sink s = {.f = f};
    char err[CURL_ERROR_SIZE] = "";
    curl.easy_setopt(handle, CURLOPT_URL, url);
    curl.easy_setopt(handle, CURLOPT_WRITEFUNCTION, sink_write);
    curl.easy_setopt(handle, CURLOPT_WRITEDATA, &s);
    curl.easy_setopt(handle, CURLOPT_ERRORBUFFER, err);
    curl.easy_setopt(handle, CURLOPT_FAILONERROR, 1L);
    curl.easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 1L);
    curl.easy_setopt(handle, CURLOPT_MAXREDIRS, 10L);
    curl.easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl.easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl.easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, 30L);
    curl.easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl.easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, 60L);
    curl.easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    CURLcode cc = curl.easy_perform(handle);
    curl.easy_cleanup(handle);
    bool closed = fclose(f) == 0;
    if (cc != CURLE_OK) {
        snprintf(why, why_size, "downloading %s failed: %s", url,
                 err[0] != '\0' ? err : curl.easy_strerror(cc));
        return SPRY_EIO;
    }
    if (!closed) {
        snprintf(why, why_size, "cannot write \"%s\"", dest);
        return SPRY_EIO;
    }
    return 0;
}

static int default_cache_dir(char *out, size_t size)
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg != NULL && xdg[0] == '/')
        n = snprintf(out, size, "%s/spry/sources", xdg);
    else if (home != NULL && home[0] != '\0')
        n = snprintf(out, size, "%s/.cache/spry/sources", home);
    else
        n = snprintf(out, size, "/tmp/spry-cache/sources");
    return n > 0 && (size_t)n < size ? 0 : SPRY_ETOOBIG;
}

int source_fetch(const char *url, const char *digest, const char *cache_dir, char **path_out,
                 char *why, size_t why_size)
{
    char dir[4096], path[4200], tmp[4300];
    if (cache_dir != NULL)
        snprintf(dir, sizeof dir, "%s", cache_dir);
    else if (default_cache_dir(dir, sizeof dir) != 0) {
        snprintf(why, why_size, "cache directory path too long");
        return SPRY_ETOOBIG;
    }
    if (app_mkdir_p(dir) != 0) {
        snprintf(why, why_size, "cannot create the cache directory \"%s\"", dir);
        return SPRY_EIO;
    }
    snprintf(path, sizeof path, "%s/sha256-%s", dir, digest + 7);
    char have[72];
    if (source_sha256_file(path, have) == 0 && strcmp(have, digest) == 0) {
        *path_out = spry_strdup(path);
        return *path_out != NULL ? 0 : SPRY_ENOMEM;
    }
    snprintf(tmp, sizeof tmp, "%s/.download-XXXXXX", dir);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(why, why_size, "cannot create a file in \"%s\"", dir);
        return SPRY_EIO;
    }
    close(fd);
    int rc = download(url, tmp, why, why_size);
    if (rc == 0 && (rc = source_sha256_file(tmp, have)) != 0)
        snprintf(why, why_size, "cannot hash the download of %s", url);
    if (rc == 0 && strcmp(have, digest) != 0) {
        snprintf(why, why_size, "the download of %s has digest %s; expected %s", url, have, digest);
        rc = SPRY_EINVALID;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        snprintf(why, why_size, "cannot move the download into \"%s\"", path);
        rc = SPRY_EIO;
    }
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    *path_out = spry_strdup(path);
    return *path_out != NULL ? 0 : SPRY_ENOMEM;
}

/*
 * TLS for the HTTP server: one OpenSSL context shared by every loop,
 * TLS 1.2 or later, offering h2 and http/1.1 by ALPN (h2o's list).
 */
#include "trigger/http_internal.h"

#include <h2o/http2.h>
#include <openssl/err.h>

static int tls_fail(struct spry_report *report, SSL_CTX *ctx, const char *what, const char *file)
{
    char detail[256] = "";
    unsigned long e = ERR_get_error();
    if (e != 0)
        ERR_error_string_n(e, detail, sizeof(detail));
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return spry_report_set(report, SPRY_EINVAL, "TLS: %s '%s': %s", what, file, detail);
}

int tls_context_create(const char *cert, const char *key, SSL_CTX **out, struct spry_report *report)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "TLS: cannot create a context");
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
        return tls_fail(report, ctx, "cannot load the certificate", cert);
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
        return tls_fail(report, ctx, "cannot load the private key", key);
    if (SSL_CTX_check_private_key(ctx) != 1)
        return tls_fail(report, ctx, "the private key does not match the certificate", key);
    h2o_ssl_register_alpn_protocols(ctx, h2o_http2_alpn_protocols);
    *out = ctx;
    return 0;
}

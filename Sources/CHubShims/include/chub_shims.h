// Wrappers for C macros Swift cannot import. Every function is prefixed chub_.
#ifndef CHUB_SHIMS_H
#define CHUB_SHIMS_H

#include <openssl/ssl.h>

/// SSL_set_tlsext_host_name is a macro over SSL_ctrl: sets SNI for a client connection.
long chub_SSL_set_tlsext_host_name(SSL *ssl, const char *name);

/// SSL_CTX_set_min_proto_version is a macro over SSL_CTX_ctrl.
long chub_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version);

/// SSL_set_hostflags with X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, a macro from x509v3.h (outside
/// COpenSSL's shim header): "*.example.com" still matches, "w*.example.com" no longer does.
void chub_SSL_set_hostflags_no_partial_wildcards(SSL *ssl);

#endif

// SPDX-License-Identifier: MIT
#ifndef SPP_HOOKD_COPENSSL_SHIM_H
#define SPP_HOOKD_COPENSSL_SHIM_H
// The SHA-256 of event ids uses the low-level digest (deprecated in OpenSSL 3, still
// shipped): the EVP route loads the provider machinery on first use, about 2 MiB of
// libcrypto pages resident in a daemon that may never need more of OpenSSL.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

// Macros Swift cannot call, as functions with explicit types.
static inline int spp_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline int spp_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}
static inline long spp_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

// ALPN for a server that speaks HTTP/1.1 only: select "http/1.1" when the client offers
// it; otherwise continue without ALPN (a client offering only h2 then gets HTTP/1.1 or fails).
static int spp_alpn_select_http11(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                                  const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl; (void)arg;
    static const unsigned char http11[] = "\x08http/1.1";
    unsigned char *selected = NULL;
    unsigned char selectedLength = 0;
    if (SSL_select_next_proto(&selected, &selectedLength, http11, sizeof(http11) - 1, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        *outlen = selectedLength;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;
}
static inline void spp_SSL_CTX_enable_alpn_http11(SSL_CTX *ctx) {
    SSL_CTX_set_alpn_select_cb(ctx, spp_alpn_select_http11, NULL);
}
// No renegotiation, the server's cipher order, no compression (CRIME).
static inline void spp_SSL_CTX_set_server_options(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
}
#endif

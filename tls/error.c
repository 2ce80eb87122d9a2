/* OpenSSL's reasons as ember errors: the verify result when the peer's
 * certificate was refused, else the first entry of the error queue. The
 * queue is drained either way, so one connection's error never shows up
 * as another's on the same thread. */
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>

#include "tls_internal.h"

int em__tls_error(SSL *ssl, int dflt, char *reason, size_t len) {
    unsigned long first = ERR_peek_error();
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    int err = dflt;
    /* Without SSL_VERIFY_PEER (an insecure client) OpenSSL still records a
     * result for the chain it did not enforce: that refused nothing. */
    if (ssl && vr != X509_V_OK && (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) &&
        (ERR_GET_REASON(first) == SSL_R_CERTIFICATE_VERIFY_FAILED || first == 0)) {
        snprintf(reason, len, "certificate verify failed: %s", X509_verify_cert_error_string(vr));
        err = EM_ECERTVERIFY;
    } else if (first) {
        ERR_error_string_n(first, reason, len);
        /* The peer refused our certificate (or its absence). */
        if (ERR_GET_REASON(first) == SSL_R_CERTIFICATE_VERIFY_FAILED)
            err = EM_ECERTVERIFY;
    } else if (len && !reason[0]) {
        snprintf(reason, len, "%s", em_strerror(dflt));
    }
    ERR_clear_error();
    return err;
}

EM_API const char *em_tls_last_error(char *buf, size_t len) {
    if (!len)
        return buf;
    buf[0] = '\0';
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

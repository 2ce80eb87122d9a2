/* Test certificates made with the OpenSSL API (EC P-256: fast), as PEM in
 * memory: a CA, leaves it signs, self-signed and expired ones. */
#ifndef TLS_TEST_CERTS_H
#define TLS_TEST_CERTS_H

#include "ember/tls.h"

typedef struct tc_pem {
    char *cert;
    char *key;
} tc_pem;

/* A CA named cn. */
void tc_ca(tc_pem *ca, const char *cn);
/* A leaf for cn with subjectAltName san ("DNS:localhost,IP:127.0.0.1";
 * NULL: none), signed by ca (NULL: self-signed), valid from now+from_s to
 * now+to_s seconds. */
void tc_leaf(tc_pem *out, const tc_pem *ca, const char *cn, const char *san, long from_s,
             long to_s);
void tc_free(tc_pem *p);
/* The PEM as an em_tls_cert / an em_slice. */
em_tls_cert tc_cert(const tc_pem *p);
em_slice tc_slice(const char *pem);
/* Write pem to dir/name; returns the malloc'd path. */
char *tc_write(const char *dir, const char *name, const char *pem);

#endif

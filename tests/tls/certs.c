/* See certs.h. Failures abort the test (assert): they are bugs here. */
#include "certs.h"

#include <assert.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *bio_text(BIO *b) {
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *s = malloc((size_t)n + 1);
    assert(s);
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
    BIO_free(b);
    return s;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value) {
    X509V3_CTX v;
    X509V3_set_ctx(&v, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v, nid, value);
    assert(e);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

static void make(tc_pem *out, const tc_pem *ca, const char *cn, const char *san, long from_s,
                 long to_s, bool is_ca) {
    EVP_PKEY *key = EVP_EC_gen("P-256");
    assert(key);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    static long serial = 1000;
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), from_s);
    X509_gmtime_adj(X509_getm_notAfter(x), to_s);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509 *issuer = x;
    EVP_PKEY *sign_key = key;
    X509 *cax = NULL;
    EVP_PKEY *cak = NULL;
    if (ca) {
        BIO *b = BIO_new_mem_buf(ca->cert, -1);
        cax = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
        b = BIO_new_mem_buf(ca->key, -1);
        cak = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
        BIO_free(b);
        assert(cax && cak);
        issuer = cax;
        sign_key = cak;
    }
    X509_set_issuer_name(x, X509_get_subject_name(issuer));
    if (is_ca) {
        add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x, issuer, NID_basic_constraints, "CA:FALSE");
        add_ext(x, issuer, NID_ext_key_usage, "serverAuth,clientAuth");
        if (san)
            add_ext(x, issuer, NID_subject_alt_name, san);
    }
    add_ext(x, issuer, NID_subject_key_identifier, "hash");
    if (X509_sign(x, sign_key, EVP_sha256()) <= 0)
        abort();
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    out->cert = bio_text(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
    out->key = bio_text(b);
    X509_free(x);
    X509_free(cax);
    EVP_PKEY_free(key);
    EVP_PKEY_free(cak);
}

void tc_ca(tc_pem *ca, const char *cn) {
    make(ca, NULL, cn, NULL, -3600, 86400, true);
}

void tc_leaf(tc_pem *out, const tc_pem *ca, const char *cn, const char *san, long from_s,
             long to_s) {
    make(out, ca, cn, san, from_s, to_s, false);
}

void tc_free(tc_pem *p) {
    free(p->cert);
    free(p->key);
    p->cert = p->key = NULL;
}

em_slice tc_slice(const char *pem) {
    return em_slice_make(pem, strlen(pem));
}

em_tls_cert tc_cert(const tc_pem *p) {
    em_tls_cert c = {0};
    c.cert_pem = tc_slice(p->cert);
    c.key_pem = tc_slice(p->key);
    return c;
}

char *tc_write(const char *dir, const char *name, const char *pem) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    assert(path);
    snprintf(path, n, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert(f);
    fputs(pem, f);
    fclose(f);
    return path;
}

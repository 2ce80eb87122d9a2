/* Contexts: options checked, certificates and CAs from memory and files,
 * the ticket key, OpenSSL's reason for a failure. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "certs.h"
#include "em_test.h"

static tc_pem ca, leaf;

static int setup(void **state) {
    tc_ca(&ca, "ctx CA");
    tc_leaf(&leaf, &ca, "localhost", "DNS:localhost", -60, 86400);
    return 0;
}

static int teardown(void **state) {
    tc_free(&ca);
    tc_free(&leaf);
    return 0;
}

static void test_bad_options(void **state) {
    em_tls_ctx *ctx = (em_tls_ctx *)1;
    assert_int_equal(em_tls_ctx_new(&ctx, EM_TLS_SERVER, NULL), EM_EINVAL); /* no cert */
    assert_null(ctx);
    em_tls_ctx_opts o = {.alpn = "h2,,http/1.1"};
    assert_int_equal(em_tls_ctx_new(&ctx, EM_TLS_CLIENT, &o), EM_EINVAL);
    o.alpn = "h2,";
    assert_int_equal(em_tls_ctx_new(&ctx, EM_TLS_CLIENT, &o), EM_EINVAL);
    em_tls_ctx_opts v = {.min_version = 0x0301};
    assert_int_equal(em_tls_ctx_new(&ctx, EM_TLS_CLIENT, &v), EM_EINVAL);
    em_tls_ctx_opts bad = {.cert = {.cert_pem = EM_SLICE_LIT("not a certificate"),
                                    .key_pem = EM_SLICE_LIT("nor a key")}};
    assert_int_equal(em_tls_ctx_new(&ctx, EM_TLS_SERVER, &bad), EM_EPARSE);
    em_tls_ctx_opts missing = {.cert = {.cert_file = "/nonexistent.pem", .key_file = "/x"}};
    assert_int_equal(em_tls_ctx_new(&ctx, EM_TLS_SERVER, &missing), EM_EPARSE);
    char why[256];
    em_tls_last_error(why, sizeof why);
    assert_string_not_equal(why, "");
    em_tls_last_error(why, sizeof why); /* drained */
    assert_string_equal(why, "");
    em_tls_ctx_free(NULL);
}

static void test_from_files_and_memory(void **state) {
    char dir[] = "/tmp/ember-tls-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *cert = tc_write(dir, "cert.pem", leaf.cert), *key = tc_write(dir, "key.pem", leaf.key);
    char *cafile = tc_write(dir, "ca.pem", ca.cert);
    em_tls_ctx *s, *c, *m;
    em_tls_ctx_opts so = {.cert = {.cert_file = cert, .key_file = key},
                          .alpn = "http/1.1",
                          .ca_file = cafile,
                          .client_auth = EM_TLS_CLIENT_AUTH_OPTIONAL};
    assert_int_equal(em_tls_ctx_new(&s, EM_TLS_SERVER, &so), 0);
    assert_int_equal(em_tls_ctx_role(s), EM_TLS_SERVER);
    unsigned char key80[80] = {1, 2, 3};
    assert_int_equal(em_tls_ctx_set_ticket_key(s, key80), 0);
    em_tls_ctx_opts co = {.ca_file = cafile, .min_version = EM_TLS_V1_3};
    assert_int_equal(em_tls_ctx_new(&c, EM_TLS_CLIENT, &co), 0);
    assert_int_equal(em_tls_ctx_role(c), EM_TLS_CLIENT);
    assert_int_equal(em_tls_ctx_set_ticket_key(c, key80), EM_EINVAL);
    /* A key that is not the certificate's. */
    tc_pem other;
    tc_leaf(&other, &ca, "other", NULL, -60, 60);
    em_tls_ctx_opts mism = {
        .cert = {.cert_pem = tc_slice(leaf.cert), .key_pem = tc_slice(other.key)}};
    assert_int_equal(em_tls_ctx_new(&m, EM_TLS_SERVER, &mism), EM_EPARSE);
    /* The system store (no CA given). */
    assert_int_equal(em_tls_ctx_new(&m, EM_TLS_CLIENT, NULL), 0);
    em_tls_ctx_free(m);
    tc_free(&other);
    em_tls_ctx_free(s);
    em_tls_ctx_free(c);
    unlink(cert);
    unlink(key);
    unlink(cafile);
    free(cert);
    free(key);
    free(cafile);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_from_files_and_memory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

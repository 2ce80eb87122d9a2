/* tls/error.c: how a failed handshake is classified. A client that does
 * not verify (insecure) never reports EM_ECERTVERIFY: OpenSSL still records
 * a verify result for the certificate it ignored, and a later failure with
 * an empty error queue (the server leaving mid-handshake) must not read as
 * a refused certificate. (Found by fuzz/tls_records.) */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tls_test_util.h"

typedef struct client {
    em_tcp_conn c;
    bool done, closed;
    int status;
    char reason[256];
} client;

static void on_closed(em_tcp_conn *c) {
    EM_CONTAINER_OF(c, client, c)->closed = true;
}

static void on_read(em_tcp_conn *c, ssize_t n) {
    em_tcp_conn_close(c, on_closed);
}

static const em_tcp_conn_cbs cbs = {.on_read = on_read};

static void on_done(em_tcp_conn *c, int status) {
    client *cl = EM_CONTAINER_OF(c, client, c);
    cl->done = true;
    cl->status = status;
    snprintf(cl->reason, sizeof cl->reason, "%s", em_tls_conn_error(c));
    em_tcp_conn_close(c, on_closed);
}

/* A TLS 1.2 server (self-signed, which an insecure client accepts) that
 * sends its first flight and then ends its side before its Finished. */
static void test_insecure_client_server_leaves_mid_handshake(void **state) {
    tc_pem self;
    tc_leaf(&self, NULL, "localhost", "DNS:localhost", -60, 86400);
    em_tls_ctx_opts o = {.insecure = true, .no_resumption = true};
    em_tls_ctx *cctx;
    assert_int_equal(em_tls_ctx_new(&cctx, EM_TLS_CLIENT, &o), 0);

    SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(sctx);
    BIO *b = BIO_new_mem_buf(self.cert, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    b = BIO_new_mem_buf(self.key, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_int_equal(SSL_CTX_use_certificate(sctx, x), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(sctx, k), 1);
    assert_int_equal(SSL_CTX_set_max_proto_version(sctx, TLS1_2_VERSION), 1);
    SSL *srv = SSL_new(sctx);
    BIO *in = BIO_new(BIO_s_mem()), *out = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in, -1);
    SSL_set_bio(srv, in, out);
    SSL_set_accept_state(srv);

    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    client cl = {0};
    assert_int_equal(em_tcp_conn_init(&loop, &cl.c, sv[0], &cbs, NULL), 0);
    assert_int_equal(em_tls_attach(&cl.c, cctx, "localhost"), 0);
    assert_int_equal(em_tls_handshake(&cl.c, &cbs, on_done), 0);

    /* The ClientHello in, the server's flight (ServerHello .. Done) out. */
    char buf[16384];
    ssize_t n = -1;
    for (int i = 0; i < 1000 && n <= 0; i++) {
        em_loop_run(&loop, EM_RUN_NOWAIT);
        n = recv(sv[1], buf, sizeof buf, 0);
    }
    assert_true(n > 0);
    assert_int_equal(BIO_write(in, buf, (int)n), (int)n);
    assert_int_equal(SSL_do_handshake(srv), -1); /* waits for the client's answer */
    int len = BIO_read(out, buf, sizeof buf);
    assert_true(len > 0);
    assert_int_equal(send(sv[1], buf, (size_t)len, 0), len);
    assert_int_equal(shutdown(sv[1], SHUT_WR), 0); /* gone before its Finished */

    EM_TEST_RUN_UNTIL(&loop, cl.done, 5000);
    assert_int_equal(cl.status, EM_ETLSHANDSHAKE);
    assert_null(strstr(cl.reason, "certificate verify failed"));
    EM_TEST_RUN_UNTIL(&loop, cl.closed, 5000);
    assert_int_equal(em_loop_close(&loop), 0);

    close(sv[1]);
    SSL_free(srv);
    SSL_CTX_free(sctx);
    X509_free(x);
    EVP_PKEY_free(k);
    em_tls_ctx_free(cctx);
    tc_free(&self);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insecure_client_server_leaves_mid_handshake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The blocking TLS stream: a server thread and a client, lines both ways,
 * close_notify as EM_EOF, a refused certificate, the em_stream vtable, a
 * close answering the peer's close_notify. */
#include <pthread.h>
#include <string.h>

#include <openssl/ssl.h>

#include "certs.h"
#include "em_test.h"

static tc_pem ca, leaf;
static em_tls_ctx *sctx, *cctx;

typedef struct srv_arg {
    em_tcp_listener l;
    int status;
} srv_arg;

static void *server_main(void *p) {
    srv_arg *a = p;
    em_tcp_stream tcp;
    if ((a->status = em_tcp_accept(&a->l, &tcp, NULL, 5000)) != 0)
        return NULL;
    em_tls_stream s;
    a->status = em_tls_stream_start(&s, &tcp, sctx, NULL);
    char buf[64];
    ssize_t n = 0;
    /* Echo until the client's close_notify, then send ours. */
    while (a->status == 0 && (n = em_tls_stream_read(&s, buf, sizeof buf)) > 0)
        a->status = em_tls_stream_write(&s, buf, (size_t)n);
    if (a->status == 0 && n != EM_EOF)
        a->status = (int)n;
    if (a->status == 0)
        a->status = em_tls_stream_shutdown(&s);
    em_tls_stream_close(&s);
    return NULL;
}

static void serve(srv_arg *a, pthread_t *th, em_sockaddr *addr) {
    em_sockaddr any = em_sockaddr_loopback4(0);
    assert_int_equal(em_tcp_listen(&a->l, &any, NULL), 0);
    assert_int_equal(em_tcp_listener_addr(&a->l, addr), 0);
    assert_int_equal(pthread_create(th, NULL, server_main, a), 0);
}

static void test_echo(void **state) {
    srv_arg a = {0};
    pthread_t th;
    em_sockaddr addr;
    serve(&a, &th, &addr);
    em_tls_stream s;
    assert_int_equal(em_tls_stream_connect(&s, &addr, 5000, cctx, "localhost"), 0);
    em_tls_info info;
    assert_int_equal(em_tls_stream_info(&s, &info), 0);
    assert_true(info.peer_verified);
    assert_string_equal(em_tls_stream_error(&s), "");
    em_stream *st = em_tls_stream_as_stream(&s);
    assert_int_equal(em_stream_write_all(st, "hello\n", 6), 0);
    em_reader r;
    em_reader_init(&r, st, 0);
    em_slice line;
    assert_int_equal(em_reader_read_line(&r, 100, &line), 5);
    assert_memory_equal(line.ptr, "hello", 5);
    assert_int_equal(em_stream_shutdown(st), 0);
    char buf[8];
    assert_int_equal(em_reader_read(&r, buf, sizeof buf), EM_EOF);
    em_reader_free(&r);
    assert_int_equal(em_stream_close(st), 0);
    pthread_join(th, NULL);
    assert_int_equal(a.status, 0);
    em_tcp_listener_close(&a.l);
}

static void test_refused(void **state) {
    srv_arg a = {0};
    pthread_t th;
    em_sockaddr addr;
    serve(&a, &th, &addr);
    em_tls_stream s;
    assert_int_equal(em_tls_stream_connect(&s, &addr, 5000, cctx, "wrong.test"), EM_ECERTVERIFY);
    pthread_join(th, NULL);
    assert_int_not_equal(a.status, 0);
    em_tcp_listener_close(&a.l);
}

/* Read until the client's close_notify, then close without a shutdown. */
static void *closing_server_main(void *p) {
    srv_arg *a = p;
    em_tcp_stream tcp;
    if ((a->status = em_tcp_accept(&a->l, &tcp, NULL, 5000)) != 0)
        return NULL;
    em_tls_stream s;
    a->status = em_tls_stream_start(&s, &tcp, sctx, NULL);
    char buf[64];
    ssize_t n = 0;
    while (a->status == 0 && (n = em_tls_stream_read(&s, buf, sizeof buf)) > 0)
        ;
    if (a->status == 0 && n != EM_EOF)
        a->status = (int)n;
    em_tls_stream_close(&s);
    return NULL;
}

/* RFC 8446 §6.1, RFC 5246 §7.2.1: a close after the peer's close_notify
 * sends ours; an OpenSSL client reads it, not an unexpected EOF. */
static void test_close_answers_close_notify(void **state) {
    srv_arg a = {0};
    pthread_t th;
    em_sockaddr addr, any = em_sockaddr_loopback4(0);
    assert_int_equal(em_tcp_listen(&a.l, &any, NULL), 0);
    assert_int_equal(em_tcp_listener_addr(&a.l, &addr), 0);
    assert_int_equal(pthread_create(&th, NULL, closing_server_main, &a), 0);
    em_tcp_stream tcp;
    assert_int_equal(em_tcp_connect(&tcp, &addr, 5000), 0);
    assert_int_equal(em_tcp_stream_set_timeouts(&tcp, 5000, 5000), 0);
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    SSL *ssl = SSL_new(c);
    SSL_set_fd(ssl, tcp.fd);
    assert_int_equal(SSL_connect(ssl), 1);
    assert_int_equal(SSL_write(ssl, "hi", 2), 2);
    assert_true(SSL_shutdown(ssl) >= 0);
    char buf[64];
    int r;
    while ((r = SSL_read(ssl, buf, sizeof buf)) > 0)
        ;
    assert_int_equal(SSL_get_error(ssl, r), SSL_ERROR_ZERO_RETURN);
    assert_true(SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl);
    SSL_CTX_free(c);
    em_tcp_stream_close(&tcp);
    pthread_join(th, NULL);
    assert_int_equal(a.status, 0);
    em_tcp_listener_close(&a.l);
}

static int setup(void **state) {
    tc_ca(&ca, "stream CA");
    tc_leaf(&leaf, &ca, "localhost", "DNS:localhost", -60, 86400);
    em_tls_ctx_opts so = {.cert = tc_cert(&leaf)}, co = {.ca_pem = tc_slice(ca.cert)};
    return em_tls_ctx_new(&sctx, EM_TLS_SERVER, &so) || em_tls_ctx_new(&cctx, EM_TLS_CLIENT, &co);
}

static int teardown(void **state) {
    em_tls_ctx_free(sctx);
    em_tls_ctx_free(cctx);
    tc_free(&ca);
    tc_free(&leaf);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_close_answers_close_notify),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

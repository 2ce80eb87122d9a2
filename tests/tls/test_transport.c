/* The TLS transport's close against a plain OpenSSL peer: a peer's
 * close_notify is answered with ours when the connection closes (as the
 * HTTP server closes on the client's end), on the server side and the
 * client side, in TLS 1.2 and 1.3; a bare FIN is not. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "tls_test_util.h"

static tc_pem ca, leaf;

static int group_setup(void **state) {
    /* The peer's socket BIO writes without MSG_NOSIGNAL: after a bare FIN,
     * its alert for the unexpected EOF meets a closed write side. */
    signal(SIGPIPE, SIG_IGN);
    tc_ca(&ca, "transport CA");
    tc_leaf(&leaf, &ca, "localhost", "DNS:localhost,IP:127.0.0.1", -60, 86400);
    return 0;
}

static int group_teardown(void **state) {
    tc_free(&ca);
    tc_free(&leaf);
    return 0;
}

/* The HTTP server's way: at the peer's end, close at once (no end()). */
static void close_on_eof(em_tcp_conn *c, ssize_t n) {
    side *s = EM_CONTAINER_OF(c, side, c);
    if (n == EM_EOF) {
        s->eof = true;
        em_tcp_conn_close(c, side_close_cb);
        return;
    }
    side_on_read(c, n);
}

static const em_tcp_conn_cbs close_cbs = {close_on_eof, side_on_sent, NULL, NULL};

/* What the OpenSSL peer saw, for the loop thread to check after the join. */
typedef struct peer {
    em_sockaddr addr;
    em_tcp_listener l; /* the peer is the server: it accepts here */
    int max_version;
    bool bare_fin; /* client: end with a FIN alone, no close_notify */
    atomic_bool done;
    int step;     /* how far it got: 0 nothing ... 4 read our end */
    int last_err; /* SSL_get_error of the read that ended */
    int shutdown; /* SSL_get_shutdown then */
    char got[16];
} peer;

static SSL *peer_ssl(peer *p, SSL_CTX *sctx, int fd) {
    SSL_CTX_set_max_proto_version(sctx, p->max_version);
    SSL *ssl = SSL_new(sctx);
    SSL_set_fd(ssl, fd);
    return ssl;
}

/* Read until the stream ends; note how. */
static void peer_read_end(peer *p, SSL *ssl) {
    char buf[64];
    int r;
    while ((r = SSL_read(ssl, buf, sizeof buf)) > 0)
        ;
    p->last_err = SSL_get_error(ssl, r);
    p->shutdown = SSL_get_shutdown(ssl);
}

/* Client: a request, its echo, our close_notify, then the server's. */
static void *client_main(void *arg) {
    peer *p = arg;
    em_tcp_stream tcp;
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    if (em_tcp_connect(&tcp, &p->addr, 5000) != 0)
        goto out;
    (void)em_tcp_stream_set_timeouts(&tcp, 5000, 5000);
    SSL *ssl = peer_ssl(p, cctx, tcp.fd);
    if (SSL_connect(ssl) == 1) {
        p->step = 1;
        if (SSL_write(ssl, "GET / ", 6) == 6) {
            int n = 0, r;
            while (n < 6 && (r = SSL_read(ssl, p->got + n, 6 - n)) > 0)
                n += r;
            if (n == 6) {
                p->step = 2;
                if (p->bare_fin ? shutdown(tcp.fd, SHUT_WR) == 0
                                : SSL_shutdown(ssl) >= 0) { /* 0: ours went, theirs not yet read */
                    p->step = 3;
                    peer_read_end(p, ssl);
                    p->step = 4;
                }
            }
        }
    }
    SSL_free(ssl);
    em_tcp_stream_close(&tcp);
out:
    SSL_CTX_free(cctx);
    atomic_store(&p->done, true);
    return NULL;
}

/* Server: "hello", close_notify first, then the client's answer. */
static void *server_main(void *arg) {
    peer *p = arg;
    em_tcp_stream tcp;
    SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
    BIO *cb = BIO_new_mem_buf(leaf.cert, -1), *kb = BIO_new_mem_buf(leaf.key, -1);
    X509 *x = PEM_read_bio_X509(cb, NULL, NULL, NULL);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
    SSL_CTX_use_certificate(sctx, x);
    SSL_CTX_use_PrivateKey(sctx, k);
    X509_free(x);
    EVP_PKEY_free(k);
    BIO_free(cb);
    BIO_free(kb);
    if (em_tcp_accept(&p->l, &tcp, NULL, 5000) != 0)
        goto out;
    (void)em_tcp_stream_set_timeouts(&tcp, 5000, 5000);
    SSL *ssl = peer_ssl(p, sctx, tcp.fd);
    if (SSL_accept(ssl) == 1) {
        p->step = 1;
        if (SSL_write(ssl, "hello", 5) == 5) {
            p->step = 2;
            if (SSL_shutdown(ssl) >= 0) {
                p->step = 3;
                peer_read_end(p, ssl);
                p->step = 4;
            }
        }
    }
    SSL_free(ssl);
    em_tcp_stream_close(&tcp);
out:
    SSL_CTX_free(sctx);
    atomic_store(&p->done, true);
    return NULL;
}

/* The peer read a close_notify, not an unexpected end. */
static void assert_close_notify(const peer *p) {
    assert_int_equal(p->step, 4);
    assert_int_equal(p->last_err, SSL_ERROR_ZERO_RETURN);
    assert_true(p->shutdown & SSL_RECEIVED_SHUTDOWN);
}

/* RFC 8446 §6.1, RFC 5246 §7.2.1: the server answers the client's
 * close_notify with its own, though the connection closes at once. */
static void server_answers(int max_version, bool bare_fin) {
    em_tls_ctx_opts so = {.cert = tc_cert(&leaf)};
    em_tls_ctx *sctx;
    assert_int_equal(em_tls_ctx_new(&sctx, EM_TLS_SERVER, &so), 0);
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_tcp_listener l;
    em_sockaddr any = em_sockaddr_loopback4(0);
    peer p = {.max_version = max_version, .bare_fin = bare_fin};
    assert_int_equal(em_tcp_listen(&l, &any, NULL), 0);
    assert_int_equal(em_tcp_listener_addr(&l, &p.addr), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, client_main, &p), 0);
    side srv;
    side_init(&srv, true);
    side_accept(&loop, &srv, &l, sctx, NULL);
    em_tcp_conn_set_cbs(&srv.c, &close_cbs);
    EM_TEST_RUN_UNTIL(&loop, srv.closed, 10000);
    pthread_join(th, NULL);
    assert_true(srv.eof);
    assert_int_equal(srv.err, 0);
    assert_memory_equal(p.got, "GET / ", 6);
    if (!bare_fin) {
        assert_close_notify(&p);
    } else { /* a FIN may be a truncation: nothing vouches for it */
        assert_int_equal(p.step, 4);
        assert_int_not_equal(p.last_err, SSL_ERROR_ZERO_RETURN);
        assert_false(p.shutdown & SSL_RECEIVED_SHUTDOWN);
    }
    em_tcp_listener_close(&l);
    side_done(&srv);
    assert_int_equal(em_loop_close(&loop), 0);
    em_tls_ctx_free(sctx);
}

static void test_server_answers_close_notify_tls13(void **state) {
    server_answers(TLS1_3_VERSION, false);
}

static void test_server_answers_close_notify_tls12(void **state) {
    server_answers(TLS1_2_VERSION, false);
}

/* The end without a close_notify (a FIN alone) gets none either. */
static void test_server_ignores_bare_fin(void **state) {
    server_answers(TLS1_3_VERSION, true);
}

/* The client side shares the transport: a server that ends first gets
 * the client's close_notify back. */
static void client_answers(int max_version) {
    em_tls_ctx_opts co = {.ca_pem = tc_slice(ca.cert)};
    em_tls_ctx *cctx;
    assert_int_equal(em_tls_ctx_new(&cctx, EM_TLS_CLIENT, &co), 0);
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_sockaddr any = em_sockaddr_loopback4(0);
    peer p = {.max_version = max_version};
    assert_int_equal(em_tcp_listen(&p.l, &any, NULL), 0);
    assert_int_equal(em_tcp_listener_addr(&p.l, &p.addr), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, server_main, &p), 0);
    side cli;
    side_init(&cli, false);
    assert_int_equal(em_tls_connect(&loop, &cli.c, &p.addr, &close_cbs, NULL, cctx, "localhost",
                                    side_on_connect),
                     0);
    EM_TEST_RUN_UNTIL(&loop, cli.closed, 10000);
    pthread_join(th, NULL);
    assert_int_equal(cli.status, 0);
    assert_true(cli.eof);
    assert_int_equal(cli.err, 0);
    assert_int_equal(em_buf_len(&cli.got), 5);
    assert_memory_equal(em_buf_data(&cli.got), "hello", 5);
    assert_close_notify(&p);
    em_tcp_listener_close(&p.l);
    side_done(&cli);
    assert_int_equal(em_loop_close(&loop), 0);
    em_tls_ctx_free(cctx);
}

static void test_client_answers_close_notify_tls13(void **state) {
    client_answers(TLS1_3_VERSION);
}

static void test_client_answers_close_notify_tls12(void **state) {
    client_answers(TLS1_2_VERSION);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_answers_close_notify_tls13),
        cmocka_unit_test(test_server_answers_close_notify_tls12),
        cmocka_unit_test(test_server_ignores_bare_fin),
        cmocka_unit_test(test_client_answers_close_notify_tls13),
        cmocka_unit_test(test_client_answers_close_notify_tls12),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* The HTTP server over TLS (em_http_server_opts.tls): a verified client
 * gets its answers over one keep-alive connection, and a client that does
 * not trust the certificate is refused. The client is ember's blocking TLS
 * stream on a thread of its own; the server's loop runs here. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "certs.h"
#include "em_test.h"
#include "ember/http.h"

static void h_hello(em_http_ctx *cx, const em_http_handler *h) {
    em_http_respond_text(cx, 200, "hello over tls\n");
}
static const em_http_handler hello = {h_hello, NULL, NULL};

typedef struct client {
    em_sockaddr addr;
    const em_tls_ctx *ctx;
    const char *name;
    int rc;         /* of the connect */
    char got[2048]; /* both responses */
    size_t len;
    atomic_int done;
} client;

static void *client_main(void *arg) {
    client *c = arg;
    em_tls_stream s;
    c->rc = em_tls_stream_connect(&s, &c->addr, 5000, c->ctx, c->name);
    if (c->rc == 0) {
        static const char req[] = "GET /a HTTP/1.1\r\nHost: localhost\r\n\r\n"
                                  "GET /b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        if (em_tls_stream_write(&s, req, sizeof req - 1) == 0) {
            ssize_t n;
            while (c->len < sizeof c->got - 1 &&
                   (n = em_tls_stream_read(&s, c->got + c->len, sizeof c->got - 1 - c->len)) > 0)
                c->len += (size_t)n;
        }
        em_tls_stream_close(&s);
    }
    atomic_store(&c->done, 1);
    return NULL;
}

static int closed;
static void on_closed(em_http_server *srv) {
    closed = 1;
}

/* Serve until the client thread is done, then shut down. */
static void serve_one(client *c, const em_tls_ctx *server_ctx) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_http_server srv;
    em_http_server_opts o = {.handler = &hello, .tls = server_ctx};
    em_sockaddr any = em_sockaddr_loopback4(0);
    assert_int_equal(em_http_server_start(&loop, &srv, &any, &o), 0);
    assert_int_equal(em_http_server_addr(&srv, &c->addr), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, client_main, c), 0);
    em_loop_update_time(&loop);
    uint64_t end = em_loop_now(&loop) + 10000;
    while (!atomic_load(&c->done)) {
        em_loop_run(&loop, EM_RUN_NOWAIT);
        em_loop_update_time(&loop);
        if (em_loop_now(&loop) > end)
            fail_msg("the TLS client did not finish");
        usleep(500);
    }
    pthread_join(th, NULL);
    closed = 0;
    em_http_server_shutdown(&srv, on_closed);
    EM_TEST_RUN_UNTIL(&loop, closed, 5000);
    em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&loop), 0);
}

static tc_pem ca, leaf, stranger;

static int setup(void **state) {
    tc_ca(&ca, "ember test CA");
    tc_leaf(&leaf, &ca, "localhost", "DNS:localhost,IP:127.0.0.1", -60, 3600);
    tc_ca(&stranger, "somebody else");
    return 0;
}
static int teardown(void **state) {
    tc_free(&ca);
    tc_free(&leaf);
    tc_free(&stranger);
    return 0;
}

static em_tls_ctx *server_ctx(void) {
    em_tls_ctx *ctx;
    em_tls_ctx_opts o = {.cert = tc_cert(&leaf), .alpn = "http/1.1"};
    assert_int_equal(em_tls_ctx_new(&ctx, EM_TLS_SERVER, &o), 0);
    return ctx;
}

static em_tls_ctx *client_ctx(const tc_pem *trust) {
    em_tls_ctx *ctx;
    em_tls_ctx_opts o = {.ca_pem = tc_slice(trust->cert)};
    assert_int_equal(em_tls_ctx_new(&ctx, EM_TLS_CLIENT, &o), 0);
    return ctx;
}

static void test_https_keep_alive(void **state) {
    em_tls_ctx *sctx = server_ctx(), *cctx = client_ctx(&ca);
    static client c;
    memset(&c, 0, sizeof c);
    c.ctx = cctx;
    c.name = "localhost";
    serve_one(&c, sctx);
    assert_int_equal(c.rc, 0);
    c.got[c.len] = 0;
    /* Two answers on one verified connection, the second closing it. */
    const char *first = strstr(c.got, "hello over tls\n");
    assert_non_null(first);
    assert_non_null(strstr(first + 1, "hello over tls\n"));
    assert_non_null(strstr(c.got, "Connection: close\r\n"));
    em_tls_ctx_free(cctx);
    em_tls_ctx_free(sctx);
}

static void test_https_untrusted_refused(void **state) {
    em_tls_ctx *sctx = server_ctx(), *cctx = client_ctx(&stranger);
    static client c;
    memset(&c, 0, sizeof c);
    c.ctx = cctx;
    c.name = "localhost";
    serve_one(&c, sctx);
    assert_int_equal(c.rc, EM_ECERTVERIFY);
    assert_int_equal(c.len, 0);
    em_tls_ctx_free(cctx);
    em_tls_ctx_free(sctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_https_keep_alive),
        cmocka_unit_test(test_https_untrusted_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

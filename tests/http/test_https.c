/* The HTTP server over TLS (em_http_server_opts.tls): a verified client
 * gets its answers over one keep-alive connection, and a client that does
 * not trust the certificate is refused. The client is ember's blocking TLS
 * stream on a thread of its own; the server's loop runs here. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
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

/* A TLS server on a thread that answers one request with a head and a
 * body the close ends (no Content-Length, no chunked), then either sends
 * close_notify or just closes the socket. */
typedef struct raw_srv {
    em_tcp_listener l;
    const em_tls_ctx *ctx;
    bool notify;
} raw_srv;

static void *raw_main(void *arg) {
    raw_srv *r = arg;
    em_tcp_stream tcp;
    if (em_tcp_accept(&r->l, &tcp, NULL, 5000) != 0)
        return NULL;
    em_tls_stream s;
    if (em_tls_stream_start(&s, &tcp, r->ctx, NULL) == 0) {
        char buf[2048];
        size_t len = 0;
        ssize_t n;
        while (len < sizeof buf - 1 && (n = em_tls_stream_read(&s, buf + len, sizeof buf - 1 - len)) > 0) {
            len += (size_t)n;
            buf[len] = 0;
            if (strstr(buf, "\r\n\r\n"))
                break;
        }
        static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nthe first half";
        if (em_tls_stream_write(&s, resp, sizeof resp - 1) == 0 && r->notify)
            (void)em_tls_stream_shutdown(&s);
    }
    em_tls_stream_close(&s); /* no close_notify of ours unless sent above */
    return NULL;
}

static int fetch_close_delimited(bool notify, em_http_resp *resp) {
    em_tls_ctx *sctx = server_ctx(), *cctx = client_ctx(&ca);
    raw_srv r = {.ctx = sctx, .notify = notify};
    em_sockaddr a = em_sockaddr_loopback4(0), addr;
    assert_int_equal(em_tcp_listen(&r.l, &a, NULL), 0);
    assert_int_equal(em_tcp_listener_addr(&r.l, &addr), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, raw_main, &r), 0);
    char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%u/", (unsigned)em_sockaddr_port(&addr));
    em_http_req req = {.url = url, .timeout_ms = 5000};
    em_http_client_opts o = {.tls = cctx};
    int rc = em_http_do(&req, &o, resp);
    pthread_join(th, NULL);
    em_tcp_listener_close(&r.l);
    em_tls_ctx_free(cctx);
    em_tls_ctx_free(sctx);
    return rc;
}

/* RFC 9112 §9.8 (and RFC 5246 §7.2.1, RFC 8446 §6.1): over TLS a body the
 * close delimits is whole only if the close was the server's close_notify;
 * a bare FIN may be an attacker's truncation and must not pass as the end. */
static void test_https_close_delimited_truncation(void **state) {
    em_http_resp resp;
    memset(&resp, 0, sizeof resp);
    assert_int_equal(fetch_close_delimited(true, &resp), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body.ptr, "the first half");
    em_http_resp_free(&resp);
    memset(&resp, 0, sizeof resp);
    int rc = fetch_close_delimited(false, &resp);
    assert_int_equal(rc, EM_EPARTIAL);
    em_http_resp_free(&resp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_https_keep_alive),
        cmocka_unit_test(test_https_untrusted_refused),
        cmocka_unit_test(test_https_close_delimited_truncation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

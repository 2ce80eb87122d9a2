/* ws/client.c and ws/client_blocking.c: the WebSocket client against
 * ember's own server on the same loop (em_ws_route), over plain TCP and
 * TLS, and against a scripted raw server for the handshake answers no
 * good server sends (a wrong accept key, a subprotocol or extension that
 * was not offered, a refusal). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "certs.h"
#include "em_test.h"
#include "ember/ws.h"
#include "ws_conn_internal.h"

static tc_pem ca, leaf;

/* ---- an echo server on the loop ---------------------------------------------- */

static void srv_message(em_ws *ws, int opcode, em_slice data) {
    assert_int_equal(em_ws_send(ws, opcode, data, NULL) < 0, 0);
}
static void srv_close(em_ws *ws, int code, int err, em_slice reason) {
    (void)ws, (void)code, (void)err, (void)reason;
}
static const em_ws_cbs srv_cbs = {.on_message = srv_message, .on_close = srv_close};
static const char *const srv_protocols[] = {"chat.v2", "chat", NULL};

typedef struct server {
    em_http_server http, https;
    em_http_router router;
    em_http_handler h;
    em_ws_server_opts wso, wso_deflate;
    em_tls_ctx *tls;
    uint16_t port, tls_port;
    int closed;
} server;

static void on_srv_closed(em_http_server *s) {
    ((server *)s->data)->closed++;
}

static void server_start(em_loop *loop, server *s) {
    memset(s, 0, sizeof *s);
    em_http_router_init(&s->router);
    s->wso = (em_ws_server_opts){.cbs = &srv_cbs, .protocols = srv_protocols};
    s->wso_deflate = s->wso;
    s->wso_deflate.ws.deflate.enable = true;
    assert_int_equal(em_ws_route(&s->router, "/echo", &s->wso), 0);
    assert_int_equal(em_ws_route(&s->router, "/deflate", &s->wso_deflate), 0);
    s->h = em_http_router_as_handler(&s->router);
    em_http_server_opts o = {.handler = &s->h};
    em_sockaddr any = em_sockaddr_loopback4(0), bound;
    s->http.data = s->https.data = s;
    assert_int_equal(em_http_server_start(loop, &s->http, &any, &o), 0);
    assert_int_equal(em_http_server_addr(&s->http, &bound), 0);
    s->port = em_sockaddr_port(&bound);
    em_tls_ctx_opts to = {.cert = tc_cert(&leaf), .alpn = "http/1.1"};
    assert_int_equal(em_tls_ctx_new(&s->tls, EM_TLS_SERVER, &to), 0);
    o.tls = s->tls;
    assert_int_equal(em_http_server_start(loop, &s->https, &any, &o), 0);
    assert_int_equal(em_http_server_addr(&s->https, &bound), 0);
    s->tls_port = em_sockaddr_port(&bound);
}

static void server_stop(em_loop *loop, server *s) {
    em_http_server_shutdown(&s->http, on_srv_closed);
    em_http_server_shutdown(&s->https, on_srv_closed);
    EM_TEST_RUN_UNTIL(loop, s->closed == 2, 10000);
    em_http_router_free(&s->router);
    em_tls_ctx_free(s->tls);
}

/* ---- a client that records ---------------------------------------------------- */

typedef struct cl_rec {
    int opens, closes, code, err, msgs, status;
    int last_opcode;
    char last[256];
    size_t last_len;
    char error[200];
    char protocol[64];
    bool deflate;
    const char *send_on_open; /* sent as TEXT when open */
    bool close_after_echo;
} cl_rec;

static void c_open(em_ws *ws) {
    cl_rec *r = em_ws_data(ws);
    r->opens++;
    snprintf(r->protocol, sizeof r->protocol, "%s", em_ws_protocol(ws));
    r->deflate = em_ws_deflate_on(ws);
    r->status = em_ws_http_status(ws);
    if (r->send_on_open)
        assert_int_equal(em_ws_send_text(ws, em_slice_from_cstr(r->send_on_open), NULL) < 0, 0);
}

static void c_message(em_ws *ws, int opcode, em_slice data) {
    cl_rec *r = em_ws_data(ws);
    r->msgs++;
    r->last_opcode = opcode;
    r->last_len = data.len < sizeof r->last ? data.len : sizeof r->last;
    memcpy(r->last, data.ptr, r->last_len);
    if (r->close_after_echo)
        assert_int_equal(em_ws_close(ws, 1000, EM_SLICE_LIT("bye")), 0);
}

static void c_close(em_ws *ws, int code, int err, em_slice reason) {
    (void)reason;
    cl_rec *r = em_ws_data(ws);
    r->closes++;
    r->code = code;
    r->err = err;
    r->status = em_ws_http_status(ws);
    snprintf(r->error, sizeof r->error, "%s", em_ws_error(ws));
}

static const em_ws_cbs cl_cbs = {
    .on_open = c_open, .on_message = c_message, .on_close = c_close};

static char *url_of(const char *scheme, uint16_t port, const char *path) {
    static char urls[4][128];
    static int n;
    char *u = urls[n++ % 4];
    snprintf(u, 128, "%s://127.0.0.1:%u%s", scheme, (unsigned)port, path);
    return u;
}

/* ---- on the loop ------------------------------------------------------------------ */

static void test_echo_plain_and_tls(void **state) {
    (void)state;
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    server s;
    server_start(&loop, &s);
    em_tls_ctx *cctx;
    em_tls_ctx_opts co = {.ca_pem = tc_slice(ca.cert), .alpn = "http/1.1"};
    assert_int_equal(em_tls_ctx_new(&cctx, EM_TLS_CLIENT, &co), 0);
    em_http_client_opts ho = {.tls = cctx};
    for (int tls = 0; tls < 2; tls++) {
        static const char *const protos[] = {"chat", "x", NULL};
        em_ws_client_opts o = {.http = &ho, .protocols = protos};
        cl_rec r = {.send_on_open = "hello, ember", .close_after_echo = true};
        em_ws *ws;
        assert_int_equal(em_ws_connect(&loop, tls ? url_of("wss", s.tls_port, "/echo")
                                                  : url_of("ws", s.port, "/echo"),
                                       &o, &cl_cbs, &r, &ws),
                         0);
        assert_non_null(ws);
        EM_TEST_RUN_UNTIL(&loop, r.closes, 10000);
        assert_int_equal(r.opens, 1);
        assert_int_equal(r.status, 101);
        assert_string_equal(r.protocol, "chat"); /* the server's first that we offered */
        assert_int_equal(r.msgs, 1);
        assert_int_equal(r.last_opcode, EM_WS_OP_TEXT);
        assert_memory_equal(r.last, "hello, ember", 12);
        assert_int_equal(r.err, 0);
        assert_int_equal(r.code, 1000);
    }
    /* permessage-deflate offered and taken */
    em_ws_client_opts od = {.http = &ho};
    od.ws.deflate.enable = true;
    char big[200];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = 0;
    cl_rec r = {.send_on_open = big, .close_after_echo = true};
    assert_int_equal(em_ws_connect(&loop, url_of("ws", s.port, "/deflate"), &od, &cl_cbs, &r, NULL),
                     0);
    EM_TEST_RUN_UNTIL(&loop, r.closes, 10000);
    assert_true(r.deflate);
    assert_int_equal(r.last_len, sizeof big - 1);
    assert_memory_equal(r.last, big, sizeof big - 1);
    assert_int_equal(r.err, 0);
    /* no deflate when the server does not take it */
    cl_rec r2 = {.send_on_open = "plain", .close_after_echo = true};
    assert_int_equal(em_ws_connect(&loop, url_of("ws", s.port, "/echo"), &od, &cl_cbs, &r2, NULL),
                     0);
    EM_TEST_RUN_UNTIL(&loop, r2.closes, 10000);
    assert_int_equal(r2.opens, 1);
    assert_false(r2.deflate);
    em_tls_ctx_free(cctx);
    server_stop(&loop, &s);
    em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* The fields the handshake owns, which opts.headers may not hold. */
static void test_header_reserved(void **state) {
    (void)state;
    static const char *const yes[] = {"Host", "UPGRADE", "connection", "Sec-WebSocket-Key",
                                      "sec-websocket-protocol", "Sec-WebSocket-"};
    static const char *const no[] = {"Origin", "Authorization", "Hosts", "Sec-WebSocket",
                                     "X-Upgrade", ""};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        assert_true(em_ws_client_header_reserved(em_slice_from_cstr(yes[i])));
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        assert_false(em_ws_client_header_reserved(em_slice_from_cstr(no[i])));
}

static void test_refusals_and_failures(void **state) {
    (void)state;
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    server s;
    server_start(&loop, &s);
    /* a path with no route: 404, not followed by anything */
    cl_rec r = {0};
    assert_int_equal(em_ws_connect(&loop, url_of("ws", s.port, "/nope"), NULL, &cl_cbs, &r, NULL),
                     0);
    EM_TEST_RUN_UNTIL(&loop, r.closes, 10000);
    assert_int_equal(r.opens, 0);
    assert_int_equal(r.err, EM_EHANDSHAKE);
    assert_int_equal(r.code, 1006);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.error, "404"));
    /* wss to a plain port: the TLS handshake fails */
    cl_rec r2 = {0};
    assert_int_equal(em_ws_connect(&loop, url_of("wss", s.port, "/echo"), NULL, &cl_cbs, &r2, NULL),
                     0);
    EM_TEST_RUN_UNTIL(&loop, r2.closes, 10000);
    assert_int_equal(r2.opens, 0);
    assert_true(r2.err == EM_ETLSHANDSHAKE || r2.err == EM_ECONNRESET || r2.err == EM_EPROTO);
    /* the TLS port with no CA given: the system store does not know ours */
    cl_rec r3 = {0};
    assert_int_equal(
        em_ws_connect(&loop, url_of("wss", s.tls_port, "/echo"), NULL, &cl_cbs, &r3, NULL), 0);
    EM_TEST_RUN_UNTIL(&loop, r3.closes, 10000);
    assert_int_equal(r3.err, EM_ECERTVERIFY);
    /* nothing listening */
    em_tcp_listener l;
    em_sockaddr any = em_sockaddr_loopback4(0), bound;
    assert_int_equal(em_tcp_listen(&l, &any, NULL), 0);
    assert_int_equal(em_tcp_listener_addr(&l, &bound), 0);
    em_tcp_listener_close(&l);
    cl_rec r4 = {0};
    assert_int_equal(em_ws_connect(&loop, url_of("ws", em_sockaddr_port(&bound), "/"), NULL,
                                   &cl_cbs, &r4, NULL),
                     0);
    EM_TEST_RUN_UNTIL(&loop, r4.closes, 10000);
    assert_int_equal(r4.err, EM_ECONNREFUSED);
    /* abort while connecting: on_close(1006, EM_ECANCELED) from the loop */
    cl_rec r5 = {0};
    em_ws *ws;
    assert_int_equal(em_ws_connect(&loop, url_of("ws", s.port, "/echo"), NULL, &cl_cbs, &r5, &ws),
                     0);
    em_ws_abort(ws);
    assert_int_equal(r5.closes, 0); /* not inside the call */
    EM_TEST_RUN_UNTIL(&loop, r5.closes, 10000);
    assert_int_equal(r5.opens, 0);
    assert_int_equal(r5.err, EM_ECANCELED);
    /* bad arguments: nothing started */
    assert_int_equal(em_ws_connect(&loop, "ftp://x/", NULL, &cl_cbs, &r5, NULL), EM_ENOTSUP);
    assert_int_equal(em_ws_connect(&loop, "ws://127.0.0.1/#frag", NULL, &cl_cbs, &r5, NULL),
                     EM_EINVAL);
    em_http_header h = {EM_SLICE_LIT("Sec-WebSocket-Key"), EM_SLICE_LIT("x"), 0};
    em_ws_client_opts bad = {.headers = &h, .num_headers = 1};
    assert_int_equal(em_ws_connect(&loop, "ws://127.0.0.1/", &bad, &cl_cbs, &r5, NULL), EM_EINVAL);
    static const char *const badp[] = {"a b", NULL};
    em_ws_client_opts bad2 = {.protocols = badp};
    assert_int_equal(em_ws_connect(&loop, "ws://127.0.0.1/", &bad2, &cl_cbs, &r5, NULL), EM_EINVAL);
    server_stop(&loop, &s);
    em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* ---- a raw server: 101s that break RFC 6455 §4.1 --------------------------------- */

typedef struct raw {
    em_tcp_server srv;
    em_loop *loop;
    const char *answer; /* "%s" gets the right accept key */
    em_tcp_conn conns[8];
    int n;
} raw;

static void raw_closed(em_tcp_conn *c) {
    (void)c;
}

static void raw_read(em_tcp_conn *c, ssize_t n) {
    raw *r = c->data;
    if (n < 0) {
        em_tcp_conn_close(c, raw_closed);
        return;
    }
    em_slice in = em_buf_slice(&c->in);
    if (em_slice_find(in, EM_SLICE_LIT("\r\n\r\n")) < 0)
        return;
    ssize_t k = em_slice_find(in, EM_SLICE_LIT("Sec-WebSocket-Key: "));
    assert_true(k >= 0);
    char accept[29];
    em__ws_accept_key((em_slice){in.ptr + k + 19, 24}, accept);
    char out[1024];
    snprintf(out, sizeof out, r->answer, accept);
    em_buf_clear(&c->in);
    em_slice s = em_slice_from_cstr(out);
    assert_int_equal(em_tcp_conn_write(c, &s, 1, EM_TCP_WRITE_COPY, NULL), 0);
}
static const em_tcp_conn_cbs raw_cbs = {.on_read = raw_read};

static void raw_accept(em_tcp_server *srv, int fd, const em_sockaddr *peer) {
    (void)peer;
    raw *r = srv->data;
    em_tcp_conn *c = &r->conns[r->n++];
    assert_int_equal(em_tcp_conn_init(r->loop, c, fd, &raw_cbs, NULL), 0);
    c->data = r;
    assert_int_equal(em_tcp_conn_read_start(c), 0);
}

/* Start r on loop, answering every handshake with answer; its port. */
static uint16_t raw_listen(raw *r, em_loop *loop, const char *answer) {
    *r = (raw){.loop = loop, .answer = answer};
    r->srv.data = r;
    em_sockaddr any = em_sockaddr_loopback4(0), bound;
    assert_int_equal(em_tcp_server_start(loop, &r->srv, &any, NULL, raw_accept), 0);
    assert_int_equal(em_tcp_listener_addr(&r->srv.listener, &bound), 0);
    return em_sockaddr_port(&bound);
}

static void test_bad_101s(void **state) {
    (void)state;
    static const struct {
        const char *answer;
        const char *why;
    } cases[] = {
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n%.0s",
         "Accept"},
        {"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: %s\r\n\r\n",
         "Upgrade"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: other\r\n\r\n",
         "Protocol"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
         "extension"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Accept: %s\r\n\r\n",
         "Accept"},
        /* §4.1 point 2: Upgrade is "websocket" itself, not a list holding it */
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket, h2c\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: %s\r\n\r\n",
         "Upgrade"},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nUpgrade: h2c\r\n"
         "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
         "Upgrade"},
        /* Upgrade is HTTP/1.1's (RFC 9110 §7.8), and 1xx never goes to
         * HTTP/1.0 (§15.2): a 101 in HTTP/1.0 is no switch */
        {"HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: %s\r\n\r\n",
         "HTTP/1.0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        em_loop loop;
        assert_int_equal(em_loop_init(&loop), 0);
        raw rs;
        uint16_t port = raw_listen(&rs, &loop, cases[i].answer);
        static const char *const protos[] = {"chat", NULL};
        em_ws_client_opts o = {.protocols = protos};
        cl_rec r = {0};
        assert_int_equal(em_ws_connect(&loop, url_of("ws", port, "/"), &o,
                                       &cl_cbs, &r, NULL),
                         0);
        EM_TEST_RUN_UNTIL(&loop, r.closes, 10000);
        assert_int_equal(r.opens, 0);
        assert_int_equal(r.err, EM_EPROTO);
        assert_int_equal(r.code, 1006);
        if (!strstr(r.error, cases[i].why))
            fail_msg("case %zu: \"%s\" does not name %s", i, r.error, cases[i].why);
        em_tcp_server_close(&rs.srv);
        for (int k = 0; k < rs.n; k++)
            em_tcp_conn_close(&rs.conns[k], raw_closed);
        em_loop_run(&loop, EM_RUN_DEFAULT);
        assert_int_equal(em_loop_close(&loop), 0);
    }
}


/* opts.random supplies the handshake key and every frame's masking key. */
static int counting_random(void *ctx, void *out, size_t n) {
    (*(int *)ctx)++;
    return em_ws_random_os(NULL, out, n);
}

static void test_random_source(void **state) {
    (void)state;
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    server s;
    server_start(&loop, &s);
    int calls = 0;
    em_ws_client_opts o = {.random = counting_random, .random_ctx = &calls};
    cl_rec r = {.send_on_open = "masked", .close_after_echo = true};
    assert_int_equal(em_ws_connect(&loop, url_of("ws", s.port, "/echo"), &o, &cl_cbs, &r, NULL), 0);
    EM_TEST_RUN_UNTIL(&loop, r.closes, 10000);
    assert_int_equal(r.err, 0);
    assert_true(calls >= 3); /* the key, the message, the close */
    server_stop(&loop, &s);
    em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* ---- the blocking face --------------------------------------------------------------- */

typedef struct srv_thread {
    em_loop loop;
    server s;
    pthread_t th;
    em_task stop;
    bool stopping;
} srv_thread;

static void stop_task(em_task *t) {
    srv_thread *st = t->data;
    em_http_server_shutdown(&st->s.http, on_srv_closed);
    em_http_server_shutdown(&st->s.https, on_srv_closed);
}

static void *srv_main(void *arg) {
    srv_thread *st = arg;
    while (st->s.closed < 2)
        em_loop_run(&st->loop, EM_RUN_ONCE);
    return NULL;
}

/* The echo server on a loop of its own thread: the blocking face drives
 * its private loop in the test's. */
static void srv_thread_start(srv_thread *st) {
    memset(st, 0, sizeof *st);
    assert_int_equal(em_loop_init(&st->loop), 0);
    server_start(&st->loop, &st->s);
    assert_int_equal(pthread_create(&st->th, NULL, srv_main, st), 0);
}

/* Post cb(data) to the loop thread th runs, then join th. */
static void stop_thread(em_loop *loop, pthread_t th, em_task *t, em_task_cb cb, void *data) {
    t->cb = cb;
    t->data = data;
    assert_int_equal(em_loop_post(loop, t), 0);
    pthread_join(th, NULL);
}

static void srv_thread_stop(srv_thread *st) {
    stop_thread(&st->loop, st->th, &st->stop, stop_task, st);
    em_http_router_free(&st->s.router);
    em_tls_ctx_free(st->s.tls);
    em_loop_run(&st->loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&st->loop), 0);
}

static void test_blocking_dial_send_recv_close(void **state) {
    (void)state;
    static srv_thread st;
    srv_thread_start(&st);

    em_ws *ws;
    assert_int_equal(em_ws_dial(url_of("ws", st.s.port, "/echo"), NULL, &ws), 0);
    assert_int_equal(em_ws_send_text(ws, EM_SLICE_LIT("one"), NULL), 0);
    assert_int_equal(em_ws_send_binary(ws, EM_SLICE_LIT("\x00\x01\x02"), NULL), 0);
    em_ws_msg m;
    assert_int_equal(em_ws_recv(ws, &m, 5000), 0);
    assert_int_equal(m.opcode, EM_WS_OP_TEXT);
    assert_int_equal(m.data.len, 3);
    assert_string_equal(m.data.ptr, "one");
    em_ws_msg_free(&m);
    assert_int_equal(em_ws_recv(ws, &m, 5000), 0);
    assert_int_equal(m.opcode, EM_WS_OP_BINARY);
    assert_memory_equal(m.data.ptr, "\x00\x01\x02", 3);
    em_ws_msg_free(&m);
    /* nothing more: a timeout, and the connection is still fine */
    assert_int_equal(em_ws_recv(ws, &m, 50), EM_ETIMEDOUT);
    /* 1 MiB goes out before send returns, and comes back whole */
    size_t big = 1u << 20;
    char *buf = malloc(big);
    for (size_t i = 0; i < big; i++)
        buf[i] = (char)('a' + i % 26);
    assert_int_equal(em_ws_send_text(ws, (em_slice){buf, big}, NULL) < 0, 0);
    assert_int_equal(em_ws_recv(ws, &m, 10000), 0);
    assert_int_equal(m.data.len, big);
    assert_memory_equal(m.data.ptr, buf, big);
    em_ws_msg_free(&m);
    free(buf);
    assert_int_equal(em_ws_dial_close(ws, 0), 0);

    /* a refused dial says so */
    assert_int_equal(em_ws_dial(url_of("ws", st.s.port, "/nope"), NULL, &ws), EM_EHANDSHAKE);
    assert_null(ws);

    srv_thread_stop(&st);
}

/* A raw peer on its own thread (the blocking face drives its own loop in
 * the test's): it answers the handshake with its answer and then reads
 * and ignores everything, never closing: a server whose FIN comes late. */
typedef struct raw_thread {
    em_loop loop;
    raw r;
    uint16_t port;
    pthread_t th;
    em_task stop;
    bool done;
} raw_thread;

static void raw_thread_stop_task(em_task *t) {
    raw_thread *rt = t->data;
    em_tcp_server_close(&rt->r.srv);
    for (int k = 0; k < rt->r.n; k++)
        em_tcp_conn_close(&rt->r.conns[k], raw_closed);
    rt->done = true;
}

static void *raw_thread_main(void *arg) {
    raw_thread *rt = arg;
    while (!rt->done)
        em_loop_run(&rt->loop, EM_RUN_ONCE);
    em_loop_run(&rt->loop, EM_RUN_DEFAULT);
    return NULL;
}

static void raw_thread_start(raw_thread *rt, const char *answer) {
    memset(rt, 0, sizeof *rt);
    assert_int_equal(em_loop_init(&rt->loop), 0);
    rt->port = raw_listen(&rt->r, &rt->loop, answer);
    assert_int_equal(pthread_create(&rt->th, NULL, raw_thread_main, rt), 0);
}

static void raw_thread_stop(raw_thread *rt) {
    stop_thread(&rt->loop, rt->th, &rt->stop, raw_thread_stop_task, rt);
    assert_int_equal(em_loop_close(&rt->loop), 0);
}

/* The peer's close frame ends em_ws_recv at once with its code and
 * reason, though its FIN is late (RFC 6455 §7.1.5), and em_ws_dial_close
 * then waits for the end instead of aborting. */
static void test_blocking_peer_close(void **state) {
    (void)state;
    static raw_thread rt;
    raw_thread_start(&rt, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                          "\x81\x02hi\x88\x09\x03\xe9restart");
    em_ws_client_opts o = {0}; /* the close timeout: 5 s */
    em_ws *ws;
    int status = -1;
    char why[64] = "x";
    assert_int_equal(em_ws_dial_status(url_of("ws", rt.port, "/"), &o, &ws, &status, why,
                                       sizeof why),
                     0);
    assert_int_equal(status, 101);
    assert_string_equal(why, "");
    em_ws_msg m;
    assert_int_equal(em_ws_recv(ws, &m, 3000), 0); /* what came before the close first */
    assert_string_equal(m.data.ptr, "hi");
    em_ws_msg_free(&m);
    assert_int_equal(em_ws_recv(ws, &m, 1000), EM_ECLOSED); /* not at the FIN */
    em_slice reason;
    assert_int_equal(em_ws_dial_close_code(ws, &reason), 1001);
    assert_true(em_slice_eq(reason, EM_SLICE_LIT("restart")));
    raw_thread_stop(&rt); /* the FIN, at last */
    assert_int_equal(em_ws_dial_close(ws, 0), 0); /* both close frames went: clean */
}

/* Why a dial failed: the status and the sentence (em_ws_dial_status); and
 * with options given but no HTTP settings, the proxy of the environment
 * is used, as with none (here one that refuses every connection). */
static void test_blocking_dial_failures(void **state) {
    (void)state;
    static srv_thread st;
    srv_thread_start(&st);
    em_ws *ws;
    int status = 0;
    char why[160];
    assert_int_equal(em_ws_dial_status(url_of("ws", st.s.port, "/nope"), NULL, &ws, &status, why,
                                       sizeof why),
                     EM_EHANDSHAKE);
    assert_null(ws);
    assert_int_equal(status, 404);
    assert_non_null(strstr(why, "404"));
    em_ws_client_opts o = {.ws.deflate.enable = true};
    assert_int_equal(setenv("http_proxy", "http://127.0.0.1:9", 1), 0);
    assert_int_equal(unsetenv("no_proxy"), 0);
    assert_int_equal(unsetenv("NO_PROXY"), 0);
    int rc = em_ws_dial_status(url_of("ws", st.s.port, "/echo"), &o, &ws, &status, why,
                               sizeof why);
    assert_int_equal(unsetenv("http_proxy"), 0);
    assert_int_equal(rc, EM_ECONNREFUSED); /* the proxy's port, not the server's */
    assert_non_null(strstr(why, "proxy"));
    assert_int_equal(em_ws_dial(url_of("ws", st.s.port, "/echo"), &o, &ws), 0);
    assert_int_equal(em_ws_dial_close(ws, 0), 0);
    srv_thread_stop(&st);
}

static uint64_t ms_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* em_ws_recv's timeout: 0 polls, a positive one waits that long (not less,
 * however long the caller was away since the last call), -1 waits for
 * the message; and no message is lost or comes twice between calls of
 * any timeout. */
static void test_blocking_recv_timeouts(void **state) {
    (void)state;
    static srv_thread st;
    srv_thread_start(&st);
    em_ws *ws;
    assert_int_equal(em_ws_dial(url_of("ws", st.s.port, "/echo"), NULL, &ws), 0);
    em_ws_msg m;
    uint64_t t0 = ms_now();
    assert_int_equal(em_ws_recv(ws, &m, 0), EM_ETIMEDOUT);
    assert_true(ms_now() - t0 < 100);
    usleep(300 * 1000); /* away: the private loop's clock stands still */
    t0 = ms_now();
    assert_int_equal(em_ws_recv(ws, &m, 200), EM_ETIMEDOUT);
    uint64_t took = ms_now() - t0;
    assert_true(took >= 200);
    assert_true(took < 1000);

    enum { N = 300 };
    for (int i = 0; i < N; i++) {
        char b[16];
        int n = snprintf(b, sizeof b, "m%d", i);
        assert_int_equal(em_ws_send_text(ws, em_slice_make(b, (size_t)n), NULL) < 0, 0);
    }
    int got = 0;
    t0 = ms_now();
    while (got < N && ms_now() - t0 < 20000) {
        int rc = em_ws_recv(ws, &m, got % 3 == 0 ? 0 : got % 3 == 1 ? 1 : -1);
        if (rc == EM_ETIMEDOUT)
            continue;
        assert_int_equal(rc, 0);
        char want[16];
        snprintf(want, sizeof want, "m%d", got);
        assert_string_equal(m.data.ptr, want); /* in order: none lost, none twice */
        em_ws_msg_free(&m);
        got++;
    }
    assert_int_equal(got, N);
    assert_int_equal(em_ws_recv(ws, &m, 0), EM_ETIMEDOUT);
    assert_int_equal(em_ws_dial_close(ws, 0), 0);
    srv_thread_stop(&st);
}

/* A listener that never accepts: the kernel completes the connect and
 * nothing ever answers. */
static int silent_listener(uint16_t *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Dialing what is not a WebSocket server: a port nobody listens on, an
 * HTTP server that answers 200, one that never answers (bounded by
 * handshake_timeout_ms). And closing a connection whose peer never
 * answers the close frame is bounded by close_timeout_ms. */
static void test_blocking_dial_nonservers(void **state) {
    (void)state;
    em_ws *ws = (em_ws *)1;
    em_ws_client_opts o = {.handshake_timeout_ms = 300, .ws.close_timeout_ms = 300};
    em_http_client_opts ho = {0}; /* no proxy from the environment */
    o.http = &ho;

    uint16_t port;
    int fd = silent_listener(&port);
    close(fd); /* now refusing */
    assert_int_equal(em_ws_dial(url_of("ws", port, "/"), &o, &ws), EM_ECONNREFUSED);
    assert_null(ws);

    static raw_thread rt;
    raw_thread_start(&rt, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    int status = 0;
    char why[160];
    assert_int_equal(em_ws_dial_status(url_of("ws", rt.port, "/"), &o, &ws, &status, why,
                                       sizeof why),
                     EM_EHANDSHAKE);
    assert_null(ws);
    assert_int_equal(status, 200);
    raw_thread_stop(&rt);

    fd = silent_listener(&port);
    uint64_t t0 = ms_now();
    assert_int_equal(em_ws_dial(url_of("ws", port, "/"), &o, &ws), EM_ETIMEDOUT);
    uint64_t took = ms_now() - t0;
    assert_true(took >= 300 && took < 3000);
    assert_null(ws);
    close(fd);

    /* open, then the peer reads on but never answers our close */
    raw_thread_start(&rt, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n");
    assert_int_equal(em_ws_dial(url_of("ws", rt.port, "/"), &o, &ws), 0);
    em_ws_msg m;
    assert_int_equal(em_ws_recv(ws, &m, 0), EM_ETIMEDOUT);
    usleep(500 * 1000); /* away longer than the close timeout */
    t0 = ms_now();
    assert_int_equal(em_ws_dial_close(ws, 1000), EM_ETIMEDOUT);
    took = ms_now() - t0;
    assert_true(took >= 300 && took < 3000);
    raw_thread_stop(&rt);
}

static int async_dones, async_err = 1;

static void on_async_done(em_ws *ws, int err, void *arg) {
    (void)ws, (void)arg;
    async_dones++;
    async_err = err;
}

/* em_ws_send_async on a dialed ws: the private loop runs the send while
 * the owner waits in em_ws_recv, and done reports it the moment the
 * kernel took the message (here before its echo is back), once. A send
 * too big for the socket used to block inside the posted task until it
 * drained, so its token was reported before done waited for it: done ran
 * only at the next send or at the close, late. */
static void test_blocking_send_async(void **state) {
    (void)state;
    static srv_thread st;
    srv_thread_start(&st);
    em_ws *ws;
    assert_int_equal(em_ws_dial(url_of("ws", st.s.port, "/echo"), NULL, &ws), 0);
    size_t big = 4u << 20;
    char *buf = malloc(big);
    memset(buf, 'x', big);
    async_dones = 0;
    assert_int_equal(em_ws_send_async(ws, EM_WS_OP_BINARY, (em_slice){buf, big}, on_async_done,
                                      NULL),
                     0);
    em_ws_msg m;
    assert_int_equal(em_ws_recv(ws, &m, 20000), 0);
    assert_int_equal(m.data.len, big);
    em_ws_msg_free(&m);
    assert_int_equal(async_dones, 1);
    assert_int_equal(async_err, 0);
    free(buf);
    assert_int_equal(em_ws_dial_close(ws, 0), 0);
    assert_int_equal(async_dones, 1);
    srv_thread_stop(&st);
}

/* em_ws_dial from several threads at once, each driving its own
 * connection, while another thread sends on each with em_ws_send_async:
 * the dial path keeps no shared state unguarded. */
#define DIAL_THREADS 4

typedef struct dialer {
    pthread_t th;
    uint16_t port;
    em_ws *_Atomic ws;
    int ok;
} dialer;

static void count_done(em_ws *ws, int err, void *arg) {
    (void)ws;
    if (err == 0)
        (*(int *)arg)++; /* on the dialer's thread: it drives the loop */
}

static void *dial_main(void *arg) {
    dialer *dl = arg;
    em_ws *ws;
    em_http_client_opts ho = {0};
    em_ws_client_opts o = {.http = &ho};
    char url[64]; /* not url_of: its ring is the test thread's */
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/echo", (unsigned)dl->port);
    if (em_ws_dial(url, &o, &ws) != 0)
        return NULL;
    int sent = 0, got = 0;
    em_ws_retain(ws); /* for the other thread's em_ws_send_async */
    atomic_store(&dl->ws, ws);
    assert_int_equal(em_ws_send_async(ws, EM_WS_OP_TEXT, EM_SLICE_LIT("own"), count_done, &sent),
                     0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(em_ws_send_text(ws, EM_SLICE_LIT("hello"), NULL), 0);
    em_ws_msg m;
    while (got < 22 && em_ws_recv(ws, &m, 5000) == 0) {
        em_ws_msg_free(&m);
        got++;
    }
    while (atomic_load(&dl->ws)) /* until the other thread is done with it */
        if (em_ws_recv(ws, &m, 1) == 0)
            em_ws_msg_free(&m);
    em_ws_release(ws);
    dl->ok = got == 22 && sent == 1 && em_ws_dial_close(ws, 0) == 0;
    return NULL;
}

static void test_blocking_dial_threads(void **state) {
    (void)state;
    static srv_thread st;
    srv_thread_start(&st);
    dialer dl[DIAL_THREADS];
    memset(dl, 0, sizeof dl);
    for (int i = 0; i < DIAL_THREADS; i++) {
        dl[i].port = st.s.port;
        assert_int_equal(pthread_create(&dl[i].th, NULL, dial_main, &dl[i]), 0);
    }
    for (int i = 0; i < DIAL_THREADS; i++) {
        em_ws *ws;
        while (!(ws = atomic_load(&dl[i].ws)))
            usleep(1000);
        assert_int_equal(em_ws_send_async(ws, EM_WS_OP_TEXT, EM_SLICE_LIT("other"), NULL, NULL),
                         0);
        usleep(20000);
        atomic_store(&dl[i].ws, NULL);
    }
    for (int i = 0; i < DIAL_THREADS; i++) {
        pthread_join(dl[i].th, NULL);
        assert_true(dl[i].ok);
    }
    srv_thread_stop(&st);
}

static void *send_after_close(void *arg) {
    em_ws *ws = arg;
    usleep(100000); /* after em_ws_dial_close */
    int rc = em_ws_send_async(ws, EM_WS_OP_TEXT, EM_SLICE_LIT("late"), NULL, NULL);
    assert_int_equal(rc, EM_ECLOSED);
    em_ws_release(ws);
    return NULL;
}

/* A dialed ws retained by another thread: its memory lives past
 * em_ws_dial_close, and em_ws_send_async then says EM_ECLOSED (its
 * private loop is gone), never touching freed memory. */
static void test_blocking_retained_past_close(void **state) {
    (void)state;
    static srv_thread st;
    srv_thread_start(&st);
    em_ws *ws;
    assert_int_equal(em_ws_dial(url_of("ws", st.s.port, "/echo"), NULL, &ws), 0);
    em_ws_retain(ws);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, send_after_close, ws), 0);
    assert_int_equal(em_ws_dial_close(ws, 0), 0);
    pthread_join(th, NULL);
    srv_thread_stop(&st);
}

static atomic_int race_posted, race_dones;

static void on_race_done(em_ws *ws, int err, void *arg) {
    (void)ws, (void)err, (void)arg;
    atomic_fetch_add(&race_dones, 1);
}

static void *send_until_refused(void *arg) {
    em_ws *ws = arg;
    int rc;
    /* Paced: a thread posting with no pause at all can keep the closing
     * owner's loop busy running its posts for as long as it posts (see
     * close_dial_loop). */
    while ((rc = em_ws_send_async(ws, EM_WS_OP_TEXT, EM_SLICE_LIT("x"), on_race_done, NULL)) == 0) {
        atomic_fetch_add(&race_posted, 1);
        usleep(20);
    }
    assert_int_equal(rc, EM_ECLOSED);
    em_ws_release(ws);
    return NULL;
}

/* Another thread sends on a dialed ws with em_ws_send_async while its
 * owner closes it: every send that was taken (0) reports once, though
 * it came as the private loop was being closed, and the poster learns
 * EM_ECLOSED. A post landing between the close's last run and
 * em_loop_close made the close fail (EM_EBUSY): the loop stayed open and
 * unrun, taking posts whose done never ran, and this test hung. */
static void test_blocking_send_async_races_close(void **state) {
    (void)state;
    static srv_thread st;
    srv_thread_start(&st);
    for (int i = 0; i < 40; i++) {
        em_ws *ws;
        assert_int_equal(em_ws_dial(url_of("ws", st.s.port, "/echo"), NULL, &ws), 0);
        atomic_store(&race_posted, 0);
        atomic_store(&race_dones, 0);
        em_ws_retain(ws);
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, send_until_refused, ws), 0);
        usleep(1000 * (i % 4));
        (void)em_ws_dial_close(ws, 0);
        pthread_join(th, NULL);
        assert_int_equal(atomic_load(&race_dones), atomic_load(&race_posted));
    }
    srv_thread_stop(&st);
}

/* em_ws_close on a dialed ws, then em_ws_dial_close: the close already
 * sent is waited for (a clean handshake: 0), not dropped. And against a
 * peer that never answers, em_ws_recv ends at the close timeout. */
static void test_blocking_close_then_dial_close(void **state) {
    (void)state;
    static srv_thread st;
    srv_thread_start(&st);
    em_ws *ws;
    assert_int_equal(em_ws_dial(url_of("ws", st.s.port, "/echo"), NULL, &ws), 0);
    assert_int_equal(em_ws_close(ws, 1000, EM_SLICE_LIT("done")), 0);
    assert_int_equal(em_ws_dial_close(ws, 0), 0);
    srv_thread_stop(&st);

    static raw_thread rt;
    raw_thread_start(&rt, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n");
    em_ws_client_opts o = {.ws.close_timeout_ms = 300};
    assert_int_equal(em_ws_dial(url_of("ws", rt.port, "/"), &o, &ws), 0);
    assert_int_equal(em_ws_close(ws, 1000, EM_SLICE_LIT("")), 0);
    uint64_t t0 = ms_now();
    em_ws_msg m;
    assert_int_equal(em_ws_recv(ws, &m, -1), EM_ECLOSED);
    uint64_t took = ms_now() - t0;
    assert_true(took < 3000);
    assert_int_equal(em_ws_dial_close(ws, 0), EM_ETIMEDOUT);
    raw_thread_stop(&rt);
}

/* A peer that answers the handshake, reads nothing, and resets the
 * connection after a while. */
typedef struct deaf_peer {
    int lfd;
    uint16_t port;
    pthread_t th;
    unsigned hold_ms; /* before the reset; 0: 300 */
} deaf_peer;

static void *deaf_main(void *arg) {
    deaf_peer *p = arg;
    int fd = accept(p->lfd, NULL, NULL);
    assert_true(fd >= 0);
    char req[4096];
    size_t n = 0;
    while (n < sizeof req - 1) {
        ssize_t r = recv(fd, req + n, sizeof req - 1 - n, 0);
        assert_true(r > 0);
        n += (size_t)r;
        req[n] = 0;
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    char *k = strstr(req, "Sec-WebSocket-Key: ");
    assert_non_null(k);
    char accept_key[29];
    em__ws_accept_key((em_slice){k + 19, 24}, accept_key);
    char out[256];
    int len = snprintf(out, sizeof out,
                       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                       accept_key);
    assert_int_equal(send(fd, out, (size_t)len, 0), len);
    usleep((p->hold_ms ? p->hold_ms : 300) * 1000);
    struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* a reset */
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(fd);
    return NULL;
}

/* A blocking send that cannot finish because the connection ends while
 * it waits for the socket says so: it returned 0 as if sent. */
static void test_blocking_send_lost_on_reset(void **state) {
    (void)state;
    deaf_peer p = {0};
    p.lfd = silent_listener(&p.port);
    assert_int_equal(pthread_create(&p.th, NULL, deaf_main, &p), 0);
    em_http_client_opts ho = {0};
    em_ws_client_opts o = {.http = &ho};
    em_ws *ws;
    assert_int_equal(em_ws_dial(url_of("ws", p.port, "/"), &o, &ws), 0);
    size_t big = 16u << 20; /* more than both socket buffers hold */
    char *buf = calloc(1, big);
    int rc = em_ws_send_binary(ws, (em_slice){buf, big}, NULL);
    free(buf);
    assert_true(rc < 0);
    em_ws_msg m;
    assert_int_equal(em_ws_recv(ws, &m, 0), EM_ECLOSED);
    assert_true(em_ws_dial_close(ws, 0) < 0);
    pthread_join(p.th, NULL);
    close(p.lfd);
}

/* A blocking send to a peer that stopped reading fails with EM_ETIMEDOUT
 * after send_timeout_ms, not after a fixed 30 s, and drops the
 * connection. */
static void test_blocking_send_timeout(void **state) {
    (void)state;
    deaf_peer p = {.hold_ms = 3000};
    p.lfd = silent_listener(&p.port);
    int small = 4096; /* the accepted socket's: the peer's kernel takes little */
    assert_int_equal(setsockopt(p.lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    assert_int_equal(pthread_create(&p.th, NULL, deaf_main, &p), 0);
    em_http_client_opts ho = {0};
    em_ws_client_opts o = {.http = &ho, .send_timeout_ms = 300};
    em_ws *ws;
    assert_int_equal(em_ws_dial(url_of("ws", p.port, "/"), &o, &ws), 0);
    size_t big = 8u << 20; /* more than both socket buffers hold */
    char *buf = calloc(1, big);
    uint64_t t0 = ms_now();
    int rc = em_ws_send_binary(ws, (em_slice){buf, big}, NULL);
    uint64_t took = ms_now() - t0;
    free(buf);
    assert_int_equal(rc, EM_ETIMEDOUT);
    assert_true(took >= 300);
    if (took >= 2500)
        fail_msg("the send gave up after %llu ms, not 300", (unsigned long long)took);
    em_ws_msg m;
    assert_int_equal(em_ws_recv(ws, &m, 0), EM_ECLOSED); /* dropped */
    assert_int_equal(em_ws_dial_close(ws, 0), EM_ETIMEDOUT);
    pthread_join(p.th, NULL);
    close(p.lfd);
}

/* em_ws_dial_close with a code em_ws_close refuses (reserved, never on
 * the wire, or out of range) returns EM_EINVAL and sends nothing, as
 * em_ws_close does: ws stays open and the caller's. It aborted the
 * connection and returned EM_ECANCELED. */
static void test_blocking_dial_close_bad_code(void **state) {
    (void)state;
    static srv_thread st;
    srv_thread_start(&st);
    em_ws *ws;
    assert_int_equal(em_ws_dial(url_of("ws", st.s.port, "/echo"), NULL, &ws), 0);
    static const int bad[] = {1005, 1006, 999, 2000, 1004, 1015, 5000, -1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(em_ws_close(ws, bad[i], (em_slice){0}), EM_EINVAL); /* the rule */
        if (em_ws_dial_close(ws, bad[i]) != EM_EINVAL)
            fail_msg("em_ws_dial_close(ws, %d) did not return EM_EINVAL", bad[i]);
    }
    /* still open: a message goes there and back */
    assert_int_equal(em_ws_send_text(ws, EM_SLICE_LIT("still"), NULL), 0);
    em_ws_msg m;
    assert_int_equal(em_ws_recv(ws, &m, 5000), 0);
    assert_string_equal(m.data.ptr, "still");
    em_ws_msg_free(&m);
    assert_int_equal(em_ws_dial_close(ws, 4000), 0);
    srv_thread_stop(&st);
}

static int setup_certs(void **state) {
    (void)state;
    tc_ca(&ca, "ember test CA");
    tc_leaf(&leaf, &ca, "localhost", "DNS:localhost,IP:127.0.0.1", -60, 3600);
    return 0;
}

static int free_certs(void **state) {
    (void)state;
    tc_free(&ca);
    tc_free(&leaf);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_plain_and_tls),
        cmocka_unit_test(test_header_reserved),
        cmocka_unit_test(test_refusals_and_failures),
        cmocka_unit_test(test_bad_101s),
        cmocka_unit_test(test_random_source),
        cmocka_unit_test(test_blocking_dial_send_recv_close),
        cmocka_unit_test(test_blocking_peer_close),
        cmocka_unit_test(test_blocking_dial_failures),
        cmocka_unit_test(test_blocking_recv_timeouts),
        cmocka_unit_test(test_blocking_dial_nonservers),
        cmocka_unit_test(test_blocking_send_async),
        cmocka_unit_test(test_blocking_dial_threads),
        cmocka_unit_test(test_blocking_retained_past_close),
        cmocka_unit_test(test_blocking_send_async_races_close),
        cmocka_unit_test(test_blocking_close_then_dial_close),
        cmocka_unit_test(test_blocking_send_lost_on_reset),
        cmocka_unit_test(test_blocking_send_timeout),
        cmocka_unit_test(test_blocking_dial_close_bad_code),
    };
    return cmocka_run_group_tests(tests, setup_certs, free_certs);
}

/* Leaving HTTP: a 101 upgrade and a CONNECT tunnel move the connection,
 * with the bytes that followed the request, into the handler's struct; a
 * graceful shutdown tells it and waits for it. */
#include <stdlib.h>

#include "http_server_util.h"

/* An echo protocol on the taken-over connection. */
typedef struct echo_conn {
    em_http_upgraded up;
    int closed;
} echo_conn;

static echo_conn *live;
static int shutdowns, shutdowns_now, frees;

static void on_echo_closed(em_tcp_conn *t) {
    echo_conn *e = EM_CONTAINER_OF(t, echo_conn, up.tcp);
    frees++;
    if (live == e)
        live = NULL;
    free(e);
}

static void on_echo_read(em_tcp_conn *t, ssize_t n) {
    echo_conn *e = EM_CONTAINER_OF(t, echo_conn, up.tcp);
    if (n < 0) {
        em_http_upgraded_close(&e->up, on_echo_closed);
        return;
    }
    em_slice data = em_buf_slice(&t->in);
    assert_int_equal(em_tcp_conn_write(t, &data, 1, EM_TCP_WRITE_COPY, NULL), 0);
    em_buf_consume(&t->in, data.len);
}
static const em_tcp_conn_cbs echo_cbs = {.on_read = on_echo_read};

static void on_echo_shutdown(em_http_upgraded *u, bool now) {
    if (now) {
        shutdowns_now++;
        return;
    }
    shutdowns++;
    /* Say goodbye, then close once it is out. */
    em_slice bye = EM_SLICE_LIT("bye");
    assert_int_equal(em_tcp_conn_write(&u->tcp, &bye, 1, EM_TCP_WRITE_COPY, NULL), 0);
    em_http_upgraded_end(u, on_echo_closed);
}

static void h_upgrade(em_http_ctx *cx, const em_http_handler *h) {
    bool connect = cx->req.method_id == EM_HTTP_CONNECT;
    echo_conn *e = calloc(1, sizeof *e);
    assert_non_null(e);
    e->up.on_shutdown = on_echo_shutdown;
    e->up.tcp.data = e; /* the user's pointer rides through the upgrade */
    if (!connect)
        assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("Upgrade"), EM_SLICE_LIT("echo")), 0);
    assert_int_equal(em_http_upgrade(cx, connect ? 200 : 101, &e->up, &echo_cbs, on_echo_closed),
                     0);
    assert_null(cx->conn); /* cx ended */
    assert_ptr_equal(e->up.tcp.data, e);
    live = e;
    assert_int_equal(em_tcp_conn_read_start(&e->up.tcp), 0);
    /* Bytes that came with the request are already here. */
    if (em_buf_len(&e->up.tcp.in))
        on_echo_read(&e->up.tcp, (ssize_t)em_buf_len(&e->up.tcp.in));
}
static const em_http_handler handler = {h_upgrade, NULL, NULL};

static int pred_has(ts_in *in, void *arg) {
    return strstr(in->buf, arg) != NULL;
}

static void reset(void) {
    live = NULL;
    shutdowns = shutdowns_now = frees = 0;
}

static void test_upgrade_101_keeps_following_bytes(void **state) {
    reset();
    test_server ts;
    em_http_server_opts o = {.handler = &handler};
    ts_start(&ts, &o);
    int fd = ts_connect(&ts);
    /* The request and the first bytes of the new protocol in one send. */
    TS_SEND(fd, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nfirst");
    static ts_in in;
    memset(&in, 0, sizeof in);
    ts_pump(&ts, fd, &in, pred_has, "first", 3000);
    assert_memory_equal(in.buf, "HTTP/1.1 101 Switching Protocols\r\n", 34);
    assert_non_null(strstr(in.buf, "Connection: Upgrade\r\n"));
    assert_non_null(strstr(in.buf, "Upgrade: echo\r\n"));
    assert_null(strstr(in.buf, "Content-Length"));
    assert_non_null(strstr(in.buf, "\r\n\r\nfirst"));
    assert_int_equal(em_http_server_connections(&ts.srv), 0); /* not HTTP any more */
    TS_SEND(fd, "GET / HTTP/1.1\r\n\r\n");                    /* not parsed as HTTP: echoed */
    ts_pump(&ts, fd, &in, pred_has,
            "first"
            "GET / HTTP/1.1",
            3000);
    /* Graceful shutdown: the upgraded connection hears of it, says bye and
     * closes; the server waits for it. */
    em_http_server_shutdown(&ts.srv, ts_on_closed);
    ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 3000);
    assert_non_null(strstr(in.buf, "bye"));
    assert_int_equal(shutdowns, 1);
    EM_TEST_RUN_UNTIL(&ts.loop, ts.closed, 3000);
    assert_int_equal(frees, 1);
    assert_int_equal(shutdowns_now, 0);
    close(fd);
    em_loop_run(&ts.loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&ts.loop), 0);
}

static void test_connect_tunnel(void **state) {
    reset();
    test_server ts;
    em_http_server_opts o = {.handler = &handler};
    ts_start(&ts, &o);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    static ts_in in;
    memset(&in, 0, sizeof in);
    ts_pump(&ts, fd, &in, pred_has, "\r\n\r\n", 3000);
    assert_memory_equal(in.buf, "HTTP/1.1 200 OK\r\n", 17);
    assert_null(strstr(in.buf, "Connection: Upgrade"));
    TS_SEND(fd, "\x16\x03\x01 tunnelled bytes");
    ts_pump(&ts, fd, &in, pred_has, "tunnelled bytes", 3000);
    /* The client leaves: the tunnel closes, and the server has nothing to
     * wait for. */
    close(fd);
    EM_TEST_RUN_UNTIL(&ts.loop, frees == 1, 3000);
    ts_stop(&ts);
}

/* No on_shutdown: at the deadline the server closes the connection itself
 * and calls the close callback given to em_http_upgrade. */
static void h_upgrade_quiet(em_http_ctx *cx, const em_http_handler *h) {
    echo_conn *e = calloc(1, sizeof *e);
    assert_non_null(e);
    assert_int_equal(em_http_upgrade(cx, 101, &e->up, &echo_cbs, on_echo_closed), 0);
    live = e;
    assert_int_equal(em_tcp_conn_read_start(&e->up.tcp), 0);
}

static void test_shutdown_deadline_closes_upgraded(void **state) {
    reset();
    test_server ts;
    static const em_http_handler quiet = {h_upgrade_quiet, NULL, NULL};
    em_http_server_opts o = {.handler = &quiet, .shutdown_timeout_ms = 50};
    ts_start(&ts, &o);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n");
    static ts_in in;
    memset(&in, 0, sizeof in);
    ts_pump(&ts, fd, &in, pred_has, "\r\n\r\n", 3000);
    assert_non_null(live);
    em_http_server_shutdown(&ts.srv, ts_on_closed);
    EM_TEST_RUN_UNTIL(&ts.loop, ts.closed, 3000);
    assert_int_equal(frees, 1);
    close(fd);
    em_loop_run(&ts.loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&ts.loop), 0);
}

/* A handler that ends its connection with a callback of its own, behind
 * more bytes than a peer that does not read will take: the deadline's
 * forced close calls that callback, not the one given to em_http_upgrade. */
static int end_frees;
static void on_end_closed(em_tcp_conn *t) {
    end_frees++;
    on_echo_closed(t);
}
static void h_upgrade_end(em_http_ctx *cx, const em_http_handler *h) {
    echo_conn *e = calloc(1, sizeof *e);
    assert_non_null(e);
    assert_int_equal(em_http_upgrade(cx, 101, &e->up, &echo_cbs, on_echo_closed), 0);
    live = e;
    static char big[12 << 20];
    em_slice s = em_slice_make(big, sizeof big);
    assert_int_equal(em_tcp_conn_write(&e->up.tcp, &s, 1, 0, NULL), 0);
    assert_true(em_tcp_conn_queued(&e->up.tcp) > 0);
    em_http_upgraded_end(&e->up, on_end_closed);
}

static void test_shutdown_deadline_keeps_end_callback(void **state) {
    reset();
    end_frees = 0;
    test_server ts;
    static const em_http_handler ender = {h_upgrade_end, NULL, NULL};
    em_http_server_opts o = {.handler = &ender, .shutdown_timeout_ms = 50};
    ts_start(&ts, &o);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n");
    EM_TEST_RUN_UNTIL(&ts.loop, live != NULL, 3000);
    em_http_server_shutdown(&ts.srv, ts_on_closed);
    EM_TEST_RUN_UNTIL(&ts.loop, ts.closed, 3000);
    assert_int_equal(frees, 1);
    assert_int_equal(end_frees, 1);
    close(fd);
    em_loop_run(&ts.loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&ts.loop), 0);
}

/* A 101 is refused for a request whose answer cannot be one. */
static void h_bad_upgrade(em_http_ctx *cx, const em_http_handler *h) {
    em_http_upgraded u;
    memset(&u, 0, sizeof u);
    assert_int_equal(em_http_upgrade(cx, 200, &u, &echo_cbs, NULL), EM_EINVAL); /* not CONNECT */
    assert_int_equal(em_http_upgrade(cx, 101, &u, NULL, NULL), EM_EINVAL);
    em_http_respond_text(cx, 400, "no");
}

static void test_upgrade_refused(void **state) {
    reset();
    test_server ts;
    static const em_http_handler bad = {h_bad_upgrade, NULL, NULL};
    em_http_server_opts o = {.handler = &bad};
    ts_start(&ts, &o);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
    static ts_in in;
    memset(&in, 0, sizeof in);
    ts_wait_responses(&ts, fd, &in, 1);
    assert_memory_equal(in.buf, "HTTP/1.1 400 ", 13);
    close(fd);
    ts_stop(&ts);
}

/* ---- an upgrade from the loop, after the handler returned ---------------------- */

static em_http_ctx *held_cx;
static em_timer late_timer;
static int late_rc = 1;

static void late_upgrade(em_timer *t) {
    em_http_ctx *cx = held_cx;
    echo_conn *e = calloc(1, sizeof *e);
    assert_non_null(e);
    e->up.on_shutdown = on_echo_shutdown;
    late_rc = em_http_header_add(cx, EM_SLICE_LIT("Upgrade"), EM_SLICE_LIT("echo"));
    late_rc = late_rc ? late_rc : em_http_upgrade(cx, 101, &e->up, &echo_cbs, on_echo_closed);
    if (late_rc) {
        free(e);
        return;
    }
    live = e;
    assert_int_equal(em_tcp_conn_read_start(&e->up.tcp), 0);
    if (em_buf_len(&e->up.tcp.in))
        on_echo_read(&e->up.tcp, (ssize_t)em_buf_len(&e->up.tcp.in));
}

static void h_upgrade_later(em_http_ctx *cx, const em_http_handler *h) {
    held_cx = cx;
    em_http_defer(cx, NULL);
    em_timer_start(&late_timer, 30, 0);
}

/* A deferred request upgraded from a timer keeps the bytes that came
 * after it, those sent with the request and those sent while it was
 * held, in order. */
static void test_upgrade_later_keeps_following_bytes(void **state) {
    reset();
    static const em_http_handler later = {h_upgrade_later, NULL, NULL};
    test_server ts;
    em_http_server_opts o = {.handler = &later};
    ts_start(&ts, &o);
    em_timer_init(&ts.loop, &late_timer, late_upgrade);
    late_rc = 1;
    int fd = ts_connect(&ts);
    TS_SEND(fd, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nConnection: Upgrade\r\n"
                "Upgrade: echo\r\n\r\nbodyfirst");
    static ts_in in;
    memset(&in, 0, sizeof in);
    for (int i = 0; i < 10; i++) { /* the handler holds it: send more meanwhile */
        em_loop_run(&ts.loop, EM_RUN_NOWAIT);
        poll(NULL, 0, 1);
    }
    TS_SEND(fd, "second");
    ts_pump(&ts, fd, &in, pred_has, "firstsecond", 3000);
    assert_int_equal(late_rc, 0);
    assert_memory_equal(in.buf, "HTTP/1.1 101 Switching Protocols\r\n", 34);
    assert_non_null(strstr(in.buf, "\r\n\r\nfirstsecond"));
    assert_null(strstr(in.buf, "body"));
    close(fd);
    EM_TEST_RUN_UNTIL(&ts.loop, frees == 1, 3000);
    ts_stop(&ts);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upgrade_101_keeps_following_bytes),
        cmocka_unit_test(test_connect_tunnel),
        cmocka_unit_test(test_shutdown_deadline_closes_upgraded),
        cmocka_unit_test(test_shutdown_deadline_keeps_end_callback),
        cmocka_unit_test(test_upgrade_refused),
        cmocka_unit_test(test_upgrade_later_keeps_following_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

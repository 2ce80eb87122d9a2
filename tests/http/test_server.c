/* The HTTP server over real loopback sockets. */
#include <locale.h>
#include <stdlib.h>

#include "http_server_util.h"

static em_http_prebuilt hello;

static void h_hello(em_http_ctx *cx, const em_http_handler *h) {
    em_http_respond_prebuilt(cx, &hello);
}

static void h_echo(em_http_ctx *cx, const em_http_handler *h) {
    assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("X-Path"), cx->path), 0);
    em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), cx->body);
}

/* Answers 25 ms later from a timer: the async responder. */
typedef struct later {
    em_timer t;
    em_http_ctx *cx;
} later;
static void on_later(em_timer *t) {
    later *l = EM_CONTAINER_OF(t, later, t);
    assert_int_equal(em_http_respond_text(l->cx, 200, "slow"), 0);
    free(l);
}
static int slow_started; /* requests h_slow has deferred */
static void h_slow(em_http_ctx *cx, const em_http_handler *h) {
    slow_started++;
    later *l = calloc(1, sizeof *l);
    l->cx = cx;
    em_http_defer(cx, NULL);
    em_timer_init(h->data, &l->t, on_later);
    em_timer_start(&l->t, 25, 0);
}

/* Asks for the connection to end after its answer, as a handler can. */
static void h_close(em_http_ctx *cx, const em_http_handler *h) {
    assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("Connection"), EM_SLICE_LIT("Close")), 0);
    em_http_respond_text(cx, 200, "bye");
}

static em_http_router router;
static em_http_handler hh_hello = { h_hello, NULL, NULL };
static em_http_handler hh_echo = { h_echo, NULL, NULL };
static em_http_handler hh_slow = { h_slow, NULL, NULL };
static em_http_handler hh_close = { h_close, NULL, NULL };
static em_http_handler root;

static void setup_router(test_server *ts) {
    em_http_router_init(&router);
    hh_slow.data = &ts->loop;
    assert_int_equal(em_http_router_add(&router, EM_HTTP_GET, EM_SLICE_LIT("/hello"), &hh_hello), 0);
    assert_int_equal(em_http_router_add(&router, EM_HTTP_POST, EM_SLICE_LIT("/echo"), &hh_echo), 0);
    assert_int_equal(em_http_router_add(&router, EM_HTTP_GET, EM_SLICE_LIT("/slow"), &hh_slow), 0);
    assert_int_equal(em_http_router_add(&router, EM_HTTP_GET, EM_SLICE_LIT("/echo/:id"), &hh_echo), 0);
    assert_int_equal(em_http_router_add(&router, EM_HTTP_GET, EM_SLICE_LIT("/close"), &hh_close), 0);
    root = em_http_router_as_handler(&router);
}

static int group_setup(void **state) {
    return em_http_prebuilt_init(&hello, 200, EM_SLICE_LIT("text/plain"),
                                 EM_SLICE_LIT("Hello, World!"));
}
static int group_teardown(void **state) {
    em_http_prebuilt_free(&hello);
    return 0;
}

static void start(test_server *ts, em_http_server_opts *o) {
    memset(ts, 0, sizeof *ts);
    /* the router needs the loop pointer for the slow handler: init first */
    assert_int_equal(em_loop_init(&ts->loop), 0);
    setup_router(ts);
    o->handler = &root;
    em_sockaddr any = em_sockaddr_loopback4(0);
    ts->srv.data = ts;
    em_http_server_opts oo = ts_opts(o);
    assert_int_equal(em_http_server_start(&ts->loop, &ts->srv, &any, &oo), 0);
    assert_int_equal(em_http_server_addr(&ts->srv, &ts->addr), 0);
}

static void stop(test_server *ts) {
    ts_stop(ts);
    em_http_router_free(&router);
}

static void test_get_keepalive(void **state) {
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o);
    int fd = ts_connect(&ts);
    static ts_in in;
    memset(&in, 0, sizeof in);
    for (int i = 1; i <= 3; i++) {
        TS_SEND(fd, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
        ts_wait_responses(&ts, fd, &in, i);
    }
    assert_non_null(strstr(in.buf, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(in.buf, "\r\nDate: "));
    assert_non_null(strstr(in.buf, "Content-Length: 13\r\n"));
    assert_null(strstr(in.buf, "Connection: close"));
    assert_int_equal(ts.srv.requests, 3);
    assert_int_equal(em_http_server_connections(&ts.srv), 1);
    close(fd);
    stop(&ts);
}

static void test_http10(void **state) {
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "GET /hello HTTP/1.0\r\n\r\n");
    ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 3000); /* 1.0 default: close */
    assert_non_null(strstr(in.buf, "Connection: close\r\n"));
    assert_non_null(strstr(in.buf, "Hello, World!"));
    close(fd);
    memset(&in, 0, sizeof in);
    fd = ts_connect(&ts);
    TS_SEND(fd, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ts_wait_responses(&ts, fd, &in, 1);
    assert_non_null(strstr(in.buf, "Connection: keep-alive\r\n"));
    TS_SEND(fd, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ts_wait_responses(&ts, fd, &in, 2);
    close(fd);
    stop(&ts);
}

static void test_connection_close(void **state) {
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    /* The request after the close one must not be answered. */
    TS_SEND(fd, "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 3000);
    assert_int_equal(ts_count_responses(&in, EM_HTTP_GET), 1);
    assert_non_null(strstr(in.buf, "Connection: close\r\n"));
    close(fd);
    stop(&ts);
}

/* RFC 9112 §9.6: a server that sends the "close" option MUST close after
 * that response and MUST NOT process further requests, also when it is
 * the handler's own Connection field that says so. */
static void test_handler_connection_close(void **state) {
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "GET /close HTTP/1.1\r\nHost: a\r\n\r\n"
                "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 3000);
    assert_int_equal(ts_count_responses(&in, EM_HTTP_GET), 1);
    assert_int_equal(ts.srv.requests, 1);
    assert_non_null(strstr(in.buf, "\r\n\r\nbye"));
    /* one close option, not two */
    const char *c = strstr(in.buf, "lose\r\n");
    assert_non_null(c);
    assert_null(strstr(c + 1, "lose\r\n"));
    close(fd);
    memset(&in, 0, sizeof in);
    fd = ts_connect(&ts); /* HTTP/1.0 keep-alive: no "keep-alive" beside it */
    TS_SEND(fd, "GET /close HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 3000);
    assert_null(strstr(in.buf, "keep-alive"));
    close(fd);
    stop(&ts);
}

static void test_pipeline_with_slow_handler(void **state) {
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"
                "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n"
                "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nlast");
    ts_wait_responses(&ts, fd, &in, 3);
    char *a = strstr(in.buf, "Hello, World!");
    char *b = strstr(in.buf, "slow");
    char *c = strstr(in.buf, "last");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true(a < b && b < c); /* answered in order */
    close(fd);
    stop(&ts);
}

static int pred_head(ts_in *in, void *arg) { return ts_count_responses(in, EM_HTTP_HEAD) >= 1; }

static void test_head_and_404_405(void **state) {
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_pump(&ts, fd, &in, pred_head, NULL, 3000);
    /* HEAD: the GET route's headers, Content-Length included, no body. */
    assert_non_null(strstr(in.buf, "Content-Length: 13\r\n"));
    assert_null(strstr(in.buf, "Hello, World!"));
    memset(&in, 0, sizeof in);
    TS_SEND(fd, "GET /missing HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_wait_responses(&ts, fd, &in, 1);
    assert_non_null(strstr(in.buf, "HTTP/1.1 404 Not Found\r\n"));
    memset(&in, 0, sizeof in);
    TS_SEND(fd, "DELETE /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_wait_responses(&ts, fd, &in, 1);
    assert_non_null(strstr(in.buf, "HTTP/1.1 405 Method Not Allowed\r\n"));
    assert_non_null(strstr(in.buf, "Allow: GET, HEAD\r\n"));
    /* a method nobody routes (any token the server does not know): 501 */
    memset(&in, 0, sizeof in);
    TS_SEND(fd, "BREW /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_wait_responses(&ts, fd, &in, 1);
    assert_non_null(strstr(in.buf, "HTTP/1.1 501 Not Implemented\r\n"));
    memset(&in, 0, sizeof in);
    TS_SEND(fd, "GET /echo/42?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_wait_responses(&ts, fd, &in, 1);
    assert_non_null(strstr(in.buf, "X-Path: /echo/42\r\n"));
    close(fd);
    stop(&ts);
}

static void test_bodies_and_expect(void **state) {
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n");
    ts_wait_responses(&ts, fd, &in, 1);
    assert_non_null(strstr(in.buf, "\r\n\r\nabcdefg"));
    memset(&in, 0, sizeof in);
    TS_SEND(fd, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    for (int i = 0; i < 300 && !strstr(in.buf, "100 Continue"); i++) {
        em_loop_run(&ts.loop, EM_RUN_NOWAIT);
        ssize_t n = ts_recv(fd, in.buf + in.len, sizeof in.buf - 1 - in.len);
        if (n > 0)
            in.len += (size_t)n;
        in.buf[in.len] = 0;
        usleep(1000);
    }
    assert_non_null(strstr(in.buf, "HTTP/1.1 100 Continue\r\n\r\n"));
    TS_SEND(fd, "12345");
    ts_wait_responses(&ts, fd, &in, 1);
    assert_non_null(strstr(in.buf, "\r\n\r\n12345"));
    close(fd);
    stop(&ts);
}

/* Every framing error gets its status and a closed connection. */
static void test_bad_requests(void **state) {
    static const struct {
        const char *req;
        const char *status;
    } cases[] = {
        { "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "400" },
        { "GET /hello HTTP/2.0\r\nHost: a\r\n\r\n", "505" },
        { "GET /hello HTTP/1.1\r\n\r\n", "400" },
        { "GET /hello HTTP/1.1\r\nHost : a\r\n\r\n", "400" },
        { "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999\r\n\r\n", "413" },
        { "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "400" },
        { "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: tea\r\nContent-Length: 1\r\n\r\nx", "417" },
        /* a transfer coding the server does not remove */
        { "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "501" },
        /* dot segments, plain or encoded, never reach a handler */
        { "GET /echo/../hello HTTP/1.1\r\nHost: a\r\n\r\n", "400" },
        { "GET /echo/%2E%2e/hello?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", "400" },
        { "GET /./hello HTTP/1.1\r\nHost: a\r\n\r\n", "400" },
        { "GET http://a/echo/.%2e HTTP/1.1\r\nHost: a\r\n\r\n", "400" },
        /* absolute-form (RFC 9110 §4.2.1, §4.2.4): an empty host, userinfo,
         * a scheme that is not http(s) */
        { "GET http:///hello HTTP/1.1\r\nHost: a\r\n\r\n", "400" },
        { "GET http://u@a/hello HTTP/1.1\r\nHost: a\r\n\r\n", "400" },
        { "GET ftp://a/hello HTTP/1.1\r\nHost: a\r\n\r\n", "400" },
        /* a '%' that is no pct-encoding (RFC 3986 §2.1) in the path */
        { "GET /hello%zz HTTP/1.1\r\nHost: a\r\n\r\n", "400" },
        { "GET /hello%4 HTTP/1.1\r\nHost: a\r\n\r\n", "400" },
        { "GET /hello% HTTP/1.1\r\nHost: a\r\n\r\n", "400" },
    };
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ts_expect_status(&ts, cases[i].req, cases[i].status, true);
    stop(&ts);
}

/* The answers ember writes itself keep RFC 9110 §9.3.2 for HEAD: the
 * head (with the length a GET's body would have), and no body. */
static void test_head_errors_have_no_body(void **state) {
    static const struct {
        const char *req;
        const char *status;
    } cases[] = {
        { "HEAD /a/../hello HTTP/1.1\r\nHost: a\r\n\r\n", "400" },
        { "HEAD /hello%zz HTTP/1.1\r\nHost: a\r\n\r\n", "400" },
        { "HEAD /hello HTTP/1.1\r\nHost: a\r\nExpect: tea\r\n\r\n", "417" },
        { "HEAD /hello HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999\r\n\r\n", "413" },
        { "HEAD /hello HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "501" },
    };
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = ts_expect_status(&ts, cases[i].req, cases[i].status, true);
        const char *end = strstr(got, "\r\n\r\n");
        assert_non_null(end);
        if (end[4])
            fail_msg("%.40s: a body after the head: %s", cases[i].req, end + 4);
        assert_non_null(strstr(got, "\r\nContent-Length: "));
    }
    stop(&ts);
}

/* An absolute-form target's path ends at its '?' (RFC 3986 §3.3): what
 * follows is the query, never a path a router matches, whatever a '/'
 * inside it suggests. */
static void test_absolute_form_path(void **state) {
    static const struct {
        const char *req;
        const char *status;
    } cases[] = {
        { "GET http://a/hello?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", "200" },
        { "GET HTTP://A:80/hello HTTP/1.1\r\nHost: a\r\n\r\n", "200" },
        { "GET http://a?/hello HTTP/1.1\r\nHost: a\r\n\r\n", "404" },
        { "GET http://a?q=/hello HTTP/1.1\r\nHost: a\r\n\r\n", "404" },
    };
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ts_expect_status(&ts, cases[i].req, cases[i].status, false);
    stop(&ts);
}

/* Dots that are not a whole segment are ordinary path bytes; with
 * allow_dot_segments the raw path reaches the handler as it came. */
static void test_dot_segments(void **state) {
    static ts_in in;
    for (int allow = 0; allow <= 1; allow++) {
        test_server ts;
        em_http_server_opts o = { .allow_dot_segments = allow };
        start(&ts, &o);
        memset(&in, 0, sizeof in);
        int fd = ts_connect(&ts);
        TS_SEND(fd, "GET /echo/..x HTTP/1.1\r\nHost: a\r\n\r\n"
                    "GET /echo/%2e%2e%2e HTTP/1.1\r\nHost: a\r\n\r\n");
        ts_wait_responses(&ts, fd, &in, 2);
        assert_non_null(strstr(in.buf, "X-Path: /echo/..x\r\n"));
        assert_non_null(strstr(in.buf, "X-Path: /echo/%2e%2e%2e\r\n"));
        memset(&in, 0, sizeof in);
        TS_SEND(fd, "GET /echo/%2e%2E HTTP/1.1\r\nHost: a\r\n\r\n");
        if (allow) {
            ts_wait_responses(&ts, fd, &in, 1);
            assert_non_null(strstr(in.buf, "X-Path: /echo/%2e%2E\r\n"));
        } else {
            ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 3000);
            assert_true(strncmp(in.buf, "HTTP/1.1 400 ", 13) == 0);
        }
        close(fd);
        stop(&ts);
    }
}

static void test_limits(void **state) {
    test_server ts;
    em_http_server_opts o = { .limits = { .max_start_line = 64, .max_headers = 3 } };
    start(&ts, &o);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "GET /hello/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n");
    ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 3000);
    assert_memory_equal(in.buf, "HTTP/1.1 414 ", 13);
    close(fd);
    memset(&in, 0, sizeof in);
    fd = ts_connect(&ts);
    TS_SEND(fd, "GET /hello HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
    ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 3000);
    assert_memory_equal(in.buf, "HTTP/1.1 431 ", 13);
    close(fd);
    stop(&ts);
}

static void test_timeouts(void **state) {
    test_server ts;
    em_http_server_opts o = { .header_timeout_ms = 40, .idle_timeout_ms = 60 };
    start(&ts, &o);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "GET /hello HTTP/1.1\r\nHo"); /* slowloris: never finishes */
    ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 3000);
    assert_memory_equal(in.buf, "HTTP/1.1 408 ", 13);
    close(fd);
    memset(&in, 0, sizeof in);
    fd = ts_connect(&ts);
    TS_SEND(fd, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 3000); /* idle: closed silently */
    assert_int_equal(ts_count_responses(&in, EM_HTTP_GET), 1);
    close(fd);
    stop(&ts);
}

static void test_max_requests(void **state) {
    test_server ts;
    em_http_server_opts o = { .max_requests = 2 };
    start(&ts, &o);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 3000);
    assert_int_equal(ts_count_responses(&in, EM_HTTP_GET), 2);
    char *close_hdr = strstr(in.buf, "Connection: close");
    assert_non_null(close_hdr);
    assert_true(close_hdr > strstr(in.buf, "Hello, World!")); /* on the second */
    close(fd);
    stop(&ts);
}

static void test_admission_503(void **state) {
    test_server ts;
    em_http_server_opts o = { .max_connections = 1 };
    start(&ts, &o);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int a = ts_connect(&ts);
    TS_SEND(a, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_wait_responses(&ts, a, &in, 1);
    memset(&in, 0, sizeof in);
    int b = ts_connect(&ts);
    ts_pump(&ts, b, &in, ts_pred_eof, NULL, 3000);
    assert_memory_equal(in.buf, "HTTP/1.1 503 ", 13);
    assert_non_null(strstr(in.buf, "Retry-After: 1\r\n"));
    assert_int_equal(ts.srv.rejected, 1);
    /* The first connection still works. */
    memset(&in, 0, sizeof in);
    TS_SEND(a, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_wait_responses(&ts, a, &in, 1);
    close(a);
    close(b);
    stop(&ts);
}

/* Shutdown with a deferred request in flight: it completes (with
 * Connection: close), idle connections close at once, cb runs last. */
static void test_graceful_shutdown(void **state) {
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o);
    static ts_in in, idle_in;
    memset(&in, 0, sizeof in);
    memset(&idle_in, 0, sizeof idle_in);
    int idle = ts_connect(&ts);
    int busy = ts_connect(&ts);
    slow_started = 0;
    TS_SEND(busy, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
    /* shut down while the handler holds the request (it answers 25 ms
     * after it started: the check below runs in the same loop turn) */
    EM_TEST_RUN_UNTIL(&ts.loop, slow_started == 1, 5000);
    assert_int_equal(em_http_server_connections(&ts.srv), 2);
    em_http_server_shutdown(&ts.srv, ts_on_closed);
    ts_pump(&ts, idle, &idle_in, ts_pred_eof, NULL, 3000);
    assert_int_equal(idle_in.len, 0);
    ts_pump(&ts, busy, &in, ts_pred_eof, NULL, 3000);
    assert_non_null(strstr(in.buf, "slow"));
    assert_non_null(strstr(in.buf, "Connection: close\r\n"));
    /* The server half-closed after the response; the client closes, and
     * the server's last connection goes away. */
    close(idle);
    close(busy);
    EM_TEST_RUN_UNTIL(&ts.loop, ts.closed, 3000);
    em_loop_run(&ts.loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&ts.loop), 0);
    em_http_router_free(&router);
}

/* The access log reaches its fd through the writer thread, one line per
 * request in the common log format, all flushed by the shutdown; a quote or
 * backslash in the target is escaped so it cannot forge the line's fields. */
static void test_access_log(void **state) {
    int p[2];
    assert_int_equal(pipe(p), 0);
    /* Under another language the month is still English (common log
     * format), when such a locale is installed. */
    static const char *const locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
                                          "fr_FR.utf8", "es_ES.UTF-8", "es_ES.utf8"};
    for (size_t i = 0; i < sizeof locales / sizeof locales[0]; i++)
        if (setlocale(LC_ALL, locales[i]))
            break;
    test_server ts;
    em_http_server_opts o = { .access_log_fd = p[1] };
    start(&ts, &o);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\n"
                "Content-Length: 3\r\n\r\nabc"
                "GET /a\"b\\c HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_wait_responses(&ts, fd, &in, 3);
    close(fd);
    stop(&ts);
    setlocale(LC_ALL, "C");
    char log[1024];
    ssize_t n = read(p[0], log, sizeof log - 1);
    assert_true(n > 0);
    log[n] = 0;
    /* 127.0.0.1 - - [23/Nov/2026:13:55:36 +0000] "GET /hello HTTP/1.1" 200 13 */
    char mon[4], tail[64];
    int day, year, hh, mm, ss;
    assert_int_equal(sscanf(log, "127.0.0.1 - - [%2d/%3[A-Za-z]/%4d:%2d:%2d:%2d +0000] %63[^\n]",
                            &day, mon, &year, &hh, &mm, &ss, tail),
                     7);
    assert_string_equal(tail, "\"GET /hello HTTP/1.1\" 200 13");
    static const char months[] = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec";
    if (!strstr(months, mon))
        fail_msg("month not in English: %s", mon);
    assert_non_null(strstr(log, "] \"POST /echo HTTP/1.1\" 200 3\n"));
    assert_non_null(strstr(log, "] \"GET /a\\x22b\\x5Cc HTTP/1.1\" 404 "));
    close(p[0]);
    close(p[1]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_keepalive),
        cmocka_unit_test(test_http10),
        cmocka_unit_test(test_connection_close),
        cmocka_unit_test(test_handler_connection_close),
        cmocka_unit_test(test_pipeline_with_slow_handler),
        cmocka_unit_test(test_head_and_404_405),
        cmocka_unit_test(test_bodies_and_expect),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_head_errors_have_no_body),
        cmocka_unit_test(test_absolute_form_path),
        cmocka_unit_test(test_dot_segments),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_max_requests),
        cmocka_unit_test(test_admission_503),
        cmocka_unit_test(test_graceful_shutdown),
        cmocka_unit_test(test_access_log),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* The server's newer faces: typed routes and opts.router, the connection
 * handle, streamed bodies paused and resumed, streams with a length, the
 * buffered-body budget, large bodies by reference, em_http_serve_stop. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "exchange_internal.h" /* the burst buffer's size, for one test */
#include "http_server_util.h"

static int pred_has(ts_in *in, void *arg) {
    return strstr(in->buf, arg) != NULL;
}

/* ---- routes and connections ------------------------------------------------ */

static int opened, closed_conns;
static void *conn_data_seen;

static void r_count(em_http_ctx *cx) {
    /* Per-connection state that outlives one request. */
    uintptr_t n = (uintptr_t)em_http_conn_data(cx->conn) + 1;
    em_http_conn_set_data(cx->conn, (void *)n);
    assert_int_equal(em_http_conn_requests(cx->conn), n);
    char ip[64];
    em_ip a = em_sockaddr_ip(em_http_conn_peer(cx->conn));
    assert_true(em_ip_format(&a, ip, sizeof ip) > 0);
    assert_string_equal(ip, "127.0.0.1");
    assert_ptr_equal(em_tcp_conn_loop(em_http_conn_tcp(cx->conn)), em_http_ctx_loop(cx));
    char body[32];
    int len = snprintf(body, sizeof body, "n=%u", (unsigned)n);
    em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), em_slice_make(body, (size_t)len));
}

static int on_open(em_http_conn *c, void *app) {
    opened++;
    assert_null(em_http_conn_data(c));
    return 0;
}
static void on_close(em_http_conn *c, void *app) {
    closed_conns++;
    conn_data_seen = em_http_conn_data(c);
}

static void test_routes_and_connection_data(void **state) {
    opened = closed_conns = 0;
    em_http_router r;
    em_http_router_init(&r);
    assert_int_equal(em_http_route(&r, EM_HTTP_GET, "/count", r_count), 0);
    assert_int_equal(em_http_route(&r, EM_HTTP_GET, "/count", r_count), EM_EEXIST);
    assert_int_equal(em_http_route(&r, EM_HTTP_GET, "nope", r_count), EM_EINVAL);
    test_server ts;
    em_http_server_opts o = {.router = &r, .on_conn_open = on_open, .on_conn_close = on_close};
    ts_start(&ts, &o);
    int fd = ts_connect(&ts);
    static ts_in in;
    memset(&in, 0, sizeof in);
    TS_SEND(fd, "GET /count HTTP/1.1\r\nHost: a\r\n\r\nGET /count HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_wait_responses(&ts, fd, &in, 2);
    assert_non_null(strstr(in.buf, "n=1"));
    assert_non_null(strstr(in.buf, "n=2"));
    memset(&in, 0, sizeof in);
    TS_SEND(fd, "GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_wait_responses(&ts, fd, &in, 1);
    assert_memory_equal(in.buf, "HTTP/1.1 404 ", 13);
    close(fd);
    EM_TEST_RUN_UNTIL(&ts.loop, closed_conns == 1, 3000);
    assert_int_equal(opened, 1);
    assert_ptr_equal(conn_data_seen, (void *)(uintptr_t)2);
    ts_stop(&ts);
    em_http_router_free(&r);
}

/* A route added as a handler (a middleware in front of the answer), served
 * through em_http_router_handler named directly, reading its captures
 * with em_http_param. */
static void r_user(em_http_ctx *cx, const em_http_handler *h) {
    em_slice id = em_http_param(cx, "id");
    em_slice none = em_http_param(cx, "nope");
    assert_non_null(none.ptr); /* empty, never NULL: safe to print */
    char body[64];
    int len = snprintf(body, sizeof body, "%s id=%.*s nope=%zu", (const char *)h->data,
                       (int)id.len, id.ptr, none.len);
    em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), em_slice_make(body, (size_t)len));
}
static void mw_tag(em_http_ctx *cx, const em_http_handler *h) {
    assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("X-Tag"), EM_SLICE_LIT("mw")), 0);
    em_http_next(cx, h);
}

static void test_route_handler_and_params(void **state) {
    static const em_http_handler user = {r_user, NULL, "user"};
    static const em_http_handler tagged = {mw_tag, &user, NULL};
    em_http_router r;
    em_http_router_init(&r);
    assert_int_equal(em_http_route_handler(&r, EM_HTTP_GET, "/users/:id", &tagged), 0);
    assert_int_equal(em_http_route_handler(&r, EM_HTTP_GET, "/users/:id", &tagged), EM_EEXIST);
    assert_int_equal(em_http_route_handler(&r, EM_HTTP_GET, "/x", NULL), EM_EINVAL);
    em_http_handler root = {em_http_router_handler, NULL, &r};
    test_server ts;
    em_http_server_opts o = {.handler = &root};
    ts_start(&ts, &o);
    int fd = ts_connect(&ts);
    static ts_in in;
    memset(&in, 0, sizeof in);
    TS_SEND(fd, "GET /users/42 HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_wait_responses(&ts, fd, &in, 1);
    assert_memory_equal(in.buf, "HTTP/1.1 200 ", 13);
    assert_non_null(strstr(in.buf, "\r\nX-Tag: mw\r\n"));
    assert_non_null(strstr(in.buf, "\r\n\r\nuser id=42 nope=0"));
    /* The router's own answers: 405 with Allow, 501 for an unknown
     * method, 404 for no route. */
    memset(&in, 0, sizeof in);
    TS_SEND(fd, "POST /users/42 HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    ts_wait_responses(&ts, fd, &in, 1);
    assert_memory_equal(in.buf, "HTTP/1.1 405 ", 13);
    assert_non_null(strstr(in.buf, "\r\nAllow: GET, HEAD\r\n"));
    memset(&in, 0, sizeof in);
    TS_SEND(fd, "BREW /users/42 HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_wait_responses(&ts, fd, &in, 1);
    assert_memory_equal(in.buf, "HTTP/1.1 501 ", 13);
    memset(&in, 0, sizeof in);
    TS_SEND(fd, "GET /users HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_wait_responses(&ts, fd, &in, 1);
    assert_memory_equal(in.buf, "HTTP/1.1 404 ", 13);
    /* RFC 9110 §9.3.7: OPTIONS * asks about the server, not a resource:
     * 200 with the methods some route takes, no body */
    memset(&in, 0, sizeof in);
    TS_SEND(fd, "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_wait_responses(&ts, fd, &in, 1);
    assert_memory_equal(in.buf, "HTTP/1.1 200 ", 13);
    assert_non_null(strstr(in.buf, "\r\nAllow: GET, HEAD\r\n"));
    assert_non_null(strstr(in.buf, "\r\nContent-Length: 0\r\n"));
    close(fd);
    ts_stop(&ts);
    em_http_router_free(&r);
}

static int refuse(em_http_conn *c, void *app) {
    return EM_ECONNREFUSED;
}

static void test_conn_open_can_refuse(void **state) {
    opened = closed_conns = 0;
    em_http_router r;
    em_http_router_init(&r);
    test_server ts;
    em_http_server_opts o = {.router = &r, .on_conn_open = refuse, .on_conn_close = on_close};
    ts_start(&ts, &o);
    int fd = ts_connect(&ts);
    static ts_in in;
    memset(&in, 0, sizeof in);
    ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 3000);
    assert_int_equal(in.len, 0);
    EM_TEST_RUN_UNTIL(&ts.loop, closed_conns == 1, 3000);
    close(fd);
    ts_stop(&ts);
    em_http_router_free(&r);
}

static void test_server_needs_a_handler(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_http_server srv;
    em_http_server_opts o = {0};
    em_sockaddr any = em_sockaddr_loopback4(0);
    assert_int_equal(em_http_server_start(&loop, &srv, &any, &o), EM_EINVAL);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* ---- streamed bodies, paused and resumed --------------------------------------- */

static struct {
    em_http_ctx *cx;
    em_timer t;
    uint64_t got;
    int pauses, pieces_while_paused;
    bool paused;
} pz;

static void on_resume_timer(em_timer *t) {
    pz.paused = false;
    em_http_body_resume(pz.cx);
}

static void on_pz_piece(em_http_ctx *cx, em_slice piece, int status) {
    assert_true(status == 0 || status == EM_HTTP_LAST);
    if (pz.paused)
        pz.pieces_while_paused++;
    pz.got += piece.len;
    if (status == EM_HTTP_LAST) {
        char body[32];
        int n = snprintf(body, sizeof body, "got %llu", (unsigned long long)pz.got);
        em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), em_slice_make(body, (size_t)n));
        return;
    }
    /* Pause after every piece; a timer resumes. */
    em_http_body_pause(cx);
    pz.paused = true;
    pz.pauses++;
    em_timer_start(&pz.t, 1, 0);
}

static void h_pz(em_http_ctx *cx, const em_http_handler *h) {
    pz.cx = cx;
    assert_int_equal(em_http_body_read(cx, on_pz_piece), 0);
}

static void test_body_pause_resume(void **state) {
    memset(&pz, 0, sizeof pz);
    test_server ts;
    static const em_http_handler hh = {h_pz, NULL, NULL};
    em_http_server_opts o = {.handler = &hh, .stream_bodies = true};
    ts_start(&ts, &o);
    em_timer_init(&ts.loop, &pz.t, on_resume_timer);
    int fd = ts_connect(&ts);
    enum { LEN = 300 * 1024 };
    char *body = malloc(LEN);
    memset(body, 'b', LEN);
    TS_SEND(fd, "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 307200\r\n\r\n");
    static ts_in in;
    memset(&in, 0, sizeof in);
    for (int i = 0; i < 10; i++) { /* in pieces, so the body comes in several reads */
        ts_send(fd, body + i * (LEN / 10), LEN / 10);
        for (int k = 0; k < 5; k++)
            em_loop_run(&ts.loop, EM_RUN_NOWAIT);
    }
    ts_pump(&ts, fd, &in, pred_has, "got 307200", 5000);
    assert_true(pz.pauses >= 1);
    assert_int_equal(pz.pieces_while_paused, 0);
    free(body);
    close(fd);
    em_timer_stop(&pz.t);
    ts_stop(&ts);
}

/* ---- a body echoed as it arrives: the response starts mid-body ------------------ */

static void on_echo_piece(em_http_ctx *cx, em_slice piece, int status) {
    if (status < 0)
        return;
    if (!cx->user) {
        int64_t len = (int64_t)cx->req.content_length;
        assert_int_equal(em_http_stream_start(cx, 200, EM_SLICE_LIT("text/plain"), len, NULL), 0);
        cx->user = cx;
    }
    if (piece.len)
        assert_true(em_http_stream_write(cx, piece, NULL) >= 0);
    if (status == EM_HTTP_LAST)
        assert_int_equal(em_http_stream_end(cx), 0);
}
static void h_echo_stream(em_http_ctx *cx, const em_http_handler *h) {
    cx->user = NULL;
    assert_int_equal(em_http_body_read(cx, on_echo_piece), 0);
}

static void test_echo_as_it_arrives(void **state) {
    test_server ts;
    static const em_http_handler hh = {h_echo_stream, NULL, NULL};
    em_http_server_opts o = {.handler = &hh, .stream_bodies = true};
    ts_start(&ts, &o);
    int fd = ts_connect(&ts);
    static ts_in in;
    memset(&in, 0, sizeof in);
    TS_SEND(fd, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
    ts_wait_responses(&ts, fd, &in, 1);
    assert_non_null(strstr(in.buf, "\r\n\r\nabc"));
    assert_null(strstr(in.buf, "Connection: close")); /* the body was read: keep-alive */
    /* The head first, the body later, in two pieces. */
    memset(&in, 0, sizeof in);
    TS_SEND(fd, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n");
    ts_pump(&ts, fd, &in, ts_pred_responses, &(int){0}, 20);
    TS_SEND(fd, "abc");
    ts_pump(&ts, fd, &in, pred_has, "abc", 3000);
    TS_SEND(fd, "def");
    ts_wait_responses(&ts, fd, &in, 1);
    assert_non_null(strstr(in.buf, "abcdef"));
    close(fd);
    ts_stop(&ts);
}

/* ---- streams with a Content-Length ------------------------------------------------ */

static int len_case;
static void h_len(em_http_ctx *cx, const em_http_handler *h) {
    em_http_defer(cx, NULL);
    assert_int_equal(em_http_stream_start(cx, 200, EM_SLICE_LIT("text/plain"), 10, NULL), 0);
    assert_int_equal(em_http_stream_write(cx, EM_SLICE_LIT("01234"), NULL), 0);
    if (len_case == 0) { /* exact */
        assert_int_equal(em_http_stream_write(cx, EM_SLICE_LIT("56789"), NULL), 0);
        assert_int_equal(em_http_stream_end(cx), 0);
    } else if (len_case == 1) { /* past the length: refused */
        assert_int_equal(em_http_stream_write(cx, EM_SLICE_LIT("56789x"), NULL), EM_EINVAL);
        assert_int_equal(em_http_stream_write(cx, EM_SLICE_LIT("56789"), NULL), 0);
        assert_int_equal(em_http_stream_end(cx), 0);
    } else { /* short: the connection closes, the client sees it */
        assert_int_equal(em_http_stream_end(cx), EM_EINVAL);
    }
}

static void test_stream_with_length(void **state) {
    static const em_http_handler hh = {h_len, NULL, NULL};
    for (len_case = 0; len_case < 3; len_case++) {
        test_server ts;
        em_http_server_opts o = {.handler = &hh};
        ts_start(&ts, &o);
        int fd = ts_connect(&ts);
        TS_SEND(fd, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        static ts_in in;
        memset(&in, 0, sizeof in);
        if (len_case < 2) {
            ts_wait_responses(&ts, fd, &in, 1);
            assert_non_null(strstr(in.buf, "Content-Length: 10\r\n"));
            assert_null(strstr(in.buf, "chunked"));
            assert_non_null(strstr(in.buf, "\r\n\r\n0123456789"));
        } else {
            ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 3000);
            assert_int_equal(ts_count_responses(&in, EM_HTTP_GET), 0);
        }
        close(fd);
        ts_stop(&ts);
    }
}

/* ---- the buffered-body budget ------------------------------------------------- */

static void h_echo(em_http_ctx *cx, const em_http_handler *h) {
    em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), cx->body);
}

static void test_buffered_budget_503(void **state) {
    test_server ts;
    static const em_http_handler hh = {h_echo, NULL, NULL};
    em_http_server_opts o = {.handler = &hh, .max_buffered = 1000};
    ts_start(&ts, &o);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 900\r\n\r\n");
    char body[2000];
    memset(body, 'q', sizeof body);
    ts_send(fd, body, 900);
    static ts_in in;
    memset(&in, 0, sizeof in);
    ts_wait_responses(&ts, fd, &in, 1);
    assert_memory_equal(in.buf, "HTTP/1.1 200 ", 13);
    /* Past the budget: 503 with Retry-After, not buffered. */
    memset(&in, 0, sizeof in);
    TS_SEND(fd, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n");
    ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 3000);
    assert_memory_equal(in.buf, "HTTP/1.1 503 ", 13);
    assert_non_null(strstr(in.buf, "Retry-After: 1\r\n"));
    close(fd);
    /* A chunked body is counted as it is decoded. */
    fd = ts_connect(&ts);
    TS_SEND(fd, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; i++)
        TS_SEND(fd, "1f4\r\n"), ts_send(fd, body, 500), TS_SEND(fd, "\r\n");
    TS_SEND(fd, "0\r\n\r\n");
    memset(&in, 0, sizeof in);
    ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 3000);
    assert_memory_equal(in.buf, "HTTP/1.1 503 ", 13);
    close(fd);
    ts_stop(&ts);
}

/* ---- a large prebuilt body goes out by reference ------------------------------ */

enum { BIG = 24 * 1024 * 1024 };
static em_http_prebuilt big;
static void h_big(em_http_ctx *cx, const em_http_handler *h) {
    em_http_respond_prebuilt(cx, &big);
}

static void test_large_prebuilt(void **state) {
    char *bytes = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        bytes[i] = (char)('a' + i % 26);
    assert_int_equal(em_http_prebuilt_init(&big, 200, EM_SLICE_LIT("application/octet-stream"),
                                           em_slice_make(bytes, BIG)),
                     0);
    test_server ts;
    static const em_http_handler hh = {h_big, NULL, NULL};
    em_http_server_opts o = {.handler = &hh};
    ts_start(&ts, &o);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    /* Read both responses, checking every body byte. */
    size_t want = 2, got = 0, pos = 0, body_left = 0;
    char head[512];
    size_t head_len = 0;
    char buf[65536];
    em_loop_update_time(&ts.loop);
    uint64_t start = em_loop_now(&ts.loop);
    while (got < want) {
        em_loop_run(&ts.loop, EM_RUN_NOWAIT);
        ssize_t n = ts_recv(fd, buf, sizeof buf);
        for (ssize_t i = 0; i < n; i++) {
            if (body_left) {
                assert_int_equal(buf[i], (char)('a' + pos % 26));
                pos++;
                if (--body_left == 0)
                    got++;
                continue;
            }
            head[head_len++] = buf[i];
            assert_true(head_len < sizeof head);
            if (head_len >= 4 && !memcmp(head + head_len - 4, "\r\n\r\n", 4)) {
                head[head_len] = 0;
                assert_non_null(strstr(head, "Content-Length: 25165824\r\n"));
                body_left = BIG;
                pos = 0;
                head_len = 0;
            }
        }
        em_loop_update_time(&ts.loop);
        if (em_loop_now(&ts.loop) - start > 20000)
            fail_msg("timed out after %zu responses", got);
    }
    close(fd);
    ts_stop(&ts);
    em_http_prebuilt_free(&big);
    free(bytes);
}

/* ---- the burst buffer shrinks back -------------------------------------------- */

static char kb_body[1024];
static void h_kb(em_http_ctx *cx, const em_http_handler *h) {
    em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), em_slice_make(kb_body, sizeof kb_body));
}

/* 400 pipelined requests answered in one pass make the burst grow past
 * its flush point; once sent, a buffer that large is freed, so one big
 * burst does not pin memory for the server's lifetime. */
static void test_burst_shrinks_back(void **state) {
    memset(kb_body, 'k', sizeof kb_body);
    test_server ts;
    static const em_http_handler hh = {h_kb, NULL, NULL};
    em_http_server_opts o = {.handler = &hh};
    ts_start(&ts, &o);
    int fd = ts_connect(&ts);
    enum { N = 400 };
    static char reqs[N * 32];
    size_t len = 0;
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(reqs + len, sizeof reqs - len, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_send(fd, reqs, len);
    size_t got = 0, want = 0;
    char buf[65536];
    em_loop_update_time(&ts.loop);
    uint64_t start = em_loop_now(&ts.loop);
    while (got == 0 || got < want) {
        em_loop_run(&ts.loop, EM_RUN_NOWAIT);
        ssize_t n = ts_recv(fd, buf, sizeof buf);
        if (n > 0) {
            if (!got) { /* every response has the size of the first */
                const char *end = memmem(buf, (size_t)n, "\r\n\r\n", 4);
                assert_non_null(end);
                want = (size_t)(end + 4 - buf + (ptrdiff_t)sizeof kb_body) * N;
            }
            got += (size_t)n;
        }
        em_loop_update_time(&ts.loop);
        if (em_loop_now(&ts.loop) - start > 5000)
            fail_msg("got %zu of %zu bytes", got, want);
    }
    assert_int_equal(got, want);
    assert_true(em_buf_cap(&ts.srv._env->burst.buf) <= 256 * 1024);
    close(fd);
    ts_stop(&ts);
}

/* ---- a request cut short by the client's end ------------------------------- */

static void test_eof_mid_request_closes_at_once(void **state) {
    test_server ts;
    static const em_http_handler hh = {h_echo, NULL, NULL};
    em_http_server_opts o = {.handler = &hh, .header_timeout_ms = 60000};
    ts_start(&ts, &o);
    int fd = ts_connect(&ts);
    /* One whole request and half of the next, then the client's FIN. */
    TS_SEND(fd, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
                "GET / HTTP/1.1\r\nHo");
    shutdown(fd, SHUT_WR);
    static ts_in in;
    memset(&in, 0, sizeof in);
    ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 2000); /* not the 60 s timeout */
    assert_int_equal(ts_count_responses(&in, EM_HTTP_GET), 1);
    assert_non_null(strstr(in.buf, "\r\n\r\nhi"));
    close(fd);
    ts_stop(&ts);
}

/* ---- em_http_serve_stop -------------------------------------------------------- */

static void h_quit(em_http_ctx *cx, const em_http_handler *h) {
    em_http_respond_text(cx, 200, "bye\n");
    em_http_serve_stop(cx->server);
}

static em_sockaddr served;
static atomic_int ready; /* publishes served to the test's thread */
static void on_ready(const em_sockaddr *bound, void *arg) {
    served = *bound;
    atomic_store(&ready, 1);
}
static void *serve_main(void *arg) {
    static const em_http_handler hh = {h_quit, NULL, NULL};
    em_http_server_opts o = {.handler = &hh, .workers = 2};
    em_sockaddr a = em_sockaddr_loopback4(0);
    return (void *)(intptr_t)em_http_serve(&a, &o, on_ready, NULL);
}

static void test_serve_stop(void **state) {
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, serve_main, NULL), 0);
    for (int i = 0; i < 500 && !atomic_load(&ready); i++)
        usleep(10000);
    assert_true(atomic_load(&ready));
    em_tcp_stream s;
    assert_int_equal(em_tcp_connect(&s, &served, 3000), 0);
    assert_int_equal(em_tcp_stream_write(&s, "GET /quit HTTP/1.1\r\nHost: a\r\n\r\n", 31), 0);
    char buf[512];
    ssize_t n = em_tcp_stream_read(&s, buf, sizeof buf);
    assert_true(n > 0);
    assert_memory_equal(buf, "HTTP/1.1 200 ", 13);
    em_tcp_stream_close(&s);
    void *rc;
    pthread_join(th, &rc);
    assert_int_equal((intptr_t)rc, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_and_connection_data),
        cmocka_unit_test(test_route_handler_and_params),
        cmocka_unit_test(test_conn_open_can_refuse),
        cmocka_unit_test(test_server_needs_a_handler),
        cmocka_unit_test(test_body_pause_resume),
        cmocka_unit_test(test_echo_as_it_arrives),
        cmocka_unit_test(test_stream_with_length),
        cmocka_unit_test(test_buffered_budget_503),
        cmocka_unit_test(test_large_prebuilt),
        cmocka_unit_test(test_burst_shrinks_back),
        cmocka_unit_test(test_eof_mid_request_closes_at_once),
        cmocka_unit_test(test_serve_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

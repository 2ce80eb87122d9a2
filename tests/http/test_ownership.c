/* Defects of the server's ownership rule and hardening (issue 7), each
 * proved by one test that fails on the code before its fix.
 *
 * The rule: after em_http_defer(), em_http_stream_start() or
 * em_http_body_read(), cx stays valid until it ends, exactly once: a call
 * of the handler's completes it (em_http_respond*, em_http_stream_end), a
 * call returns EM_ECLOSED (that call released cx; on_abort will not run),
 * or on_abort runs (from the loop, never inside an em_http_* call; cx is
 * valid during it, and em_http_* calls made inside it return EM_ECLOSED
 * and free nothing). No callback runs inside em_http_stream_start,
 * em_http_stream_write or em_http_respond.
 *
 * Several tests crashed under ASan on the old code, which ends the
 * process: EM_TEST_FILTER=<pattern> runs only the tests whose names match. */
#include <poll.h>
#include <stdlib.h>

#include "http_server_util.h"

enum { NCONNS = 65 }; /* one more than the server's exchange pool keeps */

typedef struct own {
    em_http_ctx *cx;          /* the request the handler holds */
    em_http_ctx *cxs[NCONNS]; /* by the number in the path */
    em_timer timer;           /* calls fire() from the loop */
    void (*fire)(void);
    em_slice ct;            /* the Content-Type the handler answers with */
    int handled;            /* handler calls */
    int aborted, abort_err; /* on_abort calls and the last status */
    int body_err, pieces;   /* body callback calls with an error, pieces */
    int in_call;            /* the test is inside an em_http_* call */
    int cb_inside;          /* callbacks that ran inside such a call */
    int fired, ended;       /* the timer ran; the stream was ended */
    int rc, rc2, write_rc;  /* results of calls made from callbacks */
    size_t body_len;
    bool body_ok;
} own;
static own g;

static em_http_handler handler;

/* stream_full: after a write that returned rc, wait for on_unthrottled. */
static int stream_start(em_http_ctx *cx, int status, em_slice type, const em_http_stream_cbs *cbs) {
    return em_http_stream_start(cx, status, type, EM_HTTP_LENGTH_UNKNOWN, cbs);
}
static bool stream_full(em_http_ctx *cx, int rc) {
    return rc != 0;
}

static void on_timer(em_timer *t) {
    g.fire();
}

static void start(test_server *ts, em_http_server_opts *o, em_http_handler_fn fn) {
    memset(&g, 0, sizeof g);
    memset(ts, 0, sizeof *ts);
    handler = (em_http_handler){fn, NULL, NULL};
    o->handler = &handler;
    ts_start(ts, o);
    em_timer_init(&ts->loop, &g.timer, on_timer);
}

/* Run the loop, never blocking, until *v >= want or ms pass. */
static bool run_until(test_server *ts, const int *v, int want, int ms) {
    em_loop_update_time(&ts->loop);
    uint64_t end = em_loop_now(&ts->loop) + (uint64_t)ms;
    for (;;) {
        em_loop_run(&ts->loop, EM_RUN_NOWAIT);
        if (v && *v >= want)
            return true;
        em_loop_update_time(&ts->loop);
        if (em_loop_now(&ts->loop) >= end)
            return false;
        poll(NULL, 0, 1);
    }
}

static void run_for(test_server *ts, int ms) {
    (void)run_until(ts, NULL, 0, ms);
}

static void wait_handled(test_server *ts, int n) {
    if (!run_until(ts, &g.handled, n, 3000))
        fail_msg("the handler ran %d times, not %d", g.handled, n);
}

/* For tests that started the shutdown themselves. */
static void wait_closed(test_server *ts) {
    if (!run_until(ts, &ts->closed, 1, 3000))
        fail_msg("the server did not drain (%u connections open)",
                 em_http_server_connections(&ts->srv));
    em_loop_run(&ts->loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&ts->loop), 0);
}

/* Close with a reset, as a client that crashes or gives up does. */
static void rst_close(int fd) {
    struct linger lg = {1, 0};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(fd);
}

static void send_get(int fd, const char *target) {
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", target);
    ts_send(fd, req, (size_t)n);
}

static int pred_done(ts_in *in, void *arg) {
    return in->eof || ts_count_responses(in, EM_HTTP_GET) >= 1;
}

/* Body bytes: not periodic at any small stride. */
static char pat(size_t i) {
    return (char)('a' + (i * 7 + i / 4099) % 26);
}

/* Send n bytes while the loop runs and what comes back is read into in.
 * Stops once all is sent, the server closes, or a response arrived. */
static size_t send_pumping(test_server *ts, int fd, const char *p, size_t n, ts_in *in) {
    size_t off = 0;
    em_loop_update_time(&ts->loop);
    uint64_t end = em_loop_now(&ts->loop) + 10000;
    while (off < n && !in->eof && ts_count_responses(in, EM_HTTP_GET) == 0) {
        ssize_t w = ts_send_some(fd, p + off, n - off);
        if (w > 0)
            off += (size_t)w;
        else if (errno != EAGAIN && errno != EINTR)
            break; /* the server reset the connection */
        em_loop_run(&ts->loop, EM_RUN_NOWAIT);
        ssize_t r = ts_recv(fd, in->buf + in->len, sizeof in->buf - 1 - in->len);
        if (r > 0)
            in->len += (size_t)r;
        else if (r == 0 || (errno != EAGAIN && errno != EINTR))
            in->eof = 1;
        in->buf[in->len] = 0;
        if (w <= 0) {
            struct pollfd pf = {fd, POLLIN | POLLOUT, 0};
            poll(&pf, 1, 1);
        }
        em_loop_update_time(&ts->loop);
        if (em_loop_now(&ts->loop) > end)
            fail_msg("timed out sending: %zu of %zu bytes sent", off, n);
    }
    return off;
}

/* Bytes received in bulk: the first cap of them, a count and the tail. */
typedef struct bulk {
    char *buf;
    size_t cap, len;
    char tail[5];
    int eof;
} bulk;

/* Run the loop and read fd until b holds want bytes or the server closes. */
static void bulk_read(test_server *ts, int fd, bulk *b, size_t want, int timeout_ms) {
    static char tmp[64 * 1024];
    em_loop_update_time(&ts->loop);
    uint64_t end = em_loop_now(&ts->loop) + (uint64_t)timeout_ms;
    while (!b->eof && b->len < want) {
        em_loop_run(&ts->loop, EM_RUN_NOWAIT);
        (void)ts_flush(fd);
        ssize_t n = ts_recv(fd, tmp, sizeof tmp);
        if (n > 0) {
            size_t k = (size_t)n;
            if (b->len < b->cap)
                memcpy(b->buf + b->len, tmp, k < b->cap - b->len ? k : b->cap - b->len);
            if (k >= sizeof b->tail) {
                memcpy(b->tail, tmp + k - sizeof b->tail, sizeof b->tail);
            } else {
                memmove(b->tail, b->tail + k, sizeof b->tail - k);
                memcpy(b->tail + sizeof b->tail - k, tmp, k);
            }
            b->len += k;
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            b->eof = 1;
        } else {
            struct pollfd pf = {fd, POLLIN, 0};
            poll(&pf, 1, 1);
        }
        em_loop_update_time(&ts->loop);
        if (em_loop_now(&ts->loop) > end)
            fail_msg("timed out reading: %zu of %zu bytes", b->len, want);
    }
}

/* ---- handlers ---------------------------------------------------------------- */

static void on_abort_count(em_http_ctx *cx, int err) {
    g.cb_inside += g.in_call;
    g.aborted++;
    g.abort_err = err;
    em_timer_stop(&g.timer); /* cx is gone: nothing left to answer */
}
static const em_http_stream_cbs abort_cbs = {.on_abort = on_abort_count};

/* Holds the request; the test answers it later. */
static void h_defer(em_http_ctx *cx, const em_http_handler *h) {
    g.cx = cx;
    g.handled++;
    em_http_defer(cx, &abort_cbs);
}

/* h_defer for GET /<n>: the request lands in g.cxs[n]. */
static void h_defer_numbered(em_http_ctx *cx, const em_http_handler *h) {
    size_t n = 0;
    for (size_t i = 1; i < cx->path.len; i++)
        n = n * 10 + (size_t)(cx->path.ptr[i] - '0');
    assert_true(n < NCONNS);
    g.cxs[n] = cx;
    g.handled++;
    em_http_defer(cx, &abort_cbs);
}

/* Answers with the length of the body, checked against pat(). */
static void h_len(em_http_ctx *cx, const em_http_handler *h) {
    g.handled++;
    g.body_len = cx->body.len;
    g.body_ok = true;
    for (size_t i = 0; i < cx->body.len; i++)
        g.body_ok = g.body_ok && cx->body.ptr[i] == pat(i);
    char text[64];
    snprintf(text, sizeof text, "len=%zu", cx->body.len);
    em_http_respond_text(cx, 200, text);
}

static void h_reach(em_http_ctx *cx, const em_http_handler *h) {
    g.handled++;
    em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), cx->path);
}

/* ---- 1: a client that leaves while its request is deferred -------------- */

static void client_leaves_while_deferred(bool reset) {
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o, h_defer);
    int fd = ts_connect(&ts);
    send_get(fd, "/poll");
    wait_handled(&ts, 1);
    if (reset)
        rst_close(fd);
    else
        close(fd);
    if (!run_until(&ts, &g.aborted, 1, 1000))
        fail_msg("on_abort did not run within 1 s of the client's %s", reset ? "reset" : "close");
    assert_int_equal(g.cb_inside, 0);
    assert_true(g.abort_err < 0);
    run_for(&ts, 50);
    assert_int_equal(g.aborted, 1);
    assert_int_equal(em_http_server_connections(&ts.srv), 0);
    ts_stop(&ts);
}

/* Defect 1: the reset of a client whose request is deferred goes unnoticed
 * (reading is paused, so the fd is not even watched) until the handler
 * answers. */
static void test_abort_on_reset_while_deferred(void **state) {
    client_leaves_while_deferred(true);
}

/* Defect 1: the same for a client that closes (FIN); nginx and Go treat
 * it as a client abort too. */
static void test_abort_on_close_while_deferred(void **state) {
    client_leaves_while_deferred(false);
}

/* ---- 2: use after free in a deferred answer ------------------------------- */

/* Defect 2: em__http_finish flushes, the write fails at once (the client
 * reset), the close puts the exchange back to a pool that frees it while
 * the server shuts down, and em__http_exchange_done reads it. The answer
 * comes before the loop runs again, so it meets the dead socket first. */
static void test_respond_after_reset_while_shutting_down(void **state) {
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o, h_defer);
    int fd = ts_connect(&ts);
    send_get(fd, "/poll");
    wait_handled(&ts, 1);
    rst_close(fd);
    em_http_server_shutdown(&ts.srv, ts_on_closed);
    g.in_call = 1;
    int rc = em_http_respond_text(g.cx, 200, "late\n");
    g.in_call = 0;
    if (rc != 0 && rc != EM_ECLOSED)
        fail_msg("em_http_respond after the reset returned %s", em_err_name(rc));
    wait_closed(&ts);
    assert_int_equal(g.cb_inside, 0);
    assert_int_equal(g.aborted, 0); /* the call ended cx */
}

static void answer_late(void) {
    g.fired++;
    g.in_call = 1;
    g.rc = em_http_respond_text(g.cx, 200, "late\n");
    g.in_call = 0;
}

/* Defect 2 again, the pool full (64) instead of a shutdown, the answer
 * from a timer. */
static void test_respond_after_reset_with_full_pool(void **state) {
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o, h_defer_numbered);
    int fds[NCONNS];
    for (int i = 0; i < NCONNS; i++) {
        char target[16];
        snprintf(target, sizeof target, "/%d", i);
        fds[i] = ts_connect(&ts);
        send_get(fds[i], target);
    }
    wait_handled(&ts, NCONNS);
    /* Their exchanges come back: the pool is full. */
    for (int i = 0; i < NCONNS - 1; i++)
        assert_int_equal(em_http_respond_text(g.cxs[i], 200, "ok\n"), 0);
    g.cx = g.cxs[NCONNS - 1];
    rst_close(fds[NCONNS - 1]);
    g.fire = answer_late;
    em_timer_start(&g.timer, 20, 0);
    run_for(&ts, 200);
    /* The loop may notice the reset first (on_abort) or not (the answer
     * gets EM_ECLOSED, or 0); cx ends exactly once either way. */
    assert_int_equal(g.fired + g.aborted, 1);
    if (g.fired && g.rc != 0 && g.rc != EM_ECLOSED)
        fail_msg("em_http_respond after the reset returned %s", em_err_name(g.rc));
    assert_int_equal(g.cb_inside, 0);
    for (int i = 0; i < NCONNS - 1; i++)
        close(fds[i]);
    ts_stop(&ts);
}

/* ---- 3: the API called inside on_abort and the body callback ------------- */

static void on_abort_respond(em_http_ctx *cx, int err) {
    g.aborted++;
    g.abort_err = err;
    g.rc = em_http_respond_text(cx, 200, "too late\n");
}
static const em_http_stream_cbs respond_in_abort_cbs = {.on_abort = on_abort_respond};

static void h_defer_respond_in_abort(em_http_ctx *cx, const em_http_handler *h) {
    g.cx = cx;
    g.handled++;
    em_http_defer(cx, &respond_in_abort_cbs);
}

/* Defect 3: em_http_respond inside on_abort frees the orphan, then
 * em__http_conn_close frees it again. on_abort comes from the shutdown
 * deadline here. */
static void test_respond_inside_on_abort(void **state) {
    test_server ts;
    em_http_server_opts o = {.shutdown_timeout_ms = 50};
    start(&ts, &o, h_defer_respond_in_abort);
    int fd = ts_connect(&ts);
    send_get(fd, "/poll");
    wait_handled(&ts, 1);
    em_http_server_shutdown(&ts.srv, ts_on_closed);
    wait_closed(&ts);
    assert_int_equal(g.aborted, 1);
    assert_true(g.abort_err < 0);
    assert_int_equal(g.rc, EM_ECLOSED);
    close(fd);
}

static void on_body_respond(em_http_ctx *cx, em_slice piece, int status) {
    if (status == 0 || status == EM_HTTP_LAST) {
        g.pieces++;
        g.body_len += piece.len;
        return;
    }
    g.body_err++;
    g.abort_err = status;
    g.rc = em_http_respond_text(cx, 500, "too late\n");
}

static void h_body_read(em_http_ctx *cx, const em_http_handler *h) {
    g.cx = cx;
    g.handled++;
    em_http_defer(cx, &abort_cbs);
    g.rc2 = em_http_body_read(cx, on_body_respond);
}

/* Defect 3: the same inside the body callback told the client is gone. */
static void test_respond_inside_body_error(void **state) {
    test_server ts;
    em_http_server_opts o = {.stream_bodies = true};
    start(&ts, &o, h_body_read);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\npartial");
    if (!run_until(&ts, &g.pieces, 1, 3000))
        fail_msg("no body piece arrived");
    assert_int_equal(g.rc2, 0);
    rst_close(fd);
    if (!run_until(&ts, &g.body_err, 1, 1000))
        fail_msg("the body callback did not hear of the reset");
    assert_int_equal(g.rc, EM_ECLOSED);
    assert_int_equal(g.body_len, 7);
    run_for(&ts, 50);
    assert_int_equal(g.body_err, 1);
    assert_int_equal(g.aborted, 0); /* the body callback was told instead */
    assert_int_equal(em_http_server_connections(&ts.srv), 0);
    ts_stop(&ts);
}

/* ---- 4: on_abort inside em_http_stream_start ---------------------------- */

/* Defect 4: the head's write fails (the client reset), stream_start runs
 * on_abort (which frees the caller's state) and then returns the error
 * too (on which examples/stream_server.c frees it again). */
static void test_stream_start_after_reset(void **state) {
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o, h_defer);
    int fd = ts_connect(&ts);
    send_get(fd, "/poll");
    wait_handled(&ts, 1);
    rst_close(fd);
    g.in_call = 1;
    int rc = stream_start(g.cx, 200, EM_SLICE_LIT("text/plain"), &abort_cbs);
    g.in_call = 0;
    if (g.cb_inside)
        fail_msg("on_abort ran inside em_http_stream_start, which then returned %s",
                 em_err_name(rc));
    assert_int_equal(rc, EM_ECLOSED);
    run_for(&ts, 200);
    assert_int_equal(g.aborted, 0); /* the call ended cx */
    ts_stop(&ts);
}

/* ---- 5: a callback inside em_http_stream_write ------------------------------ */

static char chunk[256 * 1024];

static void end_stream(em_http_ctx *cx) {
    if (!g.ended) {
        g.ended = 1;
        g.rc2 = em_http_stream_end(cx);
    }
}

/* A throttle callback ends the stream, as a handler may. */
static void on_throttle_end(em_http_ctx *cx) {
    g.cb_inside += g.in_call;
    end_stream(cx);
}
static void on_sent_note(em_http_ctx *cx, uint64_t token) {
    g.cb_inside += g.in_call;
    if (g.in_call)
        end_stream(cx);
}
static const em_http_stream_cbs throttle_cbs = {
    .on_sent = on_sent_note,
    .on_unthrottled = on_throttle_end,
    .on_abort = on_abort_count,
};

/* Write until the queue is full (at most 64 MiB). */
static void stream_until_full(void) {
    g.fired++;
    em_http_ctx *cx = g.cx;
    g.rc = stream_start(cx, 200, EM_SLICE_LIT("application/octet-stream"), &throttle_cbs);
    for (int i = 0; !g.rc && i < 256; i++) {
        g.in_call = 1;
        g.write_rc = em_http_stream_write(cx, em_slice_make(chunk, sizeof chunk), NULL);
        g.in_call = 0;
        if (g.ended || stream_full(cx, g.write_rc))
            break;
    }
}

/* A client with a 4 KiB receive buffer, connecting to ts (adopted: closed
 * with the test): the server's sends fill its queue quickly. */
static int slow_client(const test_server *ts) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    int small = 4096;
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    int r = connect(fd, &ts->addr.u.sa, em_sockaddr_len(&ts->addr));
    assert_true(r == 0 || errno == EINPROGRESS);
    ts_adopt(fd);
    return fd;
}

static void h_defer_then_stream(em_http_ctx *cx, const em_http_handler *h) {
    g.cx = cx;
    g.handled++;
    em_http_defer(cx, &throttle_cbs);
    g.fire = stream_until_full;
    em_timer_start(&g.timer, 50, 0);
}

/* Defect 5: the write that crosses the high watermark runs on_throttled
 * inside em_tcp_conn_write; it ends the stream, which frees the exchange
 * (the server is shutting down), and the write then adds to cx->_sent.
 * No callback may run inside a write. */
static void test_stream_write_runs_no_callback(void **state) {
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o, h_defer_then_stream);
    memset(chunk, 'c', sizeof chunk);
    int fd = slow_client(&ts); /* a client that reads slowly */
    send_get(fd, "/stream");
    wait_handled(&ts, 1);
    em_http_server_shutdown(&ts.srv, ts_on_closed);
    if (!run_until(&ts, &g.fired, 1, 1000))
        fail_msg("the timer did not fire");
    assert_int_equal(g.rc, 0);
    if (g.cb_inside)
        fail_msg("a stream callback ran inside em_http_stream_write");
    assert_true(g.write_rc >= 0 || g.write_rc == EM_ENOBUFS); /* 0, EM_HTTP_FULL */
    /* A throttle callback, if any comes, comes from the loop and ends the
     * stream; else the test does. */
    run_until(&ts, &g.ended, 1, 500);
    end_stream(g.cx);
    assert_int_equal(g.rc2, 0);
    assert_int_equal(g.cb_inside, 0);
    bulk b = {0};
    bulk_read(&ts, fd, &b, SIZE_MAX, 10000);
    assert_memory_equal(b.tail, "0\r\n\r\n", 5);
    assert_int_equal(g.aborted, 0);
    close(fd);
    wait_closed(&ts);
}

/* ---- 6: header injection through content_type ---------------------------- */

static const em_slice injected[] = {
    EM_SLICE_LIT("text/plain\r\nSet-Cookie: x=1"),
    EM_SLICE_LIT("text/plain\nSet-Cookie: x=1"),
};

static void h_inject_respond(em_http_ctx *cx, const em_http_handler *h) {
    g.handled++;
    g.rc = em_http_respond(cx, 200, g.ct, EM_SLICE_LIT("injected\n"));
    g.rc2 = em_http_respond_text(cx, 200, "clean\n");
}

static void h_inject_stream(em_http_ctx *cx, const em_http_handler *h) {
    g.handled++;
    g.rc = stream_start(cx, 200, g.ct, NULL);
    if (!g.rc) {
        (void)em_http_stream_end(cx);
        return;
    }
    g.rc2 = em_http_respond_text(cx, 200, "clean\n");
}

/* Ask once per injected Content-Type: the call must refuse it, send
 * nothing, and let the handler answer properly instead. */
static void refuses_injection(em_http_handler_fn fn) {
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o, fn);
    for (size_t i = 0; i < sizeof injected / sizeof injected[0]; i++) {
        g.ct = injected[i];
        static ts_in in;
        memset(&in, 0, sizeof in);
        int fd = ts_connect(&ts);
        send_get(fd, "/");
        ts_pump(&ts, fd, &in, pred_done, NULL, 3000);
        assert_int_equal(g.rc, EM_EINVAL);
        assert_int_equal(g.rc2, 0);
        assert_null(strstr(in.buf, "Set-Cookie"));
        assert_memory_equal(in.buf, "HTTP/1.1 200 ", 13);
        assert_non_null(strstr(in.buf, "\r\n\r\nclean\n"));
        close(fd);
    }
    ts_stop(&ts);
}

/* Defect 6: CR LF in em_http_respond's content_type goes into the head. */
static void test_respond_refuses_header_injection(void **state) {
    refuses_injection(h_inject_respond);
}

/* Defect 6: the same in em_http_stream_start. */
static void test_stream_start_refuses_header_injection(void **state) {
    refuses_injection(h_inject_stream);
}

/* Defect 6: the same in em_http_prebuilt_init. */
static void test_prebuilt_refuses_header_injection(void **state) {
    for (size_t i = 0; i < sizeof injected / sizeof injected[0]; i++) {
        em_http_prebuilt p;
        int rc = em_http_prebuilt_init(&p, 200, injected[i], EM_SLICE_LIT("body"));
        if (!rc)
            em_http_prebuilt_free(&p);
        assert_int_equal(rc, EM_EINVAL);
    }
}

/* ---- 7: encoded slashes in paths ------------------------------------------------ */

/* Defect 7: "%2e%2e%2f" is no dot segment, yet a "*rest" capture decoded
 * without EM_HTTP_DECODE_SEGMENT turns it into "../". An encoded slash in a
 * path gets 400 by default (Apache: AllowEncodedSlashes Off). */
static void test_encoded_slash_refused(void **state) {
    static const char *const targets[] = {"/files/%2e%2e%2f%2e%2e%2fetc/passwd", "/a%2Fb",
                                          "/a%2fb"};
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o, h_reach);
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        static ts_in in;
        memset(&in, 0, sizeof in);
        int fd = ts_connect(&ts);
        send_get(fd, targets[i]);
        ts_pump(&ts, fd, &in, pred_done, NULL, 3000);
        if (g.handled)
            fail_msg("GET %s reached the handler", targets[i]);
        assert_memory_equal(in.buf, "HTTP/1.1 400 ", 13);
        close(fd);
    }
    ts_stop(&ts);
}

/* Defect 7: allow_encoded_slash hands such paths over (raw), and dot
 * segments are still refused. */
static void test_encoded_slash_allowed_by_option(void **state) {
    test_server ts;
    em_http_server_opts o = {.allow_encoded_slash = true};
    start(&ts, &o, h_reach);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    send_get(fd, "/a%2Fb");
    ts_wait_responses(&ts, fd, &in, 1);
    assert_memory_equal(in.buf, "HTTP/1.1 200 ", 13);
    assert_non_null(strstr(in.buf, "\r\n\r\n/a%2Fb"));
    memset(&in, 0, sizeof in);
    send_get(fd, "/a/%2e%2e/b");
    ts_pump(&ts, fd, &in, pred_done, NULL, 3000);
    assert_memory_equal(in.buf, "HTTP/1.1 400 ", 13);
    assert_int_equal(g.handled, 1);
    close(fd);
    ts_stop(&ts);
}

/* ---- 8: a response over max_queue ---------------------------------------------- */

enum { BIG = 20 * 1024 * 1024 }; /* over the 16 MiB max_queue */
static char *big;

static void h_big(em_http_ctx *cx, const em_http_handler *h) {
    g.handled++;
    g.rc =
        em_http_respond(cx, 200, EM_SLICE_LIT("application/octet-stream"), em_slice_make(big, BIG));
}

/* Defect 8: one em_http_respond with a 20 MiB body closes the connection
 * (the write fails past max_queue) while the handler got 0. */
static void test_respond_over_max_queue(void **state) {
    big = malloc(BIG);
    assert_non_null(big);
    for (size_t i = 0; i < BIG; i++)
        big[i] = pat(i);
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o, h_big);
    int fd = ts_connect(&ts);
    send_get(fd, "/big");
    bulk b = {.cap = BIG + 4096};
    b.buf = malloc(b.cap);
    assert_non_null(b.buf);
    bulk_read(&ts, fd, &b, BIG, 20000);
    assert_int_equal(g.rc, 0);
    if (b.len < BIG)
        fail_msg("the connection closed after %zu response bytes", b.len);
    const char *end = memmem(b.buf, b.len, "\r\n\r\n", 4);
    assert_non_null(end);
    size_t head = (size_t)(end + 4 - b.buf);
    bulk_read(&ts, fd, &b, head + BIG, 20000);
    if (b.len < head + BIG)
        fail_msg("the connection closed after %zu of %zu response bytes", b.len,
                 head + (size_t)BIG);
    assert_memory_equal(b.buf, "HTTP/1.1 200 ", 13);
    assert_non_null(memmem(b.buf, head, "Content-Length: 20971520\r\n", 26));
    assert_int_equal(b.len, head + BIG);
    assert_memory_equal(b.buf + head, big, BIG);
    free(b.buf);
    free(big);
    close(fd);
    ts_stop(&ts);
}

/* ---- 9: chunked bodies in tiny chunks ------------------------------------------ */

/* A chunked POST of n body bytes in 1-byte chunks. */
static char *tiny_chunks(size_t n, size_t *len) {
    static const char head[] = "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    char *req = malloc(sizeof head + 6 * n + 5);
    assert_non_null(req);
    memcpy(req, head, sizeof head - 1);
    char *p = req + sizeof head - 1;
    for (size_t i = 0; i < n; i++, p += 6)
        memcpy(p, (char[6]){'1', '\r', '\n', pat(i), '\r', '\n'}, 6);
    memcpy(p, "0\r\n\r\n", 5);
    *len = (size_t)(p + 5 - req);
    return req;
}

/* Send req and wait for the answer (or the close). */
static void post(test_server *ts, const char *req, size_t len, ts_in *in) {
    int fd = ts_connect(ts);
    size_t sent = send_pumping(ts, fd, req, len, in);
    ts_pump(ts, fd, in, pred_done, NULL, 5000);
    if (ts_count_responses(in, EM_HTTP_POST) != 1)
        fail_msg("no response: the server closed silently (%zu of %zu request bytes sent)", sent,
                 len);
    close(fd);
}

/* Defect 9: a legal body in 1-byte chunks fills read_max (raw bytes) long
 * before max_body (decoded bytes), and the connection closes silently. */
static void test_tiny_chunks_within_limit(void **state) {
    test_server ts;
    em_http_server_opts o = {.limits = {.max_body = 256 * 1024}};
    start(&ts, &o, h_len);
    size_t len;
    char *req = tiny_chunks(200 * 1024, &len);
    static ts_in in;
    memset(&in, 0, sizeof in);
    post(&ts, req, len, &in);
    assert_memory_equal(in.buf, "HTTP/1.1 200 ", 13);
    assert_non_null(strstr(in.buf, "\r\n\r\nlen=204800"));
    assert_true(g.body_ok);
    free(req);
    ts_stop(&ts);
}

/* Defect 9: past max_body, the same body gets a 413, not a silent close. */
static void test_tiny_chunks_over_limit(void **state) {
    test_server ts;
    em_http_server_opts o = {.limits = {.max_body = 256 * 1024}};
    start(&ts, &o, h_len);
    size_t len;
    char *req = tiny_chunks(300 * 1024, &len);
    static ts_in in;
    memset(&in, 0, sizeof in);
    post(&ts, req, len, &in);
    assert_memory_equal(in.buf, "HTTP/1.1 413 ", 13);
    assert_int_equal(g.handled, 0);
    free(req);
    ts_stop(&ts);
}

/* ---- 10: "unlimited" limits ------------------------------------------------------ */

/* Defect 10: max_body = UINT64_MAX, documented as unlimited, is refused
 * by em_http_server_start. */
static void test_unlimited_max_body(void **state) {
    test_server ts;
    memset(&g, 0, sizeof g);
    memset(&ts, 0, sizeof ts);
    handler = (em_http_handler){h_len, NULL, NULL};
    em_http_server_opts o = {.handler = &handler, .limits = {.max_body = UINT64_MAX}};
    assert_int_equal(em_loop_init(&ts.loop), 0);
    em_sockaddr any = em_sockaddr_loopback4(0);
    ts.srv.data = &ts;
    em_http_server_opts oo = ts_opts(&o);
    int rc = em_http_server_start(&ts.loop, &ts.srv, &any, &oo);
    if (rc)
        fail_msg("em_http_server_start with max_body = UINT64_MAX: %s", em_err_name(rc));
    assert_int_equal(em_http_server_addr(&ts.srv, &ts.addr), 0);
    enum { N = 12 * 1024 * 1024 }; /* over the 10 MiB default */
    char head[128];
    int hn = snprintf(head, sizeof head,
                      "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", N);
    char *req = malloc((size_t)hn + N);
    assert_non_null(req);
    memcpy(req, head, (size_t)hn);
    for (size_t i = 0; i < N; i++)
        req[(size_t)hn + i] = pat(i);
    static ts_in in;
    memset(&in, 0, sizeof in);
    post(&ts, req, (size_t)hn + N, &in);
    assert_memory_equal(in.buf, "HTTP/1.1 200 ", 13);
    assert_non_null(strstr(in.buf, "\r\n\r\nlen=12582912"));
    assert_true(g.body_ok);
    free(req);
    ts_stop(&ts);
}

static void h_count_headers(em_http_ctx *cx, const em_http_handler *h) {
    g.handled++;
    char text[64];
    snprintf(text, sizeof text, "headers=%zu path=%zu", cx->req.num_headers, cx->path.len);
    em_http_respond_text(cx, 200, text);
}

/* Defect 10: SIZE_MAX in the size_t limits wraps: max_headers = SIZE_MAX
 * sizes each exchange as malloc(sizeof *ex + SIZE_MAX * sizeof header),
 * and max_start_line + max_header_bytes wraps in read_max. A 10 KiB target
 * and a 16 KiB field (both over the defaults) must pass. */
static void test_unlimited_size_limits(void **state) {
    test_server ts;
    em_http_server_opts o = {.limits = {.max_start_line = SIZE_MAX,
                                        .max_header_bytes = SIZE_MAX,
                                        .max_headers = SIZE_MAX,
                                        .max_chunk_ext = SIZE_MAX,
                                        .max_trailer_bytes = SIZE_MAX,
                                        .max_trailers = SIZE_MAX}};
    start(&ts, &o, h_count_headers);
    static char req[32 * 1024];
    static char path[10 * 1024], value[16 * 1024];
    memset(path, 'p', sizeof path - 1);
    memset(value, 'v', sizeof value - 1);
    int n = snprintf(req, sizeof req,
                     "GET /%s HTTP/1.1\r\nHost: a\r\nX-Big: %s\r\nX-A: 1\r\nX-B: 2\r\n\r\n", path,
                     value);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    ts_send(fd, req, (size_t)n);
    ts_pump(&ts, fd, &in, pred_done, NULL, 3000);
    assert_memory_equal(in.buf, "HTTP/1.1 200 ", 13);
    assert_non_null(strstr(in.buf, "\r\n\r\nheaders=4 path=10240"));
    close(fd);
    ts_stop(&ts);
}

/* ---- 11: a large answer from the body callback ------------------------------- */

enum { LARGE = 200 * 1024 }; /* over the 64 KiB a burst takes: sent in pieces */
static char *large;

/* Answers the first piece with a large body; cx ends with that call. */
static void on_piece_answer_large(em_http_ctx *cx, em_slice piece, int status) {
    g.pieces++;
    if (status < 0) {
        g.body_err++;
        return;
    }
    if (g.fired) {
        g.cb_inside++; /* a call for a cx that ended */
        return;
    }
    g.fired = 1;
    g.rc = em_http_respond(cx, 200, EM_SLICE_LIT("application/octet-stream"),
                           em_slice_make(large, LARGE));
}

static void h_body_answer_large(em_http_ctx *cx, const em_http_handler *h) {
    g.handled++;
    em_http_defer(cx, &abort_cbs);
    g.rc2 = em_http_body_read(cx, on_piece_answer_large);
}

/* Defect 11: em_http_respond with a large body from the body callback
 * ends cx, but the pipeline goes on cutting pieces from what is buffered
 * and calls the body callback again for the ended cx; the last piece
 * then marks the exchange held again, so the rest of the answer is never
 * sent. */
static void test_large_answer_from_body_callback(void **state) {
    large = malloc(LARGE);
    assert_non_null(large);
    for (size_t i = 0; i < LARGE; i++)
        large[i] = pat(i);
    test_server ts;
    em_http_server_opts o = {.stream_bodies = true};
    start(&ts, &o, h_body_answer_large);
    int fd = ts_connect(&ts);
    /* Three chunks in one packet: three pieces in one pass. */
    TS_SEND(fd, "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                "3\r\nabc\r\n3\r\ndef\r\n3\r\nghi\r\n0\r\n\r\n");
    bulk b = {.cap = LARGE + 4096};
    b.buf = malloc(b.cap);
    assert_non_null(b.buf);
    bulk_read(&ts, fd, &b, SIZE_MAX, 3000);
    assert_int_equal(g.rc2, 0);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.cb_inside, 0);
    assert_int_equal(g.pieces, 1);
    assert_int_equal(g.aborted, 0);
    const char *end = memmem(b.buf, b.len, "\r\n\r\n", 4);
    assert_non_null(end);
    size_t head = (size_t)(end + 4 - b.buf);
    assert_memory_equal(b.buf, "HTTP/1.1 200 ", 13);
    assert_non_null(memmem(b.buf, head, "Connection: close\r\n", 19));
    assert_int_equal(b.len, head + LARGE);
    assert_memory_equal(b.buf + head, large, LARGE);
    free(b.buf);
    free(large);
    close(fd);
    ts_stop(&ts);
}

/* ---- 12: a graceful shutdown started by a handler that answered -------------- */

static void h_answer_then_shutdown(em_http_ctx *cx, const em_http_handler *h) {
    g.handled++;
    g.rc = em_http_respond_text(cx, 200, "bye\n");
    em_http_server_shutdown(cx->server, ts_on_closed);
}

/* Defect 12: a handler answers, then starts the shutdown (an admin
 * route's "/quit"). The answer still sits in the burst, the connection
 * looks idle, and the shutdown closes it at once: the answer is lost. */
static void test_shutdown_from_handler_keeps_answer(void **state) {
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o, h_answer_then_shutdown);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    send_get(fd, "/quit");
    ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 3000);
    assert_int_equal(g.handled, 1);
    assert_int_equal(g.rc, 0);
    assert_memory_equal(in.buf, "HTTP/1.1 200 ", 13);
    assert_non_null(strstr(in.buf, "\r\n\r\nbye\n"));
    close(fd);
    wait_closed(&ts);
}

/* ---- 13: pipelined requests behind a deferred large answer ------------------- */

static void answer_first_large(void) {
    g.fired++;
    g.rc = em_http_respond(g.cxs[1], 200, EM_SLICE_LIT("application/octet-stream"),
                           em_slice_make(large, LARGE));
}

/* /1 is held and answered late with a large body; the rest at once. */
static void h_first_held(em_http_ctx *cx, const em_http_handler *h) {
    g.handled++;
    if (cx->path.len == 2 && cx->path.ptr[1] == '1') {
        g.cxs[1] = cx;
        em_http_defer(cx, &abort_cbs);
        g.fire = answer_first_large;
        em_timer_start(&g.timer, 30, 0);
        return;
    }
    em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), cx->path);
}

/* Pipelined requests behind a deferred one are answered after it, in
 * order, also when its answer goes out in pieces. */
static void test_pipelined_behind_deferred_large(void **state) {
    large = malloc(LARGE);
    assert_non_null(large);
    for (size_t i = 0; i < LARGE; i++)
        large[i] = pat(i);
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o, h_first_held);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
                "GET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    bulk b = {.cap = LARGE + 8192};
    b.buf = malloc(b.cap);
    assert_non_null(b.buf);
    bulk_read(&ts, fd, &b, SIZE_MAX, 3000);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.handled, 3);
    const char *end = memmem(b.buf, b.len, "\r\n\r\n", 4);
    assert_non_null(end);
    size_t head = (size_t)(end + 4 - b.buf);
    assert_true(b.len > head + LARGE);
    assert_memory_equal(b.buf + head, large, LARGE);
    const char *rest = b.buf + head + LARGE;
    size_t rlen = b.len - head - LARGE;
    const char *two = memmem(rest, rlen, "\r\n\r\n/2", 6);
    const char *three = memmem(rest, rlen, "\r\n\r\n/3", 6);
    assert_non_null(two);
    assert_non_null(three);
    assert_true(two < three);
    assert_int_equal(g.aborted, 0);
    free(b.buf);
    free(large);
    close(fd);
    ts_stop(&ts);
}

/* ---- 14: a shutdown with deferred requests ------------------------------------ */

static void h_defer_numbered_maybe_cbs(em_http_ctx *cx, const em_http_handler *h) {
    size_t n = (size_t)(cx->path.ptr[1] - '0');
    g.cxs[n] = cx;
    g.handled++;
    em_http_defer(cx, n % 2 ? &abort_cbs : NULL);
}

/* At the shutdown deadline each held request ends once: those with an
 * on_abort through it, the others at the handler's next call, which may
 * come after the server closed. Nothing leaks. */
static void test_shutdown_with_deferred(void **state) {
    test_server ts;
    em_http_server_opts o = {.shutdown_timeout_ms = 50};
    start(&ts, &o, h_defer_numbered_maybe_cbs);
    int fds[4];
    for (int i = 0; i < 4; i++) {
        char target[8];
        snprintf(target, sizeof target, "/%d", i);
        fds[i] = ts_connect(&ts);
        send_get(fds[i], target);
    }
    wait_handled(&ts, 4);
    em_http_server_shutdown(&ts.srv, ts_on_closed);
    if (!run_until(&ts, &ts.closed, 1, 3000))
        fail_msg("the server did not drain");
    run_for(&ts, 20);
    assert_int_equal(g.aborted, 2);
    assert_int_equal(em_http_respond_text(g.cxs[0], 200, "late\n"), EM_ECLOSED);
    g.rc = em_http_stream_start(g.cxs[2], 200, EM_SLICE_LIT("text/plain"), 5, NULL);
    assert_int_equal(g.rc, EM_ECLOSED);
    em_loop_run(&ts.loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&ts.loop), 0);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
}

/* ---- 15: em_http_stream_end with the queue full --------------------------------- */

/* Streams until the queue is exactly full (FULL ignored), then ends. */
static void stream_to_max_then_end(void) {
    g.fired++;
    em_http_ctx *cx = g.cx;
    g.rc = stream_start(cx, 200, EM_SLICE_LIT("application/octet-stream"), &abort_cbs);
    int rc = 0;
    for (int i = 0; !g.rc && rc != EM_ENOBUFS && i < 4096; i++)
        rc = em_http_stream_write(cx, em_slice_make(chunk, 64 * 1024), NULL);
    assert_int_equal(rc, EM_ENOBUFS);
    /* One chunk whose framing ("<hex>\r\n" data "\r\n") fills what is left. */
    em_tcp_conn *t = em_http_conn_tcp(cx->conn);
    size_t room = t->_max_queue - t->_queued;
    size_t n = 0;
    while (n < room) {
        char hex[32];
        size_t cost = (size_t)snprintf(hex, sizeof hex, "%zx", n) + 4 + n;
        if (cost == room)
            break;
        n++;
    }
    assert_true(n < room && n <= sizeof chunk);
    g.write_rc = em_http_stream_write(cx, em_slice_make(chunk, n), NULL);
    assert_true(g.write_rc == 0 || g.write_rc == EM_HTTP_FULL);
    assert_int_equal(t->_queued, t->_max_queue);
    g.rc2 = em_http_stream_end(cx); /* cx ends, whatever it returns */
    g.ended = 1;
}

static void h_defer_stream_to_max(em_http_ctx *cx, const em_http_handler *h) {
    g.cx = cx;
    g.handled++;
    em_http_defer(cx, &abort_cbs);
    g.fire = stream_to_max_then_end;
    em_timer_start(&g.timer, 20, 0);
}

/* Defect 15: em_http_stream_end on a queue filled to max_queue could not
 * queue the last chunk: it returned EM_ENOBUFS, which it does not
 * document, and cx did not end, so on_abort ran later for a cx the
 * handler had been told was over. */
static void test_stream_end_on_full_queue(void **state) {
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o, h_defer_stream_to_max);
    memset(chunk, 'c', sizeof chunk);
    int fd = slow_client(&ts); /* a client that does not read */
    send_get(fd, "/stream");
    wait_handled(&ts, 1);
    if (!run_until(&ts, &g.ended, 1, 3000))
        fail_msg("the timer did not fire");
    assert_int_equal(g.rc, 0);
    if (g.rc2 != 0 && g.rc2 != EM_ECLOSED && g.rc2 != EM_EINVAL && g.rc2 != EM_ENOBUFS)
        fail_msg("em_http_stream_end returned %s", em_err_name(g.rc2));
    rst_close(fd);
    run_for(&ts, 100);
    assert_int_equal(g.aborted, 0); /* cx ended with em_http_stream_end */
    assert_int_equal(em_http_server_connections(&ts.srv), 0);
    ts_stop(&ts);
}

/* ---- 16: a shutdown while an answer goes out in pieces -------------------------- */

enum { HUGE = 12 * 1024 * 1024 }; /* more than the kernel's buffers hold */

static void h_huge(em_http_ctx *cx, const em_http_handler *h) {
    g.handled++;
    g.rc = em_http_respond(cx, 200, EM_SLICE_LIT("application/octet-stream"),
                           em_slice_make(large, HUGE));
}

/* Defect 16: a graceful shutdown starts while a large answer, begun
 * before it, is still going out (its head said keep-alive). Once it is
 * sent, the connection went back to idle with a keep-alive timer and
 * stayed open until the shutdown deadline, instead of closing then. */
static void test_shutdown_while_sending_closes_after(void **state) {
    large = malloc(HUGE);
    assert_non_null(large);
    memset(large, 'l', HUGE);
    test_server ts;
    em_http_server_opts o = {.shutdown_timeout_ms = 8000};
    start(&ts, &o, h_huge);
    int fd = slow_client(&ts); /* reads nothing until the shutdown began */
    send_get(fd, "/large");
    wait_handled(&ts, 1);
    run_for(&ts, 20);
    em_http_server_shutdown(&ts.srv, ts_on_closed);
    bulk b = {0};
    /* The answer is out: the server ends the connection now, not at the
     * deadline (8 s). */
    bulk_read(&ts, fd, &b, SIZE_MAX, 4000);
    assert_int_equal(g.rc, 0);
    assert_true(b.len > HUGE);
    close(fd);
    if (!run_until(&ts, &ts.closed, 1, 1000))
        fail_msg("the server did not drain");
    em_loop_run(&ts.loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&ts.loop), 0);
    free(large);
}

/* ---- 17: a connection lost inside another connection's flush ---------------- */

/* Responses made while one connection's input is processed wait in the
 * loop's burst buffer; a call that answers a request of another connection
 * claims the buffer and flushes them first. When that flush fails, the
 * first connection closes inside the call on the other one, while its own
 * handler is still on the stack. */

enum { FILL = 1024 * 1024 }; /* streamed to Y: far more than its kernel buffers take */

/* The timer: answer Y's /1 with a stream of FILL bytes, ended at once; the
 * connection's queue stays past its high watermark (the client does not
 * read), and the pipeline goes on with /2. */
static void stream_fill_then_end(void) {
    g.fired++;
    em_http_ctx *cx = g.cxs[1];
    int rc = em_http_stream_start(cx, 200, EM_SLICE_LIT("application/octet-stream"), FILL, NULL);
    for (size_t off = 0; !rc && off < FILL; off += sizeof chunk) {
        rc = em_http_stream_write(cx, em_slice_make(chunk, sizeof chunk), NULL);
        rc = rc == EM_HTTP_FULL ? 0 : rc; /* FULL ignored: the queue takes FILL */
    }
    g.write_rc = rc;
    g.rc = rc ? rc : em_http_stream_end(cx);
}

/* /x (connection X): held. /1 (Y): held, answered by the timer. POST /2
 * (Y, behind /1): held without on_abort and answered with a body sent in
 * pieces; Y is throttled, so none of it is written and its head waits in
 * the burst. Then it answers X, whose claim of the burst flushes Y's head;
 * that write fails, Y closes, and the handler of /2 is still running. */
static void h_lost_in_other_flush(em_http_ctx *cx, const em_http_handler *h) {
    g.handled++;
    if (em_slice_eq(cx->path, EM_SLICE_LIT("/x"))) {
        g.cxs[0] = cx;
        em_http_defer(cx, &abort_cbs);
        return;
    }
    if (em_slice_eq(cx->path, EM_SLICE_LIT("/1"))) {
        g.cxs[1] = cx;
        em_http_defer(cx, NULL);
        /* A small send buffer (autotuning off): the queue keeps the rest. */
        int small = 4096;
        int fd = em_tcp_conn_fd(em_http_conn_tcp(cx->conn));
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
        g.fire = stream_fill_then_end;
        em_timer_start(&g.timer, 20, 0);
        return;
    }
    g.cxs[2] = cx;
    em_http_defer(cx, NULL); /* no on_abort: the rule's case 2 */
    em_tcp_conn *t = em_http_conn_tcp(cx->conn);
    g.body_ok = em_tcp_conn_throttled(t);
    /* Y's queue is full: the next write to Y fails (EM_ENOBUFS), as it
     * does for a client that stopped reading long ago. */
    assert_int_equal(em_tcp_conn_set_limits(t, 0, 0, 1), 0);
    g.rc2 = em_http_respond(cx, 200, EM_SLICE_LIT("application/octet-stream"),
                            em_slice_make(large, LARGE));
    g.cxs[1] = g.cxs[2] = NULL; /* both ended: no pointer left to hide a leak */
    unsigned before = em_http_server_connections(cx->server);
    g.in_call = 1;
    g.write_rc = em_http_respond_text(g.cxs[0], 200, "x\n");
    g.in_call = 0;
    g.pieces = (int)(before - em_http_server_connections(cx->server)); /* Y closed inside */
}

/* Defect 17: the exchange of /2 is deferred without on_abort, answered
 * (cx is over for the handler) with a body still to go out in pieces, and
 * its connection closes while its handler runs (inside the answer to
 * another connection). When the handler returned, the exchange was taken
 * for one still held, waiting for a call of the handler's to end it
 * (case 2 of the rule); none comes, and it leaked with its copy of the
 * body (LeakSanitizer reports it at exit). */
static void test_lost_in_other_flush_while_sending(void **state) {
    large = malloc(LARGE);
    assert_non_null(large);
    memset(large, 'l', LARGE);
    memset(chunk, 'c', sizeof chunk);
    test_server ts;
    em_http_server_opts o = {.stream_bodies = true, .high_watermark = 64 * 1024};
    start(&ts, &o, h_lost_in_other_flush);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int x = ts_connect(&ts);
    send_get(x, "/x");
    wait_handled(&ts, 1);
    int y = slow_client(&ts); /* reads nothing */
    TS_SEND(y, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
               "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nz");
    wait_handled(&ts, 3);
    assert_int_equal(g.fired, 1);
    assert_int_equal(g.rc, 0);
    if (!g.body_ok)
        fail_msg("Y was not throttled when /2 ran: the test proves nothing");
    assert_int_equal(g.rc2, 0); /* cx ended for the handler */
    assert_int_equal(g.write_rc, 0);
    assert_int_equal(g.pieces, 1);
    ts_wait_responses(&ts, x, &in, 1);
    assert_non_null(strstr(in.buf, "\r\n\r\nx\n"));
    run_for(&ts, 50);
    assert_int_equal(g.aborted, 0);
    assert_int_equal(em_http_server_connections(&ts.srv), 1); /* X */
    close(x);
    close(y);
    ts_stop(&ts);
    free(large);
}

static int reset_fd; /* the client of Y, reset by the handler */

/* /x (X): held. /s (Y): a stream begun (its head waits in the burst) for
 * a cx held without on_abort; the client of Y resets; then the handler
 * answers X, whose claim of the burst flushes Y's head into the reset. */
static void h_stream_lost_in_other_flush(em_http_ctx *cx, const em_http_handler *h) {
    g.handled++;
    if (em_slice_eq(cx->path, EM_SLICE_LIT("/x"))) {
        g.cxs[0] = cx;
        em_http_defer(cx, &abort_cbs);
        return;
    }
    g.cx = cx;
    g.rc = stream_start(cx, 200, EM_SLICE_LIT("text/plain"), NULL);
    rst_close(reset_fd);
    poll(NULL, 0, 20); /* the reset lands (loopback) */
    unsigned before = em_http_server_connections(cx->server);
    g.write_rc = em_http_respond_text(g.cxs[0], 200, "x\n");
    g.pieces = (int)(before - em_http_server_connections(cx->server)); /* Y closed inside */
}

/* The streamed half of defect 17, which was right: a stream held without
 * on_abort whose connection is reset inside the answer to another
 * connection stays the handler's until its next call, which returns
 * EM_ECLOSED and ends it; nothing leaks, nothing is freed twice. */
static void test_stream_lost_in_other_flush(void **state) {
    test_server ts;
    em_http_server_opts o = {0};
    start(&ts, &o, h_stream_lost_in_other_flush);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int x = ts_connect(&ts);
    send_get(x, "/x");
    wait_handled(&ts, 1);
    reset_fd = ts_connect(&ts);
    send_get(reset_fd, "/s");
    wait_handled(&ts, 2);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.write_rc, 0);
    if (g.pieces != 1)
        fail_msg("Y did not close inside the answer to X: the test proves nothing");
    ts_wait_responses(&ts, x, &in, 1);
    assert_non_null(strstr(in.buf, "\r\n\r\nx\n"));
    run_for(&ts, 50);
    assert_int_equal(em_http_stream_write(g.cx, EM_SLICE_LIT("late"), NULL), EM_ECLOSED);
    g.cx = NULL; /* ended by that call */
    assert_int_equal(g.aborted, 0);
    assert_int_equal(em_http_server_connections(&ts.srv), 1); /* X */
    close(x);
    ts_stop(&ts);
}

/* ---- 18: a cx held past the server's end ------------------------------------- */

static void free_server(em_http_server *srv) {
    g.ended = 1;
    free(srv); /* "the server may be freed there" */
}

/* Defect 18: a request held without on_abort outlives its server (the
 * shutdown deadline closed its connection, then the server was freed in
 * the shutdown's callback); the handler's next call ends it with
 * EM_ECLOSED (case 2 of the rule), and it may need the loop first, for
 * the timer it answers from. em_http_ctx_loop read the loop through
 * cx->server, freed by then (ASan: heap-use-after-free). The exchange
 * keeps its own loop pointer now. */
static void test_ctx_loop_after_server_freed(void **state) {
    memset(&g, 0, sizeof g);
    handler = (em_http_handler){h_defer_numbered_maybe_cbs, NULL, NULL};
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_http_server *srv = calloc(1, sizeof *srv);
    assert_non_null(srv);
    em_http_server_opts o = {.handler = &handler, .shutdown_timeout_ms = 30};
    o = ts_opts(&o);
    em_sockaddr any = em_sockaddr_loopback4(0);
    assert_int_equal(em_http_server_start(&loop, srv, &any, &o), 0);
    test_server ts; /* only its addr, for ts_connect */
    assert_int_equal(em_http_server_addr(srv, &ts.addr), 0);
    int fd = ts_connect(&ts);
    send_get(fd, "/0"); /* held without callbacks */
    EM_TEST_RUN_UNTIL(&loop, g.handled == 1, 3000);
    em_http_ctx *cx = g.cxs[0];
    assert_ptr_equal(em_http_ctx_loop(cx), &loop);
    em_http_server_shutdown(srv, free_server);
    EM_TEST_RUN_UNTIL(&loop, g.ended, 3000);
    assert_ptr_equal(em_http_ctx_loop(cx), &loop);
    assert_int_equal(em_http_respond_text(cx, 200, "late\n"), EM_ECLOSED);
    g.cxs[0] = NULL; /* ended by that call */
    close(fd);
    em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_abort_on_reset_while_deferred),
        cmocka_unit_test(test_abort_on_close_while_deferred),
        cmocka_unit_test(test_respond_after_reset_while_shutting_down),
        cmocka_unit_test(test_respond_after_reset_with_full_pool),
        cmocka_unit_test(test_respond_inside_on_abort),
        cmocka_unit_test(test_respond_inside_body_error),
        cmocka_unit_test(test_stream_start_after_reset),
        cmocka_unit_test(test_stream_write_runs_no_callback),
        cmocka_unit_test(test_respond_refuses_header_injection),
        cmocka_unit_test(test_stream_start_refuses_header_injection),
        cmocka_unit_test(test_prebuilt_refuses_header_injection),
        cmocka_unit_test(test_encoded_slash_refused),
        cmocka_unit_test(test_encoded_slash_allowed_by_option),
        cmocka_unit_test(test_respond_over_max_queue),
        cmocka_unit_test(test_tiny_chunks_within_limit),
        cmocka_unit_test(test_tiny_chunks_over_limit),
        cmocka_unit_test(test_unlimited_max_body),
        cmocka_unit_test(test_unlimited_size_limits),
        cmocka_unit_test(test_large_answer_from_body_callback),
        cmocka_unit_test(test_shutdown_from_handler_keeps_answer),
        cmocka_unit_test(test_pipelined_behind_deferred_large),
        cmocka_unit_test(test_shutdown_with_deferred),
        cmocka_unit_test(test_stream_end_on_full_queue),
        cmocka_unit_test(test_shutdown_while_sending_closes_after),
        cmocka_unit_test(test_lost_in_other_flush_while_sending),
        cmocka_unit_test(test_stream_lost_in_other_flush),
        cmocka_unit_test(test_ctx_loop_after_server_freed),
    };
    const char *only = getenv("EM_TEST_FILTER");
    if (only)
        cmocka_set_test_filter(only);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Request bodies streamed to the handler in pieces (stream_bodies). */
#include <stdlib.h>

#include "http_server_util.h"

typedef struct sink {
    uint64_t bytes, sum;
    int pieces, aborted, abort_err;
    bool early; /* answer at once, never read the body */
} sink;
static sink sk;

static void on_piece(em_http_ctx *cx, em_slice piece, int status) {
    if (status < 0) {
        sk.aborted++; /* cx is released after this returns */
        sk.abort_err = status;
        return;
    }
    bool last = status == EM_HTTP_LAST;
    sk.pieces++;
    sk.bytes += piece.len;
    for (size_t i = 0; i < piece.len; i++)
        sk.sum += (unsigned char)piece.ptr[i];
    if (last) {
        char body[64];
        int n = snprintf(body, sizeof body, "got %llu", (unsigned long long)sk.bytes);
        em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), em_slice_make(body, (size_t)n));
    }
}

/* Never called while the body streams: the body callback hears of it. */
static void on_abort(em_http_ctx *cx, int err) { fail_msg("on_abort during a body"); }
static const em_http_stream_cbs cbs = { .on_abort = on_abort };

static void h_upload(em_http_ctx *cx, const em_http_handler *h) {
    if (cx->req.body == EM_HTTP_BODY_NONE) {
        em_http_respond_text(cx, 200, "no body");
        return;
    }
    assert_int_equal(cx->body.len, 0);
    /* The path survives the head being moved out of the input. */
    assert_true(cx->path.len >= 1 && cx->path.ptr[0] == '/');
    if (sk.early) {
        em_http_respond_text(cx, 413, "too big for me");
        return;
    }
    em_http_defer(cx, &cbs);
    assert_int_equal(em_http_body_read(cx, on_piece), 0);
    assert_int_equal(em_http_body_read(cx, on_piece), EM_EINVAL); /* once */
}
static const em_http_handler handler = { h_upload, NULL, NULL };

static void start(test_server *ts) {
    memset(&sk, 0, sizeof sk);
    em_http_server_opts o = { .handler = &handler, .stream_bodies = true,
                              .limits = { .max_body = 64u * 1024 * 1024 } };
    ts_start(ts, &o);
}

static void test_content_length_pieces(void **state) {
    test_server ts;
    start(&ts);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    enum { N = 3 * 1024 * 1024 };
    char head[128];
    int hn = snprintf(head, sizeof head, "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", N);
    ts_send(fd, head, (size_t)hn);
    static char blk[64 * 1024];
    uint64_t want_sum = 0;
    for (size_t i = 0; i < sizeof blk; i++)
        blk[i] = (char)(i * 7);
    for (size_t i = 0; i < sizeof blk; i++)
        want_sum += (unsigned char)blk[i];
    want_sum *= N / sizeof blk;
    /* Interleave sending and serving: the body never sits whole in memory. */
    for (int sent = 0; sent < N; sent += (int)sizeof blk) {
        ts_send(fd, blk, sizeof blk);
        for (int i = 0; i < 4; i++)
            em_loop_run(&ts.loop, EM_RUN_NOWAIT);
    }
    TS_SEND(fd, "GET /after HTTP/1.1\r\nHost: a\r\n\r\n"); /* keep-alive goes on */
    ts_wait_responses(&ts, fd, &in, 2);
    assert_int_equal(sk.bytes, N);
    assert_int_equal(sk.sum, want_sum);
    assert_true(sk.pieces > 1);
    assert_non_null(strstr(in.buf, "got 3145728"));
    assert_non_null(strstr(in.buf, "no body"));
    close(fd);
    ts_stop(&ts);
}

static void test_chunked_pieces(void **state) {
    test_server ts;
    start(&ts);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    for (int i = 0; i < 10; i++)
        em_loop_run(&ts.loop, EM_RUN_NOWAIT);
    TS_SEND(fd, "6\r\n world\r\n0\r\n\r\n");
    ts_wait_responses(&ts, fd, &in, 1);
    assert_int_equal(sk.bytes, 11);
    assert_non_null(strstr(in.buf, "got 11"));
    close(fd);
    ts_stop(&ts);
}

static void test_early_answer_closes(void **state) {
    test_server ts;
    start(&ts);
    sk.early = true;
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\nabc");
    for (int i = 0; i < 20 && !strstr(in.buf, "\r\n\r\n"); i++)
        ts_pump(&ts, fd, &in, ts_pred_responses, &(int){ 1 }, 3000);
    assert_memory_equal(in.buf, "HTTP/1.1 413 ", 13);
    assert_non_null(strstr(in.buf, "Connection: close\r\n"));
    close(fd);
    ts_stop(&ts);
}

static int count_100(const ts_in *in) {
    int n = 0;
    for (const char *p = in->buf; (p = strstr(p, "HTTP/1.1 100 Continue\r\n\r\n")); p++)
        n++;
    return n;
}
static int pred_100s(ts_in *in, void *arg) {
    return count_100(in) >= *(int *)arg;
}

/* RFC 9110 §10.1.1: every upload that expects it gets its 100 Continue
 * (each of several on one connection), and only once the handler asks for
 * the body: an answer given at once goes without one. */
static void test_expect_continue(void **state) {
    test_server ts;
    start(&ts);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
#define UP "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    for (int i = 1; i <= 3; i++) {
        TS_SEND(fd, UP);
        ts_pump(&ts, fd, &in, pred_100s, &i, 3000); /* before any body byte */
        TS_SEND(fd, "hello");
        ts_wait_responses(&ts, fd, &in, i);
        sk.bytes = 0;
    }
    assert_int_equal(count_100(&in), 3);
    close(fd);
    sk.early = true;
    memset(&in, 0, sizeof in);
    fd = ts_connect(&ts);
    TS_SEND(fd, UP);
    ts_wait_responses(&ts, fd, &in, 1);
    assert_memory_equal(in.buf, "HTTP/1.1 413 ", 13); /* no 100 first */
    close(fd);
    ts_stop(&ts);
#undef UP
}

static void test_client_gone_mid_body(void **state) {
    test_server ts;
    start(&ts);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\npartial");
    for (int i = 0; i < 20; i++)
        em_loop_run(&ts.loop, EM_RUN_NOWAIT);
    close(fd);
    EM_TEST_RUN_UNTIL(&ts.loop, sk.aborted == 1, 3000);
    assert_int_equal(sk.abort_err, EM_EUNEXPECTEDEOF);
    assert_int_equal(sk.bytes, 7);
    ts_stop(&ts);
}

/* A body that turns out malformed while it streams gets the status a whole
 * body would (400 for a bad chunk, 413 past max_body) before the close, as
 * long as the handler has not answered yet; the handler hears the error. */
static void test_bad_body_mid_stream(void **state) {
    static const struct {
        const char *req;
        const char *status;
        int err;
    } cases[] = {
        {"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3x\r\n",
         "400", EM_EBADCHUNK},
        {"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
         "ffffffffffff\r\nabc",
         "413", EM_EBODYTOOLARGE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        test_server ts;
        start(&ts);
        ts_expect_status(&ts, cases[i].req, cases[i].status, true);
        EM_TEST_RUN_UNTIL(&ts.loop, sk.aborted == 1, 3000);
        assert_int_equal(sk.abort_err, cases[i].err);
        assert_int_equal(sk.bytes, 3);
        ts_stop(&ts);
    }
}

/* RFC 9110 §15.5.9: a body that stalls before the handler answered gets
 * the 408 a whole body would get (then the close); the handler hears
 * EM_ETIMEDOUT through its body callback. */
static void test_slow_body_408(void **state) {
    test_server ts;
    memset(&sk, 0, sizeof sk);
    em_http_server_opts o = { .handler = &handler, .stream_bodies = true, .body_timeout_ms = 50 };
    ts_start(&ts, &o);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 3000);
    assert_memory_equal(in.buf, "HTTP/1.1 408 ", 13);
    assert_non_null(strstr(in.buf, "Connection: close\r\n"));
    EM_TEST_RUN_UNTIL(&ts.loop, sk.aborted == 1, 3000);
    assert_int_equal(sk.abort_err, EM_ETIMEDOUT);
    assert_int_equal(sk.bytes, 3);
    close(fd);
    ts_stop(&ts);
}

/* An absolute-form target with no path gets "/" (not in the input): moving
 * the head must leave that slice alone (found by fuzz/http_server). */
static void test_absolute_form_without_path(void **state) {
    test_server ts;
    start(&ts);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "POST http://example.com HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nabc");
    ts_wait_responses(&ts, fd, &in, 1);
    assert_non_null(strstr(in.buf, "got 3"));
    close(fd);
    ts_stop(&ts);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_length_pieces),
        cmocka_unit_test(test_chunked_pieces),
        cmocka_unit_test(test_early_answer_closes),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_bad_body_mid_stream),
        cmocka_unit_test(test_client_gone_mid_body),
        cmocka_unit_test(test_slow_body_408),
        cmocka_unit_test(test_absolute_form_without_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

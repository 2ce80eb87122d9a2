/* Streaming responses: chunked framing, the HTTP/1.0 fallback (a body
 * delimited by the close), and a client that never reads (the server must
 * say EM_HTTP_FULL, then time out). */
#include <stdlib.h>

#include "http_server_util.h"

typedef struct streamer {
    int chunks; /* still to send; -1: forever */
    size_t chunk_len;
    uint64_t written; /* bytes accepted by em_http_stream_write */
    int throttled, aborted, abort_err, fallback;
    em_http_ctx *cx;
} streamer;

static streamer st;
static char payload[64 * 1024];

static void pump(em_http_ctx *cx) {
    while (st.chunks != 0) {
        int rc = em_http_stream_write(cx, em_slice_make(payload, st.chunk_len), NULL);
        if (rc == EM_ECLOSED)
            return; /* the client is gone: cx ended with this call */
        assert_true(rc == 0 || rc == EM_HTTP_FULL);
        st.written += st.chunk_len;
        if (st.chunks > 0)
            st.chunks--;
        if (rc == EM_HTTP_FULL) {
            st.throttled++;
            return; /* on_unthrottled goes on */
        }
    }
    if (st.chunks == 0) {
        assert_int_equal(em_http_stream_end(cx), 0);
        st.cx = NULL;
    }
}

static void on_unthrottled(em_http_ctx *cx) {
    pump(cx);
}
static void on_abort(em_http_ctx *cx, int err) {
    st.aborted++;
    st.abort_err = err;
    st.cx = NULL;
}
static const em_http_stream_cbs cbs = {NULL, on_unthrottled, on_abort};

static void h_stream(em_http_ctx *cx, const em_http_handler *h) {
    int rc =
        em_http_stream_start(cx, 200, EM_SLICE_LIT("text/plain"), EM_HTTP_LENGTH_UNKNOWN, &cbs);
    assert_int_equal(rc, 0);
    assert_int_equal(em_http_stream_start(cx, 200, EM_SLICE_LIT(""), EM_HTTP_LENGTH_UNKNOWN, &cbs),
                     EM_EALREADY);
    st.cx = cx;
    pump(cx);
}

static const em_http_handler handler = {h_stream, NULL, NULL};

static void test_chunked_stream(void **state) {
    memset(&st, 0, sizeof st);
    memset(payload, 'z', sizeof payload);
    st.chunks = 10;
    st.chunk_len = 1000;
    test_server ts;
    em_http_server_opts o = {.handler = &handler};
    ts_start(&ts, &o);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "GET /s HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_wait_responses(&ts, fd, &in, 1);
    assert_non_null(strstr(in.buf, "Transfer-Encoding: chunked\r\n"));
    assert_null(strstr(in.buf, "Content-Length"));
    /* De-chunk and check the body. */
    char *body = strstr(in.buf, "\r\n\r\n") + 4;
    em_http_chunked ch;
    memset(&ch, 0, sizeof ch);
    em_http_chunked_init(&ch, NULL);
    size_t off = 0, total = 0, len = in.len - (size_t)(body - in.buf);
    while (!em_http_chunked_done(&ch)) {
        em_slice d;
        ssize_t n = em_http_chunked_decode(&ch, body + off, len - off, &d);
        assert_true(n > 0);
        for (size_t i = 0; i < d.len; i++)
            assert_int_equal(d.ptr[i], 'z');
        total += d.len;
        off += (size_t)n;
    }
    assert_int_equal(total, 10000);
    /* The connection stays usable after the stream. */
    memset(&in, 0, sizeof in);
    st.chunks = 1;
    TS_SEND(fd, "GET /s HTTP/1.1\r\nHost: a\r\n\r\n");
    ts_wait_responses(&ts, fd, &in, 1);
    close(fd);
    ts_stop(&ts);
}

/* HTTP/1.0 has no chunked coding: the same stream reaches it as a body
 * delimited by the close (RFC 9112 §6.3), with no special case in the
 * handler. */
static void test_http10_fallback(void **state) {
    memset(&st, 0, sizeof st);
    memset(payload, 'z', sizeof payload);
    st.chunks = 10;
    st.chunk_len = 1000;
    test_server ts;
    em_http_server_opts o = {.handler = &handler};
    ts_start(&ts, &o);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "GET /s HTTP/1.0\r\n\r\n");
    ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 3000);
    const char *body = strstr(in.buf, "\r\n\r\n");
    assert_non_null(body);
    assert_null(strstr(in.buf, "Transfer-Encoding"));
    assert_null(strstr(in.buf, "Content-Length"));
    assert_non_null(strstr(in.buf, "Connection: close\r\n"));
    assert_int_equal(in.len - (size_t)(body + 4 - in.buf), 10000);
    close(fd);
    ts_stop(&ts);
}

/* The client never reads: the handler is throttled long before it could
 * have written the 1 GiB it wants, and the write timeout ends it. */
static void test_client_never_reads(void **state) {
    memset(&st, 0, sizeof st);
    st.chunks = -1;
    st.chunk_len = sizeof payload;
    test_server ts;
    em_http_server_opts o = {.handler = &handler, .write_timeout_ms = 150};
    ts_start(&ts, &o);
    int fd = ts_connect(&ts);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    TS_SEND(fd, "GET /s HTTP/1.1\r\nHost: a\r\n\r\n");
    EM_TEST_RUN_UNTIL(&ts.loop, st.aborted, 5000);
    assert_true(st.throttled >= 1);
    assert_int_equal(st.abort_err, EM_ETIMEDOUT);
    /* Socket buffers plus the 1 MiB high watermark plus one chunk. */
    assert_true(st.written < 16u * 1024 * 1024);
    close(fd);
    ts_stop(&ts);
}

/* A handler that writes a small chunk every millisecond from a timer, so
 * the queue stays empty and a reset surfaces as a failed write. */
static em_timer ticker;
static int closed_by_call;
static void on_tick(em_timer *t) {
    em_http_ctx *cx = t->data;
    assert_int_equal(st.aborted, 0); /* after on_abort, cx is not ours */
    int rc = em_http_stream_write(cx, em_slice_make(payload, 1000), NULL);
    if (rc < 0) {
        assert_int_equal(rc, EM_ECLOSED); /* the ownership rule, case 2 */
        closed_by_call++;
        em_timer_stop(t);
    }
}
static void on_abort_tick(em_http_ctx *cx, int err) {
    st.aborted++;
    em_timer_stop(&ticker); /* the ownership rule, case 3 */
    /* Calls inside on_abort say EM_ECLOSED and free nothing. */
    assert_int_equal(em_http_stream_write(cx, EM_SLICE_LIT("x"), NULL), EM_ECLOSED);
    assert_int_equal(em_http_stream_end(cx), EM_ECLOSED);
}
static const em_http_stream_cbs tick_cbs = {.on_abort = on_abort_tick};
static void h_ticking(em_http_ctx *cx, const em_http_handler *h) {
    assert_int_equal(em_http_stream_start(cx, 200, EM_SLICE_LIT("text/plain"),
                                          EM_HTTP_LENGTH_UNKNOWN, &tick_cbs),
                     0);
    em_timer_init(h->data, &ticker, on_tick);
    ticker.data = cx;
    em_timer_start(&ticker, 1, 1);
}

/* The client resets mid-stream: cx ends exactly once, by on_abort or by a
 * write that returns EM_ECLOSED, and is never touched after. */
static void test_client_resets(void **state) {
    memset(&st, 0, sizeof st);
    closed_by_call = 0;
    test_server ts;
    em_loop *loop = &ts.loop;
    static em_http_handler ticking = {h_ticking, NULL, NULL};
    ticking.data = loop;
    em_http_server_opts o = {.handler = &ticking};
    ts_start(&ts, &o);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "GET /s HTTP/1.1\r\nHost: a\r\n\r\n");
    static ts_in in;
    memset(&in, 0, sizeof in);
    ts_pump(&ts, fd, &in, ts_pred_responses, &(int){0}, 10);
    while (in.len < 10000) {
        em_loop_run(&ts.loop, EM_RUN_NOWAIT);
        ssize_t n = ts_recv(fd, in.buf, sizeof in.buf);
        if (n > 0)
            in.len += (size_t)n;
    }
    struct linger lg = {1, 0}; /* close with RST, unread data pending */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    EM_TEST_RUN_UNTIL(&ts.loop, !em_timer_active(&ticker), 5000);
    assert_int_equal(st.aborted + closed_by_call, 1);
    ts_stop(&ts);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunked_stream),
        cmocka_unit_test(test_http10_fallback),
        cmocka_unit_test(test_client_never_reads),
        cmocka_unit_test(test_client_resets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

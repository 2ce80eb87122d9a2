/* ws/frame_buf.c: one frame encoded once, sent to several connections
 * with no copy, its references held until each send left. */
#include "ws_conn_util.h"

static void test_broadcast(void **state) {
    (void)state;
    enum { N = 4 };
    harness h[N];
    em_ws_frame_buf *fb;
    static char big[50000];
    memset(big, 'q', sizeof big);
    assert_int_equal(em_ws_frame_buf_new(&fb, EM_WS_OP_TEXT, EM_SLICE_LIT("\xc0"), false),
                     EM_EPARSE);
    assert_int_equal(em_ws_frame_buf_new(&fb, EM_WS_OP_PING, EM_SLICE_LIT("x"), false), EM_EINVAL);
    assert_int_equal(
        em_ws_frame_buf_new(&fb, EM_WS_OP_BINARY, em_slice_make(big, sizeof big), false), 0);
    for (int i = 0; i < N; i++) {
        h_init(&h[i], EM_WS_ROLE_SERVER);
        h_start_opts(&h[i], NULL, 4096); /* small socket buffers: the frame stays queued */
        h_run_ms(&h[i], 1);
        uint64_t tok;
        int rc = em_ws_send_frame_buf(h[i].ws, fb, &tok);
        assert_true(rc == 0 || rc == EM_WS_FULL);
        assert_true(tok > 0);
    }
    /* Only the connections hold it now. */
    em_ws_frame_buf_release(fb);
    for (int i = 0; i < N; i++) {
        em_slice s;
        em_ws_frame f;
        assert_int_equal(h_read_frame(&h[i], &s, &f, 3000), EM_WS_OP_BINARY);
        assert_true(f.fin);
        assert_int_equal(f.rsv, 0);
        assert_int_equal(s.len, sizeof big);
        assert_memory_equal(s.ptr, big, sizeof big);
        h_finish(&h[i]);
    }
}

static void test_client_refused(void **state) {
    (void)state;
    harness h;
    h_init(&h, EM_WS_ROLE_CLIENT);
    h_start(&h);
    h_run_ms(&h, 1);
    em_ws_frame_buf *fb;
    assert_int_equal(em_ws_frame_buf_new(&fb, EM_WS_OP_TEXT, EM_SLICE_LIT("hi"), false), 0);
    assert_int_equal(em_ws_send_frame_buf(h.ws, fb, NULL), EM_EINVAL);
    em_ws_frame_buf_retain(fb);
    em_ws_frame_buf_release(fb);
    em_ws_frame_buf_release(fb);
    h_finish(&h);
}

/* A connection that closes with the frame still queued drops its
 * reference (ASan: nothing leaks). */
static void test_closed_with_frame_queued(void **state) {
    (void)state;
    harness h;
    h_init(&h, EM_WS_ROLE_SERVER);
    h_start_opts(&h, NULL, 4096);
    h_run_ms(&h, 1);
    static char big[200000];
    em_ws_frame_buf *fb;
    assert_int_equal(
        em_ws_frame_buf_new(&fb, EM_WS_OP_BINARY, em_slice_make(big, sizeof big), false), 0);
    int rc = em_ws_send_frame_buf(h.ws, fb, NULL);
    assert_true(rc == 0 || rc == EM_WS_FULL);
    em_ws_frame_buf_release(fb);
    assert_true(em_ws_queued(h.ws) > 0);
    em_ws_abort(h.ws);
    h_finish(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broadcast),
        cmocka_unit_test(test_client_refused),
        cmocka_unit_test(test_closed_with_frame_queued),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

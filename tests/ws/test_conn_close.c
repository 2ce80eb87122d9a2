/* ws/conn_close.c: the close handshake from either side on both ends,
 * EOF and reset, the close, idle and auto-ping timeouts, abort, server
 * shutdown. */
#include "ws_conn_util.h"

static int peer_close_code(harness *h, uint8_t *buf, int code, const char *reason) {
    char p[125];
    p[0] = (char)(code >> 8);
    p[1] = (char)code;
    size_t n = strlen(reason);
    memcpy(p + 2, reason, n);
    size_t len = h_frame(h, buf, 0x88, p, n + 2);
    h_send(h, buf, len);
    return (int)len;
}

/* We close first; the peer answers; the server ends TCP, the client
 * waits for the server's FIN. */
static void test_close_initiated(void **state) {
    (void)state;
    for (int role = 0; role < 2; role++) {
        harness h;
        h_init(&h, role);
        h_start(&h);
        h_run_ms(&h, 2);
        assert_int_equal(em_ws_close(h.ws, 4001, EM_SLICE_LIT("bye")), 0);
        assert_int_equal(h.closed, 0); /* never inside the call */
        assert_int_equal(em_ws_close(h.ws, 1000, EM_SLICE_LIT("")), EM_ECLOSED);
        assert_int_equal(em_ws_send_text(h.ws, EM_SLICE_LIT("x"), NULL), EM_ECLOSED);
        assert_int_equal(em_ws_ping(h.ws, EM_SLICE_LIT("")), EM_ECLOSED);
        em_slice s;
        assert_int_equal(h_read_frame(&h, &s, NULL, 2000), EM_WS_OP_CLOSE);
        assert_true(em_slice_eq(s, EM_SLICE_LIT("\x0f\xa1"
                                                "bye")));
        /* messages sent before the peer's close still arrive */
        h_send_frame(&h, 0x81, "late", 4);
        uint8_t b[64];
        peer_close_code(&h, b, 4001, "ok");
        if (role == EM_WS_ROLE_SERVER) {
            h_expect_eof(&h, 2000);
        } else {
            h_run_ms(&h, 20);
            assert_int_equal(h.closed, 0); /* waits for the server's FIN */
        }
        h_finish(&h);
        assert_int_equal(h.nmsgs, 1);
        assert_int_equal(h.peer_closed, 0);
        assert_int_equal(h.close_code, 4001);
        assert_int_equal(h.close_err, 0);
        assert_string_equal(h.reason, "ok");
    }
}

/* RFC 6455 §5.5.2: a ping is answered "unless it already received a
 * Close frame": after sending ours, the peer's pings still get pongs until
 * its close comes (§5.5.1 stops only data frames). */
static void test_ping_after_our_close(void **state) {
    (void)state;
    for (int role = 0; role < 2; role++) {
        harness h;
        h_init(&h, role);
        h_start(&h);
        h_run_ms(&h, 2);
        assert_int_equal(em_ws_close(h.ws, 1001, EM_SLICE_LIT("")), 0);
        em_slice s;
        assert_int_equal(h_read_frame(&h, &s, NULL, 2000), EM_WS_OP_CLOSE);
        h_send_frame(&h, 0x89, "still there?", 12);
        assert_int_equal(h_read_frame(&h, &s, NULL, 2000), EM_WS_OP_PONG);
        assert_true(em_slice_eq(s, EM_SLICE_LIT("still there?")));
        uint8_t b[64];
        peer_close_code(&h, b, 1001, "");
        if (role == EM_WS_ROLE_SERVER)
            h_expect_eof(&h, 2000);
        h_finish(&h);
        assert_int_equal(h.close_code, 1001);
        assert_int_equal(h.close_err, 0);
    }
}

/* The peer closes first, with and without a code. */
static void test_close_by_peer(void **state) {
    (void)state;
    for (int role = 0; role < 2; role++) {
        for (int empty = 0; empty < 2; empty++) {
            harness h;
            h_init(&h, role);
            h_start(&h);
            uint8_t b[64];
            if (empty)
                h_send_frame(&h, 0x88, NULL, 0);
            else
                peer_close_code(&h, b, 1000, "done");
            int code = h_expect_close(&h, empty ? 1005 : 1000);
            (void)code;
            h_until(&h, &h.peer_closed, 1, 2000);
            assert_int_equal(h.peer_close_code, empty ? 1005 : 1000);
            assert_int_equal(em_ws_send_text(h.ws, EM_SLICE_LIT("x"), NULL), EM_ECLOSED);
            if (role == EM_WS_ROLE_SERVER)
                h_expect_eof(&h, 2000);
            h_finish(&h);
            assert_int_equal(h.close_code, empty ? 1005 : 1000);
            assert_int_equal(h.close_err, 0);
            assert_string_equal(h.reason, empty ? "" : "done");
        }
    }
}

/* Fill the write queue to max_queue with small messages, so that what
 * room is left is less than a close frame. */
static void fill_queue(harness *h) {
    static const char kib[1024];
    int rc;
    while ((rc = em_ws_send_binary(h->ws, em_slice_make(kib, sizeof kib), NULL)) != EM_ENOBUFS)
        assert_true(rc == 0 || rc == EM_WS_FULL);
    while ((rc = em_ws_send_binary(h->ws, EM_SLICE_LIT("xy"), NULL)) != EM_ENOBUFS)
        assert_true(rc == 0 || rc == EM_WS_FULL);
}

/* Read the data frames ahead of the close; returns the close's code. */
static int close_after_data(harness *h) {
    em_slice s;
    int op;
    while ((op = h_read_frame(h, &s, NULL, 3000)) == EM_WS_OP_BINARY)
        ;
    assert_int_equal(op, EM_WS_OP_CLOSE);
    return (uint8_t)s.ptr[0] << 8 | (uint8_t)s.ptr[1];
}

/* RFC 6455 §7.1.2 and §5.5.1: starting or answering the closing handshake
 * MUST send a close frame. A queue full of data (a peer that reads
 * slowly: what em_ws_send's EM_ENOBUFS tells the application to close
 * for) must not refuse it, nor turn the close into a reset. */
static void test_close_with_full_queue(void **state) {
    (void)state;
    for (int role = 0; role < 2; role++) {
        for (int ours = 0; ours < 2; ours++) {
            harness h;
            h_init(&h, role);
            h.opts.max_queue = 64 * 1024;
            h_start_opts(&h, NULL, 4096);
            h_run_ms(&h, 2);
            fill_queue(&h);
            uint8_t b[64];
            if (ours)
                assert_int_equal(em_ws_close(h.ws, 1008, EM_SLICE_LIT("reading too slowly")), 0);
            else
                peer_close_code(&h, b, 1000, "");
            h_run_ms(&h, 5);
            assert_int_equal(close_after_data(&h), ours ? 1008 : 1000);
            if (ours)
                peer_close_code(&h, b, 1008, "");
            if (role == EM_WS_ROLE_SERVER)
                h_expect_eof(&h, 2000);
            h_finish(&h);
            assert_int_equal(h.close_code, ours ? 1008 : 1000);
            assert_int_equal(h.close_err, 0);
        }
    }
}

static void test_peer_eof_and_reset(void **state) {
    (void)state;
    for (int role = 0; role < 2; role++) {
        harness h;
        h_init(&h, role);
        h_start(&h);
        h_send_frame(&h, 0x01, "part", 4); /* a message left open */
        h_run_ms(&h, 5);
        h_finish(&h);
        assert_int_equal(h.close_code, 1006);
        assert_int_equal(h.close_err, EM_EUNEXPECTEDEOF);

        h_init(&h, role);
        h_start(&h);
        h_run_ms(&h, 2);
        /* unread bytes at the peer's close make a reset */
        assert_int_equal(em_ws_send_text(h.ws, EM_SLICE_LIT("unread"), NULL), 0);
        h_run_ms(&h, 5);
        struct linger lg = {1, 0};
        setsockopt(h.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        h_finish(&h);
        assert_int_equal(h.close_code, 1006);
        assert_true(h.close_err < 0);
    }
}

static void test_close_timeout(void **state) {
    (void)state;
    for (int role = 0; role < 2; role++) {
        harness h;
        h_init(&h, role);
        h.opts.close_timeout_ms = 80;
        h_start(&h);
        h_run_ms(&h, 2);
        uint64_t t0 = h_ms();
        assert_int_equal(em_ws_close(h.ws, 1000, EM_SLICE_LIT("")), 0);
        h_expect_close(&h, 1000);
        h_until(&h, &h.closed, 1, 2000); /* the peer never answers */
        uint64_t took = h_ms() - t0;
        assert_int_equal(h.closed, 1);
        assert_true(took >= 70 && took < 1000);
        assert_int_equal(h.close_code, 1000);
        assert_int_equal(h.close_err, EM_ETIMEDOUT);
        h_expect_eof(&h, 1000);
        h_finish(&h);
    }
    /* A server whose close answer the peer never reads nor follows with a
     * FIN: the close timeout ends it too. */
    harness h;
    h_init(&h, EM_WS_ROLE_SERVER);
    h.opts.close_timeout_ms = 80;
    h_start(&h);
    h_send_frame(&h, 0x88, "\x03\xe8", 2);
    h_until(&h, &h.closed, 1, 2000);
    assert_int_equal(h.closed, 1);
    assert_int_equal(h.close_code, 1000);
    assert_int_equal(h.close_err, 0);
    h_finish(&h);
}

static void test_idle_timeout(void **state) {
    (void)state;
    harness h;
    h_init(&h, EM_WS_ROLE_SERVER);
    h.opts.idle_timeout_ms = 100;
    h_start(&h);
    /* traffic keeps it alive */
    for (int i = 0; i < 6; i++) {
        h_run_ms(&h, 40);
        h_send_frame(&h, 0x89, "k", 1);
    }
    assert_int_equal(h.closed, 0);
    uint64_t t0 = h_ms();
    h_until(&h, &h.closed, 1, 2000);
    uint64_t took = h_ms() - t0;
    assert_int_equal(h.closed, 1);
    assert_true(took >= 60 && took < 1000);
    assert_int_equal(h.close_code, 1006);
    assert_int_equal(h.close_err, EM_ETIMEDOUT);
    h_finish(&h);
}

static void test_auto_ping(void **state) {
    (void)state;
    for (int role = 0; role < 2; role++) {
        harness h;
        h_init(&h, role);
        h.opts.ping_interval_ms = 40;
        h.opts.ping_timeout_ms = 60;
        h_start(&h);
        /* answered pings keep it open */
        for (int i = 0; i < 3; i++) {
            em_slice s;
            assert_int_equal(h_read_frame(&h, &s, NULL, 2000), EM_WS_OP_PING);
            h_send_frame(&h, 0x8A, s.ptr, s.len);
        }
        h_until(&h, &h.pongs, 3, 1000);
        assert_int_equal(h.closed, 0);
        assert_int_equal(h.pongs, 3);
        /* then a ping nobody answers */
        em_slice s;
        assert_int_equal(h_read_frame(&h, &s, NULL, 2000), EM_WS_OP_PING);
        uint64_t t0 = h_ms();
        h_until(&h, &h.closed, 1, 2000);
        assert_int_equal(h.closed, 1);
        assert_true(h_ms() - t0 < 1000);
        assert_int_equal(h.close_code, 1006);
        assert_int_equal(h.close_err, EM_ETIMEDOUT);
        h_finish(&h);
    }
}

static void test_abort(void **state) {
    (void)state;
    harness h;
    h_init(&h, EM_WS_ROLE_SERVER);
    h_start(&h);
    h_run_ms(&h, 2);
    em_ws_abort(h.ws);
    assert_int_equal(h.closed, 0);
    em_ws_abort(h.ws); /* twice: nothing more */
    h_until(&h, &h.closed, 1, 2000);
    assert_int_equal(h.close_code, 1006);
    assert_int_equal(h.close_err, EM_ECANCELED);
    h_expect_eof(&h, 1000); /* no close frame */
    h_finish(&h);
}

static void test_close_args(void **state) {
    (void)state;
    harness h;
    h_init(&h, EM_WS_ROLE_SERVER);
    h_start(&h);
    h_run_ms(&h, 2);
    static const int bad[] = {0, 999, 1002, 1004, 1005, 1006, 1015, 2999, 5000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(em_ws_close(h.ws, bad[i], EM_SLICE_LIT("")), EM_EINVAL);
    char r[124];
    memset(r, 'r', sizeof r);
    assert_int_equal(em_ws_close(h.ws, 1000, em_slice_make(r, 124)), EM_EINVAL);
    assert_int_equal(em_ws_close(h.ws, 1000, EM_SLICE_LIT("\xc0")), EM_EINVAL);
    assert_int_equal(em_ws_close(h.ws, 1000, em_slice_make(r, 123)), 0);
    em_slice s;
    assert_int_equal(h_read_frame(&h, &s, NULL, 2000), EM_WS_OP_CLOSE);
    assert_int_equal(s.len, 125);
    h_finish(&h);
    assert_int_equal(h.close_code, 1000);
}

/* Server shutdown: graceful sends 1001 and waits; at the deadline, drops. */
static void test_shutdown(void **state) {
    (void)state;
    harness h;
    h_init(&h, EM_WS_ROLE_SERVER);
    h_start(&h);
    h_run_ms(&h, 2);
    em__ws_on_shutdown(&h.ws->up, false);
    h_expect_close(&h, 1001);
    h_run_ms(&h, 10);
    assert_int_equal(h.closed, 0);
    em__ws_on_shutdown(&h.ws->up, true);
    h_until(&h, &h.closed, 1, 2000);
    assert_int_equal(h.close_code, 1001);
    assert_int_equal(h.close_err, EM_ECANCELED);
    h_finish(&h);

    h_init(&h, EM_WS_ROLE_SERVER);
    h_start(&h);
    h_run_ms(&h, 2);
    em__ws_on_shutdown(&h.ws->up, true);
    h_until(&h, &h.closed, 1, 2000);
    assert_int_equal(h.close_code, 1006);
    assert_int_equal(h.close_err, EM_ECANCELED);
    h_finish(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_close_initiated),
        cmocka_unit_test(test_close_by_peer),
        cmocka_unit_test(test_close_with_full_queue),
        cmocka_unit_test(test_peer_eof_and_reset),
        cmocka_unit_test(test_close_timeout),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_auto_ping),
        cmocka_unit_test(test_abort),
        cmocka_unit_test(test_close_args),
        cmocka_unit_test(test_shutdown),
        cmocka_unit_test(test_ping_after_our_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

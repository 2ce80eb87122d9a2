/* Async connect: success over IPv4 and IPv6, refusal, writes and a
 * shutdown issued before the connection is up. */
#include "tcp_test_util.h"

typedef struct cc {
    em_tcp_conn c;
    int status, calls, closed;
} cc;

static void cc_on_read(em_tcp_conn *c, ssize_t n) {}
static const em_tcp_conn_cbs cc_cbs = {.on_read = cc_on_read};

static void cc_on_connect(em_tcp_conn *c, int status) {
    cc *x = EM_CONTAINER_OF(c, cc, c);
    x->status = status;
    x->calls++;
}
static void cc_on_close(em_tcp_conn *c) {
    EM_CONTAINER_OF(c, cc, c)->closed++;
}

static void connect_and_talk(bool v6) {
    em_tcp_listener l;
    em_sockaddr addr;
    if (!tt_listen(&l, &addr, v6)) {
        skip();
        return;
    }
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    cc x = {0};
    assert_int_equal(em_tcp_conn_connect(&loop, &x.c, &addr, &cc_cbs, NULL, cc_on_connect), 0);
    assert_int_equal(xt_maybe_attach(&x.c), 0);
    /* Written and shut down while connecting: queued, sent once connected. */
    em_slice s = EM_SLICE_LIT("early bytes");
    assert_int_equal(em_tcp_conn_write(&x.c, &s, 1, 0, NULL), 0);
    assert_int_equal(em_tcp_conn_shutdown(&x.c), 0);
    assert_int_equal(x.calls, 0); /* never synchronous */
    EM_TEST_RUN_UNTIL(&loop, x.calls == 1 && em_tcp_conn_queued(&x.c) == 0, 10000);
    assert_int_equal(x.status, 0);

    em_tcp_stream peer;
    em_sockaddr from, local;
    assert_int_equal(em_tcp_accept(&l, &peer, &from, 5000), 0);
    assert_int_equal(em_sock_local_addr(em_tcp_conn_fd(&x.c), &local), 0);
    assert_true(em_sockaddr_equal(&from, &local));
    char buf[32];
    size_t got = 0;
    xt_peer p;
    xt_peer_init(&p, peer.fd);
    for (;;) {
        ssize_t n = xt_peer_read(&p, buf + got, sizeof buf - got);
        if (n == 0)
            break;
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_int_equal(got, s.len);
    assert_memory_equal(buf, s.ptr, s.len);
    assert_int_equal(em_tcp_stream_close(&peer), 0);
    em_tcp_listener_close(&l);

    em_tcp_conn_close(&x.c, cc_on_close);
    EM_TEST_RUN_UNTIL(&loop, x.closed == 1, 5000);
    assert_int_equal(em_loop_close(&loop), 0);
}

static void test_connect_v4(void **state) {
    connect_and_talk(false);
}
static void test_connect_v6(void **state) {
    connect_and_talk(true);
}

static void test_connect_refused(void **state) {
    em_tcp_listener l;
    em_sockaddr addr;
    tt_listen(&l, &addr, false);
    em_tcp_listener_close(&l);
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    cc x = {0};
    int err = em_tcp_conn_connect(&loop, &x.c, &addr, &cc_cbs, NULL, cc_on_connect);
    if (err == 0) {
        EM_TEST_RUN_UNTIL(&loop, x.calls == 1, 10000);
        assert_int_equal(x.status, EM_ECONNREFUSED);
        /* The failed socket is no longer watched: the loop does not spin
         * and has only the connection itself to close. */
        em_tcp_conn_close(&x.c, cc_on_close);
        EM_TEST_RUN_UNTIL(&loop, x.closed == 1, 5000);
    } else {
        assert_int_equal(err, EM_ECONNREFUSED); /* refused at once: nothing to close */
    }
    assert_int_equal(em_loop_close(&loop), 0);
}

static void test_connect_close_while_connecting(void **state) {
    em_tcp_listener l;
    em_sockaddr addr;
    tt_listen(&l, &addr, false);
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    cc x = {0};
    assert_int_equal(em_tcp_conn_connect(&loop, &x.c, &addr, &cc_cbs, NULL, cc_on_connect), 0);
    em_tcp_conn_close(&x.c, cc_on_close);
    EM_TEST_RUN_UNTIL(&loop, x.closed == 1, 5000);
    assert_int_equal(x.calls, 0); /* no connect callback after close */
    assert_int_equal(em_loop_close(&loop), 0);
    em_tcp_listener_close(&l);
}

static void test_connect_bad_args(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    cc x = {0};
    em_sockaddr addr = em_sockaddr_loopback4(1);
    assert_int_equal(em_tcp_conn_connect(&loop, &x.c, NULL, &cc_cbs, NULL, cc_on_connect),
                     EM_EINVAL);
    assert_int_equal(em_tcp_conn_connect(&loop, &x.c, &addr, &cc_cbs, NULL, NULL), EM_EINVAL);
    assert_int_equal(em_loop_close(&loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_v4),
        cmocka_unit_test(test_connect_v6),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_connect_close_while_connecting),
        cmocka_unit_test(test_connect_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

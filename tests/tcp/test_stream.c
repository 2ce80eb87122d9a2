/* Blocking streams: echo over IPv4 and IPv6, refused and timed-out
 * connects, read timeouts, half-close, em_reader over a tcp stream. */
#include "tcp_test_util.h"

typedef struct echo_peer {
    em_tcp_listener l;
    pthread_t th;
    int result; /* bytes echoed, or an error */
} echo_peer;

static void *echo_main(void *arg) {
    echo_peer *p = arg;
    em_tcp_stream s;
    p->result = em_tcp_accept(&p->l, &s, NULL, 10000);
    if (p->result)
        return NULL;
    char buf[4096];
    int total = 0;
    for (;;) {
        ssize_t n = em_tcp_stream_read(&s, buf, sizeof buf);
        if (n == EM_EOF)
            break;
        if (n < 0) {
            p->result = (int)n;
            break;
        }
        if (em_tcp_stream_write(&s, buf, (size_t)n) != 0) {
            p->result = EM_EIO;
            break;
        }
        total += (int)n;
    }
    if (p->result == 0)
        p->result = total;
    em_tcp_stream_close(&s);
    return NULL;
}

static void echo_roundtrip(bool v6) {
    echo_peer p;
    em_sockaddr addr;
    if (!tt_listen(&p.l, &addr, v6)) {
        skip();
        return;
    }
    assert_int_equal(pthread_create(&p.th, NULL, echo_main, &p), 0);

    em_tcp_stream s;
    assert_int_equal(em_tcp_connect(&s, &addr, 5000), 0);
    assert_int_equal(em_tcp_stream_set_timeouts(&s, 10000, 10000), 0);
    char big[100000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = tt_pat(i);
    /* Interleave: 1000-byte round trips so neither side's buffers fill. */
    for (size_t off = 0; off < sizeof big; off += 1000) {
        assert_int_equal(em_tcp_stream_write(&s, big + off, 1000), 0);
        char back[1000];
        size_t got = 0;
        while (got < sizeof back) {
            ssize_t n = em_tcp_stream_read(&s, back + got, sizeof back - got);
            assert_true(n > 0);
            got += (size_t)n;
        }
        assert_memory_equal(back, big + off, sizeof back);
    }
    assert_int_equal(em_tcp_stream_shutdown(&s), 0);
    char c;
    assert_int_equal(em_tcp_stream_read(&s, &c, 1), EM_EOF);
    assert_int_equal(em_tcp_stream_close(&s), 0);
    assert_int_equal(em_tcp_stream_close(&s), 0); /* double close is a no-op */
    pthread_join(p.th, NULL);
    assert_int_equal(p.result, (int)sizeof big);
    em_tcp_listener_close(&p.l);
}

static void test_echo_v4(void **state) {
    echo_roundtrip(false);
}
static void test_echo_v6(void **state) {
    echo_roundtrip(true);
}

static void test_connect_refused(void **state) {
    em_tcp_listener l;
    em_sockaddr addr;
    tt_listen(&l, &addr, false);
    em_tcp_listener_close(&l); /* the port is now closed */
    em_tcp_stream s;
    assert_int_equal(em_tcp_connect(&s, &addr, 5000), EM_ECONNREFUSED);
    assert_int_equal(s.fd, -1);
}

/* A listener whose accept queue is full drops SYNs, so a connect to it
 * hangs until our timeout (no traffic leaves loopback). */
static void test_connect_timeout(void **state) {
    em_tcp_listen_opts o = {.backlog = 1, .reuseaddr = true};
    em_tcp_listener l;
    em_sockaddr a = em_sockaddr_loopback4(0), addr;
    assert_int_equal(em_tcp_listen(&l, &a, &o), 0);
    assert_int_equal(em_tcp_listener_addr(&l, &addr), 0);
    em_tcp_stream s[16];
    int n = 0, err = 0;
    for (; n < 16; n++) {
        err = em_tcp_connect(&s[n], &addr, 300);
        if (err)
            break;
    }
    assert_int_equal(err, EM_ETIMEDOUT);
    assert_true(n >= 1);
    for (int i = 0; i < n; i++)
        assert_int_equal(em_tcp_stream_close(&s[i]), 0);
    em_tcp_listener_close(&l);
}

static void test_read_timeout(void **state) {
    int a, b;
    tt_pair(&a, &b);
    em_tcp_stream s;
    em_tcp_stream_from_fd(&s, a);
    assert_int_equal(em_tcp_stream_set_timeouts(&s, 50, 0), 0);
    char buf[8];
    assert_int_equal(em_tcp_stream_read(&s, buf, sizeof buf), EM_ETIMEDOUT);
    /* The stream still works after a timeout. */
    assert_int_equal(write(b, "x", 1), 1);
    assert_int_equal(em_tcp_stream_read(&s, buf, sizeof buf), 1);
    assert_int_equal(buf[0], 'x');
    assert_int_equal(em_tcp_stream_set_timeouts(&s, -1, 0), EM_EINVAL);
    assert_int_equal(em_tcp_stream_close(&s), 0);
    close(b);
}

static void test_write_to_closed_peer(void **state) {
    int a, b;
    tt_pair(&a, &b);
    em_tcp_stream s;
    em_tcp_stream_from_fd(&s, a);
    close(b);
    /* No SIGPIPE: the error comes back as a value. */
    char buf[65536] = {0};
    int err = 0;
    for (int i = 0; i < 1000 && !err; i++)
        err = em_tcp_stream_write(&s, buf, sizeof buf);
    assert_true(err == EM_EPIPE || err == EM_ECONNRESET);
    assert_int_equal(em_tcp_stream_close(&s), 0);
}

static void test_reader_over_stream(void **state) {
    int a, b;
    tt_pair(&a, &b);
    em_tcp_stream s;
    em_tcp_stream_from_fd(&s, a);
    const char msg[] = "first line\r\nsecond\nab";
    assert_int_equal(write(b, msg, sizeof msg - 1), (ssize_t)(sizeof msg - 1));
    assert_int_equal(shutdown(b, SHUT_WR), 0);

    em_reader r;
    em_reader_init(&r, em_tcp_stream_as_stream(&s), 0);
    em_slice line;
    assert_int_equal(em_reader_read_line(&r, 100, &line), 10);
    assert_memory_equal(line.ptr, "first line", 10);
    assert_int_equal(em_reader_read_line(&r, 100, &line), 6);
    assert_memory_equal(line.ptr, "second", 6);
    char two[2];
    assert_int_equal(em_reader_read_exact(&r, two, 2), 0);
    assert_memory_equal(two, "ab", 2);
    assert_int_equal(em_reader_read_line(&r, 100, &line), EM_EOF);
    em_reader_free(&r);

    /* Writing through the vtable reaches the peer. */
    struct iovec iov[2] = {{(void *)"he", 2}, {(void *)"llo", 3}};
    assert_int_equal(em_stream_writev(em_tcp_stream_as_stream(&s), iov, 2), 5);
    char got[5];
    assert_int_equal(read(b, got, 5), 5);
    assert_memory_equal(got, "hello", 5);
    assert_int_equal(em_stream_close(em_tcp_stream_as_stream(&s)), 0);
    close(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_v4),
        cmocka_unit_test(test_echo_v6),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_read_timeout),
        cmocka_unit_test(test_write_to_closed_peer),
        cmocka_unit_test(test_reader_over_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

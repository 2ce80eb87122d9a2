/* Blocking streams: echo over IPv4 and IPv6, refused and timed-out
 * connects, read timeouts, half-close, em_reader over a tcp stream, and
 * timeouts that hold while signals interrupt the calls. */
#include <signal.h>
#include <stdlib.h>
#include <time.h>

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

/* ---- timeouts under signals ----------------------------------------------- */

/* A signal every 100 ms without SA_RESTART interrupts every blocking wait.
 * A call that restarted its full timeout after each one would never time
 * out while they come; they stop after 30 (3 s) so such a call fails the
 * test instead of hanging it. */
enum { SIG_EVERY_MS = 100, SIG_MAX = 30, CALL_TIMEOUT_MS = 300, CALL_LATE_MS = 2000 };
static timer_t sig_timer;
static volatile sig_atomic_t nsig;

static void on_alarm(int sig) {
    (void)sig;
    if (++nsig >= SIG_MAX) {
        struct itimerspec off = {{0, 0}, {0, 0}};
        timer_settime(sig_timer, 0, &off, NULL); /* async-signal-safe */
    }
}

static void signals_start(void) {
    nsig = 0;
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
    struct sigevent ev = {0};
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGALRM;
    assert_int_equal(timer_create(CLOCK_MONOTONIC, &ev, &sig_timer), 0);
    struct itimerspec it = {{0, SIG_EVERY_MS * 1000000L}, {0, SIG_EVERY_MS * 1000000L}};
    assert_int_equal(timer_settime(sig_timer, 0, &it, NULL), 0);
}

static void signals_stop(void) {
    assert_int_equal(timer_delete(sig_timer), 0);
    /* One may still be pending: ignore it rather than die of it. */
    struct sigaction sa = {0};
    sa.sa_handler = SIG_IGN;
    assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
}

static uint64_t ms_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A read on a silent peer times out near its deadline, signals or not. */
static void test_read_timeout_signals(void **state) {
    int a, b;
    tt_pair(&a, &b);
    em_tcp_stream s;
    em_tcp_stream_from_fd(&s, a);
    assert_int_equal(em_tcp_stream_set_timeouts(&s, CALL_TIMEOUT_MS, 0), 0);
    char buf[8];
    signals_start();
    uint64_t t0 = ms_now();
    ssize_t n = em_tcp_stream_read(&s, buf, sizeof buf);
    uint64_t took = ms_now() - t0;
    int got = nsig;
    signals_stop();
    assert_int_equal(n, EM_ETIMEDOUT);
    assert_true(got >= 1); /* the read was interrupted */
    assert_true(took >= CALL_TIMEOUT_MS - 10);
    assert_true(took < CALL_LATE_MS);
    /* The stream still works, and the timeout is still set. */
    assert_int_equal(write(b, "x", 1), 1);
    assert_int_equal(em_tcp_stream_read(&s, buf, sizeof buf), 1);
    assert_int_equal(em_tcp_stream_close(&s), 0);
    close(b);
}

/* A write to a peer that does not read times out near its deadline, even
 * though signals cut its blocking sends short (some of them partway). */
static void test_write_timeout_signals(void **state) {
    int a, b;
    tt_pair_bufs(&a, &b, 16 * 1024, 16 * 1024);
    em_tcp_stream s;
    em_tcp_stream_from_fd(&s, b); /* writes from a 16 KiB buffer to a's 16 KiB */
    assert_int_equal(em_tcp_stream_set_timeouts(&s, 0, CALL_TIMEOUT_MS), 0);
    size_t len = 8u << 20;
    char *big = calloc(1, len);
    assert_non_null(big);
    signals_start();
    uint64_t t0 = ms_now();
    int err = em_tcp_stream_write(&s, big, len);
    uint64_t took = ms_now() - t0;
    int got = nsig;
    signals_stop();
    free(big);
    assert_int_equal(err, EM_ETIMEDOUT);
    assert_true(got >= 1);
    assert_true(took >= CALL_TIMEOUT_MS - 10);
    assert_true(took < CALL_LATE_MS);
    assert_int_equal(em_tcp_stream_close(&s), 0);
    close(a);
}

/* A connect to a listener whose accept queue is full (SYNs dropped, as in
 * test_connect_timeout) times out near its deadline under signals. */
static void test_connect_timeout_signals(void **state) {
    em_tcp_listen_opts o = {.backlog = 1, .reuseaddr = true};
    em_tcp_listener l;
    em_sockaddr a = em_sockaddr_loopback4(0), addr;
    assert_int_equal(em_tcp_listen(&l, &a, &o), 0);
    assert_int_equal(em_tcp_listener_addr(&l, &addr), 0);
    em_tcp_stream s[16];
    int n = 0, err = 0, got = 0;
    uint64_t took = 0;
    for (; n < 16; n++) {
        signals_start();
        uint64_t t0 = ms_now();
        err = em_tcp_connect(&s[n], &addr, CALL_TIMEOUT_MS);
        took = ms_now() - t0;
        got = nsig;
        signals_stop();
        if (err)
            break;
    }
    assert_int_equal(err, EM_ETIMEDOUT);
    assert_true(got >= 1);
    assert_true(took >= CALL_TIMEOUT_MS - 10);
    assert_true(took < CALL_LATE_MS);
    for (int i = 0; i < n; i++)
        assert_int_equal(em_tcp_stream_close(&s[i]), 0);
    em_tcp_listener_close(&l);
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
        cmocka_unit_test(test_read_timeout_signals),
        cmocka_unit_test(test_write_timeout_signals),
        cmocka_unit_test(test_connect_timeout_signals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

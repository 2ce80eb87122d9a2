/* Blocking listeners: accept timeout, peer address, listen options, the
 * accept errors of one connection. */
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include "fake_accept.h"
#include "tcp_test_util.h"

static void test_accept_timeout(void **state) {
    em_tcp_listener l;
    em_sockaddr addr;
    tt_listen(&l, &addr, false);
    em_tcp_stream s;
    assert_int_equal(em_tcp_accept(&l, &s, NULL, 50), EM_ETIMEDOUT);
    assert_int_equal(s.fd, -1);
    assert_int_equal(em_tcp_accept(&l, &s, NULL, -1), EM_EINVAL);
    em_tcp_listener_close(&l);
    em_tcp_listener_close(&l); /* twice is harmless */
}

static void accept_peer(bool v6) {
    em_tcp_listener l;
    em_sockaddr addr;
    if (!tt_listen(&l, &addr, v6)) {
        skip();
        return;
    }
    /* The kernel completes the handshake from the backlog, so one thread
     * can connect and then accept. */
    em_tcp_stream c, s;
    assert_int_equal(em_tcp_connect(&c, &addr, 5000), 0);
    em_sockaddr peer, local;
    assert_int_equal(em_tcp_accept(&l, &s, &peer, 5000), 0);
    assert_int_equal(em_sock_local_addr(c.fd, &local), 0);
    assert_true(em_sockaddr_equal(&peer, &local));
    assert_int_equal(em_sockaddr_family(&peer), v6 ? AF_INET6 : AF_INET);
    /* The accepted stream is blocking and works both ways. */
    assert_int_equal(em_tcp_stream_write(&c, "ping", 4), 0);
    char buf[4];
    assert_int_equal(em_tcp_stream_read(&s, buf, 4), 4);
    assert_memory_equal(buf, "ping", 4);
    assert_int_equal(em_tcp_stream_close(&c), 0);
    assert_int_equal(em_tcp_stream_read(&s, buf, 4), EM_EOF);
    assert_int_equal(em_tcp_stream_close(&s), 0);
    em_tcp_listener_close(&l);
}

static void test_accept_peer_v4(void **state) {
    accept_peer(false);
}
static void test_accept_peer_v6(void **state) {
    accept_peer(true);
}

static void test_reuseport(void **state) {
    em_tcp_listen_opts o = {.reuseaddr = true, .reuseport = true};
    em_sockaddr a = em_sockaddr_loopback4(0), addr;
    em_tcp_listener l1, l2, l3;
    assert_int_equal(em_tcp_listen(&l1, &a, &o), 0);
    assert_int_equal(em_tcp_listener_addr(&l1, &addr), 0);
    assert_int_equal(em_tcp_listen(&l2, &addr, &o), 0); /* same port: shared */
    em_tcp_listen_opts plain = {.reuseaddr = true};
    assert_int_equal(em_tcp_listen(&l3, &addr, &plain), EM_EADDRINUSE);
    assert_int_equal(l3.fd, -1);
    em_tcp_listener_close(&l1);
    em_tcp_listener_close(&l2);
}

static void test_v6only(void **state) {
    em_tcp_listen_opts o = {.reuseaddr = true, .v6only = true};
    em_ip any6 = {.family = EM_IP_V6};
    em_sockaddr a6, got;
    em_sockaddr_from_ip(&a6, &any6, 0);
    em_tcp_listener l6, l4;
    int err = em_tcp_listen(&l6, &a6, &o);
    if (err == EM_EAFNOSUPPORT || err == EM_EADDRNOTAVAIL) {
        skip();
        return;
    }
    assert_int_equal(err, 0);
    assert_int_equal(em_tcp_listener_addr(&l6, &got), 0);
    /* With V6ONLY the IPv4 side of the port is still free. */
    em_sockaddr a4 = em_sockaddr_loopback4(em_sockaddr_port(&got));
    assert_int_equal(em_tcp_listen(&l4, &a4, NULL), 0);
    em_tcp_listener_close(&l4);
    em_tcp_listener_close(&l6);

    /* Without it the dual-stack listener holds the IPv4 port too. */
    o.v6only = false;
    assert_int_equal(em_tcp_listen(&l6, &a6, &o), 0);
    assert_int_equal(em_tcp_listener_addr(&l6, &got), 0);
    a4 = em_sockaddr_loopback4(em_sockaddr_port(&got));
    assert_int_equal(em_tcp_listen(&l4, &a4, NULL), EM_EADDRINUSE);
    em_tcp_listener_close(&l6);
}

static void test_bad_args(void **state) {
    em_tcp_listener l;
    em_sockaddr a = em_sockaddr_loopback4(0);
    em_tcp_listen_opts o = {.backlog = -1};
    assert_int_equal(em_tcp_listen(&l, &a, &o), EM_EINVAL);
    assert_int_equal(em_tcp_listen(&l, NULL, NULL), EM_EINVAL);
    em_tcp_stream s;
    assert_int_equal(em_tcp_connect(&s, NULL, 0), EM_EINVAL);
    assert_int_equal(em_tcp_connect(&s, &a, -5), EM_EINVAL);
}

/* Accepting on a closed listener (fd -1) is an error at once: poll()
 * ignores a negative fd, so it used to wait out the timeout, or forever. */
static void test_accept_closed(void **state) {
    em_tcp_listener l;
    em_sockaddr addr;
    tt_listen(&l, &addr, false);
    em_tcp_listener_close(&l);
    em_tcp_stream s;
    assert_int_equal(em_tcp_accept(&l, &s, NULL, 200), EM_ECLOSED);
    assert_int_equal(s.fd, -1);
}

/* The timeout bounds the whole call: signals (EINTR) arriving faster than
 * it must not restart it each time. */
static void on_usr1(int sig) {
    (void)sig;
}
typedef struct pester {
    pthread_t target;
    atomic_bool stop;
} pester;
static void *pester_main(void *arg) {
    pester *p = arg;
    for (int i = 0; i < 100 && !atomic_load(&p->stop); i++) { /* at most ~1 s */
        pthread_kill(p->target, SIGUSR1);
        usleep(10 * 1000);
    }
    return NULL;
}
static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_accept_timeout_with_signals(void **state) {
    em_tcp_listener l;
    em_sockaddr addr;
    tt_listen(&l, &addr, false);
    struct sigaction sa = {.sa_handler = on_usr1}, old; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
    pester p = {.target = pthread_self()};
    atomic_init(&p.stop, false);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, pester_main, &p), 0);
    em_tcp_stream s;
    uint64_t t0 = now_ms();
    assert_int_equal(em_tcp_accept(&l, &s, NULL, 100), EM_ETIMEDOUT);
    uint64_t took = now_ms() - t0;
    atomic_store(&p.stop, true);
    pthread_join(th, NULL);
    assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
    em_tcp_listener_close(&l);
    assert_true(took < 500);
}

/* accept(2) fails for one connection that went wrong before we took it
 * (aborted, refused by a firewall, a network error passed on): that is no
 * error of the listener, so em_tcp_accept waits for the next one. */
static void test_accept_skips_connection_errors(void **state) {
    em_tcp_listener l;
    em_sockaddr addr;
    tt_listen(&l, &addr, false);
    em_tcp_stream c, s;
    assert_int_equal(em_tcp_connect(&c, &addr, 5000), 0);
    static const int errs[] = {EPERM, EPROTO, ECONNABORTED, ENETUNREACH};
    script_accept_errors(errs, 4);
    assert_int_equal(em_tcp_accept(&l, &s, NULL, 5000), 0);
    assert_int_equal(naccept4, 5);
    assert_int_equal(em_tcp_stream_write(&c, "x", 1), 0);
    char b;
    assert_int_equal(em_tcp_stream_read(&s, &b, 1), 1);
    /* An error of the listener itself still ends the call. */
    em_tcp_stream c2, s2;
    assert_int_equal(em_tcp_connect(&c2, &addr, 5000), 0);
    static const int bad[] = {ENOBUFS};
    script_accept_errors(bad, 1);
    assert_int_equal(em_tcp_accept(&l, &s2, NULL, 5000), EM_ENOBUFS);
    assert_int_equal(s2.fd, -1);
    assert_int_equal(em_tcp_accept(&l, &s2, NULL, 5000), 0); /* c2 still waits */
    assert_int_equal(em_tcp_stream_close(&s2), 0);
    assert_int_equal(em_tcp_stream_close(&c2), 0);
    assert_int_equal(em_tcp_stream_close(&s), 0);
    assert_int_equal(em_tcp_stream_close(&c), 0);
    em_tcp_listener_close(&l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_timeout), cmocka_unit_test(test_accept_peer_v4),
        cmocka_unit_test(test_accept_peer_v6), cmocka_unit_test(test_reuseport),
        cmocka_unit_test(test_v6only),         cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_accept_closed),
        cmocka_unit_test(test_accept_timeout_with_signals),
        cmocka_unit_test(test_accept_skips_connection_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* udp/udp.c: sockets, options and single datagrams over loopback. */
#include <string.h>
#include <unistd.h>

#include "em_test.h"
#include "ember/udp.h"

/* Every blocking receive in these tests has a timeout, so a lost datagram
 * fails the test instead of hanging it. The value is generous on purpose:
 * nothing asserts on how long anything took. */
#define WAIT_MS 5000

static void bind_loopback(em_udp *u, int family) {
    em_sockaddr a = family == AF_INET ? em_sockaddr_loopback4(0) : em_sockaddr_loopback6(0);
    assert_int_equal(em_udp_bind(u, &a, NULL), 0);
    assert_true(u->fd >= 0);
    assert_int_equal(em_udp_set_timeout(u, WAIT_MS), 0);
}

/* ::1 may be missing in a container; those tests skip rather than fail. */
static bool have_ipv6(void) {
    em_udp u;
    em_sockaddr a = em_sockaddr_loopback6(0);
    if (em_udp_bind(&u, &a, NULL) < 0)
        return false;
    assert_int_equal(em_udp_close(&u), 0);
    return true;
}

static void roundtrip(int family) {
    em_udp srv, cli;
    bind_loopback(&srv, family);
    bind_loopback(&cli, family);
    em_sockaddr srv_addr, cli_addr, from;
    assert_int_equal(em_udp_local_addr(&srv, &srv_addr), 0);
    assert_int_equal(em_udp_local_addr(&cli, &cli_addr), 0);
    assert_int_equal(em_sockaddr_family(&srv_addr), family);
    assert_true(em_sockaddr_port(&srv_addr) != 0);

    assert_int_equal(em_udp_send_to(&cli, "hello", 5, &srv_addr), 5);
    char buf[64];
    memset(&from, 0xab, sizeof from);
    assert_int_equal(em_udp_recv_from(&srv, buf, sizeof buf, &from), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_true(em_sockaddr_equal(&from, &cli_addr));

    assert_int_equal(em_udp_send_to(&srv, "world!", 6, &from), 6);
    assert_int_equal(em_udp_recv_from(&cli, buf, sizeof buf, &from), 6);
    assert_memory_equal(buf, "world!", 6);
    assert_true(em_sockaddr_equal(&from, &srv_addr));

    assert_int_equal(em_udp_close(&cli), 0);
    assert_int_equal(em_udp_close(&srv), 0);
    assert_int_equal(srv.fd, -1);
}

static void test_roundtrip_v4(void **state) {
    (void)state;
    roundtrip(AF_INET);
}

static void test_roundtrip_v6(void **state) {
    (void)state;
    if (!have_ipv6())
        skip();
    roundtrip(AF_INET6);
}

static void test_unbound_open(void **state) {
    (void)state;
    em_udp srv, cli;
    bind_loopback(&srv, AF_INET);
    em_sockaddr srv_addr, from, cli_addr;
    assert_int_equal(em_udp_local_addr(&srv, &srv_addr), 0);
    assert_int_equal(em_udp_open(&cli, AF_INET, NULL), 0);
    /* The first send binds an ephemeral port. */
    assert_int_equal(em_udp_send_to(&cli, "x", 1, &srv_addr), 1);
    assert_int_equal(em_udp_local_addr(&cli, &cli_addr), 0);
    assert_true(em_sockaddr_port(&cli_addr) != 0);
    char c = 0;
    assert_int_equal(em_udp_recv_from(&srv, &c, 1, &from), 1);
    assert_int_equal(c, 'x');
    assert_int_equal(em_sockaddr_port(&from), em_sockaddr_port(&cli_addr));
    assert_int_equal(em_udp_close(&cli), 0);
    assert_int_equal(em_udp_close(&srv), 0);
}

static void test_connected(void **state) {
    (void)state;
    em_udp srv, cli, stranger;
    bind_loopback(&srv, AF_INET);
    bind_loopback(&cli, AF_INET);
    bind_loopback(&stranger, AF_INET);
    em_sockaddr srv_addr, cli_addr, peer, from;
    assert_int_equal(em_udp_local_addr(&srv, &srv_addr), 0);
    assert_int_equal(em_udp_local_addr(&cli, &cli_addr), 0);

    assert_int_equal(em_udp_peer_addr(&cli, &peer), EM_ENOTCONN);
    assert_int_equal(em_udp_connect(&cli, &srv_addr), 0);
    assert_int_equal(em_udp_peer_addr(&cli, &peer), 0);
    assert_true(em_sockaddr_equal(&peer, &srv_addr));

    assert_int_equal(em_udp_send(&cli, "ping", 4), 4);
    char buf[16];
    assert_int_equal(em_udp_recv_from(&srv, buf, sizeof buf, &from), 4);
    assert_memory_equal(buf, "ping", 4);
    assert_true(em_sockaddr_equal(&from, &cli_addr));

    /* A connected socket drops datagrams from anyone but its peer: the
     * stranger's goes first, yet the server's is what arrives. */
    assert_int_equal(em_udp_send_to(&stranger, "evil", 4, &cli_addr), 4);
    assert_int_equal(em_udp_send_to(&srv, "pong", 4, &cli_addr), 4);
    assert_int_equal(em_udp_recv(&cli, buf, sizeof buf), 4);
    assert_memory_equal(buf, "pong", 4);

    /* After disconnecting, em_udp_send has nowhere to go. */
    assert_int_equal(em_udp_disconnect(&cli), 0);
    assert_int_equal(em_udp_send(&cli, "x", 1), EM_ENOTCONN);
    assert_int_equal(em_udp_peer_addr(&cli, &peer), EM_ENOTCONN);

    assert_int_equal(em_udp_close(&stranger), 0);
    assert_int_equal(em_udp_close(&cli), 0);
    assert_int_equal(em_udp_close(&srv), 0);
}

static void test_truncation(void **state) {
    (void)state;
    em_udp srv, cli;
    bind_loopback(&srv, AF_INET);
    bind_loopback(&cli, AF_INET);
    em_sockaddr srv_addr, cli_addr, from;
    assert_int_equal(em_udp_local_addr(&srv, &srv_addr), 0);
    assert_int_equal(em_udp_local_addr(&cli, &cli_addr), 0);

    char big[2000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7 + 3);
    assert_int_equal(em_udp_send_to(&cli, big, sizeof big, &srv_addr), (ssize_t)sizeof big);
    assert_int_equal(em_udp_send_to(&cli, "next", 4, &srv_addr), 4);

    char buf[128];
    memset(buf, 0, sizeof buf);
    memset(&from, 0, sizeof from);
    assert_int_equal(em_udp_recv_from(&srv, buf, 100, &from), EM_EMSGSIZE);
    assert_memory_equal(buf, big, 100);
    assert_int_equal(buf[100], 0); /* nothing past cap was written */
    assert_true(em_sockaddr_equal(&from, &cli_addr));

    /* The rest of the big datagram is gone; the next one is intact. */
    assert_int_equal(em_udp_recv_from(&srv, buf, sizeof buf, &from), 4);
    assert_memory_equal(buf, "next", 4);

    /* Exactly cap bytes is not truncation. */
    assert_int_equal(em_udp_send_to(&cli, big, 100, &srv_addr), 100);
    assert_int_equal(em_udp_recv(&srv, buf, 100), 100);
    assert_memory_equal(buf, big, 100);

    assert_int_equal(em_udp_close(&cli), 0);
    assert_int_equal(em_udp_close(&srv), 0);
}

static void test_empty_datagram(void **state) {
    (void)state;
    em_udp srv, cli;
    bind_loopback(&srv, AF_INET);
    bind_loopback(&cli, AF_INET);
    em_sockaddr srv_addr;
    assert_int_equal(em_udp_local_addr(&srv, &srv_addr), 0);
    assert_int_equal(em_udp_send_to(&cli, NULL, 0, &srv_addr), 0);
    char buf[8];
    assert_int_equal(em_udp_recv(&srv, buf, sizeof buf), 0);
    /* ... and with a zero-sized buffer, a non-empty one is truncation. */
    assert_int_equal(em_udp_send_to(&cli, "abc", 3, &srv_addr), 3);
    assert_int_equal(em_udp_recv(&srv, NULL, 0), EM_EMSGSIZE);
    assert_int_equal(em_udp_close(&cli), 0);
    assert_int_equal(em_udp_close(&srv), 0);
}

static void test_timeout_and_eagain(void **state) {
    (void)state;
    em_udp u;
    em_sockaddr a = em_sockaddr_loopback4(0), from;
    assert_int_equal(em_udp_bind(&u, &a, NULL), 0);
    assert_int_equal(em_udp_set_timeout(&u, 30), 0);
    char buf[8];
    assert_int_equal(em_udp_recv_from(&u, buf, sizeof buf, &from), EM_ETIMEDOUT);
    assert_int_equal(em_udp_set_timeout(&u, -1), EM_EINVAL);
    assert_int_equal(em_udp_close(&u), 0);

    em_udp_opts o = {.nonblock = true};
    assert_int_equal(em_udp_bind(&u, &a, &o), 0);
    assert_int_equal(em_udp_set_timeout(&u, 30), 0);
    assert_int_equal(em_udp_recv(&u, buf, sizeof buf), EM_EAGAIN);
    assert_int_equal(em_udp_close(&u), 0);
}

static void test_connection_refused(void **state) {
    (void)state;
    /* A port that was just free: bind, learn it, close. */
    em_udp tmp, cli;
    bind_loopback(&tmp, AF_INET);
    em_sockaddr dead;
    assert_int_equal(em_udp_local_addr(&tmp, &dead), 0);
    assert_int_equal(em_udp_close(&tmp), 0);

    bind_loopback(&cli, AF_INET);
    assert_int_equal(em_udp_connect(&cli, &dead), 0);
    assert_int_equal(em_udp_send(&cli, "x", 1), 1);
    char buf[8];
    /* The ICMP port unreachable comes back as an error on the socket. */
    assert_int_equal(em_udp_recv(&cli, buf, sizeof buf), EM_ECONNREFUSED);
    assert_int_equal(em_udp_close(&cli), 0);
}

static void test_errors(void **state) {
    (void)state;
    em_udp u, v;
    char buf[8];
    em_sockaddr bad;
    memset(&bad, 0, sizeof bad);
    bad.u.sa.sa_family = AF_UNIX;

    assert_int_equal(em_udp_open(&u, AF_UNIX, NULL), EM_EAFNOSUPPORT);
    assert_int_equal(u.fd, -1);
    assert_int_equal(em_udp_bind(&u, &bad, NULL), EM_EAFNOSUPPORT);
    assert_int_equal(u.fd, -1);
    assert_int_equal(em_udp_bind(&u, NULL, NULL), EM_EINVAL);

    bind_loopback(&u, AF_INET);
    /* Garbage family, and a v6 destination on a v4 socket. */
    assert_int_equal(em_udp_send_to(&u, "x", 1, &bad), EM_EAFNOSUPPORT);
    em_sockaddr v6 = em_sockaddr_loopback6(9);
    assert_int_equal(em_udp_send_to(&u, "x", 1, &v6), EM_EAFNOSUPPORT);
    assert_int_equal(em_udp_send_to(&u, "x", 1, NULL), EM_EINVAL);
    assert_int_equal(em_udp_connect(&u, &bad), EM_EAFNOSUPPORT);
    /* Not connected. */
    assert_int_equal(em_udp_send(&u, "x", 1), EM_ENOTCONN);
    /* Port taken, no SO_REUSEADDR/PORT. */
    em_sockaddr taken;
    assert_int_equal(em_udp_local_addr(&u, &taken), 0);
    assert_int_equal(em_udp_bind(&v, &taken, NULL), EM_EADDRINUSE);
    assert_int_equal(v.fd, -1);

    /* Closed: errors, no crash; close is idempotent. */
    assert_int_equal(em_udp_close(&u), 0);
    assert_int_equal(em_udp_close(&u), 0);
    assert_int_equal(em_udp_recv_from(&u, buf, sizeof buf, NULL), EM_ECLOSED);
    assert_int_equal(em_udp_recv(&u, buf, sizeof buf), EM_ECLOSED);
    assert_int_equal(em_udp_send_to(&u, "x", 1, &taken), EM_ECLOSED);
    assert_int_equal(em_udp_send(&u, "x", 1), EM_ECLOSED);
    assert_int_equal(em_udp_connect(&u, &taken), EM_ECLOSED);
    assert_int_equal(em_udp_local_addr(&u, &taken), EM_ECLOSED);
    assert_int_equal(em_udp_set_timeout(&u, 10), EM_ECLOSED);
    assert_false(em_udp_active(&u));
}

static int get_int_opt(int fd, int level, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    assert_int_equal(getsockopt(fd, level, name, &v, &len), 0);
    return v;
}

static void test_options(void **state) {
    (void)state;
    em_udp a, b;
    em_udp_opts o = {.reuseaddr = true, .reuseport = true, .recv_buf = 65536, .send_buf = 32768};
    em_sockaddr addr = em_sockaddr_loopback4(0);
    assert_int_equal(em_udp_bind(&a, &addr, &o), 0);
    assert_int_equal(em_udp_local_addr(&a, &addr), 0);
    /* SO_REUSEPORT lets a second socket share the port. */
    assert_int_equal(em_udp_bind(&b, &addr, &o), 0);
    assert_int_equal(get_int_opt(a.fd, SOL_SOCKET, SO_REUSEPORT), 1);
    assert_int_equal(get_int_opt(a.fd, SOL_SOCKET, SO_REUSEADDR), 1);
    /* Linux doubles the requested size for bookkeeping. */
    assert_true(get_int_opt(a.fd, SOL_SOCKET, SO_RCVBUF) >= 65536);
    assert_true(get_int_opt(a.fd, SOL_SOCKET, SO_SNDBUF) >= 32768);
    assert_int_equal(em_udp_close(&b), 0);
    assert_int_equal(em_udp_close(&a), 0);

    em_udp_opts neg = {.recv_buf = -1};
    assert_int_equal(em_udp_open(&a, AF_INET, &neg), EM_EINVAL);
    assert_int_equal(a.fd, -1);

    if (!have_ipv6())
        return;
    em_udp_opts v6o = {.v6only = true};
    assert_int_equal(em_udp_open(&a, AF_INET6, &v6o), 0);
    assert_int_equal(get_int_opt(a.fd, IPPROTO_IPV6, IPV6_V6ONLY), 1);
    assert_int_equal(em_udp_close(&a), 0);
    assert_int_equal(em_udp_open(&a, AF_INET6, NULL), 0);
    assert_int_equal(get_int_opt(a.fd, IPPROTO_IPV6, IPV6_V6ONLY), 0);
    assert_int_equal(em_udp_close(&a), 0);
}

/* A dual-stack IPv6 socket talks to IPv4 peers through v4-mapped addresses. */
static void test_dual_stack(void **state) {
    (void)state;
    if (!have_ipv6())
        skip();
    em_udp srv, cli;
    em_sockaddr any6, srv_addr, from;
    assert_int_equal(em_sockaddr_parse(&any6, "[::]:0", 6), 0);
    assert_int_equal(em_udp_bind(&srv, &any6, NULL), 0);
    assert_int_equal(em_udp_set_timeout(&srv, WAIT_MS), 0);
    assert_int_equal(em_udp_local_addr(&srv, &srv_addr), 0);
    bind_loopback(&cli, AF_INET);
    em_sockaddr to = em_sockaddr_loopback4(em_sockaddr_port(&srv_addr));
    assert_int_equal(em_udp_send_to(&cli, "v4", 2, &to), 2);
    char buf[8];
    assert_int_equal(em_udp_recv_from(&srv, buf, sizeof buf, &from), 2);
    assert_int_equal(em_sockaddr_family(&from), AF_INET6);
    em_ip ip = em_sockaddr_ip(&from);
    assert_true(em_ip_is_v4_mapped(&ip));
    /* Replying to the mapped address reaches the v4 socket. */
    assert_int_equal(em_udp_send_to(&srv, "ok", 2, &from), 2);
    assert_int_equal(em_udp_recv(&cli, buf, sizeof buf), 2);
    assert_memory_equal(buf, "ok", 2);
    assert_int_equal(em_udp_close(&cli), 0);
    assert_int_equal(em_udp_close(&srv), 0);
}

/* An IPv4 destination does not suit an IPv6-only socket: EM_EAFNOSUPPORT,
 * as the header promises (the kernel says ENETUNREACH, which would read as
 * a routing failure), from em_udp_send_to and em_udp_send_batch alike; a
 * dual-stack socket still sends to it. */
static void test_v6only_refuses_v4_destination(void **state) {
    (void)state;
    if (!have_ipv6())
        skip();
    em_udp only, dual;
    em_udp_opts o = {.v6only = true};
    em_sockaddr l6 = em_sockaddr_loopback6(0), v4 = em_sockaddr_loopback4(9);
    assert_int_equal(em_udp_bind(&only, &l6, &o), 0);
    assert_int_equal(em_udp_send_to(&only, "x", 1, &v4), EM_EAFNOSUPPORT);
    em_udp_msg m = {.buf = "x", .len = 1, .addr = v4};
    assert_int_equal(em_udp_send_batch(&only, &m, 1), EM_EAFNOSUPPORT);
    assert_int_equal(em_udp_connect(&only, &v4), EM_EAFNOSUPPORT);
    assert_int_equal(em_udp_open(&dual, AF_INET6, NULL), 0);
    assert_int_equal(em_udp_send_to(&dual, "x", 1, &v4), 1);
    assert_int_equal(em_udp_close(&dual), 0);
    assert_int_equal(em_udp_close(&only), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_v4),
        cmocka_unit_test(test_roundtrip_v6),
        cmocka_unit_test(test_unbound_open),
        cmocka_unit_test(test_connected),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_empty_datagram),
        cmocka_unit_test(test_timeout_and_eagain),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_dual_stack),
        cmocka_unit_test(test_v6only_refuses_v4_destination),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

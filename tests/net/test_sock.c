/* Tests for net/sock.c: each option is set, then read back from the kernel. */
#include "em_test.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ember/net.h"

static int get_int(int fd, int level, int opt) {
    int v = -1;
    socklen_t len = sizeof v;
    assert_int_equal(getsockopt(fd, level, opt, &v, &len), 0);
    return v;
}

static bool have_ipv6(void) {
    int fd = em_sock_open(AF_INET6, SOCK_STREAM, false);
    if (fd < 0)
        return false;
    em_sockaddr sa = em_sockaddr_loopback6(0);
    bool ok = bind(fd, &sa.u.sa, em_sockaddr_len(&sa)) == 0;
    close(fd);
    return ok;
}

static void test_open(void **state) {
    (void)state;
    int fd = em_sock_open(AF_INET, SOCK_STREAM, false);
    assert_true(fd >= 0);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
    assert_int_equal(get_int(fd, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
    close(fd);
    fd = em_sock_open(AF_INET, SOCK_DGRAM, true);
    assert_true(fd >= 0);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
    assert_int_equal(get_int(fd, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
    close(fd);
    assert_int_equal(em_sock_open(12345, SOCK_STREAM, false), EM_EAFNOSUPPORT);
    assert_true(em_sock_open(AF_INET, 12345, false) < 0);
}

static void test_options(void **state) {
    (void)state;
    int fd = em_sock_open(AF_INET, SOCK_STREAM, false);
    assert_true(fd >= 0);
    assert_int_equal(em_sock_set_nonblock(fd, true), 0);
    assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
    assert_int_equal(em_sock_set_nonblock(fd, true), 0);
    assert_int_equal(em_sock_set_nonblock(fd, false), 0);
    assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);

    assert_int_equal(em_sock_set_nodelay(fd, true), 0);
    assert_int_equal(get_int(fd, IPPROTO_TCP, TCP_NODELAY), 1);
    assert_int_equal(em_sock_set_nodelay(fd, false), 0);
    assert_int_equal(get_int(fd, IPPROTO_TCP, TCP_NODELAY), 0);

    assert_int_equal(em_sock_set_keepalive(fd, true, 0), 0);
    assert_int_equal(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
    assert_int_equal(em_sock_set_keepalive(fd, true, 42), 0);
    assert_int_equal(get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE), 42);
    assert_int_equal(em_sock_set_keepalive(fd, false, 7), 0);
    assert_int_equal(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 0);
    assert_int_equal(get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE), 42); /* untouched when off */
    assert_int_equal(em_sock_set_keepalive(fd, true, 1 << 30), EM_EINVAL);

    assert_int_equal(em_sock_set_reuseaddr(fd, true), 0);
    assert_int_equal(get_int(fd, SOL_SOCKET, SO_REUSEADDR), 1);
    assert_int_equal(em_sock_set_reuseaddr(fd, false), 0);
    assert_int_equal(get_int(fd, SOL_SOCKET, SO_REUSEADDR), 0);
    assert_int_equal(em_sock_set_reuseport(fd, true), 0);
    assert_int_equal(get_int(fd, SOL_SOCKET, SO_REUSEPORT), 1);
    assert_int_equal(em_sock_set_reuseport(fd, false), 0);
    assert_int_equal(get_int(fd, SOL_SOCKET, SO_REUSEPORT), 0);
    /* v6only on a v4 socket is a protocol error from the kernel. */
    assert_true(em_sock_set_v6only(fd, true) < 0);
    assert_int_equal(em_sock_error(fd), 0);
    close(fd);

    fd = em_sock_open(AF_INET6, SOCK_STREAM, false);
    if (fd >= 0) {
        assert_int_equal(em_sock_set_v6only(fd, true), 0);
        assert_int_equal(get_int(fd, IPPROTO_IPV6, IPV6_V6ONLY), 1);
        assert_int_equal(em_sock_set_v6only(fd, false), 0);
        assert_int_equal(get_int(fd, IPPROTO_IPV6, IPV6_V6ONLY), 0);
        close(fd);
    }
}

static void test_bad_fd(void **state) {
    (void)state;
    em_sockaddr sa;
    assert_int_equal(em_sock_set_nonblock(-1, true), EM_EBADF);
    assert_int_equal(em_sock_set_nodelay(-1, true), EM_EBADF);
    assert_int_equal(em_sock_set_keepalive(-1, true, 5), EM_EBADF);
    assert_int_equal(em_sock_set_reuseaddr(-1, true), EM_EBADF);
    assert_int_equal(em_sock_set_reuseport(-1, true), EM_EBADF);
    assert_int_equal(em_sock_set_v6only(-1, true), EM_EBADF);
    assert_int_equal(em_sock_error(-1), EM_EBADF);
    assert_int_equal(em_sock_local_addr(-1, &sa), EM_EBADF);
    assert_int_equal(em_sock_peer_addr(-1, &sa), EM_EBADF);
    /* Not a socket. */
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(em_sock_set_nodelay(p[0], true), EM_ENOTSOCK);
    assert_int_equal(em_sock_error(p[0]), EM_ENOTSOCK);
    assert_int_equal(em_sock_local_addr(p[0], &sa), EM_ENOTSOCK);
    assert_int_equal(em_sock_set_nonblock(p[0], true), 0); /* fcntl works on any fd */
    close(p[0]);
    close(p[1]);
}

static void addr_roundtrip(int family) {
    int lfd = em_sock_open(family, SOCK_STREAM, false);
    assert_true(lfd >= 0);
    assert_int_equal(em_sock_set_reuseaddr(lfd, true), 0);
    em_sockaddr sa = family == AF_INET ? em_sockaddr_loopback4(0) : em_sockaddr_loopback6(0);
    assert_int_equal(bind(lfd, &sa.u.sa, em_sockaddr_len(&sa)), 0);
    assert_int_equal(listen(lfd, 4), 0);
    em_sockaddr local;
    assert_int_equal(em_sock_local_addr(lfd, &local), 0);
    assert_int_equal(em_sockaddr_family(&local), family);
    assert_true(em_sockaddr_port(&local) != 0);
    em_ip ip = em_sockaddr_ip(&local);
    assert_true(em_ip_is_loopback(&ip));
    assert_int_equal(em_sock_peer_addr(lfd, &sa), EM_ENOTCONN);

    int cfd = em_sock_open(family, SOCK_STREAM, false);
    assert_true(cfd >= 0);
    assert_int_equal(connect(cfd, &local.u.sa, em_sockaddr_len(&local)), 0);
    int afd = accept(lfd, NULL, NULL);
    assert_true(afd >= 0);
    em_sockaddr peer, cl;
    assert_int_equal(em_sock_peer_addr(cfd, &peer), 0);
    assert_true(em_sockaddr_equal(&peer, &local));
    assert_int_equal(em_sock_local_addr(cfd, &cl), 0);
    assert_int_equal(em_sock_peer_addr(afd, &peer), 0);
    assert_true(em_sockaddr_equal(&peer, &cl));
    assert_int_equal(em_sock_error(cfd), 0);
    close(afd);
    close(cfd);
    close(lfd);
}

static void test_local_peer_addr(void **state) {
    (void)state;
    addr_roundtrip(AF_INET);
    if (have_ipv6())
        addr_roundtrip(AF_INET6);
    else
        print_message("no IPv6 loopback: v6 part skipped\n");
    /* AF_UNIX names are not ember socket addresses. */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    em_sockaddr sa;
    assert_int_equal(em_sock_local_addr(sv[0], &sa), EM_EAFNOSUPPORT);
    close(sv[0]);
    close(sv[1]);
}

/* A refused nonblocking connect reports ECONNREFUSED through SO_ERROR, once. */
static void test_sock_error_refused(void **state) {
    (void)state;
    /* Find a free port: bind, read it back, close. */
    int tmp = em_sock_open(AF_INET, SOCK_STREAM, false);
    em_sockaddr sa = em_sockaddr_loopback4(0);
    assert_int_equal(bind(tmp, &sa.u.sa, em_sockaddr_len(&sa)), 0);
    assert_int_equal(em_sock_local_addr(tmp, &sa), 0);
    close(tmp);

    int fd = em_sock_open(AF_INET, SOCK_STREAM, true);
    assert_true(fd >= 0);
    int r = connect(fd, &sa.u.sa, em_sockaddr_len(&sa));
    if (r != 0 && errno == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        assert_int_equal(poll(&p, 1, 5000), 1);
        assert_int_equal(em_sock_error(fd), EM_ECONNREFUSED);
        assert_int_equal(em_sock_error(fd), 0); /* reading SO_ERROR clears it */
    } else {
        assert_int_equal(r, -1);
        assert_int_equal(errno, ECONNREFUSED);
    }
    close(fd);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_bad_fd),
        cmocka_unit_test(test_local_peer_addr),
        cmocka_unit_test(test_sock_error_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

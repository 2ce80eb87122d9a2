/* Helpers shared by the tcp tests (static inline: each test binary uses a
 * different subset). */
#ifndef TCP_TEST_UTIL_H
#define TCP_TEST_UTIL_H

#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "em_test.h"
#include "ember/tcp.h"
#include "xor_transport.h"

/* A blocking listener on 127.0.0.1 (or ::1) with a kernel-chosen port;
 * *addr gets its address. Returns false if the family is unavailable. */
static inline bool tt_listen(em_tcp_listener *l, em_sockaddr *addr, bool v6) {
    em_sockaddr a = v6 ? em_sockaddr_loopback6(0) : em_sockaddr_loopback4(0);
    int err = em_tcp_listen(l, &a, NULL);
    if (v6 && (err == EM_EADDRNOTAVAIL || err == EM_EAFNOSUPPORT))
        return false;
    assert_int_equal(err, 0);
    assert_int_equal(em_tcp_listener_addr(l, addr), 0);
    assert_true(em_sockaddr_port(addr) != 0);
    return true;
}

/* A connected loopback TCP pair of blocking fds: *a connected, *b accepted. */
static inline void tt_pair(int *a, int *b) {
    em_tcp_listener l;
    em_sockaddr addr;
    tt_listen(&l, &addr, false);
    em_tcp_stream sa, sb;
    assert_int_equal(em_tcp_connect(&sa, &addr, 5000), 0);
    assert_int_equal(em_tcp_accept(&l, &sb, NULL, 5000), 0);
    em_tcp_listener_close(&l);
    *a = sa.fd;
    *b = sb.fd;
}

/* Like tt_pair, with small socket buffers: *a receives into `rcvbuf`, *b
 * sends from `sndbuf`. Both are set before the connection exists (the
 * listener's sndbuf passes to the accepted socket): shrinking SO_RCVBUF
 * on a live loopback connection leaves a window below the MSS already
 * agreed, and Linux can then stall the stream for tens of seconds. */
static inline void tt_pair_bufs(int *a, int *b, int rcvbuf, int sndbuf) {
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(l >= 0 && c >= 0);
    assert_int_equal(setsockopt(l, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
    assert_int_equal(setsockopt(c, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    em_sockaddr addr = em_sockaddr_loopback4(0);
    socklen_t len = em_sockaddr_len(&addr);
    assert_int_equal(bind(l, &addr.u.sa, len), 0);
    assert_int_equal(listen(l, 1), 0);
    assert_int_equal(getsockname(l, &addr.u.sa, &len), 0);
    assert_int_equal(connect(c, &addr.u.sa, len), 0);
    int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    assert_true(s >= 0);
    close(l);
    *a = c;
    *b = s;
}

/* Byte i of the test pattern stream. */
static inline char tt_pat(uint64_t i) {
    return (char)((i * 131u + (i >> 11)) & 0xff);
}

/* A thread reading a blocking fd to EOF (through the xor peer helper when
 * that transport is on), checking the pattern. Start it with
 * tt_reader_start; tt_reader_join returns the byte count (or -1 on a
 * mismatch or error). */
typedef struct tt_reader {
    pthread_t th;
    int fd;
    bool check;
    int64_t total;
} tt_reader;

static inline void *tt_reader_main(void *arg) {
    tt_reader *r = arg;
    char buf[65536];
    uint64_t off = 0;
    xt_peer p;
    xt_peer_init(&p, r->fd);
    for (;;) {
        ssize_t n = xt_peer_read(&p, buf, sizeof buf);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r->total = -1;
            return NULL;
        }
        for (ssize_t i = 0; r->check && i < n; i++) {
            if (buf[i] != tt_pat(off + (uint64_t)i)) {
                r->total = -1;
                return NULL;
            }
        }
        off += (uint64_t)n;
    }
    r->total = (int64_t)off;
    return NULL;
}

static inline void tt_reader_start(tt_reader *r, int fd, bool check) {
    r->fd = fd;
    r->check = check;
    r->total = 0;
    assert_int_equal(pthread_create(&r->th, NULL, tt_reader_main, r), 0);
}

static inline int64_t tt_reader_join(tt_reader *r) {
    pthread_join(r->th, NULL);
    return r->total;
}

/* Read exactly n decoded bytes from a blocking peer. */
static inline void tt_peer_read_exact(xt_peer *p, char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t k = xt_peer_read(p, buf + got, n - got);
        assert_true(k > 0);
        got += (size_t)k;
    }
}

#endif

/* udp/batch.c: sendmmsg/recvmmsg batches, per-message truncation. */
#include <stdio.h>
#include <string.h>

#include "em_test.h"
#include "ember/udp.h"

#define WAIT_MS 5000

typedef struct pair {
    em_udp srv, cli;
    em_sockaddr srv_addr, cli_addr;
} pair;

static void pair_open(pair *p) {
    em_sockaddr a = em_sockaddr_loopback4(0);
    /* A roomy receive buffer so a burst is queued, not dropped. */
    em_udp_opts o = {.recv_buf = 1 << 20};
    assert_int_equal(em_udp_bind(&p->srv, &a, &o), 0);
    assert_int_equal(em_udp_bind(&p->cli, &a, &o), 0);
    assert_int_equal(em_udp_set_timeout(&p->srv, WAIT_MS), 0);
    assert_int_equal(em_udp_set_timeout(&p->cli, WAIT_MS), 0);
    assert_int_equal(em_udp_local_addr(&p->srv, &p->srv_addr), 0);
    assert_int_equal(em_udp_local_addr(&p->cli, &p->cli_addr), 0);
}

static void pair_close(pair *p) {
    assert_int_equal(em_udp_close(&p->cli), 0);
    assert_int_equal(em_udp_close(&p->srv), 0);
}

/* Receive until want datagrams arrived, each call blocking (with a timeout)
 * for at least one. The bound on calls keeps a bug from looping forever. */
static unsigned recv_all(em_udp *u, em_udp_msg *msgs, unsigned want) {
    unsigned got = 0, calls = 0;
    while (got < want) {
        assert_true(++calls <= want + 8);
        int r = em_udp_recv_batch(u, msgs + got, want - got);
        assert_true(r > 0);
        got += (unsigned)r;
    }
    return got;
}

static void send_and_receive(unsigned n) {
    pair p;
    pair_open(&p);
    em_udp_msg *out = calloc(n, sizeof *out), *in = calloc(n, sizeof *in);
    char(*obuf)[16] = calloc(n, sizeof *obuf), (*ibuf)[32] = calloc(n, sizeof *ibuf);
    bool *seen = calloc(n, sizeof *seen);
    assert_non_null(out);
    assert_non_null(in);
    assert_non_null(obuf);
    assert_non_null(ibuf);
    assert_non_null(seen);
    for (unsigned i = 0; i < n; i++) {
        out[i].buf = obuf[i];
        out[i].len = (size_t)snprintf(obuf[i], sizeof obuf[i], "msg-%04u", i);
        out[i].addr = p.srv_addr;
        out[i].status = 12345;
        in[i].buf = ibuf[i];
        in[i].cap = sizeof ibuf[i];
    }
    assert_int_equal(em_udp_send_batch(&p.cli, out, n), (int)n);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(out[i].status, 0);

    assert_int_equal(recv_all(&p.srv, in, n), n);
    /* Check each arrived exactly once, intact, from the client (order is
     * not asserted: UDP promises none). */
    for (unsigned i = 0; i < n; i++) {
        unsigned idx;
        assert_int_equal(in[i].status, 0);
        assert_int_equal(in[i].len, 8);
        assert_true(em_sockaddr_equal(&in[i].addr, &p.cli_addr));
        ibuf[i][in[i].len] = '\0';
        assert_int_equal(sscanf(ibuf[i], "msg-%4u", &idx), 1);
        assert_true(idx < n);
        assert_false(seen[idx]);
        seen[idx] = true;
    }
    /* Nothing extra is queued. */
    em_udp_msg extra = {.buf = ibuf[0], .cap = sizeof ibuf[0]};
    assert_int_equal(em_udp_set_timeout(&p.srv, 20), 0);
    assert_int_equal(em_udp_recv_batch(&p.srv, &extra, 1), EM_ETIMEDOUT);

    free(seen);
    free(ibuf);
    free(obuf);
    free(in);
    free(out);
    pair_close(&p);
}

static void test_batch_32(void **state) {
    (void)state;
    send_and_receive(32);
}

/* More than one internal chunk (64) in both directions. */
static void test_batch_150(void **state) {
    (void)state;
    send_and_receive(150);
}

static void test_mixed_truncation(void **state) {
    (void)state;
    pair p;
    pair_open(&p);
    static const size_t sizes[] = {10, 500, 100, 1000, 1, 101};
    enum { N = sizeof sizes / sizeof sizes[0] };
    /* Byte 0 of each datagram is its index, so arrival order does not
     * matter; the rest is a pattern. */
    static char payload[N][1000];
    for (unsigned i = 0; i < N; i++) {
        payload[i][0] = (char)i;
        for (size_t j = 1; j < sizeof payload[i]; j++)
            payload[i][j] = (char)(j * 13 + i);
        assert_int_equal(em_udp_send_to(&p.cli, payload[i], sizes[i], &p.srv_addr),
                         (ssize_t)sizes[i]);
    }

    char bufs[N][100];
    em_udp_msg in[N];
    memset(in, 0, sizeof in);
    for (unsigned i = 0; i < N; i++) {
        in[i].buf = bufs[i];
        in[i].cap = sizeof bufs[i];
        in[i].status = 777;
    }
    assert_int_equal(recv_all(&p.srv, in, N), N);
    unsigned seen = 0;
    for (unsigned k = 0; k < N; k++) {
        assert_true(in[k].len > 0);
        unsigned i = (unsigned char)bufs[k][0];
        assert_true(i < N);
        assert_false(seen & (1u << i));
        seen |= 1u << i;
        size_t want = sizes[i] < 100 ? sizes[i] : 100;
        assert_int_equal(in[k].len, want);
        assert_int_equal(in[k].status, sizes[i] > 100 ? EM_EMSGSIZE : 0);
        assert_memory_equal(bufs[k], payload[i], want);
        assert_true(em_sockaddr_equal(&in[k].addr, &p.cli_addr));
    }
    pair_close(&p);
}

/* A zero-filled address sends to the connected peer. */
static void test_connected_batch(void **state) {
    (void)state;
    pair p;
    pair_open(&p);
    assert_int_equal(em_udp_connect(&p.cli, &p.srv_addr), 0);
    em_udp_msg out[3];
    memset(out, 0, sizeof out);
    char *words[] = {"a", "bb", "ccc"};
    for (unsigned i = 0; i < 3; i++) {
        out[i].buf = words[i];
        out[i].len = i + 1;
    }
    assert_int_equal(em_udp_send_batch(&p.cli, out, 3), 3);
    char bufs[3][8];
    em_udp_msg in[3];
    memset(in, 0, sizeof in);
    for (unsigned i = 0; i < 3; i++) {
        in[i].buf = bufs[i];
        in[i].cap = sizeof bufs[i];
    }
    assert_int_equal(recv_all(&p.srv, in, 3), 3);
    for (unsigned i = 0; i < 3; i++) { /* the length names the word */
        assert_true(in[i].len >= 1 && in[i].len <= 3);
        assert_memory_equal(bufs[i], words[in[i].len - 1], in[i].len);
        assert_true(em_sockaddr_equal(&in[i].addr, &p.cli_addr));
    }
    pair_close(&p);
}

static void test_empty_and_timeouts(void **state) {
    (void)state;
    pair p;
    pair_open(&p);
    char buf[8];
    em_udp_msg m = {.buf = buf, .cap = sizeof buf};
    assert_int_equal(em_udp_send_batch(&p.cli, &m, 0), 0);
    assert_int_equal(em_udp_recv_batch(&p.srv, &m, 0), 0);
    assert_int_equal(em_udp_set_timeout(&p.srv, 20), 0);
    assert_int_equal(em_udp_recv_batch(&p.srv, &m, 1), EM_ETIMEDOUT);
    pair_close(&p);

    em_udp u;
    em_sockaddr a = em_sockaddr_loopback4(0);
    em_udp_opts o = {.nonblock = true};
    assert_int_equal(em_udp_bind(&u, &a, &o), 0);
    assert_int_equal(em_udp_recv_batch(&u, &m, 1), EM_EAGAIN);
    assert_int_equal(em_udp_close(&u), 0);
}

static void test_errors(void **state) {
    (void)state;
    pair p;
    pair_open(&p);
    char buf[8] = "x";
    em_udp_msg out[4];
    memset(out, 0, sizeof out);
    for (unsigned i = 0; i < 4; i++) {
        out[i].buf = buf;
        out[i].len = 1;
        out[i].addr = p.srv_addr;
    }
    out[2].addr.u.sa.sa_family = AF_UNIX;
    /* The two good ones go; the bad one fails on the next call. */
    assert_int_equal(em_udp_send_batch(&p.cli, out, 4), 2);
    assert_int_equal(em_udp_send_batch(&p.cli, out + 2, 2), EM_EAFNOSUPPORT);
    out[2].addr = p.srv_addr;
    out[2].buf = NULL; /* len 1 with no buffer */
    assert_int_equal(em_udp_send_batch(&p.cli, out + 2, 2), EM_EINVAL);
    /* Unconnected socket, zero-filled address: not connected. */
    memset(&out[3].addr, 0, sizeof out[3].addr);
    assert_int_equal(em_udp_send_batch(&p.cli, out + 3, 1), EM_ENOTCONN);
    assert_int_equal(em_udp_send_batch(&p.cli, NULL, 1), EM_EINVAL);

    em_udp_msg in = {.buf = NULL, .cap = 8};
    assert_int_equal(em_udp_recv_batch(&p.srv, &in, 1), EM_EINVAL);
    /* The two good datagrams did arrive. */
    em_udp_msg got[2] = {{.buf = buf, .cap = 4}, {.buf = buf + 4, .cap = 4}};
    assert_int_equal(recv_all(&p.srv, got, 2), 2);
    assert_int_equal(got[0].len, 1);
    assert_int_equal(got[1].len, 1);
    pair_close(&p);

    assert_int_equal(em_udp_send_batch(&p.cli, out, 1), EM_ECLOSED);
    assert_int_equal(em_udp_recv_batch(&p.srv, got, 1), EM_ECLOSED);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_32),           cmocka_unit_test(test_batch_150),
        cmocka_unit_test(test_mixed_truncation),   cmocka_unit_test(test_connected_batch),
        cmocka_unit_test(test_empty_and_timeouts), cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The transport seam: the plain transport's vtable, installing a
 * transport, the xor test codec split at every byte, and a transport whose
 * read waits for writability and whose write waits for readability (as
 * TLS's do). */
#include <stdlib.h>

#include "tcp_internal.h"
#include "tcp_test_util.h"

static void noop_read(em_tcp_conn *c, ssize_t n) {}
static const em_tcp_conn_cbs noop_cbs = {.on_read = noop_read};

static void test_plain_and_set(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    int peer, fd;
    tt_pair(&peer, &fd);
    em_tcp_conn c;
    assert_int_equal(em_tcp_conn_init(&loop, &c, fd, &noop_cbs, NULL), 0);
    assert_ptr_equal(em_tcp_conn_transport(&c), &em_tcp_plain_transport);
    assert_string_equal(em_tcp_conn_transport(&c)->name, "plain");
    assert_null(em_tcp_conn_transport_state(&c));
    /* The plain vtable works when called directly. */
    const em_tcp_transport *t = &em_tcp_plain_transport;
    struct iovec iov = {.iov_base = "hi", .iov_len = 2};
    assert_int_equal(t->writev(&c, &iov, 1), 2);
    assert_int_equal(t->flush(&c), 0);
    assert_int_equal(t->pending(&c), 0);
    char buf[4];
    assert_int_equal(read(peer, buf, 2), 2);
    assert_int_equal(t->read(&c, buf, sizeof buf), EM_EAGAIN);
    assert_int_equal(write(peer, "yo", 2), 2);
    usleep(10000);
    assert_int_equal(t->readable(&c), 0);
    assert_int_equal(t->read(&c, buf, sizeof buf), 2);
    assert_memory_equal(buf, "yo", 2);

    static const em_tcp_transport half = {.name = "half"}; /* ops missing */
    assert_int_equal(em_tcp_conn_set_transport(&c, &half, NULL), EM_EINVAL);
    int x;
    assert_int_equal(em_tcp_conn_set_transport(&c, &xt_transport, &x), 0);
    assert_ptr_equal(em_tcp_conn_transport(&c), &xt_transport);
    assert_ptr_equal(em_tcp_conn_transport_state(&c), &x);
    assert_int_equal(em_tcp_conn_set_transport(&c, &em_tcp_plain_transport, NULL), 0);
    assert_ptr_equal(em_tcp_conn_transport(&c), &em_tcp_plain_transport);
    assert_int_equal(t->shutdown(&c), 0);
    assert_int_equal(read(peer, buf, 1), 0); /* SHUT_WR reached the peer */
    em_tcp_conn_close(&c, NULL);
    assert_int_equal(em_tcp_conn_set_transport(&c, &xt_transport, &x), EM_ECLOSED);
    em_tcp_conn_transport_want(&c, EM_TCP_WANT_READ); /* closed: ignored */
    em_loop_run(&loop, EM_RUN_NOWAIT);
    close(peer);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* The decoder takes a stream cut at every byte and at every pair of cut
 * points, with output room of one byte too. */
static void test_xor_codec_splits(void **state) {
    char plain[2600];
    for (size_t i = 0; i < sizeof plain; i++)
        plain[i] = tt_pat(i);
    char enc[2700];
    size_t n = xt_encode(plain, sizeof plain, enc);
    assert_int_equal(n, xt_encoded_len(sizeof plain));
    assert_int_equal(n, sizeof plain + 12); /* three records */
    assert_int_equal((unsigned char)enc[3], 1000 & 0xff);
    assert_int_equal(enc[4], (char)(plain[0] ^ 0x5A));
    for (size_t cut = 0; cut <= n; cut++) {
        for (size_t room = 1; room <= sizeof plain; room = room * 7 + 1) {
            xt_dec d = {0};
            char out[2600];
            size_t o = 0, at = 0;
            while (at < n) {
                size_t end = at < cut ? cut : n;
                size_t in = end - at;
                size_t r = room < sizeof out - o ? room : sizeof out - o;
                ssize_t k = xt_decode(&d, enc + at, &in, out + o, r);
                assert_true(k >= 0);
                at += in;
                o += (size_t)k;
            }
            assert_int_equal(o, sizeof plain);
            assert_memory_equal(out, plain, sizeof plain);
            assert_true(xt_dec_idle(&d));
        }
    }
    /* A byte at a time, and a record too large to be real. */
    xt_dec d = {0};
    char out[2600];
    size_t o = 0;
    for (size_t at = 0; at < n; at++) {
        size_t in = 1;
        ssize_t k = xt_decode(&d, enc + at, &in, out + o, 1);
        assert_int_equal(in, 1);
        o += (size_t)k;
        assert_int_equal(xt_dec_idle(&d), at + 1 == n || at == 1003 || at == 2007);
    }
    assert_memory_equal(out, plain, sizeof plain);
    xt_dec bad = {0};
    size_t in = 4;
    assert_int_equal(xt_decode(&bad, "\x7f\0\0\0", &in, out, 1), EM_EPROTO);
}

/* ---- a transport that waits for the other direction ---------------------- */

/* Plain bytes, but the first read waits for writability and the first
 * writev for readability, as a TLS renegotiation would. */
typedef struct stubborn {
    em_tcp_conn c;
    bool read_waited, write_waited;
    int read_tries, write_tries;
    size_t got;
    char buf[16];
    uint64_t sent;
} stubborn;

static ssize_t sb_read(em_tcp_conn *c, char *buf, size_t len) {
    stubborn *s = EM_CONTAINER_OF(c, stubborn, c);
    s->read_tries++;
    if (!s->read_waited) {
        s->read_waited = true;
        em_tcp_conn_transport_want(c, EM_TCP_WANT_WRITE);
        return EM_EAGAIN;
    }
    return em_tcp_plain_transport.read(c, buf, len);
}
static ssize_t sb_writev(em_tcp_conn *c, const struct iovec *iov, int cnt) {
    stubborn *s = EM_CONTAINER_OF(c, stubborn, c);
    s->write_tries++;
    if (!s->write_waited) {
        s->write_waited = true;
        em_tcp_conn_transport_want(c, EM_TCP_WANT_READ);
        return EM_EAGAIN;
    }
    return em_tcp_plain_transport.writev(c, iov, cnt);
}
static int sb_flush(em_tcp_conn *c) {
    return 0;
}
static int sb_shutdown(em_tcp_conn *c) {
    return em_tcp_plain_transport.shutdown(c);
}
static size_t sb_none(const em_tcp_conn *c) {
    return 0;
}
static const em_tcp_transport stubborn_transport = {
    "stubborn", sb_read, sb_writev, sb_flush, sb_shutdown, NULL, sb_none, sb_none};

static void sb_on_read(em_tcp_conn *c, ssize_t n) {
    stubborn *s = EM_CONTAINER_OF(c, stubborn, c);
    if (n <= 0)
        return;
    assert_true(s->got + (size_t)n <= sizeof s->buf);
    memcpy(s->buf + s->got, em_buf_data(&c->in), (size_t)n);
    s->got += (size_t)n;
    em_buf_consume(&c->in, (size_t)n);
}
static void sb_on_sent(em_tcp_conn *c, uint64_t token) {
    EM_CONTAINER_OF(c, stubborn, c)->sent = token;
}

static void test_transport_wants(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    int peer, fd;
    tt_pair(&peer, &fd);
    static const em_tcp_conn_cbs cbs = {.on_read = sb_on_read, .on_sent = sb_on_sent};
    stubborn s = {0};
    assert_int_equal(em_tcp_conn_init(&loop, &s.c, fd, &cbs, NULL), 0);
    assert_int_equal(em_tcp_conn_set_transport(&s.c, &stubborn_transport, NULL), 0);

    /* The write waits for readability though nobody reads: the peer's
     * bytes make the socket readable and the write goes out. */
    em_slice msg = EM_SLICE_LIT("hello");
    uint64_t tok;
    assert_int_equal(em_tcp_conn_write(&s.c, &msg, 1, 0, &tok), 0);
    assert_int_equal(em_tcp_conn_queued(&s.c), 5);
    assert_true(s.c._flags & EM__TCP_IO_R);
    assert_false(s.c._flags & EM__TCP_IO_W);
    for (int i = 0; i < 5; i++)
        em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(s.write_tries, 1);
    assert_int_equal(write(peer, "ab", 2), 2);
    EM_TEST_RUN_UNTIL(&loop, s.sent == tok, 5000);
    char buf[8];
    assert_int_equal(read(peer, buf, 5), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(s.got, 0); /* nobody asked to read */

    /* The read waits for writability (at once here), then reads. */
    assert_int_equal(em_tcp_conn_read_start(&s.c), 0);
    EM_TEST_RUN_UNTIL(&loop, s.got == 2, 5000);
    assert_true(s.read_tries >= 2);
    assert_memory_equal(s.buf, "ab", 2);
    assert_false(s.c._flags & (EM__TCP_RD_WANTS_W | EM__TCP_WR_WANTS_R));
    assert_false(s.c._flags & EM__TCP_IO_W); /* nothing left to write */
    em_tcp_conn_close(&s.c, NULL);
    em_loop_run(&loop, EM_RUN_NOWAIT);
    close(peer);
    assert_int_equal(em_loop_close(&loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_set),
        cmocka_unit_test(test_xor_codec_splits),
        cmocka_unit_test(test_transport_wants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

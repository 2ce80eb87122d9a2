/* The write queue: backpressure against a peer that does not read,
 * zero-copy partial writes, on_sent ordering, max_queue, late errors. */
#include <stdlib.h>

#include "tcp_internal.h"
#include "tcp_test_util.h"

typedef struct wq {
    em_tcp_conn c;
    uint64_t sent; /* last token reported */
    int sent_calls;
    bool sent_order_bad;
    int throttled, unthrottled;
    int err_calls, read_err; /* errors through on_read */
    int closed;
} wq;

static void wq_on_read(em_tcp_conn *c, ssize_t n) {
    wq *w = EM_CONTAINER_OF(c, wq, c);
    if (n < 0) {
        w->err_calls++;
        w->read_err = (int)n;
    }
}
static void wq_on_sent(em_tcp_conn *c, uint64_t token) {
    wq *w = EM_CONTAINER_OF(c, wq, c);
    if (token <= w->sent || token > c->_next_token)
        w->sent_order_bad = true;
    w->sent = token;
    w->sent_calls++;
}
static void wq_on_throttled(em_tcp_conn *c) {
    wq *w = EM_CONTAINER_OF(c, wq, c);
    w->throttled++;
    assert_true(em_tcp_conn_throttled(c));
}
static void wq_on_unthrottled(em_tcp_conn *c) {
    wq *w = EM_CONTAINER_OF(c, wq, c);
    w->unthrottled++;
    assert_false(em_tcp_conn_throttled(c));
    assert_true(em_tcp_conn_queued(c) <= c->_low_wm + xt_slack());
}
static void wq_on_close(em_tcp_conn *c) {
    EM_CONTAINER_OF(c, wq, c)->closed++;
}

static const em_tcp_conn_cbs full_cbs = {
    .on_read = wq_on_read,
    .on_sent = wq_on_sent,
    .on_throttled = wq_on_throttled,
    .on_unthrottled = wq_on_unthrottled,
};

/* A pair whose peer reads into 16 KiB and whose fd sends from 16 KiB. */
static void small_pair(int *peer, int *fd) {
    tt_pair_bufs(peer, fd, 16 * 1024, 16 * 1024);
}

/* The loop, a connected pair (small: 16 KiB buffers) and w's connection
 * on one end with options o (may be NULL); the other end in *peer. */
static void wq_open(em_loop *loop, wq *w, int *peer, bool small, const em_tcp_conn_opts *o) {
    assert_int_equal(em_loop_init(loop), 0);
    int fd;
    if (small)
        small_pair(peer, &fd);
    else
        tt_pair(peer, &fd);
    *w = (wq){0};
    assert_int_equal(em_tcp_conn_init(loop, &w->c, fd, &full_cbs, o), 0);
    assert_int_equal(xt_maybe_attach(&w->c), 0);
}

static void close_and_drain(em_loop *loop, wq *w) {
    em_tcp_conn_close(&w->c, wq_on_close);
    EM_TEST_RUN_UNTIL(loop, w->closed == 1, 5000);
    assert_int_equal(em_loop_close(loop), 0);
}

static void test_backpressure_bounded(void **state) {
    em_tcp_conn_opts o = {
        .high_watermark = 256 * 1024, .low_watermark = 64 * 1024, .max_queue = 1024 * 1024};
    em_loop loop;
    int peer;
    wq w;
    wq_open(&loop, &w, &peer, true, &o);

    /* The peer reads nothing: keep writing 64 KiB copies until refused. */
    enum { CHUNK = 64 * 1024 };
    char *chunk = malloc(CHUNK);
    assert_non_null(chunk);
    uint64_t off = 0, last = 0;
    int err = 0;
    for (int i = 0; i < 10000; i++) {
        for (size_t j = 0; j < CHUNK; j++)
            chunk[j] = tt_pat(off + j);
        em_slice s = em_slice_make(chunk, CHUNK);
        uint64_t tok = 0;
        size_t before = em_tcp_conn_queued(&w.c);
        err = em_tcp_conn_write(&w.c, &s, 1, EM_TCP_WRITE_COPY, &tok);
        assert_true(em_tcp_conn_queued(&w.c) <= o.max_queue + xt_slack());
        if (err) {
            assert_int_equal(em_tcp_conn_queued(&w.c), before); /* nothing queued */
            break;
        }
        assert_int_equal(tok, last + 1);
        last = tok;
        off += CHUNK;
        /* Give the loop a turn now and then, as a real server would. */
        if (i % 8 == 0)
            em_loop_run(&loop, EM_RUN_NOWAIT);
    }
    assert_int_equal(err, EM_ENOBUFS);
    assert_int_equal(w.throttled, 1);
    assert_true(em_tcp_conn_throttled(&w.c));
    assert_int_equal(w.unthrottled, 0);
    assert_true(w.sent < last);
    assert_true(em_tcp_conn_queued(&w.c) > o.max_queue - CHUNK);
    assert_true(w.c._flags & EM__TCP_IO_W);

    /* Now the peer reads; everything drains, in order, intact. */
    tt_reader r;
    tt_reader_start(&r, peer, true);
    EM_TEST_RUN_UNTIL(&loop, w.sent == last, 20000);
    assert_int_equal(w.unthrottled, 1);
    assert_int_equal(w.throttled, 1);
    assert_false(w.sent_order_bad);
    assert_int_equal(em_tcp_conn_queued(&w.c), 0);
    /* EPOLLOUT interest only while something is queued. */
    assert_false(w.c._flags & EM__TCP_IO_W);
    assert_false(em_io_active(&w.c._io));
    assert_int_equal(em_tcp_conn_shutdown(&w.c), 0);
    assert_int_equal(tt_reader_join(&r), (int64_t)off);
    assert_int_equal(w.err_calls, 0);
    close(peer);
    free(chunk);
    close_and_drain(&loop, &w);
}

static void test_zero_copy_partial(void **state) {
    em_loop loop;
    int peer;
    wq w;
    wq_open(&loop, &w, &peer, true, NULL);

    /* More slices than IOV_MAX, of odd sizes, some empty, over one
     * pattern buffer: partial writes land in the middle of slices. */
    enum { NSLICE = 3000 };
    size_t cap = 0;
    for (unsigned i = 0; i < NSLICE; i++)
        cap += (i * 7919u) % 2900;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (size_t i = 0; i < cap; i++)
        buf[i] = tt_pat(i);
    em_slice *sl = malloc(NSLICE * sizeof *sl);
    assert_non_null(sl);
    size_t at = 0;
    for (unsigned i = 0; i < NSLICE; i++) {
        size_t len = (i * 7919u) % 2900;
        sl[i] = em_slice_make(buf + at, len);
        at += len;
    }
    tt_reader r;
    tt_reader_start(&r, peer, true);
    /* Two writes: the second one goes behind the first in the queue. */
    uint64_t t1 = 0, t2 = 0;
    assert_int_equal(em_tcp_conn_write(&w.c, sl, NSLICE / 2, 0, &t1), 0);
    assert_int_equal(em_tcp_conn_write(&w.c, sl + NSLICE / 2, NSLICE - NSLICE / 2, 0, &t2), 0);
    assert_int_equal(t1, 1);
    assert_int_equal(t2, 2);
    assert_int_equal(w.sent_calls, 0); /* never from inside write */
    EM_TEST_RUN_UNTIL(&loop, w.sent == 2, 20000);
    assert_false(w.sent_order_bad);
    assert_int_equal(em_tcp_conn_shutdown(&w.c), 0);
    assert_int_equal(tt_reader_join(&r), (int64_t)cap);
    close(peer);
    free(sl);
    free(buf);
    close_and_drain(&loop, &w);
}

static void test_sent_coalesced(void **state) {
    em_loop loop;
    int peer;
    wq w;
    wq_open(&loop, &w, &peer, false, NULL);
    em_slice parts[2] = {EM_SLICE_LIT("ab"), EM_SLICE_LIT("c")};
    uint64_t tok;
    assert_int_equal(em_tcp_conn_write(&w.c, parts, 2, 0, &tok), 0);
    assert_int_equal(tok, 1);
    assert_int_equal(em_tcp_conn_write(&w.c, parts, 1, 0, &tok), 0);
    assert_int_equal(em_tcp_conn_write(&w.c, NULL, 0, 0, &tok), 0); /* empty write */
    assert_int_equal(tok, 3);
    assert_int_equal(em_tcp_conn_queued(&w.c), 0);
    assert_int_equal(w.sent_calls, 0);
    EM_TEST_RUN_UNTIL(&loop, w.sent == 3, 5000);
    assert_int_equal(w.sent_calls, 1); /* three completions, one call */
    char buf[5];
    xt_peer p;
    xt_peer_init(&p, peer);
    tt_peer_read_exact(&p, buf, 5);
    assert_memory_equal(buf, "abcab", 5);
    close(peer);
    close_and_drain(&loop, &w);
}

/* Tokens behind the newest are kept as their low 32 bits: completions
 * still come whole and in order where the count crosses 2^32, for writes
 * that queue and for writes that go straight out. */
static void test_tokens_past_32_bits(void **state) {
    em_loop loop;
    int peer;
    wq w;
    wq_open(&loop, &w, &peer, true, NULL);
    const uint64_t base = (UINT64_C(1) << 32) - 2; /* as after 2^32 - 2 writes */
    w.c._next_token = base;
    w.c._taken_lo = w.c._done_lo = w.c._reported_lo = (uint32_t)base;
    w.sent = base;
    enum { BIG = 1 << 20 };
    char *buf = malloc(BIG);
    assert_non_null(buf);
    for (size_t i = 0; i < BIG; i++)
        buf[i] = tt_pat(i);
    tt_reader r;
    tt_reader_start(&r, peer, false); /* the pattern restarts with each write */
    em_slice sl = em_slice_make(buf, BIG);
    uint64_t t[3];
    for (int i = 0; i < 3; i++) /* the kernel takes part of the first: the rest queue */
        assert_int_equal(em_tcp_conn_write(&w.c, &sl, 1, 0, &t[i]), 0);
    assert_true(t[0] == base + 1 && t[1] == base + 2 && t[2] == base + 3);
    assert_true(t[1] == UINT64_C(1) << 32);
    EM_TEST_RUN_UNTIL(&loop, w.sent == t[2], 20000);
    assert_false(w.sent_order_bad);
    /* the queue is empty: this one goes straight out */
    em_slice tail = EM_SLICE_LIT("end");
    uint64_t t4;
    assert_int_equal(em_tcp_conn_write(&w.c, &tail, 1, 0, &t4), 0);
    assert_true(t4 == base + 4);
    EM_TEST_RUN_UNTIL(&loop, w.sent == t4, 5000);
    assert_false(w.sent_order_bad);
    assert_int_equal(em_tcp_conn_shutdown(&w.c), 0);
    assert_int_equal(tt_reader_join(&r), (int64_t)(3 * (size_t)BIG + 3));
    close(peer);
    free(buf);
    close_and_drain(&loop, &w);
}

static void test_max_queue(void **state) {
    em_tcp_conn_opts o = {.high_watermark = 500, .max_queue = 1000};
    em_loop loop;
    int peer;
    wq w;
    wq_open(&loop, &w, &peer, false, &o);
    static char big[1001];
    em_slice s = em_slice_make(big, sizeof big);
    uint64_t tok = 99;
    assert_int_equal(em_tcp_conn_write(&w.c, &s, 1, 0, &tok), EM_ENOBUFS);
    assert_int_equal(tok, 99); /* untouched, and no token used */
    s.len = 10;
    assert_int_equal(em_tcp_conn_write(&w.c, &s, 1, 0, &tok), 0);
    assert_int_equal(tok, 1);
    EM_TEST_RUN_UNTIL(&loop, w.sent == 1, 5000);
    close(peer);
    close_and_drain(&loop, &w);
}

/* em_tcp_conn_set_limits: new watermarks and cap on a live connection (a
 * protocol it was moved to sets its own); 0 keeps a value, low above high
 * is refused with nothing changed. */
static void test_set_limits(void **state) {
    em_loop loop;
    int peer;
    wq w;
    wq_open(&loop, &w, &peer, false, NULL);
    static char big[1001];
    em_slice s = em_slice_make(big, sizeof big);
    assert_int_equal(em_tcp_conn_set_limits(&w.c, 500, 100, 1000), 0);
    assert_int_equal(em_tcp_conn_write(&w.c, &s, 1, 0, NULL), EM_ENOBUFS); /* the new cap */
    assert_int_equal(em_tcp_conn_set_limits(&w.c, 0, 0, 2000), 0); /* only the cap */
    assert_int_equal(w.c._high_wm, 500);
    assert_int_equal(w.c._low_wm, 100);
    assert_int_equal(em_tcp_conn_set_limits(&w.c, 50, 60, 0), EM_EINVAL);
    assert_int_equal(w.c._high_wm, 500);
    /* The sizes are kept in 32 bits: a larger one is taken as 4 GiB - 1. */
    if (sizeof(size_t) > 4) {
        assert_int_equal(em_tcp_conn_set_limits(&w.c, 0, 0, (size_t)UINT32_MAX * 4), 0);
        assert_true(w.c._max_queue == UINT32_MAX);
        assert_int_equal(em_tcp_conn_set_limits(&w.c, 0, 0, 2000), 0);
    }
    assert_int_equal(em_tcp_conn_write(&w.c, &s, 1, 0, NULL) < 0, 0); /* fits under 2000 */
    EM_TEST_RUN_UNTIL(&loop, w.sent == 1, 5000);
    close(peer);
    close_and_drain(&loop, &w);
}

/* The peer resets while our queue is full: the error arrives later, once,
 * through on_read (the one error path). */
static void test_late_error(void **state) {
    em_loop loop;
    int peer;
    wq w;
    wq_open(&loop, &w, &peer, true, NULL);
    static char chunk[64 * 1024];
    em_slice s = em_slice_make(chunk, sizeof chunk);
    for (int i = 0; i < 1000 && w.c._queued == 0; i++)
        assert_int_equal(em_tcp_conn_write(&w.c, &s, 1, 0, NULL), 0);
    assert_true(em_tcp_conn_queued(&w.c) > 0);

    struct linger lg = {1, 0}; /* close with RST */
    assert_int_equal(setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(peer);
    EM_TEST_RUN_UNTIL(&loop, w.read_err != 0, 10000);
    assert_true(w.read_err == EM_ECONNRESET || w.read_err == EM_EPIPE);
    assert_int_equal(em_tcp_conn_queued(&w.c), 0); /* the queue was dropped */
    assert_true(em_tcp_conn_write(&w.c, &s, 1, 0, NULL) < 0);
    /* Reading now finds the reset too, but the error was already told. */
    assert_int_equal(em_tcp_conn_read_start(&w.c), EM_EOF);
    for (int i = 0; i < 5; i++)
        em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(w.err_calls, 1);
    close_and_drain(&loop, &w);
}

/* Slices may carry a NULL ptr when empty (io.h): a write that has to queue
 * such a slice, copied or not, must not hand NULL to memcpy (UBSan). */
static void test_queue_empty_null_slice(void **state) {
    em_loop loop;
    int peer;
    wq w;
    wq_open(&loop, &w, &peer, true, NULL);
    static char chunk[256 * 1024];
    em_slice big = em_slice_make(chunk, sizeof chunk);
    assert_int_equal(em_tcp_conn_write(&w.c, &big, 1, 0, NULL), 0);
    assert_true(em_tcp_conn_queued(&w.c) > 0);
    em_slice s[3] = {EM_SLICE_LIT("ab"), {NULL, 0}, EM_SLICE_LIT("cd")};
    em_slice empty = {NULL, 0};
    uint64_t tok = 0;
    assert_int_equal(em_tcp_conn_write(&w.c, s, 3, EM_TCP_WRITE_COPY, NULL), 0);
    assert_int_equal(em_tcp_conn_write(&w.c, s, 3, 0, NULL), 0);
    assert_int_equal(em_tcp_conn_write(&w.c, &empty, 1, EM_TCP_WRITE_COPY, NULL), 0);
    assert_int_equal(em_tcp_conn_write(&w.c, &empty, 1, 0, &tok), 0);
    size_t want = sizeof chunk + 8;
    assert_int_equal(em_tcp_conn_queued(&w.c) <= want, 1);
    /* Drain at the peer: every byte arrives and the last token completes. */
    tt_reader r;
    tt_reader_start(&r, peer, false);
    EM_TEST_RUN_UNTIL(&loop, w.sent == tok, 10000);
    assert_false(w.sent_order_bad);
    assert_int_equal(em_tcp_conn_queued(&w.c), 0);
    em_tcp_conn_close(&w.c, wq_on_close);
    assert_int_equal(tt_reader_join(&r), (int64_t)want);
    close(peer);
    EM_TEST_RUN_UNTIL(&loop, w.closed == 1, 5000);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* The peer resets before our first write: the write that finds it fails
 * at once, and the error sticks as one found later does. The next write
 * returns it again instead of trying the socket (which would now say
 * EPIPE where the first said ECONNRESET). */
static void test_immediate_error_sticky(void **state) {
    em_loop loop;
    int peer;
    wq w;
    wq_open(&loop, &w, &peer, false, NULL);
    struct linger lg = {1, 0}; /* close with RST */
    assert_int_equal(setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(peer);
    em_slice s = EM_SLICE_LIT("hello");
    int err = em_tcp_conn_write(&w.c, &s, 1, 0, NULL);
    assert_true(err == EM_ECONNRESET || err == EM_EPIPE);
    assert_int_equal(em_tcp_conn_write(&w.c, &s, 1, EM_TCP_WRITE_COPY, NULL), err);
    assert_int_equal(em_tcp_conn_queued(&w.c), 0);
    /* Nothing can drain any more: end closes at once. */
    em_tcp_conn_end(&w.c, wq_on_close);
    EM_TEST_RUN_UNTIL(&loop, w.closed == 1, 5000);
    assert_int_equal(w.err_calls, 0); /* ended: on_read is not called */
    assert_int_equal(em_loop_close(&loop), 0);
}

/* A connection that fails while throttled drops its queue: it is no longer
 * throttled (there is nothing queued to wait for), though on_unthrottled
 * does not run (the error went to on_read). */
static void test_fail_while_throttled(void **state) {
    em_tcp_conn_opts o = {.high_watermark = 32 * 1024, .low_watermark = 8 * 1024};
    em_loop loop;
    int peer;
    wq w;
    wq_open(&loop, &w, &peer, true, &o);
    static char chunk[16 * 1024];
    em_slice s = em_slice_make(chunk, sizeof chunk);
    for (int i = 0; i < 1000 && w.throttled == 0; i++)
        assert_int_equal(em_tcp_conn_write(&w.c, &s, 1, 0, NULL), 0);
    assert_int_equal(w.throttled, 1);
    assert_true(em_tcp_conn_throttled(&w.c));

    struct linger lg = {1, 0}; /* close with RST */
    assert_int_equal(setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(peer);
    EM_TEST_RUN_UNTIL(&loop, w.read_err != 0, 10000);
    assert_int_equal(em_tcp_conn_queued(&w.c), 0);
    assert_false(em_tcp_conn_throttled(&w.c));
    assert_int_equal(w.unthrottled, 0);
    em_tcp_conn_close(&w.c, wq_on_close);
    assert_false(em_tcp_conn_throttled(&w.c));
    EM_TEST_RUN_UNTIL(&loop, w.closed == 1, 5000);
    assert_int_equal(em_loop_close(&loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backpressure_bounded), cmocka_unit_test(test_zero_copy_partial),
        cmocka_unit_test(test_sent_coalesced),       cmocka_unit_test(test_max_queue),
        cmocka_unit_test(test_tokens_past_32_bits),
        cmocka_unit_test(test_set_limits),
        cmocka_unit_test(test_late_error),
        cmocka_unit_test(test_queue_empty_null_slice),
        cmocka_unit_test(test_immediate_error_sticky),
        cmocka_unit_test(test_fail_while_throttled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

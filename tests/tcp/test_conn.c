/* Async connections on the loop: echo between a server and a client conn,
 * half-close, closing inside on_read, a full read buffer. */
#include <stdlib.h>

#include "tcp_internal.h"
#include "tcp_test_util.h"

/* ---- async echo: server conns echo, one client checks ------------------ */

typedef struct echo_conn {
    em_tcp_conn c;
    int eof, closed;
} echo_conn;

typedef struct echo_world {
    em_tcp_server srv;
    echo_conn server_side;
    echo_conn client;
    int accepted, connected;
    char *payload;
    size_t len, got;
    bool mismatch;
} echo_world;

static echo_world *W; /* test-local: one echo test runs at a time */

static void small_sndbuf(int fd) {
    int sz = 16 * 1024;
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz), 0);
}

static void on_close(em_tcp_conn *c) {
    EM_CONTAINER_OF(c, echo_conn, c)->closed++;
}

static void server_on_read(em_tcp_conn *c, ssize_t n) {
    echo_conn *e = EM_CONTAINER_OF(c, echo_conn, c);
    if (n < 0) {
        assert_int_equal(n, EM_EOF);
        e->eof++;
        assert_int_equal(em_tcp_conn_shutdown(c), 0); /* after the queue drains */
        return;
    }
    em_slice s = em_buf_slice(&c->in);
    assert_int_equal(em_tcp_conn_write(c, &s, 1, EM_TCP_WRITE_COPY, NULL), 0);
    em_buf_consume(&c->in, s.len);
}

static void client_on_read(em_tcp_conn *c, ssize_t n) {
    echo_conn *e = EM_CONTAINER_OF(c, echo_conn, c);
    if (n == EM_EOF) {
        e->eof++;
        return;
    }
    assert_true(n > 0);
    em_slice s = em_buf_slice(&c->in);
    assert_true(W->got + s.len <= W->len);
    if (memcmp(s.ptr, W->payload + W->got, s.len) != 0)
        W->mismatch = true;
    W->got += s.len;
    em_buf_consume(&c->in, s.len);
}

static const em_tcp_conn_cbs server_cbs = {.on_read = server_on_read};
static const em_tcp_conn_cbs client_cbs = {.on_read = client_on_read};

static void on_accept(em_tcp_server *srv, int fd, const em_sockaddr *peer) {
    assert_int_equal(W->accepted, 0);
    W->accepted++;
    assert_int_equal(em_sockaddr_family(peer), AF_INET);
    assert_int_equal(
        em_tcp_conn_init(em_tcp_conn_loop(&W->client.c), &W->server_side.c, fd, &server_cbs, NULL),
        0);
    assert_int_equal(xt_maybe_attach(&W->server_side.c), 0);
    assert_int_equal(em_tcp_conn_read_start(&W->server_side.c), 0);
}

static void on_connect(em_tcp_conn *c, int status) {
    assert_int_equal(status, 0);
    W->connected++;
    assert_int_equal(em_tcp_conn_read_start(c), 0);
    /* Zero-copy: the payload outlives the connection. */
    em_slice s = em_slice_make(W->payload, W->len);
    assert_int_equal(em_tcp_conn_write(c, &s, 1, 0, NULL), 0);
    assert_int_equal(em_tcp_conn_shutdown(c), 0);
}

static void test_async_echo(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    echo_world w = {0};
    W = &w;
    w.len = 3 * 1024 * 1024 + 17; /* larger than socket buffers: partial writes */
    w.payload = malloc(w.len);
    assert_non_null(w.payload);
    for (size_t i = 0; i < w.len; i++)
        w.payload[i] = tt_pat(i);

    em_sockaddr any = em_sockaddr_loopback4(0), addr;
    assert_int_equal(em_tcp_server_start(&loop, &w.srv, &any, NULL, on_accept), 0);
    assert_int_equal(em_tcp_listener_addr(&w.srv.listener, &addr), 0);
    assert_int_equal(em_tcp_conn_connect(&loop, &w.client.c, &addr, &client_cbs, NULL, on_connect),
                     0);
    assert_int_equal(xt_maybe_attach(&w.client.c), 0);
    EM_TEST_RUN_UNTIL(&loop, w.client.eof == 1, 20000);
    assert_int_equal(w.connected, 1);
    assert_int_equal(w.accepted, 1);
    assert_int_equal(w.server_side.eof, 1);
    assert_int_equal(w.got, w.len);
    assert_false(w.mismatch);

    em_tcp_conn_close(&w.client.c, on_close);
    em_tcp_conn_close(&w.server_side.c, on_close);
    em_tcp_conn_close(&w.client.c, on_close); /* double close is a no-op */
    em_tcp_server_close(&w.srv);
    EM_TEST_RUN_UNTIL(&loop, w.client.closed && w.server_side.closed, 5000);
    assert_int_equal(w.client.closed, 1);
    assert_int_equal(em_loop_close(&loop), 0);
    free(w.payload);
}

/* ---- the peer half-closes; we still answer ------------------------------- */

typedef struct half {
    em_tcp_conn c;
    char got[16];
    size_t n;
    int eof, closed;
} half;

static void half_on_read(em_tcp_conn *c, ssize_t n) {
    half *h = EM_CONTAINER_OF(c, half, c);
    if (n == EM_EOF) {
        h->eof++;
        em_slice s = EM_SLICE_LIT("pong");
        assert_int_equal(em_tcp_conn_write(c, &s, 1, 0, NULL), 0);
        assert_int_equal(em_tcp_conn_shutdown(c), 0);
        assert_int_equal(em_tcp_conn_write(c, &s, 1, 0, NULL), EM_ECLOSED);
        return;
    }
    assert_true(n > 0);
    assert_true(h->n + em_buf_len(&c->in) <= sizeof h->got);
    memcpy(h->got + h->n, em_buf_data(&c->in), em_buf_len(&c->in));
    h->n += em_buf_len(&c->in);
    em_buf_consume(&c->in, em_buf_len(&c->in));
}

static void half_on_close(em_tcp_conn *c) {
    EM_CONTAINER_OF(c, half, c)->closed++;
}

static void test_peer_half_close(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    int peer, fd;
    tt_pair(&peer, &fd);
    static const em_tcp_conn_cbs cbs = {.on_read = half_on_read};
    half h = {0};
    assert_int_equal(em_tcp_conn_init(&loop, &h.c, fd, &cbs, NULL), 0);
    assert_int_equal(xt_maybe_attach(&h.c), 0);
    assert_int_equal(em_tcp_conn_read_start(&h.c), 0);
    xt_peer p;
    xt_peer_init(&p, peer);

    assert_int_equal(xt_peer_write(&p, "ping", 4), 4);
    assert_int_equal(shutdown(peer, SHUT_WR), 0);
    EM_TEST_RUN_UNTIL(&loop, h.eof == 1, 10000);
    assert_int_equal(h.n, 4);
    assert_memory_equal(h.got, "ping", 4);
    assert_int_equal(em_tcp_conn_read_start(&h.c), EM_EOF); /* the read side is over */

    /* The reply and then our FIN reach the peer. */
    char buf[8];
    size_t got = 0;
    for (;;) {
        ssize_t n = xt_peer_read(&p, buf + got, sizeof buf - got);
        assert_true(n >= 0);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    assert_int_equal(got, 4);
    assert_memory_equal(buf, "pong", 4);
    close(peer);
    em_tcp_conn_close(&h.c, half_on_close);
    EM_TEST_RUN_UNTIL(&loop, h.closed == 1, 5000);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* ---- closing inside on_read ------------------------------------------------ */

typedef struct closer {
    em_tcp_conn c;
    int reads, *closed;
} closer;

static void closer_on_close(em_tcp_conn *c) {
    closer *k = EM_CONTAINER_OF(c, closer, c);
    (*k->closed)++;
    free(k); /* the contract: memory may go in the close callback */
}

static void closer_on_read(em_tcp_conn *c, ssize_t n) {
    closer *k = EM_CONTAINER_OF(c, closer, c);
    k->reads++;
    assert_true(n > 0);
    /* Queue work that must be dropped cleanly: a copied write the peer
     * will never read completely, and a pending on_sent. */
    em_slice x = EM_SLICE_LIT("x"); /* fully sent: on_sent becomes pending */
    assert_int_equal(em_tcp_conn_write(c, &x, 1, 0, NULL), 0);
    static char big[1 << 20];
    em_slice s = em_slice_make(big, sizeof big);
    assert_int_equal(em_tcp_conn_write(c, &s, 1, EM_TCP_WRITE_COPY, NULL), 0);
    em_tcp_conn_close(c, closer_on_close);
    em_tcp_conn_close(c, closer_on_close);
    /* c stays valid until the close callback: the bytes may still be read. */
    assert_true(em_buf_len(&c->in) > 0);
}

static void test_close_inside_on_read(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    int peer, fd;
    tt_pair(&peer, &fd);
    static const em_tcp_conn_cbs cbs = {.on_read = closer_on_read};
    closer *k = malloc(sizeof *k);
    assert_non_null(k);
    int closed = 0;
    k->reads = 0;
    k->closed = &closed;
    assert_int_equal(em_tcp_conn_init(&loop, &k->c, fd, &cbs, NULL), 0);
    assert_int_equal(xt_maybe_attach(&k->c), 0);
    assert_int_equal(em_tcp_conn_read_start(&k->c), 0);
    /* Data and EOF arrive together: only one on_read may run. The peer
     * only half-closes so our writes inside on_read still succeed. */
    xt_peer p;
    xt_peer_init(&p, peer);
    assert_int_equal(xt_peer_write(&p, "data", 4), 4);
    assert_int_equal(shutdown(peer, SHUT_WR), 0);
    EM_TEST_RUN_UNTIL(&loop, closed == 1, 10000);
    /* Run the loop dry: no callback may touch the freed conn (ASan). */
    while (em_loop_run(&loop, EM_RUN_NOWAIT) > 0) {
    }
    assert_int_equal(closed, 1);
    close(peer);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* ---- a full read buffer pauses reading ------------------------------------- */

typedef struct filler {
    em_tcp_conn c;
    int nobufs, eof;
    size_t total;
} filler;

static void filler_on_read(em_tcp_conn *c, ssize_t n) {
    filler *f = EM_CONTAINER_OF(c, filler, c);
    if (n == EM_ENOBUFS) {
        f->nobufs++;
        assert_int_equal(em_buf_len(&c->in), 1000); /* exactly read_max */
        return;
    }
    if (n == EM_EOF) {
        f->eof++;
        return;
    }
    assert_true(n > 0);
    assert_true(em_buf_len(&c->in) <= 1000);
}

static void test_read_buffer_full(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    int peer, fd;
    tt_pair(&peer, &fd);
    static const em_tcp_conn_cbs cbs = {.on_read = filler_on_read};
    em_tcp_conn_opts o = {.read_max = 1000, .read_chunk = 300};
    filler f = {0};
    assert_int_equal(em_tcp_conn_init(&loop, &f.c, fd, &cbs, &o), 0);
    assert_int_equal(xt_maybe_attach(&f.c), 0);
    assert_int_equal(em_tcp_conn_read_start(&f.c), 0);
    char buf[2500];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = tt_pat(i);
    xt_peer p;
    xt_peer_init(&p, peer);
    assert_int_equal(xt_peer_write(&p, buf, sizeof buf), (ssize_t)sizeof buf);
    close(peer);

    size_t off = 0;
    while (f.eof == 0) {
        EM_TEST_RUN_UNTIL(&loop, f.nobufs == 1 || f.eof == 1, 10000);
        /* Consume everything, check it, resume. */
        size_t len = em_buf_len(&f.c.in);
        assert_memory_equal(em_buf_data(&f.c.in), buf + off, len);
        off += len;
        em_buf_consume(&f.c.in, len);
        if (f.nobufs) {
            f.nobufs = 0;
            assert_int_equal(em_tcp_conn_read_start(&f.c), 0);
        }
    }
    assert_int_equal(off, sizeof buf);
    em_tcp_conn_close(&f.c, NULL);
    assert_int_equal(em_loop_run(&loop, EM_RUN_DEFAULT), 0); /* until the close is done */
    assert_int_equal(em_loop_close(&loop), 0);
}

/* Edge-triggered reads: a burst far larger than one event's read budget
 * (16 reads of read_chunk), sent once and followed by nothing, must still
 * arrive whole, and so must the FIN right behind it. No new edge comes, so
 * the connection has to re-arm itself. */
typedef struct burst {
    em_tcp_conn c;
    size_t got;
    int eof;
    bool bad;
} burst;

static void burst_on_read(em_tcp_conn *c, ssize_t n) {
    burst *b = EM_CONTAINER_OF(c, burst, c);
    if (n == EM_EOF) {
        b->eof++;
        return;
    }
    assert_true(n > 0);
    em_slice s = em_buf_slice(&c->in);
    for (size_t i = 0; i < s.len; i++)
        if (s.ptr[i] != tt_pat(b->got + i))
            b->bad = true;
    b->got += s.len;
    em_buf_consume(&c->in, s.len);
}

static void tick_noop(em_timer *t) {}

static void test_edge_triggered_burst(void **state) {
    static const em_tcp_conn_cbs cbs = {.on_read = burst_on_read};
    /* Small chunks and a small buffer: both the batch bound and the full
     * buffer (consumed in the callback) paths must re-arm. */
    const em_tcp_conn_opts opts[2] = {{.read_chunk = 512, .read_max = 1 << 20},
                                      {.read_chunk = 4096, .read_max = 4096}};
    for (int k = 0; k < 2; k++) {
        em_loop loop;
        assert_int_equal(em_loop_init(&loop), 0);
        int peer, fd;
        tt_pair(&peer, &fd);
        enum { N = 200000 };
        char *data = malloc(N);
        for (size_t i = 0; i < N; i++)
            data[i] = tt_pat(i);
        /* All of it sits in the socket before the loop first looks. */
        int big = 1 << 20;
        setsockopt(peer, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
        em_tcp_stream ps;
        em_tcp_stream_from_fd(&ps, peer);
        xt_peer p;
        xt_peer_init(&p, peer);
        assert_int_equal(xt_peer_write(&p, data, N), N);
        assert_int_equal(em_tcp_stream_shutdown(&ps), 0);
        burst b = {0};
        assert_int_equal(em_tcp_conn_init(&loop, &b.c, fd, &cbs, &opts[k]), 0);
        assert_int_equal(xt_maybe_attach(&b.c), 0);
        assert_int_equal(em_tcp_conn_read_start(&b.c), 0);
        em_timer tick; /* keeps the loop waking, so a lost edge fails, not hangs */
        em_timer_init(&loop, &tick, tick_noop);
        em_timer_start(&tick, 10, 10);
        EM_TEST_RUN_UNTIL(&loop, b.eof == 1, 3000);
        em_timer_stop(&tick);
        assert_int_equal(b.got, N);
        assert_false(b.bad);
        em_tcp_conn_close(&b.c, NULL);
        em_loop_run(&loop, EM_RUN_NOWAIT);
        assert_int_equal(em_tcp_stream_close(&ps), 0);
        free(data);
        assert_int_equal(em_loop_close(&loop), 0);
    }
}

static void test_init_bad_args(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_tcp_conn c;
    static const em_tcp_conn_cbs no_read = {0};
    assert_int_equal(em_tcp_conn_init(&loop, &c, 0, &no_read, NULL), EM_EINVAL);
    static const em_tcp_conn_cbs cbs = {.on_read = filler_on_read};
    assert_int_equal(em_tcp_conn_init(&loop, &c, -1, &cbs, NULL), EM_EINVAL);
    em_tcp_conn_opts bad = {.high_watermark = 10, .low_watermark = 20};
    assert_int_equal(em_tcp_conn_init(&loop, &c, 0, &cbs, &bad), EM_EINVAL);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* ---- move: a live connection changes owner --------------------------------- */

typedef struct owner {
    em_tcp_conn c;
    size_t got;
    char buf[64];
    uint64_t sent;
    int eof, closed;
    struct owner *heir; /* move into it from inside on_read */
    bool free_after_move;
} owner;

static void owner_on_read(em_tcp_conn *c, ssize_t n);
static void owner_on_sent(em_tcp_conn *c, uint64_t token) {
    EM_CONTAINER_OF(c, owner, c)->sent = token;
}
static const em_tcp_conn_cbs owner_cbs = {.on_read = owner_on_read, .on_sent = owner_on_sent};

static void owner_on_read(em_tcp_conn *c, ssize_t n) {
    owner *o = EM_CONTAINER_OF(c, owner, c);
    if (o->heir) {
        owner *h = o->heir;
        o->heir = NULL;
        /* Unread input moves with the connection. */
        assert_int_equal(em_tcp_conn_move(&h->c, c, &owner_cbs), 0);
        return;
    }
    if (n == EM_EOF) {
        o->eof++;
        return;
    }
    assert_true(n > 0);
    size_t len = em_buf_len(&c->in);
    assert_true(o->got + len <= sizeof o->buf);
    memcpy(o->buf + o->got, em_buf_data(&c->in), len);
    o->got += len;
    em_buf_consume(&c->in, len);
}
static void owner_on_close(em_tcp_conn *c) {
    EM_CONTAINER_OF(c, owner, c)->closed++;
}

static void test_move(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    int peer, fd;
    tt_pair(&peer, &fd);
    small_sndbuf(fd);
    xt_peer p;
    xt_peer_init(&p, peer);
    owner *a = calloc(1, sizeof *a), b = {0}, d = {0};
    assert_non_null(a);
    assert_int_equal(em_tcp_conn_init(&loop, &a->c, fd, &owner_cbs, NULL), 0);
    assert_int_equal(xt_maybe_attach(&a->c), 0);
    assert_int_equal(em_tcp_conn_read_start(&a->c), 0);

    /* Queued output (a zero-copy write larger than the socket takes) and
     * an on_sent still deferred move too. */
    enum { BIG = 2 << 20 };
    char *big = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        big[i] = tt_pat(i);
    em_slice s1 = em_slice_make(big, 1);
    uint64_t t1, t2;
    assert_int_equal(em_tcp_conn_write(&a->c, &s1, 1, 0, &t1), 0);
    em_slice s2 = em_slice_make(big + 1, BIG - 1);
    assert_int_equal(em_tcp_conn_write(&a->c, &s2, 1, 0, &t2), 0);
    assert_true(em_tcp_conn_queued(&a->c) > 0);
    b.c.data = &b;
    assert_int_equal(em_tcp_conn_move(&b.c, &a->c, &owner_cbs), 0);
    assert_ptr_equal(b.c.data, &b); /* dst keeps its data */
    em_tcp_conn_close(&a->c, owner_on_close); /* inert: no-op */
    assert_int_equal(em_tcp_conn_move(&d.c, &a->c, &owner_cbs), EM_ECLOSED);
    free(a); /* at once: nothing of it is left on the loop (ASan) */
    assert_int_equal(em_tcp_conn_fd(&b.c), fd);
    tt_reader r;
    tt_reader_start(&r, peer, true);
    EM_TEST_RUN_UNTIL(&loop, b.sent == t2, 20000);
    assert_int_equal(em_tcp_conn_queued(&b.c), 0);
    assert_int_equal(em_tcp_conn_shutdown(&b.c), 0);
    assert_int_equal(tt_reader_join(&r), BIG);
    free(big);

    /* Moved from inside on_read with the bytes unread: d gets them in its
     * `in` (to parse when it likes), the rest of the stream through its
     * on_read, and the reading goes on. */
    b.heir = &d;
    assert_int_equal(xt_peer_write(&p, "abc", 3), 3);
    EM_TEST_RUN_UNTIL(&loop, b.heir == NULL, 5000);
    assert_int_equal(b.got, 0);
    assert_int_equal(em_buf_len(&d.c.in), 3);
    assert_int_equal(em_buf_len(&b.c.in), 0);
    assert_int_equal(em_tcp_conn_peer(&b.c, &(em_sockaddr){0}), EM_ECLOSED);
    assert_int_equal(xt_peer_write(&p, "defg", 4), 4);
    EM_TEST_RUN_UNTIL(&loop, d.got == 7, 5000);
    assert_memory_equal(d.buf, "abcdefg", 7);
    /* The new owner may swap callbacks again. */
    static const em_tcp_conn_cbs plain_cbs = {.on_read = owner_on_read};
    em_tcp_conn_set_cbs(&d.c, &plain_cbs);
    shutdown(peer, SHUT_WR);
    EM_TEST_RUN_UNTIL(&loop, d.eof == 1, 5000);
    em_tcp_conn_close(&d.c, owner_on_close);
    EM_TEST_RUN_UNTIL(&loop, d.closed == 1, 5000);
    assert_int_equal(b.closed, 0);
    close(peer);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* A move while the deferred task of src (on_sent, here) is on the loop's
 * list: it is taken back and runs for dst. */
static void test_move_with_task_queued(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    int peer, fd;
    tt_pair(&peer, &fd);
    owner *a = calloc(1, sizeof *a), b = {0};
    assert_int_equal(em_tcp_conn_init(&loop, &a->c, fd, &owner_cbs, NULL), 0);
    assert_int_equal(xt_maybe_attach(&a->c), 0);
    em_slice x = EM_SLICE_LIT("x");
    uint64_t t;
    assert_int_equal(em_tcp_conn_write(&a->c, &x, 1, 0, &t), 0);
    assert_int_equal(em_loop_active(&loop), 1); /* the deferred on_sent */
    assert_int_equal(em_tcp_conn_move(&b.c, &a->c, &owner_cbs), 0);
    free(a);
    assert_int_equal(em_loop_active(&loop), 1);
    EM_TEST_RUN_UNTIL(&loop, b.sent == t, 5000);
    em_tcp_conn_close(&b.c, owner_on_close);
    EM_TEST_RUN_UNTIL(&loop, b.closed == 1, 5000);
    close(peer);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* A move from inside on_sent while the same deferred task also owes a read
 * (a transport holding plaintext that no socket event will announce): the
 * read must still happen, for dst. */
typedef struct heir_pair {
    em_tcp_conn c;
    struct heir_pair *heir;
    bool move_in_read; /* move inside on_read, not on_sent */
    size_t got;
    int closed;
} heir_pair;

static void hp_on_sent(em_tcp_conn *c, uint64_t token);
static void hp_on_read(em_tcp_conn *c, ssize_t n) {
    heir_pair *h = EM_CONTAINER_OF(c, heir_pair, c);
    if (n <= 0)
        return;
    h->got += em_buf_len(&c->in);
    em_buf_consume(&c->in, em_buf_len(&c->in));
    if (h->heir && h->move_in_read) { /* the first read: move at once */
        heir_pair *d = h->heir;
        h->heir = NULL;
        static const em_tcp_conn_cbs d_cbs = {.on_read = hp_on_read, .on_sent = hp_on_sent};
        assert_int_equal(em_tcp_conn_move(&d->c, c, &d_cbs), 0);
        return;
    }
    if (h->heir) { /* the first read: answer, and move once it is sent */
        em_slice x = EM_SLICE_LIT("x");
        assert_int_equal(em_tcp_conn_write(c, &x, 1, 0, NULL), 0);
    }
}
static void hp_on_sent(em_tcp_conn *c, uint64_t token) {
    heir_pair *h = EM_CONTAINER_OF(c, heir_pair, c);
    if (!h->heir)
        return;
    heir_pair *d = h->heir;
    h->heir = NULL;
    static const em_tcp_conn_cbs d_cbs = {.on_read = hp_on_read, .on_sent = hp_on_sent};
    assert_int_equal(em_tcp_conn_move(&d->c, c, &d_cbs), 0);
}
static void hp_on_close(em_tcp_conn *c) {
    EM_CONTAINER_OF(c, heir_pair, c)->closed++;
}

static void move_keeps_read(bool in_read) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    int peer, fd;
    tt_pair(&peer, &fd);
    static const em_tcp_conn_cbs cbs = {.on_read = hp_on_read, .on_sent = hp_on_sent};
    heir_pair a = {0}, b = {0};
    a.heir = &b;
    a.move_in_read = in_read;
    /* A read_max far below one record: the transport keeps the rest. */
    em_tcp_conn_opts o = {.read_max = 100};
    assert_int_equal(em_tcp_conn_init(&loop, &a.c, fd, &cbs, &o), 0);
    assert_int_equal(xt_attach(&a.c), 0);
    assert_int_equal(em_tcp_conn_read_start(&a.c), 0);
    xt_peer p;
    xt_peer_init(&p, peer);
    p.on = true; /* the xor transport is on whatever the environment says */
    static char msg[600];
    memset(msg, 'm', sizeof msg);
    assert_int_equal(xt_peer_write(&p, msg, sizeof msg), (ssize_t)sizeof msg);
    EM_TEST_RUN_UNTIL(&loop, a.heir == NULL, 5000);
    /* A ticking timer, so a read that never comes fails the test instead
     * of blocking the loop forever. */
    em_timer tick;
    em_timer_init(&loop, &tick, tick_noop);
    em_timer_start(&tick, 20, 20);
    EM_TEST_RUN_UNTIL(&loop, a.got + b.got == sizeof msg, 2000);
    em_timer_stop(&tick);
    em_tcp_conn_close(&b.c, hp_on_close);
    em_tcp_conn_close(&a.c, hp_on_close); /* moved from: a no-op */
    EM_TEST_RUN_UNTIL(&loop, b.closed == 1, 5000);
    assert_int_equal(a.closed, 0);
    close(peer);
    assert_int_equal(em_loop_close(&loop), 0);
}

static void test_move_inside_on_sent_keeps_read(void **state) {
    move_keeps_read(false);
}

/* The same from inside on_read, the batch cut short by a full `in` while
 * the transport still holds plaintext. */
static void test_move_inside_on_read_keeps_read(void **state) {
    move_keeps_read(true);
}

/* ---- end: close once flushed ----------------------------------------------- */

static int end_closed;
static void end_on_close(em_tcp_conn *c) {
    end_closed++;
}
static int end_reads;
static void end_on_read(em_tcp_conn *c, ssize_t n) {
    end_reads++;
}

static void test_end_flushes_then_closes(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    int peer, fd;
    tt_pair(&peer, &fd);
    small_sndbuf(fd);
    static const em_tcp_conn_cbs cbs = {.on_read = end_on_read};
    em_tcp_conn c;
    assert_int_equal(em_tcp_conn_init(&loop, &c, fd, &cbs, NULL), 0);
    assert_int_equal(xt_maybe_attach(&c), 0);
    assert_int_equal(em_tcp_conn_read_start(&c), 0);
    enum { N = 1 << 20 };
    char *data = malloc(N);
    for (size_t i = 0; i < N; i++)
        data[i] = tt_pat(i);
    em_slice s = em_slice_make(data, N);
    assert_int_equal(em_tcp_conn_write(&c, &s, 1, EM_TCP_WRITE_COPY, NULL), 0);
    free(data);
    assert_true(em_tcp_conn_queued(&c) > 0);
    end_closed = end_reads = 0;
    em_tcp_conn_end(&c, end_on_close);
    em_tcp_conn_end(&c, end_on_close); /* once */
    assert_int_equal(em_tcp_conn_write(&c, &s, 1, 0, NULL), EM_ECLOSED);
    assert_int_equal(em_tcp_conn_read_start(&c), EM_EOF);
    /* No bytes from the peer here: input left unread at the close makes
     * the kernel reset the connection, which may destroy data the peer has
     * not read yet (em_tcp_conn_end says so) and made this test flaky. */
    tt_reader r;
    tt_reader_start(&r, peer, true);
    EM_TEST_RUN_UNTIL(&loop, end_closed == 1, 20000);
    assert_int_equal(tt_reader_join(&r), N); /* everything, then EOF */
    assert_int_equal(end_reads, 0);
    close(peer);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* Nothing queued: end at once (the close callback still from the loop);
 * and a peer that resets while we drain closes early, once, without
 * on_read. */
static void test_end_empty_and_reset(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    static const em_tcp_conn_cbs cbs = {.on_read = end_on_read};
    int peer, fd;
    tt_pair(&peer, &fd);
    em_tcp_conn c;
    assert_int_equal(em_tcp_conn_init(&loop, &c, fd, &cbs, NULL), 0);
    assert_int_equal(xt_maybe_attach(&c), 0);
    end_closed = end_reads = 0;
    em_tcp_conn_end(&c, end_on_close);
    assert_int_equal(end_closed, 0);
    EM_TEST_RUN_UNTIL(&loop, end_closed == 1, 5000);
    char b;
    assert_int_equal(read(peer, &b, 1), 0);
    close(peer);

    tt_pair(&peer, &fd);
    small_sndbuf(fd);
    assert_int_equal(em_tcp_conn_init(&loop, &c, fd, &cbs, NULL), 0);
    assert_int_equal(xt_maybe_attach(&c), 0);
    static char chunk[64 * 1024];
    em_slice s = em_slice_make(chunk, sizeof chunk);
    for (int i = 0; i < 1000 && c._queued == 0; i++)
        assert_int_equal(em_tcp_conn_write(&c, &s, 1, 0, NULL), 0);
    em_tcp_conn_end(&c, end_on_close);
    struct linger lg = {1, 0};
    assert_int_equal(setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(peer);
    EM_TEST_RUN_UNTIL(&loop, end_closed == 2, 10000);
    for (int i = 0; i < 3; i++)
        em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(end_closed, 2);
    assert_int_equal(end_reads, 0);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* em_tcp_conn_set_read_chunk: the next read reserves that much (so 20 KiB
 * waiting arrive in one recv into a 40,000-byte room), capped at read_max;
 * 0 keeps the current value. */
typedef struct chunk_probe {
    em_tcp_conn c;
    ssize_t n;
    size_t room; /* len + avail of c->in at on_read */
} chunk_probe;

static void chunk_on_read(em_tcp_conn *c, ssize_t n) {
    chunk_probe *p = EM_CONTAINER_OF(c, chunk_probe, c);
    p->n = n;
    p->room = em_buf_len(&c->in) + em_buf_avail(&c->in);
    em_buf_consume(&c->in, em_buf_len(&c->in));
}

static void test_set_read_chunk(void **state) {
    (void)state;
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    int peer, fd;
    tt_pair(&peer, &fd);
    chunk_probe p = {0};
    assert_int_equal(em_tcp_conn_init(&loop, &p.c, fd, &(em_tcp_conn_cbs){.on_read = chunk_on_read},
                                      NULL),
                     0);
    assert_int_equal(p.c._read_chunk, 16 * 1024);
    em_tcp_conn_set_read_chunk(&p.c, 0);
    assert_int_equal(p.c._read_chunk, 16 * 1024);
    em_tcp_conn_set_read_chunk(&p.c, 1 << 20);
    assert_int_equal(p.c._read_chunk, em_buf_max(&p.c.in));
    em_tcp_conn_set_read_chunk(&p.c, 40000);
    assert_int_equal(p.c._read_chunk, 40000);
    static char data[20 * 1024];
    memset(data, 'r', sizeof data);
    assert_int_equal(write(peer, data, sizeof data), (ssize_t)sizeof data);
    assert_int_equal(em_tcp_conn_read_start(&p.c), 0);
    EM_TEST_RUN_UNTIL(&loop, p.n != 0, 2000);
    assert_int_equal(p.n, (ssize_t)sizeof data);
    assert_true(p.room >= 40000);
    assert_true(p.room <= em_buf_max(&p.c.in));
    em_tcp_conn_close(&p.c, NULL);
    em_loop_run(&loop, EM_RUN_NOWAIT);
    close(peer);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* A connection carries only what it uses: no cold part (transport, connect
 * in flight) and no write queue until something needs them, so an idle
 * one is its struct alone (every idle HTTP or WebSocket connection). */
static void lean_connected(em_tcp_conn *c, int status) {
    assert_int_equal(status, 0);
    assert_null(em__tcp_ext(c)); /* the connect is over: its part went */
    *(int *)c->data = 1;
}

static void lean_closed(em_tcp_conn *c) {
    *(int *)c->data = 2;
}

static void test_idle_conn_is_lean(void **state) {
    (void)state;
    /* The budget an idle WebSocket's memory is planned around. */
    assert_true(sizeof(em_tcp_conn) <= 168);
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    em_sockaddr any = em_sockaddr_loopback4(0), addr;
    assert_int_equal(bind(lfd, &any.u.sa, em_sockaddr_len(&any)), 0);
    assert_int_equal(listen(lfd, 4), 0);
    assert_int_equal(em_sock_local_addr(lfd, &addr), 0);

    int state_c = 0;
    em_tcp_conn c = {.data = &state_c};
    const em_tcp_conn_cbs cbs = {.on_read = end_on_read};
    assert_int_equal(em_tcp_conn_connect(&loop, &c, &addr, &cbs, NULL, lean_connected), 0);
    assert_non_null(em__tcp_ext(&c)); /* holds the connect callback meanwhile */
    EM_TEST_RUN_UNTIL(&loop, state_c == 1, 5000);
    assert_null(em__tcp_wq(&c));
    /* A write the kernel takes at once queues nothing. */
    em_slice s = EM_SLICE_LIT("hello");
    assert_int_equal(em_tcp_conn_write(&c, &s, 1, 0, NULL), 0);
    assert_null(em__tcp_wq(&c));
    /* A transport needs the part; going back to the plain socket frees it. */
    static int tstate;
    assert_int_equal(em_tcp_conn_set_transport(&c, &xt_transport, &tstate), 0);
    assert_non_null(em__tcp_ext(&c));
    assert_ptr_equal(em_tcp_conn_transport_state(&c), &tstate);
    assert_int_equal(em_tcp_conn_set_transport(&c, NULL, NULL), 0);
    assert_null(em__tcp_ext(&c));
    assert_ptr_equal(em_tcp_conn_transport(&c), &em_tcp_plain_transport);
    em_tcp_conn_close(&c, lean_closed);
    EM_TEST_RUN_UNTIL(&loop, state_c == 2, 5000);
    close(lfd);
    assert_int_equal(em_loop_close(&loop), 0);
}

static void test_peer_addr(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    int peer, fd;
    tt_pair(&peer, &fd);
    em_tcp_conn c;
    assert_int_equal(em_tcp_conn_init(&loop, &c, fd, &(em_tcp_conn_cbs){.on_read = end_on_read},
                                      NULL),
                     0);
    em_sockaddr got, want;
    assert_int_equal(em_tcp_conn_peer(&c, &got), 0);
    assert_int_equal(em_sock_local_addr(peer, &want), 0);
    assert_true(em_sockaddr_equal(&got, &want));
    em_tcp_conn_close(&c, NULL);
    assert_int_equal(em_tcp_conn_peer(&c, &got), EM_ECLOSED);
    em_loop_run(&loop, EM_RUN_NOWAIT);
    close(peer);
    assert_int_equal(em_loop_close(&loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_async_echo),
        cmocka_unit_test(test_peer_half_close),
        cmocka_unit_test(test_close_inside_on_read),
        cmocka_unit_test(test_read_buffer_full),
        cmocka_unit_test(test_init_bad_args),
        cmocka_unit_test(test_edge_triggered_burst),
        cmocka_unit_test(test_move),
        cmocka_unit_test(test_move_with_task_queued),
        cmocka_unit_test(test_move_inside_on_sent_keeps_read),
        cmocka_unit_test(test_move_inside_on_read_keeps_read),
        cmocka_unit_test(test_end_flushes_then_closes),
        cmocka_unit_test(test_end_empty_and_reset),
        cmocka_unit_test(test_peer_addr),
        cmocka_unit_test(test_idle_conn_is_lean),
        cmocka_unit_test(test_set_read_chunk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

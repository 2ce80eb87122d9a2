/* Async server: batched accepts, pause/resume, close inside the accept
 * callback, running out of file descriptors (EMFILE), and an accept error
 * that persists (a back-off, not a spin). */
#include <fcntl.h>
#include <sys/resource.h>

#include "fake_accept.h"
#include "tcp_test_util.h"

typedef struct srv_state {
    em_tcp_server srv;
    int fds[64];
    int naccepted;
    int overload_fds[8];
    int noverload;
    bool keep_overload_fd; /* hold the overload fd: the reserve cannot return */
    bool close_in_accept;
    bool close_in_overload;
    int naccept_err, accept_err; /* on_accept_error: calls, last error */
    bool close_in_accept_error;
} srv_state;

static void on_accept(em_tcp_server *srv, int fd, const em_sockaddr *peer) {
    srv_state *st = srv->data;
    assert_true(st->naccepted < 64);
    assert_int_equal(em_sockaddr_family(peer), AF_INET);
    assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
    st->fds[st->naccepted++] = fd;
    if (st->close_in_accept)
        em_tcp_server_close(srv);
}

static void on_overload(em_tcp_server *srv, int fd) {
    srv_state *st = srv->data;
    assert_true(st->noverload < 8);
    /* Refuse politely: a last word, then close (or hold it, to test the
     * timer path). */
    assert_int_equal(write(fd, "busy", 4), 4);
    st->overload_fds[st->noverload++] = fd;
    if (!st->keep_overload_fd) {
        close(fd);
        st->overload_fds[st->noverload - 1] = -1;
    }
    if (st->close_in_overload)
        em_tcp_server_close(srv);
}

static void on_accept_error(em_tcp_server *srv, int err) {
    srv_state *st = srv->data;
    st->naccept_err++;
    st->accept_err = err;
    if (st->close_in_accept_error)
        em_tcp_server_close(srv);
}

static void start(em_loop *loop, srv_state *st, em_sockaddr *addr, unsigned batch) {
    memset(st, 0, sizeof *st);
    st->srv.data = st;
    em_tcp_server_opts o = {.listen = {.reuseaddr = true},
                            .accept_batch = batch,
                            .emfile_retry_ms = 20,
                            .on_overload = on_overload,
                            .on_accept_error = on_accept_error};
    em_sockaddr any = em_sockaddr_loopback4(0);
    assert_int_equal(em_tcp_server_start(loop, &st->srv, &any, &o, on_accept), 0);
    assert_ptr_equal(st->srv.data, st);
    assert_int_equal(em_tcp_listener_addr(&st->srv.listener, addr), 0);
}

static void finish(em_loop *loop, srv_state *st) {
    em_tcp_server_close(&st->srv);
    em_tcp_server_close(&st->srv); /* twice is harmless */
    for (int i = 0; i < st->naccepted; i++)
        close(st->fds[i]);
    assert_int_equal(em_loop_close(loop), 0);
}

static void test_accept_many_and_pause(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    srv_state st;
    em_sockaddr addr;
    start(&loop, &st, &addr, 2); /* small batches: several turns needed */
    em_tcp_stream cl[10];
    for (int i = 0; i < 10; i++)
        assert_int_equal(em_tcp_connect(&cl[i], &addr, 5000), 0);
    EM_TEST_RUN_UNTIL(&loop, st.naccepted == 10, 10000);
    assert_int_equal(st.srv.accepted, 10);

    em_tcp_server_pause(&st.srv);
    em_tcp_stream late;
    assert_int_equal(em_tcp_connect(&late, &addr, 5000), 0);
    /* Not watching: no accept can happen however many turns run. */
    for (int i = 0; i < 20; i++)
        em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(st.naccepted, 10);
    assert_int_equal(em_tcp_server_resume(&st.srv), 0);
    EM_TEST_RUN_UNTIL(&loop, st.naccepted == 11, 10000);

    for (int i = 0; i < 10; i++)
        assert_int_equal(em_tcp_stream_close(&cl[i]), 0);
    assert_int_equal(em_tcp_stream_close(&late), 0);
    finish(&loop, &st);
    assert_int_equal(em_tcp_server_resume(&st.srv), EM_ECLOSED);
}

/* A listener bound beforehand (how SO_REUSEPORT workers share a port
 * picked with port 0) is adopted; on failure it stays the caller's. */
static void test_adopt_listener(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    srv_state st;
    memset(&st, 0, sizeof st);
    st.srv.data = &st;
    em_tcp_listener l;
    em_sockaddr addr;
    tt_listen(&l, &addr, false);
    assert_int_equal(em_tcp_server_adopt(&loop, &st.srv, &l, NULL, NULL), EM_EINVAL);
    assert_int_equal(em_tcp_server_adopt(&loop, &st.srv, &l, NULL, on_accept), 0);
    assert_int_equal(st.srv.listener.fd, l.fd);
    em_tcp_stream c;
    assert_int_equal(em_tcp_connect(&c, &addr, 5000), 0);
    EM_TEST_RUN_UNTIL(&loop, st.naccepted == 1, 10000);
    assert_int_equal(em_tcp_stream_close(&c), 0);
    finish(&loop, &st);
}

static void test_close_in_accept(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    srv_state st;
    em_sockaddr addr;
    start(&loop, &st, &addr, 0);
    st.close_in_accept = true;
    em_tcp_stream cl[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(em_tcp_connect(&cl[i], &addr, 5000), 0);
    EM_TEST_RUN_UNTIL(&loop, st.naccepted == 1, 10000);
    for (int i = 0; i < 5; i++)
        em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(st.naccepted, 1); /* the batch stopped at the close */
    assert_int_equal(st.srv.listener.fd, -1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(em_tcp_stream_close(&cl[i]), 0);
    finish(&loop, &st);
}

/* Fill the fd table up to a lowered RLIMIT_NOFILE. Returns how many fds
 * were taken into fill[]. */
static int fill_fds(int *fill, int max) {
    int n = 0;
    while (n < max) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            assert_true(errno == EMFILE || errno == ENFILE);
            break;
        }
        fill[n++] = fd;
    }
    assert_true(n < max); /* we really hit the limit */
    return n;
}

static bool read_busy(int fd) {
    char buf[8];
    ssize_t n = read(fd, buf, sizeof buf);
    return n == 4 && memcmp(buf, "busy", 4) == 0;
}

static void test_emfile(void **state) {
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    srv_state st;
    em_sockaddr addr;
    start(&loop, &st, &addr, 0);

    /* Clients first (they need fds too), then fill the table. */
    em_tcp_stream c[6];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(em_tcp_connect(&c[i], &addr, 5000), 0);
        assert_int_equal(em_tcp_stream_set_timeouts(&c[i], 10000, 10000), 0);
    }
    struct rlimit low = {.rlim_cur = (rlim_t)c[2].fd + 16, .rlim_max = old.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    static int fill[4096];
    int nfill = fill_fds(fill, 4096);

    /* 1) Out of fds: the reserve fd lets ember accept each pending client
     *    and hand it to on_overload, which answers "busy" and closes it. */
    EM_TEST_RUN_UNTIL(&loop, st.noverload == 3, 10000);
    assert_int_equal(st.naccepted, 0);
    assert_int_equal(st.srv.overloaded, 3);
    for (int i = 0; i < 3; i++)
        assert_true(read_busy(c[i].fd));

    /* 2) The overload callback now holds its fd, so the reserve cannot be
     *    reopened after c[3] is refused... */
    st.keep_overload_fd = true;
    close(fill[--nfill]);
    assert_int_equal(em_tcp_connect(&c[3], &addr, 5000), 0);
    EM_TEST_RUN_UNTIL(&loop, st.noverload == 4, 10000);
    assert_true(read_busy(c[3].fd));
    /* ...and the next EMFILE stops watching the listener and waits for the
     *    retry timer instead of spinning. */
    close(fill[--nfill]);
    assert_int_equal(em_tcp_connect(&c[4], &addr, 5000), 0);
    EM_TEST_RUN_UNTIL(&loop, em_timer_active(&st.srv._retry), 10000);
    assert_false(em_io_active(&st.srv._io));
    assert_int_equal(st.noverload, 4);
    assert_int_equal(st.naccepted, 0);

    /* 3) With fds back, the timer resumes accepting and c[4] is served. */
    for (int i = 0; i < nfill; i++)
        close(fill[i]);
    close(st.overload_fds[3]);
    st.overload_fds[3] = -1;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    EM_TEST_RUN_UNTIL(&loop, st.naccepted == 1, 10000);
    assert_int_equal(write(st.fds[0], "ok", 2), 2);
    char buf[2];
    assert_int_equal(em_tcp_stream_read(&c[4], buf, 2), 2);
    assert_memory_equal(buf, "ok", 2);
    assert_int_equal(em_tcp_connect(&c[5], &addr, 5000), 0);
    EM_TEST_RUN_UNTIL(&loop, st.naccepted == 2, 10000);
    assert_int_equal(st.noverload, 4);

    for (int i = 0; i < 6; i++)
        assert_int_equal(em_tcp_stream_close(&c[i]), 0);
    finish(&loop, &st);
}

/* Closing the server from inside on_overload: nothing of it stays open (the
 * reserve fd used to be reopened after the callback, and leaked). */
static void test_close_in_overload(void **state) {
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    srv_state st;
    em_sockaddr addr;
    start(&loop, &st, &addr, 0);
    st.close_in_overload = true;
    em_tcp_stream c;
    assert_int_equal(em_tcp_connect(&c, &addr, 5000), 0);
    assert_int_equal(em_tcp_stream_set_timeouts(&c, 10000, 10000), 0);
    struct rlimit low = {.rlim_cur = (rlim_t)c.fd + 16, .rlim_max = old.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    static int fill[4096];
    int nfill = fill_fds(fill, 4096);
    EM_TEST_RUN_UNTIL(&loop, st.noverload == 1, 10000);
    for (int i = 0; i < nfill; i++)
        close(fill[i]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_true(read_busy(c.fd));
    assert_int_equal(st.srv.listener.fd, -1);
    assert_int_equal(st.srv._reserve_fd, -1);
    assert_int_equal(em_tcp_stream_close(&c), 0);
    finish(&loop, &st);
}

/* ---- accepting straight into connections ---------------------------------- */

typedef struct acc_conn {
    em_tcp_conn c;
    em_sockaddr peer;
    size_t got;
    int ready, closed;
} acc_conn;

static acc_conn acc[4];
static int nalloc, nready, nrefused;

static void acc_on_read(em_tcp_conn *c, ssize_t n) {
    acc_conn *a = EM_CONTAINER_OF(c, acc_conn, c);
    if (n < 0) {
        em_tcp_conn_end(c, NULL);
        return;
    }
    em_slice s = em_buf_slice(&c->in);
    a->got += s.len;
    assert_int_equal(em_tcp_conn_write(c, &s, 1, EM_TCP_WRITE_COPY, NULL), 0);
    em_buf_consume(&c->in, s.len);
}
static const em_tcp_conn_cbs acc_cbs = {.on_read = acc_on_read};

static em_tcp_conn *acc_alloc(em_tcp_server *srv, const em_sockaddr *peer) {
    if (nalloc == 2) { /* refuse the third */
        nrefused++;
        return NULL;
    }
    acc_conn *a = &acc[nalloc++];
    a->peer = *peer;
    a->c.data = srv;
    return &a->c;
}
static void acc_on_conn(em_tcp_server *srv, em_tcp_conn *c, int status) {
    assert_int_equal(status, 0);
    assert_ptr_equal(c->data, srv); /* set in alloc, kept by init */
    assert_int_equal(xt_maybe_attach(c), 0);
    EM_CONTAINER_OF(c, acc_conn, c)->ready++;
    nready++;
}

static void test_accept_into_conn(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    memset(acc, 0, sizeof acc);
    nalloc = nready = nrefused = 0;
    em_tcp_server srv = {0};
    em_tcp_server_opts o = {.listen = em_tcp_listen_opts_default(),
                            .conn_alloc = acc_alloc,
                            .conn_cbs = &acc_cbs};
    em_sockaddr any = em_sockaddr_loopback4(0), addr;
    assert_int_equal(em_tcp_server_start(&loop, &srv, &any, &o, NULL), EM_EINVAL); /* no on_conn */
    o.on_conn = acc_on_conn;
    assert_int_equal(em_tcp_server_start(&loop, &srv, &any, &o, NULL), 0);
    assert_int_equal(em_tcp_listener_addr(&srv.listener, &addr), 0);
    em_tcp_stream cl[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(em_tcp_connect(&cl[i], &addr, 5000), 0);
    EM_TEST_RUN_UNTIL(&loop, nready == 2 && nrefused == 1, 10000);
    for (int i = 0; i < 2; i++) {
        em_sockaddr local, peer;
        assert_int_equal(em_sock_local_addr(cl[i].fd, &local), 0);
        assert_true(em_sockaddr_equal(&acc[i].peer, &local));
        assert_int_equal(em_tcp_conn_peer(&acc[i].c, &peer), 0);
        assert_true(em_sockaddr_equal(&peer, &local));
        /* Already reading: an echo comes back. */
        xt_peer p;
        xt_peer_init(&p, cl[i].fd);
        assert_int_equal(xt_peer_write(&p, "hey", 3), 3);
        EM_TEST_RUN_UNTIL(&loop, acc[i].got == 3, 5000);
        char buf[3];
        tt_peer_read_exact(&p, buf, 3);
        assert_memory_equal(buf, "hey", 3);
    }
    char b;
    assert_int_equal(em_tcp_stream_read(&cl[2], &b, 1), EM_EOF); /* refused: closed */
    for (int i = 0; i < 3; i++)
        assert_int_equal(em_tcp_stream_close(&cl[i]), 0);
    EM_TEST_RUN_UNTIL(&loop, em_tcp_conn_fd(&acc[0].c) < 0 && em_tcp_conn_fd(&acc[1].c) < 0, 5000);
    em_tcp_server_close(&srv);
    em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* ---- a persistent accept error ------------------------------------------- */

static void on_done(em_timer *t) {
    *(bool *)t->data = true;
}

/* shutdown(SHUT_RD) on a listening socket leaves it readable for ever while
 * accept fails with EINVAL: the server must back off on its retry timer
 * instead of spinning on the level-triggered listener. Counted in loop
 * turns, not time: a spinning server turns thousands of times in 300 ms,
 * a backing-off one about twice per retry (the timer, then the accept). */
static void test_persistent_accept_error(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    srv_state st;
    em_sockaddr addr;
    start(&loop, &st, &addr, 0); /* retries after 20 ms */
    assert_int_equal(shutdown(st.srv.listener.fd, SHUT_RD), 0);

    bool done = false;
    em_timer t;
    em_timer_init(&loop, &t, on_done);
    t.data = &done;
    em_timer_start(&t, 300, 0);
    unsigned turns = 0;
    while (!done && turns < 100000) {
        em_loop_run(&loop, EM_RUN_ONCE);
        turns++;
    }
    assert_true(done);
    assert_true(turns < 200);
    /* Told once per try, and tried again after the pause. */
    assert_true(st.naccept_err >= 1 && (unsigned)st.naccept_err <= turns);
    assert_int_equal(st.accept_err, EM_EINVAL);
    EM_TEST_RUN_UNTIL(&loop, st.naccept_err >= 2, 10000);
    assert_int_equal(st.naccepted, 0);
    finish(&loop, &st);

    /* The callback may close the server: nothing stays armed. */
    assert_int_equal(em_loop_init(&loop), 0);
    start(&loop, &st, &addr, 0);
    st.close_in_accept_error = true;
    assert_int_equal(shutdown(st.srv.listener.fd, SHUT_RD), 0);
    EM_TEST_RUN_UNTIL(&loop, st.naccept_err == 1, 10000);
    assert_int_equal(st.srv.listener.fd, -1);
    assert_false(em_timer_active(&st.srv._retry));
    em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(st.naccept_err, 1);
    finish(&loop, &st);
}

/* The errors accept(2) reports for one connection (aborted, refused by a
 * firewall, a network error passed on) do not interrupt the batch: the
 * next accept follows at once. One that would persist (ENOBUFS) is told
 * to on_accept_error once and waits for the retry timer. Counted in
 * accept4 calls, scripted through fake_accept.h. */
static void test_accept_error_kinds(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    srv_state st;
    em_sockaddr addr;
    start(&loop, &st, &addr, 0);
    em_tcp_stream c[2];
    static const int transient[] = {ECONNABORTED, EPERM, EPROTO, EHOSTUNREACH, EINTR};
    script_accept_errors(transient, 5);
    assert_int_equal(em_tcp_connect(&c[0], &addr, 5000), 0);
    EM_TEST_RUN_UNTIL(&loop, st.naccepted == 1, 10000);
    /* One wakeup: five errors, the connection, then EAGAIN. */
    assert_int_equal(naccept4, 7);
    assert_int_equal(st.naccept_err, 0);
    assert_false(em_timer_active(&st.srv._retry));
    assert_true(em_io_active(&st.srv._io));

    static const int persistent[] = {ENOBUFS};
    script_accept_errors(persistent, 1);
    assert_int_equal(em_tcp_connect(&c[1], &addr, 5000), 0);
    EM_TEST_RUN_UNTIL(&loop, st.naccept_err == 1, 10000);
    assert_int_equal(st.accept_err, EM_ENOBUFS);
    assert_int_equal(naccept4, 1); /* the batch stopped there */
    assert_true(em_timer_active(&st.srv._retry));
    assert_false(em_io_active(&st.srv._io));
    /* The retry accepts the connection still waiting. */
    EM_TEST_RUN_UNTIL(&loop, st.naccepted == 2, 10000);
    assert_int_equal(st.naccept_err, 1);
    assert_true(em_io_active(&st.srv._io));
    for (int i = 0; i < 2; i++)
        assert_int_equal(em_tcp_stream_close(&c[i]), 0);
    finish(&loop, &st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_many_and_pause),   cmocka_unit_test(test_adopt_listener),
        cmocka_unit_test(test_close_in_accept),         cmocka_unit_test(test_emfile),
        cmocka_unit_test(test_close_in_overload),       cmocka_unit_test(test_accept_into_conn),
        cmocka_unit_test(test_persistent_accept_error), cmocka_unit_test(test_accept_error_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

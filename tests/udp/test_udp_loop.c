/* udp/udp_loop.c: sockets on the loop. */
#include <stdio.h>
#include <string.h>

#include "em_test.h"
#include "ember/udp.h"

#define WAIT_MS 10000
#define N_ECHO  20

typedef struct echo_ctx {
    em_udp srv, cli;
    em_sockaddr srv_addr;
    unsigned served, received, bad;
    bool seen[N_ECHO];
    int use_batch;
} echo_ctx;

/* EM_RUN_ONCE blocks while a socket is active; a ticking timer wakes the
 * loop so EM_TEST_RUN_UNTIL can notice its deadline. */
static void on_tick(em_timer *t) {
    (void)t;
}

static void on_server(em_udp *u, int status) {
    echo_ctx *c = u->data;
    assert_int_equal(status, 0);
    char buf[64];
    if (c->use_batch) {
        char bufs[8][64];
        em_udp_msg msgs[8];
        memset(msgs, 0, sizeof msgs);
        for (unsigned i = 0; i < 8; i++) {
            msgs[i].buf = bufs[i];
            msgs[i].cap = sizeof bufs[i];
        }
        int n;
        while ((n = em_udp_recv_batch(u, msgs, 8)) > 0) {
            assert_int_equal(em_udp_send_batch(u, msgs, (unsigned)n), n);
            c->served += (unsigned)n;
        }
        assert_int_equal(n, EM_EAGAIN);
        return;
    }
    em_sockaddr from;
    ssize_t n;
    while ((n = em_udp_recv_from(u, buf, sizeof buf, &from)) >= 0) {
        assert_int_equal(em_udp_send_to(u, buf, (size_t)n, &from), n);
        c->served++;
    }
    assert_int_equal(n, EM_EAGAIN);
}

static void on_client(em_udp *u, int status) {
    echo_ctx *c = u->data;
    assert_int_equal(status, 0);
    char buf[64];
    em_sockaddr from;
    ssize_t n;
    while ((n = em_udp_recv_from(u, buf, sizeof buf - 1, &from)) >= 0) {
        unsigned idx;
        buf[n] = '\0';
        if (!em_sockaddr_equal(&from, &c->srv_addr) || sscanf(buf, "echo %u", &idx) != 1 ||
            idx >= N_ECHO || c->seen[idx]) {
            c->bad++;
            continue;
        }
        c->seen[idx] = true;
        c->received++;
    }
    assert_int_equal(n, EM_EAGAIN);
}

static void run_echo(int use_batch) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    echo_ctx c;
    memset(&c, 0, sizeof c);
    c.use_batch = use_batch;
    em_sockaddr a = em_sockaddr_loopback4(0);
    assert_int_equal(em_udp_bind(&c.srv, &a, NULL), 0);
    assert_int_equal(em_udp_bind(&c.cli, &a, NULL), 0);
    assert_int_equal(em_udp_local_addr(&c.srv, &c.srv_addr), 0);
    c.srv.data = &c;
    c.cli.data = &c;
    assert_int_equal(em_udp_start(&loop, &c.srv, on_server), 0);
    assert_int_equal(em_udp_start(&loop, &c.cli, on_client), 0);
    assert_true(em_udp_active(&c.srv));

    em_timer tick;
    em_timer_init(&loop, &tick, on_tick);
    em_timer_start(&tick, 20, 20);

    for (unsigned i = 0; i < N_ECHO; i++) {
        char msg[32];
        int len = snprintf(msg, sizeof msg, "echo %u", i);
        assert_int_equal(em_udp_send_to(&c.cli, msg, (size_t)len, &c.srv_addr), len);
    }
    EM_TEST_RUN_UNTIL(&loop, c.received == N_ECHO, WAIT_MS);
    assert_int_equal(c.served, N_ECHO);
    assert_int_equal(c.bad, 0);

    em_timer_stop(&tick);
    em_udp_stop(&c.srv);
    assert_false(em_udp_active(&c.srv));
    assert_int_equal(em_udp_close(&c.srv), 0);
    assert_int_equal(em_udp_close(&c.cli), 0);
    assert_int_equal(em_loop_run(&loop, EM_RUN_NOWAIT), 0);
    assert_int_equal(em_loop_close(&loop), 0);
}

static void test_echo(void **state) {
    (void)state;
    run_echo(0);
}

static void test_echo_batch(void **state) {
    (void)state;
    run_echo(1);
}

typedef struct once_ctx {
    em_udp u;
    unsigned calls;
    int close_instead;
} once_ctx;

/* Reads one datagram, then stops (or closes) the socket from inside its
 * own callback: no further callbacks may arrive though more are queued. */
static void on_once(em_udp *u, int status) {
    once_ctx *c = u->data;
    assert_int_equal(status, 0);
    c->calls++;
    char buf[8];
    assert_int_equal(em_udp_recv(u, buf, sizeof buf), 1);
    if (c->close_instead)
        assert_int_equal(em_udp_close(u), 0);
    else
        em_udp_stop(u);
}

static void stop_inside(int close_instead) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    once_ctx c;
    memset(&c, 0, sizeof c);
    c.close_instead = close_instead;
    em_sockaddr a = em_sockaddr_loopback4(0), addr;
    assert_int_equal(em_udp_bind(&c.u, &a, NULL), 0);
    assert_int_equal(em_udp_local_addr(&c.u, &addr), 0);
    c.u.data = &c;
    em_udp sender;
    assert_int_equal(em_udp_bind(&sender, &a, NULL), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(em_udp_send_to(&sender, "z", 1, &addr), 1);
    assert_int_equal(em_udp_start(&loop, &c.u, on_once), 0);

    em_timer tick;
    em_timer_init(&loop, &tick, on_tick);
    em_timer_start(&tick, 20, 20);
    EM_TEST_RUN_UNTIL(&loop, c.calls > 0, WAIT_MS);
    /* A few more turns: a stopped watcher must stay silent. */
    for (int i = 0; i < 3; i++)
        em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(c.calls, 1);
    assert_false(em_udp_active(&c.u));
    em_timer_stop(&tick);

    if (!close_instead) {
        /* Still open: the queued datagrams are there, now read nonblocking. */
        char buf[8];
        assert_int_equal(em_udp_recv(&c.u, buf, sizeof buf), 1);
        assert_int_equal(em_udp_recv(&c.u, buf, sizeof buf), 1);
        assert_int_equal(em_udp_recv(&c.u, buf, sizeof buf), EM_EAGAIN);
    } else {
        assert_int_equal(c.u.fd, -1);
    }
    assert_int_equal(em_udp_close(&c.u), 0);
    assert_int_equal(em_udp_close(&sender), 0);
    assert_int_equal(em_loop_close(&loop), 0);
}

static void test_stop_inside_callback(void **state) {
    (void)state;
    stop_inside(0);
}

static void test_close_inside_callback(void **state) {
    (void)state;
    stop_inside(1);
}

typedef struct refused_ctx {
    em_udp u;
    int err;
} refused_ctx;

/* The error may come as the callback's status (EPOLLERR) or from the read. */
static void on_refused(em_udp *u, int status) {
    refused_ctx *c = u->data;
    if (status < 0) {
        c->err = status;
        return;
    }
    char buf[8];
    ssize_t n = em_udp_recv(u, buf, sizeof buf);
    if (n < 0 && n != EM_EAGAIN)
        c->err = (int)n;
}

static void test_refused_on_loop(void **state) {
    (void)state;
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_udp tmp;
    em_sockaddr a = em_sockaddr_loopback4(0), dead;
    assert_int_equal(em_udp_bind(&tmp, &a, NULL), 0);
    assert_int_equal(em_udp_local_addr(&tmp, &dead), 0);
    assert_int_equal(em_udp_close(&tmp), 0);

    refused_ctx c;
    memset(&c, 0, sizeof c);
    assert_int_equal(em_udp_bind(&c.u, &a, NULL), 0);
    c.u.data = &c;
    assert_int_equal(em_udp_connect(&c.u, &dead), 0);
    assert_int_equal(em_udp_start(&loop, &c.u, on_refused), 0);
    assert_int_equal(em_udp_send(&c.u, "x", 1), 1);

    em_timer tick;
    em_timer_init(&loop, &tick, on_tick);
    em_timer_start(&tick, 20, 20);
    EM_TEST_RUN_UNTIL(&loop, c.err != 0, WAIT_MS);
    assert_int_equal(c.err, EM_ECONNREFUSED);
    em_timer_stop(&tick);
    assert_int_equal(em_udp_close(&c.u), 0);
    assert_int_equal(em_loop_close(&loop), 0);
}

static void test_start_errors(void **state) {
    (void)state;
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_udp u;
    em_sockaddr a = em_sockaddr_loopback4(0);
    assert_int_equal(em_udp_bind(&u, &a, NULL), 0);
    assert_int_equal(em_udp_start(&loop, &u, NULL), EM_EINVAL);
    assert_int_equal(em_udp_close(&u), 0);
    assert_int_equal(em_udp_start(&loop, &u, on_once), EM_ECLOSED);
    assert_int_equal(em_loop_close(&loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo),
        cmocka_unit_test(test_echo_batch),
        cmocka_unit_test(test_stop_inside_callback),
        cmocka_unit_test(test_close_inside_callback),
        cmocka_unit_test(test_refused_on_loop),
        cmocka_unit_test(test_start_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

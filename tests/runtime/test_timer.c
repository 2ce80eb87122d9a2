/* runtime/timer.c: timers on a real loop. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "em_test.h"
#include "ember/runtime.h"

typedef struct rec {
    em_timer t;
    uint64_t started_at, timeout;
    int fired;
    unsigned *order; /* shared sequence counter */
    unsigned seq;
} rec;

static void on_rec(em_timer *t) {
    rec *r = EM_CONTAINER_OF(t, rec, t);
    assert_true(em_loop_now(t->_loop) >= r->started_at + r->timeout);
    r->fired++;
    r->seq = (*r->order)++;
}

static void test_fire_in_order(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    enum { N = 200 };
    rec *rs = calloc(N, sizeof *rs);
    unsigned order = 0;
    srand(7);
    for (int i = 0; i < N; i++) {
        em_timer_init(&loop, &rs[i].t, on_rec);
        rs[i].timeout = (uint64_t)(rand() % 120);
        rs[i].started_at = em_loop_now(&loop);
        rs[i].order = &order;
        em_timer_start(&rs[i].t, rs[i].timeout, 0);
    }
    assert_int_equal(em_loop_active(&loop), N);
    /* Due times count from each start call, in whole milliseconds: two
     * timers started on either side of a millisecond tick with timeouts
     * 1 ms apart may share a due time, and then fire in start order. An
     * earlier due time, or a timeout shorter by 2 ms or more, fires first. */
    uint64_t *due = calloc(N, sizeof *due);
    for (int i = 0; i < N; i++)
        due[i] = rs[i].t._due;
    assert_int_equal(em_loop_run(&loop, EM_RUN_DEFAULT), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(rs[i].fired, 1);
        for (int j = 0; j < N; j++)
            if (due[i] < due[j] || rs[i].timeout + 1 < rs[j].timeout)
                assert_true(rs[i].seq < rs[j].seq);
    }
    free(due);
    free(rs);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* Same due time: FIFO in start order. */
static void test_same_due_fifo(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    rec rs[5] = {0};
    unsigned order = 0;
    for (int i = 0; i < 5; i++) {
        em_timer_init(&loop, &rs[i].t, on_rec);
        rs[i].started_at = em_loop_now(&loop);
        rs[i].timeout = 5;
        rs[i].order = &order;
        em_timer_start(&rs[i].t, 5, 0);
    }
    em_loop_run(&loop, EM_RUN_DEFAULT);
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(rs[i].seq, i);
    assert_int_equal(em_loop_close(&loop), 0);
}

typedef struct pair {
    em_timer a, b;
    int a_fired, b_fired;
} pair;

static void on_a_cancels_b(em_timer *t) {
    pair *p = t->data;
    p->a_fired++;
    em_timer_stop(&p->b);
}
static void on_b(em_timer *t) {
    pair *p = t->data;
    p->b_fired++;
}

static void test_cancel_in_callback(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    pair p = {0};
    em_timer_init(&loop, &p.a, on_a_cancels_b);
    em_timer_init(&loop, &p.b, on_b);
    p.a.data = p.b.data = &p;
    em_timer_start(&p.a, 10, 0);
    em_timer_start(&p.b, 10, 0); /* collected in the same batch as a */
    em_loop_run(&loop, EM_RUN_DEFAULT);
    assert_int_equal(p.a_fired, 1);
    assert_int_equal(p.b_fired, 0);
    assert_false(em_timer_active(&p.b));
    assert_int_equal(em_loop_close(&loop), 0);
}

typedef struct rep {
    em_timer t;
    int n, stop_at;
} rep;
static void on_repeat(em_timer *t) {
    rep *r = EM_CONTAINER_OF(t, rep, t);
    if (++r->n == r->stop_at)
        em_timer_stop(t);
}

static void test_repeat_and_stop_self(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    rep r = { .stop_at = 5 };
    em_timer_init(&loop, &r.t, on_repeat);
    uint64_t t0 = em_loop_now(&loop);
    em_timer_start(&r.t, 2, 3);
    em_loop_run(&loop, EM_RUN_DEFAULT);
    assert_int_equal(r.n, 5);
    assert_true(em_loop_now(&loop) - t0 >= 2 + 4 * 3);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* A repeat past 2^32 - 1 ms is taken as that (the timer keeps it in 32
 * bits), not wrapped into a short one. */
static void test_repeat_cap(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    rep r = {.stop_at = 0};
    em_timer_init(&loop, &r.t, on_repeat);
    em_timer_start(&r.t, 1, (uint64_t)UINT32_MAX + 5);
    EM_TEST_RUN_UNTIL(&loop, r.n == 1, 2000);
    assert_true(em_timer_active(&r.t));
    assert_true(r.t._due - em_loop_now(&loop) > UINT32_MAX - 1000);
    assert_true(r.t._due - em_loop_now(&loop) <= UINT32_MAX);
    em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(r.n, 1);
    em_timer_stop(&r.t);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* Restarting from its own callback: a zero timeout fires next turn, not in
 * a busy loop inside this one. */
static int restarts;
static void on_restart(em_timer *t) {
    if (++restarts < 100)
        em_timer_start(t, 0, 0);
}
static void test_restart_in_callback(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_timer t;
    em_timer_init(&loop, &t, on_restart);
    em_timer_start(&t, 0, 0);
    assert_int_equal(em_loop_run(&loop, EM_RUN_NOWAIT), 1);
    /* One turn fires due timers before and after its poll: at most two. */
    assert_true(restarts >= 1 && restarts <= 2);
    em_loop_run(&loop, EM_RUN_DEFAULT);
    assert_int_equal(restarts, 100);
    assert_int_equal(em_loop_close(&loop), 0);
}

static void test_restart_moves(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    rec r = {0};
    unsigned order = 0;
    r.order = &order;
    em_timer_init(&loop, &r.t, on_rec);
    em_timer_start(&r.t, 10000, 0);
    r.started_at = em_loop_now(&loop);
    r.timeout = 5;
    em_timer_start(&r.t, 5, 0); /* moved: still one active timer */
    assert_int_equal(em_loop_active(&loop), 1);
    em_loop_run(&loop, EM_RUN_DEFAULT);
    assert_int_equal(r.fired, 1);
    assert_int_equal(em_loop_close(&loop), 0);
}

static int hundred_k_fired;
static void on_count(em_timer *t) { hundred_k_fired++; }

/* 100,000 timers over 300 ms, a third stopped: the rest fire once each. */
static void test_hundred_thousand(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    enum { N = 100000 };
    em_timer *ts = calloc(N, sizeof *ts);
    for (int i = 0; i < N; i++) {
        em_timer_init(&loop, &ts[i], on_count);
        em_timer_start(&ts[i], (uint64_t)(i % 300), 0);
    }
    int stopped = 0;
    for (int i = 0; i < N; i += 3, stopped++)
        em_timer_stop(&ts[i]);
    em_loop_run(&loop, EM_RUN_DEFAULT);
    assert_int_equal(hundred_k_fired, N - stopped);
    free(ts);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* A far-away timer keeps the loop alive but does not block a stop. */
static void on_stop_loop(em_timer *t) { em_loop_stop(t->_loop); }
static void test_far_timer(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_timer far, near;
    em_timer_init(&loop, &far, on_count);
    em_timer_init(&loop, &near, on_stop_loop);
    em_timer_start(&far, 3600ull * 1000 * 24 * 365, 0);
    em_timer_start(&near, 20, 0);
    assert_int_equal(em_loop_run(&loop, EM_RUN_DEFAULT), 0);
    assert_true(em_timer_active(&far));
    assert_int_equal(em_loop_close(&loop), EM_EBUSY);
    em_timer_stop(&far);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* ---- accuracy: never early, repeats without drift ---------------------- */

static double mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void spin_ms(double ms) {
    double end = mono_ms() + ms;
    while (mono_ms() < end)
        ;
}

typedef struct acc {
    em_timer t, later, ticker;
    double started, fired;
} acc;

static void on_acc(em_timer *t) {
    acc *a = t->data;
    a->fired = mono_ms();
    em_timer_stop(&a->ticker);
}

static void on_tick(em_timer *t) {}

/* "fire after timeout_ms" holds from the em_timer_start() call, not from
 * the loop's cached clock: a timer started while that clock is stale (after
 * a long callback, or a while after em_loop_init) or part-way through a
 * millisecond fires no earlier than timeout_ms later. */
static void test_never_early(void **state) {
    for (int i = 0; i < 20; i++) {
        em_loop loop;
        assert_int_equal(em_loop_init(&loop), 0);
        acc a = {0};
        em_timer_init(&loop, &a.t, on_acc);
        a.t.data = &a;
        spin_ms(i % 2 ? 3.0 : 0.05 * i); /* the cached clock goes stale */
        a.started = mono_ms();
        em_timer_start(&a.t, 10, 0);
        assert_int_equal(em_loop_run(&loop, EM_RUN_DEFAULT), 0);
        if (a.fired - a.started < 10.0)
            fail_msg("round %d: a 10 ms timer fired after %.3f ms", i, a.fired - a.started);
        assert_int_equal(em_loop_close(&loop), 0);
    }
}

/* The same from inside a callback that took its time, with a 1 ms ticker
 * waking the loop so no long poll hides an early due time. */
static void on_slow_then_start(em_timer *t) {
    acc *a = t->data;
    spin_ms(4.0);
    a->started = mono_ms();
    em_timer_start(&a->later, 10, 0);
}

static void test_never_early_from_callback(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    acc a = {0};
    em_timer_init(&loop, &a.t, on_slow_then_start);
    em_timer_init(&loop, &a.later, on_acc);
    em_timer_init(&loop, &a.ticker, on_tick);
    a.t.data = a.later.data = &a;
    em_timer_start(&a.t, 1, 0);
    em_timer_start(&a.ticker, 1, 1);
    assert_int_equal(em_loop_run(&loop, EM_RUN_DEFAULT), 0);
    if (a.fired - a.started < 10.0)
        fail_msg("a 10 ms timer started in a callback fired after %.3f ms",
                 a.fired - a.started);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* "then every repeat_ms": the n-th firing is due n periods after the
 * first, however late each callback ran (a 4 ms callback on a 10 ms
 * period must not stretch the period to 14 ms). Checked on the schedule
 * itself (the timer's next due time, read in the callback), not on how
 * long 30 firings took: on a loaded machine the loop may run late, but
 * every due time must stay on the 10 ms grid of the first one (a late
 * turn skips periods, it never shifts them), and no firing comes before
 * its due time. */
typedef struct drift {
    em_timer t;
    int n;
    double started;
    uint64_t first_due, last_due;
    char bad[160];
} drift;

static void on_drift(em_timer *t) {
    drift *d = EM_CONTAINER_OF(t, drift, t);
    double at = mono_ms();
    uint64_t due = t->_due; /* the next firing's, already re-armed */
    if (!d->bad[0] && at < d->started + 10.0 * (d->n + 1) - 1.0)
        snprintf(d->bad, sizeof d->bad, "firing %d came %.1f ms after the start", d->n + 1,
                 at - d->started);
    if (d->n == 0)
        d->first_due = due;
    else if (!d->bad[0] && (due <= d->last_due || (due - d->first_due) % 10 != 0))
        snprintf(d->bad, sizeof d->bad, "firing %d re-armed %llu ms after the first's due time",
                 d->n + 1, (unsigned long long)(due - d->first_due));
    d->last_due = due;
    if (++d->n == 30)
        em_timer_stop(t);
    else
        spin_ms(4.0);
}

static void test_repeat_no_drift(void **state) {
    (void)state;
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    drift d = {0};
    em_timer_init(&loop, &d.t, on_drift);
    d.started = mono_ms();
    em_timer_start(&d.t, 10, 10);
    assert_int_equal(em_loop_run(&loop, EM_RUN_DEFAULT), 0);
    assert_int_equal(d.n, 30);
    if (d.bad[0])
        fail_msg("%s", d.bad);
    assert_int_equal(em_loop_close(&loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fire_in_order),
        cmocka_unit_test(test_same_due_fifo),
        cmocka_unit_test(test_cancel_in_callback),
        cmocka_unit_test(test_repeat_and_stop_self),
        cmocka_unit_test(test_repeat_cap),
        cmocka_unit_test(test_restart_in_callback),
        cmocka_unit_test(test_restart_moves),
        cmocka_unit_test(test_hundred_thousand),
        cmocka_unit_test(test_far_timer),
        cmocka_unit_test(test_never_early),
        cmocka_unit_test(test_never_early_from_callback),
        cmocka_unit_test(test_repeat_no_drift),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* runtime/loop.c: run modes, deferred tasks, cross-thread posts, stop. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "em_test.h"
#include "ember/runtime.h"

static void test_init_close_idle(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    assert_int_equal(em_loop_active(&loop), 0);
    /* Nothing active: every mode returns at once. */
    assert_int_equal(em_loop_run(&loop, EM_RUN_DEFAULT), 0);
    assert_int_equal(em_loop_run(&loop, EM_RUN_ONCE), 0);
    assert_int_equal(em_loop_run(&loop, EM_RUN_NOWAIT), 0);
    assert_int_equal(em_loop_close(&loop), 0);
}

static void test_time_moves(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    uint64_t t0 = em_loop_now(&loop);
    usleep(20000);
    assert_int_equal(em_loop_now(&loop), t0); /* cached */
    em_loop_update_time(&loop);
    assert_true(em_loop_now(&loop) >= t0 + 19);
    assert_int_equal(em_loop_close(&loop), 0);
}

static void test_ref_keeps_alive(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_loop_ref(&loop);
    assert_int_equal(em_loop_active(&loop), 1);
    assert_int_equal(em_loop_close(&loop), EM_EBUSY);
    assert_int_equal(em_loop_run(&loop, EM_RUN_NOWAIT), 1);
    em_loop_unref(&loop);
    em_loop_unref(&loop); /* never below zero */
    assert_int_equal(em_loop_active(&loop), 0);
    assert_int_equal(em_loop_close(&loop), 0);
}

typedef struct dtask {
    em_task task;
    em_loop *loop;
    int *log;
    int *n;
    int id;
    struct dtask *chain; /* deferred from inside this one */
} dtask;

static void on_dtask(em_task *t) {
    dtask *d = EM_CONTAINER_OF(t, dtask, task);
    d->log[(*d->n)++] = d->id;
    if (d->chain)
        em_loop_defer(d->loop, &d->chain->task);
}

static void test_defer_fifo_and_bounded(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    int log[8], n = 0;
    dtask d[4];
    for (int i = 0; i < 4; i++)
        d[i] = (dtask){ .task = { .cb = on_dtask }, .loop = &loop, .log = log, .n = &n, .id = i };
    d[0].chain = &d[3];
    em_loop_defer(&loop, &d[0].task);
    em_loop_defer(&loop, &d[1].task);
    em_loop_defer(&loop, &d[2].task);
    assert_int_equal(em_loop_active(&loop), 3);
    /* One NOWAIT turn runs the three; d[3], deferred by d[0], runs in the
     * drain after the poll of the same turn at the earliest. */
    em_loop_run(&loop, EM_RUN_DEFAULT);
    assert_int_equal(n, 4);
    assert_int_equal(log[0], 0);
    assert_int_equal(log[1], 1);
    assert_int_equal(log[2], 2);
    assert_int_equal(log[3], 3);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* Cancel: a waiting task, a later task of the round being run (cancelled
 * by an earlier one), the tail (later defers still link), and tasks that
 * are not waiting. */
typedef struct ctask {
    em_task task;
    em_loop *loop;
    int ran;
    struct ctask *victim;
    bool cancelled;
} ctask;

static void on_ctask(em_task *t) {
    ctask *c = EM_CONTAINER_OF(t, ctask, task);
    c->ran++;
    if (c->victim)
        c->cancelled = em_loop_defer_cancel(c->loop, &c->victim->task);
}

static void test_defer_cancel(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    ctask t[5];
    for (int i = 0; i < 5; i++)
        t[i] = (ctask){ .task = { .cb = on_ctask }, .loop = &loop };
    assert_false(em_loop_defer_cancel(&loop, &t[0].task)); /* never deferred */
    t[0].victim = &t[2]; /* same round, later in it */
    for (int i = 0; i < 4; i++)
        em_loop_defer(&loop, &t[i].task);
    assert_true(em_loop_defer_cancel(&loop, &t[3].task)); /* the tail */
    assert_false(em_loop_defer_cancel(&loop, &t[3].task));
    em_loop_defer(&loop, &t[4].task); /* links after the new tail */
    assert_int_equal(em_loop_active(&loop), 4);
    em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_true(t[0].cancelled);
    assert_int_equal(t[0].ran, 1);
    assert_int_equal(t[1].ran, 1);
    assert_int_equal(t[2].ran, 0);
    assert_int_equal(t[3].ran, 0);
    assert_int_equal(t[4].ran, 1);
    assert_int_equal(em_loop_active(&loop), 0);
    /* Run: cancelling now finds nothing; the task may be deferred again. */
    assert_false(em_loop_defer_cancel(&loop, &t[1].task));
    em_loop_defer(&loop, &t[1].task);
    assert_true(em_loop_defer_cancel(&loop, &t[1].task)); /* the only one */
    em_loop_defer(&loop, &t[2].task);
    em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(t[1].ran, 1);
    assert_int_equal(t[2].ran, 1);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* A task that defers itself forever must not starve the poll: timers still
 * fire and stop still works. */
static int spins;
static bool spin_on;
static em_loop *spin_loop;
static void on_spin(em_task *t) {
    spins++;
    if (spin_on)
        em_loop_defer(spin_loop, t);
}
static void on_stop_timer(em_timer *t) { em_loop_stop(t->_loop); }
static void on_stop_spinning(em_timer *t) {
    spin_on = false;
    em_loop_stop(t->_loop);
}
static void test_self_deferring_task_is_bounded(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    spin_loop = &loop;
    spin_on = true;
    em_task t = { .cb = on_spin };
    em_timer stopper;
    em_timer_init(&loop, &stopper, on_stop_spinning);
    em_timer_start(&stopper, 10, 0);
    em_loop_defer(&loop, &t);
    em_loop_run(&loop, EM_RUN_DEFAULT);
    /* The task ran once per drain (several times per turn at most), and
     * the 10 ms timer still fired in between. */
    assert_true(spins > 1);
    assert_int_equal(em_loop_active(&loop), 0);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* ---- cross-thread posts ------------------------------------------------ */

enum { POSTERS = 4, PER_POSTER = 10000 };

typedef struct post_ctx {
    em_loop *loop;
    em_task tasks[PER_POSTER];
    int received; /* loop thread only */
} post_ctx;

static int total_received;
static void on_posted(em_task *t) {
    total_received++;
    if (total_received == POSTERS * PER_POSTER)
        em_loop_unref(((post_ctx *)t->data)->loop);
}

static void *poster(void *p) {
    post_ctx *c = p;
    for (int i = 0; i < PER_POSTER; i++) {
        c->tasks[i].cb = on_posted;
        c->tasks[i].data = c;
        if (em_loop_post(c->loop, &c->tasks[i]) != 0)
            abort();
    }
    return NULL;
}

static void test_post_from_threads(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_loop_ref(&loop); /* posts do not keep a loop alive by themselves */
    static post_ctx ctx[POSTERS];
    pthread_t th[POSTERS];
    for (int i = 0; i < POSTERS; i++) {
        ctx[i].loop = &loop;
        assert_int_equal(pthread_create(&th[i], NULL, poster, &ctx[i]), 0);
    }
    em_loop_run(&loop, EM_RUN_DEFAULT);
    for (int i = 0; i < POSTERS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(total_received, POSTERS * PER_POSTER);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* A posted task waiting in the queue is pending work: em_loop_run(DEFAULT)
 * runs it before calling the loop idle, and em_loop_close() refuses
 * (EM_EBUSY) rather than drop it, as it does for deferred tasks. */
enum { LATE_POSTERS = 3, LATE_PER = 100 };
static int late_ran;
static void on_late(em_task *t) { late_ran++; }

typedef struct late_ctx {
    em_loop *loop;
    em_task tasks[LATE_PER];
} late_ctx;

static void *late_poster(void *p) {
    late_ctx *c = p;
    for (int i = 0; i < LATE_PER; i++) {
        c->tasks[i].cb = on_late;
        if (em_loop_post(c->loop, &c->tasks[i]) != 0)
            abort();
    }
    return NULL;
}

static void test_posted_tasks_are_pending_work(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    static late_ctx ctx[LATE_POSTERS];
    pthread_t th[LATE_POSTERS];
    for (int i = 0; i < LATE_POSTERS; i++) {
        ctx[i].loop = &loop;
        assert_int_equal(pthread_create(&th[i], NULL, late_poster, &ctx[i]), 0);
    }
    for (int i = 0; i < LATE_POSTERS; i++)
        pthread_join(th[i], NULL);
    /* every post is queued and none has run */
    assert_int_equal(em_loop_close(&loop), EM_EBUSY);
    assert_int_equal(em_loop_run(&loop, EM_RUN_DEFAULT), 0);
    assert_int_equal(late_ran, LATE_POSTERS * LATE_PER);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* A post to a loop already closed is refused with EM_ECLOSED (the hub's
 * fan-out relies on it) and a stop is a no-op: neither may touch the
 * freed lock. A second close has nothing left to free. */
static void test_post_after_close(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    assert_int_equal(em_loop_close(&loop), 0);
    em_task t = {.cb = on_late};
    assert_int_equal(em_loop_post(&loop, &t), EM_ECLOSED);
    em_loop_stop(&loop);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* Posts racing the close from another thread (a dialed ws's
 * em_ws_send_async while its owner closes it): each is either refused
 * with EM_ECLOSED or run before the close succeeds, and none may lock
 * the loop's lock as the close frees it. */
typedef struct racing_poster {
    em_loop *loop;
    em_task tasks[64];
    atomic_int posted, ran;
} racing_poster;

static void on_racing(em_task *t) {
    atomic_fetch_add(&((racing_poster *)t->data)->ran, 1);
}

static void *post_until_refused(void *p) {
    racing_poster *r = p;
    for (int i = 0; i < 64; i++) {
        r->tasks[i].cb = on_racing;
        r->tasks[i].data = r;
        if (em_loop_post(r->loop, &r->tasks[i]) != 0)
            break;
        atomic_fetch_add(&r->posted, 1);
    }
    return NULL;
}

static void test_post_races_close(void **state) {
    (void)state;
    for (int i = 0; i < 300; i++) {
        em_loop *loop = malloc(sizeof *loop); /* freed after the close, as a dial's is */
        assert_int_equal(em_loop_init(loop), 0);
        static racing_poster r;
        memset(&r, 0, sizeof r);
        r.loop = loop;
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, post_until_refused, &r), 0);
        int rc;
        while ((rc = em_loop_close(loop)) == EM_EBUSY)
            (void)em_loop_run(loop, EM_RUN_NOWAIT);
        assert_int_equal(rc, 0);
        pthread_join(th, NULL);
        assert_int_equal(atomic_load(&r.ran), atomic_load(&r.posted));
        free(loop);
    }
}

static void *stopper_thread(void *p) {
    usleep(30000);
    em_loop_stop(p);
    return NULL;
}

static void test_stop_from_other_thread(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_loop_ref(&loop); /* would block forever without the stop */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stopper_thread, &loop), 0);
    assert_int_equal(em_loop_run(&loop, EM_RUN_DEFAULT), 0);
    pthread_join(th, NULL);
    em_loop_unref(&loop);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* A stop from another thread may be seen by a busy loop before its wake-up
 * write is made; the loop's owner then closes the loop at once. The write
 * must not land on a closed (or reused) descriptor: under ThreadSanitizer
 * this failed as a race between write() and close() on the eventfd. */
static void spin(em_task *t) { em_loop_defer(t->data, t); }

static void *stop_now(void *p) {
    em_loop_stop(p);
    return NULL;
}

static void test_stop_races_close(void **state) {
    for (int i = 0; i < 200; i++) {
        em_loop loop;
        assert_int_equal(em_loop_init(&loop), 0);
        em_task t = { .cb = spin, .data = &loop };
        em_loop_defer(&loop, &t);
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, stop_now, &loop), 0);
        assert_int_equal(em_loop_run(&loop, EM_RUN_DEFAULT), 0);
        assert_true(em_loop_defer_cancel(&loop, &t));
        assert_int_equal(em_loop_close(&loop), 0);
        pthread_join(th, NULL);
    }
}

static void test_stop_before_run(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_loop_ref(&loop);
    em_loop_stop(&loop);
    assert_int_equal(em_loop_run(&loop, EM_RUN_DEFAULT), 0); /* returns */
    em_loop_unref(&loop);
    assert_int_equal(em_loop_close(&loop), 0);
}

static void test_once_blocks_for_timer(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_timer t;
    em_timer_init(&loop, &t, on_stop_timer);
    uint64_t t0 = em_loop_now(&loop);
    em_timer_start(&t, 15, 0);
    /* ONCE blocks until the timer is due and fires it in the same call. */
    assert_int_equal(em_loop_run(&loop, EM_RUN_ONCE), 0);
    assert_false(em_timer_active(&t));
    assert_true(em_loop_now(&loop) >= t0 + 15);
    assert_int_equal(em_loop_close(&loop), 0);
}

static void on_flag_task(em_task *t) {
    *(int *)t->data = 1;
}
static void on_never_timer(em_timer *t) {
    (void)t;
}

/* A turn that already made a callback does not go on to wait: a caller
 * that runs ONCE until its callback set a flag must not sleep past it
 * (the HTTP client's blocking face waited out a 60 s idle timer so). */
static void test_once_returns_after_a_task(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_timer t;
    em_timer_init(&loop, &t, on_never_timer);
    em_timer_start(&t, 3000, 0);
    int ran = 0;
    em_task task = {.data = &ran, .cb = on_flag_task};
    em_loop_defer(&loop, &task);
    uint64_t t0 = em_loop_now(&loop);
    assert_int_equal(em_loop_run(&loop, EM_RUN_ONCE), 1);
    em_loop_update_time(&loop);
    assert_int_equal(ran, 1);
    assert_true(em_loop_now(&loop) < t0 + 1000);
    em_timer_stop(&t);
    assert_int_equal(em_loop_close(&loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_close_idle),
        cmocka_unit_test(test_time_moves),
        cmocka_unit_test(test_ref_keeps_alive),
        cmocka_unit_test(test_defer_fifo_and_bounded),
        cmocka_unit_test(test_defer_cancel),
        cmocka_unit_test(test_self_deferring_task_is_bounded),
        cmocka_unit_test(test_post_from_threads),
        cmocka_unit_test(test_stop_from_other_thread),
        cmocka_unit_test(test_stop_races_close),
        cmocka_unit_test(test_stop_before_run),
        cmocka_unit_test(test_once_blocks_for_timer),
        cmocka_unit_test(test_once_returns_after_a_task),
        cmocka_unit_test(test_posted_tasks_are_pending_work),
        cmocka_unit_test(test_post_after_close),
        cmocka_unit_test(test_post_races_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* runtime/sched.c: N loops on N threads. */
#include <pthread.h>
#include <sched.h>

#include "em_test.h"
#include "ember/runtime.h"

enum { WORKERS = 4 };

typedef struct ctx {
    int setups[WORKERS];
    int teardowns[WORKERS];
    int cpu[WORKERS];
    int fail_index; /* -1: none */
    em_timer timers[WORKERS];
    int posted[WORKERS];
    em_task tasks[WORKERS];
    pthread_t thread[WORKERS];
} ctx;

static void on_timer(em_timer *t) {}

static int setup(em_loop *loop, unsigned i, void *arg) {
    ctx *c = arg;
    c->setups[i]++;
    c->cpu[i] = sched_getcpu();
    c->thread[i] = pthread_self();
    if ((int)i == c->fail_index)
        return EM_EADDRINUSE;
    /* A handle the teardown must stop, or the loop cannot close. */
    em_timer_init(loop, &c->timers[i], on_timer);
    em_timer_start(&c->timers[i], 100000, 0);
    return 0;
}

static void teardown(em_loop *loop, unsigned i, void *arg) {
    ctx *c = arg;
    c->teardowns[i]++;
    em_timer_stop(&c->timers[i]);
}

static void on_posted(em_task *t) {
    int *p = t->data;
    __atomic_add_fetch(p, 1, __ATOMIC_SEQ_CST);
}

static void test_start_post_stop(void **state) {
    static ctx c;
    c.fail_index = -1;
    em_sched s;
    em_sched_opts o = { .workers = WORKERS, .pin = true, .setup = setup, .teardown = teardown, .arg = &c };
    assert_int_equal(em_sched_start(&s, &o), 0);
    unsigned ncpu = em_cpu_count();
    assert_true(ncpu >= 1);
    for (unsigned i = 0; i < WORKERS; i++) {
        assert_int_equal(c.setups[i], 1);
        assert_non_null(em_sched_loop(&s, i));
        c.tasks[i].cb = on_posted;
        c.tasks[i].data = &c.posted[i];
        assert_int_equal(em_loop_post(em_sched_loop(&s, i), &c.tasks[i]), 0);
        for (unsigned j = 0; j < i; j++)
            assert_false(pthread_equal(c.thread[i], c.thread[j]));
    }
    assert_null(em_sched_loop(&s, WORKERS));
    /* Pinned workers 0 and ncpu land on the same CPU. */
    if (WORKERS > ncpu)
        assert_int_equal(c.cpu[0], c.cpu[ncpu]);
    for (int spin = 0; spin < 2000; spin++) {
        int all = 1;
        for (int i = 0; i < WORKERS; i++)
            all &= __atomic_load_n(&c.posted[i], __ATOMIC_SEQ_CST) == 1;
        if (all)
            break;
        sched_yield();
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(c.posted[i], 1);
    em_sched_stop(&s);
    assert_int_equal(em_sched_join(&s), 0);
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(c.teardowns[i], 1);
}

static void test_setup_failure(void **state) {
    static ctx c;
    c.fail_index = 2;
    em_sched s;
    em_sched_opts o = { .workers = WORKERS, .setup = setup, .teardown = teardown, .arg = &c };
    assert_int_equal(em_sched_start(&s, &o), EM_EADDRINUSE);
    /* Every worker was torn down, the failed one included. */
    for (int i = 0; i < WORKERS; i++) {
        assert_int_equal(c.setups[i], 1);
        assert_int_equal(c.teardowns[i], 1);
    }
}

static void test_default_workers(void **state) {
    em_sched s;
    em_sched_opts o = {0};
    assert_int_equal(em_sched_start(&s, &o), 0);
    assert_non_null(em_sched_loop(&s, em_cpu_count() - 1));
    em_sched_stop(&s);
    assert_int_equal(em_sched_join(&s), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_post_stop),
        cmocka_unit_test(test_setup_failure),
        cmocka_unit_test(test_default_workers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

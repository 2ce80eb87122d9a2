/* runtime/signal.c: signalfd watchers, and the graceful-shutdown pattern. */
#include <signal.h>
#include <unistd.h>

#include "em_test.h"
#include "ember/runtime.h"

typedef struct sigrec {
    em_signal sig;
    int count[65];
    bool stop_on_term;
} sigrec;

static void on_sig(em_signal *s, int signum) {
    sigrec *r = EM_CONTAINER_OF(s, sigrec, sig);
    r->count[signum]++;
    if (r->stop_on_term && signum == SIGTERM)
        em_signal_stop(s); /* stop accepting; the loop then runs dry */
}

static void test_deliver_two_signals(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    sigrec r = {0};
    em_signal_init(&loop, &r.sig, on_sig);
    assert_int_equal(em_signal_start(&r.sig, SIGUSR1), 0);
    assert_int_equal(em_signal_start(&r.sig, SIGUSR2), 0);
    assert_int_equal(em_loop_active(&loop), 1);
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR2);
    EM_TEST_RUN_UNTIL(&loop, r.count[SIGUSR1] && r.count[SIGUSR2], 2000);
    em_signal_stop(&r.sig);
    em_signal_stop(&r.sig); /* idempotent */
    assert_int_equal(em_loop_active(&loop), 0);
    assert_int_equal(em_loop_close(&loop), 0);
}

static void test_invalid_signal(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    sigrec r = {0};
    em_signal_init(&loop, &r.sig, on_sig);
    assert_int_equal(em_signal_start(&r.sig, 0), EM_EINVAL);
    assert_int_equal(em_signal_start(&r.sig, SIGKILL), EM_EINVAL);
    assert_int_equal(em_signal_start(&r.sig, 65), EM_EINVAL);
    assert_int_equal(em_loop_active(&loop), 0);
    assert_int_equal(em_loop_close(&loop), 0);
}

/* Graceful shutdown: SIGTERM stops the signal watcher, the in-flight work
 * (a timer standing in for a request) still finishes, then run returns. */
static int finished;
static void on_work_done(em_timer *t) { finished = 1; }
static void on_send_term(em_timer *t) { kill(getpid(), SIGTERM); }

static void test_graceful_shutdown(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    sigrec r = { .stop_on_term = true };
    em_signal_init(&loop, &r.sig, on_sig);
    assert_int_equal(em_signal_start(&r.sig, SIGTERM), 0);
    em_timer work, trigger;
    em_timer_init(&loop, &work, on_work_done);
    em_timer_init(&loop, &trigger, on_send_term);
    em_timer_start(&trigger, 5, 0);
    em_timer_start(&work, 40, 0);
    assert_int_equal(em_loop_run(&loop, EM_RUN_DEFAULT), 0);
    assert_int_equal(r.count[SIGTERM], 1);
    assert_int_equal(finished, 1);
    assert_int_equal(em_loop_close(&loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deliver_two_signals),
        cmocka_unit_test(test_invalid_signal),
        cmocka_unit_test(test_graceful_shutdown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

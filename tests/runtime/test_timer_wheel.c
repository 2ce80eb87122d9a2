/* runtime/timer_wheel.c driven directly with a fake clock, so every jump
 * size (1 ms to years) is exercised deterministically. */
#include <stdlib.h>

#include "em_test.h"
#include "runtime_internal.h"

/* xorshift: deterministic pseudo-random numbers. */
static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void check_jumps(uint64_t start, unsigned ntimers, uint64_t max_delay, uint64_t max_jump) {
    struct em__wheel *w = em__wheel_new(start);
    assert_non_null(w);
    em_timer *ts = calloc(ntimers, sizeof *ts);
    bool *fired = calloc(ntimers, 1);
    uint64_t now = start;
    for (unsigned i = 0; i < ntimers; i++) {
        ts[i]._due = now + rnd() % (max_delay + 1);
        ts[i].data = &fired[i];
        em__wheel_insert(w, &ts[i]);
    }
    /* Stop a tenth of them before they fire. */
    for (unsigned i = 0; i < ntimers; i += 10)
        em__wheel_remove(w, &ts[i]);
    unsigned left = ntimers - (ntimers + 9) / 10;
    while (left) {
        uint64_t next = em__wheel_next_due(w);
        assert_true(next != UINT64_MAX);
        /* next_due is a lower bound: nothing may be due before it. */
        for (unsigned i = 0; i < ntimers; i++)
            if (ts[i]._active && i % 10)
                assert_true(ts[i]._due >= next || ts[i]._due <= now);
        now += 1 + rnd() % max_jump;
        em__wheel_collect(w, now);
        em_timer *t;
        uint64_t prev = 0;
        while ((t = em__wheel_pop_expired(w))) {
            assert_true(t->_due <= now);
            assert_true(t->_due >= prev); /* in due order */
            prev = t->_due;
            bool *f = t->data;
            assert_false(*f);
            *f = true;
            left--;
        }
        /* Nothing still linked is due. */
        for (unsigned i = 0; i < ntimers; i++)
            if (ts[i]._active)
                assert_true(ts[i]._due > now);
    }
    for (unsigned i = 0; i < ntimers; i++)
        assert_int_equal(fired[i], i % 10 != 0);
    assert_int_equal(em__wheel_next_due(w), UINT64_MAX);
    free(ts);
    free(fired);
    em__wheel_free(w);
}

static void test_small_jumps(void **state) { check_jumps(1000, 500, 300, 3); }
static void test_medium_jumps(void **state) { check_jumps(123456789, 500, 100000, 5000); }
static void test_huge_delays(void **state) {
    check_jumps(5, 300, (1ull << 38), (1ull << 33));
}
/* A start time that sits just below several level boundaries. */
static void test_boundary_start(void **state) { check_jumps((1ull << 24) - 3, 500, 70000, 200); }

static void test_already_due_goes_first(void **state) {
    struct em__wheel *w = em__wheel_new(100);
    em_timer a = {0}, b = {0}, c = {0};
    a._due = 103;
    b._due = 100; /* due now: ready list */
    c._due = 50;  /* in the past: ready list */
    em__wheel_insert(w, &a);
    em__wheel_insert(w, &b);
    em__wheel_insert(w, &c);
    assert_int_equal(em__wheel_next_due(w), 100);
    em__wheel_collect(w, 100);
    assert_ptr_equal(em__wheel_pop_expired(w), &c);
    assert_ptr_equal(em__wheel_pop_expired(w), &b);
    assert_null(em__wheel_pop_expired(w));
    assert_int_equal(em__wheel_next_due(w), 103);
    em__wheel_collect(w, 200);
    assert_ptr_equal(em__wheel_pop_expired(w), &a);
    em__wheel_free(w);
}

/* A collected timer can be removed before it is popped (cancel in a
 * callback of an earlier timer due at the same time). */
static void test_remove_collected(void **state) {
    struct em__wheel *w = em__wheel_new(0);
    em_timer a = {0}, b = {0};
    a._due = b._due = 10;
    em__wheel_insert(w, &a);
    em__wheel_insert(w, &b);
    em__wheel_collect(w, 10);
    assert_ptr_equal(em__wheel_pop_expired(w), &a);
    em__wheel_remove(w, &b);
    assert_int_equal(b._active, 0);
    assert_null(em__wheel_pop_expired(w));
    em__wheel_free(w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_jumps),
        cmocka_unit_test(test_medium_jumps),
        cmocka_unit_test(test_huge_delays),
        cmocka_unit_test(test_boundary_start),
        cmocka_unit_test(test_already_due_goes_first),
        cmocka_unit_test(test_remove_collected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

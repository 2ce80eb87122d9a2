/* Timer handles on the loop's wheel (timer_wheel.c does the bookkeeping). */
#include "runtime_internal.h"

/* Keeps every due time inside the wheel's 2^42 ms span. */
#define MAX_TIMEOUT_MS (1ull << 40)

void em_timer_init(em_loop *loop, em_timer *t, em_timer_cb cb) {
    t->_cb = cb;
    t->_loop = loop;
    t->_due = 0;
    t->_repeat = 0;
    t->_next = t->_prev = NULL;
    t->_active = 0;
}

void em_timer_start(em_timer *t, uint64_t timeout_ms, uint64_t repeat_ms) {
    em_loop *loop = t->_loop;
    if (t->_active)
        em__wheel_remove(loop->_wheel, t);
    else
        loop->_active++;
    if (timeout_ms > MAX_TIMEOUT_MS)
        timeout_ms = MAX_TIMEOUT_MS;
    if (repeat_ms > UINT32_MAX)
        repeat_ms = UINT32_MAX;
    t->_due = loop->_now_ms + timeout_ms;
    t->_repeat = (uint32_t)repeat_ms;
    em__wheel_insert(loop->_wheel, t);
}

void em_timer_stop(em_timer *t) {
    if (!t->_active)
        return;
    em__wheel_remove(t->_loop->_wheel, t);
    t->_loop->_active--;
}

bool em_timer_active(const em_timer *t) { return t->_active != 0; }

unsigned em__timers_run(em_loop *loop) {
    unsigned fired = 0;
    em__wheel_collect(loop->_wheel, loop->_now_ms);
    em_timer *t;
    /* One pop at a time: a callback may stop or restart any collected
     * timer, and a timer re-armed for "now" lands on the ready list, so it
     * fires next turn rather than looping here forever. */
    while ((t = em__wheel_pop_expired(loop->_wheel))) {
        if (t->_repeat) {
            t->_due = loop->_now_ms + t->_repeat;
            em__wheel_insert(loop->_wheel, t);
        } else {
            loop->_active--;
        }
        t->_cb(t);
        fired++;
    }
    return fired;
}

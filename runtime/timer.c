/* Timer handles on the loop's wheel (timer_wheel.c does the bookkeeping). */
#include <time.h>

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

/* The monotonic clock now, rounded up to the next whole millisecond. A due
 * time counted from it is never reached before timeout_ms have really
 * passed since em_timer_start(): the loop's cached clock may be a whole
 * callback old, and it truncates, so counting from it fired timers early
 * (up to a millisecond, or by however long the turn had run). */
static uint64_t now_ceil_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + ((uint64_t)ts.tv_nsec + 999999u) / 1000000u;
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
    /* 0 stays "the next turn": the cached clock is already due then. */
    t->_due = timeout_ms ? now_ceil_ms() + timeout_ms : loop->_now_ms;
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
            /* Fixed rate: the next firing is due one period after this
             * one was due, not after the late turn that ran it, so periods
             * do not drift; a timer more than a period behind skips the
             * missed firings (staying in phase) instead of running them
             * back to back. */
            t->_due += t->_repeat;
            if (t->_due <= loop->_now_ms)
                t->_due += ((loop->_now_ms - t->_due) / t->_repeat + 1) * t->_repeat;
            em__wheel_insert(loop->_wheel, t);
        } else {
            loop->_active--;
        }
        t->_cb(t);
        fired++;
    }
    return fired;
}

/* Shared by every ember test: cmocka with the headers it needs first, and
 * a few helpers for loop tests. */
#ifndef EM_TEST_H
#define EM_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ember/runtime.h"

/* A timer that only wakes the loop (see EM_TEST_RUN_UNTIL). */
static inline void em__test_tick(em_timer *t) { (void)t; }

/* Run the loop until cond holds, failing the test after timeout_ms. A
 * ticking timer wakes the loop while it waits, so a test whose awaited
 * event never comes fails at its timeout instead of sleeping in epoll for
 * ever. Every loop test also ends with
 * assert_int_equal(em_loop_close(&loop), 0). */
#define EM_TEST_RUN_UNTIL(loop, cond, timeout_ms)                              \
    do {                                                                      \
        uint64_t em__deadline = em_loop_now(loop) + (timeout_ms);             \
        em_timer em__tick;                                                    \
        em_timer_init((loop), &em__tick, em__test_tick);                      \
        em_timer_start(&em__tick, 50, 50);                                    \
        while (!(cond)) {                                                     \
            em_loop_run((loop), EM_RUN_ONCE);                                 \
            em_loop_update_time(loop);                                        \
            if (em_loop_now(loop) > em__deadline) {                           \
                em_timer_stop(&em__tick);                                     \
                fail_msg("timed out waiting for: %s", #cond);                 \
            }                                                                 \
        }                                                                     \
        em_timer_stop(&em__tick);                                             \
    } while (0)

#endif

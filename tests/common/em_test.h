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

/* Run the loop until cond holds, failing the test after timeout_ms. Every
 * loop test also ends with assert_int_equal(em_loop_close(&loop), 0). */
#define EM_TEST_RUN_UNTIL(loop, cond, timeout_ms)                              \
    do {                                                                      \
        uint64_t em__deadline = em_loop_now(loop) + (timeout_ms);             \
        while (!(cond)) {                                                     \
            em_loop_run((loop), EM_RUN_ONCE);                                 \
            em_loop_update_time(loop);                                        \
            if (em_loop_now(loop) > em__deadline)                             \
                fail_msg("timed out waiting for: %s", #cond);                 \
        }                                                                     \
    } while (0)

#endif

/* Shared between the files of the runtime module; not installed. */
#ifndef EMBER_RUNTIME_INTERNAL_H
#define EMBER_RUNTIME_INTERNAL_H

#include "ember/runtime.h"

/* ---- timer wheel (timer_wheel.c) ---------------------------------------- */

/* Allocate a wheel whose clock starts at now_ms. NULL on ENOMEM. */
struct em__wheel *em__wheel_new(uint64_t now_ms);
void em__wheel_free(struct em__wheel *w);
/* Link t (t->_due set) into the wheel. */
void em__wheel_insert(struct em__wheel *w, em_timer *t);
/* Unlink t from whichever wheel list holds it (wheel slot, ready or
 * expired list). */
void em__wheel_remove(struct em__wheel *w, em_timer *t);
/* Move every timer due at or before now_ms onto the expired list, sorted by
 * due time (FIFO among equal ones). */
void em__wheel_collect(struct em__wheel *w, uint64_t now_ms);
/* Pop the head of the expired list, or NULL. */
em_timer *em__wheel_pop_expired(struct em__wheel *w);
/* Earliest time any linked timer may be due (a lower bound, never later
 * than the true earliest), or UINT64_MAX when the wheel is empty. */
uint64_t em__wheel_next_due(const struct em__wheel *w);

/* ---- loop internals (loop.c, io_watch.c, timer.c) ----------------------- */

/* Dispatch one batch of epoll events; returns the callbacks made. */
unsigned em__loop_dispatch(em_loop *loop, int n);
/* Start an internal watcher that does not keep the loop alive. */
int em__io_start_internal(em_io *w, unsigned events);
/* Fire the expired timers (two-phase: collect, then call); returns how
 * many fired. */
unsigned em__timers_run(em_loop *loop);

#endif

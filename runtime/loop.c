/* The event loop: one epoll set, the timer wheel, same-thread deferred
 * tasks and cross-thread posts woken through an eventfd.
 *
 * One turn: refresh the cached clock, fire due timers, run deferred tasks,
 * wait in epoll_wait until the next timer (or not at all when work is
 * pending), dispatch the events, run deferred tasks again.
 */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "runtime_internal.h"

#define MAX_EVENTS 1024

static uint64_t monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void on_wake(em_io *w, unsigned events);

int em_loop_init(em_loop *loop) {
    memset(loop, 0, sizeof *loop);
    loop->_epfd = loop->_wakefd = -1;
    loop->_now_ms = monotonic_ms();
    int rc = EM_ENOMEM;
    pthread_mutex_t *mu = malloc(sizeof *mu);
    loop->_events = malloc(sizeof(struct epoll_event) * MAX_EVENTS);
    loop->_wheel = em__wheel_new(loop->_now_ms);
    loop->_wake_io = malloc(sizeof *loop->_wake_io);
    if (!mu || !loop->_events || !loop->_wheel || !loop->_wake_io)
        goto fail;
    pthread_mutex_init(mu, NULL);
    loop->_mu = mu;
    mu = NULL;

    loop->_epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->_epfd < 0)
        goto fail_errno;
    loop->_wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->_wakefd < 0)
        goto fail_errno;
    em_io_init(loop, loop->_wake_io, loop->_wakefd, on_wake);
    loop->_wake_io->data = loop;
    rc = em__io_start_internal(loop->_wake_io, EM_IO_READ);
    if (rc < 0)
        goto fail;
    return 0;

fail_errno:
    rc = em_err_from_errno(errno);
fail:
    free(mu);
    if (loop->_mu) {
        pthread_mutex_destroy(loop->_mu);
        free(loop->_mu);
    }
    if (loop->_epfd >= 0)
        close(loop->_epfd);
    if (loop->_wakefd >= 0)
        close(loop->_wakefd);
    free(loop->_events);
    em__wheel_free(loop->_wheel);
    free(loop->_wake_io);
    memset(loop, 0, sizeof *loop);
    loop->_epfd = loop->_wakefd = -1;
    return rc;
}

/* The loop's lock for a post or stop from any thread, or NULL once
 * em_loop_close took it away; a non-NULL lock is held until unuse_mu. A
 * post racing the close (a thread posting to a dialed ws as its owner
 * closes it) may read the lock just before the close clears it: the
 * count, checked by the close after clearing (both sequentially
 * consistent), keeps the lock alive until that post is done with it. */
static pthread_mutex_t *use_mu(em_loop *loop) {
    __atomic_add_fetch(&loop->_users, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_t *mu = (pthread_mutex_t *)__atomic_load_n(&loop->_mu, __ATOMIC_SEQ_CST);
    if (!mu)
        __atomic_sub_fetch(&loop->_users, 1, __ATOMIC_SEQ_CST);
    return mu;
}

static void unuse_mu(em_loop *loop) {
    __atomic_sub_fetch(&loop->_users, 1, __ATOMIC_SEQ_CST);
}

static pthread_mutex_t *loop_mu(em_loop *loop) {
    return (pthread_mutex_t *)__atomic_load_n(&loop->_mu, __ATOMIC_ACQUIRE);
}

int em_loop_close(em_loop *loop) {
    if (!loop_mu(loop))
        return 0; /* closed already: nothing left to free */
    if (loop->_active)
        return EM_EBUSY;
    pthread_mutex_lock(loop->_mu);
    if (loop->_post_head) {
        /* A posted task not run yet is pending work, like a deferred one:
         * dropping it would lose it without a word to its poster. */
        pthread_mutex_unlock(loop->_mu);
        return EM_EBUSY;
    }
    loop->_closing = 1;
    pthread_mutex_unlock(loop->_mu);
    close(loop->_wakefd);
    close(loop->_epfd);
    pthread_mutex_t *mu = loop->_mu;
    __atomic_store_n(&loop->_mu, (void *)NULL, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&loop->_users, __ATOMIC_SEQ_CST)) /* see use_mu */
        sched_yield();
    pthread_mutex_destroy(mu);
    free(mu);
    free(loop->_events);
    em__wheel_free(loop->_wheel);
    free(loop->_wake_io);
    loop->_events = NULL;
    loop->_wheel = NULL;
    loop->_wake_io = NULL;
    loop->_epfd = loop->_wakefd = -1;
    return 0;
}

uint64_t em_loop_now(const em_loop *loop) { return loop->_now_ms; }
void em_loop_update_time(em_loop *loop) { loop->_now_ms = monotonic_ms(); }
unsigned em_loop_active(const em_loop *loop) { return loop->_active; }
void em_loop_ref(em_loop *loop) { loop->_active++; }
void em_loop_unref(em_loop *loop) {
    if (loop->_active)
        loop->_active--;
}

/* Called with loop->_mu held. A busy loop may see a stop or a post before
 * this write is made, return, and be closed by its owner at once: the lock
 * (which em_loop_close takes before closing the eventfd) keeps the write
 * off a closed or reused descriptor. */
static void wake_locked(em_loop *loop) {
    if (loop->_closing)
        return;
    uint64_t one = 1;
    /* EAGAIN means the counter is already non-zero: the loop will wake. */
    ssize_t n = write(loop->_wakefd, &one, sizeof one);
    (void)n;
}

void em_loop_stop(em_loop *loop) {
    pthread_mutex_t *mu = use_mu(loop);
    if (!mu)
        return; /* closed: nothing runs to stop */
    pthread_mutex_lock(mu);
    __atomic_store_n(&loop->_stop, 1, __ATOMIC_RELEASE);
    wake_locked(loop);
    pthread_mutex_unlock(mu);
    unuse_mu(loop);
}

static bool stop_requested(em_loop *loop) {
    return __atomic_load_n(&loop->_stop, __ATOMIC_ACQUIRE) != 0;
}

void em_loop_defer(em_loop *loop, em_task *task) {
    task->_next = NULL;
    if (loop->_defer_tail)
        loop->_defer_tail->_next = task;
    else
        loop->_defer_head = task;
    loop->_defer_tail = task;
    loop->_active++;
}

/* Unlink task from the list starting at *head; *tail (may be NULL) is kept
 * pointing at the last entry. */
static bool unlink_task(em_task **head, em_task **tail, em_task *task) {
    em_task *prev = NULL;
    for (em_task *t = *head; t; prev = t, t = t->_next) {
        if (t != task)
            continue;
        if (prev)
            prev->_next = t->_next;
        else
            *head = t->_next;
        if (tail && *tail == t)
            *tail = prev;
        t->_next = NULL;
        return true;
    }
    return false;
}

bool em_loop_defer_cancel(em_loop *loop, em_task *task) {
    /* The round being run was detached from the list: look there too. */
    if (unlink_task(&loop->_run_next, NULL, task) ||
        unlink_task(&loop->_defer_head, &loop->_defer_tail, task)) {
        loop->_active--;
        return true;
    }
    return false;
}

int em_loop_post(em_loop *loop, em_task *task) {
    pthread_mutex_t *mu = use_mu(loop);
    if (!mu)
        return EM_ECLOSED; /* closed: its lock is gone */
    pthread_mutex_lock(mu);
    if (loop->_closing) {
        pthread_mutex_unlock(mu);
        unuse_mu(loop);
        return EM_ECLOSED;
    }
    task->_next = NULL;
    bool was_empty = loop->_post_head == NULL;
    if (loop->_post_tail)
        loop->_post_tail->_next = task;
    else
        loop->_post_head = task;
    loop->_post_tail = task;
    /* Only the first post of a batch needs to wake the loop. */
    if (was_empty)
        wake_locked(loop);
    pthread_mutex_unlock(mu);
    unuse_mu(loop);
    return 0;
}

/* Run the tasks deferred so far; tasks they defer wait for the next round,
 * so one round does bounded work. */
static unsigned run_deferred(em_loop *loop) {
    unsigned ran = 0;
    loop->_run_next = loop->_defer_head;
    loop->_defer_head = loop->_defer_tail = NULL;
    while (loop->_run_next) {
        /* Read the next one before the call: the callback may reuse t, or
         * cancel a later task of this round through _run_next. */
        em_task *t = loop->_run_next;
        loop->_run_next = t->_next;
        loop->_active--;
        t->cb(t);
        ran++;
    }
    return ran;
}

/* Whether posted tasks wait for on_wake (any thread may be adding one). */
static bool posts_pending(em_loop *loop) {
    pthread_mutex_lock(loop->_mu);
    bool pending = loop->_post_head != NULL;
    pthread_mutex_unlock(loop->_mu);
    return pending;
}

static void on_wake(em_io *w, unsigned events) {
    em_loop *loop = w->data;
    uint64_t v;
    ssize_t n = read(loop->_wakefd, &v, sizeof v);
    (void)n;
    pthread_mutex_lock(loop->_mu);
    em_task *t = loop->_post_head;
    loop->_post_head = loop->_post_tail = NULL;
    pthread_mutex_unlock(loop->_mu);
    while (t) {
        em_task *next = t->_next;
        t->cb(t);
        t = next;
    }
}

static int poll_timeout(em_loop *loop, em_run_mode mode) {
    if (mode == EM_RUN_NOWAIT || loop->_defer_head || stop_requested(loop) || !loop->_active)
        return 0;
    uint64_t due = em__wheel_next_due(loop->_wheel);
    if (due == UINT64_MAX)
        return -1;
    if (due <= loop->_now_ms)
        return 0;
    uint64_t ms = due - loop->_now_ms;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Returns the callbacks made, or a negative em_err. */
static int poll_once(em_loop *loop, int timeout) {
    int n = epoll_wait(loop->_epfd, loop->_events, MAX_EVENTS, timeout);
    if (n < 0) {
        if (errno == EINTR)
            n = 0;
        else
            return em_err_from_errno(errno);
    }
    em_loop_update_time(loop);
    unsigned calls = em__loop_dispatch(loop, n);
    calls += run_deferred(loop);
    return (int)(calls > INT_MAX ? INT_MAX : calls);
}

int em_loop_run(em_loop *loop, em_run_mode mode) {
    int rc = 0;
    unsigned calls = 0; /* callbacks made by this run */
    for (;;) {
        em_loop_update_time(loop);
        calls += em__timers_run(loop);
        calls += run_deferred(loop);
        if (stop_requested(loop))
            break;
        /* Posts do not keep an idle loop waiting, but the ones already
         * queued run first (the eventfd is readable: the poll won't block). */
        if (mode == EM_RUN_DEFAULT && !loop->_active && !posts_pending(loop))
            break;
        /* A single turn that already made callbacks only looks for I/O:
         * its caller may be waiting for exactly what they did. */
        rc = poll_once(loop, mode == EM_RUN_ONCE && calls ? 0 : poll_timeout(loop, mode));
        if (rc < 0)
            break;
        calls += (unsigned)rc;
        rc = 0;
        if (mode == EM_RUN_DEFAULT)
            continue;
        /* Like libuv: a single turn also fires what became due while it
         * waited, so ONCE with only timers makes progress. */
        calls += em__timers_run(loop);
        calls += run_deferred(loop);
        /* The wheel may wake early to cascade a far timer; ONCE blocks
         * until some callback really ran. */
        if (mode == EM_RUN_ONCE && !calls && loop->_active && !stop_requested(loop))
            continue;
        break;
    }
    __atomic_store_n(&loop->_stop, 0, __ATOMIC_RELAXED);
    if (rc < 0)
        return rc;
    return mode == EM_RUN_DEFAULT ? 0 : (loop->_active ? 1 : 0);
}

/** @file
 * ember runtime: error codes, the epoll event loop, the timer wheel,
 * cross-thread posts, signals and the multicore scheduler.
 *
 * Threading: every function on a loop or a handle must be called from the
 * loop's own thread, except em_loop_post() and em_loop_stop(), which may be
 * called from any thread. Every callback runs on the loop's thread.
 */
#ifndef EMBER_RUNTIME_H
#define EMBER_RUNTIME_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- attributes and helpers ------------------------------------------ */

/** The library builds with -fvisibility=hidden; only EM_API symbols export. */
#define EM_API __attribute__((visibility("default")))
/** Marks a function whose result must be checked (warn_unused_result). */
#define EM_NODISCARD __attribute__((warn_unused_result))

/** Recover the outer struct from a pointer to one of its members. */
#define EM_CONTAINER_OF(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* ---- errors ----------------------------------------------------------- */

/** OS errors are -errno. ember's own codes live at -5000 and below so they
 * can never collide with an errno. One table generates the enum,
 * em_strerror() and em_err_name().  X(name, value, message) */
#define EM_ERRNO_TABLE(X)                                                     \
    X(EPERM, -EPERM, "operation not permitted")                               \
    X(ENOENT, -ENOENT, "no such file or directory")                           \
    X(EINTR, -EINTR, "interrupted system call")                               \
    X(EIO, -EIO, "i/o error")                                                 \
    X(EBADF, -EBADF, "bad file descriptor")                                   \
    X(EAGAIN, -EAGAIN, "resource temporarily unavailable")                    \
    X(ENOMEM, -ENOMEM, "not enough memory")                                   \
    X(EACCES, -EACCES, "permission denied")                                   \
    X(EFAULT, -EFAULT, "bad address")                                         \
    X(EBUSY, -EBUSY, "resource busy or locked")                               \
    X(EEXIST, -EEXIST, "file already exists")                                 \
    X(EINVAL, -EINVAL, "invalid argument")                                    \
    X(ENFILE, -ENFILE, "file table overflow")                                 \
    X(EMFILE, -EMFILE, "too many open files")                                 \
    X(ENOSPC, -ENOSPC, "no space left on device")                             \
    X(EPIPE, -EPIPE, "broken pipe")                                           \
    X(ERANGE, -ERANGE, "result out of range")                                 \
    X(ENAMETOOLONG, -ENAMETOOLONG, "name too long")                           \
    X(ENOSYS, -ENOSYS, "function not implemented")                            \
    X(ENOTSUP, -ENOTSUP, "operation not supported")                           \
    X(ENOTSOCK, -ENOTSOCK, "socket operation on non-socket")                  \
    X(EMSGSIZE, -EMSGSIZE, "message too long")                                \
    X(EPROTO, -EPROTO, "protocol error")                                      \
    X(EPROTONOSUPPORT, -EPROTONOSUPPORT, "protocol not supported")            \
    X(EAFNOSUPPORT, -EAFNOSUPPORT, "address family not supported")           \
    X(EADDRINUSE, -EADDRINUSE, "address already in use")                      \
    X(EADDRNOTAVAIL, -EADDRNOTAVAIL, "address not available")                 \
    X(ENETDOWN, -ENETDOWN, "network is down")                                 \
    X(ENETUNREACH, -ENETUNREACH, "network is unreachable")                    \
    X(ECONNABORTED, -ECONNABORTED, "connection aborted")                      \
    X(ECONNRESET, -ECONNRESET, "connection reset by peer")                    \
    X(ENOBUFS, -ENOBUFS, "no buffer space available")                         \
    X(EISCONN, -EISCONN, "socket is already connected")                       \
    X(ENOTCONN, -ENOTCONN, "socket is not connected")                         \
    X(ETIMEDOUT, -ETIMEDOUT, "operation timed out")                           \
    X(ECONNREFUSED, -ECONNREFUSED, "connection refused")                      \
    X(EHOSTUNREACH, -EHOSTUNREACH, "host is unreachable")                     \
    X(EALREADY, -EALREADY, "connection already in progress")                  \
    X(EINPROGRESS, -EINPROGRESS, "operation in progress")                     \
    X(ECANCELED, -ECANCELED, "operation canceled")                            \
    X(EOVERFLOW, -EOVERFLOW, "value too large for defined data type")

/** ember's own codes, at -5000 and below: X(name, value, message), as
 * EM_ERRNO_TABLE. */
#define EM_OWN_ERR_TABLE(X)                                                   \
    X(EOF, -5001, "end of file")                                              \
    X(EUNEXPECTEDEOF, -5002, "unexpected end of file")                        \
    X(ELIMIT, -5003, "configured limit exceeded")                             \
    X(ECLOSED, -5004, "handle is closed or closing")                          \
    X(EPARSE, -5005, "malformed input")                                       \
    X(EHDRTOOLARGE, -5006, "header block too large")                          \
    X(ETOOMANYHDRS, -5007, "too many headers")                                \
    X(EURITOOLONG, -5008, "request target too long")                          \
    X(EBODYTOOLARGE, -5009, "body too large")                                 \
    X(EBADVERSION, -5010, "unsupported protocol version")                     \
    X(ENOTIMPL, -5011, "not implemented")                                     \
    X(ECLTE, -5012, "both Content-Length and Transfer-Encoding")              \
    X(EBADCL, -5013, "invalid or conflicting Content-Length")                 \
    X(EBADTE, -5014, "invalid Transfer-Encoding")                             \
    X(EOBSFOLD, -5015, "obsolete header line folding")                        \
    X(EBADHOST, -5016, "missing, duplicate or invalid Host")                  \
    X(EBADHEADER, -5017, "malformed header field")                            \
    X(EBADMETHOD, -5018, "invalid request method")                            \
    X(EBADTARGET, -5019, "invalid request target")                            \
    X(EBADCHUNK, -5020, "malformed chunked encoding")                         \
    X(EEXTTOOLONG, -5021, "chunk extension too long")                         \
    X(EBADEOL, -5022, "line not ended by CRLF")                               \
    X(ENOTFOUND, -5023, "name not found")                                     \
    X(EDNSFAIL, -5024, "DNS server failure or refusal")                       \
    X(ETLSHANDSHAKE, -5025, "TLS handshake failed")                           \
    X(ECERTVERIFY, -5026, "peer certificate verification failed")            \
    X(EPARTIAL, -5027, "transfer ended before the whole body arrived")        \
    X(ETOOMANYREDIRECTS, -5028, "too many redirects")                         \
    X(EUNSAFEREDIRECT, -5029, "redirect refused (https to http)")             \
    X(EBADCODING, -5030, "malformed content coding")                          \
    X(EHANDSHAKE, -5031, "protocol upgrade refused by the peer")              \
    X(EPROXY, -5032, "the proxy refused the tunnel")                          \
    X(EUNKNOWN, -5999, "unknown error")

/** Every error ember returns: EM_OK (0), the OS errors of EM_ERRNO_TABLE as
 * EM_E<NAME> = -E<NAME> (EM_EAGAIN, EM_ECONNRESET, ...) and ember's own codes
 * of EM_OWN_ERR_TABLE (EM_EOF, EM_EPARSE, ...). Functions return an int or
 * ssize_t holding 0, a count, or one of these negative values; em_strerror()
 * and em_err_name() describe them. */
typedef enum em_err {
    EM_OK = 0, /**< success */
#define EM__ERR_ENUM(name, value, msg) EM_##name = (value),
    EM_ERRNO_TABLE(EM__ERR_ENUM) EM_OWN_ERR_TABLE(EM__ERR_ENUM)
#undef EM__ERR_ENUM
} em_err;

/** A static, never-NULL English message for err (0 gives "success"). Errno
 * values outside the table fall back to the C library's strerror text. */
EM_API const char *em_strerror(int err);
/** The symbolic name ("EM_ETIMEDOUT"); "EM_EUNKNOWN" for codes not in the
 * table. Static storage. */
EM_API const char *em_err_name(int err);
/** Map a positive errno to an em_err (-errno). 0 maps to 0. */
static inline int em_err_from_errno(int e) { return e > 0 ? -e : (e == 0 ? 0 : e); }

/* ---- loop ------------------------------------------------------------- */

typedef struct em_loop em_loop;
typedef struct em_io em_io;
typedef struct em_timer em_timer;
typedef struct em_task em_task;

/** Called on the loop's thread when w's fd is ready; events is a mask of
 * EM_IO_READ, EM_IO_WRITE, EM_IO_ERROR and EM_IO_HUP. It may stop or restart
 * w, or any other handle, and close the fd after em_io_stop(). */
typedef void (*em_io_cb)(em_io *w, unsigned events);
/** Called on the loop's thread when t expires. A one-shot timer is already
 * inactive when its callback runs, so t may be restarted or freed there; a
 * repeating one stays armed unless stopped. */
typedef void (*em_timer_cb)(em_timer *t);
/** Runs a deferred or posted task on the loop's thread. The task is no longer
 * queued when it runs: it may be deferred or posted again, or freed, from
 * inside. */
typedef void (*em_task_cb)(em_task *t);

/** A deferred or posted unit of work. Caller-owned; must stay valid until its
 * callback has started. Intrusive: no allocation per post. */
struct em_task {
    void *data; /**< user data; ember never touches it */
    /** Called on the loop's thread; set before em_loop_defer() or
     * em_loop_post(). */
    em_task_cb cb;
    em_task *_next;
};

struct em__wheel; /* private to runtime/timer_wheel.c */

/** The loop. A complete type so it can be embedded; all fields are private.
 * em_loop_init() allocates its epoll fd, eventfd and timer wheel once. */
struct em_loop {
    void *data; /**< user data; ember never touches it */
    int _epfd;
    int _wakefd;
    uint64_t _now_ms;          /**< cached monotonic ms, updated once per turn */
    unsigned _active;          /**< active io watchers + active timers + refs */
    int _stop;                 /**< atomic: set by em_loop_stop from any thread */
    struct em__wheel *_wheel;
    void *_events;             /**< struct epoll_event[_nevents] being dispatched */
    int _nevents;
    int _cur;                  /**< index of the event being dispatched */
    em_task *_defer_head, *_defer_tail; /**< same-thread deferred tasks */
    em_task *_run_next;        /**< next task of the round being run */
    em_task *_post_head, *_post_tail;   /**< cross-thread posts, under _mu */
    void *_mu;                 /**< pthread_mutex_t, allocated at init */
    em_io *_wake_io;           /**< internal watcher of _wakefd */
    unsigned _closing;
    unsigned _users;           /**< atomic: posts and stops using _mu now */
};

/** How long em_loop_run() runs. */
typedef enum em_run_mode {
    EM_RUN_DEFAULT = 0, /**< until em_loop_stop() or nothing is active */
    EM_RUN_ONCE,        /**< one turn; blocks for events if anything is active */
    EM_RUN_NOWAIT       /**< one turn; never blocks */
} em_run_mode;

/** Initialise a loop. Returns 0 or a negative em_err. */
EM_API EM_NODISCARD int em_loop_init(em_loop *loop);
/** Run the loop. Returns 0 when stopped or idle (DEFAULT), or, for ONCE and
 * NOWAIT, 1 if there is still active work, else 0. Negative em_err on a
 * fatal epoll error. Not re-entrant: never call from a callback. */
EM_API int em_loop_run(em_loop *loop, em_run_mode mode);
/** Ask the loop to return from em_loop_run() at the end of the current turn.
 * Safe from any thread and from signal-free callbacks. */
EM_API void em_loop_stop(em_loop *loop);
/** Free the loop's resources. Returns EM_EBUSY (and frees nothing) while any
 * watcher, timer or task is still active, a posted task that has not run
 * yet included; 0 otherwise. */
EM_API EM_NODISCARD int em_loop_close(em_loop *loop);
/** Cached monotonic time in milliseconds, updated once per loop turn. */
EM_API uint64_t em_loop_now(const em_loop *loop);
/** Refresh the cached time now (rarely needed). */
EM_API void em_loop_update_time(em_loop *loop);
/** Number of active handles (watchers, timers, pending tasks, refs). */
EM_API unsigned em_loop_active(const em_loop *loop);
/** Keep the loop alive without a handle (em_loop_ref) and release it. */
EM_API void em_loop_ref(em_loop *loop);
/** Release a reference taken with em_loop_ref(). */
EM_API void em_loop_unref(em_loop *loop);

/** Run task->cb on this loop's thread after the current callback returns,
 * within the current turn. Loop thread only. Tasks run in FIFO order; a
 * task deferred by a task runs in the next turn (bounded work per turn). */
EM_API void em_loop_defer(em_loop *loop, em_task *task);
/** Take a deferred task back before it runs (also from a task of the same
 * round). Returns true if task was waiting and now will not run; false if
 * it was not deferred (never deferred, already run or running). O(number of
 * deferred tasks). Loop thread only; not for em_loop_post() tasks. */
EM_API bool em_loop_defer_cancel(em_loop *loop, em_task *task);
/** Thread-safe: queue task for the loop's thread and wake it (eventfd).
 * Returns 0, or EM_ECLOSED if the loop is closing or closed. A queued task does not
 * keep an idle loop waiting for more posts, but em_loop_run() runs it before
 * returning idle. */
EM_API int em_loop_post(em_loop *loop, em_task *task);

/* ---- fd watchers ------------------------------------------------------ */

/** Event bits: interest for em_io_start(), readiness in em_io_cb. */
enum {
    EM_IO_READ = 0x1,   /**< readable (EPOLLIN) */
    EM_IO_WRITE = 0x4,  /**< writable (EPOLLOUT) */
    EM_IO_ERROR = 0x8,  /**< reported only: EPOLLERR */
    EM_IO_HUP = 0x10,   /**< reported only: EPOLLHUP / EPOLLRDHUP */
    EM_IO_EDGE = 0x40000000 /**< request edge-triggered delivery (EPOLLET) */
};

/** An fd watcher embedded in the user's struct. Level-triggered unless
 * EM_IO_EDGE is passed to em_io_start(). The fd is not owned: closing it is
 * the caller's job, after em_io_stop(). */
struct em_io {
    void *data; /**< user data; ember never touches it */
    em_io_cb _cb;
    em_loop *_loop;
    int fd;           /**< the watched fd (not owned) */
    unsigned _events; /**< interest registered with epoll; 0: fd not in the set */
};

/** Bind w to fd on loop. Does not start watching. */
EM_API void em_io_init(em_loop *loop, em_io *w, int fd, em_io_cb cb);
/** Set the interest to events (EM_IO_READ|EM_IO_WRITE, optionally
 * EM_IO_EDGE); replaces the previous interest. Returns 0 or em_err. */
EM_API EM_NODISCARD int em_io_start(em_io *w, unsigned events);
/** Stop watching. Safe inside any callback: events already collected for w in
 * this turn are discarded. */
EM_API void em_io_stop(em_io *w);
/** True while w is watching some events. */
EM_API bool em_io_active(const em_io *w);
/** The interest last set with em_io_start() (EM_IO_EDGE included), 0 when
 * stopped. */
EM_API unsigned em_io_events(const em_io *w);
/** The loop w was bound to by em_io_init(). */
EM_API em_loop *em_io_loop(const em_io *w);

/* ---- timers ----------------------------------------------------------- */

/** A timer on the loop's hashed wheel (millisecond resolution). Start and
 * stop are O(1). Callbacks may start or stop any timer, this one included. */
struct em_timer {
    void *data; /**< user data; ember never touches it */
    em_timer_cb _cb;
    em_loop *_loop;
    uint64_t _due;      /**< absolute ms */
    em_timer *_next, *_prev;
    uint32_t _repeat;   /**< 0: one-shot; 32 bits pack it beside _active */
    unsigned _active;
};

/** Bind t to loop with callback cb; t starts inactive. Loop thread. t is
 * caller-owned: stop it before freeing its memory (no close callback is
 * needed). */
EM_API void em_timer_init(em_loop *loop, em_timer *t, em_timer_cb cb);
/** (Re)arm t to fire after timeout_ms (0 fires on the next turn), then every
 * repeat_ms if repeat_ms > 0. Restarting an active timer moves it. The
 * timeout counts from this call, not from the loop's cached time: t never
 * fires before timeout_ms have passed. Repeats keep a fixed rate (the n-th
 * firing is due n periods after the first; a late callback does not push
 * the next ones back). A timeout is capped at 2^40 ms (35 years), a repeat
 * at 2^32 - 1 ms (49.7 days). */
EM_API void em_timer_start(em_timer *t, uint64_t timeout_ms, uint64_t repeat_ms);
/** Disarm t; no-op if inactive. Safe inside any callback. */
EM_API void em_timer_stop(em_timer *t);
/** True while t is armed (a one-shot timer is no longer armed once it fired). */
EM_API bool em_timer_active(const em_timer *t);

/* ---- signals ---------------------------------------------------------- */

typedef struct em_signal em_signal;
/** Called on the loop's thread for each watched signal delivered; signum is
 * its number. */
typedef void (*em_signal_cb)(em_signal *s, int signum);

/** Signals delivered through signalfd. em_signal_start() blocks the signal in
 * the calling thread; start signal watchers before creating other threads
 * (em_sched threads block all signals), so delivery lands on the fd. */
struct em_signal {
    void *data; /**< user data; ember never touches it */
    em_signal_cb _cb;
    em_io _io;
    uint64_t _mask; /**< bit n-1 set: signal n watched */
};

/** Bind s to loop with callback cb; it watches nothing until
 * em_signal_start(). Loop thread. Call em_signal_stop() before freeing s. */
EM_API void em_signal_init(em_loop *loop, em_signal *s, em_signal_cb cb);
/** Watch signum (may be called for several signals). Returns 0 or em_err. */
EM_API EM_NODISCARD int em_signal_start(em_signal *s, int signum);
/** Stop watching all signals, close the signalfd, unblock the signals. */
EM_API void em_signal_stop(em_signal *s);

/* ---- multicore scheduler ---------------------------------------------- */

typedef struct em_sched em_sched;
/** Called on each worker thread with its freshly initialised loop, before the
 * loop runs; start the worker's handles here (e.g. a SO_REUSEPORT listener).
 * Return 0, or an em_err to abort that worker. */
typedef int (*em_sched_setup_cb)(em_loop *loop, unsigned index, void *arg);
/** Called on the worker thread after its loop returned, to close handles
 * before the loop is closed. May be NULL. */
typedef void (*em_sched_teardown_cb)(em_loop *loop, unsigned index, void *arg);

/** Options for em_sched_start(); read only during that call. */
typedef struct em_sched_opts {
    unsigned workers;              /**< number of loops/threads; 0 means one per core */
    bool pin;                      /**< pin worker i to CPU (i % ncpu) */
    em_sched_setup_cb setup;       /**< may be NULL */
    em_sched_teardown_cb teardown; /**< may be NULL */
    void *arg;                     /**< passed to setup and teardown */
} em_sched_opts;

struct em__worker;
struct em_sched {
    struct em__worker *_workers; /**< allocated by em_sched_start */
    unsigned _n;
};

/** Start opts->workers threads, each running its own loop. Returns 0 once
 * every worker's setup returned (the first setup error otherwise, with all
 * workers stopped and joined). */
EM_API EM_NODISCARD int em_sched_start(em_sched *s, const em_sched_opts *opts);
/** Ask every worker loop to stop. Thread-safe. */
EM_API void em_sched_stop(em_sched *s);
/** Wait for all workers to finish and free the scheduler's memory. */
EM_API int em_sched_join(em_sched *s);
/** Worker i's loop (valid between start and join), for em_loop_post(). */
EM_API em_loop *em_sched_loop(em_sched *s, unsigned i);
/** Number of online CPUs. */
EM_API unsigned em_cpu_count(void);

#ifdef __cplusplus
}
#endif
#endif

/* Shared between the files of the tcp module; not installed.
 *
 * The async connection is built in one-way layers; a file calls only the
 * files listed before it:
 *   conn_core.c    interest, deferred work, failure, close (no callers above)
 *   transport.c    the plain transport and the transport API
 *   read.c         the read side
 *   write_queue.c  writes, the queue, shutdown and end
 *   conn.c         init, event dispatch, deferred work, move
 *   connect.c, server.c  on top
 *   connect_host.c on connect.c (conn_core.c reaches it only through the
 *                  em__tcp_happy hook below)
 */
#ifndef EMBER_TCP_INTERNAL_H
#define EMBER_TCP_INTERNAL_H

#include <sys/socket.h>
#include <time.h>

#include "ember/tcp.h"

/* One queued write piece. A write is one or more entries; only its last
 * entry carries `last`, so finishing it completes the write's token. */
struct em__wq_entry {
    const char *ptr;
    size_t len;
    uint64_t token;
    bool owned; /* ptr is our malloc'd copy */
    bool last;
};

/* The write queue (em__tcp_wq(c)): a ring of 1 << log2 entries and where its
 * queued ones are. Allocated when a write first has to wait, so a
 * connection whose writes always go straight out carries one NULL. */
struct em__tcp_wq {
    unsigned head, len;
    uint32_t off; /* bytes of the head entry already sent: < its len */
    uint8_t log2;
    struct em__wq_entry e[];
};

/* em_tcp_conn._flags */
enum {
    EM__TCP_OPEN = 0x1,          /* between init and close */
    EM__TCP_READING = 0x2,       /* the user wants reads */
    EM__TCP_EOF = 0x4,           /* read side ended; reading never restarts */
    EM__TCP_CONNECTING = 0x8,    /* async connect in flight */
    EM__TCP_SHUT_PENDING = 0x10, /* end the write side once the queue drains */
    EM__TCP_SHUT_DONE = 0x20,
    EM__TCP_THROTTLED = 0x40,
    EM__TCP_TASK_QUEUED = 0x80,  /* _task is on the loop's defer list */
    EM__TCP_CLOSE_DUE = 0x100,   /* closed: _task calls the close callback */
    EM__TCP_IO_R = 0x200,        /* interest registered with the loop */
    EM__TCP_IO_W = 0x400,
    EM__TCP_READ_DUE = 0x800,    /* _task reads (the transport holds plaintext) */
    EM__TCP_TPENDING = 0x1000,   /* the transport holds bytes for the socket */
    EM__TCP_RD_WANTS_W = 0x2000, /* the transport's read waits for writable */
    EM__TCP_WR_WANTS_R = 0x4000, /* the transport's write waits for readable */
    EM__TCP_ENDING = 0x8000,     /* em_tcp_conn_end: close once shut down */
    EM__TCP_FAILED = 0x10000     /* an error went to on_read: never another */
};

/* A connect by name in flight (or failed) on c's behalf: c has no socket,
 * and closing c hands the close to this hook (connect_host.c), which
 * cancels the race and runs cb from the loop. */
struct em__tcp_happy {
    void (*close)(em_tcp_conn *c, em_tcp_close_cb cb);
};

/* What few connections need, in c->_io.data (the watcher's callback finds
 * c by EM_CONTAINER_OF; an idle connection is 8 bytes leaner for it):
 * allocated by whatever sets a field, freed once none is set, and at the
 * close. */
struct em__tcp_ext {
    const em_tcp_transport *tp;   /* NULL: the plain socket, called directly */
    void *tstate;                 /* the transport's state */
    em_tcp_connect_cb on_connect; /* while EM__TCP_CONNECTING */
    struct em__tcp_happy *happy;  /* em_tcp_conn_connect_host in flight or failed */
};

static inline struct em__tcp_ext *em__tcp_ext(const em_tcp_conn *c) {
    return (struct em__tcp_ext *)c->_io.data;
}

/* The transport, NULL for the plain socket. */
static inline const em_tcp_transport *em__tcp_tp(const em_tcp_conn *c) {
    const struct em__tcp_ext *x = em__tcp_ext(c);
    return x ? x->tp : NULL;
}

/* The whole token whose low 32 bits are lo, for a token at most 2^32 - 1
 * behind _next_token (_taken_lo, _done_lo, _reported_lo). */
static inline uint64_t em__tcp_token(const em_tcp_conn *c, uint32_t lo) {
    return c->_next_token - (uint32_t)((uint32_t)c->_next_token - lo);
}

/* The write queue, in c->_task.data (the task's callback finds c by
 * EM_CONTAINER_OF); NULL until a write first has to wait. */
static inline struct em__tcp_wq *em__tcp_wq(const em_tcp_conn *c) {
    return (struct em__tcp_wq *)c->_task.data;
}

/* Ring index i (wrapping) of q, and entry i after the head. */
static inline unsigned em__tcp_wq_wrap(const struct em__tcp_wq *q, unsigned i) {
    return i & ((1u << q->log2) - 1);
}
static inline struct em__wq_entry *em__tcp_wq_at(struct em__tcp_wq *q, unsigned i) {
    return &q->e[em__tcp_wq_wrap(q, q->head + i)];
}

/* Entries queued in the write queue. */
static inline unsigned em__tcp_wq_len(const em_tcp_conn *c) {
    const struct em__tcp_wq *q = em__tcp_wq(c);
    return q ? q->len : 0;
}

/* ---- conn_core.c -------------------------------------------------------- */

/* c's cold part, allocated if it has none yet; NULL on ENOMEM. */
struct em__tcp_ext *em__tcp_ext_get(em_tcp_conn *c);
/* Free c's cold part if none of its fields is set any more. */
void em__tcp_ext_trim(em_tcp_conn *c);
/* Free c's cold part, whatever it holds. */
void em__tcp_ext_free(em_tcp_conn *c);

/* Bring the loop interest in line with the connection's state. Returns 0 or
 * em_err. */
int em__tcp_update_io(em_tcp_conn *c);
/* Set `due` (0 or EM__TCP_READ_DUE) and queue _task if it is not queued. */
void em__tcp_defer(em_tcp_conn *c, unsigned due);
/* Queue delivery of on_sent if a token completed since the last report. */
void em__tcp_schedule_sent(em_tcp_conn *c);
/* Drop every queued entry, freeing copies; no longer throttled. */
void em__tcp_wq_free(em_tcp_conn *c);
/* The connection broke (a read or write error): drop the queue, stop
 * reading, and tell on_read once (or just close if ending). */
void em__tcp_fail(em_tcp_conn *c, int err);
/* End the write direction through the transport: 0, EM_EAGAIN, em_err. */
int em__tcp_shutdown_now(em_tcp_conn *c);
/* Close: release the transport, stop watching, close the fd, and defer the
 * close callback cb. */
void em__tcp_close(em_tcp_conn *c, em_tcp_close_cb cb);

/* ---- read.c ------------------------------------------------------------- */

/* Read until EAGAIN or a bound and hand the bytes to on_read. hup: the
 * event reported a hangup (a short read no longer means drained). */
void em__tcp_read(em_tcp_conn *c, bool hup);

/* ---- write_queue.c ------------------------------------------------------ */

/* Send queued and pending bytes until EAGAIN or empty; finish a pending
 * shutdown or end (called on writable, or readable when the transport's
 * write waited for it). */
void em__tcp_wq_flush(em_tcp_conn *c);

/* Map the errno of a failed syscall; EAGAIN stays EM_EAGAIN. */
static inline int em__tcp_errno(void) {
    return errno == EWOULDBLOCK ? EM_EAGAIN : em_err_from_errno(errno);
}

/* accept(2) failed for this one connection only (reset or refused by a
 * firewall before we took it; Linux also passes on the pending network
 * errors of the new socket, see accept(2)), or was interrupted: the next
 * accept may well succeed. Anything else (ENOBUFS, ENOMEM, EINVAL on a
 * listener someone shut down, ...) would fail again at once. */
static inline bool em__tcp_accept_transient(int err) {
    switch (-err) {
    case EINTR:
    case ECONNABORTED:
    case EPERM:
    case EPROTO:
    case ENOPROTOOPT:
    case ENETDOWN:
    case ENETUNREACH:
    case EHOSTDOWN:
    case EHOSTUNREACH:
    case ENONET:
    case EOPNOTSUPP:
        return true;
    default:
        return false;
    }
}

/* Monotonic milliseconds, for the deadlines of the blocking calls. */
static inline uint64_t em__tcp_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait until fd has one of events (POLLIN, POLLOUT) or the deadline
 * (em__tcp_now_ms() time; 0: none) passes; a signal waits on for what is
 * left. Returns 0 (ready, or an error or hang-up the next call reports),
 * EM_ETIMEDOUT or em_err (wait.c). */
int em__tcp_poll_until(int fd, short events, uint64_t deadline);

/* A size for the connection's 32-bit fields (em_tcp_conn_opts says
 * larger values are taken as UINT32_MAX). */
static inline uint32_t em__tcp_u32(size_t v) {
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Does the transport hold bytes for the socket? (Never for the plain one.) */
static inline bool em__tcp_tp_pending(const em_tcp_conn *c) {
    const em_tcp_transport *tp = em__tcp_tp(c);
    return tp && tp->pending(c) > 0;
}

#endif

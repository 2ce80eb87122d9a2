/* The lowest layer of an async connection: loop interest, deferred work,
 * failure and close. It calls nothing else in tcp/; user callbacks run only
 * from em__tcp_fail (on_read, as its last action). */
#include <stdlib.h>
#include <unistd.h>

#include "tcp_internal.h"

int em__tcp_update_io(em_tcp_conn *c) {
    unsigned f = c->_flags;
    unsigned want = 0;
    if (((f & EM__TCP_READING) && !(f & (EM__TCP_EOF | EM__TCP_CONNECTING))) ||
        (f & EM__TCP_WR_WANTS_R))
        want |= EM_IO_READ;
    /* A write waiting for readability gets no EPOLLOUT: it could not use it. */
    if ((f & (EM__TCP_CONNECTING | EM__TCP_RD_WANTS_W)) ||
        ((em__tcp_wq_len(c) > 0 || (f & (EM__TCP_TPENDING | EM__TCP_SHUT_PENDING))) &&
         !(f & EM__TCP_WR_WANTS_R)))
        want |= EM_IO_WRITE;
    unsigned have = (f & EM__TCP_IO_R ? EM_IO_READ : 0) | (f & EM__TCP_IO_W ? EM_IO_WRITE : 0);
    if (want == have)
        return 0;
    c->_flags &= ~(unsigned)(EM__TCP_IO_R | EM__TCP_IO_W);
    if (want == 0) {
        em_io_stop(&c->_io);
        return 0;
    }
    /* Edge-triggered: epoll does not re-poll a socket it already reported
     * (level-triggered re-checks each one on every wait). em__tcp_read()
     * keeps the contract by reading until EAGAIN, or re-arming. */
    int err = em_io_start(&c->_io, want | EM_IO_EDGE);
    if (err) {
        em_io_stop(&c->_io);
        return err;
    }
    c->_flags |= (want & EM_IO_READ ? EM__TCP_IO_R : 0) | (want & EM_IO_WRITE ? EM__TCP_IO_W : 0);
    return 0;
}

void em__tcp_defer(em_tcp_conn *c, unsigned due) {
    c->_flags |= due;
    if (c->_flags & EM__TCP_TASK_QUEUED)
        return;
    c->_flags |= EM__TCP_TASK_QUEUED;
    em_loop_defer(em_io_loop(&c->_io), &c->_task);
}

void em__tcp_schedule_sent(em_tcp_conn *c) {
    if (c->_done_lo == c->_reported_lo)
        return;
    if (!c->_cbs->on_sent) { /* nobody listens: skip the deferred task */
        c->_reported_lo = c->_done_lo;
        return;
    }
    em__tcp_defer(c, 0);
}

struct em__tcp_ext *em__tcp_ext_get(em_tcp_conn *c) {
    if (!c->_io.data)
        c->_io.data = calloc(1, sizeof(struct em__tcp_ext));
    return em__tcp_ext(c);
}

void em__tcp_ext_trim(em_tcp_conn *c) {
    struct em__tcp_ext *x = em__tcp_ext(c);
    if (x && !x->tp && !x->tstate && !x->on_connect && !x->happy)
        em__tcp_ext_free(c);
}

void em__tcp_ext_free(em_tcp_conn *c) {
    free(c->_io.data);
    c->_io.data = NULL;
}

void em__tcp_wq_free(em_tcp_conn *c) {
    struct em__tcp_wq *q = em__tcp_wq(c);
    if (q) {
        for (unsigned i = 0; i < q->len; i++) {
            struct em__wq_entry *e = em__tcp_wq_at(q, i);
            if (e->owned)
                free((void *)e->ptr);
        }
        q->head = q->len = 0;
        q->off = 0;
    }
    c->_queued = 0;
    /* Nothing is queued to wait for. No on_unthrottled: the queue was
     * dropped (failure, close), it did not drain. */
    c->_flags &= ~(unsigned)EM__TCP_THROTTLED;
}

void em__tcp_close(em_tcp_conn *c, em_tcp_close_cb cb) {
    if (!(c->_flags & EM__TCP_OPEN)) {
        struct em__tcp_ext *x = em__tcp_ext(c);
        if (x && x->happy)
            x->happy->close(c, cb);
        return;
    }
    const em_tcp_transport *tp = em__tcp_tp(c);
    if (tp && tp->close)
        tp->close(c);
    em__tcp_ext_free(c); /* the transport is released; a connect is over */
    em_io_stop(&c->_io);
    close(c->_io.fd);
    c->_io.fd = -1;
    em__tcp_wq_free(c);
    free(em__tcp_wq(c));
    c->_task.data = NULL;
    c->_on_close = cb;
    c->_flags &= ~(unsigned)(EM__TCP_OPEN | EM__TCP_READING | EM__TCP_IO_R | EM__TCP_IO_W |
                             EM__TCP_READ_DUE | EM__TCP_TPENDING);
    /* One task does all deferred work, so the close callback (after which
     * the user may free c) always runs after anything already queued. */
    em__tcp_defer(c, EM__TCP_CLOSE_DUE);
}

void em__tcp_fail(em_tcp_conn *c, int err) {
    c->_werr = (int16_t)err;
    em__tcp_wq_free(c);
    c->_flags &= ~(unsigned)(EM__TCP_READING | EM__TCP_TPENDING | EM__TCP_SHUT_PENDING |
                             EM__TCP_RD_WANTS_W | EM__TCP_WR_WANTS_R);
    c->_flags |= EM__TCP_EOF;
    if (c->_flags & EM__TCP_ENDING) {
        em__tcp_close(c, c->_on_close);
        return;
    }
    (void)em__tcp_update_io(c); /* removing interest cannot fail */
    if (c->_flags & EM__TCP_FAILED)
        return;
    c->_flags |= EM__TCP_FAILED;
    c->_cbs->on_read(c, err);
}

int em__tcp_shutdown_now(em_tcp_conn *c) {
    const em_tcp_transport *tp = em__tcp_tp(c);
    if (tp)
        return tp->shutdown(c);
    /* ENOTCONN: the peer already reset; nothing is left to end. */
    return shutdown(c->_io.fd, SHUT_WR) == 0 || errno == ENOTCONN ? 0 : em__tcp_errno();
}

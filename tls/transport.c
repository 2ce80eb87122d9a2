/* The TLS transport under em_tcp_conn: each op runs the engine on the
 * connection's socket and turns an EM_EAGAIN that waits for the other
 * direction into em_tcp_conn_transport_want. Also the handshake's timer and
 * the task that tells a client its handshake is done (never from inside an
 * op: the connection is mid-read or mid-write there). */
#include <stdio.h>

#include "tls_internal.h"

static em__tls_eng *eng(const em_tcp_conn *c) {
    return em_tcp_conn_transport_state(c);
}

void em__tls_report(em__tls_eng *e, int status) {
    if (e->flags & EM__TLS_TIMER) {
        em_timer_stop(&e->timer);
        e->flags &= ~(unsigned)EM__TLS_TIMER;
    }
    em_tcp_connect_cb cb = e->on_done;
    e->on_done = NULL;
    e->flags &= ~(unsigned)(EM__TLS_NOTIFY | EM__TLS_HOLD);
    if (cb)
        cb(e->conn, status);
}

/* After an engine call: once the handshake is done, stop its timer and
 * queue the client's notice. */
static void after(em__tls_eng *e) {
    if (!(e->flags & EM__TLS_HS_DONE))
        return;
    if (e->flags & EM__TLS_TIMER) {
        em_timer_stop(&e->timer);
        e->flags &= ~(unsigned)EM__TLS_TIMER;
    }
    if ((e->flags & EM__TLS_NOTIFY) && !(e->flags & EM__TLS_TASK)) {
        e->flags = (e->flags & ~(unsigned)EM__TLS_NOTIFY) | EM__TLS_TASK;
        em_loop_defer(e->loop, &e->task);
    }
}

static void on_task(em_task *t) {
    em__tls_eng *e = t->data;
    e->flags &= ~(unsigned)(EM__TLS_TASK | EM__TLS_HOLD);
    em_tcp_conn *c = e->conn;
    em_tcp_conn_read_stop(c);
    em_tcp_conn_set_cbs(c, e->cbs);
    em__tls_report(e, 0);
}

static void on_timeout(em_timer *t) {
    em__tls_eng *e = t->data;
    e->flags &= ~(unsigned)EM__TLS_TIMER;
    if (e->flags & EM__TLS_HS_DONE)
        return;
    if (!e->err) {
        e->err = EM_ETIMEDOUT;
        char *r = em__tls_reason(e);
        if (r)
            snprintf(r, EM__TLS_REASON_LEN, "TLS handshake timed out");
    }
    if (e->flags & EM__TLS_TCP_CONNECTING) {
        em__tls_report(e, EM_ETIMEDOUT);
        return;
    }
    /* The next read returns the sticky error through on_read, the one path
     * for errors: a read is due at once on a connection that reads. */
    int err = em_tcp_conn_read_start(e->conn);
    (void)err; /* a connection that ended reads nothing more: nothing to tell */
}

void em__tls_timer_start(em__tls_eng *e, em_tcp_conn *c) {
    e->conn = c;
    e->loop = em_tcp_conn_loop(c);
    e->task.cb = on_task;
    e->task.data = e;
    em_timer_init(e->loop, &e->timer, on_timeout);
    e->timer.data = e;
    em_timer_start(&e->timer, e->ctx->handshake_timeout_ms, 0);
    e->flags |= EM__TLS_TIMER;
}

void em__tls_notify_arm(em__tls_eng *e) {
    e->flags |= EM__TLS_HOLD | EM__TLS_NOTIFY;
    after(e);
}

/* ---- the ops ---------------------------------------------------------------- */

static ssize_t tp_read(em_tcp_conn *c, char *buf, size_t len) {
    em__tls_eng *e = eng(c);
    int fd = em_tcp_conn_fd(c);
    ssize_t n = 0;
    if (!(e->flags & EM__TLS_HS_DONE)) {
        n = em__tls_eng_handshake(e, fd);
        after(e);
    }
    if (n == 0) {
        /* A client told of its handshake later reads nothing before. */
        if (e->flags & EM__TLS_HOLD)
            return EM_EAGAIN;
        n = em__tls_eng_read(e, fd, buf, len);
    }
    if (n == EM_EAGAIN && (e->want & EM_TCP_WANT_WRITE))
        em_tcp_conn_transport_want(c, EM_TCP_WANT_WRITE);
    return n;
}

static ssize_t tp_writev(em_tcp_conn *c, const struct iovec *iov, int cnt) {
    em__tls_eng *e = eng(c);
    bool hs = !(e->flags & EM__TLS_HS_DONE);
    ssize_t n = em__tls_eng_writev(e, em_tcp_conn_fd(c), iov, cnt);
    after(e);
    if (n == EM_EAGAIN && (e->want & EM_TCP_WANT_READ))
        em_tcp_conn_transport_want(c, EM_TCP_WANT_READ);
    /* A handshake driven from here may have read past it (plaintext, the
     * peer's end) with no socket event left to tell the reader: ask for a
     * read retry, which comes at the next writable event. */
    if (hs && (em_buf_len(&e->b.in) || e->b.eof || SSL_pending(e->ssl) > 0))
        em_tcp_conn_transport_want(c, EM_TCP_WANT_WRITE);
    return n;
}

static int tp_flush(em_tcp_conn *c) {
    return em__tls_eng_flush(eng(c), em_tcp_conn_fd(c));
}

static int tp_shutdown(em_tcp_conn *c) {
    return em__tls_eng_shutdown(eng(c), em_tcp_conn_fd(c));
}

static void tp_close(em_tcp_conn *c) {
    em__tls_eng *e = eng(c);
    if (e->flags & EM__TLS_TIMER)
        em_timer_stop(&e->timer);
    if (e->flags & EM__TLS_TASK)
        (void)em_loop_defer_cancel(e->loop, &e->task);
    /* A close that drops nothing answers the peer's close_notify. */
    if (em_tcp_conn_queued(c) == 0)
        em__tls_eng_answer_close(e, em_tcp_conn_fd(c));
    em__tls_eng_free(e);
}

static size_t tp_pending(const em_tcp_conn *c) {
    return em_buf_len(&eng(c)->b.out);
}

static size_t tp_readable(const em_tcp_conn *c) {
    const em__tls_eng *e = eng(c);
    int n = SSL_pending(e->ssl);
    return n > 0 ? (size_t)n : (em_buf_len(&e->b.in) > 0 || e->b.eof);
}

const em_tcp_transport em__tls_transport = {
    .name = "tls",
    .read = tp_read,
    .writev = tp_writev,
    .flush = tp_flush,
    .shutdown = tp_shutdown,
    .close = tp_close,
    .pending = tp_pending,
    .readable = tp_readable,
};

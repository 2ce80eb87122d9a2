/* Async TCP connection: init, event dispatch, the deferred task, close,
 * move. The layers below are conn_core.c, transport.c, read.c and
 * write_queue.c (see tcp_internal.h).
 *
 * Callback safety: the user may close or move c inside any callback. c's
 * memory stays valid until the deferred close callback runs (or, when
 * moved, until the callback returns), so after each user callback we only
 * look at c->_flags and stop if EM__TCP_OPEN is gone. */
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp_internal.h"

static void on_io(em_io *w, unsigned events);
static void on_task(em_task *t);

EM_API int em_tcp_conn_init(em_loop *loop, em_tcp_conn *c, int fd, const em_tcp_conn_cbs *cbs,
                            const em_tcp_conn_opts *opts) {
    if (!loop || !c || fd < 0 || !cbs || !cbs->on_read)
        return EM_EINVAL;
    em_tcp_conn_opts o = {0};
    if (opts)
        o = *opts;
    if (!o.read_max)
        o.read_max = 64 * 1024;
    if (!o.read_chunk)
        o.read_chunk = 16 * 1024;
    if (o.read_chunk > o.read_max)
        o.read_chunk = o.read_max;
    if (!o.high_watermark)
        o.high_watermark = 1024 * 1024;
    if (!o.low_watermark)
        o.low_watermark = o.high_watermark / 4;
    if (o.low_watermark > o.high_watermark)
        return EM_EINVAL;
    if (!o.max_queue)
        o.max_queue = 16 * 1024 * 1024;
    int err = em_sock_set_nonblock(fd, true);
    if (err)
        return err;
    /* Latency over batching: callers coalesce with multi-slice writes. Not
     * fatal on non-TCP stream sockets (socketpairs in tests). */
    (void)em_sock_set_nodelay(fd, true);

    void *data = c->data; /* the user may have set it before init */
    memset(c, 0, sizeof *c);
    c->data = data;
    em_buf_init(&c->in, o.read_max);
    em_io_init(loop, &c->_io, fd, on_io);
    c->_cbs = cbs;
    c->_read_chunk = em__tcp_u32(o.read_chunk);
    c->_high_wm = em__tcp_u32(o.high_watermark);
    c->_low_wm = em__tcp_u32(o.low_watermark);
    c->_max_queue = em__tcp_u32(o.max_queue);
    c->_task.cb = on_task; /* its data: the write queue (tcp_internal.h) */
    c->_flags = EM__TCP_OPEN;
    return 0;
}

static void connect_done(em_tcp_conn *c) {
    int err = em_sock_error(c->_io.fd);
    c->_flags &= ~(unsigned)EM__TCP_CONNECTING;
    /* The connect is over: its callback leaves the cold part, which goes
     * unless a transport is in it too. */
    struct em__tcp_ext *x = em__tcp_ext(c);
    em_tcp_connect_cb cb = x->on_connect;
    x->on_connect = NULL;
    em__tcp_ext_trim(c);
    if (err == 0)
        err = em__tcp_update_io(c);
    if (err) {
        /* Stop watching so a failed socket cannot spin the loop before the
         * user closes c. */
        em_io_stop(&c->_io);
        c->_flags &= ~(unsigned)(EM__TCP_IO_R | EM__TCP_IO_W);
        cb(c, err);
        return;
    }
    (void)em_sock_set_nodelay(c->_io.fd, true);
    cb(c, 0);
    if (!(c->_flags & EM__TCP_OPEN) || (c->_flags & EM__TCP_CONNECTING))
        return;
    /* Reading started while connecting, through a transport, may already
     * have plaintext waiting; writes and a shutdown were queued. */
    if ((c->_flags & EM__TCP_READING) && em__tcp_tp(c))
        em__tcp_defer(c, EM__TCP_READ_DUE);
    em__tcp_wq_flush(c);
}

static void on_io(em_io *w, unsigned events) {
    em_tcp_conn *c = EM_CONTAINER_OF(w, em_tcp_conn, _io);
    if (c->_flags & EM__TCP_CONNECTING) {
        connect_done(c);
        return;
    }
    unsigned f = c->_flags;
    bool err = (events & (EM_IO_ERROR | EM_IO_HUP)) != 0;
    /* Writes first: flushing may complete a shutdown the reader is waiting
     * for, and errors surface through the write path with their errno. */
    if ((f & EM__TCP_IO_W) && (events & EM_IO_WRITE || err)) {
        if (f & EM__TCP_RD_WANTS_W) { /* the transport's read waited for this */
            if ((f & EM__TCP_READING) && !(f & EM__TCP_EOF))
                em__tcp_read(c, false);
            if (!(c->_flags & EM__TCP_OPEN))
                return;
        }
        if (em__tcp_wq_len(c) > 0 || (c->_flags & (EM__TCP_TPENDING | EM__TCP_SHUT_PENDING))) {
            em__tcp_wq_flush(c);
            if (!(c->_flags & EM__TCP_OPEN))
                return;
        }
    }
    f = c->_flags;
    if ((f & EM__TCP_IO_R) && (events & EM_IO_READ || err)) {
        if (f & EM__TCP_WR_WANTS_R) { /* the transport's write waited for this */
            em__tcp_wq_flush(c);
            if (!(c->_flags & EM__TCP_OPEN))
                return;
        }
        if ((c->_flags & EM__TCP_READING) && !(c->_flags & EM__TCP_EOF))
            em__tcp_read(c, (events & (EM_IO_HUP | EM_IO_ERROR)) != 0);
    }
}

static void on_task(em_task *t) {
    em_tcp_conn *c = EM_CONTAINER_OF(t, em_tcp_conn, _task);
    c->_flags &= ~(unsigned)EM__TCP_TASK_QUEUED;
    if (c->_flags & EM__TCP_CLOSE_DUE) {
        c->_flags &= ~(unsigned)EM__TCP_CLOSE_DUE;
        /* c->in survives until here so a callback that closed c may still
         * look at the bytes it was handed. */
        em_buf_free(&c->in);
        /* Writes the socket took before the close went out: report them
         * before the end, or their owners count them lost (a ws's
         * em_ws_send_async said EM_ECLOSED for a message the peer got). */
        if (c->_done_lo != c->_reported_lo && c->_cbs && c->_cbs->on_sent) {
            c->_reported_lo = c->_done_lo;
            c->_cbs->on_sent(c, em__tcp_token(c, c->_reported_lo));
        }
        if (c->_on_close)
            c->_on_close(c); /* may free c */
        return;
    }
    if (!(c->_flags & EM__TCP_OPEN))
        return;
    if (c->_done_lo != c->_reported_lo && c->_cbs->on_sent) {
        c->_reported_lo = c->_done_lo;
        c->_cbs->on_sent(c, em__tcp_token(c, c->_reported_lo));
        if (!(c->_flags & EM__TCP_OPEN))
            return;
    }
    if (c->_flags & EM__TCP_READ_DUE) {
        c->_flags &= ~(unsigned)EM__TCP_READ_DUE;
        if ((c->_flags & EM__TCP_READING) && !(c->_flags & EM__TCP_EOF))
            em__tcp_read(c, false);
    }
}

EM_API void em_tcp_conn_close(em_tcp_conn *c, em_tcp_close_cb cb) {
    em__tcp_close(c, cb);
}

EM_API int em_tcp_conn_move(em_tcp_conn *dst, em_tcp_conn *src, const em_tcp_conn_cbs *cbs) {
    if (!dst || !src || dst == src || !cbs || !cbs->on_read)
        return EM_EINVAL;
    if (!(src->_flags & EM__TCP_OPEN))
        return EM_ECLOSED;
    /* epoll and the defer list hold src's address: take both back. */
    bool queued = (src->_flags & EM__TCP_TASK_QUEUED) != 0;
    if (queued)
        (void)em_loop_defer_cancel(em_io_loop(&src->_io), &src->_task);
    unsigned events = em_io_events(&src->_io);
    em_io_stop(&src->_io);

    void *data = dst->data;
    *dst = *src;
    dst->data = data;
    dst->_cbs = cbs;
    em_io_init(em_io_loop(&src->_io), &dst->_io, src->_io.fd, on_io); /* keeps _io.data */
    dst->_flags &= ~(unsigned)EM__TCP_TASK_QUEUED;
    /* Work may be owed with no task queued: a move from inside src's task
     * (on_sent) runs before the read that task was about to do. And a
     * transport may hold plaintext no socket event will announce (a move
     * from inside on_read whose batch stopped early): read once for dst;
     * at worst the transport says EM_EAGAIN. */
    unsigned due = 0;
    if (em__tcp_tp(dst) && (dst->_flags & EM__TCP_READING) &&
        !(dst->_flags & (EM__TCP_EOF | EM__TCP_CONNECTING)))
        due = EM__TCP_READ_DUE;
    if (queued || due || (dst->_flags & EM__TCP_READ_DUE) || dst->_done_lo != dst->_reported_lo)
        em__tcp_defer(dst, due);

    data = src->data;
    memset(src, 0, sizeof *src); /* inert: flags 0, nothing owned (the cold part is dst's) */
    src->data = data;
    src->_io.fd = -1;
    em_buf_init(&src->in, 0);

    /* Re-adding reports a socket that is already ready, so no edge is lost. */
    int err = events ? em_io_start(&dst->_io, events) : 0;
    if (err)
        dst->_flags &= ~(unsigned)(EM__TCP_IO_R | EM__TCP_IO_W);
    return err;
}

EM_API int em_tcp_conn_set_limits(em_tcp_conn *c, size_t high_watermark, size_t low_watermark,
                                  size_t max_queue) {
    uint32_t high = high_watermark ? em__tcp_u32(high_watermark) : c->_high_wm;
    uint32_t low = low_watermark ? em__tcp_u32(low_watermark) : c->_low_wm;
    if (low > high)
        return EM_EINVAL;
    c->_high_wm = high;
    c->_low_wm = low;
    if (max_queue)
        c->_max_queue = em__tcp_u32(max_queue);
    return 0;
}

EM_API void em_tcp_conn_set_read_chunk(em_tcp_conn *c, size_t read_chunk) {
    size_t max = em_buf_max(&c->in);
    if (read_chunk)
        c->_read_chunk = em__tcp_u32(read_chunk < max ? read_chunk : max);
}

EM_API void em_tcp_conn_set_cbs(em_tcp_conn *c, const em_tcp_conn_cbs *cbs) {
    if (cbs && cbs->on_read)
        c->_cbs = cbs;
}

EM_API int em_tcp_conn_peer(const em_tcp_conn *c, em_sockaddr *out) {
    if (!(c->_flags & EM__TCP_OPEN))
        return EM_ECLOSED;
    return em_sock_peer_addr(c->_io.fd, out);
}

EM_API size_t em_tcp_conn_queued(const em_tcp_conn *c) {
    /* After a failure the transport may still hold bytes nobody will send. */
    return (c->_flags & EM__TCP_TPENDING) ? c->_queued + em__tcp_tp(c)->pending(c) : c->_queued;
}
EM_API bool em_tcp_conn_throttled(const em_tcp_conn *c) {
    /* A sticky write error: no write will wait for the queue any more. */
    return (c->_flags & EM__TCP_THROTTLED) && !c->_werr;
}
EM_API int em_tcp_conn_fd(const em_tcp_conn *c) {
    return c->_io.fd;
}
EM_API em_loop *em_tcp_conn_loop(const em_tcp_conn *c) {
    return em_io_loop(&c->_io);
}

/* Async TCP connection: lifecycle, the read side and event dispatch. The
 * write queue lives in write_queue.c, connect in connect.c.
 *
 * Callback safety: the user may close c inside any callback. c's memory
 * stays valid until the deferred close callback runs, so after each user
 * callback we only look at c->_flags and stop if EM__TCP_OPEN is gone. */
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp_internal.h"

/* Reads per readiness event before yielding to other connections. */
#define READS_PER_EVENT 16

static void on_sent_task(em_task *t);
static void on_close_task(em_task *t);

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
    c->_loop = loop;
    em_io_init(loop, &c->_io, fd, em__tcp_conn_on_io);
    c->_io.data = c;
    c->_cbs = cbs;
    c->_opts = o;
    c->_sent_task.cb = on_sent_task;
    c->_sent_task.data = c;
    c->_close_task.cb = on_close_task;
    c->_close_task.data = c;
    c->_flags = EM__TCP_OPEN;
    return 0;
}

int em__tcp_conn_update_io(em_tcp_conn *c) {
    unsigned f = c->_flags;
    unsigned want = 0;
    if ((f & EM__TCP_READING) && !(f & EM__TCP_EOF) && !(f & EM__TCP_CONNECTING))
        want |= EM_IO_READ;
    if (c->_wq_len > 0 || (f & EM__TCP_CONNECTING))
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
     * (level-triggered re-checks each one on every wait). do_read() keeps
     * the contract by reading until a short read or EAGAIN, or re-arming. */
    int err = em_io_start(&c->_io, want | EM_IO_EDGE);
    if (err) {
        em_io_stop(&c->_io);
        return err;
    }
    c->_flags |= (want & EM_IO_READ ? EM__TCP_IO_R : 0) | (want & EM_IO_WRITE ? EM__TCP_IO_W : 0);
    return 0;
}

EM_API int em_tcp_conn_read_start(em_tcp_conn *c) {
    if (!(c->_flags & EM__TCP_OPEN))
        return EM_ECLOSED;
    if (c->_flags & EM__TCP_EOF)
        return EM_EOF;
    c->_flags |= EM__TCP_READING;
    return em__tcp_conn_update_io(c);
}

EM_API void em_tcp_conn_read_stop(em_tcp_conn *c) {
    if (!(c->_flags & EM__TCP_OPEN))
        return;
    c->_flags &= ~(unsigned)EM__TCP_READING;
    (void)em__tcp_conn_update_io(c); /* removing interest cannot fail */
}

/* End the read side and tell the user; returns false if c was closed. */
static bool read_end(em_tcp_conn *c, int status, bool eof) {
    c->_flags &= ~(unsigned)EM__TCP_READING;
    if (eof)
        c->_flags |= EM__TCP_EOF;
    (void)em__tcp_conn_update_io(c);
    c->_cbs->on_read(c, status);
    return (c->_flags & EM__TCP_OPEN) != 0;
}

/* hup: the peer half-closed, so a short read does not mean the socket is
 * drained (the EOF still waits behind the data, and with edge-triggered
 * epoll no new event would announce it). */
static void do_read(em_tcp_conn *c, bool hup) {
    int fd = c->_io.fd;
    size_t max = c->_opts.read_max;
    ssize_t total = 0;
    int status = 0;       /* why the batch stopped, if it matters */
    bool drained = false; /* the socket had nothing more at the last read */
    for (int i = 0; i < READS_PER_EVENT; i++) {
        size_t len = em_buf_len(&c->in);
        if (len >= max) {
            status = EM_ENOBUFS;
            break;
        }
        size_t want = c->_opts.read_chunk;
        if (want > max - len)
            want = max - len;
        int err = em_buf_avail(&c->in) >= want ? 0 : em_buf_reserve(&c->in, want);
        if (err) {
            status = err;
            break;
        }
        size_t room = em_buf_avail(&c->in);
        if (room > max - len)
            room = max - len;
        ssize_t n = recv(fd, em_buf_wptr(&c->in), room, 0);
        if (n > 0) {
            em_buf_commit(&c->in, (size_t)n);
            total += n;
            if ((size_t)n < room && !hup) {
                drained = true; /* a short read: skip the EAGAIN round trip */
                break;
            }
            continue;
        }
        if (n == 0) {
            status = EM_EOF;
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            status = em__tcp_errno();
        drained = true;
        break;
    }
    if (total > 0) {
        c->_cbs->on_read(c, total);
        if (!(c->_flags & EM__TCP_OPEN) || !(c->_flags & EM__TCP_READING))
            return;
    }
    if ((status == EM_ENOBUFS && em_buf_len(&c->in) < max) || (!drained && !status)) {
        /* Bytes may be left in the socket (the callback made room, or the
         * batch hit its bound) and no new edge will announce them: re-arm,
         * which reports the socket again if it is still readable. */
        if (em_io_start(&c->_io, em_io_events(&c->_io)) != 0)
            (void)read_end(c, EM_EIO, false);
        return;
    }
    if (status == EM_EOF)
        (void)read_end(c, EM_EOF, true);
    else if (status != 0)
        (void)read_end(c, status, status != EM_ENOBUFS && status != EM_ENOMEM);
}

void em__tcp_conn_on_io(em_io *w, unsigned events) {
    em_tcp_conn *c = w->data;
    if (c->_flags & EM__TCP_CONNECTING) {
        em__tcp_conn_connect_done(c);
        return;
    }
    /* Writes first: flushing may complete a shutdown the reader is waiting
     * for, and errors surface through the write path with their errno. */
    if ((c->_flags & EM__TCP_IO_W) && (events & (EM_IO_WRITE | EM_IO_ERROR | EM_IO_HUP))) {
        em__tcp_wq_flush(c);
        if (!(c->_flags & EM__TCP_OPEN))
            return;
    }
    if ((c->_flags & EM__TCP_IO_R) && (events & (EM_IO_READ | EM_IO_ERROR | EM_IO_HUP)))
        do_read(c, (events & (EM_IO_HUP | EM_IO_ERROR)) != 0);
}

void em__tcp_conn_write_failed(em_tcp_conn *c, int err) {
    c->_werr = err;
    em__tcp_wq_free(c);
    (void)em__tcp_conn_update_io(c);
    if (c->_cbs->on_error)
        c->_cbs->on_error(c, err);
    else
        c->_cbs->on_read(c, err);
}

void em__tcp_conn_schedule_sent(em_tcp_conn *c) {
    if (c->_done_token == c->_reported_token || (c->_flags & EM__TCP_SENT_QUEUED))
        return;
    if (!c->_cbs->on_sent) { /* nobody listens: skip the deferred task */
        c->_reported_token = c->_done_token;
        return;
    }
    c->_flags |= EM__TCP_SENT_QUEUED;
    em_loop_defer(c->_loop, &c->_sent_task);
}

static void call_close_cb(em_tcp_conn *c) {
    /* c->in survives until here so a callback that closed c may still look
     * at the bytes it was handed. */
    em_buf_free(&c->in);
    if (c->_on_close)
        c->_on_close(c);
}

static void on_sent_task(em_task *t) {
    em_tcp_conn *c = t->data;
    c->_flags &= ~(unsigned)EM__TCP_SENT_QUEUED;
    if (c->_flags & EM__TCP_CLOSE_WAIT) {
        /* Closed while this task was queued: the close callback had to wait
         * so the user could not free c while the loop still held this task. */
        call_close_cb(c);
        return;
    }
    if (!(c->_flags & EM__TCP_OPEN) || c->_done_token == c->_reported_token)
        return;
    c->_reported_token = c->_done_token;
    if (c->_cbs->on_sent)
        c->_cbs->on_sent(c, c->_reported_token);
}

static void on_close_task(em_task *t) {
    call_close_cb(t->data);
}

EM_API void em_tcp_conn_close(em_tcp_conn *c, em_tcp_close_cb cb) {
    if (!(c->_flags & EM__TCP_OPEN))
        return;
    em_io_stop(&c->_io);
    close(c->_io.fd);
    c->_io.fd = -1;
    em__tcp_wq_free(c);
    free(c->_wq);
    c->_wq = NULL;
    c->_wq_cap = 0;
    c->_on_close = cb;
    c->_flags &= ~(unsigned)(EM__TCP_OPEN | EM__TCP_READING | EM__TCP_IO_R | EM__TCP_IO_W);
    if (c->_flags & EM__TCP_SENT_QUEUED)
        c->_flags |= EM__TCP_CLOSE_WAIT;
    else
        em_loop_defer(c->_loop, &c->_close_task);
}

EM_API int em_tcp_conn_shutdown(em_tcp_conn *c) {
    if (!(c->_flags & EM__TCP_OPEN) || (c->_flags & (EM__TCP_SHUT_PENDING | EM__TCP_SHUT_DONE)))
        return EM_ECLOSED;
    if (c->_wq_len > 0 || (c->_flags & EM__TCP_CONNECTING)) {
        c->_flags |= EM__TCP_SHUT_PENDING;
        return 0;
    }
    c->_flags |= EM__TCP_SHUT_DONE;
    return shutdown(c->_io.fd, SHUT_WR) == 0 ? 0 : em__tcp_errno();
}

EM_API size_t em_tcp_conn_queued(const em_tcp_conn *c) {
    return c->_queued;
}
EM_API bool em_tcp_conn_throttled(const em_tcp_conn *c) {
    return (c->_flags & EM__TCP_THROTTLED) != 0;
}
EM_API int em_tcp_conn_fd(const em_tcp_conn *c) {
    return c->_io.fd;
}
EM_API em_loop *em_tcp_conn_loop(const em_tcp_conn *c) {
    return c->_loop;
}

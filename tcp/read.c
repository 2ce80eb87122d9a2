/* The read side of an async connection: read into c->in until EAGAIN or a
 * bound, through the transport, and hand the bytes to on_read.
 *
 * Callback safety: the user may close or move c inside on_read; after each
 * callback only c->_flags is looked at, and nothing once EM__TCP_OPEN is
 * gone. */
#include <sys/socket.h>

#include "tcp_internal.h"

/* Reads per readiness event before yielding to other connections. */
#define READS_PER_EVENT 16

EM_API int em_tcp_conn_read_start(em_tcp_conn *c) {
    if (!(c->_flags & EM__TCP_OPEN))
        return EM_ECLOSED;
    if (c->_flags & (EM__TCP_EOF | EM__TCP_ENDING))
        return EM_EOF;
    c->_flags |= EM__TCP_READING;
    /* A transport may hold plaintext no socket event will announce. */
    if (em__tcp_tp(c) && !(c->_flags & EM__TCP_CONNECTING))
        em__tcp_defer(c, EM__TCP_READ_DUE);
    return em__tcp_update_io(c);
}

EM_API void em_tcp_conn_read_stop(em_tcp_conn *c) {
    if (!(c->_flags & EM__TCP_OPEN))
        return;
    c->_flags &= ~(unsigned)EM__TCP_READING;
    (void)em__tcp_update_io(c); /* removing interest cannot fail */
}

/* Reading pauses (a full buffer, no memory) or ended at the peer's EOF;
 * returns false if the callback closed c. */
static bool read_end(em_tcp_conn *c, int status, bool eof) {
    c->_flags &= ~(unsigned)EM__TCP_READING;
    if (eof)
        c->_flags |= EM__TCP_EOF;
    (void)em__tcp_update_io(c);
    c->_cbs->on_read(c, status);
    return (c->_flags & EM__TCP_OPEN) != 0;
}

/* More may be waiting with no new edge to announce it. */
static void read_again(em_tcp_conn *c) {
    if (em__tcp_tp(c)) {
        em__tcp_defer(c, EM__TCP_READ_DUE);
        return;
    }
    /* Re-arm: epoll reports the socket again if it is still readable. */
    int err = em_io_start(&c->_io, em_io_events(&c->_io));
    if (err)
        em__tcp_fail(c, err);
}

static ssize_t plain_recv(int fd, char *buf, size_t len) {
    for (;;) {
        ssize_t n = recv(fd, buf, len, 0);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return em__tcp_errno();
    }
}

/* hup: the peer half-closed, so a short read does not mean the socket is
 * drained (the EOF still waits behind the data, and with edge-triggered
 * epoll no new event would announce it). A transport is read until it
 * says EAGAIN: its short reads say nothing about the socket. */
void em__tcp_read(em_tcp_conn *c, bool hup) {
    const em_tcp_transport *tp = em__tcp_tp(c);
    size_t max = em_buf_max(&c->in);
    ssize_t total = 0;
    int status = 0;       /* why the batch stopped, if it matters */
    bool drained = false; /* the socket had nothing more at the last read */
    if (c->_flags & EM__TCP_RD_WANTS_W) { /* this is the retry it waited for */
        c->_flags &= ~(unsigned)EM__TCP_RD_WANTS_W;
        (void)em__tcp_update_io(c);
    }
    for (int i = 0; i < READS_PER_EVENT; i++) {
        size_t len = em_buf_len(&c->in);
        if (len >= max) {
            status = EM_ENOBUFS;
            break;
        }
        size_t want = c->_read_chunk;
        if (want > max - len)
            want = max - len;
        /* Later reads of a batch (a transport is read until EM_EAGAIN) take
         * the room left while a quarter chunk remains: reserving a whole
         * chunk again would grow, and copy, the unconsumed buffer each time. */
        size_t need = i == 0 ? want : want / 4;
        int err = em_buf_avail(&c->in) >= need && need ? 0 : em_buf_reserve(&c->in, want);
        if (err) {
            status = err;
            break;
        }
        size_t room = em_buf_avail(&c->in);
        if (room > max - len)
            room = max - len;
        ssize_t n = tp ? tp->read(c, em_buf_wptr(&c->in), room)
                       : plain_recv(c->_io.fd, em_buf_wptr(&c->in), room);
        if (n > 0) {
            em_buf_commit(&c->in, (size_t)n);
            total += n;
            if (!tp && (size_t)n < room && !hup) {
                drained = true; /* a short read: skip the EAGAIN round trip */
                break;
            }
            continue;
        }
        if (n == 0)
            status = EM_EOF;
        else if (n != EM_EAGAIN)
            status = (int)n;
        drained = true;
        break;
    }
    if (total > 0) {
        c->_cbs->on_read(c, total);
        if (!(c->_flags & EM__TCP_OPEN) || !(c->_flags & EM__TCP_READING))
            return;
    }
    if ((status == EM_ENOBUFS && em_buf_len(&c->in) < max) || (!drained && !status)) {
        /* Bytes may be left (the callback made room, or the batch hit its
         * bound) and no new edge will announce them. */
        read_again(c);
        return;
    }
    if (status == EM_EOF)
        (void)read_end(c, EM_EOF, true);
    else if (status == EM_ENOBUFS || status == EM_ENOMEM)
        (void)read_end(c, status, false);
    else if (status != 0)
        em__tcp_fail(c, status);
}

/* The transport seam: the plain socket transport and the calls a transport
 * (or whoever installs one) makes on a connection. The connection calls the
 * plain socket directly when no other transport is installed (em__tcp_tp
 * NULL), so the vtable below serves only those who call it through
 * em_tcp_conn_transport(). */
#include <sys/socket.h>

#include "tcp_internal.h"

static ssize_t plain_read(em_tcp_conn *c, char *buf, size_t len) {
    for (;;) {
        ssize_t n = recv(c->_io.fd, buf, len, 0);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return em__tcp_errno();
    }
}

static ssize_t plain_writev(em_tcp_conn *c, const struct iovec *iov, int cnt) {
    struct msghdr msg = {0};
    msg.msg_iov = (struct iovec *)iov;
    msg.msg_iovlen = (size_t)cnt;
    for (;;) {
        ssize_t n = sendmsg(c->_io.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return em__tcp_errno();
    }
}

static int plain_flush(em_tcp_conn *c) {
    return 0;
}

static int plain_shutdown(em_tcp_conn *c) {
    return shutdown(c->_io.fd, SHUT_WR) == 0 || errno == ENOTCONN ? 0 : em__tcp_errno();
}

static void plain_close(em_tcp_conn *c) {
}

static size_t plain_none(const em_tcp_conn *c) {
    return 0;
}

EM_API const em_tcp_transport em_tcp_plain_transport = {
    .name = "plain",
    .read = plain_read,
    .writev = plain_writev,
    .flush = plain_flush,
    .shutdown = plain_shutdown,
    .close = plain_close,
    .pending = plain_none,
    .readable = plain_none,
};

EM_API int em_tcp_conn_set_transport(em_tcp_conn *c, const em_tcp_transport *t, void *state) {
    if (!(c->_flags & EM__TCP_OPEN))
        return EM_ECLOSED;
    if (t == &em_tcp_plain_transport)
        t = NULL;
    if (t && (!t->read || !t->writev || !t->flush || !t->shutdown || !t->pending ||
              !t->readable))
        return EM_EINVAL;
    if (!t && !state) { /* back to the plain socket */
        struct em__tcp_ext *x = em__tcp_ext(c);
        if (x) {
            x->tp = NULL;
            x->tstate = NULL;
            em__tcp_ext_trim(c);
        }
        return 0;
    }
    struct em__tcp_ext *x = em__tcp_ext_get(c);
    if (!x)
        return EM_ENOMEM;
    x->tp = t;
    x->tstate = state;
    return 0;
}

EM_API const em_tcp_transport *em_tcp_conn_transport(const em_tcp_conn *c) {
    const em_tcp_transport *tp = em__tcp_tp(c);
    return tp ? tp : &em_tcp_plain_transport;
}

EM_API void *em_tcp_conn_transport_state(const em_tcp_conn *c) {
    const struct em__tcp_ext *x = em__tcp_ext(c);
    return x ? x->tstate : NULL;
}

EM_API void em_tcp_conn_transport_want(em_tcp_conn *c, unsigned want) {
    if (!(c->_flags & EM__TCP_OPEN))
        return;
    if (want & EM_TCP_WANT_WRITE)
        c->_flags |= EM__TCP_RD_WANTS_W;
    if (want & EM_TCP_WANT_READ)
        c->_flags |= EM__TCP_WR_WANTS_R;
    /* Removing interest cannot fail; adding it can (ENOMEM): the op then
     * waits for the next event of its own direction. */
    (void)em__tcp_update_io(c);
}

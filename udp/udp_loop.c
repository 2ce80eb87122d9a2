/* em_udp on the loop: a level-triggered read watcher; the user's callback
 * does the draining, so there is no buffer or queue here. */
#include "udp_internal.h"

static void on_io(em_io *w, unsigned events) {
    em_udp *u = EM_CONTAINER_OF(w, em_udp, _io);
    int status = 0;
    /* EPOLLERR on UDP is an ICMP error queued on the socket (e.g. port
     * unreachable on a connected socket). Reading SO_ERROR clears it, so a
     * level-triggered watcher does not spin on it. */
    if (events & EM_IO_ERROR)
        status = em_sock_error(u->fd);
    if (status == 0 && !(events & EM_IO_READ))
        return; /* HUP alone carries no news for a datagram socket */
    u->_cb(u, status);
}

int em_udp_start(em_loop *loop, em_udp *u, em_udp_readable_cb cb) {
    if (u->fd < 0)
        return EM_ECLOSED;
    if (!loop || !cb)
        return EM_EINVAL;
    if (!(u->_flags & EM__UDP_NONBLOCK)) {
        int rc = em_sock_set_nonblock(u->fd, true);
        if (rc < 0)
            return rc;
        u->_flags |= EM__UDP_NONBLOCK;
    }
    u->_cb = cb;
    if (!em_io_active(&u->_io))
        em_io_init(loop, &u->_io, u->fd, on_io);
    return em_io_start(&u->_io, EM_IO_READ);
}

void em_udp_stop(em_udp *u) {
    if (em_io_active(&u->_io))
        em_io_stop(&u->_io);
}

bool em_udp_active(const em_udp *u) {
    return em_io_active(&u->_io);
}

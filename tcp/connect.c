/* Async connect: a nonblocking connect, then wait for writability and read
 * SO_ERROR for the outcome. */
#include <sys/socket.h>
#include <unistd.h>

#include "tcp_internal.h"

EM_API int em_tcp_conn_connect(em_loop *loop, em_tcp_conn *c, const em_sockaddr *addr,
                               const em_tcp_conn_cbs *cbs, const em_tcp_conn_opts *opts,
                               em_tcp_connect_cb cb) {
    if (!addr || !cb)
        return EM_EINVAL;
    int fd = em_sock_open(em_sockaddr_family(addr), SOCK_STREAM, true);
    if (fd < 0)
        return fd;
    int err = em_tcp_conn_init(loop, c, fd, cbs, opts);
    if (err) {
        close(fd);
        return err;
    }
    int r;
    do
        r = connect(fd, &addr->u.sa, em_sockaddr_len(addr));
    while (r != 0 && errno == EINTR);
    if (r != 0 && errno != EINPROGRESS) {
        err = em__tcp_errno();
        close(fd);
        c->_flags = 0;
        return err;
    }
    /* Even an immediate success reports through cb, from the loop: the
     * socket is writable at once, so the same path handles both. */
    c->_on_connect = cb;
    c->_flags |= EM__TCP_CONNECTING;
    err = em__tcp_conn_update_io(c);
    if (err) {
        close(fd);
        c->_flags = 0;
        return err;
    }
    return 0;
}

void em__tcp_conn_connect_done(em_tcp_conn *c) {
    int err = em_sock_error(c->_io.fd);
    c->_flags &= ~(unsigned)EM__TCP_CONNECTING;
    if (err == 0)
        err = em__tcp_conn_update_io(c);
    if (err) {
        /* Stop watching so a failed socket cannot spin the loop before the
         * user closes c. */
        em_io_stop(&c->_io);
        c->_flags &= ~(unsigned)(EM__TCP_IO_R | EM__TCP_IO_W);
        c->_on_connect(c, err);
        return;
    }
    (void)em_sock_set_nodelay(c->_io.fd, true);
    c->_on_connect(c, 0);
    /* Writes and a shutdown issued while connecting were queued. */
    if ((c->_flags & EM__TCP_OPEN) && !(c->_flags & EM__TCP_CONNECTING))
        em__tcp_wq_flush(c);
}

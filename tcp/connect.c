/* Async connect: a nonblocking connect, then wait for writability; conn.c
 * reads SO_ERROR for the outcome when the socket turns writable. */
#include <sys/socket.h>
#include <unistd.h>

#include "tcp_internal.h"

/* Undo a connect that failed before it started: c needs no close. */
static int abandon(em_tcp_conn *c, int fd, int err) {
    close(fd);
    em__tcp_ext_free(c);
    c->_flags = 0;
    return err;
}

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
    struct em__tcp_ext *x = em__tcp_ext_get(c);
    if (!x)
        return abandon(c, fd, EM_ENOMEM);
    int r;
    do
        r = connect(fd, &addr->u.sa, em_sockaddr_len(addr));
    while (r != 0 && errno == EINTR);
    if (r != 0 && errno != EINPROGRESS)
        return abandon(c, fd, em__tcp_errno());
    /* Even an immediate success reports through cb, from the loop: the
     * socket is writable at once, so the same path handles both. */
    x->on_connect = cb;
    c->_flags |= EM__TCP_CONNECTING;
    err = em__tcp_update_io(c);
    return err ? abandon(c, fd, err) : 0;
}

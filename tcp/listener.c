/* Blocking TCP listeners and accept with a timeout. em_tcp_server builds on
 * em_tcp_listen too. */
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp_internal.h"

EM_API int em_tcp_listen(em_tcp_listener *l, const em_sockaddr *addr,
                         const em_tcp_listen_opts *opts) {
    l->fd = -1;
    em_tcp_listen_opts o = {.reuseaddr = true};
    if (opts)
        o = *opts;
    if (!addr || o.backlog < 0)
        return EM_EINVAL;
    int family = em_sockaddr_family(addr);
    int fd = em_sock_open(family, SOCK_STREAM, false);
    if (fd < 0)
        return fd;
    int err = o.reuseaddr ? em_sock_set_reuseaddr(fd, true) : 0;
    if (!err && o.reuseport)
        err = em_sock_set_reuseport(fd, true);
    /* Always set V6ONLY explicitly on IPv6 so the sysctl default
     * (net.ipv6.bindv6only) never changes what a listener binds. */
    if (!err && family == AF_INET6)
        err = em_sock_set_v6only(fd, o.v6only);
    if (!err && bind(fd, &addr->u.sa, em_sockaddr_len(addr)) != 0)
        err = em__tcp_errno();
    if (!err && listen(fd, o.backlog > 0 ? o.backlog : SOMAXCONN) != 0)
        err = em__tcp_errno();
    if (err) {
        close(fd);
        return err;
    }
    l->fd = fd;
    return 0;
}

EM_API int em_tcp_listener_addr(const em_tcp_listener *l, em_sockaddr *out) {
    return em_sock_local_addr(l->fd, out);
}

EM_API int em_tcp_accept(em_tcp_listener *l, em_tcp_stream *s, em_sockaddr *peer, int timeout_ms) {
    em_tcp_stream_from_fd(s, -1);
    if (timeout_ms < 0)
        return EM_EINVAL;
    /* poll() skips a negative fd: a closed listener would wait forever. */
    if (l->fd < 0)
        return EM_ECLOSED;
    /* One deadline for the whole call: a signal (EINTR) or a connection
     * gone before accept must not restart the timeout. */
    uint64_t deadline = timeout_ms > 0 ? em__tcp_now_ms() + (uint64_t)timeout_ms : 0;
    for (;;) {
        int rc = em__tcp_poll_until(l->fd, POLLIN, deadline);
        if (rc)
            return rc;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        /* Nonblocking accept so a connection that vanished between poll and
         * accept cannot hang us; the stream itself is blocking. */
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            /* Gone before we took it, or an error of that connection
             * only: wait for the next. */
            int err = em__tcp_errno();
            if (err == EM_EAGAIN || em__tcp_accept_transient(err))
                continue;
            return err;
        }
        int err = em_sock_set_nonblock(fd, false);
        if (!err && peer)
            err = em_sockaddr_from_sys(peer, (struct sockaddr *)&ss, sl);
        if (err) {
            close(fd);
            return err;
        }
        (void)em_sock_set_nodelay(fd, true);
        em_tcp_stream_from_fd(s, fd);
        return 0;
    }
}

EM_API void em_tcp_listener_close(em_tcp_listener *l) {
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

/* Async accept on the loop, in bounded batches, with the reserve-fd trick
 * for EMFILE/ENFILE (as libuv and nginx do): a process out of fds would
 * otherwise see the listener readable forever and spin. Other errors that
 * outlast one connection back off on the same timer. */
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp_internal.h"

enum {
    SRV_RUNNING = 0x1, /* between start and close */
    SRV_PAUSED = 0x2,  /* paused by the user */
    SRV_BACKOFF = 0x4  /* waiting for the retry timer (out of fds, or another
                          persistent accept error) */
};

static int open_reserve(void) {
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static int watch(em_tcp_server *srv) {
    if (srv->_flags != SRV_RUNNING) {
        em_io_stop(&srv->_io);
        return 0;
    }
    return em_io_start(&srv->_io, EM_IO_READ);
}

static int do_accept(em_tcp_server *srv, em_sockaddr *peer) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(srv->listener.fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return em__tcp_errno();
    if (em_sockaddr_from_sys(peer, (struct sockaddr *)&ss, sl) != 0)
        memset(peer, 0, sizeof *peer);
    return fd;
}

/* Stop watching (level-triggered readiness would busy-loop while accept
 * keeps failing) and look again after emfile_retry_ms. */
static void back_off(em_tcp_server *srv) {
    srv->_flags |= SRV_BACKOFF;
    (void)watch(srv);
    em_timer_start(&srv->_retry, srv->_opts.emfile_retry_ms, 0);
}

/* Out of fds. Returns true if accepting may go on in this batch. */
static bool on_emfile(em_tcp_server *srv) {
    if (srv->_reserve_fd >= 0) {
        close(srv->_reserve_fd);
        srv->_reserve_fd = -1;
        em_sockaddr peer;
        int fd = do_accept(srv, &peer);
        if (fd >= 0) {
            srv->overloaded++;
            if (srv->_opts.on_overload)
                srv->_opts.on_overload(srv, fd);
            else
                close(fd);
            /* Fails while the overload callback still holds fd: then the
             * next EMFILE backs off on the timer instead. Not for a server
             * the callback closed: nothing would close the reserve. */
            if ((srv->_flags & SRV_RUNNING) && srv->_reserve_fd < 0)
                srv->_reserve_fd = open_reserve();
            return srv->_flags == SRV_RUNNING;
        }
        srv->_reserve_fd = open_reserve();
        if (fd != EM_EMFILE && fd != EM_ENFILE)
            return fd != EM_EAGAIN;
    }
    back_off(srv); /* still out of fds */
    return false;
}

/* Accept straight into the caller's connection. */
static void accept_conn(em_tcp_server *srv, int fd, const em_sockaddr *peer) {
    const em_tcp_server_opts *o = &srv->_opts;
    em_tcp_conn *c = o->conn_alloc(srv, peer);
    if (!c) {
        close(fd);
        return;
    }
    int err = em_tcp_conn_init(srv->_loop, c, fd, o->conn_cbs, o->conn_opts);
    if (err) {
        close(fd);
        o->on_conn(srv, c, err);
        return;
    }
    err = em_tcp_conn_read_start(c);
    o->on_conn(srv, c, 0);
    /* Not watched (out of memory for epoll): the one error path says so. */
    if (err && (c->_flags & EM__TCP_OPEN))
        em__tcp_fail(c, err);
}

static void on_readable(em_io *w, unsigned events) {
    em_tcp_server *srv = w->data;
    for (unsigned i = 0; i < srv->_opts.accept_batch && srv->_flags == SRV_RUNNING; i++) {
        em_sockaddr peer;
        int fd = do_accept(srv, &peer);
        if (fd >= 0) {
            srv->accepted++;
            if (srv->_opts.conn_alloc)
                accept_conn(srv, fd, &peer);
            else
                srv->_on_accept(srv, fd, &peer);
            continue;
        }
        if (fd == EM_EAGAIN)
            return;
        if (fd == EM_EMFILE || fd == EM_ENFILE) {
            if (!on_emfile(srv))
                return;
            continue;
        }
        if (em__tcp_accept_transient(fd))
            continue; /* that one connection is lost, the listener is fine */
        /* Last: the callback may pause or close the server. */
        back_off(srv);
        if (srv->_opts.on_accept_error)
            srv->_opts.on_accept_error(srv, fd);
        return;
    }
}

static void on_retry(em_timer *t) {
    em_tcp_server *srv = t->data;
    srv->_flags &= ~(unsigned)SRV_BACKOFF;
    if (srv->_reserve_fd < 0)
        srv->_reserve_fd = open_reserve();
    if (watch(srv) != 0) {
        srv->_flags |= SRV_BACKOFF;
        em_timer_start(&srv->_retry, srv->_opts.emfile_retry_ms, 0);
    }
}

EM_API int em_tcp_server_adopt(em_loop *loop, em_tcp_server *srv, em_tcp_listener *l,
                               const em_tcp_server_opts *opts, em_tcp_accept_cb cb) {
    if (!loop || !srv || !l || l->fd < 0)
        return EM_EINVAL;
    if (opts && opts->conn_alloc) {
        if (!opts->on_conn || !opts->conn_cbs || !opts->conn_cbs->on_read)
            return EM_EINVAL;
    } else if (!cb) {
        return EM_EINVAL;
    }
    void *data = srv->data;
    memset(srv, 0, sizeof *srv);
    srv->data = data;
    srv->listener = *l;
    srv->_reserve_fd = -1;
    if (opts) {
        srv->_opts = *opts;
    } else {
        srv->_opts.listen.reuseaddr = true;
    }
    if (!srv->_opts.accept_batch)
        srv->_opts.accept_batch = 64;
    if (!srv->_opts.emfile_retry_ms)
        srv->_opts.emfile_retry_ms = 100;
    int err = em_sock_set_nonblock(srv->listener.fd, true);
    if (!err) {
        srv->_reserve_fd = open_reserve();
        if (srv->_reserve_fd < 0)
            err = em__tcp_errno();
    }
    if (!err) {
        srv->_loop = loop;
        srv->_on_accept = cb;
        em_io_init(loop, &srv->_io, srv->listener.fd, on_readable);
        srv->_io.data = srv;
        em_timer_init(loop, &srv->_retry, on_retry);
        srv->_retry.data = srv;
        srv->_flags = SRV_RUNNING;
        err = watch(srv);
    }
    if (err) {
        if (srv->_reserve_fd >= 0)
            close(srv->_reserve_fd);
        srv->_reserve_fd = -1;
        srv->listener.fd = -1; /* still the caller's on failure */
        srv->_flags = 0;
    }
    return err;
}

EM_API int em_tcp_server_start(em_loop *loop, em_tcp_server *srv, const em_sockaddr *addr,
                               const em_tcp_server_opts *opts, em_tcp_accept_cb cb) {
    if (!loop || !srv || !addr || (!cb && !(opts && opts->conn_alloc)))
        return EM_EINVAL;
    em_tcp_listen_opts lo = em_tcp_listen_opts_default();
    em_tcp_listener l;
    int err = em_tcp_listen(&l, addr, opts ? &opts->listen : &lo);
    if (err)
        return err;
    err = em_tcp_server_adopt(loop, srv, &l, opts, cb);
    if (err)
        em_tcp_listener_close(&l);
    return err;
}

EM_API void em_tcp_server_pause(em_tcp_server *srv) {
    if (!(srv->_flags & SRV_RUNNING))
        return;
    srv->_flags |= SRV_PAUSED;
    (void)watch(srv);
}

EM_API int em_tcp_server_resume(em_tcp_server *srv) {
    if (!(srv->_flags & SRV_RUNNING))
        return EM_ECLOSED;
    srv->_flags &= ~(unsigned)SRV_PAUSED;
    return watch(srv); /* during a backoff the timer resumes watching */
}

EM_API void em_tcp_server_close(em_tcp_server *srv) {
    if (!(srv->_flags & SRV_RUNNING))
        return;
    srv->_flags = 0;
    em_io_stop(&srv->_io);
    em_timer_stop(&srv->_retry);
    em_tcp_listener_close(&srv->listener);
    if (srv->_reserve_fd >= 0)
        close(srv->_reserve_fd);
    srv->_reserve_fd = -1;
}

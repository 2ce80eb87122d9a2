/* Blocking TCP streams: connect with a timeout, read/write with per-call
 * timeouts (SO_RCVTIMEO/SO_SNDTIMEO), and the em_stream vtable. */
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp_internal.h"

static ssize_t vt_read(em_stream *s, void *buf, size_t len) {
    return em_tcp_stream_read((em_tcp_stream *)s, buf, len);
}

static ssize_t vt_writev(em_stream *s, const struct iovec *iov, int iovcnt) {
    em_tcp_stream *t = (em_tcp_stream *)s;
    struct msghdr msg = {0};
    msg.msg_iov = (struct iovec *)iov;
    msg.msg_iovlen = (size_t)iovcnt;
    for (;;) {
        /* sendmsg, not writev: MSG_NOSIGNAL keeps a dead peer from raising
         * SIGPIPE in a library user's process. */
        ssize_t n = sendmsg(t->fd, &msg, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? EM_ETIMEDOUT : em__tcp_errno();
    }
}

static int vt_shutdown(em_stream *s) {
    return em_tcp_stream_shutdown((em_tcp_stream *)s);
}
static int vt_close(em_stream *s) {
    return em_tcp_stream_close((em_tcp_stream *)s);
}

static const em_stream_vtable tcp_stream_vt = {vt_read, vt_writev, vt_shutdown, vt_close};

EM_API void em_tcp_stream_from_fd(em_tcp_stream *s, int fd) {
    s->base.vt = &tcp_stream_vt;
    s->fd = fd;
}

/* Wait for a nonblocking connect to finish; returns 0 or em_err. */
static int wait_connected(int fd, int timeout_ms) {
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    for (;;) {
        int r = poll(&p, 1, timeout_ms > 0 ? timeout_ms : -1);
        if (r > 0)
            break;
        if (r == 0)
            return EM_ETIMEDOUT;
        if (errno != EINTR)
            return em__tcp_errno();
        /* EINTR restarts the full timeout: acceptable for a blocking helper. */
    }
    return em_sock_error(fd);
}

EM_API int em_tcp_connect(em_tcp_stream *s, const em_sockaddr *addr, int timeout_ms) {
    em_tcp_stream_from_fd(s, -1);
    if (!addr || timeout_ms < 0)
        return EM_EINVAL;
    int fd = em_sock_open(em_sockaddr_family(addr), SOCK_STREAM, true);
    if (fd < 0)
        return fd;
    int err = 0;
    if (connect(fd, &addr->u.sa, em_sockaddr_len(addr)) != 0) {
        err = em__tcp_errno();
        if (err == EM_EINPROGRESS || err == EM_EINTR)
            err = wait_connected(fd, timeout_ms);
    }
    if (err == 0)
        err = em_sock_set_nonblock(fd, false);
    if (err != 0) {
        close(fd);
        return err;
    }
    (void)em_sock_set_nodelay(fd, true);
    s->fd = fd;
    return 0;
}

static int set_timeout(int fd, int opt, int ms) {
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv) != 0)
        return em__tcp_errno();
    return 0;
}

EM_API int em_tcp_stream_set_timeouts(em_tcp_stream *s, int read_ms, int write_ms) {
    if (read_ms < 0 || write_ms < 0)
        return EM_EINVAL;
    int err = set_timeout(s->fd, SO_RCVTIMEO, read_ms);
    return err ? err : set_timeout(s->fd, SO_SNDTIMEO, write_ms);
}

EM_API ssize_t em_tcp_stream_read(em_tcp_stream *s, void *buf, size_t len) {
    if (len == 0)
        return EM_EINVAL;
    for (;;) {
        ssize_t n = recv(s->fd, buf, len, 0);
        if (n > 0)
            return n;
        if (n == 0)
            return EM_EOF;
        if (errno == EINTR)
            continue;
        /* With SO_RCVTIMEO set, a blocking socket reports the timeout as
         * EAGAIN. */
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? EM_ETIMEDOUT : em__tcp_errno();
    }
}

EM_API int em_tcp_stream_write(em_tcp_stream *s, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        struct iovec iov = {(void *)p, len};
        ssize_t n = vt_writev(&s->base, &iov, 1);
        if (n < 0)
            return (int)n;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

EM_API int em_tcp_stream_shutdown(em_tcp_stream *s) {
    return shutdown(s->fd, SHUT_WR) == 0 ? 0 : em__tcp_errno();
}

EM_API int em_tcp_stream_close(em_tcp_stream *s) {
    if (s->fd < 0)
        return 0;
    int fd = s->fd;
    s->fd = -1;
    /* Linux always frees the fd, even on EINTR: never retry close. */
    return close(fd) == 0 || errno == EINTR ? 0 : em__tcp_errno();
}

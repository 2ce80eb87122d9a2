/* UDP sockets: open/bind/connect, options, and single datagrams. */
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "udp_internal.h"

socklen_t em__udp_addr_len(const em_sockaddr *a) {
    switch (a->u.sa.sa_family) {
    case AF_INET:
        return (socklen_t)sizeof(struct sockaddr_in);
    case AF_INET6:
        return (socklen_t)sizeof(struct sockaddr_in6);
    default:
        return 0;
    }
}

/* The kernel refuses a mismatched family too, but an IPv4 destination on an
 * IPv6-only socket comes back as ENETUNREACH, which reads as a routing
 * failure: the header promises EM_EAFNOSUPPORT for both. */
socklen_t em__udp_dest_len(const em_udp *u, const em_sockaddr *a) {
    int fam = a->u.sa.sa_family;
    if ((u->_family == AF_INET && fam == AF_INET6) ||
        (fam == AF_INET && (u->_flags & EM__UDP_V6ONLY)))
        return 0;
    return em__udp_addr_len(a);
}

int em__udp_err(const em_udp *u, int e, bool dontwait) {
    if (e == EAGAIN || e == EWOULDBLOCK) {
        /* SO_RCVTIMEO expiry surfaces as EAGAIN; only a blocking call on a
         * socket that has a timeout can mean "waited and gave up". */
        if (!dontwait && !(u->_flags & EM__UDP_NONBLOCK) && u->_timeout_ms > 0)
            return EM_ETIMEDOUT;
        return EM_EAGAIN;
    }
    if (e == EDESTADDRREQ)
        return EM_ENOTCONN; /* not in the error table; same meaning here */
    return em_err_from_errno(e);
}

static int set_int_opt(int fd, int level, int name, int val) {
    if (setsockopt(fd, level, name, &val, sizeof val) < 0)
        return em_err_from_errno(errno);
    return 0;
}

static int apply_opts(int fd, int family, const em_udp_opts *o) {
    int rc = 0;
    if (o->reuseaddr && (rc = em_sock_set_reuseaddr(fd, true)) < 0)
        return rc;
    if (o->reuseport && (rc = em_sock_set_reuseport(fd, true)) < 0)
        return rc;
    /* Set IPV6_V6ONLY either way: the default comes from a sysctl
     * (net.ipv6.bindv6only), and the caller asked for a definite answer. */
    if (family == AF_INET6 && (rc = em_sock_set_v6only(fd, o->v6only)) < 0)
        return rc;
    if (o->recv_buf < 0 || o->send_buf < 0)
        return EM_EINVAL;
    if (o->recv_buf > 0 && (rc = set_int_opt(fd, SOL_SOCKET, SO_RCVBUF, o->recv_buf)) < 0)
        return rc;
    if (o->send_buf > 0 && (rc = set_int_opt(fd, SOL_SOCKET, SO_SNDBUF, o->send_buf)) < 0)
        return rc;
    return 0;
}

int em_udp_open(em_udp *u, int family, const em_udp_opts *opts) {
    static const em_udp_opts defaults = {0};
    const em_udp_opts *o = opts ? opts : &defaults;
    u->fd = -1;
    memset(&u->_io, 0, sizeof u->_io);
    u->_io.fd = -1;
    u->_cb = NULL;
    u->_family = family;
    u->_timeout_ms = 0;
    u->_flags = 0;
    if (family != AF_INET && family != AF_INET6)
        return EM_EAFNOSUPPORT;
    int fd = em_sock_open(family, SOCK_DGRAM, o->nonblock);
    if (fd < 0)
        return fd;
    int rc = apply_opts(fd, family, o);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    u->fd = fd;
    if (o->nonblock)
        u->_flags |= EM__UDP_NONBLOCK;
    if (family == AF_INET6 && o->v6only)
        u->_flags |= EM__UDP_V6ONLY;
    return 0;
}

int em_udp_bind(em_udp *u, const em_sockaddr *addr, const em_udp_opts *opts) {
    if (!addr) {
        u->fd = -1;
        return EM_EINVAL;
    }
    socklen_t len = em__udp_addr_len(addr);
    int rc = em_udp_open(u, addr->u.sa.sa_family, opts);
    if (rc < 0)
        return rc;
    if (bind(u->fd, &addr->u.sa, len) < 0) {
        rc = em_err_from_errno(errno);
        close(u->fd);
        u->fd = -1;
        return rc;
    }
    return 0;
}

int em_udp_connect(em_udp *u, const em_sockaddr *addr) {
    if (u->fd < 0)
        return EM_ECLOSED;
    if (!addr)
        return EM_EINVAL;
    socklen_t len = em__udp_addr_len(addr);
    if (len == 0)
        return EM_EAFNOSUPPORT;
    /* A UDP connect only records the peer; it never blocks or EINPROGRESSes. */
    if (connect(u->fd, &addr->u.sa, len) < 0)
        return em_err_from_errno(errno);
    return 0;
}

int em_udp_disconnect(em_udp *u) {
    if (u->fd < 0)
        return EM_ECLOSED;
    struct sockaddr sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_family = AF_UNSPEC; /* connect(2): AF_UNSPEC dissolves the association */
    if (connect(u->fd, &sa, sizeof sa) < 0)
        return em_err_from_errno(errno);
    return 0;
}

int em_udp_local_addr(const em_udp *u, em_sockaddr *out) {
    if (u->fd < 0)
        return EM_ECLOSED;
    return em_sock_local_addr(u->fd, out);
}

int em_udp_peer_addr(const em_udp *u, em_sockaddr *out) {
    if (u->fd < 0)
        return EM_ECLOSED;
    return em_sock_peer_addr(u->fd, out);
}

int em_udp_set_timeout(em_udp *u, int read_ms) {
    if (u->fd < 0)
        return EM_ECLOSED;
    if (read_ms < 0)
        return EM_EINVAL;
    struct timeval tv = {.tv_sec = read_ms / 1000, .tv_usec = (read_ms % 1000) * 1000};
    if (setsockopt(u->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
        return em_err_from_errno(errno);
    u->_timeout_ms = read_ms;
    return 0;
}

int em_udp_close(em_udp *u) {
    if (u->fd < 0)
        return 0;
    em_udp_stop(u);
    int rc = close(u->fd) < 0 ? em_err_from_errno(errno) : 0;
    u->fd = -1;
    u->_io.fd = -1;
    /* Linux closes the fd even when close(2) reports EINTR; never retry. */
    return rc == EM_EINTR ? 0 : rc;
}

static ssize_t send_one(em_udp *u, const void *buf, size_t len, const struct sockaddr *to,
                        socklen_t tolen) {
    ssize_t n;
    do
        n = sendto(u->fd, buf, len, MSG_NOSIGNAL, to, tolen);
    while (n < 0 && errno == EINTR);
    return n < 0 ? em__udp_err(u, errno, true) : n;
}

ssize_t em_udp_send_to(em_udp *u, const void *buf, size_t len, const em_sockaddr *addr) {
    if (u->fd < 0)
        return EM_ECLOSED;
    if (!addr || (!buf && len))
        return EM_EINVAL;
    socklen_t alen = em__udp_dest_len(u, addr);
    if (alen == 0)
        return EM_EAFNOSUPPORT;
    return send_one(u, buf, len, &addr->u.sa, alen);
}

ssize_t em_udp_send(em_udp *u, const void *buf, size_t len) {
    if (u->fd < 0)
        return EM_ECLOSED;
    if (!buf && len)
        return EM_EINVAL;
    return send_one(u, buf, len, NULL, 0);
}

ssize_t em_udp_recv_from(em_udp *u, void *buf, size_t cap, em_sockaddr *from) {
    if (u->fd < 0)
        return EM_ECLOSED;
    if (!buf && cap)
        return EM_EINVAL;
    struct iovec iov = {.iov_base = buf, .iov_len = cap};
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (from) {
        mh.msg_name = &from->u;
        mh.msg_namelen = sizeof from->u;
    }
    ssize_t n;
    do
        n = recvmsg(u->fd, &mh, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return em__udp_err(u, errno, false);
    if (from && mh.msg_namelen == 0)
        memset(from, 0, sizeof *from); /* no sender known: AF_UNSPEC */
    /* recvmsg returns the bytes stored, never more than cap; only msg_flags
     * tells that the kernel dropped the rest of the datagram. */
    if (mh.msg_flags & MSG_TRUNC)
        return EM_EMSGSIZE;
    return n;
}

ssize_t em_udp_recv(em_udp *u, void *buf, size_t cap) {
    return em_udp_recv_from(u, buf, cap, NULL);
}

/* Batch send/receive: sendmmsg/recvmmsg over em_udp_msg arrays. The
 * kernel's mmsghdr/iovec arrays are built on the stack in fixed chunks so
 * no call allocates, whatever n is. */
#include <limits.h>
#include <string.h>

#include "udp_internal.h"

/* 64 datagrams per system call: enough to amortise the syscall, small
 * enough (~5 KiB of stack) to keep off the heap. */
#define CHUNK 64u

int em_udp_send_batch(em_udp *u, em_udp_msg *msgs, unsigned n) {
    if (u->fd < 0)
        return EM_ECLOSED;
    if (!msgs && n)
        return EM_EINVAL;
    if (n > INT_MAX)
        n = INT_MAX;
    struct mmsghdr mm[CHUNK];
    struct iovec iov[CHUNK];
    unsigned done = 0;
    while (done < n) {
        unsigned k = n - done < CHUNK ? n - done : CHUNK;
        int bad = 0; /* why msgs[done + k] cannot be sent, if we stopped early */
        memset(mm, 0, k * sizeof mm[0]);
        for (unsigned i = 0; i < k; i++) {
            em_udp_msg *m = &msgs[done + i];
            socklen_t alen = em__udp_dest_len(u, &m->addr);
            if (!m->buf && m->len)
                bad = EM_EINVAL;
            else if (alen == 0 && m->addr.u.sa.sa_family != AF_UNSPEC)
                bad = EM_EAFNOSUPPORT;
            if (bad) {
                k = i; /* send the good ones before it; it fails next call */
                break;
            }
            iov[i].iov_base = m->buf;
            iov[i].iov_len = m->len;
            mm[i].msg_hdr.msg_iov = &iov[i];
            mm[i].msg_hdr.msg_iovlen = 1;
            if (alen) { /* AF_UNSPEC: the connected peer */
                mm[i].msg_hdr.msg_name = &m->addr.u;
                mm[i].msg_hdr.msg_namelen = alen;
            }
        }
        if (k == 0)
            return done ? (int)done : bad;
        int r;
        do
            r = sendmmsg(u->fd, mm, k, MSG_NOSIGNAL);
        while (r < 0 && errno == EINTR);
        if (r < 0) {
            /* sendmmsg only fails outright on the first datagram; once some
             * went out the error waits on the socket for the next call. */
            if (done == 0)
                return em__udp_err(u, errno, true);
            break;
        }
        for (int i = 0; i < r; i++)
            msgs[done + (unsigned)i].status = 0;
        done += (unsigned)r;
        if ((unsigned)r < k || bad)
            break;
    }
    return (int)done;
}

int em_udp_recv_batch(em_udp *u, em_udp_msg *msgs, unsigned n) {
    if (u->fd < 0)
        return EM_ECLOSED;
    if (!msgs && n)
        return EM_EINVAL;
    if (n > INT_MAX)
        n = INT_MAX;
    for (unsigned i = 0; i < n; i++)
        if (!msgs[i].buf && msgs[i].cap)
            return EM_EINVAL;
    bool blocking = !(u->_flags & EM__UDP_NONBLOCK);
    struct mmsghdr mm[CHUNK];
    struct iovec iov[CHUNK];
    unsigned done = 0;
    while (done < n) {
        unsigned k = n - done < CHUNK ? n - done : CHUNK;
        memset(mm, 0, k * sizeof mm[0]);
        for (unsigned i = 0; i < k; i++) {
            em_udp_msg *m = &msgs[done + i];
            iov[i].iov_base = m->buf;
            iov[i].iov_len = m->cap;
            mm[i].msg_hdr.msg_iov = &iov[i];
            mm[i].msg_hdr.msg_iovlen = 1;
            mm[i].msg_hdr.msg_name = &m->addr.u;
            mm[i].msg_hdr.msg_namelen = sizeof m->addr.u;
        }
        /* Wait (up to SO_RCVTIMEO) only for the very first datagram, then
         * take what is queued. recvmmsg's own timeout argument is checked
         * only between datagrams (see BUGS in recvmmsg(2)), so it is not
         * used. */
        int flags = (done == 0 && blocking) ? MSG_WAITFORONE : MSG_DONTWAIT;
        int r;
        do
            r = recvmmsg(u->fd, mm, k, flags, NULL);
        while (r < 0 && errno == EINTR);
        if (r < 0) {
            if (done == 0)
                return em__udp_err(u, errno, flags == MSG_DONTWAIT);
            break; /* EAGAIN after a full chunk, or an error for next call */
        }
        for (int i = 0; i < r; i++) {
            em_udp_msg *m = &msgs[done + (unsigned)i];
            m->len = mm[i].msg_len;
            if (mm[i].msg_hdr.msg_namelen == 0)
                memset(&m->addr, 0, sizeof m->addr);
            m->status = (mm[i].msg_hdr.msg_flags & MSG_TRUNC) ? EM_EMSGSIZE : 0;
        }
        done += (unsigned)r;
        if ((unsigned)r < k)
            break;
    }
    return (int)done;
}

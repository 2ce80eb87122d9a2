/** @file
 * ember udp: datagram sockets, blocking and on the loop, with batch
 * send/receive (sendmmsg/recvmmsg) and truncation detection.
 *
 * An em_udp is one socket. It is used either blocking (optionally with a
 * receive timeout) or nonblocking on a loop, where em_udp_start() reports
 * readability and the callback drains with em_udp_recv_from() or
 * em_udp_recv_batch(). A socket is used from one thread at a time; once
 * started on a loop, from that loop's thread only.
 *
 * Received datagrams: a return of 0 is an empty datagram, not EOF (UDP has
 * none). A datagram larger than the caller's buffer is reported as
 * EM_EMSGSIZE, with its first `cap` bytes still delivered; the rest of it is
 * gone (the kernel discards it).
 */
#ifndef EMBER_UDP_H
#define EMBER_UDP_H

#include "ember/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types ---------------------------------------------------------------- */

typedef struct em_udp em_udp;

/** The socket is readable (status 0: drain it with em_udp_recv_from or
 * em_udp_recv_batch until EM_EAGAIN), or the kernel reported an error on it
 * (status < 0, read and cleared from SO_ERROR: typically EM_ECONNREFUSED on
 * a connected socket after an ICMP port unreachable). UDP errors are not
 * fatal: the socket keeps working unless the callback closes it. */
typedef void (*em_udp_readable_cb)(em_udp *u, int status);

/** Socket options for em_udp_open() and em_udp_bind(); zero-filled: a blocking
 * dual-stack socket with the kernel's buffer sizes. Read during the call
 * only. */
typedef struct em_udp_opts {
    bool reuseaddr; /**< SO_REUSEADDR */
    bool reuseport; /**< SO_REUSEPORT, for one socket per worker */
    bool v6only;    /**< IPV6_V6ONLY on an IPv6 socket (default: dual stack) */
    bool nonblock;  /**< O_NONBLOCK from the start (em_udp_start sets it too) */
    int recv_buf;   /**< SO_RCVBUF in bytes (0: kernel default) */
    int send_buf;   /**< SO_SNDBUF in bytes (0: kernel default) */
} em_udp_opts;

/** A UDP socket. Embed it; callbacks find the outer struct with
 * EM_CONTAINER_OF. fd is -1 after em_udp_close(), and every call on a closed
 * socket returns EM_ECLOSED. */
struct em_udp {
    void *data; /**< user data; ember never touches it */
    int fd;     /**< the socket, owned by u; -1 when closed */
    em_io _io;
    em_udp_readable_cb _cb;
    int _family;     /**< AF_INET or AF_INET6 */
    int _timeout_ms; /**< receive timeout on a blocking socket (0: none) */
    unsigned _flags;
};

/** One datagram for the batch calls.
 *   send: buf/len are the payload; addr is the destination, or zero-filled
 *         (family AF_UNSPEC) to send to the connected peer. cap is unused.
 *   recv: buf/cap is where the datagram goes; len receives the number of
 *         bytes stored (at most cap) and addr the sender.
 * status is 0, or EM_EMSGSIZE for a received datagram that did not fit in
 * cap (its first cap bytes are in buf). The caller owns buf. */
typedef struct em_udp_msg {
    void *buf;        /**< the payload (send) or where to store it (recv); caller-owned */
    size_t cap;       /**< recv: room at buf; unused for send */
    size_t len;       /**< send: payload bytes; recv: bytes stored */
    em_sockaddr addr; /**< send: destination (zeroed: the connected peer); recv: sender */
    int status;       /**< 0, or EM_EMSGSIZE for a truncated datagram */
} em_udp_msg;

/* ---- sockets -------------------------------------------------------------- */

/** Open an unbound socket of family AF_INET or AF_INET6 (the kernel binds an
 * ephemeral port on the first send). opts may be NULL for the defaults
 * (blocking, kernel buffer sizes). Returns 0 or em_err (EM_EAFNOSUPPORT for
 * any other family); on error u->fd is -1 and nothing leaks. */
EM_API EM_NODISCARD int em_udp_open(em_udp *u, int family, const em_udp_opts *opts);
/** Open a socket of addr's family, apply opts (NULL: defaults) and bind it
 * to addr (port 0 picks a free port; see em_udp_local_addr). Returns 0,
 * EM_EADDRINUSE, EM_EAFNOSUPPORT, ...; on error u->fd is -1. */
EM_API EM_NODISCARD int em_udp_bind(em_udp *u, const em_sockaddr *addr, const em_udp_opts *opts);
/** Fix the peer: em_udp_send() goes to addr, and only datagrams from addr are
 * received. Binds an ephemeral port if the socket is unbound. Returns 0 or
 * em_err. */
EM_API EM_NODISCARD int em_udp_connect(em_udp *u, const em_sockaddr *addr);
/** Forget the peer set by em_udp_connect(). Returns 0 or em_err. */
EM_API int em_udp_disconnect(em_udp *u);
/** The address u is bound to (after em_udp_bind, or the ephemeral port picked
 * at the first send). 0 or em_err. */
EM_API int em_udp_local_addr(const em_udp *u, em_sockaddr *out);
/** The connected peer, or EM_ENOTCONN. */
EM_API int em_udp_peer_addr(const em_udp *u, em_sockaddr *out);
/** Receive timeout for a blocking socket, in ms (0: wait forever). Once it
 * is set, a blocking receive that waited read_ms and got nothing returns
 * EM_ETIMEDOUT. A nonblocking socket (opts.nonblock or started on a loop)
 * returns EM_EAGAIN at once whatever the timeout. Returns 0 or em_err. */
EM_API int em_udp_set_timeout(em_udp *u, int read_ms);
/** Stop watching (if started) and close the fd. Idempotent; returns 0 or the
 * error of close(2) (the fd is gone either way). The memory may be reused as
 * soon as this returns, except inside u's own readable callback: there, free
 * it only after the callback returns. */
EM_API int em_udp_close(em_udp *u);

/* ---- datagrams ------------------------------------------------------------ */

/** Send one datagram of len bytes to addr. Returns len, or EM_EAGAIN (a
 * nonblocking socket's buffer is full), EM_EMSGSIZE (larger than the
 * maximum datagram), EM_EAFNOSUPPORT (addr is neither AF_INET nor AF_INET6,
 * or does not suit the socket), EM_ECONNREFUSED (an earlier datagram was
 * refused), ... */
EM_API ssize_t em_udp_send_to(em_udp *u, const void *buf, size_t len, const em_sockaddr *addr);
/** Send one datagram to the connected peer; EM_ENOTCONN when the socket is
 * not connected (the kernel's EDESTADDRREQ is mapped to it). */
EM_API ssize_t em_udp_send(em_udp *u, const void *buf, size_t len);
/** Receive one datagram into buf. from (may be NULL) receives the sender.
 * Returns the byte count (0 is an empty datagram), EM_EMSGSIZE if the
 * datagram was longer than cap (buf then holds its first cap bytes and from
 * is still set), EM_EAGAIN (nonblocking, nothing queued), EM_ETIMEDOUT
 * (blocking with a timeout, nothing arrived in time), EM_ECONNREFUSED (on a
 * connected socket, after an ICMP port unreachable), EM_ECLOSED. EINTR is
 * retried, which may restart the timeout. */
EM_API ssize_t em_udp_recv_from(em_udp *u, void *buf, size_t cap, em_sockaddr *from);
/** em_udp_recv_from() without the sender, for connected sockets. */
EM_API ssize_t em_udp_recv(em_udp *u, void *buf, size_t cap);

/** Send up to n datagrams with as few system calls as possible (sendmmsg).
 * Returns how many were sent, in order: msgs[0..ret) went out (status 0),
 * the rest did not and may be retried. An error on the first datagram is
 * returned as a negative em_err (EM_EAGAIN when the buffer is full); an
 * error after some were sent is reported by the next call. */
EM_API int em_udp_send_batch(em_udp *u, em_udp_msg *msgs, unsigned n);
/** Receive up to n datagrams (recvmmsg). A nonblocking socket takes what is
 * queued now; a blocking one waits for the first datagram (up to the
 * timeout) and then takes what is queued, without waiting for more.
 * Returns the count, each msgs[i] with len, addr and status filled in (a
 * truncated one has status EM_EMSGSIZE and is still counted), or EM_EAGAIN
 * / EM_ETIMEDOUT / another em_err when nothing was received. */
EM_API int em_udp_recv_batch(em_udp *u, em_udp_msg *msgs, unsigned n);

/* ---- on the loop ---------------------------------------------------------- */

/** Make the socket nonblocking and call cb whenever it is readable (level
 * triggered: cb is called again while datagrams remain). The socket keeps
 * the loop alive until em_udp_stop() or em_udp_close(). Loop thread only.
 * Returns 0 or em_err. Starting again replaces cb. */
EM_API EM_NODISCARD int em_udp_start(em_loop *loop, em_udp *u, em_udp_readable_cb cb);
/** Stop watching; the socket stays open (and nonblocking). Safe inside the
 * callback. */
EM_API void em_udp_stop(em_udp *u);
/** True between em_udp_start() and em_udp_stop() or em_udp_close(). */
EM_API bool em_udp_active(const em_udp *u);

#ifdef __cplusplus
}
#endif
#endif

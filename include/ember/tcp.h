/** @file
 * ember tcp: blocking streams and listeners, and async connections and
 * servers on the loop.
 *
 * The async connection (em_tcp_conn) is what the HTTP server and the
 * WebSockets embed. All of its functions and callbacks belong to its loop's
 * thread.
 */
#ifndef EMBER_TCP_H
#define EMBER_TCP_H

#include "ember/dns.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- blocking ----------------------------------------------------------- */

/** A blocking TCP stream; usable as an em_stream (read/writev/shutdown/close)
 * through em_tcp_stream_as_stream(). */
typedef struct em_tcp_stream {
    em_stream base; /**< the em_stream face (em_tcp_stream_as_stream) */
    int fd;         /**< the socket, owned by s; -1 when closed */
} em_tcp_stream;

/** Connect to addr, giving up after timeout_ms (0: no timeout), counted
 * once from the call: signals do not restart it. Sets TCP_NODELAY. Returns
 * 0, EM_ETIMEDOUT, EM_ECONNREFUSED, ... */
EM_API EM_NODISCARD int em_tcp_connect(em_tcp_stream *s, const em_sockaddr *addr,
                                       int timeout_ms);
/** Wrap an already connected blocking fd (takes ownership). */
EM_API void em_tcp_stream_from_fd(em_tcp_stream *s, int fd);
/** s as an em_stream, for code written against any stream. */
static inline em_stream *em_tcp_stream_as_stream(em_tcp_stream *s) { return &s->base; }
/** Per-call read/write timeouts in ms (0: none); a timed-out call returns
 * EM_ETIMEDOUT. Each counts from the start of the call, and a signal that
 * interrupts the call (EINTR) does not restart it; em_tcp_stream_write's
 * covers all of buf (bytes may have gone out before it expired). */
EM_API int em_tcp_stream_set_timeouts(em_tcp_stream *s, int read_ms, int write_ms);
/** Read up to len bytes: the count (> 0), EM_EOF at the peer's end,
 * EM_ETIMEDOUT past the read timeout, or em_err. */
EM_API ssize_t em_tcp_stream_read(em_tcp_stream *s, void *buf, size_t len);
/** Write all of buf. Returns 0 or em_err. */
EM_API EM_NODISCARD int em_tcp_stream_write(em_tcp_stream *s, const void *buf, size_t len);
/** SHUT_WR: the peer reads EOF; reading still works. */
EM_API int em_tcp_stream_shutdown(em_tcp_stream *s);
/** Close the fd (no-op when it is -1) and set it to -1. 0 or the error of
 * close(2). */
EM_API int em_tcp_stream_close(em_tcp_stream *s);

/** Options for em_tcp_listen(); read during the call only. */
typedef struct em_tcp_listen_opts {
    int backlog;     /**< 0: SOMAXCONN */
    bool reuseaddr;  /**< SO_REUSEADDR (em_tcp_listen_opts_default: true) */
    bool reuseport;  /**< SO_REUSEPORT, for one listener per worker */
    bool v6only;     /**< IPV6_V6ONLY on an IPv6 listener */
} em_tcp_listen_opts;

/** The defaults: SOMAXCONN backlog, SO_REUSEADDR on, the rest off. */
static inline em_tcp_listen_opts em_tcp_listen_opts_default(void) {
    em_tcp_listen_opts o = {0, true, false, false};
    return o;
}

/** A listening socket (blocking accept with em_tcp_accept(), or under an
 * em_tcp_server). */
typedef struct em_tcp_listener {
    int fd; /**< the listening socket, owned by l; -1 when closed */
} em_tcp_listener;

/** Listen on addr (port 0 picks a free port; see em_tcp_listener_addr).
 * opts may be NULL for em_tcp_listen_opts_default() (a zeroed struct turns
 * SO_REUSEADDR off). An IPv6 listener always sets IPV6_V6ONLY to
 * opts->v6only, whatever the system default. The fd is nonblocking only if
 * used by an em_tcp_server. */
EM_API EM_NODISCARD int em_tcp_listen(em_tcp_listener *l, const em_sockaddr *addr,
                                      const em_tcp_listen_opts *opts);
/** The address l is bound to (the port chosen for port 0). 0 or em_err. */
EM_API int em_tcp_listener_addr(const em_tcp_listener *l, em_sockaddr *out);
/** Wait up to timeout_ms (0: forever) for a connection. peer may be NULL.
 * A connection that failed before it was taken (accept(2) says
 * ECONNABORTED, EPERM from a firewall, EPROTO, ...) is skipped and the
 * wait goes on, within the same timeout. Returns 0, EM_ETIMEDOUT,
 * EM_EINVAL, EM_ECLOSED (l is closed) or em_err (an error of the listener:
 * EM_ENOBUFS, EM_EMFILE, ...); on an error s->fd is -1. */
EM_API EM_NODISCARD int em_tcp_accept(em_tcp_listener *l, em_tcp_stream *s, em_sockaddr *peer,
                                      int timeout_ms);
/** Close the listening fd (no-op when already closed); pending connections are
 * reset. */
EM_API void em_tcp_listener_close(em_tcp_listener *l);

/* ---- async connections ---------------------------------------------------- */

typedef struct em_tcp_conn em_tcp_conn;

/** The one path for the read side and for every error. nread > 0: new bytes
 * were appended to c->in. EM_EOF: the peer half-closed (writing still
 * works). EM_ENOBUFS: c->in is full and reading paused (consume, then
 * em_tcp_conn_read_start); EM_ENOMEM: c->in could not grow, likewise. Any other negative em_err: the connection is
 * broken, whether a read or a write found it (EM_ECONNRESET, EM_EPIPE, ...);
 * it is reported once, the write queue is dropped, reading has stopped;
 * close c. Not called after em_tcp_conn_end(). */
typedef void (*em_tcp_read_cb)(em_tcp_conn *c, ssize_t nread);
/** Every write with a token <= token has left: taken by the kernel, and by
 * the transport too (nothing of it is held inside). Tokens are reported in
 * order, never from inside em_tcp_conn_write(). */
typedef void (*em_tcp_sent_cb)(em_tcp_conn *c, uint64_t token);
/** The write queue crossed the high watermark (throttled) or fell back to
 * the low watermark (unthrottled). */
typedef void (*em_tcp_throttle_cb)(em_tcp_conn *c);
/** A connect finished: status 0 (connected; start reading) or a negative
 * em_err (then close c). Runs from the loop, never inside the call that
 * started the connect. */
typedef void (*em_tcp_connect_cb)(em_tcp_conn *c, int status);
/** c is closed: nothing of it is in use any more; free its memory here or
 * later. */
typedef void (*em_tcp_close_cb)(em_tcp_conn *c);

/** A connection's callbacks, all on the loop's thread. Borrowed: the struct
 * must outlive every connection that uses it (a static const is usual). */
typedef struct em_tcp_conn_cbs {
    em_tcp_read_cb on_read;               /**< required */
    em_tcp_sent_cb on_sent;               /**< may be NULL */
    em_tcp_throttle_cb on_throttled;      /**< may be NULL */
    em_tcp_throttle_cb on_unthrottled;    /**< may be NULL */
} em_tcp_conn_cbs;

/** Buffer and queue sizes of a connection; zero fields take the defaults
 * given. Copied. All but read_max are kept in 32 bits: a larger value is
 * taken as 4 GiB - 1 (UINT32_MAX). */
typedef struct em_tcp_conn_opts {
    size_t read_max;        /**< cap of c->in (0: 64 KiB) */
    size_t read_chunk;      /**< bytes reserved per read (0: 16 KiB) */
    size_t high_watermark;  /**< queued bytes that throttle (0: 1 MiB) */
    size_t low_watermark;   /**< queued bytes that unthrottle (0: high/4) */
    size_t max_queue;       /**< queued bytes past which writes fail (0: 16 MiB) */
} em_tcp_conn_opts;

/** Flags for em_tcp_conn_write(). */
enum {
    /** Copy whatever the kernel does not take at once, so the caller's bytes
     * need not outlive the call. Without it the slices must stay valid
     * until on_sent reports the write's token. */
    EM_TCP_WRITE_COPY = 0x1
};

/** How bytes cross the socket: a const vtable inside each connection, called
 * where the plain socket would recv, send and shutdown (TLS installs itself
 * here). Everything above it counts plaintext bytes. Each op runs on the
 * loop's thread and finds its state with em_tcp_conn_transport_state(c) and
 * the socket with em_tcp_conn_fd(c). An op that returns EM_EAGAIN because it
 * waits for the other direction (TLS: a read that must write, a write that
 * must read) calls em_tcp_conn_transport_want() first; the connection then
 * retries it when that direction is ready. */
typedef struct em_tcp_transport {
    const char *name; /**< for logs and tests ("plain", "tls") */
    /** Read up to len plaintext bytes into buf: > 0, 0 at the peer's end of
     * stream, EM_EAGAIN, or em_err. Called until it returns EM_EAGAIN (a
     * short read does not end a batch). */
    ssize_t (*read)(em_tcp_conn *c, char *buf, size_t len);
    /** Take plaintext from iov[0..cnt): the count taken (may be partial, > 0
     * for cnt > 0 unless EM_EAGAIN), EM_EAGAIN, or em_err. Bytes taken but
     * not yet on the socket stay inside the transport (see pending). */
    ssize_t (*writev)(em_tcp_conn *c, const struct iovec *iov, int cnt);
    /** Push bytes held inside: 0 when none are left, EM_EAGAIN, or em_err. */
    int (*flush)(em_tcp_conn *c);
    /** End the write direction (TLS: close_notify, then SHUT_WR); called
     * once nothing is queued or pending. 0, EM_EAGAIN (called again), em_err. */
    int (*shutdown)(em_tcp_conn *c);
    /** Release the transport's state; the connection closes the fd after. */
    void (*close)(em_tcp_conn *c);
    /** Bytes held inside waiting for the socket. */
    size_t (*pending)(const em_tcp_conn *c);
    /** Plaintext readable with no socket event (TLS: SSL_pending). */
    size_t (*readable)(const em_tcp_conn *c);
} em_tcp_transport;

/** Every connection starts with this one: recv, send/sendmsg, SHUT_WR. */
EM_API extern const em_tcp_transport em_tcp_plain_transport;

/** For em_tcp_conn_transport_want(). */
enum { EM_TCP_WANT_READ = 1, EM_TCP_WANT_WRITE = 2 };
/** @var EM_TCP_WANT_READ
 * retry once the socket is readable */
/** @var EM_TCP_WANT_WRITE
 * retry once the socket is writable */

/** An async TCP connection. Embed it; callbacks find the outer struct with
 * EM_CONTAINER_OF. Memory may be freed only in or after the close callback
 * (or once it was moved away, see em_tcp_conn_move). */
struct em_tcp_conn {
    void *data; /**< user data; ember never touches it */
    em_buf in;                  /**< received bytes; consume what you parsed */
    /** its loop is the connection's; its user pointer is the connection's
     * own cold part (a transport, a connect in flight), NULL without one:
     * an idle connection carries no fields it does not use */
    em_io _io;
    const em_tcp_conn_cbs *_cbs;
    unsigned _flags;
    /** em_tcp_conn_opts, settled (read_max is in._max); 32 bits each, which
     * packs them into the hole the fields around them would leave */
    uint32_t _read_chunk, _high_wm, _low_wm, _max_queue;
    uint32_t _queued; /**< plaintext bytes queued: at most _max_queue */
    /** the last token fully taken by the transport, fully on the socket,
     * and reported through on_sent: their low 32 bits, as fewer than 2^32
     * writes are ever in flight behind _next_token */
    uint32_t _taken_lo, _done_lo, _reported_lo;
    int16_t _werr;              /**< sticky write error (an em_err): later writes return it */
    uint64_t _next_token;       /**< last token handed out */
    /** deferred on_sent, read retry, close callback; its user pointer is
     * the write queue (a ring of pending slices), allocated when a write
     * first has to wait */
    em_task _task;
    em_tcp_close_cb _on_close;
};

/** Adopt a connected fd (from an em_tcp_server or a connect). Sets it
 * nonblocking. cbs must outlive the connection; opts may be NULL. Does not
 * start reading. */
EM_API EM_NODISCARD int em_tcp_conn_init(em_loop *loop, em_tcp_conn *c, int fd,
                                         const em_tcp_conn_cbs *cbs,
                                         const em_tcp_conn_opts *opts);
/** Start a nonblocking connect; cb(c, 0) once connected (then reading may be
 * started), cb(c, err) on failure (then close c). If it returns an error
 * instead, nothing was started and c needs no close. */
EM_API EM_NODISCARD int em_tcp_conn_connect(em_loop *loop, em_tcp_conn *c,
                                            const em_sockaddr *addr,
                                            const em_tcp_conn_cbs *cbs,
                                            const em_tcp_conn_opts *opts,
                                            em_tcp_connect_cb cb);
/** Start (or resume) calling on_read as bytes arrive. Returns 0, EM_ECLOSED,
 * EM_EOF after the peer's end of stream or em_tcp_conn_end(), or an em_err
 * from the loop. Fine from any callback of c. */
EM_API EM_NODISCARD int em_tcp_conn_read_start(em_tcp_conn *c);
/** Stop reading (bytes wait in the kernel; backpressure); no-op on a closed
 * connection. Fine from any callback of c. */
EM_API void em_tcp_conn_read_stop(em_tcp_conn *c);
/** Send n slices in order: write now if the queue is empty, queue the rest.
 * *token (may be NULL) receives the write's token for on_sent. Returns 0,
 * EM_ENOBUFS if queued bytes plus this write would pass max_queue (nothing
 * is written or queued; so one write can never exceed max_queue),
 * EM_ECLOSED after shutdown/end/close, or a socket error (EM_EPIPE,
 * EM_ECONNRESET, ...). A socket error sticks, whether this call or a later
 * flush found it: every later write returns it, and em_tcp_conn_end closes
 * at once. One found inside this call is only returned (on_read hears of
 * the errors found later). on_throttled may run from inside this call, as
 * its last action. */
EM_API EM_NODISCARD int em_tcp_conn_write(em_tcp_conn *c, const em_slice *slices, unsigned n,
                                          unsigned flags, uint64_t *token);
/** Bytes not yet on the socket: plaintext in the write queue plus what the
 * transport holds inside. 0 once everything written has left. */
EM_API size_t em_tcp_conn_queued(const em_tcp_conn *c);
/** True between on_throttled and on_unthrottled: the queue is past the high
 * watermark. False once the connection has failed (a write error, or the
 * error on_read reports) or closed: the queue is dropped then, and
 * on_unthrottled does not run. */
EM_API bool em_tcp_conn_throttled(const em_tcp_conn *c);
/** Half-close: end the write direction (through the transport) once the
 * queue has drained. Reading goes on. */
EM_API int em_tcp_conn_shutdown(em_tcp_conn *c);
/** Close once flushed: stop reading at once, let the queue and the transport
 * drain, end the write direction, then close and call cb (may be NULL) as
 * em_tcp_conn_close does. A write error or a reset closes early; cb still
 * runs exactly once and on_read is not called any more. A later
 * em_tcp_conn_close while the queue still drains closes at once and
 * replaces cb; once the end has closed the connection (at once when
 * nothing was queued) it does nothing, and cb stays. Unread input left in
 * the socket at the close makes the kernel send a reset. */
EM_API void em_tcp_conn_end(em_tcp_conn *c, em_tcp_close_cb cb);
/** Close now: stop watching, drop the queue, release the transport, close
 * the fd. cb (may be NULL) runs from the loop after the current callback
 * returns; free c there. A no-op on a closed or moved-from connection. */
EM_API void em_tcp_conn_close(em_tcp_conn *c, em_tcp_close_cb cb);
/** Take over a live connection (an HTTP 101 upgrade, a CONNECT tunnel):
 * move src with its socket, unread bytes in `in`, write queue, tokens,
 * state flags and transport into dst, a connection the caller embeds
 * elsewhere, with callbacks cbs (dst->data is kept). The fd watcher is
 * re-registered for dst and src's pending deferred work moves to dst. src
 * becomes inert: closing it is a no-op and it may be freed at once, or,
 * when move runs inside one of src's callbacks, as soon as that callback
 * returns. Returns 0, EM_EINVAL, EM_ECLOSED (src not open), or an em_err
 * from re-registering (the connection is then in dst: close dst). */
EM_API EM_NODISCARD int em_tcp_conn_move(em_tcp_conn *dst, em_tcp_conn *src,
                                         const em_tcp_conn_cbs *cbs);
/** Set the write queue's watermarks and cap (as em_tcp_conn_opts; 0 keeps
 * the current value), e.g. for the protocol a connection was moved to.
 * They apply from the next write or drain. Returns 0 or EM_EINVAL (low
 * above high: nothing changed). */
EM_API int em_tcp_conn_set_limits(em_tcp_conn *c, size_t high_watermark, size_t low_watermark,
                                  size_t max_queue);
/** Set the bytes reserved per read (as em_tcp_conn_opts.read_chunk; capped
 * at read_max), e.g. for a protocol whose messages are larger than the
 * default 16 KiB: a read with room for a whole message is one recv, where
 * a message one byte past the room takes two. From the next read. */
EM_API void em_tcp_conn_set_read_chunk(em_tcp_conn *c, size_t read_chunk);
/** Replace the callbacks (cbs->on_read required; cbs must outlive c). */
EM_API void em_tcp_conn_set_cbs(em_tcp_conn *c, const em_tcp_conn_cbs *cbs);
/** The peer's address (getpeername: fails with EM_ENOTCONN once the peer has
 * gone; an em_tcp_server also passes it to conn_alloc). */
EM_API int em_tcp_conn_peer(const em_tcp_conn *c, em_sockaddr *out);
/** The socket (owned by c: never close it yourself). */
EM_API int em_tcp_conn_fd(const em_tcp_conn *c);
/** The loop c runs on. */
EM_API em_loop *em_tcp_conn_loop(const em_tcp_conn *c);

/** Install transport t (NULL or &em_tcp_plain_transport: the plain socket)
 * with its state, before any byte crossed the socket (right after init,
 * accept or connect). The connection calls t->close when it closes.
 * Returns 0, EM_EINVAL (an op other than close is missing), EM_ENOMEM or
 * EM_ECLOSED; on an error state is still the caller's. */
EM_API int em_tcp_conn_set_transport(em_tcp_conn *c, const em_tcp_transport *t, void *state);
/** The transport in use (never NULL) and its state. */
EM_API const em_tcp_transport *em_tcp_conn_transport(const em_tcp_conn *c);
/** The state given to em_tcp_conn_set_transport() (NULL for the plain socket). */
EM_API void *em_tcp_conn_transport_state(const em_tcp_conn *c);
/** From inside a transport op about to return EM_EAGAIN: the op waits for
 * the other direction. EM_TCP_WANT_WRITE (from read): read again once the
 * socket is writable. EM_TCP_WANT_READ (from writev, flush, shutdown):
 * write again once it is readable, whether or not the user is reading. */
EM_API void em_tcp_conn_transport_want(em_tcp_conn *c, unsigned want);

/* ---- connect by name: Happy Eyeballs v2 (RFC 8305) ------------------------ */

/** RFC 8305 §8's recommended delays. */
#define EM_TCP_ATTEMPT_DELAY_MS 250   /**< between connection attempts */
#define EM_TCP_RESOLUTION_DELAY_MS 50 /**< A answered first: wait this long for AAAA */

/** Options for em_tcp_conn_connect_host() and em_tcp_connect_host(); zero
 * fields take the defaults given. Read during the call only, except cbs
 * (borrowed by c). */
typedef struct em_tcp_connect_opts {
    /** c's callbacks once connected (the async face; required there, must
     * outlive c) and its options (may be NULL). */
    const em_tcp_conn_cbs *cbs;
    const em_tcp_conn_opts *conn_opts; /**< see cbs */
    em_dns_family family;         /**< ANY (both, RFC 6724 order), V4 or V6 only */
    /** Connection Attempt Delay: 0 for 250 ms, else 100..2000 ms (§5). */
    unsigned attempt_delay_ms;
    /** Resolution Delay: 0 for 50 ms, else at most 2000 ms (§3). */
    unsigned resolution_delay_ms;
    /** The whole connect, lookup included; past it: EM_ETIMEDOUT. 0: 30 s. */
    unsigned timeout_ms;
    /** The blocking face's private resolver (NULL: resolv.conf and
     * /etc/hosts); the async face ignores it. */
    const em_dns_resolver_opts *resolver;
} em_tcp_connect_opts;

/** Connect c to host:port, a name or an IP literal, racing its addresses
 * (RFC 8305): AAAA and A are asked in parallel on resolver r (which must
 * belong to loop); when A answers first, attempts wait the resolution
 * delay for AAAA. Addresses are tried alternating families, starting
 * with the one RFC 6724 puts first (em_dns_sort: IPv6 unless, e.g., it is
 * a ULA or 6to4 address or has no route; IPv6 when only AAAA is in); a
 * new attempt starts every attempt delay, or at once when one fails, and
 * earlier attempts keep running. The first to connect becomes c (with
 * opts->cbs and opts->conn_opts, c->data kept) and every other attempt is
 * closed. cb(c, 0) once connected (then start reading); cb(c, err) when
 * every address failed (the last attempt's error, or the lookup's when
 * there was no attempt: EM_ENOTFOUND, EM_EDNSFAIL, ...) or on the overall
 * timeout (EM_ETIMEDOUT); after an error, close c. Until cb, c has no
 * socket: the only call it takes is em_tcp_conn_close (or _end), which
 * cancels the lookup and every attempt; cb never runs after it and the
 * close callback runs as usual. cb never runs inside this call. Returns 0,
 * EM_EINVAL (a bad argument, option, port 0 or host name), EM_ENOMEM or
 * EM_ECLOSED (r closing); then nothing was started and c needs no close.
 * host is copied. Loop thread; fine from any callback. */
EM_API EM_NODISCARD int em_tcp_conn_connect_host(em_loop *loop, em_tcp_conn *c,
                                                 em_dns_resolver *r, const char *host,
                                                 uint16_t port, const em_tcp_connect_opts *opts,
                                                 em_tcp_connect_cb cb);
/** The blocking face: the same race on a private loop with a private
 * resolver (opts->resolver), ending in a blocking stream like
 * em_tcp_connect's. opts may be NULL (defaults; cbs and conn_opts are not
 * used). Returns 0 or the errors above; on error s->fd is -1. Any thread. */
EM_API EM_NODISCARD int em_tcp_connect_host(em_tcp_stream *s, const char *host, uint16_t port,
                                            const em_tcp_connect_opts *opts);

/* ---- async server ----------------------------------------------------------- */

typedef struct em_tcp_server em_tcp_server;
/** A new connection: fd is connected and nonblocking and now belongs to the
 * callback (wrap it with em_tcp_conn_init or close it). */
typedef void (*em_tcp_accept_cb)(em_tcp_server *srv, int fd, const em_sockaddr *peer);
/** Accepting straight into connections: return the em_tcp_conn embedded in
 * your struct for this peer (set its data here if you like), or NULL to
 * refuse (ember closes the socket). */
typedef em_tcp_conn *(*em_tcp_conn_alloc_cb)(em_tcp_server *srv, const em_sockaddr *peer);
/** status 0: c is initialised with conn_cbs/conn_opts and reading. Otherwise
 * c could not be set up (the socket is already closed) and is not a
 * connection: free it. */
typedef void (*em_tcp_conn_ready_cb)(em_tcp_server *srv, em_tcp_conn *c, int status);
/** The process is out of fds (EMFILE/ENFILE). ember freed its reserve fd to
 * accept this connection so it can be refused politely (e.g. an HTTP 503);
 * the callback owns fd and must close it soon. NULL: ember closes it. */
typedef void (*em_tcp_overload_cb)(em_tcp_server *srv, int fd);
/** accept(2) failed with err, an error that does not concern one connection
 * only and would come back at once (EM_ENOBUFS, EM_ENOMEM, EM_EINVAL once
 * the listener was shut down, ...). The server has stopped watching the
 * listener and tries again after emfile_retry_ms; the callback may pause or
 * close it. Not called for the errors of a single connection
 * (ECONNABORTED, EPERM from a firewall, EPROTO, ...), after which the
 * server accepts the next one at once, nor for EMFILE/ENFILE (see
 * em_tcp_overload_cb). */
typedef void (*em_tcp_accept_error_cb)(em_tcp_server *srv, int err);

/** Options for em_tcp_server_start() and em_tcp_server_adopt(); zero fields
 * take the defaults given. Copied; conn_cbs and conn_opts are borrowed. */
typedef struct em_tcp_server_opts {
    em_tcp_listen_opts listen;      /**< how to listen (em_tcp_server_start only) */
    unsigned accept_batch;          /**< accepts per readiness event (0: 64) */
    /** pause before accepting again after EMFILE/ENFILE or another
     * persistent accept error (0: 100) */
    unsigned emfile_retry_ms;
    em_tcp_overload_cb on_overload;         /**< out of fds; may be NULL */
    em_tcp_accept_error_cb on_accept_error; /**< a persistent accept error; may be NULL */
    /** Accept straight into connections: with conn_alloc set, the accept
     * callback may be NULL and is not used. conn_cbs (and conn_opts, may be
     * NULL) must outlive the server. */
    em_tcp_conn_alloc_cb conn_alloc;
    em_tcp_conn_ready_cb on_conn;      /**< each conn_alloc connection, once set up (required) */
    const em_tcp_conn_cbs *conn_cbs;   /**< callbacks of those connections */
    const em_tcp_conn_opts *conn_opts; /**< their options; may be NULL */
} em_tcp_server_opts;

/** A listener accepting on the loop. Embed it; the fields without '_' may be
 * read. */
struct em_tcp_server {
    void *data;               /**< user data; ember never touches it */
    em_tcp_listener listener; /**< the listening socket, owned by the server */
    em_loop *_loop;
    em_io _io;
    em_timer _retry;
    int _reserve_fd;
    em_tcp_accept_cb _on_accept;
    em_tcp_server_opts _opts;
    uint64_t accepted;   /**< statistics: connections accepted */
    uint64_t overloaded; /**< connections refused for lack of fds */
    unsigned _flags;
};

/** Listen on addr and accept on loop. opts may be NULL. cb gets each new fd
 * unless opts->conn_alloc is set (then cb may be NULL, see above). The
 * callbacks may pause or close the server. Returns 0 or em_err. */
EM_API EM_NODISCARD int em_tcp_server_start(em_loop *loop, em_tcp_server *srv,
                                            const em_sockaddr *addr,
                                            const em_tcp_server_opts *opts,
                                            em_tcp_accept_cb cb);
/** Like em_tcp_server_start, but accept on an existing listener (one bound
 * earlier, e.g. so several SO_REUSEPORT workers share a port chosen with
 * port 0). On success the server owns *l; on failure the caller still does.
 * opts->listen is ignored. */
EM_API EM_NODISCARD int em_tcp_server_adopt(em_loop *loop, em_tcp_server *srv,
                                            em_tcp_listener *l, const em_tcp_server_opts *opts,
                                            em_tcp_accept_cb cb);
/** Stop accepting (connections already accepted are untouched). */
EM_API void em_tcp_server_pause(em_tcp_server *srv);
/** Accept again after em_tcp_server_pause(). Returns 0, EM_ECLOSED, or an
 * em_err from the loop. */
EM_API int em_tcp_server_resume(em_tcp_server *srv);
/** Stop accepting and close the listener and the reserve fd. */
EM_API void em_tcp_server_close(em_tcp_server *srv);

#ifdef __cplusplus
}
#endif
#endif

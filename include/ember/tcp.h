/* ember tcp: blocking streams and listeners, and async connections and
 * servers on the loop.
 *
 * The async connection (em_tcp_conn) is what the HTTP server and the
 * WebSockets embed. All of its functions and callbacks belong to its loop's
 * thread.
 */
#ifndef EMBER_TCP_H
#define EMBER_TCP_H

#include "ember/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- blocking ----------------------------------------------------------- */

/* A blocking TCP stream; usable as an em_stream (read/writev/shutdown/close)
 * through em_tcp_stream_as_stream(). */
typedef struct em_tcp_stream {
    em_stream base;
    int fd;
} em_tcp_stream;

/* Connect to addr, giving up after timeout_ms (0: no timeout). Sets
 * TCP_NODELAY. Returns 0, EM_ETIMEDOUT, EM_ECONNREFUSED, ... */
EM_API EM_NODISCARD int em_tcp_connect(em_tcp_stream *s, const em_sockaddr *addr,
                                       int timeout_ms);
/* Wrap an already connected blocking fd (takes ownership). */
EM_API void em_tcp_stream_from_fd(em_tcp_stream *s, int fd);
static inline em_stream *em_tcp_stream_as_stream(em_tcp_stream *s) { return &s->base; }
/* Per-call read/write timeouts in ms (0: none); a timed-out call returns
 * EM_ETIMEDOUT. */
EM_API int em_tcp_stream_set_timeouts(em_tcp_stream *s, int read_ms, int write_ms);
EM_API ssize_t em_tcp_stream_read(em_tcp_stream *s, void *buf, size_t len);
/* Write all of buf. Returns 0 or em_err. */
EM_API EM_NODISCARD int em_tcp_stream_write(em_tcp_stream *s, const void *buf, size_t len);
/* SHUT_WR: the peer reads EOF; reading still works. */
EM_API int em_tcp_stream_shutdown(em_tcp_stream *s);
EM_API int em_tcp_stream_close(em_tcp_stream *s);

typedef struct em_tcp_listen_opts {
    int backlog;     /* 0: SOMAXCONN */
    bool reuseaddr;  /* SO_REUSEADDR (em_tcp_listen_opts_default: true) */
    bool reuseport;  /* SO_REUSEPORT, for one listener per worker */
    bool v6only;     /* IPV6_V6ONLY on an IPv6 listener */
} em_tcp_listen_opts;

/* The defaults: SOMAXCONN backlog, SO_REUSEADDR on, the rest off. */
static inline em_tcp_listen_opts em_tcp_listen_opts_default(void) {
    em_tcp_listen_opts o = {0, true, false, false};
    return o;
}

typedef struct em_tcp_listener {
    int fd;
} em_tcp_listener;

/* Listen on addr (port 0 picks a free port; see em_tcp_listener_addr).
 * opts may be NULL for em_tcp_listen_opts_default() (a zeroed struct turns
 * SO_REUSEADDR off). An IPv6 listener always sets IPV6_V6ONLY to
 * opts->v6only, whatever the system default. The fd is nonblocking only if
 * used by an em_tcp_server. */
EM_API EM_NODISCARD int em_tcp_listen(em_tcp_listener *l, const em_sockaddr *addr,
                                      const em_tcp_listen_opts *opts);
EM_API int em_tcp_listener_addr(const em_tcp_listener *l, em_sockaddr *out);
/* Wait up to timeout_ms (0: forever) for a connection. peer may be NULL. */
EM_API EM_NODISCARD int em_tcp_accept(em_tcp_listener *l, em_tcp_stream *s, em_sockaddr *peer,
                                      int timeout_ms);
EM_API void em_tcp_listener_close(em_tcp_listener *l);

/* ---- async connections ---------------------------------------------------- */

typedef struct em_tcp_conn em_tcp_conn;

/* New bytes were appended to c->in (nread > 0), or the read side ended:
 * EM_EOF when the peer half-closed (writing still works), EM_ENOBUFS when
 * c->in is full and reading paused (consume, then em_tcp_conn_read_start),
 * or another em_err (the connection is broken; close it). */
typedef void (*em_tcp_read_cb)(em_tcp_conn *c, ssize_t nread);
/* Every write with a token <= token has been taken by the kernel. Tokens
 * are reported in order, never from inside em_tcp_conn_write(). */
typedef void (*em_tcp_sent_cb)(em_tcp_conn *c, uint64_t token);
/* The write queue crossed the high watermark (throttled) or fell back to
 * the low watermark (unthrottled). */
typedef void (*em_tcp_throttle_cb)(em_tcp_conn *c);
/* A write failed after em_tcp_conn_write() had returned (EM_EPIPE,
 * EM_ECONNRESET, ...). The queue is dropped; close the connection. */
typedef void (*em_tcp_error_cb)(em_tcp_conn *c, int err);
typedef void (*em_tcp_connect_cb)(em_tcp_conn *c, int status);
typedef void (*em_tcp_close_cb)(em_tcp_conn *c);

typedef struct em_tcp_conn_cbs {
    em_tcp_read_cb on_read;
    em_tcp_sent_cb on_sent;               /* may be NULL */
    em_tcp_throttle_cb on_throttled;      /* may be NULL */
    em_tcp_throttle_cb on_unthrottled;    /* may be NULL */
    em_tcp_error_cb on_error;             /* may be NULL: then on_read gets err */
} em_tcp_conn_cbs;

typedef struct em_tcp_conn_opts {
    size_t read_max;        /* cap of c->in (0: 64 KiB) */
    size_t read_chunk;      /* bytes reserved per read (0: 16 KiB) */
    size_t high_watermark;  /* queued bytes that throttle (0: 1 MiB) */
    size_t low_watermark;   /* queued bytes that unthrottle (0: high/4) */
    size_t max_queue;       /* queued bytes past which writes fail (0: 16 MiB) */
} em_tcp_conn_opts;

/* Flags for em_tcp_conn_write(). */
enum {
    /* Copy whatever the kernel does not take at once, so the caller's bytes
     * need not outlive the call. Without it the slices must stay valid
     * until on_sent reports the write's token. */
    EM_TCP_WRITE_COPY = 0x1
};

struct em__wq_entry;

/* An async TCP connection. Embed it; callbacks find the outer struct with
 * EM_CONTAINER_OF. Memory may be freed only in or after the close callback. */
struct em_tcp_conn {
    void *data;
    em_buf in;                  /* received bytes; consume what you parsed */
    em_loop *_loop;
    em_io _io;
    const em_tcp_conn_cbs *_cbs;
    em_tcp_conn_opts _opts;
    /* write queue: ring of pending slices */
    struct em__wq_entry *_wq;
    unsigned _wq_cap, _wq_head, _wq_len;
    size_t _wq_off;             /* bytes of the head entry already sent */
    size_t _queued;             /* bytes queued */
    uint64_t _next_token;       /* last token handed out */
    uint64_t _done_token;       /* last token fully written */
    uint64_t _reported_token;   /* last token reported through on_sent */
    em_task _sent_task;         /* deferred on_sent delivery */
    em_task _close_task;        /* deferred close callback */
    em_tcp_connect_cb _on_connect;
    em_tcp_close_cb _on_close;
    int _werr;                  /* sticky write error: later writes return it */
    unsigned _flags;
};

/* Adopt a connected fd (from an em_tcp_server or a connect). Sets it
 * nonblocking. cbs must outlive the connection; opts may be NULL. Does not
 * start reading. */
EM_API EM_NODISCARD int em_tcp_conn_init(em_loop *loop, em_tcp_conn *c, int fd,
                                         const em_tcp_conn_cbs *cbs,
                                         const em_tcp_conn_opts *opts);
/* Start a nonblocking connect; cb(c, 0) once connected (then reading may be
 * started), cb(c, err) on failure (then close c). If it returns an error
 * instead, nothing was started and c needs no close. */
EM_API EM_NODISCARD int em_tcp_conn_connect(em_loop *loop, em_tcp_conn *c,
                                            const em_sockaddr *addr,
                                            const em_tcp_conn_cbs *cbs,
                                            const em_tcp_conn_opts *opts,
                                            em_tcp_connect_cb cb);
EM_API EM_NODISCARD int em_tcp_conn_read_start(em_tcp_conn *c);
EM_API void em_tcp_conn_read_stop(em_tcp_conn *c);
/* Send n slices in order: writev now if the queue is empty, queue the rest.
 * *token (may be NULL) receives the write's token for on_sent. Returns 0,
 * EM_ENOBUFS if queued bytes plus this write would pass max_queue (nothing
 * is written or queued; so one write can never exceed max_queue),
 * EM_ECLOSED after shutdown/close, or a socket error. on_throttled may run
 * from inside this call, as its last action. */
EM_API EM_NODISCARD int em_tcp_conn_write(em_tcp_conn *c, const em_slice *slices, unsigned n,
                                          unsigned flags, uint64_t *token);
/* Bytes waiting in the write queue. */
EM_API size_t em_tcp_conn_queued(const em_tcp_conn *c);
EM_API bool em_tcp_conn_throttled(const em_tcp_conn *c);
/* Half-close: SHUT_WR once the queue has drained. Reading goes on. */
EM_API int em_tcp_conn_shutdown(em_tcp_conn *c);
/* Close now: stop watching, drop the queue, close the fd. cb (may be NULL)
 * runs from the loop after the current callback returns; free c there. */
EM_API void em_tcp_conn_close(em_tcp_conn *c, em_tcp_close_cb cb);
EM_API int em_tcp_conn_fd(const em_tcp_conn *c);
EM_API em_loop *em_tcp_conn_loop(const em_tcp_conn *c);

/* ---- async server ----------------------------------------------------------- */

typedef struct em_tcp_server em_tcp_server;
/* A new connection: fd is connected and nonblocking and now belongs to the
 * callback (wrap it with em_tcp_conn_init or close it). */
typedef void (*em_tcp_accept_cb)(em_tcp_server *srv, int fd, const em_sockaddr *peer);
/* The process is out of fds (EMFILE/ENFILE). ember freed its reserve fd to
 * accept this connection so it can be refused politely (e.g. an HTTP 503);
 * the callback owns fd and must close it soon. NULL: ember closes it. */
typedef void (*em_tcp_overload_cb)(em_tcp_server *srv, int fd);

typedef struct em_tcp_server_opts {
    em_tcp_listen_opts listen;
    unsigned accept_batch;       /* accepts per readiness event (0: 64) */
    unsigned emfile_retry_ms;    /* pause before retrying after EMFILE (0: 100) */
    em_tcp_overload_cb on_overload;
} em_tcp_server_opts;

struct em_tcp_server {
    void *data;
    em_tcp_listener listener;
    em_loop *_loop;
    em_io _io;
    em_timer _retry;
    int _reserve_fd;
    em_tcp_accept_cb _on_accept;
    em_tcp_server_opts _opts;
    uint64_t accepted;       /* statistics */
    uint64_t overloaded;
    unsigned _flags;
};

/* Listen on addr and accept on loop. opts may be NULL. The accept callback
 * may pause or close the server. Returns 0 or em_err. */
EM_API EM_NODISCARD int em_tcp_server_start(em_loop *loop, em_tcp_server *srv,
                                            const em_sockaddr *addr,
                                            const em_tcp_server_opts *opts,
                                            em_tcp_accept_cb cb);
/* Like em_tcp_server_start, but accept on an existing listener (one bound
 * earlier, e.g. so several SO_REUSEPORT workers share a port chosen with
 * port 0). On success the server owns *l; on failure the caller still does.
 * opts->listen is ignored. */
EM_API EM_NODISCARD int em_tcp_server_adopt(em_loop *loop, em_tcp_server *srv,
                                            em_tcp_listener *l, const em_tcp_server_opts *opts,
                                            em_tcp_accept_cb cb);
/* Stop accepting (connections already accepted are untouched). */
EM_API void em_tcp_server_pause(em_tcp_server *srv);
EM_API int em_tcp_server_resume(em_tcp_server *srv);
/* Stop accepting and close the listener and the reserve fd. */
EM_API void em_tcp_server_close(em_tcp_server *srv);

#ifdef __cplusplus
}
#endif
#endif

/** @file
 * ember http, part three: the server (handlers, responses, streaming,
 * connections, the server itself). Included by "ember/http.h". Upgrades
 * (101, CONNECT tunnels) are in "ember/http/upgrade.h".
 *
 * A server runs on one loop (em_http_server_start) or on N loops, one per
 * core, each with its own SO_REUSEPORT listener (em_http_serve). Every
 * request reaches a handler with an em_http_ctx: the parsed request, the
 * whole body (or, with stream_bodies, the body in pieces), route parameters
 * and the application state. The handler answers with em_http_respond*()
 * before it returns (the common case), or calls em_http_defer() and answers
 * later from the same loop, or streams the body with em_http_stream_*().
 *
 * Pipelined requests are parsed together and answered in order; responses
 * made during one read go out in one write. While a handler holds a request
 * the server keeps watching the client, so a client that goes away is
 * noticed at once (on_abort), and it reads ahead only a little (64 KiB).
 *
 * THE OWNERSHIP RULE. The server owns every em_http_ctx. A handler that
 * returns without answering (em_http_defer, em_http_stream_start,
 * em_http_body_read) keeps cx valid until it ends, which happens exactly
 * once, in one of three ways:
 *   1. a call of yours completes it: em_http_respond*() or
 *      em_http_stream_end() returns (whatever it returns);
 *   2. a call of yours returns EM_ECLOSED: the client is gone and cx was
 *      released by that call; on_abort will not run for it;
 *   3. on_abort runs (or, while a streamed body is being read, the body
 *      callback with a negative status): the client went away while you
 *      held cx. cx is valid during the callback and released when it
 *      returns; em_http_* calls on cx made inside it return EM_ECLOSED and
 *      free nothing. Without on_abort, case 2 happens at your next call.
 * No callback runs from inside the em_http_* call that caused it: not
 * on_abort, not on_sent, not on_unthrottled. Every function and callback
 * here runs on the server loop's thread.
 *
 * Some requests never reach a handler: those the parser refuses (400, 413,
 * 414, 431, 501, 505: em_http_status_for_error), an expectation other than
 * 100-continue (417), a transfer coding besides chunked ("gzip, chunked":
 * 501, since the server would hand over a still-coded body), a path with a
 * "." or ".." segment or an encoded slash (400, see allow_dot_segments and
 * allow_encoded_slash), and a buffered body that would take the server past
 * max_buffered (503 with Retry-After). Each answer closes the connection.
 * The router handler adds 404, 405 with Allow, 501 for a method it does
 * not know, and 200 to OPTIONS *.
 */
#ifndef EMBER_HTTP_SERVER_H
#define EMBER_HTTP_SERVER_H

#include "ember/http/router.h"
#include "ember/tls.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct em_http_server em_http_server;
typedef struct em_http_ctx em_http_ctx;
typedef struct em_http_handler em_http_handler;
/** One client connection (opaque). It outlives the requests it carries:
 * per-connection state goes in its user data. */
typedef struct em_http_conn em_http_conn;
struct em__http_env;

/** A handler, or a middleware: h->next is the handler a middleware wraps
 * (call it with em_http_next()), h->data its own state. Handlers are
 * immutable and shared by every request and worker thread. */
typedef void (*em_http_handler_fn)(em_http_ctx *cx, const em_http_handler *h);
/** A handler or a middleware (see em_http_handler_fn). */
struct em_http_handler {
    em_http_handler_fn fn;       /**< called for each request */
    const em_http_handler *next; /**< the wrapped handler (middleware), or NULL */
    void *data;                  /**< the handler's own state */
};

/** Call the handler a middleware wraps. */
static inline void em_http_next(em_http_ctx *cx, const em_http_handler *h) {
    h->next->fn(cx, h->next);
}

/** A route's handler in its plainest form (see em_http_route). */
typedef void (*em_http_fn)(em_http_ctx *cx);

/** Callbacks for a deferred or streamed response, all optional. */
typedef struct em_http_stream_cbs {
    /** Every write with a token <= token has been taken by the kernel. */
    void (*on_sent)(em_http_ctx *cx, uint64_t token);
    /** A write returned EM_HTTP_FULL and the queue has since drained to its
     * low watermark: write more. The one backpressure signal. */
    void (*on_unthrottled)(em_http_ctx *cx);
    /** The client went away before the response ended (reset, close, write
     * timeout, forced shutdown). See the ownership rule. */
    void (*on_abort)(em_http_ctx *cx, int err);
} em_http_stream_cbs;

/** One request. Its slices point into the connection's buffers and stay
 * valid until cx ends (the ownership rule above). */
struct em_http_ctx {
    em_http_request req;       /**< method, target, headers, version, flags */
    em_slice path;             /**< target up to '?' (origin-form); raw, not decoded */
    em_slice query;            /**< after '?', without it; empty if none */
    em_slice body;             /**< the whole request body (de-chunked) */
    em_http_route_match route; /**< filled by em_http_router_handler */
    void *app;                 /**< em_http_server_opts.app */
    void *user;                /**< free for handlers and middleware */
    em_http_server *server;    /**< the server (on this loop) that took the request;
                                  do not use it once the server may have been freed
                                  (a cx held past its shutdown) */
    em_http_conn *conn;        /**< the connection; NULL once the client is gone */
};

/** Options for em_http_server_start() and em_http_serve(). Copied; what the
 * pointers name (handler, router, app, tls) must outlive the server. Zero
 * fields take the defaults given. */
typedef struct em_http_server_opts {
    const em_http_handler *handler; /**< this, or router, is required */
    const em_http_router *router;   /**< routes made with em_http_route(): used when
                                       handler is NULL */
    void *app;                      /**< passed to every handler as cx->app */
    em_http_limits limits;          /**< zero fields: parser defaults; SIZE_MAX /
                                       UINT64_MAX: unlimited (max_buffered still
                                       bounds buffered bodies) */
    size_t max_buffered;            /**< request bytes buffered for handlers, all
                                       connections of one loop together (0: 64 MiB;
                                       SIZE_MAX: unlimited); past it new buffered
                                       bodies get 503 + Retry-After */
    size_t high_watermark;          /**< response bytes queued per connection past
                                       which a stream write says EM_HTTP_FULL and a
                                       body sent in pieces waits (0: 256 KiB; the
                                       kernel's socket buffer holds more) */
    unsigned max_connections;       /**< 0: 100000; beyond it: 503 + close */
    unsigned max_requests;          /**< per connection; 0: unlimited */
    unsigned header_timeout_ms;     /**< first byte to end of head (0: 10 s) */
    unsigned body_timeout_ms;       /**< between body reads (0: 30 s) */
    unsigned idle_timeout_ms;       /**< keep-alive idle (0: 60 s) */
    unsigned write_timeout_ms;      /**< no write progress (0: 30 s) */
    unsigned shutdown_timeout_ms;   /**< graceful shutdown deadline (0: 10 s) */
    bool reuseport;                 /**< SO_REUSEPORT on the listener */
    int access_log_fd;              /**< > 0: access log (common log format, UTC) written
                                       to this fd by a background thread, so a
                                       slow disk never blocks the loop; 0: off */
    bool stream_bodies;             /**< call handlers once the head is complete and
                                       let them read bodies in pieces with
                                       em_http_body_read (default: bodies
                                       arrive whole in cx->body) */
    bool allow_dot_segments;        /**< hand paths with "." or ".." segments (plain
                                       or %2e) to the handler; default: 400,
                                       since browsers and curl remove them
                                       before sending, and a "*rest" capture
                                       of "../../etc/passwd" is how file
                                       servers get broken into */
    bool allow_encoded_slash;       /**< hand paths with %2F to the handler; default:
                                       400 (Apache's AllowEncodedSlashes Off):
                                       "%2e%2e%2f" decodes to "../" */
    /** A connection was accepted (c's peer and data are set up; nothing was
     * read yet). Return 0 to serve it, or an em_err to close it at once.
     * Attach a transport here (em_http_conn_tcp). May be NULL. */
    int (*on_conn_open)(em_http_conn *c, void *app);
    /** HTTPS: a server context (em_tls_ctx_new with EM_TLS_SERVER, alpn
     * "http/1.1") attached to every accepted connection before on_conn_open;
     * it must outlive the server. NULL: plain HTTP. */
    const em_tls_ctx *tls;
    /** The connection closed (after its last request ended): free what
     * em_http_conn_data holds. May be NULL. */
    void (*on_conn_close)(em_http_conn *c, void *app);
    unsigned workers;               /**< em_http_serve only: loops (0: 1) */
    bool pin_workers;               /**< em_http_serve only: pin to cores */
} em_http_server_opts;

struct em__http_conn_list {
    em_http_conn *head;
};

/** A server on one loop. Complete so it can be embedded; fields private. */
struct em_http_server {
    void *data;        /**< user data; ember never touches it */
    em_tcp_server tcp; /**< the listener; its statistics count connections */
    em_loop *_loop;
    em_http_server_opts _opts;
    em_http_handler _router_handler; /**< when opts.router is used */
    em_timer _date_timer;
    em_timer _shutdown_timer;
    char _date[40];               /**< "Date: ...GMT\r\n", refreshed per second */
    size_t _date_len;
    struct em__http_env *_env;    /**< what its connections share */
    em_http_conn *_conns;         /**< every open connection */
    struct em_http_upgraded *_upgraded; /**< connections taken over by em_http_upgrade */
    struct em__http_exchange *_free_ex; /**< recycled request state */
    unsigned _nconns, _nalive, _nfree_ex; /**< open, not yet freed, pooled */
    size_t _buffered;             /**< request body bytes held for handlers */
    em_task _task;
    void (*_on_closed)(em_http_server *srv);
    void (*_on_drained)(em_http_server *srv); /**< the last connection went */
    struct em__http_log *_log;    /**< access log, when on */
    uint64_t requests;            /**< statistics */
    uint64_t rejected;            /**< 503s from admission control */
    unsigned _flags;
};

/** Listen on addr and serve on loop. Returns 0 or em_err (EM_EINVAL for
 * missing handler and router). opts is copied; the handler or router it
 * points to must outlive the server. */
EM_API EM_NODISCARD int em_http_server_start(em_loop *loop, em_http_server *srv,
                                             const em_sockaddr *addr,
                                             const em_http_server_opts *opts);
/** Graceful shutdown: stop accepting, close idle connections, let in-flight
 * requests finish (their responses carry Connection: close), tell upgraded
 * connections (em_http_upgraded.on_shutdown), and force-close whatever is
 * left after shutdown_timeout_ms. cb (may be NULL) runs once every
 * connection is closed; the server may be freed there. */
EM_API void em_http_server_shutdown(em_http_server *srv, void (*cb)(em_http_server *srv));
/** Open connections (upgraded ones not counted). */
EM_API unsigned em_http_server_connections(const em_http_server *srv);
/** The listening address (to learn the port after binding port 0). */
EM_API int em_http_server_addr(const em_http_server *srv, em_sockaddr *out);

/** Run opts->workers loops on as many threads, each with its own
 * SO_REUSEPORT listener on addr, until SIGINT or SIGTERM or
 * em_http_serve_stop() (then a graceful shutdown). Blocks. ready (may be
 * NULL) is called once every worker listens, with the bound address.
 * Returns 0 or em_err. */
EM_API int em_http_serve(const em_sockaddr *addr, const em_http_server_opts *opts,
                         void (*ready)(const em_sockaddr *bound, void *arg), void *arg);
/** Make the em_http_serve() that runs srv (any of its workers, e.g.
 * cx->server in a handler) shut down gracefully, as on SIGTERM. Safe from
 * any thread. */
EM_API void em_http_serve_stop(em_http_server *srv);

/* ---- connections ------------------------------------------------------- */

/** The user data of c (NULL until set). */
EM_API void *em_http_conn_data(const em_http_conn *c);
/** Set the user data of c (free it in on_conn_close). */
EM_API void em_http_conn_set_data(em_http_conn *c, void *data);
/** The client's address, saved at accept. */
EM_API const em_sockaddr *em_http_conn_peer(const em_http_conn *c);
/** Requests that reached a handler on c so far. */
EM_API uint32_t em_http_conn_requests(const em_http_conn *c);
/** The TCP connection under c, to attach a transport in on_conn_open or to
 * read transport details; its callbacks belong to the server. */
EM_API em_tcp_conn *em_http_conn_tcp(em_http_conn *c);
/** The loop cx's connection runs on (for timers of deferred answers).
 * Valid for as long as cx is, also for a cx held past the end of its
 * server (the call that then ends it returns EM_ECLOSED), unlike
 * cx->server. */
EM_API em_loop *em_http_ctx_loop(const em_http_ctx *cx);

/* ---- responses ---------------------------------------------------------- */

/** Add a response header for the response being built. Name must be a token
 * and value free of control bytes but HTAB (else EM_EINVAL). Content-Length and
 * Transfer-Encoding are EM_EINVAL too: ember frames every body itself.
 * A Connection field that lists "close" makes this response the
 * connection's last (RFC 9112 §9.6): it closes after it and reads no
 * further request. Copied. */
EM_API EM_NODISCARD int em_http_header_add(em_http_ctx *cx, em_slice name, em_slice value);
/** Answer with status, a Content-Type (empty: none) and body (copied, so it
 * may be freed on return; a large one is sent in pieces as the client
 * reads, whatever its size). Content-Length, Date, Server and Connection
 * are added. A HEAD request gets the same headers and no body. Returns 0
 * (cx ended), EM_EINVAL for a content type with a control byte (nothing
 * sent: answer again), EM_EALREADY if cx was answered, EM_ENOMEM, or
 * EM_ECLOSED if the client is gone (cx ended). */
EM_API int em_http_respond(em_http_ctx *cx, int status, em_slice content_type, em_slice body);
/** em_http_respond with text/plain and a NUL-terminated body. */
EM_API int em_http_respond_text(em_http_ctx *cx, int status, const char *text);

/** A response built once and reused as immutable bytes: the status line and
 * fixed headers, then the body. Sending it copies nothing but the Date
 * line and the Connection header (a large body goes out by reference). */
typedef struct em_http_prebuilt {
    char *_head; /**< status line and fixed headers, no final CRLF */
    size_t _head_len;
    em_slice _body;
    int _status;
} em_http_prebuilt;
/** Build; body is borrowed and must outlive p. Returns 0, EM_EINVAL (a
 * content type with a control byte) or EM_ENOMEM. */
EM_API EM_NODISCARD int em_http_prebuilt_init(em_http_prebuilt *p, int status,
                                              em_slice content_type, em_slice body);
/** Free what em_http_prebuilt_init() allocated, once no response in flight
 * uses p. Not the body: it is the caller's. */
EM_API void em_http_prebuilt_free(em_http_prebuilt *p);
/** Answer cx with p, as em_http_respond() (same returns). p and its body must
 * stay valid until the response has left: in practice, keep them for the
 * server's life. One p may serve many requests on many loops at once. */
EM_API int em_http_respond_prebuilt(em_http_ctx *cx, const em_http_prebuilt *p);

/** Take the response out of the handler: it returns without answering and
 * answers later, on the loop's thread (the ownership rule above). cbs (may
 * be NULL) must outlive cx. */
EM_API void em_http_defer(em_http_ctx *cx, const em_http_stream_cbs *cbs);

/* ---- streaming responses ------------------------------------------------ */

/** em_http_stream_start length for a body of unknown length. */
#define EM_HTTP_LENGTH_UNKNOWN (-1)
/** em_http_stream_write: accepted, but stop until on_unthrottled. */
#define EM_HTTP_FULL 1

/** Send the head of a streamed response and keep cx open for its body.
 * length >= 0: a Content-Length response (exactly length bytes must be
 * written); EM_HTTP_LENGTH_UNKNOWN: chunked, or for an HTTP/1.0 client a
 * body delimited by closing the connection (RFC 9112 §6.3), so the handler
 * needs no special case. Implies em_http_defer(cx, cbs). Returns 0,
 * EM_EINVAL (bad status, a 205 with a length but 0, or a bad content type:
 * nothing sent), EM_EALREADY, or EM_ECLOSED (cx ended). */
EM_API EM_NODISCARD int em_http_stream_start(em_http_ctx *cx, int status, em_slice content_type,
                                             int64_t length, const em_http_stream_cbs *cbs);
/** Send a piece of the body (empty data is skipped; data is copied only if
 * the kernel does not take it at once). *token (may be NULL) identifies it
 * for on_sent. Returns 0 (write more), EM_HTTP_FULL (taken, but the
 * client reads slowly: wait for on_unthrottled), EM_EINVAL (not streaming,
 * or past the announced length), EM_ENOBUFS (FULL was ignored until the
 * queue reached max_queue; nothing taken), or EM_ECLOSED (cx ended). */
EM_API EM_NODISCARD int em_http_stream_write(em_http_ctx *cx, em_slice data, uint64_t *token);
/** End the body. cx ends: do not touch it after. Returns 0, EM_ECLOSED,
 * EM_EINVAL (fewer bytes than the announced length were written: the
 * connection is closed, since the client cannot tell where the body
 * ends), or EM_ENOBUFS (writes ignored EM_HTTP_FULL until the queue was
 * full, leaving no room for the end of a chunked body: the connection is
 * closed). */
EM_API int em_http_stream_end(em_http_ctx *cx);

/* ---- streamed request bodies (em_http_server_opts.stream_bodies) ---------- */

/** em_http_body_cb status of the last piece. */
#define EM_HTTP_LAST 1

/** A piece of the request body (de-chunked), valid during the call.
 * status 0: more pieces follow. EM_HTTP_LAST: this is the last piece (it
 * may be empty); answer now or later. Negative: the body will never
 * complete (the client went away, a chunk was malformed, the body timed
 * out: the em_err says which); piece is empty, and cx ends when the
 * callback returns (the ownership rule, case 3). An answer that ends
 * before the last piece closes the connection once sent, the rest of the
 * body unread; a streamed answer may start any time. */
typedef void (*em_http_body_cb)(em_http_ctx *cx, em_slice piece, int status);
/** Start receiving the body of cx in pieces (implies em_http_defer). Only
 * with stream_bodies and a request that has a body (check cx->req.body !=
 * EM_HTTP_BODY_NONE). Returns 0, EM_EINVAL or EM_ECLOSED. */
EM_API EM_NODISCARD int em_http_body_read(em_http_ctx *cx, em_http_body_cb cb);
/** No more pieces, and the server stops reading from this client, until
 * em_http_body_resume (backpressure for a body forwarded to a slow sink). */
EM_API void em_http_body_pause(em_http_ctx *cx);
/** Pieces come again, from the loop (never inside this call). */
EM_API void em_http_body_resume(em_http_ctx *cx);

/* ---- routing and middleware ----------------------------------------------- */

/** Route method + pattern (see em_http_router_add for patterns) to fn on r;
 * serve r with em_http_server_opts.router. Returns what
 * em_http_router_add returns. */
EM_API EM_NODISCARD int em_http_route(em_http_router *r, em_http_method method,
                                      const char *pattern, em_http_fn fn);
/** The same with a handler (a middleware chain); h must outlive r. */
EM_API EM_NODISCARD int em_http_route_handler(em_http_router *r, em_http_method method,
                                              const char *pattern, const em_http_handler *h);
/** A handler that routes with r (whose targets are const em_http_handler *,
 * as em_http_route and em_http_route_handler add them): fills cx->route
 * and calls the route's handler; answers 404, or 405 with an Allow header;
 * OPTIONS * gets 200 with the methods some route takes in Allow (RFC 9110
 * §9.3.7). HEAD is served by GET routes. */
EM_API void em_http_router_handler(em_http_ctx *cx, const em_http_handler *h);
/** The handler struct for router r. */
static inline em_http_handler em_http_router_as_handler(const em_http_router *r) {
    em_http_handler h = { em_http_router_handler, NULL, (void *)r };
    return h;
}
/** A route parameter by name; empty slice if absent. */
EM_API em_slice em_http_param(const em_http_ctx *cx, const char *name);
/** The first request header named name (case-insensitive); empty if absent. */
EM_API em_slice em_http_request_header(const em_http_ctx *cx, const char *name);

#ifdef __cplusplus
}
#endif
#endif

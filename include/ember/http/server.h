/* ember http, part three: the server (handlers, responses, streaming,
 * the server itself). Included by "ember/http.h". */
#ifndef EMBER_HTTP_SERVER_H
#define EMBER_HTTP_SERVER_H

#include "ember/http/router.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* ---- server: handlers, responses, streaming, the server itself --------- */
/* ======================================================================== */
/*
 * A server runs on one loop (em_http_server_start) or on N loops, one per
 * core, each with its own SO_REUSEPORT listener (em_http_serve). Every
 * request reaches a handler with an em_http_ctx: the parsed request, the
 * whole body, route parameters and the application state. The handler
 * answers with em_http_respond*() before it returns (the common case), or
 * calls em_http_defer() and answers later from the same loop (the async
 * responder), or streams a chunked body with em_http_stream_*().
 *
 * Pipelined requests are parsed together and answered in order; responses
 * made during one read go out in one writev. While a response is deferred or
 * the client is not reading (the connection is throttled), the server stops
 * reading from that client.
 *
 * Some requests never reach a handler: those the parser refuses (400, 413,
 * 414, 431, 501, 505: em_http_status_for_error), an expectation other than
 * 100-continue (417), a transfer coding besides chunked ("gzip, chunked":
 * 501, since the server would hand over a still-coded body), and a path
 * with a "." or ".." segment (400, see allow_dot_segments). Each answer
 * closes the connection. The router handler adds 404, 405 with Allow, and
 * 501 for a method it does not know.
 */

typedef struct em_http_server em_http_server;
typedef struct em_http_ctx em_http_ctx;
typedef struct em_http_handler em_http_handler;
struct em__http_conn;
struct em__http_exchange;

/* A handler, or a middleware: h->next is the handler a middleware wraps
 * (call it with em_http_next()), h->data its own state. Handlers are
 * immutable and shared by every request and worker thread. */
typedef void (*em_http_handler_fn)(em_http_ctx *cx, const em_http_handler *h);
struct em_http_handler {
    em_http_handler_fn fn;
    const em_http_handler *next;
    void *data;
};

/* Call the handler a middleware wraps. */
static inline void em_http_next(em_http_ctx *cx, const em_http_handler *h) {
    h->next->fn(cx, h->next);
}

/* Streaming callbacks (em_http_stream_start), all optional. */
typedef struct em_http_stream_cbs {
    /* Every chunk with a token <= token has been taken by the kernel. */
    void (*on_sent)(em_http_ctx *cx, uint64_t token);
    /* The client reads slowly: queued output crossed the high watermark. */
    void (*on_throttled)(em_http_ctx *cx);
    /* Queued output fell back to the low watermark: write more. */
    void (*on_unthrottled)(em_http_ctx *cx);
    /* The connection died before the stream or deferred response ended
     * (client gone, write timeout, forced shutdown). cx stays valid until
     * this returns; do not touch it afterwards. */
    void (*on_abort)(em_http_ctx *cx, int err);
} em_http_stream_cbs;

/* One request. Its slices point into the connection's buffers and stay
 * valid until the response is complete (for a deferred or streamed
 * response: until em_http_respond*() or em_http_stream_end() returns). */
struct em_http_ctx {
    em_http_request req;        /* method, target, headers, version, flags */
    em_slice path;              /* target up to '?' (origin-form); raw, not decoded */
    em_slice query;             /* after '?', without it; empty if none */
    em_slice body;              /* the whole request body (de-chunked) */
    em_http_route_match route;  /* filled by em_http_router_handler */
    void *app;                  /* em_http_server_opts.app */
    void *user;                 /* free for handlers and middleware */
    em_http_server *server;
    /* private */
    struct em__http_conn *_conn;
    const em_http_stream_cbs *_scbs;
    unsigned _state;
    int _status;
    uint64_t _sent;             /* response body bytes, for the access log */
};

typedef struct em_http_server_opts {
    const em_http_handler *handler; /* required */
    void *app;                      /* passed to every handler as cx->app */
    em_http_limits limits;          /* zero fields: parser defaults */
    unsigned max_connections;       /* 0: 100000; beyond it: 503 + close */
    unsigned max_requests;          /* per connection; 0: unlimited */
    unsigned header_timeout_ms;     /* first byte to end of head (0: 10 s) */
    unsigned body_timeout_ms;       /* between body reads (0: 30 s) */
    unsigned idle_timeout_ms;       /* keep-alive idle (0: 60 s) */
    unsigned write_timeout_ms;      /* no write progress (0: 30 s) */
    unsigned shutdown_timeout_ms;   /* graceful shutdown deadline (0: 10 s) */
    bool reuseport;                 /* SO_REUSEPORT on the listener */
    int access_log_fd;              /* > 0: access log (common log format, UTC) written
                                       to this fd by a background thread, so a
                                       slow disk never blocks the loop; 0: off */
    bool stream_bodies;             /* call handlers once the head is complete and
                                       let them read bodies in pieces with
                                       em_http_body_read (default: bodies
                                       arrive whole in cx->body) */
    bool allow_dot_segments;        /* hand paths with "." or ".." segments (plain
                                       or %2e) to the handler; default: 400,
                                       since browsers and curl remove them
                                       before sending, and a "*rest" capture
                                       of "../../etc/passwd" is how file
                                       servers get broken into */
    unsigned workers;               /* em_http_serve only: loops (0: 1) */
    bool pin_workers;               /* em_http_serve only: pin to cores */
} em_http_server_opts;

/* A server on one loop. Complete so it can be embedded; fields private. */
struct em_http_server {
    void *data;
    em_tcp_server tcp;
    em_loop *_loop;
    em_http_server_opts _opts;
    em_timer _date_timer;
    em_timer _shutdown_timer;
    char _date[40];               /* "Date: ...GMT\r\n", refreshed per second */
    size_t _date_len;
    em_buf _out;                  /* responses of the burst being built */
    em_buf _aout;                 /* a deferred response being built */
    struct em__http_conn *_out_conn; /* whose burst _out holds */
    struct em__http_conn *_conns; /* every open connection */
    struct em__http_exchange *_free_ex; /* recycled request state */
    unsigned _nconns, _nalive, _nfree_ex; /* open, not yet freed, pooled */
    em_task _task;
    void (*_on_closed)(em_http_server *srv);
    struct em__http_log *_log;    /* access log, when on */
    uint64_t requests;            /* statistics */
    uint64_t rejected;            /* 503s from admission control */
    unsigned _flags;
};

/* Listen on addr and serve on loop. Returns 0 or em_err. opts is copied;
 * the handler it points to must outlive the server. */
EM_API EM_NODISCARD int em_http_server_start(em_loop *loop, em_http_server *srv,
                                             const em_sockaddr *addr,
                                             const em_http_server_opts *opts);
/* Graceful shutdown: stop accepting, close idle connections, let in-flight
 * requests finish (their responses carry Connection: close) and force-close
 * whatever is left after shutdown_timeout_ms. cb (may be NULL) runs once
 * every connection is closed; the server may be freed there. */
EM_API void em_http_server_shutdown(em_http_server *srv, void (*cb)(em_http_server *srv));
/* Open connections. */
EM_API unsigned em_http_server_connections(const em_http_server *srv);
/* The listening address (to learn the port after binding port 0). */
EM_API int em_http_server_addr(const em_http_server *srv, em_sockaddr *out);

/* Run opts->workers loops on as many threads, each with its own
 * SO_REUSEPORT listener on addr, until SIGINT or SIGTERM (then a graceful
 * shutdown) or em_http_serve_stop(). Blocks. ready (may be NULL) is called
 * once every worker listens, with the bound address. Returns 0 or em_err. */
EM_API int em_http_serve(const em_sockaddr *addr, const em_http_server_opts *opts,
                         void (*ready)(const em_sockaddr *bound, void *arg), void *arg);

/* ---- responses ---------------------------------------------------------- */

/* Add a response header for the response being built. Name must be a token
 * and value free of CR, LF and NUL (else EM_EINVAL). Copied. */
EM_API EM_NODISCARD int em_http_header_add(em_http_ctx *cx, em_slice name, em_slice value);
/* Answer with status, a Content-Type (empty: none) and body (copied, so it
 * may be freed on return). Content-Length, Date, Server and Connection are
 * added. A HEAD request gets the same headers and no body. Returns 0,
 * EM_EALREADY if cx was answered, or EM_ECLOSED if the client is gone (a
 * deferred cx is released either way). */
EM_API int em_http_respond(em_http_ctx *cx, int status, em_slice content_type, em_slice body);
/* em_http_respond with text/plain and a NUL-terminated body. */
EM_API int em_http_respond_text(em_http_ctx *cx, int status, const char *text);

/* A response built once and reused as immutable bytes: the status line and
 * fixed headers, then the body. Sending it copies nothing but the Date
 * line and the Connection header. */
typedef struct em_http_prebuilt {
    char *_head; /* status line and fixed headers, no final CRLF */
    size_t _head_len;
    em_slice _body;
    int _status;
} em_http_prebuilt;
/* Build; body is borrowed and must outlive p. Returns 0 or EM_ENOMEM. */
EM_API EM_NODISCARD int em_http_prebuilt_init(em_http_prebuilt *p, int status,
                                              em_slice content_type, em_slice body);
EM_API void em_http_prebuilt_free(em_http_prebuilt *p);
EM_API int em_http_respond_prebuilt(em_http_ctx *cx, const em_http_prebuilt *p);

/* Take the response out of the handler: it returns without answering and
 * calls em_http_respond*() or em_http_stream_*() later, on the loop's
 * thread. cbs (may be NULL) tells it if the client goes away first. */
EM_API void em_http_defer(em_http_ctx *cx, const em_http_stream_cbs *cbs);

/* ---- streaming responses (chunked) -------------------------------------- */

/* Send the head of a chunked response (status, Content-Type, headers added
 * so far) and keep cx open for chunks. Implies em_http_defer(cx, cbs).
 * Returns 0, EM_ENOTSUP for an HTTP/1.0 client (chunked is not available:
 * nothing was sent, answer with em_http_respond instead), EM_EALREADY, or
 * EM_ECLOSED. */
EM_API EM_NODISCARD int em_http_stream_start(em_http_ctx *cx, int status, em_slice content_type,
                                             const em_http_stream_cbs *cbs);
/* Send one chunk (empty data is skipped). data is copied only if the kernel
 * does not take it at once. *token (may be NULL) identifies it for
 * cbs->on_sent. Returns 0, EM_ENOBUFS when the connection's queue is full
 * (wait for on_unthrottled), or EM_ECLOSED. */
EM_API EM_NODISCARD int em_http_stream_write(em_http_ctx *cx, em_slice data, uint64_t *token);
/* End the stream (the last chunk). cx is released: do not touch it after. */
EM_API int em_http_stream_end(em_http_ctx *cx);
/* True while the stream's client reads slower than it is written. */
EM_API bool em_http_stream_throttled(const em_http_ctx *cx);

/* ---- streamed request bodies (em_http_server_opts.stream_bodies) ---------- */

/* A piece of the request body (de-chunked), valid during the call.
 * status 0: more pieces follow. EM_EOF: this is the last piece (it may be
 * empty); answer now or later. Any other (negative) status: the body will
 * never complete (the client went away, a chunk was malformed, the body
 * timed out); piece is empty, and cx is released when the callback
 * returns: do not touch it afterwards. An answer given before the last
 * piece closes the connection once sent, the rest of the body unread. */
typedef void (*em_http_body_cb)(em_http_ctx *cx, em_slice piece, int status);
/* Start receiving the body of cx in pieces (implies em_http_defer). While
 * the body arrives, a broken connection is reported through cb (not
 * on_abort). Only with stream_bodies and a request that has a body (check
 * cx->req.body != EM_HTTP_BODY_NONE). Returns 0 or EM_EINVAL. */
EM_API EM_NODISCARD int em_http_body_read(em_http_ctx *cx, em_http_body_cb cb);

/* ---- routing and middleware ----------------------------------------------- */

/* A handler that routes with r (whose targets are const em_http_handler *):
 * fills cx->route and calls the route's handler; answers 404, or 405 with an
 * Allow header. HEAD is served by GET routes. */
EM_API void em_http_router_handler(em_http_ctx *cx, const em_http_handler *h);
/* The handler struct for router r. */
static inline em_http_handler em_http_router_as_handler(const em_http_router *r) {
    em_http_handler h = { em_http_router_handler, NULL, (void *)r };
    return h;
}
/* A route parameter by name; empty slice if absent. */
EM_API em_slice em_http_param(const em_http_ctx *cx, const char *name);
/* The first request header named name (case-insensitive); empty if absent. */
EM_API em_slice em_http_request_header(const em_http_ctx *cx, const char *name);

#ifdef __cplusplus
}
#endif
#endif

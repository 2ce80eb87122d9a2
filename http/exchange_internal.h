/* The server side of the http module above the connection core: the
 * exchange (one request and its response, and the ownership rule), the
 * request pipeline, responses and streams, and the server. Not installed.
 *
 * Files, from the bottom up (each calls only files listed before it; the
 * access log, access_log_internal.h, sits below them all):
 *   exchange.c    the pool, enter/leave, ending, aborts, done
 *   request.c     head slices moved, target split, refusals
 *   respond.c     heads, em_http_respond*, bodies sent in pieces
 *   stream.c      em_http_defer, em_http_stream_*
 *   body_stream.c em_http_body_read/pause/resume
 *   upgrade.c     em_http_upgrade and upgraded connections
 *   pipeline.c    the connection's requests: parse, bodies, handler calls
 *   server.c      listening, admission, shutdown; serve.c its workers
 */
#ifndef EMBER_HTTP_EXCHANGE_INTERNAL_H
#define EMBER_HTTP_EXCHANGE_INTERNAL_H

#include "conn_internal.h"
#include "ember/http/upgrade.h"

/* Where an exchange stands. */
enum {
    EX_HEAD = 0,     /* reading the head */
    EX_BODY_LENGTH,  /* reading a Content-Length body (it stays in the input) */
    EX_BODY_CHUNKED, /* decoding a chunked body into ex->body */
    EX_READY,        /* complete: hand to the handler */
    EX_HANDLER,      /* the handler holds it (deferred or streaming) */
    EX_BODY_STREAM,  /* the handler holds it and reads the body in pieces */
    EX_SENDING       /* answered; a large body is still going out in pieces */
};

/* The handler holds cx (the ownership rule applies). */
#define EX_HELD(ex) ((ex)->stage == EX_HANDLER || (ex)->stage == EX_BODY_STREAM)

/* em__http_exchange.state bits. */
enum {
    CX_ANSWERED = 0x1,     /* a response (or stream head) has been sent */
    CX_DEFERRED = 0x2,     /* the handler may return without finishing */
    CX_STREAMING = 0x4,    /* a streamed body is open */
    CX_DONE = 0x8,         /* the response is complete */
    CX_GONE = 0x10,        /* the connection died while cx was held */
    CX_CLOSE = 0x20,       /* the response says Connection: close */
    CX_ENDED = 0x40,       /* over: freed once no frame holds it */
    CX_CHUNKED = 0x80,     /* streamed body framing: chunked */
    CX_TO_CLOSE = 0x100,   /* ... delimited by closing the connection */
    CX_WANT_DRAIN = 0x200, /* a write said EM_HTTP_FULL: call on_unthrottled */
    CX_BODY_PAUSED = 0x400,
    CX_IN_ABORT = 0x800, /* on_abort (or the failing body callback) runs */
    CX_ABORT_QUEUED = 0x1000,
    CX_FILTERED = 0x2000, /* ex->cbs is a response filter (below) */
    CX_OWN_CLOSE = 0x4000 /* the handler's own Connection field says close */
};

/* The state of one request, taken from a per-server pool when its first
 * byte arrives and returned when its response is complete, so an idle
 * keep-alive connection holds none of it. */
struct em__http_exchange {
    struct em__http_exchange *next_free;
    em_http_server *srv; /* NULL once detached from its connection */
    em_loop *loop;       /* the server's, kept: a held cx may outlive the server */
    em_http_parser parser;
    em_http_body_reader reader; /* the request body as it arrives */
    em_http_ctx cx;
    em_buf body; /* the de-chunked body */
    em_buf head; /* a copy of the head, when the input moves on under it */
    em_buf hold; /* the input the request sits in, while the handler holds it */
    em_buf hdrs; /* response header lines added by the handler */
    const em_http_stream_cbs *cbs;
    em_http_body_cb body_cb; /* stream_bodies: where the pieces go */
    uint64_t stream_left;    /* streamed response with a length: bytes to come */
    uint64_t sent;           /* response body bytes, for the access log */
    const char *out_ptr;     /* EX_SENDING: the body bytes still to queue */
    size_t out_len;
    char *out_owned;    /* ... and the copy they live in, if ours */
    uint64_t out_token; /* ... the token of the last piece queued */
    em_task abort_task; /* delivers on_abort from the loop */
    int abort_err;
    const char *base; /* address of the input when the head parsed */
    size_t head_len;  /* bytes of the head */
    size_t msg_len;   /* bytes of the request still in the input */
    size_t charged;   /* bytes counted in srv->_buffered */
    unsigned stage;
    unsigned state;
    unsigned depth; /* frames (user calls, callbacks) using it */
    int status;
    size_t max_headers;
    em_http_header headers[]; /* max_headers entries */
};

static inline struct em__http_exchange *em__http_ex(em_http_ctx *cx) {
    return EM_CONTAINER_OF(cx, struct em__http_exchange, cx);
}

/* A response filter (the gzip middleware, gzip_middleware.c). While
 * CX_FILTERED is set, ex->cbs points to one, whose cbs come first (the
 * server calls them as usual), and em_http_defer, em_http_respond*,
 * em_http_stream_*, em_http_body_read hand over to its functions, which
 * answer through the em__http_*_raw versions. exchange.c resets the bit
 * and ex->cbs with every exchange, so a filter never leaks into the next
 * request; the filter frees itself once cx ends (after the call that
 * ended it, or in its on_abort). */
typedef struct em__http_filter em__http_filter;
typedef struct em__http_filter_vt {
    void (*defer)(em__http_filter *f, em_http_ctx *cx, const em_http_stream_cbs *cbs);
    int (*respond)(em__http_filter *f, em_http_ctx *cx, int status, em_slice content_type,
                   em_slice body);
    int (*prebuilt)(em__http_filter *f, em_http_ctx *cx, const em_http_prebuilt *p);
    int (*stream_start)(em__http_filter *f, em_http_ctx *cx, int status, em_slice content_type,
                        int64_t length, const em_http_stream_cbs *cbs);
    int (*stream_write)(em__http_filter *f, em_http_ctx *cx, em_slice data, uint64_t *token);
    int (*stream_end)(em__http_filter *f, em_http_ctx *cx);
    int (*body_read)(em__http_filter *f, em_http_ctx *cx, em_http_body_cb cb);
} em__http_filter_vt;
struct em__http_filter {
    em_http_stream_cbs cbs; /* first: ex->cbs points here */
    const em__http_filter_vt *vt;
};

static inline em__http_filter *em__http_filter_of(const struct em__http_exchange *ex) {
    return (ex->state & CX_FILTERED) ? (em__http_filter *)(uintptr_t)ex->cbs : NULL;
}

/* Server flags. */
enum { SRV_RUNNING = 0x1, SRV_SHUTTING_DOWN = 0x2 };

/* ---- exchange.c ---- */
/* An exchange for c's next request, from the pool or new; NULL on ENOMEM. */
struct em__http_exchange *em__http_exchange_get(em_http_conn *c);
/* Free ex and everything it holds. */
void em__http_exchange_free(struct em__http_exchange *ex);
/* Free the server's pool. */
void em__http_exchange_pool_free(em_http_server *srv);
/* Count bytes of request body held for handlers. 0 or EM_ELIMIT (the
 * server-wide budget, opts.max_buffered, would be passed). */
int em__http_exchange_charge(struct em__http_exchange *ex, size_t n);
/* A frame starts using ex (a user call, or a callback into the user). */
static inline void em__http_enter(struct em__http_exchange *ex) {
    ex->depth++;
}
/* The frame is over. Returns true if ex was freed (or pooled). */
bool em__http_leave(struct em__http_exchange *ex);
/* Enter for a user call: 0, or EM_ECLOSED if the client is gone (the
 * ownership rule, case 2: ex ends; still call em__http_leave). */
int em__http_call_enter(struct em__http_exchange *ex);
/* Leave a user call with rc, turning it into EM_ECLOSED when the client
 * went away during it (and ending ex). */
int em__http_call_leave(struct em__http_exchange *ex, int rc);
/* ex is over for everyone: freed now, or when its last frame leaves. */
void em__http_exchange_end(struct em__http_exchange *ex);
/* The connection of ex is closing: detach ex; if the handler held it,
 * report the loss from the loop (on_abort or the body callback). */
void em__http_exchange_lost(struct em__http_exchange *ex, int err);
/* The response is complete: log, drop the request from the input, free
 * ex (or pool it) and let the connection go on with the next request. */
void em__http_exchange_done(struct em__http_exchange *ex);

/* ---- request.c ---- */
/* The head's bytes moved to base (the input grew, or the head was copied
 * out): move its slices with them. */
void em__http_request_rebase(struct em__http_exchange *ex, const char *base);
/* Split cx's target into path and query (RFC 9112 §3.2). */
void em__http_request_split_target(em_http_ctx *cx);
/* The status for a well-framed request the server answers itself, before
 * any handler, or 0. */
int em__http_request_refusal(const em_http_server *srv, const em_http_ctx *cx);

/* ---- respond.c ---- */
/* The first lines of every head: status line, Server, Date. */
int em__http_put_head_start(const em_http_server *srv, em_buf *b, int status);
/* Append the head of a response to cx to b: status line, Server, Date,
 * Content-Type, then Content-Length (length >= 0), chunked (-1), or
 * nothing (-2: delimited by close), Connection, the handler's headers,
 * CRLF. Returns 0 or em_err (EM_EINVAL for a bad content type). */
int em__http_put_head(struct em__http_exchange *ex, em_buf *b, int status, em_slice content_type,
                      int64_t length);
/* A short error response that closes the connection (parse errors,
 * timeouts, admission control), into c's burst. */
int em__http_write_error(em_http_conn *c, int status);
/* The bytes of a standalone 503 for connections refused at accept. */
em_slice em__http_overload_response(void);
/* EX_SENDING: queue more of the body while the client keeps up; done once
 * the last piece was sent. */
void em__http_send_more(struct em__http_exchange *ex);
/* Mark cx answered; send a deferred answer now; done unless a body is
 * still going out. */
int em__http_finish(struct em__http_exchange *ex, int rc);
/* em_http_respond and em_http_respond_prebuilt past any filter. */
int em__http_respond_raw(em_http_ctx *cx, int status, em_slice content_type, em_slice body);
int em__http_respond_prebuilt_raw(em_http_ctx *cx, const em_http_prebuilt *p);

/* ---- stream.c ---- */
/* em_http_defer and em_http_stream_* past any filter. */
void em__http_defer_raw(em_http_ctx *cx, const em_http_stream_cbs *cbs);
int em__http_stream_start_raw(em_http_ctx *cx, int status, em_slice content_type, int64_t length,
                              const em_http_stream_cbs *cbs);
int em__http_stream_write_raw(em_http_ctx *cx, em_slice data, uint64_t *token);
int em__http_stream_end_raw(em_http_ctx *cx);
/* End a streamed body that fell short of what its writer announced: the
 * connection closes (the client cannot tell where the body ends). Returns
 * EM_EINVAL, or EM_ECLOSED. cx ends. */
int em__http_stream_fail(em_http_ctx *cx);

/* ---- body_stream.c ---- */
/* em_http_body_read past any filter. */
int em__http_body_read_raw(em_http_ctx *cx, em_http_body_cb cb);
/* RFC 9110 §10.1.1: send "100 Continue" for ex's request if it expects
 * one, none went yet, and no answer has begun (a 100 after a final head
 * would be read as the body). */
void em__http_body_invite(struct em__http_exchange *ex);

/* ---- pipeline.c ---- */
/* The connection core's layer above, for server connections. */
extern const em__http_conn_up em__http_pipeline_up;
/* The cap of a connection's input for srv's settings. */
size_t em__http_read_max(const em_http_server *srv);
/* Serve the accepted fd (taken: closed on failure), or, with reject,
 * answer it 503 and close. */
void em__http_pipeline_accept(em_http_server *srv, int fd, const em_sockaddr *peer, bool reject);
/* Graceful shutdown of one connection: idle ones close now; one with a
 * request in flight answers it with Connection: close, then closes. */
void em__http_pipeline_shutdown(em_http_conn *c);

/* ---- server.c ---- */
/* Start srv listening on addr, or on the already bound listener l (taken
 * on success). */
int em__http_server_start(em_loop *loop, em_http_server *srv, const em_sockaddr *addr,
                          em_tcp_listener *l, const em_http_server_opts *opts);

/* ---- upgrade.c ---- */
/* Tell every upgraded connection the server is shutting down (now: the
 * deadline passed). */
void em__http_upgraded_shutdown(em_http_server *srv, bool now);

#endif

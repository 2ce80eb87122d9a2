/* Shared between the server files of the http module; not installed. */
#ifndef EMBER_HTTP_SERVER_INTERNAL_H
#define EMBER_HTTP_SERVER_INTERNAL_H

#include "ember/http.h"

/* Where an exchange (one request and its response) stands. */
enum {
    EX_HEAD = 0,     /* reading the head */
    EX_BODY_LENGTH,  /* reading a Content-Length body */
    EX_BODY_CHUNKED, /* decoding a chunked body */
    EX_READY,        /* complete: hand to the handler */
    EX_HANDLER,      /* the handler owns it (deferred or streaming) */
    EX_BODY_STREAM   /* the handler owns it and reads the body in pieces */
};

/* The handler has been called and the exchange is its until answered. */
#define EX_OWNED_BY_HANDLER(ex) ((ex)->stage >= EX_HANDLER)

/* em_http_ctx._state bits. */
enum {
    CX_ANSWERED = 0x1,  /* a response (or stream head) has been sent */
    CX_DEFERRED = 0x2,  /* the handler returned without finishing */
    CX_STREAMING = 0x4, /* a chunked stream is open */
    CX_DONE = 0x8,      /* finished: the response is complete */
    CX_ORPHAN = 0x10,   /* the connection died while the handler held cx */
    CX_CLOSE = 0x20     /* the response says Connection: close */
};

/* The state of one request, taken from a per-server pool when its first
 * byte arrives and returned when its response is complete, so an idle
 * keep-alive connection holds none of it. */
struct em__http_exchange {
    struct em__http_exchange *next_free;
    em_http_parser parser;
    em_http_chunked chunked;
    em_http_ctx cx;
    em_buf body;             /* the de-chunked body */
    em_buf head;             /* stream_bodies: a copy of the head, so the input can go */
    em_http_body_cb body_cb; /* stream_bodies: where the pieces go */
    uint64_t body_left;      /* stream_bodies, Content-Length: bytes to come */
    em_buf hdrs;             /* response header lines added by the handler */
    const char *base;        /* address of the connection's input when the head parsed */
    size_t head_len;         /* bytes of the head */
    size_t scan;             /* chunked: input bytes decoded so far (from the start) */
    size_t msg_len;          /* bytes of the whole request once complete */
    unsigned stage;
    size_t max_headers;
    em_http_header headers[]; /* max_headers entries */
};

/* Connection flags. */
enum {
    CONN_CLOSE_AFTER = 0x1, /* no more requests: half-close once flushed */
    CONN_PEER_EOF = 0x2,    /* the client half-closed */
    CONN_CLOSED = 0x4,      /* em_tcp_conn_close called */
    CONN_PAUSED = 0x8,      /* reading stopped (deferred or throttled) */
    CONN_IN_PROCESS = 0x10, /* process() is on the stack */
    CONN_RESUME_QUEUED = 0x20,
    CONN_SENT_100 = 0x40
};

/* Which timeout the connection's one timer stands for. */
enum { TMO_NONE = 0, TMO_IDLE, TMO_HEADER, TMO_BODY, TMO_WRITE, TMO_LINGER };

struct em__http_conn {
    em_tcp_conn tcp;
    em_timer timer;
    em_http_server *srv;
    struct em__http_conn *prev, *next; /* the server's list of connections */
    struct em__http_exchange *ex;      /* the request in progress, if any */
    em_task resume;                    /* process buffered requests later */
    uint32_t nrequests;
    uint16_t flags;
    uint8_t tmo;
};

/* Server flags. */
enum { SRV_RUNNING = 0x1, SRV_SHUTTING_DOWN = 0x2 };

/* ---- response.c ---- */
/* Refresh srv->_date from the wall clock. */
void em__http_date_update(em_http_server *srv);
/* Append a complete response head for cx to srv->_out (status line, Server,
 * Date, Content-Type, Content-Length or chunked, Connection, the handler's
 * headers, CRLF). length < 0: chunked. Returns 0 or em_err. */
int em__http_write_head(em_http_ctx *cx, int status, em_slice content_type, int64_t length);
/* Queue a short error response that closes the connection (parse errors,
 * timeouts, admission control). */
int em__http_write_error(struct em__http_conn *conn, int status);
/* The bytes of a standalone 503 for connections refused at accept. */
em_slice em__http_overload_response(void);

/* The buffer a response of cx is built in: the burst buffer for a handler
 * answering before it returns, the async one for a deferred answer. */
static inline em_buf *em__http_out(em_http_ctx *cx) {
    em_http_server *srv = cx->_conn->srv;
    return (cx->_state & CX_DEFERRED) ? &srv->_aout : &srv->_out;
}
/* 0 if cx may be answered; EM_EALREADY; EM_ECLOSED (an orphan, now freed). */
int em__http_answerable(em_http_ctx *cx);
/* Mark cx answered; a deferred one is sent and finished now. */
int em__http_finish(em_http_ctx *cx, int rc);

/* ---- server.c ---- */
/* Start srv listening on addr, or on the already bound listener l (taken
 * on success). */
int em__http_server_start(em_loop *loop, em_http_server *srv, const em_sockaddr *addr,
                          em_tcp_listener *l, const em_http_server_opts *opts);
/* The last connection of a shutting-down server was freed. */
void em__http_server_drained(em_http_server *srv);

/* ---- access_log.c ---- */
/* Start the writer thread for fd. Returns 0 or em_err. */
int em__http_log_open(em_http_server *srv, int fd);
/* Append the line for a finished request (conn still open). */
void em__http_log_request(struct em__http_conn *conn, const em_http_ctx *cx);
/* Hand what is buffered to the writer (once a second, and at close). */
void em__http_log_flush(em_http_server *srv);
/* Flush, stop and join the writer. */
void em__http_log_close(em_http_server *srv);

/* ---- server_request.c ---- */
/* An exchange for conn's next request, from the pool or new; NULL on ENOMEM. */
struct em__http_exchange *em__http_exchange_get(struct em__http_conn *conn);
/* Give ex back to the pool (or free it). */
void em__http_exchange_put(em_http_server *srv, struct em__http_exchange *ex);
/* Advance the request at the front of conn's input: parse, read the body,
 * call the handler. Returns true to go on with the next request. */
bool em__http_step(struct em__http_conn *conn);

/* ---- server_conn.c ---- */
/* Process conn's buffered requests from the loop (once, however often
 * asked before it runs), not from inside the caller's callback. */
void em__http_conn_resume_later(struct em__http_conn *conn);
/* Arm the connection's one timer as kind (TMO_*); TMO_NONE disarms. */
void em__http_conn_set_timeout(struct em__http_conn *conn, uint8_t kind);
/* Make srv->_out conn's burst buffer, flushing another connection's. */
void em__http_claim_out(struct em__http_conn *conn);
void em__http_conn_accept(em_http_server *srv, int fd);
/* Send what srv->_out holds on conn. Returns 0 or em_err. */
int em__http_conn_flush(struct em__http_conn *conn);
/* The handler finished cx (answered in full or stream ended). */
void em__http_exchange_done(em_http_ctx *cx);
/* Close now; a deferred handler's cx is orphaned (on_abort). */
void em__http_conn_close(struct em__http_conn *conn, int err);
/* Close idle connections, mark the others to close after their response. */
void em__http_conn_shutdown(struct em__http_conn *conn);
/* Release an exchange whose connection is gone. */
void em__http_exchange_free(struct em__http_exchange *ex);

#endif

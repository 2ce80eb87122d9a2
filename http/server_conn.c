/* One server connection: read, parse, dispatch, answer in order, time out.
 *
 * Requests are parsed straight out of the TCP connection's input buffer and
 * stay there (zero-copy) until their response is complete; pipelined ones
 * are handled in the same pass and their responses leave in one write.
 * While a handler holds a request (deferred or streaming) or the client
 * stops reading (throttled), the connection stops reading, so neither a
 * slow handler nor a slow client makes the server buffer without bound. */
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_internal.h"
#include "server_internal.h"

/* Recycled exchanges kept per server. */
#define POOL_MAX 64

static void on_read(em_tcp_conn *c, ssize_t n);
static void on_sent(em_tcp_conn *c, uint64_t token);
static void on_throttled(em_tcp_conn *c);
static void on_unthrottled(em_tcp_conn *c);
static void on_error(em_tcp_conn *c, int err);
static void on_timer(em_timer *t);
static void on_resume(em_task *t);
static void process(struct em__http_conn *conn);

static const em_tcp_conn_cbs conn_cbs = {
    .on_read = on_read,
    .on_sent = on_sent,
    .on_throttled = on_throttled,
    .on_unthrottled = on_unthrottled,
    .on_error = on_error,
};

static struct em__http_conn *conn_of(em_tcp_conn *c) {
    return EM_CONTAINER_OF(c, struct em__http_conn, tcp);
}

/* ---- timeouts -------------------------------------------------------------- */

static void set_timeout(struct em__http_conn *conn, uint8_t kind) {
    const em_http_server_opts *o = &conn->srv->_opts;
    unsigned ms = 0;
    switch (kind) {
    case TMO_IDLE:
        ms = o->idle_timeout_ms;
        break;
    case TMO_HEADER:
        if (conn->tmo == TMO_HEADER)
            return; /* a deadline from the first byte: slowloris gains nothing */
        ms = o->header_timeout_ms;
        break;
    case TMO_BODY:
        ms = o->body_timeout_ms;
        break;
    case TMO_WRITE:
    case TMO_LINGER:
        ms = o->write_timeout_ms;
        break;
    default:
        conn->tmo = TMO_NONE;
        em_timer_stop(&conn->timer);
        return;
    }
    conn->tmo = kind;
    em_timer_start(&conn->timer, ms, 0);
}

static void on_timer(em_timer *t) {
    struct em__http_conn *conn = t->data;
    uint8_t kind = conn->tmo;
    conn->tmo = TMO_NONE;
    struct em__http_exchange *ex = conn->ex;
    if ((kind == TMO_HEADER && ex && ex->stage == EX_HEAD) || kind == TMO_BODY) {
        /* RFC 9110 §15.5.9: tell the client why, then close. */
        em__http_write_error(conn, 408);
        em__http_conn_flush(conn);
        em_tcp_conn_shutdown(&conn->tcp);
        set_timeout(conn, TMO_LINGER);
        return;
    }
    em__http_conn_close(conn, EM_ETIMEDOUT);
}

/* ---- exchanges ------------------------------------------------------------ */

static struct em__http_exchange *ex_get(struct em__http_conn *conn) {
    em_http_server *srv = conn->srv;
    struct em__http_exchange *ex = srv->_free_ex;
    size_t max_headers = srv->_opts.limits.max_headers;
    if (ex) {
        srv->_free_ex = ex->next_free;
        srv->_nfree_ex--;
    } else {
        ex = malloc(sizeof *ex + max_headers * sizeof ex->headers[0]);
        if (!ex)
            return NULL;
        em_buf_init(&ex->body, (size_t)srv->_opts.limits.max_body);
        em_buf_init(&ex->hdrs, 64 * 1024);
        em_buf_init(&ex->head, 0);
        ex->max_headers = max_headers;
    }
    em_http_parser_init(&ex->parser, &srv->_opts.limits);
    memset(&ex->cx, 0, sizeof ex->cx);
    ex->cx.req.headers = ex->headers;
    ex->cx.req.max_headers = ex->max_headers;
    ex->cx.app = srv->_opts.app;
    ex->cx.server = srv;
    ex->cx._conn = conn;
    ex->base = NULL;
    ex->head_len = ex->scan = ex->msg_len = 0;
    ex->stage = EX_HEAD;
    em_buf_clear(&ex->body);
    em_buf_clear(&ex->hdrs);
    em_buf_clear(&ex->head);
    ex->body_cb = NULL;
    ex->body_left = 0;
    return ex;
}

void em__http_exchange_free(struct em__http_exchange *ex) {
    em_buf_free(&ex->body);
    em_buf_free(&ex->hdrs);
    em_buf_free(&ex->head);
    free(ex);
}

static void ex_put(em_http_server *srv, struct em__http_exchange *ex) {
    if (srv->_nfree_ex >= POOL_MAX || (srv->_flags & SRV_SHUTTING_DOWN)) {
        em__http_exchange_free(ex);
        return;
    }
    /* Do not let one big upload pin its buffer in the pool. */
    if (ex->body._cap > 64 * 1024)
        em_buf_free(&ex->body);
    ex->next_free = srv->_free_ex;
    srv->_free_ex = ex;
    srv->_nfree_ex++;
}

/* Move s from the old head at [from, from + len] to the same offset at to.
 * Slices outside it (the "/" an absolute-form target without a path gets)
 * stay put. */
static void shift(em_slice *s, uintptr_t from, size_t len, uintptr_t to) {
    uintptr_t p = (uintptr_t)s->ptr;
    if (s->len && p >= from && p - from <= len)
        s->ptr = (const char *)(to + (p - from));
}

/* The input buffer moved (it grew while a body arrived): move the head's
 * slices with it. */
static void rebase(struct em__http_exchange *ex, const char *base) {
    uintptr_t from = (uintptr_t)ex->base, to = (uintptr_t)base;
    size_t n = ex->head_len;
    em_http_request *r = &ex->cx.req;
    shift(&r->method, from, n, to);
    shift(&r->target, from, n, to);
    shift(&r->host, from, n, to);
    for (size_t i = 0; i < r->num_headers; i++) {
        shift(&r->headers[i].name, from, n, to);
        shift(&r->headers[i].value, from, n, to);
    }
    shift(&ex->cx.path, from, n, to);
    shift(&ex->cx.query, from, n, to);
    ex->base = base;
}

/* Split the target into path and query (RFC 9112 §3.2). */
static void split_target(em_http_ctx *cx) {
    em_slice t = cx->req.target;
    if (cx->req.target_form == EM_HTTP_TARGET_ABSOLUTE) {
        /* "scheme://authority/path?q": the path starts at the third '/'. */
        size_t i = 0, slashes = 0;
        while (i < t.len && slashes < 3) {
            if (t.ptr[i] == '/')
                slashes++;
            if (slashes < 3)
                i++;
        }
        t = i < t.len ? em_slice_sub(t, i, t.len - i) : EM_SLICE_LIT("/");
    }
    ssize_t q = em_slice_find_byte(t, '?');
    if (q >= 0) {
        cx->path = em_slice_sub(t, 0, (size_t)q);
        cx->query = em_slice_sub(t, (size_t)q + 1, t.len - (size_t)q - 1);
    } else {
        cx->path = t;
        cx->query = em_slice_make("", 0);
    }
}

/* ---- output ------------------------------------------------------------------ */

static int flush_buf(struct em__http_conn *conn, em_buf *b) {
    if (!em_buf_len(b) || (conn->flags & CONN_CLOSED)) {
        em_buf_clear(b);
        return conn->flags & CONN_CLOSED ? EM_ECLOSED : 0;
    }
    em_slice s = em_buf_slice(b);
    int rc = em_tcp_conn_write(&conn->tcp, &s, 1, EM_TCP_WRITE_COPY, NULL);
    em_buf_clear(b);
    if (rc < 0) {
        em__http_conn_close(conn, rc);
        return rc;
    }
    if (em_tcp_conn_queued(&conn->tcp) && conn->tmo != TMO_WRITE && conn->tmo != TMO_LINGER)
        set_timeout(conn, TMO_WRITE);
    return 0;
}

void em__http_claim_out(struct em__http_conn *conn) {
    em_http_server *srv = conn->srv;
    if (srv->_out_conn && srv->_out_conn != conn)
        em__http_conn_flush(srv->_out_conn);
    srv->_out_conn = conn;
}

int em__http_conn_flush(struct em__http_conn *conn) {
    em_http_server *srv = conn->srv;
    /* Earlier responses of this connection's burst go first. */
    if (srv->_out_conn == conn) {
        srv->_out_conn = NULL;
        int rc = flush_buf(conn, &srv->_out);
        if (rc)
            return rc;
    }
    return flush_buf(conn, &srv->_aout);
}

/* ---- lifecycle --------------------------------------------------------------- */

static void on_closed(em_tcp_conn *c) {
    struct em__http_conn *conn = conn_of(c);
    em_http_server *srv = conn->srv;
    free(conn);
    if (--srv->_nalive == 0 && (srv->_flags & SRV_SHUTTING_DOWN))
        em__http_server_drained(srv);
}

void em__http_conn_close(struct em__http_conn *conn, int err) {
    if (conn->flags & CONN_CLOSED)
        return;
    em_http_server *srv = conn->srv;
    conn->flags |= CONN_CLOSED;
    em_timer_stop(&conn->timer);
    if (srv->_out_conn == conn) {
        em_buf_clear(&srv->_out);
        srv->_out_conn = NULL;
    }
    struct em__http_exchange *ex = conn->ex;
    conn->ex = NULL;
    if (ex) {
        em_http_ctx *cx = &ex->cx;
        if (EX_OWNED_BY_HANDLER(ex) && (cx->_state & CX_DEFERRED) && !(cx->_state & CX_DONE)) {
            /* The handler still holds cx: it learns now, or when it answers. */
            cx->_state |= CX_ORPHAN;
            cx->_conn = NULL;
            int why = err && err != EM_EOF ? err : EM_ECLOSED;
            if (ex->stage == EX_BODY_STREAM && ex->body_cb) {
                /* Mid-body: the body callback is what the handler waits on. */
                ex->body_cb(cx, em_slice_make("", 0), why);
                em__http_exchange_free(ex);
            } else if (cx->_scbs && cx->_scbs->on_abort) {
                cx->_scbs->on_abort(cx, why);
                em__http_exchange_free(ex);
            }
        } else {
            ex_put(srv, ex);
        }
    }
    /* unlink */
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        srv->_conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    srv->_nconns--;
    /* A queued resume task runs before the deferred close callback (the
     * loop's tasks are FIFO), so freeing conn in on_closed is safe. */
    em_tcp_conn_close(&conn->tcp, on_closed);
}

void em__http_conn_accept(em_http_server *srv, int fd) {
    struct em__http_conn *conn = calloc(1, sizeof *conn);
    if (!conn) {
        close(fd);
        return;
    }
    const em_http_limits *l = &srv->_opts.limits;
    em_tcp_conn_opts o = {0};
    /* Room for the largest head plus the largest body: a request stays in
     * the buffer until answered. It only grows that far for big bodies. */
    o.read_max = l->max_start_line + l->max_header_bytes + (size_t)l->max_body + 4096;
    o.read_chunk = 16 * 1024;
    if (em_tcp_conn_init(srv->_loop, &conn->tcp, fd, &conn_cbs, &o) != 0) {
        close(fd);
        free(conn);
        return;
    }
    conn->srv = srv;
    em_timer_init(srv->_loop, &conn->timer, on_timer);
    conn->timer.data = conn;
    conn->resume.cb = on_resume;
    conn->next = srv->_conns;
    if (srv->_conns)
        srv->_conns->prev = conn;
    srv->_conns = conn;
    srv->_nconns++;
    srv->_nalive++;
    if (em_tcp_conn_read_start(&conn->tcp) != 0) {
        em__http_conn_close(conn, EM_EIO);
        return;
    }
    set_timeout(conn, TMO_HEADER);
}

/* Pause or resume reading as the connection's state asks. */
static void update_reading(struct em__http_conn *conn) {
    if (conn->flags & CONN_CLOSED)
        return;
    bool busy = (conn->ex && conn->ex->stage == EX_HANDLER) ||
                em_tcp_conn_throttled(&conn->tcp);
    if (busy && !(conn->flags & CONN_PAUSED)) {
        conn->flags |= CONN_PAUSED;
        em_tcp_conn_read_stop(&conn->tcp);
    } else if (!busy && (conn->flags & CONN_PAUSED)) {
        conn->flags &= ~CONN_PAUSED;
        if (!(conn->flags & CONN_PEER_EOF) && em_tcp_conn_read_start(&conn->tcp) != 0)
            em__http_conn_close(conn, EM_EIO);
    }
}

/* Nothing in flight and nothing buffered: free what an idle connection
 * does not need and wait for the next request. */
static void go_idle(struct em__http_conn *conn) {
    if (em_buf_len(&conn->tcp.in) == 0)
        em_buf_free(&conn->tcp.in);
    if (conn->flags & CONN_PEER_EOF) {
        if (!em_tcp_conn_queued(&conn->tcp))
            em__http_conn_close(conn, 0);
        else
            conn->flags |= CONN_CLOSE_AFTER;
        return;
    }
    if (!em_tcp_conn_queued(&conn->tcp))
        set_timeout(conn, TMO_IDLE);
}

/* The connection says no more requests: half-close once the queue drains
 * and wait for the client's FIN (so unread input cannot turn our close into
 * a reset that destroys the response), or the linger timeout. */
static void begin_close(struct em__http_conn *conn) {
    em_buf_clear(&conn->tcp.in);
    if ((conn->flags & CONN_PEER_EOF) && !em_tcp_conn_queued(&conn->tcp)) {
        em__http_conn_close(conn, 0);
        return;
    }
    (void)em_tcp_conn_shutdown(&conn->tcp);
    if (conn->tmo != TMO_WRITE)
        set_timeout(conn, TMO_LINGER);
    if (conn->flags & CONN_PAUSED) {
        conn->flags &= ~CONN_PAUSED;
        /* Reading on only to see the client's FIN; failing is harmless,
         * the linger timeout closes instead. */
        if (!(conn->flags & CONN_PEER_EOF) && em_tcp_conn_read_start(&conn->tcp) != 0)
            conn->flags |= CONN_PAUSED;
    }
}

void em__http_exchange_done(em_http_ctx *cx) {
    struct em__http_conn *conn = cx->_conn;
    struct em__http_exchange *ex = EM_CONTAINER_OF(cx, struct em__http_exchange, cx);
    if (!conn || conn->ex != ex)
        return;
    if (conn->srv->_log)
        em__http_log_request(conn, cx);
    em_buf_consume(&conn->tcp.in, ex->msg_len);
    if (cx->_state & CX_CLOSE)
        conn->flags |= CONN_CLOSE_AFTER;
    conn->ex = NULL;
    ex_put(conn->srv, ex);
    if (conn->flags & CONN_CLOSED)
        return;
    if (conn->flags & CONN_IN_PROCESS)
        return; /* process() is on the stack and carries on */
    /* Answered from outside the handler: pick up pipelined requests from
     * the loop, not from inside the caller's callback. */
    if (!(conn->flags & CONN_RESUME_QUEUED)) {
        conn->flags |= CONN_RESUME_QUEUED;
        conn->resume.data = conn;
        em_loop_defer(conn->srv->_loop, &conn->resume);
    }
}

static void on_resume(em_task *t) {
    struct em__http_conn *conn = EM_CONTAINER_OF(t, struct em__http_conn, resume);
    conn->flags &= ~CONN_RESUME_QUEUED;
    if (conn->flags & CONN_CLOSED)
        return;
    if (conn->flags & CONN_CLOSE_AFTER) {
        begin_close(conn);
        return;
    }
    update_reading(conn);
    process(conn);
}

/* ---- the request pipeline ----------------------------------------------------- */

/* Answer a request that cannot be parsed, and stop reading requests. */
static void fail(struct em__http_conn *conn, int err) {
    int status = em_http_status_for_error(err);
    em__http_write_error(conn, status ? status : 400);
}

static void run_handler(struct em__http_conn *conn, struct em__http_exchange *ex) {
    em_http_server *srv = conn->srv;
    em_http_ctx *cx = &ex->cx;
    if (ex->stage != EX_BODY_STREAM)
        ex->stage = EX_HANDLER;
    conn->nrequests++;
    srv->requests++;
    em__http_claim_out(conn);
    srv->_opts.handler->fn(cx, srv->_opts.handler);
    if (conn->flags & CONN_CLOSED)
        return;
    if (!(cx->_state & (CX_ANSWERED | CX_DEFERRED))) {
        /* A handler must answer or defer; a silent one is a server bug. */
        em_http_respond_text(cx, 500, "handler did not respond\n");
    }
    if ((cx->_state & CX_DONE) && !(cx->_state & CX_DEFERRED))
        em__http_exchange_done(cx);
}

/* stream_bodies: the head is complete and a body follows. Keep a copy of
 * the head (its slices must outlive the input they point into, which the
 * body pieces now flow through), then let the handler start. */
static bool start_body_stream(struct em__http_conn *conn, struct em__http_exchange *ex) {
    em_http_ctx *cx = &ex->cx;
    if (em_buf_append(&ex->head, em_buf_data(&conn->tcp.in), ex->head_len) != 0) {
        fail(conn, EM_ENOMEM);
        return false;
    }
    rebase(ex, em_buf_data(&ex->head));
    em_buf_consume(&conn->tcp.in, ex->head_len);
    ex->msg_len = 0; /* consumed as it arrives */
    if (cx->req.body == EM_HTTP_BODY_CHUNKED) {
        ex->chunked.trailers = NULL;
        ex->chunked.max_trailers = 0;
        em_http_chunked_init(&ex->chunked, &conn->srv->_opts.limits);
    } else {
        ex->body_left = cx->req.content_length;
    }
    if ((cx->req.flags & EM_HTTP_F_EXPECT_CONTINUE) && !(conn->flags & CONN_SENT_100)) {
        conn->flags |= CONN_SENT_100;
        em__http_claim_out(conn);
        if (em_buf_append(&conn->srv->_out, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0)
            em__http_conn_flush(conn);
    }
    set_timeout(conn, TMO_BODY);
    ex->stage = EX_BODY_STREAM;
    run_handler(conn, ex);
    if (conn->flags & CONN_CLOSED)
        return false;
    /* Answered already (the body is then never read: the connection
     * closes), or on to deliver_body with what is buffered. */
    return true;
}

int em_http_body_read(em_http_ctx *cx, em_http_body_cb cb) {
    struct em__http_exchange *ex = EM_CONTAINER_OF(cx, struct em__http_exchange, cx);
    struct em__http_conn *conn = cx->_conn;
    if (!cb || !conn || ex->stage != EX_BODY_STREAM || ex->body_cb)
        return EM_EINVAL;
    ex->body_cb = cb;
    cx->_state |= CX_DEFERRED;
    /* Inside the handler, process() goes on to deliver_body; later, the
     * loop does. */
    if (!(conn->flags & (CONN_IN_PROCESS | CONN_RESUME_QUEUED))) {
        conn->flags |= CONN_RESUME_QUEUED;
        em_loop_defer(conn->srv->_loop, &conn->resume);
    }
    return 0;
}

/* Hand buffered body bytes to the handler's body callback. */
static bool deliver_body(struct em__http_conn *conn, struct em__http_exchange *ex) {
    em_http_ctx *cx = &ex->cx;
    if (!ex->body_cb)
        return false; /* em_http_body_read() resumes us */
    for (;;) {
        const char *data = em_buf_data(&conn->tcp.in);
        size_t len = em_buf_len(&conn->tcp.in);
        em_slice piece = em_slice_make(data, 0);
        bool last;
        if (cx->req.body == EM_HTTP_BODY_CHUNKED) {
            ssize_t r = len ? em_http_chunked_decode(&ex->chunked, data, len, &piece) : EM_EAGAIN;
            if (r == EM_EAGAIN)
                break;
            if (r < 0) {
                em__http_conn_close(conn, (int)r);
                return false;
            }
            em_buf_consume(&conn->tcp.in, (size_t)r);
            last = em_http_chunked_done(&ex->chunked);
        } else {
            size_t n = len < ex->body_left ? len : (size_t)ex->body_left;
            if (!n && ex->body_left)
                break;
            piece.len = n;
            ex->body_left -= n;
            em_buf_consume(&conn->tcp.in, n);
            last = ex->body_left == 0;
        }
        if (last) {
            ex->stage = EX_HANDLER; /* the body is all read: reading pauses */
            set_timeout(conn, TMO_NONE);
        }
        /* piece points into input that was consumed but not yet reused. */
        if (piece.len || last)
            ex->body_cb(cx, piece, last ? EM_EOF : 0);
        if ((conn->flags & CONN_CLOSED) || conn->ex != ex)
            return !(conn->flags & CONN_CLOSED) && !conn->ex;
        if (last)
            return false;
    }
    set_timeout(conn, TMO_BODY);
    return false;
}

/* Advance the exchange at the front of the input. Returns true to go on
 * with the next request, false to wait for more bytes or an answer. */
static bool step(struct em__http_conn *conn) {
    em_http_server *srv = conn->srv;
    struct em__http_exchange *ex = conn->ex;
    const char *data = em_buf_data(&conn->tcp.in);
    size_t len = em_buf_len(&conn->tcp.in);
    if (!ex) {
        if (!len)
            return false;
        if (!(ex = conn->ex = ex_get(conn))) {
            fail(conn, EM_ENOMEM);
            return false;
        }
        set_timeout(conn, TMO_HEADER);
    }
    if (ex->stage >= EX_BODY_LENGTH && ex->stage <= EX_READY && ex->base != data)
        rebase(ex, data);
    em_http_ctx *cx = &ex->cx;
    switch (ex->stage) {
    case EX_HEAD: {
        ssize_t r = em_http_parse_request(&ex->parser, data, len, &cx->req);
        if (r == EM_EAGAIN)
            return false;
        if (r < 0) {
            fail(conn, (int)r);
            return false;
        }
        ex->base = data;
        ex->head_len = (size_t)r;
        split_target(cx);
        if (cx->req.flags & EM_HTTP_F_EXPECT_OTHER) {
            fail(conn, EM_EPARSE); /* 417 would be kinder; 400 is safe */
            return false;
        }
        if (cx->req.body == EM_HTTP_BODY_NONE) {
            ex->msg_len = ex->head_len;
            ex->stage = EX_READY;
        } else if (srv->_opts.stream_bodies) {
            return start_body_stream(conn, ex);
        } else {
            if (cx->req.body == EM_HTTP_BODY_CHUNKED) {
                ex->chunked.trailers = NULL;
                ex->chunked.max_trailers = 0;
                em_http_chunked_init(&ex->chunked, &srv->_opts.limits);
                ex->scan = ex->head_len;
                ex->stage = EX_BODY_CHUNKED;
            } else {
                ex->stage = EX_BODY_LENGTH;
            }
            set_timeout(conn, TMO_BODY);
            /* RFC 9110 §10.1.1: invite the body only once we know we want it
             * (the length was checked against the limit while parsing). */
            if ((cx->req.flags & EM_HTTP_F_EXPECT_CONTINUE) && !(conn->flags & CONN_SENT_100) &&
                !(ex->stage == EX_BODY_LENGTH && len - ex->head_len >= cx->req.content_length)) {
                conn->flags |= CONN_SENT_100;
                em_buf *b = &srv->_out;
                em__http_claim_out(conn);
                if (em_buf_append(b, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0)
                    em__http_conn_flush(conn);
            }
        }
        return true;
    }
    case EX_BODY_LENGTH:
        if (len - ex->head_len < cx->req.content_length) {
            set_timeout(conn, TMO_BODY);
            return false;
        }
        ex->msg_len = ex->head_len + (size_t)cx->req.content_length;
        cx->body = em_slice_make(data + ex->head_len, (size_t)cx->req.content_length);
        ex->stage = EX_READY;
        return true;
    case EX_BODY_CHUNKED:
        while (!em_http_chunked_done(&ex->chunked)) {
            em_slice piece;
            ssize_t r = em_http_chunked_decode(&ex->chunked, data + ex->scan, len - ex->scan, &piece);
            if (r == EM_EAGAIN) {
                set_timeout(conn, TMO_BODY);
                return false;
            }
            if (r < 0) {
                fail(conn, (int)r);
                return false;
            }
            if (piece.len && em_buf_append(&ex->body, piece.ptr, piece.len) != 0) {
                fail(conn, EM_EBODYTOOLARGE);
                return false;
            }
            ex->scan += (size_t)r;
        }
        ex->msg_len = ex->scan;
        cx->body = em_buf_slice(&ex->body);
        ex->stage = EX_READY;
        return true;
    case EX_READY:
        conn->flags &= ~CONN_SENT_100;
        set_timeout(conn, TMO_NONE);
        run_handler(conn, ex);
        return !(conn->flags & CONN_CLOSED) && !conn->ex;
    case EX_BODY_STREAM:
        return deliver_body(conn, ex);
    default:
        return false; /* EX_HANDLER: wait for the handler */
    }
}

static void process(struct em__http_conn *conn) {
    em_http_server *srv = conn->srv;
    conn->flags |= CONN_IN_PROCESS;
    while (!(conn->flags & (CONN_CLOSED | CONN_CLOSE_AFTER)) && step(conn)) {
        /* A burst's responses leave together, but not without bound. */
        if (em_buf_len(&srv->_out) > 256 * 1024 && srv->_out_conn == conn)
            em__http_conn_flush(conn);
        if (em_tcp_conn_throttled(&conn->tcp))
            break;
    }
    conn->flags &= ~CONN_IN_PROCESS;
    if (srv->_out_conn == conn)
        em__http_conn_flush(conn);
    if (conn->flags & CONN_CLOSED)
        return;
    if (conn->flags & CONN_CLOSE_AFTER) {
        if (!conn->ex || !EX_OWNED_BY_HANDLER(conn->ex))
            begin_close(conn);
        return;
    }
    update_reading(conn);
    if (!conn->ex)
        go_idle(conn);
}

/* ---- TCP callbacks ---------------------------------------------------------- */

static void on_read(em_tcp_conn *c, ssize_t n) {
    struct em__http_conn *conn = conn_of(c);
    if (n > 0) {
        if (conn->flags & CONN_CLOSE_AFTER) {
            em_buf_clear(&c->in); /* no more requests: discard */
            return;
        }
        process(conn);
        return;
    }
    if (n != EM_EOF) {
        em__http_conn_close(conn, (int)n);
        return;
    }
    conn->flags |= CONN_PEER_EOF;
    struct em__http_exchange *ex = conn->ex;
    if (ex && ex->stage == EX_BODY_STREAM) {
        em__http_conn_close(conn, EM_EUNEXPECTEDEOF); /* the body was cut short */
        return;
    }
    if (ex && ex->stage == EX_HANDLER) {
        conn->flags |= CONN_CLOSE_AFTER; /* answer, then close */
        return;
    }
    if (!ex && em_tcp_conn_queued(c)) {
        conn->flags |= CONN_CLOSE_AFTER; /* on_sent closes once drained */
        return;
    }
    /* Nothing left to send, or a request cut short: the client is gone. */
    em__http_conn_close(conn, 0);
}

static void on_sent(em_tcp_conn *c, uint64_t token) {
    struct em__http_conn *conn = conn_of(c);
    struct em__http_exchange *ex = conn->ex;
    if (ex && EX_OWNED_BY_HANDLER(ex) && ex->cx._scbs && ex->cx._scbs->on_sent)
        ex->cx._scbs->on_sent(&ex->cx, token);
    if (conn->flags & CONN_CLOSED)
        return;
    if (em_tcp_conn_queued(c)) {
        if (conn->tmo == TMO_WRITE)
            set_timeout(conn, TMO_WRITE); /* progress: re-arm */
        return;
    }
    if (conn->flags & CONN_CLOSE_AFTER) {
        if (conn->flags & CONN_PEER_EOF)
            em__http_conn_close(conn, 0);
        return;
    }
    if (conn->tmo == TMO_WRITE) {
        if (!conn->ex)
            set_timeout(conn, TMO_IDLE);
        else
            set_timeout(conn, TMO_NONE);
    }
}

static void on_throttled(em_tcp_conn *c) {
    struct em__http_conn *conn = conn_of(c);
    struct em__http_exchange *ex = conn->ex;
    if (ex && EX_OWNED_BY_HANDLER(ex) && ex->cx._scbs && ex->cx._scbs->on_throttled)
        ex->cx._scbs->on_throttled(&ex->cx);
}

static void on_unthrottled(em_tcp_conn *c) {
    struct em__http_conn *conn = conn_of(c);
    struct em__http_exchange *ex = conn->ex;
    if (ex && EX_OWNED_BY_HANDLER(ex) && ex->cx._scbs && ex->cx._scbs->on_unthrottled) {
        ex->cx._scbs->on_unthrottled(&ex->cx);
        return;
    }
    if ((conn->flags & (CONN_CLOSED | CONN_CLOSE_AFTER | CONN_IN_PROCESS)) == 0 &&
        !(conn->flags & CONN_RESUME_QUEUED)) {
        conn->flags |= CONN_RESUME_QUEUED;
        em_loop_defer(conn->srv->_loop, &conn->resume);
    }
}

static void on_error(em_tcp_conn *c, int err) { em__http_conn_close(conn_of(c), err); }

void em__http_conn_shutdown(struct em__http_conn *conn) {
    if (conn->flags & CONN_CLOSED)
        return;
    if (!conn->ex && !em_tcp_conn_queued(&conn->tcp)) {
        em__http_conn_close(conn, 0);
        return;
    }
    /* In flight: its response says Connection: close (will_close checks
     * the server flag), then the connection half-closes. */
    if (!conn->ex)
        conn->flags |= CONN_CLOSE_AFTER;
}

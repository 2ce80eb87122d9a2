/* The request side of a server connection: taking an exchange from the
 * pool, parsing the head, reading the body (whole or in pieces), and
 * calling the handler. server_conn.c owns the connection around it. */
#include <stdlib.h>

#include "http_internal.h"
#include "server_internal.h"

/* Recycled exchanges kept per server. */
#define POOL_MAX 64

/* ---- exchanges ------------------------------------------------------------ */

struct em__http_exchange *em__http_exchange_get(struct em__http_conn *conn) {
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

void em__http_exchange_put(em_http_server *srv, struct em__http_exchange *ex) {
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

/* ---- the request pipeline ----------------------------------------------------- */

/* The status for a well-framed request the server answers itself, before
 * any handler, or 0. Its body is never read, so the connection closes after
 * the answer, as after a bad request line. */
static int refusal(const em_http_server *srv, const em_http_ctx *cx) {
    /* No guessing what "/a/../b" means to the handler. */
    if (!srv->_opts.allow_dot_segments && em_http_path_has_dot_segment(cx->path))
        return 400;
    /* "gzip, chunked": the server only removes chunked, and handing a
     * handler a body still coded would be lying about it (RFC 9112 §6.1). */
    if (cx->req.flags & EM_HTTP_F_TE_CODED)
        return 501;
    /* RFC 9110 §10.1.1: an expectation we cannot meet. */
    if (cx->req.flags & EM_HTTP_F_EXPECT_OTHER)
        return 417;
    return 0;
}

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

/* RFC 9110 §10.1.1: invite the body, once per request. */
static void send_continue(struct em__http_conn *conn) {
    if (conn->flags & CONN_SENT_100)
        return;
    conn->flags |= CONN_SENT_100;
    em__http_claim_out(conn);
    if (em_buf_append(&conn->srv->_out, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0)
        em__http_conn_flush(conn);
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
    if (cx->req.flags & EM_HTTP_F_EXPECT_CONTINUE)
        send_continue(conn);
    em__http_conn_set_timeout(conn, TMO_BODY);
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
    if (!(conn->flags & CONN_IN_PROCESS))
        em__http_conn_resume_later(conn);
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
            em__http_conn_set_timeout(conn, TMO_NONE);
        }
        /* piece points into input that was consumed but not yet reused. */
        if (piece.len || last)
            ex->body_cb(cx, piece, last ? EM_EOF : 0);
        if ((conn->flags & CONN_CLOSED) || conn->ex != ex)
            return !(conn->flags & CONN_CLOSED) && !conn->ex;
        if (last)
            return false;
    }
    em__http_conn_set_timeout(conn, TMO_BODY);
    return false;
}

/* Advance the exchange at the front of the input. Returns true to go on
 * with the next request, false to wait for more bytes or an answer. */
bool em__http_step(struct em__http_conn *conn) {
    em_http_server *srv = conn->srv;
    struct em__http_exchange *ex = conn->ex;
    const char *data = em_buf_data(&conn->tcp.in);
    size_t len = em_buf_len(&conn->tcp.in);
    if (!ex) {
        if (!len)
            return false;
        if (!(ex = conn->ex = em__http_exchange_get(conn))) {
            fail(conn, EM_ENOMEM);
            return false;
        }
        em__http_conn_set_timeout(conn, TMO_HEADER);
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
        int refused = refusal(srv, cx);
        if (refused) {
            em__http_write_error(conn, refused);
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
            em__http_conn_set_timeout(conn, TMO_BODY);
            /* RFC 9110 §10.1.1: invite the body only once we know we want it
             * (the length was checked against the limit while parsing). */
            if ((cx->req.flags & EM_HTTP_F_EXPECT_CONTINUE) &&
                !(ex->stage == EX_BODY_LENGTH && len - ex->head_len >= cx->req.content_length))
                send_continue(conn);
        }
        return true;
    }
    case EX_BODY_LENGTH:
        if (len - ex->head_len < cx->req.content_length) {
            em__http_conn_set_timeout(conn, TMO_BODY);
            return false;
        }
        ex->msg_len = ex->head_len + (size_t)cx->req.content_length;
        cx->body = em_slice_make(data + ex->head_len, (size_t)cx->req.content_length);
        ex->stage = EX_READY;
        return true;
    case EX_BODY_CHUNKED:
        while (!em_http_chunked_done(&ex->chunked)) {
            em_slice piece;
            ssize_t r =
                em_http_chunked_decode(&ex->chunked, data + ex->scan, len - ex->scan, &piece);
            if (r == EM_EAGAIN) {
                em__http_conn_set_timeout(conn, TMO_BODY);
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
        em__http_conn_set_timeout(conn, TMO_NONE);
        run_handler(conn, ex);
        return !(conn->flags & CONN_CLOSED) && !conn->ex;
    case EX_BODY_STREAM:
        return deliver_body(conn, ex);
    default:
        return false; /* EX_HANDLER: wait for the handler */
    }
}

/* The requests of one server connection: parse each head, read its body
 * (whole, or in pieces for the handler), call the handler, answer in
 * order, time out. This file is the connection core's layer above
 * (em__http_conn_up): the core calls it, it never calls back into the
 * server.
 *
 * Requests are parsed straight out of the connection's input and stay
 * there (zero-copy) until their response is complete; pipelined ones are
 * handled in the same pass and their responses leave in one write. A
 * request the handler holds keeps its own input (so reading can go on
 * underneath, to notice a client that leaves); a chunked body is decoded
 * as it arrives, its raw bytes dropped at once. */
#include <stdlib.h>
#include <unistd.h>

#include "exchange_internal.h"

/* While a handler holds a request, read at most this far ahead. */
#define READ_AHEAD (64 * 1024)
/* A burst's responses leave together, but not without bound. */
#define BURST_FLUSH (256 * 1024)

static void process(em_http_conn *c);

/* The cap of a connection's input: the largest head plus, for a body kept
 * in the input, the largest body the budget allows. */
size_t em__http_read_max(const em_http_server *srv) {
    const em_http_limits *l = &srv->_opts.limits;
    size_t head = em__http_add_sat(l->max_start_line, l->max_header_bytes);
    uint64_t body = srv->_opts.stream_bodies ? 256 * 1024 : l->max_body;
    if (body > srv->_opts.max_buffered)
        body = srv->_opts.max_buffered;
    return em__http_add_sat(em__http_add_sat(head, body > SIZE_MAX ? SIZE_MAX : (size_t)body),
                            4096);
}

/* ---- reading policy --------------------------------------------------------- */

static void update_reading(em_http_conn *c) {
    struct em__http_exchange *ex = c->ex;
    bool on = !em_tcp_conn_throttled(&c->tcp);
    if (on && ex) {
        switch (ex->stage) {
        case EX_HANDLER: /* watch for the client leaving, its request kept aside */
            on = (em_buf_cap(&ex->hold) || !ex->msg_len) && em_buf_len(&c->tcp.in) < READ_AHEAD;
            break;
        case EX_BODY_STREAM:
            on = !(ex->state & CX_BODY_PAUSED);
            break;
        case EX_SENDING:
        case EX_READY:
            on = false;
            break;
        default:
            break;
        }
    } else if (on && (c->flags & CONN_CLOSE_AFTER)) {
        on = false;
    }
    em__http_conn_reading(c, on);
}

/* Nothing in flight and nothing buffered: free what an idle connection
 * does not need and wait for the next request. */
static void go_idle(em_http_conn *c) {
    if (em_buf_len(&c->tcp.in) == 0)
        em_buf_free(&c->tcp.in);
    if (c->flags & CONN_PEER_EOF) {
        if (!em__http_conn_queued(c))
            em__http_conn_close(c, 0);
        else
            em__http_conn_linger(c);
        return;
    }
    if (!em__http_conn_queued(c))
        em__http_conn_set_timeout(c, TMO_IDLE);
}

/* Copy the head out of the input, so the input can move on. */
static int copy_head(em_http_conn *c, struct em__http_exchange *ex) {
    int rc = em_buf_append(&ex->head, em_buf_data(&c->tcp.in), ex->head_len);
    if (rc)
        return rc;
    em__http_request_rebase(ex, em_buf_data(&ex->head));
    em_buf_consume(&c->tcp.in, ex->head_len);
    ex->msg_len = 0;
    return 0;
}

/* Answer a request that cannot be served, and stop reading requests. */
static void fail(em_http_conn *c, int err) {
    int status = err == EM_ELIMIT ? 503 : em_http_status_for_error(err);
    (void)em__http_write_error(c, status ? status : 400);
}

/* The handler holds the request: give it the input its slices point into
 * and let the connection read on into a fresh one. */
static void keep_input(em_http_conn *c, struct em__http_exchange *ex) {
    em_buf rest;
    em_buf_init(&rest, em__http_read_max(c->owner));
    size_t len = em_buf_len(&c->tcp.in);
    if (len > ex->msg_len &&
        em_buf_append(&rest, em_buf_data(&c->tcp.in) + ex->msg_len, len - ex->msg_len) != 0) {
        em_buf_free(&rest);
        return; /* it stays in place, and reading stays off */
    }
    ex->hold = c->tcp.in;
    c->tcp.in = rest;
}

/* ---- handlers -------------------------------------------------------------------- */

/* Call the handler. Returns true to go on with the connection's input. */
static bool run_handler(em_http_conn *c, struct em__http_exchange *ex) {
    em_http_server *srv = c->owner;
    em_http_ctx *cx = &ex->cx;
    if (ex->stage != EX_BODY_STREAM)
        ex->stage = EX_HANDLER;
    c->nrequests++;
    srv->requests++;
    (void)em__http_conn_burst(c);
    em__http_enter(ex);
    srv->_opts.handler->fn(cx, srv->_opts.handler);
    if (!(ex->state & (CX_ANSWERED | CX_DEFERRED | CX_ENDED | CX_GONE)))
        em_http_respond_text(cx, 500, "handler did not respond\n"); /* a server bug */
    bool mine = c->ex == ex;
    bool freed = em__http_leave(ex);
    if (c->flags & CONN_CLOSED)
        return false;
    if (!mine)
        return true; /* answered: on to the next request */
    if (freed)
        return false;
    if (ex->stage == EX_HANDLER && ex->msg_len && !em_buf_cap(&ex->hold))
        keep_input(c, ex);
    /* A streamed body goes on to deliver_body with what is buffered. */
    return ex->stage == EX_BODY_STREAM;
}

/* stream_bodies: the head is complete and a body follows. Keep a copy of
 * the head (the body pieces flow through the input), then let the
 * handler start. */
static bool start_body_stream(em_http_conn *c, struct em__http_exchange *ex) {
    em_http_ctx *cx = &ex->cx;
    if (copy_head(c, ex) != 0) {
        fail(c, EM_ENOMEM);
        return false;
    }
    em_http_body_reader_init(&ex->reader, cx->req.body, cx->req.content_length,
                             &((em_http_server *)c->owner)->_opts.limits);
    em__http_conn_set_timeout(c, TMO_BODY);
    ex->stage = EX_BODY_STREAM;
    return run_handler(c, ex);
}

/* The streamed body is malformed, too big or stalled. While the handler
 * has not answered, the client gets the status a whole body would have got
 * (400, 413, 408) before the close, and the handler hears the error as when the
 * connection dies; once it answered, closing is all that is left. */
static void body_failed(em_http_conn *c, struct em__http_exchange *ex, int err) {
    int status = err == EM_ETIMEDOUT ? 408 : em_http_status_for_error(err);
    if (!(ex->state & CX_ANSWERED) && status >= 400 && status < 500) {
        em__http_exchange_lost(ex, err);
        if (em__http_write_error(c, status) == 0 && em__http_conn_flush(c) == 0) {
            em__http_conn_linger(c);
            return;
        }
    }
    em__http_conn_close(c, err);
}

/* Hand buffered body bytes to the handler's body callback. */
static bool deliver_body(em_http_conn *c, struct em__http_exchange *ex) {
    em_http_ctx *cx = &ex->cx;
    if (!ex->body_cb || (ex->state & CX_BODY_PAUSED))
        return false; /* em_http_body_read/resume picks it up */
    for (;;) {
        const char *data = em_buf_data(&c->tcp.in);
        size_t len = em_buf_len(&c->tcp.in);
        em_slice piece;
        ssize_t r = em_http_body_reader_read(&ex->reader, data, len, &piece);
        if (r == EM_EAGAIN)
            break;
        if (r < 0) {
            body_failed(c, ex, (int)r);
            return false;
        }
        em_buf_consume(&c->tcp.in, (size_t)r);
        bool last = em_http_body_reader_done(&ex->reader);
        if (last) {
            ex->stage = EX_HANDLER; /* the body is all read */
            em__http_conn_set_timeout(c, TMO_NONE);
        }
        /* piece points into input that was consumed but not yet reused. */
        if (piece.len || last) {
            em__http_enter(ex);
            ex->body_cb(cx, piece, last ? EM_HTTP_LAST : 0);
            bool mine = c->ex == ex;
            if (em__http_leave(ex) || (c->flags & CONN_CLOSED) || !mine)
                return !(c->flags & CONN_CLOSED) && !c->ex;
            /* Answered with a body that goes out in pieces (EX_SENDING):
             * cx ended, so no more pieces, and the rest of the request
             * body is never read. */
            if (ex->state & CX_DONE)
                return false;
        }
        if (last || (ex->state & CX_BODY_PAUSED))
            return false;
    }
    em__http_conn_set_timeout(c, TMO_BODY);
    return false;
}

/* ---- the request at the front of the input -------------------------------------- */

/* The head is complete: decide how its body is read. */
static bool head_done(em_http_conn *c, struct em__http_exchange *ex, size_t avail) {
    em_http_server *srv = c->owner;
    em_http_ctx *cx = &ex->cx;
    em__http_request_split_target(cx);
    int refused = em__http_request_refusal(srv, cx);
    if (refused) {
        (void)em__http_write_error(c, refused);
        return false;
    }
    if (cx->req.body == EM_HTTP_BODY_NONE) {
        ex->msg_len = ex->head_len;
        ex->stage = EX_READY;
        return true;
    }
    if (srv->_opts.stream_bodies)
        return start_body_stream(c, ex);
    if (cx->req.body == EM_HTTP_BODY_CHUNKED) {
        /* Decoded as it arrives: the raw chunks never pile up. */
        if (copy_head(c, ex) != 0) {
            fail(c, EM_ENOMEM);
            return false;
        }
        em_http_body_reader_init(&ex->reader, EM_HTTP_BODY_CHUNKED, 0, &srv->_opts.limits);
        ex->stage = EX_BODY_CHUNKED;
    } else {
        int rc = em__http_exchange_charge(ex, (size_t)cx->req.content_length);
        if (rc) {
            fail(c, rc);
            return false;
        }
        ex->stage = EX_BODY_LENGTH;
    }
    em__http_conn_set_timeout(c, TMO_BODY);
    /* RFC 9110 §10.1.1: invite the body only once we know we want it
     * (the length was checked against the limit while parsing). */
    if (!(ex->stage == EX_BODY_LENGTH && avail - ex->head_len >= cx->req.content_length))
        em__http_body_invite(ex);
    return true;
}

/* Decode what has arrived of a chunked body into ex->body. */
static bool read_chunked(em_http_conn *c, struct em__http_exchange *ex) {
    while (!em_http_body_reader_done(&ex->reader)) {
        em_slice piece;
        const char *data = em_buf_data(&c->tcp.in);
        size_t len = em_buf_len(&c->tcp.in);
        ssize_t r = em_http_body_reader_read(&ex->reader, data, len, &piece);
        if (r == EM_EAGAIN) {
            em__http_conn_set_timeout(c, TMO_BODY);
            return false;
        }
        if (r < 0) {
            fail(c, (int)r);
            return false;
        }
        if (piece.len) {
            int rc = em__http_exchange_charge(ex, piece.len);
            rc = rc ? rc : em_buf_append(&ex->body, piece.ptr, piece.len);
            if (rc) {
                fail(c, rc == EM_ENOBUFS ? EM_EBODYTOOLARGE : rc);
                return false;
            }
        }
        em_buf_consume(&c->tcp.in, (size_t)r);
    }
    ex->cx.body = em_buf_slice(&ex->body);
    ex->stage = EX_READY;
    return true;
}

/* Advance the exchange at the front of the input. Returns true to go on
 * with the next request, false to wait for more bytes or an answer. */
static bool step(em_http_conn *c) {
    struct em__http_exchange *ex = c->ex;
    const char *data = em_buf_data(&c->tcp.in);
    size_t len = em_buf_len(&c->tcp.in);
    if (!ex) {
        if (!len)
            return false;
        if (!(ex = c->ex = em__http_exchange_get(c))) {
            fail(c, EM_ENOMEM);
            return false;
        }
        c->flags &= ~CONN_SENT_100; /* each request may get its own */
        em__http_conn_set_timeout(c, TMO_HEADER);
    }
    if ((ex->stage == EX_BODY_LENGTH || ex->stage == EX_READY) && ex->msg_len != 0 &&
        ex->base != data)
        em__http_request_rebase(ex, data);
    em_http_ctx *cx = &ex->cx;
    switch (ex->stage) {
    case EX_HEAD: {
        ssize_t r = em_http_parse_request(&ex->parser, data, len, &cx->req);
        if (r == EM_EAGAIN)
            return false;
        if (r < 0) {
            fail(c, (int)r);
            return false;
        }
        ex->base = data;
        ex->head_len = ex->msg_len = (size_t)r;
        return head_done(c, ex, len);
    }
    case EX_BODY_LENGTH:
        if (len - ex->head_len < cx->req.content_length) {
            em__http_conn_set_timeout(c, TMO_BODY);
            return false;
        }
        ex->msg_len = ex->head_len + (size_t)cx->req.content_length;
        cx->body = em_slice_make(data + ex->head_len, (size_t)cx->req.content_length);
        ex->stage = EX_READY;
        return true;
    case EX_BODY_CHUNKED:
        return read_chunked(c, ex);
    case EX_READY:
        em__http_conn_set_timeout(c, TMO_NONE);
        return run_handler(c, ex);
    case EX_BODY_STREAM:
        return deliver_body(c, ex);
    default:
        return false; /* held by the handler, or sending: wait */
    }
}

static void process(em_http_conn *c) {
    c->flags |= CONN_IN_PROCESS;
    while (!(c->flags & (CONN_CLOSED | CONN_CLOSE_AFTER)) && step(c)) {
        if (c->env->burst.owner == c && em_buf_len(&c->env->burst.buf) > BURST_FLUSH)
            (void)em__http_conn_flush(c);
        if (em_tcp_conn_throttled(&c->tcp))
            break;
    }
    c->flags &= ~CONN_IN_PROCESS;
    if (c->env->burst.owner == c)
        (void)em__http_conn_flush(c);
    if (c->flags & CONN_CLOSED)
        return;
    if (c->flags & CONN_CLOSE_AFTER) {
        if (!c->ex || (!EX_HELD(c->ex) && c->ex->stage != EX_SENDING))
            em__http_conn_linger(c);
        else
            update_reading(c);
        return;
    }
    update_reading(c);
    if (!c->ex)
        go_idle(c);
}

/* ---- the connection core's calls ------------------------------------------------- */

static void on_input(em_http_conn *c) {
    process(c);
}

static void on_eof(em_http_conn *c) {
    struct em__http_exchange *ex = c->ex;
    if (ex && ex->stage == EX_BODY_STREAM) {
        em__http_conn_close(c, EM_EUNEXPECTEDEOF); /* the body was cut short */
        return;
    }
    if (ex && EX_HELD(ex)) {
        /* Gone while its request was held: as nginx and Go see a client
         * abort, so a long poll does not hold resources for nobody. */
        em__http_conn_close(c, EM_ECONNABORTED);
        return;
    }
    if (ex && ex->stage == EX_SENDING)
        return; /* it may still read: finish, then close (go_idle) */
    if (ex) {   /* a request cut short */
        em__http_conn_close(c, 0);
        return;
    }
    if (em_buf_len(&c->tcp.in)) {
        process(c); /* requests read before the end still get answers */
        return;
    }
    go_idle(c);
}

static void on_sent(em_http_conn *c, uint64_t token) {
    struct em__http_exchange *ex = c->ex;
    if (ex && ex->stage == EX_SENDING) {
        if (!ex->out_len && token >= ex->out_token)
            em__http_exchange_done(ex);
        else
            em__http_send_more(ex);
        return;
    }
    if (ex && EX_HELD(ex) && ex->cbs && ex->cbs->on_sent) {
        em__http_enter(ex);
        ex->cbs->on_sent(&ex->cx, token);
        em__http_leave(ex);
    }
    if (!(c->flags & CONN_CLOSED) && !c->ex && !em__http_conn_queued(c) &&
        !(c->flags & CONN_CLOSE_AFTER) && c->tmo == TMO_NONE)
        em__http_conn_set_timeout(c, TMO_IDLE);
}

static void on_throttle(em_http_conn *c, bool on) {
    if (on) { /* from inside a write: act quietly */
        em__http_conn_reading(c, false);
        return;
    }
    struct em__http_exchange *ex = c->ex;
    if (ex && ex->stage == EX_SENDING) {
        em__http_send_more(ex);
        return;
    }
    if (ex && EX_HELD(ex) && (ex->state & CX_WANT_DRAIN)) {
        ex->state &= ~(unsigned)CX_WANT_DRAIN;
        update_reading(c);
        if (ex->cbs && ex->cbs->on_unthrottled) {
            em__http_enter(ex);
            ex->cbs->on_unthrottled(&ex->cx);
            em__http_leave(ex);
        }
        return;
    }
    if (!(c->flags & (CONN_CLOSED | CONN_IN_PROCESS)))
        em__http_conn_resume_later(c);
}

static void on_timeout(em_http_conn *c, int kind) {
    struct em__http_exchange *ex = c->ex;
    if (kind == TMO_BODY && ex && ex->stage == EX_BODY_STREAM) {
        body_failed(c, ex, EM_ETIMEDOUT); /* 408 unless answered already */
        return;
    }
    bool waiting = (kind == TMO_HEADER && ex && ex->stage == EX_HEAD) || kind == TMO_BODY;
    if (waiting && !(ex && EX_HELD(ex))) {
        /* RFC 9110 §15.5.9: tell the client why, then close. */
        (void)em__http_write_error(c, 408);
        if (em__http_conn_flush(c) == 0)
            em__http_conn_linger(c);
        return;
    }
    em__http_conn_close(c, EM_ETIMEDOUT);
}

static void on_resume(em_http_conn *c) {
    if ((c->flags & CONN_CLOSE_AFTER) && !c->ex) {
        em__http_conn_linger(c);
        return;
    }
    update_reading(c);
    process(c);
}

static void on_close(em_http_conn *c, int err) {
    em_http_server *srv = c->owner;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->_conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->_nconns--;
    struct em__http_exchange *ex = c->ex;
    c->ex = NULL;
    if (ex)
        em__http_exchange_lost(ex, err);
}

static void on_free(em_http_conn *c) {
    em_http_server *srv = c->owner;
    if (srv->_opts.on_conn_close)
        srv->_opts.on_conn_close(c, srv->_opts.app);
    em_buf_free(&c->tcp.in);
    free(c);
    if (--srv->_nalive == 0 && (srv->_flags & SRV_SHUTTING_DOWN) && srv->_on_drained)
        srv->_on_drained(srv);
}

const em__http_conn_up em__http_pipeline_up = {
    .on_input = on_input,
    .on_eof = on_eof,
    .on_sent = on_sent,
    .on_throttle = on_throttle,
    .on_timeout = on_timeout,
    .on_resume = on_resume,
    .on_close = on_close,
    .on_free = on_free,
};

/* ---- for server.c ---------------------------------------------------------------- */

void em__http_pipeline_accept(em_http_server *srv, int fd, const em_sockaddr *peer, bool reject) {
    em_http_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    em_tcp_conn_opts o = {0};
    o.read_max = em__http_read_max(srv);
    o.read_chunk = 16 * 1024;
    o.high_watermark = srv->_opts.high_watermark;
    if (em__http_conn_init(c, srv->_loop, fd, &o, srv->_env) != 0) {
        close(fd);
        free(c);
        return;
    }
    c->owner = srv;
    if (peer)
        c->peer = *peer;
    c->next = srv->_conns;
    if (srv->_conns)
        srv->_conns->prev = c;
    srv->_conns = c;
    srv->_nconns++;
    srv->_nalive++;
    int rc = srv->_opts.tls ? em_tls_attach(em_http_conn_tcp(c), srv->_opts.tls, NULL) : 0;
    if (!rc && srv->_opts.on_conn_open)
        rc = srv->_opts.on_conn_open(c, srv->_opts.app);
    if (rc) {
        em__http_conn_close(c, rc);
        return;
    }
    c->flags |= CONN_PAUSED; /* so that reading(on) starts it */
    if (reject) {
        (void)em__http_write_error(c, 503);
        if (em__http_conn_flush(c) == 0)
            em__http_conn_linger(c);
        return;
    }
    em__http_conn_reading(c, true);
    if (!(c->flags & CONN_CLOSED))
        em__http_conn_set_timeout(c, TMO_HEADER);
}

/* Graceful shutdown of one connection: idle ones close now; one with a
 * request in flight answers it with Connection: close, then closes. */
void em__http_pipeline_shutdown(em_http_conn *c) {
    if (c->flags & CONN_CLOSED)
        return;
    if (!c->ex && (c->flags & CONN_IN_PROCESS)) {
        /* A handler of c's answered and then called the shutdown: the
         * answer is still in the burst. process() sends it, then lingers. */
        c->flags |= CONN_CLOSE_AFTER;
        return;
    }
    if (!c->ex && !em__http_conn_queued(c)) {
        em__http_conn_close(c, 0);
        return;
    }
    if (!c->ex)
        em__http_conn_linger(c);
}

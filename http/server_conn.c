/* One server connection: read, hand each request to server_request.c,
 * answer in order, time out.
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

void em__http_conn_set_timeout(struct em__http_conn *conn, uint8_t kind) {
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
        em__http_conn_set_timeout(conn, TMO_LINGER);
        return;
    }
    em__http_conn_close(conn, EM_ETIMEDOUT);
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
        em__http_conn_set_timeout(conn, TMO_WRITE);
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
            em__http_exchange_put(srv, ex);
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
    em__http_conn_set_timeout(conn, TMO_HEADER);
}

/* Pause or resume reading as the connection's state asks. */
static void update_reading(struct em__http_conn *conn) {
    if (conn->flags & CONN_CLOSED)
        return;
    bool busy = (conn->ex && conn->ex->stage == EX_HANDLER) || em_tcp_conn_throttled(&conn->tcp);
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
        em__http_conn_set_timeout(conn, TMO_IDLE);
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
        em__http_conn_set_timeout(conn, TMO_LINGER);
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
    em__http_exchange_put(conn->srv, ex);
    if (conn->flags & CONN_CLOSED)
        return;
    if (conn->flags & CONN_IN_PROCESS)
        return; /* process() is on the stack and carries on */
    /* Answered from outside the handler: pick up pipelined requests from
     * the loop, not from inside the caller's callback. */
    em__http_conn_resume_later(conn);
}

void em__http_conn_resume_later(struct em__http_conn *conn) {
    if (!(conn->flags & CONN_RESUME_QUEUED)) {
        conn->flags |= CONN_RESUME_QUEUED;
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

static void process(struct em__http_conn *conn) {
    em_http_server *srv = conn->srv;
    conn->flags |= CONN_IN_PROCESS;
    while (!(conn->flags & (CONN_CLOSED | CONN_CLOSE_AFTER)) && em__http_step(conn)) {
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
            em__http_conn_set_timeout(conn, TMO_WRITE); /* progress: re-arm */
        return;
    }
    if (conn->flags & CONN_CLOSE_AFTER) {
        if (conn->flags & CONN_PEER_EOF)
            em__http_conn_close(conn, 0);
        return;
    }
    if (conn->tmo == TMO_WRITE) {
        if (!conn->ex)
            em__http_conn_set_timeout(conn, TMO_IDLE);
        else
            em__http_conn_set_timeout(conn, TMO_NONE);
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
    if ((conn->flags & (CONN_CLOSED | CONN_CLOSE_AFTER | CONN_IN_PROCESS)) == 0)
        em__http_conn_resume_later(conn);
}

static void on_error(em_tcp_conn *c, int err) {
    em__http_conn_close(conn_of(c), err);
}

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

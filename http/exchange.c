/* Exchanges: one request and its response. The pool, and the ownership
 * rule of "ember/http/server.h" made mechanical: every frame that uses an
 * exchange (a user's call, a callback into the user) counts in ex->depth,
 * and an exchange is freed only when it has ended and no frame holds it,
 * so no path frees it twice or under a caller's feet. */
#include <stdlib.h>

#include "access_log_internal.h"
#include "exchange_internal.h"

/* Recycled exchanges kept per server. */
#define POOL_MAX 64
/* A pooled exchange keeps buffers up to this; bigger ones are freed. */
#define POOL_KEEP (64 * 1024)

static void on_abort_task(em_task *t);

struct em__http_exchange *em__http_exchange_get(em_http_conn *c) {
    em_http_server *srv = c->owner;
    struct em__http_exchange *ex = srv->_free_ex;
    size_t max_headers = srv->_opts.limits.max_headers;
    if (max_headers > 4096)
        max_headers = 4096; /* the array is per exchange: "unlimited" is not */
    if (ex) {
        srv->_free_ex = ex->next_free;
        srv->_nfree_ex--;
    } else {
        ex = malloc(sizeof *ex + max_headers * sizeof ex->headers[0]);
        if (!ex)
            return NULL;
        size_t max_body =
            srv->_opts.limits.max_body > SIZE_MAX ? SIZE_MAX : (size_t)srv->_opts.limits.max_body;
        em_buf_init(&ex->body, max_body);
        em_buf_init(&ex->hdrs, 64 * 1024);
        em_buf_init(&ex->head, 0);
        em_buf_init(&ex->hold, 0);
        ex->max_headers = max_headers;
    }
    em_http_parser_init(&ex->parser, &srv->_opts.limits);
    memset(&ex->cx, 0, sizeof ex->cx);
    ex->cx.req.headers = ex->headers;
    ex->cx.req.max_headers = ex->max_headers;
    ex->cx.app = srv->_opts.app;
    ex->cx.server = srv;
    ex->cx.conn = c;
    ex->srv = srv;
    ex->loop = srv->_loop;
    ex->cbs = NULL;
    ex->body_cb = NULL;
    ex->stream_left = ex->sent = 0;
    ex->out_ptr = NULL;
    ex->out_len = 0;
    ex->out_owned = NULL;
    ex->out_token = 0;
    ex->abort_task.cb = on_abort_task;
    ex->abort_task.data = ex;
    ex->abort_err = 0;
    ex->base = NULL;
    ex->head_len = ex->msg_len = ex->charged = 0;
    ex->stage = EX_HEAD;
    ex->state = 0;
    ex->depth = 0;
    ex->status = 0;
    return ex;
}

void em__http_exchange_free(struct em__http_exchange *ex) {
    em_buf_free(&ex->body);
    em_buf_free(&ex->hdrs);
    em_buf_free(&ex->head);
    em_buf_free(&ex->hold);
    free(ex->out_owned);
    free(ex);
}

void em__http_exchange_pool_free(em_http_server *srv) {
    struct em__http_exchange *ex;
    while ((ex = srv->_free_ex)) {
        srv->_free_ex = ex->next_free;
        em__http_exchange_free(ex);
    }
    srv->_nfree_ex = 0;
}

int em__http_exchange_charge(struct em__http_exchange *ex, size_t n) {
    em_http_server *srv = ex->srv;
    size_t max = srv->_opts.max_buffered;
    if (n > max || srv->_buffered > max - n)
        return EM_ELIMIT;
    srv->_buffered += n;
    ex->charged += n;
    return 0;
}

static void uncharge(struct em__http_exchange *ex) {
    if (ex->srv && ex->charged)
        ex->srv->_buffered -= ex->charged;
    ex->charged = 0;
}

static inline void recycle(em_buf *b) {
    size_t cap = em_buf_cap(b);
    if (cap > POOL_KEEP)
        em_buf_free(b);
    else if (cap)
        em_buf_clear(b);
}

/* Free or pool ex: nobody refers to it any more. A detached exchange may
 * outlive its server, so only an attached one goes back to the pool. */
static void dispose(struct em__http_exchange *ex) {
    em_http_server *srv = ex->srv;
    uncharge(ex);
    if (!srv || srv->_nfree_ex >= POOL_MAX || !(srv->_flags & SRV_RUNNING) ||
        (srv->_flags & SRV_SHUTTING_DOWN)) {
        em__http_exchange_free(ex);
        return;
    }
    /* Do not let one big upload or response pin its buffers in the pool;
     * the common exchange used none of them, and costs no call here. */
    recycle(&ex->body);
    recycle(&ex->head);
    recycle(&ex->hdrs);
    if (em_buf_cap(&ex->hold))
        em_buf_free(&ex->hold);
    if (ex->out_owned) {
        free(ex->out_owned);
        ex->out_owned = NULL;
    }
    ex->next_free = srv->_free_ex;
    srv->_free_ex = ex;
    srv->_nfree_ex++;
}

void em__http_exchange_end(struct em__http_exchange *ex) {
    if (ex->state & CX_ENDED)
        return;
    ex->state |= CX_ENDED;
    if (ex->depth == 0 && !(ex->state & CX_ABORT_QUEUED))
        dispose(ex);
}

/* The loss of the connection reaches the user (the ownership rule, case
 * 3), from the loop. */
static void deliver_abort(struct em__http_exchange *ex) {
    em_http_ctx *cx = &ex->cx;
    ex->state |= CX_IN_ABORT;
    ex->depth++;
    if (ex->stage == EX_BODY_STREAM && ex->body_cb)
        ex->body_cb(cx, em_slice_make("", 0), ex->abort_err);
    else if (ex->cbs && ex->cbs->on_abort)
        ex->cbs->on_abort(cx, ex->abort_err);
    ex->depth--;
    ex->state &= ~(unsigned)CX_IN_ABORT;
    em__http_exchange_end(ex);
}

static bool has_abort_cb(const struct em__http_exchange *ex) {
    return (ex->stage == EX_BODY_STREAM && ex->body_cb) || (ex->cbs && ex->cbs->on_abort);
}

static void on_abort_task(em_task *t) {
    struct em__http_exchange *ex = t->data;
    ex->state &= ~(unsigned)CX_ABORT_QUEUED;
    if (ex->state & CX_ENDED) { /* the user learned first, through a call */
        if (ex->depth == 0)
            dispose(ex);
        return;
    }
    if (has_abort_cb(ex))
        deliver_abort(ex);
    /* else: an orphan until the user's next call returns EM_ECLOSED */
}

void em__http_exchange_lost(struct em__http_exchange *ex, int err) {
    em_http_conn *c = ex->cx.conn;
    if (c && c->ex == ex)
        c->ex = NULL;
    ex->cx.conn = NULL;
    bool held = EX_HELD(ex) && !(ex->state & (CX_DONE | CX_ENDED));
    if (!held && ex->depth == 0) {
        em__http_exchange_end(ex);
        return;
    }
    /* Detached: it may outlive the server. */
    uncharge(ex);
    ex->srv = NULL;
    ex->state |= CX_GONE;
    ex->abort_err = err && err != EM_EOF ? err : EM_ECLOSED;
    if (held && ex->depth == 0 && has_abort_cb(ex) && c) {
        /* Never from inside the call that noticed: from the loop. */
        ex->state |= CX_ABORT_QUEUED;
        em_loop_defer(em_tcp_conn_loop(&c->tcp), &ex->abort_task);
    }
}

bool em__http_leave(struct em__http_exchange *ex) {
    if (--ex->depth > 0)
        return false;
    if (ex->state & CX_ABORT_QUEUED)
        return false; /* the abort task holds it */
    if (ex->state & CX_ENDED) {
        dispose(ex);
        return true;
    }
    if ((ex->state & CX_GONE) && !(ex->state & CX_IN_ABORT)) {
        /* The connection died while a callback ran. A held cx learns it
         * through its abort callback (now: no call of the user's is on the
         * stack). One the user no longer holds just ends: never held, or
         * answered (CX_DONE) with a body that was still going out in
         * pieces: no call of the user's will come to end it. */
        bool held = (ex->state & CX_DEFERRED) && !(ex->state & CX_DONE);
        if (held && has_abort_cb(ex)) {
            deliver_abort(ex);
            return true;
        }
        if (!held) {
            em__http_exchange_end(ex);
            return true;
        }
        /* Held without an abort callback: the user's next call ends it. */
    }
    return false;
}

int em__http_call_enter(struct em__http_exchange *ex) {
    ex->depth++;
    if (!(ex->state & CX_GONE))
        return 0;
    /* Inside on_abort: EM_ECLOSED and nothing freed (the abort frees). */
    if (!(ex->state & CX_IN_ABORT))
        ex->state |= CX_ENDED;
    return EM_ECLOSED;
}

int em__http_call_leave(struct em__http_exchange *ex, int rc) {
    if ((ex->state & CX_GONE) && !(ex->state & CX_IN_ABORT)) {
        ex->state |= CX_ENDED; /* the ownership rule, case 2 */
        rc = EM_ECLOSED;
    }
    em__http_leave(ex);
    return rc;
}

void em__http_exchange_done(struct em__http_exchange *ex) {
    em_http_conn *c = ex->cx.conn;
    if (!c || c->ex != ex) {
        em__http_exchange_end(ex);
        return;
    }
    em_http_server *srv = ex->srv;
    if (srv->_log)
        em__http_log_request(srv, &c->peer, &ex->cx.req, ex->status, ex->sent);
    if (em_buf_cap(&ex->hold))
        em_buf_free(&ex->hold); /* the request's own input */
    else
        em_buf_consume(&c->tcp.in, ex->msg_len);
    ex->msg_len = 0;
    /* A body left unread (answered before its end) leaves the connection
     * mid-message: it cannot carry another request. Nor does one during a
     * graceful shutdown, though the answer began before it (a body sent in
     * pieces) and said keep-alive: idle now, it would wait for the
     * deadline. */
    if ((ex->state & CX_CLOSE) || ex->stage == EX_BODY_STREAM || (srv->_flags & SRV_SHUTTING_DOWN))
        c->flags |= CONN_CLOSE_AFTER;
    c->ex = NULL;
    ex->cx.conn = NULL;
    em__http_exchange_end(ex);
    /* Answered from outside the pipeline: pick up pipelined requests from
     * the loop, not from inside the caller's call. */
    if (!(c->flags & CONN_IN_PROCESS))
        em__http_conn_resume_later(c);
}

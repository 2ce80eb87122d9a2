/* Request bodies in pieces (em_http_server_opts.stream_bodies): the
 * handler's side. The pieces themselves are cut by pipeline.c, which runs
 * from the loop; these calls only set state and ask for it. */
#include "exchange_internal.h"

void em__http_body_invite(struct em__http_exchange *ex) {
    em_http_conn *c = ex->cx.conn;
    if (!c || !(ex->cx.req.flags & EM_HTTP_F_EXPECT_CONTINUE) || (c->flags & CONN_SENT_100) ||
        (ex->state & CX_ANSWERED))
        return;
    c->flags |= CONN_SENT_100;
    if (em_buf_append(em__http_conn_burst(c), "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0)
        (void)em__http_conn_flush(c);
}

/* A response filter sees the body callback, whenever it is set: it must
 * hear the error that ends cx (exchange_internal.h). */
int em_http_body_read(em_http_ctx *cx, em_http_body_cb cb) {
    em__http_filter *f = em__http_filter_of(em__http_ex(cx));
    if (f)
        return f->vt->body_read(f, cx, cb);
    return em__http_body_read_raw(cx, cb);
}

int em__http_body_read_raw(em_http_ctx *cx, em_http_body_cb cb) {
    struct em__http_exchange *ex = em__http_ex(cx);
    int rc = em__http_call_enter(ex);
    if (!rc && (!cb || ex->stage != EX_BODY_STREAM || ex->body_cb))
        rc = EM_EINVAL;
    if (!rc) {
        ex->body_cb = cb;
        ex->state |= CX_DEFERRED;
        em__http_body_invite(ex); /* the handler wants the body: now, not before */
        /* Inside the handler the pipeline goes on to deliver the body;
         * later, the loop does. */
        if (!(cx->conn->flags & CONN_IN_PROCESS))
            em__http_conn_resume_later(cx->conn);
    }
    return em__http_call_leave(ex, rc);
}

void em_http_body_pause(em_http_ctx *cx) {
    struct em__http_exchange *ex = em__http_ex(cx);
    if (ex->stage != EX_BODY_STREAM || (ex->state & CX_BODY_PAUSED) || !cx->conn)
        return;
    ex->state |= CX_BODY_PAUSED;
    em__http_conn_reading(cx->conn, false);
    /* A paused body is the handler's choice, not a stalled client. */
    if (cx->conn->tmo == TMO_BODY)
        em__http_conn_set_timeout(cx->conn, TMO_NONE);
}

void em_http_body_resume(em_http_ctx *cx) {
    struct em__http_exchange *ex = em__http_ex(cx);
    if (!(ex->state & CX_BODY_PAUSED) || !cx->conn)
        return;
    ex->state &= ~(unsigned)CX_BODY_PAUSED;
    em__http_conn_resume_later(cx->conn);
}

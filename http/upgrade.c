/* Leaving HTTP: 101 Switching Protocols and CONNECT tunnels move the TCP
 * connection into the caller's struct; the server keeps a list of them
 * only to tell them about a graceful shutdown and to wait for them. */
#include "exchange_internal.h"

static void unlink_upgraded(em_http_upgraded *u) {
    em_http_server *srv = u->_srv;
    if (!srv)
        return;
    if (u->_prev)
        u->_prev->_next = u->_next;
    else
        srv->_upgraded = u->_next;
    if (u->_next)
        u->_next->_prev = u->_prev;
    u->_srv = NULL;
    u->_prev = u->_next = NULL;
    if (--srv->_nalive == 0 && (srv->_flags & SRV_SHUTTING_DOWN) && srv->_on_drained)
        srv->_on_drained(srv);
}

static int put_upgrade_head(struct em__http_exchange *ex, em_buf *b, int status) {
    int rc = em__http_put_head_start(ex->srv, b, status);
    if (!rc && status == 101)
        rc = EM__HTTP_PUT_LIT(b, "Connection: Upgrade\r\n");
    if (!rc && em_buf_len(&ex->hdrs))
        rc = em_buf_append(b, em_buf_data(&ex->hdrs), em_buf_len(&ex->hdrs));
    return rc ? rc : EM__HTTP_PUT_LIT(b, "\r\n");
}

int em_http_upgrade(em_http_ctx *cx, int status, em_http_upgraded *u, const em_tcp_conn_cbs *cbs,
                    em_tcp_close_cb on_close) {
    struct em__http_exchange *ex = em__http_ex(cx);
    int rc = em__http_call_enter(ex);
    bool tunnel = cx->req.method_id == EM_HTTP_CONNECT && status >= 200 && status < 300;
    if (!rc && (ex->state & CX_ANSWERED))
        rc = EM_EALREADY;
    if (!rc &&
        (!u || !cbs || !cbs->on_read || (status != 101 && !tunnel) || ex->stage == EX_BODY_STREAM))
        rc = EM_EINVAL;
    if (rc)
        return em__http_call_leave(ex, rc);
    if (ex->srv->_flags & SRV_SHUTTING_DOWN) {
        /* The goodbyes of a graceful shutdown went out already: a new
         * upgraded connection would be dropped at the deadline without
         * one. The request was under way, so it gets an answer. */
        em_buf_clear(&ex->hdrs);
        rc = em_http_respond_text(cx, 503, "the server is shutting down\n");
        return em__http_call_leave(ex, rc == EM_ECLOSED ? rc : EM_ECANCELED);
    }
    em_http_conn *c = cx->conn;
    em_http_server *srv = ex->srv;
    em_loop *loop = em_tcp_conn_loop(&c->tcp);
    ex->status = status;
    rc = put_upgrade_head(ex, em__http_conn_burst(c), status);
    if (rc) {
        em__http_conn_close(c, rc);
        return em__http_call_leave(ex, rc);
    }
    if ((rc = em__http_conn_flush(c)) != 0)
        return em__http_call_leave(ex, rc);
    /* The request leaves the input; what follows it is the new protocol's. */
    ex->state |= CX_ANSWERED | CX_DONE;
    em__http_exchange_done(ex);
    void *data = u->tcp.data; /* the user's, not the HTTP connection's */
    rc = em_tcp_conn_move(&u->tcp, &c->tcp, cbs);
    u->tcp.data = data;
    if (rc == EM_EINVAL || rc == EM_ECLOSED) { /* nothing moved */
        em__http_conn_close(c, rc);
        return em__http_call_leave(ex, rc);
    }
    em__http_conn_moved(c, loop);
    u->_srv = srv;
    u->_on_close = on_close;
    u->_prev = NULL;
    u->_next = srv->_upgraded;
    if (srv->_upgraded)
        srv->_upgraded->_prev = u;
    srv->_upgraded = u;
    srv->_nalive++;
    em__http_leave(ex);
    return rc;
}

/* Unlink first (the server may finish its shutdown here, from the loop),
 * then the user's callback, which may free u. */
static void on_upgraded_closed(em_tcp_conn *t) {
    em_http_upgraded *u = EM_CONTAINER_OF(t, em_http_upgraded, tcp);
    em_tcp_close_cb cb = u->_on_close;
    unlink_upgraded(u);
    if (cb)
        cb(t);
}

/* The close's callback takes the place of the deadline's: a deadline that
 * comes while an end drains closes with the callback the end was given. */
void em_http_upgraded_close(em_http_upgraded *u, em_tcp_close_cb cb) {
    u->_on_close = cb;
    em_tcp_conn_close(&u->tcp, on_upgraded_closed);
}

void em_http_upgraded_end(em_http_upgraded *u, em_tcp_close_cb cb) {
    u->_on_close = cb;
    em_tcp_conn_end(&u->tcp, on_upgraded_closed);
}

void em__http_upgraded_shutdown(em_http_server *srv, bool now) {
    em_http_upgraded *u = srv->_upgraded, *next;
    for (; u; u = next) {
        next = u->_next;
        if (u->on_shutdown)
            u->on_shutdown(u, now);
        else if (now)
            em_http_upgraded_close(u, u->_on_close);
    }
}

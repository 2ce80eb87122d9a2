/* TLS on an em_tcp_conn: attach, the client's handshake and connect
 * helpers, and what a connection agreed on. */
#include "tls_internal.h"

static em__tls_eng *eng(const em_tcp_conn *c) {
    return em_tcp_conn_transport_state(c);
}

EM_API bool em_tls_conn_is_tls(const em_tcp_conn *c) {
    return c && em_tcp_conn_transport(c) == &em__tls_transport;
}

EM_API int em_tls_attach(em_tcp_conn *c, const em_tls_ctx *ctx, const char *server_name) {
    if (!c || !ctx)
        return EM_EINVAL;
    em__tls_eng *e;
    int err = em__tls_eng_new(&e, ctx, server_name);
    if (err)
        return err;
    err = em_tcp_conn_set_transport(c, &em__tls_transport, e);
    if (err) {
        em__tls_eng_free(e);
        return err;
    }
    em__tls_timer_start(e, c);
    return 0;
}

/* While the helpers wait: plaintext is held back, so only errors come. */
static void hs_on_read(em_tcp_conn *c, ssize_t n) {
    em__tls_report(eng(c), n < 0 && n != EM_EOF ? (int)n : EM_ETLSHANDSHAKE);
}

static const em_tcp_conn_cbs hs_cbs = {.on_read = hs_on_read};

EM_API int em_tls_handshake(em_tcp_conn *c, const em_tcp_conn_cbs *cbs, em_tcp_connect_cb cb) {
    if (!em_tls_conn_is_tls(c) || !cbs || !cbs->on_read || !cb)
        return EM_EINVAL;
    em__tls_eng *e = eng(c);
    if (e->ctx->role != EM_TLS_CLIENT || e->on_done || (e->flags & EM__TLS_TASK))
        return EM_EINVAL;
    e->cbs = cbs;
    e->on_done = cb;
    e->conn = c;
    em_tcp_conn_set_cbs(c, &hs_cbs);
    int err = em_tcp_conn_read_start(c);
    if (err) {
        e->on_done = NULL;
        em_tcp_conn_set_cbs(c, cbs);
        return err;
    }
    em__tls_notify_arm(e);
    return 0;
}

static void tcp_connected(em_tcp_conn *c, int status) {
    em__tls_eng *e = eng(c);
    e->flags &= ~(unsigned)EM__TLS_TCP_CONNECTING;
    if (!status)
        status = e->err ? e->err : em_tcp_conn_read_start(c);
    if (status)
        em__tls_report(e, status);
}

EM_API int em_tls_connect(em_loop *loop, em_tcp_conn *c, const em_sockaddr *addr,
                          const em_tcp_conn_cbs *cbs, const em_tcp_conn_opts *opts,
                          const em_tls_ctx *ctx, const char *server_name, em_tcp_connect_cb cb) {
    if (!c || !ctx || ctx->role != EM_TLS_CLIENT || !cbs || !cbs->on_read || !cb)
        return EM_EINVAL;
    /* Everything that can fail comes before the connect starts. */
    em__tls_eng *e;
    int err = em__tls_eng_new(&e, ctx, server_name);
    if (err)
        return err;
    err = em_tcp_conn_connect(loop, c, addr, &hs_cbs, opts, tcp_connected);
    if (err) {
        em__tls_eng_free(e);
        return err;
    }
    /* An open connection, a complete vtable, and the connect in flight
     * allocated the connection's cold part already: this cannot fail. */
    (void)em_tcp_conn_set_transport(c, &em__tls_transport, e);
    e->cbs = cbs;
    e->on_done = cb;
    e->flags |= EM__TLS_TCP_CONNECTING | EM__TLS_HOLD | EM__TLS_NOTIFY;
    em__tls_timer_start(e, c);
    return 0;
}

EM_API int em_tls_conn_info(const em_tcp_conn *c, em_tls_info *info) {
    if (!em_tls_conn_is_tls(c) || !info)
        return EM_EINVAL;
    em__tls_eng_info(eng(c), info);
    return 0;
}

EM_API const char *em_tls_conn_error(const em_tcp_conn *c) {
    return em_tls_conn_is_tls(c) && eng(c)->reason ? eng(c)->reason : "";
}

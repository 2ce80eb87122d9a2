/* The server on one loop: listening, admission control, the Date timer and
 * graceful shutdown. Each connection's requests live in pipeline.c. */
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "access_log_internal.h"
#include "exchange_internal.h"

static void date_update(em_http_server *srv) {
    srv->_date_len = em__http_date_line(srv->_date, (long long)time(NULL));
}

static void on_date(em_timer *t) {
    date_update(t->data);
    em__http_log_flush(t->data);
}
static void on_shutdown_deadline(em_timer *t);

/* Refuse a connection politely: one 503 and close. On a plain socket it
 * is one send that never blocks (if the socket cannot take the bytes at
 * once, the client just sees the close); a connection with a transport
 * (TLS) gets it through the transport, or the client could not read it. */
static void reject(em_http_server *srv, int fd, const em_sockaddr *peer) {
    srv->rejected++;
    if (srv->_opts.on_conn_open || srv->_opts.tls) {
        em__http_pipeline_accept(srv, fd, peer, true);
        return;
    }
    em_slice r = em__http_overload_response();
    ssize_t n = send(fd, r.ptr, r.len, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)n;
    close(fd);
}

static void on_accept(em_tcp_server *tsrv, int fd, const em_sockaddr *peer) {
    em_http_server *srv = tsrv->data;
    if ((srv->_flags & SRV_SHUTTING_DOWN) || srv->_nconns >= srv->_opts.max_connections) {
        reject(srv, fd, peer);
        return;
    }
    em__http_pipeline_accept(srv, fd, peer, false);
}

static void on_overload(em_tcp_server *tsrv, int fd) {
    reject(tsrv->data, fd, NULL);
}

static void fill_defaults(em_http_server_opts *o) {
    em_http_limits *l = &o->limits;
    if (!l->max_start_line)
        l->max_start_line = EM_HTTP_DEFAULT_MAX_START_LINE;
    if (!l->max_header_bytes)
        l->max_header_bytes = EM_HTTP_DEFAULT_MAX_HEADER_BYTES;
    if (!l->max_headers)
        l->max_headers = EM_HTTP_DEFAULT_MAX_HEADERS;
    if (!l->max_body)
        l->max_body = EM_HTTP_DEFAULT_MAX_BODY;
    if (!l->max_chunk_ext)
        l->max_chunk_ext = EM_HTTP_DEFAULT_MAX_CHUNK_EXT;
    if (!l->max_trailer_bytes)
        l->max_trailer_bytes = EM_HTTP_DEFAULT_MAX_TRAILER_BYTES;
    if (!l->max_trailers)
        l->max_trailers = EM_HTTP_DEFAULT_MAX_TRAILERS;
    if (!o->max_connections)
        o->max_connections = 100000;
    if (!o->header_timeout_ms)
        o->header_timeout_ms = 10000;
    if (!o->body_timeout_ms)
        o->body_timeout_ms = 30000;
    if (!o->idle_timeout_ms)
        o->idle_timeout_ms = 60000;
    if (!o->write_timeout_ms)
        o->write_timeout_ms = 30000;
    if (!o->shutdown_timeout_ms)
        o->shutdown_timeout_ms = 10000;
    if (!o->max_buffered)
        o->max_buffered = 64u * 1024 * 1024;
    /* Per connection: what many slow clients can make the server hold
     * (50 of them echoing uploads stay far under 64 MiB). */
    if (!o->high_watermark)
        o->high_watermark = 256u * 1024;
}

static void finish_shutdown(em_http_server *srv);

static void on_drained(em_http_server *srv) {
    if (srv->_flags & SRV_RUNNING)
        finish_shutdown(srv);
}

/* Start with either an address to listen on or a listener to adopt. */
int em__http_server_start(em_loop *loop, em_http_server *srv, const em_sockaddr *addr,
                          em_tcp_listener *l, const em_http_server_opts *opts) {
    if (!loop || !srv || !opts || (!opts->router && (!opts->handler || !opts->handler->fn)))
        return EM_EINVAL;
    void *data = srv->data;
    memset(srv, 0, sizeof *srv);
    srv->data = data;
    srv->_loop = loop;
    srv->_opts = *opts;
    fill_defaults(&srv->_opts);
    if (!srv->_opts.handler) {
        srv->_router_handler = em_http_router_as_handler(opts->router);
        srv->_opts.handler = &srv->_router_handler;
    }
    srv->_on_drained = on_drained;
    struct em__http_env *env = srv->_env = calloc(1, sizeof *srv->_env);
    if (!env)
        return EM_ENOMEM;
    const em_http_server_opts *o = &srv->_opts;
    env->up = &em__http_pipeline_up;
    env->tmo_ms[TMO_IDLE] = o->idle_timeout_ms;
    env->tmo_ms[TMO_HEADER] = o->header_timeout_ms;
    env->tmo_ms[TMO_BODY] = o->body_timeout_ms;
    env->tmo_ms[TMO_WRITE] = o->write_timeout_ms;
    env->tmo_ms[TMO_LINGER] = o->write_timeout_ms;
    em_buf_init(&env->burst.buf, 0);

    em_tcp_server_opts t = {0};
    t.listen = em_tcp_listen_opts_default();
    t.listen.reuseport = opts->reuseport;
    t.on_overload = on_overload;
    srv->tcp.data = srv;
    int rc = l ? em_tcp_server_adopt(loop, &srv->tcp, l, &t, on_accept)
               : em_tcp_server_start(loop, &srv->tcp, addr, &t, on_accept);
    if (rc) {
        free(srv->_env);
        return rc;
    }
    if (opts->access_log_fd > 0 && (rc = em__http_log_open(srv, opts->access_log_fd)) != 0) {
        em_tcp_server_close(&srv->tcp);
        free(srv->_env);
        return rc;
    }
    date_update(srv);
    em_timer_init(loop, &srv->_date_timer, on_date);
    srv->_date_timer.data = srv;
    em_timer_start(&srv->_date_timer, 1000, 1000);
    em_timer_init(loop, &srv->_shutdown_timer, on_shutdown_deadline);
    srv->_shutdown_timer.data = srv;
    srv->_flags = SRV_RUNNING;
    return 0;
}

int em_http_server_start(em_loop *loop, em_http_server *srv, const em_sockaddr *addr,
                         const em_http_server_opts *opts) {
    if (!addr)
        return EM_EINVAL;
    return em__http_server_start(loop, srv, addr, NULL, opts);
}

unsigned em_http_server_connections(const em_http_server *srv) {
    return srv->_nconns;
}

int em_http_server_addr(const em_http_server *srv, em_sockaddr *out) {
    return em_tcp_listener_addr(&srv->tcp.listener, out);
}

static void finish_shutdown(em_http_server *srv) {
    em_timer_stop(&srv->_date_timer);
    em_timer_stop(&srv->_shutdown_timer);
    em__http_exchange_pool_free(srv);
    em_buf_free(&srv->_env->burst.buf);
    free(srv->_env);
    srv->_env = NULL;
    em__http_log_close(srv);
    srv->_flags &= ~SRV_RUNNING;
    if (srv->_on_closed)
        srv->_on_closed(srv);
}

static void on_drained_task(em_task *t) {
    on_drained(t->data);
}

/* The deadline passed: whatever is still open is closed now. */
static void on_shutdown_deadline(em_timer *t) {
    em_http_server *srv = t->data;
    while (srv->_conns)
        em__http_conn_close(srv->_conns, EM_ECANCELED);
    em__http_upgraded_shutdown(srv, true);
}

void em_http_server_shutdown(em_http_server *srv, void (*cb)(em_http_server *srv)) {
    srv->_on_closed = cb;
    if (!(srv->_flags & SRV_RUNNING) || (srv->_flags & SRV_SHUTTING_DOWN))
        return;
    srv->_flags |= SRV_SHUTTING_DOWN;
    em_tcp_server_close(&srv->tcp);
    em_http_conn *conn = srv->_conns, *next;
    for (; conn; conn = next) {
        next = conn->next;
        em__http_pipeline_shutdown(conn);
    }
    em__http_upgraded_shutdown(srv, false);
    if (srv->_nalive == 0) {
        /* Nothing to wait for; still report from the loop, not from here. */
        srv->_task.cb = on_drained_task;
        srv->_task.data = srv;
        em_loop_defer(srv->_loop, &srv->_task);
        return;
    }
    em_timer_start(&srv->_shutdown_timer, srv->_opts.shutdown_timeout_ms, 0);
}

/* One pooled client connection, its first part: connect (Happy Eyeballs,
 * through an HTTP proxy's CONNECT tunnel when there is one, then TLS),
 * hand the connection to the core (conn.c) and report it ready through
 * cl->up; and whether an idle one still looks usable. client_conn.c runs
 * the calls on it and calls down here only for a fresh exchange. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "client_internal.h"

/* ---- connecting ----------------------------------------------------------- */

/* Reading is off until the connection is adopted by the core. */
static void on_early_read(em_tcp_conn *t, ssize_t n) {
    (void)t;
    (void)n;
}
static const em_tcp_conn_cbs early_cbs = {.on_read = on_early_read};

static void connect_failed(em__http_cconn *c, int err, const char *why) {
    if (!c->err[0])
        snprintf(c->err, sizeof c->err, "connect to %s%s port %u: %s",
                 c->origin->mode != ORIGIN_DIRECT ? "proxy " : "", c->origin->connect_host,
                 (unsigned)c->origin->connect_port, why && *why ? why : em_strerror(err));
    em__http_conn_close(&c->hc, err);
}

static void ready(em__http_cconn *c) {
    em__http_conn_adopt(&c->hc);
    em__http_conn_set_timeout(&c->hc, TMO_NONE);
    c->origin->nconnecting--;
    c->state = CC_IDLE;
    c->cl->up->conn_ready(c);
}

static void on_handshake(em_tcp_conn *t, int err) {
    em__http_cconn *c = EM_CONTAINER_OF(t, em__http_cconn, hc.tcp);
    if (err) {
        connect_failed(c, err, em_tls_conn_error(t));
        return;
    }
    ready(c);
}

static void start_tls(em__http_cconn *c) {
    em_tcp_conn *t = &c->hc.tcp;
    int rc = em_tls_attach(t, c->cl->tls, c->origin->host);
    rc = rc ? rc : em_tls_handshake(t, &early_cbs, on_handshake);
    if (rc)
        connect_failed(c, rc, "TLS setup failed");
}

/* The proxy's answer to CONNECT: a 2xx opens the tunnel (RFC 9110 §9.3.6),
 * and nothing may follow it before the origin's TLS answers us. */
static void on_tunnel_read(em_tcp_conn *t, ssize_t n) {
    em__http_cconn *c = EM_CONTAINER_OF(t, em__http_cconn, hc.tcp);
    if (n < 0) {
        connect_failed(c, n == EM_EOF ? EM_ECONNRESET : (int)n,
                       "the proxy closed the connection during CONNECT");
        return;
    }
    ssize_t h;
    for (;;) { /* interim (1xx) answers first, any number of them in a read */
        h = em_http_parse_response(&c->parser, em_buf_data(&t->in), em_buf_len(&t->in),
                                   EM_HTTP_CONNECT, &c->resp);
        if (h == EM_EAGAIN)
            return;
        if (h < 0) {
            connect_failed(c, (int)h, "malformed answer from the proxy");
            return;
        }
        if (c->resp.flags & EM_HTTP_F_OBS_FOLD)
            em__http_unfold(c->resp.headers, c->resp.num_headers);
        if (c->resp.status < 100 || c->resp.status >= 200)
            break;
        em_buf_consume(&t->in, (size_t)h);
        em__http_cconn_reset(c);
    }
    if (c->resp.status < 200 || c->resp.status >= 300 || em_buf_len(&t->in) != (size_t)h) {
        snprintf(c->err, sizeof c->err, "proxy %s port %u refused CONNECT to %s port %u: %d",
                 c->origin->connect_host, (unsigned)c->origin->connect_port, c->origin->host,
                 (unsigned)c->origin->port, c->resp.status);
        em__http_conn_close(&c->hc, EM_EPROXY);
        return;
    }
    em_buf_consume(&t->in, (size_t)h);
    em_tcp_conn_read_stop(t);
    em_tcp_conn_set_cbs(t, &early_cbs);
    if (c->origin->tls)
        start_tls(c);
    else
        ready(c);
}
static const em_tcp_conn_cbs tunnel_cbs = {.on_read = on_tunnel_read};

static void send_connect(em__http_cconn *c) {
    em__http_origin *o = c->origin;
    em_buf b;
    em_buf_init(&b, 0);
    int rc = em_buf_printf(&b, "CONNECT %s%s%s:%u HTTP/1.1\r\nHost: %s%s%s:%u\r\n",
                           strchr(o->host, ':') ? "[" : "", o->host,
                           strchr(o->host, ':') ? "]" : "", (unsigned)o->port,
                           strchr(o->host, ':') ? "[" : "", o->host,
                           strchr(o->host, ':') ? "]" : "", (unsigned)o->port);
    if (!rc && o->proxy_auth)
        rc = em_buf_printf(&b, "Proxy-Authorization: %s\r\n", o->proxy_auth);
    rc = rc ? rc : em_buf_append(&b, "\r\n", 2);
    em_slice s = em_buf_slice(&b);
    em__http_cconn_reset(c);
    em_tcp_conn_set_cbs(&c->hc.tcp, &tunnel_cbs);
    rc = rc ? rc : em_tcp_conn_write(&c->hc.tcp, &s, 1, EM_TCP_WRITE_COPY, NULL);
    rc = rc ? rc : em_tcp_conn_read_start(&c->hc.tcp);
    em_buf_free(&b);
    if (rc)
        connect_failed(c, rc, "sending CONNECT to the proxy failed");
}

static void on_connected(em_tcp_conn *t, int err) {
    em__http_cconn *c = EM_CONTAINER_OF(t, em__http_cconn, hc.tcp);
    if (err) {
        connect_failed(c, err, NULL);
        return;
    }
    if (c->origin->mode == ORIGIN_TUNNEL)
        send_connect(c);
    else if (c->origin->tls)
        start_tls(c);
    else
        ready(c);
}

static int client_tls(em_http_client *cl) {
    if (cl->tls)
        return 0;
    em_tls_ctx_opts o = {.alpn = "http/1.1"};
    int rc = em_tls_ctx_new(&cl->own_tls, EM_TLS_CLIENT, &o);
    if (!rc)
        cl->tls = cl->own_tls;
    return rc;
}

size_t em__http_cconn_max_headers(const em_http_client *cl) {
    size_t n = cl->limits.max_headers;
    return n < EM__CLIENT_MAX_HEADERS_CAP ? n : EM__CLIENT_MAX_HEADERS_CAP;
}

int em__http_cconn_open(em_http_client *cl, em__http_origin *o, em__http_cconn **out) {
    if (o->tls) {
        int rc = client_tls(cl);
        if (rc)
            return rc;
    }
    em__http_cconn *c = calloc(1, sizeof *c + em__http_cconn_max_headers(cl) * sizeof c->hdrs[0]);
    if (!c)
        return EM_ENOMEM;
    c->cl = cl;
    c->origin = o;
    c->state = CC_CONNECTING;
    em__http_conn_prepare(&c->hc, cl->loop, &cl->env);
    /* A head (the status line, then the field lines, each part with its
     * own limit) or a trailer section must fit the input buffer whole: the
     * parser keeps it there until it ends, and a buffer full before a limit
     * is reached is a stall until the head timeout, not EM_EHDRTOOLARGE. A
     * request body goes out by reference, so the queue may hold all of it. */
    const em_http_limits *l = &cl->limits;
    size_t head = em__http_add_sat(l->max_start_line, l->max_header_bytes);
    size_t trailer = em__http_lim(l->max_trailer_bytes, EM_HTTP_DEFAULT_MAX_TRAILER_BYTES);
    em_tcp_conn_opts copts = {.read_max = em__http_add_sat(head > trailer ? head : trailer, 4096),
                              .max_queue = (size_t)1 << 40};
    if (copts.read_max < 64 * 1024)
        copts.read_max = 64 * 1024;
    em_tcp_connect_opts co = {.cbs = &early_cbs,
                              .conn_opts = &copts,
                              .family = cl->o.family,
                              .timeout_ms = cl->env.tmo_ms[TMO_CONNECT]};
    int rc = em_tcp_conn_connect_host(cl->loop, &c->hc.tcp, cl->resolver, o->connect_host,
                                      o->connect_port, &co, on_connected);
    if (rc) {
        free(c);
        return rc;
    }
    /* Covers the TLS handshake too; Happy Eyeballs has its own for DNS + TCP. */
    em__http_conn_set_timeout(&c->hc, TMO_CONNECT);
    o->nconns++;
    o->nconnecting++;
    cl->nconns++;
    *out = c;
    return 0;
}

bool em__http_cconn_alive(em__http_cconn *c) {
    if (c->state != CC_IDLE || c->eof || em_buf_len(&c->hc.tcp.in))
        return false;
    /* The server may have closed it a moment ago, its FIN not yet seen by
     * the loop; anything readable on an idle connection (EOF, a TLS
     * close_notify, garbage) means it cannot carry a request. The look is
     * made for every request, idempotent or not: bytes a server sent after
     * its response are no answer to the next request, and read as one
     * they would be a response injected out of step (RFC 9112 §9.3: a
     * response answers the request it follows; curl drops a connection
     * with input pending too). A retry cannot save that case: the call
     * would end with the stale response as its own. */
    char b;
    ssize_t n = recv(em_tcp_conn_fd(&c->hc.tcp), &b, 1, MSG_PEEK | MSG_DONTWAIT);
    /* Only "nothing yet" is alive: an error (ECONNRESET from a reset
     * while idle) is a dead connection, which a POST could not retry. */
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void em__http_cconn_reset(em__http_cconn *c) {
    em_http_parser_init(&c->parser, &c->cl->limits);
    memset(&c->resp, 0, sizeof c->resp);
    c->resp.headers = c->hdrs;
    c->resp.max_headers = em__http_cconn_max_headers(c->cl);
}

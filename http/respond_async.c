/* Deferred answers and chunked streaming responses (RFC 9112 §7.1). */
#include <stdio.h>

#include "http_internal.h"
#include "server_internal.h"

void em_http_defer(em_http_ctx *cx, const em_http_stream_cbs *cbs) {
    cx->_state |= CX_DEFERRED;
    cx->_scbs = cbs;
}

int em_http_stream_start(em_http_ctx *cx, int status, em_slice content_type,
                         const em_http_stream_cbs *cbs) {
    int rc = em__http_answerable(cx);
    if (rc)
        return rc;
    /* HTTP/1.0 has no chunked coding: the handler must fall back. */
    if (cx->req.version_minor == 0)
        return EM_ENOTSUP;
    if (status < 200 || status > 999 || status == 204 || status == 304)
        return EM_EINVAL;
    cx->_state |= CX_DEFERRED | CX_STREAMING;
    cx->_scbs = cbs;
    cx->_status = status;
    rc = em__http_write_head(cx, status, content_type, -1);
    cx->_state |= CX_ANSWERED;
    if (!rc)
        rc = em__http_conn_flush(cx->_conn);
    return rc;
}

/* A failed stream call: the connection is closed and cx released. */
static int stream_broken(em_http_ctx *cx, int err) {
    struct em__http_conn *conn = cx->_conn;
    /* Read before the close: with on_abort, the close frees cx. */
    bool has_abort = cx->_scbs && cx->_scbs->on_abort;
    if (conn)
        em__http_conn_close(conn, err);
    /* Without on_abort the orphan is still ours to free. */
    if (!has_abort)
        em__http_exchange_free(EM_CONTAINER_OF(cx, struct em__http_exchange, cx));
    return EM_ECLOSED;
}

int em_http_stream_write(em_http_ctx *cx, em_slice data, uint64_t *token) {
    if (cx->_state & CX_ORPHAN) {
        em__http_exchange_free(EM_CONTAINER_OF(cx, struct em__http_exchange, cx));
        return EM_ECLOSED;
    }
    if (!(cx->_state & CX_STREAMING) || (cx->_state & CX_DONE))
        return EM_EINVAL;
    if (!data.len || cx->req.method_id == EM_HTTP_HEAD) {
        if (token)
            *token = 0;
        return 0;
    }
    char size[24];
    int n = snprintf(size, sizeof size, "%zx\r\n", data.len);
    em_slice parts[3] = {em_slice_make(size, (size_t)n), data, EM_SLICE_LIT("\r\n")};
    struct em__http_conn *conn = cx->_conn;
    int rc = em_tcp_conn_write(&conn->tcp, parts, 3, EM_TCP_WRITE_COPY, token);
    if (rc == EM_ENOBUFS)
        return rc; /* queue full: wait for on_unthrottled */
    if (rc)
        return stream_broken(cx, rc);
    cx->_sent += data.len;
    if (em_tcp_conn_queued(&conn->tcp) && conn->tmo != TMO_WRITE) {
        conn->tmo = TMO_WRITE;
        em_timer_start(&conn->timer, conn->srv->_opts.write_timeout_ms, 0);
    }
    return 0;
}

int em_http_stream_end(em_http_ctx *cx) {
    if (cx->_state & CX_ORPHAN) {
        em__http_exchange_free(EM_CONTAINER_OF(cx, struct em__http_exchange, cx));
        return EM_ECLOSED;
    }
    if (!(cx->_state & CX_STREAMING) || (cx->_state & CX_DONE))
        return EM_EINVAL;
    int rc = 0;
    if (cx->req.method_id != EM_HTTP_HEAD) {
        em_slice last = EM_SLICE_LIT("0\r\n\r\n");
        rc = em_tcp_conn_write(&cx->_conn->tcp, &last, 1, EM_TCP_WRITE_COPY, NULL);
        if (rc)
            return stream_broken(cx, rc);
    }
    cx->_state |= CX_DONE;
    em__http_exchange_done(cx);
    return 0;
}

bool em_http_stream_throttled(const em_http_ctx *cx) {
    return cx->_conn && em_tcp_conn_throttled(&cx->_conn->tcp);
}

/* Deferred answers and streamed bodies: chunked (RFC 9112 §7.1), with a
 * Content-Length, or delimited by closing the connection for HTTP/1.0
 * clients (RFC 9112 §6.3). */
#include "exchange_internal.h"

/* Each public call hands over to a response filter when one is on
 * (exchange_internal.h), which answers through the _raw versions. */
void em_http_defer(em_http_ctx *cx, const em_http_stream_cbs *cbs) {
    em__http_filter *f = em__http_filter_of(em__http_ex(cx));
    if (f)
        f->vt->defer(f, cx, cbs);
    else
        em__http_defer_raw(cx, cbs);
}

void em__http_defer_raw(em_http_ctx *cx, const em_http_stream_cbs *cbs) {
    struct em__http_exchange *ex = em__http_ex(cx);
    ex->state |= CX_DEFERRED;
    ex->cbs = cbs;
}

em_loop *em_http_ctx_loop(const em_http_ctx *cx) {
    /* Not through cx->server: a held cx may outlive its server. */
    return em__http_ex((em_http_ctx *)(uintptr_t)cx)->loop;
}

int em_http_stream_start(em_http_ctx *cx, int status, em_slice content_type, int64_t length,
                         const em_http_stream_cbs *cbs) {
    em__http_filter *f = em__http_filter_of(em__http_ex(cx));
    if (f)
        return f->vt->stream_start(f, cx, status, content_type, length, cbs);
    return em__http_stream_start_raw(cx, status, content_type, length, cbs);
}

int em__http_stream_start_raw(em_http_ctx *cx, int status, em_slice content_type, int64_t length,
                              const em_http_stream_cbs *cbs) {
    struct em__http_exchange *ex = em__http_ex(cx);
    int rc = em__http_call_enter(ex);
    if (!rc && (ex->state & CX_ANSWERED))
        rc = EM_EALREADY;
    /* RFC 9110 §15.3.6: a 205 has no content; only a length of 0. */
    if (!rc && (status < 200 || status > 999 || !em__http_status_has_body(status) ||
                (status == 205 && length != 0) || length < EM_HTTP_LENGTH_UNKNOWN ||
                !em__http_field_value_ok(content_type)))
        rc = EM_EINVAL;
    if (!rc) {
        ex->state |= CX_DEFERRED | CX_STREAMING | CX_ANSWERED;
        ex->cbs = cbs;
        ex->status = status;
        int64_t framing = length;
        if (length >= 0) {
            ex->stream_left = (uint64_t)length;
        } else if (cx->req.version_minor == 0) {
            ex->state |= CX_TO_CLOSE; /* HTTP/1.0 has no chunked coding */
            framing = -2;
        } else {
            ex->state |= CX_CHUNKED;
        }
        rc = em__http_put_head(ex, em__http_conn_burst(cx->conn), status, content_type, framing);
        if (rc)
            em__http_conn_close(cx->conn, rc);
        else if (!(cx->conn->flags & CONN_IN_PROCESS))
            rc = em__http_conn_flush(cx->conn);
    }
    return em__http_call_leave(ex, rc);
}

/* Queue data as the body's framing wants. */
static int put_piece(struct em__http_exchange *ex, em_slice data, uint64_t *token) {
    em_http_conn *c = ex->cx.conn;
    if (ex->state & CX_CHUNKED) {
        char size[20];
        size_t n = em__http_chunk_size_line(size, data.len);
        em_slice parts[3] = {em_slice_make(size, n), data, EM_SLICE_LIT("\r\n")};
        return em__http_conn_write(c, parts, 3, EM_TCP_WRITE_COPY, token);
    }
    return em__http_conn_write(c, &data, 1, EM_TCP_WRITE_COPY, token);
}

int em_http_stream_write(em_http_ctx *cx, em_slice data, uint64_t *token) {
    em__http_filter *f = em__http_filter_of(em__http_ex(cx));
    if (f)
        return f->vt->stream_write(f, cx, data, token);
    return em__http_stream_write_raw(cx, data, token);
}

int em__http_stream_write_raw(em_http_ctx *cx, em_slice data, uint64_t *token) {
    struct em__http_exchange *ex = em__http_ex(cx);
    int rc = em__http_call_enter(ex);
    if (token)
        *token = 0;
    if (!rc && (!(ex->state & CX_STREAMING) || (ex->state & CX_DONE)))
        rc = EM_EINVAL;
    if (!rc && !(ex->state & (CX_CHUNKED | CX_TO_CLOSE)) && data.len > ex->stream_left)
        rc = EM_EINVAL; /* past the announced Content-Length */
    if (!rc && data.len && cx->req.method_id != EM_HTTP_HEAD) {
        rc = put_piece(ex, data, token);
        if (!rc) {
            ex->sent += data.len;
            if (!(ex->state & (CX_CHUNKED | CX_TO_CLOSE)))
                ex->stream_left -= data.len;
            /* One backpressure signal: the answer says stop, and
             * on_unthrottled says go. Nothing is called from in here. */
            if (cx->conn && em_tcp_conn_throttled(&cx->conn->tcp)) {
                ex->state |= CX_WANT_DRAIN;
                rc = EM_HTTP_FULL;
            }
        }
    }
    return em__http_call_leave(ex, rc);
}

int em_http_stream_end(em_http_ctx *cx) {
    em__http_filter *f = em__http_filter_of(em__http_ex(cx));
    if (f)
        return f->vt->stream_end(f, cx);
    return em__http_stream_end_raw(cx);
}

static int stream_end(em_http_ctx *cx, bool fail) {
    struct em__http_exchange *ex = em__http_ex(cx);
    int rc = em__http_call_enter(ex);
    if (!rc && (!(ex->state & CX_STREAMING) || (ex->state & CX_DONE)))
        rc = EM_EINVAL;
    if (!rc && (fail || (!(ex->state & (CX_CHUNKED | CX_TO_CLOSE)) && ex->stream_left &&
                         cx->req.method_id != EM_HTTP_HEAD))) {
        /* Short of the announced length: the client cannot tell where the
         * body ends, so the connection cannot carry another response. */
        ex->state |= CX_DONE;
        em__http_conn_close(cx->conn, EM_EINVAL);
        em__http_call_leave(ex, 0);
        return EM_EINVAL;
    }
    if (!rc && (ex->state & CX_CHUNKED) && cx->req.method_id != EM_HTTP_HEAD) {
        em_slice last = EM_SLICE_LIT("0\r\n\r\n");
        rc = em__http_conn_write(cx->conn, &last, 1, EM_TCP_WRITE_COPY, NULL);
        if (rc == EM_ENOBUFS) {
            /* Writes went on past EM_HTTP_FULL up to max_queue: no room
             * for the last chunk. cx still ends (the handler is told it
             * did): the body cannot be finished, so the connection goes. */
            ex->state |= CX_DONE;
            em__http_conn_close(cx->conn, rc);
            em__http_call_leave(ex, 0);
            return EM_ENOBUFS;
        }
    }
    if (!rc) {
        ex->state |= CX_DONE;
        em__http_exchange_done(ex);
    }
    return em__http_call_leave(ex, rc);
}

int em__http_stream_end_raw(em_http_ctx *cx) {
    return stream_end(cx, false);
}

int em__http_stream_fail(em_http_ctx *cx) {
    return stream_end(cx, true);
}

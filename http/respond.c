/* Responses: heads (status line, the once-a-second Date line, framing and
 * connection fields, the handler's own fields), em_http_respond*, and
 * large bodies sent in pieces as the client reads. Small responses are
 * appended to the connection's burst and leave together. */
#include <stdio.h>
#include <stdlib.h>

#include "exchange_internal.h"

/* Bodies up to this are copied into the burst; larger ones go out in
 * pieces, never more than the high watermark queued at a time. */
#define BURST_BODY_MAX (64 * 1024)

/* Decide keep-alive for the response to ex, recording the answer. */
static bool will_close(struct em__http_exchange *ex) {
    em_http_conn *c = ex->cx.conn;
    em_http_server *srv = ex->srv;
    /* A whole answer before the streamed body's end: the rest is never
     * read, so the connection cannot carry another request. (A stream that
     * starts while the handler reads the body on may keep it; if it ends
     * first, em__http_exchange_done closes after it.) */
    bool body_left = ex->stage == EX_BODY_STREAM && !(ex->body_cb && (ex->state & CX_STREAMING));
    bool close = !(ex->cx.req.flags & EM_HTTP_F_KEEP_ALIVE) || (c->flags & CONN_CLOSE_AFTER) ||
                 body_left || (ex->state & (CX_TO_CLOSE | CX_OWN_CLOSE)) ||
                 (srv->_flags & SRV_SHUTTING_DOWN) ||
                 (srv->_opts.max_requests && c->nrequests >= srv->_opts.max_requests);
    if (close)
        ex->state |= CX_CLOSE;
    return close;
}

/* The end of every head: the Connection field when it is needed, the
 * handler's own fields, the blank line. */
static int put_tail(struct em__http_exchange *ex, em_buf *b) {
    int rc = 0;
    if (will_close(ex)) {
        if (!(ex->state & CX_OWN_CLOSE)) /* else the handler's field says it */
            rc = EM__HTTP_PUT_LIT(b, "Connection: close\r\n");
    } else if (ex->cx.req.version_minor == 0)
        rc = EM__HTTP_PUT_LIT(b, "Connection: keep-alive\r\n"); /* 1.0 keep-alive is opt-in */
    if (!rc && em_buf_len(&ex->hdrs))
        rc = em_buf_append(b, em_buf_data(&ex->hdrs), em_buf_len(&ex->hdrs));
    return rc ? rc : EM__HTTP_PUT_LIT(b, "\r\n");
}

int em__http_put_head_start(const em_http_server *srv, em_buf *b, int status) {
    int rc = em__http_put_status_line(b, status);
    rc = rc ? rc : EM__HTTP_PUT_LIT(b, "Server: ember\r\n");
    return rc ? rc : em_buf_append(b, srv->_date, srv->_date_len);
}

int em__http_put_head(struct em__http_exchange *ex, em_buf *b, int status, em_slice content_type,
                      int64_t length) {
    if (!em__http_field_value_ok(content_type))
        return EM_EINVAL;
    /* Only running out of memory can fail from here on, and that closes
     * the connection, so a half-built head is never sent. */
    int rc = em__http_put_head_start(ex->srv, b, status);
    if (!rc && content_type.len)
        rc = em__http_put_field(b, EM_SLICE_LIT("Content-Type"), content_type);
    if (!rc && em__http_status_has_body(status)) {
        if (length >= 0)
            rc = em__http_put_content_length(b, (uint64_t)length);
        else if (length == -1)
            rc = EM__HTTP_PUT_LIT(b, "Transfer-Encoding: chunked\r\n");
    }
    return rc ? rc : put_tail(ex, b);
}

int em__http_write_error(em_http_conn *c, int status) {
    em_http_server *srv = c->owner;
    char head[320];
    const char *reason = em_http_status_reason(status);
    size_t rlen = strlen(reason);
    /* RFC 9110 §9.3.2: a HEAD gets the head alone (the parser knows the
     * method once the request line is in, whatever failed after it). */
    bool head_only = c->ex && c->ex->cx.req.method_id == EM_HTTP_HEAD;
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %03d %s\r\nServer: ember\r\n%.*s%sContent-Type: text/plain\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s%s",
                     status, reason, (int)srv->_date_len, srv->_date,
                     status == 503 ? "Retry-After: 1\r\n" : "", rlen + 1,
                     head_only ? "" : reason, head_only ? "" : "\n");
    c->flags |= CONN_CLOSE_AFTER;
    return em_buf_append(em__http_conn_burst(c), head, (size_t)n);
}

em_slice em__http_overload_response(void) {
    return EM_SLICE_LIT("HTTP/1.1 503 Service Unavailable\r\nServer: ember\r\n"
                        "Retry-After: 1\r\nContent-Type: text/plain\r\n"
                        "Content-Length: 20\r\nConnection: close\r\n\r\n"
                        "Service Unavailable\n");
}

/* ---- bodies in pieces ---------------------------------------------------- */

void em__http_send_more(struct em__http_exchange *ex) {
    em_http_conn *c = ex->cx.conn;
    if (!c || ex->stage != EX_SENDING)
        return;
    while (ex->out_len && !em_tcp_conn_throttled(&c->tcp)) {
        /* By reference: the bytes are ours (or a prebuilt's) until sent. */
        size_t n = ex->out_len < BURST_BODY_MAX * 4 ? ex->out_len : BURST_BODY_MAX * 4;
        em_slice piece = em_slice_make(ex->out_ptr, n);
        int rc = em__http_conn_write(c, &piece, 1, 0, &ex->out_token);
        if (rc == EM_ENOBUFS)
            return; /* the queue is full of other bytes: on_sent comes */
        if (rc)
            return; /* c is closed: the exchange was let go */
        ex->out_ptr += n;
        ex->out_len -= n;
    }
}

/* ---- the public face ---------------------------------------------------- */

int em_http_header_add(em_http_ctx *cx, em_slice name, em_slice value) {
    struct em__http_exchange *ex = em__http_ex(cx);
    if (!em__http_field_name_ok(name) || !em__http_field_value_ok(value))
        return EM_EINVAL;
    /* ember writes the framing; a handler's own would contradict it. */
    em_http_hdr id = em_http_header_id(name);
    if (id == EM_HTTP_HDR_CONTENT_LENGTH || id == EM_HTTP_HDR_TRANSFER_ENCODING)
        return EM_EINVAL;
    if (ex->state & CX_ANSWERED)
        return EM_EALREADY;
    int rc = em__http_put_field(&ex->hdrs, name, value);
    /* RFC 9112 §9.6: a response that says close MUST be the connection's
     * last; the server closes after it and reads no further request. */
    if (!rc && id == EM_HTTP_HDR_CONNECTION && em_http_list_has_token(value, EM_SLICE_LIT("close")))
        ex->state |= CX_OWN_CLOSE;
    return rc;
}

/* Common tail of every complete response. */
int em__http_finish(struct em__http_exchange *ex, int rc) {
    ex->state |= CX_ANSWERED | CX_DONE;
    em_http_conn *c = ex->cx.conn;
    if (!c)
        return rc;
    if (rc) { /* the head could not be built: the connection cannot go on */
        em__http_conn_close(c, rc);
        return rc;
    }
    if (!(c->flags & CONN_IN_PROCESS)) { /* answered from outside the handler: send now */
        rc = em__http_conn_flush(c);
        if (rc)
            return rc;
    }
    if (ex->out_len) {
        ex->stage = EX_SENDING;
        ex->cbs = NULL; /* cx is over for the user */
        em__http_send_more(ex);
        return 0;
    }
    em__http_exchange_done(ex);
    return 0;
}

/* Checks shared by the respond functions. */
static int answerable(struct em__http_exchange *ex) {
    if (ex->state & CX_ANSWERED)
        return EM_EALREADY;
    return 0;
}

/* Append head and body (copied, or by reference when borrowed outlives
 * the send) and finish. */
static int respond_body(struct em__http_exchange *ex, em_slice body, bool borrowed) {
    em_buf *b = em__http_conn_burst(ex->cx.conn);
    int rc = 0;
    if (body.len && ex->cx.req.method_id != EM_HTTP_HEAD) {
        ex->sent = body.len;
        if (body.len <= BURST_BODY_MAX) {
            rc = em_buf_append(b, body.ptr, body.len);
        } else if (borrowed) {
            ex->out_ptr = body.ptr;
            ex->out_len = body.len;
        } else if (!(ex->out_owned = malloc(body.len))) {
            rc = EM_ENOMEM;
        } else {
            memcpy(ex->out_owned, body.ptr, body.len);
            ex->out_ptr = ex->out_owned;
            ex->out_len = body.len;
        }
    }
    return em__http_finish(ex, rc);
}

int em_http_respond(em_http_ctx *cx, int status, em_slice content_type, em_slice body) {
    em__http_filter *f = em__http_filter_of(em__http_ex(cx));
    if (f)
        return f->vt->respond(f, cx, status, content_type, body);
    return em__http_respond_raw(cx, status, content_type, body);
}

int em__http_respond_raw(em_http_ctx *cx, int status, em_slice content_type, em_slice body) {
    struct em__http_exchange *ex = em__http_ex(cx);
    int rc = em__http_call_enter(ex);
    if (!rc)
        rc = answerable(ex);
    if (!rc) {
        if (status < 200 || status > 999)
            status = 500;
        /* RFC 9110 §15.3.6: a 205 has a length, and it is 0. */
        if (!em__http_status_has_body(status) || status == 205)
            body.len = 0;
        ex->status = status;
        if (!em__http_field_value_ok(content_type)) {
            rc = EM_EINVAL; /* header injection: nothing sent, answer again */
        } else {
            rc = em__http_put_head(ex, em__http_conn_burst(cx->conn), status, content_type,
                                   (int64_t)body.len);
            rc = rc ? em__http_finish(ex, rc) : respond_body(ex, body, false);
        }
    }
    return em__http_call_leave(ex, rc);
}

int em_http_respond_text(em_http_ctx *cx, int status, const char *text) {
    return em_http_respond(cx, status, EM_SLICE_LIT("text/plain"), em_slice_from_cstr(text));
}

int em_http_prebuilt_init(em_http_prebuilt *p, int status, em_slice content_type, em_slice body) {
    if (!em__http_field_value_ok(content_type))
        return EM_EINVAL;
    if (!em__http_status_has_body(status) || status == 205) /* RFC 9110 §15.3.6 */
        body = em_slice_make("", 0);
    em_buf b;
    em_buf_init(&b, 0);
    int rc = em__http_put_status_line(&b, status);
    rc = rc ? rc : EM__HTTP_PUT_LIT(&b, "Server: ember\r\n");
    if (!rc && content_type.len)
        rc = em__http_put_field(&b, EM_SLICE_LIT("Content-Type"), content_type);
    if (!rc && em__http_status_has_body(status))
        rc = em__http_put_content_length(&b, body.len);
    if (rc) {
        em_buf_free(&b);
        return rc;
    }
    p->_head_len = em_buf_len(&b);
    p->_head = malloc(p->_head_len);
    if (!p->_head) {
        em_buf_free(&b);
        return EM_ENOMEM;
    }
    memcpy(p->_head, em_buf_data(&b), p->_head_len);
    em_buf_free(&b);
    p->_body = body;
    p->_status = status;
    return 0;
}

void em_http_prebuilt_free(em_http_prebuilt *p) {
    free(p->_head);
    p->_head = NULL;
}

int em_http_respond_prebuilt(em_http_ctx *cx, const em_http_prebuilt *p) {
    em__http_filter *f = em__http_filter_of(em__http_ex(cx));
    if (f)
        return f->vt->prebuilt(f, cx, p);
    return em__http_respond_prebuilt_raw(cx, p);
}

int em__http_respond_prebuilt_raw(em_http_ctx *cx, const em_http_prebuilt *p) {
    struct em__http_exchange *ex = em__http_ex(cx);
    int rc = em__http_call_enter(ex);
    if (!rc)
        rc = answerable(ex);
    if (!rc) {
        em_http_server *srv = ex->srv;
        em_buf *b = em__http_conn_burst(cx->conn);
        ex->status = p->_status;
        rc = em_buf_append(b, p->_head, p->_head_len);
        rc = rc ? rc : em_buf_append(b, srv->_date, srv->_date_len);
        rc = rc ? rc : put_tail(ex, b);
        rc = rc ? em__http_finish(ex, rc) : respond_body(ex, p->_body, true);
    }
    return em__http_call_leave(ex, rc);
}

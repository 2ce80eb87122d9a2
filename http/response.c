/* Response heads: the status line, the once-a-second Date line, framing and
 * connection headers, the handler's own headers. Everything is appended to
 * the server's shared output buffer and flushed once per burst. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "http_internal.h"
#include "server_internal.h"

void em__http_date_update(em_http_server *srv) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    /* RFC 9110 §5.6.7 IMF-fixdate. */
    srv->_date_len =
        strftime(srv->_date, sizeof srv->_date, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
}

/* Decimal digits of v into the end of buf[20]; returns the start. */
static char *u64_digits(uint64_t v, char *end) {
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

static int put(em_buf *b, const char *p, size_t n) {
    return em_buf_append(b, p, n);
}
#define PUT_LIT(b, s) put((b), "" s, sizeof(s) - 1)

/* "HTTP/1.1 200 OK\r\n": the common ones are literals; others formatted. */
static int put_status_line(em_buf *b, int status) {
    switch (status) {
    case 200:
        return PUT_LIT(b, "HTTP/1.1 200 OK\r\n");
    case 204:
        return PUT_LIT(b, "HTTP/1.1 204 No Content\r\n");
    case 404:
        return PUT_LIT(b, "HTTP/1.1 404 Not Found\r\n");
    default: {
        char line[96];
        const char *reason = em_http_status_reason(status);
        int n = snprintf(line, sizeof line, "HTTP/1.1 %03d %s\r\n", status, reason);
        return put(b, line, (size_t)n);
    }
    }
}

/* RFC 9110 §6.4.1: 1xx, 204 and 304 never carry a body or a length. */
static bool status_has_body(int status) {
    return status >= 200 && status != 204 && status != 304;
}

/* Decide keep-alive for the response to cx, recording the answer. */
static bool will_close(em_http_ctx *cx) {
    struct em__http_conn *conn = cx->_conn;
    em_http_server *srv = conn->srv;
    struct em__http_exchange *ex = EM_CONTAINER_OF(cx, struct em__http_exchange, cx);
    /* An answer before the streamed body was read: the rest of it is never
     * read, so the connection cannot carry another request. */
    bool close = !(cx->req.flags & EM_HTTP_F_KEEP_ALIVE) || (conn->flags & CONN_CLOSE_AFTER) ||
                 ex->stage == EX_BODY_STREAM || (srv->_flags & SRV_SHUTTING_DOWN) ||
                 (srv->_opts.max_requests && conn->nrequests >= srv->_opts.max_requests);
    if (close)
        cx->_state |= CX_CLOSE;
    return close;
}

/* The end of every head: the Connection header when it is needed, the
 * handler's own headers, the blank line. */
static int put_tail(em_http_ctx *cx, em_buf *b) {
    struct em__http_exchange *ex = EM_CONTAINER_OF(cx, struct em__http_exchange, cx);
    int rc = 0;
    if (will_close(cx))
        rc = PUT_LIT(b, "Connection: close\r\n");
    else if (cx->req.version_minor == 0)
        rc = PUT_LIT(b, "Connection: keep-alive\r\n"); /* 1.0 keep-alive is opt-in */
    if (!rc && em_buf_len(&ex->hdrs))
        rc = put(b, em_buf_data(&ex->hdrs), em_buf_len(&ex->hdrs));
    return rc ? rc : PUT_LIT(b, "\r\n");
}

int em__http_write_head(em_http_ctx *cx, int status, em_slice content_type, int64_t length) {
    struct em__http_conn *conn = cx->_conn;
    em_http_server *srv = conn->srv;
    em_buf *b = em__http_out(cx);
    int rc = put_status_line(b, status);
    rc = rc ? rc : PUT_LIT(b, "Server: ember\r\n");
    rc = rc ? rc : put(b, srv->_date, srv->_date_len);
    if (!rc && content_type.len) {
        rc = PUT_LIT(b, "Content-Type: ");
        rc = rc ? rc : put(b, content_type.ptr, content_type.len);
        rc = rc ? rc : PUT_LIT(b, "\r\n");
    }
    if (!rc && status_has_body(status)) {
        if (length < 0) {
            rc = PUT_LIT(b, "Transfer-Encoding: chunked\r\n");
        } else {
            char digits[20];
            char *d = u64_digits((uint64_t)length, digits + sizeof digits);
            rc = PUT_LIT(b, "Content-Length: ");
            rc = rc ? rc : put(b, d, (size_t)(digits + sizeof digits - d));
            rc = rc ? rc : PUT_LIT(b, "\r\n");
        }
    }
    return rc ? rc : put_tail(cx, b);
}

int em__http_write_error(struct em__http_conn *conn, int status) {
    em_http_server *srv = conn->srv;
    char head[256];
    const char *reason = em_http_status_reason(status);
    size_t rlen = strlen(reason);
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %03d %s\r\nServer: ember\r\n%.*sContent-Type: text/plain\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
                     status, reason, (int)srv->_date_len, srv->_date, rlen + 1, reason);
    conn->flags |= CONN_CLOSE_AFTER;
    em__http_claim_out(conn);
    return put(&srv->_out, head, (size_t)n);
}

em_slice em__http_overload_response(void) {
    return EM_SLICE_LIT("HTTP/1.1 503 Service Unavailable\r\nServer: ember\r\n"
                        "Retry-After: 1\r\nContent-Type: text/plain\r\n"
                        "Content-Length: 20\r\nConnection: close\r\n\r\n"
                        "Service Unavailable\n");
}

/* ---- the public face ---------------------------------------------------- */

static bool token_ok(em_slice s) {
    if (!s.len)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (!em__http_is((unsigned char)s.ptr[i], EM__HTTP_TCHAR))
            return false;
    return true;
}

static bool value_ok(em_slice s) {
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == '\r' || c == '\n' || c == 0)
            return false;
    }
    return true;
}

int em_http_header_add(em_http_ctx *cx, em_slice name, em_slice value) {
    if (!token_ok(name) || !value_ok(value))
        return EM_EINVAL;
    if (cx->_state & CX_ANSWERED)
        return EM_EALREADY;
    struct em__http_exchange *ex = EM_CONTAINER_OF(cx, struct em__http_exchange, cx);
    int rc = em_buf_append(&ex->hdrs, name.ptr, name.len);
    rc = rc ? rc : PUT_LIT(&ex->hdrs, ": ");
    rc = rc ? rc : em_buf_append(&ex->hdrs, value.ptr, value.len);
    return rc ? rc : PUT_LIT(&ex->hdrs, "\r\n");
}

/* Common tail of every complete response. */
int em__http_finish(em_http_ctx *cx, int rc) {
    cx->_state |= CX_ANSWERED | CX_DONE;
    if (cx->_state & CX_DEFERRED) {
        /* Answered from outside the handler: send now. */
        int frc = em__http_conn_flush(cx->_conn);
        em__http_exchange_done(cx);
        return rc ? rc : frc;
    }
    return rc;
}

/* Checks shared by the respond functions; releases an orphaned cx. */
int em__http_answerable(em_http_ctx *cx) {
    if (cx->_state & CX_ORPHAN) {
        em__http_exchange_free(EM_CONTAINER_OF(cx, struct em__http_exchange, cx));
        return EM_ECLOSED;
    }
    if (cx->_state & CX_ANSWERED)
        return EM_EALREADY;
    return 0;
}

int em_http_respond(em_http_ctx *cx, int status, em_slice content_type, em_slice body) {
    int rc = em__http_answerable(cx);
    if (rc)
        return rc;
    if (status < 200 || status > 999)
        status = 500;
    cx->_status = status;
    if (!status_has_body(status))
        body.len = 0;
    rc = em__http_write_head(cx, status, content_type, (int64_t)body.len);
    if (!rc && body.len && cx->req.method_id != EM_HTTP_HEAD) {
        rc = em_buf_append(em__http_out(cx), body.ptr, body.len);
        cx->_sent = body.len;
    }
    return em__http_finish(cx, rc);
}

int em_http_respond_text(em_http_ctx *cx, int status, const char *text) {
    return em_http_respond(cx, status, EM_SLICE_LIT("text/plain"), em_slice_from_cstr(text));
}

int em_http_prebuilt_init(em_http_prebuilt *p, int status, em_slice content_type, em_slice body) {
    em_buf b;
    em_buf_init(&b, 0);
    int rc = put_status_line(&b, status);
    rc = rc ? rc : PUT_LIT(&b, "Server: ember\r\n");
    if (!rc && content_type.len) {
        rc = PUT_LIT(&b, "Content-Type: ");
        rc = rc ? rc : put(&b, content_type.ptr, content_type.len);
        rc = rc ? rc : PUT_LIT(&b, "\r\n");
    }
    if (!rc && status_has_body(status))
        rc = em_buf_printf(&b, "Content-Length: %zu\r\n", body.len);
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
    p->_body = status_has_body(status) ? body : em_slice_make("", 0);
    p->_status = status;
    return 0;
}

void em_http_prebuilt_free(em_http_prebuilt *p) {
    free(p->_head);
    p->_head = NULL;
}

int em_http_respond_prebuilt(em_http_ctx *cx, const em_http_prebuilt *p) {
    int rc = em__http_answerable(cx);
    if (rc)
        return rc;
    em_http_server *srv = cx->_conn->srv;
    em_buf *b = em__http_out(cx);
    cx->_status = p->_status;
    rc = put(b, p->_head, p->_head_len);
    rc = rc ? rc : put(b, srv->_date, srv->_date_len);
    rc = rc ? rc : put_tail(cx, b);
    if (!rc && p->_body.len && cx->req.method_id != EM_HTTP_HEAD) {
        rc = put(b, p->_body.ptr, p->_body.len);
        cx->_sent = p->_body.len;
    }
    return em__http_finish(cx, rc);
}

/* One pooled client connection, once connected (client_connect.c): send a
 * call's request, read its response with the shared codec, hand the head
 * and the body to the call, and report to the pool through cl->up. Runs on
 * the connection core (conn.c), which owns the timer, reading on and off
 * and the socket's end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_internal.h"

static em__http_cconn *cc_of(em_http_conn *hc) {
    return EM_CONTAINER_OF(hc, em__http_cconn, hc);
}

/* ---- running a call --------------------------------------------------------- */

static void drop_decoder(em__http_cconn *c) {
    em_http_decoder_free(c->dec);
    c->dec = NULL;
}

/* Detach c's call and report its end. retry_ok: the failure happened before
 * any response byte, so an idempotent call may go again. */
static void end_call(em__http_cconn *c, int err, bool retry_ok) {
    em_http_call *call = c->call;
    drop_decoder(c);
    if (!call)
        return;
    c->call = NULL;
    call->conn = NULL;
    bool retry = err && retry_ok && !c->got_byte && c->uses > 1 && !call->retried &&
                 em__http_method_idempotent(call->method_id);
    if (c->retry_now) /* a 417: the body was never sent, so any method may go again */
        retry = true;
    c->retry_now = false;
    c->cl->up->call_ended(call, err, retry, !err && c->swallow);
}

static void fail(em__http_cconn *c, int err, bool retry_ok, const char *fmt, const char *arg) {
    if (c->call && fmt)
        em__http_call_why(c->call, fmt, arg);
    end_call(c, err, retry_ok);
    em__http_conn_close(&c->hc, err);
}

static void complete(em__http_cconn *c) {
    /* Bytes after the response, or a request still going out (the server
     * answered early): the connection cannot carry another exchange. */
    em_http_call *call = c->call;
    bool reuse = !c->close_after && !c->eof && !em_buf_len(&c->hc.tcp.in) &&
                 !em__http_conn_queued(&c->hc) && (!call->stream || call->stream_ended);
    bool redirect = c->swallow;
    drop_decoder(c);
    c->call = NULL;
    call->conn = NULL;
    em__http_conn_set_timeout(&c->hc, TMO_NONE);
    /* The connection first, so a redirect to the same origin finds it idle. */
    if (reuse) {
        c->state = CC_IDLE;
        c->cl->up->conn_ready(c);
    } else {
        em__http_conn_close(&c->hc, 0);
    }
    call->cl->up->call_ended(call, 0, false, redirect);
}

void em__http_cconn_idle(em__http_cconn *c) {
    c->state = CC_IDLE;
    em__http_conn_set_timeout(&c->hc, TMO_IDLE);
    /* Keep reading while idle, to notice the server closing. */
    em__http_conn_reading(&c->hc, true);
}

/* ---- a streamed request body ----------------------------------------------- */

static bool call_writable(em__http_cconn *c, em_http_call *call) {
    call->depth++;
    call->cbs->on_writable(call);
    call->depth--;
    if (call->cancelled && !call->depth)
        em__http_call_free(call);
    return c->call == call;
}

static void on_write_task(em_task *t) {
    em_http_call *call = t->data;
    if (call->conn && !call->stream_ended && !call->ended)
        (void)call_writable(call->conn, call);
}

/* The head goes now; the body follows from on_writable (from the loop,
 * never inside the pool's call that started this). */
static void start_stream(em__http_cconn *c, em_http_call *call) {
    em_slice s = em_buf_slice(&call->head);
    int rc = em__http_conn_write(&c->hc, &s, 1, 0, NULL);
    if (rc) {
        if (rc == EM_ENOBUFS)
            fail(c, rc, false, "request too large to queue", NULL);
        return;
    }
    call->stream_open = true;
    call->write_task.cb = on_write_task;
    call->write_task.data = call;
    em_loop_defer(em_tcp_conn_loop(&c->hc.tcp), &call->write_task);
    /* read already: a server may answer (a 413, a 401) before the body ends */
    em__http_conn_reading(&c->hc, !call->paused);
}

/* Whether call may write to a connection now: 0, or the error to return. */
static int stream_state(const em_http_call *call) {
    if (!call->stream || call->stream_ended)
        return EM_EINVAL;
    if (call->ended || call->cancelled || (call->stream_open && !call->conn))
        return EM_ECLOSED;
    if (!call->conn || !call->stream_open)
        return EM_EAGAIN; /* queued for a connection: on_writable will come */
    return 0;
}

int em_http_call_write(em_http_call *call, em_slice data, uint64_t *token) {
    int rc = call ? stream_state(call) : EM_EINVAL;
    if (rc)
        return rc;
    if (call->stream_len >= 0 && data.len > (uint64_t)call->stream_len - call->stream_sent)
        return EM_EINVAL;
    if (!data.len)
        return 0;
    em__http_cconn *c = call->conn;
    char size[24];
    em_slice s[3] = {{size, 0}, data, EM_SLICE_LIT("\r\n")};
    unsigned n = 1;
    em_slice *first = &s[1];
    if (call->stream_len < 0) { /* a chunk: size line, data, CRLF */
        s[0].len = (size_t)snprintf(size, sizeof size, "%zx\r\n", data.len);
        first = s;
        n = 3;
    }
    rc = em__http_conn_write(&c->hc, first, n, EM_TCP_WRITE_COPY, token);
    if (rc == EM_ENOBUFS)
        return rc;
    if (rc)
        return EM_ECLOSED; /* the core closed c; on_done tells why */
    call->stream_sent += data.len;
    if (em_tcp_conn_throttled(&c->hc.tcp)) {
        call->stream_full = true;
        return EM_HTTP_FULL;
    }
    return 0;
}

int em_http_call_write_end(em_http_call *call) {
    int rc = call ? stream_state(call) : EM_EINVAL;
    if (rc)
        return rc;
    em__http_cconn *c = call->conn;
    call->stream_ended = true;
    if (call->stream_len >= 0 && call->stream_sent != (uint64_t)call->stream_len) {
        fail(c, EM_EINVAL, false, "the streamed body was shorter than its Content-Length", NULL);
        return EM_EINVAL;
    }
    if (call->stream_len < 0) {
        em_slice last = EM_SLICE_LIT("0\r\n\r\n");
        if ((rc = em__http_conn_write(&c->hc, &last, 1, 0, NULL)) != 0)
            return rc == EM_ENOBUFS ? rc : EM_ECLOSED;
    }
    if (!c->head_done && !em__http_conn_queued(&c->hc))
        em__http_conn_set_timeout(&c->hc, TMO_HEADER);
    return 0;
}

void em__http_cconn_start(em__http_cconn *c, em_http_call *call) {
    c->call = call;
    call->conn = c;
    c->state = CC_BUSY;
    if (!c->uses)
        call->nconnects++;
    c->uses++;
    c->got_byte = c->head_done = c->swallow = c->close_after = c->awaiting_100 = false;
    em__http_cconn_reset(c);
    int rc = em__http_call_build_head(call);
    if (rc) {
        fail(c, rc, false, "cannot build the request: %s", em_strerror(rc));
        return;
    }
    c->awaiting_100 = call->expect;
    if (call->stream) {
        start_stream(c, call);
        return;
    }
    em_slice s[2] = {em_buf_slice(&call->head), call->body};
    rc = em__http_conn_write(&c->hc, s, call->body.len && !call->expect ? 2 : 1, 0, NULL);
    if (rc) {
        /* the core closed c: on_close reports the call */
        if (rc == EM_ENOBUFS)
            fail(c, rc, false, "request too large to queue", NULL);
        return;
    }
    if (c->awaiting_100)
        em__http_conn_set_timeout(&c->hc, TMO_EXPECT);
    else if (!em__http_conn_queued(&c->hc))
        em__http_conn_set_timeout(&c->hc, TMO_HEADER);
    em__http_conn_reading(&c->hc, !call->paused);
}

/* The 100 came, or the wait for it ended: the body goes now. */
static void send_body(em__http_cconn *c) {
    em_http_call *call = c->call;
    c->awaiting_100 = false;
    int rc = em__http_conn_write(&c->hc, &call->body, 1, 0, NULL);
    if (rc) {
        if (rc == EM_ENOBUFS)
            fail(c, rc, false, "request too large to queue", NULL);
        return;
    }
    if (!em__http_conn_queued(&c->hc))
        em__http_conn_set_timeout(&c->hc, TMO_HEADER);
}

/* User callbacks: the call may be cancelled inside; true if it still runs
 * on c afterwards. */
static bool call_head(em__http_cconn *c, em_http_call *call) {
    if (!call->cbs->on_head)
        return true;
    call->depth++;
    call->cbs->on_head(call, &c->resp);
    call->depth--;
    if (call->cancelled && !call->depth)
        em__http_call_free(call);
    return c->call == call;
}

/* on_redirect or on_info (cb) with the head in c->resp. */
static bool call_extra_head(em__http_cconn *c, em_http_call *call,
                            void (*cb)(em_http_call *call, const em_http_response *resp)) {
    if (!cb)
        return true;
    call->depth++;
    cb(call, &c->resp);
    call->depth--;
    if (call->cancelled && !call->depth)
        em__http_call_free(call);
    return c->call == call;
}

static bool call_body(em__http_cconn *c, em_http_call *call, em_slice piece) {
    if (!call->cbs->on_body || !piece.len)
        return true;
    call->depth++;
    call->cbs->on_body(call, piece);
    call->depth--;
    if (call->cancelled && !call->depth)
        em__http_call_free(call);
    return c->call == call;
}

/* A followable redirect: its body is read and dropped, or, when it is long
 * or runs to the close, the connection is given up instead. */
static void check_redirect(em__http_cconn *c, em_http_call *call) {
    if (!call->follow || !em__http_redirect_status(c->resp.status))
        return;
    em_slice loc = {0};
    for (size_t i = 0; i < c->resp.num_headers; i++)
        if (em_slice_eq_nocase(c->resp.headers[i].name, EM_SLICE_LIT("location")))
            loc = c->resp.headers[i].value;
    if (!loc.len)
        return; /* no Location: the 3xx is the answer */
    free(call->location);
    call->location = malloc(loc.len + 1);
    if (!call->location)
        return;
    memcpy(call->location, loc.ptr, loc.len);
    call->location[loc.len] = 0;
    call->redirect_status = c->resp.status;
    c->swallow = true;
    if (c->resp.body == EM_HTTP_BODY_UNTIL_CLOSE ||
        (c->resp.body == EM_HTTP_BODY_LENGTH && c->resp.content_length > 64 * 1024))
        c->close_after = true;
}

/* Every Set-Cookie of the response (a redirect's too) into the jar; the
 * jar refuses what RFC 6265 says to ignore. */
static void store_cookies(em__http_cconn *c, em_http_call *call) {
    em_cookie_jar *jar = c->cl->o.cookie_jar;
    if (!jar)
        return;
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < c->resp.num_headers; i++)
        if (em_slice_eq_nocase(c->resp.headers[i].name, EM_SLICE_LIT("set-cookie")))
            (void)em_cookie_jar_set(jar, &call->url, c->resp.headers[i].value, now);
}

/* Drop the fields a decoded body makes untrue (as Go's transport does). */
static void drop_coding_fields(em_http_response *r) {
    size_t kept = 0;
    for (size_t i = 0; i < r->num_headers; i++) {
        em_slice n = r->headers[i].name;
        if (!em_slice_eq_nocase(n, EM_SLICE_LIT("content-encoding")) &&
            !em_slice_eq_nocase(n, EM_SLICE_LIT("content-length")))
            r->headers[kept++] = r->headers[i];
    }
    r->num_headers = kept;
    r->flags &= ~EM_HTTP_F_CONTENT_LENGTH;
}

/* Append v to buf[0, *len) (cap bytes), after ", " when sep. False when
 * it does not fit. */
static bool join_value(char *buf, size_t cap, size_t *len, em_slice v, bool sep) {
    size_t need = v.len + (sep ? 2 : 0);
    if (need > cap - *len)
        return false;
    if (sep)
        memcpy(buf + *len, ", ", 2);
    memcpy(buf + *len + (sep ? 2 : 0), v.ptr, v.len);
    *len += need;
    return true;
}

/* A Content-Encoding we can undo gets a decoder; one we cannot (br, zstd)
 * is handed over as it came. False when the call failed. */
static bool start_decoding(em__http_cconn *c, em_http_call *call) {
    if (c->resp.body == EM_HTTP_BODY_NONE)
        return true;
    /* A list split over fields is one list (RFC 9110 §5.3): joined, so the
     * codings come off in reverse order of all of them. */
    char joined[256];
    size_t fields = 0, len = 0;
    em_slice ce = {0};
    for (size_t i = 0; i < c->resp.num_headers; i++) {
        if (!em_slice_eq_nocase(c->resp.headers[i].name, EM_SLICE_LIT("content-encoding")))
            continue;
        em_slice v = c->resp.headers[i].value;
        if (fields++ == 0) {
            ce = v; /* one field: its value as it is */
            continue;
        }
        if ((fields == 2 && !join_value(joined, sizeof joined, &len, ce, false)) ||
            !join_value(joined, sizeof joined, &len, v, true)) {
            fail(c, EM_EBADCODING, false, "unusable Content-Encoding", NULL);
            return false;
        }
        ce = em_slice_make(joined, len);
    }
    if (!ce.len)
        return true;
    uint64_t cap = c->cl->limits.max_body;
    if (call->max_body && call->max_body < cap)
        cap = call->max_body;
    em_http_decoder_opts o = {.max_out = cap == UINT64_MAX ? 0 : cap};
    int rc = em_http_decoder_new(&c->dec, ce, &o);
    if (rc == EM_ENOTSUP)
        return true;
    if (rc) {
        fail(c, rc == EM_ENOMEM ? rc : EM_EBADCODING, false, "unusable Content-Encoding", NULL);
        return false;
    }
    drop_coding_fields(&c->resp);
    return true;
}

/* Decoded pieces on their way to on_body; a cancel inside stops the feed. */
static int decoded_piece(void *arg, em_slice piece) {
    em__http_cconn *c = arg;
    em_http_call *call = c->call;
    return call_body(c, call, piece) ? 0 : EM_ECANCELED;
}

static bool decoder_failed(em__http_cconn *c, int rc) {
    if (rc == EM_ECANCELED || c->state == CC_CLOSED || !c->call)
        return true; /* the call was cancelled inside on_body */
    if (rc == EM_EBODYTOOLARGE)
        fail(c, rc, false, "the decoded body is larger than allowed", NULL);
    else if (rc == EM_EPARTIAL)
        fail(c, rc, false, "the coded body was cut short", NULL);
    else
        fail(c, rc == EM_ENOMEM ? rc : EM_EBADCODING, false, "corrupt %s data", "coded");
    return true;
}

/* A 101 to an upgrade request: the connection leaves HTTP through
 * on_upgrade, which moves it out (else it is closed), and the call ends. */
static void hand_over(em__http_cconn *c, em_http_call *call, size_t head_len) {
    em_loop *loop = em_tcp_conn_loop(&c->hc.tcp);
    store_cookies(c, call);
    em_buf_consume(&c->hc.tcp.in, head_len);
    em__http_conn_set_timeout(&c->hc, TMO_NONE);
    em__http_conn_reading(&c->hc, false);
    call->depth++;
    call->cbs->on_upgrade(call, &c->resp, &c->hc.tcp);
    call->depth--;
    bool moved = em_tcp_conn_fd(&c->hc.tcp) < 0;
    if (c->state == CC_CLOSED) {
        /* closed inside on_upgrade (the client was closed, ending the
         * call): if the socket was taken first, its close callback will
         * never come to free c */
        if (moved)
            em__http_conn_free_later(&c->hc, loop);
        if (call->cancelled && !call->depth)
            em__http_call_free(call);
        return;
    }
    if (call->cancelled) {
        if (!call->depth)
            em__http_call_free(call);
        if (c->state != CC_CLOSED && em_tcp_conn_fd(&c->hc.tcp) < 0)
            em__http_conn_moved(&c->hc, loop); /* taken, then cancelled */
        return;
    }
    if (em_tcp_conn_fd(&c->hc.tcp) >= 0) {
        fail(c, EM_EPROTO, false, "the upgraded connection was not taken", NULL);
        return;
    }
    c->call = NULL;
    call->conn = NULL;
    em__http_conn_moved(&c->hc, loop);
    call->cl->up->call_ended(call, 0, false, false);
}

/* Which part of a response head in is refused (err) or cut short (0),
 * in words that tell apart what curl's exit codes do: a reply that is no
 * HTTP/1.x at all (an HTTP/0.9 body, another protocol), a status line cut
 * short, one whose version or code is garbled, or the fields after it. */
static const char *head_trouble(const em__http_cconn *c, em_slice in, int err) {
    if (memcmp(in.ptr, "HTTP/", in.len < 5 ? in.len : 5))
        return "not an HTTP/1.x response (HTTP/0.9, or another protocol)";
    if (!err)
        return memchr(in.ptr, '\n', in.len) ? "the response head was cut short"
                                            : "the status line was cut short";
    if (c->resp.status)
        return "malformed response head";
    if (err == EM_EBADVERSION)
        return "malformed status line: its HTTP version";
    bool version = in.len >= 9 && in.ptr[5] >= '0' && in.ptr[5] <= '9' && in.ptr[6] == '.' &&
                   in.ptr[7] >= '0' && in.ptr[7] <= '9' && in.ptr[8] == ' ';
    return version ? "malformed status line: its status code"
                   : "malformed status line: its HTTP version";
}

static bool read_head(em__http_cconn *c, em_http_call *call) {
    em_buf *in = &c->hc.tcp.in;
    ssize_t n;
    for (;;) {
        n = em_http_parse_response(&c->parser, em_buf_data(in), em_buf_len(in), call->method_id,
                                           &c->resp);
        if (n == EM_EAGAIN)
            return false;
        if (n < 0) {
            char why[160];
            snprintf(why, sizeof why, "%s: %s",
                     head_trouble(c, em_slice_make(em_buf_data(in), em_buf_len(in)), (int)n),
                     em_strerror((int)n));
            fail(c, (int)n, false, "%s", why);
            return false;
        }
        if (c->resp.flags & EM_HTTP_F_OBS_FOLD)
            em__http_unfold(c->resp.headers, c->resp.num_headers);
        /* RFC 9110 §15: outside 100..599 is taken as a 5xx, never interim. */
        if (c->resp.status >= 200 || c->resp.status < 100) {
            call->last_status = c->resp.status;
            break;
        }
        if (c->resp.status == 101) {
            if (call->upgrade)
                hand_over(c, call, (size_t)n);
            else
                fail(c, EM_EPROTO, false, "unexpected 101 Switching Protocols", NULL);
            return false;
        }
        bool go = c->resp.status == 100 && c->awaiting_100;
        if (!call_extra_head(c, call, call->cbs->on_info))
            return false;
        em_buf_consume(in, (size_t)n); /* 1xx: interim, the answer follows */
        em__http_cconn_reset(c);
        if (go) {
            send_body(c);
            if (c->call != call)
                return false;
        }
    }
    if (c->awaiting_100) {
        /* a final answer before the body: it is not sent, so the connection
         * cannot carry another request (RFC 9110 §10.1.1) */
        c->awaiting_100 = false;
        c->close_after = true;
        if (c->resp.status == 417 && !call->expect_refused) {
            call->expect_refused = true; /* once more, without Expect */
            c->retry_now = true;
            fail(c, EM_EPROTO, false, NULL, NULL);
            return false;
        }
    }
    size_t head_len = (size_t)n;
    c->head_done = true;
    if (!(c->resp.flags & EM_HTTP_F_KEEP_ALIVE) || c->resp.body == EM_HTTP_BODY_UNTIL_CLOSE)
        c->close_after = true;
    if ((c->resp.flags & EM_HTTP_F_TE_CODED) && c->resp.body != EM_HTTP_BODY_NONE) {
        /* "gzip, chunked": the decoded chunks would still be coded. With no
         * body (HEAD, 204, 304: RFC 9112 §6.1, §6.3) there is nothing to
         * decode, and the head alone is well framed. */
        fail(c, EM_ENOTIMPL, false, "unsupported transfer coding", NULL);
        return false;
    }
    store_cookies(c, call);
    if (call->max_body && c->resp.body == EM_HTTP_BODY_LENGTH &&
        c->resp.content_length > call->max_body) {
        fail(c, EM_EBODYTOOLARGE, false, "the body is larger than allowed", NULL);
        return false;
    }
    em_http_body_reader_init(&c->body, c->resp.body, c->resp.content_length, &c->cl->limits);
    c->body.chunked.response = true; /* folds in its trailers are SP (RFC 9112 §5.2) */
    check_redirect(c, call);
    if (c->swallow && !call_extra_head(c, call, call->cbs->on_redirect))
        return false;
    if (!c->swallow && call->decompress && !start_decoding(c, call))
        return false;
    if (c->swallow && c->close_after) {
        complete(c); /* the redirect is all we need */
        return false;
    }
    if (!c->swallow && !call_head(c, call))
        return false;
    em_buf_consume(in, head_len);
    if (!call->paused)
        em__http_conn_set_timeout(&c->hc, TMO_BODY);
    return true;
}

static void on_eof_now(em__http_cconn *c, em_http_call *call) {
    if (!c->head_done) {
        em_buf *in = &c->hc.tcp.in;
        fail(c, c->got_byte ? EM_EPARTIAL : EM_ECONNRESET, true, "%s",
             c->got_byte ? head_trouble(c, em_slice_make(em_buf_data(in), em_buf_len(in)), 0)
                         : "the server closed the connection without answering");
        return;
    }
    bool to_close = c->body.mode == EM_HTTP_BODY_UNTIL_CLOSE;
    if (em_http_body_reader_eof(&c->body) != 0) {
        fail(c, EM_EPARTIAL, false, "the body was cut short", NULL);
        return;
    }
    /* Over TLS only the server's close_notify ends such a body: a bare
     * FIN may be an attacker's truncation (RFC 9112 §9.8, RFC 8446 §6.1). */
    em_tls_info ti;
    if (to_close && !c->swallow && em_tls_conn_info(&c->hc.tcp, &ti) == 0 &&
        !ti.peer_close_notify) {
        fail(c, EM_EPARTIAL, false,
             "the TLS connection was closed without close_notify: the body may be truncated",
             NULL);
        return;
    }
    /* A body the close ends is whole only if its coding ended too: that is
     * the one sign of a cut (RFC 1952 §2.3.1: the trailer). */
    if (c->dec && !c->swallow) {
        int rc = em_http_decoder_finish(c->dec, decoded_piece, c);
        if ((rc && decoder_failed(c, rc)) || c->call != call)
            return;
    }
    complete(c);
}

static void process(em__http_cconn *c) {
    em_http_call *call = c->call;
    if (!call || call->paused)
        return;
    if (!c->head_done && !read_head(c, call))
        goto eof;
    em_buf *in = &c->hc.tcp.in;
    while (c->call == call && !call->paused && !em_http_body_reader_done(&c->body)) {
        em_slice piece = {0};
        ssize_t n = em_http_body_reader_read(&c->body, em_buf_data(in), em_buf_len(in), &piece);
        if (n == EM_EAGAIN)
            break;
        if (n < 0) {
            fail(c, (int)n, false, "malformed response body: %s", em_strerror((int)n));
            return;
        }
        if (call->max_body && c->body.total > call->max_body) {
            fail(c, EM_EBODYTOOLARGE, false, "the body is larger than allowed", NULL);
            return;
        }
        if (c->dec && piece.len && !c->swallow) {
            int rc = em_http_decoder_feed(c->dec, piece, decoded_piece, c);
            if (c->state != CC_CLOSED)
                em_buf_consume(in, (size_t)n);
            if (rc && decoder_failed(c, rc))
                return;
            if (c->call != call)
                return;
            continue;
        }
        bool alive = c->swallow || call_body(c, call, piece);
        if (c->state == CC_CLOSED)
            return;
        em_buf_consume(in, (size_t)n);
        if (!alive)
            return;
    }
    if (c->call == call && !call->paused && em_http_body_reader_done(&c->body)) {
        if (c->dec) {
            int rc = em_http_decoder_finish(c->dec, decoded_piece, c);
            if (rc && decoder_failed(c, rc))
                return;
            if (c->call != call)
                return;
        }
        complete(c);
        return;
    }
    if (c->call == call && !call->paused)
        em__http_conn_set_timeout(&c->hc, TMO_BODY); /* progress: a new read timeout */
eof:
    if (c->eof && c->call == call && c->state != CC_CLOSED && !call->paused)
        on_eof_now(c, call);
}

void em__http_cconn_reading(em__http_cconn *c, bool on) {
    em__http_conn_reading(&c->hc, on);
    if (on)
        em__http_conn_resume_later(&c->hc); /* what was read before the pause */
    else if (c->head_done)
        em__http_conn_set_timeout(&c->hc, TMO_NONE); /* a pause is no stall */
}

void em__http_cconn_abort(em__http_cconn *c, int err) {
    em__http_conn_close(&c->hc, err);
}

void em__http_cconn_close(em__http_cconn *c, int err) {
    drop_decoder(c);
    if (c->call) {
        c->call->conn = NULL;
        c->call = NULL;
    }
    em__http_conn_close(&c->hc, err);
}

/* ---- the connection core's calls up ------------------------------------------- */

static void up_input(em_http_conn *hc) {
    em__http_cconn *c = cc_of(hc);
    if (!c->call) {
        /* bytes nobody asked for on an idle connection */
        em__http_conn_close(hc, EM_EPROTO);
        return;
    }
    c->got_byte = true;
    process(c);
}

static void up_eof(em_http_conn *hc) {
    em__http_cconn *c = cc_of(hc);
    c->eof = true;
    if (!c->call) {
        em__http_conn_close(hc, 0);
        return;
    }
    if (!c->call->paused)
        on_eof_now(c, c->call);
}

static void up_sent(em_http_conn *hc, uint64_t token) {
    em__http_cconn *c = cc_of(hc);
    em_http_call *call = c->call;
    if (!call)
        return;
    bool body_done = !call->stream || call->stream_ended;
    /* The head alone went out while a 100 is awaited: the expect wait
     * stays armed, or the body would go only at the head timeout. */
    if (body_done && !c->head_done && !c->awaiting_100 && !em__http_conn_queued(hc))
        em__http_conn_set_timeout(hc, TMO_HEADER);
    if (call->stream && call->cbs->on_sent) {
        call->depth++;
        call->cbs->on_sent(call, token);
        call->depth--;
        if (call->cancelled && !call->depth)
            em__http_call_free(call);
    }
}

static void up_throttle(em_http_conn *hc, bool on) {
    em__http_cconn *c = cc_of(hc);
    em_http_call *call = c->call;
    if (on || !call || !call->stream_full || call->stream_ended)
        return;
    call->stream_full = false;
    (void)call_writable(c, call);
}

static void up_timeout(em_http_conn *hc, int kind) {
    em__http_cconn *c = cc_of(hc);
    em_http_client *cl = c->cl;
    switch (kind) {
    case TMO_IDLE:
        em__http_conn_close(hc, 0);
        break;
    case TMO_EXPECT:
        if (c->call && c->awaiting_100)
            send_body(c); /* no 100 in time: send anyway (RFC 9110 §10.1.1) */
        break;
    case TMO_CONNECT:
        snprintf(c->err, sizeof c->err, "connect to %s port %u: connect timeout (%u ms)",
                 c->origin->connect_host, (unsigned)c->origin->connect_port,
                 cl->env.tmo_ms[TMO_CONNECT]);
        em__http_conn_close(hc, EM_ETIMEDOUT);
        break;
    case TMO_HEADER:
        if (c->call)
            em__http_call_why(c->call, "response head timeout (%u ms)", cl->env.tmo_ms[TMO_HEADER]);
        fail(c, EM_ETIMEDOUT, false, NULL, NULL);
        break;
    case TMO_BODY:
        if (c->call)
            em__http_call_why(c->call, "body read timeout (%u ms)", cl->env.tmo_ms[TMO_BODY]);
        fail(c, EM_ETIMEDOUT, false, NULL, NULL);
        break;
    default:
        if (c->call)
            em__http_call_why(c->call, "send timeout (%u ms)", cl->env.tmo_ms[TMO_WRITE]);
        fail(c, EM_ETIMEDOUT, false, NULL, NULL);
        break;
    }
}

static void up_resume(em_http_conn *hc) {
    em__http_cconn *c = cc_of(hc);
    process(c);
}

static void up_close(em_http_conn *hc, int err) {
    em__http_cconn *c = cc_of(hc);
    bool connecting = c->state == CC_CONNECTING;
    c->state = CC_CLOSED;
    if (c->call) {
        if (!err)
            err = EM_ECONNRESET;
        if (c->err[0])
            em__http_call_why(c->call, "%s", c->err);
        end_call(c, err, true);
    }
    if (connecting)
        c->origin->nconnecting--;
    c->cl->up->conn_gone(c, connecting && !err ? EM_ECONNRESET : (connecting ? err : 0));
}

static void up_free(em_http_conn *hc) {
    drop_decoder(cc_of(hc));
    free(cc_of(hc));
}

const em__http_conn_up em__http_client_conn_up = {
    .on_input = up_input,
    .on_eof = up_eof,
    .on_sent = up_sent,
    .on_throttle = up_throttle,
    .on_timeout = up_timeout,
    .on_resume = up_resume,
    .on_close = up_close,
    .on_free = up_free,
};

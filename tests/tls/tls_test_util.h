/* Loop helpers for the tls tests: a server side accepted from a blocking
 * listener with TLS attached, a client side from em_tls_connect, both
 * collecting what they read (or echoing it) and keeping the first error. */
#ifndef TLS_TEST_UTIL_H
#define TLS_TEST_UTIL_H

#include <stdio.h>
#include <string.h>

#include "certs.h"
#include "em_test.h"

typedef struct side {
    em_tcp_conn c;
    em_buf got;
    bool echo;
    bool eof, closed, connected;
    int status; /* the connect callback's */
    int err;    /* the first error on_read got */
    char reason[256];
    uint64_t sent;
    unsigned throttled;
    size_t in_cap_max; /* the largest c->in capacity on_read saw */
} side;

static inline void side_close_cb(em_tcp_conn *c) {
    EM_CONTAINER_OF(c, side, c)->closed = true;
}

static inline void side_keep_error(side *s, int err) {
    if (!s->err)
        s->err = err;
    if (!s->reason[0])
        snprintf(s->reason, sizeof s->reason, "%s", em_tls_conn_error(&s->c));
}

static inline void side_on_read(em_tcp_conn *c, ssize_t n) {
    side *s = EM_CONTAINER_OF(c, side, c);
    if (em_buf_cap(&c->in) > s->in_cap_max)
        s->in_cap_max = em_buf_cap(&c->in);
    if (n > 0) {
        em_slice d = em_buf_slice(&c->in);
        if (s->echo)
            assert_int_equal(em_tcp_conn_write(c, &d, 1, EM_TCP_WRITE_COPY, NULL), 0);
        else
            assert_int_equal(em_buf_append(&s->got, d.ptr, d.len), 0);
        em_buf_consume(&c->in, d.len);
        return;
    }
    if (n == EM_EOF) {
        s->eof = true;
        if (s->echo) /* answer the peer's close_notify with ours, then close */
            em_tcp_conn_end(c, side_close_cb);
        return;
    }
    side_keep_error(s, (int)n);
    em_tcp_conn_close(c, side_close_cb);
}

static inline void side_on_sent(em_tcp_conn *c, uint64_t token) {
    EM_CONTAINER_OF(c, side, c)->sent = token;
}

static inline void side_on_throttled(em_tcp_conn *c) {
    EM_CONTAINER_OF(c, side, c)->throttled++;
}

static const em_tcp_conn_cbs side_cbs = {side_on_read, side_on_sent, side_on_throttled, NULL};

static inline void side_on_connect(em_tcp_conn *c, int status) {
    side *s = EM_CONTAINER_OF(c, side, c);
    s->connected = true;
    s->status = status;
    if (status) {
        side_keep_error(s, status);
        em_tcp_conn_close(c, side_close_cb);
        return;
    }
    assert_int_equal(em_tcp_conn_read_start(c), 0);
}

static inline void side_init(side *s, bool echo) {
    memset(s, 0, sizeof *s);
    em_buf_init(&s->got, 0);
    s->echo = echo;
}

/* Accept one connection on l and make it a TLS server side. */
static inline void side_accept(em_loop *loop, side *s, em_tcp_listener *l, const em_tls_ctx *ctx,
                               const em_tcp_conn_opts *opts) {
    em_tcp_stream st;
    assert_int_equal(em_tcp_accept(l, &st, NULL, 5000), 0);
    assert_int_equal(em_tcp_conn_init(loop, &s->c, st.fd, &side_cbs, opts), 0);
    assert_int_equal(em_tls_attach(&s->c, ctx, NULL), 0);
    assert_int_equal(em_tcp_conn_read_start(&s->c), 0);
}

static inline void side_done(side *s) {
    em_buf_free(&s->got);
}

#endif

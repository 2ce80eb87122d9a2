/* Helpers for client tests: a scripted raw HTTP server on the test's loop
 * (it answers the n-th request head with script[n], byte for byte, so a
 * test can send what no well-behaved server would), and a recorder of
 * what a call's callbacks saw. Plain TCP: the client under test speaks
 * plain HTTP whatever EMBER_TEST_TRANSPORT says. */
#ifndef CLIENT_TEST_UTIL_H
#define CLIENT_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "ember/http.h"

#define RAW_CLOSE "<close>" /* a script step: close the connection, send nothing */
#define RAW_SILENT "<silent>" /* a script step: answer nothing, keep the connection */

typedef struct raw_server {
    em_tcp_server srv;
    em_loop *loop;
    em_sockaddr addr;
    const char *const *script; /* one per request, in arrival order over all connections */
    const size_t *script_len;  /* may be NULL; a nonzero length: a step with NULs in it */
    int nscript;
    int requests;              /* request heads seen */
    int accepted;
    int open;                  /* connections open now */
    bool close_after_each;     /* end the connection after each answer */
    bool answer_at_head;       /* answer once the head is in; drop the body as it comes */
    char last[8192];           /* the last request head (and what followed it) */
    size_t last_len;
    em_tcp_conn *last_conn;    /* the connection that got the last answer, while open */
} raw_server;

typedef struct raw_conn {
    em_tcp_conn c;
    raw_server *rs;
    bool ending;
    uint64_t skip; /* body bytes still to drop (answer_at_head) */
} raw_conn;

static void raw_closed(em_tcp_conn *c) {
    raw_conn *rc = EM_CONTAINER_OF(c, raw_conn, c);
    rc->rs->open--;
    if (rc->rs->last_conn == c)
        rc->rs->last_conn = NULL;
    free(rc);
}

static void raw_read(em_tcp_conn *c, ssize_t n) {
    raw_conn *rc = EM_CONTAINER_OF(c, raw_conn, c);
    raw_server *rs = rc->rs;
    if (n < 0) {
        em_tcp_conn_close(c, raw_closed);
        return;
    }
    for (;;) {
        size_t drop = em_buf_len(&c->in) < rc->skip ? em_buf_len(&c->in) : (size_t)rc->skip;
        em_buf_consume(&c->in, drop);
        rc->skip -= drop;
        if (rc->skip)
            return;
        em_slice in = em_buf_slice(&c->in);
        ssize_t end = em_slice_find(in, EM_SLICE_LIT("\r\n\r\n"));
        if (end < 0 || rc->ending)
            return;
        size_t head = (size_t)end + 4;
        /* a Content-Length body belongs to the request too */
        uint64_t cl = 0;
        ssize_t at = em_slice_find(em_slice_sub(in, 0, head), EM_SLICE_LIT("Content-Length: "));
        if (at >= 0)
            cl = strtoull(in.ptr + at + 16, NULL, 10);
        if (rs->answer_at_head) {
            rc->skip = cl;
            cl = 0;
        }
        if (in.len < head + cl)
            return;
        rs->last_len = head + cl < sizeof rs->last ? head + cl : sizeof rs->last - 1;
        memcpy(rs->last, in.ptr, rs->last_len);
        rs->last[rs->last_len] = 0;
        em_buf_consume(&c->in, head + cl);
        int i = rs->requests++;
        const char *step = i < rs->nscript ? rs->script[i] : RAW_CLOSE;
        size_t step_len = i < rs->nscript && rs->script_len ? rs->script_len[i] : 0;
        if (!strcmp(step, RAW_SILENT))
            continue;
        if (!strcmp(step, RAW_CLOSE)) {
            rc->ending = true;
            em_tcp_conn_close(c, raw_closed);
            return;
        }
        em_slice s = step_len ? em_slice_make(step, step_len) : em_slice_from_cstr(step);
        assert_int_equal(em_tcp_conn_write(c, &s, 1, EM_TCP_WRITE_COPY, NULL), 0);
        rs->last_conn = c;
        if (rs->close_after_each) {
            rc->ending = true;
            em_tcp_conn_end(c, raw_closed);
            return;
        }
    }
}

static const em_tcp_conn_cbs raw_cbs = {.on_read = raw_read};

static void raw_accept(em_tcp_server *srv, int fd, const em_sockaddr *peer) {
    (void)peer;
    raw_server *rs = srv->data;
    raw_conn *rc = calloc(1, sizeof *rc);
    assert_non_null(rc);
    rc->rs = rs;
    assert_int_equal(em_tcp_conn_init(rs->loop, &rc->c, fd, &raw_cbs, NULL), 0);
    assert_int_equal(em_tcp_conn_read_start(&rc->c), 0);
    rs->accepted++;
    rs->open++;
}

static inline void raw_start(raw_server *rs, em_loop *loop, const char *const *script, int n) {
    memset(rs, 0, sizeof *rs);
    rs->loop = loop;
    rs->script = script;
    rs->nscript = n;
    rs->srv.data = rs;
    em_sockaddr any = em_sockaddr_loopback4(0);
    assert_int_equal(em_tcp_server_start(loop, &rs->srv, &any, NULL, raw_accept), 0);
    assert_int_equal(em_tcp_listener_addr(&rs->srv.listener, &rs->addr), 0);
}

static inline void raw_stop(raw_server *rs) {
    em_tcp_server_close(&rs->srv);
}

/* "http://127.0.0.1:PORT" + path */
static inline char *raw_url(const raw_server *rs, const char *path) {
    static char urls[8][256];
    static int next;
    char *u = urls[next++ % 8];
    snprintf(u, 256, "http://127.0.0.1:%u%s", (unsigned)em_sockaddr_port(&rs->addr), path);
    return u;
}

/* What one call's callbacks saw. */
typedef struct rec {
    int heads, dones, err, status;
    char body[1 << 16];
    size_t body_len;
    char error[160];
    char url[256];
    char hdr[256];      /* the value of the field named by want_hdr */
    const char *want_hdr;
    unsigned redirects, connects; /* em_http_call_redirects/_connects at the end */
    char method[16];              /* em_http_call_method at the end */
    int last_status;              /* em_http_call_status at the end */
    bool cancel_in_body;
    bool pause_in_head;
    em_http_call *call;
} rec;

static void rec_head(em_http_call *call, const em_http_response *r) {
    rec *x = em_http_call_data(call);
    x->heads++;
    x->status = r->status;
    for (size_t i = 0; x->want_hdr && i < r->num_headers; i++)
        if (em_slice_eq_nocase(r->headers[i].name, em_slice_from_cstr(x->want_hdr)))
            snprintf(x->hdr, sizeof x->hdr, "%.*s", (int)r->headers[i].value.len,
                     r->headers[i].value.ptr);
    if (x->pause_in_head)
        em_http_call_pause(call);
}

static void rec_body(em_http_call *call, em_slice piece) {
    rec *x = em_http_call_data(call);
    assert_true(x->body_len + piece.len <= sizeof x->body);
    memcpy(x->body + x->body_len, piece.ptr, piece.len);
    x->body_len += piece.len;
    if (x->cancel_in_body)
        assert_int_equal(em_http_call_cancel(call), 0);
}

static void rec_done(em_http_call *call, int err) {
    rec *x = em_http_call_data(call);
    x->dones++;
    x->err = err;
    snprintf(x->error, sizeof x->error, "%s", em_http_call_error(call));
    snprintf(x->url, sizeof x->url, "%s", em_http_call_url(call));
    x->redirects = em_http_call_redirects(call);
    x->connects = em_http_call_connects(call);
    snprintf(x->method, sizeof x->method, "%s", em_http_call_method(call));
    x->last_status = em_http_call_status(call);
    /* cancelling from inside on_done is too late */
    assert_int_equal(em_http_call_cancel(call), EM_ECLOSED);
}

static const em_http_client_cbs rec_cbs = {
    .on_head = rec_head, .on_body = rec_body, .on_done = rec_done};

/* A loop, a client on it that resolves nothing (a numeric URL or a failure
 * at once) and a scripted server: what most client tests start from. */
typedef struct fixture {
    em_loop loop;
    em_http_client *cl;
    raw_server rs;
    bool closed;
} fixture;

static void fixture_client_closed(void *arg) {
    *(bool *)arg = true;
}

static inline void fixture_setup(fixture *f, const char *const *script, int n,
                                 const em_http_client_opts *o) {
    memset(f, 0, sizeof *f);
    assert_int_equal(em_loop_init(&f->loop), 0);
    raw_start(&f->rs, &f->loop, script, n);
    em_dns_resolver_opts ro = {.hosts_file = "", .servers = "127.0.0.1:9"};
    em_http_client_opts co = o ? *o : (em_http_client_opts){0};
    co.resolver_opts = &ro;
    assert_int_equal(em_http_client_new(&f->cl, &f->loop, &co), 0);
}

/* other: a second server on the loop to stop too, or NULL. */
static inline void fixture_teardown(fixture *f, raw_server *other) {
    em_http_client_close(f->cl, fixture_client_closed, &f->closed);
    EM_TEST_RUN_UNTIL(&f->loop, f->closed, 5000);
    if (other) {
        raw_stop(other);
        EM_TEST_RUN_UNTIL(&f->loop, other->open == 0, 5000);
    }
    raw_stop(&f->rs);
    EM_TEST_RUN_UNTIL(&f->loop, f->rs.open == 0, 5000);
    em_loop_run(&f->loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&f->loop), 0);
}

/* One call to its end (whatever its error). */
static inline void fixture_run(fixture *f, rec *r, const em_http_req *req) {
    r->call = NULL;
    assert_int_equal(em_http_client_do(f->cl, req, &rec_cbs, r, &r->call), 0);
    EM_TEST_RUN_UNTIL(&f->loop, r->dones, 10000);
}

#endif

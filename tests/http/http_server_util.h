/* Helpers for server tests: a server on a loop in this thread and raw
 * nonblocking client sockets driven by running the loop while waiting.
 * With EMBER_TEST_TRANSPORT=xor (ctest's *_xor runs) the server's
 * connections use the byte-transforming test transport and these helpers
 * speak it for the client, so every suite also runs through the seam. */
#ifndef HTTP_SERVER_UTIL_H
#define HTTP_SERVER_UTIL_H

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "em_test.h"
#include "ember/http.h"
#include "xor_transport.h"

typedef struct test_server {
    em_loop loop;
    em_http_server srv;
    em_sockaddr addr;
    int closed;
} test_server;

/* The client end of each fd, and what it still has to send (encoded). */
typedef struct ts_peer {
    xt_peer p;
    char *out;
    size_t out_len, out_off;
} ts_peer;
static ts_peer ts_peers[4096];

/* The test's own on_conn_open, called after the transport is attached. */
static int (*ts_user_open)(em_http_conn *c, void *app);
static inline int ts_conn_open(em_http_conn *c, void *app) {
    int rc = xt_attach(em_http_conn_tcp(c));
    return rc ? rc : ts_user_open ? ts_user_open(c, app) : 0;
}

/* opts with the test transport's hook when it is on. */
static inline em_http_server_opts ts_opts(const em_http_server_opts *opts) {
    em_http_server_opts o = *opts;
    if (xt_enabled()) {
        ts_user_open = opts->on_conn_open;
        o.on_conn_open = ts_conn_open;
    }
    return o;
}

static inline void ts_start(test_server *ts, const em_http_server_opts *opts) {
    ts->closed = 0;
    assert_int_equal(em_loop_init(&ts->loop), 0);
    em_sockaddr any = em_sockaddr_loopback4(0);
    ts->srv.data = ts;
    em_http_server_opts o = ts_opts(opts);
    assert_int_equal(em_http_server_start(&ts->loop, &ts->srv, &any, &o), 0);
    assert_int_equal(em_http_server_addr(&ts->srv, &ts->addr), 0);
}

static inline void ts_on_closed(em_http_server *srv) {
    ((test_server *)srv->data)->closed = 1;
}

/* Graceful shutdown, run until closed, and check the loop is empty. */
static inline void ts_stop(test_server *ts) {
    em_http_server_shutdown(&ts->srv, ts_on_closed);
    EM_TEST_RUN_UNTIL(&ts->loop, ts->closed, 5000);
    em_loop_run(&ts->loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&ts->loop), 0);
}

/* Start speaking (plain or xor) on a client fd of the test's own. */
static inline void ts_adopt(int fd) {
    assert_true(fd >= 0 && fd < (int)(sizeof ts_peers / sizeof ts_peers[0]));
    ts_peer *tp = &ts_peers[fd];
    free(tp->out);
    memset(tp, 0, sizeof *tp);
    xt_peer_init(&tp->p, fd);
}

static inline int ts_connect(test_server *ts) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    int r = connect(fd, &ts->addr.u.sa, em_sockaddr_len(&ts->addr));
    assert_true(r == 0 || errno == EINPROGRESS);
    ts_adopt(fd);
    return fd;
}

/* Send what is pending for fd without blocking: -1 with errno on a
 * broken connection, else 0. */
static inline int ts_flush(int fd) {
    ts_peer *tp = &ts_peers[fd];
    while (tp->out_off < tp->out_len) {
        ssize_t w =
            send(fd, tp->out + tp->out_off, tp->out_len - tp->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w <= 0)
            return w < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
        tp->out_off += (size_t)w;
    }
    return 0;
}

/* Offer n bytes without blocking: returns how many were taken (encoded
 * into the pending output when the transport is on; the rest of it goes
 * out with later calls, ts_flush or ts_pump), or -1 with errno. */
static inline ssize_t ts_send_some(int fd, const char *s, size_t n) {
    ts_peer *tp = &ts_peers[fd];
    if (!tp->p.on) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        return w < 0 && errno == EINTR ? 0 : w;
    }
    if (ts_flush(fd) < 0)
        return -1;
    if (tp->out_off < tp->out_len) {
        errno = EAGAIN;
        return -1;
    }
    size_t take = n < 16384 ? n : 16384;
    free(tp->out);
    tp->out = malloc(xt_encoded_len(take));
    assert_non_null(tp->out);
    tp->out_len = xt_encode(s, take, tp->out);
    tp->out_off = 0;
    if (ts_flush(fd) < 0)
        return -1;
    return (ssize_t)take;
}

/* Read decoded bytes without blocking: > 0, 0 at EOF, -1 with errno. */
static inline ssize_t ts_recv(int fd, void *buf, size_t len) {
    return xt_peer_read(&ts_peers[fd].p, buf, len);
}

static inline void ts_send(int fd, const char *s, size_t n) {
    while (n) {
        ssize_t w = ts_send_some(fd, s, n);
        if (w < 0 && errno == EAGAIN) {
            struct pollfd p = {fd, POLLOUT, 0};
            poll(&p, 1, 10);
            continue;
        }
        assert_true(w > 0);
        s += w;
        n -= (size_t)w;
    }
    while (ts_peers[fd].out_off < ts_peers[fd].out_len) {
        struct pollfd p = {fd, POLLOUT, 0};
        poll(&p, 1, 10);
        assert_int_equal(ts_flush(fd), 0);
    }
}
#define TS_SEND(fd, lit) ts_send((fd), "" lit, sizeof(lit) - 1)

/* Collected client input. eof: the server closed. */
typedef struct ts_in {
    char buf[1 << 16];
    size_t len;
    int eof;
} ts_in;

/* Run the loop and read from fd until pred(in) holds or timeout_ms. */
static inline void ts_pump(test_server *ts, int fd, ts_in *in, int (*pred)(ts_in *, void *),
                           void *arg, int timeout_ms) {
    uint64_t start = 0;
    em_loop_update_time(&ts->loop);
    start = em_loop_now(&ts->loop);
    while (!pred(in, arg)) {
        em_loop_run(&ts->loop, EM_RUN_NOWAIT);
        (void)ts_flush(fd);
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 1) > 0) {
            for (;;) { /* to EAGAIN: decoded bytes may wait behind a short read */
                ssize_t n = ts_recv(fd, in->buf + in->len, sizeof in->buf - 1 - in->len);
                if (n > 0) {
                    in->len += (size_t)n;
                    if (in->len < sizeof in->buf - 1)
                        continue;
                } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                    in->eof = 1;
                }
                break;
            }
            in->buf[in->len] = 0;
        }
        em_loop_update_time(&ts->loop);
        if (em_loop_now(&ts->loop) - start > (uint64_t)timeout_ms)
            fail_msg("timed out; got %zu bytes: %.*s", in->len, (int)in->len, in->buf);
    }
}

/* Count complete responses in in (heads with Content-Length bodies, or
 * chunked bodies ended by 0\r\n\r\n). */
static inline int ts_count_responses(const ts_in *in, em_http_method m) {
    size_t off = 0;
    int count = 0;
    while (off < in->len) {
        em_http_header h[64];
        em_http_response r = {.headers = h, .max_headers = 64};
        em_http_parser p;
        em_http_parser_init(&p, NULL);
        ssize_t n = em_http_parse_response(&p, in->buf + off, in->len - off, m, &r);
        if (n <= 0)
            break;
        size_t end = off + (size_t)n;
        if (r.body == EM_HTTP_BODY_LENGTH) {
            end += (size_t)r.content_length;
            if (end > in->len)
                break;
        } else if (r.body == EM_HTTP_BODY_CHUNKED) {
            const char *z = memmem(in->buf + end, in->len - end, "0\r\n\r\n", 5);
            if (!z)
                break;
            end = (size_t)(z - in->buf) + 5;
        }
        if (r.status >= 200)
            count++;
        off = end;
    }
    return count;
}

static inline int ts_pred_responses(ts_in *in, void *arg) {
    return ts_count_responses(in, EM_HTTP_GET) >= *(int *)arg;
}
static inline int ts_pred_eof(ts_in *in, void *arg) {
    return in->eof;
}

static inline void ts_wait_responses(test_server *ts, int fd, ts_in *in, int n) {
    ts_pump(ts, fd, in, ts_pred_responses, &n, 3000);
}

/* Send req on a new connection and check the answer's status (3 digits);
 * until_close: the server must close after it, saying Connection: close.
 * Returns what came back (valid until the next call). */
static inline const char *ts_expect_status(test_server *ts, const char *req, const char *status,
                                           bool until_close) {
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(ts);
    ts_send(fd, req, strlen(req));
    if (until_close)
        ts_pump(ts, fd, &in, ts_pred_eof, NULL, 3000);
    else
        ts_wait_responses(ts, fd, &in, 1);
    char want[32];
    snprintf(want, sizeof want, "HTTP/1.1 %s ", status);
    if (strncmp(in.buf, want, strlen(want)) != 0)
        fail_msg("%.60s: got %.40s, want %s", req, in.buf, status);
    if (until_close)
        assert_non_null(strstr(in.buf, "Connection: close\r\n"));
    close(fd);
    return in.buf;
}

#endif

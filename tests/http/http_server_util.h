/* Helpers for server tests: a server on a loop in this thread and raw
 * nonblocking client sockets driven by running the loop while waiting. */
#ifndef HTTP_SERVER_UTIL_H
#define HTTP_SERVER_UTIL_H

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "em_test.h"
#include "ember/http.h"

typedef struct test_server {
    em_loop loop;
    em_http_server srv;
    em_sockaddr addr;
    int closed;
} test_server;

static inline void ts_start(test_server *ts, const em_http_server_opts *opts) {
    assert_int_equal(em_loop_init(&ts->loop), 0);
    em_sockaddr any = em_sockaddr_loopback4(0);
    ts->srv.data = ts;
    assert_int_equal(em_http_server_start(&ts->loop, &ts->srv, &any, opts), 0);
    assert_int_equal(em_http_server_addr(&ts->srv, &ts->addr), 0);
}

static inline void ts_on_closed(em_http_server *srv) { ((test_server *)srv->data)->closed = 1; }

/* Graceful shutdown, run until closed, and check the loop is empty. */
static inline void ts_stop(test_server *ts) {
    em_http_server_shutdown(&ts->srv, ts_on_closed);
    EM_TEST_RUN_UNTIL(&ts->loop, ts->closed, 5000);
    em_loop_run(&ts->loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&ts->loop), 0);
}

static inline int ts_connect(test_server *ts) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    int r = connect(fd, &ts->addr.u.sa, em_sockaddr_len(&ts->addr));
    assert_true(r == 0 || errno == EINPROGRESS);
    return fd;
}

static inline void ts_send(int fd, const char *s, size_t n) {
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EAGAIN) {
            struct pollfd p = { fd, POLLOUT, 0 };
            poll(&p, 1, 10);
            continue;
        }
        assert_true(w > 0);
        s += w;
        n -= (size_t)w;
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
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 1) > 0) {
            ssize_t n = recv(fd, in->buf + in->len, sizeof in->buf - 1 - in->len, 0);
            if (n > 0)
                in->len += (size_t)n;
            else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                in->eof = 1;
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
        em_http_response r = { .headers = h, .max_headers = 64 };
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
static inline int ts_pred_eof(ts_in *in, void *arg) { return in->eof; }

static inline void ts_wait_responses(test_server *ts, int fd, ts_in *in, int n) {
    ts_pump(ts, fd, in, ts_pred_responses, &n, 3000);
}

#endif

/* Helpers for the connection suites: an em_ws on one end of a socketpair
 * (started the way the server and the client start theirs: em__ws_new,
 * the tcp connection set up in ws->up.tcp with em__ws_tcp_cbs, then
 * em__ws_start), the test playing the peer with raw bytes on the other
 * end, and a record of every callback. */
#ifndef WS_CONN_UTIL_H
#define WS_CONN_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include "conn_private.h"
#include "ws_test_util.h"

#define H_MAX_MSGS 64

typedef struct h_msg {
    int op;
    char *data;
    size_t len;
    bool last; /* parts */
} h_msg;

typedef struct harness {
    em_loop loop;
    em_ws *ws;
    int fd;   /* the peer's end */
    int role; /* the ws's */
    em_ws_opts opts;
    em_ws_cbs cbs;
    const em__ws_pmd_params *pmd; /* deflate settled, or NULL */
    int opened, closed, peer_closed, unthrottled, pings, pongs;
    int close_code, close_err, peer_close_code;
    char reason[128];
    h_msg msgs[H_MAX_MSGS];
    int nmsgs;
    uint64_t sent_token;
    char last_ping[126];
    size_t last_ping_len;
    /* what the peer read from ember */
    em_ws_frame_parser rp;
    char *rbuf;
    size_t rlen, rcap;
    bool retain_on_close;
    void (*on_msg_hook)(struct harness *h, int op, em_slice data);
} harness;

static inline void h_on_open(em_ws *ws) {
    ((harness *)em_ws_data(ws))->opened++;
}

static inline void h_push(harness *h, int op, em_slice d, bool last) {
    assert_true(h->nmsgs < H_MAX_MSGS);
    h_msg *m = &h->msgs[h->nmsgs++];
    m->op = op;
    m->len = d.len;
    m->data = malloc(d.len + 1);
    memcpy(m->data, d.ptr, d.len);
    m->data[d.len] = 0;
    m->last = last;
}

static inline void h_on_message(em_ws *ws, int op, em_slice d) {
    harness *h = em_ws_data(ws);
    h_push(h, op, d, true);
    if (h->on_msg_hook)
        h->on_msg_hook(h, op, d);
}

static inline void h_on_part(em_ws *ws, int op, em_slice d, bool last) {
    h_push(em_ws_data(ws), op, d, last);
}

static inline void h_on_ping(em_ws *ws, em_slice p) {
    harness *h = em_ws_data(ws);
    h->pings++;
    memcpy(h->last_ping, p.ptr, p.len);
    h->last_ping_len = p.len;
}

static inline void h_on_pong(em_ws *ws, em_slice p) {
    (void)p;
    ((harness *)em_ws_data(ws))->pongs++;
}

static inline void h_on_sent(em_ws *ws, uint64_t token) {
    harness *h = em_ws_data(ws);
    assert_true(token >= h->sent_token);
    h->sent_token = token;
}

static inline void h_on_unthrottled(em_ws *ws) {
    ((harness *)em_ws_data(ws))->unthrottled++;
}

static inline void h_on_peer_close(em_ws *ws, int code, em_slice reason) {
    harness *h = em_ws_data(ws);
    (void)reason;
    h->peer_closed++;
    h->peer_close_code = code;
}

static inline void h_on_close(em_ws *ws, int code, int err, em_slice reason) {
    harness *h = em_ws_data(ws);
    h->closed++;
    h->close_code = code;
    h->close_err = err;
    snprintf(h->reason, sizeof h->reason, "%.*s", (int)reason.len, reason.ptr);
    if (h->retain_on_close)
        em_ws_retain(ws);
}

/* Callbacks and options set: h->cbs and h->opts may be changed before. */
static inline void h_init(harness *h, int role) {
    memset(h, 0, sizeof *h);
    h->role = role;
    h->cbs = (em_ws_cbs){.on_open = h_on_open,
                         .on_message = h_on_message,
                         .on_ping = h_on_ping,
                         .on_pong = h_on_pong,
                         .on_sent = h_on_sent,
                         .on_unthrottled = h_on_unthrottled,
                         .on_peer_close = h_on_peer_close,
                         .on_close = h_on_close};
    h->fd = -1;
}

static inline void h_start_opts(harness *h, const em_tcp_conn_opts *topts, int sndbuf) {
    assert_int_equal(em_loop_init(&h->loop), 0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    if (sndbuf) {
        assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
        assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof sndbuf), 0);
    }
    h->ws = em__ws_new(&h->loop, (em_ws_role)h->role, &h->cbs, &h->opts, h, h->pmd, NULL);
    assert_non_null(h->ws);
    assert_int_equal(em_tcp_conn_init(&h->loop, &h->ws->up.tcp, sv[0], &em__ws_tcp_cbs, topts), 0);
    assert_int_equal(em__ws_start(h->ws), 0);
    h->fd = sv[1];
    em_ws_frame_parser_init(&h->rp,
                            h->role == EM_WS_ROLE_SERVER ? EM_WS_ROLE_CLIENT : EM_WS_ROLE_SERVER);
    h->rp.max_payload = h->rp.max_message = INT64_MAX;
    if (h->pmd)
        h->rp.rsv_allowed = EM_WS_RSV1;
}

static inline void h_start(harness *h) {
    h_start_opts(h, NULL, 0);
}

static inline uint64_t h_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One short turn of the loop. */
static inline void h_turn(harness *h) {
    (void)em_loop_run(&h->loop, EM_RUN_NOWAIT);
}

/* Turn the loop until *flag >= want or ms pass. */
static inline void h_until(harness *h, const int *flag, int want, int ms) {
    uint64_t end = h_ms() + (uint64_t)ms;
    while (*flag < want && h_ms() < end) {
        h_turn(h);
        if (*flag < want)
            usleep(200);
    }
}

static inline void h_run_ms(harness *h, int ms) {
    int never = 0;
    h_until(h, &never, 1, ms);
}

/* The peer writes raw bytes (all of them, turning the loop meanwhile). */
static inline void h_send(harness *h, const void *p, size_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(h->fd, c, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0) {
            assert_true(errno == EAGAIN);
            h_turn(h);
            usleep(100);
            continue;
        }
        c += w, n -= (size_t)w;
    }
}

/* A frame as the peer sends it: masked when the ws is a server. */
static inline size_t h_frame(harness *h, uint8_t *out, unsigned b0, const void *p, size_t n) {
    static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
    return raw_frame(out, b0, h->role == EM_WS_ROLE_SERVER, key, p, n, LEN_MIN);
}

static inline void h_send_frame(harness *h, unsigned b0, const void *p, size_t n) {
    uint8_t *buf = malloc(n + 14);
    size_t len = h_frame(h, buf, b0, p, n);
    h_send(h, buf, len);
    free(buf);
}

/* The payload h_read_frame last returned, per thread: harnesses may run on
 * several. A thread that read frames calls h_thread_done before it exits. */
static _Thread_local char *h_hold;
static inline void h_thread_done(void) {
    free(h_hold);
    h_hold = NULL;
}

/* Read the next frame ember sent, turning the loop meanwhile: returns its
 * opcode (payload in *out, valid until the next call), -1 on EOF, -2 on
 * timeout. */
static inline int h_read_frame(harness *h, em_slice *out, em_ws_frame *hdr, int ms) {
    uint64_t end = h_ms() + (uint64_t)ms;
    *out = em_slice_make("", 0);
    if (hdr)
        memset(hdr, 0, sizeof *hdr);
    for (;;) {
        if (h->rlen) {
            em_ws_frame_parser save = h->rp;
            ssize_t n = em_ws_frame_parse(&h->rp, h->rbuf, h->rlen);
            if (n > 0 && h->rlen - (size_t)n >= h->rp.frame.len) {
                em_slice s;
                assert_int_equal(em_ws_frame_payload(&h->rp, h->rbuf + n, h->rlen - (size_t)n, &s),
                                 (ssize_t)h->rp.frame.len);
                free(h_hold);
                h_hold = malloc(s.len + 1);
                memcpy(h_hold, s.ptr, s.len);
                size_t used = (size_t)n + s.len;
                memmove(h->rbuf, h->rbuf + used, h->rlen - used);
                h->rlen -= used;
                *out = em_slice_make(h_hold, s.len);
                if (hdr)
                    *hdr = h->rp.frame;
                return h->rp.frame.opcode;
            }
            assert_true(n > 0 || n == EM_EAGAIN);
            h->rp = save; /* parse the whole frame again once it is here */
        }
        if (h_ms() > end)
            return -2;
        if (h->rcap - h->rlen < 65536) {
            h->rcap = h->rcap ? h->rcap * 2 : 131072;
            h->rbuf = realloc(h->rbuf, h->rcap);
        }
        ssize_t r = recv(h->fd, h->rbuf + h->rlen, h->rcap - h->rlen, MSG_DONTWAIT);
        if (r == 0)
            return -1;
        if (r > 0) {
            h->rlen += (size_t)r;
            continue;
        }
        if (errno == ECONNRESET)
            return -1;
        assert_true(errno == EAGAIN);
        h_turn(h);
        usleep(100);
    }
}

/* Expect a close frame with code; returns its code. */
static inline int h_expect_close(harness *h, int code) {
    em_slice s;
    int op = h_read_frame(h, &s, NULL, 3000);
    assert_int_equal(op, EM_WS_OP_CLOSE);
    int got = s.len >= 2 ? ((uint8_t)s.ptr[0] << 8 | (uint8_t)s.ptr[1]) : 1005;
    if (code)
        assert_int_equal(got, code);
    return got;
}

/* Expect EOF from ember (its FIN) within ms. */
static inline void h_expect_eof(harness *h, int ms) {
    em_slice s;
    int op = h_read_frame(h, &s, NULL, ms);
    assert_int_equal(op, -1);
}

static inline void h_close_peer(harness *h) {
    if (h->fd >= 0)
        close(h->fd);
    h->fd = -1;
}

/* Close the peer's end, wait for on_close, and check the loop ends with
 * nothing alive. */
static inline void h_finish(harness *h) {
    h_close_peer(h);
    h_until(h, &h->closed, 1, 3000);
    assert_int_equal(h->closed, 1);
    h_run_ms(h, 5);
    assert_int_equal(em_loop_close(&h->loop), 0);
    for (int i = 0; i < h->nmsgs; i++)
        free(h->msgs[i].data);
    free(h->rbuf);
}

#endif

/* The HTTP server's connection state machine, end to end: the input is
 * split into pieces and fed through a socketpair to a real server on a real
 * loop (routes that answer at once, later, streamed with or without a
 * length, by reading the body in pieces with pauses, or by leaving HTTP
 * with a 101), then the client half-closes or goes away and the server shuts
 * down. Whatever the bytes, nothing may crash, leak or leave a handle on the
 * loop (em_loop_close must succeed). Byte 0 picks limits and modes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../http/exchange_internal.h"
#include "ember/http.h"
#include "fuzz.h"

static em_http_prebuilt hello;
static char sink[1 << 16];

static void h_plain(em_http_ctx *cx, const em_http_handler *h) {
    em_http_respond_prebuilt(cx, &hello);
}
static void h_echo(em_http_ctx *cx, const em_http_handler *h) {
    em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), cx->body);
}

/* Answers from a zero timer: the async responder. */
typedef struct later {
    em_timer t;
    em_http_ctx *cx;
    int chunks; /* > 0: stream this many chunks, one per tick */
} later;
static void on_abort(em_http_ctx *cx, int err) {
    later *l = cx->user;
    if (l) {
        em_timer_stop(&l->t);
        free(l);
    }
}
static const em_http_stream_cbs cbs = {.on_abort = on_abort};
static void on_later(em_timer *t) {
    later *l = EM_CONTAINER_OF(t, later, t);
    em_http_ctx *cx = l->cx;
    if (l->chunks > 0) {
        l->chunks--;
        int rc = em_http_stream_write(cx, EM_SLICE_LIT("chunk"), NULL);
        if (rc == EM_ECLOSED) { /* cx ended with this call: on_abort will not run */
            free(l);
            return;
        }
        em_timer_start(t, 0, 0);
        return;
    }
    cx->user = NULL;
    if (l->chunks == 0)
        (void)em_http_stream_end(cx);
    else
        em_http_respond_text(cx, 200, "later");
    free(l);
}
static void start_later(em_http_ctx *cx, em_loop *loop, int chunks) {
    later *l = calloc(1, sizeof *l);
    if (!l) {
        em_http_respond_text(cx, 503, "oom");
        return;
    }
    l->cx = cx;
    l->chunks = chunks;
    cx->user = l;
    em_timer_init(loop, &l->t, on_later);
    em_timer_start(&l->t, 0, 0);
}
static void h_slow(em_http_ctx *cx, const em_http_handler *h) {
    em_http_defer(cx, &cbs);
    start_later(cx, h->data, -1);
}
static void h_stream(em_http_ctx *cx, const em_http_handler *h) {
    int rc =
        em_http_stream_start(cx, 200, EM_SLICE_LIT("text/plain"), EM_HTTP_LENGTH_UNKNOWN, &cbs);
    if (rc != 0) {
        if (rc != EM_ECLOSED)
            em_http_respond_text(cx, 200, "no stream");
        return;
    }
    start_later(cx, h->data, 3);
}
static void on_piece(em_http_ctx *cx, em_slice piece, int status) {
    if (status == EM_HTTP_LAST)
        em_http_respond_text(cx, 200, "uploaded");
}
static void h_upload(em_http_ctx *cx, const em_http_handler *h) {
    if (cx->req.body == EM_HTTP_BODY_NONE || cx->body.len) {
        em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), cx->body);
        return;
    }
    em_http_defer(cx, NULL);
    if (em_http_body_read(cx, on_piece) != 0)
        em_http_respond_text(cx, 500, "body");
}

/* A 101 into an echo protocol, closed by the peer or the shutdown. */
typedef struct upg {
    em_http_upgraded u;
} upg;
static void on_upg_closed(em_tcp_conn *t) {
    free(EM_CONTAINER_OF(t, upg, u.tcp));
}
static void on_upg_read(em_tcp_conn *t, ssize_t n) {
    upg *g = EM_CONTAINER_OF(t, upg, u.tcp);
    if (n < 0) {
        em_http_upgraded_close(&g->u, on_upg_closed);
        return;
    }
    em_slice d = em_buf_slice(&t->in);
    if (em_tcp_conn_write(t, &d, 1, EM_TCP_WRITE_COPY, NULL) != 0) {
        em_http_upgraded_close(&g->u, on_upg_closed);
        return;
    }
    em_buf_consume(&t->in, d.len);
}
static const em_tcp_conn_cbs upg_cbs = {.on_read = on_upg_read};
static void on_upg_shutdown(em_http_upgraded *u, bool now) {
    em_http_upgraded_close(u, on_upg_closed);
}
static void h_upgrade(em_http_ctx *cx, const em_http_handler *h) {
    upg *g = calloc(1, sizeof *g);
    if (!g) {
        em_http_respond_text(cx, 503, "oom");
        return;
    }
    g->u.on_shutdown = on_upg_shutdown;
    int rc = em_http_upgrade(cx, 101, &g->u, &upg_cbs, on_upg_closed);
    if (rc == EM_EINVAL)
        em_http_respond_text(cx, 400, "no upgrade");
    if (rc == EM_EINVAL || rc == EM_ECLOSED) {
        free(g);
        return;
    }
    if (rc || em_tcp_conn_read_start(&g->u.tcp) != 0)
        em_http_upgraded_close(&g->u, on_upg_closed);
}

/* A body read with a pause after every piece, resumed from a timer. */
typedef struct pauser {
    em_timer t;
    em_http_ctx *cx;
} pauser;
static void on_resume_timer(em_timer *t) {
    pauser *p = EM_CONTAINER_OF(t, pauser, t);
    em_http_body_resume(p->cx);
}
static void on_paused_piece(em_http_ctx *cx, em_slice piece, int status) {
    pauser *p = cx->user;
    if (status != 0) {
        em_timer_stop(&p->t);
        free(p);
        if (status == EM_HTTP_LAST)
            em_http_respond_text(cx, 200, "paused upload");
        return;
    }
    em_http_body_pause(cx);
    em_timer_start(&p->t, 0, 0);
}
static void h_paused(em_http_ctx *cx, const em_http_handler *h) {
    pauser *p = calloc(1, sizeof *p);
    if (!p || cx->req.body == EM_HTTP_BODY_NONE || cx->body.len) {
        free(p);
        em_http_respond_text(cx, 200, "nothing to pause");
        return;
    }
    p->cx = cx;
    cx->user = p;
    em_timer_init(h->data, &p->t, on_resume_timer);
    if (em_http_body_read(cx, on_paused_piece) != 0) {
        free(p);
        em_http_respond_text(cx, 500, "body");
    }
}

/* A stream with a Content-Length, sometimes cut short. */
static void h_length(em_http_ctx *cx, const em_http_handler *h) {
    if (em_http_stream_start(cx, 200, EM_SLICE_LIT("text/plain"), 10, NULL) != 0)
        return;
    if (em_http_stream_write(cx, EM_SLICE_LIT("01234"), NULL) < 0)
        return;
    if (cx->req.version_minor == 1 && em_http_stream_write(cx, EM_SLICE_LIT("56789"), NULL) < 0)
        return;
    (void)em_http_stream_end(cx);
}

static void drain(int fd) {
    while (recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0) {
    }
}

static int closed;
static void on_closed(em_http_server *srv) {
    closed = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    data++, size--;
    if (!hello._head && em_http_prebuilt_init(&hello, 200, EM_SLICE_LIT("text/plain"),
                                              EM_SLICE_LIT("Hello, World!")) != 0)
        abort();

    em_loop loop;
    if (em_loop_init(&loop) != 0)
        abort();
    em_http_router r;
    em_http_router_init(&r);
    em_http_handler hp = {h_plain, NULL, NULL}, he = {h_echo, NULL, NULL},
                    hs = {h_slow, NULL, &loop}, hst = {h_stream, NULL, &loop},
                    hu = {h_upload, NULL, NULL}, hup = {h_upgrade, NULL, NULL},
                    hpz = {h_paused, NULL, &loop}, hl = {h_length, NULL, NULL};
    if (em_http_router_add(&r, EM_HTTP_GET, EM_SLICE_LIT("/plaintext"), &hp) ||
        em_http_router_add(&r, EM_HTTP_POST, EM_SLICE_LIT("/echo"), &he) ||
        em_http_router_add(&r, EM_HTTP_GET, EM_SLICE_LIT("/slow"), &hs) ||
        em_http_router_add(&r, EM_HTTP_GET, EM_SLICE_LIT("/stream"), &hst) ||
        em_http_router_add(&r, EM_HTTP_POST, EM_SLICE_LIT("/up/*rest"), &hu) ||
        em_http_router_add(&r, EM_HTTP_GET, EM_SLICE_LIT("/ws"), &hup) ||
        em_http_router_add(&r, EM_HTTP_POST, EM_SLICE_LIT("/pause"), &hpz) ||
        em_http_router_add(&r, EM_HTTP_GET, EM_SLICE_LIT("/len"), &hl))
        abort();
    em_http_handler root = em_http_router_as_handler(&r);
    em_http_server_opts o = {.handler = &root, .shutdown_timeout_ms = 1};
    if (mode & 1) { /* tiny limits */
        o.limits.max_start_line = 64;
        o.limits.max_header_bytes = 256;
        o.limits.max_headers = 4;
        o.limits.max_body = 100;
        o.limits.max_chunk_ext = 8;
    }
    o.stream_bodies = (mode & 2) != 0;
    o.max_requests = (mode & 4) ? 3 : 0;
    em_http_server srv = {0};
    em_sockaddr any = em_sockaddr_loopback4(0);
    if (em_http_server_start(&loop, &srv, &any, &o) != 0)
        abort();
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    em__http_pipeline_accept(&srv, sv[0], NULL, false);

    /* Feed in pieces whose sizes come from the mode and the position. */
    size_t off = 0, step = 1 + (mode >> 3);
    while (off < size) {
        size_t n = size - off < step ? size - off : step;
        ssize_t w = send(sv[1], data + off, n, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN)
            break; /* the server closed */
        if (w > 0)
            off += (size_t)w;
        for (int i = 0; i < 3; i++)
            em_loop_run(&loop, EM_RUN_NOWAIT);
        drain(sv[1]);
        step = 1 + ((step * 7 + off) % 97);
    }
    if (mode & 8)
        shutdown(sv[1], SHUT_WR); /* a client that half-closes */
    for (int i = 0; i < 8; i++) {
        em_loop_run(&loop, EM_RUN_NOWAIT);
        drain(sv[1]);
    }
    close(sv[1]);
    closed = 0;
    em_http_server_shutdown(&srv, on_closed);
    for (int i = 0; i < 10000 && !closed; i++)
        em_loop_run(&loop, EM_RUN_ONCE);
    if (!closed)
        abort();
    em_loop_run(&loop, EM_RUN_NOWAIT);
    em_http_router_free(&r);
    if (em_loop_close(&loop) != 0)
        abort(); /* a handle leaked */
    return 0;
}

/* Streaming a large response with backpressure: chunks are written while
 * the client keeps up; when the connection's queue crosses its high
 * watermark the server is told (on_throttled) and waits for
 * on_unthrottled before writing more, so memory stays bounded however
 * slowly the client reads. HTTP/1.0 clients cannot take chunked bodies:
 * they get a short, complete answer instead.
 *
 *   stream_server [--port N]
 *   curl http://127.0.0.1:N/stream?mb=64 -o /dev/null --limit-rate 2M
 */
#include "example.h"

enum { CHUNK = 64 * 1024 };

typedef struct stream {
    em_http_ctx *cx;
    unsigned long left; /* chunks still to send */
} stream;

static char chunk[CHUNK];

static void pump(stream *s) {
    while (s->left && !em_http_stream_throttled(s->cx)) {
        int rc = em_http_stream_write(s->cx, em_slice_make(chunk, CHUNK), NULL);
        if (rc == EM_ENOBUFS)
            return; /* full: on_unthrottled calls pump again */
        if (rc)     /* the client is gone: on_abort already freed s */
            return;
        s->left--;
    }
    if (!s->left) {
        em_http_stream_end(s->cx);
        free(s);
    }
}

static void on_unthrottled(em_http_ctx *cx) { pump(cx->user); }
static void on_abort(em_http_ctx *cx, int err) {
    fprintf(stderr, "stream aborted: %s\n", em_strerror(err));
    free(cx->user);
}
static const em_http_stream_cbs cbs = { .on_unthrottled = on_unthrottled, .on_abort = on_abort };

static void handle_stream(em_http_ctx *cx, const em_http_handler *h) {
    uint64_t mb = 4;
    if (em_slice_starts_with(cx->query, EM_SLICE_LIT("mb=")) &&
        (em_slice_to_u64(em_slice_sub(cx->query, 3, cx->query.len - 3), &mb) != 0 || mb > 4096)) {
        em_http_respond_text(cx, 400, "mb must be 0..4096\n");
        return;
    }
    stream *s = malloc(sizeof *s);
    if (!s) {
        em_http_respond_text(cx, 503, "busy\n");
        return;
    }
    s->cx = cx;
    s->left = (unsigned long)mb * (1024 * 1024 / CHUNK);
    cx->user = s;
    int rc = em_http_stream_start(cx, 200, EM_SLICE_LIT("application/octet-stream"), &cbs);
    if (rc == EM_ENOTSUP) { /* HTTP/1.0 */
        free(s);
        em_http_respond_text(cx, 200, "HTTP/1.0: no chunked streaming, ask with HTTP/1.1\n");
        return;
    }
    if (rc) { /* EM_ECLOSED: cx is gone, and on_abort was not reached */
        free(s);
        return;
    }
    pump(s);
}

int main(int argc, char **argv) {
    static const char *const names[] = { "--port", NULL };
    example_args(argc, argv, "usage: stream_server [--port N]", names);
    memset(chunk, 'x', sizeof chunk);
    em_http_router r;
    em_http_router_init(&r);
    static const em_http_handler h = { handle_stream, NULL, NULL };
    if (em_http_router_add(&r, EM_HTTP_GET, EM_SLICE_LIT("/stream"), (void *)&h) != 0)
        return 1;
    em_http_handler root = em_http_router_as_handler(&r);
    em_http_server_opts opts = { .handler = &root };
    em_sockaddr addr = em_sockaddr_loopback4((uint16_t)example_arg(argc, argv, "--port", 8080, 65535));
    int rc = em_http_serve(&addr, &opts, example_ready, NULL);
    em_http_router_free(&r);
    if (rc)
        fprintf(stderr, "stream_server: %s\n", em_strerror(rc));
    return rc ? 1 : 0;
}

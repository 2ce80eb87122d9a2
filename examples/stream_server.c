/* Streaming a large response with backpressure: chunks are written while
 * the client keeps up; a write that answers EM_HTTP_FULL means the client
 * reads slowly, and on_unthrottled says when to go on, so memory stays
 * bounded however slowly the client reads. An HTTP/1.0 client gets the
 * same stream, delimited by the close instead of chunked.
 *
 *   stream_server [--port N]
 *   curl http://127.0.0.1:N/stream?mb=64 -o /dev/null --limit-rate 2M
 */
#include "example.h"

enum { CHUNK = 64 * 1024 };

static char chunk[CHUNK];

/* cx->user counts the chunks still to send. */
static void aborted(int err) {
    fprintf(stderr, "stream aborted: %s\n", em_strerror(err));
}

static void pump(em_http_ctx *cx) {
    uintptr_t left = (uintptr_t)cx->user;
    int rc = 0;
    while (left && rc == 0) {
        rc = em_http_stream_write(cx, em_slice_make(chunk, CHUNK), NULL);
        if (rc < 0) { /* the client is gone: cx ended with this call */
            aborted(rc);
            return;
        }
        left--;
    }
    cx->user = (void *)left;
    if (!left)
        em_http_stream_end(cx);
}

/* The other way the client's leaving is told: from the loop. */
static void on_abort(em_http_ctx *cx, int err) {
    aborted(err);
}
static const em_http_stream_cbs cbs = {.on_unthrottled = pump, .on_abort = on_abort};

static void handle_stream(em_http_ctx *cx) {
    uint64_t mb = 4;
    if (em_slice_starts_with(cx->query, EM_SLICE_LIT("mb=")) &&
        (em_slice_to_u64(em_slice_sub(cx->query, 3, cx->query.len - 3), &mb) != 0 || mb > 4096)) {
        em_http_respond_text(cx, 400, "mb must be 0..4096\n");
        return;
    }
    cx->user = (void *)(uintptr_t)(mb * (1024 * 1024 / CHUNK));
    if (em_http_stream_start(cx, 200, EM_SLICE_LIT("application/octet-stream"),
                             EM_HTTP_LENGTH_UNKNOWN, &cbs) == 0)
        pump(cx);
}

int main(int argc, char **argv) {
    static const char *const names[] = {"--port", NULL};
    example_args(argc, argv, "usage: stream_server [--port N]", names);
    memset(chunk, 'x', sizeof chunk);
    em_http_router r;
    em_http_router_init(&r);
    if (em_http_route(&r, EM_HTTP_GET, "/stream", handle_stream) != 0)
        return 1;
    em_http_server_opts opts = {.router = &r};
    em_sockaddr addr =
        em_sockaddr_loopback4((uint16_t)example_arg(argc, argv, "--port", 8080, 65535));
    int rc = em_http_serve(&addr, &opts, example_ready, NULL);
    em_http_router_free(&r);
    if (rc)
        fprintf(stderr, "stream_server: %s\n", em_strerror(rc));
    return rc ? 1 : 0;
}

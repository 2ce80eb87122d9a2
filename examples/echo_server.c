/* The conformance server: what the benchmarks and interop tests talk to.
 *
 *   echo_server [--port N] [--workers N] [--host ADDR] [--echo stream|whole]
 *               [--tls-cert FILE --tls-key FILE] [--ws-max-message BYTES]
 *
 *   GET  /plaintext       -> "Hello, World!" (text/plain)
 *   GET  /delay?ms=N      -> "delayed N" after N ms (0..60000), from a timer
 *   GET  /stream?kb=N     -> N KiB (0..1048576) of "abc...zabc...", chunked,
 *                            written as fast as the client reads
 *   POST /echo            -> the request body back as it arrives (up to
 *                            1 GiB), with its Content-Type; Content-Length
 *                            if the request had one, chunked otherwise
 *   GET  /ws              -> a WebSocket (RFC 6455) that sends every message
 *                            back unchanged (text as text, binary as binary);
 *                            pings get pongs, a close gets a close, and
 *                            permessage-deflate is accepted when offered
 *   anything else         -> 404; a bad ms or kb -> 400 with the reason
 *
 * --echo whole: POST /echo answers once the whole body is in (up to ember's
 * default 10 MiB; more gets 413), as a client or proxy needs that stops
 * sending the body once the response begins: nginx does.
 *
 * --tls-cert/--tls-key (PEM: the chain, leaf first, and its key): the same
 * over HTTPS, with ALPN "http/1.1" and ember's TLS defaults (and wss://).
 *
 * --ws-max-message BYTES: the longest WebSocket message /ws takes, 1 and up
 * (default 16 MiB); a longer one closes the connection with 1009.
 *
 * Backpressure both ways: a stream or an echo waits while the client reads
 * slowly, and an echo stops reading the upload meanwhile, so memory stays
 * bounded however many slow clients there are.
 *
 * Prints "listening on HOST:PORT" once every worker listens; SIGINT or
 * SIGTERM shut it down gracefully. */
#include <inttypes.h>

#include "example.h"

#define USAGE                                                                                      \
    "usage: echo_server [--port N] [--workers N] [--host ADDR] [--echo stream|whole]\n"            \
    "                   [--tls-cert FILE --tls-key FILE] [--ws-max-message BYTES]\n"               \
    "  GET /plaintext, GET /delay?ms=N, GET /stream?kb=N, POST /echo, GET /ws (WebSocket echo)"

enum { STREAM_PIECE = 64 * 1024 };

static em_http_prebuilt hello;
static bool echo_whole;                  /* --echo whole; set before the workers start */
static char alphabet[STREAM_PIECE + 26]; /* "abc...z" repeated: any offset mod 26 */

static void plaintext(em_http_ctx *cx, const em_http_handler *h) {
    em_http_respond_prebuilt(cx, &hello);
}

/* The query value of name as a number up to max; false (after answering
 * 400) if it is missing or not one. */
static bool query_num(em_http_ctx *cx, const char *name, uint64_t max, uint64_t *out) {
    em_slice v;
    if (em_http_query_get(cx->query, em_slice_from_cstr(name), &v) &&
        em_slice_to_u64(v, out) == 0 && *out <= max)
        return true;
    char text[64];
    snprintf(text, sizeof text, "%s must be 0..%" PRIu64 "\n", name, max);
    em_http_respond_text(cx, 400, text);
    return false;
}

/* ---- GET /delay?ms=N: a deferred answer ------------------------------------ */

typedef struct delay {
    em_timer timer;
    em_http_ctx *cx;
    uint64_t ms;
} delay;

static void delay_done(em_timer *t) {
    delay *d = t->data;
    em_http_ctx *cx = d->cx;
    char text[32];
    snprintf(text, sizeof text, "delayed %" PRIu64, d->ms);
    free(d);
    em_http_respond_text(cx, 200, text); /* EM_ECLOSED: cx is released all the same */
}

static void delay_abort(em_http_ctx *cx, int err) {
    delay *d = cx->user;
    em_timer_stop(&d->timer);
    free(d);
}

static void handle_delay(em_http_ctx *cx, const em_http_handler *h) {
    static const em_http_stream_cbs cbs = {.on_abort = delay_abort};
    uint64_t ms;
    if (!query_num(cx, "ms", 60000, &ms))
        return;
    delay *d = malloc(sizeof *d);
    if (!d) {
        em_http_respond_text(cx, 503, "out of memory\n");
        return;
    }
    d->cx = cx;
    d->ms = ms;
    cx->user = d;
    em_http_defer(cx, &cbs);
    em_timer_init(em_http_ctx_loop(cx), &d->timer, delay_done);
    d->timer.data = d;
    em_timer_start(&d->timer, ms, 0);
}

/* ---- GET /stream?kb=N: a chunked body written with backpressure ------------- */

typedef struct stream {
    uint64_t sent, size;
} stream;

/* Write until done or the queue is full; on_unthrottled calls it again. */
static void stream_pump(em_http_ctx *cx) {
    stream *s = cx->user;
    while (s->sent < s->size) {
        uint64_t n = s->size - s->sent < STREAM_PIECE ? s->size - s->sent : STREAM_PIECE;
        int rc = em_http_stream_write(cx, em_slice_make(alphabet + s->sent % 26, (size_t)n), NULL);
        if (rc < 0) { /* EM_ECLOSED: cx is gone and on_abort will not run */
            free(s);
            return;
        }
        s->sent += n;
        if (rc == EM_HTTP_FULL)
            return;
    }
    free(s);
    em_http_stream_end(cx);
}

static void stream_abort(em_http_ctx *cx, int err) {
    free(cx->user);
}

static void handle_stream(em_http_ctx *cx, const em_http_handler *h) {
    static const em_http_stream_cbs cbs = {.on_unthrottled = stream_pump, .on_abort = stream_abort};
    uint64_t kb;
    if (!query_num(cx, "kb", 1048576, &kb))
        return;
    stream *s = malloc(sizeof *s);
    if (!s) {
        em_http_respond_text(cx, 503, "out of memory\n");
        return;
    }
    *s = (stream){.size = kb * 1024};
    cx->user = s;
    int rc =
        em_http_stream_start(cx, 200, EM_SLICE_LIT("text/plain"), EM_HTTP_LENGTH_UNKNOWN, &cbs);
    if (rc < 0) {
        free(s); /* EM_ECLOSED: cx is gone and on_abort will not run */
        return;
    }
    stream_pump(cx);
}

/* ---- POST /echo: the body back as it arrives -------------------------------- */
/* No state of our own: each piece is written as it comes, and a full queue
 * pauses the upload until the client has read enough of the echo. */

static void echo_unthrottled(em_http_ctx *cx) {
    em_http_body_resume(cx);
}

static em_slice echo_type(const em_http_ctx *cx) {
    em_slice ct = em_http_request_header(cx, "Content-Type");
    return ct.len ? ct : EM_SLICE_LIT("application/octet-stream");
}

/* The head goes with the first piece, not before: an upload malformed
 * from its first chunk line still gets ember's 400 (or 413), as a head
 * already sent could not be taken back (RFC 9112 §7.1). */
static int echo_start(em_http_ctx *cx) {
    static const em_http_stream_cbs cbs = {.on_unthrottled = echo_unthrottled};
    int64_t len = cx->req.flags & EM_HTTP_F_CONTENT_LENGTH ? (int64_t)cx->req.content_length
                                                           : EM_HTTP_LENGTH_UNKNOWN;
    cx->user = cx; /* started */
    return em_http_stream_start(cx, 200, echo_type(cx), len, &cbs);
}

static void echo_piece(em_http_ctx *cx, em_slice piece, int status) {
    if (status < 0)
        return; /* the upload broke: cx ends when we return */
    if (!cx->user && echo_start(cx) < 0)
        return; /* EM_ECLOSED: cx ended */
    int rc = em_http_stream_write(cx, piece, NULL);
    if (rc < 0)
        return; /* EM_ECLOSED: cx ended */
    if (status == EM_HTTP_LAST)
        em_http_stream_end(cx);
    else if (rc == EM_HTTP_FULL)
        em_http_body_pause(cx);
}

static void echo(em_http_ctx *cx, const em_http_handler *h) {
    if (cx->req.body == EM_HTTP_BODY_NONE || echo_whole) {
        em_http_respond(cx, 200, echo_type(cx), cx->body); /* whole, or none */
        return;
    }
    /* Reading first, then the head (with the first piece): a response that
     * starts while its body is still being read keeps the connection alive
     * if the body ends. */
    cx->user = NULL;
    int rc = em_http_body_read(cx, echo_piece);
    if (rc == EM_EINVAL) /* not with stream_bodies */
        em_http_respond_text(cx, 500, "cannot stream the body\n");
    /* EM_ECLOSED: the client is gone and cx ended */
}

/* ---- GET /ws: a WebSocket echo ----------------------------------------------- */
/* Each message goes back as it came. A client that sends faster than it
 * reads fills its queue up to max_queue; then it is closed rather than
 * buffered for without bound. */

static void ws_message(em_ws *ws, int opcode, em_slice data) {
    if (em_ws_send(ws, opcode, data, NULL) == EM_ENOBUFS)
        em_ws_close(ws, EM_WS_CLOSE_POLICY, EM_SLICE_LIT("reading too slowly"));
}

static void ws_close(em_ws *ws, int code, int err, em_slice reason) {}

int main(int argc, char **argv) {
    static const char *const names[] = {"--port",     "--workers", "--host",           "--echo",
                                        "--tls-cert", "--tls-key", "--ws-max-message", NULL};
    example_args(argc, argv, USAGE, names);
    const char *host = "127.0.0.1", *mode = "stream", *cert = NULL, *key = NULL;
    unsigned port = example_arg(argc, argv, "--port", 8080, 65535);
    unsigned workers = example_arg(argc, argv, "--workers", 1, 1024);
    unsigned ws_max =
        example_arg(argc, argv, "--ws-max-message", EM_WS_MAX_MESSAGE_DEFAULT, 0xffffffffu);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--host"))
            host = argv[i + 1];
        else if (!strcmp(argv[i], "--echo"))
            mode = argv[i + 1];
        else if (!strcmp(argv[i], "--tls-cert"))
            cert = argv[i + 1];
        else if (!strcmp(argv[i], "--tls-key"))
            key = argv[i + 1];
    }
    echo_whole = !strcmp(mode, "whole");
    em_ip ip;
    if (em_ip_parse(&ip, host, strlen(host)) != 0 || port > 65535 ||
        (!echo_whole && strcmp(mode, "stream")) || !cert != !key || ws_max == 0) {
        fprintf(stderr, USAGE "\n");
        return 2;
    }
    em_sockaddr addr;
    em_sockaddr_from_ip(&addr, &ip, (uint16_t)port);
    for (size_t i = 0; i < sizeof alphabet; i++)
        alphabet[i] = (char)('a' + i % 26);

    /* One server context for every connection of every worker. */
    em_tls_ctx *tls = NULL;
    if (cert) {
        em_tls_ctx_opts tls_opts = {.cert = {.cert_file = cert, .key_file = key},
                                    .alpn = "http/1.1,http/1.0"};
        int err = em_tls_ctx_new(&tls, EM_TLS_SERVER, &tls_opts);
        if (err) {
            char why[256];
            fprintf(stderr, "echo_server: %s: %s\n", em_strerror(err),
                    em_tls_last_error(why, sizeof why));
            return 1;
        }
    }

    if (em_http_prebuilt_init(&hello, 200, EM_SLICE_LIT("text/plain"),
                              EM_SLICE_LIT("Hello, World!")) != 0)
        return 1;
    em_http_router router;
    em_http_router_init(&router);
    static const em_http_handler h_plain = {plaintext, NULL, NULL};
    static const em_http_handler h_delay = {handle_delay, NULL, NULL};
    static const em_http_handler h_stream = {handle_stream, NULL, NULL};
    static const em_http_handler h_echo = {echo, NULL, NULL};
    if (em_http_router_add(&router, EM_HTTP_GET, EM_SLICE_LIT("/plaintext"), (void *)&h_plain) ||
        em_http_router_add(&router, EM_HTTP_GET, EM_SLICE_LIT("/delay"), (void *)&h_delay) ||
        em_http_router_add(&router, EM_HTTP_GET, EM_SLICE_LIT("/stream"), (void *)&h_stream) ||
        em_http_router_add(&router, EM_HTTP_POST, EM_SLICE_LIT("/echo"), (void *)&h_echo))
        return 1;
    static const em_ws_cbs ws_cbs = {.on_message = ws_message, .on_close = ws_close};
    static em_ws_server_opts ws_opts = {.cbs = &ws_cbs, .ws.deflate.enable = true};
    ws_opts.ws.max_message = ws_max;
    if (em_ws_route(&router, "/ws", &ws_opts))
        return 1;
    em_http_handler root = em_http_router_as_handler(&router);

    em_http_server_opts opts = {.handler = &root,
                                .limits = {.max_body = echo_whole ? 0 : (uint64_t)1 << 30},
                                .stream_bodies = !echo_whole,
                                .workers = workers,
                                .pin_workers = workers > 1,
                                .tls = tls};
    int rc = em_http_serve(&addr, &opts, example_ready, NULL);
    if (rc)
        fprintf(stderr, "echo_server: %s\n", em_strerror(rc));
    em_http_router_free(&router);
    em_http_prebuilt_free(&hello);
    em_tls_ctx_free(tls);
    return rc ? 1 : 0;
}

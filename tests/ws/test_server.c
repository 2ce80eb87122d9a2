/* The server side of the opening handshake (RFC 6455 §4.2), end to end: an
 * ember HTTP server on 127.0.0.1 with WebSocket routes beside an ordinary
 * one, and a raw-socket client in this file that writes requests and
 * masked frames by hand and reads the answers byte for byte. Through
 * http_server_util.h the suite also runs over the xor test transport. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../http/http_server_util.h"
#include "ember/ws.h"

#define KEY    "dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/* ---- the server: what its callbacks saw ------------------------------------ */

static struct seen {
    int opens, closes, messages;
    int close_code, close_err;
    char protocol[32];
    bool deflate;
    void *data;
    int accept_rc;
    char origin[64];
} seen;

static int marker;

static void on_open(em_ws *ws) {
    seen.opens++;
    snprintf(seen.protocol, sizeof seen.protocol, "%s", em_ws_protocol(ws));
    seen.deflate = em_ws_deflate_on(ws);
    seen.data = em_ws_data(ws);
}

static void on_message(em_ws *ws, int opcode, em_slice data) {
    seen.messages++;
    assert_int_equal(em_ws_send(ws, opcode, data, NULL), 0);
}

static void on_close(em_ws *ws, int code, int err, em_slice reason) {
    seen.closes++;
    seen.close_code = code;
    seen.close_err = err;
}

static const em_ws_cbs echo_cbs = {
    .on_open = on_open, .on_message = on_message, .on_close = on_close};

static bool origin_ok(em_http_ctx *cx, em_slice origin, void *arg) {
    assert_ptr_equal(arg, &marker);
    snprintf(seen.origin, sizeof seen.origin, "%.*s", (int)origin.len, origin.ptr);
    return !em_slice_eq(origin, EM_SLICE_LIT("http://evil.example"));
}

static const char *const main_protocols[] = {"superchat", "chat", NULL};
static const char *const strict_protocols[] = {"chat", NULL};

static em_ws_server_opts opts_main = {.cbs = &echo_cbs,
                                      .protocols = main_protocols,
                                      .check_origin = origin_ok,
                                      .arg = &marker,
                                      .ws.deflate.enable = true};
static em_ws_server_opts opts_plain = {.cbs = &echo_cbs};
/* At most one connection of the process keeps a compression context. */
static em_ws_server_opts opts_capped = {.cbs = &echo_cbs,
                                        .ws.deflate = {.enable = true, .max_takeover = 1}};
static em_ws_server_opts opts_strict = {
    .cbs = &echo_cbs, .protocols = strict_protocols, .require_protocol = true};

/* No on_close: a programming error, answered 500. */
static const em_ws_cbs no_close_cbs = {.on_message = on_message};
static em_ws_server_opts opts_broken = {.cbs = &no_close_cbs};

static void broken(em_http_ctx *cx) {
    seen.accept_rc = em_ws_accept(cx, &opts_broken, NULL);
}

static void hello(em_http_ctx *cx) {
    em_http_respond_text(cx, 200, "hello");
}

/* One path for both: a page for browsers, a WebSocket for the rest. */
static void both(em_http_ctx *cx) {
    if (!em_ws_is_upgrade(cx)) {
        em_http_respond_text(cx, 200, "a page");
        return;
    }
    seen.accept_rc = em_ws_accept(cx, &opts_plain, &marker);
}

typedef struct server {
    test_server ts;
    em_http_router router;
    em_http_handler root;
} server;

static void server_start_with(server *s, unsigned shutdown_ms, bool stream_bodies) {
    memset(&seen, 0, sizeof seen);
    seen.accept_rc = -12345;
    em_http_router_init(&s->router);
    assert_int_equal(em_ws_route(&s->router, "/ws", &opts_main), 0);
    assert_int_equal(em_ws_route(&s->router, "/plain", &opts_plain), 0);
    assert_int_equal(em_ws_route(&s->router, "/strict", &opts_strict), 0);
    assert_int_equal(em_ws_route(&s->router, "/capped", &opts_capped), 0);
    assert_int_equal(em_http_route(&s->router, EM_HTTP_GET, "/hello", hello), 0);
    assert_int_equal(em_http_route(&s->router, EM_HTTP_GET, "/both", both), 0);
    assert_int_equal(em_http_route(&s->router, EM_HTTP_GET, "/broken", broken), 0);
    s->root = em_http_router_as_handler(&s->router);
    em_http_server_opts o = {
        .handler = &s->root, .shutdown_timeout_ms = shutdown_ms, .stream_bodies = stream_bodies};
    ts_start(&s->ts, &o);
}

static void server_start(server *s) {
    server_start_with(s, 3000, false);
}

static void server_stop(server *s) {
    ts_stop(&s->ts);
    em_http_router_free(&s->router);
}

/* ---- the client: raw bytes ------------------------------------------------------ */

typedef struct client {
    server *s;
    int fd;
    ts_in in;
    size_t off; /* bytes of in.buf consumed: the response head, frames */
    em_http_header h[32];
    em_http_response resp;
} client;

static void client_connect(client *c, server *s) {
    memset(c, 0, sizeof *c);
    c->s = s;
    c->fd = ts_connect(&s->ts);
}

static void client_close(client *c) {
    close(c->fd);
    c->fd = -1;
}

static int pred_head(ts_in *in, void *arg) {
    return memmem(in->buf + *(size_t *)arg, in->len - *(size_t *)arg, "\r\n\r\n", 4) != NULL;
}

static int pred_len(ts_in *in, void *arg) {
    return in->len >= *(size_t *)arg;
}

/* Wait for the response head to a request of method m after c->off and
 * parse it; with a body (Content-Length), wait for that too. Returns the
 * status. */
static int client_response_to(client *c, em_http_method m) {
    ts_pump(&c->s->ts, c->fd, &c->in, pred_head, &c->off, 3000);
    c->resp = (em_http_response){.headers = c->h, .max_headers = 32};
    em_http_parser p;
    em_http_parser_init(&p, NULL);
    ssize_t n = em_http_parse_response(&p, c->in.buf + c->off, c->in.len - c->off, m, &c->resp);
    assert_true(n > 0);
    c->off += (size_t)n;
    if (c->resp.body == EM_HTTP_BODY_LENGTH) {
        size_t want = c->off + (size_t)c->resp.content_length;
        ts_pump(&c->s->ts, c->fd, &c->in, pred_len, &want, 3000);
        c->off = want;
    }
    return c->resp.status;
}

static int client_response(client *c) {
    return client_response_to(c, EM_HTTP_GET);
}

static em_slice header(client *c, const char *name) {
    const em_http_header *h =
        em_http_header_find(c->resp.headers, c->resp.num_headers, em_slice_from_cstr(name));
    return h ? h->value : (em_slice){"", 0};
}

static bool header_is(client *c, const char *name, const char *value) {
    return em_slice_eq(header(c, name), em_slice_from_cstr(value));
}

static bool has_header(client *c, const char *name) {
    return em_http_header_find(c->resp.headers, c->resp.num_headers, em_slice_from_cstr(name)) !=
           NULL;
}

/* A handshake request for path with extra header lines. */
static size_t handshake_text(char *out, size_t cap, const char *path, const char *extra) {
    int n = snprintf(out, cap,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     path, extra);
    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

static int client_handshake(client *c, const char *path, const char *extra) {
    char req[2048];
    size_t n = handshake_text(req, sizeof req, path, extra);
    ts_send(c->fd, req, n);
    return client_response(c);
}

/* A masked frame from the client. */
static size_t frame(char *out, size_t cap, int b0, const void *payload, size_t len) {
    em_ws_frame f = {.len = len,
                     .opcode = (uint8_t)(b0 & 0xf),
                     .fin = (b0 & 0x80) != 0,
                     .rsv = (uint8_t)(b0 & 0x70)};
    ssize_t n = em_ws_frame_write_masked(out, cap, &f, payload, em_ws_random_os, NULL);
    assert_true(n > 0);
    return (size_t)n;
}

static void client_send(client *c, int b0, const void *payload, size_t len) {
    char *buf = malloc(len + EM_WS_MAX_HEADER);
    assert_non_null(buf);
    ts_send(c->fd, buf, frame(buf, len + EM_WS_MAX_HEADER, b0, payload, len));
    free(buf);
}

/* A frame from the server, read by hand (RFC 6455 §5.2): never masked. */
typedef struct rframe {
    int b0;
    size_t len;
    const char *payload;
} rframe;

/* The size of the whole frame at in[off], or 0 while incomplete. */
static size_t frame_at(const ts_in *in, size_t off, rframe *f) {
    const unsigned char *p = (const unsigned char *)in->buf + off;
    size_t have = in->len - off, hl = 2;
    if (have < 2)
        return 0;
    assert_int_equal(p[1] & 0x80, 0); /* a server never masks */
    uint64_t len = p[1] & 0x7f;
    if (len == 126)
        hl = 4;
    else if (len == 127)
        hl = 10;
    if (have < hl)
        return 0;
    if (hl > 2) {
        len = 0;
        for (size_t i = 2; i < hl; i++)
            len = len << 8 | p[i];
    }
    if (have < hl + len)
        return 0;
    if (f)
        *f = (rframe){p[0], (size_t)len, (const char *)p + hl};
    return hl + (size_t)len;
}

static int pred_frame(ts_in *in, void *arg) {
    return frame_at(in, *(size_t *)arg, NULL) > 0;
}

/* The next frame from the server. Its payload is valid until the next
 * call (the input is compacted). */
static rframe client_frame(client *c) {
    if (c->off > 0) {
        memmove(c->in.buf, c->in.buf + c->off, c->in.len - c->off);
        c->in.len -= c->off;
        c->off = 0;
    }
    ts_pump(&c->s->ts, c->fd, &c->in, pred_frame, &c->off, 3000);
    rframe f;
    c->off += frame_at(&c->in, c->off, &f);
    return f;
}

static void expect_frame(client *c, int b0, const void *payload, size_t len) {
    rframe f = client_frame(c);
    assert_int_equal(f.b0, b0);
    assert_int_equal(f.len, len);
    assert_memory_equal(f.payload, payload, len);
}

/* The close handshake from the client's side: send ours, get the echo,
 * end our side (the server waits for that FIN, RFC 6455 §7.1.1), then the
 * server closes the TCP connection. */
static void client_close_handshake(client *c, int code) {
    char p[2] = {(char)(code >> 8), (char)code};
    client_send(c, 0x88, p, 2);
    expect_frame(c, 0x88, p, 2);
    assert_int_equal(shutdown(c->fd, SHUT_WR), 0);
    ts_pump(&c->s->ts, c->fd, &c->in, ts_pred_eof, NULL, 3000);
}

static int pred_closes(ts_in *in, void *arg) {
    return seen.closes >= *(int *)arg;
}

static void wait_closes(client *c, int n) {
    ts_pump(&c->s->ts, c->fd, &c->in, pred_closes, &n, 3000);
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_upgrade_101(void **state) {
    server s;
    server_start(&s);
    client c;
    client_connect(&c, &s);
    assert_int_equal(client_handshake(&c, "/ws", ""), 101);
    assert_true(header_is(&c, "Upgrade", "websocket"));
    assert_true(em_http_list_has_token(header(&c, "Connection"), EM_SLICE_LIT("upgrade")));
    assert_true(header_is(&c, "Sec-WebSocket-Accept", ACCEPT));
    assert_false(has_header(&c, "Sec-WebSocket-Protocol")); /* none offered */
    assert_false(has_header(&c, "Sec-WebSocket-Extensions"));
    assert_false(has_header(&c, "Content-Length"));
    assert_int_equal(em_http_server_connections(&s.ts.srv), 0); /* not HTTP any more */
    client_send(&c, 0x81, "hi", 2);
    expect_frame(&c, 0x81, "hi", 2);
    assert_int_equal(seen.opens, 1);
    assert_string_equal(seen.protocol, "");
    assert_false(seen.deflate);
    assert_null(seen.data); /* em_ws_route passes none */
    assert_string_equal(seen.origin, "");
    client_close_handshake(&c, 1000);
    wait_closes(&c, 1);
    assert_int_equal(seen.close_code, 1000);
    assert_int_equal(seen.close_err, 0);
    client_close(&c);
    server_stop(&s);
}

/* One refused request on a fresh connection: its status, and that no
 * em_ws was made. */
static client *refused(server *s, const char *req, int status) {
    static client c;
    client_connect(&c, s);
    ts_send(c.fd, req, strlen(req));
    int got = client_response_to(&c, strncmp(req, "HEAD ", 5) ? EM_HTTP_GET : EM_HTTP_HEAD);
    if (got != status)
        fail_msg("%d, not %d, for:\n%s", got, status, req);
    assert_int_equal(seen.opens, 0);
    return &c;
}

#define REQ(method, path, version, extra)                                                          \
    method " " path " " version "\r\nHost: 127.0.0.1\r\n" extra "\r\n"
#define UPG  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
#define HKEY "Sec-WebSocket-Key: " KEY "\r\n"
#define VER  "Sec-WebSocket-Version: 13\r\n"

static void test_refusals(void **state) {
    server s;
    server_start(&s);
    client *c;

    c = refused(&s, REQ("POST", "/both", "HTTP/1.1", UPG HKEY VER), 405);
    assert_true(header_is(c, "Allow", "GET, HEAD")); /* the router's own 405 */
    client_close(c);
    /* em_ws_accept's own 405, for a HEAD the router sends to GET routes. */
    c = refused(&s, REQ("HEAD", "/ws", "HTTP/1.1", UPG HKEY VER), 405);
    assert_true(header_is(c, "Allow", "GET"));
    client_close(c);
    c = refused(&s, REQ("GET", "/ws", "HTTP/1.1", UPG HKEY "Sec-WebSocket-Version: 8\r\n"), 426);
    assert_true(header_is(c, "Sec-WebSocket-Version", "13"));
    /* RFC 9110 §15.5.22: a 426 names the protocol to upgrade to, and
     * §7.8: an Upgrade field goes with the "upgrade" connection option. */
    assert_true(header_is(c, "Upgrade", "websocket"));
    assert_true(em_http_list_has_token(header(c, "Connection"), EM_SLICE_LIT("upgrade")));
    client_close(c);
    c = refused(&s, REQ("GET", "/ws", "HTTP/1.1", UPG HKEY), 426);
    assert_true(header_is(c, "Sec-WebSocket-Version", "13"));
    client_close(c);
    client_close(refused(&s, REQ("GET", "/ws", "HTTP/1.0", UPG HKEY VER), 505));
    /* em_ws_accept returns the status it answered with. */
    client_close(
        refused(&s, REQ("GET", "/both", "HTTP/1.1", UPG HKEY "Sec-WebSocket-Version: 0\r\n"), 426));
    assert_int_equal(seen.accept_rc, 426);
    client_close(refused(&s, REQ("GET", "/broken", "HTTP/1.1", UPG HKEY VER), 500));
    assert_int_equal(seen.accept_rc, EM_EINVAL);

    static const char *const bad400[] = {
        REQ("GET", "/ws", "HTTP/1.1", "Connection: Upgrade\r\n" HKEY VER),
        REQ("GET", "/ws", "HTTP/1.1", "Upgrade: h2c\r\nConnection: Upgrade\r\n" HKEY VER),
        REQ("GET", "/ws", "HTTP/1.1", "Upgrade: websocket\r\n" HKEY VER),
        REQ("GET", "/ws", "HTTP/1.1", "Upgrade: websocket\r\nConnection: keep-alive\r\n" HKEY VER),
        REQ("GET", "/ws", "HTTP/1.1", UPG VER),
        REQ("GET", "/ws", "HTTP/1.1", UPG HKEY HKEY VER),
        REQ("GET", "/ws", "HTTP/1.1", UPG "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n" VER),
        REQ("GET", "/ws", "HTTP/1.1", UPG "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAA\r\n" VER),
        REQ("GET", "/ws", "HTTP/1.1", UPG HKEY VER "Content-Length: 3\r\n") "abc",
        REQ("GET", "/ws", "HTTP/1.1", UPG HKEY VER "Transfer-Encoding: chunked\r\n") "0\r\n\r\n",
        REQ("GET", "/ws", "HTTP/1.1", UPG HKEY VER "Sec-WebSocket-Protocol: chat, a b\r\n"),
        REQ("GET", "/strict", "HTTP/1.1", UPG HKEY VER "Sec-WebSocket-Protocol: superchat\r\n"),
        REQ("GET", "/strict", "HTTP/1.1", UPG HKEY VER),
    };
    for (size_t i = 0; i < sizeof bad400 / sizeof bad400[0]; i++)
        client_close(refused(&s, bad400[i], 400));

    c = refused(&s, REQ("GET", "/ws", "HTTP/1.1", UPG HKEY VER "Origin: http://evil.example\r\n"),
                403);
    assert_string_equal(seen.origin, "http://evil.example");
    client_close(c);
    /* Refused, the connection is still HTTP: the next request is served. */
    c = refused(&s, REQ("GET", "/ws", "HTTP/1.1", UPG HKEY "Sec-WebSocket-Version: 7\r\n"), 426);
    TS_SEND(c->fd, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_int_equal(client_response(c), 200);
    client_close(c);
    assert_int_equal(seen.closes, 0);
    server_stop(&s);
}

static void test_subprotocol(void **state) {
    server s;
    server_start(&s);
    client c;
    static const struct {
        const char *path, *offer, *chosen;
    } cases[] = {
        {"/ws", "Sec-WebSocket-Protocol: chat, superchat\r\n", "superchat"}, /* ours decide */
        {"/ws", "Sec-WebSocket-Protocol: chat\r\n", "chat"},
        {"/ws", "Sec-WebSocket-Protocol: x\r\nSec-WebSocket-Protocol: chat\r\n", "chat"},
        {"/ws", "Sec-WebSocket-Protocol: Chat\r\n", ""}, /* names are exact */
        {"/ws", "Sec-WebSocket-Protocol: v2.other\r\n", ""},
        {"/plain", "Sec-WebSocket-Protocol: chat\r\n", ""}, /* speaks none */
        {"/strict", "Sec-WebSocket-Protocol: x, chat\r\n", "chat"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        client_connect(&c, &s);
        assert_int_equal(client_handshake(&c, cases[i].path, cases[i].offer), 101);
        if (cases[i].chosen[0])
            assert_true(header_is(&c, "Sec-WebSocket-Protocol", cases[i].chosen));
        else
            assert_false(has_header(&c, "Sec-WebSocket-Protocol"));
        client_send(&c, 0x81, "x", 1);
        expect_frame(&c, 0x81, "x", 1);
        assert_string_equal(seen.protocol, cases[i].chosen);
        client_close_handshake(&c, 1000);
        wait_closes(&c, (int)i + 1);
        client_close(&c);
    }
    server_stop(&s);
}

/* Inflate a permessage-deflate message (RFC 7692 §7.2.2: the tail
 * 00 00 ff ff was removed by the sender). */
static size_t inflate_msg(const char *in, size_t len, char *out, size_t cap) {
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(inflateInit2(&z, -15), Z_OK);
    char *all = malloc(len + 4);
    memcpy(all, in, len);
    memcpy(all + len, "\x00\x00\xff\xff", 4);
    z.next_in = (Bytef *)all;
    z.avail_in = (uInt)(len + 4);
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    int rc = inflate(&z, Z_SYNC_FLUSH);
    assert_true(rc == Z_OK || rc == Z_STREAM_END);
    size_t n = cap - z.avail_out;
    inflateEnd(&z);
    free(all);
    return n;
}

static void test_deflate(void **state) {
    server s;
    server_start(&s);
    client c;
    char big[3000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = "ember websocket "[i % 16];

    /* Offered and accepted: the answer names it, and a long message comes
     * back compressed (RSV1) and inflates to what was sent. */
    client_connect(&c, &s);
    assert_int_equal(
        client_handshake(&c, "/ws",
                         "Sec-WebSocket-Extensions: x-unknown; a=1, permessage-deflate; "
                         "client_max_window_bits\r\n"),
        101);
    em_slice ext = header(&c, "Sec-WebSocket-Extensions");
    assert_true(em_slice_starts_with(ext, EM_SLICE_LIT("permessage-deflate")));
    assert_int_equal(em_slice_find(ext, EM_SLICE_LIT("x-unknown")), -1); /* not echoed */
    client_send(&c, 0x82, big, sizeof big);
    rframe f = client_frame(&c);
    assert_int_equal(f.b0, 0x80 | EM_WS_RSV1 | EM_WS_OP_BINARY);
    assert_true(f.len < sizeof big);
    char out[sizeof big + 16];
    assert_int_equal(inflate_msg(f.payload, f.len, out, sizeof out), sizeof big);
    assert_memory_equal(out, big, sizeof big);
    assert_true(seen.deflate);
    client_close_handshake(&c, 1000);
    client_close(&c);

    /* Offered to an endpoint without it, or only unknown ones offered:
     * answered without the header, messages plain. */
    static const struct {
        const char *path, *offer;
    } off[] = {
        {"/plain", "Sec-WebSocket-Extensions: permessage-deflate\r\n"},
        {"/ws", "Sec-WebSocket-Extensions: x-unknown, x-other; p=2\r\n"},
        {"/ws", ""},
    };
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
        client_connect(&c, &s);
        assert_int_equal(client_handshake(&c, off[i].path, off[i].offer), 101);
        assert_false(has_header(&c, "Sec-WebSocket-Extensions"));
        client_send(&c, 0x82, big, sizeof big);
        expect_frame(&c, 0x82, big, sizeof big);
        assert_false(seen.deflate);
        client_close_handshake(&c, 1000);
        client_close(&c);
    }

    /* A malformed offer is refused. */
    client_connect(&c, &s);
    assert_int_equal(
        client_handshake(&c, "/ws", "Sec-WebSocket-Extensions: permessage-deflate; =\r\n"), 400);
    client_close(&c);
    server_stop(&s);
}

/* max_takeover: past the cap, a connection is answered with no context
 * takeover both ways (it holds no zlib state while idle), and messages
 * still go compressed; under the cap, the usual answer. */
static void test_deflate_takeover_cap(void **state) {
    server s;
    server_start(&s);
    client a, b;
    client_connect(&a, &s);
    assert_int_equal(
        client_handshake(&a, "/capped", "Sec-WebSocket-Extensions: permessage-deflate\r\n"), 101);
    em_slice ext = header(&a, "Sec-WebSocket-Extensions");
    assert_true(em_slice_starts_with(ext, EM_SLICE_LIT("permessage-deflate")));
    assert_int_equal(em_slice_find(ext, EM_SLICE_LIT("no_context_takeover")), -1);
    /* a is open and keeps its context: b is past the cap */
    client_connect(&b, &s);
    assert_int_equal(
        client_handshake(&b, "/capped", "Sec-WebSocket-Extensions: permessage-deflate\r\n"), 101);
    ext = header(&b, "Sec-WebSocket-Extensions");
    assert_true(em_slice_find(ext, EM_SLICE_LIT("server_no_context_takeover")) >= 0);
    assert_true(em_slice_find(ext, EM_SLICE_LIT("client_no_context_takeover")) >= 0);
    char big[3000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = "ember websocket "[i % 16];
    client_send(&b, 0x82, big, sizeof big);
    rframe f = client_frame(&b);
    assert_int_equal(f.b0, 0x80 | EM_WS_RSV1 | EM_WS_OP_BINARY);
    char out[sizeof big + 16];
    assert_int_equal(inflate_msg(f.payload, f.len, out, sizeof out), sizeof big);
    assert_memory_equal(out, big, sizeof big);
    client_close_handshake(&b, 1000);
    client_close(&b);
    client_close_handshake(&a, 1000);
    client_close(&a);
    server_stop(&s);
}

static void test_echo(void **state) {
    server s;
    server_start(&s);
    client c;
    client_connect(&c, &s);
    assert_int_equal(client_handshake(&c, "/plain", ""), 101);

    client_send(&c, 0x81, "hello, wörld", strlen("hello, wörld"));
    expect_frame(&c, 0x81, "hello, wörld", strlen("hello, wörld"));
    char bin[20000];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (char)(i * 7);
    client_send(&c, 0x82, bin, 256);
    expect_frame(&c, 0x82, bin, 256);
    client_send(&c, 0x82, bin, sizeof bin); /* a 16-bit length */
    expect_frame(&c, 0x82, bin, sizeof bin);
    client_send(&c, 0x81, "", 0);
    expect_frame(&c, 0x81, "", 0);

    /* Fragments, with a ping between them (answered at once), and a code
     * point split across frames. */
    client_send(&c, 0x01, "frag", 4);
    client_send(&c, 0x00, "ment \xc3", 6);
    client_send(&c, 0x89, "p!", 2);
    expect_frame(&c, 0x8a, "p!", 2);
    client_send(&c, 0x80, "\xa9t\xc3\xa9", 4);
    expect_frame(&c, 0x81, "fragment \xc3\xa9t\xc3\xa9", 14);
    client_send(&c, 0x02, bin, 100);
    client_send(&c, 0x80, bin + 100, 100);
    expect_frame(&c, 0x82, bin, 200);
    assert_int_equal(seen.messages, 6);

    client_close_handshake(&c, 1000);
    client_close(&c);
    server_stop(&s);
}

static void test_keep_alive_then_upgrade(void **state) {
    server s;
    server_start(&s);
    client c;
    client_connect(&c, &s);
    TS_SEND(c.fd, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_int_equal(client_response(&c), 200);
    TS_SEND(c.fd, "GET /both HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_int_equal(client_response(&c), 200);
    /* The same connection, now upgraded from a handler that takes both. */
    assert_int_equal(client_handshake(&c, "/both", ""), 101);
    assert_true(header_is(&c, "Sec-WebSocket-Accept", ACCEPT));
    assert_int_equal(seen.accept_rc, 0);
    client_send(&c, 0x82, "\x00\x01\x02", 3);
    expect_frame(&c, 0x82, "\x00\x01\x02", 3);
    assert_ptr_equal(seen.data, &marker); /* em_ws_accept's data */
    client_close_handshake(&c, 1000);
    client_close(&c);
    server_stop(&s);
}

static void test_frames_behind_the_request(void **state) {
    server s;
    server_start(&s);
    client c;
    client_connect(&c, &s);
    /* The request, a text frame and a ping in one send: the frames wait in
     * the buffer the connection moves to the em_ws. */
    char buf[1024];
    size_t n = handshake_text(buf, sizeof buf, "/plain", "");
    n += frame(buf + n, sizeof buf - n, 0x81, "early", 5);
    n += frame(buf + n, sizeof buf - n, 0x89, "", 0);
    ts_send(c.fd, buf, n);
    assert_int_equal(client_response(&c), 101);
    expect_frame(&c, 0x81, "early", 5);
    expect_frame(&c, 0x8a, "", 0);
    client_close_handshake(&c, 1000);
    client_close(&c);
    server_stop(&s);
}

static void test_shutdown_sends_1001(void **state) {
    server s;
    server_start(&s);
    client c;
    client_connect(&c, &s);
    assert_int_equal(client_handshake(&c, "/ws", ""), 101);
    client_send(&c, 0x81, "x", 1);
    expect_frame(&c, 0x81, "x", 1);
    /* A graceful shutdown says goodbye with 1001 and waits for the close
     * handshake (the deadline is 3 s; this ends long before). */
    em_http_server_shutdown(&s.ts.srv, ts_on_closed);
    rframe f = client_frame(&c);
    assert_int_equal(f.b0, 0x88);
    assert_true(f.len >= 2);
    assert_int_equal((unsigned char)f.payload[0] << 8 | (unsigned char)f.payload[1], 1001);
    assert_false(s.ts.closed);
    client_send(&c, 0x88, "\x03\xe9", 2);
    assert_int_equal(shutdown(c.fd, SHUT_WR), 0);
    ts_pump(&s.ts, c.fd, &c.in, ts_pred_eof, NULL, 3000);
    EM_TEST_RUN_UNTIL(&s.ts.loop, s.ts.closed, 3000);
    assert_int_equal(seen.closes, 1);
    assert_int_equal(seen.close_err, 0);
    client_close(&c);
    em_loop_run(&s.ts.loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&s.ts.loop), 0);
    em_http_router_free(&s.router);
}

/* A client that never answers the 1001: the deadline closes it. */
static void test_shutdown_deadline(void **state) {
    server s;
    server_start_with(&s, 200, false);
    client c;
    client_connect(&c, &s);
    assert_int_equal(client_handshake(&c, "/ws", ""), 101);
    client_send(&c, 0x81, "x", 1);
    expect_frame(&c, 0x81, "x", 1);
    em_loop_update_time(&s.ts.loop);
    uint64_t t0 = em_loop_now(&s.ts.loop);
    em_http_server_shutdown(&s.ts.srv, ts_on_closed);
    rframe f = client_frame(&c);
    assert_int_equal(f.b0, 0x88);
    ts_pump(&s.ts, c.fd, &c.in, ts_pred_eof, NULL, 3000);
    EM_TEST_RUN_UNTIL(&s.ts.loop, s.ts.closed, 3000);
    assert_true(em_loop_now(&s.ts.loop) - t0 >= 150); /* it waited, about 200 ms */
    assert_int_equal(seen.closes, 1);
    assert_int_equal(seen.close_code, 1001);
    assert_int_not_equal(seen.close_err, 0);
    client_close(&c);
    em_loop_run(&s.ts.loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&s.ts.loop), 0);
    em_http_router_free(&s.router);
}

/* A handshake whose request was half in when the shutdown began: the
 * request is answered (it was under way), but with 503, not a 101 that
 * would open a connection only to drop it at the deadline without its
 * 1001 (the goodbyes went out before it existed). */
static void test_handshake_during_shutdown(void **state) {
    server s;
    server_start_with(&s, 3000, false);
    client c;
    client_connect(&c, &s);
    char req[2048];
    size_t n = handshake_text(req, sizeof req, "/ws", "");
    ts_send(c.fd, req, 20);
    for (int i = 0; i < 20; i++) /* the server reads the first part */
        em_loop_run(&s.ts.loop, EM_RUN_NOWAIT);
    em_loop_update_time(&s.ts.loop);
    uint64_t t0 = em_loop_now(&s.ts.loop);
    em_http_server_shutdown(&s.ts.srv, ts_on_closed);
    ts_send(c.fd, req + 20, n - 20);
    assert_int_equal(client_response(&c), 503);
    assert_true(header_is(&c, "Connection", "close"));
    ts_pump(&s.ts, c.fd, &c.in, ts_pred_eof, NULL, 3000);
    client_close(&c);
    EM_TEST_RUN_UNTIL(&s.ts.loop, s.ts.closed, 3000);
    assert_true(em_loop_now(&s.ts.loop) - t0 < 1000); /* no wait for a deadline */
    assert_int_equal(seen.opens, 0);
    em_loop_run(&s.ts.loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&s.ts.loop), 0);
    em_http_router_free(&s.router);
}

/* With stream_bodies (echo_server's setting) the handler runs before any
 * body is read: a handshake with one is refused all the same, and one
 * without is upgraded. */
static void test_stream_bodies_server(void **state) {
    server s;
    server_start_with(&s, 3000, true);
    client *r = refused(
        &s, REQ("GET", "/ws", "HTTP/1.1", UPG HKEY VER "Content-Length: 4\r\n") "abcd", 400);
    client_close(r);
    client c;
    client_connect(&c, &s);
    assert_int_equal(client_handshake(&c, "/ws", ""), 101);
    client_send(&c, 0x81, "streamed", 8);
    expect_frame(&c, 0x81, "streamed", 8);
    client_close_handshake(&c, 1000);
    client_close(&c);
    server_stop(&s);
}

static void test_client_leaves(void **state) {
    server s;
    server_start(&s);
    client c;
    client_connect(&c, &s);
    assert_int_equal(client_handshake(&c, "/ws", ""), 101);
    client_send(&c, 0x81, "x", 1);
    expect_frame(&c, 0x81, "x", 1);
    client_close(&c); /* no close frame */
    EM_TEST_RUN_UNTIL(&s.ts.loop, seen.closes == 1, 3000);
    assert_int_equal(seen.close_code, 1006);
    assert_int_not_equal(seen.close_err, 0);
    server_stop(&s);
}

static void test_route_arguments(void **state) {
    em_http_router r;
    em_http_router_init(&r);
    em_ws_server_opts o = {.cbs = &echo_cbs};
    assert_int_equal(em_ws_route(&r, "/a", &o), 0);
    assert_int_equal(em_ws_route(&r, "/a", &o), EM_EEXIST);
    assert_int_equal(em_ws_route(&r, "no-slash", &o), EM_EINVAL);
    assert_int_equal(em_ws_route(&r, "/b", NULL), EM_EINVAL);
    em_http_router_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upgrade_101),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_subprotocol),
        cmocka_unit_test(test_deflate),
        cmocka_unit_test(test_deflate_takeover_cap),
        cmocka_unit_test(test_echo),
        cmocka_unit_test(test_keep_alive_then_upgrade),
        cmocka_unit_test(test_frames_behind_the_request),
        cmocka_unit_test(test_shutdown_sends_1001),
        cmocka_unit_test(test_shutdown_deadline),
        cmocka_unit_test(test_handshake_during_shutdown),
        cmocka_unit_test(test_stream_bodies_server),
        cmocka_unit_test(test_client_leaves),
        cmocka_unit_test(test_route_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* WebSocket routes beside ordinary HTTP routes, on one port.
 *
 *   ws_echo_server [--port N] [--host ADDR]
 *
 *   GET /             -> what is served here (text/plain)
 *   GET /stats        -> "members N, echoed M" (text/plain)
 *   GET /echo         -> WebSocket: every message back as it came;
 *                        permessage-deflate when the client offers it
 *   GET /chat?name=X  -> WebSocket, subprotocol "chat" required: each text
 *                        message goes to every member as "X: message";
 *                        browsers only from this host (Origin checked)
 *
 * /echo is a route made by em_ws_route; /chat is an ordinary handler that
 * looks at the request first and then calls em_ws_accept with the
 * connection's own data (the member). One worker, so the room is a plain
 * list on one loop. Try it with ember-ws or websocat:
 *
 *   ember-ws ws://127.0.0.1:8080/echo
 *   ember-ws --protocol chat 'ws://127.0.0.1:8080/chat?name=ada'
 *
 * Prints "listening on HOST:PORT"; SIGINT or SIGTERM shut it down
 * gracefully: every WebSocket gets a close with 1001 first. */
#include <inttypes.h>

#include "example.h"

#define USAGE "usage: ws_echo_server [--port N] [--host ADDR]"

static uint64_t echoed;

/* ---- /echo ------------------------------------------------------------------ */

static void echo_message(em_ws *ws, int opcode, em_slice data) {
    /* A client that sends faster than it reads is closed, not buffered
     * for without bound (max_queue). */
    if (em_ws_send(ws, opcode, data, NULL) == EM_ENOBUFS)
        em_ws_close(ws, EM_WS_CLOSE_POLICY, EM_SLICE_LIT("reading too slowly"));
    else
        echoed++;
}

static void echo_close(em_ws *ws, int code, int err, em_slice reason) {}

static const em_ws_cbs echo_cbs = {.on_message = echo_message, .on_close = echo_close};
static em_ws_server_opts echo_opts = {.cbs = &echo_cbs, .ws.deflate.enable = true};

/* ---- /chat ------------------------------------------------------------------ */

typedef struct member {
    struct member *prev, *next;
    em_ws *ws;
    char name[32];
} member;

static member *room;
static unsigned members;

static void chat_open(em_ws *ws) {
    member *m = em_ws_data(ws);
    m->ws = ws;
    m->next = room;
    if (room)
        room->prev = m;
    room = m;
    members++;
}

static void chat_message(em_ws *ws, int opcode, em_slice data) {
    member *from = em_ws_data(ws);
    if (opcode != EM_WS_OP_TEXT)
        return;
    char line[4096];
    int n = snprintf(line, sizeof line, "%s: %.*s", from->name, (int)data.len, data.ptr);
    if (n < 0 || (size_t)n >= sizeof line) { /* cut at a byte: keep it UTF-8 */
        em_ws_close(ws, EM_WS_CLOSE_TOO_BIG, EM_SLICE_LIT("message too long"));
        return;
    }
    for (member *m = room; m; m = m->next)
        if (em_ws_send_text(m->ws, em_slice_make(line, (size_t)n), NULL) == EM_ENOBUFS)
            em_ws_close(m->ws, EM_WS_CLOSE_POLICY, EM_SLICE_LIT("reading too slowly"));
}

static void chat_close(em_ws *ws, int code, int err, em_slice reason) {
    member *m = em_ws_data(ws);
    if (m->ws) { /* on_open ran: it is in the room */
        if (m->prev)
            m->prev->next = m->next;
        else
            room = m->next;
        if (m->next)
            m->next->prev = m->prev;
        members--;
    }
    free(m);
}

/* Browsers send Origin (RFC 6455 §10.2): only pages from this host may
 * connect. Other clients send none. */
static bool same_host(em_http_ctx *cx, em_slice origin, void *arg) {
    if (!origin.len)
        return true;
    em_slice host = cx->req.host;
    return (em_slice_eq(em_slice_sub(origin, 0, 7), EM_SLICE_LIT("http://")) &&
            em_slice_eq(em_slice_sub(origin, 7, SIZE_MAX), host)) ||
           (em_slice_eq(em_slice_sub(origin, 0, 8), EM_SLICE_LIT("https://")) &&
            em_slice_eq(em_slice_sub(origin, 8, SIZE_MAX), host));
}

static const em_ws_cbs chat_cbs = {
    .on_open = chat_open, .on_message = chat_message, .on_close = chat_close};
static const char *const chat_protocols[] = {"chat", NULL};
static em_ws_server_opts chat_opts = {.cbs = &chat_cbs,
                                      .protocols = chat_protocols,
                                      .require_protocol = true,
                                      .check_origin = same_host,
                                      .ws.max_message = 1024};

static void chat(em_http_ctx *cx) {
    em_slice v;
    char name[32];
    ssize_t n = -1;
    if (em_http_query_get(cx->query, EM_SLICE_LIT("name"), &v))
        n = em_http_percent_decode(v, name, sizeof name - 1, EM_HTTP_DECODE_FORM);
    if (n <= 0 || !em_ws_utf8_valid(name, (size_t)n)) {
        em_http_respond_text(cx, 400, "name=X (1 to 31 bytes of UTF-8) is required\n");
        return;
    }
    name[n] = 0;
    member *m = calloc(1, sizeof *m);
    if (!m) {
        em_http_respond_text(cx, 503, "out of memory\n");
        return;
    }
    memcpy(m->name, name, (size_t)n + 1);
    /* 0: m belongs to the WebSocket now (chat_close frees it); else the
     * handshake was refused and answered, and m is still ours. */
    if (em_ws_accept(cx, &chat_opts, m) != 0)
        free(m);
}

/* ---- plain HTTP beside them --------------------------------------------------- */

static void index_page(em_http_ctx *cx) {
    em_http_respond_text(cx, 200,
                         "GET /stats: members and messages echoed\n"
                         "GET /echo: WebSocket echo (permessage-deflate offered)\n"
                         "GET /chat?name=X: WebSocket chat room (subprotocol \"chat\")\n");
}

static void stats(em_http_ctx *cx) {
    char text[64];
    snprintf(text, sizeof text, "members %u, echoed %" PRIu64 "\n", members, echoed);
    em_http_respond_text(cx, 200, text);
}

int main(int argc, char **argv) {
    static const char *const names[] = {"--port", "--host", NULL};
    example_args(argc, argv, USAGE, names);
    const char *host = "127.0.0.1";
    unsigned port = example_arg(argc, argv, "--port", 8080, 65535);
    for (int i = 1; i + 1 < argc; i += 2)
        if (!strcmp(argv[i], "--host"))
            host = argv[i + 1];
    em_ip ip;
    if (em_ip_parse(&ip, host, strlen(host)) != 0) {
        fprintf(stderr, USAGE "\n");
        return 2;
    }
    em_sockaddr addr;
    em_sockaddr_from_ip(&addr, &ip, (uint16_t)port);

    em_http_router router;
    em_http_router_init(&router);
    if (em_http_route(&router, EM_HTTP_GET, "/", index_page) ||
        em_http_route(&router, EM_HTTP_GET, "/stats", stats) ||
        em_ws_route(&router, "/echo", &echo_opts) ||
        em_http_route(&router, EM_HTTP_GET, "/chat", chat))
        return 1;
    em_http_server_opts opts = {.router = &router, .workers = 1};
    int rc = em_http_serve(&addr, &opts, example_ready, NULL);
    if (rc)
        fprintf(stderr, "ws_echo_server: %s\n", em_strerror(rc));
    em_http_router_free(&router);
    return rc ? 1 : 0;
}

/* A chat server: rooms are topics of one hub shared by every worker, so a
 * message reaches everyone in the room whichever core their connection
 * landed on, and an HTTP request can post to a room too.
 *
 *   ws_chat [--port N] [--workers N]          (default 8080, 2 workers)
 *   ember-ws ws://127.0.0.1:8080/chat          then type "/join lobby", then talk
 *   curl 'http://127.0.0.1:8080/say?room=lobby&text=hi'
 *   ws_chat --selftest                         four clients on two workers
 */
#include <pthread.h>

#include "example.h"

static em_ws_hub *hub;

/* Per connection: the room it joined ("" before /join). */
typedef struct member {
    char room[64];
    unsigned id;
} member;

static void on_open(em_ws *ws) {
    static _Atomic unsigned next_id;
    member *m = calloc(1, sizeof *m);
    if (!m) {
        em_ws_abort(ws);
        return;
    }
    m->id = ++next_id;
    em_ws_set_data(ws, m);
    if (em_ws_send_text(ws, EM_SLICE_LIT("say /join ROOM"), NULL) < 0)
        em_ws_abort(ws);
}

static void on_message(em_ws *ws, int opcode, em_slice text) {
    member *m = em_ws_data(ws);
    if (opcode != EM_WS_OP_TEXT || !m)
        return;
    if (text.len > 6 && !memcmp(text.ptr, "/join ", 6) && text.len - 6 < sizeof m->room) {
        if (m->room[0])
            (void)em_ws_unsubscribe(hub, ws, m->room);
        snprintf(m->room, sizeof m->room, "%.*s", (int)(text.len - 6), text.ptr + 6);
        if (em_ws_subscribe(hub, ws, m->room) != 0)
            m->room[0] = 0;
        if (em_ws_send_text(ws, EM_SLICE_LIT("joined"), NULL) < 0)
            em_ws_abort(ws);
        return;
    }
    if (!m->room[0])
        return;
    char line[1024];
    int n = snprintf(line, sizeof line, "%u: %.*s", m->id, (int)text.len, text.ptr);
    /* to the room on every worker: framed once, sent by each loop */
    (void)em_ws_publish(hub, m->room, EM_WS_OP_TEXT,
                        em_slice_make(line, n < (int)sizeof line ? (size_t)n : sizeof line - 1));
}

static void on_close(em_ws *ws, int code, int err, em_slice reason) {
    (void)code, (void)err, (void)reason;
    free(em_ws_data(ws)); /* its rooms were left already */
}

static const em_ws_cbs chat_cbs = {.on_open = on_open, .on_message = on_message, .on_close = on_close};

/* GET /say?room=R&text=T: a post from outside any WebSocket. */
static ssize_t query_arg(const em_http_ctx *cx, const char *name, char *out, size_t cap) {
    em_slice v;
    if (!em_http_query_get(cx->query, em_slice_from_cstr(name), &v))
        return -1;
    return em_http_percent_decode(v, out, cap, EM_HTTP_DECODE_FORM);
}

static void say(em_http_ctx *cx) {
    char room[64], text[256];
    ssize_t r = query_arg(cx, "room", room, sizeof room - 1);
    ssize_t t = query_arg(cx, "text", text, sizeof text - 1);
    if (r <= 0 || t < 0) {
        em_http_respond_text(cx, 400, "want ?room=R&text=T\n");
        return;
    }
    room[r] = text[t] = 0;
    int loops = em_ws_publish(hub, room, EM_WS_OP_TEXT, em_slice_make(text, (size_t)t));
    char out[64];
    snprintf(out, sizeof out, "posted to %d worker(s)\n", loops < 0 ? 0 : loops);
    em_http_respond_text(cx, 200, out);
}

/* --selftest only: end em_http_serve from a request. */
static void quit(em_http_ctx *cx) {
    em_http_respond_text(cx, 200, "bye\n");
    em_http_serve_stop(cx->server);
}

/* ---- --selftest: four blocking clients in a room, on two workers ------------- */

static em_sockaddr bound_addr;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool ready;

static void on_ready(const em_sockaddr *bound, void *arg) {
    (void)arg;
    pthread_mutex_lock(&mu);
    bound_addr = *bound;
    ready = true;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
}

static int expect(em_ws *ws, const char *want) {
    em_ws_msg m;
    if (em_ws_recv(ws, &m, 5000) != 0)
        return -1;
    int ok = m.data.len == strlen(want) && !memcmp(m.data.ptr, want, m.data.len);
    if (!ok)
        fprintf(stderr, "ws_chat: got '%.*s', want '%s'\n", (int)m.data.len, m.data.ptr, want);
    em_ws_msg_free(&m);
    return ok ? 0 : -1;
}

static void *selftest(void *arg) {
    int *failed = arg;
    pthread_mutex_lock(&mu);
    while (!ready)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    uint16_t port = em_sockaddr_port(&bound_addr);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/chat", (unsigned)port);
    em_ws *c[4] = {0};
    int rc = 0;
    for (int i = 0; i < 4 && !rc; i++) {
        rc = em_ws_dial(url, NULL, &c[i]);
        rc = rc ? rc : expect(c[i], "say /join ROOM");
        rc = rc ? rc : em_ws_send_text(c[i], EM_SLICE_LIT("/join lobby"), NULL);
        rc = rc ? rc : expect(c[i], "joined");
    }
    /* the first speaks: all four hear it, on whichever worker */
    rc = rc ? rc : em_ws_send_text(c[0], EM_SLICE_LIT("hello"), NULL);
    for (int i = 0; i < 4 && !rc; i++) {
        em_ws_msg m;
        rc = em_ws_recv(c[i], &m, 5000);
        if (!rc && (m.data.len < 7 || memcmp(m.data.ptr + m.data.len - 7, ": hello", 7)))
            rc = -1;
        if (!rc)
            em_ws_msg_free(&m);
    }
    /* and a post over HTTP */
    em_http_resp r;
    char say_url[96];
    snprintf(say_url, sizeof say_url, "http://127.0.0.1:%u/say?room=lobby&text=from%%20http",
             (unsigned)port);
    rc = rc ? rc : em_http_get(say_url, &r);
    if (!rc) {
        rc = r.status == 200 ? 0 : -1;
        em_http_resp_free(&r);
    }
    for (int i = 0; i < 4 && !rc; i++)
        rc = expect(c[i], "from http");
    for (int i = 0; i < 4; i++)
        if (c[i])
            em_ws_dial_close(c[i], 1000);
    snprintf(say_url, sizeof say_url, "http://127.0.0.1:%u/quit", (unsigned)port);
    if (em_http_get(say_url, &r) == 0)
        em_http_resp_free(&r);
    em_http_blocking_release();
    *failed = rc != 0;
    return NULL;
}

int main(int argc, char **argv) {
    bool test = argc == 2 && !strcmp(argv[1], "--selftest");
    static const char *const names[] = {"--port", "--workers", NULL};
    if (!test)
        example_args(argc, argv, "usage: ws_chat [--port N] [--workers N] | --selftest", names);
    if (em_ws_hub_new(&hub))
        return 1;
    static em_http_router router;
    em_http_router_init(&router);
    static em_ws_server_opts chat = {.cbs = &chat_cbs};
    if (em_ws_route(&router, "/chat", &chat) || em_http_route(&router, EM_HTTP_GET, "/say", say) ||
        (test && em_http_route(&router, EM_HTTP_GET, "/quit", quit)))
        return 1;
    em_http_server_opts opts = {.router = &router,
                                .workers = test ? 2 : example_arg(argc, argv, "--workers", 2, 1024)};
    em_sockaddr addr =
        em_sockaddr_loopback4(test ? 0 : (uint16_t)example_arg(argc, argv, "--port", 8080, 65535));
    pthread_t th;
    int failed = 0;
    if (test && pthread_create(&th, NULL, selftest, &failed))
        return 1;
    int rc = em_http_serve(&addr, &opts, test ? on_ready : example_ready, NULL);
    if (test)
        pthread_join(th, NULL);
    if (rc)
        fprintf(stderr, "ws_chat: %s\n", em_strerror(rc));
    em_http_router_free(&router);
    em_ws_hub_free(hub);
    return rc || failed ? 1 : 0;
}

/* The WebSocket client, both faces, against an echo server.
 *   ws_client ws://HOST:PORT/ws
 * First the blocking face (dial, send, receive, close: about ten lines),
 * then the loop face: three messages in flight, each echo printed, a close
 * once the last one is back. */
#include <stdio.h>
#include <string.h>

#include "ember/ws.h"

/* ---- blocking ---------------------------------------------------------------- */

static int blocking(const char *url) {
    em_ws *ws;
    int rc = em_ws_dial(url, NULL, &ws);
    if (rc) {
        fprintf(stderr, "ws_client: %s: %s\n", url, em_strerror(rc));
        return 1;
    }
    em_ws_msg m;
    if (em_ws_send_text(ws, EM_SLICE_LIT("hello from the blocking face"), NULL) < 0 ||
        em_ws_recv(ws, &m, 5000) != 0) {
        em_ws_dial_close(ws, 0);
        return 1;
    }
    printf("blocking: %.*s\n", (int)m.data.len, m.data.ptr);
    em_ws_msg_free(&m);
    return em_ws_dial_close(ws, 1000) == 0 ? 0 : 1;
}

/* ---- on the loop ---------------------------------------------------------------- */

typedef struct state {
    int echoes, err;
    bool closed;
} state;

static void on_open(em_ws *ws) {
    static const char *const msgs[] = {"one", "two", "three"};
    for (int i = 0; i < 3; i++)
        if (em_ws_send_text(ws, em_slice_from_cstr(msgs[i]), NULL) < 0)
            em_ws_abort(ws);
}

static void on_message(em_ws *ws, int opcode, em_slice data) {
    (void)opcode;
    state *s = em_ws_data(ws);
    printf("loop: %.*s\n", (int)data.len, data.ptr);
    if (++s->echoes == 3)
        em_ws_close(ws, EM_WS_CLOSE_NORMAL, EM_SLICE_LIT("done"));
}

static void on_close(em_ws *ws, int code, int err, em_slice reason) {
    (void)reason;
    state *s = em_ws_data(ws);
    s->closed = true;
    s->err = err;
    if (err)
        fprintf(stderr, "ws_client: closed with %d: %s %s\n", code, em_strerror(err),
                em_ws_error(ws));
}

static const em_ws_cbs cbs = {.on_open = on_open, .on_message = on_message, .on_close = on_close};

static int on_loop(const char *url) {
    em_loop loop;
    if (em_loop_init(&loop))
        return 1;
    state s = {0};
    if (em_ws_connect(&loop, url, NULL, &cbs, &s, NULL) != 0)
        return 1;
    em_loop_run(&loop, EM_RUN_DEFAULT); /* returns once the connection is gone */
    return em_loop_close(&loop) == 0 && s.closed && !s.err && s.echoes == 3 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: ws_client ws://HOST:PORT/PATH\n");
        return 2;
    }
    return blocking(argv[1]) || on_loop(argv[1]);
}

/* The WebSocket connection core end to end (ws/conn*.c): an em_ws on one
 * end of a socketpair on a real loop, the input written to the other end
 * in pieces as the peer's bytes, the loop turned after each piece, then
 * the peer goes away. What the ws sends back is read and thrown away.
 *
 * Byte 0 picks the setup: the role, whole messages or streamed parts,
 * permessage-deflate (byte 1: which parameters), a small message limit,
 * and callbacks that act (echo each message, open a text message in parts
 * on open and finish it later, ping, close after the third message), so
 * receiving meets sending, the close handshake and the lazily allocated
 * parts of a connection. Byte 1 also picks the piece size. Whatever the
 * bytes, nothing may crash or leak, on_close must run exactly once, and
 * em_loop_close must succeed (no handle left on the loop). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"

#include "../../ws/ws_conn_internal.h"
#include "ember/ws.h"

static void check(bool ok) {
    if (!ok)
        abort();
}

typedef struct world {
    em_loop loop;
    int peer;
    int mode;
    int nmsgs, closed;
    bool part_open;
} world;

enum {
    M_CLIENT = 0x01,   /* the ws is a client (the peer sends unmasked frames) */
    M_STREAM = 0x02,   /* on_message_part: messages in pieces */
    M_DEFLATE = 0x04,  /* permessage-deflate negotiated (byte 1 says how) */
    M_SMALL = 0x08,    /* max_message 300 */
    M_ECHO = 0x10,     /* echo every message, ping back */
    M_PARTS = 0x20,    /* a text message sent in parts across the receiving */
    M_CLOSE3 = 0x40,   /* em_ws_close after the third message */
    M_ABORT3 = 0x80    /* em_ws_abort after the third message */
};

static void act(em_ws *ws, world *w, int op, em_slice data) {
    w->nmsgs++;
    int rc = 0; /* any outcome is fine: the peer may be gone, the queue full */
    if (w->mode & M_ECHO)
        rc = em_ws_send(ws, op, data, NULL);
    if ((w->mode & M_PARTS) && w->part_open && w->nmsgs == 2) {
        rc = em_ws_send_part(ws, EM_WS_OP_CONT, EM_SLICE_LIT("\xe2\x82"), false, NULL);
        if (em_ws_send_part(ws, EM_WS_OP_CONT, EM_SLICE_LIT("\xac!"), true, NULL) == 0)
            w->part_open = false;
    }
    if (w->nmsgs == 3 && (w->mode & M_CLOSE3))
        rc = em_ws_close(ws, 1000, EM_SLICE_LIT("bye"));
    (void)rc;
    if (w->nmsgs == 3 && (w->mode & M_ABORT3))
        em_ws_abort(ws);
}

static void on_open(em_ws *ws) {
    world *w = em_ws_data(ws);
    if ((w->mode & M_PARTS) &&
        em_ws_send_part(ws, EM_WS_OP_TEXT, EM_SLICE_LIT("ab"), false, NULL) == 0)
        w->part_open = true;
}

static void on_message(em_ws *ws, int op, em_slice data) {
    act(ws, em_ws_data(ws), op, data);
}

static void on_part(em_ws *ws, int op, em_slice data, bool last) {
    if (last)
        act(ws, em_ws_data(ws), op, data);
}

static void on_ping(em_ws *ws, em_slice p) {
    world *w = em_ws_data(ws);
    if ((w->mode & M_ECHO) && em_ws_ping(ws, p) != 0)
        return; /* closing, or the queue is full: fine */
}

static void on_close(em_ws *ws, int code, int err, em_slice reason) {
    (void)code, (void)err, (void)reason;
    world *w = em_ws_data(ws);
    w->closed++;
}

/* Read and drop what the ws wrote, so its sends never wait on us. */
static void drain(world *w) {
    static char sink[1 << 16];
    while (recv(w->peer, sink, sizeof sink, MSG_DONTWAIT) > 0)
        ;
}

static void turn(world *w) {
    (void)em_loop_run(&w->loop, EM_RUN_NOWAIT);
    drain(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    world w = {.mode = data[0], .peer = -1};
    uint8_t b1 = data[1];
    data += 2, size -= 2;

    em_ws_cbs cbs = {.on_open = on_open, .on_ping = on_ping, .on_close = on_close};
    if (w.mode & M_STREAM)
        cbs.on_message_part = on_part;
    else
        cbs.on_message = on_message;
    em_ws_opts opts = {.close_timeout_ms = 1};
    if (w.mode & M_SMALL)
        opts.max_message = 300;
    em__ws_pmd_params pmd = {
        .server_no_context_takeover = (b1 & 0x10) != 0,
        .client_no_context_takeover = (b1 & 0x20) != 0,
        .server_max_window_bits = (b1 & 0x40) ? 8 : 15,
        .client_max_window_bits = (b1 & 0x80) ? 9 : 15,
    };
    em_ws_role role = (w.mode & M_CLIENT) ? EM_WS_ROLE_CLIENT : EM_WS_ROLE_SERVER;

    check(em_loop_init(&w.loop) == 0);
    int sv[2];
    check(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    w.peer = sv[1];
    em_ws *ws =
        em__ws_new(&w.loop, role, &cbs, &opts, &w, (w.mode & M_DEFLATE) ? &pmd : NULL, NULL);
    check(ws != NULL);
    check(em_tcp_conn_init(&w.loop, &ws->up.tcp, sv[0], &em__ws_tcp_cbs, NULL) == 0);
    check(em__ws_start(ws) == 0);
    turn(&w); /* on_open */

    /* Pieces of 1, 7, 61 or 509 bytes (low two bits of byte 1). */
    static const size_t piece[] = {1, 7, 61, 509};
    size_t step = piece[b1 & 3];
    for (size_t off = 0; off < size && !w.closed;) {
        size_t n = size - off < step ? size - off : step;
        ssize_t k = send(w.peer, data + off, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k > 0)
            off += (size_t)k;
        else if (k < 0 && errno != EAGAIN)
            break; /* the ws closed its end */
        turn(&w);
    }
    /* The peer goes: half-close first (byte 1 bit 2), then for good. */
    if (b1 & 4) {
        shutdown(w.peer, SHUT_WR);
        for (int i = 0; i < 4 && !w.closed; i++)
            turn(&w);
    }
    close(w.peer);
    w.peer = -1;
    for (int i = 0; i < 2000 && !w.closed; i++) {
        (void)em_loop_run(&w.loop, EM_RUN_NOWAIT);
        if (!w.closed && i > 20)
            usleep(100); /* a close timeout (1 ms) may be what is left */
    }
    if (getenv("WS_CONN_DEBUG")) /* what a seed reached */
        fprintf(stderr, "msgs %d closed %d\n", w.nmsgs, w.closed);
    check(w.closed == 1);
    /* Deferred work (the last reference) runs on the loop. */
    for (int i = 0; i < 4; i++)
        (void)em_loop_run(&w.loop, EM_RUN_NOWAIT);
    check(em_loop_close(&w.loop) == 0);
    return 0;
}

/* The client under test in the conformance suite's mirrored mode
 * (ws_conformance.py --client): connect to URL with em_ws_connect and
 * echo every message back unchanged (text as text, binary as binary);
 * pings and the close handshake are ember's own. Exits 0 once the
 * connection ended (however: the suite judges the frames), 2 on a usage
 * error, 1 when the connect could not even start. The close code and
 * error go to stderr for the suite's log.
 *
 *   ws_echo_client [--compress] URL
 */
#include <stdio.h>
#include <string.h>

#include "ember/runtime.h"
#include "ember/ws.h"

static void on_message(em_ws *ws, int opcode, em_slice data) {
    int rc = em_ws_send(ws, opcode, data, NULL);
    if (rc < 0)
        fprintf(stderr, "ws_echo_client: send: %s\n", em_strerror(rc));
}

static void on_close(em_ws *ws, int code, int err, em_slice reason) {
    fprintf(stderr, "ws_echo_client: closed %d (%s) reason '%.*s'\n", code,
            err ? em_strerror(err) : "clean", (int)reason.len, reason.ptr);
    em_loop_stop(em_ws_loop(ws));
}

int main(int argc, char **argv) {
    const char *url = NULL;
    bool compress = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--compress"))
            compress = true;
        else if (!url && argv[i][0] != '-')
            url = argv[i];
        else
            url = NULL, i = argc;
    }
    if (!url) {
        fprintf(stderr, "usage: ws_echo_client [--compress] URL\n");
        return 2;
    }
    static const em_ws_cbs cbs = {.on_message = on_message, .on_close = on_close};
    em_ws_client_opts opts = {0};
    opts.ws.deflate.enable = compress;
    opts.ws.close_timeout_ms = 3000;
    opts.handshake_timeout_ms = 10000;
    em_loop loop;
    if (em_loop_init(&loop) != 0)
        return 1;
    int rc = em_ws_connect(&loop, url, &opts, &cbs, NULL, NULL);
    if (rc != 0) {
        fprintf(stderr, "ws_echo_client: connect: %s\n", em_strerror(rc));
        if (em_loop_close(&loop) != 0)
            fprintf(stderr, "ws_echo_client: the loop did not close\n");
        return 1;
    }
    em_loop_run(&loop, EM_RUN_DEFAULT);
    for (int i = 0; i < 100 && em_loop_close(&loop) != 0; i++) /* let the socket's close finish */
        em_loop_run(&loop, EM_RUN_NOWAIT);
    return 0;
}

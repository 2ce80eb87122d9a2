/* The HTTPS server bench/tls.sh and bench/tls_idle.sh measure: GET
 * /plaintext answers "Hello, World!" as examples/echo_server does, over
 * TLS on one ember worker.
 *
 *   tls_server PORT CERT KEY [tickets|no-tickets]
 *
 * no-tickets: a context with no_resumption (no session tickets), as nginx
 * with ssl_session_tickets off; the full-handshake runs use it so neither
 * server pays for tickets nobody offers back. Prints "listening on ..." */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"

static em_http_prebuilt hello;

static void plaintext(em_http_ctx *cx, const em_http_handler *h) {
    em_http_respond_prebuilt(cx, &hello);
}

static void ready(const em_sockaddr *bound, void *arg) {
    char text[EM_SOCKADDR_STRLEN];
    if (em_sockaddr_format(bound, text, sizeof text) > 0)
        printf("listening on %s\n", text);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc < 4 || (argc > 4 && strcmp(argv[4], "tickets") && strcmp(argv[4], "no-tickets"))) {
        fprintf(stderr, "usage: tls_server PORT CERT KEY [tickets|no-tickets]\n");
        return 2;
    }
    em_tls_ctx_opts o = {.cert = {.cert_file = argv[2], .key_file = argv[3]},
                         .alpn = "http/1.1,http/1.0",
                         .no_resumption = argc > 4 && !strcmp(argv[4], "no-tickets")};
    em_tls_ctx *tls;
    int err = em_tls_ctx_new(&tls, EM_TLS_SERVER, &o);
    if (err) {
        char why[256];
        fprintf(stderr, "tls_server: %s: %s\n", em_strerror(err),
                em_tls_last_error(why, sizeof why));
        return 1;
    }
    if (em_http_prebuilt_init(&hello, 200, EM_SLICE_LIT("text/plain"),
                              EM_SLICE_LIT("Hello, World!")) != 0)
        return 1;
    em_http_router router;
    em_http_router_init(&router);
    static const em_http_handler h_plain = {plaintext, NULL, NULL};
    if (em_http_router_add(&router, EM_HTTP_GET, EM_SLICE_LIT("/plaintext"), (void *)&h_plain))
        return 1;
    em_http_handler root = em_http_router_as_handler(&router);
    em_sockaddr addr = em_sockaddr_loopback4((uint16_t)atoi(argv[1]));
    em_http_server_opts opts = {.handler = &root, .workers = 1, .tls = tls};
    int rc = em_http_serve(&addr, &opts, ready, NULL);
    if (rc)
        fprintf(stderr, "tls_server: %s\n", em_strerror(rc));
    em_http_router_free(&router);
    em_http_prebuilt_free(&hello);
    em_tls_ctx_free(tls);
    return rc ? 1 : 0;
}

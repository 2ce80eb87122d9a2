/* The smallest ember HTTP server.
 *
 *   hello_server [--port N]        then: curl http://127.0.0.1:N/
 *
 * Two more paths for `make demo`: /moved redirects to /, and /gzip sends
 * the greeting 100 times through the gzip middleware (curl --compressed).
 */
#include "example.h"

#define HELLO10 "Hello, World!\nHello, World!\nHello, World!\nHello, World!\nHello, World!\n" \
                "Hello, World!\nHello, World!\nHello, World!\nHello, World!\nHello, World!\n"

static void hellos(em_http_ctx *cx, const em_http_handler *h) {
    static const char body[] = HELLO10 HELLO10 HELLO10 HELLO10 HELLO10
        HELLO10 HELLO10 HELLO10 HELLO10 HELLO10;
    em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), em_slice_make(body, sizeof body - 1));
}

static void hello(em_http_ctx *cx, const em_http_handler *h) {
    if (em_slice_eq(cx->path, EM_SLICE_LIT("/moved"))) {
        if (em_http_header_add(cx, EM_SLICE_LIT("Location"), EM_SLICE_LIT("/")) == 0)
            em_http_respond_text(cx, 302, "moved to /\n");
        else
            em_http_respond_text(cx, 500, "no Location\n");
        return;
    }
    if (em_slice_eq(cx->path, EM_SLICE_LIT("/gzip"))) {
        em_http_next(cx, h); /* the gzip middleware, then hellos */
        return;
    }
    em_http_respond_text(cx, 200, "Hello, World!\n");
}

int main(int argc, char **argv) {
    static const char *const names[] = { "--port", NULL };
    example_args(argc, argv, "usage: hello_server [--port N]", names);
    unsigned port = example_arg(argc, argv, "--port", 8080, 65535);
    em_sockaddr addr = em_sockaddr_loopback4((uint16_t)port);
    static const em_http_handler h_hellos = { hellos, NULL, NULL };
    static em_http_handler gzip;
    em_http_gzip(&gzip, &h_hellos, NULL);
    static const em_http_handler handler = { hello, &gzip, NULL };
    em_http_server_opts opts = { .handler = &handler };
    /* Runs until SIGINT/SIGTERM, then shuts down gracefully. */
    int rc = em_http_serve(&addr, &opts, example_ready, NULL);
    if (rc)
        fprintf(stderr, "hello_server: %s\n", em_strerror(rc));
    return rc ? 1 : 0;
}

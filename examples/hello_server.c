/* The smallest ember HTTP server.
 *
 *   hello_server [--port N]        then: curl http://127.0.0.1:N/
 */
#include "example.h"

static void hello(em_http_ctx *cx, const em_http_handler *h) {
    em_http_respond_text(cx, 200, "Hello, World!\n");
}

int main(int argc, char **argv) {
    static const char *const names[] = { "--port", NULL };
    example_args(argc, argv, "usage: hello_server [--port N]", names);
    unsigned port = example_arg(argc, argv, "--port", 8080, 65535);
    em_sockaddr addr = em_sockaddr_loopback4((uint16_t)port);
    static const em_http_handler handler = { hello, NULL, NULL };
    em_http_server_opts opts = { .handler = &handler };
    /* Runs until SIGINT/SIGTERM, then shuts down gracefully. */
    int rc = em_http_serve(&addr, &opts, example_ready, NULL);
    if (rc)
        fprintf(stderr, "hello_server: %s\n", em_strerror(rc));
    return rc ? 1 : 0;
}

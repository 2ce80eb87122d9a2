/* The conformance server: what the benchmarks and interop tests talk to.
 *
 *   echo_server [--port N] [--workers N] [--host ADDR]
 *
 *   GET  /plaintext  -> "Hello, World!" (text/plain)
 *   POST /echo       -> the request body back
 *   anything else    -> 404
 *
 * Prints "listening on HOST:PORT" once every worker listens; SIGINT or
 * SIGTERM shut it down gracefully. */
#include "example.h"

static em_http_prebuilt hello;

static void plaintext(em_http_ctx *cx, const em_http_handler *h) {
    em_http_respond_prebuilt(cx, &hello);
}

static void echo(em_http_ctx *cx, const em_http_handler *h) {
    em_slice ct = em_http_request_header(cx, "Content-Type");
    em_http_respond(cx, 200, ct.len ? ct : EM_SLICE_LIT("application/octet-stream"), cx->body);
}

int main(int argc, char **argv) {
    static const char *const names[] = { "--port", "--workers", "--host", NULL };
    example_args(argc, argv, "usage: echo_server [--port N] [--workers N] [--host ADDR]", names);
    const char *host = "127.0.0.1";
    unsigned port = example_arg(argc, argv, "--port", 8080, 65535);
    unsigned workers = example_arg(argc, argv, "--workers", 1, 1024);
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--host"))
            host = argv[i + 1];
    em_ip ip;
    if (em_ip_parse(&ip, host, strlen(host)) != 0 || port > 65535) {
        fprintf(stderr, "usage: echo_server [--port N] [--workers N] [--host ADDR]\n");
        return 2;
    }
    em_sockaddr addr;
    em_sockaddr_from_ip(&addr, &ip, (uint16_t)port);

    if (em_http_prebuilt_init(&hello, 200, EM_SLICE_LIT("text/plain"),
                              EM_SLICE_LIT("Hello, World!")) != 0)
        return 1;
    em_http_router router;
    em_http_router_init(&router);
    static const em_http_handler h_plain = { plaintext, NULL, NULL };
    static const em_http_handler h_echo = { echo, NULL, NULL };
    if (em_http_router_add(&router, EM_HTTP_GET, EM_SLICE_LIT("/plaintext"), (void *)&h_plain) ||
        em_http_router_add(&router, EM_HTTP_POST, EM_SLICE_LIT("/echo"), (void *)&h_echo))
        return 1;
    em_http_handler root = em_http_router_as_handler(&router);

    em_http_server_opts opts = { .handler = &root, .workers = workers, .pin_workers = workers > 1 };
    int rc = em_http_serve(&addr, &opts, example_ready, NULL);
    if (rc)
        fprintf(stderr, "echo_server: %s\n", em_strerror(rc));
    em_http_router_free(&router);
    em_http_prebuilt_free(&hello);
    return rc ? 1 : 0;
}

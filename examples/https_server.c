/* The hello server over TLS: one server context, handed to the HTTP server.
 *
 *   https_server --port N --cert cert.pem --key key.pem
 *   then: curl --cacert ca.pem https://localhost:N/
 */
#include "example.h"

static void hello(em_http_ctx *cx, const em_http_handler *h) {
    em_http_respond_text(cx, 200, "Hello, World!\n");
}

/* The value of "--name VALUE" among the arguments (pairs, as example_args
 * checked them), or NULL. */
static const char *text_arg(int argc, char **argv, const char *name) {
    for (int i = 1; i + 1 < argc; i += 2)
        if (!strcmp(argv[i], name))
            return argv[i + 1];
    return NULL;
}

int main(int argc, char **argv) {
    static const char usage[] = "usage: https_server [--port N] --cert FILE --key FILE";
    static const char *const names[] = { "--port", "--cert", "--key", NULL };
    example_args(argc, argv, usage, names);
    unsigned port = example_arg(argc, argv, "--port", 8443, 65535);
    const char *cert = text_arg(argc, argv, "--cert"), *key = text_arg(argc, argv, "--key");
    if (!cert || !key) {
        fprintf(stderr, "%s\n", usage);
        return 2;
    }

    /* Loaded once, shared by every connection (and every worker). */
    em_tls_ctx_opts tls_opts = { .cert = { .cert_file = cert, .key_file = key },
                                 .alpn = "http/1.1,http/1.0" };
    em_tls_ctx *tls;
    int rc = em_tls_ctx_new(&tls, EM_TLS_SERVER, &tls_opts);
    if (rc) {
        char why[256];
        fprintf(stderr, "https_server: %s: %s\n", em_strerror(rc),
                em_tls_last_error(why, sizeof why));
        return 1;
    }

    em_sockaddr addr = em_sockaddr_loopback4((uint16_t)port);
    static const em_http_handler handler = { hello, NULL, NULL };
    em_http_server_opts opts = { .handler = &handler, .tls = tls };
    /* Runs until SIGINT/SIGTERM, then shuts down gracefully. */
    rc = em_http_serve(&addr, &opts, example_ready, NULL);
    if (rc)
        fprintf(stderr, "https_server: %s\n", em_strerror(rc));
    em_tls_ctx_free(tls);
    return rc ? 1 : 0;
}

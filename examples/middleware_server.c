/* Middleware and application state. A middleware is a handler that wraps
 * another (h->next); it may answer itself (auth) or call em_http_next()
 * and act around it (logging). The application state reaches every
 * handler as cx->app.
 *
 *   middleware_server [--port N]
 *   curl http://127.0.0.1:N/count                                -> 401
 *   curl -H 'Authorization: Bearer s3cret' http://127.0.0.1:N/count -> count 1
 */
#include <stdatomic.h>
#include "example.h"

typedef struct app {
    atomic_ulong hits; /* workers may share the state: keep it atomic */
    const char *token;
} app;

/* Logging: runs around the rest of the chain. */
static void log_mw(em_http_ctx *cx, const em_http_handler *h) {
    fprintf(stderr, "%.*s %.*s\n", (int)cx->req.method.len, cx->req.method.ptr,
            (int)cx->path.len, cx->path.ptr);
    em_http_next(cx, h);
}

/* Auth: answers 401 itself unless the bearer token matches. */
static void auth_mw(em_http_ctx *cx, const em_http_handler *h) {
    app *a = cx->app;
    em_slice got = em_http_request_header(cx, "Authorization");
    char want[128];
    int n = snprintf(want, sizeof want, "Bearer %s", a->token);
    if (!em_slice_eq(got, em_slice_make(want, (size_t)n))) {
        if (em_http_header_add(cx, EM_SLICE_LIT("WWW-Authenticate"), EM_SLICE_LIT("Bearer")) == 0)
            em_http_respond_text(cx, 401, "missing or wrong token\n");
        else
            em_http_respond_text(cx, 500, "header\n");
        return;
    }
    em_http_next(cx, h);
}

static void count(em_http_ctx *cx, const em_http_handler *h) {
    app *a = cx->app;
    char body[64];
    int n = snprintf(body, sizeof body, "count %lu\n", atomic_fetch_add(&a->hits, 1) + 1);
    em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), em_slice_make(body, (size_t)n));
}

int main(int argc, char **argv) {
    static const char *const names[] = { "--port", NULL };
    example_args(argc, argv, "usage: middleware_server [--port N]", names);
    unsigned port = example_arg(argc, argv, "--port", 8080, 65535);
    static app state = { .token = "s3cret" };
    /* The chain, innermost first: log -> auth -> count. */
    static const em_http_handler h_count = { count, NULL, NULL };
    static const em_http_handler h_auth = { auth_mw, &h_count, NULL };
    static const em_http_handler h_log = { log_mw, &h_auth, NULL };
    em_http_server_opts opts = { .handler = &h_log, .app = &state };
    em_sockaddr addr = em_sockaddr_loopback4((uint16_t)port);
    int rc = em_http_serve(&addr, &opts, example_ready, NULL);
    if (rc)
        fprintf(stderr, "middleware_server: %s\n", em_strerror(rc));
    return rc ? 1 : 0;
}

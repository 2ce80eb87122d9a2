/* Routing with parameters: ":name" captures one segment, "*name" the rest.
 * Unknown paths get 404; a known path with the wrong method gets 405 and an
 * Allow header; HEAD is served by the GET routes.
 *
 *   router_server [--port N]
 *   curl http://127.0.0.1:N/users/42/posts/7
 *   curl http://127.0.0.1:N/files/a/b/c.txt
 *   curl -X DELETE http://127.0.0.1:N/users/42      -> 405, Allow: GET, HEAD, PUT
 */
#include "example.h"

static void reply(em_http_ctx *cx, const char *fmt, em_slice a, em_slice b) {
    char body[512];
    int n = snprintf(body, sizeof body, fmt, (int)a.len, a.ptr, (int)b.len, b.ptr);
    em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"),
                    em_slice_make(body, n < (int)sizeof body ? (size_t)n : sizeof body - 1));
}

/* Captures are raw: "/users/J%C3%BCrgen" captures "J%C3%BCrgen". Decode
 * what you use; EM_HTTP_DECODE_SEGMENT refuses an encoded '/' or NUL. */
static void get_user(em_http_ctx *cx) {
    char id[128];
    ssize_t n =
        em_http_percent_decode(em_http_param(cx, "id"), id, sizeof id, EM_HTTP_DECODE_SEGMENT);
    if (n < 0) {
        em_http_respond_text(cx, 400, "bad user id\n");
        return;
    }
    reply(cx, "user %.*s%.*s\n", em_slice_make(id, (size_t)n), em_slice_make("", 0));
}
static void put_user(em_http_ctx *cx) {
    reply(cx, "updated user %.*s with %.*s\n", em_http_param(cx, "id"), cx->body);
}
static void get_post(em_http_ctx *cx) {
    reply(cx, "post %.*s of user %.*s\n", em_http_param(cx, "post"), em_http_param(cx, "id"));
}
static void get_file(em_http_ctx *cx) {
    reply(cx, "file '%.*s'%.*s\n", em_http_param(cx, "path"), em_slice_make("", 0));
}

int main(int argc, char **argv) {
    static const char *const names[] = {"--port", NULL};
    example_args(argc, argv, "usage: router_server [--port N]", names);
    unsigned port = example_arg(argc, argv, "--port", 8080, 65535);
    em_http_router r;
    em_http_router_init(&r);
    /* Typed routes: passing anything but void fn(em_http_ctx *) fails to
     * compile. */
    int rc = em_http_route(&r, EM_HTTP_GET, "/users/:id", get_user);
    rc = rc ? rc : em_http_route(&r, EM_HTTP_PUT, "/users/:id", put_user);
    rc = rc ? rc : em_http_route(&r, EM_HTTP_GET, "/users/:id/posts/:post", get_post);
    rc = rc ? rc : em_http_route(&r, EM_HTTP_GET, "/files/*path", get_file);
    if (rc) {
        fprintf(stderr, "router_server: %s\n", em_strerror(rc));
        return 1;
    }
    em_http_server_opts opts = {.router = &r};
    em_sockaddr addr = em_sockaddr_loopback4((uint16_t)port);
    rc = em_http_serve(&addr, &opts, example_ready, NULL);
    em_http_router_free(&r);
    if (rc)
        fprintf(stderr, "router_server: %s\n", em_strerror(rc));
    return rc ? 1 : 0;
}

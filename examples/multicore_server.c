/* One loop per core: em_http_serve starts N workers, each with its own
 * SO_REUSEPORT listener on the same port, optionally pinned to a core. The
 * kernel spreads new connections across them; nothing is shared.
 *
 *   multicore_server [--port N] [--workers N]     (default: one per core)
 *   curl http://127.0.0.1:N/whoami
 */
#include <pthread.h>

#include "example.h"

static void whoami(em_http_ctx *cx, const em_http_handler *h) {
    char body[64];
    int n = snprintf(body, sizeof body, "served by thread %lx\n", (unsigned long)pthread_self());
    em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), em_slice_make(body, (size_t)n));
}

int main(int argc, char **argv) {
    static const char *const names[] = { "--port", "--workers", NULL };
    example_args(argc, argv, "usage: multicore_server [--port N] [--workers N]", names);
    static const em_http_handler h = { whoami, NULL, NULL };
    em_http_server_opts opts = {
        .handler = &h,
        .workers = example_arg(argc, argv, "--workers", em_cpu_count(), 1024),
        .pin_workers = true,
    };
    em_sockaddr addr = em_sockaddr_loopback4((uint16_t)example_arg(argc, argv, "--port", 8080, 65535));
    int rc = em_http_serve(&addr, &opts, example_ready, NULL);
    if (rc)
        fprintf(stderr, "multicore_server: %s\n", em_strerror(rc));
    return rc ? 1 : 0;
}

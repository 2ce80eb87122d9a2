/* Many requests in flight on one loop: the client pools connections per
 * origin (here up to 64) and queues what is beyond.
 *   http_many URL [COUNT]      COUNT requests (default 1000), then a summary */
#include <stdio.h>
#include <stdlib.h>

#include "ember/http.h"

typedef struct stats {
    em_loop *loop;
    int left, ok, failed;
    unsigned long long bytes;
} stats;

static void on_body(em_http_call *call, em_slice piece) {
    stats *s = em_http_call_data(call);
    s->bytes += piece.len; /* streamed: nothing is buffered */
}

static void on_done(em_http_call *call, int err) {
    stats *s = em_http_call_data(call);
    if (err) {
        s->failed++;
        fprintf(stderr, "http_many: %s\n", em_http_call_error(call));
    } else {
        s->ok++;
    }
    if (--s->left == 0)
        em_loop_stop(s->loop);
}

static const em_http_client_cbs cbs = {.on_body = on_body, .on_done = on_done};

static void on_closed(void *arg) {
    em_loop_stop(arg);
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: http_many URL [COUNT]\n");
        return 2;
    }
    int count = argc == 3 ? atoi(argv[2]) : 1000;
    em_loop loop;
    em_http_client *cl;
    if (count <= 0 || em_loop_init(&loop) != 0 ||
        em_http_client_new(&cl, &loop, &(em_http_client_opts){.max_per_host = 64}) != 0)
        return 1;
    stats s = {.loop = &loop, .left = count};
    for (int i = 0; i < count; i++)
        if (em_http_client_do(cl, &(em_http_req){.url = argv[1]}, &cbs, &s, NULL) != 0) {
            fprintf(stderr, "http_many: bad URL\n");
            return 2;
        }
    em_loop_run(&loop, EM_RUN_DEFAULT);
    printf("%d ok, %d failed, %llu body bytes over %u connections\n", s.ok, s.failed, s.bytes,
           em_http_client_conns(cl));
    em_http_client_close(cl, on_closed, &loop);
    em_loop_run(&loop, EM_RUN_DEFAULT);
    return em_loop_close(&loop) == 0 && s.failed == 0 ? 0 : 1;
}

/* One client shared by several threads: the agent runs it on a thread of
 * its own, and any thread makes blocking requests over its one pool.
 *   http_threads URL [THREADS] [PER_THREAD] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "ember/http.h"

typedef struct worker {
    pthread_t th;
    em_http_agent *agent;
    const char *url;
    int n, ok;
} worker;

static void *run(void *arg) {
    worker *w = arg;
    for (int i = 0; i < w->n; i++) {
        em_http_resp r;
        if (em_http_agent_fetch(w->agent, &(em_http_req){.url = w->url}, &r) == 0 &&
            r.status == 200)
            w->ok++;
        em_http_resp_free(&r);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: http_threads URL [THREADS] [PER_THREAD]\n");
        return 2;
    }
    int threads = argc > 2 ? atoi(argv[2]) : 4, per = argc > 3 ? atoi(argv[3]) : 50;
    if (threads < 1 || threads > 64 || per < 1)
        return 2;
    em_http_agent *agent;
    if (em_http_agent_new(&agent, NULL) != 0)
        return 1;
    worker w[64];
    for (int i = 0; i < threads; i++) {
        w[i] = (worker){.agent = agent, .url = argv[1], .n = per};
        pthread_create(&w[i].th, NULL, run, &w[i]);
    }
    int ok = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(w[i].th, NULL);
        ok += w[i].ok;
    }
    em_http_agent_free(agent);
    printf("%d of %d requests answered 200\n", ok, threads * per);
    return ok == threads * per ? 0 : 1;
}

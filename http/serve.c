/* em_http_serve: one server per worker loop, each with its own
 * SO_REUSEPORT listener, so the kernel spreads connections over the cores
 * with nothing shared between loops. SIGINT/SIGTERM start a graceful
 * shutdown on every worker. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "exchange_internal.h"

typedef struct serve {
    em_http_server_opts opts;
    em_tcp_listener *listeners; /* one per worker, bound before start */
    em_http_server *servers;
    em_task *stop_tasks;
    unsigned n;
    em_loop main;
    em_signal sig;
    bool stopping;
    atomic_bool stop_posted; /* em_http_serve_stop: post once */
    em_task stop_task;
    em_sched sched;
} serve;

static int worker_setup(em_loop *loop, unsigned i, void *arg) {
    serve *s = arg;
    int rc = em__http_server_start(loop, &s->servers[i], NULL, &s->listeners[i], &s->opts);
    if (rc == 0)
        s->listeners[i].fd = -1; /* the server owns it now */
    return rc;
}

/* Drained: end this worker's loop; em_sched_join() sees the thread end. */
static void on_worker_drained(em_http_server *srv) {
    em_loop_stop(srv->_loop);
}

static void on_stop_task(em_task *t) {
    em_http_server *srv = t->data;
    em_http_server_shutdown(srv, on_worker_drained);
}

static void stop_all(serve *s) {
    if (s->stopping)
        return;
    s->stopping = true;
    for (unsigned i = 0; i < s->n; i++) {
        s->stop_tasks[i].cb = on_stop_task;
        s->stop_tasks[i].data = &s->servers[i];
        (void)em_loop_post(em_sched_loop(&s->sched, i), &s->stop_tasks[i]);
    }
    em_signal_stop(&s->sig);
}

static void on_signal(em_signal *sig, int signum) {
    stop_all(EM_CONTAINER_OF(sig, serve, sig));
}

static void on_stop_posted(em_task *t) {
    stop_all(t->data);
}

void em_http_serve_stop(em_http_server *srv) {
    serve *s = srv ? srv->data : NULL;
    if (!s || atomic_exchange(&s->stop_posted, true))
        return;
    s->stop_task.cb = on_stop_posted;
    s->stop_task.data = s;
    (void)em_loop_post(&s->main, &s->stop_task);
}

/* Bind every worker's listener now, so port 0 resolves once and all
 * workers share the port. */
static int bind_all(serve *s, const em_sockaddr *addr, em_sockaddr *bound) {
    em_tcp_listen_opts lo = em_tcp_listen_opts_default();
    lo.reuseport = true;
    *bound = *addr;
    for (unsigned i = 0; i < s->n; i++) {
        int rc = em_tcp_listen(&s->listeners[i], bound, &lo);
        if (rc)
            return rc;
        if (i == 0 && (rc = em_tcp_listener_addr(&s->listeners[0], bound)) != 0)
            return rc;
    }
    return 0;
}

int em_http_serve(const em_sockaddr *addr, const em_http_server_opts *opts,
                  void (*ready)(const em_sockaddr *bound, void *arg), void *arg) {
    if (!addr || !opts || (!opts->handler && !opts->router))
        return EM_EINVAL;
    serve *s = calloc(1, sizeof *s);
    if (!s)
        return EM_ENOMEM;
    s->opts = *opts;
    s->opts.reuseport = true;
    s->n = opts->workers ? opts->workers : 1;
    s->listeners = calloc(s->n, sizeof *s->listeners);
    s->servers = calloc(s->n, sizeof *s->servers);
    s->stop_tasks = calloc(s->n, sizeof *s->stop_tasks);
    int rc = EM_ENOMEM;
    if (!s->listeners || !s->servers || !s->stop_tasks)
        goto out;
    for (unsigned i = 0; i < s->n; i++) {
        s->listeners[i].fd = -1;
        s->servers[i].data = s;
    }
    em_sockaddr bound;
    if ((rc = bind_all(s, addr, &bound)) != 0)
        goto out;
    if ((rc = em_loop_init(&s->main)) != 0)
        goto out;
    /* Signals first: the workers inherit them blocked. */
    em_signal_init(&s->main, &s->sig, on_signal);
    if ((rc = em_signal_start(&s->sig, SIGINT)) != 0 ||
        (rc = em_signal_start(&s->sig, SIGTERM)) != 0) {
        em_signal_stop(&s->sig);
        if (em_loop_close(&s->main) != 0)
            rc = EM_EBUSY;
        goto out;
    }
    em_sched_opts so = {.workers = s->n, .pin = opts->pin_workers, .setup = worker_setup, .arg = s};
    if ((rc = em_sched_start(&s->sched, &so)) != 0) {
        em_signal_stop(&s->sig);
        if (em_loop_close(&s->main) != 0)
            rc = EM_EBUSY;
        goto out;
    }
    if (ready)
        ready(&bound, arg);
    /* The main loop only waits for the signal; the workers stop their own
     * loops once drained, and join returns when all have. */
    while (!s->stopping && em_loop_active(&s->main))
        em_loop_run(&s->main, EM_RUN_ONCE);
    rc = em_sched_join(&s->sched);
    em_signal_stop(&s->sig);
    if (em_loop_close(&s->main) != 0 && rc == 0)
        rc = EM_EBUSY;
out:
    for (unsigned i = 0; s->listeners && i < s->n; i++)
        if (s->listeners[i].fd >= 0)
            em_tcp_listener_close(&s->listeners[i]);
    free(s->listeners);
    free(s->servers);
    free(s->stop_tasks);
    free(s);
    return rc;
}

/* The agent: a client on a loop thread of its own, fed from any thread.
 * A request is copied on the caller's thread (em__http_call_new touches
 * nothing shared) and handed over with em_loop_post; everything else runs
 * on the agent's thread. Stopping is one more post: the loop's posted
 * queue is FIFO, so every request posted before it has started (and then
 * ends with EM_ECANCELED) before the client closes. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

struct em_http_agent {
    pthread_t th;
    em_loop loop;
    em_http_client *cl;
    em_http_client_opts opts;
    pthread_mutex_t mu;           /* stopping, and the order of posts */
    bool stopping;
    bool closed;                  /* loop thread only */
    em_task stop;
};

struct em_http_pending {
    em__http_gather g;
    em_http_resp resp;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
};

static void on_client_closed(void *arg) {
    em_http_agent *a = arg;
    a->closed = true;
    em_loop_stop(&a->loop); /* the loop is referenced: it would wait on */
}

static void stop_task(em_task *t) {
    em_http_agent *a = t->data;
    em_http_client_close(a->cl, on_client_closed, a);
}

static void *agent_main(void *arg) {
    em_http_agent *a = arg;
    while (!a->closed)
        em_loop_run(&a->loop, EM_RUN_DEFAULT);
    return NULL;
}

int em_http_agent_new(em_http_agent **out, const em_http_client_opts *opts) {
    if (!out || (opts && opts->resolver))
        return EM_EINVAL;
    em_http_agent *a = calloc(1, sizeof *a);
    if (!a)
        return EM_ENOMEM;
    if (opts)
        a->opts = *opts;
    int rc = em_loop_init(&a->loop);
    if (rc) {
        free(a);
        return rc;
    }
    rc = em_http_client_new(&a->cl, &a->loop, &a->opts);
    if (!rc) {
        pthread_mutex_init(&a->mu, NULL);
        /* the loop waits for posts even while no request runs */
        em_loop_ref(&a->loop);
        rc = em_err_from_errno(pthread_create(&a->th, NULL, agent_main, a));
        if (rc) {
            em_loop_unref(&a->loop);
            pthread_mutex_destroy(&a->mu);
            em_http_client_close(a->cl, on_client_closed, a);
            while (!a->closed)
                em_loop_run(&a->loop, EM_RUN_DEFAULT);
        }
    }
    if (rc) {
        int crc = em_loop_close(&a->loop);
        (void)crc;
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void em_http_agent_free(em_http_agent *a) {
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->stopping = true;
    a->stop.cb = stop_task;
    a->stop.data = a;
    int rc = em_loop_post(&a->loop, &a->stop);
    pthread_mutex_unlock(&a->mu);
    if (rc == 0)
        pthread_join(a->th, NULL);
    em_loop_unref(&a->loop);
    em_loop_run(&a->loop, EM_RUN_NOWAIT);
    rc = em_loop_close(&a->loop);
    (void)rc;
    pthread_mutex_destroy(&a->mu);
    free(a);
}

static void start_task(em_task *t) {
    em_http_call *call = t->data;
    int rc = em__http_client_start(call->cl, call);
    if (rc) {
        /* report it the one way this call can: on_done, on this thread */
        call->cl->live_calls++;
        em__http_call_finish(call, rc);
    }
}

static int post_call(em_http_agent *a, const em_http_req *req, const em_http_client_cbs *cbs,
                     void *data, uint64_t max_body) {
    em_http_call *call;
    int rc = em__http_call_new(a->cl, req, cbs, data, &call);
    if (rc)
        return rc;
    call->max_body = max_body;
    if (max_body) /* a waitable request: decoded unless the agent says never */
        call->decompress = a->opts.decompress >= 0;
    call->post_task.cb = start_task;
    call->post_task.data = call;
    pthread_mutex_lock(&a->mu);
    rc = a->stopping ? EM_ECLOSED : em_loop_post(&a->loop, &call->post_task);
    pthread_mutex_unlock(&a->mu);
    if (rc)
        em__http_call_free(call);
    return rc;
}

int em_http_agent_do(em_http_agent *a, const em_http_req *req, const em_http_client_cbs *cbs,
                     void *data) {
    if (!a)
        return EM_EINVAL;
    return post_call(a, req, cbs, data, 0);
}

static void pending_end(em__http_gather *g) {
    em_http_pending *p = EM_CONTAINER_OF(g, em_http_pending, g);
    pthread_mutex_lock(&p->mu);
    p->done = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

int em_http_agent_start(em_http_agent *a, const em_http_req *req, em_http_pending **out) {
    if (!a || !req || !out)
        return EM_EINVAL;
    *out = NULL;
    em_http_pending *p = calloc(1, sizeof *p);
    if (!p)
        return EM_ENOMEM;
    em_http_req r = *req;
    em_http_client_opts o = a->opts;
    em_http_limits limits;
    em__http_blocking_defaults(&r, &o, &limits);
    p->g.resp = &p->resp;
    p->g.on_end = pending_end;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    int rc = post_call(a, &r, &em__http_gather_cbs, &p->g, limits.max_body);
    if (rc) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int em_http_pending_wait(em_http_pending *p, em_http_resp *resp) {
    if (!p || !resp)
        return EM_EINVAL;
    pthread_mutex_lock(&p->mu);
    while (!p->done)
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    int rc = em__http_gather_finish(&p->g, p->g.err);
    *resp = p->resp;
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
    return rc;
}

int em_http_agent_fetch(em_http_agent *a, const em_http_req *req, em_http_resp *resp) {
    if (!resp)
        return EM_EINVAL;
    memset(resp, 0, sizeof *resp);
    em_http_pending *p;
    int rc = em_http_agent_start(a, req, &p);
    return rc ? rc : em_http_pending_wait(p, resp);
}

/* The agent (http/client_agent.c): one client on its own thread, requests
 * from many threads sharing its pool; waitable requests and callbacks on
 * the agent's thread; stopping with calls in flight. `make tsan` runs this
 * suite under ThreadSanitizer. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "em_test.h"
#include "ember/http.h"

typedef struct server_thread {
    pthread_t th;
    em_loop loop;
    em_http_server srv;
    uint16_t port;
    em_task stop;
    atomic_int conns_opened;
    atomic_int closed;
} server_thread;

static void later_cb(em_timer *t) {
    em_http_ctx *cx = t->data;
    (void)em_http_respond_text(cx, 200, "late");
    free(t);
}

static void on_gone(em_http_ctx *cx, int err) {
    (void)cx; /* the server releases cx when this returns */
    (void)err;
}
static const em_http_stream_cbs gone_cbs = {.on_abort = on_gone};

static void handler(em_http_ctx *cx, const em_http_handler *h) {
    server_thread *st = h->data;
    if (em_slice_eq(cx->path, EM_SLICE_LIT("/never"))) {
        em_http_defer(cx, &gone_cbs); /* never answered: the client leaves */
        return;
    }
    if (em_slice_eq(cx->path, EM_SLICE_LIT("/late"))) {
        em_timer *t = calloc(1, sizeof *t);
        em_http_defer(cx, NULL);
        em_timer_init(&st->loop, t, later_cb);
        t->data = cx;
        em_timer_start(t, 20, 0);
        return;
    }
    char out[256];
    int n = snprintf(out, sizeof out, "%.*s", (int)cx->path.len, cx->path.ptr);
    (void)em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), (em_slice){out, (size_t)n});
}

static int on_open(em_http_conn *c, void *app) {
    (void)c;
    server_thread *st = app;
    atomic_fetch_add(&st->conns_opened, 1);
    return 0;
}

static void on_closed(em_http_server *srv) {
    server_thread *st = srv->data;
    atomic_store(&st->closed, 1);
}

static void stop_task(em_task *t) {
    server_thread *st = t->data;
    em_http_server_shutdown(&st->srv, on_closed);
}

static void *server_main(void *arg) {
    server_thread *st = arg;
    while (!atomic_load(&st->closed))
        em_loop_run(&st->loop, EM_RUN_ONCE);
    return NULL;
}

static em_http_handler h;

static void server_start(server_thread *st) {
    memset(st, 0, sizeof *st);
    assert_int_equal(em_loop_init(&st->loop), 0);
    h = (em_http_handler){.fn = handler, .data = st};
    em_sockaddr any = em_sockaddr_loopback4(0), bound;
    em_http_server_opts o = {.handler = &h, .app = st, .on_conn_open = on_open,
                             .shutdown_timeout_ms = 200};
    st->srv.data = st;
    assert_int_equal(em_http_server_start(&st->loop, &st->srv, &any, &o), 0);
    assert_int_equal(em_http_server_addr(&st->srv, &bound), 0);
    st->port = em_sockaddr_port(&bound);
    assert_int_equal(pthread_create(&st->th, NULL, server_main, st), 0);
}

static void server_stop(server_thread *st) {
    st->stop.cb = stop_task;
    st->stop.data = st;
    assert_int_equal(em_loop_post(&st->loop, &st->stop), 0);
    pthread_join(st->th, NULL);
    em_loop_run(&st->loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&st->loop), 0);
}

#define THREADS 8
#define PER_THREAD 40

typedef struct worker {
    pthread_t th;
    em_http_agent *a;
    uint16_t port;
    int id, ok;
} worker;

static void *worker_main(void *arg) {
    worker *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char url[128], path[64];
        snprintf(path, sizeof path, "/w%d/%d", w->id, i);
        snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)w->port, path);
        em_http_resp r;
        int rc;
        if (i % 2) {
            rc = em_http_agent_fetch(w->a, &(em_http_req){.url = url}, &r);
        } else { /* start two, then wait for both */
            em_http_pending *p1, *p2;
            em_http_resp r2;
            assert_int_equal(em_http_agent_start(w->a, &(em_http_req){.url = url}, &p1), 0);
            assert_int_equal(em_http_agent_start(w->a, &(em_http_req){.url = url}, &p2), 0);
            rc = em_http_pending_wait(p2, &r2);
            if (!rc && r2.status == 200 && !strcmp(r2.body.ptr, path))
                w->ok++;
            em_http_resp_free(&r2);
            rc = em_http_pending_wait(p1, &r);
        }
        if (!rc && r.status == 200 && !strcmp(r.body.ptr, path))
            w->ok++;
        em_http_resp_free(&r);
    }
    return NULL;
}

static void test_many_threads_share_one_pool(void **state) {
    (void)state;
    server_thread st;
    server_start(&st);
    em_http_agent *a;
    em_http_client_opts o = {.max_per_host = 4};
    assert_int_equal(em_http_agent_new(&a, &o), 0);
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.a = a, .port = st.port, .id = i};
        assert_int_equal(pthread_create(&w[i].th, NULL, worker_main, &w[i]), 0);
    }
    int ok = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(w[i].th, NULL);
        ok += w[i].ok;
    }
    assert_int_equal(ok, THREADS * (PER_THREAD + PER_THREAD / 2));
    /* 480 requests, at most max_per_host connections at a time, reused */
    assert_true(atomic_load(&st.conns_opened) <= 8);
    em_http_agent_free(a);
    server_stop(&st);
}

typedef struct cb_state {
    atomic_int heads, dones, err;
    pthread_t agent_thread;
    atomic_int on_agent_thread;
} cb_state;

static void cb_head(em_http_call *call, const em_http_response *r) {
    cb_state *s = em_http_call_data(call);
    (void)r;
    atomic_fetch_add(&s->heads, 1);
}

static void cb_done(em_http_call *call, int err) {
    cb_state *s = em_http_call_data(call);
    atomic_store(&s->err, err);
    atomic_fetch_add(&s->on_agent_thread, !pthread_equal(pthread_self(), s->agent_thread));
    atomic_fetch_add(&s->dones, 1);
}

static const em_http_client_cbs cbs = {.on_head = cb_head, .on_done = cb_done};

static void test_callbacks_and_stop(void **state) {
    (void)state;
    server_thread st;
    server_start(&st);
    em_http_agent *a;
    assert_int_equal(em_http_agent_new(&a, NULL), 0);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/late", (unsigned)st.port);
    cb_state s = {.agent_thread = pthread_self()};
    assert_int_equal(em_http_agent_do(a, &(em_http_req){.url = url}, &cbs, &s), 0);
    while (atomic_load(&s.dones) == 0)
        usleep(1000);
    assert_int_equal(atomic_load(&s.err), 0);
    assert_int_equal(atomic_load(&s.heads), 1);
    /* the callbacks ran on the agent's thread, not this one */
    assert_int_equal(atomic_load(&s.on_agent_thread), 1);
    /* bad requests are refused at once, from any thread */
    assert_int_equal(em_http_agent_do(a, &(em_http_req){.url = "nope"}, &cbs, &s), EM_EINVAL);
    /* stopping with calls in flight ends them with EM_ECANCELED */
    snprintf(url, sizeof url, "http://127.0.0.1:%u/never", (unsigned)st.port);
    cb_state s2 = {.agent_thread = pthread_self()};
    em_http_pending *p;
    assert_int_equal(em_http_agent_do(a, &(em_http_req){.url = url}, &cbs, &s2), 0);
    assert_int_equal(em_http_agent_start(a, &(em_http_req){.url = url}, &p), 0);
    em_http_agent_free(a);
    assert_int_equal(atomic_load(&s2.dones), 1);
    assert_int_equal(atomic_load(&s2.err), EM_ECANCELED);
    em_http_resp r;
    assert_int_equal(em_http_pending_wait(p, &r), EM_ECANCELED);
    em_http_resp_free(&r);
    server_stop(&st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_threads_share_one_pool),
        cmocka_unit_test(test_callbacks_and_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

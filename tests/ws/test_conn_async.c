/* ws/conn_async.c: em_ws_send_async from 8 threads at once (each
 * thread's messages arrive in its order, every done reports 0 once sent),
 * references from any thread, and sends posted to a closed ws. Runs under
 * ThreadSanitizer (make tsan). */
#include <pthread.h>
#include <stdatomic.h>

#include "ws_conn_util.h"

#define THREADS    8
#define PER_THREAD 200

static atomic_int dones, done_errs;
static int done_on_thread_ok = 1;
static pthread_t loop_thread;

static void on_done(em_ws *ws, int err, void *arg) {
    (void)ws, (void)arg;
    if (!pthread_equal(pthread_self(), loop_thread))
        done_on_thread_ok = 0;
    if (err)
        atomic_fetch_add(&done_errs, 1);
    atomic_fetch_add(&dones, 1);
}

struct sender {
    pthread_t th;
    em_ws *ws;
    int id;
};

static void *send_many(void *arg) {
    struct sender *s = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char m[32];
        int n = snprintf(m, sizeof m, "%d:%d", s->id, i);
        int rc;
        while ((rc = em_ws_send_async(s->ws, EM_WS_OP_TEXT, em_slice_make(m, (size_t)n), on_done,
                                      NULL)) == EM_ENOMEM)
            usleep(10);
        assert_int_equal(rc, 0);
        em_ws_retain(s->ws); /* references from any thread */
        em_ws_release(s->ws);
    }
    em_ws_release(s->ws);
    return NULL;
}

static void test_eight_threads(void **state) {
    (void)state;
    for (int role = 0; role < 2; role++) {
        harness h;
        h_init(&h, role);
        h_start(&h);
        h_run_ms(&h, 2);
        loop_thread = pthread_self();
        atomic_store(&dones, 0);
        atomic_store(&done_errs, 0);
        struct sender s[THREADS];
        for (int i = 0; i < THREADS; i++) {
            s[i].ws = h.ws;
            s[i].id = i;
            em_ws_retain(h.ws);
            assert_int_equal(pthread_create(&s[i].th, NULL, send_many, &s[i]), 0);
        }
        int next[THREADS] = {0};
        for (int got = 0; got < THREADS * PER_THREAD; got++) {
            em_slice m;
            assert_int_equal(h_read_frame(&h, &m, NULL, 5000), EM_WS_OP_TEXT);
            int id, seq;
            char text[32];
            snprintf(text, sizeof text, "%.*s", (int)m.len, m.ptr);
            assert_int_equal(sscanf(text, "%d:%d", &id, &seq), 2);
            assert_true(id >= 0 && id < THREADS);
            assert_int_equal(seq, next[id]); /* each thread's order */
            next[id]++;
        }
        for (int i = 0; i < THREADS; i++)
            pthread_join(s[i].th, NULL);
        uint64_t end = h_ms() + 3000;
        while (atomic_load(&dones) < THREADS * PER_THREAD && h_ms() < end)
            h_turn(&h);
        assert_int_equal(atomic_load(&dones), THREADS * PER_THREAD);
        assert_int_equal(atomic_load(&done_errs), 0);
        assert_true(done_on_thread_ok);
        h_finish(&h);
    }
}

/* A send posted after the close: done(EM_ECLOSED); the reference keeps
 * the memory until it ran. */
static void test_async_after_close(void **state) {
    (void)state;
    harness h;
    h_init(&h, EM_WS_ROLE_SERVER);
    h.retain_on_close = true;
    h_start(&h);
    h_run_ms(&h, 2);
    loop_thread = pthread_self();
    atomic_store(&dones, 0);
    atomic_store(&done_errs, 0);
    em_ws *ws = h.ws;
    em_ws_abort(ws);
    assert_int_equal(em_ws_send_async(ws, EM_WS_OP_TEXT, EM_SLICE_LIT("x"), on_done, NULL), 0);
    assert_int_equal(em_ws_send_async(ws, EM_WS_OP_PING, EM_SLICE_LIT("x"), on_done, NULL),
                     EM_EINVAL);
    h_until(&h, &h.closed, 1, 2000);
    h_run_ms(&h, 5);
    assert_int_equal(atomic_load(&dones), 1);
    assert_int_equal(atomic_load(&done_errs), 1);
    /* retained past on_close: calls refuse, memory lives */
    assert_int_equal(em_ws_send_text(ws, EM_SLICE_LIT("x"), NULL), EM_ECLOSED);
    assert_int_equal(em_ws_close(ws, 1000, EM_SLICE_LIT("")), EM_ECLOSED);
    assert_int_equal(em_ws_queued(ws), 0);
    em_ws_abort(ws);
    em_ws_release(ws);
    h_finish(&h);
}

/* Sends from 8 threads while the connection ends under them (abort on
 * the loop, or the peer gone): every em_ws_send_async that returned 0
 * reports exactly once, with an error when the message was not sent, and
 * the last reference, dropped by a sender thread after on_close, frees
 * the ws there. */
#define RACE_PER_THREAD 300

static atomic_int race_done[THREADS][RACE_PER_THREAD];
static atomic_int race_posted, race_dones, race_running;

static void on_race_done(em_ws *ws, int err, void *arg) {
    (void)ws, (void)err;
    atomic_fetch_add((atomic_int *)arg, 1);
    atomic_fetch_add(&race_dones, 1);
}

static void *send_racing(void *arg) {
    struct sender *s = arg;
    for (int i = 0; i < RACE_PER_THREAD; i++) {
        char m[32];
        int n = snprintf(m, sizeof m, "%d:%d", s->id, i);
        int rc = em_ws_send_async(s->ws, EM_WS_OP_TEXT, em_slice_make(m, (size_t)n), on_race_done,
                                  &race_done[s->id][i]);
        if (rc == 0)
            atomic_fetch_add(&race_posted, 1);
        else
            assert_int_equal(rc, EM_ENOMEM);
        if (i % 16 == 0)
            usleep(50);
    }
    em_ws_release(s->ws); /* maybe the last: after on_close, on this thread */
    atomic_fetch_sub(&race_running, 1);
    return NULL;
}

static void test_async_while_closing(void **state) {
    (void)state;
    for (int how = 0; how < 4; how++) {
        harness h;
        h_init(&h, how & 1 ? EM_WS_ROLE_CLIENT : EM_WS_ROLE_SERVER);
        h_start(&h);
        h_run_ms(&h, 2);
        memset(race_done, 0, sizeof race_done);
        atomic_store(&race_posted, 0);
        atomic_store(&race_dones, 0);
        atomic_store(&race_running, THREADS);
        struct sender s[THREADS];
        for (int i = 0; i < THREADS; i++) {
            s[i].ws = h.ws;
            s[i].id = i;
            em_ws_retain(h.ws);
            assert_int_equal(pthread_create(&s[i].th, NULL, send_racing, &s[i]), 0);
        }
        /* let some go out, then end it while the threads still send */
        em_slice m;
        for (int k = 0; k < 20; k++)
            assert_int_equal(h_read_frame(&h, &m, NULL, 5000), EM_WS_OP_TEXT);
        if (how < 2)
            em_ws_abort(h.ws);
        else
            h_close_peer(&h);
        uint64_t end = h_ms() + 10000;
        while ((atomic_load(&race_running) > 0 ||
                atomic_load(&race_dones) < atomic_load(&race_posted)) &&
               h_ms() < end) {
            h_turn(&h);
            usleep(100);
        }
        for (int i = 0; i < THREADS; i++)
            pthread_join(s[i].th, NULL);
        h_run_ms(&h, 5);
        assert_int_equal(h.closed, 1);
        assert_int_equal(atomic_load(&race_dones), atomic_load(&race_posted));
        for (int i = 0; i < THREADS; i++)
            for (int k = 0; k < RACE_PER_THREAD; k++)
                assert_true(atomic_load(&race_done[i][k]) <= 1); /* never twice */
        h_finish(&h);
    }
}

/* One frame buffer sent on connections of four loops on four threads,
 * queued behind full sockets, the connections ending mid-send: each loop
 * drops the references it took (the kernel took the bytes, or the
 * connection ended), so only the creator's is left. */
#define FB_LOOPS 4
#define FB_SENDS 64

static em_ws_frame_buf *shared_fb;

static void *fb_loop_main(void *arg) {
    harness *h = arg;
    h_init(h, EM_WS_ROLE_SERVER);
    h_start_opts(h, NULL, 4096);
    h_run_ms(h, 2);
    for (int i = 0; i < FB_SENDS; i++) {
        int rc = em_ws_send_frame_buf(h->ws, shared_fb, NULL);
        assert_true(rc == 0 || rc == EM_WS_FULL);
        if (i == FB_SENDS / 2) { /* some bytes out, then the peer goes */
            em_slice m;
            assert_int_equal(h_read_frame(h, &m, NULL, 5000), EM_WS_OP_BINARY);
            h_close_peer(h);
        }
    }
    h_finish(h);
    h_thread_done();
    return NULL;
}

static void test_frame_buf_refs_across_loops(void **state) {
    (void)state;
    static char payload[16384];
    memset(payload, 'p', sizeof payload);
    assert_int_equal(em_ws_frame_buf_new(&shared_fb, EM_WS_OP_BINARY,
                                         em_slice_make(payload, sizeof payload), false),
                     0);
    static harness h[FB_LOOPS];
    pthread_t th[FB_LOOPS];
    for (int i = 0; i < FB_LOOPS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, fb_loop_main, &h[i]), 0);
    for (int i = 0; i < FB_LOOPS; i++)
        pthread_join(th[i], NULL);
    /* refs is the first field (frame_buf.c): only ours is left */
    assert_int_equal(atomic_load((_Atomic unsigned *)(void *)shared_fb), 1);
    em_ws_frame_buf_release(shared_fb);
}

static int sent_err = 99;

static void on_sent_err(em_ws *ws, int err, void *arg) {
    (void)ws, (void)arg;
    sent_err = err;
}

static void abort_task(em_task *t) {
    em_ws_abort(t->data);
}

/* A send the kernel took, then the connection dropped before the loop
 * reported the token (an abort posted right after it): done says 0, the
 * message having gone out, not EM_ECLOSED. */
static void test_async_sent_then_abort(void **state) {
    (void)state;
    for (int role = 0; role < 2; role++) {
        harness h;
        h_init(&h, role);
        h_start(&h);
        h_run_ms(&h, 2);
        sent_err = 99;
        assert_int_equal(em_ws_send_async(h.ws, EM_WS_OP_TEXT, EM_SLICE_LIT("x"), on_sent_err,
                                          NULL),
                         0);
        em_task t = {.cb = abort_task, .data = h.ws};
        assert_int_equal(em_loop_post(&h.loop, &t), 0);
        h_until(&h, &h.closed, 1, 3000);
        assert_int_equal(h.closed, 1);
        em_slice m;
        assert_int_equal(h_read_frame(&h, &m, NULL, 3000), EM_WS_OP_TEXT); /* it went out */
        assert_true(em_slice_eq(m, EM_SLICE_LIT("x")));
        assert_int_equal(sent_err, 0);
        h_finish(&h);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eight_threads),
        cmocka_unit_test(test_async_after_close),
        cmocka_unit_test(test_async_while_closing),
        cmocka_unit_test(test_frame_buf_refs_across_loops),
        cmocka_unit_test(test_async_sent_then_abort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

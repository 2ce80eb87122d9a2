/* ws/hub.c: topics across loops. Two servers on two loops (the second on
 * a thread of its own, as em_http_serve's workers are), clients of both
 * on the test's loop; publishes from other threads reach every subscriber
 * of the topic and nobody else; a closed connection leaves its topics. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "em_test.h"
#include "ember/ws.h"

static em_ws_hub *hub;

/* ---- the servers: a connection subscribes to the topic named by its
 * first message ("sub:NAME"), and "pub:NAME:TEXT" publishes TEXT -------- */

static void srv_message(em_ws *ws, int opcode, em_slice m) {
    (void)opcode;
    char buf[300];
    snprintf(buf, sizeof buf, "%.*s", (int)m.len, m.ptr);
    if (!strncmp(buf, "sub:", 4)) {
        assert_int_equal(em_ws_subscribe(hub, ws, buf + 4), 0);
        assert_int_equal(em_ws_subscribe(hub, ws, buf + 4), 0); /* twice is once */
        assert_int_equal(em_ws_send_text(ws, EM_SLICE_LIT("subscribed"), NULL), 0);
    } else if (!strncmp(buf, "unsub:", 6)) {
        assert_int_equal(em_ws_unsubscribe(hub, ws, buf + 6), 0);
        assert_int_equal(em_ws_unsubscribe(hub, ws, buf + 6), EM_ENOTFOUND);
        assert_int_equal(em_ws_send_text(ws, EM_SLICE_LIT("unsubscribed"), NULL), 0);
    }
}
static void srv_close(em_ws *ws, int code, int err, em_slice reason) {
    (void)ws, (void)code, (void)err, (void)reason;
}
static const em_ws_cbs srv_cbs = {.on_message = srv_message, .on_close = srv_close};

typedef struct server {
    em_loop loop;
    em_http_server http;
    em_http_router router;
    em_http_handler h;
    em_ws_server_opts wso;
    uint16_t port;
    int closed;
    pthread_t th;
    bool threaded;
    em_task stop;
} server;

static void on_closed(em_http_server *s) {
    ((server *)s->data)->closed = 1;
}

static void server_start(server *s, em_loop *loop) {
    em_http_router_init(&s->router);
    s->wso = (em_ws_server_opts){.cbs = &srv_cbs};
    assert_int_equal(em_ws_route(&s->router, "/t", &s->wso), 0);
    s->h = em_http_router_as_handler(&s->router);
    em_http_server_opts o = {.handler = &s->h};
    em_sockaddr any = em_sockaddr_loopback4(0), bound;
    s->http.data = s;
    assert_int_equal(em_http_server_start(loop, &s->http, &any, &o), 0);
    assert_int_equal(em_http_server_addr(&s->http, &bound), 0);
    s->port = em_sockaddr_port(&bound);
}

static void *server_main(void *arg) {
    server *s = arg;
    while (!s->closed)
        em_loop_run(&s->loop, EM_RUN_ONCE);
    return NULL;
}

static void stop_task(em_task *t) {
    server *s = t->data;
    em_http_server_shutdown(&s->http, on_closed);
}

/* ---- the clients ------------------------------------------------------------------ */

typedef struct client {
    em_ws *ws;
    const char *first; /* sent on open */
    int acks, msgs, closes;
    char last[64];
} client;

static void c_open(em_ws *ws) {
    client *c = em_ws_data(ws);
    assert_int_equal(em_ws_send_text(ws, em_slice_from_cstr(c->first), NULL), 0);
}
static void c_message(em_ws *ws, int opcode, em_slice m) {
    (void)opcode;
    client *c = em_ws_data(ws);
    if (em_slice_eq(m, EM_SLICE_LIT("subscribed")) || em_slice_eq(m, EM_SLICE_LIT("unsubscribed"))) {
        c->acks++;
        return;
    }
    c->msgs++;
    snprintf(c->last, sizeof c->last, "%.*s", (int)m.len, m.ptr);
}
static void c_close(em_ws *ws, int code, int err, em_slice reason) {
    (void)code, (void)err, (void)reason;
    ((client *)em_ws_data(ws))->closes++;
}
static const em_ws_cbs cl_cbs = {.on_open = c_open, .on_message = c_message, .on_close = c_close};

static void connect_to(em_loop *loop, client *c, uint16_t port, const char *first) {
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/t", (unsigned)port);
    c->first = first;
    assert_int_equal(em_ws_connect(loop, url, NULL, &cl_cbs, c, &c->ws), 0);
}

typedef struct pub_arg {
    const char *topic;
    int n;
} pub_arg;

static void *publisher(void *arg) {
    pub_arg *p = arg;
    char msg[32];
    for (int i = 0; i < p->n; i++) {
        snprintf(msg, sizeof msg, "%s #%d", p->topic, i);
        assert_true(em_ws_publish(hub, p->topic, EM_WS_OP_TEXT, em_slice_from_cstr(msg)) >= 0);
    }
    return NULL;
}

static void test_publish_across_loops_and_threads(void **state) {
    (void)state;
    assert_int_equal(em_ws_hub_new(&hub), 0);
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    static server a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    server_start(&a, &loop);
    assert_int_equal(em_loop_init(&b.loop), 0);
    server_start(&b, &b.loop);
    assert_int_equal(pthread_create(&b.th, NULL, server_main, &b), 0);

    /* red: two on a, one on b; blue: one on b; none: one on a */
    static client c[5];
    memset(c, 0, sizeof c);
    connect_to(&loop, &c[0], a.port, "sub:red");
    connect_to(&loop, &c[1], a.port, "sub:red");
    connect_to(&loop, &c[2], b.port, "sub:red");
    connect_to(&loop, &c[3], b.port, "sub:blue");
    connect_to(&loop, &c[4], a.port, "hello");
    EM_TEST_RUN_UNTIL(&loop, c[0].acks + c[1].acks + c[2].acks + c[3].acks == 4, 10000);
    assert_int_equal(em_ws_hub_subscribers(hub, "red"), 3);
    assert_int_equal(em_ws_hub_subscribers(hub, "blue"), 1);
    assert_int_equal(em_ws_hub_subscribers(hub, "green"), 0);
    assert_int_equal(em_ws_publish(hub, "green", EM_WS_OP_TEXT, EM_SLICE_LIT("nobody")), 0);

    /* 100 messages to each topic from two threads at once */
    pub_arg pr = {"red", 100}, pb = {"blue", 100};
    pthread_t t1, t2;
    assert_int_equal(pthread_create(&t1, NULL, publisher, &pr), 0);
    assert_int_equal(pthread_create(&t2, NULL, publisher, &pb), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    EM_TEST_RUN_UNTIL(&loop, c[0].msgs == 100 && c[1].msgs == 100 && c[2].msgs == 100 &&
                                 c[3].msgs == 100, 10000);
    /* each in order: the last one last */
    assert_string_equal(c[0].last, "red #99");
    assert_string_equal(c[2].last, "red #99");
    assert_string_equal(c[3].last, "blue #99");
    assert_int_equal(c[4].msgs, 0);
    /* bad arguments */
    assert_int_equal(em_ws_publish(hub, "", EM_WS_OP_TEXT, EM_SLICE_LIT("x")), EM_EINVAL);
    assert_int_equal(em_ws_publish(hub, "red", EM_WS_OP_TEXT, EM_SLICE_LIT("\xff")), EM_EPARSE);
    assert_int_equal(em_ws_publish(hub, "red", EM_WS_OP_PING, EM_SLICE_LIT("x")), EM_EINVAL);

    /* leaving: by hand, and by closing */
    assert_int_equal(em_ws_send_text(c[1].ws, EM_SLICE_LIT("unsub:red"), NULL), 0);
    EM_TEST_RUN_UNTIL(&loop, c[1].acks == 2, 10000);
    assert_int_equal(em_ws_close(c[2].ws, 1000, EM_SLICE_LIT("")), 0);
    EM_TEST_RUN_UNTIL(&loop, c[2].closes == 1 && em_ws_hub_subscribers(hub, "red") == 1, 10000);
    assert_int_equal(em_ws_publish(hub, "red", EM_WS_OP_BINARY, EM_SLICE_LIT("last")), 1);
    EM_TEST_RUN_UNTIL(&loop, c[0].msgs == 101, 10000);
    assert_string_equal(c[0].last, "last");
    for (int i = 0; i < 5; i++)
        if (i != 2)
            assert_int_equal(em_ws_close(c[i].ws, 1000, EM_SLICE_LIT("")), 0);
    EM_TEST_RUN_UNTIL(&loop,
                      c[0].closes + c[1].closes + c[2].closes + c[3].closes + c[4].closes == 5,
                      10000);
    EM_TEST_RUN_UNTIL(&loop, em_ws_hub_subscribers(hub, "red") + em_ws_hub_subscribers(hub, "blue") == 0,
                      10000);
    assert_int_equal(c[1].msgs, 100); /* nothing after it left */

    b.stop.cb = stop_task;
    b.stop.data = &b;
    assert_int_equal(em_loop_post(&b.loop, &b.stop), 0);
    pthread_join(b.th, NULL);
    em_loop_run(&b.loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&b.loop), 0);
    em_http_server_shutdown(&a.http, on_closed);
    EM_TEST_RUN_UNTIL(&loop, a.closed, 10000);
    em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&loop), 0);
    em_http_router_free(&a.router);
    em_http_router_free(&b.router);
    em_ws_hub_free(hub);
}

/* Publishing from two threads while the subscribers, on both servers'
 * loops, keep joining and leaving the topic and then close: no race, no
 * use of a subscription or topic after it went, and the topic is empty
 * at the end. */
#define CHURN_CLIENTS 6
#define CHURN_ROUNDS  30

static atomic_int churn_stop;

static void churn_open(em_ws *ws) {
    assert_int_equal(em_ws_send_text(ws, EM_SLICE_LIT("sub:churn"), NULL), 0);
}
static void churn_message(em_ws *ws, int opcode, em_slice m) {
    (void)opcode;
    client *c = em_ws_data(ws);
    bool sub = em_slice_eq(m, EM_SLICE_LIT("subscribed"));
    if (!sub && !em_slice_eq(m, EM_SLICE_LIT("unsubscribed"))) {
        c->msgs++;
        return;
    }
    if (++c->acks == CHURN_ROUNDS) {
        /* the last round: closed while subscribed (odd) or not */
        assert_int_equal(em_ws_close(ws, 1000, EM_SLICE_LIT("")), 0);
        return;
    }
    em_slice next = sub ? EM_SLICE_LIT("unsub:churn") : EM_SLICE_LIT("sub:churn");
    assert_int_equal(em_ws_send_text(ws, next, NULL), 0);
}
static const em_ws_cbs churn_cbs = {
    .on_open = churn_open, .on_message = churn_message, .on_close = c_close};

static void *churn_publisher(void *arg) {
    (void)arg;
    for (int i = 0; !atomic_load(&churn_stop); i++) {
        char msg[32];
        snprintf(msg, sizeof msg, "churn #%d", i);
        assert_true(em_ws_publish(hub, "churn", EM_WS_OP_TEXT, em_slice_from_cstr(msg)) >= 0);
        usleep(200); /* a pace the subscribers' loop keeps up with under TSan */
    }
    return NULL;
}

static int churn_closes(const client *c) {
    int n = 0;
    for (int i = 0; i < CHURN_CLIENTS; i++)
        n += c[i].closes;
    return n;
}

static void test_publish_while_leaving(void **state) {
    (void)state;
    assert_int_equal(em_ws_hub_new(&hub), 0);
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    static server a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    assert_int_equal(em_loop_init(&a.loop), 0);
    server_start(&a, &a.loop);
    assert_int_equal(em_loop_init(&b.loop), 0);
    server_start(&b, &b.loop);
    assert_int_equal(pthread_create(&a.th, NULL, server_main, &a), 0);
    assert_int_equal(pthread_create(&b.th, NULL, server_main, &b), 0);
    atomic_store(&churn_stop, 0);
    pthread_t p1, p2;
    assert_int_equal(pthread_create(&p1, NULL, churn_publisher, NULL), 0);
    assert_int_equal(pthread_create(&p2, NULL, churn_publisher, NULL), 0);

    static client c[CHURN_CLIENTS];
    memset(c, 0, sizeof c);
    for (int i = 0; i < CHURN_CLIENTS; i++) {
        char url[64];
        snprintf(url, sizeof url, "ws://127.0.0.1:%u/t", (unsigned)(i & 1 ? b.port : a.port));
        assert_int_equal(em_ws_connect(&loop, url, NULL, &churn_cbs, &c[i], &c[i].ws), 0);
    }
    EM_TEST_RUN_UNTIL(&loop, churn_closes(c) == CHURN_CLIENTS, 30000);
    atomic_store(&churn_stop, 1);
    pthread_join(p1, NULL);
    pthread_join(p2, NULL);
    for (int i = 0; i < CHURN_CLIENTS; i++)
        assert_int_equal(c[i].acks, CHURN_ROUNDS);
    EM_TEST_RUN_UNTIL(&loop, em_ws_hub_subscribers(hub, "churn") == 0, 10000);

    server *srv[2] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        srv[i]->stop.cb = stop_task;
        srv[i]->stop.data = srv[i];
        assert_int_equal(em_loop_post(&srv[i]->loop, &srv[i]->stop), 0);
        pthread_join(srv[i]->th, NULL);
        em_loop_run(&srv[i]->loop, EM_RUN_NOWAIT);
        assert_int_equal(em_loop_close(&srv[i]->loop), 0);
        em_http_router_free(&srv[i]->router);
    }
    em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&loop), 0);
    em_ws_hub_free(hub);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_across_loops_and_threads),
        cmocka_unit_test(test_publish_while_leaving),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

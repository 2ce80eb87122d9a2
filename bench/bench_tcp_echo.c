/* TCP echo ping-pong over loopback, 64-byte messages.
 *
 *   bench_tcp_echo ember-server       echo server on one ember loop
 *   bench_tcp_echo thread-server      reference: blocking sockets, a thread
 *                                     per connection
 *   bench_tcp_echo client ADDR CONNS SECONDS
 *                                     one ember loop keeping one message in
 *                                     flight per connection; prints msgs/s
 *
 * Servers print "listening on ADDR" and run until killed. bench/tcp_echo.sh
 * pins the server and the client to different cores and takes medians. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ember/tcp.h"

enum { MSG = 64 };

static int announce(const em_sockaddr *a) {
    char text[EM_SOCKADDR_STRLEN];
    if (em_sockaddr_format(a, text, sizeof text) < 0)
        return 1;
    printf("listening on %s\n", text);
    fflush(stdout);
    return 0;
}

/* ---- ember server ------------------------------------------------------ */

static void srv_on_close(em_tcp_conn *c) {
    free(c);
}

static void srv_on_read(em_tcp_conn *c, ssize_t n) {
    if (n < 0) {
        em_tcp_conn_close(c, srv_on_close);
        return;
    }
    em_slice s = em_buf_slice(&c->in);
    if (em_tcp_conn_write(c, &s, 1, EM_TCP_WRITE_COPY, NULL) != 0) {
        em_tcp_conn_close(c, srv_on_close);
        return;
    }
    em_buf_consume(&c->in, s.len);
}

static const em_tcp_conn_cbs srv_cbs = {.on_read = srv_on_read};

static void srv_on_accept(em_tcp_server *srv, int fd, const em_sockaddr *peer) {
    em_tcp_conn *c = malloc(sizeof *c);
    if (!c || em_tcp_conn_init(srv->data, c, fd, &srv_cbs, NULL) != 0) {
        free(c);
        close(fd);
        return;
    }
    if (em_tcp_conn_read_start(c) != 0)
        em_tcp_conn_close(c, srv_on_close);
}

static int ember_server(void) {
    em_loop loop;
    em_tcp_server srv;
    if (em_loop_init(&loop) != 0)
        return 1;
    srv.data = &loop;
    em_sockaddr a = em_sockaddr_loopback4(0), bound;
    if (em_tcp_server_start(&loop, &srv, &a, NULL, srv_on_accept) != 0 ||
        em_tcp_listener_addr(&srv.listener, &bound) != 0 || announce(&bound))
        return 1;
    return em_loop_run(&loop, EM_RUN_DEFAULT) < 0;
}

/* ---- reference server: a blocking thread per connection ------------------- */

static void *thread_conn(void *arg) {
    em_tcp_stream s;
    em_tcp_stream_from_fd(&s, (int)(intptr_t)arg);
    char buf[16384];
    for (;;) {
        ssize_t n = em_tcp_stream_read(&s, buf, sizeof buf);
        if (n <= 0 || em_tcp_stream_write(&s, buf, (size_t)n) != 0)
            break;
    }
    (void)em_tcp_stream_close(&s);
    return NULL;
}

static int thread_server(void) {
    em_tcp_listener l;
    em_sockaddr a = em_sockaddr_loopback4(0), bound;
    if (em_tcp_listen(&l, &a, NULL) != 0 || em_tcp_listener_addr(&l, &bound) != 0 ||
        announce(&bound))
        return 1;
    for (;;) {
        em_tcp_stream s;
        if (em_tcp_accept(&l, &s, NULL, 0) != 0)
            continue;
        pthread_t th;
        if (pthread_create(&th, NULL, thread_conn, (void *)(intptr_t)s.fd) != 0) {
            (void)em_tcp_stream_close(&s);
            continue;
        }
        pthread_detach(th);
    }
}

/* ---- client ------------------------------------------------------------------ */

typedef struct bench {
    em_loop loop;
    em_timer warm, end;
    uint64_t msgs;
    int connected, failed;
    double t0s; /* start of the measured window */
    double rate;
} bench;

static const char payload[MSG] = "0123456789abcdef0123456789abcdef0123456789abcdef012345678901234";

static int send_one(em_tcp_conn *c) {
    em_slice s = em_slice_make(payload, MSG);
    return em_tcp_conn_write(c, &s, 1, 0, NULL);
}

static void cl_on_read(em_tcp_conn *c, ssize_t n) {
    bench *b = c->data;
    if (n < 0) {
        b->failed++;
        em_tcp_conn_read_stop(c);
        return;
    }
    while (em_buf_len(&c->in) >= MSG) {
        em_buf_consume(&c->in, MSG);
        b->msgs++;
        if (send_one(c) != 0)
            b->failed++;
    }
}

static const em_tcp_conn_cbs cl_cbs = {.on_read = cl_on_read};

static void cl_on_connect(em_tcp_conn *c, int status) {
    bench *b = c->data;
    if (status != 0 || em_tcp_conn_read_start(c) != 0 || send_one(c) != 0) {
        b->failed++;
        return;
    }
    b->connected++;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void on_warm(em_timer *t) {
    bench *b = t->data;
    b->msgs = 0;
    b->t0s = now_s();
}

static void on_end(em_timer *t) {
    bench *b = t->data;
    b->rate = (double)b->msgs / (now_s() - b->t0s);
    em_loop_stop(&b->loop);
}

static void cl_on_close(em_tcp_conn *c) {}

static int client(const char *addr_s, int conns, double seconds) {
    em_sockaddr addr;
    if (em_sockaddr_parse(&addr, addr_s, strlen(addr_s)) != 0 || conns <= 0 || seconds <= 0)
        return 2;
    bench b = {0};
    if (em_loop_init(&b.loop) != 0)
        return 1;
    em_tcp_conn *cs = calloc((size_t)conns, sizeof *cs);
    if (!cs)
        return 1;
    for (int i = 0; i < conns; i++) {
        cs[i].data = &b;
        if (em_tcp_conn_connect(&b.loop, &cs[i], &addr, &cl_cbs, NULL, cl_on_connect) != 0)
            return 1;
    }
    em_timer_init(&b.loop, &b.warm, on_warm);
    em_timer_init(&b.loop, &b.end, on_end);
    b.warm.data = b.end.data = &b;
    em_timer_start(&b.warm, 500, 0);
    em_timer_start(&b.end, 500 + (uint64_t)(seconds * 1000), 0);
    em_loop_run(&b.loop, EM_RUN_DEFAULT);
    for (int i = 0; i < conns; i++)
        em_tcp_conn_close(&cs[i], cl_on_close);
    em_timer_stop(&b.warm);
    em_timer_stop(&b.end);
    while (em_loop_run(&b.loop, EM_RUN_NOWAIT) > 0) {
    }
    int rc = em_loop_close(&b.loop);
    free(cs);
    if (b.failed || b.connected != conns || rc) {
        fprintf(stderr, "client: %d failures, %d/%d connected\n", b.failed, b.connected, conns);
        return 1;
    }
    printf("%.0f\n", b.rate);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "ember-server"))
        return ember_server();
    if (argc == 2 && !strcmp(argv[1], "thread-server"))
        return thread_server();
    if (argc == 5 && !strcmp(argv[1], "client"))
        return client(argv[2], atoi(argv[3]), atof(argv[4]));
    fprintf(stderr, "usage: bench_tcp_echo ember-server | thread-server |"
                    " client ADDR CONNS SECONDS\n");
    return 2;
}

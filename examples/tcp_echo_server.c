/* tcp_echo_server [--port N] [--host ADDR]: echo every byte back, on one
 * ember loop. Prints "listening on HOST:PORT" once ready; SIGINT/SIGTERM
 * stops accepting, lets each connection flush, and exits 0. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ember/tcp.h"

typedef struct echo_conn {
    em_tcp_conn c;
    struct echo_conn *prev, *next;
    bool closing; /* close once the queue is empty */
    bool closed;
} echo_conn;

typedef struct echo_server {
    em_loop *loop;
    em_tcp_server srv;
    em_signal sig;
    echo_conn *conns;
    bool stopping;
} echo_server;

static void conn_on_close(em_tcp_conn *c) {
    free(EM_CONTAINER_OF(c, echo_conn, c));
}

static void conn_close(echo_server *es, echo_conn *e) {
    if (e->closed) /* on_error and on_read may both report one failure */
        return;
    e->closed = true;
    if (e->prev)
        e->prev->next = e->next;
    else
        es->conns = e->next;
    if (e->next)
        e->next->prev = e->prev;
    em_tcp_conn_close(&e->c, conn_on_close);
}

static void on_read(em_tcp_conn *c, ssize_t n) {
    echo_conn *e = EM_CONTAINER_OF(c, echo_conn, c);
    echo_server *es = c->data;
    if (n == EM_EOF) { /* the client is done: close once our echoes are out */
        e->closing = true;
        if (em_tcp_conn_queued(c) == 0)
            conn_close(es, e);
        return;
    }
    if (n < 0) {
        conn_close(es, e);
        return;
    }
    em_slice s = em_buf_slice(&c->in);
    if (em_tcp_conn_write(c, &s, 1, EM_TCP_WRITE_COPY, NULL) != 0) {
        conn_close(es, e);
        return;
    }
    em_buf_consume(&c->in, s.len);
}

static void on_sent(em_tcp_conn *c, uint64_t token) {
    echo_conn *e = EM_CONTAINER_OF(c, echo_conn, c);
    if (e->closing && em_tcp_conn_queued(c) == 0)
        conn_close(c->data, e);
}

/* The client went away while we still had echoes for it. */
static void on_error(em_tcp_conn *c, int err) {
    conn_close(c->data, EM_CONTAINER_OF(c, echo_conn, c));
}

/* Stop reading while the client does not read our echoes. */
static void on_throttled(em_tcp_conn *c) {
    em_tcp_conn_read_stop(c);
}
static void on_unthrottled(em_tcp_conn *c) {
    if (!EM_CONTAINER_OF(c, echo_conn, c)->closing && em_tcp_conn_read_start(c) != 0)
        conn_close(c->data, EM_CONTAINER_OF(c, echo_conn, c));
}

static const em_tcp_conn_cbs conn_cbs = {
    .on_read = on_read,
    .on_sent = on_sent,
    .on_throttled = on_throttled,
    .on_unthrottled = on_unthrottled,
    .on_error = on_error,
};

static void on_accept(em_tcp_server *srv, int fd, const em_sockaddr *peer) {
    echo_server *es = srv->data;
    echo_conn *e = calloc(1, sizeof *e);
    if (!e || em_tcp_conn_init(es->loop, &e->c, fd, &conn_cbs, NULL) != 0) {
        free(e);
        close(fd);
        return;
    }
    e->c.data = es;
    if (em_tcp_conn_read_start(&e->c) != 0) {
        em_tcp_conn_close(&e->c, conn_on_close);
        return;
    }
    e->next = es->conns;
    if (es->conns)
        es->conns->prev = e;
    es->conns = e;
}

static void on_signal(em_signal *s, int signum) {
    echo_server *es = s->data;
    if (es->stopping)
        return;
    es->stopping = true;
    em_tcp_server_close(&es->srv);
    em_signal_stop(&es->sig);
    /* Graceful: take no new input, send what is queued, then close. */
    for (echo_conn *e = es->conns, *next; e; e = next) {
        next = e->next;
        em_tcp_conn_read_stop(&e->c);
        e->closing = true;
        if (em_tcp_conn_queued(&e->c) == 0)
            conn_close(es, e);
    }
}

static void usage(void) {
    fprintf(stderr, "usage: tcp_echo_server [--port N] [--host ADDR]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    long port = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) {
            char *end;
            port = strtol(argv[++i], &end, 10);
            if (*end || port < 0 || port > 65535)
                usage();
        } else if (!strcmp(argv[i], "--host") && i + 1 < argc) {
            host = argv[++i];
        } else {
            usage();
        }
    }
    em_ip ip;
    if (em_ip_parse(&ip, host, strlen(host)) != 0)
        usage();
    em_sockaddr addr;
    em_sockaddr_from_ip(&addr, &ip, (uint16_t)port);

    em_loop loop;
    echo_server es = {.loop = &loop};
    int err = em_loop_init(&loop);
    if (err) {
        fprintf(stderr, "loop: %s\n", em_strerror(err));
        return 1;
    }
    em_signal_init(&loop, &es.sig, on_signal);
    es.sig.data = &es;
    if ((err = em_signal_start(&es.sig, SIGINT)) != 0 ||
        (err = em_signal_start(&es.sig, SIGTERM)) != 0) {
        fprintf(stderr, "signals: %s\n", em_strerror(err));
        return 1;
    }
    es.srv.data = &es;
    err = em_tcp_server_start(&loop, &es.srv, &addr, NULL, on_accept);
    if (err) {
        fprintf(stderr, "listen %s:%ld: %s\n", host, port, em_strerror(err));
        return 1;
    }
    em_sockaddr bound;
    char text[EM_SOCKADDR_STRLEN];
    if (em_tcp_listener_addr(&es.srv.listener, &bound) != 0 ||
        em_sockaddr_format(&bound, text, sizeof text) < 0) {
        fprintf(stderr, "cannot read the bound address\n");
        return 1;
    }
    printf("listening on %s\n", text);
    fflush(stdout);

    err = em_loop_run(&loop, EM_RUN_DEFAULT);
    if (err < 0) {
        fprintf(stderr, "loop: %s\n", em_strerror(err));
        return 1;
    }
    err = em_loop_close(&loop);
    if (err) {
        fprintf(stderr, "loop close: %s\n", em_strerror(err));
        return 1;
    }
    return 0;
}

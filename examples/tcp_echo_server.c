/* tcp_echo_server [--port N] [--host ADDR]: echo every byte back, on one
 * ember loop. Prints "listening on HOST:PORT" once ready; SIGINT/SIGTERM
 * stops accepting, lets each connection flush, and exits 0. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/tcp.h"

typedef struct echo_conn {
    em_tcp_conn c;
    struct echo_conn *prev, *next;
} echo_conn;

typedef struct echo_server {
    em_tcp_server srv;
    em_signal sig;
    echo_conn *conns;
} echo_server;

static void conn_on_close(em_tcp_conn *c) {
    echo_conn *e = EM_CONTAINER_OF(c, echo_conn, c);
    echo_server *es = c->data;
    if (e->prev)
        e->prev->next = e->next;
    else
        es->conns = e->next;
    if (e->next)
        e->next->prev = e->prev;
    free(e);
}

/* Echo; at the client's EOF (or on any error) close once our echoes are out. */
static void on_read(em_tcp_conn *c, ssize_t n) {
    em_slice s = em_buf_slice(&c->in);
    if (n < 0 || em_tcp_conn_write(c, &s, 1, EM_TCP_WRITE_COPY, NULL) != 0) {
        em_tcp_conn_end(c, conn_on_close);
        return;
    }
    em_buf_consume(&c->in, s.len);
}

/* Stop reading while the client does not read our echoes. */
static void on_throttled(em_tcp_conn *c) {
    em_tcp_conn_read_stop(c);
}
static void on_unthrottled(em_tcp_conn *c) {
    if (em_tcp_conn_read_start(c) == EM_ECLOSED)
        em_tcp_conn_end(c, conn_on_close);
}

static const em_tcp_conn_cbs conn_cbs = {
    .on_read = on_read, .on_throttled = on_throttled, .on_unthrottled = on_unthrottled};

static em_tcp_conn *conn_alloc(em_tcp_server *srv, const em_sockaddr *peer) {
    echo_conn *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    echo_server *es = srv->data;
    e->c.data = es;
    e->next = es->conns;
    if (es->conns)
        es->conns->prev = e;
    es->conns = e;
    return &e->c;
}

static void on_conn(em_tcp_server *srv, em_tcp_conn *c, int status) {
    if (status != 0)
        conn_on_close(c); /* never became a connection: unlink and free */
}

static void on_signal(em_signal *s, int signum) {
    echo_server *es = s->data;
    em_tcp_server_close(&es->srv);
    em_signal_stop(&es->sig);
    /* Graceful: take no new input, send what is queued, then close. */
    for (echo_conn *e = es->conns, *next; e; e = next) {
        next = e->next;
        em_tcp_conn_end(&e->c, conn_on_close);
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
    echo_server es = {0};
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
    em_tcp_server_opts opts = {.listen = em_tcp_listen_opts_default(),
                               .conn_alloc = conn_alloc,
                               .on_conn = on_conn,
                               .conn_cbs = &conn_cbs};
    err = em_tcp_server_start(&loop, &es.srv, &addr, &opts, NULL);
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

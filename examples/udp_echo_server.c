/* udp_echo_server [--port N]: echo every datagram back to its sender.
 *
 * Binds 127.0.0.1 (port 0: any free port), prints "listening on ADDR" once
 * ready, and exits 0 on SIGINT or SIGTERM. Each readiness event drains the
 * socket with one recvmmsg and answers with one sendmmsg.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/udp.h"

#define BATCH        16
#define MAX_DATAGRAM 65536 /* the largest UDP payload fits, so none truncates */
#define ROUNDS       8     /* batches per wakeup, so one busy peer can't starve signals */

typedef struct server {
    em_udp udp;
    em_signal sig;
    em_udp_msg msgs[BATCH];
    char bufs[BATCH][MAX_DATAGRAM];
    unsigned long echoed;
} server;

static void on_readable(em_udp *u, int status) {
    server *s = EM_CONTAINER_OF(u, server, udp);
    if (status < 0) { /* an ICMP error from some earlier peer: not fatal */
        fprintf(stderr, "udp_echo_server: %s\n", em_strerror(status));
        return;
    }
    for (int round = 0; round < ROUNDS; round++) {
        for (unsigned i = 0; i < BATCH; i++) {
            s->msgs[i].buf = s->bufs[i];
            s->msgs[i].cap = sizeof s->bufs[i];
        }
        int n = em_udp_recv_batch(u, s->msgs, BATCH);
        if (n < 0) {
            if (n != EM_EAGAIN)
                fprintf(stderr, "udp_echo_server: recv: %s\n", em_strerror(n));
            return;
        }
        /* Each message now holds len and the sender: send them right back.
         * A full send buffer drops the rest, as UDP may. */
        int sent = em_udp_send_batch(u, s->msgs, (unsigned)n);
        if (sent > 0)
            s->echoed += (unsigned long)sent;
        if (n < BATCH)
            return;
    }
}

static void on_signal(em_signal *sig, int signum) {
    server *s = EM_CONTAINER_OF(sig, server, sig);
    (void)signum;
    /* Closing every handle lets em_loop_run return on its own. */
    em_udp_close(&s->udp);
    em_signal_stop(&s->sig);
}

static int usage(void) {
    fprintf(stderr, "usage: udp_echo_server [--port N]\n");
    return 2;
}

int main(int argc, char **argv) {
    unsigned long port = 0;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = strtoul(argv[++i], &end, 10);
            if (*end || port > 65535)
                return usage();
        } else {
            return usage();
        }
    }

    server *s = calloc(1, sizeof *s);
    if (!s)
        return 1;
    em_loop loop;
    int rc = em_loop_init(&loop);
    if (rc < 0) {
        fprintf(stderr, "udp_echo_server: loop: %s\n", em_strerror(rc));
        free(s);
        return 1;
    }
    em_sockaddr addr = em_sockaddr_loopback4((uint16_t)port);
    if ((rc = em_udp_bind(&s->udp, &addr, NULL)) < 0 ||
        (rc = em_udp_start(&loop, &s->udp, on_readable)) < 0 ||
        (rc = em_udp_local_addr(&s->udp, &addr)) < 0) {
        fprintf(stderr, "udp_echo_server: %s\n", em_strerror(rc));
        goto fail;
    }
    /* Watch the signals before announcing, so a SIGTERM sent right after
     * the announcement is already ours. */
    em_signal_init(&loop, &s->sig, on_signal);
    if ((rc = em_signal_start(&s->sig, SIGINT)) < 0 ||
        (rc = em_signal_start(&s->sig, SIGTERM)) < 0) {
        fprintf(stderr, "udp_echo_server: signals: %s\n", em_strerror(rc));
        em_signal_stop(&s->sig);
        goto fail;
    }

    char text[EM_SOCKADDR_STRLEN];
    if (em_sockaddr_format(&addr, text, sizeof text) < 0) {
        em_signal_stop(&s->sig);
        goto fail;
    }
    printf("listening on %s\n", text);
    fflush(stdout);

    rc = em_loop_run(&loop, EM_RUN_DEFAULT);
    fprintf(stderr, "udp_echo_server: echoed %lu datagrams\n", s->echoed);
    em_udp_close(&s->udp);
    if (em_loop_close(&loop) < 0 || rc < 0) {
        free(s);
        return 1;
    }
    free(s);
    return 0;

fail:
    em_udp_close(&s->udp);
    if (em_loop_close(&loop) < 0)
        fprintf(stderr, "udp_echo_server: loop still busy at exit\n");
    free(s);
    return 1;
}

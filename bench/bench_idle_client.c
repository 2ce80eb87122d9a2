/* Opens N keep-alive connections to an HTTP server, sends one request on
 * each, reads its response, and leaves them all open and idle; prints
 * "ready N" and holds them until stdin closes. bench/idle_conns.sh
 * measures the server's memory around it.
 *
 *   bench_idle_client HOST:PORT N */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ember/tcp.h"

static const char req[] = "GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n";

/* Read one response head and its Content-Length body. */
static int read_response(em_tcp_stream *s) {
    char buf[4096];
    size_t len = 0;
    for (;;) {
        ssize_t n = em_tcp_stream_read(s, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        char *cl = strstr(buf, "Content-Length: ");
        if (end && cl && len >= (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10))
            return 0;
        if (len == sizeof buf - 1)
            return -1;
    }
}

int main(int argc, char **argv) {
    em_sockaddr addr;
    if (argc < 3 || em_sockaddr_parse(&addr, argv[1], strlen(argv[1])) != 0) {
        fprintf(stderr, "usage: bench_idle_client HOST:PORT N\n");
        return 2;
    }
    int n = atoi(argv[2]);
    em_tcp_stream *s = calloc((size_t)n, sizeof *s);
    for (int i = 0; i < n; i++) {
        int rc = em_tcp_connect(&s[i], &addr, 5000);
        if (rc == 0)
            rc = em_tcp_stream_write(&s[i], req, sizeof req - 1);
        if (rc == 0)
            rc = read_response(&s[i]) == 0 ? 0 : EM_EPROTO;
        if (rc) {
            fprintf(stderr, "connection %d: %s\n", i, em_strerror(rc));
            return 1;
        }
    }
    printf("ready %d\n", n);
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0) {
    }
    for (int i = 0; i < n; i++)
        em_tcp_stream_close(&s[i]);
    free(s);
    return 0;
}

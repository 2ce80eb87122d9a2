/* tcp_echo_client HOST:PORT [count]: send count numbered messages over one
 * blocking connection, check each echo, print a summary. Exit 0 only if
 * every echo matched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/tcp.h"

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: tcp_echo_client HOST:PORT [count]\n");
        return 2;
    }
    long count = argc == 3 ? strtol(argv[2], NULL, 10) : 100;
    if (count <= 0) {
        fprintf(stderr, "bad count\n");
        return 2;
    }
    em_sockaddr addr;
    if (em_sockaddr_parse(&addr, argv[1], strlen(argv[1])) != 0) {
        fprintf(stderr, "bad address: %s\n", argv[1]);
        return 2;
    }
    em_tcp_stream s;
    int err = em_tcp_connect(&s, &addr, 5000);
    if (err) {
        fprintf(stderr, "connect %s: %s\n", argv[1], em_strerror(err));
        return 1;
    }
    if ((err = em_tcp_stream_set_timeouts(&s, 5000, 5000)) != 0) {
        fprintf(stderr, "timeouts: %s\n", em_strerror(err));
        return 1;
    }
    em_reader r;
    em_reader_init(&r, em_tcp_stream_as_stream(&s), 0);
    long ok = 0, bad = 0;
    for (long i = 0; i < count; i++) {
        char msg[64];
        int len = snprintf(msg, sizeof msg, "message %ld of %ld\n", i + 1, count);
        if ((err = em_tcp_stream_write(&s, msg, (size_t)len)) != 0) {
            fprintf(stderr, "write: %s\n", em_strerror(err));
            break;
        }
        em_slice line;
        ssize_t n = em_reader_read_line(&r, sizeof msg, &line);
        if (n < 0) {
            fprintf(stderr, "read: %s\n", em_strerror((int)n));
            break;
        }
        if ((size_t)n == (size_t)len - 1 && memcmp(line.ptr, msg, line.len) == 0)
            ok++;
        else
            bad++;
    }
    /* A clean end: our FIN, then the server's. */
    int end = em_tcp_stream_shutdown(&s);
    char c;
    if (end == 0 && em_reader_read(&r, &c, 1) != EM_EOF)
        end = EM_EPROTO;
    em_reader_free(&r);
    (void)em_tcp_stream_close(&s);
    printf("%ld/%ld echoes matched, %ld mismatched%s\n", ok, count, bad,
           end ? ", unclean close" : "");
    return ok == count && end == 0 ? 0 : 1;
}

/* udp_echo_client HOST:PORT [count]: send count (default 20) datagrams to
 * an echo server, one at a time, and check every echo.
 *
 * Blocking use of em_udp: a connected socket (so only the server's
 * datagrams arrive and an ICMP refusal is reported) with a receive
 * timeout. A lost datagram or echo is sent again once; an echo of an
 * earlier, retried datagram that shows up late is skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/udp.h"

#define TIMEOUT_MS 1000
#define MAX_STALE  16 /* late duplicates skipped while waiting for one echo */

/* Wait for the echo of seq; 1 if it came back intact, 0 on timeout, or a
 * negative em_err. */
static int await_echo(em_udp *u, const char *want, size_t want_len, unsigned seq) {
    char buf[512];
    for (int stale = 0; stale <= MAX_STALE; stale++) {
        ssize_t n = em_udp_recv(u, buf, sizeof buf - 1);
        if (n == EM_ETIMEDOUT)
            return 0;
        if (n < 0)
            return (int)n;
        buf[n] = '\0';
        unsigned got;
        if ((size_t)n == want_len && memcmp(buf, want, want_len) == 0)
            return 1;
        if (sscanf(buf, "ember-udp-echo %u", &got) == 1 && got < seq)
            continue; /* the late echo of an earlier datagram */
        fprintf(stderr, "udp_echo_client: echo #%u corrupted: \"%s\"\n", seq, buf);
        return EM_EPROTO;
    }
    return EM_EPROTO;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: udp_echo_client HOST:PORT [count]\n");
        return 2;
    }
    unsigned long count = 20;
    if (argc == 3) {
        char *end;
        count = strtoul(argv[2], &end, 10);
        if (*end || count == 0 || count > 1000000) {
            fprintf(stderr, "udp_echo_client: bad count '%s'\n", argv[2]);
            return 2;
        }
    }
    em_sockaddr server;
    if (em_sockaddr_parse(&server, argv[1], strlen(argv[1])) < 0) {
        fprintf(stderr, "udp_echo_client: bad address '%s' (want HOST:PORT)\n", argv[1]);
        return 2;
    }

    em_udp u;
    int rc = em_udp_open(&u, em_sockaddr_family(&server), NULL);
    if (rc == 0)
        rc = em_udp_connect(&u, &server);
    if (rc == 0)
        rc = em_udp_set_timeout(&u, TIMEOUT_MS);
    if (rc < 0) {
        fprintf(stderr, "udp_echo_client: %s\n", em_strerror(rc));
        em_udp_close(&u);
        return 1;
    }

    unsigned long ok = 0, retries = 0;
    for (unsigned seq = 0; seq < count; seq++) {
        char msg[128];
        int len =
            snprintf(msg, sizeof msg, "ember-udp-echo %u of %lu: the quick brown fox", seq, count);
        int got = 0;
        for (int attempt = 0; attempt < 2 && got == 0; attempt++) {
            if (attempt)
                retries++;
            ssize_t n = em_udp_send(&u, msg, (size_t)len);
            if (n != len) {
                got = n < 0 ? (int)n : EM_EIO;
                break;
            }
            got = await_echo(&u, msg, (size_t)len, seq);
        }
        if (got <= 0) {
            fprintf(stderr, "udp_echo_client: datagram #%u: %s\n", seq,
                    got == 0 ? "no echo after one retry" : em_strerror(got));
            break;
        }
        ok++;
    }
    em_udp_close(&u);
    printf("udp_echo_client: %lu/%lu echoed intact (%lu retries)\n", ok, count, retries);
    return ok == count ? 0 : 1;
}

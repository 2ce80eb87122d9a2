/* A fast fake DNS responder for bench/dns.sh: one UDP socket, batches of
 * datagrams in and out (recvmmsg/sendmmsg), every A query answered with
 * 192.0.2.1 and every AAAA query with 2001:db8::1, whatever the name.
 *
 *   dns_responder ADDR PORT      e.g. 127.0.0.1 53 (inside the namespace)
 *
 * Prints "listening on ADDR:PORT", then answers until killed; on SIGTERM
 * it prints "answered N" (queries answered). The answer keeps the
 * question, drops any additional section (an EDNS OPT record: the answers
 * are small), and copies RD; other types get NOERROR with no records
 * (NODATA), malformed queries FORMERR or nothing. No TCP: no answer is
 * ever truncated. tests/dns/fake_dns.c is the scripted server for tests;
 * this one does one thing quickly, so the client's CPU is what counts. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BATCH = 64, MSG = 512, HDR = 12 };

static volatile sig_atomic_t stop;
static void on_term(int sig) {
    stop = 1;
}

/* Build the answer to q (n bytes) in a; its length, or 0 to stay silent. */
static size_t answer(const unsigned char *q, size_t n, unsigned char *a) {
    if (n < HDR || (q[2] & 0x80)) /* too short, or a response */
        return 0;
    size_t p = HDR;
    while (p < n && q[p] != 0) {
        if ((q[p] & 0xc0) != 0) /* no compression in a question */
            break;
        p += 1u + q[p];
    }
    unsigned qdcount = (unsigned)q[4] << 8 | q[5];
    memcpy(a, q, HDR);
    a[2] = (unsigned char)(0x80 | (q[2] & 0x01)); /* QR, opcode 0, RD copied */
    a[3] = 0x80;                                  /* RA, NOERROR */
    memset(a + 6, 0, 6);                          /* no answers, NS or additional yet */
    if (qdcount != 1 || p + 5 > n || q[p] != 0 || ((q[2] >> 3) & 0x0f) != 0) {
        a[3] |= 1; /* FORMERR, header only */
        a[4] = a[5] = 0;
        return HDR;
    }
    size_t qlen = p + 5 - HDR; /* name, root byte, type, class */
    memcpy(a + HDR, q + HDR, qlen);
    size_t len = HDR + qlen;
    unsigned qtype = (unsigned)q[p + 1] << 8 | q[p + 2];
    static const unsigned char v4[4] = {192, 0, 2, 1};
    static const unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    const unsigned char *rdata = qtype == 1 ? v4 : qtype == 28 ? v6 : NULL;
    if (!rdata)
        return len; /* NODATA */
    unsigned rdlen = qtype == 1 ? 4 : 16;
    unsigned char rr[12] = {0xc0, HDR, /* the question's name */
                            0,    (unsigned char)qtype,
                            0,    1, /* type, class IN */
                            0,    0,
                            0x01, 0x2c, /* TTL 300 */
                            0,    (unsigned char)rdlen};
    memcpy(a + len, rr, sizeof rr);
    memcpy(a + len + sizeof rr, rdata, rdlen);
    a[7] = 1;
    return len + sizeof rr + rdlen;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: dns_responder ADDR PORT\n");
        return 2;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
        fprintf(stderr, "dns_responder: bad address %s\n", argv[1]);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("dns_responder: bind");
        return 1;
    }
    struct sigaction act = {.sa_handler = on_term}; /* no SA_RESTART: recvmmsg returns */
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);
    printf("listening on %s:%s\n", argv[1], argv[2]);
    fflush(stdout);

    static unsigned char in[BATCH][MSG], out[BATCH][MSG + 32]; /* + one record */
    struct sockaddr_in from[BATCH];
    struct iovec iin[BATCH], iout[BATCH];
    struct mmsghdr rm[BATCH], sm[BATCH];
    unsigned long long answered = 0;
    while (!stop) {
        for (int i = 0; i < BATCH; i++) {
            iin[i] = (struct iovec){in[i], MSG};
            rm[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &from[i],
                                                 .msg_namelen = sizeof from[i],
                                                 .msg_iov = &iin[i],
                                                 .msg_iovlen = 1}};
        }
        int n = recvmmsg(fd, rm, BATCH, MSG_WAITFORONE, NULL);
        if (n < 0)
            continue; /* EINTR: stop is checked */
        int m = 0;
        for (int i = 0; i < n; i++) {
            size_t len = answer(in[i], rm[i].msg_len, out[m]);
            if (!len)
                continue;
            iout[m] = (struct iovec){out[m], len};
            sm[m] = (struct mmsghdr){.msg_hdr = {.msg_name = &from[i],
                                                 .msg_namelen = rm[i].msg_hdr.msg_namelen,
                                                 .msg_iov = &iout[m],
                                                 .msg_iovlen = 1}};
            m++;
        }
        for (int done = 0; done < m;) {
            int k = sendmmsg(fd, sm + done, (unsigned)(m - done), 0);
            if (k <= 0)
                break; /* the client's buffer is full: it retries */
            done += k;
        }
        answered += (unsigned)m;
    }
    printf("answered %llu\n", answered);
    return 0;
}

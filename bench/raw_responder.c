/* A server that costs almost nothing per request, so that a client
 * benchmark measures the client: one epoll loop, and for every request
 * head that arrives ("\r\n\r\n"; GETs only, no body) the same canned
 * keep-alive response. Not an HTTP server: no parsing, no limits.
 *   raw_responder PORT        prints "listening on 127.0.0.1:PORT" */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n"
                           "Server: raw\r\n\r\nHello, World!";

/* Bytes of "\r\n\r\n" matched so far, per fd (up to 64k fds). */
static unsigned char matched[65536];

static int count_heads(int fd, const char *p, ssize_t n) {
    static const char end[] = "\r\n\r\n";
    int heads = 0;
    unsigned m = matched[fd];
    for (ssize_t i = 0; i < n; i++) {
        m = p[i] == end[m] ? m + 1 : (p[i] == '\r' ? 1 : 0);
        if (m == 4) {
            heads++;
            m = 0;
        }
    }
    matched[fd] = (unsigned char)m;
    return heads;
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 0;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 1024)) {
        perror("raw_responder");
        return 1;
    }
    socklen_t al = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &al);
    printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(a.sin_port));
    fflush(stdout);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    static char buf[65536], out[sizeof resp * 64];
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                int c;
                while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (c >= (int)sizeof matched) {
                        close(c);
                        continue;
                    }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    matched[c] = 0;
                    struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                }
                continue;
            }
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                close(fd);
                continue;
            }
            int heads = count_heads(fd, buf, r);
            while (heads > 0) { /* pipelined heads: their answers in one send */
                int k = heads < 64 ? heads : 64;
                for (int j = 0; j < k; j++)
                    memcpy(out + (size_t)j * (sizeof resp - 1), resp, sizeof resp - 1);
                ssize_t w = send(fd, out, (size_t)k * (sizeof resp - 1), MSG_NOSIGNAL);
                if (w < 0)
                    break; /* a benchmark peer reads what it asks for */
                heads -= k;
            }
        }
    }
}

/* The floor of a WebSocket echo on this machine: the least any server must
 * do per message, for bench/ws.sh to print beside the real servers.
 *
 *   ws_floor PORT
 *
 * One thread, level-triggered epoll. Per readiness: one recv of up to
 * 64 KiB into the connection's buffer; each whole frame in it is unmasked
 * in place (em_ws_mask), TEXT is checked as UTF-8 (em_ws_utf8_valid: a
 * server must), the frame header is rewritten unmasked right before the
 * payload and the frame goes back with one send. Nothing else: no
 * fragmentation, no control frames but close, no limits, no timers, no
 * backpressure (ws_load keeps one message in flight, so a send always
 * fits; a short send blocks in poll). Any frame it does not handle closes
 * the connection. The handshake answers every request with a 101 (the
 * accept key computed; nothing checked).
 *
 * What it costs per message is mostly the kernel's: a recv and a send of
 * the message, and the loopback TCP under them. A server's CPU per message
 * cannot go much below it, whatever its design.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ember/ws.h"
#include "ws/ws_conn_internal.h"

enum { BUF = 64 * 1024 + 64 };

typedef struct conn {
    int fd;
    bool open; /* past the handshake */
    size_t len;
    uint8_t buf[BUF];
} conn;

static void drop(int ep, conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

static bool send_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EAGAIN) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            poll(&pf, 1, 1000);
        } else if (w < 0 && errno != EINTR) {
            return false;
        }
    }
    return true;
}

/* The opening handshake: a 101 once the request's head is in. */
static bool handshake(conn *c) {
    c->buf[c->len] = 0;
    char *end = strstr((char *)c->buf, "\r\n\r\n");
    if (!end)
        return c->len < BUF - 1;
    char *k = strcasestr((char *)c->buf, "\r\nSec-WebSocket-Key:");
    if (!k)
        return false;
    k += 20;
    while (*k == ' ')
        k++;
    size_t kl = strcspn(k, "\r");
    char accept[29], resp[160];
    em__ws_accept_key(em_slice_make(k, kl), accept);
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    size_t used = (size_t)(end + 4 - (char *)c->buf);
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
    c->open = true;
    return send_all(c->fd, (const uint8_t *)resp, (size_t)n);
}

/* Echo every whole frame in the buffer; false closes the connection. */
static bool frames(conn *c) {
    size_t at = 0;
    while (c->len - at >= 6) {
        uint8_t *f = c->buf + at;
        size_t hl = 2, pl = f[1] & 0x7f;
        if (!(f[0] & 0x80) || !(f[1] & 0x80) || (f[0] & 0x70))
            return false; /* fragmented, unmasked or RSV: not handled */
        if (pl == 126) {
            pl = (size_t)f[2] << 8 | f[3];
            hl = 4;
        } else if (pl == 127) {
            return false; /* over 64 KiB: not handled */
        }
        if (c->len - at < hl + 4 + pl)
            break;
        uint8_t op = f[0] & 0x0f, *key = f + hl, *payload = f + hl + 4;
        if (op == EM_WS_OP_CLOSE)
            return false;
        if (op != EM_WS_OP_TEXT && op != EM_WS_OP_BINARY)
            return false;
        uint8_t k[4];
        memcpy(k, key, 4);
        em_ws_mask(payload, pl, k, 0);
        if (op == EM_WS_OP_TEXT && !em_ws_utf8_valid(payload, pl))
            return false;
        uint8_t *h = payload - hl; /* the unmasked header, right before */
        h[0] = 0x80 | op;
        if (hl == 2) {
            h[1] = (uint8_t)pl;
        } else {
            h[1] = 126;
            h[2] = (uint8_t)(pl >> 8);
            h[3] = (uint8_t)pl;
        }
        if (!send_all(c->fd, h, hl + pl))
            return false;
        at += hl + 4 + pl;
    }
    memmove(c->buf, c->buf + at, c->len - at);
    c->len -= at;
    return true;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: ws_floor PORT\n");
        return 2;
    }
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)atoi(argv[1])),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 4096) != 0) {
        perror("ws_floor");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conn *nc = calloc(1, sizeof *nc);
                    if (!nc) {
                        close(fd);
                        continue;
                    }
                    nc->fd = fd;
                    struct epoll_event ce = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
                }
                continue;
            }
            ssize_t r = recv(c->fd, c->buf + c->len, BUF - 1 - c->len, 0);
            if (r <= 0) {
                if (r < 0 && (errno == EAGAIN || errno == EINTR))
                    continue;
                drop(ep, c);
                continue;
            }
            c->len += (size_t)r;
            if (!(c->open ? frames(c) : handshake(c) && frames(c)))
                drop(ep, c);
        }
    }
}

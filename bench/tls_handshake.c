/* TLS handshakes against an HTTPS server (plain OpenSSL on epoll, so the
 * client costs the same whatever the server): M connections at a time,
 * each a handshake, one GET /plaintext, its response and a close (an RST,
 * so no TIME_WAIT piles up on this side), for D seconds or N connections.
 *
 *   tls_handshake -p PORT [-c M] [-d SECS | -n N] [-v 12|13] [-r]
 *   tls_handshake -p PORT [-c M] [-v 12|13] -H N
 *   tls_handshake -p PORT [-c M] [-v 12|13] -k [-P DEPTH] -d SECS
 *
 * Full handshakes by default: a new SSL per connection, no ticket offered
 * (SSL_OP_NO_TICKET), no session cache. -r resumes: each of the M slots
 * offers the session of its last full handshake (or its newest ticket).
 * -H N (hold): open N connections, M at a time, leave each idle after its
 * response, print "ready N" and keep them until stdin closes
 * (bench/tls_idle.sh measures the server's memory meanwhile).
 * -k (keep-alive): M connections each do their handshake, then "ready" is
 * printed and a byte read from stdin; then each sends DEPTH pipelined
 * requests at a time (default 1) for SECS seconds, and conns counts
 * responses: the server's CPU over that window has no handshake in it.
 *
 * Prints one line of key=value: conns (completed), secs, rate (per second),
 * resumed (how many were), tickets (NewSessionTicket messages received per
 * connection: tells whether the server issues tickets), errors, cipher. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char req[] = "GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n";

enum { S_CONNECT, S_HANDSHAKE, S_WRITE, S_READ, S_IDLE };

typedef struct slot {
    int fd;
    int state;
    SSL *ssl;
    SSL_SESSION *sess; /* -r: offered by the slot's next connection */
    unsigned events;   /* what epoll waits for now */
    unsigned long tickets; /* g.tickets when the connection started */
    unsigned outstanding;  /* -k: responses still due */
    size_t len;
    char buf[2048];
} slot;

static struct {
    SSL_CTX *ctx;
    struct sockaddr_in addr;
    int ep;
    bool resume;
    unsigned long started, limit, done, resumed, errors, tickets;
    bool stopping;
    char cipher[64];
    slot *slots;
    unsigned nslots, next; /* -H: one slot per held connection */
    bool keep;             /* -k */
    bool go;               /* -k: the timed requests began */
    unsigned depth;
    char *reqs; /* -k: depth requests back to back */
    unsigned long waiting; /* -k: connections done with their handshake */
} g;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void on_msg(int write_p, int version, int type, const void *buf, size_t len, SSL *ssl,
                   void *arg) {
    if (!write_p && type == SSL3_RT_HANDSHAKE && len > 0 &&
        ((const unsigned char *)buf)[0] == SSL3_MT_NEWSESSION_TICKET)
        g.tickets++;
}

static void wait_for(slot *s, unsigned ev) {
    if (s->events == ev)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = s};
    if (epoll_ctl(g.ep, s->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s->fd, &e) != 0) {
        perror("epoll_ctl");
        exit(1);
    }
    s->events = ev;
}

static void start(slot *s) {
    if (g.stopping || (g.limit && g.started >= g.limit)) {
        s->fd = -1;
        return;
    }
    g.started++;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (s->fd < 0) {
        perror("socket");
        exit(1);
    }
    int one = 1;
    struct linger lg = {1, 0};
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    s->events = 0;
    s->len = 0;
    s->tickets = g.tickets;
    s->state = S_CONNECT;
    if (connect(s->fd, (struct sockaddr *)&g.addr, sizeof g.addr) != 0 && errno != EINPROGRESS) {
        perror("connect");
        exit(1);
    }
    wait_for(s, EPOLLOUT);
}

static void finish(slot *s, bool ok) {
    if (ok) {
        g.done++;
        if (SSL_session_reused(s->ssl))
            g.resumed++;
        if (!g.cipher[0])
            snprintf(g.cipher, sizeof g.cipher, "%s/%s", SSL_get_version(s->ssl),
                     SSL_get_cipher_name(s->ssl));
        /* Keep the session while it resumes and no newer ticket came: TLS
         * 1.3 servers on OpenSSL send none when they resume one under their
         * current key. */
        if (g.resume && (!SSL_session_reused(s->ssl) || g.tickets > s->tickets)) {
            SSL_SESSION *n = SSL_get1_session(s->ssl);
            if (n && SSL_SESSION_is_resumable(n)) {
                SSL_SESSION_free(s->sess);
                s->sess = n;
            } else {
                SSL_SESSION_free(n);
            }
        }
        /* Ended as agreed, so OpenSSL keeps the session resumable (it
         * spoils it when an SSL is freed mid-connection). */
        SSL_set_shutdown(s->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    } else {
        g.errors++;
        ERR_clear_error();
    }
    SSL_free(s->ssl);
    s->ssl = NULL;
    close(s->fd); /* SO_LINGER 0: an RST */
    start(s);
}

/* The length of the first complete response in s->buf (a head and
 * Content-Length bytes of body), or 0. */
static size_t response_len(slot *s) {
    s->buf[s->len] = 0;
    char *end = strstr(s->buf, "\r\n\r\n");
    if (!end)
        return 0;
    char *cl = strcasestr(s->buf, "content-length:");
    if (!cl || cl > end)
        return 0;
    size_t n = (size_t)(end + 4 - s->buf) + strtoul(cl + 15, NULL, 10);
    return s->len >= n ? n : 0;
}

/* Drive s until it waits; false when it failed. */
static bool step(slot *s, bool hold) {
    for (;;) {
        int r, err;
        switch (s->state) {
        case S_CONNECT: {
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            if (soerr)
                return false;
            s->ssl = SSL_new(g.ctx);
            if (!s->ssl || !SSL_set_fd(s->ssl, s->fd))
                return false;
            SSL_set_tlsext_host_name(s->ssl, "localhost");
            if (s->sess) { /* a copy: resuming spoils a TLS 1.3 session for reuse */
                SSL_SESSION *c = SSL_SESSION_dup(s->sess);
                SSL_set_session(s->ssl, c);
                SSL_SESSION_free(c);
            }
            s->state = S_HANDSHAKE;
            continue;
        }
        case S_HANDSHAKE:
            r = SSL_connect(s->ssl);
            if (r == 1) {
                s->state = S_WRITE;
                if (g.keep && !g.go) { /* wait for the start */
                    g.waiting++;
                    s->state = S_IDLE;
                    return true;
                }
                continue;
            }
            break;
        case S_WRITE: {
            const char *w = g.keep ? g.reqs : req;
            int wl = (int)(sizeof req - 1) * (g.keep ? (int)g.depth : 1);
            r = SSL_write(s->ssl, w, wl);
            if (r == wl) {
                s->outstanding = g.keep ? g.depth : 1;
                s->state = S_READ;
                continue;
            }
            break;
        }
        case S_READ:
            r = SSL_read(s->ssl, s->buf + s->len, (int)(sizeof s->buf - 1 - s->len));
            if (r > 0) {
                s->len += (size_t)r;
                size_t n;
                while (s->outstanding && (n = response_len(s)) > 0) {
                    memmove(s->buf, s->buf + n, s->len - n);
                    s->len -= n;
                    s->outstanding--;
                    if (g.keep)
                        g.done++;
                }
                if (g.keep && !s->outstanding) {
                    if (g.stopping) {
                        g.done--; /* finish counts it again */
                        return finish(s, true), true;
                    }
                    s->state = S_WRITE;
                    continue;
                }
                if (!s->outstanding) {
                    if (!hold)
                        return finish(s, true), true;
                    g.done++;
                    s->state = S_IDLE;
                    epoll_ctl(g.ep, EPOLL_CTL_DEL, s->fd, NULL);
                    if (g.next < g.nslots)
                        start(&g.slots[g.next++]);
                    return true;
                }
                if (s->len == sizeof s->buf - 1)
                    return false;
                continue;
            }
            break;
        default:
            return true;
        }
        err = SSL_get_error(s->ssl, r);
        if (err == SSL_ERROR_WANT_READ)
            wait_for(s, EPOLLIN);
        else if (err == SSL_ERROR_WANT_WRITE)
            wait_for(s, EPOLLOUT);
        else
            return false;
        return true;
    }
}

static void usage(void) {
    fprintf(stderr, "usage: tls_handshake -p PORT [-c M] [-d SECS | -n N] [-v 12|13] [-r] "
                    "[-H N]\n");
    exit(2);
}

int main(int argc, char **argv) {
    unsigned port = 0, conc = 16, version = 13, hold = 0;
    double secs = 0;
    int o;
    g.depth = 1;
    while ((o = getopt(argc, argv, "p:c:d:n:v:rH:kP:")) != -1) {
        switch (o) {
        case 'p': port = (unsigned)atoi(optarg); break;
        case 'c': conc = (unsigned)atoi(optarg); break;
        case 'd': secs = atof(optarg); break;
        case 'n': g.limit = strtoul(optarg, NULL, 10); break;
        case 'v': version = (unsigned)atoi(optarg); break;
        case 'r': g.resume = true; break;
        case 'H': hold = (unsigned)atoi(optarg); break;
        case 'k': g.keep = true; break;
        case 'P': g.depth = (unsigned)atoi(optarg); break;
        default: usage();
        }
    }
    if (!port || !conc || (version != 12 && version != 13) || (!secs && !g.limit && !hold) ||
        !g.depth || g.depth > 64 || (g.keep && (!secs || hold || g.resume)))
        usage();
    if (g.keep) {
        g.limit = conc; /* one connection per slot */
        g.reqs = malloc(g.depth * (sizeof req - 1));
        for (unsigned i = 0; i < g.depth; i++)
            memcpy(g.reqs + i * (sizeof req - 1), req, sizeof req - 1);
    }
    if (hold) {
        g.limit = hold;
        if (conc > hold)
            conc = hold;
    }
    g.addr.sin_family = AF_INET;
    g.addr.sin_port = htons((uint16_t)port);
    g.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    g.ctx = SSL_CTX_new(TLS_client_method());
    int v = version == 12 ? TLS1_2_VERSION : TLS1_3_VERSION;
    SSL_CTX_set_min_proto_version(g.ctx, v);
    SSL_CTX_set_max_proto_version(g.ctx, v);
    SSL_CTX_set_verify(g.ctx, SSL_VERIFY_NONE, NULL); /* the server's cost is the point */
    SSL_CTX_set_msg_callback(g.ctx, on_msg);
    if (g.resume) {
        SSL_CTX_set_session_cache_mode(g.ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
    } else {
        SSL_CTX_set_options(g.ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_session_cache_mode(g.ctx, SSL_SESS_CACHE_OFF);
    }

    g.ep = epoll_create1(0);
    g.nslots = hold ? hold : conc;
    g.slots = calloc(g.nslots, sizeof *g.slots);
    double t0 = now(), end = secs && !g.keep ? t0 + secs : 0;
    for (g.next = 0; g.next < conc; g.next++)
        start(&g.slots[g.next]);
    unsigned live = conc;
    struct epoll_event ev[64];
    while (g.keep && g.waiting + g.errors < conc) {
        int n = epoll_wait(g.ep, ev, 64, 100);
        for (int i = 0; i < n; i++) {
            slot *s = ev[i].data.ptr;
            if (!step(s, false))
                finish(s, false);
        }
    }
    if (g.keep) { /* the handshakes are done: start when told */
        printf("ready %lu\n", g.waiting);
        fflush(stdout);
        char c;
        if (read(0, &c, 1) < 0)
            return 1;
        g.go = true;
        g.done = 0;
        live = (unsigned)g.waiting;
        t0 = now();
        end = t0 + secs;
        for (unsigned i = 0; i < conc; i++) {
            if (g.slots[i].state == S_IDLE) {
                g.slots[i].state = S_WRITE;
                if (!step(&g.slots[i], false))
                    finish(&g.slots[i], false);
            }
        }
    }
    while (hold ? g.done + g.errors < hold : live > 0) {
        int n = epoll_wait(g.ep, ev, 64, 100);
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            slot *s = ev[i].data.ptr;
            if (!step(s, hold > 0))
                finish(s, false);
            if (s->fd < 0)
                live--;
        }
        if (end && !g.stopping && now() >= end)
            g.stopping = true; /* the connections under way finish */
        if (hold && live == 0)
            break; /* every attempt ended */
    }
    double took = now() - t0;
    if (hold) {
        printf("ready %lu errors=%lu\n", g.done, g.errors);
        fflush(stdout);
        char c;
        while (read(0, &c, 1) > 0) {
        }
    }
    printf("conns=%lu secs=%.3f rate=%.1f resumed=%lu tickets=%.2f errors=%lu cipher=%s\n", g.done,
           took, (double)g.done / took, g.resumed, g.done ? (double)g.tickets / (double)g.done : 0,
           g.errors, g.cipher);
    for (unsigned i = 0; i < g.next; i++) {
        slot *s = &g.slots[i];
        SSL_free(s->ssl);
        if (s->fd >= 0 && s->state == S_IDLE)
            close(s->fd);
        SSL_SESSION_free(s->sess);
    }
    free(g.slots);
    free(g.reqs);
    SSL_CTX_free(g.ctx);
    return g.errors && !g.done ? 1 : 0;
}

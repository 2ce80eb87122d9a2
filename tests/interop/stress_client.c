/* Clients for the stress and memory tests of examples/echo_server
 * (tests/interop/stress.sh, tests/interop/echo_memory.sh).
 *
 *   stress_client stress HOST:PORT [--conns N] [--secs S] [--kill PID]
 *                 [--kill-at S] [--seed N]
 *   stress_client upload HOST:PORT [--conns N] [--mib N] [--rate BYTES_PER_S]
 *
 * stress: N connections (default 200) each send one request after another
 * for S seconds (default 16): GET /plaintext, GET /delay?ms=N, GET
 * /stream?kb=N, POST /echo with a Content-Length or a chunked body (the two
 * directions at once), and bad query values (400). Some requests are read
 * slowly; about one in five is cut off by a reset (SO_LINGER 0 close) at a
 * random moment: after a random time, byte sent or byte received. With
 * --kill, the server gets SIGTERM at --kill-at seconds (default S/2), and
 * every connection then finishes its request and stops at its next close.
 *
 * upload: N connections (default 50) each POST /echo one body of MIB MiB
 * (default 20; even connections with a Content-Length, odd ones chunked) as
 * fast as the server takes it, and read the echo at RATE bytes/s (default
 * 1 MiB/s).
 *
 * Every response is checked as it arrives, byte for byte (status, framing,
 * Content-Type, body). A request ends in one of three ways: "ok" (complete
 * and exact), "reset" (we cut it off), or "closed" (the server closed or
 * reset the connection before the response was complete: allowed only once
 * the server was told to shut down). Anything else is an error: a wrong or
 * malformed byte, a response that claims to be complete with the wrong
 * length, bytes nobody asked for, a stall of 30 s, a refused connection
 * before shutdown, or a request still open 30 s after SIGTERM.
 *
 * Prints one summary line on stdout; errors (the first 20) on stderr. Exit 0
 * when there were no errors and (stress) every kind of request completed at
 * least once and resets happened, or (upload) every echo was exact.
 *
 * Standalone like bench/http_load.c: plain sockets and epoll, no ember
 * headers, so what it checks does not depend on ember's own parser. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    IBUF = 64 * 1024, /* per connection; a response head must fit in it */
    OBUF = 64 * 1024, /* request bytes waiting to be sent */
    MAX_CONNS = 4096,
    MAX_ERROR_LINES = 20,
    STREAM_KB_MAX = 4096,        /* /stream sizes in the stress mix */
    ECHO_MAX = 2 * 1024 * 1024,  /* /echo sizes in the stress mix */
    SLOW_RATE = 4 * 1024 * 1024, /* bytes/s of a slow reader in the stress mix */
};

#define NS_PER_MS ((uint64_t)1000000)
#define NS_PER_S  ((uint64_t)1000000000)
#define STALL_NS  (30 * NS_PER_S)
#define DRAIN_NS  (30 * NS_PER_S) /* after SIGTERM, until every request ended */

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * NS_PER_S + (uint64_t)t.tv_nsec;
}

/* ---- deterministic bytes ------------------------------------------------- */

static uint64_t mix64(uint64_t x) { /* splitmix64's finaliser */
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t rng_state;
static uint64_t rnd(uint64_t n) { /* uniform enough in 0..n-1; n > 0 */
    rng_state += 0x9e3779b97f4a7c15ull;
    return mix64(rng_state) % n;
}

/* Bytes [off, off+n) of the body with this seed: any offset, any split. */
static void body_fill(uint64_t seed, uint64_t off, unsigned char *out, size_t n) {
    while (n) {
        uint64_t v = mix64(seed ^ ((off >> 3) * 0xd6e8feb86659fd93ull));
        unsigned o = (unsigned)(off & 7);
        size_t k = 8 - o < n ? 8 - o : n;
        unsigned char b[8];
        memcpy(b, &v, 8);
        memcpy(out, b + o, k);
        out += k;
        off += k;
        n -= k;
    }
}

/* ---- requests ------------------------------------------------------------ */

typedef enum kind { K_PLAIN, K_DELAY, K_STREAM, K_ECHO_CL, K_ECHO_CHUNKED, K_BAD, K_COUNT } kind;
static const char *const kind_name[K_COUNT] = {"plaintext", "delay",        "stream",
                                               "echo_cl",   "echo_chunked", "bad_query"};

typedef enum reset_plan { R_NONE, R_TIME, R_TX, R_RX } reset_plan;

typedef enum pstate {
    P_HEAD,
    P_BODY,
    P_CHUNK_SIZE,
    P_CHUNK_DATA,
    P_CHUNK_CRLF,
    P_TRAILER,
    P_DONE
} pstate;

typedef enum cstate { C_IDLE, C_CONNECTING, C_OPEN, C_DONE } cstate;

typedef struct conn {
    int fd, slot;
    cstate st;
    uint32_t events; /* what epoll watches */
    bool busy;       /* a request is in flight */
    /* the request */
    kind k;
    uint64_t arg;        /* ms, kb, or the body length */
    uint64_t seed;       /* of the echo body */
    uint64_t body_made;  /* body bytes put into obuf */
    uint64_t chunk_left; /* of the chunk being put into obuf */
    bool up_done;        /* the whole request is in obuf */
    char expect[64];     /* the exact body for plaintext, delay and bad queries */
    uint64_t expect_len;
    unsigned char obuf[OBUF];
    size_t olen, ooff;
    uint64_t tx, rx; /* bytes of this request sent and received */
    uint64_t t_start, t_progress;
    reset_plan plan;
    uint64_t plan_at;     /* ns, tx or rx bytes */
    uint64_t rate;        /* bytes/s we read at; 0: as fast as it comes */
    uint64_t read_resume; /* ns: slow reader waits until then */
    /* the response */
    pstate p;
    int status;
    bool chunked, has_cl, close_after;
    uint64_t left;    /* of the Content-Length body or the current chunk */
    uint64_t body_rx; /* body bytes received and checked */
    size_t ilen;
    char ibuf[IBUF];
} conn;

typedef struct stats {
    uint64_t ok, reset, closed, errors;
} stats;

static struct {
    bool upload;
    int conns;
    double secs, kill_at;
    pid_t kill_pid;
    uint64_t mib, rate;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char hostport[128];
    int epfd;
    conn *c;
    uint64_t t0, now, killed_at, stop_at;
    bool killed, stopping;
    stats k[K_COUNT];
    uint64_t errors, refused, connects, bytes_up, bytes_down, closed_early;
    unsigned error_lines;
} g;

static void say_error(conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say_error(conn *c, const char *fmt, ...) {
    g.errors++;
    if (c && c->busy)
        g.k[c->k].errors++;
    if (g.error_lines++ >= MAX_ERROR_LINES)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c && c->busy)
        fprintf(stderr,
                "error: conn %d, %s (arg %" PRIu64 ", %" PRIu64 " ms in, sent %" PRIu64
                ", received %" PRIu64 "): %s\n",
                c->slot, kind_name[c->k], c->arg, (g.now - c->t_start) / NS_PER_MS, c->tx, c->rx,
                msg);
    else if (c)
        fprintf(stderr, "error: conn %d: %s\n", c->slot, msg);
    else
        fprintf(stderr, "error: %s\n", msg);
}

static void watch(conn *c, uint32_t ev) {
    if (c->events == ev)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    if (epoll_ctl(g.epfd, EPOLL_CTL_MOD, c->fd, &e) != 0)
        say_error(c, "epoll_ctl: %s", strerror(errno));
    c->events = ev;
}

/* How the connection ends: a plain close, or a reset (SO_LINGER 0). */
static void drop(conn *c, bool rst) {
    if (c->fd < 0)
        return;
    if (rst) {
        struct linger l = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    close(c->fd); /* also removes it from epoll */
    c->fd = -1;
    c->busy = false;
    c->st = g.upload || g.killed || g.stopping ? C_DONE : C_IDLE;
}

/* The slot is done either way: once the server stopped listening, a refusal
 * (or a reset of a connection still in its accept queue, which Linux may
 * report as EPIPE) is expected. */
static void connect_failed(conn *c, int err) {
    drop(c, false);
    c->st = C_DONE;
    if ((err == ECONNREFUSED || err == ECONNRESET || err == EPIPE) && g.killed)
        g.refused++;
    else
        say_error(c, "connect: %s", strerror(err));
}

static void start_connect(conn *c) {
    c->fd = socket(g.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        say_error(c, "socket: %s", strerror(errno));
        c->st = C_DONE;
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    g.connects++;
    c->st = C_CONNECTING;
    c->events = EPOLLOUT;
    struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
    epoll_ctl(g.epfd, EPOLL_CTL_ADD, c->fd, &e);
    if (connect(c->fd, (struct sockaddr *)&g.addr, g.addrlen) != 0 && errno != EINPROGRESS)
        connect_failed(c, errno);
}

/* ---- building requests ---------------------------------------------------- */

static void new_request(conn *c) {
    c->busy = true;
    c->tx = c->rx = c->body_made = c->chunk_left = c->body_rx = 0;
    c->up_done = false;
    c->olen = c->ooff = 0;
    c->p = P_HEAD;
    c->status = 0;
    c->chunked = c->has_cl = c->close_after = false;
    c->ilen = 0;
    c->plan = R_NONE;
    c->rate = 0;
    c->read_resume = 0;
    c->t_start = c->t_progress = g.now;
    c->seed = mix64(rnd(UINT64_MAX) + 1);
    c->expect_len = 0;
    const char *path = "/echo";
    char target[64];
    if (g.upload) {
        c->k = c->slot % 2 ? K_ECHO_CHUNKED : K_ECHO_CL;
        c->arg = g.mib << 20;
        c->rate = g.rate;
    } else {
        static const kind mix[] = {K_PLAIN,        K_DELAY,   K_DELAY,        K_DELAY,
                                   K_STREAM,       K_STREAM,  K_STREAM,       K_ECHO_CL,
                                   K_ECHO_CL,      K_ECHO_CL, K_ECHO_CHUNKED, K_ECHO_CHUNKED,
                                   K_ECHO_CHUNKED, K_BAD};
        c->k = mix[rnd(sizeof mix / sizeof mix[0])];
        c->arg = 0;
        /* sizes: a third small, the rest anywhere up to the maximum */
        switch (c->k) {
        case K_DELAY:
            c->arg = rnd(4) ? rnd(300) : rnd(3);
            break;
        case K_STREAM:
            c->arg = rnd(3) ? rnd(STREAM_KB_MAX + 1) : rnd(4);
            break;
        case K_ECHO_CL:
        case K_ECHO_CHUNKED:
            c->arg = rnd(3) ? rnd(ECHO_MAX + 1) : rnd(100);
            break;
        default:
            break;
        }
        if (c->k >= K_STREAM && c->k <= K_ECHO_CHUNKED && !rnd(8))
            c->rate = SLOW_RATE;
    }
    switch (c->k) {
    case K_PLAIN:
        path = "/plaintext";
        c->expect_len = (uint64_t)snprintf(c->expect, sizeof c->expect, "Hello, World!");
        break;
    case K_DELAY:
        snprintf(target, sizeof target, "/delay?ms=%" PRIu64, c->arg);
        path = target;
        c->expect_len = (uint64_t)snprintf(c->expect, sizeof c->expect, "delayed %" PRIu64, c->arg);
        break;
    case K_STREAM:
        snprintf(target, sizeof target, "/stream?kb=%" PRIu64, c->arg);
        path = target;
        c->expect_len = c->arg * 1024;
        break;
    case K_BAD: {
        static const char *const bad[] = {"/delay?ms=60001",
                                          "/delay?ms=-1",
                                          "/delay?ms=1x",
                                          "/delay",
                                          "/stream?kb=1048577",
                                          "/stream?kb=",
                                          "/stream?kb=99999999999999999999999"};
        path = bad[rnd(sizeof bad / sizeof bad[0])];
        c->expect_len =
            (uint64_t)snprintf(c->expect, sizeof c->expect, "%s must be 0..%s\n",
                               path[1] == 'd' ? "ms" : "kb", path[1] == 'd' ? "60000" : "1048576");
        break;
    }
    default:
        c->expect_len = c->arg;
        break;
    }
    bool post = c->k == K_ECHO_CL || c->k == K_ECHO_CHUNKED;
    int n;
    if (!post)
        n = snprintf((char *)c->obuf, OBUF, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path,
                     g.hostport);
    else if (c->k == K_ECHO_CL)
        n = snprintf((char *)c->obuf, OBUF,
                     "POST /echo HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-stress\r\n"
                     "Content-Length: %" PRIu64 "\r\n\r\n",
                     g.hostport, c->arg);
    else
        n = snprintf((char *)c->obuf, OBUF,
                     "POST /echo HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-stress\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n",
                     g.hostport);
    c->olen = (size_t)n;
    c->up_done = !post;
    uint64_t total = (uint64_t)n + (post ? c->arg : 0);
    if (!g.upload && !rnd(5)) {
        switch (rnd(4)) {
        case 0:
            c->plan = R_TIME;
            c->plan_at = g.now + rnd(300) * NS_PER_MS;
            break;
        case 1:
            c->plan = R_TX;
            c->plan_at = (uint64_t)n + rnd(total - (uint64_t)n + 1);
            break;
        case 2:
            c->plan = R_TX;
            c->plan_at = (uint64_t)n;
            break; /* right after the head */
        default:
            c->plan = R_RX;
            c->plan_at = rnd(c->expect_len + 200);
            break;
        }
    }
}

/* Put more of the request body into obuf, if obuf is empty. */
static void refill(conn *c) {
    if (c->ooff < c->olen || c->up_done)
        return;
    c->olen = c->ooff = 0;
    while (!c->up_done && OBUF - c->olen > 64) {
        size_t room = OBUF - c->olen;
        uint64_t rest = c->arg - c->body_made;
        if (c->k == K_ECHO_CL) {
            size_t n = rest < room ? (size_t)rest : room;
            body_fill(c->seed, c->body_made, c->obuf + c->olen, n);
            c->olen += n;
            c->body_made += n;
            c->up_done = c->body_made == c->arg;
            continue;
        }
        if (c->chunk_left == 0) { /* a chunk header, or the last chunk */
            if (rest == 0) {
                memcpy(c->obuf + c->olen, "0\r\n\r\n", 5);
                c->olen += 5;
                c->up_done = true;
                break;
            }
            uint64_t sz = 1 + rnd(rnd(4) ? 16384 : 200000);
            c->chunk_left = sz < rest ? sz : rest;
            c->olen += (size_t)sprintf((char *)c->obuf + c->olen, "%" PRIx64 "\r\n", c->chunk_left);
            continue;
        }
        room -= 2; /* for the CRLF after the chunk data */
        size_t n = c->chunk_left < room ? (size_t)c->chunk_left : room;
        body_fill(c->seed, c->body_made, c->obuf + c->olen, n);
        c->olen += n;
        c->body_made += n;
        c->chunk_left -= n;
        if (c->chunk_left == 0) {
            memcpy(c->obuf + c->olen, "\r\n", 2);
            c->olen += 2;
        }
    }
}

/* ---- the end of a request ------------------------------------------------ */

static void next_or_stop(conn *c);

static void finished(conn *c) {
    g.k[c->k].ok++;
    c->busy = false;
    if (c->close_after || g.upload) {
        drop(c, false);
        return;
    }
    next_or_stop(c);
}

/* The connection ended under us (EOF, RST, EPIPE). */
static void lost(conn *c, const char *how) {
    if (c->busy && c->tx > 0) {
        if (!g.killed)
            say_error(c, "the server %s the connection before shutdown", how);
        else {
            g.k[c->k].closed++;
            /* Sent well before SIGTERM: the server had it when it began to
             * shut down, and graceful means it should have been answered. */
            if (c->t_start + 100 * NS_PER_MS < g.killed_at)
                g.closed_early++;
        }
    } else if (!g.killed) {
        say_error(c, "the server %s an idle connection before shutdown", how);
    }
    drop(c, false);
}

static void do_reset(conn *c) {
    g.k[c->k].reset++;
    drop(c, true);
}

static void fail(conn *c) {
    drop(c, false);
}

/* ---- checking responses ---------------------------------------------------- */

static int lower(int ch) {
    return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}
static bool name_is(const char *s, size_t n, const char *lit) {
    if (strlen(lit) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s[i]) != lit[i])
            return false;
    return true;
}

/* Checks a complete head of n bytes against what c asked for. */
static bool check_head(conn *c, const char *h, size_t n) {
    const char *end = h + n - 2, *line = h;
    const char *eol = memmem(line, (size_t)(end - line), "\r\n", 2);
    if ((size_t)(eol - line) < 12 || memcmp(line, "HTTP/1.1 ", 9) || line[12] != ' ') {
        say_error(c, "bad status line '%.*s'", (int)(eol - line), line);
        return false;
    }
    c->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    int want = c->k == K_BAD ? 400 : 200;
    if (c->status != want) {
        say_error(c, "status %d, expected %d", c->status, want);
        return false;
    }
    bool te = false, ct_ok = false;
    uint64_t cl = 0;
    const char *want_ct =
        c->k == K_ECHO_CL || c->k == K_ECHO_CHUNKED ? "application/x-stress" : "text/plain";
    for (line = eol + 2; line < end; line = eol + 2) {
        eol = memmem(line, (size_t)(end - line) + 2, "\r\n", 2);
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (!colon) {
            say_error(c, "header line without a colon");
            return false;
        }
        const char *v = colon + 1;
        while (v < eol && (*v == ' ' || *v == '\t'))
            v++;
        size_t nl = (size_t)(colon - line), vl = (size_t)(eol - v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
        if (name_is(line, nl, "content-length")) {
            if (c->has_cl || vl == 0 || vl > 18) {
                say_error(c, "bad or repeated Content-Length");
                return false;
            }
            for (size_t i = 0; i < vl; i++) {
                if (v[i] < '0' || v[i] > '9') {
                    say_error(c, "bad Content-Length");
                    return false;
                }
                cl = cl * 10 + (uint64_t)(v[i] - '0');
            }
            c->has_cl = true;
        } else if (name_is(line, nl, "transfer-encoding")) {
            if (te || !name_is(v, vl, "chunked")) {
                say_error(c, "Transfer-Encoding '%.*s'", (int)vl, v);
                return false;
            }
            te = true;
        } else if (name_is(line, nl, "connection")) {
            if (name_is(v, vl, "close"))
                c->close_after = true;
        } else if (name_is(line, nl, "content-type")) {
            ct_ok = (size_t)(vl) >= strlen(want_ct) && !memcmp(v, want_ct, strlen(want_ct));
        }
    }
    c->chunked = te;
    if (te == c->has_cl) {
        say_error(c, te ? "both Content-Length and chunked" : "neither Content-Length nor chunked");
        return false;
    }
    if (!ct_ok) {
        say_error(c, "Content-Type is not %s", want_ct);
        return false;
    }
    if (c->has_cl && cl != c->expect_len) {
        say_error(c, "Content-Length %" PRIu64 ", expected %" PRIu64, cl, c->expect_len);
        return false;
    }
    /* The stream is chunked; an echo has the request's framing (an empty
     * chunked body may come back either way). */
    if ((c->k == K_STREAM && !te) || (c->k == K_ECHO_CL && te) ||
        (c->k == K_ECHO_CHUNKED && c->arg > 0 && !te)) {
        say_error(c, "framed with %s", te ? "chunked" : "Content-Length");
        return false;
    }
    if (c->k == K_DELAY && c->arg >= 100 && g.now - c->t_start < (c->arg - 50) * NS_PER_MS) {
        say_error(c, "answered after %" PRIu64 " ms", (g.now - c->t_start) / NS_PER_MS);
        return false;
    }
    c->left = cl;
    return true;
}

static bool check_body(conn *c, const char *p, size_t n) {
    if (c->body_rx + n > c->expect_len) {
        say_error(c, "body longer than %" PRIu64, c->expect_len);
        return false;
    }
    unsigned char want[IBUF];
    switch (c->k) {
    case K_STREAM:
        for (size_t i = 0; i < n; i++)
            want[i] = (unsigned char)('a' + (c->body_rx + i) % 26);
        break;
    case K_ECHO_CL:
    case K_ECHO_CHUNKED:
        body_fill(c->seed, c->body_rx, want, n);
        break;
    default:
        memcpy(want, c->expect + c->body_rx, n);
        break;
    }
    if (memcmp(want, p, n)) {
        size_t i = 0;
        while (want[i] == (unsigned char)p[i])
            i++;
        say_error(c, "body byte %" PRIu64 " is 0x%02x, expected 0x%02x", c->body_rx + i,
                  (unsigned char)p[i], want[i]);
        return false;
    }
    c->body_rx += n;
    return true;
}

/* Consume what ibuf holds. Returns false when the connection was dropped. */
static bool parse(conn *c) {
    size_t off = 0;
    while (off < c->ilen && c->p != P_DONE) {
        char *b = c->ibuf + off;
        size_t avail = c->ilen - off;
        switch (c->p) {
        case P_HEAD: {
            char *e = memmem(b, avail, "\r\n\r\n", 4);
            if (!e) {
                if (c->ilen == IBUF) {
                    say_error(c, "response head over %d bytes", IBUF);
                    fail(c);
                    return false;
                }
                goto out;
            }
            size_t hl = (size_t)(e - b) + 4;
            if (!check_head(c, b, hl)) {
                fail(c);
                return false;
            }
            off += hl;
            c->p = c->chunked ? P_CHUNK_SIZE : c->left ? P_BODY : P_DONE;
            break;
        }
        case P_BODY:
        case P_CHUNK_DATA: {
            size_t n = c->left < avail ? (size_t)c->left : avail;
            if (!check_body(c, b, n)) {
                fail(c);
                return false;
            }
            off += n;
            c->left -= n;
            if (!c->left)
                c->p = c->p == P_BODY ? P_DONE : P_CHUNK_CRLF;
            break;
        }
        case P_CHUNK_SIZE:
        case P_TRAILER: {
            char *e = memmem(b, avail, "\r\n", 2);
            if (!e) {
                if (avail > 256) {
                    say_error(c, "chunk line over 256 bytes");
                    fail(c);
                    return false;
                }
                goto out;
            }
            size_t ll = (size_t)(e - b);
            off += ll + 2;
            if (c->p == P_TRAILER) {
                if (ll == 0)
                    c->p = P_DONE;
                break;
            }
            uint64_t sz = 0;
            size_t i = 0;
            for (; i < ll && i < 16; i++) {
                int ch = lower((unsigned char)b[i]);
                int d = ch >= '0' && ch <= '9'   ? ch - '0'
                        : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                                                 : -1;
                if (d < 0)
                    break;
                sz = sz * 16 + (uint64_t)d;
            }
            if (i == 0 || (i < ll && b[i] != ';')) {
                say_error(c, "bad chunk size line '%.*s'", (int)ll, b);
                fail(c);
                return false;
            }
            if (sz == 0) {
                if (c->body_rx != c->expect_len) { /* a truncated body must not look complete */
                    say_error(c, "last chunk after %" PRIu64 " of %" PRIu64 " body bytes",
                              c->body_rx, c->expect_len);
                    fail(c);
                    return false;
                }
                c->p = P_TRAILER;
            } else {
                c->left = sz;
                c->p = P_CHUNK_DATA;
            }
            break;
        }
        case P_CHUNK_CRLF:
            if (avail < 2)
                goto out;
            if (b[0] != '\r' || b[1] != '\n') {
                say_error(c, "no CRLF after chunk data");
                fail(c);
                return false;
            }
            off += 2;
            c->p = P_CHUNK_SIZE;
            break;
        case P_DONE:
            break;
        }
    }
out:
    memmove(c->ibuf, c->ibuf + off, c->ilen - off);
    c->ilen -= off;
    if (c->p != P_DONE)
        return true;
    if (c->ilen) {
        say_error(c, "%zu bytes after the response", c->ilen);
        fail(c);
        return false;
    }
    if (!c->up_done || c->ooff < c->olen) {
        say_error(c, "the response ended before the request was sent");
        fail(c);
        return false;
    }
    finished(c);
    return false; /* c now holds another request, or no connection */
}

/* ---- i/o ------------------------------------------------------------------- */

static void do_write(conn *c) {
    size_t budget = 1 << 20;
    while (c->fd >= 0 && budget) {
        refill(c);
        if (c->ooff == c->olen) {
            watch(c, c->events & ~(uint32_t)EPOLLOUT);
            return;
        }
        size_t want = c->olen - c->ooff;
        if (c->plan == R_TX && c->tx + want > c->plan_at)
            want = (size_t)(c->plan_at - c->tx);
        if (want == 0) {
            do_reset(c);
            return;
        }
        ssize_t n = send(c->fd, c->obuf + c->ooff, want, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                watch(c, c->events | EPOLLOUT);
                return;
            }
            if (errno == EPIPE || errno == ECONNRESET) {
                lost(c, "reset");
                return;
            }
            say_error(c, "send: %s", strerror(errno));
            fail(c);
            return;
        }
        c->ooff += (size_t)n;
        c->tx += (uint64_t)n;
        g.bytes_up += (uint64_t)n;
        c->t_progress = g.now;
        budget -= (size_t)n < budget ? (size_t)n : budget;
        if (c->plan == R_TX && c->tx >= c->plan_at) {
            do_reset(c);
            return;
        }
    }
}

static void do_read(conn *c, bool force) {
    for (int rounds = 0; c->fd >= 0 && rounds < 16; rounds++) {
        size_t room = IBUF - c->ilen;
        if (c->rate && !force) { /* a slow reader: rx may not pass rate * elapsed */
            uint64_t allowed = (g.now - c->t_start) / 1000 * c->rate / 1000000;
            if (allowed <= c->rx) {
                c->read_resume = g.now + 10 * NS_PER_MS;
                watch(c, c->events & ~(uint32_t)EPOLLIN);
                return;
            }
            if (allowed - c->rx < room)
                room = (size_t)(allowed - c->rx);
        }
        if (c->plan == R_RX && c->rx + room > c->plan_at && c->plan_at > c->rx)
            room = (size_t)(c->plan_at - c->rx);
        ssize_t n = recv(c->fd, c->ibuf + c->ilen, room, 0);
        if (n == 0) {
            lost(c, "closed");
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            if (errno == ECONNRESET) {
                lost(c, "reset");
                return;
            }
            say_error(c, "recv: %s", strerror(errno));
            fail(c);
            return;
        }
        if (!c->busy) {
            say_error(c, "%zd bytes nobody asked for", n);
            fail(c);
            return;
        }
        c->ilen += (size_t)n;
        c->rx += (uint64_t)n;
        g.bytes_down += (uint64_t)n;
        c->t_progress = g.now;
        bool rx_plan = c->plan == R_RX && c->rx >= c->plan_at;
        if (!parse(c))
            return; /* dropped, or done and on its next request */
        if (rx_plan) {
            do_reset(c);
            return;
        }
    }
}

static void next_or_stop(conn *c) {
    if (g.stopping) {
        drop(c, false);
        return;
    }
    new_request(c);
    watch(c, EPOLLIN | EPOLLOUT);
    do_write(c);
}

static void on_connected(conn *c) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
        connect_failed(c, err);
        return;
    }
    c->st = C_OPEN;
    next_or_stop(c);
}

static void on_event(conn *c, uint32_t ev) {
    if (c->fd < 0)
        return;
    if (c->st == C_CONNECTING) {
        on_connected(c);
        return;
    }
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
        do_read(c, (ev & (EPOLLERR | EPOLLHUP)) != 0); /* drain to see the end */
    if (c->fd >= 0 && (ev & EPOLLOUT))
        do_write(c);
}

/* Timers: slow readers, time-planned resets, stalls. */
static void tick(conn *c) {
    if (c->fd < 0 || c->st != C_OPEN || !c->busy)
        return;
    if (c->plan == R_TIME && g.now >= c->plan_at) {
        do_reset(c);
        return;
    }
    if (c->read_resume && g.now >= c->read_resume) {
        c->read_resume = 0;
        watch(c, c->events | EPOLLIN);
    }
    if (g.now - c->t_progress > STALL_NS) {
        say_error(c, "no progress for %" PRIu64 " s", STALL_NS / NS_PER_S);
        fail(c);
    }
}

/* ---- main ------------------------------------------------------------------ */

static int usage(void) {
    fprintf(stderr,
            "usage: stress_client stress HOST:PORT [--conns N] [--secs S] [--kill PID]\n"
            "                     [--kill-at S] [--seed N]\n"
            "       stress_client upload HOST:PORT [--conns N] [--mib N] [--rate BYTES_PER_S]\n");
    return 2;
}

static bool num(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

static bool resolve(const char *hostport) {
    const char *colon = strrchr(hostport, ':');
    if (!colon || colon == hostport || strlen(hostport) >= sizeof g.hostport)
        return false;
    char host[128];
    size_t hl = (size_t)(colon - hostport);
    if (hostport[0] == '[' && hl >= 2 && hostport[hl - 1] == ']') {
        memcpy(host, hostport + 1, hl - 2);
        host[hl - 2] = 0;
    } else {
        memcpy(host, hostport, hl);
        host[hl] = 0;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
        return false;
    memcpy(&g.addr, ai->ai_addr, ai->ai_addrlen);
    g.addrlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    snprintf(g.hostport, sizeof g.hostport, "%s", hostport);
    return true;
}

int main(int argc, char **argv) {
    if (argc < 3)
        return usage();
    if (!strcmp(argv[1], "upload"))
        g.upload = true;
    else if (strcmp(argv[1], "stress"))
        return usage();
    if (!resolve(argv[2])) {
        fprintf(stderr, "stress_client: bad address '%s' (want IP:PORT)\n", argv[2]);
        return 2;
    }
    double conns = g.upload ? 50 : 200, secs = 16, kill_at = -1, pid = 0, seed = 1, mib = 20,
           rate = 1 << 20;
    for (int i = 3; i < argc; i += 2) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = v != NULL;
        if (ok && !strcmp(o, "--conns"))
            ok = num(v, 1, MAX_CONNS, &conns);
        else if (ok && !g.upload && !strcmp(o, "--secs"))
            ok = num(v, 0.1, 3600, &secs);
        else if (ok && !g.upload && !strcmp(o, "--kill"))
            ok = num(v, 1, 1 << 30, &pid);
        else if (ok && !g.upload && !strcmp(o, "--kill-at"))
            ok = num(v, 0, 3600, &kill_at);
        else if (ok && !g.upload && !strcmp(o, "--seed"))
            ok = num(v, 0, 1e15, &seed);
        else if (ok && g.upload && !strcmp(o, "--mib"))
            ok = num(v, 0, 1024, &mib);
        else if (ok && g.upload && !strcmp(o, "--rate"))
            ok = num(v, 1024, 1e10, &rate);
        else
            ok = false;
        if (!ok)
            return usage();
    }
    g.conns = (int)conns;
    g.secs = secs;
    g.kill_pid = (pid_t)pid;
    g.kill_at = kill_at < 0 ? secs / 2 : kill_at;
    g.mib = (uint64_t)mib;
    g.rate = (uint64_t)rate;
    rng_state = (uint64_t)seed;
    signal(SIGPIPE, SIG_IGN);

    g.epfd = epoll_create1(EPOLL_CLOEXEC);
    g.c = calloc((size_t)g.conns, sizeof *g.c);
    if (g.epfd < 0 || !g.c) {
        perror("stress_client");
        return 1;
    }
    g.t0 = g.now = now_ns();
    g.stop_at = g.t0 + (uint64_t)(secs * NS_PER_S);
    for (int i = 0; i < g.conns; i++) {
        g.c[i].fd = -1;
        g.c[i].slot = i;
        g.c[i].st = C_IDLE;
    }
    uint64_t deadline = UINT64_MAX;
    for (;;) {
        g.now = now_ns();
        if (!g.upload && !g.killed && g.kill_pid &&
            g.now >= g.t0 + (uint64_t)(g.kill_at * NS_PER_S)) {
            if (kill(g.kill_pid, SIGTERM) != 0)
                say_error(NULL, "kill %d: %s", (int)g.kill_pid, strerror(errno));
            g.killed = true;
            g.killed_at = g.now;
            deadline = g.now + DRAIN_NS;
        }
        if (!g.upload && !g.stopping && g.now >= g.stop_at) {
            g.stopping = true;
            if (deadline == UINT64_MAX)
                deadline = g.now + DRAIN_NS;
        }
        int live = 0;
        for (int i = 0; i < g.conns; i++) {
            conn *c = &g.c[i];
            if (c->st == C_IDLE)
                start_connect(c);
            else
                tick(c);
            live += c->st != C_DONE;
        }
        if (!live)
            break;
        if (g.now >= deadline) {
            for (int i = 0; i < g.conns; i++) {
                conn *c = &g.c[i];
                if (c->st == C_DONE)
                    continue;
                if (c->busy)
                    say_error(c, "still open %" PRIu64 " s after %s", DRAIN_NS / NS_PER_S,
                              g.killed ? "SIGTERM" : "the end of the run");
                c->busy = false;
                drop(c, false);
                c->st = C_DONE;
            }
            break;
        }
        struct epoll_event ev[256];
        int n = epoll_wait(g.epfd, ev, 256, 5);
        g.now = now_ns();
        for (int i = 0; i < n; i++)
            on_event(ev[i].data.ptr, ev[i].events);
    }
    double took = (double)(now_ns() - g.t0) / NS_PER_S;

    stats sum = {0};
    for (int k = 0; k < K_COUNT; k++) {
        sum.ok += g.k[k].ok;
        sum.reset += g.k[k].reset;
        sum.closed += g.k[k].closed;
    }
    printf("%s: secs=%.2f conns=%d connects=%" PRIu64 " ok=%" PRIu64 " reset=%" PRIu64
           " closed=%" PRIu64 " closed_inflight=%" PRIu64 " refused=%" PRIu64
           " up_mib=%.1f down_mib=%.1f errors=%" PRIu64,
           g.upload ? "upload" : "stress", took, g.conns, g.connects, sum.ok, sum.reset, sum.closed,
           g.closed_early, g.refused, (double)g.bytes_up / (1 << 20),
           (double)g.bytes_down / (1 << 20), g.errors);
    if (!g.upload)
        for (int k = 0; k < K_COUNT; k++)
            printf(" %s=%" PRIu64 "/%" PRIu64 "/%" PRIu64, kind_name[k], g.k[k].ok, g.k[k].reset,
                   g.k[k].closed);
    printf("\n");
    int rc = g.errors ? 1 : 0;
    if (g.upload && sum.ok != (uint64_t)g.conns) {
        fprintf(stderr, "upload: %" PRIu64 " of %d echoes complete\n", sum.ok, g.conns);
        rc = 1;
    }
    if (!g.upload) {
        for (int k = 0; k < K_COUNT; k++)
            if (!g.k[k].ok) {
                fprintf(stderr, "stress: no %s request completed\n", kind_name[k]);
                rc = 1;
            }
        if (!sum.reset) {
            fprintf(stderr, "stress: no request was reset\n");
            rc = 1;
        }
    }
    return rc;
}

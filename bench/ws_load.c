/* WebSocket echo load generator: closed loop, one thread, epoll.
 *
 *   ws_load -p PORT [-c CONNS] [-s SIZE] [-d SECS] [-w WARMUP_SECS]
 *           [--pipeline K] [--deflate] [--mixed] [--host ADDR] [--path PATH]
 *           [--hold] [--server-pid PID] [-v]
 *
 * Each of CONNS connections does the opening handshake (RFC 6455 §4.1: a
 * fresh random Sec-WebSocket-Key, a 101 whose Sec-WebSocket-Accept is
 * base64(SHA-1(key + GUID))), then keeps K TEXT messages of SIZE bytes in
 * flight: each echo that comes back is checked and the next message goes
 * out. Latency is from the send of a message to the end of its echo.
 *
 * Messages are valid UTF-8 (JSON-like ASCII records, or with --mixed about
 * half of the bytes in 2-4 byte sequences) so that servers validate real
 * text. Frames are built once per connection with ember's frame codec and
 * sent pre-masked: only the first 8 payload bytes, a hex sequence number,
 * are re-masked per message. The key is fixed per connection, which RFC
 * 6455 §5.3 forbids for a browser but a server cannot see; it keeps the
 * load generator's CPU out of the figures.
 *
 * Every echo's length and sequence number are checked, and its whole
 * content for one message in 64 (mismatches=). --deflate offers
 * permessage-deflate (RFC 7692); where the server accepts, each message is
 * sent compressed (compressed once: the client resets its compressor per
 * message, which §7.1.1.1 always allows), echoes are inflated with zlib
 * and checked the same way (no sequence number then), and deflate=1 is
 * printed. Pings are answered.
 *
 * Prints one line on stdout:
 *   conns=N size=S pipeline=K deflate=0|1 secs=S messages=N rate=R
 *   p50_us=N p99_us=N p999_us=N max_us=N errors=N mismatches=N stalled=N
 *   client_cpu_pct=P [server_cpu_us_per_msg=U server_cpu_pct=P]
 * the last two with --server-pid: utime + stime of that process (all its
 * threads, from /proc/PID/stat) over the measured seconds, per echoed
 * message and as a share of one core.
 * stalled counts connections still waiting for an echo 1 s after the end
 * (a server that lost a message without closing). Exit 0 if messages > 0
 * and no errors, mismatches or stalls; 1 otherwise; 2 on bad
 * arguments; 3 if no connection got through the handshake (the message on
 * stderr says why: refused, not 101, a wrong accept key).
 *
 * --hold (for idle-memory runs): each connection sends one message and
 * waits for its echo; then "ready conns=N" is printed and the connections
 * stay open, idle, until stdin reaches EOF. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "ember/ws.h"

enum {
    MAX_CONNS = 100000,
    MAX_PIPELINE = 1024,
    MAX_SIZE = 16 * 1024 * 1024,
    MAX_EVENTS = 256,
    MAX_CONNECTING = 128, /* handshakes in flight, so a 10k ramp drops no SYN */
    READ_CHUNK = 64 * 1024,
    HEAD_MAX = 8192,
    CHECK_EVERY = 64, /* full content compare, one message in this many */
    SEQ_LEN = 8,
    MAX_ERROR_LINES = 5,
};

#define NS_PER_S 1000000000ull

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * NS_PER_S + (uint64_t)t.tv_nsec;
}

/* ---- latency histogram (bench/http_load.c's layout) ---------------------- */

/* Log-linear over nanoseconds: each power-of-two range split into 128
 * counters (at most 0.8% wide); samples clamped to 1 µs..60 s. */
enum {
    HIST_SUB_BITS = 7,
    HIST_SUB_HALF = 1 << HIST_SUB_BITS,
    HIST_TOP_BUCKET = 28,
    HIST_LEN = (HIST_TOP_BUCKET + 2) << HIST_SUB_BITS,
};
#define HIST_MIN_NS 1000ull
#define HIST_MAX_NS (60 * NS_PER_S)

typedef struct histogram {
    uint64_t counts[HIST_LEN];
    uint64_t total, max_ns;
} histogram;

static unsigned hist_index(uint64_t ns) {
    unsigned msb = 63u - (unsigned)__builtin_clzll(ns | (2 * HIST_SUB_HALF - 1));
    unsigned bucket = msb - HIST_SUB_BITS;
    return (bucket << HIST_SUB_BITS) + (unsigned)(ns >> bucket);
}

static uint64_t hist_value_at(unsigned i) {
    unsigned b = i >> HIST_SUB_BITS;
    if (b == 0)
        return i;
    uint64_t sub = (i & (HIST_SUB_HALF - 1)) + HIST_SUB_HALF;
    return ((sub + 1) << (b - 1)) - 1;
}

static void hist_record(histogram *h, uint64_t ns) {
    if (ns < HIST_MIN_NS)
        ns = HIST_MIN_NS;
    if (ns > h->max_ns)
        h->max_ns = ns;
    if (ns > HIST_MAX_NS)
        ns = HIST_MAX_NS;
    h->counts[hist_index(ns)]++;
    h->total++;
}

static uint64_t hist_percentile(const histogram *h, double q) {
    if (h->total == 0)
        return 0;
    uint64_t want = (uint64_t)(q * (double)h->total + 0.5), seen = 0;
    if (want < 1)
        want = 1;
    for (unsigned i = 0; i < HIST_LEN; i++) {
        seen += h->counts[i];
        if (seen >= want) {
            uint64_t v = hist_value_at(i);
            return v < h->max_ns ? v : h->max_ns;
        }
    }
    return h->max_ns;
}

/* ---- options ------------------------------------------------------------- */

typedef struct options {
    long conns, size, pipeline, port;
    long server_pid; /* --server-pid: its CPU over the measured part */
    double secs, warmup;
    const char *host, *path;
    bool deflate, mixed, hold, verbose;
} options;

static const char usage_text[] =
    "usage: ws_load -p PORT [-c CONNS] [-s SIZE] [-d SECS] [-w WARMUP_SECS]\n"
    "               [--pipeline K] [--deflate] [--mixed] [--host ADDR] [--path PATH]\n"
    "               [--hold] [--server-pid PID] [-v]\n";

static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_secs(const char *s, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0 && v <= 3600))
        return -1;
    *out = v;
    return 0;
}

static int options_parse(options *o, int argc, char **argv) {
    static const struct option longs[] = {
        {"pipeline", required_argument, NULL, 'k'},
        {"deflate", no_argument, NULL, 'z'},
        {"mixed", no_argument, NULL, 'm'},
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"path", required_argument, NULL, 'P'},
        {"hold", no_argument, NULL, 'h'},
        {"server-pid", required_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    *o = (options){.conns = 64,
                   .size = 20,
                   .pipeline = 1,
                   .secs = 5,
                   .warmup = 1,
                   .host = "127.0.0.1",
                   .path = "/ws"};
    int ch;
    while ((ch = getopt_long(argc, argv, "c:s:d:w:p:v", longs, NULL)) != -1) {
        int bad = 0;
        switch (ch) {
        case 'c':
            bad = parse_long(optarg, 1, MAX_CONNS, &o->conns);
            break;
        case 's':
            bad = parse_long(optarg, 1, MAX_SIZE, &o->size);
            break;
        case 'd':
            bad = parse_secs(optarg, &o->secs);
            break;
        case 'w':
            bad = parse_secs(optarg, &o->warmup);
            break;
        case 'p':
            bad = parse_long(optarg, 1, 65535, &o->port);
            break;
        case 'k':
            bad = parse_long(optarg, 1, MAX_PIPELINE, &o->pipeline);
            break;
        case 'z':
            o->deflate = true;
            break;
        case 'm':
            o->mixed = true;
            break;
        case 'H':
            o->host = optarg;
            break;
        case 'P':
            o->path = optarg;
            break;
        case 'h':
            o->hold = true;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'S':
            bad = parse_long(optarg, 1, 1L << 30, &o->server_pid);
            break;
        default:
            bad = -1;
        }
        if (bad) {
            fputs(usage_text, stderr);
            return -1;
        }
    }
    if (optind != argc || o->port == 0 || o->path[0] != '/') {
        fputs(usage_text, stderr);
        return -1;
    }
    return 0;
}

/* ---- message text ------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s) { /* splitmix64: reproducible text */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* n bytes of valid UTF-8: JSON-like records (compressible about 3:1 by
 * zlib), with --mixed words in Greek, CJK and emoji. Never splits a
 * sequence: a word that does not fit becomes spaces. */
static void make_text(char *out, size_t n, bool mixed, uint64_t seed) {
    static const char *const ascii[] = {"alice", "bob", "click", "view",  "scroll", "login",
                                        "cart",  "ok",  "true",  "false", "null",   "page"};
    static const char *const multi[] = {"κόσμε",  "日本語", "données", "😀",    "Grüße", "ñandú",
                                        "привет", "🚀x",     "中文",    "ĉiuj", "ok",    "naïve"};
    const char *const *words = mixed ? multi : ascii;
    size_t k = 0;
    char rec[160];
    while (k < n) {
        uint64_t r = rng_next(&seed);
        int m = snprintf(rec, sizeof rec, "{\"id\":%u,\"user\":\"%s\",\"event\":\"%s\",\"v\":%u},",
                         (unsigned)(r % 100000), words[(r >> 20) % 12], words[(r >> 28) % 12],
                         (unsigned)((r >> 36) % 1000));
        size_t l = (size_t)m;
        if (l > n - k) {
            size_t fit = 0; /* the longest prefix that ends on a character */
            for (size_t i = 0; i <= n - k && i <= l; i++)
                if (i == l || ((unsigned char)rec[i] & 0xC0) != 0x80)
                    fit = i;
            memcpy(out + k, rec, fit);
            memset(out + k + fit, ' ', n - k - fit);
            return;
        }
        memcpy(out + k, rec, l);
        k += l;
    }
}

/* ---- connections --------------------------------------------------------- */

enum { C_IDLE, C_CONNECTING, C_HANDSHAKE, C_OPEN, C_DONE, C_FAILED };

typedef struct conn {
    int fd, state, id;
    char key[25], accept[29];
    char *in; /* read buffer: the response head, then frames */
    size_t in_len;
    char *out; /* write queue */
    size_t out_len, out_off, out_cap;
    bool want_out;
    em_ws_frame_parser parser;
    char *msg; /* the echo being assembled (wire payload) */
    size_t msg_len, msg_cap;
    bool in_frame, msg_compressed;
    int msg_op;
    char ctl[EM_WS_MAX_CONTROL + 4]; /* a control frame's payload */
    size_t ctl_len;
    bool deflate;
    int client_wbits;
    z_stream inf;
    bool inf_on;
    char *frame; /* the pre-masked frame */
    size_t frame_len;
    uint64_t sent, recvd;
    uint64_t *t_sent; /* ring of K send times */
    unsigned outstanding;
} conn;

typedef struct run {
    options o;
    int ep;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    conn *conns;
    char *text;  /* the plain message; its first SEQ_LEN bytes are the sequence */
    char *plain; /* scratch: the expected message */
    char *dbuf;  /* scratch: inflated echoes */
    size_t dbuf_cap;
    size_t rbuf; /* read buffer per connection: smaller when there are many */
    long next_conn, connecting, open, failed, done_hold;
    bool measuring, stopping;
    histogram hist;
    uint64_t messages, errors, mismatches;
    uint64_t in_flight; /* messages sent and not echoed, over all connections */
    int error_lines;
    bool all_deflate, any_deflate;
} run;

static void error_line(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void error_line(run *r, const char *fmt, ...) {
    if (r->error_lines++ >= MAX_ERROR_LINES && !r->o.verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("ws_load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int b64(char *out, const unsigned char *in, int n) {
    return EVP_EncodeBlock((unsigned char *)out, in, n);
}

static int random_os(void *ctx, void *out, size_t n) {
    return em_ws_random_os(ctx, out, n);
}

static void watch(run *r, conn *c, bool out) {
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
    c->want_out = out;
    epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_fail(run *r, conn *c, const char *why) {
    if (c->state == C_FAILED)
        return;
    if (!r->stopping) {
        r->errors++;
        error_line(r, "connection %d: %s", c->id, why);
    }
    if (c->state == C_CONNECTING || c->state == C_HANDSHAKE)
        r->connecting--;
    if (c->state == C_OPEN)
        r->open--;
    r->in_flight -= c->outstanding;
    c->outstanding = 0;
    c->state = C_FAILED;
    r->failed++;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static int out_reserve(conn *c, size_t n) {
    if (c->out_off > 0 && c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_len + n <= c->out_cap)
        return 0;
    if (c->out_off > 0) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
        if (c->out_len + n <= c->out_cap)
            return 0;
    }
    size_t cap = c->out_cap ? c->out_cap : 4096;
    while (cap < c->out_len + n)
        cap *= 2;
    char *p = realloc(c->out, cap);
    if (!p)
        return -1;
    c->out = p;
    c->out_cap = cap;
    return 0;
}

static void conn_flush(run *r, conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                if (!c->want_out)
                    watch(r, c, true);
                return;
            }
            conn_fail(r, c, strerror(errno));
            return;
        }
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    if (c->want_out)
        watch(r, c, false);
}

static void conn_send_msg(run *r, conn *c) {
    if (out_reserve(c, c->frame_len) != 0) {
        conn_fail(r, c, "out of memory");
        return;
    }
    char *f = c->out + c->out_len;
    memcpy(f, c->frame, c->frame_len);
    if (!c->deflate && r->o.size >= SEQ_LEN) { /* re-mask the sequence number */
        size_t p = c->frame_len - (size_t)r->o.size;
        const uint8_t *key = (const uint8_t *)f + p - 4;
        char seq[SEQ_LEN + 1];
        snprintf(seq, sizeof seq, "%08" PRIx32, (uint32_t)c->sent);
        for (int i = 0; i < SEQ_LEN; i++)
            f[p + (size_t)i] = (char)(seq[i] ^ key[i & 3]);
    }
    c->out_len += c->frame_len;
    c->t_sent[c->sent % (uint64_t)r->o.pipeline] = now_ns();
    c->sent++;
    c->outstanding++;
    r->in_flight++;
}

/* The frame this connection sends, pre-masked: the text, compressed when
 * permessage-deflate is on. */
static int conn_build_frame(run *r, conn *c) {
    const char *payload = r->text;
    size_t len = (size_t)r->o.size;
    char *zbuf = NULL;
    em_ws_frame f = {.opcode = EM_WS_OP_TEXT, .fin = true};
    if (c->deflate) {
        z_stream z = {0};
        if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -c->client_wbits, 8,
                         Z_DEFAULT_STRATEGY) != Z_OK)
            return -1;
        size_t cap = deflateBound(&z, (uLong)len) + 16;
        zbuf = malloc(cap);
        if (!zbuf) {
            deflateEnd(&z);
            return -1;
        }
        z.next_in = (Bytef *)r->text;
        z.avail_in = (uInt)len;
        z.next_out = (Bytef *)zbuf;
        z.avail_out = (uInt)cap;
        int rc = deflate(&z, Z_SYNC_FLUSH);
        size_t zl = cap - z.avail_out;
        deflateEnd(&z);
        /* RFC 7692 §7.2.1: the sync flush's empty block 00 00 ff ff is cut */
        if (rc != Z_OK || z.avail_in != 0 || zl < 4 || memcmp(zbuf + zl - 4, "\0\0\xff\xff", 4)) {
            free(zbuf);
            return -1;
        }
        payload = zbuf;
        len = zl - 4;
        f.rsv = EM_WS_RSV1;
    }
    f.len = len;
    c->frame = malloc(len + EM_WS_MAX_HEADER);
    ssize_t n = c->frame ? em_ws_frame_write_masked(c->frame, len + EM_WS_MAX_HEADER, &f, payload,
                                                    random_os, NULL)
                         : -1;
    free(zbuf);
    if (n < 0)
        return -1;
    c->frame_len = (size_t)n;
    return 0;
}

static void conn_start(run *r, conn *c) {
    c->fd = socket(r->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        conn_fail(r, c, strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    r->connecting++;
    c->state = C_CONNECTING;
    if (connect(c->fd, (struct sockaddr *)&r->addr, r->addr_len) != 0 && errno != EINPROGRESS) {
        conn_fail(r, c, strerror(errno));
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    c->want_out = true;
    epoll_ctl(r->ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void start_more(run *r) {
    while (r->next_conn < r->o.conns && r->connecting < MAX_CONNECTING)
        conn_start(r, &r->conns[r->next_conn++]);
}

static void conn_on_connected(run *r, conn *c) {
    int err = 0;
    socklen_t l = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err) {
        conn_fail(r, c, strerror(err));
        return;
    }
    unsigned char raw[16], sha[EVP_MAX_MD_SIZE];
    if (em_ws_random_os(NULL, raw, sizeof raw) != 0) {
        conn_fail(r, c, "getrandom failed");
        return;
    }
    b64(c->key, raw, 16);
    char cat[64];
    snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", c->key);
    unsigned sl = 0;
    EVP_Digest(cat, strlen(cat), sha, &sl, EVP_sha1(), NULL);
    b64(c->accept, sha, (int)sl);
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s:%ld\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     r->o.path, r->o.host, r->o.port, c->key,
                     r->o.deflate ? "Sec-WebSocket-Extensions: permessage-deflate; "
                                    "client_max_window_bits\r\n"
                                  : "");
    if (n <= 0 || (size_t)n >= sizeof req || out_reserve(c, (size_t)n) != 0) {
        conn_fail(r, c, "request too long");
        return;
    }
    memcpy(c->out + c->out_len, req, (size_t)n);
    c->out_len += (size_t)n;
    c->state = C_HANDSHAKE;
    watch(r, c, false);
    conn_flush(r, c);
}

/* The value of header name in head (CRLF lines), or NULL; *len its length. */
static const char *header_value(const char *head, const char *name, size_t *len) {
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1, *e = strstr(v, "\r\n");
            while (*v == ' ' || *v == '\t')
                v++;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            *len = (size_t)(e - v);
            return v;
        }
    }
    return NULL;
}

static void conn_begin(run *r, conn *c);

/* The response head is in c->in[0, end): check it. */
static void conn_on_head(run *r, conn *c, size_t end) {
    char *head = c->in;
    char save = head[end];
    head[end] = 0;
    size_t vl;
    const char *v;
    char why[200];
    const char *eol = strstr(head, "\r\n");
    if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
        snprintf(why, sizeof why, "upgrade refused: %.*s", (int)(eol - head), head);
        head[end] = save;
        conn_fail(r, c, why);
        return;
    }
    v = header_value(head, "Sec-WebSocket-Accept", &vl);
    if (!v || vl != 28 || memcmp(v, c->accept, 28) != 0) {
        head[end] = save;
        conn_fail(r, c, "wrong or missing Sec-WebSocket-Accept");
        return;
    }
    v = header_value(head, "Sec-WebSocket-Extensions", &vl);
    c->client_wbits = 15;
    if (v) {
        char ext[256];
        snprintf(ext, sizeof ext, "%.*s", (int)vl, v);
        if (!r->o.deflate || strncmp(ext, "permessage-deflate", 18) != 0 || strchr(ext, ',')) {
            head[end] = save;
            conn_fail(r, c, "an extension that was not offered");
            return;
        }
        c->deflate = true;
        const char *w = strstr(ext, "client_max_window_bits=");
        if (w)
            c->client_wbits = atoi(w + 23);
        if (c->client_wbits < 9) /* zlib's raw deflate cannot do 8 (RFC 7692 §7.1.2.2) */
            c->client_wbits = c->client_wbits == 8 ? 9 : 15;
        if (r->o.verbose && c->id == 0)
            fprintf(stderr, "ws_load: negotiated %s\n", ext);
    }
    head[end] = save;
    memmove(c->in, c->in + end, c->in_len - end);
    c->in_len -= end;
    conn_begin(r, c);
}

static void conn_begin(run *r, conn *c) {
    em_ws_frame_parser_init(&c->parser, EM_WS_ROLE_CLIENT);
    if (c->deflate) {
        c->parser.rsv_allowed = EM_WS_RSV1;
        if (inflateInit2(&c->inf, -15) != Z_OK) {
            conn_fail(r, c, "inflateInit2 failed");
            return;
        }
        c->inf_on = true;
    }
    if (conn_build_frame(r, c) != 0) {
        conn_fail(r, c, "cannot build the frame");
        return;
    }
    r->connecting--;
    r->open++;
    c->state = C_OPEN;
    r->any_deflate |= c->deflate;
    r->all_deflate &= c->deflate;
    long k = r->o.hold ? 1 : r->o.pipeline;
    for (long i = 0; i < k; i++)
        conn_send_msg(r, c);
    conn_flush(r, c);
}

/* The expected text of message seq, in r->plain. */
static const char *expected(run *r, const conn *c, uint64_t seq) {
    if (c->deflate || r->o.size < SEQ_LEN)
        return r->text;
    memcpy(r->plain, r->text, (size_t)r->o.size);
    char s[SEQ_LEN + 1];
    snprintf(s, sizeof s, "%08" PRIx32, (uint32_t)seq);
    memcpy(r->plain, s, SEQ_LEN);
    return r->plain;
}

static int inflate_msg(run *r, conn *c, const char **out, size_t *out_len) {
    static const char tail[4] = {0, 0, (char)0xff, (char)0xff};
    if (c->msg_len + 4 > c->msg_cap) {
        char *p = realloc(c->msg, c->msg_len + 4);
        if (!p)
            return -1;
        c->msg = p;
        c->msg_cap = c->msg_len + 4;
    }
    memcpy(c->msg + c->msg_len, tail, 4);
    z_stream *z = &c->inf;
    z->next_in = (Bytef *)c->msg;
    z->avail_in = (uInt)(c->msg_len + 4);
    z->next_out = (Bytef *)r->dbuf;
    z->avail_out = (uInt)r->dbuf_cap;
    int rc = inflate(z, Z_SYNC_FLUSH);
    if ((rc != Z_OK && rc != Z_BUF_ERROR) || z->avail_in != 0)
        return -1; /* corrupt, or longer than the message sent */
    *out = r->dbuf;
    *out_len = r->dbuf_cap - z->avail_out;
    return 0;
}

static void on_message(run *r, conn *c) {
    const char *data = c->msg;
    size_t len = c->msg_len;
    uint64_t seq = c->recvd;
    if (c->msg_compressed && inflate_msg(r, c, &data, &len) != 0) {
        conn_fail(r, c, "echo does not inflate");
        return;
    }
    if (c->outstanding == 0) {
        conn_fail(r, c, "a message nobody asked for");
        return;
    }
    uint64_t t = now_ns();
    uint64_t lat = t - c->t_sent[seq % (uint64_t)r->o.pipeline];
    bool bad = len != (size_t)r->o.size || c->msg_op != EM_WS_OP_TEXT;
    if (!bad && !c->deflate && r->o.size >= SEQ_LEN)
        bad = memcmp(data, expected(r, c, seq), SEQ_LEN) != 0;
    if (!bad && (seq % CHECK_EVERY == 0 || r->o.hold))
        bad = memcmp(data, expected(r, c, seq), len) != 0;
    if (bad) {
        r->mismatches++;
        error_line(r, "connection %d: echo %" PRIu64 " differs (%zu bytes, %zu sent)", c->id, seq,
                   len, (size_t)r->o.size);
    }
    c->recvd++;
    c->outstanding--;
    r->in_flight--;
    if (r->measuring) {
        r->messages++;
        hist_record(&r->hist, lat);
    }
    if (r->o.hold) {
        r->done_hold++;
        return;
    }
    if (!r->stopping)
        conn_send_msg(r, c);
}

static void on_control(run *r, conn *c, int op) {
    if (op == EM_WS_OP_PING) {
        em_ws_frame f = {.opcode = EM_WS_OP_PONG, .fin = true, .len = c->ctl_len};
        if (out_reserve(c, EM_WS_MAX_HEADER + c->ctl_len) != 0)
            return;
        ssize_t n = em_ws_frame_write_masked(c->out + c->out_len, EM_WS_MAX_HEADER + c->ctl_len, &f,
                                             c->ctl, random_os, NULL);
        if (n > 0)
            c->out_len += (size_t)n;
    } else if (op == EM_WS_OP_CLOSE) {
        char why[200];
        uint16_t code = 0;
        em_slice reason = {0};
        if (em_ws_close_parse(c->ctl, c->ctl_len, &code, &reason) != 0)
            code = 0;
        snprintf(why, sizeof why, "server closed: %u %.*s", code, (int)reason.len, reason.ptr);
        conn_fail(r, c, why);
    }
}

/* Frames in c->in[0, in_len): all bytes are consumed (the parser keeps a
 * split header; payload pieces are copied out). */
static void conn_frames(run *r, conn *c) {
    char *buf = c->in;
    size_t len = c->in_len;
    c->in_len = 0;
    for (;;) {
        const em_ws_frame *f = &c->parser.frame;
        if (!c->in_frame) {
            if (len == 0)
                return;
            ssize_t n = em_ws_frame_parse(&c->parser, buf, len);
            if (n == EM_EAGAIN)
                return;
            if (n < 0) {
                conn_fail(r, c, "bad frame from the server");
                return;
            }
            buf += n, len -= (size_t)n;
            c->in_frame = true;
            c->ctl_len = 0;
            if (f->opcode == EM_WS_OP_TEXT || f->opcode == EM_WS_OP_BINARY) {
                c->msg_op = f->opcode;
                c->msg_compressed = (f->rsv & EM_WS_RSV1) != 0;
                c->msg_len = 0;
            }
            if (f->opcode < EM_WS_OP_CLOSE && c->msg_len + f->len + 4 > c->msg_cap) {
                size_t cap = c->msg_len + f->len + 4;
                char *p = realloc(c->msg, cap);
                if (!p) {
                    conn_fail(r, c, "out of memory");
                    return;
                }
                c->msg = p;
                c->msg_cap = cap;
            }
        }
        if (em_ws_frame_left(&c->parser) > 0) {
            if (len == 0)
                return;
            em_slice s = {0};
            ssize_t m = em_ws_frame_payload(&c->parser, buf, len, &s);
            if (m < 0) {
                conn_fail(r, c, "bad payload");
                return;
            }
            buf += m, len -= (size_t)m;
            if (f->opcode >= EM_WS_OP_CLOSE) {
                memcpy(c->ctl + c->ctl_len, s.ptr, s.len);
                c->ctl_len += s.len;
            } else {
                memcpy(c->msg + c->msg_len, s.ptr, s.len);
                c->msg_len += s.len;
            }
            if (em_ws_frame_left(&c->parser) > 0)
                return;
        }
        c->in_frame = false; /* the frame is complete */
        if (f->opcode >= EM_WS_OP_CLOSE)
            on_control(r, c, f->opcode);
        else if (f->fin)
            on_message(r, c);
        if (c->state != C_OPEN)
            return;
    }
}

static void conn_read(run *r, conn *c) {
    for (;;) {
        size_t want = c->state == C_HANDSHAKE ? HEAD_MAX - c->in_len : r->rbuf;
        if (want == 0) {
            conn_fail(r, c, "response head too long");
            return;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, want, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            conn_fail(r, c, n == 0 ? "server closed the connection" : strerror(errno));
            return;
        }
        c->in_len += (size_t)n;
        if (c->state == C_HANDSHAKE) {
            c->in[c->in_len] = 0;
            char *e = strstr(c->in, "\r\n\r\n");
            if (!e)
                continue;
            conn_on_head(r, c, (size_t)(e + 4 - c->in));
            if (c->state != C_OPEN)
                return;
        }
        conn_frames(r, c);
        if (c->state != C_OPEN)
            return;
        if ((size_t)n < want)
            break;
    }
    conn_flush(r, c);
}

static void on_event(run *r, conn *c, uint32_t ev) {
    if (c->state == C_FAILED)
        return;
    if (c->state == C_CONNECTING) {
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            conn_on_connected(r, c);
        return;
    }
    if ((ev & EPOLLOUT) && c->state != C_FAILED)
        conn_flush(r, c);
    if ((ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) && c->state != C_FAILED)
        conn_read(r, c);
}

static int resolve(run *r) {
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    char port[16];
    snprintf(port, sizeof port, "%ld", r->o.port);
    int rc = getaddrinfo(r->o.host, port, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "ws_load: %s: %s\n", r->o.host, gai_strerror(rc));
        return -1;
    }
    memcpy(&r->addr, ai->ai_addr, ai->ai_addrlen);
    r->addr_len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

static double cpu_secs(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec * 1e-6 +
           (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec * 1e-6;
}

/* utime + stime of process pid in seconds, or -1. */
static double proc_cpu_secs(long pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the command may hold spaces */
    unsigned long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Runs the loop until done() or deadline_ns (0: none). */
static void loop(run *r, uint64_t deadline_ns, bool (*done)(const run *)) {
    struct epoll_event evs[MAX_EVENTS];
    while (!done(r)) {
        int timeout = -1;
        if (deadline_ns) {
            uint64_t t = now_ns();
            if (t >= deadline_ns)
                return;
            timeout = (int)((deadline_ns - t) / 1000000) + 1;
        }
        int n = epoll_wait(r->ep, evs, MAX_EVENTS, timeout);
        for (int i = 0; i < n; i++)
            on_event(r, evs[i].data.ptr, evs[i].events);
        start_more(r);
    }
}

static bool ramp_done(const run *r) {
    return r->next_conn == r->o.conns && r->connecting == 0;
}
static bool hold_done(const run *r) {
    return ramp_done(r) && r->done_hold + r->failed >= r->o.conns;
}
static bool drained(const run *r) {
    return r->in_flight == 0;
}
static bool all_failed(const run *r) {
    return r->open == 0 && ramp_done(r);
}

int main(int argc, char **argv) {
    static run r_;
    run *r = &r_;
    if (options_parse(&r->o, argc, argv) != 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)r->o.conns + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (resolve(r) != 0)
        return 2;
    size_t size = (size_t)r->o.size;
    r->text = malloc(size);
    r->plain = malloc(size);
    r->dbuf_cap = size + 1; /* room to see an echo that inflates too long */
    r->dbuf = malloc(size + 1);
    r->conns = calloc((size_t)r->o.conns, sizeof *r->conns);
    r->ep = epoll_create1(EPOLL_CLOEXEC);
    if (!r->text || !r->plain || !r->dbuf || !r->conns || r->ep < 0) {
        fprintf(stderr, "ws_load: out of memory\n");
        return 1;
    }
    make_text(r->text, size, r->o.mixed, 42);
    if (!em_ws_utf8_valid(r->text, size)) {
        fprintf(stderr, "ws_load: internal error: the text is not UTF-8\n");
        return 1;
    }
    r->rbuf = r->o.conns > 1000 ? 16 * 1024 : READ_CHUNK;
    for (long i = 0; i < r->o.conns; i++) {
        conn *c = &r->conns[i];
        c->fd = -1;
        c->id = (int)i;
        c->in = malloc(r->rbuf + 1);
        c->t_sent = calloc((size_t)r->o.pipeline, sizeof *c->t_sent);
        if (!c->in || !c->t_sent) {
            fprintf(stderr, "ws_load: out of memory\n");
            return 1;
        }
    }
    r->all_deflate = true;

    uint64_t t0 = now_ns();
    start_more(r);
    if (r->o.hold) {
        loop(r, 0, hold_done);
        printf("ready conns=%ld errors=%" PRIu64 " mismatches=%" PRIu64 " deflate=%d\n", r->open,
               r->errors, r->mismatches, r->any_deflate && r->all_deflate);
        fflush(stdout);
        char b[64];
        while (read(0, b, sizeof b) > 0)
            ;
        return r->open == r->o.conns && r->mismatches == 0 ? 0 : 1;
    }
    loop(r, t0 + 30 * NS_PER_S, ramp_done);
    if (r->open == 0) {
        fprintf(stderr,
                "ws_load: no connection got through the WebSocket handshake with %s:%ld%s\n",
                r->o.host, r->o.port, r->o.path);
        return 3;
    }
    uint64_t t1 = now_ns();
    loop(r, t1 + (uint64_t)(r->o.warmup * 1e9), all_failed);
    r->measuring = true;
    double c0 = cpu_secs(), s0 = r->o.server_pid ? proc_cpu_secs(r->o.server_pid) : -1;
    uint64_t t2 = now_ns();
    loop(r, t2 + (uint64_t)(r->o.secs * 1e9), all_failed);
    uint64_t t3 = now_ns();
    double c1 = cpu_secs(), s1 = r->o.server_pid ? proc_cpu_secs(r->o.server_pid) : -1;
    r->measuring = false;
    r->stopping = true;
    double secs = (double)(t3 - t2) / 1e9;
    /* no new messages; the echoes in flight come back (1 s at most), so
     * that no server sees a connection end in the middle of a message */
    loop(r, t3 + NS_PER_S, drained);
    /* an echo that never came (a server that dropped or lost a message
     * without closing) would otherwise only lower the rate */
    long stalled = 0;
    for (long i = 0; i < r->o.conns; i++)
        if (r->conns[i].state == C_OPEN && r->conns[i].outstanding > 0) {
            if (stalled++ == 0)
                error_line(r, "connection %ld: %u echoes still missing 1 s after the end", i,
                           r->conns[i].outstanding);
        }
    /* the close handshake (RFC 6455 §7): a close, then the server's close
     * or its end of the stream, 1 s at most */
    for (long i = 0; i < r->o.conns; i++) {
        conn *c = &r->conns[i];
        /* no status code: lws 4.1 with permessage-deflate runs a close
         * frame's payload through its inflater now and then and logs a zlib
         * error for it */
        static const char close_frame[] = {(char)0x88, (char)0x80, 0, 0, 0, 0};
        if (c->state != C_OPEN || out_reserve(c, sizeof close_frame) != 0)
            continue;
        memcpy(c->out + c->out_len, close_frame, sizeof close_frame);
        c->out_len += sizeof close_frame;
        conn_flush(r, c);
    }
    loop(r, now_ns() + NS_PER_S, all_failed);
    printf("conns=%ld size=%ld pipeline=%ld deflate=%d secs=%.2f messages=%" PRIu64
           " rate=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f errors=%" PRIu64
           " mismatches=%" PRIu64 " stalled=%ld client_cpu_pct=%.0f",
           r->o.conns, r->o.size, r->o.pipeline, r->any_deflate && r->all_deflate, secs,
           r->messages, (double)r->messages / secs, hist_percentile(&r->hist, 0.50) / 1e3,
           hist_percentile(&r->hist, 0.99) / 1e3, hist_percentile(&r->hist, 0.999) / 1e3,
           r->hist.max_ns / 1e3, r->errors, r->mismatches, stalled, (c1 - c0) / secs * 100);
    if (r->o.server_pid && s0 >= 0 && s1 >= 0 && r->messages > 0)
        printf(" server_cpu_us_per_msg=%.2f server_cpu_pct=%.0f",
               (s1 - s0) * 1e6 / (double)r->messages, (s1 - s0) / secs * 100);
    printf("\n");
    return r->messages > 0 && r->errors == 0 && r->mismatches == 0 && stalled == 0 ? 0 : 1;
}

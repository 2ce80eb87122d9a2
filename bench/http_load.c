/* HTTP/1.1 load generator with a per-request latency histogram: closed loop,
 * or open loop at a fixed rate with -R.
 *
 *   http_load -c CONNS -d SECS -P PORT [-w WARMUP_SECS] [-p DEPTH] [-R RATE]
 *             [-H HOST] [--path PATH] [--ipv6]
 *
 * One thread and one epoll instance drive CONNS keep-alive connections. Each
 * connection writes DEPTH pipelined GETs in one send() and writes its next
 * batch only once all DEPTH responses are in.
 *
 * Closed loop (the default, like wrk and TechEmpower's pipeline.lua): the
 * next batch goes out as soon as the last one is answered. A request's
 * latency is the time its response was fully parsed minus the time its batch
 * was written, so the later responses of a pipelined batch show the extra
 * wait they really had (wrk times the batch as a whole and reports about 0 µs
 * for them). When the generator or the server saturates, the tail mostly
 * measures that queueing, at whatever throughput each server reaches.
 *
 * Fixed rate (-R RATE, like wrk2): RATE requests per second over all
 * connections, in batches of DEPTH. Batch n of the run is due at
 * t0 + n * DEPTH / RATE and belongs to connection n % CONNS, so each
 * connection sends every CONNS * DEPTH / RATE seconds, the connections
 * staggered evenly. A connection still has one batch in flight at most: a
 * batch whose time comes while the previous one is unanswered goes out when
 * that one completes, never several at once. Latency is measured from the
 * batch's scheduled time, not from when it was written, so a server that
 * falls behind is charged for the requests it delayed (coordinated omission,
 * as wrk2 corrects it). Offering both servers the same rate, below either's
 * capacity, makes their latencies comparable.
 *
 * Prints one line on stdout,
 *   requests=N secs=S rps=R [rate=R] p50_us=N p90_us=N p99_us=N p999_us=N
 *   max_us=N non2xx=N errors=N
 * where rps is the rate achieved and rate, printed with -R, the rate offered;
 * diagnostics go to stderr, including a warning when rps falls below 95% of
 * the offered rate. Exit 0 if requests > 0 and errors == 0, 1 otherwise, 2 on
 * bad arguments.
 *
 * Standalone on purpose: plain sockets and epoll, no ember headers, so it is
 * neutral when ember is compared with nginx or Go. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    CONN_BUF = 64 * 1024, /* per connection; a response head must fit in it */
    MAX_EVENTS = 256,
    MAX_CONNS = 100000,
    MAX_DEPTH = 1024,
    MAX_ERROR_LINES = 5, /* stderr lines per failure kind; the rest are only counted */
    MAX_RATE = 10000000,
};

#define NS_PER_S           1000000000ull
#define CONNECT_TIMEOUT_NS (10 * NS_PER_S)

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * NS_PER_S + (uint64_t)t.tv_nsec;
}

/* ---- latency histogram --------------------------------------------------- */

/* HdrHistogram's log-linear layout over nanoseconds: values under 256 ns get a
 * counter each, and every power-of-two range above is split into 128 linear
 * counters, so one counter spans at most 1/128 (0.8%) of its values. Samples
 * are clamped to 1 µs..60 s; 60 s < 2^36 ns needs buckets 0..28. */
enum {
    HIST_SUB_BITS = 7,
    HIST_SUB_HALF = 1 << HIST_SUB_BITS,
    HIST_TOP_BUCKET = 28,
    HIST_LEN = (HIST_TOP_BUCKET + 2) << HIST_SUB_BITS,
};
#define HIST_MIN_NS 1000ull
#define HIST_MAX_NS (60 * NS_PER_S)
_Static_assert((HIST_MAX_NS >> (HIST_TOP_BUCKET + HIST_SUB_BITS + 1)) == 0,
               "HIST_TOP_BUCKET cannot hold HIST_MAX_NS");

typedef struct histogram {
    uint64_t counts[HIST_LEN];
    uint64_t total;
    uint64_t max_ns; /* exact, not rounded to a counter */
} histogram;

static unsigned hist_index(uint64_t ns) {
    unsigned msb = 63u - (unsigned)__builtin_clzll(ns | (2 * HIST_SUB_HALF - 1));
    unsigned bucket = msb - HIST_SUB_BITS;
    return (bucket << HIST_SUB_BITS) + (unsigned)(ns >> bucket);
}

/* The highest value counter i stands for: percentiles never understate, as
 * in HdrHistogram. */
static uint64_t hist_value_at(unsigned i) {
    unsigned b = i >> HIST_SUB_BITS;
    if (b == 0)
        return i;
    uint64_t sub = (i & (HIST_SUB_HALF - 1)) + HIST_SUB_HALF;
    return ((sub + 1) << (b - 1)) - 1;
}

static void hist_record(histogram *h, uint64_t ns, uint64_t n) {
    if (ns < HIST_MIN_NS)
        ns = HIST_MIN_NS;
    if (ns > h->max_ns)
        h->max_ns = ns;
    if (ns > HIST_MAX_NS)
        ns = HIST_MAX_NS;
    h->counts[hist_index(ns)] += n;
    h->total += n;
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

static uint64_t ns_to_us(uint64_t ns) {
    return (ns + 500) / 1000;
}

/* ---- options ------------------------------------------------------------- */

typedef struct options {
    long conns, depth, port;
    long rate; /* requests/s with -R; 0 for the closed loop */
    double secs, warmup_secs;
    const char *host, *path;
    int ipv6;
} options;

static const char usage_text[] =
    "usage: http_load -c CONNS -d SECS -P PORT [-w WARMUP_SECS] [-p DEPTH]\n"
    "                 [-R RATE] [-H HOST] [--path PATH] [--ipv6]\n"
    "  -c, --connections N  keep-alive connections (1..100000)\n"
    "  -d, --duration SECS  measured time (> 0)\n"
    "  -w, --warmup SECS    unrecorded time before it (default 1)\n"
    "  -p, --pipeline N     requests per write, all answered before the next (default 1)\n"
    "  -R, --rate N         send N requests/s over all connections (1..10000000) and\n"
    "                       time each from when it was due (default: closed loop)\n"
    "  -H, --host HOST      server address (default 127.0.0.1, or ::1 with --ipv6)\n"
    "  -P, --port PORT      server port (required)\n"
    "      --path PATH      request target (default /plaintext)\n"
    "      --ipv6           connect over IPv6\n";

static int bad_arg(const char *opt, const char *val, const char *want) {
    fprintf(stderr, "http_load: invalid %s '%s' (want %s)\n%s", opt, val, want, usage_text);
    return 2;
}

static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_secs(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* The path and host go into the request verbatim: no spaces or control bytes. */
static int is_token_text(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f)
            return 0;
    return 1;
}

/* Returns 0, or 2 after printing why (the exit status for bad arguments). */
static int options_parse(options *o, int argc, char **argv) {
    enum { OPT_PATH = 256, OPT_IPV6 };
    static const struct option longs[] = {
        {"connections", required_argument, NULL, 'c'},
        {"duration", required_argument, NULL, 'd'},
        {"warmup", required_argument, NULL, 'w'},
        {"pipeline", required_argument, NULL, 'p'},
        {"rate", required_argument, NULL, 'R'},
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'P'},
        {"path", required_argument, NULL, OPT_PATH},
        {"ipv6", no_argument, NULL, OPT_IPV6},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (options){.depth = 1, .warmup_secs = 1, .path = "/plaintext"};
    int ch;
    opterr = 0; /* our own messages, each followed by the usage */
    while ((ch = getopt_long(argc, argv, ":c:d:w:p:R:H:P:h", longs, NULL)) != -1) {
        switch (ch) {
        case 'c':
            if (parse_long(optarg, 1, MAX_CONNS, &o->conns))
                return bad_arg("-c", optarg, "1..100000");
            break;
        case 'd':
            if (parse_secs(optarg, 0.001, 86400, &o->secs))
                return bad_arg("-d", optarg, "seconds, 0.001..86400");
            break;
        case 'w':
            if (parse_secs(optarg, 0, 3600, &o->warmup_secs))
                return bad_arg("-w", optarg, "seconds, 0..3600");
            break;
        case 'p':
            if (parse_long(optarg, 1, MAX_DEPTH, &o->depth))
                return bad_arg("-p", optarg, "1..1024");
            break;
        case 'R':
            if (parse_long(optarg, 1, MAX_RATE, &o->rate))
                return bad_arg("-R", optarg, "requests/s, 1..10000000");
            break;
        case 'H':
            if (!*optarg || !is_token_text(optarg))
                return bad_arg("-H", optarg, "a host name or address");
            o->host = optarg;
            break;
        case 'P':
            if (parse_long(optarg, 1, 65535, &o->port))
                return bad_arg("-P", optarg, "1..65535");
            break;
        case OPT_PATH:
            if (optarg[0] != '/' || !is_token_text(optarg))
                return bad_arg("--path", optarg, "/ then no spaces or control bytes");
            o->path = optarg;
            break;
        case OPT_IPV6:
            o->ipv6 = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            exit(0);
        case ':':
            fprintf(stderr, "http_load: %s needs a value\n%s", argv[optind - 1], usage_text);
            return 2;
        default:
            fprintf(stderr, "http_load: unknown option %s\n%s", argv[optind - 1], usage_text);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "http_load: unexpected argument '%s'\n%s", argv[optind], usage_text);
        return 2;
    }
    if (!o->conns || !o->secs || !o->port) {
        fprintf(stderr, "http_load: -c, -d and -P are required\n%s", usage_text);
        return 2;
    }
    if (!o->host)
        o->host = o->ipv6 ? "::1" : "127.0.0.1";
    return 0;
}

/* ---- connections and the run --------------------------------------------- */

/* Why a connection was dropped; each kind is counted in `errors`. */
#define FAILURES(X)                                                                                \
    X(FAIL_SOCKET, "socket error or reset")                                                        \
    X(FAIL_CLOSED, "server closed the connection")                                                 \
    X(FAIL_PARSE, "malformed response")                                                            \
    X(FAIL_NO_LENGTH, "response without Content-Length")                                           \
    X(FAIL_CHUNKED, "Transfer-Encoding response (only Content-Length is supported)")               \
    X(FAIL_HEAD_SIZE, "response head larger than the 64 KiB buffer")                               \
    X(FAIL_UNSOLICITED, "more responses than requests")                                            \
    X(FAIL_CONNECT, "reconnect failed")
#define FAIL_ENUM(name, text) name,
#define FAIL_TEXT(name, text) text,
typedef enum fail { FAIL_NONE, FAILURES(FAIL_ENUM) FAIL_COUNT } fail;
static const char *const fail_text[] = {"no failure", FAILURES(FAIL_TEXT)};

typedef enum conn_state { CONN_IDLE, CONN_CONNECTING, CONN_OPEN } conn_state;

typedef struct conn {
    int fd;
    conn_state state;
    uint32_t events;   /* what epoll watches, so only changes cost an epoll_ctl */
    int opened_once;   /* its first connect worked, so later failures are not fatal */
    size_t sent;       /* bytes of the current batch written so far */
    unsigned pending;  /* responses of the current batch not parsed yet */
    uint64_t batch_ns; /* when the current batch was written, or was due with -R */
    uint64_t slot;     /* -R: the schedule slot of its next batch */
    /* response parser, resumable at any byte */
    int in_body, status, close_after;
    uint64_t body_left; /* bytes of the current body still to skip */
    size_t len, scan;   /* bytes in buf; where the search for the head's end resumes */
    char buf[CONN_BUF];
} conn;

typedef struct run {
    const options *opt;
    int epfd;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char target[300]; /* host:port, as sent in Host and shown in messages */
    char *batch;      /* DEPTH requests back to back, written by every connection */
    size_t batch_len;
    conn *conns;
    long connected; /* connections whose first connect finished */
    long live;      /* connections not given up on */
    uint64_t now;   /* the latest clock reading */
    uint64_t connect_deadline;
    uint64_t rec_start, rec_end; /* the recorded window; UINT64_MAX until all connected */
    /* -R: slot n is due at sched_start + n * slot_ns and belongs to connection
     * n % CONNS; next_slot is the first whose time has not been seen yet. */
    uint64_t sched_start; /* UINT64_MAX until all connected */
    double slot_ns;       /* DEPTH / RATE seconds, in ns */
    uint64_t next_slot;
    int fatal, stop;
    uint64_t requests, non2xx, errors, reconnects, idle_closes;
    uint64_t fail_counts[FAIL_COUNT];
    histogram hist;
} run;

/* ---- response parsing ---------------------------------------------------- */

/* Length of the head starting at buf (through its CRLFCRLF), or 0 while it is
 * incomplete. The search resumes at *scan, so a head that trickles in is not
 * rescanned from the start. */
static size_t head_length(const char *buf, size_t len, size_t *scan) {
    const char *p = buf + *scan, *end = buf + len;
    while ((p = memchr(p, '\n', (size_t)(end - p)))) {
        size_t i = (size_t)(p - buf);
        if (i >= 3 && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return i + 1;
        p++;
    }
    *scan = len;
    return 0;
}

static int ascii_lower(int ch) {
    return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

/* Compares n bytes of s, case-insensitively, with a lowercase literal. */
static int equals_lower(const char *s, size_t n, const char *lit) {
    if (strlen(lit) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower((unsigned char)s[i]) != lit[i])
            return 0;
    return 1;
}

static int mentions_close(const char *v, size_t n) {
    for (size_t i = 0; i + 5 <= n; i++)
        if (equals_lower(v + i, 5, "close"))
            return 1;
    return 0;
}

/* "HTTP/1.x NNN" then SP or the end of the line; returns NNN or -1. */
static int parse_status_line(const char *s, size_t n) {
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9' || s[8] != ' ')
        return -1;
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        status = status * 10 + (s[i] - '0');
    }
    return n == 12 || s[12] == ' ' ? status : -1;
}

static int parse_length(const char *s, size_t n, uint64_t *out) {
    if (n == 0 || n > 18) /* 18 digits cannot overflow 64 bits */
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Reads the status, the body length and Connection: close from a complete
 * head of n bytes. Only what framing needs is checked: this measures servers,
 * it does not judge their conformance. */
static fail parse_head(conn *c, const char *h, size_t n) {
    const char *eol = memchr(h, '\r', n); /* found: the head ends in CRLFCRLF */
    if (eol[1] != '\n')
        return FAIL_PARSE;
    int status = parse_status_line(h, (size_t)(eol - h));
    /* 1xx are interim responses, which we never invite (no Expect, no Upgrade). */
    if (status < 200)
        return FAIL_PARSE;
    int has_length = 0, close_after = 0;
    uint64_t length = 0;
    const char *p = eol + 2, *end = h + n - 2; /* end: the empty line */
    while (p < end) {
        eol = memchr(p, '\r', (size_t)(end - p));
        if (!eol || eol[1] != '\n')
            return FAIL_PARSE;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon || colon == p)
            return FAIL_PARSE;
        const char *v = colon + 1, *ve = eol;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t name_len = (size_t)(colon - p), value_len = (size_t)(ve - v);
        if (equals_lower(p, name_len, "content-length")) {
            uint64_t x;
            /* RFC 9112 §6.3: differing lengths make the framing unknowable. */
            if (parse_length(v, value_len, &x) || (has_length && x != length))
                return FAIL_PARSE;
            length = x;
            has_length = 1;
        } else if (equals_lower(p, name_len, "transfer-encoding")) {
            return FAIL_CHUNKED;
        } else if (equals_lower(p, name_len, "connection")) {
            close_after |= mentions_close(v, value_len);
        }
        p = eol + 2;
    }
    /* RFC 9112 §6.3: 204 and 304 never have a body, whatever the headers say. */
    if (status == 204 || status == 304) {
        length = 0;
        has_length = 1;
    }
    if (!has_length)
        return FAIL_NO_LENGTH;
    c->status = status;
    c->body_left = length;
    c->close_after = close_after;
    return FAIL_NONE;
}

/* Consumes every complete response in the buffer, up to the number the
 * current batch still owes, and keeps a partial head for the next read.
 * *done and *non2xx count the responses completed. */
static fail conn_parse(conn *c, unsigned *done, unsigned *non2xx) {
    size_t pos = 0;
    *done = *non2xx = 0;
    while (c->pending > 0) {
        if (!c->in_body) {
            size_t n = head_length(c->buf + pos, c->len - pos, &c->scan);
            if (n == 0)
                break;
            fail f = parse_head(c, c->buf + pos, n);
            if (f)
                return f;
            pos += n;
            c->scan = 0;
            c->in_body = 1;
        }
        /* Bodies are skipped, not kept: their size is not limited by the buffer. */
        size_t avail = c->len - pos;
        size_t take = c->body_left < avail ? (size_t)c->body_left : avail;
        pos += take;
        c->body_left -= take;
        if (c->body_left)
            break;
        c->in_body = 0;
        c->pending--;
        (*done)++;
        if (c->status > 299)
            (*non2xx)++;
        if (c->close_after)
            return FAIL_NONE; /* the rest is moot: the caller reconnects */
    }
    if (c->pending == 0 && pos < c->len)
        return FAIL_UNSOLICITED;
    c->len -= pos;
    if (c->len)
        memmove(c->buf, c->buf + pos, c->len);
    return c->len == CONN_BUF ? FAIL_HEAD_SIZE : FAIL_NONE;
}

/* ---- connection I/O ------------------------------------------------------ */

/* Level-triggered: a wakeup does one recv() into the connection's buffer, and
 * whatever stays unread is reported again, so we never pay the extra recv()
 * that returns EAGAIN, which edge-triggered mode needs to know the socket is
 * drained. EPOLLOUT is watched only while a batch is partly written, which
 * with batches of a few KiB almost never happens, so the steady state makes
 * no epoll_ctl calls at all. */
static fail conn_watch(run *r, conn *c, uint32_t events) {
    if (c->events == events)
        return FAIL_NONE;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        return FAIL_SOCKET;
    c->events = events;
    return FAIL_NONE;
}

/* Writes the rest of the batch; on a full socket buffer, waits for EPOLLOUT. */
static fail conn_write(run *r, conn *c) {
    while (c->sent < r->batch_len) {
        ssize_t n = send(c->fd, r->batch + c->sent, r->batch_len - c->sent, MSG_NOSIGNAL);
        if (n >= 0)
            c->sent += (size_t)n;
        else if (errno == EAGAIN || errno == EWOULDBLOCK)
            return conn_watch(r, c, EPOLLIN | EPOLLOUT);
        else if (errno != EINTR)
            return FAIL_SOCKET;
    }
    return conn_watch(r, c, EPOLLIN);
}

/* When schedule slot n is due; never before every connection is up. The
 * double product is exact to the nanosecond for 2^53 ns, over 100 days. */
static uint64_t slot_time(const run *r, uint64_t n) {
    if (r->sched_start == UINT64_MAX)
        return UINT64_MAX;
    return r->sched_start + (uint64_t)((double)n * r->slot_ns);
}

/* The closed loop reads the clock once per batch, before its first byte goes
 * out (as wrk does): a partial write's wait for EPOLLOUT is part of the
 * latency. With -R the batch is timed from its slot instead, however late it
 * goes out, and takes the connection's next slot. */
static fail conn_send_batch(run *r, conn *c) {
    c->pending = (unsigned)r->opt->depth;
    c->sent = 0;
    if (r->opt->rate) {
        c->batch_ns = slot_time(r, c->slot);
        c->slot += (uint64_t)r->opt->conns;
    } else {
        r->now = c->batch_ns = now_ns();
    }
    return conn_write(r, c);
}

/* For an open connection with no batch in flight: the closed loop sends at
 * once, -R once the connection's slot has come (if it came while the last
 * batch was in flight, that is now, and only this one batch). */
static fail conn_next_batch(run *r, conn *c) {
    if (r->now >= r->rec_end || (r->opt->rate && slot_time(r, c->slot) > r->now))
        return FAIL_NONE;
    return conn_send_batch(r, c);
}

static void record_responses(run *r, uint64_t latency_ns, unsigned n, unsigned non2xx) {
    if (r->now < r->rec_start || r->now >= r->rec_end)
        return;
    r->requests += n;
    r->non2xx += non2xx;
    hist_record(&r->hist, latency_ns, n);
}

static void conn_close(conn *c) {
    close(c->fd); /* also leaves the epoll set: the fd is never duplicated */
    c->fd = -1;
    c->state = CONN_IDLE;
    c->events = 0;
}

static fail conn_open(run *r, conn *c) {
    c->len = c->scan = c->sent = 0;
    c->pending = 0;
    c->in_body = c->close_after = 0;
    c->fd = socket(r->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (c->fd < 0)
        return FAIL_CONNECT;
    int one = 1;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    /* A non-blocking connect that is interrupted goes on in the background. */
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        (connect(c->fd, (struct sockaddr *)&r->addr, r->addrlen) != 0 && errno != EINPROGRESS &&
         errno != EINTR) ||
        epoll_ctl(r->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        int err = errno;
        conn_close(c);
        errno = err;
        return FAIL_CONNECT;
    }
    c->state = CONN_CONNECTING;
    c->events = EPOLLOUT;
    return FAIL_NONE;
}

/* One recv() per wakeup, and one clock reading for all the responses it
 * completes: they all arrived by then. */
static fail conn_read(run *r, conn *c) {
    ssize_t n;
    do
        n = recv(c->fd, c->buf + c->len, CONN_BUF - c->len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? FAIL_NONE : FAIL_SOCKET;
    if (n == 0) {
        /* With -R a connection idles between batches, and a server may close
         * it then (RFC 9112 §9.3): reconnect, as after Connection: close. */
        if (c->pending == 0 && c->len == 0) {
            r->idle_closes++;
            conn_close(c);
            return conn_open(r, c);
        }
        return FAIL_CLOSED;
    }
    r->now = now_ns();
    c->len += (size_t)n;
    unsigned done, non2xx;
    fail f = conn_parse(c, &done, &non2xx);
    if (done)
        record_responses(r, r->now - c->batch_ns, done, non2xx);
    if (f)
        return f;
    if (c->close_after && !c->in_body) {
        /* The server announced the close: reconnect without calling it an
         * error; the batch's unanswered requests are simply not counted. */
        r->reconnects++;
        conn_close(c);
        return conn_open(r, c);
    }
    return c->pending == 0 ? conn_next_batch(r, c) : FAIL_NONE;
}

/* The recorded window starts once every connection is up, after the warm-up;
 * the -R schedule starts then too, so the warm-up runs at the same rate. */
static void run_all_connected(run *r) {
    r->now = now_ns();
    if (r->opt->rate)
        r->sched_start = r->now;
    r->rec_start = r->now + (uint64_t)(r->opt->warmup_secs * (double)NS_PER_S);
    r->rec_end = r->rec_start + (uint64_t)(r->opt->secs * (double)NS_PER_S);
}

static fail conn_on_connected(run *r, conn *c) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err) {
        errno = err;
        return FAIL_CONNECT;
    }
    c->state = CONN_OPEN;
    if (!c->opened_once) {
        c->opened_once = 1;
        if (++r->connected == r->opt->conns)
            run_all_connected(r);
    }
    fail f = conn_next_batch(r, c);
    if (f || c->pending)
        return f;
    /* Not due yet (-R): the connect's EPOLLOUT would fire on every wait, and
     * conn_on_event would take it for a partly written batch. */
    return conn_watch(r, c, EPOLLIN);
}

static void report_failure(run *r, fail f, int err) {
    r->errors++;
    if (++r->fail_counts[f] <= MAX_ERROR_LINES)
        fprintf(stderr, "http_load: %s%s%s\n", fail_text[f], err ? ": " : "",
                err ? strerror(err) : "");
}

/* Counts the failure and reopens the connection so the closed loop goes on.
 * A failed reconnect is not retried, so a dead server cannot cause a storm of
 * connects; a failed first connect ends the run. */
static void conn_fail(run *r, conn *c, fail f) {
    int err = f == FAIL_SOCKET || f == FAIL_CONNECT ? errno : 0;
    int was_open = c->state == CONN_OPEN;
    if (!c->opened_once) {
        if (!r->fatal) /* once, not once per connection */
            fprintf(stderr, "http_load: cannot connect to %s: %s\n", r->target,
                    err ? strerror(err) : fail_text[f]);
        r->fatal = 1;
        if (c->fd >= 0)
            conn_close(c);
        return;
    }
    report_failure(r, f, err);
    if (c->fd >= 0)
        conn_close(c);
    if (was_open && r->now < r->rec_end) {
        f = conn_open(r, c);
        if (!f)
            return;
        report_failure(r, f, errno);
    }
    if (--r->live == 0) {
        fprintf(stderr, "http_load: every connection failed; stopping early\n");
        r->stop = 1;
    }
}

static void conn_on_event(run *r, conn *c, uint32_t events) {
    fail f = FAIL_NONE;
    if (c->state == CONN_CONNECTING) {
        f = conn_on_connected(r, c);
    } else {
        if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
            f = conn_read(r, c); /* an error or hang-up shows up as its result */
        /* Reading may have reconnected it: write only to the same open socket. */
        if (!f && (events & EPOLLOUT) && c->state == CONN_OPEN && (c->events & EPOLLOUT))
            f = conn_write(r, c);
    }
    if (f)
        conn_fail(r, c, f);
}

/* ---- the run ------------------------------------------------------------- */

static int run_resolve(run *r) {
    const options *o = r->opt;
    char port[8];
    snprintf(port, sizeof port, "%ld", o->port);
    struct addrinfo hints = {.ai_family = o->ipv6 ? AF_INET6 : AF_INET,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res;
    int rc = getaddrinfo(o->host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "http_load: cannot resolve %s%s: %s\n", o->host,
                o->ipv6 ? " (IPv6)" : " (IPv4; --ipv6 for IPv6)", gai_strerror(rc));
        return -1;
    }
    memcpy(&r->addr, res->ai_addr, res->ai_addrlen);
    r->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    /* RFC 9110 §7.2: an IPv6 literal in Host is bracketed. */
    const char *fmt = strchr(o->host, ':') ? "[%s]:%ld" : "%s:%ld";
    int n = snprintf(r->target, sizeof r->target, fmt, o->host, o->port);
    if (n < 0 || (size_t)n >= sizeof r->target) {
        fprintf(stderr, "http_load: host name too long\n");
        return -1;
    }
    return 0;
}

/* What TechEmpower's wrk sends, minus its long Accept list: a short request
 * keeps the bytes we write (and the server parses) about the response. */
static int run_build_batch(run *r) {
    static const char fmt[] = "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/plain\r\n"
                              "Connection: keep-alive\r\n\r\n";
    int n = snprintf(NULL, 0, fmt, r->opt->path, r->target);
    if (n <= 0)
        return -1;
    size_t one = (size_t)n, depth = (size_t)r->opt->depth;
    r->batch = malloc(one * depth + 1);
    if (!r->batch)
        return -1;
    snprintf(r->batch, one + 1, fmt, r->opt->path, r->target);
    for (size_t i = 1; i < depth; i++)
        memcpy(r->batch + i * one, r->batch, one);
    r->batch_len = one * depth;
    return 0;
}

/* One socket per connection plus a few: ask for that much if the soft limit
 * is lower (the hard limit caps it; socket() then reports EMFILE). */
static void raise_fd_limit(long conns) {
    struct rlimit rl;
    rlim_t need = (rlim_t)conns + 16;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
        return;
    rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
}

static int ms_until(uint64_t now, uint64_t deadline) {
    if (deadline <= now)
        return 0;
    uint64_t ms = (deadline - now + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* -R: sends every batch whose slot has come, one slot at a time, so a
 * wake-up costs O(1) per batch due rather than a scan of the connections. A
 * connection busy with its last batch, or reconnecting, is passed over: it
 * sends from conn_read or conn_on_connected once it can, and sending takes
 * the connection's own next slot, so nothing is skipped or sent twice. */
static void run_send_due(run *r) {
    r->now = now_ns();
    while (slot_time(r, r->next_slot) <= r->now) {
        conn *c = &r->conns[r->next_slot % (uint64_t)r->opt->conns];
        r->next_slot++;
        if (c->state == CONN_OPEN && c->pending == 0) {
            fail f = conn_next_batch(r, c);
            if (f)
                conn_fail(r, c, f);
        }
    }
}

/* -R needs wake-ups finer than a millisecond, epoll_wait's unit: at 100k
 * req/s a batch is due every 10 µs. epoll_pwait2 (Linux 5.11, glibc 2.35)
 * takes a timespec and, unlike a timerfd in the epoll set, costs no extra
 * syscall to re-arm for every slot. The timeout is taken from a fresh clock
 * reading so the work since the last one does not make us late. */
static int wait_until_ns(run *r, struct epoll_event *evs, uint64_t deadline) {
    r->now = now_ns();
    uint64_t ns = deadline > r->now ? deadline - r->now : 0;
    struct timespec ts = {.tv_sec = (time_t)(ns / NS_PER_S), .tv_nsec = (long)(ns % NS_PER_S)};
    return epoll_pwait2(r->epfd, evs, MAX_EVENTS, &ts, NULL);
}

static int run_loop(run *r) {
    struct epoll_event evs[MAX_EVENTS];
    int rate = r->opt->rate != 0;
    while (!r->fatal && !r->stop && r->now < r->rec_end) {
        int connecting = r->connected < r->opt->conns;
        uint64_t deadline = connecting              ? r->connect_deadline
                            : r->now < r->rec_start ? r->rec_start
                                                    : r->rec_end;
        int n;
        if (rate) {
            if (!connecting) {
                run_send_due(r);
                uint64_t due = slot_time(r, r->next_slot);
                deadline = due < deadline ? due : deadline;
            }
            n = wait_until_ns(r, evs, deadline);
        } else {
            n = epoll_wait(r->epfd, evs, MAX_EVENTS, ms_until(r->now, deadline));
        }
        if (n < 0 && errno != EINTR) {
            int err = errno;
            fprintf(stderr, "http_load: %s: %s%s\n", rate ? "epoll_pwait2" : "epoll_wait",
                    strerror(err), err == ENOSYS ? " (-R needs Linux 5.11 or later)" : "");
            return -1;
        }
        if (n <= 0)
            r->now = now_ns();
        for (int i = 0; i < n; i++)
            conn_on_event(r, evs[i].data.ptr, evs[i].events);
        if (connecting && r->connected < r->opt->conns && r->now >= r->connect_deadline) {
            fprintf(stderr, "http_load: only %ld of %ld connections to %s were up after 10 s\n",
                    r->connected, r->opt->conns, r->target);
            return -1;
        }
    }
    return r->fatal ? -1 : 0;
}

static void run_print(const run *r) {
    uint64_t end = r->now < r->rec_end ? r->now : r->rec_end; /* early if stopped */
    double secs = end > r->rec_start ? (double)(end - r->rec_start) / (double)NS_PER_S : 0;
    const histogram *h = &r->hist;
    double rps = secs > 0 ? (double)r->requests / secs : 0.0;
    char rate[32] = "";
    if (r->opt->rate)
        snprintf(rate, sizeof rate, " rate=%ld", r->opt->rate);
    printf("requests=%" PRIu64 " secs=%.2f rps=%.0f%s p50_us=%" PRIu64 " p90_us=%" PRIu64
           " p99_us=%" PRIu64 " p999_us=%" PRIu64 " max_us=%" PRIu64 " non2xx=%" PRIu64
           " errors=%" PRIu64 "\n",
           r->requests, secs, rps, rate, ns_to_us(hist_percentile(h, 0.50)),
           ns_to_us(hist_percentile(h, 0.90)), ns_to_us(hist_percentile(h, 0.99)),
           ns_to_us(hist_percentile(h, 0.999)), ns_to_us(h->max_ns), r->non2xx, r->errors);
    for (int f = FAIL_NONE + 1; f < FAIL_COUNT; f++)
        if (r->fail_counts[f])
            fprintf(stderr, "http_load: %" PRIu64 " x %s\n", r->fail_counts[f], fail_text[f]);
    if (r->reconnects)
        fprintf(stderr, "http_load: %" PRIu64 " reconnects after Connection: close\n",
                r->reconnects);
    if (r->idle_closes)
        fprintf(stderr, "http_load: %" PRIu64 " reconnects after an idle close\n", r->idle_closes);
    /* The latencies stay valid (they include the queueing), but the server
     * was not offered the load asked for. */
    if (r->opt->rate && rps < 0.95 * (double)r->opt->rate)
        fprintf(stderr,
                "http_load: server (or generator) cannot keep up: achieved %.0f of %ld req/s\n",
                rps, r->opt->rate);
}

static int run_main(const options *o) {
    run *r = calloc(1, sizeof *r);
    if (!r)
        return 1;
    int rc = 1;
    r->opt = o;
    r->epfd = -1;
    r->rec_start = r->rec_end = r->sched_start = UINT64_MAX;
    if (o->rate)
        r->slot_ns = (double)o->depth * (double)NS_PER_S / (double)o->rate;
    if (run_resolve(r) || run_build_batch(r))
        goto out;
    raise_fd_limit(o->conns);
    r->conns = calloc((size_t)o->conns, sizeof *r->conns);
    r->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!r->conns || r->epfd < 0) {
        fprintf(stderr, "http_load: out of memory or epoll_create1 failed\n");
        goto out;
    }
    /* A timed wait ends within the thread's timer slack (50 µs by default)
     * past its deadline; -R wants its sends on time, so ask for 1 ns. */
    if (o->rate)
        (void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    r->now = now_ns();
    r->connect_deadline = r->now + CONNECT_TIMEOUT_NS;
    for (long i = 0; i < o->conns; i++) {
        conn *c = &r->conns[i];
        c->slot = (uint64_t)i;
        if (conn_open(r, c)) {
            fprintf(stderr, "http_load: cannot connect to %s: %s\n", r->target, strerror(errno));
            goto out;
        }
        r->live++;
    }
    if (run_loop(r) == 0) {
        run_print(r);
        rc = r->requests > 0 && r->errors == 0 ? 0 : 1;
    }
out:
    for (long i = 0; r->conns && i < o->conns; i++)
        if (r->conns[i].state != CONN_IDLE)
            conn_close(&r->conns[i]);
    if (r->epfd >= 0)
        close(r->epfd);
    free(r->conns);
    free(r->batch);
    free(r);
    return rc;
}

int main(int argc, char **argv) {
    options o;
    int rc = options_parse(&o, argc, argv);
    return rc ? rc : run_main(&o);
}

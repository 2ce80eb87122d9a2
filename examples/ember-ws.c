/* ember-ws [options] URL: a websocat-like WebSocket client on ember.
 *
 * Each line of stdin goes out as a TEXT message (--binary: stdin's bytes
 * as BINARY messages of up to 64 KiB), and each message received is
 * written to stdout followed by a newline. EOF on stdin sends a close
 * (1000) and waits for the server's. Exit 0 after a clean close, else
 * non-zero with a one-line reason on stderr (see man/ember-ws.1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ember.h"

#define WS_VERSION  "0.1.0"
#define MAX_HEADERS 64
#define MAX_PROTOS  16
#define CHUNK       (64 * 1024)

/* Exit codes (man/ember-ws.1). */
enum {
    EXIT_OK = 0,
    EXIT_USAGE = 1,      /* bad options or URL */
    EXIT_CONNECT = 2,    /* DNS, TCP, proxy or timeout before the handshake */
    EXIT_TLS = 3,        /* TLS handshake or certificate */
    EXIT_REFUSED = 4,    /* the server answered something other than 101 */
    EXIT_PROTOCOL = 5,   /* the server broke RFC 6455 (handshake or frames) */
    EXIT_CLOSED = 6,     /* closed with another code than 1000/1001/1005, or no close */
    EXIT_INPUT = 7,      /* stdin unreadable, or a line that is not UTF-8 */
};

static const char usage[] =
    "Usage: ember-ws [options] URL   (ws://, wss://)\n"
    " -H, --header 'NAME: VALUE'  extra handshake field (repeatable)\n"
    "     --protocol P          offer subprotocol P (repeatable, best first)\n"
    " -b, --binary              send stdin's bytes as binary messages\n"
    "     --compress            offer permessage-deflate\n"
    " -k, --insecure            no certificate verification\n"
    "     --cacert FILE         trust the CA certificates in FILE (PEM)\n"
    "     --max-message BYTES   largest message accepted (default 16 MiB)\n"
    "     --connect-timeout S   limit for DNS, TCP, TLS and the handshake (default 30)\n"
    "     --ping S              ping after S seconds of silence (default off)\n"
    " -q, --quiet               no error message on stderr\n"
    " -h, --help                this text\n"
    " -V, --version             the version\n";

typedef struct cli {
    em_loop loop;
    em_ws *ws;
    em_io in;
    bool in_watch;     /* stdin is pollable (a pipe, a tty, a socket) */
    em_task in_task;   /* stdin is a file: read it from a task instead */
    bool opened;       /* on_open ran: the handshake succeeded */
    bool in_eof, in_paused, closing, done, binary, quiet;
    em_buf line;       /* a text line not yet ended by \n */
    int exit_code;
    unsigned long lineno;
    char why[256];
} cli;

static void fail_msg(cli *c, int code, const char *fmt, const char *a, const char *b) {
    if (c->exit_code)
        return;
    c->exit_code = code;
    snprintf(c->why, sizeof c->why, fmt, a, b);
}

/* ---- stdin ---------------------------------------------------------------- */

static void read_stdin(cli *c);
static void stdin_done(cli *c);

static void pause_stdin(cli *c, bool pause) {
    c->in_paused = pause;
    if (c->in_watch) {
        if (pause)
            em_io_stop(&c->in);
        else if (em_io_start(&c->in, EM_IO_READ) != 0)
            stdin_done(c);
    } else if (!pause && !c->in_eof) {
        em_loop_defer(&c->loop, &c->in_task);
    }
}

static bool send_msg(cli *c, int opcode, em_slice data) {
    int rc = em_ws_send(c->ws, opcode, data, NULL);
    if (rc == EM_WS_FULL) {
        pause_stdin(c, true); /* on_unthrottled resumes */
        return true;
    }
    if (rc == EM_EPARSE) {
        char n[32];
        snprintf(n, sizeof n, "%lu", c->lineno);
        fail_msg(c, EXIT_INPUT, "line %s of stdin is not UTF-8%s", n, "");
        em_ws_close(c->ws, EM_WS_CLOSE_NORMAL, (em_slice){0});
        return false;
    }
    if (rc == EM_ECLOSED) {
        /* A close is under way (the server's, often: RFC 6455 §7.1.2 lets
         * either side start it): the lines left are not sent, and on_close
         * says how it ended. */
        pause_stdin(c, true);
        return false;
    }
    if (rc < 0) {
        fail_msg(c, EXIT_CLOSED, "send failed: %s%s", em_strerror(rc), "");
        return false;
    }
    return true;
}

static void got_bytes(cli *c, const char *p, size_t n) {
    if (c->binary) {
        (void)send_msg(c, EM_WS_OP_BINARY, (em_slice){p, n});
        return;
    }
    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t k = nl ? (size_t)(nl - p) : n;
        if (em_buf_append(&c->line, p, k)) {
            fail_msg(c, EXIT_INPUT, "out of memory%s%s", "", "");
            return;
        }
        p += k, n -= k;
        if (!nl)
            return;
        p++, n--;
        c->lineno++;
        bool ok = send_msg(c, EM_WS_OP_TEXT, em_buf_slice(&c->line));
        em_buf_clear(&c->line);
        if (!ok)
            return;
    }
}

static void stdin_done(cli *c) {
    c->in_eof = true;
    if (c->in_watch)
        em_io_stop(&c->in);
    if (!c->binary && em_buf_len(&c->line)) { /* a last line without \n */
        c->lineno++;
        (void)send_msg(c, EM_WS_OP_TEXT, em_buf_slice(&c->line));
        em_buf_clear(&c->line);
    }
    if (!c->closing) {
        c->closing = true;
        (void)em_ws_close(c->ws, EM_WS_CLOSE_NORMAL, (em_slice){0});
    }
}

static void read_stdin(cli *c) {
    static char buf[CHUNK];
    /* done: on_close ran and freed c->ws; a read queued before it must
     * not send on it. */
    if (c->done || c->in_eof || c->in_paused || c->closing)
        return;
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n < 0) {
        fail_msg(c, EXIT_INPUT, "reading stdin: %s%s", strerror(errno), "");
        stdin_done(c);
        return;
    }
    if (n == 0) {
        stdin_done(c);
        return;
    }
    got_bytes(c, buf, (size_t)n);
    if (!c->in_watch && !c->in_paused && !c->closing)
        em_loop_defer(&c->loop, &c->in_task); /* a file: one chunk per turn */
}

static void on_stdin(em_io *w, unsigned events) {
    (void)events;
    read_stdin(w->data);
}

static void on_stdin_task(em_task *t) {
    read_stdin(t->data);
}

static void start_stdin(cli *c) {
    em_io_init(&c->loop, &c->in, STDIN_FILENO, on_stdin);
    c->in.data = c;
    c->in_task.cb = on_stdin_task;
    c->in_task.data = c;
    int fl = fcntl(STDIN_FILENO, F_GETFL);
    if (fl >= 0 && em_io_start(&c->in, EM_IO_READ) == 0) {
        c->in_watch = true;
        (void)fcntl(STDIN_FILENO, F_SETFL, fl | O_NONBLOCK);
        return;
    }
    em_loop_defer(&c->loop, &c->in_task); /* epoll refuses regular files */
}

/* ---- the connection ----------------------------------------------------------- */

static void on_open(em_ws *ws) {
    cli *c = em_ws_data(ws);
    c->opened = true;
    start_stdin(c);
}

static void on_message(em_ws *ws, int opcode, em_slice data) {
    (void)opcode;
    cli *c = em_ws_data(ws);
    if (fwrite(data.ptr, 1, data.len, stdout) != data.len || fputc('\n', stdout) == EOF ||
        fflush(stdout)) {
        fail_msg(c, EXIT_INPUT, "writing stdout: %s%s", strerror(errno), "");
        em_ws_abort(ws);
    }
}

static void on_unthrottled(em_ws *ws) {
    cli *c = em_ws_data(ws);
    if (!c->in_eof && !c->closing)
        pause_stdin(c, false);
}

static int exit_for(int err, int status) {
    switch (err) {
    case EM_ETLSHANDSHAKE:
    case EM_ECERTVERIFY:
        return EXIT_TLS;
    case EM_EHANDSHAKE:
        return status ? EXIT_REFUSED : EXIT_PROTOCOL;
    case EM_EPROTO:
    case EM_EPARSE:
    case EM_EMSGSIZE:
        return EXIT_PROTOCOL;
    default:
        return EXIT_CONNECT;
    }
}

static void on_close(em_ws *ws, int code, int err, em_slice reason) {
    cli *c = em_ws_data(ws);
    c->done = true;
    if (c->in_watch)
        em_io_stop(&c->in);
    if (c->exit_code)
        return;
    if (!c->opened) { /* a refusal, or a 101 that broke RFC 6455 §4.1 */
        int st = em_ws_http_status(ws);
        const char *e = em_ws_error(ws);
        fail_msg(c, exit_for(err, st), "%s%s", e && *e ? e : em_strerror(err), "");
        return;
    }
    /* A clean close handshake that ends the session normally: done (1000),
     * the server going away (1001), or no code (1005: what node ws and
     * browsers send for a close() without arguments). Other codes say
     * something failed. */
    if (!err && (code == EM_WS_CLOSE_NORMAL || code == EM_WS_CLOSE_GOING_AWAY ||
                 code == EM_WS_CLOSE_NO_STATUS))
        return;
    char codes[160];
    snprintf(codes, sizeof codes, "%d%s%.*s", code, reason.len ? " " : "", (int)reason.len,
             reason.ptr);
    if (err == EM_EPROTO || err == EM_EPARSE || err == EM_EMSGSIZE)
        fail_msg(c, EXIT_PROTOCOL, "closed with %s: %s", codes, em_strerror(err));
    else
        fail_msg(c, EXIT_CLOSED, "closed with %s%s", codes,
                 err ? (err == EM_ETIMEDOUT ? " (timed out)" : " (connection lost)") : "");
}

static const em_ws_cbs cbs = {.on_open = on_open,
                              .on_message = on_message,
                              .on_unthrottled = on_unthrottled,
                              .on_close = on_close};

/* ---- options ---------------------------------------------------------------------- */

typedef struct opts {
    const char *url, *cacert;
    em_http_header hdrs[MAX_HEADERS];
    size_t nhdrs;
    const char *protos[MAX_PROTOS + 1];
    size_t nprotos;
    bool binary, compress, insecure, quiet;
    unsigned long long max_message;
    unsigned connect_timeout_s, ping_s;
} opts;

static int bad_usage(const char *what, const char *arg) {
    fprintf(stderr, "ember-ws: %s%s%s\n%s", what, arg ? ": " : "", arg ? arg : "", usage);
    return EXIT_USAGE;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v > max || *s == '-')
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, opts *o) {
    enum { O_PROTOCOL = 256, O_COMPRESS, O_CACERT, O_MAXMSG, O_CTO, O_PING };
    static const struct option lo[] = {
        {"header", required_argument, 0, 'H'},   {"protocol", required_argument, 0, O_PROTOCOL},
        {"binary", no_argument, 0, 'b'},         {"compress", no_argument, 0, O_COMPRESS},
        {"insecure", no_argument, 0, 'k'},       {"cacert", required_argument, 0, O_CACERT},
        {"max-message", required_argument, 0, O_MAXMSG},
        {"connect-timeout", required_argument, 0, O_CTO},
        {"ping", required_argument, 0, O_PING}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},           {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0}};
    int ch;
    unsigned long long v;
    while ((ch = getopt_long(argc, argv, "H:bkqhV", lo, NULL)) != -1) {
        switch (ch) {
        case 'H': {
            const char *colon = strchr(optarg, ':');
            if (!colon || colon == optarg || o->nhdrs == MAX_HEADERS)
                return bad_usage("bad or too many -H fields", optarg);
            /* The library sets these itself and refuses them (EM_EINVAL),
             * which would read as a bad URL: say which option is wrong. */
            if (em_ws_client_header_reserved(em_slice_make(optarg, (size_t)(colon - optarg))))
                return bad_usage("-H cannot set Host, Upgrade, Connection or Sec-WebSocket-* "
                                 "(use --protocol, --compress)",
                                 optarg);
            const char *val = colon + 1;
            while (*val == ' ' || *val == '\t')
                val++;
            o->hdrs[o->nhdrs++] = (em_http_header){{optarg, (size_t)(colon - optarg)},
                                                   em_slice_from_cstr(val), 0};
            break;
        }
        case O_PROTOCOL:
            if (o->nprotos == MAX_PROTOS)
                return bad_usage("too many --protocol", NULL);
            o->protos[o->nprotos++] = optarg;
            break;
        case 'b': o->binary = true; break;
        case O_COMPRESS: o->compress = true; break;
        case 'k': o->insecure = true; break;
        case O_CACERT: o->cacert = optarg; break;
        case O_MAXMSG:
            if (parse_uint(optarg, 1ull << 40, &v) || !v)
                return bad_usage("bad --max-message", optarg);
            o->max_message = v;
            break;
        case O_CTO:
            if (parse_uint(optarg, 86400, &v) || !v)
                return bad_usage("bad --connect-timeout", optarg);
            o->connect_timeout_s = (unsigned)v;
            break;
        case O_PING:
            if (parse_uint(optarg, 86400, &v) || !v)
                return bad_usage("bad --ping", optarg);
            o->ping_s = (unsigned)v;
            break;
        case 'q': o->quiet = true; break;
        case 'h': fputs(usage, stdout); exit(EXIT_OK);
        case 'V': printf("ember-ws %s\n", WS_VERSION); exit(EXIT_OK);
        default: return bad_usage("unknown option", NULL);
        }
    }
    if (optind != argc - 1)
        return bad_usage(optind >= argc ? "no URL" : "one URL only", NULL);
    o->url = argv[optind];
    return 0;
}

int main(int argc, char **argv) {
    static opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc;
    signal(SIGPIPE, SIG_IGN);
    static cli c;
    c.binary = o.binary;
    c.quiet = o.quiet;
    em_buf_init(&c.line, 0);
    if (em_loop_init(&c.loop)) {
        fprintf(stderr, "ember-ws: cannot make a loop\n");
        return EXIT_CONNECT;
    }
    em_tls_ctx *tls = NULL;
    if (o.cacert || o.insecure) {
        em_tls_ctx_opts to = {.ca_file = o.cacert, .insecure = o.insecure, .alpn = "http/1.1"};
        if (em_tls_ctx_new(&tls, EM_TLS_CLIENT, &to)) {
            if (!o.quiet)
                fprintf(stderr, "ember-ws: cannot use CA file %s\n", o.cacert ? o.cacert : "");
            return EXIT_TLS;
        }
    }
    em_http_client_opts ho = {.tls = tls,
                              .proxy_from_env = true,
                              .connect_timeout_ms = o.connect_timeout_s * 1000u,
                              .user_agent = "ember-ws/" WS_VERSION};
    em_ws_client_opts wo = {.http = &ho,
                            .headers = o.hdrs,
                            .num_headers = o.nhdrs,
                            .protocols = o.nprotos ? o.protos : NULL,
                            .handshake_timeout_ms = o.connect_timeout_s * 1000u};
    wo.ws.max_message = o.max_message;
    wo.ws.ping_interval_ms = o.ping_s * 1000u;
    wo.ws.deflate.enable = o.compress;
    rc = em_ws_connect(&c.loop, o.url, &wo, &cbs, &c, &c.ws);
    if (rc) {
        if (!o.quiet)
            fprintf(stderr, "ember-ws: %s: %s\n", o.url,
                    rc == EM_ENOTSUP ? "not a ws:// or wss:// URL" : em_strerror(rc));
        return EXIT_USAGE;
    }
    while (!c.done && em_loop_run(&c.loop, EM_RUN_ONCE) >= 0)
        ;
    em_loop_run(&c.loop, EM_RUN_DEFAULT); /* close callbacks */
    if (c.exit_code && !o.quiet)
        fprintf(stderr, "ember-ws: %s\n", c.why);
    em_buf_free(&c.line);
    if (em_loop_close(&c.loop) != 0 && !c.exit_code)
        c.exit_code = EXIT_CLOSED; /* a handle left open: a bug, not a clean end */
    em_tls_ctx_free(tls);
    return c.exit_code;
}

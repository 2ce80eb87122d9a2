/* ember-fetch --selftest: an ember server on 127.0.0.1 (a kernel-chosen
 * port) on the same loop as the client, a few pages, and ember-fetch run
 * on them with curl's options, its output and exit codes checked. No
 * network beyond loopback: every URL is an IP literal, and the resolver
 * is pointed at nothing. Included once, by ember-fetch.c. */
#ifndef EMBER_FETCH_SELFTEST_H
#define EMBER_FETCH_SELFTEST_H

#include <sys/socket.h>
#include <unistd.h>

#define ST_BIG (1u << 20)

typedef struct st {
    em_loop loop;
    em_http_server srv;
    em_dns_resolver_opts ro;
    char base[64]; /* http://127.0.0.1:PORT */
    char *big;     /* /big's body */
    bool meter;    /* the next case may show the meter (else --no-progress-meter) */
    char dir[64];  /* a temporary directory for -o files */
    int fails;
} st;

static void st_hello(em_http_ctx *cx) {
    em_http_respond_text(cx, 200, "Hello, World!\n");
}

static void st_big(em_http_ctx *cx) {
    st *t = cx->app;
    em_http_respond(cx, 200, EM_SLICE_LIT("application/octet-stream"),
                    em_slice_make(t->big, ST_BIG));
}

static void st_moved(em_http_ctx *cx, em_slice to) {
    if (em_http_header_add(cx, EM_SLICE_LIT("Location"), to) == 0)
        em_http_respond_text(cx, 302, "moved\n");
    else
        em_http_respond_text(cx, 500, "no Location\n");
}
static void st_go(em_http_ctx *cx) {
    st_moved(cx, EM_SLICE_LIT("/hello"));
}
static void st_loop(em_http_ctx *cx) {
    st_moved(cx, EM_SLICE_LIT("/loop"));
}
static void st_to_ftp(em_http_ctx *cx) {
    st_moved(cx, EM_SLICE_LIT("ftp://127.0.0.1/"));
}
static void st_to_junk(em_http_ctx *cx) {
    st_moved(cx, EM_SLICE_LIT("http://[::1/"));
}

/* The body back with its Content-Type; X-Test comes back as X-Seen. */
static void st_echo(em_http_ctx *cx) {
    em_slice seen = em_http_request_header(cx, "X-Test");
    if (seen.len && em_http_header_add(cx, EM_SLICE_LIT("X-Seen"), seen) != 0)
        seen.len = 0;
    em_http_respond(cx, 200, em_http_request_header(cx, "Content-Type"), cx->body);
}

static void st_auth(em_http_ctx *cx) {
    em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"),
                    em_http_request_header(cx, "Authorization"));
}

#define ST_GZ_TEXT "ember gzip ember gzip ember gzip\n"
/* A gzip body with Content-Encoding, and a cookie, for --compressed, -b, -c. */
static void st_gz(em_http_ctx *cx) {
    em_buf z;
    em_buf_init(&z, 0);
    if (em_http_compress(EM_HTTP_CODING_GZIP, 6, EM_SLICE_LIT(ST_GZ_TEXT), &z) != 0 ||
        em_http_header_add(cx, EM_SLICE_LIT("Content-Encoding"), EM_SLICE_LIT("gzip")) != 0 ||
        em_http_header_add(cx, EM_SLICE_LIT("Set-Cookie"), EM_SLICE_LIT("sid=7; Path=/")) != 0)
        em_http_respond_text(cx, 500, "no gzip\n");
    else
        em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), em_buf_slice(&z));
    em_buf_free(&z);
}

/* A coding ember cannot decode (its bytes are no real brotli). */
static void st_br(em_http_ctx *cx) {
    if (em_http_header_add(cx, EM_SLICE_LIT("Content-Encoding"), EM_SLICE_LIT("br")) != 0)
        em_http_respond_text(cx, 500, "no br\n");
    else
        em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), EM_SLICE_LIT("\x0b\x02\x80" "br\x03"));
}

/* A status no ember server sends (RFC 9110 §15: a client takes one outside
 * 100..599 as a 5xx). */
static void st_odd(em_http_ctx *cx) {
    em_http_respond_text(cx, 999, "odd\n");
}

/* A peer no ember server would be: it answers "GET /NNN" with the status
 * NNN as written ("050", which ember's server refuses to send), then
 * closes. */
typedef struct st_raw {
    em_tcp_conn c;
    bool answered;
} st_raw;

static void st_raw_closed(em_tcp_conn *c) {
    free(EM_CONTAINER_OF(c, st_raw, c));
}

static void st_raw_read(em_tcp_conn *c, ssize_t n) {
    st_raw *r = EM_CONTAINER_OF(c, st_raw, c);
    em_slice in = em_buf_slice(&c->in);
    if (n < 0 || (!r->answered && in.len > 9 && strncmp(in.ptr, "GET /", 5))) {
        em_tcp_conn_close(c, st_raw_closed);
        return;
    }
    if (r->answered || em_slice_find(in, EM_SLICE_LIT("\r\n\r\n")) < 0)
        return;
    r->answered = true;
    char a[128];
    int len = snprintf(a, sizeof a,
                       "HTTP/1.1 %.3s Odd\r\nContent-Length: 4\r\nConnection: close\r\n\r\nodd\n",
                       in.ptr + 5);
    em_slice s = em_slice_make(a, (size_t)len);
    if (em_tcp_conn_write(c, &s, 1, EM_TCP_WRITE_COPY, NULL) != 0)
        em_tcp_conn_close(c, st_raw_closed);
    else
        em_tcp_conn_end(c, st_raw_closed);
}

static const em_tcp_conn_cbs st_raw_cbs = {.on_read = st_raw_read};

static void st_raw_accept(em_tcp_server *srv, int fd, const em_sockaddr *peer) {
    (void)peer;
    st_raw *r = calloc(1, sizeof *r);
    if (!r || em_tcp_conn_init(srv->data, &r->c, fd, &st_raw_cbs, NULL) != 0) {
        close(fd);
        free(r);
        return;
    }
    if (em_tcp_conn_read_start(&r->c) != 0)
        em_tcp_conn_close(&r->c, st_raw_closed);
}

/* The Host field back. */
static void st_host(em_http_ctx *cx) {
    em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), em_http_request_header(cx, "Host"));
}

/* The Cookie field back. */
static void st_whoami(em_http_ctx *cx) {
    em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), em_http_request_header(cx, "Cookie"));
}

/* Never answers; ends when the client gives up. */
static void st_gone(em_http_ctx *cx, int err) {
    (void)cx;
    (void)err;
}
static void st_hang(em_http_ctx *cx) {
    static const em_http_stream_cbs cbs = {.on_abort = st_gone};
    em_http_defer(cx, &cbs);
}

/* How many times start occurs in s. */
static int lines(const char *s, const char *start) {
    int n = 0;
    for (const char *p = strstr(s, start); p; p = strstr(p + 1, start))
        n++;
    return n;
}

static bool starts(const char *s, const char *p) {
    return !strncmp(s, p, strlen(p));
}
static bool ends(const char *s, const char *p) {
    size_t a = strlen(s), b = strlen(p);
    return a >= b && !strcmp(s + a - b, p);
}

/* Run ember-fetch with args (NULL-terminated; a leading "%/" stands for the
 * server's base URL) and check its exit code; *out and *err get what it
 * printed (free them). */
static int st_fetch(st *t, const char *const *args, char **out, char **err) {
    char *argv[32] = {"ember-fetch"};
    int argc = 1;
    if (!t->meter)
        argv[argc++] = strdup("--no-progress-meter");
    for (; *args && argc < 31; args++, argc++) {
        bool url = starts(*args, "%/");
        size_t n = strlen(t->base) + strlen(*args) + 1;
        if ((argv[argc] = malloc(n)))
            snprintf(argv[argc], n, "%s%s", url ? t->base : "", *args + url);
    }
    size_t ol, el;
    FILE *o = open_memstream(out, &ol), *e = open_memstream(err, &el);
    fopts opts = {0};
    int rc = o && e ? parse_args(&opts, argc, argv, o, e) : FX_NOMEM;
    if (rc == FX_OK)
        rc = fetch_run(&opts, &t->loop, &t->ro, o, e);
    fopts_free(&opts);
    if (o)
        fclose(o);
    if (e)
        fclose(e);
    for (int i = 1; i < argc; i++)
        free(argv[i]);
    return rc;
}

/* One case: run, then check the exit code and what ok() says. */
typedef bool (*ok_fn)(const st *t, const char *out, const char *err);
#define ST_CASE(t, want, ok, ...)                                                                  \
    st_case(t, want, (const char *const[]){__VA_ARGS__, NULL}, #ok, ok)

static void st_case(st *t, int want, const char *const *args, const char *what, ok_fn ok) {
    char *out = NULL, *err = NULL;
    int rc = st_fetch(t, args, &out, &err);
    if (rc != want || !out || !err || !ok(t, out, err)) {
        fprintf(stderr, "ember-fetch: selftest: %s", args[0]);
        for (const char *const *a = args + 1; *a; a++)
            fprintf(stderr, " %s", *a);
        fprintf(stderr, ": exit %d (want %d), check %s\n--- stdout\n%.300s\n--- stderr\n%s\n", rc,
                want, what, out ? out : "", err ? err : "");
        t->fails++;
    }
    free(out);
    free(err);
}

static bool hello(const st *t, const char *out, const char *err) {
    return !strcmp(out, "Hello, World!\n") && !*err;
}
static bool include(const st *t, const char *out, const char *err) {
    return starts(out, "HTTP/1.1 200 OK\r\n") && strstr(out, "\r\nContent-Length: 14\r\n") &&
           ends(out, "\r\n\r\nHello, World!\n");
}
static bool head(const st *t, const char *out, const char *err) {
    return starts(out, "HTTP/1.1 200 OK\r\n") && ends(out, "\r\nContent-Length: 14\r\n\r\n");
}
static bool fail404(const st *t, const char *out, const char *err) {
    return !*out && !strcmp(err, "ember-fetch: (22) The requested URL returned error: 404\n");
}
static bool silent(const st *t, const char *out, const char *err) {
    return !*out && !*err;
}
static bool code404(const st *t, const char *out, const char *err) {
    return ends(out, "404") && !*err;
}
static bool moved(const st *t, const char *out, const char *err) {
    return !strcmp(out, "moved\n302");
}
static bool followed(const st *t, const char *out, const char *err) {
    char want[128];
    snprintf(want, sizeof want, "Hello, World!\n\n200 %s/hello GET", t->base);
    return !strcmp(out, want);
}
/* %{url_effective} keeps the URL's user:password through a redirect to a
 * path, as curl's does */
static bool followed_userinfo(const st *t, const char *out, const char *err) {
    char want[128];
    snprintf(want, sizeof want, "http://u:p@%s/hello", t->base + 7);
    return !strcmp(out, want) && !*err;
}
/* -L with -I or -i: every head, as curl shows them; a redirect's body never */
static bool heads_followed(const st *t, const char *out, const char *err) {
    return starts(out, "HTTP/1.1 302 ") && strstr(out, "\r\nLocation: /hello\r\n") &&
           strstr(out, "\r\n\r\nHTTP/1.1 200 OK\r\n") &&
           ends(out, "\r\nContent-Length: 14\r\n\r\n");
}
static bool included_followed(const st *t, const char *out, const char *err) {
    return starts(out, "HTTP/1.1 302 ") && !strstr(out, "moved") &&
           strstr(out, "\r\n\r\nHTTP/1.1 200 OK\r\n") && ends(out, "\r\n\r\nHello, World!\n");
}
static bool head_then_47(const st *t, const char *out, const char *err) {
    return starts(out, "HTTP/1.1 302 ") && !strstr(out, "200 OK");
}
static bool posted_then_get(const st *t, const char *out, const char *err) {
    return !strcmp(out, "Hello, World!\nGET");
}
static bool too_many_code(const st *t, const char *out, const char *err) {
    return !strcmp(out, "302");
}
static bool too_many(const st *t, const char *out, const char *err) {
    return strstr(err, "ember-fetch: (47) Maximum (3) redirects followed\n") != NULL;
}
static bool posted(const st *t, const char *out, const char *err) {
    return strstr(out, "\r\nX-Seen: yes\r\n") &&
           strstr(out, "\r\nContent-Type: application/x-www-form-urlencoded\r\n") &&
           ends(out, "\r\n\r\na=1&b=2");
}
static bool put(const st *t, const char *out, const char *err) {
    return !strcmp(out, "raw body");
}
static bool basic(const st *t, const char *out, const char *err) {
    return !strcmp(out, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="); /* RFC 7617's example */
}
static bool bearer(const st *t, const char *out, const char *err) {
    return !strcmp(out, "Bearer t0ken");
}
static bool big(const st *t, const char *out, const char *err) {
    return !memcmp(out, t->big, ST_BIG) && !strcmp(out + ST_BIG, "\n1048576 200");
}
static bool timed_out(const st *t, const char *out, const char *err) {
    return starts(err, "ember-fetch: (28) Operation timed out after ") &&
           strstr(err, "total timeout");
}
static bool refused(const st *t, const char *out, const char *err) {
    return !strcmp(out, "000") &&
           starts(err, "ember-fetch: (7) Failed to connect to 127.0.0.1 port ") &&
           strstr(err, "connection refused");
}
static bool any(const st *t, const char *out, const char *err) {
    return *err != 0; /* a message, whatever it says */
}
static bool decoded(const st *t, const char *out, const char *err) {
    return !strcmp(out, ST_GZ_TEXT);
}
static bool coded(const st *t, const char *out, const char *err) {
    return (unsigned char)out[0] == 0x1f; /* the gzip magic, as it came */
}
static bool raw_br(const st *t, const char *out, const char *err) {
    return !strcmp(out, "\x0b\x02\x80" "br\x03") && !*err;
}
static bool bad_coding(const st *t, const char *out, const char *err) {
    return !*out && starts(err, "ember-fetch: (61) Unrecognized content encoding type: br") &&
           lines(err, "\n") == 1;
}
static bool odd_body(const st *t, const char *out, const char *err) {
    return !strcmp(out, "odd\n") && !*err;
}
static bool odd_failed(const st *t, const char *out, const char *err) {
    return !*out && (!strcmp(err, "ember-fetch: (22) The requested URL returned error: 050\n") ||
                     !strcmp(err, "ember-fetch: (22) The requested URL returned error: 999\n"));
}
static bool odd_failed_body(const st *t, const char *out, const char *err) {
    return !strcmp(out, "odd\n") && strstr(err, "(22) The requested URL returned error: ");
}
static bool quiet(const st *t, const char *out, const char *err) {
    return !*out && !*err;
}
static bool own_host(const st *t, const char *out, const char *err) {
    return !strcmp(out, "vhost.test:8080");
}
static bool cookie_sid(const st *t, const char *out, const char *err) {
    return !strcmp(out, "sid=7");
}
static bool cookie_data(const st *t, const char *out, const char *err) {
    return !strcmp(out, "a=1; b=2");
}
static bool cookie_merged(const st *t, const char *out, const char *err) {
    return !strcmp(out, "own=1; sid=7"); /* one field: -H's, then the jar's */
}
static bool cookie_data_merged(const st *t, const char *out, const char *err) {
    return !strcmp(out, "own=1; a=1; b=2"); /* one field: -H's, then -b's */
}

static bool one_redirect(const st *t, const char *out, const char *err) {
    return !strcmp(out, "Hello, World!\n1 1 200\n") && !*err;
}
static bool two(const st *t, const char *out, const char *err) {
    return !strcmp(out, "Hello, World!\n1 200\nHello, World!\n0 200\n") && !*err;
}
static bool paired(const st *t, const char *out, const char *err) {
    char a[96], b[96], *x = NULL, *y = NULL;
    size_t n;
    snprintf(a, sizeof a, "%s/a", t->dir);
    snprintf(b, sizeof b, "%s/b", t->dir);
    bool ok = (x = slurp(a, &n)) && !strcmp(x, "Hello, World!\n") && (y = slurp(b, &n)) &&
              n == ST_BIG && !memcmp(y, t->big, n) && !strcmp(out, "Hello, World!\n");
    free(x);
    free(y);
    unlink(a);
    unlink(b);
    return ok;
}
static bool parallel(const st *t, const char *out, const char *err) {
    return !strcmp(out, "Hello, World!\n200 000 ") && strstr(err, "(28) Operation timed out");
}
static bool serial(const st *t, const char *out, const char *err) {
    return !strcmp(out, "000 Hello, World!\n200 ") && strstr(err, "(28) Operation timed out");
}
static bool no_proxy_name(const st *t, const char *out, const char *err) {
    return starts(err, "ember-fetch: (5) Could not resolve proxy");
}
static bool no_name(const st *t, const char *out, const char *err) {
    return starts(err, "ember-fetch: (6) Could not resolve host: nosuch.invalid");
}
static bool meter(const st *t, const char *out, const char *err) {
    return !*out && starts(err, "  % Total    % Received % Xferd  Average Speed") &&
           strstr(err, "\r100    14  100    14    0     0 ") && ends(err, "\n");
}
static bool bar(const st *t, const char *out, const char *err) {
    return !*out && starts(err, "\r####") && ends(err, "###### 100.0%\n");
}

static bool verbose(const st *t, const char *out, const char *err) {
    return !strcmp(out, "Hello, World!\n") && strstr(err, "\n> GET /hello HTTP/1.1\n") &&
           strstr(err, "\n> Accept: */*\n") && strstr(err, "\n< HTTP/1.1 200 OK\n");
}

/* -v: credentials given with -u, -H and -b show as <hidden> (their scheme
 * word kept), one line per field as the client sends them */
static bool verbose_hidden(const st *t, const char *out, const char *err) {
    return !strcmp(out, "Hello, World!\n") && !strstr(err, "zzz") && !strstr(err, "xyz") &&
           !strstr(err, "c=1") && !strstr(err, "d=2") &&
           strstr(err, "\n> Authorization: Bearer <hidden>\n") &&
           lines(err, "\n> Authorization:") == 1 &&
           strstr(err, "\n> Proxy-Authorization: Basic <hidden>\n") &&
           strstr(err, "\n> Cookie: <hidden>\n") && lines(err, "\n> Cookie:") == 1;
}
static bool verbose_token(const st *t, const char *out, const char *err) {
    return strstr(err, "\n> Authorization: <hidden>\n") && !strstr(err, "sekrit");
}

static void st_closed(em_http_server *srv) {
    *(bool *)srv->data = true;
}

static int selftest(void) {
    st t = {.ro = {.hosts_file = "", .resolv_conf = "/dev/null", .servers = "127.0.0.1:9"}};
    em_http_router r;
    em_http_router_init(&r);
    int rc = em_http_route(&r, EM_HTTP_GET, "/hello", st_hello);
    rc = rc ? rc : em_http_route(&r, EM_HTTP_GET, "/big", st_big);
    rc = rc ? rc : em_http_route(&r, EM_HTTP_GET, "/go", st_go);
    rc = rc ? rc : em_http_route(&r, EM_HTTP_POST, "/go", st_go);
    rc = rc ? rc : em_http_route(&r, EM_HTTP_GET, "/loop", st_loop);
    rc = rc ? rc : em_http_route(&r, EM_HTTP_GET, "/to-ftp", st_to_ftp);
    rc = rc ? rc : em_http_route(&r, EM_HTTP_GET, "/to-junk", st_to_junk);
    rc = rc ? rc : em_http_route(&r, EM_HTTP_POST, "/echo", st_echo);
    rc = rc ? rc : em_http_route(&r, EM_HTTP_PUT, "/echo", st_echo);
    rc = rc ? rc : em_http_route(&r, EM_HTTP_GET, "/auth", st_auth);
    rc = rc ? rc : em_http_route(&r, EM_HTTP_GET, "/hang", st_hang);
    rc = rc ? rc : em_http_route(&r, EM_HTTP_GET, "/gz", st_gz);
    rc = rc ? rc : em_http_route(&r, EM_HTTP_GET, "/br", st_br);
    rc = rc ? rc : em_http_route(&r, EM_HTTP_GET, "/999", st_odd);
    rc = rc ? rc : em_http_route(&r, EM_HTTP_GET, "/whoami", st_whoami);
    rc = rc ? rc : em_http_route(&r, EM_HTTP_GET, "/host", st_host);
    t.big = malloc(ST_BIG);
    for (size_t i = 0; t.big && i < ST_BIG; i++)
        t.big[i] = (char)('a' + i % 26 + (i % 4099 == 0)); /* not a multiple of any buffer */
    em_http_server_opts so = {.router = &r, .app = &t, .shutdown_timeout_ms = 2000};
    em_sockaddr addr = em_sockaddr_loopback4(0);
    rc = rc || !t.big ? (rc ? rc : EM_ENOMEM) : em_loop_init(&t.loop);
    rc = rc ? rc : em_http_server_start(&t.loop, &t.srv, &addr, &so);
    rc = rc ? rc : em_http_server_addr(&t.srv, &addr);
    /* a port bound but not listening: connecting is refused */
    int closed_port = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    em_sockaddr refused_at = em_sockaddr_loopback4(0);
    if (!rc && (closed_port < 0 ||
                bind(closed_port, &refused_at.u.sa, em_sockaddr_len(&refused_at)) != 0 ||
                em_sock_local_addr(closed_port, &refused_at) != 0))
        rc = EM_EIO;
    em_tcp_server raw = {.data = &t.loop};
    em_sockaddr raw_at = em_sockaddr_loopback4(0);
    rc = rc ? rc : em_tcp_server_start(&t.loop, &raw, &raw_at, NULL, st_raw_accept);
    rc = rc ? rc : em_tcp_listener_addr(&raw.listener, &raw_at);
    if (rc) {
        fprintf(stderr, "ember-fetch: selftest: cannot start: %s\n", em_strerror(rc));
        return 1;
    }
    snprintf(t.base, sizeof t.base, "http://127.0.0.1:%u", (unsigned)em_sockaddr_port(&addr));
    snprintf(t.dir, sizeof t.dir, "/tmp/ember-fetch-st-XXXXXX");
    if (!mkdtemp(t.dir)) {
        fprintf(stderr, "ember-fetch: selftest: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    char nowhere[64];
    snprintf(nowhere, sizeof nowhere, "http://127.0.0.1:%u/",
             (unsigned)em_sockaddr_port(&refused_at));

    ST_CASE(&t, 0, hello, "%/hello");
    ST_CASE(&t, 0, include, "-i", "%/hello");
    ST_CASE(&t, 0, head, "-I", "%/hello");
    ST_CASE(&t, 22, fail404, "-f", "%/missing");
    ST_CASE(&t, 22, silent, "-sf", "%/missing");
    ST_CASE(&t, 0, code404, "-s", "-w", "%{http_code}", "%/missing");
    /* a status outside 100..599 is a failure for -f, an answer without */
    char s050[64];
    snprintf(s050, sizeof s050, "http://127.0.0.1:%u/050", (unsigned)em_sockaddr_port(&raw_at));
    ST_CASE(&t, 0, odd_body, s050);
    ST_CASE(&t, 22, odd_failed, "-f", s050);
    ST_CASE(&t, 22, odd_failed_body, "--fail-with-body", s050);
    ST_CASE(&t, 0, odd_body, "%/999");
    ST_CASE(&t, 22, odd_failed, "-f", "%/999");
    ST_CASE(&t, 0, moved, "-w", "%{http_code}", "%/go");
    ST_CASE(&t, 0, followed, "-sL", "-w", "\\n%{http_code} %{url_effective} %{method}", "%/go");
    char ui[96]; /* the base without "http://", with user:password */
    snprintf(ui, sizeof ui, "http://u:p@%.*s/go", (int)sizeof t.base - 8, t.base + 7);
    ST_CASE(&t, 0, followed_userinfo, "-sL", "-o", "/dev/null", "-w", "%{url_effective}", ui);
    ST_CASE(&t, 47, too_many, "-L", "--max-redirs", "3", "%/loop");
    ST_CASE(&t, 0, heads_followed, "-sIL", "%/go");
    ST_CASE(&t, 0, included_followed, "-siL", "%/go");
    ST_CASE(&t, 47, head_then_47, "-sIL", "--max-redirs", "0", "%/go");
    ST_CASE(&t, 47, too_many_code, "-sL", "--max-redirs", "3", "-w", "%{http_code}", "%/loop");
    ST_CASE(&t, 0, posted_then_get, "-sL", "-d", "a=1", "-w", "%{method}", "%/go");
    ST_CASE(&t, 0, posted, "-i", "-d", "a=1", "--data", "b=2", "-HX-Test: yes", "%/echo");
    ST_CASE(&t, 0, put, "-X", "PUT", "--data-binary", "raw body", "%/echo");
    ST_CASE(&t, 0, basic, "-u", "Aladdin:open sesame", "%/auth");
    ST_CASE(&t, 0, bearer, "--oauth2-bearer", "t0ken", "%/auth");
    ST_CASE(&t, 0, big, "-w", "\\n%{size_download} %{http_code}", "%/big");
    ST_CASE(&t, 28, timed_out, "--max-time", "0.3", "%/hang");
    ST_CASE(&t, 7, refused, "-sS", "-w", "%{http_code}", nowhere);
    ST_CASE(&t, 0, verbose, "-v", "%/hello");
    ST_CASE(&t, 0, verbose_hidden, "-v", "-u", "a:b", "-H", "Authorization: Bearer zzz", "-H",
            "Proxy-Authorization: Basic xyz", "-H", "Cookie: c=1", "-b", "d=2", "%/hello");
    ST_CASE(&t, 0, verbose_token, "-v", "-H", "Authorization: sekrit", "%/hello");
    ST_CASE(&t, 0, decoded, "--compressed", "%/gz");
    ST_CASE(&t, 0, coded, "%/gz");
    /* a coding it cannot decode: as it came, or with --compressed exit 61 */
    ST_CASE(&t, 0, raw_br, "%/br");
    ST_CASE(&t, 61, bad_coding, "--compressed", "%/br");
    char jar[] = "/tmp/ember-fetch-jar-XXXXXX";
    int jfd = mkstemp(jar);
    if (jfd >= 0)
        close(jfd);
    ST_CASE(&t, 0, quiet, "-s", "-o", "/dev/null", "-c", jar, "%/gz");
    ST_CASE(&t, 0, cookie_sid, "-b", jar, "%/whoami");
    ST_CASE(&t, 0, cookie_data, "-b", "a=1; b=2", "%/whoami");
    ST_CASE(&t, 0, cookie_merged, "-b", jar, "-H", "Cookie: own=1", "%/whoami");
    ST_CASE(&t, 0, cookie_data_merged, "-b", "a=1; b=2", "-H", "Cookie: own=1", "%/whoami");
    unlink(jar);
    /* a proxy that is not http://: curl's 7 for one it cannot use, never direct */
    ST_CASE(&t, 7, any, "-x", "https://127.0.0.1:1", "%/hello");
    ST_CASE(&t, 7, any, "-x", "socks5://127.0.0.1:1", "%/hello");
    ST_CASE(&t, 1, any, "ftp://127.0.0.1/");
    ST_CASE(&t, 3, any, "http://127.0.0.1:99999/");
    /* a redirect as curl takes it: another scheme is 1, no URL at all 3 */
    ST_CASE(&t, 1, any, "-L", "%/to-ftp");
    ST_CASE(&t, 3, any, "-L", "%/to-junk");
    ST_CASE(&t, 2, any, "--no-such-option", "%/hello");
    ST_CASE(&t, 0, own_host, "-H", "Host: vhost.test:8080", "%/host");
    ST_CASE(&t, 2, any, "-H", "Host: a b", "%/hello");
    ST_CASE(&t, 2, any, "-H", "Content-Length: 5", "%/hello");
    ST_CASE(&t, 49, any, "--resolve", "fetch.test:80", "%/hello");

    /* several URLs on one client: the second reuses the connection */
    ST_CASE(&t, 0, two, "-w", "%{num_connects} %{http_code}\n", "%/hello", "%/hello");
    /* /go moves to /hello on the same connection */
    ST_CASE(&t, 0, one_redirect, "-L", "-w", "%{num_redirects} %{num_connects} %{http_code}\n",
            "%/go");
    char a[96], b[96], rs[96], rurl[96];
    snprintf(a, sizeof a, "%s/a", t.dir);
    snprintf(b, sizeof b, "%s/b", t.dir);
    ST_CASE(&t, 0, paired, "-o", a, "%/hello", "-o", b, "%/big", "%/hello");
    /* -Z: the quick one ends first; the exit code is the failure's */
    ST_CASE(&t, 28, parallel, "-Z", "-m", "1", "-w", "%{http_code} ", "%/hang", "%/hello");
    ST_CASE(&t, 28, serial, "-Z", "--parallel-max", "1", "-m", "1", "-w", "%{http_code} ", "%/hang",
            "%/hello");
    /* without -Z: the last transfer's */
    ST_CASE(&t, 0, serial, "-m", "1", "-w", "%{http_code} ", "%/hang", "%/hello");
    /* --resolve: the name reaches this server; Host stays the name */
    unsigned port = (unsigned)em_sockaddr_port(&addr);
    snprintf(rs, sizeof rs, "fetch.test:%u:127.0.0.1", port);
    snprintf(rurl, sizeof rurl, "http://fetch.test:%u/hello", port);
    ST_CASE(&t, 0, hello, "--resolve", rs, rurl);
    ST_CASE(&t, 6, no_name, "http://nosuch.invalid/");
    ST_CASE(&t, 5, no_proxy_name, "-x", "http://nosuch.invalid:8080", "%/hello");
    t.meter = true;
    ST_CASE(&t, 0, silent, "-o", "/dev/null", "%/hello"); /* stderr is no terminal */
    setenv("EMBER_FETCH_METER_ANYWAY", "1", 1);
    ST_CASE(&t, 0, meter, "-o", "/dev/null", "%/hello");
    ST_CASE(&t, 0, bar, "-#", "-o", "/dev/null", "%/hello");
    ST_CASE(&t, 0, silent, "-s", "-o", "/dev/null", "%/hello");
    unsetenv("EMBER_FETCH_METER_ANYWAY");
    t.meter = false;
    rmdir(t.dir);

    close(closed_port);
    em_tcp_server_close(&raw);
    bool done = false;
    t.srv.data = &done;
    em_http_server_shutdown(&t.srv, st_closed);
    while (!done)
        em_loop_run(&t.loop, EM_RUN_ONCE);
    em_loop_run(&t.loop, EM_RUN_DEFAULT);
    if (em_loop_close(&t.loop) != 0) {
        fprintf(stderr, "ember-fetch: selftest: the loop did not close\n");
        t.fails++;
    }
    em_http_router_free(&r);
    free(t.big);
    return t.fails ? 1 : 0;
}

#endif

/* The client's blocking face (http/client_blocking.c) against ember's own
 * server, plain and over TLS, on a thread of its own: GET, POST, headers,
 * redirects, HTTPS verification, and many threads at once. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certs.h"
#include "em_test.h"
#include "ember/http.h"

typedef struct server_thread {
    pthread_t th;
    em_loop loop;
    em_http_server plain, tls;
    em_tcp_server proxy;
    uint16_t proxy_port;
    em_tls_ctx *ctx;
    uint16_t port, tls_port;
    em_task stop;
    int closed;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool ready;
} server_thread;

static tc_pem ca, leaf;

/* A CONNECT proxy on the server thread's loop: reads "CONNECT host:port",
 * connects to 127.0.0.1:port, answers 200 and copies bytes both ways. */
typedef struct pside {
    em_tcp_conn c;
    struct pside *other;
    bool tunnel;
} pside;
static atomic_int connects_seen;
static char connect_line[128];

static void pside_closed(em_tcp_conn *c) {
    free(EM_CONTAINER_OF(c, pside, c));
}

static void pside_end(pside *p) {
    if (p->other) {
        p->other->other = NULL;
        em_tcp_conn_end(&p->other->c, pside_closed);
    }
    em_tcp_conn_close(&p->c, pside_closed);
}

static void upstream_connected(em_tcp_conn *c, int err);

static void pside_read(em_tcp_conn *c, ssize_t n) {
    pside *p = EM_CONTAINER_OF(c, pside, c);
    if (n < 0) {
        pside_end(p);
        return;
    }
    if (p->tunnel) {
        if (!p->other)
            return;
        em_slice s = em_buf_slice(&c->in);
        if (em_tcp_conn_write(&p->other->c, &s, 1, EM_TCP_WRITE_COPY, NULL) != 0)
            pside_end(p);
        else
            em_buf_consume(&c->in, s.len);
        return;
    }
    em_slice in = em_buf_slice(&c->in);
    ssize_t end = em_slice_find(in, EM_SLICE_LIT("\r\n\r\n"));
    if (end < 0)
        return;
    ssize_t eol = em_slice_find(in, EM_SLICE_LIT("\r\n"));
    snprintf(connect_line, sizeof connect_line, "%.*s", (int)eol, in.ptr);
    const char *colon = memrchr(in.ptr, ':', (size_t)eol);
    unsigned port = colon ? (unsigned)atoi(colon + 1) : 0;
    em_buf_consume(&c->in, (size_t)end + 4);
    atomic_fetch_add(&connects_seen, 1);
    em_tcp_conn_read_stop(c);
    pside *up = calloc(1, sizeof *up);
    up->other = p;
    p->other = up;
    em_sockaddr a = em_sockaddr_loopback4((uint16_t)port);
    static const em_tcp_conn_cbs cbs = {.on_read = pside_read};
    assert_int_equal(em_tcp_conn_connect(em_tcp_conn_loop(c), &up->c, &a, &cbs, NULL,
                                         upstream_connected), 0);
}

static const em_tcp_conn_cbs pside_cbs = {.on_read = pside_read};

static void upstream_connected(em_tcp_conn *c, int err) {
    pside *up = EM_CONTAINER_OF(c, pside, c);
    pside *down = up->other;
    assert_int_equal(err, 0);
    up->tunnel = down->tunnel = true;
    em_slice ok = EM_SLICE_LIT("HTTP/1.1 200 Connection established\r\n\r\n");
    assert_int_equal(em_tcp_conn_write(&down->c, &ok, 1, EM_TCP_WRITE_COPY, NULL), 0);
    assert_int_equal(em_tcp_conn_read_start(&up->c), 0);
    assert_int_equal(em_tcp_conn_read_start(&down->c), 0);
}

static void proxy_accept(em_tcp_server *srv, int fd, const em_sockaddr *peer) {
    (void)peer;
    pside *p = calloc(1, sizeof *p);
    assert_int_equal(em_tcp_conn_init(srv->data, &p->c, fd, &pside_cbs, NULL), 0);
    assert_int_equal(em_tcp_conn_read_start(&p->c), 0);
}

static void handler(em_http_ctx *cx, const em_http_handler *h) {
    server_thread *st = h->data;
    if (em_slice_eq(cx->path, EM_SLICE_LIT("/redirect"))) {
        assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("Location"), EM_SLICE_LIT("/echo?from=r")), 0);
        (void)em_http_respond_text(cx, 302, "moved");
        return;
    }
    if (em_slice_eq(cx->path, EM_SLICE_LIT("/to-http"))) {
        char loc[64];
        snprintf(loc, sizeof loc, "http://127.0.0.1:%u/echo", (unsigned)st->port);
        assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("Location"), em_slice_from_cstr(loc)), 0);
        (void)em_http_respond_text(cx, 302, "moved");
        return;
    }
    if (em_slice_eq(cx->path, EM_SLICE_LIT("/gz")) || em_slice_eq(cx->path, EM_SLICE_LIT("/bomb")) ||
        em_slice_eq(cx->path, EM_SLICE_LIT("/corrupt"))) {
        bool bomb = em_slice_eq(cx->path, EM_SLICE_LIT("/bomb"));
        size_t n = bomb ? 64u << 20 : 100000;
        char *plain = calloc(1, n);
        for (size_t i = 0; !bomb && i < n; i++)
            plain[i] = "ember gzip "[i % 11];
        em_buf z;
        em_buf_init(&z, 0);
        assert_int_equal(em_http_compress(EM_HTTP_CODING_GZIP, 6, (em_slice){plain, n}, &z), 0);
        free(plain);
        em_slice body = em_buf_slice(&z);
        if (em_slice_eq(cx->path, EM_SLICE_LIT("/corrupt")))
            ((char *)body.ptr)[2] = 7; /* no such compression method */
        assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("Content-Encoding"), EM_SLICE_LIT("gzip")), 0);
        (void)em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), body);
        em_buf_free(&z);
        return;
    }
    if (em_slice_eq(cx->path, EM_SLICE_LIT("/login"))) {
        assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("Set-Cookie"), EM_SLICE_LIT("sid=abc; Path=/; HttpOnly")), 0);
        assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("Location"), EM_SLICE_LIT("/whoami")), 0);
        (void)em_http_respond_text(cx, 303, "see other");
        return;
    }
    if (em_slice_eq(cx->path, EM_SLICE_LIT("/whoami"))) {
        em_slice ck = em_http_request_header(cx, "cookie");
        em_slice ae = em_http_request_header(cx, "accept-encoding");
        char out[256];
        int n = snprintf(out, sizeof out, "cookie=%.*s ae=%.*s", (int)ck.len, ck.ptr, (int)ae.len, ae.ptr);
        (void)em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), (em_slice){out, (size_t)n});
        return;
    }
    if (em_slice_eq(cx->path, EM_SLICE_LIT("/big"))) {
        static char big[1 << 20];
        memset(big, 'b', sizeof big);
        (void)em_http_respond(cx, 200, EM_SLICE_LIT("application/octet-stream"),
                              (em_slice){big, sizeof big});
        return;
    }
    char out[4096];
    em_slice ua = em_http_request_header(cx, "user-agent");
    int n = snprintf(out, sizeof out, "%.*s %.*s%s%.*s ua=%.*s body=%.*s",
                     (int)cx->req.method.len, cx->req.method.ptr, (int)cx->path.len,
                     cx->path.ptr, cx->query.len ? "?" : "", (int)cx->query.len, cx->query.ptr,
                     (int)ua.len, ua.ptr, (int)cx->body.len, cx->body.ptr);
    if (n >= (int)sizeof out)
        n = (int)sizeof out - 1; /* a big body: its start is enough */
    (void)em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), (em_slice){out, (size_t)n});
}

static void on_server_closed(em_http_server *srv) {
    server_thread *st = srv->data;
    st->closed++;
}

static void stop_task(em_task *t) {
    server_thread *st = t->data;
    em_tcp_server_close(&st->proxy);
    em_http_server_shutdown(&st->plain, on_server_closed);
    em_http_server_shutdown(&st->tls, on_server_closed);
}

static void *server_main(void *arg) {
    server_thread *st = arg;
    while (st->closed < 2)
        em_loop_run(&st->loop, EM_RUN_ONCE);
    return NULL;
}

static void server_start(server_thread *st) {
    memset(st, 0, sizeof *st);
    assert_int_equal(em_loop_init(&st->loop), 0);
    static em_http_handler h;
    h = (em_http_handler){.fn = handler, .data = st};
    em_sockaddr any = em_sockaddr_loopback4(0), bound;
    em_http_server_opts o = {.handler = &h, .limits = {.max_body = (5u << 20) / 2}};
    st->plain.data = st->tls.data = st;
    assert_int_equal(em_http_server_start(&st->loop, &st->plain, &any, &o), 0);
    assert_int_equal(em_http_server_addr(&st->plain, &bound), 0);
    st->port = em_sockaddr_port(&bound);
    em_tls_ctx_opts to = {.cert = tc_cert(&leaf), .alpn = "http/1.1"};
    assert_int_equal(em_tls_ctx_new(&st->ctx, EM_TLS_SERVER, &to), 0);
    o.tls = st->ctx;
    assert_int_equal(em_http_server_start(&st->loop, &st->tls, &any, &o), 0);
    assert_int_equal(em_http_server_addr(&st->tls, &bound), 0);
    st->tls_port = em_sockaddr_port(&bound);
    st->proxy.data = &st->loop;
    assert_int_equal(em_tcp_server_start(&st->loop, &st->proxy, &any, NULL, proxy_accept), 0);
    assert_int_equal(em_tcp_listener_addr(&st->proxy.listener, &bound), 0);
    st->proxy_port = em_sockaddr_port(&bound);
    assert_int_equal(pthread_create(&st->th, NULL, server_main, st), 0);
}

static void server_stop(server_thread *st) {
    st->stop.cb = stop_task;
    st->stop.data = st;
    assert_int_equal(em_loop_post(&st->loop, &st->stop), 0);
    pthread_join(st->th, NULL);
    em_loop_run(&st->loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&st->loop), 0);
    em_tls_ctx_free(st->ctx);
}

static char *url(const server_thread *st, bool tls, const char *path) {
    static __thread char u[8][128];
    static __thread int next;
    char *s = u[next++ % 8];
    snprintf(s, 128, "%s://%s:%u%s", tls ? "https" : "http", tls ? "localhost" : "127.0.0.1",
             (unsigned)(tls ? st->tls_port : st->port), path);
    return s;
}

static void test_get_post(void **state) {
    (void)state;
    server_thread st;
    server_start(&st);
    em_http_resp r;
    assert_int_equal(em_http_get(url(&st, false, "/echo?a=1"), &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(em_http_resp_header(&r, "content-type"), "text/plain");
    assert_string_equal(em_http_resp_header(&r, "CONTENT-LENGTH") ? "y" : "n", "y");
    assert_null(em_http_resp_header(&r, "x-none"));
    assert_true(!strncmp(r.body.ptr, "GET /echo?a=1 ua=ember/", 23));
    assert_int_equal(r.body.ptr[r.body.len], 0); /* NUL-terminated */
    em_http_resp_free(&r);
    assert_int_equal(em_http_post(url(&st, false, "/p"), "text/plain", EM_SLICE_LIT("hi there"), &r), 0);
    assert_non_null(strstr(r.body.ptr, "POST /p ua="));
    assert_non_null(strstr(r.body.ptr, "body=hi there"));
    em_http_resp_free(&r);
    /* the blocking face follows redirects by itself */
    assert_int_equal(em_http_get(url(&st, false, "/redirect"), &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(!strncmp(r.body.ptr, "GET /echo?from=r", 16));
    assert_non_null(strstr(r.url, "/echo?from=r"));
    em_http_resp_free(&r);
    /* ... unless told not to */
    assert_int_equal(em_http_do(&(em_http_req){.url = url(&st, false, "/redirect"),
                                               .max_redirects = -1},
                                NULL, &r),
                     0);
    assert_int_equal(r.status, 302);
    em_http_resp_free(&r);
    assert_int_equal(em_http_get(url(&st, false, "/big"), &r), 0);
    assert_int_equal(r.body.len, 1 << 20);
    em_http_resp_free(&r);
    /* a limit on the body */
    em_http_limits lim = {.max_body = 1000};
    em_http_client_opts o = {.limits = &lim};
    assert_int_equal(em_http_do(&(em_http_req){.url = url(&st, false, "/big")}, &o, &r),
                     EM_EBODYTOOLARGE);
    assert_true(r.error[0]);
    em_http_resp_free(&r);
    em_http_resp_free(&r); /* twice is fine */
    server_stop(&st);
}

/* A call refused before it starts still says why in resp->error, as one
 * that fails on the wire does. */
static void test_refused_calls_say_why(void **state) {
    (void)state;
    em_http_resp r;
    assert_int_equal(em_http_get("bogus", &r), EM_EINVAL);
    assert_non_null(strstr(r.error, "URL"));
    assert_non_null(strstr(r.error, "bogus"));
    em_http_resp_free(&r);
    assert_int_equal(em_http_get("ftp://example.test/", &r), EM_EINVAL);
    assert_non_null(strstr(r.error, "ftp://example.test/"));
    em_http_resp_free(&r);
    assert_int_equal(em_http_get("ws://example.test/", &r), EM_ENOTSUP);
    assert_non_null(strstr(r.error, "WebSocket"));
    em_http_resp_free(&r);
    em_http_client_opts o = {0}; /* the private-loop path too */
    assert_int_equal(em_http_do(&(em_http_req){.url = "http://[::1"}, &o, &r), EM_EINVAL);
    assert_non_null(strstr(r.error, "URL"));
    em_http_resp_free(&r);
    assert_int_equal(em_http_do(&(em_http_req){.url = "http://a.test/",
                                               .headers = (em_http_header[]){
                                                   {.name = EM_SLICE_LIT("X"),
                                                    .value = EM_SLICE_LIT("a\r\nb")}},
                                               .num_headers = 1},
                                NULL, &r),
                     EM_EINVAL);
    assert_true(r.error[0]);
    em_http_resp_free(&r);
}

/* Without options, a thread's sequential calls share one kept-alive
 * connection (its loop and client live between calls, as curl's easy
 * handle keeps its connection cache), and a thread's exit frees them. */
static void *sequential_gets(void *arg) {
    server_thread *st = arg;
    for (int i = 0; i < 50; i++) {
        em_http_resp r;
        assert_int_equal(em_http_get(url(st, false, "/echo"), &r), 0);
        assert_int_equal(r.status, 200);
        em_http_resp_free(&r);
    }
    return NULL;
}

static void test_sequential_calls_reuse_a_connection(void **state) {
    (void)state;
    server_thread st;
    server_start(&st);
    uint64_t before = __atomic_load_n(&st.plain.tcp.accepted, __ATOMIC_SEQ_CST);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, sequential_gets, &st), 0);
    pthread_join(th, NULL);
    assert_int_equal(__atomic_load_n(&st.plain.tcp.accepted, __ATOMIC_SEQ_CST) - before, 1);
    /* options given: a loop and client of that call's own */
    em_http_resp r;
    em_http_client_opts o = {.user_agent = "other"};
    assert_int_equal(em_http_do(&(em_http_req){.url = url(&st, false, "/echo")}, &o, &r), 0);
    em_http_resp_free(&r);
    assert_int_equal(__atomic_load_n(&st.plain.tcp.accepted, __ATOMIC_SEQ_CST) - before, 2);
    /* this thread's own session, released by hand */
    assert_int_equal(em_http_get(url(&st, false, "/echo"), &r), 0);
    em_http_resp_free(&r);
    em_http_blocking_release();
    em_http_blocking_release(); /* twice is fine */
    server_stop(&st);
}

static uint64_t clock_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Expect: 100-continue against ember's server, which answers 100 at once
 * (a wait of expect_timeout_ms would show), or refuses a body over its
 * limit before it is sent. */
static void test_expect_continue(void **state) {
    (void)state;
    server_thread st;
    server_start(&st);
    static char body[3 << 20];
    memset(body, 'e', sizeof body);
    em_http_client_opts o = {.expect_timeout_ms = 20000};
    em_http_resp r;
    uint64_t t0 = clock_ms();
    assert_int_equal(em_http_do(&(em_http_req){.url = url(&st, false, "/up"),
                                               .body = {body, 2 << 20}},
                                &o, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.ptr, "POST /up"));
    assert_true(clock_ms() - t0 < 10000);
    em_http_resp_free(&r);
    /* over the server's 2.5 MiB limit: 413 before the body is sent */
    t0 = clock_ms();
    assert_int_equal(em_http_do(&(em_http_req){.url = url(&st, false, "/up"),
                                               .body = {body, sizeof body}},
                                &o, &r),
                     0);
    assert_int_equal(r.status, 413);
    assert_true(clock_ms() - t0 < 10000);
    em_http_resp_free(&r);
    server_stop(&st);
}

static void test_codings_and_cookies(void **state) {
    (void)state;
    server_thread st;
    server_start(&st);
    em_http_resp r;
    /* the blocking face asks for gzip and undoes it */
    assert_int_equal(em_http_get(url(&st, false, "/gz"), &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 100000);
    assert_true(!strncmp(r.body.ptr, "ember gzip ember gzip", 21));
    assert_null(em_http_resp_header(&r, "content-encoding")); /* no longer true */
    em_http_resp_free(&r);
    /* ... unless told not to: the coded bytes as they came */
    em_http_client_opts raw = {.decompress = -1};
    assert_int_equal(em_http_do(&(em_http_req){.url = url(&st, false, "/gz")}, &raw, &r), 0);
    assert_string_equal(em_http_resp_header(&r, "content-encoding"), "gzip");
    assert_true(r.body.len < 100000 && (unsigned char)r.body.ptr[0] == 0x1f);
    em_http_resp_free(&r);
    /* a bomb stops at the body limit, corrupt data is EM_EBADCODING */
    em_http_limits lim = {.max_body = 1 << 20};
    em_http_client_opts capped = {.limits = &lim};
    assert_int_equal(em_http_do(&(em_http_req){.url = url(&st, false, "/bomb")}, &capped, &r),
                     EM_EBODYTOOLARGE);
    em_http_resp_free(&r);
    assert_int_equal(em_http_get(url(&st, false, "/corrupt"), &r), EM_EBADCODING);
    em_http_resp_free(&r);
    /* cookies: set by a redirect, sent after it and on later requests */
    em_cookie_jar *jar;
    assert_int_equal(em_cookie_jar_new(&jar, NULL), 0);
    em_http_client_opts o = {.cookie_jar = jar};
    assert_int_equal(em_http_do(&(em_http_req){.url = url(&st, false, "/login")}, &o, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(!strncmp(r.body.ptr, "cookie=sid=abc ae=gzip, deflate", 31));
    em_http_resp_free(&r);
    assert_int_equal(em_cookie_jar_count(jar), 1);
    assert_int_equal(em_http_do(&(em_http_req){.url = url(&st, false, "/whoami")}, &o, &r), 0);
    assert_true(!strncmp(r.body.ptr, "cookie=sid=abc", 14));
    em_http_resp_free(&r);
    /* a Cookie set by hand comes first, the jar's after it, in one field */
    em_http_header mine[] = {{EM_SLICE_LIT("Cookie"), EM_SLICE_LIT("own=1"), 0}};
    assert_int_equal(em_http_do(&(em_http_req){.url = url(&st, false, "/whoami"), .headers = mine,
                                               .num_headers = 1},
                                &o, &r),
                     0);
    assert_true(!strncmp(r.body.ptr, "cookie=own=1; sid=abc ", 22));
    em_http_resp_free(&r);
    em_cookie_jar_free(jar);
    server_stop(&st);
}

static void test_https_through_connect_proxy(void **state) {
    (void)state;
    server_thread st;
    server_start(&st);
    em_tls_ctx *cctx;
    em_tls_ctx_opts co = {.ca_pem = tc_slice(ca.cert), .alpn = "http/1.1"};
    assert_int_equal(em_tls_ctx_new(&cctx, EM_TLS_CLIENT, &co), 0);
    char proxy[64];
    snprintf(proxy, sizeof proxy, "http://127.0.0.1:%u", (unsigned)st.proxy_port);
    em_http_client_opts o = {.tls = cctx, .proxy = proxy};
    atomic_store(&connects_seen, 0);
    em_http_resp r;
    assert_int_equal(em_http_do(&(em_http_req){.url = url(&st, true, "/tunnel")}, &o, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(!strncmp(r.body.ptr, "GET /tunnel", 11));
    em_http_resp_free(&r);
    assert_int_equal(atomic_load(&connects_seen), 1);
    char want[64];
    snprintf(want, sizeof want, "CONNECT localhost:%u HTTP/1.1", (unsigned)st.tls_port);
    assert_string_equal(connect_line, want);
    /* the certificate is still checked end to end: the default store refuses */
    em_http_client_opts o2 = {.proxy = proxy};
    assert_int_equal(em_http_do(&(em_http_req){.url = url(&st, true, "/tunnel")}, &o2, &r),
                     EM_ECERTVERIFY);
    em_http_resp_free(&r);
    em_tls_ctx_free(cctx);
    server_stop(&st);
}

static void test_https(void **state) {
    (void)state;
    server_thread st;
    server_start(&st);
    em_tls_ctx *cctx;
    em_tls_ctx_opts co = {.ca_pem = tc_slice(ca.cert), .alpn = "http/1.1"};
    assert_int_equal(em_tls_ctx_new(&cctx, EM_TLS_CLIENT, &co), 0);
    em_http_client_opts o = {.tls = cctx};
    em_http_resp r;
    assert_int_equal(em_http_do(&(em_http_req){.url = url(&st, true, "/s")}, &o, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(!strncmp(r.body.ptr, "GET /s", 6));
    em_http_resp_free(&r);
    /* https -> http is refused unless allowed */
    assert_int_equal(em_http_do(&(em_http_req){.url = url(&st, true, "/to-http")}, &o, &r),
                     EM_EUNSAFEREDIRECT);
    em_http_resp_free(&r);
    assert_int_equal(em_http_do(&(em_http_req){.url = url(&st, true, "/to-http"),
                                               .allow_insecure_redirect = true},
                                &o, &r),
                     0);
    assert_true(!strncmp(r.body.ptr, "GET /echo", 9));
    em_http_resp_free(&r);
    /* the default context trusts the system store, not the test CA */
    assert_int_equal(em_http_get(url(&st, true, "/s"), &r), EM_ECERTVERIFY);
    assert_true(r.error[0]);
    em_http_resp_free(&r);
    /* a name the certificate does not carry (a hosts file of the test's
     * own points it at the server) */
    char hosts[] = "/tmp/ember-hosts-XXXXXX";
    int fd = mkstemp(hosts);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "127.0.0.1 wrong.test\n", 21), 21);
    close(fd);
    em_dns_resolver_opts ro = {.hosts_file = hosts, .servers = "127.0.0.1:9"};
    o.resolver_opts = &ro;
    char bad[128];
    snprintf(bad, sizeof bad, "https://wrong.test:%u/", (unsigned)st.tls_port);
    assert_int_equal(em_http_do(&(em_http_req){.url = bad}, &o, &r), EM_ECERTVERIFY);
    assert_true(r.error[0]);
    em_http_resp_free(&r);
    unlink(hosts);
    em_tls_ctx_free(cctx);
    server_stop(&st);
}

#define THREADS 8
#define PER_THREAD 25

typedef struct worker {
    pthread_t th;
    server_thread *st;
    int ok;
} worker;

static void *worker_main(void *arg) {
    worker *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char path[64];
        snprintf(path, sizeof path, "/t/%d", i);
        em_http_resp r;
        if (em_http_get(url(w->st, false, path), &r) == 0 && r.status == 200 &&
            strstr(r.body.ptr, path))
            w->ok++;
        em_http_resp_free(&r);
    }
    return NULL;
}

static void test_many_threads(void **state) {
    (void)state;
    server_thread st;
    server_start(&st);
    worker w[THREADS] = {{0}};
    for (int i = 0; i < THREADS; i++) {
        w[i].st = &st;
        assert_int_equal(pthread_create(&w[i].th, NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(w[i].th, NULL);
        assert_int_equal(w[i].ok, PER_THREAD);
    }
    server_stop(&st);
}

static int setup_certs(void **state) {
    (void)state;
    tc_ca(&ca, "ember test CA");
    tc_leaf(&leaf, &ca, "localhost", "DNS:localhost,IP:127.0.0.1", -60, 3600);
    return 0;
}

static int free_certs(void **state) {
    (void)state;
    tc_free(&ca);
    tc_free(&leaf);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_post),
        cmocka_unit_test(test_refused_calls_say_why),
        cmocka_unit_test(test_sequential_calls_reuse_a_connection),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_codings_and_cookies),
        cmocka_unit_test(test_https),
        cmocka_unit_test(test_https_through_connect_proxy),
        cmocka_unit_test(test_many_threads),
    };
    return cmocka_run_group_tests(tests, setup_certs, free_certs);
}

/* TLS on em_tcp_conn over the loop: echo in many splits, verification
 * failures, mTLS, SNI, ALPN, resumption, ticket-key rotation, close_notify,
 * garbage, the handshake timeout and large transfers with backpressure. */
#include <sys/socket.h>

#include "tls_internal.h" /* the client's SSL_CTX, to cap its version */
#include "tls_test_util.h"

static tc_pem ca, leaf, self, expired, client, sni_a, other_ca;

static int group_setup(void **state) {
    tc_ca(&ca, "ember test CA");
    tc_ca(&other_ca, "someone else's CA");
    tc_leaf(&leaf, &ca, "localhost", "DNS:localhost,IP:127.0.0.1", -60, 86400);
    tc_leaf(&self, NULL, "localhost", "DNS:localhost", -60, 86400);
    tc_leaf(&expired, &ca, "localhost", "DNS:localhost", -7200, -3600);
    tc_leaf(&client, &ca, "test client", NULL, -60, 86400);
    tc_leaf(&sni_a, &ca, "a.test", "DNS:a.test,DNS:*.b.test", -60, 86400);
    return 0;
}

static int group_teardown(void **state) {
    tc_pem *all[] = {&ca, &other_ca, &leaf, &self, &expired, &client, &sni_a};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        tc_free(all[i]);
    return 0;
}

static em_tls_ctx *server_ctx(const tc_pem *cert, em_tls_ctx_opts *o) {
    em_tls_ctx_opts d = {0};
    if (!o)
        o = &d;
    o->cert = tc_cert(cert);
    em_tls_ctx *ctx;
    assert_int_equal(em_tls_ctx_new(&ctx, EM_TLS_SERVER, o), 0);
    return ctx;
}

static em_tls_ctx *client_ctx(em_tls_ctx_opts *o) {
    em_tls_ctx_opts d = {0};
    if (!o)
        o = &d;
    if (!o->ca_pem.len)
        o->ca_pem = tc_slice(ca.cert);
    em_tls_ctx *ctx;
    assert_int_equal(em_tls_ctx_new(&ctx, EM_TLS_CLIENT, o), 0);
    return ctx;
}

/* One client against one server side on a fresh loop. */
typedef struct run {
    em_loop loop;
    em_tcp_listener l;
    em_sockaddr addr;
    side srv, cli;
} run;

static void run_start(run *r, const em_tls_ctx *sctx, const em_tls_ctx *cctx, const char *name,
                      const em_tcp_conn_opts *opts, bool server_echo) {
    assert_int_equal(em_loop_init(&r->loop), 0);
    em_sockaddr a = em_sockaddr_loopback4(0);
    assert_int_equal(em_tcp_listen(&r->l, &a, NULL), 0);
    assert_int_equal(em_tcp_listener_addr(&r->l, &r->addr), 0);
    side_init(&r->srv, server_echo);
    side_init(&r->cli, false);
    assert_int_equal(
        em_tls_connect(&r->loop, &r->cli.c, &r->addr, &side_cbs, opts, cctx, name, side_on_connect),
        0);
    side_accept(&r->loop, &r->srv, &r->l, sctx, opts);
    EM_TEST_RUN_UNTIL(&r->loop, r->cli.connected, 5000);
}

static void run_finish(run *r) {
    if (!r->cli.closed)
        em_tcp_conn_close(&r->cli.c, side_close_cb);
    EM_TEST_RUN_UNTIL(&r->loop, r->cli.closed, 5000);
    /* The server side sees the end (or an error) and closes itself. */
    EM_TEST_RUN_UNTIL(&r->loop, r->srv.closed, 5000);
    em_tcp_listener_close(&r->l);
    side_done(&r->srv);
    side_done(&r->cli);
    assert_int_equal(em_loop_close(&r->loop), 0);
}

static char pat(size_t i) {
    return (char)((i * 131u + (i >> 9)) & 0xff);
}

static void echo_with(const em_tcp_conn_opts *opts, size_t total) {
    em_tls_ctx *s = server_ctx(&leaf, NULL), *c = client_ctx(NULL);
    run r;
    run_start(&r, s, c, "localhost", opts, true);
    assert_int_equal(r.cli.status, 0);
    static const size_t sizes[] = {1, 2, 3, 7, 100, 1000, 16383, 16384, 16385, 40000, 5};
    char *buf = malloc(total);
    for (size_t i = 0; i < total; i++)
        buf[i] = pat(i);
    size_t at = 0;
    for (unsigned k = 0; at < total; k++) {
        size_t n = sizes[k % (sizeof sizes / sizeof *sizes)];
        if (n > total - at)
            n = total - at;
        /* Two slices per write: the transport gathers small pieces. */
        em_slice sl[2] = {{buf + at, n / 2}, {buf + at + n / 2, n - n / 2}};
        assert_int_equal(em_tcp_conn_write(&r.cli.c, sl, 2, 0, NULL), 0);
        at += n;
    }
    EM_TEST_RUN_UNTIL(&r.loop, em_buf_len(&r.cli.got) >= total || r.cli.err, 20000);
    assert_int_equal(r.cli.err, 0);
    assert_int_equal(em_buf_len(&r.cli.got), total);
    assert_memory_equal(em_buf_data(&r.cli.got), buf, total);
    /* close_notify both ways: the client ends, the echo side answers. */
    assert_int_equal(em_tcp_conn_shutdown(&r.cli.c), 0);
    EM_TEST_RUN_UNTIL(&r.loop, r.srv.eof && r.cli.eof, 5000);
    assert_int_equal(r.srv.err, 0);
    em_tls_info info;
    assert_int_equal(em_tls_conn_info(&r.cli.c, &info), 0);
    assert_true(info.handshake_done);
    assert_true(info.peer_verified);
    assert_int_equal(info.version, EM_TLS_V1_3);
    assert_string_equal(info.sni, "localhost");
    assert_non_null(strstr(info.peer_subject, "CN=localhost"));
    run_finish(&r);
    free(buf);
    em_tls_ctx_free(s);
    em_tls_ctx_free(c);
}

static void test_echo(void **state) {
    echo_with(NULL, 300000);
}

/* Tiny reads: plaintext leaves SSL in 1000-byte pieces, c->in holds 4 KiB. */
static void test_echo_small_reads(void **state) {
    em_tcp_conn_opts o = {.read_max = 4096, .read_chunk = 1000};
    echo_with(&o, 100000);
}

static int handshake_status(const tc_pem *cert, const char *name, char *reason, size_t len) {
    em_tls_ctx *s = server_ctx(cert, NULL), *c = client_ctx(NULL);
    run r;
    run_start(&r, s, c, name, NULL, true);
    int st = r.cli.status;
    snprintf(reason, len, "%s", r.cli.reason);
    run_finish(&r);
    em_tls_ctx_free(s);
    em_tls_ctx_free(c);
    return st;
}

static void test_verify_failures(void **state) {
    char why[256];
    assert_int_equal(handshake_status(&self, "localhost", why, sizeof why), EM_ECERTVERIFY);
    assert_non_null(strstr(why, "self-signed"));
    assert_int_equal(handshake_status(&leaf, "other.test", why, sizeof why), EM_ECERTVERIFY);
    assert_non_null(strstr(why, "mismatch"));
    assert_int_equal(handshake_status(&expired, "localhost", why, sizeof why), EM_ECERTVERIFY);
    assert_non_null(strstr(why, "expired"));
    /* IP literals are checked as IPs: the SAN has 127.0.0.1, not ::1. */
    assert_int_equal(handshake_status(&leaf, "127.0.0.1", why, sizeof why), 0);
    assert_int_equal(handshake_status(&leaf, "::1", why, sizeof why), EM_ECERTVERIFY);
}

/* RFC 9525 §6.3 (RFC 6125 §6.4): reference identifiers against presented
 * ones. A wildcard is the whole left-most label only; the CN is never a
 * DNS-ID (so not when only IP SANs are there either, nor without any SAN);
 * an IP is matched against iPAddress SANs only. */
static void test_name_matching(void **state) {
    static const struct {
        const char *cn, *san, *name;
        int want;
    } cases[] = {
        {"localhost", "IP:127.0.0.1", "localhost", EM_ECERTVERIFY}, /* CN with a SAN */
        {"localhost", NULL, "localhost", EM_ECERTVERIFY},           /* CN-ID: never */
        {"x", "DNS:*.example.com", "a.example.com", 0},
        {"x", "DNS:*.example.com", "a.b.example.com", EM_ECERTVERIFY},
        {"x", "DNS:*.example.com", "example.com", EM_ECERTVERIFY},
        {"x", "DNS:f*.example.com", "foo.example.com", EM_ECERTVERIFY},
        {"x", "DNS:*oo.example.com", "foo.example.com", EM_ECERTVERIFY},
        {"x", "DNS:a.*.example.com", "a.b.example.com", EM_ECERTVERIFY},
        {"x", "DNS:*.com", "example.com", EM_ECERTVERIFY},
        {"x", "DNS:127.0.0.1", "127.0.0.1", EM_ECERTVERIFY}, /* an IP never as a DNS-ID */
        {"127.0.0.1", NULL, "127.0.0.1", EM_ECERTVERIFY},     /* nor as a CN */
        {"x", "DNS:localhost", "LOCALHOST", 0},
    };
    char why[256];
    unsigned bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tc_pem p;
        tc_leaf(&p, &ca, cases[i].cn, cases[i].san, -60, 86400);
        int st = handshake_status(&p, cases[i].name, why, sizeof why);
        if (st != cases[i].want) {
            print_error("CN=%s SAN=%s name %s: %d (%s), want %d\n", cases[i].cn,
                        cases[i].san ? cases[i].san : "-", cases[i].name, st, why, cases[i].want);
            bad++;
        }
        tc_free(&p);
    }
    assert_int_equal(bad, 0);
}

/* RFC 6066 §3: the HostName in SNI goes without a trailing dot, and no
 * SNI for a literal; the absolute form "localhost." names the same host,
 * so the certificate for "localhost" is the right one. */
static void test_trailing_dot_name(void **state) {
    em_tls_ctx *s = server_ctx(&leaf, NULL), *c = client_ctx(NULL);
    run r;
    run_start(&r, s, c, "localhost.", NULL, true);
    assert_int_equal(r.cli.status, 0);
    em_tls_info si, ci;
    EM_TEST_RUN_UNTIL(&r.loop, em_tls_conn_info(&r.srv.c, &si) == 0 && si.handshake_done, 5000);
    assert_string_equal(si.sni, "localhost");
    assert_int_equal(em_tls_conn_info(&r.cli.c, &ci), 0);
    assert_string_equal(ci.sni, "localhost");
    assert_true(ci.peer_verified);
    run_finish(&r);
    em_tls_ctx_free(c);
    em_tls_ctx_free(s);
    /* An IPv6 literal in its URL brackets is an IP: no SNI, the IP SAN. */
    tc_pem v6;
    tc_leaf(&v6, &ca, "x", "IP:::1", -60, 86400);
    s = server_ctx(&v6, NULL), c = client_ctx(NULL);
    run_start(&r, s, c, "[::1]", NULL, true);
    assert_int_equal(r.cli.status, 0);
    EM_TEST_RUN_UNTIL(&r.loop, em_tls_conn_info(&r.srv.c, &si) == 0 && si.handshake_done, 5000);
    assert_string_equal(si.sni, "");
    run_finish(&r);
    em_tls_ctx_free(c);
    em_tls_ctx_free(s);
    tc_free(&v6);
}

/* RFC 9525 §6.3 (RFC 6125 §7.2): a wildcard never stands for a whole
 * registrable domain under a public suffix ("*.co.uk" would be every
 * company in the UK); another SAN that matches still does; a private
 * suffix of the list ("*.github.io"-style hosting) is not one. */
static void test_wildcard_public_suffix(void **state) {
    static const struct {
        const char *san, *name;
        int want;
    } cases[] = {
        {"DNS:*.co.uk", "example.co.uk", EM_ECERTVERIFY},
        {"DNS:*.com.au", "shop.com.au", EM_ECERTVERIFY},
        {"DNS:*.co.uk,DNS:example.co.uk", "example.co.uk", 0},
        {"DNS:*.example.co.uk", "www.example.co.uk", 0},
        {"DNS:*.github.io", "someone.github.io", 0},
    };
    char why[256];
    unsigned bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tc_pem p;
        tc_leaf(&p, &ca, "x", cases[i].san, -60, 86400);
        int st = handshake_status(&p, cases[i].name, why, sizeof why);
        if (st != cases[i].want) {
            print_error("SAN=%s name %s: %d (%s), want %d\n", cases[i].san, cases[i].name, st,
                        why, cases[i].want);
            bad++;
        } else if (st) {
            assert_non_null(strstr(why, "hostname mismatch"));
        }
        tc_free(&p);
    }
    assert_int_equal(bad, 0);
}

/* A verifying client with no name to check would take any certificate a
 * trusted CA issued to anyone: refused up front (RFC 9525 §6.1: the
 * reference identity comes from the user's input); an insecure one, which
 * checks nothing anyway, may go without. */
static void test_verifying_client_needs_a_name(void **state) {
    em_tls_ctx *s = server_ctx(&leaf, NULL), *c = client_ctx(NULL);
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_tcp_listener l;
    em_sockaddr a = em_sockaddr_loopback4(0), addr;
    assert_int_equal(em_tcp_listen(&l, &a, NULL), 0);
    assert_int_equal(em_tcp_listener_addr(&l, &addr), 0);
    side cli;
    side_init(&cli, false);
    assert_int_equal(em_tls_connect(&loop, &cli.c, &addr, &side_cbs, NULL, c, NULL, side_on_connect),
                     EM_EINVAL);
    assert_int_equal(em_tls_connect(&loop, &cli.c, &addr, &side_cbs, NULL, c, "", side_on_connect),
                     EM_EINVAL);
    em_tls_stream st;
    assert_int_equal(em_tls_stream_connect(&st, &addr, 1000, c, NULL), EM_EINVAL);
    em_tcp_listener_close(&l);
    side_done(&cli);
    assert_int_equal(em_loop_close(&loop), 0);
    em_tls_ctx_free(c);
    em_tls_ctx_opts in = {.insecure = true};
    c = client_ctx(&in);
    run r;
    run_start(&r, s, c, NULL, NULL, true);
    assert_int_equal(r.cli.status, 0);
    run_finish(&r);
    em_tls_ctx_free(c);
    em_tls_ctx_free(s);
}

static void test_insecure_and_other_ca(void **state) {
    em_tls_ctx_opts o = {.ca_pem = tc_slice(other_ca.cert)};
    em_tls_ctx *s = server_ctx(&leaf, NULL), *c = client_ctx(&o);
    run r;
    run_start(&r, s, c, "localhost", NULL, true);
    assert_int_equal(r.cli.status, EM_ECERTVERIFY);
    run_finish(&r);
    em_tls_ctx_free(c);
    em_tls_ctx_opts in = {.insecure = true};
    c = client_ctx(&in);
    run_start(&r, s, c, "wrong.name", NULL, true);
    assert_int_equal(r.cli.status, 0);
    em_tls_info info;
    assert_int_equal(em_tls_conn_info(&r.cli.c, &info), 0);
    assert_false(info.peer_verified);
    run_finish(&r);
    em_tls_ctx_free(c);
    em_tls_ctx_free(s);
}

static void test_client_cert(void **state) {
    em_tls_ctx_opts so = {.ca_pem = tc_slice(ca.cert), .client_auth = EM_TLS_CLIENT_AUTH_REQUIRED};
    em_tls_ctx *s = server_ctx(&leaf, &so);
    /* Without a certificate: the server refuses (TLS 1.3: after the
     * client's side of the handshake, so the client may learn it reading). */
    em_tls_ctx *c = client_ctx(NULL);
    run r;
    run_start(&r, s, c, "localhost", NULL, true);
    EM_TEST_RUN_UNTIL(&r.loop, r.srv.closed, 5000);
    assert_true(r.srv.err == EM_ETLSHANDSHAKE || r.srv.err == EM_ECERTVERIFY);
    assert_true(r.srv.reason[0] != '\0');
    if (r.cli.status == 0)
        EM_TEST_RUN_UNTIL(&r.loop, r.cli.closed || r.cli.eof, 5000);
    run_finish(&r);
    em_tls_ctx_free(c);
    /* With one. */
    em_tls_ctx_opts co = {.cert = tc_cert(&client)};
    c = client_ctx(&co);
    run_start(&r, s, c, "localhost", NULL, false);
    assert_int_equal(r.cli.status, 0);
    em_slice hi = EM_SLICE_LIT("hi");
    assert_int_equal(em_tcp_conn_write(&r.cli.c, &hi, 1, 0, NULL), 0);
    EM_TEST_RUN_UNTIL(&r.loop, em_buf_len(&r.srv.got) == 2, 5000);
    em_tls_info info;
    assert_int_equal(em_tls_conn_info(&r.srv.c, &info), 0);
    assert_true(info.peer_verified);
    assert_non_null(strstr(info.peer_subject, "CN=test client"));
    em_tcp_conn_close(&r.srv.c, side_close_cb);
    run_finish(&r);
    em_tls_ctx_free(c);
    em_tls_ctx_free(s);
}

/* mTLS on a certificate picked by SNI: the picked context verifies the
 * client's certificate against the same CAs, as the default one does. */
static void test_client_cert_with_sni(void **state) {
    em_tls_cert extra = tc_cert(&sni_a);
    em_tls_ctx_opts so = {.ca_pem = tc_slice(ca.cert),
                          .client_auth = EM_TLS_CLIENT_AUTH_REQUIRED,
                          .sni_certs = &extra,
                          .sni_count = 1};
    em_tls_ctx *s = server_ctx(&leaf, &so);
    em_tls_ctx_opts co = {.cert = tc_cert(&client)};
    em_tls_ctx *c = client_ctx(&co);
    for (int i = 0; i < 2; i++) { /* the second resumes */
        run r;
        run_start(&r, s, c, "a.test", NULL, true);
        assert_int_equal(r.cli.status, 0);
        em_slice hi = EM_SLICE_LIT("hi");
        assert_int_equal(em_tcp_conn_write(&r.cli.c, &hi, 1, 0, NULL), 0);
        EM_TEST_RUN_UNTIL(&r.loop, em_buf_len(&r.cli.got) == 2 || r.cli.closed, 5000);
        assert_int_equal(r.srv.err, 0);
        assert_int_equal(em_buf_len(&r.cli.got), 2);
        em_tls_info info;
        assert_int_equal(em_tls_conn_info(&r.srv.c, &info), 0);
        assert_true(info.peer_verified);
        assert_non_null(strstr(info.peer_subject, "CN=test client"));
        assert_int_equal(em_tls_conn_info(&r.cli.c, &info), 0);
        assert_non_null(strstr(info.peer_subject, "CN=a.test"));
        run_finish(&r);
    }
    em_tls_ctx_free(c);
    em_tls_ctx_free(s);
}

static void check_sni(const em_tls_ctx *s, const char *name, const char *want_cn) {
    em_tls_ctx_opts o = {.insecure = true};
    em_tls_ctx *c = client_ctx(&o);
    run r;
    run_start(&r, s, c, name, NULL, true);
    assert_int_equal(r.cli.status, 0);
    em_tls_info info;
    assert_int_equal(em_tls_conn_info(&r.cli.c, &info), 0);
    assert_non_null(strstr(info.peer_subject, want_cn));
    run_finish(&r);
    em_tls_ctx_free(c);
}

static void test_sni_and_alpn(void **state) {
    em_tls_cert extra = tc_cert(&sni_a);
    em_tls_ctx_opts so = {.sni_certs = &extra, .sni_count = 1, .alpn = "http/1.1"};
    em_tls_ctx *s = server_ctx(&leaf, &so);
    check_sni(s, "a.test", "CN=a.test");
    check_sni(s, "x.b.test", "CN=a.test");
    check_sni(s, "x.y.b.test", "CN=localhost"); /* a wildcard is one label */
    check_sni(s, "localhost", "CN=localhost");
    /* ALPN: the server's pick among what the client offers. */
    em_tls_ctx_opts co = {.alpn = "h2,http/1.1"};
    em_tls_ctx *c = client_ctx(&co);
    run r;
    run_start(&r, s, c, "localhost", NULL, true);
    assert_int_equal(r.cli.status, 0);
    em_tls_info ci, si;
    assert_int_equal(em_tls_conn_info(&r.cli.c, &ci), 0);
    assert_string_equal(ci.alpn, "http/1.1");
    EM_TEST_RUN_UNTIL(&r.loop, em_tls_conn_info(&r.srv.c, &si) == 0 && si.handshake_done, 5000);
    assert_string_equal(si.alpn, "http/1.1");
    assert_string_equal(si.sni, "localhost");
    run_finish(&r);
    em_tls_ctx_free(c);
    em_tls_ctx_free(s);
}

/* ALPN from a client (o->alpn, NULL: none) to a server offering
 * "http/1.1": the handshake's status on both sides and the protocol. */
static int alpn_with(const char *name, const char *offer, int *srv_err, char *alpn, size_t len) {
    em_tls_cert extra = tc_cert(&sni_a);
    em_tls_ctx_opts so = {.sni_certs = &extra, .sni_count = 1, .alpn = "http/1.1"},
                    co = {.alpn = offer};
    em_tls_ctx *s = server_ctx(&leaf, &so), *c = client_ctx(&co);
    run r;
    run_start(&r, s, c, name, NULL, true);
    int st = r.cli.status;
    alpn[0] = '\0';
    em_tls_info info;
    if (st == 0 && em_tls_conn_info(&r.cli.c, &info) == 0)
        snprintf(alpn, len, "%s", info.alpn);
    if (st != 0) {
        EM_TEST_RUN_UNTIL(&r.loop, r.srv.closed, 5000);
        assert_non_null(strstr(r.cli.reason, "no application protocol"));
        assert_non_null(strstr(r.srv.reason, "no application protocol"));
    }
    *srv_err = r.srv.err;
    run_finish(&r);
    em_tls_ctx_free(c);
    em_tls_ctx_free(s);
    return st;
}

/* RFC 7301 §3.2: offered protocols, none supported: a fatal
 * no_application_protocol alert. No ALPN offered: no ALPN, a handshake. */
static void test_alpn_none_in_common(void **state) {
    /* The default certificate's context and an SNI one alike. */
    static const char *names[] = {"localhost", "a.test"};
    for (unsigned i = 0; i < 2; i++) {
        char alpn[32];
        int srv_err;
        assert_int_equal(alpn_with(names[i], "h2", &srv_err, alpn, sizeof alpn), EM_ETLSHANDSHAKE);
        assert_int_equal(srv_err, EM_ETLSHANDSHAKE);
        assert_int_equal(alpn_with(names[i], "h2,http/1.1", &srv_err, alpn, sizeof alpn), 0);
        assert_string_equal(alpn, "http/1.1");
        assert_int_equal(srv_err, 0);
        assert_int_equal(alpn_with(names[i], NULL, &srv_err, alpn, sizeof alpn), 0);
        assert_string_equal(alpn, "");
        assert_int_equal(srv_err, 0);
    }
}

static void test_resumption(void **state) {
    em_tls_ctx *s = server_ctx(&leaf, NULL), *c = client_ctx(NULL);
    for (int i = 0; i < 3; i++) {
        run r;
        run_start(&r, s, c, "localhost", NULL, true);
        assert_int_equal(r.cli.status, 0);
        /* TLS 1.3 tickets come after the handshake: read an echo first. */
        em_slice hi = EM_SLICE_LIT("ping");
        assert_int_equal(em_tcp_conn_write(&r.cli.c, &hi, 1, 0, NULL), 0);
        EM_TEST_RUN_UNTIL(&r.loop, em_buf_len(&r.cli.got) == 4, 5000);
        em_tls_info info;
        assert_int_equal(em_tls_conn_info(&r.cli.c, &info), 0);
        assert_int_equal(info.resumed, i > 0);
        run_finish(&r);
    }
    em_tls_ctx_free(c);
    em_tls_ctx_free(s);
}

/* Small messages fit the first read_chunk: the reads of one batch (a
 * transport is read until EM_EAGAIN) must not grow the buffer again,
 * which copied it whole on every batch. */
static void test_small_reads_keep_one_chunk(void **state) {
    em_tls_ctx *s = server_ctx(&leaf, NULL), *c = client_ctx(NULL);
    em_tcp_conn_opts o = {.read_chunk = 4096};
    run r;
    run_start(&r, s, c, "localhost", &o, true);
    assert_int_equal(r.cli.status, 0);
    for (size_t want = 100; want <= 1000; want += 100) {
        char msg[100];
        memset(msg, 'a' + (int)(want / 100), sizeof msg);
        em_slice sl = {msg, sizeof msg};
        assert_int_equal(em_tcp_conn_write(&r.cli.c, &sl, 1, EM_TCP_WRITE_COPY, NULL), 0);
        EM_TEST_RUN_UNTIL(&r.loop, em_buf_len(&r.cli.got) == want || r.cli.err, 5000);
        assert_int_equal(r.cli.err, 0);
    }
    assert_true(r.srv.in_cap_max <= 4096);
    assert_true(r.cli.in_cap_max <= 4096);
    run_finish(&r);
    em_tls_ctx_free(s);
    em_tls_ctx_free(c);
}

/* One connection from c to s (an echo, so TLS 1.3 tickets arrive): did it
 * resume? */
static bool resumes(const em_tls_ctx *s, const em_tls_ctx *c) {
    run r;
    run_start(&r, s, c, "localhost", NULL, true);
    assert_int_equal(r.cli.status, 0);
    em_slice hi = EM_SLICE_LIT("ping");
    assert_int_equal(em_tcp_conn_write(&r.cli.c, &hi, 1, 0, NULL), 0);
    EM_TEST_RUN_UNTIL(&r.loop, em_buf_len(&r.cli.got) == 4, 5000);
    em_tls_info info;
    assert_int_equal(em_tls_conn_info(&r.cli.c, &info), 0);
    run_finish(&r);
    return info.resumed;
}

/* A key whose every byte (its name too) is b. */
static const unsigned char *key_of(unsigned char k[80], unsigned char b) {
    memset(k, b, 80);
    return k;
}

/* The client cache hands out the newest ticket first, so each "resumes"
 * below tries the ticket the previous connection of that client got. */
static void rotation_with(int max_version) {
    em_tls_ctx *s = server_ctx(&leaf, NULL);
    em_tls_ctx *c1 = client_ctx(NULL), *c2 = client_ctx(NULL), *c3 = client_ctx(NULL);
    em_tls_ctx *all[] = {c1, c2, c3};
    for (int i = 0; max_version && i < 3; i++)
        assert_int_equal(SSL_CTX_set_max_proto_version(all[i]->ssl, max_version), 1);
    unsigned char k[80];
    assert_int_equal(em_tls_ctx_set_ticket_key(s, key_of(k, 'a')), 0);
    assert_false(resumes(s, c1)); /* c1 and c2 hold tickets under a */
    assert_false(resumes(s, c2));
    assert_int_equal(em_tls_ctx_set_ticket_key(s, key_of(k, 'b')), 0);
    assert_true(resumes(s, c1));  /* a is the grace key: it resumes, and */
    assert_false(resumes(s, c3)); /* c1 got a ticket under b; c3 too */
    assert_int_equal(em_tls_ctx_set_ticket_key(s, key_of(k, 'c')), 0);
    assert_int_equal(em_tls_ctx_set_ticket_key(s, key_of(k, 'c')), 0); /* no rotation */
    assert_true(resumes(s, c1));  /* the renewed ticket (b) */
    assert_true(resumes(s, c3));  /* b is still the grace key */
    assert_false(resumes(s, c2)); /* a, two rotations ago: a full handshake */
    for (int i = 0; i < 3; i++)
        em_tls_ctx_free(all[i]);
    em_tls_ctx_free(s);
}

static void test_ticket_rotation_tls13(void **state) {
    rotation_with(0);
}

static void test_ticket_rotation_tls12(void **state) {
    rotation_with(TLS1_2_VERSION); /* the renewal is the callback's doing here */
}

/* Two "workers" (two contexts) resume each other's tickets once they
 * share a key, and not before. */
static void test_ticket_key_shared(void **state) {
    em_tls_ctx *w1 = server_ctx(&leaf, NULL), *w2 = server_ctx(&leaf, NULL), *c = client_ctx(NULL);
    assert_false(resumes(w1, c));
    assert_false(resumes(w2, c)); /* a ticket from w1: each has its own random key */
    unsigned char k[80];
    assert_int_equal(em_tls_ctx_set_ticket_key(w1, key_of(k, 'k')), 0);
    assert_int_equal(em_tls_ctx_set_ticket_key(w2, key_of(k, 'k')), 0);
    assert_false(resumes(w1, c)); /* w2's old key is not w1's */
    assert_true(resumes(w2, c));  /* w1's ticket under k */
    assert_true(resumes(w1, c));  /* and back */
    em_tls_ctx_free(c);
    em_tls_ctx_free(w2);
    em_tls_ctx_free(w1);
}

/* A plain-text peer and a silent one against a TLS server side. */
static void raw_peer(const char *send_text, size_t len, unsigned timeout_ms, int want_err) {
    em_tls_ctx_opts so = {.handshake_timeout_ms = timeout_ms};
    em_tls_ctx *s = server_ctx(&leaf, &so);
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_tcp_listener l;
    em_sockaddr a = em_sockaddr_loopback4(0), addr;
    assert_int_equal(em_tcp_listen(&l, &a, NULL), 0);
    assert_int_equal(em_tcp_listener_addr(&l, &addr), 0);
    em_tcp_stream peer;
    assert_int_equal(em_tcp_connect(&peer, &addr, 5000), 0);
    side srv;
    side_init(&srv, true);
    side_accept(&loop, &srv, &l, s, NULL);
    if (send_text)
        assert_int_equal(em_tcp_stream_write(&peer, send_text, len), 0);
    EM_TEST_RUN_UNTIL(&loop, srv.closed, 5000);
    assert_int_equal(srv.err, want_err);
    assert_true(srv.reason[0] != '\0');
    em_tcp_stream_close(&peer);
    em_tcp_listener_close(&l);
    side_done(&srv);
    assert_int_equal(em_loop_close(&loop), 0);
    em_tls_ctx_free(s);
}

static void test_garbage_and_timeout(void **state) {
    raw_peer("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, 0, EM_ETLSHANDSHAKE);
    /* A ClientHello whose body is junk. */
    raw_peer("\x16\x03\x01\x00\x08\x01\x00\x00\x04\xff\xff\xff\xff", 13, 0, EM_ETLSHANDSHAKE);
    raw_peer("\x15\x03\x03\x00\x02\x02\x28", 7, 0, EM_ETLSHANDSHAKE); /* an alert */
    raw_peer(NULL, 0, 100, EM_ETIMEDOUT);
}

/* 8 MiB from the server with a small high watermark: the writer waits
 * while throttled; every byte and the last token arrive. */
static void test_large_backpressure(void **state) {
    em_tls_ctx *s = server_ctx(&leaf, NULL), *c = client_ctx(NULL);
    em_tcp_conn_opts o = {.high_watermark = 256 * 1024, .max_queue = 1024 * 1024};
    run r;
    run_start(&r, s, c, "localhost", &o, false);
    assert_int_equal(r.cli.status, 0);
    const size_t total = 8u << 20, piece = 64 * 1024;
    char *buf = malloc(piece);
    size_t at = 0;
    uint64_t last = 0;
    while (at < total) {
        if (em_tcp_conn_throttled(&r.srv.c)) {
            em_loop_run(&r.loop, EM_RUN_ONCE);
            continue;
        }
        for (size_t i = 0; i < piece; i++)
            buf[i] = pat(at + i);
        em_slice sl = {buf, piece};
        assert_int_equal(em_tcp_conn_write(&r.srv.c, &sl, 1, EM_TCP_WRITE_COPY, &last), 0);
        at += piece;
    }
    assert_true(r.srv.throttled > 0);
    EM_TEST_RUN_UNTIL(&r.loop, em_buf_len(&r.cli.got) == total && r.srv.sent == last, 20000);
    assert_int_equal(em_tcp_conn_queued(&r.srv.c), 0);
    for (size_t i = 0; i < total; i += 4093)
        assert_int_equal(em_buf_data(&r.cli.got)[i], pat(i));
    em_tcp_conn_close(&r.srv.c, side_close_cb);
    run_finish(&r);
    free(buf);
    em_tls_ctx_free(c);
    em_tls_ctx_free(s);
}

/* em_tls_attach + em_tls_handshake on a connection the caller connected. */
static void on_tcp(em_tcp_conn *c, int status) {
    assert_int_equal(status, 0);
    assert_int_equal(em_tls_handshake(c, &side_cbs, side_on_connect), 0);
}

static void test_attach_then_handshake(void **state) {
    em_tls_ctx *s = server_ctx(&leaf, NULL), *c = client_ctx(NULL);
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    em_tcp_listener l;
    em_sockaddr a = em_sockaddr_loopback4(0), addr;
    assert_int_equal(em_tcp_listen(&l, &a, NULL), 0);
    assert_int_equal(em_tcp_listener_addr(&l, &addr), 0);
    side srv, cli;
    side_init(&srv, true);
    side_init(&cli, false);
    assert_int_equal(em_tcp_conn_connect(&loop, &cli.c, &addr, &side_cbs, NULL, on_tcp), 0);
    assert_false(em_tls_conn_is_tls(&cli.c));
    assert_int_equal(em_tls_attach(&cli.c, c, "localhost"), 0);
    assert_true(em_tls_conn_is_tls(&cli.c));
    assert_int_equal(em_tls_handshake(&srv.c, &side_cbs, side_on_connect), EM_EINVAL);
    side_accept(&loop, &srv, &l, s, NULL);
    assert_int_equal(em_tls_handshake(&srv.c, &side_cbs, side_on_connect), EM_EINVAL);
    EM_TEST_RUN_UNTIL(&loop, cli.connected, 5000);
    assert_int_equal(cli.status, 0);
    assert_string_equal(em_tls_conn_error(&cli.c), "");
    em_tcp_conn_close(&cli.c, side_close_cb);
    EM_TEST_RUN_UNTIL(&loop, cli.closed && srv.closed, 5000);
    em_tcp_listener_close(&l);
    side_done(&srv);
    side_done(&cli);
    assert_int_equal(em_loop_close(&loop), 0);
    em_tls_ctx_free(c);
    em_tls_ctx_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo),
        cmocka_unit_test(test_echo_small_reads),
        cmocka_unit_test(test_verify_failures),
        cmocka_unit_test(test_name_matching),
        cmocka_unit_test(test_trailing_dot_name),
        cmocka_unit_test(test_wildcard_public_suffix),
        cmocka_unit_test(test_verifying_client_needs_a_name),
        cmocka_unit_test(test_insecure_and_other_ca),
        cmocka_unit_test(test_client_cert),
        cmocka_unit_test(test_sni_and_alpn),
        cmocka_unit_test(test_client_cert_with_sni),
        cmocka_unit_test(test_alpn_none_in_common),
        cmocka_unit_test(test_resumption),
        cmocka_unit_test(test_small_reads_keep_one_chunk),
        cmocka_unit_test(test_ticket_rotation_tls13),
        cmocka_unit_test(test_ticket_rotation_tls12),
        cmocka_unit_test(test_ticket_key_shared),
        cmocka_unit_test(test_garbage_and_timeout),
        cmocka_unit_test(test_large_backpressure),
        cmocka_unit_test(test_attach_then_handshake),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

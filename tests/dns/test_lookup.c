/* dns/lookup.c: lookups on the loop against the scripted fake server. */
#include <errno.h>
#include <sys/socket.h>

#include "dns_internal.h"
#include "dns_test_util.h"

#define WAIT_MS 10000

static char thirty_a[1024], thirty_aaaa[2048];

static const fake_dns_rule rules[] = {
    { .name = "both.test", .a = "192.0.2.1", .aaaa = "2001:db8::1", .ttl = 60 },
    { .name = "a-only.test", .a = "192.0.2.2" },
    { .name = "aaaa-only.test", .aaaa = "2001:db8::2" },
    { .name = "nodata.test" },
    { .name = "servfail.test", .rcode = 2 },
    { .name = "refused.test", .rcode = 5 },
    { .name = "nx.test", .rcode = 3 },
    { .name = "silent.test", .silent = true },
    { .name = "late.test", .a = "192.0.2.3", .aaaa = "2001:db8::3", .aaaa_delay_ms = 300 },
    { .name = "tc.test", .a = "192.0.2.4", .tc = true },
    { .name = "c1.test", .cname = "c2.test", .ttl = 30 },
    { .name = "c2.test", .cname = "both.test", .ttl = 20 },
    { .name = "thirty.test", .a = thirty_a, .aaaa = thirty_aaaa },
    { .name = "short.search.test", .a = "192.0.2.5" },
    { .name = "*.bulk.test", .a = "192.0.2.6", .aaaa = "2001:db8::6" },
    { .name = "ttl.test", .a = "192.0.2.7", .ttl = 5 },
};

typedef struct ctx {
    em_loop loop;
    em_dns_resolver r;
    em_dns_resolver_opts opts;
    dns_env env;
    fake_dns *fake;
    bool closed;
    uint64_t fake_now;
} ctx;

typedef struct probe {
    em_dns_lookup l;
    ctx *c;
    unsigned calls;
    int status[2];
    em_dns_family family[2];
    bool active_in_cb[2];
    em_dns_result res[2]; /* copies */
    uint64_t at_ms[2];
    bool cancel_in_first;
} probe;

static void on_answer(em_dns_lookup *l, int status, const em_dns_result *res) {
    probe *p = EM_CONTAINER_OF(l, probe, l);
    assert_true(p->calls < 2);
    unsigned i = p->calls++;
    p->status[i] = status;
    p->family[i] = res->family;
    p->active_in_cb[i] = em_dns_lookup_active(l);
    p->at_ms[i] = em_loop_now(&p->c->loop);
    if (status == 0) {
        assert_true(res->count > 0);
        assert_int_equal(em__dns_result_set(&p->res[i], res->addrs, res->count, res->family,
                                            res->source, res->ttl),
                         0);
    } else {
        assert_int_equal(res->count, 0);
    }
    if (p->cancel_in_first && i == 0)
        assert_true(em_dns_lookup_cancel(l));
}

static void probe_free(probe *p) {
    em_dns_result_free(&p->res[0]);
    em_dns_result_free(&p->res[1]);
}

static uint64_t fake_clock(void *arg) { return ((ctx *)arg)->fake_now; }

static void ctx_open(ctx *c, const char *resolv) {
    memset(c, 0, sizeof *c);
    c->fake = fake_dns_start(rules, sizeof rules / sizeof rules[0]);
    assert_non_null(c->fake);
    assert_int_equal(em_loop_init(&c->loop), 0);
    dns_env_init(&c->env, resolv, c->fake, &c->opts);
}

static void ctx_start(ctx *c) { assert_int_equal(em_dns_resolver_init(&c->loop, &c->r, &c->opts), 0); }

static void on_closed(em_dns_resolver *r) { ((ctx *)r->data)->closed = true; }

static void ctx_close(ctx *c) {
    c->r.data = c;
    em_dns_resolver_close(&c->r, on_closed);
    assert_false(c->closed); /* never inside the call */
    EM_TEST_RUN_UNTIL(&c->loop, c->closed, WAIT_MS);
    assert_int_equal(em_loop_close(&c->loop), 0);
    fake_dns_stop(c->fake);
    dns_env_free(&c->env);
}

static void start(ctx *c, probe *p, const char *host, em_dns_family fam, bool each) {
    memset(p, 0, sizeof *p);
    p->c = c;
    em_dns_lookup_opts o = { .family = fam, .each_family = each };
    assert_int_equal(em_dns_lookup_start(&c->r, &p->l, host, &o, on_answer), 0);
    assert_int_equal(p->calls, 0); /* never inside the call */
    assert_true(em_dns_lookup_active(&p->l));
}

static void run_one(ctx *c, probe *p, const char *host, em_dns_family fam) {
    start(c, p, host, fam, false);
    EM_TEST_RUN_UNTIL(&c->loop, p->calls == 1, WAIT_MS);
    assert_false(p->active_in_cb[0]);
    assert_false(em_dns_lookup_active(&p->l));
}

static void test_answers(void **state) {
    ctx c;
    ctx_open(&c, NULL);
    ctx_start(&c);
    probe p;
    run_one(&c, &p, "both.test", EM_DNS_ANY);
    assert_int_equal(p.status[0], 0);
    assert_int_equal(p.res[0].count, 2);
    assert_int_equal(p.family[0], EM_DNS_ANY);
    assert_int_equal(p.res[0].source, EM_DNS_SOURCE_DNS);
    assert_true(dns_has(&p.res[0], "192.0.2.1") && dns_has(&p.res[0], "2001:db8::1"));
    assert_int_equal(p.res[0].ttl, 60);
    probe_free(&p);

    run_one(&c, &p, "a-only.test", EM_DNS_ANY); /* AAAA NODATA does not spoil A */
    assert_int_equal(p.status[0], 0);
    assert_int_equal(p.res[0].count, 1);
    assert_true(dns_has(&p.res[0], "192.0.2.2"));
    probe_free(&p);
    run_one(&c, &p, "a-only.test", EM_DNS_V6);
    assert_int_equal(p.status[0], EM_ENOTFOUND);
    assert_int_equal(p.family[0], EM_DNS_V6);
    run_one(&c, &p, "aaaa-only.test", EM_DNS_V4);
    assert_int_equal(p.status[0], EM_ENOTFOUND);
    run_one(&c, &p, "aaaa-only.test", EM_DNS_V6);
    assert_int_equal(p.status[0], 0);
    assert_int_equal(p.family[0], EM_DNS_V6);
    assert_true(dns_has(&p.res[0], "2001:db8::2"));
    probe_free(&p);
    run_one(&c, &p, "BOTH.Test.", EM_DNS_V4); /* case and the root dot */
    assert_int_equal(p.status[0], 0);
    assert_true(dns_has(&p.res[0], "192.0.2.1"));
    probe_free(&p);
    ctx_close(&c);
}

static void test_errors(void **state) {
    ctx c;
    ctx_open(&c, NULL);
    c.opts.timeout_ms = 100;
    c.opts.tries = 1;
    ctx_start(&c);
    static const struct {
        const char *name;
        int want;
    } cases[] = {
        { "nx.test", EM_ENOTFOUND },       { "unknown.test", EM_ENOTFOUND },
        { "nodata.test", EM_ENOTFOUND },   { "servfail.test", EM_EDNSFAIL },
        { "refused.test", EM_EDNSFAIL },   { "silent.test", EM_ETIMEDOUT },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        probe p;
        run_one(&c, &p, cases[i].name, EM_DNS_ANY);
        if (p.status[0] != cases[i].want)
            fail_msg("%s: got %s", cases[i].name, em_err_name(p.status[0]));
        assert_int_equal(p.family[0], EM_DNS_ANY);
    }
    ctx_close(&c);
}

static void test_bad_names(void **state) {
    ctx c;
    ctx_open(&c, NULL);
    ctx_start(&c);
    static const char *const bad[] = { "", "a..b", "a b", "a/b", "user@host", "x\r\ny",
                                       "1.2.3", "[1.2.3.4]", "[::1", "\x80.test" };
    probe p = { 0 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(em_dns_lookup_start(&c.r, &p.l, bad[i], NULL, on_answer), EM_EINVAL);
    em_dns_lookup_opts o = { .family = 5 };
    assert_int_equal(em_dns_lookup_start(&c.r, &p.l, "both.test", &o, on_answer), EM_EINVAL);
    assert_int_equal(p.calls, 0);
    assert_false(em_dns_lookup_active(&p.l));
    assert_false(em_dns_lookup_cancel(&p.l));
    ctx_close(&c);
}

static void test_literals_and_localhost(void **state) {
    ctx c;
    ctx_open(&c, NULL);
    ctx_start(&c);
    probe p;
    run_one(&c, &p, "192.0.2.9", EM_DNS_ANY);
    assert_int_equal(p.status[0], 0);
    assert_int_equal(p.res[0].count, 1);
    assert_int_equal(p.res[0].source, EM_DNS_SOURCE_LITERAL);
    assert_true(dns_has(&p.res[0], "192.0.2.9"));
    probe_free(&p);
    run_one(&c, &p, "[2001:db8::9]", EM_DNS_ANY);
    assert_int_equal(p.status[0], 0);
    assert_true(dns_has(&p.res[0], "2001:db8::9"));
    probe_free(&p);
    run_one(&c, &p, "2001:db8::9", EM_DNS_V6);
    assert_int_equal(p.status[0], 0);
    probe_free(&p);
    run_one(&c, &p, "2001:db8::9", EM_DNS_V4);
    assert_int_equal(p.status[0], EM_EAFNOSUPPORT);

    static const char *const locals[] = { "localhost", "LocalHost.", "app.localhost",
                                          "a.b.localhost" };
    for (size_t i = 0; i < 4; i++) {
        run_one(&c, &p, locals[i], EM_DNS_ANY);
        assert_int_equal(p.status[0], 0);
        assert_int_equal(p.res[0].count, 2);
        assert_int_equal(p.res[0].source, EM_DNS_SOURCE_LOCALHOST);
        assert_true(dns_has(&p.res[0], "::1") && dns_has(&p.res[0], "127.0.0.1"));
        probe_free(&p);
    }
    run_one(&c, &p, "localhost", EM_DNS_V4);
    assert_int_equal(p.res[0].count, 1);
    assert_true(dns_has(&p.res[0], "127.0.0.1"));
    probe_free(&p);
    /* None of them asked the server. */
    assert_int_equal(fake_dns_queries(c.fake, "localhost", 0), 0);
    assert_int_equal(fake_dns_queries(c.fake, "app.localhost", 0), 0);
    ctx_close(&c);
}

/* RFC 6761 §6.4: "invalid" and names under it get a negative answer at
 * once, from the loop, with no query: the only server is a UDP socket this
 * test owns and never reads until the end, and a hosts-file line or a
 * search list must not make them resolvable either. */
static void test_special_invalid(void **state) {
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    em_sockaddr sa = em_sockaddr_loopback4(0);
    assert_true(sock >= 0);
    assert_int_equal(bind(sock, &sa.u.sa, em_sockaddr_len(&sa)), 0);
    assert_int_equal(em_sock_local_addr(sock, &sa), 0);
    char server[EM_SOCKADDR_STRLEN];
    assert_true(em_sockaddr_format(&sa, server, sizeof server) > 0);

    ctx c;
    ctx_open(&c, "search search.test\noptions ndots:5\n");
    dns_write_file(c.env.hosts, "192.0.2.88 listed.invalid\n");
    c.opts.servers = server;
    c.opts.timeout_ms = 100; /* a query, if one went out, fails as a timeout */
    c.opts.tries = 1;
    ctx_start(&c);
    static const char *const names[] = { "nonexistent.invalid", "INVALID.", "invalid",
                                         "a.b.Invalid.", "localhost.invalid", "listed.invalid" };
    static const em_dns_family fams[] = { EM_DNS_ANY, EM_DNS_V4, EM_DNS_V6 };
    probe p;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        for (size_t f = 0; f < 3; f++) {
            run_one(&c, &p, names[i], fams[f]);
            if (p.status[0] != EM_ENOTFOUND)
                fail_msg("%s (family %d): got %s", names[i], (int)fams[f],
                         em_err_name(p.status[0]));
        }
    start(&c, &p, "nonexistent.invalid", EM_DNS_ANY, true); /* one call per family */
    EM_TEST_RUN_UNTIL(&c.loop, p.calls == 2, WAIT_MS);
    assert_int_equal(p.status[0], EM_ENOTFOUND);
    assert_int_equal(p.status[1], EM_ENOTFOUND);
    assert_int_equal(p.family[0] + p.family[1], EM_DNS_V4 + EM_DNS_V6);
    ctx_close(&c);

    char buf[512];
    ssize_t n = recv(sock, buf, sizeof buf, MSG_DONTWAIT);
    if (n >= 0)
        fail_msg("the server socket got a %zd-byte datagram", n);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    close(sock);
}

/* AAAA late by 300 ms: with each_family the A answer comes first, alone. */
static void test_each_family_late_aaaa(void **state) {
    ctx c;
    ctx_open(&c, NULL);
    ctx_start(&c);
    probe p;
    start(&c, &p, "late.test", EM_DNS_ANY, true);
    uint64_t t0 = em_loop_now(&c.loop);
    EM_TEST_RUN_UNTIL(&c.loop, p.calls == 2, WAIT_MS);
    assert_int_equal(p.family[0], EM_DNS_V4);
    assert_true(p.active_in_cb[0]);
    assert_true(dns_has(&p.res[0], "192.0.2.3"));
    assert_int_equal(p.family[1], EM_DNS_V6);
    assert_false(p.active_in_cb[1]);
    assert_true(dns_has(&p.res[1], "2001:db8::3"));
    assert_true(p.at_ms[0] - t0 < 250);
    assert_true(p.at_ms[1] - t0 >= 250);
    probe_free(&p);

    /* Merged, the same lookup waits for both. */
    run_one(&c, &p, "late.test", EM_DNS_ANY);
    assert_int_equal(p.res[0].count, 2);
    probe_free(&p);
    ctx_close(&c);
}

static void test_per_lookup_timeout(void **state) {
    ctx c;
    ctx_open(&c, NULL);
    c.opts.timeout_ms = 2000; /* the resolver would wait far longer */
    ctx_start(&c);
    probe p;
    memset(&p, 0, sizeof p);
    p.c = &c;
    em_dns_lookup_opts o = { .family = EM_DNS_ANY, .each_family = true, .timeout_ms = 100 };
    assert_int_equal(em_dns_lookup_start(&c.r, &p.l, "late.test", &o, on_answer), 0);
    uint64_t t0 = em_loop_now(&c.loop);
    EM_TEST_RUN_UNTIL(&c.loop, p.calls == 2, WAIT_MS);
    assert_int_equal(p.status[0], 0); /* A in time */
    assert_int_equal(p.status[1], EM_ETIMEDOUT);
    assert_int_equal(p.family[1], EM_DNS_V6);
    assert_true(p.at_ms[1] - t0 < 280);
    probe_free(&p);

    memset(&p, 0, sizeof p);
    p.c = &c;
    o.each_family = false;
    assert_int_equal(em_dns_lookup_start(&c.r, &p.l, "silent.test", &o, on_answer), 0);
    EM_TEST_RUN_UNTIL(&c.loop, p.calls == 1, WAIT_MS);
    assert_int_equal(p.status[0], EM_ETIMEDOUT);
    ctx_close(&c); /* the silent queries still inside c-ares are destroyed */
}

static void test_tcp_fallback_cname_thirty(void **state) {
    for (int i = 0; i < 30; i++) {
        char *a = thirty_a + strlen(thirty_a), *b = thirty_aaaa + strlen(thirty_aaaa);
        sprintf(a, "%s198.51.100.%d", i ? "," : "", i + 1);
        sprintf(b, "%s2001:db8:30::%x", i ? "," : "", i + 1);
    }
    ctx c;
    ctx_open(&c, NULL);
    ctx_start(&c);
    probe p;
    run_one(&c, &p, "tc.test", EM_DNS_V4);
    assert_int_equal(p.status[0], 0);
    assert_true(dns_has(&p.res[0], "192.0.2.4"));
    assert_true(fake_dns_tcp_queries(c.fake) >= 1);
    probe_free(&p);

    run_one(&c, &p, "c1.test", EM_DNS_ANY); /* c1 -> c2 -> both */
    assert_int_equal(p.status[0], 0);
    assert_int_equal(p.res[0].count, 2);
    assert_true(dns_has(&p.res[0], "192.0.2.1") && dns_has(&p.res[0], "2001:db8::1"));
    assert_int_equal(p.res[0].ttl, 20); /* the shortest link of the chain */
    probe_free(&p);

    unsigned tcp_before = fake_dns_tcp_queries(c.fake);
    run_one(&c, &p, "thirty.test", EM_DNS_ANY);
    assert_int_equal(p.status[0], 0);
    assert_int_equal(p.res[0].count, 60);
    assert_true(dns_has(&p.res[0], "198.51.100.30") && dns_has(&p.res[0], "2001:db8:30::1e"));
    assert_true(fake_dns_tcp_queries(c.fake) > tcp_before); /* 30 AAAA pass 512 bytes */
    probe_free(&p);
    ctx_close(&c);
}

static void on_tick(em_timer *t) { *(bool *)t->data = true; }

static void wait_ms(ctx *c, uint64_t ms) {
    em_timer t;
    bool done = false;
    em_timer_init(&c->loop, &t, on_tick);
    t.data = &done;
    em_timer_start(&t, ms, 0);
    EM_TEST_RUN_UNTIL(&c->loop, done, WAIT_MS);
}

static void test_cancel(void **state) {
    ctx c;
    ctx_open(&c, NULL);
    ctx_start(&c);
    probe p[4];
    start(&c, &p[0], "late.test", EM_DNS_ANY, false);
    start(&c, &p[1], "silent.test", EM_DNS_ANY, false);
    start(&c, &p[2], "localhost", EM_DNS_ANY, false); /* answer already queued */
    assert_true(em_dns_lookup_cancel(&p[0].l));
    assert_true(em_dns_lookup_cancel(&p[1].l));
    assert_true(em_dns_lookup_cancel(&p[2].l));
    assert_false(em_dns_lookup_cancel(&p[2].l));
    assert_false(em_dns_lookup_active(&p[0].l));
    /* Cancel the second family from the first's callback. */
    start(&c, &p[3], "late.test", EM_DNS_ANY, true);
    p[3].cancel_in_first = true;
    wait_ms(&c, 450);
    for (int i = 0; i < 3; i++)
        assert_int_equal(p[i].calls, 0);
    assert_int_equal(p[3].calls, 1);
    assert_int_equal(p[3].family[0], EM_DNS_V4);
    probe_free(&p[3]);
    /* A cancelled lookup can be started again. */
    start(&c, &p[0], "both.test", EM_DNS_V4, false);
    EM_TEST_RUN_UNTIL(&c.loop, p[0].calls == 1, WAIT_MS);
    probe_free(&p[0]);
    ctx_close(&c);
}

static void test_close_aborts(void **state) {
    ctx c;
    ctx_open(&c, NULL);
    ctx_start(&c);
    probe p[2];
    start(&c, &p[0], "silent.test", EM_DNS_ANY, false);
    start(&c, &p[1], "late.test", EM_DNS_ANY, true);
    c.r.data = &c;
    em_dns_resolver_close(&c.r, on_closed);
    probe q = { .c = &c };
    assert_int_equal(em_dns_lookup_start(&c.r, &q.l, "both.test", NULL, on_answer), EM_ECLOSED);
    EM_TEST_RUN_UNTIL(&c.loop, c.closed, WAIT_MS);
    assert_int_equal(p[0].calls, 1);
    assert_int_equal(p[0].status[0], EM_ECANCELED);
    assert_int_equal(p[1].calls, 2);
    assert_int_equal(p[1].status[0], EM_ECANCELED);
    assert_int_equal(p[1].status[1], EM_ECANCELED);
    assert_int_equal(em_loop_close(&c.loop), 0);
    fake_dns_stop(c.fake);
    dns_env_free(&c.env);
}

#define N_BULK 1000

static unsigned bulk_done, bulk_ok;

static void on_bulk(em_dns_lookup *l, int status, const em_dns_result *res) {
    bulk_done++;
    bulk_ok += status == 0 && res->count == 2;
    if (status || res->count != 2)
        fprintf(stderr, "bulk: %s %zu\n", em_err_name(status), res->count);
}

static void test_thousand_concurrent(void **state) {
    ctx c;
    ctx_open(&c, NULL);
    c.opts.timeout_ms = 1000;
    c.opts.tries = 4;
    ctx_start(&c);
    em_dns_lookup *ls = calloc(N_BULK, sizeof *ls);
    assert_non_null(ls);
    bulk_done = bulk_ok = 0;
    for (int i = 0; i < N_BULK; i++) {
        char name[64];
        snprintf(name, sizeof name, "n%d.bulk.test", i);
        assert_int_equal(em_dns_lookup_start(&c.r, &ls[i], name, NULL, on_bulk), 0);
    }
    EM_TEST_RUN_UNTIL(&c.loop, bulk_done == N_BULK, 60000);
    assert_int_equal(bulk_ok, N_BULK);
    free(ls);
    ctx_close(&c);
}

static void test_cache_on_fake_clock(void **state) {
    ctx c;
    ctx_open(&c, NULL);
    ctx_start(&c);
    c.fake_now = 1000000;
    em__dns_resolver_set_clock(&c.r, fake_clock, &c);
    probe p;
    run_one(&c, &p, "ttl.test", EM_DNS_V4); /* TTL 5 s */
    assert_int_equal(p.res[0].source, EM_DNS_SOURCE_DNS);
    probe_free(&p);
    c.fake_now += 4000;
    run_one(&c, &p, "ttl.test", EM_DNS_V4);
    assert_int_equal(p.res[0].source, EM_DNS_SOURCE_CACHE);
    assert_int_equal(p.res[0].ttl, 1);
    probe_free(&p);
    assert_int_equal(fake_dns_queries(c.fake, "ttl.test", 1), 1);
    c.fake_now += 1000; /* expired */
    run_one(&c, &p, "ttl.test", EM_DNS_V4);
    assert_int_equal(p.res[0].source, EM_DNS_SOURCE_DNS);
    probe_free(&p);
    assert_int_equal(fake_dns_queries(c.fake, "ttl.test", 1), 2);

    /* Negative entries: NXDOMAIN kept for negative_ttl (5 s). */
    run_one(&c, &p, "nx.test", EM_DNS_V4);
    assert_int_equal(p.status[0], EM_ENOTFOUND);
    run_one(&c, &p, "nx.test", EM_DNS_V4);
    assert_int_equal(p.status[0], EM_ENOTFOUND);
    assert_int_equal(fake_dns_queries(c.fake, "nx.test", 1), 1);
    c.fake_now += 5000;
    run_one(&c, &p, "nx.test", EM_DNS_V4);
    assert_int_equal(fake_dns_queries(c.fake, "nx.test", 1), 2);

    /* Merged from cache: both families cached, nothing asked. */
    run_one(&c, &p, "both.test", EM_DNS_ANY);
    probe_free(&p);
    run_one(&c, &p, "both.test", EM_DNS_ANY);
    assert_int_equal(p.res[0].source, EM_DNS_SOURCE_CACHE);
    probe_free(&p);
    assert_int_equal(fake_dns_queries(c.fake, "both.test", 0), 2);
    ctx_close(&c);
}

static void test_no_cache(void **state) {
    ctx c;
    ctx_open(&c, NULL);
    c.opts.no_cache = true;
    ctx_start(&c);
    probe p;
    for (int i = 0; i < 2; i++) {
        run_one(&c, &p, "both.test", EM_DNS_V4);
        assert_int_equal(p.res[0].source, EM_DNS_SOURCE_DNS);
        probe_free(&p);
    }
    assert_int_equal(fake_dns_queries(c.fake, "both.test", 1), 2);
    ctx_close(&c);
}

static void test_hosts_file(void **state) {
    ctx c;
    ctx_open(&c, NULL);
    dns_write_file(c.env.hosts, "# comment\n192.0.2.77 hosty.test alias.test # trailing\n"
                                "not-an-ip nope.test\n2001:db8::77 hosty.test\n");
    ctx_start(&c);
    probe p;
    run_one(&c, &p, "HOSTY.test", EM_DNS_ANY);
    assert_int_equal(p.status[0], 0);
    assert_int_equal(p.res[0].count, 2);
    assert_int_equal(p.res[0].source, EM_DNS_SOURCE_HOSTS);
    probe_free(&p);
    run_one(&c, &p, "alias.test", EM_DNS_V4);
    assert_true(dns_has(&p.res[0], "192.0.2.77"));
    probe_free(&p);
    run_one(&c, &p, "alias.test", EM_DNS_V6); /* not in the file: asks DNS */
    assert_int_equal(p.status[0], EM_ENOTFOUND);
    assert_int_equal(fake_dns_queries(c.fake, "hosty.test", 0), 0);
    assert_int_equal(fake_dns_queries(c.fake, "alias.test", 28), 1);
    assert_int_equal(fake_dns_queries(c.fake, "alias.test", 1), 0);
    ctx_close(&c);
}

/* A name the hosts file has for one family only: an ANY lookup is
 * answered from the file alone, as glibc's "files" and c-ares' own hosts
 * lookup do; asking DNS for the other family leaked the name and let a
 * DNS AAAA go ahead of the file's IPv4 address. */
static void test_hosts_file_one_family(void **state) {
    ctx c;
    ctx_open(&c, NULL);
    dns_write_file(c.env.hosts, "192.0.2.99 both.test\n");
    ctx_start(&c);
    probe p;
    run_one(&c, &p, "both.test", EM_DNS_ANY);
    assert_int_equal(p.status[0], 0);
    assert_int_equal(p.res[0].count, 1);
    assert_true(dns_has(&p.res[0], "192.0.2.99"));
    assert_int_equal(p.res[0].source, EM_DNS_SOURCE_HOSTS);
    probe_free(&p);
    assert_int_equal(fake_dns_queries(c.fake, "both.test", 0), 0);
    /* Not from the cache either: a family-only lookup may ask DNS, but
     * its answer does not join the file's in an ANY lookup. */
    run_one(&c, &p, "both.test", EM_DNS_V6);
    assert_int_equal(p.status[0], 0);
    probe_free(&p);
    run_one(&c, &p, "both.test", EM_DNS_ANY);
    assert_int_equal(p.res[0].count, 1);
    assert_true(dns_has(&p.res[0], "192.0.2.99"));
    probe_free(&p);
    ctx_close(&c);
}

/* resolv.conf's search list, and no_search turning it off. */
static void test_search(void **state) {
    ctx c;
    ctx_open(&c, "search search.test\noptions ndots:1\n");
    ctx_start(&c);
    probe p;
    run_one(&c, &p, "short", EM_DNS_V4);
    assert_int_equal(p.status[0], 0);
    assert_true(dns_has(&p.res[0], "192.0.2.5"));
    probe_free(&p);
    ctx_close(&c);

    /* "short." is absolute: never searched, and not the cached answer of
     * "short", which the search list made short.search.test. */
    ctx_open(&c, "search search.test\noptions ndots:1\n");
    ctx_start(&c);
    run_one(&c, &p, "short", EM_DNS_V4);
    assert_int_equal(p.status[0], 0);
    probe_free(&p);
    run_one(&c, &p, "short.", EM_DNS_V4);
    assert_int_equal(p.status[0], EM_ENOTFOUND);
    probe_free(&p);
    run_one(&c, &p, "short", EM_DNS_V4); /* and the other way round */
    assert_int_equal(p.status[0], 0);
    probe_free(&p);
    ctx_close(&c);

    ctx_open(&c, "search search.test\n");
    c.opts.no_search = true;
    ctx_start(&c);
    run_one(&c, &p, "short", EM_DNS_V4);
    assert_int_equal(p.status[0], EM_ENOTFOUND);
    assert_int_equal(fake_dns_queries(c.fake, "short.search.test", 0), 0);
    ctx_close(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_literals_and_localhost),
        cmocka_unit_test(test_special_invalid),
        cmocka_unit_test(test_each_family_late_aaaa),
        cmocka_unit_test(test_per_lookup_timeout),
        cmocka_unit_test(test_tcp_fallback_cname_thirty),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_close_aborts),
        cmocka_unit_test(test_thousand_concurrent),
        cmocka_unit_test(test_cache_on_fake_clock),
        cmocka_unit_test(test_no_cache),
        cmocka_unit_test(test_hosts_file),
        cmocka_unit_test(test_hosts_file_one_family),
        cmocka_unit_test(test_search),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

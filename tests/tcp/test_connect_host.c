/* tcp/connect_host.c: connect by name, Happy Eyeballs v2 (RFC 8305),
 * against the scripted fake DNS server.
 *
 * The ordinary run uses 127.0.0.x and ::1: refusals are closed ports, and
 * a "silent" address is a listener whose accept queue is full (backlog 0
 * and one connection never accepted), so Linux drops further SYNs without
 * an answer, as a black hole would. A sampler reads /proc/net/tcp{,6}
 * every 2 ms for our SYN_SENT sockets: when each attempt started, and to
 * which address.
 *
 * With EMBER_HE_NETNS=1 it runs the namespace group instead, inside the
 * namespace tests/tcp/netns_happy.sh builds (addresses on its loopback,
 * SYNs dropped or reset by ip6tables/iptables, an unrouted prefix). */
#include <dirent.h>
#include <stdio.h>
#include <time.h>

#include "dns_test_util.h"
#include "tcp_test_util.h"

#define WAIT_MS 10000

static const fake_dns_rule rules[] = {
    { .name = "both.test", .a = "127.0.0.1", .aaaa = "::1" },
    { .name = "v4.test", .a = "127.0.0.1" },
    { .name = "v6.test", .aaaa = "::1" },
    { .name = "late.test", .a = "127.0.0.1", .aaaa = "::1", .aaaa_delay_ms = 300 },
    { .name = "early.test", .a = "127.0.0.1", .aaaa = "::1", .aaaa_delay_ms = 15 },
    { .name = "inter.test", .a = "127.0.0.2,127.0.0.3,127.0.0.4", .aaaa = "::1" },
    { .name = "nx.test", .rcode = 3 },
    { .name = "servfail.test", .rcode = 2 },
    { .name = "silent.test", .silent = true },
    /* the namespace group (tests/tcp/netns_happy.sh) */
    { .name = "ns-both.test", .a = "192.0.2.1", .aaaa = "2001:db8::1" },
    { .name = "ns-drop6.test", .a = "192.0.2.1", .aaaa = "2001:db8:0:66::1" },
    { .name = "ns-reset6.test", .a = "192.0.2.1", .aaaa = "2001:db8:0:77::1" },
    { .name = "ns-unrouted6.test", .a = "192.0.2.1", .aaaa = "2001:db8:dead::1" },
    { .name = "ns-late0.test", .a = "192.0.2.1", .aaaa = "2001:db8::1" },
    { .name = "ns-late20.test", .a = "192.0.2.1", .aaaa = "2001:db8::1", .aaaa_delay_ms = 20 },
    { .name = "ns-late100.test", .a = "192.0.2.1", .aaaa = "2001:db8::1", .aaaa_delay_ms = 100 },
    { .name = "ns-late300.test", .a = "192.0.2.1", .aaaa = "2001:db8::1", .aaaa_delay_ms = 300 },
    { .name = "ns-late500.test", .a = "192.0.2.1", .aaaa = "2001:db8::1", .aaaa_delay_ms = 500 },
    { .name = "ns-inter.test", .a = "192.0.2.65,192.0.2.66,192.0.2.67",
      .aaaa = "2001:db8:0:66::1,2001:db8:0:66::2,2001:db8:0:66::3" },
    { .name = "ns-allfail.test", .a = "192.0.2.97", .aaaa = "2001:db8:0:77::1" },
    /* a ULA (dropped) behind IPv4 in RFC 6724 order; its AAAA comes
     * inside the resolution delay, so both are known at the first attempt */
    { .name = "ns-ula.test", .a = "192.0.2.1", .aaaa = "fd00:66::1", .aaaa_delay_ms = 20 },
};

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the SYN_SENT sampler ------------------------------------------------ */

#define MAX_SEEN 16

typedef struct sampler {
    em_timer t;
    uint16_t port;
    uint64_t t0;
    unsigned n;
    em_ip ip[MAX_SEEN];
    uint64_t at[MAX_SEEN]; /* ms after t0 */
} sampler;

static void sample_file(sampler *s, const char *path, bool v6) {
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    if (!fgets(line, sizeof line, f)) { /* header */
        fclose(f);
        return;
    }
    while (fgets(line, sizeof line, f)) {
        char local[64], rem[64];
        unsigned st;
        if (sscanf(line, "%*u: %63s %63s %x", local, rem, &st) != 3 || st != 2) /* SYN_SENT */
            continue;
        char *colon = strchr(rem, ':');
        if (!colon || (uint16_t)strtoul(colon + 1, NULL, 16) != s->port)
            continue;
        em_ip ip;
        uint8_t b[16];
        for (int w = 0; w < (v6 ? 4 : 1); w++) {
            char word[9];
            memcpy(word, rem + 8 * w, 8);
            word[8] = 0;
            uint32_t v = (uint32_t)strtoul(word, NULL, 16);
            memcpy(b + 4 * w, &v, 4); /* the kernel prints each word in host order */
        }
        if (v6) {
            ip = em_ip6_make(b, 0);
        } else {
            uint32_t v4 = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
            ip = em_ip4_make(v4);
        }
        bool seen = false;
        for (unsigned i = 0; i < s->n; i++)
            seen = seen || em_ip_equal(&s->ip[i], &ip);
        if (!seen && s->n < MAX_SEEN) {
            s->ip[s->n] = ip;
            s->at[s->n++] = now_ms() - s->t0;
        }
    }
    fclose(f);
}

static void on_sample(em_timer *t) {
    sampler *s = EM_CONTAINER_OF(t, sampler, t);
    sample_file(s, "/proc/net/tcp6", true);
    sample_file(s, "/proc/net/tcp", false);
}

static void sampler_start(sampler *s, em_loop *loop, uint16_t port) {
    memset(s, 0, sizeof *s);
    s->port = port;
    s->t0 = now_ms();
    em_timer_init(loop, &s->t, on_sample);
    em_timer_start(&s->t, 1, 2);
}

static bool seen_is(const sampler *s, unsigned i, const char *text) {
    em_ip want;
    return i < s->n && em_ip_parse(&want, text, strlen(text)) == 0 &&
           em_ip_equal(&s->ip[i], &want);
}

/* Attempts came one attempt delay apart: not much sooner (the sampler
 * itself may see one late on a loaded machine) and not much later. */
static void check_spacing(const sampler *s, uint64_t delay) {
    uint64_t span = s->at[s->n - 1] - s->at[0];
    for (unsigned i = 1; i < s->n; i++)
        assert_true(s->at[i] - s->at[i - 1] + 40 >= delay);
    assert_true(span + 30 >= (s->n - 1) * delay);
    assert_true(span < (s->n - 1) * delay + 250);
}

static void sampler_print(const sampler *s, const char *what) {
    for (unsigned i = 0; i < s->n; i++) {
        char buf[EM_IP_STRLEN];
        (void)em_ip_format(&s->ip[i], buf, sizeof buf);
        printf("# %s: attempt %u to %s at %llu ms\n", what, i + 1, buf,
               (unsigned long long)s->at[i]);
    }
}

/* ---- listeners ------------------------------------------------------------ */

/* A listener on text:port (port 0: any; *port gets it). silent: backlog 0
 * with its one queue slot taken by *filler, so later SYNs are dropped.
 * Returns the fd, or -1 when the address is unavailable. */
static int listen_on(const char *text, uint16_t *port, bool silent, int *filler) {
    em_sockaddr a;
    em_ip ip;
    assert_int_equal(em_ip_parse(&ip, text, strlen(text)), 0);
    em_sockaddr_from_ip(&a, &ip, *port);
    int fd = em_sock_open(em_sockaddr_family(&a), SOCK_STREAM, false);
    assert_true(fd >= 0);
    (void)em_sock_set_reuseaddr(fd, true);
    if (ip.family == EM_IP_V6)
        (void)em_sock_set_v6only(fd, true);
    if (bind(fd, &a.u.sa, em_sockaddr_len(&a)) != 0 || listen(fd, silent ? 0 : 64) != 0) {
        close(fd);
        return -1;
    }
    em_sockaddr got;
    assert_int_equal(em_sock_local_addr(fd, &got), 0);
    *port = em_sockaddr_port(&got);
    if (silent) {
        em_tcp_stream s;
        assert_int_equal(em_tcp_connect(&s, &got, 2000), 0);
        *filler = s.fd;
    }
    return fd;
}

/* ---- the async face ------------------------------------------------------- */

typedef struct ctx {
    em_loop loop;
    em_dns_resolver r;
    em_dns_resolver_opts opts;
    dns_env env;
    fake_dns *fake;
    bool r_closed;
    int fds_before;
} ctx;

typedef struct hc {
    em_tcp_conn c;
    int status, calls, closed;
    uint64_t t0, elapsed;
    bool close_in_cb;
} hc;

static void hc_on_read(em_tcp_conn *c, ssize_t n) { (void)c, (void)n; }
static const em_tcp_conn_cbs hc_cbs = { .on_read = hc_on_read };

static void hc_on_close(em_tcp_conn *c) { EM_CONTAINER_OF(c, hc, c)->closed++; }

static void hc_on_connect(em_tcp_conn *c, int status) {
    hc *x = EM_CONTAINER_OF(c, hc, c);
    x->status = status;
    x->calls++;
    x->elapsed = now_ms() - x->t0;
    if (x->close_in_cb)
        em_tcp_conn_close(c, hc_on_close);
}

static void ctx_open(ctx *c) {
    memset(c, 0, sizeof *c);
    c->fds_before = count_fds();
    c->fake = fake_dns_start(rules, sizeof rules / sizeof rules[0]);
    assert_non_null(c->fake);
    assert_int_equal(em_loop_init(&c->loop), 0);
    dns_env_init(&c->env, NULL, c->fake, &c->opts);
    c->opts.no_cache = true;
    assert_int_equal(em_dns_resolver_init(&c->loop, &c->r, &c->opts), 0);
}

static void on_r_closed(em_dns_resolver *r) { ((ctx *)r->data)->r_closed = true; }

/* Close everything and check that no fd was left behind. */
static void ctx_close(ctx *c) {
    c->r.data = c;
    em_dns_resolver_close(&c->r, on_r_closed);
    EM_TEST_RUN_UNTIL(&c->loop, c->r_closed, WAIT_MS);
    assert_int_equal(em_loop_run(&c->loop, EM_RUN_DEFAULT), 0);
    assert_int_equal(em_loop_close(&c->loop), 0);
    fake_dns_stop(c->fake);
    dns_env_free(&c->env);
    assert_int_equal(count_fds(), c->fds_before);
}

/* Connect to host:port and wait for the outcome. */
static void run_connect(ctx *c, hc *x, const char *host, uint16_t port,
                        const em_tcp_connect_opts *opts_in) {
    memset(x, 0, sizeof *x);
    em_tcp_connect_opts opts = { 0 };
    if (opts_in)
        opts = *opts_in;
    opts.cbs = &hc_cbs;
    x->t0 = now_ms();
    assert_int_equal(em_tcp_conn_connect_host(&c->loop, &x->c, &c->r, host, port, &opts,
                                              hc_on_connect),
                     0);
    assert_int_equal(x->calls, 0); /* never inside the call */
    EM_TEST_RUN_UNTIL(&c->loop, x->calls == 1, WAIT_MS);
}

static void hc_close(ctx *c, hc *x) {
    em_tcp_conn_close(&x->c, hc_on_close);
    EM_TEST_RUN_UNTIL(&c->loop, x->closed == 1, WAIT_MS);
    assert_int_equal(x->calls, 1);
}

/* The family c ended up on. */
static int peer_family(hc *x) {
    em_sockaddr peer;
    assert_int_equal(em_tcp_conn_peer(&x->c, &peer), 0);
    em_ip ip = em_sockaddr_ip(&peer);
    return ip.family == EM_IP_V6 && !em_ip_is_v4_mapped(&ip) ? 6 : 4;
}

static bool have_v6(void) {
    uint16_t port = 0;
    int fd = listen_on("::1", &port, false, NULL);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* Listeners on 127.0.0.1 and ::1 sharing one port (v6 == NULL: none). */
static uint16_t listen_pair(int *v4, int *v6) {
    for (int tries = 0; tries < 20; tries++) {
        uint16_t port = 0;
        *v4 = listen_on("127.0.0.1", &port, false, NULL);
        assert_true(*v4 >= 0);
        if (!v6)
            return port;
        *v6 = listen_on("::1", &port, false, NULL);
        if (*v6 >= 0)
            return port;
        close(*v4); /* ::1:port taken by someone else: another port */
    }
    fail_msg("no port free on both 127.0.0.1 and ::1");
    return 0;
}

static void test_both_work_v6_wins(void **state) {
    if (!have_v6()) {
        skip();
        return;
    }
    ctx c;
    ctx_open(&c);
    int l4, l6;
    uint16_t port = listen_pair(&l4, &l6);
    hc x;
    run_connect(&c, &x, "both.test", port, NULL);
    assert_int_equal(x.status, 0);
    assert_int_equal(peer_family(&x), 6);
    assert_true(em_tcp_conn_fd(&x.c) >= 0);
    assert_int_equal(em_tcp_conn_read_start(&x.c), 0);
    hc_close(&c, &x);
    close(l4);
    close(l6);
    ctx_close(&c);
}

static void test_one_family(void **state) {
    ctx c;
    ctx_open(&c);
    int l4, l6 = -1;
    bool v6 = have_v6();
    uint16_t port = listen_pair(&l4, v6 ? &l6 : NULL);
    hc x;
    run_connect(&c, &x, "v4.test", port, NULL);
    assert_int_equal(x.status, 0);
    assert_int_equal(peer_family(&x), 4);
    hc_close(&c, &x);
    /* family V4 on a name with both */
    em_tcp_connect_opts o = { .family = EM_DNS_V4 };
    run_connect(&c, &x, "both.test", port, &o);
    assert_int_equal(x.status, 0);
    assert_int_equal(peer_family(&x), 4);
    hc_close(&c, &x);
    if (v6) {
        run_connect(&c, &x, "v6.test", port, NULL);
        assert_int_equal(x.status, 0);
        assert_int_equal(peer_family(&x), 6);
        hc_close(&c, &x);
        close(l6);
    }
    /* IP literals need no query */
    run_connect(&c, &x, "127.0.0.1", port, NULL);
    assert_int_equal(x.status, 0);
    hc_close(&c, &x);
    close(l4);
    ctx_close(&c);
}

/* ::1 refuses (nothing listens on the port): the IPv4 attempt starts at
 * once, not after the attempt delay. */
static void test_refused_next_at_once(void **state) {
    ctx c;
    ctx_open(&c);
    int l4;
    uint16_t port = listen_pair(&l4, NULL);
    hc x;
    em_tcp_connect_opts o = { .attempt_delay_ms = 2000 };
    run_connect(&c, &x, "both.test", port, &o);
    assert_int_equal(x.status, 0);
    assert_int_equal(peer_family(&x), 4);
    printf("# ::1 refused, 127.0.0.1 connected after %llu ms\n", (unsigned long long)x.elapsed);
    assert_true(x.elapsed < 1000); /* long before the 2 s attempt delay */
    hc_close(&c, &x);
    close(l4);
    ctx_close(&c);
}

/* ::1 silently drops SYNs: IPv4 starts after the attempt delay and wins,
 * while the IPv6 attempt is still pending (then closed). */
static void silent_v6(unsigned delay_ms) {
    if (!have_v6()) {
        skip();
        return;
    }
    ctx c;
    ctx_open(&c);
    int l4, filler;
    uint16_t port = listen_pair(&l4, NULL);
    int l6 = listen_on("::1", &port, true, &filler);
    if (l6 < 0) {
        skip();
        return;
    }
    sampler s;
    sampler_start(&s, &c.loop, port);
    em_tcp_connect_opts o = { .attempt_delay_ms = delay_ms };
    hc x;
    run_connect(&c, &x, "both.test", port, &o);
    em_timer_stop(&s.t);
    assert_int_equal(x.status, 0);
    assert_int_equal(peer_family(&x), 4);
    sampler_print(&s, "silent ::1");
    printf("# ::1 silent, delay %u: 127.0.0.1 connected after %llu ms\n", delay_ms,
           (unsigned long long)x.elapsed);
    unsigned d = delay_ms ? delay_ms : EM_TCP_ATTEMPT_DELAY_MS;
    assert_true(x.elapsed + 5 >= d);
    assert_true(x.elapsed < d + 400);
    assert_true(seen_is(&s, 0, "::1"));
    hc_close(&c, &x);
    close(l4);
    close(l6);
    close(filler);
    ctx_close(&c);
}

static void test_silent_v6_default_delay(void **state) { silent_v6(0); }
static void test_silent_v6_delay_100(void **state) { silent_v6(100); }

/* Families alternate, IPv6 first, one attempt per delay, earlier ones kept:
 * ::1, 127.0.0.2, 127.0.0.3, 127.0.0.4, all silent, then the timeout. */
static void test_interleave_and_timeout(void **state) {
    if (!have_v6()) {
        skip();
        return;
    }
    ctx c;
    ctx_open(&c);
    uint16_t port = 0;
    int fl[4], ls[4];
    const char *addrs[4] = { "::1", "127.0.0.2", "127.0.0.3", "127.0.0.4" };
    for (int i = 0; i < 4; i++) {
        ls[i] = listen_on(addrs[i], &port, true, &fl[i]);
        assert_true(ls[i] >= 0);
    }
    sampler s;
    sampler_start(&s, &c.loop, port);
    em_tcp_connect_opts o = { .attempt_delay_ms = 100, .timeout_ms = 600 };
    hc x;
    run_connect(&c, &x, "inter.test", port, &o);
    em_timer_stop(&s.t);
    sampler_print(&s, "interleave");
    printf("# all silent: %s after %llu ms\n", em_err_name(x.status),
           (unsigned long long)x.elapsed);
    assert_int_equal(x.status, EM_ETIMEDOUT);
    /* The deadline counts from the loop's cached time, which may be a
     * little older than this test's clock under load (591 ms was seen). */
    assert_true(x.elapsed >= 550 && x.elapsed < 1000);
    assert_int_equal(s.n, 4);
    for (unsigned i = 0; i < 4; i++)
        assert_true(seen_is(&s, i, addrs[i]));
    check_spacing(&s, 100);
    hc_close(&c, &x);
    for (int i = 0; i < 4; i++) {
        close(ls[i]);
        close(fl[i]);
    }
    ctx_close(&c);
}

/* AAAA 300 ms late: the IPv4 attempt starts after the resolution delay. */
static void test_aaaa_late(void **state) {
    ctx c;
    ctx_open(&c);
    int l4, l6 = -1;
    bool v6 = have_v6();
    uint16_t port = listen_pair(&l4, v6 ? &l6 : NULL);
    hc x;
    run_connect(&c, &x, "late.test", port, NULL);
    printf("# AAAA 300 ms late: IPv4 after %llu ms\n", (unsigned long long)x.elapsed);
    assert_int_equal(x.status, 0);
    assert_int_equal(peer_family(&x), 4);
    assert_true(x.elapsed + 3 >= EM_TCP_RESOLUTION_DELAY_MS && x.elapsed < 1000);
    hc_close(&c, &x);
    /* a longer resolution delay */
    em_tcp_connect_opts o = { .resolution_delay_ms = 150 };
    run_connect(&c, &x, "late.test", port, &o);
    assert_int_equal(x.status, 0);
    assert_true(x.elapsed + 3 >= 150 && x.elapsed < 1000);
    hc_close(&c, &x);
    if (v6) { /* AAAA 15 ms late, inside the resolution delay: IPv6 wins */
        run_connect(&c, &x, "early.test", port, NULL);
        assert_int_equal(x.status, 0);
        assert_int_equal(peer_family(&x), 6);
        hc_close(&c, &x);
        close(l6);
    }
    close(l4);
    ctx_close(&c);
}

static void test_all_fail(void **state) {
    ctx c;
    ctx_open(&c);
    int l4;
    uint16_t port = listen_pair(&l4, NULL);
    close(l4); /* nothing listens anywhere */
    hc x;
    em_tcp_connect_opts slow = { .attempt_delay_ms = 2000 };
    run_connect(&c, &x, "both.test", port, &slow);
    assert_int_equal(x.status, EM_ECONNREFUSED);
    assert_true(x.elapsed < 1000);
    assert_int_equal(em_tcp_conn_fd(&x.c), -1);
    hc_close(&c, &x);
    /* closed from inside the failure callback */
    memset(&x, 0, sizeof x);
    x.close_in_cb = true;
    em_tcp_connect_opts o = { .cbs = &hc_cbs };
    x.t0 = now_ms();
    assert_int_equal(em_tcp_conn_connect_host(&c.loop, &x.c, &c.r, "inter.test", port, &o,
                                              hc_on_connect),
                     0);
    EM_TEST_RUN_UNTIL(&c.loop, x.closed == 1, WAIT_MS);
    assert_int_equal(x.calls, 1);
    assert_int_equal(x.status, EM_ECONNREFUSED);
    ctx_close(&c);
}

static void test_dns_errors(void **state) {
    ctx c;
    ctx_open(&c);
    hc x;
    run_connect(&c, &x, "nx.test", 80, NULL);
    assert_int_equal(x.status, EM_ENOTFOUND);
    hc_close(&c, &x);
    run_connect(&c, &x, "servfail.test", 80, NULL);
    assert_int_equal(x.status, EM_EDNSFAIL);
    hc_close(&c, &x);
    em_tcp_connect_opts o = { .timeout_ms = 200 };
    run_connect(&c, &x, "silent.test", 80, &o);
    assert_int_equal(x.status, EM_ETIMEDOUT);
    assert_true(x.elapsed + 3 >= 200 && x.elapsed < 600);
    hc_close(&c, &x);
    ctx_close(&c);
}

/* Closing c while it races cancels the lookup and every attempt: no
 * connect callback, one close callback, no fd left. */
static void test_cancel(void **state) {
    ctx c;
    ctx_open(&c);
    uint16_t port = 0;
    int f2, f3;
    int l2 = listen_on("127.0.0.2", &port, true, &f2);
    int l3 = listen_on("127.0.0.3", &port, true, &f3);
    assert_true(l2 >= 0 && l3 >= 0);
    em_tcp_connect_opts o = { .cbs = &hc_cbs, .attempt_delay_ms = 100 };
    hc x = { 0 };
    /* at once, during the lookup */
    assert_int_equal(em_tcp_conn_connect_host(&c.loop, &x.c, &c.r, "inter.test", port, &o,
                                              hc_on_connect),
                     0);
    em_tcp_conn_close(&x.c, hc_on_close);
    em_tcp_conn_close(&x.c, hc_on_close); /* a second close does nothing */
    assert_int_equal(x.closed, 0);
    EM_TEST_RUN_UNTIL(&c.loop, x.closed == 1, WAIT_MS);
    /* with attempts in flight (two silent ones after 150 ms), by _end */
    memset(&x, 0, sizeof x);
    assert_int_equal(em_tcp_conn_connect_host(&c.loop, &x.c, &c.r, "inter.test", port, &o,
                                              hc_on_connect),
                     0);
    int fds_racing;
    uint64_t until = now_ms() + 150;
    while (now_ms() < until)
        em_loop_run(&c.loop, EM_RUN_ONCE);
    fds_racing = count_fds();
    em_tcp_conn_end(&x.c, hc_on_close);
    EM_TEST_RUN_UNTIL(&c.loop, x.closed == 1, WAIT_MS);
    assert_true(count_fds() <= fds_racing - 2);
    until = now_ms() + 300; /* nothing comes late */
    while (now_ms() < until)
        em_loop_run(&c.loop, EM_RUN_NOWAIT);
    assert_int_equal(x.calls, 0);
    assert_int_equal(x.closed, 1);
    close(l2);
    close(l3);
    close(f2);
    close(f3);
    ctx_close(&c);
}

static void test_bad_args(void **state) {
    ctx c;
    ctx_open(&c);
    hc x = { 0 };
    em_tcp_connect_opts o = { .cbs = &hc_cbs };
    em_tcp_connect_opts none = { 0 };
    assert_int_equal(em_tcp_conn_connect_host(&c.loop, &x.c, &c.r, "both.test", 0, &o,
                                              hc_on_connect),
                     EM_EINVAL);
    assert_int_equal(em_tcp_conn_connect_host(&c.loop, &x.c, &c.r, "both.test", 80, &none,
                                              hc_on_connect),
                     EM_EINVAL);
    assert_int_equal(em_tcp_conn_connect_host(&c.loop, &x.c, &c.r, NULL, 80, &o, hc_on_connect),
                     EM_EINVAL);
    assert_int_equal(em_tcp_conn_connect_host(&c.loop, &x.c, &c.r, "both.test", 80, &o, NULL),
                     EM_EINVAL);
    assert_int_equal(em_tcp_conn_connect_host(&c.loop, &x.c, &c.r, "bad name", 80, &o,
                                              hc_on_connect),
                     EM_EINVAL);
    o.attempt_delay_ms = 99;
    assert_int_equal(em_tcp_conn_connect_host(&c.loop, &x.c, &c.r, "both.test", 80, &o,
                                              hc_on_connect),
                     EM_EINVAL);
    o.attempt_delay_ms = 2001;
    assert_int_equal(em_tcp_conn_connect_host(&c.loop, &x.c, &c.r, "both.test", 80, &o,
                                              hc_on_connect),
                     EM_EINVAL);
    o.attempt_delay_ms = 0;
    o.resolution_delay_ms = 2001;
    assert_int_equal(em_tcp_conn_connect_host(&c.loop, &x.c, &c.r, "both.test", 80, &o,
                                              hc_on_connect),
                     EM_EINVAL);
    ctx_close(&c);
}

/* ---- the blocking face ---------------------------------------------------- */

static void test_blocking(void **state) {
    int before = count_fds();
    fake_dns *fake = fake_dns_start(rules, sizeof rules / sizeof rules[0]);
    assert_non_null(fake);
    dns_env env;
    em_dns_resolver_opts ro;
    dns_env_init(&env, NULL, fake, &ro);
    int l4;
    uint16_t port = listen_pair(&l4, NULL);
    em_tcp_listener l = { l4 };
    em_tcp_connect_opts o = { .resolver = &ro };
    em_tcp_stream s;
    assert_int_equal(em_tcp_connect_host(&s, "both.test", port, &o), 0);
    em_tcp_stream peer;
    assert_int_equal(em_tcp_accept(&l, &peer, NULL, 5000), 0);
    assert_int_equal(em_tcp_stream_write(&s, "hi", 2), 0);
    char buf[2];
    assert_int_equal(em_tcp_stream_read(&peer, buf, 2), 2);
    assert_memory_equal(buf, "hi", 2);
    assert_int_equal(em_tcp_stream_close(&peer), 0);
    assert_int_equal(em_tcp_stream_close(&s), 0);
    em_tcp_listener_close(&l);
    /* errors */
    assert_int_equal(em_tcp_connect_host(&s, "both.test", port, &o), EM_ECONNREFUSED);
    assert_int_equal(s.fd, -1);
    assert_int_equal(em_tcp_connect_host(&s, "nx.test", port, &o), EM_ENOTFOUND);
    o.timeout_ms = 100;
    assert_int_equal(em_tcp_connect_host(&s, "silent.test", port, &o), EM_ETIMEDOUT);
    assert_int_equal(em_tcp_connect_host(&s, "both.test", 0, &o), EM_EINVAL);
    fake_dns_stop(fake);
    dns_env_free(&env);
    assert_int_equal(count_fds(), before);
}

/* ---- the namespace group (EMBER_HE_NETNS=1, see netns_happy.sh) ------------ */

/* Every scenario: listeners on 2001:db8::1 and 192.0.2.1 sharing a port;
 * every other address refuses it (a reset from the kernel) or drops its
 * SYNs (ip6tables/iptables). */
static uint16_t ns_listen(int *l6, int *l4) {
    for (int tries = 0; tries < 20; tries++) {
        uint16_t port = 0;
        *l6 = listen_on("2001:db8::1", &port, false, NULL);
        assert_true(*l6 >= 0);
        *l4 = listen_on("192.0.2.1", &port, false, NULL);
        if (*l4 >= 0)
            return port;
        close(*l6);
    }
    fail_msg("no port free on both 2001:db8::1 and 192.0.2.1");
    return 0;
}

static void ns_case(const char *host, const em_tcp_connect_opts *o, int want_status,
                    int want_family, uint64_t min_ms, uint64_t max_ms) {
    ctx c;
    ctx_open(&c);
    int l6, l4;
    uint16_t port = ns_listen(&l6, &l4);
    sampler s;
    sampler_start(&s, &c.loop, port);
    hc x;
    run_connect(&c, &x, host, port, o);
    em_timer_stop(&s.t);
    sampler_print(&s, host);
    printf("# %s: %s after %llu ms%s\n", host, em_err_name(x.status),
           (unsigned long long)x.elapsed,
           x.status ? "" : peer_family(&x) == 6 ? " over IPv6" : " over IPv4");
    assert_int_equal(x.status, want_status);
    if (want_status == 0)
        assert_int_equal(peer_family(&x), want_family);
    assert_true(x.elapsed >= min_ms);
    assert_true(x.elapsed < max_ms);
    hc_close(&c, &x);
    close(l6);
    close(l4);
    ctx_close(&c);
}

/* Lower bounds allow 20-50 ms for the loop's cached clock, from which
 * timers are armed, lagging the test's own (seen under ASan and load). */
static void test_ns_both(void **state) { ns_case("ns-both.test", NULL, 0, 6, 0, 1000); }

/* IPv6 black hole: IPv4 after one attempt delay, not a TCP timeout. */
static void test_ns_drop6(void **state) {
    ns_case("ns-drop6.test", NULL, 0, 4, EM_TCP_ATTEMPT_DELAY_MS - 25, 1000);
}

/* IPv6 reset or unrouted: the next attempt at once, long before the 2 s
 * attempt delay (timings include the lookup, slow on a loaded machine). */
static const em_tcp_connect_opts slow = { .attempt_delay_ms = 2000 };
static void test_ns_reset6(void **state) { ns_case("ns-reset6.test", &slow, 0, 4, 0, 1000); }
static void test_ns_unrouted6(void **state) { ns_case("ns-unrouted6.test", &slow, 0, 4, 0, 1000); }

/* AAAA 0..500 ms late: IPv6 if it comes within the resolution delay, else
 * IPv4 right after it. */
static void test_ns_aaaa_late(void **state) {
    ns_case("ns-late0.test", NULL, 0, 6, 0, 1000);
    ns_case("ns-late20.test", NULL, 0, 6, 15, 1000);
    ns_case("ns-late100.test", NULL, 0, 4, EM_TCP_RESOLUTION_DELAY_MS - 20, 1000);
    ns_case("ns-late300.test", NULL, 0, 4, EM_TCP_RESOLUTION_DELAY_MS - 20, 1000);
    ns_case("ns-late500.test", NULL, 0, 4, EM_TCP_RESOLUTION_DELAY_MS - 20, 1000);
}

static void test_ns_interleave_timeout(void **state) {
    em_tcp_connect_opts o = { .attempt_delay_ms = 100, .timeout_ms = 700 };
    ctx c;
    ctx_open(&c);
    int l6, l4;
    uint16_t port = ns_listen(&l6, &l4);
    sampler s;
    sampler_start(&s, &c.loop, port);
    hc x;
    run_connect(&c, &x, "ns-inter.test", port, &o);
    em_timer_stop(&s.t);
    sampler_print(&s, "ns-inter.test");
    assert_int_equal(x.status, EM_ETIMEDOUT);
    assert_true(x.elapsed + 50 >= 700 && x.elapsed < 1100);
    static const char *order[] = { "2001:db8:0:66::1", "192.0.2.65", "2001:db8:0:66::2",
                                   "192.0.2.66", "2001:db8:0:66::3", "192.0.2.67" };
    assert_int_equal(s.n, 6);
    for (unsigned i = 0; i < 6; i++)
        assert_true(seen_is(&s, i, order[i]));
    check_spacing(&s, 100);
    hc_close(&c, &x);
    close(l6);
    close(l4);
    ctx_close(&c);
}

/* RFC 8305 §4: the first attempt goes to the family RFC 6724 puts first,
 * not always IPv6. A ULA destination (precedence 3) goes after IPv4 (35),
 * rule 6: IPv4 connects at once, and no IPv6 attempt is made at all
 * (before, the dropped ULA went first and IPv4 waited one attempt delay). */
static void test_ns_rfc6724_first_family(void **state) {
    ctx c;
    ctx_open(&c);
    int l6, l4;
    uint16_t port = ns_listen(&l6, &l4);
    sampler s;
    sampler_start(&s, &c.loop, port);
    hc x;
    run_connect(&c, &x, "ns-ula.test", port, NULL);
    em_timer_stop(&s.t);
    sampler_print(&s, "ns-ula.test");
    assert_int_equal(x.status, 0);
    assert_int_equal(peer_family(&x), 4);
    assert_true(x.elapsed < EM_TCP_ATTEMPT_DELAY_MS - 50);
    for (unsigned i = 0; i < s.n; i++) /* IPv4 may connect before a sample */
        assert_false(seen_is(&s, i, "fd00:66::1"));
    hc_close(&c, &x);
    close(l6);
    close(l4);
    ctx_close(&c);
}

static void test_ns_all_fail(void **state) {
    ns_case("ns-allfail.test", &slow, EM_ECONNREFUSED, 0, 0, 1000);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_work_v6_wins),
        cmocka_unit_test(test_one_family),
        cmocka_unit_test(test_refused_next_at_once),
        cmocka_unit_test(test_silent_v6_default_delay),
        cmocka_unit_test(test_silent_v6_delay_100),
        cmocka_unit_test(test_interleave_and_timeout),
        cmocka_unit_test(test_aaaa_late),
        cmocka_unit_test(test_all_fail),
        cmocka_unit_test(test_dns_errors),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_blocking),
    };
    const struct CMUnitTest ns_tests[] = {
        cmocka_unit_test(test_ns_both),
        cmocka_unit_test(test_ns_drop6),
        cmocka_unit_test(test_ns_reset6),
        cmocka_unit_test(test_ns_unrouted6),
        cmocka_unit_test(test_ns_aaaa_late),
        cmocka_unit_test(test_ns_interleave_timeout),
        cmocka_unit_test(test_ns_all_fail),
        cmocka_unit_test(test_ns_rfc6724_first_family),
    };
    const char *ns = getenv("EMBER_HE_NETNS");
    if (ns && strcmp(ns, "1") == 0)
        return cmocka_run_group_tests_name("connect_host_netns", ns_tests, NULL, NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

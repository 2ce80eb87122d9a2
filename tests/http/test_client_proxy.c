/* http/client_proxy.c: which hosts no_proxy sends direct, as curl reads
 * it: names and their subdomains, "*", IP literals (brackets optional for
 * IPv6, compared as addresses) and CIDR ranges (curl 7.86); and which
 * proxy the settings and the environment give, with curl's default port. */
#include <stdio.h>
#include <string.h>

#include "client_internal.h"
#include "em_test.h"

static void expect(const char *list, const char *host, bool direct) {
    if (em__http_no_proxy_match(list, host) != direct)
        fail_msg("no_proxy \"%s\", host %s: %s expected", list, host,
                 direct ? "direct" : "the proxy");
}

static void test_names(void **state) {
    (void)state;
    expect("example.com", "example.com", true);
    expect("example.com", "www.example.com", true);
    expect(".example.com", "www.example.com", true);
    expect(".example.com", "example.com", true);
    expect("example.com", "badexample.com", false);
    expect("example.com", "example.co", false);
    expect("a.test, b.test", "b.test", true);
    expect("a.test b.test", "b.test", true);
    expect("*", "anything.test", true);
    expect("", "example.com", false);
    expect(".", "example.com", false);
    expect("*.example.com", "www.example.com", false); /* curl: no wildcards */
}

static void test_addresses(void **state) {
    (void)state;
    expect("127.0.0.1", "127.0.0.1", true);
    expect("127.0.0.1", "127.0.0.10", false);
    expect("0.0.1", "10.0.0.1", false); /* no suffix match for IPs */
    expect("::1", "::1", true);
    expect("[::1]", "::1", true);
    expect("0:0::1", "::1", true); /* as addresses, not strings */
    expect("::1", "::2", false);
    expect("127.0.0.0/8", "127.1.2.3", true);
    expect("127.0.0.0/8", "128.0.0.1", false);
    expect("10.0.0.0/8,192.168.0.0/16", "192.168.7.7", true);
    expect("0.0.0.0/0", "203.0.113.9", true);
    expect("192.168.1.1/32", "192.168.1.1", true);
    expect("192.168.1.1/32", "192.168.1.2", false);
    expect("fe80::/10", "fe80::1", true);
    expect("[fe80::]/10", "fe80::1", true);
    expect("fe80::/10", "fec0::1", false);
    expect("127.0.0.0/8", "::1", false);        /* another family */
    expect("127.0.0.0/33", "127.0.0.1", false); /* a bad prefix matches nothing */
    expect("127.0.0.0/x", "127.0.0.1", false);
    expect("127.0.0.0/8", "localhost", false); /* names never match a range */
}

static const char *const proxy_vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                         "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY"};

static void clear_env(void) {
    for (size_t i = 0; i < sizeof proxy_vars / sizeof *proxy_vars; i++)
        unsetenv(proxy_vars[i]);
}

/* em__http_proxy_setup on a client with just these options: its result,
 * and the client in *cl (free it with em__http_proxy_free). */
static int setup(em_http_client *cl, const char *proxy, bool from_env) {
    memset(cl, 0, sizeof *cl);
    cl->o.proxy = proxy;
    cl->o.proxy_from_env = from_env;
    return em__http_proxy_setup(cl);
}

/* "host:port" of the proxy for url, "direct", or "refused SPEC" for a
 * proxy from the environment the client cannot speak to. */
static const char *proxy_for(const em_http_client *cl, const char *url) {
    static char out[128];
    em_url u;
    assert_int_equal(em_url_parse(&u, em_slice_from_cstr(url)), 0);
    const em_url *px = em__http_proxy_for(cl, &u);
    const char *refused = em__http_proxy_refused(cl, &u);
    if (refused)
        snprintf(out, sizeof out, "refused %s", refused);
    else if (px)
        snprintf(out, sizeof out, "%s:%u", px->host, (unsigned)px->port);
    else
        snprintf(out, sizeof out, "direct");
    em_url_free(&u);
    return out;
}

/* curl's man page (-x) and CURLOPT_PROXY: a proxy without a port is on
 * 1080, whatever its scheme's default; a port written stays. */
static void test_default_port(void **state) {
    (void)state;
    clear_env();
    static const struct {
        const char *spec, *want;
    } cases[] = {
        {"http://127.0.0.1", "127.0.0.1:1080"},  {"127.0.0.1", "127.0.0.1:1080"},
        {"http://u:p@p.test", "p.test:1080"},    {"http://[::1]", "::1:1080"},
        {"http://127.0.0.1:80", "127.0.0.1:80"}, {"p.test:3128", "p.test:3128"},
        {"HTTP://p.test/", "p.test:1080"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        em_http_client cl;
        assert_int_equal(setup(&cl, cases[i].spec, false), 0);
        if (strcmp(proxy_for(&cl, "http://o.test/"), cases[i].want) ||
            strcmp(proxy_for(&cl, "https://o.test/"), cases[i].want))
            fail_msg("proxy \"%s\": %s, %s expected", cases[i].spec,
                     proxy_for(&cl, "http://o.test/"), cases[i].want);
        em__http_proxy_free(&cl);
    }
    /* and from the environment */
    em_http_client cl;
    setenv("http_proxy", "http://h.test", 1);
    setenv("https_proxy", "s.test", 1);
    assert_int_equal(setup(&cl, NULL, true), 0);
    assert_string_equal(proxy_for(&cl, "http://o.test/"), "h.test:1080");
    assert_string_equal(proxy_for(&cl, "https://o.test/"), "s.test:1080");
    em__http_proxy_free(&cl);
    clear_env();
}

/* all_proxy/ALL_PROXY (lower case first): for a scheme whose own variable
 * is unset or empty, as curl reads them; no_proxy holds for it too. */
static void test_all_proxy(void **state) {
    (void)state;
    em_http_client cl;
    clear_env();
    setenv("all_proxy", "http://a.test:3128", 1);
    assert_int_equal(setup(&cl, NULL, true), 0);
    assert_string_equal(proxy_for(&cl, "http://o.test/"), "a.test:3128");
    assert_string_equal(proxy_for(&cl, "https://o.test/"), "a.test:3128");
    em__http_proxy_free(&cl);

    setenv("http_proxy", "h.test:1", 1);
    setenv("https_proxy", "", 1); /* empty: unset, as in curl */
    assert_int_equal(setup(&cl, NULL, true), 0);
    assert_string_equal(proxy_for(&cl, "http://o.test/"), "h.test:1");
    assert_string_equal(proxy_for(&cl, "https://o.test/"), "a.test:3128");
    em__http_proxy_free(&cl);

    clear_env();
    setenv("ALL_PROXY", "A.test", 1); /* upper case, without a port */
    setenv("no_proxy", "o.test", 1);
    assert_int_equal(setup(&cl, NULL, true), 0);
    assert_string_equal(proxy_for(&cl, "http://o.test/"), "direct");
    assert_string_equal(proxy_for(&cl, "https://x.test/"), "a.test:1080");
    em__http_proxy_free(&cl);

    setenv("all_proxy", "http://lower.test:2", 1); /* lower case wins */
    assert_int_equal(setup(&cl, NULL, true), 0);
    assert_string_equal(proxy_for(&cl, "http://x.test/"), "lower.test:2");
    em__http_proxy_free(&cl);

    /* not read when a proxy is set by hand, nor without proxy_from_env */
    assert_int_equal(setup(&cl, "http://given.test:3", true), 0);
    assert_string_equal(proxy_for(&cl, "https://x.test/"), "given.test:3");
    em__http_proxy_free(&cl);
    assert_int_equal(setup(&cl, NULL, false), 0);
    assert_string_equal(proxy_for(&cl, "http://x.test/"), "direct");
    em__http_proxy_free(&cl);
    clear_env();
}

/* Only http:// proxies: any other scheme (https, socks4/5) set by hand is
 * EM_ENOTSUP up front. One from the environment (a desktop's all_proxy is
 * often socks) does not stop the client: a request that would go through
 * it is refused, never sent direct, while no_proxy hosts and schemes with
 * an http:// proxy of their own work. A proxy that is no URL: EM_EINVAL. */
static void test_unsupported_schemes(void **state) {
    (void)state;
    em_http_client cl;
    clear_env();
    const char *bad[] = {"https://p.test:1", "socks5://127.0.0.1:1080", "socks4a://p.test",
                         "SOCKS5H://p.test"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (setup(&cl, bad[i], false) != EM_ENOTSUP)
            fail_msg("proxy \"%s\": EM_ENOTSUP expected", bad[i]);
        em__http_proxy_free(&cl);
    }
    assert_int_equal(setup(&cl, "http://a b", false), EM_EINVAL);
    em__http_proxy_free(&cl);

    setenv("all_proxy", "socks5://127.0.0.1:1080", 1);
    setenv("no_proxy", "localhost", 1);
    assert_int_equal(setup(&cl, NULL, true), 0);
    assert_string_equal(proxy_for(&cl, "http://o.test/"), "refused socks5://127.0.0.1:1080");
    assert_string_equal(proxy_for(&cl, "https://o.test/"), "refused socks5://127.0.0.1:1080");
    assert_string_equal(proxy_for(&cl, "http://localhost/"), "direct");
    em__http_proxy_free(&cl);
    setenv("http_proxy", "http://h.test:1", 1);
    assert_int_equal(setup(&cl, NULL, true), 0);
    assert_string_equal(proxy_for(&cl, "http://o.test/"), "h.test:1");
    assert_string_equal(proxy_for(&cl, "https://o.test/"), "refused socks5://127.0.0.1:1080");
    em__http_proxy_free(&cl);
    setenv("https_proxy", "http://s.test:1", 1);
    assert_int_equal(setup(&cl, NULL, true), 0);
    assert_string_equal(proxy_for(&cl, "https://o.test/"), "s.test:1");
    em__http_proxy_free(&cl);
    clear_env();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_default_port),
        cmocka_unit_test(test_all_proxy),
        cmocka_unit_test(test_unsupported_schemes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

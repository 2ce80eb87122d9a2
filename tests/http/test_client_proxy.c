/* http/client_proxy.c: which hosts no_proxy sends direct, as curl reads
 * it: names and their subdomains, "*", IP literals (brackets optional for
 * IPv6, compared as addresses) and CIDR ranges (curl 7.86). */
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
    expect("127.0.0.0/8", "::1", false);       /* another family */
    expect("127.0.0.0/33", "127.0.0.1", false); /* a bad prefix matches nothing */
    expect("127.0.0.0/x", "127.0.0.1", false);
    expect("127.0.0.0/8", "localhost", false); /* names never match a range */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* dns/name.c: the host-name check, literals and localhost. */
#include <string.h>

#include "dns_internal.h"
#include "em_test.h"

static int check(const char *s) { return em_dns_name_check(s, strlen(s)); }

static void test_valid(void **state) {
    static const char *const ok[] = { "a.b",       "example.com", "example.com.", "EXAMPLE.Com",
                                      "x",         "_srv._tcp.example.com",       "a-b.c-d",
                                      "xn--bcher-kva.example",    "1.2.3.com",   "123.a1",
                                      "a--b.c",    "_sip-tls._tcp.example" };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (check(ok[i]) != 0)
            fail_msg("rejected %s", ok[i]);
}

static void test_invalid(void **state) {
    static const char *const bad[] = { "",        ".",        "a..b",      ".a",     "a b",
                                       "a/b",     "u@h",      "a\rb",      "a\nb",   "a\tb",
                                       "a:80",    "a%b",      "caf\xc3\xa9", "a..",  "1.2.3",
                                       "127.1",   "::1",      "1.2.3.4",   "a.123",  "a\\b",
                                       "a,b",     "a;b",      "[x]" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (check(bad[i]) != EM_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
    /* RFC 952, RFC 1123 §2.1: a host-name label neither starts nor ends
     * with '-' (the review saw "-h" and "-x" asked as names). */
    static const char *const dash[] = { "-",           "-h",          "-a.example", "a-.example",
                                        "example.-com", "example.com-", "a.b-.",     "-.com",
                                        "_srv-._tcp.example",           "a.-_x.b" };
    for (size_t i = 0; i < sizeof dash / sizeof dash[0]; i++)
        if (check(dash[i]) != EM_EINVAL)
            fail_msg("accepted \"%s\"", dash[i]);
    /* NUL inside the given length. */
    assert_int_equal(em_dns_name_check("a\0b", 3), EM_EINVAL);
    assert_int_equal(em_dns_name_check(NULL, 0), EM_EINVAL);
}

/* A last label in hex ("0x7f000001", inet_aton's and the URL Standard's
 * IPv4 number) is an address in disguise like "127.1": refused, never
 * asked of DNS. Hex elsewhere, or a label that is not all hex, is a name. */
static void test_hex_numbers(void **state) {
    static const char *const bad[] = { "0x7f000001", "0X7F000001", "0x7f.0x0.0x0.0x1",
                                       "a.0x1",      "a.0x",       "example.0xFf." };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (check(bad[i]) != EM_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
    static const char *const ok[] = { "0x1.com", "a.0xg", "0xcafe.example", "x0x1", "a.0x1g" };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (check(ok[i]) != 0)
            fail_msg("rejected %s", ok[i]);
}

static void test_lengths(void **state) {
    char name[300];
    memset(name, 'a', 63);
    assert_int_equal(em_dns_name_check(name, 63), 0);
    memset(name, 'a', 64);
    assert_int_equal(em_dns_name_check(name, 64), EM_EINVAL); /* label of 64 */
    /* 4 labels of 62 + 3 dots = 251; then up to 253 and past it. */
    size_t n = 0;
    for (int l = 0; l < 4; l++) {
        if (l)
            name[n++] = '.';
        memset(name + n, 'b', 62);
        n += 62;
    }
    name[n++] = '.';
    name[n++] = 'c'; /* 253 */
    assert_int_equal(n, 253);
    assert_int_equal(em_dns_name_check(name, n), 0);
    name[n] = '.';
    assert_int_equal(em_dns_name_check(name, n + 1), 0); /* the root dot is free */
    name[n] = 'c';
    assert_int_equal(em_dns_name_check(name, n + 1), EM_EINVAL); /* 254 */
}

static void test_classify(void **state) {
    em_ip ip;
    assert_int_equal(em__dns_name_classify("10.0.0.1", 8, &ip), EM__DNS_LITERAL);
    assert_int_equal(ip.family, EM_IP_V4);
    assert_int_equal(em__dns_name_classify("::1", 3, &ip), EM__DNS_LITERAL);
    assert_int_equal(ip.family, EM_IP_V6);
    assert_int_equal(em__dns_name_classify("[fe80::1]", 9, &ip), EM__DNS_LITERAL);
    assert_int_equal(em__dns_name_classify("[10.0.0.1]", 10, &ip), EM_EINVAL);
    assert_int_equal(em__dns_name_classify("[::1", 4, &ip), EM_EINVAL);
    assert_int_equal(em__dns_name_classify("localhost", 9, &ip), EM__DNS_LOCALHOST);
    assert_int_equal(em__dns_name_classify("LOCALHOST.", 10, &ip), EM__DNS_LOCALHOST);
    assert_int_equal(em__dns_name_classify("x.localhost", 11, &ip), EM__DNS_LOCALHOST);
    assert_int_equal(em__dns_name_classify("notlocalhost", 12, &ip), EM__DNS_HOSTNAME);
    assert_int_equal(em__dns_name_classify("localhost.com", 13, &ip), EM__DNS_HOSTNAME);
    assert_int_equal(em__dns_name_classify("a b", 3, &ip), EM_EINVAL);
    assert_int_equal(em__dns_name_classify("-h", 2, &ip), EM_EINVAL);
    /* RFC 6761 §6.4 */
    static const char *const inv[] = { "invalid", "INVALID.", "x.invalid", "a.b.Invalid." };
    for (size_t i = 0; i < sizeof inv / sizeof inv[0]; i++)
        if (!em__dns_name_is_invalid(inv[i], strlen(inv[i])))
            fail_msg("%s is not taken for invalid", inv[i]);
    static const char *const not_inv[] = { "notinvalid", "invalid.example", "xinvalid.", "invalidx" };
    for (size_t i = 0; i < sizeof not_inv / sizeof not_inv[0]; i++)
        if (em__dns_name_is_invalid(not_inv[i], strlen(not_inv[i])))
            fail_msg("%s is taken for invalid", not_inv[i]);
    char key[EM_DNS_NAME_MAX + 1];
    em__dns_name_key("WWW.Example.COM.", 16, key);
    assert_string_equal(key, "www.example.com");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_hex_numbers),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_classify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

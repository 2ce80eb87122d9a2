/* Tests for net/sockaddr.c. */
#include "em_test.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/un.h>
#include <unistd.h>

#include "ember/net.h"

static const struct {
    const char *in, *out; /* out: the formatted form (NULL: same as in) */
    int family;
    uint16_t port;
} good[] = {
    {"1.2.3.4:80", NULL, AF_INET, 80},
    {"0.0.0.0:0", NULL, AF_INET, 0},
    {"255.255.255.255:65535", NULL, AF_INET, 65535},
    {"127.0.0.1:8080", NULL, AF_INET, 8080},
    {"[::1]:8080", NULL, AF_INET6, 8080},
    {"[::]:1", NULL, AF_INET6, 1},
    {"[2001:DB8:0:0::1]:443", "[2001:db8::1]:443", AF_INET6, 443},
    {"[fe80::1%2]:80", NULL, AF_INET6, 80},
    {"[::ffff:1.2.3.4]:9", NULL, AF_INET6, 9},
    {"[1:2:3:4:5:6:7:8]:65535", NULL, AF_INET6, 65535},
};

static const char *const bad[] = {
    "",
    ":",
    ":80",
    "1.2.3.4",
    "1.2.3.4:",
    "1.2.3.4:65536",
    "1.2.3.4:99999",
    "1.2.3.4:123456",
    "1.2.3.4:080",
    "1.2.3.4:00",
    "1.2.3.4:+80",
    "1.2.3.4:-1",
    "1.2.3.4: 80",
    "1.2.3.4:80 ",
    "1.2.3.4:8o",
    "1.2.3.4:80:80",
    "1.2.3.4:0x50",
    "01.2.3.4:80",
    "1.2.3:80",
    "::1:80",
    "[::1]",
    "[::1]:",
    "[::1]80",
    "[::1]:080",
    "[::1]:65536",
    "[1.2.3.4]:80",
    "[::1:80",
    "::1]:80",
    "[]:80",
    "[[::1]]:80",
    "[::1]]:80",
    "[::1%]:80",
    "[::1%0]:80",
    "[fe80::1%no-such-if9]:80",
    "1.2.3.4%1:80",
    "host:80",
    "localhost:80",
    "user@1.2.3.4:80",
    "1.2.3.4:80\n",
    "1.2.3.4:80\r\n",
    "[::1]:80\n",
    " 1.2.3.4:80",
    "1.2.3.4 :80",
    "[ ::1]:80",
    "1.2.3.4:80/",
    "http://1.2.3.4:80",
};

static void test_parse_format(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        em_sockaddr sa;
        if (em_sockaddr_parse(&sa, good[i].in, strlen(good[i].in)) != 0)
            fail_msg("rejected \"%s\"", good[i].in);
        assert_int_equal(em_sockaddr_family(&sa), good[i].family);
        assert_int_equal(em_sockaddr_port(&sa), good[i].port);
        char buf[EM_SOCKADDR_STRLEN];
        const char *want = good[i].out ? good[i].out : good[i].in;
        assert_int_equal(em_sockaddr_format(&sa, buf, sizeof buf), (ssize_t)strlen(want));
        assert_string_equal(buf, want);
        em_sockaddr back;
        assert_int_equal(em_sockaddr_parse(&back, buf, strlen(buf)), 0);
        assert_true(em_sockaddr_equal(&sa, &back));
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        em_sockaddr sa = em_sockaddr_loopback4(7);
        if (em_sockaddr_parse(&sa, bad[i], strlen(bad[i])) != EM_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(em_sockaddr_port(&sa), 7); /* untouched */
    }
    em_sockaddr sa;
    assert_int_equal(em_sockaddr_parse(&sa, "1.2.3.4:80\0", 11), EM_EINVAL);
    assert_int_equal(em_sockaddr_parse(&sa, "1.2.3.4:8\00", 10), EM_EINVAL);
    assert_int_equal(em_sockaddr_parse(&sa, "1.2.3.4:8080", 10), 0); /* len is the end */
    assert_int_equal(em_sockaddr_port(&sa), 80);
    assert_int_equal(em_sockaddr_parse(&sa, NULL, 0), EM_EINVAL);
    unsigned lo = if_nametoindex("lo");
    if (lo) {
        assert_int_equal(em_sockaddr_parse(&sa, "[fe80::1%lo]:80", 15), 0);
        assert_int_equal(sa.u.in6.sin6_scope_id, lo);
    }
}

static void test_format_errors(void **state) {
    (void)state;
    em_sockaddr sa = em_sockaddr_loopback6(8080);
    char buf[EM_SOCKADDR_STRLEN];
    for (size_t cap = 0; cap <= 10; cap++)
        assert_int_equal(em_sockaddr_format(&sa, buf, cap), EM_ENOSPC);
    assert_int_equal(em_sockaddr_format(&sa, buf, 11), 10);
    assert_string_equal(buf, "[::1]:8080");
    /* The longest form fits EM_SOCKADDR_STRLEN. */
    em_ip ip;
    assert_int_equal(em_ip6_parse(&ip, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295", 50),
                     0);
    em_sockaddr_from_ip(&sa, &ip, 65535);
    assert_int_equal(em_sockaddr_format(&sa, buf, sizeof buf), 58);
    memset(&sa, 0, sizeof sa);
    sa.u.sa.sa_family = AF_UNIX;
    assert_int_equal(em_sockaddr_format(&sa, buf, sizeof buf), EM_EAFNOSUPPORT);
}

static void test_from_ip_and_accessors(void **state) {
    (void)state;
    em_ip ip;
    assert_int_equal(em_ip_parse(&ip, "10.1.2.3", 8), 0);
    em_sockaddr sa;
    em_sockaddr_from_ip(&sa, &ip, 1234);
    assert_int_equal(em_sockaddr_family(&sa), AF_INET);
    assert_int_equal(em_sockaddr_len(&sa), sizeof(struct sockaddr_in));
    assert_int_equal(ntohs(sa.u.in4.sin_port), 1234);
    assert_int_equal(ntohl(sa.u.in4.sin_addr.s_addr), 0x0a010203);
    em_ip back = em_sockaddr_ip(&sa);
    assert_true(em_ip_equal(&ip, &back));
    em_sockaddr_set_port(&sa, 4321);
    assert_int_equal(em_sockaddr_port(&sa), 4321);

    assert_int_equal(em_ip_parse(&ip, "fe80::2%7", 9), 0);
    em_sockaddr_from_ip(&sa, &ip, 443);
    assert_int_equal(em_sockaddr_family(&sa), AF_INET6);
    assert_int_equal(em_sockaddr_len(&sa), sizeof(struct sockaddr_in6));
    assert_int_equal(sa.u.in6.sin6_scope_id, 7);
    assert_int_equal(sa.u.in6.sin6_flowinfo, 0);
    back = em_sockaddr_ip(&sa);
    assert_true(em_ip_equal(&ip, &back));
    em_sockaddr_set_port(&sa, 0);
    assert_int_equal(em_sockaddr_port(&sa), 0);

    memset(&sa, 0, sizeof sa);
    sa.u.sa.sa_family = AF_UNIX;
    assert_int_equal(em_sockaddr_len(&sa), 0);
    assert_int_equal(em_sockaddr_port(&sa), 0);
    em_sockaddr_set_port(&sa, 80); /* ignored */
    assert_int_equal(em_sockaddr_port(&sa), 0);
    back = em_sockaddr_ip(&sa);
    assert_int_equal(back.family, 0);
}

static void test_from_sys(void **state) {
    (void)state;
    struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_port = htons(53)};
    in4.sin_addr.s_addr = htonl(0x08080808);
    em_sockaddr sa;
    assert_int_equal(em_sockaddr_from_sys(&sa, (struct sockaddr *)&in4, sizeof in4), 0);
    char buf[EM_SOCKADDR_STRLEN];
    assert_int_equal(em_sockaddr_format(&sa, buf, sizeof buf), 10);
    assert_string_equal(buf, "8.8.8.8:53");
    assert_int_equal(em_sockaddr_from_sys(&sa, (struct sockaddr *)&in4, sizeof in4 - 1), EM_EINVAL);

    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(80)};
    in6.sin6_addr.s6_addr[15] = 1;
    in6.sin6_scope_id = 3;
    assert_int_equal(em_sockaddr_from_sys(&sa, (struct sockaddr *)&in6, sizeof in6), 0);
    assert_int_equal(em_sockaddr_format(&sa, buf, sizeof buf), 10);
    assert_string_equal(buf, "[::1%3]:80");
    assert_int_equal(em_sockaddr_from_sys(&sa, (struct sockaddr *)&in6, sizeof in4), EM_EINVAL);

    struct sockaddr_un un = {.sun_family = AF_UNIX};
    assert_int_equal(em_sockaddr_from_sys(&sa, (struct sockaddr *)&un, sizeof un), EM_EAFNOSUPPORT);
    assert_int_equal(em_sockaddr_from_sys(&sa, NULL, 0), EM_EINVAL);
    assert_int_equal(em_sockaddr_from_sys(&sa, (struct sockaddr *)&in4, 1), EM_EINVAL);
}

static void test_equal(void **state) {
    (void)state;
    static const char *const all[] = {"1.2.3.4:80", "1.2.3.4:81",         "1.2.3.5:80",
                                      "[::1]:80",   "[::1]:81",           "[::2]:80",
                                      "[::1%1]:80", "[::ffff:1.2.3.4]:80"};
    size_t n = sizeof all / sizeof all[0];
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            em_sockaddr a, b;
            assert_int_equal(em_sockaddr_parse(&a, all[i], strlen(all[i])), 0);
            assert_int_equal(em_sockaddr_parse(&b, all[j], strlen(all[j])), 0);
            assert_int_equal(em_sockaddr_equal(&a, &b), i == j);
        }
    }
    /* Flow labels are not part of the identity. */
    em_sockaddr a = em_sockaddr_loopback6(9), b = em_sockaddr_loopback6(9);
    b.u.in6.sin6_flowinfo = htonl(12345);
    assert_true(em_sockaddr_equal(&a, &b));
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    assert_false(em_sockaddr_equal(&a, &b)); /* no family: not an address */
}

static void test_loopbacks(void **state) {
    (void)state;
    char buf[EM_SOCKADDR_STRLEN];
    em_sockaddr a = em_sockaddr_loopback4(8080);
    assert_int_equal(em_sockaddr_format(&a, buf, sizeof buf), 14);
    assert_string_equal(buf, "127.0.0.1:8080");
    em_ip ip = em_sockaddr_ip(&a);
    assert_true(em_ip_is_loopback(&ip));
    em_sockaddr b = em_sockaddr_loopback6(0);
    assert_int_equal(em_sockaddr_format(&b, buf, sizeof buf), 7);
    assert_string_equal(buf, "[::1]:0");
    ip = em_sockaddr_ip(&b);
    assert_true(em_ip_is_loopback(&ip));
}

/* Input right before a PROT_NONE page: reading past len faults. */
static void test_no_overread(void **state) {
    (void)state;
    long pg = sysconf(_SC_PAGESIZE);
    char *base =
        mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(base != MAP_FAILED);
    assert_int_equal(mprotect(base + pg, (size_t)pg, PROT_NONE), 0);
    for (size_t i = 0; i < sizeof good / sizeof good[0] + sizeof bad / sizeof bad[0]; i++) {
        const char *s =
            i < sizeof good / sizeof good[0] ? good[i].in : bad[i - sizeof good / sizeof good[0]];
        size_t len = strlen(s);
        for (size_t l = 0; l <= len; l++) {
            char *p = base + pg - l;
            memcpy(p, s, l);
            em_sockaddr sa;
            int r = em_sockaddr_parse(&sa, p, l);
            assert_int_equal(r, em_sockaddr_parse(&sa, s, l));
        }
    }
    munmap(base, (size_t)pg * 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_format),
        cmocka_unit_test(test_format_errors),
        cmocka_unit_test(test_from_ip_and_accessors),
        cmocka_unit_test(test_from_sys),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_loopbacks),
        cmocka_unit_test(test_no_overread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

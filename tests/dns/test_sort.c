/* dns/sort.c: RFC 6724 destination order within one answer, rule by rule
 * with given sources, and once with the kernel's routes. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dns_internal.h"
#include "em_test.h"

static em_ip ip(const char *text) {
    em_ip a;
    assert_int_equal(em_ip_parse(&a, text, strlen(text)), 0);
    return a;
}

/* Sort dsts (given sources, "" for none) and check the order against want. */
static void check(size_t n, const char *const *dsts, const char *const *srcs,
                  const char *const *want) {
    em_ip d[8], s[8];
    for (size_t i = 0; i < n; i++) {
        d[i] = ip(dsts[i]);
        memset(&s[i], 0, sizeof s[i]);
        if (srcs[i][0])
            s[i] = ip(srcs[i]);
    }
    em__dns_sort_with(d, s, n);
    for (size_t i = 0; i < n; i++) {
        em_ip w = ip(want[i]);
        char got[EM_IP_STRLEN];
        assert_true(em_ip_format(&d[i], got, sizeof got) > 0);
        if (!em_ip_equal(&d[i], &w))
            fail_msg("position %zu: got %s, want %s", i, got, want[i]);
    }
}

static void test_rule1_unreachable_last(void **state) {
    check(3, (const char *[]){"192.0.2.1", "192.0.2.2", "192.0.2.3"},
          (const char *[]){"", "10.0.0.1", ""},
          (const char *[]){"192.0.2.2", "192.0.2.1", "192.0.2.3"});
}

static void test_rule2_matching_scope(void **state) {
    /* 127.0.0.9 is link-local in scope; from a global source it mismatches. */
    check(2, (const char *[]){"127.0.0.9", "192.0.2.1"}, (const char *[]){"10.0.0.1", "10.0.0.1"},
          (const char *[]){"192.0.2.1", "127.0.0.9"});
}

static void test_rule5_matching_label(void **state) {
    /* A ULA destination from a global source: label 13 against 1. */
    check(2, (const char *[]){"fd00::1", "2001:db8::1"},
          (const char *[]){"2001:db8::99", "2001:db8::99"},
          (const char *[]){"2001:db8::1", "fd00::1"});
}

static void test_rule6_precedence(void **state) {
    /* Labels match on both (6to4 from 6to4): global unicast 40 beats 6to4 30. */
    check(2, (const char *[]){"2002:c000:201::1", "2001:db8::1"},
          (const char *[]){"2002:c000:201::2", "2001:db8::2"},
          (const char *[]){"2001:db8::1", "2002:c000:201::1"});
}

static void test_rule8_smaller_scope(void **state) {
    check(2, (const char *[]){"2001:db8::1", "fe80::1"}, (const char *[]){"2001:db8::2", "fe80::2"},
          (const char *[]){"fe80::1", "2001:db8::1"});
}

static void test_rule9_longest_prefix_v6_only(void **state) {
    check(2, (const char *[]){"2001:db8:2::1", "2001:db8:1::1"},
          (const char *[]){"2001:db8:1::5", "2001:db8:1::5"},
          (const char *[]){"2001:db8:1::1", "2001:db8:2::1"});
    /* IPv4: no rule 9, the server's order stays (rule 10). */
    check(2, (const char *[]){"198.51.100.1", "10.0.0.2"}, (const char *[]){"10.0.0.1", "10.0.0.1"},
          (const char *[]){"198.51.100.1", "10.0.0.2"});
}

static void test_rule10_stable(void **state) {
    check(5, (const char *[]){"192.0.2.5", "192.0.2.4", "192.0.2.3", "192.0.2.2", "192.0.2.1"},
          (const char *[]){"10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.1", "10.0.0.1"},
          (const char *[]){"192.0.2.5", "192.0.2.4", "192.0.2.3", "192.0.2.2", "192.0.2.1"});
}

static void test_with_routes(void **state) {
    /* Loopback is always routed and link-local in scope: first by rule 8 if
     * 192.0.2.1 has a route, by rule 1 if not. One address: untouched. */
    em_ip a[2] = {ip("192.0.2.1"), ip("127.0.0.1")};
    em__dns_sort(a, 2);
    em_ip lo = ip("127.0.0.1"), doc = ip("192.0.2.1");
    assert_true(em_ip_equal(&a[0], &lo));
    assert_true(em_ip_equal(&a[1], &doc));
    em__dns_sort(a + 1, 1);
    assert_true(em_ip_equal(&a[1], &doc));
    em__dns_sort(a, 0);
}

/* The public face: the same order, both families mixed. 127.0.0.1 goes
 * before 192.0.2.1 (as in test_with_routes); ::1 (precedence 50) before
 * both where the host has IPv6 loopback, else last (rule 1). NULL or
 * n < 2 is a no-op. */
static void test_public_sort(void **state) {
    (void)state;
    em_ip a[3] = {ip("192.0.2.1"), ip("::1"), ip("127.0.0.1")};
    em_dns_sort(a, 3);
    em_ip v6lo = ip("::1"), lo = ip("127.0.0.1"), doc = ip("192.0.2.1");
    bool v6 = em_ip_equal(&a[0], &v6lo);
    em_ip *v4 = v6 ? a + 1 : a;
    assert_true(em_ip_equal(&v4[0], &lo));
    assert_true(em_ip_equal(&v4[1], &doc));
    if (!v6)
        assert_true(em_ip_equal(&a[2], &v6lo));
    em_ip before = a[0];
    em_dns_sort(a, 1);
    em_dns_sort(NULL, 2);
    assert_true(em_ip_equal(&a[0], &before));
}

/* Merge one IPv6 and one IPv4 answer: which family comes first? */
static bool merged_v6_first(const char *v6text, const char *v4text) {
    em_ip a6 = ip(v6text), a4 = ip(v4text);
    em_dns_result v6 = {.addrs = &a6, .count = 1, .family = EM_DNS_V6},
                  v4 = {.addrs = &a4, .count = 1, .family = EM_DNS_V4}, out;
    assert_int_equal(em__dns_result_merge(&out, &v6, &v4), 0);
    bool first = out.addrs[0].family == EM_IP_V6;
    em_dns_result_free(&out);
    return first;
}

/* RFC 6724 §6 across the families of a merged answer (and so RFC 8305
 * §4's first family): with routes for both, a native IPv6 address goes
 * before IPv4 (rule 6), but a 6to4 or ULA destination reached from a
 * global source goes after it (rule 5, then rule 6: ULA's precedence 3 is
 * below IPv4's 35). In a network namespace of its own (root only). */
static void test_merge_across_families(void **state) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWNET) != 0)
            _exit(77);
        if (system("ip link set lo up && ip addr add 192.0.2.9/24 dev lo && "
                   "ip -6 addr add 2001:db8::5/64 dev lo nodad && "
                   "ip route add default dev lo src 192.0.2.9 && "
                   "ip -6 route add default dev lo") != 0)
            _exit(77);
        int bad = 0;
        bad |= !merged_v6_first("2001:db8:1::1", "198.51.100.1") << 0;
        bad |= merged_v6_first("2002:c000:201::1", "198.51.100.1") << 1;
        bad |= merged_v6_first("fd00::1", "198.51.100.1") << 2;
        _exit(bad);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == 77)
        skip();
    if (WEXITSTATUS(st))
        fail_msg("wrong first family (bits: native, 6to4, ULA): %d", WEXITSTATUS(st));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule1_unreachable_last),
        cmocka_unit_test(test_rule2_matching_scope),
        cmocka_unit_test(test_rule5_matching_label),
        cmocka_unit_test(test_rule6_precedence),
        cmocka_unit_test(test_rule8_smaller_scope),
        cmocka_unit_test(test_rule9_longest_prefix_v6_only),
        cmocka_unit_test(test_rule10_stable),
        cmocka_unit_test(test_with_routes),
        cmocka_unit_test(test_public_sort),
        cmocka_unit_test(test_merge_across_families),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

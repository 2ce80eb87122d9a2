/* Tests for net/ip.c: parsing, RFC 5952 formatting, ordering, classes.
 * Random round-trips compare against glibc's inet_pton/inet_ntop. */
#include "em_test.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ember/net.h"

static uint64_t rng = 0x2545f4914f6cdd1du;
static uint64_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int parse_c(int (*fn)(em_ip *, const char *, size_t), em_ip *ip, const char *s) {
    return fn(ip, s, strlen(s));
}

/* ---- IPv4 ---------------------------------------------------------------- */

static const char *const v4_good[] = {
    "0.0.0.0",         "1.2.3.4",      "255.255.255.255", "127.0.0.1",  "10.0.0.1",
    "192.168.100.200", "9.99.199.249", "100.64.0.0",      "0.1.10.100",
};

static const char *const v4_bad[] = {
    "",           "1",         "1.2",          "1.2.3",          "1.2.3.4.5",  "01.2.3.4",
    "1.02.3.4",   "1.2.3.04",  "00.0.0.0",     "256.1.1.1",      "1.1.1.256",  "1.2.3.999",
    "1000.1.1.1", "-1.2.3.4",  "+1.2.3.4",     "1.2.3.4 ",       " 1.2.3.4",   "1.2.3.4\n",
    "1.2.3.4\r",  "1.2.3.4.",  ".1.2.3.4",     "1..2.3",         "1.2..3.4",   "0x1.2.3.4",
    "0x7f.0.0.1", "1.2.3.a",   "1.2.3.4%eth0", "1.2.3.4:80",     "a@1.2.3.4",  "1.2.3.4@",
    "1,2,3,4",    "1.2.3.4/8", "::1",          "\xc2\xb9.2.3.4", "4294967295", "127.1",
    "0177.0.0.1", "1.2.3.-0",  "１.2.3.4",
};

static void test_ip4_parse(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof v4_good / sizeof v4_good[0]; i++) {
        em_ip ip;
        struct in_addr want;
        assert_int_equal(inet_pton(AF_INET, v4_good[i], &want), 1);
        assert_int_equal(parse_c(em_ip4_parse, &ip, v4_good[i]), 0);
        assert_int_equal(ip.family, EM_IP_V4);
        assert_memory_equal(ip.bytes, &want, 4);
        assert_int_equal(ip.scope_id, 0);
        assert_int_equal(parse_c(em_ip_parse, &ip, v4_good[i]), 0);
        assert_int_equal(parse_c(em_ip6_parse, &ip, v4_good[i]), EM_EINVAL);
    }
    for (size_t i = 0; i < sizeof v4_bad / sizeof v4_bad[0]; i++) {
        em_ip ip = em_ip4_make(0x01020304);
        struct in_addr a;
        if (strcmp(v4_bad[i], "::1") != 0)
            assert_int_equal(inet_pton(AF_INET, v4_bad[i], &a), 0);
        if (parse_c(em_ip4_parse, &ip, v4_bad[i]) != EM_EINVAL)
            fail_msg("accepted v4 \"%s\"", v4_bad[i]);
        assert_int_equal(ip.bytes[0], 1); /* untouched on error */
    }
    em_ip ip;
    /* len is honoured exactly: a prefix parses, embedded NULs do not. */
    assert_int_equal(em_ip4_parse(&ip, "1.2.3.45", 7), 0);
    assert_int_equal(ip.bytes[3], 4);
    assert_int_equal(em_ip4_parse(&ip, "1.2.3.4\0", 8), EM_EINVAL);
    assert_int_equal(em_ip4_parse(&ip, "1.2\0.3.4", 8), EM_EINVAL);
    assert_int_equal(em_ip4_parse(&ip, NULL, 0), EM_EINVAL);
    assert_int_equal(em_ip_parse(&ip, NULL, 0), EM_EINVAL);
}

/* ---- IPv6 ---------------------------------------------------------------- */

static const struct {
    const char *in, *canon;
} v6_good[] = {
    {"::", "::"},
    {"::1", "::1"},
    {"1::", "1::"},
    {"0:0:0:0:0:0:0:0", "::"},
    {"0:0:0:0:0:0:0:1", "::1"},
    {"2001:DB8::1", "2001:db8::1"},
    {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
    {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},    /* first of equal runs */
    {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},          /* longest run */
    {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"}, /* one zero: not compressed */
    {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
    {"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},
    {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
    {"fe80::1", "fe80::1"},
    {"FE80::ABCD:EF01", "fe80::abcd:ef01"},
    {"ff02::1:ff00:1", "ff02::1:ff00:1"},
    {"::ffff:1.2.3.4", "::ffff:1.2.3.4"},
    {"::FFFF:192.168.0.1", "::ffff:192.168.0.1"},
    {"::ffff:0102:0304", "::ffff:1.2.3.4"},
    {"0:0:0:0:0:ffff:1.2.3.4", "::ffff:1.2.3.4"},
    {"::1.2.3.4", "::1.2.3.4"}, /* v4-compatible, as inet_ntop */
    {"::0.0.1.2", "::102"},
    {"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"},
    {"1::1.2.3.4", "1::102:304"},
    {"64:ff9b::192.0.2.33", "64:ff9b::c000:221"},
    {"0001:0002::", "1:2::"},
    {"a:b:c:d:e:f:a:b", "a:b:c:d:e:f:a:b"},
    {"0:0:1::", "0:0:1::"},
    {"1:0:0:2::3", "1:0:0:2::3"},
    {"1::2:0:0:3", "1::2:0:0:3"},
};

static const char *const v6_bad[] = {
    "",
    ":",
    ":::",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:8::",
    "::1:2:3:4:5:6:7:8",
    "1:2:3:4::5:6:7:8",
    "1::2::3",
    "::1::",
    ":1::",
    "1::2:",
    ":1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8:",
    "12345::",
    "1:2:3:4:5:6:7:g",
    "::ffff:1.2.3",
    "::ffff:1.2.3.4.5",
    "::ffff:01.2.3.4",
    "::ffff:256.1.1.1",
    "::1.2.3.4:1",
    "1.2.3.4::",
    "1:2:3:4:5:6:7:1.2.3.4",
    "1:2:3:4:5:6::1.2.3.4",
    "::1 ",
    " ::1",
    "::1\n",
    "::1\r",
    "[::1]",
    "::1@",
    "@::1",
    "::-1",
    "::+1",
    "0x1::",
    "::1/128",
    "1:::2",
    "fe80:::1",
    "::ffff:1a.2.3.4",
    "::.1.2.3",
    "::ffff:1.2.3.",
    "g::",
    "::00000",
    "1:2:3:4:5:6:7:8%",
    "::1%",
    "%1",
};

static void check_canon(const char *in, const char *canon) {
    em_ip ip;
    if (parse_c(em_ip6_parse, &ip, in) != 0)
        fail_msg("rejected v6 \"%s\"", in);
    assert_int_equal(ip.family, EM_IP_V6);
    struct in6_addr want;
    assert_int_equal(inet_pton(AF_INET6, in, &want), 1);
    assert_memory_equal(ip.bytes, &want, 16);
    char buf[EM_IP_STRLEN], sys[INET6_ADDRSTRLEN];
    ssize_t n = em_ip_format(&ip, buf, sizeof buf);
    assert_int_equal(n, (ssize_t)strlen(canon));
    assert_string_equal(buf, canon);
    assert_non_null(inet_ntop(AF_INET6, &want, sys, sizeof sys));
    assert_string_equal(buf, sys);
}

static void test_ip6_parse_format(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof v6_good / sizeof v6_good[0]; i++) {
        check_canon(v6_good[i].in, v6_good[i].canon);
        em_ip ip;
        assert_int_equal(parse_c(em_ip_parse, &ip, v6_good[i].in), 0);
        assert_int_equal(parse_c(em_ip4_parse, &ip, v6_good[i].in), EM_EINVAL);
    }
    for (size_t i = 0; i < sizeof v6_bad / sizeof v6_bad[0]; i++) {
        em_ip ip = em_ip4_make(0x01020304);
        struct in6_addr a;
        if (!strchr(v6_bad[i], '%'))
            assert_int_equal(inet_pton(AF_INET6, v6_bad[i], &a), 0);
        if (parse_c(em_ip6_parse, &ip, v6_bad[i]) != EM_EINVAL)
            fail_msg("accepted v6 \"%s\"", v6_bad[i]);
        if (parse_c(em_ip_parse, &ip, v6_bad[i]) != EM_EINVAL)
            fail_msg("em_ip_parse accepted \"%s\"", v6_bad[i]);
        assert_int_equal(ip.family, EM_IP_V4); /* untouched on error */
    }
    em_ip ip;
    assert_int_equal(em_ip6_parse(&ip, "::1\0", 4), EM_EINVAL);
    assert_int_equal(em_ip6_parse(&ip, "::1:2", 3), 0); /* stops at len */
    assert_int_equal(ip.bytes[15], 1);
    assert_int_equal(em_ip6_parse(&ip, "::", 1), EM_EINVAL);
    assert_int_equal(em_ip6_parse(&ip, NULL, 0), EM_EINVAL);
}

static void test_zones(void **state) {
    (void)state;
    em_ip ip;
    char buf[EM_IP_STRLEN];
    assert_int_equal(parse_c(em_ip6_parse, &ip, "fe80::1%2"), 0);
    assert_int_equal(ip.scope_id, 2);
    assert_int_equal(em_ip_format(&ip, buf, sizeof buf), 9);
    assert_string_equal(buf, "fe80::1%2");
    assert_int_equal(parse_c(em_ip_parse, &ip, "fe80::1%4294967295"), 0);
    assert_true(ip.scope_id == 4294967295u);
    assert_int_equal(em_ip_format(&ip, buf, sizeof buf), 18);
    assert_string_equal(buf, "fe80::1%4294967295");
    unsigned lo = if_nametoindex("lo");
    if (lo) {
        assert_int_equal(parse_c(em_ip6_parse, &ip, "fe80::1%lo"), 0);
        assert_int_equal(ip.scope_id, lo);
        assert_int_equal(parse_c(em_ip_parse, &ip, "::ffff:1.2.3.4%lo"), 0);
        assert_int_equal(ip.scope_id, lo);
    }
    static const char *const bad[] = {
        "fe80::1%",
        "fe80::1%0",
        "fe80::1%01",
        "fe80::1%4294967296",
        "fe80::1%99999999999",
        "fe80::1%no-such-if9",
        "fe80::1%lo%",
        "fe80::1%l o",
        "fe80::1%lo\n",
        "fe80::1%lo@x",
        "fe80::1%abcdefghijklmnop",
        "fe80::1%-1",
        "fe80::1%+1",
        "fe80::1%eth0:1",
        "1.2.3.4%1",
        "fe80::1%%1",
        "fe80::g%1",
        "%lo",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse_c(em_ip_parse, &ip, bad[i]) != EM_EINVAL)
            fail_msg("accepted zone \"%s\"", bad[i]);
    }
    assert_int_equal(em_ip6_parse(&ip, "fe80::1%lo\0", 11), EM_EINVAL);
    assert_int_equal(em_ip6_parse(&ip, "fe80::1%12", 9), 0); /* len ends the zone */
    assert_int_equal(ip.scope_id, 1);
    /* v4 ignores any scope when formatting. */
    ip = em_ip4_make(0x7f000001);
    ip.scope_id = 5;
    assert_int_equal(em_ip_format(&ip, buf, sizeof buf), 9);
    assert_string_equal(buf, "127.0.0.1");
}

static void test_format_errors(void **state) {
    (void)state;
    em_ip ip;
    assert_int_equal(parse_c(em_ip_parse, &ip, "2001:db8::1"), 0);
    char buf[EM_IP_STRLEN];
    for (size_t cap = 0; cap <= 11; cap++) {
        memset(buf, 'x', sizeof buf);
        assert_int_equal(em_ip_format(&ip, buf, cap), EM_ENOSPC);
        assert_int_equal(buf[0], 'x'); /* nothing written */
    }
    assert_int_equal(em_ip_format(&ip, buf, 12), 11);
    assert_int_equal(em_ip_format(&ip, NULL, 0), EM_ENOSPC);
    ip.family = 0;
    assert_int_equal(em_ip_format(&ip, buf, sizeof buf), EM_EAFNOSUPPORT);
    /* The longest forms fit in EM_IP_STRLEN. */
    memset(ip.bytes, 0xff, 16);
    ip.family = EM_IP_V6;
    ip.scope_id = 4294967295u;
    assert_int_equal(em_ip_format(&ip, buf, sizeof buf), 39 + 11);
    memset(ip.bytes, 0, 10);
    assert_int_equal(em_ip_format(&ip, buf, sizeof buf), 22 + 11);
    assert_string_equal(buf, "::ffff:255.255.255.255%4294967295");
}

/* ---- random round-trips against glibc ----------------------------------- */

static void test_random_v4_vs_libc(void **state) {
    (void)state;
    for (int i = 0; i < 20000; i++) {
        uint32_t v = (uint32_t)rnd();
        if (i % 4 == 0)
            v &= 0xff00ff0fu; /* plenty of zero and one-digit octets */
        em_ip ip = em_ip4_make(v);
        char buf[EM_IP_STRLEN], sys[INET_ADDRSTRLEN];
        ssize_t n = em_ip_format(&ip, buf, sizeof buf);
        assert_non_null(inet_ntop(AF_INET, ip.bytes, sys, sizeof sys));
        assert_string_equal(buf, sys);
        em_ip back;
        assert_int_equal(em_ip4_parse(&back, buf, (size_t)n), 0);
        assert_true(em_ip_equal(&ip, &back));
    }
}

static void random_v6(uint8_t b[16]) {
    uint64_t zeros = rnd();
    for (int g = 0; g < 8; g++) {
        uint64_t r = rnd();
        unsigned w = (unsigned)(r % 4 == 0 ? (r >> 32) & 0xf : (r >> 16) & 0xffff);
        if ((zeros >> g) & 1)
            w = 0;
        b[2 * g] = (uint8_t)(w >> 8);
        b[2 * g + 1] = (uint8_t)w;
    }
    uint64_t kind = rnd() % 16;
    if (kind == 0 || kind == 1) { /* v4-mapped / v4-compatible */
        memset(b, 0, 10);
        b[10] = b[11] = kind == 0 ? 0xff : 0;
    }
}

static void test_random_v6_vs_libc(void **state) {
    (void)state;
    for (int i = 0; i < 50000; i++) {
        uint8_t b[16];
        random_v6(b);
        em_ip ip = em_ip6_make(b, 0);
        char buf[EM_IP_STRLEN], sys[INET6_ADDRSTRLEN];
        ssize_t n = em_ip_format(&ip, buf, sizeof buf);
        assert_non_null(inet_ntop(AF_INET6, b, sys, sizeof sys));
        if (strcmp(buf, sys) != 0)
            fail_msg("format \"%s\" != inet_ntop \"%s\"", buf, sys);
        em_ip back;
        assert_int_equal(em_ip6_parse(&back, buf, (size_t)n), 0);
        assert_true(em_ip_equal(&ip, &back));
        /* The full uncompressed, upper-case form parses to the same. */
        char full[64];
        int fn = 0;
        for (int g = 0; g < 8; g++)
            fn += sprintf(full + fn, g ? ":%04X" : "%04X", b[2 * g] << 8 | b[2 * g + 1]);
        assert_int_equal(em_ip6_parse(&back, full, (size_t)fn), 0);
        assert_memory_equal(back.bytes, b, 16);
    }
}

/* Random strings from the address alphabet: accept exactly what inet_pton
 * accepts, with the same bytes. */
static void test_random_strings_vs_inet_pton(void **state) {
    (void)state;
    static const char a6[] = "0123456789abcdefABCDEF:::::....g";
    static const char a4[] = "0123456789.....x";
    int accepted6 = 0, accepted4 = 0;
    for (int i = 0; i < 400000; i++) {
        bool v6 = i & 1;
        const char *alpha = v6 ? a6 : a4;
        size_t alen = v6 ? sizeof a6 - 1 : sizeof a4 - 1;
        char s[48];
        size_t len = (size_t)(rnd() % (v6 ? 40 : 17));
        for (size_t k = 0; k < len; k++)
            s[k] = alpha[rnd() % alen];
        if (v6 && len > 2 && rnd() % 3 == 0)
            memcpy(s, "::", 2);
        s[len] = '\0';
        uint8_t want[16];
        em_ip ip;
        int sys = inet_pton(v6 ? AF_INET6 : AF_INET, s, want);
        int err = v6 ? em_ip6_parse(&ip, s, len) : em_ip4_parse(&ip, s, len);
        if ((sys == 1) != (err == 0))
            fail_msg("\"%s\": inet_pton %d, ember %d", s, sys, err);
        if (sys == 1) {
            assert_memory_equal(ip.bytes, want, v6 ? 16 : 4);
            if (v6)
                accepted6++;
            else
                accepted4++;
        }
    }
    assert_true(accepted6 > 100 && accepted4 > 100); /* the test means something */
}

/* ---- over-reads ---------------------------------------------------------- */

/* Copy s to the very end of a page followed by a PROT_NONE page, so reading
 * one byte past len faults. */
static char *guarded(const char *s, size_t len) {
    static char *base;
    long pg = sysconf(_SC_PAGESIZE);
    if (!base) {
        base =
            mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        assert_true(base != MAP_FAILED);
        assert_int_equal(mprotect(base + pg, (size_t)pg, PROT_NONE), 0);
    }
    char *p = base + pg - len;
    if (len)
        memcpy(p, s, len);
    return p;
}

static void test_no_overread(void **state) {
    (void)state;
    const char *inputs[200];
    size_t n = 0;
    for (size_t i = 0; i < sizeof v4_good / sizeof v4_good[0]; i++)
        inputs[n++] = v4_good[i];
    for (size_t i = 0; i < sizeof v4_bad / sizeof v4_bad[0]; i++)
        inputs[n++] = v4_bad[i];
    for (size_t i = 0; i < sizeof v6_good / sizeof v6_good[0]; i++)
        inputs[n++] = v6_good[i].in;
    for (size_t i = 0; i < sizeof v6_bad / sizeof v6_bad[0]; i++)
        inputs[n++] = v6_bad[i];
    inputs[n++] = "fe80::1%lo";
    inputs[n++] = "fe80::1%123";
    inputs[n++] = "::ffff:1.2.3.4%1";
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(inputs[i]);
        /* Every prefix too: truncation at any byte must stop cleanly. */
        for (size_t l = 0; l <= len; l++) {
            char *p = guarded(inputs[i], l);
            em_ip ip;
            int r = em_ip_parse(&ip, p, l);
            int r4 = em_ip4_parse(&ip, p, l);
            int r6 = em_ip6_parse(&ip, p, l);
            assert_int_equal(r, r4 == 0 ? 0 : r6);
            assert_false(r4 == 0 && r6 == 0);
        }
    }
}

/* ---- compare, classify, helpers ------------------------------------------ */

static em_ip P(const char *s) {
    em_ip ip;
    if (parse_c(em_ip_parse, &ip, s) != 0)
        fail_msg("bad test address %s", s);
    return ip;
}

static void test_compare(void **state) {
    (void)state;
    static const char *const sorted[] = {
        "0.0.0.0",        "0.0.0.1", "1.2.3.4",   "255.255.255.255", "::",      "::1",
        "::ffff:0.0.0.0", "fe80::1", "fe80::1%1", "fe80::1%2",       "ff02::1",
    };
    size_t n = sizeof sorted / sizeof sorted[0];
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            em_ip a = P(sorted[i]), b = P(sorted[j]);
            int c = em_ip_compare(&a, &b);
            int want = i < j ? -1 : i > j ? 1 : 0;
            assert_int_equal(c, want);
            assert_int_equal(em_ip_equal(&a, &b), i == j);
        }
    }
    /* v4 compares only its four bytes. */
    em_ip a = P("1.2.3.4"), b = P("1.2.3.4");
    b.bytes[10] = 7;
    assert_true(em_ip_equal(&a, &b));
    /* A v4 and its mapped form are different addresses. */
    em_ip m = P("::ffff:1.2.3.4");
    assert_false(em_ip_equal(&a, &m));
}

static void test_classify(void **state) {
    (void)state;
    static const struct {
        const char *ip;
        em_ip_class cls;
    } cases[] = {
        {"0.0.0.0", EM_IP_UNSPECIFIED},
        {"0.1.2.3", EM_IP_RESERVED},
        {"127.0.0.1", EM_IP_LOOPBACK},
        {"127.255.255.254", EM_IP_LOOPBACK},
        {"10.1.2.3", EM_IP_PRIVATE},
        {"172.16.0.1", EM_IP_PRIVATE},
        {"172.31.255.255", EM_IP_PRIVATE},
        {"172.32.0.1", EM_IP_GLOBAL},
        {"172.15.255.255", EM_IP_GLOBAL},
        {"192.168.1.1", EM_IP_PRIVATE},
        {"169.254.1.1", EM_IP_LINK_LOCAL},
        {"224.0.0.1", EM_IP_MULTICAST},
        {"239.255.255.255", EM_IP_MULTICAST},
        {"192.0.2.1", EM_IP_DOCUMENTATION},
        {"198.51.100.7", EM_IP_DOCUMENTATION},
        {"203.0.113.255", EM_IP_DOCUMENTATION},
        {"255.255.255.255", EM_IP_BROADCAST},
        {"240.0.0.1", EM_IP_RESERVED},
        {"255.255.255.254", EM_IP_RESERVED},
        {"100.64.0.1", EM_IP_RESERVED},
        {"100.127.255.255", EM_IP_RESERVED},
        {"100.128.0.0", EM_IP_GLOBAL},
        {"100.63.255.255", EM_IP_GLOBAL},
        {"192.0.0.8", EM_IP_RESERVED},
        {"198.18.0.1", EM_IP_RESERVED},
        {"198.19.255.255", EM_IP_RESERVED},
        {"198.20.0.0", EM_IP_GLOBAL},
        {"8.8.8.8", EM_IP_GLOBAL},
        {"1.1.1.1", EM_IP_GLOBAL},
        {"223.255.255.255", EM_IP_GLOBAL},
        {"::", EM_IP_UNSPECIFIED},
        {"::1", EM_IP_LOOPBACK},
        {"::2", EM_IP_RESERVED},
        {"::1.2.3.4", EM_IP_RESERVED},
        {"fc00::1", EM_IP_PRIVATE},
        {"fdff:ffff::1", EM_IP_PRIVATE},
        {"fe80::1", EM_IP_LINK_LOCAL},
        {"febf::1", EM_IP_LINK_LOCAL},
        {"fec0::1", EM_IP_RESERVED},
        {"ff02::1", EM_IP_MULTICAST},
        {"ff0e::1", EM_IP_MULTICAST},
        {"2001:db8::1", EM_IP_DOCUMENTATION},
        {"2001:db9::1", EM_IP_GLOBAL},
        {"2606:4700::1111", EM_IP_GLOBAL},
        {"100::1", EM_IP_RESERVED},
        {"100:0:0:1::", EM_IP_GLOBAL},
        {"::ffff:127.0.0.1", EM_IP_LOOPBACK},
        {"::ffff:10.0.0.1", EM_IP_PRIVATE},
        {"::ffff:0.0.0.0", EM_IP_UNSPECIFIED},
        {"::ffff:8.8.8.8", EM_IP_GLOBAL},
        {"::ffff:255.255.255.255", EM_IP_BROADCAST},
        {"::ffff:169.254.0.1", EM_IP_LINK_LOCAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        em_ip ip = P(cases[i].ip);
        em_ip_class c = em_ip_classify(&ip);
        if (c != cases[i].cls)
            fail_msg("%s: %s, want %s", cases[i].ip, em_ip_class_name(c),
                     em_ip_class_name(cases[i].cls));
        assert_int_equal(em_ip_is_loopback(&ip), cases[i].cls == EM_IP_LOOPBACK);
    }
}

static void test_class_names(void **state) {
    (void)state;
    static const char *const names[] = {"unspecified", "loopback",  "private",
                                        "link-local",  "multicast", "documentation",
                                        "broadcast",   "reserved",  "global"};
    for (int c = EM_IP_UNSPECIFIED; c <= EM_IP_GLOBAL; c++)
        assert_string_equal(em_ip_class_name((em_ip_class)c), names[c - EM_IP_UNSPECIFIED]);
    assert_string_equal(em_ip_class_name((em_ip_class)0), "unknown");
    assert_string_equal(em_ip_class_name((em_ip_class)99), "unknown");
}

static void test_make_map_unmap(void **state) {
    (void)state;
    em_ip a = em_ip4_make(0x7f000001u);
    assert_int_equal(a.family, EM_IP_V4);
    assert_memory_equal(a.bytes, "\x7f\0\0\x01", 4);
    em_ip b = P("127.0.0.1");
    assert_true(em_ip_equal(&a, &b));
    static const uint8_t one[16] = {[15] = 1};
    em_ip c = em_ip6_make(one, 3);
    assert_int_equal(c.family, EM_IP_V6);
    assert_int_equal(c.scope_id, 3);
    em_ip d = P("::1%3");
    assert_true(em_ip_equal(&c, &d));

    em_ip m = P("::ffff:192.0.2.1");
    assert_true(em_ip_is_v4_mapped(&m));
    em_ip u = em_ip_unmap(&m);
    em_ip want = P("192.0.2.1");
    assert_true(em_ip_equal(&u, &want));
    static const char *const not_mapped[] = {"::1.2.3.4", "::fffe:1.2.3.4", "1::ffff:1.2.3.4",
                                             "1.2.3.4", "::"};
    for (size_t i = 0; i < sizeof not_mapped / sizeof not_mapped[0]; i++) {
        em_ip x = P(not_mapped[i]);
        assert_false(em_ip_is_v4_mapped(&x));
        em_ip y = em_ip_unmap(&x);
        assert_true(em_ip_equal(&x, &y));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip4_parse),
        cmocka_unit_test(test_ip6_parse_format),
        cmocka_unit_test(test_zones),
        cmocka_unit_test(test_format_errors),
        cmocka_unit_test(test_random_v4_vs_libc),
        cmocka_unit_test(test_random_v6_vs_libc),
        cmocka_unit_test(test_random_strings_vs_inet_pton),
        cmocka_unit_test(test_no_overread),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_class_names),
        cmocka_unit_test(test_make_map_unmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

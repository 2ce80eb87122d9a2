/* http/cookie_jar.c: RFC 6265 §5.3 storage and §5.4's Cookie header,
 * 6265bis's secure-origin rules and prefixes, public suffixes (libpsl),
 * expiry on a fake clock, limits and eviction order, and one jar shared
 * by several threads (also run under ThreadSanitizer: make tsan). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "em_test.h"
#include "ember/http/cookie.h"

#define NOW 1700000000LL

static em_cookie_jar *jar_new(const em_cookie_jar_opts *o) {
    em_cookie_jar *jar;
    assert_int_equal(em_cookie_jar_new(&jar, o), 0);
    return jar;
}

static int set_at(em_cookie_jar *jar, const char *url, const char *sc, int64_t now) {
    em_url u;
    if (em_url_parse(&u, em_slice_from_cstr(url)))
        fail_msg("bad test URL %s", url);
    int rc = em_cookie_jar_set(jar, &u, em_slice_from_cstr(sc), now);
    em_url_free(&u);
    return rc;
}

static void set_ok(em_cookie_jar *jar, const char *url, const char *sc) {
    int rc = set_at(jar, url, sc, NOW);
    if (rc)
        fail_msg("%s: '%s' refused (%d)", url, sc, rc);
}

static void set_bad(em_cookie_jar *jar, const char *url, const char *sc) {
    int rc = set_at(jar, url, sc, NOW);
    if (rc != EM_EINVAL)
        fail_msg("%s: '%s' accepted (%d)", url, sc, rc);
}

/* The Cookie header for url at now, "" when none. */
static const char *hdr_at(em_cookie_jar *jar, const char *url, int64_t now) {
    static char out[8192];
    em_url u;
    if (em_url_parse(&u, em_slice_from_cstr(url)))
        fail_msg("bad test URL %s", url);
    em_buf b;
    em_buf_init(&b, 0);
    int n = em_cookie_jar_header(jar, &u, now, &b);
    assert_true(n >= 0);
    assert_true((n == 0) == (em_buf_len(&b) == 0));
    snprintf(out, sizeof out, "%.*s", (int)em_buf_len(&b), em_buf_data(&b));
    em_buf_free(&b);
    em_url_free(&u);
    return out;
}

#define HDR(jar, url, want) assert_string_equal(hdr_at(jar, url, NOW), want)

static void test_rfc_examples(void **state) {
    (void)state;
    em_cookie_jar *jar = jar_new(NULL);
    /* RFC 6265 §3.1. */
    set_ok(jar, "https://www.example.com/", "SID=31d4d96e407aad42");
    HDR(jar, "https://www.example.com/", "SID=31d4d96e407aad42");
    em_cookie_jar_clear(jar);
    set_ok(jar, "https://www.example.com/", "SID=31d4d96e407aad42; Path=/; Secure; HttpOnly");
    set_ok(jar, "https://www.example.com/", "lang=en-US; Path=/; Domain=example.com");
    HDR(jar, "https://www.example.com/", "SID=31d4d96e407aad42; lang=en-US");
    HDR(jar, "https://example.com/x", "lang=en-US");
    HDR(jar, "http://www.example.com/", "lang=en-US"); /* Secure stays on https */
    set_ok(jar, "https://www.example.com/", "lang=; Expires=Sun, 06 Nov 1994 08:49:37 GMT");
    /* that one was host-only: the Domain cookie of the same name remains */
    HDR(jar, "https://www.example.com/", "SID=31d4d96e407aad42; lang=en-US");
    set_ok(jar, "https://www.example.com/",
           "lang=; Domain=example.com; Path=/; Expires=Sun, 06 Nov 1994 08:49:37 GMT");
    HDR(jar, "https://www.example.com/", "SID=31d4d96e407aad42");
    em_cookie_jar_clear(jar);
    set_ok(jar, "https://www.example.com/", "lang=en-US; Expires=Wed, 09 Jun 2021 10:18:14 GMT");
    assert_int_equal(em_cookie_jar_count(jar), 0); /* already expired at NOW (2023) */
    em_cookie_jar_free(jar);
}

static void test_host_only_and_domain(void **state) {
    (void)state;
    em_cookie_jar *jar = jar_new(NULL);
    set_ok(jar, "http://example.com/", "host=1");
    HDR(jar, "http://example.com/", "host=1");
    HDR(jar, "http://www.example.com/", ""); /* host-only: not to subdomains */
    HDR(jar, "http://xexample.com/", "");
    set_ok(jar, "http://example.com/", "dom=2; Domain=example.com");
    HDR(jar, "http://www.example.com/", "dom=2");
    HDR(jar, "http://a.b.example.com/", "dom=2");
    HDR(jar, "http://xexample.com/", "");
    HDR(jar, "http://example.com/", "host=1; dom=2");
    set_ok(jar, "http://a.example.com/", "dot=3; Domain=.EXAMPLE.com"); /* dot, case */
    HDR(jar, "http://example.com/", "host=1; dom=2; dot=3");
    /* Foreign domains. */
    set_bad(jar, "http://example.com/", "x=1; Domain=other.com");
    set_bad(jar, "http://example.com/", "x=1; Domain=www.example.com"); /* a subdomain */
    set_bad(jar, "http://example.com/", "x=1; Domain=ample.com");
    set_bad(jar, "http://www.example.com/", "x=1; Domain=w.example.com");
    /* IP hosts: only the exact address. */
    set_ok(jar, "http://192.0.2.1/", "ip=1; Domain=192.0.2.1");
    set_bad(jar, "http://192.0.2.1/", "ip=2; Domain=0.2.1");
    HDR(jar, "http://192.0.2.1/", "ip=1");
    set_ok(jar, "http://[2001:db8::1]/", "v6=1");
    HDR(jar, "http://[2001:DB8:0::1]:8080/", "v6=1"); /* cookies ignore ports */
    /* "Domain=." is empty: host-only. */
    set_ok(jar, "http://h.example.org/", "e=1; Domain=.");
    HDR(jar, "http://h.example.org/", "e=1");
    HDR(jar, "http://x.h.example.org/", "");
    em_cookie_jar_free(jar);
}

static void test_public_suffixes(void **state) {
    (void)state;
    em_cookie_jar *jar = jar_new(NULL);
    set_bad(jar, "http://www.example.co.uk/", "a=1; Domain=co.uk");
    set_bad(jar, "http://www.example.co.uk/", "a=1; Domain=uk");
    set_ok(jar, "http://www.example.co.uk/", "a=1; Domain=example.co.uk");
    set_bad(jar, "https://user.github.io/", "b=1; Domain=github.io"); /* private section */
    set_ok(jar, "https://user.github.io/", "b=1; Domain=user.github.io");
    set_bad(jar, "http://foo.com/", "c=1; Domain=com");
    HDR(jar, "http://other.example.co.uk/", "a=1");
    HDR(jar, "https://other.github.io/", "");
    /* Equal to the request host: kept, but host-only (§5.3 step 5). */
    set_ok(jar, "https://github.io/", "d=1; Domain=github.io");
    HDR(jar, "https://github.io/", "d=1");
    HDR(jar, "https://user.github.io/", "b=1");
    em_cookie_jar_free(jar);
    /* The test switch turns the check off. */
    em_cookie_jar_opts o = {.no_public_suffix_check = true};
    jar = jar_new(&o);
    set_ok(jar, "http://www.example.co.uk/", "a=1; Domain=co.uk");
    HDR(jar, "http://other.co.uk/", "a=1");
    em_cookie_jar_free(jar);
}

static void test_paths(void **state) {
    (void)state;
    em_cookie_jar *jar = jar_new(NULL);
    set_ok(jar, "http://h.com/", "p=1; Path=/docs");
    HDR(jar, "http://h.com/docs", "p=1");
    HDR(jar, "http://h.com/docs/", "p=1");
    HDR(jar, "http://h.com/docs/x", "p=1");
    HDR(jar, "http://h.com/docsX", "");
    HDR(jar, "http://h.com/doc", "");
    HDR(jar, "http://h.com/", "");
    HDR(jar, "http://h.com/Docs", ""); /* case-sensitive */
    HDR(jar, "http://h.com/docs?q=1", "p=1");
    set_ok(jar, "http://h.com/", "s=1; Path=/docs/");
    HDR(jar, "http://h.com/docs", "p=1");
    HDR(jar, "http://h.com/docs/", "s=1; p=1");
    HDR(jar, "http://h.com/docs/a/b", "s=1; p=1");
    em_cookie_jar_clear(jar);
    /* §5.1.4's default path. */
    set_ok(jar, "http://h.com/a/b/c", "d1=1");
    set_ok(jar, "http://h.com/a/b/", "d2=1");
    set_ok(jar, "http://h.com/top", "d3=1");
    set_ok(jar, "http://h.com/", "d4=1");
    set_ok(jar, "http://h.com/a/x?q=/z/w", "d5=1"); /* the query is no path */
    set_ok(jar, "http://h.com/a/b/c", "d6=1; Path=rel");
    set_ok(jar, "http://h.com/a/b/c", "d7=1; Path=");
    HDR(jar, "http://h.com/a/b/zz", "d1=1; d2=1; d6=1; d7=1; d5=1; d3=1; d4=1");
    HDR(jar, "http://h.com/a", "d5=1; d3=1; d4=1");
    HDR(jar, "http://h.com/q", "d3=1; d4=1");
    em_cookie_jar_free(jar);
}

static void test_order_and_replace(void **state) {
    (void)state;
    em_cookie_jar *jar = jar_new(NULL);
    assert_int_equal(set_at(jar, "http://h.com/", "a=1; Path=/", NOW), 0);
    assert_int_equal(set_at(jar, "http://h.com/", "b=1; Path=/x/y", NOW + 1), 0);
    assert_int_equal(set_at(jar, "http://h.com/", "c=1; Path=/x", NOW + 2), 0);
    assert_int_equal(set_at(jar, "http://h.com/", "d=1; Path=/", NOW + 3), 0);
    assert_int_equal(set_at(jar, "http://h.com/", "e=1; Path=/", NOW + 3), 0);
    assert_string_equal(hdr_at(jar, "http://h.com/x/y", NOW + 4), "b=1; c=1; a=1; d=1; e=1");
    /* Replacing keeps the creation time, so the position. */
    assert_int_equal(set_at(jar, "http://h.com/", "a=2; Path=/", NOW + 5), 0);
    assert_string_equal(hdr_at(jar, "http://h.com/x/y", NOW + 6), "b=1; c=1; a=2; d=1; e=1");
    assert_int_equal(em_cookie_jar_count(jar), 5);
    /* Same name, other path or domain: a second cookie. */
    assert_int_equal(set_at(jar, "http://h.com/", "a=3; Path=/x", NOW + 7), 0);
    assert_string_equal(hdr_at(jar, "http://h.com/x/y", NOW + 8), "b=1; c=1; a=3; a=2; d=1; e=1");
    /* Values with '=' and spaces go out as stored. */
    assert_int_equal(set_at(jar, "http://h.com/", "f=a=b c; Path=/x/y/z", NOW + 9), 0);
    assert_string_equal(hdr_at(jar, "http://h.com/x/y/z", NOW + 9),
                        "f=a=b c; b=1; c=1; a=3; a=2; d=1; e=1");
    em_cookie_jar_free(jar);
}

static void test_expiry(void **state) {
    (void)state;
    em_cookie_jar *jar = jar_new(NULL);
    assert_int_equal(set_at(jar, "http://h.com/", "m=1; Max-Age=10", NOW), 0);
    assert_int_equal(
        set_at(jar, "http://h.com/", "e=1; Expires=Tue, 14 Nov 2023 22:13:40 GMT", NOW),
        0); /* NOW + 20 */
    assert_int_equal(set_at(jar, "http://h.com/", "s=1", NOW), 0);
    /* Max-Age wins over Expires, whatever the order. */
    assert_int_equal(
        set_at(jar, "http://h.com/", "w=1; Max-Age=5; Expires=Tue, 14 Nov 2023 22:13:40 GMT", NOW),
        0);
    assert_int_equal(
        set_at(jar, "http://h.com/", "v=1; Expires=Tue, 14 Nov 2023 22:13:40 GMT; Max-Age=5", NOW),
        0);
    assert_string_equal(hdr_at(jar, "http://h.com/", NOW + 4), "m=1; e=1; s=1; w=1; v=1");
    assert_string_equal(hdr_at(jar, "http://h.com/", NOW + 5), "m=1; e=1; s=1");
    assert_string_equal(hdr_at(jar, "http://h.com/", NOW + 9), "m=1; e=1; s=1");
    assert_string_equal(hdr_at(jar, "http://h.com/", NOW + 10), "e=1; s=1");
    assert_string_equal(hdr_at(jar, "http://h.com/", NOW + 19), "e=1; s=1");
    assert_string_equal(hdr_at(jar, "http://h.com/", NOW + 20), "s=1");
    assert_int_equal(em_cookie_jar_count(jar), 1);
    /* Max-Age=0 or negative deletes. */
    assert_int_equal(set_at(jar, "http://h.com/", "s=1; Max-Age=0", NOW), 0);
    assert_int_equal(em_cookie_jar_count(jar), 0);
    assert_int_equal(set_at(jar, "http://h.com/", "s=1", NOW), 0);
    assert_int_equal(set_at(jar, "http://h.com/", "s=1; Max-Age=-1", NOW), 0);
    assert_int_equal(em_cookie_jar_count(jar), 0);
    /* 6265bis: capped at 400 days. */
    assert_int_equal(set_at(jar, "http://h.com/", "l=1; Max-Age=999999999", NOW), 0);
    assert_int_equal(
        set_at(jar, "http://h.com/", "k=1; Expires=Fri, 31 Dec 9999 23:59:59 GMT", NOW), 0);
    assert_string_equal(hdr_at(jar, "http://h.com/", NOW + 400 * 86400 - 1), "l=1; k=1");
    assert_string_equal(hdr_at(jar, "http://h.com/", NOW + 400 * 86400), "");
    em_cookie_jar_free(jar);
}

static void test_secure_rules(void **state) {
    (void)state;
    em_cookie_jar *jar = jar_new(NULL);
    /* 6265bis: Secure only from secure origins. */
    set_bad(jar, "http://h.com/", "s=1; Secure");
    set_ok(jar, "https://h.com/", "s=1; Secure");
    set_ok(jar, "wss://h.com/", "w=1; Secure");
    HDR(jar, "http://h.com/", "");
    HDR(jar, "ws://h.com/", "");
    HDR(jar, "https://h.com/", "s=1; w=1");
    /* Leave secure cookies alone: http may not shadow them... */
    set_bad(jar, "http://h.com/", "s=2");
    set_bad(jar, "http://h.com/sub/", "s=2; Path=/sub");
    set_bad(jar, "http://www.h.com/", "s=2");
    /* ...but may set other names, and https may replace. */
    set_ok(jar, "http://h.com/", "t=1");
    set_ok(jar, "https://h.com/", "s=3");
    HDR(jar, "http://h.com/", "s=3; t=1");
    /* Loopback and localhost are secure origins (documented choice). */
    set_ok(jar, "http://localhost:8080/", "l=1; Secure");
    HDR(jar, "http://localhost/", "l=1");
    set_ok(jar, "http://127.0.0.1/", "i=1; Secure");
    HDR(jar, "http://127.0.0.1/", "i=1");
    set_ok(jar, "http://[::1]/", "j=1; Secure");
    HDR(jar, "http://[::1]/", "j=1");
    set_ok(jar, "http://app.localhost/", "k=1; Secure");
    set_bad(jar, "http://localhost.com/", "k=1; Secure");
    set_bad(jar, "http://192.0.2.1/", "k=1; Secure");
    /* Prefixes. */
    set_ok(jar, "https://p.com/", "__Secure-a=1; Secure");
    set_bad(jar, "https://p.com/", "__Secure-b=1");
    set_bad(jar, "http://p.com/", "__Secure-c=1; Secure");
    set_bad(jar, "http://p.com/", "__secure-d=1"); /* case-insensitive prefix */
    set_ok(jar, "https://p.com/", "__Host-e=1; Secure; Path=/");
    set_bad(jar, "https://p.com/", "__Host-f=1; Secure"); /* no Path=/ */
    set_bad(jar, "https://p.com/", "__Host-g=1; Secure; Path=/x");
    set_bad(jar, "https://p.com/", "__Host-h=1; Path=/"); /* no Secure */
    set_bad(jar, "https://w.p.com/", "__Host-i=1; Secure; Path=/; Domain=p.com");
    set_bad(jar, "http://p.com/", "__HOST-j=1; Secure; Path=/");
    HDR(jar, "https://p.com/", "__Secure-a=1; __Host-e=1");
    em_cookie_jar_free(jar);
}

static void test_refused(void **state) {
    (void)state;
    em_cookie_jar *jar = jar_new(NULL);
    set_bad(jar, "http://h.com/", "");
    set_bad(jar, "http://h.com/", "noequals");
    set_bad(jar, "http://h.com/", "=value");
    set_bad(jar, "http://h.com/", "a=b\r\nSet-Cookie: c=d");
    set_bad(jar, "http://h.com/", "a=\x01");
    set_bad(jar, "http://h.com/", "a=b\tc"); /* tabs inside: cookies.txt fields */
    set_bad(jar, "http://h.com/", "a\tb=c");
    set_bad(jar, "http://h.com/", "a=b; Path=/x\ty");
    set_ok(jar, "http://h.com/", "\ta\t=\tb\t; Path=/x\t"); /* around: trimmed */
    HDR(jar, "http://h.com/x", "a=b");
    em_cookie_jar_clear(jar);
    assert_int_equal(em_cookie_jar_count(jar), 0);
    em_cookie_jar_free(jar);
}

/* 6265bis §5.6 step 4: the limit is on the name and value (4096 octets
 * together); the attributes do not count, each is capped at 1024 on its own
 * (§5.6 step 7). */
static void test_size_limit_name_value(void **state) {
    (void)state;
    em_cookie_jar *jar = jar_new(NULL);
    char big[6000];
    memset(big, 'v', 4096);
    memcpy(big, "a=", 2); /* "a" and 4094 bytes of value: 4095 */
    big[4096] = 'v';      /* 4096 */
    strcpy(big + 4097, "; Path=/; Max-Age=60; HttpOnly");
    set_ok(jar, "http://h.com/", big);
    assert_int_equal(strlen(hdr_at(jar, "http://h.com/", NOW)), 4097);
    em_cookie_jar_clear(jar);
    memset(big, 'v', 4098);
    memcpy(big, "a=", 2);
    big[4098] = 0; /* 4097 */
    set_bad(jar, "http://h.com/", big);
    /* An attribute value over 1024 octets is ignored, not the cookie. */
    memcpy(big, "b=1; Path=/", 11);
    memset(big + 11, 'p', 1100);
    strcpy(big + 1111, "; Max-Age=60");
    set_ok(jar, "http://h.com/x/y", big);
    HDR(jar, "http://h.com/x/z", "b=1"); /* the default path, /x */
    HDR(jar, "http://h.com/", "");
    em_cookie_jar_free(jar);
    em_cookie_jar_opts o = {.max_cookie_bytes = 8};
    jar = jar_new(&o);
    set_ok(jar, "http://h.com/", "a=1234567; Path=/x/yyyyyyyy"); /* 8 */
    set_bad(jar, "http://h.com/", "a=12345678");
    em_cookie_jar_free(jar);
}

static void test_limits(void **state) {
    (void)state;
    em_cookie_jar_opts o = {.max_cookies = 5, .max_per_domain = 3};
    em_cookie_jar *jar = jar_new(&o);
    char sc[64];
    /* Per domain: the least recently used goes. */
    for (int i = 0; i < 3; i++) {
        snprintf(sc, sizeof sc, "c%d=1", i);
        assert_int_equal(set_at(jar, "http://a.com/", sc, NOW + i), 0);
    }
    assert_string_equal(hdr_at(jar, "http://a.com/", NOW + 10), "c0=1; c1=1; c2=1");
    /* Touch c0 and c2 by replacing... no: replacing is a new access too. */
    assert_int_equal(set_at(jar, "http://a.com/", "c0=2", NOW + 11), 0);
    assert_int_equal(set_at(jar, "http://a.com/", "c3=1", NOW + 12), 0); /* evicts c1 */
    assert_string_equal(hdr_at(jar, "http://a.com/", NOW + 13), "c0=2; c2=1; c3=1");
    assert_int_equal(em_cookie_jar_count(jar), 3);
    /* Per domain counts the Domain value: a.com's Domain cookies share it. */
    assert_int_equal(set_at(jar, "http://b.com/", "b0=1", NOW + 14), 0);
    assert_int_equal(set_at(jar, "http://b.com/", "b1=1", NOW + 15), 0);
    assert_int_equal(em_cookie_jar_count(jar), 5);
    /* In all: the least recently used of the whole jar (a.com's, read at
     * NOW + 13, are older than b.com's). */
    assert_int_equal(set_at(jar, "http://c.com/", "x=1", NOW + 16), 0);
    assert_int_equal(em_cookie_jar_count(jar), 5);
    assert_string_equal(hdr_at(jar, "http://a.com/", NOW + 17), "c2=1; c3=1"); /* c0 went */
    assert_int_equal(set_at(jar, "http://c.com/", "y=1", NOW + 18), 0);        /* b0 goes */
    assert_string_equal(hdr_at(jar, "http://b.com/", NOW + 19), "b1=1");
    assert_string_equal(hdr_at(jar, "http://c.com/", NOW + 19), "x=1; y=1");
    /* Expired cookies go before live ones. */
    em_cookie_jar_clear(jar);
    assert_int_equal(set_at(jar, "http://a.com/", "old=1", NOW), 0);
    assert_int_equal(set_at(jar, "http://a.com/", "short=1; Max-Age=1", NOW + 1), 0);
    assert_int_equal(set_at(jar, "http://a.com/", "mid=1", NOW + 2), 0);
    assert_int_equal(set_at(jar, "http://a.com/", "new=1", NOW + 3), 0);
    assert_string_equal(hdr_at(jar, "http://a.com/", NOW + 3), "old=1; mid=1; new=1");
    em_cookie_jar_free(jar);
    /* The defaults: 50 per domain, 3000 in all. */
    jar = jar_new(NULL);
    for (int i = 0; i < 60; i++) {
        snprintf(sc, sizeof sc, "n%d=1", i);
        assert_int_equal(set_at(jar, "http://d.com/", sc, NOW + i), 0);
    }
    assert_int_equal(em_cookie_jar_count(jar), 50);
    assert_true(strncmp(hdr_at(jar, "http://d.com/", NOW + 100), "n10=1; n11=1", 12) == 0);
    for (int i = 0; i < 3100; i++) {
        char url[64];
        snprintf(url, sizeof url, "http://h%d.example/", i);
        assert_int_equal(set_at(jar, url, "z=1", NOW + 200 + i), 0);
    }
    assert_int_equal(em_cookie_jar_count(jar), 3000);
    assert_string_equal(hdr_at(jar, "http://h99.example/", NOW + 9999), "");
    assert_string_equal(hdr_at(jar, "http://h100.example/", NOW + 9999), "z=1");
    assert_string_equal(hdr_at(jar, "http://d.com/", NOW + 9999), "");
    em_cookie_jar_free(jar);
}

/* 6265bis §5.7: over the per-domain limit, the non-Secure cookies of the
 * domain go first (least recently used first), Secure ones only after. */
static void test_limits_secure_last(void **state) {
    (void)state;
    em_cookie_jar_opts o = {.max_per_domain = 3};
    em_cookie_jar *jar = jar_new(&o);
    assert_int_equal(set_at(jar, "https://a.com/", "s0=1; Secure", NOW), 0);
    assert_int_equal(set_at(jar, "https://a.com/", "s1=1; Secure", NOW + 1), 0);
    assert_int_equal(set_at(jar, "https://a.com/", "i2=1", NOW + 2), 0);
    assert_int_equal(set_at(jar, "https://a.com/", "i3=1", NOW + 3), 0); /* evicts i2 */
    assert_string_equal(hdr_at(jar, "https://a.com/", NOW + 4), "s0=1; s1=1; i3=1");
    assert_int_equal(set_at(jar, "https://a.com/", "s4=1; Secure", NOW + 5), 0); /* i3 */
    assert_string_equal(hdr_at(jar, "https://a.com/", NOW + 6), "s0=1; s1=1; s4=1");
    /* All Secure: the least recently used of them (all read at NOW + 6:
     * the order of that read). */
    assert_int_equal(set_at(jar, "https://a.com/", "s5=1; Secure", NOW + 7), 0);
    assert_string_equal(hdr_at(jar, "https://a.com/", NOW + 8), "s1=1; s4=1; s5=1");
    em_cookie_jar_free(jar);
}

/* A cookie set with an earlier clock than the jar's others (a caller's
 * clock stepped back, a file loaded at a later time) is itself the least
 * recently used: over the limit it is the one evicted, and the eviction
 * must not read it after freeing it (ASan: heap-use-after-free). */
static void test_limits_evict_the_added(void **state) {
    (void)state;
    em_cookie_jar_opts o = {.max_cookies = 10, .max_per_domain = 2};
    em_cookie_jar *jar = jar_new(&o);
    assert_int_equal(set_at(jar, "http://a.com/", "a=1", NOW), 0);
    assert_int_equal(set_at(jar, "http://a.com/", "b=1", NOW), 0);
    assert_int_equal(set_at(jar, "http://a.com/", "c=1", NOW - 100), 0);
    assert_int_equal(em_cookie_jar_count(jar), 2);
    assert_string_equal(hdr_at(jar, "http://a.com/", NOW), "a=1; b=1");
    em_cookie_jar_free(jar);
}

static void test_header_append(void **state) {
    (void)state;
    em_cookie_jar *jar = jar_new(NULL);
    set_ok(jar, "http://h.com/", "a=1");
    em_url u;
    assert_int_equal(em_url_parse(&u, EM_SLICE_LIT("http://h.com/")), 0);
    em_buf b;
    em_buf_init(&b, 0);
    assert_int_equal(em_buf_append(&b, "Cookie: ", 8), 0);
    assert_int_equal(em_cookie_jar_header(jar, &u, NOW, &b), 1);
    assert_int_equal(em_buf_len(&b), 11);
    assert_memory_equal(em_buf_data(&b), "Cookie: a=1", 11);
    em_buf_free(&b);
    em_buf_init(&b, 2); /* too small: an error, not a crash */
    assert_int_equal(em_cookie_jar_header(jar, &u, NOW, &b), EM_ENOBUFS);
    em_buf_free(&b);
    em_url_free(&u);
    em_cookie_jar_free(jar);
    em_cookie_jar_free(NULL);
}

/* ---- threads ---------------------------------------------------------------- */

#define THREADS 4
#define ROUNDS  400

static void *worker(void *arg) {
    em_cookie_jar *jar = ((void **)arg)[0];
    int id = (int)(intptr_t)((void **)arg)[1];
    char url[64], sc[64];
    em_buf b;
    em_buf_init(&b, 0);
    for (int i = 0; i < ROUNDS; i++) {
        em_url u;
        snprintf(url, sizeof url, "http://t%d.example.com/p%d", id, i % 7);
        if (em_url_parse(&u, em_slice_from_cstr(url)))
            return (void *)1;
        snprintf(sc, sizeof sc, "k%d=%d; Domain=example.com; Max-Age=%d", i % 60, i, 1 + i % 5);
        if (em_cookie_jar_set(jar, &u, em_slice_from_cstr(sc), NOW + i / 10) != 0)
            return (void *)1;
        em_buf_clear(&b);
        if (em_cookie_jar_header(jar, &u, NOW + i / 10, &b) < 0)
            return (void *)1;
        (void)em_cookie_jar_count(jar);
        em_url_free(&u);
    }
    em_buf_free(&b);
    return NULL;
}

static void test_threads(void **state) {
    (void)state;
    em_cookie_jar *jar = jar_new(NULL);
    pthread_t t[THREADS];
    void *args[THREADS][2];
    for (int i = 0; i < THREADS; i++) {
        args[i][0] = jar;
        args[i][1] = (void *)(intptr_t)i;
        assert_int_equal(pthread_create(&t[i], NULL, worker, args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        void *r;
        assert_int_equal(pthread_join(t[i], &r), 0);
        assert_null(r);
    }
    assert_true(em_cookie_jar_count(jar) <= 50);
    em_cookie_jar_free(jar);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_examples),
        cmocka_unit_test(test_host_only_and_domain),
        cmocka_unit_test(test_public_suffixes),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_order_and_replace),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_secure_rules),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_size_limit_name_value),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_limits_secure_last),
        cmocka_unit_test(test_limits_evict_the_added),
        cmocka_unit_test(test_header_append),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

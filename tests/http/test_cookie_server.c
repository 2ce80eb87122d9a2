/* http/cookie_server.c: reading a request's Cookie header and writing
 * Set-Cookie values that cannot inject headers. */
#include <stdio.h>
#include <string.h>

#include "em_test.h"
#include "ember/http/cookie.h"

/* "n=v|n=v|..." of what em_cookie_parse_header finds. */
static const char *pairs(const char *h, size_t max) {
    static char out[1024];
    em_cookie c[16];
    size_t n = em_cookie_parse_header(em_slice_from_cstr(h), c, max);
    assert_true(n <= max);
    size_t off = 0;
    out[0] = 0;
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(out + off, sizeof out - off, "%s%.*s=%.*s", i ? "|" : "",
                                (int)c[i].name.len, c[i].name.ptr, (int)c[i].value.len,
                                c[i].value.ptr);
    return out;
}

static void test_parse_header(void **state) {
    (void)state;
    assert_string_equal(pairs("a=1; b=2", 16), "a=1|b=2");
    assert_string_equal(pairs("SID=31d4d96e407aad42; lang=en-US", 16),
                        "SID=31d4d96e407aad42|lang=en-US");
    assert_string_equal(pairs("", 16), "");
    assert_string_equal(pairs("a=1", 16), "a=1");
    assert_string_equal(pairs("a=", 16), "a=");
    assert_string_equal(pairs("a=1;b=2;;  c=3 ;\td=4\t", 16), "a=1|b=2|c=3|d=4");
    assert_string_equal(pairs("a=x=y", 16), "a=x=y");
    assert_string_equal(pairs("q=\"quoted\"; e=\"\"", 16), "q=quoted|e=");
    assert_string_equal(pairs("a=1; b=2; c=3", 2), "a=1|b=2"); /* stops at max */
    assert_string_equal(pairs("a=1; b=2", 0), "");
    /* Malformed pairs are skipped, the rest kept. */
    assert_string_equal(pairs("noeq; a=1", 16), "a=1");
    assert_string_equal(pairs("=v; a=1", 16), "a=1");
    assert_string_equal(pairs("b@d=1; a=1", 16), "a=1"); /* not a token */
    assert_string_equal(pairs("b d=1; a=1", 16), "a=1");
    assert_string_equal(pairs("x=\"open; a=1", 16), "a=1"); /* unbalanced quote */
    assert_string_equal(pairs("x=a\"b; a=1", 16), "a=1");
    assert_string_equal(pairs("x=a\x01; a=1", 16), "a=1"); /* control byte */
    assert_string_equal(pairs("x=\"; a=1", 16), "a=1");
    /* Lenient about what browsers do send. */
    assert_string_equal(pairs("a=b c,d; u=\xc3\xa9", 16), "a=b c,d|u=\xc3\xa9");
    /* Zero-copy: slices point into the header. */
    const char *h = "k=v";
    em_cookie c;
    assert_int_equal(em_cookie_parse_header(em_slice_from_cstr(h), &c, 1), 1);
    assert_ptr_equal(c.name.ptr, h);
    assert_ptr_equal(c.value.ptr, h + 2);
}

static em_set_cookie sc_base(const char *name, const char *value) {
    em_set_cookie c = {
        .name = em_slice_from_cstr(name), .value = em_slice_from_cstr(value), .max_age = -1};
    return c;
}

static const char *fmt(const em_set_cookie *c) {
    static char out[1024];
    em_buf b;
    em_buf_init(&b, 0);
    int rc = em_set_cookie_format(c, &b);
    if (rc)
        snprintf(out, sizeof out, "error %d", rc);
    else
        snprintf(out, sizeof out, "%.*s", (int)em_buf_len(&b), em_buf_data(&b));
    em_buf_free(&b);
    return out;
}

static void bad(const em_set_cookie *c) {
    em_buf b;
    em_buf_init(&b, 0);
    assert_int_equal(em_buf_append(&b, "keep", 4), 0);
    int rc = em_set_cookie_format(c, &b);
    if (rc != EM_EINVAL)
        fail_msg("'%.*s'='%.*s' accepted: %.*s", (int)c->name.len, c->name.ptr, (int)c->value.len,
                 c->value.ptr, (int)em_buf_len(&b), em_buf_data(&b));
    assert_int_equal(em_buf_len(&b), 4); /* out unchanged */
    em_buf_free(&b);
}

static void test_format(void **state) {
    (void)state;
    em_set_cookie c = sc_base("SID", "31d4d96e407aad42");
    assert_string_equal(fmt(&c), "SID=31d4d96e407aad42");
    c.path = EM_SLICE_LIT("/");
    c.secure = c.http_only = true;
    assert_string_equal(fmt(&c), "SID=31d4d96e407aad42; Path=/; Secure; HttpOnly");
    c = sc_base("lang", "en-US");
    c.expires = 1623233894;
    assert_string_equal(fmt(&c), "lang=en-US; Expires=Wed, 09 Jun 2021 10:18:14 GMT");
    c.expires = 784111777;
    assert_string_equal(fmt(&c), "lang=en-US; Expires=Sun, 06 Nov 1994 08:49:37 GMT");
    c.expires = -1;
    assert_string_equal(fmt(&c), "lang=en-US; Expires=Wed, 31 Dec 1969 23:59:59 GMT");
    c.expires = -11644473600LL;
    assert_string_equal(fmt(&c), "lang=en-US; Expires=Mon, 01 Jan 1601 00:00:00 GMT");
    c.expires = 253402300799LL;
    assert_string_equal(fmt(&c), "lang=en-US; Expires=Fri, 31 Dec 9999 23:59:59 GMT");
    c.expires = 951782400; /* 2000-02-29 */
    assert_string_equal(fmt(&c), "lang=en-US; Expires=Tue, 29 Feb 2000 00:00:00 GMT");
    /* Every attribute, in the documented order. */
    c = sc_base("all", "\"q\"");
    c.expires = 0x7fffffff;
    c.max_age = 3600;
    c.domain = EM_SLICE_LIT(".example.com");
    c.path = EM_SLICE_LIT("/a b");
    c.secure = c.http_only = true;
    c.same_site = "none";
    assert_string_equal(fmt(&c), "all=\"q\"; Expires=Tue, 19 Jan 2038 03:14:07 GMT; Max-Age=3600; "
                                 "Domain=.example.com; Path=/a b; Secure; HttpOnly; SameSite=None");
    c = sc_base("d", "");
    c.max_age = 0;
    assert_string_equal(fmt(&c), "d=; Max-Age=0");
    c.same_site = "Lax";
    assert_string_equal(fmt(&c), "d=; Max-Age=0; SameSite=Lax");
    c.same_site = "STRICT";
    assert_string_equal(fmt(&c), "d=; Max-Age=0; SameSite=Strict");
    c = sc_base("__Secure-x", "1");
    c.secure = true;
    assert_string_equal(fmt(&c), "__Secure-x=1; Secure");
    c = sc_base("__Host-x", "1");
    c.secure = true;
    c.path = EM_SLICE_LIT("/");
    assert_string_equal(fmt(&c), "__Host-x=1; Path=/; Secure");
    /* The jar reads back what the formatter writes. */
    em_cookie_jar *jar;
    assert_int_equal(em_cookie_jar_new(&jar, NULL), 0);
    em_url u;
    assert_int_equal(em_url_parse(&u, EM_SLICE_LIT("https://example.com/")), 0);
    c = sc_base("r", "t");
    c.max_age = 60;
    c.domain = EM_SLICE_LIT("example.com");
    c.secure = true;
    assert_int_equal(em_cookie_jar_set(jar, &u, em_slice_from_cstr(fmt(&c)), 1000), 0);
    em_buf b;
    em_buf_init(&b, 0);
    assert_int_equal(em_cookie_jar_header(jar, &u, 1059, &b), 1);
    assert_int_equal(em_cookie_jar_header(jar, &u, 1060, &b), 0);
    em_buf_free(&b);
    em_url_free(&u);
    em_cookie_jar_free(jar);
}

static void test_format_refusals(void **state) {
    (void)state;
    static const char *const bad_names[] = {"",      "a b", "a=b", "a;b",     "a\r\nb",
                                            "a\x01", "(x)", "a,b", "\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
        em_set_cookie c = sc_base(bad_names[i], "v");
        bad(&c);
    }
    static const char *const bad_values[] = {
        "a b",  "a;b",      "a,b",    "a\\b", "a\"b", "\"ab", "a\r\nSet-Cookie: x=y",
        "\x7f", "\xc3\xa9", "\"a b\""};
    for (size_t i = 0; i < sizeof bad_values / sizeof *bad_values; i++) {
        em_set_cookie c = sc_base("n", bad_values[i]);
        bad(&c);
    }
    em_set_cookie c = sc_base("n", "v");
    c.domain = EM_SLICE_LIT("a.com\r\nX: y");
    bad(&c);
    c.domain = EM_SLICE_LIT("a.com; Secure");
    bad(&c);
    c.domain = EM_SLICE_LIT(".");
    bad(&c);
    /* RFC 6265 §4.1.1: domain-value is a subdomain (RFC 1034 §3.5, RFC
     * 1123 §2.1): no empty label, no label starting or ending in '-'. */
    static const char *const bad_domains[] = {"a..b", "a.com.", "-a.com", "a-.com", "a.-b"};
    for (size_t i = 0; i < sizeof bad_domains / sizeof *bad_domains; i++) {
        c.domain = em_slice_from_cstr(bad_domains[i]);
        bad(&c);
    }
    c = sc_base("n", "v");
    c.path = EM_SLICE_LIT("/a;b");
    bad(&c);
    c.path = EM_SLICE_LIT("/a\nb");
    bad(&c);
    c.path = EM_SLICE_LIT("/\xc3\xa9");
    bad(&c);
    c = sc_base("n", "v");
    c.max_age = -2;
    bad(&c);
    c = sc_base("n", "v");
    c.expires = -11644473601LL; /* 1600 */
    bad(&c);
    c.expires = 253402300800LL; /* 10000 */
    bad(&c);
    c = sc_base("n", "v");
    c.same_site = "None"; /* needs Secure */
    bad(&c);
    c.same_site = "Bogus";
    c.secure = true;
    bad(&c);
    c = sc_base("__Secure-n", "v");
    bad(&c);
    c = sc_base("__Host-n", "v");
    c.secure = true;
    bad(&c); /* no Path=/ */
    c.path = EM_SLICE_LIT("/");
    c.domain = EM_SLICE_LIT("example.com");
    bad(&c);
    /* A buffer too small: an error, out unchanged. */
    c = sc_base("n", "v");
    em_buf b;
    em_buf_init(&b, 2);
    assert_int_equal(em_set_cookie_format(&c, &b), EM_ENOBUFS);
    assert_int_equal(em_buf_len(&b), 0);
    em_buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_header),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

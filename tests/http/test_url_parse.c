/* em_url_parse and the writers (http/url_parse.c, url_encode.c,
 * url_format.c): every accepted URL below is checked field by field, then
 * formatted and parsed again to the same fields. */
#include <stdio.h>
#include <string.h>

#include "em_test.h"
#include "ember/http/url.h"
#include "url_internal.h"

typedef struct want {
    const char *in;
    const char *scheme, *userinfo, *host;
    int ip; /* 0 name, 4 IPv4, 6 IPv6 */
    unsigned port;
    bool port_explicit;
    const char *path, *query;
} want;

static bool str_eq(const char *a, const char *b) {
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static void check_fields(const em_url *u, const want *w, const char *ctx) {
    if (!str_eq(u->scheme, w->scheme) || !str_eq(u->userinfo, w->userinfo) ||
        !str_eq(u->host, w->host) || u->host_is_ip != (w->ip != 0) ||
        u->host_is_ipv6 != (w->ip == 6) || u->port != w->port ||
        u->port_explicit != w->port_explicit || !str_eq(u->path, w->path) ||
        !str_eq(u->query, w->query))
        fail_msg("%s %s: got %s|%s|%s|ip=%d,%d|%u%s|%s|%s", ctx, w->in, u->scheme,
                 u->userinfo ? u->userinfo : "(null)", u->host, u->host_is_ip, u->host_is_ipv6,
                 u->port, u->port_explicit ? "!" : "", u->path, u->query ? u->query : "(null)");
}

static void expect_url(const want *w) {
    em_url u, again;
    int rc = em_url_parse(&u, em_slice_from_cstr(w->in));
    if (rc)
        fail_msg("%s: error %d", w->in, rc);
    check_fields(&u, w, "parse");
    char buf[EM_URL_MAX_LEN + 1];
    ssize_t n = em_url_format(&u, true, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(em_url_parse(&again, em_slice_make(buf, (size_t)n)), 0);
    check_fields(&again, w, "reparse");
    em_url_free(&again);
    em_url_free(&u);
    assert_null(u._buf);
    em_url_free(&u); /* twice is fine */
}

static void expect_bad(const char *in, size_t len) {
    em_url u;
    memset(&u, 0x55, sizeof u);
    int rc = em_url_parse(&u, em_slice_make(in, len));
    if (rc != EM_EINVAL)
        fail_msg("%.*s: want EM_EINVAL, got %d (path %s)", (int)len, in, rc, rc ? "-" : u.path);
    assert_null(u._buf);
    assert_null(u.host);
    em_url_free(&u);
}

#define BAD(s) expect_bad(s, strlen(s))

static void test_basic(void **state) {
    static const want ok[] = {
        {"http://example.com", "http", NULL, "example.com", 0, 80, false, "/", NULL},
        {"http://example.com/", "http", NULL, "example.com", 0, 80, false, "/", NULL},
        {"https://example.com/a/b?c=d", "https", NULL, "example.com", 0, 443, false, "/a/b", "c=d"},
        {"ws://h/chat", "ws", NULL, "h", 0, 80, false, "/chat", NULL},
        {"wss://h:8443/chat", "wss", NULL, "h", 0, 8443, true, "/chat", NULL},
        {"HTTP://EXAMPLE.COM/Path", "http", NULL, "example.com", 0, 80, false, "/Path", NULL},
        {"HtTpS://Ex-Ample_1.CoM.:443/", "https", NULL, "ex-ample_1.com.", 0, 443, true, "/", NULL},
        {"WSS://H", "wss", NULL, "h", 0, 443, false, "/", NULL},
        {"http://h?", "http", NULL, "h", 0, 80, false, "/", ""},
        {"http://h?a=1?b=2/c", "http", NULL, "h", 0, 80, false, "/", "a=1?b=2/c"},
        {"http://h/p?q#frag", "http", NULL, "h", 0, 80, false, "/p", "q"},
        {"http://h/p#frag?notquery", "http", NULL, "h", 0, 80, false, "/p", NULL},
        {"http://h#", "http", NULL, "h", 0, 80, false, "/", NULL},
        {"http://h/#a b %zz", "http", NULL, "h", 0, 80, false, "/", NULL},
        {"http://h//double//slash", "http", NULL, "h", 0, 80, false, "//double//slash", NULL},
        {"http://h/a;p=1/b,c/!$&'()*+=:@~", "http", NULL, "h", 0, 80, false,
         "/a;p=1/b,c/!$&'()*+=:@~", NULL},
        {"http://h/[x]", "http", NULL, "h", 0, 80, false, "/[x]", NULL},
        {"http://h/%2F%2f%41", "http", NULL, "h", 0, 80, false, "/%2F%2f%41", NULL},
        {"http://~h~/", "http", NULL, "~h~", 0, 80, false, "/", NULL},
        {"http://h?/a/../b", "http", NULL, "h", 0, 80, false, "/", "/a/../b"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        expect_url(&ok[i]);
}

static void test_scheme_and_authority_errors(void **state) {
    static const char *const bad[] = {
        "",
        "http",
        "http:",
        "http:foo",
        "http:/foo",
        "http:///foo",
        "//h/x",
        "/x",
        "h/x",
        "ftp://h/",
        "file:///etc",
        "mailto:a@b",
        "httpx://h",
        "htt://h/",
        "1http://h",
        "+http://h",
        "ht tp://h/",
        "http//h/",
        "http:\\\\h\\",
        "://h/",
        "http://",
        "http:///",
        "http://?q",
        "http://#f",
        "http://:80/",
        "http://@/",
        "http://u@:80/",
        "javascript:alert(1)",
        "data:text/html,x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        BAD(bad[i]);
}

static void test_userinfo(void **state) {
    static const want ok[] = {
        {"http://u:p%40x@h/", "http", "u:p%40x", "h", 0, 80, false, "/", NULL},
        {"http://user@h", "http", "user", "h", 0, 80, false, "/", NULL},
        {"http://@h/", "http", "", "h", 0, 80, false, "/", NULL},
        {"http://:@h/", "http", ":", "h", 0, 80, false, "/", NULL},
        {"http://U:P@H:8080/", "http", "U:P", "h", 0, 8080, true, "/", NULL},
        {"http://a-._~!$&'()*+,;=:b%20@h/", "http", "a-._~!$&'()*+,;=:b%20", "h", 0, 80, false, "/",
         NULL},
        {"https://u:p@[::1]:99/x", "https", "u:p", "::1", 6, 99, true, "/x", NULL},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        expect_url(&ok[i]);
    static const char *const bad[] = {
        "http://a@b@c/", "http://u:p@x@h/", "http://@@h/",   "http://u p@h/", "http://u%@h/",
        "http://u%4@h/", "http://u%zz@h/",  "http://u\"@h/", "http://u[@h/",  "http://u\xc3\xa9@h/",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        BAD(bad[i]);
    /* '/' ends the authority: host "u", and the '@' is in the path */
    want w = {"http://u/@h/", "http", NULL, "u", 0, 80, false, "/@h/", NULL};
    expect_url(&w);
    /* a '@' after the authority ends is data, not a second '@' */
    want q = {"http://u@h/?x@y", "http", "u", "h", 0, 80, false, "/", "x@y"};
    expect_url(&q);
}

static void test_hosts(void **state) {
    static const want ok[] = {
        {"http://192.0.2.1/", "http", NULL, "192.0.2.1", 4, 80, false, "/", NULL},
        {"http://0.0.0.0/", "http", NULL, "0.0.0.0", 4, 80, false, "/", NULL},
        {"http://255.255.255.255:1/", "http", NULL, "255.255.255.255", 4, 1, true, "/", NULL},
        {"http://10.0.0.10/", "http", NULL, "10.0.0.10", 4, 80, false, "/", NULL},
        {"http://1.2.3.4a/", "http", NULL, "1.2.3.4a", 0, 80, false, "/", NULL},
        {"http://0xg/", "http", NULL, "0xg", 0, 80, false, "/", NULL},
        {"http://123abc/", "http", NULL, "123abc", 0, 80, false, "/", NULL},
        {"http://a.b-1.c/", "http", NULL, "a.b-1.c", 0, 80, false, "/", NULL},
        {"http://localhost./", "http", NULL, "localhost.", 0, 80, false, "/", NULL},
        {"http://[::1]/", "http", NULL, "::1", 6, 80, false, "/", NULL},
        {"http://[::1]:8080/", "http", NULL, "::1", 6, 8080, true, "/", NULL},
        {"http://[0:0:0:0:0:0:0:1]/", "http", NULL, "::1", 6, 80, false, "/", NULL},
        {"http://[2001:DB8::A]/", "http", NULL, "2001:db8::a", 6, 80, false, "/", NULL},
        {"http://[2001:db8:0:0:1:0:0:1]", "http", NULL, "2001:db8::1:0:0:1", 6, 80, false, "/",
         NULL},
        {"http://[::]/", "http", NULL, "::", 6, 80, false, "/", NULL},
        {"http://[::ffff:192.0.2.1]/", "http", NULL, "::ffff:192.0.2.1", 6, 80, false, "/", NULL},
        {"http://[::ffff:ffff:ffff]/", "http", NULL, "::ffff:255.255.255.255", 6, 80, false, "/",
         NULL},
        {"https://[fe80::1]:/", "https", NULL, "fe80::1", 6, 443, false, "/", NULL},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        expect_url(&ok[i]);
    static const char *const bad[] = {
        /* numeric-looking hosts that are not canonical dotted quads */
        "http://1.2.3/",
        "http://1.2.3.4.5/",
        "http://1.2.3.4./",
        "http://01.2.3.4/",
        "http://1.2.3.04/",
        "http://0x7f.0.0.1/",
        "http://0x7f000001/",
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://256.0.0.1/",
        "http://1.2.3.256/",
        "http://1..2.3/",
        "http://.1.2.3.4/",
        "http://example.123/",
        "http://a.0x1f/",
        "http://0x/",
        "http://1/",
        "http://1000.1.1.1/",
        "http://1.2.3.4:80:80/",
        /* reg-names with escapes, non-ASCII or sub-delims */
        "http://ex%61mple.com/",
        "http://%2e/",
        "http://ex\xc3\xa4mple.com/",
        "http://h\x80/",
        "http://a!b/",
        "http://a$b/",
        "http://a,b/",
        "http://a;b/",
        "http://a=b/",
        "http://a'b/",
        "http://a b/",
        "http://a<b/",
        "http://a\\b/",
        "http://a]b/",
        "http://a[b/",
        "http://exa%20mple/",
        "http://./",
        "http://../",
        "http://a..b/",
        "http://.a/",
        "http://a.b../",
        "http://u@.:80/",
        /* IPv6 */
        "http://[]/",
        "http://[::1/",
        "http://::1/",
        "http://[::1]x/",
        "http://[::1]]/",
        "http://[:::1]/",
        "http://[1:2:3:4:5:6:7:8:9]/",
        "http://[::1%25eth0]/",
        "http://[fe80::1%eth0]/",
        "http://[v1.fe80::a+en1]/",
        "http://[V7.x]/",
        "http://[::g]/",
        "http://[192.0.2.1]/",
        "http://[[::1]]/",
        "http://x[::1]/",
        "http://[::1]:port/",
        "http://[ ::1]/",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        BAD(bad[i]);
}

static void test_ports(void **state) {
    static const want ok[] = {
        {"http://h:1/", "http", NULL, "h", 0, 1, true, "/", NULL},
        {"http://h:65535/", "http", NULL, "h", 0, 65535, true, "/", NULL},
        {"http://h:80/", "http", NULL, "h", 0, 80, true, "/", NULL},
        {"http://h:0080/", "http", NULL, "h", 0, 80, true, "/", NULL},
        {"http://h:00000000000000000000443/", "http", NULL, "h", 0, 443, true, "/", NULL},
        {"http://h:/", "http", NULL, "h", 0, 80, false, "/", NULL},
        {"https://h:", "https", NULL, "h", 0, 443, false, "/", NULL},
        {"ws://h:443", "ws", NULL, "h", 0, 443, true, "/", NULL},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        expect_url(&ok[i]);
    static const char *const bad[] = {
        "http://h:0/",     "http://h:00/",
        "http://h:65536/", "http://h:99999999999999999999/",
        "http://h:80a/",   "http://h:a80/",
        "http://h:-1/",    "http://h:+80/",
        "http://h:0x50/",  "http://h: 80/",
        "http://h:80 /",   "http://h:8 0/",
        "http://h::80/",   "http://h:4294967376/",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        BAD(bad[i]);
}

static void test_path_normalisation(void **state) {
    static const want ok[] = {
        {"http://h/a/./b/../c", "http", NULL, "h", 0, 80, false, "/a/c", NULL},
        {"http://h/../../x", "http", NULL, "h", 0, 80, false, "/x", NULL},
        {"http://h/..", "http", NULL, "h", 0, 80, false, "/", NULL},
        {"http://h/.", "http", NULL, "h", 0, 80, false, "/", NULL},
        {"http://h/a/..", "http", NULL, "h", 0, 80, false, "/", NULL},
        {"http://h/a/b/..", "http", NULL, "h", 0, 80, false, "/a/", NULL},
        {"http://h/a/b/.", "http", NULL, "h", 0, 80, false, "/a/b/", NULL},
        {"http://h/a/b/.?q", "http", NULL, "h", 0, 80, false, "/a/b/", "q"},
        {"http://h/a//../b", "http", NULL, "h", 0, 80, false, "/a/b", NULL},
        {"http://h/%2e%2E/x", "http", NULL, "h", 0, 80, false, "/x", NULL},
        {"http://h/a/%2e/b/.%2e/c", "http", NULL, "h", 0, 80, false, "/a/c", NULL},
        {"http://h/a/%2E%2e", "http", NULL, "h", 0, 80, false, "/", NULL},
        {"http://h/a/%2e./b", "http", NULL, "h", 0, 80, false, "/b", NULL},
        {"http://h/.../..a/a../.a/%2ea/%2e%2e%2e", "http", NULL, "h", 0, 80, false,
         "/.../..a/a../.a/%2ea/%2e%2e%2e", NULL},
        {"http://h/%2e%2f../x", "http", NULL, "h", 0, 80, false, "/%2e%2f../x", NULL},
        {"http://h/a\\..\\b", "http", NULL, "h", 0, 80, false, "/a%5C..%5Cb", NULL},
        {"http://h/..\\", "http", NULL, "h", 0, 80, false, "/..%5C", NULL},
        {"http://h/a b\"<>^`{|}", "http", NULL, "h", 0, 80, false, "/a%20b%22%3C%3E%5E%60%7B%7C%7D",
         NULL},
        {"http://h/caf\xc3\xa9?q=\xff", "http", NULL, "h", 0, 80, false, "/caf%C3%A9", "q=%FF"},
        {"http://h/?a b=\"1\"&c=<2>\\", "http", NULL, "h", 0, 80, false, "/",
         "a%20b=%221%22&c=%3C2%3E%5C"},
        {"http://h/%41%7e%aa%Aa", "http", NULL, "h", 0, 80, false, "/%41%7e%aa%Aa", NULL},
        {"http://h/%20/%25", "http", NULL, "h", 0, 80, false, "/%20/%25", NULL},
        {"http://h/x?%2e%2e", "http", NULL, "h", 0, 80, false, "/x", "%2e%2e"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        expect_url(&ok[i]);
    static const char *const bad[] = {
        "http://h/%",  "http://h/%4",     "http://h/%zz",   "http://h/%g1", "http://h/a%2",
        "http://h/?%", "http://h/?q=%x1", "http://h/?%%41", "http://h%41/",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        BAD(bad[i]);
}

static void test_control_bytes(void **state) {
    static const char *const places[] = {
        "%chttp://h/p?q#f", "ht%ctp://h/p?q#f", "http:%c//h/p?q#f", "http://%ch/p?q#f",
        "http://h%c/p?q#f", "http://u%c@h/",    "http://h:8%c0/",   "http://h/p%c?q#f",
        "http://h/p?q%c#f", "http://h/p?q#f%c", "http://h/p?q#%c",  "http://h/%c",
        "http://[::1%c]/",  "http://h/p%c",
    };
    for (int c = 0; c < 0x80; c++) {
        if (c >= 0x20 && c != 0x7f)
            continue;
        for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
            char in[64];
            int n = snprintf(in, sizeof in, places[i], 'X');
            char *x = strchr(in, 'X'); /* put the byte where %c was: NUL too */
            assert_non_null(x);
            *x = (char)c;
            expect_bad(in, (size_t)n);
        }
    }
    /* "\r\nHost: evil" in every component */
    BAD("http://h/\r\nX-Injected: 1");
    BAD("http://h/?a=\r\n");
    BAD("http://h\r\n:80/");
}

static void test_long(void **state) {
    static char in[EM_URL_MAX_LEN + 64];
    static const char head[] = "http://h/";
    memcpy(in, head, sizeof head - 1);
    /* exactly the limit: fine */
    memset(in + sizeof head - 1, 'a', EM_URL_MAX_LEN - (sizeof head - 1));
    em_url u;
    assert_int_equal(em_url_parse(&u, em_slice_make(in, EM_URL_MAX_LEN)), 0);
    assert_int_equal(strlen(u.path), EM_URL_MAX_LEN - (sizeof head - 2));
    char out[EM_URL_MAX_LEN + 1];
    assert_int_equal(em_url_format(&u, true, out, sizeof out), EM_URL_MAX_LEN);
    assert_int_equal(em_url_format(&u, true, out, EM_URL_MAX_LEN), EM_ENOSPC);
    em_url_free(&u);
    /* one more byte: refused */
    in[EM_URL_MAX_LEN] = 'a';
    expect_bad(in, EM_URL_MAX_LEN + 1);
    /* short input that escaping makes too long: refused too */
    memset(in + sizeof head - 1, ' ', 3000);
    expect_bad(in, sizeof head - 1 + 3000);
    memset(in + sizeof head - 1, ' ', 2700);
    assert_int_equal(em_url_parse(&u, em_slice_make(in, sizeof head - 1 + 2700)), 0);
    assert_int_equal(strlen(u.path), 1 + 3 * 2700);
    em_url_free(&u);
    /* a long host and a long query */
    memset(in, 0, sizeof in);
    memcpy(in, head, sizeof head - 1);
    memset(in + 7, 'h', 4000);
    memcpy(in + 4007, "/?", 2);
    memset(in + 4009, 'q', 4000);
    assert_int_equal(em_url_parse(&u, em_slice_from_cstr(in)), 0);
    assert_int_equal(strlen(u.host), 4000);
    assert_int_equal(strlen(u.query), 4000);
    em_url_free(&u);
}

static void test_writers(void **state) {
    em_url u;
    char buf[128];
    assert_int_equal(em_url_parse(&u, EM_SLICE_LIT("HTTPS://User:Pw@[2001:db8::1]:8443/a b?x=1#f")),
                     0);
    assert_true(em_url_is_tls(&u));
    assert_int_equal(em_url_target(&u, buf, sizeof buf), 10);
    assert_string_equal(buf, "/a%20b?x=1");
    assert_int_equal(em_url_host_header(&u, buf, sizeof buf), strlen("[2001:db8::1]:8443"));
    assert_string_equal(buf, "[2001:db8::1]:8443");
    assert_true(em_url_format(&u, false, buf, sizeof buf) > 0);
    assert_string_equal(buf, "https://[2001:db8::1]:8443/a%20b?x=1");
    assert_true(em_url_format(&u, true, buf, sizeof buf) > 0);
    assert_string_equal(buf, "https://User:Pw@[2001:db8::1]:8443/a%20b?x=1");
    /* too small by one: EM_ENOSPC, buf stays a string */
    assert_int_equal(em_url_target(&u, buf, 10), EM_ENOSPC);
    assert_int_equal(buf[0], 0);
    assert_int_equal(em_url_target(&u, buf, 11), 10);
    assert_int_equal(em_url_host_header(&u, NULL, 0), EM_ENOSPC);
    em_url_free(&u);

    /* the default port, even written, stays out of Host */
    assert_int_equal(em_url_parse(&u, EM_SLICE_LIT("http://Example.COM:80?")), 0);
    assert_false(em_url_is_tls(&u));
    assert_int_equal(em_url_host_header(&u, buf, sizeof buf), 11);
    assert_string_equal(buf, "example.com");
    assert_int_equal(em_url_target(&u, buf, sizeof buf), 2);
    assert_string_equal(buf, "/?");
    assert_true(em_url_format(&u, false, buf, sizeof buf) > 0);
    assert_string_equal(buf, "http://example.com:80/?");
    em_url_free(&u);

    /* ws's default is 80, wss's 443 */
    assert_int_equal(em_url_parse(&u, EM_SLICE_LIT("wss://h:80/")), 0);
    assert_true(em_url_is_tls(&u));
    assert_int_equal(em_url_host_header(&u, buf, sizeof buf), 4);
    assert_string_equal(buf, "h:80");
    em_url_free(&u);
    assert_int_equal(em_url_default_port("ws"), 80);
    assert_int_equal(em_url_default_port("wss"), 443);
    assert_int_equal(em_url_default_port("ftp"), 0);
    assert_int_equal(em_url_default_port(NULL), 0);

    /* unparsed or freed: EM_EINVAL, false */
    em_url z = {0};
    assert_int_equal(em_url_target(&z, buf, sizeof buf), EM_EINVAL);
    assert_int_equal(em_url_host_header(NULL, buf, sizeof buf), EM_EINVAL);
    assert_int_equal(em_url_format(&u, true, buf, sizeof buf), EM_EINVAL);
    assert_false(em_url_is_tls(NULL));
    assert_false(em_url_same_origin(&z, &z));
    em_url_free(NULL);
}

static bool origin(const char *a, const char *b) {
    em_url x, y;
    assert_int_equal(em_url_parse(&x, em_slice_from_cstr(a)), 0);
    assert_int_equal(em_url_parse(&y, em_slice_from_cstr(b)), 0);
    bool same = em_url_same_origin(&x, &y);
    assert_true(same == em_url_same_origin(&y, &x));
    em_url_free(&x);
    em_url_free(&y);
    return same;
}

static void test_same_origin(void **state) {
    assert_true(origin("http://h/a", "http://h/b?c"));
    assert_true(origin("http://h/", "HTTP://H:80/"));
    assert_true(origin("http://u:p@h/", "http://h/"));
    assert_true(origin("https://h/", "https://h:443/"));
    assert_true(origin("http://[::1]/", "http://[0::1]:80/"));
    assert_false(origin("http://h/", "https://h/"));
    assert_false(origin("http://h/", "http://h:8080/"));
    assert_false(origin("http://h/", "http://h.evil/"));
    assert_false(origin("http://h/", "ws://h/"));
    assert_false(origin("https://h:80/", "http://h/"));
    assert_false(origin("http://127.0.0.1/", "http://localhost/"));
}

/* em__url_parse_spare (the client's parse into a kept buffer): a spare
 * that fits is taken (and given back as the URL's buffer), one too small
 * is left alone; a failed parse frees a spare it took. */
static void test_parse_spare(void **state) {
    (void)state;
    em_url u;
    size_t cap = 0;
    char *spare = NULL;
    assert_int_equal(em__url_parse_spare(&u, EM_SLICE_LIT("http://a.example/x?y"), &spare, 0, &cap), 0);
    assert_true(cap >= 20);
    spare = u._buf; /* the caller keeps it, as a kept call does */
    size_t spare_cap = cap;
    memset(&u, 0, sizeof u);
    char *was = spare;
    assert_int_equal(em__url_parse_spare(&u, EM_SLICE_LIT("http://b.example/"), &spare, spare_cap, &cap), 0);
    assert_ptr_equal(u._buf, was);
    assert_null(spare);
    assert_int_equal(cap, spare_cap);
    assert_string_equal(u.host, "b.example");
    assert_string_equal(u.path, "/");
    /* too small: a buffer of its own, the spare untouched */
    spare = u._buf;
    memset(&u, 0, sizeof u);
    char long_url[200];
    snprintf(long_url, sizeof long_url, "http://c.example/%0150d", 7);
    assert_int_equal(em__url_parse_spare(&u, em_slice_from_cstr(long_url), &spare, spare_cap, &cap), 0);
    assert_ptr_equal(spare, was);
    assert_true(u._buf != was);
    em_url_free(&u);
    /* a bad URL with a fitting spare: either refused before the buffer
     * (the spare stays the caller's) or after it was taken (then freed):
     * never both, never neither (ASan's leak check) */
    assert_int_equal(em__url_parse_spare(&u, EM_SLICE_LIT("http://b.example/a\x01"), &spare,
                                         spare_cap, &cap),
                     EM_EINVAL);
    assert_int_equal(em__url_parse_spare(&u, EM_SLICE_LIT("http://[::1/"), &spare, spare_cap, &cap),
                     EM_EINVAL);
    free(spare);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),         cmocka_unit_test(test_scheme_and_authority_errors),
        cmocka_unit_test(test_userinfo),      cmocka_unit_test(test_hosts),
        cmocka_unit_test(test_ports),         cmocka_unit_test(test_path_normalisation),
        cmocka_unit_test(test_control_bytes), cmocka_unit_test(test_long),
        cmocka_unit_test(test_writers),       cmocka_unit_test(test_same_origin),
        cmocka_unit_test(test_parse_spare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

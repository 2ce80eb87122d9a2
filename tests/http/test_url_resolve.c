/* em_url_resolve (http/url_resolve.c): every example of RFC 3986 §5.4.1
 * and §5.4.2 against the RFC's base, with the fragment dropped and the
 * strict reading of "http:g"; then scheme-relative and cross-scheme
 * references, credentials, ports, errors and aliasing. */
#include <stdio.h>
#include <string.h>

#include "em_test.h"
#include "ember/http/url.h"

#define RFC_BASE "http://a/b/c/d;p?q"

typedef struct ex {
    const char *ref, *want; /* want NULL: EM_EINVAL */
} ex;

static void check_one(const char *base_s, const ex *e) {
    em_url base, out;
    char got[EM_URL_MAX_LEN + 1], again[EM_URL_MAX_LEN + 1];
    assert_int_equal(em_url_parse(&base, em_slice_from_cstr(base_s)), 0);
    int rc = em_url_resolve(&out, &base, em_slice_from_cstr(e->ref));
    if (!e->want) {
        if (rc != EM_EINVAL)
            fail_msg("%s + \"%s\": want EM_EINVAL, got %d", base_s, e->ref, rc);
        assert_null(out._buf);
        em_url_free(&base);
        return;
    }
    if (rc)
        fail_msg("%s + \"%s\": error %d", base_s, e->ref, rc);
    assert_true(em_url_format(&out, true, got, sizeof got) > 0);
    if (strcmp(got, e->want))
        fail_msg("%s + \"%s\": got %s, want %s", base_s, e->ref, got, e->want);
    /* the result is what parsing its text gives */
    em_url re;
    assert_int_equal(em_url_parse(&re, em_slice_from_cstr(got)), 0);
    assert_true(em_url_format(&re, true, again, sizeof again) > 0);
    assert_string_equal(got, again);
    assert_true(re.port == out.port && re.port_explicit == out.port_explicit);
    assert_true(re.host_is_ip == out.host_is_ip && re.host_is_ipv6 == out.host_is_ipv6);
    em_url_free(&re);
    em_url_free(&out);
    em_url_free(&base);
}

static void check_all(const char *base, const ex *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        check_one(base, &list[i]);
}

#define CHECK_ALL(base, list) check_all(base, list, sizeof list / sizeof list[0])

static void test_rfc_normal(void **state) {
    /* §5.4.1; fragments are dropped, and "g:h" names a scheme we refuse */
    static const ex list[] = {
        {"g:h", NULL},
        {"g", "http://a/b/c/g"},
        {"./g", "http://a/b/c/g"},
        {"g/", "http://a/b/c/g/"},
        {"/g", "http://a/g"},
        {"//g", "http://g/"},
        {"?y", "http://a/b/c/d;p?y"},
        {"g?y", "http://a/b/c/g?y"},
        {"#s", "http://a/b/c/d;p?q"},
        {"g#s", "http://a/b/c/g"},
        {"g?y#s", "http://a/b/c/g?y"},
        {";x", "http://a/b/c/;x"},
        {"g;x", "http://a/b/c/g;x"},
        {"g;x?y#s", "http://a/b/c/g;x?y"},
        {"", "http://a/b/c/d;p?q"},
        {".", "http://a/b/c/"},
        {"./", "http://a/b/c/"},
        {"..", "http://a/b/"},
        {"../", "http://a/b/"},
        {"../g", "http://a/b/g"},
        {"../..", "http://a/"},
        {"../../", "http://a/"},
        {"../../g", "http://a/g"},
    };
    CHECK_ALL(RFC_BASE, list);
}

static void test_rfc_abnormal(void **state) {
    /* §5.4.2 */
    static const ex list[] = {
        {"../../../g", "http://a/g"},
        {"../../../../g", "http://a/g"},
        {"/./g", "http://a/g"},
        {"/../g", "http://a/g"},
        {"g.", "http://a/b/c/g."},
        {".g", "http://a/b/c/.g"},
        {"g..", "http://a/b/c/g.."},
        {"..g", "http://a/b/c/..g"},
        {"./../g", "http://a/b/g"},
        {"./g/.", "http://a/b/c/g/"},
        {"g/./h", "http://a/b/c/g/h"},
        {"g/../h", "http://a/b/c/h"},
        {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
        {"g;x=1/../y", "http://a/b/c/y"},
        {"g?y/./x", "http://a/b/c/g?y/./x"},
        {"g?y/../x", "http://a/b/c/g?y/../x"},
        {"g#s/./x", "http://a/b/c/g"},
        {"g#s/../x", "http://a/b/c/g"},
        /* strict: a scheme in ref means ref is absolute, and "http:g" has
         * no authority (a non-strict parser would give http://a/b/c/g) */
        {"http:g", NULL},
    };
    CHECK_ALL(RFC_BASE, list);
}

static void test_other_refs(void **state) {
    static const ex list[] = {
        /* scheme-relative: base's scheme, ref's everything else */
        {"//host/x", "http://host/x"},
        {"//HOST:8080", "http://host:8080/"},
        {"//u:p@other:81/x?y#z", "http://u:p@other:81/x?y"},
        {"//[::1]/x/../y", "http://[::1]/y"},
        {"//", NULL},
        {"//a@b@c/", NULL},
        {"//1.2.3/", NULL},
        /* another scheme */
        {"https://b/c", "https://b/c"},
        {"HTTPS://B", "https://b/"},
        {"wss://x:443/s?t", "wss://x:443/s?t"},
        {"ws://x/../../y", "ws://x/y"},
        {"ftp://x/", NULL},
        {"mailto:a@b", NULL},
        {"javascript:alert(1)", NULL},
        {"https:/x", NULL},
        /* bytes and escapes like em_url_parse */
        {"a b/ü?c d", "http://a/b/c/a%20b/%C3%BC?c%20d"},
        {"..\\g", "http://a/b/c/..%5Cg"},
        {"%2e%2e/g", "http://a/b/g"},
        {"%2E/g", "http://a/b/c/g"},
        {"?", "http://a/b/c/d;p?"},
        {"#", "http://a/b/c/d;p?q"},
        {"./g:h", "http://a/b/c/g:h"},
        {"%zz", NULL},
        {"g?%", NULL},
        {"g\r\nX: y", NULL},
        {"g\x7f", NULL},
        {"1g:h", NULL}, /* not a scheme, not a relative path either (§4.2) */
    };
    CHECK_ALL(RFC_BASE, list);
}

static void test_base_parts(void **state) {
    /* credentials stay with base's authority, and leave with it */
    static const ex creds[] = {
        {"c", "http://u:p@a:8080/b/c"},         {"/x?y", "http://u:p@a:8080/x?y"},
        {"?z", "http://u:p@a:8080/b/z?z"},      {"//other/", "http://other/"},
        {"https://a:8080/", "https://a:8080/"},
    };
    CHECK_ALL("http://u:p@A:8080/b/z", creds);
    static const ex v6[] = {
        {"c", "https://[2001:db8::1]:8443/a/c"},
        {"../../..", "https://[2001:db8::1]:8443/"},
        {"", "https://[2001:db8::1]:8443/a/b?q"},
    };
    CHECK_ALL("https://[2001:DB8:0::1]:8443/a/b?q", v6);
    /* a base whose path is "/": every relative path hangs off it */
    static const ex root[] = {
        {"g", "http://h/g"}, {"../g", "http://h/g"}, {"", "http://h/"}, {"?x", "http://h/?x"}};
    CHECK_ALL("http://h", root);
    /* base with an empty query keeps it for "" */
    static const ex emptyq[] = {{"", "http://h/p?"}, {"#f", "http://h/p?"}, {"x", "http://h/x"}};
    CHECK_ALL("http://h/p?", emptyq);
}

static void test_limits_and_aliasing(void **state) {
    em_url base, out;
    assert_int_equal(em_url_parse(&base, EM_SLICE_LIT("http://h/a/b?q")), 0);

    /* out may be base */
    assert_int_equal(em_url_resolve(&base, &base, EM_SLICE_LIT("../c?d")), 0);
    assert_string_equal(base.path, "/c");
    assert_string_equal(base.query, "d");
    assert_int_equal(em_url_resolve(&base, &base, EM_SLICE_LIT("//x:9/y")), 0);
    assert_string_equal(base.host, "x");
    assert_int_equal(base.port, 9);
    /* ...and is left alone when resolving fails */
    assert_int_equal(em_url_resolve(&base, &base, EM_SLICE_LIT("ftp://z/")), EM_EINVAL);
    assert_string_equal(base.host, "x");
    assert_string_equal(base.path, "/y");

    /* no base, or a freed one */
    em_url none = {0};
    assert_int_equal(em_url_resolve(&out, NULL, EM_SLICE_LIT("http://h/")), EM_EINVAL);
    assert_int_equal(em_url_resolve(&out, &none, EM_SLICE_LIT("http://h/")), EM_EINVAL);
    assert_null(out._buf);

    /* a long base and a long ref: each fine, merged too long */
    static char ref[EM_URL_MAX_LEN + 2];
    memset(ref, 'r', sizeof ref);
    em_url longb;
    char text[EM_URL_MAX_LEN + 1];
    memcpy(text, "http://h/", 9);
    memset(text + 9, 'b', 5000);
    text[5009] = '/';
    assert_int_equal(em_url_parse(&longb, em_slice_make(text, 5010)), 0);
    assert_int_equal(em_url_resolve(&out, &longb, em_slice_make(ref, 3000)), 0);
    assert_int_equal(strlen(out.path), 1 + 5000 + 1 + 3000);
    em_url_free(&out);
    assert_int_equal(em_url_resolve(&out, &longb, em_slice_make(ref, 4000)), EM_EINVAL);
    assert_int_equal(em_url_resolve(&out, &base, em_slice_make(ref, EM_URL_MAX_LEN + 1)),
                     EM_EINVAL);
    /* ...but "/" + the ref alone fits */
    ref[0] = '/';
    assert_int_equal(em_url_resolve(&out, &longb, em_slice_make(ref, 4000)), 0);
    em_url_free(&out);
    em_url_free(&longb);
    em_url_free(&base);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_normal),          cmocka_unit_test(test_rfc_abnormal),
        cmocka_unit_test(test_other_refs),          cmocka_unit_test(test_base_parts),
        cmocka_unit_test(test_limits_and_aliasing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Percent-decoding, query lookup and the dot-segment test (http/url.c). */
#include "http_test_util.h"

static ssize_t decode(const char *in, char *out, size_t cap, unsigned flags) {
    return em_http_percent_decode(em_slice_from_cstr(in), out, cap, flags);
}

static void expect_decoded(const char *in, unsigned flags, const char *want) {
    char out[64];
    ssize_t n = decode(in, out, sizeof out, flags);
    if (n < 0)
        fail_msg("%s: error %zd", in, n);
    if ((size_t)n != strlen(want) || memcmp(out, want, (size_t)n) != 0)
        fail_msg("%s: got %.*s, want %s", in, (int)n, out, want);
}

static void test_decode(void **state) {
    expect_decoded("", 0, "");
    expect_decoded("plain/text", 0, "plain/text");
    expect_decoded("a%20b%2Fc%2fd", 0, "a b/c/d");
    expect_decoded("%41%6a%7E", 0, "Aj~");
    expect_decoded("caf%C3%A9", 0, "caf\xC3\xA9");
    expect_decoded("a+b", 0, "a+b");
    expect_decoded("a+b%2B", EM_HTTP_DECODE_FORM, "a b+");
    expect_decoded("%25%32%30", 0, "%20"); /* decoded once, never twice */
    /* in place */
    char buf[] = "x%41y%42z";
    assert_int_equal(em_http_percent_decode(em_slice_from_cstr(buf), buf, sizeof buf, 0), 5);
    assert_memory_equal(buf, "xAyBz", 5);
}

static void test_decode_errors(void **state) {
    char out[16];
    static const char *const bad[] = {"%", "%4", "a%zz", "%g0", "%0g", "100%"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (decode(bad[i], out, sizeof out, 0) != EM_EINVAL)
            fail_msg("%s decoded", bad[i]);
    /* a segment refuses an encoded separator or NUL, plain decoding allows them */
    assert_int_equal(decode("a%2Fb", out, sizeof out, EM_HTTP_DECODE_SEGMENT), EM_EINVAL);
    assert_int_equal(decode("a%2fb", out, sizeof out, EM_HTTP_DECODE_SEGMENT), EM_EINVAL);
    assert_int_equal(decode("a%00", out, sizeof out, EM_HTTP_DECODE_SEGMENT), EM_EINVAL);
    assert_int_equal(decode("a%00", out, sizeof out, 0), 2);
    /* too small: nothing past cap is written */
    memset(out, '#', sizeof out);
    assert_int_equal(decode("abc%41", out, 3, 0), EM_ENOBUFS);
    assert_int_equal(out[3], '#');
    assert_int_equal(decode("abc%41", out, 4, 0), 4);
    assert_int_equal(decode("", NULL, 0, 0), 0);
}

static void test_dot_segment(void **state) {
    static const char *const dotted[] = {
        "/.",      "/..",     "/./a", "/a/../b", "/a/..", "/a/.", "/%2e",     "/%2E%2e/x",
        "/.%2e/x", "/%2e./x", "../a", "./a",     "..",    ".",    "/a//../b",
    };
    for (size_t i = 0; i < sizeof dotted / sizeof dotted[0]; i++)
        if (!em_http_path_has_dot_segment(em_slice_from_cstr(dotted[i])))
            fail_msg("%s: dot segment missed", dotted[i]);
    static const char *const clean[] = {
        "",           "/",     "/a",  "/a/b/",  "/...",   "/..a", "/a..",        "/.a/",
        "/%2e%2e%2e", "/%2ex", "/%2", "/%2e%2", "/a.b/c", "//",   "/%252e%252e", "/%3e",
    };
    for (size_t i = 0; i < sizeof clean / sizeof clean[0]; i++)
        if (em_http_path_has_dot_segment(em_slice_from_cstr(clean[i])))
            fail_msg("%s: taken for a dot segment", clean[i]);
}

/* The value of name in query, or "(absent)". */
static const char *query(const char *q, const char *name) {
    static char out[64];
    em_slice v = EM_SLICE_LIT("untouched");
    if (!em_http_query_get(em_slice_from_cstr(q), em_slice_from_cstr(name), &v)) {
        assert_memory_equal(v.ptr, "untouched", 9); /* left alone */
        return "(absent)";
    }
    assert_true(v.ptr >= q && v.ptr + v.len <= q + strlen(q)); /* a slice of the input */
    snprintf(out, sizeof out, "%.*s", (int)v.len, v.ptr);
    return out;
}

static void test_query_get(void **state) {
    assert_string_equal(query("a=1&b=2&a=3", "a"), "1"); /* the first one */
    assert_string_equal(query("a=1&b=2&a=3", "b"), "2");
    assert_string_equal(query("a=1&b=2", "c"), "(absent)");
    assert_string_equal(query("", "a"), "(absent)");
    assert_string_equal(query("", ""), "(absent)"); /* no pairs at all */
    assert_string_equal(query("flag&x=1", "flag"), "");
    assert_string_equal(query("x=&y", "x"), "");
    assert_string_equal(query("x==1", "x"), "=1");
    assert_string_equal(query("&&q=a+b%21&", "q"), "a+b%21"); /* raw value */
    assert_string_equal(query("first+name=Ann&first%20name=Bo", "first name"), "Ann");
    assert_string_equal(query("%71=v", "q"), "v");
    assert_string_equal(query("q%=v&q=w", "q"), "w"); /* a bad escape matches nothing */
    assert_string_equal(query("qq=1&q=2", "q"), "2");
    assert_string_equal(query("q=1", "qq"), "(absent)");
    assert_string_equal(query("=5", ""), "5");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_dot_segment),
        cmocka_unit_test(test_query_get),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

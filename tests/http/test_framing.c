/* Framing helpers (framing.c): Host and authority syntax and token lists.
 * The framing rules themselves are exercised through the parsers in
 * test_parse_request.c and test_parse_response.c. */
#include "http_test_util.h"

static em_slice sl(const char *s) {
    return em_slice_make(s, strlen(s));
}

static void test_host_syntax(void **state) {
    (void)state;
    static const char *const good[] = {
        "",
        "a",
        "example.com",
        "EXAMPLE.com:80",
        "a:",
        "127.0.0.1:8080",
        "[::1]",
        "[::1]:443",
        "[v1.fe80::a+b]:1",
        "xn--nxasmq6b.example",
        "a-b_c~d!e$f&g'h(i)j*k+l,m;n=o",
        "%41b",
        "[fe80::1%25eth0]",
    };
    static const char *const bad[] = {
        "a b",    "a/b",     "a@b", "a?b", "a#b",  "a:b",  "a:80:", "[::1",     "[]",
        "[::1]x", "[::1]:a", "%4",  "%zz", "a\"b", "a\\b", "a<b",   "\xc3\xa9", ":80x",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!em__http_host_valid(good[i], strlen(good[i])))
            fail_msg("rejected %s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (em__http_host_valid(bad[i], strlen(bad[i])))
            fail_msg("accepted %s", bad[i]);
}

static void test_authority_syntax(void **state) {
    (void)state;
    static const char *const good[] = {"a:1", "example.com:443", "[::1]:8443", "10.0.0.1:65535"};
    static const char *const bad[] = {
        "a", "a:", ":1", "[::1]", "[::1]:", "u@a:1", "a:1/", "a:1?", "", "a b:1"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!em__http_authority_valid(good[i], strlen(good[i])))
            fail_msg("rejected %s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (em__http_authority_valid(bad[i], strlen(bad[i])))
            fail_msg("accepted %s", bad[i]);
}

static void test_list_has_token(void **state) {
    (void)state;
    em_slice up = EM_SLICE_LIT("upgrade");
    assert_true(em_http_list_has_token(sl("Upgrade"), up));
    assert_true(em_http_list_has_token(sl("keep-alive, Upgrade"), up));
    assert_true(em_http_list_has_token(sl(" ,, UPGRADE\t, close"), up));
    assert_false(em_http_list_has_token(sl("upgrades"), up));
    assert_false(em_http_list_has_token(sl("upgrad"), up));
    assert_false(em_http_list_has_token(sl(""), up));
    assert_false(em_http_list_has_token(sl(" , ,"), up));
    assert_true(em_http_list_has_token(sl("a, b c ,d"), EM_SLICE_LIT("b c")));
}

/* Field values go through framing exactly once per line, in order. */
static void test_framing_over_lines(void **state) {
    (void)state;
    static const char req[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
                              "Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n"
                              "Connection: close\r\n\r\n";
    em_http_header h[8];
    em_http_request r = {.headers = h, .max_headers = 8};
    em_http_parser p = {0};
    assert_int_equal(em_http_parse_request(&p, req, sizeof req - 1, &r), sizeof req - 1);
    assert_int_equal(r.body, EM_HTTP_BODY_CHUNKED);
    assert_true(r.flags & EM_HTTP_F_TE_CODED);
    assert_true(r.flags & EM_HTTP_F_CONN_CLOSE);
    assert_true(r.flags & EM_HTTP_F_CONN_KEEP_ALIVE);
    assert_false(r.flags & EM_HTTP_F_KEEP_ALIVE); /* close wins */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_syntax),
        cmocka_unit_test(test_authority_syntax),
        cmocka_unit_test(test_list_has_token),
        cmocka_unit_test(test_framing_over_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

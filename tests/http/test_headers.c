/* Field classification and lookups (headers.c). */
#include "http_test_util.h"

#define S(x) x, sizeof(x) - 1

static em_slice sl(const char *s) {
    return em_slice_make(s, strlen(s));
}

static void test_header_id(void **state) {
    (void)state;
    static const struct {
        const char *name;
        em_http_hdr id;
    } cases[] = {
        {"Content-Length", EM_HTTP_HDR_CONTENT_LENGTH},
        {"content-length", EM_HTTP_HDR_CONTENT_LENGTH},
        {"CONTENT-LENGTH", EM_HTTP_HDR_CONTENT_LENGTH},
        {"Transfer-Encoding", EM_HTTP_HDR_TRANSFER_ENCODING},
        {"tRANSFER-eNCODING", EM_HTTP_HDR_TRANSFER_ENCODING},
        {"Connection", EM_HTTP_HDR_CONNECTION},
        {"Host", EM_HTTP_HDR_HOST},
        {"HOST", EM_HTTP_HDR_HOST},
        {"Expect", EM_HTTP_HDR_EXPECT},
        {"Upgrade", EM_HTTP_HDR_UPGRADE},
        {"Hos", EM_HTTP_HDR_OTHER},
        {"Hosts", EM_HTTP_HDR_OTHER},
        {"Content-Lengt", EM_HTTP_HDR_OTHER},
        {"Content-Lengthh", EM_HTTP_HDR_OTHER},
        {"Content_Length", EM_HTTP_HDR_OTHER},
        {"Content-Type", EM_HTTP_HDR_OTHER},
        {"Transfer-Encodinh", EM_HTTP_HDR_OTHER},
        {"Keep-Alive", EM_HTTP_HDR_OTHER},
        {"Upgrada", EM_HTTP_HDR_OTHER},
        {"Expecr", EM_HTTP_HDR_OTHER},
        {"Hos~", EM_HTTP_HDR_OTHER},
        {"", EM_HTTP_HDR_OTHER},
        /* Non-tchar bytes that fold onto letters under | 0x20 never match. */
        {"Content\rLength", EM_HTTP_HDR_OTHER},
        {"\x08ost", EM_HTTP_HDR_OTHER},
        {"Ho\x13t", EM_HTTP_HDR_OTHER},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (em_http_header_id(sl(cases[i].name)) != cases[i].id)
            fail_msg("%s: got %d", cases[i].name, (int)em_http_header_id(sl(cases[i].name)));
}

/* The parser classifies exactly as em_http_header_id does. */
static void test_parser_classifies(void **state) {
    (void)state;
    static const char req[] = "GET / HTTP/1.1\r\nhOsT: a\r\nContent-length: 0\r\nCONNECTION: x\r\n"
                              "expect: y\r\nupgrade: z\r\nX-Host: h\r\nHost-X: h\r\n\r\n";
    em_http_header h[16];
    em_http_request r = {.headers = h, .max_headers = 16};
    em_http_parser p = {0};
    assert_int_equal(em_http_parse_request(&p, S(req), &r), sizeof req - 1);
    static const em_http_hdr want[] = {
        EM_HTTP_HDR_HOST,    EM_HTTP_HDR_CONTENT_LENGTH, EM_HTTP_HDR_CONNECTION, EM_HTTP_HDR_EXPECT,
        EM_HTTP_HDR_UPGRADE, EM_HTTP_HDR_OTHER,          EM_HTTP_HDR_OTHER};
    assert_int_equal(r.num_headers, 7);
    for (size_t i = 0; i < r.num_headers; i++) {
        assert_int_equal(h[i].id, want[i]);
        assert_int_equal(em_http_header_id(h[i].name), want[i]);
    }
}

static void test_find(void **state) {
    (void)state;
    static const char req[] =
        "GET / HTTP/1.1\r\nHost: a\r\nX-One: 1\r\nx-two: 2\r\nX-ONE: 3\r\n\r\n";
    em_http_header h[8];
    em_http_request r = {.headers = h, .max_headers = 8};
    em_http_parser p = {0};
    assert_int_equal(em_http_parse_request(&p, S(req), &r), sizeof req - 1);
    const em_http_header *f = em_http_header_find(h, r.num_headers, EM_SLICE_LIT("x-one"));
    assert_ptr_equal(f, &h[1]);
    f = em_http_header_find(h, r.num_headers, EM_SLICE_LIT("X-TWO"));
    assert_ptr_equal(f, &h[2]);
    assert_null(em_http_header_find(h, r.num_headers, EM_SLICE_LIT("x-on")));
    assert_null(em_http_header_find(h, r.num_headers, EM_SLICE_LIT("x-three")));
    assert_ptr_equal(em_http_header_find_id(h, r.num_headers, EM_HTTP_HDR_HOST), &h[0]);
    assert_null(em_http_header_find_id(h, r.num_headers, EM_HTTP_HDR_UPGRADE));
    assert_null(em_http_header_find(h, 0, EM_SLICE_LIT("host")));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_id),
        cmocka_unit_test(test_parser_classifies),
        cmocka_unit_test(test_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

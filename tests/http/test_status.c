/* The error -> status table, reason phrases and method names (status.c,
 * parse_request.c). */
#include "http_test_util.h"

static void test_status_for_error(void **state) {
    (void)state;
    static const struct {
        int err, status;
    } cases[] = {
        {EM_EPARSE, 400},
        {EM_EBADEOL, 400},
        {EM_EBADMETHOD, 400},
        {EM_EBADTARGET, 400},
        {EM_EBADHEADER, 400},
        {EM_EOBSFOLD, 400},
        {EM_EBADHOST, 400},
        {EM_EBADCL, 400},
        {EM_EBADTE, 400},
        {EM_ECLTE, 400},
        {EM_EBADCHUNK, 400},
        {EM_EBODYTOOLARGE, 413},
        {EM_EEXTTOOLONG, 413},
        {EM_EURITOOLONG, 414},
        {EM_EHDRTOOLARGE, 431},
        {EM_ETOOMANYHDRS, 431},
        {EM_ENOTIMPL, 501},
        {EM_EBADVERSION, 505},
        {EM_ENOMEM, 500},
        {EM_ECONNRESET, 500},
        {EM_EAGAIN, 0},
        {0, 0},
        {42, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (em_http_status_for_error(cases[i].err) != cases[i].status)
            fail_msg("%d: got %d, want %d", cases[i].err, em_http_status_for_error(cases[i].err),
                     cases[i].status);
}

static void test_reasons(void **state) {
    (void)state;
    assert_string_equal(em_http_status_reason(200), "OK");
    assert_string_equal(em_http_status_reason(404), "Not Found");
    assert_string_equal(em_http_status_reason(413), "Content Too Large");
    assert_string_equal(em_http_status_reason(431), "Request Header Fields Too Large");
    assert_string_equal(em_http_status_reason(505), "HTTP Version Not Supported");
    /* Every code RFC 9110 §15 defines (but the unused 306 and 418) has its
     * phrase. */
    static const int defined[] = {100, 101, 200, 201, 202, 203, 204, 205, 206, 300, 301,
                                  302, 303, 304, 305, 307, 308, 400, 401, 402, 403, 404,
                                  405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415,
                                  416, 417, 421, 422, 426, 500, 501, 502, 503, 504, 505};
    for (size_t i = 0; i < sizeof defined / sizeof defined[0]; i++)
        if (!em_http_status_reason(defined[i])[0])
            fail_msg("%d has no reason phrase", defined[i]);
    assert_string_equal(em_http_status_reason(402), "Payment Required");
    assert_string_equal(em_http_status_reason(407), "Proxy Authentication Required");
    assert_string_equal(em_http_status_reason(299), "");
    assert_string_equal(em_http_status_reason(-1), "");
    /* Every status the error table produces has a phrase. */
    for (int err = -5022; err <= -5001; err++) {
        int st = em_http_status_for_error(err);
        assert_true(st == 0 || em_http_status_reason(st)[0] != '\0');
    }
}

static void test_methods(void **state) {
    (void)state;
    for (int m = EM_HTTP_GET; m <= EM_HTTP_PATCH; m++) {
        const char *name = em_http_method_name((em_http_method)m);
        assert_true(name[0] != '\0');
        assert_int_equal(em_http_method_id(em_slice_make(name, strlen(name))), m);
    }
    assert_string_equal(em_http_method_name(EM_HTTP_METHOD_OTHER), "");
    assert_string_equal(em_http_method_name((em_http_method)99), "");
    assert_int_equal(em_http_method_id(EM_SLICE_LIT("get")), EM_HTTP_METHOD_OTHER);
    assert_int_equal(em_http_method_id(EM_SLICE_LIT("GETS")), EM_HTTP_METHOD_OTHER);
    assert_int_equal(em_http_method_id(EM_SLICE_LIT("")), EM_HTTP_METHOD_OTHER);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_for_error),
        cmocka_unit_test(test_reasons),
        cmocka_unit_test(test_methods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

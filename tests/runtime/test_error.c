/* runtime/error.c: the table-generated messages and names. */
#include <string.h>

#include "em_test.h"
#include "ember/runtime.h"

static void test_success(void **state) {
    assert_string_equal(em_strerror(0), "success");
    assert_string_equal(em_err_name(0), "EM_OK");
}

static void test_table_codes(void **state) {
    assert_string_equal(em_strerror(EM_ETIMEDOUT), "operation timed out");
    assert_string_equal(em_err_name(EM_ETIMEDOUT), "EM_ETIMEDOUT");
    assert_string_equal(em_strerror(EM_EOF), "end of file");
    assert_string_equal(em_err_name(EM_EOF), "EM_EOF");
    assert_string_equal(em_err_name(EM_EHDRTOOLARGE), "EM_EHDRTOOLARGE");
    assert_string_equal(em_err_name(EM_ENOTFOUND), "EM_ENOTFOUND");
    assert_string_equal(em_strerror(EM_ENOTFOUND), "name not found");
    assert_string_equal(em_err_name(EM_EDNSFAIL), "EM_EDNSFAIL");
    assert_string_equal(em_err_name(EM_ETLSHANDSHAKE), "EM_ETLSHANDSHAKE");
    assert_string_equal(em_err_name(EM_ECERTVERIFY), "EM_ECERTVERIFY");
    assert_int_equal(EM_ECONNRESET, -ECONNRESET);
    assert_true(EM_EOF <= -5000);
}

/* Every code in both tables has a distinct name and a non-empty message. */
static void test_every_code_named(void **state) {
    static const int codes[] = {
#define CODE(name, value, msg) value,
        EM_ERRNO_TABLE(CODE) EM_OWN_ERR_TABLE(CODE)
#undef CODE
    };
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        assert_true(codes[i] < 0);
        assert_true(strlen(em_strerror(codes[i])) > 0);
        assert_true(strncmp(em_err_name(codes[i]), "EM_E", 4) == 0);
        for (size_t j = i + 1; j < n; j++)
            assert_int_not_equal(codes[i], codes[j]);
    }
}

static void test_unknown(void **state) {
    assert_string_equal(em_err_name(-4321), "EM_EUNKNOWN");
    assert_string_equal(em_err_name(12345), "EM_EUNKNOWN");
    assert_string_equal(em_strerror(-4999999), "unknown error");
    /* An errno outside the table still gets the C library's text. */
    assert_string_equal(em_strerror(-EDOM), strerrordesc_np(EDOM));
}

static void test_errno_mapping(void **state) {
    assert_int_equal(em_err_from_errno(0), 0);
    assert_int_equal(em_err_from_errno(EAGAIN), EM_EAGAIN);
    assert_int_equal(em_err_from_errno(EMFILE), EM_EMFILE);
    /* Already negative: passed through. */
    assert_int_equal(em_err_from_errno(EM_EPIPE), EM_EPIPE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success),       cmocka_unit_test(test_table_codes),
        cmocka_unit_test(test_every_code_named), cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_errno_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

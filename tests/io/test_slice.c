/* Tests for io/slice.c. */
#include "em_test.h"

#include <string.h>

#include "ember/io.h"

#define S(lit) EM_SLICE_LIT(lit)

static void test_make_and_lit(void **state) {
    (void)state;
    em_slice a = S("hello");
    assert_int_equal(a.len, 5);
    assert_memory_equal(a.ptr, "hello", 5);
    em_slice e = S("");
    assert_int_equal(e.len, 0);
    em_slice m = em_slice_make("abc", 2);
    assert_int_equal(m.len, 2);
    assert_true(em_slice_eq(m, S("ab")));
}

static void test_from_cstr(void **state) {
    (void)state;
    em_slice s = em_slice_from_cstr("abc");
    assert_int_equal(s.len, 3);
    assert_true(em_slice_eq(s, S("abc")));
    s = em_slice_from_cstr(NULL);
    assert_int_equal(s.len, 0);
    assert_non_null(s.ptr);
    s = em_slice_from_cstr("");
    assert_int_equal(s.len, 0);
}

static void test_eq(void **state) {
    (void)state;
    static const struct {
        const char *a, *b;
        bool eq, eq_nocase;
    } cases[] = {
        {"", "", true, true},           {"a", "a", true, true},
        {"a", "A", false, true},        {"Content-Length", "content-length", false, true},
        {"abc", "abd", false, false},   {"abc", "ab", false, false},
        {"@", "`", false, false}, /* 0x40/0x60: not letters, no folding */
        {"[", "{", false, false},       {"Z", "z", false, true},
        {"\xc0", "\xe0", false, false}, /* non-ASCII never folds */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        em_slice a = em_slice_from_cstr(cases[i].a), b = em_slice_from_cstr(cases[i].b);
        assert_int_equal(em_slice_eq(a, b), cases[i].eq);
        assert_int_equal(em_slice_eq(b, a), cases[i].eq);
        assert_int_equal(em_slice_eq_nocase(a, b), cases[i].eq_nocase);
        assert_int_equal(em_slice_eq_nocase(b, a), cases[i].eq_nocase);
    }
    /* Embedded NUL bytes are data, not terminators. */
    assert_false(em_slice_eq(em_slice_make("a\0b", 3), em_slice_make("a\0c", 3)));
    assert_true(em_slice_eq(em_slice_make("a\0b", 3), em_slice_make("a\0b", 3)));
    /* Empty slices with NULL pointers compare equal. */
    assert_true(em_slice_eq(em_slice_make(NULL, 0), S("")));
    assert_true(em_slice_eq_nocase(em_slice_make(NULL, 0), em_slice_make(NULL, 0)));
}

static void test_starts_with(void **state) {
    (void)state;
    assert_true(em_slice_starts_with(S("GET /"), S("GET")));
    assert_true(em_slice_starts_with(S("GET"), S("GET")));
    assert_true(em_slice_starts_with(S("x"), S("")));
    assert_true(em_slice_starts_with(em_slice_make(NULL, 0), S("")));
    assert_false(em_slice_starts_with(S("GE"), S("GET")));
    assert_false(em_slice_starts_with(S("get /"), S("GET")));
}

static void test_find_byte(void **state) {
    (void)state;
    assert_int_equal(em_slice_find_byte(S("abc"), 'a'), 0);
    assert_int_equal(em_slice_find_byte(S("abc"), 'c'), 2);
    assert_int_equal(em_slice_find_byte(S("abc"), 'd'), -1);
    assert_int_equal(em_slice_find_byte(S(""), 'a'), -1);
    assert_int_equal(em_slice_find_byte(em_slice_make(NULL, 0), 'a'), -1);
    assert_int_equal(em_slice_find_byte(em_slice_make("a\0b", 3), '\0'), 1);
    /* Never looks past len. */
    assert_int_equal(em_slice_find_byte(em_slice_make("abc", 2), 'c'), -1);
}

static void test_find(void **state) {
    (void)state;
    static const struct {
        const char *hay, *needle;
        ssize_t want;
    } cases[] = {
        {"hello world", "world", 6},
        {"hello world", "hello", 0},
        {"hello", "", 0},
        {"", "", 0},
        {"", "a", -1},
        {"aaab", "aab", 1},
        {"abc", "abcd", -1},
        {"\r\n\r\n", "\r\n\r\n", 0},
        {"x\r\ny\r\n\r\n", "\r\n\r\n", 4},
        {"abab", "ba", 1},
        {"abc", "c", 2},
        {"abc", "x", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ssize_t got =
            em_slice_find(em_slice_from_cstr(cases[i].hay), em_slice_from_cstr(cases[i].needle));
        assert_int_equal(got, cases[i].want);
    }
    assert_int_equal(em_slice_find(em_slice_make("abcd", 3), S("cd")), -1);
    assert_int_equal(em_slice_find(em_slice_make(NULL, 0), S("a")), -1);
    assert_int_equal(em_slice_find(em_slice_make(NULL, 0), em_slice_make(NULL, 0)), 0);
}

static void test_trim(void **state) {
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {"   ", ""},
        {"a", "a"},
        {" a", "a"},
        {"a ", "a"},
        {" \t a b \t", "a b"},
        {"\ta\t", "a"},
        {"\r\na\r\n", "\r\na\r\n"},
        {"  x  y  ", "x  y"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        em_slice t = em_slice_trim(em_slice_from_cstr(cases[i].in));
        assert_true(em_slice_eq(t, em_slice_from_cstr(cases[i].out)));
    }
    em_slice t = em_slice_trim(em_slice_make(NULL, 0));
    assert_int_equal(t.len, 0);
    /* The result points into the input. */
    const char *in = "  ab ";
    t = em_slice_trim(em_slice_from_cstr(in));
    assert_ptr_equal(t.ptr, in + 2);
}

static void test_sub(void **state) {
    (void)state;
    em_slice s = S("abcdef");
    assert_true(em_slice_eq(em_slice_sub(s, 0, 3), S("abc")));
    assert_true(em_slice_eq(em_slice_sub(s, 2, 2), S("cd")));
    assert_true(em_slice_eq(em_slice_sub(s, 4, 100), S("ef")));
    assert_true(em_slice_eq(em_slice_sub(s, 4, SIZE_MAX), S("ef")));
    assert_true(em_slice_eq(em_slice_sub(s, 6, 1), S("")));
    assert_true(em_slice_eq(em_slice_sub(s, 100, 1), S("")));
    assert_true(em_slice_eq(em_slice_sub(s, SIZE_MAX, SIZE_MAX), S("")));
    assert_true(em_slice_eq(em_slice_sub(s, 0, 0), S("")));
    em_slice e = em_slice_sub(em_slice_make(NULL, 0), 3, 3);
    assert_int_equal(e.len, 0);
}

static void test_to_u64(void **state) {
    (void)state;
    static const struct {
        const char *in;
        int err;
        uint64_t want;
    } cases[] = {
        {"0", 0, 0},
        {"1", 0, 1},
        {"42", 0, 42},
        {"007", 0, 7},
        {"18446744073709551615", 0, UINT64_MAX},
        {"18446744073709551616", EM_ERANGE, 0},
        {"99999999999999999999", EM_ERANGE, 0},
        {"999999999999999999999999999999", EM_ERANGE, 0},
        {"99999999999999999999x", EM_EINVAL, 0},
        {"", EM_EINVAL, 0},
        {"-1", EM_EINVAL, 0},
        {"+1", EM_EINVAL, 0},
        {" 1", EM_EINVAL, 0},
        {"1 ", EM_EINVAL, 0},
        {"0x10", EM_EINVAL, 0},
        {"1.5", EM_EINVAL, 0},
        {"1e3", EM_EINVAL, 0},
        {"12a", EM_EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t v = 12345;
        int err = em_slice_to_u64(em_slice_from_cstr(cases[i].in), &v);
        assert_int_equal(err, cases[i].err);
        if (err == 0)
            assert_true(v == cases[i].want);
        else
            assert_true(v == 12345); /* untouched on error */
    }
    uint64_t v;
    assert_int_equal(em_slice_to_u64(em_slice_make("123", 2), &v), 0);
    assert_true(v == 12);
    assert_int_equal(em_slice_to_u64(em_slice_make("1\0", 2), &v), EM_EINVAL);
    assert_int_equal(em_slice_to_u64(em_slice_make(NULL, 0), &v), EM_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_make_and_lit), cmocka_unit_test(test_from_cstr),
        cmocka_unit_test(test_eq),           cmocka_unit_test(test_starts_with),
        cmocka_unit_test(test_find_byte),    cmocka_unit_test(test_find),
        cmocka_unit_test(test_trim),         cmocka_unit_test(test_sub),
        cmocka_unit_test(test_to_u64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

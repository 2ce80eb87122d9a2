/* The body reader: Content-Length, chunked and until-close bodies, fed in
 * every split, give the same body and stop exactly at the body's end. */
#include <string.h>

#include "em_test.h"
#include "ember/http.h"

/* Feed msg to a reader in pieces of at most step bytes (the unconsumed
 * rest carried over, as a connection's input does). Returns the body, its
 * end offset in *end, or an error. */
static int read_all(em_http_body mode, uint64_t cl, const em_http_limits *lim, const char *msg,
                    size_t len, size_t step, char *body, size_t *body_len, size_t *end) {
    em_http_body_reader r;
    em_http_body_reader_init(&r, mode, cl, lim);
    size_t off = 0, avail = 0;
    *body_len = 0;
    while (!em_http_body_reader_done(&r)) {
        if (avail == off) {
            if (avail == len)
                return em_http_body_reader_eof(&r);
            avail = avail + step < len ? avail + step : len;
        }
        em_slice piece;
        ssize_t n = em_http_body_reader_read(&r, msg + off, avail - off, &piece);
        if (n == EM_EAGAIN) {
            if (avail == len)
                return em_http_body_reader_eof(&r);
            avail = avail + step < len ? avail + step : len;
            continue;
        }
        if (n < 0)
            return (int)n;
        assert_true(piece.len == 0 ||
                    (piece.ptr >= msg + off && piece.ptr + piece.len <= msg + off + n));
        memcpy(body + *body_len, piece.ptr, piece.len);
        *body_len += piece.len;
        off += (size_t)n;
    }
    *end = off;
    return 0;
}

static void check_every_split(em_http_body mode, uint64_t cl, const char *msg, const char *want,
                              size_t want_end) {
    for (size_t step = 1; step <= strlen(msg); step++) {
        char body[256];
        size_t blen, end;
        assert_int_equal(read_all(mode, cl, NULL, msg, strlen(msg), step, body, &blen, &end), 0);
        assert_int_equal(blen, strlen(want));
        assert_memory_equal(body, want, blen);
        assert_int_equal(end, want_end);
    }
}

static void test_length(void **state) {
    check_every_split(EM_HTTP_BODY_LENGTH, 5, "helloGET /next", "hello", 5);
}

static void test_length_zero_and_none(void **state) {
    em_http_body_reader r;
    em_slice p;
    em_http_body_reader_init(&r, EM_HTTP_BODY_LENGTH, 0, NULL);
    assert_true(em_http_body_reader_done(&r));
    assert_int_equal(em_http_body_reader_read(&r, "x", 1, &p), 0);
    memset(&r, 0, sizeof r); /* zero-filled: no body */
    em_http_body_reader_init(&r, EM_HTTP_BODY_NONE, 0, NULL);
    assert_true(em_http_body_reader_done(&r));
    assert_int_equal(em_http_body_reader_eof(&r), 0);
}

static void test_chunked(void **state) {
    const char *m = "3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\nT: v\r\n\r\nGET /next";
    check_every_split(EM_HTTP_BODY_CHUNKED, 0, m, "abcdefg", strlen(m) - strlen("GET /next"));
}

static void test_until_close(void **state) {
    const char *m = "everything until the end";
    for (size_t step = 1; step <= strlen(m); step++) {
        char body[64];
        size_t blen, end = 0;
        /* done only at the connection's end (eof), with all bytes. */
        assert_int_equal(
            read_all(EM_HTTP_BODY_UNTIL_CLOSE, 0, NULL, m, strlen(m), step, body, &blen, &end), 0);
        assert_int_equal(blen, strlen(m));
    }
    em_http_limits lim = {.max_body = 10};
    char body[64];
    size_t blen, end;
    assert_int_equal(
        read_all(EM_HTTP_BODY_UNTIL_CLOSE, 0, &lim, m, strlen(m), 4, body, &blen, &end),
        EM_EBODYTOOLARGE);
}

/* A body cut short is an error, never a success. */
static void test_truncated(void **state) {
    char body[64];
    size_t blen, end;
    assert_int_equal(read_all(EM_HTTP_BODY_LENGTH, 10, NULL, "short", 5, 2, body, &blen, &end),
                     EM_EUNEXPECTEDEOF);
    assert_int_equal(read_all(EM_HTTP_BODY_CHUNKED, 0, NULL, "5\r\nab", 5, 1, body, &blen, &end),
                     EM_EUNEXPECTEDEOF);
}

static void test_chunked_errors(void **state) {
    char body[64];
    size_t blen, end;
    assert_int_equal(read_all(EM_HTTP_BODY_CHUNKED, 0, NULL, "zz\r\n", 4, 4, body, &blen, &end),
                     EM_EBADCHUNK);
    em_http_limits lim = {.max_body = 3};
    assert_int_equal(read_all(EM_HTTP_BODY_CHUNKED, 0, &lim, "4\r\nabcd\r\n0\r\n\r\n", 15, 15, body,
                              &blen, &end),
                     EM_EBODYTOOLARGE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_length),    cmocka_unit_test(test_length_zero_and_none),
        cmocka_unit_test(test_chunked),   cmocka_unit_test(test_until_close),
        cmocka_unit_test(test_truncated), cmocka_unit_test(test_chunked_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* What a user agent must take that a server may refuse (http/client_conn.c
 * over the response parser): obs-fold read as SP (RFC 9112 §5.2), a higher
 * minor version read as 1.1 (RFC 9110 §2.5), a status outside 100..599
 * handled as a 5xx and never as an interim answer (RFC 9110 §15). */
#include "client_test_util.h"

static void run_one(const char *answer, rec *r) {
    const char *script[] = {answer, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"};
    fixture f;
    fixture_setup(&f, script, 2, NULL);
    fixture_run(&f, r, &(em_http_req){.url = raw_url(&f.rs, "/")});
    /* The connection stays in step: a second request on it gets its answer. */
    if (r->err == 0 && strstr(answer, "Content-Length")) {
        rec r2 = {0};
        fixture_run(&f, &r2, &(em_http_req){.url = raw_url(&f.rs, "/2")});
        assert_int_equal(r2.err, 0);
        assert_int_equal(r2.body_len, 4);
        assert_memory_equal(r2.body, "next", 4);
        assert_int_equal(f.rs.accepted, 1);
    }
    fixture_teardown(&f, NULL);
}

static void test_obs_fold_is_sp(void **state) {
    (void)state;
    rec r = {.want_hdr = "x-folded"};
    run_one("HTTP/1.1 200 OK\r\nX-Folded: one\r\n two\r\n\tthree\r\nContent-Length: 2\r\n\r\nok",
            &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.hdr, "one   two  \tthree"); /* no CR or LF left */
    assert_int_equal(r.body_len, 2);
    /* A fold over a framing field stays an error: no guess at the length. */
    rec bad = {0};
    run_one("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n 0\r\n\r\n0123456789", &bad);
    assert_int_equal(bad.err, EM_EOBSFOLD);
    assert_int_equal(bad.heads, 0);
}

static void test_minor_version_above_1(void **state) {
    (void)state;
    rec r = {0};
    run_one("HTTP/1.7 200 OK\r\nContent-Length: 2\r\n\r\nok", &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 2);
    rec two = {0};
    run_one("HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok", &two);
    assert_int_equal(two.err, EM_EBADVERSION);
}

static void test_status_outside_range(void **state) {
    (void)state;
    rec r = {0};
    run_one("HTTP/1.1 999 Odd\r\nContent-Length: 3\r\n\r\nodd", &r);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.status, 999);
    assert_int_equal(r.body_len, 3);
    /* 0xx is no interim answer: the call ends with it and its body. */
    rec low = {0};
    run_one("HTTP/1.1 042 Low\r\nContent-Length: 3\r\n\r\nlow", &low);
    assert_int_equal(low.err, 0);
    assert_int_equal(low.heads, 1);
    assert_int_equal(low.status, 42);
    assert_int_equal(low.body_len, 3);
    assert_memory_equal(low.body, "low", 3);
}

/* RFC 9112 §6.3: a HEAD response (and a 204, a 304) ends at its empty line
 * "regardless of the header fields present", a rule that comes before the
 * one that makes Content-Length with Transfer-Encoding an error. The head
 * is the answer, no body is read, and the connection, whose sender framed
 * it wrongly, carries nothing more (§6.1, for TE in 1.0 too). */
static void test_bodiless_answer_with_cl_and_te(void **state) {
    (void)state;
    static const char *const answers[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    };
    static const char *const methods[] = {"HEAD", "HEAD", "GET"};
    static const int statuses[] = {200, 200, 304};
    for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
        const char *script[] = {answers[i], "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"};
        fixture f;
        fixture_setup(&f, script, 2, NULL);
        rec r = {0};
        fixture_run(&f, &r, &(em_http_req){.url = raw_url(&f.rs, "/"), .method = methods[i]});
        if (r.err != 0)
            fail_msg("%s: %s (%s)", answers[i], em_err_name(r.err), r.error);
        assert_int_equal(r.status, statuses[i]);
        assert_int_equal(r.body_len, 0);
        rec r2 = {0};
        fixture_run(&f, &r2, &(em_http_req){.url = raw_url(&f.rs, "/2")});
        assert_int_equal(r2.err, 0);
        assert_int_equal(r2.body_len, 4);
        assert_int_equal(f.rs.accepted, 2); /* not on the first connection */
        fixture_teardown(&f, NULL);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_obs_fold_is_sp),
        cmocka_unit_test(test_minor_version_above_1),
        cmocka_unit_test(test_status_outside_range),
        cmocka_unit_test(test_bodiless_answer_with_cl_and_te),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

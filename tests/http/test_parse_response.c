/* em_http_parse_response: status lines, the RFC 9112 §6.3 framing order
 * (HEAD, 1xx, 204, 304, CONNECT, TE, CL, close-delimited), errors, and every
 * split at every SIMD level. */
#include "http_test_util.h"

#define S(x) x, sizeof(x) - 1

typedef struct resp_case {
    const char *name;
    const char *resp;
    size_t len;
    em_http_method method; /* of the request answered */
    ssize_t rc;            /* 0: the whole input is the head */
    int status;
    em_http_body body;
    uint64_t cl;
    unsigned flags; /* exact, when rc >= 0 */
    const char *reason;
} resp_case;

#define KA EM_HTTP_F_KEEP_ALIVE
#define CL EM_HTTP_F_CONTENT_LENGTH
#define TE EM_HTTP_F_TRANSFER_ENCODING
#define CH EM_HTTP_F_CHUNKED
#define OK_(n, r, m, st, body, cl, fl, reason)                                                     \
    { n, S(r), m, 0, st, body, cl, fl, reason }
#define ERR(n, r, m, e)                                                                            \
    { n, S(r), m, e, 0, 0, 0, 0, NULL }

static const resp_case cases[] = {
    OK_("200 length", "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", EM_HTTP_GET, 200,
        EM_HTTP_BODY_LENGTH, 12, CL | KA, "OK"),
    OK_("200 chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", EM_HTTP_GET, 200,
        EM_HTTP_BODY_CHUNKED, 0, TE | CH | KA, "OK"),
    OK_("200 gzip chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        EM_HTTP_GET, 200, EM_HTTP_BODY_CHUNKED, 0, TE | CH | EM_HTTP_F_TE_CODED | KA, "OK"),
    OK_("chunked not last: until close",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", EM_HTTP_GET, 200,
        EM_HTTP_BODY_UNTIL_CLOSE, 0, TE | EM_HTTP_F_TE_CODED, "OK"),
    OK_("gzip only: until close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", EM_HTTP_GET,
        200, EM_HTTP_BODY_UNTIL_CLOSE, 0, TE | EM_HTTP_F_TE_CODED, "OK"),
    OK_("close delimited", "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", EM_HTTP_GET, 200,
        EM_HTTP_BODY_UNTIL_CLOSE, 0, 0, "OK"),
    OK_("http/1.0 close delimited", "HTTP/1.0 200 OK\r\n\r\n", EM_HTTP_GET, 200,
        EM_HTTP_BODY_UNTIL_CLOSE, 0, 0, "OK"),
    OK_("http/1.0 keep-alive",
        "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n", EM_HTTP_GET, 200,
        EM_HTTP_BODY_LENGTH, 1, CL | EM_HTTP_F_CONN_KEEP_ALIVE | KA, "OK"),
    OK_("close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n", EM_HTTP_GET,
        200, EM_HTTP_BODY_LENGTH, 1, CL | EM_HTTP_F_CONN_CLOSE, "OK"),
    OK_("204 ignores length", "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", EM_HTTP_GET,
        204, EM_HTTP_BODY_NONE, 10, CL | KA, "No Content"),
    OK_("304", "HTTP/1.1 304 Not Modified\r\nContent-Length: 99999999\r\n\r\n", EM_HTTP_GET, 304,
        EM_HTTP_BODY_NONE, 99999999, CL | KA, "Not Modified"),
    OK_("head response", "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", EM_HTTP_HEAD, 200,
        EM_HTTP_BODY_NONE, 500, CL | KA, "OK"),
    OK_("head response chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        EM_HTTP_HEAD, 200, EM_HTTP_BODY_NONE, 0, TE | CH | KA, "OK"),
    /* RFC 9112 §6.3 rule 1 before rule 3: a response that cannot have a
     * body ends at its empty line whatever its fields say, so CL with TE
     * (or TE in 1.0) is no framing error there; only no reuse (§6.1). */
    OK_("head response cl and te",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", EM_HTTP_HEAD,
        200, EM_HTTP_BODY_NONE, 3, CL | TE | CH, "OK"),
    OK_("304 cl and te",
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        EM_HTTP_GET, 304, EM_HTTP_BODY_NONE, 3, CL | TE | CH, "Not Modified"),
    OK_("head response te in 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        EM_HTTP_HEAD, 200, EM_HTTP_BODY_NONE, 0, TE | CH, "OK"),
    OK_("100 continue", "HTTP/1.1 100 Continue\r\n\r\n", EM_HTTP_PUT, 100, EM_HTTP_BODY_NONE, 0, KA,
        "Continue"),
    OK_("103 early hints", "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n",
        EM_HTTP_GET, 103, EM_HTTP_BODY_NONE, 0, KA, "Early Hints"),
    OK_("101 switching",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\n\r\n",
        EM_HTTP_GET, 101, EM_HTTP_BODY_NONE, 0,
        EM_HTTP_F_UPGRADE | EM_HTTP_F_CONN_UPGRADE | EM_HTTP_F_TUNNEL, "Switching Protocols"),
    OK_("connect 200", "HTTP/1.1 200 Connection established\r\n\r\n", EM_HTTP_CONNECT, 200,
        EM_HTTP_BODY_NONE, 0, EM_HTTP_F_TUNNEL, "Connection established"),
    /* RFC 9110 §9.3.6: every 2xx to CONNECT is a tunnel, 204 too. */
    OK_("connect 204", "HTTP/1.1 204 No Content\r\n\r\n", EM_HTTP_CONNECT, 204, EM_HTTP_BODY_NONE,
        0, EM_HTTP_F_TUNNEL, "No Content"),
    /* RFC 9110 §9.3.6: a client MUST ignore Content-Length and
     * Transfer-Encoding in a 2xx to CONNECT, invalid or clashing ones too */
    OK_("connect 200 with CL and TE",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        EM_HTTP_CONNECT, 200, EM_HTTP_BODY_NONE, 0, EM_HTTP_F_TUNNEL, "OK"),
    OK_("connect 200 with a bad CL", "HTTP/1.1 200 OK\r\nContent-Length: x, 7\r\n\r\n",
        EM_HTTP_CONNECT, 200, EM_HTTP_BODY_NONE, 0, EM_HTTP_F_TUNNEL, "OK"),
    OK_("connect 200 with a bad TE", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        EM_HTTP_CONNECT, 200, EM_HTTP_BODY_NONE, 0, EM_HTTP_F_TUNNEL, "OK"),
    OK_("connect 407", "HTTP/1.1 407 Proxy Auth\r\nContent-Length: 0\r\n\r\n", EM_HTTP_CONNECT, 407,
        EM_HTTP_BODY_NONE, 0, CL | KA, "Proxy Auth"),
    OK_("no reason", "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", EM_HTTP_GET, 200,
        EM_HTTP_BODY_NONE, 0, CL | KA, ""),
    OK_("no sp after code", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", EM_HTTP_GET, 404,
        EM_HTTP_BODY_NONE, 0, CL | KA, ""),
    OK_("reason with tab and obs-text", "HTTP/1.1 500 Bad\tthing \xe9\r\nContent-Length: 0\r\n\r\n",
        EM_HTTP_GET, 500, EM_HTTP_BODY_NONE, 0, CL | KA, "Bad\tthing \xe9"),
    OK_("599", "HTTP/1.1 599 X\r\nContent-Length: 0\r\n\r\n", EM_HTTP_GET, 599, EM_HTTP_BODY_NONE,
        0, CL | KA, "X"),
    OK_("host ignored",
        "HTTP/1.1 200 OK\r\nHost: a\r\nHost: b c\r\nExpect: x\r\n"
        "Content-Length: 0\r\n\r\n",
        EM_HTTP_GET, 200, EM_HTTP_BODY_NONE, 0, CL | KA, "OK"),
    /* RFC 9110 §15: outside 100..599 is kept and framed as a 5xx: a 099
     * is no interim answer, a 999 has its body. */
    OK_("status 099", "HTTP/1.1 099 X\r\nContent-Length: 2\r\n\r\n", EM_HTTP_GET, 99,
        EM_HTTP_BODY_LENGTH, 2, CL | KA, "X"),
    OK_("status 600", "HTTP/1.1 600 X\r\n\r\n", EM_HTTP_GET, 600, EM_HTTP_BODY_UNTIL_CLOSE, 0, 0,
        "X"),
    OK_("status 999 to connect", "HTTP/1.1 999 X\r\nContent-Length: 1\r\n\r\n", EM_HTTP_CONNECT,
        999, EM_HTTP_BODY_LENGTH, 1, CL | KA, "X"),
    OK_("status 000", "HTTP/1.1 000 X\r\nContent-Length: 0\r\n\r\n", EM_HTTP_GET, 0,
        EM_HTTP_BODY_NONE, 0, CL | KA, "X"),
    /* RFC 9110 §2.5: 1.2 and up are read as 1.1 */
    OK_("version 1.2", "HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n", EM_HTTP_GET, 200,
        EM_HTTP_BODY_NONE, 0, CL | KA, "OK"),
    /* RFC 9112 §5.2: a user agent takes obs-fold as SP */
    OK_("obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", EM_HTTP_GET, 200,
        EM_HTTP_BODY_NONE, 0, CL | KA | EM_HTTP_F_OBS_FOLD, "OK"),
    OK_("obs-fold tab, twice", "HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\n  c\r\n\r\n", EM_HTTP_GET, 200,
        EM_HTTP_BODY_UNTIL_CLOSE, 0, EM_HTTP_F_OBS_FOLD, "OK"),
    ERR("status 2 digits", "HTTP/1.1 20 OK\r\n\r\n", EM_HTTP_GET, EM_EPARSE),
    ERR("status 4 digits", "HTTP/1.1 2000 OK\r\n\r\n", EM_HTTP_GET, EM_EPARSE),
    ERR("status letters", "HTTP/1.1 2x0 OK\r\n\r\n", EM_HTTP_GET, EM_EPARSE),
    ERR("no space after version", "HTTP/1.1200 OK\r\n\r\n", EM_HTTP_GET, EM_EPARSE),
    ERR("version 2", "HTTP/2.0 200 OK\r\n\r\n", EM_HTTP_GET, EM_EBADVERSION),
    ERR("version junk", "HTTP/1.x 200 OK\r\n\r\n", EM_HTTP_GET, EM_EPARSE),
    ERR("icy", "ICY 200 OK\r\n\r\n", EM_HTTP_GET, EM_EPARSE),
    ERR("reason ctl", "HTTP/1.1 200 O\x01K\r\n\r\n", EM_HTTP_GET, EM_EPARSE),
    ERR("bare lf status", "HTTP/1.1 200 OK\n\r\n", EM_HTTP_GET, EM_EBADEOL),
    ERR("bare lf after code", "HTTP/1.1 200\n\r\n", EM_HTTP_GET, EM_EBADEOL),
    ERR("bare cr status", "HTTP/1.1 200 OK\rX\r\n\r\n", EM_HTTP_GET, EM_EBADEOL),
    ERR("cl and te", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        EM_HTTP_GET, EM_ECLTE),
    ERR("cl differs", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        EM_HTTP_GET, EM_EBADCL),
    ERR("cl bad", "HTTP/1.1 200 OK\r\nContent-Length: 3a\r\n\r\n", EM_HTTP_GET, EM_EBADCL),
    ERR("cl over limit", "HTTP/1.1 200 OK\r\nContent-Length: 10485761\r\n\r\n", EM_HTTP_GET,
        EM_EBODYTOOLARGE),
    ERR("te unknown", "HTTP/1.1 200 OK\r\nTransfer-Encoding: zstd\r\n\r\n", EM_HTTP_GET,
        EM_ENOTIMPL),
    ERR("te chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip, chunked\r\n\r\n",
        EM_HTTP_GET, EM_EBADTE),
    ERR("te in 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", EM_HTTP_GET,
        EM_EBADTE),
    /* ... but never over a field that frames or steers the message */
    ERR("obs-fold content-length", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n 2\r\n\r\n",
        EM_HTTP_GET, EM_EOBSFOLD),
    ERR("obs-fold transfer-encoding",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,\r\n chunked\r\n\r\n", EM_HTTP_GET,
        EM_EOBSFOLD),
    ERR("obs-fold connection", "HTTP/1.1 200 OK\r\nConnection: keep-alive,\r\n close\r\n\r\n",
        EM_HTTP_GET, EM_EOBSFOLD),
    ERR("fold before any field", "HTTP/1.1 200 OK\r\n b\r\n\r\n", EM_HTTP_GET, EM_EBADHEADER),
    ERR("ctl in a continuation", "HTTP/1.1 200 OK\r\nX: a\r\n\x01\r\n\r\n", EM_HTTP_GET,
        EM_EBADHEADER),
    ERR("space before colon", "HTTP/1.1 200 OK\r\nX : a\r\n\r\n", EM_HTTP_GET, EM_EBADHEADER),
    ERR("nul in value", "HTTP/1.1 200 OK\r\nX: a\0\r\n\r\n", EM_HTTP_GET, EM_EBADHEADER),
};

static void test_responses(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const resp_case *c = &cases[i];
        em_http_header h[16];
        em_http_response r = {.headers = h, .max_headers = 16};
        em_http_parser p = {0};
        guarded g;
        char *b = guard_copy(&g, c->resp, c->len);
        ssize_t rc = em_http_parse_response(&p, b, c->len, c->method, &r);
        ssize_t want = c->rc ? c->rc : (ssize_t)c->len;
        if (rc != want)
            fail_msg("%s: got %zd, want %zd", c->name, rc, want);
        if (rc >= 0) {
            assert_int_equal(r.status, c->status);
            assert_int_equal(r.body, c->body);
            assert_int_equal(r.content_length, c->cl);
            if (r.flags != c->flags)
                fail_msg("%s: flags %#x, want %#x", c->name, r.flags, c->flags);
            assert_int_equal(r.reason.len, strlen(c->reason));
            assert_memory_equal(r.reason.ptr, c->reason, r.reason.len);
        }
        guard_free(&g);
        assert_int_equal(response_check_splits(c->resp, c->len, c->method, NULL), want);
    }
}

/* The values an obs-fold leaves, raw and then rewritten the way the HTTP
 * client does (em__http_unfold). */
static void test_obs_fold_values(void **state) {
    (void)state;
    char in[] = "HTTP/1.1 200 OK\r\nA: one\r\n two \r\n\tthree\r\nB:\r\n  x\r\n"
                "C: y\r\n  \r\nD: plain\r\n\r\n";
    em_http_header h[8];
    em_http_response r = {.headers = h, .max_headers = 8};
    em_http_parser p = {0};
    assert_int_equal(em_http_parse_response(&p, in, sizeof in - 1, EM_HTTP_GET, &r),
                     (ssize_t)sizeof in - 1);
    assert_true(r.flags & EM_HTTP_F_OBS_FOLD);
    assert_int_equal(r.num_headers, 4);
    assert_true(em_slice_eq(h[0].value, em_slice_from_cstr("one\r\n two \r\n\tthree")));
    assert_true(em_slice_eq(h[1].value, em_slice_from_cstr("x")));
    assert_true(em_slice_eq(h[2].value, em_slice_from_cstr("y")));
    assert_true(em_slice_eq(h[3].value, em_slice_from_cstr("plain")));
    em__http_unfold(h, r.num_headers);
    assert_true(em_slice_eq(h[0].value, em_slice_from_cstr("one   two   \tthree")));
    assert_true(em_slice_eq(h[1].value, em_slice_from_cstr("x")));
    assert_true(em_slice_eq(h[2].value, em_slice_from_cstr("y")));
    assert_true(em_slice_eq(h[3].value, em_slice_from_cstr("plain")));
    /* A request's obs-fold stays a 400. */
    em_http_header rh[4];
    em_http_request req = {.headers = rh, .max_headers = 4};
    em_http_parser rp = {0};
    static const char rq[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n";
    assert_int_equal(em_http_parse_request(&rp, rq, sizeof rq - 1, &req), EM_EOBSFOLD);
}

static void test_interim_then_final(void **state) {
    (void)state;
    static const char in[] = "HTTP/1.1 100 Continue\r\n\r\n"
                             "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                             "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    em_http_header h[4];
    em_http_response r = {.headers = h, .max_headers = 4};
    em_http_parser p = {0};
    size_t off = 0;
    int statuses[3];
    for (int i = 0; i < 3; i++) {
        ssize_t rc = em_http_parse_response(&p, in + off, sizeof in - 1 - off, EM_HTTP_POST, &r);
        assert_true(rc > 0);
        statuses[i] = r.status;
        off += (size_t)rc;
    }
    assert_int_equal(statuses[0], 100);
    assert_int_equal(statuses[1], 103);
    assert_int_equal(statuses[2], 201);
    assert_int_equal(r.body, EM_HTTP_BODY_LENGTH);
    assert_int_equal(sizeof in - 1 - off, 2);
}

static void test_response_limits(void **state) {
    (void)state;
    em_http_limits lim = {.max_start_line = 20, .max_header_bytes = 30, .max_headers = 2};
    static const char ok[] = "HTTP/1.1 200 OKAY\r\nA: b\r\nC: d\r\n\r\n";
    assert_int_equal(response_check_splits(S(ok), EM_HTTP_GET, &lim), sizeof ok - 1);
    static const char longline[] = "HTTP/1.1 200 OKAY!!\r\n\r\n";
    assert_int_equal(response_check_splits(S(longline), EM_HTTP_GET, &lim), EM_EHDRTOOLARGE);
    static const char many[] = "HTTP/1.1 200 OK\r\nA: b\r\nC: d\r\nE: f\r\n\r\n";
    assert_int_equal(response_check_splits(S(many), EM_HTTP_GET, &lim), EM_ETOOMANYHDRS);
    static const char wide[] = "HTTP/1.1 200 OK\r\nA: 012345678901234567890123\r\n\r\n";
    assert_int_equal(response_check_splits(S(wide), EM_HTTP_GET, &lim), EM_EHDRTOOLARGE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_responses),
        cmocka_unit_test(test_obs_fold_values),
        cmocka_unit_test(test_interim_then_final),
        cmocka_unit_test(test_response_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

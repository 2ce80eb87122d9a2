/* em_http_chunked_decode: data slices, extensions, trailers, limits, every
 * error class, and the same result for every split of the input (each call
 * on a guarded copy of the unconsumed bytes, as a server's buffer holds). */
#include "http_test_util.h"

#define S(x) x, sizeof(x) - 1

/* Feed s[0, n) in pieces ending at cuts[] (then the rest), keeping the
 * bytes the decoder has not consumed, as a connection's buffer would.
 * Renders data, consumption, trailers and the final status into out. */
static int decode_pieces(const char *s, size_t n, const size_t *cuts, size_t ncuts,
                         const em_http_limits *lim, em_http_header *tr, size_t ntr, textbuf *out) {
    em_http_chunked c = {.trailers = tr, .max_trailers = ntr};
    em_http_chunked_init(&c, lim);
    char *pending = malloc(n + 1), *data = malloc(n + 1);
    size_t plen = 0, dlen = 0, consumed = 0, fed = 0;
    int status = EM_EAGAIN;
    assert_non_null(pending);
    assert_non_null(data);
    out->n = 0;
    for (size_t piece = 0; piece <= ncuts && status == EM_EAGAIN; piece++) {
        size_t upto = piece < ncuts ? cuts[piece] : n;
        memcpy(pending + plen, s + fed, upto - fed);
        plen += upto - fed;
        fed = upto;
        for (;;) {
            guarded g;
            char *b = guard_copy(&g, pending, plen);
            em_slice d;
            ssize_t rc = em_http_chunked_decode(&c, b, plen, &d);
            if (rc == EM_EAGAIN) {
                guard_free(&g);
                break;
            }
            if (rc < 0) {
                status = (int)rc;
                guard_free(&g);
                break;
            }
            assert_true(rc > 0 || em_http_chunked_done(&c));
            assert_true(d.ptr >= b && d.ptr + d.len <= b + rc);
            memcpy(data + dlen, d.ptr, d.len);
            dlen += d.len;
            consumed += (size_t)rc;
            if (em_http_chunked_done(&c)) {
                status = 0;
                tb_printf(out, "trailers=%zu", c.num_trailers);
                /* Offsets depend on the split; the text must not. */
                for (size_t i = 0; i < c.num_trailers; i++) {
                    assert_true(c.trailers[i].name.ptr >= b &&
                                c.trailers[i].value.ptr + c.trailers[i].value.len <= b + rc);
                    tb_printf(out, "\n  [%d]", (int)c.trailers[i].id);
                    tb_slice(out, "n", c.trailers[i].name, b, (size_t)-1);
                    tb_slice(out, "v", c.trailers[i].value, b, (size_t)-1);
                }
                guard_free(&g);
                break;
            }
            memmove(pending, pending + rc, plen - (size_t)rc);
            plen -= (size_t)rc;
            guard_free(&g);
        }
    }
    /* How much went before an error depends on the split; the rest not. */
    tb_printf(out, "\nstatus=%d consumed=%zu total=%llu data=", status, status ? 0 : consumed,
              (unsigned long long)em_http_chunked_total(&c));
    em_slice all = {data, dlen};
    tb_slice(out, "d", all, data, dlen);
    out->s[out->n < sizeof out->s ? out->n : sizeof out->s - 1] = '\0';
    assert_int_equal(em_http_chunked_total(&c), dlen);
    free(pending);
    free(data);
    return status;
}

/* Whole, every two-piece split and byte by byte, at every SIMD level:
 * identical renderings. Returns the status and fills ref. */
static int decode_check(const char *s, size_t n, const em_http_limits *lim, textbuf *ref) {
    int lv[3], nl = test_levels(lv);
    em_http_header tr[8];
    textbuf *got = malloc(sizeof *got);
    size_t *cuts = malloc((n + 1) * sizeof *cuts);
    assert_non_null(got);
    assert_non_null(cuts);
    assert_int_equal(em__http_simd_force(EM__HTTP_SIMD_SCALAR), 0);
    int st = decode_pieces(s, n, NULL, 0, lim, tr, 8, ref);
    for (size_t i = 0; i < n; i++)
        cuts[i] = i + 1;
    for (int l = 0; l < nl; l++) {
        assert_int_equal(em__http_simd_force(lv[l]), 0);
        for (size_t k = 0; k <= n; k++) {
            decode_pieces(s, n, &k, 1, lim, tr, 8, got);
            if (strcmp(ref->s, got->s))
                fail_msg("level %d split %zu:\n%s\nvs\n%s", lv[l], k, ref->s, got->s);
        }
        decode_pieces(s, n, cuts, n, lim, tr, 8, got);
        if (strcmp(ref->s, got->s))
            fail_msg("level %d bytewise:\n%s\nvs\n%s", lv[l], ref->s, got->s);
    }
    em__http_simd_force(em__http_simd_default());
    free(got);
    free(cuts);
    return st;
}

typedef struct chunk_case {
    const char *name;
    const char *in;
    size_t len;
    int status;
    const char *data; /* for status 0 */
    size_t dlen;
    size_t consumed; /* for status 0; 0 means all */
} chunk_case;

#define GOOD(n, in, data)                                                                          \
    { n, S(in), 0, S(data), 0 }
#define GOODC(n, in, data, used)                                                                   \
    { n, S(in), 0, S(data), used }
#define BAD(n, in, e)                                                                              \
    { n, S(in), e, NULL, 0, 0 }

static const chunk_case cases[] = {
    GOOD("one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello"),
    GOOD("empty body", "0\r\n\r\n", ""),
    GOOD("several", "3\r\nabc\r\nA\r\n0123456789\r\n1\r\nz\r\n0\r\n\r\n", "abc0123456789z"),
    GOOD("hex case", "a\r\n0123456789\r\nB\r\n0123456789x\r\n0\r\n\r\n", "01234567890123456789x"),
    GOOD("leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello"),
    GOOD("16 digits", "0000000000000003\r\nabc\r\n0\r\n\r\n", "abc"),
    /* leading zeros are legal (RFC 9112 §7.1): only significant digits overflow */
    GOOD("20 digits", "00000000000000000003\r\nabc\r\n0\r\n\r\n", "abc"),
    GOOD("64 digits", "0000000000000000000000000000000000000000000000000000000000000003\r\nabc\r\n0\r\n\r\n",
         "abc"),
    GOOD("extensions", "5;a=b;c\r\nhello\r\n0;last\r\n\r\n", "hello"),
    GOOD("extension bws", "5 ; a = b ;c\t;d=\"q\"\r\nhello\r\n0\r\n\r\n", "hello"),
    GOOD("quoted extension", "5;n=\"a \\\"b\\\\ ;c\"\r\nhello\r\n0\r\n\r\n", "hello"),
    GOOD("crlf in data", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n"),
    GOOD("binary data", "3\r\n\0\xff\n\r\n0\r\n\r\n", "\0\xff\n"),
    GOOD("trailers", "5\r\nhello\r\n0\r\nX-Sum: abc\r\nContent-Length: 5\r\n\r\n", "hello"),
    GOODC("pipelined after", "2\r\nhi\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "hi", 12),
    BAD("not hex", "x\r\n", EM_EBADCHUNK),
    BAD("empty size", "\r\n", EM_EBADCHUNK),
    BAD("sign", "+5\r\nhello\r\n0\r\n\r\n", EM_EBADCHUNK),
    BAD("minus", "-5\r\n", EM_EBADCHUNK),
    BAD("0x prefix", "0x5\r\nhello\r\n", EM_EBADCHUNK),
    BAD("space before size", " 5\r\nhello\r\n", EM_EBADCHUNK),
    BAD("space after size", "5 \r\nhello\r\n0\r\n\r\n", EM_EBADCHUNK),
    BAD("bare lf after size", "5\nhello\r\n0\r\n\r\n", EM_EBADCHUNK),
    BAD("bare cr after size", "5\rhello\r\n", EM_EBADCHUNK),
    BAD("65 digits", "00000000000000000000000000000000000000000000000000000000000000005\r\nhello\r\n",
        EM_EBADCHUNK),
    BAD("17 significant digits", "0100000000000000005\r\nhello\r\n", EM_EBADCHUNK),
    BAD("overflow", "10000000000000000\r\n", EM_EBADCHUNK),
    BAD("over body limit", "ffffffffffffffff\r\n", EM_EBODYTOOLARGE),
    BAD("just over limit", "A00001\r\n", EM_EBODYTOOLARGE),
    BAD("data too long", "5\r\nhelloX\r\n0\r\n\r\n", EM_EBADCHUNK),
    BAD("data lf only", "5\r\nhello\n0\r\n\r\n", EM_EBADCHUNK),
    BAD("data cr only", "5\r\nhello\r0\r\n\r\n", EM_EBADCHUNK),
    BAD("ext no name", "5;=b\r\nhello\r\n", EM_EBADCHUNK),
    BAD("ext ctl", "5;a=\x01\r\nhello\r\n", EM_EBADCHUNK),
    BAD("ext space in name", "5;a b\r\nhello\r\n", EM_EBADCHUNK),
    BAD("ext empty value", "5;a=\r\nhello\r\n", EM_EBADCHUNK),
    BAD("ext bws before cr", "5;a \r\nhello\r\n", EM_EBADCHUNK),
    BAD("ext open quote", "5;a=\"b\r\nhello\r\n", EM_EBADCHUNK),
    BAD("ext quote junk", "5;a=\"b\"c\r\nhello\r\n", EM_EBADCHUNK),
    BAD("ext bad escape", "5;a=\"\\\x01\"\r\nhello\r\n", EM_EBADCHUNK),
    BAD("ext lf", "5;a=b\nhello\r\n", EM_EBADCHUNK),
    BAD("trailer obs-fold", "0\r\nX: a\r\n b\r\n\r\n", EM_EOBSFOLD),
    BAD("trailer no colon", "0\r\nX\r\n\r\n", EM_EBADHEADER),
    BAD("trailer space before colon", "0\r\nX : a\r\n\r\n", EM_EBADHEADER),
    BAD("trailer nul", "0\r\nX: a\0\r\n\r\n", EM_EBADHEADER),
    BAD("trailer bare lf", "0\r\nX: a\n\r\n", EM_EBADEOL),
    BAD("end bare lf", "0\r\n\n", EM_EBADEOL),
};

static void test_cases(void **state) {
    (void)state;
    textbuf *ref = malloc(sizeof *ref);
    assert_non_null(ref);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const chunk_case *c = &cases[i];
        int st = decode_check(c->in, c->len, NULL, ref);
        if (st != c->status)
            fail_msg("%s: got %d, want %d\n%s", c->name, st, c->status, ref->s);
        if (st == 0) {
            /* The expected data, rendered the way decode_pieces renders it. */
            textbuf *t = malloc(sizeof *t);
            assert_non_null(t);
            t->n = 0;
            em_slice all = {c->data, c->dlen};
            tb_slice(t, "d", all, c->data, c->dlen);
            t->s[t->n] = '\0';
            if (!strstr(ref->s, t->s))
                fail_msg("%s: data\n%s\nwant %s", c->name, ref->s, t->s);
            char used[64];
            snprintf(used, sizeof used, "consumed=%zu ", c->consumed ? c->consumed : c->len);
            if (!strstr(ref->s, used))
                fail_msg("%s: %s\nwant %s", c->name, ref->s, used);
            free(t);
        }
        if (st < 0)
            assert_int_not_equal(em_http_status_for_error(st), 0);
    }
    free(ref);
}

/* RFC 9112 §5.2: obs-fold in a request is refused (400); a user agent
 * MUST read one in a response as SP, and a response's trailer section is
 * field lines like its head. */
static void test_trailer_fold_in_responses(void **state) {
    (void)state;
    static const char in[] = "0\r\nX-A: a\r\n b\r\nX-B: c\r\n\r\n";
    em_slice d;
    em_http_chunked req = {0};
    em_http_chunked_init(&req, NULL);
    assert_int_equal(em_http_chunked_decode(&req, in, sizeof in - 1, &d), EM_EOBSFOLD);
    em_http_header tr[4];
    em_http_chunked resp = {.trailers = tr, .max_trailers = 4, .response = true};
    em_http_chunked_init(&resp, NULL); /* keeps response, as it keeps trailers */
    assert_true(resp.response);
    size_t off = 0;
    while (!em_http_chunked_done(&resp)) {
        ssize_t rc = em_http_chunked_decode(&resp, in + off, sizeof in - 1 - off, &d);
        assert_true(rc > 0);
        off += (size_t)rc;
    }
    assert_int_equal(off, sizeof in - 1);
    assert_int_equal(resp.num_trailers, 2);
    assert_int_equal(tr[1].value.len, 1);
    /* a fold is still refused after a field ember interprets */
    static const char cl[] = "0\r\nContent-Length: 1\r\n 2\r\n\r\n";
    em_http_chunked_init(&resp, NULL);
    assert_true(em_http_chunked_decode(&resp, cl, sizeof cl - 1, &d) < 0);
}

static void test_trailers_stored(void **state) {
    (void)state;
    static const char in[] = "3\r\nabc\r\n0\r\nX-A: 1\r\nContent-Length:  3 \r\nx-b:\r\n\r\n";
    em_http_header tr[4];
    em_http_chunked c = {.trailers = tr, .max_trailers = 4};
    em_slice d;
    ssize_t rc = em_http_chunked_decode(&c, in, sizeof in - 1, &d);
    assert_int_equal(rc, 6); /* the size line and data, one run */
    assert_int_equal(d.len, 3);
    assert_ptr_equal(d.ptr, in + 3);
    size_t off = (size_t)rc;
    rc = em_http_chunked_decode(&c, in + off, sizeof in - 1 - off, &d);
    assert_true(rc > 0);
    assert_int_equal(d.len, 0);
    off += (size_t)rc;
    assert_true(em_http_chunked_done(&c));
    assert_int_equal(off, sizeof in - 1);
    assert_int_equal(c.num_trailers, 3);
    assert_int_equal(tr[0].value.len, 1);
    assert_int_equal(tr[1].id, EM_HTTP_HDR_CONTENT_LENGTH);
    assert_memory_equal(tr[1].value.ptr, "3", 1);
    assert_int_equal(tr[2].value.len, 0);
    /* Done: nothing more is consumed. */
    assert_int_equal(em_http_chunked_decode(&c, "x", 1, &d), 0);

    /* Without an array the trailers are validated and counted, not kept. */
    em_http_chunked c2 = {0};
    em_http_chunked_init(&c2, NULL);
    off = 0;
    while (!em_http_chunked_done(&c2)) {
        rc = em_http_chunked_decode(&c2, in + off, sizeof in - 1 - off, &d);
        assert_true(rc > 0);
        off += (size_t)rc;
    }
    assert_int_equal(c2.num_trailers, 0);

    /* The array's capacity is a limit. */
    em_http_header one[1];
    em_http_chunked c3 = {.trailers = one, .max_trailers = 1};
    textbuf *t = malloc(sizeof *t);
    assert_non_null(t);
    assert_int_equal(decode_pieces(S(in), NULL, 0, NULL, one, 1, t), EM_ETOOMANYHDRS);
    (void)c3;
    free(t);
}

static void test_limits(void **state) {
    (void)state;
    textbuf *t = malloc(sizeof *t);
    assert_non_null(t);
    em_http_limits lim = {
        .max_body = 10, .max_chunk_ext = 8, .max_trailers = 2, .max_trailer_bytes = 20};
    assert_int_equal(decode_check(S("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"), &lim, t), 0);
    assert_int_equal(decode_check(S("5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n"), &lim, t),
                     EM_EBODYTOOLARGE);
    assert_int_equal(decode_check(S("b\r\n"), &lim, t), EM_EBODYTOOLARGE);
    /* Extensions: 8 bytes after the size fit, 9 do not. */
    assert_int_equal(decode_check(S("1;abc=def\r\nx\r\n0\r\n\r\n"), &lim, t), 0);
    assert_int_equal(decode_check(S("1;abc=defg\r\nx\r\n0\r\n\r\n"), &lim, t), EM_EEXTTOOLONG);
    assert_int_equal(decode_check(S("1 ;abc=def\r\nx\r\n0\r\n\r\n"), &lim, t), EM_EEXTTOOLONG);
    assert_int_equal(em_http_status_for_error(EM_EEXTTOOLONG), 413);
    /* Trailers: count and bytes (the final CRLF included). */
    assert_int_equal(decode_check(S("0\r\nA: b\r\nC: d\r\n\r\n"), &lim, t), 0);
    assert_int_equal(decode_check(S("0\r\nA: b\r\nC: d\r\nE: f\r\n\r\n"), &lim, t),
                     EM_ETOOMANYHDRS);
    assert_int_equal(decode_check(S("0\r\nA: 0123456789abc\r\n\r\n"), &lim, t), 0);
    assert_int_equal(decode_check(S("0\r\nA: 0123456789abcd\r\n\r\n"), &lim, t), EM_EHDRTOOLARGE);

    /* The default extension limit is 1 KiB per chunk line. */
    char *big = malloc(2048);
    assert_non_null(big);
    memcpy(big, "1;a=", 4);
    memset(big + 4, 'x', 1021); /* ";a=" + 1021 = 1024 extension bytes */
    memcpy(big + 1025, "\r\nx\r\n0\r\n\r\n", 10);
    assert_int_equal(decode_pieces(big, 1035, NULL, 0, NULL, NULL, 0, t), 0);
    memcpy(big, "1;a=", 4);
    memset(big + 4, 'x', 1022);
    memcpy(big + 1026, "\r\nx\r\n0\r\n\r\n", 10);
    assert_int_equal(decode_pieces(big, 1036, NULL, 0, NULL, NULL, 0, t), EM_EEXTTOOLONG);
    free(big);
    free(t);
}

/* A large body in one buffer: one data slice per chunk, no copying. */
static void test_zero_copy_runs(void **state) {
    (void)state;
    static const char in[] = "4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n";
    static const char *const want[] = {"Wiki", "pedia", " in\r\n\r\nchunks."};
    em_http_chunked c = {0};
    size_t off = 0;
    int run = 0;
    while (!em_http_chunked_done(&c)) {
        em_slice d;
        ssize_t rc = em_http_chunked_decode(&c, in + off, sizeof in - 1 - off, &d);
        assert_true(rc > 0);
        if (d.len) {
            assert_true(run < 3);
            assert_int_equal(d.len, strlen(want[run]));
            assert_memory_equal(d.ptr, want[run], d.len);
            assert_true(d.ptr >= in && d.ptr < in + sizeof in);
            run++;
        }
        off += (size_t)rc;
    }
    assert_int_equal(run, 3);
    assert_int_equal(off, sizeof in - 1);
    assert_int_equal(em_http_chunked_total(&c), 23);
    /* Nothing to consume yet: EM_EAGAIN. */
    em_http_chunked c2 = {0};
    em_slice d;
    assert_int_equal(em_http_chunked_decode(&c2, "", 0, &d), EM_EAGAIN);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_trailers_stored),
        cmocka_unit_test(test_trailer_fold_in_responses),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_zero_copy_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

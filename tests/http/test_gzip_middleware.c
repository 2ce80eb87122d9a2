/* em_http_gzip against ember's server with raw requests: Accept-Encoding
 * and q-values, content types, sizes, HEAD/204/304, responses the handler
 * encoded itself, Vary, streamed responses (chunked, sized, deferred,
 * aborted), coded request bodies, and bombs (413). */
#include <stdlib.h>

#include "encoding_test_util.h"
#include "http_server_util.h"

static char text[64 * 1024];
static em_http_ctx *held; /* a deferred cx the test answers */
static int aborts;

static void respond_ok(em_http_ctx *cx, int status, const char *ct, em_slice body) {
    int rc = em_http_respond(cx, status, em_slice_from_cstr(ct), body);
    assert_true(rc == 0 || rc == EM_ECLOSED);
}

static size_t query_n(em_http_ctx *cx, size_t dflt) {
    uint64_t n;
    if (cx->query.len > 2 &&
        em_slice_to_u64(em_slice_sub(cx->query, 2, cx->query.len - 2), &n) == 0)
        return (size_t)n;
    return dflt;
}

static void on_abort(em_http_ctx *cx, int err) {
    aborts++;
    held = NULL;
}
static const em_http_stream_cbs abort_cbs = {NULL, NULL, on_abort};

static void app(em_http_ctx *cx) {
    em_slice p = cx->path;
    size_t n = query_n(cx, 5000);
    if (em_slice_eq(p, EM_SLICE_LIT("/text"))) {
        respond_ok(cx, 200, "text/html; charset=utf-8", em_slice_make(text, n));
    } else if (em_slice_eq(p, EM_SLICE_LIT("/json"))) {
        respond_ok(cx, 200, "Application/JSON", em_slice_make(text, n));
    } else if (em_slice_eq(p, EM_SLICE_LIT("/png"))) {
        respond_ok(cx, 200, "image/png", em_slice_make(text, n));
    } else if (em_slice_eq(p, EM_SLICE_LIT("/none"))) {
        respond_ok(cx, 200, "", em_slice_make(text, n));
    } else if (em_slice_eq(p, EM_SLICE_LIT("/204"))) {
        respond_ok(cx, 204, "text/plain", em_slice_make(text, n));
    } else if (em_slice_eq(p, EM_SLICE_LIT("/304"))) {
        respond_ok(cx, 304, "text/plain", em_slice_make(text, n));
    } else if (em_slice_eq(p, EM_SLICE_LIT("/404"))) {
        respond_ok(cx, 404, "text/plain", em_slice_make(text, n));
    } else if (em_slice_eq(p, EM_SLICE_LIT("/encoded"))) {
        em_buf z;
        em_buf_init(&z, 0);
        assert_int_equal(em_http_compress(EM_HTTP_CODING_GZIP, 6, em_slice_make(text, n), &z), 0);
        assert_int_equal(
            em_http_header_add(cx, EM_SLICE_LIT("content-encoding"), EM_SLICE_LIT("gzip")), 0);
        respond_ok(cx, 200, "text/plain", em_buf_slice(&z));
        em_buf_free(&z);
    } else if (em_slice_eq(p, EM_SLICE_LIT("/206"))) {
        char cr[64];
        snprintf(cr, sizeof cr, "bytes 0-%zu/65536", n - 1);
        assert_int_equal(
            em_http_header_add(cx, EM_SLICE_LIT("Content-Range"), em_slice_from_cstr(cr)), 0);
        respond_ok(cx, 206, "text/plain", em_slice_make(text, n));
    } else if (em_slice_eq(p, EM_SLICE_LIT("/206s"))) {
        assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("Content-Range"),
                                            EM_SLICE_LIT("bytes 0-4999/65536")),
                         0);
        assert_int_equal(em_http_stream_start(cx, 206, EM_SLICE_LIT("text/plain"), 5000, NULL), 0);
        assert_int_equal(em_http_stream_write(cx, em_slice_make(text, 5000), NULL), 0);
        assert_int_equal(em_http_stream_end(cx), 0);
    } else if (em_slice_eq(p, EM_SLICE_LIT("/etag")) || em_slice_eq(p, EM_SLICE_LIT("/etags"))) {
        em_slice tag = em_slice_from_cstr(cx->query.len > 2 && cx->query.ptr[0] == 'w' ? "W/\"v1\""
                                                                                       : "\"v1\"");
        assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("etag"), tag), 0);
        if (p.len == 5) {
            respond_ok(cx, 200, "text/plain", em_slice_make(text, 5000));
        } else {
            assert_int_equal(em_http_stream_start(cx, 200, EM_SLICE_LIT("text/plain"),
                                                  EM_HTTP_LENGTH_UNKNOWN, NULL),
                             0);
            assert_int_equal(em_http_stream_write(cx, em_slice_make(text, 5000), NULL), 0);
            assert_int_equal(em_http_stream_end(cx), 0);
        }
    } else if (em_slice_eq(p, EM_SLICE_LIT("/headsized"))) {
        /* A HEAD-aware handler: the GET's length, no body written. */
        assert_int_equal(em_http_stream_start(cx, 200, EM_SLICE_LIT("text/plain"), 5000, NULL), 0);
        if (cx->req.method_id != EM_HTTP_HEAD)
            assert_int_equal(em_http_stream_write(cx, em_slice_make(text, 5000), NULL), 0);
        assert_int_equal(em_http_stream_end(cx), 0);
    } else if (em_slice_eq(p, EM_SLICE_LIT("/vary"))) {
        assert_int_equal(em_http_header_add(cx, EM_SLICE_LIT("Vary"), EM_SLICE_LIT("Cookie")), 0);
        respond_ok(cx, 200, "text/plain", em_slice_make(text, n));
    } else if (em_slice_eq(p, EM_SLICE_LIT("/twice"))) {
        /* A bad content type is refused with nothing sent; answer again. */
        assert_int_equal(
            em_http_respond(cx, 200, EM_SLICE_LIT("text/plain\r\nX: y"), em_slice_make(text, n)),
            EM_EINVAL);
        respond_ok(cx, 200, "text/plain", em_slice_make(text, n));
        assert_int_equal(em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), EM_SLICE_LIT("x")),
                         EM_EALREADY);
    } else if (em_slice_eq(p, EM_SLICE_LIT("/stream")) || em_slice_eq(p, EM_SLICE_LIT("/sized"))) {
        bool sized = p.ptr[1] == 's' && p.ptr[2] == 'i';
        int64_t len = sized ? (int64_t)(10 * n) : EM_HTTP_LENGTH_UNKNOWN;
        assert_int_equal(em_http_stream_start(cx, 200, EM_SLICE_LIT("text/plain"), len, NULL), 0);
        for (int i = 0; i < 10; i++) {
            uint64_t token = 0;
            int rc = em_http_stream_write(cx, em_slice_make(text + i * n, n), &token);
            assert_true(rc == 0 || rc == EM_HTTP_FULL);
            assert_true(token > 0);
        }
        if (sized)
            assert_int_equal(em_http_stream_write(cx, EM_SLICE_LIT("x"), NULL), EM_EINVAL);
        assert_int_equal(em_http_stream_end(cx), 0);
    } else if (em_slice_eq(p, EM_SLICE_LIT("/short"))) {
        assert_int_equal(em_http_stream_start(cx, 200, EM_SLICE_LIT("text/plain"), 5000, NULL), 0);
        assert_int_equal(em_http_stream_write(cx, em_slice_make(text, 2000), NULL), 0);
        assert_int_equal(em_http_stream_end(cx), EM_EINVAL);
    } else if (em_slice_eq(p, EM_SLICE_LIT("/defer"))) {
        em_http_defer(cx, NULL);
        held = cx;
    } else if (em_slice_eq(p, EM_SLICE_LIT("/hold"))) {
        assert_int_equal(em_http_stream_start(cx, 200, EM_SLICE_LIT("text/plain"),
                                              EM_HTTP_LENGTH_UNKNOWN, &abort_cbs),
                         0);
        assert_int_equal(em_http_stream_write(cx, em_slice_make(text, 3000), NULL), 0);
        held = cx;
    } else if (em_slice_eq(p, EM_SLICE_LIT("/holdraw"))) {
        em_http_defer(cx, NULL); /* no on_abort: the next call says EM_ECLOSED */
        held = cx;
    } else if (em_slice_eq(p, EM_SLICE_LIT("/echo"))) {
        em_slice ce = em_http_request_header(cx, "Content-Encoding");
        assert_int_equal(
            em_http_header_add(cx, EM_SLICE_LIT("X-CE"), ce.len ? ce : EM_SLICE_LIT("none")), 0);
        respond_ok(cx, 200, "application/octet-stream", cx->body);
    } else if (em_slice_eq(p, EM_SLICE_LIT("/silent"))) {
        /* no answer: the server says 500 */
    } else {
        respond_ok(cx, 404, "text/plain", EM_SLICE_LIT("no\n"));
    }
}

static void app_handler(em_http_ctx *cx, const em_http_handler *h) {
    app(cx);
}

static const em_http_handler inner = {app_handler, NULL, NULL};
static em_http_handler gz;
static em_http_handler gz_outer; /* a second one around the first: no effect */
static const em_http_gzip_opts gz_opts = {.decode = {.max_out = 1 << 20}};

/* ---- a client --------------------------------------------------------------- */

typedef struct resp {
    int status;
    char head[4096];
    em_buf raw;  /* the body as framed */
    em_buf body; /* ... decoded per Content-Encoding */
    char ce[64], vary[128];
    bool chunked, has_cl;
    uint64_t cl;
} resp;

/* Every request says Connection: close (or is HTTP/1.0): read to EOF. */
static int pred_eof(ts_in *in, void *arg) {
    return in->eof;
}

static void header_copy(const em_http_header *h, size_t n, const char *name, char *out,
                        size_t cap) {
    out[0] = 0;
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        if (em_slice_eq_nocase(h[i].name, em_slice_from_cstr(name))) {
            int w = snprintf(out + len, cap - len, "%s%.*s", len ? ", " : "", (int)h[i].value.len,
                             h[i].value.ptr);
            len += (size_t)w;
        }
}

static void request(test_server *ts, const char *req, size_t reqlen, resp *r) {
    static ts_in in;
    memset(&in, 0, sizeof in);
    memset(r, 0, sizeof *r);
    em_buf_init(&r->raw, 0);
    em_buf_init(&r->body, 0);
    em_http_method m = strncmp(req, "HEAD ", 5) == 0 ? EM_HTTP_HEAD : EM_HTTP_GET;
    int fd = ts_connect(ts);
    ts_send(fd, req, reqlen);
    ts_pump(ts, fd, &in, pred_eof, NULL, 5000);
    close(fd);
    em_http_header h[64];
    em_http_response rs = {.headers = h, .max_headers = 64};
    em_http_parser p;
    em_http_parser_init(&p, NULL);
    ssize_t n = em_http_parse_response(&p, in.buf, in.len, m, &rs);
    assert_true(n > 0);
    r->status = rs.status;
    snprintf(r->head, sizeof r->head, "%.*s", (int)n, in.buf);
    header_copy(h, rs.num_headers, "Content-Encoding", r->ce, sizeof r->ce);
    header_copy(h, rs.num_headers, "Vary", r->vary, sizeof r->vary);
    r->has_cl = rs.flags & EM_HTTP_F_CONTENT_LENGTH;
    r->cl = rs.content_length;
    const char *b = in.buf + n;
    size_t blen = in.len - (size_t)n;
    if (rs.body == EM_HTTP_BODY_CHUNKED) {
        r->chunked = true;
        em_http_chunked ch;
        memset(&ch, 0, sizeof ch);
        em_http_chunked_init(&ch, NULL);
        for (;;) {
            em_slice d;
            ssize_t k = em_http_chunked_decode(&ch, b, blen, &d);
            assert_true(k >= 0);
            assert_int_equal(em_buf_append(&r->raw, d.ptr, d.len), 0);
            b += k;
            blen -= (size_t)k;
            if (k == 0 || blen == 0)
                break;
        }
    } else if (rs.body == EM_HTTP_BODY_LENGTH) {
        assert_true(blen >= rs.content_length);
        assert_int_equal(em_buf_append(&r->raw, b, (size_t)rs.content_length), 0);
    } else if (rs.body == EM_HTTP_BODY_UNTIL_CLOSE) {
        assert_int_equal(em_buf_append(&r->raw, b, blen), 0);
    }
    if (r->ce[0])
        assert_int_equal(
            em_http_decompress(em_slice_from_cstr(r->ce), em_buf_slice(&r->raw), NULL, &r->body),
            0);
    else
        assert_int_equal(em_buf_append(&r->body, em_buf_data(&r->raw), em_buf_len(&r->raw)), 0);
}

static void resp_free(resp *r) {
    em_buf_free(&r->raw);
    em_buf_free(&r->body);
}

static void get(test_server *ts, const char *path, const char *ae, resp *r) {
    char req[512];
    int n =
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: a\r\n%s%s%sConnection: close\r\n\r\n",
                 path, ae ? "Accept-Encoding: " : "", ae ? ae : "", ae ? "\r\n" : "");
    request(ts, req, (size_t)n, r);
}

static void start(test_server *ts, const em_http_handler *h) {
    em_http_server_opts o = {.handler = h};
    ts_start(ts, &o);
}

static int setup(void **state) {
    make_text(text, sizeof text, 42);
    em_http_gzip(&gz, &inner, &gz_opts);
    em_http_gzip(&gz_outer, &gz, NULL);
    held = NULL;
    aborts = 0;
    return 0;
}

static size_t query_n_path(const char *path) {
    const char *q = strstr(path, "?n=");
    return q ? (size_t)strtoul(q + 3, NULL, 10) : 5000;
}

static void assert_body_is_text(const resp *r, size_t n) {
    assert_int_equal(em_buf_len(&r->body), n);
    assert_memory_equal(em_buf_data(&r->body), text, n);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_accept_encoding(void **state) {
    test_server ts;
    start(&ts, &gz);
    struct {
        const char *ae;
        const char *want; /* Content-Encoding, "" for none */
    } cases[] = {
        {NULL, ""},
        {"gzip", "gzip"},
        {"gzip, deflate, br", "gzip"},
        {"deflate", "deflate"},
        {"br", ""},
        {"identity", ""},
        {"gzip;q=0", ""},
        {"gzip;q=0, deflate;q=0.1", "deflate"},
        {"gzip;q=0.5, deflate;q=0.9", "deflate"},
        {"*", "gzip"},
        {"*;q=0", ""},
        {"x-gzip", "gzip"},
        {"GZIP ; Q=1", "gzip"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        resp r;
        get(&ts, "/text?n=5000", cases[i].ae, &r);
        assert_int_equal(r.status, 200);
        if (strcmp(r.ce, cases[i].want) != 0)
            fail_msg("Accept-Encoding \"%s\": Content-Encoding \"%s\", want \"%s\"",
                     cases[i].ae ? cases[i].ae : "(none)", r.ce, cases[i].want);
        /* Eligible responses vary on Accept-Encoding, compressed or not. */
        assert_string_equal(r.vary, "Accept-Encoding");
        assert_body_is_text(&r, 5000);
        assert_true(r.has_cl && !r.chunked);
        assert_int_equal(r.cl, em_buf_len(&r.raw));
        if (cases[i].want[0])
            assert_true(r.cl < 5000 / 2);
        resp_free(&r);
    }
    ts_stop(&ts);
}

/* RFC 9110 §12.5.3: "identity;q=0" (or "*;q=0" without identity) refuses
 * the uncoded body; when a coding is acceptable, it is used even where the
 * body is small or does not shrink. */
static void test_identity_refused(void **state) {
    test_server ts;
    start(&ts, &gz);
    struct {
        const char *path, *ae, *want;
    } cases[] = {
        {"/text?n=100", "gzip, identity;q=0", "gzip"},
        {"/text?n=100", "deflate, *;q=0", "deflate"},
        {"/text?n=5", "gzip;q=0.5, identity;q=0", "gzip"}, /* grows: still coded */
        {"/stream?n=10", "gzip, identity;q=0", "gzip"},
        {"/sized?n=10", "gzip, identity;q=0", "gzip"},
        {"/sized?n=10", "gzip, identity;q=0.5", ""},
        {"/text?n=100", "gzip", ""},                   /* identity fine: as it is */
        {"/text?n=100", "identity;q=0", ""},           /* nothing acceptable: as it is */
        {"/text?n=100", "gzip, identity;q=0, *", "gzip"},
        {"/text?n=100", "gzip, *;q=0, identity", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        resp r;
        get(&ts, cases[i].path, cases[i].ae, &r);
        assert_int_equal(r.status, 200);
        if (strcmp(r.ce, cases[i].want) != 0)
            fail_msg("%s \"%s\": Content-Encoding \"%s\", want \"%s\"", cases[i].path,
                     cases[i].ae, r.ce, cases[i].want);
        size_t n = query_n_path(cases[i].path);
        assert_body_is_text(&r, cases[i].path[1] == 't' ? n : 10 * n);
        if (cases[i].want[0])
            assert_string_equal(r.vary, "Accept-Encoding");
        resp_free(&r);
    }
    ts_stop(&ts);
}

/* RFC 9110 §5.3: Accept-Encoding over several field lines is one list. */
static void test_accept_encoding_lines(void **state) {
    test_server ts;
    start(&ts, &gz);
    struct {
        const char *lines, *want;
    } cases[] = {
        {"Accept-Encoding: br\r\nAccept-Encoding: gzip\r\n", "gzip"},
        {"Accept-Encoding: br\r\naccept-encoding: deflate;q=0.5, *;q=0\r\n", "deflate"},
        {"Accept-Encoding: gzip;q=0.1\r\nAccept-Encoding: deflate\r\n", "deflate"},
        {"Accept-Encoding: *\r\nAccept-Encoding: gzip;q=0, deflate;q=0\r\n", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char req[512];
        int n = snprintf(req, sizeof req,
                         "GET /text?n=5000 HTTP/1.1\r\nHost: a\r\n%sConnection: close\r\n\r\n",
                         cases[i].lines);
        resp r;
        request(&ts, req, (size_t)n, &r);
        assert_int_equal(r.status, 200);
        if (strcmp(r.ce, cases[i].want) != 0)
            fail_msg("%s: Content-Encoding \"%s\", want \"%s\"", cases[i].lines, r.ce,
                     cases[i].want);
        assert_string_equal(r.vary, "Accept-Encoding");
        assert_body_is_text(&r, 5000);
        resp_free(&r);
    }
    ts_stop(&ts);
}

static void test_what_is_compressed(void **state) {
    test_server ts;
    start(&ts, &gz);
    struct {
        const char *path;
        int status;
        const char *ce, *vary;
    } cases[] = {
        {"/text?n=1024", 200, "gzip", "Accept-Encoding"}, /* the default min_size */
        {"/text?n=1023", 200, "", ""},
        {"/text?n=0", 200, "", ""},
        {"/json?n=3000", 200, "gzip", "Accept-Encoding"},
        {"/png?n=3000", 200, "", ""},
        {"/none?n=3000", 200, "", ""},
        {"/404?n=3000", 404, "gzip", "Accept-Encoding"},
        {"/204", 204, "", ""},
        {"/304", 304, "", ""},
        {"/encoded", 200, "gzip", ""}, /* the handler's own, untouched */
        /* RFC 9110 §14.4: Content-Range counts the identity bytes */
        {"/206?n=5000", 206, "", ""},
        {"/206s", 206, "", ""},
        {"/vary", 200, "gzip", "Cookie, Accept-Encoding"},
        {"/twice", 200, "gzip", "Accept-Encoding"},
        {"/silent", 500, "", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        resp r;
        get(&ts, cases[i].path, "gzip, deflate", &r);
        if (r.status != cases[i].status || strcmp(r.ce, cases[i].ce) ||
            strcmp(r.vary, cases[i].vary))
            fail_msg("%s: %d \"%s\" \"%s\"; want %d \"%s\" \"%s\"", cases[i].path, r.status, r.ce,
                     r.vary, cases[i].status, cases[i].ce, cases[i].vary);
        if ((cases[i].status == 200 && strcmp(cases[i].path, "/silent")) ||
            cases[i].status == 206)
            assert_body_is_text(&r, query_n_path(cases[i].path));
        if (!strcmp(cases[i].path, "/encoded"))
            assert_int_equal(strstr(r.head, "Content-Encoding") == NULL, 1); /* written lowercase */
        resp_free(&r);
    }
    /* HEAD: the header fields a GET gets (RFC 9110 §9.3.2 SHOULD; a cache
     * needs the Vary), the compressed length among them, and no body. */
    resp g, r;
    get(&ts, "/text?n=5000", "gzip", &g);
    static const char head[] = "HEAD /text?n=5000 HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n"
                               "Connection: close\r\n\r\n";
    request(&ts, head, sizeof head - 1, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ce, "gzip");
    assert_string_equal(r.vary, "Accept-Encoding");
    assert_true(r.has_cl);
    assert_int_equal(r.cl, g.cl);
    assert_true(g.cl < 5000);
    assert_int_equal(em_buf_len(&r.raw), 0);
    resp_free(&g);
    resp_free(&r);
    ts_stop(&ts);
}

static void test_streams(void **state) {
    test_server ts;
    start(&ts, &gz);
    const char *ae[] = {"gzip", "deflate", NULL};
    const char *want[] = {"gzip", "deflate", ""};
    for (int i = 0; i < 3; i++) {
        resp r;
        get(&ts, "/stream?n=1000", ae[i], &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.ce, want[i]);
        assert_true(r.chunked);
        assert_body_is_text(&r, 10000);
        if (ae[i])
            assert_true(em_buf_len(&r.raw) < 10000 / 2);
        resp_free(&r);
        /* A sized stream goes out chunked once compressed. */
        get(&ts, "/sized?n=1000", ae[i], &r);
        assert_string_equal(r.ce, want[i]);
        assert_true(r.chunked == (ae[i] != NULL));
        assert_true(r.has_cl == (ae[i] == NULL));
        assert_body_is_text(&r, 10000);
        resp_free(&r);
    }
    /* A HEAD to a sized stream the handler writes nothing to: the GET's
     * head (RFC 9110 §9.3.2), and the connection goes on. */
    for (int i = 0; i < 2; i++) {
        static ts_in in;
        memset(&in, 0, sizeof in);
        int fd = ts_connect(&ts);
        if (i == 0)
            TS_SEND(fd, "HEAD /headsized HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n"
                        "GET /headsized HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        else
            TS_SEND(fd, "HEAD /headsized HTTP/1.1\r\nHost: a\r\n\r\n"
                        "GET /headsized HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 5000);
        close(fd);
        assert_memory_equal(in.buf, "HTTP/1.1 200 OK\r\n", 17);
        assert_true((strstr(in.buf, "Content-Encoding: gzip\r\n") != NULL) == (i == 0));
        const char *second = strstr(in.buf + 1, "HTTP/1.1 200 OK\r\n");
        assert_non_null(second);
        assert_non_null(strstr(second, "Content-Length: 5000\r\n"));
    }
    /* A sized stream below min_size: as it is. */
    resp r;
    get(&ts, "/sized?n=50", "gzip", &r);
    assert_string_equal(r.ce, "");
    assert_true(r.has_cl);
    assert_body_is_text(&r, 500);
    resp_free(&r);
    /* HTTP/1.0: compressed and delimited by the close. */
    static const char old[] = "GET /stream?n=1000 HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n";
    request(&ts, old, sizeof old - 1, &r);
    assert_string_equal(r.ce, "gzip");
    assert_false(r.chunked || r.has_cl);
    assert_body_is_text(&r, 10000);
    resp_free(&r);
    ts_stop(&ts);
}

/* A sized stream that ends short: compressed or not, the connection
 * closes and the client gets no complete body. */
static void test_stream_short(void **state) {
    test_server ts;
    start(&ts, &gz);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "GET /short HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n");
    ts_pump(&ts, fd, &in, ts_pred_eof, NULL, 5000);
    assert_int_equal(ts_count_responses(&in, EM_HTTP_GET), 0);
    close(fd);
    ts_stop(&ts);
}

static void test_deferred(void **state) {
    test_server ts;
    start(&ts, &gz);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "GET /defer HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n");
    EM_TEST_RUN_UNTIL(&ts.loop, held != NULL, 3000);
    em_http_ctx *cx = held;
    held = NULL;
    assert_int_equal(
        em_http_respond(cx, 200, EM_SLICE_LIT("text/plain"), em_slice_make(text, 8000)), 0);
    ts_wait_responses(&ts, fd, &in, 1);
    assert_non_null(strstr(in.buf, "Content-Encoding: gzip\r\n"));
    assert_non_null(strstr(in.buf, "Vary: Accept-Encoding\r\n"));
    close(fd);
    ts_stop(&ts);
}

/* RFC 9110 §8.8.3: a strong ETag names one representation; the coded one
 * differs byte for byte, so it goes out weak (as nginx does), and the
 * uncoded one keeps the handler's tag. */
static void test_etag(void **state) {
    test_server ts;
    start(&ts, &gz);
    const char *paths[] = {"/etag", "/etags", "/etag?w=1", "/etags?w=1"};
    for (size_t i = 0; i < 4; i++) {
        for (int coded = 0; coded < 2; coded++) {
            resp r;
            get(&ts, paths[i], coded ? "gzip" : NULL, &r);
            assert_int_equal(r.status, 200);
            assert_string_equal(r.ce, coded ? "gzip" : "");
            bool weak = coded || strchr(paths[i], 'w');
            const char *want = weak ? "\r\netag: W/\"v1\"\r\n" : "\r\netag: \"v1\"\r\n";
            if (!strstr(r.head, want))
                fail_msg("%s %s: %s", paths[i], coded ? "gzip" : "identity", r.head);
            assert_body_is_text(&r, 5000);
            resp_free(&r);
        }
    }
    ts_stop(&ts);
}

/* The client goes away in the middle of a compressed stream: on_abort,
 * and nothing leaks (the ASan run checks). */
static void test_abort(void **state) {
    test_server ts;
    start(&ts, &gz);
    static ts_in in;
    memset(&in, 0, sizeof in);
    int fd = ts_connect(&ts);
    TS_SEND(fd, "GET /hold HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n");
    EM_TEST_RUN_UNTIL(&ts.loop, held != NULL, 3000);
    close(fd);
    EM_TEST_RUN_UNTIL(&ts.loop, aborts == 1, 3000);
    /* Without on_abort: the next call says EM_ECLOSED, and ends cx. */
    fd = ts_connect(&ts);
    TS_SEND(fd, "GET /holdraw HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n");
    EM_TEST_RUN_UNTIL(&ts.loop, held != NULL, 3000);
    em_http_ctx *cx = held;
    held = NULL;
    close(fd);
    EM_TEST_RUN_UNTIL(&ts.loop, em_http_server_connections(&ts.srv) == 0, 3000);
    assert_int_equal(
        em_http_stream_start(cx, 200, EM_SLICE_LIT("text/plain"), EM_HTTP_LENGTH_UNKNOWN, NULL),
        EM_ECLOSED);
    ts_stop(&ts);
}

static void post(test_server *ts, const char *ce, em_slice body, resp *r) {
    em_buf req;
    em_buf_init(&req, 0);
    assert_int_equal(em_buf_printf(&req,
                                   "POST /echo HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                                   "%s%s%sContent-Length: %zu\r\n\r\n",
                                   ce ? "Content-Encoding: " : "", ce ? ce : "", ce ? "\r\n" : "",
                                   body.len),
                     0);
    assert_int_equal(em_buf_append(&req, body.ptr, body.len), 0);
    request(ts, em_buf_data(&req), em_buf_len(&req), r);
    em_buf_free(&req);
}

static void test_request_bodies(void **state) {
    test_server ts;
    start(&ts, &gz);
    em_buf z, d, zd;
    em_buf_init(&z, 0);
    em_buf_init(&d, 0);
    em_buf_init(&zd, 0);
    assert_int_equal(em_http_compress(EM_HTTP_CODING_GZIP, 6, em_slice_make(text, 20000), &z), 0);
    ref_deflate(&d, text, 20000, -15, 6); /* raw deflate, as some clients send */
    assert_int_equal(em_http_compress(EM_HTTP_CODING_DEFLATE, 6, em_buf_slice(&z), &zd), 0);
    struct {
        const char *ce;
        em_slice body;
    } ok[] = {{"gzip", em_buf_slice(&z)},         {"x-gzip", em_buf_slice(&z)},
              {"deflate", em_buf_slice(&d)},      {"gzip, deflate", em_buf_slice(&zd)},
              {NULL, em_slice_make(text, 20000)}, {"identity", em_slice_make(text, 20000)},
              /* RFC 9110 §5.3, §8.4: one list over two lines */
              {"gzip\r\nContent-Encoding: deflate", em_buf_slice(&zd)}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        resp r;
        post(&ts, ok[i].ce, ok[i].body, &r);
        assert_int_equal(r.status, 200);
        assert_body_is_text(&r, 20000);
        /* The handler saw no Content-Encoding (identity is dropped too). */
        assert_non_null(strstr(r.head, "X-CE: none\r\n"));
        resp_free(&r);
    }
    /* Unknown coding 415 (with what we accept), corrupt 400, bomb 413. */
    resp r;
    post(&ts, "br", em_buf_slice(&z), &r);
    assert_int_equal(r.status, 415);
    assert_non_null(strstr(r.head, "Accept-Encoding: gzip, deflate\r\n"));
    resp_free(&r);
    post(&ts, "gzip", em_slice_make(text, 3000), &r);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    post(&ts, "gzip", em_slice_make(em_buf_data(&z), em_buf_len(&z) - 5), &r);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    em_buf bomb;
    em_buf_init(&bomb, 0);
    char *zeros = calloc(1, 8 << 20);
    ref_deflate(&bomb, zeros, 8 << 20, 31, 9); /* 8 MiB in ~8 KB; the cap is 1 MiB */
    free(zeros);
    post(&ts, "gzip", em_buf_slice(&bomb), &r);
    assert_int_equal(r.status, 413);
    resp_free(&r);
    em_buf_free(&bomb);
    em_buf_free(&z);
    em_buf_free(&d);
    em_buf_free(&zd);
    ts_stop(&ts);
}

/* Two middlewares in a row compress once; opts NULL means defaults. */
static void test_nested(void **state) {
    test_server ts;
    start(&ts, &gz_outer);
    resp r;
    get(&ts, "/text?n=5000", "gzip", &r);
    assert_string_equal(r.ce, "gzip");
    assert_string_equal(r.vary, "Accept-Encoding");
    assert_body_is_text(&r, 5000);
    resp_free(&r);
    get(&ts, "/stream?n=500", "gzip", &r);
    assert_string_equal(r.ce, "gzip");
    assert_body_is_text(&r, 5000);
    resp_free(&r);
    ts_stop(&ts);
}

/* Custom types and min_size. */
static void test_options(void **state) {
    static const char *const types[] = {"image/", "application/octet-stream", NULL};
    static const em_http_gzip_opts o = {.min_size = 10, .level = 9, .types = types};
    em_http_handler h;
    em_http_gzip(&h, &inner, &o);
    test_server ts;
    start(&ts, &h);
    resp r;
    get(&ts, "/png?n=100", "gzip", &r);
    assert_string_equal(r.ce, "gzip");
    assert_body_is_text(&r, 100);
    resp_free(&r);
    get(&ts, "/text?n=5000", "gzip", &r);
    assert_string_equal(r.ce, "");
    assert_string_equal(r.vary, "");
    resp_free(&r);
    ts_stop(&ts);
}

/* ---- a body read after the handler returned ----------------------------------- */

static em_timer late_timer;
static int late_pieces, late_errs, late_rc;

static void late_piece(em_http_ctx *cx, em_slice piece, int status) {
    if (status < 0)
        late_errs++; /* cx ends when this returns */
    else
        late_pieces++;
}

static void late_read(em_timer *t) {
    late_rc = em_http_body_read(held, late_piece);
}

static void h_read_later(em_http_ctx *cx, const em_http_handler *h) {
    held = cx;
    em_http_defer(cx, NULL);
    em_timer_start(&late_timer, 20, 0);
}

/* The handler defers and calls em_http_body_read from a timer; the client
 * then goes away. The body callback hears it and cx ends, and the
 * middleware's state for the request goes with it (no leak). */
static void test_body_read_later_then_reset(void **state) {
    static const em_http_handler late_inner = {h_read_later, NULL, NULL};
    em_http_handler mw;
    em_http_gzip(&mw, &late_inner, &gz_opts);
    test_server ts;
    em_http_server_opts o = {.handler = &mw, .stream_bodies = true};
    ts_start(&ts, &o);
    em_timer_init(&ts.loop, &late_timer, late_read);
    late_pieces = late_errs = 0;
    late_rc = 1;
    int fd = ts_connect(&ts);
    TS_SEND(fd, "POST /up HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n"
                "Content-Length: 1000\r\n\r\npartial");
    EM_TEST_RUN_UNTIL(&ts.loop, late_pieces == 1, 3000);
    assert_int_equal(late_rc, 0);
    struct linger lg = {1, 0}; /* a reset */
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(fd);
    EM_TEST_RUN_UNTIL(&ts.loop, late_errs == 1, 3000);
    EM_TEST_RUN_UNTIL(&ts.loop, em_http_server_connections(&ts.srv) == 0, 3000);
    ts_stop(&ts);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_accept_encoding, setup),
        cmocka_unit_test_setup(test_accept_encoding_lines, setup),
        cmocka_unit_test_setup(test_identity_refused, setup),
        cmocka_unit_test_setup(test_what_is_compressed, setup),
        cmocka_unit_test_setup(test_streams, setup),
        cmocka_unit_test_setup(test_stream_short, setup),
        cmocka_unit_test_setup(test_etag, setup),
        cmocka_unit_test_setup(test_deferred, setup),
        cmocka_unit_test_setup(test_abort, setup),
        cmocka_unit_test_setup(test_request_bodies, setup),
        cmocka_unit_test_setup(test_nested, setup),
        cmocka_unit_test_setup(test_options, setup),
        cmocka_unit_test_setup(test_body_read_later_then_reset, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

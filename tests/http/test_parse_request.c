/* em_http_parse_request: good requests, every rejection with its error and
 * status, every split and the byte-by-byte feed at every SIMD level,
 * pipelining, limits, and inputs that end right before a PROT_NONE page. */
#include "http_test_util.h"

#define S(x) x, sizeof(x) - 1

/* ---- bad requests: each with its error and the status it maps to ------- */

typedef struct bad_case {
    const char *name;
    const char *req;
    size_t len;
    int err;
    int status;
} bad_case;

#define BAD(n, r, e, st)                                                                           \
    { n, S(r), e, st }
#define H11 "Host: a\r\n"

static const bad_case bad_cases[] = {
    /* framing (RFC 9112 §6) */
    BAD("cl and te",
        "POST / HTTP/1.1\r\n" H11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        EM_ECLTE, 400),
    BAD("te and cl",
        "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        EM_ECLTE, 400),
    BAD("cl plus", "POST / HTTP/1.1\r\n" H11 "Content-Length: +5\r\n\r\n", EM_EBADCL, 400),
    BAD("cl minus", "POST / HTTP/1.1\r\n" H11 "Content-Length: -1\r\n\r\n", EM_EBADCL, 400),
    BAD("cl list differs", "POST / HTTP/1.1\r\n" H11 "Content-Length: 5,6\r\n\r\n", EM_EBADCL, 400),
    BAD("cl lines differ",
        "POST / HTTP/1.1\r\n" H11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", EM_EBADCL, 400),
    BAD("cl empty", "POST / HTTP/1.1\r\n" H11 "Content-Length: \r\n\r\n", EM_EBADCL, 400),
    BAD("cl empty element", "POST / HTTP/1.1\r\n" H11 "Content-Length: 5,,5\r\n\r\n", EM_EBADCL,
        400),
    BAD("cl trailing comma", "POST / HTTP/1.1\r\n" H11 "Content-Length: 5,\r\n\r\n", EM_EBADCL,
        400),
    BAD("cl space inside", "POST / HTTP/1.1\r\n" H11 "Content-Length: 5 5\r\n\r\n", EM_EBADCL, 400),
    BAD("cl hex", "POST / HTTP/1.1\r\n" H11 "Content-Length: 0x5\r\n\r\n", EM_EBADCL, 400),
    BAD("cl overflow", "POST / HTTP/1.1\r\n" H11 "Content-Length: 18446744073709551616\r\n\r\n",
        EM_EBADCL, 400),
    BAD("cl huge", "POST / HTTP/1.1\r\n" H11 "Content-Length: 99999999999999999999999\r\n\r\n",
        EM_EBADCL, 400),
    BAD("cl over body limit", "POST / HTTP/1.1\r\n" H11 "Content-Length: 10485761\r\n\r\n",
        EM_EBODYTOOLARGE, 413),
    BAD("cl max u64", "POST / HTTP/1.1\r\n" H11 "Content-Length: 18446744073709551615\r\n\r\n",
        EM_EBODYTOOLARGE, 413),
    BAD("te not chunked", "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: gzip\r\n\r\n", EM_EBADTE,
        400),
    BAD("te chunked not last", "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked, gzip\r\n\r\n",
        EM_EBADTE, 400),
    BAD("te chunked twice", "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked, chunked\r\n\r\n",
        EM_EBADTE, 400),
    BAD("te chunked twice lines",
        "POST / HTTP/1.1\r\n" H11
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        EM_EBADTE, 400),
    BAD("te unknown", "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: foo\r\n\r\n", EM_ENOTIMPL, 501),
    BAD("te unknown then chunked",
        "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: br, chunked\r\n\r\n", EM_ENOTIMPL, 501),
    BAD("te identity", "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: identity\r\n\r\n", EM_ENOTIMPL,
        501),
    BAD("te empty", "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: \r\n\r\n", EM_EBADTE, 400),
    BAD("te only commas", "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: , ,\r\n\r\n", EM_EBADTE,
        400),
    BAD("te chunked params", "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked;a=b\r\n\r\n",
        EM_EBADTE, 400),
    BAD("te bad param", "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: gzip;a, chunked\r\n\r\n",
        EM_EBADTE, 400),
    BAD("te junk", "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked x\r\n\r\n", EM_EBADTE,
        400),
    BAD("te in http/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", EM_EBADTE, 400),
    /* field syntax (RFC 9112 §5) */
    BAD("obs-fold", "GET / HTTP/1.1\r\n" H11 "X: a\r\n b\r\n\r\n", EM_EOBSFOLD, 400),
    BAD("obs-fold tab", "GET / HTTP/1.1\r\n" H11 "X: a\r\n\tb\r\n\r\n", EM_EOBSFOLD, 400),
    BAD("space before first field", "GET / HTTP/1.1\r\n " H11 "\r\n", EM_EBADHEADER, 400),
    BAD("space before colon", "GET / HTTP/1.1\r\n" H11 "X : a\r\n\r\n", EM_EBADHEADER, 400),
    BAD("tab before colon", "GET / HTTP/1.1\r\n" H11 "X\t: a\r\n\r\n", EM_EBADHEADER, 400),
    BAD("no colon", "GET / HTTP/1.1\r\n" H11 "X a\r\n\r\n", EM_EBADHEADER, 400),
    BAD("empty name", "GET / HTTP/1.1\r\n" H11 ": a\r\n\r\n", EM_EBADHEADER, 400),
    BAD("name with paren", "GET / HTTP/1.1\r\n" H11 "X(y): a\r\n\r\n", EM_EBADHEADER, 400),
    BAD("name with slash", "GET / HTTP/1.1\r\n" H11 "X/y: a\r\n\r\n", EM_EBADHEADER, 400),
    BAD("name with nul", "GET / HTTP/1.1\r\n" H11 "X\0y: a\r\n\r\n", EM_EBADHEADER, 400),
    BAD("name with obs-text", "GET / HTTP/1.1\r\n" H11 "X\xe9: a\r\n\r\n", EM_EBADHEADER, 400),
    BAD("value with nul", "GET / HTTP/1.1\r\n" H11 "X: a\0b\r\n\r\n", EM_EBADHEADER, 400),
    BAD("value with ctl",
        "GET / HTTP/1.1\r\n" H11 "X: a\x01"
        "b\r\n\r\n",
        EM_EBADHEADER, 400),
    BAD("value with esc", "GET / HTTP/1.1\r\n" H11 "X: a\x1b[0m\r\n\r\n", EM_EBADHEADER, 400),
    BAD("value with del", "GET / HTTP/1.1\r\n" H11 "X: a\x7f\r\n\r\n", EM_EBADHEADER, 400),
    BAD("value with bare cr", "GET / HTTP/1.1\r\n" H11 "X: a\rb\r\n\r\n", EM_EBADEOL, 400),
    BAD("value with bare lf", "GET / HTTP/1.1\r\n" H11 "X: a\nb\r\n\r\n", EM_EBADEOL, 400),
    BAD("long value with ctl",
        "GET / HTTP/1.1\r\n" H11 "X: 0123456789012345678901234567890123456789\x02\r\n\r\n",
        EM_EBADHEADER, 400),
    /* line endings: bare LF and bare CR are rejected everywhere */
    BAD("bare lf request line", "GET / HTTP/1.1\n" H11 "\r\n", EM_EBADEOL, 400),
    BAD("bare lf field", "GET / HTTP/1.1\r\nHost: a\n\r\n", EM_EBADEOL, 400),
    BAD("bare lf final", "GET / HTTP/1.1\r\n" H11 "\n", EM_EBADEOL, 400),
    BAD("bare cr final", "GET / HTTP/1.1\r\n" H11 "\rX", EM_EBADEOL, 400),
    BAD("bare cr request line", "GET / HTTP/1.1\rX\n" H11 "\r\n", EM_EBADEOL, 400),
    BAD("bare lf leading", "\nGET / HTTP/1.1\r\n" H11 "\r\n", EM_EBADEOL, 400),
    BAD("bare cr leading", "\rGET / HTTP/1.1\r\n" H11 "\r\n", EM_EBADEOL, 400),
    /* methods */
    BAD("method with at", "G@T / HTTP/1.1\r\n" H11 "\r\n", EM_EBADMETHOD, 400),
    BAD("method with tab", "GET\t/ HTTP/1.1\r\n" H11 "\r\n", EM_EBADMETHOD, 400),
    BAD("method empty", " / HTTP/1.1\r\n" H11 "\r\n", EM_EBADMETHOD, 400),
    BAD("method with nul", "GE\0T / HTTP/1.1\r\n" H11 "\r\n", EM_EBADMETHOD, 400),
    BAD("method with obs-text", "G\xc9T / HTTP/1.1\r\n" H11 "\r\n", EM_EBADMETHOD, 400),
    /* Host (RFC 9112 §3.2) */
    BAD("no host", "GET / HTTP/1.1\r\n\r\n", EM_EBADHOST, 400),
    BAD("no host other fields", "GET / HTTP/1.1\r\nX: y\r\n\r\n", EM_EBADHOST, 400),
    BAD("two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", EM_EBADHOST, 400),
    BAD("two hosts case", "GET / HTTP/1.1\r\nHost: a\r\nhOST: b\r\n\r\n", EM_EBADHOST, 400),
    BAD("host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", EM_EBADHOST, 400),
    BAD("host with at", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", EM_EBADHOST, 400),
    BAD("host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", EM_EBADHOST, 400),
    BAD("host bad port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", EM_EBADHOST, 400),
    BAD("host bad pct", "GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", EM_EBADHOST, 400),
    BAD("host open bracket", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", EM_EBADHOST, 400),
    /* versions (RFC 9112 §2.6) */
    BAD("http/2.0", "GET / HTTP/2.0\r\n" H11 "\r\n", EM_EBADVERSION, 505),
    BAD("http/0.9", "GET / HTTP/0.9\r\n" H11 "\r\n", EM_EBADVERSION, 505),
    BAD("http/1.2 without host", "GET / HTTP/1.2\r\n\r\n", EM_EBADHOST, 400),
    BAD("http/3.0", "GET / HTTP/3.0\r\n" H11 "\r\n", EM_EBADVERSION, 505),
    BAD("lower-case http", "GET / http/1.1\r\n" H11 "\r\n", EM_EPARSE, 400),
    BAD("version 1.10", "GET / HTTP/1.10\r\n" H11 "\r\n", EM_EPARSE, 400),
    BAD("version 11", "GET / HTTP/11\r\n" H11 "\r\n", EM_EPARSE, 400),
    BAD("version missing", "GET /\r\n" H11 "\r\n", EM_EPARSE, 400),
    BAD("version trailing space", "GET / HTTP/1.1 \r\n" H11 "\r\n", EM_EPARSE, 400),
    BAD("version junk", "GET / HTTPS/1.1\r\n" H11 "\r\n", EM_EPARSE, 400),
    /* request targets (RFC 9112 §3.2) */
    BAD("relative target", "GET foo HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("asterisk for get", "GET * HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("empty target", "GET  HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("two spaces", "GET  / HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("fragment", "GET /a#b HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("ctl in target", "GET /a\x01 HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("nul in target", "GET /a\0b HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("tab in target", "GET /a\tb HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("del in target", "GET /a\x7f HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("obs-text in target", "GET /caf\xc3\xa9 HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("connect origin form", "CONNECT /x HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("connect no port", "CONNECT a.com HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("connect empty port", "CONNECT a.com: HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("connect no host", "CONNECT :443 HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("connect userinfo", "CONNECT u@a.com:443 HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("connect absolute", "CONNECT http://a:1/ HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("bad scheme", "GET 1http://a/ HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    /* absolute-form is an http(s) URI with a host and no userinfo (RFC 9110
     * §4.2.1, §4.2.4) */
    BAD("absolute empty host", "GET http:///x HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("absolute empty host, query", "GET http://?x HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET,
        400),
    BAD("absolute userinfo", "GET http://u@a/x HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("absolute no slashes", "GET http:a/x HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("absolute other scheme", "GET ftp://a/x HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("absolute bad port", "GET http://a:8x/ HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("scheme without colon", "GET http HTTP/1.1\r\n" H11 "\r\n", EM_EBADTARGET, 400),
    BAD("long target with ctl",
        "GET /0123456789012345678901234567890123456789012345678901234567890123\x05 HTTP/1.1\r\n" H11
        "\r\n",
        EM_EBADTARGET, 400),
};

static void test_bad_requests(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        textbuf *t = malloc(sizeof *t);
        assert_non_null(t);
        ssize_t rc = request_whole(c->req, c->len, NULL, t);
        if (rc != c->err)
            fail_msg("%s: got %zd, want %d (%s)", c->name, rc, c->err, em_strerror(c->err));
        assert_int_equal(em_http_status_for_error(c->err), c->status);
        free(t);
        /* The same verdict from every split, byte by byte, at every level. */
        assert_int_equal(request_check_splits(c->req, c->len, NULL), c->err);
    }
}

/* ---- good requests ------------------------------------------------------ */

typedef struct good_case {
    const char *name;
    const char *req;
    size_t len;
    em_http_method mid;
    const char *target;
    em_http_target_form form;
    em_http_body body;
    uint64_t cl;
    unsigned flags; /* exact */
    int minor;
    size_t nhdr;
} good_case;

#define KA EM_HTTP_F_KEEP_ALIVE
#define HO EM_HTTP_F_HOST
#define GOOD(n, r, mid, tgt, form, body, cl, flags, minor, nh)                                     \
    { n, S(r), mid, tgt, form, body, cl, flags, minor, nh }

static const good_case good_cases[] = {
    GOOD("simple", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", EM_HTTP_GET, "/", EM_HTTP_TARGET_ORIGIN,
         EM_HTTP_BODY_NONE, 0, HO | KA, 1, 1),
    /* RFC 9110 §2.5: a higher minor version is read as 1.1, Host rule and all */
    GOOD("http/1.2 as 1.1", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", EM_HTTP_GET, "/",
         EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_NONE, 0, HO | KA, 1, 1),
    GOOD("http/1.9 as 1.1", "GET / HTTP/1.9\r\nHost: a\r\n\r\n", EM_HTTP_GET, "/",
         EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_NONE, 0, HO | KA, 1, 1),
    GOOD("http/1.0 no host", "GET /x?y=1 HTTP/1.0\r\n\r\n", EM_HTTP_GET, "/x?y=1",
         EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_NONE, 0, 0, 0, 0),
    GOOD("http/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", EM_HTTP_GET,
         "/", EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_NONE, 0, EM_HTTP_F_CONN_KEEP_ALIVE | KA, 0, 1),
    GOOD("close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", EM_HTTP_GET, "/",
         EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_NONE, 0, HO | EM_HTTP_F_CONN_CLOSE, 1, 2),
    GOOD("connection list", "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, Upgrade ,close\r\n\r\n",
         EM_HTTP_GET, "/", EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_NONE, 0,
         HO | EM_HTTP_F_CONN_CLOSE | EM_HTTP_F_CONN_UPGRADE, 1, 2),
    GOOD("upgrade",
         "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
         EM_HTTP_GET, "/ws", EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_NONE, 0,
         HO | KA | EM_HTTP_F_UPGRADE | EM_HTTP_F_CONN_UPGRADE, 1, 3),
    GOOD("content-length", "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
         EM_HTTP_POST, "/p", EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_LENGTH, 5,
         HO | KA | EM_HTTP_F_CONTENT_LENGTH, 1, 2),
    GOOD("content-length list equal", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
         EM_HTTP_POST, "/", EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_LENGTH, 5,
         HO | KA | EM_HTTP_F_CONTENT_LENGTH, 1, 2),
    GOOD("content-length lines equal",
         "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\ncontent-length:007\r\n\r\n",
         EM_HTTP_POST, "/", EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_LENGTH, 7,
         HO | KA | EM_HTTP_F_CONTENT_LENGTH, 1, 3),
    GOOD("content-length zero", "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
         EM_HTTP_PUT, "/", EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_NONE, 0,
         HO | KA | EM_HTTP_F_CONTENT_LENGTH, 1, 2),
    GOOD("content-length at limit", "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 10485760\r\n\r\n",
         EM_HTTP_PUT, "/", EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_LENGTH, 10485760,
         HO | KA | EM_HTTP_F_CONTENT_LENGTH, 1, 2),
    GOOD("chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
         EM_HTTP_POST, "/", EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_CHUNKED, 0,
         HO | KA | EM_HTTP_F_TRANSFER_ENCODING | EM_HTTP_F_CHUNKED, 1, 2),
    GOOD("gzip then chunked",
         "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n", EM_HTTP_POST,
         "/", EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_CHUNKED, 0,
         HO | KA | EM_HTTP_F_TRANSFER_ENCODING | EM_HTTP_F_CHUNKED | EM_HTTP_F_TE_CODED, 1, 2),
    GOOD("codings over lines",
         "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: deflate;q=\"x\\\"y\"\r\n"
         "Transfer-Encoding: ,chunked\r\n\r\n",
         EM_HTTP_POST, "/", EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_CHUNKED, 0,
         HO | KA | EM_HTTP_F_TRANSFER_ENCODING | EM_HTTP_F_CHUNKED | EM_HTTP_F_TE_CODED, 1, 3),
    GOOD("expect",
         "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n",
         EM_HTTP_PUT, "/f", EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_LENGTH, 3,
         HO | KA | EM_HTTP_F_CONTENT_LENGTH | EM_HTTP_F_EXPECT_CONTINUE, 1, 3),
    GOOD("expect other", "GET / HTTP/1.1\r\nHost: a\r\nExpect: foo\r\n\r\n", EM_HTTP_GET, "/",
         EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_NONE, 0, HO | KA | EM_HTTP_F_EXPECT_OTHER, 1, 2),
    /* RFC 9110 §10.1.1: Expect is a list; §5.6.1.2: empty elements go. */
    GOOD("expect list empty elements",
         "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: , 100-continue,\r\nContent-Length: 3\r\n\r\n",
         EM_HTTP_PUT, "/f", EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_LENGTH, 3,
         HO | KA | EM_HTTP_F_CONTENT_LENGTH | EM_HTTP_F_EXPECT_CONTINUE, 1, 3),
    GOOD("expect list other", "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, foo\r\n\r\n",
         EM_HTTP_GET, "/", EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_NONE, 0,
         HO | KA | EM_HTTP_F_EXPECT_CONTINUE | EM_HTTP_F_EXPECT_OTHER, 1, 2),
    GOOD("expect ignored in 1.0", "GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", EM_HTTP_GET,
         "/", EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_NONE, 0, 0, 0, 1),
    GOOD("options asterisk", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", EM_HTTP_OPTIONS, "*",
         EM_HTTP_TARGET_ASTERISK, EM_HTTP_BODY_NONE, 0, HO | KA, 1, 1),
    GOOD("connect", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
         EM_HTTP_CONNECT, "example.com:443", EM_HTTP_TARGET_AUTHORITY, EM_HTTP_BODY_NONE, 0,
         HO | KA, 1, 1),
    GOOD("connect ipv6", "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n", EM_HTTP_CONNECT,
         "[::1]:8443", EM_HTTP_TARGET_AUTHORITY, EM_HTTP_BODY_NONE, 0, HO | KA, 1, 1),
    GOOD("absolute form", "GET http://a.example/x?q HTTP/1.1\r\nHost: a.example\r\n\r\n",
         EM_HTTP_GET, "http://a.example/x?q", EM_HTTP_TARGET_ABSOLUTE, EM_HTTP_BODY_NONE, 0,
         HO | KA, 1, 1),
    GOOD("other method", "PROPFIND /d HTTP/1.1\r\nHost: a\r\n\r\n", EM_HTTP_METHOD_OTHER, "/d",
         EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_NONE, 0, HO | KA, 1, 1),
    GOOD("leading empty lines", "\r\n\r\nDELETE /r HTTP/1.1\r\nHost: a\r\n\r\n", EM_HTTP_DELETE,
         "/r", EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_NONE, 0, HO | KA, 1, 1),
    GOOD("ows and empty values",
         "GET / HTTP/1.1\r\nHost:a\r\nX-A:\r\nX-B: \t \r\nX-C:\t v  w \t\r\n\r\n", EM_HTTP_GET, "/",
         EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_NONE, 0, HO | KA, 1, 4),
    GOOD("obs-text and tab in value", "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\tb\xff\r\n\r\n",
         EM_HTTP_GET, "/", EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_NONE, 0, HO | KA, 1, 2),
    GOOD("tchar names", "GET / HTTP/1.1\r\nHost: a\r\n!#$%&'*+-.^_`|~09azAZ: x\r\n\r\n",
         EM_HTTP_GET, "/", EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_NONE, 0, HO | KA, 1, 2),
    GOOD("empty host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", EM_HTTP_GET, "/", EM_HTTP_TARGET_ORIGIN,
         EM_HTTP_BODY_NONE, 0, HO | KA, 1, 1),
    GOOD("host port pct", "GET / HTTP/1.1\r\nHost: ex%41mple.com:8080\r\n\r\n", EM_HTTP_GET, "/",
         EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_NONE, 0, HO | KA, 1, 1),
    GOOD("target punctuation", "GET /a/b;c=d?e=f&g=%20h!$'()*+,:@~ HTTP/1.1\r\nHost: a\r\n\r\n",
         EM_HTTP_GET, "/a/b;c=d?e=f&g=%20h!$'()*+,:@~", EM_HTTP_TARGET_ORIGIN, EM_HTTP_BODY_NONE, 0,
         HO | KA, 1, 1),
};

static void check_good(const good_case *c) {
    em_http_header h[TEST_MAX_HEADERS];
    em_http_request r = {.headers = h, .max_headers = TEST_MAX_HEADERS};
    em_http_parser p = {0};
    guarded g;
    char *b = guard_copy(&g, c->req, c->len);
    ssize_t rc = em_http_parse_request(&p, b, c->len, &r);
    if (rc < 0)
        fail_msg("%s: error %zd", c->name, rc);
    /* The head ends at the first empty line after the leading ones. */
    const char *start = c->req;
    while (start[0] == '\r' && start[1] == '\n')
        start += 2;
    const char *eoh = strstr(start, "\r\n\r\n");
    assert_non_null(eoh);
    assert_int_equal((size_t)rc, (size_t)(eoh - c->req) + 4);
    assert_int_equal(r.method_id, c->mid);
    assert_int_equal(r.target.len, strlen(c->target));
    assert_memory_equal(r.target.ptr, c->target, r.target.len);
    assert_int_equal(r.target_form, c->form);
    assert_int_equal(r.body, c->body);
    assert_int_equal(r.content_length, c->cl);
    if (r.flags != c->flags)
        fail_msg("%s: flags %#x, want %#x", c->name, r.flags, c->flags);
    assert_int_equal(r.version_minor, c->minor);
    assert_int_equal(r.num_headers, c->nhdr);
    guard_free(&g);
    request_check_splits(c->req, c->len, NULL);
}

/* RFC 9112 §3.2.2: with an absolute-form target the server ignores Host and
 * takes the target's authority. */
static void test_absolute_form_host(void **state) {
    (void)state;
    static const char in[] = "GET https://b.example:8443?q=/x HTTP/1.1\r\nHost: a\r\n\r\n";
    em_http_header h[4];
    em_http_request r = {.headers = h, .max_headers = 4};
    em_http_parser p = {0};
    assert_int_equal(em_http_parse_request(&p, in, sizeof in - 1, &r), (ssize_t)sizeof in - 1);
    assert_int_equal(r.target_form, EM_HTTP_TARGET_ABSOLUTE);
    assert_true(em_slice_eq(r.host, em_slice_from_cstr("b.example:8443")));
}

static void test_good_requests(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof good_cases / sizeof good_cases[0]; i++)
        check_good(&good_cases[i]);
}

static void test_fields_and_slices(void **state) {
    (void)state;
    static const char req[] = "GET /x HTTP/1.1\r\nHost: www.example.com\r\nX-Empty:\r\n"
                              "Content-Length: 3\r\nConnection:  keep-alive  \r\n"
                              "transfer-ENCODING-x: y\r\nUPGRADE: h2c\r\n\r\nabc";
    em_http_header h[8];
    em_http_request r = {.headers = h, .max_headers = 8};
    em_http_parser p = {0};
    ssize_t rc = em_http_parse_request(&p, req, sizeof req - 1, &r);
    assert_int_equal(rc, sizeof req - 1 - 3);
    assert_int_equal(r.num_headers, 6);
    assert_int_equal(h[0].id, EM_HTTP_HDR_HOST);
    assert_int_equal(h[1].id, EM_HTTP_HDR_OTHER);
    assert_int_equal(h[1].value.len, 0);
    assert_int_equal(h[2].id, EM_HTTP_HDR_CONTENT_LENGTH);
    assert_int_equal(h[3].id, EM_HTTP_HDR_CONNECTION);
    assert_int_equal(h[3].value.len, 10);
    assert_memory_equal(h[3].value.ptr, "keep-alive", 10);
    assert_int_equal(h[4].id, EM_HTTP_HDR_OTHER);
    assert_int_equal(h[5].id, EM_HTTP_HDR_UPGRADE);
    assert_int_equal(r.host.len, 15);
    assert_ptr_equal(r.host.ptr, req + 23);
    assert_ptr_equal(r.method.ptr, req);
    assert_ptr_equal(h[0].name.ptr, req + 17);
}

/* ---- pipelining --------------------------------------------------------- */

static void test_pipelined(void **state) {
    (void)state;
    static const char reqs[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
                               "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody"
                               "\r\nHEAD /c HTTP/1.0\r\n\r\n"
                               "GET /d HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
                               "GET /e HTTP/1.1\r\nHo";
    static const char *const targets[] = {"/a", "/b", "/c", "/d"};
    guarded g;
    size_t n = sizeof reqs - 1, off = 0;
    char *b = guard_copy(&g, reqs, n);
    em_http_header h[8];
    em_http_request r = {.headers = h, .max_headers = 8};
    em_http_parser p = {0};
    for (int i = 0; i < 4; i++) {
        ssize_t rc = em_http_parse_request(&p, b + off, n - off, &r);
        assert_true(rc > 0);
        assert_int_equal(r.target.len, 2);
        assert_memory_equal(r.target.ptr, targets[i], 2);
        off += (size_t)rc;
        if (r.body == EM_HTTP_BODY_LENGTH)
            off += r.content_length;
    }
    /* The last one is incomplete; then it completes in a larger buffer. */
    assert_int_equal(em_http_parse_request(&p, b + off, n - off, &r), EM_EAGAIN);
    char more[64];
    size_t k = n - off;
    memcpy(more, b + off, k);
    memcpy(more + k, "st: h\r\n\r\n", 9);
    assert_int_equal(em_http_parse_request(&p, more, k + 9, &r), (ssize_t)(k + 9));
    assert_memory_equal(r.target.ptr, "/e", 2);
    assert_ptr_equal(r.target.ptr, more + 4);
    assert_ptr_equal(r.host.ptr, more + k + 4);
    guard_free(&g);
}

/* ---- limits -------------------------------------------------------------- */

static char *repeat(char *dst, char c, size_t n) {
    memset(dst, c, n);
    return dst + n;
}

static void test_limits(void **state) {
    (void)state;
    size_t cap = 40000;
    char *req = malloc(cap), *e;
    textbuf *t = malloc(sizeof *t);
    assert_non_null(req);
    assert_non_null(t);

    /* Request line: 8192 bytes with its CRLF fit, 8193 do not. */
    for (size_t line = 8190; line <= 8194; line++) {
        e = req;
        memcpy(e, "GET /", 5);
        e = repeat(e + 5, 'a', line - 5 - 11);
        memcpy(e, " HTTP/1.1\r\nHost: a\r\n\r\n", 22);
        size_t n = (size_t)(e + 22 - req);
        ssize_t rc = request_whole(req, n, NULL, t);
        assert_int_equal(rc, line <= 8192 ? (ssize_t)n : EM_EURITOOLONG);
        /* Split: the verdict arrives as soon as the limit is crossed. */
        if (line > 8192)
            assert_int_equal(request_split(req, 8192, 8100, NULL, t), EM_EURITOOLONG);
        else
            assert_int_equal(request_split(req, 8192, 8100, NULL, t), EM_EAGAIN);
    }
    assert_int_equal(em_http_status_for_error(EM_EURITOOLONG), 414);

    /* Header block: 8192 bytes including the final CRLF. */
    for (size_t block = 8190; block <= 8194; block++) {
        e = req;
        memcpy(e, "GET / HTTP/1.1\r\nHost: a\r\nX: ", 28);
        size_t used = 28 - 16; /* "Host: a\r\nX: " */
        e = repeat(e + 28, 'v', block - used - 4);
        memcpy(e, "\r\n\r\n", 4);
        size_t n = (size_t)(e + 4 - req);
        ssize_t rc = request_whole(req, n, NULL, t);
        assert_int_equal(rc, block <= 8192 ? (ssize_t)n : EM_EHDRTOOLARGE);
    }
    assert_int_equal(em_http_status_for_error(EM_EHDRTOOLARGE), 431);

    /* Field count: 100 fit, 101 do not. */
    for (int count = 99; count <= 101; count++) {
        e = req;
        memcpy(e, "GET / HTTP/1.1\r\nHost: a\r\n", 25);
        e += 25;
        for (int i = 1; i < count; i++)
            e += sprintf(e, "X%d: y\r\n", i);
        memcpy(e, "\r\n", 2);
        size_t n = (size_t)(e + 2 - req);
        ssize_t rc = request_whole(req, n, NULL, t);
        assert_int_equal(rc, count <= 100 ? (ssize_t)n : EM_ETOOMANYHDRS);
    }
    assert_int_equal(em_http_status_for_error(EM_ETOOMANYHDRS), 431);

    /* Custom limits, and the caller's array capacity as a limit. */
    em_http_limits lim = {
        .max_start_line = 32, .max_header_bytes = 64, .max_headers = 2, .max_body = 100};
    static const char ok[] = "GET /0123456789 HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n";
    assert_int_equal(request_check_splits(S(ok), &lim), sizeof ok - 1);
    static const char longline[] = "GET /01234567890123456789 HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_int_equal(request_check_splits(S(longline), &lim), EM_EURITOOLONG);
    static const char three[] = "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\nZ: w\r\n\r\n";
    assert_int_equal(request_check_splits(S(three), &lim), EM_ETOOMANYHDRS);
    static const char big[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n";
    assert_int_equal(request_check_splits(S(big), &lim), EM_EBODYTOOLARGE);
    static const char fits[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n";
    assert_int_equal(request_check_splits(S(fits), &lim), sizeof fits - 1);
    static const char wide[] = "GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789012345678901234567890123"
                               "456789012345678901234567890\r\n\r\n";
    assert_int_equal(request_check_splits(S(wide), &lim), EM_EHDRTOOLARGE);

    em_http_header h[1];
    em_http_request r = {.headers = h, .max_headers = 1};
    em_http_parser p = {0};
    assert_int_equal(em_http_parse_request(&p, S(three), &r), EM_ETOOMANYHDRS);
    assert_int_equal(em_http_parse_request(&p, S("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), &r), 27);

    /* An endless stream of empty lines is bounded by the request line. */
    memset(req, '\r', 9000);
    for (size_t i = 1; i < 9000; i += 2)
        req[i] = '\n';
    assert_int_equal(request_whole(req, 9000, NULL, t), EM_EURITOOLONG);
    free(req);
    free(t);
}

/* ---- guard pages and buffer moves ------------------------------------------- */

/* Every prefix of requests that end in long runs of each token class,
 * placed before a PROT_NONE page, at every level: no read past the end. */
static void test_guard_page(void **state) {
    (void)state;
    char req[600];
    int lv[3], nl = test_levels(lv);
    for (int variant = 0; variant < 3; variant++) {
        char *e = req;
        e += sprintf(e, "GET /");
        if (variant == 0)
            e = repeat(e, 't', 200);
        e += sprintf(e, " HTTP/1.1\r\nHost: a\r\n");
        if (variant == 1)
            e = repeat(e, 'N', 200);
        e += sprintf(e, "X: ");
        if (variant == 2)
            e = repeat(e, 'v', 200);
        e += sprintf(e, "\r\n\r\n");
        size_t n = (size_t)(e - req);
        for (int l = 0; l < nl; l++) {
            assert_int_equal(em__http_simd_force(lv[l]), 0);
            for (size_t k = 0; k <= n; k++) {
                guarded g;
                char *b = guard_copy(&g, req, k);
                em_http_header h[8];
                em_http_request r = {.headers = h, .max_headers = 8};
                em_http_parser p = {0};
                ssize_t rc = em_http_parse_request(&p, b, k, &r);
                assert_int_equal(rc, k == n ? (ssize_t)n : EM_EAGAIN);
                guard_free(&g);
            }
        }
    }
    em__http_simd_force(em__http_simd_default());
}

static void test_stable_buffer_growing(void **state) {
    (void)state;
    /* The usual server loop: one buffer, more bytes each call. */
    static const char req[] = "PATCH /item/7 HTTP/1.1\r\nHost: api\r\nContent-Type: text/plain\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n";
    char buf[sizeof req];
    em_http_header h[8];
    em_http_request r = {.headers = h, .max_headers = 8};
    em_http_parser p = {0};
    ssize_t rc = EM_EAGAIN;
    size_t k;
    for (k = 0; k < sizeof req - 1 && rc == EM_EAGAIN; k++) {
        buf[k] = req[k];
        rc = em_http_parse_request(&p, buf, k + 1, &r);
    }
    assert_int_equal(rc, sizeof req - 1);
    assert_int_equal(k, sizeof req - 1);
    assert_int_equal(r.method_id, EM_HTTP_PATCH);
    assert_int_equal(r.body, EM_HTTP_BODY_CHUNKED);
    assert_ptr_equal(r.host.ptr, buf + 30);
    assert_ptr_equal(h[1].value.ptr, buf + 49);
}

static void test_parser_init(void **state) {
    (void)state;
    em_http_limits lim = {.max_headers = 1};
    em_http_parser p;
    memset(&p, 0xab, sizeof p);
    em_http_parser_init(&p, &lim);
    assert_ptr_equal(p.limits, &lim);
    em_http_header h[4];
    em_http_request r = {.headers = h, .max_headers = 4};
    assert_int_equal(em_http_parse_request(&p, S("GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n"), &r),
                     EM_ETOOMANYHDRS);
    /* After an error the parser is ready for a new message, limits kept. */
    assert_ptr_equal(p.limits, &lim);
    assert_int_equal(em_http_parse_request(&p, S("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), &r), 27);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_good_requests),
        cmocka_unit_test(test_absolute_form_host),
        cmocka_unit_test(test_fields_and_slices),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_guard_page),
        cmocka_unit_test(test_stable_buffer_growing),
        cmocka_unit_test(test_parser_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

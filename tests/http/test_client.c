/* The HTTP client on the loop (http/client*.c) against a scripted server:
 * what it sends, how it frames responses, pooling and reuse, retries,
 * timeouts, redirects and credentials, cancel and pause. */
#include <sys/socket.h>
#include <unistd.h>

#include "client_test_util.h"

#define STARTS(s, lit) (!strncmp((s), lit, sizeof(lit) - 1))
#define OK_HELLO "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
#define OK_GOOD "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood"

static void test_get_and_request_bytes(void **state) {
    (void)state;
    static const char *const script[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Test: yes\r\n\r\nhello"};
    fixture f;
    fixture_setup(&f, script, 1, NULL);
    rec r = {.want_hdr = "x-test"};
    em_http_header h[] = {{EM_SLICE_LIT("Accept"), EM_SLICE_LIT("text/plain"), 0}};
    fixture_run(&f, &r, &(em_http_req){.url = raw_url(&f.rs, "/a/../b?q=1 2#frag"), .headers = h,
                               .num_headers = 1});
    assert_int_equal(r.err, 0);
    assert_int_equal(r.heads, 1);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.hdr, "yes");
    assert_int_equal(r.body_len, 5);
    assert_memory_equal(r.body, "hello", 5);
    /* the target without the fragment, dot-segments gone, space escaped */
    assert_true(STARTS(f.rs.last, "GET /b?q=1%202 HTTP/1.1\r\n"));
    char host[64];
    snprintf(host, sizeof host, "\r\nHost: 127.0.0.1:%u\r\n",
             (unsigned)em_sockaddr_port(&f.rs.addr));
    assert_non_null(strstr(f.rs.last, host));
    assert_non_null(strstr(f.rs.last, "\r\nAccept: text/plain\r\n"));
    assert_non_null(strstr(f.rs.last, "\r\nUser-Agent: ember/"));
    assert_null(strstr(f.rs.last, "Content-Length")); /* a GET has none */
    fixture_teardown(&f, NULL);
}

static void test_post_body_and_credentials(void **state) {
    (void)state;
    static const char *const script[] = {OK_HELLO, OK_HELLO};
    fixture f;
    fixture_setup(&f, script, 2, NULL);
    rec r = {0};
    fixture_run(&f, &r, &(em_http_req){.url = raw_url(&f.rs, "/p"), .body = EM_SLICE_LIT("a=1&b=2"),
                               .content_type = "application/x-www-form-urlencoded",
                               .user = "Aladdin", .password = "open sesame"});
    assert_int_equal(r.err, 0);
    assert_true(STARTS(f.rs.last, "POST /p HTTP/1.1\r\n"));
    assert_non_null(strstr(f.rs.last, "\r\nContent-Length: 7\r\n"));
    assert_non_null(strstr(f.rs.last, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
    /* RFC 7617's own example */
    assert_non_null(strstr(f.rs.last, "\r\nAuthorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"));
    assert_non_null(strstr(f.rs.last, "\r\n\r\na=1&b=2"));
    /* userinfo in the URL is Basic too */
    char url[128];
    snprintf(url, sizeof url, "http://u%%40x:p%%3Aw@127.0.0.1:%u/",
             (unsigned)em_sockaddr_port(&f.rs.addr));
    rec r2 = {0};
    fixture_run(&f, &r2, &(em_http_req){.url = url});
    assert_int_equal(r2.err, 0);
    assert_non_null(strstr(f.rs.last, "\r\nAuthorization: Basic dUB4OnA6dw==\r\n")); /* u@x:p:w */
    assert_null(strstr(r2.url, "u%40x")); /* the call's URL never shows credentials */
    fixture_teardown(&f, NULL);
}

static void test_bad_requests_refused(void **state) {
    (void)state;
    fixture f;
    fixture_setup(&f, NULL, 0, NULL);
    em_http_call *c = NULL;
    em_http_header crlf[] = {{EM_SLICE_LIT("X-A"), EM_SLICE_LIT("1\r\nX-Injected: 1"), 0}};
    em_http_header framing[] = {{EM_SLICE_LIT("Content-Length"), EM_SLICE_LIT("5"), 0}};
    /* a Host of the caller's must be uri-host [":" port] (or empty: none),
     * and only one */
    em_http_header host[] = {{EM_SLICE_LIT("host"), EM_SLICE_LIT("a b"), 0}};
    em_http_header hosts[] = {{EM_SLICE_LIT("Host"), EM_SLICE_LIT(" "), 0},
                              {EM_SLICE_LIT("Host"), EM_SLICE_LIT("a/b"), 0},
                              {EM_SLICE_LIT("Host"), EM_SLICE_LIT("u@a"), 0},
                              {EM_SLICE_LIT("Host"), EM_SLICE_LIT("a:8x"), 0}};
    em_http_header two[] = {{EM_SLICE_LIT("Host"), EM_SLICE_LIT("a"), 0},
                            {EM_SLICE_LIT("host"), EM_SLICE_LIT(""), 0}};
    const char *url = raw_url(&f.rs, "/");
    assert_int_equal(em_http_client_do(f.cl, &(em_http_req){.url = url, .headers = crlf,
                                                             .num_headers = 1},
                                       &rec_cbs, NULL, &c),
                     EM_EINVAL);
    assert_int_equal(em_http_client_do(f.cl, &(em_http_req){.url = url, .headers = framing,
                                                             .num_headers = 1},
                                       &rec_cbs, NULL, &c),
                     EM_EINVAL);
    assert_int_equal(em_http_client_do(f.cl, &(em_http_req){.url = url, .headers = host,
                                                             .num_headers = 1},
                                       &rec_cbs, NULL, &c),
                     EM_EINVAL);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(em_http_client_do(f.cl, &(em_http_req){.url = url, .headers = hosts + i,
                                                                 .num_headers = 1},
                                           &rec_cbs, NULL, &c),
                         EM_EINVAL);
    assert_int_equal(em_http_client_do(f.cl, &(em_http_req){.url = url, .headers = two,
                                                             .num_headers = 2},
                                       &rec_cbs, NULL, &c),
                     EM_EINVAL);
    assert_int_equal(em_http_client_do(f.cl, &(em_http_req){.url = url, .method = "GE T"},
                                       &rec_cbs, NULL, &c),
                     EM_EINVAL);
    assert_int_equal(em_http_client_do(f.cl, &(em_http_req){.url = "ftp://x/"}, &rec_cbs, NULL, &c),
                     EM_EINVAL);
    assert_int_equal(em_http_client_do(f.cl, &(em_http_req){.url = "ws://127.0.0.1/"}, &rec_cbs,
                                       NULL, &c),
                     EM_ENOTSUP);
    assert_int_equal(em_http_client_do(f.cl, &(em_http_req){.url = "http://a b/"}, &rec_cbs, NULL,
                                       &c),
                     EM_EINVAL);
    assert_int_equal(f.rs.accepted, 0);
    fixture_teardown(&f, NULL);
}

static void test_framings(void **state) {
    (void)state;
    static const char *const script[] = {
        /* chunked with an extension and a trailer */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n",
        /* interim responses are skipped */
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n"
        "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
        /* HEAD: a Content-Length but no body */
        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
        /* 204: no body */
        "HTTP/1.1 204 No Content\r\n\r\n",
        /* until close, from an HTTP/1.0 server */
        "HTTP/1.0 200 OK\r\n\r\nall of it",
    };
    fixture f;
    fixture_setup(&f, script, 5, NULL);
    rec r1 = {0}, r2 = {0}, r3 = {0}, r4 = {0}, r5 = {0};
    fixture_run(&f, &r1, &(em_http_req){.url = raw_url(&f.rs, "/")});
    assert_int_equal(r1.err, 0);
    assert_int_equal(r1.body_len, 5);
    assert_memory_equal(r1.body, "abcde", 5);
    fixture_run(&f, &r2, &(em_http_req){.url = raw_url(&f.rs, "/")});
    assert_int_equal(r2.err, 0);
    assert_int_equal(r2.heads, 1);
    assert_int_equal(r2.status, 201);
    fixture_run(&f, &r3, &(em_http_req){.url = raw_url(&f.rs, "/"), .method = "HEAD"});
    assert_int_equal(r3.err, 0);
    assert_int_equal(r3.body_len, 0);
    fixture_run(&f, &r4, &(em_http_req){.url = raw_url(&f.rs, "/")});
    assert_int_equal(r4.err, 0);
    assert_int_equal(r4.status, 204);
    /* four answers so far on one kept-alive connection */
    assert_int_equal(f.rs.accepted, 1);
    f.rs.close_after_each = true; /* the close ends the body */
    fixture_run(&f, &r5, &(em_http_req){.url = raw_url(&f.rs, "/")});
    assert_int_equal(r5.err, 0);
    assert_int_equal(r5.body_len, 9);
    assert_memory_equal(r5.body, "all of it", 9);
    fixture_teardown(&f, NULL);
}

/* RFC 9112 §6.1: a server may send Transfer-Encoding in a response to
 * HEAD and in a 304 to say what it would have applied; §6.3 rule 1: such
 * a response, and a 204, ends at the empty line whatever its fields say.
 * A coding ember cannot undo is no reason to refuse a body that is not
 * there, nor to drop the connection. */
static void test_transfer_coding_without_body(void **state) {
    (void)state;
    static const char *const script[] = {
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        OK_GOOD,
    };
    const char *methods[] = {"HEAD", "GET", "GET", "GET"};
    int want[] = {200, 304, 204, 200};
    fixture f;
    fixture_setup(&f, script, 4, NULL);
    for (int i = 0; i < 4; i++) {
        rec r = {0};
        fixture_run(&f, &r, &(em_http_req){.url = raw_url(&f.rs, "/"), .method = methods[i]});
        assert_int_equal(r.err, 0);
        assert_int_equal(r.status, want[i]);
        assert_int_equal(r.body_len, i == 3 ? 4 : 0);
    }
    assert_int_equal(f.rs.accepted, 1); /* each one framed: one connection */
    fixture_teardown(&f, NULL);
}

static void test_truncated_body_is_an_error(void **state) {
    (void)state;
    static const char *const script[] = {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"};
    fixture f;
    fixture_setup(&f, script, 1, NULL);
    f.rs.close_after_each = true;
    rec r = {0};
    fixture_run(&f, &r, &(em_http_req){.url = raw_url(&f.rs, "/")});
    assert_int_equal(r.err, EM_EPARTIAL);
    assert_int_equal(r.body_len, 5);
    static const char *const chunked[] = {
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"};
    f.rs.script = chunked;
    f.rs.requests = 0;
    rec r2 = {0};
    fixture_run(&f, &r2, &(em_http_req){.url = raw_url(&f.rs, "/")});
    assert_int_equal(r2.err, EM_EPARTIAL);
    fixture_teardown(&f, NULL);
}

static void test_bad_responses(void **state) {
    (void)state;
    static const char *const script[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n",
    };
    em_http_limits lim = {.max_body = 1000};
    em_http_client_opts o = {.limits = &lim};
    fixture f;
    fixture_setup(&f, script, 5, &o);
    int want[] = {EM_EBADCL, EM_ECLTE, EM_EPARSE, EM_ENOTIMPL, EM_EBODYTOOLARGE};
    for (int i = 0; i < 5; i++) {
        rec r = {0};
        fixture_run(&f, &r, &(em_http_req){.url = raw_url(&f.rs, "/")});
        assert_int_equal(r.err, want[i]);
        assert_int_equal(r.heads, 0);
        assert_true(r.error[0]);
    }
    fixture_teardown(&f, NULL);
}

/* em_http_limits.max_headers is the count of field lines a response may
 * have, above the default of 100 too. */
static void test_header_count_limit(void **state) {
    (void)state;
    static char many[8192];
    int n = snprintf(many, sizeof many, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n");
    for (int i = 0; i < 149; i++)
        n += snprintf(many + n, sizeof many - (size_t)n, "Set-Cookie: c%d=v\r\n", i);
    snprintf(many + n, sizeof many - (size_t)n, "\r\nok");
    const char *script[] = {many};
    for (int k = 0; k < 3; k++) {
        em_http_limits lim = {.max_headers = k == 0 ? 0 : k == 1 ? 150 : 149};
        fixture f;
        fixture_setup(&f, script, 1, &(em_http_client_opts){.limits = &lim});
        rec r = {0};
        fixture_run(&f, &r, &(em_http_req){.url = raw_url(&f.rs, "/")});
        assert_int_equal(r.err, k == 1 ? 0 : EM_ETOOMANYHDRS); /* 150 lines */
        if (k == 1)
            assert_int_equal(r.body_len, 2);
        fixture_teardown(&f, NULL);
    }
}

/* A head within the limits (a status line up to max_start_line, then
 * field lines up to max_header_bytes) is read whole, and one past them is
 * EM_EHDRTOOLARGE, whatever the split between the two: the input buffer
 * must hold both parts, or the head stalls until the head timeout with the
 * limit never reached. */
static void test_head_size_limits(void **state) {
    (void)state;
    static char fits[80 * 1024], over[80 * 1024];
    for (int k = 0; k < 2; k++) {
        char *b = k ? over : fits;
        int n = snprintf(b, sizeof fits, "HTTP/1.1 200 %8000s\r\n", "");
        memset(b + 13, 'R', 8000);
        /* 99 fields of 650 bytes, 64,350 in all: under 64 KiB; of 670, over */
        for (int i = 0; i < 99; i++)
            n += snprintf(b + n, sizeof fits - (size_t)n, "X-H%03d: %0*d\r\n", i, k ? 660 : 640, 0);
        snprintf(b + n, sizeof fits - (size_t)n, "Content-Length: 2\r\n\r\nok");
    }
    const char *script[] = {fits, over};
    fixture f;
    fixture_setup(&f, script, 2, &(em_http_client_opts){.head_timeout_ms = 3000});
    rec r1 = {0}, r2 = {0};
    fixture_run(&f, &r1, &(em_http_req){.url = raw_url(&f.rs, "/")});
    assert_int_equal(r1.err, 0);
    assert_int_equal(r1.body_len, 2);
    fixture_run(&f, &r2, &(em_http_req){.url = raw_url(&f.rs, "/")});
    assert_int_equal(r2.err, EM_EHDRTOOLARGE);
    fixture_teardown(&f, NULL);
}

static void test_keep_alive_and_stale_connection(void **state) {
    (void)state;
    static const char *const script[] = {OK_HELLO, OK_HELLO, OK_HELLO};
    fixture f;
    fixture_setup(&f, script, 3, NULL);
    rec r1 = {0}, r2 = {0};
    fixture_run(&f, &r1, &(em_http_req){.url = raw_url(&f.rs, "/")});
    fixture_run(&f, &r2, &(em_http_req){.url = raw_url(&f.rs, "/")});
    assert_int_equal(r1.err | r2.err, 0);
    assert_int_equal(f.rs.accepted, 1);
    assert_int_equal(em_http_client_conns(f.cl), 1);
    /* the server closes the idle connection: the client notices and uses
     * a new one */
    f.rs.close_after_each = true;
    rec r3 = {0};
    fixture_run(&f, &r3, &(em_http_req){.url = raw_url(&f.rs, "/")});
    assert_int_equal(r3.err, 0);
    assert_int_equal(f.rs.accepted, 1);
    EM_TEST_RUN_UNTIL(&f.loop, em_http_client_conns(f.cl) == 0, 5000);
    fixture_teardown(&f, NULL);
}

/* Bytes a server sends after a response, once the client has read it,
 * wait in the socket while the connection idles. They are no answer to
 * the next request: a connection with input pending is not reused, even
 * for a GET that could be retried (RFC 9112 §9.3, §9.6; curl drops such a
 * connection too). Else they would become the next response. */
static void test_late_bytes_are_no_response(void **state) {
    (void)state;
    static const char *const script[] = {OK_HELLO, OK_GOOD, OK_GOOD};
    for (int k = 0; k < 2; k++) {
        fixture f;
        fixture_setup(&f, script, 3, NULL);
        rec r1 = {0}, r2 = {0};
        fixture_run(&f, &r1, &(em_http_req){.url = raw_url(&f.rs, "/")});
        assert_int_equal(r1.err, 0);
        assert_non_null(f.rs.last_conn);
        /* straight into the socket, before the loop turns again */
        static const char evil[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil";
        assert_int_equal(write(em_tcp_conn_fd(f.rs.last_conn), evil, sizeof evil - 1),
                         (ssize_t)(sizeof evil - 1));
        const char *method = k ? "POST" : "GET";
        fixture_run(&f, &r2, &(em_http_req){.url = raw_url(&f.rs, "/"), .method = method});
        assert_int_equal(r2.err, 0);
        assert_int_equal(r2.body_len, 4);
        assert_memory_equal(r2.body, "good", 4);
        assert_int_equal(f.rs.accepted, 2);
        fixture_teardown(&f, NULL);
    }
}

/* The same bytes arriving while the last piece of a body is delivered (a
 * slow on_body), with the next call queued for the connection: it is not
 * handed over without the same look. */
static raw_server *late_rs;
static const char late_evil[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil";

static void body_then_late_bytes(em_http_call *call, em_slice piece) {
    rec_body(call, piece);
    if (late_rs && late_rs->last_conn) {
        ssize_t n = write(em_tcp_conn_fd(late_rs->last_conn), late_evil, sizeof late_evil - 1);
        assert_int_equal(n, (ssize_t)(sizeof late_evil - 1));
        late_rs = NULL;
    }
}

static void test_late_bytes_are_no_response_when_queued(void **state) {
    (void)state;
    static const char *const script[] = {OK_HELLO, OK_GOOD, OK_GOOD};
    static const em_http_client_cbs late_cbs = {
        .on_head = rec_head, .on_body = body_then_late_bytes, .on_done = rec_done};
    fixture f;
    fixture_setup(&f, script, 3, &(em_http_client_opts){.max_per_host = 1});
    late_rs = &f.rs;
    rec r1 = {0}, r2 = {0};
    em_http_req req = {.url = raw_url(&f.rs, "/")};
    assert_int_equal(em_http_client_do(f.cl, &req, &late_cbs, &r1, &r1.call), 0);
    assert_int_equal(em_http_client_do(f.cl, &req, &rec_cbs, &r2, &r2.call), 0);
    EM_TEST_RUN_UNTIL(&f.loop, r1.dones && r2.dones, 10000);
    assert_int_equal(r1.err, 0);
    assert_null(late_rs); /* the late bytes went out */
    assert_int_equal(r2.err, 0);
    assert_int_equal(r2.body_len, 4);
    assert_memory_equal(r2.body, "good", 4);
    assert_int_equal(f.rs.accepted, 2);
    fixture_teardown(&f, NULL);
}

/* A connection the server reset while it idled is dead: the look before
 * reuse gets ECONNRESET, not EAGAIN, and a POST (never retried) must go
 * on a fresh connection instead of failing on the dead one. */
static void test_reset_idle_connection_not_reused(void **state) {
    (void)state;
    static const char *const script[] = {OK_HELLO, OK_GOOD};
    fixture f;
    fixture_setup(&f, script, 2, NULL);
    rec r1 = {0}, r2 = {0};
    fixture_run(&f, &r1, &(em_http_req){.url = raw_url(&f.rs, "/")});
    assert_int_equal(r1.err, 0);
    assert_non_null(f.rs.last_conn);
    /* an abortive close: the RST is in the client's socket at once */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    assert_int_equal(
        setsockopt(em_tcp_conn_fd(f.rs.last_conn), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    em_tcp_conn_close(f.rs.last_conn, raw_closed);
    fixture_run(&f, &r2, &(em_http_req){.url = raw_url(&f.rs, "/"), .method = "POST"});
    assert_int_equal(r2.err, 0);
    assert_memory_equal(r2.body, "good", 4);
    assert_int_equal(f.rs.accepted, 2);
    fixture_teardown(&f, NULL);
}

static void test_retry_idempotent_once(void **state) {
    (void)state;
    /* the second request finds its reused connection closed without an
     * answer: a GET goes again on a fresh connection */
    static const char *const script[] = {OK_HELLO, RAW_CLOSE, OK_HELLO};
    fixture f;
    fixture_setup(&f, script, 3, NULL);
    rec r1 = {0}, r2 = {0};
    fixture_run(&f, &r1, &(em_http_req){.url = raw_url(&f.rs, "/")});
    fixture_run(&f, &r2, &(em_http_req){.url = raw_url(&f.rs, "/")});
    assert_int_equal(r2.err, 0);
    assert_int_equal(r2.body_len, 5);
    assert_int_equal(f.rs.accepted, 2);
    assert_int_equal(f.rs.requests, 3);
    /* a POST is not retried */
    static const char *const script2[] = {OK_HELLO, RAW_CLOSE, OK_HELLO};
    f.rs.script = script2;
    f.rs.requests = 0;
    rec r3 = {0}, r4 = {0};
    fixture_run(&f, &r3, &(em_http_req){.url = raw_url(&f.rs, "/")});
    fixture_run(&f, &r4, &(em_http_req){.url = raw_url(&f.rs, "/"), .method = "POST"});
    assert_int_equal(r4.err, EM_ECONNRESET);
    assert_int_equal(f.rs.requests, 2);
    fixture_teardown(&f, NULL);
}

static void test_cap_per_host_queues(void **state) {
    (void)state;
    static const char *const script[] = {OK_HELLO, OK_HELLO, OK_HELLO, OK_HELLO};
    em_http_client_opts o = {.max_per_host = 1};
    fixture f;
    fixture_setup(&f, script, 4, &o);
    rec r[4] = {{0}};
    for (int i = 0; i < 4; i++)
        assert_int_equal(em_http_client_do(f.cl, &(em_http_req){.url = raw_url(&f.rs, "/")},
                                           &rec_cbs, &r[i], NULL),
                         0);
    EM_TEST_RUN_UNTIL(&f.loop, r[0].dones + r[1].dones + r[2].dones + r[3].dones == 4, 10000);
    for (int i = 0; i < 4; i++)
        assert_int_equal(r[i].err, 0);
    assert_int_equal(f.rs.accepted, 1);
    fixture_teardown(&f, NULL);
}

static void test_timeouts(void **state) {
    (void)state;
    static const char *const script[] = {RAW_SILENT,
                                         "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel"};
    em_http_client_opts o = {.head_timeout_ms = 100, .read_timeout_ms = 100};
    fixture f;
    fixture_setup(&f, script, 2, &o);
    rec r1 = {0};
    fixture_run(&f, &r1, &(em_http_req){.url = raw_url(&f.rs, "/")});
    assert_int_equal(r1.err, EM_ETIMEDOUT);
    assert_non_null(strstr(r1.error, "response head timeout"));
    rec r2 = {0};
    fixture_run(&f, &r2, &(em_http_req){.url = raw_url(&f.rs, "/")});
    assert_int_equal(r2.err, EM_ETIMEDOUT);
    assert_non_null(strstr(r2.error, "body read timeout"));
    assert_int_equal(r2.body_len, 3);
    /* the total deadline */
    static const char *const silent[] = {RAW_SILENT};
    f.rs.script = silent;
    f.rs.requests = 0;
    em_http_client *cl2;
    assert_int_equal(em_http_client_new(&cl2, &f.loop, NULL), 0);
    rec r3 = {0};
    assert_int_equal(em_http_client_do(cl2, &(em_http_req){.url = raw_url(&f.rs, "/"),
                                                           .timeout_ms = 150},
                                       &rec_cbs, &r3, NULL),
                     0);
    EM_TEST_RUN_UNTIL(&f.loop, r3.dones, 5000);
    assert_int_equal(r3.err, EM_ETIMEDOUT);
    assert_non_null(strstr(r3.error, "total timeout"));
    bool closed = false;
    em_http_client_close(cl2, fixture_client_closed, &closed);
    EM_TEST_RUN_UNTIL(&f.loop, closed, 5000);
    fixture_teardown(&f, NULL);
}

static void test_connect_refused(void **state) {
    (void)state;
    fixture f;
    fixture_setup(&f, NULL, 0, NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", (unsigned)em_sockaddr_port(&f.rs.addr));
    raw_stop(&f.rs); /* nothing listens there now */
    rec r = {0};
    fixture_run(&f, &r, &(em_http_req){.url = url});
    assert_int_equal(r.err, EM_ECONNREFUSED);
    assert_non_null(strstr(r.error, "connect to 127.0.0.1"));
    em_http_client_close(f.cl, fixture_client_closed, &f.closed);
    EM_TEST_RUN_UNTIL(&f.loop, f.closed, 5000);
    em_loop_run(&f.loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&f.loop), 0);
}

static void test_redirects(void **state) {
    (void)state;
    fixture f;
    fixture_setup(&f, NULL, 0, NULL);
    /* g: another origin (another port) on the same loop */
    static const char *const gscript[] = {OK_HELLO, OK_HELLO};
    raw_server g;
    raw_start(&g, &f.loop, gscript, 2);
    static char s1[256];
    snprintf(s1, sizeof s1, "HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 3\r\n\r\nbye",
             raw_url(&g, "/there?x=1"));
    static const char s2[] =
        "HTTP/1.1 307 Temporary\r\nLocation: /same\r\nContent-Length: 0\r\n\r\n";
    const char *script[] = {s1, s2, OK_HELLO, s1};
    f.rs.script = script;
    f.rs.nscript = 4;
    em_http_header cookie[] = {{EM_SLICE_LIT("Cookie"), EM_SLICE_LIT("secret=1"), 0},
                               {EM_SLICE_LIT("X-Keep"), EM_SLICE_LIT("1"), 0}};
    rec r = {0};
    fixture_run(&f, &r, &(em_http_req){.url = raw_url(&f.rs, "/start"), .max_redirects = 5,
                               .body = EM_SLICE_LIT("data"), .bearer = "tok",
                               .headers = cookie, .num_headers = 2});
    assert_int_equal(r.err, 0);
    assert_int_equal(r.heads, 1);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.url, raw_url(&g, "/there?x=1"));
    assert_int_equal(r.redirects, 1);
    assert_int_equal(r.connects, 2); /* one per origin */
    assert_string_equal(r.method, "GET"); /* the latest request's */
    assert_int_equal(r.last_status, 200);
    /* 302 turned the POST into a GET without body; credentials stayed home */
    assert_true(STARTS(g.last, "GET /there?x=1 HTTP/1.1\r\n"));
    assert_null(strstr(g.last, "Authorization"));
    assert_null(strstr(g.last, "secret"));
    assert_null(strstr(g.last, "data"));
    assert_non_null(strstr(g.last, "X-Keep: 1"));
    /* 307 keeps method, body and (same origin) credentials */
    rec r2 = {0};
    fixture_run(&f, &r2, &(em_http_req){.url = raw_url(&f.rs, "/start"), .max_redirects = 5,
                                .method = "PUT", .body = EM_SLICE_LIT("data"), .bearer = "tok"});
    assert_int_equal(r2.err, 0);
    assert_int_equal(r2.redirects, 1);
    assert_int_equal(r2.connects, 0); /* the pooled connection both times */
    assert_true(STARTS(f.rs.last, "PUT /same HTTP/1.1\r\n"));
    assert_string_equal(r2.method, "PUT");
    assert_non_null(strstr(f.rs.last, "Authorization: Bearer tok"));
    assert_non_null(strstr(f.rs.last, "\r\n\r\ndata"));
    /* not following: the 302 is the answer */
    rec r3 = {0};
    fixture_run(&f, &r3, &(em_http_req){.url = raw_url(&f.rs, "/start")});
    assert_int_equal(r3.err, 0);
    assert_int_equal(r3.status, 302);
    assert_int_equal(r3.body_len, 3);
    assert_int_equal(r3.redirects, 0);
    raw_stop(&g);
    fixture_teardown(&f, NULL);
}

/* A Host of the caller's (curl's -H 'Host: ...', a virtual host) replaces
 * the URL's in the one Host line; a redirect to another origin drops it,
 * as curl does, and one to the same origin keeps it. */
static void test_own_host(void **state) {
    (void)state;
    fixture f;
    fixture_setup(&f, NULL, 0, NULL);
    static const char *const gscript[] = {OK_HELLO};
    raw_server g;
    raw_start(&g, &f.loop, gscript, 1);
    static char s1[256];
    snprintf(s1, sizeof s1, "HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n",
             raw_url(&g, "/there"));
    static const char s2[] = "HTTP/1.1 307 Temporary\r\nLocation: /same\r\nContent-Length: 0\r\n\r\n";
    const char *script[] = {OK_HELLO, s2, OK_HELLO, s1};
    f.rs.script = script;
    f.rs.nscript = 4;
    em_http_header h[] = {{EM_SLICE_LIT("X-A"), EM_SLICE_LIT("1"), 0},
                          {EM_SLICE_LIT("host"), EM_SLICE_LIT("VHost.test:8080"), 0}};
    rec r = {0};
    fixture_run(&f, &r, &(em_http_req){.url = raw_url(&f.rs, "/a"), .headers = h, .num_headers = 2});
    assert_int_equal(r.err, 0);
    assert_true(STARTS(f.rs.last, "GET /a HTTP/1.1\r\nHost: VHost.test:8080\r\n"));
    assert_null(strstr(f.rs.last + 20, "\r\nHost:"));
    assert_null(strstr(f.rs.last, "\r\nhost:"));
    assert_non_null(strstr(f.rs.last, "\r\nX-A: 1\r\n"));
    rec r2 = {0}; /* same origin: kept */
    fixture_run(&f, &r2, &(em_http_req){.url = raw_url(&f.rs, "/b"), .headers = h, .num_headers = 2,
                                .max_redirects = 5});
    assert_int_equal(r2.err, 0);
    assert_true(STARTS(f.rs.last, "GET /same HTTP/1.1\r\nHost: VHost.test:8080\r\n"));
    rec r3 = {0}; /* another origin: its own Host */
    fixture_run(&f, &r3, &(em_http_req){.url = raw_url(&f.rs, "/c"), .headers = h, .num_headers = 2,
                                .max_redirects = 5});
    assert_int_equal(r3.err, 0);
    assert_int_equal(r3.redirects, 1);
    char want[64];
    snprintf(want, sizeof want, "\r\nHost: 127.0.0.1:%u\r\n", (unsigned)em_sockaddr_port(&g.addr));
    assert_non_null(strstr(g.last, want));
    assert_null(strstr(g.last, "VHost"));
    assert_non_null(strstr(g.last, "\r\nX-A: 1\r\n"));
    raw_stop(&g);
    fixture_teardown(&f, NULL);
}

/* A head the client refuses or that was cut short: em_http_call_error says
 * which part, since curl's exit codes tell them apart (ember-fetch follows):
 * no HTTP at all (HTTP/0.9: 1), a garbled status line (1), a close inside
 * the status line (52), a head cut short after it (18), bad fields (8). */
static void test_refused_heads_say_where(void **state) {
    (void)state;
    static const struct {
        const char *answer;
        int err;
        const char *why;
    } cases[] = {
        {"hello\r\n", EM_EPARSE, "not an HTTP/1.x response"},
        {"SSH-2.0-OpenSSH_9.2\r\n", EM_EPARSE, "not an HTTP/1.x response"},
        {"HTTP/1.1 2x0 OK\r\n\r\n", EM_EPARSE, "malformed status line: its status code"},
        {"HTTP/1.1 OK\r\n\r\n", EM_EPARSE, "malformed status line: its status code"},
        {"HTTP/x.y 200 OK\r\n\r\n", EM_EPARSE, "malformed status line: its HTTP version"},
        {"HTTP/2.0 200 OK\r\n\r\n", EM_EBADVERSION, "malformed status line: its HTTP version"},
        {"HTTP/1.1 200 O", EM_EPARTIAL, "the status line was cut short"},
        {"HTT", EM_EPARTIAL, "the status line was cut short"},
        {"HTTP/1.1 200 OK\r\nX-A: b", EM_EPARTIAL, "the response head was cut short"},
        {"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", EM_EBADHEADER, "malformed response head"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *script[] = {cases[i].answer};
        fixture f;
        fixture_setup(&f, script, 1, NULL);
        f.rs.close_after_each = true;
        rec r = {0};
        fixture_run(&f, &r, &(em_http_req){.url = raw_url(&f.rs, "/")});
        if (r.err != cases[i].err || strncmp(r.error, cases[i].why, strlen(cases[i].why)))
            fail_msg("%s: %s (%s), %s (%s) expected", cases[i].answer, em_err_name(r.err), r.error,
                     em_err_name(cases[i].err), cases[i].why);
        assert_int_equal(r.heads, 0);
        fixture_teardown(&f, NULL);
    }
}

/* An empty Host of the caller's (curl's -H 'Host:') sends no Host line at
 * all, through a redirect to the same origin too; one to another origin
 * gets that origin's Host, as a virtual host is dropped there. */
static void test_no_host(void **state) {
    (void)state;
    fixture f;
    fixture_setup(&f, NULL, 0, NULL);
    static const char *const gscript[] = {OK_HELLO};
    raw_server g;
    raw_start(&g, &f.loop, gscript, 1);
    static char s1[256];
    snprintf(s1, sizeof s1, "HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n",
             raw_url(&g, "/there"));
    static const char s2[] =
        "HTTP/1.1 307 Temporary\r\nLocation: /same\r\nContent-Length: 0\r\n\r\n";
    const char *script[] = {OK_HELLO, s2, OK_HELLO, s1};
    f.rs.script = script;
    f.rs.nscript = 4;
    em_http_header h[] = {{EM_SLICE_LIT("Host"), EM_SLICE_LIT(""), 0},
                          {EM_SLICE_LIT("X-A"), EM_SLICE_LIT("1"), 0}};
    rec r = {0};
    fixture_run(&f, &r,
                &(em_http_req){.url = raw_url(&f.rs, "/a"), .headers = h, .num_headers = 2});
    assert_int_equal(r.err, 0);
    assert_true(STARTS(f.rs.last, "GET /a HTTP/1.1\r\nUser-Agent: "));
    assert_null(strstr(f.rs.last, "\r\nHost:"));
    assert_null(strstr(f.rs.last, "\r\nhost:"));
    assert_non_null(strstr(f.rs.last, "\r\nX-A: 1\r\n"));
    rec r2 = {0}; /* same origin: still none */
    fixture_run(
        &f, &r2,
        &(em_http_req){
            .url = raw_url(&f.rs, "/b"), .headers = h, .num_headers = 2, .max_redirects = 5});
    assert_int_equal(r2.err, 0);
    assert_true(STARTS(f.rs.last, "GET /same HTTP/1.1\r\nUser-Agent: "));
    assert_null(strstr(f.rs.last, "\r\nHost:"));
    assert_null(strstr(f.rs.last, "\r\nhost:"));
    rec r3 = {0}; /* another origin: its own Host */
    fixture_run(
        &f, &r3,
        &(em_http_req){
            .url = raw_url(&f.rs, "/c"), .headers = h, .num_headers = 2, .max_redirects = 5});
    assert_int_equal(r3.err, 0);
    assert_int_equal(r3.redirects, 1);
    char want[64];
    snprintf(want, sizeof want, "\r\nHost: 127.0.0.1:%u\r\n", (unsigned)em_sockaddr_port(&g.addr));
    assert_non_null(strstr(g.last, want));
    raw_stop(&g);
    fixture_teardown(&f, NULL);
}

/* RFC 9110 §10.2.2: a Location without a fragment inherits the one of the
 * request's URL; one with a fragment replaces it. The call's URL (curl's
 * url_effective) shows it, the request target never does. */
static void test_redirect_fragment_inherited(void **state) {
    (void)state;
    static const char *const script[] = {
        "HTTP/1.1 302 Found\r\nLocation: /there\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 301 Moved\r\nLocation: /next#new\r\nContent-Length: 0\r\n\r\n", OK_HELLO,
        OK_HELLO};
    fixture f;
    fixture_setup(&f, script, 4, NULL);
    rec r = {0};
    fixture_run(&f, &r, &(em_http_req){.url = raw_url(&f.rs, "/start#frag"), .max_redirects = 5});
    assert_int_equal(r.err, 0);
    assert_int_equal(r.redirects, 2);
    assert_string_equal(r.url, raw_url(&f.rs, "/next#new"));
    assert_true(STARTS(f.rs.last, "GET /next HTTP/1.1\r\n"));
    rec r2 = {0}; /* no redirect: the URL as given, fragment and all */
    fixture_run(&f, &r2, &(em_http_req){.url = raw_url(&f.rs, "/a#b")});
    assert_int_equal(r2.err, 0);
    assert_string_equal(r2.url, raw_url(&f.rs, "/a#b"));
    assert_true(STARTS(f.rs.last, "GET /a HTTP/1.1\r\n"));
    fixture_teardown(&f, NULL);
}

/* RFC 9110 §15.4 step 5: once a redirect turns the method into GET, the
 * content-specific fields of the old body go with it, the caller's too. */
static void test_redirect_to_get_drops_content_fields(void **state) {
    (void)state;
    static const char *const script[] = {
        "HTTP/1.1 303 See Other\r\nLocation: /got\r\nContent-Length: 0\r\n\r\n", OK_HELLO,
        "HTTP/1.1 307 Temporary\r\nLocation: /kept\r\nContent-Length: 0\r\n\r\n", OK_HELLO};
    fixture f;
    fixture_setup(&f, script, 4, NULL);
    em_http_header h[] = {{EM_SLICE_LIT("Content-Type"), EM_SLICE_LIT("application/json"), 0},
                          {EM_SLICE_LIT("Content-Language"), EM_SLICE_LIT("en"), 0},
                          {EM_SLICE_LIT("Content-Encoding"), EM_SLICE_LIT("identity"), 0},
                          {EM_SLICE_LIT("X-Keep"), EM_SLICE_LIT("1"), 0}};
    rec r = {0};
    fixture_run(&f, &r, &(em_http_req){.url = raw_url(&f.rs, "/p"), .max_redirects = 5,
                               .body = EM_SLICE_LIT("{}"), .headers = h, .num_headers = 4});
    assert_int_equal(r.err, 0);
    assert_true(STARTS(f.rs.last, "GET /got HTTP/1.1\r\n"));
    assert_null(strstr(f.rs.last, "Content-"));
    assert_non_null(strstr(f.rs.last, "\r\nX-Keep: 1\r\n"));
    /* 307 keeps the method, so the body and its fields stay */
    rec r2 = {0};
    fixture_run(&f, &r2, &(em_http_req){.url = raw_url(&f.rs, "/p"), .max_redirects = 5,
                                .body = EM_SLICE_LIT("{}"), .headers = h, .num_headers = 4});
    assert_int_equal(r2.err, 0);
    assert_true(STARTS(f.rs.last, "POST /kept HTTP/1.1\r\n"));
    assert_non_null(strstr(f.rs.last, "\r\nContent-Type: application/json\r\n"));
    assert_non_null(strstr(f.rs.last, "\r\nContent-Language: en\r\n"));
    assert_non_null(strstr(f.rs.last, "\r\n\r\n{}"));
    fixture_teardown(&f, NULL);
}

/* Each redirect's head goes to on_redirect before it is followed (curl's
 * -i/-I/-D with -L show them all); a cancel there ends the call. */
typedef struct redir_rec {
    rec r;
    int statuses[4];
    int n;
    bool cancel;
} redir_rec;

static void redir_seen(em_http_call *call, const em_http_response *resp) {
    redir_rec *x = em_http_call_data(call);
    if (x->n < 4)
        x->statuses[x->n] = resp->status;
    x->n++;
    if (x->cancel)
        assert_int_equal(em_http_call_cancel(call), 0);
}

static const em_http_client_cbs redir_cbs = {
    .on_head = rec_head, .on_body = rec_body, .on_done = rec_done, .on_redirect = redir_seen};

static void test_redirect_heads_reported(void **state) {
    (void)state;
    static const char *const script[] = {
        "HTTP/1.1 302 Found\r\nLocation: /b\r\nContent-Length: 3\r\n\r\nbye",
        "HTTP/1.1 307 Temporary\r\nLocation: /c\r\n\r\n", /* until close */
        OK_HELLO, "HTTP/1.1 301 Moved\r\nLocation: /d\r\nContent-Length: 0\r\n\r\n"};
    fixture f;
    fixture_setup(&f, script, 4, NULL);
    redir_rec x = {0};
    em_http_req req = {.url = raw_url(&f.rs, "/a"), .max_redirects = 5};
    assert_int_equal(em_http_client_do(f.cl, &req, &redir_cbs, &x, NULL), 0);
    EM_TEST_RUN_UNTIL(&f.loop, x.r.dones, 10000);
    assert_int_equal(x.r.err, 0);
    assert_int_equal(x.n, 2);
    assert_int_equal(x.statuses[0], 302);
    assert_int_equal(x.statuses[1], 307);
    assert_int_equal(x.r.heads, 1);
    assert_int_equal(x.r.status, 200);
    assert_int_equal(x.r.body_len, 5); /* the redirects' bodies are not delivered */
    redir_rec y = {.cancel = true};
    assert_int_equal(em_http_client_do(f.cl, &req, &redir_cbs, &y, NULL), 0);
    EM_TEST_RUN_UNTIL(&f.loop, y.n == 1, 10000);
    for (int i = 0; i < 20; i++)
        em_loop_run(&f.loop, EM_RUN_NOWAIT);
    assert_int_equal(y.r.dones, 0);
    assert_int_equal(f.rs.requests, 4); /* /d was never asked for */
    fixture_teardown(&f, NULL);
}

/* Interim heads go to on_info before the final one (curl's -i shows
 * them); a cancel there ends the call. */
static const em_http_client_cbs info_cbs = {
    .on_head = rec_head, .on_body = rec_body, .on_done = rec_done, .on_info = redir_seen};

static void test_interim_heads_reported(void **state) {
    (void)state;
    static const char *const script[] = {
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n" OK_HELLO,
        "HTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n" OK_HELLO};
    fixture f;
    fixture_setup(&f, script, 2, NULL);
    redir_rec x = {0};
    em_http_req req = {.url = raw_url(&f.rs, "/a")};
    assert_int_equal(em_http_client_do(f.cl, &req, &info_cbs, &x, NULL), 0);
    EM_TEST_RUN_UNTIL(&f.loop, x.r.dones, 10000);
    assert_int_equal(x.r.err, 0);
    assert_int_equal(x.n, 2);
    assert_int_equal(x.statuses[0], 100);
    assert_int_equal(x.statuses[1], 103);
    assert_int_equal(x.r.heads, 1);
    assert_int_equal(x.r.status, 200);
    assert_int_equal(x.r.body_len, 5);
    redir_rec y = {.cancel = true};
    assert_int_equal(em_http_client_do(f.cl, &req, &info_cbs, &y, NULL), 0);
    EM_TEST_RUN_UNTIL(&f.loop, y.n == 1, 10000);
    for (int i = 0; i < 20; i++)
        em_loop_run(&f.loop, EM_RUN_NOWAIT);
    assert_int_equal(y.r.dones, 0);
    assert_int_equal(y.r.heads, 0);
    fixture_teardown(&f, NULL);
}

static void test_redirect_limits(void **state) {
    (void)state;
    static const char *const loop_script[] = {
        "HTTP/1.1 301 Moved\r\nLocation: /a\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 301 Moved\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 301 Moved\r\nLocation: /c\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 302 Found\r\nLocation: ftp://x/\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 302 Found\r\nLocation: http://[::1/\r\nContent-Length: 0\r\n\r\n",
    };
    fixture f;
    fixture_setup(&f, loop_script, 5, NULL);
    rec r = {0};
    fixture_run(&f, &r, &(em_http_req){.url = raw_url(&f.rs, "/"), .max_redirects = 2});
    assert_int_equal(r.err, EM_ETOOMANYREDIRECTS);
    assert_int_equal(r.heads, 0);
    assert_int_equal(r.last_status, 301); /* the redirect it would not follow */
    rec r2 = {0};
    fixture_run(&f, &r2, &(em_http_req){.url = raw_url(&f.rs, "/"), .max_redirects = 2});
    /* a URL of a scheme the client does not speak (curl: unsupported protocol) */
    assert_int_equal(r2.err, EM_EUNSAFEREDIRECT);
    assert_non_null(strstr(r2.error, "ftp"));
    rec r3 = {0}; /* a Location that is no URL (curl: malformed) */
    fixture_run(&f, &r3, &(em_http_req){.url = raw_url(&f.rs, "/"), .max_redirects = 2});
    assert_int_equal(r3.err, EM_EINVAL);
    assert_non_null(strstr(r3.error, "http://[::1/"));
    fixture_teardown(&f, NULL);
}

static void test_cancel_and_pause(void **state) {
    (void)state;
    static char big[40000];
    static const char *script[3];
    char *p = big + sprintf(big, "HTTP/1.1 200 OK\r\nContent-Length: 30000\r\n\r\n");
    memset(p, 'x', 30000);
    script[0] = big;
    script[1] = big;
    script[2] = RAW_SILENT;
    fixture f;
    fixture_setup(&f, script, 3, NULL);
    /* cancel inside on_body: no on_done, the connection is not reused */
    rec r = {.cancel_in_body = true};
    assert_int_equal(em_http_client_do(f.cl, &(em_http_req){.url = raw_url(&f.rs, "/")},
                                       &rec_cbs, &r, NULL),
                     0);
    EM_TEST_RUN_UNTIL(&f.loop, r.body_len > 0, 5000);
    for (int i = 0; i < 20; i++)
        em_loop_run(&f.loop, EM_RUN_NOWAIT);
    assert_int_equal(r.dones, 0);
    EM_TEST_RUN_UNTIL(&f.loop, em_http_client_conns(f.cl) == 0, 5000);
    /* pause in on_head: nothing more until resume */
    rec r2 = {.pause_in_head = true};
    assert_int_equal(em_http_client_do(f.cl, &(em_http_req){.url = raw_url(&f.rs, "/")},
                                       &rec_cbs, &r2, &r2.call),
                     0);
    EM_TEST_RUN_UNTIL(&f.loop, r2.heads, 5000);
    for (int i = 0; i < 20; i++)
        em_loop_run(&f.loop, EM_RUN_NOWAIT);
    assert_int_equal(r2.body_len, 0);
    em_http_call_resume(r2.call);
    EM_TEST_RUN_UNTIL(&f.loop, r2.dones, 5000);
    assert_int_equal(r2.err, 0);
    assert_int_equal(r2.body_len, 30000);
    /* cancel a call that waits for its answer, from outside any callback */
    rec r3 = {0};
    assert_int_equal(em_http_client_do(f.cl, &(em_http_req){.url = raw_url(&f.rs, "/")},
                                       &rec_cbs, &r3, &r3.call),
                     0);
    EM_TEST_RUN_UNTIL(&f.loop, f.rs.requests == 3, 5000);
    assert_int_equal(em_http_call_cancel(r3.call), 0);
    for (int i = 0; i < 20; i++)
        em_loop_run(&f.loop, EM_RUN_NOWAIT);
    assert_int_equal(r3.dones, 0);
    fixture_teardown(&f, NULL);
}

static void test_expect_417_goes_again_without(void **state) {
    (void)state;
    static const char *const script[] = {
        "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n", OK_HELLO};
    em_http_client_opts o = {.expect_continue_min = 10, .expect_timeout_ms = 5000};
    fixture f;
    fixture_setup(&f, script, 2, &o);
    f.rs.answer_at_head = true;
    rec r = {0};
    char body[100];
    memset(body, 'x', sizeof body);
    fixture_run(&f, &r, &(em_http_req){.url = raw_url(&f.rs, "/up"), .method = "POST",
                               .body = (em_slice){body, sizeof body}});
    assert_int_equal(r.err, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(f.rs.requests, 2);
    assert_null(strstr(f.rs.last, "Expect:")); /* the second went without it */
    assert_int_equal(f.rs.accepted, 2);       /* on a fresh connection */
    fixture_teardown(&f, NULL);
}

/* RFC 9110 §10.1.1: a client that sends Expect: 100-continue must not wait
 * indefinitely; with no answer in expect_timeout_ms the body goes anyway.
 * The server here sends no 100 and answers only once the whole body is in,
 * as HTTP/1.0 servers and most simple ones do: a client that keeps waiting
 * ends on the head timeout instead. */
static void test_expect_without_100_sends_the_body_after_the_wait(void **state) {
    (void)state;
    static const char *const script[] = {OK_HELLO};
    em_http_client_opts o = {
        .expect_continue_min = 10, .expect_timeout_ms = 100, .head_timeout_ms = 3000};
    fixture f;
    fixture_setup(&f, script, 1, &o);
    rec r = {0};
    char body[100];
    memset(body, 'x', sizeof body);
    uint64_t t0 = em_loop_now(&f.loop);
    fixture_run(&f, &r,
                &(em_http_req){.url = raw_url(&f.rs, "/up"),
                               .method = "POST",
                               .body = (em_slice){body, sizeof body}});
    assert_int_equal(r.err, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(f.rs.requests, 1);
    assert_non_null(strstr(f.rs.last, "Expect: 100-continue"));
    assert_non_null(strstr(f.rs.last, "\r\n\r\nxxxxxxxxxx")); /* the body came */
    assert_true(em_loop_now(&f.loop) - t0 < 2000);
    fixture_teardown(&f, NULL);
}

static void test_proxy_absolute_form_and_no_proxy(void **state) {
    (void)state;
    static const char *const script[] = {OK_HELLO, OK_HELLO};
    fixture f;
    fixture_setup(&f, script, 2, NULL);
    raw_server target;
    raw_start(&target, &f.loop, script, 1);
    char proxy[64];
    snprintf(proxy, sizeof proxy, "u:p@127.0.0.1:%u", (unsigned)em_sockaddr_port(&f.rs.addr));
    em_http_client *pc;
    em_dns_resolver_opts ro = {.hosts_file = "", .servers = "127.0.0.1:9"};
    em_http_client_opts o = {.proxy = proxy, .no_proxy = "localhost, .skip.test,127.0.0.1",
                             .resolver_opts = &ro};
    assert_int_equal(em_http_client_new(&pc, &f.loop, &o), 0);
    /* a name nobody resolves: the proxy does */
    rec r = {0};
    assert_int_equal(em_http_client_do(pc, &(em_http_req){.url = "http://Example.TEST:81/x?y=1",
                                                          .bearer = "t"},
                                       &rec_cbs, &r, NULL),
                     0);
    EM_TEST_RUN_UNTIL(&f.loop, r.dones, 10000);
    assert_int_equal(r.err, 0);
    assert_true(STARTS(f.rs.last, "GET http://example.test:81/x?y=1 HTTP/1.1\r\n"));
    assert_non_null(strstr(f.rs.last, "\r\nHost: example.test:81\r\n"));
    assert_non_null(strstr(f.rs.last, "\r\nProxy-Authorization: Basic dTpw\r\n"));
    assert_non_null(strstr(f.rs.last, "\r\nAuthorization: Bearer t\r\n"));
    /* no_proxy: 127.0.0.1 goes direct */
    rec r2 = {0};
    assert_int_equal(em_http_client_do(pc, &(em_http_req){.url = raw_url(&target, "/d")},
                                       &rec_cbs, &r2, NULL),
                     0);
    EM_TEST_RUN_UNTIL(&f.loop, r2.dones, 10000);
    assert_int_equal(r2.err, 0);
    assert_int_equal(target.requests, 1);
    assert_int_equal(f.rs.requests, 1);
    assert_true(STARTS(target.last, "GET /d HTTP/1.1\r\n"));
    assert_null(strstr(target.last, "Proxy-Authorization"));
    bool closed = false;
    em_http_client_close(pc, fixture_client_closed, &closed);
    EM_TEST_RUN_UNTIL(&f.loop, closed, 5000);
    raw_stop(&target);
    EM_TEST_RUN_UNTIL(&f.loop, target.open == 0, 5000);
    /* https proxies and bad proxy URLs are refused up front */
    em_http_client_opts bad = {.proxy = "https://127.0.0.1:1"};
    assert_int_equal(em_http_client_new(&pc, &f.loop, &bad), EM_ENOTSUP);
    bad.proxy = "http://a b";
    assert_int_equal(em_http_client_new(&pc, &f.loop, &bad), EM_EINVAL);
    fixture_teardown(&f, NULL);
}

/* Through a proxy, an upgrade to an http origin goes in a CONNECT tunnel
 * as https does (Upgrade is hop-by-hop, RFC 9110 §7.8), and a proxy that
 * refuses the tunnel is EM_EPROXY, not a protocol error of the origin. */
static void never_upgraded(em_http_call *call, const em_http_response *resp, em_tcp_conn *tcp) {
    (void)call, (void)resp, (void)tcp;
    fail_msg("no 101 was sent");
}

static void test_proxy_tunnels_upgrades(void **state) {
    (void)state;
    static const em_http_client_cbs cbs = {
        .on_head = rec_head, .on_body = rec_body, .on_done = rec_done, .on_upgrade = never_upgraded};
    static const char *const script[] = {
        "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
        /* interim answers to CONNECT are skipped, in one read */
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX: y\r\n\r\n"
        "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"};
    fixture f;
    fixture_setup(&f, script, 3, NULL);
    f.rs.close_after_each = true;
    char proxy[64];
    snprintf(proxy, sizeof proxy, "127.0.0.1:%u", (unsigned)em_sockaddr_port(&f.rs.addr));
    em_http_client *pc;
    em_dns_resolver_opts ro = {.hosts_file = "", .servers = "127.0.0.1:9"};
    em_http_client_opts o = {.proxy = proxy, .resolver_opts = &ro};
    assert_int_equal(em_http_client_new(&pc, &f.loop, &o), 0);
    const char *urls[] = {"https://secure.test/", "http://plain.test:8080/chat",
                          "https://interim.test/"};
    const char *connects[] = {"CONNECT secure.test:443 HTTP/1.1\r\n",
                              "CONNECT plain.test:8080 HTTP/1.1\r\n",
                              "CONNECT interim.test:443 HTTP/1.1\r\n"};
    for (int i = 0; i < 3; i++) {
        rec r = {0};
        em_http_req req = {.url = urls[i], .upgrade = i == 1 ? "websocket" : NULL};
        assert_int_equal(em_http_client_do(pc, &req, &cbs, &r, NULL), 0);
        EM_TEST_RUN_UNTIL(&f.loop, r.dones, 10000);
        assert_int_equal(r.err, EM_EPROXY);
        assert_non_null(strstr(r.error, i ? "403" : "407"));
        assert_true(STARTS(f.rs.last, connects[i]));
    }
    bool closed = false;
    em_http_client_close(pc, fixture_client_closed, &closed);
    EM_TEST_RUN_UNTIL(&f.loop, closed, 5000);
    fixture_teardown(&f, NULL);
}

static void on_timer_flag(em_timer *t) {
    *(bool *)t->data = true;
}

static void test_pause_is_no_stall(void **state) {
    (void)state;
    static const char *const script[] = {OK_HELLO};
    em_http_client_opts o = {.read_timeout_ms = 50};
    fixture f;
    fixture_setup(&f, script, 1, &o);
    rec r = {.pause_in_head = true};
    assert_int_equal(em_http_client_do(f.cl, &(em_http_req){.url = raw_url(&f.rs, "/")},
                                       &rec_cbs, &r, &r.call),
                     0);
    EM_TEST_RUN_UNTIL(&f.loop, r.heads, 5000);
    em_timer t;
    bool fired = false;
    em_timer_init(&f.loop, &t, on_timer_flag);
    t.data = &fired;
    em_timer_start(&t, 200, 0); /* four read timeouts */
    EM_TEST_RUN_UNTIL(&f.loop, fired, 5000);
    assert_int_equal(r.dones, 0);
    em_http_call_resume(r.call);
    EM_TEST_RUN_UNTIL(&f.loop, r.dones, 5000);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.body_len, 5);
    fixture_teardown(&f, NULL);
}

static void test_close_ends_calls(void **state) {
    (void)state;
    static const char *const script[] = {RAW_SILENT, RAW_SILENT};
    fixture f;
    fixture_setup(&f, script, 2, NULL);
    rec r1 = {0}, r2 = {0};
    assert_int_equal(em_http_client_do(f.cl, &(em_http_req){.url = raw_url(&f.rs, "/")},
                                       &rec_cbs, &r1, NULL),
                     0);
    assert_int_equal(em_http_client_do(f.cl, &(em_http_req){.url = raw_url(&f.rs, "/x")},
                                       &rec_cbs, &r2, NULL),
                     0);
    EM_TEST_RUN_UNTIL(&f.loop, f.rs.requests == 2, 5000);
    fixture_teardown(&f, NULL); /* closes the client: both end with EM_ECANCELED */
    assert_int_equal(r1.dones, 1);
    assert_int_equal(r2.dones, 1);
    assert_int_equal(r1.err, EM_ECANCELED);
    assert_int_equal(r2.err, EM_ECANCELED);
}


/* ---- upgrade: a 101 hands the connection over ---------------------------- */

typedef struct up_rec {
    rec r;
    em_tcp_conn t;
    int upgrades, status, closed;
    char got[64];
    size_t got_len;
    bool take;
    em_http_client *close_client; /* closed inside on_upgrade, after the move */
    bool client_closed;
} up_rec;

static void up_read(em_tcp_conn *t, ssize_t n) {
    up_rec *u = EM_CONTAINER_OF(t, up_rec, t);
    if (n < 0)
        return;
    size_t k = em_buf_len(&t->in);
    if (u->got_len + k < sizeof u->got) {
        memcpy(u->got + u->got_len, em_buf_data(&t->in), k);
        u->got_len += k;
    }
    em_buf_consume(&t->in, k);
}
static const em_tcp_conn_cbs up_tcp_cbs = {.on_read = up_read};

static void up_closed(em_tcp_conn *t) {
    EM_CONTAINER_OF(t, up_rec, t)->closed++;
}

static void up_upgrade(em_http_call *call, const em_http_response *resp, em_tcp_conn *tcp) {
    up_rec *u = em_http_call_data(call);
    u->upgrades++;
    u->status = resp->status;
    if (!u->take)
        return;
    assert_int_equal(em_tcp_conn_move(&u->t, tcp, &up_tcp_cbs), 0);
    /* the bytes after the 101's head came along */
    up_read(&u->t, 1);
    assert_int_equal(em_tcp_conn_read_start(&u->t), 0);
    em_slice s = EM_SLICE_LIT("ping\r\n\r\n");
    assert_int_equal(em_tcp_conn_write(&u->t, &s, 1, EM_TCP_WRITE_COPY, NULL), 0);
    if (u->close_client)
        em_http_client_close(u->close_client, fixture_client_closed, &u->client_closed);
}

static const em_http_client_cbs up_cbs = {
    .on_head = rec_head, .on_body = rec_body, .on_done = rec_done, .on_upgrade = up_upgrade};

static void test_upgrade_hands_over_the_connection(void **state) {
    (void)state;
    static const char *const script[] = {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: "
                                         "websocket\r\nConnection: Upgrade\r\n\r\nEXTRA",
                                         "pong"};
    fixture f;
    fixture_setup(&f, script, 2, NULL);
    up_rec *u = calloc(1, sizeof *u);
    u->take = true;
    em_http_req req = {.url = raw_url(&f.rs, "/ws"), .upgrade = "websocket"};
    assert_int_equal(em_http_client_do(f.cl, &req, &up_cbs, u, NULL), 0);
    EM_TEST_RUN_UNTIL(&f.loop, u->r.dones && u->got_len >= 9, 5000);
    assert_int_equal(u->r.err, 0);
    assert_int_equal(u->upgrades, 1);
    assert_int_equal(u->status, 101);
    assert_int_equal(u->r.heads, 0); /* the 101 is not an answer */
    assert_true(STARTS(f.rs.last, "ping")); /* the server saw our bytes on the same socket */
    assert_memory_equal(u->got, "EXTRApong", 9);
    assert_int_equal(em_http_client_conns(f.cl), 0); /* not pooled */
    em_tcp_conn_close(&u->t, up_closed);
    EM_TEST_RUN_UNTIL(&f.loop, u->closed, 5000);
    free(u);
    fixture_teardown(&f, NULL);
}


/* The client may be closed inside on_upgrade (a WebSocket client that made
 * one for its handshake does): the connection taken stays the taker's, and
 * the client's own state for it is still freed (ASan's leak check). */
static void test_upgrade_then_close_the_client(void **state) {
    (void)state;
    static const char *const script[] = {
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n", "pong"};
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    raw_server rs;
    raw_start(&rs, &loop, script, 2);
    em_dns_resolver_opts ro = {.hosts_file = "", .servers = "127.0.0.1:9"};
    em_http_client *cl;
    assert_int_equal(em_http_client_new(&cl, &loop, &(em_http_client_opts){.resolver_opts = &ro}),
                     0);
    up_rec *u = calloc(1, sizeof *u);
    u->take = true;
    u->close_client = cl;
    em_http_req req = {.url = raw_url(&rs, "/"), .upgrade = "x"};
    assert_int_equal(em_http_client_do(cl, &req, &up_cbs, u, NULL), 0);
    EM_TEST_RUN_UNTIL(&loop, u->client_closed && u->got_len >= 4, 5000);
    assert_int_equal(u->upgrades, 1);
    assert_memory_equal(u->got, "pong", 4);
    em_tcp_conn_close(&u->t, up_closed);
    EM_TEST_RUN_UNTIL(&loop, u->closed, 5000);
    raw_stop(&rs);
    EM_TEST_RUN_UNTIL(&loop, rs.open == 0, 5000);
    em_loop_run(&loop, EM_RUN_NOWAIT);
    assert_int_equal(em_loop_close(&loop), 0);
    free(u);
}

static void test_upgrade_request_and_refusals(void **state) {
    (void)state;
    static const char *const script[] = {
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno"};
    fixture f;
    fixture_setup(&f, script, 2, NULL);
    /* not taken: the connection is closed and the call fails */
    up_rec *u = calloc(1, sizeof *u);
    em_http_header h[] = {{EM_SLICE_LIT("Sec-WebSocket-Version"), EM_SLICE_LIT("13"), 0}};
    em_http_req req = {.url = raw_url(&f.rs, "/ws"), .upgrade = "websocket", .headers = h,
                       .num_headers = 1};
    assert_int_equal(em_http_client_do(f.cl, &req, &up_cbs, u, NULL), 0);
    EM_TEST_RUN_UNTIL(&f.loop, u->r.dones, 5000);
    assert_int_equal(u->upgrades, 1);
    assert_int_equal(u->r.err, EM_EPROTO);
    assert_true(STARTS(f.rs.last, "GET /ws HTTP/1.1\r\n"));
    assert_non_null(strstr(f.rs.last, "\r\nConnection: Upgrade\r\n"));
    assert_non_null(strstr(f.rs.last, "\r\nUpgrade: websocket\r\n"));
    assert_non_null(strstr(f.rs.last, "\r\nSec-WebSocket-Version: 13\r\n"));
    /* an answer other than 101 is an ordinary response */
    memset(u, 0, sizeof *u);
    assert_int_equal(em_http_client_do(f.cl, &req, &up_cbs, u, NULL), 0);
    EM_TEST_RUN_UNTIL(&f.loop, u->r.dones, 5000);
    assert_int_equal(u->r.err, 0);
    assert_int_equal(u->upgrades, 0);
    assert_int_equal(u->r.status, 403);
    assert_memory_equal(u->r.body, "no", 2);
    /* an upgrade needs on_upgrade, a GET and no body */
    assert_int_equal(em_http_client_do(f.cl, &req, &rec_cbs, u, NULL), EM_EINVAL);
    em_http_req post = req;
    post.method = "POST";
    assert_int_equal(em_http_client_do(f.cl, &post, &up_cbs, u, NULL), EM_EINVAL);
    em_http_req bad = req;
    bad.upgrade = "web\r\nsocket";
    assert_int_equal(em_http_client_do(f.cl, &bad, &up_cbs, u, NULL), EM_EINVAL);
    /* an unasked-for 101 is still a protocol error */
    free(u);
    fixture_teardown(&f, NULL);
}


/* ---- streamed request bodies ----------------------------------------------- */

/* An ember server on the test's loop that answers with the body's length
 * and its bytes. */
static void echo_body(em_http_ctx *cx, const em_http_handler *h) {
    (void)h;
    /* the body's length, its byte sum, and how it was framed */
    unsigned long sum = 0;
    for (size_t i = 0; i < cx->body.len; i++)
        sum += (unsigned char)cx->body.ptr[i];
    em_slice te = em_http_request_header(cx, "transfer-encoding");
    char out[128];
    snprintf(out, sizeof out, "len=%zu sum=%lu te=%.*s", cx->body.len, sum, (int)te.len, te.ptr);
    (void)em_http_respond_text(cx, 200, out);
}
static const em_http_handler echo_handler = {echo_body, NULL, NULL};

typedef struct up_stream {
    rec r;
    const char *piece;
    int pieces, written, writables, fulls, sents;
    uint64_t last_token, sent_token;
    bool end, short_end;
    int end_rc, early_rc;
} up_stream;

static void us_writable(em_http_call *call) {
    up_stream *u = em_http_call_data(call);
    u->writables++;
    while (u->written < u->pieces) {
        int rc = em_http_call_write(call, em_slice_from_cstr(u->piece), &u->last_token);
        assert_true(rc == 0 || rc == EM_HTTP_FULL);
        u->written++;
        if (rc == EM_HTTP_FULL) {
            u->fulls++;
            return; /* on_writable again once drained */
        }
    }
    if (!u->end) {
        u->end = true;
        u->end_rc = em_http_call_write_end(call);
        /* after the end, no more */
        assert_int_equal(em_http_call_write(call, EM_SLICE_LIT("x"), NULL), EM_EINVAL);
    }
}

static void us_sent(em_http_call *call, uint64_t token) {
    up_stream *u = em_http_call_data(call);
    u->sents++;
    assert_true(token >= u->sent_token);
    u->sent_token = token;
}

static const em_http_client_cbs us_cbs = {.on_head = rec_head,
                                          .on_body = rec_body,
                                          .on_done = rec_done,
                                          .on_writable = us_writable,
                                          .on_sent = us_sent};

static void test_streamed_request_bodies(void **state) {
    (void)state;
    fixture f;
    fixture_setup(&f, NULL, 0, NULL);
    em_http_server srv;
    em_http_server_opts so = {.handler = &echo_handler};
    em_http_limits lim = {.max_body = 64u << 20};
    so.limits = lim;
    em_sockaddr any = em_sockaddr_loopback4(0), bound;
    assert_int_equal(em_http_server_start(&f.loop, &srv, &any, &so), 0);
    assert_int_equal(em_http_server_addr(&srv, &bound), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/up", (unsigned)em_sockaddr_port(&bound));
    /* 512 pieces of 16 KiB, written from one callback while the server on
     * the same loop cannot read: the socket buffers fill, the queue passes
     * its high watermark, so EM_HTTP_FULL comes and on_writable again */
    static char piece[16385];
    memset(piece, 'a', 16384);
    for (int round = 0; round < 2; round++) {
        up_stream *u = calloc(1, sizeof *u);
        u->piece = piece;
        u->pieces = 512;
        em_http_req req = {.url = url, .method = "PUT", .stream_body = true,
                           .body_length = round ? 512 * 16384 : EM_HTTP_LENGTH_UNKNOWN};
        assert_int_equal(em_http_client_do(f.cl, &req, &us_cbs, u, NULL), 0);
        EM_TEST_RUN_UNTIL(&f.loop, u->r.dones, 10000);
        assert_int_equal(u->r.err, 0);
        assert_int_equal(u->r.status, 200);
        assert_int_equal(u->end_rc, 0);
        char want[128];
        snprintf(want, sizeof want, "len=%d sum=%lu te=%s", 512 * 16384, 512ul * 16384 * 'a',
                 round ? "" : "chunked");
        assert_int_equal(u->r.body_len, strlen(want));
        assert_memory_equal(u->r.body, want, strlen(want));
        assert_true(u->fulls >= 1);
        assert_true(u->writables >= 1);
        assert_true(u->sents >= 1);
        assert_true(u->sent_token >= u->last_token); /* the last write was reported */
        free(u);
    }
    /* a Content-Length body that ends short fails the call: the server
     * could not tell where it ends */
    up_stream *u = calloc(1, sizeof *u);
    u->piece = "only 18 bytes here";
    u->pieces = 1;
    em_http_req req = {.url = url, .method = "POST", .stream_body = true, .body_length = 1000};
    assert_int_equal(em_http_client_do(f.cl, &req, &us_cbs, u, NULL), 0);
    EM_TEST_RUN_UNTIL(&f.loop, u->r.dones, 10000);
    assert_int_equal(u->end_rc, EM_EINVAL);
    assert_int_equal(u->r.err, EM_EINVAL);
    free(u);
    /* a streamed body needs on_writable and no body slice */
    em_http_req bad = {.url = url, .stream_body = true, .body = EM_SLICE_LIT("x")};
    assert_int_equal(em_http_client_do(f.cl, &bad, &us_cbs, NULL, NULL), EM_EINVAL);
    em_http_req bad2 = {.url = url, .stream_body = true};
    assert_int_equal(em_http_client_do(f.cl, &bad2, &rec_cbs, NULL, NULL), EM_EINVAL);
    em_http_server_shutdown(&srv, NULL);
    fixture_teardown(&f, NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_and_request_bytes),
        cmocka_unit_test(test_post_body_and_credentials),
        cmocka_unit_test(test_bad_requests_refused),
        cmocka_unit_test(test_framings),
        cmocka_unit_test(test_transfer_coding_without_body),
        cmocka_unit_test(test_truncated_body_is_an_error),
        cmocka_unit_test(test_bad_responses),
        cmocka_unit_test(test_head_size_limits),
        cmocka_unit_test(test_keep_alive_and_stale_connection),
        cmocka_unit_test(test_late_bytes_are_no_response),
        cmocka_unit_test(test_late_bytes_are_no_response_when_queued),
        cmocka_unit_test(test_reset_idle_connection_not_reused),
        cmocka_unit_test(test_retry_idempotent_once),
        cmocka_unit_test(test_cap_per_host_queues),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_redirects),
        cmocka_unit_test(test_own_host),
        cmocka_unit_test(test_no_host),
        cmocka_unit_test(test_refused_heads_say_where),
        cmocka_unit_test(test_redirect_limits),
        cmocka_unit_test(test_redirect_heads_reported),
        cmocka_unit_test(test_interim_heads_reported),
        cmocka_unit_test(test_redirect_fragment_inherited),
        cmocka_unit_test(test_redirect_to_get_drops_content_fields),
        cmocka_unit_test(test_header_count_limit),
        cmocka_unit_test(test_proxy_tunnels_upgrades),
        cmocka_unit_test(test_cancel_and_pause),
        cmocka_unit_test(test_pause_is_no_stall),
        cmocka_unit_test(test_expect_417_goes_again_without),
        cmocka_unit_test(test_expect_without_100_sends_the_body_after_the_wait),
        cmocka_unit_test(test_proxy_absolute_form_and_no_proxy),
        cmocka_unit_test(test_close_ends_calls),
        cmocka_unit_test(test_upgrade_hands_over_the_connection),
        cmocka_unit_test(test_upgrade_request_and_refusals),
        cmocka_unit_test(test_upgrade_then_close_the_client),
        cmocka_unit_test(test_streamed_request_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

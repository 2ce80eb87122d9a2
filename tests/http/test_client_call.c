/* The request head a client call writes (http/client_call.c) against a
 * scripted server: a field the client would generate and the caller gave
 * too goes out once (RFC 9110 §5.3 for Authorization and
 * Proxy-Authorization, RFC 6265 §5.4 for Cookie: the caller's cookies and
 * the jar's share one field). */
#include <strings.h>
#include <time.h>

#include "client_test_util.h"

#define OK_HELLO "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"

/* One call that must succeed. */
static void run(fixture *f, rec *r, const em_http_req *req) {
    fixture_run(f, r, req);
    assert_int_equal(r->err, 0);
}

/* The field lines of head named name (any case), and the value of the last
 * one in val. */
static int fields(const char *head, const char *name, char *val, size_t cap) {
    int n = 0;
    size_t nl = strlen(name);
    val[0] = 0;
    for (const char *p = strstr(head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2, *end = strstr(line, "\r\n");
        if (!end)
            break;
        if (!strncasecmp(line, name, nl) && line[nl] == ':') {
            const char *v = line + nl + 1 + (line[nl + 1] == ' ');
            snprintf(val, cap, "%.*s", (int)(end - v), v);
            n++;
        }
    }
    return n;
}

static void test_caller_authorization_wins(void **state) {
    (void)state;
    static const char *const script[] = {OK_HELLO, OK_HELLO, OK_HELLO};
    fixture f;
    fixture_setup(&f, script, 3, NULL);
    char v[256];
    /* Basic credentials and the caller's own field: the caller's goes, alone */
    em_http_header own[] = {{EM_SLICE_LIT("Authorization"), EM_SLICE_LIT("Bearer zzz"), 0}};
    rec r = {0};
    run(&f, &r, &(em_http_req){.url = raw_url(&f.rs, "/a"), .user = "u", .password = "p",
                               .headers = own, .num_headers = 1});
    assert_int_equal(fields(f.rs.last, "authorization", v, sizeof v), 1);
    assert_string_equal(v, "Bearer zzz");
    /* a bearer token, the field named in lower case */
    em_http_header lower[] = {{EM_SLICE_LIT("authorization"), EM_SLICE_LIT("Basic bWU6aQ=="), 0}};
    rec r2 = {0};
    run(&f, &r2, &(em_http_req){.url = raw_url(&f.rs, "/b"), .bearer = "tok", .headers = lower,
                                .num_headers = 1});
    assert_int_equal(fields(f.rs.last, "authorization", v, sizeof v), 1);
    assert_string_equal(v, "Basic bWU6aQ==");
    /* the URL's userinfo is credentials too */
    char url[128];
    snprintf(url, sizeof url, "http://u:p@127.0.0.1:%u/c", (unsigned)em_sockaddr_port(&f.rs.addr));
    rec r3 = {0};
    run(&f, &r3, &(em_http_req){.url = url, .headers = own, .num_headers = 1});
    assert_int_equal(fields(f.rs.last, "authorization", v, sizeof v), 1);
    assert_string_equal(v, "Bearer zzz");
    fixture_teardown(&f, NULL);
}

/* f's server answers its one request with a 302 to g, another origin
 * (another port) on f's loop that answers OK_HELLO once. */
static void redirect_elsewhere(fixture *f, raw_server *g) {
    static const char *const gscript[] = {OK_HELLO};
    raw_start(g, &f->loop, gscript, 1);
    static char moved[256];
    snprintf(moved, sizeof moved, "HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n",
             raw_url(g, "/there"));
    static const char *script[1];
    script[0] = moved;
    f->rs.script = script;
    f->rs.nscript = 1;
}

static void test_caller_authorization_stays_home(void **state) {
    (void)state;
    fixture f;
    fixture_setup(&f, NULL, 0, NULL);
    raw_server g;
    redirect_elsewhere(&f, &g);
    em_http_header own[] = {{EM_SLICE_LIT("Authorization"), EM_SLICE_LIT("Bearer zzz"), 0}};
    rec r = {0};
    run(&f, &r, &(em_http_req){.url = raw_url(&f.rs, "/a"), .user = "u", .password = "p",
                               .headers = own, .num_headers = 1, .max_redirects = 2});
    char v[256];
    assert_int_equal(fields(f.rs.last, "authorization", v, sizeof v), 1);
    assert_string_equal(v, "Bearer zzz");
    /* neither the caller's nor the generated one crosses to g */
    assert_int_equal(r.redirects, 1);
    assert_int_equal(fields(g.last, "authorization", v, sizeof v), 0);
    fixture_teardown(&f, &g);
}

static void test_caller_proxy_authorization_wins(void **state) {
    (void)state;
    static const char *const script[] = {OK_HELLO};
    fixture f;
    fixture_setup(&f, script, 1, NULL);
    char proxy[64];
    snprintf(proxy, sizeof proxy, "u:p@127.0.0.1:%u", (unsigned)em_sockaddr_port(&f.rs.addr));
    em_http_client *pc;
    em_dns_resolver_opts ro = {.hosts_file = "", .servers = "127.0.0.1:9"};
    em_http_client_opts o = {.proxy = proxy, .resolver_opts = &ro};
    assert_int_equal(em_http_client_new(&pc, &f.loop, &o), 0);
    em_http_header own[] = {
        {EM_SLICE_LIT("Proxy-Authorization"), EM_SLICE_LIT("Basic bWluZQ=="), 0}};
    rec r = {0};
    assert_int_equal(em_http_client_do(pc, &(em_http_req){.url = "http://example.test/x",
                                                          .headers = own, .num_headers = 1},
                                       &rec_cbs, &r, NULL),
                     0);
    EM_TEST_RUN_UNTIL(&f.loop, r.dones, 10000);
    assert_int_equal(r.err, 0);
    char v[256];
    assert_int_equal(fields(f.rs.last, "proxy-authorization", v, sizeof v), 1);
    assert_string_equal(v, "Basic bWluZQ==");
    bool closed = false;
    em_http_client_close(pc, fixture_client_closed, &closed);
    EM_TEST_RUN_UNTIL(&f.loop, closed, 5000);
    fixture_teardown(&f, NULL);
}

/* A jar holding j=9 for 127.0.0.1 (any port: cookies ignore ports). */
static em_cookie_jar *jar_with_j(const raw_server *rs) {
    em_cookie_jar *jar;
    assert_int_equal(em_cookie_jar_new(&jar, NULL), 0);
    em_url u;
    assert_int_equal(em_url_parse(&u, em_slice_from_cstr(raw_url(rs, "/"))), 0);
    assert_int_equal(em_cookie_jar_set(jar, &u, EM_SLICE_LIT("j=9"), (int64_t)time(NULL)), 0);
    em_url_free(&u);
    return jar;
}

static void test_one_cookie_field(void **state) {
    (void)state;
    static const char *const script[] = {OK_HELLO, OK_HELLO, OK_HELLO, OK_HELLO};
    fixture f;
    fixture_setup(&f, script, 4, NULL);
    em_cookie_jar *jar = jar_with_j(&f.rs);
    em_http_client *jc; /* a client with the jar, on the same loop */
    em_dns_resolver_opts ro = {.hosts_file = "", .servers = "127.0.0.1:9"};
    em_http_client_opts o = {.cookie_jar = jar, .resolver_opts = &ro};
    assert_int_equal(em_http_client_new(&jc, &f.loop, &o), 0);
    em_http_header two[] = {{EM_SLICE_LIT("Cookie"), EM_SLICE_LIT("a=1"), 0},
                            {EM_SLICE_LIT("X-Other"), EM_SLICE_LIT("x"), 0},
                            {EM_SLICE_LIT("cookie"), EM_SLICE_LIT("b=2"), 0}};
    char v[256];
    /* the caller's first, then the jar's, in one field */
    rec r = {0};
    assert_int_equal(em_http_client_do(jc, &(em_http_req){.url = raw_url(&f.rs, "/1"),
                                                          .headers = two + 2, .num_headers = 1},
                                       &rec_cbs, &r, NULL),
                     0);
    EM_TEST_RUN_UNTIL(&f.loop, r.dones, 10000);
    assert_int_equal(r.err, 0);
    assert_int_equal(fields(f.rs.last, "cookie", v, sizeof v), 1);
    assert_string_equal(v, "b=2; j=9");
    /* two of the caller's and the jar's */
    rec r2 = {0};
    assert_int_equal(em_http_client_do(jc, &(em_http_req){.url = raw_url(&f.rs, "/2"),
                                                          .headers = two, .num_headers = 3},
                                       &rec_cbs, &r2, NULL),
                     0);
    EM_TEST_RUN_UNTIL(&f.loop, r2.dones, 10000);
    assert_int_equal(r2.err, 0);
    assert_int_equal(fields(f.rs.last, "cookie", v, sizeof v), 1);
    assert_string_equal(v, "a=1; b=2; j=9");
    assert_int_equal(fields(f.rs.last, "x-other", v, sizeof v), 1);
    /* the jar's alone */
    rec r3 = {0};
    assert_int_equal(em_http_client_do(jc, &(em_http_req){.url = raw_url(&f.rs, "/3")}, &rec_cbs,
                                       &r3, NULL),
                     0);
    EM_TEST_RUN_UNTIL(&f.loop, r3.dones, 10000);
    assert_int_equal(r3.err, 0);
    assert_int_equal(fields(f.rs.last, "cookie", v, sizeof v), 1);
    assert_string_equal(v, "j=9");
    /* no jar: the caller's two, in one field */
    rec r4 = {0};
    run(&f, &r4, &(em_http_req){.url = raw_url(&f.rs, "/4"), .headers = two, .num_headers = 3});
    assert_int_equal(fields(f.rs.last, "cookie", v, sizeof v), 1);
    assert_string_equal(v, "a=1; b=2");
    bool closed = false;
    em_http_client_close(jc, fixture_client_closed, &closed);
    EM_TEST_RUN_UNTIL(&f.loop, closed, 5000);
    fixture_teardown(&f, NULL);
    em_cookie_jar_free(jar);
}

static void test_caller_cookie_stays_home(void **state) {
    (void)state;
    fixture f;
    fixture_setup(&f, NULL, 0, NULL);
    em_cookie_jar *jar = jar_with_j(&f.rs);
    raw_server g; /* the same host for the jar */
    redirect_elsewhere(&f, &g);
    em_http_client *jc;
    em_dns_resolver_opts ro = {.hosts_file = "", .servers = "127.0.0.1:9"};
    em_http_client_opts o = {.cookie_jar = jar, .resolver_opts = &ro};
    assert_int_equal(em_http_client_new(&jc, &f.loop, &o), 0);
    em_http_header own[] = {{EM_SLICE_LIT("Cookie"), EM_SLICE_LIT("secret=1"), 0}};
    rec r = {0};
    assert_int_equal(em_http_client_do(jc, &(em_http_req){.url = raw_url(&f.rs, "/a"),
                                                          .headers = own, .num_headers = 1,
                                                          .max_redirects = 2},
                                       &rec_cbs, &r, NULL),
                     0);
    EM_TEST_RUN_UNTIL(&f.loop, r.dones, 10000);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.redirects, 1);
    char v[256];
    assert_int_equal(fields(f.rs.last, "cookie", v, sizeof v), 1);
    assert_string_equal(v, "secret=1; j=9");
    /* the caller's stays home; the jar's goes where the jar says */
    assert_int_equal(fields(g.last, "cookie", v, sizeof v), 1);
    assert_string_equal(v, "j=9");
    bool closed = false;
    em_http_client_close(jc, fixture_client_closed, &closed);
    EM_TEST_RUN_UNTIL(&f.loop, closed, 5000);
    fixture_teardown(&f, &g);
    em_cookie_jar_free(jar);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caller_authorization_wins),
        cmocka_unit_test(test_caller_authorization_stays_home),
        cmocka_unit_test(test_caller_proxy_authorization_wins),
        cmocka_unit_test(test_one_cookie_field),
        cmocka_unit_test(test_caller_cookie_stays_home),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* http/router.c: patterns, priorities, 404 vs 405, HEAD via GET, bad
 * patterns, duplicates, many random routes and hostile paths. */
#include <stdio.h>
#include <string.h>

#include "em_test.h"
#include "ember/http.h"

#define S(lit) EM_SLICE_LIT(lit)

static em_slice cs(const char *s) {
    return em_slice_make(s, strlen(s));
}

static void assert_slice(em_slice got, const char *want) {
    assert_int_equal(got.len, strlen(want));
    if (got.len)
        assert_memory_equal(got.ptr, want, got.len);
}

static void add_ok(em_http_router *r, em_http_method m, const char *pat, void *target) {
    int rc = em_http_router_add(r, m, cs(pat), target);
    if (rc != 0)
        fail_msg("add %s: error %d", pat, rc);
}

static em_http_route_result match(const em_http_router *r, em_http_method m, const char *path,
                                  em_http_route_match *out) {
    return em_http_router_match(r, m, cs(path), out);
}

/* Expect FOUND with target t; return the match for param checks. */
static em_http_route_match found(const em_http_router *r, em_http_method m, const char *path,
                                 void *t) {
    em_http_route_match mt;
    em_http_route_result res = match(r, m, path, &mt);
    if (res != EM_HTTP_ROUTE_FOUND)
        fail_msg("%s: result %d, not FOUND", path, (int)res);
    assert_ptr_equal(mt.target, t);
    assert_int_equal(mt.allowed, 0);
    return mt;
}

static void not_found(const em_http_router *r, em_http_method m, const char *path) {
    em_http_route_match mt;
    if (match(r, m, path, &mt) != EM_HTTP_ROUTE_NOT_FOUND)
        fail_msg("%s matched", path);
    assert_null(mt.target);
    assert_int_equal(mt.nparams, 0);
    assert_int_equal(mt.allowed, 0);
}

/* Expect 405 whose Allow value is allow_text. */
static void not_allowed(const em_http_router *r, em_http_method m, const char *path,
                        const char *allow_text) {
    em_http_route_match mt;
    if (match(r, m, path, &mt) != EM_HTTP_ROUTE_METHOD_NOT_ALLOWED)
        fail_msg("%s: not 405", path);
    assert_null(mt.target);
    char buf[EM_HTTP_ROUTER_ALLOW_MAX];
    ssize_t n = em_http_router_allow_format(mt.allowed, buf, sizeof buf);
    assert_true(n >= 0);
    assert_slice(em_slice_make(buf, (size_t)n), allow_text);
}

static int T[16]; /* distinct targets: &T[i] */

static void test_empty_router(void **state) {
    em_http_router r;
    em_http_router_init(&r);
    not_found(&r, EM_HTTP_GET, "/");
    em_http_router_free(&r);
    em_http_router_free(&r); /* idempotent */
    em_http_router z = {0};  /* zero-filled is empty too */
    not_found(&z, EM_HTTP_GET, "/x");
    add_ok(&z, EM_HTTP_GET, "/x", &T[0]);
    found(&z, EM_HTTP_GET, "/x", &T[0]);
    em_http_router_free(&z);
    add_ok(&z, EM_HTTP_GET, "/y", &T[1]); /* reusable after free */
    found(&z, EM_HTTP_GET, "/y", &T[1]);
    not_found(&z, EM_HTTP_GET, "/x");
    em_http_router_free(&z);
}

static void test_literals_and_slashes(void **state) {
    em_http_router r;
    em_http_router_init(&r);
    add_ok(&r, EM_HTTP_GET, "/", &T[0]);
    add_ok(&r, EM_HTTP_GET, "/users", &T[1]);
    add_ok(&r, EM_HTTP_GET, "/users/list", &T[2]);
    add_ok(&r, EM_HTTP_GET, "/dir/", &T[3]);
    add_ok(&r, EM_HTTP_GET, "/a//b", &T[4]);
    add_ok(&r, EM_HTTP_GET, "/a:b", &T[5]);
    add_ok(&r, EM_HTTP_GET, "/x*y", &T[6]);
    assert_int_equal(found(&r, EM_HTTP_GET, "/", &T[0]).nparams, 0);
    found(&r, EM_HTTP_GET, "/users", &T[1]);
    found(&r, EM_HTTP_GET, "/users/list", &T[2]);
    found(&r, EM_HTTP_GET, "/dir/", &T[3]);
    found(&r, EM_HTTP_GET, "/a//b", &T[4]);
    found(&r, EM_HTTP_GET, "/a:b", &T[5]);
    found(&r, EM_HTTP_GET, "/x*y", &T[6]);
    /* Strict: trailing slashes and doubled slashes are different paths. */
    not_found(&r, EM_HTTP_GET, "/users/");
    not_found(&r, EM_HTTP_GET, "/dir");
    not_found(&r, EM_HTTP_GET, "//");
    not_found(&r, EM_HTTP_GET, "//users");
    not_found(&r, EM_HTTP_GET, "/a/b");
    not_found(&r, EM_HTTP_GET, "/users/list/");
    not_found(&r, EM_HTTP_GET, "/Users"); /* no case folding */
    not_found(&r, EM_HTTP_GET, "/user");
    not_found(&r, EM_HTTP_GET, "/usersx");
    not_found(&r, EM_HTTP_GET, "/aXb");
    not_found(&r, EM_HTTP_GET, "/users%2Flist"); /* no percent-decoding */
    em_http_router_free(&r);
}

static void test_params(void **state) {
    em_http_router r;
    em_http_router_init(&r);
    add_ok(&r, EM_HTTP_GET, "/users/:id/posts/:post", &T[0]);
    add_ok(&r, EM_HTTP_GET, "/:only", &T[1]);
    em_http_route_match m = found(&r, EM_HTTP_GET, "/users/42/posts/hello%20world", &T[0]);
    assert_int_equal(m.nparams, 2);
    assert_slice(m.params[0].name, "id");
    assert_slice(m.params[0].value, "42");
    assert_slice(m.params[1].name, "post");
    assert_slice(m.params[1].value, "hello%20world"); /* raw, not decoded */
    em_slice v = S("unchanged");
    assert_true(em_http_route_match_param(&m, S("post"), &v));
    assert_slice(v, "hello%20world");
    assert_false(em_http_route_match_param(&m, S("nope"), &v));
    assert_false(em_http_route_match_param(&m, S("i"), &v));
    assert_slice(v, "hello%20world");
    /* A param never matches an empty segment. */
    not_found(&r, EM_HTTP_GET, "/users//posts/x");
    not_found(&r, EM_HTTP_GET, "/users/1/posts/");
    not_found(&r, EM_HTTP_GET, "/users/1/posts");
    not_found(&r, EM_HTTP_GET, "/");
    /* Capture syntax in a path is plain data. */
    m = found(&r, EM_HTTP_GET, "/:id", &T[1]);
    assert_slice(m.params[0].value, ":id");
    m = found(&r, EM_HTTP_GET, "/*", &T[1]);
    assert_slice(m.params[0].value, "*");
    em_http_router_free(&r);
}

static void test_wildcard(void **state) {
    em_http_router r;
    em_http_router_init(&r);
    add_ok(&r, EM_HTTP_GET, "/static/*path", &T[0]);
    const char *p = "/static/css/site.css";
    em_http_route_match m = found(&r, EM_HTTP_GET, p, &T[0]);
    assert_int_equal(m.nparams, 1);
    assert_slice(m.params[0].name, "path");
    assert_slice(m.params[0].value, "css/site.css");
    assert_ptr_equal(m.params[0].value.ptr, p + 8);
    m = found(&r, EM_HTTP_GET, "/static/", &T[0]);
    assert_slice(m.params[0].value, "");
    m = found(&r, EM_HTTP_GET, "/static//x//", &T[0]);
    assert_slice(m.params[0].value, "/x//");
    not_found(&r, EM_HTTP_GET, "/static");
    not_found(&r, EM_HTTP_GET, "/staticx/a");

    add_ok(&r, EM_HTTP_GET, "/*all", &T[1]);
    m = found(&r, EM_HTTP_GET, "/", &T[1]);
    assert_slice(m.params[0].value, "");
    m = found(&r, EM_HTTP_GET, "/static", &T[1]);
    assert_slice(m.params[0].value, "static");
    found(&r, EM_HTTP_GET, "/static/", &T[0]);

    add_ok(&r, EM_HTTP_GET, "/u/:id/files/*rest", &T[2]);
    m = found(&r, EM_HTTP_GET, "/u/7/files/a/b", &T[2]);
    assert_int_equal(m.nparams, 2);
    assert_slice(m.params[0].value, "7");
    assert_slice(m.params[1].name, "rest");
    assert_slice(m.params[1].value, "a/b");
    em_http_router_free(&r);
}

/* Literal beats :param beats *rest, whatever the insertion order. */
static void check_priority(const em_http_router *r) {
    found(r, EM_HTTP_GET, "/f/new", &T[0]);
    em_http_route_match m = found(r, EM_HTTP_GET, "/f/old", &T[1]);
    assert_slice(m.params[0].value, "old");
    m = found(r, EM_HTTP_GET, "/f/a/b", &T[2]);
    assert_slice(m.params[0].value, "a/b");
    m = found(r, EM_HTTP_GET, "/f/", &T[2]); /* :name refuses "" */
    assert_slice(m.params[0].value, "");
    m = found(r, EM_HTTP_GET, "/f/new/", &T[2]);
    assert_slice(m.params[0].value, "new/");
}

static void test_priority(void **state) {
    em_http_router a, b;
    em_http_router_init(&a);
    em_http_router_init(&b);
    add_ok(&a, EM_HTTP_GET, "/f/new", &T[0]);
    add_ok(&a, EM_HTTP_GET, "/f/:name", &T[1]);
    add_ok(&a, EM_HTTP_GET, "/f/*rest", &T[2]);
    add_ok(&b, EM_HTTP_GET, "/f/*rest", &T[2]);
    add_ok(&b, EM_HTTP_GET, "/f/:name", &T[1]);
    add_ok(&b, EM_HTTP_GET, "/f/new", &T[0]);
    check_priority(&a);
    check_priority(&b);
    em_http_router_free(&a);
    em_http_router_free(&b);
}

/* A failed literal branch falls back to the param and wildcard branches. */
static void test_backtracking(void **state) {
    em_http_router r;
    em_http_router_init(&r);
    add_ok(&r, EM_HTTP_GET, "/a/b/c", &T[0]);
    add_ok(&r, EM_HTTP_GET, "/:x/b/d", &T[1]);
    add_ok(&r, EM_HTTP_GET, "/:x/y", &T[2]);
    add_ok(&r, EM_HTTP_GET, "/*rest", &T[3]);
    found(&r, EM_HTTP_GET, "/a/b/c", &T[0]);
    em_http_route_match m = found(&r, EM_HTTP_GET, "/a/b/d", &T[1]);
    assert_slice(m.params[0].value, "a");
    found(&r, EM_HTTP_GET, "/a/y", &T[2]);
    m = found(&r, EM_HTTP_GET, "/a/b/e", &T[3]);
    assert_int_equal(m.nparams, 1);
    assert_slice(m.params[0].name, "rest");
    assert_slice(m.params[0].value, "a/b/e");
    em_http_router_free(&r);
}

static void test_405_and_allow(void **state) {
    em_http_router r;
    em_http_router_init(&r);
    add_ok(&r, EM_HTTP_GET, "/users/:id", &T[0]);
    add_ok(&r, EM_HTTP_DELETE, "/users/:id", &T[1]);
    add_ok(&r, EM_HTTP_POST, "/users", &T[2]);
    add_ok(&r, EM_HTTP_GET, "/users/new", &T[3]);
    add_ok(&r, EM_HTTP_POST, "/only-post", &T[4]);
    not_allowed(&r, EM_HTTP_POST, "/users/7", "GET, HEAD, DELETE");
    not_allowed(&r, EM_HTTP_GET, "/users", "POST");
    not_allowed(&r, EM_HTTP_HEAD, "/only-post", "POST"); /* no GET: no HEAD */
    not_found(&r, EM_HTTP_PUT, "/nothing");
    not_found(&r, EM_HTTP_GET, "/users/7/x");
    /* The literal route lacks DELETE, but the param route has it. */
    found(&r, EM_HTTP_DELETE, "/users/new", &T[1]);
    found(&r, EM_HTTP_GET, "/users/new", &T[3]);
    /* Allow is the union over every route matching the path. */
    add_ok(&r, EM_HTTP_PATCH, "/users/new", &T[5]);
    not_allowed(&r, EM_HTTP_PUT, "/users/new", "GET, HEAD, DELETE, PATCH");
    /* An unknown method token, or a value outside the enum, is never routed. */
    not_allowed(&r, EM_HTTP_METHOD_OTHER, "/users/7", "GET, HEAD, DELETE");
    not_allowed(&r, (em_http_method)EM_HTTP_ROUTER_NMETHODS, "/users/7", "GET, HEAD, DELETE");
    not_allowed(&r, (em_http_method)-1, "/users/7", "GET, HEAD, DELETE");
    not_found(&r, EM_HTTP_METHOD_OTHER, "/nothing");
    em_http_router_free(&r);
}

static void test_head_via_get(void **state) {
    em_http_router r;
    em_http_router_init(&r);
    add_ok(&r, EM_HTTP_GET, "/page", &T[0]);
    found(&r, EM_HTTP_HEAD, "/page", &T[0]);
    not_allowed(&r, EM_HTTP_POST, "/page", "GET, HEAD");
    add_ok(&r, EM_HTTP_HEAD, "/page", &T[1]); /* explicit HEAD wins over GET */
    found(&r, EM_HTTP_HEAD, "/page", &T[1]);
    found(&r, EM_HTTP_GET, "/page", &T[0]);
    assert_int_equal(em_http_router_add(&r, EM_HTTP_HEAD, S("/page"), &T[2]), EM_EEXIST);
    add_ok(&r, EM_HTTP_HEAD, "/h", &T[3]); /* HEAD alone does not imply GET */
    not_allowed(&r, EM_HTTP_GET, "/h", "HEAD");
    /* HEAD via GET keeps route priority: the literal GET beats a param HEAD. */
    add_ok(&r, EM_HTTP_GET, "/p/x", &T[4]);
    add_ok(&r, EM_HTTP_HEAD, "/p/:v", &T[5]);
    found(&r, EM_HTTP_HEAD, "/p/x", &T[4]);
    found(&r, EM_HTTP_HEAD, "/p/y", &T[5]);
    em_http_router_free(&r);
}

/* The union of every route's methods (OPTIONS *'s Allow). */
static void test_router_methods(void **state) {
    (void)state;
    em_http_router r;
    em_http_router_init(&r);
    assert_int_equal(em_http_router_methods(&r), 0);
    assert_int_equal(em_http_router_add(&r, EM_HTTP_POST, EM_SLICE_LIT("/a"), NULL), 0);
    assert_int_equal(em_http_router_methods(&r), EM_HTTP_METHOD_BIT(EM_HTTP_POST));
    assert_int_equal(em_http_router_add(&r, EM_HTTP_GET, EM_SLICE_LIT("/b/:x"), NULL), 0);
    assert_int_equal(em_http_router_add(&r, EM_HTTP_DELETE, EM_SLICE_LIT("/c/*rest"), NULL), 0);
    assert_int_equal(em_http_router_methods(&r),
                     EM_HTTP_METHOD_BIT(EM_HTTP_POST) | EM_HTTP_METHOD_BIT(EM_HTTP_GET) |
                         EM_HTTP_METHOD_BIT(EM_HTTP_HEAD) | EM_HTTP_METHOD_BIT(EM_HTTP_DELETE));
    em_http_router_free(&r);
    assert_int_equal(em_http_router_methods(&r), 0);
}

static void test_allow_format(void **state) {
    char buf[EM_HTTP_ROUTER_ALLOW_MAX];
    const char *all = "GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH";
    unsigned every = ~0u; /* OTHER and bits past the enum have no name */
    ssize_t n = em_http_router_allow_format(every, buf, sizeof buf);
    assert_true(n > 0 && (size_t)n < sizeof buf);
    assert_slice(em_slice_make(buf, (size_t)n), all);
    assert_int_equal(em_http_router_allow_format(0, NULL, 0), 0);
    n = em_http_router_allow_format(EM_HTTP_METHOD_BIT(EM_HTTP_TRACE), buf, sizeof buf);
    assert_slice(em_slice_make(buf, (size_t)n), "TRACE");
    unsigned gp = EM_HTTP_METHOD_BIT(EM_HTTP_GET) | EM_HTTP_METHOD_BIT(EM_HTTP_POST);
    assert_int_equal(em_http_router_allow_format(gp, buf, 9), 9); /* "GET, POST" */
    assert_int_equal(em_http_router_allow_format(gp, buf, 8), EM_ENOBUFS);
    assert_int_equal(em_http_router_allow_format(gp, buf, 2), EM_ENOBUFS);
}

static void test_bad_patterns(void **state) {
    static const struct {
        const char *pat;
        size_t len; /* 0: strlen */
        int err;
    } bad[] = {
        {"", 0, EM_EINVAL},
        {"users", 0, EM_EINVAL},
        {"/:", 0, EM_EINVAL},
        {"/a/:", 0, EM_EINVAL},
        {"/*", 0, EM_EINVAL},
        {"/*a/b", 0, EM_EINVAL},
        {"/*a/", 0, EM_EINVAL},
        {"/:a/:a", 0, EM_EINVAL},
        {"/:a/*a", 0, EM_EINVAL},
        {"/a b", 0, EM_EINVAL},
        {"/a?b", 0, EM_EINVAL},
        {"/a#", 0, EM_EINVAL},
        {"/:na-me", 0, EM_EINVAL},
        {"/:x.json", 0, EM_EINVAL},
        {"/:a:b", 0, EM_EINVAL},
        {"/*a*", 0, EM_EINVAL},
        {"/\x01", 0, EM_EINVAL},
        {"/a\x7f", 0, EM_EINVAL},
        {"/a\0b", 4, EM_EINVAL},
        {"/:a\0", 4, EM_EINVAL},
        {" /a", 0, EM_EINVAL},
        {"/:a/:b/:c/:d/:e/:f/:g/:h/:i", 0, EM_ELIMIT},
        {"/:a/:b/:c/:d/:e/:f/:g/:h/*i", 0, EM_ELIMIT},
    };
    em_http_router r;
    em_http_router_init(&r);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = bad[i].len ? bad[i].len : strlen(bad[i].pat);
        int rc = em_http_router_add(&r, EM_HTTP_GET, em_slice_make(bad[i].pat, len), &T[0]);
        if (rc != bad[i].err)
            fail_msg("pattern %zu: error %d", i, rc);
    }
    assert_int_equal(em_http_router_add(&r, EM_HTTP_GET, em_slice_make(NULL, 0), &T[0]), EM_EINVAL);
    assert_int_equal(em_http_router_add(&r, EM_HTTP_METHOD_OTHER, S("/ok"), &T[0]), EM_EINVAL);
    assert_int_equal(
        em_http_router_add(&r, (em_http_method)EM_HTTP_ROUTER_NMETHODS, S("/ok"), &T[0]),
        EM_EINVAL);
    assert_int_equal(em_http_router_add(&r, (em_http_method)-1, S("/ok"), &T[0]), EM_EINVAL);
    /* Nothing above was added. */
    not_found(&r, EM_HTTP_GET, "/");
    not_found(&r, EM_HTTP_GET, "/ok");
    not_found(&r, EM_HTTP_GET, "/a/b");

    /* The limits themselves are fine. */
    add_ok(&r, EM_HTTP_GET, "/:a/:b/:c/:d/:e/:f/:g/*h", &T[1]);
    em_http_route_match m = found(&r, EM_HTTP_GET, "/1/2/3/4/5/6/7/8/9", &T[1]);
    assert_int_equal(m.nparams, EM_HTTP_ROUTER_MAX_PARAMS);
    assert_slice(m.params[7].name, "h");
    assert_slice(m.params[7].value, "8/9");

    char pat[2 * EM_HTTP_ROUTER_MAX_SEGMENTS + 8];
    size_t n = 0;
    for (int i = 0; i < EM_HTTP_ROUTER_MAX_SEGMENTS; i++)
        n += (size_t)sprintf(pat + n, "/s");
    add_ok(&r, EM_HTTP_GET, pat, &T[2]);
    found(&r, EM_HTTP_GET, pat, &T[2]);
    strcat(pat, "/s");
    assert_int_equal(em_http_router_add(&r, EM_HTTP_GET, cs(pat), &T[3]), EM_ELIMIT);
    found(&r, EM_HTTP_GET, pat, &T[1]); /* only the wildcard route takes it */

    char name[EM_HTTP_ROUTER_MAX_NAME + 8] = "/:";
    memset(name + 2, 'n', EM_HTTP_ROUTER_MAX_NAME);
    name[2 + EM_HTTP_ROUTER_MAX_NAME] = '\0';
    add_ok(&r, EM_HTTP_POST, name, &T[4]);
    m = found(&r, EM_HTTP_POST, "/v", &T[4]);
    assert_int_equal(m.params[0].name.len, EM_HTTP_ROUTER_MAX_NAME);
    strcat(name, "n");
    assert_int_equal(em_http_router_add(&r, EM_HTTP_PUT, cs(name), &T[5]), EM_ELIMIT);
    em_http_router_free(&r);
}

static void test_duplicates(void **state) {
    em_http_router r;
    em_http_router_init(&r);
    add_ok(&r, EM_HTTP_GET, "/u/:id", &T[0]);
    assert_int_equal(em_http_router_add(&r, EM_HTTP_GET, S("/u/:id"), &T[1]), EM_EEXIST);
    assert_int_equal(em_http_router_add(&r, EM_HTTP_GET, S("/u/:uid"), &T[1]), EM_EEXIST);
    em_http_route_match m = found(&r, EM_HTTP_GET, "/u/1", &T[0]); /* kept */
    assert_slice(m.params[0].name, "id");
    add_ok(&r, EM_HTTP_POST, "/u/:uid", &T[2]); /* other method: fine */
    m = found(&r, EM_HTTP_POST, "/u/1", &T[2]);
    assert_slice(m.params[0].name, "uid"); /* names belong to each route */
    m = found(&r, EM_HTTP_GET, "/u/1", &T[0]);
    assert_slice(m.params[0].name, "id");
    /* Same position, different names, different shapes: allowed. */
    add_ok(&r, EM_HTTP_GET, "/u/:user/posts", &T[3]);
    m = found(&r, EM_HTTP_GET, "/u/9/posts", &T[3]);
    assert_slice(m.params[0].name, "user");
    add_ok(&r, EM_HTTP_GET, "/s/*a", &T[4]);
    assert_int_equal(em_http_router_add(&r, EM_HTTP_GET, S("/s/*b"), &T[5]), EM_EEXIST);
    add_ok(&r, EM_HTTP_GET, "/s/:a", &T[5]); /* a different shape */
    add_ok(&r, EM_HTTP_GET, "/", &T[6]);
    assert_int_equal(em_http_router_add(&r, EM_HTTP_GET, S("/"), &T[7]), EM_EEXIST);
    found(&r, EM_HTTP_GET, "/", &T[6]);
    em_http_router_free(&r);
}

/* Weird and hostile paths: nothing crashes, NUL bytes are plain data. */
static void test_weird_paths(void **state) {
    em_http_router r;
    em_http_router_init(&r);
    add_ok(&r, EM_HTTP_GET, "/a", &T[0]);
    add_ok(&r, EM_HTTP_GET, "/ab", &T[1]);
    add_ok(&r, EM_HTTP_GET, "/k/:v", &T[2]);
    em_http_route_match m;
    assert_int_equal(em_http_router_match(&r, EM_HTTP_GET, em_slice_make(NULL, 0), &m),
                     EM_HTTP_ROUTE_NOT_FOUND);
    not_found(&r, EM_HTTP_GET, "");
    not_found(&r, EM_HTTP_GET, "a");
    not_found(&r, EM_HTTP_GET, "ab");
    not_found(&r, EM_HTTP_GET, "*");
    not_found(&r, EM_HTTP_GET, "http://h/a");
    static const char nul1[] = "/a\0", nul2[] = "/a\0b", nul3[] = "\0/a", nul4[] = "/k/x\0y";
    assert_int_equal(em_http_router_match(&r, EM_HTTP_GET, em_slice_make(nul1, 3), &m),
                     EM_HTTP_ROUTE_NOT_FOUND);
    assert_int_equal(em_http_router_match(&r, EM_HTTP_GET, em_slice_make(nul2, 4), &m),
                     EM_HTTP_ROUTE_NOT_FOUND);
    assert_int_equal(em_http_router_match(&r, EM_HTTP_GET, em_slice_make(nul3, 3), &m),
                     EM_HTTP_ROUTE_NOT_FOUND);
    assert_int_equal(em_http_router_match(&r, EM_HTTP_GET, em_slice_make(nul4, 6), &m),
                     EM_HTTP_ROUTE_FOUND);
    assert_int_equal(m.params[0].value.len, 3); /* raw, NUL included */
    assert_memory_equal(m.params[0].value.ptr, "x\0y", 3);
    /* Only len counts: bytes past it are not looked at. */
    assert_int_equal(em_http_router_match(&r, EM_HTTP_GET, em_slice_make("/abc", 2), &m),
                     EM_HTTP_ROUTE_FOUND);
    assert_ptr_equal(m.target, &T[0]);

    /* 1 MiB single segment, and 256 Ki segments deep. */
    size_t big = 1u << 20;
    char *p = malloc(big);
    assert_non_null(p);
    memcpy(p, "/k/", 3);
    memset(p + 3, 'v', big - 3);
    assert_int_equal(em_http_router_match(&r, EM_HTTP_GET, em_slice_make(p, big), &m),
                     EM_HTTP_ROUTE_FOUND);
    assert_int_equal(m.params[0].value.len, big - 3);
    for (size_t i = 0; i < big; i += 4)
        memcpy(p + i, "/k/v", 4);
    assert_int_equal(em_http_router_match(&r, EM_HTTP_GET, em_slice_make(p, big), &m),
                     EM_HTTP_ROUTE_NOT_FOUND);
    add_ok(&r, EM_HTTP_GET, "/k/:v/*rest", &T[3]);
    assert_int_equal(em_http_router_match(&r, EM_HTTP_GET, em_slice_make(p, big), &m),
                     EM_HTTP_ROUTE_FOUND);
    assert_ptr_equal(m.params[1].value.ptr, p + 5);
    assert_int_equal(m.params[1].value.len, big - 5);
    memset(p, '/', big);
    assert_int_equal(em_http_router_match(&r, EM_HTTP_GET, em_slice_make(p, big), &m),
                     EM_HTTP_ROUTE_NOT_FOUND);
    free(p);
    em_http_router_free(&r);
}

/* ---- many random routes ------------------------------------------------ */

#define NROUTES 1000

typedef struct rroute {
    char pat[96], shape[96], path[160];
    em_http_method method;
    bool added;
    unsigned ncaps;
    char vals[EM_HTTP_ROUTER_MAX_PARAMS][8];
} rroute;

static uint64_t rng = 0x9e3779b97f4a7c15u;
static unsigned rnd(unsigned n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* Literals are lowercase and never empty; captured values are uppercase
 * and wildcards capture "": so no other route can outrank a route on the
 * path built from it (see router.h's priority rules). */
static void make_route(rroute *rt) {
    unsigned nseg = 1 + rnd(5);
    size_t pl = 0, sl = 0, tl = 0;
    rt->ncaps = 0;
    rt->method = (em_http_method)(1 + rnd(EM_HTTP_ROUTER_NMETHODS - 1));
    for (unsigned i = 0; i < nseg; i++) {
        unsigned kind = rnd(10);
        if (kind < 6 || (kind == 9 && i + 1 < nseg)) {
            char lit[4] = {0};
            unsigned n = 1 + rnd(3);
            for (unsigned k = 0; k < n; k++)
                lit[k] = (char)('a' + rnd(3));
            pl += (size_t)sprintf(rt->pat + pl, "/%s", lit);
            sl += (size_t)sprintf(rt->shape + sl, "/%s", lit);
            tl += (size_t)sprintf(rt->path + tl, "/%s", lit);
        } else if (kind < 9) {
            unsigned c = rt->ncaps++;
            sprintf(rt->vals[c], "P%u", rnd(100));
            pl += (size_t)sprintf(rt->pat + pl, "/:n%u", c);
            sl += (size_t)sprintf(rt->shape + sl, "/:");
            tl += (size_t)sprintf(rt->path + tl, "/%s", rt->vals[c]);
        } else {
            unsigned c = rt->ncaps++;
            rt->vals[c][0] = '\0';
            pl += (size_t)sprintf(rt->pat + pl, "/*w%u", c);
            sl += (size_t)sprintf(rt->shape + sl, "/*");
            tl += (size_t)sprintf(rt->path + tl, "/");
        }
    }
}

static void test_many_routes(void **state) {
    static rroute rt[NROUTES];
    em_http_router r;
    em_http_router_init(&r);
    unsigned added = 0;
    for (unsigned i = 0; i < NROUTES; i++) {
        make_route(&rt[i]);
        bool dup = false;
        for (unsigned j = 0; j < i && !dup; j++)
            dup = rt[j].added && rt[j].method == rt[i].method &&
                  strcmp(rt[j].shape, rt[i].shape) == 0;
        int rc = em_http_router_add(&r, rt[i].method, cs(rt[i].pat), &rt[i]);
        if (rc != (dup ? EM_EEXIST : 0))
            fail_msg("%s: error %d", rt[i].pat, rc);
        rt[i].added = rc == 0;
        added += rt[i].added;
    }
    assert_true(added > NROUTES / 2);
    for (unsigned i = 0; i < NROUTES; i++) {
        if (!rt[i].added)
            continue;
        em_http_route_match m = found(&r, rt[i].method, rt[i].path, &rt[i]);
        assert_int_equal(m.nparams, rt[i].ncaps);
        for (unsigned c = 0; c < m.nparams; c++) {
            char want[16]; /* room for any unsigned: GCC -Wformat-overflow */
            sprintf(want, "%c%u", rt[i].vals[c][0] == 'P' ? 'n' : 'w', c);
            assert_slice(m.params[c].name, want);
            assert_slice(m.params[c].value, rt[i].vals[c]);
        }
    }
    em_http_router_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_router),  cmocka_unit_test(test_literals_and_slashes),
        cmocka_unit_test(test_params),        cmocka_unit_test(test_wildcard),
        cmocka_unit_test(test_priority),      cmocka_unit_test(test_backtracking),
        cmocka_unit_test(test_405_and_allow), cmocka_unit_test(test_head_via_get),
        cmocka_unit_test(test_allow_format),
        cmocka_unit_test(test_router_methods),  cmocka_unit_test(test_bad_patterns),
        cmocka_unit_test(test_duplicates),    cmocka_unit_test(test_weird_paths),
        cmocka_unit_test(test_many_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Fuzz http/router.c: the input is a request path, matched with every
 * method (and one unknown) against a fixed router. Each result is checked
 * against a brute-force matcher that tries every pattern on its own; FOUND
 * captures must lie inside the input and rebuild it through the pattern,
 * and a router built in reverse order must agree (priority does not depend
 * on insertion order). Any violation aborts. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
/* Until the router's declarations move into "ember/http.h". */
#include "ember/http.h"

static const struct {
    em_http_method method;
    const char *pat;
} routes[] = {
    {EM_HTTP_GET, "/"},
    {EM_HTTP_GET, "/users"},
    {EM_HTTP_POST, "/users"},
    {EM_HTTP_GET, "/users/:id"},
    {EM_HTTP_PUT, "/users/:uid"},
    {EM_HTTP_DELETE, "/users/:id"},
    {EM_HTTP_GET, "/users/:id/posts/:post"},
    {EM_HTTP_GET, "/users/new"},
    {EM_HTTP_HEAD, "/users/new"},
    {EM_HTTP_GET, "/static/*path"},
    {EM_HTTP_GET, "/:lang/docs/*page"},
    {EM_HTTP_PATCH, "/:a/:b/:c"},
    {EM_HTTP_OPTIONS, "/*any"},
    {EM_HTTP_GET, "/a//b"},
    {EM_HTTP_GET, "/dir/"},
    {EM_HTTP_POST, "/api/v1/:resource/:id/*rest"},
    {EM_HTTP_TRACE, "/x:y"},
    {EM_HTTP_CONNECT, "/:a/:b/:c/:d/:e/:f/:g/*h"},
};
#define NROUTES (sizeof routes / sizeof routes[0])

static em_http_router fwd, rev;

static void check(bool ok) {
    if (!ok)
        abort();
}

static void build(void) {
    static bool built;
    if (built)
        return;
    em_http_router_init(&fwd);
    em_http_router_init(&rev);
    for (size_t i = 0; i < NROUTES; i++) {
        size_t j = NROUTES - 1 - i;
        check(em_http_router_add(&fwd, routes[i].method,
                                 em_slice_make(routes[i].pat, strlen(routes[i].pat)),
                                 (void *)&routes[i]) == 0);
        check(em_http_router_add(&rev, routes[j].method,
                                 em_slice_make(routes[j].pat, strlen(routes[j].pat)),
                                 (void *)&routes[j]) == 0);
    }
    built = true;
}

/* Pattern segment [q, end of segment). */
static size_t seg_len(const char *q) {
    const char *e = strchr(q, '/');
    return e ? (size_t)(e - q) : strlen(q);
}

/* Match one pattern alone: the reference the trie must agree with. */
static bool ref_match(const char *pat, const char *p, size_t len, em_slice *caps, unsigned *ncaps) {
    if (len == 0 || p[0] != '/')
        return false;
    size_t pos = 1;
    const char *q = pat + 1;
    unsigned n = 0;
    for (;;) {
        size_t ql = seg_len(q);
        if (*q == '*') {
            caps[n++] = em_slice_make(p + pos, len - pos);
            *ncaps = n;
            return true;
        }
        size_t e = pos;
        while (e < len && p[e] != '/')
            e++;
        if (*q == ':') {
            if (e == pos)
                return false;
            caps[n++] = em_slice_make(p + pos, e - pos);
        } else if (e - pos != ql || memcmp(p + pos, q, ql) != 0) {
            return false;
        }
        if (q[ql] == '\0') {
            *ncaps = n;
            return e == len;
        }
        if (e == len)
            return false;
        pos = e + 1;
        q += ql + 1;
    }
}

static int kind_rank(char c) {
    return c == '*' ? 2 : c == ':' ? 1 : 0;
}

/* <0 if pattern a outranks b on a path both match, 0 if same shape. */
static int priority_cmp(const char *a, const char *b) {
    for (;;) {
        int d = kind_rank(*a) - kind_rank(*b);
        if (d)
            return d;
        size_t la = seg_len(a), lb = seg_len(b);
        if (a[la] == '\0' || b[lb] == '\0')
            return (a[la] != '\0') - (b[lb] != '\0');
        a += la + 1;
        b += lb + 1;
    }
}

/* The expected outcome for method m, by brute force. */
static em_http_route_result expect(unsigned m, const char *p, size_t len, size_t *best,
                                   unsigned *allowed) {
    em_http_route_result res = EM_HTTP_ROUTE_NOT_FOUND;
    em_slice caps[EM_HTTP_ROUTER_MAX_PARAMS];
    unsigned ncaps;
    *allowed = 0;
    for (size_t i = 0; i < NROUTES; i++) {
        if (!ref_match(routes[i].pat, p, len, caps, &ncaps))
            continue;
        *allowed |= EM_HTTP_METHOD_BIT(routes[i].method);
        bool exact = routes[i].method == m;
        bool via_get = m == EM_HTTP_HEAD && routes[i].method == EM_HTTP_GET;
        if (!exact && !via_get)
            continue;
        if (res == EM_HTTP_ROUTE_FOUND) {
            int c = priority_cmp(routes[i].pat, routes[*best].pat);
            if (c > 0 || (c == 0 && !exact))
                continue;
        }
        res = EM_HTTP_ROUTE_FOUND;
        *best = i;
    }
    if (*allowed & EM_HTTP_METHOD_BIT(EM_HTTP_GET))
        *allowed |= EM_HTTP_METHOD_BIT(EM_HTTP_HEAD);
    if (res == EM_HTTP_ROUTE_FOUND)
        *allowed = 0;
    else if (*allowed)
        res = EM_HTTP_ROUTE_METHOD_NOT_ALLOWED;
    return res;
}

static bool same_match(const em_http_route_match *a, const em_http_route_match *b) {
    if (a->target != b->target || a->allowed != b->allowed || a->nparams != b->nparams)
        return false;
    for (unsigned i = 0; i < a->nparams; i++) {
        const em_http_route_param *x = &a->params[i], *y = &b->params[i];
        if (x->value.ptr != y->value.ptr || x->value.len != y->value.len ||
            x->name.len != y->name.len || memcmp(x->name.ptr, y->name.ptr, x->name.len) != 0)
            return false;
    }
    return true;
}

/* Rebuild the path from the pattern and the captures; it must equal p, and
 * every name must be the pattern's. */
static void check_found(size_t ri, const em_http_route_match *mt, const char *p, size_t len) {
    const char *q = routes[ri].pat + 1;
    size_t pos = 1;
    unsigned c = 0;
    check(len > 0 && p[0] == '/');
    for (;;) {
        size_t ql = seg_len(q);
        if (*q == ':' || *q == '*') {
            check(c < mt->nparams);
            em_slice name = mt->params[c].name, v = mt->params[c].value;
            check(name.len == ql - 1 && memcmp(name.ptr, q + 1, ql - 1) == 0);
            check(v.ptr >= p && v.len <= len && (size_t)(v.ptr - p) <= len - v.len);
            check(v.ptr == p + pos);
            if (*q == ':')
                check(v.len > 0 && memchr(v.ptr, '/', v.len) == NULL);
            else
                check(pos + v.len == len);
            pos += v.len;
            c++;
        } else {
            check(len - pos >= ql && memcmp(p + pos, q, ql) == 0);
            pos += ql;
        }
        if (q[ql] == '\0')
            break;
        check(pos < len && p[pos] == '/');
        pos++;
        q += ql + 1;
    }
    check(pos == len && c == mt->nparams);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    build();
    const char *p = (const char *)data;
    em_slice path = em_slice_make(p, size);
    /* 0 is EM_HTTP_METHOD_OTHER; the last value is outside the enum. */
    for (unsigned m = 0; m <= EM_HTTP_ROUTER_NMETHODS; m++) {
        em_http_route_match a, b;
        em_http_route_result ra = em_http_router_match(&fwd, (em_http_method)m, path, &a);
        em_http_route_result rb = em_http_router_match(&rev, (em_http_method)m, path, &b);
        check(ra == rb && same_match(&a, &b));

        size_t best = 0;
        unsigned allowed;
        check(ra == expect(m, p, size, &best, &allowed));
        check(a.allowed == allowed);
        if (ra == EM_HTTP_ROUTE_FOUND) {
            check(a.target == (const void *)&routes[best]);
            check_found(best, &a, p, size);
        } else {
            check(a.target == NULL && a.nparams == 0);
        }
        if (ra == EM_HTTP_ROUTE_METHOD_NOT_ALLOWED) {
            check(allowed != 0);
            if (m < EM_HTTP_ROUTER_NMETHODS)
                check(!(allowed & EM_HTTP_METHOD_BIT(m)));
            char buf[EM_HTTP_ROUTER_ALLOW_MAX];
            ssize_t n = em_http_router_allow_format(allowed, buf, sizeof buf);
            check(n >= 3 && (size_t)n < sizeof buf);
        }
    }
    return 0;
}

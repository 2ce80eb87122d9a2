/* Helpers shared by the http parser tests: inputs placed right before a
 * PROT_NONE page (so any over-read faults), the SIMD levels this CPU runs,
 * and results rendered as text so different runs compare with one strcmp. */
#ifndef EM_HTTP_TEST_UTIL_H
#define EM_HTTP_TEST_UTIL_H

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "em_test.h"
#include "ember/http.h"
#include "http_internal.h"

/* ---- guarded buffers ---------------------------------------------------- */

typedef struct guarded {
    char *map;
    size_t maplen;
    char *data; /* n bytes ending exactly at the PROT_NONE page */
} guarded;

static inline char *guard_copy(guarded *g, const void *src, size_t n) {
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (n + ps - 1) / ps + 1;
    g->maplen = pages * ps;
    g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g->map != MAP_FAILED);
    assert_int_equal(mprotect(g->map + (pages - 1) * ps, ps, PROT_NONE), 0);
    g->data = g->map + (pages - 1) * ps - n;
    if (n)
        memcpy(g->data, src, n);
    return g->data;
}

static inline void guard_free(guarded *g) {
    munmap(g->map, g->maplen);
}

/* ---- SIMD levels -------------------------------------------------------- */

/* Fills out[] with every level this CPU supports; returns how many. */
static inline int test_levels(int out[3]) {
    int n = 0;
    for (int l = EM__HTTP_SIMD_SCALAR; l <= EM__HTTP_SIMD_AVX2; l++)
        if (em__http_simd_supported(l))
            out[n++] = l;
    return n;
}

/* ---- rendering ---------------------------------------------------------- */

typedef struct textbuf {
    char s[16384];
    size_t n;
} textbuf;

__attribute__((format(printf, 2, 3))) static inline void tb_printf(textbuf *t, const char *fmt,
                                                                   ...) {
    va_list ap;
    va_start(ap, fmt);
    if (t->n < sizeof t->s) {
        int k = vsnprintf(t->s + t->n, sizeof t->s - t->n, fmt, ap);
        if (k > 0)
            t->n += (size_t)k;
        if (t->n > sizeof t->s)
            t->n = sizeof t->s;
    }
    va_end(ap);
}

/* A slice, which must lie inside [buf, buf + len), as its offset and bytes
 * (bytes only when len is (size_t)-1). */
static inline void tb_slice(textbuf *t, const char *label, em_slice s, const char *buf,
                            size_t len) {
    if (!s.ptr) {
        tb_printf(t, " %s=null", label);
        return;
    }
    assert_true(s.ptr >= buf && (len == (size_t)-1 || s.ptr + s.len <= buf + len));
    if (len == (size_t)-1) /* position-independent rendering */
        tb_printf(t, " %s=", label);
    else
        tb_printf(t, " %s@%zu=", label, (size_t)(s.ptr - buf));
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            tb_printf(t, "%c", c);
        else
            tb_printf(t, "\\x%02x", c);
    }
}

static inline void tb_headers(textbuf *t, const em_http_header *h, size_t n, const char *buf,
                              size_t len) {
    for (size_t i = 0; i < n; i++) {
        tb_printf(t, "\n  [%d]", (int)h[i].id);
        tb_slice(t, "n", h[i].name, buf, len);
        tb_slice(t, "v", h[i].value, buf, len);
    }
}

static inline const char *render_request(textbuf *t, ssize_t rc, const em_http_request *r,
                                         const char *buf, size_t len) {
    t->n = 0;
    tb_printf(t, "rc=%zd", rc);
    if (rc >= 0) {
        tb_slice(t, "method", r->method, buf, len);
        tb_slice(t, "target", r->target, buf, len);
        tb_slice(t, "host", r->host, buf, len);
        tb_printf(t, " mid=%d form=%d body=%d cl=%llu flags=%#x minor=%d n=%zu", (int)r->method_id,
                  (int)r->target_form, (int)r->body, (unsigned long long)r->content_length,
                  r->flags, r->version_minor, r->num_headers);
        tb_headers(t, r->headers, r->num_headers, buf, len);
    }
    t->s[t->n < sizeof t->s ? t->n : sizeof t->s - 1] = '\0';
    return t->s;
}

static inline const char *render_response(textbuf *t, ssize_t rc, const em_http_response *r,
                                          const char *buf, size_t len) {
    t->n = 0;
    tb_printf(t, "rc=%zd", rc);
    if (rc >= 0) {
        tb_slice(t, "reason", r->reason, buf, len);
        tb_printf(t, " status=%d body=%d cl=%llu flags=%#x minor=%d n=%zu", r->status, (int)r->body,
                  (unsigned long long)r->content_length, r->flags, r->version_minor,
                  r->num_headers);
        tb_headers(t, r->headers, r->num_headers, buf, len);
    }
    t->s[t->n < sizeof t->s ? t->n : sizeof t->s - 1] = '\0';
    return t->s;
}

/* ---- parse drivers ------------------------------------------------------ */

#define TEST_MAX_HEADERS 128

/* Parse s[0, n) whole from a guarded copy; render into out. */
static inline ssize_t request_whole(const char *s, size_t n, const em_http_limits *lim,
                                    textbuf *out) {
    em_http_header h[TEST_MAX_HEADERS];
    em_http_request r = {.headers = h, .max_headers = TEST_MAX_HEADERS};
    em_http_parser p;
    guarded g;
    em_http_parser_init(&p, lim);
    char *b = guard_copy(&g, s, n);
    ssize_t rc = em_http_parse_request(&p, b, n, &r);
    render_request(out, rc, &r, b, n);
    guard_free(&g);
    return rc;
}

/* The first k bytes, then (on EM_EAGAIN) all n bytes from a new guarded
 * copy at another address, so the parser must rebase what it found. */
static inline ssize_t request_split(const char *s, size_t n, size_t k, const em_http_limits *lim,
                                    textbuf *out) {
    em_http_header h[TEST_MAX_HEADERS];
    em_http_request r = {.headers = h, .max_headers = TEST_MAX_HEADERS};
    em_http_parser p;
    guarded g1, g2;
    em_http_parser_init(&p, lim);
    char *b1 = guard_copy(&g1, s, k);
    ssize_t rc = em_http_parse_request(&p, b1, k, &r);
    if (rc != EM_EAGAIN) {
        render_request(out, rc, &r, b1, k);
        guard_free(&g1);
        return rc;
    }
    char *b2 = guard_copy(&g2, s, n);
    guard_free(&g1);
    rc = em_http_parse_request(&p, b2, n, &r);
    render_request(out, rc, &r, b2, n);
    guard_free(&g2);
    return rc;
}

/* Byte by byte: prefixes of 1, 2, ... n bytes, each placed at the end of
 * one guarded mapping (so the base moves every call and every prefix ends
 * at the guard page). Stops at the first result other than EM_EAGAIN. */
static inline ssize_t request_bytewise(const char *s, size_t n, const em_http_limits *lim,
                                       textbuf *out) {
    em_http_header h[TEST_MAX_HEADERS];
    em_http_request r = {.headers = h, .max_headers = TEST_MAX_HEADERS};
    em_http_parser p;
    guarded g;
    em_http_parser_init(&p, lim);
    guard_copy(&g, s, n);
    ssize_t rc = EM_EAGAIN;
    for (size_t k = 0; k <= n && rc == EM_EAGAIN; k++) {
        char *b = g.data + (n - k);
        memmove(b, s, k);
        rc = em_http_parse_request(&p, b, k, &r);
        if (rc != EM_EAGAIN || k == n)
            render_request(out, rc, &r, b, k);
    }
    guard_free(&g);
    return rc;
}

/* Same three drivers for responses. */
static inline ssize_t response_split(const char *s, size_t n, size_t k, em_http_method m,
                                     const em_http_limits *lim, textbuf *out) {
    em_http_header h[TEST_MAX_HEADERS];
    em_http_response r = {.headers = h, .max_headers = TEST_MAX_HEADERS};
    em_http_parser p;
    guarded g1, g2;
    em_http_parser_init(&p, lim);
    char *b1 = guard_copy(&g1, s, k);
    ssize_t rc = em_http_parse_response(&p, b1, k, m, &r);
    if (rc != EM_EAGAIN || k == n) {
        render_response(out, rc, &r, b1, k);
        guard_free(&g1);
        return rc;
    }
    char *b2 = guard_copy(&g2, s, n);
    guard_free(&g1);
    rc = em_http_parse_response(&p, b2, n, m, &r);
    render_response(out, rc, &r, b2, n);
    guard_free(&g2);
    return rc;
}

static inline ssize_t response_bytewise(const char *s, size_t n, em_http_method m,
                                        const em_http_limits *lim, textbuf *out) {
    em_http_header h[TEST_MAX_HEADERS];
    em_http_response r = {.headers = h, .max_headers = TEST_MAX_HEADERS};
    em_http_parser p;
    guarded g;
    em_http_parser_init(&p, lim);
    guard_copy(&g, s, n);
    ssize_t rc = EM_EAGAIN;
    for (size_t k = 0; k <= n && rc == EM_EAGAIN; k++) {
        char *b = g.data + (n - k);
        memmove(b, s, k);
        rc = em_http_parse_response(&p, b, k, m, &r);
        if (rc != EM_EAGAIN || k == n)
            render_response(out, rc, &r, b, k);
    }
    guard_free(&g);
    return rc;
}

/* Every split point and the byte-by-byte feed of s must render exactly as
 * the whole parse does, at every SIMD level. Returns the whole result. */
static inline ssize_t request_check_splits(const char *s, size_t n, const em_http_limits *lim) {
    int lv[3], nl = test_levels(lv);
    textbuf *ref = malloc(sizeof *ref), *got = malloc(sizeof *got);
    assert_non_null(ref);
    assert_non_null(got);
    assert_int_equal(em__http_simd_force(EM__HTTP_SIMD_SCALAR), 0);
    ssize_t rc = request_whole(s, n, lim, ref);
    for (int i = 0; i < nl; i++) {
        assert_int_equal(em__http_simd_force(lv[i]), 0);
        request_whole(s, n, lim, got);
        if (strcmp(ref->s, got->s))
            fail_msg("level %d whole:\n%s\nvs\n%s", lv[i], ref->s, got->s);
        for (size_t k = 0; k <= n; k++) {
            request_split(s, n, k, lim, got);
            if (strcmp(ref->s, got->s))
                fail_msg("level %d split %zu:\n%s\nvs\n%s", lv[i], k, ref->s, got->s);
        }
        request_bytewise(s, n, lim, got);
        if (strcmp(ref->s, got->s))
            fail_msg("level %d bytewise:\n%s\nvs\n%s", lv[i], ref->s, got->s);
    }
    em__http_simd_force(em__http_simd_default());
    free(ref);
    free(got);
    return rc;
}

static inline ssize_t response_check_splits(const char *s, size_t n, em_http_method m,
                                            const em_http_limits *lim) {
    int lv[3], nl = test_levels(lv);
    textbuf *ref = malloc(sizeof *ref), *got = malloc(sizeof *got);
    assert_non_null(ref);
    assert_non_null(got);
    assert_int_equal(em__http_simd_force(EM__HTTP_SIMD_SCALAR), 0);
    ssize_t rc = response_split(s, n, n, m, lim, ref);
    for (int i = 0; i < nl; i++) {
        assert_int_equal(em__http_simd_force(lv[i]), 0);
        for (size_t k = 0; k <= n; k++) {
            response_split(s, n, k, m, lim, got);
            if (strcmp(ref->s, got->s))
                fail_msg("level %d split %zu:\n%s\nvs\n%s", lv[i], k, ref->s, got->s);
        }
        response_bytewise(s, n, m, lim, got);
        if (strcmp(ref->s, got->s))
            fail_msg("level %d bytewise:\n%s\nvs\n%s", lv[i], ref->s, got->s);
    }
    em__http_simd_force(em__http_simd_default());
    free(ref);
    free(got);
    return rc;
}

#endif

/* Fuzz http/url.c. The first byte picks the decode flags; the rest is a
 * path (and, for the query lookup, a query string). Percent-decoding must
 * agree with a plain reference decoder (same result, same errors), give the
 * same bytes in place, and refuse a buffer one byte short without writing
 * past it. The dot-segment test must agree with a reference that decodes
 * each segment and compares it with "." and "..". Query lookups must agree
 * with a reference that splits the pairs and form-decodes each key. Any
 * disagreement aborts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/http.h"
#include "fuzz.h"

static void check(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "http_url: %s\n", what);
        abort();
    }
}

static int ref_hex(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reference: decode everything into out (big enough); -1 on a bad escape. */
static ssize_t ref_decode(const char *p, size_t n, char *out, unsigned flags) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%') {
            if (n - i < 3 || ref_hex((unsigned char)p[i + 1]) < 0 ||
                ref_hex((unsigned char)p[i + 2]) < 0)
                return -1;
            int c = ref_hex((unsigned char)p[i + 1]) * 16 + ref_hex((unsigned char)p[i + 2]);
            if ((flags & EM_HTTP_DECODE_SEGMENT) && (c == '/' || c == 0))
                return -1;
            out[o++] = (char)c;
            i += 2;
        } else {
            out[o++] = (flags & EM_HTTP_DECODE_FORM) && p[i] == '+' ? ' ' : p[i];
        }
    }
    return (ssize_t)o;
}

/* Reference: a segment is a dot segment when it decodes only its "%2e"
 * escapes and then reads "." or "..". */
static bool ref_dot_segment(const char *p, size_t n) {
    char s[8];
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o == sizeof s - 1)
            return false; /* too long to be "." or ".." */
        if (n - i >= 3 && p[i] == '%' && p[i + 1] == '2' && (p[i + 2] == 'e' || p[i + 2] == 'E')) {
            s[o++] = '.';
            i += 2;
        } else {
            s[o++] = p[i];
        }
    }
    /* by length: a segment may hold NUL bytes */
    return (o == 1 && s[0] == '.') || (o == 2 && s[0] == '.' && s[1] == '.');
}

static bool ref_has_dot_segment(const char *p, size_t n) {
    size_t start = 0;
    for (size_t i = 0; i <= n; i++)
        if (i == n || p[i] == '/') {
            if (ref_dot_segment(p + start, i - start))
                return true;
            start = i + 1;
        }
    return false;
}

/* Reference lookup: split at '&', decode each key with ref_decode (FORM),
 * first exact match wins; empty pairs name nothing. */
static bool ref_query_get(const char *q, size_t n, const char *name, size_t nlen, em_slice *v) {
    char *key = malloc(n + 1);
    check(key != NULL, "out of memory");
    bool found = false;
    size_t start = 0;
    for (size_t i = 0; i <= n && !found; i++) {
        if (i < n && q[i] != '&')
            continue;
        const char *pair = q + start;
        size_t len = i - start;
        const char *eq = memchr(pair, '=', len);
        size_t klen = eq ? (size_t)(eq - pair) : len;
        ssize_t k = len ? ref_decode(pair, klen, key, EM_HTTP_DECODE_FORM) : -1;
        if (k >= 0 && (size_t)k == nlen && memcmp(key, name, nlen) == 0) {
            *v = eq ? em_slice_make(eq + 1, len - klen - 1) : em_slice_make(pair + len, 0);
            found = true;
        }
        start = i + 1;
    }
    free(key);
    return found;
}

static void check_query(em_slice q, const char *name, size_t nlen) {
    em_slice want = {0}, got = {0};
    bool w = ref_query_get(q.ptr, q.len, name, nlen, &want);
    bool g = em_http_query_get(q, em_slice_make(name, nlen), &got);
    check(w == g, "query lookup found differently");
    check(!w || (want.ptr == got.ptr && want.len == got.len), "query lookup gave another value");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    unsigned flags = data[0] & (EM_HTTP_DECODE_FORM | EM_HTTP_DECODE_SEGMENT);
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    em_slice in = em_slice_make(p, n);

    char *want = malloc(n + 1), *got = malloc(n + 1), *inplace = malloc(n + 1);
    check(want && got && inplace, "out of memory");
    ssize_t w = ref_decode(p, n, want, flags);
    ssize_t g = em_http_percent_decode(in, got, n, flags);
    if (w < 0) {
        check(g == EM_EINVAL, "accepted what the reference refuses");
    } else {
        check(g == w && memcmp(got, want, (size_t)w) == 0, "decoded differently");
        memcpy(inplace, p, n);
        check(em_http_percent_decode(em_slice_make(inplace, n), inplace, n, flags) == w &&
                  memcmp(inplace, want, (size_t)w) == 0,
              "in-place decoding differs");
        if (w > 0) {
            got[w - 1] = '#';
            check(em_http_percent_decode(in, got, (size_t)w - 1, flags) == EM_ENOBUFS,
                  "a short buffer was not refused");
            check(got[w - 1] == '#', "wrote past cap");
        }
    }
    check(em_http_path_has_dot_segment(in) == ref_has_dot_segment(p, n), "dot segments disagree");
    /* Names: a few fixed ones, and the decoded key of the first pair (so
     * lookups that should hit do). */
    static const char *const names[] = {"", "a", "q", "a b", "%"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        check_query(in, names[i], strlen(names[i]));
    const char *amp = memchr(p, '&', n), *eq = memchr(p, '=', amp ? (size_t)(amp - p) : n);
    size_t klen = eq ? (size_t)(eq - p) : amp ? (size_t)(amp - p) : n;
    ssize_t k = ref_decode(p, klen, want, EM_HTTP_DECODE_FORM);
    if (k >= 0)
        check_query(in, want, (size_t)k);
    free(want);
    free(got);
    free(inplace);
    return 0;
}

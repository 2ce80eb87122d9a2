/* Shared by the HTTP parser harnesses: an abort-on-failure check, the
 * input-derived control values, run transcripts, and reference definitions
 * written from the RFCs independently of the library's own tables. */
#ifndef EMBER_FUZZ_HTTP_REF_H
#define EMBER_FUZZ_HTTP_REF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../http/http_internal.h"
#include "ember/http.h"

static inline void check(bool ok) {
    if (!ok)
        abort();
}

static inline uint64_t rnd(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t seed_of(const uint8_t *d, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull ^ n;
    for (size_t i = 0; i < n && i < 8; i++)
        h = (h ^ d[i]) * 0x100000001b3ull;
    return h;
}

/* ---- transcripts: what one run saw, compared between runs ---------------- */

enum { TMAX = 1 << 15 };
typedef struct transcript {
    uint64_t v[TMAX];
    size_t n;
    uint64_t hash; /* covers entries past TMAX too */
} transcript;

static inline void put(transcript *t, uint64_t x) {
    if (t->n < TMAX)
        t->v[t->n] = x;
    t->n++;
    t->hash = (t->hash ^ x) * 0x100000001b3ull;
}

static inline void transcript_same(const transcript *a, const transcript *b) {
    check(a->n == b->n && a->hash == b->hash);
    size_t n = a->n < TMAX ? a->n : TMAX;
    check(memcmp(a->v, b->v, n * sizeof a->v[0]) == 0);
}

/* ---- reference character classes (RFC 9110), not the library's table ------ */

static inline bool ref_tchar(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static inline bool ref_is_ows(char c) {
    return c == ' ' || c == '\t';
}

static inline bool ref_vchar_ok(unsigned char c) {
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static inline bool ci_eq(em_slice s, const char *lit) {
    size_t n = strlen(lit);
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c >= 'A' && c <= 'Z')
            c |= 0x20;
        if (c != (unsigned char)lit[i])
            return false;
    }
    return true;
}

static inline em_http_hdr ref_id(em_slice name) {
    static const struct {
        const char *s;
        em_http_hdr id;
    } ids[] = {{"content-length", EM_HTTP_HDR_CONTENT_LENGTH},
               {"transfer-encoding", EM_HTTP_HDR_TRANSFER_ENCODING},
               {"connection", EM_HTTP_HDR_CONNECTION},
               {"host", EM_HTTP_HDR_HOST},
               {"expect", EM_HTTP_HDR_EXPECT},
               {"upgrade", EM_HTTP_HDR_UPGRADE}};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (ci_eq(name, ids[i].s))
            return ids[i].id;
    return EM_HTTP_HDR_OTHER;
}

static inline bool next_elem(const char **s, const char *e, em_slice *el) {
    const char *p = *s;
    for (;;) {
        while (p < e && (ref_is_ows(*p) || *p == ','))
            p++;
        if (p == e)
            return false;
        const char *t = p;
        while (p < e && *p != ',')
            p++;
        const char *te = p;
        while (te > t && ref_is_ows(te[-1]))
            te--;
        el->ptr = t;
        el->len = (size_t)(te - t);
        *s = p;
        return true;
    }
}

static inline bool has_token(em_slice v, const char *tok) {
    const char *s = v.ptr;
    em_slice el;
    while (next_elem(&s, v.ptr + v.len, &el))
        if (ci_eq(el, tok))
            return true;
    return false;
}

static inline bool cl_list(em_slice v, uint64_t *out) {
    const char *s = v.ptr, *e = v.ptr + v.len;
    bool any = false;
    for (;;) {
        uint64_t n = 0;
        const char *d = s;
        while (s < e && *s >= '0' && *s <= '9') {
            if (n > (UINT64_MAX - 9) / 10)
                return false;
            n = n * 10 + (uint64_t)(*s - '0');
            s++;
        }
        if (s == d || (any && n != *out))
            return false;
        *out = n;
        any = true;
        while (s < e && ref_is_ows(*s))
            s++;
        if (s == e)
            return true;
        if (*s != ',')
            return false;
        s++;
        while (s < e && ref_is_ows(*s))
            s++;
    }
}

/* ---- invariants of an accepted head --------------------------------------- */

static inline bool inside(em_slice s, const char *b, size_t len) {
    uintptr_t p = (uintptr_t)s.ptr, lo = (uintptr_t)b;
    return s.ptr && p >= lo && p - lo <= len && s.len <= len - (p - lo);
}

/* folds: a response, where a value that ember does not interpret may run
 * over an obs-fold (CR LF then OWS), kept raw inside the value. */
static inline void check_fields_folded(const em_http_header *h, size_t n, const char *b,
                                       size_t len, size_t pos, bool folds) {
    for (size_t i = 0; i < n; i++) {
        check(inside(h[i].name, b, len) && inside(h[i].value, b, len));
        check(h[i].name.ptr == b + pos && h[i].name.len > 0);
        for (size_t k = 0; k < h[i].name.len; k++)
            check(ref_tchar((unsigned char)h[i].name.ptr[k]));
        check(h[i].id == ref_id(h[i].name) && h[i].id == em_http_header_id(h[i].name));
        pos += h[i].name.len;
        check(pos < len && b[pos] == ':');
        pos++;
        size_t v0 = (size_t)(h[i].value.ptr - b), vl = h[i].value.len;
        check(v0 >= pos);
        for (; pos < v0; pos++) {
            if (folds && b[pos] == '\r' && pos + 2 < v0 && b[pos + 1] == '\n' &&
                ref_is_ows(b[pos + 2])) {
                pos++; /* an obs-fold before the value */
                continue;
            }
            check(ref_is_ows(b[pos]));
        }
        for (size_t k = 0; k < vl; k++) {
            if (b[v0 + k] == '\r') { /* only an obs-fold inside the value */
                check(folds && h[i].id == EM_HTTP_HDR_OTHER && k > 0 && k + 2 < vl &&
                      b[v0 + k + 1] == '\n' && ref_is_ows(b[v0 + k + 2]));
                k++;
                continue;
            }
            check(ref_vchar_ok((unsigned char)b[v0 + k]));
        }
        check(vl == 0 || (!ref_is_ows(b[v0]) && !ref_is_ows(b[v0 + vl - 1])));
        pos = v0 + vl;
        for (;;) {
            while (pos < len && ref_is_ows(b[pos]))
                pos++;
            if (!(folds && h[i].id == EM_HTTP_HDR_OTHER && len - pos >= 3 && b[pos] == '\r' &&
                  b[pos + 1] == '\n' && ref_is_ows(b[pos + 2])))
                break;
            pos += 2; /* an obs-fold after the value */
        }
        check(len - pos >= 2 && b[pos] == '\r' && b[pos + 1] == '\n');
        pos += 2;
    }
    check(pos + 2 == len && b[pos] == '\r' && b[pos + 1] == '\n');
}

static inline void check_fields(const em_http_header *h, size_t n, const char *b, size_t len,
                                size_t pos) {
    check_fields_folded(h, n, b, len, pos, false);
}

/* ---- shared by the harnesses that parse heads ------------------------------ */

/* The limits one run parses with, and what they come to. */
typedef struct head_config {
    const em_http_limits *limits; /* NULL: defaults */
    size_t cap;                   /* header array capacity */
    size_t max_line, max_bytes, max_n;
    uint64_t max_body;
} head_config;

/* A copy of src[0, n) in a block of exactly n bytes, so ASan flags any read
 * past n. */
static inline char *dup_exact(const uint8_t *src, size_t n) {
    char *b = malloc(n ? n : 1);
    check(b != NULL);
    if (n)
        memcpy(b, src, n);
    return b;
}

static inline uint64_t off_of(const void *ptr, const char *base, size_t msg_off) {
    return ptr ? msg_off + (uint64_t)((const char *)ptr - base) : UINT64_MAX;
}

/* Decode a chunked body from in[0, n) in one buffer; returns its length, or
 * a negative result (EM_EAGAIN: incomplete). */
static inline ssize_t skip_chunked(const uint8_t *in, size_t n, const em_http_limits *l) {
    char *b = dup_exact(in, n);
    em_http_chunked c = {0};
    em_http_chunked_init(&c, l);
    size_t off = 0;
    ssize_t rc = EM_EAGAIN;
    uint64_t total = 0;
    while (!em_http_chunked_done(&c)) {
        em_slice d;
        rc = em_http_chunked_decode(&c, b + off, n - off, &d);
        if (rc < 0)
            break;
        check(rc > 0 && (size_t)rc <= n - off);
        check(d.len == 0 || d.ptr + d.len == b + off + rc);
        total += d.len;
        off += (size_t)rc;
    }
    check(em_http_chunked_total(&c) == total);
    free(b);
    return em_http_chunked_done(&c) ? (ssize_t)off : rc;
}

static inline void make_limits(uint64_t *rng, em_http_limits *l, head_config *c) {
    uint64_t x = rnd(rng), y = rnd(rng);
    /* each limit: default (0), unlimited, or small */
    l->max_start_line = x % 5 == 0 ? 0 : x % 5 == 1 ? SIZE_MAX : 1 + (x >> 8) % 96;
    l->max_header_bytes = y % 5 == 0 ? 0 : y % 5 == 1 ? SIZE_MAX : 1 + (y >> 8) % 400;
    l->max_headers = (x >> 20) % 4 == 0 ? 0 : (x >> 20) % 4 == 1 ? SIZE_MAX : 1 + (x >> 24) % 12;
    l->max_body = (y >> 20) % 4 == 0 ? 0 : (y >> 20) % 4 == 1 ? UINT64_MAX : (y >> 24) % 2000;
    l->max_chunk_ext = 1 + (x >> 32) % 40;
    l->max_trailer_bytes = 1 + (x >> 40) % 200;
    l->max_trailers = (y >> 40) % 6;
    c->limits = l;
    c->cap = (y >> 48) % 4 == 0 ? 128 : (size_t)((y >> 52) % 16);
    c->max_line = em__http_lim(l->max_start_line, EM_HTTP_DEFAULT_MAX_START_LINE);
    c->max_bytes = em__http_lim(l->max_header_bytes, EM_HTTP_DEFAULT_MAX_HEADER_BYTES);
    c->max_n = em__http_lim(l->max_headers, EM_HTTP_DEFAULT_MAX_HEADERS);
    c->max_body = l->max_body ? l->max_body : EM_HTTP_DEFAULT_MAX_BODY;
}

#endif

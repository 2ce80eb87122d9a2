/* Fuzz em_http_parse_request (http/parse_request.c, headers.c, framing.c
 * and the SIMD scanners). The input is a stream of pipelined requests; each
 * head is parsed, its body skipped (Content-Length) or decoded (chunked),
 * and the next head parsed from what follows.
 *
 * The stream is run at every SIMD level the CPU has, fed four ways (whole;
 * two pieces in moved buffers; three pieces in one growing buffer; byte by
 * byte), with default limits and with small limits drawn from the input.
 * Every run must produce the same transcript (return codes, slice offsets,
 * flags, ids, body ends) as the scalar whole run, and every accepted head
 * must re-tile exactly into request line, field lines and final CRLF and
 * agree with what its framing fields say. Any violation aborts. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http_ref.h"

#include "../../http/http_internal.h"
#include "ember/http.h"

/* ---- control values: a hash of the first input bytes --------------------- */

/* ---- transcripts ---------------------------------------------------------- */

static transcript ref_t, run_t;

/* ---- reference character classes (RFC 9110), not the library's table ------ */

static bool ref_target_ok(unsigned char c) {
    return c > 0x20 && c < 0x7f && c != '#';
}

/* ---- invariants of an accepted head --------------------------------------- */

static void check_target_form(const em_http_request *r) {
    em_slice t = r->target;
    if (r->method_id == EM_HTTP_CONNECT) {
        check(r->target_form == EM_HTTP_TARGET_AUTHORITY);
        check(memchr(t.ptr, ':', t.len) != NULL);
        return;
    }
    switch (r->target_form) {
    case EM_HTTP_TARGET_ORIGIN:
        check(t.ptr[0] == '/');
        break;
    case EM_HTTP_TARGET_ASTERISK:
        check(t.len == 1 && t.ptr[0] == '*' && r->method_id == EM_HTTP_OPTIONS);
        break;
    case EM_HTTP_TARGET_ABSOLUTE: {
        unsigned char c = (unsigned char)(t.ptr[0] | 0x20);
        check(c >= 'a' && c <= 'z');
        size_t i = 1;
        while (i < t.len && (ref_tchar((unsigned char)t.ptr[i]) || t.ptr[i] == '.') &&
               strchr("!#$%&'*^_`|~", t.ptr[i]) == NULL)
            i++;
        check(i < t.len && t.ptr[i] == ':');
        /* http or https, "//", a host with no userinfo (RFC 9110 §4.2) */
        check((i == 4 && ci_eq(em_slice_make(t.ptr, 4), "http")) ||
              (i == 5 && ci_eq(em_slice_make(t.ptr, 5), "https")));
        check(t.len - i >= 3 && t.ptr[i + 1] == '/' && t.ptr[i + 2] == '/');
        size_t a = i + 3, e = a;
        while (e < t.len && t.ptr[e] != '/' && t.ptr[e] != '?')
            e++;
        check(e > a && memchr(t.ptr + a, '@', e - a) == NULL);
        /* RFC 9112 §3.2.2: the authority stands for Host */
        check(r->host.ptr == t.ptr + a && r->host.len == e - a);
        break;
    }
    default:
        check(false);
    }
}

/* What the framing fields say, recomputed from the stored fields. */
static void check_framing(const em_http_request *r) {
    const em_http_header *h = r->headers;
    size_t nhost = 0, ncl = 0, nte = 0, hosti = 0;
    bool close = false, ka = false, upgrade_tok = false, upgrade = false, coded = false;
    bool exp_continue = false, exp_other = false;
    uint64_t cl = 0;
    em_slice last_te = {NULL, 0};
    for (size_t i = 0; i < r->num_headers; i++) {
        em_slice v = h[i].value;
        switch (h[i].id) {
        case EM_HTTP_HDR_HOST:
            hosti = i;
            nhost++;
            break;
        case EM_HTTP_HDR_CONTENT_LENGTH: {
            uint64_t x = 0;
            check(cl_list(v, &x));
            check(ncl == 0 || x == cl);
            cl = x;
            ncl++;
            break;
        }
        case EM_HTTP_HDR_TRANSFER_ENCODING: {
            const char *s = v.ptr;
            em_slice el;
            bool any = false;
            while (next_elem(&s, v.ptr + v.len, &el)) {
                last_te = el;
                any = true;
                if (!ci_eq(el, "chunked"))
                    coded = true;
            }
            check(any);
            nte++;
            break;
        }
        case EM_HTTP_HDR_CONNECTION:
            close |= has_token(v, "close");
            ka |= has_token(v, "keep-alive");
            upgrade_tok |= has_token(v, "upgrade");
            break;
        case EM_HTTP_HDR_UPGRADE:
            upgrade = true;
            break;
        case EM_HTTP_HDR_EXPECT: { /* a list (RFC 9110 §10.1.1) */
            const char *s = v.ptr;
            em_slice el;
            while (next_elem(&s, v.ptr + v.len, &el)) {
                if (ci_eq(el, "100-continue"))
                    exp_continue = true;
                else
                    exp_other = true;
            }
            break;
        }
        default:
            break;
        }
    }
    unsigned f = r->flags;
    check(nhost <= 1 && (r->version_minor == 0 || nhost == 1));
    check(!(f & EM_HTTP_F_HOST) == !nhost);
    if (r->target_form == EM_HTTP_TARGET_ABSOLUTE)
        ; /* the target's authority (check_target) */
    else if (nhost)
        check(r->host.ptr == h[hosti].value.ptr && r->host.len == h[hosti].value.len);
    else
        check(r->host.ptr == NULL && r->host.len == 0);
    check(!(f & EM_HTTP_F_CONTENT_LENGTH) == !ncl);
    check(!(f & EM_HTTP_F_TRANSFER_ENCODING) == !nte);
    check(!(ncl && nte));
    if (nte) {
        check(r->version_minor == 1 && ci_eq(last_te, "chunked"));
        check(r->body == EM_HTTP_BODY_CHUNKED && (f & EM_HTTP_F_CHUNKED));
        check(!(f & EM_HTTP_F_TE_CODED) == !coded);
        check(r->content_length == 0);
    } else {
        check(!(f & (EM_HTTP_F_CHUNKED | EM_HTTP_F_TE_CODED)));
        check(r->content_length == cl);
        check(r->body == (cl ? EM_HTTP_BODY_LENGTH : EM_HTTP_BODY_NONE));
    }
    check(!(f & EM_HTTP_F_CONN_CLOSE) == !close);
    check(!(f & EM_HTTP_F_CONN_KEEP_ALIVE) == !ka);
    check(!(f & EM_HTTP_F_CONN_UPGRADE) == !upgrade_tok);
    check(!(f & EM_HTTP_F_UPGRADE) == !upgrade);
    check(!(f & EM_HTTP_F_EXPECT_CONTINUE) == !(exp_continue && r->version_minor == 1));
    check(!(f & EM_HTTP_F_EXPECT_OTHER) == !exp_other);
    check(!(f & EM_HTTP_F_KEEP_ALIVE) == !(!close && (r->version_minor == 1 || ka)));
    check(!(f & EM_HTTP_F_TUNNEL));
}

static void check_request(const em_http_request *r, const char *b, size_t n, ssize_t rc,
                          const head_config *c) {
    check(rc > 0 && (size_t)rc <= n);
    size_t len = (size_t)rc;
    check(r->num_headers <= r->max_headers && r->num_headers <= c->max_n);
    check(inside(r->method, b, len) && inside(r->target, b, len));
    check(r->method.len > 0 && r->target.len > 0);
    /* [CRLF]* method SP target SP HTTP/1.x CRLF */
    size_t m0 = (size_t)(r->method.ptr - b);
    check(m0 % 2 == 0);
    for (size_t i = 0; i < m0; i += 2)
        check(b[i] == '\r' && b[i + 1] == '\n');
    for (size_t i = 0; i < r->method.len; i++)
        check(ref_tchar((unsigned char)r->method.ptr[i]));
    size_t me = m0 + r->method.len;
    check(b[me] == ' ' && r->target.ptr == b + me + 1);
    for (size_t i = 0; i < r->target.len; i++)
        check(ref_target_ok((unsigned char)r->target.ptr[i]));
    size_t te = me + 1 + r->target.len;
    check(r->version_minor == 0 || r->version_minor == 1);
    /* RFC 9110 §2.5: 1.2 .. 1.9 are read as 1.1 */
    check(len - te >= 11 && b[te] == ' ' && memcmp(b + te + 1, "HTTP/1.", 7) == 0 &&
          b[te + 8] >= '0' && b[te + 8] <= '9' &&
          r->version_minor == (b[te + 8] > '1' ? 1 : b[te + 8] - '0') && b[te + 9] == '\r' &&
          b[te + 10] == '\n');
    size_t line_end = te + 11;
    check(line_end <= c->max_line && len - line_end <= c->max_bytes);
    check(r->method_id == em_http_method_id(r->method));
    check_target_form(r);
    check_fields(r->headers, r->num_headers, b, len, line_end);
    check_framing(r);
    if (r->body == EM_HTTP_BODY_LENGTH)
        check(r->content_length <= c->max_body);
}

/* ---- feeding -------------------------------------------------------------- */

enum { M_WHOLE, M_SPLIT2, M_SPLIT3, M_BYTES, M_COUNT };

static ssize_t parse(em_http_parser *p, em_http_request *r, const char *b, size_t k) {
    ssize_t rc = em_http_parse_request(p, b, k, r);
    check(rc == EM_EAGAIN || rc <= (ssize_t)k);
    check(rc != 0);
    return rc;
}

/* Feed msg[0, n) as mode says; the head must be complete or rejected by the
 * time all n bytes were offered. Returns the last result; *out is the
 * buffer the last call saw (the caller frees it). */
static ssize_t feed(em_http_parser *p, em_http_request *r, const uint8_t *msg, size_t n, int mode,
                    uint64_t *rng, char **out) {
    char *b = NULL;
    ssize_t rc = EM_EAGAIN;
    if (mode == M_WHOLE) {
        b = dup_exact(msg, n);
        rc = parse(p, r, b, n);
    } else if (mode == M_SPLIT2) { /* each piece in a new block: slices get rebased */
        size_t k = (size_t)(rnd(rng) % (n + 1));
        b = dup_exact(msg, k);
        rc = parse(p, r, b, k);
        if (rc == EM_EAGAIN) {
            free(b);
            b = dup_exact(msg, n);
            rc = parse(p, r, b, n);
        }
    } else if (mode == M_SPLIT3) { /* one block that fills up: no rebase */
        size_t k1 = (size_t)(rnd(rng) % (n + 1)), k2 = (size_t)(rnd(rng) % (n + 1));
        if (k1 > k2) {
            size_t t = k1;
            k1 = k2;
            k2 = t;
        }
        b = dup_exact(msg, n);
        rc = parse(p, r, b, k1);
        if (rc == EM_EAGAIN)
            rc = parse(p, r, b, k2);
        if (rc == EM_EAGAIN)
            rc = parse(p, r, b, n);
    } else { /* byte by byte: moved blocks for a while, then one block */
        size_t k = 0;
        for (; k <= n && k <= 256; k++) {
            free(b);
            b = dup_exact(msg, k);
            rc = parse(p, r, b, k);
            if (rc != EM_EAGAIN)
                break;
        }
        if (rc == EM_EAGAIN && k <= n) {
            free(b);
            b = dup_exact(msg, n);
            for (; k <= n && rc == EM_EAGAIN; k++)
                rc = parse(p, r, b, k);
        }
    }
    *out = b;
    return rc;
}

static void record(transcript *t, const em_http_request *r, const char *b, size_t off) {
    put(t, off_of(r->method.ptr, b, off));
    put(t, r->method.len);
    put(t, off_of(r->target.ptr, b, off));
    put(t, r->target.len);
    put(t, off_of(r->host.ptr, b, off));
    put(t, r->host.len);
    put(t, r->content_length);
    put(t, (uint64_t)r->method_id << 32 | (uint64_t)r->target_form << 16 | (uint64_t)r->body);
    put(t, r->flags);
    put(t, (uint64_t)r->version_minor);
    put(t, r->num_headers);
    for (size_t i = 0; i < r->num_headers; i++) {
        const em_http_header *h = &r->headers[i];
        put(t, off_of(h->name.ptr, b, off));
        put(t, h->name.len);
        put(t, off_of(h->value.ptr, b, off));
        put(t, h->value.len);
        put(t, h->id);
    }
}

static em_http_header hdrs[128];

/* One run over the whole stream: transcript into t. */
static void run(const uint8_t *data, size_t size, const head_config *c, int mode, uint64_t seed,
                transcript *t) {
    em_http_parser p;
    em_http_parser_init(&p, c->limits);
    em_http_request r = {.headers = hdrs, .max_headers = c->cap};
    uint64_t rng = seed;
    size_t off = 0;
    t->n = 0;
    t->hash = 0;
    for (int msg = 0; msg < 64 && off < size; msg++) {
        char *b;
        ssize_t rc = feed(&p, &r, data + off, size - off, mode, &rng, &b);
        put(t, (uint64_t)rc);
        if (rc < 0) {
            free(b);
            break;
        }
        check_request(&r, b, size - off, rc, c);
        record(t, &r, b, off);
        free(b);
        off += (size_t)rc;
        if (r.body == EM_HTTP_BODY_LENGTH) {
            if (r.content_length > size - off) {
                put(t, UINT64_MAX);
                break;
            }
            off += (size_t)r.content_length;
        } else if (r.body == EM_HTTP_BODY_CHUNKED) {
            ssize_t n = skip_chunked(data + off, size - off, c->limits);
            put(t, (uint64_t)n);
            if (n < 0)
                break;
            off += (size_t)n;
        }
        put(t, off);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t seed = seed_of(data, size), rng = seed;
    em_http_limits lim;
    head_config cfgs[2] = {{NULL, 128, EM_HTTP_DEFAULT_MAX_START_LINE,
                            EM_HTTP_DEFAULT_MAX_HEADER_BYTES, EM_HTTP_DEFAULT_MAX_HEADERS,
                            EM_HTTP_DEFAULT_MAX_BODY}};
    make_limits(&rng, &lim, &cfgs[1]);
    int levels[3], nl = 0;
    for (int l = EM__HTTP_SIMD_SCALAR; l <= EM__HTTP_SIMD_AVX2; l++)
        if (em__http_simd_supported(l))
            levels[nl++] = l;
    for (int ci = 0; ci < 2; ci++) {
        check(em__http_simd_force(EM__HTTP_SIMD_SCALAR) == 0);
        run(data, size, &cfgs[ci], M_WHOLE, rng, &ref_t);
        for (int li = 0; li < nl; li++) {
            check(em__http_simd_force(levels[li]) == 0);
            for (int m = 0; m < M_COUNT; m++) {
                if (li == 0 && m == M_WHOLE)
                    continue;
                run(data, size, &cfgs[ci], m, rng, &run_t);
                transcript_same(&ref_t, &run_t);
            }
        }
    }
    check(em__http_simd_force(em__http_simd_default()) == 0);
    return 0;
}

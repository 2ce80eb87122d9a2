/* Fuzz em_http_parse_response (http/parse_response.c, headers.c,
 * framing.c and the SIMD scanners). The input is a stream of responses on
 * one connection; each head is parsed (the request method GET, HEAD or
 * CONNECT rotating from a value drawn from the input), its body skipped
 * (Content-Length) or decoded (chunked), and the next head parsed, until a
 * close-delimited body or a tunnel ends the stream.
 *
 * The stream is run at every SIMD level the CPU has, fed four ways (whole;
 * two pieces in moved buffers; three pieces in one growing buffer; byte by
 * byte), with default limits and with small limits drawn from the input.
 * Every run must produce the same transcript (return codes, slice offsets,
 * status, flags, ids, body ends) as the scalar whole run, and every
 * accepted head must re-tile exactly into status line, field lines and
 * final CRLF and agree with RFC 9112 §6.3 on its framing. Any violation
 * aborts. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http_ref.h"

#include "../../http/http_internal.h"
#include "ember/http.h"

/* ---- control values: a hash of the first input bytes --------------------- */

/* ---- transcripts ----------------------------------------------------------
 */

static transcript ref_t, run_t;

/* ---- reference character classes (RFC 9110), not the library's table ------
 */

/* ---- invariants of an accepted head ---------------------------------------
 */

/* RFC 9112 §6.3, in the parser's order, recomputed from the stored fields. */
static void check_framing(const em_http_response *r, em_http_method method, const head_config *c) {
    const em_http_header *h = r->headers;
    size_t ncl = 0, nte = 0, nchunked = 0;
    bool close = false, ka = false, upgrade_tok = false, upgrade = false, coded = false;
    uint64_t cl = 0;
    em_slice last_te = {NULL, 0};
    /* RFC 9110 §9.3.6: a 2xx to CONNECT has its framing fields ignored */
    bool ignore_framing = method == EM_HTTP_CONNECT && r->status >= 200 && r->status < 300;
    for (size_t i = 0; i < r->num_headers; i++) {
        em_slice v = h[i].value;
        em_http_hdr id = h[i].id;
        if (ignore_framing &&
            (id == EM_HTTP_HDR_CONTENT_LENGTH || id == EM_HTTP_HDR_TRANSFER_ENCODING))
            continue;
        switch (id) {
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
                if (ci_eq(el, "chunked"))
                    nchunked++;
                else
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
        default:
            break;
        }
    }
    unsigned f = r->flags;
    int st = r->status < 100 || r->status > 599 ? 500 : r->status; /* RFC 9110 §15 */
    bool chunked = nte && ci_eq(last_te, "chunked");
    check(!(ncl && nte) && (nte == 0 || r->version_minor == 1) && nchunked <= 1);
    check(!(f & EM_HTTP_F_CONTENT_LENGTH) == !ncl);
    check(!(f & EM_HTTP_F_TRANSFER_ENCODING) == !nte);
    check(!(f & EM_HTTP_F_CHUNKED) == !chunked);
    check(!(f & EM_HTTP_F_TE_CODED) == !coded);
    check(r->content_length == cl);
    check(!(f & EM_HTTP_F_CONN_CLOSE) == !close);
    check(!(f & EM_HTTP_F_CONN_KEEP_ALIVE) == !ka);
    check(!(f & EM_HTTP_F_CONN_UPGRADE) == !upgrade_tok);
    check(!(f & EM_HTTP_F_UPGRADE) == !upgrade);
    check(!(f & (EM_HTTP_F_HOST | EM_HTTP_F_EXPECT_CONTINUE | EM_HTTP_F_EXPECT_OTHER)));
    em_http_body body;
    bool tunnel = false;
    if (method == EM_HTTP_HEAD || st < 200 || st == 204 || st == 304) {
        body = EM_HTTP_BODY_NONE;
        tunnel = st == 101 || (method == EM_HTTP_CONNECT && st >= 200 && st < 300);
    } else if (method == EM_HTTP_CONNECT && st < 300) {
        body = EM_HTTP_BODY_NONE;
        tunnel = true;
    } else if (nte) {
        body = chunked ? EM_HTTP_BODY_CHUNKED : EM_HTTP_BODY_UNTIL_CLOSE;
    } else if (ncl) {
        body = cl ? EM_HTTP_BODY_LENGTH : EM_HTTP_BODY_NONE;
        check(cl <= c->max_body);
    } else {
        body = EM_HTTP_BODY_UNTIL_CLOSE;
    }
    check(r->body == body);
    check(!(f & EM_HTTP_F_TUNNEL) == !tunnel);
    bool keep =
        !close && body != EM_HTTP_BODY_UNTIL_CLOSE && !tunnel && (r->version_minor == 1 || ka);
    check(!(f & EM_HTTP_F_KEEP_ALIVE) == !keep);
}

static void check_response(const em_http_response *r, const char *b, size_t n, ssize_t rc,
                           em_http_method method, const head_config *c) {
    check(rc > 0 && (size_t)rc <= n);
    size_t len = (size_t)rc;
    check(r->num_headers <= r->max_headers && r->num_headers <= c->max_n);
    /* HTTP/1.x SP 3DIGIT ( SP reason / "" ) CRLF */
    check(r->version_minor == 0 || r->version_minor == 1);
    /* RFC 9110 §2.5: 1.2 .. 1.9 are read as 1.1 */
    check(len >= 14 && memcmp(b, "HTTP/1.", 7) == 0 && b[7] >= '0' && b[7] <= '9' &&
          r->version_minor == (b[7] > '1' ? 1 : b[7] - '0') && b[8] == ' ');
    for (int i = 9; i < 12; i++)
        check(b[i] >= '0' && b[i] <= '9');
    /* RFC 9110 §15: any three digits, kept as received */
    check(r->status == (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0'));
    check(inside(r->reason, b, len));
    if (b[12] == ' ')
        check(r->reason.ptr == b + 13);
    else
        check(b[12] == '\r' && r->reason.ptr == b + 12 && r->reason.len == 0);
    for (size_t i = 0; i < r->reason.len; i++)
        check(ref_vchar_ok((unsigned char)r->reason.ptr[i]));
    size_t re = (size_t)(r->reason.ptr - b) + r->reason.len;
    check(len - re >= 2 && b[re] == '\r' && b[re + 1] == '\n');
    size_t line_end = re + 2;
    check(line_end <= c->max_line && len - line_end <= c->max_bytes);
    check_fields_folded(r->headers, r->num_headers, b, len, line_end,
                        (r->flags & EM_HTTP_F_OBS_FOLD) != 0);
    check_framing(r, method, c);
}

/* ---- feeding --------------------------------------------------------------
 */

enum { M_WHOLE, M_SPLIT2, M_SPLIT3, M_BYTES, M_COUNT };

static ssize_t parse(em_http_parser *p, em_http_response *r, const char *b, size_t k,
                     em_http_method method) {
    ssize_t rc = em_http_parse_response(p, b, k, method, r);
    check(rc == EM_EAGAIN || rc <= (ssize_t)k);
    check(rc != 0);
    return rc;
}

/* Feed msg[0, n) as mode says; the head must be complete or rejected by the
 * time all n bytes were offered. Returns the last result; *out is the
 * buffer the last call saw (the caller frees it). */
static ssize_t feed(em_http_parser *p, em_http_response *r, em_http_method m, const uint8_t *msg,
                    size_t n, int mode, uint64_t *rng, char **out) {
    char *b = NULL;
    ssize_t rc = EM_EAGAIN;
    if (mode == M_WHOLE) {
        b = dup_exact(msg, n);
        rc = parse(p, r, b, n, m);
    } else if (mode == M_SPLIT2) { /* each piece in a new block: slices get rebased */
        size_t k = (size_t)(rnd(rng) % (n + 1));
        b = dup_exact(msg, k);
        rc = parse(p, r, b, k, m);
        if (rc == EM_EAGAIN) {
            free(b);
            b = dup_exact(msg, n);
            rc = parse(p, r, b, n, m);
        }
    } else if (mode == M_SPLIT3) { /* one block that fills up: no rebase */
        size_t k1 = (size_t)(rnd(rng) % (n + 1)), k2 = (size_t)(rnd(rng) % (n + 1));
        if (k1 > k2) {
            size_t t = k1;
            k1 = k2;
            k2 = t;
        }
        b = dup_exact(msg, n);
        rc = parse(p, r, b, k1, m);
        if (rc == EM_EAGAIN)
            rc = parse(p, r, b, k2, m);
        if (rc == EM_EAGAIN)
            rc = parse(p, r, b, n, m);
    } else { /* byte by byte: moved blocks for a while, then one block */
        size_t k = 0;
        for (; k <= n && k <= 256; k++) {
            free(b);
            b = dup_exact(msg, k);
            rc = parse(p, r, b, k, m);
            if (rc != EM_EAGAIN)
                break;
        }
        if (rc == EM_EAGAIN && k <= n) {
            free(b);
            b = dup_exact(msg, n);
            for (; k <= n && rc == EM_EAGAIN; k++)
                rc = parse(p, r, b, k, m);
        }
    }
    *out = b;
    return rc;
}

static void record(transcript *t, const em_http_response *r, const char *b, size_t off) {
    put(t, off_of(r->reason.ptr, b, off));
    put(t, r->reason.len);
    put(t, (uint64_t)r->status << 32 | (uint64_t)r->body << 8 | (uint64_t)r->version_minor);
    put(t, r->content_length);
    put(t, r->flags);
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

static const em_http_method methods[3] = {EM_HTTP_GET, EM_HTTP_HEAD, EM_HTTP_CONNECT};

/* One run over the whole stream: transcript into t. */
static void run(const uint8_t *data, size_t size, const head_config *c, unsigned m0, int mode,
                uint64_t seed, transcript *t) {
    em_http_parser p;
    em_http_parser_init(&p, c->limits);
    em_http_response r = {.headers = hdrs, .max_headers = c->cap};
    uint64_t rng = seed;
    size_t off = 0;
    t->n = 0;
    t->hash = 0;
    for (unsigned msg = 0; msg < 64 && off < size; msg++) {
        em_http_method method = methods[(m0 + msg) % 3];
        char *b;
        ssize_t rc = feed(&p, &r, method, data + off, size - off, mode, &rng, &b);
        put(t, (uint64_t)rc);
        if (rc < 0) {
            free(b);
            break;
        }
        check_response(&r, b, size - off, rc, method, c);
        record(t, &r, b, off);
        free(b);
        off += (size_t)rc;
        if (r.flags & EM_HTTP_F_TUNNEL)
            break;
        if (r.body == EM_HTTP_BODY_UNTIL_CLOSE)
            break;
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
    unsigned m0 = (unsigned)(rnd(&rng) % 3); /* the first request's method */
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
        run(data, size, &cfgs[ci], m0, M_WHOLE, rng, &ref_t);
        for (int li = 0; li < nl; li++) {
            check(em__http_simd_force(levels[li]) == 0);
            for (int m = 0; m < M_COUNT; m++) {
                if (li == 0 && m == M_WHOLE)
                    continue;
                run(data, size, &cfgs[ci], m0, m, rng, &run_t);
                transcript_same(&ref_t, &run_t);
            }
        }
    }
    check(em__http_simd_force(em__http_simd_default()) == 0);
    return 0;
}

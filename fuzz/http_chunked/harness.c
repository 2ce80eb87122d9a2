/* Fuzz em_http_chunked_decode (http/chunked.c, and through the trailer
 * section headers.c and the SIMD scanners), and the body reader over it. The input is a chunked
 * body, decoded as a connection would: every call gets an exact-size copy of the bytes not yet
 * consumed (so ASan sees any over-read, and the trailer slices must follow the moved buffer), fed
 * whole, byte by byte, or in pieces of random sizes, at every SIMD level the CPU has, with default
 * limits, with stored trailers, and with small limits drawn from the input.
 *
 * Every run must give the same data bytes, final status, consumed length
 * (unless it failed) and trailers as the scalar whole run. A decoded body
 * must also agree with a plain reference decoder (same data, same end,
 * same trailer lines) and respect the limits. Any violation aborts. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http_ref.h"

#include "../../http/http_internal.h"
#include "ember/http.h"

/* ---- control values: a hash of the first input bytes --------------------- */

/* ---- reference character classes (RFC 9110), not the library's table ------
 */

/* ---- invariants of an accepted head ---------------------------------------
 */

/* ---- reference decoder ------------------------------------------------------
 */

typedef struct ref_body {
    size_t end;      /* offset just past the final CRLF */
    size_t tstart;   /* offset of the trailer section */
    size_t ntr;      /* trailer field lines */
    size_t data_len; /* data bytes, copied to the reference buffer */
    size_t max_ext;  /* longest extension run on a size line */
} ref_body;

static int hex(uint8_t c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A plain decoder with none of the state machine: size, anything up to CR
 * (the extensions), CRLF, data, CRLF; then lines up to an empty one. Used
 * only on input the library accepted. */
static bool ref_decode(const uint8_t *in, size_t n, uint8_t *out, ref_body *rb) {
    size_t pos = 0;
    memset(rb, 0, sizeof *rb);
    for (;;) {
        uint64_t sz = 0;
        size_t d0 = pos;
        while (pos < n && hex(in[pos]) >= 0) {
            if (pos - d0 == 64 || (sz >> 60)) /* 64 digits, 16 significant */
                return false;
            sz = sz << 4 | (uint64_t)hex(in[pos]);
            pos++;
        }
        if (pos == d0)
            return false;
        size_t e0 = pos;
        while (pos < n && in[pos] != '\r') {
            if (!ref_vchar_ok(in[pos])) /* no bare LF or other CTL in extensions */
                return false;
            pos++;
        }
        if (pos - e0 > rb->max_ext)
            rb->max_ext = pos - e0;
        if (n - pos < 2 || in[pos + 1] != '\n')
            return false;
        pos += 2;
        if (sz == 0)
            break;
        if (sz > n - pos)
            return false;
        memcpy(out + rb->data_len, in + pos, (size_t)sz);
        rb->data_len += (size_t)sz;
        pos += (size_t)sz;
        if (n - pos < 2 || in[pos] != '\r' || in[pos + 1] != '\n')
            return false;
        pos += 2;
    }
    rb->tstart = pos;
    for (;;) {
        if (n - pos >= 2 && in[pos] == '\r' && in[pos + 1] == '\n') {
            rb->end = pos + 2;
            return true;
        }
        while (pos < n && in[pos] != '\r')
            pos++;
        if (n - pos < 2 || in[pos + 1] != '\n')
            return false;
        pos += 2;
        rb->ntr++;
    }
}

/* ---- decoding ------------------------------------------------------------ */

typedef struct config {
    const em_http_limits *limits; /* NULL: defaults */
    bool store;                   /* trailers go to an array */
    size_t cap;                   /* its capacity */
    uint64_t max_body;
    size_t max_ext, max_tbytes, max_tn;
} config;

enum { M_WHOLE, M_BYTES, M_PIECES, M_COUNT };
enum { MAX_TR = 40 };

typedef struct result {
    ssize_t status;  /* 0: done; else the final error or EM_EAGAIN */
    size_t consumed; /* unless an error */
    uint64_t total;
    size_t dlen;
    size_t ntr;
    struct {
        size_t no, nl, vo, vl;
        em_http_hdr id;
    } tr[MAX_TR];
} result;

static uint8_t *ref_out, *run_out, *chk_out; /* data bytes of each run */
static size_t out_cap;
static result ref_r, run_r;

static void checks_done(const uint8_t *in, size_t n, const result *r, const uint8_t *out,
                        const config *cf) {
    ref_body rb;
    check(ref_decode(in, n, chk_out, &rb));
    check(rb.end == r->consumed && rb.data_len == r->dlen);
    check(memcmp(chk_out, out, r->dlen) == 0);
    check(rb.max_ext <= cf->max_ext);
    check(rb.end - rb.tstart <= cf->max_tbytes);
    check(rb.ntr <= cf->max_tn);
    if (!cf->store) {
        check(r->ntr == 0);
        return;
    }
    check(r->ntr == rb.ntr && r->ntr <= cf->cap);
    /* The trailers, moved onto the input, must tile the trailer section. */
    em_http_header t[MAX_TR];
    for (size_t i = 0; i < r->ntr; i++) {
        t[i].name.ptr = (const char *)in + r->tr[i].no;
        t[i].name.len = r->tr[i].nl;
        t[i].value.ptr = (const char *)in + r->tr[i].vo;
        t[i].value.len = r->tr[i].vl;
        t[i].id = r->tr[i].id;
        check(r->tr[i].no >= rb.tstart && r->tr[i].vo >= rb.tstart);
    }
    check_fields(t, r->ntr, (const char *)in + rb.tstart, rb.end - rb.tstart, 0);
}

static void run(const uint8_t *in, size_t n, const config *cf, int mode, uint64_t seed, result *r,
                uint8_t *out) {
    static em_http_header trbuf[MAX_TR];
    em_http_chunked c;
    memset(&c, 0, sizeof c);
    c.trailers = cf->store ? trbuf : NULL;
    c.max_trailers = cf->cap;
    em_http_chunked_init(&c, cf->limits);
    check(c.trailers == (cf->store ? trbuf : NULL) && c.max_trailers == cf->cap);
    uint64_t rng = seed;
    size_t off = 0, avail = 0;
    ssize_t rc = EM_EAGAIN;
    memset(r, 0, sizeof *r);
    bool fin = false;
    while (!fin && avail < n) {
        size_t step = n;
        if (mode == M_BYTES) {
            step = 1;
        } else if (mode == M_PIECES) {
            uint64_t x = rnd(&rng);
            step = 1 + (size_t)(x % 4 == 0 ? (x >> 8) % 300 : (x >> 8) % 9);
        }
        avail = step > n - avail ? n : avail + step;
        for (;;) {
            size_t wl = avail - off;
            char *w = dup_exact(in + off, wl);
            em_slice d = {NULL, 12345};
            rc = em_http_chunked_decode(&c, w, wl, &d);
            bool done = em_http_chunked_done(&c);
            if (rc >= 0) {
                check((size_t)rc <= wl && (rc > 0 || done));
                check(d.ptr != NULL && d.len <= (size_t)rc);
                check(d.len == 0 || d.ptr + d.len == w + rc);
                check(r->dlen + d.len <= n);
                if (d.len)
                    memcpy(out + r->dlen, d.ptr, d.len);
                r->dlen += d.len;
            } else {
                check(!done);
            }
            if (done) {
                check(rc > 0);
                r->ntr = c.num_trailers;
                check(!cf->store || r->ntr <= cf->cap);
                check(cf->store || r->ntr == 0);
                for (size_t i = 0; i < r->ntr; i++) {
                    const em_http_header *h = &c.trailers[i];
                    check(h->name.ptr >= w && h->value.ptr >= w &&
                          h->name.ptr + h->name.len <= w + rc &&
                          h->value.ptr + h->value.len <= w + rc);
                    r->tr[i].no = off + (size_t)(h->name.ptr - w);
                    r->tr[i].nl = h->name.len;
                    r->tr[i].vo = off + (size_t)(h->value.ptr - w);
                    r->tr[i].vl = h->value.len;
                    r->tr[i].id = h->id;
                }
            }
            free(w);
            if (rc > 0)
                off += (size_t)rc;
            if (done) {
                /* Finished: further calls consume nothing. */
                char *rest = dup_exact(in + off, n - off);
                em_slice d2;
                check(em_http_chunked_decode(&c, rest, n - off, &d2) == 0 && d2.len == 0);
                free(rest);
                fin = true;
                rc = 0;
                break;
            }
            if (rc < 0 && rc != EM_EAGAIN) {
                fin = true;
                break;
            }
            if (rc == EM_EAGAIN || off == avail)
                break;
        }
    }
    if (!fin)
        rc = EM_EAGAIN; /* out of input */
    r->status = rc;
    r->total = em_http_chunked_total(&c);
    check(r->total == r->dlen && r->total <= cf->max_body);
    if (rc < 0 && rc != EM_EAGAIN)
        r->consumed = 0; /* progress before an error depends on the pieces */
    else
        r->consumed = off;
    if (rc == 0)
        checks_done(in, n, r, out, cf);
}

/* The body reader over the same bytes, fed whole: the same data, end and
 * verdict as the decoder it wraps. */
static void reader_run(const uint8_t *in, size_t n, const config *cf, const result *want) {
    em_http_body_reader r;
    em_http_body_reader_init(&r, EM_HTTP_BODY_CHUNKED, 0, cf->limits);
    uint8_t *copy = malloc(n ? n : 1);
    check(copy != NULL);
    memcpy(copy, in, n);
    size_t off = 0, dlen = 0;
    ssize_t status = 0;
    while (!em_http_body_reader_done(&r)) {
        em_slice piece;
        ssize_t got = em_http_body_reader_read(&r, (const char *)copy + off, n - off, &piece);
        if (got < 0) {
            status = got;
            break;
        }
        check(piece.len <= (size_t)got);
        memcpy(chk_out + dlen, piece.ptr, piece.len);
        dlen += piece.len;
        off += (size_t)got;
    }
    free(copy);
    check(status == want->status);
    if (status == 0 || status == EM_EAGAIN) {
        check(dlen == want->dlen && memcmp(chk_out, ref_out, dlen) == 0);
        check(em_http_body_reader_eof(&r) == (status == 0 ? 0 : EM_EUNEXPECTEDEOF));
    }
    if (status == 0)
        check(off == want->consumed);
}

static void same(const result *a, const result *b) {
    check(a->status == b->status && a->consumed == b->consumed && a->total == b->total);
    check(a->dlen == b->dlen && memcmp(ref_out, run_out, a->dlen) == 0);
    check(a->ntr == b->ntr);
    for (size_t i = 0; i < a->ntr; i++)
        check(a->tr[i].no == b->tr[i].no && a->tr[i].nl == b->tr[i].nl &&
              a->tr[i].vo == b->tr[i].vo && a->tr[i].vl == b->tr[i].vl &&
              a->tr[i].id == b->tr[i].id);
}

static void make_config(uint64_t *rng, em_http_limits *l, config *c) {
    uint64_t x = rnd(rng), y = rnd(rng);
    memset(l, 0, sizeof *l);
    l->max_body = x % 4 == 0 ? 0 : x % 4 == 1 ? UINT64_MAX : (x >> 8) % 3000;
    l->max_chunk_ext = (x >> 20) % 4 == 0 ? 0 : 1 + (x >> 24) % 32;
    l->max_trailer_bytes = (y % 4) == 0 ? 0 : y % 4 == 1 ? SIZE_MAX : 1 + (y >> 8) % 200;
    l->max_trailers = (size_t)((y >> 20) % 7); /* 0: the default */
    c->limits = l;
    c->store = (y >> 32) % 3 != 0;
    c->cap = (size_t)((y >> 40) % 9);
    c->max_body = l->max_body ? l->max_body : EM_HTTP_DEFAULT_MAX_BODY;
    c->max_ext = em__http_lim(l->max_chunk_ext, EM_HTTP_DEFAULT_MAX_CHUNK_EXT);
    c->max_tbytes = em__http_lim(l->max_trailer_bytes, EM_HTTP_DEFAULT_MAX_TRAILER_BYTES);
    c->max_tn = em__http_lim(l->max_trailers, EM_HTTP_DEFAULT_MAX_TRAILERS);
    if (c->store && c->cap < c->max_tn)
        c->max_tn = c->cap;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size + 1 > out_cap) {
        out_cap = size + 1;
        free(ref_out);
        free(run_out);
        free(chk_out);
        ref_out = malloc(out_cap);
        run_out = malloc(out_cap);
        chk_out = malloc(out_cap);
        check(ref_out && run_out && chk_out);
    }
    uint64_t seed = seed_of(data, size), rng = seed;
    em_http_limits lim;
    const config dflt = {NULL,
                         false,
                         0,
                         EM_HTTP_DEFAULT_MAX_BODY,
                         EM_HTTP_DEFAULT_MAX_CHUNK_EXT,
                         EM_HTTP_DEFAULT_MAX_TRAILER_BYTES,
                         EM_HTTP_DEFAULT_MAX_TRAILERS};
    config cfgs[3] = {dflt, dflt, dflt};
    cfgs[1].store = true; /* the default limit of 32 trailers, in an array of 40 */
    cfgs[1].cap = MAX_TR;
    make_config(&rng, &lim, &cfgs[2]);
    int levels[3], nl = 0;
    for (int l = EM__HTTP_SIMD_SCALAR; l <= EM__HTTP_SIMD_AVX2; l++)
        if (em__http_simd_supported(l))
            levels[nl++] = l;
    for (int ci = 0; ci < 3; ci++) {
        check(em__http_simd_force(EM__HTTP_SIMD_SCALAR) == 0);
        run(data, size, &cfgs[ci], M_WHOLE, rng, &ref_r, ref_out);
        if (!cfgs[ci].store)
            reader_run(data, size, &cfgs[ci], &ref_r);
        for (int li = 0; li < nl; li++) {
            check(em__http_simd_force(levels[li]) == 0);
            for (int m = 0; m < M_COUNT; m++) {
                if (li == 0 && m == M_WHOLE)
                    continue;
                run(data, size, &cfgs[ci], m, rng, &run_r, run_out);
                same(&ref_r, &run_r);
            }
        }
    }
    check(em__http_simd_force(em__http_simd_default()) == 0);
    return 0;
}

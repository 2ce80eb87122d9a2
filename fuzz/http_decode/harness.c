/* Fuzz the content-coding decoders (http/encoding_decode.c) and, through a
 * round trip, the encoders. Input: byte 0 picks the Content-Encoding list
 * (gzip, deflate, stacks, identity) and whether to round-trip; byte 1 the
 * output cap and the ratio; bytes 2-3 seed the splits; the rest is the
 * coded body.
 *
 * Invariants (any violation aborts):
 *   - the sink never receives more than max_out bytes in all, and
 *     em_http_decoder_total() counts exactly what it received;
 *   - with the ratio cap out of the way, the result and the output are the
 *     same fed whole, a byte at a time (small inputs) and cut at random
 *     points;
 *   - with a small ratio cap the output is a prefix of the uncapped one,
 *     and the result the same or EM_EBODYTOOLARGE;
 *   - "gzip" alone agrees with zlib's inflate over the members;
 *   - compressing the body with every coding and decoding it gives it back. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ember/http.h"
#include "fuzz.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static const char *const codings[] = {
    "gzip",       "deflate",  "gzip, deflate",          "deflate, gzip", "x-gzip, identity",
    "gzip, gzip", "identity", "deflate, deflate, gzip",
};

typedef struct out {
    unsigned char *p;
    size_t len, cap;
    uint64_t max;
} out;

static int sink(void *arg, em_slice piece) {
    out *o = arg;
    CHECK(piece.len > 0);
    CHECK(o->len + piece.len <= o->max); /* never past the cap */
    if (o->len + piece.len > o->cap) {
        size_t cap = (o->len + piece.len) * 2;
        unsigned char *q = realloc(o->p, cap);
        CHECK(q);
        o->p = q;
        o->cap = cap;
    }
    memcpy(o->p + o->len, piece.ptr, piece.len);
    o->len += piece.len;
    return 0;
}

static uint32_t next_rand(uint32_t *s) {
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* mode 0: whole; 1: a byte at a time; 2: random cuts. Each piece is an
 * exact-size copy, so ASan sees any over-read. */
static int decode(const char *ce, const uint8_t *in, size_t n, const em_http_decoder_opts *o,
                  int mode, uint32_t seed, out *res) {
    memset(res, 0, sizeof *res);
    res->max = o->max_out;
    em_http_decoder *d;
    int rc = em_http_decoder_new(&d, em_slice_from_cstr(ce), o);
    CHECK(rc == 0);
    size_t at = 0;
    while (at < n && !rc) {
        size_t k = n - at;
        if (mode == 1)
            k = 1;
        else if (mode == 2)
            k = 1 + next_rand(&seed) % (k < 64 ? k : (next_rand(&seed) & 1 ? 64 : k));
        uint8_t *piece = malloc(k);
        CHECK(piece);
        memcpy(piece, in + at, k);
        rc = em_http_decoder_feed(d, em_slice_make(piece, k), sink, res);
        free(piece);
        at += k;
    }
    if (!rc)
        rc = em_http_decoder_finish(d, sink, res);
    CHECK(em_http_decoder_total(d) == res->len);
    em_http_decoder_free(d);
    return rc;
}

/* zlib's own reading of a gzip file: members until the input ends. */
static int ref_gzip(const uint8_t *in, size_t n, uint64_t max, out *res) {
    memset(res, 0, sizeof *res);
    res->max = UINT64_MAX;
    z_stream z;
    memset(&z, 0, sizeof z);
    CHECK(inflateInit2(&z, 31) == Z_OK);
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)n;
    int rc = 0;
    unsigned char buf[16384];
    while (z.avail_in) {
        z.next_out = buf;
        z.avail_out = sizeof buf;
        int zr = inflate(&z, Z_NO_FLUSH);
        size_t got = sizeof buf - z.avail_out;
        if (got)
            sink(res, em_slice_make(buf, got));
        if (res->len > max) {
            rc = 1;
            break;
        }
        if (zr == Z_STREAM_END) {
            if (z.avail_in)
                inflateReset(&z);
            else
                break;
        } else if (zr != Z_OK) {
            rc = 1;
            break;
        }
    }
    inflateEnd(&z);
    return rc;
}

static void round_trip(const uint8_t *in, size_t n, int level) {
    em_http_coding cs[] = {EM_HTTP_CODING_GZIP, EM_HTTP_CODING_DEFLATE, EM_HTTP_CODING_IDENTITY};
    for (int i = 0; i < 3; i++) {
        em_buf z, back;
        em_buf_init(&z, 0);
        em_buf_init(&back, 0);
        CHECK(em_http_compress(cs[i], level, em_slice_make(in, n), &z) == 0);
        CHECK(em_http_decompress(em_slice_from_cstr(em_http_coding_name(cs[i])), em_buf_slice(&z),
                                 NULL, &back) == 0);
        CHECK(em_buf_len(&back) == n && (n == 0 || memcmp(em_buf_data(&back), in, n) == 0));
        em_buf_free(&z);
        em_buf_free(&back);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4)
        return 0;
    const char *ce = codings[data[0] % (sizeof codings / sizeof codings[0])];
    bool rt = data[0] & 0x80;
    /* 1 B .. 255 KiB; 0xff: 1.5 MiB, so the ratio cap (past the first
     * MiB) can bind. */
    uint64_t max_out = data[1] == 0xff ? 3 << 19 : 1 + (uint64_t)data[1] * 1024;
    unsigned ratio = 2 + (data[1] & 7) * 7;
    uint32_t seed = (uint32_t)data[2] << 8 | data[3];
    const uint8_t *in = data + 4;
    size_t n = size - 4;

    em_http_decoder_opts loose = {.max_out = max_out, .max_ratio = 4000000000u};
    out whole, piece;
    int rc = decode(ce, in, n, &loose, 0, seed, &whole);
    if (n <= 512 && max_out <= (1 << 18)) {
        CHECK(decode(ce, in, n, &loose, 1, seed, &piece) == rc);
        CHECK(piece.len == whole.len && (!whole.len || !memcmp(piece.p, whole.p, whole.len)));
        free(piece.p);
    }
    for (int k = 0; k < 2; k++) {
        CHECK(decode(ce, in, n, &loose, 2, seed + (uint32_t)k, &piece) == rc);
        CHECK(piece.len == whole.len && (!whole.len || !memcmp(piece.p, whole.p, whole.len)));
        free(piece.p);
    }

    em_http_decoder_opts tight = {.max_out = max_out, .max_ratio = ratio};
    int rc2 = decode(ce, in, n, &tight, 2, seed, &piece);
    CHECK(rc2 == rc || rc2 == EM_EBODYTOOLARGE);
    CHECK(piece.len <= whole.len && (!piece.len || !memcmp(piece.p, whole.p, piece.len)));
    CHECK(piece.len <= (1u << 20) || piece.len <= (uint64_t)ratio * n);
    free(piece.p);

    if (!strcmp(ce, "gzip") && rc == 0 && n) {
        out ref;
        CHECK(ref_gzip(in, n, max_out, &ref) == 0);
        CHECK(ref.len == whole.len && (!ref.len || !memcmp(ref.p, whole.p, ref.len)));
        free(ref.p);
    }
    free(whole.p);

    if (rt)
        round_trip(in, n < 4096 ? n : 4096, (int)(data[1] % 11) - 1);
    return 0;
}

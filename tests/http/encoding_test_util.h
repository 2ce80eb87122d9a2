/* Helpers for the content-coding tests: reference streams made with zlib
 * directly (so the library is checked against zlib, not against itself),
 * and a decoder driven over any split of its input. */
#ifndef EM_ENCODING_TEST_UTIL_H
#define EM_ENCODING_TEST_UTIL_H

#include <string.h>
#include <zlib.h>

#include "em_test.h"
#include "ember/http.h"

/* Append zlib's deflate of in (window_bits: 15 zlib, -15 raw, 31 gzip). */
static inline void ref_deflate(em_buf *out, const void *in, size_t n, int window_bits, int level) {
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)n;
    int zr;
    do {
        unsigned char tmp[4096];
        z.next_out = tmp;
        z.avail_out = sizeof tmp;
        zr = deflate(&z, Z_FINISH);
        assert_true(zr == Z_OK || zr == Z_STREAM_END || zr == Z_BUF_ERROR);
        assert_int_equal(em_buf_append(out, tmp, sizeof tmp - z.avail_out), 0);
    } while (zr != Z_STREAM_END);
    deflateEnd(&z);
}

static inline int sink_buf(void *arg, em_slice piece) {
    assert_true(piece.len > 0 && piece.len <= 16384);
    return em_buf_append((em_buf *)arg, piece.ptr, piece.len);
}

/* Decode coded[0, n) with content encoding ce, fed in pieces cut at
 * cuts[0..ncuts) (ascending), into out; returns the first error of feed,
 * or finish's result. */
static inline int decode_cuts(const char *ce, const void *coded, size_t n, const size_t *cuts,
                              size_t ncuts, const em_http_decoder_opts *o, em_buf *out) {
    em_http_decoder *d;
    int rc = em_http_decoder_new(&d, em_slice_from_cstr(ce), o);
    if (rc)
        return rc;
    size_t at = 0;
    for (size_t i = 0; i <= ncuts && !rc; i++) {
        size_t to = i < ncuts ? cuts[i] : n;
        /* A copy of exactly the piece, so ASan sees any over-read. */
        char *piece = malloc(to - at + 1);
        assert_non_null(piece);
        memcpy(piece, (const char *)coded + at, to - at);
        rc = em_http_decoder_feed(d, em_slice_make(piece, to - at), sink_buf, out);
        free(piece);
        at = to;
    }
    if (!rc)
        rc = em_http_decoder_finish(d, sink_buf, out);
    em_http_decoder_free(d);
    return rc;
}

static inline int decode_whole(const char *ce, const void *coded, size_t n, em_buf *out) {
    return decode_cuts(ce, coded, n, NULL, 0, NULL, out);
}

/* Text that compresses like real pages do: words from a small vocabulary
 * in a pseudo-random order. */
static inline void make_text(char *p, size_t n, uint32_t seed) {
    static const char *const words[] = {"ember ",   "socket ", "loop ", "header ", "body ", "gzip ",
                                        "deflate ", "chunk ",  "\n",    "<div>",   "</div>"};
    size_t i = 0;
    while (i < n) {
        seed = seed * 1103515245u + 12345u;
        const char *w = words[(seed >> 16) % (sizeof words / sizeof words[0])];
        while (*w && i < n)
            p[i++] = *w++;
    }
}

static inline void make_random(unsigned char *p, size_t n, uint32_t seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(seed >> 16);
    }
}

#endif

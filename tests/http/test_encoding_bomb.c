/* Decompression bombs against the decoder's caps: gzip files of zeros made
 * on the fly (never stored) from one raw-deflate segment repeated, so a
 * 10 GiB bomb (~10 MB coded) costs the test only memcpy speed. Each must
 * end in EM_EBODYTOOLARGE with the output stopped exactly at the cap and
 * the process's resident memory barely moved. */
#include <stdio.h>

#include "encoding_test_util.h"

#define MIB (1024 * 1024ull)

/* A gzip member of nseg * 1 MiB zeros, produced in pieces. */
typedef struct bomb {
    unsigned char seg[4096]; /* raw deflate of 1 MiB zeros, ending in a sync flush */
    size_t seglen;
    uint64_t nseg;
    uLong crc_seg; /* CRC-32 of 1 MiB zeros */
} bomb;

static void bomb_init(bomb *b, uint64_t nseg) {
    static unsigned char zeros[1 << 20];
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = zeros;
    z.avail_in = sizeof zeros;
    z.next_out = b->seg;
    z.avail_out = sizeof b->seg;
    /* Non-final blocks ending byte-aligned: the segment references only
     * itself (a literal 0, then distance-1 matches), so copies chain. */
    assert_int_equal(deflate(&z, Z_SYNC_FLUSH), Z_OK);
    assert_int_equal(z.avail_in, 0);
    b->seglen = sizeof b->seg - z.avail_out;
    deflateEnd(&z);
    b->nseg = nseg;
    b->crc_seg = crc32(0, zeros, sizeof zeros);
}

typedef struct counter {
    uint64_t total;
    bool nonzero;
} counter;

static int sink_count(void *arg, em_slice piece) {
    counter *c = arg;
    c->total += piece.len;
    if (piece.ptr[0] || piece.ptr[piece.len - 1])
        c->nonzero = true;
    return 0;
}

static long rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    assert_non_null(f);
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

typedef int (*feed_fn)(void *ctx, em_slice piece);

/* Produce the bomb's bytes into fn until it fails; returns its error, or
 * 0 once every byte went in. */
static int bomb_run(const bomb *b, feed_fn fn, void *ctx) {
    static const unsigned char hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    int rc = fn(ctx, em_slice_make(hdr, sizeof hdr));
    uLong crc = 0;
    for (uint64_t i = 0; i < b->nseg && !rc; i++) {
        size_t cut = (size_t)(i * 7919 % b->seglen); /* vary the split */
        rc = fn(ctx, em_slice_make(b->seg, cut));
        if (!rc)
            rc = fn(ctx, em_slice_make(b->seg + cut, b->seglen - cut));
        crc = crc32_combine(crc, b->crc_seg, (z_off_t)MIB);
    }
    if (rc)
        return rc;
    /* An empty final fixed-Huffman block, then CRC-32 and ISIZE. */
    uint32_t isize = (uint32_t)(b->nseg * MIB);
    unsigned char tail[10] = {0x03,
                              0x00,
                              (unsigned char)crc,
                              (unsigned char)(crc >> 8),
                              (unsigned char)(crc >> 16),
                              (unsigned char)(crc >> 24),
                              (unsigned char)isize,
                              (unsigned char)(isize >> 8),
                              (unsigned char)(isize >> 16),
                              (unsigned char)(isize >> 24)};
    return fn(ctx, em_slice_make(tail, sizeof tail));
}

typedef struct dec_ctx {
    em_http_decoder *d;
    counter c;
} dec_ctx;

static int feed_decoder(void *ctx, em_slice piece) {
    dec_ctx *x = ctx;
    return em_http_decoder_feed(x->d, piece, sink_count, &x->c);
}

/* Decode a bomb of nseg MiB with opts; returns the result and fills *c. */
static int decode_bomb(uint64_t nseg, const char *ce, const em_http_decoder_opts *o, counter *c,
                       long *rss_growth) {
    bomb b;
    bomb_init(&b, nseg);
    dec_ctx x = {0};
    assert_int_equal(em_http_decoder_new(&x.d, em_slice_from_cstr(ce), o), 0);
    long before = rss_kib();
    int rc = bomb_run(&b, feed_decoder, &x);
    if (!rc)
        rc = em_http_decoder_finish(x.d, sink_count, &x.c);
    *rss_growth = rss_kib() - before;
    assert_int_equal(em_http_decoder_total(x.d), x.c.total);
    em_http_decoder_free(x.d);
    *c = x.c;
    return rc;
}

/* The construction itself is a valid gzip file (checked with small ones). */
static void test_bomb_is_valid(void **state) {
    (void)state;
    counter c;
    long growth;
    em_http_decoder_opts o = {.max_ratio = 100000};
    assert_int_equal(decode_bomb(64, "gzip", &o, &c, &growth), 0);
    assert_int_equal(c.total, 64 * MIB);
    assert_false(c.nonzero);
}

/* 10 GiB of zeros in ~10 MB: with the default caps the ratio stops it
 * just past the first free MiB. */
static void test_bomb_10g_ratio(void **state) {
    (void)state;
    counter c;
    long growth;
    assert_int_equal(decode_bomb(10240, "gzip", NULL, &c, &growth), EM_EBODYTOOLARGE);
    assert_true(c.total >= MIB && c.total < 2 * MIB);
    assert_true(growth < 8 * 1024);
}

/* The same with the ratio out of the way: max_out (1 GiB) stops it, at
 * exactly 1 GiB, memory flat all along. */
static void test_bomb_10g_max_out(void **state) {
    (void)state;
    counter c;
    long growth;
    em_http_decoder_opts o = {.max_ratio = 100000};
    assert_int_equal(decode_bomb(10240, "gzip", &o, &c, &growth), EM_EBODYTOOLARGE);
    assert_int_equal(c.total, 1024 * MIB);
    assert_true(growth < 8 * 1024);
    /* A smaller max_out, exactly. */
    o.max_out = 5 * MIB + 17;
    assert_int_equal(decode_bomb(10240, "gzip", &o, &c, &growth), EM_EBODYTOOLARGE);
    assert_int_equal(c.total, 5 * MIB + 17);
}

/* 1 MiB that inflates to 1 GiB (ratio ~1030): past the free MiB the
 * default 1000:1 stops it (test_bomb_is_valid shows such a file decodes
 * when allowed). */
static void test_ratio_bomb_1g(void **state) {
    (void)state;
    counter c;
    long growth;
    assert_int_equal(decode_bomb(1024, "gzip", NULL, &c, &growth), EM_EBODYTOOLARGE);
    assert_true(c.total < 2 * MIB);
    assert_true(growth < 8 * 1024);
}

/* Text that compresses 5:1 is nowhere near the ratio cap. */
static void test_ordinary_large_body(void **state) {
    (void)state;
    size_t n = 8 * MIB;
    char *text = malloc(n);
    make_text(text, n, 11);
    em_buf z, out;
    em_buf_init(&z, 0);
    em_buf_init(&out, 0);
    assert_int_equal(em_http_compress(EM_HTTP_CODING_GZIP, 6, em_slice_make(text, n), &z), 0);
    assert_int_equal(em_http_decompress(EM_SLICE_LIT("gzip"), em_buf_slice(&z), NULL, &out), 0);
    assert_int_equal(em_buf_len(&out), n);
    em_buf_free(&z);
    em_buf_free(&out);
    free(text);
}

/* A bomb inside a bomb: gzip of a 256 MiB gzip bomb. Every stage works in
 * a fixed window, so memory stays flat, and the ratio is counted against
 * the outer coded bytes. */
typedef struct enc_ctx {
    em_http_encoder *e;
    em_buf *out;
} enc_ctx;

static int sink_append(void *arg, em_slice piece) {
    return em_buf_append((em_buf *)arg, piece.ptr, piece.len);
}

static int feed_encoder(void *ctx, em_slice piece) {
    enc_ctx *x = ctx;
    return em_http_encoder_feed(x->e, piece, sink_append, x->out);
}

static void test_nested_bomb(void **state) {
    (void)state;
    bomb b;
    bomb_init(&b, 256);
    em_buf outer;
    em_buf_init(&outer, 0);
    enc_ctx ec = {NULL, &outer};
    assert_int_equal(em_http_encoder_new(&ec.e, EM_HTTP_CODING_GZIP, 9), 0);
    assert_int_equal(bomb_run(&b, feed_encoder, &ec), 0);
    assert_int_equal(em_http_encoder_finish(ec.e, sink_append, &outer), 0);
    em_http_encoder_free(ec.e);
    assert_true(em_buf_len(&outer) < 64 * 1024); /* 256 MiB in a few KB */

    em_http_decoder *d;
    counter c = {0};
    assert_int_equal(em_http_decoder_new(&d, EM_SLICE_LIT("gzip, gzip"), NULL), 0);
    long before = rss_kib();
    assert_int_equal(em_http_decoder_feed(d, em_buf_slice(&outer), sink_count, &c),
                     EM_EBODYTOOLARGE);
    assert_true(rss_kib() - before < 8 * 1024);
    /* Past the free MiB, never more than 1000 times what came in. */
    assert_true(c.total <= MIB || c.total <= 1000 * em_http_decoder_consumed(d));
    assert_true(c.total < 2 * MIB);
    em_http_decoder_free(d);
    /* Allowed a ratio that high, it decodes in full. */
    em_http_decoder_opts o = {.max_ratio = 4000000000u};
    c.total = 0;
    assert_int_equal(em_http_decoder_new(&d, EM_SLICE_LIT("gzip, gzip"), &o), 0);
    assert_int_equal(em_http_decoder_feed(d, em_buf_slice(&outer), sink_count, &c), 0);
    assert_int_equal(em_http_decoder_finish(d, sink_count, &c), 0);
    assert_int_equal(c.total, 256 * MIB);
    em_http_decoder_free(d);
    em_buf_free(&outer);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bomb_is_valid),       cmocka_unit_test(test_bomb_10g_ratio),
        cmocka_unit_test(test_bomb_10g_max_out),    cmocka_unit_test(test_ratio_bomb_1g),
        cmocka_unit_test(test_ordinary_large_body), cmocka_unit_test(test_nested_bomb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

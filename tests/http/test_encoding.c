/* Content codings (http/encoding_*.c): round trips for every coding and
 * level, zlib's own streams (gzip with a name and header CRC, zlib, raw
 * deflate), stacked codings, gzip members, corrupt and truncated input,
 * every split of small inputs, caps, sticky and sink errors, and
 * Accept-Encoding negotiation. Bombs are in test_encoding_bomb.c. */
#include "encoding_test_util.h"

static const int levels[] = {-1, 0, 1, 6, 9};

static void check_round_trip(em_http_coding c, int level, const void *in, size_t n) {
    em_buf z, back;
    em_buf_init(&z, 0);
    em_buf_init(&back, 0);
    assert_int_equal(em_http_compress(c, level, em_slice_make(in, n), &z), 0);
    assert_int_equal(em_http_decompress(em_slice_from_cstr(em_http_coding_name(c)),
                                        em_buf_slice(&z), NULL, &back),
                     0);
    assert_int_equal(em_buf_len(&back), n);
    assert_true(n == 0 || memcmp(em_buf_data(&back), in, n) == 0);
    /* zlib itself agrees on what was made. */
    if (c != EM_HTTP_CODING_IDENTITY && n) {
        unsigned char *ref = malloc(n);
        z_stream s;
        memset(&s, 0, sizeof s);
        assert_int_equal(inflateInit2(&s, c == EM_HTTP_CODING_GZIP ? 31 : 15), Z_OK);
        s.next_in = (unsigned char *)em_buf_data(&z);
        s.avail_in = (uInt)em_buf_len(&z);
        s.next_out = ref;
        s.avail_out = (uInt)n;
        assert_int_equal(inflate(&s, Z_FINISH), Z_STREAM_END);
        assert_int_equal(s.total_out, n);
        assert_memory_equal(ref, in, n);
        inflateEnd(&s);
        free(ref);
    }
    em_buf_free(&z);
    em_buf_free(&back);
}

static void test_round_trips(void **state) {
    (void)state;
    size_t n = 300 * 1000;
    char *text = malloc(n);
    unsigned char *rnd = malloc(n);
    make_text(text, n, 1);
    make_random(rnd, n, 2);
    em_http_coding codings[] = {EM_HTTP_CODING_IDENTITY, EM_HTTP_CODING_GZIP,
                                EM_HTTP_CODING_DEFLATE};
    for (size_t c = 0; c < 3; c++)
        for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
            check_round_trip(codings[c], levels[l], "", 0);
            check_round_trip(codings[c], levels[l], "a", 1);
            check_round_trip(codings[c], levels[l], text, n);
            check_round_trip(codings[c], levels[l], rnd, 70000);
        }
    /* Text compresses, and a higher level is no worse. */
    em_buf z1, z9;
    em_buf_init(&z1, 0);
    em_buf_init(&z9, 0);
    assert_int_equal(em_http_compress(EM_HTTP_CODING_GZIP, 1, em_slice_make(text, n), &z1), 0);
    assert_int_equal(em_http_compress(EM_HTTP_CODING_GZIP, 9, em_slice_make(text, n), &z9), 0);
    assert_true(em_buf_len(&z1) < n / 3);
    assert_true(em_buf_len(&z9) <= em_buf_len(&z1));
    em_buf_free(&z1);
    em_buf_free(&z9);
    free(text);
    free(rnd);
}

static void test_encoder_api(void **state) {
    (void)state;
    em_http_encoder *e;
    assert_int_equal(em_http_encoder_new(&e, EM_HTTP_CODING_GZIP, 10), EM_EINVAL);
    assert_null(e);
    assert_int_equal(em_http_encoder_new(&e, EM_HTTP_CODING_GZIP, -2), EM_EINVAL);
    assert_int_equal(em_http_encoder_new(&e, (em_http_coding)7, 6), EM_EINVAL);
    em_http_encoder_free(NULL);
    /* Streaming with flushes: each flush makes everything so far decodable. */
    em_http_coding cs[] = {EM_HTTP_CODING_GZIP, EM_HTTP_CODING_DEFLATE, EM_HTTP_CODING_IDENTITY};
    for (int c = 0; c < 3; c++) {
        assert_int_equal(em_http_encoder_new(&e, cs[c], -1), 0);
        em_buf z, out;
        em_buf_init(&z, 0);
        em_buf_init(&out, 0);
        em_http_decoder *d;
        assert_int_equal(
            em_http_decoder_new(&d, em_slice_from_cstr(em_http_coding_name(cs[c])), NULL), 0);
        char text[5000];
        make_text(text, sizeof text, 9);
        size_t fed = 0;
        for (int i = 0; i < 10; i++) {
            assert_int_equal(em_http_encoder_feed(e, em_slice_make(text, 500), sink_buf, &z), 0);
            fed += 500;
            assert_int_equal(em_http_encoder_flush(e, sink_buf, &z), 0);
            assert_int_equal(em_http_decoder_feed(d, em_buf_slice(&z), sink_buf, &out), 0);
            em_buf_clear(&z);
            assert_int_equal(em_buf_len(&out), fed);
            assert_int_equal(em_http_decoder_total(d), fed);
        }
        assert_int_equal(em_http_encoder_finish(e, sink_buf, &z), 0);
        assert_int_equal(em_http_encoder_feed(e, em_slice_make("x", 1), sink_buf, &z), EM_EINVAL);
        assert_int_equal(em_http_decoder_feed(d, em_buf_slice(&z), sink_buf, &out), 0);
        assert_int_equal(em_http_decoder_finish(d, sink_buf, &out), 0);
        assert_int_equal(em_buf_len(&out), 5000);
        em_http_decoder_free(d);
        em_http_encoder_free(e);
        em_buf_free(&z);
        em_buf_free(&out);
    }
    /* gzip output is the same on every run (no name, no time). */
    em_buf a, b;
    em_buf_init(&a, 0);
    em_buf_init(&b, 0);
    assert_int_equal(em_http_compress(EM_HTTP_CODING_GZIP, 6, EM_SLICE_LIT("same"), &a), 0);
    assert_int_equal(em_http_compress(EM_HTTP_CODING_GZIP, 6, EM_SLICE_LIT("same"), &b), 0);
    assert_int_equal(em_buf_len(&a), em_buf_len(&b));
    assert_memory_equal(em_buf_data(&a), em_buf_data(&b), em_buf_len(&a));
    /* A capped output buffer says so. */
    em_buf small;
    em_buf_init(&small, 10);
    assert_int_equal(em_http_compress(EM_HTTP_CODING_GZIP, 6, EM_SLICE_LIT("hello hello"), &small),
                     EM_ENOBUFS);
    em_buf_free(&small);
    em_buf_free(&a);
    em_buf_free(&b);
}

static int sink_cancel(void *arg, em_slice piece) {
    (void)piece;
    ++*(int *)arg;
    return EM_ECANCELED;
}

static void test_encoder_sink_error(void **state) {
    (void)state;
    em_http_encoder *e;
    int calls = 0;
    assert_int_equal(em_http_encoder_new(&e, EM_HTTP_CODING_GZIP, 6), 0);
    /* The gzip header goes out with the first bytes. */
    assert_int_equal(em_http_encoder_feed(e, EM_SLICE_LIT("abc"), sink_cancel, &calls),
                     EM_ECANCELED);
    assert_int_equal(em_http_encoder_feed(e, EM_SLICE_LIT("abc"), sink_cancel, &calls),
                     EM_ECANCELED);
    assert_int_equal(em_http_encoder_finish(e, sink_cancel, &calls), EM_ECANCELED);
    assert_int_equal(calls, 1);
    em_http_encoder_free(e);
}

/* zlib's own streams, with everything RFC 1952 allows in a header. */
static void test_reference_streams(void **state) {
    (void)state;
    char text[20000];
    make_text(text, sizeof text, 3);
    struct {
        const char *ce;
        int bits;
    } cases[] = {{"gzip", 31},    {"x-gzip", 31},   {"GZIP", 31},
                 {"deflate", 15}, {"deflate", -15}, {" Deflate ", -15}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int level = 0; level <= 9; level += 3) {
            em_buf z, out;
            em_buf_init(&z, 0);
            em_buf_init(&out, 0);
            ref_deflate(&z, text, sizeof text, cases[i].bits, level);
            assert_int_equal(decode_whole(cases[i].ce, em_buf_data(&z), em_buf_len(&z), &out), 0);
            assert_int_equal(em_buf_len(&out), sizeof text);
            assert_memory_equal(em_buf_data(&out), text, sizeof text);
            em_buf_free(&z);
            em_buf_free(&out);
        }
    /* A gzip header with FNAME, FCOMMENT, FEXTRA and FHCRC. */
    z_stream s;
    memset(&s, 0, sizeof s);
    assert_int_equal(deflateInit2(&s, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    gz_header h;
    memset(&h, 0, sizeof h);
    unsigned char extra[] = "XYzz";
    h.name = (unsigned char *)"file.txt";
    h.comment = (unsigned char *)"a comment";
    h.extra = extra;
    h.extra_len = 4;
    h.hcrc = 1;
    h.time = 123456;
    assert_int_equal(deflateSetHeader(&s, &h), Z_OK);
    unsigned char zbuf[30000];
    s.next_in = (unsigned char *)text;
    s.avail_in = sizeof text;
    s.next_out = zbuf;
    s.avail_out = sizeof zbuf;
    assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
    size_t zn = sizeof zbuf - s.avail_out;
    deflateEnd(&s);
    for (size_t cut = 0; cut < 40; cut++) { /* splits inside the header */
        em_buf out;
        em_buf_init(&out, 0);
        size_t cuts[] = {cut};
        assert_int_equal(decode_cuts("gzip", zbuf, zn, cuts, 1, NULL, &out), 0);
        assert_int_equal(em_buf_len(&out), sizeof text);
        em_buf_free(&out);
    }
    /* A zlib stream with a preset dictionary cannot be decoded. */
    em_buf out;
    em_buf_init(&out, 0);
    memset(&s, 0, sizeof s);
    assert_int_equal(deflateInit(&s, 6), Z_OK);
    assert_int_equal(deflateSetDictionary(&s, (const unsigned char *)"ember", 5), Z_OK);
    s.next_in = (unsigned char *)text;
    s.avail_in = 100;
    s.next_out = zbuf;
    s.avail_out = sizeof zbuf;
    assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
    zn = sizeof zbuf - s.avail_out;
    deflateEnd(&s);
    assert_int_equal(decode_whole("deflate", zbuf, zn, &out), EM_EPARSE);
    em_buf_free(&out);
}

/* "a, b" means a was applied first: decoding undoes b, then a. */
static void test_stacked(void **state) {
    (void)state;
    char text[3000];
    make_text(text, sizeof text, 4);
    em_buf g, gd, gdg, out;
    em_buf_init(&g, 0);
    em_buf_init(&gd, 0);
    em_buf_init(&gdg, 0);
    assert_int_equal(em_http_compress(EM_HTTP_CODING_GZIP, 6, em_slice_make(text, sizeof text), &g),
                     0);
    assert_int_equal(em_http_compress(EM_HTTP_CODING_DEFLATE, 1, em_buf_slice(&g), &gd), 0);
    ref_deflate(&gdg, em_buf_data(&gd), em_buf_len(&gd), 31, 9);
    const char *ok[] = {"gzip, deflate", "gzip,deflate", "identity, gzip ,deflate,identity",
                        "x-gzip, , deflate"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        em_buf_init(&out, 0);
        assert_int_equal(decode_whole(ok[i], em_buf_data(&gd), em_buf_len(&gd), &out), 0);
        assert_int_equal(em_buf_len(&out), sizeof text);
        assert_memory_equal(em_buf_data(&out), text, sizeof text);
        em_buf_free(&out);
    }
    em_buf_init(&out, 0);
    assert_int_equal(decode_whole("gzip, deflate, gzip", em_buf_data(&gdg), em_buf_len(&gdg), &out),
                     0);
    assert_int_equal(em_buf_len(&out), sizeof text);
    em_buf_free(&out);
    /* The wrong order fails as corrupt data. */
    em_buf_init(&out, 0);
    assert_int_equal(decode_whole("deflate, gzip", em_buf_data(&gd), em_buf_len(&gd), &out),
                     EM_EPARSE);
    em_buf_free(&out);
    /* Every split of a stacked stream gives the same bytes. */
    for (size_t cut = 1; cut < em_buf_len(&gdg); cut++) {
        em_buf_init(&out, 0);
        size_t cuts[] = {cut};
        assert_int_equal(decode_cuts("gzip, deflate, gzip", em_buf_data(&gdg), em_buf_len(&gdg),
                                     cuts, 1, NULL, &out),
                         0);
        assert_int_equal(em_buf_len(&out), sizeof text);
        assert_memory_equal(em_buf_data(&out), text, sizeof text);
        em_buf_free(&out);
    }
    em_buf_free(&g);
    em_buf_free(&gd);
    em_buf_free(&gdg);
}

static void test_coding_names(void **state) {
    (void)state;
    em_http_decoder *d = (em_http_decoder *)1;
    assert_int_equal(em_http_decoder_new(&d, EM_SLICE_LIT("br"), NULL), EM_ENOTSUP);
    assert_null(d);
    assert_int_equal(em_http_decoder_new(&d, EM_SLICE_LIT("gzip, zstd"), NULL), EM_ENOTSUP);
    assert_int_equal(em_http_decoder_new(&d, EM_SLICE_LIT("compress"), NULL), EM_ENOTSUP);
    assert_int_equal(em_http_decoder_new(&d, EM_SLICE_LIT("gzip;q=1"), NULL), EM_ENOTSUP);
    assert_int_equal(
        em_http_decoder_new(&d, EM_SLICE_LIT("gzip, gzip, gzip, gzip, gzip, gzip"), NULL),
        EM_EINVAL);
    assert_int_equal(em_http_decoder_new(&d, EM_SLICE_LIT("gzip, gzip, gzip, gzip, gzip"), NULL),
                     0);
    em_http_decoder_free(d);
    em_http_decoder_free(NULL);
    /* Empty and identity: the bytes as they are. */
    const char *ids[] = {"", "identity", " , identity , "};
    for (size_t i = 0; i < 3; i++) {
        em_buf out;
        em_buf_init(&out, 0);
        assert_int_equal(decode_whole(ids[i], "plain", 5, &out), 0);
        assert_int_equal(em_buf_len(&out), 5);
        em_buf_free(&out);
    }
    assert_string_equal(em_http_coding_name(EM_HTTP_CODING_GZIP), "gzip");
    assert_string_equal(em_http_coding_name(EM_HTTP_CODING_DEFLATE), "deflate");
    assert_string_equal(em_http_coding_name(EM_HTTP_CODING_IDENTITY), "identity");
}

/* RFC 1952 §2.2: members in a row are one file; anything else after the
 * end is an error, as it is after a deflate stream. */
static void test_members_and_trailing(void **state) {
    (void)state;
    em_buf z, out;
    em_buf_init(&z, 0);
    ref_deflate(&z, "first ", 6, 31, 6);
    ref_deflate(&z, "", 0, 31, 6);
    ref_deflate(&z, "second", 6, 31, 1);
    size_t n = em_buf_len(&z);
    for (size_t cut = 0; cut <= n; cut++) {
        em_buf_init(&out, 0);
        size_t cuts[] = {cut};
        assert_int_equal(decode_cuts("gzip", em_buf_data(&z), n, cuts, 1, NULL, &out), 0);
        assert_int_equal(em_buf_len(&out), 12);
        assert_memory_equal(em_buf_data(&out), "first second", 12);
        em_buf_free(&out);
    }
    /* A member cut short after complete ones: truncated. */
    em_buf_init(&out, 0);
    assert_int_equal(decode_whole("gzip", em_buf_data(&z), n - 3, &out), EM_EPARTIAL);
    em_buf_free(&out);
    /* Garbage, zeros, or half a magic after the last member. */
    const char *tails[] = {"x", "\0\0\0\0", "\x1f", "\x1f\x8b\x08", "\x1f\x8c"};
    size_t tlen[] = {1, 4, 1, 3, 2};
    int want[] = {EM_EPARSE, EM_EPARSE, EM_EPARTIAL, EM_EPARTIAL, EM_EPARSE};
    for (size_t i = 0; i < 5; i++) {
        em_buf t;
        em_buf_init(&t, 0);
        assert_int_equal(em_buf_append(&t, em_buf_data(&z), n), 0);
        assert_int_equal(em_buf_append(&t, tails[i], tlen[i]), 0);
        em_buf_init(&out, 0);
        int rc = decode_whole("gzip", em_buf_data(&t), em_buf_len(&t), &out);
        if (rc != want[i])
            fail_msg("tail %zu: %s, want %s", i, em_err_name(rc), em_err_name(want[i]));
        em_buf_free(&out);
        em_buf_free(&t);
    }
    /* deflate (zlib and raw): no second stream. */
    for (int bits = -15; bits <= 15; bits += 30) {
        em_buf d;
        em_buf_init(&d, 0);
        ref_deflate(&d, "one", 3, bits, 6);
        ref_deflate(&d, "two", 3, bits, 6);
        em_buf_init(&out, 0);
        assert_int_equal(decode_whole("deflate", em_buf_data(&d), em_buf_len(&d), &out), EM_EPARSE);
        em_buf_free(&out);
        em_buf_free(&d);
    }
    em_buf_free(&z);
}

static void test_corrupt(void **state) {
    (void)state;
    char text[4000];
    make_text(text, sizeof text, 5);
    em_buf z, out;
    em_buf_init(&z, 0);
    ref_deflate(&z, text, sizeof text, 31, 6);
    size_t n = em_buf_len(&z);
    char *bad = malloc(n);
    /* CRC32 (the 8 bytes before the end: CRC then ISIZE) and ISIZE. */
    for (size_t off = n - 8; off < n; off++) {
        memcpy(bad, em_buf_data(&z), n);
        bad[off] ^= 0x01;
        em_buf_init(&out, 0);
        assert_int_equal(decode_whole("gzip", bad, n, &out), EM_EPARSE);
        em_buf_free(&out);
    }
    /* Bad magic, method, reserved flags. */
    size_t hdr[] = {0, 1, 2, 3};
    for (size_t i = 0; i < 4; i++) {
        memcpy(bad, em_buf_data(&z), n);
        bad[hdr[i]] = (char)(hdr[i] == 3 ? 0xe0 : 0x55);
        em_buf_init(&out, 0);
        assert_int_equal(decode_whole("gzip", bad, n, &out), EM_EPARSE);
        em_buf_free(&out);
    }
    /* Any flipped byte in the data: an error (or, rarely, a different
     * valid-looking stream caught by the CRC); never a crash and never
     * success with different output. */
    for (size_t off = 10; off < n - 8; off += 7) {
        memcpy(bad, em_buf_data(&z), n);
        bad[off] ^= 0x5a;
        em_buf_init(&out, 0);
        int rc = decode_whole("gzip", bad, n, &out);
        assert_true(rc == EM_EPARSE || rc == EM_EPARTIAL);
        em_buf_free(&out);
    }
    free(bad);
    /* zlib: a bad Adler-32. */
    em_buf zl;
    em_buf_init(&zl, 0);
    ref_deflate(&zl, text, sizeof text, 15, 6);
    ((char *)em_buf_data(&zl))[em_buf_len(&zl) - 1] ^= 1;
    em_buf_init(&out, 0);
    assert_int_equal(decode_whole("deflate", em_buf_data(&zl), em_buf_len(&zl), &out), EM_EPARSE);
    em_buf_free(&out);
    /* Not compressed at all. */
    em_buf_init(&out, 0);
    assert_int_equal(decode_whole("gzip", "<html>hello</html>", 18, &out), EM_EPARSE);
    em_buf_free(&out);
    em_buf_init(&out, 0);
    assert_int_equal(decode_whole("deflate", "\xff\xff\xff\xff", 4, &out), EM_EPARSE);
    em_buf_free(&out);
    em_buf_free(&zl);
    em_buf_free(&z);
}

/* Every prefix is truncated: the feeds succeed, finish says EM_EPARTIAL. */
static void test_truncated(void **state) {
    (void)state;
    char text[2000];
    make_text(text, sizeof text, 6);
    int bits[] = {31, 15, -15};
    const char *ce[] = {"gzip", "deflate", "deflate"};
    for (int b = 0; b < 3; b++) {
        em_buf z;
        em_buf_init(&z, 0);
        ref_deflate(&z, text, sizeof text, bits[b], 6);
        for (size_t len = 1; len < em_buf_len(&z); len++) {
            em_buf out;
            em_buf_init(&out, 0);
            assert_int_equal(decode_whole(ce[b], em_buf_data(&z), len, &out), EM_EPARTIAL);
            assert_true(em_buf_len(&out) <= sizeof text);
            assert_true(em_buf_len(&out) == 0 ||
                        !memcmp(em_buf_data(&out), text, em_buf_len(&out)));
            em_buf_free(&out);
        }
        em_buf_free(&z);
    }
    /* Nothing at all is an empty body, not a truncated one. */
    em_buf out;
    em_buf_init(&out, 0);
    assert_int_equal(decode_whole("gzip", "", 0, &out), 0);
    assert_int_equal(em_buf_len(&out), 0);
    em_buf_free(&out);
}

/* Small inputs cut at every pair of points, and fed a byte at a time. */
static void test_every_split(void **state) {
    (void)state;
    char text[400];
    make_text(text, sizeof text, 7);
    int bits[] = {31, 15, -15};
    const char *ce[] = {"gzip", "deflate", "deflate"};
    for (int b = 0; b < 3; b++) {
        em_buf z;
        em_buf_init(&z, 0);
        ref_deflate(&z, text, sizeof text, bits[b], 9);
        size_t n = em_buf_len(&z);
        for (size_t i = 0; i <= n; i++)
            for (size_t j = i; j <= n; j += 3) {
                size_t cuts[] = {i, j};
                em_buf out;
                em_buf_init(&out, 0);
                assert_int_equal(decode_cuts(ce[b], em_buf_data(&z), n, cuts, 2, NULL, &out), 0);
                assert_int_equal(em_buf_len(&out), sizeof text);
                assert_memory_equal(em_buf_data(&out), text, sizeof text);
                em_buf_free(&out);
            }
        size_t *all = malloc(n * sizeof *all);
        for (size_t i = 0; i < n; i++)
            all[i] = i;
        em_buf out;
        em_buf_init(&out, 0);
        assert_int_equal(decode_cuts(ce[b], em_buf_data(&z), n, all, n, NULL, &out), 0);
        assert_int_equal(em_buf_len(&out), sizeof text);
        em_buf_free(&out);
        free(all);
        em_buf_free(&z);
    }
}

static void test_caps(void **state) {
    (void)state;
    char text[50000];
    make_text(text, sizeof text, 8);
    em_buf z;
    em_buf_init(&z, 0);
    ref_deflate(&z, text, sizeof text, 31, 6);
    em_http_decoder_opts o = {.max_out = 20000};
    for (size_t cut = 0; cut < em_buf_len(&z); cut += 101) {
        em_buf out;
        em_buf_init(&out, 0);
        size_t cuts[] = {cut};
        assert_int_equal(decode_cuts("gzip", em_buf_data(&z), em_buf_len(&z), cuts, 1, &o, &out),
                         EM_EBODYTOOLARGE);
        /* Exactly up to the cap, and not a byte more. */
        assert_int_equal(em_buf_len(&out), 20000);
        assert_memory_equal(em_buf_data(&out), text, 20000);
        em_buf_free(&out);
    }
    /* The exact size passes. */
    o.max_out = sizeof text;
    em_buf out;
    em_buf_init(&out, 0);
    assert_int_equal(decode_cuts("gzip", em_buf_data(&z), em_buf_len(&z), NULL, 0, &o, &out), 0);
    em_buf_free(&out);
    /* identity is capped too. */
    o.max_out = 3;
    em_buf_init(&out, 0);
    assert_int_equal(decode_cuts("identity", "abcdef", 6, NULL, 0, &o, &out), EM_EBODYTOOLARGE);
    assert_int_equal(em_buf_len(&out), 3);
    em_buf_free(&out);
    /* The error sticks. */
    em_http_decoder *d;
    assert_int_equal(em_http_decoder_new(&d, EM_SLICE_LIT("identity"), &o), 0);
    em_buf_init(&out, 0);
    assert_int_equal(em_http_decoder_feed(d, EM_SLICE_LIT("abcdef"), sink_buf, &out),
                     EM_EBODYTOOLARGE);
    assert_int_equal(em_http_decoder_feed(d, EM_SLICE_LIT("a"), sink_buf, &out), EM_EBODYTOOLARGE);
    assert_int_equal(em_http_decoder_finish(d, sink_buf, &out), EM_EBODYTOOLARGE);
    assert_int_equal(em_http_decoder_total(d), 3);
    em_http_decoder_free(d);
    em_buf_free(&out);
    /* One-shot into a capped buffer. */
    em_buf small;
    em_buf_init(&small, 100);
    assert_int_equal(em_http_decompress(EM_SLICE_LIT("gzip"), em_buf_slice(&z), NULL, &small),
                     EM_ENOBUFS);
    em_buf_free(&small);
    em_buf_free(&z);
}

static void test_sink_error(void **state) {
    (void)state;
    char text[100000];
    make_text(text, sizeof text, 10);
    em_buf z;
    em_buf_init(&z, 0);
    ref_deflate(&z, text, sizeof text, 31, 6);
    em_http_decoder *d;
    int calls = 0;
    assert_int_equal(em_http_decoder_new(&d, EM_SLICE_LIT("gzip"), NULL), 0);
    assert_int_equal(em_http_decoder_feed(d, em_buf_slice(&z), sink_cancel, &calls), EM_ECANCELED);
    assert_int_equal(calls, 1);
    assert_int_equal(em_http_decoder_feed(d, em_buf_slice(&z), sink_cancel, &calls), EM_ECANCELED);
    assert_int_equal(em_http_decoder_finish(d, sink_cancel, &calls), EM_ECANCELED);
    assert_int_equal(calls, 1);
    assert_true(em_http_decoder_consumed(d) > 0);
    em_http_decoder_free(d);
    em_buf_free(&z);
}

static void test_accept_encoding(void **state) {
    (void)state;
    struct {
        const char *ae;
        em_http_coding want;
    } cases[] = {
        {"", EM_HTTP_CODING_IDENTITY},
        {"gzip", EM_HTTP_CODING_GZIP},
        {"GZip", EM_HTTP_CODING_GZIP},
        {"x-gzip", EM_HTTP_CODING_GZIP},
        {"deflate", EM_HTTP_CODING_DEFLATE},
        {"gzip, deflate, br", EM_HTTP_CODING_GZIP},
        {"deflate, gzip", EM_HTTP_CODING_GZIP},
        {"br", EM_HTTP_CODING_IDENTITY},
        {"identity", EM_HTTP_CODING_IDENTITY},
        {"gzip;q=0", EM_HTTP_CODING_IDENTITY},
        {"gzip; q=0.000", EM_HTTP_CODING_IDENTITY},
        {"gzip;q=0, deflate", EM_HTTP_CODING_DEFLATE},
        {"gzip;q=0.5, deflate;q=0.8", EM_HTTP_CODING_DEFLATE},
        {"gzip;q=0.8, deflate;q=0.8", EM_HTTP_CODING_GZIP},
        {"gzip ; Q = 0.001", EM_HTTP_CODING_GZIP},
        {"gzip;q=1.0", EM_HTTP_CODING_GZIP},
        {"gzip;q=1.001", EM_HTTP_CODING_IDENTITY}, /* malformed: refused */
        {"gzip;q=2", EM_HTTP_CODING_IDENTITY},
        {"gzip;q=0.1234", EM_HTTP_CODING_IDENTITY},
        {"gzip;q=", EM_HTTP_CODING_IDENTITY},
        {"gzip;level=1", EM_HTTP_CODING_GZIP},
        {"*", EM_HTTP_CODING_GZIP},
        {"*;q=0", EM_HTTP_CODING_IDENTITY},
        {"*;q=0, deflate", EM_HTTP_CODING_DEFLATE},
        {"gzip;q=0, *", EM_HTTP_CODING_DEFLATE},
        {"br;q=1, *;q=0.1", EM_HTTP_CODING_GZIP},
        {"identity;q=1, *;q=0", EM_HTTP_CODING_IDENTITY},
        {" , ,gzip ,", EM_HTTP_CODING_GZIP},
        {"gzipx", EM_HTTP_CODING_IDENTITY},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        em_http_coding got = em_http_accept_coding(em_slice_from_cstr(cases[i].ae));
        if (got != cases[i].want)
            fail_msg("\"%s\": got %d, want %d", cases[i].ae, got, cases[i].want);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_encoder_api),
        cmocka_unit_test(test_encoder_sink_error),
        cmocka_unit_test(test_reference_streams),
        cmocka_unit_test(test_stacked),
        cmocka_unit_test(test_coding_names),
        cmocka_unit_test(test_members_and_trailing),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_sink_error),
        cmocka_unit_test(test_accept_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

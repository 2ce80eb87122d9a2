/* permessage-deflate's compressor and decompressor (ws/deflate.c): RFC
 * 7692 §7.2.3's byte strings, round trips with and without context
 * takeover at every window size both ways, interop with zlib used
 * directly, a bomb stopped at the limit, corrupt and cut messages, the
 * per-thread shared streams, and the memory each setting holds. */
#include <pthread.h>
#include <zlib.h>

#include "ws_test_util.h"

#include "ws_conn_internal.h"

typedef struct pair {
    em__ws_pmd *srv, *cli;
} pair;

static em__ws_pmd_params params(bool snct, bool cnct, int sb, int cb) {
    em__ws_pmd_params p = {snct, cnct, (uint8_t)sb, (uint8_t)cb};
    return p;
}

static pair pair_new(const em__ws_pmd_params *p, const em_ws_deflate_opts *o) {
    pair x = {em__ws_pmd_new(NULL, EM_WS_ROLE_SERVER, p, o),
              em__ws_pmd_new(NULL, EM_WS_ROLE_CLIENT, p, o)};
    assert_non_null(x.srv);
    assert_non_null(x.cli);
    return x;
}

static void pair_free(pair *x) {
    em__ws_pmd_free(x->srv);
    em__ws_pmd_free(x->cli);
}

static em_slice sl(const void *p, size_t n) {
    return em_slice_make(p, n);
}

/* Inflates p[0, n) as one message in random pieces (sometimes ending with
 * an empty last piece); returns the first error or 0. */
static int inflate_msg(em__ws_pmd *z, const void *p, size_t n, uint64_t limit, em_buf *out,
                       uint64_t *seed) {
    const char *c = p;
    size_t off = 0;
    bool empty_last = seed && test_rnd(seed) % 4 == 0;
    do {
        size_t step = n - off;
        if (seed && step)
            step = 1 + (size_t)(test_rnd(seed) % (n - off < 300 ? n - off : 300));
        bool last = off + step == n && !empty_last;
        int rc = em__ws_pmd_inflate(z, sl(c + off, step), last, limit, out);
        if (rc)
            return rc;
        off += step;
    } while (off < n);
    return empty_last ? em__ws_pmd_inflate(z, sl("", 0), true, limit, out) : 0;
}

static void compress_msg(em__ws_pmd *z, const void *p, size_t n, em_buf *out) {
    em_buf_clear(out);
    assert_int_equal(em__ws_pmd_compress(z, sl(p, n), out), 0);
}

static void expect_bytes(const em_buf *b, const void *p, size_t n) {
    assert_int_equal(em_buf_len(b), n);
    assert_memory_equal(em_buf_data(b), p, n);
}

/* ---- RFC 7692 §7.2.3 ------------------------------------------------------ */

static const unsigned char HELLO_Z[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};

static void test_rfc_hello(void **state) {
    (void)state;
    em__ws_pmd_params p = params(false, false, 15, 15);
    pair x = pair_new(&p, NULL);
    em_buf z, out;
    em_buf_init(&z, 0);
    em_buf_init(&out, 0);
    /* §7.2.3.1 */
    compress_msg(x.srv, "Hello", 5, &z);
    expect_bytes(&z, HELLO_Z, sizeof HELLO_Z);
    assert_int_equal(inflate_msg(x.cli, HELLO_Z, sizeof HELLO_Z, 100, &out, NULL), 0);
    expect_bytes(&out, "Hello", 5);
    /* §7.2.3.2: the same message again refers back into the shared window */
    static const unsigned char again[] = {0xf2, 0x00, 0x11, 0x00, 0x00};
    compress_msg(x.srv, "Hello", 5, &z);
    expect_bytes(&z, again, sizeof again);
    em_buf_clear(&out);
    assert_int_equal(inflate_msg(x.cli, again, sizeof again, 100, &out, NULL), 0);
    expect_bytes(&out, "Hello", 5);
    /* §7.2.3.1, fragmented: the payload in two pieces */
    em_buf_clear(&out);
    assert_int_equal(em__ws_pmd_inflate(x.srv, sl(HELLO_Z, 3), false, 100, &out), 0);
    assert_int_equal(em__ws_pmd_inflate(x.srv, sl(HELLO_Z + 3, 4), true, 100, &out), 0);
    expect_bytes(&out, "Hello", 5);
    em_buf_free(&z);
    em_buf_free(&out);
    pair_free(&x);
}

static void test_rfc_other_blocks(void **state) {
    (void)state;
    static const struct {
        const char *name;
        unsigned char b[16];
        size_t n;
        const char *text;
    } cases[] = {
        /* §7.2.3.3: a stored block */
        {"stored", {0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}, 11, "Hello"},
        /* §7.2.3.4: BFINAL set */
        {"bfinal", {0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}, 8, "Hello"},
        /* §7.2.3.5: two blocks in one message */
        {"two blocks",
         {0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00},
         13,
         "Hello"},
        /* §7.2.3.6: an empty stored block */
        {"empty", {0x00}, 1, ""},
    };
    for (unsigned tk = 0; tk < 2; tk++) {
        em__ws_pmd_params p = params(tk, tk, 15, 15);
        em__ws_pmd *z = em__ws_pmd_new(NULL, EM_WS_ROLE_CLIENT, &p, NULL);
        em_buf out;
        em_buf_init(&out, 0);
        /* in a row on one stream: each leaves it ready for the next */
        for (unsigned round = 0; round < 2; round++)
            for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                em_buf_clear(&out);
                int rc = inflate_msg(z, cases[i].b, cases[i].n, 100, &out, NULL);
                if (rc)
                    fail_msg("%s: %s", cases[i].name, em_strerror(rc));
                expect_bytes(&out, cases[i].text, strlen(cases[i].text));
            }
        /* and "Hello" again refers back to them */
        em_buf_clear(&out);
        static const unsigned char again[] = {0xf2, 0x00, 0x11, 0x00, 0x00};
        if (!tk) {
            assert_int_equal(inflate_msg(z, again, sizeof again, 100, &out, NULL), 0);
            expect_bytes(&out, "Hello", 5);
        }
        em_buf_free(&out);
        em__ws_pmd_free(z);
    }
}

static void test_empty_message(void **state) {
    (void)state;
    for (unsigned tk = 0; tk < 2; tk++) {
        em__ws_pmd_params p = params(tk, tk, 15, 15);
        pair x = pair_new(&p, NULL);
        em_buf z, out;
        em_buf_init(&z, 0);
        em_buf_init(&out, 0);
        static const char *const msgs[] = {"", "abcabcabc", "", "", "abcabcabc", ""};
        for (size_t i = 0; i < 6; i++) {
            compress_msg(x.cli, msgs[i], strlen(msgs[i]), &z);
            if (!msgs[i][0])
                expect_bytes(&z, "\0", 1);
            em_buf_clear(&out);
            assert_int_equal(inflate_msg(x.srv, em_buf_data(&z), em_buf_len(&z), 9, &out, NULL), 0);
            expect_bytes(&out, msgs[i], strlen(msgs[i]));
        }
        /* an empty payload (RSV1 on a zero-length frame) is an empty message */
        em_buf_clear(&out);
        assert_int_equal(em__ws_pmd_inflate(x.srv, sl("", 0), true, 0, &out), 0);
        assert_int_equal(em_buf_len(&out), 0);
        compress_msg(x.cli, "abcabcabc", 9, &z);
        assert_int_equal(inflate_msg(x.srv, em_buf_data(&z), em_buf_len(&z), 9, &out, NULL), 0);
        expect_bytes(&out, "abcabcabc", 9);
        em_buf_free(&z);
        em_buf_free(&out);
        pair_free(&x);
    }
}

/* ---- round trips ---------------------------------------------------------- */

/* A message with repeats at every distance up to about 2 KiB and now and
 * then from the previous message: text-like, compressible, and a trap for
 * a compressor reaching past a small window. */
static size_t make_msg(char *buf, size_t cap, uint64_t *seed, const char *prev, size_t prev_n) {
    size_t n = 1 + (size_t)(test_rnd(seed) % cap);
    size_t i = 0;
    while (i < n) {
        uint64_t r = test_rnd(seed);
        size_t run = 3 + (size_t)(r >> 8) % 40;
        if (run > n - i)
            run = n - i;
        if ((r & 3) == 0 || i < 8) {
            for (size_t k = 0; k < run; k++)
                buf[i + k] = (char)('a' + test_rnd(seed) % 26);
        } else if ((r & 3) == 1 && prev_n > run) {
            memcpy(buf + i, prev + (r >> 20) % (prev_n - run), run);
        } else {
            size_t dist = 1 + (size_t)(r >> 16) % (i < 2048 ? i : 2048);
            for (size_t k = 0; k < run; k++)
                buf[i + k] = buf[i + k - dist];
        }
        i += run;
    }
    return n;
}

/* count messages each way; returns the compressed bytes sent. */
static size_t round_trip(const em__ws_pmd_params *p, const em_ws_deflate_opts *o, unsigned count,
                         size_t maxlen, uint64_t seed) {
    pair x = pair_new(p, o);
    /* each direction's messages quote that direction's previous one */
    char *msg = malloc(maxlen), *prevs[2] = {malloc(maxlen), malloc(maxlen)};
    size_t prev_ns[2] = {0, 0}, total = 0;
    em_buf z, out;
    em_buf_init(&z, 0);
    em_buf_init(&out, 0);
    for (unsigned i = 0; i < count; i++) {
        char *prev = prevs[i & 1];
        size_t n = make_msg(msg, maxlen, &seed, prev, prev_ns[i & 1]);
        em__ws_pmd *tx = i & 1 ? x.cli : x.srv, *rx = i & 1 ? x.srv : x.cli;
        compress_msg(tx, msg, n, &z);
        total += em_buf_len(&z);
        em_buf_clear(&out);
        int rc = inflate_msg(rx, em_buf_data(&z), em_buf_len(&z), n, &out, &seed);
        if (rc)
            fail_msg("message %u (%zu bytes), bits %d/%d, nct %d/%d: %s", i, n,
                     p->server_max_window_bits, p->client_max_window_bits,
                     p->server_no_context_takeover, p->client_no_context_takeover, em_strerror(rc));
        expect_bytes(&out, msg, n);
        memcpy(prev, msg, n);
        prev_ns[i & 1] = n;
    }
    em_buf_free(&z);
    em_buf_free(&out);
    free(msg);
    free(prevs[0]);
    free(prevs[1]);
    pair_free(&x);
    return total;
}

static void test_round_trip_windows(void **state) {
    (void)state;
    /* every window size both ways, with and without takeover each way; the
     * receiver inflates with exactly the negotiated window, so a
     * compressor that reached further back fails here (8: zlib uses 9) */
    for (int sb = 8; sb <= 15; sb++)
        for (int cb = 8; cb <= 15; cb++)
            for (unsigned nct = 0; nct < 4; nct++) {
                em__ws_pmd_params p = params(nct & 1, nct >> 1, sb, cb);
                round_trip(&p, NULL, 6, 3000, (uint64_t)(sb * 131 + cb * 7 + nct) | 1);
            }
}

/* What ws/deflate.c relies on: zlib's raw deflate refuses window bits 8,
 * its raw inflate takes them. */
static void test_zlib_window8_facts(void **state) {
    (void)state;
    z_stream d, i;
    memset(&d, 0, sizeof d);
    memset(&i, 0, sizeof i);
    assert_int_equal(deflateInit2(&d, 1, Z_DEFLATED, -8, 8, Z_DEFAULT_STRATEGY), Z_STREAM_ERROR);
    assert_int_equal(inflateInit2(&i, -8), Z_OK);
    assert_int_equal(inflateReset2(&i, -8), Z_OK);
    inflateEnd(&i);
}

/* Window 8: zlib deflates with 9 but never reaches back more than 250
 * bytes. Fed a byte at a time, the inflater at 8 holds little beyond its
 * 256-byte window, so a longer reference would fail here. */
static void test_window8_byte_by_byte(void **state) {
    (void)state;
    em__ws_pmd_params p = params(false, false, 8, 8);
    for (int level = 1; level <= 9; level += 4) {
        em_ws_deflate_opts o;
        memset(&o, 0, sizeof o);
        o.level = level;
        pair x = pair_new(&p, &o);
        static char msg[20000], prev[20000];
        size_t prev_n = 0;
        uint64_t seed = (uint64_t)level;
        em_buf z, out;
        em_buf_init(&z, 0);
        em_buf_init(&out, 0);
        for (int k = 0; k < 20; k++) {
            size_t n = make_msg(msg, sizeof msg, &seed, prev, prev_n);
            compress_msg(x.srv, msg, n, &z);
            em_buf_clear(&out);
            for (size_t i = 0; i < em_buf_len(&z); i++)
                assert_int_equal(em__ws_pmd_inflate(x.cli, sl(em_buf_data(&z) + i, 1),
                                                    i + 1 == em_buf_len(&z), n, &out),
                                 0);
            expect_bytes(&out, msg, n);
            memcpy(prev, msg, n);
            prev_n = n;
        }
        em_buf_free(&z);
        em_buf_free(&out);
        pair_free(&x);
    }
}

static void test_round_trip_levels(void **state) {
    (void)state;
    for (int level = 0; level <= 10; level++)
        for (unsigned mem = 0; mem <= 10; mem += 3) {
            em_ws_deflate_opts o;
            memset(&o, 0, sizeof o);
            o.level = level;
            o.mem_level = mem;
            em__ws_pmd_params p = params(level & 1, false, 15, 10);
            round_trip(&p, &o, 4, 20000, (uint64_t)level * 1000 + mem + 1);
        }
}

static void test_many_messages_takeover(void **state) {
    (void)state;
    em__ws_pmd_params tk = params(false, false, 15, 15), no = params(true, true, 15, 15);
    size_t a = round_trip(&tk, NULL, 5000, 400, 42);
    size_t b = round_trip(&no, NULL, 5000, 400, 42);
    /* the same messages: the shared window (they quote each other) pays */
    assert_true(a < b);
    print_message("5000 messages: %zu bytes with context takeover, %zu without\n", a, b);
    /* large messages too (many output steps each) */
    round_trip(&tk, NULL, 20, 1 << 20, 7);
    round_trip(&no, NULL, 20, 1 << 20, 8);
}

/* ---- interop with zlib used directly -------------------------------------- */

static void zlib_msg_deflate(z_stream *d, const void *p, size_t n, em_buf *out) {
    em_buf_clear(out);
    unsigned char tmp[65536];
    d->next_in = (Bytef *)(uintptr_t)p;
    d->avail_in = (uInt)n;
    do {
        d->next_out = tmp;
        d->avail_out = sizeof tmp;
        int rc = deflate(d, Z_SYNC_FLUSH);
        assert_true(rc == Z_OK || rc == Z_BUF_ERROR);
        assert_int_equal(em_buf_append(out, tmp, sizeof tmp - d->avail_out), 0);
    } while (d->avail_out == 0);
    size_t len = em_buf_len(out);
    assert_true(len >= 4);
    assert_memory_equal(em_buf_data(out) + len - 4, "\0\0\xff\xff", 4);
    /* the tail dropped: copy all but 4 */
    em_buf t;
    em_buf_init(&t, 0);
    assert_int_equal(em_buf_append(&t, em_buf_data(out), len - 4), 0);
    em_buf_clear(out);
    assert_int_equal(em_buf_append_slice(out, em_buf_slice(&t)), 0);
    em_buf_free(&t);
}

static void zlib_msg_inflate(z_stream *s, const em_buf *in, em_buf *out) {
    em_buf_clear(out);
    em_buf all;
    em_buf_init(&all, 0);
    assert_int_equal(em_buf_append_slice(&all, em_buf_slice(in)), 0);
    assert_int_equal(em_buf_append(&all, "\0\0\xff\xff", 4), 0);
    s->next_in = (Bytef *)(uintptr_t)em_buf_data(&all);
    s->avail_in = (uInt)em_buf_len(&all);
    unsigned char tmp[65536];
    do {
        s->next_out = tmp;
        s->avail_out = sizeof tmp;
        int rc = inflate(s, Z_SYNC_FLUSH);
        assert_true(rc == Z_OK || rc == Z_BUF_ERROR);
        assert_int_equal(em_buf_append(out, tmp, sizeof tmp - s->avail_out), 0);
    } while (s->avail_out == 0 || s->avail_in);
    em_buf_free(&all);
}

static void test_zlib_interop(void **state) {
    (void)state;
    for (int bits = 9; bits <= 15; bits += 3) {
        z_stream d, i;
        memset(&d, 0, sizeof d);
        memset(&i, 0, sizeof i);
        assert_int_equal(deflateInit2(&d, 6, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
        assert_int_equal(inflateInit2(&i, -bits), Z_OK);
        em__ws_pmd_params p = params(false, false, bits, bits);
        em__ws_pmd *z = em__ws_pmd_new(NULL, EM_WS_ROLE_SERVER, &p, NULL);
        em_buf c, out;
        em_buf_init(&c, 0);
        em_buf_init(&out, 0);
        char msg[5000], prev[5000];
        size_t prev_n = 0;
        uint64_t seed = (uint64_t)bits;
        for (int k = 0; k < 200; k++) {
            size_t n = make_msg(msg, sizeof msg, &seed, prev, prev_n);
            /* theirs to ours */
            zlib_msg_deflate(&d, msg, n, &c);
            em_buf_clear(&out);
            assert_int_equal(inflate_msg(z, em_buf_data(&c), em_buf_len(&c), n, &out, &seed), 0);
            expect_bytes(&out, msg, n);
            /* ours to theirs */
            compress_msg(z, msg, n, &c);
            zlib_msg_inflate(&i, &c, &out);
            expect_bytes(&out, msg, n);
            memcpy(prev, msg, n);
            prev_n = n;
        }
        deflateEnd(&d);
        inflateEnd(&i);
        em_buf_free(&c);
        em_buf_free(&out);
        em__ws_pmd_free(z);
    }
}

/* ---- limits and bad input ------------------------------------------------- */

static void test_limit_exact(void **state) {
    (void)state;
    static char msg[100000];
    uint64_t seed = 3;
    size_t n = make_msg(msg, sizeof msg, &seed, NULL, 0);
    while (n < 50000)
        n = make_msg(msg, sizeof msg, &seed, NULL, 0);
    em__ws_pmd_params p = params(true, true, 15, 15);
    pair x = pair_new(&p, NULL);
    em_buf z, out;
    em_buf_init(&z, 0);
    em_buf_init(&out, 0);
    compress_msg(x.srv, msg, n, &z);
    assert_int_equal(inflate_msg(x.cli, em_buf_data(&z), em_buf_len(&z), n, &out, &seed), 0);
    expect_bytes(&out, msg, n);
    /* one byte short, at and around the 16 KiB step, and nothing at all */
    const uint64_t lims[] = {0, 1, 16383, 16384, 16385, 32768, n - 1};
    for (size_t k = 0; k < sizeof lims / sizeof lims[0]; k++) {
        em__ws_pmd *r = em__ws_pmd_new(NULL, EM_WS_ROLE_CLIENT, &p, NULL);
        em_buf_clear(&out);
        assert_int_equal(inflate_msg(r, em_buf_data(&z), em_buf_len(&z), lims[k], &out, &seed),
                         EM_EMSGSIZE);
        /* out holds exactly the limit's worth, and the error sticks */
        assert_int_equal(em_buf_len(&out), lims[k]);
        assert_memory_equal(em_buf_data(&out), msg, lims[k]);
        assert_int_equal(em__ws_pmd_inflate(r, sl(HELLO_Z, 7), true, 100, &out), EM_EMSGSIZE);
        em__ws_pmd_free(r);
    }
    em_buf_free(&z);
    em_buf_free(&out);
    pair_free(&x);
}

/* 1 GiB of zeros, compressed (about 1 MB), against a 16 MiB limit: stopped
 * at the limit, having read about limit / 1032 compressed bytes. */
static void test_bomb(void **state) {
    (void)state;
    z_stream d;
    memset(&d, 0, sizeof d);
    assert_int_equal(deflateInit2(&d, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    static unsigned char zeros[1 << 20];
    size_t cap = (1u << 30) / 1000 + 65536, clen = 0;
    unsigned char *bomb = malloc(cap);
    for (int k = 0; k < 1024; k++) {
        d.next_in = zeros;
        d.avail_in = sizeof zeros;
        do {
            d.next_out = bomb + clen;
            d.avail_out = (uInt)(cap - clen);
            assert_true(deflate(&d, k == 1023 ? Z_SYNC_FLUSH : Z_NO_FLUSH) == Z_OK);
            clen = cap - d.avail_out;
        } while (d.avail_in);
    }
    deflateEnd(&d);
    assert_true(clen > 4 && clen < cap);
    clen -= 4;
    print_message("bomb: 1 GiB of zeros in %zu bytes\n", clen);

    for (unsigned tk = 0; tk < 2; tk++) {
        em__ws_pmd_params p = params(tk, tk, 15, 15);
        em__ws_pmd *z = em__ws_pmd_new(NULL, EM_WS_ROLE_CLIENT, &p, NULL);
        em_buf out;
        em_buf_init(&out, 0);
        const uint64_t limit = EM_WS_MAX_MESSAGE_DEFAULT;
        size_t off = 0, peak = 0;
        int rc = 0;
        uint64_t seed = 99 + tk;
        while (off < clen) {
            size_t step = 1 + (size_t)(test_rnd(&seed) % 4096);
            if (step > clen - off)
                step = clen - off;
            rc = em__ws_pmd_inflate(z, sl(bomb + off, step), off + step == clen, limit, &out);
            size_t m = em__ws_pmd_memory(z);
            peak = m > peak ? m : peak;
            off += step;
            if (rc)
                break;
        }
        assert_int_equal(rc, EM_EMSGSIZE);
        assert_int_equal(em_buf_len(&out), limit);
        for (size_t i = 0; i < limit; i += 4096)
            assert_int_equal(em_buf_data(&out)[i], 0);
        /* stopped within a piece of where the limit fell */
        assert_true(off < limit / 1000 + 8192);
        /* zlib's share stayed small; out grew by doubling up to the limit */
        assert_true(peak < 64 * 1024);
        assert_true(em_buf_cap(&out) <= 2 * limit);
        print_message("bomb (%s takeover): stopped after %zu of %zu compressed bytes, zlib "
                      "state %zu bytes, out %zu bytes allocated\n",
                      tk ? "no" : "with", off, clen, peak, em_buf_cap(&out));
        assert_int_equal(em__ws_pmd_inflate(z, sl(bomb, 1), true, limit, &out), EM_EMSGSIZE);
        em_buf_free(&out);
        em__ws_pmd_free(z);
    }
    free(bomb);
}

static int inflate_once(bool tk, int bits, const void *p, size_t n, em_buf *out) {
    em__ws_pmd_params pp = params(tk, tk, bits, bits);
    em__ws_pmd *z = em__ws_pmd_new(NULL, EM_WS_ROLE_CLIENT, &pp, NULL);
    em_buf_clear(out);
    int rc = inflate_msg(z, p, n, 1 << 20, out, NULL);
    /* sticky */
    if (rc)
        assert_int_equal(em__ws_pmd_inflate(z, sl(HELLO_Z, 7), true, 100, out), rc);
    em__ws_pmd_free(z);
    return rc;
}

static void test_corrupt(void **state) {
    (void)state;
    em_buf out;
    em_buf_init(&out, 0);
    for (unsigned tk = 0; tk < 2; tk++) {
        /* BTYPE 11 */
        assert_int_equal(inflate_once(tk, 15, "\xff\xff\xff\xff", 4, &out), EM_EPARSE);
        /* a stored block whose NLEN is not LEN's complement */
        assert_int_equal(inflate_once(tk, 15,
                                      "\x00\x05\x00\xfa\xfe"
                                      "Hello",
                                      10, &out),
                         EM_EPARSE);
        /* cut inside the block */
        assert_int_equal(inflate_once(tk, 15, HELLO_Z, 3, &out), EM_EPARSE);
        assert_int_equal(inflate_once(tk, 15, HELLO_Z, 6, &out), EM_EPARSE);
        /* bytes after a block with BFINAL set are ignored (as zlib does;
         * §7.2.3.4's example has one) */
        assert_int_equal(inflate_once(tk, 15, "\xf3\x48\xcd\xc9\xc9\x07\x00\x00\x01", 9, &out), 0);
        expect_bytes(&out, "Hello", 5);
        /* a reference further back than the window allows */
        unsigned char msg[3000], c[4000];
        uint64_t seed = 5;
        for (size_t i = 0; i < 1500; i++)
            msg[i] = msg[i + 1500] = (unsigned char)test_rnd(&seed);
        z_stream d;
        memset(&d, 0, sizeof d);
        assert_int_equal(deflateInit2(&d, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
        d.next_in = msg;
        d.avail_in = sizeof msg;
        d.next_out = c;
        d.avail_out = sizeof c;
        assert_int_equal(deflate(&d, Z_SYNC_FLUSH), Z_OK);
        size_t cn = sizeof c - d.avail_out - 4;
        deflateEnd(&d);
        assert_int_equal(inflate_once(tk, 15, c, cn, &out), 0);
        expect_bytes(&out, msg, sizeof msg);
        /* zlib checks distances against what it holds (the window plus
         * this call's output), not against the window size: a peer
         * reaching past the negotiated window gets the right bytes or
         * EM_EPARSE, never wrong bytes */
        for (int bits = 8; bits < 15; bits++) {
            int rc = inflate_once(tk, bits, c, cn, &out);
            assert_true(rc == 0 || rc == EM_EPARSE);
            if (rc == 0)
                expect_bytes(&out, msg, sizeof msg);
        }
        /* a reference to before the stream's start: always EM_EPARSE */
        memset(&d, 0, sizeof d);
        assert_int_equal(deflateInit2(&d, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
        assert_int_equal(deflateSetDictionary(&d, msg, 1500), Z_OK);
        d.next_in = msg;
        d.avail_in = 1500;
        d.next_out = c;
        d.avail_out = sizeof c;
        assert_int_equal(deflate(&d, Z_SYNC_FLUSH), Z_OK);
        cn = sizeof c - d.avail_out - 4;
        deflateEnd(&d);
        assert_true(cn < 100);
        for (int bits = 8; bits <= 15; bits++)
            assert_int_equal(inflate_once(tk, bits, c, cn, &out), EM_EPARSE);
    }
    /* random garbage: an error or a message, never a crash (ASan) */
    uint64_t seed = 11;
    unsigned bad = 0;
    for (int k = 0; k < 2000; k++) {
        unsigned char g[64];
        size_t n = 1 + (size_t)(test_rnd(&seed) % sizeof g);
        for (size_t i = 0; i < n; i++)
            g[i] = (unsigned char)test_rnd(&seed);
        int rc = inflate_once(k & 1, 8 + k % 8, g, n, &out);
        assert_true(rc == 0 || rc == EM_EPARSE || rc == EM_EMSGSIZE);
        bad += rc == EM_EPARSE;
    }
    assert_true(bad > 1000);
    em_buf_free(&out);
}

static void test_out_max(void **state) {
    (void)state;
    em__ws_pmd_params p = params(false, false, 15, 15);
    pair x = pair_new(&p, NULL);
    em_buf small;
    em_buf_init(&small, 8);
    static char msg[4096];
    uint64_t seed = 1;
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (char)test_rnd(&seed);
    /* a failed compress leaves the stream usable: the next message does
     * not refer to what the peer never got */
    assert_int_equal(em__ws_pmd_compress(x.srv, sl(msg, sizeof msg), &small), EM_ENOBUFS);
    em_buf z, out;
    em_buf_init(&z, 0);
    em_buf_init(&out, 0);
    compress_msg(x.srv, msg, sizeof msg, &z);
    assert_int_equal(inflate_msg(x.cli, em_buf_data(&z), em_buf_len(&z), 1 << 20, &out, NULL), 0);
    expect_bytes(&out, msg, sizeof msg);
    em_buf_clear(&small);
    assert_int_equal(em__ws_pmd_inflate(x.cli, sl(HELLO_Z, 7), true, 100, &small), 0);
    em_buf_free(&small);
    em_buf_free(&z);
    em_buf_free(&out);
    pair_free(&x);
}

/* ---- shared streams ------------------------------------------------------- */

/* Two connections with no context takeover, their messages' pieces
 * interleaved on one thread: each holds a stream only mid-message. */
static void test_interleaved_no_takeover(void **state) {
    (void)state;
    em__ws_pmd_params p = params(true, true, 15, 12);
    pair a = pair_new(&p, NULL), b = pair_new(&p, NULL);
    em_buf za, zb, oa, ob;
    em_buf_init(&za, 0);
    em_buf_init(&zb, 0);
    em_buf_init(&oa, 0);
    em_buf_init(&ob, 0);
    static char ma[20000], mb[20000];
    uint64_t seed = 77;
    for (int round = 0; round < 50; round++) {
        size_t na = make_msg(ma, sizeof ma, &seed, NULL, 0);
        size_t nb = make_msg(mb, sizeof mb, &seed, NULL, 0);
        compress_msg(a.cli, ma, na, &za);
        compress_msg(b.cli, mb, nb, &zb);
        size_t idle = em__ws_pmd_memory(a.srv);
        assert_true(idle < 256);
        em_buf_clear(&oa);
        em_buf_clear(&ob);
        size_t ia = 0, ib = 0, la = em_buf_len(&za), lb = em_buf_len(&zb);
        while (ia < la || ib < lb) {
            size_t s = 1 + (size_t)(test_rnd(&seed) % 200);
            if (ia < la) {
                size_t k = s < la - ia ? s : la - ia;
                assert_int_equal(
                    em__ws_pmd_inflate(a.srv, sl(em_buf_data(&za) + ia, k), ia + k == la, na, &oa),
                    0);
                ia += k;
                if (ia < la)
                    assert_true(em__ws_pmd_memory(a.srv) > idle); /* holds one mid-message */
            }
            if (ib < lb) {
                size_t k = s < lb - ib ? s : lb - ib;
                assert_int_equal(
                    em__ws_pmd_inflate(b.srv, sl(em_buf_data(&zb) + ib, k), ib + k == lb, nb, &ob),
                    0);
                ib += k;
            }
        }
        expect_bytes(&oa, ma, na);
        expect_bytes(&ob, mb, nb);
        assert_int_equal(em__ws_pmd_memory(a.srv), idle);
        assert_int_equal(em__ws_pmd_memory(a.cli), idle);
    }
    /* freed mid-message: the borrowed stream goes back */
    compress_msg(a.cli, ma, 1000, &za);
    assert_int_equal(em__ws_pmd_inflate(a.srv, sl(em_buf_data(&za), 10), false, 1000, &oa), 0);
    pair_free(&a);
    pair_free(&b);
    em_buf_free(&za);
    em_buf_free(&zb);
    em_buf_free(&oa);
    em_buf_free(&ob);
}

/* Connections of one thread with different levels and windows, their
 * messages alternating: the thread's deflater is remade for each change
 * of settings and every message still reads back. */
static void test_shared_deflater_alternating(void **state) {
    (void)state;
    pair x[3];
    em_ws_deflate_opts o[3];
    for (int k = 0; k < 3; k++) {
        memset(&o[k], 0, sizeof o[k]);
        o[k].level = 1 + 4 * k;
        o[k].mem_level = (unsigned)(9 - 3 * k);
        em__ws_pmd_params p = params(true, true, 9 + 3 * k, 15);
        x[k] = pair_new(&p, &o[k]);
    }
    static char msg[30000];
    uint64_t seed = 21;
    em_buf z, out;
    em_buf_init(&z, 0);
    em_buf_init(&out, 0);
    for (int i = 0; i < 60; i++) {
        pair *c = &x[test_rnd(&seed) % 3];
        size_t n = make_msg(msg, sizeof msg, &seed, NULL, 0);
        compress_msg(c->srv, msg, n, &z);
        em_buf_clear(&out);
        assert_int_equal(inflate_msg(c->cli, em_buf_data(&z), em_buf_len(&z), n, &out, &seed), 0);
        expect_bytes(&out, msg, n);
        assert_true(em__ws_pmd_memory(c->srv) < 256);
    }
    for (int k = 0; k < 3; k++)
        pair_free(&x[k]);
    em_buf_free(&z);
    em_buf_free(&out);
}

static void *thread_main(void *arg) {
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    em__ws_pmd_params p = params(true, true, 9 + (int)(seed % 7), 15);
    em_ws_deflate_opts o;
    memset(&o, 0, sizeof o);
    o.level = (int)seed % 9 + 1;
    round_trip(&p, &o, 200, 5000, seed);
    return NULL;
}

/* Each thread gets its own shared streams, freed when it exits (LeakSanitizer
 * checks that under ASan). */
static void test_threads(void **state) {
    (void)state;
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, thread_main, (void *)(i + 1)), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
}

/* ---- memory --------------------------------------------------------------- */

static size_t held_after_one(bool snct, bool cnct, int bits, unsigned mem) {
    em__ws_pmd_params p = params(snct, cnct, bits, bits);
    em_ws_deflate_opts o;
    memset(&o, 0, sizeof o);
    o.mem_level = mem;
    pair x = pair_new(&p, &o);
    size_t before = em__ws_pmd_memory(x.srv);
    assert_true(before < 256); /* nothing made before the first message */
    static char msg[70000];
    uint64_t seed = 1;
    size_t n = make_msg(msg, sizeof msg, &seed, NULL, 0);
    while (n < 40000)
        n = make_msg(msg, sizeof msg, &seed, NULL, 0);
    em_buf z, out;
    em_buf_init(&z, 0);
    em_buf_init(&out, 0);
    compress_msg(x.srv, msg, n, &z);
    compress_msg(x.cli, msg, n, &out);
    assert_int_equal(inflate_msg(x.srv, em_buf_data(&out), em_buf_len(&out), n, &z, NULL), 0);
    size_t held = em__ws_pmd_memory(x.srv);
    em_buf_free(&z);
    em_buf_free(&out);
    pair_free(&x);
    return held;
}

static void test_memory(void **state) {
    (void)state;
    /* no context takeover either way: nothing held between messages */
    size_t none = held_after_one(true, true, 15, 0);
    assert_true(none < 256);
    print_message("memory per connection after a 40+ KB message each way (zlib %s):\n"
                  "  no context takeover: %zu bytes\n"
                  "  bits  deflate(mem 8)  deflate(mem 1)  inflate\n",
                  zlibVersion(), none);
    size_t prev_d = 0, prev_i = 0;
    for (int bits = 8; bits <= 15; bits++) {
        size_t d = held_after_one(false, true, bits, 8) - none;
        size_t d1 = held_after_one(false, true, bits, 1) - none;
        size_t i = held_after_one(true, false, bits, 8) - none;
        print_message("  %4d  %14zu  %14zu  %7zu\n", bits, d, d1, i);
        /* the window's share: 2^(w+2) deflating (8 uses 9), 2^w inflating */
        int db = bits < 9 ? 9 : bits;
        assert_true(d >= ((size_t)1 << (db + 2)) + 2 * 65536);
        assert_true(d1 >= ((size_t)1 << (db + 2)) && d1 < d);
        assert_true(i >= ((size_t)1 << bits) && i < ((size_t)1 << bits) + 16384);
        assert_true(d >= prev_d && i > prev_i);
        prev_d = d;
        prev_i = i;
    }
    /* the default (15, memLevel 8): about 262 KiB to deflate, 39 KiB to inflate */
    assert_true(prev_d > 256 * 1024 && prev_d < 300 * 1024);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_hello),
        cmocka_unit_test(test_rfc_other_blocks),
        cmocka_unit_test(test_empty_message),
        cmocka_unit_test(test_round_trip_windows),
        cmocka_unit_test(test_zlib_window8_facts),
        cmocka_unit_test(test_window8_byte_by_byte),
        cmocka_unit_test(test_round_trip_levels),
        cmocka_unit_test(test_many_messages_takeover),
        cmocka_unit_test(test_zlib_interop),
        cmocka_unit_test(test_limit_exact),
        cmocka_unit_test(test_bomb),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_out_max),
        cmocka_unit_test(test_interleaved_no_takeover),
        cmocka_unit_test(test_shared_deflater_alternating),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

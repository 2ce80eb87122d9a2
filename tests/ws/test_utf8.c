/* UTF-8 validation against a naive decoder written here (code point
 * arithmetic, no automaton): every 1- to 3-byte string and the 4-byte
 * ones that matter, the classic bad sequences, and random texts with
 * random damage, split at random into pieces. At every SIMD level the
 * verdict after each piece must be the reference's ("could this still
 * become valid UTF-8?"), and the kernels must agree with the scalar twin
 * byte for byte on inputs that end at a PROT_NONE page. */
#include "ws_test_util.h"

/* ---- the reference ------------------------------------------------------ */

/* Could a code point in [lo, hi] be a valid scalar value of a sequence
 * whose shortest form starts at min? */
static bool feasible(uint32_t lo, uint32_t hi, uint32_t min) {
    if (lo < min)
        lo = min;
    if (hi > 0x10ffff)
        hi = 0x10ffff;
    if (lo > hi)
        return false;
    return !(lo >= 0xd800 && hi <= 0xdfff);
}

/* The index of the first byte after which s[0, n) can no longer begin a
 * valid UTF-8 text, or n if none; *incomplete: the text ends inside a
 * sequence. */
static size_t ref_first_bad(const uint8_t *s, size_t n, bool *incomplete) {
    *incomplete = false;
    size_t i = 0;
    while (i < n) {
        uint8_t b = s[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        unsigned need;
        uint32_t cp, min;
        if (b >= 0xc0 && b < 0xe0) {
            need = 1, cp = b & 0x1f, min = 0x80;
        } else if (b >= 0xe0 && b < 0xf0) {
            need = 2, cp = b & 0x0f, min = 0x800;
        } else if (b >= 0xf0 && b < 0xf8) {
            need = 3, cp = b & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (!feasible(cp << (6 * need), (cp << (6 * need)) | ((1u << (6 * need)) - 1), min))
            return i;
        for (unsigned j = 1; j <= need; j++) {
            if (i + j >= n) {
                *incomplete = true;
                return n;
            }
            uint8_t c = s[i + j];
            if ((c & 0xc0) != 0x80)
                return i + j;
            cp = cp << 6 | (c & 0x3f);
            unsigned rem = 6 * (need - j);
            if (!feasible(cp << rem, (cp << rem) | ((1u << rem) - 1), min))
                return i + j;
        }
        i += need + 1;
    }
    return n;
}

static bool ref_valid(const uint8_t *s, size_t n) {
    bool inc;
    return ref_first_bad(s, n, &inc) == n && !inc;
}

/* ---- helpers ------------------------------------------------------------- */

static size_t put_cp(uint8_t *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/* A random text of about n bytes (valid), mostly of one kind. */
static size_t random_text(uint8_t *o, size_t n, uint64_t *rng) {
    size_t k = 0;
    unsigned mix = (unsigned)(test_rnd(rng) % 5);
    while (k + 4 <= n) {
        uint64_t x = test_rnd(rng);
        unsigned kind = mix == 4 ? (unsigned)(x % 4) : (x % 8 ? mix : (unsigned)(x % 4));
        uint32_t cp;
        if (kind == 0)
            cp = (uint32_t)(x >> 8) % 0x80;
        else if (kind == 1)
            cp = 0x80 + (uint32_t)(x >> 8) % (0x800 - 0x80);
        else if (kind == 2) {
            cp = 0x800 + (uint32_t)(x >> 8) % (0x10000 - 0x800);
            if (cp >= 0xd800 && cp <= 0xdfff)
                cp -= 0x800;
        } else
            cp = 0x10000 + (uint32_t)(x >> 8) % (0x110000 - 0x10000);
        if (x >> 40 & 1 && kind)
            cp = x >> 41 & 1 ? (kind == 1   ? 0x80
                                : kind == 2 ? 0xffff
                                            : 0x10ffff)
                             : (kind == 1   ? 0x7ff
                                : kind == 2 ? 0x800
                                            : 0x10000);
        k += put_cp(o + k, cp);
    }
    return k;
}

static const uint8_t interesting[] = {0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf,
                                      0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed,
                                      0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff};

static void damage(uint8_t *o, size_t n, uint64_t *rng) {
    if (!n)
        return;
    unsigned hits = (unsigned)(test_rnd(rng) % 3);
    for (unsigned h = 0; h < hits; h++) {
        uint64_t x = test_rnd(rng);
        size_t at = (size_t)(x % n);
        o[at] = x >> 32 & 1 ? interesting[(x >> 33) % sizeof interesting] : (uint8_t)(x >> 40);
    }
}

/* Feeds s[0, n) at the current level in random pieces; each verdict must
 * match the reference for the bytes so far. */
static void check_pieces(const uint8_t *s, size_t n, uint64_t *rng, int level) {
    bool inc;
    size_t bad = ref_first_bad(s, n, &inc);
    em_ws_utf8 v = {0};
    size_t at = 0;
    bool failed = false;
    while (at < n) {
        uint64_t x = test_rnd(rng);
        size_t step = x % 4 == 0 ? 1 + (size_t)(x >> 8) % 3 : 1 + (size_t)(x >> 8) % 300;
        if (step > n - at)
            step = n - at;
        int rc = em_ws_utf8_feed(&v, s + at, step);
        bool want_fail = bad < at + step;
        if ((rc != 0) != want_fail)
            fail_msg("level %d: piece [%zu, %zu) of %zu: rc %d, first bad byte %zu", level, at,
                     at + step, n, rc, bad);
        if (rc)
            assert_int_equal(rc, EM_EPARSE);
        failed = rc != 0;
        at += step;
    }
    int end = em_ws_utf8_end(&v);
    assert_int_equal(end == 0, !failed && !inc && bad == n);
    assert_int_equal(em_ws_utf8_valid(s, n), bad == n && !inc);
    /* the validator is ready for the next message */
    assert_int_equal(em_ws_utf8_feed(&v, "ok", 2), 0);
    assert_int_equal(em_ws_utf8_end(&v), 0);
}

/* ---- tests ---------------------------------------------------------------- */

/* Every string of 1 to 3 bytes, and 4 bytes with an interesting lead, through
 * the automaton against the reference (prefix verdict and completeness). */
static void test_dfa_exhaustive(void **state) {
    (void)state;
    uint8_t s[4];
    for (uint32_t v = 0; v < (1u << 24); v++) {
        s[0] = (uint8_t)(v >> 16), s[1] = (uint8_t)(v >> 8), s[2] = (uint8_t)v;
        for (size_t n = 1; n <= 3; n++) {
            if (n < 3 && (v & ((1u << (8 * (3 - n))) - 1)))
                continue;
            bool inc;
            size_t bad = ref_first_bad(s, n, &inc);
            uint32_t st = em__ws_utf8_dfa(EM__WS_UTF8_ACCEPT, s, n);
            if ((st == EM__WS_UTF8_REJECT) != (bad < n) ||
                (bad == n && (st == EM__WS_UTF8_ACCEPT) == inc))
                fail_msg("%02x %02x %02x (n %zu): state %u, bad %zu inc %d", s[0], s[1], s[2], n,
                         st, bad, inc);
        }
    }
    for (uint32_t lead = 0xf0; lead <= 0xff; lead++) {
        for (uint32_t v = 0; v < (1u << 16); v++) {
            for (uint32_t last = 0x70; last <= 0xc0; last += 0x10) {
                s[0] = (uint8_t)lead, s[1] = (uint8_t)(v >> 8), s[2] = (uint8_t)v;
                s[3] = (uint8_t)last;
                bool inc;
                size_t bad = ref_first_bad(s, 4, &inc);
                uint32_t st = em__ws_utf8_dfa(EM__WS_UTF8_ACCEPT, s, 4);
                assert_int_equal(st == EM__WS_UTF8_REJECT, bad < 4);
                if (bad == 4)
                    assert_int_equal(st == EM__WS_UTF8_ACCEPT, !inc);
            }
        }
    }
}

/* The sequences every validator must get right, each fed byte by byte at
 * every level, with the failure at the byte the comment names. */
static void test_classic_cases(void **state) {
    (void)state;
    static const struct {
        const char *s;
        int fail_at; /* -1: valid; -2: incomplete at the end */
    } cases[] = {
        {"", -1},
        {"hello", -1},
        {"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", -1},
        {"\xf0\x90\x80\x80", -1}, /* U+10000 */
        {"\xf4\x8f\xbf\xbf", -1}, /* U+10FFFF */
        {"\xed\x9f\xbf", -1},     /* U+D7FF */
        {"\xee\x80\x80", -1},     /* U+E000 */
        {"\xef\xbf\xbd", -1},     /* U+FFFD */
        {"\xf4\x90\x80\x80", 1},  /* > U+10FFFF: at the 0x90 */
        {"\xf5\x80\x80\x80", 0},  /* never a lead */
        {"\xc0\xaf", 0},          /* overlong '/': at once */
        {"\xc1\xbf", 0},
        {"\xe0\x80\xaf", 1}, /* overlong 3 */
        {"\xe0\x9f\xbf", 1},
        {"\xf0\x80\x80\xaf", 1}, /* overlong 4 */
        {"\xf0\x8f\xbf\xbf", 1},
        {"\xed\xa0\x80", 1}, /* U+D800 */
        {"\xed\xbf\xbf", 1}, /* U+DFFF */
        {"\xed\xa0\x80\xed\xb0\x80", 1},
        {"\x80", 0}, /* stray continuation */
        {"a\xbf", 1},
        {"\xc3\xa9\xa9", 2},
        {"\xfe", 0},
        {"\xff", 0},
        {"\xc3", -2}, /* cut off */
        {"\xe2\x82", -2},
        {"\xf0\x9f\x98", -2},
        {"\xc3"
         "a",
         1},
        {"\xe2\x82"
         "a",
         2},
        {"\xf0\x9f\x98"
         "a",
         3},
        {"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80\x65\x64\x69\x74\x65\x64",
         12},
    };
    int lv[4], nl = test_levels(lv);
    for (int l = 0; l < nl; l++) {
        assert_int_equal(em__ws_simd_force(lv[l]), 0);
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
            const uint8_t *s = (const uint8_t *)cases[c].s;
            size_t n = strlen(cases[c].s);
            bool inc;
            size_t bad = ref_first_bad(s, n, &inc);
            /* the reference agrees with the table */
            if (cases[c].fail_at >= 0)
                assert_int_equal(bad, (size_t)cases[c].fail_at);
            else
                assert_true(bad == n && inc == (cases[c].fail_at == -2));
            em_ws_utf8 v = {0};
            int first_fail = -1;
            for (size_t i = 0; i < n; i++) {
                int rc = em_ws_utf8_feed(&v, s + i, 1);
                if (rc && first_fail < 0)
                    first_fail = (int)i;
            }
            assert_int_equal(first_fail, cases[c].fail_at >= 0 ? cases[c].fail_at : -1);
            assert_int_equal(em_ws_utf8_end(&v) == 0, cases[c].fail_at == -1);
            /* and inside a long ASCII run, so the kernels see it */
            uint8_t buf[400];
            memset(buf, 'x', sizeof buf);
            for (size_t pos = 0; pos + n <= sizeof buf; pos += 37) {
                memset(buf, 'x', sizeof buf);
                memcpy(buf + pos, s, n);
                assert_int_equal(em_ws_utf8_valid(buf, sizeof buf), cases[c].fail_at == -1);
            }
        }
    }
    assert_int_equal(em__ws_simd_force(em__ws_simd_default()), 0);
}

/* The kernels against the scalar twin on whole buffers: random texts,
 * damaged or not, lengths 0..600, ending at a PROT_NONE page. */
static void test_kernels_differential(void **state) {
    (void)state;
    int lv[4], nl = test_levels(lv);
    uint64_t rng = 77;
    enum { MAX = 600 };
    uint8_t text[MAX + 8];
    guarded g;
    uint8_t *end = (uint8_t *)guard_alloc(&g, MAX) + MAX;
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = random_text(text, (size_t)(test_rnd(&rng) % (MAX + 1)), &rng);
        if (iter % 3)
            damage(text, n, &rng);
        /* and a random cut, often inside a sequence */
        if (iter % 5 == 0 && n)
            n -= (size_t)(test_rnd(&rng) % (n < 4 ? n : 4));
        uint8_t *p = end - n;
        memcpy(p, text, n);
        int want = em__ws_utf8_scalar(p, n);
        assert_int_equal(want != 0, !ref_valid(p, n));
        for (int l = 1; l < nl; l++) {
            const em__ws_kernels *k = em__ws_kernels_of(lv[l]);
            int got = k->utf8(p, n);
            if ((got != 0) != (want != 0))
                fail_msg("level %d len %zu: kernel %d scalar %d", lv[l], n, got, want);
        }
    }
    guard_free(&g);
}

/* Every byte value at every position of a 150-byte mixed text, each
 * level: one damaged byte in a long buffer. */
static void test_every_byte_every_position(void **state) {
    (void)state;
    int lv[4], nl = test_levels(lv);
    uint64_t rng = 5;
    uint8_t text[160], buf[160];
    size_t n = random_text(text, 150, &rng);
    assert_true(ref_valid(text, n));
    for (int l = 0; l < nl; l++) {
        assert_int_equal(em__ws_simd_force(lv[l]), 0);
        for (size_t pos = 0; pos < n; pos++) {
            for (int c = 0; c < 256; c++) {
                memcpy(buf, text, n);
                buf[pos] = (uint8_t)c;
                if (em_ws_utf8_valid(buf, n) != ref_valid(buf, n))
                    fail_msg("level %d pos %zu byte %#x", lv[l], pos, c);
            }
        }
    }
    assert_int_equal(em__ws_simd_force(em__ws_simd_default()), 0);
}

/* Incremental: random texts in random pieces at every level. */
static void test_incremental_pieces(void **state) {
    (void)state;
    int lv[4], nl = test_levels(lv);
    uint64_t rng = 4242;
    enum { MAX = 5000 };
    uint8_t *text = malloc(MAX + 8);
    for (int iter = 0; iter < 1500; iter++) {
        size_t n = random_text(text, (size_t)(test_rnd(&rng) % (iter < 750 ? 300 : MAX)), &rng);
        if (iter % 2)
            damage(text, n, &rng);
        if (iter % 7 == 0 && n)
            n -= (size_t)(test_rnd(&rng) % (n < 3 ? n : 3));
        for (int l = 0; l < nl; l++) {
            assert_int_equal(em__ws_simd_force(lv[l]), 0);
            uint64_t r2 = rng;
            check_pieces(text, n, &r2, lv[l]);
        }
        test_rnd(&rng);
    }
    assert_int_equal(em__ws_simd_force(em__ws_simd_default()), 0);
    free(text);
}

static void test_close_parse(void **state) {
    (void)state;
    uint16_t code = 0;
    em_slice r;
    assert_int_equal(em_ws_close_parse("", 0, &code, &r), 0);
    assert_int_equal(code, 1005);
    assert_int_equal(r.len, 0);
    assert_int_equal(em_ws_close_parse("\x03", 1, &code, &r), EM_EPROTO);
    assert_int_equal(em_ws_close_parse("\x03\xe8", 2, &code, &r), 0);
    assert_int_equal(code, 1000);
    assert_int_equal(em_ws_close_parse("\x03\xe9"
                                       "bye",
                                       5, &code, &r),
                     0);
    assert_int_equal(code, 1001);
    assert_int_equal(r.len, 3);
    assert_memory_equal(r.ptr, "bye", 3);
    assert_int_equal(em_ws_close_parse("\x03\xe8\xce\xba", 4, &code, &r), 0);
    assert_int_equal(em_ws_close_parse("\x03\xe8\xed\xa0\x80", 5, &code, &r), EM_EPARSE);
    assert_int_equal(em_ws_close_parse("\x03\xe8\xce", 3, &code, &r), EM_EPARSE);
    static const unsigned good[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                                    1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999};
    static const unsigned bad[] = {0,    999,  1004, 1005, 1006, 1015,
                                   1016, 1100, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char b[2] = {(char)(good[i] >> 8), (char)good[i]};
        assert_int_equal(em_ws_close_parse(b, 2, &code, &r), 0);
        assert_int_equal(code, good[i]);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char b[2] = {(char)(bad[i] >> 8), (char)bad[i]};
        assert_int_equal(em_ws_close_parse(b, 2, &code, &r), EM_EPROTO);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dfa_exhaustive),
        cmocka_unit_test(test_classic_cases),
        cmocka_unit_test(test_kernels_differential),
        cmocka_unit_test(test_every_byte_every_position),
        cmocka_unit_test(test_incremental_pieces),
        cmocka_unit_test(test_close_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Masking at every SIMD level against a byte loop written here: every
 * length 0..300, every phase, source and destination misaligned by 0..63,
 * in place and copying, the buffers ending at a PROT_NONE page; then long
 * random runs, and the public entry points at every level. */
#include "ws_test_util.h"

static void ref_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4],
                     size_t phase) {
    for (size_t i = 0; i < len; i++)
        dst[i] = src[i] ^ key[(phase + i) % 4];
}

static const uint8_t KEY[4] = {0x9c, 0x01, 0xe7, 0x5a};

static void test_kernels_every_length(void **state) {
    (void)state;
    int lv[4], nl = test_levels(lv);
    enum { MAXLEN = 300, MIS = 64 };
    uint8_t src[MAXLEN], want[MAXLEN];
    for (size_t i = 0; i < MAXLEN; i++)
        src[i] = (uint8_t)(i * 31 + 7);
    guarded gs, gd;
    uint8_t *sbuf = (uint8_t *)guard_alloc(&gs, MAXLEN + MIS);
    uint8_t *dbuf = (uint8_t *)guard_alloc(&gd, MAXLEN + MIS);
    memset(dbuf, 0xee, MAXLEN + MIS);
    for (int l = 0; l < nl; l++) {
        const em__ws_kernels *k = em__ws_kernels_of(lv[l]);
        for (size_t len = 0; len <= MAXLEN; len++) {
            for (size_t phase = 0; phase < 4; phase++) {
                ref_mask(want, src, len, KEY, phase);
                uint32_t key = em__ws_key_at(KEY, phase);
                for (size_t mis = 0; mis < MIS; mis++) {
                    /* in place, ending at the guard page ... */
                    uint8_t *p = sbuf + MAXLEN + MIS - len - mis;
                    memcpy(p, src, len);
                    assert_int_equal(k->mask(p, p, len, key, phase), (phase + len) & 3);
                    if (memcmp(p, want, len) != 0)
                        fail_msg("level %d in place len %zu phase %zu mis %zu", lv[l], len, phase,
                                 mis);
                    /* ... and copying, both ends near the guard */
                    uint8_t *s = sbuf + MAXLEN + MIS - len - (mis % 7);
                    uint8_t *d = dbuf + MAXLEN + MIS - len - mis;
                    memcpy(s, src, len);
                    memset(d, 0xee, len);
                    assert_int_equal(k->mask(d, s, len, key, phase), (phase + len) & 3);
                    if (memcmp(d, want, len) != 0 || memcmp(s, src, len) != 0)
                        fail_msg("level %d copy len %zu phase %zu mis %zu", lv[l], len, phase, mis);
                    /* no byte written before dst */
                    if (d > dbuf)
                        assert_int_equal(d[-1], 0xee);
                    memset(dbuf, 0xee, MAXLEN + MIS);
                }
            }
        }
    }
    guard_free(&gs);
    guard_free(&gd);
}

/* Long buffers, random lengths and offsets, pieces with the phase carried
 * through the public calls, at every level. */
static void test_public_pieces(void **state) {
    (void)state;
    int lv[4], nl = test_levels(lv);
    enum { N = 200000 };
    uint8_t *src = malloc(N), *want = malloc(N), *got = malloc(N + 64), *cp = malloc(N + 64);
    uint64_t rng = 99;
    for (size_t i = 0; i < N; i++)
        src[i] = (uint8_t)test_rnd(&rng);
    for (int l = 0; l < nl; l++) {
        assert_int_equal(em__ws_simd_force(lv[l]), 0);
        assert_int_equal(em__ws_simd_level(), lv[l]);
        for (int iter = 0; iter < 30; iter++) {
            size_t len = (size_t)(test_rnd(&rng) % N), off = (size_t)(test_rnd(&rng) % 64);
            size_t phase0 = (size_t)(test_rnd(&rng) % 4);
            ref_mask(want, src, len, KEY, phase0);
            memcpy(got + off, src, len);
            size_t at = 0, phase = phase0, cphase = phase0;
            while (at < len) {
                size_t step = (size_t)(test_rnd(&rng) % 5000) + 1;
                if (step > len - at)
                    step = len - at;
                phase = em_ws_mask(got + off + at, step, KEY, phase);
                cphase = em_ws_mask_copy(cp + (off ^ 13) + at, src + at, step, KEY, cphase);
                at += step;
            }
            assert_int_equal(phase, (phase0 + len) & 3);
            assert_int_equal(cphase, phase);
            assert_memory_equal(got + off, want, len);
            assert_memory_equal(cp + (off ^ 13), want, len);
        }
    }
    assert_int_equal(em__ws_simd_force(em__ws_simd_default()), 0);
    free(src);
    free(want);
    free(got);
    free(cp);
}

static void test_levels_available(void **state) {
    (void)state;
    int lv[4], nl = test_levels(lv);
    assert_true(nl >= 1);
    assert_int_equal(lv[0], EM__WS_SIMD_SCALAR);
    const char *env = getenv("EMBER_SIMD");
    if (env && !strcmp(env, "off"))
        assert_int_equal(em__ws_simd_default(), EM__WS_SIMD_SCALAR);
    else
        assert_int_equal(em__ws_simd_default(), lv[nl - 1]);
    assert_int_equal(em__ws_simd_force(EM__WS_SIMD_AVX512 + 1), EM_ENOTSUP);
    print_message("ws SIMD levels: %d (default %d)\n", nl, em__ws_simd_default());
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels_available),
        cmocka_unit_test(test_kernels_every_length),
        cmocka_unit_test(test_public_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

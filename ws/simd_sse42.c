/* SSE kernels: masking 16 bytes at a time (SSE2 only), and the UTF-8
 * lookup-table validator (SSSE3 shuffles, SSE4.1 test). Compiled with
 * -msse4.2; used only when the CPU has it (simd.c). */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <string.h>

#include "ws_internal.h"

/* Masking, as in simd_avx2.c: 16 bytes at a time with the stores
 * aligned, the bytes before and after as disjoint pieces. */
static size_t mask_sse2(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key,
                        size_t phase) {
    size_t i = 0;
    if (len >= 32) {
        i = (size_t)(-(uintptr_t)dst) & 15;
        em__ws_mask_small(dst, src, i, key);
        key = em__ws_key_rot(key, i);
        const __m128i k = _mm_set1_epi32((int)key);
        for (; len - i >= 64; i += 64) {
            __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
            __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 16));
            __m128i c = _mm_loadu_si128((const __m128i *)(src + i + 32));
            __m128i d = _mm_loadu_si128((const __m128i *)(src + i + 48));
            _mm_store_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
            _mm_store_si128((__m128i *)(dst + i + 16), _mm_xor_si128(b, k));
            _mm_store_si128((__m128i *)(dst + i + 32), _mm_xor_si128(c, k));
            _mm_store_si128((__m128i *)(dst + i + 48), _mm_xor_si128(d, k));
        }
        for (; len - i >= 16; i += 16) {
            __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
            _mm_store_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
        }
    }
    return em__ws_mask_scalar(dst + i, src + i, len - i, key, phase + i);
}

/* The lookup algorithm on 16-byte blocks; prev is the block before (zeros
 * at the start: p begins a sequence). Nonzero bytes in the result mark
 * errors. */
static inline __m128i check_block(__m128i in, __m128i prev) {
    const __m128i nib = _mm_set1_epi8(0x0f);
    const __m128i b1h = _mm_setr_epi8(EM__U8_B1H);
    const __m128i b1l = _mm_setr_epi8(EM__U8_B1L);
    const __m128i b2h = _mm_setr_epi8(EM__U8_B2H);
    __m128i prev1 = _mm_alignr_epi8(in, prev, 15);
    __m128i sc = _mm_and_si128(
        _mm_and_si128(_mm_shuffle_epi8(b1h, _mm_and_si128(_mm_srli_epi16(prev1, 4), nib)),
                      _mm_shuffle_epi8(b1l, _mm_and_si128(prev1, nib))),
        _mm_shuffle_epi8(b2h, _mm_and_si128(_mm_srli_epi16(in, 4), nib)));
    /* third and fourth bytes of 3- and 4-byte sequences: must be the
     * continuations that sc saw as "two in a row" */
    __m128i third = _mm_subs_epu8(_mm_alignr_epi8(in, prev, 14), _mm_set1_epi8(0xe0 - 0x80));
    __m128i fourth = _mm_subs_epu8(_mm_alignr_epi8(in, prev, 13), _mm_set1_epi8(0xf0 - 0x80));
    __m128i must = _mm_and_si128(_mm_or_si128(third, fourth), _mm_set1_epi8(EM__U8C(0x80)));
    return _mm_xor_si128(must, sc);
}

/* Nonzero where a lead byte in the last three wants bytes past the block. */
static inline __m128i incomplete(__m128i in) {
    const __m128i max = _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                      EM__U8C(0xf0 - 1), EM__U8C(0xe0 - 1), EM__U8C(0xc0 - 1));
    return _mm_subs_epu8(in, max);
}

static int utf8_sse(const uint8_t *p, size_t len) {
    __m128i prev = _mm_setzero_si128(), err = _mm_setzero_si128();
    __m128i prev_inc = _mm_setzero_si128();
    size_t i = 0;
    for (; len - i >= 64; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(p + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(p + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(p + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(p + i + 48));
        if (!_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d)))) {
            /* all ASCII: only a sequence cut off before it can be wrong */
            err = _mm_or_si128(err, prev_inc);
            prev_inc = _mm_setzero_si128();
        } else {
            err = _mm_or_si128(err, check_block(a, prev));
            err = _mm_or_si128(err, check_block(b, a));
            err = _mm_or_si128(err, check_block(c, b));
            err = _mm_or_si128(err, check_block(d, c));
            prev_inc = incomplete(d);
        }
        prev = d;
    }
    for (; len - i >= 16; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(p + i));
        err = _mm_or_si128(err, check_block(a, prev));
        prev_inc = incomplete(a);
        prev = a;
    }
    if (i < len) {
        /* the tail, padded with ASCII zeros: a cut-off sequence shows as
         * a lead byte followed by ASCII */
        uint8_t tail[16] = {0};
        memcpy(tail, p + i, len - i);
        __m128i a = _mm_loadu_si128((const __m128i *)tail);
        err = _mm_or_si128(err, check_block(a, prev));
        prev_inc = incomplete(a);
    }
    err = _mm_or_si128(err, prev_inc);
    return !_mm_testz_si128(err, err);
}

const em__ws_kernels em__ws_k_sse42 = {mask_sse2, utf8_sse, EM__WS_SIMD_SSE42};
#endif

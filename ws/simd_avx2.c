/* AVX2 kernels: masking 32 bytes at a time, and the UTF-8 lookup-table
 * validator on 32-byte blocks; and the AVX-512 level (masking 64 bytes at
 * a time, UTF-8 as AVX2). Compiled with -mavx2; used only when the CPU
 * has it (simd.c). */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <string.h>

#include "ws_internal.h"

/* Mask len < 64 bytes as disjoint pieces of 32, 16, and under 16 bytes. */
static inline void mask_pieces(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key) {
    size_t p = 0;
    if (len & 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)src);
        _mm256_storeu_si256((__m256i *)dst, _mm256_xor_si256(a, _mm256_set1_epi32((int)key)));
        p = 32;
    }
    if (len & 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + p));
        _mm_storeu_si128((__m128i *)(dst + p), _mm_xor_si128(a, _mm_set1_epi32((int)key)));
        p += 16;
    }
    em__ws_mask_small(dst + p, src + p, len & 15, key); /* p is a multiple of 4 */
}

/* Masking, 32 bytes at a time with the stores aligned (an unaligned
 * store across a cache line costs two): the bytes before the first
 * aligned address and after the last whole vector go as disjoint pieces,
 * never overlapping stores (see em__ws_mask_small). */
static size_t mask_avx2(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key,
                        size_t phase) {
    if (len < 64) {
        mask_pieces(dst, src, len, key);
        return (phase + len) & 3;
    }
    size_t i = (size_t)(-(uintptr_t)dst) & 31;
    mask_pieces(dst, src, i, key);
    key = em__ws_key_rot(key, i);
    const __m256i k = _mm256_set1_epi32((int)key);
    for (; len - i >= 128; i += 128) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(src + i + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(src + i + 64));
        __m256i d = _mm256_loadu_si256((const __m256i *)(src + i + 96));
        _mm256_store_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
        _mm256_store_si256((__m256i *)(dst + i + 32), _mm256_xor_si256(b, k));
        _mm256_store_si256((__m256i *)(dst + i + 64), _mm256_xor_si256(c, k));
        _mm256_store_si256((__m256i *)(dst + i + 96), _mm256_xor_si256(d, k));
    }
    for (; len - i >= 32; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
        _mm256_store_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
    }
    mask_pieces(dst + i, src + i, len - i, key); /* i - head: whole vectors */
    return (phase + len) & 3;
}

/* AVX-512 masking (its own target: simd.c calls it only when the CPU has
 * AVX-512F), as mask_avx2 with 64-byte vectors, a cache line each. Under
 * 128 bytes it is mask_avx2; the bytes before the first aligned address
 * and after the last whole vector go through mask_pieces (no masked
 * stores: a load cannot take its bytes from a masked store in flight). */
#define AVX512 __attribute__((target("avx512f")))

AVX512 static size_t mask_avx512(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key,
                                 size_t phase) {
    if (len < 128)
        return mask_avx2(dst, src, len, key, phase);
    size_t i = (size_t)(-(uintptr_t)dst) & 63;
    mask_pieces(dst, src, i, key);
    key = em__ws_key_rot(key, i);
    const __m512i k = _mm512_set1_epi32((int)key);
    for (; len - i >= 128; i += 128) {
        __m512i a = _mm512_loadu_si512((const void *)(src + i));
        __m512i b = _mm512_loadu_si512((const void *)(src + i + 64));
        _mm512_store_si512((void *)(dst + i), _mm512_xor_si512(a, k));
        _mm512_store_si512((void *)(dst + i + 64), _mm512_xor_si512(b, k));
    }
    for (; len - i >= 64; i += 64) {
        __m512i a = _mm512_loadu_si512((const void *)(src + i));
        _mm512_store_si512((void *)(dst + i), _mm512_xor_si512(a, k));
    }
    mask_pieces(dst + i, src + i, len - i, key);
    return (phase + len) & 3;
}

/* The bytes before each of in's, n back, from prev and in. */
#define PREV(in, prev, n)                                                                          \
    _mm256_alignr_epi8(in, _mm256_permute2x128_si256(prev, in, 0x21), 16 - (n))

/* The lookup algorithm on 32-byte blocks (see simd_sse42.c). */
static inline __m256i check_block(__m256i in, __m256i prev) {
    const __m256i nib = _mm256_set1_epi8(0x0f);
    const __m256i b1h = _mm256_setr_epi8(EM__U8_B1H, EM__U8_B1H);
    const __m256i b1l = _mm256_setr_epi8(EM__U8_B1L, EM__U8_B1L);
    const __m256i b2h = _mm256_setr_epi8(EM__U8_B2H, EM__U8_B2H);
    __m256i prev1 = PREV(in, prev, 1);
    __m256i sc = _mm256_and_si256(
        _mm256_and_si256(
            _mm256_shuffle_epi8(b1h, _mm256_and_si256(_mm256_srli_epi16(prev1, 4), nib)),
            _mm256_shuffle_epi8(b1l, _mm256_and_si256(prev1, nib))),
        _mm256_shuffle_epi8(b2h, _mm256_and_si256(_mm256_srli_epi16(in, 4), nib)));
    __m256i third = _mm256_subs_epu8(PREV(in, prev, 2), _mm256_set1_epi8(0xe0 - 0x80));
    __m256i fourth = _mm256_subs_epu8(PREV(in, prev, 3), _mm256_set1_epi8(0xf0 - 0x80));
    __m256i must =
        _mm256_and_si256(_mm256_or_si256(third, fourth), _mm256_set1_epi8(EM__U8C(0x80)));
    return _mm256_xor_si256(must, sc);
}

static inline __m256i incomplete(__m256i in) {
    const __m256i max = _mm256_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                         -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                         EM__U8C(0xf0 - 1), EM__U8C(0xe0 - 1), EM__U8C(0xc0 - 1));
    return _mm256_subs_epu8(in, max);
}

int em__ws_utf8_avx2(const uint8_t *p, size_t len) {
    __m256i prev = _mm256_setzero_si256(), err = _mm256_setzero_si256();
    __m256i prev_inc = _mm256_setzero_si256();
    size_t i = 0;
    for (; len - i >= 64; i += 64) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(p + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(p + i + 32));
        if (!_mm256_movemask_epi8(_mm256_or_si256(a, b))) {
            err = _mm256_or_si256(err, prev_inc);
            prev_inc = _mm256_setzero_si256();
        } else {
            err = _mm256_or_si256(err, check_block(a, prev));
            err = _mm256_or_si256(err, check_block(b, a));
            prev_inc = incomplete(b);
        }
        prev = b;
    }
    for (; len - i >= 32; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(p + i));
        err = _mm256_or_si256(err, check_block(a, prev));
        prev_inc = incomplete(a);
        prev = a;
    }
    if (i < len) {
        uint8_t tail[32] = {0};
        memcpy(tail, p + i, len - i);
        __m256i a = _mm256_loadu_si256((const __m256i *)tail);
        err = _mm256_or_si256(err, check_block(a, prev));
        prev_inc = incomplete(a);
    }
    err = _mm256_or_si256(err, prev_inc);
    return !_mm256_testz_si256(err, err);
}

const em__ws_kernels em__ws_k_avx2 = {mask_avx2, em__ws_utf8_avx2, EM__WS_SIMD_AVX2};
const em__ws_kernels em__ws_k_avx512 = {mask_avx512, em__ws_utf8_avx2, EM__WS_SIMD_AVX512};
#endif

/* AVX2 kernels: masking 32 bytes at a time, and the UTF-8 lookup-table
 * validator on 32-byte blocks. Compiled with -mavx2; used only when the
 * CPU has it (simd.c). */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <string.h>

#include "ws_internal.h"

static void mask_avx2(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key) {
    const __m256i k = _mm256_set1_epi32((int)key);
    size_t i = 0;
    for (; len - i >= 128; i += 128) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(src + i + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(src + i + 64));
        __m256i d = _mm256_loadu_si256((const __m256i *)(src + i + 96));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 32), _mm256_xor_si256(b, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 64), _mm256_xor_si256(c, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 96), _mm256_xor_si256(d, k));
    }
    for (; len - i >= 32; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
    }
    if (len - i >= 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, _mm256_castsi256_si128(k)));
        i += 16;
    }
    em__ws_mask_scalar(dst + i, src + i, len - i, key);
}

const em__ws_kernels em__ws_k_avx2 = {mask_avx2, NULL, EM__WS_SIMD_AVX2};
#endif

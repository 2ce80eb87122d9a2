/* AVX-512 masking: 64 bytes at a time and one masked load/store for the
 * tail (masked-off bytes are never touched, so no over-read). The build
 * gives this file no flags; the functions carry their own target, and
 * simd.c calls them only when the CPU has AVX-512F and BW. UTF-8 uses the
 * AVX2 kernel at this level. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "ws_internal.h"

#define AVX512 __attribute__((target("avx512f,avx512bw")))

AVX512 static void mask_avx512(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key) {
    const __m512i k = _mm512_set1_epi32((int)key);
    size_t i = 0;
    for (; len - i >= 256; i += 256) {
        __m512i a = _mm512_loadu_si512((const void *)(src + i));
        __m512i b = _mm512_loadu_si512((const void *)(src + i + 64));
        __m512i c = _mm512_loadu_si512((const void *)(src + i + 128));
        __m512i d = _mm512_loadu_si512((const void *)(src + i + 192));
        _mm512_storeu_si512((void *)(dst + i), _mm512_xor_si512(a, k));
        _mm512_storeu_si512((void *)(dst + i + 64), _mm512_xor_si512(b, k));
        _mm512_storeu_si512((void *)(dst + i + 128), _mm512_xor_si512(c, k));
        _mm512_storeu_si512((void *)(dst + i + 192), _mm512_xor_si512(d, k));
    }
    for (; len - i >= 64; i += 64) {
        __m512i a = _mm512_loadu_si512((const void *)(src + i));
        _mm512_storeu_si512((void *)(dst + i), _mm512_xor_si512(a, k));
    }
    if (i < len) {
        __mmask64 m = ((__mmask64)1 << (len - i)) - 1; /* len - i < 64 */
        __m512i a = _mm512_maskz_loadu_epi8(m, src + i);
        _mm512_mask_storeu_epi8(dst + i, m, _mm512_xor_si512(a, k));
    }
}

const em__ws_kernels em__ws_k_avx512 = {mask_avx512, em__ws_utf8_avx2, EM__WS_SIMD_AVX512};
#endif

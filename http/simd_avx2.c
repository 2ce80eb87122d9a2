/* AVX2 scanners: classify 32 bytes at a time with compares (values,
 * targets) or a nibble lookup (tchar), then take the first set bit; a
 * 16-byte step and a scalar tail finish without reading past end.
 * Compiled with -mavx2; used only when the CPU has it (simd.c). */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "http_internal.h"

/* tchar <=> lo[c & 15] & hi[c >> 4] != 0: each high nibble 2..7 owns one
 * bit, set in lo for the low nibbles that make a tchar with it. */
#define TCHAR_LO                                                                                   \
    0x3a, 0x3f, 0x3e, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3e, 0x3e, 0x3d, 0x15, 0x34, 0x15, 0x3d, 0x1c
#define TCHAR_HI 0, 0, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0, 0, 0, 0, 0, 0, 0, 0

static inline unsigned name_mask32(__m256i v) {
    const __m256i lo = _mm256_setr_epi8(TCHAR_LO, TCHAR_LO);
    const __m256i hi = _mm256_setr_epi8(TCHAR_HI, TCHAR_HI);
    const __m256i nib = _mm256_set1_epi8(0x0f);
    __m256i l = _mm256_shuffle_epi8(lo, _mm256_and_si256(v, nib));
    __m256i h = _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(v, 4), nib));
    __m256i t = _mm256_cmpeq_epi8(_mm256_and_si256(l, h), _mm256_setzero_si256());
    return (unsigned)_mm256_movemask_epi8(t);
}

static inline unsigned name_mask16(__m128i v) {
    const __m128i lo = _mm_setr_epi8(TCHAR_LO);
    const __m128i hi = _mm_setr_epi8(TCHAR_HI);
    const __m128i nib = _mm_set1_epi8(0x0f);
    __m128i l = _mm_shuffle_epi8(lo, _mm_and_si128(v, nib));
    __m128i h = _mm_shuffle_epi8(hi, _mm_and_si128(_mm_srli_epi16(v, 4), nib));
    __m128i t = _mm_cmpeq_epi8(_mm_and_si128(l, h), _mm_setzero_si128());
    return (unsigned)_mm_movemask_epi8(t);
}

/* The same scheme for reg-name bytes (unreserved, sub-delims): five bit
 * patterns, the high nibbles 4 and 6 sharing one. */
#define HOSTC_LO                                                                                   \
    0x1a, 0x1f, 0x1e, 0x1e, 0x1f, 0x1e, 0x1f, 0x1f, 0x1f, 0x1f, 0x1d, 0x07, 0x05, 0x07, 0x15, 0x0c
#define HOSTC_HI 0, 0, 0x01, 0x02, 0x04, 0x08, 0x04, 0x10, 0, 0, 0, 0, 0, 0, 0, 0

static inline unsigned host_mask32(__m256i v) {
    const __m256i lo = _mm256_setr_epi8(HOSTC_LO, HOSTC_LO);
    const __m256i hi = _mm256_setr_epi8(HOSTC_HI, HOSTC_HI);
    const __m256i nib = _mm256_set1_epi8(0x0f);
    __m256i l = _mm256_shuffle_epi8(lo, _mm256_and_si256(v, nib));
    __m256i h = _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(v, 4), nib));
    __m256i t = _mm256_cmpeq_epi8(_mm256_and_si256(l, h), _mm256_setzero_si256());
    return (unsigned)_mm256_movemask_epi8(t);
}

static inline unsigned host_mask16(__m128i v) {
    const __m128i lo = _mm_setr_epi8(HOSTC_LO);
    const __m128i hi = _mm_setr_epi8(HOSTC_HI);
    const __m128i nib = _mm_set1_epi8(0x0f);
    __m128i l = _mm_shuffle_epi8(lo, _mm_and_si128(v, nib));
    __m128i h = _mm_shuffle_epi8(hi, _mm_and_si128(_mm_srli_epi16(v, 4), nib));
    __m128i t = _mm_cmpeq_epi8(_mm_and_si128(l, h), _mm_setzero_si128());
    return (unsigned)_mm_movemask_epi8(t);
}

/* CTL but HTAB, or DEL. */
static inline unsigned value_mask32(__m256i v) {
    __m256i ctl = _mm256_cmpeq_epi8(_mm256_min_epu8(v, _mm256_set1_epi8(0x1f)), v);
    __m256i tab = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(0x09));
    __m256i del = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(0x7f));
    return (unsigned)_mm256_movemask_epi8(_mm256_or_si256(_mm256_andnot_si256(tab, ctl), del));
}

static inline unsigned value_mask16(__m128i v) {
    __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
    __m128i tab = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x09));
    __m128i del = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_andnot_si128(tab, ctl), del));
}

/* <= SP, '#', >= DEL. */
static inline unsigned target_mask32(__m256i v) {
    __m256i low = _mm256_cmpeq_epi8(_mm256_min_epu8(v, _mm256_set1_epi8(0x20)), v);
    __m256i high = _mm256_cmpeq_epi8(_mm256_max_epu8(v, _mm256_set1_epi8(0x7f)), v);
    __m256i hash = _mm256_cmpeq_epi8(v, _mm256_set1_epi8('#'));
    return (unsigned)_mm256_movemask_epi8(_mm256_or_si256(_mm256_or_si256(low, high), hash));
}

static inline unsigned target_mask16(__m128i v) {
    __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x20)), v);
    __m128i high = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x7f)), v);
    __m128i hash = _mm_cmpeq_epi8(v, _mm_set1_epi8('#'));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(low, high), hash));
}

static inline __m256i load32(const char *p) {
    return _mm256_loadu_si256((const __m256i *)(const void *)p);
}

static inline __m128i load16(const char *p) {
    return _mm_loadu_si128((const __m128i *)(const void *)p);
}

/* Scalar finish for the last few bytes: first byte in (want = 1) or out of
 * (want = 0) class cls. */
/* Scalar finish for buffers shorter than 16 bytes: first byte in (want = 1)
 * or out of (want = 0) class cls. */
static inline const char *tail(const char *p, const char *end, unsigned cls, int want) {
    while (p < end && (!em__http_is((unsigned char)*p, cls)) == want)
        p++;
    return p;
}

typedef unsigned (*mask32_fn)(__m256i v);
typedef unsigned (*mask16_fn)(__m128i v);

/* 32 bytes at a time, then 16, then the last bytes through a 16-byte load
 * that ends at end (reaching back over bytes already seen, never before
 * lo), so only buffers under 16 bytes take the byte loop. Always inlined,
 * so the mask functions are known at each use. */
__attribute__((always_inline)) static inline const char *scan(const char *p, const char *end,
                                                              const char *lo, mask32_fn m32,
                                                              mask16_fn m16, unsigned cls,
                                                              int want) {
    for (; end - p >= 32; p += 32) {
        unsigned m = m32(load32(p));
        if (m)
            return p + __builtin_ctz(m);
    }
    if (end - p >= 16) {
        unsigned m = m16(load16(p));
        if (m)
            return p + __builtin_ctz(m);
        p += 16;
    }
    if (p == end)
        return end;
    if (end - lo < 16)
        return tail(p, end, cls, want);
    unsigned m = m16(load16(end - 16)) >> (16 - (end - p));
    return m ? p + __builtin_ctz(m) : end;
}

static const char *avx2_name(const char *p, const char *end, const char *lo) {
    return scan(p, end, lo, name_mask32, name_mask16, EM__HTTP_TCHAR, 0);
}

static const char *avx2_value(const char *p, const char *end, const char *lo) {
    return scan(p, end, lo, value_mask32, value_mask16, EM__HTTP_VSTOP, 1);
}

static const char *avx2_target(const char *p, const char *end, const char *lo) {
    return scan(p, end, lo, target_mask32, target_mask16, EM__HTTP_TSTOP, 1);
}

/* A field line that fits in 32 bytes is classified by one load: the first
 * non-tchar, then the first value stop after it. */
static const char *avx2_host(const char *p, const char *end, const char *lo) {
    return scan(p, end, lo, host_mask32, host_mask16, EM__HTTP_HOSTC, 0);
}

static const char *avx2_field(const char *p, const char *end, const char *lo, const char **colon) {
    if (end - p >= 32) {
        __m256i v = load32(p);
        unsigned nm = name_mask32(v);
        if (nm) {
            unsigned c = (unsigned)__builtin_ctz(nm);
            *colon = p + c;
            unsigned vm = value_mask32(v) & (unsigned)(~0ull << (c + 1));
            if (vm)
                return p + __builtin_ctz(vm);
            return scan(p + 32, end, lo, value_mask32, value_mask16, EM__HTTP_VSTOP, 1);
        }
    } else if (end - lo >= 32 && p < end) {
        /* The last line of the buffer: the 32 bytes ending at end. */
        __m256i v = load32(end - 32);
        unsigned shift = (unsigned)(32 - (end - p));
        unsigned nm = name_mask32(v) >> shift;
        if (!nm) {
            *colon = end;
            return end;
        }
        unsigned c = (unsigned)__builtin_ctz(nm);
        *colon = p + c;
        unsigned vm = (value_mask32(v) >> shift) & (unsigned)(~0ull << (c + 1));
        return vm ? p + __builtin_ctz(vm) : end;
    }
    const char *c = avx2_name(p, end, lo);
    *colon = c;
    return c == end ? end : avx2_value(c + 1, end, lo);
}

const em__http_scanners em__http_scan_avx2 = {avx2_name, avx2_value, avx2_target,
                                              avx2_host, avx2_field, EM__HTTP_SIMD_AVX2};
#endif

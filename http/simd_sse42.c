/* SSE4.2 scanners: PCMPESTRI with byte ranges finds the first byte of a
 * class in 16 at a time (the technique of picohttpparser). Compiled with
 * -msse4.2; used only when the CPU has it (simd.c). */
#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>

#include "http_internal.h"

#define RANGES (_SIDD_UBYTE_OPS | _SIDD_CMP_RANGES)

/* Non-tchar bytes in eight ranges; '{'..0xff also covers '|' and '~', which
 * the parser recognises as tchar and steps over. */
static const char name_ranges[16] = {0x00, 0x20, '"', '"', '(', ')', ',', ',',
                                     '/',  '/',  ':', '@', '[', ']', '{', (char)0xff};
/* CTLs but HTAB, and DEL. */
static const char value_ranges[16] = {0x00, 0x08, 0x0a, 0x1f, 0x7f, 0x7f};
/* Up to SP, '#', DEL and above. */
static const char target_ranges[16] = {0x00, 0x20, '#', '#', 0x7f, (char)0xff};
/* Not reg-name, in eight ranges; ';' '=' and '~' are false stops. */
static const char host_ranges[16] = {0x00, 0x20, '"', '#', '%', '%', '/', '/',
                                     ':',  '@',  '[', '^', '`', '`', '{', (char)0xff};

static inline __m128i load16(const char *p) {
    return _mm_loadu_si128((const __m128i *)(const void *)p);
}

/* Scalar finish for buffers shorter than 16 bytes: first byte in (want = 1)
 * or out of (want = 0) class cls. */
static inline const char *tail(const char *p, const char *end, unsigned cls, int want) {
    while (p < end && (!em__http_is((unsigned char)*p, cls)) == want)
        p++;
    return p;
}

static inline const char *find(const char *p, const char *end, const char *lo, const char *ranges,
                               int nr, unsigned cls, int want) {
    __m128i r = load16(ranges);
    for (; end - p >= 16; p += 16) {
        int i = _mm_cmpestri(r, nr, load16(p), 16, RANGES | _SIDD_LEAST_SIGNIFICANT);
        if (i != 16)
            return p + i;
    }
    if (p == end)
        return end;
    if (end - lo < 16)
        return tail(p, end, cls, want);
    /* The last 16 bytes of the buffer, of which [p, end) are still unseen. */
    __m128i m = _mm_cmpestrm(r, nr, load16(end - 16), 16, RANGES | _SIDD_BIT_MASK);
    unsigned bits = (unsigned)_mm_cvtsi128_si32(m) >> (16 - (end - p));
    return bits ? p + __builtin_ctz(bits) : end;
}

static const char *sse42_name(const char *p, const char *end, const char *lo) {
    return find(p, end, lo, name_ranges, 16, EM__HTTP_TCHAR, 0);
}

static const char *sse42_value(const char *p, const char *end, const char *lo) {
    return find(p, end, lo, value_ranges, 6, EM__HTTP_VSTOP, 1);
}

static const char *sse42_target(const char *p, const char *end, const char *lo) {
    return find(p, end, lo, target_ranges, 6, EM__HTTP_TSTOP, 1);
}

static const char *sse42_host(const char *p, const char *end, const char *lo) {
    return find(p, end, lo, host_ranges, 16, EM__HTTP_HOSTC, 0);
}

static const char *sse42_field(const char *p, const char *end, const char *lo, const char **colon) {
    const char *c = sse42_name(p, end, lo);
    *colon = c;
    return c == end ? end : sse42_value(c + 1, end, lo);
}

const em__http_scanners em__http_scan_sse42 = {sse42_name, sse42_value, sse42_target,
                                               sse42_host, sse42_field, EM__HTTP_SIMD_SSE42};
#endif

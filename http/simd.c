/* Byte classes, the scalar scanners and the run-time choice of SIMD
 * kernels. The scanners only find the next byte that might matter; the
 * parsers decide what it means, so every level shares one definition of
 * validity and the tests can demand identical results from all of them. */
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

/* Generated from the definitions in http_internal.h: bit 0 tchar, 1 value
 * stop, 2 target stop, 3 reg-name but '%', 4 hex digit, 5 scheme, 6 qdtext,
 * 7 quoted-pair. */
/* clang-format off */
const uint8_t em__http_cls[256] = {
    0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, /* 00 */
    0x06, 0xc4, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, /* 08 */
    0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, /* 10 */
    0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, 0x06, /* 18 */
    0xc4, 0xc9, 0x80, 0xc5, 0xc9, 0xc1, 0xc9, 0xc9, /* 20 */
    0xc8, 0xc8, 0xc9, 0xe9, 0xc8, 0xe9, 0xe9, 0xc0, /* 28 */
    0xf9, 0xf9, 0xf9, 0xf9, 0xf9, 0xf9, 0xf9, 0xf9, /* 30 */
    0xf9, 0xf9, 0xc0, 0xc8, 0xc0, 0xc8, 0xc0, 0xc0, /* 38 */
    0xc0, 0xf9, 0xf9, 0xf9, 0xf9, 0xf9, 0xf9, 0xe9, /* 40 */
    0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, /* 48 */
    0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, /* 50 */
    0xe9, 0xe9, 0xe9, 0xc0, 0x80, 0xc0, 0xc1, 0xc9, /* 58 */
    0xc1, 0xf9, 0xf9, 0xf9, 0xf9, 0xf9, 0xf9, 0xe9, /* 60 */
    0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, /* 68 */
    0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, /* 70 */
    0xe9, 0xe9, 0xe9, 0xc0, 0xc1, 0xc0, 0xc9, 0x06, /* 78 */
    0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, /* 80 */
    0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, /* 88 */
    0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, /* 90 */
    0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, /* 98 */
    0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, /* a0 */
    0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, /* a8 */
    0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, /* b0 */
    0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, /* b8 */
    0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, /* c0 */
    0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, /* c8 */
    0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, /* d0 */
    0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, /* d8 */
    0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, /* e0 */
    0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, /* e8 */
    0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, /* f0 */
    0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, 0xc4, /* f8 */
};
/* clang-format on */

static inline const char *scan_cls(const char *p, const char *end, unsigned stop) {
    while (end - p >= 4) {
        if (em__http_is((unsigned char)p[0], stop))
            return p;
        if (em__http_is((unsigned char)p[1], stop))
            return p + 1;
        if (em__http_is((unsigned char)p[2], stop))
            return p + 2;
        if (em__http_is((unsigned char)p[3], stop))
            return p + 3;
        p += 4;
    }
    while (p < end && !em__http_is((unsigned char)*p, stop))
        p++;
    return p;
}

static const char *scalar_name(const char *p, const char *end, const char *lo) {
    while (end - p >= 4) {
        if (!em__http_is((unsigned char)p[0], EM__HTTP_TCHAR))
            return p;
        if (!em__http_is((unsigned char)p[1], EM__HTTP_TCHAR))
            return p + 1;
        if (!em__http_is((unsigned char)p[2], EM__HTTP_TCHAR))
            return p + 2;
        if (!em__http_is((unsigned char)p[3], EM__HTTP_TCHAR))
            return p + 3;
        p += 4;
    }
    while (p < end && em__http_is((unsigned char)*p, EM__HTTP_TCHAR))
        p++;
    return p;
}

static const char *scalar_value(const char *p, const char *end, const char *lo) {
    return scan_cls(p, end, EM__HTTP_VSTOP);
}

static const char *scalar_target(const char *p, const char *end, const char *lo) {
    return scan_cls(p, end, EM__HTTP_TSTOP);
}

static const char *scalar_host(const char *p, const char *end, const char *lo) {
    while (end - p >= 4) {
        if (!em__http_is((unsigned char)p[0], EM__HTTP_HOSTC))
            return p;
        if (!em__http_is((unsigned char)p[1], EM__HTTP_HOSTC))
            return p + 1;
        if (!em__http_is((unsigned char)p[2], EM__HTTP_HOSTC))
            return p + 2;
        if (!em__http_is((unsigned char)p[3], EM__HTTP_HOSTC))
            return p + 3;
        p += 4;
    }
    while (p < end && em__http_is((unsigned char)*p, EM__HTTP_HOSTC))
        p++;
    return p;
}

static const char *scalar_field(const char *p, const char *end, const char *lo,
                                const char **colon) {
    const char *c = scalar_name(p, end, lo);
    *colon = c;
    return c == end ? end : scalar_value(c + 1, end, lo);
}

const em__http_scanners em__http_scan_scalar = {scalar_name, scalar_value, scalar_target,
                                                scalar_host, scalar_field, EM__HTTP_SIMD_SCALAR};

/* Statically the scalar kernels, so a parser running before the constructor
 * below (another constructor) is still correct. */
const em__http_scanners *em__http_scan = &em__http_scan_scalar;
static int default_level = EM__HTTP_SIMD_SCALAR;
/* The highest level EMBER_SIMD allows. It binds forced levels too, so tests
 * that try every level stay scalar under valgrind (which cannot decode the
 * SSE4.2 string instructions). */
static int cap_level = EM__HTTP_SIMD_AVX2;

int em__http_simd_supported(int level) {
    if (level > cap_level)
        return 0;
    switch (level) {
    case EM__HTTP_SIMD_SCALAR:
        return 1;
#if defined(__x86_64__) || defined(__i386__)
    case EM__HTTP_SIMD_SSE42:
        return __builtin_cpu_supports("sse4.2");
    case EM__HTTP_SIMD_AVX2:
        return __builtin_cpu_supports("avx2");
#endif
    default:
        return 0;
    }
}

static const em__http_scanners *kernels(int level) {
    switch (level) {
#if defined(__x86_64__) || defined(__i386__)
    case EM__HTTP_SIMD_SSE42:
        return &em__http_scan_sse42;
    case EM__HTTP_SIMD_AVX2:
        return &em__http_scan_avx2;
#endif
    default:
        return &em__http_scan_scalar;
    }
}

int em__http_simd_force(int level) {
    if (!em__http_simd_supported(level))
        return EM_ENOTSUP;
    em__http_scan = kernels(level);
    return 0;
}

int em__http_simd_level(void) {
    return em__http_scan->level;
}

int em__http_simd_default(void) {
    return default_level;
}

__attribute__((constructor)) static void simd_init(void) {
    int cap = EM__HTTP_SIMD_AVX2;
    const char *env = getenv("EMBER_SIMD");
    if (env) {
        if (!strcmp(env, "off") || !strcmp(env, "0") || !strcmp(env, "scalar"))
            cap = EM__HTTP_SIMD_SCALAR;
        else if (!strcmp(env, "sse42"))
            cap = EM__HTTP_SIMD_SSE42;
    }
    cap_level = cap;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
#endif
    int level = EM__HTTP_SIMD_SCALAR;
    for (int l = cap; l > EM__HTTP_SIMD_SCALAR; l--) {
        if (em__http_simd_supported(l)) {
            level = l;
            break;
        }
    }
    default_level = level;
    em__http_scan = kernels(level);
}

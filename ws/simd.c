/* The run-time choice of the masking and UTF-8 kernels, from the CPU's
 * features, capped by EMBER_SIMD (off/0/scalar, sse42, avx2), as in
 * http/simd.c. */
#include <stdlib.h>
#include <string.h>

#include "ws_internal.h"

const em__ws_kernels em__ws_k_scalar = {em__ws_mask_scalar, NULL, EM__WS_SIMD_SCALAR};

/* Statically scalar, so a caller running before the constructor below is
 * still correct. */
const em__ws_kernels *em__ws_simd = &em__ws_k_scalar;
em__ws_mask_fn em__ws_mask_kernel = em__ws_mask_scalar;
static int default_level = EM__WS_SIMD_SCALAR;
static int cap_level = EM__WS_SIMD_AVX512;

int em__ws_simd_supported(int level) {
    if (level > cap_level)
        return 0;
    switch (level) {
    case EM__WS_SIMD_SCALAR:
        return 1;
#if defined(__x86_64__) || defined(__i386__)
    case EM__WS_SIMD_SSE42:
        return __builtin_cpu_supports("sse4.2");
    case EM__WS_SIMD_AVX2:
        return __builtin_cpu_supports("avx2");
    case EM__WS_SIMD_AVX512:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f");
#endif
    default:
        return 0;
    }
}

const em__ws_kernels *em__ws_kernels_of(int level) {
    switch (level) {
#if defined(__x86_64__) || defined(__i386__)
    case EM__WS_SIMD_SSE42:
        return &em__ws_k_sse42;
    case EM__WS_SIMD_AVX2:
        return &em__ws_k_avx2;
    case EM__WS_SIMD_AVX512:
        return &em__ws_k_avx512;
#endif
    default:
        return &em__ws_k_scalar;
    }
}

static void use(const em__ws_kernels *k) {
    em__ws_simd = k;
    em__ws_mask_kernel = k->mask;
}

int em__ws_simd_force(int level) {
    if (!em__ws_simd_supported(level))
        return EM_ENOTSUP;
    use(em__ws_kernels_of(level));
    return 0;
}

int em__ws_simd_level(void) {
    return em__ws_simd->level;
}

int em__ws_simd_default(void) {
    return default_level;
}

__attribute__((constructor)) static void ws_simd_init(void) {
    int cap = EM__WS_SIMD_AVX512;
    const char *env = getenv("EMBER_SIMD");
    if (env) {
        if (!strcmp(env, "off") || !strcmp(env, "0") || !strcmp(env, "scalar"))
            cap = EM__WS_SIMD_SCALAR;
        else if (!strcmp(env, "sse42"))
            cap = EM__WS_SIMD_SSE42;
        else if (!strcmp(env, "avx2"))
            cap = EM__WS_SIMD_AVX2;
    }
    cap_level = cap;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
#endif
    int level = EM__WS_SIMD_SCALAR;
    for (int l = cap; l > EM__WS_SIMD_SCALAR; l--) {
        if (em__ws_simd_supported(l)) {
            level = l;
            break;
        }
    }
    default_level = level;
    use(em__ws_kernels_of(level));
}

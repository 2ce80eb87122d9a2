/* Masking (RFC 6455 §5.3): the scalar kernel and the public entry points,
 * which rotate the key to the phase and call the kernel simd.c chose. */
#include <string.h>

#include "ws_internal.h"

size_t em__ws_mask_scalar(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key,
                          size_t phase) {
    uint64_t k8 = (uint64_t)key | (uint64_t)key << 32;
    size_t i = 0;
    for (; len - i >= 8; i += 8) {
        uint64_t v;
        memcpy(&v, src + i, 8);
        v ^= k8;
        memcpy(dst + i, &v, 8);
    }
    em__ws_mask_small(dst + i, src + i, len - i, key); /* i is a multiple of 8 */
    return (phase + len) & 3;
}

size_t em_ws_mask(void *buf, size_t len, const uint8_t key[4], size_t phase) {
    return em__ws_mask_kernel(buf, buf, len, em__ws_key_at(key, phase), phase);
}

size_t em_ws_mask_copy(void *dst, const void *src, size_t len, const uint8_t key[4], size_t phase) {
    return em__ws_mask_kernel(dst, src, len, em__ws_key_at(key, phase), phase);
}

/* The frame serializer: a header into a small buffer of the caller's,
 * beside an untouched payload (the server side), or header and masked
 * payload into one destination (the client side). */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "ws_internal.h"

size_t em_ws_frame_header_size(uint64_t len, bool masked) {
    return (len < 126 ? 2u : len <= 0xffff ? 4u : 10u) + (masked ? 4u : 0u);
}

static bool valid(const em_ws_frame *f) {
    unsigned op = f->opcode;
    if (op > 0xf || (op > EM_WS_OP_BINARY && op < EM_WS_OP_CLOSE) || op > EM_WS_OP_PONG)
        return false;
    if (f->rsv & ~0x70u)
        return false;
    if (op & 0x8 && (!f->fin || f->len > EM_WS_MAX_CONTROL))
        return false;
    return f->len >> 63 == 0;
}

ssize_t em_ws_frame_header_write(char *out, const em_ws_frame *f) {
    if (!valid(f))
        return EM_EINVAL;
    uint8_t *o = (uint8_t *)out;
    uint64_t len = f->len;
    size_t n = 0;
    o[n++] = (uint8_t)((f->fin ? 0x80 : 0) | f->rsv | f->opcode);
    uint8_t m = f->masked ? 0x80 : 0;
    if (len < 126) {
        o[n++] = (uint8_t)(m | len);
    } else if (len <= 0xffff) {
        o[n++] = m | 126;
        o[n++] = (uint8_t)(len >> 8);
        o[n++] = (uint8_t)len;
    } else {
        o[n++] = m | 127;
        for (int i = 56; i >= 0; i -= 8)
            o[n++] = (uint8_t)(len >> i);
    }
    if (f->masked) {
        memcpy(o + n, f->mask, 4);
        n += 4;
    }
    return (ssize_t)n;
}

int em_ws_random_os(void *ctx, void *out, size_t n) {
    (void)ctx;
    uint8_t *p = out;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

ssize_t em_ws_frame_write_masked(char *dst, size_t cap, em_ws_frame *f, const char *payload,
                                 em_ws_random_cb rnd, void *ctx) {
    em_ws_frame h = *f;
    h.masked = true;
    if (!valid(&h))
        return EM_EINVAL;
    size_t hl = em_ws_frame_header_size(h.len, true);
    if (cap < hl || cap - hl < h.len)
        return EM_ENOBUFS;
    int rc = rnd(ctx, h.mask, 4);
    if (rc < 0)
        return rc;
    ssize_t w = em_ws_frame_header_write(dst, &h);
    if (w < 0)
        return w;
    em_ws_mask_copy(dst + hl, payload, (size_t)h.len, h.mask, 0);
    *f = h;
    return (ssize_t)(hl + h.len);
}

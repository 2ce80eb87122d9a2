/* Helpers shared by the ws suites: guarded buffers, SIMD levels, a raw
 * frame builder that can write any header (non-minimal lengths too). */
#ifndef WS_TEST_UTIL_H
#define WS_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "ws_internal.h"

/* n bytes ending exactly at a PROT_NONE page. */
typedef struct guarded {
    char *map;
    size_t maplen;
    char *data;
} guarded;

static inline char *guard_alloc(guarded *g, size_t n) {
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (n + ps - 1) / ps + 1;
    g->maplen = pages * ps;
    g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g->map != MAP_FAILED);
    assert_int_equal(mprotect(g->map + (pages - 1) * ps, ps, PROT_NONE), 0);
    g->data = g->map + (pages - 1) * ps - n;
    return g->data;
}

static inline void guard_free(guarded *g) {
    munmap(g->map, g->maplen);
}

/* Every level this CPU supports; returns how many. */
static inline int test_levels(int out[4]) {
    int n = 0;
    for (int l = EM__WS_SIMD_SCALAR; l <= EM__WS_SIMD_AVX512; l++)
        if (em__ws_simd_supported(l))
            out[n++] = l;
    return n;
}

static inline uint64_t test_rnd(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Length encodings for raw_frame: the minimal one, or a forced one. */
enum { LEN_MIN, LEN_7, LEN_16, LEN_64 };

/* Writes a frame with any header into out; returns its size. The payload
 * is masked with key when masked. */
static inline size_t raw_frame(uint8_t *out, unsigned b0, bool masked, const uint8_t key[4],
                               const void *payload, uint64_t len, int form) {
    size_t n = 0;
    out[n++] = (uint8_t)b0;
    if (form == LEN_MIN)
        form = len < 126 ? LEN_7 : len <= 0xffff ? LEN_16 : LEN_64;
    uint8_t m = masked ? 0x80 : 0;
    if (form == LEN_7) {
        out[n++] = (uint8_t)(m | len);
    } else if (form == LEN_16) {
        out[n++] = m | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = m | 127;
        for (int i = 7; i >= 0; i--)
            out[n++] = (uint8_t)(len >> (8 * i));
    }
    if (masked) {
        memcpy(out + n, key, 4);
        n += 4;
    }
    if (payload) {
        for (uint64_t i = 0; i < len; i++)
            out[n + i] = ((const uint8_t *)payload)[i] ^ (masked ? key[i & 3] : 0);
        n += (size_t)len;
    }
    return n;
}

#endif

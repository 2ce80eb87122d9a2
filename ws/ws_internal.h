/* ws module internals: the SIMD kernel table (simd.c chooses it at
 * start-up) and the scalar UTF-8 automaton the kernels defer to at piece
 * boundaries. */
#ifndef EMBER_WS_INTERNAL_H
#define EMBER_WS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ember/ws.h"

/* Kernel levels, lowest first. SSE42 needs SSE4.2 (masking itself uses
 * only SSE2), AVX512 needs AVX-512F (and AVX2) and uses the AVX2 UTF-8 kernel. */
enum { EM__WS_SIMD_SCALAR, EM__WS_SIMD_SSE42, EM__WS_SIMD_AVX2, EM__WS_SIMD_AVX512 };

/* dst[i] = src[i] ^ key byte (i & 3), with key's bytes in memory order
 * (already rotated to the phase, see em__ws_key_at). dst == src or no
 * overlap. Returns (phase + len) & 3, so that em_ws_mask ends in a tail
 * call to the kernel. */
typedef size_t (*em__ws_mask_fn)(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key,
                                 size_t phase);

/* Whether p[0, len) is valid UTF-8 made of complete sequences: 0 valid,
 * nonzero not. Reads only p[0, len). */
typedef int (*em__ws_utf8_fn)(const uint8_t *p, size_t len);

typedef struct em__ws_kernels {
    em__ws_mask_fn mask;
    em__ws_utf8_fn utf8; /* NULL at the scalar level: the automaton does it all */
    int level;
} em__ws_kernels;

extern const em__ws_kernels em__ws_k_scalar;
#if defined(__x86_64__) || defined(__i386__)
extern const em__ws_kernels em__ws_k_sse42;
extern const em__ws_kernels em__ws_k_avx2;
extern const em__ws_kernels em__ws_k_avx512;
#endif

/* The kernels in use; written once at start-up (or by em__ws_simd_force).
 * Hidden, as the build makes every symbol without EM_API: said here too,
 * the library reads it directly instead of through the GOT. */
extern const em__ws_kernels *em__ws_simd __attribute__((visibility("hidden")));
/* em__ws_simd->mask, written with it: em_ws_mask then needs one load, not
 * two in a row, before its tail call (a tenth of masking 1 KiB). */
extern em__ws_mask_fn em__ws_mask_kernel __attribute__((visibility("hidden")));

/* 1 if this CPU (and EMBER_SIMD's cap) allows level. */
int em__ws_simd_supported(int level);
/* Use level's kernels; EM_ENOTSUP if not supported. Tests and fuzzers only. */
int em__ws_simd_force(int level);
int em__ws_simd_level(void);
/* The level chosen at start-up. */
int em__ws_simd_default(void);
/* The kernels of one level (for tests comparing levels directly). */
const em__ws_kernels *em__ws_kernels_of(int level);

/* The scalar masking kernel. */
size_t em__ws_mask_scalar(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key,
                          size_t phase);

/* The UTF-8 automaton: states, and one step over p[0, len) from state s.
 * Returns the state after it (EM__WS_UTF8_REJECT is absorbing). */
enum { EM__WS_UTF8_ACCEPT = 0, EM__WS_UTF8_REJECT = 1 };
uint32_t em__ws_utf8_dfa(uint32_t s, const uint8_t *p, size_t len);

/* The scalar twin of the SIMD kernels' contract (em__ws_utf8_fn). */
int em__ws_utf8_scalar(const uint8_t *p, size_t len);

/* The UTF-8 kernels' tables (Keiser & Lemire, "Validating UTF-8 in less
 * than one instruction per byte", 2021): each error class is a bit; a
 * pair of bytes is invalid when the lookups of the first byte's high
 * nibble, its low nibble and the second byte's high nibble share a bit.
 * Bit 7 (two continuation bytes) is instead compared with where the
 * third and fourth bytes of a sequence must be. */
#define EM__U8_TOO_SHORT      0x01 /* lead byte not followed by a continuation */
#define EM__U8_TOO_LONG       0x02 /* continuation after ASCII */
#define EM__U8_OVERLONG_3     0x04 /* E0 80..9F */
#define EM__U8_TOO_LARGE      0x08 /* F4 90..BF, F5.. */
#define EM__U8_SURROGATE      0x10 /* ED A0..BF */
#define EM__U8_OVERLONG_2     0x20 /* C0 C1 */
#define EM__U8_TOO_LARGE_1000 0x40 /* F5.. 80..8F */
#define EM__U8_OVERLONG_4     0x40 /* F0 80..8F */
#define EM__U8_TWO_CONTS      0x80
#define EM__U8_CARRY          (EM__U8_TOO_SHORT | EM__U8_TOO_LONG | EM__U8_TWO_CONTS)
#define EM__U8C(x)            ((char)(x))
/* first byte, high nibble */
#define EM__U8_B1H                                                                                 \
    EM__U8C(EM__U8_TOO_LONG), EM__U8C(EM__U8_TOO_LONG), EM__U8C(EM__U8_TOO_LONG),                  \
        EM__U8C(EM__U8_TOO_LONG), EM__U8C(EM__U8_TOO_LONG), EM__U8C(EM__U8_TOO_LONG),              \
        EM__U8C(EM__U8_TOO_LONG), EM__U8C(EM__U8_TOO_LONG), EM__U8C(EM__U8_TWO_CONTS),             \
        EM__U8C(EM__U8_TWO_CONTS), EM__U8C(EM__U8_TWO_CONTS), EM__U8C(EM__U8_TWO_CONTS),           \
        EM__U8C(EM__U8_TOO_SHORT | EM__U8_OVERLONG_2), EM__U8C(EM__U8_TOO_SHORT),                  \
        EM__U8C(EM__U8_TOO_SHORT | EM__U8_OVERLONG_3 | EM__U8_SURROGATE),                          \
        EM__U8C(EM__U8_TOO_SHORT | EM__U8_TOO_LARGE | EM__U8_TOO_LARGE_1000 | EM__U8_OVERLONG_4)
/* first byte, low nibble */
#define EM__U8_HI_ALL (EM__U8_CARRY | EM__U8_TOO_LARGE | EM__U8_TOO_LARGE_1000)
#define EM__U8_B1L                                                                                 \
    EM__U8C(EM__U8_CARRY | EM__U8_OVERLONG_3 | EM__U8_OVERLONG_2 | EM__U8_OVERLONG_4),             \
        EM__U8C(EM__U8_CARRY | EM__U8_OVERLONG_2), EM__U8C(EM__U8_CARRY), EM__U8C(EM__U8_CARRY),   \
        EM__U8C(EM__U8_CARRY | EM__U8_TOO_LARGE), EM__U8C(EM__U8_HI_ALL), EM__U8C(EM__U8_HI_ALL),  \
        EM__U8C(EM__U8_HI_ALL), EM__U8C(EM__U8_HI_ALL), EM__U8C(EM__U8_HI_ALL),                    \
        EM__U8C(EM__U8_HI_ALL), EM__U8C(EM__U8_HI_ALL), EM__U8C(EM__U8_HI_ALL),                    \
        EM__U8C(EM__U8_HI_ALL | EM__U8_SURROGATE), EM__U8C(EM__U8_HI_ALL), EM__U8C(EM__U8_HI_ALL)
/* second byte, high nibble */
#define EM__U8_CONT_ALL (EM__U8_TOO_LONG | EM__U8_OVERLONG_2 | EM__U8_TWO_CONTS)
#define EM__U8_B2H                                                                                 \
    EM__U8C(EM__U8_TOO_SHORT), EM__U8C(EM__U8_TOO_SHORT), EM__U8C(EM__U8_TOO_SHORT),               \
        EM__U8C(EM__U8_TOO_SHORT), EM__U8C(EM__U8_TOO_SHORT), EM__U8C(EM__U8_TOO_SHORT),           \
        EM__U8C(EM__U8_TOO_SHORT), EM__U8C(EM__U8_TOO_SHORT),                                      \
        EM__U8C(EM__U8_CONT_ALL | EM__U8_OVERLONG_3 | EM__U8_TOO_LARGE_1000 | EM__U8_OVERLONG_4),  \
        EM__U8C(EM__U8_CONT_ALL | EM__U8_OVERLONG_3 | EM__U8_TOO_LARGE),                           \
        EM__U8C(EM__U8_CONT_ALL | EM__U8_SURROGATE | EM__U8_TOO_LARGE),                            \
        EM__U8C(EM__U8_CONT_ALL | EM__U8_SURROGATE | EM__U8_TOO_LARGE), EM__U8C(EM__U8_TOO_SHORT), \
        EM__U8C(EM__U8_TOO_SHORT), EM__U8C(EM__U8_TOO_SHORT), EM__U8C(EM__U8_TOO_SHORT)

/* The AVX2 UTF-8 kernel, shared by the AVX-512 level. */
#if defined(__x86_64__) || defined(__i386__)
int em__ws_utf8_avx2(const uint8_t *p, size_t len);
#endif

/* A kernel's key: the 4 key bytes as they lie in memory, loaded as one
 * word, rotated so that its first byte masks the byte n further on. */
static inline uint32_t em__ws_key_rot(uint32_t key, size_t n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    unsigned s = (unsigned)(n & 3) * 8; /* byte 0 is the low one */
    return key >> s | key << ((32 - s) & 31);
#else
    uint8_t b[4], k[4];
    __builtin_memcpy(b, &key, 4);
    for (int i = 0; i < 4; i++)
        k[i] = b[(n + (size_t)i) & 3];
    __builtin_memcpy(&key, k, 4);
    return key;
#endif
}

/* The key rotated to phase, as the kernels take it. */
static inline uint32_t em__ws_key_at(const uint8_t key[4], size_t phase) {
    uint32_t v;
    __builtin_memcpy(&v, key, 4);
    return em__ws_key_rot(v, phase);
}

/* Mask len < 16 bytes as disjoint pieces of 8, 4, 2 and 1 bytes: no byte
 * loop, and no two stores overlap (a load that spans two recent stores
 * waits for them to reach the cache, which would stall a buffer masked
 * twice in a row). */
static inline void em__ws_mask_small(uint8_t *dst, const uint8_t *src, size_t len,
                                     uint32_t key) {
    uint8_t k[4];
    __builtin_memcpy(k, &key, 4);
    size_t p = 0;
    if (len & 8) {
        uint64_t v, k8 = (uint64_t)key | (uint64_t)key << 32;
        __builtin_memcpy(&v, src, 8);
        v ^= k8;
        __builtin_memcpy(dst, &v, 8);
        p = 8;
    }
    if (len & 4) {
        uint32_t v;
        __builtin_memcpy(&v, src + p, 4);
        v ^= key;
        __builtin_memcpy(dst + p, &v, 4);
        p += 4;
    }
    if (len & 2) {
        uint16_t v, k2;
        __builtin_memcpy(&v, src + p, 2);
        __builtin_memcpy(&k2, k, 2);
        v ^= k2;
        __builtin_memcpy(dst + p, &v, 2);
        p += 2;
    }
    /* p & 3 is 0 or 2: constant indices keep k in a register (an index
     * from p put it on the stack, which made every kernel set up a
     * realigned frame) */
    if (len & 1)
        dst[p] = src[p] ^ (p & 2 ? k[2] : k[0]);
}

#endif

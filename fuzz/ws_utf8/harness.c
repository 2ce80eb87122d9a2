/* Fuzz the incremental UTF-8 validator (ws/utf8.c and the SIMD kernels).
 * The input is the text; its first bytes also seed the piece sizes. It is
 * validated whole with the scalar automaton, then at every SIMD level the
 * CPU has, whole, byte by byte and in random pieces (each an exact-size
 * copy, so ASan sees any over-read). Every run must agree after every
 * piece with a naive decoder written here (code point arithmetic: could
 * the bytes so far still begin valid UTF-8?) and at the end (is it valid
 * and complete?); the kernels must agree with the scalar twin on the
 * whole input and on every prefix cut at a piece boundary. Any violation
 * aborts. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#include "../../ws/ws_internal.h"
#include "ember/ws.h"

static void check(bool ok) {
    if (!ok)
        abort();
}

static uint64_t rnd(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static bool feasible(uint32_t lo, uint32_t hi, uint32_t min) {
    if (lo < min)
        lo = min;
    if (hi > 0x10ffff)
        hi = 0x10ffff;
    return lo <= hi && !(lo >= 0xd800 && hi <= 0xdfff);
}

/* The first byte after which s[0, n) cannot begin valid UTF-8, or n;
 * *inc: it ends inside a sequence. */
static size_t ref_first_bad(const uint8_t *s, size_t n, bool *inc) {
    *inc = false;
    size_t i = 0;
    while (i < n) {
        uint8_t b = s[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        unsigned need;
        uint32_t cp, min;
        if (b >= 0xc0 && b < 0xe0)
            need = 1, cp = b & 0x1f, min = 0x80;
        else if (b >= 0xe0 && b < 0xf0)
            need = 2, cp = b & 0x0f, min = 0x800;
        else if (b >= 0xf0 && b < 0xf8)
            need = 3, cp = b & 0x07, min = 0x10000;
        else
            return i;
        if (!feasible(cp << (6 * need), (cp << (6 * need)) | ((1u << (6 * need)) - 1), min))
            return i;
        for (unsigned j = 1; j <= need; j++) {
            if (i + j >= n) {
                *inc = true;
                return n;
            }
            uint8_t c = s[i + j];
            if ((c & 0xc0) != 0x80)
                return i + j;
            cp = cp << 6 | (c & 0x3f);
            unsigned rem = 6 * (need - j);
            if (!feasible(cp << rem, (cp << rem) | ((1u << rem) - 1), min))
                return i + j;
        }
        i += need + 1;
    }
    return n;
}

enum { M_WHOLE, M_BYTES, M_PIECES, M_COUNT };

static void run(const uint8_t *in, size_t n, int mode, uint64_t seed, size_t bad, bool inc,
                const em__ws_kernels *k) {
    em_ws_utf8 v = {0};
    size_t off = 0;
    bool failed = false;
    while (off < n) {
        size_t step = n - off;
        if (mode == M_BYTES) {
            step = 1;
        } else if (mode == M_PIECES) {
            uint64_t x = rnd(&seed);
            step = 1 + (size_t)(x % 3 == 0 ? (x >> 8) % 4 : (x >> 8) % 200);
        }
        if (step > n - off)
            step = n - off;
        uint8_t *b = malloc(step);
        check(b != NULL);
        memcpy(b, in + off, step);
        int rc = em_ws_utf8_feed(&v, b, step);
        check(rc == 0 || rc == EM_EPARSE);
        check((rc != 0) == (bad < off + step)); /* fail-fast, and no sooner */
        failed = rc != 0;
        /* the kernel on this piece alone, against the scalar twin */
        if (k->utf8)
            check((k->utf8(b, step) != 0) == (em__ws_utf8_scalar(b, step) != 0));
        free(b);
        off += step;
    }
    int end = em_ws_utf8_end(&v);
    check((end == 0) == (!failed && bad == n && !inc));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t seed = 0x5eed;
    for (size_t i = 0; i < size && i < 16; i++)
        seed = seed * 131 + data[i];
    bool inc;
    size_t bad = ref_first_bad(data, size, &inc);
    bool valid = bad == size && !inc;
    check((em__ws_utf8_scalar(data, size) == 0) == valid);
    for (int l = EM__WS_SIMD_SCALAR; l <= EM__WS_SIMD_AVX512; l++) {
        if (!em__ws_simd_supported(l))
            continue;
        check(em__ws_simd_force(l) == 0);
        const em__ws_kernels *k = em__ws_kernels_of(l);
        if (k->utf8)
            check((k->utf8(data, size) == 0) == valid);
        check(em_ws_utf8_valid(data, size) == valid);
        for (int mode = 0; mode < M_COUNT; mode++)
            run(data, size, mode, seed + (uint64_t)mode, bad, inc, k);
    }
    check(em__ws_simd_force(em__ws_simd_default()) == 0);
    return 0;
}

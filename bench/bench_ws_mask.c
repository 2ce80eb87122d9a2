/* WebSocket payload throughput: masking (em_ws_mask, in place) and UTF-8
 * validation (em_ws_utf8_valid, on ASCII and on mixed text) at every SIMD
 * level this CPU has, for 16 B, 1 KiB, 64 KiB and 1 MiB buffers. Each
 * figure is the median of --trials runs of about 0.1 s each, in GB/s
 * (10^9 bytes per second). Two references: memcpy of the same bytes (to
 * another buffer; what masking cannot beat), and a table-driven scalar
 * UTF-8 DFA in the style of Bjoern Hoehrmann's decoder (a byte-class
 * table, then one transition-table load per byte, no branch but the
 * loop's), the usual scalar validator of WebSocket libraries.
 *
 * Then, for the level this CPU picks by default, the ratio to the
 * reference with each short trial of ember beside one of the reference
 * (medians of the per-pair ratios): on a shared machine whose speed drifts
 * from second to second, the two sides of a pair see the same machine.
 *
 *   taskset -c 1 ./bench_ws_mask [--trials N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ws/ws_internal.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

enum { KIND_MASK, KIND_UTF8 };
enum { LEVEL_REF = -1 }; /* the reference: memcpy for masking, the DFA for UTF-8 */

/* ---- the Hoehrmann-style DFA: tables built here from RFC 3629 §4 ----------- */

/* Byte classes: ASCII; continuation 80-8F, 90-9F, A0-BF; leads C2-DF, E0,
 * E1-EC|EE-EF, ED, F0, F1-F3, F4; never valid (C0 C1 F5-FF). */
enum { C_ASCII, C_80, C_90, C_A0, C_2, C_E0, C_3, C_ED, C_F0, C_4, C_F4, C_BAD, N_CLASSES };
/* States, stored premultiplied by N_CLASSES (one add per byte). */
enum { S_OK, S_BAD, S_1, S_2, S_E0, S_ED, S_F0, S_3, S_F4, N_STATES };

static uint8_t dfa_class[256];
static uint8_t dfa_next[N_STATES * N_CLASSES];

static void dfa_init(void) {
    for (int b = 0; b < 256; b++)
        dfa_class[b] = b < 0x80    ? C_ASCII
                       : b < 0x90  ? C_80
                       : b < 0xA0  ? C_90
                       : b < 0xC0  ? C_A0
                       : b < 0xC2  ? C_BAD
                       : b < 0xE0  ? C_2
                       : b == 0xE0 ? C_E0
                       : b == 0xED ? C_ED
                       : b < 0xF0  ? C_3
                       : b == 0xF0 ? C_F0
                       : b < 0xF4  ? C_4
                       : b == 0xF4 ? C_F4
                                   : C_BAD;
    for (int i = 0; i < N_STATES * N_CLASSES; i++)
        dfa_next[i] = S_BAD * N_CLASSES;
    static const uint8_t lead[][2] = {{C_ASCII, S_OK}, {C_2, S_1},   {C_E0, S_E0}, {C_3, S_2},
                                      {C_ED, S_ED},    {C_F0, S_F0}, {C_4, S_3},   {C_F4, S_F4}};
    for (size_t i = 0; i < sizeof lead / sizeof *lead; i++)
        dfa_next[S_OK * N_CLASSES + lead[i][0]] = (uint8_t)(lead[i][1] * N_CLASSES);
    /* state, then which continuation classes lead where */
    static const uint8_t cont[][4] = {
        {S_1, 1, 1, 1},  {S_2, 1, 1, 1},
        {S_3, 1, 1, 1},  {S_E0, 0, 0, 1}, /* E0 A0..BF: no overlong 3-byte form */
        {S_ED, 1, 1, 0},                  /* ED 80..9F: no surrogate */
        {S_F0, 0, 1, 1},                  /* F0 90..BF: no overlong 4-byte form */
        {S_F4, 1, 0, 0},                  /* F4 80..8F: nothing past U+10FFFF */
    };
    static const uint8_t after[N_STATES] = {[S_1] = S_OK, [S_2] = S_1,  [S_3] = S_2, [S_E0] = S_1,
                                            [S_ED] = S_1, [S_F0] = S_2, [S_F4] = S_2};
    for (size_t i = 0; i < sizeof cont / sizeof *cont; i++)
        for (int c = 0; c < 3; c++)
            if (cont[i][1 + c])
                dfa_next[cont[i][0] * N_CLASSES + C_80 + c] =
                    (uint8_t)(after[cont[i][0]] * N_CLASSES);
}

static bool dfa_valid(const void *p, size_t len) {
    const uint8_t *b = p;
    unsigned s = S_OK;
    for (size_t i = 0; i < len; i++)
        s = dfa_next[s + dfa_class[b[i]]];
    return s == S_OK;
}

static volatile size_t sink;

/* One trial: GB/s over about secs seconds. */
static double trial(int kind, int level, unsigned char *buf, size_t len, double secs) {
    static unsigned char *dst; /* memcpy's destination */
    if (kind == KIND_MASK && level == LEVEL_REF && !dst && !(dst = malloc(1024 * 1024)))
        return 0;
    static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
    size_t iters = 1, done = 0;
    double t0 = now(), t;
    for (;;) {
        for (size_t i = 0; i < iters; i++) {
            if (kind == KIND_MASK && level == LEVEL_REF) {
                memcpy(dst, buf, len);
                __asm__ volatile("" : : "r"(dst) : "memory"); /* keep every copy */
            } else if (kind == KIND_MASK)
                sink += em_ws_mask(buf, len, key, i);
            else if (level == LEVEL_REF)
                sink += dfa_valid(buf, len);
            else
                sink += em_ws_utf8_valid(buf, len);
        }
        done += iters;
        t = now() - t0;
        if (t > secs)
            break;
        iters *= 2;
    }
    return (double)done * (double)len / t / 1e9;
}

static const char *level_name(int kind, int l) {
    static const char *names[] = {"scalar", "sse42", "avx2", "avx512"};
    if (l == LEVEL_REF)
        return kind == KIND_MASK ? "memcpy" : "dfa";
    return names[l];
}

/* The DFA must agree with ember on what is UTF-8, or its figures mean
 * nothing. */
static int dfa_check(void) {
    static const char *const cases[] = {
        "plain",
        "\xce\xba\xe1\xbd\xb9",
        "\xf0\x9f\x98\x80",
        "\xf4\x8f\xbf\xbf",
        "\xc0\xaf",
        "\xe0\x80\xaf",
        "\xed\xa0\x80",
        "\xf4\x90\x80\x80",
        "\xf0\x8f\xbf\xbf",
        "\x80",
        "\xe2\x82",
        "\xff",
        "\xc2\x80\x80",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (dfa_valid(cases[i], strlen(cases[i])) != em_ws_utf8_valid(cases[i], strlen(cases[i]))) {
            fprintf(stderr, "bench_ws_mask: the DFA and ember disagree on case %zu\n", i);
            return -1;
        }
    return 0;
}

/* Mixed text: Latin, Greek, CJK and emoji, about half the bytes non-ASCII. */
static void fill_mixed(unsigned char *b, size_t n) {
    static const char *words[] = {"hello ", "κόσμε ", "日本語 ", "données ", "😀 ", "plain "};
    size_t k = 0, w = 0;
    while (k < n) {
        const char *s = words[w++ % 6];
        size_t l = strlen(s);
        if (l > n - k) {
            memset(b + k, 'x', n - k);
            break;
        }
        memcpy(b + k, s, l);
        k += l;
    }
}

static void fill(unsigned char *buf, size_t len, int mixed) {
    if (mixed)
        fill_mixed(buf, len);
    else
        memset(buf, 'a', len);
}

/* The median of trials: GB/s over 0.1 s each, or with paired the ratio
 * to the reference over 0.02 s each, each trial beside one of the
 * reference, which goes first in every other pair (so neither side
 * always runs on the machine the other warmed or disturbed). Short pairs,
 * and four times as many: a spell of load from a neighbour on this
 * shared machine then spans fewer of them. */
static double median_trials(int kind, int level, unsigned char *buf, size_t len, int trials,
                            bool paired) {
    double r[4 * 99 + 1];
    if (paired)
        trials = 4 * trials + 1;
    for (int t = 0; t < trials; t++) {
        if (!paired) {
            r[t] = trial(kind, level, buf, len, 0.1);
            continue;
        }
        double ref, ours;
        if (t & 1) {
            ours = trial(kind, level, buf, len, 0.02);
            ref = trial(kind, LEVEL_REF, buf, len, 0.02);
        } else {
            ref = trial(kind, LEVEL_REF, buf, len, 0.02);
            ours = trial(kind, level, buf, len, 0.02);
        }
        r[t] = ours / ref;
    }
    qsort(r, (size_t)trials, sizeof *r, cmp_double);
    return r[trials / 2];
}

int main(int argc, char **argv) {
    int trials = 7;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--trials") && i + 1 < argc)
            trials = atoi(argv[++i]);
    if (trials < 1 || trials > 99)
        trials = 7;
    static const size_t sizes[] = {16, 1024, 64 * 1024, 1024 * 1024};
    unsigned char *buf = malloc(1024 * 1024);
    if (!buf)
        return 1;
    dfa_init();
    if (dfa_check() != 0)
        return 1;
    printf("%-6s %-7s %-7s %9s %9s %9s %9s   (GB/s, median of %d)\n", "what", "input", "level",
           "16 B", "1 KiB", "64 KiB", "1 MiB", trials);
    for (int kind = KIND_MASK; kind <= KIND_UTF8; kind++) {
        for (int input = 0; input < (kind == KIND_UTF8 ? 2 : 1); input++) {
            for (int l = LEVEL_REF; l <= EM__WS_SIMD_AVX512; l++) {
                if (l != LEVEL_REF && em__ws_simd_force(l) != 0)
                    continue;
                printf("%-6s %-7s %-7s", kind == KIND_MASK ? "mask" : "utf8",
                       kind == KIND_MASK ? "-"
                       : input           ? "mixed"
                                         : "ascii",
                       level_name(kind, l));
                for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
                    size_t len = sizes[s];
                    fill(buf, len, input);
                    if (kind == KIND_UTF8 &&
                        (!em_ws_utf8_valid(buf, len) || !dfa_valid(buf, len))) {
                        fprintf(stderr, "bench input is not UTF-8\n");
                        return 1;
                    }
                    printf(" %9.2f", median_trials(kind, l, buf, len, trials, false));
                    fflush(stdout);
                }
                printf("\n");
            }
        }
    }
    int def = em__ws_simd_default();
    (void)em__ws_simd_force(def);
    printf("\nratio to the reference at level %s, trials paired (median of %d pairs)\n",
           level_name(KIND_MASK, def), 4 * trials + 1);
    for (int row = 0; row < 3; row++) {
        int kind = row == 0 ? KIND_MASK : KIND_UTF8, mixed = row == 2;
        printf("%-6s %-7s %-7s", kind == KIND_MASK ? "mask" : "utf8",
               kind == KIND_MASK ? "-" : mixed ? "mixed" : "ascii",
               kind == KIND_MASK ? "/memcpy" : "/dfa");
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            fill(buf, sizes[s], mixed);
            printf(" %9.2f", median_trials(kind, def, buf, sizes[s], trials, true));
            fflush(stdout);
        }
        printf("\n");
    }
    free(buf);
    return 0;
}

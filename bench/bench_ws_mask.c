/* WebSocket payload throughput: masking (em_ws_mask, in place) and UTF-8
 * validation (em_ws_utf8_valid, on ASCII and on mixed text) at every SIMD
 * level this CPU has, for 16 B, 1 KiB, 64 KiB and 1 MiB buffers. Each
 * figure is the median of --trials runs of about 0.1 s each, in GB/s
 * (10^9 bytes per second).
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

static volatile size_t sink;

/* One trial: GB/s over about 0.1 s. */
static double trial(int kind, unsigned char *buf, size_t len) {
    static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
    size_t iters = 1, done = 0;
    double t0 = now(), t;
    for (;;) {
        for (size_t i = 0; i < iters; i++) {
            if (kind == KIND_MASK)
                sink += em_ws_mask(buf, len, key, i);
            else
                sink += em_ws_utf8_valid(buf, len);
        }
        done += iters;
        t = now() - t0;
        if (t > 0.1)
            break;
        iters *= 2;
    }
    return (double)done * (double)len / t / 1e9;
}

static const char *level_name(int l) {
    static const char *names[] = {"scalar", "sse42", "avx2", "avx512"};
    return names[l];
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
    printf("%-6s %-7s %-7s %9s %9s %9s %9s   (GB/s, median of %d)\n", "what", "input", "level",
           "16 B", "1 KiB", "64 KiB", "1 MiB", trials);
    for (int kind = KIND_MASK; kind <= KIND_UTF8; kind++) {
        for (int input = 0; input < (kind == KIND_UTF8 ? 2 : 1); input++) {
            for (int l = EM__WS_SIMD_SCALAR; l <= EM__WS_SIMD_AVX512; l++) {
                if (em__ws_simd_force(l) != 0)
                    continue;
                printf("%-6s %-7s %-7s", kind == KIND_MASK ? "mask" : "utf8",
                       kind == KIND_MASK ? "-"
                       : input           ? "mixed"
                                         : "ascii",
                       level_name(l));
                for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
                    size_t len = sizes[s];
                    if (input)
                        fill_mixed(buf, len);
                    else
                        memset(buf, 'a', len);
                    if (kind == KIND_UTF8 && !em_ws_utf8_valid(buf, len)) {
                        fprintf(stderr, "bench input is not UTF-8\n");
                        return 1;
                    }
                    double r[99];
                    for (int t = 0; t < trials; t++)
                        r[t] = trial(kind, buf, len);
                    qsort(r, (size_t)trials, sizeof *r, cmp_double);
                    printf(" %9.2f", r[trials / 2]);
                    fflush(stdout);
                }
                printf("\n");
            }
        }
    }
    free(buf);
    return 0;
}

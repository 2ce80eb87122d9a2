/* Timer wheel throughput: 1 million timers started and stopped (the
 * pattern of idle and request timeouts that almost never fire), then 1
 * million started and left to fire. Prints the median of 5 runs:
 *   timer_start_stop_per_s   start+stop pairs per second
 *   timer_start_fire_per_s   timers started and fired per second
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ember/runtime.h"

enum { N = 1000000, RUNS = 5 };

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long fired;
static void on_fire(em_timer *t) { fired++; }

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void) {
    em_timer *ts = calloc(N, sizeof *ts);
    em_loop loop;
    if (!ts || em_loop_init(&loop) != 0) {
        fprintf(stderr, "bench_timer: init failed\n");
        return 1;
    }
    for (int i = 0; i < N; i++)
        em_timer_init(&loop, &ts[i], on_fire);

    double ss[RUNS], sf[RUNS];
    uint32_t r = 12345;
    for (int run = 0; run < RUNS; run++) {
        /* Spread timeouts like real ones: 1 ms to 60 s, all wheel levels. */
        double t0 = now_s();
        for (int i = 0; i < N; i++) {
            r = r * 1103515245u + 12345u;
            em_timer_start(&ts[i], 1 + (r >> 8) % 60000, 0);
        }
        for (int i = 0; i < N; i++)
            em_timer_stop(&ts[i]);
        ss[run] = N / (now_s() - t0);

        /* Timeouts 0..15 ms so the firing run stays short. */
        fired = 0;
        t0 = now_s();
        for (int i = 0; i < N; i++)
            em_timer_start(&ts[i], (uint64_t)(i & 15), 0);
        if (em_loop_run(&loop, EM_RUN_DEFAULT) != 0 || fired != N) {
            fprintf(stderr, "bench_timer: %lu of %d fired\n", fired, N);
            return 1;
        }
        sf[run] = N / (now_s() - t0);
    }
    qsort(ss, RUNS, sizeof ss[0], cmp_double);
    qsort(sf, RUNS, sizeof sf[0], cmp_double);
    printf("timer_start_stop_per_s %.0f\n", ss[RUNS / 2]);
    printf("timer_start_fire_per_s %.0f\n", sf[RUNS / 2]);
    free(ts);
    return em_loop_close(&loop) == 0 ? 0 : 1;
}

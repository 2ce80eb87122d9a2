/* HTTP/1.1 request parsing speed: ns per parse of two standard requests,
 * with full validation (framing, Host, target form), at every SIMD level
 * the CPU has. Each figure is the median of RUNS runs of many iterations;
 * an empty asm with a memory clobber keeps the compiler from hoisting or
 * dropping any parse. Run pinned: taskset -c 1 bench_parse.
 *
 * Output: "parse_browser_ns <ns>" and "parse_tfb_ns <ns>" for the level the
 * library picks at start-up, then "parse_<req>_ns_<level> <ns>" per level. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ember/http.h"
#include "http/http_internal.h"

/* picohttpparser's bench.c request: a 2010 Firefox fetching an image
 * (703 bytes). */
static const char browser_req[] =
    "GET /wp-content/uploads/2010/03/hello-kitty-darth-vader-pink.jpg HTTP/1.1\r\n"
    "Host: www.kittyhell.com\r\n"
    "User-Agent: Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10.6; ja-JP-mac; rv:1.9.2.3) "
    "Gecko/20100401 Firefox/3.6.3 Pathtraq/0.9\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: ja,en-us;q=0.7,en;q=0.3\r\n"
    "Accept-Encoding: gzip,deflate\r\n"
    "Accept-Charset: Shift_JIS,utf-8;q=0.7,*;q=0.7\r\n"
    "Keep-Alive: 115\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: wp_ozh_wsa_visits=2; wp_ozh_wsa_visit_lasttime=xxxxxxxxxx; "
    "__utma=xxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.xxxxxxxxxx.x; "
    "__utmz=xxxxxxxxx.xxxxxxxxxx.x.x.utmccn=(referral)|utmcsr=reader.livedoor.com|"
    "utmcct=/reader/|utmcmd=referral\r\n"
    "\r\n";

/* The TechEmpower plaintext request (wrk's pipeline script). */
static const char tfb_req[] =
    "GET /plaintext HTTP/1.1\r\n"
    "Host: localhost\r\n"
    "Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,"
    "*/*;q=0.7\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";

#define RUNS 15

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median ns per parse of req over RUNS runs of iters parses. */
static double measure(const char *req, size_t len, long iters) {
    em_http_header headers[32];
    double runs[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        for (long i = 0; i < iters; i++) {
            em_http_parser p = {0};
            em_http_request q = {.headers = headers, .max_headers = 32};
            __asm__ volatile("" : : "r"(req), "r"(&p), "r"(&q) : "memory");
            ssize_t rc = em_http_parse_request(&p, req, len, &q);
            __asm__ volatile("" : : "r"(rc), "r"(&q) : "memory");
            if (rc != (ssize_t)len) {
                fprintf(stderr, "bench_parse: parse failed: %zd (%s)\n", rc, em_err_name((int)rc));
                exit(1);
            }
        }
        runs[r] = (now_ns() - t0) / (double)iters;
    }
    qsort(runs, RUNS, sizeof runs[0], cmp_double);
    return runs[RUNS / 2];
}

int main(int argc, char **argv) {
    static const char *const names[] = {"scalar", "sse42", "avx2"};
    long iters = argc > 1 ? atol(argv[1]) : 200000;
    size_t blen = sizeof browser_req - 1, tlen = sizeof tfb_req - 1;
    int def = em__http_simd_default();

    if (blen != 703) {
        fprintf(stderr, "bench_parse: browser request is %zu bytes, not 703\n", blen);
        return 1;
    }
    measure(browser_req, blen, iters / 4); /* warm up */
    printf("parse_browser_ns %.1f\n", measure(browser_req, blen, iters));
    printf("parse_tfb_ns %.1f\n", measure(tfb_req, tlen, iters * 2));
    printf("# default level: %s; request sizes %zu and %zu bytes\n", names[def], blen, tlen);
    for (int l = EM__HTTP_SIMD_SCALAR; l <= EM__HTTP_SIMD_AVX2; l++) {
        if (em__http_simd_force(l) != 0)
            continue;
        printf("parse_browser_ns_%s %.1f\n", names[l], measure(browser_req, blen, iters));
        printf("parse_tfb_ns_%s %.1f\n", names[l], measure(tfb_req, tlen, iters * 2));
    }
    em__http_simd_force(def);
    return 0;
}

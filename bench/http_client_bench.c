/* ember's HTTP client under load: N keep-alive connections, each with one
 * request in flight, re-issued from on_done, for D seconds or R requests.
 * The first W requests warm the pool up and are not counted. Prints one
 * line of key=value: requests, rps, cpu_us_per_req (this process's
 * utime+stime from getrusage over the measured part / requests) and
 * heap_growth (mallinfo2 in-use bytes after minus before: a leak or
 * per-request growth shows here; it does not count malloc calls, see
 * bench/http_client.sh for that).
 *
 *   http_client_bench [-c N] [-d SECS] [-n REQS] [-w WARM] [-a CAFILE] URL
 *   http_client_bench -m get|agent [-n REQS] URL    (sequential, blocking)
 *
 * -m get: em_http_get per request (this thread's session: its connection
 * is reused); -m agent: em_http_agent_fetch (one pooled connection,
 * reused). -a: https trusting the PEM certificates in CAFILE (a client
 * context made once, shared by every connection). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ember/http.h"
#include "ember/runtime.h"

typedef struct bench {
    em_loop loop;
    em_http_client *cl;
    const char *url;
    unsigned long warm, target, done, errors, bad;
    double deadline; /* monotonic s; 0: none */
    int in_flight;
    int measuring;
    int stopping;
    struct rusage ru0;
    double t0;
    size_t heap0;
} bench;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(const struct rusage *r) {
    return (double)r->ru_utime.tv_sec + (double)r->ru_utime.tv_usec / 1e6 +
           (double)r->ru_stime.tv_sec + (double)r->ru_stime.tv_usec / 1e6;
}

static size_t heap_in_use(void) {
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void start_measuring(bench *b) {
    b->measuring = 1;
    b->done = 0;
    b->heap0 = heap_in_use();
    getrusage(RUSAGE_SELF, &b->ru0);
    b->t0 = now_s();
}

static void on_head(em_http_call *call, const em_http_response *resp) {
    bench *b = em_http_call_data(call);
    if (resp->status != 200)
        b->bad++;
}

static void on_body(em_http_call *call, em_slice piece) {
    (void)call;
    (void)piece;
}

static void on_done(em_http_call *call, int err);
static const em_http_client_cbs cbs = {.on_head = on_head, .on_body = on_body, .on_done = on_done};

static int issue(bench *b) {
    int rc = em_http_client_do(b->cl, &(em_http_req){.url = b->url}, &cbs, b, NULL);
    if (rc) {
        fprintf(stderr, "em_http_client_do: %s\n", em_strerror(rc));
        return rc;
    }
    b->in_flight++;
    return 0;
}

static void on_done(em_http_call *call, int err) {
    bench *b = em_http_call_data(call);
    b->in_flight--;
    if (err) {
        if (b->errors++ < 5)
            fprintf(stderr, "request: %s (%s)\n", em_strerror(err), em_http_call_error(call));
    }
    b->done++;
    if (b->stopping)
        goto stop;
    if (!b->measuring) {
        if (b->done >= b->warm)
            start_measuring(b);
    } else {
        if (b->target && b->done >= b->target)
            goto stop;
        if (b->deadline && (b->done & 255) == 0 && now_s() >= b->deadline + b->t0)
            goto stop;
    }
    if (b->errors > 100 || issue(b) == 0)
        return;
stop:
    b->stopping = 1;
    if (b->in_flight == 0)
        em_loop_stop(&b->loop);
}

static void report(bench *b, unsigned long n, double t1) {
    struct rusage ru1;
    getrusage(RUSAGE_SELF, &ru1);
    double wall = t1 - b->t0, cpu = cpu_s(&ru1) - cpu_s(&b->ru0);
    long growth = (long)heap_in_use() - (long)b->heap0;
    printf("requests=%lu rps=%.0f cpu_us_per_req=%.3f wall_us_per_req=%.2f errors=%lu "
           "non200=%lu heap_growth=%ld\n",
           n, n / wall, cpu * 1e6 / (double)n, wall * 1e6 / (double)n, b->errors, b->bad, growth);
}

static int run_blocking(bench *b, const char *mode, const em_tls_ctx *tls) {
    em_http_agent *a = NULL;
    if (strcmp(mode, "agent") == 0) {
        em_http_client_opts o = {.max_per_host = 1, .tls = tls};
        if (em_http_agent_new(&a, &o) != 0)
            return 1;
    } else if (strcmp(mode, "get") != 0) {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    for (unsigned long i = 0; i < b->warm + b->target; i++) {
        if (i == b->warm)
            start_measuring(b);
        em_http_resp r;
        int rc = a ? em_http_agent_fetch(a, &(em_http_req){.url = b->url}, &r)
                   : em_http_get(b->url, &r);
        if (rc) {
            fprintf(stderr, "request %lu: %s %s\n", i, em_strerror(rc), r.error);
            b->errors++;
        } else if (r.status != 200) {
            b->bad++;
        }
        em_http_resp_free(&r);
        if (b->errors > 5)
            break;
    }
    double t1 = now_s();
    report(b, b->target, t1);
    if (a)
        em_http_agent_free(a);
    return b->errors ? 1 : 0;
}

int main(int argc, char **argv) {
    bench b = {.warm = 1000};
    unsigned conns = 64;
    double secs = 0;
    const char *mode = "loop", *ca = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "c:d:n:w:m:a:")) != -1) {
        switch (opt) {
        case 'c': conns = (unsigned)atoi(optarg); break;
        case 'd': secs = atof(optarg); break;
        case 'n': b.target = strtoul(optarg, NULL, 10); break;
        case 'w': b.warm = strtoul(optarg, NULL, 10); break;
        case 'm': mode = optarg; break;
        case 'a': ca = optarg; break;
        default: goto usage;
        }
    }
    if (optind != argc - 1 || conns == 0 || (secs <= 0 && b.target == 0))
        goto usage;
    b.url = argv[optind];
    b.deadline = secs;
    em_tls_ctx *tls = NULL;
    if (ca) {
        int rc = em_tls_ctx_new(&tls, EM_TLS_CLIENT, &(em_tls_ctx_opts){.ca_file = ca});
        if (rc) {
            char why[256];
            fprintf(stderr, "em_tls_ctx_new: %s (%s)\n", em_strerror(rc),
                    em_tls_last_error(why, sizeof why));
            return 1;
        }
    }
    if (strcmp(mode, "loop") != 0) {
        int rc = run_blocking(&b, mode, tls);
        em_tls_ctx_free(tls);
        return rc;
    }
    if (b.warm < conns)
        b.warm = conns;

    if (em_loop_init(&b.loop) != 0)
        return 1;
    em_http_client_opts o = {.max_per_host = conns, .user_agent = "", .tls = tls};
    if (em_http_client_new(&b.cl, &b.loop, &o) != 0)
        return 1;
    for (unsigned i = 0; i < conns; i++)
        if (issue(&b) != 0)
            return 1;
    em_loop_run(&b.loop, EM_RUN_DEFAULT);
    double t1 = now_s();
    unsigned long n = b.done;
    report(&b, n, t1);
    em_http_client_close(b.cl, NULL, NULL);
    em_loop_run(&b.loop, EM_RUN_DEFAULT);
    if (em_loop_close(&b.loop) != 0)
        fprintf(stderr, "loop not idle at exit\n");
    em_tls_ctx_free(tls);
    return b.errors ? 1 : 0;

usage:
    fprintf(stderr, "usage: http_client_bench [-c N] [-d SECS] [-n REQS] [-w WARM] "
                    "[-m loop|get|agent] [-a CAFILE] URL\n");
    return 2;
}

/* Name lookups per second and client CPU per lookup: c-ares on an ember
 * loop against glibc's getaddrinfo in a pool of threads.
 *
 *   dns_bench ember SERVERS FAMILY N INFLIGHT TAG
 *       one loop, one resolver (cache off, no search list, the servers
 *       given, e.g. 127.0.0.1:53), N lookups with INFLIGHT in flight
 *   dns_bench gai FAMILY N THREADS TAG
 *       THREADS threads calling getaddrinfo() until N lookups are done
 *       (the servers are resolv.conf's: bench/dns.sh runs it in a network
 *       namespace whose resolv.conf names the responder)
 *
 * FAMILY is 4 (A only) or any (A and AAAA: EM_DNS_ANY merged, AF_UNSPEC).
 * Every lookup asks a distinct name, "<TAG>-<i>.bench.test", so no cache
 * anywhere can answer it; TAG makes names differ between runs. Prints one
 * line: lookups=N errors=E secs=S lookups_per_s=L cpu_us_per_lookup=C,
 * where C is the process's utime + stime (all threads) over the lookups,
 * divided by N. Exits 1 if any lookup failed. */
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include "ember/dns.h"

typedef struct meter {
    struct timespec t0;
    struct rusage r0;
} meter;

static void meter_start(meter *m) {
    getrusage(RUSAGE_SELF, &m->r0);
    clock_gettime(CLOCK_MONOTONIC, &m->t0);
}

static double tv_us(struct timeval tv) {
    return tv.tv_sec * 1e6 + tv.tv_usec;
}

static void meter_report(const meter *m, unsigned long n, unsigned long errors) {
    struct timespec t1;
    struct rusage r1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    getrusage(RUSAGE_SELF, &r1);
    double secs = (double)(t1.tv_sec - m->t0.tv_sec) + (t1.tv_nsec - m->t0.tv_nsec) / 1e9;
    double cpu =
        tv_us(r1.ru_utime) - tv_us(m->r0.ru_utime) + tv_us(r1.ru_stime) - tv_us(m->r0.ru_stime);
    printf("lookups=%lu errors=%lu secs=%.3f lookups_per_s=%.0f cpu_us_per_lookup=%.2f\n", n,
           errors, secs, n / secs, cpu / (double)n);
}

static void name_of(char *out, size_t cap, const char *tag, unsigned long i) {
    snprintf(out, cap, "%s-%lu.bench.test", tag, i);
}

/* ---- ember: c-ares on the loop -------------------------------------------- */

typedef struct ember_run {
    em_dns_resolver r;
    em_dns_lookup_opts opts;
    const char *tag;
    unsigned long n, started, done, errors;
} ember_run;

static void on_lookup(em_dns_lookup *l, int status, const em_dns_result *res);

static int start_next(ember_run *run, em_dns_lookup *l) {
    char host[EM_DNS_NAME_MAX + 1];
    name_of(host, sizeof host, run->tag, run->started++);
    int rc = em_dns_lookup_start(&run->r, l, host, &run->opts, on_lookup);
    if (rc)
        fprintf(stderr, "dns_bench: em_dns_lookup_start: %s\n", em_strerror(rc));
    return rc;
}

static void on_lookup(em_dns_lookup *l, int status, const em_dns_result *res) {
    ember_run *run = l->data;
    if (status != 0 || res->count == 0) {
        if (run->errors++ < 5)
            fprintf(stderr, "dns_bench: lookup failed: %s\n", em_strerror(status));
    }
    if (++run->done == run->n) {
        em_dns_resolver_close(&run->r, NULL);
        return;
    }
    if (run->started < run->n && start_next(run, l) != 0)
        run->errors++, run->done++; /* counted, never retried */
}

static int bench_ember(const char *servers, em_dns_family fam, unsigned long n,
                       unsigned long inflight, const char *tag) {
    em_loop loop;
    ember_run run = {.tag = tag, .n = n, .opts = {.family = fam}};
    em_dns_resolver_opts ro = {
        .servers = servers,
        .no_cache = true,  /* every lookup is a query */
        .no_search = true, /* as resolv.conf's ndots:1 does for glibc */
        .timeout_ms = 2000,
        .tries = 2,
    };
    if (em_loop_init(&loop) != 0 || em_dns_resolver_init(&loop, &run.r, &ro) != 0) {
        fprintf(stderr, "dns_bench: cannot start the loop or the resolver\n");
        return 1;
    }
    if (inflight > n)
        inflight = n;
    em_dns_lookup *ls = calloc(inflight, sizeof *ls);
    if (!ls)
        return 1;
    meter m;
    meter_start(&m);
    for (unsigned long i = 0; i < inflight; i++) {
        ls[i].data = &run;
        if (start_next(&run, &ls[i]) != 0)
            return 1;
    }
    if (em_loop_run(&loop, EM_RUN_DEFAULT) < 0)
        return 1;
    meter_report(&m, run.done, run.errors);
    free(ls);
    return em_loop_close(&loop) != 0 || run.errors != 0;
}

/* ---- glibc: getaddrinfo in a thread pool --------------------------------- */

typedef struct gai_run {
    int family;
    const char *tag;
    unsigned long n;
    atomic_ulong next, errors;
} gai_run;

static void *gai_worker(void *arg) {
    gai_run *run = arg;
    struct addrinfo hints = {.ai_family = run->family, .ai_socktype = SOCK_STREAM};
    for (;;) {
        unsigned long i = atomic_fetch_add(&run->next, 1);
        if (i >= run->n)
            return NULL;
        char host[EM_DNS_NAME_MAX + 1];
        name_of(host, sizeof host, run->tag, i);
        struct addrinfo *ai = NULL;
        int rc = getaddrinfo(host, NULL, &hints, &ai);
        if (rc != 0) {
            if (atomic_fetch_add(&run->errors, 1) < 5)
                fprintf(stderr, "dns_bench: getaddrinfo(%s): %s\n", host, gai_strerror(rc));
            continue;
        }
        freeaddrinfo(ai);
    }
}

static int bench_gai(int family, unsigned long n, unsigned threads, const char *tag) {
    gai_run run = {.family = family, .tag = tag, .n = n};
    pthread_t *t = calloc(threads, sizeof *t);
    if (!t)
        return 1;
    meter m;
    meter_start(&m);
    for (unsigned i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, gai_worker, &run) != 0) {
            fprintf(stderr, "dns_bench: pthread_create failed\n");
            return 1;
        }
    for (unsigned i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    unsigned long errors = atomic_load(&run.errors);
    meter_report(&m, n, errors);
    free(t);
    return errors != 0;
}

/* ---- main ------------------------------------------------------------- */

static int usage(void) {
    fprintf(stderr, "usage: dns_bench ember SERVERS 4|any N INFLIGHT TAG\n"
                    "       dns_bench gai 4|any N THREADS TAG\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return usage();
    bool ember = strcmp(argv[1], "ember") == 0;
    if ((ember && argc != 7) || (!ember && (strcmp(argv[1], "gai") != 0 || argc != 6)))
        return usage();
    char **a = argv + (ember ? 3 : 2); /* FAMILY N INFLIGHT|THREADS TAG */
    bool any = strcmp(a[0], "any") == 0;
    if (!any && strcmp(a[0], "4") != 0)
        return usage();
    unsigned long n = strtoul(a[1], NULL, 10), k = strtoul(a[2], NULL, 10);
    if (n == 0 || k == 0)
        return usage();
    if (ember)
        return bench_ember(argv[2], any ? EM_DNS_ANY : EM_DNS_V4, n, k, a[3]);
    return bench_gai(any ? AF_UNSPEC : AF_INET, n, (unsigned)k, a[3]);
}

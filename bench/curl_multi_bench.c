/* libcurl, the anchor for bench/http_client_bench: N easy handles on one
 * multi handle (shared connection cache, CURLMOPT_MAX_HOST_CONNECTIONS=N),
 * each re-added as soon as it completes, for D seconds or R requests.
 * Prints the same key=value line as http_client_bench.
 *
 *   curl_multi_bench [-c N] [-d SECS] [-n REQS] [-w WARM] [-m perform|socket|easy]
 *                    [-a CAFILE] URL
 *
 * perform: curl_multi_perform + curl_multi_poll; socket:
 * curl_multi_socket_action driven by our own epoll (CURLMOPT_SOCKETFUNCTION,
 * CURLMOPT_TIMERFUNCTION); easy: sequential curl_easy_perform on one
 * reused handle (the blocking face's anchor). -a: https trusting the PEM
 * certificates in CAFILE (CURLOPT_CAINFO; the multi handle's connection
 * cache keeps the TLS connections alive as it does plain ones). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static unsigned long done_n, target, warm, errors;
static double secs, t0;
static int measuring, stopping;
static struct rusage ru0;
static long timeout_ms = -1;
static int epfd;
static const char *cafile;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(const struct rusage *r) {
    return (double)r->ru_utime.tv_sec + (double)r->ru_utime.tv_usec / 1e6 +
           (double)r->ru_stime.tv_sec + (double)r->ru_stime.tv_usec / 1e6;
}

static size_t discard(char *p, size_t size, size_t n, void *u) {
    (void)p;
    (void)u;
    return size * n;
}

static CURL *new_easy(const char *url) {
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    if (cafile)
        curl_easy_setopt(e, CURLOPT_CAINFO, cafile);
    return e;
}

/* One finished transfer: count it, decide whether to go on. */
static int finished(CURLcode rc) {
    if (rc != CURLE_OK && errors++ < 5)
        fprintf(stderr, "transfer: %s\n", curl_easy_strerror(rc));
    done_n++;
    if (stopping)
        return 0;
    if (!measuring && done_n >= warm) {
        measuring = 1;
        done_n = 0;
        getrusage(RUSAGE_SELF, &ru0);
        t0 = now_s();
    } else if (measuring && ((target && done_n >= target) ||
                             (secs > 0 && (done_n & 255) == 0 && now_s() >= t0 + secs))) {
        stopping = 1;
    }
    return !stopping && errors < 100;
}

static int drain(CURLM *m) {
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *e = msg->easy_handle;
        CURLcode rc = msg->data.result;
        curl_multi_remove_handle(m, e);
        if (finished(rc))
            curl_multi_add_handle(m, e);
    }
    return 0;
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *u, void *sp) {
    (void)e;
    (void)u;
    struct epoll_event ev = {.data.fd = s};
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, s, NULL);
        return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, s, &ev) != 0)
        epoll_ctl(epfd, EPOLL_CTL_ADD, s, &ev);
    (void)sp;
    return 0;
}

static int timer_cb(CURLM *m, long ms, void *u) {
    (void)m;
    (void)u;
    timeout_ms = ms;
    return 0;
}

static void report(unsigned long n) {
    struct rusage ru1;
    double t1 = now_s();
    getrusage(RUSAGE_SELF, &ru1);
    double wall = t1 - t0, cpu = cpu_s(&ru1) - cpu_s(&ru0);
    printf("requests=%lu rps=%.0f cpu_us_per_req=%.3f wall_us_per_req=%.2f errors=%lu\n", n,
           n / wall, cpu * 1e6 / (double)n, wall * 1e6 / (double)n, errors);
}

int main(int argc, char **argv) {
    long conns = 64;
    const char *mode = "perform";
    int opt;
    warm = 1000;
    while ((opt = getopt(argc, argv, "c:d:n:w:m:a:")) != -1) {
        switch (opt) {
        case 'c': conns = atol(optarg); break;
        case 'd': secs = atof(optarg); break;
        case 'n': target = strtoul(optarg, NULL, 10); break;
        case 'w': warm = strtoul(optarg, NULL, 10); break;
        case 'm': mode = optarg; break;
        case 'a': cafile = optarg; break;
        default: goto usage;
        }
    }
    if (optind != argc - 1 || conns <= 0 || (secs <= 0 && target == 0))
        goto usage;
    const char *url = argv[optind];
    curl_global_init(CURL_GLOBAL_DEFAULT);

    if (strcmp(mode, "easy") == 0) {
        CURL *e = new_easy(url);
        for (unsigned long i = 0; i < warm + target && errors < 5; i++) {
            if (i == warm) {
                getrusage(RUSAGE_SELF, &ru0);
                t0 = now_s();
            }
            CURLcode rc = curl_easy_perform(e);
            if (rc != CURLE_OK && errors++ < 5)
                fprintf(stderr, "transfer: %s\n", curl_easy_strerror(rc));
        }
        report(target);
        curl_easy_cleanup(e);
        return errors ? 1 : 0;
    }

    int sock = strcmp(mode, "socket") == 0;
    if (!sock && strcmp(mode, "perform") != 0)
        goto usage;
    if ((unsigned long)conns > warm)
        warm = (unsigned long)conns;
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, conns);
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, conns);
    CURL **easy = calloc((size_t)conns, sizeof *easy);
    for (long i = 0; i < conns; i++) {
        easy[i] = new_easy(url);
        curl_multi_add_handle(m, easy[i]);
    }
    int running = 1;
    if (!sock) {
        while (running || !stopping) {
            curl_multi_perform(m, &running);
            drain(m);
            if (stopping && !running)
                break;
            curl_multi_poll(m, NULL, 0, 1000, NULL);
        }
    } else {
        epfd = epoll_create1(0);
        curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, sock_cb);
        curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, timer_cb);
        curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
        struct epoll_event evs[256];
        while (running || !stopping) {
            int n = epoll_wait(epfd, evs, 256, timeout_ms < 0 ? 1000 : (int)timeout_ms);
            if (n == 0) {
                curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
            }
            for (int i = 0; i < n; i++) {
                int f = (evs[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                        (evs[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                        (evs[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
                curl_multi_socket_action(m, evs[i].data.fd, f, &running);
            }
            drain(m);
            if (timeout_ms == 0)
                curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, &running);
            if (stopping && !running)
                break;
        }
    }
    report(done_n);
    for (long i = 0; i < conns; i++) {
        curl_multi_remove_handle(m, easy[i]);
        curl_easy_cleanup(easy[i]);
    }
    free(easy);
    curl_multi_cleanup(m);
    curl_global_cleanup();
    return errors ? 1 : 0;

usage:
    fprintf(stderr, "usage: curl_multi_bench [-c N] [-d SECS] [-n REQS] [-w WARM] "
                    "[-m perform|socket|easy] [-a CAFILE] URL\n");
    return 2;
}

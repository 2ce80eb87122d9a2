/* ember-fetch's progress meter on stderr, curl's in spirit: shown when the
 * body does not go to a terminal (-o FILE, a pipe, a redirect) and neither
 * -s nor --no-progress-meter is given; once a second and at the end of each
 * transfer. The default is curl's table (total, received, speeds, times);
 * -# draws a bar of '#' instead; -Z shows one line for every transfer.
 * Included once, by ember-fetch.c. */
#ifndef EMBER_FETCH_METER_H
#define EMBER_FETCH_METER_H

/* curl's 5-column sizes: 12345, 1234k, 12.3M, 1234M, 12.3G, 1234G. */
static const char *max5(char b[24], uint64_t n) {
    const uint64_t K = 1024, M = K * K, G = M * K;
    if (n < 100000)
        snprintf(b, 24, "%5llu", (unsigned long long)n);
    else if (n < 10000 * K)
        snprintf(b, 24, "%4lluk", (unsigned long long)(n / K));
    else if (n < 100 * M)
        snprintf(b, 24, "%2llu.%lluM", (unsigned long long)(n / M),
                 (unsigned long long)(n % M / (M / 10)));
    else if (n < 10000 * M)
        snprintf(b, 24, "%4lluM", (unsigned long long)(n / M));
    else if (n < 100 * G)
        snprintf(b, 24, "%2llu.%lluG", (unsigned long long)(n / G),
                 (unsigned long long)(n % G / (G / 10)));
    else
        snprintf(b, 24, "%4lluG", (unsigned long long)(n / G));
    return b;
}

/* HH:MM:SS, "--:--:--" for nothing or unknown (< 1 s or < 0). */
static const char *hms(char b[32], double s) {
    long t = (long)s;
    if (t <= 0)
        snprintf(b, 32, "--:--:--");
    else if (t / 3600 <= 99)
        snprintf(b, 32, "%2ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(b, 32, "%3ldd %02ldh", t / 86400, t / 3600 % 24);
    return b;
}

static void meter_head(FILE *e) {
    fputs("  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n"
          "                                 Dload  Upload   Total   Spent    Left  Speed\n",
          e);
}

/* One update of the table: got of total bytes (total 0: unknown) after
 * spent seconds, now arriving at cur bytes/s. */
static void meter_line(FILE *e, uint64_t got, uint64_t total, double spent, double cur) {
    char a[24], b[24], c[24], d[24], u[24], s[24], t1[32], t2[32], t3[32];
    double avg = spent > 0 ? (double)got / spent : 0;
    double whole = total && avg > 0 ? (double)total / avg : 0;
    unsigned pct = total ? (unsigned)(got >= total ? 100 : got * 100 / total) : 0;
    fprintf(e, "\r%3u %s  %3u %s  %3u %s  %s  %s %s %s %s %s", pct, max5(a, total), pct,
            max5(b, got), 0u, max5(c, 0), max5(d, (uint64_t)avg), max5(u, 0), hms(t1, whole),
            hms(t2, spent), hms(t3, whole > spent ? whole - spent : 0), max5(s, (uint64_t)cur));
}

/* -#: '#' for the share received, then the percentage, 79 columns (or
 * $COLUMNS). An unknown size: a "-=O=-" that moves with each update. */
static void bar_line(FILE *e, uint64_t got, uint64_t total, unsigned tick) {
    const char *cols = getenv("COLUMNS");
    int w = cols && atoi(cols) > 20 ? atoi(cols) - 1 : 79;
    if (w > 256)
        w = 256;
    char line[257];
    int bw = w - 7;
    if (total) {
        double frac = got >= total ? 1 : (double)got / (double)total;
        int n = (int)(frac * bw);
        memset(line, '#', (size_t)n);
        memset(line + n, ' ', (size_t)(bw - n));
        fprintf(e, "\r%.*s %5.1f%%", bw, line, frac * 100);
    } else {
        memset(line, ' ', (size_t)w);
        int at = (int)(tick % (unsigned)(w - 5));
        memcpy(line + at, "-=O=-", 5);
        fprintf(e, "\r%.*s", w, line);
    }
}

/* -Z: one line for all transfers. */
static void parallel_head(FILE *e) {
    fputs("DL% UL%  Dled  Uled  Xfers  Live Total     Current  Left    Speed\n", e);
}
static void parallel_line(FILE *e, uint64_t got, uint64_t total, size_t xfers, size_t live,
                          double spent, double cur) {
    char a[24], u[24], s[24], t[32];
    char pct[8] = "--";
    if (total)
        snprintf(pct, sizeof pct, "%3u", (unsigned)(got >= total ? 100 : got * 100 / total));
    fprintf(e, "\r%-3s --  %s %s %5zu %5zu  --:--:-- %s --:--:-- %s", pct, max5(a, got), max5(u, 0),
            xfers, live, hms(t, spent), max5(s, (uint64_t)cur));
}

#endif

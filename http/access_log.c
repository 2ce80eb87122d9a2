/* The access log: lines in the common log format, built on the loop into a
 * buffer and handed to a writer thread once a second (or sooner when the
 * buffer fills), so a slow disk or a full pipe never blocks the loop. If
 * the writer falls far behind, lines are dropped and counted rather than
 * buffered without bound. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "access_log_internal.h"
#include "http_internal.h"

#define HANDOFF_BYTES (64 * 1024)       /* hand a buffer over at this size */
#define PENDING_MAX   (4 * 1024 * 1024) /* past this the writer is too slow */

struct em__http_log {
    int fd;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    em_buf building; /* loop thread only */
    em_buf pending;  /* under mu: waiting for the writer */
    bool stop;       /* under mu */
    uint64_t dropped;
    time_t stamp_sec; /* the second stamp[] shows */
    char stamp[32];   /* "23/Nov/2026:13:55:36 +0000" */
};

static void *writer_main(void *arg) {
    struct em__http_log *log = arg;
    em_buf out;
    em_buf_init(&out, 0);
    pthread_mutex_lock(&log->mu);
    for (;;) {
        while (!em_buf_len(&log->pending) && !log->stop)
            pthread_cond_wait(&log->cv, &log->mu);
        if (!em_buf_len(&log->pending) && log->stop)
            break;
        em_buf tmp = out; /* swap: write outside the lock */
        out = log->pending;
        log->pending = tmp;
        pthread_mutex_unlock(&log->mu);
        const char *p = em_buf_data(&out);
        size_t left = em_buf_len(&out);
        while (left) {
            ssize_t n = write(log->fd, p, left);
            if (n <= 0)
                break; /* a broken log must not take the server down */
            p += n;
            left -= (size_t)n;
        }
        em_buf_clear(&out);
        pthread_mutex_lock(&log->mu);
    }
    pthread_mutex_unlock(&log->mu);
    em_buf_free(&out);
    return NULL;
}

int em__http_log_open(em_http_server *srv, int fd) {
    struct em__http_log *log = calloc(1, sizeof *log);
    if (!log)
        return EM_ENOMEM;
    log->fd = fd;
    pthread_mutex_init(&log->mu, NULL);
    pthread_cond_init(&log->cv, NULL);
    em_buf_init(&log->building, 0);
    em_buf_init(&log->pending, 0);
    int rc = pthread_create(&log->thread, NULL, writer_main, log);
    if (rc) {
        free(log);
        return em_err_from_errno(rc);
    }
    srv->_log = log;
    return 0;
}

void em__http_log_flush(em_http_server *srv) {
    struct em__http_log *log = srv->_log;
    if (!log || !em_buf_len(&log->building))
        return;
    pthread_mutex_lock(&log->mu);
    if (em_buf_len(&log->pending) + em_buf_len(&log->building) > PENDING_MAX) {
        log->dropped++;
    } else if (em_buf_append_slice(&log->pending, em_buf_slice(&log->building)) != 0) {
        log->dropped++;
    }
    pthread_cond_signal(&log->cv);
    pthread_mutex_unlock(&log->mu);
    em_buf_clear(&log->building);
}

void em__http_log_close(em_http_server *srv) {
    struct em__http_log *log = srv->_log;
    if (!log)
        return;
    em__http_log_flush(srv);
    pthread_mutex_lock(&log->mu);
    log->stop = true;
    pthread_cond_signal(&log->cv);
    pthread_mutex_unlock(&log->mu);
    pthread_join(log->thread, NULL);
    em_buf_free(&log->building);
    em_buf_free(&log->pending);
    pthread_cond_destroy(&log->cv);
    pthread_mutex_destroy(&log->mu);
    free(log);
    srv->_log = NULL;
}

/* Bytes a log line must not carry as they are: the quote and backslash that
 * would let a request forge the line's fields, controls and non-ASCII. */
static bool needs_escape(unsigned char c) {
    return c == '"' || c == '\\' || c < 0x20 || c >= 0x7f;
}

/* Append s to b, bytes from needs_escape() as \xHH (what nginx does). */
static int append_escaped(em_buf *b, em_slice s) {
    static const char hex[] = "0123456789ABCDEF";
    size_t start = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (!needs_escape(c))
            continue;
        char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
        int rc = em_buf_append(b, s.ptr + start, i - start);
        rc = rc ? rc : em_buf_append(b, esc, sizeof esc);
        if (rc)
            return rc;
        start = i + 1;
    }
    return em_buf_append(b, s.ptr + start, s.len - start);
}

/* The common log format's time, "10/Oct/2000:13:55:36 +0000", in UTC,
 * formatted once per second. */
static const char *log_stamp(struct em__http_log *log) {
    time_t now = time(NULL);
    if (now != log->stamp_sec) { /* stamp_sec starts at 0, never now */
        struct tm tm;
        gmtime_r(&now, &tm);
        snprintf(log->stamp, sizeof log->stamp, "%02d/%.3s/%04d:%02d:%02d:%02d +0000", tm.tm_mday,
                 em__http_month_abbr((unsigned)tm.tm_mon), (tm.tm_year + 1900) % 10000, tm.tm_hour,
                 tm.tm_min, tm.tm_sec);
        log->stamp_sec = now;
    }
    return log->stamp;
}

void em__http_log_request(em_http_server *srv, const em_sockaddr *from, const em_http_request *r,
                          int status, uint64_t sent) {
    struct em__http_log *log = srv->_log;
    char peer[EM_SOCKADDR_STRLEN] = "-";
    em_ip ip = em_sockaddr_ip(from);
    if (em_ip_format(&ip, peer, sizeof peer) < 0)
        peer[0] = '-', peer[1] = 0;
    /* host ident authuser [date] "request" status bytes. Room for the
     * whole line is reserved first, so a failure never leaves half a line. */
    em_buf *b = &log->building;
    size_t room = strlen(peer) + 128 + r->method.len + 4 * r->target.len;
    if (em_buf_reserve(b, room) != 0) {
        log->dropped++;
        return;
    }
    int rc = em_buf_printf(b, "%s - - [%s] \"%.*s ", peer, log_stamp(log), (int)r->method.len,
                           r->method.ptr);
    rc = rc ? rc : append_escaped(b, r->target);
    rc = rc ? rc
            : em_buf_printf(b, " HTTP/1.%d\" %d %llu\n", r->version_minor, status,
                            (unsigned long long)sent);
    (void)rc; /* cannot fail: the room is reserved */
    if (em_buf_len(b) >= HANDOFF_BYTES)
        em__http_log_flush(srv);
}

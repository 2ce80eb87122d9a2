/* The access log: lines in the common log format, built on the loop into a
 * buffer and handed to a writer thread once a second (or sooner when the
 * buffer fills), so a slow disk or a full pipe never blocks the loop. If
 * the writer falls far behind, lines are dropped and counted rather than
 * buffered without bound. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "http_internal.h"
#include "server_internal.h"

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

void em__http_log_request(struct em__http_conn *conn, const em_http_ctx *cx) {
    em_http_server *srv = conn->srv;
    struct em__http_log *log = srv->_log;
    char peer[EM_SOCKADDR_STRLEN] = "-";
    em_sockaddr sa;
    if (em_sock_peer_addr(em_tcp_conn_fd(&conn->tcp), &sa) == 0) {
        em_ip ip = em_sockaddr_ip(&sa);
        if (em_ip_format(&ip, peer, sizeof peer) < 0)
            peer[0] = '-', peer[1] = 0;
    }
    /* "Date: Mon, 23 Nov 2026 09:40:00 GMT\r\n" -> the time part. */
    int tlen = srv->_date_len > 8 ? (int)(srv->_date_len - 8) : 0;
    const em_http_request *r = &cx->req;
    if (em_buf_printf(&log->building, "%s - - [%.*s] \"%.*s %.*s HTTP/1.%d\" %d %llu\n", peer, tlen,
                      srv->_date + 6, (int)r->method.len, r->method.ptr, (int)r->target.len,
                      r->target.ptr, r->version_minor, cx->_status,
                      (unsigned long long)cx->_sent) != 0)
        log->dropped++;
    if (em_buf_len(&log->building) >= HANDOFF_BYTES)
        em__http_log_flush(srv);
}

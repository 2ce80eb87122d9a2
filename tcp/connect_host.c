/* Connect by name: Happy Eyeballs v2 (RFC 8305) on the loop, and its
 * blocking face.
 *
 * One race per call, malloc'd (connecting by name is not a hot path): a
 * lookup asking AAAA and A each on its own, one em_tcp_conn per attempt,
 * and three timers (the next attempt, the resolution delay, the deadline).
 * The user's c has no socket until the winner is moved into it; until
 * then closing c reaches the race through its cold part's happy hook.
 *
 * Memory: the race outlives its outcome until nothing refers to it: c
 * (until c is closed, or the winner is moved in), attempts whose close
 * callback is still due, and the task that frees a moved-out winner (it
 * may be freed only once its connect callback has returned). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tcp_internal.h"

#define DEFAULT_TIMEOUT_MS 30000

typedef struct happy happy;

typedef struct attempt {
    em_tcp_conn conn;
    happy *h;
    struct attempt *next, *prev;
    bool live; /* connecting: its callback is still due */
} attempt;

struct happy {
    struct em__tcp_happy hook; /* c's cold part points here */
    em_loop *loop;
    em_tcp_conn *c;            /* NULL once c no longer refers to the race */
    em_tcp_connect_cb cb;
    em_tcp_close_cb close_cb;
    const em_tcp_conn_cbs *cbs;
    const em_tcp_conn_opts *conn_opts;
    bool has_conn_opts;
    em_tcp_conn_opts conn_opts_copy;
    uint16_t port;
    unsigned attempt_delay, resolution_delay;

    em_dns_lookup lookup;
    em_ip *ips[2];             /* [0] IPv4, [1] IPv6: answers, in order */
    size_t n[2], next[2];      /* count, next to try */
    int dns_err[2];
    int last_fam;              /* family of the last attempt: 0, 4 or 6 */
    bool gate_open;            /* AAAA answered or the resolution delay passed */
    int last_err;              /* the last attempt's error */

    em_timer next_timer;       /* Connection Attempt Delay */
    em_timer resolution_timer; /* Resolution Delay */
    em_timer deadline;
    attempt *attempts;         /* open attempts (closing ones included) */
    unsigned live;             /* attempts still connecting */
    attempt *winner;           /* moved out: freed by task */
    em_task task;              /* close callback, winner's memory, free */
    bool task_queued, close_due, done;
};

static void pump(happy *h);

static void maybe_free(happy *h) {
    if (h->c || h->attempts || h->task_queued)
        return;
    free(h->ips[0]);
    free(h->ips[1]);
    free(h);
}

static void queue_task(happy *h) {
    if (!h->task_queued) {
        h->task_queued = true;
        em_loop_defer(h->loop, &h->task);
    }
}

static void on_task(em_task *t) {
    happy *h = t->data;
    h->task_queued = false;
    free(h->winner);
    h->winner = NULL;
    if (h->close_due) {
        h->close_due = false;
        em_tcp_conn *c = h->c;
        h->c = NULL;
        if (h->close_cb)
            h->close_cb(c); /* may free c */
    }
    maybe_free(h);
}

/* Take a out of h's list of attempts in flight. */
static void unlink_attempt(happy *h, attempt *a) {
    if (a->prev)
        a->prev->next = a->next;
    else
        h->attempts = a->next;
    if (a->next)
        a->next->prev = a->prev;
}

static void attempt_closed(em_tcp_conn *conn) {
    attempt *a = EM_CONTAINER_OF(conn, attempt, conn);
    happy *h = a->h;
    unlink_attempt(h, a);
    free(a);
    maybe_free(h);
}

/* The race is over: no lookup, no timers, every attempt left closed. */
static void stop(happy *h) {
    if (h->done)
        return;
    h->done = true;
    (void)em_dns_lookup_cancel(&h->lookup);
    em_timer_stop(&h->next_timer);
    em_timer_stop(&h->resolution_timer);
    em_timer_stop(&h->deadline);
    for (attempt *a = h->attempts; a; a = a->next) {
        if (a->live) {
            a->live = false;
            h->live--;
            em_tcp_conn_close(&a->conn, attempt_closed);
        }
    }
}

static void fail(happy *h, int err) {
    stop(h);
    h->cb(h->c, err); /* c keeps the race until it is closed */
}

/* The error when every address failed: the last attempt's, else what DNS
 * said, IPv6's first unless it only found nothing (as dns merges them). */
static int final_error(const happy *h) {
    if (h->last_err)
        return h->last_err;
    int e6 = h->dns_err[1], e4 = h->dns_err[0];
    if (e6 && e6 != EM_ENOTFOUND)
        return e6;
    return e4 ? e4 : e6 ? e6 : EM_ENOTFOUND;
}

static void on_attempt(em_tcp_conn *conn, int status) {
    attempt *a = EM_CONTAINER_OF(conn, attempt, conn);
    happy *h = a->h;
    a->live = false;
    h->live--;
    if (status) {
        h->last_err = status;
        em_tcp_conn_close(conn, attempt_closed);
        em_timer_stop(&h->next_timer); /* §5: the next attempt starts now */
        pump(h);
        return;
    }
    /* The winner: out of the list (its memory waits for the task: we are
     * inside its callback), into c. */
    unlink_attempt(h, a);
    h->winner = a;
    queue_task(h);
    stop(h);
    em_tcp_conn *c = h->c;
    h->c = NULL;
    em__tcp_ext_free(c); /* the move below puts the winner's in its place */
    int err = em_tcp_conn_move(c, conn, h->cbs);
    h->cb(c, err); /* on an error c holds the socket: the user closes it */
}

static int start_attempt(happy *h, const em_ip *ip) {
    attempt *a = calloc(1, sizeof *a);
    if (!a)
        return EM_ENOMEM;
    em_sockaddr addr;
    em_sockaddr_from_ip(&addr, ip, h->port);
    int err = em_tcp_conn_connect(h->loop, &a->conn, &addr, h->cbs, h->conn_opts, on_attempt);
    if (err) {
        free(a);
        return err;
    }
    a->h = h;
    a->live = true;
    a->next = h->attempts;
    if (h->attempts)
        h->attempts->prev = a;
    h->attempts = a;
    h->live++;
    return 0;
}

/* §4: the first attempt goes to the family whose first address RFC 6724
 * puts ahead when both are known (IPv6 unless, e.g., it is a ULA or has no
 * route), IPv6 when only it is; then alternate, taking new answers as they
 * come. */
static int first_family(const happy *h) {
    if (!h->n[0] || !h->n[1])
        return h->n[1] ? 1 : 0;
    em_ip d[2] = {h->ips[1][0], h->ips[0][0]};
    em_dns_sort(d, 2);
    return d[0].family == EM_IP_V6 ? 1 : 0;
}

static const em_ip *next_ip(happy *h) {
    int want = h->last_fam == 0 ? first_family(h) : h->last_fam == 6 ? 0 : 1;
    if (h->next[want] >= h->n[want])
        want = 1 - want;
    if (h->next[want] >= h->n[want])
        return NULL;
    h->last_fam = want ? 6 : 4;
    return &h->ips[want][h->next[want]++];
}

/* Start attempts while the gate is open and no attempt delay is running;
 * fail once nothing is connecting and nothing more can come. */
static void pump(happy *h) {
    while (!h->done && h->gate_open && !em_timer_active(&h->next_timer)) {
        const em_ip *ip = next_ip(h);
        if (!ip)
            break;
        int err = start_attempt(h, ip);
        if (err) { /* refused at once (no route, ...): on to the next */
            h->last_err = err;
            continue;
        }
        em_timer_start(&h->next_timer, h->attempt_delay, 0);
    }
    if (h->done || h->live > 0 || em_dns_lookup_active(&h->lookup))
        return;
    if (h->next[0] < h->n[0] || h->next[1] < h->n[1])
        return; /* the resolution delay still holds them back */
    fail(h, final_error(h));
}

static void on_next_timer(em_timer *t) {
    pump(EM_CONTAINER_OF(t, happy, next_timer));
}

static void on_resolution_timer(em_timer *t) {
    happy *h = EM_CONTAINER_OF(t, happy, resolution_timer);
    h->gate_open = true;
    pump(h);
}

static void on_deadline(em_timer *t) {
    fail(EM_CONTAINER_OF(t, happy, deadline), EM_ETIMEDOUT);
}

static void on_lookup(em_dns_lookup *l, int status, const em_dns_result *res) {
    happy *h = EM_CONTAINER_OF(l, happy, lookup);
    int idx = res->family == EM_DNS_V6 ? 1 : 0;
    h->dns_err[idx] = status;
    if (status == 0) {
        em_ip *ips = malloc(res->count * sizeof *ips);
        if (ips) {
            memcpy(ips, res->addrs, res->count * sizeof *ips);
            h->ips[idx] = ips;
            h->n[idx] = res->count;
        } else {
            h->dns_err[idx] = EM_ENOMEM;
        }
    }
    if (idx == 1 || !em_dns_lookup_active(l)) {
        h->gate_open = true;
        em_timer_stop(&h->resolution_timer);
    } else if (!h->gate_open && status == 0) {
        em_timer_start(&h->resolution_timer, h->resolution_delay, 0); /* §3 */
    }
    pump(h);
}

/* Closing c while racing (or after a failure): cancel everything; the
 * close callback comes from the task. */
static void happy_close(em_tcp_conn *c, em_tcp_close_cb cb) {
    happy *h = EM_CONTAINER_OF(em__tcp_ext(c)->happy, happy, hook);
    em__tcp_ext_free(c);
    stop(h);
    h->close_cb = cb;
    h->close_due = true;
    queue_task(h);
}

EM_API int em_tcp_conn_connect_host(em_loop *loop, em_tcp_conn *c, em_dns_resolver *r,
                                    const char *host, uint16_t port,
                                    const em_tcp_connect_opts *opts, em_tcp_connect_cb cb) {
    if (!loop || !c || !r || !host || !port || !opts || !cb || !opts->cbs ||
        !opts->cbs->on_read)
        return EM_EINVAL;
    unsigned delay = opts->attempt_delay_ms ? opts->attempt_delay_ms : EM_TCP_ATTEMPT_DELAY_MS;
    unsigned rdelay =
        opts->resolution_delay_ms ? opts->resolution_delay_ms : EM_TCP_RESOLUTION_DELAY_MS;
    if (delay < 100 || delay > 2000 || rdelay > 2000)
        return EM_EINVAL;
    happy *h = calloc(1, sizeof *h);
    struct em__tcp_ext *x = calloc(1, sizeof *x);
    if (!h || !x) {
        free(h);
        free(x);
        return EM_ENOMEM;
    }
    em_dns_lookup_opts lo = { .family = opts->family, .each_family = true };
    int err = em_dns_lookup_start(r, &h->lookup, host, &lo, on_lookup);
    if (err) {
        free(h);
        free(x);
        return err;
    }
    h->hook.close = happy_close;
    h->loop = loop;
    h->c = c;
    h->cb = cb;
    h->cbs = opts->cbs;
    if (opts->conn_opts) {
        h->conn_opts_copy = *opts->conn_opts;
        h->conn_opts = &h->conn_opts_copy;
    }
    h->port = port;
    h->attempt_delay = delay;
    h->resolution_delay = rdelay;
    h->task.cb = on_task;
    h->task.data = h;
    em_timer_init(loop, &h->next_timer, on_next_timer);
    em_timer_init(loop, &h->resolution_timer, on_resolution_timer);
    em_timer_init(loop, &h->deadline, on_deadline);
    em_timer_start(&h->deadline, opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS, 0);

    void *data = c->data;
    memset(c, 0, sizeof *c);
    c->data = data;
    em_buf_init(&c->in, 0);
    em_io_init(loop, &c->_io, -1, NULL); /* the loop, for em_tcp_conn_loop */
    x->happy = &h->hook;
    c->_io.data = x;
    return 0;
}

/* ---- the blocking face ------------------------------------------------ */

typedef struct blocking {
    em_dns_resolver r;
    em_tcp_conn c;
    int status;
    bool done, closed;
} blocking;

static void b_on_read(em_tcp_conn *c, ssize_t n) { (void)c, (void)n; }
static const em_tcp_conn_cbs b_cbs = { .on_read = b_on_read };

static void b_on_connect(em_tcp_conn *c, int status) {
    blocking *b = EM_CONTAINER_OF(c, blocking, c);
    b->status = status;
    b->done = true;
}

static void b_on_close(em_tcp_conn *c) {
    EM_CONTAINER_OF(c, blocking, c)->closed = true;
}

EM_API int em_tcp_connect_host(em_tcp_stream *s, const char *host, uint16_t port,
                               const em_tcp_connect_opts *opts) {
    em_tcp_stream_from_fd(s, -1);
    em_tcp_connect_opts o = { 0 };
    if (opts)
        o = *opts;
    o.cbs = &b_cbs;
    o.conn_opts = NULL;
    em_loop loop;
    int rc = em_loop_init(&loop);
    if (rc)
        return rc;
    blocking b;
    memset(&b, 0, sizeof b);
    rc = em_dns_resolver_init(&loop, &b.r, o.resolver);
    if (rc == 0) {
        rc = em_tcp_conn_connect_host(&loop, &b.c, &b.r, host, port, &o, b_on_connect);
        while (rc == 0 && !b.done) {
            int run = em_loop_run(&loop, EM_RUN_ONCE);
            if (run < 0)
                rc = run;
        }
        int fd = -1;
        if (rc == 0 && (rc = b.status) == 0) {
            /* The stream takes a duplicate; the connection closes its own. */
            fd = fcntl(em_tcp_conn_fd(&b.c), F_DUPFD_CLOEXEC, 0);
            if (fd < 0)
                rc = em_err_from_errno(errno);
        }
        if (rc == 0 && (rc = em_sock_set_nonblock(fd, false)) == 0)
            em_tcp_stream_from_fd(s, fd);
        else if (fd >= 0)
            close(fd);
        em_tcp_conn_close(&b.c, b_on_close); /* cancels a race still running */
        em_dns_resolver_close(&b.r, NULL);
        int run = em_loop_run(&loop, EM_RUN_DEFAULT); /* until all closed */
        if (rc == 0 && run < 0)
            rc = run;
    }
    if (em_loop_close(&loop) != 0 && rc == 0)
        rc = EM_EBUSY;
    if (rc)
        (void)em_tcp_stream_close(s);
    return rc;
}

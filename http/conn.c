/* The HTTP connection core: timers, reading on and off, the burst buffer,
 * flushing, the lingering close. Requests are the business of the layer
 * above, reached only through c->env->up. */
#include <stdlib.h>

#include "conn_internal.h"

/* A burst buffer that grew past this for one large response is freed once
 * sent, so one big answer does not pin memory for the loop's lifetime. */
#define BURST_KEEP (256 * 1024)

static em_http_conn *conn_of(em_tcp_conn *t) {
    return EM_CONTAINER_OF(t, em_http_conn, tcp);
}

static void on_read(em_tcp_conn *t, ssize_t n);
static void on_sent(em_tcp_conn *t, uint64_t token);
static void on_throttled(em_tcp_conn *t);
static void on_unthrottled(em_tcp_conn *t);
static void on_timer(em_timer *tm);
static void on_resume_task(em_task *task);

static const em_tcp_conn_cbs tcp_cbs = {
    .on_read = on_read,
    .on_sent = on_sent,
    .on_throttled = on_throttled,
    .on_unthrottled = on_unthrottled,
};

void em__http_conn_prepare(em_http_conn *c, em_loop *loop, struct em__http_env *env) {
    em_timer_init(loop, &c->timer, on_timer);
    c->timer.data = c;
    c->resume.cb = on_resume_task;
    c->resume.data = c;
    c->env = env;
}

int em__http_conn_init(em_http_conn *c, em_loop *loop, int fd, const em_tcp_conn_opts *o,
                       struct em__http_env *env) {
    int rc = em_tcp_conn_init(loop, &c->tcp, fd, &tcp_cbs, o);
    if (rc)
        return rc;
    em__http_conn_prepare(c, loop, env);
    return 0;
}

void em__http_conn_adopt(em_http_conn *c) {
    em_tcp_conn_set_cbs(&c->tcp, &tcp_cbs);
    c->flags |= CONN_PAUSED; /* reading is off until the layer above asks */
}

/* ---- timeouts -------------------------------------------------------------- */

void em__http_conn_set_timeout(em_http_conn *c, uint8_t kind) {
    if (kind == TMO_NONE || kind >= TMO_KINDS) {
        c->tmo = TMO_NONE;
        em_timer_stop(&c->timer);
        return;
    }
    if (kind == TMO_HEADER && c->tmo == TMO_HEADER)
        return; /* a deadline from the first byte: slowloris gains nothing */
    c->tmo = kind;
    em_timer_start(&c->timer, c->env->tmo_ms[kind], 0);
}

static void on_timer(em_timer *tm) {
    em_http_conn *c = tm->data;
    uint8_t kind = c->tmo;
    c->tmo = TMO_NONE;
    if (kind == TMO_LINGER) {
        em__http_conn_close(c, EM_ETIMEDOUT);
        return;
    }
    c->env->up->on_timeout(c, kind);
}

/* ---- reading --------------------------------------------------------------- */

void em__http_conn_reading(em_http_conn *c, bool on) {
    if (c->flags & CONN_CLOSED)
        return;
    if (!on && !(c->flags & CONN_PAUSED)) {
        c->flags |= CONN_PAUSED;
        em_tcp_conn_read_stop(&c->tcp);
    } else if (on && (c->flags & CONN_PAUSED)) {
        c->flags &= ~CONN_PAUSED;
        if (!(c->flags & CONN_PEER_EOF) && em_tcp_conn_read_start(&c->tcp) != 0)
            em__http_conn_close(c, EM_EIO);
    }
}

/* ---- output ------------------------------------------------------------------ */

em_buf *em__http_conn_claim_burst(em_http_conn *c) {
    struct em__http_burst *b = &c->env->burst;
    if (b->owner && b->owner != c)
        (void)em__http_conn_flush(b->owner);
    b->owner = c;
    return &b->buf;
}

static void arm_write_timeout(em_http_conn *c) {
    if (em_tcp_conn_queued(&c->tcp) && c->tmo != TMO_WRITE && c->tmo != TMO_LINGER)
        em__http_conn_set_timeout(c, TMO_WRITE);
}

int em__http_conn_flush(em_http_conn *c) {
    struct em__http_burst *b = &c->env->burst;
    if (b->owner != c)
        return (c->flags & CONN_CLOSED) ? EM_ECLOSED : 0;
    b->owner = NULL;
    int rc = 0;
    if (c->flags & CONN_CLOSED) {
        rc = EM_ECLOSED;
    } else if (em_buf_len(&b->buf)) {
        em_slice s = em_buf_slice(&b->buf);
        rc = em_tcp_conn_write(&c->tcp, &s, 1, EM_TCP_WRITE_COPY, NULL);
    }
    if (em_buf_cap(&b->buf) > BURST_KEEP)
        em_buf_free(&b->buf);
    else
        em_buf_clear(&b->buf);
    if (rc && rc != EM_ECLOSED) {
        em__http_conn_close(c, rc);
        return rc;
    }
    arm_write_timeout(c);
    return rc;
}

int em__http_conn_write(em_http_conn *c, const em_slice *s, unsigned n, unsigned flags,
                        uint64_t *token) {
    int rc = em__http_conn_flush(c);
    if (rc)
        return rc;
    rc = em_tcp_conn_write(&c->tcp, s, n, flags, token);
    if (rc == EM_ENOBUFS)
        return rc;
    if (rc) {
        em__http_conn_close(c, rc);
        return rc;
    }
    arm_write_timeout(c);
    return 0;
}

/* ---- closing ----------------------------------------------------------------- */

static void on_tcp_closed(em_tcp_conn *t) {
    em_http_conn *c = conn_of(t);
    c->env->up->on_free(c);
}

void em__http_conn_close(em_http_conn *c, int err) {
    if (c->flags & CONN_CLOSED)
        return;
    c->flags |= CONN_CLOSED;
    em_timer_stop(&c->timer);
    if (c->env->burst.owner == c) {
        em_buf_clear(&c->env->burst.buf);
        c->env->burst.owner = NULL;
    }
    c->env->up->on_close(c, err);
    /* A queued resume task runs before the deferred close callback (the
     * loop's tasks are FIFO), so on_free cannot come before it. */
    em_tcp_conn_close(&c->tcp, on_tcp_closed);
}

static void on_free_task(em_task *task) {
    em_http_conn *c = task->data;
    c->env->up->on_free(c);
}

void em__http_conn_moved(em_http_conn *c, em_loop *loop) {
    if (c->flags & CONN_CLOSED)
        return;
    c->flags |= CONN_CLOSED | CONN_MOVED;
    em_timer_stop(&c->timer);
    if (c->env->burst.owner == c) {
        em_buf_clear(&c->env->burst.buf);
        c->env->burst.owner = NULL;
    }
    c->env->up->on_close(c, 0);
    em__http_conn_free_later(c, loop);
}

void em__http_conn_free_later(em_http_conn *c, em_loop *loop) {
    /* The resume task is free or queued; either way it now frees c. */
    c->resume.cb = on_free_task;
    if (!(c->flags & CONN_RESUME_QUEUED)) {
        c->flags |= CONN_RESUME_QUEUED;
        em_loop_defer(loop, &c->resume);
    }
}

void em__http_conn_linger(em_http_conn *c) {
    if (c->flags & (CONN_CLOSED | CONN_LINGER))
        return;
    c->flags |= CONN_LINGER | CONN_CLOSE_AFTER;
    em_buf_clear(&c->tcp.in);
    if ((c->flags & CONN_PEER_EOF) && !em_tcp_conn_queued(&c->tcp)) {
        em__http_conn_close(c, 0);
        return;
    }
    (void)em_tcp_conn_shutdown(&c->tcp);
    if (c->tmo != TMO_WRITE)
        em__http_conn_set_timeout(c, TMO_LINGER);
    /* Reading on only to see the client's FIN; failing is harmless, the
     * linger timeout closes instead. */
    em__http_conn_reading(c, true);
}

/* ---- deferred work ----------------------------------------------------------- */

void em__http_conn_resume_later(em_http_conn *c) {
    if (c->flags & (CONN_RESUME_QUEUED | CONN_CLOSED))
        return;
    c->flags |= CONN_RESUME_QUEUED;
    em_loop_defer(em_tcp_conn_loop(&c->tcp), &c->resume);
}

static void on_resume_task(em_task *task) {
    em_http_conn *c = task->data;
    c->flags &= ~CONN_RESUME_QUEUED;
    if (!(c->flags & CONN_CLOSED))
        c->env->up->on_resume(c);
}

/* ---- TCP callbacks ---------------------------------------------------------- */

static void on_read(em_tcp_conn *t, ssize_t n) {
    em_http_conn *c = conn_of(t);
    if (n > 0 || n == EM_ENOBUFS) {
        if (n == EM_ENOBUFS)
            c->flags |= CONN_PAUSED; /* the input is full: tcp stopped reading */
        if (c->flags & CONN_LINGER)
            em_buf_clear(&t->in); /* no more requests: discard */
        else
            c->env->up->on_input(c);
        return;
    }
    if (n != EM_EOF) {
        em__http_conn_close(c, (int)n);
        return;
    }
    c->flags |= CONN_PEER_EOF;
    if (c->flags & CONN_LINGER) {
        if (!em_tcp_conn_queued(t))
            em__http_conn_close(c, 0);
        return;
    }
    c->env->up->on_eof(c);
}

static void on_sent(em_tcp_conn *t, uint64_t token) {
    em_http_conn *c = conn_of(t);
    if (em_tcp_conn_queued(t)) {
        if (c->tmo == TMO_WRITE)
            em__http_conn_set_timeout(c, TMO_WRITE); /* progress: re-arm */
    } else if (c->tmo == TMO_WRITE) {
        em__http_conn_set_timeout(c, (c->flags & CONN_LINGER) ? TMO_LINGER : TMO_NONE);
    }
    if ((c->flags & CONN_LINGER) && (c->flags & CONN_PEER_EOF) && !em_tcp_conn_queued(t)) {
        em__http_conn_close(c, 0);
        return;
    }
    c->env->up->on_sent(c, token);
}

static void on_throttled(em_tcp_conn *t) {
    em_http_conn *c = conn_of(t);
    c->env->up->on_throttle(c, true);
}

static void on_unthrottled(em_tcp_conn *t) {
    em_http_conn *c = conn_of(t);
    c->env->up->on_throttle(c, false);
}

/* ---- the public handle ------------------------------------------------------ */

void *em_http_conn_data(const em_http_conn *c) {
    return c->data;
}
void em_http_conn_set_data(em_http_conn *c, void *data) {
    c->data = data;
}
const em_sockaddr *em_http_conn_peer(const em_http_conn *c) {
    return &c->peer;
}
uint32_t em_http_conn_requests(const em_http_conn *c) {
    return c->nrequests;
}
em_tcp_conn *em_http_conn_tcp(em_http_conn *c) {
    return &c->tcp;
}

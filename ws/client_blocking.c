/* The blocking WebSocket client: em_ws_connect on a private loop that the
 * calls drive (ARCHITECTURE.md, principle 7: a thin layer over the loop
 * face, not a second implementation). Messages that arrive while the
 * caller is elsewhere wait in a queue until em_ws_recv. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws_conn_internal.h"

#define SEND_WAIT_MS 30000 /* send_timeout_ms 0: a blocking send waits this long */

typedef struct dial_msg {
    struct dial_msg *next;
    int opcode;
    size_t len;
    char data[]; /* len bytes and a NUL */
} dial_msg;

typedef struct dial {
    em_loop loop;
    em_ws *ws;
    /* The ws borrows its options (&o.ws) for as long as it lives, so the
     * copy lives here, not in em_ws_dial's frame. */
    em_ws_client_opts o;
    em_http_client_opts ho;
    dial_msg *head, *tail;
    bool open, closed;
    bool peer_closed; /* the peer's close frame came (answered by the core) */
    int close_code, err;
    char reason[128];
    size_t reason_len;
    int status;    /* a failed connect: the handshake answer's status */
    char why[160]; /* ... and em_ws_error's sentence */
} dial;

static dial *dial_of(const em_ws *ws) {
    return em_ws_data(ws);
}

static void d_open(em_ws *ws) {
    dial *d = dial_of(ws);
    d->open = true;
    em_ws_retain(ws); /* the handle outlives on_close until em_ws_dial_close */
}

static void d_message(em_ws *ws, int opcode, em_slice data) {
    dial *d = dial_of(ws);
    dial_msg *m = malloc(sizeof *m + data.len + 1);
    if (!m) {
        em_ws_abort(ws); /* no way to hand it over: end rather than lose it */
        d->err = EM_ENOMEM;
        return;
    }
    m->next = NULL;
    m->opcode = opcode;
    m->len = data.len;
    memcpy(m->data, data.ptr, data.len);
    m->data[data.len] = 0;
    if (d->tail)
        d->tail->next = m;
    else
        d->head = m;
    d->tail = m;
}

static void keep_close(dial *d, int code, em_slice reason) {
    d->close_code = code;
    d->reason_len = reason.len < sizeof d->reason ? reason.len : sizeof d->reason - 1;
    memcpy(d->reason, reason.ptr, d->reason_len);
    d->reason[d->reason_len] = 0;
}

/* The peer's close frame: em_ws_recv reports it at once, not when the
 * server's FIN (or the close timeout) ends the connection later. */
static void d_peer_close(em_ws *ws, int code, em_slice reason) {
    dial *d = dial_of(ws);
    d->peer_closed = true;
    keep_close(d, code, reason);
}

static void d_close(em_ws *ws, int code, int err, em_slice reason) {
    dial *d = dial_of(ws);
    d->closed = true;
    if (!d->peer_closed)
        keep_close(d, code, reason);
    if (!d->err)
        d->err = err;
    if (!d->open) {
        d->status = em_ws_http_status(ws);
        snprintf(d->why, sizeof d->why, "%s", em_ws_error(ws));
    }
}

static const em_ws_cbs dial_cbs = {.on_open = d_open,
                                   .on_message = d_message,
                                   .on_peer_close = d_peer_close,
                                   .on_close = d_close};

/* ---- driving the private loop ------------------------------------------------ */

typedef struct waiter {
    em_timer t;
    bool fired;
} waiter;

static void on_wait_timer(em_timer *t) {
    EM_CONTAINER_OF(t, waiter, t)->fired = true;
}

/* Run d's loop until done(d) or timeout_ms (-1: none). Returns whether
 * done(d) became true. */
static bool run_until(dial *d, bool (*done)(const dial *), int timeout_ms) {
    waiter w = {0};
    if (timeout_ms >= 0) {
        em_timer_init(&d->loop, &w.t, on_wait_timer);
        em_timer_start(&w.t, (uint64_t)timeout_ms, 0);
    }
    while (!done(d) && !w.fired && em_loop_active(&d->loop))
        if (em_loop_run(&d->loop, EM_RUN_ONCE) < 0)
            break;
    if (timeout_ms >= 0)
        em_timer_stop(&w.t);
    return done(d);
}

static bool opened_or_closed(const dial *d) {
    return d->open || d->closed;
}
static bool has_msg_or_closed(const dial *d) {
    return d->head || d->closed || d->peer_closed;
}
static bool closed(const dial *d) {
    return d->closed;
}
static bool drained(const dial *d) {
    return d->closed || !em_ws_queued(d->ws);
}

/* After every send on a dialed ws: block until the bytes left. The send
 * returns what this does: an end of the connection before they left
 * (the queue dropped) must not pass for a message sent. */
static int after_send(em_ws *ws) {
    dial *d = dial_of(ws);
    unsigned wait_ms = d->o.send_timeout_ms ? d->o.send_timeout_ms : SEND_WAIT_MS;
    if (!run_until(d, drained, wait_ms > INT_MAX ? INT_MAX : (int)wait_ms)) {
        d->err = EM_ETIMEDOUT;
        em_ws_abort(ws);
        return EM_ETIMEDOUT;
    }
    if (d->closed)
        return d->err ? d->err : EM_ECLOSED;
    return 0;
}

static void drop_queue(dial *d) {
    while (d->head) {
        dial_msg *m = d->head;
        d->head = m->next;
        free(m);
    }
    d->tail = NULL;
}

/* Close the loop once every handle on it has gone. Returns whether it
 * closed (else a handle is still on it, and d must leak rather than be
 * freed in use). */
static bool close_dial_loop(dial *d) {
    drop_queue(d);
    for (;;) {
        em_loop_run(&d->loop, EM_RUN_DEFAULT);
        int rc = em_loop_close(&d->loop);
        /* Busy with nothing active: another thread's em_ws_send_async
         * posted after the run. Its done must run (and the poster learn
         * EM_ECLOSED only from a closed loop), so run it and try again. */
        if (rc != EM_EBUSY || em_loop_active(&d->loop))
            return rc == 0;
    }
}

static void free_dial(dial *d) {
    if (close_dial_loop(d))
        free(d);
}

/* A reference kept past em_ws_dial_close (another thread's, for
 * em_ws_send_async) still reaches the loop through ws: the closed loop,
 * which refuses posts with EM_ECLOSED, lives as long as ws does. */
static void dial_on_free(em_ws *ws) {
    free(dial_of(ws));
}

int em_ws_dial(const char *url, const em_ws_client_opts *opts, em_ws **out) {
    return em_ws_dial_status(url, opts, out, NULL, NULL, 0);
}

int em_ws_dial_status(const char *url, const em_ws_client_opts *opts, em_ws **out, int *status,
                      char *why, size_t cap) {
    if (status)
        *status = 0;
    if (why && cap)
        *why = 0;
    if (!out)
        return EM_EINVAL;
    *out = NULL;
    dial *d = calloc(1, sizeof *d);
    if (!d)
        return EM_ENOMEM;
    int rc = em_loop_init(&d->loop);
    if (rc) {
        free(d);
        return rc;
    }
    d->ho = (em_http_client_opts){.proxy_from_env = true};
    d->o = opts ? *opts : (em_ws_client_opts){0};
    if (!d->o.http)
        d->o.http = &d->ho; /* the defaults: the proxy from the environment */
    rc = em_ws_connect(&d->loop, url, &d->o, &dial_cbs, d, &d->ws);
    if (rc) {
        free_dial(d);
        return rc;
    }
    run_until(d, opened_or_closed, -1);
    if (status)
        *status = d->open ? 101 : d->status;
    if (why && cap)
        snprintf(why, cap, "%s", d->open ? "" : d->why);
    if (!d->open) {
        rc = d->err ? d->err : EM_ECONNRESET;
        free_dial(d); /* on_close ran: the ws is gone */
        return rc;
    }
    d->ws->cold->after_send = after_send; /* a client's cold part exists */
    *out = d->ws;
    return 0;
}

int em_ws_recv(em_ws *ws, em_ws_msg *msg, int timeout_ms) {
    if (!ws || !msg)
        return EM_EINVAL;
    dial *d = dial_of(ws);
    memset(msg, 0, sizeof *msg);
    if (!run_until(d, has_msg_or_closed, timeout_ms))
        return EM_ETIMEDOUT;
    dial_msg *m = d->head;
    if (!m)
        return EM_ECLOSED;
    d->head = m->next;
    if (!d->head)
        d->tail = NULL;
    /* hand the node's bytes over as they are: data sits inside it */
    msg->opcode = m->opcode;
    msg->data = (em_slice){m->data, m->len};
    return 0;
}

void em_ws_msg_free(em_ws_msg *msg) {
    if (!msg || !msg->data.ptr)
        return;
    free((char *)msg->data.ptr - offsetof(dial_msg, data));
    msg->data = (em_slice){0};
}

int em_ws_dial_close_code(const em_ws *ws, em_slice *reason) {
    const dial *d = dial_of(ws);
    bool ended = d->closed || d->peer_closed;
    if (reason)
        *reason = ended ? (em_slice){d->reason, d->reason_len} : (em_slice){0};
    return ended ? d->close_code : EM_WS_CLOSE_ABNORMAL;
}

int em_ws_dial_close(em_ws *ws, int code) {
    /* em_ws_close's rule, checked first: a refused code sends nothing and
     * leaves ws open and the caller's. */
    if (!ws || (code && !em__ws_close_code_sendable(code)))
        return EM_EINVAL;
    dial *d = dial_of(ws);
    if (!d->closed) {
        ws->cold->after_send = NULL;
        /* After the peer's close (answered already) only the end is left;
         * EM_ECLOSED: a close is under way (the caller's em_ws_close, or a
         * failure), with the close timeout armed: wait for it too. */
        int rc = d->peer_closed
                     ? 0
                     : em_ws_close(ws, code ? code : EM_WS_CLOSE_NORMAL, (em_slice){0});
        if (rc && rc != EM_ECLOSED)
            em_ws_abort(ws);
        run_until(d, closed, -1); /* the core's close timeout bounds it */
    }
    int rc = d->err;
    if (close_dial_loop(d))
        ws->cold->on_free = dial_on_free;
    em_ws_release(ws); /* d goes with ws's last reference */
    return rc;
}

/* The end of a connection: the close handshake (RFC 6455 §7), failing the
 * connection on a protocol error, dropping it, the one timer (idle, auto
 * ping, close timeout) and on_close.
 *
 * After both close frames (or after failing), a server half-closes and
 * reads on, discarding, until the peer's FIN or the close timeout (§7.1.1:
 * the server closes the TCP connection first; reading to EOF keeps unread
 * bytes from turning our FIN into a reset that could destroy the close
 * frame in flight). A client waits for the server's FIN the same way. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "conn_private.h"

static inline uint32_t now32(const em_ws *ws) {
    return (uint32_t)em_loop_now(ws->loop);
}

/* ms from now until start + span (0 when past), wrap-safe. */
static uint64_t left_ms(uint32_t now, uint32_t start, unsigned span) {
    uint32_t gone = now - start;
    return gone >= span ? 0 : span - gone;
}

static void stop_timer(em_ws *ws) {
    if (ws->clock)
        em_timer_stop(&ws->clock->timer);
}

static void on_timer(em_timer *t);

/* ws's clock, made if it has none yet (both times start now); NULL on
 * ENOMEM. */
static em__ws_clock *clock_get(em_ws *ws) {
    if (!ws->clock) {
        em__ws_clock *k = malloc(sizeof *k);
        if (!k)
            return NULL;
        em_timer_init(ws->loop, &k->timer, on_timer);
        k->timer.data = ws;
        k->last_rx = k->ping_at = now32(ws);
        ws->clock = k;
    }
    return ws->clock;
}

static void on_tcp_closed(em_tcp_conn *t) {
    em__ws_finish(EM_CONTAINER_OF(t, em_ws, up.tcp));
}

static void close_tcp_now(em_ws *ws) {
    if (ws->flags & (WS_TCP_CLOSING | WS_CLOSED))
        return;
    ws->flags |= WS_TCP_CLOSING | WS_DRAIN;
    stop_timer(ws);
    em_http_upgraded_close(&ws->up, on_tcp_closed);
}

void em__ws_drop(em_ws *ws, int code, int err) {
    if (ws->flags & (WS_TCP_CLOSING | WS_CLOSED))
        return;
    ws->close_code = (uint16_t)code;
    ws->close_err = (int16_t)err;
    close_tcp_now(ws);
}

static bool handshake_done(const em_ws *ws) {
    return (ws->flags & (WS_SENT_CLOSE | WS_GOT_CLOSE)) == (WS_SENT_CLOSE | WS_GOT_CLOSE);
}

/* Write our close frame and start the close timeout. */
static int send_close(em_ws *ws, unsigned code, em_slice reason) {
    char p[EM_WS_MAX_CONTROL];
    size_t n = 0;
    if (code != EM_WS_CLOSE_NO_STATUS) {
        p[0] = (char)(code >> 8);
        p[1] = (char)code;
        if (reason.len) /* an empty reason may be (em_slice){0}: no memcpy from NULL */
            memcpy(p + 2, reason.ptr, reason.len);
        n = 2 + reason.len;
    }
    ws->flags |= WS_SENT_CLOSE;
    em__ws_clock *k = clock_get(ws); /* NULL: the arm below drops ws */
    if (k)
        k->ping_at = now32(ws);
    em__ws_timer_arm(ws);
    return em__ws_write_frame(ws, EM_WS_OP_CLOSE, 0, true, em_slice_make(p, n), NULL);
}

/* No more frames either way: end our side once the close is out and read
 * on to the peer's FIN. */
static void linger(em_ws *ws, bool shut) {
    ws->flags |= WS_DRAIN;
    em__ws_msg_free(ws);
    ws->flags &= ~(uint32_t)(WS_RX_BUF | WS_RX_DEFLATE);
    if (shut) {
        int rc = em_tcp_conn_shutdown(&ws->up.tcp);
        if (rc && rc != EM_ECLOSED)
            close_tcp_now(ws);
    }
}

void em__ws_fail(em_ws *ws, int err) {
    em__ws_fail_with(ws, em_ws_close_code(err), err);
}

void em__ws_fail_with(em_ws *ws, int code, int err) {
    if (ws->flags & (WS_DRAIN | WS_TCP_CLOSING | WS_CLOSED))
        return;
    ws->close_err = (int16_t)err;
    if (!(ws->flags & WS_SENT_CLOSE)) {
        ws->close_code = (uint16_t)code;
        if (send_close(ws, ws->close_code, em_slice_make("", 0)) != 0) {
            close_tcp_now(ws);
            return;
        }
    }
    linger(ws, true);
}

void em__ws_got_close(em_ws *ws, uint16_t code, em_slice reason) {
    em__ws_cold *c = em__ws_cold_get(ws);
    if (c && !c->ctl)
        c->ctl = malloc(1 + EM_WS_MAX_CONTROL);
    if (c && c->ctl) { /* kept for on_close; without memory the reason is lost */
        c->ctl[0] = (uint8_t)reason.len;
        memcpy(c->ctl + 1, reason.ptr, reason.len);
    }
    ws->flags |= WS_GOT_CLOSE;
    bool answer = !(ws->flags & WS_SENT_CLOSE);
    ws->close_code = code;
    ws->close_err = 0;
    if (answer && send_close(ws, code, em_slice_make("", 0)) != 0) {
        close_tcp_now(ws);
        return;
    }
    linger(ws, em__ws_role(ws) == EM_WS_ROLE_SERVER);
    if (answer && ws->cbs->on_peer_close)
        ws->cbs->on_peer_close(ws, code, reason);
}

void em__ws_tcp_error(em_ws *ws, int err) {
    if (ws->flags & (WS_TCP_CLOSING | WS_CLOSED))
        return;
    if (err == EM_EOF)
        err = EM_EUNEXPECTEDEOF;
    if (!handshake_done(ws) && ws->close_err == 0) {
        if (!(ws->flags & WS_SENT_CLOSE))
            ws->close_code = EM_WS_CLOSE_ABNORMAL;
        ws->close_err = (int16_t)err;
    }
    close_tcp_now(ws);
}

void em__ws_rx_activity(em_ws *ws) {
    if (ws->clock) /* none: no deadline counts from it (a new one starts now) */
        ws->clock->last_rx = now32(ws);
    ws->flags &= ~(uint32_t)WS_PING_OUT;
}

static unsigned ping_timeout(const em_ws *ws) {
    return ws->opts->ping_timeout_ms ? ws->opts->ping_timeout_ms : 30000;
}

void em__ws_timer_arm(em_ws *ws) {
    if (ws->flags & (WS_TCP_CLOSING | WS_CLOSED))
        return;
    const em_ws_opts *o = ws->opts;
    bool closing = (ws->flags & (WS_SENT_CLOSE | WS_DRAIN)) != 0;
    if (!closing && !o->idle_timeout_ms && !o->ping_interval_ms) {
        stop_timer(ws);
        return;
    }
    em__ws_clock *k = clock_get(ws);
    if (!k) {
        em__ws_drop(ws, EM_WS_CLOSE_ABNORMAL, EM_ENOMEM); /* never a deadline lost */
        return;
    }
    uint32_t now = now32(ws);
    uint64_t due = UINT64_MAX;
    if (closing) {
        due = left_ms(now, k->ping_at, em__ws_close_timeout(ws));
    } else {
        if (o->idle_timeout_ms)
            due = left_ms(now, k->last_rx, o->idle_timeout_ms);
        if (o->ping_interval_ms) {
            uint64_t d = (ws->flags & WS_PING_OUT) ? left_ms(now, k->ping_at, ping_timeout(ws))
                                                   : left_ms(now, k->last_rx, o->ping_interval_ms);
            if (d < due)
                due = d;
        }
    }
    em_timer_start(&k->timer, due, 0);
}

static void on_timer(em_timer *t) {
    em_ws *ws = t->data;
    em__ws_clock *k = ws->clock;
    uint32_t now = now32(ws);
    const em_ws_opts *o = ws->opts;
    if (ws->flags & (WS_SENT_CLOSE | WS_DRAIN)) {
        if (left_ms(now, k->ping_at, em__ws_close_timeout(ws)) > 0) {
            em__ws_timer_arm(ws);
            return;
        }
        if (!handshake_done(ws) && ws->close_err == 0)
            ws->close_err = (int16_t)EM_ETIMEDOUT;
        close_tcp_now(ws);
        return;
    }
    if (o->idle_timeout_ms && left_ms(now, k->last_rx, o->idle_timeout_ms) == 0) {
        em__ws_drop(ws, EM_WS_CLOSE_ABNORMAL, EM_ETIMEDOUT);
        return;
    }
    if (o->ping_interval_ms) {
        if (ws->flags & WS_PING_OUT) {
            if (left_ms(now, k->ping_at, ping_timeout(ws)) == 0) {
                em__ws_drop(ws, EM_WS_CLOSE_ABNORMAL, EM_ETIMEDOUT);
                return;
            }
        } else if (left_ms(now, k->last_rx, o->ping_interval_ms) == 0) {
            int rc = em__ws_write_frame(ws, EM_WS_OP_PING, 0, true, em_slice_make("", 0), NULL);
            if (rc && rc != EM_ENOBUFS) {
                em__ws_drop(ws, EM_WS_CLOSE_ABNORMAL, rc);
                return;
            }
            ws->flags |= WS_PING_OUT;
            k->ping_at = now;
        }
    }
    em__ws_timer_arm(ws);
}

bool em__ws_close_code_sendable(int code) {
    return code == 1000 || code == 1001 || code == 1003 || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

EM_API int em_ws_close(em_ws *ws, int code, em_slice reason) {
    if (!em__ws_close_code_sendable(code) || reason.len > EM_WS_MAX_CONTROL - 2 ||
        (reason.len && !reason.ptr) || !em_ws_utf8_valid(reason.ptr, reason.len))
        return EM_EINVAL;
    if (!(ws->flags & WS_STARTED) ||
        (ws->flags & (WS_SENT_CLOSE | WS_GOT_CLOSE | WS_DRAIN | WS_TCP_CLOSING | WS_CLOSED)))
        return EM_ECLOSED;
    ws->close_code = (uint16_t)code;
    int rc = send_close(ws, (unsigned)code, reason);
    if (rc)
        em__ws_drop(ws, code, rc);
    else if (EM__WS_COLD(ws, after_send) && em_tcp_conn_queued(&ws->up.tcp) > 0)
        (void)ws->cold->after_send(ws); /* last: ws is not touched after it */
    return 0;
}

EM_API void em_ws_abort(em_ws *ws) {
    if (ws->flags & (WS_TCP_CLOSING | WS_CLOSED))
        return;
    if (!(ws->flags & WS_STARTED)) {
        if (EM__WS_COLD(ws, client_cancel))
            ws->cold->client_cancel(ws);
        em__ws_fail_unstarted(ws, EM_ECANCELED);
        return;
    }
    em__ws_drop(ws, EM_WS_CLOSE_ABNORMAL, EM_ECANCELED);
}

void em__ws_on_shutdown(em_http_upgraded *u, bool now) {
    em_ws *ws = EM_CONTAINER_OF(u, em_ws, up);
    if (!now) {
        (void)em_ws_close(ws, EM_WS_CLOSE_GOING_AWAY, em_slice_make("", 0));
        return;
    }
    if (ws->flags & (WS_TCP_CLOSING | WS_CLOSED))
        return;
    if (!handshake_done(ws) && ws->close_err == 0) {
        if (!(ws->flags & WS_SENT_CLOSE))
            ws->close_code = EM_WS_CLOSE_ABNORMAL;
        ws->close_err = (int16_t)EM_ECANCELED;
    }
    close_tcp_now(ws);
}

void em__ws_on_forced_close(em_tcp_conn *tcp) {
    em_ws *ws = EM_CONTAINER_OF(tcp, em_ws, up.tcp);
    if (ws->flags & WS_CLOSED)
        return;
    if (!handshake_done(ws) && ws->close_err == 0) {
        if (!(ws->flags & WS_SENT_CLOSE))
            ws->close_code = EM_WS_CLOSE_ABNORMAL;
        ws->close_err = (int16_t)EM_ECANCELED;
    }
    em__ws_finish(ws);
}

static void free_mem(em_ws *ws) {
    free(ws->clock); /* stopped: em__ws_finish ran, or it was never armed */
    em__ws_msg_free(ws);
    if (ws->cold) {
        if (ws->cold->on_free)
            ws->cold->on_free(ws);
        free(ws->cold->ctl);
        free(ws->cold->pong);
        free(ws->cold->protocol);
        free(ws->cold->hs_error);
        free(ws->cold);
    }
    free(ws);
}

void em__ws_unref(em_ws *ws) {
    if (atomic_fetch_sub_explicit(&ws->refs, 1, memory_order_acq_rel) == 1)
        free_mem(ws);
}

void em__ws_finish(em_ws *ws) {
    if (ws->flags & WS_CLOSED)
        return;
    ws->flags |= WS_CLOSED | WS_TCP_CLOSING | WS_DRAIN;
    if (EM__WS_COLD(ws, on_finish))
        ws->cold->on_finish(ws); /* out of its topics first */
    stop_timer(ws);
    em__ws_pend_fail_all(ws, EM_ECLOSED);
    em__ws_msg_free(ws);
    if (ws->cold) {
        free(ws->cold->pong);
        ws->cold->pong = NULL;
    }
    em__ws_conn_pmd_free(ws);
    em_slice reason = em_slice_make("", 0);
    uint8_t *ctl = EM__WS_COLD(ws, ctl);
    if (ctl && (ws->flags & WS_GOT_CLOSE))
        reason = em_slice_make(ctl + 1, ctl[0]);
    int code = ws->close_code ? ws->close_code : EM_WS_CLOSE_ABNORMAL;
    ws->cbs->on_close(ws, code, ws->close_err, reason);
    if (ctl) {
        free(ctl);
        ws->cold->ctl = NULL;
    }
    em__ws_unref(ws);
}

/* A deferred call: the task is allocated (a connection has one pending
 * only around its start or its failure to start), so no em_ws carries one. */
struct deferred {
    em_task task; /* task.data: the ws */
    void (*fn)(em_ws *);
};

static void deferred_run(em_task *t) {
    struct deferred *d = EM_CONTAINER_OF(t, struct deferred, task);
    em_ws *ws = t->data;
    void (*fn)(em_ws *) = d->fn;
    free(d);
    fn(ws);
    em__ws_unref(ws);
}

int em__ws_defer(em_ws *ws, void (*fn)(em_ws *)) {
    struct deferred *d = malloc(sizeof *d);
    if (!d)
        return EM_ENOMEM;
    atomic_fetch_add_explicit(&ws->refs, 1, memory_order_relaxed);
    d->fn = fn;
    d->task.cb = deferred_run;
    d->task.data = ws;
    em_loop_defer(ws->loop, &d->task);
    return 0;
}

/* A ws that never started (the client's connect or handshake failed):
 * on_close from the loop, like any other end. */
void em__ws_fail_unstarted(em_ws *ws, int err) {
    if (ws->flags & (WS_STARTED | WS_TCP_CLOSING | WS_CLOSED))
        return;
    ws->flags |= WS_TCP_CLOSING;
    ws->close_code = EM_WS_CLOSE_ABNORMAL;
    ws->close_err = (int16_t)err;
    if (em__ws_defer(ws, em__ws_finish) != 0)
        em__ws_finish(ws); /* out of memory: on_close now rather than never */
}

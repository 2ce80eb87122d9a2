/* The WebSocket connection core: making a ws, starting it on a tcp
 * connection handed over by the server or the client, the tcp callbacks,
 * and the accessors. See conn_private.h for how the core's files stack. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "conn_private.h"

static const em_ws_opts default_opts;

static int set_protocol(em_ws *ws, const char *protocol) {
    char *p = NULL;
    if (protocol && *protocol && !(p = strdup(protocol)))
        return EM_ENOMEM;
    if (!p && !ws->cold)
        return 0;
    em__ws_cold *c = em__ws_cold_get(ws);
    if (!c) {
        free(p);
        return EM_ENOMEM;
    }
    free(c->protocol);
    c->protocol = p;
    return 0;
}

em_ws *em__ws_new(em_loop *loop, em_ws_role role, const em_ws_cbs *cbs, const em_ws_opts *opts,
                  void *data, const em__ws_pmd_params *pmd, const char *protocol) {
    if (!loop || !cbs || !cbs->on_close)
        return NULL;
    em_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    ws->loop = loop;
    ws->cbs = cbs;
    ws->opts = opts ? opts : &default_opts;
    ws->up.tcp.data = data;
    atomic_init(&ws->refs, 1);
    em_ws_frame_parser_init(&ws->parser, role);
    if (em__ws_settle(ws, pmd, protocol) != 0) {
        em__ws_free_unstarted(ws); /* the cold part and its protocol too */
        return NULL;
    }
    return ws;
}

int em__ws_settle(em_ws *ws, const em__ws_pmd_params *pmd, const char *protocol) {
    int rc = set_protocol(ws, protocol);
    if (rc)
        return rc;
    em__ws_conn_pmd_free(ws);
    if ((rc = em__ws_conn_pmd_new(ws, pmd)) != 0)
        return rc;
    em__ws_set_rx_limits(ws);
    return 0;
}

void em__ws_free_unstarted(em_ws *ws) {
    em__ws_conn_pmd_free(ws);
    em__ws_unref(ws);
}

static void open_ws(em_ws *ws) {
    if (ws->flags & (WS_TCP_CLOSING | WS_CLOSED))
        return;
    ws->flags |= WS_OPEN;
    if (ws->cbs->on_open)
        ws->cbs->on_open(ws);
    if (ws->flags & (WS_TCP_CLOSING | WS_CLOSED))
        return;
    int rc = em_tcp_conn_read_start(&ws->up.tcp);
    if (rc && rc != EM_EOF) {
        em__ws_tcp_error(ws, rc);
        return;
    }
    /* Bytes that came with the handshake; then the HTTP layer's buffer
     * goes, as after any read that left nothing. */
    if (em_buf_len(&ws->up.tcp.in))
        em__ws_read(ws);
    if (!(ws->flags & (WS_TCP_CLOSING | WS_CLOSED)) && em_buf_len(&ws->up.tcp.in) == 0)
        em_buf_free(&ws->up.tcp.in);
    if (rc == EM_EOF)
        em__ws_tcp_error(ws, EM_EOF);
}

int em__ws_start(em_ws *ws) {
    const em_ws_opts *o = ws->opts;
    ws->flags |= WS_STARTED;
    size_t high = o->high_watermark ? o->high_watermark : EM__WS_HIGH_WATERMARK;
    size_t low = o->low_watermark ? o->low_watermark : EM__WS_LOW_WATERMARK;
    if (low > high)
        low = high;
    int rc = em_tcp_conn_set_limits(&ws->up.tcp, high, low,
                                    o->max_queue ? o->max_queue : EM__WS_MAX_QUEUE);
    em_tcp_conn_set_read_chunk(&ws->up.tcp, EM__WS_READ_CHUNK);
    em__ws_rx_activity(ws);
    em__ws_timer_arm(ws);
    if (!rc)
        rc = em__ws_defer(ws, open_ws);
    if (rc)
        em__ws_tcp_error(ws, rc);
    return rc;
}

/* ---- tcp callbacks ---------------------------------------------------------- */

static void on_read(em_tcp_conn *t, ssize_t n) {
    em_ws *ws = EM_CONTAINER_OF(t, em_ws, up.tcp);
    if (n > 0 || n == EM_ENOBUFS) {
        em__ws_rx_activity(ws);
        if (ws->flags & WS_IN_READ) {
            /* A callback runs a loop (the blocking face): the read loop
             * below it takes these bytes when the callback returns. */
            if (n == EM_ENOBUFS)
                ws->flags |= WS_READ_PAUSED;
            return;
        }
        em__ws_read(ws);
        if (ws->flags & (WS_TCP_CLOSING | WS_CLOSED))
            return;
        /* An idle connection keeps no read buffer. */
        if (em_buf_len(&t->in) == 0)
            em_buf_free(&t->in);
        if (n == EM_ENOBUFS || (ws->flags & WS_READ_PAUSED)) {
            ws->flags &= ~(uint32_t)WS_READ_PAUSED;
            int rc = em_tcp_conn_read_start(t);
            if (rc)
                em__ws_tcp_error(ws, rc);
        }
        return;
    }
    if (n == EM_ENOMEM)
        em__ws_fail(ws, EM_ENOMEM);
    else
        em__ws_tcp_error(ws, (int)n);
}

static void on_sent(em_tcp_conn *t, uint64_t token) {
    em_ws *ws = EM_CONTAINER_OF(t, em_ws, up.tcp);
    em__ws_pend_sent(ws, token);
    if (ws->cbs->on_sent && !(ws->flags & WS_CLOSED))
        ws->cbs->on_sent(ws, token);
}

static void on_unthrottled(em_tcp_conn *t) {
    em_ws *ws = EM_CONTAINER_OF(t, em_ws, up.tcp);
    em__ws_flush_pong(ws);
    if (!(ws->flags & WS_FULL) || em_tcp_conn_throttled(t))
        return;
    ws->flags &= ~(uint32_t)WS_FULL;
    if (ws->cbs->on_unthrottled && !(ws->flags & (WS_TCP_CLOSING | WS_CLOSED)))
        ws->cbs->on_unthrottled(ws);
}

const em_tcp_conn_cbs em__ws_tcp_cbs = {
    .on_read = on_read,
    .on_sent = on_sent,
    .on_unthrottled = on_unthrottled,
};

/* ---- accessors ---------------------------------------------------------------- */

void em__ws_set_handshake_result(em_ws *ws, int status, const char *msg) {
    em__ws_cold *c = em__ws_cold_get(ws);
    if (!c)
        return; /* em_ws_http_status and em_ws_error then say nothing */
    c->hs_status = (uint16_t)status;
    free(c->hs_error);
    c->hs_error = msg && *msg ? strdup(msg) : NULL;
}

EM_API int em_ws_http_status(const em_ws *ws) {
    return EM__WS_COLD(ws, hs_status);
}

EM_API const char *em_ws_error(const em_ws *ws) {
    const char *e = EM__WS_COLD(ws, hs_error);
    return e ? e : "";
}

EM_API void em_ws_set_data(em_ws *ws, void *data) {
    ws->up.tcp.data = data;
}

EM_API void *em_ws_data(const em_ws *ws) {
    return ws->up.tcp.data;
}

EM_API em_loop *em_ws_loop(const em_ws *ws) {
    return ws->loop;
}

bool em__ws_closing(const em_ws *ws) {
    return !(ws->flags & WS_STARTED) ||
           (ws->flags & (WS_SENT_CLOSE | WS_GOT_CLOSE | WS_DRAIN | WS_TCP_CLOSING | WS_CLOSED));
}

EM_API em_ws_role em_ws_role_of(const em_ws *ws) {
    return em__ws_role(ws);
}

EM_API const char *em_ws_protocol(const em_ws *ws) {
    const char *p = EM__WS_COLD(ws, protocol);
    return p ? p : "";
}

EM_API bool em_ws_deflate_on(const em_ws *ws) {
    return em__ws_conn_pmd_on(ws);
}

EM_API size_t em_ws_queued(const em_ws *ws) {
    if (!(ws->flags & WS_STARTED) || (ws->flags & WS_CLOSED))
        return 0;
    return em_tcp_conn_queued(&ws->up.tcp);
}

EM_API size_t em_ws_memory(const em_ws *ws) {
    size_t n = sizeof *ws + em_ws_queued(ws);
    if (ws->clock)
        n += sizeof *ws->clock;
    if (!(ws->flags & WS_CLOSED))
        n += em_buf_cap(&ws->up.tcp.in);
    if (ws->cold) {
        n += sizeof *ws->cold + em_buf_cap(&ws->cold->msg);
        if (ws->cold->ctl)
            n += 1 + EM_WS_MAX_CONTROL;
        if (ws->cold->pong)
            n += 1 + EM_WS_MAX_CONTROL;
        if (ws->cold->protocol)
            n += strlen(ws->cold->protocol) + 1;
        if (ws->cold->hs_error)
            n += strlen(ws->cold->hs_error) + 1;
    }
    return n + em__ws_conn_pmd_memory(ws);
}

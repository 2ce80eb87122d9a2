/* Sending: whole messages, messages in parts, pings and pongs, with the
 * tcp connection's tokens and watermarks as they are (EM_WS_FULL when a
 * send crossed the high watermark). */
#include <stdlib.h>
#include <string.h>

#include "conn_private.h"

static int can_send(const em_ws *ws) {
    if (!(ws->flags & WS_STARTED) ||
        (ws->flags & (WS_SENT_CLOSE | WS_GOT_CLOSE | WS_DRAIN | WS_TCP_CLOSING | WS_CLOSED)))
        return EM_ECLOSED;
    return 0;
}

/* The result of a write for the caller. A broken socket ends the
 * connection (on_close follows from the loop). */
static int written(em_ws *ws, int rc) {
    if (rc == 0)
        return em__ws_after_write(ws);
    if (rc != EM_ENOBUFS && rc != EM_ENOMEM && rc != EM_EINVAL && rc != EM_ECLOSED)
        em__ws_tcp_error(ws, rc);
    return rc;
}

static bool data_opcode(int op) {
    return op == EM_WS_OP_TEXT || op == EM_WS_OP_BINARY;
}

EM_API int em_ws_send(em_ws *ws, int opcode, em_slice data, uint64_t *token) {
    if (!data_opcode(opcode) || (data.len && !data.ptr))
        return EM_EINVAL;
    int rc = can_send(ws);
    if (rc)
        return rc;
    if (ws->flags & WS_PART)
        return EM_EBUSY;
    if (opcode == EM_WS_OP_TEXT && !em_ws_utf8_valid(data.ptr, data.len))
        return EM_EPARSE;
    if (em__ws_conn_pmd_on(ws) && data.len >= em__ws_conn_pmd_min(ws)) {
        em_buf z;
        em_buf_init(&z, 0);
        rc = em__ws_conn_compress(ws, data, &z);
        if (!rc) {
            rc =
                em__ws_write_frame(ws, (unsigned)opcode, EM_WS_RSV1, true, em_buf_slice(&z), token);
            /* RFC 7692 §7.2.1: with context takeover the peer's window
             * must hold what ours does; a refused frame (EM_ENOBUFS: the
             * caller may go on) never reached it. */
            if (rc < 0)
                em__ws_conn_compress_unsent(ws);
        }
        em_buf_free(&z);
        return written(ws, rc);
    }
    return written(ws, em__ws_write_frame(ws, (unsigned)opcode, 0, true, data, token));
}

EM_API int em_ws_send_text(em_ws *ws, em_slice text, uint64_t *token) {
    return em_ws_send(ws, EM_WS_OP_TEXT, text, token);
}

EM_API int em_ws_send_binary(em_ws *ws, em_slice data, uint64_t *token) {
    return em_ws_send(ws, EM_WS_OP_BINARY, data, token);
}

/* Parts go uncompressed: RFC 7692 lets each message choose, and
 * em__ws_pmd_compress takes whole messages. */
EM_API int em_ws_send_part(em_ws *ws, int opcode, em_slice data, bool fin, uint64_t *token) {
    if (data.len && !data.ptr)
        return EM_EINVAL;
    int rc = can_send(ws);
    if (rc)
        return rc;
    bool open = ws->flags & WS_PART;
    if (open ? opcode != EM_WS_OP_CONT : !data_opcode(opcode))
        return open && data_opcode(opcode) ? EM_EBUSY : EM_EINVAL;
    bool text = open ? (ws->flags & WS_PART_TEXT) : opcode == EM_WS_OP_TEXT;
    /* A text message left open keeps its validator in the cold part. */
    em_ws_utf8 v = open && text ? ws->cold->tx_utf8 : (em_ws_utf8){0};
    if (text &&
        (em_ws_utf8_feed(&v, data.ptr, data.len) != 0 || (fin && em_ws_utf8_end(&v) != 0))) {
        /* The peer holds a text message it can never finish. */
        if (open)
            em__ws_fail_with(ws, EM_WS_CLOSE_INTERNAL, EM_EPARSE);
        return EM_EPARSE;
    }
    if (text && !fin && !em__ws_cold_get(ws))
        return EM_ENOMEM;
    rc = em__ws_write_frame(ws, (unsigned)opcode, 0, fin, data, token);
    if (rc == 0) {
        if (text && !fin)
            ws->cold->tx_utf8 = v;
        else if (text && open) /* over: its validator leaves the cold part */
            ws->cold->tx_utf8 = (em_ws_utf8){0};
        ws->flags &= ~(uint32_t)(WS_PART | WS_PART_TEXT);
        if (!fin)
            ws->flags |= WS_PART | (text ? WS_PART_TEXT : 0);
    }
    return written(ws, rc);
}

static int control(em_ws *ws, unsigned op, em_slice payload) {
    if (payload.len > EM_WS_MAX_CONTROL || (payload.len && !payload.ptr))
        return EM_EINVAL;
    int rc = can_send(ws);
    if (rc)
        return rc;
    rc = written(ws, em__ws_write_frame(ws, op, 0, true, payload, NULL));
    return rc == EM_WS_FULL ? 0 : rc;
}

EM_API int em_ws_ping(em_ws *ws, em_slice payload) {
    return control(ws, EM_WS_OP_PING, payload);
}

EM_API int em_ws_pong(em_ws *ws, em_slice payload) {
    return control(ws, EM_WS_OP_PONG, payload);
}

void em__ws_auto_pong(em_ws *ws, em_slice payload) {
    /* RFC 6455 §5.5.2: a pong is owed "unless it already received a Close
     * frame"; our own close stops only data frames (§5.5.1). */
    if (ws->flags & (WS_GOT_CLOSE | WS_DRAIN | WS_TCP_CLOSING | WS_CLOSED))
        return;
    /* A peer that pings and does not read: keep only the latest ping to
     * answer (RFC 6455 §5.5.3 allows it) instead of growing the queue. */
    if (em_tcp_conn_throttled(&ws->up.tcp)) {
        em__ws_cold *c = em__ws_cold_get(ws);
        if (!c || (!c->pong && !(c->pong = malloc(1 + EM_WS_MAX_CONTROL))))
            return;
        c->pong[0] = (uint8_t)payload.len;
        memcpy(c->pong + 1, payload.ptr, payload.len);
        return;
    }
    int rc = em__ws_write_frame(ws, EM_WS_OP_PONG, 0, true, payload, NULL);
    if (rc && rc != EM_ENOBUFS)
        em__ws_tcp_error(ws, rc);
}

void em__ws_flush_pong(em_ws *ws) {
    uint8_t *p = EM__WS_COLD(ws, pong);
    if (!p)
        return;
    ws->cold->pong = NULL;
    em__ws_auto_pong(ws, em_slice_make(p + 1, p[0]));
    free(p);
}

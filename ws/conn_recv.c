/* Reading: frames out of the tcp connection's input, into messages and
 * control frames. A message that arrives whole in one read is delivered
 * as a slice of the input (unmasked in place, no copy); one that is
 * fragmented, split across reads or compressed is assembled in the cold
 * part's msg, which is freed once it is delivered. TEXT is validated as
 * its bytes arrive, so invalid UTF-8 fails the connection (1007) at the
 * byte that decides it, not at the message's end (RFC 6455 §8.1). */
#include <stdlib.h>
#include <string.h>

#include "conn_private.h"

/* The opcode of the message being received: TEXT or BINARY. */
static inline int rx_op(const em_ws *ws) {
    return (ws->flags & WS_RX_TEXT) ? EM_WS_OP_TEXT : EM_WS_OP_BINARY;
}

/* Whether messages go to on_message_part. */
static bool streaming(const em_ws *ws) {
    return ws->cbs->on_message_part != NULL;
}

/* The parser enforces what it can as header bytes arrive: a message's
 * length when messages are whole and uncompressed (1009 before any of its
 * payload is read). Compressed messages are bounded after inflating; their
 * wire size gets room for incompressible data (and plain_too_big holds an
 * uncompressed one to the limit). Streams have no bound. */
void em__ws_set_rx_limits(em_ws *ws) {
    uint64_t lim = INT64_MAX;
    if (!streaming(ws)) {
        uint64_t m = em__ws_max_message(ws);
        lim = em__ws_conn_pmd_on(ws) ? (m < INT64_MAX / 2 ? m + m / 2 + 4096 : INT64_MAX) : m;
    }
    ws->parser.max_payload = lim;
    ws->parser.max_message = lim;
    ws->parser.rsv_allowed = em__ws_conn_pmd_on(ws) ? EM_WS_RSV1 : 0;
}

static bool stopped(const em_ws *ws) {
    return ws->flags & (WS_DRAIN | WS_TCP_CLOSING | WS_CLOSED);
}

static void control_frame(em_ws *ws, unsigned op, em_slice payload) {
    if (op == EM_WS_OP_PING) {
        em__ws_auto_pong(ws, payload);
        if (ws->cbs->on_ping && !stopped(ws))
            ws->cbs->on_ping(ws, payload);
    } else if (op == EM_WS_OP_PONG) {
        if (ws->cbs->on_pong)
            ws->cbs->on_pong(ws, payload);
    } else {
        uint16_t code;
        em_slice reason;
        int rc = em_ws_close_parse(payload.ptr, payload.len, &code, &reason);
        if (rc)
            em__ws_fail(ws, rc);
        else
            em__ws_got_close(ws, code, reason);
    }
}

/* A control frame's payload piece: whole in the input (no copy), or
 * gathered in the cold part's ctl when a read split it. */
static void control_piece(em_ws *ws, em_slice s, bool done) {
    unsigned op = ws->parser.frame.opcode;
    uint8_t *ctl = EM__WS_COLD(ws, ctl);
    if (done && !ctl && s.len == ws->parser.frame.len) {
        control_frame(ws, op, s);
        return;
    }
    if (!ctl) {
        em__ws_cold *c = em__ws_cold_get(ws);
        if (!c || !(c->ctl = malloc(1 + EM_WS_MAX_CONTROL))) {
            em__ws_fail(ws, EM_ENOMEM);
            return;
        }
        ctl = c->ctl;
        ctl[0] = 0;
    }
    memcpy(ctl + 1 + ctl[0], s.ptr, s.len);
    ctl[0] = (uint8_t)(ctl[0] + s.len);
    if (!done)
        return;
    char p[EM_WS_MAX_CONTROL];
    size_t n = ctl[0];
    memcpy(p, ctl + 1, n);
    free(ctl);
    ws->cold->ctl = NULL;
    control_frame(ws, op, em_slice_make(p, n));
}

static size_t seq_len(uint8_t lead) {
    return lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
}

/* Bytes at the end of valid UTF-8 p[0, n) that begin a code point not yet
 * complete. */
static size_t open_tail(const uint8_t *p, size_t n) {
    for (size_t i = 1; i <= 3 && i <= n; i++) {
        uint8_t b = p[n - i];
        if ((b & 0xC0) == 0x80)
            continue;
        return b >= 0xC0 && seq_len(b) > i ? i : 0;
    }
    return 0;
}

static void emit(em_ws *ws, const char *p, size_t n, bool last) {
    if ((n || last) && !stopped(ws))
        ws->cbs->on_message_part(ws, rx_op(ws), em_slice_make(p, n), last);
}

/* Streaming: hand data on as a piece; TEXT pieces end on whole code points
 * (a split one is carried to the next piece). */
static void stream(em_ws *ws, em_slice s, bool last) {
    if (rx_op(ws) != EM_WS_OP_TEXT) {
        emit(ws, s.ptr, s.len, last);
        return;
    }
    if (em_ws_utf8_feed(&ws->rx_utf8, s.ptr, s.len) != 0 ||
        (last && em_ws_utf8_end(&ws->rx_utf8) != 0)) {
        em__ws_fail(ws, EM_EPARSE);
        return;
    }
    const uint8_t *p = (const uint8_t *)s.ptr;
    size_t n = s.len;
    em__ws_cold *c = ws->cold; /* the carry lives there: few stream text */
    if (c && c->carry_n) {
        size_t need = seq_len(c->carry[0]) - c->carry_n;
        size_t k = need < n ? need : n;
        memcpy(c->carry + c->carry_n, p, k);
        c->carry_n = (uint8_t)(c->carry_n + k);
        p += k, n -= k;
        if (k < need)
            return; /* the validator saw a prefix: last cannot be true here */
        uint8_t cp[4];
        size_t cn = c->carry_n;
        memcpy(cp, c->carry, cn);
        c->carry_n = 0;
        emit(ws, (const char *)cp, cn, last && n == 0);
        if (n == 0)
            return;
    }
    size_t t = last ? 0 : open_tail(p, n);
    emit(ws, (const char *)p, n - t, last);
    if (t == 0)
        return;
    if (!(c = em__ws_cold_get(ws))) {
        em__ws_fail(ws, EM_ENOMEM);
        return;
    }
    memcpy(c->carry, p + n - t, t);
    c->carry_n = (uint8_t)t;
}

static void deliver(em_ws *ws, em_slice data) {
    if (!stopped(ws))
        ws->cbs->on_message(ws, rx_op(ws), data);
}

/* A compressed message's piece: inflate into the message, check the new
 * text. */
static int inflate_piece(em_ws *ws, em_slice s, bool last) {
    em_buf *m = em__ws_msg(ws);
    if (!m)
        return EM_ENOMEM;
    size_t before = em_buf_len(m);
    uint64_t limit = streaming(ws) ? UINT64_MAX : em__ws_max_message(ws);
    int rc = em__ws_conn_inflate(ws, s, last, limit, m);
    if (rc == 0 && rx_op(ws) == EM_WS_OP_TEXT && !streaming(ws)) {
        rc = em_ws_utf8_feed(&ws->rx_utf8, em_buf_data(m) + before, em_buf_len(m) - before);
        if (rc == 0 && last)
            rc = em_ws_utf8_end(&ws->rx_utf8);
    }
    return rc;
}

/* A streamed compressed piece is inflated this many input bytes at a
 * time, each result handed on before the next: deflate reaches 1032:1, so
 * one read of a bomb (64 KiB: 64 MiB inflated) still makes pieces of at
 * most about 1 MiB, which is what streaming is for. */
#define STREAM_Z_SLICE 1024

/* The piece s starts the tcp input (em__ws_read), which a callback may
 * move: its address is fetched anew after each one. */
static void inflate_stream(em_ws *ws, em_slice s, bool last) {
    em_buf *in = &ws->up.tcp.in;
    size_t off = 0;
    do {
        size_t k = s.len - off < STREAM_Z_SLICE ? s.len - off : STREAM_Z_SLICE;
        bool end = last && off + k == s.len;
        int rc = inflate_piece(ws, em_slice_make(s.ptr + off, k), end);
        if (rc != 0) {
            em__ws_fail(ws, rc);
            return;
        }
        em_buf out = ws->cold->msg; /* the piece leaves the message before the call */
        em_buf_init(&ws->cold->msg, 0);
        stream(ws, em_buf_slice(&out), end);
        em_buf_free(&out);
        if (end)
            em__ws_msg_free(ws);
        off += k;
        if (off < s.len && (stopped(ws) || em_buf_len(in) < s.len))
            return; /* failed or closing: the rest is not read */
        s.ptr = em_buf_data(in);
    } while (off < s.len);
}

static void data_piece(em_ws *ws, em_slice s, bool done) {
    const em_ws_frame *f = &ws->parser.frame;
    bool last = done && f->fin;
    int rc;
    if (ws->flags & WS_RX_DEFLATE) {
        if (streaming(ws)) {
            inflate_stream(ws, s, last);
            return;
        }
        if ((rc = inflate_piece(ws, s, last)) != 0) {
            em__ws_fail(ws, rc == EM_ENOMEM ? EM_ENOMEM : rc);
            return;
        }
        if (last) {
            deliver(ws, em_buf_slice(&ws->cold->msg));
            em__ws_msg_free(ws);
        }
        return;
    }
    if (streaming(ws)) {
        stream(ws, s, last);
        return;
    }
    if (!(ws->flags & WS_RX_BUF) && last && s.len == f->len && f->opcode != EM_WS_OP_CONT) {
        /* The whole message in one piece of the input: no copy. */
        if (rx_op(ws) == EM_WS_OP_TEXT && !em_ws_utf8_valid(s.ptr, s.len)) {
            em__ws_fail(ws, EM_EPARSE);
            return;
        }
        deliver(ws, s);
        return;
    }
    if (rx_op(ws) == EM_WS_OP_TEXT && (em_ws_utf8_feed(&ws->rx_utf8, s.ptr, s.len) != 0 ||
                                              (last && em_ws_utf8_end(&ws->rx_utf8) != 0))) {
        em__ws_fail(ws, EM_EPARSE);
        return;
    }
    ws->flags |= WS_RX_BUF;
    em_buf *m = em__ws_msg(ws);
    if (!m || (s.len && (rc = em_buf_append(m, s.ptr, s.len)) != 0)) {
        em__ws_fail(ws, !m ? EM_ENOMEM : rc == EM_ENOBUFS ? EM_EMSGSIZE : rc);
        return;
    }
    if (last) {
        ws->flags &= ~(uint32_t)WS_RX_BUF;
        deliver(ws, em_buf_slice(m));
        em__ws_msg_free(ws);
        em__ws_cold_trim(ws); /* the message was all it held, most often */
    }
}

/* A header is complete. */
static void frame_start(em_ws *ws) {
    const em_ws_frame *f = &ws->parser.frame;
    if ((f->opcode & 0x8) || f->opcode == EM_WS_OP_CONT)
        return;
    ws->flags =
        f->opcode == EM_WS_OP_TEXT ? ws->flags | WS_RX_TEXT : ws->flags & ~(uint32_t)WS_RX_TEXT;
    ws->rx_utf8 = (em_ws_utf8){0};
    if (ws->cold)
        ws->cold->carry_n = 0;
    ws->flags &= ~(uint32_t)(WS_RX_BUF | WS_RX_DEFLATE);
    if ((f->rsv & EM_WS_RSV1) && em__ws_conn_pmd_on(ws))
        ws->flags |= WS_RX_DEFLATE;
}

/* With deflate on, the parser's bound leaves room for compressed data; a
 * message that comes uncompressed is held to max_message itself, at the
 * header that crosses it. */
static bool plain_too_big(const em_ws *ws) {
    const em_ws_frame_parser *p = &ws->parser;
    return !(p->frame.opcode & 0x8) && !(ws->flags & WS_RX_DEFLATE) && !streaming(ws) &&
           em__ws_conn_pmd_on(ws) && p->_msg > em__ws_max_message(ws);
}

static void piece(em_ws *ws, em_slice s, bool done) {
    if (ws->parser.frame.opcode & 0x8)
        control_piece(ws, s, done);
    else
        data_piece(ws, s, done);
}

void em__ws_read(em_ws *ws) {
    em_buf *in = &ws->up.tcp.in;
    em_ws_frame_parser *p = &ws->parser;
    ws->flags |= WS_IN_READ;
    while (em_buf_len(in) > 0) {
        if (stopped(ws)) {
            em_buf_clear(in); /* after a close frame or a failure: ignored */
            break;
        }
        /* Fetched anew each round: a callback may have grown the buffer. */
        char *data = (char *)em_buf_data(in);
        size_t len = em_buf_len(in);
        if (em_ws_frame_left(p) == 0) {
            ssize_t n = em_ws_frame_parse(p, data, len);
            if (n == EM_EAGAIN) {
                em_buf_consume(in, len); /* the parser holds the partial header */
                break;
            }
            if (n < 0) {
                em_buf_clear(in);
                em__ws_fail(ws, (int)n);
                break;
            }
            em_buf_consume(in, (size_t)n);
            frame_start(ws);
            if (plain_too_big(ws)) {
                em_buf_clear(in);
                em__ws_fail(ws, EM_EMSGSIZE);
                break;
            }
            if (p->frame.len == 0)
                piece(ws, em_slice_make(em_buf_data(in), 0), true);
            continue;
        }
        em_slice s;
        ssize_t m = em_ws_frame_payload(p, data, len, &s);
        piece(ws, s, em_ws_frame_left(p) == 0);
        if (em_buf_len(in) >= (size_t)m)
            em_buf_consume(in, (size_t)m);
    }
    ws->flags &= ~(uint32_t)WS_IN_READ;
}

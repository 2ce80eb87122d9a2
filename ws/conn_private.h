/* Between the files of the WebSocket connection core only. They call in
 * one direction, each only the ones listed before it:
 *   conn_cold.c   the cold part (em__ws_cold_get), allocated on first use
 *   conn_write.c  frames onto the tcp connection, masking keys, the list
 *                 of completions waiting for send tokens, option defaults
 *   conn_pmd.c    the seam to permessage-deflate (deflate*.c)
 *   conn_close.c  the close handshake, failing, dropping, the end
 *                 (on_close), the timer (idle, auto ping, close), freeing
 *   conn_send.c   the public sends, parts, pings and pongs
 *   conn_async.c  retain/release, em_ws_send_async
 *   frame_buf.c   frames encoded once for many connections
 *   conn_recv.c   reading: frames to messages and control frames
 *   conn.c        making, starting, the tcp callbacks, accessors
 */
#ifndef EMBER_WS_CONN_PRIVATE_H
#define EMBER_WS_CONN_PRIVATE_H

#include "ws_conn_internal.h"

/* em_ws.flags */
enum {
    WS_STARTED = 0x1,      /* em__ws_start ran: the tcp connection is ours */
    WS_OPEN = 0x2,         /* on_open ran (or is due): sends may go */
    WS_SENT_CLOSE = 0x4,   /* our close frame is written */
    WS_GOT_CLOSE = 0x8,    /* the peer's close frame arrived */
    WS_DRAIN = 0x10,       /* no more frames: discard input until EOF */
    WS_TCP_CLOSING = 0x20, /* the tcp close is under way: on_close follows */
    WS_CLOSED = 0x40,      /* on_close ran (or an unstarted ws failed) */
    WS_PART = 0x80,        /* a message sent in parts is open */
    WS_PART_TEXT = 0x100,
    WS_FULL = 0x200,          /* a send returned EM_WS_FULL: on_unthrottled due */
    WS_PING_OUT = 0x400,      /* an automatic ping waits for anything back */
    WS_RX_DEFLATE = 0x800,    /* the message being received is compressed */
    WS_RX_BUF = 0x1000,       /* ... and is assembled in em__ws_msg */
    WS_IN_READ = 0x2000,      /* inside the read loop */
    WS_TX_NCT = 0x4000,       /* deflate: our compressor resets per message */
    WS_TX_W15 = 0x8000,       /* ... and has the full window */
    WS_READ_PAUSED = 0x10000, /* a nested read found the input full */
    WS_RX_TEXT = 0x20000,     /* the message being received is TEXT (else BINARY) */
};

/* A completion waiting until the tcp connection reports a token sent:
 * an em_ws_send_async's done, a frame buffer's reference. */
struct em__ws_pend {
    struct em__ws_pend *next;
    uint64_t token;
    /* err 0: sent; else why not (the connection ended). Frees p. */
    void (*fn)(em_ws *ws, struct em__ws_pend *p, int err);
};

/* ---- conn_write.c --------------------------------------------------------- */

/* em_ws_opts' defaults for the send queue. */
#define EM__WS_HIGH_WATERMARK (256u * 1024u)
#define EM__WS_LOW_WATERMARK  (64u * 1024u)
#define EM__WS_MAX_QUEUE      (64u * 1024u * 1024u)
/* Bytes reserved per read (capped by the connection's read_max, 64 KiB by
 * default): a frame under that size arrives in one recv, where the tcp
 * default (16 KiB) takes two for a 16 KiB message, whose header puts it 8
 * bytes past. The buffer is freed whenever a read leaves nothing in it. */
#define EM__WS_READ_CHUNK     (64u * 1024u)

/* The message being assembled (in the cold part, allocated if it is not
 * there yet); NULL on ENOMEM. */
em_buf *em__ws_msg(em_ws *ws);
/* Free what the message being assembled holds. */
void em__ws_msg_free(em_ws *ws);
uint64_t em__ws_max_message(const em_ws *ws);
unsigned em__ws_close_timeout(const em_ws *ws);
/* Write one frame (a server's unmasked, a client's masked into a copy),
 * the payload copied only if the kernel does not take it at once.
 * Returns em_tcp_conn_write's result. */
int em__ws_write_frame(em_ws *ws, unsigned opcode, unsigned rsv, bool fin, em_slice payload,
                       uint64_t *token);
/* Add p to run once token is sent. */
void em__ws_pend_add(em_ws *ws, struct em__ws_pend *p, uint64_t token);
/* Run the completions of every token <= token. */
void em__ws_pend_sent(em_ws *ws, uint64_t token);
/* Run every completion left with err. */
void em__ws_pend_fail_all(em_ws *ws, int err);
/* 0 or EM_WS_FULL after a write that succeeded; calls after_send and
 * returns its result. */
int em__ws_after_write(em_ws *ws);

/* ---- conn_pmd.c ----------------------------------------------------------- */

/* Whether ws has permessage-deflate on. */
bool em__ws_conn_pmd_on(const em_ws *ws);
/* Make ws's deflate state for p (NULL: none). 0 or EM_ENOMEM. */
int em__ws_conn_pmd_new(em_ws *ws, const em__ws_pmd_params *p);
void em__ws_conn_pmd_free(em_ws *ws);
int em__ws_conn_inflate(em_ws *ws, em_slice in, bool last, uint64_t limit, em_buf *out);
int em__ws_conn_compress(em_ws *ws, em_slice msg, em_buf *out);
/* The message em__ws_conn_compress made was not sent (em__ws_pmd_unsent). */
void em__ws_conn_compress_unsent(em_ws *ws);
size_t em__ws_conn_pmd_memory(const em_ws *ws);
/* Compress msg alone (no context: a frame for any connection whose
 * compressor resets per message). 0 or EM_ENOMEM. */
int em__ws_compress_alone(em_slice msg, em_buf *out);
/* Whether ws (a server) may send such a frame. */
bool em__ws_conn_pmd_shared_ok(const em_ws *ws);
/* The message size from which sends are compressed. */
size_t em__ws_conn_pmd_min(const em_ws *ws);

/* ---- conn_close.c --------------------------------------------------------- */

/* A protocol error (EM_EPROTO, EM_EPARSE, EM_EMSGSIZE, other: 1011): send
 * the close for it, stop reading frames, close once it is out. */
void em__ws_fail(em_ws *ws, int err);
void em__ws_fail_with(em_ws *ws, int code, int err);
/* The peer's valid close frame. */
void em__ws_got_close(em_ws *ws, uint16_t code, em_slice reason);
/* The tcp connection reported EOF or an error. */
void em__ws_tcp_error(em_ws *ws, int err);
/* Close the tcp connection now; on_close(code, err) follows. */
void em__ws_drop(em_ws *ws, int code, int err);
/* Something arrived: push the idle and ping deadlines back. */
void em__ws_rx_activity(em_ws *ws);
/* Arm the timer for the next deadline (after start and state changes). */
void em__ws_timer_arm(em_ws *ws);
/* Drop one reference; the last frees ws. Any thread. */
void em__ws_unref(em_ws *ws);
/* Call fn(ws) from the loop (a deferred task), holding a reference to ws
 * until it returned. Loop thread. 0 or EM_ENOMEM. */
int em__ws_defer(em_ws *ws, void (*fn)(em_ws *));
/* The end for a ws whose tcp connection is closed or was never ours:
 * on_close, then the connection's reference dropped. */
void em__ws_finish(em_ws *ws);

/* ---- conn_send.c ---------------------------------------------------------- */

/* Answer a ping (or keep it for on_unthrottled while the queue is full). */
void em__ws_auto_pong(em_ws *ws, em_slice payload);
/* The queue drained: send the kept answer. */
void em__ws_flush_pong(em_ws *ws);

/* ---- conn_recv.c ---------------------------------------------------------- */

/* Parse and dispatch what ws->up.tcp.in holds. */
void em__ws_read(em_ws *ws);
/* The parser's limits and reserved bits for ws's settings and pmd. */
void em__ws_set_rx_limits(em_ws *ws);

#endif

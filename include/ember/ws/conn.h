/** @file
 * ember ws, part two: WebSocket connections (RFC 6455) on the loop, for
 * both ends. A server accepts one from an HTTP handler or a route
 * ("ember/ws/server.h"); a client connects to a ws:// or wss:// URL
 * ("ember/ws/client.h"). Either way you get an em_ws: messages, pings,
 * the close handshake, timeouts, limits, permessage-deflate (RFC 7692)
 * and the same backpressure as HTTP streams. Included by "ember/ws.h".
 *
 *   static void on_message(em_ws *ws, int opcode, em_slice data) {
 *       (void)em_ws_send(ws, opcode, data, NULL);      // echo
 *   }
 *   static const em_ws_cbs cbs = { .on_message = on_message };
 *
 * Ownership: ember allocates an em_ws when the handshake succeeds and
 * frees it right after on_close returns. on_close runs exactly once for
 * every em_ws that on_open ran for, from the loop (never inside the call
 * that caused it); after it, a pointer you kept is dangling unless you
 * hold a reference (em_ws_retain), with which the calls below return
 * EM_ECLOSED and the memory lives until em_ws_release.
 *
 * Threading: an em_ws belongs to its loop's thread. Every function takes
 * calls from that thread only, except em_ws_retain, em_ws_release and
 * em_ws_send_async, which take calls from any thread.
 */
#ifndef EMBER_WS_CONN_H
#define EMBER_WS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ember/io.h"
#include "ember/runtime.h"
#include "ember/ws/frame.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A WebSocket connection, either end (opaque; ownership at the top of
 * this header). */
typedef struct em_ws em_ws;

/** Default of em_ws_opts.max_message: inclusive, 16 MiB exactly may come. */
#define EM_WS_MAX_MESSAGE_DEFAULT (16u * 1024u * 1024u)

/** permessage-deflate (RFC 7692) settings, for the offer a client makes
 * and the answer a server gives. Zero-filled: off.
 *
 * Memory per connection and direction that keeps its context (zlib 1.2.13,
 * measured by tests/ws/test_deflate.c): compressing, about 2^(w+2) bytes
 * for window bits w plus 2^(m+9) for mem_level m plus 6 KiB (w 15, m 8:
 * 262 KiB; w 9, m 8: 136 KiB; w 9, m 1: 9 KiB); decompressing, 2^w plus
 * 7 KiB (w 15: 39 KiB). A direction with no context takeover holds none of
 * it between messages (its thread's streams are shared), so for many idle
 * connections ask for both: a server setting both flags holds ~50 bytes per
 * idle connection for deflate. */
typedef struct em_ws_deflate_opts {
    bool enable; /**< client: offer it; server: accept an offer */
    /** Client: ask the server to reset its compressor after each message
     * (server_...; the server must agree) and promise to reset ours
     * (client_...). Server: reset ours (server_...), and require the
     * client to reset its own (client_...). Either side answers a
     * request from the other. */
    bool server_no_context_takeover;
    bool client_no_context_takeover; /**< see server_no_context_takeover */
    /** LZ77 window, 8..15 (0: 15; others: EM_EINVAL at the handshake).
     * A server lowers its own to server_max_window_bits and asks the
     * client to lower its to client_max_window_bits when the client
     * allowed it; a client offers these values. zlib cannot compress with
     * a window of 8 and uses 9, which never reaches back more than 250
     * bytes, so peers limited to 8 still read it. */
    uint8_t server_max_window_bits;
    uint8_t client_max_window_bits; /**< see server_max_window_bits */
    int level;           /**< zlib level 1..9; 0: 1 (fast) */
    size_t min_size;     /**< messages shorter than this go uncompressed; 0: 64 */
    unsigned mem_level;  /**< zlib memLevel 1..9 (less memory, less ratio); 0: 8 */
    /** Server, under memory pressure: once this many connections of the
     * process keep compression state between messages (context takeover
     * in either direction), further connections are answered with no
     * context takeover both ways, so they hold no zlib state while idle.
     * 0: no cap. */
    unsigned max_takeover;
} em_ws_deflate_opts;

/** Limits and timeouts of one connection. Zero-filled: the defaults. */
typedef struct em_ws_opts {
    /** A received message longer than this (after inflating) fails the
     * connection with 1009, as soon as the byte past it arrives. 0:
     * EM_WS_MAX_MESSAGE_DEFAULT. With on_message_part set, messages are
     * streamed in pieces instead and may be of any length. */
    uint64_t max_message;
    /** Automatic pings: when nothing arrived for ping_interval_ms, send a
     * ping; if nothing arrives within ping_timeout_ms after it, close with
     * 1006 (EM_ETIMEDOUT). 0: no pings (ping_timeout 0: 30 s). */
    unsigned ping_interval_ms;
    unsigned ping_timeout_ms; /**< see ping_interval_ms */
    /** Nothing received for this long (pings answered count): drop the
     * connection, on_close(1006, EM_ETIMEDOUT). 0: no idle limit. */
    unsigned idle_timeout_ms;
    /** After sending a close frame, how long to wait for the peer's
     * close (and, for a server, for the TCP close). 0: 5000 ms. */
    unsigned close_timeout_ms;
    /** Send queue watermarks and cap, in bytes, as em_tcp_conn_opts: a send
     * that crosses high_watermark returns EM_WS_FULL; on_unthrottled once
     * the queue fell to low_watermark; a send that would pass max_queue
     * fails with EM_ENOBUFS and sends nothing. 0: 256 KiB, 64 KiB and
     * 64 MiB. */
    size_t high_watermark;
    size_t low_watermark;       /**< see high_watermark */
    size_t max_queue;           /**< see high_watermark */
    em_ws_deflate_opts deflate; /**< permessage-deflate (off when zero-filled) */
} em_ws_opts;

/** Callbacks, all optional except on_close; all run on the loop thread. */
typedef struct em_ws_cbs {
    /** The connection is open: sending may start. Runs from the loop after
     * the handshake, before any on_message. */
    void (*on_open)(em_ws *ws);
    /** A whole message: opcode EM_WS_OP_TEXT (data is valid UTF-8) or
     * EM_WS_OP_BINARY. data is valid during the call only. */
    void (*on_message)(em_ws *ws, int opcode, em_slice data);
    /** Set it to stream messages instead: every piece as it arrives (for
     * TEXT, UTF-8 checked up to the piece, with a code point that spans
     * pieces carried over), last true on the message's final piece (which
     * may be empty). Then on_message is not called. */
    void (*on_message_part)(em_ws *ws, int opcode, em_slice data, bool last);
    /** A ping (already answered with a pong) or a pong arrived. */
    void (*on_ping)(em_ws *ws, em_slice payload);
    /** A pong arrived (an answer to em_ws_ping or to ember's own pings). */
    void (*on_pong)(em_ws *ws, em_slice payload);
    /** Every send with a token <= token has been taken by the kernel.
     * Tokens come from the tcp connection, which ember's own pongs, pings
     * and close frames use too: they grow, but not one by one. */
    void (*on_sent)(em_ws *ws, uint64_t token);
    /** A send returned EM_WS_FULL and the queue has drained to its low
     * watermark since. */
    void (*on_unthrottled)(em_ws *ws);
    /** The peer sent a close frame (code 1005 when it had none); ember
     * answers it and on_close follows once the TCP connection is closed.
     * Not called when the frame answers your em_ws_close.
     * Sends are refused (EM_ECLOSED) from here on. */
    void (*on_peer_close)(em_ws *ws, int code, em_slice reason);
    /** The end, exactly once. code: the peer's close code when the close
     * handshake completed (1005: none given), else the code ember sent
     * (1002, 1007, 1009, 1011, 1001 at shutdown) or 1006 when the
     * connection was lost without a close frame; err: 0 after a clean
     * close handshake, else why (EM_EPROTO, EM_EPARSE, EM_EMSGSIZE,
     * EM_ETIMEDOUT, EM_ECONNRESET, EM_EUNEXPECTEDEOF for a TCP end with
     * no close frame, ...). reason is valid during the call.
     * ws is freed when it returns (unless retained). Required. */
    void (*on_close)(em_ws *ws, int code, int err, em_slice reason);
} em_ws_cbs;

/** em_ws_send: taken, but the queue passed its high watermark: stop until
 * on_unthrottled. */
#define EM_WS_FULL 1

/** Send a whole message: opcode EM_WS_OP_TEXT (data must be valid UTF-8:
 * EM_EPARSE otherwise, nothing sent) or EM_WS_OP_BINARY. data is copied
 * only if the kernel does not take it at once (a server writes it beside
 * the frame header; a client masks a copy), so it may be reused when the
 * call returns. With deflate on, messages of at least min_size bytes are
 * compressed first. *token (may be
 * NULL) identifies the send for on_sent. Returns 0, EM_WS_FULL (taken;
 * wait for on_unthrottled), EM_ENOBUFS (past max_queue, nothing sent),
 * EM_EINVAL, EM_EPARSE, EM_EBUSY (a message sent in parts is open), or
 * EM_ECLOSED (closing or closed). */
EM_API EM_NODISCARD int em_ws_send(em_ws *ws, int opcode, em_slice data, uint64_t *token);
/** em_ws_send with EM_WS_OP_TEXT. */
EM_API EM_NODISCARD int em_ws_send_text(em_ws *ws, em_slice text, uint64_t *token);
/** em_ws_send with EM_WS_OP_BINARY. */
EM_API EM_NODISCARD int em_ws_send_binary(em_ws *ws, em_slice data, uint64_t *token);

/** Send a message in parts (fragments): the first call names the opcode
 * (TEXT or BINARY), later calls pass EM_WS_OP_CONT; fin ends the message.
 * TEXT parts may split a code point; the whole message must be valid
 * UTF-8 (checked as parts go: EM_EPARSE; a first part is just refused,
 * but when earlier parts went out the peer holds a message that can never
 * end, so the connection is failed with 1011).
 * Pings and pongs may go between parts; another message may not
 * (EM_EBUSY). Parts go uncompressed, deflate or not. Returns as
 * em_ws_send, or EM_ENOMEM (nothing sent) when the first part of a TEXT
 * message cannot get the few bytes its validator keeps. */
EM_API EM_NODISCARD int em_ws_send_part(em_ws *ws, int opcode, em_slice data, bool fin,
                                        uint64_t *token);

/** A ping or a pong with up to 125 bytes of payload. 0, EM_EINVAL,
 * EM_ECLOSED, EM_ENOBUFS. */
EM_API EM_NODISCARD int em_ws_ping(em_ws *ws, em_slice payload);
/** An unsolicited pong (a heartbeat the peer need not answer); as em_ws_ping. */
EM_API EM_NODISCARD int em_ws_pong(em_ws *ws, em_slice payload);

/** Start the close handshake: send a close frame with code (1000, 1001,
 * 1003, 1007-1014 or 3000-4999) and reason (UTF-8, at most 123 bytes),
 * stop sending, and wait close_timeout_ms for the peer's close; on_close
 * follows. Returns 0, EM_EINVAL (bad code or reason: nothing sent) or
 * EM_ECLOSED (already closing). */
EM_API int em_ws_close(em_ws *ws, int code, em_slice reason);
/** Drop the connection now, without a close frame: on_close(1006,
 * EM_ECANCELED) follows from the loop. */
EM_API void em_ws_abort(em_ws *ws);

/** Your pointer, and the values the handshake settled. */
EM_API void em_ws_set_data(em_ws *ws, void *data);
/** The pointer set with em_ws_set_data (or given to em_ws_accept or
 * em_ws_connect). */
EM_API void *em_ws_data(const em_ws *ws);
/** The loop ws belongs to (any thread may read it). */
EM_API em_loop *em_ws_loop(const em_ws *ws);
/** Which end ws is: EM_WS_ROLE_SERVER or EM_WS_ROLE_CLIENT. */
EM_API em_ws_role em_ws_role_of(const em_ws *ws);
/** The subprotocol chosen (Sec-WebSocket-Protocol), "" when none. */
EM_API const char *em_ws_protocol(const em_ws *ws);
/** Whether permessage-deflate is on for this connection. */
EM_API bool em_ws_deflate_on(const em_ws *ws);
/** Bytes queued for the socket, and whether sends are throttled. */
EM_API size_t em_ws_queued(const em_ws *ws);
/** Memory this connection holds now, in bytes, its em_ws included (zlib
 * state and buffers counted): for tests and metrics. */
EM_API size_t em_ws_memory(const em_ws *ws);

/* ---- from any thread ------------------------------------------------------ */

/** Keep ws's memory past on_close. Any thread; every retain needs one
 * release. */
EM_API void em_ws_retain(em_ws *ws);
/** Drop a reference taken with em_ws_retain; the last one after on_close
 * frees ws. Any thread. */
EM_API void em_ws_release(em_ws *ws);

/** The end of an em_ws_send_async: err 0 once the kernel took the message
 * (the same moment on_sent would report it), or why it was not sent
 * (EM_ECLOSED, EM_ENOBUFS, EM_EPARSE, ...). Runs on ws's loop thread. */
typedef void (*em_ws_sent_cb)(em_ws *ws, int err, void *arg);

/** Send a whole message from any thread, ws retained by the caller (or
 * known to be open): data is copied, the send is posted to ws's loop and
 * made there in the order of the calls of each thread, and done (may be
 * NULL) reports it. Returns 0 (done will run), EM_ENOMEM, EM_EINVAL, or
 * EM_ECLOSED (the loop is closing; done will not run). */
EM_API EM_NODISCARD int em_ws_send_async(em_ws *ws, int opcode, em_slice data,
                                         em_ws_sent_cb done, void *arg);

/* ---- broadcast: one frame encoded once, sent to many ---------------------- */

/** A whole message framed once for many connections (opaque,
 * reference-counted, immutable). */
typedef struct em_ws_frame_buf em_ws_frame_buf;

/** Encode a whole message once (unmasked: for sending from a server;
 * compressed too when deflate is true, for connections that negotiated
 * permessage-deflate with no server context takeover). The result is
 * reference-counted and immutable: send it to any number of server-side
 * connections, on any loop. Returns 0, EM_EINVAL, EM_EPARSE (TEXT not
 * UTF-8) or EM_ENOMEM. */
EM_API EM_NODISCARD int em_ws_frame_buf_new(em_ws_frame_buf **out, int opcode, em_slice data,
                                            bool deflate);
/** Take a reference to fb. Any thread. */
EM_API void em_ws_frame_buf_retain(em_ws_frame_buf *fb);
/** Drop a reference; the last one frees fb. Any thread. */
EM_API void em_ws_frame_buf_release(em_ws_frame_buf *fb);
/** Send fb on ws (a server-side connection, else EM_EINVAL; the compressed
 * form when ws has deflate with no server context takeover and a server
 * window of 15 bits, and fb has one, else the plain form). Holds a
 * reference until the kernel took it. Returns as em_ws_send. */
EM_API EM_NODISCARD int em_ws_send_frame_buf(em_ws *ws, em_ws_frame_buf *fb, uint64_t *token);

#ifdef __cplusplus
}
#endif
#endif

/* ws module internals: the seams between the connection core (conn*.c),
 * permessage-deflate (deflate*.c), the server handshake (server*.c,
 * handshake*.c) and the client (client*.c).
 *
 * Flow, server: em_ws_accept checks the request (handshake.c), negotiates
 * the subprotocol and permessage-deflate (em__ws_pmd_negotiate), makes a
 * ws with em__ws_new, answers 101 with em_http_upgrade(cx, 101, &ws->up,
 * &em__ws_tcp_cbs, em__ws_on_forced_close), sets ws->up.on_shutdown =
 * em__ws_on_shutdown, then em__ws_start(ws).
 * Flow, client: the HTTP client's upgrade call hands over its em_tcp_conn;
 * client.c checks the 101 (em__ws_accept_key, em__ws_pmd_accept), makes a
 * ws with em__ws_new, em_tcp_conn_move(&ws->up.tcp, tcp, &em__ws_tcp_cbs),
 * then em__ws_start(ws).
 */
#ifndef EMBER_WS_CONN_INTERNAL_H
#define EMBER_WS_CONN_INTERNAL_H

#include "ember/ws.h"

/* ---- permessage-deflate (deflate*.c) -------------------------------------- */

/* The parameters one connection settled (RFC 7692 §7.1). */
typedef struct em__ws_pmd_params {
    bool server_no_context_takeover;
    bool client_no_context_takeover;
    uint8_t server_max_window_bits; /* 8..15 */
    uint8_t client_max_window_bits; /* 8..15 */
} em__ws_pmd_params;

/* The longest extension value em__ws_pmd_offer or em__ws_pmd_negotiate
 * writes, NUL included, fits in this many bytes. */
#define EM__WS_PMD_EXT_MAX 160

/* Client: write the Sec-WebSocket-Extensions offer for o into buf (cap
 * bytes, NUL-terminated; "" when o->enable is false). Returns the length,
 * EM_ENOBUFS, or EM_EINVAL (a window size in o outside 0, 8..15). */
ssize_t em__ws_pmd_offer(const em_ws_deflate_opts *o, char *buf, size_t cap);
/* Server: pick the first acceptable permessage-deflate offer among the
 * request's Sec-WebSocket-Extensions values (all of them, joined by ","
 * as they came), settle the parameters under o and write the response's
 * extension value into resp. Returns 1 (accepted: *out and resp set), 0
 * (no acceptable offer, or o->enable false: answer without the
 * extension), EM_EPARSE (a malformed header: answer 400), EM_ENOBUFS (cap
 * under EM__WS_PMD_EXT_MAX) or EM_EINVAL (a window size in o outside 0,
 * 8..15). An offer with an unknown or repeated parameter or a bad value
 * is declined, not an error. */
int em__ws_pmd_negotiate(em_slice offers, const em_ws_deflate_opts *o, em__ws_pmd_params *out,
                         char *resp, size_t cap);
/* Client: check the server's Sec-WebSocket-Extensions answer (the empty
 * slice when the header is absent) against what o offered. Returns 1
 * (deflate on, *out set), 0 (no extension) or EM_EPROTO (anything not
 * offered or malformed: fail the connection). */
int em__ws_pmd_accept(em_slice answer, const em_ws_deflate_opts *o, em__ws_pmd_params *out);

/* One connection's compressor and decompressor. Zlib state exists only
 * while needed: a direction with context takeover makes its stream at its
 * first message and keeps it; a direction with no context takeover
 * borrows its thread's stream for each message and holds none between
 * messages. Use one em__ws_pmd from one thread at a time. Memory (zlib
 * 1.2.13, measured by tests/ws/test_deflate.c): deflate at window bits w
 * and memLevel m about 2^(w+2) + 2^(m+9) + 6 KiB (w 15, m 8: 262 KiB),
 * inflate 2^w + 7 KiB. */
typedef struct em__ws_pmd em__ws_pmd;

/* Make the state for role with the settled params and o's level and
 * mem_level (o may be NULL: the defaults). loop is unused (the shared
 * streams are per thread) and may be NULL, e.g. to compress a broadcast
 * frame. Allocates no zlib state yet. Returns NULL on ENOMEM. */
em__ws_pmd *em__ws_pmd_new(em_loop *loop, em_ws_role role, const em__ws_pmd_params *p,
                           const em_ws_deflate_opts *o);
void em__ws_pmd_free(em__ws_pmd *z);
/* Compress one whole message into out (appended; RFC 7692 §7.2.1: the
 * trailing 00 00 ff ff removed; the empty message is the one byte 00).
 * Returns 0, EM_ENOMEM, or EM_ENOBUFS (out's max); after an error what
 * was appended is garbage, and the next message does not depend on it. */
int em__ws_pmd_compress(em__ws_pmd *z, em_slice msg, em_buf *out);
/* The message just compressed was not sent: forget it, so the next one
 * does not refer to bytes the peer never saw. */
void em__ws_pmd_unsent(em__ws_pmd *z);
/* Inflate the next piece of a compressed message; last: the message's
 * final piece (the 00 00 ff ff tail is appended internally). Output is
 * appended to out; past limit total output bytes for this message:
 * EM_EMSGSIZE (stopped as soon as it is crossed, after out got exactly
 * limit bytes: zlib works in 16 KiB steps, so memory stays bounded;
 * UINT64_MAX: no limit). EM_EPARSE: corrupt data, a reference to bytes
 * zlib no longer holds, or a message cut inside a block (close 1007). (A
 * peer reaching past the negotiated window gets the right bytes or
 * EM_EPARSE depending on how its message was split: zlib checks against
 * its window plus the current 16 KiB output step.) Bytes
 * after a block with BFINAL set are ignored, as zlib does; an empty
 * payload is an empty message. out's max is honoured (EM_ENOBUFS past it).
 * Returns 0 or the error; errors are sticky (the stream is lost). */
int em__ws_pmd_inflate(em__ws_pmd *z, em_slice in, bool last, uint64_t limit, em_buf *out);
/* Connections of the process whose state keeps a context (either
 * direction), for em_ws_deflate_opts.max_takeover. Any thread. */
unsigned em__ws_pmd_takeovers(void);
/* Memory held now (zlib state included), for em_ws_memory. */
size_t em__ws_pmd_memory(const em__ws_pmd *z);

/* ---- handshake helpers (handshake.c) ------------------------------------- */

/* Sec-WebSocket-Accept for a key (base64 SHA-1 of key + the GUID, RFC
 * 6455 §4.2.2): 28 characters and a NUL into out. */
void em__ws_accept_key(em_slice key, char out[29]);
/* Whether key is the base64 form of exactly 16 bytes (24 characters). */
bool em__ws_key_valid(em_slice key);
/* A fresh client key (16 random bytes, base64) into out (25 bytes with
 * the NUL). Returns 0 or rnd's error. */
int em__ws_key_new(em_ws_random_cb rnd, void *ctx, char out[25]);

/* What the server's checks found in an opening handshake request; the
 * slices point into the request. */
typedef struct em__ws_hs {
    em_slice key;       /* Sec-WebSocket-Key */
    em_slice origin;    /* the first Origin; empty when none */
    size_t nextensions; /* Sec-WebSocket-Extensions fields */
    size_t ext_len;     /* their values joined by "," */
} em__ws_hs;
/* Check req as an opening handshake (RFC 6455 §4.2.1) and fill hs.
 * Returns 0, or the status to refuse it with: 405 (not GET), 505 (not
 * HTTP/1.1), 400 (a body; no Upgrade: websocket or no Connection: upgrade
 * in any of those fields; a Sec-WebSocket-Key missing, repeated or not 16
 * bytes in base64), 426 (Sec-WebSocket-Version missing, repeated or not
 * 13). Checked in that order. */
int em__ws_hs_check(const em_http_request *req, em__ws_hs *hs);
/* The index of the first of protocols (NULL-terminated, may be NULL) that
 * any Sec-WebSocket-Protocol field of req lists (exact compare), -1 for
 * none, or EM_EPARSE when an element is not a token. */
int em__ws_hs_protocol(const em_http_request *req, const char *const *protocols);
/* The Sec-WebSocket-Extensions values of req, joined by ",": the value
 * itself when there is one field, else written into buf (hs->ext_len
 * bytes). */
em_slice em__ws_hs_extensions(const em_http_request *req, const em__ws_hs *hs, char *buf);
/* Whether any Upgrade field of req lists "websocket". */
bool em__ws_hs_wants_websocket(const em_http_request *req);

/* ---- the client's check of a 101 (client_check.c) ---------------------- */

/* RFC 6455 §4.1's checks of the server's answer r to a handshake whose
 * expected Sec-WebSocket-Accept is accept, after offering protocols
 * (NULL-terminated, may be NULL) and deflate (may be NULL or not enabled).
 * Returns 0 with protocol (cap bytes; "" for none), *pmd and *deflate_on
 * set, or EM_EPROTO with *why a static phrase. */
int em__ws_client_check(const em_http_response *r, const char *accept,
                        const char *const *protocols, const em_ws_deflate_opts *deflate,
                        char *protocol, size_t cap, em__ws_pmd_params *pmd, bool *deflate_on,
                        const char **why);

/* ---- the connection core (conn*.c) --------------------------------------- */

/* struct em_ws is defined by the core (below, or in a header of its own
 * that this one includes). Fixed by this contract:
 *   em_http_upgraded up;             first member: the tcp connection is
 *                                    up.tcp; up._srv is NULL on a client
 *   void *client;                    client.c's state, opaque to the core
 *   void (*client_cancel)(em_ws *);  set by client.c while connecting: the
 *                                    core calls it from em_ws_abort on a
 *                                    ws not started yet (then fails it)
 *   int (*after_send)(em_ws *);      may be NULL; the core calls it after
 *                                    every send call that queued bytes
 *                                    (the blocking face waits there until
 *                                    the queue drained) and returns what
 *                                    it returns: 0, or why the bytes
 *                                    never left
 */

struct em__ws_pend; /* a completion waiting for a send token (conn_write.c) */

/* The deadlines' timer and the times they count from (loop ms, wrapping):
 * the last byte received (idle, auto ping), our close frame or automatic
 * ping (the answer's timeout). */
typedef struct em__ws_clock {
    em_timer timer;
    uint32_t last_rx, ping_at;
} em__ws_clock;

/* What few connections use: a client's handshake and hooks, topics, a
 * subprotocol, a handshake error, a ping held back, a control payload split
 * across reads, the peer's close reason, permessage-deflate, a text message
 * sent or streamed in parts, a message assembled across frames or reads.
 * Allocated on first use (em__ws_cold_get), so an idle server connection
 * without them carries one pointer. */
typedef struct em__ws_cold {
    void *client;
    void (*client_cancel)(em_ws *);
    int (*after_send)(em_ws *);
    /* May be NULL: called as ws's memory is freed (on whichever thread
     * dropped the last reference), for what must live exactly as long. */
    void (*on_free)(em_ws *);
    /* Topics (hub.c): this connection's subscriptions, and what the core
     * calls as it finishes (before on_close) to take it out of them. */
    void *subs;
    void (*on_finish)(em_ws *);
    /* Client masking keys (RFC 6455 §5.3). client.c sets these from its
     * opts after em__ws_new; NULL: getrandom, batched per thread. */
    em_ws_random_cb random;
    void *random_ctx;
    /* The latest unanswered ping while throttled (lazily; [0] is the
     * length): a peer that pings a connection that cannot write is rare. */
    uint8_t *pong;
    /* A control payload split across reads, then the peer's close reason
     * (lazily; [0] is the length). */
    uint8_t *ctl;
    char *protocol; /* NULL: "" */
    char *hs_error; /* NULL: "" */
    em__ws_pmd *pmd; /* NULL: no permessage-deflate (conn_pmd.c) */
    em_buf msg;      /* a message assembled across frames or reads (em__ws_msg) */
    em_ws_utf8 tx_utf8; /* a text message sent in parts, so far */
    uint16_t hs_status;
    uint8_t carry_n;
    uint8_t carry[4]; /* streamed TEXT: a code point split between pieces */
} em__ws_cold;

struct em_ws {
    em_http_upgraded up; /* up.tcp.data: the user's pointer (em_ws_set_data) */
    em__ws_cold *cold;   /* NULL until first needed */
    /* private to the core */
    em_loop *loop; /* fixed at em__ws_new: read from any thread */
    const em_ws_cbs *cbs;
    const em_ws_opts *opts;
    struct em__ws_pend *pend; /* the last of a circular list (conn_write.c) */
    em_ws_frame_parser parser;
    /* One timer for all deadlines (idle, auto ping, close) and the times
     * they count from, allocated when the first is set: with the default
     * options an open connection has none (conn_close.c). */
    struct em__ws_clock *clock;
    _Atomic unsigned refs;
    em_ws_utf8 rx_utf8;
    uint32_t flags;
    int16_t close_err;   /* an em_err: all fit 16 bits */
    uint16_t close_code; /* (the role is parser.role) */
};

/* The role, which the parser keeps. */
static inline em_ws_role em__ws_role(const em_ws *ws) {
    return (em_ws_role)ws->parser.role;
}

/* ws's cold part, allocated if it has none yet; NULL on ENOMEM. */
em__ws_cold *em__ws_cold_get(em_ws *ws);
/* Free ws's cold part if nothing in it is in use (after a message that
 * was assembled in it). */
void em__ws_cold_trim(em_ws *ws);
/* A field of the cold part, or its zero when there is none. */
#define EM__WS_COLD(ws, field) ((ws)->cold ? (ws)->cold->field : 0)

/* Make a ws for role, not yet started: its tcp is in ws->up.tcp once the
 * caller moved it there. opts/cbs are borrowed (must outlive ws); pmd
 * (may be NULL: no deflate) is copied; protocol (may be NULL) is copied.
 * Returns NULL on ENOMEM. */
em_ws *em__ws_new(em_loop *loop, em_ws_role role, const em_ws_cbs *cbs, const em_ws_opts *opts,
                  void *data, const em__ws_pmd_params *pmd, const char *protocol);
/* Client: the handshake settled these after em__ws_new (which the client
 * calls before connecting, with pmd and protocol NULL, so em_ws_connect
 * can hand out the handle at once): copy them into ws before em__ws_start.
 * Returns 0 or EM_ENOMEM. */
int em__ws_settle(em_ws *ws, const em__ws_pmd_params *pmd, const char *protocol);
/* Free a ws that was never started (its tcp was never moved in), with no
 * callback. */
void em__ws_free_unstarted(em_ws *ws);
/* A ws that was never started failed (client: connect or handshake):
 * on_close(ws, 1006, err, "") runs from the loop, then ws is freed (unless
 * retained). */
void em__ws_fail_unstarted(em_ws *ws, int err);
/* The tcp connection is in ws->up.tcp with em__ws_tcp_cbs: parse what is
 * already in ws->up.tcp.in, start reading and timers, and run on_open
 * from the loop. Returns 0 or an em_err (then the connection is closed and
 * on_close runs as for any failure). */
int em__ws_start(em_ws *ws);
/* The callbacks a ws sets on its tcp connection. */
extern const em_tcp_conn_cbs em__ws_tcp_cbs;
/* Whether em_ws_close accepts code (conn_close.c): 1000, 1001, 1003,
 * 1007-1014, 3000-4999. The blocking face checks with it too. */
bool em__ws_close_code_sendable(int code);
/* For em_http_upgrade's on_close and em_http_upgraded.on_shutdown
 * (server side): a shutdown sends 1001 (now == false) or drops (now). */
void em__ws_on_forced_close(em_tcp_conn *tcp);
void em__ws_on_shutdown(em_http_upgraded *u, bool now);
/* Whether ws can no longer send (closing, closed, or never started). */
bool em__ws_closing(const em_ws *ws);
/* The HTTP status and error sentence em_ws_http_status/em_ws_error give
 * (client.c sets them; msg copied). */
void em__ws_set_handshake_result(em_ws *ws, int status, const char *msg);

#endif

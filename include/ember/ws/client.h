/** @file
 * ember ws, part four: the client side. Connect to a ws:// or wss:// URL
 * on the loop (em_ws_connect) or block (em_ws_dial, em_ws_recv): the
 * opening handshake goes through the HTTP client, so names race with
 * Happy Eyeballs, wss:// is TLS with verification on, and an HTTP proxy
 * is reached with CONNECT, exactly as for https. Every frame is masked
 * with a fresh key from getrandom(2) (batched). Included by "ember/ws.h".
 *
 *   // blocking: about ten lines
 *   em_ws *ws;
 *   if (em_ws_dial("ws://127.0.0.1:8080/echo", NULL, &ws) != 0) ...;
 *   em_ws_send_text(ws, EM_SLICE_LIT("hello"), NULL);
 *   em_ws_msg m;
 *   if (em_ws_recv(ws, &m, 5000) == 0) printf("%.*s\n", (int)m.data.len, m.data.ptr);
 *   em_ws_msg_free(&m);
 *   em_ws_dial_close(ws, 1000);
 */
#ifndef EMBER_WS_CLIENT_H
#define EMBER_WS_CLIENT_H

#include "ember/http.h"
#include "ember/ws/conn.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How em_ws_connect and em_ws_dial connect. Zero-filled: the defaults. */
typedef struct em_ws_client_opts {
    em_ws_opts ws; /**< limits, timeouts, permessage-deflate offer */
    /** HTTP settings of the handshake: TLS context (wss), resolver,
     * connect timeout, proxy, user agent, cookie jar. NULL: defaults
     * (for em_ws_dial: proxy from the environment as curl does). */
    const em_http_client_opts *http;
    /** Extra request fields (Origin, Authorization, ...). Host, Upgrade,
     * Connection and Sec-WebSocket-* are the client's: EM_EINVAL. */
    const em_http_header *headers;
    size_t num_headers;     /**< entries in headers */
    /** Subprotocols to offer, best first, NULL-terminated (may be NULL).
     * The server must choose one of them or none (RFC 6455 §4.1). */
    const char *const *protocols;
    /** Opening handshake, connect included: EM_ETIMEDOUT past it. 0: 30 s. */
    unsigned handshake_timeout_ms;
    /** The blocking face only (em_ws_dial): how long a send waits for the
     * kernel to take its bytes (the socket stays full while the peer does
     * not read) before it returns EM_ETIMEDOUT and drops the connection.
     * 0: 30 s. */
    unsigned send_timeout_ms;
    /** Where masking keys come from. NULL: em_ws_random_os (getrandom). */
    em_ws_random_cb random;
    void *random_ctx;       /**< random's first argument */
} em_ws_client_opts;

/** Whether name is a field the handshake sets itself (Host, Upgrade,
 * Connection, Sec-WebSocket-*; ASCII case-insensitive), which
 * em_ws_client_opts.headers may not hold (EM_EINVAL). */
EM_API bool em_ws_client_header_reserved(em_slice name);

/** Connect to url (ws:// or wss://; http:// and https:// are taken as
 * their ws twins) on loop. on_open(ws) when the server answered 101 with
 * a valid Sec-WebSocket-Accept, subprotocol and extensions; otherwise
 * on_close(ws, 1006, err, reason) with err: what the HTTP client reports
 * (EM_ECONNREFUSED, EM_ENOTFOUND, EM_ETIMEDOUT, EM_ECERTVERIFY, ...),
 * EM_EHANDSHAKE for an answer other than 101 (a redirect included: it is
 * not followed; em_ws_http_status says which), EM_EPROTO for a 101 that
 * breaks RFC 6455 §4.1 (wrong accept key, a protocol or extension not
 * offered). cbs and opts must outlive the connection (opts' pointers are
 * borrowed until on_open or on_close). *out (may be NULL) gets the handle
 * at once (em_ws_abort cancels). Returns 0, or with nothing started and
 * no callback to come: EM_EINVAL (bad URL, header or option), EM_ENOTSUP
 * (another scheme), EM_ENOMEM. */
EM_API EM_NODISCARD int em_ws_connect(em_loop *loop, const char *url,
                                      const em_ws_client_opts *opts, const em_ws_cbs *cbs,
                                      void *data, em_ws **out);
/** The status of the handshake's answer (101 once open; the refusal's
 * status, 0 when none arrived) and a sentence on why a connect failed
 * ("" when it did not). Valid until ws is freed. */
EM_API int em_ws_http_status(const em_ws *ws);
/** Why a connect failed, in a sentence ("" when it did not); valid until
 * ws is freed. */
EM_API const char *em_ws_error(const em_ws *ws);

/* ---- blocking face (a private loop driven by these calls) ---------------- */

/** A received message, owned by you after em_ws_recv. */
typedef struct em_ws_msg {
    int opcode;   /**< EM_WS_OP_TEXT or EM_WS_OP_BINARY */
    em_slice data; /**< NUL-terminated too (not counted in len) */
} em_ws_msg;

/** Connect and wait for the handshake (opts may be NULL). *out is an em_ws
 * on a private loop: em_ws_send_text/_binary/_send/_ping work on it as
 * usual (they send before returning, waiting while the socket is full; a
 * connection that ends before the bytes left makes them return its error,
 * and a socket full for send_timeout_ms (30 s) EM_ETIMEDOUT, the
 * connection then dropped),
 * messages are read with em_ws_recv, and it ends with em_ws_dial_close.
 * Returns 0 or the errors on_close would give on the loop (EM_EHANDSHAKE:
 * a refusal, whose status em_ws_dial_status tells; EM_EPROXY: the proxy
 * refused the tunnel). Any thread; one dialed em_ws is used by one thread
 * at a time. opts itself is copied and need not outlive the call; what its
 * pointers name keeps its own rules (em_http_client_opts.tls and .resolver
 * outlive the connection); opts->http NULL: the defaults, with the proxy
 * from the environment as curl reads it. */
EM_API EM_NODISCARD int em_ws_dial(const char *url, const em_ws_client_opts *opts, em_ws **out);
/** em_ws_dial that also says why a connect failed, as em_ws_http_status and
 * em_ws_error do on the loop: *status (may be NULL) gets the status of the
 * handshake's answer (101 once open, or for a 101 that broke RFC 6455
 * §4.1; 0 when no answer came), why (cap bytes, may be NULL) the sentence
 * ("" once open). */
EM_API EM_NODISCARD int em_ws_dial_status(const char *url, const em_ws_client_opts *opts,
                                          em_ws **out, int *status, char *why, size_t cap);
/** The next message, waiting up to timeout_ms (-1: no limit). Pings are
 * answered meanwhile. Returns 0 (*msg filled; free it with
 * em_ws_msg_free), EM_ETIMEDOUT (nothing yet; the connection is fine), or
 * EM_ECLOSED once the messages before the end are taken: as soon as the
 * peer's close frame came (em_ws_dial_close_code says how; the close is
 * answered for you) or an error ended the connection (EM_EPROTO,
 * EM_EPARSE, EM_EMSGSIZE, EM_ECONNRESET, ...). */
EM_API EM_NODISCARD int em_ws_recv(em_ws *ws, em_ws_msg *msg, int timeout_ms);
/** Free what em_ws_recv gave (NULL or an empty msg: nothing to do). */
EM_API void em_ws_msg_free(em_ws_msg *msg);
/** The close code and reason the peer's close frame gave, or the
 * connection ended with (1006 while open). */
EM_API int em_ws_dial_close_code(const em_ws *ws, em_slice *reason);
/** Send a close with code (0: 1000) unless the peer's came first, wait for
 * the end (close_timeout_ms at most), close and free ws. Returns 0 after a
 * clean close handshake, else the error that ended it; or EM_EINVAL for a
 * code em_ws_close refuses (1005, 1006, 1002, ...): then nothing was sent
 * and ws is still open and yours (call again with a valid code). */
EM_API int em_ws_dial_close(em_ws *ws, int code);

#ifdef __cplusplus
}
#endif
#endif

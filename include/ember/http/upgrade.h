/** @file
 * ember http, part four: leaving HTTP on a server connection. A 101
 * Switching Protocols (WebSocket, RFC 9110 §15.2.2) or a 2xx to CONNECT
 * (a tunnel, RFC 9110 §9.3.6) hands the TCP connection, with its transport
 * state, the bytes that followed the request, and anything still queued,
 * to a struct of yours, and HTTP stops: no more parsing, no HTTP timers.
 * Included by "ember/http.h".
 *
 *   static void ws_route(em_http_ctx *cx) {
 *       my_ws *w = calloc(1, sizeof *w);
 *       em_http_header_add(cx, EM_SLICE_LIT("Upgrade"), EM_SLICE_LIT("websocket"));
 *       ...
 *       if (em_http_upgrade(cx, 101, &w->up, &my_tcp_cbs) != 0) free(w);
 *   }
 *   // then w->up.tcp is an ordinary em_tcp_conn with your callbacks;
 *   // close it with em_http_upgraded_close(&w->up, on_closed) or
 *   // em_http_upgraded_end.
 */
#ifndef EMBER_HTTP_UPGRADE_H
#define EMBER_HTTP_UPGRADE_H

#include "ember/http/server.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct em_http_upgraded em_http_upgraded;

/** A connection taken out of the server. Embed it; find your struct with
 * EM_CONTAINER_OF. The server keeps it on a list only to tell it about a
 * graceful shutdown and to wait for it. */
struct em_http_upgraded {
    /** the connection; tcp.in holds the bytes after the request, and
     * tcp.data is the user's (em_http_upgrade keeps what it held) */
    em_tcp_conn tcp;
    /** The server is shutting down: now == false at the start of a
     * graceful shutdown (say goodbye: a WebSocket sends its close frame),
     * now == true at its deadline (close now). May be NULL: then the
     * server closes the connection at the deadline itself and calls the
     * close callback given to em_http_upgrade. */
    void (*on_shutdown)(em_http_upgraded *u, bool now);
    /** private */
    em_http_server *_srv;
    em_http_upgraded *_prev, *_next;
    /** what a close at the shutdown deadline calls; once
     * em_http_upgraded_close/_end ran, the callback they were given */
    em_tcp_close_cb _on_close;
};

/** Answer cx with status (101, or 2xx to a CONNECT request) and the headers
 * added with em_http_header_add (a 101 needs Upgrade; "Connection:
 * Upgrade" is added), then move the connection into u with callbacks cbs
 * (reading not started: call em_tcp_conn_read_start), and end cx. Bytes
 * already received after the request are in u->tcp.in. on_close (may be
 * NULL) is what a forced close at the shutdown deadline calls. Only from
 * the handler or later on the loop, for a request whose body was read
 * whole (no stream_bodies body pending). Returns 0; EM_EINVAL (bad status,
 * a request with a body still coming: nothing sent, answer cx otherwise);
 * EM_ECLOSED (cx ended, u untouched); EM_ECANCELED (a graceful shutdown
 * is under way: cx was answered 503 instead, without the added headers,
 * and ended; u untouched); or, rarely, an em_err from watching
 * the socket anew (cx ended and the connection is in u, unwatched: close
 * it with em_http_upgraded_close). */
EM_API EM_NODISCARD int em_http_upgrade(em_http_ctx *cx, int status, em_http_upgraded *u,
                                        const em_tcp_conn_cbs *cbs, em_tcp_close_cb on_close);
/** Close u's connection (em_tcp_conn_close semantics: cb runs from the
 * loop; free u there) and let the server stop waiting for it. Close an
 * upgraded connection only with these two, never with em_tcp_conn_close
 * or em_tcp_conn_end directly, or a shutdown waits for it until its
 * deadline. */
EM_API void em_http_upgraded_close(em_http_upgraded *u, em_tcp_close_cb cb);
/** The same once what is queued has been sent (em_tcp_conn_end). */
EM_API void em_http_upgraded_end(em_http_upgraded *u, em_tcp_close_cb cb);

#ifdef __cplusplus
}
#endif
#endif

/** @file
 * ember ws, part three: the server side. A WebSocket endpoint is an HTTP
 * route like any other, on the same port: the handler checks the opening
 * handshake (RFC 6455 §4.2), answers 101 and moves the connection into an
 * em_ws (see "ember/ws/conn.h"). Included by "ember/ws.h".
 *
 *   static const em_ws_cbs chat = { .on_message = on_msg, .on_close = on_close };
 *   static em_ws_server_opts wso = { .cbs = &chat };
 *   em_ws_route(&router, "/chat", &wso);       // beside ordinary routes
 *
 * or, from any handler (to look at the request first):
 *
 *   static void handler(em_http_ctx *cx) {
 *       if (!authorised(cx)) { em_http_respond(cx, 403, ...); return; }
 *       em_ws_accept(cx, &wso, user_data);
 *   }
 */
#ifndef EMBER_WS_SERVER_H
#define EMBER_WS_SERVER_H

#include "ember/http.h"
#include "ember/ws/conn.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A WebSocket endpoint: its callbacks, limits and handshake policy
 * (em_ws_accept, em_ws_route). */
typedef struct em_ws_server_opts {
    const em_ws_cbs *cbs; /**< required; must outlive the connections */
    em_ws_opts ws;        /**< limits, timeouts, permessage-deflate */
    /** Subprotocols this endpoint speaks, best first, NULL-terminated (may
     * be NULL): the first of these the client offers is chosen. A client
     * that offers only others gets no Sec-WebSocket-Protocol (RFC 6455
     * §4.2.2); set require_protocol to refuse it with 400 instead. */
    const char *const *protocols;
    bool require_protocol; /**< refuse (400) a client with no protocol in common */
    /** Return false to refuse the handshake with 403 (an Origin you do not
     * trust: browsers send it, RFC 6455 §10.2). origin is empty when the
     * request had none. May be NULL: every origin is allowed. */
    bool (*check_origin)(em_http_ctx *cx, em_slice origin, void *arg);
    void *arg; /**< check_origin's */
    /** private: the route's handler (em_ws_route fills it) */
    em_http_handler _route;
} em_ws_server_opts;

/** Check cx's request as an opening handshake and, if it is one, answer
 * 101 and make an em_ws (data: its user data; opts must outlive it):
 * on_open follows from the loop. Otherwise cx is answered with the error
 * (and no em_ws is made): 400 (no Upgrade: websocket, no Connection:
 * Upgrade, a Sec-WebSocket-Key that is not 16 bytes in base64, a request
 * with a body, a bad extension offer), 405 (not GET, with Allow: GET), 426
 * with Sec-WebSocket-Version: 13 (another version), 403 (check_origin
 * refused), 505 (not HTTP/1.1). cx is ended either way. Returns 0 when the
 * connection was upgraded, else the status sent or a negative em_err
 * (EM_ECLOSED: cx had already ended). After 0, data is the em_ws's: on_close
 * runs for it (free it there); otherwise no callback will see it. From
 * the handler or later on the loop, as em_http_upgrade. */
EM_API int em_ws_accept(em_http_ctx *cx, const em_ws_server_opts *opts, void *data);

/** Add a GET route for path on r whose handler is em_ws_accept(cx, opts,
 * NULL) (it fills opts->_route). opts must outlive the router. Returns as
 * em_http_router_add. */
EM_API EM_NODISCARD int em_ws_route(em_http_router *r, const char *path, em_ws_server_opts *opts);

/** Whether cx's request asks for a WebSocket (Upgrade: websocket), for a
 * handler that serves both on one path. */
EM_API bool em_ws_is_upgrade(const em_http_ctx *cx);

#ifdef __cplusplus
}
#endif
#endif

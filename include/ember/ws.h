/** @file
 * ember ws: WebSocket (RFC 6455). An umbrella over the module's
 * sub-headers, each of which can be included on its own:
 *
 *   ember/ws/frame.h   the frame codec: parser, serializer, masking and
 *                      incremental UTF-8 validation (pure functions over
 *                      your bytes)
 *   ember/ws/conn.h    a WebSocket connection on the loop, either end:
 *                      messages, close, pings, limits, backpressure,
 *                      permessage-deflate, sending from any thread
 *   ember/ws/server.h  accepting WebSockets from HTTP routes
 *   ember/ws/client.h  connecting to ws:// and wss:// URLs, on the loop
 *                      or blocking
 *   ember/ws/hub.h     topics: publish to subscribers on every loop, from
 *                      any thread
 */
#ifndef EMBER_WS_H
#define EMBER_WS_H

#include "ember/http.h"
#include "ember/ws/frame.h"
#include "ember/ws/conn.h"
#include "ember/ws/server.h"
#include "ember/ws/client.h"
#include "ember/ws/hub.h"

#endif

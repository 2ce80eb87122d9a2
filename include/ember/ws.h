/* ember ws: WebSocket (RFC 6455). An umbrella over the module's
 * sub-headers, each of which can be included on its own:
 *
 *   ember/ws/frame.h   the frame codec: parser, serializer, masking and
 *                      incremental UTF-8 validation (pure functions over
 *                      your bytes)
 */
#ifndef EMBER_WS_H
#define EMBER_WS_H

#include "ember/http.h"
#include "ember/ws/frame.h"

#endif

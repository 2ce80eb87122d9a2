/** @file
 * ember http: HTTP/1.1 for servers and clients. An umbrella over the
 * module's sub-headers, each of which can be included on its own:
 *
 *   ember/http/parse.h   request/response/chunked parsers, field lookups,
 *                        URL helpers (pure functions over your bytes)
 *   ember/http/router.h  method + path patterns to targets
 *   ember/http/server.h  handlers, responses, streaming, connections, the
 *                        server
 *   ember/http/upgrade.h 101 upgrades and CONNECT tunnels: the connection
 *                        moves out of HTTP
 *   ember/http/client.h  making requests: on a loop, pooled, or blocking
 *   ember/http/encoding.h content codings (gzip, deflate): decoders with
 *                        bomb caps, encoders, the compression middleware
 */
#ifndef EMBER_HTTP_H
#define EMBER_HTTP_H

#include "ember/http/parse.h"
#include "ember/http/router.h"
#include "ember/http/server.h"
#include "ember/http/upgrade.h"
#include "ember/http/url.h"
#include "ember/http/client.h"
#include "ember/http/cookie.h"
#include "ember/http/encoding.h"

#endif

/** @file
 * ember: the umbrella header. Includes every public module header, in
 * layering order. */
#ifndef EMBER_H
#define EMBER_H

#include "ember/runtime.h"
#include "ember/io.h"
#include "ember/net.h"
#include "ember/dns.h"
#include "ember/tcp.h"
#include "ember/udp.h"
#include "ember/tls.h"
#include "ember/http.h"
#include "ember/ws.h"

#endif

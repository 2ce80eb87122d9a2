/* Shared between the files of the udp module; not part of the API. */
#ifndef EMBER_UDP_INTERNAL_H
#define EMBER_UDP_INTERNAL_H

#include "ember/udp.h"

/* Bits of em_udp._flags. */
enum {
    EM__UDP_NONBLOCK = 0x1, /* O_NONBLOCK is set on the fd */
    EM__UDP_V6ONLY = 0x2    /* an IPv6 socket with IPV6_V6ONLY set */
};

/* Turn errno e from a receive into an em_err: EAGAIN on a blocking socket
 * with a timeout is a timeout, EDESTADDRREQ is "not connected". */
int em__udp_err(const em_udp *u, int e, bool dontwait);
/* sizeof the sockaddr for AF_INET/AF_INET6 addresses, 0 for anything else
 * (checked here rather than trusted to the kernel so a garbage family is
 * EM_EAFNOSUPPORT, never a read past the struct). */
socklen_t em__udp_addr_len(const em_sockaddr *a);
/* em__udp_addr_len for a destination of u: also 0 when a's family does not
 * suit the socket (IPv6 on an IPv4 socket, IPv4 on an IPv6-only one). */
socklen_t em__udp_dest_len(const em_udp *u, const em_sockaddr *a);

#endif

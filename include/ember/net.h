/** @file
 * ember net: IPv4/IPv6 addresses, socket addresses and raw socket helpers.
 *
 * Parsers here are strict: they take (ptr, len), never read past len, and
 * reject anything inet_pton would not accept plus NUL bytes, CR/LF, '@',
 * ambiguous leading zeros in IPv4 and out-of-range ports.
 */
#ifndef EMBER_NET_H
#define EMBER_NET_H

#include <netinet/in.h>
#include <sys/socket.h>

#include "ember/io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- IP addresses ----------------------------------------------------- */

/** An address family, as em_ip.family holds it. */
typedef enum em_ip_family { EM_IP_V4 = 4, EM_IP_V6 = 6 } em_ip_family;
/** @var EM_IP_V4
 * IPv4: em_ip.bytes[0..3] */
/** @var EM_IP_V6
 * IPv6: all 16 bytes, and the scope id */

/** An IP address. v4 uses bytes[0..3]; scope_id is the IPv6 zone (0: none). */
typedef struct em_ip {
    uint8_t family;    /**< em_ip_family */
    uint8_t bytes[16]; /**< network order; IPv4 uses the first 4 */
    uint32_t scope_id; /**< IPv6 zone (interface index); 0: none */
} em_ip;

/** Longest formatted address with zone and NUL ("ffff:...%4294967295"). */
#define EM_IP_STRLEN 64
/** Longest formatted socket address ("[v6%zone]:65535") with NUL. */
#define EM_SOCKADDR_STRLEN 80

/** What kind of address an em_ip is (em_ip_classify()). */
typedef enum em_ip_class {
    EM_IP_UNSPECIFIED = 1, /**< 0.0.0.0, :: */
    EM_IP_LOOPBACK,        /**< 127/8, ::1 */
    EM_IP_PRIVATE,         /**< 10/8, 172.16/12, 192.168/16, fc00::/7 */
    EM_IP_LINK_LOCAL,      /**< 169.254/16, fe80::/10 */
    EM_IP_MULTICAST,       /**< 224/4, ff00::/8 */
    EM_IP_DOCUMENTATION,   /**< 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32 */
    EM_IP_BROADCAST,       /**< 255.255.255.255 */
    EM_IP_RESERVED,        /**< other special-purpose (240/4, 100.64/10, ...) */
    EM_IP_GLOBAL           /**< everything else */
} em_ip_class;

/** Parse an IPv4 dotted quad or an IPv6 address (with optional %zone: a
 * number or an interface name). Returns 0 or EM_EINVAL. */
EM_API EM_NODISCARD int em_ip_parse(em_ip *ip, const char *s, size_t len);
/** em_ip_parse() for IPv4 dotted quads only. */
EM_API EM_NODISCARD int em_ip4_parse(em_ip *ip, const char *s, size_t len);
/** em_ip_parse() for IPv6 addresses only (optional %zone). */
EM_API EM_NODISCARD int em_ip6_parse(em_ip *ip, const char *s, size_t len);
/** Format ip (RFC 5952 canonical for IPv6) into buf, NUL-terminated.
 * Returns the length, or EM_ENOSPC if cap is too small. */
EM_API ssize_t em_ip_format(const em_ip *ip, char *buf, size_t cap);
/** Total order: v4 before v6, then bytes, then scope. <0, 0, >0. */
EM_API int em_ip_compare(const em_ip *a, const em_ip *b);
/** em_ip_compare() == 0: family, bytes and scope equal. */
EM_API bool em_ip_equal(const em_ip *a, const em_ip *b);
/** ip's class (RFC 6890 special-purpose ranges); v4-mapped IPv6 addresses are
 * classified as their IPv4 address. */
EM_API em_ip_class em_ip_classify(const em_ip *ip);
/** The class's name ("loopback", "private", ...); static storage. */
EM_API const char *em_ip_class_name(em_ip_class c);
/** True for 127/8 and ::1. */
static inline bool em_ip_is_loopback(const em_ip *ip) {
    return em_ip_classify(ip) == EM_IP_LOOPBACK;
}
/** Build from host-order v4 (0x7f000001) or 16 network-order bytes. */
EM_API em_ip em_ip4_make(uint32_t host_order);
/** IPv6 from 16 network-order bytes and a zone (0: none). */
EM_API em_ip em_ip6_make(const uint8_t bytes[16], uint32_t scope_id);
/** True for \::ffff:a.b.c.d; em_ip_unmap() turns it into the v4 address. */
EM_API bool em_ip_is_v4_mapped(const em_ip *ip);
/** The IPv4 address inside a v4-mapped ip, or ip itself for any other address. */
EM_API em_ip em_ip_unmap(const em_ip *ip);

/* ---- socket addresses ------------------------------------------------- */

/** An IPv4 or IPv6 socket address, ready for bind/connect. */
typedef struct em_sockaddr {
    union {
        struct sockaddr sa;      /**< any family: sa.sa_family */
        struct sockaddr_in in4;  /**< AF_INET */
        struct sockaddr_in6 in6; /**< AF_INET6 */
    } u; /**< the address as the kernel takes it (u.sa.sa_family says which) */
} em_sockaddr;

/** Parse "1.2.3.4:80", "[::1]:8080", "[fe80::1%eth0]:80". The port is
 * required and must be 0..65535 with no sign or leading zeros. */
EM_API EM_NODISCARD int em_sockaddr_parse(em_sockaddr *sa, const char *s, size_t len);
/** Build a socket address from ip (zone kept) and port. */
EM_API void em_sockaddr_from_ip(em_sockaddr *sa, const em_ip *ip, uint16_t port);
/** From a kernel sockaddr (AF_INET/AF_INET6 only), else EM_EAFNOSUPPORT. */
EM_API EM_NODISCARD int em_sockaddr_from_sys(em_sockaddr *sa, const struct sockaddr *sys,
                                             socklen_t len);
/** Format sa as "1.2.3.4:80" or "[::1%zone]:80" into buf, NUL-terminated.
 * Returns the length, EM_ENOSPC if cap is too small (EM_SOCKADDR_STRLEN
 * always suffices), or EM_EAFNOSUPPORT. */
EM_API ssize_t em_sockaddr_format(const em_sockaddr *sa, char *buf, size_t cap);
/** sa's address (with the IPv6 scope id). */
EM_API em_ip em_sockaddr_ip(const em_sockaddr *sa);
/** sa's port in host order. */
EM_API uint16_t em_sockaddr_port(const em_sockaddr *sa);
/** Set sa's port (host order); no-op for a family other than AF_INET or
 * AF_INET6. */
EM_API void em_sockaddr_set_port(em_sockaddr *sa, uint16_t port);
/** AF_INET or AF_INET6. */
EM_API int em_sockaddr_family(const em_sockaddr *sa);
/** The length to pass to bind/connect: sizeof the family's sockaddr, 0 for
 * another family. */
EM_API socklen_t em_sockaddr_len(const em_sockaddr *sa);
/** Same family, port, address and IPv6 scope (flow labels ignored). */
EM_API bool em_sockaddr_equal(const em_sockaddr *a, const em_sockaddr *b);
/** Loopback helpers for tests and examples: 127.0.0.1:port, [::1]:port. */
EM_API em_sockaddr em_sockaddr_loopback4(uint16_t port);
/** The IPv6 one, [::1]:port. */
EM_API em_sockaddr em_sockaddr_loopback6(uint16_t port);

/* ---- raw socket helpers ----------------------------------------------- */

/** socket(2) with SOCK_CLOEXEC, plus SOCK_NONBLOCK when nonblock. Returns the
 * fd or em_err. */
EM_API int em_sock_open(int family, int type, bool nonblock);
/** O_NONBLOCK on or off. This and the helpers below work on any socket fd
 * from any thread and return 0 or an em_err. */
EM_API int em_sock_set_nonblock(int fd, bool on);
/** TCP_NODELAY on or off. 0 or em_err. */
EM_API int em_sock_set_nodelay(int fd, bool on);
/** SO_KEEPALIVE, and TCP_KEEPIDLE=idle_s when on and idle_s > 0. */
EM_API int em_sock_set_keepalive(int fd, bool on, int idle_s);
/** SO_REUSEADDR on or off. 0 or em_err. */
EM_API int em_sock_set_reuseaddr(int fd, bool on);
/** SO_REUSEPORT on or off. 0 or em_err. */
EM_API int em_sock_set_reuseport(int fd, bool on);
/** IPV6_V6ONLY on or off. 0 or em_err. */
EM_API int em_sock_set_v6only(int fd, bool on);
/** Pending error (SO_ERROR) as em_err, or 0. */
EM_API int em_sock_error(int fd);
/** The address fd is bound to (getsockname) into *out. 0 or em_err. */
EM_API int em_sock_local_addr(int fd, em_sockaddr *out);
/** fd's peer (getpeername) into *out. 0, EM_ENOTCONN, or em_err. */
EM_API int em_sock_peer_addr(int fd, em_sockaddr *out);

#ifdef __cplusplus
}
#endif
#endif

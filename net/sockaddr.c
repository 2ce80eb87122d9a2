/* Socket addresses: "host:port" text in and out, and conversions to and
 * from the kernel's sockaddr_in/sockaddr_in6. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ember/net.h"

/* 0..65535, decimal, no sign and no leading zeros: "080" and "+80" are
 * refused so that one string names one port for every parser. */
static int parse_port(const char *s, size_t len, uint16_t *port) {
    if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
        return EM_EINVAL;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return EM_EINVAL;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 65535)
        return EM_EINVAL;
    *port = (uint16_t)v;
    return 0;
}

EM_API int em_sockaddr_parse(em_sockaddr *sa, const char *s, size_t len) {
    em_ip ip;
    uint16_t port;
    if (!s || len == 0)
        return EM_EINVAL;
    const char *colon;
    if (s[0] == '[') {
        /* RFC 3986 §3.2.2: IPv6 literals are bracketed; v4 never is. */
        const char *close = memchr(s, ']', len);
        if (!close)
            return EM_EINVAL;
        if (em_ip6_parse(&ip, s + 1, (size_t)(close - s) - 1) != 0)
            return EM_EINVAL;
        colon = close + 1;
        if (colon == s + len || *colon != ':')
            return EM_EINVAL;
    } else {
        /* The first ':' ends a v4 host; an unbracketed v6 fails here. */
        colon = memchr(s, ':', len);
        if (!colon || em_ip4_parse(&ip, s, (size_t)(colon - s)) != 0)
            return EM_EINVAL;
    }
    size_t off = (size_t)(colon + 1 - s);
    if (parse_port(colon + 1, len - off, &port) != 0)
        return EM_EINVAL;
    em_sockaddr_from_ip(sa, &ip, port);
    return 0;
}

EM_API void em_sockaddr_from_ip(em_sockaddr *sa, const em_ip *ip, uint16_t port) {
    memset(sa, 0, sizeof *sa);
    if (ip->family == EM_IP_V4) {
        sa->u.in4.sin_family = AF_INET;
        sa->u.in4.sin_port = htons(port);
        memcpy(&sa->u.in4.sin_addr, ip->bytes, 4);
    } else {
        sa->u.in6.sin6_family = AF_INET6;
        sa->u.in6.sin6_port = htons(port);
        memcpy(&sa->u.in6.sin6_addr, ip->bytes, 16);
        sa->u.in6.sin6_scope_id = ip->scope_id;
    }
}

EM_API int em_sockaddr_from_sys(em_sockaddr *sa, const struct sockaddr *sys, socklen_t len) {
    if (!sys || len < (socklen_t)sizeof(sa_family_t))
        return EM_EINVAL;
    if (sys->sa_family == AF_INET) {
        if (len < (socklen_t)sizeof(struct sockaddr_in))
            return EM_EINVAL;
        memset(sa, 0, sizeof *sa);
        memcpy(&sa->u.in4, sys, sizeof(struct sockaddr_in));
        return 0;
    }
    if (sys->sa_family == AF_INET6) {
        if (len < (socklen_t)sizeof(struct sockaddr_in6))
            return EM_EINVAL;
        memset(sa, 0, sizeof *sa);
        memcpy(&sa->u.in6, sys, sizeof(struct sockaddr_in6));
        return 0;
    }
    return EM_EAFNOSUPPORT;
}

EM_API ssize_t em_sockaddr_format(const em_sockaddr *sa, char *buf, size_t cap) {
    int fam = em_sockaddr_family(sa);
    if (fam != AF_INET && fam != AF_INET6)
        return EM_EAFNOSUPPORT;
    em_ip ip = em_sockaddr_ip(sa);
    char host[EM_IP_STRLEN], tmp[EM_SOCKADDR_STRLEN];
    ssize_t hn = em_ip_format(&ip, host, sizeof host);
    if (hn < 0)
        return hn;
    int n = snprintf(tmp, sizeof tmp, fam == AF_INET6 ? "[%s]:%u" : "%s:%u", host,
                     (unsigned)em_sockaddr_port(sa));
    if (n < 0 || (size_t)n >= sizeof tmp)
        return EM_EINVAL;
    if (!buf || (size_t)n >= cap)
        return EM_ENOSPC;
    memcpy(buf, tmp, (size_t)n + 1);
    return n;
}

EM_API em_ip em_sockaddr_ip(const em_sockaddr *sa) {
    em_ip ip;
    memset(&ip, 0, sizeof ip);
    if (sa->u.sa.sa_family == AF_INET) {
        ip.family = EM_IP_V4;
        memcpy(ip.bytes, &sa->u.in4.sin_addr, 4);
    } else if (sa->u.sa.sa_family == AF_INET6) {
        ip.family = EM_IP_V6;
        memcpy(ip.bytes, &sa->u.in6.sin6_addr, 16);
        ip.scope_id = sa->u.in6.sin6_scope_id;
    }
    return ip;
}

EM_API uint16_t em_sockaddr_port(const em_sockaddr *sa) {
    if (sa->u.sa.sa_family == AF_INET)
        return ntohs(sa->u.in4.sin_port);
    if (sa->u.sa.sa_family == AF_INET6)
        return ntohs(sa->u.in6.sin6_port);
    return 0;
}

EM_API void em_sockaddr_set_port(em_sockaddr *sa, uint16_t port) {
    if (sa->u.sa.sa_family == AF_INET)
        sa->u.in4.sin_port = htons(port);
    else if (sa->u.sa.sa_family == AF_INET6)
        sa->u.in6.sin6_port = htons(port);
}

EM_API int em_sockaddr_family(const em_sockaddr *sa) {
    return sa->u.sa.sa_family;
}

EM_API socklen_t em_sockaddr_len(const em_sockaddr *sa) {
    if (sa->u.sa.sa_family == AF_INET)
        return sizeof(struct sockaddr_in);
    if (sa->u.sa.sa_family == AF_INET6)
        return sizeof(struct sockaddr_in6);
    return 0;
}

/* Family, port, address and (v6) scope; flow labels are not identity. */
EM_API bool em_sockaddr_equal(const em_sockaddr *a, const em_sockaddr *b) {
    if (a->u.sa.sa_family != b->u.sa.sa_family)
        return false;
    if (a->u.sa.sa_family != AF_INET && a->u.sa.sa_family != AF_INET6)
        return false;
    if (em_sockaddr_port(a) != em_sockaddr_port(b))
        return false;
    em_ip ia = em_sockaddr_ip(a), ib = em_sockaddr_ip(b);
    return em_ip_equal(&ia, &ib);
}

EM_API em_sockaddr em_sockaddr_loopback4(uint16_t port) {
    em_sockaddr sa;
    em_ip ip = em_ip4_make(0x7f000001u);
    em_sockaddr_from_ip(&sa, &ip, port);
    return sa;
}

EM_API em_sockaddr em_sockaddr_loopback6(uint16_t port) {
    static const uint8_t one[16] = {[15] = 1};
    em_sockaddr sa;
    em_ip ip = em_ip6_make(one, 0);
    em_sockaddr_from_ip(&sa, &ip, port);
    return sa;
}

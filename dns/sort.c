/* RFC 6724 §6 destination address order within one answer, the rules
 * c-ares 1.18 applies (1, 2, 5, 6, 8, 9 for IPv6, 10) with its default
 * policy table. Queries ask c-ares not to sort (ARES_AI_NOSORT): it finds
 * every address's source with a socket, connect and close even when the
 * answer holds a single address, three system calls per family per lookup
 * that changed nothing (bench/dns.sh: 45% of a lookup's CPU). Here only
 * answers of two or more addresses pay for it. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns_internal.h"

enum { SCOPE_LINKLOCAL = 2, SCOPE_SITELOCAL = 5, SCOPE_GLOBAL = 14 };

static bool v6_prefix(const em_ip *ip, const uint8_t *p, unsigned bits) {
    unsigned bytes = bits / 8, rest = bits % 8;
    if (memcmp(ip->bytes, p, bytes) != 0)
        return false;
    return !rest || ((ip->bytes[bytes] ^ p[bytes]) & (0xff00u >> rest) & 0xff) == 0;
}

static const uint8_t loopback6[16] = {[15] = 1};
static const uint8_t mapped6[12] = {[10] = 0xff, [11] = 0xff};
static const uint8_t p6to4[2] = {0x20, 0x02};
static const uint8_t teredo[4] = {0x20, 0x01, 0, 0};
static const uint8_t ula[1] = {0xfc};
static const uint8_t sitelocal[2] = {0xfe, 0xc0};
static const uint8_t sixbone[2] = {0x3f, 0xfe};
static const uint8_t zero12[12] = {0};

/* IPv4-compatible (::a.b.c.d, deprecated): ::/96 but not :: or ::1. */
static bool v4compat(const em_ip *ip) {
    const uint8_t *b = ip->bytes;
    return memcmp(b, zero12, 12) == 0 && (b[12] | b[13] | b[14] || b[15] > 1);
}

/* RFC 6724 §2.1's default policy table as c-ares has it: {label, precedence}. */
static void policy(const em_ip *ip, int *label, int *prec) {
    static const struct {
        const uint8_t *p;
        unsigned bits;
        int label, prec;
    } table[] = {
        {loopback6, 128, 0, 50}, {mapped6, 96, 4, 35}, {p6to4, 16, 2, 30},     {teredo, 32, 5, 5},
        {ula, 7, 13, 3},         {zero12, 96, 3, 1},   {sitelocal, 10, 11, 1}, {sixbone, 16, 12, 1},
    };
    *label = 4, *prec = 35; /* IPv4, as ::ffff:0:0/96 */
    if (ip->family != EM_IP_V6)
        return;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (v6_prefix(ip, table[i].p, table[i].bits) && (table[i].p != zero12 || v4compat(ip))) {
            *label = table[i].label, *prec = table[i].prec;
            return;
        }
    *label = 1, *prec = 40;
}

static int scope(const em_ip *ip) {
    const uint8_t *b = ip->bytes;
    if (ip->family != EM_IP_V6) /* c-ares: 127/8 and 169.254/16 are link-local */
        return b[0] == 127 || (b[0] == 169 && b[1] == 254) ? SCOPE_LINKLOCAL : SCOPE_GLOBAL;
    if (b[0] == 0xff)
        return b[1] & 0x0f; /* multicast: its own scope field */
    if (memcmp(b, loopback6, 16) == 0 || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80))
        return SCOPE_LINKLOCAL;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
        return SCOPE_SITELOCAL;
    return SCOPE_GLOBAL;
}

static int common_prefix(const em_ip *a, const em_ip *b) {
    for (int i = 0; i < 16; i++) {
        uint8_t x = a->bytes[i] ^ b->bytes[i];
        if (x) {
            int n = i * 8;
            while (!(x & 0x80))
                x = (uint8_t)(x << 1), n++;
            return n;
        }
    }
    return 128;
}

typedef struct elem {
    em_ip dst, src; /* src.family 0: no route (rule 1) */
    size_t order;
} elem;

/* < 0 when a goes first. */
static int compare(const void *pa, const void *pb) {
    const elem *a = pa, *b = pb;
    bool ha = a->src.family != 0, hb = b->src.family != 0;
    if (ha != hb) /* rule 1: avoid unusable destinations */
        return ha ? -1 : 1;
    int sa = scope(&a->dst), sb = scope(&b->dst);
    if (ha) { /* rule 2: prefer matching scope */
        bool ma = sa == scope(&a->src), mb = sb == scope(&b->src);
        if (ma != mb)
            return ma ? -1 : 1;
    }
    int la, pa_, lb, pb_, lsa, lsb, unused;
    policy(&a->dst, &la, &pa_);
    policy(&b->dst, &lb, &pb_);
    if (ha) { /* rule 5: prefer matching label */
        policy(&a->src, &lsa, &unused);
        policy(&b->src, &lsb, &unused);
        bool ma = la == lsa, mb = lb == lsb;
        if (ma != mb)
            return ma ? -1 : 1;
    }
    if (pa_ != pb_) /* rule 6: prefer higher precedence */
        return pb_ - pa_;
    if (sa != sb) /* rule 8: prefer smaller scope */
        return sa - sb;
    if (ha && a->dst.family == EM_IP_V6 && b->dst.family == EM_IP_V6) {
        int ca = common_prefix(&a->src, &a->dst), cb = common_prefix(&b->src, &b->dst);
        if (ca != cb) /* rule 9: longest matching prefix (IPv6 only, as c-ares) */
            return cb - ca;
    }
    return a->order < b->order ? -1 : 1; /* rule 10: keep the order */
}

void em__dns_sort_with(em_ip *addrs, const em_ip *srcs, size_t n) {
    elem stack[8], *e = n <= 8 ? stack : malloc(n * sizeof *e);
    if (!e)
        return; /* out of memory: the server's order */
    for (size_t i = 0; i < n; i++)
        e[i] = (elem){.dst = addrs[i], .src = srcs[i], .order = i};
    qsort(e, n, sizeof *e, compare);
    for (size_t i = 0; i < n; i++)
        addrs[i] = e[i].dst;
    if (e != stack)
        free(e);
}

/* The source address the kernel would pick for ip: a connected UDP socket
 * finds the route without sending anything. Zeroed when there is none. */
static em_ip source_of(const em_ip *ip) {
    em_ip none = {0};
    em_sockaddr sa, local;
    em_sockaddr_from_ip(&sa, ip, 53);
    int fd = em_sock_open(em_sockaddr_family(&sa), SOCK_DGRAM, false);
    if (fd < 0)
        return none;
    bool ok =
        connect(fd, &sa.u.sa, em_sockaddr_len(&sa)) == 0 && em_sock_local_addr(fd, &local) == 0;
    close(fd);
    return ok ? em_sockaddr_ip(&local) : none;
}

bool em__dns_goes_first(const em_ip *a, const em_ip *b) {
    em_ip d[2] = {*a, *b}, s[2] = {source_of(a), source_of(b)};
    em__dns_sort_with(d, s, 2);
    return em_ip_equal(&d[0], a);
}

void em__dns_sort(em_ip *addrs, size_t n) {
    if (n < 2)
        return;
    em_ip stack[8], *srcs = n <= 8 ? stack : malloc(n * sizeof *srcs);
    if (!srcs)
        return;
    for (size_t i = 0; i < n; i++)
        srcs[i] = source_of(&addrs[i]);
    em__dns_sort_with(addrs, srcs, n);
    if (srcs != stack)
        free(srcs);
}

EM_API void em_dns_sort(em_ip *addrs, size_t n) {
    if (addrs)
        em__dns_sort(addrs, n);
}

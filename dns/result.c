/* Results: c-ares answers to em_ip arrays, the merged order, error codes. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "dns_internal.h"

void em_dns_result_free(em_dns_result *res) {
    if (!res)
        return;
    free(res->addrs);
    memset(res, 0, sizeof *res);
}

int em__dns_err_from_ares(int status) {
    switch (status) {
    case ARES_SUCCESS:
        return 0;
    case ARES_ENOTFOUND: /* NXDOMAIN */
    case ARES_ENODATA:   /* the name exists, the record type does not */
    case ARES_ENONAME:
        return EM_ENOTFOUND;
    case ARES_ETIMEOUT:
        return EM_ETIMEDOUT;
    case ARES_EBADNAME:
    case ARES_EBADFAMILY:
    case ARES_EBADHINTS:
        return EM_EINVAL;
    case ARES_ENOMEM:
        return EM_ENOMEM;
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
        return EM_ECANCELED;
    default: /* ESERVFAIL, EREFUSED, EFORMERR, EBADRESP, ECONNREFUSED, ... */
        return EM_EDNSFAIL;
    }
}

int em__dns_result_set(em_dns_result *res, const em_ip *ips, size_t n, em_dns_family family,
                       em_dns_source source, uint32_t ttl) {
    memset(res, 0, sizeof *res);
    if (n) {
        res->addrs = malloc(n * sizeof *ips);
        if (!res->addrs)
            return EM_ENOMEM;
        memcpy(res->addrs, ips, n * sizeof *ips);
    }
    res->count = n;
    res->family = family;
    res->source = source;
    res->ttl = ttl;
    return 0;
}

int em__dns_result_from_ares(em_dns_result *res, const struct ares_addrinfo *ai, int family) {
    memset(res, 0, sizeof *res);
    int af = family == 4 ? AF_INET : AF_INET6;
    size_t n = 0;
    for (const struct ares_addrinfo_node *a = ai ? ai->nodes : NULL; a; a = a->ai_next)
        n += a->ai_family == af;
    if (n == 0)
        return EM_ENOTFOUND;
    res->addrs = malloc(n * sizeof *res->addrs);
    if (!res->addrs)
        return EM_ENOMEM;
    int ttl = INT_MAX;
    for (const struct ares_addrinfo_node *a = ai->nodes; a; a = a->ai_next) {
        em_sockaddr sa;
        if (a->ai_family != af || em_sockaddr_from_sys(&sa, a->ai_addr, a->ai_addrlen) != 0)
            continue;
        res->addrs[res->count++] = em_sockaddr_ip(&sa);
        if (a->ai_ttl < ttl)
            ttl = a->ai_ttl;
    }
    /* A CNAME's TTL bounds how long the chain, and so the answer, holds. */
    for (const struct ares_addrinfo_cname *c = ai->cnames; c; c = c->next)
        if (c->ttl < ttl)
            ttl = c->ttl;
    res->ttl = ttl < 0 ? 0 : (uint32_t)ttl;
    em__dns_sort(res->addrs, res->count); /* queries ask c-ares not to (sort.c) */
    res->family = family == 4 ? EM_DNS_V4 : EM_DNS_V6;
    res->source = EM_DNS_SOURCE_DNS;
    return res->count ? 0 : EM_ENOTFOUND;
}

int em__dns_result_merge(em_dns_result *out, const em_dns_result *v6, const em_dns_result *v4) {
    memset(out, 0, sizeof *out);
    size_t n = v6->count + v4->count;
    if (n == 0)
        return EM_ENOTFOUND;
    out->addrs = malloc(n * sizeof *out->addrs);
    if (!out->addrs)
        return EM_ENOMEM;
    /* RFC 6724 §6 between the best of each family (each is sorted): IPv6
     * first unless rule 1 rules it out (no route), or rules 2 and 5 (a
     * 6to4, Teredo or ULA destination from a native source) or 6 (ULA's
     * precedence 3 against IPv4's 35) put IPv4 ahead. */
    bool v6_first = v6->count && (!v4->count || em__dns_goes_first(&v6->addrs[0], &v4->addrs[0]));
    const em_dns_result *first = v6_first ? v6 : v4, *second = v6_first ? v4 : v6;
    if (first->count)
        memcpy(out->addrs, first->addrs, first->count * sizeof *out->addrs);
    if (second->count)
        memcpy(out->addrs + first->count, second->addrs, second->count * sizeof *out->addrs);
    out->count = n;
    out->family = EM_DNS_ANY;
    out->ttl = !v6->count ? v4->ttl : !v4->count ? v6->ttl : v6->ttl < v4->ttl ? v6->ttl : v4->ttl;
    if (!v6->count || !v4->count || v6->source == v4->source)
        out->source = first->source;
    else
        out->source = EM_DNS_SOURCE_DNS; /* part cached, part asked */
    return 0;
}

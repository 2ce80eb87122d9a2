/* dns: helpers shared between the module's files. One-way layers:
 *   name.c, result.c, sort.c, hosts.c, cache.c
 *                                        pure helpers (no loop, no c-ares calls)
 *   channel.c                            c-ares on the loop: sockets, one timer
 *   lookup.c                             lookups over the channel and helpers
 *   resolver.c                           init/close over lookup.c and channel.c
 *   resolve.c                            the blocking face over all of it */
#ifndef EMBER_DNS_INTERNAL_H
#define EMBER_DNS_INTERNAL_H

#include <ares.h>

#include "ember/dns.h"

/* ---- name.c ----------------------------------------------------------- */

enum { EM__DNS_HOSTNAME = 1, EM__DNS_LITERAL, EM__DNS_LOCALHOST };
/* What host is: a literal (parsed into *ip), localhost, a host name, or
 * EM_EINVAL. */
int em__dns_name_classify(const char *host, size_t len, em_ip *ip);
/* Is host (a checked host name) "invalid" or under it (RFC 6761 §6.4)? */
bool em__dns_name_is_invalid(const char *host, size_t len);
/* The hosts key: lower case, no trailing dot, NUL-terminated in
 * out (EM_DNS_NAME_MAX + 1 bytes). host must have passed the check. */
void em__dns_name_key(const char *host, size_t len, char *out);
/* The cache key: the name key, plus the trailing dot of an absolute name
 * ("short." is never searched; "short" may be short.example), NUL-terminated
 * in out (EM__DNS_KEY_MAX bytes). */
#define EM__DNS_KEY_MAX (EM_DNS_NAME_MAX + 2)
void em__dns_cache_key(const char *host, size_t len, char *out);

/* ---- result.c --------------------------------------------------------- */

/* c-ares status to em_err. */
int em__dns_err_from_ares(int status);
/* Fill res (malloc'd addresses) from c-ares' answer for family (4 or 6);
 * ttl is the smallest of the records' and the CNAMEs'. 0, EM_ENOTFOUND
 * when it holds no address of family, or EM_ENOMEM. */
int em__dns_result_from_ares(em_dns_result *res, const struct ares_addrinfo *ai, int family);
/* res = a copy of n addresses. 0 or EM_ENOMEM. */
int em__dns_result_set(em_dns_result *res, const em_ip *ips, size_t n, em_dns_family family,
                       em_dns_source source, uint32_t ttl);
/* out = v6 and v4 in the order to try (see em_dns_result in dns.h); either
 * may be empty. 0 or EM_ENOMEM. */
int em__dns_result_merge(em_dns_result *out, const em_dns_result *v6, const em_dns_result *v4);

/* ---- sort.c ----------------------------------------------------------- */

/* Put n addresses in RFC 6724 order (rules 1, 2, 5, 6, 8, 9, 10 with the
 * default policy table, as c-ares 1.18 sorts), finding each one's source
 * address with a connected UDP socket; n < 2 costs nothing. */
void em__dns_sort(em_ip *addrs, size_t n);
/* The same with the sources given (family 0: no route), for tests. */
void em__dns_sort_with(em_ip *addrs, const em_ip *srcs, size_t n);
/* Does a go before b in RFC 6724 order (the kernel's sources, as
 * em__dns_sort)? Ties keep a first. */
bool em__dns_goes_first(const em_ip *a, const em_ip *b);

/* ---- hosts.c ---------------------------------------------------------- */

/* Read a hosts file (NULL path or "" gives an empty table; a missing file
 * too). 0, EM_ENOMEM, or the open/read error. */
int em__dns_hosts_load(struct em__dns_hosts **out, const char *path);
void em__dns_hosts_free(struct em__dns_hosts *h);
/* The addresses of family (4/6) for key, in file order, into res. 0,
 * EM_ENOTFOUND or EM_ENOMEM. */
int em__dns_hosts_find(const struct em__dns_hosts *h, const char *key, int family,
                       em_dns_result *res);

/* ---- cache.c ---------------------------------------------------------- */

/* A bounded LRU of (key, family) answers; times in ms from any clock. */
struct em__dns_cache *em__dns_cache_new(unsigned size, unsigned max_ttl, unsigned negative_ttl);
void em__dns_cache_free(struct em__dns_cache *c);
/* 0 with a copy in res (source CACHE, ttl what is left), EM_ENOTFOUND for
 * a negative entry, EM_EAGAIN on a miss or an expired entry, EM_ENOMEM. */
int em__dns_cache_get(struct em__dns_cache *c, const char *key, int family, uint64_t now_ms,
                      em_dns_result *res);
/* Keep status 0 with res (for its ttl, cut to max_ttl; ttl 0 is not kept)
 * or EM_ENOTFOUND (for negative_ttl). Other statuses are not kept. */
void em__dns_cache_put(struct em__dns_cache *c, const char *key, int family, uint64_t now_ms,
                       int status, const em_dns_result *res);
size_t em__dns_cache_count(const struct em__dns_cache *c);

/* ---- channel.c -------------------------------------------------------- */

/* Create r's channel (with its timer) from opts. 0 or em_err. */
int em__dns_channel_open(em_dns_resolver *r, const em_dns_resolver_opts *opts);
/* After every call into c-ares: re-arm r's timer from ares_timeout(). */
void em__dns_channel_rearm(em_dns_resolver *r);
/* ares_destroy (its callbacks see ARES_EDESTRUCTION), watchers and timer
 * stopped. Never from inside a c-ares callback. */
void em__dns_channel_destroy(em_dns_resolver *r);
/* The resolver's clock in ms (the loop's cached time unless a test set
 * r->_clock). */
uint64_t em__dns_now(const em_dns_resolver *r);

/* ---- lookup.c --------------------------------------------------------- */

/* Every active lookup of r gets status for the families still waiting,
 * delivered from the loop. */
void em__dns_lookups_abort(em_dns_resolver *r, int status);

/* ---- resolver.c (for tests) ------------------------------------------- */

/* Replace r's clock (ms); NULL restores the loop's. */
void em__dns_resolver_set_clock(em_dns_resolver *r, uint64_t (*clock)(void *arg), void *arg);

#endif

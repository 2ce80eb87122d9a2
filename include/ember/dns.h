/** @file
 * ember dns: name resolution with c-ares on the loop.
 *
 * One resolver (one c-ares channel) per loop: its sockets are em_io
 * watchers and its retransmissions one em_timer. A lookup asks A and AAAA
 * as separate queries, so a caller can act on the first family to answer
 * (Happy Eyeballs), or take one merged answer. Names are checked before
 * they reach c-ares; IP literals, `localhost` and `*.localhost` (RFC 6761
 * §6.3) and hosts-file names are answered without a query, `invalid` and
 * `*.invalid` get EM_ENOTFOUND without one (§6.4); answers are cached for
 * their TTL.
 *
 * Threading: a resolver and its lookups belong to their loop's thread.
 * Callbacks never run inside the call that started or cancelled a lookup;
 * they run from the loop.
 */
#ifndef EMBER_DNS_H
#define EMBER_DNS_H

#include "ember/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- constants -------------------------------------------------------- */

/** Longest host name (RFC 1035 §2.3.4), not counting one trailing dot. */
#define EM_DNS_NAME_MAX  253
/** Longest label of a host name (RFC 1035 §2.3.4). */
#define EM_DNS_LABEL_MAX 63

/** Which address families to look up. */
typedef enum em_dns_family {
    EM_DNS_ANY = 0, /**< IPv6 and IPv4 */
    EM_DNS_V4 = 4,  /**< IPv4 only (A records) */
    EM_DNS_V6 = 6   /**< IPv6 only (AAAA records) */
} em_dns_family;

/** Where an answer came from. */
typedef enum em_dns_source {
    EM_DNS_SOURCE_DNS = 1, /**< a query to a server */
    EM_DNS_SOURCE_CACHE,   /**< the resolver's cache */
    EM_DNS_SOURCE_HOSTS,   /**< the hosts file */
    EM_DNS_SOURCE_LITERAL, /**< the name was an IP address */
    EM_DNS_SOURCE_LOCALHOST /**< localhost or *.localhost (RFC 6761 §6.3) */
} em_dns_source;

/* ---- results ---------------------------------------------------------- */

/** Addresses for one name, in the order to try them: within a family as
 * c-ares sorts them (RFC 6724); a merged answer puts the family whose
 * first address goes first by the same rules ahead: IPv6 when the host has
 * a route to it, unless it is a 6to4, Teredo or ULA address from a native
 * source, which go after IPv4 (RFC 6724 rules 1, 2, 5 and 6 with the
 * default policy table). */
typedef struct em_dns_result {
    em_ip *addrs;         /**< count addresses (malloc'd; see each use) */
    size_t count;         /**< entries in addrs; 0 on error */
    uint32_t ttl;         /**< seconds the answer may be kept; 0 for literals */
    em_dns_family family; /**< V4 or V6, or ANY for a merged answer */
    em_dns_source source; /**< where the answer came from */
} em_dns_result;

/** Free the addresses of a result filled by em_dns_resolve() and zero it.
 * NULL and zeroed results are fine. */
EM_API void em_dns_result_free(em_dns_result *res);

/** Put n addresses (either family, mixed) in the order to try them: RFC
 * 6724 §6 destination address selection, as answers are ordered (rules 1,
 * 2, 5, 6, 8, 9 and 10 with the default policy table; ties keep their
 * order). Each address's source is found with a connected UDP socket (no
 * packet is sent); n < 2 costs nothing. For callers that gather addresses
 * themselves, e.g. to pick the first family of a Happy Eyeballs race
 * (RFC 8305 §4). Any thread. */
EM_API void em_dns_sort(em_ip *addrs, size_t n);

/* ---- names ------------------------------------------------------------ */

/** Check a host name before it goes anywhere near a resolver: 1..253 bytes
 * (one trailing dot allowed on top), labels of 1..63 bytes from
 * [A-Za-z0-9_-] that neither start nor end with '-' (RFC 952, RFC 1123
 * §2.1; '_' is allowed anywhere, for service labels), and a last label
 * that is not all digits nor "0x" and hex digits (so "1.2.3", "0x7f.1" or
 * "0x7f000001" can never pass for an address). Rejects NUL, CR, LF, '@', '/',
 * spaces and every other byte. IP literals are not host names: this
 * returns EM_EINVAL for "::1" (em_dns_lookup accepts literals). Returns 0
 * or EM_EINVAL. Pure; any thread. */
EM_API EM_NODISCARD int em_dns_name_check(const char *name, size_t len);

/* ---- the resolver ----------------------------------------------------- */

/** Options for em_dns_resolver_init(); zero fields take the defaults given.
 * Read during the call only (strings included). */
typedef struct em_dns_resolver_opts {
    /** Servers as "ADDR:PORT,[V6]:PORT" (ports optional: 53). NULL: the
     * ones in resolv.conf. */
    const char *servers;
    unsigned timeout_ms;     /**< first try's timeout; 0: c-ares' default (5000) */
    unsigned tries;          /**< tries per server; 0: c-ares' default (4) */
    /** The hosts file, read once by em_dns_resolver_init. NULL:
     * /etc/hosts; "": none. A missing file counts as empty. */
    const char *hosts_file;
    /** resolv.conf to read servers, search and options from. NULL:
     * /etc/resolv.conf. */
    const char *resolv_conf;
    bool no_search;          /**< ask names exactly as given: no search list */
    bool no_cache;           /**< turn the cache off */
    unsigned cache_size;     /**< cache entries (name, family); 0: 256 */
    unsigned cache_max_ttl;  /**< seconds; longer TTLs are cut; 0: 3600 */
    unsigned negative_ttl;   /**< seconds a "not found" is kept; 0: 5 */
} em_dns_resolver_opts;

typedef struct em_dns_resolver em_dns_resolver;
/** Called from the loop once a closing resolver has finished
 * (em_dns_resolver_close()); r may be freed here. */
typedef void (*em_dns_close_cb)(em_dns_resolver *r);

struct em__dns_cache;
struct em__dns_hosts;
struct em__dns_sock;

/** A resolver on one loop. Embed it; all fields but data are private. */
struct em_dns_resolver {
    void *data; /**< user data; ember never touches it */
    em_loop *_loop;
    void *_channel;               /**< ares_channel */
    em_timer _timer;              /**< c-ares' next timeout */
    em_task _destroy;             /**< ares_destroy, run from the loop */
    struct em__dns_sock *_socks;  /**< a watcher per c-ares socket */
    struct em__dns_cache *_cache; /**< NULL when off */
    struct em__dns_hosts *_hosts;
    struct em_dns_lookup *_lookups; /**< active lookups */
    uint64_t (*_clock)(void *arg); /**< ms; NULL: em_loop_now (tests set it) */
    void *_clock_arg;
    em_dns_close_cb _close_cb;
    bool _closing;
};

/** Create r on loop with opts (NULL: defaults). Reads the hosts file and
 * resolv.conf now. Returns 0, EM_EINVAL for a bad servers string,
 * EM_ENOMEM, or EM_EIO when c-ares cannot start. Loop thread. */
EM_API EM_NODISCARD int em_dns_resolver_init(em_loop *loop, em_dns_resolver *r,
                                             const em_dns_resolver_opts *opts);
/** Close r: every lookup still active gets its callback with EM_ECANCELED,
 * then c-ares is destroyed and cb (may be NULL) runs, all from the loop,
 * never inside this call. Free r only in or after cb. Calling it again
 * while closing does nothing. Loop thread; may be called from any callback
 * of r's lookups. */
EM_API void em_dns_resolver_close(em_dns_resolver *r, em_dns_close_cb cb);

/* ---- lookups ---------------------------------------------------------- */

typedef struct em_dns_lookup em_dns_lookup;

/** A lookup's answer. status is 0 with res->count >= 1, or: EM_ENOTFOUND
 * (NXDOMAIN, or no record of the family: NODATA, or a name under
 * `invalid`, which is never asked: RFC 6761 §6.4), EM_ETIMEDOUT (no answer
 * in time), EM_EDNSFAIL (SERVFAIL, REFUSED, a broken answer, servers
 * unreachable), EM_EAFNOSUPPORT (a literal of the other family),
 * EM_ECANCELED (resolver closed), EM_ENOMEM. On error res->count is 0.
 * res and its addresses are valid only during the call: copy what you
 * keep. em_dns_lookup_active(l) is false in the last call for l, which
 * may then be reused or freed from inside the callback. */
typedef void (*em_dns_lookup_cb)(em_dns_lookup *l, int status, const em_dns_result *res);

/** Options for em_dns_lookup_start(); read during the call only. */
typedef struct em_dns_lookup_opts {
    em_dns_family family; /**< ANY (both), V4 or V6 */
    /** With ANY, call back once per family as each answers (res->family
     * says which; the first may come long before the second). Without it,
     * one merged call once both answered: status 0 if either family
     * found addresses, else the more telling error of the two. */
    bool each_family;
    /** Give up after this long (ms): families still unanswered get
     * EM_ETIMEDOUT. 0: only the resolver's timeout and tries. */
    unsigned timeout_ms;
} em_dns_lookup_opts;

struct em__dns_query;

/** A lookup in flight. Embed it; all fields but data are private. */
struct em_dns_lookup {
    void *data; /**< user data; ember never touches it */
    em_dns_resolver *_r;
    em_dns_lookup_cb _cb;
    em_dns_lookup *_next, *_prev;  /**< r->_lookups */
    struct em__dns_query *_q[2];   /**< [0] A, [1] AAAA: c-ares queries in flight */
    em_dns_result _res[2];         /**< answers not yet delivered */
    int _status[2];
    uint8_t _state[2];             /**< per family: unused, waiting, ready, delivered */
    em_dns_family _family;
    bool _each_family;
    bool _active;
    em_timer _timer;               /**< opts.timeout_ms */
    em_task _deliver;              /**< answers reach the callback from the loop */
};

/** Look host up: a name, an IP literal ("10.0.0.1", "::1", "[::1]"),
 * `localhost` or `*.localhost`. l must be zeroed before its first use (a
 * finished or cancelled lookup may be started again) and stay valid until
 * its last callback or until em_dns_lookup_cancel. cb runs from the loop, never inside this
 * call, once (or, with each_family and ANY, once per family). opts may be
 * NULL (ANY, merged, no extra timeout). Returns 0, EM_EINVAL for a bad
 * name or a busy l, or EM_ECLOSED when r is closing (no callback then).
 * host is copied. Loop thread; fine from any callback. */
EM_API EM_NODISCARD int em_dns_lookup_start(em_dns_resolver *r, em_dns_lookup *l,
                                            const char *host, const em_dns_lookup_opts *opts,
                                            em_dns_lookup_cb cb);
/** Stop l: no callback for it runs after this returns (queries already
 * sent finish inside c-ares and only feed the cache). Returns true if l
 * was active. Safe from any callback, l's own included. Loop thread. */
EM_API bool em_dns_lookup_cancel(em_dns_lookup *l);
/** True from em_dns_lookup_start until its last callback begins or it is
 * cancelled. */
EM_API bool em_dns_lookup_active(const em_dns_lookup *l);

/* ---- the blocking face ------------------------------------------------ */

/** Resolve host on a private loop with its own resolver (opts may be NULL;
 * opts->timeout_ms and tries bound the wait). On 0, *res holds the merged
 * (ANY) or single-family answer; free it with em_dns_result_free. On
 * error *res is zeroed; the codes are the callback's. Any thread; no loop
 * needed. */
EM_API EM_NODISCARD int em_dns_resolve(const char *host, em_dns_family family,
                                       const em_dns_resolver_opts *opts, em_dns_result *res);

#ifdef __cplusplus
}
#endif
#endif

/* The resolver's answer cache (dns/cache.c) against a model written another
 * way (an array scanned in full, recency as a stamp), driven by a byte
 * program on a fake clock. Names reach the cache the way the resolver puts
 * them there: through em_dns_name_check and em__dns_name_key. Every get
 * must match the model exactly (status, addresses, family, the TTL left),
 * so a hit never outlives its TTL and eviction takes the least recently
 * used entry; the count always equals the model's and never passes the
 * bound. Leaks show under LSan.
 *
 * Input: size, max_ttl, negative_ttl, then ops (the op byte % 7 picks):
 *   0 put an answer     name, family, ttl (2 bytes), address count + seed
 *   1 put "not found"   name, family
 *   2 put another error name, family (never kept, never evicts)
 *   3 get               name, family
 *   4 advance the clock 2 bytes (ms, or s with the op's high bit)
 *   5 learn a name      slot, length, bytes (kept if the name check passes)
 *   6 get every name    (sweeps expiry across the whole pool) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../dns/dns_internal.h"
#include "fuzz.h"

#define POOL      24
#define MODEL_MAX 80
#define ADDRS_MAX 4

typedef struct model_entry {
    char key[EM_DNS_NAME_MAX + 1];
    int family;
    int status;
    uint64_t expires;
    uint64_t used; /* recency stamp: larger is newer */
    em_ip addrs[ADDRS_MAX];
    size_t count;
} model_entry;

typedef struct model {
    model_entry e[MODEL_MAX];
    size_t n, cap;
    unsigned max_ttl, negative_ttl;
    uint64_t stamp;
} model;

typedef struct prog {
    const uint8_t *p;
    size_t left;
} prog;

static uint8_t next(prog *g) {
    if (!g->left)
        return 0;
    g->left--;
    return *g->p++;
}

static void check(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "dns_cache: %s\n", what);
        abort();
    }
}

static model_entry *model_find(model *m, const char *key, int family) {
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].family == family && strcmp(m->e[i].key, key) == 0)
            return &m->e[i];
    return NULL;
}

static void model_remove(model *m, model_entry *e) {
    *e = m->e[--m->n];
}

static void model_put(model *m, const char *key, int family, uint64_t now, int status,
                      const em_ip *addrs, size_t count, uint32_t ttl_in) {
    uint64_t ttl;
    if (status == 0 && count)
        ttl = ttl_in < m->max_ttl ? ttl_in : m->max_ttl;
    else if (status == EM_ENOTFOUND)
        ttl = m->negative_ttl;
    else
        return;
    model_entry *old = model_find(m, key, family);
    if (old)
        model_remove(m, old);
    if (ttl == 0)
        return;
    if (m->n == m->cap) { /* the least recently used goes, expired or not */
        size_t lru = 0;
        for (size_t i = 1; i < m->n; i++)
            if (m->e[i].used < m->e[lru].used)
                lru = i;
        model_remove(m, &m->e[lru]);
    }
    model_entry *e = &m->e[m->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->key, sizeof e->key, "%s", key);
    e->family = family;
    e->status = status;
    e->expires = now + ttl * 1000;
    e->used = ++m->stamp;
    if (status == 0) {
        memcpy(e->addrs, addrs, count * sizeof *addrs);
        e->count = count;
    }
}

static void do_get(struct em__dns_cache *c, model *m, const char *key, int family, uint64_t now) {
    em_dns_result r;
    int rc = em__dns_cache_get(c, key, family, now, &r);
    model_entry *e = model_find(m, key, family);
    if (e && now >= e->expires) {
        model_remove(m, e);
        e = NULL;
    }
    if (!e) {
        check(rc == EM_EAGAIN, "a miss (absent or expired) must be EM_EAGAIN");
        check(r.count == 0 && r.addrs == NULL, "a miss fills no result");
        return;
    }
    e->used = ++m->stamp;
    if (e->status) {
        check(rc == e->status, "a negative entry's status");
        check(r.count == 0 && r.addrs == NULL, "a negative hit fills no result");
        return;
    }
    check(rc == 0, "a live entry must hit");
    check(e->expires > now, "a hit outlived its TTL");
    check(r.count == e->count, "the address count");
    check(memcmp(r.addrs, e->addrs, r.count * sizeof *r.addrs) == 0, "the addresses");
    check(r.source == EM_DNS_SOURCE_CACHE, "source CACHE");
    check(r.family == (family == 4 ? EM_DNS_V4 : EM_DNS_V6), "the family");
    check(r.ttl == (e->expires - now + 999) / 1000, "the TTL left");
    check(r.ttl >= 1 && r.ttl <= m->max_ttl, "the TTL within 1..max_ttl");
    em_dns_result_free(&r);
}

/* A name from the input through the same gate the resolver uses. */
static void learn(prog *g, char pool[POOL][EM_DNS_NAME_MAX + 1]) {
    unsigned slot = next(g) % POOL;
    size_t len = next(g);
    if (len > g->left)
        len = g->left;
    const char *s = (const char *)g->p;
    g->p += len;
    g->left -= len;
    if (em_dns_name_check(s, len) != 0)
        return;
    char key[EM_DNS_NAME_MAX + 1];
    em__dns_name_key(s, len, key);
    check(em_dns_name_check(key, strlen(key)) == 0, "the key of a good name is good");
    char again[EM_DNS_NAME_MAX + 1];
    em__dns_name_key(key, strlen(key), again);
    check(strcmp(key, again) == 0, "the key of a key is itself");
    for (const char *k = key; *k; k++)
        check(!(*k >= 'A' && *k <= 'Z'), "a key has no upper case");
    memcpy(pool[slot], key, sizeof key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    prog g = {data, size};
    uint8_t b0 = next(&g);
    model *m = calloc(1, sizeof *m);
    if (!m)
        return 0;
    m->cap = b0 & 0x80 ? 1 + (b0 & 0x3f) : 1 + (b0 % 8); /* <= 64 < MODEL_MAX */
    m->max_ttl = next(&g);
    m->negative_ttl = next(&g) % 64;
    struct em__dns_cache *c = em__dns_cache_new((unsigned)m->cap, m->max_ttl, m->negative_ttl);
    if (!c) {
        free(m);
        return 0;
    }
    static char pool[POOL][EM_DNS_NAME_MAX + 1];
    for (int i = 0; i < POOL; i++)
        snprintf(pool[i], sizeof pool[i], "h%d.example", i);
    uint64_t now = (uint64_t)next(&g) << 20; /* the clock need not start at 0 */
    while (g.left) {
        uint8_t op = next(&g);
        switch (op % 7) {
        case 0: {
            const char *key = pool[next(&g) % POOL];
            int family = next(&g) & 1 ? 4 : 6;
            uint32_t ttl = (uint32_t)next(&g) << 8;
            ttl |= next(&g);
            if (op & 0x80)
                ttl <<= 16; /* TTLs near 2^32: cut to max_ttl */
            uint8_t k = next(&g);
            size_t count = 1 + k % ADDRS_MAX;
            em_ip addrs[ADDRS_MAX];
            for (size_t i = 0; i < count; i++) {
                uint8_t bytes[16] = {0x20, 0x01, 0x0d, 0xb8};
                bytes[15] = (uint8_t)(k + i);
                addrs[i] = family == 4 ? em_ip4_make(0xc0000200u + k + (uint32_t)i)
                                       : em_ip6_make(bytes, 0);
            }
            em_dns_result r;
            if (em__dns_result_set(&r, addrs, count, family == 4 ? EM_DNS_V4 : EM_DNS_V6,
                                   EM_DNS_SOURCE_DNS, ttl) != 0)
                break;
            em__dns_cache_put(c, key, family, now, 0, &r);
            em_dns_result_free(&r);
            model_put(m, key, family, now, 0, addrs, count, ttl);
            break;
        }
        case 1:
        case 2: {
            const char *key = pool[next(&g) % POOL];
            int family = next(&g) & 1 ? 4 : 6;
            int status = op % 7 == 1 ? EM_ENOTFOUND : (op & 0x80 ? EM_ETIMEDOUT : EM_EDNSFAIL);
            em__dns_cache_put(c, key, family, now, status, NULL);
            model_put(m, key, family, now, status, NULL, 0, 0);
            break;
        }
        case 3: {
            const char *key = pool[next(&g) % POOL];
            int family = next(&g) & 1 ? 4 : 6;
            do_get(c, m, key, family, now);
            break;
        }
        case 4: {
            uint64_t d = (uint64_t)next(&g) << 8;
            d |= next(&g);
            now += op & 0x80 ? d * 1000 : d;
            break;
        }
        case 5:
            learn(&g, pool);
            break;
        default:
            for (int i = 0; i < POOL; i++)
                do_get(c, m, pool[i], op & 0x80 ? 6 : 4, now);
        }
        check(em__dns_cache_count(c) == m->n, "the count differs from the model's");
        check(m->n <= m->cap, "over the size bound");
    }
    em__dns_cache_free(c);
    free(m);
    return 0;
}

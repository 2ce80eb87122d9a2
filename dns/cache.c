/* A small answer cache (c-ares 1.18 has none): (name, family) to addresses
 * or "not found", honouring TTLs, bounded by an LRU. Time is passed in, so
 * tests run it on a fake clock. */
#include <stdlib.h>
#include <string.h>

#include "dns_internal.h"

typedef struct entry {
    struct entry *hnext;            /* bucket chain */
    struct entry *newer, *older;    /* LRU list */
    uint64_t expires;               /* ms */
    em_ip *addrs;
    size_t count;
    int status;                     /* 0 or EM_ENOTFOUND */
    uint32_t hash;
    uint8_t family;
    char key[EM__DNS_KEY_MAX];
} entry;

struct em__dns_cache {
    entry **buckets;
    size_t mask;                    /* buckets - 1 (a power of two) */
    entry *newest, *oldest;
    size_t count, cap;
    unsigned max_ttl, negative_ttl; /* seconds */
};

static uint32_t hash_key(const char *key, int family) {
    uint32_t h = 2166136261u ^ (uint32_t)family; /* FNV-1a */
    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 16777619u;
    return h;
}

struct em__dns_cache *em__dns_cache_new(unsigned size, unsigned max_ttl, unsigned negative_ttl) {
    struct em__dns_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    size_t nb = 16;
    while (nb < (size_t)size * 2)
        nb *= 2;
    c->buckets = calloc(nb, sizeof *c->buckets);
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    c->mask = nb - 1;
    c->cap = size ? size : 1;
    c->max_ttl = max_ttl;
    c->negative_ttl = negative_ttl;
    return c;
}

static void lru_unlink(struct em__dns_cache *c, entry *e) {
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void lru_push(struct em__dns_cache *c, entry *e) {
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest)
        c->newest->newer = e;
    else
        c->oldest = e;
    c->newest = e;
}

static entry **slot(struct em__dns_cache *c, const char *key, int family, uint32_t h) {
    entry **p = &c->buckets[h & c->mask];
    while (*p && !((*p)->hash == h && (*p)->family == family && strcmp((*p)->key, key) == 0))
        p = &(*p)->hnext;
    return p;
}

static void drop(struct em__dns_cache *c, entry **p) {
    entry *e = *p;
    *p = e->hnext;
    lru_unlink(c, e);
    free(e->addrs);
    free(e);
    c->count--;
}

void em__dns_cache_free(struct em__dns_cache *c) {
    if (!c)
        return;
    for (size_t i = 0; i <= c->mask; i++)
        while (c->buckets[i])
            drop(c, &c->buckets[i]);
    free(c->buckets);
    free(c);
}

size_t em__dns_cache_count(const struct em__dns_cache *c) { return c ? c->count : 0; }

int em__dns_cache_get(struct em__dns_cache *c, const char *key, int family, uint64_t now_ms,
                      em_dns_result *res) {
    memset(res, 0, sizeof *res);
    uint32_t h = hash_key(key, family);
    entry **p = slot(c, key, family, h);
    if (!*p)
        return EM_EAGAIN;
    entry *e = *p;
    if (now_ms >= e->expires) {
        drop(c, p);
        return EM_EAGAIN;
    }
    lru_unlink(c, e);
    lru_push(c, e);
    if (e->status)
        return e->status;
    uint32_t left = (uint32_t)((e->expires - now_ms + 999) / 1000);
    return em__dns_result_set(res, e->addrs, e->count, family == 4 ? EM_DNS_V4 : EM_DNS_V6,
                              EM_DNS_SOURCE_CACHE, left);
}

void em__dns_cache_put(struct em__dns_cache *c, const char *key, int family, uint64_t now_ms,
                       int status, const em_dns_result *res) {
    uint64_t ttl;
    size_t klen = strlen(key);
    if (klen >= EM__DNS_KEY_MAX)
        return;
    if (status == 0 && res && res->count)
        ttl = res->ttl < c->max_ttl ? res->ttl : c->max_ttl;
    else if (status == EM_ENOTFOUND)
        ttl = c->negative_ttl;
    else
        return; /* timeouts and server failures say nothing about the name */
    uint32_t h = hash_key(key, family);
    entry **p = slot(c, key, family, h);
    if (*p)
        drop(c, p);
    if (ttl == 0)
        return;
    if (c->count == c->cap) {
        entry *old = c->oldest;
        drop(c, slot(c, old->key, old->family, old->hash));
    }
    entry *e = calloc(1, sizeof *e);
    if (!e)
        return;
    if (status == 0) {
        e->addrs = malloc(res->count * sizeof *res->addrs);
        if (!e->addrs) {
            free(e);
            return;
        }
        memcpy(e->addrs, res->addrs, res->count * sizeof *res->addrs);
        e->count = res->count;
    }
    e->status = status;
    e->expires = now_ms + ttl * 1000;
    e->hash = h;
    e->family = (uint8_t)family;
    memcpy(e->key, key, klen);
    p = slot(c, key, family, h); /* eviction may have moved the end of the chain */
    *p = e;
    lru_push(c, e);
    c->count++;
}

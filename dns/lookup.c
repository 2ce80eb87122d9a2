/* Lookups: A and AAAA as separate c-ares queries, answers from the hosts
 * file, the cache, literals and localhost, "not found" for *.invalid, a
 * per-lookup timeout, and every answer handed to the callback from a
 * deferred task: c-ares may call back inside ares_getaddrinfo, and no
 * callback may run inside the caller's call. One callback per task run,
 * so a callback may free its lookup. */
#include <stdlib.h>
#include <string.h>

#include "dns_internal.h"

enum { UNUSED, WAITING, READY, DELIVERED };

/* One c-ares query; outlives its lookup when cancelled (c-ares 1.18 cannot
 * cancel one query) and then only feeds the cache. */
struct em__dns_query {
    em_dns_lookup *l; /* NULL once detached */
    em_dns_resolver *r;
    int family;       /* 4 or 6 */
    char key[EM__DNS_KEY_MAX]; /* the cache key */
};

static int fam_of(int idx) { return idx == 0 ? 4 : 6; }

static void schedule(em_dns_lookup *l) {
    /* _deliver.data doubles as "queued" (NULL when not). */
    if (!l->_deliver.data) {
        l->_deliver.data = l;
        em_loop_defer(l->_r->_loop, &l->_deliver);
    }
}

static void ready(em_dns_lookup *l, int idx, int status, em_dns_result *res) {
    l->_status[idx] = status;
    if (res)
        l->_res[idx] = *res;
    else
        memset(&l->_res[idx], 0, sizeof l->_res[idx]);
    l->_state[idx] = READY;
    schedule(l);
}

static void detach(em_dns_lookup *l) {
    for (int i = 0; i < 2; i++)
        if (l->_q[i]) {
            l->_q[i]->l = NULL;
            l->_q[i] = NULL;
        }
}

/* The lookup is over: off the resolver's list, timer stopped. */
static void finish(em_dns_lookup *l) {
    em_dns_resolver *r = l->_r;
    detach(l);
    em_timer_stop(&l->_timer);
    if (l->_prev)
        l->_prev->_next = l->_next;
    else
        r->_lookups = l->_next;
    if (l->_next)
        l->_next->_prev = l->_prev;
    l->_next = l->_prev = NULL;
    l->_active = false;
}

static void on_ares(void *arg, int status, int timeouts, struct ares_addrinfo *ai) {
    struct em__dns_query *q = arg;
    em_dns_result res;
    int err = em__dns_err_from_ares(status);
    if (err == 0)
        err = em__dns_result_from_ares(&res, ai, q->family);
    else
        memset(&res, 0, sizeof res);
    if (ai)
        ares_freeaddrinfo(ai);
    em_dns_resolver *r = q->r;
    if (status != ARES_EDESTRUCTION && r->_cache)
        em__dns_cache_put(r->_cache, q->key, q->family, em__dns_now(r), err, &res);
    em_dns_lookup *l = q->l;
    int idx = q->family == 4 ? 0 : 1;
    if (l && l->_state[idx] == WAITING) {
        l->_q[idx] = NULL;
        ready(l, idx, err, &res);
    } else {
        em_dns_result_free(&res);
    }
    free(q);
}

static void on_timeout(em_timer *t) {
    em_dns_lookup *l = EM_CONTAINER_OF(t, em_dns_lookup, _timer);
    detach(l);
    for (int i = 0; i < 2; i++)
        if (l->_state[i] == WAITING)
            ready(l, i, EM_ETIMEDOUT, NULL);
}

/* Both failed: cancellation first, then an error that says more than "not
 * found" (a SERVFAIL or timeout on one family hides a NODATA on the other). */
static int merged_error(int st4, int st6) {
    if (st4 == EM_ECANCELED || st6 == EM_ECANCELED)
        return EM_ECANCELED;
    return st6 != EM_ENOTFOUND ? st6 : st4;
}

static void deliver(em_task *t) {
    em_dns_lookup *l = t->data;
    l->_deliver.data = NULL;
    if (!l->_active)
        return;
    em_dns_result res;
    int status;
    em_dns_family fam = EM_DNS_ANY;
    if (l->_each_family || l->_state[0] == UNUSED || l->_state[1] == UNUSED) {
        int idx = l->_state[1] == READY ? 1 : l->_state[0] == READY ? 0 : -1;
        if (idx < 0)
            return;
        res = l->_res[idx];
        status = l->_status[idx];
        l->_state[idx] = DELIVERED;
        memset(&l->_res[idx], 0, sizeof l->_res[idx]);
        if (l->_each_family || l->_family != EM_DNS_ANY)
            fam = idx == 0 ? EM_DNS_V4 : EM_DNS_V6;
        int other = 1 - idx;
        if (l->_state[other] == READY)
            schedule(l); /* the next answer in the next round */
        if (l->_state[other] != WAITING && l->_state[other] != READY)
            finish(l);
    } else {
        if (l->_state[0] == WAITING || l->_state[1] == WAITING)
            return;
        int st4 = l->_status[0], st6 = l->_status[1];
        if (st4 == 0 || st6 == 0)
            status = em__dns_result_merge(&res, &l->_res[1], &l->_res[0]);
        else {
            status = merged_error(st4, st6);
            memset(&res, 0, sizeof res);
        }
        for (int i = 0; i < 2; i++) {
            em_dns_result_free(&l->_res[i]);
            l->_state[i] = DELIVERED;
        }
        finish(l);
    }
    if (status)
        em_dns_result_free(&res);
    res.family = fam;
    l->_cb(l, status, &res);
    free(res.addrs); /* l may be gone: only the local copy is touched */
}

/* Answer one family without asking DNS, if we can. */
static bool answer_locally(em_dns_resolver *r, em_dns_lookup *l, int idx, const char *key,
                           const char *ckey) {
    em_dns_result res;
    int rc = em__dns_hosts_find(r->_hosts, key, fam_of(idx), &res);
    if (rc != EM_ENOTFOUND) {
        ready(l, idx, rc, &res);
        return true;
    }
    if (r->_cache) {
        rc = em__dns_cache_get(r->_cache, ckey, fam_of(idx), em__dns_now(r), &res);
        if (rc != EM_EAGAIN) {
            if (rc == EM_ENOTFOUND)
                res.source = EM_DNS_SOURCE_CACHE;
            ready(l, idx, rc, &res);
            return true;
        }
    }
    return false;
}

/* Does the hosts file have key for family? */
static bool in_hosts(em_dns_resolver *r, const char *key, int family) {
    em_dns_result res;
    int rc = em__dns_hosts_find(r->_hosts, key, family, &res);
    em_dns_result_free(&res);
    return rc != EM_ENOTFOUND;
}

static void ask(em_dns_resolver *r, em_dns_lookup *l, int idx, const char *host,
                const char *key) {
    struct em__dns_query *q = calloc(1, sizeof *q);
    if (!q) {
        ready(l, idx, EM_ENOMEM, NULL);
        return;
    }
    q->l = l;
    q->r = r;
    q->family = fam_of(idx);
    strcpy(q->key, key);
    l->_q[idx] = q;
    struct ares_addrinfo_hints hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = idx == 0 ? AF_INET : AF_INET6;
    hints.ai_flags = ARES_AI_NOSORT; /* result.c sorts answers of 2+ addresses (sort.c) */
    ares_getaddrinfo(r->_channel, host, NULL, &hints, on_ares, q); /* may call on_ares now */
}

static void answer_literal(em_dns_lookup *l, const em_ip *ip, bool localhost) {
    static const uint8_t lo6[16] = { [15] = 1 };
    for (int i = 0; i < 2; i++) {
        if (l->_state[i] != WAITING)
            continue;
        em_ip addr = localhost ? (i == 0 ? em_ip4_make(0x7f000001) : em_ip6_make(lo6, 0)) : *ip;
        em_dns_result res;
        if (!localhost && addr.family != fam_of(i)) {
            if (l->_family == EM_DNS_ANY)
                l->_state[i] = UNUSED; /* a literal has one family */
            else
                ready(l, i, EM_EAFNOSUPPORT, NULL);
            continue;
        }
        int rc = em__dns_result_set(&res, &addr, 1, i == 0 ? EM_DNS_V4 : EM_DNS_V6,
                                    localhost ? EM_DNS_SOURCE_LOCALHOST : EM_DNS_SOURCE_LITERAL, 0);
        ready(l, i, rc, rc ? NULL : &res);
    }
}

int em_dns_lookup_start(em_dns_resolver *r, em_dns_lookup *l, const char *host,
                        const em_dns_lookup_opts *opts, em_dns_lookup_cb cb) {
    if (r->_closing)
        return EM_ECLOSED;
    if (!host || !cb || (l->_r && l->_active))
        return EM_EINVAL;
    em_dns_lookup_opts o = { 0 };
    if (opts)
        o = *opts;
    if (o.family != EM_DNS_ANY && o.family != EM_DNS_V4 && o.family != EM_DNS_V6)
        return EM_EINVAL;
    size_t len = strlen(host);
    em_ip ip;
    int kind = em__dns_name_classify(host, len, &ip);
    if (kind < 0)
        return kind;

    void *data = l->data;
    memset(l, 0, sizeof *l);
    l->data = data;
    l->_r = r;
    l->_cb = cb;
    l->_family = o.family;
    l->_each_family = o.each_family;
    l->_active = true;
    l->_deliver.cb = deliver;
    em_timer_init(r->_loop, &l->_timer, on_timeout);
    l->_next = r->_lookups;
    if (r->_lookups)
        r->_lookups->_prev = l;
    r->_lookups = l;
    for (int i = 0; i < 2; i++)
        l->_state[i] = (o.family == EM_DNS_ANY || (int)o.family == fam_of(i)) ? WAITING : UNUSED;

    if (kind != EM__DNS_HOSTNAME) {
        answer_literal(l, &ip, kind == EM__DNS_LOCALHOST);
        return 0;
    }
    if (em__dns_name_is_invalid(host, len)) {
        /* RFC 6761 §6.4: a negative answer at once; no hosts file, cache,
         * search list or query. */
        for (int i = 0; i < 2; i++)
            if (l->_state[i] == WAITING)
                ready(l, i, EM_ENOTFOUND, NULL);
        return 0;
    }
    char key[EM_DNS_NAME_MAX + 1], ckey[EM__DNS_KEY_MAX];
    em__dns_name_key(host, len, key);
    em__dns_cache_key(host, len, ckey);
    bool asked = false;
    /* A name the hosts file has is answered from the file alone, as
     * glibc's "files" source and c-ares do: with ANY, a family it lacks
     * is not asked of DNS (which would leak the name and could put a DNS
     * address ahead of the file's). */
    bool hosts_only = o.family == EM_DNS_ANY && (in_hosts(r, key, 4) || in_hosts(r, key, 6));
    /* AAAA first: the family tried first wants its answer first. */
    for (int i = 1; i >= 0; i--) {
        if (l->_state[i] != WAITING)
            continue;
        if (hosts_only) { /* not the cache either: the file's answer is whole */
            em_dns_result res;
            int rc = em__dns_hosts_find(r->_hosts, key, fam_of(i), &res);
            ready(l, i, rc, &res);
            continue;
        }
        if (answer_locally(r, l, i, key, ckey))
            continue;
        ask(r, l, i, host, ckey);
        asked = true;
    }
    if (asked)
        em__dns_channel_rearm(r);
    if (o.timeout_ms && (l->_state[0] == WAITING || l->_state[1] == WAITING))
        em_timer_start(&l->_timer, o.timeout_ms, 0);
    return 0;
}

bool em_dns_lookup_cancel(em_dns_lookup *l) {
    if (!l->_r || !l->_active)
        return false;
    if (l->_deliver.data) {
        em_loop_defer_cancel(l->_r->_loop, &l->_deliver);
        l->_deliver.data = NULL;
    }
    for (int i = 0; i < 2; i++)
        em_dns_result_free(&l->_res[i]);
    finish(l);
    return true;
}

bool em_dns_lookup_active(const em_dns_lookup *l) { return l->_r && l->_active; }

void em__dns_lookups_abort(em_dns_resolver *r, int status) {
    for (em_dns_lookup *l = r->_lookups; l; l = l->_next) {
        detach(l);
        em_timer_stop(&l->_timer);
        for (int i = 0; i < 2; i++)
            if (l->_state[i] == WAITING)
                ready(l, i, status, NULL);
    }
}

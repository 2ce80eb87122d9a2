/* Topics across loops. A hub keeps one shard per loop that has
 * subscribers; a shard maps topic names to the connections of that loop
 * subscribed to them. Subscribing and leaving happen on the connection's
 * loop thread; the hub's mutex guards the maps against publishers on
 * other threads, which only look up whether a shard has a topic and post
 * the frame there. The loop then walks its own subscriber list without
 * the lock: only its own thread changes it, and a send never calls back.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ws_conn_internal.h"

typedef struct sub sub;
typedef struct topic topic;
typedef struct shard shard;

/* One connection in one topic: on the topic's list and on the
 * connection's own list (ws->subs), so a close finds all of its own. */
struct sub {
    em_ws *ws;
    topic *t;
    sub *prev, *next;   /* the topic's subscribers */
    sub *ws_next;       /* the connection's subscriptions */
    em_ws_hub *hub;
};

struct topic {
    topic *chain; /* the next in its hash bucket */
    sub *subs;
    size_t n;
    uint32_t hash;
    size_t len;
    char name[]; /* len bytes and a NUL */
};

struct shard {
    shard *next;
    em_loop *loop;
    topic **buckets;
    size_t nbuckets, ntopics;
};

struct em_ws_hub {
    pthread_mutex_t mu;
    shard *shards;
    _Atomic unsigned refs; /* the owner's, plus one per posted delivery */
};

/* A message on its way to one loop. */
typedef struct delivery {
    em_task task;
    em_ws_hub *hub;
    shard *sh;
    em_ws_frame_buf *fb;
    size_t len;
    char name[]; /* the topic */
} delivery;

/* ---- the maps (hub->mu held) ------------------------------------------------- */

static uint32_t hash_of(const char *s, size_t n) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static topic *find(const shard *sh, const char *name, size_t len, uint32_t h) {
    if (!sh->nbuckets)
        return NULL;
    for (topic *t = sh->buckets[h & (sh->nbuckets - 1)]; t; t = t->chain)
        if (t->hash == h && t->len == len && !memcmp(t->name, name, len))
            return t;
    return NULL;
}

static int grow(shard *sh) {
    size_t nb = sh->nbuckets ? sh->nbuckets * 2 : 16;
    topic **b = calloc(nb, sizeof *b);
    if (!b)
        return EM_ENOMEM;
    for (size_t i = 0; i < sh->nbuckets; i++)
        for (topic *t = sh->buckets[i], *next; t; t = next) {
            next = t->chain;
            t->chain = b[t->hash & (nb - 1)];
            b[t->hash & (nb - 1)] = t;
        }
    free(sh->buckets);
    sh->buckets = b;
    sh->nbuckets = nb;
    return 0;
}

static void drop_topic(shard *sh, topic *t) {
    topic **pp = &sh->buckets[t->hash & (sh->nbuckets - 1)];
    while (*pp != t)
        pp = &(*pp)->chain;
    *pp = t->chain;
    sh->ntopics--;
    free(t);
}

static shard *shard_of(em_ws_hub *h, em_loop *loop, bool make) {
    for (shard *sh = h->shards; sh; sh = sh->next)
        if (sh->loop == loop)
            return sh;
    if (!make)
        return NULL;
    shard *sh = calloc(1, sizeof *sh);
    if (!sh)
        return NULL;
    sh->loop = loop;
    sh->next = h->shards;
    h->shards = sh;
    return sh;
}

/* Take s off its topic (and drop the topic when it empties). */
static void unlink_sub(shard *sh, sub *s) {
    topic *t = s->t;
    if (s->prev)
        s->prev->next = s->next;
    else
        t->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    if (--t->n == 0)
        drop_topic(sh, t);
}

/* ---- hub ---------------------------------------------------------------------- */

EM_API int em_ws_hub_new(em_ws_hub **out) {
    em_ws_hub *h = calloc(1, sizeof *h);
    if (!h)
        return EM_ENOMEM;
    pthread_mutex_init(&h->mu, NULL);
    atomic_init(&h->refs, 1);
    *out = h;
    return 0;
}

static void hub_unref(em_ws_hub *h) {
    if (atomic_fetch_sub(&h->refs, 1) != 1)
        return;
    for (shard *sh = h->shards, *next; sh; sh = next) {
        next = sh->next;
        for (size_t i = 0; i < sh->nbuckets; i++)
            for (topic *t = sh->buckets[i], *tn; t; t = tn) {
                tn = t->chain;
                free(t); /* only if the owner broke the rules: subscribers left */
            }
        free(sh->buckets);
        free(sh);
    }
    pthread_mutex_destroy(&h->mu);
    free(h);
}

EM_API void em_ws_hub_free(em_ws_hub *h) {
    if (h)
        hub_unref(h);
}

/* ---- subscribing (ws's loop thread) ----------------------------------------------- */

/* The core finishes ws: out of every topic of every hub, before on_close. */
static void on_finish(em_ws *ws) {
    for (sub *s = ws->cold->subs, *next; s; s = next) {
        next = s->ws_next;
        em_ws_hub *h = s->hub;
        pthread_mutex_lock(&h->mu);
        unlink_sub(shard_of(h, ws->loop, false), s);
        pthread_mutex_unlock(&h->mu);
        free(s);
    }
    ws->cold->subs = NULL;
}

static bool topic_ok(const char *name, size_t *len) {
    if (!name)
        return false;
    *len = strnlen(name, EM_WS_TOPIC_MAX + 1);
    return *len > 0 && *len <= EM_WS_TOPIC_MAX;
}

EM_API int em_ws_subscribe(em_ws_hub *h, em_ws *ws, const char *name) {
    size_t len;
    if (!h || !ws || !topic_ok(name, &len) || em__ws_role(ws) != EM_WS_ROLE_SERVER)
        return EM_EINVAL;
    if (em__ws_closing(ws))
        return EM_ECLOSED;
    em__ws_cold *c = em__ws_cold_get(ws);
    if (!c)
        return EM_ENOMEM;
    uint32_t hv = hash_of(name, len);
    for (sub *s = c->subs; s; s = s->ws_next)
        if (s->hub == h && s->t->hash == hv && s->t->len == len && !memcmp(s->t->name, name, len))
            return 0; /* already */
    sub *s = calloc(1, sizeof *s);
    if (!s)
        return EM_ENOMEM;
    pthread_mutex_lock(&h->mu);
    int rc = EM_ENOMEM;
    shard *sh = shard_of(h, ws->loop, true);
    topic *t = sh ? find(sh, name, len, hv) : NULL;
    if (sh && !t && (sh->ntopics < sh->nbuckets || grow(sh) == 0) &&
        (t = calloc(1, sizeof *t + len + 1)) != NULL) {
        t->hash = hv;
        t->len = len;
        memcpy(t->name, name, len);
        t->chain = sh->buckets[hv & (sh->nbuckets - 1)];
        sh->buckets[hv & (sh->nbuckets - 1)] = t;
        sh->ntopics++;
    }
    if (t) {
        s->ws = ws;
        s->t = t;
        s->hub = h;
        s->next = t->subs;
        if (t->subs)
            t->subs->prev = s;
        t->subs = s;
        t->n++;
        rc = 0;
    }
    pthread_mutex_unlock(&h->mu);
    if (rc) {
        free(s);
        return rc;
    }
    s->ws_next = c->subs;
    c->subs = s;
    c->on_finish = on_finish;
    return 0;
}

EM_API int em_ws_unsubscribe(em_ws_hub *h, em_ws *ws, const char *name) {
    size_t len;
    if (!h || !ws || !topic_ok(name, &len))
        return EM_ENOTFOUND;
    if (!ws->cold)
        return EM_ENOTFOUND;
    for (sub **pp = (sub **)&ws->cold->subs; *pp; pp = &(*pp)->ws_next) {
        sub *s = *pp;
        if (s->hub != h || s->t->len != len || memcmp(s->t->name, name, len))
            continue;
        *pp = s->ws_next;
        pthread_mutex_lock(&h->mu);
        unlink_sub(shard_of(h, ws->loop, false), s);
        pthread_mutex_unlock(&h->mu);
        free(s);
        if (!ws->cold->subs) /* in no topic: nothing to finish, the part may go */
            ws->cold->on_finish = NULL;
        return 0;
    }
    return EM_ENOTFOUND;
}

EM_API size_t em_ws_hub_subscribers(em_ws_hub *h, const char *name) {
    size_t len, n = 0;
    if (!h || !topic_ok(name, &len))
        return 0;
    uint32_t hv = hash_of(name, len);
    pthread_mutex_lock(&h->mu);
    for (shard *sh = h->shards; sh; sh = sh->next) {
        topic *t = find(sh, name, len, hv);
        n += t ? t->n : 0;
    }
    pthread_mutex_unlock(&h->mu);
    return n;
}

/* ---- publishing (any thread) --------------------------------------------------------- */

static void deliver(em_task *task) {
    delivery *d = EM_CONTAINER_OF(task, delivery, task);
    /* Only this thread changes this shard's lists; the lock is for the
     * lookup, which publishers on other threads also make. */
    pthread_mutex_lock(&d->hub->mu);
    topic *t = find(d->sh, d->name, d->len, hash_of(d->name, d->len));
    pthread_mutex_unlock(&d->hub->mu);
    for (sub *s = t ? t->subs : NULL, *next; s; s = next) {
        next = s->next; /* a close below can take s out (never the next) */
        int rc = em_ws_send_frame_buf(s->ws, d->fb, NULL);
        if (rc == EM_ENOBUFS) /* a reader too slow for a broadcast */
            (void)em_ws_close(s->ws, EM_WS_CLOSE_POLICY, EM_SLICE_LIT("too slow"));
    }
    em_ws_frame_buf_release(d->fb);
    hub_unref(d->hub);
    free(d);
}

EM_API int em_ws_publish(em_ws_hub *h, const char *name, int opcode, em_slice data) {
    size_t len;
    if (!h || !topic_ok(name, &len))
        return EM_EINVAL;
    em_ws_frame_buf *fb;
    int rc = em_ws_frame_buf_new(&fb, opcode, data, false);
    if (rc)
        return rc;
    uint32_t hv = hash_of(name, len);
    int posted = 0;
    pthread_mutex_lock(&h->mu);
    for (shard *sh = h->shards; sh; sh = sh->next) {
        if (!find(sh, name, len, hv))
            continue;
        delivery *d = malloc(sizeof *d + len + 1);
        if (!d) {
            rc = EM_ENOMEM;
            break;
        }
        d->task.cb = deliver;
        d->task.data = d;
        d->hub = h;
        d->sh = sh;
        d->fb = fb;
        d->len = len;
        memcpy(d->name, name, len + 1);
        em_ws_frame_buf_retain(fb);
        atomic_fetch_add(&h->refs, 1);
        if (em_loop_post(sh->loop, &d->task) != 0) { /* that loop is closing */
            em_ws_frame_buf_release(fb);
            atomic_fetch_sub(&h->refs, 1);
            free(d);
            continue;
        }
        posted++;
    }
    pthread_mutex_unlock(&h->mu);
    em_ws_frame_buf_release(fb);
    return rc ? rc : posted;
}

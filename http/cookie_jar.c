/* The client cookie jar: RFC 6265 §5.3 storage and §5.4's Cookie header,
 * with 6265bis's secure-origin rules and prefixes. */
#include <libpsl.h>
#include <stdlib.h>
#include <string.h>

#include "cookie_internal.h"

#define DEFAULT_MAX_COOKIES    3000
#define DEFAULT_MAX_PER_DOMAIN 50
#define DEFAULT_MAX_BYTES      4096
/* 6265bis §5.5: cap expiry at 400 days from now. */
#define MAX_AGE_CAP (400 * 86400LL)

int em_cookie_jar_new(em_cookie_jar **out, const em_cookie_jar_opts *opts) {
    *out = NULL;
    em_cookie_jar *jar = calloc(1, sizeof *jar);
    if (!jar)
        return EM_ENOMEM;
    em_cookie_jar_opts o = opts ? *opts : (em_cookie_jar_opts){0};
    jar->max_cookies = o.max_cookies ? o.max_cookies : DEFAULT_MAX_COOKIES;
    jar->max_per_domain = o.max_per_domain ? o.max_per_domain : DEFAULT_MAX_PER_DOMAIN;
    jar->max_bytes = o.max_cookie_bytes ? o.max_cookie_bytes : DEFAULT_MAX_BYTES;
    jar->no_psl = o.no_public_suffix_check;
    if (!jar->no_psl) {
        /* libpsl's advice: the newest of the distribution's list
         * (/usr/share/publicsuffix) and the one built in. */
        const psl_ctx_t *psl = psl_latest(NULL);
        jar->psl = (void *)(psl ? psl : psl_builtin());
    }
    if (pthread_mutex_init(&jar->mu, NULL) != 0) {
        psl_free(jar->psl);
        free(jar);
        return EM_ENOMEM;
    }
    *out = jar;
    return 0;
}

static void drop_all(em_cookie_jar *jar) {
    for (size_t i = 0; i < jar->n; i++)
        free(jar->v[i]);
    jar->n = 0;
}

void em_cookie_jar_free(em_cookie_jar *jar) {
    if (!jar)
        return;
    drop_all(jar);
    free(jar->v);
    psl_free(jar->psl); /* a no-op for the built-in list */
    pthread_mutex_destroy(&jar->mu);
    free(jar);
}

void em_cookie_jar_clear(em_cookie_jar *jar) {
    pthread_mutex_lock(&jar->mu);
    drop_all(jar);
    pthread_mutex_unlock(&jar->mu);
}

static void remove_at(em_cookie_jar *jar, size_t i) {
    free(jar->v[i]);
    jar->v[i] = jar->v[--jar->n];
}

void em__cookie_jar_purge_locked(em_cookie_jar *jar, int64_t now) {
    for (size_t i = jar->n; i-- > 0;)
        if (jar->v[i]->expiry <= now)
            remove_at(jar, i);
}

size_t em_cookie_jar_count(em_cookie_jar *jar) {
    pthread_mutex_lock(&jar->mu);
    size_t n = jar->n;
    pthread_mutex_unlock(&jar->mu);
    return n;
}

/* ---- matching ------------------------------------------------------------ */

static bool looks_ip(const char *h, size_t n) {
    if (memchr(h, ':', n))
        return true;
    for (size_t i = 0; i < n; i++)
        if (!(h[i] == '.' || (h[i] >= '0' && h[i] <= '9')))
            return false;
    return n > 0;
}

/* §5.1.3: s domain-matches d. */
static bool domain_match(const char *s, size_t sn, bool s_is_ip, const char *d, size_t dn) {
    if (sn == dn)
        return memcmp(s, d, sn) == 0;
    return !s_is_ip && dn > 0 && sn > dn && memcmp(s + sn - dn, d, dn) == 0 &&
           s[sn - dn - 1] == '.';
}

/* §5.1.4: request path p path-matches cookie path c. */
static bool path_match(const char *p, size_t pn, const char *c, size_t cn) {
    if (cn > pn || memcmp(p, c, cn) != 0)
        return false;
    return cn == pn || c[cn - 1] == '/' || p[cn] == '/';
}

/* §5.1.4's default-path of a request path: up to the right-most '/',
 * "/" when that is the first. */
static em_slice default_path(const char *path) {
    const char *last = path && path[0] == '/' ? strrchr(path, '/') : NULL;
    if (!last || last == path)
        return EM_SLICE_LIT("/");
    return em_slice_make(path, (size_t)(last - path));
}

/* Secure contexts: https/wss, and http to localhost or a loopback IP
 * (6265bis leaves "secure" to the user agent; curl does the same). */
static bool secure_origin(const em_url *u) {
    if (em_url_is_tls(u))
        return true;
    const char *h = u->host;
    size_t n = strlen(h);
    if (u->host_is_ipv6)
        return strcmp(h, "::1") == 0;
    if (u->host_is_ip)
        return strncmp(h, "127.", 4) == 0;
    if (n && h[n - 1] == '.')
        n--;
    return (n == 9 && !memcmp(h, "localhost", 9)) ||
           (n > 10 && !memcmp(h + n - 10, ".localhost", 10));
}

static bool has_prefix_nocase(em_slice s, const char *p) {
    size_t n = strlen(p);
    return s.len >= n && em_slice_eq_nocase(em_slice_make(s.ptr, n), em_slice_make(p, n));
}

/* ---- storage ------------------------------------------------------------- */

static em__cookie *cookie_alloc(em_slice name, em_slice value, em_slice domain, em_slice path) {
    size_t n = sizeof(em__cookie) + name.len + value.len + domain.len + path.len + 4;
    em__cookie *c = calloc(1, n);
    if (!c)
        return NULL;
    char *p = (char *)(c + 1);
    em_slice parts[4] = {name, value, domain, path};
    char **dst[4] = {&c->name, &c->value, &c->domain, &c->path};
    size_t *len[4] = {&c->name_len, &c->value_len, &c->domain_len, &c->path_len};
    for (int i = 0; i < 4; i++) {
        *dst[i] = p;
        if (parts[i].len)
            memcpy(p, parts[i].ptr, parts[i].len);
        p[parts[i].len] = 0;
        *len[i] = parts[i].len;
        p += parts[i].len + 1;
    }
    return c;
}

/* The path as cookies.txt writes it: a default path "/dir" as "/dir/". */
static bool same_written_path(const em__cookie *a, const em__cookie *b) {
    size_t al = a->path_len + a->dir_path, bl = b->path_len + b->dir_path;
    if (al != bl)
        return false;
    size_t n = a->path_len < b->path_len ? a->path_len : b->path_len;
    /* the one with the longer stored path has '/' where the other's ends */
    const em__cookie *longer = a->path_len > b->path_len ? a : b;
    return !memcmp(a->path, b->path, n) && (a->path_len == b->path_len || longer->path[n] == '/');
}

/* §5.3 step 11's name, domain and path, with the path as the file writes
 * it: an explicit Path=/dir/ and a default "/dir" are one cookie (as in
 * curl), so a save and a load keep every cookie the jar holds. */
static bool same_key(const em__cookie *a, const em__cookie *b) {
    return a->name_len == b->name_len && a->domain_len == b->domain_len &&
           !memcmp(a->name, b->name, a->name_len) && !memcmp(a->domain, b->domain, a->domain_len) &&
           same_written_path(a, b);
}

static bool older_access(const em__cookie *a, const em__cookie *b) {
    return a->last_access != b->last_access ? a->last_access < b->last_access
                                            : a->access_seq < b->access_seq;
}

/* §5.3's eviction, in 6265bis §5.7's order: over max_per_domain, the least
 * recently used non-Secure cookie of that domain, else the least recently
 * used of its Secure ones; over max_cookies, the least recently used of all. */
static void enforce_limits(em_cookie_jar *jar, const em__cookie *added) {
    for (;;) {
        size_t count = 0, lru = SIZE_MAX, lru_insecure = SIZE_MAX;
        for (size_t i = 0; i < jar->n; i++) {
            const em__cookie *c = jar->v[i];
            if (c->domain_len != added->domain_len ||
                memcmp(c->domain, added->domain, c->domain_len))
                continue;
            count++;
            if (lru == SIZE_MAX || older_access(c, jar->v[lru]))
                lru = i;
            if (!c->secure && (lru_insecure == SIZE_MAX || older_access(c, jar->v[lru_insecure])))
                lru_insecure = i;
        }
        if (count <= jar->max_per_domain)
            break;
        size_t victim = lru_insecure != SIZE_MAX ? lru_insecure : lru;
        bool itself = jar->v[victim] == added; /* set with an earlier clock */
        remove_at(jar, victim);
        if (itself)
            break; /* freed, and its domain is one under where it was */
    }
    while (jar->n > jar->max_cookies) {
        size_t lru = 0;
        for (size_t i = 1; i < jar->n; i++)
            if (older_access(jar->v[i], jar->v[lru]))
                lru = i;
        remove_at(jar, lru);
    }
}

int em__cookie_jar_insert_locked(em_cookie_jar *jar, const em__cookie *tmpl, int64_t now) {
    em__cookie *c = cookie_alloc(
        em_slice_make(tmpl->name, tmpl->name_len), em_slice_make(tmpl->value, tmpl->value_len),
        em_slice_make(tmpl->domain, tmpl->domain_len), em_slice_make(tmpl->path, tmpl->path_len));
    if (!c)
        return EM_ENOMEM;
    c->expiry = tmpl->expiry;
    c->persistent = tmpl->persistent;
    c->host_only = tmpl->host_only;
    c->secure = tmpl->secure;
    c->http_only = tmpl->http_only;
    c->dir_path = tmpl->dir_path;
    c->creation = c->last_access = now;
    c->creation_seq = c->access_seq = ++jar->seq;
    for (size_t i = 0; i < jar->n; i++) {
        if (same_key(jar->v[i], c)) { /* §5.3 step 11 */
            c->creation = jar->v[i]->creation;
            c->creation_seq = jar->v[i]->creation_seq;
            remove_at(jar, i);
            break;
        }
    }
    if (c->expiry <= now) {
        free(c); /* an expired cookie only deletes its namesake */
        return 0;
    }
    if (jar->n == jar->cap) {
        size_t cap = jar->cap ? jar->cap * 2 : 16;
        em__cookie **v = realloc(jar->v, cap * sizeof *v);
        if (!v) {
            free(c);
            return EM_ENOMEM;
        }
        jar->v = v;
        jar->cap = cap;
    }
    jar->v[jar->n++] = c;
    enforce_limits(jar, c);
    return 0;
}

/* 6265bis §5.7 step 16: an insecure origin may not set a non-Secure cookie
 * that would shadow a Secure one. */
static bool shadows_secure(const em_cookie_jar *jar, const em__cookie *c) {
    for (size_t i = 0; i < jar->n; i++) {
        const em__cookie *o = jar->v[i];
        if (!o->secure || o->name_len != c->name_len || memcmp(o->name, c->name, c->name_len))
            continue;
        bool dm = domain_match(o->domain, o->domain_len, looks_ip(o->domain, o->domain_len),
                               c->domain, c->domain_len) ||
                  domain_match(c->domain, c->domain_len, looks_ip(c->domain, c->domain_len),
                               o->domain, o->domain_len);
        if (dm && path_match(c->path, c->path_len, o->path, o->path_len))
            return true;
    }
    return false;
}

static int64_t add_sat(int64_t a, int64_t b) {
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

int em_cookie_jar_set(em_cookie_jar *jar, const em_url *url, em_slice set_cookie, int64_t now) {
    if (!jar || !url || !url->host)
        return EM_EINVAL;
    em__cookie_sc sc;
    if (em__cookie_parse_set(set_cookie, &sc) != 0)
        return EM_EINVAL;
    /* 6265bis §5.6 step 4: the name and value together, not the attributes
     * (each of those is capped at 1024 by the parser). */
    if (sc.name.len + sc.value.len > jar->max_bytes)
        return EM_EINVAL;
    bool secure_req = secure_origin(url);
    /* 6265bis: Secure and the prefixes need a secure origin. */
    if (sc.secure && !secure_req)
        return EM_EINVAL;
    if (has_prefix_nocase(sc.name, "__Secure-") && !(sc.secure && secure_req))
        return EM_EINVAL;
    if (has_prefix_nocase(sc.name, "__Host-") &&
        !(sc.secure && secure_req && !sc.has_domain && sc.has_path &&
          em_slice_eq(sc.path, EM_SLICE_LIT("/"))))
        return EM_EINVAL;

    em__cookie c = {0};
    c.name = (char *)sc.name.ptr, c.name_len = sc.name.len;
    c.value = (char *)sc.value.ptr, c.value_len = sc.value.len;
    c.secure = sc.secure;
    c.http_only = sc.http_only;
    c.expiry = INT64_MAX; /* §5.3 step 3: Max-Age, else Expires, else session */
    if (sc.has_max_age) {
        c.persistent = true;
        c.expiry = sc.max_age <= 0 ? INT64_MIN : add_sat(now, sc.max_age);
    } else if (sc.has_expires) {
        c.persistent = true;
        c.expiry = sc.expires;
    }
    if (c.persistent && c.expiry > add_sat(now, MAX_AGE_CAP))
        c.expiry = add_sat(now, MAX_AGE_CAP);

    /* Steps 4-6: the domain. */
    const char *host = url->host;
    size_t host_len = strlen(host);
    char dom[256];
    size_t dom_len = 0;
    if (sc.has_domain && sc.domain.len) {
        if (sc.domain.len >= sizeof dom)
            return EM_EINVAL; /* longer than any host name */
        for (size_t i = 0; i < sc.domain.len; i++) {
            char ch = sc.domain.ptr[i];
            dom[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
        }
        dom_len = sc.domain.len;
        dom[dom_len] = 0;
        bool same_as_host = dom_len == host_len && !memcmp(dom, host, dom_len);
        if (!jar->no_psl && (!jar->psl || psl_is_public_suffix2(jar->psl, dom, PSL_TYPE_ANY))) {
            if (!same_as_host)
                return EM_EINVAL;
            dom_len = 0; /* step 5: the host itself: host-only */
        }
        if (dom_len && !domain_match(host, host_len, url->host_is_ip, dom, dom_len))
            return EM_EINVAL;
        if (url->host_is_ip)
            dom_len = 0; /* the address itself: host-only, as curl and browsers */
    }
    if (dom_len) {
        c.domain = dom, c.domain_len = dom_len;
    } else {
        c.host_only = true;
        c.domain = (char *)host, c.domain_len = host_len;
    }
    /* Step 7: the path. */
    em_slice path = sc.has_path && sc.path.len ? sc.path : default_path(url->path);
    c.path = (char *)path.ptr, c.path_len = path.len;
    c.dir_path = path.len > 1 && !(sc.has_path && sc.path.len); /* curl's "/dir/" */
    /* A tab inside a name, value or path would break cookies.txt's fields
     * (curl refuses them too). */
    if (memchr(c.name, '\t', c.name_len) || memchr(c.value, '\t', c.value_len) ||
        memchr(c.path, '\t', c.path_len))
        return EM_EINVAL;

    pthread_mutex_lock(&jar->mu);
    em__cookie_jar_purge_locked(jar, now);
    int rc = EM_EINVAL;
    if (c.secure || secure_req || !shadows_secure(jar, &c))
        rc = em__cookie_jar_insert_locked(jar, &c, now);
    pthread_mutex_unlock(&jar->mu);
    return rc;
}

/* ---- the Cookie header (§5.4) -------------------------------------------- */

static int header_order(const void *pa, const void *pb) {
    const em__cookie *a = *(em__cookie *const *)pa, *b = *(em__cookie *const *)pb;
    if (a->path_len != b->path_len)
        return a->path_len > b->path_len ? -1 : 1;
    if (a->creation != b->creation)
        return a->creation < b->creation ? -1 : 1;
    return a->creation_seq < b->creation_seq ? -1 : a->creation_seq > b->creation_seq;
}

int em_cookie_jar_header(em_cookie_jar *jar, const em_url *url, int64_t now, em_buf *out) {
    if (!jar || !url || !url->host || !url->path)
        return EM_EINVAL;
    const char *host = url->host, *path = url->path;
    size_t host_len = strlen(host), path_len = strlen(path);
    bool secure_req = secure_origin(url);
    pthread_mutex_lock(&jar->mu);
    em__cookie_jar_purge_locked(jar, now);
    int rc = 0;
    em__cookie **list = jar->n ? malloc(jar->n * sizeof *list) : NULL;
    if (jar->n && !list) {
        rc = EM_ENOMEM;
        goto out;
    }
    size_t k = 0, bytes = 0;
    for (size_t i = 0; i < jar->n; i++) {
        em__cookie *c = jar->v[i];
        bool dm = c->host_only
                      ? c->domain_len == host_len && !memcmp(c->domain, host, host_len)
                      : domain_match(host, host_len, url->host_is_ip, c->domain, c->domain_len);
        if (!dm || !path_match(path, path_len, c->path, c->path_len) || (c->secure && !secure_req))
            continue;
        list[k++] = c;
        bytes += c->name_len + 1 + c->value_len + 2;
    }
    if (k) {
        qsort(list, k, sizeof *list, header_order);
        rc = em_buf_reserve(out, bytes);
        for (size_t i = 0; i < k && rc == 0; i++) {
            em__cookie *c = list[i];
            if (i)
                rc = em_buf_append(out, "; ", 2);
            if (rc == 0)
                rc = em_buf_append(out, c->name, c->name_len);
            if (rc == 0)
                rc = em_buf_append(out, "=", 1);
            if (rc == 0)
                rc = em_buf_append(out, c->value, c->value_len);
            c->last_access = now;
            c->access_seq = ++jar->seq;
        }
        if (rc == 0)
            rc = (int)k;
    }
out:
    pthread_mutex_unlock(&jar->mu);
    free(list);
    return rc;
}

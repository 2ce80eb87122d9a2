/* ember http: the router, a segment trie built at add time and searched
 * without allocating (rules and contracts in router.h).
 *
 * Node k of the trie stands for "k segments consumed"; its children are
 * literal edges (sorted, binary-searched), at most one ":param" child, and
 * two optional slots: routes that end at this node and "*rest" routes that
 * hang from it. A slot holds one route per method, so a shape such as
 * "/u/:x" is stored once and method lookup is a bit test. Capture names are
 * stored per route, not per node, which is why two routes may name the same
 * position differently.
 */
#include "http_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct edge {
    uint32_t off, len; /* segment text in r->_bytes */
    uint32_t child;
} edge;

typedef struct em__http_router_node {
    edge *lits; /* sorted by (len, bytes) */
    uint32_t nlits, lits_cap;
    uint32_t param; /* ":name" child; 0 = none (the root is nobody's child) */
    uint32_t end;   /* slot index + 1 of routes ending here; 0 = none */
    uint32_t wild;  /* slot index + 1 of "*name" routes hanging here; 0 = none */
} node;

typedef struct em__http_router_slot {
    unsigned mask; /* EM_HTTP_METHOD_BIT of each method with a route */
    /* Per method: offset in r->_bytes of its capture names, each stored as
     * one length byte then the name. */
    uint32_t names[EM_HTTP_ROUTER_NMETHODS];
    void *target[EM_HTTP_ROUTER_NMETHODS];
} slot;

enum { SEG_LIT, SEG_PARAM, SEG_WILD };

typedef struct seg {
    int kind;
    uint32_t off, len; /* in the pattern: literal text, or the name after ':'/'*' */
} seg;

/* em_http_method runs from OTHER (0) to PATCH, its last value. */
_Static_assert(EM_HTTP_METHOD_OTHER == 0 && EM_HTTP_PATCH == EM_HTTP_ROUTER_NMETHODS - 1,
               "EM_HTTP_ROUTER_NMETHODS must follow em_http_method");

/* Indexed by em_http_method; OTHER has no name and is never routed. */
static const struct {
    const char *name;
    size_t len;
} method_names[EM_HTTP_ROUTER_NMETHODS] = {
    [EM_HTTP_GET] = {"GET", 3},         [EM_HTTP_HEAD] = {"HEAD", 4},
    [EM_HTTP_POST] = {"POST", 4},       [EM_HTTP_PUT] = {"PUT", 3},
    [EM_HTTP_DELETE] = {"DELETE", 6},   [EM_HTTP_PATCH] = {"PATCH", 5},
    [EM_HTTP_OPTIONS] = {"OPTIONS", 7}, [EM_HTTP_CONNECT] = {"CONNECT", 7},
    [EM_HTTP_TRACE] = {"TRACE", 5},
};

/* ---- small helpers ----------------------------------------------------- */

static bool bytes_eq(const char *a, size_t alen, const char *b, size_t blen) {
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* Grow *p (elements of size elem) to hold need, doubling. */
static int grow(void **p, uint32_t *cap, size_t need, size_t elem) {
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 8;
    while (n < need)
        n *= 2;
    if (n > UINT32_MAX || n > SIZE_MAX / elem)
        return EM_ENOMEM;
    void *q = realloc(*p, n * elem);
    if (!q)
        return EM_ENOMEM;
    *p = q;
    *cap = (uint32_t)n;
    return 0;
}

static bool name_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Literal bytes a pattern may hold: no controls, space or DEL (a path never
 * has them unencoded), no '?' or '#' (they end the path, RFC 3986 §3.3). */
static bool literal_byte(unsigned char c) {
    return c > 0x20 && c != 0x7f && c != '?' && c != '#';
}

/* Order of literal edges: length first, then bytes (cheap to compare). */
static int edge_cmp(const em_http_router *r, const edge *e, const char *s, size_t len) {
    if (e->len != len)
        return e->len < len ? -1 : 1;
    return len ? memcmp(r->_bytes + e->off, s, len) : 0;
}

/* Index of the literal edge of n equal to s, or -1; *at gets the insertion
 * point either way. */
static long find_lit(const em_http_router *r, const node *n, const char *s, size_t len,
                     uint32_t *at) {
    uint32_t lo = 0, hi = n->nlits;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = edge_cmp(r, &n->lits[mid], s, len);
        if (c == 0) {
            if (at)
                *at = mid;
            return (long)mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (at)
        *at = lo;
    return -1;
}

/* ---- adding routes ----------------------------------------------------- */

static int parse_pattern(em_slice p, seg *segs, unsigned *nsegs, unsigned *ncaps) {
    if (!p.ptr || p.len == 0 || p.ptr[0] != '/')
        return EM_EINVAL;
    if (p.len > UINT32_MAX / 2)
        return EM_ELIMIT;
    unsigned n = 0, caps = 0;
    size_t pos = 1;
    for (;;) {
        size_t end = pos;
        while (end < p.len && p.ptr[end] != '/')
            end++;
        if (n == EM_HTTP_ROUTER_MAX_SEGMENTS)
            return EM_ELIMIT;
        seg *s = &segs[n++];
        char c = pos < end ? p.ptr[pos] : '\0';
        if (c == ':' || c == '*') {
            s->kind = c == ':' ? SEG_PARAM : SEG_WILD;
            s->off = (uint32_t)pos + 1;
            s->len = (uint32_t)(end - pos - 1);
            if (s->len == 0)
                return EM_EINVAL;
            for (size_t i = s->off; i < end; i++)
                if (!name_byte((unsigned char)p.ptr[i]))
                    return EM_EINVAL;
            if (s->kind == SEG_WILD && end != p.len)
                return EM_EINVAL;
            if (s->len > EM_HTTP_ROUTER_MAX_NAME)
                return EM_ELIMIT;
            for (unsigned i = 0; i + 1 < n; i++)
                if (segs[i].kind != SEG_LIT &&
                    bytes_eq(p.ptr + segs[i].off, segs[i].len, p.ptr + s->off, s->len))
                    return EM_EINVAL;
            if (++caps > EM_HTTP_ROUTER_MAX_PARAMS)
                return EM_ELIMIT;
        } else {
            s->kind = SEG_LIT;
            s->off = (uint32_t)pos;
            s->len = (uint32_t)(end - pos);
            for (size_t i = pos; i < end; i++)
                if (!literal_byte((unsigned char)p.ptr[i]))
                    return EM_EINVAL;
        }
        if (end == p.len)
            break;
        pos = end + 1;
    }
    *nsegs = n;
    *ncaps = caps;
    return 0;
}

/* The slot (index + 1) the pattern's route would live in, or 0 if the trie
 * has no such shape yet. Changes nothing. */
static uint32_t find_slot(const em_http_router *r, em_slice p, const seg *segs, unsigned n) {
    if (r->_nnodes == 0)
        return 0;
    uint32_t cur = 0;
    for (unsigned i = 0; i < n; i++) {
        const node *nd = &r->_nodes[cur];
        if (segs[i].kind == SEG_WILD)
            return nd->wild;
        if (segs[i].kind == SEG_PARAM) {
            cur = nd->param;
        } else {
            long k = find_lit(r, nd, p.ptr + segs[i].off, segs[i].len, NULL);
            cur = k < 0 ? 0 : nd->lits[k].child;
        }
        if (cur == 0)
            return 0;
    }
    return r->_nodes[cur].end;
}

/* Append a zeroed node; capacity was reserved by the caller. */
static uint32_t new_node(em_http_router *r) {
    uint32_t i = r->_nnodes++;
    memset(&r->_nodes[i], 0, sizeof r->_nodes[i]);
    return i;
}

/* Copy len bytes into r->_bytes (capacity reserved); returns their offset. */
static uint32_t put_bytes(em_http_router *r, const char *s, size_t len) {
    size_t off = r->_nbytes;
    if (len)
        memcpy(r->_bytes + off, s, len);
    r->_nbytes += len;
    return (uint32_t)off;
}

/* The child of cur for literal segment s, created if missing. */
static int lit_child(em_http_router *r, uint32_t cur, em_slice p, const seg *s, uint32_t *out) {
    uint32_t at;
    long k = find_lit(r, &r->_nodes[cur], p.ptr + s->off, s->len, &at);
    if (k >= 0) {
        *out = r->_nodes[cur].lits[k].child;
        return 0;
    }
    node *nd = &r->_nodes[cur];
    int rc = grow((void **)&nd->lits, &nd->lits_cap, (size_t)nd->nlits + 1, sizeof(edge));
    if (rc < 0)
        return rc;
    uint32_t child = new_node(r);
    nd = &r->_nodes[cur]; /* new_node never reallocates, but stay obvious */
    memmove(&nd->lits[at + 1], &nd->lits[at], (nd->nlits - at) * sizeof(edge));
    nd->lits[at].off = put_bytes(r, p.ptr + s->off, s->len);
    nd->lits[at].len = s->len;
    nd->lits[at].child = child;
    nd->nlits++;
    *out = child;
    return 0;
}

void em_http_router_init(em_http_router *r) {
    memset(r, 0, sizeof *r);
}

void em_http_router_free(em_http_router *r) {
    for (uint32_t i = 0; i < r->_nnodes; i++)
        free(r->_nodes[i].lits);
    free(r->_nodes);
    free(r->_slots);
    free(r->_bytes);
    while (r->_owned) { /* targets em_http_route made */
        struct em__http_router_owned *o = r->_owned;
        r->_owned = o->next;
        free(o);
    }
    memset(r, 0, sizeof *r);
}

int em__http_router_own(em_http_router *r, struct em__http_router_owned *o) {
    o->next = r->_owned;
    r->_owned = o;
    return 0;
}

int em_http_router_add(em_http_router *r, em_http_method method, em_slice pattern, void *target) {
    if (method == EM_HTTP_METHOD_OTHER || (unsigned)method >= EM_HTTP_ROUTER_NMETHODS)
        return EM_EINVAL;
    seg segs[EM_HTTP_ROUTER_MAX_SEGMENTS];
    unsigned nsegs, ncaps;
    int rc = parse_pattern(pattern, segs, &nsegs, &ncaps);
    if (rc < 0)
        return rc;

    uint32_t si = find_slot(r, pattern, segs, nsegs);
    if (si && (r->_slots[si - 1].mask & EM_HTTP_METHOD_BIT(method)))
        return EM_EEXIST;

    /* Reserve everything but the per-node edge arrays up front, so that a
     * failure later can at most leave empty nodes, which match nothing. */
    if (r->_nbytes > UINT32_MAX - pattern.len - ncaps)
        return EM_ENOMEM;
    size_t bytes_need = r->_nbytes + pattern.len + ncaps;
    if (bytes_need > r->_bytes_cap) {
        size_t n = r->_bytes_cap ? r->_bytes_cap : 256;
        while (n < bytes_need)
            n *= 2;
        char *b = realloc(r->_bytes, n);
        if (!b)
            return EM_ENOMEM;
        r->_bytes = b;
        r->_bytes_cap = n;
    }
    if ((rc = grow((void **)&r->_nodes, &r->_nodes_cap, (size_t)r->_nnodes + nsegs + 1,
                   sizeof(node))) < 0 ||
        (rc = grow((void **)&r->_slots, &r->_slots_cap, (size_t)r->_nslots + 1, sizeof(slot))) < 0)
        return rc;
    if (r->_nnodes == 0)
        new_node(r);

    uint32_t cur = 0;
    bool wild = segs[nsegs - 1].kind == SEG_WILD;
    for (unsigned i = 0; i < nsegs - (wild ? 1 : 0); i++) {
        if (segs[i].kind == SEG_LIT) {
            if ((rc = lit_child(r, cur, pattern, &segs[i], &cur)) < 0)
                return rc;
        } else {
            if (r->_nodes[cur].param == 0) {
                uint32_t child = new_node(r);
                r->_nodes[cur].param = child;
            }
            cur = r->_nodes[cur].param;
        }
    }
    uint32_t *slot_ref = wild ? &r->_nodes[cur].wild : &r->_nodes[cur].end;
    if (*slot_ref == 0) {
        memset(&r->_slots[r->_nslots], 0, sizeof(slot));
        *slot_ref = ++r->_nslots;
    }
    slot *sl = &r->_slots[*slot_ref - 1];
    sl->names[method] = (uint32_t)r->_nbytes;
    for (unsigned i = 0; i < nsegs; i++) {
        if (segs[i].kind == SEG_LIT)
            continue;
        r->_bytes[r->_nbytes++] = (char)segs[i].len;
        put_bytes(r, pattern.ptr + segs[i].off, segs[i].len);
    }
    sl->target[method] = target;
    sl->mask |= EM_HTTP_METHOD_BIT(method);
    return 0;
}

/* ---- matching ---------------------------------------------------------- */

typedef struct walk {
    const em_http_router *r;
    const char *p;
    size_t len;
    unsigned method;
    unsigned allowed; /* methods of every matching route seen so far */
    const slot *hit;
    unsigned hit_method, hit_nvals;
    em_slice vals[EM_HTTP_ROUTER_MAX_PARAMS];
} walk;

/* Whether slot si serves the method (HEAD falls back to the GET route of
 * the same shape, RFC 9110 §9.3.2); records its methods for a 405. */
static bool serve(walk *w, uint32_t si, unsigned nvals) {
    if (si == 0)
        return false;
    const slot *sl = &w->r->_slots[si - 1];
    unsigned m = w->method;
    w->allowed |= sl->mask;
    bool own = m < EM_HTTP_ROUTER_NMETHODS && (sl->mask & EM_HTTP_METHOD_BIT(m));
    if (!own && m == EM_HTTP_HEAD && (sl->mask & EM_HTTP_METHOD_BIT(EM_HTTP_GET)))
        m = EM_HTTP_GET;
    else if (!own)
        return false;
    w->hit = sl;
    w->hit_method = m;
    w->hit_nvals = nvals;
    return true;
}

static bool walk_node(walk *w, uint32_t ni, size_t pos, unsigned nvals);

/* Continue in child after a segment that ended at index next. */
static bool enter(walk *w, uint32_t child, size_t next, unsigned nvals) {
    if (next == w->len)
        return serve(w, w->r->_nodes[child].end, nvals);
    return walk_node(w, child, next + 1, nvals);
}

/* Depth-first in priority order: literal, then ":param", then "*rest".
 * Each node is entered at most once (the trie is a tree), and the depth is
 * bounded by EM_HTTP_ROUTER_MAX_SEGMENTS. */
static bool walk_node(walk *w, uint32_t ni, size_t pos, unsigned nvals) {
    const node *n = &w->r->_nodes[ni];
    const char *s = w->p + pos;
    const char *slash = memchr(s, '/', w->len - pos);
    size_t slen = slash ? (size_t)(slash - s) : w->len - pos;

    if (n->nlits) {
        long k = find_lit(w->r, n, s, slen, NULL);
        if (k >= 0 && enter(w, n->lits[k].child, pos + slen, nvals))
            return true;
    }
    /* Captures along one trie path never exceed the per-pattern limit; the
     * bound check only keeps a corrupted trie from writing past vals. */
    if (nvals >= EM_HTTP_ROUTER_MAX_PARAMS)
        return false;
    if (n->param && slen > 0) {
        w->vals[nvals] = em_slice_make(s, slen);
        if (enter(w, n->param, pos + slen, nvals + 1))
            return true;
    }
    if (n->wild) {
        w->vals[nvals] = em_slice_make(s, w->len - pos);
        if (serve(w, n->wild, nvals + 1))
            return true;
    }
    return false;
}

em_http_route_result em_http_router_match(const em_http_router *r, em_http_method method,
                                          em_slice path, em_http_route_match *m) {
    m->target = NULL;
    m->allowed = 0;
    m->nparams = 0;
    if (r->_nnodes == 0 || !path.ptr || path.len == 0 || path.ptr[0] != '/')
        return EM_HTTP_ROUTE_NOT_FOUND;

    walk w;
    w.r = r;
    w.p = path.ptr;
    w.len = path.len;
    w.method = (unsigned)method;
    w.allowed = 0;
    w.hit = NULL;
    if (!walk_node(&w, 0, 1, 0)) {
        if (w.allowed == 0)
            return EM_HTTP_ROUTE_NOT_FOUND;
        if (w.allowed & EM_HTTP_METHOD_BIT(EM_HTTP_GET))
            w.allowed |= EM_HTTP_METHOD_BIT(EM_HTTP_HEAD);
        m->allowed = w.allowed;
        return EM_HTTP_ROUTE_METHOD_NOT_ALLOWED;
    }

    m->target = w.hit->target[w.hit_method];
    m->nparams = w.hit_nvals;
    const char *names = r->_bytes + w.hit->names[w.hit_method];
    for (unsigned i = 0; i < w.hit_nvals; i++) {
        size_t len = (unsigned char)names[0];
        m->params[i].name = em_slice_make(names + 1, len);
        m->params[i].value = w.vals[i];
        names += 1 + len;
    }
    return EM_HTTP_ROUTE_FOUND;
}

bool em_http_route_match_param(const em_http_route_match *m, em_slice name, em_slice *value) {
    for (unsigned i = 0; i < m->nparams; i++) {
        if (bytes_eq(m->params[i].name.ptr, m->params[i].name.len, name.ptr, name.len)) {
            *value = m->params[i].value;
            return true;
        }
    }
    return false;
}

ssize_t em_http_router_allow_format(unsigned allowed, char *buf, size_t cap) {
    size_t len = 0;
    for (unsigned i = 0; i < EM_HTTP_ROUTER_NMETHODS; i++) {
        if (!(allowed & EM_HTTP_METHOD_BIT(i)) || method_names[i].len == 0)
            continue;
        size_t sep = len ? 2 : 0;
        if (cap - len < sep + method_names[i].len)
            return EM_ENOBUFS;
        if (sep)
            memcpy(buf + len, ", ", 2);
        memcpy(buf + len + sep, method_names[i].name, method_names[i].len);
        len += sep + method_names[i].len;
    }
    return (ssize_t)len;
}

unsigned em_http_router_methods(const em_http_router *r) {
    unsigned m = 0;
    for (uint32_t i = 0; i < r->_nslots; i++)
        m |= r->_slots[i].mask;
    if (m & EM_HTTP_METHOD_BIT(EM_HTTP_GET))
        m |= EM_HTTP_METHOD_BIT(EM_HTTP_HEAD);
    return m;
}

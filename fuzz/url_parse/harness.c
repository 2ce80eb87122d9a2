/* Fuzz em_url_parse and em_url_resolve (http/url_*.c) against references
 * built here from RFC 3986 text:
 *   - Appendix B's regular expression (POSIX regexec) splits the input; when
 *     em_url_parse accepts, its scheme, userinfo, host, port, path and query
 *     must be the reference's parts with the parser's normalisation applied
 *     by this file's own code (percent-encoding of the unsafe bytes, the
 *     §5.2.4 buffer algorithm on %2e-decoded dot-segments);
 *   - em_url_format of an accepted URL parses back to an identical em_url,
 *     with and without userinfo, and the target and Host writers agree;
 *   - no accepted host is one inet_aton() would read as an IPv4 address
 *     unless it is that address's canonical dotted quad (SSRF);
 *   - em_url_resolve(base, input) for a few bases must equal em_url_parse
 *     of the target the §5.2.2 algorithm, run here on strings, recomposes
 *     (§5.3); both fail or both give identical em_urls, which re-parse;
 *   - inputs with control bytes, or longer than EM_URL_MAX_LEN, fail.
 * Any disagreement aborts. */
#include <arpa/inet.h>
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/http.h"
#include "fuzz.h"

static void check(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "url_parse: %s\n", what);
        abort();
    }
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    check(p != NULL, "out of memory");
    return p;
}

static bool str_eq(const char *a, const char *b) {
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* ---- the Appendix B split ---------------------------------------------- */

typedef struct ref_parts {
    char *scheme, *authority, *path, *query; /* NULL when the group did not match */
} ref_parts;

static char *group(const char *s, const regmatch_t *m) {
    if (m->rm_so < 0)
        return NULL;
    size_t n = (size_t)(m->rm_eo - m->rm_so);
    char *r = xmalloc(n + 1);
    memcpy(r, s + m->rm_so, n);
    r[n] = 0;
    return r;
}

/* s is NUL-terminated (the caller ruled out NUL bytes inside). */
static void ref_split(const char *s, ref_parts *p) {
    static regex_t re;
    static bool compiled;
    if (!compiled) {
        check(regcomp(&re, "^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\\?([^#]*))?(#(.*))?",
                      REG_EXTENDED) == 0,
              "regcomp");
        compiled = true;
    }
    regmatch_t m[10];
    check(regexec(&re, s, 10, m, 0) == 0, "Appendix B regex did not match");
    p->scheme = group(s, &m[2]);
    p->authority = group(s, &m[4]);
    p->path = group(s, &m[5]);
    p->query = group(s, &m[7]);
    check(p->path != NULL, "regex: no path group");
}

static void ref_free(ref_parts *p) {
    free(p->scheme);
    free(p->authority);
    free(p->path);
    free(p->query);
}

/* ---- the reference normalisation --------------------------------------- */

/* The bytes url.h says are escaped for you. */
static char *ref_encode(const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    char *o = xmalloc(3 * strlen(s) + 1), *w = o;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c >= 0x80 || strchr(" \"<>\\^`{|}", *c)) {
            *w++ = '%';
            *w++ = hex[*c >> 4];
            *w++ = hex[*c & 15];
        } else {
            *w++ = (char)*c;
        }
    }
    *w = 0;
    return o;
}

/* Rewrite every segment that reads "." or ".." once %2e/%2E are decoded as
 * plain dots, then run RFC 3986 §5.2.4 as written (rules A-E on an input
 * and an output buffer). */
static char *ref_remove_dots(const char *path) {
    size_t n = strlen(path);
    char *in = xmalloc(n + 1), *out = xmalloc(n + 2);
    size_t il = 0, ol = 0;
    for (size_t i = 0; i <= n;) { /* one segment per turn */
        size_t j = i;
        while (j < n && path[j] != '/')
            j++;
        size_t sl = 0, k = i; /* dots seen */
        while (k < j && sl < 3) {
            if (path[k] == '.')
                sl++, k++;
            else if (j - k >= 3 && path[k] == '%' && path[k + 1] == '2' &&
                     (path[k + 2] == 'e' || path[k + 2] == 'E'))
                sl++, k += 3;
            else
                break;
        }
        if (k == j && (sl == 1 || sl == 2)) {
            memcpy(in + il, "..", sl);
            il += sl;
        } else {
            memcpy(in + il, path + i, j - i);
            il += j - i;
        }
        if (j < n)
            in[il++] = '/';
        i = j + 1;
    }
    in[il] = 0;
    char *p = in;
#define STARTS(lit) (strncmp(p, lit, sizeof lit - 1) == 0)
    while (*p) {
        if (STARTS("../")) {
            p += 3;
        } else if (STARTS("./")) {
            p += 2;
        } else if (STARTS("/./")) {
            p += 2;
        } else if (strcmp(p, "/.") == 0) {
            p[1] = 0; /* "/." -> "/" */
        } else if (STARTS("/../") || strcmp(p, "/..") == 0) {
            if (p[3] == '/')
                p += 3;
            else
                p[1] = 0, p[2] = 0; /* "/.." -> "/" */
            while (ol > 0 && out[ol - 1] != '/')
                ol--;
            if (ol > 0)
                ol--;
        } else if (strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
            *p = 0;
        } else {
            size_t len = 1;
            while (p[len] && p[len] != '/')
                len++;
            if (p[0] != '/')
                for (len = 0; p[len] && p[len] != '/'; len++)
                    ;
            memcpy(out + ol, p, len);
            ol += len;
            p += len;
        }
    }
#undef STARTS
    out[ol] = 0;
    free(in);
    return out;
}

static char *lower(const char *s) {
    char *r = xmalloc(strlen(s) + 1);
    size_t i = 0;
    for (; s[i]; i++)
        r[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] | 0x20) : s[i];
    r[i] = 0;
    return r;
}

/* ---- checks on one accepted em_url -------------------------------------- */

static void check_same(const em_url *a, const em_url *b, bool userinfo_too, const char *what) {
    check(str_eq(a->scheme, b->scheme) && str_eq(a->host, b->host) &&
              a->host_is_ip == b->host_is_ip && a->host_is_ipv6 == b->host_is_ipv6 &&
              a->port == b->port && a->port_explicit == b->port_explicit &&
              str_eq(a->path, b->path) && str_eq(a->query, b->query) &&
              (!userinfo_too || str_eq(a->userinfo, b->userinfo)),
          what);
}

static bool well_encoded(const char *s) {
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c < 0x21 || *c >= 0x7f || strchr("\"<>\\^`{|}#", *c))
            return false;
        if (*c == '%' && !(isxdigit(c[1]) && isxdigit(c[2])))
            return false;
    }
    return true;
}

static void check_url(const em_url *u) {
    check(u->_buf && u->scheme && u->host && u->path, "accepted but a field is NULL");
    check(u->path[0] == '/' && well_encoded(u->path) && !strchr(u->path, '?'), "path encoding");
    check(!em_http_path_has_dot_segment(em_slice_from_cstr(u->path)), "dot segment left");
    check(!u->query || well_encoded(u->query), "query encoding");
    check(u->port != 0, "port 0");
    check(u->host[0] && (u->host_is_ipv6 || (u->host[0] != '.' && !strstr(u->host, ".."))),
          "empty host label");
    check(u->port_explicit || u->port == em_url_default_port(u->scheme), "default port");

    /* format -> parse is the identity, with and without userinfo */
    char *buf = xmalloc(EM_URL_MAX_LEN + 1);
    em_url again;
    ssize_t n = em_url_format(u, true, buf, EM_URL_MAX_LEN + 1);
    check(n > 0 && (size_t)n == strlen(buf), "format failed");
    check(em_url_parse(&again, em_slice_make(buf, (size_t)n)) == 0, "format does not re-parse");
    check_same(u, &again, true, "re-parse differs");
    em_url_free(&again);
    n = em_url_format(u, false, buf, EM_URL_MAX_LEN + 1);
    check(n > 0, "format(no userinfo) failed");
    check(em_url_parse(&again, em_slice_make(buf, (size_t)n)) == 0, "format(no userinfo) fails");
    check_same(u, &again, false, "re-parse without userinfo differs");
    check(again.userinfo == NULL, "format(no userinfo) kept userinfo");
    em_url_free(&again);
    /* a buffer one byte short is refused */
    check(em_url_format(u, true, buf, (size_t)em_url_format(u, true, buf, EM_URL_MAX_LEN + 1)) ==
              EM_ENOSPC,
          "format into a short buffer");

    /* the target is path?query; the Host value names the same host and port */
    n = em_url_target(u, buf, EM_URL_MAX_LEN + 1);
    size_t pl = strlen(u->path);
    check(n > 0 && strncmp(buf, u->path, pl) == 0 &&
              (u->query ? buf[pl] == '?' && strcmp(buf + pl + 1, u->query) == 0 : buf[pl] == 0),
          "target");
    char host[EM_URL_MAX_LEN + 16];
    memcpy(host, "http://", 7);
    n = em_url_host_header(u, host + 7, sizeof host - 7);
    check(n > 0, "host header");
    check(em_url_parse(&again, em_slice_make(host, 7 + (size_t)n)) == 0, "host header re-parse");
    check(str_eq(again.host, u->host) && again.host_is_ipv6 == u->host_is_ipv6, "host header host");
    check(again.port == u->port || (again.port == 80 && u->port == em_url_default_port(u->scheme)),
          "host header port");
    em_url_free(&again);
    free(buf);

    /* SSRF: a name libc reads as an IPv4 address must be that address */
    struct in_addr a4;
    if (!u->host_is_ipv6 && inet_aton(u->host, &a4)) {
        char canon[INET_ADDRSTRLEN];
        check(u->host_is_ip && inet_ntop(AF_INET, &a4, canon, sizeof canon) &&
                  strcmp(canon, u->host) == 0,
              "host is a non-canonical IPv4 number to inet_aton");
    }
    if (u->host_is_ip && !u->host_is_ipv6)
        check(inet_pton(AF_INET, u->host, &a4) == 1, "IPv4 host does not inet_pton");
    if (u->host_is_ipv6) {
        struct in6_addr a6;
        char canon[INET6_ADDRSTRLEN];
        check(inet_pton(AF_INET6, u->host, &a6) == 1 &&
                  inet_ntop(AF_INET6, &a6, canon, sizeof canon) && strcmp(canon, u->host) == 0,
              "IPv6 host not canonical");
    }
}

/* The parse must be the reference's parts, normalised. */
static void check_against_ref(const em_url *u, const char *s) {
    ref_parts r;
    ref_split(s, &r);
    check(r.scheme && r.authority, "accepted without scheme or authority");
    char *ls = lower(r.scheme);
    check(strcmp(ls, u->scheme) == 0, "scheme differs");
    free(ls);

    /* authority: userinfo '@' hostport; hostport: host [':' port] */
    char *at = strrchr(r.authority, '@');
    char *hp = at ? at + 1 : r.authority;
    if (at) {
        *at = 0;
        check(str_eq(r.authority, u->userinfo), "userinfo differs");
    } else {
        check(u->userinfo == NULL, "userinfo from nowhere");
    }
    char *close = hp[0] == '[' ? strchr(hp, ']') : NULL;
    char *colon = strrchr(close ? close : hp, ':');
    const char *port = colon ? colon + 1 : "";
    if (colon)
        *colon = 0;
    if (close) {
        *close = 0;
        struct in6_addr x, y;
        check(u->host_is_ipv6 && inet_pton(AF_INET6, hp + 1, &x) == 1 &&
                  inet_pton(AF_INET6, u->host, &y) == 1 && memcmp(&x, &y, sizeof x) == 0,
              "IPv6 host differs");
    } else {
        char *lh = lower(hp);
        check(!u->host_is_ipv6 && strcmp(lh, u->host) == 0, "host differs");
        free(lh);
    }
    if (*port) {
        check(u->port_explicit && strtoul(port, NULL, 10) == u->port, "port differs");
    } else {
        check(!u->port_explicit && u->port == em_url_default_port(u->scheme),
              "default port differs");
    }

    char *enc = ref_encode(r.path);
    char *want = *enc ? ref_remove_dots(enc) : strcpy(xmalloc(2), "/");
    check(strcmp(want, u->path) == 0, "path differs");
    free(enc);
    free(want);
    if (r.query) {
        enc = ref_encode(r.query);
        check(u->query && strcmp(enc, u->query) == 0, "query differs");
        free(enc);
    } else {
        check(u->query == NULL, "query from nowhere");
    }
    ref_free(&r);
}

/* ---- resolution --------------------------------------------------------- */

static size_t cat(char *dst, size_t at, const char *s) {
    size_t n = strlen(s);
    memcpy(dst + at, s, n);
    return at + n;
}

/* RFC 3986 §5.2.2 on strings (dot-segments and encoding left to the parse
 * of the recomposed target, as §5.2.2 applies remove_dot_segments to every
 * path it builds from a ref), then §5.3 recomposition. */
static char *ref_resolve(const char *base, const char *rs) {
    ref_parts b, r;
    ref_split(base, &b);
    ref_split(rs, &r);
    const char *scheme, *auth, *path, *query;
    char *merged = NULL;
    if (r.scheme) {
        scheme = r.scheme, auth = r.authority, path = r.path, query = r.query;
    } else {
        scheme = b.scheme;
        if (r.authority) {
            auth = r.authority, path = r.path, query = r.query;
        } else {
            auth = b.authority;
            if (!*r.path) {
                path = b.path;
                query = r.query ? r.query : b.query;
            } else {
                query = r.query;
                if (r.path[0] == '/') {
                    path = r.path;
                } else {
                    merged = xmalloc(strlen(b.path) + strlen(r.path) + 2);
                    const char *slash = strrchr(b.path, '/');
                    size_t keep = slash ? (size_t)(slash - b.path) + 1 : 0;
                    if (b.authority && !*b.path) /* §5.2.3 first case */
                        strcpy(merged, "/");
                    else
                        memcpy(merged, b.path, keep), merged[keep] = 0;
                    strcat(merged, r.path);
                    path = merged;
                }
            }
        }
    }
    char *t = xmalloc(strlen(base) + strlen(rs) + 16);
    size_t n = 0;
    if (scheme)
        n = cat(t, cat(t, n, scheme), ":");
    if (auth)
        n = cat(t, cat(t, n, "//"), auth);
    n = cat(t, n, path);
    if (query)
        n = cat(t, cat(t, n, "?"), query);
    t[n] = 0;
    free(merged);
    ref_free(&b);
    ref_free(&r);
    return t;
}

/* ref[len] is the raw input (exactly sized, so an over-read shows), z the
 * same bytes NUL-terminated for the reference; clean: no control bytes. */
static void check_resolve(const em_url *base, const char *ref, size_t len, const char *z,
                          bool clean) {
    em_url out;
    int rc = em_url_resolve(&out, base, em_slice_make(ref, len));
    check(rc == 0 || rc == EM_EINVAL, "resolve: unexpected error");
    if (rc == 0)
        check_url(&out);
    else
        check(out._buf == NULL, "resolve failed but left storage");
    if (clean) {
        char *bs = xmalloc(EM_URL_MAX_LEN + 1);
        check(em_url_format(base, true, bs, EM_URL_MAX_LEN + 1) > 0, "format base");
        char *t = ref_resolve(bs, z);
        em_url want;
        if (strlen(t) <= EM_URL_MAX_LEN) { /* longer: dot-segments may shrink it, parse refuses */
            int wrc = em_url_parse(&want, em_slice_from_cstr(t));
            check((wrc == 0) == (rc == 0), "resolve and the reference disagree on success");
            if (rc == 0) {
                check_against_ref(&want, t); /* the §5.2.4 part, done here */
                check_same(&out, &want, true, "resolve differs from the reference");
            }
            em_url_free(&want);
        }
        free(t);
        free(bs);
    }
    /* an absolute ref resolves to itself */
    em_url abs;
    if (em_url_parse(&abs, em_slice_make(ref, len)) == 0) {
        check(rc == 0, "absolute ref parses but does not resolve");
        check_same(&out, &abs, true, "absolute ref resolves to something else");
        em_url_free(&abs);
    }
    em_url_free(&out);
}

static const char *const bases[] = {
    "http://a/b/c/d;p?q",
    "https://u:p%40@[2001:db8::1]:8443/x/y/?",
    "ws://h:0080",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    bool clean = size <= EM_URL_MAX_LEN;
    for (size_t i = 0; i < size; i++)
        if (data[i] < 0x20 || data[i] == 0x7f)
            clean = false;
    char *z = xmalloc(size + 1); /* NUL-terminated copy for the references */
    memcpy(z, data, size);
    z[size] = 0;

    em_url u;
    int rc = em_url_parse(&u, em_slice_make(s, size));
    check(rc == 0 || rc == EM_EINVAL, "parse: unexpected error");
    if (rc == 0) {
        check(clean, "accepted a control byte or an over-long URL");
        check_url(&u);
        check_against_ref(&u, z);
    } else {
        check(u._buf == NULL && u.host == NULL, "failed parse left fields");
    }

    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        em_url b;
        check(em_url_parse(&b, em_slice_from_cstr(bases[i])) == 0, "base");
        check_resolve(&b, s, size, z, clean);
        em_url_free(&b);
    }
    if (rc == 0) { /* the input as a base */
        static const char *const refs[] = {"", "g", "../g", "/g", "//x/", "?y", "..", "http:g"};
        for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
            check_resolve(&u, refs[i], strlen(refs[i]), refs[i], true);
        check_resolve(&u, s, size, z, clean);
    }
    em_url_free(&u);
    free(z);
    return 0;
}

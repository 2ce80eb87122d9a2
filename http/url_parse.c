/* em_url_parse: RFC 3986 §3 for the four schemes the client speaks, strict
 * where a lenient reading has been an attack (header injection through
 * control bytes, SSRF through hosts that resolvers and browsers read as
 * different addresses, credentials smuggled with a second '@'). The rules
 * are listed in include/ember/http/url.h. */
#include "url_internal.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static const char *const schemes[] = {"http", "https", "ws", "wss"};

EM_API uint16_t em_url_default_port(const char *scheme) {
    if (!scheme)
        return 0;
    if (!strcmp(scheme, "http") || !strcmp(scheme, "ws"))
        return 80;
    if (!strcmp(scheme, "https") || !strcmp(scheme, "wss"))
        return 443;
    return 0;
}

static bool is_alpha(unsigned char c) {
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}
static bool is_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}
static bool is_hex(unsigned char c) {
    return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

int em__url_split(em_slice s, em__url_parts *p) {
    memset(p, 0, sizeof *p);
    if (s.len > EM_URL_MAX_LEN)
        return EM_EINVAL;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c < 0x20 || c == 0x7f)
            return EM_EINVAL; /* CR/LF/NUL would end up in a request line or Host */
    }
    /* ^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))? */
    size_t i = 0, n = s.len;
    const char *b = s.ptr;
    while (i < n && !strchr(":/?#", b[i]))
        i++;
    if (i > 0 && i < n && b[i] == ':') {
        p->scheme = em_slice_make(b, i);
        p->has_scheme = true;
        if (!is_alpha((unsigned char)b[0]))
            return EM_EINVAL; /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
        for (size_t k = 1; k < i; k++)
            if (!is_alpha((unsigned char)b[k]) && !is_digit((unsigned char)b[k]) && b[k] != '+' &&
                b[k] != '-' && b[k] != '.')
                return EM_EINVAL;
        i++;
    } else {
        i = 0;
    }
    if (n - i >= 2 && b[i] == '/' && b[i + 1] == '/') {
        size_t a = i += 2;
        while (i < n && !strchr("/?#", b[i]))
            i++;
        p->authority = em_slice_make(b + a, i - a);
        p->has_authority = true;
    }
    size_t start = i;
    while (i < n && b[i] != '?' && b[i] != '#')
        i++;
    p->path = em_slice_make(b + start, i - start);
    if (i < n && b[i] == '?') {
        start = ++i;
        while (i < n && b[i] != '#')
            i++;
        p->query = em_slice_make(b + start, i - start);
        p->has_query = true;
    }
    return 0; /* the fragment, if any, is dropped */
}

/* ---- authority ---------------------------------------------------------- */

typedef struct authority {
    em_slice userinfo, host, port;
    bool has_userinfo, has_port, is_ip, is_ipv6;
    char ip6[INET6_ADDRSTRLEN]; /* canonical IPv6 text */
} authority;

static bool userinfo_ok(em_slice u) {
    for (size_t i = 0; i < u.len; i++) {
        unsigned char c = (unsigned char)u.ptr[i];
        if (c == '%') {
            if (u.len - i < 3 || !is_hex((unsigned char)u.ptr[i + 1]) ||
                !is_hex((unsigned char)u.ptr[i + 2]))
                return false;
            i += 2;
        } else if (!is_alpha(c) && !is_digit(c) && (c == 0 || !strchr("-._~!$&'()*+,;=:", c))) {
            return false;
        }
    }
    return true;
}

/* A canonical dotted quad: four decimal parts 0..255, no leading zeros. */
static bool is_dotted_quad(em_slice h) {
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= h.len || h.ptr[i] != '.')
                return false;
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < h.len && is_digit((unsigned char)h.ptr[i]) && i - start < 3)
            v = v * 10 + (unsigned)(h.ptr[i++] - '0');
        size_t digits = i - start;
        if (digits == 0 || v > 255 || (digits > 1 && h.ptr[start] == '0'))
            return false;
    }
    return i == h.len;
}

/* WHATWG's "ends in a number": the last label (a single trailing '.'
 * ignored) is decimal digits, or "0x" and hex digits. Such a host is an
 * IPv4 address to a browser and maybe to inet_aton, in forms ("0x7f.1",
 * "017.0.0.1", "2130706433") this parser will not guess at. */
static bool ends_in_number(em_slice h) {
    size_t end = h.len;
    if (end > 1 && h.ptr[end - 1] == '.')
        end--;
    size_t start = end;
    while (start > 0 && h.ptr[start - 1] != '.')
        start--;
    const char *l = h.ptr + start;
    size_t n = end - start;
    if (n == 0)
        return false;
    size_t i = 0;
    if (n >= 2 && l[0] == '0' && (l[1] | 0x20) == 'x') {
        for (i = 2; i < n && is_hex((unsigned char)l[i]); i++)
            ;
        return i == n;
    }
    while (i < n && is_digit((unsigned char)l[i]))
        i++;
    return i == n;
}

static int parse_ipv6(authority *a, em_slice inner) {
    char tmp[64];
    struct in6_addr addr;
    if (inner.len == 0 || inner.len >= sizeof tmp)
        return EM_EINVAL;
    if ((inner.ptr[0] | 0x20) == 'v')
        return EM_EINVAL; /* IPvFuture: nothing could connect to it */
    if (memchr(inner.ptr, '%', inner.len))
        return EM_EINVAL; /* zone ids: local to one host, never in a URL we send */
    memcpy(tmp, inner.ptr, inner.len);
    tmp[inner.len] = 0;
    if (inet_pton(AF_INET6, tmp, &addr) != 1 || !inet_ntop(AF_INET6, &addr, a->ip6, sizeof a->ip6))
        return EM_EINVAL;
    a->host = em_slice_from_cstr(a->ip6);
    a->is_ip = a->is_ipv6 = true;
    return 0;
}

static int parse_authority(authority *a, em_slice s) {
    memset(a, 0, sizeof *a);
    const char *at = memchr(s.ptr, '@', s.len);
    if (at) {
        a->userinfo = em_slice_make(s.ptr, (size_t)(at - s.ptr));
        a->has_userinfo = true;
        s = em_slice_make(at + 1, s.len - a->userinfo.len - 1);
        /* "http://a@b@c/": curl refuses, others disagree on the host */
        if (memchr(s.ptr, '@', s.len) || !userinfo_ok(a->userinfo))
            return EM_EINVAL;
    }
    size_t hlen;
    if (s.len && s.ptr[0] == '[') {
        const char *close = memchr(s.ptr, ']', s.len);
        if (!close)
            return EM_EINVAL;
        hlen = (size_t)(close - s.ptr) + 1;
        int rc = parse_ipv6(a, em_slice_make(s.ptr + 1, hlen - 2));
        if (rc)
            return rc;
    } else {
        const char *colon = memchr(s.ptr, ':', s.len);
        hlen = colon ? (size_t)(colon - s.ptr) : s.len;
        a->host = em_slice_make(s.ptr, hlen);
        if (hlen == 0)
            return EM_EINVAL;
        /* Unreserved characters only: no %-escapes or non-ASCII (no IDNA
         * here), no sub-delims (legal reg-name, but no DNS name). */
        for (size_t i = 0; i < hlen; i++) {
            unsigned char c = (unsigned char)s.ptr[i];
            if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.' && c != '_' && c != '~')
                return EM_EINVAL;
        }
        /* Empty labels ("a..b", ".a", ".") name no host; one trailing
         * '.' (an absolute DNS name) is fine. */
        if (s.ptr[0] == '.' || memmem(s.ptr, hlen, "..", 2))
            return EM_EINVAL;
        if (ends_in_number(a->host)) {
            if (!is_dotted_quad(a->host))
                return EM_EINVAL;
            a->is_ip = true;
        }
    }
    if (hlen < s.len) {
        if (s.ptr[hlen] != ':')
            return EM_EINVAL; /* "[::1]x" */
        a->port = em_slice_make(s.ptr + hlen + 1, s.len - hlen - 1);
        a->has_port = a->port.len > 0; /* "host:" is the default port (§3.2.3) */
    }
    return 0;
}

static int port_value(em_slice p, uint16_t *out) {
    unsigned v = 0;
    for (size_t i = 0; i < p.len; i++) {
        if (!is_digit((unsigned char)p.ptr[i]))
            return EM_EINVAL; /* "80a", "+80", "0x50" */
        v = v * 10 + (unsigned)(p.ptr[i] - '0');
        if (v > 65535)
            return EM_EINVAL;
    }
    if (v == 0)
        return EM_EINVAL;
    *out = (uint16_t)v;
    return 0;
}

/* ---- assembling the em_url ---------------------------------------------- */

static char *put(char **w, const char *s, size_t n) {
    char *start = *w;
    memcpy(start, s, n);
    start[n] = 0;
    *w += n + 1;
    return start;
}

static size_t digits(unsigned v) {
    size_t n = 1;
    while (v >= 10)
        v /= 10, n++;
    return n;
}

static int build(em_url *out, const em__url_parts *p, char **spare, size_t spare_cap,
                 size_t *cap_out);

int em__url_build(em_url *out, const em__url_parts *p) {
    return build(out, p, NULL, 0, NULL);
}

int em__url_parse_spare(em_url *out, em_slice s, char **spare, size_t spare_cap, size_t *cap) {
    em__url_parts p;
    int rc = em__url_split(s, &p);
    if (rc) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    return build(out, &p, spare, spare_cap, cap);
}

static int build(em_url *out, const em__url_parts *p, char **spare, size_t spare_cap,
                 size_t *cap_out) {
    memset(out, 0, sizeof *out);
    if (!p->has_scheme || !p->has_authority)
        return EM_EINVAL; /* "http:foo", "http:/foo", "//host/x" */
    const char *scheme = NULL;
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (em_slice_eq_nocase(p->scheme, em_slice_from_cstr(schemes[i])))
            scheme = schemes[i];
    if (!scheme)
        return EM_EINVAL;
    authority a;
    uint16_t port = em_url_default_port(scheme);
    int rc = parse_authority(&a, p->authority);
    if (rc == 0 && a.has_port)
        rc = port_value(a.port, &port);
    if (rc)
        return rc;

    size_t cap = strlen(scheme) + 1 + a.userinfo.len + 1 + a.host.len + 1 + 3 * p->path.len + 2 +
                 3 * p->query.len + 1;
    char *buf;
    if (spare && *spare && spare_cap >= cap) { /* the caller's old buffer fits */
        buf = *spare;
        *spare = NULL;
        cap = spare_cap;
    } else if (!(buf = malloc(cap))) {
        return EM_ENOMEM;
    }
    if (cap_out)
        *cap_out = cap;
    char *w = buf;
    out->_buf = buf;
    out->scheme = put(&w, scheme, strlen(scheme));
    if (a.has_userinfo)
        out->userinfo = put(&w, a.userinfo.ptr, a.userinfo.len);
    char *host = put(&w, a.host.ptr, a.host.len);
    for (char *c = host; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c | 0x20);
    out->host = host;
    out->host_is_ip = a.is_ip;
    out->host_is_ipv6 = a.is_ipv6;
    out->port = port;
    out->port_explicit = a.has_port;

    char *path = w;
    ssize_t n = em__url_encode(path, p->path);
    if (n < 0)
        goto invalid;
    size_t plen = (size_t)n;
    if (plen == 0)
        path[plen++] = '/'; /* "http://h" and "http://h?q" ask for "/" */
    else
        plen = em__url_remove_dots(path, plen); /* path-abempty: path[0] == '/' */
    path[plen] = 0;
    out->path = path;
    w += plen + 1;
    size_t qlen = 0;
    if (p->has_query) {
        n = em__url_encode(w, p->query);
        if (n < 0)
            goto invalid;
        qlen = (size_t)n;
        w[qlen] = 0;
        out->query = w;
    }

    /* The limit holds for what we would send and format, not only for the
     * input: escaping can triple it. */
    size_t total = strlen(scheme) + 3 + (a.has_userinfo ? a.userinfo.len + 1 : 0) + a.host.len +
                   (a.is_ipv6 ? 2 : 0) + (a.has_port ? 1 + digits(port) : 0) + plen +
                   (p->has_query ? 1 + qlen : 0);
    if (total > EM_URL_MAX_LEN)
        goto invalid;
    return 0;
invalid:
    em_url_free(out);
    return EM_EINVAL;
}

EM_API int em_url_parse(em_url *out, em_slice s) {
    em__url_parts p;
    int rc = em__url_split(s, &p);
    if (rc) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    return em__url_build(out, &p);
}

EM_API void em_url_free(em_url *u) {
    if (!u)
        return;
    free(u->_buf);
    memset(u, 0, sizeof *u);
}

/* Which proxy, if any, a request goes through: the client's setting or,
 * when asked, the environment as curl reads it (http_proxy in lower case
 * only, since a CGI program gets HTTP_PROXY from a request header: the
 * "httpoxy" hole; https_proxy or HTTPS_PROXY; all_proxy or ALL_PROXY for
 * a scheme whose own variable is unset; no_proxy or NO_PROXY, which holds
 * for a proxy set by hand too). Only http:// proxies are spoken. Any other
 * scheme (https, socks4, socks5, ...) set by hand is refused up front; one
 * from the environment is refused for each request that would use it (a
 * desktop's all_proxy is often socks, and no_proxy hosts or a scheme with
 * an http:// proxy of its own still work), so a request never goes direct
 * when a proxy was asked for. */
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

static const char *env2(const char *a, const char *b) {
    const char *v = getenv(a);
    if ((!v || !*v) && b)
        v = getenv(b);
    return v && *v ? v : NULL;
}

static int parse_proxy(em_url *out, const char *spec) {
    /* "host:port" alone means http://host:port, as curl takes it */
    char buf[512];
    size_t sl = strspn(spec, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
    bool scheme = sl && !strncmp(spec + sl, "://", 3); /* RFC 3986 §3.1 */
    if (scheme && !(sl == 4 && !strncasecmp(spec, "http", 4)))
        return EM_ENOTSUP; /* an https proxy (TLS to the proxy), socks, ... */
    if (!scheme) {
        if (strlen(spec) > sizeof buf - 8)
            return EM_EINVAL;
        strcpy(buf, "http://");
        strcat(buf, spec);
        spec = buf;
    }
    int rc = em_url_parse(out, em_slice_from_cstr(spec));
    if (!rc && !out->port_explicit)
        out->port = 1080; /* curl's and libcurl's (CURLOPT_PROXY) default */
    return rc;
}

int em__http_proxy_setup(em_http_client *cl) {
    const em_http_client_opts *o = &cl->o;
    const char *http = o->proxy, *https = o->proxy, *no = o->no_proxy;
    if (!http && o->proxy_from_env) {
        http = env2("http_proxy", NULL);
        https = env2("https_proxy", "HTTPS_PROXY");
        const char *all = http && https ? NULL : env2("all_proxy", "ALL_PROXY");
        http = http ? http : all;
        https = https ? https : all;
    }
    if (!no && o->proxy_from_env) /* for a proxy given in opts too, as curl */
        no = env2("no_proxy", "NO_PROXY");
    int rc = 0;
    if (http && (rc = parse_proxy(&cl->proxy_http, http)) == 0)
        cl->has_proxy_http = true;
    else if (rc == EM_ENOTSUP && !o->proxy)
        rc = (cl->refused_http = strdup(http)) ? 0 : EM_ENOMEM;
    if (!rc && https && (rc = parse_proxy(&cl->proxy_https, https)) == 0)
        cl->has_proxy_https = true;
    else if (rc == EM_ENOTSUP && !o->proxy)
        rc = (cl->refused_https = strdup(https)) ? 0 : EM_ENOMEM;
    if (!rc && no && !(cl->no_proxy = strdup(no)))
        rc = EM_ENOMEM;
    return rc;
}

void em__http_proxy_free(em_http_client *cl) {
    em_url_free(&cl->proxy_http);
    em_url_free(&cl->proxy_https);
    free(cl->no_proxy);
    free(cl->refused_http);
    free(cl->refused_https);
    cl->no_proxy = cl->refused_http = cl->refused_https = NULL;
}

/* An IP entry of no_proxy (brackets optional for IPv6, an optional
 * "/bits" range as curl 7.86 takes it) against the host's address: 1 it
 * matches, 0 it does not, -1 the entry is no IP literal (a name). */
static int ip_entry_match(const char *p, size_t n, const em_ip *host) {
    const char *ip = p, *slash = memchr(p, '/', n);
    size_t iplen = slash ? (size_t)(slash - p) : n;
    if (iplen >= 2 && p[0] == '[' && p[iplen - 1] == ']')
        ip++, iplen -= 2;
    em_ip net;
    if (em_ip_parse(&net, ip, iplen) != 0)
        return slash ? 0 : -1; /* a name with a '/' matches nothing */
    unsigned max = net.family == EM_IP_V4 ? 32 : 128, bits = max;
    if (slash) {
        size_t dl = n - iplen - 1 - (ip != p ? 2 : 0);
        const char *d = slash + 1;
        if (dl == 0 || dl > 3)
            return 0;
        bits = 0;
        for (size_t i = 0; i < dl; i++) {
            if (d[i] < '0' || d[i] > '9')
                return 0;
            bits = bits * 10 + (unsigned)(d[i] - '0');
        }
        if (bits > max)
            return 0;
    }
    if (!host || host->family != net.family)
        return 0;
    for (unsigned i = 0; i < bits / 8; i++)
        if (host->bytes[i] != net.bytes[i])
            return 0;
    unsigned rest = bits % 8;
    uint8_t m = (uint8_t)(0xff << (8 - rest));
    return !rest || (host->bytes[bits / 8] & m) == (net.bytes[bits / 8] & m);
}

/* no_proxy: comma- or space-separated entries; "*" is everything; a name
 * matches the host itself and, as a domain, its subdomains (a leading dot
 * optional); an IP literal or CIDR range matches addresses only, compared
 * as addresses. Case was folded by the URL parser. */
bool em__http_no_proxy_match(const char *list, const char *host) {
    size_t hl = strlen(host);
    em_ip hip;
    bool host_ip = em_ip_parse(&hip, host, hl) == 0;
    const char *p = list;
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ')
            e++;
        size_t n = (size_t)(e - p);
        if (n == 1 && *p == '*')
            return true;
        int ipm = n ? ip_entry_match(p, n, host_ip ? &hip : NULL) : 0;
        if (ipm > 0)
            return true;
        if (ipm < 0 && !host_ip) {
            if (*p == '.')
                p++, n--;
            if (n && n <= hl && !strncasecmp(host + hl - n, p, n) &&
                (n == hl || host[hl - n - 1] == '.'))
                return true;
        }
        p = e;
    }
    return false;
}

const em_url *em__http_proxy_for(const em_http_client *cl, const em_url *u) {
    bool tls = em_url_is_tls(u);
    if (tls ? !cl->has_proxy_https : !cl->has_proxy_http)
        return NULL;
    if (cl->no_proxy && em__http_no_proxy_match(cl->no_proxy, u->host))
        return NULL;
    return tls ? &cl->proxy_https : &cl->proxy_http;
}

const char *em__http_proxy_refused(const em_http_client *cl, const em_url *u) {
    const char *spec = em_url_is_tls(u) ? cl->refused_https : cl->refused_http;
    if (!spec || (cl->no_proxy && em__http_no_proxy_match(cl->no_proxy, u->host)))
        return NULL;
    return spec;
}

/* Which proxy, if any, a request goes through: the client's setting or,
 * when asked, the environment as curl reads it (http_proxy in lower case
 * only, since a CGI program gets HTTP_PROXY from a request header: the
 * "httpoxy" hole; https_proxy or HTTPS_PROXY; no_proxy or NO_PROXY). */
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
    if (!strstr(spec, "://")) {
        if (strlen(spec) > sizeof buf - 8)
            return EM_EINVAL;
        strcpy(buf, "http://");
        strcat(buf, spec);
        spec = buf;
    }
    int rc = em_url_parse(out, em_slice_from_cstr(spec));
    if (!rc && strcmp(out->scheme, "http")) {
        em_url_free(out); /* an https proxy (TLS to the proxy) is not supported */
        return EM_ENOTSUP;
    }
    return rc;
}

int em__http_proxy_setup(em_http_client *cl) {
    const em_http_client_opts *o = &cl->o;
    const char *http = o->proxy, *https = o->proxy, *no = o->no_proxy;
    if (!http && o->proxy_from_env) {
        http = env2("http_proxy", NULL);
        https = env2("https_proxy", "HTTPS_PROXY");
        if (!no)
            no = env2("no_proxy", "NO_PROXY");
    }
    int rc = 0;
    if (http && (rc = parse_proxy(&cl->proxy_http, http)) == 0)
        cl->has_proxy_http = true;
    if (!rc && https && (rc = parse_proxy(&cl->proxy_https, https)) == 0)
        cl->has_proxy_https = true;
    if (!rc && no && !(cl->no_proxy = strdup(no)))
        rc = EM_ENOMEM;
    return rc;
}

void em__http_proxy_free(em_http_client *cl) {
    em_url_free(&cl->proxy_http);
    em_url_free(&cl->proxy_https);
    free(cl->no_proxy);
    cl->no_proxy = NULL;
}

/* no_proxy: comma-separated names; "*" is everything; an entry matches the
 * host itself and, as a domain, its subdomains (a leading dot optional);
 * IP literals match exactly. Case was folded by the URL parser. */
static bool no_proxy_match(const char *list, const char *host) {
    size_t hl = strlen(host);
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
        if (n && *p == '.')
            p++, n--;
        if (n && n <= hl && !strncasecmp(host + hl - n, p, n) &&
            (n == hl || host[hl - n - 1] == '.'))
            return true;
        p = e;
    }
    return false;
}

const em_url *em__http_proxy_for(const em_http_client *cl, const em_url *u) {
    bool tls = em_url_is_tls(u);
    if (tls ? !cl->has_proxy_https : !cl->has_proxy_http)
        return NULL;
    if (cl->no_proxy && no_proxy_match(cl->no_proxy, u->host))
        return NULL;
    return tls ? &cl->proxy_https : &cl->proxy_http;
}

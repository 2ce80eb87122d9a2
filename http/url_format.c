/* Writing an em_url back out: the request target, the Host value and the
 * whole URL, plus the origin comparison redirects need. */
#include "url_internal.h"

#include <string.h>

typedef struct writer {
    char *buf;
    size_t cap, len;
} writer;

static void put(writer *w, const char *s, size_t n) {
    if (w->len + n < w->cap) /* keep room for the NUL */
        memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void puts0(writer *w, const char *s) {
    put(w, s, strlen(s));
}

/* ":port" by hand: the client writes it for every request, and snprintf
 * was 15% of a warm request's instructions. */
static void put_port(writer *w, uint16_t port) {
    char p[6], *d = p + sizeof p;
    unsigned v = port;
    do {
        *--d = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    *--d = ':';
    put(w, d, (size_t)(p + sizeof p - d));
}

static ssize_t finish(writer *w) {
    if (w->len >= w->cap) {
        if (w->cap)
            w->buf[0] = 0;
        return EM_ENOSPC;
    }
    w->buf[w->len] = 0;
    return (ssize_t)w->len;
}

static bool parsed(const em_url *u) {
    return u && u->_buf && u->scheme && u->host && u->path;
}

static void put_host(writer *w, const em_url *u) {
    if (u->host_is_ipv6)
        put(w, "[", 1);
    puts0(w, u->host);
    if (u->host_is_ipv6)
        put(w, "]", 1);
}

static void put_authority(writer *w, const em_url *u, bool with_userinfo) {
    if (with_userinfo && u->userinfo) {
        puts0(w, u->userinfo);
        put(w, "@", 1);
    }
    put_host(w, u);
    if (u->port_explicit)
        put_port(w, u->port);
}

ssize_t em__url_put_authority(const em_url *u, bool with_userinfo, char *buf, size_t cap) {
    writer w = {buf, cap, 0};
    put_authority(&w, u, with_userinfo);
    return finish(&w);
}

EM_API bool em_url_is_tls(const em_url *u) {
    return parsed(u) && (!strcmp(u->scheme, "https") || !strcmp(u->scheme, "wss"));
}

EM_API ssize_t em_url_target(const em_url *u, char *buf, size_t cap) {
    if (!parsed(u) || (!buf && cap))
        return EM_EINVAL;
    writer w = {buf, cap, 0};
    puts0(&w, u->path);
    if (u->query) {
        put(&w, "?", 1);
        puts0(&w, u->query);
    }
    return finish(&w);
}

EM_API ssize_t em_url_host_header(const em_url *u, char *buf, size_t cap) {
    if (!parsed(u) || (!buf && cap))
        return EM_EINVAL;
    writer w = {buf, cap, 0};
    put_host(&w, u);
    if (u->port != em_url_default_port(u->scheme))
        put_port(&w, u->port);
    return finish(&w);
}

EM_API ssize_t em_url_format(const em_url *u, bool with_userinfo, char *buf, size_t cap) {
    if (!parsed(u) || (!buf && cap))
        return EM_EINVAL;
    writer w = {buf, cap, 0};
    puts0(&w, u->scheme);
    put(&w, "://", 3);
    put_authority(&w, u, with_userinfo);
    puts0(&w, u->path);
    if (u->query) {
        put(&w, "?", 1);
        puts0(&w, u->query);
    }
    return finish(&w);
}

EM_API bool em_url_same_origin(const em_url *a, const em_url *b) {
    return parsed(a) && parsed(b) && !strcmp(a->scheme, b->scheme) && !strcmp(a->host, b->host) &&
           a->port == b->port;
}

/* A client call's memory: what to send (copied from the em_http_req, so the
 * caller's may go once em_http_client_do returns), the request head for
 * the current URL, why it failed, and its one end. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_internal.h"

static const struct {
    const char *name;
    em_http_method id;
} methods[] = {
    {"GET", EM_HTTP_GET},         {"HEAD", EM_HTTP_HEAD},       {"POST", EM_HTTP_POST},
    {"PUT", EM_HTTP_PUT},         {"DELETE", EM_HTTP_DELETE},   {"CONNECT", EM_HTTP_CONNECT},
    {"OPTIONS", EM_HTTP_OPTIONS}, {"TRACE", EM_HTTP_TRACE},     {"PATCH", EM_HTTP_PATCH},
};

/* m's entry in the table, or NULL for another token. */
static const char *method_lookup(const char *m, em_http_method *id) {
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (!strcmp(methods[i].name, m)) {
            *id = methods[i].id;
            return methods[i].name;
        }
    *id = EM_HTTP_METHOD_OTHER;
    return NULL;
}

const char *em__http_method_static(em_http_method id, const char *m) {
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (methods[i].id == id && !strcmp(methods[i].name, m))
            return methods[i].name;
    return NULL; /* another token */
}

bool em__http_method_idempotent(em_http_method m) {
    /* RFC 9110 §9.2.2 */
    return m == EM_HTTP_GET || m == EM_HTTP_HEAD || m == EM_HTTP_PUT || m == EM_HTTP_DELETE ||
           m == EM_HTTP_OPTIONS || m == EM_HTTP_TRACE;
}

/* Fields the client writes itself: a caller's copy would frame the message
 * twice (a smuggling vector) or contradict the connection handling. */
static bool reserved_field(em_slice name) {
    static const char *const names[] = {"content-length", "transfer-encoding", "connection",
                                        "upgrade",        "te",                "trailer",
                                        "keep-alive"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (em_slice_eq_nocase(name, em_slice_from_cstr(names[i])))
            return true;
    return false;
}

static bool is_host(em_slice name) {
    return em_slice_eq_nocase(name, EM_SLICE_LIT("host"));
}

/* A Host of the caller's (a virtual host): RFC 9110 §7.2 uri-host [":"
 * port], the host a reg-name (RFC 3986 §3.2.2) or a bracketed literal; or
 * empty, for no Host line at all (curl's -H 'Host:'). */
static bool host_value_ok(em_slice v) {
    size_t i = 0;
    if (v.len && v.ptr[0] == '[') {
        while (i < v.len && v.ptr[i] != ']')
            i++;
        if (i == v.len || i < 3)
            return false;
        for (size_t k = 1; k < i; k++)
            if (!strchr("0123456789abcdefABCDEF:.vV", v.ptr[k]))
                return false;
        i++;
    } else {
        for (; i < v.len && v.ptr[i] != ':'; i++) {
            unsigned char c = (unsigned char)v.ptr[i];
            if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && !(c >= '0' && c <= '9') &&
                !strchr("-._~%!$&'()*+,;=", c))
                return false;
        }
        if (i == 0)
            return v.len == 0;
    }
    if (i == v.len)
        return true;
    if (v.ptr[i] != ':' || v.len - i - 1 > 5)
        return false;
    for (size_t k = i + 1; k < v.len; k++)
        if (v.ptr[k] < '0' || v.ptr[k] > '9')
            return false;
    return true;
}

static char *dup_slice(em_slice s) {
    char *p = malloc(s.len + 1);
    if (p) {
        memcpy(p, s.ptr, s.len);
        p[s.len] = 0;
    }
    return p;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* "Basic base64(user:password)" (RFC 7617). */
static char *basic_auth(const char *user, size_t ulen, const char *pass, size_t plen) {
    size_t n = ulen + 1 + plen;
    char *raw = malloc(n + 1);
    char *out = malloc(6 + (n + 2) / 3 * 4 + 1);
    if (!raw || !out) {
        free(raw);
        free(out);
        return NULL;
    }
    memcpy(raw, user, ulen);
    raw[ulen] = ':';
    memcpy(raw + ulen + 1, pass, plen);
    char *o = out + 6;
    memcpy(out, "Basic ", 6);
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)raw[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)raw[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)raw[i + 2];
        *o++ = b64[v >> 18 & 63];
        *o++ = b64[v >> 12 & 63];
        *o++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? b64[v & 63] : '=';
    }
    *o = 0;
    free(raw);
    return out;
}

/* The URL's userinfo "user:password", still percent-encoded, as Basic. */
char *em__http_userinfo_auth(const char *ui) {
    size_t len = strlen(ui);
    char *dec = malloc(len + 1);
    if (!dec)
        return NULL;
    const char *colon = strchr(ui, ':');
    size_t ulen = colon ? (size_t)(colon - ui) : len;
    ssize_t u = em_http_percent_decode((em_slice){ui, ulen}, dec, len + 1, 0);
    ssize_t p = colon ? em_http_percent_decode(em_slice_from_cstr(colon + 1), dec + (u > 0 ? u : 0),
                                               len + 1 - (size_t)(u > 0 ? u : 0), 0)
                      : 0;
    char *out = u >= 0 && p >= 0 ? basic_auth(dec, (size_t)u, dec + u, (size_t)p) : NULL;
    free(dec);
    return out;
}

static int copy_request(em_http_call *call, const em_http_req *req) {
    const char *m = req->method ? req->method : (req->body.len ? "POST" : "GET");
    if (!*m || !em__http_field_name_ok(em_slice_from_cstr(m)))
        return EM_EINVAL; /* a method is a token (RFC 9110 §9.1) */
    /* the usual methods point at their name in the table: no copy */
    const char *known = method_lookup(m, &call->method_id);
    call->method = known ? (char *)known : strdup(m);
    call->method_owned = !known;
    if (!call->method)
        return EM_ENOMEM;
    if (call->method_id == EM_HTTP_CONNECT)
        return EM_EINVAL; /* tunnels are not requests */
    if (req->num_headers) {
        call->headers = calloc(req->num_headers, sizeof *call->headers);
        if (!call->headers)
            return EM_ENOMEM;
        unsigned own_host = 0;
        for (size_t i = 0; i < req->num_headers; i++) {
            em_slice n = req->headers[i].name, v = req->headers[i].value;
            if (!em__http_field_name_ok(n) || !em__http_field_value_ok(v) || reserved_field(n))
                return EM_EINVAL;
            if (is_host(n) && (!host_value_ok(v) || own_host++)) /* one Host line, RFC 9112 §3.2 */
                return EM_EINVAL;
            char *nc = dup_slice(n), *vc = dup_slice(v);
            call->headers[call->num_headers++] = (em_http_header){
                {nc, n.len}, {vc, v.len}, EM_HTTP_HDR_OTHER};
            if (!nc || !vc)
                return EM_ENOMEM;
        }
    }
    if (req->stream_body) {
        if (req->body.len || !call->cbs->on_writable || req->body_length < -1 || req->upgrade)
            return EM_EINVAL;
        call->stream = true;
        call->stream_len = req->body_length;
        call->retried = true; /* the body cannot be replayed */
    }
    if (req->upgrade) {
        em_slice u = em_slice_from_cstr(req->upgrade);
        /* a protocol list of tokens ("websocket", "foo/2, bar") */
        if (!u.len || !em__http_field_value_ok(u) || call->method_id != EM_HTTP_GET ||
            req->body.len)
            return EM_EINVAL;
        if (!(call->upgrade = strdup(req->upgrade)))
            return EM_ENOMEM;
        call->fresh_only = true;
    }
    if (req->content_type) {
        if (!em__http_field_value_ok(em_slice_from_cstr(req->content_type)))
            return EM_EINVAL;
        if (!(call->content_type = strdup(req->content_type)))
            return EM_ENOMEM;
    }
    if (req->body.len) {
        char *b = malloc(req->body.len);
        if (!b)
            return EM_ENOMEM;
        memcpy(b, req->body.ptr, req->body.len);
        call->body = (em_slice){b, req->body.len};
    }
    if (req->bearer) {
        size_t n = strlen(req->bearer);
        if (!(call->auth = malloc(n + 8)))
            return EM_ENOMEM;
        memcpy(call->auth, "Bearer ", 7);
        memcpy(call->auth + 7, req->bearer, n + 1);
    } else if (req->user) {
        const char *pw = req->password ? req->password : "";
        if (!(call->auth = basic_auth(req->user, strlen(req->user), pw, strlen(pw))))
            return EM_ENOMEM;
    } else if (call->url.userinfo) {
        if (!(call->auth = em__http_userinfo_auth(call->url.userinfo)))
            return EM_EINVAL;
    }
    if (call->auth && !em__http_field_value_ok(em_slice_from_cstr(call->auth)))
        return EM_EINVAL;
    if (call->auth) {
        /* the origin the credentials belong to, and only that one */
        int rc = em_url_parse(&call->auth_origin, em_slice_from_cstr(req->url));
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- calls kept for reuse ------------------------------------------------- */

/* Under AddressSanitizer every call is freed, so a use after the end is
 * still caught. */
#if defined(__SANITIZE_ADDRESS__)
#define CALL_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CALL_POOL 0
#endif
#endif
#ifndef CALL_POOL
#define CALL_POOL 64 /* calls a client keeps */
#endif
/* A variable, not the macro, in comparisons: with CALL_POOL 0, GCC's
 * -Wtype-limits would call "nfree < 0" always false (an error with
 * EMBER_WERROR in a GCC AddressSanitizer build). */
static const unsigned call_pool = CALL_POOL;

static em_http_call *call_alloc(em_http_client *cl) {
    em_http_call *call = NULL;
    if (CALL_POOL) {
        pthread_mutex_lock(&cl->free_mu);
        if ((call = cl->free_calls) != NULL) {
            cl->free_calls = call->qnext;
            cl->nfree--;
        }
        pthread_mutex_unlock(&cl->free_mu);
    }
    if (call) { /* a clean call that keeps its buffers */
        em_buf head = call->head;
        char *urlstr = call->urlstr, *spare = call->spare_url;
        size_t urlcap = call->urlcap, spare_cap = call->spare_url_cap;
        memset(call, 0, sizeof *call);
        call->head = head;
        em_buf_clear(&call->head);
        call->urlstr = urlstr;
        call->urlcap = urlcap;
        call->spare_url = spare;
        call->spare_url_cap = spare_cap;
        return call;
    }
    if ((call = calloc(1, sizeof *call)) != NULL)
        em_buf_init(&call->head, 0);
    return call;
}

/* Keep call (its per-request parts already freed) for the next request;
 * false when the client keeps enough. */
static bool call_keep(em_http_call *call) {
    em_http_client *cl = call->cl;
    bool kept = false;
    if (CALL_POOL && cl) {
        pthread_mutex_lock(&cl->free_mu);
        if (cl->nfree < call_pool) {
            call->qnext = cl->free_calls;
            cl->free_calls = call;
            cl->nfree++;
            kept = true;
        }
        pthread_mutex_unlock(&cl->free_mu);
    }
    return kept;
}

void em__http_call_pool_free(em_http_client *cl) {
    while (cl->free_calls) {
        em_http_call *call = cl->free_calls;
        cl->free_calls = call->qnext;
        em_buf_free(&call->head);
        free(call->urlstr);
        free(call->spare_url);
        free(call);
    }
    cl->nfree = 0;
    pthread_mutex_destroy(&cl->free_mu);
}

int em__http_call_new(em_http_client *cl, const em_http_req *req, const em_http_client_cbs *cbs,
                      void *data, em_http_call **out) {
    if (!req || !req->url || !cbs || !cbs->on_done || (req->upgrade && !cbs->on_upgrade))
        return EM_EINVAL;
    em_http_call *call = call_alloc(cl);
    if (!call)
        return EM_ENOMEM;
    call->cl = cl;
    call->cbs = cbs;
    call->data = data;
    int rc = em__url_parse_spare(&call->url, em_slice_from_cstr(req->url), &call->spare_url,
                                 call->spare_url_cap, &call->url_bufcap);
    if (!rc && strcmp(call->url.scheme, "http") && strcmp(call->url.scheme, "https"))
        rc = EM_ENOTSUP; /* ws:// and wss:// belong to the WebSocket client */
    rc = rc ? rc : copy_request(call, req);
    rc = rc ? rc : em__http_call_fragment(call, req->url);
    rc = rc ? rc : em__http_call_url_changed(call);
    if (rc) {
        em__http_call_free(call);
        return rc;
    }
    call->decompress = cl->o.decompress == 1;
    call->timeout_ms = req->timeout_ms;
    call->redirects_left = req->max_redirects > 0 ? req->max_redirects : 0;
    call->follow = req->max_redirects > 0 && !req->stream_body;
    call->allow_insecure_redirect = req->allow_insecure_redirect;
    *out = call;
    return 0;
}

/* em_url drops the fragment; the call keeps it for em_http_call_url (curl's
 * url_effective) and never sends it (RFC 9112 §3.2). */
int em__http_call_fragment(em_http_call *call, const char *ref) {
    const char *hash = strchr(ref, '#');
    if (!hash)
        return 0;
    em_slice f = em_slice_from_cstr(hash + 1);
    char *enc = malloc(f.len * 3 + 1);
    if (!enc)
        return EM_ENOMEM;
    ssize_t n = em__url_encode(enc, f);
    if (n < 0) { /* "%zz": not a fragment to show */
        free(enc);
        return 0;
    }
    enc[n] = 0;
    free(call->fragment);
    call->fragment = enc;
    return 0;
}

int em__http_call_url_changed(em_http_call *call) {
    size_t flen = call->fragment ? strlen(call->fragment) + 1 : 0;
    size_t cap = 64 + strlen(call->url.host) + strlen(call->url.path) +
                 (call->url.query ? strlen(call->url.query) : 0) + flen;
    if (cap > call->urlcap) { /* a kept call's buffer is often big enough */
        char *s = realloc(call->urlstr, cap);
        if (!s)
            return EM_ENOMEM;
        call->urlstr = s;
        call->urlcap = cap;
    }
    ssize_t n = em_url_format(&call->url, false, call->urlstr, call->urlcap - flen);
    if (n < 0)
        return (int)n;
    call->url_len = (size_t)n;
    if (flen) {
        call->urlstr[n] = '#';
        memcpy(call->urlstr + n + 1, call->fragment, flen); /* its NUL too */
    }
    return 0;
}

static bool sends_body(const em_http_call *call) {
    /* RFC 9110 §8.6: a Content-Length of 0 for methods that usually carry
     * a body, so the server need not guess. */
    return call->body.len || call->stream || call->method_id == EM_HTTP_POST ||
           call->method_id == EM_HTTP_PUT || call->method_id == EM_HTTP_PATCH;
}

static bool has_field(const em_http_call *call, const char *name) {
    for (size_t i = 0; i < call->num_headers; i++)
        if (em_slice_eq_nocase(call->headers[i].name, em_slice_from_cstr(name)))
            return true;
    return false;
}

static bool is_cookie(em_slice name) {
    return em_slice_eq_nocase(name, EM_SLICE_LIT("cookie"));
}

/* RFC 6265 §5.4: one Cookie field. The caller's own cookies (every Cookie
 * field it gave) come first, then the jar's for the call's current URL (a
 * redirect asks again). */
static int put_cookie(em_http_call *call, em_buf *b) {
    em_buf v, jar;
    em_buf_init(&v, 0);
    em_buf_init(&jar, 0);
    int rc = 0;
    bool given = false;
    for (size_t i = 0; !rc && i < call->num_headers; i++) {
        em_slice val = call->headers[i].value;
        if (!is_cookie(call->headers[i].name))
            continue;
        given = true;
        if (val.len && em_buf_len(&v))
            rc = EM__HTTP_PUT_LIT(&v, "; ");
        rc = rc ? rc : em_buf_append_slice(&v, val);
    }
    int n = 0;
    if (!rc && call->cl->o.cookie_jar)
        n = em_cookie_jar_header(call->cl->o.cookie_jar, &call->url, (int64_t)time(NULL), &jar);
    if (!rc && n > 0 && em_buf_len(&v))
        rc = EM__HTTP_PUT_LIT(&v, "; ");
    if (!rc && n > 0)
        rc = em_buf_append_slice(&v, em_buf_slice(&jar));
    if (!rc && n >= 0 && (given || n > 0))
        rc = em__http_put_field(b, EM_SLICE_LIT("Cookie"), em_buf_slice(&v));
    em_buf_free(&v);
    em_buf_free(&jar);
    return n < 0 ? n : rc;
}

int em__http_call_build_head(em_http_call *call) {
    em_buf *b = &call->head;
    em_buf_clear(b);
    char host[300];
    ssize_t hl = em_url_host_header(&call->url, host, sizeof host);
    if (hl < 0)
        return (int)hl;
    size_t mlen = strlen(call->method);
    size_t cap = strlen(call->url.path) + (call->url.query ? strlen(call->url.query) : 0) +
                 strlen(call->urlstr) + 2;
    int rc = em_buf_reserve(b, mlen + 1 + cap);
    if (rc)
        return rc;
    /* "METHOD target" written in place: no buffer of its own for the target */
    memcpy(em_buf_wptr(b), call->method, mlen);
    em_buf_wptr(b)[mlen] = ' ';
    em_buf_commit(b, mlen + 1);
    bool absolute = call->origin && call->origin->mode == ORIGIN_ABSOLUTE;
    ssize_t tl;
    if (absolute) { /* RFC 9112 §3.2.2: to a proxy, the absolute form */
        tl = (ssize_t)call->url_len; /* never the fragment */
        memcpy(em_buf_wptr(b), call->urlstr, (size_t)tl);
    } else {
        tl = em_url_target(&call->url, em_buf_wptr(b), cap);
    }
    if (tl < 0)
        return (int)tl;
    em_buf_commit(b, (size_t)tl);
    /* The caller's Host (a virtual host) in the one Host line, first; an
     * empty one leaves the line out, as the caller asked */
    const em_http_header *own = NULL;
    for (size_t i = 0; i < call->num_headers && !own; i++)
        if (is_host(call->headers[i].name))
            own = &call->headers[i];
    rc = EM__HTTP_PUT_LIT(b, " HTTP/1.1\r\n");
    if (!rc && !(own && !own->value.len)) {
        rc = EM__HTTP_PUT_LIT(b, "Host: ");
        rc = rc    ? rc
             : own ? em_buf_append(b, own->value.ptr, own->value.len)
                   : em_buf_append(b, host, (size_t)hl);
        rc = rc ? rc : EM__HTTP_PUT_LIT(b, "\r\n");
    }
    const char *ua = call->cl->o.user_agent ? call->cl->o.user_agent : "ember/0.1";
    if (!rc && *ua)
        rc = em__http_put_field(b, EM_SLICE_LIT("User-Agent"), em_slice_from_cstr(ua));
    /* RFC 9110 §5.3: one field line for a non-list field; the caller's own
     * Authorization wins over the one made from credentials (curl's -H) */
    if (!rc && call->auth && em_url_same_origin(&call->url, &call->auth_origin) &&
        !has_field(call, "authorization"))
        rc = em__http_put_field(b, EM_SLICE_LIT("Authorization"), em_slice_from_cstr(call->auth));
    if (!rc && absolute && call->origin->proxy_auth && !has_field(call, "proxy-authorization"))
        rc = em__http_put_field(b, EM_SLICE_LIT("Proxy-Authorization"),
                                em_slice_from_cstr(call->origin->proxy_auth));
    bool cookie_done = false; /* the one Cookie field goes where the caller's first is */
    for (size_t i = 0; !rc && i < call->num_headers; i++) {
        if (&call->headers[i] == own)
            continue;
        if (!is_cookie(call->headers[i].name))
            rc = em__http_put_field(b, call->headers[i].name, call->headers[i].value);
        else if (!cookie_done)
            rc = put_cookie(call, b);
        cookie_done |= is_cookie(call->headers[i].name);
    }
    if (!rc && call->upgrade) {
        rc = EM__HTTP_PUT_LIT(b, "Connection: Upgrade\r\n");
        rc = rc ? rc : em__http_put_field(b, EM_SLICE_LIT("Upgrade"),
                                          em_slice_from_cstr(call->upgrade));
    }
    if (!rc && call->decompress && !has_field(call, "accept-encoding"))
        rc = EM__HTTP_PUT_LIT(b, "Accept-Encoding: gzip, deflate\r\n");
    if (!rc && call->cl->o.cookie_jar && !cookie_done)
        rc = put_cookie(call, b);
    if (!rc && call->content_type && sends_body(call))
        rc = em__http_put_field(b, EM_SLICE_LIT("Content-Type"),
                                em_slice_from_cstr(call->content_type));
    if (!rc && call->stream && call->stream_len < 0)
        rc = EM__HTTP_PUT_LIT(b, "Transfer-Encoding: chunked\r\n");
    else if (!rc && sends_body(call))
        rc = em__http_put_content_length(b, call->stream ? (uint64_t)call->stream_len
                                                         : call->body.len);
    /* RFC 9110 §10.1.1: let the server refuse a big body before it comes */
    call->expect = !call->expect_refused && call->body.len &&
                   call->body.len >= call->cl->o.expect_continue_min;
    if (!rc && call->expect)
        rc = EM__HTTP_PUT_LIT(b, "Expect: 100-continue\r\n");
    return rc ? rc : EM__HTTP_PUT_LIT(b, "\r\n");
}

void em__http_call_why(em_http_call *call, const char *fmt, ...) {
    if (call->err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(call->err, sizeof call->err, fmt, ap);
    va_end(ap);
}

static void done_task(em_task *t) {
    em_http_call *call = t->data;
    em_http_client *cl = call->cl;
    call->in_done = true;
    call->cbs->on_done(call, call->done_err);
    em__http_call_free(call);
    cl->live_calls--;
}

void em__http_call_finish(em_http_call *call, int err) {
    if (call->ended)
        return;
    call->ended = true;
    call->done_err = err;
    em_timer_stop(&call->deadline);
    if (err && !call->err[0])
        em__http_call_why(call, "%s", em_strerror(err));
    call->done_task.cb = done_task;
    call->done_task.data = call;
    em_loop_defer(call->cl->loop, &call->done_task);
}

void em__http_call_free(em_http_call *call) {
    if (call->write_task.cb) /* a first on_writable may still be due */
        (void)em_loop_defer_cancel(call->cl->loop, &call->write_task);
    if (CALL_POOL && call->url_bufcap && call->url._buf && !call->spare_url) {
        /* the parsed URL's buffer stays with the call for the next parse */
        call->spare_url = call->url._buf;
        call->spare_url_cap = call->url_bufcap;
        memset(&call->url, 0, sizeof call->url);
    }
    em_url_free(&call->url);
    em_url_free(&call->auth_origin);
    for (size_t i = 0; i < call->num_headers; i++) {
        free((void *)call->headers[i].name.ptr);
        free((void *)call->headers[i].value.ptr);
    }
    free(call->headers);
    if (call->method_owned)
        free(call->method);
    free(call->content_type);
    free(call->upgrade);
    free((void *)call->body.ptr);
    free(call->auth);
    free(call->location);
    free(call->fragment);
    if (call_keep(call))
        return;
    free(call->spare_url);
    free(call->urlstr);
    em_buf_free(&call->head);
    free(call);
}

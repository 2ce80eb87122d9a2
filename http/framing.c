/* What the framing fields say (RFC 9112 §6, RFC 9110 §7.2, §7.6.1, §8.6,
 * §10.1.1), recorded while the head is parsed so the message's framing is
 * known the moment its last line arrives. */
#include "http_internal.h"

static inline int is_ows(char c) {
    return c == ' ' || c == '\t';
}
static inline int is_digit(char c) {
    return c >= '0' && c <= '9';
}
static inline int is_tchar(char c) {
    return em__http_is((unsigned char)c, EM__HTTP_TCHAR);
}

static const char *skip_ows(const char *s, const char *e) {
    while (s < e && is_ows(*s))
        s++;
    return s;
}

/* RFC 9110 §8.6: 1*DIGIT. A list of identical values ("5, 5", or the same
 * value on several lines) is one value; anything else, a sign, or a value
 * past 2^64-1 is a smuggling vector -> 400. */
static int content_length(em_http_parser *p, em_slice v) {
    const char *s = v.ptr, *e = v.ptr + v.len;
    for (;;) {
        const char *d = s;
        uint64_t n = 0;
        while (s < e && is_digit(*s)) {
            unsigned dig = (unsigned)(*s - '0');
            if (n > (UINT64_MAX - dig) / 10)
                return EM_EBADCL;
            n = n * 10 + dig;
            s++;
        }
        if (s == d)
            return EM_EBADCL;
        if ((p->_flags & EM_HTTP_F_CONTENT_LENGTH) && p->_cl != n)
            return EM_EBADCL;
        p->_cl = n;
        p->_flags |= EM_HTTP_F_CONTENT_LENGTH;
        if (s == e)
            return 0;
        s = skip_ows(s, e);
        if (s == e || *s != ',')
            return EM_EBADCL;
        s = skip_ows(s + 1, e);
    }
}

/* quoted-string (RFC 9110 §5.6.4) starting at *sp == '"'. */
static int quoted_string(const char **sp, const char *e) {
    const char *s = *sp + 1;
    while (s < e) {
        unsigned char c = (unsigned char)*s;
        if (c == '"') {
            *sp = s + 1;
            return 1;
        }
        if (c == '\\') {
            if (s + 1 == e || !em__http_is((unsigned char)s[1], EM__HTTP_QPAIR))
                return 0;
            s += 2;
        } else if (em__http_is(c, EM__HTTP_QDTEXT)) {
            s++;
        } else {
            return 0;
        }
    }
    return 0;
}

/* *( OWS ";" OWS token "=" ( token / quoted-string ) ), RFC 9112 §7. */
static int coding_params(const char **sp, const char *e, int *any) {
    const char *s = *sp;
    for (;;) {
        const char *q = skip_ows(s, e);
        if (q == e || *q != ';')
            break;
        s = skip_ows(q + 1, e);
        const char *t = s;
        while (s < e && is_tchar(*s))
            s++;
        if (s == t || s == e || *s != '=')
            return 0;
        s++;
        if (s < e && *s == '"') {
            if (!quoted_string(&s, e))
                return 0;
        } else {
            t = s;
            while (s < e && is_tchar(*s))
                s++;
            if (s == t)
                return 0;
        }
        *any = 1;
    }
    *sp = s;
    return 1;
}

static int known_coding(const char *t, size_t n) {
    /* RFC 9110 §8.4.1 and the IANA registry; "identity" is gone (RFC 9112 §7). */
    switch (n) {
    case 4:
        return em__http_eq_lit(t, "gzip", 4);
    case 6:
        return em__http_eq_lit(t, "x-gzip", 6);
    case 7:
        return em__http_eq_lit(t, "deflate", 7);
    case 8:
        return em__http_eq_lit(t, "compress", 8);
    case 10:
        return em__http_eq_lit(t, "x-compress", 10);
    default:
        return 0;
    }
}

/* RFC 9112 §6.1, §6.3, §7: the codings, in order, across every line. In a
 * request chunked must be final (else 400); it may never be applied twice
 * (400); a coding we do not know is 501. */
static int transfer_encoding(em_http_parser *p, em_slice v, int mode) {
    const char *s = v.ptr, *e = v.ptr + v.len;
    int any = 0;
    p->_flags |= EM_HTTP_F_TRANSFER_ENCODING;
    p->_te |= EM__HTTP_TE_SEEN;
    while (s < e) {
        if (*s == ',') { /* empty list elements are allowed (RFC 9110 §5.6.1) */
            s = skip_ows(s + 1, e);
            continue;
        }
        const char *t = s;
        while (s < e && is_tchar(*s))
            s++;
        size_t tl = (size_t)(s - t);
        int params = 0;
        if (tl == 0 || !coding_params(&s, e, &params))
            return EM_EBADTE;
        s = skip_ows(s, e);
        if (s < e && *s != ',')
            return EM_EBADTE;
        int chunked = tl == 7 && em__http_eq_lit(t, "chunked", 7);
        if ((p->_te & EM__HTTP_TE_CHUNKED) && (mode == EM__HTTP_MODE_REQUEST || chunked))
            return EM_EBADTE;
        if (chunked) {
            if (params)
                return EM_EBADTE;
            p->_te |= EM__HTTP_TE_CHUNKED | EM__HTTP_TE_CHUNKED_LAST;
        } else if (known_coding(t, tl)) {
            p->_te = (unsigned char)((p->_te | EM__HTTP_TE_CODED) & ~EM__HTTP_TE_CHUNKED_LAST);
        } else {
            return EM_ENOTIMPL;
        }
        any = 1;
    }
    return any ? 0 : EM_EBADTE;
}

/* Next element of a comma-separated list, OWS trimmed; 0 at the end. */
static int list_next(const char **sp, const char *e, em_slice *el) {
    const char *s = *sp;
    for (;;) {
        s = skip_ows(s, e);
        if (s == e)
            return 0;
        if (*s != ',')
            break;
        s++;
    }
    const char *t = s;
    while (s < e && *s != ',')
        s++;
    const char *te = s;
    while (te > t && is_ows(te[-1]))
        te--;
    el->ptr = t;
    el->len = (size_t)(te - t);
    *sp = s;
    return 1;
}

static void connection(em_http_parser *p, em_slice v) {
    const char *s = v.ptr, *e = v.ptr + v.len;
    em_slice el;
    while (list_next(&s, e, &el)) {
        if (em__http_slice_is(el, "close", 5))
            p->_flags |= EM_HTTP_F_CONN_CLOSE;
        else if (em__http_slice_is(el, "keep-alive", 10))
            p->_flags |= EM_HTTP_F_CONN_KEEP_ALIVE;
        else if (em__http_slice_is(el, "upgrade", 7))
            p->_flags |= EM_HTTP_F_CONN_UPGRADE;
    }
}

/* RFC 9110 §10.1.1: Expect = #expectation, so a list (§5.6.1.2: empty
 * elements are ignored); the case-insensitive "100-continue" is the one
 * expectation there is, anything else is another (-> 417). */
static void expect(em_http_parser *p, em_slice v) {
    const char *s = v.ptr, *e = v.ptr + v.len;
    em_slice el;
    while (list_next(&s, e, &el))
        p->_flags |= em__http_slice_is(el, "100-continue", 12) ? EM_HTTP_F_EXPECT_CONTINUE
                                                               : EM_HTTP_F_EXPECT_OTHER;
}

bool em_http_list_has_token(em_slice list, em_slice token) {
    const char *s = list.ptr, *e = list.ptr + list.len;
    em_slice el;
    while (list_next(&s, e, &el)) {
        if (el.len != token.len)
            continue;
        size_t i = 0;
        while (i < el.len && em__http_lower((unsigned char)el.ptr[i]) ==
                                 em__http_lower((unsigned char)token.ptr[i]))
            i++;
        if (i == el.len)
            return true;
    }
    return false;
}

/* uri-host [ ":" port ] (RFC 3986 §3.2.2): an IP-literal in brackets or a
 * reg-name of unreserved, sub-delims and well-formed pct-encoded bytes.
 * Stops Host values such as "a/b", "a@b" or "a b" from reaching routing. */
static int host_port(const char *s, size_t n, int need_port) {
    const char *e = s + n, *h = s;
    if (s < e && *s == '[') {
        s++;
        while (s < e && *s != ']') {
            if (*s != ':' && *s != '%' && !em__http_is((unsigned char)*s, EM__HTTP_HOSTC))
                return 0;
            s++;
        }
        if (s == e || s == h + 1)
            return 0;
        s++;
    } else {
        while (s < e) {
            if (*s == '%') {
                if (e - s < 3 || !em__http_is((unsigned char)s[1], EM__HTTP_HEX) ||
                    !em__http_is((unsigned char)s[2], EM__HTTP_HEX))
                    return 0;
                s += 2;
            } else if (!em__http_is((unsigned char)*s, EM__HTTP_HOSTC)) {
                break;
            }
            s++;
        }
    }
    if (s == e)
        return !need_port;
    if (*s != ':')
        return 0;
    const char *port = ++s;
    while (s < e && is_digit(*s))
        s++;
    if (s != e)
        return 0;
    return need_port ? s > port && port - 1 > h : 1;
}

int em__http_host_valid(const char *s, size_t n) {
    return host_port(s, n, 0);
}

int em__http_authority_valid(const char *s, size_t n) {
    return host_port(s, n, 1);
}

int em__http_field_framing(em_http_parser *p, const em_http_header *f, size_t idx, int mode) {
    switch (f->id) {
    case EM_HTTP_HDR_CONTENT_LENGTH:
        return mode == EM__HTTP_MODE_TUNNEL ? 0 : content_length(p, f->value);
    case EM_HTTP_HDR_TRANSFER_ENCODING:
        return mode == EM__HTTP_MODE_TUNNEL ? 0 : transfer_encoding(p, f->value, mode);
    case EM_HTTP_HDR_CONNECTION:
        connection(p, f->value);
        return 0;
    case EM_HTTP_HDR_UPGRADE:
        p->_flags |= EM_HTTP_F_UPGRADE;
        return 0;
    case EM_HTTP_HDR_HOST:
        if (mode != EM__HTTP_MODE_REQUEST)
            return 0;
        /* RFC 9112 §3.2: more than one Host, or an invalid one -> 400. */
        if ((p->_flags & EM_HTTP_F_HOST) || !em__http_host_valid(f->value.ptr, f->value.len))
            return EM_EBADHOST;
        p->_flags |= EM_HTTP_F_HOST;
        p->_host = idx + 1;
        return 0;
    case EM_HTTP_HDR_EXPECT:
        if (mode != EM__HTTP_MODE_REQUEST)
            return 0;
        expect(p, f->value);
        return 0;
    default:
        return 0;
    }
}
